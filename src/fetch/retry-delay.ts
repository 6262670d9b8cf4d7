import { readHttpDate } from './http-date.js'

/** Backoff before a retry: exponential with full jitter, capped; the server's `Retry-After` wins. */
export interface RetryDelayInput {
  /** 1 for the first retry. */
  retry: number
  /** The server's `Retry-After`, in ms, if it sent one. */
  retryAfter?: number
  /** Cap for `Retry-After`, ms; 0 ignores it. */
  maxRetryAfter: number
  /** Delay scale for the first retry, in ms. @default 500 */
  base?: number
  /** Longest backoff of our own, in ms. @default 30_000 */
  cap?: number
  /** A number in [0, 1); injectable so tests are exact. */
  random?: number
  /**
   * Spread the wait over its whole window (full jitter) or wait the window out. Jitter spreads
   * the retries of many jobs; one wait for a whole host needs none. @default true
   */
  jitter?: boolean
  /**
   * The share of the window always waited, the jitter spreading only the rest ("equal jitter" at
   * 0.5): a floor under the waits, so that a job's retries together outlast a short outage. @default 0
   */
  least?: number
  /**
   * A `Retry-After` honoured is the least wait, the backoff's own window (full jitter) spread after
   * it: every file a host refused in one burst is told the same wait, and without a spread their
   * retries come back in one burst again, to be refused again. @default false
   */
  spread?: boolean
}

/**
 * The wait a server's `Retry-After` (`retryAfter`, ms) is taken as: itself, no less than 0 and no
 * more than `maxRetryAfter`; `undefined` when it named none, or `maxRetryAfter` is 0 (none is
 * honoured, the caller's own backoff applies). Pure, table-tested (test/policies.test.ts).
 */
export function honouredWait(retryAfter: number | undefined, maxRetryAfter: number): number | undefined {
  return retryAfter !== undefined && maxRetryAfter > 0
    ? Math.min(Math.max(0, retryAfter), maxRetryAfter)
    : undefined
}

export function retryDelay(input: RetryDelayInput): number {
  const { retry, retryAfter, maxRetryAfter, base = 500, cap = 30_000, jitter = true } = input
  // maxRetryAfter 0: Retry-After is not honoured at all.
  // "Full jitter" (AWS architecture blog): spreads retries of many clients evenly over the window.
  const window = Math.min(cap, base * 2 ** (retry - 1))
  const named = honouredWait(retryAfter, maxRetryAfter)
  if (named !== undefined) {
    return input.spread ? named + Math.floor((input.random ?? Math.random()) * window) : named
  }
  if (!jitter) return window
  const least = window * (input.least ?? 0)
  return Math.floor(least + (input.random ?? Math.random()) * (window - least))
}

/**
 * `Retry-After` as milliseconds from `now`: delta-seconds (`1*DIGIT`; with a fraction too, `1.5`,
 * as servers send it) or an HTTP-date in one of its three forms (RFC 9110 §10.2.3, §5.6.7).
 * `undefined` when absent, unreadable (`-1`, `1e3`,
 * `soon`: V8's `Date.parse` would read some of those as dates in 2001), or not in the future
 * (`0`, a past date): those name no wait, and the caller's own backoff applies, as curl does.
 * Of two fields, the first; one field holding a value twice (`30, 30`), that value when the copies agree.
 */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now = Date.now(),
  served?: string | string[],
): number | undefined {
  const text = Array.isArray(value) ? value[0] : value
  if (text === undefined) return undefined
  const whole = retryAfterMs(text.trim(), now, served)
  if (whole !== undefined || !text.includes(',')) return whole
  // One value sent twice, joined by a proxy or a server that set the field twice into one line
  // (`30, 30`: RFC 9110 §5.3 lets a list field be joined so, and Retry-After is no list): the value
  // when every copy agrees; copies that disagree name no wait one can trust.
  const waits = joinedValues(text).map((v) => retryAfterMs(v, now, served))
  return waits.every((w) => w !== undefined && w === waits[0]) ? waits[0] : undefined
}

/**
 * The members of a field a proxy joined with commas, a date's own comma kept: `30, 30` is two,
 * `Thu, 01 Jan 2026 00:00:30 GMT, Thu, 01 Jan 2026 00:00:30 GMT` two dates.
 */
export function joinedValues(text: string): string[] {
  const members: string[] = []
  for (const piece of text.split(',')) {
    const last = members.length - 1
    if (last >= 0 && /^[a-z]+$/i.test(members[last] as string)) members[last] += `,${piece}`
    else members.push(piece.trim())
  }
  return members.map((m) => m.trim())
}

/** One `Retry-After` value, trimmed, as ms from `now` (read against `served`): see `parseRetryAfter`. */
function retryAfterMs(trimmed: string, now: number, served?: string | string[]): number | undefined {
  // A date is on the server's clock: read against its `Date` (RFC 9110 §6.6.1), the wait is the
  // same whatever this machine's clock says (a worker whose clock is ahead would see none at all).
  // Its `Date` may come in any of the three forms too, as the Retry-After beside it.
  const date = Array.isArray(served) ? served[0] : served
  now = (date === undefined ? undefined : readHttpDate(date)) ?? now
  let ms: number
  // Seconds with a fraction (`292.052427053`: Sentry, Microsoft Graph; opensearch-project/data-prepper#6927)
  // are no delta-seconds, but name a wait all the same: waited to the next millisecond, never less.
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) ms = Math.ceil(Number(trimmed) * 1000)
  else {
    const at = readHttpDate(trimmed) ?? zonedDate(trimmed)
    if (at === undefined) return undefined
    // A date names whole seconds: the wait up to the date's second, not the clock's milliseconds
    // into its own (a date a year ahead was said as 'a wait of 31535999.442 s').
    ms = Math.ceil((at - now) / 1000) * 1000
  }
  return Number.isFinite(ms) && ms > 0 ? ms : undefined
}

/**
 * An IMF-fixdate whose zone is not written `GMT` but as another name or offset: `UTC` (Go's
 * `time.RFC1123` of a UTC time), `+0000`, `-0000` (Python's `email.utils.formatdate`), `+0100`; the
 * instant it names, or `undefined`. No HTTP-date (RFC 9110 §5.6.7), but a wait all the same
 * ("recipients ... be robust"): read as none, the backoff's retries came long before it.
 */
function zonedDate(text: string): number | undefined {
  const zoned = /^(.+ \d{2}:\d{2}:\d{2}) ?(UTC|UT|Z|([+-])(\d{2})(\d{2}))$/i.exec(text)
  if (!zoned) return undefined
  const at = readHttpDate(`${zoned[1]} GMT`)
  const [, , , sign, hours, minutes] = zoned
  const offset =
    sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(hours) * 60 + Number(minutes)) * 60_000
  return at === undefined || Number(minutes) > 59 ? undefined : at - offset
}
