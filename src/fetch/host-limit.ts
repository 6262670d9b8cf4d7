/**
 * A host's concurrency limit, adapted to how it answers.
 *
 * - Pressure (429, 503, a timeout, a new connection turned away) halves the limit (multiplicative decrease, as TCP) once
 *   complaints make up a quarter of a window of answers (`limit` answers, at least 8): an
 *   overloaded or rate-limiting host fails a large share of requests, while scattered 429s and
 *   503s among healthy answers (5% of them, say) are faults to retry, not a reason to slow
 *   everything down.
 * - Clean answers add one slot per `limit` answers (additive increase). After a 429 (the host
 *   saying outright that we ask too much), growth near that level (`ceiling`: from one under it
 *   to it) is eight times slower, and twice slower again each time 429s return there, so a host
 *   that rate-limits us settles just under its limit instead of being probed again and again.
 *   Past that level (the host now takes more), growth is additive again.
 * - In adaptive mode a host whose limit was never cut starts in "slow start": one slot per clean
 *   answer, doubling the limit each round trip, for as long as its time to first byte stays near
 *   the best it has shown. A host that starts queueing our requests (ttfb inflating) stops the
 *   growth where it is. A ttfb also inflates when our own side is late to read the answers (the
 *   event loop busy starting up, or handing transfers to a thread), so, as HyStart++ (RFC 9406
 *   §4.3) goes back to slow start when the round trip falls back to its baseline, a stop that only
 *   a slower ttfb made is lifted once the ttfb is back near the best: the host was not queueing.
 */
export interface HostLimit {
  limit: number
  /** Clean answers since the last change. */
  credit: number
  /**
   * Cut at least once: slow start is over, whatever the ceiling (as TCP's after its first loss).
   * A 503 or a timeout sets no ceiling (growth stays one slot a window, not careful), but growth
   * does not go back to doubling each round trip: a host at its limit of connections that answers
   * 503 beyond it (nginx's `limit_conn`) was sent twice its limit again within a few answers of
   * each cut, refused a third of the time.
   */
  cut: boolean
  /** The limit at which the host last complained (or started queueing). */
  ceiling: number
  /** The ceiling is where answers slowed down, not a complaint's: lifted once they speed up again. */
  slowed: boolean
  /** How many times slower than usual the limit grows just under the ceiling. */
  careful: number
  /** Complaints in the current window, and answers (complaints included). */
  strikes: number
  answers: number
  /** Best time to first byte seen, ms. */
  minTtfb: number
  /** Smoothed recent time to first byte, ms. */
  avgTtfb: number
}

/** Complaints are pressure once they are this share of a window of answers... */
const PRESSURE_SHARE = 1 / 4
/** ...a window being `limit` answers, but never fewer than this. */
const MIN_WINDOW = 8

const windowOf = (s: HostLimit) => Math.max(s.limit, MIN_WINDOW)

/** How much slower the limit grows once it is back near the level that drew a complaint... */
export const CAREFUL = 8
/** ...doubled each time 429s come again at or under that level, up to this. */
export const MOST_CAREFUL = 64
/** A host is queueing us once recent ttfb exceeds twice its best plus this slack, ms... */
const QUEUEING_SLACK = 15
/** ...and no longer once it is back under one and a half times its best plus the slack. */
const UNQUEUED = 1.5

export function limitStart(start: number): HostLimit {
  return {
    limit: start,
    credit: 0,
    cut: false,
    ceiling: Number.POSITIVE_INFINITY,
    slowed: false,
    careful: CAREFUL,
    strikes: 0,
    answers: 0,
    minTtfb: Number.POSITIVE_INFINITY,
    avgTtfb: 0,
  }
}

/**
 * `room`: whether a body's time leaves room for more at once (see `roomToGrow`); without it the
 * limit holds where it is.
 */
