import { ERROR_CODES, httpRerun, httpStatusOf } from '../error-codes.js'
import { errorCode } from '../errors.js'
import { honouredWait, retryDelay } from './retry-delay.js'
import type { Pressure } from './scheduler.js'
import { AGAIN_MS, UNANSWERED_LOOKUPS } from './shared-lookup.js'

/**
 * What to do after an attempt failed, and which failures a later run tries again. Pure and
 * table-tested (test/policies.test.ts); the engine carries out what these say.
 */
export interface FailureFacts {
  /** The failure's code (`http-503`, `timeout`, `truncated`...). */
  code: string
  /** Whether another attempt may succeed (the error's own judgement). */
  retryable: boolean
  /** The HTTP status, when the failure is one. */
  status?: number
  /** The server's `Retry-After`, in ms, when it sent one. */
  retryAfter?: number
  /** The job's total timeout ran out: no attempt is left, whatever the count says. */
  outOfTime: boolean
  /** Ms left before the job's total timeout: a wait that reaches it would only end in a timeout. */
  timeLeft?: number
  /** Attempts made so far, this one included. */
  attempts: number
  /** Retries allowed after the first attempt (`--retries`). */
  retries: number
  /** The run is stopping: nothing new starts. */
  stopping: boolean
  /**
   * What this failure did to its host's limit (see `Scheduler.pressure`): its `first` cut, a later
   * `cut`, or found it at its `floor` (one transfer at a time and the host still complains).
   */
  hostPressure?: Pressure
  /** Longest `Retry-After` honoured, in ms. */
  maxRetryAfter: number
  /**
   * The host named a wait imgpull does not take (see `outlasts`) before, was asked again after
   * the shorter wait taken instead, and has served nothing since (see `Scheduler.overlong`).
   */
  askedTooLongBefore?: boolean
  /**
   * This file named such a wait before, and was asked for it again after the shorter wait taken
   * instead: the file's own answer, whatever its host does for its other files.
   */
  fileAskedTooLongBefore?: boolean
  /**
   * The connection was refused (ECONNREFUSED): the host is down or restarting, for every file
   * alike. Its retries wait at least half of each window (see `REFUSED_LEAST`).
   */
  refused?: boolean
  /**
   * The attempt failed for want of a file descriptor (see `outOfDescriptors`): how many times in a
   * row the job has now. The machine's fault, not the host's: not held against `--retries`.
   */
  outOfDescriptors?: number
  /**
   * The job's refusals forgiven as its host's limit (see `crowdedCredit`): its wait grows with
   * them (up to three windows more), so a host at its limit is not asked again at the pace of a
   * first retry.
   */
  crowdedCredits?: number
  /**
   * This failure is a refusal while another of the host's transfers, sent well before it, was
   * still in flight (see `Scheduler.crowding`: the host took that one), and the job was not given
   * this grace before: out of retries, it is tried once more, a short wait on, for the host's
   * answers to tell whether it refused at its limit (it serves a request sent since, and the
   * refusal is forgiven, see `crowdedCredit`). A host down refuses every transfer at once: none of
   * them is in flight long, and its files fail at `--retries` as before.
   */
  refusedInDoubt?: boolean
  /**
   * The host's name lookup failed for now (EAI_AGAIN): its retry waits `LOOKUP_AGAIN_MS` at least.
   * `unanswered`: how many of its lookups in a row the resolver did not answer (see `UNANSWERED`).
   */
  lookupFailed?: { unanswered?: number }
  /** In [0, 1), for the backoff's jitter; injectable so tests are exact. */
  random?: number
}

/**
 * The least wait before a retry after a name lookup failed for now (EAI_AGAIN), ms: the failure
 * is the name's for the run's other connections that long (`AGAIN_MS`, shared-lookup.ts), so a
 * retry sooner would be told it again, not ask, and a SERVFAIL that passes in a few seconds would
 * use up `--retries` unasked.
 */
export const LOOKUP_AGAIN_MS = AGAIN_MS + 100

