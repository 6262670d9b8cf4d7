import { existsSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { duration, FatalError, ImgpullError } from '../errors.js'
import type { Options } from '../options.js'
import { descriptorFault } from '../sinks/local-faults.js'
import type { Job, Validators } from '../types.js'
import { ownEnv } from '../utils/node-options.js'
import { hostKey } from '../utils/url.js'
import type { AutoThreadBudget } from './auto-threads.js'
import type { Downloaded } from './download.js'
import type { Cancel } from './exchange.js'
import type { HostSends } from './host-sends.js'
import { threadStarting } from './large-bodies.js'
import { deserializeError, type FromThread, Outbox, type ToThread } from './transfer-messages.js'
import { caWarningOnce } from './trust.js'

/** What a transfer needs from the engine besides its file: where its news goes. */
export interface ThreadTask {
  url: string
  part: string
  validators: Validators
  expectedHash?: Job['expectedHash']
  onValidators: (validators: Validators) => void
  /** See `DownloadContext.onBody`. */
  onBody?: (at: number, unresumable?: string, length?: number) => void
  /** This transfer's body bytes, told in batches (the pool's `onBytes` is told them too). */
  onBytes?: (n: number) => void
  /** See `DownloadContext.onHop`. */
  onHop?: (origin: string) => Promise<void>
  /** See `DownloadContext.tailChecked`. */
  tailChecked?: boolean
  onTailChecked?: () => void
  /** See `DownloadContext.plain`. */
  plain?: boolean
  /** See `DownloadContext.revalidate`. */
  revalidate?: boolean
  /** See `DownloadContext.hold`. */
  hold?: boolean
  /** See `DownloadContext.given`. */
  given?: string
  /** See `DownloadContext.gap`. */
  gap?: number
}

interface Pending {
  thread: Thread
  resolve: (done: Downloaded) => void
  reject: (error: unknown) => void
  onValidators: (validators: Validators) => void
  onBody?: (at: number, unresumable?: string, length?: number) => void
  onBytes?: (n: number) => void
  onHop?: (origin: string) => Promise<void>
  onTailChecked?: () => void
}

interface Thread {
  worker: Worker
  /** What goes to it, once a turn of the event loop (see `Outbox`). */
  outbox: Outbox<ToThread>
  ready: boolean
  /** What it threw, if it died of an error (told before its exit). */
  error?: unknown
  /** Transfers it carries now. */
  active: number
}

/**
 * A thread's young generation, MB. Its objects are short-lived (a transfer's state; bodies live
 * outside the heap), and V8's default let each thread hold ~30 MB more: a 30,000-URL list with one
 * thread peaked at 181 MB against 155 MB with 8 and 151 MB with no thread, for the same user CPU
 * (`node --import tsx bench/memory.ts --input list --rows 30000 --runs 1 -- --threads 1`).
 */
const THREAD_LIMITS = { maxYoungGenerationSizeMb: 8 }

/**
 * Threads in a row that may die before they are ready before no more are started: a thread that
 * cannot start (its code broken, its options refused there, no memory for its heap) fails alike
 * every time, and one replaced at once, without end, kept a run under `--threads N` waiting for a
 * ready thread forever.
 */
export const START_DEATHS = 3

/**
 * Deaths of ready threads within `READY_DEATHS_MS` after which no more are started: a thread that
 * dies at every file it is handed (out of memory on each, a native crash in its code) would be
 * replaced without end, each file spending its attempts on threads that die. One now and then in
 * a long run is replaced, as it was.
 */
export const READY_DEATHS = 3
export const READY_DEATHS_MS = 60_000

/**
 * Why a thread could not start or died, in words (`undefined`: Node's own stand), and what to do:
 * a want of file descriptors as imgpull says it elsewhere (see `descriptorFault`), naming the limit
 * and how to raise it. Node's words for a thread started with none left (`ulimit -n 64`,
 * `--threads auto`) were "Error [ERR_WORKER_INIT_FAILED]: Worker initialization failure: EMFILE".
 */
export function threadFault(error: unknown): { words: string; hint: string } | undefined {
  const fault = descriptorFault(error)
  if (!fault) return undefined
  return { words: fault.message, hint: 'raise the limit on open files (ulimit -n 4096) for threads to start' }
}

/** The cause's code of a transfer cut by its thread's death (see `READY_DEATHS`). */
export const THREAD_DIED = 'IMGPULL_THREAD_DIED'

/**
 * Whether ready threads die too often to replace another (see `READY_DEATHS`): `deaths`, the
 * times (ms, performance.now()) ready threads died, this one's included. Pure, table-tested
 * (test/policies.test.ts).
 */
export function keepsDying(deaths: readonly number[], now: number): boolean {
  return deaths.filter((at) => now - at < READY_DEATHS_MS).length >= READY_DEATHS
}

/**
 * The worker's file: `transfer-worker.ts` from source (tests, tsx), `transfer-worker.js` beside
 * this file in dist/fetch/, or dist/fetch/ seen from the CLI's bundle (dist/imgpull.cjs).
 */
function workerFile(): string {
  const here = import.meta.url
  const candidates = here.endsWith('.ts')
    ? ['./transfer-worker.ts']
    : ['./transfer-worker.js', './fetch/transfer-worker.js']
  for (const candidate of candidates) {
    const path = fileURLToPath(new URL(candidate, here))
    if (existsSync(path)) return path
  }
  throw new Error(`the transfer thread's code is missing: ${candidates.join(' or ')} beside ${here}`)
}

/** Warnings threads raised, said on the main thread: each once a process, as Node says its own. */
const warned = new Set<string>()

function warnOnce(w: Extract<FromThread, { op: 'warning' }>): void {
  // A certificate variable's: once a process with the main thread's own (see trust.ts).
  if (w.once !== undefined) {
    caWarningOnce(w.message, w.code ?? '', w.once)
    return
  }
  const key = `${w.code ?? ''} ${w.message}`
  if (warned.has(key)) return
  warned.add(key)
  process.emitWarning(w.message, { type: w.type, code: w.code, detail: w.detail })
}

/** Transfer threads alive in this process, over all its runs. */
let live = 0

/** Transfer threads alive in this process now, over all its runs (started, not yet exited). */
export function liveTransferThreads(): number {
  return live
}

/**
 * Transfer threads: `download()` run on worker threads, each with its own connection pool, so a
 * machine's cores share the parsing, checking, hashing and writing of bodies while the main thread
 * plans, schedules, journals and publishes. The engine's limits stay in the main thread: a
 * transfer goes to the thread carrying the fewest. A thread that dies fails its transfers with a
 * passing error (they are retried) and is replaced.
 */
export class TransferThreads {
  #size: number
  /** Where `'auto'` takes its count when its threads start, and gives it back at the run's end. */
  readonly #budget: AutoThreadBudget | undefined
  /** Its threads were asked for (under `'auto'`, granted by the budget, or found missing). */
  #started = false
  /** Transfers to leave on the main thread before the threads start (0: started at once). */
  readonly #startAfter: number
  /** Files begun (first attempts asked of `carries`) so far, while the threads wait to start. */
  #asked = 0
  #readyCount = 0
  readonly #options: Options
  /** Why threads started later could not start (their code missing): the main thread carries on. */
  #broken = false
  readonly #onBytes: (n: number) => void
  readonly #threads = new Set<Thread>()
  readonly #pending = new Map<number, Pending>()
  #nextId = 0
  #closed = false
  /** Threads that died before they were ready since one last was (see `START_DEATHS`). */
  #startDeaths = 0
  /** No more threads are started: they die as they start, or keep dying once ready. */
  #gaveUp = false
  /** A thread has been ready (see `carries`). */
  #wasReady = false
  /** When ready threads died (performance.now()), those of the last `READY_DEATHS_MS` (see `keepsDying`). */
  #readyDeaths: number[] = []
  /** With `--wait`: the hosts' send times, shared with each thread (see host-sends.ts). */
  readonly #sends: HostSends | undefined

  /**
   * `options`: the run's options as given (cloned to each thread, which resolves them again:
   * signals and other functions left out); `onBytes`: body bytes received, told in batches;
   * `startAfter`: transfers the main thread carries before the threads start (`'auto'`: see
   * auto-threads.ts), 0 to start them now. `size`: a count, or the process's budget (`'auto'`),
   * from which the threads are taken as they start. `sends`: with `--wait`, the run's (see
   * host-sends.ts), which each thread takes its sends from.
   */
  constructor(
    size: number | AutoThreadBudget,
    options: Options,
    onBytes: (n: number) => void,
    startAfter = 0,
    sends?: HostSends,
  ) {
    this.#sends = sends
    this.#budget = typeof size === 'number' ? undefined : size
    this.#size = typeof size === 'number' ? size : 0
    this.#startAfter = startAfter
    this.#options = options
    this.#onBytes = onBytes
    if (startAfter === 0) this.#start()
  }

  #start(): void {
    if (this.#budget) {
      this.#size = this.#budget.take()
      // Other runs of this process hold the machine's threads: the main thread carries on, and
      // asks again at its next file.
      if (this.#size === 0) return
    }
    this.#started = true
    // Whom to trust (SSL_CERT_FILE, SSL_CERT_DIR) is read by each thread with its own first
    // https:// connection, and what it warns about is said here (see `warnOnce`). It was read here
    // as threads started, to warn: a run of http:// URLs read it mid-run on this thread (146 files,
    // 64 ms of CPU, with SSL_CERT_DIR=/etc/ssl/certs), and warned about files it never needed.
    try {
      for (let i = 0; i < this.#size; i++) this.#spawn()
    } catch (error) {
      // Threads asked for at once fail the run's start; threads that start under way (`'auto'`)
      // leave the run to the main thread, said once, rather than end it at its `startAfter`-th file.
      if (this.#startAfter === 0) throw error
      const fault = threadFault(error)
      this.#toMainThread(fault?.words ?? (error as Error).message, fault?.hint)
    }
  }

  /** Threads that start under way cannot: the main thread carries every transfer, said once. */
  #toMainThread(why: string, hint?: string): void {
    this.#broken = true
    this.#budget?.give(this.#size)
    this.#size = 0
    process.emitWarning(`${why}: every transfer stays on the main thread${hint ? `; ${hint}` : ''}`, {
      code: 'IMGPULL_THREADS',
    })
  }

  /**
   * Whether the next transfer goes to a thread. Threads started at once carry every transfer
   * (`ready()` waits for the first). Threads that start later carry none until their
   * `startAfter`-th file has begun, then each that comes once one of them is ready: the main
   * thread carries the rest meanwhile, so no transfer waits for a thread to start. `first`: the
   * file's first attempt; retries are not counted, so a short list whose host asks for them (15
   * files each answered 503 once) never starts a thread.
   */
  carries(first = true): boolean {
    // Threads asked for at once: every transfer once one is ready (`ready()`), but the main thread
    // takes one that comes while none is (those that died being replaced), rather than fail it.
    if (this.#startAfter === 0) return !this.#broken && (this.#readyCount > 0 || !this.#wasReady)
    if (first && !this.#started && ++this.#asked >= this.#startAfter) this.#start()
    return !this.#broken && this.#readyCount > 0
  }

  get size(): number {
    return this.#size
  }

  #isReady!: () => void
  #neverReady!: (error: unknown) => void
  readonly #firstReady = new Promise<void>((resolve, reject) => {
    this.#isReady = resolve
    this.#neverReady = reject
  })

  /**
   * Resolves once a thread can take transfers (a thread starts in ~50 ms); rejects with a
   * `FatalError` when threads asked for at once die as they start (see `START_DEATHS`).
   */
  ready(): Promise<void> {
    return this.#firstReady
  }

  /** One attempt at one file on a thread: as `download()`, whose steps run there. */
  download(task: ThreadTask, cancel: Cancel): Promise<Downloaded> {
    let thread: Thread | undefined
    for (const t of this.#threads) if (t.ready && (!thread || t.active < thread.active)) thread = t
    if (!thread)
      return Promise.reject(new ImgpullError('network', 'no transfer thread is ready', { retryable: true }))
    const id = this.#nextId++
    const chosen = thread
    chosen.active++
    return new Promise<Downloaded>((resolve, reject) => {
      this.#pending.set(id, {
        thread: chosen,
        resolve,
        reject,
        onValidators: task.onValidators,
        onBody: task.onBody,
        onBytes: task.onBytes,
        onHop: task.onHop,
        onTailChecked: task.onTailChecked,
      })
      const start: ToThread = {
        op: 'start',
        id,
        url: task.url,
        part: task.part,
        validators: task.validators,
        expectedHash: task.expectedHash,
        tailChecked: task.tailChecked,
        plain: task.plain,
        revalidate: task.revalidate,
        hold: task.hold,
        given: task.given,
        gap: task.gap,
        // Only with --wait: a URL parse a file, on every run, for nothing else.
        spaced: this.#sends && this.#spaced(hostKey(new URL(task.url))),
      }
      chosen.outbox.push(start)
      if (cancel.aborted) chosen.outbox.push({ op: 'cancel', id })
      else cancel.onAbort = () => chosen.outbox.push({ op: 'cancel', id })
    })
  }

  /**
   * Tell every thread that `host` is paused for `ms` from now: a transfer it carries sends
   * nothing there before its end (see send-pauses.ts; the message's way there only adds to it). A thread started later is handed no transfer to the
   * host before its pause ends (the scheduler holds it).
   */
  pause(host: string, ms: number): void {
    for (const t of this.#threads) t.outbox.push({ op: 'pause', host, ms })
  }

  /** `host` and its slot of the run's send times, for a thread to learn (see host-sends.ts). */
  #spaced(host: string): [string, number] | undefined {
    const slot = this.#sends?.slotOf(host)
    return slot === undefined ? undefined : [host, slot]
  }

  /**
   * Stop the threads once their transfers have ended. Each is ended once it says it has told all
   * (`closed`), not left to end of itself: a connection still opening (a SYN never answered) kept
   * a thread, and the run's end that waits for it, alive until --connect-timeout ran out (31 s at
   * the default 30 s after the run had stopped, against 0.86 s on the main thread). One not yet
   * ready is ended at once.
   */
  async close(): Promise<void> {
    this.#closed = true
    this.#budget?.give(this.#size)
    this.#size = 0
    const exits = [...this.#threads].map(
      (t) =>
        new Promise<void>((resolve) => {
          t.worker.once('exit', () => resolve())
          // One still starting carries nothing, and reads its messages only once its code is
          // loaded: ended now. Told to close, a run that ended before its thread was ready waited
          // for the thread's start, and for ever for one whose start never ends.
          if (t.ready) t.outbox.push({ op: 'close' })
          else void t.worker.terminate()
        }),
    )
    await Promise.all(exits)
  }

  #spawn(): void {
    const { signal: _s, drainSignal: _d, ...cloneable } = this.#options as Options & Record<string, unknown>
    delete cloneable.hostGate
    const file = workerFile()
    const workerData = { options: cloneable, sends: this.#sends?.buffer }
    // From source (tests, tsx), the thread registers tsx itself before loading its TypeScript:
    // a `--import tsx` flag is not ready in time in a worker thread on Node 20. Neither the
    // host's flags nor NODE_OPTIONS' preloads run in it (see `ownEnv`).
    const settings = { workerData, execArgv: [], env: ownEnv(), resourceLimits: THREAD_LIMITS }
    const gone = threadStarting()
    const worker = file.endsWith('.ts')
      ? new Worker(
          `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(pathToFileURL(file).href)}) })`,
          { eval: true, ...settings },
        )
      : new Worker(file, settings)
    const thread: Thread = {
      worker,
      outbox: new Outbox<ToThread>((batch) => worker.postMessage(batch)),
      ready: false,
      active: 0,
    }
    live++
    this.#threads.add(thread)
    worker.on('message', (batch: FromThread[]) => {
      for (const m of batch) this.#message(thread, m)
    })
    worker.on('error', (error) => {
      thread.error = error
    })
    worker.on('exit', (code) => {
      gone()
      this.#lost(thread, code)
    })
  }

  #message(thread: Thread, m: FromThread): void {
    if (m.op === 'closed') void thread.worker.terminate()
    else if (m.op === 'ready') {
      thread.ready = true
      this.#wasReady = true
      this.#startDeaths = 0
      this.#readyCount++
      this.#isReady()
    } else if (m.op === 'bytes') {
      this.#onBytes(m.n)
      for (const [id, n] of m.each) this.#tell(id, (p) => p.onBytes?.(n))
    } else if (m.op === 'warning') warnOnce(m)
    else if (m.op === 'validators') this.#tell(m.id, (p) => p.onValidators(m.validators))
    else if (m.op === 'body') this.#tell(m.id, (p) => p.onBody?.(m.at, m.unresumable, m.length))
    else if (m.op === 'tail') this.#tell(m.id, (p) => p.onTailChecked?.())
    else if (m.op === 'hop') {
      let hop: Promise<void> = Promise.resolve()
      this.#tell(m.id, (p) => {
        hop = p.onHop?.(m.origin) ?? hop
      })
      // `go: false`: the run stopped while it waited; the transfer ends there, sending nothing.
      void hop.then(
        () => thread.outbox.push({ op: 'hopped', id: m.id, go: true, spaced: this.#spaced(m.origin) }),
        () => thread.outbox.push({ op: 'hopped', id: m.id, go: false }),
      )
    } else {
      const p = this.#pending.get(m.id)
      if (!p) return
      if (m.bytes) {
        this.#onBytes(m.bytes)
        this.#tell(m.id, (q) => q.onBytes?.(m.bytes!))
        if (!this.#pending.has(m.id)) return // failed by what the engine threw (see `#tell`)
      }
      this.#pending.delete(m.id)
      thread.active--
      if (m.op === 'done')
        p.resolve(
          m.held
            ? // Not `{ ...m.done, held }`: Node 20's V8 gives each key added after a leading spread a new hidden class of its own (about 0.7 µs a key, and garbage).
              Object.assign(m.done, { held: [Buffer.from(m.held.buffer, m.held.byteOffset, m.held.length)] })
            : m.done,
        )
      else p.reject(deserializeError(m.error))
    }
  }

  /**
   * Tell the engine what a thread's transfer reported. What the engine throws (a journal that
   * cannot write: a full disk) fails that transfer with it, as it fails a transfer on the main
   * thread, and the thread stops it: thrown from a thread's message handler, it ended the process
   * with a stack trace (`SqliteError: database or disk is full`, exit 1) where the run says
   * "cannot write the journal ...: no space left on device" and exits 3.
   */
  #tell(id: number, report: (p: Pending) => void): void {
    const p = this.#pending.get(id)
    if (!p) return
    try {
      report(p)
    } catch (error) {
      this.#pending.delete(id)
      p.thread.active--
      p.thread.outbox.push({ op: 'cancel', id })
      p.reject(error)
    }
  }

  /** A thread ended: closed on purpose, or died (its transfers fail and are retried). */
  #lost(thread: Thread, code: number): void {
    // Ended by `#giveUp`: counted out there.
    if (!this.#threads.delete(thread)) return
    live--
    if (thread.ready) this.#readyCount--
    for (const [id, p] of this.#pending) {
      if (p.thread !== thread) continue
      this.#pending.delete(id)
      const message = `a transfer thread stopped (exit code ${code}); the file is fetched again`
      p.reject(
        new ImgpullError('network', message, {
          retryable: true,
          cause: Object.assign(new Error(message), { code: THREAD_DIED }),
        }),
      )
    }
    if (this.#closed || this.#gaveUp) return
    const fault = thread.error === undefined ? undefined : threadFault(thread.error)
    const cause = fault?.words ?? (thread.error ? String(thread.error) : `exit code ${code}`)
    if (!thread.ready && ++this.#startDeaths >= START_DEATHS) {
      this.#giveUp(cause, fault?.hint)
      return
    }
    if (thread.ready) {
      const now = performance.now()
      this.#readyDeaths = [...this.#readyDeaths.filter((at) => now - at < READY_DEATHS_MS), now]
      if (keepsDying(this.#readyDeaths, now)) {
        // Its transfers are retried (above) on the main thread; threads still alive finish
        // theirs and get no more, so no file is lost or carried twice.
        this.#gaveUp = true
        const within = duration(Math.round(now - this.#readyDeaths[0]))
        this.#toMainThread(
          `transfer threads died ${this.#readyDeaths.length} times in ${within} after they were ready (${cause})`,
          fault?.hint,
        )
        return
      }
    }
    try {
      this.#spawn()
    } catch (error) {
      // Its code gone since the run began: thrown from an 'exit' handler, it ended the process.
      const fault = threadFault(error)
      this.#giveUp(fault?.words ?? (error as Error).message, fault?.hint)
    }
  }

  /**
   * Threads die as they start: none is started again, said once. Threads asked for at once
   * (`--threads N`) that all died fail the run's start (`ready()` rejects); under `'auto'` the main
   * thread carries on, as when the threads' code is missing; threads still running go on.
   */
  #giveUp(cause: string, hint?: string): void {
    this.#gaveUp = true
    const why = `transfer threads die as they start (${this.#startDeaths} times): ${cause}`
    // Those still starting would die alike: only ready ones are kept.
    for (const t of this.#threads) {
      if (t.ready) continue
      this.#threads.delete(t)
      live--
      void t.worker.terminate()
    }
    if (this.#readyCount > 0) {
      process.emitWarning(`${why}: the run goes on with ${this.#readyCount}${hint ? `; ${hint}` : ''}`, {
        code: 'IMGPULL_THREADS',
      })
      return
    }
    if (this.#startAfter > 0) {
      this.#toMainThread(why, hint)
      return
    }
    this.#budget?.give(this.#size)
    this.#size = 0
    this.#neverReady(
      new FatalError('threads', why, {
        hint: hint ?? 'run with `threads: 0` to keep every transfer on the main thread',
      }),
    )
    // Awaited only by a transfer that asks for a thread: not unhandled if none does.
    this.#firstReady.catch(() => {})
  }
}
