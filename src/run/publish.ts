import { unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Downloaded } from '../fetch/download.js'
import type { Journal } from '../journal/journal.js'
import type { ResolvedOptions } from '../options.js'
import { type Outcome, resultOf } from '../outcome.js'
import { flatVariant, shortVariant, withExt, withSuffix } from '../plan/naming.js'
import { type Task, transformedPart } from '../plan/planner.js'
import { nameState, publish, type Same } from '../sinks/files.js'
import type { WebDatasetSink } from '../sinks/webdataset/sink.js'
import { TransformError } from '../transform/errors.js'
import type { TransformPool } from '../transform/pool.js'
import type { Result, RunStats } from '../types.js'
import { steadyNow } from '../utils/steady-clock.js'
import { shownUrl } from '../utils/url.js'

/**
 * Downloaded files waiting to be published (transformed, staged, journaled), and the bytes of
 * theirs held in memory (a sample's body waits for its shard's spool), past which no transfer
 * starts. Publishing frees its transfer slot at once: a journal or disk slower than the network
 * would otherwise hold every finished body of the list (1,438 waited at once on 2 busy cores).
 */
const PUBLISH_AHEAD = 512
const PUBLISH_AHEAD_BYTES = 64 * 1024 * 1024

/** The publishing bound in force: files and held bytes, and a gate each file waits at first (tests hold it). */
export interface PublishBound {
  files: number
  bytes: number
  gate?: () => Promise<void>
}
let publishAhead: PublishBound = { files: PUBLISH_AHEAD, bytes: PUBLISH_AHEAD_BYTES }

/**
 * Bound publishing at `files` and `bytes` of held bodies, and make each finished file wait at `gate`
 * before it publishes (tests use a few and hold the gate; see `PUBLISH_AHEAD`). No argument: the
 * defaults, with no gate.
 */
export function boundPublishing(bound: Partial<PublishBound> = {}): void {
  publishAhead = { files: PUBLISH_AHEAD, bytes: PUBLISH_AHEAD_BYTES, ...bound }
}

/** Variants a job tries when its name is taken, before it fails: each is its own hash of the key. */
const MAX_VARIANTS = 5

/** The file a job publishes (its part, or the transform stage's output) and what the outcome says of it. */
type Made = { file: string; ext: string; held?: Buffer[] } & Pick<
  Outcome,
  'bytes' | 'sha256' | 'width' | 'height' | 'originalWidth' | 'originalHeight' | 'transformed'
>

/** What publishing needs of its run. */
export interface PublishContext {
  journal: Journal
  options: ResolvedOptions
  stats: RunStats
  /** The WebDataset output, when asked for (else files). */
  dataset: WebDatasetSink | undefined
  /** The transform stage, when a transform is asked for. */
  pool: TransformPool | undefined
  /** Cuts the transform stage's work on a hard stop. */
  hardStop: AbortSignal
  /** Gives a planned job's result (see `Engine`). */
  emit: (result: Result) => void
}

/**
 * The publishing stage: a downloaded file goes through the transform stage (when asked for), then
 * to its sink (a name in the folder, or a sample staged in its shard) and the journal, and its
 * result is given. Holds the files being published and the bytes of theirs in memory, which
 * bound the transfers that may start (see `PUBLISH_AHEAD`).
 */
export class Publishing {
  /** Files being published (the journal's commit, the transform stage): a stop lets them land. */
  readonly #files = new Set<Promise<void>>()
  /** Bytes of `#files`' bodies held in memory (see `PUBLISH_AHEAD_BYTES`). */
  #bytes = 0
  /** Transfers waiting for `#files` to shrink (see `PUBLISH_AHEAD`). */
  #waiters: (() => void)[] = []
  readonly #journal: Journal
  readonly #options: ResolvedOptions
  readonly #stats: RunStats
  readonly #dataset: WebDatasetSink | undefined
  readonly #pool: TransformPool | undefined
  readonly #hardStop: AbortSignal
  readonly #emit: (result: Result) => void
  /** When publishing began: a file older than that was there before the run (see `#publishOne`). */
  readonly #began = Date.now()

  constructor(run: PublishContext) {
    this.#journal = run.journal
    this.#options = run.options
    this.#stats = run.stats
    this.#dataset = run.dataset
    this.#pool = run.pool
    this.#hardStop = run.hardStop
    this.#emit = run.emit
  }

