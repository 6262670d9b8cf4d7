import { jsonSafe, wellFormedText } from './sources/tables/values.js'
import type { Job, Outcome, Result, Status } from './types.js'
import { jsonLineForTerminal } from './utils/printable.js'
import { redactUrl } from './utils/url.js'

export type { Outcome } from './types.js'

/**
 * Each outcome field once, with its SQLite type (`BOOLEAN`: an INTEGER 0/1 read back as a
 * boolean; `JSON`: TEXT holding JSON): the journal's columns come from this table.
 */
export const OUTCOME_COLUMNS = {
  path: 'TEXT',
  httpStatus: 'INTEGER',
  finalUrl: 'TEXT',
  bytes: 'INTEGER',
  sha256: 'TEXT',
  format: 'TEXT',
  width: 'INTEGER',
  height: 'INTEGER',
  originalWidth: 'INTEGER',
  originalHeight: 'INTEGER',
  transformed: 'BOOLEAN',
  attempts: 'INTEGER NOT NULL DEFAULT 0',
  error: 'TEXT',
  message: 'TEXT',
  ttfb: 'REAL',
  total: 'REAL',
  finishedAt: 'INTEGER',
  answers: 'JSON',
} as const satisfies Record<keyof Outcome, string>

export type OutcomeField = keyof typeof OUTCOME_COLUMNS
export const OUTCOME_FIELDS = Object.keys(OUTCOME_COLUMNS) as OutcomeField[]

/**
 * `counts` (an outcome's `answers`) with one more answer of HTTP `status`, as a new object. Built
 * through JSON: V8 takes a key like "200" for an array index, and an object given one by
 * assignment gets a 200-slot elements array (2.6 kB where parsed JSON takes 0.2 kB), which a
 * journal in memory would keep for every job of the run.
 */
export function withAnswer(
  counts: Record<string, number> | undefined,
  status: number,
): Record<string, number> {
  const entries = Object.entries(counts ?? {}).filter(([code]) => code !== String(status))
  entries.push([String(status), (counts?.[status] ?? 0) + 1])
  return JSON.parse(`{${entries.map(([code, n]) => `"${code}":${n}`).join(',')}}`)
}

/** The outcome carried by a result. */
export function outcomeOf(result: Result): Outcome {
  const { job: _job, status: _status, earlier: _earlier, timings, ...fields } = result
  // Added to the rest object, not spread into a new one: Node 20's V8 gives each key added after a leading spread a new hidden class of its own (about 0.7 µs a key, and garbage).
  return Object.assign(fields, { ttfb: timings.ttfb, total: timings.total })
}

/** The outcome fields a `Result` carries as they are (`ttfb` and `total` go in its `timings`). */
const RESULT_FIELDS = OUTCOME_FIELDS.filter((field) => field !== 'ttfb' && field !== 'total')

/**
 * A result for `job` from an outcome (this run's, or an earlier run's from the journal). Only the
 * outcome's fields are taken: a journal record given as the outcome holds its own too (`key`,
 * `url`, `planned`, `state`, `run`, validators), which no result has.
 */
export function resultOf(job: Job, status: Status, outcome: Outcome, earlier = false): Result {
  const result = { job, status } as Result
  // A field without a value is no key at all, as the README and `Result` show it: a skipped result
  // carried `message: undefined`, an ok one `finalUrl: undefined`... (`'message' in result` true).
  for (const field of RESULT_FIELDS)
    if (outcome[field] !== undefined) (result as unknown as Record<string, unknown>)[field] = outcome[field]
  result.timings =
    outcome.ttfb === undefined
      ? { total: outcome.total ?? 0 }
      : { ttfb: outcome.ttfb, total: outcome.total ?? 0 }
  if (earlier) result.earlier = true
  return result
}

/**
 * A job's `meta` as the journal and the manifest keep it: JSON of its values made JSON-safe as
 * the samples' `.json` makes them (`jsonSafe`: a bigint past 2^53 as its digits, bytes as base64,
 * a `Map` as an object), where `JSON.stringify` threw on a bigint (a library job carrying the
 * INT64 cells hyparquet and DuckDB's Node client give) and the run died on an uncaught TypeError.
 */
export const metaJson = (meta: Record<string, unknown>): string => JSON.stringify(jsonSafe(meta))

/**
 * One manifest line (also a `--json` line): the URL (credentials removed), the status, every
 * outcome field (null when unknown), `timings` as in a `Result`, a table row's `caption` when read
 * with `--caption-col` (null for an empty cell, as the shards' Parquet says it), and the job's `meta` if any.
 * `status`: a result's (`ok`, `skipped`, `failed`), or a journal record's (`ok`, `failed`, `pending`).
 */
export function manifestLine(
  url: string,
  status: Status | 'pending',
  outcome: Partial<Outcome>,
  meta?: Record<string, unknown>,
  caption?: string,
): string {
  const line: Record<string, unknown> = { url: redactUrl(url), status }
  for (const field of OUTCOME_FIELDS) {
    if (field !== 'ttfb' && field !== 'total') line[field] = outcome[field] ?? null
  }
  line.timings = { ttfb: outcome.ttfb, total: outcome.total ?? 0 }
  if (caption !== undefined) line.caption = caption ? wellFormedText(caption) : null
  if (meta) line.meta = jsonSafe(meta)
  return jsonLineForTerminal(JSON.stringify(line))
}

/** The manifest line of a result (the `--json` output). */
export function resultLine(result: Result): string {
  return manifestLine(result.job.url, result.status, outcomeOf(result), result.job.meta, result.job.caption)
}
