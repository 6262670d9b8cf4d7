import type { Outcome } from '../../outcome.js'
import { jsonSafe, type NonFiniteText, nonFiniteText, wellFormedText } from '../../sources/tables/values.js'
import type { Job, Status } from '../../types.js'
import { redactUrl } from '../../utils/url.js'

/**
 * imgpull's own columns of a dataset row, in the order they are written, under img2dataset's
 * names where it has one (`key`, `url`, `caption`, `status`, `error_message`, `width`, `height`,
 * `original_width`, `original_height`, `sha256`); `error_code` and `http_status` are imgpull's.
 */
export const OWN_COLUMNS = [
  'key',
  'url',
  'caption',
  'status',
  'error_code',
  'error_message',
  'http_status',
  'width',
  'height',
  'original_width',
  'original_height',
  'sha256',
] as const

export type OwnColumn = (typeof OWN_COLUMNS)[number]
const OWN = new Set<string>(OWN_COLUMNS)

/**
 * The columns of `--columns` that a shard leaves out, named as imgpull's own (`status`, `key`,
 * `width`...): all but the caption column named `caption` and the hash column named `sha256`,
 * which are those columns' values anyway. `[]` when there is none.
 */
export function shadowedColumns(
  columns: readonly string[],
  roles: { caption?: string; hash?: string } = {},
): string[] {
  return columns.filter(
    (name) =>
      OWN.has(name) &&
      !(name === 'caption' && roles.caption === name) &&
      !(name === 'sha256' && roles.hash === name),
  )
}

/**
 * The warning for `shadowedColumns`' columns, or `undefined` when there is none: which columns the
 * shards' .json and Parquet leave out, and the option that gives a `caption` or `sha256` column its
 * role. `tables.columns` is `--columns` as given (absent: the table's own columns, carried by
 * default). Left out with a word, as img2dataset does without one: a `caption` column without
 * --caption-col left every sample's caption null. Pure.
 */
export function shadowedWarning(
  carried: readonly string[],
  tables: { columns?: readonly string[]; captionCol?: string; hashCol?: string },
): string | undefined {
  const shadowed = shadowedColumns(carried, { caption: tables.captionCol, hash: tables.hashCol })
  if (shadowed.length === 0) return undefined
  const many = shadowed.length > 1
  const roles = [
    shadowed.includes('caption') && tables.captionCol === undefined
      ? "--caption-col caption makes that column the samples' caption"
      : '',
    shadowed.includes('sha256') && tables.hashCol === undefined
      ? '--hash-col sha256 checks each image against that column'
      : '',
  ].filter(Boolean)
  return `${tables.columns ? '--columns' : `the table's ${many ? 'columns' : 'column'}`} ${shadowed.join(',')}: the shards' .json and Parquet have imgpull's own ${many ? 'columns' : 'column'} of ${many ? 'those names' : 'that name'} (see README, Datasets), so the table's ${many ? 'are' : 'is'} left out there; the manifest's meta keeps ${many ? 'them' : 'it'}${roles.length ? ` (${roles.join(', ')})` : ''}`
}

/**
 * A column's name as readers that match names without case see it (DuckDB, Spark: Java's
 * lowercase, which folds `É` too): two names folded alike are one column to them.
 */
export const foldedName = (name: string): string => name.toLowerCase()

/** Whether `name` is an own column's but for case (`WIDTH`): one column to DuckDB and Spark. */
export const ownButForCase = (name: string): boolean => !OWN.has(name) && OWN.has(foldedName(name))

/** One input row of a shard: its sample's place, its columns, and what its files are. */
export interface SampleRow {
  /** Position in the shard, from 0. */
  index: number
  /**
   * The row as the Parquet holds it: imgpull's own columns (`OWN_COLUMNS`, null when unknown), then
   * the carried ones in the job's order. A carried column named like an own column is left out
   * (img2dataset does the same: its own fields win); the manifest's `meta` still has it. (One
   * named so but for case stays here, for the sample's `.json`; see `ShardTable`.)
   */
  columns: Record<string, unknown>
  /** The image's extension (its detected or transformed format): the row has a sample in the tar. */
  ext?: string
  /** Bytes of the image. */
  bytes?: number
  /**
   * The row's caption cell is empty or null: `caption` is null, and its sample's `KEY.txt` is
   * empty (every sample of a table with a caption column has one, as img2dataset writes them).
   */
  blankCaption?: true
  /**
   * Carried columns whose value is a number JSON has not (`NaN`, `Infinity`, `-Infinity`: a
   * Parquet DOUBLE such as a ratio over 0), by name: `columns` (and so the sample's `.json`, as
   * JSON has no such number) holds null there, the Parquet the number itself.
   */
  nonFinite?: Record<string, NonFiniteText>
}

/**
 * The row of `job` with its outcome. `status` `ok` and `skipped` are img2dataset's `success`:
 * the image is in the shard; `failed` rows have no files in the tar. `original_width` and
 * `original_height` are the size as downloaded: the transform stage's input when it ran, else the
 * image's own size (`width`, `height`).
 */
export function sampleRow(index: number, key: string, job: Job, status: Status, outcome: Outcome): SampleRow {
  const ok = status !== 'failed'
  const columns: Record<string, unknown> = {
    key,
    url: redactUrl(job.url),
    caption: job.caption ? wellFormedText(job.caption) : null,
    status: ok ? 'success' : 'failed',
    error_code: ok ? null : (outcome.error ?? null),
    error_message: ok ? null : (outcome.message ?? null),
    http_status: outcome.httpStatus ?? null,
    width: ok ? (outcome.width ?? null) : null,
    height: ok ? (outcome.height ?? null) : null,
    original_width: ok ? (outcome.originalWidth ?? outcome.width ?? null) : null,
    original_height: ok ? (outcome.originalHeight ?? outcome.height ?? null) : null,
    sha256: ok ? (outcome.sha256 ?? null) : null,
  } satisfies Record<OwnColumn, unknown>
  let nonFinite: SampleRow['nonFinite']
  for (const [key, value] of Object.entries(job.meta ?? {})) {
    const name = wellFormedText(key)
    if (OWN.has(name)) continue
    // A column named `__proto__` stays a column, not the object's prototype.
    Object.defineProperty(columns, name, { value: jsonSafe(value), enumerable: true, writable: true })
    const text = nonFiniteText(value)
    if (text) {
      nonFinite ??= {}
      Object.defineProperty(nonFinite, name, { value: text, enumerable: true, writable: true })
    }
  }
  const row: SampleRow = { index, columns }
  if (nonFinite) row.nonFinite = nonFinite
  if (ok && outcome.format) {
    row.ext = outcome.format
    row.bytes = outcome.bytes
    if (job.caption === '') row.blankCaption = true
  }
  return row
}

/**
 * The sample's `KEY.json`: the row's columns but `http_status` (a resumed transfer ends with a 206
 * where an uninterrupted one has a 200; the tar must not depend on how the bytes came).
 */
export function sampleJson(row: SampleRow): string {
  const { http_status: _status, ...rest } = row.columns
  return JSON.stringify(rest)
}
