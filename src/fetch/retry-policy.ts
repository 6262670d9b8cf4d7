import { ERROR_CODES, httpRerun } from '../error-codes.js'
import { retryDelay } from './retry-delay.js'

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
  /** Attempts made so far, this one included. */
  attempts: number
  /** Retries allowed after the first attempt (`--retries`). */
  retries: number
  /** The run is stopping: nothing new starts. */
  stopping: boolean
  /** This failure made its host count as under pressure (see `Scheduler.pressure`). */
  hostUnderPressure: boolean
  /** Longest `Retry-After` honoured, in ms. */
  maxRetryAfter: number
  /** In [0, 1), for the backoff's jitter; injectable so tests are exact. */
  random?: number
}

export type FailureAction =
  | { do: 'fail' }
  /**
   * Try again after `delay` ms. `pauseHost`: the whole host waits that long (a host that keeps
   * asking us to wait); otherwise only this job does (a lone `Retry-After`, or a backoff).
   */
  | { do: 'retry'; delay: number; pauseHost: boolean }

export function onFailure(f: FailureFacts): FailureAction {
  if (!f.retryable || f.outOfTime || f.attempts > f.retries || f.stopping) return { do: 'fail' }
  const delay = retryDelay({
    retry: f.attempts,
    retryAfter: f.retryAfter,
    maxRetryAfter: f.maxRetryAfter,
    random: f.random,
  })
  return { do: 'retry', delay, pauseHost: f.retryAfter !== undefined && f.hostUnderPressure }
}

/** Answers that say the host is overloaded or limiting us: they count towards cutting its limit. */
export function isPressure(code: string): boolean {
  return code === 'http-429' || code === 'http-503' || code === 'timeout'
}

/**
 * Failures a plain rerun tries again: those with a passing cause. A run made while offline, a
 * host that was down or rate-limiting, a body cut short must not poison the next run. Permanent
 * outcomes (404/410 and the other 4xx, not an image, too large, an invalid URL, redirect
 * trouble, policy refusals) are skipped unless `--retry-failed`.
 */
export function retriedOnRerun(code: string | undefined): boolean {
  if (code === undefined) return true
  const status = /^http-(\d{3})$/.exec(code)
  if (status) return httpRerun(Number(status[1]))
  return (ERROR_CODES as Record<string, { rerun: boolean }>)[code]?.rerun ?? false
}
