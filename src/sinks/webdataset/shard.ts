import { createHash } from 'node:crypto'
import {
  closeSync,
  constants,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'
import { type Layout, SHARD_FILES, type ShardFile } from '../../layout.js'
import type { CarriedType } from '../../types.js'
import { NO_FOLLOW, openOwnSync } from '../../utils/own-file.js'
import { renameIntoSync } from '../../utils/rename-into.js'
import { steadyNow } from '../../utils/steady-clock.js'
import { memberName, shardStem } from './keys.js'
import { ShardTable } from './parquet.js'
import { type SampleRow, sampleJson } from './row.js'
import { StatsTally } from './stats.js'
import { flushToDisk, TarFile, TarScan } from './tar.js'

/** The work files of one shard, in `OUT/.imgpull/shards/`. */
export function shardWork(paths: Layout, stem: string) {
  return {
    /** Its downloaded samples, `KEY.ext`, until the shard is sealed. */
    staging: join(paths.shards, stem),
    /** Its samples that came whole in memory, one after the other (see spool.ts). */
    spool: join(paths.shards, `${stem}.spool`),
    /** This run's rows of it, one JSON line each, in the order they finished. */
    rows: join(paths.shards, `${stem}.rows`),
    /** What the sealed shard holds: `{ signature }` of its rows. */
    seal: join(paths.shards, `${stem}.seal.json`),
    /** An output being written, before it takes its name in the output folder. */
    tmp: (kind: ShardFile) => join(paths.shards, `${stem}${SHARD_FILES[kind]}.tmp`),
  }
}

/** What the shards of a run share, in the shard writer. */
export interface ShardContext {
  readonly paths: Layout
  readonly shardSize: number
  /**
   * Rows waiting in memory for their turn in a tar being written, over all shards. Past `max`, a
   * row waits in its shard's rows file only and is read back when its turn comes: a slow row holds
   * its shard's tar back, and memory must not grow with the rows that finish behind it.
   */
  readonly window: { used: number; readonly max: number }
  /** The carried columns' types, the same in every shard (see `Source.columnTypes`). */
  readonly columnTypes?: Readonly<Record<string, CarriedType>>
  /** The carried columns every shard's Parquet has, and no other (see `Source.parquetColumns`). */
  readonly parquetColumns?: readonly string[]
}

/** Rows' lines gathered before one write to the rows file. */
const LINES_BYTES = 64 * 1024

/** Write `data` to `path` and flush it to the disk (the caller renames it into place). */
async function writeDurably(path: string, data: Uint8Array | string): Promise<void> {
  const fd = openOwnSync(path, constants.O_WRONLY | constants.O_TRUNC)
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done)
    await flushToDisk(fd)
  } finally {
    closeSync(fd)
  }
}

/**
 * One shard, in the shard writer (writer.ts), while a run has rows of it: its rows file, its tar
 * written in row order as rows finish, and its sealing. Synchronous calls but for the flushes to
 * the disk (libuv's pool, see `flushToDisk`): a plain call is far cheaper than a promise per entry,
 * and the appends are page-cache writes; only a flush can take long. Memory: 12 bytes of
 * offsets per row of the shard size, and a share of the global window; the rows themselves are
 * in the rows file, read whole (one shard's worth) only to seal.
 *
 * Sealing writes the tar, Parquet and stats under temporary names, flushes them to the disk,
 * renames them into the output folder (the tar first: a tar in the folder is the mark of a sealed
 * shard), writes the seal record, and removes the staged samples. A journal `ok` for a sample so
 * always means: staged, or in its shard's tar. A shard sealed by an earlier run is sealed again
 * only if its rows differ from its seal record's (a failure retried and now fetched, a row with a
 * new error); its samples then come from the old tar, and the new ones from staging.
 */
export class Shard {
  readonly stem: string
  readonly work: ReturnType<typeof shardWork>
  readonly tarPath: string

  readonly #rowsFd: number
  readonly #offsets: Float64Array
  readonly #lengths: Uint32Array
  /** Per row, where its sample's bytes begin in the spool (-1: not there: staged as a file). */
  readonly #spoolAt: Float64Array
  #spoolFd: number | undefined
  #rowsSize = 0
  #rowsWritten = 0
  #pending: string[] = []
  #pendingBytes = 0

  /** The tar being written in row order (a shard not sealed before), and the next row it needs. */
  readonly #tar: TarFile | undefined
  #next = 0
  readonly #window = new Map<number, SampleRow>()
  /** Rows that will never come (not given in this run), once the shard is complete. */
  #given: Uint8Array | undefined

