import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { deflateRawSync } from 'node:zlib'
import { UsageError } from '../errors.js'
import {
  argumentSource,
  checkInputs,
  firstNotAList,
  isUrlArgument,
  LIST_HEAD_BYTES,
  listBytes,
  parseLine,
} from '../sources/lines.js'
import { inputWord, isPipe, type PipeTap, refuseFolderStdin, STDIN_PATH } from '../sources/pipe-list.js'
import { csvStartLine, csvSyntaxError, dosEnd, reorderedHeader, sepLine } from '../sources/tables/csv.js'
import type { CsvEscape } from '../sources/tables/csv-escape.js'
import type { TableJob } from '../sources/tables/job.js'
import { type TableOptions, tableOptionOnLists } from '../sources/tables/options.js'
import { utf8Checked } from '../sources/tables/utf8.js'
import { nonFiniteText } from '../sources/tables/values.js'
import type { CarriedType } from '../types.js'
import { fileHead } from '../utils/file-head.js'
import { csvSpans } from './csv-range.js'
import { fingerprint } from './fingerprint.js'
import { digest } from './keys.js'
import type { InputFile, InputRef, ShardRows } from './shard-data.js'
import { lineSpans } from './spans.js'

/** One shard of the input, as a job will carry it. */
export interface PlannedShard {
  shard: number
  /** Position of its first row over the whole input. */
  firstRow: number
  rows: ShardRows
}

/** An input cut into shards: iterate it once (it streams the input). */
export interface ShardPlan extends AsyncIterable<PlannedShard> {
  readonly kind: 'lines' | 'table'
  /** `pointer`: jobs point into the input files; `inline`: jobs carry their rows. */
  readonly mode: 'pointer' | 'inline'
  /** Why rows are carried in the jobs, when they are. */
  readonly inlineReason?: string
  /** The input's files (absolute paths), in reading order; none for standard input. */
  readonly files: readonly string[]
  /** Each file's size and `fingerprint()` as read now: what tells a file changed since its enqueue. */
  readonly contents: readonly { size: number; fingerprint: string }[]
  /**
   * The input's id: from the files' fingerprints, the reading options and the shard size; for
   * standard input, from its first shard's rows (so known once the first shard is read).
   */
  inputId(): string | undefined
  /** Rows seen so far (all of them once iterated). */
  rows(): number
  /**
   * Tables: the columns rows carry (the carried ones, else every column the tables show before
   * they are read), which `--name` may use besides the built-in placeholders and `{row}`;
   * `undefined` for URL lists, and where they are not known ahead (see `OpenedTables.columns`).
   */
  readonly columns?: readonly string[]
}

export interface PlanOptions {
  /** Rows a shard. */
  shardSize: number
  /** Tables: the reading options; inputs are tables when their names say so or `format` is set. */
  table?: TableOptions
  /** Carry the rows in the jobs even when workers could read the files. */
  inline?: boolean
  /** Where `-` reads from. @default process.stdin */
  stdin?: Readable
  /**
   * Tables that are pipes, opened by an earlier plan of the same inputs whose rows were not read:
   * read again from their start, where opened anew they had lost what it read (see `OpenedPipes`).
   * Those opened now are added. @default each pipe opened anew
   */
  pipes?: Map<string, PipeTap>
}

/** What of the table options makes rows differ (and so belongs to the input's identity). */
export function tableIdentity(t: TableOptions | undefined) {
  return {
    format: t?.format ?? null,
    urlCol: t?.urlCol ?? 'url',
    captionCol: t?.captionCol ?? null,
    columns: t?.columns ?? null,
    hashCol: t?.hashCol ?? null,
    hashType: t?.hashType ?? 'sha256',
  }
}

/** Table reading options as a job carries them (JSON, without the local temp folder). */
export function carriedTable(t: TableOptions | undefined): Omit<TableOptions, 'tempDir'> {
  const { tempDir: _, ...rest } = t ?? {}
  return rest
}

