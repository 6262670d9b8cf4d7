import { manifestLine, type Outcome } from '../outcome.js'
import type { HostSample, RunInfo, Validators } from '../types.js'
import { nameFold } from '../utils/name-fold.js'
import { steadyNow } from '../utils/steady-clock.js'

/**
 * The journal remembers every job and its outcome, so a rerun does only what is left and a crash
 * loses nothing. The engine talks to it only through this interface; SQLite (one machine) and a
 * shared queue (many machines) are backends.
 */
export type JobState = 'pending' | 'ok' | 'failed'

/** A job as the journal knows it: its identity and name, how to resume it, and its latest outcome. */
export interface JobRecord extends Outcome {
  key: string
  url: string
  /** Planned relative name, with `EXT` where the extension goes. Unique per journal. */
  planned: string
  state: JobState
  /** The run that last planned this job (dedupes within a run). */
  run: number
  etag?: string
  lastModified?: string
  length?: number
  /** See `Validators.from`. */
  validatorsFrom?: string
  /** See `Validators.stated`. */
  validatorsStated?: Validators['stated']
  meta?: Record<string, unknown>
  /** A table row's caption (`--caption-col`), `''` for an empty cell; none without the option. */
  caption?: string
  /** See `Finished.checked`; none in a journal written before it was recorded. */
  checked?: string
  /** See `Finished.place`; none in a journal written before it was recorded. */
  place?: string
}

/** An outcome to record for the job `key`. */
export type Finished = Outcome & {
  key: string
  state: Exclude<JobState, 'pending'>
  /**
   * What a permanent failure was judged against that a rerun may give otherwise (see
   * `judgedAgainst`): a `hash-mismatch`'s expected digest, `sha256:9f86…`; a limit's failure, its
   * limit, `max-size:1048576`. Journal only: not an outcome field, not in the manifest.
   */
  checked?: string
  /**
   * Where the input holds a failed job (`Job.where`: `'urls.txt' line 3`, `photos.csv line 12`,
   * `a.parquet row 7 (row group 0)`), the line to mend: `imgpull status` and the report name it
   * beside the failure. Journal only, as `checked`; none for a job that did not fail.
   */
  place?: string
}

export interface Journal {
  /** This run's number: 1 for a fresh folder. */
  readonly run: number
  get(key: string): JobRecord | undefined
  /**
   * Start (or restart) a job in this run under the name `planned`, or the first free variant
   * `alternative(n)` gives (a name another job holds is not free; one its own key holds is), whatever
   * name an earlier run planned for it. Returns the name it holds.
   */
  plan(
    job: { key: string; url: string; meta?: Record<string, unknown>; caption?: string },
    planned: string,
    alternative: (attempt: number) => string,
  ): string
  /**
   * Mark a job seen in this run without fetching it (finished or failed earlier): dedupes repeats.
   * `meta`, `caption` and `place`, when given, replace what the record carries (a table row edited
   * but for its URL; a failed URL now on another line of its list).
   */
  touch(key: string, meta?: Record<string, unknown>, caption?: string, place?: string): void
  /**
   * Drop the records of these jobs if no job of this run has touched them: rows an input no
   * longer has (a table that shrank), once the shard they were in is sealed without them.
   */
  forget(keys: Iterable<string>): void
  /** Remember how to resume a partial transfer. */
  setValidators(key: string, validators: Validators): void
  /**
   * At a stop, remember how to resume a part that was cut, now and whatever an earlier commit met
   * (a full disk: its batch rolled back, every later write refused): true once durable, false when
   * the job has no record. Throws what this commit meets (`SQLITE_FULL` of a disk still full).
   */
  keepValidators(key: string, validators: Validators): boolean
  /** Record an outcome. Resolves once it is durable. */
  finish(outcome: Finished): Promise<void>
  /** Make what was written durable now, not at the next batch (nothing else is coming soon). */
  flush(): void
  /** Every record, in the order jobs were first planned. */
  records(): Iterable<JobRecord>
  /** The records among which the report finds Unsplash credits: `records()`, or fewer (those that may hold one). */
  credited(): Iterable<JobRecord>
  /** Every record as its manifest line (see `manifestLine`), in the same order. */
  manifestLines(): Iterable<string>
  /** Say what this run is (its command line, for the report). */
  describeRun(info: { command?: string }): void
  /**
   * The folder's record of how its images were made (the text of `files.json`), kept in the
   * journal too, for a `files.json` lost beside it; `undefined`: none kept (a journal made before
   * it kept one). Journals on disk only.
   */
  folderRecord?(): string | undefined
  /** Keep `text` as the folder's record (see `folderRecord`). */
  setFolderRecord?(text: string): void
  /**
   * This run has ended; `interrupted`: before its end (a stop, a fatal error); `endedAt` (ms since
   * the epoch, now if not given): the end the terminal's summary counts too.
   */
  endRun(info: { interrupted: boolean; endedAt?: number }): void
  /**
   * This run never began (the folder refused it: another output format, other options): its
   * record is taken back, so `imgpull status` and the report count only runs that did.
   */
  abandonRun(): void
  /** The facts of a run (this one by default). */
  runInfo(id?: number): RunInfo | undefined
  /** Keep per-host scheduler samples (the report's concurrency charts). */
  addSamples(samples: readonly HostSample[]): void
  /** The samples of a run, oldest first; iterable more than once. */
  samples(run: number): Iterable<HostSample>
  /** Make everything durable and release the journal. */
  close(): Promise<void>
}

