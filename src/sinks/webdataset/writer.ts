import type { CarriedType } from '../../types.js'
import { shardService, warmUp } from './shard-service.js'

/** What the shard writer is started with. */
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

/** An error from the writer's answers as an `Error` again, with its code (`ENOSPC`...) for the run to judge. */
function revive(plain: PlainError): Error {
  const error = Object.assign(new Error(plain.message), plain) as Error & Record<string, unknown>
  for (const key of Object.keys(plain)) if (plain[key as keyof PlainError] === undefined) delete error[key]
  return error
}

/**
 * The shard writer: writes the shards (see `Shard`) on the engine's thread, as work apart from it,
 * handed over in messages, once a turn of the event loop (see `#post`), and handled in order, one
 * at a time: a shard's rows reach it after its opening, and shards are sealed one after the other.
 * A sample's bytes are appended to its tar as its row comes (page-cache writes, as the journal's),
 * and a shard's flushes to the disk run on libuv's pool, so neither holds transfers up.
 *
 * It was a thread of its own: a heap of its own, 20–23 MB of the peak RSS of a Parquet table into
 * shards (50,000 and 100,000 rows, 237 → 214 and 245 → 222 MB), and more CPU than the work itself
 * (each row's line copied to the thread and parsed there: 44.4 → 39.4 s user on 100,000 rows).
 */
export class ShardWriter {
  /** Takes a batch of messages (see `shardService`). */
  readonly #handle: (batch: ToWriter[]) => void
  readonly #pending = new Map<number, { resolve: (written: boolean) => void; reject: (e: Error) => void }>()
  #nextId = 0
  #dead: Error | undefined
  /** Messages waiting to be posted together (see `#post`). */
  #batch: ToWriter[] = []
  /** Told of a failure of a shard's file work outside `seal`/`abandon`. */
  onError: (error: Error) => void = () => {}

  constructor(data: WriterData) {
    this.#handle = shardService(data, (m) => this.#answer(m))
    // Compiles hyparquet-writer's code now, while transfers wait on the network, not at a seal.
    setImmediate(warmUp)
  }

  #answer(m: FromWriter): void {
    if (m.op === 'error') {
      this.onError(revive(m.error))
      return
    }
    const waiting = this.#pending.get(m.id)
    this.#pending.delete(m.id)
    if (m.error) waiting?.reject(revive(m.error))
    else waiting?.resolve(m.written ?? false)
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

  /** Let the writer finish what it was given (sealed shards' staged samples removed), then stop. */
  async close(): Promise<void> {
    await this.#ask({ op: 'close', id: this.#nextId++ }).catch(() => {})
    this.#dead ??= new Error('the shard writer is closed')
  }

  #ask(message: Extract<ToWriter, { id: number }>): Promise<boolean> {
    if (this.#dead) return Promise.reject(this.#dead)
    return new Promise((resolve, reject) => {
      this.#pending.set(message.id, { resolve, reject })
      this.#post(message)
    })
  }

  /**
   * Messages go to the writer together, once a turn of the event loop: its work for the samples
   * of a turn is done in one go, after the turn's transfers have had theirs. Their order is kept.
   */
  #post(message: ToWriter): void {
    if (this.#dead) return
    this.#batch.push(message)
    if (this.#batch.length === 1) setImmediate(() => this.#flush())
  }

  #flush(): void {
    const batch = this.#batch
    this.#batch = []
    if (!this.#dead && batch.length > 0) this.#handle(batch)
  }
}