const inputIdOf = (kind: string, table: TableOptions | undefined, shardSize: number, files: InputFile[]) =>
  digest([
    'imgpull-input-1',
    kind,
    JSON.stringify(tableIdentity(table)),
    String(shardSize),
    ...files.map((f) => `${f.format}:${f.fingerprint}`),
  ])

/** Whether the inputs are tables (as `imgpull` itself decides: a table's name, a folder, `--input-format`). */
async function areTables(inputs: readonly string[], format: string | undefined): Promise<boolean> {
  const { detectTableFormat, packedTableName } = await import('../sources/tables/format.js')
  const kinds = await Promise.all(
    inputs.map(async (arg) => {
      // `-` is a table with --input-format, as `imgpull` reads it (it was refused: "tables are read from files").
      if (arg === '-') return format !== undefined
      if (isUrlArgument(arg)) return false
      // A compressed table imgpull does not read (`x.csv.zst`) is a table its reader refuses, not a list.
      if (format !== undefined || detectTableFormat(arg) || packedTableName(arg)) return true
      return (await stat(arg).catch(() => undefined))?.isDirectory() === true
    }),
  )
  if (kinds.some(Boolean) && !kinds.every(Boolean))
    throw new UsageError('cannot mix tables and URL lists in one queue: enqueue them into two queues')
  return kinds.every(Boolean)
}

/**
 * Cut inputs into shards of `shardSize` rows, checking them first (readable, columns present) as
 * `imgpull` does. URL lists and plain tables (CSV, TSV, JSON lines, Parquet) become pointers: the
 * files' paths and where each shard starts (a byte offset for text, found by scanning the input
 * once; a row index for Parquet, from its footers alone). Standard input, gzip-compressed tables
 * (a worker could only find a row by decompressing all before it) and `inline: true` carry their
 * rows in the job, deflated. URLs given as arguments are refused: put them in a list file.
 */
export async function planShards(inputs: readonly string[], options: PlanOptions): Promise<ShardPlan> {
  const { shardSize } = options
  if (inputs.length === 0) throw new UsageError('no input: give a URL list file, a table, or - for stdin')
  const url = inputs.find(isUrlArgument)
  if (url) throw new UsageError(`enqueue takes files, not URLs ('${url}'): put the URLs in a list file`)
  if (inputs.includes('-') && inputs.length > 1)
    throw new UsageError('standard input (-) cannot be enqueued together with files: enqueue it alone')
  if (await areTables(inputs, options.table?.format)) return planTables(inputs, options)
  // As `imgpull` refuses them: dropped, a --hash-col was never checked, and `--input-format csv`
  // on standard input enqueued its header and rows as URLs.
  const onLists = tableOptionOnLists(options.table, inputs)
  // A file that is no list (a spreadsheet) is said as what it is first, as `imgpull` says it.
  if (onLists) throw (await firstNotAList(inputs)) ?? new UsageError(onLists)
  if (inputs[0] === '-') {
    return inlinePlan('lines', [], argumentSource(['-'], options.stdin ?? process.stdin), shardSize, {
      reason: 'standard input',
    })
  }
  await checkInputs([...inputs])
  // A list that is a pipe (`<(grep jpg urls.txt)`, a FIFO) is `/dev/fd/63` on this machine alone,
  // and read once: a job pointing there sent workers to a path their machine does not have (or to
  // another pipe of theirs), and its fingerprint's read stopped enqueue with 'ESPIPE: invalid seek'
  // (exit 1). Its rows are read here and carried in the jobs, as standard input's are.
  const piped = (await Promise.all(inputs.map((p) => isPipe(p)))).indexOf(true)
  if (piped !== -1)
    return inlinePlan('lines', [], argumentSource([...inputs]), shardSize, {
      reason: pipeReason(inputs[piped]!),
    })
  const files = await Promise.all(inputs.map((p) => inputFile(p, 'lines')))
  // A worker finds its lines by byte offsets in the file as it stands: not in one to decode first.
  const kinds = await Promise.all(inputs.map(async (p) => listBytes(await fileHead(p, LIST_HEAD_BYTES)).kind))
  const coded = kinds.findIndex((kind) => kind === 'gzip' || kind === 'utf16')
  if (coded !== -1 || options.inline)
    return inlinePlan('lines', files, argumentSource([...inputs]), shardSize, {
      reason: options.inline
        ? '--inline'
        : kinds[coded] === 'gzip'
          ? `${inputs[coded]} is gzip-compressed: a worker could not find a line without decompressing all before it`
          : `${inputs[coded]} is UTF-16 text: a worker could not find a line without decoding all before it`,
      inputId: inputIdOf('lines', undefined, shardSize, files),
    })
  return pointerPlan('lines', files, undefined, shardSize)
}

