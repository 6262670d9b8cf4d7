import { setTimeout as sleep } from 'node:timers/promises'
import { steadyNow } from '../../utils/steady-clock.js'
import { StoppedError } from './errors.js'

/**
 * Unsplash allows a number of API calls per hour (50 for a new "demo" key, 5,000 in production)
 * and reports what is left in `X-Ratelimit-Limit` / `X-Ratelimit-Remaining` on every answer. It
 * sends no reset time, so a wait lasts one whole window. Image files do not count.
 */
export type OnRateLimit = 'wait' | 'stop'

export const HOUR = 3_600_000

export interface RateLimit {
  limit?: number
  remaining?: number
}

function headerNumber(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value
  if (text === undefined || !/^\s*\d+\s*$/.test(text)) return undefined
  return Number(text)
}

/** Update `rate` from an answer's headers; headers that are absent leave it as it was. */
export function readRateHeaders(rate: RateLimit, headers: Record<string, string | string[] | undefined>) {
  const limit = headerNumber(headers['x-ratelimit-limit'])
  const remaining = headerNumber(headers['x-ratelimit-remaining'])
  if (limit !== undefined) rate.limit = limit
  if (remaining !== undefined) rate.remaining = remaining
}

/**
 * Whether an answer refuses a call because the hourly budget is spent: a 403 or 429 that says
 * "Rate Limit" (also spelt "Ratelimit", joelshepherd/tabliss#602), or whose own
 * `X-Ratelimit-Remaining` is 0. The documentation says 403 "Rate Limit Exceeded"; Unsplash's own
 * client authors say 429 (unsplash-js#199). A 429 saying neither is a burst, retried as usual.
 */
export function budgetRefused(
  status: number,
  text: string,
  headers: Record<string, string | string[] | undefined>,
): boolean {
  if (status !== 403 && status !== 429) return false
  const answered: RateLimit = {}
  readRateHeaders(answered, headers)
  return /rate[\s_-]*limit/i.test(text) || answered.remaining === 0
}

/** `59:07`, `1:00:00`: a countdown a person reads at a glance. */
export function clock(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000))
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m)
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}`
}

/**
 * Milliseconds until the next countdown line. Lines, not a redrawn line: the download progress
 * line owns the terminal's last row, so the countdown prints sparsely above it.
 */
export function nextTick(left: number): number {
  // Land on round figures: every 5 minutes, then every minute, then every 10 seconds.
  const every = left > 10 * 60_000 ? 5 * 60_000 : left > 60_000 ? 60_000 : 10_000
  return left % every || every
}

/**
 * Wait `ms` for the window to reset, saying so with a countdown. Ctrl-C (`signal`) ends the
 * wait with a `StoppedError`.
 */
export async function waitForReset(
  ms: number,
  say: (line: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  // On a clock that does not step: set an hour back mid-wait, the wall clock made it two hours.
  const until = steadyNow() + ms
  say(
    `Unsplash rate limit reached: waiting ${clock(ms)} for the hourly reset, then going on (Ctrl-C stops; running the same command later continues)`,
  )
  try {
    for (let left = ms; left > 0; left = until - steadyNow()) {
      const step = nextTick(left)
      await sleep(step, undefined, { signal })
      const now = until - steadyNow()
      if (now > 1000) say(`Unsplash rate limit: ${clock(now)} left until the reset`)
    }
  } catch (error) {
    if (signal?.aborted) throw new StoppedError()
    throw error
  }
  say('Unsplash rate limit: window reset, going on')
}
