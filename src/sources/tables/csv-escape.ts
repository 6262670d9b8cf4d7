import type { Readable } from 'node:stream'
import { formatBytes } from '../../report/format.js'
import { inputWord } from '../pipe-list.js'
import { streamHead } from './input.js'

/**
 * How a CSV file writes a quote inside a quoted field: `rfc`, doubled (`""`), as RFC 4180, pandas,
 * Python's csv module and Excel write it; `backslash`, as `\"`, as Spark's CSV writer (its default
 * `escape`), Hive, MySQL's `SELECT … INTO OUTFILE` and pandas with `escapechar='\\'` and
 * `doublequote=False` write it (databricks/spark-csv#466, NVIDIA/cudf#11984).
 */
export type CsvEscape = 'rfc' | 'backslash'

/** How much of a file's text `sniffCsvEscape` reads: its first MiB. */
export const ESCAPE_SNIFF_BYTES = 1024 * 1024

/**
 * What a CSV file's escape was told from, for a message saying its `\"` was not seen there: a
 * file's first MiB (`ESCAPE_SNIFF_BYTES`), or, for a pipe (`seen`: the bytes its sniff read), what
 * it gave before it went quiet, named as messages name it (`inputWord`). Said to be the file's
 * first MiB, a crawler's pipe whose sniff had read its first rows, a few hundred bytes, was told
 * wrong, and standard input was called a file.
 */
