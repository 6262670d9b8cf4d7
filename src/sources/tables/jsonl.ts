import { Readable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import { UsageError } from '../../errors.js'
import { isRecord } from '../../utils/is-record.js'
import { printable } from '../../utils/printable.js'
import { shownUrl } from '../../utils/url.js'
import { inputWord } from '../pipe-list.js'
import type { KindTally, WrittenNumber } from './column-types.js'
import { type ColumnPlan, planColumns } from './columns.js'
import { dosEnd } from './csv.js'
import { shownTableFormat, type TableFile, wrongTableFormat } from './format.js'
import { cutRow, openBytes, readFailure, textHead } from './input.js'
import { buildJob, invalidRow, type TableJob } from './job.js'
import type { ResolvedTableOptions } from './options.js'
import { binaryInput, holdsControl, utf8Checked } from './utf8.js'
import { isBigInt64Text } from './values.js'

/** Longest line held while looking for its end: past it the file is not JSON lines. */
const MAX_LINE = 64 * 1024 * 1024

interface Line {
  text: string
  /** 1-based line number. */
  number: number
}

/**
 * The non-blank lines of a file, streamed; LF or CRLF, a leading byte order mark dropped. `head`:
 * read those bytes instead (a pipe's first, `pipeHead`).
 */
async function* lines(file: TableFile, head?: Buffer): AsyncGenerator<Line> {
  const stream = head ? Readable.from([head], { objectMode: false }) : openBytes(file)
  const bytes = utf8Checked(stream, file.path)
  const decoder = new StringDecoder('utf8')
  let rest = ''
  let number = 0
  let read = 0
  const line = (text: string): Line | undefined => {
    number++
    const trimmed = (number === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).trim()
    return trimmed === '' || dosEnd(trimmed) ? undefined : { text: trimmed, number }
  }
  try {
    for await (const chunk of bytes) {
      read += chunk.length
      const text = rest + decoder.write(chunk)
      let start = 0
      for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
        const found = line(text.slice(start, end))
        start = end + 1
        if (found) yield found
      }
      rest = text.slice(start)
      if (rest.length > MAX_LINE)
        throw new UsageError(
          `${inputWord(file.path)} line ${number + 1} is longer than ${MAX_LINE} characters: not JSON lines`,
        )
    }
    const found = line(rest + decoder.end())
    const cut = found && !head && cutRow(file, found.number, read, false)
    if (cut) throw cut
    if (found) yield found
  } catch (error) {
    throw readFailure(file, error, number > 0 ? `after line ${number}` : '')
  } finally {
    stream.destroy()
  }
}

type Parsed = { object: Record<string, unknown>; text: string } | { problem: string }

/** Sixteen digits in a row: a number in the line may be an integer a double cannot hold. */
const LONG_NUMBER = /\d{16}/

/**
 * An integer beyond 2^53 as its decimal digits (ids: LAION's, a tweet's), as `jsonSafe` carries a
 * Parquet INT64 that large; a double would round 1234567890123456789 to ...800. Needs JSON.parse's
 * source text (ES2025; Node 21+, or Node 20 with `--harmony-json-parse-with-source`, which the CLI
 * sets); without it the number stays the double.
 */
function exactIntegers(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== 'number' || Number.isSafeInteger(value)) return value
  const source = context?.source
  return source !== undefined && /^-?\d+$/.test(source) ? source : value
}

/**
 * The top-level keys of a JSON line's `object` whose number is written so that its value hides it
 * (none where JSON.parse gives no source text: see `exactIntegers`):
 * - `double`: a whole number written as a double (`1.0`, `2e3`), which JSON.parse gives as 1: a
 *   column pandas (`to_json`) and Spark wrote as floats, whole in the lines a type is read from,
 *   was typed INT64, its later fractions null in every shard's Parquet (pyarrow's JSON reader types
 *   it double);
 * - `int`: an integer past 2^53 that INT64 holds, written as a number (DuckDB's and pandas' JSON of
 *   a BIGINT column of ids), which `exactIntegers` carries as its digits: typed from that text, a
 *   column of such ids was STRING in the shards, where the same table's Parquet gives INT64.
 *   Digits written as a JSON string (BigQuery's JSON export of INT64) stay text.
 */
