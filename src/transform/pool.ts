import { type ChildProcess, fork } from 'node:child_process'
import { getMaxListeners, setMaxListeners } from 'node:events'
import { existsSync } from 'node:fs'
import { availableParallelism, getPriority, setPriority } from 'node:os'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { isMainThread } from 'node:worker_threads'
import { FatalError } from '../errors.js'
import { isFatalLocal } from '../sinks/local-faults.js'
import { Fifo } from '../utils/fifo.js'
import { ownEnv } from '../utils/node-options.js'
import { shownValue } from '../utils/shown-value.js'
import { TransformError } from './errors.js'
import type { ImageInput, ThumbnailOptions, Transformed } from './resize.js'
import type { TransformSpec } from './spec.js'
import type { Reply, Request, Stop } from './worker.js'

/** Listeners a run's signal may hold before Node warns: tasks waiting and running at once. */
const SIGNAL_LISTENERS = 100_000

/**
 * Image work on a pool of child processes, beside the network. Processes, not worker threads:
 * - sharp runs every image on libuv's thread pool, which is one per process: image work in threads
 *   of the main process would queue the main thread's file writes and DNS look-ups behind it
 *   (libuv's pool is 4 threads by default, and only settable before its first use). A child has a
 *   pool of its own.
 * - A segfault in libvips kills a process; in a thread it kills the whole run. A hung native
 *   call cannot be stopped in a thread (`terminate()` waits for it); a process is killed.
 * - Workers run at a lower CPU priority (`niceness`): when the cores are busy, the process that
 *   moves bytes gets them first.
 * The cost is one copy of each body through a pipe (none for `{ path }` inputs) and some 30 MB
 * of memory per worker; measured in `bench/transform.ts`.
 */

/** Options of `TransformPool`. */
export interface TransformPoolOptions {
  /** Worker processes. @default os.availableParallelism() */
  readonly workers?: number
  /** Longest time for one image, in ms: past it the worker is killed and replaced, the image fails (`transform-failed`). @default 60_000 */
  readonly timeoutMs?: number
  /** Jobs waiting for a worker before `ready()` waits. @default 4 × workers */
  readonly maxQueued?: number
  /** Bytes of in-memory inputs waiting for a worker before `ready()` waits. @default 64 MiB */
  readonly maxQueuedBytes?: number
  /** How much lower the workers' CPU priority is than this process's (`nice` increment, 0–19). @default 10 */
  readonly niceness?: number
}

/** What `stats` reports, for progress lines and measurements. */
export interface TransformPoolStats {
  /** Worker processes alive (started or starting). */
  workers: number
  /** Jobs running on a worker now. */
  running: number
  /** Jobs waiting for a worker. */
  queued: number
  /** Bytes of the in-memory inputs among them. */
  queuedBytes: number
  /** Workers lost to a crash, a timeout or an abort (a new one starts when there is work for it). */
  replaced: number
  /** Process ids of the workers. */
  pids: number[]
}

interface Task {
  request: Request
  bytes: number
  resolve: (value: never) => void
  reject: (error: unknown) => void
  signal?: AbortSignal
  onAbort?: () => void
  /** Settled (done, failed, aborted): a queued task that is skipped when its turn comes. */
  settled: boolean
}

interface Worker {
  child: ChildProcess
  ready: boolean
  task?: Task
  timer?: NodeJS.Timeout
  /** Being killed on purpose (timeout, abort): its exit is no news. */
  killed: boolean
  /** Asked to stop for its task's abort (see `#abort`): its exit fails the task as aborted. */
  stopping?: boolean
}

/** A worker that dies before it is ready this many times in a row means no worker can start. */
const START_FAILURES = 3

/** Characters of a starting worker's stderr kept to tell why it failed (see `startCause`). */
const START_WORDS = 16_384

/**
 * The line of a worker's stderr that says why it did not start: Node's own for an uncaught error
 * (`Error: …`, `TypeError [ERR_…]: …`, `node: bad option: …`), else its last line; at most 300
 * characters. Node's version line, the source line and caret before the error and the stack after
 * it say nothing of the cause.
 */
export function startCause(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^Node\.js v\d/.test(line))
  const said = lines.find((line) => /^([A-Z]\w*)?(Error|Exception)\b/.test(line) || /^node: /.test(line))
  return (said ?? lines.at(-1) ?? '').slice(0, 300)
}

