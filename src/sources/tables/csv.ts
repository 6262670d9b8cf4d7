import { finished } from 'node:stream/promises'
import { parse } from 'csv-parse'
import { parse as parseNow } from 'csv-parse/sync'
import { UsageError } from '../../errors.js'
import { inputWord } from '../pipe-list.js'
import { type ColumnPlan, planColumns, uniqueHeader } from './columns.js'
import {
  backslashRecord,
  type CsvEscape,
  copyTextCell,
  ESCAPE_SNIFF_BYTES,
  sniffCopyText,
  sniffCsvEscape,
  sniffedText,
  spacedQuoteRecord,
} from './csv-escape.js'
import type { TableFile } from './format.js'
import { cutRow, openBytes, PIPE_QUIET_MS, readFailure, streamHead } from './input.js'
import { buildJob, invalidRow, type TableJob } from './job.js'
import type { HashType, ResolvedTableOptions } from './options.js'
import { type RawRecord, strayQuoteLines, unclosedQuote } from './stray-quote.js'
import { utf8Checked, ZeroFilled } from './utf8.js'

interface CsvRecord {
  fields: string[]
  /** The 1-based line the record ends on. */
  endLine: number
}

/** How often `text` holds `part`. */
function count(text: string, part: string): number {
  let n = 0
  for (let i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + part.length)) n++
  return n
}

/** CRLFs inside a record's quoted fields. */
export const crlfsIn = (fields: string[]) => fields.reduce((n, field) => n + count(field, '\r\n'), 0)

/**
 * Every line ending, in any mix, as Python's csv module reads them: csv-parse otherwise takes the
 * first line's for the whole file, and a CRLF header over LF rows would join the rows into one.
 */
const RECORD_DELIMITERS = ['\r\n', '\n', '\r']

/**
 * The longest record held while looking for its end (64 MiB, as a JSON line): past it a quote
 * opened in the record is taken to be unclosed where it should be, and the reading stops. Without
 * it such a quote held the rest of the file in one cell (4.3 GB of memory for a 1 GB file).
 */
const MAX_RECORD = 64 * 1024 * 1024

/**
 * csv-parse's options for a table, beside its `on_record` and `bom`: what `csvRecords` and the
 * queue's `csvSpans` read alike, so a worker finds the rows a local run finds. `delimiter`: a CSV
 * file's separator (see `csvDelimiter`); a TSV file's is a tab. `quoting: false`: a quote is text
 * (a TSV line whose quote never closes, read on its own: `unclosedQuote`). `quoteEscape`: how a quote
 * inside a quoted CSV field is written (`sniffCsvEscape`): `\"` is read with csv-parse's `escape`
 * (each record then given to `backslashRecord`, by `csvFields`).
 */
export function csvParseOptions(
  format: 'csv' | 'tsv',
  delimiter: ',' | ';' = ',',
  quoting = true,
  quoteEscape: CsvEscape = 'rfc',
) {
  const backslash = format === 'csv' && quoting && quoteEscape === 'backslash'
  return {
    delimiter: format === 'tsv' ? '\t' : delimiter,
    quote: quoting ? '"' : false,
    ...(backslash ? { escape: '\\' } : {}),
    record_delimiter: RECORD_DELIMITERS,
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    max_record_size: MAX_RECORD,
    raw: true,
  }
}

/**
 * A record's fields as csv-parse read them with `csvParseOptions` (`raw: true`), a backslash kept
 * where the file's escape is `\"` and csv-parse dropped it (`backslashRecord`), a CSV or
 * TSV field's spaces after its closing quote dropped (`spacedQuoteRecord`).
 */
export function csvFields(
  value: unknown,
  format: 'csv' | 'tsv',
  delimiter: ',' | ';' = ',',
  quoteEscape: CsvEscape = 'rfc',
): RawRecord {
  const { record, raw } = value as RawRecord
  if (format === 'tsv') return { record: spacedQuoteRecord(record, raw, '\t', 'rfc'), raw }
  const fields = quoteEscape === 'backslash' ? backslashRecord(record, raw, delimiter) : record
  return { record: spacedQuoteRecord(fields, raw, delimiter, quoteEscape), raw }
}

