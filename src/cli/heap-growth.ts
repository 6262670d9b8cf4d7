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

/**
 * While a large file's body comes (past its first `LARGE_BODY` bytes, see fetch/large-bodies.ts),
 * the command turns V8's incremental marking off: the body then costs no full collection per 12 MB.
 *
 * Each socket read is a fresh 64 KiB buffer outside the heap (Node's stream reads), and V8 (Node
 * 20) counts such memory made since its last full collection against the old generation's limit.
 * With imgpull's small heap (9 MB live, a 20 MB limit), a body coming at 400 MB/s left less room
 * than the young generation holds within 25 ms, and V8 began marking for a full collection each
 * time: 27–43 of them per 800 MB (four files of ~200 MB), where `node:http` piped to a file ran
 * 0–2 (its smaller heap left it room). Young collections free those buffers before the limit
 * itself is reached; without incremental marking a full collection comes only at the limit, whole:
 * 3–9 per 800 MB, 25–45 % less user CPU, the same peak RSS. Only while such a body
 * comes: off for a whole run, a list of 50,000 tiny images peaked at 198–225 MB of RSS against
 * 169, and 80 files of 7.5–10 MB at 171 against 124 (V8 then collects at the limit, not before
 * it); files of 50 MB peak 20 MB higher (148 against 128) for 20 % less CPU. Figures: README,
 * Benchmark ("Full collections on large files").
 */
export const MARKING_OFF = '--no-incremental-marking'
export const MARKING_ON = '--incremental-marking'

/**
 * Whether the command may turn incremental marking off and on (see `MARKING_OFF`): not when `node`
 * was given an incremental marking flag itself (`node --incremental-marking "$(command -v
 * imgpull)" ...` keeps V8's own all along). Pure: `execArgv` is `process.execArgv`.
 */
export function marksAtWill(execArgv: readonly string[]): boolean {
  return !execArgv.some((arg) => /^--(no[-_])?incremental[-_]marking(=|$)/.test(arg))
}

/**
 * A switch of V8's incremental marking that is made only once V8 has stopped marking: a full
 * collection first (V8's `gc()`, from a context made with `--expose-gc`: it finishes any marking
 * under way), then the flag. V8 reads its flags as it goes, and one changed in the middle of a
 * marking cycle left V8 in a state it does not expect: four files of 200 MB (`--hash none`, the
 * bench's large scenario) crashed in 2 of 85 runs, and in 2 of 60 with sha256 (V8's "unreachable
 * code" in `MarkCompactCollector::ProcessMarkingWorklist`, a segmentation fault, glibc's
 * "corrupted double-linked list"); with no switch at all (`node --incremental-marking` or
 * `--no-incremental-marking` given), none in 160; collected first, none in 160 and 60. A collection
 * costs a few ms with the command's small heap, twice for a stretch of large bodies. Only the
 * main thread's heap can be collected so, so no switch is made while a transfer thread lives
 * (see fetch/large-bodies.ts, `threadStarting`). `setFlags` and `newContext` are
 * `v8.setFlagsFromString` and `vm.runInNewContext` (given, so this module loads neither).
 */
export function collectThenMark(
  setFlags: (flags: string) => void,
  newContext: (code: string) => unknown,
): (flag: string) => void {
  let collect: (() => void) | undefined
  return (flag) => {
    if (!collect) {
      setFlags('--expose-gc')
      collect = newContext('gc') as () => void
    }
    collect()
    setFlags(flag)
  }
}
