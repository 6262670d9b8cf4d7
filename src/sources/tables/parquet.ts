import {
  type FileMetaData,
  parquetMetadataAsync,
  parquetReadObjects,
  parquetSchema,
  type RowGroup,
} from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import { UsageError } from '../../errors.js'
import { planColumns } from './columns.js'
import { type FileBuffer, openFileBuffer } from './file-buffer.js'
import type { TableFile } from './format.js'
import { gunzipToTemp } from './gunzip-temp.js'
import { readFailure } from './input.js'
import { buildJob, type TableJob } from './job.js'
import type { ResolvedTableOptions } from './options.js'
import { jsonSafe, PARSERS } from './values.js'

/** Uncompressed bytes of the needed columns decoded at once: bounds memory in large row groups. */
const RANGE_BYTES = 8 * 1024 * 1024
const MIN_RANGE_ROWS = 1024

async function readMetadata(buffer: FileBuffer, file: TableFile): Promise<FileMetaData> {
  try {
    return await parquetMetadataAsync(buffer)
  } catch (error) {
    throw new UsageError(`${file.path} is not a readable Parquet file: ${(error as Error).message}`, {
      cause: error,
    })
  }
}

async function withBuffer<T>(
  file: TableFile,
  path: string,
  use: (buffer: FileBuffer) => Promise<T>,
): Promise<T> {
  let buffer: FileBuffer
  try {
    buffer = await openFileBuffer(path)
  } catch (error) {
    throw readFailure(file, error, '')
  }
  try {
    return await use(buffer)
  } finally {
    await buffer.close()
  }
}

/** The top-level column names and the row count of a Parquet file, from its footer alone. */
export async function parquetInfo(file: TableFile): Promise<{ columns: string[]; rows: number }> {
  return withBuffer(file, file.path, async (buffer) => {
    const metadata = await readMetadata(buffer, file)
    return {
      columns: parquetSchema(metadata).children.map((c) => c.element.name),
      rows: Number(metadata.num_rows),
    }
  })
}

/** Rows decoded at once in a row group: whole small groups, large ones in ranges of about `RANGE_BYTES`. */
export function rangeRows(group: RowGroup, needed: readonly string[]): number {
  const rows = Number(group.num_rows)
  let bytes = 0
  for (const chunk of group.columns) {
    const meta = chunk.meta_data
    if (meta && needed.includes(meta.path_in_schema[0])) bytes += Number(meta.total_uncompressed_size)
  }
  if (bytes <= RANGE_BYTES) return Math.max(rows, 1)
  return Math.min(rows, Math.max(MIN_RANGE_ROWS, Math.floor((rows * RANGE_BYTES) / bytes)))
}

/**
 * The rows of a Parquet file as jobs, numbered from `counter.next`. Read through a file-backed
 * buffer, row group by row group, a large group in bounded row ranges (hyparquet then decodes only
 * the pages of the range for flat columns, and reads only them when the file has an offset index);
 * only the needed columns are decoded. A gzip-compressed file is first decompressed to a temporary
 * file under `tempDir`, removed when the reading ends. Carried values go through `jsonSafe`.
 * A row group that fails to decode throws a `UsageError` naming it.
 */
export async function* parquetRows(
  file: TableFile,
  options: ResolvedTableOptions,
  counter: { next: number },
): AsyncGenerator<TableJob> {
  const temp = file.gzip ? await gunzipToTemp(file, options.tempDir) : undefined
  try {
    let buffer: FileBuffer
    try {
      buffer = await openFileBuffer(temp?.path ?? file.path)
    } catch (error) {
      throw readFailure(file, error, '')
    }
    try {
      const metadata = await readMetadata(buffer, file)
      const schema = parquetSchema(metadata)
      const plan = planColumns(
        file.path,
        schema.children.map((c) => c.element.name),
        options,
      )
      const columns = [...plan.needed]
      const carried = plan.carried ?? []
      // hyparquet decodes a nested column's whole chunk for any range: read such groups whole.
      const nested = schema.children.some(
        (c) =>
          columns.includes(c.element.name) &&
          (c.children.length > 0 || c.element.repetition_type === 'REPEATED'),
      )
      let groupStart = 0
      for (const [g, group] of metadata.row_groups.entries()) {
        const groupRows = Number(group.num_rows)
        const step = nested ? groupRows : rangeRows(group, columns)
        for (let start = groupStart; start < groupStart + groupRows; start += step) {
          const end = Math.min(groupStart + groupRows, start + step)
          const where = `${file.path} row group ${g} (rows ${start} to ${end - 1})`
          let rows: Record<string, unknown>[]
          try {
            rows = await parquetReadObjects({
              file: buffer,
              metadata,
              columns,
              rowStart: start,
              rowEnd: end,
              compressors,
              parsers: PARSERS,
              useOffsetIndex: true,
            })
          } catch (error) {
            throw new UsageError(`cannot decode ${where}: ${(error as Error).message}`, { cause: error })
          }
          if (rows.length !== end - start)
            throw new UsageError(`cannot decode ${where}: ${rows.length} rows came out of ${end - start}`)
          for (const [i, values] of rows.entries()) {
            yield buildJob(
              counter.next++,
              (name) => values[name],
              carried,
              plan,
              options.hashType,
              () => `${file.path} row ${start + i} (row group ${g})`,
              jsonSafe,
            )
          }
        }
        groupStart += groupRows
      }
    } finally {
      await buffer.close()
    }
  } finally {
    await temp?.remove()
  }
}
