import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { finished } from 'node:stream/promises'
import { type Options, parse } from 'csv-parse'
import { crlfsIn } from '../sources/tables/csv.js'

/** One CSV record with where it ends: the byte after its record delimiter, and its last line. */
export interface CsvSpan {
  fields: string[]
  /** Offset in the file of the byte after the record (and its delimiter): where the next one starts. */
  end: number
  /** 1-based line the record ends on. */
  endLine: number
}

/**
 * The records of a CSV or TSV file from byte `start` (a record's first byte), with their end
 * offsets, parsed as the tables reader parses them (`src/sources/tables/csv.ts`: RFC 4180 quotes,
 * relaxed quotes and column counts, blank lines skipped, a byte order mark dropped). From the
 * middle of a file the record delimiter cannot be detected as at its start: pass the one the header
 * ended with. `lineBase`: lines before `start`. A syntax error throws after the records before it.
 */
export async function* csvSpans(
  path: string,
  format: 'csv' | 'tsv',
  from: { start: number; lineBase: number; recordDelimiter?: string },
): AsyncGenerator<CsvSpan> {
  const pending: CsvSpan[] = []
  let overcount = 0
  const options: Options = {
    delimiter: format === 'tsv' ? '\t' : ',',
    bom: from.start === 0,
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    on_record: (fields: string[], context) => {
      overcount += crlfsIn(fields)
      pending.push({
        fields,
        end: from.start + context.bytes,
        endLine: from.lineBase + context.lines - overcount,
      })
      return null
    },
  }
  if (from.recordDelimiter) options.record_delimiter = from.recordDelimiter
  const parser = parse(options)
  parser.on('error', () => {})
  const bytes = createReadStream(path, { start: from.start, highWaterMark: 256 * 1024 })
  try {
    for await (const chunk of bytes) {
      parser.write(chunk)
      yield* pending.splice(0)
      if (parser.errored) throw parser.errored
    }
    parser.end()
    let failure: unknown
    await finished(parser, { readable: false }).catch((error) => {
      failure = error
    })
    yield* pending.splice(0)
    if (failure) throw failure
  } finally {
    bytes.destroy()
    parser.destroy()
  }
}

/** The record delimiter csv-parse detected for a header that ended at byte `end` (`\r\n`, `\n` or `\r`). */
export async function delimiterBefore(path: string, end: number): Promise<string | undefined> {
  if (end < 1) return undefined
  const handle = await open(path, 'r')
  try {
    const two = Buffer.alloc(2)
    const from = Math.max(0, end - 2)
    const { bytesRead } = await handle.read(two, 0, end - from, from)
    const tail = two.subarray(0, bytesRead).toString('latin1')
    if (tail.endsWith('\r\n')) return '\r\n'
    if (tail.endsWith('\n')) return '\n'
    if (tail.endsWith('\r')) return '\r'
    return undefined
  } finally {
    await handle.close()
  }
}
