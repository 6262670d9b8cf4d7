import { createHash } from 'node:crypto'
import { Worker } from 'node:worker_threads'

/**
 * sha256 of a body as it streams. Small bodies are hashed inline (a few µs each); large ones in
 * a worker thread, so hashing a 200 MB file (a fifth of a core-second) never holds up the event
 * loop that serves every other transfer. The worker's backlog is bounded: `update` waits when
 * more than `MAX_BACKLOG` bytes are queued, so memory stays flat whatever the file size.
 */
export interface Hasher {
  update(chunk: Buffer): void | Promise<void>
  digest(): Promise<string>
  /** The body was abandoned: free what the hash holds. */
  discard(): void
}

/** Bodies at least this large (when announced) are hashed off the event loop. */
export const WORKER_THRESHOLD = 4 * 1024 * 1024
const MAX_BACKLOG = 16 * 1024 * 1024

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
    h.update(m.chunk)
    parentPort.postMessage({ id: m.id, done: m.chunk.byteLength })
  } else {
    const h = hashes.get(m.id) ?? createHash('sha256')
    hashes.delete(m.id)
    parentPort.postMessage({ id: m.id, hex: h.digest('hex') })
  }
})`

interface Pending {
  backlog: number
  drained?: () => void
  digested?: (hex: string) => void
}

let worker: Worker | undefined
let users = 0
let nextId = 0
const pending = new Map<number, Pending>()

function shared(): Worker {
  if (worker) return worker
  const w = new Worker(WORKER_SOURCE, { eval: true })
  w.on('message', (m: { id: number; done?: number; hex?: string }) => {
    const p = pending.get(m.id)
    if (!p) return
    if (m.done !== undefined) {
      p.backlog -= m.done
      if (p.backlog <= MAX_BACKLOG / 2) {
        const drained = p.drained
        p.drained = undefined
        drained?.()
      }
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
  readonly #state: Pending = { backlog: 0 }
  constructor() {
    users++
    shared().ref()
    pending.set(this.#id, this.#state)
  }
  update(chunk: Buffer): void | Promise<void> {
    this.#state.backlog += chunk.byteLength
    // A copy crosses to the worker; the original stays with the file writer.
    worker!.postMessage({ id: this.#id, op: 'update', chunk })
    if (this.#state.backlog > MAX_BACKLOG) {
      return new Promise((resolve) => {
        this.#state.drained = resolve
      })
    }
  }
  digest(): Promise<string> {
    return new Promise((resolve) => {
      this.#state.digested = (hex) => {
        release()
        resolve(hex)
      }
      worker!.postMessage({ id: this.#id, op: 'digest' })
    })
  }
  discard() {
    if (!pending.delete(this.#id)) return
    this.#state.drained?.()
    worker!.postMessage({ id: this.#id, op: 'digest' })
    release()
  }
}

/** The worker keeps the process alive only while some hash is in progress. */
function release() {
  if (--users === 0) worker?.unref()
}

/** A hasher for a body of `expected` bytes (if announced). */
export function createHasher(expected: number | undefined): Hasher {
  return expected !== undefined && expected >= WORKER_THRESHOLD ? new WorkerHasher() : new InlineHasher()
}