/**
 * The share of each backoff window a retry after a refused connection waits at least. With full
 * jitter, each file's waits are drawn apart, and some draw them all short: a host restarting for 3 s
 * (a deploy, a container coming up) lost 9 of its 500 files, every retry of theirs refused (their
 * five waits summing under 3 s), where wget2 got them all. Half of each window at least, the
 * retries before the last cover 3.75 s at the defaults, 7.75 s all told; the rest still spreads
 * them, and the host's limit bounds how many go at once.
 */
export const REFUSED_LEAST = 0.5

export type FailureAction =
  /**
   * `pauseHost`: the host still waits this many ms (it named a wait past the job's time).
   * `tooLate`: retries were left, not the time: the next wait (`ms`; `named`: the server's
   * `Retry-After`, as it said it) would run past the job's total timeout.
   */
  | {
      do: 'fail'
      pauseHost?: number
      tooLate?: { ms: number; named: boolean }
      /**
       * The host asked again for a wait longer than `--max-retry-after` (`ms`): it meant it. Its
       * other files are not tried in this run (see `outlasts`).
       */
      giveUpHost?: { ms: number }
      /**
       * This file asked again for a wait longer than `--max-retry-after` (`ms`): it meant it, and
       * the file fails; its host's other files go on (one path under maintenance, or rate-limited).
       */
      giveUpFile?: { ms: number }
    }
  /**
   * Try again after `delay` ms. `pauseHost`: the whole host waits that long; otherwise only this
   * job does. A `Retry-After` always delays its own request. The whole host waits when it refuses
   * (429, 503) for the first time (RFC 6585 §4: wait before making a new request; we were likely
   * sending it far more than it takes), at its first cut, and when it refuses even at one transfer
   * at a time; in between, fewer transfers at once is the remedy: a host that limits how many
   * requests it serves at once gets exactly that, where pausing it would leave it idle. A host
   * that names no wait (no `Retry-After`, or one that is not in the future) waits the backoff's
   * whole window: without it, each refused job would give its slot to the next one at once.
   */
  | { do: 'retry'; delay: number; pauseHost: boolean }

