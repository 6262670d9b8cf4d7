import { renameSync } from 'node:fs'
import { mkdir, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { JobRecord, Journal } from '../../journal/journal.js'
import type { Layout } from '../../layout.js'
import { outcomeOf } from '../../outcome.js'
import { rowKey } from '../../sources/tables/jobs.js'
import type { Job, Result } from '../../types.js'
import { memberName, parseSamplePath, samplePath, samplePlace } from './keys.js'
import { sampleRow } from './row.js'
import { Shard, type ShardContext } from './shard.js'

/** Rows held in memory for tars being written, over all shards; the rest wait on disk. */
const WINDOW_ROWS = 4096

/**
 * The WebDataset output: every job is a sample at its input position (`job.row`, else its place in
 * the source), in shard `row / shardSize`; see `Shard` for how shards are written and sealed. The
 * engine calls, in order: `admit` for each job read (before planning it), `kept` when the planner
 * asks whether an earlier `ok` is still there, `stage` to put a verified file in place, `settle`
 * with every result, and `close` at the end. Memory: per open shard, about 13 bytes per row of the
 * shard size, plus at most `WINDOW_ROWS` rows over all shards.
 *
 * A worker of a shared queue runs the rows of one shard and closes with `completed`: that shard is
 * sealed whole (tar, Parquet and stats renamed into place, each atomically) or not at all.
 */
export class WebDatasetSink {
  readonly #ctx: ShardContext
  readonly #journal: Journal
  readonly #shards = new Map<number, Shard>()
  /** Sealing shards, in order: one at a time, so a run's end never encodes many Parquet files at once. */
  #sealed: Promise<void> = Promise.resolve()
  readonly #sealing = new Set<Promise<void>>()
  readonly #queued = new Set<Shard>()
  #error: unknown
  /** Told of a failure while writing a shard (a full disk): the run stops. */
  onError: (error: unknown) => void = () => {}

  private constructor(paths: Layout, shardSize: number, journal: Journal) {
    this.#ctx = { paths, shardSize, window: { used: 0, max: WINDOW_ROWS } }
    this.#journal = journal
  }

  /**
   * Start the output in `paths.out`: the work folder made, what a run that was cut left being
   * written removed (its tars and rows files are made again; its staged samples are kept).
   */
  static async open(paths: Layout, shardSize: number, journal: Journal): Promise<WebDatasetSink> {
    await mkdir(paths.shards, { recursive: true })
    for (const name of await readdir(paths.shards)) {
      if (name.endsWith('.tmp') || name.endsWith('.rows')) await rm(join(paths.shards, name), { force: true })
    }
    return new WebDatasetSink(paths, shardSize, journal)
  }

  get shardSize(): number {
    return this.#ctx.shardSize
  }

  /**
   * A job read from the source, as a sample: `row` set (its position, from 0, unless the source
   * set it) and `key` (`row:N`, unless the source set one). Opens the row's shard when it is the
   * first of it. A row given twice in one run is a `TypeError` (a source's fault).
   */
  async admit(job: Job, position: number): Promise<Job> {
    const row = job.row ?? position
    if (!Number.isSafeInteger(row) || row < 0)
      throw new TypeError(`Expected a job's \`row\` to be an integer >= 0, got ${String(row)}`)
    const { shard, index } = samplePlace(row, this.#ctx.shardSize)
    let open = this.#shards.get(shard)
    if (!open) {
      open = await Shard.open(shard, this.#ctx, (error) => this.#fail(error))
      this.#shards.set(shard, open)
    }
    if (!open.read(index)) throw new TypeError(`the source gave row ${row} twice`)
    const key = job.key ?? rowKey(row)
    return job.row === row && job.key === key ? job : { ...job, row, key }
  }

  /** Whether the sample of an earlier `ok` is still there (staged, or in its sealed shard). For the planner. */
  readonly kept = async (record: JobRecord): Promise<boolean> => {
    const at = record.path === undefined ? undefined : parseSamplePath(record.path)
    return at !== undefined && (this.#shards.get(Number(at.stem))?.has(at.member) ?? false)
  }

  /**
   * Put the verified file of `job` (its part, or what the transform stage made) where its sample is
   * staged until the shard is sealed, as `KEY.ext`; returns the sample's `path` (`SHARD.tar/KEY.ext`).
   * A rename on this thread, as the files output's link: microseconds, and never a copy.
   */
  stage(job: Job, file: string, ext: string): string {
    const place = samplePlace(job.row!, this.#ctx.shardSize)
    const shard = this.#shards.get(place.shard)!
    const member = memberName(place.key, ext)
    renameSync(file, shard.stagedPath(member))
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

  /** Every result, for its row. An earlier outcome is taken from the journal as it was recorded. */
  settle(result: Result): void {
    const { job } = result
    if (job.row === undefined) return
    const place = samplePlace(job.row, this.#ctx.shardSize)
    const shard = this.#shards.get(place.shard)
    if (!shard) return
    const outcome = (result.earlier && job.key && this.#journal.get(job.key)) || outcomeOf(result)
    if (shard.settle(sampleRow(place.index, place.key, job, result.status, outcome))) this.#seal(shard)
  }

  /**
   * The run is over. `completed`: every job of the source has its outcome, so shards not full
   * (the last one) are sealed with the rows they have; otherwise shards not complete are left for
   * the next run (their staged samples kept). Resolves when every shard being sealed is; rejects
   * with the first failure.
   */
  async close(completed: boolean): Promise<void> {
    for (const shard of this.#shards.values()) {
      if (this.#queued.has(shard)) continue
      if (completed && this.#error === undefined && shard.complete()) this.#seal(shard)
      else await shard.abandon()
    }
    await Promise.all(this.#sealing)
    if (this.#error !== undefined) throw this.#error
  }

  /** Seal shards one after the other (the tar of each is mostly written already). */
  #seal(shard: Shard): void {
    if (this.#queued.has(shard)) return
    this.#queued.add(shard)
    const sealed = this.#sealed.then(() => shard.seal())
    this.#sealed = sealed.catch(() => {})
    const tracked = sealed.then(
      () => {
        this.#shards.delete(shard.number)
      },
      (error) => this.#fail(error),
    )
    this.#sealing.add(tracked)
    tracked.finally(() => this.#sealing.delete(tracked))
  }

  #fail(error: unknown): void {
    if (this.#error !== undefined) return
    this.#error = error
    this.onError(error)
  }
}
