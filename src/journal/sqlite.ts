import { existsSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { UsageError } from '../errors.js'
import { metaJson, OUTCOME_COLUMNS, OUTCOME_FIELDS, type OutcomeField } from '../outcome.js'
import { wellFormedText } from '../sources/tables/values.js'
import type { HostSample, RunInfo, Validators } from '../types.js'
import { visibleShellWord } from '../utils/command-line.js'
import { nameFold } from '../utils/name-fold.js'
import { steadyNow } from '../utils/steady-clock.js'
import { redactUrl } from '../utils/url.js'
import { isSharePageFailure } from '../verify/share-page.js'
import type { Finished, JobRecord, Journal } from './journal.js'

/** Commit at least this often; a crash loses at most this much bookkeeping, never a file. */
const COMMIT_MS = 25
/** ...or once this many writes are waiting. */
const COMMIT_OPS = 2000

/** A field's column: `httpStatus` → `http_status`. */
const column = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
/** The SQL type of a field's column: SQLite keeps booleans as integers. */
const sqlType = (f: OutcomeField) => OUTCOME_COLUMNS[f].replace('BOOLEAN', 'INTEGER').replace('JSON', 'TEXT')
const BOOLEANS = new Set(OUTCOME_FIELDS.filter((f) => OUTCOME_COLUMNS[f] === 'BOOLEAN'))
const JSONS = new Set(OUTCOME_FIELDS.filter((f) => OUTCOME_COLUMNS[f] === 'JSON'))

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY, started_at INTEGER NOT NULL, ended_at INTEGER, command TEXT, interrupted INTEGER
);
CREATE TABLE IF NOT EXISTS folder (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS samples (
  run INTEGER NOT NULL, t INTEGER NOT NULL, host TEXT NOT NULL, lim INTEGER NOT NULL, in_flight INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  url TEXT NOT NULL,
  planned TEXT NOT NULL UNIQUE,
  planned_fold TEXT,
  state TEXT NOT NULL,
  run INTEGER NOT NULL,
  etag TEXT, last_modified TEXT, length INTEGER, validators_from TEXT, stated TEXT, meta TEXT, checked TEXT, caption TEXT, place TEXT,
  ${OUTCOME_FIELDS.map((f) => `${column(f)} ${sqlType(f)}`).join(', ')}
);`

/** The columns of one job (SQLite gives `null` for a missing value). */
type Row = Record<string, string | number | null>

/** Every field of a record and its column, in one order: rows are read as arrays in this order. */
const FIELDS: [keyof JobRecord, string][] = [
  ['key', 'key'],
  ['url', 'url'],
  ['planned', 'planned'],
  ['state', 'state'],
  ['run', 'run'],
  ['etag', 'etag'],
  ['lastModified', 'last_modified'],
  ['length', 'length'],
  ['validatorsFrom', 'validators_from'],
  ['validatorsStated', 'stated'],
  ['meta', 'meta'],
  ['checked', 'checked'],
  ...OUTCOME_FIELDS.map((f): [keyof JobRecord, string] => [f, column(f)]),
]
const COLUMNS = FIELDS.map(([, c]) => c).join(', ')

/**
 * A journal whose content contradicts itself: SQLite checks its pages, not what imgpull keeps in
 * them, so a byte changed on disk (or by hand) can leave a JSON cell that does not parse, or a
 * name the unique index holds for another row. Coded as SQLite codes a damaged page, so the run
 * stops on it as on any damaged journal: one line naming the file (see `localFault`).
 */
/** A journal SQLite finds damaged (`SQLITE_CORRUPT*`), or not a database at all (`SQLITE_NOTADB`). */
export function damagedJournal(error: unknown): boolean {
  const code = String((error as { code?: unknown } | undefined)?.code ?? '')
  return code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB'
}

function damaged(what: string, cause: unknown): Error {
  return Object.assign(new Error(`database disk image is malformed: ${what}`, { cause }), {
    code: 'SQLITE_CORRUPT',
  })
}

/** A field's value from its column: SQLite has no booleans nor JSON, and gives null for none. */
function decode(field: keyof JobRecord, v: string | number | null): unknown {
  if (v === null) return undefined
  if (field === 'meta' || field === 'validatorsStated' || JSONS.has(field as OutcomeField)) {
    try {
      return JSON.parse(v as string)
    } catch (error) {
      throw damaged(`the ${field} of a job is not JSON`, error)
    }
  }
  if (BOOLEANS.has(field as OutcomeField)) return v === 1
  return v
}

function fromValues(values: (string | number | null)[]): JobRecord {
  const record = {} as Record<string, unknown>
  for (let i = 0; i < FIELDS.length; i++) {
    const v = decode(FIELDS[i][0], values[i])
    if (v !== undefined) record[FIELDS[i][0]] = v
  }
  return record as unknown as JobRecord
}

function fromRow(row: Row): JobRecord {
  return withExtras(fromValues(FIELDS.map(([, c]) => row[c] ?? null)), row.caption ?? null, row.place ?? null)
}

/**
 * `record` with its `caption` and `place` (see `Finished.place`), columns read after `FIELDS`'
 * where the journal has them: the report shows a row's caption and a failure's place.
 */
function withExtras(
  record: JobRecord,
  caption: string | number | null,
  place: string | number | null,
): JobRecord {
  if (caption !== null) record.caption = String(caption)
  if (place !== null) record.place = String(place)
  return record
}

/**
 * `names` as a SELECT reads them, each `NULL` where the jobs table has no such column: a journal an
 * earlier imgpull wrote and no run has opened since, which `imgpull status` and `report` read as
 * it is (read-only, no column added), as they read it before.
 */
function columnsOrNull(db: Database.Database, names: readonly string[]): string[] {
  const columns = new Set(
    (db.prepare('PRAGMA table_info(jobs)').all() as { name: string }[]).map((c) => c.name),
  )
  return names.map((c) => (columns.has(c) ? c : 'NULL'))
}

/** `caption, place` (see `columnsOrNull`), read after `FIELDS`' (see `withExtras`). */
const extraColumns = (db: Database.Database): string => columnsOrNull(db, ['caption', 'place']).join(', ')

/**
 * The jobs whose record may credit an Unsplash photographer: kept, with a path, and the word
 * "unsplash" in their `meta` (the report checks `meta.source`). SQLite passes over the others
 * without a record made of each: the report read a million-row journal twice for its credits.
 */
const CREDITED = `state = 'ok' AND path IS NOT NULL AND instr(meta, '"unsplash"') > 0`

/** Rows read per page: keyset pages of raw arrays are read ~5x faster than row objects one by one. */
const PAGE = 2000

/** Every record (of those `where`, an SQL condition, holds for), in the order jobs were first planned, a page at a time. */
function* recordsOf(db: Database.Database, where = 'true'): Iterable<JobRecord> {
  const page = db
    .prepare<[number, number], unknown[]>(
      `SELECT id, ${COLUMNS}, ${extraColumns(db)} FROM jobs WHERE id > ? AND (${where}) ORDER BY id LIMIT ?`,
    )
    .raw(true)
  for (let last = 0; ; ) {
    const rows = page.all(last, PAGE) as (string | number | null)[][]
    for (const row of rows)
      yield withExtras(fromValues(row.slice(1, -2)), row[row.length - 2], row[row.length - 1])
    if (rows.length < PAGE) return
    last = rows[rows.length - 1][0] as number
  }
}

/**
 * Manifest lines made by SQLite itself (`json_object`), as `manifestLine` makes them: a
 * million a second, where building each line in JavaScript costs ten times that.
 */
function manifestLinesOf(db: Database.Database): Iterable<string> {
  db.function('imgpull_redact', { deterministic: true }, (url: unknown) => redactUrl(String(url)))
  const value = (f: OutcomeField) =>
    OUTCOME_COLUMNS[f] === 'BOOLEAN'
      ? `CASE ${column(f)} WHEN 1 THEN json('true') WHEN 0 THEN json('false') END`
      : OUTCOME_COLUMNS[f] === 'JSON'
        ? `json(${column(f)})`
        : column(f)
  const fields = OUTCOME_FIELDS.filter((f) => f !== 'ttfb' && f !== 'total')
    .map((f) => `'${f}', ${value(f)}`)
    .join(', ')
  const line = `json_object('url', imgpull_redact(url), 'status', state, ${fields}, 'timings', CASE WHEN ttfb IS NULL THEN json_object('total', coalesce(total, 0)) ELSE json_object('ttfb', ttfb, 'total', coalesce(total, 0)) END)`
  // A job of a table read with --caption-col has its `caption` ('' for an empty cell: null), before its `meta`.
  const captioned = `CASE WHEN caption IS NULL THEN ${line} ELSE json_set(${line}, '$.caption', nullif(caption, '')) END`
  const page = db
    .prepare<[number, number], [number, string]>(
      `SELECT id, CASE WHEN meta IS NULL THEN ${captioned} ELSE json_set(${captioned}, '$.meta', json(meta)) END FROM jobs WHERE id > ? ORDER BY id LIMIT ?`,
    )
    .raw(true)
  return {
    *[Symbol.iterator]() {
      for (let last = 0; ; ) {
        const rows = page.all(last, PAGE * 5) as [number, string][]
        for (const row of rows) yield row[1]
        if (rows.length < PAGE * 5) return
        last = rows[rows.length - 1][0]
      }
    },
  }
}

/**
 * The journal's schema version (SQLite's `PRAGMA user_version`, 0 in journals made before it was
 * set): a journal a newer imgpull wrote may hold what this one would misread, and is refused.
 * Raise it with a change an older imgpull would misread (not with a column it ignores).
 */
export const SCHEMA_VERSION = 1

/** Refuse a journal of a newer schema than this imgpull's (see `SCHEMA_VERSION`). */
function checkVersion(db: Database.Database, path: string): void {
  const version = db.pragma('user_version', { simple: true }) as number
  if (version > SCHEMA_VERSION)
    throw new UsageError(
      `the journal ${visibleShellWord(path)} was written by a newer imgpull (its schema ${version}, this one's ${SCHEMA_VERSION}): run that version of imgpull on this folder, or give another -o`,
    )
}