/**
 * Time, in ms, a worker asked to stop (see `#abort`) has to end before it is killed. It ends at
 * once but inside a write to a slow disk (a network share): the write is what must not be cut.
 * An image libvips hangs on does not delay it (that runs on libuv's threads, not the worker's).
 */
const STOP_GRACE_MS = 5_000

/**
 * The worker's file beside this one: `worker.ts` when running from source (tests, tsx), else
 * `worker.js` next to `pool.js` (dist/transform/), or dist/transform/ seen from the CLI's bundle
 * (dist/imgpull.cjs).
 */
function workerFile(): { path: string; typescript: boolean } {
  const here = import.meta.url
  const typescript = here.endsWith('.ts')
  const candidates = typescript ? ['./worker.ts'] : ['./worker.js', './transform/worker.js']
  for (const candidate of candidates) {
    const path = fileURLToPath(new URL(candidate, here))
    if (existsSync(path)) return { path, typescript }
  }
  throw new FatalError(
    'transform-unavailable',
    `the transform worker is missing: ${candidates.join(' or ')} beside ${here}`,
  )
}

/** A loader (`--import tsx`) is all a worker needs of this process's flags; `--inspect` and the like would clash. */
function loaderFlags(argv: string[]): string[] {
  const kept: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    if (/^--(import|require|loader|experimental-loader)$/.test(flag)) kept.push(flag, argv[++i])
    else if (/^(--(import|require|loader|experimental-loader)=|-r$)/.test(flag)) kept.push(flag)
  }
  return kept
}

/**
 * A pool of worker processes for `transform` and `thumbnail`. Workers start on first use; idle
 * ones do not keep the process alive. Each worker runs one image at a time.
 *
 * Back-pressure: calls are queued without limit, but `ready()` resolves only while fewer than
 * `maxQueued` jobs and `maxQueuedBytes` bytes wait. A caller that awaits `ready()` before taking
 * on more work (before starting the next download) bounds what waits to those limits plus what it
 * has in flight.
 */
export class TransformPool {
  readonly #size: number
  readonly #timeoutMs: number
  readonly #maxQueued: number
  readonly #maxQueuedBytes: number
  readonly #niceness: number
  readonly #workers = new Set<Worker>()
  readonly #queue = new Fifo<Task>()
  #queued = 0
  #queuedBytes = 0
  #running = 0
  #replaced = 0
  #startFailures = 0
  /** Why the last worker that failed to start did (see `#hearStart`). */
  #startSaid: string | undefined
  #nextId = 0
  #file: { path: string; typescript: boolean } | undefined
  #broken: FatalError | undefined
  #closed = false
  #refed = false
  #roomWaiters: (() => void)[] = []
  #idleWaiters: (() => void)[] = []

  constructor(options: TransformPoolOptions = {}) {
    const size = options.workers ?? availableParallelism()
    const timeoutMs = options.timeoutMs ?? 60_000
    const maxQueued = options.maxQueued ?? 4 * size
    const maxQueuedBytes = options.maxQueuedBytes ?? 64 * 1024 * 1024
    const niceness = options.niceness ?? 10
    for (const [name, value, min] of [
      ['workers', size, 1],
      ['timeoutMs', timeoutMs, 1],
      ['maxQueued', maxQueued, 1],
      ['maxQueuedBytes', maxQueuedBytes, 1],
      ['niceness', niceness, 0],
    ] as const) {
      if (!Number.isInteger(value) || value < min) {
        throw new TypeError(`Expected \`${name}\` to be an integer >= ${min}, got ${shownValue(value)}`)
      }
    }
    if (niceness > 19) throw new TypeError(`Expected \`niceness\` to be at most 19, got ${niceness}`)
    this.#size = size
    this.#timeoutMs = timeoutMs
    this.#maxQueued = maxQueued
    this.#maxQueuedBytes = maxQueuedBytes
    this.#niceness = niceness
  }

  /**
   * Transform one image (see `transformImage` in `resize.ts`). With `output`, the worker writes the
   * new image to that path and `bytes` is absent; with `replaceInput` too and a `{ path }` input,
   * the input file is renamed to `output` and the new image written into it (no file made or
   * deleted: see `intoInput`; where it cannot be renamed, the new image is written to `output` and
   * the input removed), so the input path is gone unless the image was kept. Rejects with
   * `TransformError` (a refusal, `undecodable`, `transform-failed` after a crash or a timeout,
   * `transform-closed` after `close()` or the signal's abort) or `FatalError`
   * `transform-unavailable` when no worker can start.
   */
  transform(
    input: ImageInput,
    spec: TransformSpec,
    options: { output?: string; replaceInput?: boolean; signal?: AbortSignal } = {},
  ): Promise<Transformed> {
    const { output, replaceInput } = options
    return this.#submit({ id: 0, op: 'transform', input, spec, output, replaceInput }, options.signal)
  }