/** Why an input that is a pipe is carried in the jobs: `path` exists on this machine alone, and is read once. */
const pipeReason = (path: string) =>
  path === STDIN_PATH
    ? 'standard input'
    : `${inputWord(path)} is a pipe, read here once: a worker could not read it`

async function inputFile(path: string, format: InputFile['format']): Promise<InputFile> {
  const absolute = resolve(path)
  return { path: absolute, format, ...(await fingerprint(absolute)) }
}

async function planTables(inputs: readonly string[], options: PlanOptions): Promise<ShardPlan> {
  const { openTables } = await import('../sources/tables/source.js')
  // `-` (standard input, with --input-format): read at /dev/stdin, from `options.stdin`.
  if (inputs.includes('-') && options.stdin === undefined) refuseFolderStdin()
  const paths = inputs.map((input) => (input === '-' ? STDIN_PATH : input))
  const opened = await openTables(paths, options.table, { taps: options.pipes, stdin: options.stdin })
  // A table that is a pipe: read here and carried, as a list that is one (see `planShards`). So is
  // standard input that is a file (`< t.csv`): jobs pointed workers to /dev/stdin, their own.
  const piped = opened.files.find((f) => f.pipe !== undefined || f.path === STDIN_PATH)
  const carried = options.table?.columns ?? opened.columns
  if (piped)
    return inlinePlan('table', [], opened, options.shardSize, {
      reason: pipeReason(piped.path),
      columns: carried ? [...carried] : undefined,
      columnTypes: opened.columnTypes,
    })
  const files = await Promise.all(opened.files.map((f) => inputFile(f.path, f.format)))
  // A worker finds its rows by byte offsets in the file as it stands: not in one to decode first.
  const coded = opened.files.find((f) => f.gzip || f.utf16)
  const inputId = inputIdOf('table', options.table, options.shardSize, files)
  const columns = options.table?.columns ?? opened.columns
  if (coded || options.inline) {
    const reason = options.inline
      ? '--inline'
      : coded!.gzip
        ? `${coded!.path} is gzip-compressed: a worker could not find a row without decompressing all before it`
        : `${coded!.path} is UTF-16 text: a worker could not find a row without decoding all before it`
    return inlinePlan('table', files, opened, options.shardSize, {
      reason,
      inputId,
      columns: columns ? [...columns] : undefined,
      columnTypes: opened.columnTypes,
    })
  }
  // A CSV file's separator, as its header showed it (`;`: Excel's CSV where the decimal separator is
  // a comma, or named by its `sep=;` line): its records are found with it, as a worker reads them.
  const delimiters = opened.files.map((f) => f.delimiter)
  // And its escape, as its first bytes showed it (`sniffCsvEscape`): `\"` is no quote's end.
  const escapes = opened.files.map((f) => f.escape)
  return pointerPlan(
    'table',
    files,
    options.table,
    options.shardSize,
    columns,
    opened.columnTypes,
    delimiters,
    escapes,
  )
}

/**
 * Where each row starts in a text file: its byte offset, and the lines before it. A table that is
 * not UTF-8 is refused here, as a local run refuses it: the workers read only their rows. A CSV
 * file's records are found with its `delimiter`: read with `,`, a `;` file's quoted cell holding a
 * line break (`a;"x⏎y"`, its quote inside a field) was two rows, a phantom row shifting every key
 * after it, and a quoted one after a `;` was a quote closing inside its field, refused.
 */
