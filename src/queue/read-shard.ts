import { createReadStream } from 'node:fs'
import { promisify } from 'node:util'
import { inflateRaw } from 'node:zlib'
import { UnrecoverableError } from 'bullmq'
import { ImgpullError, UsageError } from '../errors.js'
import { grouped } from '../report/format.js'
import { parseLine } from '../sources/lines.js'
import { planColumns } from '../sources/tables/columns.js'
import {
  csvDelimiter,
  csvLayout,
  csvRecordJob,
  csvSyntaxError,
  dosEnd,
  rowNames,
  sepLine,
} from '../sources/tables/csv.js'
import { type CsvEscape, sniffCopyStream, sniffCsvStream } from '../sources/tables/csv-escape.js'
import type { TableFile } from '../sources/tables/format.js'
import { invalidRow, type TableJob } from '../sources/tables/job.js'
import { rowJob } from '../sources/tables/jobs.js'
import { jsonlJob, jsonlKeys, parseJsonlLine } from '../sources/tables/jsonl.js'
import { type ResolvedTableOptions, resolveTableOptions } from '../sources/tables/options.js'
import { parquetRange } from '../sources/tables/parquet.js'
import type { Job, Source } from '../types.js'
import { visibleShellWord } from '../utils/command-line.js'
import { csvSpans } from './csv-range.js'
import { fingerprint } from './fingerprint.js'
import { rowOfLine } from './plan-shards.js'
import type { InputFile, InputRef, ShardJobData } from './shard-data.js'
import { lineSpans } from './spans.js'

const inflate = promisify(inflateRaw)

/** The rows of a shard job as a source for `pull()`: the same jobs a local run of its rows would get. */
export function shardSource(data: ShardJobData): Source {
  const { rows } = data
  const columns = rows.kind === 'inline' ? rows.columns : (rows.input.table?.columns ?? rows.input.columns)
  const table = rows.kind === 'inline' ? rows.input === 'table' : rows.input.kind === 'table'
  const columnTypes = rows.kind === 'inline' ? rows.columnTypes : rows.input.columnTypes
  return {
    [Symbol.asyncIterator]: () => shardJobs(data),
    total: () => rows.count,
    ...(table && columns ? { fields: ['row', ...columns] } : {}),
    ...(table && columnTypes ? { columnTypes } : {}),
    ...(table && columns ? { parquetColumns: columns } : {}),
  }
}

async function* shardJobs(data: ShardJobData): AsyncGenerator<Job> {
  const { rows, firstRow } = data
  if (rows.kind === 'inline') {
    const text = (await inflate(Buffer.from(rows.rows, 'base64'))).toString('utf8')
    let i = 0
    for (const line of text.split('\n')) {
      if (line === '') continue
      if (rows.input === 'lines') yield { url: JSON.parse(line) as string, row: firstRow + i++ }
      else yield rowJob(rowOfLine(line))
    }
    return
  }
  const { input, start, count } = rows
  let row = firstRow
  const end = firstRow + count
  let file = input.files[start.file]
  for (let f = start.file; f < input.files.length && row < end; f++) {
    file = input.files[f]
    await checkSame(file)
    const from = f === start.file ? { offset: start.offset, line: start.line } : undefined
    for await (const job of fileJobs(input, file, from, row, end - row)) {
      yield job
      row++
    }
  }
  if (row < end)
    throw new InputChangedError(
      `input ${file.path} ended after ${grouped(row - firstRow)} of the shard's ${grouped(count)} rows (rows ${grouped(firstRow + 1)}-${grouped(end)} of the input as enqueued): it changed since it was enqueued (its first and last 64 KiB and its size are the same)${MENDED}`,
    )
}

/** What to do of an input that changed under its queue. */
const MENDED =
  ': put it back as it was and enqueue the same input again (failed shards are put back), or enqueue the new file into a new queue'

/**
 * A shard's input that is not as it was enqueued (another size, other bytes, fewer rows): the
 * same file for every worker and every attempt, so the shard fails at once (BullMQ's
 * `UnrecoverableError`), where BullMQ tried it again after `--backoff`, doubled, up to `--attempts`
 * (7.5 minutes of retries by default, with `--exit-when-done` waiting on them), each attempt
 * finding the same file (a fault the same on every try: OptimalBits/bull#2248). Enqueuing the same input again puts it back once the file is mended.
 */
export class InputChangedError extends UnrecoverableError {
  readonly code = 'queue-input'
}

/** A worker reads the file enqueue read: the same size and fingerprint at the same path. */
async function checkSame(file: InputFile): Promise<void> {
  let seen: { size: number; fingerprint: string }
  try {
    seen = await fingerprint(file.path)
  } catch (error) {
    throw new ImgpullError(
      'queue-input',
      `cannot read input ${file.path} on this worker (${(error as NodeJS.ErrnoException).code ?? error}): workers read the input where enqueue did; share that folder, or enqueue with --inline`,
      { retryable: true, cause: error },
    )
  }
  if (seen.size !== file.size || seen.fingerprint !== file.fingerprint)
    throw new InputChangedError(
      `input ${file.path} is not the file that was enqueued (${seen.size === file.size ? `other bytes, the same ${file.size} bytes long` : `${seen.size} bytes, enqueued ${file.size}`})${MENDED}`,
    )
}

