import { availableParallelism } from 'node:os'

/**
 * How many transfer threads `threads: 'auto'` (the command line's `--threads auto`, its default)
 * runs, and when. A transfer thread pays for itself only with a core of its own: the main thread
 * keeps one, and the kernel and libuv's pool another (creating, writing and naming files cost a
 * third to a half of the user CPU in system time on a real disk). Measured on a 2-core machine
 * shared with the image server (`npm run bench -- --scenario many-small`, outputs on ext4), all
 * transfers on the main thread were faster than one thread beside it in four runs of three:
 * 4.60 s against 5.94 s, 5.41 against 6.05, 5.79 against 6.12, and 7.48 against 8.24 (medians of 6
 * alternated, on a loaded machine), the thread costing ~0.5 s more CPU and ~30 MB more memory
 * every time; each thread also costs a heap of its own (its young generation held to 8 MB: see
 * transfer-threads.ts) and ~50 ms to start.
 */

/** Most threads `'auto'` starts, whatever the cores: past a few, the main thread's plan, limits and journal are the ceiling, and each thread's heap is memory a large machine's other work wants. */
export const AUTO_THREADS_MAX = 4

/**
 * Transfers a run begins on the main thread before `'auto'` starts its threads: a short run (the
 * article's 15 photos, a mood board) never waits ~50 ms for a thread nor pays its memory; a long
 * one has them ready within its first second.
 */
export const AUTO_THREADS_AFTER = 200

/**
 * Threads `'auto'` runs on a machine of `cores` cores (`machineCores()`): one a core beyond the
 * main thread's and the one left to the kernel and libuv's pool, at most `AUTO_THREADS_MAX`; none
 * on one or two cores. Pure.
 */
export function autoThreads(cores: number): number {
  return Math.max(0, Math.min(Math.floor(cores) - 2, AUTO_THREADS_MAX))
}

/**
 * The cores `'auto'` sizes itself to: `IMGPULL_CORES` when it is a whole number from 1, else
 * `os.availableParallelism()`, which counts the CPUs this process may run on (its affinity), but in
 * a container held to fewer by a CPU quota (`docker run --cpus 2`) the host's.
 */
export function machineCores(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.IMGPULL_CORES?.trim()
  return given && /^[1-9]\d{0,3}$/.test(given) ? Number(given) : availableParallelism()
}

/**
 * The threads `'auto'` runs in this process, shared by its runs: `imgpull worker --shards N` runs N
 * shards in one process, and each started the machine's count of its own (N threads on 2 cores,
 * each with a heap, where one keeps the second core busy). A run takes what the others left when
 * its threads start; a run that found none takes them once another gives them back.
 */
export class AutoThreadBudget {
  #taken = 0
  constructor(readonly total: number) {}

  /** Threads for one run: those left, `total` at most; 0 while other runs hold them all. */
  take(): number {
    const n = Math.max(0, this.total - this.#taken)
    this.#taken += n
    return n
  }

  /** A run ended: its `n` threads are free for the others. */
  give(n: number): void {
    this.#taken = Math.max(0, this.#taken - n)
  }
}

let budget: AutoThreadBudget | undefined

/** This process's budget, sized to the machine's cores when first asked for. */
export function autoThreadBudget(cores: () => number): AutoThreadBudget {
  budget ??= new AutoThreadBudget(autoThreads(cores()))
  return budget
}