/** Open the journal at `path` (better-sqlite3's `options`), refused if it is of a newer schema. */
function openJournalDb(path: string, options?: Database.Options): Database.Database {
  const db = new Database(path, options)
  try {
    checkVersion(db, path)
  } catch (error) {
    db.close()
    if (options?.readonly && (error as { code?: string }).code === 'SQLITE_READONLY_ROLLBACK') {
      rollBack(path)
      return openJournalDb(path, options)
    }
    throw error
  }
  return db
}

/**
 * Roll back the transaction a process killed mid-write left in the journal's rollback journal
 * (`journal.db-journal`, "hot": the journal is in rollback mode at rest, see `close`), which a
 * read-only connection cannot do: `imgpull status` and `report` after a `kill -9` of a run that
 * was opening the journal failed with `SQLITE_READONLY_ROLLBACK` (exit 3) until the next pull.
 * SQLite rolls it back as a connection that may write first reads (sqlite.org/atomiccommit.html
 * §4.2, "Hot Rollback Journals"), as the next run would; nothing else is written. A folder this
 * user cannot write keeps the error.
 */
function rollBack(path: string): void {
  const db = new Database(path, { fileMustExist: true })
  try {
    db.pragma('user_version', { simple: true })
  } finally {
    db.close()
  }
}