export function writtenNumbers(text: string, object: Record<string, unknown>): Map<string, WrittenNumber> {
  const keys = new Map<string, WrittenNumber>()
  if (!/\d[.eE]/.test(text) && !LONG_NUMBER.test(text)) return keys
  const marked: [unknown, string, WrittenNumber][] = []
  const parsed = JSON.parse(text, function (
    this: unknown,
    key: string,
    value: unknown,
    context?: { source?: string },
  ) {
    const source = context?.source ?? ''
    if (typeof value === 'number' && Number.isInteger(value)) {
      if (/[.eE]/.test(source)) marked.push([this, key, 'double'])
      else if (isBigInt64Text(source)) marked.push([this, key, 'int'])
    }
    return value
  } as (key: string, value: unknown) => unknown)
  // The holder of a top-level value is the object JSON.parse returns.
  for (const [holder, key, how] of marked)
    if (holder === parsed && Object.hasOwn(object, key)) keys.set(key, how)
  return keys
}

/**
 * A JSON line with the NaN, Infinity and -Infinity that Python's `json.dumps` writes for float
 * NaN and infinities (its default, `allow_nan=True`; `json.loads` and pandas read them back) made
 * `null`, which is what a carried NaN is anyway (JSON has none); only outside strings. `undefined`
 * when the line holds none.
 */
export function nonFiniteAsNull(text: string): string | undefined {
  return nonFiniteAs(text, () => 'null')
}

/** JSON text `text` with each NaN, Infinity and -Infinity outside its strings made `as(token)`. */
function nonFiniteAs(text: string, as: (token: string) => string): string | undefined {
  let out = ''
  let from = 0
  for (const i of outsideStrings(text)) {
    if (i < from) continue
    const token = /^(?:-?Infinity|NaN)/.exec(text.slice(i, i + 9))?.[0]
    if (token === undefined) continue
    out += `${text.slice(from, i)}${as(token)}`
    from = i + token.length
  }
  return from === 0 ? undefined : out + text.slice(from)
}

const NON_FINITE = '\u0000imgpull-non-finite:'

/**
 * A top-level value of `value` (a line's object) that `marked` (its text with each NaN and
 * infinity a marked string) shows was one made the number again: a shard's Parquet DOUBLE holds
 * it, as it does a Parquet table's (the manifest and a sample's `.json`, JSON having none, say
 * null). One inside a list or an object stays null (JSON text in the Parquet too).
 */
function keepNonFinite(value: unknown, marked: string | undefined): void {
  if (marked === undefined || !isRecord(value)) return
  const probe = JSON.parse(marked) as Record<string, unknown>
  for (const [key, was] of Object.entries(probe)) {
    if (
      typeof was === 'string' &&
      was.startsWith(NON_FINITE) &&
      Object.hasOwn(value, key) &&
      value[key] === null
    )
      value[key] = Number(was.slice(NON_FINITE.length))
  }
}

/** The indices of JSON text `text` outside its strings (a string's quotes are inside), in order. */
function* outsideStrings(text: string): Generator<number> {
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else yield i
  }
}

/** A `\\uD800`-`\\uDFFF` escape: a line that may hold half a surrogate pair (see `wellFormed`). */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/**
 * `value` with every half of a surrogate pair alone, in its strings and keys, made U+FFFD: JSON
 * escapes can write one (`"\\ud83d"`, a caption cut inside an emoji by a UTF-16 slice, as Python's
 * `json.dumps` writes it), which UTF-8 cannot hold. The shard's Parquet and `.txt` got U+FFFD
 * there while its `.json` and the manifest kept the escape: now all say the same.
 */
