import { createReadStream } from 'node:fs'
import {
  type ColumnMetaData,
  type FileMetaData,
  parquetMetadata,
  parquetMetadataAsync,
  parquetRead,
  parquetSchema,
  type RowGroup,
  type SchemaTree,
} from 'hyparquet'
import { parquetHeader } from 'hyparquet/src/column.js'
import { UsageError } from '../../errors.js'
import { grouped } from '../../report/format.js'
import { gunzipFile } from '../gunzip.js'
import { inputWord } from '../pipe-list.js'
import { CODECS, checkCodecs } from './codecs.js'
import { type ColumnTypes, parquetColumnType, setType } from './column-types.js'
import { planColumns } from './columns.js'
import { type FileBuffer, openFileBuffer } from './file-buffer.js'
import type { TableFile } from './format.js'
import { gunzipToTemp } from './gunzip-temp.js'
import { readFailure } from './input.js'
import { buildJob, type TableJob } from './job.js'
import type { ResolvedTableOptions } from './options.js'
import { exactCells } from './parquet-cells.js'
import { checkHashColumn, checkUrlColumn } from './url-column.js'
import { jsonSafe, PARSERS, type TimeUnit, timeOfDay } from './values.js'

/** Uncompressed bytes of the needed columns decoded at once: bounds memory in large row groups. */
const RANGE_BYTES = 4 * 1024 * 1024
const MIN_RANGE_ROWS = 1024
/** Rows of a file's first range, when its pages allow: the first job goes out without waiting for a full range. */
const FIRST_RANGE_ROWS = 4096

async function readMetadata(buffer: FileBuffer, file: TableFile): Promise<FileMetaData> {
  // Shorter than its magic bytes and footer length ('PAR1', 4 bytes, 'PAR1'): a download that
  // failed, or a file still being written. hyparquet would say 'Offset is outside the bounds of the DataView'.
  if (buffer.byteLength < 12)
    throw new UsageError(
      `${inputWord(file.path)} is not a readable Parquet file: ${buffer.byteLength ? `it holds only ${buffer.byteLength} bytes` : 'it is empty'}`,
    )
  try {
    return await parquetMetadataAsync(buffer)
  } catch (error) {
    // Parquet's magic at the start and not at the end: the file stops before its footer (a
    // download or copy that stopped, a file still being written), where hyparquet says only
    // "footer != PAR1" and pyarrow "Parquet magic bytes not found in footer" (huggingface/datasets#4077).
    const [head, tail] = await Promise.all([buffer.slice(0, 4), buffer.slice(buffer.byteLength - 4)])
    const magic = (bytes: ArrayBuffer) => Buffer.from(bytes).toString('latin1') === 'PAR1'
    if (magic(head) && !magic(tail))
      throw new UsageError(
        `${inputWord(file.path)} is a Parquet file cut short: it starts as one but ends before its footer (${grouped(buffer.byteLength)} bytes), as a download or copy that stopped, or a file still being written, leaves it; fetch or copy it again`,
        { cause: error },
      )
    throw new UsageError(
      `${inputWord(file.path)} is not a readable Parquet file: ${(error as Error).message}`,
      {
        cause: error,
      },
    )
  }
}

/** The file at `path` (`file`'s, or its decompressed copy); a failure names `file`. */
async function openBuffer(file: TableFile, path: string): Promise<FileBuffer> {
  try {
    return await openFileBuffer(path)
  } catch (error) {
    throw readFailure(file, error, '')
  }
}

async function withBuffer<T>(
  file: TableFile,
  path: string,
  use: (buffer: FileBuffer) => Promise<T>,
): Promise<T> {
  const buffer = await openBuffer(file, path)
  try {
    return await use(buffer)
  } finally {
    await buffer.close()
  }
}

/**
 * The top-level column names and the row count of a Parquet file, from its footer alone.
 * `options`: the URL and hash columns, checked to hold what they must when the file has them
 * (`checkColumnTypes`).
 */
export async function parquetInfo(
  file: TableFile,
  options?: ResolvedTableOptions,
): Promise<{ columns: string[]; rows: number; types: ColumnTypes }> {
  return withBuffer(file, file.path, async (buffer) => {
    const metadata = await readMetadata(buffer, file)
    const { children } = parquetSchema(metadata)
    if (options !== undefined) {
      checkColumnTypes(file.path, children, options)
      const names = children.map((c) => c.element.name)
      checkCodecs(file.path, metadata, planColumns(file.path, names, options).needed)
    }
    const types: ColumnTypes = {}
    for (const child of children) {
      const type = parquetColumnType(child)
      if (type) setType(types, child.element.name, type)
    }
    return { columns: children.map((c) => c.element.name), rows: Number(metadata.num_rows), types }
  })
}