/** Columns a journal made by an earlier version lacks: added in place, existing rows keep theirs. */
function migrate(db: Database.Database): void {
  const columns = (table: string) =>
    new Set((db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name))
  const jobs = columns('jobs')
  if (!jobs.has('validators_from')) db.exec('ALTER TABLE jobs ADD COLUMN validators_from TEXT')
  if (!jobs.has('stated')) db.exec('ALTER TABLE jobs ADD COLUMN stated TEXT')
  // Rows failed before it was recorded keep none (see `failureHolds`).
  if (!jobs.has('checked')) db.exec('ALTER TABLE jobs ADD COLUMN checked TEXT')
  // Written to the manifest only (see `manifestLinesOf`): no record reads it, so a reader of an
  // older journal, which cannot add it, never asks for it.
  if (!jobs.has('caption')) db.exec('ALTER TABLE jobs ADD COLUMN caption TEXT')
  // Failures recorded before it was kept name no line: shown without one.
  if (!jobs.has('place')) db.exec('ALTER TABLE jobs ADD COLUMN place TEXT')
  if (!jobs.has('planned_fold')) {
    // Names planned by an earlier version get their fold once; those that already share one (its
    // Cat.jpg beside cat.jpg) keep their names, so the index cannot be unique.
    db.function('imgpull_fold', { deterministic: true }, (name: unknown) => nameFold(String(name)))
    db.exec('ALTER TABLE jobs ADD COLUMN planned_fold TEXT')
    db.exec('UPDATE jobs SET planned_fold = imgpull_fold(planned)')
  }
  db.exec('CREATE INDEX IF NOT EXISTS jobs_planned_fold ON jobs (planned_fold)')
  for (const f of OUTCOME_FIELDS) {
    if (!jobs.has(column(f))) db.exec(`ALTER TABLE jobs ADD COLUMN ${column(f)} ${sqlType(f)}`)
  }
  const runs = columns('runs')
  for (const [name, type] of [
    ['ended_at', 'INTEGER'],
    ['command', 'TEXT'],
    ['interrupted', 'INTEGER'],
  ]) {
    if (!runs.has(name)) db.exec(`ALTER TABLE runs ADD COLUMN ${name} ${type}`)
  }
}