export function limitOnSuccess(
  s: HostLimit,
  max: number,
  ttfb?: number,
  adaptive = false,
  room = true,
): HostLimit {
  let { minTtfb, avgTtfb } = s
  if (ttfb !== undefined) {
    minTtfb = Math.min(minTtfb, ttfb)
    avgTtfb = avgTtfb === 0 ? ttfb : 0.9 * avgTtfb + 0.1 * ttfb
  }
  // A full window closes the count of complaints.
  const full = s.answers + 1 >= windowOf(s)
  const next = { ...s, minTtfb, avgTtfb, answers: full ? 0 : s.answers + 1, strikes: full ? 0 : s.strikes }
  if (s.limit >= max) return { ...next, limit: max, credit: 0 }
  if (!room) return { ...next, credit: 0 }
  if (adaptive && ttfb !== undefined && avgTtfb > 2 * minTtfb + QUEUEING_SLACK) {
    // Answers slow down as we add requests: this is as far as this host goes gladly.
    const slowed = s.ceiling === Number.POSITIVE_INFINITY || s.slowed
    return { ...next, credit: 0, ceiling: Math.min(s.ceiling, s.limit), slowed }
  }
  if (adaptive && s.slowed && ttfb !== undefined && avgTtfb < UNQUEUED * minTtfb + QUEUEING_SLACK) {
    // Answers are back to their best: what slowed them had passed (see above). Slow start again.
    return { ...next, limit: s.limit + 1, credit: 0, ceiling: Number.POSITIVE_INFINITY, slowed: false }
  }
  if (adaptive && s.ceiling === Number.POSITIVE_INFINITY && !s.cut)
    return { ...next, limit: s.limit + 1, credit: 0 }
  const credit = s.credit + 1
  // Careful just under and at the level that drew 429s; past it (the host took that level without
  // complaint: its limit rose), one slot per window again.
  // Careful only under a complaint's ceiling: slower answers asked for no such care.
  const near = !s.slowed && s.limit >= s.ceiling - 1 && s.limit <= s.ceiling
  const needed = near ? s.limit * s.careful : s.limit
  return credit >= needed ? { ...next, limit: s.limit + 1, credit: 0 } : { ...next, credit }
}

/**
 * `rateLimited`: a 429, the host's own word that we ask too much, or a new connection it turned
 * away (a limit of connections per client, as firm as a rate limit); as opposed to 503 or a timeout.
 */
export function limitOnPressure(s: HostLimit, rateLimited = true): HostLimit {
  const strikes = s.strikes + 1
  const answers = s.answers + 1
  const window = windowOf(s)
  if (strikes < Math.max(2, Math.ceil(window * PRESSURE_SHARE))) {
    // A full window starts the next one with this complaint in it.
    return answers >= window ? { ...s, strikes: 1, answers: 1 } : { ...s, strikes, answers }
  }
  // 429s again at (or under) the level that drew them before: that level is the host's limit,
  // so probing it again waits twice as long each time.
  const confirmed = rateLimited && s.ceiling !== Number.POSITIVE_INFINITY && s.limit <= s.ceiling
  return {
    ...s,
    limit: Math.max(1, Math.floor(s.limit / 2)),
    credit: 0,
    cut: true,
    ceiling: rateLimited ? s.limit : s.ceiling,
    slowed: rateLimited ? false : s.slowed,
    careful: confirmed ? Math.min(MOST_CAREFUL, s.careful * 2) : s.careful,
    strikes: 0,
    answers: 0,
  }
}

/**
 * The limit once a host's bodies under way gave way to `keep` of them (see `giveWay`): that many,
 * what the link carries in the file's time. A cut as a complaint's (slow start ends), with no
 * ceiling (the host did not complain: its link is slow).
 */
export function limitShared(s: HostLimit, keep: number): HostLimit {
  return { ...s, limit: Math.max(1, Math.min(s.limit, keep)), credit: 0, cut: true, strikes: 0, answers: 0 }
}

/**
 * Whether a clean answer whose attempt took `tookMs` (its request sent to its body's end) leaves
 * room to grow a limit of `limit` within the file's `--total-timeout` (`totalMs`): on a link shared
 * evenly, a body's time grows with the transfers at once, so one more (`limit + 1`), or twice as
 * many in slow start (one more per answer, the limit doubling each round), would make it that much
 * longer, and it must still end in time. On a fast link a body takes a sliver of `totalMs` and the
 * limit grows as before; 4 bodies of 200 KB through 300 KB/s take 2.7 s, and with 2 s to a file
 * no more go at once. Pure, table-tested (test/policies.test.ts).
 */
export function roomToGrow(tookMs: number, limit: number, totalMs: number, slowStart: boolean): boolean {
  const grown = slowStart ? 2 * limit : limit + 1
  return (tookMs * grown) / Math.max(1, limit) <= totalMs
}