export function onFailure(f: FailureFacts): FailureAction {
  if (!f.retryable || f.outOfTime || f.stopping) return { do: 'fail' }
  if (f.outOfDescriptors) {
    // Waits that grow to 4 s: long enough for transfers to finish and idle keep-alive
    // connections to close (10 s at most), short enough not to idle once they have.
    const delay = retryDelay({ retry: Math.min(f.outOfDescriptors, 4), maxRetryAfter: 0, random: f.random })
    if (f.timeLeft !== undefined && delay >= f.timeLeft) return { do: 'fail' }
    return { do: 'retry', delay, pauseHost: false }
  }
  // Its resolver did not answer the name again: each more retry would wait its timeout for nothing.
  if ((f.lookupFailed?.unanswered ?? 0) >= UNANSWERED_LOOKUPS) return { do: 'fail' }
  if (f.askedTooLongBefore && outlasts(f.retryAfter, f.maxRetryAfter, f.timeLeft ?? Number.POSITIVE_INFINITY))
    return { do: 'fail', giveUpHost: { ms: f.retryAfter! } }
  // One file asked it twice: each retry, the capped wait apart, was a request the server said it
  // would refuse (one file alone on its host took 6 requests and 5 minutes at the defaults).
  if (
    f.fileAskedTooLongBefore &&
    outlasts(f.retryAfter, f.maxRetryAfter, f.timeLeft ?? Number.POSITIVE_INFINITY)
  )
    return { do: 'fail', giveUpFile: { ms: f.retryAfter! } }
  const refused = f.status === 429 || f.status === 503
  const pauseHost =
    (f.hostPressure === 'first' || f.hostPressure === 'floor') && (f.retryAfter !== undefined || refused)
  const spread = retryDelay({
    retry: f.attempts + (f.refused ? Math.min(f.crowdedCredits ?? 0, 3) : 0),
    retryAfter: f.retryAfter,
    maxRetryAfter: f.maxRetryAfter,
    random: f.random,
    jitter: !pauseHost,
    spread: !pauseHost,
    least: f.refused ? REFUSED_LEAST : 0,
  })
  // The spread after a named wait never makes a retry the wait itself allows too late.
  const namedWait = honouredWait(f.retryAfter, f.maxRetryAfter)
  const delay = Math.max(
    f.lookupFailed ? LOOKUP_AGAIN_MS : 0,
    namedWait !== undefined && f.timeLeft !== undefined && spread >= f.timeLeft && namedWait < f.timeLeft
      ? namedWait
      : spread,
  )
  // Out of retries, or a wait that outlasts the job's time (it would end in a timeout that hides
  // the real cause): the job fails, and the host still waits, for the jobs still to come: what it
  // named, or else the first retry's window (the failed job's own backoff is no longer anyone's).
  if (f.attempts > f.retries && f.refusedInDoubt && f.retries > 0) {
    const grace = retryDelay({ retry: 1, maxRetryAfter: 0, random: f.random, least: REFUSED_LEAST })
    if (f.timeLeft === undefined || grace < f.timeLeft) return { do: 'retry', delay: grace, pauseHost: false }
  }
  if (f.attempts > f.retries || (f.timeLeft !== undefined && delay >= f.timeLeft)) {
    const named = namedWait !== undefined
    // Said so: with retries left, the bare status would read as retries used up.
    const late = f.attempts <= f.retries ? { tooLate: { ms: named ? f.retryAfter! : delay, named } } : {}
    if (!pauseHost) return { do: 'fail', ...late }
    const wait = named ? delay : retryDelay({ retry: 1, maxRetryAfter: 0, jitter: false })
    return { do: 'fail', pauseHost: wait, ...late }
  }
  return { do: 'retry', delay, pauseHost }
}

/**
 * Whether a `Retry-After` (ms) names a wait imgpull will not take for a file: longer than
 * `--max-retry-after` (`maxRetryAfter`, ms; 0: none is honoured) and than the file's time left
 * (`timeLeft`, ms: its `--total-timeout`). The shorter wait is taken once a host: a server that
 * asks again for as long after it (a maintenance window, a daily quota: `Retry-After: 3600`)
 * means it, and every file of it retried each `--max-retry-after` would be a request it said it
 * would refuse, one host's thousand files days of them. curl gives up on such a wait
 * (`--retry-max-time`, its test 366). A wait within the file's time is only cut short, as
 * `--max-retry-after` says, however often it comes (`Retry-After: 1` under a cap of 0.1 s).
 */
export function outlasts(retryAfter: number | undefined, maxRetryAfter: number, timeLeft: number): boolean {
  return retryAfter !== undefined && maxRetryAfter > 0 && retryAfter > maxRetryAfter && retryAfter > timeLeft
}

/**
 * Answers that say the host is overloaded or limiting us: they count towards cutting its limit.
 * `turnedAway`: a `network` failure that was a new connection closed or reset before any answer
 * (see `isTurnedAway`), as a host at its limit of connections refuses the next.
 */
export function isPressure(code: string, turnedAway = false): boolean {
  return (
    code === 'http-429' || code === 'http-503' || code === 'timeout' || (code === 'network' && turnedAway)
  )
}

