import type { Job, Source } from '../../types.js'
import type { TableJob } from './job.js'
import type { OpenedTables } from './source.js'

/** The journal key of a table row: rows are samples, so two rows with one URL are two jobs. */
export const rowKey = (row: number) => `row:${row}`

/** A table row as a job for `pull()`: keyed by its row, its scalar columns usable in `--name`. */
export function rowJob(t: TableJob): Job {
  const fields: Record<string, string> = { row: String(t.row) }
  for (const [name, value] of Object.entries(t.meta)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      // A column named `__proto__` is a field like any other, not the object's prototype.
      if (name === '__proto__')
        Object.defineProperty(fields, name, { value: String(value), enumerable: true, writable: true })
      else fields[name] = String(value)
    }
  }
  const job: Job = { url: t.url, key: rowKey(t.row), row: t.row, fields, meta: t.meta }
  if (t.caption !== undefined) job.caption = t.caption
  if (t.expectedHash) job.expectedHash = t.expectedHash
  if (t.invalid) job.invalid = t.invalid
  // Its place, made only when a message reads it (see `buildJob`).
  const place = Object.getOwnPropertyDescriptor(t, 'where')
  if (place) Object.defineProperty(job, 'where', place)
  return job
}

/**
 * Opened tables as a source for `pull()`: their rows in order, with their count when known. The
 * name template may use `{row}` and the carried columns (`columns`, else every column the tables
 * show before they are read: `OpenedTables.columns`), checked before the run makes its folder; a
 * row whose cell is null, missing or not a scalar gets an empty value there, as any other row
 * would. Where the columns are not known ahead (a gzip-compressed Parquet file), each row is
 * checked against its own.
 */
export function tablesSource(tables: OpenedTables, columns?: readonly string[]): Source {
  const names = columns ?? tables.columns
  return {
    async *[Symbol.asyncIterator]() {
      for await (const t of tables) yield rowJob(t)
    },
    total: () => tables.rows,
    ...(names ? { fields: ['row', ...names] } : {}),
    ...(tables.columnTypes ? { columnTypes: tables.columnTypes } : {}),
    ...(names ? { parquetColumns: names } : {}),
    rowColumns: tables.rowColumns,
  }
}