/** Where a record starts: its end line less the line breaks inside its quoted fields (CRLF once). */
export function csvStartLine({ fields, endLine }: CsvRecord): number {
  const breaks = fields.reduce((n, field) => n + count(field, '\n') + count(field, '\r'), 0)
  return endLine - (breaks - crlfsIn(fields))
}

/**
 * A csv-parse syntax error as a `UsageError` naming the file and, where csv-parse's own line would
 * mislead, the line: a quote never closed is named where it opened, in the record after the last
 * whole one (`lastLine`), not at the file's end where csv-parse gave up. `undefined` for any other
 * error.
 */
export function csvSyntaxError(path: string, error: unknown, lastLine: number): UsageError | undefined {
  if (!(error instanceof Error && 'code' in error && String(error.code).startsWith('CSV_'))) return undefined
  if (error.code === 'CSV_QUOTE_NOT_CLOSED') {
    return new UsageError(
      `${inputWord(path)} line ${lastLine + 1}: a quote opened in this record is never closed`,
      {
        cause: error,
      },
    )
  }
  if (error.code === 'CSV_MAX_RECORD_SIZE') {
    return new UsageError(
      `${inputWord(path)} line ${lastLine + 1}: a record runs past ${MAX_RECORD / 1024 / 1024} MiB: a quote opened in it is not closed where it should be`,
      { cause: error },
    )
  }
  return new UsageError(`${inputWord(path)}: ${error.message}`, { cause: error })
}

/** Where a reading starts: a record's first byte (of the text, decompressed), and the lines before it. */
interface From {
  start: number
  lineBase: number
}

/**
 * A pipe's bytes from where the record after the last one given out starts (`from`), for
 * `csvRecords` to read its whole records apart from the parser: kept as they come, dropped once
 * given (a record's bytes at most, which csv-parse holds too, up to `MAX_RECORD`).
 */
class HeldTail {
  private chunks: Buffer[] = []
  /** The offset of the first kept chunk's first byte. */
  private chunksAt: number
  /** Bytes past `from` read at every line end: a record written a line at a time is given once whole. */
  static readonly ALWAYS = 64 * 1024
  /** The size of the bytes last read and found not whole: past `ALWAYS`, read again once they have doubled. */
  private triedAt = 0
  private endsLine = false
  /** The bytes of the kept chunks. */
  private keptBytes = 0

  constructor(public from: From) {
    this.chunksAt = from.start
  }

  add(chunk: Buffer): void {
    this.chunks.push(chunk)
    this.keptBytes += chunk.length
    // Not at a CR: its LF may come next, which read apart would be a blank line, a line more.
    this.endsLine = chunk.at(-1) === 0x0a
  }

  /** The bytes past `from` when they end a line and are worth reading (see `wholeRecords`), else `undefined`. */
  ready(): Buffer | undefined {
    if (!this.endsLine) return undefined
    const size = this.size()
    if (size <= 0 || (size > HeldTail.ALWAYS && size < 2 * this.triedAt)) return undefined
    return Buffer.concat(this.chunks).subarray(this.from.start - this.chunksAt)
  }

  /** The bytes past `from` hold no whole record yet (a quoted field that spans lines). */
  notWhole(): void {
    this.triedAt = this.size()
  }

  /** The bytes past `from`. */
  private size(): number {
    return this.keptBytes - (this.from.start - this.chunksAt)
  }

  /** Records up to `from` given: their bytes dropped. */
  givenTo(from: From): void {
    if (from.start <= this.from.start) return
    this.from = from
    this.triedAt = 0
    while (this.chunks.length > 0 && this.chunksAt + this.chunks[0]!.length <= from.start) {
      const dropped = this.chunks.shift()!.length
      this.chunksAt += dropped
      this.keptBytes -= dropped
    }
  }
}

/**
 * Whether a record is a line of spaces and tabs alone (no separator, no quote): blank, as pandas
 * skips it (pandas-dev/pandas#10728, JoshClose/CsvHelper#1604: an editor's indented last line).
 * Read as a record, it was a row failing as `the URL cell is empty`. So is DOS's end-of-file mark
 * alone on its line (`dosEnd`).
 */
