import { createHash } from 'node:crypto'
import { Worker } from 'node:worker_threads'
import { ImgpullError } from '../errors.js'
import { ownEnv } from '../utils/node-options.js'

/**
 * sha256 of a body as it streams. Small bodies are hashed inline (a few µs each); large ones in
 * a worker thread, so hashing a 200 MB file (a tenth of a core-second) never holds up the event
 * loop that serves every other transfer. Each file has at most `BATCHES` batches of `BATCH`
 * bytes, so memory stays flat whatever the file size.
 */
export interface Hasher {
  update(chunk: Buffer): void | Promise<void>
  digest(): Promise<string>
  /** The body was abandoned: free what the hash holds. */
  discard(): void
}

/** Bodies at least this large (when announced) are hashed off the event loop. */
export const WORKER_THRESHOLD = 4 * 1024 * 1024
/**
 * Chunks go to the worker gathered in batches of this size, each batch's memory handed over
 * (transferred, not cloned) and handed back for reuse: a few hundred messages for 200 MB instead
 * of thousands of 64 KB copies, and no garbage for either thread's collector.
 */
const BATCH = 1024 * 1024
/** Batches per file; `update` waits while all of them are with the worker. */
const BATCHES = 4

class InlineHasher implements Hasher {
  readonly #hash = createHash('sha256')
  update(chunk: Buffer) {
    this.#hash.update(chunk)
  }
  async digest() {
    return this.#hash.digest('hex')
  }
  discard() {}
}

// The worker is plain CommonJS given as source, so it runs the same from src/ (tests) and dist/.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { createHash } = require('node:crypto')
const hashes = new Map()
parentPort.on('message', (m) => {
  if (m.op === 'update') {
    let h = hashes.get(m.id)
    if (!h) hashes.set(m.id, (h = createHash('sha256')))
    h.update(new Uint8Array(m.batch, 0, m.length))
    parentPort.postMessage({ id: m.id, batch: m.batch }, [m.batch])
  } else {
    const h = hashes.get(m.id) ?? createHash('sha256')
    hashes.delete(m.id)
    parentPort.postMessage({ id: m.id, hex: h.digest('hex') })
  }
})`

interface Pending {
  /** Batches back from the worker, ready to fill again. */
  free: ArrayBuffer[]
  returned?: () => void
  digested?: (hex: string) => void
  /** The worker died with this hash in it: the body's hash is lost (its transfer is retried). */
  failed?: (error: Error) => void
  error?: Error
}

let worker: Worker | undefined
let users = 0
let nextId = 0
const pending = new Map<number, Pending>()

/** A crash of the hash worker, as the transfer whose body it was hashing sees it: retried. */
export class HashWorkerError extends ImgpullError {
  override name = 'HashWorkerError'
  constructor(cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause)
    super('hash-failed', `the thread hashing large bodies stopped (${why}); the file is fetched again`, {
      retryable: true,
      cause,
    })
  }
}

/**
 * The worker died (an error, or exit): every hash in it fails (their transfers are retried), and
 * the next large body starts a new worker. The run goes on.
 */
function lost(w: Worker, cause: unknown): void {
  if (worker !== w) return
  worker = undefined
  users = 0
  const error = new HashWorkerError(cause)
  for (const p of pending.values()) {
    p.error = error
    p.failed?.(error)
    p.returned?.()
  }
  pending.clear()
}

function shared(): Worker {
  if (worker) return worker
  // Not counted by large-bodies.ts' `threadStarting`: its batches are handed back and forth, not
  // made anew, so its heap does not come to marking (two 200 MB bodies: 3 young collections, no
  // full one, `node --trace-gc`), and the command may still switch V8's marking around it.
  // Neither the host's flags nor NODE_OPTIONS' preloads run in it (see `ownEnv`): one that throws
  // there failed every large body (`hash-failed`).
  const w = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], env: ownEnv() })
  w.on('error', (error) => lost(w, error))
  w.on('exit', (code) => lost(w, `exit code ${code}`))
  w.on('message', (m: { id: number; batch?: ArrayBuffer; hex?: string }) => {
    const p = pending.get(m.id)
    if (!p) return
    if (m.batch !== undefined) {
      p.free.push(m.batch)
      const returned = p.returned
      p.returned = undefined
      returned?.()
    } else if (m.hex !== undefined) {
      pending.delete(m.id)
      p.digested?.(m.hex)
    }
  })
  w.unref()
  worker = w
  return w
}

class WorkerHasher implements Hasher {
  readonly #id = nextId++
  readonly #state: Pending = { free: [] }
  /** Batches made so far (at most BATCHES). */
  #made = 0
  #batch: Uint8Array | undefined
  #filled = 0
  constructor() {
    users++
    shared().ref()
    pending.set(this.#id, this.#state)
  }
  update(chunk: Buffer): void | Promise<void> {
    if (this.#state.error) throw this.#state.error
    if (!pending.has(this.#id)) return // discarded
    let at = 0
    while (at < chunk.byteLength) {
      if (!this.#batch) {
        const buffer = this.#state.free.pop() ?? this.#make()
        // All batches are with the worker: wait for one, then take the rest of this chunk.
        if (!buffer) return this.#waitThen(chunk.subarray(at))
        this.#batch = new Uint8Array(buffer)
        this.#filled = 0
      }
      const n = Math.min(chunk.byteLength - at, BATCH - this.#filled)
      this.#batch.set(chunk.subarray(at, at + n), this.#filled)
      this.#filled += n
      at += n
      if (this.#filled === BATCH) this.#send()
    }
  }
  #make(): ArrayBuffer | undefined {
    if (this.#made === BATCHES) return undefined
    this.#made++
    return new ArrayBuffer(BATCH)
  }
  async #waitThen(rest: Buffer): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#state.returned = resolve
    })
    if (this.#state.error) throw this.#state.error
    await this.update(rest)
  }
  #send(): void {
    const buffer = this.#batch!.buffer as ArrayBuffer
    worker!.postMessage({ id: this.#id, op: 'update', batch: buffer, length: this.#filled }, [buffer])
    this.#batch = undefined
    this.#filled = 0
  }
  digest(): Promise<string> {
    if (this.#state.error) return Promise.reject(this.#state.error)
    if (this.#filled > 0) this.#send()
    return new Promise((resolve, reject) => {
      this.#state.digested = (hex) => {
        release()
        resolve(hex)
      }
      this.#state.failed = reject
      worker!.postMessage({ id: this.#id, op: 'digest' })
    })
  }
  discard() {
    if (!pending.delete(this.#id)) return
    this.#state.returned?.()
    worker?.postMessage({ id: this.#id, op: 'digest' })
    release()
  }
}

/** The worker keeps the process alive only while some hash is in progress. */
function release() {
  if (users > 0 && --users === 0) worker?.unref()
}

/** Stop the hash worker as a crash would (tests: what a crash does to the transfers it serves). */
export async function stopHashWorker(): Promise<boolean> {
  const w = worker
  if (!w) return false
  await w.terminate()
  return true
}

/** A hasher for a body of `expected` bytes (if announced). */
export function createHasher(expected: number | undefined): Hasher {
  return expected !== undefined && expected >= WORKER_THRESHOLD ? new WorkerHasher() : new InlineHasher()
}
