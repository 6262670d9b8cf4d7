import { createReadStream } from 'node:fs'
import { finished } from 'node:stream/promises'
import { type Options, parse } from 'csv-parse'
import { blankLine, crlfsIn, csvFields, csvParseOptions } from '../sources/tables/csv.js'
import type { CsvEscape } from '../sources/tables/csv-escape.js'
import { strayQuoteLines, unclosedQuote } from '../sources/tables/stray-quote.js'
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
 * offsets, parsed as the tables reader parses them (`src/sources/tables/csv.ts`: RFC 4180 quotes or `\"`,
 * relaxed quotes and column counts, a stray quote's lines read one by one, a TSV quote never
 * closed read as text on its line, any mix of line endings, blank lines (and lines of spaces or tabs
 * alone: `blankLine`) skipped, a byte order
 * mark dropped). `lineBase`: lines before `start`. A syntax error throws after the records before
 * it. `unquoted`: read the first record with quotes as text, and go on as usual after it.
 */
export async function* csvSpans(
  path: string,
  format: 'csv' | 'tsv',
  from: { start: number; lineBase: number },
  /** Check every byte read as UTF-8 (enqueue's pass over the whole file: not UTF-8 is a `UsageError`). */
  checkUtf8 = false,
  /** A CSV file's field separator (see `csvDelimiter`). */
  delimiter: ',' | ';' = ',',
  unquoted = false,
  /** A CSV file's escape inside quoted fields (see `sniffCsvEscape`). */
  quoteEscape: CsvEscape = 'rfc',
): AsyncGenerator<CsvSpan> {
  const pending: CsvSpan[] = []
  let overcount = 0
  /** Where the record after the last whole one starts. */
  let next = from
  const options: Options = {
    ...csvParseOptions(format, delimiter, !unquoted, quoteEscape),
    bom: from.start === 0,
    on_record: (value: string[], context) => {
      if (unquoted && pending.length > 0) return null // the one record read so is taken
      // With `raw`, csv-parse gives the record beside its text, whatever its types say.
      const { record: fields, raw } = csvFields(value, format, delimiter, unquoted ? 'rfc' : quoteEscape)
      overcount += crlfsIn(fields)
      const end = from.start + context.bytes
      const endLine = from.lineBase + context.lines - overcount
      next = { start: end, lineBase: endLine }
      if (blankLine(fields, raw)) return null
      const lines = strayQuoteLines(fields, raw, format, path, endLine, quoteEscape)
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
  const bytes: AsyncIterable<Buffer> = checkUtf8 ? utf8Checked(stream, path, from.lineBase) : stream
  /** A TSV quote never closed is text on its line (`unclosedQuote`): go on from there. */
  const resumable = (error: unknown) => format === 'tsv' && !unquoted && unclosedQuote(error)
  let resume: { start: number; lineBase: number } | undefined
  let again = false
  try {
    for await (const chunk of bytes) {
      parser.write(chunk)
      if (unquoted && pending.length > 0) break
      yield* pending.splice(0)
      if (parser.errored) {
        if (!resumable(parser.errored)) throw parser.errored
        resume = next
        again = true
        break
      }
    }
    if (!resume && !(unquoted && pending.length > 0)) {
      parser.end()
      let failure: unknown
      await finished(parser, { readable: false }).catch((error) => {
        failure = error
      })
      if (failure && resumable(failure)) {
        resume = next
        again = true
      } else if (failure) {
        yield* pending.splice(0)
        throw failure
      }
    }
    if (unquoted && pending.length > 0) {
      yield pending[0]
      resume = next
    } else yield* pending.splice(0)
  } finally {
    stream.destroy()
    parser.destroy()
  }
  if (resume) yield* csvSpans(path, format, resume, checkUtf8, delimiter, again, quoteEscape)
}
