import { UsageError } from '../../errors.js'
import { visibleShellWord } from '../../utils/command-line.js'
import { inputWord, type PipeTap, shellPipe } from '../pipe-list.js'
import type { Utf16 } from '../utf16.js'
import type { CsvEscape } from './csv-escape.js'

/** The table formats imgpull reads. Plain URL lists are not tables: `src/sources/lines.ts` reads them. */
export type TableFormat = 'csv' | 'tsv' | 'jsonl' | 'parquet'

export const TABLE_FORMATS: readonly TableFormat[] = ['csv', 'tsv', 'jsonl', 'parquet']

/** Each format as messages say what a file is or is not. */
export const TABLE_FORMAT_NAMES: Record<TableFormat, string> = {
  csv: 'a CSV table',
  tsv: 'a TSV table',
  jsonl: 'a JSON lines table',
  parquet: 'a Parquet file',
}

/** Whether a file's first bytes (read as latin1 or UTF-8 text) are Parquet's magic, `PAR1`. */
export const isParquetHead = (head: string): boolean => head.startsWith('PAR1')

/**
 * The table format a file's first text shows (`head`, its start read as text; a gzip file's once
 * decompressed) when it is another than the one it is read as (`format`), or `undefined`:
 * Parquet's magic `PAR1` (the file's first 4 bytes, Apache Parquet's file format) under a text
 * table's name; a first line that opens a JSON object with a key (`{"url": …`) under a CSV or TSV
 * name; a first line of names separated by tabs (TSV) or commas or semicolons (CSV), under a JSON
 * lines or Parquet name (a JSON lines one too under a Parquet name). The JSON lines name is asked
 * so only of a file none of whose first lines is a JSON object: a bad line among objects is that
 * row's failure. A first line that is a URL is a list's, no table's. Read as what they were named,
 * each was a complaint about columns: a Parquet file's "first line holds binary data (a wrong
 * --input-format?)", a JSON lines file's columns `{"url":"https://…"` listed as its CSV header and
 * offered for `--url-col`, a CSV file's "line 1: not valid JSON".
 */