interface RunRow {
  id: number
  started_at: number
  ended_at: number | null
  command: string | null
  interrupted: number | null
}

function runFromRow(r: RunRow): RunInfo {
  const info: RunInfo = { id: r.id, startedAt: r.started_at }
  // A journal of an earlier version has none of these columns (a reader cannot add them).
  if (r.ended_at != null) info.endedAt = r.ended_at
  if (r.command != null) info.command = r.command
  if (r.interrupted != null) info.interrupted = r.interrupted === 1
  return info
}

interface SampleRow {
  t: number
  host: string
  lim: number
  in_flight: number
}

/** A run's samples, read afresh each time they are iterated (the report reads them twice). */
function samplesOf(db: Database.Database, run: number): Iterable<HostSample> {
  const query = db.prepare<[number], SampleRow>(
    'SELECT t, host, lim, in_flight FROM samples WHERE run = ? ORDER BY rowid',
  )
  return {
    *[Symbol.iterator]() {
      for (const r of query.iterate(run)) yield { t: r.t, host: r.host, limit: r.lim, inFlight: r.in_flight }
    },
  }
}

/**
 * The embedded journal: one SQLite file (WAL, synchronous=NORMAL) in the output folder. Writes
 * go into an open transaction that commits every few milliseconds, so thousands of outcomes a
 * second cost one commit each tick, and WAL keeps every commit through a `kill -9`.
 */
export class SqliteJournal implements Journal {
  readonly run: number
  readonly #db: Database.Database
  readonly #stmt
  #inTransaction = false
  #ops = 0
  #timer: NodeJS.Timeout | undefined
  #waiters: { resolve: () => void; reject: (e: unknown) => void }[] = []
  /** A failed commit (disk full): every later write reports it. */
  #error: unknown

