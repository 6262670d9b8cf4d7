import { link, lstat, unlink } from 'node:fs/promises'
import { Worker } from 'node:worker_threads'

/**
 * Publishing's `link` and `unlink`, many files at a time on a small thread of their own. Alone,
 * the pair through libuv's pool cost the main thread 58-70 µs of CPU a file (the requests, waking
 * a pool thread, the callbacks, the promises; `/proc/self/task/PID/schedstat`, 20,000 files on this
 * project's 2-core machine), where the two calls themselves take about 20 µs of the kernel's; here
 * 1-3 µs. On 60,000 tiny images (the million scenario's kind) the main thread, the ceiling where
 * the network is fast, ran 7.0-7.4 s against 7.6-8.1 s, for about 6 MB more peak RSS (the thread
 * holds its own small heap). The calls of one turn of the event loop go to the thread as one
 * message, done there synchronously (the main thread never waits on the disk).
 *
 * The thread starts once `LINKER_AFTER` files have been published this way in the process: a
 * short run never pays its start. It holds no state: each answer says, for each file, that both
 * calls were made or the error of the one that failed.
 */
export const LINKER_AFTER = 256
let linkerAfter = LINKER_AFTER

/** Start the thread after `count` files instead of `LINKER_AFTER` (tests use 0); no argument: the default. */
export function useLinkerAfter(count = LINKER_AFTER): void {
  linkerAfter = count
}

/** Threads lost in a row before their first answer, after which no more is started. */
const START_DEATHS = 3

/** Files a message carries at most: a burst after one journal commit goes in a few. */
const BATCH = 512

/** The thread's code: no module of imgpull's, so it needs no bundle, no loader, no tsx. */
const CODE = `
const { parentPort } = require('node:worker_threads')
const { linkSync, unlinkSync } = require('node:fs')
const plain = (e) => ({ message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, dest: e.dest })
parentPort.on('message', (pairs) => {
  const out = []
  for (let i = 0; i < pairs.length; i += 2) {
    try {
      linkSync(pairs[i], pairs[i + 1])
    } catch (e) {
      out.push({ step: 'link', error: plain(e) })
      continue
    }
    try {
      unlinkSync(pairs[i])
      out.push(0)
    } catch (e) {
      out.push({ step: 'unlink', error: plain(e) })
    }
  }
  parentPort.postMessage(out)
})
`

/** What the thread says of one file: 0 (linked, then its part unlinked), or which call failed and how. */
type Answer = 0 | { step: 'link' | 'unlink'; error: Record<string, unknown> & { message: string } }

interface Pending {
  part: string
  target: string
  resolve: () => void
  reject: (error: unknown) => void
}

/** A failure as Node's own `link` or `unlink` would have thrown it (its code, errno, paths). */
function asError(fields: Exclude<Answer, 0>): Error {
  const { message, ...rest } = fields.error
  const error = new Error(message)
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) Object.assign(error, { [k]: v })
  return Object.assign(error, { linkStep: fields.step })
}

class Linker {
  #worker: Worker | undefined
  /** Files given since the last message. */
  #queue: Pending[] = []
  /** Messages sent and not answered, oldest first (the thread answers in order). */
  readonly #sent: Pending[][] = []
  #flushing = false
  /** Files published before the thread started (see `LINKER_AFTER`). */
  #count = 0
  /** Threads lost in a row before their first answer (see `START_DEATHS`). */
  #startDeaths = 0
  /** The current thread has answered once: it started. */
  #answeredOnce = false
  /** No thread can start here: every later file goes through libuv's pool. */
  #broken = false

