/**
 * How far V8 lets the command's heap grow between full collections.
 *
 * V8 sizes the old generation's next limit as what survived the last full collection times a
 * factor it picks between 1.1 and 4 (higher while the program allocates fast, as a long run
 * does). imgpull's live data stays small whatever the list's length (a 300,000-row table holds
 * about 50 MB after a collection), so nearly all of a long run's peak RSS is garbage waiting for
 * that limit: 310 MB for a 100,000-row table into shards, 190 MB for a 200,000-URL list. A fixed
 * factor (V8's `--heap-growing-percent`) holds it. 1.3 held them at 205–237 and 148–162 MB, but
 * collected so often that 1.5 ran the table 7–16% faster, alternated in four pairs, at the same
 * peak (205–238 MB); the list was at 157 MB. The figures are in the README (Benchmark, "The
 * heap's growth"). Only the command sets it: the library leaves its host's process alone.
 */

/** The percentage the command asks for: the old generation grows to 1.5x what survived. */
export const HEAP_GROWING_PERCENT = 50

/**
 * The V8 flag the command sets (`--heap-growing-percent=50`), or `undefined` when `node` was
 * given the flag itself (`node --heap-growing-percent=0 "$(command -v imgpull)" ...` restores
 * V8's own factor; Node refuses the flag in NODE_OPTIONS). V8 spells flags with `-` or `_`.
 * Pure: `execArgv` is `process.execArgv`.
 */
export function heapGrowingFlag(execArgv: readonly string[]): string | undefined {
  const given = execArgv.some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg))
  return given ? undefined : `--heap-growing-percent=${HEAP_GROWING_PERCENT}`
}