/** Up to `count` jobs of one file, from `from` (a shard's start) or from its first row. */
function fileJobs(
  input: InputRef,
  file: InputFile,
  from: { offset: number; line: number } | undefined,
  firstRow: number,
  count: number,
): AsyncGenerator<Job> {
  if (file.format === 'lines') return listJobs(file, from ?? { offset: 0, line: 0 }, firstRow, count)
  const options = resolveTableOptions({ ...input.table, format: file.format })
  const tableFile: TableFile = { path: file.path, format: file.format, gzip: false }
  const rows =
    file.format === 'parquet'
      ? parquetRange(tableFile, options, from?.offset ?? 0, firstRow, count)
      : file.format === 'jsonl'
        ? jsonlRange(tableFile, options, from ?? { offset: 0, line: 0 }, firstRow, count)
        : csvRange(tableFile, file, options, from, firstRow, count)
  return asJobs(rows)
}

async function* asJobs(rows: AsyncIterable<TableJob>): AsyncGenerator<Job> {
  for await (const t of rows) yield rowJob(t)
}

/**
 * URLs of a list from a line's start (`from.line`: the lines before it), split as Node's readline
 * splits them, each with its line for a message, as a local run names it (see `argumentJobs`).
 */
async function* listJobs(
  file: InputFile,
  from: { offset: number; line: number },
  firstRow: number,
  count: number,
) {
  let n = 0
  if (count <= 0) return
  // Shards enqueued by earlier versions say line 0 wherever they start: their lines are not known.
  let line: number | undefined = from.offset > 0 && from.line === 0 ? undefined : from.line
  for await (const span of lineSpans(
    createReadStream(file.path, { start: from.offset }),
    true,
    from.offset,
  )) {
    if (line !== undefined) line++
    const url = parseLine(span.text)
    if (url === undefined) continue
    const job: Job = { url, row: firstRow + n }
    if (line !== undefined) job.where = `'${file.path}' line ${line}`
    yield job
    if (++n >= count) return
  }
}

/** Rows of a JSON lines file from a line's start, as `jsonlRows` reads them (its first lines give the columns). */
async function* jsonlRange(
  file: TableFile,
  options: ResolvedTableOptions,
  from: { offset: number; line: number },
  firstRow: number,
  count: number,
): AsyncGenerator<TableJob> {
  if (count <= 0) return
  const keys = await jsonlKeys(file)
  let plan = keys ? planColumns(file.path, keys, options, true) : undefined
  let line = from.line
  let n = 0
  for await (const span of lineSpans(
    createReadStream(file.path, { start: from.offset }),
    false,
    from.offset,
  )) {
    line++
    const text = span.text.trim()
    if (text === '' || dosEnd(text)) continue
    const row = firstRow + n
    const parsed = parseJsonlLine(text)
    if ('problem' in parsed)
      yield invalidRow(row, `${visibleShellWord(file.path)} line ${line}: ${parsed.problem}`)
    else {
      plan ??= planColumns(file.path, Object.keys(parsed.object), options, true)
      const at = line
      yield jsonlJob(row, parsed.object, plan, options, () => `${visibleShellWord(file.path)} line ${at}`)
    }
    if (++n >= count) return
  }
}

/** Rows of a CSV or TSV file from a record's start (its header read first), as `csvRows` reads them. */
async function* csvRange(
  file: TableFile,
  input: InputFile,
  options: ResolvedTableOptions,
  from: { offset: number; line: number } | undefined,
  firstRow: number,
  count: number,
): AsyncGenerator<TableJob> {
  if (count <= 0) return
  const format = file.format as 'csv' | 'tsv'
  /** The record after `skip` others. */
  const firstRecord = async (delimiter: ',' | ';', skip = 0, quoteEscape: CsvEscape = 'rfc') => {
    const records = csvSpans(
      file.path,
      format,
      { start: 0, lineBase: 0 },
      false,
      delimiter,
      false,
      quoteEscape,
    )
    for await (const record of records) if (skip-- <= 0) return record.fields
    return undefined
  }
  // As csvHeader reads it: a header that shows `;` as its separator is read again with it, and
  // so is the one after Excel's `sep=;` line, with the separator it names.
  let fields = await firstRecord(',')
  const sep = format === 'csv' && fields ? sepLine(file.path, fields) : undefined
  const delimiter = sep ?? (format === 'csv' && fields && csvDelimiter(fields) === ';' ? ';' : ',')
  if (sep || delimiter === ';') fields = await firstRecord(delimiter, sep ? 1 : 0)
  // And its first bytes its escape (`sniffCsvEscape`), the header read again with it.
  const quoteEscape: CsvEscape =
    format === 'csv' && fields ? await sniffCsvStream(createReadStream(file.path), delimiter) : 'rfc'
  if (quoteEscape === 'backslash') fields = await firstRecord(delimiter, sep ? 1 : 0, quoteEscape)
  if (!fields)
    throw new UsageError(
      `${visibleShellWord(file.path)} is empty: a ${format.toUpperCase()} table needs a header line`,
    )
  const layout = csvLayout(file.path, fields, options, format === 'csv' ? delimiter : undefined)
  // And a TSV file's whether its cells are in `COPY … TO` text format (`sniffCopyText`).
  if (format === 'tsv') layout.copyText = await sniffCopyStream(createReadStream(file.path))
  // Whether its records start with row names, told by its first record as `csvRows` tells it.
  const first = await firstRecord(delimiter, sep ? 2 : 1, quoteEscape)
  layout.rowNames = first !== undefined && rowNames(first, layout)
  const start = from ?? { offset: input.dataStart ?? 0, line: input.dataLine ?? 0 }
  let n = 0
  let lastLine = start.line
  const spans = csvSpans(
    file.path,
    format,
    { start: start.offset, lineBase: start.line },
    false,
    delimiter,
    false,
    quoteEscape,
  )
  try {
    for await (const record of spans) {
      lastLine = record.endLine
      yield csvRecordJob(record, firstRow + n, layout, file.path, options.hashType)
      if (++n >= count) return
    }
  } catch (error) {
    throw csvSyntaxError(file.path, error, lastLine) ?? error
  }
}