  /** Publishing holds all it may (see `PUBLISH_AHEAD`): no transfer starts. */
  get full(): boolean {
    return this.#files.size >= publishAhead.files || this.#bytes >= publishAhead.bytes
  }

  /** Files being published. */
  get size(): number {
    return this.#files.size
  }

  /** The files being published, each settling when it lands. */
  pending(): Iterable<Promise<void>> {
    return this.#files
  }

  /** Settles when a file has landed, or at `wakeAll`. */
  room(): Promise<void> {
    return new Promise<void>((resolve) => this.#waiters.push(resolve))
  }

  /** Wake every transfer waiting for `room` (a file landed, or the run stopped). */
  wakeAll(): void {
    for (const wake of this.#waiters.splice(0)) wake()
  }

  /**
   * Publish `task`'s downloaded file `d`, held in `full` until it lands. Rejects with what stopped
   * it (a full disk, a transform that failed): the caller tells the job's fault from the run's.
   */
  publish(task: Task, d: Downloaded): Promise<void> {
    const publishing = this.#publishOne(task, d)
    const held = d.held?.reduce((sum, chunk) => sum + chunk.length, 0) ?? 0
    this.#files.add(publishing)
    this.#bytes += held
    publishing
      .finally(() => {
        this.#files.delete(publishing)
        this.#bytes -= held
        this.wakeAll()
      })
      .catch(() => {})
    return publishing
  }

  async #publishOne(task: Task, d: Downloaded): Promise<void> {
    if (publishAhead.gate) await publishAhead.gate()
    const made = await this.#transform(task, d)
    const outcome: Outcome = {
      path: this.#dataset ? undefined : withExt(task.planned, made.ext),
      httpStatus: d.httpStatus,
      finalUrl: d.finalUrl,
      bytes: made.bytes,
      sha256: made.sha256,
      format: made.ext,
      width: made.width,
      height: made.height,
      originalWidth: made.originalWidth,
      originalHeight: made.originalHeight,
      transformed: made.transformed,
      attempts: task.attempts,
      ttfb: Math.round(d.ttfb),
      total: steadyNow() - task.started,
      finishedAt: steadyNow(),
      answers: task.answers,
    }
    if (this.#dataset) return this.#stage(task, made, outcome)
    // Without a hash (--hash none) a file of the same size proves nothing: its bytes are compared
    // with the made file's (hashed only then).
    const same: Same | undefined =
      made.bytes === undefined ? undefined : { bytes: made.bytes, sha256: made.sha256, file: made.file }
    // The name is settled before the journal records it, and the journal before the name is taken:
    // a file under its final name is always known to the journal, and the journal never names a
    // file that is not the job's (else a stop between the two, then a rerun, could take someone
    // else's file for the job's). A file at the name is never replaced: one an earlier run wrote
    // reaches here only when its size is no longer the recorded one, so it is not provably ours.
    // Someone else's file holds the name, or a folder on its way: the job's own variant, in
    // folders that exist (taken) or in none (flat); the next one if that is taken too. None is
    // ever written over: a file at a variant may be a stranger's as well.
    // A name the file system refuses as too long: the job's shortened name (`shortVariant`), of which
    // the variants for a taken name are made from then on.
    let planned = task.planned
    let shortened = 0
    const variantOf = (taken: 'taken' | 'folder-taken', n: number) =>
      withExt(
        (taken === 'taken' ? withSuffix : flatVariant)(planned, n === 1 ? task.key : `${task.key}#${n}`),
        made.ext,
      )
    // A job planned under a variant (the template's name went to another job of the list) whose
    // image is at the template's name already, from before this run: an earlier run without a
    // journal (or whose journal was removed) met the list in another order (sorted anew, lines
    // added at its top) and gave that name to this job. It is the job's, not saved twice. One of
    // this run's own files there (two URLs of one image) is another job's: not taken.
    // (Found there, it is not looked at, nor hashed, a second time below.)
    const earlierRuns = async (name: string) =>
      same !== undefined &&
      (await nameState(this.#options.out, name, { ...same, before: this.#began })) === 'same'
    let state: Awaited<ReturnType<typeof nameState>> | undefined
    if (task.named !== undefined && (await earlierRuns(withExt(task.named, made.ext)))) {
      outcome.path = withExt(task.named, made.ext)
      state = 'same'
    }
    state ??= await nameState(this.#options.out, outcome.path!, same)
    // The converse, without a journal: the template's name is the job's and free, and an earlier
    // run gave the job its variant, another URL of the list (a dead link taken out since) holding
    // the name then. Only where no journal is kept: with one, the job's file is known before it is
    // fetched, and this second look at the disk would cost every file of a rerun.
    if (state === 'free' && task.named === undefined && !this.#options.journal) {
      const variant = withExt(withSuffix(task.planned, task.key), made.ext)
      if (await earlierRuns(variant)) {
        outcome.path = variant
        state = 'same'
      }
    }
    const record = async () => {
      const durable = this.#journal.finish({ key: task.key, state: 'ok', ...outcome })
      // With no transfer in flight there is nothing to batch this commit with: do not wait for it.
      if (this.#stats.active === 0) this.#journal.flush()
      await durable
    }
    for (let n = 0; ; ) {
      if (state === 'too-long') {
        if (++shortened > 2) {
          const target = join(this.#options.out, outcome.path!)
          throw Object.assign(new Error(`ENAMETOOLONG: name too long, even shortened: '${target}'`), {
            code: 'ENAMETOOLONG',
            path: target,
          })
        }
        planned = shortVariant(task.planned, task.key, shortened as 1 | 2)
        outcome.path = withExt(planned, made.ext)
        n = 0
        state = await nameState(this.#options.out, outcome.path, same)
        continue
      }
      if (state === 'taken' || state === 'folder-taken') {
        if (++n > MAX_VARIANTS)
          throw new Error(`cannot save ${task.planned}: its name and ${MAX_VARIANTS} variants are taken`)
        outcome.path = variantOf(state, n)
        state = await nameState(this.#options.out, outcome.path, same)
        continue
      }
      await record()
      if (state === 'same') {
        await unlink(made.file) // the name holds these very bytes already
        break
      }
      // Taken since it was read (a run without a journal holds no lock, a stranger wrote into the
      // run's folder): the next variant, journaled again before it takes its name.
      const published = await publish(made.file, this.#options.out, outcome.path!, false, same)
      if (published === true) break
      state = published
    }
    this.#emit(resultOf(task.job, 'ok', outcome))
  }

  /**
   * A sample for the WebDataset output: the file staged first, then journaled, so a journal `ok`
   * always has its sample on disk (staged, or in its sealed shard).
   */
  async #stage(task: Task, made: Made, outcome: Outcome): Promise<void> {
    outcome.path = made.held
      ? await this.#dataset!.stageBytes(task.job, made.held, made.ext)
      : await this.#dataset!.stage(task.job, made.file, made.ext)
    const durable = this.#journal.finish({ key: task.key, state: 'ok', ...outcome })
    if (this.#stats.active === 0) this.#journal.flush()
    await durable
    this.#emit(resultOf(task.job, 'ok', outcome))
  }

  /**
   * The transform stage (when asked for): the verified part goes to the pool, which keeps it as is
   * or writes the new image into it, renamed beside it (`replaceInput`: no file made or deleted,
   * see `intoInput` in transform/resize.ts). What is published, and what the outcome says of it.
   * A new image leaves no part behind (the pool's `replaceInput` promises it): no unlink follows.
   */
  async #transform(task: Task, d: Downloaded): Promise<Made> {
    const asDownloaded = {
      file: task.part,
      ext: d.ext,
      bytes: d.bytes,
      sha256: d.sha256,
      width: d.width,
      height: d.height,
    }
    // Not `{ ...asDownloaded, held }`: Node 20's V8 gives each key added after a leading spread a new hidden class of its own (about 0.7 µs a key, and garbage).
    if (!this.#pool) return d.held ? Object.assign(asDownloaded, { held: d.held }) : asDownloaded
    const output = transformedPart(task.part)
    const t = await this.#pool
      .transform({ path: task.part }, this.#options.transform, {
        output,
        replaceInput: true,
        signal: this.#hardStop,
      })
      .catch((error: unknown) => {
        // The pool knows files, not URLs: a failure line names the image it is about.
        if (error instanceof TransformError && error.code !== 'transform-unavailable')
          throw new TransformError(error.code, `${shownUrl(task.url)}: ${error.message}`, { cause: error })
        throw error
      })
    const original = { originalWidth: t.originalWidth, originalHeight: t.originalHeight }
    if (t.kept) return { ...asDownloaded, width: t.width, height: t.height, ...original, transformed: false }
    return {
      file: output,
      ext: t.format,
      bytes: t.size,
      sha256: this.#options.hash === 'sha256' ? t.sha256 : undefined,
      width: t.width,
      height: t.height,
      ...original,
      transformed: true,
    }
  }
}