/** A journal in memory, for library use without an output journal: dedupes within one run only. */
export class MemoryJournal implements Journal {
  readonly run = 1
  #byKey = new Map<string, JobRecord>()
  /** The names planned, as `nameFold` gives them. */
  #names = new Set<string>()

  get(key: string) {
    return this.#byKey.get(key)
  }

  plan(
    job: { key: string; url: string; meta?: Record<string, unknown>; caption?: string },
    planned: string,
    alt: (n: number) => string,
  ) {
    let name = planned
    for (let n = 1; this.#names.has(nameFold(name)); n++) name = alt(n)
    this.#names.add(nameFold(name))
    // Not `{ ...job, planned, ... }`: Node 20's V8 gives each key added after a leading spread a
    // hidden class of its own (about 0.7 µs a key).
    this.#byKey.set(
      job.key,
      Object.assign({}, job, { planned: name, state: 'pending' as const, run: this.run, attempts: 0 }),
    )
    return name
  }

  touch(key: string, meta?: Record<string, unknown>, caption?: string, place?: string) {
    const record = this.#byKey.get(key)
    if (!record) return
    record.run = this.run
    if (meta !== undefined) record.meta = meta
    if (caption !== undefined) record.caption = caption
    if (place !== undefined) record.place = place
  }

  forget(keys: Iterable<string>) {
    for (const key of keys) if (this.#byKey.get(key)?.run !== this.run) this.#byKey.delete(key)
  }

  setValidators(key: string, validators: Validators) {
    const record = this.#byKey.get(key)
    if (!record) return
    record.etag = validators.etag
    record.lastModified = validators.lastModified
    record.length = validators.length
    record.validatorsFrom = validators.from
    record.validatorsStated = validators.stated
  }

  keepValidators(key: string, validators: Validators) {
    this.setValidators(key, validators)
    return this.#byKey.has(key)
  }

  async finish(outcome: Finished) {
    const record = this.#byKey.get(outcome.key)
    if (!record) return
    // A new outcome replaces the last one whole (a success clears an earlier error), in a new
    // object of one shape: deleting fields, or adding them one by one, would put the record in
    // V8's dictionary mode (0.8 kB more per record, kept for the whole run).
    const { url, planned, run, etag, lastModified, length, validatorsFrom, validatorsStated, meta, caption } =
      record
    this.#byKey.set(outcome.key, {
      checked: undefined,
      place: undefined,
      url,
      planned,
      run,
      etag,
      lastModified,
      length,
      validatorsFrom,
      validatorsStated,
      meta,
      caption,
      ...outcome,
    })
  }

  records() {
    return this.#byKey.values()
  }

  credited() {
    return this.records()
  }

  *manifestLines() {
    for (const r of this.#byKey.values()) yield manifestLine(r.url, r.state, r, r.meta, r.caption)
  }

  #run: RunInfo
  #samples: HostSample[] = []

  /** `startedAt`: when the run began (see `SqliteJournal`). */
  constructor(startedAt = steadyNow()) {
    this.#run = { id: 1, startedAt }
  }

  describeRun(info: { command?: string }) {
    this.#run.command = info.command
  }

  endRun(info: { interrupted: boolean; endedAt?: number }) {
    this.#run.endedAt = info.endedAt ?? steadyNow()
    this.#run.interrupted = info.interrupted
  }

  abandonRun() {}

  runInfo(id = this.run) {
    return id === this.run ? this.#run : undefined
  }

  addSamples(samples: readonly HostSample[]) {
    this.#samples.push(...samples)
  }

  samples(run: number) {
    return run === this.run ? this.#samples : []
  }

  flush() {}
  async close() {}
}
