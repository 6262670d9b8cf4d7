/**
 * How many transfer threads `threads: 'auto'` (the command line's `--threads auto`, its default)
 * runs, and when. Measured on a 2-core machine shared with the image server (`npm run bench --
 * --scenario many-small`): one thread beside the main thread took 5.16 s and 1.34 ms of CPU an
 * image against 5.87 s and 1.49 ms with none, and two took 6.08 s (threads beyond the cores only
 * take turns). Each thread costs a heap of its own (its young generation held to 8 MB: see
 * transfer-threads.ts) and 105-125 ms to start alone; ~330 ms in a run that keeps both cores busy
 * (bench/README.md, "Transfer threads: the later runs"), the main thread carrying the transfers
 * that begin meanwhile.
 */

/** Most threads `'auto'` starts, whatever the cores: past a few, the main thread's plan, limits and journal are the ceiling, and each thread's heap is memory a large machine's other work wants. */
export const AUTO_THREADS_MAX = 4

/**
 * Transfers a run begins on the main thread before `'auto'` starts its threads, which start in the
 * background meanwhile: the main thread carries every transfer until one is ready, so none waits
 * for a thread. A list of the article's 15 photos starts none (nor pays its memory). Not 200, as
 * it was: on many-small (5,000 images, 2 cores) the main thread then carried 287-314 transfers
 * before its thread was ready (started with both cores busy, it took 0.7-2.2 s to be ready on the
 * loaded machine), compiling the transfer path in both isolates; from the 16th it carried 16-48,
 * and the run took 0.05-0.21 ms less CPU an image in each of four alternated rounds, about
 * `--threads 1`'s (bench/README.md, "many-small an image: where `auto` starts its thread").
 */
export const AUTO_THREADS_AFTER = 16

/** Threads `'auto'` runs on a machine of `cores` cores (`os.availableParallelism()`): one a core beyond the main thread's, at most `AUTO_THREADS_MAX`; none on one core. */
export function autoThreads(cores: number): number {
  return Math.max(0, Math.min(Math.floor(cores) - 1, AUTO_THREADS_MAX))
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
