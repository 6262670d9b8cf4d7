import { parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import { UsageError } from '../errors.js'
import { planColumns } from '../sources/tables/columns.js'
import { openFileBuffer } from '../sources/tables/file-buffer.js'
import type { TableFile } from '../sources/tables/format.js'
import { buildJob, type TableJob } from '../sources/tables/job.js'
import type { ResolvedTableOptions } from '../sources/tables/options.js'
import { planRanges } from '../sources/tables/parquet.js'
import { cellText, jsonSafe, PARSERS } from '../sources/tables/values.js'

/**
 * Rows `from` to `from + count - 1` of a Parquet file (not gzip-compressed) as jobs numbered from
 * `firstRow`, read as `parquetRows` reads them (the same columns, conversions and messages), but
 * only the row groups that hold them: a shard in the middle of a 100-million-row file costs its
 * own rows, not the ones before it.
 */
export async function* parquetRange(
  file: TableFile,
  options: ResolvedTableOptions,
  from: number,
  firstRow: number,
  count: number,
): AsyncGenerator<TableJob> {
  if (count <= 0) return
  const buffer = await openFileBuffer(file.path)
  try {
    const metadata = await parquetMetadataAsync(buffer)
    const schema = parquetSchema(metadata)
    const plan = planColumns(
      file.path,
      schema.children.map((c) => c.element.name),
      options,
    )
    const columns = [...plan.needed]
    const carried = plan.carried ?? []
    const enums = new Set(
      schema.children
        .filter((c) => c.element.converted_type === 'ENUM' || c.element.logical_type?.type === 'ENUM')
        .map((c) => c.element.name),
    )
    const convert = (value: unknown, column: string) =>
      enums.has(column) && value instanceof Uint8Array ? cellText(value) : jsonSafe(value)
    const nested = schema.children.some(
      (c) =>
        columns.includes(c.element.name) &&
        (c.children.length > 0 || c.element.repetition_type === 'REPEATED'),
    )
    const until = from + count
    let groupStart = 0
    let row = firstRow
    for (const [g, group] of metadata.row_groups.entries()) {
      const groupEnd = groupStart + Number(group.num_rows)
      if (groupEnd <= from || groupStart >= until) {
        groupStart = groupEnd
        continue
      }
      const ranges = nested
        ? { rows: groupEnd - groupStart, least: 0 }
        : await planRanges(buffer, group, columns)
      for (let start = Math.max(from, groupStart); start < Math.min(until, groupEnd); ) {
        const end = Math.min(until, groupEnd, start + Math.max(1, ranges.rows))
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
            utf8: false,
            useOffsetIndex: true,
          })
        } catch (error) {
          throw new UsageError(`cannot decode ${where}: ${(error as Error).message}`, { cause: error })
        }
        if (rows.length !== end - start)
          throw new UsageError(`cannot decode ${where}: ${rows.length} rows came out of ${end - start}`)
        for (const [i, values] of rows.entries()) {
          yield buildJob(
            row++,
            (name) => values[name],
            carried,
            plan,
            options.hashType,
            () => `${file.path} row ${start + i} (row group ${g})`,
            convert,
          )
        }
        start = end
      }
      groupStart = groupEnd
      buffer.forget()
    }
  } finally {
    await buffer.close()
  }
}