export const blankLine = (fields: readonly string[], raw: string) =>
  fields.length === 1 && (/^[ \t]+$/.test(fields[0]) || dosEnd(fields[0])) && !raw.includes('"')

/**
 * Whether a line's text (trimmed of spaces) is DOS's end-of-file mark alone, Ctrl-Z (0x1A), with
 * which files written on DOS and Windows end (Rdatatable/data.table#1612: OFAC's `sdn.csv`): no
 * row. Read as one, it failed as `invalid URL "\x1a"` (in JSON lines, `Unexpected token`). Asked of
 * every line: a long one is no mark, and is not scanned.
 */
export const dosEnd = (text: string): boolean => text.length < 16 && text.trim() === '\u001a'

/**
 * The records of a CSV or TSV file, streamed. RFC 4180 quoting (as pandas and Python's csv module
 * write it, for TSV too), CRLF or LF, a UTF-8 byte order mark dropped, blank lines skipped, a
 * quote inside an unquoted field kept as it is; a quote that opens a field but does not close at
 * its end, lines later, is text in a TSV file (its lines read one by one) and an error in a CSV
 * file (`strayQuoteLines`), and one that never closes is text in a TSV file (its line read alone,
 * the reading going on from the next: `unclosedQuote`). Records are taken from csv-parse's
 * `on_record` as it parses, so every record before a syntax error is given before the error is
 * thrown. `from`: where to start; `unquoted`: read the first record there with quotes as text, and
 * go on as usual after it. A pipe's record is given once its line ends, not once the next begins
 * (see `wholeRecords`).
 */