export function wellFormed(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(LONE_SURROGATE, '\uFFFD')
  if (Array.isArray(value)) return value.map(wellFormed)
  if (typeof value !== 'object' || value === null) return value
  const out: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value))
    Object.defineProperty(out, wellFormed(key) as string, {
      value: wellFormed(item),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  return out
}

function parseJson(text: string): unknown {
  // The reviver costs a call per value: only lines that may need it pay.
  return LONG_NUMBER.test(text)
    ? JSON.parse(text, exactIntegers as (key: string, value: unknown) => unknown)
    : JSON.parse(text)
}

/** What JSON lines whose lines end with CR alone are told (the whole file reads as one line). */
const CR_LINES =
  "JSON objects on lines ended by CR alone (classic Mac OS line ends), which JSON lines does not end lines with: tr '\\r' '\\n' makes them LF"

/**
 * The index just past the JSON object that opens `text` (its closing `}`, strings and nesting
 * followed), or -1 when `text` opens no object or it does not close.
 */
function objectEnd(text: string): number {
  if (text[0] !== '{') return -1
  let depth = 0
  for (const i of outsideStrings(text)) {
    const c = text[i]
    if (c === '{' || c === '[') depth++
    else if ((c === '}' || c === ']') && --depth === 0) return i + 1
  }
  return -1
}

/**
 * What a line that does not parse holds past a whole JSON object, said as the slip it is, or
 * `undefined`: a comma (a JSON array's items copied without its brackets; pandas and
 * `json.loads` say only "Extra data", EducationalTestingService/rsmtool#271), another object
 * after a CR alone (lines ended so: the whole file is one line), or after nothing (a writer that
 * left the line end out, nianeyna/ao3downloader#166). V8 said "Unexpected non-whitespace
 * character after JSON at position 34".
 */
function trailingSlip(text: string): string | undefined {
  const end = objectEnd(text)
  if (end < 0) return undefined
  const object = text.slice(0, end)
  try {
    JSON.parse(nonFiniteAsNull(object) ?? object)
  } catch {
    return undefined
  }
  const after = text.slice(end)
  const next = after.trimStart()
  const gap = after.slice(0, after.length - next.length)
  if (next === ',')
    return "a JSON object and then a comma: JSON lines hold one object a line, no comma after it (a JSON array's items without its brackets?); sed 's/,$//' removes the commas"
  if (next.startsWith('{') && gap.includes('\r')) return CR_LINES
  if (next.startsWith('{') || next.startsWith(',{'))
    return 'two JSON objects on one line: JSON lines hold one object a line (a line end left out between them)'
  return undefined
}

/** Python's literals for true, false and null, as `str(dict)` writes them. */
const PYTHON_WORD = /^(?:True|False|None)\b/

/**
 * What a line that does not parse writes in another language's syntax than JSON's, said as that,
 * or `undefined`: the first such mark outside its strings. A Python dict as `print(row)` or
 * `str(row)` writes it (`{'url': '…', 'ok': True}`: quotes `'`, `True`, `None`), curly quotes `“ ”`
 * (a word processor's or a chat window's, as facebookresearch/dynabench#740's JSON lines examples
 * had both), or a comma before a closing `}` or `]` (JavaScript's and JSON5's trailing comma).
 * V8 said "Expected property name or '}' in JSON at position 1" for the first two, "Expected
 * double-quoted property name" for the last.
 */
function foreignSyntax(text: string): string | undefined {
  let comma = false
  for (const i of outsideStrings(text)) {
    const c = text[i] as string
    if (c === "'" || PYTHON_WORD.test(text.slice(i, i + 6)))
      return `a Python dict as print() or str() writes it (quotes ', True, None), not JSON: write each row with json.dumps(row)`
    if ('\u201c\u201d\u201e'.includes(c))
      return `curly quotes (“ ”, as a word processor or chat window writes them), which JSON has not: its keys and strings need straight quotes (")`
    if ((c === '}' || c === ']') && comma)
      return `a comma before its closing ${c}, which JSON has not (JavaScript and JSON5 allow it): remove it`
    if (c === ',') comma = true
    else if (!/\s/.test(c)) comma = false
  }
  return undefined
}

/** One line of a JSON lines file: its object (and the JSON text it was read from), or why it is not one. */
export function parseJsonlLine(text: string): Parsed {
  const original = text
  let value: unknown
  try {
    value = parseJson(text)
  } catch (error) {
    const fixed = /NaN|Infinity/.test(text) ? nonFiniteAsNull(text) : undefined
    const problem = () =>
      trailingSlip(text) ?? foreignSyntax(text) ?? `not valid JSON (${(error as Error).message})`
    if (fixed === undefined) return { problem: problem() }
    try {
      value = parseJson(fixed)
      text = fixed
    } catch {
      return { problem: problem() }
    }
    keepNonFinite(
      value,
      nonFiniteAs(original, (token) => JSON.stringify(`${NON_FINITE}${token}`)),
    )
  }
  if (SURROGATE_ESCAPE.test(text)) value = wellFormed(value)
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return {
      problem: `a JSON ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}, not an object`,
    }
  return { object: value as Record<string, unknown>, text }
}

/**
 * Lines whose keys make a JSON lines file's columns. Not the first line alone: writers drop a
 * null field's key (Spark's `df.write.json`, `jq -c` of sparse objects), so a first row without a
 * caption would hide the caption column from an option naming it.
 */
export const KEY_LINES = 1000

/**
 * The keys of a JSON lines file, in order of first appearance, over its first `KEY_LINES` lines
 * that are JSON objects; `undefined` when the file has no line. A file whose first line opens a
 * JSON array (one JSON document, as `json.dump` and `.json` exports write it, pretty-printed or
 * not), or with lines but no object on any, is a `UsageError` naming its first line: its rows
 * would each fail as `invalid-row` (a last object without its comma fetched alone), and no column
 * the options name would be checked. `tally` is given those lines' objects (their values' kinds
 * give the columns' types in shards). A pipe's are read from the lines it gave before it went
 * quiet, once (`pipeHead`).
 */
export async function jsonlKeys(
  file: TableFile,
  tally?: KindTally,
  /** Given the number of lines the keys were read from. */
  read?: { lines: number },
): Promise<string[] | undefined> {
  if (!file.pipe) return keysOf(file, tally, undefined, read)
  let keys = pipeKeys.get(file)
  if (!keys) {
    keys = pipeHead(file).then((head) => (head ? keysOf(file, tally, head, read) : undefined))
    pipeKeys.set(file, keys)
  }
  return keys
}

/** The most of a pipe's first bytes its keys are read from (see `pipeHead`). */
const PIPE_KEY_BYTES = 8 * 1024 * 1024

/**
 * A pipe's keys, read once: its rows' reader asks again, past the bytes the pipe keeps for the
 * checks, which it cannot read twice.
 */
const pipeKeys = new WeakMap<TableFile, Promise<string[] | undefined>>()

/**
 * The whole lines a pipe gave before it went quiet (`PIPE_QUIET_MS`; `PIPE_KEY_BYTES` at most),
 * or `undefined` when it gave none: its keys are read from those, not from its first
 * `KEY_LINES`, which a crawler writing rows as it finds them was waited for (nothing fetched
 * until it had written 1000 rows, or ended).
 */
async function pipeHead(file: TableFile): Promise<Buffer | undefined> {
  const head = await textHead(file, PIPE_KEY_BYTES)
  const end = head.lastIndexOf(0x0a)
  // A last line not yet whole (or cut at the bound) is not read: it would be a JSON problem.
  return end < 0 ? undefined : head.subarray(0, end + 1)
}

/** The keys of a file's first lines (see `jsonlKeys`), or of `head`'s. */
async function keysOf(
  file: TableFile,
  tally?: KindTally,
  head?: Buffer,
  read: { lines: number } = { lines: 0 },
): Promise<string[] | undefined> {
  const keys = new Set<string>()
  let objects = 0
  let first: (Line & { problem: string }) | undefined
  let only: Record<string, unknown> | undefined
  for await (const line of lines(file, head)) {
    read.lines++
    const parsed = parseJsonlLine(line.text)
    // A first line of control bytes is a binary file read as text (a Parquet file given
    // --input-format jsonl): one clear error, not a failed row for each of its "lines". One that
    // opens an object with no NUL (UTF-16 has one beside each ASCII character) is text whose
    // control character JSON wants escaped: its JSON problem says so.
    const text = line.text.trimStart().startsWith('{') && !line.text.includes('\0')
    if (objects === 0 && 'problem' in parsed && holdsControl(line.text) && !text)
      throw binaryInput(file.path, 'JSON lines', line.text)
    if (objects === 0 && first === undefined && line.text.startsWith('['))
      throw new UsageError(
        `${inputWord(file.path)} is one JSON array (its line ${line.number} opens it), not JSON lines, one object a line: jq -c '.[]' converts it`,
      )
    if (!('object' in parsed)) {
      first ??= { ...line, problem: parsed.problem }
      continue
    }
    for (const key of Object.keys(parsed.object)) keys.add(key)
    tally?.add(parsed.object, writtenNumbers(parsed.text, parsed.object))
    only = objects === 0 ? parsed.object : undefined
    if (++objects === KEY_LINES) break
  }
  const orient = only && frameOrient(only)
  if (orient)
    throw new UsageError(
      `${inputWord(file.path)} is one JSON object holding a whole table, as pandas' DataFrame.to_json() writes it (orient='${orient}'), not JSON lines, one object a row: write it with df.to_json(path, orient='records', lines=True)`,
    )
  if (objects > 0) return [...keys]
  if (first === undefined) return undefined
  // A CSV or TSV file named .jsonl: its header is said, not as JSON that does not parse.
  const shown = shownTableFormat('jsonl', first.text)
  if (shown !== undefined)
    throw wrongTableFormat(
      file.path,
      'JSON lines',
      shown,
      ` (its first line: ${printable(JSON.stringify(first.text.slice(0, 80)))}, and no line a JSON object)`,
    )
  // A list of URLs given --input-format jsonl (or named .jsonl): V8's "Unexpected token 'h'" said
  // nothing of what it is.
  if (/^\s*https?:\/\/\S+\s*$/i.test(first.text))
    throw new UsageError(
      `${inputWord(file.path)} is a list of URLs (its line ${first.number}: ${printable(JSON.stringify(shownUrl(first.text.trim()).slice(0, 80)))}), not JSON lines: a list is read as it is, without --input-format, from a file not named as a table (.txt)`,
    )
  throw new UsageError(
    `${inputWord(file.path)} holds no JSON object on a line of its own (line ${first.number}: ${first.problem})`,
  )
}

/** Row labels as pandas writes a default (RangeIndex) or integer index's: `"0"`, `"1"`, … */
const rowLabels = (keys: string[]): boolean => keys.length > 0 && keys.every((k) => /^-?\d+$/.test(k))

/**
 * The `orient` pandas' `DataFrame.to_json()` wrote a file's one object with, when it holds a whole
 * frame (posit-dev/chatlas#180: `'columns'`, the default, is each column's values by row label;
 * `'index'` each row by its label; `'split'` and `'table'` the rows under `data`), else
 * `undefined`. A row whose values are objects keyed alike (`{"image": {"url": …}, "thumb": {"url":
 * …}}`) is no frame: its keys are no row labels.
 */
function frameOrient(object: Record<string, unknown>): string | undefined {
  const keys = Object.keys(object)
  const values = Object.values(object)
  if (Array.isArray(object.data) && keys.every((k) => ['columns', 'index', 'data'].includes(k)))
    return Array.isArray(object.columns) ? 'split' : undefined
  if (Array.isArray(object.data) && keys.length === 2 && isRecord(object.schema)) return 'table'
  if (!values.every(isRecord)) return undefined
  if (rowLabels(keys)) return 'index'
  const labels = Object.keys(values[0] ?? {})
  const alike = values.every((v) => Object.keys(v).join('\0') === labels.join('\0'))
  return alike && rowLabels(labels) ? 'columns' : undefined
}

/**
 * The rows of a JSON lines file as jobs, numbered from `counter.next`: one per non-blank line.
 * Every column the options name must be among the keys of its first lines (`jsonlKeys`); a row
 * without one has an empty cell there (without the URL's: an `invalid-url` row). A line that is not a JSON object is kept as an `invalid-row` job (its neighbours are
 * whole lines, so nothing else is lost). Values are carried as the JSON holds them.
 */
export async function* jsonlRows(
  file: TableFile,
  options: ResolvedTableOptions,
  counter: { next: number },
): AsyncGenerator<TableJob> {
  let plan: ColumnPlan | undefined
  for await (const line of lines(file)) {
    const row = counter.next++
    const parsed = parseJsonlLine(line.text)
    if ('problem' in parsed) {
      yield invalidRow(row, `${inputWord(file.path)} line ${line.number}: ${parsed.problem}`)
      continue
    }
    const { object } = parsed
    plan ??= planColumns(file.path, (await jsonlKeys(file)) ?? Object.keys(object), options, true)
    yield jsonlJob(row, object, plan, options, () => `${inputWord(file.path)} line ${line.number}`)
  }
}

/**
 * The job of a JSON lines row: values as the JSON holds them; without `--columns`, every key but
 * the URL's is carried. `where` names the line in messages (made only when one is needed).
 */
export function jsonlJob(
  row: number,
  object: Record<string, unknown>,
  plan: ColumnPlan,
  options: ResolvedTableOptions,
  where: () => string,
): TableJob {
  const carried = plan.carried ?? Object.keys(object).filter((key) => key !== plan.url)
  return buildJob(
    row,
    (name) => (Object.hasOwn(object, name) ? object[name] : undefined),
    carried,
    plan,
    options.hashType,
    where,
  )
}