async function* rowStarts(
  file: InputFile,
  delimiter: ',' | ';' = ',',
  quoteEscape: CsvEscape = 'rfc',
): AsyncGenerator<{ offset: number; line: number }> {
  if (file.format === 'lines') {
    let line = 0
    for await (const span of lineSpans(createReadStream(file.path), true)) {
      if (parseLine(span.text) !== undefined) yield { offset: span.start, line }
      line++
    }
    return
  }
  if (file.format === 'jsonl') {
    let line = 0
    for await (const span of lineSpans(utf8Checked(createReadStream(file.path), file.path), false)) {
      const text = span.text.trim()
      if (text !== '' && !dosEnd(text)) yield { offset: span.start, line }
      line++
    }
    return
  }
  // CSV, TSV: the header first (where data starts), then each record.
  let at: { offset: number; line: number } | undefined
  let first = true
  let headerAgain: ReturnType<typeof reorderedHeader> = () => undefined
  try {
    for await (const record of csvSpans(
      file.path,
      file.format as 'csv' | 'tsv',
      { start: 0, lineBase: 0 },
      true,
      delimiter,
      false,
      quoteEscape,
    )) {
      // Excel's `sep=;` line comes before the header (`sepLine`): not the header, not a row.
      const sep = first && file.format === 'csv' && sepLine(file.path, record.fields) !== undefined
      first = false
      if (sep) continue
      if (at) {
        const reordered = headerAgain(record.fields, csvStartLine(record))
        if (reordered) throw reordered
        yield at
      } else {
        file.dataStart = record.end
        file.dataLine = record.endLine
        headerAgain = reorderedHeader(file.path, record.fields)
      }
      at = { offset: record.end, line: record.endLine }
    }
  } catch (error) {
    // As a local run says it: a usage error naming the file and the line.
    throw csvSyntaxError(file.path, error, at?.line ?? 0) ?? error
  }
}

function pointerPlan(
  kind: 'lines' | 'table',
  files: InputFile[],
  table: TableOptions | undefined,
  shardSize: number,
  columns?: readonly string[],
  columnTypes?: Readonly<Record<string, CarriedType>>,
  /** Each CSV file's separator (see `rowStarts`), by the files' order. */
  delimiters: readonly (',' | ';' | undefined)[] = [],
  /** Each CSV file's escape (see `sniffCsvEscape`), by the files' order. */
  escapes: readonly (CsvEscape | undefined)[] = [],
): ShardPlan {
  let rows = 0
  const inputId = inputIdOf(kind, table, shardSize, files)
  const carried = kind === 'table' ? carriedTable(table) : undefined
  async function* shards(): AsyncGenerator<PlannedShard> {
    let open: { shard: number; file: number; offset: number; line: number } | undefined
    let lastFile = 0
    const close = (count: number): PlannedShard => {
      const o = open!
      const input: InputRef = { kind, files: files.slice(o.file, lastFile + 1) }
      if (carried) input.table = carried
      if (columns && !table?.columns) input.columns = [...columns]
      if (columnTypes) input.columnTypes = { ...columnTypes }
      return {
        shard: o.shard,
        firstRow: o.shard * shardSize,
        rows: { kind: 'pointer', input, start: { file: 0, offset: o.offset, line: o.line }, count },
      }
    }
    for (const [f, file] of files.entries()) {
      if (file.format === 'parquet') {
        const { parquetInfo } = await import('../sources/tables/parquet.js')
        const { rows: n } = await parquetInfo({ path: file.path, format: 'parquet', gzip: false })
        // Parquet rows are found by index: a shard's start is arithmetic, no row is read.
        for (let first = Math.ceil(rows / shardSize) * shardSize; first < rows + n; first += shardSize) {
          // The shard before ends at row first - 1: in this file unless this one starts at first.
          if (first > rows) lastFile = f
          if (open) yield close(shardSize)
          open = { shard: first / shardSize, file: f, offset: first - rows, line: 0 }
        }
        rows += n
        if (n > 0) lastFile = f
        continue
      }
      for await (const start of rowStarts(file, delimiters[f], escapes[f])) {
        if (rows % shardSize === 0) {
          if (open) yield close(shardSize)
          open = { shard: rows / shardSize, file: f, ...start }
        }
        rows++
        lastFile = f
      }
    }
    if (open) yield close(rows - open.shard * shardSize)
  }
  return {
    kind,
    mode: 'pointer',
    columns,
    files: files.map((f) => f.path),
    contents: files.map(({ size, fingerprint }) => ({ size, fingerprint })),
    inputId: () => inputId,
    rows: () => rows,
    [Symbol.asyncIterator]: shards,
  }
}