export function shownTableFormat(format: TableFormat, head: string): TableFormat | undefined {
  if (isParquetHead(head)) return format === 'parquet' ? undefined : 'parquet'
  const first = head
    .replace(/^(\ufeff|\xef\xbb\xbf)/, '')
    .trimStart()
    .split(/\r?\n/, 1)[0]
  const json = /^\{\s*"/.test(first)
  if (format === 'csv' || format === 'tsv') return json ? 'jsonl' : undefined
  if (json) return format === 'parquet' ? 'jsonl' : undefined
  if (/^([[{"]|https?:\/\/)/i.test(first)) return undefined
  return first.includes('\t') ? 'tsv' : /[,;]/.test(first) ? 'csv' : undefined
}

/**
 * The `UsageError` for a file of the `actual` table format read as another (`as`, what it was
 * read as: `a CSV table`): what it is, and the name or `--input-format` that reads it so.
 * `detail` follows what it is (`' (its first line: "url,caption")'`).
 */
export function wrongTableFormat(path: string, as: string, actual: TableFormat, detail = ''): UsageError {
  const gz = isGzipName(path) ? '.gz' : ''
  // A shell's pipe has no name to give; Parquet from it is not read (see `pipeTable`).
  const fix = !shellPipe(path)
    ? `name it .${actual}${gz}, or give --input-format ${actual}`
    : actual === 'parquet'
      ? 'a Parquet table is read from its end, which a pipe cannot give: save it to a file first (... > table.parquet) and give that'
      : `give --input-format ${actual}`
  return new UsageError(`${inputWord(path)} is ${TABLE_FORMAT_NAMES[actual]}${detail}, not ${as}: ${fix}`)
}

/** A file to read as a table: its format, and whether it is gzip-compressed. */
export interface TableFile {
  path: string
  format: TableFormat
  gzip: boolean
  /**
   * A text table in UTF-16 (Excel's "Unicode Text"), once its first bytes (a gzip file's
   * decompressed) showed it: read decoded, as UTF-8 (`openBytes`). @default undefined (UTF-8)
   */
  utf16?: Utf16
  /** A CSV file's field separator, once its header showed it (see `csvDelimiter`). @default ',' */
  delimiter?: ',' | ';'
  /** A CSV file whose first line is Excel's `sep=;` (see `sepLine`): its header is the next record. */
  sepLine?: boolean
  /** A CSV file's escape inside quoted fields, once its first bytes showed it (see `sniffCsvEscape`). @default 'rfc' */
  escape?: CsvEscape
  /** Whether a TSV file's first bytes show PostgreSQL's `COPY … TO` text format, its cells' backslashes escapes (see `sniffCopyText`). @default false */
  copyText?: boolean
  /** A piped CSV table's: how many bytes its escape was told from (see `sniffedText`). @default undefined (a file: its first MiB) */
  escapeSeen?: number
  /** A table that is a pipe, read once (see `PipeTap`): every read of it goes through this. @default undefined (a file) */
  pipe?: PipeTap
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

/** A compression imgpull reads no table through (gzip is read): its name, file extensions, magic and unpacker. */
export interface Packing {
  what: string
  /** `a` or `an`, as `what` is said. */
  article: string
  extensions: readonly string[]
  magic: readonly number[]
  /** The command that writes the unpacked bytes to standard output. */
  cat: string
  /** Said after the command: another way to a table imgpull reads. */
  also?: string
}

/** What a Hadoop codec's table is told besides `hadoop fs -text`, which unpacks it. */
const SPARK_AGAIN = `; or write it again with Spark's .option("compression", "gzip")`

const PACKINGS: readonly Packing[] = [
  {
    what: 'zstd',
    article: 'a',
    extensions: ['zst', 'zstd'],
    magic: [0x28, 0xb5, 0x2f, 0xfd],
    cat: 'zstd -dc',
  },
  { what: 'bzip2', article: 'a', extensions: ['bz2'], magic: [0x42, 0x5a, 0x68], cat: 'bzip2 -dc' },
  {
    what: 'xz',
    article: 'an',
    extensions: ['xz'],
    magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
    cat: 'xz -dc',
  },
  { what: 'ZIP', article: 'a', extensions: ['zip'], magic: [0x50, 0x4b, 0x03, 0x04], cat: 'unzip -p' },
  // Told by name alone (no magic): the codecs of Spark's and Hadoop's `compression` option for
  // text output, in Hadoop's block framing, which the snappy and lz4 tools do not read
  // (ray-project/ray#35497, intake/python-snappy#35), and brotli, which has no magic.
  ...(['deflate', 'snappy', 'LZ4'] as const).map((codec) => ({
    what: `Hadoop ${codec}`,
    article: 'a',
    extensions: [codec.toLowerCase()],
    magic: [],
    cat: 'hadoop fs -text',
    also: SPARK_AGAIN,
  })),
  { what: 'brotli', article: 'a', extensions: ['br'], magic: [], cat: 'brotli -dc' },
]

/**
 * A table named as compressed in a way imgpull does not read (`photos.csv.zst`, `part-0.jsonl.bz2`,
 * `.xz`, `.zip`: pandas writes them so from the name, DuckDB's `COPY … TO 'x.csv.zst'` too; Spark's
 * `part-00000-….csv.snappy`, `.deflate`, `.lz4`; `.br`): the
 * `UsageError` naming it and how to unpack it; `undefined` for any other name. Read as a URL list,
 * such a file was told to be piped into `imgpull -`, where its rows were read as URLs; in a folder,
 * it was skipped with its rows.
 */
export function packedTableName(path: string): UsageError | undefined {
  const name = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1).toLowerCase()
  const dot = name.lastIndexOf('.')
  if (dot <= 0) return undefined
  const packing = PACKINGS.find((p) => p.extensions.includes(name.slice(dot + 1)))
  const inner = packing && detectTableFormat(path.slice(0, path.length - (name.length - dot)))
  if (!packing || !inner || inner.gzip) return undefined
  const plain = path.slice(0, path.length - (name.length - dot))
  return new UsageError(
    `${inputWord(path)} is ${packing.article} ${packing.what}-compressed ${inner.format.toUpperCase()} table: tables are read plain or gzip-compressed (.gz); unpack it first: ${packing.cat} ${inputWord(path)} > ${visibleShellWord(plain)}${packing.also ?? ''}`,
  )
}

/** The compression other than gzip (zstd, bzip2, xz, ZIP) whose magic `head` starts with, else `undefined` (the ones told by name alone never). */
export function packingOf(head: Uint8Array): Packing | undefined {
  return PACKINGS.find((p) => p.magic.length > 0 && p.magic.every((b, i) => head[i] === b))
}

/**
 * The compression a table's first bytes show (`head`, read byte for byte as latin1), other than
 * gzip, which is read: the `UsageError` naming it and how to unpack it, for a file whose name says
 * a plain table (a `.csv` that holds zstd); `undefined` for any other bytes.
 */
export function packedTableBytes(path: string, head: string): UsageError | undefined {
  const packing = packingOf(Buffer.from(head.slice(0, 8), 'latin1'))
  if (!packing) return undefined
  const format = detectTableFormat(path)?.format ?? 'csv'
  // A shell's pipe has no name, and is gone once read: unpacked in the pipe (`funzip` reads a ZIP
  // there, as `unzip` cannot).
  if (shellPipe(path))
    return new UsageError(
      `${inputWord(path)} is ${packing.what}-compressed: tables are read plain or gzip-compressed; unpack it in the pipe: ... | ${packing.what === 'ZIP' ? 'funzip' : packing.cat}`,
    )
  return new UsageError(
    `${inputWord(path)} is ${packing.what}-compressed, whatever its name says: tables are read plain or gzip-compressed; unpack it first: ${packing.cat} ${inputWord(path)} > unpacked.${format}`,
  )
}
