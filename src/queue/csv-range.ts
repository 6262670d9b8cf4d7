import { createReadStream } from 'node:fs'
import { finished } from 'node:stream/promises'
import { type Options, parse } from 'csv-parse'
import { crlfsIn, csvParseOptions } from '../sources/tables/csv.js'
import { type RawRecord, strayQuoteLines } from '../sources/tables/stray-quote.js'
import { utf8Checked } from '../sources/tables/utf8.js'

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
 * relaxed quotes and column counts, a stray quote's lines read one by one, any mix of line endings, blank lines skipped, a byte order
 * mark dropped). `lineBase`: lines before `start`. A syntax error throws after the records before it.
 */
export async function* csvSpans(
  path: string,
  format: 'csv' | 'tsv',
  from: { start: number; lineBase: number },
  /** Check every byte read as UTF-8 (enqueue's pass over the whole file: not UTF-8 is a `UsageError`). */
  checkUtf8 = false,
  /** A CSV file's field separator (see `csvDelimiter`). */
  delimiter: ',' | ';' = ',',
): AsyncGenerator<CsvSpan> {
  const pending: CsvSpan[] = []
  let overcount = 0
  const options: Options = {
    ...csvParseOptions(format, delimiter),
    bom: from.start === 0,
    on_record: (value: string[], context) => {
      // With `raw`, csv-parse gives the record beside its text, whatever its types say.
      const { record: fields, raw } = value as unknown as RawRecord
      overcount += crlfsIn(fields)
      const end = from.start + context.bytes
      const endLine = from.lineBase + context.lines - overcount
      const lines = strayQuoteLines(fields, raw, format, path, endLine)
      if (!lines) pending.push({ fields, end, endLine })
      else
        for (const line of lines)
          pending.push({
            fields: line.fields,
            end: end - line.bytesAfter,
            endLine: endLine - line.linesAfter,
          })
      return null
    },
  }
  const parser = parse(options)
  parser.on('error', () => {})
  const stream = createReadStream(path, { start: from.start, highWaterMark: 256 * 1024 })
  const bytes: AsyncIterable<Buffer> = checkUtf8 ? utf8Checked(stream, path) : stream
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
    stream.destroy()
    parser.destroy()
  }
}