async function* csvRecords(
  file: TableFile,
  from: From = { start: 0, lineBase: 0 },
  unquoted = false,
): AsyncGenerator<CsvRecord> {
  const pending: CsvRecord[] = []
  // csv-parse counts a CRLF inside quotes as two lines: take them back off its count.
  let overcount = 0
  let lastLine = from.lineBase
  /** Where the record after the last whole one starts. */
  let next: From = from
  const format = file.format as 'csv' | 'tsv'
  /** Records the parser gives that `wholeRecords` gave before it: each given once. */
  let given = 0
  /** A pipe's bytes from where the record after the last one given out starts (see `wholeRecords`). */
  const held = file.pipe && !unquoted ? new HeldTail(from) : undefined
  /** The records read from a raw one at its end line (Excel's stray quote: its lines, each one). */
  const sniffed = sniffedText(file.path, file.escapeSeen)
  const records = (fields: string[], raw: string, endLine: number): CsvRecord[] => {
    if (blankLine(fields, raw)) return []
    const lines = strayQuoteLines(fields, raw, format, file.path, endLine, file.escape, sniffed)
    return lines
      ? lines.map((line) => ({ fields: line.fields, endLine: endLine - line.linesAfter }))
      : [{ fields, endLine }]
  }
  const parser = parse({
    ...csvParseOptions(format, file.delimiter, !unquoted, file.escape),
    bom: from.start === 0,
    on_record: (value: string[], context) => {
      if (unquoted && pending.length > 0) return null // the one record read so is taken
      // With `raw`, csv-parse gives the record beside its text, whatever its types say.
      const { record: fields, raw } = csvFields(value, format, file.delimiter, unquoted ? 'rfc' : file.escape)
      overcount += crlfsIn(fields)
      lastLine = from.lineBase + context.lines - overcount
      next = { start: from.start + context.bytes, lineBase: lastLine }
      if (given > 0)
        given-- // given out by `wholeRecords` as its line ended
      else {
        held?.givenTo(next)
        pending.push(...records(fields, raw, lastLine))
      }
      return null // nothing for the stream side: records leave through `pending`
    },
  })
  /**
   * The whole records in a pipe's bytes the parser holds, read apart (csv-parse's sync API, the
   * same options), or none while the last of them is not whole: csv-parse holds a record whose
   * line ended at the end of what came until bytes past it come (up to 3, for a quote doubled or
   * a CRLF), so the last row a crawler wrote into the pipe was fetched only once it wrote another
   * (or ended). Read when the bytes so far end a line: a line break outside quotes ends a record,
   * whatever comes next; one inside a quoted field that spans lines is a quote never closed here,
   * so nothing is given, and it is tried again at each line end up to 64 KiB, then once its bytes
   * doubled (work linear in a long record).
   * The parser reads them too, and gives each once more: passed over (`given`).
   */
  const wholeRecords = (): CsvRecord[] => {
    const tail = held?.ready()
    if (!held || !tail) return []
    const found: CsvRecord[] = []
    let raws = 0
    let crlfs = 0
    let end: From = held.from
    try {
      parseNow(tail, {
        ...csvParseOptions(format, file.delimiter, true, file.escape),
        bom: held.from.start === 0,
        on_record: (value: string[], context) => {
          const { record: fields, raw } = csvFields(value, format, file.delimiter, file.escape)
          crlfs += crlfsIn(fields)
          end = {
            start: held.from.start + context.bytes,
            lineBase: held.from.lineBase + context.lines - crlfs,
          }
          found.push(...records(fields, raw, end.lineBase))
          raws++
          return null
        },
      })
    } catch {
      held.notWhole()
      return [] // a quote open past the last line: the parser reads on, and names a fault in order
    }
    given += raws
    held.givenTo(end)
    return found
  }
  parser.on('error', () => {}) // read from `parser.errored`, after the records before it
  const stream = openBytes(file, from.start)
  const bytes = utf8Checked(stream, file.path, from.lineBase)
  const failed = (error: unknown) => {
    return (
      csvSyntaxError(file.path, error, lastLine) ??
      readFailure(file, error, lastLine === 0 ? '' : `after line ${lastLine}`)
    )
  }
  /** Where to go on from: after the unquoted record, or at a TSV quote never closed. */
  let resume: { from: From; unquoted: boolean } | undefined
  /** The text's bytes read, from its start, and whether the last of them ends a line (`cutRow`). */
  let read = from.start
  let lineEnded = true
  try {
    try {
      for await (const chunk of bytes) {
        read += chunk.length
        const last = chunk.at(-1)
        lineEnded = last === 0x0a || last === 0x0d
        held?.add(chunk)
        parser.write(chunk)
        if (unquoted && pending.length > 0) break
        yield* pending.splice(0)
        if (!parser.errored) yield* wholeRecords()
        if (parser.errored) {
          if (format === 'tsv' && !unquoted && unclosedQuote(parser.errored)) {
            resume = { from: next, unquoted: true }
            break
          }
          throw failed(parser.errored)
        }
      }
    } catch (error) {
      // Zeros to the end after whole lines: the records before them are whole, and read first.
      if (error instanceof ZeroFilled && error.lineHeld && !parser.errored) {
        parser.end()
        await finished(parser, { readable: false }).catch(() => {})
        yield* pending.splice(0)
      }
      throw failed(error)
    }
    if (!resume && !(unquoted && pending.length > 0)) {
      parser.end()
      let failure: unknown
      await finished(parser, { readable: false }).catch((error) => {
        failure = error
      })
      if (failure && format === 'tsv' && !unquoted && unclosedQuote(failure))
        resume = { from: next, unquoted: true }
      else if (failure) {
        yield* pending.splice(0)
        throw failed(failure)
      }
      const last = resume ? undefined : pending.at(-1)
      const cut = last && cutRow(file, csvStartLine(last), read, lineEnded)
      if (cut) {
        yield* pending.slice(0, -1)
        throw cut
      }
    }
    if (unquoted && pending.length > 0) {
      yield pending[0]
      resume = { from: next, unquoted: false }
    } else yield* pending.splice(0)
  } finally {
    stream.destroy()
    parser.destroy()
  }
  if (resume) yield* csvRecords(file, resume.from, resume.unquoted)
}

/**
 * The field separator a CSV header shows: `;` for a header read as one field that holds a `;` and
 * no `,` (Excel's CSV where the decimal separator is a comma: most of Europe), else `,`.
 */
export function csvDelimiter(header: readonly string[]): ',' | ';' {
  return header.length === 1 && header[0].includes(';') ? ';' : ','
}

