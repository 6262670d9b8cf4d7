/**
 * This machine's time, ms since the epoch, as the wall clock read when the process started, moved
 * on by the monotonic clock since (`performance.timeOrigin + performance.now()`), in whole ms as
 * `Date.now()` gives them (the journal's and the manifest's times are integers): what a run
 * times its files' attempts and timeouts by, and stamps its journal with (a file's `finishedAt`,
 * the run's start and end, the report's samples, a WebDataset shard's `_stats.json` times).
 *
 * The wall clock (`Date.now()`) steps: NTP or chrony setting it, `date -s`, a VM resumed. Stepped
 * an hour forward mid-run, every file waiting out a 429 read as past its `--total-timeout` and
 * failed; stepped an hour back, the files fetched after it read as finished before the run began
 * (the report called them `skipped`) and their times came out negative. This clock never steps;
 * it misses what the wall clock was stepped by while the process ran, and the time a machine
 * slept (Linux's monotonic clock does not count it). A time compared with the file system's (an
 * mtime, which the kernel writes from its wall clock) stays on `Date.now()`. A thread's
 * `performance.timeOrigin` is its own start: every time read here is the main thread's.
 */
export const steadyNow = (): number => Math.floor(performance.timeOrigin + performance.now())
