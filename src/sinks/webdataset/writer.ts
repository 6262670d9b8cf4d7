import { existsSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { threadStarting } from '../../fetch/large-bodies.js'
import type { CarriedType } from '../../types.js'

/** What the shard writer's thread is started with. */
export interface WriterData {
  out: string
  shardSize: number
  /** Rows held in memory for tars being written, over all shards (see `ShardContext.window`). */
  windowRows: number
  /** The carried columns' types, the same in every shard (see `Source.columnTypes`). */
  columnTypes?: Readonly<Record<string, CarriedType>>
  /** The carried columns every shard's Parquet has, and no other (see `Source.parquetColumns`). */
  parquetColumns?: readonly string[]
}

/** Messages to the shard writer. `sealed`: see `Shard`'s constructor. */
export type ToWriter =
  | { op: 'open'; shard: number; sealed: string | null | undefined; startedAt: number }
  | { op: 'add'; shard: number; index: number; line: string; at?: number }
  | { op: 'seal'; id: number; shard: number; given: Uint8Array }
  | { op: 'abandon'; id: number; shard: number }
  | { op: 'close'; id: number }

type PlainError = {
  message: string
  name?: string
  code?: string
  errno?: number
  syscall?: string
  path?: string
  dest?: string
  stack?: string
}

/** Messages from it: an answer to `seal` or `abandon`, or a failure of `open` or `add`. */
export type FromWriter =
  | { op: 'done'; id: number; written?: boolean; error?: PlainError }
  | { op: 'error'; error: PlainError }

/** An error from the writer's thread as an `Error` again, with its code (`ENOSPC`...) for the run to judge. */
function revive(plain: PlainError): Error {
  const error = Object.assign(new Error(plain.message), plain) as Error & Record<string, unknown>
  for (const key of Object.keys(plain)) if (plain[key as keyof PlainError] === undefined) delete error[key]
  return error
}

/**
 * The writer's heap: a young generation of 6 MB instead of V8's up to 48. Its garbage is short-lived
 * (a JSON line, a header per sample; a row group's arrays per seal), and left to itself V8 grows the
 * young generation to its maximum at the first seal and keeps it: some 40 MB of peak RSS (measured
 * on a 20,000-row run: 200 MB peak, 175 with this limit).
 */
const LIMITS = { maxYoungGenerationSizeMb: 6 }

/**
 * The worker's file: `shard-worker.ts` from source (tests, tsx: started through tsx's loader, which
 * a worker does not inherit), else `shard-worker.js` beside this file (dist/sinks/webdataset/), or
 * dist/sinks/webdataset/ seen from the CLI's bundle (dist/imgpull.cjs).
 */
function startWorker(data: WriterData): Worker {
  const gone = threadStarting()
  try {
    const worker = newWorker(data)
    worker.once('exit', gone)
    return worker
  } catch (error) {
    gone()
    throw error
  }
}

function newWorker(data: WriterData): Worker {
  const here = import.meta.url
  if (here.endsWith('.ts')) {
    const file = new URL('./shard-worker.ts', here).href
    const tsx = import.meta.resolve('tsx/esm/api')
    const code = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(file)}) })`
    return new Worker(code, { eval: true, workerData: data, resourceLimits: LIMITS })
  }
  for (const candidate of ['./shard-worker.js', './sinks/webdataset/shard-worker.js']) {
    const path = fileURLToPath(new URL(candidate, here))
    if (existsSync(path)) return new Worker(pathToFileURL(path), { workerData: data, resourceLimits: LIMITS })
  }
  throw new Error(`the shard writer is missing: shard-worker.js beside ${here}`)
}

/**
 * The shard writer: a thread of its own that writes the shards (see `Shard`), so that reading
 * staged samples into tars, encoding Parquet and flushing files to the disk never stall the
 * transfers. Messages are handled in order, one at a time: a shard's rows reach it after its
 * opening, and shards are sealed one after the other.
 */
export class ShardWriter {
  readonly #worker: Worker
  readonly #pending = new Map<number, { resolve: (written: boolean) => void; reject: (e: Error) => void }>()
  #nextId = 0
  #dead: Error | undefined
  /** Messages waiting to be posted together (see `#post`). */
  #batch: ToWriter[] = []
  /** Told of a failure of the writer's thread, or of a shard's file work outside `seal`/`abandon`. */
  onError: (error: Error) => void = () => {}

  constructor(data: WriterData) {
    this.#worker = startWorker(data)
    this.#worker.on('message', (m: FromWriter) => {
      if (m.op === 'error') return this.onError(revive(m.error))
      const waiting = this.#pending.get(m.id)
      this.#pending.delete(m.id)
      if (m.error) waiting?.reject(revive(m.error))
      else waiting?.resolve(m.written ?? false)
    })
    const die = (error: Error) => {
      if (this.#dead) return
      this.#dead = error
      for (const { reject } of this.#pending.values()) reject(error)
      this.#pending.clear()
      this.onError(error)
    }
    this.#worker.on('error', die)
    this.#worker.on('exit', (code) => die(new Error(`the shard writer stopped (exit code ${code})`)))
  }

  /** Begin a shard: `sealed` as `Shard` takes it; `startedAt` (ms since the epoch) for its stats. */
  open(shard: number, sealed: string | null | undefined, startedAt: number): void {
    this.#post({ op: 'open', shard, sealed, startedAt })
  }

  /**
   * Row `index` of a shard has its outcome: `line` is its `SampleRow` as JSON; `at`, where its
   * sample's bytes begin in the shard's spool, when they are there (see spool.ts).
   */
  add(shard: number, index: number, line: string, at?: number): void {
    this.#post(at === undefined ? { op: 'add', shard, index, line } : { op: 'add', shard, index, line, at })
  }

  /** Seal a shard whose rows have all been added; `given` marks the rows given in this run. Resolves with whether it wrote anything. */
  seal(shard: number, given: Uint8Array): Promise<boolean> {
    return this.#ask({ op: 'seal', id: this.#nextId++, shard, given })
  }

  /** Drop a shard that will not be complete in this run (its staged samples stay). */
  abandon(shard: number): Promise<void> {
    return this.#ask({ op: 'abandon', id: this.#nextId++, shard }).then(() => {})
  }

  /** Let the thread finish what it was given (sealed shards' staged samples removed), then stop it. */
  async close(): Promise<void> {
    await this.#ask({ op: 'close', id: this.#nextId++ }).catch(() => {})
    this.#dead ??= new Error('the shard writer is closed')
    await this.#worker.terminate()
  }

  #ask(message: Extract<ToWriter, { id: number }>): Promise<boolean> {
    if (this.#dead) return Promise.reject(this.#dead)
    return new Promise((resolve, reject) => {
      this.#pending.set(message.id, { resolve, reject })
      this.#post(message)
    })
  }

  /**
   * Messages go to the thread together, once a turn of the event loop: a message a sample woke
   * the thread each time (62 µs of this thread's time a message in a CPU profile of a 20,000-row
   * table, on two busy cores). Their order is kept.
   */
  #post(message: ToWriter): void {
    if (this.#dead) return
    this.#batch.push(message)
    if (this.#batch.length === 1) setImmediate(() => this.#flush())
  }

  #flush(): void {
    const batch = this.#batch
    this.#batch = []
    if (!this.#dead && batch.length > 0) this.#worker.postMessage(batch)
  }
}