/**
 * The separator Excel's first line `sep=;` (or `sep=,`) names, read as a record of `fields`;
 * `undefined` for any other record. Excel writes and reads it to say the separator, before the
 * header; `sep=` naming another separator is a `UsageError` naming the file.
 */
export function sepLine(path: string, fields: readonly string[]): ',' | ';' | undefined {
  const text = fields.join(',')
  if (!/^sep=.$/s.test(text)) return undefined
  const separator = text.slice(4)
  if (separator === ',' || separator === ';') return separator
  throw new UsageError(
    `${inputWord(path)} line 1 is ${JSON.stringify(text)}, Excel's line naming the separator: a CSV file is read separated by "," or ";", not ${JSON.stringify(separator)}`,
  )
}

/** A file's first bytes, those its escape is told from (`ESCAPE_SNIFF_BYTES`; a pipe's, before it went quiet); empty if they cannot be read (the reading names the error). */
async function escapeHead(file: TableFile): Promise<Uint8Array> {
  try {
    const head = await streamHead(
      openBytes(file, 0),
      ESCAPE_SNIFF_BYTES,
      file.pipe ? PIPE_QUIET_MS : undefined,
    )
    if (file.pipe) file.escapeSeen = head.length
    return head
  } catch {
    return new Uint8Array()
  }
}

/**
 * The column names of a CSV or TSV file: its first record, or its second after Excel's `sep=;`
 * line (`sepLine`), which sets the separator. A CSV header that shows `;` as its
 * separator (`csvDelimiter`) sets `file.delimiter`, for its rows, and a CSV file's first bytes its
 * `file.escape` (`sniffCsvEscape`: the header is read again with `\"`). An empty file is a `UsageError`.
 */
export async function csvHeader(file: TableFile): Promise<string[]> {
  let first = true
  for await (const record of csvRecords(file)) {
    if (first && file.format === 'csv' && file.sepLine === undefined) {
      const separator = sepLine(file.path, record.fields)
      file.sepLine = separator !== undefined
      if (separator) {
        file.delimiter = separator
        return csvHeader(file)
      }
    }
    if (first && file.sepLine) {
      first = false
      continue
    }
    if (file.format === 'csv' && file.delimiter === undefined && csvDelimiter(record.fields) === ';') {
      file.delimiter = ';'
      return csvHeader(file)
    }
    if (file.format === 'tsv' && file.copyText === undefined)
      file.copyText = sniffCopyText(await escapeHead(file))
    if (file.format === 'csv' && file.escape === undefined) {
      file.escape = sniffCsvEscape(await escapeHead(file), file.delimiter)
      if (file.escape === 'backslash') return csvHeader(file)
    }
    return uniqueHeader(record.fields)
  }
  throw new UsageError(
    `${inputWord(file.path)} is empty: a ${file.format.toUpperCase()} table needs a header line`,
  )
}

/**
 * Why a record cannot be read against its header: more fields than it names (which cell is which
 * is unknown: pandas stops the file there; one of them holding `\"` is said to be Spark's escape, read
 * as RFC 4180). A record with fewer is read as pandas and Python's
 * `csv.DictReader` read it, its missing trailing cells empty: some writers drop empty trailing
 * fields (`url,caption,license` over `https://…/a.jpg,a fox`). Fields past the header that are all
 * empty are a delimiter ending the record (`https://…/a.jpg,a fox,` under `url,caption`, as scripts
 * and some exports write every row), read as DuckDB's sniffer and `csv.DictReader` read it: the
 * named cells are where the header says.
 */
export function extraFields(
  fields: readonly string[],
  header: readonly string[],
  /** What the file's escape was told from (`sniffedText`). @default the file's first MiB */
  sniffed = `the file's first ${ESCAPE_SNIFF_BYTES / 1024 / 1024} MiB`,
): string | undefined {
  if (fields.length <= header.length) return undefined
  if (fields.every((field, i) => i < header.length || field === '')) return undefined
  const why = `${fields.length} fields where the header has ${header.length}`
  // A Spark file whose first \" comes past the MiB that decides its escape (`sniffCsvEscape`).
  if (!fields.some((field) => field.includes('\\"'))) return why
  return `${why}: a field holds \\", Spark's escape for a quote, but ${sniffed} show none, so it is read as RFC 4180`
}

