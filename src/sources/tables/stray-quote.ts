import { parse } from 'csv-parse/sync'
import { UsageError } from '../../errors.js'
import { inputWord } from '../pipe-list.js'
import { type CsvEscape, sniffedText } from './csv-escape.js'

/** A record as csv-parse gives it with `raw: true`: its fields and the text they were read from. */
export interface RawRecord {
  record: string[]
  raw: string
}

/**
 * Whether csv-parse stopped at a quote it could not close: the file ended inside it, or the record
 * ran past the longest one held. In a TSV file, written without quoting, it is a caption that opens
 * with a quote and none after it ends: the line it opens on is read as text, and the reading goes
 * on from the next line (`csvRecords`, `csvSpans`).
 */
export function unclosedQuote(error: unknown): boolean {
  const code = error instanceof Error && 'code' in error ? error.code : undefined
  return code === 'CSV_QUOTE_NOT_CLOSED' || code === 'CSV_MAX_RECORD_SIZE'
}

/** One line of a record read again on its own (see `strayQuoteLines`). */
export interface RecordLine {
  fields: string[]
  /** Line breaks between this line's end and the record's last line. */
  linesAfter: number
  /** Bytes from this line's end (after its line break) to the record's end (after its delimiter). */
  bytesAfter: number
}

const QUOTE = 0x22
const LINE_BREAK = /\r\n|\n|\r/

/**
 * The field of a record that a stray quote ran over lines: it starts with a quote that did not
 * close at the field's end (csv-parse, relaxing quotes, kept it and went on), and holds a line
 * break. A field quoted as RFC 4180 quotes it (`"""Hi"", she said"`) is in the raw text as written;
 * so is one quoted with backslashes (`"\"Hi\", she said"`), its backslashes doubled or not.
 */
function strayField(fields: readonly string[], raw: string, quoteEscape: CsvEscape): number {
  const written = (field: string) =>
    quoteEscape === 'rfc'
      ? [field.replaceAll('"', '""')]
      : [field.replaceAll('"', '\\"'), field.replaceAll('\\', '\\\\').replaceAll('"', '\\"')]
  return fields.findIndex(
    (field) =>
      field.charCodeAt(0) === QUOTE &&
      (field.includes('\n') || field.includes('\r')) &&
      !written(field).some((text) => raw.includes(`"${text}"`)),
  )
}

/** One line as its own record: parsed as the file is, or split at every tab when its quotes do not parse. */
function lineFields(line: string): string[] {
  try {
    const records: string[][] = parse(line, { delimiter: '\t', relax_quotes: true, relax_column_count: true })
    if (records.length === 1) return records[0]
  } catch {}
  return line.split('\t')
}

/** A record's lines: its raw text less the blank lines before it (`text`), and less its delimiter (`body`). */
function recordLines(raw: string): { text: string; body: string; lines: string[] } {
  // Blank lines before the record are in its raw text; its end is the first byte of its delimiter.
  const text = raw.replace(/^[\r\n]+/, '')
  const body = text.replace(/[\r\n]$/, '')
  return { text, body, lines: body.split(LINE_BREAK) }
}

const URL_START = /^\s*https?:\/\//i

/**
 * Whether a record whose quoted field holds a line break is rows that a stray quote joined, the
 * quote closing at the end of a field lines later (`"Best photo` on one line, `A 12"` on another):
 * every line, read alone, has the record's number of fields, with a URL in the same field on each.
 * A field quoted as pandas quotes it, holding line breaks (and tabs), does not split so: its lines
 * end and start inside the field, short of the fields around it.
 */
function joinedRows(fields: readonly string[], raw: string): boolean {
  if (fields.length < 2 || !fields.some((field) => field.includes('\n') || field.includes('\r'))) return false
  const lines = recordLines(raw).lines.filter((line) => line !== '')
  if (lines.length < 2) return false
  const split = lines.map(lineFields)
  if (split.some((line) => line.length !== fields.length)) return false
  return fields.some((_, at) => split.every((line) => URL_START.test(line[at])))
}

/**
 * A record that a quote ran over lines where the quote was no quoting: a field opening with a
 * quote whose closing quote, lines later, is not at the field's end, or is at a field's end where
 * each line is a row of its own (`joinedRows`). Python's csv module and pandas read such lines as
 * one record, so a caption that starts with a quote, in a TSV file written without quoting (IANA's
 * TSV, Google Sheets, the files torchtext and pytext read), joins the rows after it into its cell:
 * rows lost and those after shifted. A TSV record so is read line by line instead, each line as
 * its own record, its stray quote as text (`undefined`: the record is read as parsed). A CSV file
 * is written with RFC 4180 quoting, so there a quote closing inside a field stops the reading
 * (`UsageError`), naming the lines; one closing at a field's end is quoting, as RFC 4180 reads it.
 * `raw` is the record as csv-parse read it (`raw: true`); `endLine` its last line.
 */
export function strayQuoteLines(
  fields: string[],
  raw: string,
  format: 'csv' | 'tsv',
  path: string,
  endLine: number,
  /** How the file escapes a quote inside a quoted field (`sniffCsvEscape`). */
  quoteEscape: CsvEscape = 'rfc',
  /** What that escape was told from (`sniffedText`). @default the file's first MiB */
  sniffed: string = sniffedText(path),
): RecordLine[] | undefined {
  const stray = strayField(fields, raw, quoteEscape)
  if (stray < 0 && !(format === 'tsv' && joinedRows(fields, raw))) return undefined
  const { text, body, lines } = recordLines(raw)
  if (format === 'csv') {
    const first = endLine - (lines.length - 1)
    const joined = `${inputWord(path)} line ${first}: a quote opens field ${stray + 1} and closes on line ${endLine} inside the field, not at its end, which would read lines ${first} to ${endLine} as one record`
    // A Spark file whose first \" comes past the MiB that decides its escape (`sniffCsvEscape`):
    // the quote is no stray one, and the advice to double it named no cause.
    if (quoteEscape === 'rfc' && raw.includes('\\"'))
      throw new UsageError(
        `${joined}: the record holds \\", Spark's escape for a quote, but ${sniffed} show none, so it is read as RFC 4180; write the file with "" for a quote inside a field, as RFC 4180 does (Spark: .option("escape", "\\""))`,
      )
    throw new UsageError(
      `${joined}: quote the field as RFC 4180 does ("" for a quote inside it), or remove the stray quote`,
    )
  }
  // The record's last delimiter may be CRLF, of which the raw text holds the CR: counting a byte
  // more puts a line's end on its delimiter's last byte at worst, a blank line to a reader.
  let delimiter = Buffer.byteLength(text) - Buffer.byteLength(body) + (text.endsWith('\r') ? 1 : 0)
  let bytesAfter = 0
  let rest = body
  const out: RecordLine[] = []
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]
    if (line !== '') out.push({ fields: lineFields(line), linesAfter: lines.length - 1 - i, bytesAfter })
    bytesAfter += Buffer.byteLength(line) + delimiter
    // The line break before this line, from what is left of the record: CRLF or one character.
    rest = rest.slice(0, rest.length - line.length)
    delimiter = rest.endsWith('\r\n') ? 2 : rest.length > 0 ? 1 : 0
    rest = rest.slice(0, rest.length - delimiter)
  }
  return out.reverse()
}