  /** A small preview (see `thumbnailImage` in `resize.ts`): WebP or JPEG, longest side 160 px by default. */
  thumbnail(input: ImageInput, options: ThumbnailOptions & { signal?: AbortSignal } = {}): Promise<Buffer> {
    const { signal, ...rest } = options
    return this.#submit<Uint8Array>({ id: 0, op: 'thumbnail', input, options: rest }, signal).then((bytes) =>
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    )
  }

  /** Resolves when the queue has room (fewer than `maxQueued` jobs and `maxQueuedBytes` bytes waiting). */
  ready(): Promise<void> {
    if (this.#hasRoom()) return Promise.resolve()
    return new Promise((resolve) => this.#roomWaiters.push(resolve))
  }

  get stats(): TransformPoolStats {
    return {
      workers: this.#workers.size,
      running: this.#running,
      queued: this.#queued,
      queuedBytes: this.#queuedBytes,
      replaced: this.#replaced,
      pids: [...this.#workers].flatMap((w) => (w.child.pid === undefined ? [] : [w.child.pid])),
    }
  }

  /**
   * Take no more work, let what is queued and running finish, then stop the workers. To stop at
   * once, abort the calls' signals first.
   */
  async close(): Promise<void> {
    this.#closed = true
    if (this.#queued > 0 || this.#running > 0)
      await new Promise<void>((resolve) => this.#idleWaiters.push(resolve))
    const exits = [...this.#workers].map(
      (w) =>
        new Promise<void>((resolve) =>
          w.child.exitCode !== null ? resolve() : w.child.once('exit', () => resolve()),
        ),
    )
    this.#stopIdle()
    await Promise.all(exits)
    for (const wake of this.#roomWaiters.splice(0)) wake()
  }

  /**
   * End the workers, all idle: each exits once its channel closes, and is waited for (idle workers
   * are unreferenced: the process, or thread, is kept alive until they are gone and reaped).
   */
  #stopIdle(): void {
    process.off('beforeExit', this.#threadEnding)
    for (const w of this.#workers) {
      w.child.ref()
      if (w.child.connected) w.child.disconnect()
    }
  }

  /**
   * A worker thread hosting the pool has nothing left to do: its idle workers are ended and waited
   * for before it ends. A child process is reaped by the event loop that started it: a thread that
   * ended with its pool open (never closed, idle workers unreferenced) left each worker a zombie of
   * the process for as long as it ran (measured: 2 `<defunct>` an ended thread; nodejs/node#46569).
   */
  readonly #threadEnding = () => {
    if (this.#queued === 0 && this.#running === 0) this.#stopIdle()
  }

  #submit<T>(request: Request, signal: AbortSignal | undefined): Promise<T> {
    if (this.#broken) return Promise.reject(this.#broken)
    if (this.#closed)
      return Promise.reject(new TransformError('transform-closed', 'the transform pool is closed'))
    if (signal?.aborted) return Promise.reject(closedBy(signal))
    request.id = this.#nextId++
    const input = request.input
    const bytes = 'path' in input ? 0 : input.byteLength
    return new Promise<T>((resolve, reject) => {
      const task: Task = {
        request,
        bytes,
        resolve: resolve as (value: never) => void,
        reject,
        signal,
        settled: false,
      }
      if (signal) {
        task.onAbort = () => this.#abort(task)
        // One listener per task waiting or running, all on the run's one signal, each removed when
        // its task settles: many at once is the design, not a leak (Node warns past 10).
        if (getMaxListeners(signal) < SIGNAL_LISTENERS) setMaxListeners(SIGNAL_LISTENERS, signal)
        signal.addEventListener('abort', task.onAbort, { once: true })
      }
      this.#queue.push(task)
      this.#queued++
      this.#queuedBytes += bytes
      this.#reference()
      this.#grow()
      this.#dispatch()
    })
  }

  #hasRoom(): boolean {
    return this.#queued < this.#maxQueued && this.#queuedBytes < this.#maxQueuedBytes
  }

  /** Start workers up to the pool's size, never more than there is work for. */
  #grow(): void {
    while (this.#workers.size < this.#size && this.#workers.size < this.#queued + this.#running) this.#spawn()
  }

  #spawn(): void {
    if (!this.#file) {
      try {
        this.#file = workerFile()
      } catch (error) {
        this.#fail(error as FatalError)
        return
      }
    }
    if (!isMainThread && !process.listeners('beforeExit').includes(this.#threadEnding))
      process.on('beforeExit', this.#threadEnding)
    const child = fork(this.#file.path, [], {
      serialization: 'advanced', // Buffers cross as bytes, not as JSON arrays of numbers
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'], // heard until it is ready (see `#hearStart`)
      execArgv: this.#file.typescript ? loaderFlags(process.execArgv) : [],
      // glibc gives each thread an arena that libvips' allocations fragment; two bound the growth.
      // NODE_OPTIONS' preloads stay out (see `ownEnv`).
      env: { MALLOC_ARENA_MAX: '2', ...ownEnv() },
    })
    const worker: Worker = { child, ready: false, killed: false }
    this.#workers.add(worker)
    if (child.pid !== undefined && this.#niceness > 0) {
      try {
        setPriority(child.pid, Math.min(19, getPriority() + this.#niceness))
      } catch {
        // Not allowed here (some containers): the workers share the CPU evenly instead.
      }
    }
    if (!this.#refed) this.#unref(child)
    // A worker that never gets ready (a loader hung on a broken install) counts as one that failed to start.
    const starting = setTimeout(
      () => worker.ready || child.kill('SIGKILL'),
      Math.max(this.#timeoutMs, 30_000),
    )
    starting.unref()
    child.once('exit', () => clearTimeout(starting))
    child.on('message', (reply: Reply) => this.#reply(worker, reply))
    this.#hearStart(worker)
    child.on('error', (error) => {
      // A failed spawn (no process left to fork, EAGAIN) also emits 'exit', where it is handled.
      if (!worker.ready) this.#startSaid = error.message
    })
    child.on('exit', (code, signal) => this.#exited(worker, code, signal))
  }

  /**
   * What a worker writes to stderr before it is ready names the failure when none starts (a loader
   * that throws, a preload given to this process's flags): ignored, the run stopped on "image
   * workers exit before they are ready (code 1, null)". Past that, its stderr (libvips' warnings,
   * which would break the progress line) is read and dropped; it never holds the process open.
   */
  #hearStart(worker: Worker): void {
    const stderr = worker.child.stderr as (Readable & { unref?: () => void }) | null
    if (!stderr) return
    stderr.unref?.()
    stderr.setEncoding('utf8')
    let said = ''
    stderr.on('data', (text: string) => {
      if (!worker.ready && said.length < START_WORDS) said += text
    })
    stderr.on('end', () => {
      if (!worker.ready && said.trim() !== '') this.#startSaid = startCause(said)
    })
  }

  #reply(worker: Worker, reply: Reply): void {
    if ('op' in reply) {
      if (reply.op === 'stopped') return // its exit follows
      if (reply.op === 'ready') {
        worker.ready = true
        this.#startFailures = 0
        this.#startSaid = undefined
        this.#dispatch()
      } else {
        this.#fail(new FatalError('transform-unavailable', `image worker cannot start: ${reply.message}`))
      }
      return
    }
    const task = worker.task
    if (!task || task.request.id !== reply.id) return
    this.#finish(worker)
    if ('error' in reply) {
      const { code, message, errno } = reply.error
      // A full or read-only disk under the worker's output is the run's fault to stop on, as in this process.
      const local = errno !== undefined && isFatalLocal({ code: errno })
      this.#settle(
        task,
        local ? Object.assign(new Error(message), { code: errno }) : new TransformError(code, message),
      )
    } else this.#settle(task, undefined, reply.result)
    this.#dispatch()
  }

  #exited(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    this.#workers.delete(worker)
    const task = worker.task
    if (task) {
      this.#finish(worker)
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`
      this.#settle(
        task,
        worker.stopping
          ? closedBy(task.signal!)
          : new TransformError('transform-failed', `the image worker ${how} while processing this image`),
      )
    }
    if (!worker.ready && !worker.killed && !this.#broken) {
      if (++this.#startFailures >= START_FAILURES) {
        this.#fail(
          new FatalError(
            'transform-unavailable',
            `image workers exit before they are ready (code ${code}, ${signal})${this.#startSaid ? `: ${this.#startSaid}` : ''}`,
          ),
        )
        return
      }
    }
    if (task || worker.killed || !worker.ready) this.#replaced++
    this.#grow()
    this.#dispatch()
    this.#settleIdle()
  }

  /** No worker can start: everything waiting fails, and so will every later call. */
  #fail(error: FatalError): void {
    this.#broken ??= error
    for (let task = this.#queue.shift(); task; task = this.#queue.shift()) {
      if (task.settled) continue
      this.#dequeued(task)
      this.#settle(task, this.#broken)
    }
    for (const w of this.#workers) {
      const task = w.task
      if (task) this.#finish(w)
      this.#kill(w)
      if (task) this.#settle(task, this.#broken)
    }
    this.#settleIdle()
  }

  #dispatch(): void {
    for (const worker of this.#workers) {
      if (!worker.ready || worker.task || worker.killed) continue
      const task = this.#next()
      if (!task) break
      worker.task = task
      this.#running++
      worker.timer = setTimeout(() => this.#timedOut(worker), this.#timeoutMs)
      worker.child.send(task.request)
    }
    if (this.#hasRoom()) for (const wake of this.#roomWaiters.splice(0)) wake()
  }

  #next(): Task | undefined {
    for (let task = this.#queue.shift(); task; task = this.#queue.shift()) {
      if (task.settled) continue // aborted while it waited: already taken off the counts
      this.#dequeued(task)
      return task
    }
    return undefined
  }

  #dequeued(task: Task): void {
    this.#queued--
    this.#queuedBytes -= task.bytes
  }

  #finish(worker: Worker): void {
    clearTimeout(worker.timer)
    worker.task = undefined
    this.#running--
  }

  #timedOut(worker: Worker): void {
    const task = worker.task
    if (!task) return
    this.#finish(worker)
    this.#kill(worker)
    this.#settle(
      task,
      new TransformError('transform-failed', `processing took longer than ${this.#timeoutMs} ms`),
    )
  }

  /**
   * A task's signal aborted. A queued task fails at once. A running one's worker is asked to stop,
   * not killed: a worker is killed anywhere, `intoInput`'s write included, and one killed there
   * left the download renamed and cut (the new image's first bytes over the original's), the job
   * pending, so the next run fetched it again. The worker ends between two steps (see `worker.ts`):
   * its reply, if the image was done first, settles the task as usual (its result is the run's to
   * publish: the download is in it); its exit fails the task as aborted, the input untouched.
   * One that does not end within `STOP_GRACE_MS` (a hung native call) is killed.
   */
  #abort(task: Task): void {
    if (task.settled) return
    const worker = [...this.#workers].find((w) => w.task === task)
    if (!worker) {
      this.#dequeued(task)
      this.#settle(task, closedBy(task.signal!))
      this.#dispatch()
      return
    }
    if (worker.stopping) return
    worker.stopping = true
    worker.killed = true // no new task for it, and its exit is no news
    clearTimeout(worker.timer)
    const { child } = worker
    const kill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
    kill.unref()
    child.once('exit', () => clearTimeout(kill))
    try {
      child.send({ op: 'stop' } satisfies Stop)
    } catch {
      child.kill('SIGKILL') // its channel is gone: it is exiting already
    }
  }

  #kill(worker: Worker): void {
    worker.killed = true
    worker.child.kill('SIGKILL')
  }

  #settle(task: Task, error: unknown, value?: unknown): void {
    if (task.settled) return
    task.settled = true
    if (task.onAbort) task.signal?.removeEventListener('abort', task.onAbort)
    if (error) task.reject(error)
    else task.resolve(value as never)
    this.#settleIdle()
  }

  /** With nothing queued or running: wake `close()`, and let idle workers not hold the process open. */
  #settleIdle(): void {
    if (this.#queued > 0 || this.#running > 0) return
    if (this.#refed) {
      this.#refed = false
      for (const w of this.#workers) this.#unref(w.child)
    }
    for (const wake of this.#idleWaiters.splice(0)) wake()
  }

  #reference(): void {
    if (this.#refed) return
    this.#refed = true
    for (const w of this.#workers) {
      w.child.ref()
      ;(w.child.channel as { ref?: () => void } | undefined)?.ref?.()
    }
  }

  #unref(child: ChildProcess): void {
    child.unref()
    ;(child.channel as { unref?: () => void } | undefined)?.unref?.()
  }
}

function closedBy(signal: AbortSignal): TransformError {
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason)
  return new TransformError('transform-closed', `aborted: ${reason}`, { cause: signal.reason })
}
