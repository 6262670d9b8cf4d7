import { UsageError } from '../errors.js'
import { PROGRESS_LOG_SECONDS } from '../report/progress.js'

/**
 * Seconds between the progress lines written where there is no live terminal: `IMGPULL_PROGRESS_INTERVAL`
 * (seconds; `0` turns them off), else {@link PROGRESS_LOG_SECONDS}. `undefined`: no lines.
 *
 * @throws UsageError naming the variable when its value is not a number of seconds.
 */
export function progressLogSeconds(env: NodeJS.ProcessEnv): number | undefined {
  const given = env.IMGPULL_PROGRESS_INTERVAL
  if (given === undefined || given.trim() === '') return PROGRESS_LOG_SECONDS
  const seconds = Number(given)
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new UsageError(
      `IMGPULL_PROGRESS_INTERVAL must be a number of seconds between progress lines (0: none), got ${JSON.stringify(given)}`,
    )
  }
  // Under 50 ms a log would be nothing but progress lines (and setInterval takes at least 1 ms).
  return seconds === 0 ? undefined : Math.max(seconds, 0.05)
}