  /**
   * `link(part, target)`, then `unlink(part)`: resolves once both are done; rejects with the error
   * of the first that failed (`linkStep` says which: a failed link leaves the part, as it was).
   */
  linkThenUnlink(part: string, target: string): Promise<void> {
    if (this.#broken || ++this.#count <= linkerAfter) return viaPool(part, target)
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ part, target, resolve, reject })
      if (this.#queue.length >= BATCH) this.#flush()
      else if (!this.#flushing) {
        this.#flushing = true
        setImmediate(() => this.#flush())
      }
    })
  }

  kill(): Promise<number> | undefined {
    return this.#worker?.terminate()
  }

  #flush(): void {
    this.#flushing = false
    if (this.#queue.length === 0) return
    const worker = this.#started()
    const batch = this.#queue
    this.#queue = []
    if (!worker) {
      for (const p of batch) viaPool(p.part, p.target).then(p.resolve, p.reject)
      return
    }
    const pairs: string[] = []
    for (const p of batch) pairs.push(p.part, p.target)
    this.#sent.push(batch)
    worker.ref()
    worker.postMessage(pairs)
  }

  #started(): Worker | undefined {
    if (this.#worker || this.#broken) return this.#worker
    try {
      const worker = new Worker(CODE, {
        eval: true,
        // None of the host's preloads: a thread inherits its flags (`--require`, `--import`) and,
        // through its environment, NODE_OPTIONS', and ran each of them (an APM agent, tsx) in its
        // small heap, where one over 16 MB killed it at start and every file took the slow way.
        execArgv: [],
        env: {},
        // Its own work is a few strings a file: a small heap, so it costs little memory.
        resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
      })
      worker.on('message', (answers: Answer[]) => this.#answered(answers))
      // A late 'exit' of a thread already replaced is no news of the new one.
      worker.on('error', () => this.#lost(worker))
      worker.on('exit', () => this.#lost(worker))
      worker.unref()
      this.#worker = worker
      this.#answeredOnce = false
    } catch {
      this.#broken = true
    }
    return this.#worker
  }

  #answered(answers: Answer[]): void {
    const batch = this.#sent.shift()!
    this.#answeredOnce = true
    this.#startDeaths = 0
    if (this.#sent.length === 0) this.#worker?.unref()
    for (let i = 0; i < batch.length; i++) {
      const a = answers[i]
      if (a === 0) batch[i].resolve()
      else batch[i].reject(asError(a))
    }
  }

  /**
   * The thread died (it does nothing that should fail: out of memory, or killed). Files it was
   * given are done again through the pool, where each may have been linked, or linked and its part
   * removed, already (see `again`). The next files start a new thread: one loss in a long-lived
   * process (a service's) cost every later run the thread, where the pair through the pool costs
   * the main thread 58-70 µs a file; after `START_DEATHS` threads in a row lost before their first
   * answer, none can start here, and later files go through the pool.
   */
  #lost(worker: Worker): void {
    if (worker !== this.#worker) return
    this.#worker = undefined
    if (!this.#answeredOnce && ++this.#startDeaths >= START_DEATHS) this.#broken = true
    for (const batch of this.#sent.splice(0))
      for (const p of batch) again(p.part, p.target).then(p.resolve, p.reject)
  }
}

/**
 * `viaPool` for a file the lost thread may have done in part: a target that is the part itself
 * (one inode: the link was made) only needs the part removed; a part gone beside a target there
 * was done whole. Anything else as `viaPool` says.
 */
async function again(part: string, target: string): Promise<void> {
  try {
    await viaPool(part, target)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const [a, b] = await Promise.all([
      lstat(part).catch(() => undefined),
      lstat(target).catch(() => undefined),
    ])
    if (code === 'EEXIST' && a && b && a.ino === b.ino && a.dev === b.dev) return unlink(part)
    if (code === 'ENOENT' && !a && b) return
    throw error
  }
}

async function viaPool(part: string, target: string): Promise<void> {
  try {
    await link(part, target)
  } catch (error) {
    throw Object.assign(error as Error, { linkStep: 'link' })
  }
  await unlink(part)
}

const linker = new Linker()

/** Stop the thread as if it died, whatever it was given (tests: see `Linker.#lost`). */
export const killLinker = (): Promise<number> | undefined => linker.kill()

/** See `Linker.linkThenUnlink`. */
export const linkThenUnlink = (part: string, target: string): Promise<void> =>
  linker.linkThenUnlink(part, target)
