/** Backoff before a retry: exponential with full jitter, capped; the server's `Retry-After` wins. */
export interface RetryDelayInput {
  /** 1 for the first retry. */
  retry: number
  /** The server's `Retry-After`, in ms, if it sent one. */
  retryAfter?: number
  /** Cap for `Retry-After`. */
  maxRetryAfter: number
  /** Delay scale for the first retry, in ms. @default 500 */
  base?: number
  /** Longest backoff of our own, in ms. @default 30_000 */
  cap?: number
  /** A number in [0, 1); injectable so tests are exact. */
  random?: number
}

export function retryDelay(input: RetryDelayInput): number {
  const { retry, retryAfter, maxRetryAfter, base = 500, cap = 30_000, random = Math.random() } = input
  if (retryAfter !== undefined) return Math.min(Math.max(0, retryAfter), maxRetryAfter)
  // "Full jitter" (AWS architecture blog): spreads retries of many clients evenly over the window.
  const window = Math.min(cap, base * 2 ** (retry - 1))
  return Math.floor(random * window)
}

/**
 * `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
 * `undefined` when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value
  if (text === undefined) return undefined
  const trimmed = text.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  const date = Date.parse(trimmed)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - now)
}