/**
 * How a new connection reset or closed before any answer (see `isTurnedAway`) is read: against
 * the host (`host`), as a limit of connections turning it away; the URL's own (`url`); or in
 * doubt (`doubt`) until the evidence comes. A limit of connections (an iptables `connlimit` rule,
 * workers all busy) resets whichever request comes while too many are open, so a URL reset once
 * meets it again no more often than any other request; a WAF, or a backend that resets some
 * paths, resets the same URLs every time, whatever the load, while it serves the others.
 *
 * - The first reset of a URL (`resetBefore` undefined) is the host's: no one reset tells the two
 *   apart, and a limit of connections resets many URLs once.
 * - A URL turned away before (`resetBefore`, `performance.now()` then) is the URL's once the host
 *   has served a file on a new connection, for a request sent after that (`freshSent`): it takes
 *   new connections, only not this URL's (served on kept-alive ones proves nothing: those idle in
 *   the pool are what fills a limit of connections, and a file served on one came while new ones
 *   were reset).
 * - Without that proof yet, it is in doubt, not the host's: the proof may be on its way (files
 *   asked for on new connections after the reset, not yet answered), and which comes first, the
 *   retry's reset or that answer, is down to timing. See `doubtSettled` for what settles it.
 *
 * Counting every reset halved the limit of a host with 20 such paths among 200 files down to 1
 * (their retries a quarter of its answers), and the good files went one at a time; counting a
 * retry's reset that came before the proof did so still on a loaded machine (the limit cut to 1
 * or 2 in 2 of 5 runs).
 */
export function resetReading(r: {
  resetBefore: number | undefined
  freshSent: number
}): 'host' | 'url' | 'doubt' {
  if (r.resetBefore === undefined) return 'host'
  return r.freshSent > r.resetBefore ? 'url' : 'doubt'
}

/**
 * What settles a reset in doubt (see `resetReading`): one of a URL turned away before (at
 * `resetBefore`), itself at `at` (`performance.now()` both). A file served on a new connection
 * for a request sent after `resetBefore` (`served`, its sending time) makes it the URL's (`url`):
 * the host took new connections then. The first attempt of another URL, sent after `at` and
 * turned away at the door too (`turnedAway`, its sending time), with no such file served
 * meanwhile (the doubt would be settled already), makes it the host's (`host`): the host still
 * turns new connections away, whatever their URL, as one that resets every new one does.
 * `undefined`: still in doubt.
 */
export function doubtSettled(
  d: { resetBefore: number; at: number },
  event: { served: number } | { turnedAway: number },
): 'host' | 'url' | undefined {
  if ('served' in event) return event.served > d.resetBefore ? 'url' : undefined
  return event.turnedAway > d.at ? 'host' : undefined
}

/**
 * Whether a refused connection (ECONNREFUSED) is a limit of connections, not the host down: the
 * host has served a file in this run (`served`) and has other transfers in flight (`others`:
 * this one's not counted), so it refused this connection while it kept others open. An iptables
 * `connlimit` rule that rejects the SYN with `tcp-reset`, a server that stops listening while it
 * has too many connections open, do that. Read as down, such refusals never slowed the host, and
 * each file it served woke the retries it had refused (see `RetrySleepers.back`) into the same
 * refusal, each spending an attempt: 4 connections kept alive and serving, 172 of 200 files
 * failed. A host down from the start has served nothing; one that goes down or restarts in the
 * middle of a run reads as at its limit while its last transfers fail with it, and is given
 * fewer at once: harmless, its retries still wait out a restart (see `REFUSED_LEAST`).
 */
export function refusedAtLimit(r: { served: boolean; others: number }): boolean {
  return r.served && r.others > 0
}

/** Refusals at a host's limit of connections one job is forgiven, at most (see `crowdedCredit`). */
export const MAX_CROWDED_REFUSALS = 10

/**
 * Whether a job's connection refused (ECONNREFUSED, its request sent at `pendingAt`,
 * `performance.now()`) while other transfers of ours to the host were in flight is forgiven: not
 * held against `--retries`. It is once the host has served a file for a request
 * sent after it (`servedSent`: the latest such sending time, see `Scheduler.crowding`): the host
 * took requests then, so it refused this one at its limit (of connections: an iptables
 * `connlimit` rule, a server that stops listening while N are open; or of requests), whichever
 * file came, not for a fault of this file. Up to `MAX_CROWDED_REFUSALS` a job (`credited`: forgiven so far); none with
 * `--retries 0` (`retries`), one attempt being all the user allows. A host down (from the start,
 * or for good mid-run) serves nothing after, and its files fail at `--retries` as before. Read at
 * the job's next failure, when the answers sent since have come; without it, a file refused at the
 * start of a run (the host's limit not yet cut) and again at its retry failed at `--retries 1`
 * (1 to 2 of 200 files, and once all of them: the first failed file gave the host, which had
 * answered nothing yet, up as out of reach).
 */
