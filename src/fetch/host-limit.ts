/**
 * A host's concurrency limit, adapted to how it answers.
 *
 * - Pressure (429, 503, a timeout) halves the limit at once (multiplicative decrease, as TCP).
 * - Clean answers add one slot per `limit` answers (additive increase); near the level that last
 *   drew a complaint (`ceiling`) eight times slower, so a host that rate-limits us settles just
 *   under its limit instead of being probed again and again.
 * - In adaptive mode a host that has never complained starts in "slow start": one slot per clean
 *   answer, doubling the limit each round trip, for as long as its time to first byte stays near
 *   the best it has shown. A host that starts queueing our requests (ttfb inflating) stops the
 *   growth where it is.
 */
export interface HostLimit {
  limit: number
  /** Clean answers since the last change. */
  credit: number
  /** The limit at which the host last complained (or started queueing). */
  ceiling: number
  /** Best time to first byte seen, ms. */
  minTtfb: number
  /** Smoothed recent time to first byte, ms. */
  avgTtfb: number
}

/** How much slower the limit grows once it is back near the level that drew a complaint. */
const CAREFUL = 8
/** A host is queueing us once recent ttfb exceeds twice its best plus this slack, ms. */
const QUEUEING_SLACK = 15

export function limitStart(start: number): HostLimit {
  return {
    limit: start,
    credit: 0,
    ceiling: Number.POSITIVE_INFINITY,
    minTtfb: Number.POSITIVE_INFINITY,
    avgTtfb: 0,
  }
}

export function limitOnSuccess(s: HostLimit, max: number, ttfb?: number, adaptive = false): HostLimit {
  let { minTtfb, avgTtfb } = s
  if (ttfb !== undefined) {
    minTtfb = Math.min(minTtfb, ttfb)
    avgTtfb = avgTtfb === 0 ? ttfb : 0.9 * avgTtfb + 0.1 * ttfb
  }
  const next = { ...s, minTtfb, avgTtfb }
  if (s.limit >= max) return { ...next, limit: max, credit: 0 }
  if (adaptive && ttfb !== undefined && avgTtfb > 2 * minTtfb + QUEUEING_SLACK) {
    // Answers slow down as we add requests: this is as far as this host goes gladly.
    return { ...next, credit: 0, ceiling: Math.min(s.ceiling, s.limit) }
  }
  if (adaptive && s.ceiling === Number.POSITIVE_INFINITY) return { ...next, limit: s.limit + 1, credit: 0 }
  const credit = s.credit + 1
  const needed = s.limit >= s.ceiling - 1 ? s.limit * CAREFUL : s.limit
  return credit >= needed ? { ...next, limit: s.limit + 1, credit: 0 } : { ...next, credit }
}

export function limitOnPressure(s: HostLimit): HostLimit {
  return { ...s, limit: Math.max(1, Math.floor(s.limit / 2)), credit: 0, ceiling: s.limit }
}