  /**
   * Open shard `number` for this run. `sealed`: the signature in the seal record of a shard sealed
   * before (its tar is in the folder), `null` when it has no record; `undefined`: not sealed.
   * `startedAt`: when the run began on it (ms since the epoch), for its stats.
   */
  constructor(
    readonly number: number,
    readonly ctx: ShardContext,
    readonly sealed: string | null | undefined,
    readonly startedAt = steadyNow(),
  ) {
    this.stem = shardStem(number)
    this.work = shardWork(ctx.paths, this.stem)
    this.tarPath = ctx.paths.shard(this.stem, 'tar')
    this.#offsets = new Float64Array(ctx.shardSize)
    this.#lengths = new Uint32Array(ctx.shardSize)
    this.#spoolAt = new Float64Array(ctx.shardSize).fill(-1)
    // Read and write: rows past the window are read back when their turn in the tar comes.
    this.#rowsFd = openOwnSync(this.work.rows, constants.O_RDWR | constants.O_TRUNC)
    try {
      this.#tar = sealed === undefined ? TarFile.create(this.work.tmp('tar')) : undefined
    } catch (error) {
      closeSync(this.#rowsFd)
      throw error
    }
  }

  /** Row `index` has its outcome: `line` is its `SampleRow` as JSON; `at`: see `ShardWriter.add`. */
  add(index: number, line: string, at?: number): void {
    if (at !== undefined) this.#spoolAt[index] = at
    this.#keepLine(index, line)
    if (!this.#tar) return
    const { window } = this.ctx
    if (index === this.#next || window.used < window.max) {
      this.#window.set(index, JSON.parse(line) as SampleRow)
      window.used++
    }
    this.#appendReady()
  }

  /**
   * Seal the shard: `given` marks (non-zero) the rows given in this run, every one of which has
   * been added. Resolves with whether the outputs were written (`false`: sealed before with these very
   * rows, left untouched). Then `cleanUp()` removes what is no longer needed.
   */
  async seal(given: Uint8Array): Promise<boolean> {
    this.#given = given
    this.#appendReady()
    if (this.#tar && this.#next < this.ctx.shardSize)
      throw new Error(`shard ${this.stem}: row ${this.#next} was given but has no outcome`)
    this.#flushLines()
    closeSync(this.#rowsFd)
    // One shard's rows, read whole; each row is parsed where it is used and let go.
    const lines = readFileSync(this.work.rows)
    const signature = this.#signatureOf(lines)
    const outputs = ['tar', 'parquet', 'stats'] as const
    if (
      this.sealed === signature &&
      outputs.every((kind) => existsSync(this.ctx.paths.shard(this.stem, kind)))
    )
      return false // samples staged again meanwhile (a run without a journal) go with `cleanUp`
    // The tar's flush to the disk (a shard of real images: some 0.4–0.6 s for 550 MB) runs on the
    // pool while the Parquet and stats are built and written, not before them: the last shard's
    // sealing is on the run's critical path.
    const { durable } = this.#tar ? await this.#tar.end() : await this.#rebuildTar(lines)
    const others = (async () => {
      const table = new ShardTable(this.ctx.columnTypes, this.ctx.parquetColumns)
      const tally = new StatsTally()
      for (const [, row] of this.#inOrder(lines)) {
        table.add(row)
        tally.add(row)
      }
      await writeDurably(this.work.tmp('parquet'), table.parquet())
      const stats = tally.stats(this.startedAt, steadyNow())
      await writeDurably(this.work.tmp('stats'), `${JSON.stringify(stats, null, 2)}\n`)
    })()
    // The tar's failure first, as when it was flushed first; both settled before anything is renamed.
    const [tar, rest] = await Promise.allSettled([durable, others])
    if (tar.status === 'rejected') throw tar.reason
    if (rest.status === 'rejected') throw rest.reason
    // The record of the rows sealed before goes first: cut between the renames and the new record,
    // the outputs hold these rows under the old record, and a rerun whose rows are the old ones
    // again (the table edited back) would take them for sealed so and leave them. Without a record
    // the shard is sealed again from its tar.
    rmSync(this.work.seal, { force: true })
    // The tar first: a tar in the folder means the shard is sealed (see the class comment).
    // Copied, flushed, then renamed where `.imgpull/` is on another disk than the folder.
    for (const kind of outputs)
      renameIntoSync(this.work.tmp(kind), this.ctx.paths.shard(this.stem, kind), true)
    await writeDurably(`${this.work.seal}.tmp`, `${JSON.stringify({ signature })}\n`)
    renameSync(`${this.work.seal}.tmp`, this.work.seal)
    return true
  }

  /**
   * After `seal` (and its answer): the staged samples and the rows file go, a plain unlink each
   * (a sealed shard has every sample in its tar already).
   */
  cleanUp(): void {
    this.#releaseWindow()
    this.#closeSpool()
    rmSync(this.work.spool, { force: true })
    let names: string[] = []
    try {
      names = readdirSync(this.work.staging)
    } catch {}
    // One unlink a sample: rmSync would stat each twice first.
    for (const name of names) {
      try {
        unlinkSync(join(this.work.staging, name))
      } catch {}
    }
    rmSync(this.work.staging, { recursive: true, force: true })
    rmSync(this.work.rows, { force: true })
  }

  /** The run stops before the shard is complete: its work files go, its staged samples stay. */
  abandon(): void {
    this.#closeSpool()
    this.#tar?.discard()
    closeSync(this.#rowsFd)
    rmSync(this.work.tmp('tar'), { force: true })
    rmSync(this.work.rows, { force: true })
    this.#releaseWindow()
  }

  #closeSpool(): void {
    if (this.#spoolFd !== undefined) closeSync(this.#spoolFd)
    this.#spoolFd = undefined
  }

  #releaseWindow(): void {
    this.ctx.window.used -= this.#window.size
    this.#window.clear()
  }

  #keepLine(index: number, line: string): void {
    const length = Buffer.byteLength(line)
    this.#offsets[index] = this.#rowsSize
    this.#lengths[index] = length
    this.#rowsSize += length + 1
    this.#pending.push(line)
    this.#pendingBytes += length + 1
    if (this.#pendingBytes >= LINES_BYTES) this.#flushLines()
  }

  #flushLines(): void {
    if (this.#pending.length === 0) return
    const bytes = Buffer.from(`${this.#pending.join('\n')}\n`)
    for (let done = 0; done < bytes.length; )
      done += writeSync(this.#rowsFd, bytes, done, bytes.length - done, this.#rowsWritten + done)
    this.#rowsWritten += bytes.length
    this.#pending = []
    this.#pendingBytes = 0
  }

  /** Row `index` from the rows file. */
  #readBack(index: number): SampleRow {
    this.#flushLines()
    const buffer = Buffer.alloc(this.#lengths[index])
    readSync(this.#rowsFd, buffer, 0, buffer.length, this.#offsets[index])
    return JSON.parse(buffer.toString('utf8')) as SampleRow
  }

  /** The sha256 of the rows' lines in sample order: what the seal record keeps of a shard. */
  #signatureOf(lines: Buffer): string {
    const hash = createHash('sha256')
    for (let i = 0; i < this.ctx.shardSize; i++) {
      if (this.#lengths[i] === 0) continue
      const at = this.#offsets[i]
      hash.update(lines.subarray(at, at + this.#lengths[i] + 1)) // with its newline
    }
    return hash.digest('hex')
  }

  /** The rows of this run in sample order, each with its index, parsed one by one from the rows file's bytes. */
  *#inOrder(lines: Buffer): Generator<[number, SampleRow]> {
    for (let i = 0; i < this.ctx.shardSize; i++) {
      if (this.#lengths[i] === 0) continue
      const at = this.#offsets[i]
      yield [i, JSON.parse(lines.toString('utf8', at, at + this.#lengths[i])) as SampleRow]
    }
  }

  /** Write the rows that are next in order into the tar, as far as they go. */
  #appendReady(): void {
    const tar = this.#tar
    if (!tar) return
    while (this.#next < this.ctx.shardSize) {
      const i = this.#next
      if (this.#lengths[i] > 0) {
        let row = this.#window.get(i)
        if (row) {
          this.#window.delete(i)
          this.ctx.window.used--
        } else row = this.#readBack(i)
        this.#append(i, row, tar)
      } else if (!this.#given || this.#given[i]) return // its outcome is still to come
      this.#next++
    }
  }

  /**
   * Row `index`'s files in the tar: the image (from the spool, staged, or from the old tar),
   * `KEY.json`, `KEY.txt`.
   */
  #append(index: number, row: SampleRow, tar: TarFile, old?: () => TarScan): void {
    if (!row.ext) return // a failed row has no files
    const key = row.columns.key as string
    const member = memberName(key, row.ext)
    const staged = join(this.work.staging, member)
    const spooled = this.#spoolAt[index]
    if (spooled >= 0 && row.bytes !== undefined) {
      this.#spoolFd ??= openSync(this.work.spool, constants.O_RDONLY | NO_FOLLOW)
      tar.addRange(member, this.#spoolFd, spooled, row.bytes)
    } else if (!old || existsSync(staged)) tar.addFile(member, staged, row.bytes)
    else {
      const scan = old()
      const entry = scan.find(member)
      // Its size and its sha256 (when known) both: a sample is copied only if it is the image the
      // row describes, not one a run without the journal left in the tar.
      const sha256 = row.columns.sha256
      if (
        !entry ||
        (row.bytes !== undefined && entry.size !== row.bytes) ||
        (typeof sha256 === 'string' && scan.sha256(entry) !== sha256)
      )
        throw new Error(
          `sample ${member} is neither staged nor in ${this.stem}.tar as its row describes it: remove ${this.stem}.tar and run again to fetch its samples anew`,
        )
      tar.addRange(member, scan.fd, entry.offset, entry.size)
    }
    tar.add(`${key}.json`, sampleJson(row))
    const caption = row.columns.caption
    if (typeof caption === 'string') tar.add(`${key}.txt`, caption)
    else if (row.blankCaption) tar.add(`${key}.txt`, '')
  }

  /**
   * A shard sealed before, sealed again: every sample written anew, from staging or the old tar.
   * Resolves as `TarFile.end` does: written, its flush to the disk begun.
   */
  async #rebuildTar(lines: Buffer): Promise<{ durable: Promise<void> }> {
    const tar = TarFile.create(this.work.tmp('tar'))
    let old: TarScan | undefined
    try {
      for (const [index, row] of this.#inOrder(lines))
        this.#append(index, row, tar, () => (old ??= new TarScan(this.tarPath)))
      return await tar.end()
    } catch (error) {
      tar.discard()
      throw error
    } finally {
      old?.close()
    }
  }
}