/**
 * The cell of `fields` at `at` (a record's missing last cells `''`): text as written, but `\N`,
 * which PostgreSQL's `COPY … TO` (text format), MySQL's `INTO OUTFILE` and Hive write for null
 * (and escape as `\\N` when it is text), is null, so a null caption is no caption rather than
 * the text `\N` in a sample's `.txt`. `copyText`: the file is in `COPY … TO` text format
 * (`sniffCopyText`), its escapes (`\t`, `\n`, `\\`, …) the characters they stand for
 * (`copyTextCell`), where a caption kept them as written.
 */
export function csvCell(fields: readonly string[], at: number | undefined, copyText = false): string | null {
  const value = (at === undefined ? undefined : fields[at]) ?? ''
  if (value === '\\N') return null
  return copyText ? copyTextCell(value) : value
}

/** What a CSV or TSV header decides for every record under it: the columns' places and plan. */
export interface CsvLayout {
  header: readonly string[]
  index: ReadonlyMap<string, number>
  carried: readonly string[]
  plan: ColumnPlan
  /** What the file's escape was told from (`sniffedText`), for `extraFields`. @default the file's first MiB */
  sniffed?: string
  /** A CSV file's separator, for a URL in its last column holding it unquoted (`urlFields`); none for TSV. */
  delimiter?: ',' | ';'
  /** Whether its cells are in `COPY … TO` text format (`sniffCopyText`), for `csvCell`. */
  copyText?: boolean
  /** Whether its records start with row names its header has no column for (`rowNames`). */
  rowNames?: boolean
}

/**
 * Whether a file's first record (`fields`, the one under its header) starts with a row name its
 * header has no column for, as R's `write.table` writes them (`row.names = TRUE` under
 * `"url","caption"`; `write.csv` names that column `""`): one field more than the header, the last
 * not empty (a delimiter ending the record is none: `extraFields`), and the URL column's cell an
 * http(s) URL read one field on where it is none in its own place (a URL holding the separator,
 * `urlFields`, is whole there). pandas' `read_csv` and R's `read.table` take that first field for
 * the index, as it is read here (not carried); each row was an `invalid-row`, nothing fetched.
 */
export function rowNames(fields: readonly string[], layout: CsvLayout): boolean {
  const at = layout.index.get(layout.plan.url)
  if (at === undefined || fields.length !== layout.header.length + 1 || fields.at(-1) === '') return false
  const url = (cell: string | undefined) => cell !== undefined && /^https?:\/\/\S+$/i.test(cell.trim())
  return url(fields[at + 1]) && !url(urlFields(fields, layout)[at])
}

/** The layout of a header's `fields` (made unique as pandas makes them), for `csvRecordJob`. */
export function csvLayout(
  path: string,
  fields: readonly string[],
  options: ResolvedTableOptions,
  delimiter?: ',' | ';',
): CsvLayout {
  const header = uniqueHeader(fields)
  const plan = planColumns(path, header, options)
  return {
    header,
    index: new Map(header.map((name, i) => [name, i])),
    carried: plan.carried ?? [],
    plan,
    delimiter,
  }
}

/**
 * A CSV record whose URL column is the header's last, with more fields than the header, read with
 * the URL whole: its fields from the URL column on, joined by the separator, when they make one
 * http(s) URL without spaces. A URL holding commas (Cloudinary's `w_300,h_200,c_fill`, Baidu's
 * `u=1798831392,1750834138`) written unquoted, as a script's `echo` writes it, was an
 * `invalid-row` (rom1504/img2dataset#196: "Expected 1 columns, got 2"), its image never fetched;
 * the cells before it are where the header says. Any other record is as it came.
 */
function urlFields(fields: readonly string[], layout: CsvLayout): readonly string[] {
  const { header, delimiter } = layout
  const at = layout.index.get(layout.plan.url)
  if (delimiter === undefined || at !== header.length - 1 || fields.length <= header.length) return fields
  const url = fields.slice(at).join(delimiter)
  if (fields.slice(header.length).every((field) => field === '') || !/^https?:\/\/\S+$/i.test(url))
    return fields
  return [...fields.slice(0, at), url]
}

