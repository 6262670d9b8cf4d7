import { headerCase } from './header-case.js'
import { httpDate } from './http-date.js'
import { joinedValues, parseRetryAfter } from './retry-delay.js'

/** Response headers, lower-case names. */
type Headers = Record<string, string | string[] | undefined>

/**
 * What a refusal says about its wait, and whether it is a rate limit in other words. Many APIs and
 * image hosts name their wait not in `Retry-After` but in the headers of their rate limiter: GitHub
 * (`403` or `429` with `X-RateLimit-Remaining: 0` and `X-RateLimit-Reset`, a Unix time: "do not
 * retry until then"), Twitter (`x-rate-limit-reset`), Reddit (`x-ratelimit-reset`, seconds),
 * Discord (`x-ratelimit-reset-after`), the IETF draft's `RateLimit-Reset` (draft 06 and before) and
 * `RateLimit: "policy";r=0;t=30` (draft 08 on; draft 07's `RateLimit: limit=100, remaining=0,
 * reset=30`). Without them a 429 waited the own backoff, 15 s
 * over the five retries, and every file of a host whose quota comes back in a minute failed; a
 * GitHub 403 failed at once as a refusal for good, and a rerun skipped it.
 */
export interface Refusal {
  /** The status to act on: a 403 whose quota is spent is a 429 in other words. */
  status: number
  /** The wait the server named, ms: its `Retry-After`, else its rate limiter's reset. */
  retryAfter?: number
  /** The header that named it, for messages. */
  waitFrom?: string
  /** The status as sent, when it is taken as another, and why (`X-RateLimit-Remaining: 0`). */
  sent?: Sent
}

export interface Sent {
  status: number
  why: string
}

/** Statuses whose wait a rate limiter's reset names: refusals, and a 403 whose quota is spent. */
const REFUSED = new Set([403, 429, 503])

/** `Remaining` headers: a request quota left, 0 when spent (Reddit sends `0.0`). */
const REMAINING = ['x-ratelimit-remaining', 'x-rate-limit-remaining', 'ratelimit-remaining']

/** `Reset` headers: delta seconds, or a Unix time (GitHub, Twitter): see `resetMs`; or a date: see `dateReset`. */
const RESET = ['x-ratelimit-reset', 'x-rate-limit-reset', 'ratelimit-reset', 'x-ratelimit-reset-after']

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value)?.trim()

/** A non-negative decimal number, or undefined (`soon`, `-1`, ``). */
function decimal(text: string | undefined): number | undefined {
  return text !== undefined && /^\d+(?:\.\d+)?$/.test(text) ? Number(text) : undefined
}

/** A Unix time's units by its digits, ms each: seconds, milliseconds, microseconds, nanoseconds. */
const EPOCH_UNITS = [1000, 1, 1e-3, 1e-6]

/** How far from the server's clock a Unix time may name its reset: a year. */
const EPOCH_SPAN = 365 * 86_400_000

/**
 * A reset as ms from `now`: seconds from now below 1e9 (no delta is 31 years long), else a Unix
 * time read against the server's clock, in the unit that puts it within a year of that clock:
 * seconds (GitHub), milliseconds (Rocket.Chat: RocketChat/docs-old#1358), microseconds or
 * nanoseconds (PUBG's API documents nanoseconds and sends microseconds:
 * pubg/api-documentation-content#61). Read as milliseconds, a time in microseconds or nanoseconds
 * named a wait of 54,000 years or more, and the whole --max-retry-after was waited. `undefined`
 * when no unit puts it near (a reset 20 years ahead is no reset).
 */
function resetMs(value: number, now: number): number | undefined {
  if (value < 1e9) return value * 1000
  const at = EPOCH_UNITS.map((unit) => value * unit).find((ms) => Math.abs(ms - now) <= EPOCH_SPAN)
  return at === undefined ? undefined : at - now
}

/**
 * A rate limiter's field as a number, or undefined: one decimal (`30`, Reddit's `0.0`), or one a
 * proxy joined with its own copy (`30, 30`), when the copies agree.
 */
function decimalField(text: string | undefined): number | undefined {
  const values = text === undefined ? [] : joinedValues(text).map(decimal)
  return values.length > 0 && values.every((v) => v !== undefined && v === values[0]) ? values[0] : undefined
}

/** An RFC 3339 timestamp with its zone: `2026-01-01T00:00:30Z`, `2026-01-01T01:00:30.5+01:00`. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i

/**
 * A reset written as a date, ms from `clock` (the server's): an HTTP-date (the IETF draft's first
 * versions let `RateLimit-Reset` be one; wraithgar/hapi-rate-limit#19 sent one) or an RFC 3339
 * timestamp (Atlassian's `X-RateLimit-Reset`, Anthropic's `anthropic-ratelimit-*-reset`:
 * diegosouzapw/OmniRoute#13321). `undefined` for anything else.
 */
