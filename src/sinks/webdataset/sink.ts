import { readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { UsageError } from '../../errors.js'
import type { JobRecord, Journal } from '../../journal/journal.js'
import type { Layout } from '../../layout.js'
import { outcomeOf } from '../../outcome.js'
import { plural } from '../../report/format.js'
import { rowKey } from '../../sources/tables/jobs.js'
import { isIntegerPastInt64 } from '../../sources/tables/values.js'
import type { CarriedType, Job, Result } from '../../types.js'
import { visibleShellWord } from '../../utils/command-line.js'
import { makeFolders } from '../../utils/folders.js'
import { shownValue } from '../../utils/shown-value.js'
import { steadyNow } from '../../utils/steady-clock.js'
import { holds } from '../files.js'
import { fitted } from './fitted.js'
import { memberName, parseSamplePath, samplePath, samplePlace, shardStem } from './keys.js'
import { foldedName, ownButForCase, sampleRow } from './row.js'
import { shardWork } from './shard.js'
import { Spool } from './spool.js'
import { ShardWriter } from './writer.js'

/**
 * What a sealed shard's record (`NNNNN.seal.json`) says it holds, or `null` when it says nothing:
 * missing (a crash between the tar's rename and the record's) or unreadable (damaged on disk, or by
 * hand). Either way the shard is sealed again from its tar, as one whose rows changed: nothing is
 * fetched, and the record is written anew.
 */
async function readSignature(path: string): Promise<string | null> {
  try {
    const { signature } = JSON.parse(await readFile(path, 'utf8')) as { signature?: unknown }
    return typeof signature === 'string' ? signature : null
  } catch {
    return null
  }
}

/** A shard's tar by name (`00000.tar`; more digits past 99,999 shards). */
const SHARD_TAR = /^\d{5,}\.tar$/

/** Rows held in memory for tars being written, over all shards; the rest wait on disk. */
const WINDOW_ROWS = 4096

/**
 * Shards in progress at once, at most, while one of them is complete (every row given) and only
 * waits for its outcomes. Each holds four files open (its spool; its rows file, tar and spool
 * read by the shard writer): a slow or rate-limited host with a row in every shard kept the
 * whole read-ahead's shards open (2,000 shards of 10 rows: 8,000 descriptors), and the run died
 * on EMFILE where `ulimit -n` is 1,024 (most shells), the same again on every rerun. 128 shards
 * take some 512 descriptors beside the run's 128 sockets, and as many shards of one row as transfers.
 */
export const MAX_OPEN_SHARDS = 128

const GIVEN = 1
const SETTLED = 2

/** What the engine's thread knows of an open shard: which rows it was given and which are settled. */
interface OpenShard {
  readonly number: number
  /** Per row: GIVEN in this run, SETTLED (has its outcome). */
  readonly flags: Uint8Array
  given: number
  settled: number
  /** No more rows will come (it is full, or the source ended). */
  complete: boolean
  /** Its tar was in the folder when the shard opened (sealed by an earlier run). */
  readonly sealed: boolean
  /** Samples staged by earlier runs as files: name → size, read when the shard opened. */
  readonly stagedBefore: Map<string, number>
  /** Where its samples are staged (`shardWork().staging`), kept: `stage` needs it for every sample. */
  readonly staging: string
  /** Its samples that came whole in memory (see `stageBytes`). */
  readonly spool: Spool
  /** What the writer is told when the shard's first row comes (see `Shard`). */
  readonly signature: string | null | undefined
  readonly startedAt: number
  /** The writer has it (its first row came). */
  started: boolean
  /** Handed to the writer to seal or to drop. */
  closing: boolean
}

/**
 * The WebDataset output on the engine's side. Every job is the sample at its input position
 * (`job.row`, else its place in the source), in shard `row / shardSize`. The engine calls, in
 * order: `admit` for each job read (before planning it), `kept` when the planner asks whether an
 * earlier `ok` is still there, `stage` to put a verified file in place, `settle` with every
 * result, `close` at the end. The file work is the shard writer's (writer.ts), handed over in
 * batches on this thread; this side keeps, per open shard, a byte per row of the shard size and the names of the
 * samples earlier runs staged.
 *
 * A worker of a shared queue runs the rows of one shard and closes with `completed`: that shard
 * is sealed whole (its tar, Parquet and stats each renamed into place) or not at all.
 */
export class WebDatasetSink {
  readonly #paths: Layout
  readonly #shardSize: number
  readonly #journal: Journal
  readonly #columnTypes: Readonly<Record<string, CarriedType>> | undefined
  readonly #parquetColumns: ReadonlySet<string> | undefined
  #writer: ShardWriter | undefined
  readonly #shards = new Map<number, OpenShard>()
  readonly #closing = new Set<Promise<void>>()
  /** Rows in the input, as far as read: one past the highest row admitted. */
  #rows = 0
  /** Columns a value of which did not fit its declared type (see `#checkTypes`): said once each. */
  readonly #misfits = new Set<string>()
  /**
   * The carried columns' names folded as readers that ignore case fold them (`foldedName`), each
   * to the name the shards' Parquet has: the declared columns' first, in their order (see `#checkTwins`).
   */
  #folded: Map<string, string> | undefined
  #error: unknown
  /** Told of a failure while writing shards (a full disk): the run stops. */
  onError: (error: unknown) => void = () => {}
  /** Told when a shard is sealed or dropped: a reader waiting for room (see `mustWait`) may go on. */
  onClosed: () => void = () => {}

  private constructor(
    paths: Layout,
    shardSize: number,
    journal: Journal,
    columnTypes: Readonly<Record<string, CarriedType>> | undefined,
    parquetColumns: readonly string[] | undefined,
  ) {
    this.#paths = paths
    this.#shardSize = shardSize
    this.#journal = journal
    this.#columnTypes = columnTypes
    this.#parquetColumns = parquetColumns && new Set(parquetColumns)
  }

  /**
   * The shard writer, started with the first result rather than with the run: its Parquet
   * warm-up then overlaps the first transfers instead of delaying the first request.
   */
  get #shardWriter(): ShardWriter {
    if (!this.#writer) {
      this.#writer = new ShardWriter({
        out: this.#paths.out,
        shardSize: this.#shardSize,
        windowRows: WINDOW_ROWS,
        ...(this.#columnTypes ? { columnTypes: this.#columnTypes } : {}),
        ...(this.#parquetColumns ? { parquetColumns: [...this.#parquetColumns] } : {}),
      })
      this.#writer.onError = (error) => this.#fail(error)
    }
    return this.#writer
  }

  /**
   * Start the output in `paths.out`: the work folder made, what a run that was cut left being
   * written removed (tars and rows files are made again; staged samples are kept). `columnTypes`
   * and `parquetColumns`: the source's (`Source.columnTypes`, `Source.parquetColumns`), for every
   * shard's Parquet.
   */
  static async open(
    paths: Layout,
    shardSize: number,
    journal: Journal,
    columnTypes?: Readonly<Record<string, CarriedType>>,
    parquetColumns?: readonly string[],
  ): Promise<WebDatasetSink> {
    await makeFolders(paths.shards)
    for (const name of await readdir(paths.shards)) {
      if (name.endsWith('.tmp') || name.endsWith('.rows')) await rm(join(paths.shards, name), { force: true })
    }
    return new WebDatasetSink(paths, shardSize, journal, columnTypes, parquetColumns)
  }

  /**
   * Whether the job at `position` (see `admit`) must wait before it is admitted: its shard is not
   * open, `MAX_OPEN_SHARDS` are, and one of them is complete, so it will be sealed without more
   * rows (`onClosed` says when). Without a complete one (a source whose rows come out of order)
   * nothing waits: waiting could not end.
   */
  mustWait(job: Job, position: number): boolean {
    if (this.#shards.size < MAX_OPEN_SHARDS) return false
    const row = job.row ?? position
    if (!Number.isSafeInteger(row) || row < 0) return false // admit says why
    if (this.#shards.has(samplePlace(row, this.#shardSize).shard)) return false
    for (const open of this.#shards.values()) if (open.complete) return true
    return false
  }

  /**
   * A job read from the source, as a sample: `row` set (its position, from 0, unless the source
   * set it) and `key` (`row:N`, unless the source set one). Opens the row's shard when it is the
   * first of it. A row that is not one, or given twice in one run, is a `UsageError` naming the item
   * (a source's fault, as an item that is not a job is: the items before it are done, then the run
   * ends with it, its `code` `usage`; a `TypeError` had no code to tell it by).
   */
  async admit(job: Job, position: number): Promise<Job> {
    const row = job.row ?? position
    if (!Number.isSafeInteger(row) || row < 0)
      throw new UsageError(
        `item ${position + 1} of the source has the row ${shownValue(row)}: a job's \`row\` is an integer >= 0`,
      )
    const { shard, index, key: sample } = samplePlace(row, this.#shardSize)
    const open = this.#shards.get(shard) ?? (await this.#open(shard))
    if (open.flags[index] & GIVEN || open.closing)
      throw new UsageError(
        `the source gave row ${row} twice, the second time as item ${position + 1}: a row is one sample`,
      )
    open.flags[index] = GIVEN
    if (row >= this.#rows) this.#rows = row + 1
    if (++open.given === this.#shardSize) open.complete = true
    if (this.#columnTypes && job.meta) this.#checkTypes(row, sample, job.meta, this.#columnTypes)
    if (this.#parquetColumns && job.meta) this.#checkColumns(row, sample, job.meta, this.#parquetColumns)
    if (job.meta) this.#checkTwins(row, sample, job.meta)
    const key = job.key ?? rowKey(row)
    return job.row === row && job.key === key ? job : { ...job, row, key }
  }

  /**
   * Warn (once a column) of a value its column's declared type cannot hold: a JSON lines row past
   * the lines the types were read from, with a fraction where they held whole numbers, text
   * where they held numbers, or an integer past INT64's range (a uint64 hash) where they held
   * smaller ones, said as that integer (its digits are how it is carried, not what the line wrote). Its shard's Parquet has null there (one schema for every shard: see
   * column-types.ts); said, not silent, as the value is kept only in the sample's .json and the
   * manifest.
   */
  #checkTypes(
    row: number,
    sample: string,
    meta: Record<string, unknown>,
    types: Readonly<Record<string, CarriedType>>,
  ): void {
    for (const name of Object.keys(meta)) {
      if (!Object.hasOwn(types, name) || this.#misfits.has(name)) continue
      const value = meta[name]
      if (value === null || value === undefined || fitted(value, types[name]) !== null) continue
      this.#misfits.add(name)
      // An integer past INT64 is carried as its digits: said as the integer it is, not as text.
      const shown =
        typeof value === 'object'
          ? JSON.stringify(value).slice(0, 60)
          : types[name] === 'INT64' && isIntegerPastInt64(value)
            ? `the integer ${value}, past INT64's range (-2^63 to 2^63-1)`
            : shownValue(value)
      process.emitWarning(
        `row ${row} (sample ${sample}): column '${name}' holds ${shown}, which its ${types[name]} column in the shards' Parquet (typed from the table's first rows) cannot hold: null there, kept in the sample's .json and the manifest (later such values of '${name}' are not said)`,
        { code: 'IMGPULL_COLUMN_TYPE' },
      )
    }
  }

  /**
   * Warn (once a column) of a carried column named as an earlier one but for case (`note` after
   * `Note`), or named `""`: the shards' Parquet leaves it out (see `ShardTable`), as DuckDB reads
   * the second as `note_1` (its 1.0 refused the file), and `""` as `C12`. Said, not silent, as its values are only in the samples'
   * .json and the manifest. One named as imgpull's own column but for case (LAION's `WIDTH`) is
   * left out as documented, unsaid.
   */
  #checkTwins(row: number, sample: string, meta: Record<string, unknown>): void {
    if (!this.#folded) {
      this.#folded = new Map()
      for (const name of Object.keys(this.#columnTypes ?? {}))
        if (!this.#folded.has(foldedName(name))) this.#folded.set(foldedName(name), name)
    }
    for (const name of Object.keys(meta)) {
      if (ownButForCase(name) || this.#misfits.has(name)) continue
      if (this.#parquetColumns && !this.#parquetColumns.has(name)) continue
      if (name === '') {
        this.#misfits.add(name)
        process.emitWarning(
          `row ${row} (sample ${sample}): column '' has no name, which DuckDB reads as C<its position> and hyparquet as '': left out of the shards' Parquet, kept in the sample's .json and the manifest`,
          { code: 'IMGPULL_COLUMN_NAME' },
        )
        continue
      }
      const first = this.#folded.get(foldedName(name))
      if (first === undefined) this.#folded.set(foldedName(name), name)
      if (first === undefined || first === name) continue
      this.#misfits.add(name)
      process.emitWarning(
        `row ${row} (sample ${sample}): column '${name}' is named as column '${first}' but for case, one column to readers that match names without case (DuckDB reads it as '${name}_1'): left out of the shards' Parquet, kept in the sample's .json and the manifest (rename one of them in the table to have both)`,
        { code: 'IMGPULL_COLUMN_NAME' },
      )
    }
  }

  /**
   * Warn (once a column) of a carried column the Parquet files leave out: not among the ones the
   * source knew before reading (`Source.parquetColumns`), a JSON lines key first seen past the lines
   * its columns were read from. Said, not silent, as its values are only in the samples' .json and
   * the manifest.
   */
  #checkColumns(
    row: number,
    sample: string,
    meta: Record<string, unknown>,
    known: ReadonlySet<string>,
  ): void {
    for (const name of Object.keys(meta)) {
      if (known.has(name) || this.#misfits.has(name)) continue
      this.#misfits.add(name)
      process.emitWarning(
        `row ${row} (sample ${sample}): column '${name}' is not among the columns read from the table's first rows (a JSON lines key first seen past its first 1,000 lines): left out of the shards' Parquet, whose columns are the same in every shard, kept in the sample's .json and the manifest (name it with --columns to have it in every shard's Parquet)`,
        { code: 'IMGPULL_COLUMN_LATE' },
      )
    }
  }

  /** What earlier runs left of shard `number`; its work begins on the writer. */
  async #open(number: number): Promise<OpenShard> {
    const stem = shardStem(number)
    const work = shardWork(this.#paths, stem)
    const sealed = await stat(this.#paths.shard(stem, 'tar')).then(
      () => true,
      () => false,
    )
    const signature = sealed ? await readSignature(work.seal) : undefined
    const spool = await Spool.open(work.spool)
    const stagedBefore = new Map<string, number>()
    for (const name of await readdir(work.staging).catch(() => [] as string[]))
      stagedBefore.set(name, (await stat(join(work.staging, name))).size)
    await makeFolders(work.staging)
    const open: OpenShard = {
      number,
      flags: new Uint8Array(this.#shardSize),
      given: 0,
      settled: 0,
      complete: false,
      sealed,
      stagedBefore,
      staging: work.staging,
      spool,
      signature,
      startedAt: steadyNow(),
      started: false,
      closing: false,
    }
    this.#shards.set(number, open)
    return open
  }

  /**
   * Whether the sample of an earlier `ok` is still there, as the journal records it: in its sealed
   * shard (checked when a reseal copies it), or staged (a file first, as `settle` takes it, then
   * the spool) at its size and, read back, its sha256. For the planner: else it is fetched again.
   */
  readonly kept = async (record: JobRecord): Promise<boolean> => {
    const at = record.path === undefined ? undefined : parseSamplePath(record.path)
    const open = at && this.#shards.get(Number(at.stem))
    if (open === undefined) return false
    if (open.sealed) return true
    const { member } = at!
    const { bytes, sha256 } = record
    if (bytes === undefined) return false
    if (open.stagedBefore.get(member) === bytes)
      return sha256 === undefined || (await holds(join(open.staging, member), { bytes, sha256 }))
    const entry = open.spool.entries.get(member)
    if (!entry || entry.size !== bytes) return false
    return sha256 === undefined || (await open.spool.sha256(entry)) === sha256
  }

  /**
   * Put the verified file of `job` (its part, or what the transform stage made) where its sample is
   * staged until the shard is sealed, as `KEY.ext`; resolves to the sample's `path`
   * (`SHARD.tar/KEY.ext`). A rename (never a copy), on libuv's pool as the files output's link.
   */
  async stage(job: Job, file: string, ext: string): Promise<string> {
    const place = samplePlace(job.row!, this.#shardSize)
    const member = memberName(place.key, ext)
    const open = this.#shards.get(place.shard)
    const staging = open?.staging ?? shardWork(this.#paths, place.stem).staging
    await rename(file, join(staging, member))
    // A member is in one place: an entry an earlier run spooled for it is an older download.
    open?.spool.entries.delete(member)
    return samplePath(place.stem, member)
  }

  /**
   * Put the verified bytes of `job` (held in memory, see `DownloadContext.hold`) in its shard's
   * spool as `KEY.ext`; resolves to the sample's `path` (`SHARD.tar/KEY.ext`) once they are written.
   */
  async stageBytes(job: Job, chunks: Buffer[], ext: string): Promise<string> {
    const place = samplePlace(job.row!, this.#shardSize)
    const open = this.#shards.get(place.shard)
    if (!open || open.closing) throw new Error(`shard ${place.stem} is not open for row ${job.row}`)
    const member = memberName(place.key, ext)
    // A member is in one place: a file an earlier run staged for it is an older download (and,
    // removed first, never left beside this entry to be taken for it after a crash).
    if (open.stagedBefore.delete(member)) await rm(join(open.staging, member), { force: true })
    await open.spool.append(member, chunks)
    return samplePath(place.stem, member)
  }

  /** A job whose key an earlier row of this run has: a failed row of its own (`invalid-row`). */
  duplicate(job: Job): Result {
    return {
      job,
      status: 'failed',
      error: 'invalid-row',
      message: `row ${job.row}: the same job key as an earlier row (${job.key})`,
      attempts: 0,
      timings: { total: 0 },
    }
  }

  /** Every result, for its row. An earlier outcome is taken from the journal, as it was recorded. */
  settle(result: Result): void {
    const { job } = result
    if (job.row === undefined) return
    const place = samplePlace(job.row, this.#shardSize)
    const open = this.#shards.get(place.shard)
    if (!open || open.flags[place.index] !== GIVEN) return
    open.flags[place.index] |= SETTLED
    open.settled++
    const outcome = (result.earlier && job.key && this.#journal.get(job.key)) || outcomeOf(result)
    const row = sampleRow(place.index, place.key, job, result.status, outcome)
    const writer = this.#shardWriter
    if (!open.started) {
      writer.open(open.number, open.signature, open.startedAt)
      open.started = true
    }
    // The sample's bytes in the spool, unless it is staged as a file (a file staged beside a spool
    // entry is the newer: spooling removes the file first), and at the size the row gives.
    const member = row.ext === undefined ? undefined : memberName(place.key, row.ext)
    const entry = member === undefined ? undefined : open.spool.entries.get(member)
    if (entry) open.spool.entries.delete(member!)
    const spooled = entry?.size === row.bytes && open.stagedBefore.get(member!) !== row.bytes
    writer.add(open.number, place.index, JSON.stringify(row), spooled ? entry?.at : undefined)
    if (open.complete && open.settled === open.given) this.#seal(open)
  }

  /**
   * The run is over. `completed`: every job of the source has its outcome, so shards not full
   * (the last one) are sealed with the rows they have; otherwise shards not complete are left for
   * the next run (their staged samples kept). Resolves when every shard is sealed or dropped;
   * rejects with the first failure.
   */
  async close(completed: boolean): Promise<void> {
    const pastEnd = completed && this.#error === undefined ? await this.#pastEnd() : undefined
    for (const open of this.#shards.values()) {
      if (open.closing) continue
      if (completed && !pastEnd && this.#error === undefined && open.settled === open.given && open.started)
        this.#seal(open)
      else {
        open.closing = true
        this.#track(open.spool.close())
        if (open.started) this.#track(this.#shardWriter.abandon(open.number))
      }
    }
    await Promise.all(this.#closing)
    await this.#writer?.close()
    if (this.#error !== undefined) throw this.#error
    if (pastEnd) throw pastEnd
  }

  /**
   * The input was read to its end: a `UsageError` when the folder holds sealed shards past it (an
   * earlier run's longer input), else `undefined`, the journal's records of rows past it forgotten
   * (their shards were moved away). Such shards are never removed by a run: an input cut short by
   * mistake (`head` of the table, another part of it) would take whole shards of downloads with it;
   * nor left beside the input's own, where a reader takes their rows for the input's. The run's
   * last shard is not sealed meanwhile (sealed without the rows past the end, it would lose them).
   */
  async #pastEnd(): Promise<UsageError | undefined> {
    const last = this.#rows === 0 ? -1 : Math.floor((this.#rows - 1) / this.#shardSize)
    const names = await readdir(this.#paths.out).catch(() => [] as string[])
    const past = names
      .filter((name) => SHARD_TAR.test(name) && Number(name.slice(0, -4)) > last)
      .sort((a, b) => a.length - b.length || (a < b ? -1 : 1))
    if (past.length > 0) {
      const out = visibleShellWord(this.#paths.out)
      const shards = past.length === 1 ? past[0] : `${past[0]} to ${past.at(-1)}`
      const input =
        this.#rows === 0
          ? 'the input has no row'
          : `the input has ${this.#rows} ${plural(this.#rows, 'row')} (its last in shard ${shardStem(last)})`
      return new UsageError(
        `${input}, but ${out} holds ${shards}, shards of rows past its end that an earlier run made from a longer input: to keep them, run with the whole input; to drop them, move their .tar, .parquet and _stats.json files out of ${out}, and run again`,
      )
    }
    // Records of rows past the end (their shards moved away) would stay in the manifest and status.
    if (this.#journal.run > 1 && this.#journal.get(rowKey(this.#rows))) {
      const past: string[] = []
      for (const record of this.#journal.records()) {
        const row = record.key.startsWith('row:') ? Number(record.key.slice(4)) : Number.NaN
        if (row >= this.#rows) past.push(record.key)
      }
      this.#journal.forget(past)
    }
    return undefined
  }

  #seal(open: OpenShard): void {
    open.closing = true
    const given = open.flags.map((f) => f & GIVEN)
    this.#track(
      // Every sample of it is written: the spool is closed before the writer reads it to the end.
      open.spool
        .close()
        .then(() => this.#shardWriter.seal(open.number, given))
        .then(() => {
          this.#shards.delete(open.number)
          this.onClosed()
          // Only a rerun's journal can hold such records.
          if (open.given < this.#shardSize && this.#journal.run > 1)
            this.#journal.forget(this.#missing(open.number, given))
        }),
    )
  }

  /**
   * The positional keys of the rows a sealed shard holds no sample for: an earlier run's records
   * of them (the table had more rows then) would list members the tar no longer has.
   */
  *#missing(number: number, given: Uint8Array): Iterable<string> {
    const first = number * this.#shardSize
    for (let index = 0; index < given.length; index++) if (!given[index]) yield rowKey(first + index)
  }

  #track(step: Promise<unknown>): void {
    const tracked = step.then(
      () => {},
      (error) => this.#fail(error),
    )
    this.#closing.add(tracked)
    tracked.finally(() => this.#closing.delete(tracked))
  }

  #fail(error: unknown): void {
    if (this.#error !== undefined) return
    this.#error = error
    this.onError(error)
  }
}