export function sniffedText(path: string, seen?: number): string {
  const mib = `${ESCAPE_SNIFF_BYTES / 1024 / 1024} MiB`
  if (seen === undefined) return `the file's first ${mib}`
  if (seen >= ESCAPE_SNIFF_BYTES) return `the first ${mib} of ${inputWord(path)}`
  return `the first ${formatBytes(seen)} of ${inputWord(path)} (all it gave before half a second without a byte)`
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const CR = 0x0d
const LF = 0x0a
const SPACE = 0x20
const TAB = 0x09

/**
 * Where a quoted field's quote is and what follows it, as csv-parse reads CSV (quotes relaxed): a
 * quote opens a field only at its start, and one inside it closes it only before a separator, a
 * line end or the end of the text, spaces and tabs between them allowed (`spacedQuoteRecord`);
 * before anything else it is text, the field read on unquoted.
 * `backslash`: `\` and the byte after it are text inside a quoted field (`escaped` told where).
 * Calls `doubled` at a quote followed by another inside a quoted field, `invalid` at a quote that
 * could not close it (the byte after is neither separator, line end nor quote), and stops where
 * either returns true.
 */
function scan(
  text: Uint8Array,
  separator: number,
  backslash: boolean,
  on: { doubled: (at: number) => boolean; invalid: (at: number) => boolean; escaped?: (at: number) => void },
): void {
  const start = text[0] === 0xef && text[1] === 0xbb && text[2] === 0xbf ? 3 : 0
  let fieldStart = true
  let quoted = false
  for (let i = start; i < text.length; i++) {
    const b = text[i]
    if (quoted) {
      if (backslash && b === BACKSLASH) {
        if (i + 1 >= text.length) return
        on.escaped?.(i)
        i++
      } else if (b === QUOTE) {
        if (i + 1 >= text.length) return // what follows is past the sample
        if (text[i + 1] === QUOTE) {
          if (on.doubled(i)) return
          i++
        } else {
          quoted = false
          // Spaces and tabs after a closing quote are not the field's (`spacedQuoteRecord`).
          let after = i + 1
          while ((text[after] === SPACE || text[after] === TAB) && text[after] !== separator) after++
          if (after >= text.length) return
          const next = text[after]
          if (next !== separator && next !== CR && next !== LF && on.invalid(i)) return
        }
      }
      continue
    }
    if (b === separator || b === CR || b === LF) fieldStart = true
    else {
      if (b === QUOTE && fieldStart) quoted = true
      fieldStart = false
    }
  }
}

/**
 * The escape a CSV file's first bytes (`sample`, up to `ESCAPE_SNIFF_BYTES` of its text) show, as
 * DuckDB's sniffer finds it: `backslash` on positive evidence only, `rfc` otherwise. The evidence:
 * read as RFC 4180 reads it, a quote in a quoted field could not close it (the byte after it is
 * neither `separator`, a line end nor another quote: `1,"say \"hi\" now",…`), while read with `\`
 * escaping, quoted fields hold a `\"` and every quote in them closes them where it should, none
 * doubled (`"{""a"":1}"`, `"""x"""` are RFC 4180's). A file valid as RFC 4180 has no such quote
 * (a quote inside its quoted fields is doubled or closes them), so it reads as before:
 * `"C:\dir\",next` is a cell ending in a backslash.
 */
export function sniffCsvEscape(sample: Uint8Array, separator: ',' | ';' = ','): CsvEscape {
  const sep = separator.charCodeAt(0)
  let invalid = false
  const stop = () => {
    invalid = true
    return true
  }
  scan(sample, sep, false, { doubled: () => false, invalid: stop })
  if (!invalid) return 'rfc'
  invalid = false
  let escaped = false
  scan(sample, sep, true, {
    doubled: stop,
    invalid: stop,
    escaped: (at) => {
      escaped ||= sample[at + 1] === QUOTE
    },
  })
  return !invalid && escaped ? 'backslash' : 'rfc'
}

/**
 * The escape of the text `stream` gives (`sniffCsvEscape` over its first bytes, or, given
 * `quietMs`, those it gave before it went that quiet: a pipe's, see `PIPE_QUIET_MS`); the stream
 * is destroyed.
 */
export async function sniffCsvStream(
  stream: Readable,
  separator: ',' | ';' = ',',
  quietMs?: number,
): Promise<CsvEscape> {
  return sniffCsvEscape(await streamHead(stream, ESCAPE_SNIFF_BYTES, quietMs), separator)
}

/** The letters PostgreSQL's `COPY … TO` (text format) writes after a backslash: `\\`, `\N` and control characters. */
const COPY_ESCAPES = new Set([...'\\Nbfnrtv'].map((c) => c.charCodeAt(0)))

/**
 * Whether a TSV file's first bytes (`sample`, up to `ESCAPE_SNIFF_BYTES` of its text) show
 * PostgreSQL's `COPY … TO` text format, whose cells escape a backslash as `\\` and a tab, line
 * end or other control character as `\t`, `\n`, `\r`, `\b`, `\f`, `\v` (and write null as `\N`),
 * on positive evidence only: a `\N` cell or a `\\`, and every backslash one of those escapes. A
 * TSV file whose backslashes are text (`C:\dir`, a regex's `\d`) has one that is none and reads
 * as written, as before.
 */
export function sniffCopyText(sample: Uint8Array): boolean {
  let evidence = false
  for (
    let i = sample.indexOf(BACKSLASH);
    i >= 0 && i + 1 < sample.length;
    i = sample.indexOf(BACKSLASH, i + 1)
  ) {
    const next = sample[i + 1] as number
    if (!COPY_ESCAPES.has(next)) return false
    if (next === BACKSLASH) evidence = true
    else if (next === 0x4e) {
      // \N is a cell of its own: null
      const before = i === 0 ? LF : sample[i - 1]
      const after = i + 2 < sample.length ? sample[i + 2] : LF
      if (![TAB, LF, CR].includes(before as number) || ![TAB, LF, CR].includes(after as number)) return false
      evidence = true
    }
    i++
  }
  return evidence
}

/** `sniffCopyText` of a stream's first bytes, as `sniffCsvStream` reads them. */
export async function sniffCopyStream(stream: Readable): Promise<boolean> {
  return sniffCopyText(await streamHead(stream, ESCAPE_SNIFF_BYTES))
}

/** A cell of a TSV file in `COPY … TO` text format (`sniffCopyText`) as the text it escapes. */
export function copyTextCell(value: string): string {
  if (!value.includes('\\')) return value
  const letters: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' }
  return value.replace(/\\([\\bfnrtv])/g, (_, c: string) => letters[c] ?? c)
}

/**
 * A CSV record's text as csv-parse read it with `raw: true` (blank lines before it, its line end's
 * first byte after it) split at `separator`, quoted fields unquoted (`""` a quote, or `\"` and
 * `\\` where the file's escape is `backslash`) and the spaces and tabs between a closing quote and
 * the separator or the record's end dropped. `undefined` where a quote does not close its field
 * there (the record is left as csv-parse read it).
 */
export function quotedFields(raw: string, separator: string, quoteEscape: CsvEscape): string[] | undefined {
  let text = raw.replace(/^[\r\n]+/, '').replace(/^\ufeff/, '')
  if (text.endsWith('\r') || text.endsWith('\n')) text = text.slice(0, -1)
  const out: string[] = []
  let i = 0
  for (;;) {
    if (text[i] === '"') {
      let value = ''
      let from = ++i
      for (;;) {
        if (i >= text.length) return undefined
        const c = text[i]
        const escaped =
          quoteEscape === 'backslash'
            ? c === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')
            : c === '"' && text[i + 1] === '"'
        if (escaped) {
          value += text.slice(from, i)
          from = ++i
          i++
        } else if (c === '"') break
        else i++
      }
      out.push(value + text.slice(from, i++))
      while (text[i] === ' ' || (text[i] === '\t' && separator !== '\t')) i++
      if (i === text.length) return out
      if (text[i++] !== separator) return undefined
    } else {
      const end = text.indexOf(separator, i)
      out.push(text.slice(i, end < 0 ? text.length : end))
      if (end < 0) return out
      i = end + 1
    }
  }
}

/**
 * The fields of a record csv-parse read with `escape: '\\'` (`fields`, from its text `raw`), each
 * backslash before anything but a quote or a backslash kept, as Spark, Hive's OpenCSVSerde and
 * DuckDB keep it (csv-parse dropped it: `¯\_(ツ)_/¯` read `¯_(ツ)_/¯`, `C:\dir` read `C:dir`). Only
 * a record that holds such a backslash is read again, and only where its fields are csv-parse's
 * but for backslashes (otherwise csv-parse's reading stands).
 */
export function backslashRecord(fields: string[], raw: string, separator: string): string[] {
  if (!/\\[^"\\]/.test(raw)) return fields
  const read = quotedFields(raw, separator, 'backslash')
  const bare = (text: string) => text.replaceAll('\\', '')
  if (read?.length !== fields.length || read.some((field, k) => bare(field) !== bare(fields[k])))
    return fields
  return read
}

/** A closing quote, then spaces or tabs, then a separator or the record's end. */
const SPACED_CLOSE = /"[ \t]+(?:[,;\t]|[\r\n]|$)/

/**
 * The fields of a CSV or TSV record (`fields`, read by csv-parse from its text `raw`) with the spaces or
 * tabs after a closing quote dropped, as DuckDB reads them (Python's csv module and pandas keep
 * them, the quotes dropped all the same): `"https://…/a.jpg" ,"a fox" ` is `https://…/a.jpg` and
 * `a fox`, as hand-aligned files and some exports write them. csv-parse, relaxing quotes, kept such
 * a field's quotes around its text with its `""` undone (`"say "hi"" ` for `"say ""hi""" `): a URL
 * cell failed as wrapped in quotes, a caption changed. Only a record that shows such a quote is
 * read again, and only where it splits into as many fields (otherwise csv-parse's reading stands).
 */
export function spacedQuoteRecord(
  fields: string[],
  raw: string,
  separator: string,
  quoteEscape: CsvEscape,
): string[] {
  if (!SPACED_CLOSE.test(raw)) return fields
  const read = quotedFields(raw, separator, quoteEscape)
  return read?.length === fields.length ? read : fields
}
