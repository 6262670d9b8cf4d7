import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import type { Validators } from '../types.js'
import type { JobRecord, Journal, Outcome } from './journal.js'

/** Commit at least this often; a crash loses at most this much bookkeeping, never a file. */
const COMMIT_MS = 25
/** ...or once this many writes are waiting. */
const COMMIT_OPS = 2000

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, started_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  url TEXT NOT NULL,
  planned TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL,
  run INTEGER NOT NULL,
  path TEXT, bytes INTEGER, sha256 TEXT, format TEXT, width INTEGER, height INTEGER,
  http_status INTEGER, error TEXT, message TEXT, attempts INTEGER NOT NULL DEFAULT 0,
  ttfb REAL, total REAL, etag TEXT, last_modified TEXT, length INTEGER, meta TEXT
);`

interface Row {
  key: string
  url: string
  planned: string
  state: JobRecord['state']
  run: number
  path: string | null
  bytes: number | null
  sha256: string | null
  format: string | null
  width: number | null
  height: number | null
  http_status: number | null
  error: string | null
  message: string | null
  attempts: number
  ttfb: number | null
  total: number | null
  etag: string | null
  last_modified: string | null
  length: number | null
  meta: string | null
}

function fromRow(row: Row): JobRecord {
  const record: JobRecord = {
    key: row.key,
    url: row.url,
    planned: row.planned,
    state: row.state,
    run: row.run,
    attempts: row.attempts,
  }
  const optional = {
    path: row.path,
    bytes: row.bytes,
    sha256: row.sha256,
    format: row.format,
    width: row.width,
    height: row.height,
    httpStatus: row.http_status,
    error: row.error,
    message: row.message,
    ttfb: row.ttfb,
    total: row.total,
    etag: row.etag,
    lastModified: row.last_modified,
    length: row.length,
  }
  for (const [k, v] of Object.entries(optional))
    if (v !== null) (record as unknown as Record<string, unknown>)[k] = v
  if (row.meta) record.meta = JSON.parse(row.meta)
  return record
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

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true })
    this.#db = new Database(path)
    this.#db.pragma('journal_mode = WAL')
    this.#db.pragma('synchronous = NORMAL')
    this.#db.exec(SCHEMA)
    this.run = Number(
      this.#db.prepare('INSERT INTO runs (started_at) VALUES (?)').run(Date.now()).lastInsertRowid,
    )
    this.#stmt = {
      get: this.#db.prepare<[string], Row>('SELECT * FROM jobs WHERE key = ?'),
      nameOwner: this.#db.prepare<[string], { key: string }>('SELECT key FROM jobs WHERE planned = ?'),
      insert: this.#db.prepare(
        `INSERT INTO jobs (key, url, planned, state, run, meta) VALUES (@key, @url, @planned, 'pending', @run, @meta)
         ON CONFLICT(key) DO UPDATE SET url = @url, state = 'pending', run = @run, meta = coalesce(@meta, meta)`,
      ),
      touch: this.#db.prepare('UPDATE jobs SET run = ? WHERE key = ?'),
      validators: this.#db.prepare(
        'UPDATE jobs SET etag = @etag, last_modified = @lastModified, length = @length WHERE key = @key',
      ),
      finish: this.#db.prepare(
        `UPDATE jobs SET state = @state, path = @path, bytes = @bytes, sha256 = @sha256, format = @format,
         width = @width, height = @height, http_status = @httpStatus, error = @error, message = @message,
         attempts = @attempts, ttfb = @ttfb, total = @total WHERE key = @key`,
      ),
      all: this.#db.prepare<[], Row>('SELECT * FROM jobs ORDER BY id'),
    }
  }

  get(key: string): JobRecord | undefined {
    const row = this.#stmt.get.get(key)
    return row && fromRow(row)
  }

  plan(
    job: { key: string; url: string; meta?: Record<string, unknown> },
    planned: string,
    alt: (n: number) => string,
    existing?: JobRecord,
  ) {
    this.#write()
    let name = existing?.planned ?? planned
    if (!existing) {
      for (let n = 1; this.#stmt.nameOwner.get(name); n++) name = alt(n)
    }
    const meta = job.meta === undefined ? null : JSON.stringify(job.meta)
    this.#stmt.insert.run({ key: job.key, url: job.url, planned: name, run: this.run, meta })
    return name
  }

  touch(key: string) {
    this.#write()
    this.#stmt.touch.run(this.run, key)
  }

  setValidators(key: string, v: Validators) {
    this.#write()
    this.#stmt.validators.run({
      key,
      etag: v.etag ?? null,
      lastModified: v.lastModified ?? null,
      length: v.length ?? null,
    })
  }

  finish(o: Outcome): Promise<void> {
    this.#write()
    this.#stmt.finish.run({
      key: o.key,
      state: o.state,
      path: o.path ?? null,
      bytes: o.bytes ?? null,
      sha256: o.sha256 ?? null,
      format: o.format ?? null,
      width: o.width ?? null,
      height: o.height ?? null,
      httpStatus: o.httpStatus ?? null,
      error: o.error ?? null,
      message: o.message ?? null,
      attempts: o.attempts,
      ttfb: o.ttfb ?? null,
      total: o.total ?? null,
    })
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }))
  }

  flush() {
    if (this.#inTransaction) this.#commit()
  }

  *records(): Iterable<JobRecord> {
    this.#commit()
    for (const row of this.#stmt.all.iterate()) yield fromRow(row)
  }

  async close() {
    this.#commit()
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

/** Read-only access for `imgpull status`: counts and the commonest errors. */
export function summarizeJournal(path: string) {
  const db = new Database(path, { readonly: true, fileMustExist: true })
  try {
    const counts = db.prepare('SELECT state, count(*) AS n FROM jobs GROUP BY state').all() as {
      state: string
      n: number
    }[]
    const errors = db
      .prepare(
        `SELECT error, count(*) AS n, min(url) AS example, min(message) AS message FROM jobs
         WHERE state = 'failed' GROUP BY error ORDER BY n DESC LIMIT 10`,
      )
      .all() as { error: string; n: number; example: string; message: string }[]
    const bytes = (
      db.prepare("SELECT coalesce(sum(bytes), 0) AS b FROM jobs WHERE state = 'ok'").get() as { b: number }
    ).b
    const runs = (db.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n
    return { counts: Object.fromEntries(counts.map((c) => [c.state, c.n])), errors, bytes, runs }
  } finally {
    db.close()
  }
}