export function crowdedCredit(r: {
  pendingAt: number | undefined
  servedSent: number
  credited: number
  retries: number
}): boolean {
  return (
    r.retries > 0 &&
    r.pendingAt !== undefined &&
    r.servedSent > r.pendingAt &&
    r.credited < MAX_CROWDED_REFUSALS
  )
}

/**
 * Whether an answer from a host (to a request sent at `sentAt`, `performance.now()`; `fresh`: on
 * a new connection, `undefined` when not known) shows it back from a refusal (ECONNREFUSED, at
 * `refusedAt`), so the retry the refusal sent to sleep is woken at once (see `RetrySleepers`): the
 * request went out after the refusal, on a new connection. A host restarting refused it, and
 * now takes connections. One that serves requests sent before the refusal, or on connections
 * kept alive from before, was up when it refused: a limit of connections (see `refusedAtLimit`),
 * which a retry woken at once would meet again, an attempt spent (4 connections kept alive and
 * serving: each file served woke every retry refused, 172 of 200 files failed).
 */
export function backFromRefusal(r: { refusedAt: number; sentAt: number; fresh?: boolean }): boolean {
  return r.sentAt > r.refusedAt && r.fresh !== false
}

/**
 * The server turned the connection away at the door: a new one (`reused` false, or undefined: it
 * failed before the request went out, in the TCP or TLS handshake) closed or reset before any byte
 * of the answer. A host does that at its limit of connections (an iptables `connlimit` rule, a
 * server whose workers are all busy): it counts as a complaint, as a 429 does, so the host's
 * limit comes down to what it takes instead of hundreds of connections refused and files failed.
 * Not undici's `bad response` (an answer it cannot read, the same on every connection).
 */
export function isTurnedAway(error: unknown, reused?: boolean): boolean {
  return reused !== true && closedOrReset(error) && (error as Error).message !== 'bad response'
}

/**
 * Whether a failed resume (a request with `Range`, see `ImgpullError.resumed`) may be the server
 * refusing Range: a 5xx to it (a CDN that answers Range with 500), not a 503, which says to come
 * back later; or not a byte of the file from it, a `network`, `timeout` or `truncated` failure (a
 * firewall or proxy that closes, resets or never answers a request with Range, a range handler
 * that fails after its head, while the same URL is served without). The first may be passing
 * trouble: after a second in a row the part is dropped, so the next attempt asks for the whole
 * file (run/retry.ts), as it would without the bytes on disk.
 */
export function refusesRange(f: { code: string; status?: number; resumed: boolean }): boolean {
  if (!f.resumed) return false
  if (f.status !== undefined) return f.status >= 500 && f.status !== 503
  return f.code === 'network' || f.code === 'timeout' || f.code === 'truncated'
}

/** The connection closed or reset under the request (see `isStaleConnection` in send.ts). */
export const closedOrReset = (error: unknown): boolean => {
  const code = errorCode(error)
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE'
}

/**
 * Failures a plain rerun tries again: those with a passing cause. A run made while offline, a
 * host that was down or rate-limiting, a body cut short must not poison the next run. Permanent
 * outcomes (404/410 and the other 4xx, not an image, too large, an invalid URL, redirect
 * trouble, policy refusals) are skipped unless `--retry-failed`.
 */
export function retriedOnRerun(code: string | undefined): boolean {
  if (code === undefined) return true
  const status = httpStatusOf(code)
  if (status !== undefined) return httpRerun(status)
  return (ERROR_CODES as Record<string, { rerun: boolean }>)[code]?.rerun ?? false
}

