/** The table formats imgpull reads. Plain URL lists are not tables: `src/sources/lines.ts` reads them. */
export type TableFormat = 'csv' | 'tsv' | 'jsonl' | 'parquet'

export const TABLE_FORMATS: readonly TableFormat[] = ['csv', 'tsv', 'jsonl', 'parquet']

/** A file to read as a table: its format, and whether it is gzip-compressed. */
export interface TableFile {
  path: string
  format: TableFormat
  gzip: boolean
  /** A CSV file's field separator, once its header showed it (see `csvDelimiter`). @default ',' */
  delimiter?: ',' | ';'
  /** A CSV file whose first line is Excel's `sep=;` (see `sepLine`): its header is the next record. */
  sepLine?: boolean
}

const BY_EXTENSION = new Map<string, TableFormat>([
  ['csv', 'csv'],
  ['tsv', 'tsv'],
  ['jsonl', 'jsonl'],
  ['ndjson', 'jsonl'],
  ['parquet', 'parquet'],
])

/**
 * The format a file name says, case-insensitively: `.csv`, `.tsv`, `.jsonl`, `.ndjson`, `.parquet`,
 * each optionally followed by `.gz`. `undefined` for any other name (`.txt`, `.json`, no extension):
 * such a file is not a table.
 */
export function detectTableFormat(path: string): { format: TableFormat; gzip: boolean } | undefined {
  const name = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1).toLowerCase()
  const gzip = name.endsWith('.gz')
  const stem = gzip ? name.slice(0, -3) : name
  const dot = stem.lastIndexOf('.')
  if (dot <= 0) return undefined
  const format = BY_EXTENSION.get(stem.slice(dot + 1))
  return format && { format, gzip }
}

/** Whether a file name is gzip-compressed by its name (`.gz`), whatever the format. */
export const isGzipName = (path: string): boolean => path.toLowerCase().endsWith('.gz')