/**
 * Rows carried in a job: JSON lines, deflated, base64 (BullMQ stores job data as JSON text). A
 * table row's own NaN and infinities (`meta`), which JSON has not, ride beside it as text in
 * `nonFiniteMeta`, so a worker's shard Parquet holds them as a local run's does (`rowOfLine`).
 */
export function packRows(rows: readonly unknown[]): string {
  return deflateRawSync(rows.map(lineOfRow).join('\n')).toString('base64')
}

function lineOfRow(row: unknown): string {
  const meta = (row as { meta?: Record<string, unknown> } | null)?.meta
  if (meta === undefined || meta === null || typeof meta !== 'object') return JSON.stringify(row)
  const nonFinite = Object.entries(meta).flatMap(([k, v]) => {
    const text = nonFiniteText(v)
    return text ? [[k, text] as const] : []
  })
  if (nonFinite.length === 0) return JSON.stringify(row)
  return JSON.stringify({ ...(row as object), nonFiniteMeta: Object.fromEntries(nonFinite) })
}

/** A table row of `packRows`' line, its NaN and infinities numbers again. */
export function rowOfLine(line: string): TableJob {
  const row = JSON.parse(line) as TableJob & { nonFiniteMeta?: Record<string, string> }
  const { nonFiniteMeta, ...job } = row
  if (nonFiniteMeta === undefined) return row
  for (const [key, value] of Object.entries(nonFiniteMeta))
    Object.defineProperty(job.meta, key, {
      value: Number(value),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  return job
}

function inlinePlan(
  kind: 'lines' | 'table',
  files: InputFile[],
  source: AsyncIterable<unknown>,
  shardSize: number,
  how: {
    reason: string
    inputId?: string
    columns?: string[]
    columnTypes?: Readonly<Record<string, CarriedType>>
  },
): ShardPlan {
  let rows = 0
  let inputId = how.inputId
  async function* shards(): AsyncGenerator<PlannedShard> {
    let batch: unknown[] = []
    let shard = 0
    const close = (): PlannedShard => {
      const packed = packRows(batch)
      // Standard input has no identity but its rows: the first shard's stand for it.
      inputId ??= digest(['imgpull-stdin-1', kind, String(shardSize), packed])
      const rows: ShardRows = { kind: 'inline', input: kind, count: batch.length, rows: packed }
      if (how.columns) rows.columns = how.columns
      if (how.columnTypes) rows.columnTypes = { ...how.columnTypes }
      const planned = { shard, firstRow: shard * shardSize, rows }
      shard++
      batch = []
      return planned
    }
    for await (const row of source) {
      batch.push(row)
      rows++
      if (batch.length === shardSize) yield close()
    }
    if (batch.length > 0) yield close()
  }
  return {
    kind,
    mode: 'inline',
    columns: how.columns,
    inlineReason: how.reason,
    files: files.map((f) => f.path),
    contents: files.map(({ size, fingerprint }) => ({ size, fingerprint })),
    inputId: () => inputId,
    rows: () => rows,
    [Symbol.asyncIterator]: shards,
  }
}