/** Failures of the connection, which say nothing against the bytes already on disk. */
const CUTS = new Set(['network', 'timeout', 'truncated', 'dns', 'proxy', 'tls'])

/**
 * Whether a failed job's part file is worth keeping for the next run: it can be resumed
 * (`resumable`: a validator proves later bytes belong to it, see `ifRangeValue`), and the job
 * ended on a cut connection, not on a fault of the bytes (corrupt, bad-range...) nor on a status:
 * a server that answers every Range with 503 while plain GETs get the file would meet the next
 * run's resume the same way. A server that cuts every answer then finishes over several runs
 * instead of starting each from byte 0 (mikf/gallery-dl#2938).
 */
export function keepsPart(code: string, resumable: boolean): boolean {
  return resumable && CUTS.has(code)
}

/** Attempts a run gives one job for free when each moves its file forward (see `progressFree`). */
export const MAX_PROGRESS_ATTEMPTS = 100

/**
 * The least an attempt must move a file forward to be free, for each body it took: a server that
 * doles out a few bytes an answer (see `MAX_PARTS` in receive.ts) must not turn a file into
 * thousands of requests.
 */
export const MIN_PROGRESS_BYTES = 8 * 1024

/**
 * Whether a failed attempt is left out of the count `--retries` bounds: it was cut (see
 * `keepsPart`) while continuing the bytes on disk (`continued`: a restart from byte 0 moves
 * nothing forward, however far it gets) and moved the file (`before` → `after` bytes on disk) by at
 * least `MIN_PROGRESS_BYTES` for each of its `bodies` (the answers it took, 1 where absent), and
 * the job has had fewer than `MAX_PROGRESS_ATTEMPTS` such attempts (`free`). Each body counted: a
 * front that caps every answer at 100 bytes moved a file by 10,000 in the 100 parts an attempt
 * asks for (`MAX_PARTS`), and each such attempt was free, `--retries 1` making 606 requests for a
 * 60 KB file (a 1 MB one: 10,000); such attempts are held to `--retries`. A server that cuts every answer after a few megabytes then still delivers the
 * file, as it would to a browser that resumes; one that makes no progress uses up the retries as
 * before.
 */
export function progressFree(f: {
  code: string
  resumable: boolean
  /** The attempt's last body continued the bytes on disk (a 206 from them), not the file anew. */
  continued: boolean
  before: number
  after: number
  free: number
  bodies?: number
}): boolean {
  return (
    f.continued &&
    keepsPart(f.code, f.resumable) &&
    f.after - f.before >= MIN_PROGRESS_BYTES * Math.max(1, f.bodies ?? 1) &&
    f.free < MAX_PROGRESS_ATTEMPTS
  )
}

/**
 * How long (ms) every file through a proxy waits after one met the proxy's own limit, or 0 for
 * none. `proxy`: the failure is the proxy's (a `proxy` code); `limit`: its 429 to a CONNECT (a
 * rotating proxy's limit of requests or connections, whoever the host; see `PROXY_LIMIT`);
 * `retryAfter`: the wait its refusal named (a 429's or a 503's), ms. The wait named, up to
 * `maxRetryAfter` (0: none is honoured); else, for a 429, the refused file's backoff window
 * (`attempts`: its attempts so far), whole: a jittered share of it could be no wait at all, and
 * the files held meanwhile spend no attempt. A 503 naming no wait is no limit (Squid's for a host
 * it could not reach). Pure, table-tested (test/policies.test.ts).
 */
export function proxyLimitWait(f: {
  proxy: boolean
  limit: boolean
  retryAfter?: number
  maxRetryAfter: number
  attempts: number
}): number {
  const named = honouredWait(f.retryAfter, f.maxRetryAfter) !== undefined
  if (!f.proxy || (!named && !f.limit)) return 0
  return retryDelay({
    retry: f.attempts,
    retryAfter: f.retryAfter,
    maxRetryAfter: f.maxRetryAfter,
    jitter: false,
  })
}