  /**
   * `startedAt`: when the run began, before the journal could open (the modules it loads, the
   * folder's lock): the report's wall time then is the terminal's, not half of it for a short run.
   */
  constructor(path: string, startedAt = steadyNow()) {
    mkdirSync(dirname(path), { recursive: true })
    const fresh = !existsSync(path)
    this.#db = openJournalDb(path)
    // A new journal is made without fsync: its switch to WAL, schema and first row cost five fsyncs,
    // 1.5 ms on an idle ext4 disk, 16–110 ms on one that other processes were writing to, before the first
    // request of every run in a new folder.
    // A crash loses nothing the system has not written (the page cache outlives the process), and
    // there is nothing yet for a power loss to take. An existing journal switches with them, as it
    // holds what earlier runs did.
    try {
      if (fresh) this.#db.pragma('synchronous = OFF')
      this.#db.pragma('journal_mode = WAL')
      this.#db.exec(SCHEMA)
      migrate(this.#db)
      this.#db.pragma(`user_version = ${SCHEMA_VERSION}`)
      this.run = Number(
        this.#db.prepare('INSERT INTO runs (started_at) VALUES (?)').run(startedAt).lastInsertRowid,
      )
      this.#db.pragma('synchronous = NORMAL')
    } catch (error) {
      // A journal found damaged here is set aside by the run (see `openJournal`): not held open.
      // Another fault stops the run, whose words ask whether descriptors ran short (a CANTOPEN of
      // the -wal: see `localFault`), which a close here would have given back.
      if (damagedJournal(error)) this.#db.close()
      throw error
    }
    this.#stmt = {
      get: this.#db.prepare<[string], Row>('SELECT * FROM jobs WHERE key = ?'),
      // Another job's name that is the same file on a case-insensitive disk (see `nameFold`).
      nameTaken: this.#db.prepare<[string, string], { key: string }>(
        'SELECT key FROM jobs WHERE planned_fold = ? AND key <> ? LIMIT 1',
      ),
      // A failed job of an earlier run gives up its name (see `plan`): kept unique, and no name's fold.
      release: this.#db.prepare<[string, number]>(
        `UPDATE jobs SET planned = planned || char(0) || key, planned_fold = NULL WHERE key = ? AND state = 'failed' AND run < ?`,
      ),
      insert: this.#db.prepare(
        // A key planned again with another URL (a table row edited: see planJob) takes its new
        // name and forgets the old URL's validators; the right side reads the row as it was.
        `INSERT INTO jobs (key, url, planned, planned_fold, state, run, meta, caption) VALUES (@key, @url, @planned, @fold, 'pending', @run, @meta, @caption)
         ON CONFLICT(key) DO UPDATE SET url = @url, planned = @planned, planned_fold = @fold, state = 'pending', run = @run,
           meta = coalesce(@meta, meta), caption = coalesce(@caption, caption), etag = CASE WHEN url = @url THEN etag END,
           last_modified = CASE WHEN url = @url THEN last_modified END, length = CASE WHEN url = @url THEN length END,
           validators_from = CASE WHEN url = @url THEN validators_from END, stated = CASE WHEN url = @url THEN stated END`,
      ),
      touch: this.#db.prepare(
        'UPDATE jobs SET run = ?, meta = coalesce(?, meta), caption = coalesce(?, caption), place = coalesce(?, place) WHERE key = ?',
      ),
      forget: this.#db.prepare('DELETE FROM jobs WHERE key = ? AND run <> ?'),
      validators: this.#db.prepare(
        'UPDATE jobs SET etag = @etag, last_modified = @lastModified, length = @length, validators_from = @from, stated = @stated WHERE key = @key',
      ),
      // Its parameters by position (see `finish`).
      finish: this.#db.prepare(
        `UPDATE jobs SET state = ?, checked = ?, place = ?, ${OUTCOME_FIELDS.map((f) => `${column(f)} = ?`).join(', ')} WHERE key = ?`,
      ),
      describeRun: this.#db.prepare('UPDATE runs SET command = ? WHERE id = ?'),
      endRun: this.#db.prepare('UPDATE runs SET ended_at = ?, interrupted = ? WHERE id = ?'),
      runInfo: this.#db.prepare<[number], RunRow>('SELECT * FROM runs WHERE id = ?'),
      sample: this.#db.prepare('INSERT INTO samples (run, t, host, lim, in_flight) VALUES (?, ?, ?, ?, ?)'),
    }
  }

  describeRun(info: { command?: string }) {
    this.#write()
    this.#stmt.describeRun.run(info.command ?? null, this.run)
  }

  folderRecord(): string | undefined {
    const row = this.#db
      .prepare<[string], { value: string }>('SELECT value FROM folder WHERE name = ?')
      .get('files.json')
    return row?.value
  }

  setFolderRecord(text: string) {
    this.#write()
    this.#db.prepare('INSERT OR REPLACE INTO folder (name, value) VALUES (?, ?)').run('files.json', text)
  }

  endRun(info: { interrupted: boolean; endedAt?: number }) {
    this.#write()
    this.#stmt.endRun.run(info.endedAt ?? steadyNow(), info.interrupted ? 1 : 0, this.run)
  }

  abandonRun() {
    this.#write()
    this.#db.prepare('DELETE FROM samples WHERE run = ?').run(this.run)
    this.#db.prepare('DELETE FROM runs WHERE id = ?').run(this.run)
  }

  runInfo(id = this.run): RunInfo | undefined {
    this.#commit()
    const row = this.#stmt.runInfo.get(id)
    return row && runFromRow(row)
  }

  addSamples(samples: readonly HostSample[]) {
    if (samples.length === 0) return
    this.#write()
    for (const s of samples) this.#stmt.sample.run(this.run, s.t, s.host, s.limit, s.inFlight)
  }

  samples(run: number): Iterable<HostSample> {
    this.#commit()
    return samplesOf(this.#db, run)
  }

  get(key: string): JobRecord | undefined {
    const row = this.#stmt.get.get(key)
    return row && fromRow(row)
  }

  plan(
    job: { key: string; url: string; meta?: Record<string, unknown>; caption?: string },
    planned: string,
    alt: (n: number) => string,
  ) {
    this.#write()
    // The name this run's template gives, also to a job an earlier run planned and did not save:
    // a rerun with another --name names it anew, and the same template gives it the same name
    // again (a name the key holds already is its own).
    let name = planned
    for (let n = 1; ; n++) {
      const holder = this.#stmt.nameTaken.get(nameFold(name), job.key)
      if (!holder) break
      // A job an earlier run failed kept no file under its name: a share page in place of the
      // image, a 404. The URL put in the list in its place (the link that gives the file) takes
      // it, where it was named `sofa-0f607430.jpg`; the failed job, planned again, is named anew.
      // A file at the name all the same (one a later failure left) is never written over: the
      // publish step takes a variant then.
      if (this.#stmt.release.run(holder.key, this.run).changes > 0) break
      name = alt(n)
    }
    const meta = job.meta === undefined ? null : metaJson(job.meta)
    try {
      this.#stmt.insert.run({
        key: job.key,
        url: job.url,
        planned: name,
        fold: nameFold(name),
        run: this.run,
        meta,
        caption: job.caption === undefined ? null : wellFormedText(job.caption),
      })
    } catch (error) {
      // The name was just found free in the table: an index that says otherwise is damaged.
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw damaged('its index of names disagrees with its jobs', error)
      throw error
    }
    return name
  }

  touch(key: string, meta?: Record<string, unknown>, caption?: string, place?: string) {
    this.#write()
    this.#stmt.touch.run(
      this.run,
      meta === undefined ? null : metaJson(meta),
      caption === undefined ? null : wellFormedText(caption),
      place ?? null,
      key,
    )
  }

  forget(keys: Iterable<string>) {
    this.#write()
    for (const key of keys) this.#stmt.forget.run(key, this.run)
  }

  setValidators(key: string, v: Validators) {
    this.#write()
    this.#stmt.validators.run(validatorValues(key, v))
    // Committed now, not at the batch's tick: they are set as a body first goes to its part file,
    // which may then fill the disk, and a commit after that fails (SQLITE_FULL). The part was kept
    // for a rerun that found no validators and fetched it from byte 0.
    this.#commit()
  }

  keepValidators(key: string, v: Validators): boolean {
    // What the batch holds goes first (a commit that fails is kept as any other's), then these in
    // a commit of their own: a batch a full disk refused was rolled back, and later writes refuse.
    this.flush()
    return this.#stmt.validators.run(validatorValues(key, v)).changes > 0
  }

  finish(o: Finished): Promise<void> {
    this.#write()
    // In the statement's order: the state, what it was judged against, its place, each outcome field, the key. By name,
    // better-sqlite3 looks each parameter up: 17 µs a job against 12 µs so, on every file of the run.
    const values: unknown[] = [o.state, o.checked ?? null, o.place ?? null]
    for (const f of OUTCOME_FIELDS) {
      const v = o[f]
      values.push(
        typeof v === 'boolean' ? Number(v) : typeof v === 'object' ? JSON.stringify(v) : (v ?? null),
      )
    }
    values.push(o.key)
    this.#stmt.finish.run(values)
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }))
  }

  flush() {
    if (this.#inTransaction) this.#commit()
  }

  *records(): Iterable<JobRecord> {
    this.#commit()
    yield* recordsOf(this.#db)
  }

  *credited(): Iterable<JobRecord> {
    this.#commit()
    yield* recordsOf(this.#db, CREDITED)
  }

  manifestLines(): Iterable<string> {
    this.#commit()
    return manifestLinesOf(this.#db)
  }

  /**
   * What a crash or a power loss can take from this connection: SQLite's `synchronous` level (0 OFF,
   * 1 NORMAL, 2 FULL) and journal mode. A run holds NORMAL and `wal` (see the constructor).
   */
  get durability(): { synchronous: number; journalMode: string } {
    return {
      synchronous: this.#db.pragma('synchronous', { simple: true }) as number,
      journalMode: this.#db.pragma('journal_mode', { simple: true }) as string,
    }
  }

  async close() {
    this.#commit()
    // At rest, a rollback journal: a WAL database cannot be opened, even read-only, by a user who
    // cannot write its folder (SQLite must make the -shm file there), and `imgpull status` and
    // `imgpull report` should read any folder they can read. Best effort: a reader may hold it.
    try {
      this.#db.pragma('journal_mode = DELETE')
    } catch {}
    this.#db.close()
    if (this.#error) throw this.#error
  }

  /** Open the batch transaction if needed and schedule its commit. */
  #write() {
    if (this.#error) throw this.#error
    if (!this.#inTransaction) {
      this.#db.exec('BEGIN')
      this.#inTransaction = true
      this.#timer = setTimeout(() => this.#commit(), COMMIT_MS)
    }
    if (++this.#ops >= COMMIT_OPS) queueMicrotask(() => this.#commit())
  }

  #commit() {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#ops = 0
    const waiters = this.#waiters
    this.#waiters = []
    try {
      if (this.#inTransaction) {
        this.#inTransaction = false
        this.#db.exec('COMMIT')
      }
    } catch (error) {
      // Runs from a timer: report through the waiters and later writes, never as a crash.
      this.#error = error
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK')
      for (const w of waiters) w.reject(error)
      return
    }
    for (const w of waiters) w.resolve()
  }
}

/** The parameters of the `validators` statement: how to resume `key`'s part. */
function validatorValues(key: string, v: Validators) {
  return {
    key,
    etag: v.etag ?? null,
    lastModified: v.lastModified ?? null,
    length: v.length ?? null,
    from: v.from ?? null,
    stated: v.stated ? JSON.stringify(v.stated) : null,
  }
}

/** URLs (not rows) of one sha256 that `imgpull status` names: fewer are the duplicates any dataset has. */
export const SAME_BYTES_AT = 5

/** The latest files ok among which `imgpull status` looks for those (a bound on its time). */
export const SAME_BYTES_AMONG = 100_000

/** What `imgpull status` tells of a journal (see `summarizeJournal`). */
export type JournalSummary = ReturnType<typeof summarize>

/** Read-only access for `imgpull status`: counts, the commonest errors, bytes many URLs gave. */
export function summarizeJournal(path: string): JournalSummary {
  const reader = new JournalReader(path)
  try {
    return reader.summary()
  } finally {
    reader.close()
  }
}

function summarize(db: Database.Database) {
  const counts = db.prepare('SELECT state, count(*) AS n FROM jobs GROUP BY state').all() as {
    state: string
    n: number
  }[]
  // The example's message with where its input holds it (see `Finished.place`), from one row:
  // the least message, as before, and its least place, after a NUL no message or place holds.
  const [place] = columnsOrNull(db, ['place'])
  const errors = (
    db
      .prepare(
        `SELECT error, count(*) AS n, min(url) AS example, min(message || char(0) || coalesce(${place}, '')) AS message FROM jobs
       WHERE state = 'failed' GROUP BY error ORDER BY n DESC LIMIT 10`,
      )
      .all() as { error: string; n: number; example: string; message: string }[]
  ).map(({ message, ...e }) => {
    // A failure without a message has none (SQLite's min() passes over nulls).
    const cut = message === null ? -1 : message.lastIndexOf('\u0000')
    const place = cut < 0 ? '' : message.slice(cut + 1)
    return { ...e, message: cut < 0 ? message : message.slice(0, cut), ...(place ? { place } : {}) }
  })
  const bytes = (
    db.prepare("SELECT coalesce(sum(bytes), 0) AS b FROM jobs WHERE state = 'ok'").get() as { b: number }
  ).b
  const runs = (db.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n
  // Whether the latest run came to its end: one killed (kill -9, an OOM, a machine that stopped)
  // never wrote `ended_at`, and its input's rows past where it was are in no row of `jobs`.
  const last = db.prepare('SELECT ended_at, interrupted FROM runs ORDER BY id DESC LIMIT 1').get() as
    | { ended_at: number | null; interrupted: number | null }
    | undefined
  const lastRun = !last
    ? undefined
    : last.ended_at == null
      ? 'killed'
      : last.interrupted === 1
        ? 'stopped'
        : 'ended'
  const failures = db
    .prepare("SELECT error, count(*) AS n FROM jobs WHERE state = 'failed' GROUP BY error ORDER BY n DESC")
    .all() as { error: string; n: number }[]
  // Many URLs with the very same bytes: often the placeholder a server sends, with 200 and no
  // redirect, for every image it no longer has ("image not available"): an image, so kept, but
  // one a user wants to hear of (a redirect to one shows in the manifest's finalUrl). Looked for
  // among the latest files only: grouping every row took 1.3 s a million, status must stay quick.
  // URLs are counted, not rows: a dataset's rows that repeat a URL (MS COCO's, one a caption,
  // rom1504/img2dataset#244; LAION's duplicates), each a sample of its own, are that URL's bytes
  // again, not one picture under many addresses.
  const sameBytes = db
    .prepare(
      `SELECT sha256, count(DISTINCT url) AS n, min(url) AS example FROM (
         SELECT sha256, url FROM jobs WHERE state = 'ok' AND sha256 IS NOT NULL ORDER BY id DESC LIMIT ?
       ) GROUP BY sha256 HAVING n >= ? ORDER BY n DESC LIMIT 3`,
    )
    .all(SAME_BYTES_AMONG, SAME_BYTES_AT) as { sha256: string; n: number; example: string }[]
  // A sharing site's page in place of the image: told by its message, which names the link that
  // gives the file (the URL kept has no fragment, nor the address a redirect led to).
  let sharePages = 0
  const pages = db.prepare<[], { message: string | null }>(
    "SELECT message FROM jobs WHERE state = 'failed' AND error = 'not-an-image'",
  )
  for (const { message } of pages.iterate())
    if (isSharePageFailure('not-an-image', message ?? undefined)) sharePages++
  // The journal keeps URLs as given (credentials too: a rerun matches them); what is shown never does.
  for (const e of errors) e.example = redactUrl(e.example)
  for (const e of sameBytes) e.example = redactUrl(e.example)
  return {
    counts: Object.fromEntries(counts.map((c) => [c.state, c.n])),
    errors,
    failures,
    sharePages,
    bytes,
    runs,
    /** How the latest run ended: `ended` (its input read to its end), `stopped` (Ctrl-C, a signal, a fatal error), `killed` (it never said); none before a first run. */
    ...(lastRun ? { lastRun: lastRun as 'ended' | 'stopped' | 'killed' } : {}),
    sameBytes,
  }
}

/**
 * A journal opened read-only, for `imgpull report` and `imgpull status`: it may be read while a run
 * writes it (WAL), and reading never adds a run.
 */
export class JournalReader {
  readonly #db: Database.Database
  constructor(path: string) {
    this.#db = openJournalDb(path, { readonly: true, fileMustExist: true })
  }

  records(): Iterable<JobRecord> {
    return recordsOf(this.#db)
  }

  /** What `imgpull status` tells of the journal: counts, the commonest errors, bytes many URLs gave. */
  summary(): JournalSummary {
    // One read transaction: a run writing meanwhile (WAL) must not make the counts by state and
    // by error two different moments ('53176 failed' beside 'invalid-url ×54016').
    return this.#db.transaction(() => summarize(this.#db))()
  }

  /** The records that may credit an Unsplash photographer (see `CREDITED`). */
  credited(): Iterable<JobRecord> {
    return recordsOf(this.#db, CREDITED)
  }

  /** The earliest run, or `undefined` in a journal without one. */
  firstRun(): RunInfo | undefined {
    const row = this.#db.prepare<[], RunRow>('SELECT * FROM runs ORDER BY id LIMIT 1').get()
    return row && runFromRow(row)
  }

  /** The latest run, or `undefined` in a journal without one. */
  lastRun(): RunInfo | undefined {
    const row = this.#db.prepare<[], RunRow>('SELECT * FROM runs ORDER BY id DESC LIMIT 1').get()
    return row && runFromRow(row)
  }

  /**
   * The failed and unfinished jobs by the run that last planned or touched each (`jobs.run`: a run
   * sees every job of its input, planned or skipped as done), with that run's command line (`null`
   * for a library run, which records none), earliest run first: whose rerun takes each up again.
   */
  openByRun(): { run: number; command: string | null; failed: number; pending: number }[] {
    // A journal of an earlier version has no `command` (a reader cannot add it).
    const has = (this.#db.prepare('PRAGMA table_info(runs)').all() as { name: string }[]).some(
      (c) => c.name === 'command',
    )
    return this.#db
      .prepare<[], { run: number; command: string | null; failed: number; pending: number }>(
        `SELECT jobs.run AS run, ${has ? 'runs.command' : 'NULL'} AS command, sum(jobs.state = 'failed') AS failed,
           sum(jobs.state = 'pending') AS pending
         FROM jobs LEFT JOIN runs ON runs.id = jobs.run WHERE jobs.state IN ('failed', 'pending')
         GROUP BY jobs.run ORDER BY jobs.run`,
      )
      .all()
  }

  /** The highest row of a table's or a dataset's job (keys `row:N`), or `undefined` where none is. */
  highestRow(): number | undefined {
    const row = this.#db
      .prepare<[], { n: number | null }>(
        "SELECT max(CAST(substr(key, 5) AS INTEGER)) AS n FROM jobs WHERE key LIKE 'row:%'",
      )
      .get()
    return row?.n ?? undefined
  }

  /**
   * The failed jobs' counts by code (`error`, `null` for a failure without one), commonest first
   * (ties by code).
   */
  failureCodes(): { error: string | null; n: number }[] {
    return this.#db
      .prepare<[], { error: string | null; n: number }>(
        "SELECT error, count(*) AS n FROM jobs WHERE state = 'failed' GROUP BY error ORDER BY n DESC, error",
      )
      .all()
  }

  /**
   * The failed jobs' URLs as the journal keeps them (credentials too), with their codes, in the
   * order the jobs were first planned (input order), streamed: of the code `code` alone when given
   * (`null`: failures without one), else of every code.
   */
  *failed(code?: string | null): Iterable<{ url: string; error: string | null }> {
    const which = code === undefined ? '' : code === null ? ' AND error IS NULL' : ' AND error = ?'
    const query = this.#db.prepare<unknown[], { url: string; error: string | null }>(
      `SELECT url, error FROM jobs WHERE state = 'failed'${which} ORDER BY id`,
    )
    yield* query.iterate(...(code ? [code] : []))
  }

  samples(run: number): Iterable<HostSample> {
    const has = this.#db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'samples'")
      .get()
    return has ? samplesOf(this.#db, run) : []
  }

  close(): void {
    this.#db.close()
  }
}