/** The most of a gzip-compressed Parquet file's last decompressed bytes kept to read its footer. */
const GZIP_FOOTER_BYTES = 16 * 1024 * 1024

/**
 * The top-level column names and the carried types of a gzip-compressed Parquet file, from its
 * footer: the file is decompressed once as a stream (no disk; memory bounded by
 * `GZIP_FOOTER_BYTES`), keeping only its end. With them, the shards' Parquet take the file's
 * schema as for a plain file; typed from each shard's values, a column null in all of one shard
 * was STRING there and INT64 or DOUBLE in the next, and one such file made every column of the
 * run typed so (polars' `scan_parquet('OUT/*.parquet')` stops at the first mismatch).
 * `undefined` when the footer is larger than that or does not parse, or the file does not
 * decompress: the reading, which decompresses it again to a temporary file, names the fault.
 */
export async function gzipParquetSchema(
  path: string,
): Promise<{ columns: string[]; types: ColumnTypes } | undefined> {
  const chunks: Buffer[] = []
  let kept = 0
  try {
    for await (const chunk of gunzipFile(createReadStream(path), inputWord(path)) as AsyncIterable<Buffer>) {
      chunks.push(chunk)
      kept += chunk.length
      while (chunks.length > 1 && kept - chunks[0].length >= GZIP_FOOTER_BYTES) kept -= chunks.shift()!.length
    }
    const tail = Buffer.concat(chunks)
    const metadata = parquetMetadata(
      tail.buffer.slice(tail.byteOffset, tail.byteOffset + tail.length) as ArrayBuffer,
    )
    const { children } = parquetSchema(metadata)
    const types: ColumnTypes = {}
    for (const child of children) {
      const type = parquetColumnType(child)
      if (type) setType(types, child.element.name, type)
    }
    return { columns: children.map((c) => c.element.name), types }
  } catch {
    return undefined
  }
}

/** Bytes read to find a page header: far more than a header with statistics takes. */
const HEADER_BYTES = 64 * 1024

/** The first data page of a column chunk: rows and uncompressed bytes; `undefined` when unreadable. */
async function firstPage(
  buffer: FileBuffer,
  meta: ColumnMetaData,
): Promise<{ rows: number; bytes: number } | undefined> {
  const start = Number(meta.data_page_offset)
  const end = Math.min(buffer.byteLength, start + HEADER_BYTES, start + Number(meta.total_compressed_size))
  try {
    const header = parquetHeader({ view: new DataView(await buffer.slice(start, end)), offset: 0 })
    const rows = header.data_page_header?.num_values ?? header.data_page_header_v2?.num_rows
    return rows === undefined ? undefined : { rows, bytes: header.uncompressed_page_size }
  } catch {
    return undefined
  }
}

/** How a row group is read: `rows` at a time, and never fewer than `least` (a large page's rows). */
export interface RangePlan {
  rows: number
  least: number
}

/**
 * Rows decoded at once in a row group: a small group whole; a large one in ranges of about
 * `RANGE_BYTES` of its needed columns (uncompressed). hyparquet decodes whole pages, and some
 * writers (DuckDB) put a whole row group in one page: a range never holds fewer rows than a large
 * page (over a quarter of `RANGE_BYTES`), which would otherwise be decoded again for every range.
 */
export async function planRanges(
  buffer: FileBuffer,
  group: RowGroup,
  needed: readonly string[],
): Promise<RangePlan> {
  const rows = Math.max(1, Number(group.num_rows))
  const chunks = group.columns.flatMap((c) =>
    c.meta_data && needed.includes(c.meta_data.path_in_schema[0]) ? [c.meta_data] : [],
  )
  const bytes = chunks.reduce((sum, meta) => sum + Number(meta.total_uncompressed_size), 0)
  if (bytes <= RANGE_BYTES) return { rows, least: rows }
  let least = MIN_RANGE_ROWS
  for (const meta of chunks) {
    const page = await firstPage(buffer, meta)
    if (page && page.bytes > RANGE_BYTES / 4) least = Math.max(least, page.rows)
  }
  const target = Math.floor((rows * RANGE_BYTES) / bytes)
  return { rows: Math.min(rows, Math.max(least, target)), least: Math.min(rows, least) }
}

/**
 * The rows of a Parquet file as jobs, numbered from `counter.next`. Read through a file-backed
 * buffer, row group by row group, a large group in bounded row ranges (hyparquet then decodes only
 * the pages of the range for flat columns, and reads only them when the file has an offset index);
 * only the needed columns are decoded. The file's first range is small, so its first row comes
 * out at once. A gzip-compressed file is first decompressed to a temporary file under `tempDir`,
 * removed when the reading ends. Carried values go through `jsonSafe`. A row group that fails to
 * decode throws a `UsageError` naming it.
 */
