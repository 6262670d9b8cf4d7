import { createHash } from 'node:crypto'
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { type Layout, SHARD_FILES, type ShardFile } from '../../layout.js'
import { memberName, shardStem } from './keys.js'
import { shardParquet } from './parquet.js'
import { type SampleRow, sampleJson } from './row.js'
import { shardStats } from './stats.js'
import { TarReader, TarWriter } from './tar.js'

/** What the open shards of a run share. */
export interface ShardContext {
  readonly paths: Layout
  readonly shardSize: number
  /**
   * Rows waiting in memory for their turn in a tar being written, over all shards. Past `max`, a
   * row waits in its shard's rows file only (read back when its turn comes): a slow row holds its
   * shard's tar back, and memory must not grow with the rows that finish behind it.
   */
  readonly window: { used: number; readonly max: number }
}

/** The work files of one shard, in `OUT/.imgpull/shards/`. */
export function shardWork(paths: Layout, stem: string) {
  return {
    /** Its downloaded samples, `KEY.ext`, until the shard is sealed. */
    staging: join(paths.shards, stem),
    /** This run's rows of it, one JSON line each, in the order they finished. */
    rows: join(paths.shards, `${stem}.rows`),
    /** What the sealed shard holds: `{ signature }` of its rows. */
    seal: join(paths.shards, `${stem}.seal.json`),
    /** An output being written, before it takes its name in the output folder. */
    tmp: (kind: ShardFile) => join(paths.shards, `${stem}${SHARD_FILES[kind]}.tmp`),
  }
}

const READ = 1
const SETTLED = 2

/** A file's contents made durable under a temporary name (the caller renames it into place). */
async function writeDurably(path: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(path, 'w')
  try {
    await handle.writeFile(data)
    await handle.sync()
  } finally {
    await handle.close()
  }
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  )

/**
 * One shard while a run has rows of it: which rows it was given and which have their outcome, its
 * samples staged on disk, its tar written as rows finish in order, and its sealing. Memory per
 * shard: a byte and 12 bytes of offsets per possible row, and a share of the global window; the
 * rows themselves wait in the shard's rows file, read whole (one shard's worth) only to seal.
 *
 * A shard is sealed when every row it was given has an outcome and no more can come (it is full,
 * or the source has ended): its tar, Parquet and stats are written under temporary names, made
 * durable, renamed into the output folder (the tar first: a tar in the folder is the mark of a
 * sealed shard), its seal record written, and its staged samples removed. A journal `ok` for a
 * sample therefore always means: staged, or in the shard's tar. A shard sealed by an earlier run is
 * sealed again only if its rows differ from what its seal record says (a failure retried and now
 * fetched, a row with a new error): its samples come from the old tar, the new ones from staging.
 */
export class Shard {
  readonly stem: string
  readonly work: ReturnType<typeof shardWork>
  /** The tar in the output folder. */
  readonly tarPath: string
  readonly startedAt = Date.now()
  /** Per row: READ (given in this run) and SETTLED (has its outcome). */
  readonly #flags: Uint8Array
  #read = 0
  #settled = 0
  /** No more rows will come: seal once every row given is settled. */
  #complete = false
  #sealing: Promise<void> | undefined

  /** The rows file, with where each row's line is in it. */
  readonly #rows: FileHandle
  readonly #offsets: Float64Array
  readonly #lengths: Uint32Array
  #rowsSize = 0
  #pendingLines: string[] = []
  #rowsWritten: Promise<void> = Promise.resolve()
  #flushQueued = false
  /** XOR of the sha256 of every row's line: the same rows in any order give the same signature. */
  readonly #signature = Buffer.alloc(32)

  /** The tar being written in row order (shards not sealed before), and the next row it needs. */
  readonly #tar: TarWriter | undefined
  #next = 0
  readonly #window = new Map<number, SampleRow>()
  #pumping: Promise<void> | undefined
  #pumpAgain = false
  #failure: unknown

  private constructor(
    readonly number: number,
    readonly ctx: ShardContext,
    /** The signature in the seal record of a shard sealed before (its tar is in the folder); `null`: no record. */
    readonly sealed: string | null | undefined,
    /** Samples staged by earlier runs (names), read once when the shard opens. */
    readonly stagedBefore: ReadonlySet<string>,
    rows: FileHandle,
    tar: TarWriter | undefined,
    readonly onError: (error: unknown) => void,
  ) {
    this.stem = shardStem(number)
    this.work = shardWork(ctx.paths, this.stem)
    this.tarPath = ctx.paths.shard(this.stem, 'tar')
    this.#flags = new Uint8Array(ctx.shardSize)
    this.#offsets = new Float64Array(ctx.shardSize)
    this.#lengths = new Uint32Array(ctx.shardSize)
    this.#rows = rows
    this.#tar = tar
  }