function dateReset(text: string | undefined, clock: number): number | undefined {
  if (text === undefined) return undefined
  if (RFC3339.test(text)) {
    const at = Date.parse(text)
    return Number.isNaN(at) ? undefined : Math.ceil(at - clock)
  }
  return parseRetryAfter(text, clock)
}

/**
 * The draft's `RateLimit` field: the `t` (seconds) of a policy with `r=0`, the longest of them
 * (draft 08 on); or its draft 07 form, one Dictionary, `limit=100, remaining=0, reset=30` (seconds
 * from now; express-rate-limit's `draft-7` headers), its `reset` when `remaining` is 0
 * (ietf-wg-httpapi/ratelimit-headers#125, which combined the three fields so).
 */
function structuredReset(field: string | undefined): number | undefined {
  if (field === undefined) return undefined
  const members = new Map(field.split(',').map((m) => m.trim().split('=') as [string, string | undefined]))
  const reset = decimal(members.get('reset'))
  if (decimal(members.get('remaining')) === 0 && reset !== undefined) return reset * 1000
  let longest: number | undefined
  for (const item of field.split(',')) {
    const params = new Map(
      item
        .split(';')
        .slice(1)
        .map((p) => p.trim().split('=') as [string, string | undefined]),
    )
    const t = decimal(params.get('t'))
    if (decimal(params.get('r')) === 0 && t !== undefined) longest = Math.max(longest ?? 0, t)
  }
  return longest === undefined ? undefined : longest * 1000
}

/** Whether the rate limiter's headers say the quota is spent. */
export function quotaSpent(headers: Headers): boolean {
  if (REMAINING.some((name) => decimalField(first(headers[name])) === 0)) return true
  return structuredReset(first(headers.ratelimit)) !== undefined
}

/**
 * What a failed answer (`status`, `headers`) says about its wait, at `now` (ms since the epoch).
 * `Retry-After` first (RFC 9110 §10.2.3); on a 429 or 503 without one, or a 403 whose quota is
 * spent, the rate limiter's reset. A reset in the past, or unreadable, names no wait.
 */
export function readRefusal(status: number, headers: Headers, now = Date.now()): Refusal {
  const served = first(headers.date)
  const retryAfter = parseRetryAfter(headers['retry-after'], now, served)
  const spent = status === 403 && quotaSpent(headers)
  const taken: Refusal = spent ? { status: 429, sent: { status, why: spentIn(headers) } } : { status }
  if (retryAfter !== undefined) return { ...taken, retryAfter, waitFrom: 'Retry-After' }
  if (!REFUSED.has(status) || (status === 403 && !spent)) return taken
  return { ...taken, ...limiterReset(headers, now) }
}

/** The rate limiter's reset, ms from `now`, and the header that named it; {} when none is ahead. */
function limiterReset(headers: Headers, now: number): { retryAfter?: number; waitFrom?: string } {
  // A Unix time is on the server's clock, as a Retry-After date is (see `parseRetryAfter`).
  const served = first(headers.date)
  const clock = served !== undefined && !Number.isNaN(httpDate(served)) ? httpDate(served) : now
  const draft = structuredReset(first(headers.ratelimit))
  if (draft !== undefined && draft > 0) return { retryAfter: draft, waitFrom: 'RateLimit' }
  for (const name of RESET) {
    const text = first(headers[name])
    const value = decimalField(text)
    const reset = value === undefined ? dateReset(text, clock) : resetMs(value, clock)
    const ms = reset === undefined ? undefined : Math.ceil(reset)
    if (ms !== undefined && ms > 0) return { retryAfter: ms, waitFrom: spelled(name) }
  }
  return {}
}

/**
 * A served file whose answer says the quota is now spent (`X-RateLimit-Remaining: 0` and a reset):
 * ms until it comes back, when the next request would be refused. GitHub: "if you continue to make
 * requests while you are rate limited, it may result in the banning of your integration"; the IETF
 * draft's fields exist so that clients need not be throttled. `undefined` otherwise.
 */
export function quotaResetAfterServed(headers: Headers, now = Date.now()): number | undefined {
  return quotaSpent(headers) ? limiterReset(headers, now).retryAfter : undefined
}

/** The header that says the quota is spent, as servers spell it. */
function spentIn(headers: Headers): string {
  const name = REMAINING.find((n) => decimalField(first(headers[n])) === 0)
  return name ? `${spelled(name)}: 0` : 'RateLimit r=0'
}

const spelled = (name: string) => headerCase(name).replace('Ratelimit', 'RateLimit')