export async function* parquetRows(
  file: TableFile,
  options: ResolvedTableOptions,
  counter: { next: number },
): AsyncGenerator<TableJob> {
  const temp = file.gzip ? await gunzipToTemp(file, options.tempDir) : undefined
  try {
    for await (const job of rowRange(
      file,
      temp?.path ?? file.path,
      options,
      0,
      Number.POSITIVE_INFINITY,
      counter.next,
    )) {
      counter.next++
      yield job
    }
  } finally {
    await temp?.remove()
  }
}

/**
 * Rows `from` to `from + count - 1` of a Parquet file (not gzip-compressed) as jobs numbered from
 * `firstRow`, read as `parquetRows` reads them (the same columns, conversions and messages), but
 * only the row groups that hold them, found from the footer: a shard in the middle of a
 * 100-million-row file costs its own rows, not the ones before it.
 */
export async function* parquetRange(
  file: TableFile,
  options: ResolvedTableOptions,
  from: number,
  firstRow: number,
  count: number,
): AsyncGenerator<TableJob> {
  if (count > 0) yield* rowRange(file, file.path, options, from, from + count, firstRow)
}

/**
 * `columns` of rows [`start`, `end`), decoded as every read of a table decodes them. Rows are read
 * as arrays and made objects here: hyparquet's row objects set a column named `__proto__` as the
 * object's prototype (its value lost, the row's `__proto__` read back as `{}`).
 */
async function readRows(
  buffer: FileBuffer,
  metadata: FileMetaData,
  columns: readonly string[],
  start: number,
  end: number,
): Promise<Record<string, unknown>[]> {
  const rows = await new Promise<unknown[][]>((resolve, reject) => {
    parquetRead({
      file: buffer,
      metadata,
      columns: [...columns],
      rowStart: start,
      rowEnd: end,
      compressors: CODECS,
      parsers: PARSERS,
      // Binary without a string annotation stays bytes (base64 in meta), as pyarrow reads it.
      utf8: false,
      useOffsetIndex: true,
      rowFormat: 'array',
      onComplete: (data) => resolve(data as unknown[][]),
    }).catch(reject)
  })
  return rows.map((row) => {
    const out: Record<string, unknown> = {}
    columns.forEach((name, i) => {
      if (name !== '__proto__') out[name] = row[i]
      else
        Object.defineProperty(out, name, {
          value: row[i],
          enumerable: true,
          writable: true,
          configurable: true,
        })
    })
    return out
  })
}

/**
 * The one of `columns` that fails to decode on its own in rows [`start`, `end`), for a message
 * naming it (an INTERVAL column, which hyparquet does not read; a damaged chunk); `undefined`
 * when none fails alone. Only on the error path: each column is read again.
 */
async function failingColumn(
  buffer: FileBuffer,
  metadata: FileMetaData,
  columns: readonly string[],
  start: number,
  end: number,
): Promise<string | undefined> {
  for (const column of columns) {
    try {
      await readRows(buffer, metadata, [column], start, end)
    } catch {
      return column
    }
  }
  return undefined
}

/** The URL column holds text, the hash column digests: else every row would fail alike. */
function checkColumnTypes(
  path: string,
  children: readonly SchemaTree[],
  options: ResolvedTableOptions,
): void {
  checkUrlColumn(path, children, options.urlCol)
  if (options.hashCol !== undefined) checkHashColumn(path, children, options.hashCol, options.hashType)
}