  /** Open shard `number` for this run: see what earlier runs left of it, start its work files. */
  static async open(number: number, ctx: ShardContext, onError: (error: unknown) => void): Promise<Shard> {
    const stem = shardStem(number)
    const work = shardWork(ctx.paths, stem)
    const sealed = (await exists(ctx.paths.shard(stem, 'tar')))
      ? await readFile(work.seal, 'utf8').then(
          (text) => String(JSON.parse(text).signature),
          () => null,
        )
      : undefined
    const staged = new Set(await readdir(work.staging).catch(() => [] as string[]))
    await mkdir(work.staging, { recursive: true })
    const rows = await open(work.rows, 'w')
    let tar: TarWriter | undefined
    try {
      tar = sealed === undefined ? await TarWriter.create(work.tmp('tar')) : undefined
    } catch (error) {
      await rows.close()
      throw error
    }
    return new Shard(number, ctx, sealed, staged, rows, tar, onError)
  }

  /** Whether the sample `member`, `ok` in the journal, is still here: staged, or in the sealed tar. */
  has(member: string): boolean {
    return this.sealed !== undefined || this.stagedBefore.has(member)
  }

  /** Where a sample of this shard is staged. */
  stagedPath(member: string): string {
    return join(this.work.staging, member)
  }

  /** Row `index` is given in this run; false if it was given already. */
  read(index: number): boolean {
    if (this.#flags[index] & READ) return false
    this.#flags[index] |= READ
    this.#read++
    return true
  }

  /** Row `index` has its outcome. True when this makes the shard ready to seal (see `complete`). */
  settle(row: SampleRow): boolean {
    const i = row.index
    if (!(this.#flags[i] & READ) || this.#flags[i] & SETTLED) return false
    this.#flags[i] |= SETTLED
    this.#settled++
    const line = JSON.stringify(row)
    this.#keepLine(i, line)
    const digest = createHash('sha256').update(line).digest()
    for (let b = 0; b < 32; b++) this.#signature[b] ^= digest[b]
    if (this.#tar) {
      const { window } = this.ctx
      if (i === this.#next || window.used < window.max) {
        this.#window.set(i, row)
        window.used++
      }
      this.#pump()
    }
    if (this.#read === this.ctx.shardSize) this.#complete = true
    return this.ready
  }

  /** No more rows will come (the source ended). True when the shard is ready to seal. */
  complete(): boolean {
    this.#complete = true
    return this.ready
  }

  /** Complete, every row given settled, and not sealing yet. */
  get ready(): boolean {
    return this.#complete && this.#settled === this.#read && this.#sealing === undefined
  }

  /** Seal the shard (once it is ready); the same promise every time. */
  seal(): Promise<void> {
    this.#sealing ??= this.#seal()
    return this.#sealing
  }

  /** The run stops before the shard is complete: drop its work files but the staged samples. */
  async abandon(): Promise<void> {
    await this.#tar?.discard()
    await this.#rowsWritten.catch(() => {})
    await this.#rows.close().catch(() => {})
    await rm(this.work.tmp('tar'), { force: true })
    await rm(this.work.rows, { force: true })
    this.#releaseWindow()
  }

  #releaseWindow(): void {
    this.ctx.window.used -= this.#window.size
    this.#window.clear()
  }

  /** Queue a row's line for the rows file; lines finished in one turn of the event loop go in one write. */
  #keepLine(index: number, line: string): void {
    const length = Buffer.byteLength(line)
    this.#offsets[index] = this.#rowsSize
    this.#lengths[index] = length
    this.#rowsSize += length + 1
    this.#pendingLines.push(line)
    if (this.#flushQueued) return
    this.#flushQueued = true
    setImmediate(() => this.#flushLines())
  }

  #flushLines(): Promise<void> {
    this.#flushQueued = false
    if (this.#pendingLines.length === 0) return this.#rowsWritten
    const text = `${this.#pendingLines.join('\n')}\n`
    this.#pendingLines = []
    this.#rowsWritten = this.#rowsWritten.then(async () => {
      await this.#rows.write(text, null, 'utf8')
    })
    this.#rowsWritten.catch((error) => this.#fail(error))
    return this.#rowsWritten
  }

  /** Row `index` from the rows file. */
  async #readBack(index: number): Promise<SampleRow> {
    await this.#flushLines()
    const buffer = Buffer.alloc(this.#lengths[index])
    await this.#rows.read(buffer, 0, buffer.length, this.#offsets[index])
    return JSON.parse(buffer.toString('utf8')) as SampleRow
  }

  /** Every row of this run, in sample order (one shard's worth). */
  async #allRows(): Promise<SampleRow[]> {
    await this.#flushLines()
    const text = await readFile(this.work.rows, 'utf8')
    const byIndex: (SampleRow | undefined)[] = new Array(this.ctx.shardSize)
    for (const line of text.split('\n')) {
      if (line === '') continue
      const row = JSON.parse(line) as SampleRow
      byIndex[row.index] = row
    }
    return byIndex.filter((row): row is SampleRow => row !== undefined)
  }

  /** Write the rows that are next in order into the tar, as far as they go. */
  #pump(): void {
    if (!this.#tar) return
    if (this.#pumping) {
      this.#pumpAgain = true
      return
    }
    this.#pumping = (async () => {
      do {
        this.#pumpAgain = false
        await this.#appendReady()
      } while (this.#pumpAgain)
    })()
      .catch((error) => this.#fail(error))
      .finally(() => {
        this.#pumping = undefined
        if (this.#pumpAgain && this.#failure === undefined) this.#pump()
      })
  }

  async #appendReady(): Promise<void> {
    const tar = this.#tar!
    while (this.#next < this.ctx.shardSize && this.#failure === undefined) {
      const i = this.#next
      const flags = this.#flags[i]
      if (flags & SETTLED) {
        let row = this.#window.get(i)
        if (row) {
          this.#window.delete(i)
          this.ctx.window.used--
        } else row = await this.#readBack(i)
        await this.#append(row, tar)
      } else if (!(this.#complete && !(flags & READ))) return // its outcome is still to come
      this.#next++
    }
  }

  /** A row's files in the tar: the image (staged, or from the old tar), `KEY.json`, `KEY.txt`. */
  async #append(row: SampleRow, tar: TarWriter, old?: () => TarReader): Promise<void> {
    if (!row.ext) return // a failed row has no files
    const key = row.columns.key as string
    const member = memberName(key, row.ext)
    try {
      await tar.addFile(member, this.stagedPath(member), row.bytes)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !old) throw error
      const entry = await old().find(member)
      if (!entry || (row.bytes !== undefined && entry.header.size !== row.bytes))
        throw new Error(
          `sample ${member} is neither staged nor in ${this.stem}.tar: remove ${this.stem}.tar and run again to fetch its samples anew`,
        )
      await tar.addStream(member, entry.header.size, entry)
    }
    await tar.add(`${key}.json`, Buffer.from(sampleJson(row)))
    const caption = row.columns.caption
    if (typeof caption === 'string') await tar.add(`${key}.txt`, Buffer.from(caption))
  }

  #fail(error: unknown): void {
    if (this.#failure !== undefined) return
    this.#failure = error
    this.onError(error)
  }

  async #seal(): Promise<void> {
    // The tar being written takes the rows the source never gave as done, to its end.
    this.#pump()
    while (this.#pumping) await this.#pumping
    if (this.#failure !== undefined) throw this.#failure
    const rows = await this.#allRows()
    await this.#rows.close()
    const signature = this.#signature.toString('hex')
    const outputs = ['tar', 'parquet', 'stats'] as const
    if (this.sealed === signature) {
      const whole = await Promise.all(outputs.map((kind) => exists(this.ctx.paths.shard(this.stem, kind))))
      if (whole.every(Boolean)) {
        // Sealed before with these very rows: untouched. Samples staged again meanwhile go.
        await this.#cleanUp()
        return
      }
    }
    if (this.#tar) await this.#tar.finish()
    else await this.#rebuildTar(rows)
    await writeDurably(this.work.tmp('parquet'), shardParquet(rows))
    const stats = shardStats(rows, this.startedAt, Date.now())
    await writeDurably(this.work.tmp('stats'), `${JSON.stringify(stats, null, 2)}\n`)
    // The tar first: a tar in the folder means the shard is sealed (see the class comment).
    for (const kind of outputs) await rename(this.work.tmp(kind), this.ctx.paths.shard(this.stem, kind))
    await writeDurably(`${this.work.seal}.tmp`, `${JSON.stringify({ signature })}\n`)
    await rename(`${this.work.seal}.tmp`, this.work.seal)
    await this.#cleanUp()
  }

  /** A shard sealed before, sealed again: every sample written anew, from staging or the old tar. */
  async #rebuildTar(rows: readonly SampleRow[]): Promise<void> {
    const tar = await TarWriter.create(this.work.tmp('tar'))
    let old: TarReader | undefined
    try {
      for (const row of rows) await this.#append(row, tar, () => (old ??= new TarReader(this.tarPath)))
      await tar.finish()
    } catch (error) {
      await tar.discard()
      throw error
    } finally {
      await old?.close()
    }
  }

  async #cleanUp(): Promise<void> {
    this.#releaseWindow()
    await rm(this.work.staging, { recursive: true, force: true })
    await rm(this.work.rows, { force: true })
  }
}