/**
 * The job for record `row` of the file at `path`, named by its line in messages; `invalid-row`
 * when it has more fields than its header (`extraFields`). The local run and the queue's shard
 * reader make their jobs here, so a worker's rows are a local run's.
 */
export function csvRecordJob(
  record: CsvRecord,
  row: number,
  layout: CsvLayout,
  path: string,
  hashType: HashType,
): TableJob {
  const named = layout.rowNames && record.fields.length === layout.header.length + 1
  const fields = named ? record.fields.slice(1) : urlFields(record.fields, layout)
  const where = () => `${inputWord(path)} line ${csvStartLine(record)}`
  const why = extraFields(fields, layout.header, layout.sniffed)
  if (why) return invalidRow(row, `${where()}: ${why}`)
  const cell = (name: string) => csvCell(fields, layout.index.get(name), layout.copyText)
  return buildJob(row, cell, layout.carried, layout.plan, hashType, where)
}

/**
 * A check of each record against its file's header (`header`: its fields as written): a
 * `UsageError` when the record is that header again with its columns in another order (files
 * whose columns differ in order joined with `cat`). Read on, every row under it had each cell
 * under another column's name: with `url,thumb` then `thumb,url`, each thumbnail was fetched and
 * kept as the image. `undefined` for any other record (the header again in its own order is a row
 * failing as `invalid-url`, its cells those of the columns they are under). Made once a file: it
 * runs for every row, where a first cell that is no column's name ends it.
 */
export function reorderedHeader(
  path: string,
  header: readonly string[],
): (fields: readonly string[], line: number) => UsageError | undefined {
  const names = header.map((name) => name.trim())
  const known = new Set(names)
  const sorted = [...names].sort().join('\0')
  return (fields, line) => {
    if (fields.length !== names.length || names.length < 2 || !known.has(fields[0]!.trim())) return undefined
    const cells = fields.map((field) => field.trim())
    if (cells.every((cell, i) => cell === names[i]) || [...cells].sort().join('\0') !== sorted)
      return undefined
    return new UsageError(
      `${inputWord(path)} line ${line} is its header again with the columns in another order (${fields.map((f) => JSON.stringify(f)).join(', ')}): files joined with cat whose columns differ in order, the rows under it each cell under another column's name; give the files apart, each with its header, or join them with the columns in one order`,
    )
  }
}

/**
 * The rows of a CSV or TSV file as jobs, numbered from `counter.next`. Cells are text as written:
 * an empty cell is `''`, a `\N` null (`csvCell`). A CSV file's `;` separator is the one `csvHeader` found (`openTables`
 * reads every header first). A record with more fields than the header is kept as an
 * `invalid-row` job, one with fewer has its missing cells empty (`extraFields`); a syntax error the
 * parser cannot get past (a quote never closed) throws.
 */
export async function* csvRows(
  file: TableFile,
  options: ResolvedTableOptions,
  counter: { next: number },
): AsyncGenerator<TableJob> {
  let layout: CsvLayout | undefined
  let headerAgain: ReturnType<typeof reorderedHeader> = () => undefined
  let sep = file.sepLine === true
  for await (const record of csvRecords(file)) {
    if (sep) {
      sep = false // Excel's `sep=;` line, before the header
      continue
    }
    if (!layout) {
      layout = {
        ...csvLayout(
          file.path,
          record.fields,
          options,
          file.format === 'csv' ? (file.delimiter ?? ',') : undefined,
        ),
        sniffed: sniffedText(file.path, file.escapeSeen),
        copyText: file.copyText,
      }
      headerAgain = reorderedHeader(file.path, record.fields)
      continue
    }
    layout.rowNames ??= rowNames(record.fields, layout)
    const reordered = headerAgain(record.fields, csvStartLine(record))
    if (reordered) throw reordered
    yield csvRecordJob(record, counter.next++, layout, file.path, options.hashType)
  }
  if (!layout)
    throw new UsageError(
      `${inputWord(file.path)} is empty: a ${file.format.toUpperCase()} table needs a header line`,
    )
}