/** Rows [`from`, `until`) of the Parquet file at `path` (`file`'s, or its decompressed copy), numbered from `firstRow`. */
async function* rowRange(
  file: TableFile,
  path: string,
  options: ResolvedTableOptions,
  from: number,
  until: number,
  firstRow: number,
): AsyncGenerator<TableJob> {
  const buffer = await openBuffer(file, path)
  try {
    const read = await readMetadata(buffer, file)
    const schema = parquetSchema(read)
    const { metadata, fixes } = exactCells(read, schema.children)
    const plan = planColumns(
      file.path,
      schema.children.map((c) => c.element.name),
      options,
    )
    checkColumnTypes(file.path, schema.children, options)
    checkCodecs(file.path, read, plan.needed)
    const columns = [...plan.needed]
    const carried = plan.carried ?? []
    // ENUM is text stored as binary; with `utf8: false` hyparquet gives it as bytes.
    const enums = new Set(
      schema.children
        .filter((c) => c.element.converted_type === 'ENUM' || c.element.logical_type?.type === 'ENUM')
        .map((c) => c.element.name),
    )
    // TIME is units since midnight, which hyparquet gives as a number: carried as `HH:MM:SS.fff`.
    const times = new Map<string, TimeUnit>()
    for (const { element } of schema.children) {
      const logical = element.logical_type
      if (logical?.type === 'TIME') times.set(element.name, logical.unit)
      else if (element.converted_type === 'TIME_MILLIS') times.set(element.name, 'MILLIS')
      else if (element.converted_type === 'TIME_MICROS') times.set(element.name, 'MICROS')
    }
    // NaN and ±Infinity stay numbers, which a shard's Parquet DOUBLE holds as they are (JSON has
    // none: the manifest and the sample's `.json` make them null, see `sampleRow`).
    const convert = (value: unknown) => (typeof value === 'number' ? value : jsonSafe(value))
    // The URL and caption are read as text whatever their type: bytes (BINARY without a text
    // annotation, as Hive and Impala write strings) are held to UTF-8 as a STRING cell is, so no
    // U+FFFD takes a byte's place in the URL fetched. Carried (the caption's copy in meta), it is
    // that text too: it was base64 there, the caption beside it text, two values of one cell.
    const texts = new Set([plan.url, ...(plan.caption === undefined ? [] : [plan.caption])])
    /**
     * A cell, an ENUM's, the URL's and the caption's bytes as the UTF-8 text they must be (`where`
     * names the row when they are not).
     */
    const cellOf = (values: Record<string, unknown>, name: string, where: () => string) => {
      const value = values[name]
      const fix = fixes.get(name)
      if (fix) return fix(value)
      const unit = times.get(name)
      if (unit) return timeOfDay(value, unit)
      if (!(value instanceof Uint8Array) || !(enums.has(name) || texts.has(name))) return value
      let text: string | undefined
      try {
        text = PARSERS.stringFromBytes(value)
      } catch (error) {
        throw new UsageError(`${where()}, column ${JSON.stringify(name)}: ${(error as Error).message}`)
      }
      return text
    }
    // hyparquet decodes a nested column's whole chunk for any range: read such groups whole.
    const nested = schema.children.some(
      (c) =>
        columns.includes(c.element.name) &&
        (c.children.length > 0 || c.element.repetition_type === 'REPEATED'),
    )
    let row = firstRow
    let groupStart = 0
    let first = true
    for (const [g, group] of metadata.row_groups.entries()) {
      const groupEnd = groupStart + Number(group.num_rows)
      if (groupEnd <= from || groupStart >= until) {
        groupStart = groupEnd
        continue
      }
      const ranges = nested
        ? { rows: groupEnd - groupStart, least: 0 }
        : await planRanges(buffer, group, columns)
      const last = Math.min(until, groupEnd)
      for (let start = Math.max(from, groupStart); start < last; ) {
        const size = first ? Math.max(ranges.least, Math.min(ranges.rows, FIRST_RANGE_ROWS)) : ranges.rows
        const end = Math.min(last, start + Math.max(1, size))
        first = false
        const where = `${inputWord(file.path)} row group ${g} (rows ${start} to ${end - 1})`
        let rows: Record<string, unknown>[]
        try {
          rows = await readRows(buffer, metadata, columns, start, end)
        } catch (error) {
          const column = await failingColumn(buffer, metadata, columns, start, end)
          const named = column === undefined ? '' : `, column ${JSON.stringify(column)}`
          // A carried column is the one a run can do without: say how to leave it out.
          const hint =
            column === undefined || !carried.includes(column) || column === plan.url
              ? ''
              : options.columns
                ? ': leave it out of --columns'
                : ': leave it out with --columns, naming the columns to carry'
          throw new UsageError(`cannot decode ${where}${named}: ${(error as Error).message}${hint}`, {
            cause: error,
          })
        }
        if (rows.length !== end - start)
          throw new UsageError(`cannot decode ${where}: ${rows.length} rows came out of ${end - start}`)
        // Each row is let go once it is a job, and the range with it: a generator keeps its locals
        // (and V8 its stale registers) alive while suspended, which held two whole ranges.
        const decoded: (Record<string, unknown> | undefined)[] = rows
        rows = []
        for (let i = 0; i < decoded.length; i++) {
          const values = decoded[i] as Record<string, unknown>
          decoded[i] = undefined
          // The row's number is taken now, its text made only when a message needs it: `place`
          // is called later (a fetch that fails names the row), after `start` has moved on to the
          // next range, and named a row past the table (row 10 of 10 rows).
          const at = start + i
          const place = () => `${inputWord(file.path)} row ${at} (row group ${g})`
          yield buildJob(
            row++,
            (name) => cellOf(values, name, place),
            carried,
            plan,
            options.hashType,
            place,
            convert,
          )
        }
        decoded.length = 0
        start = end
      }
      groupStart = groupEnd
      buffer.forget()
    }
  } finally {
    await buffer.close()
  }
}
