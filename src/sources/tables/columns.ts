import { UsageError } from '../../errors.js'
import { visibleShellWord } from '../../utils/command-line.js'
import { nearWord } from '../../utils/near-word.js'
import { inputWord } from '../pipe-list.js'
import { shownTableFormat, wrongTableFormat } from './format.js'
import { jqPath, jqStep } from './job.js'
import type { ResolvedTableOptions } from './options.js'
import { sqlName } from './url-column.js'
import { binaryInput, holdsControl } from './utf8.js'

/** Which columns a table's rows are read from. */
export interface ColumnPlan {
  url: string
  caption?: string
  hash?: string
  /** Columns carried in `meta`, in order; `undefined`: each row's own keys but the URL (JSON lines). */
  carried?: readonly string[]
  /** Every column a row needs, each once: what a Parquet reader decodes. */
  needed: readonly string[]
  /**
   * Columns `--columns` names that a JSON lines file's first lines do not have (`perRow`): keys
   * its later lines may hold (Spark leaves null fields out), carried null where a row lacks them.
   */
  unseen?: readonly string[]
}

const MAX_LISTED = 40

function listed(columns: readonly string[]): string {
  if (columns.length === 0) return 'it has none'
  const shown = columns.slice(0, MAX_LISTED).map((c) => JSON.stringify(c))
  const more = columns.length > MAX_LISTED ? `, ... (${columns.length} in all)` : ''
  return `its columns: ${shown.join(', ')}${more}`
}

/**
 * A header read as one column holding another separator: a TSV file named `.csv` (its header
 * `url\tcaption` one column), a CSV file (`,` or Excel's `;`) named `.tsv`, or a `|`-separated
 * export (Snowflake's, Oracle's, Teradata's), which no format here reads: where the option's
 * column is then looked for in the one name, a hint at `url|caption` would be wrong. What to do
 * about it, or `''`.
 */
function separatorHint(available: readonly string[], delimiter?: ',' | ';'): string {
  if (available.length !== 1) return ''
  // Read as CSV, one field holding the separator was quoted whole: each line wrapped in quotes.
  if (delimiter !== undefined && available[0].includes(delimiter))
    return `: its header is one quoted field holding its separator (${delimiter}), so each of its lines is wrapped in quotes whole, each row one cell (as a spreadsheet or a script that quoted whole lines writes it): remove those quotes, e.g. sed 's/^"\\(.*\\)"$/\\1/; s/""/"/g' in.csv > out.csv`
  if (available[0].includes('\t'))
    return ': the file looks tab-separated (name it .tsv, or give --input-format tsv)'
  if (available[0].includes(','))
    return ': the file looks comma-separated (name it .csv, or give --input-format csv)'
  if (available[0].includes(';'))
    return ': the file looks ;-separated (name it .csv, or give --input-format csv)'
  if (available[0].includes('|'))
    return `: the file looks |-separated, which imgpull does not read (CSV: , or ;, TSV: tab): convert it, e.g. to Parquet with DuckDB: duckdb -c "COPY (FROM read_csv('in.csv', delim = '|')) TO 'out.parquet'"`
  return ''
}

/**
 * What a column an option names but the file lacks suggests, or `''`: a column of that name but for
 * case (LAION's `URL`, `TEXT`: the option to give), or a first line holding a URL, which is data,
 * not a header (CC3M's TSV has none: img2dataset's instructions add one).
 */
function missingHint(
  name: string,
  available: readonly string[],
  option: string,
  file: string,
  perRow: boolean,
): string {
  const folded = name.trim().toLowerCase()
  const other = available.find((c) => c.trim().toLowerCase() === folded)
  // Names are matched exactly (as pandas and img2dataset match them): say which one is meant. A
  // header written `url, caption` has a column " caption", space included, as pandas reads it.
  if (other !== undefined) {
    const meant = `: did you mean ${option === '--columns' ? '' : `${option} `}`
    // A byte order mark kept in a name, which trim() drops and quotes show as nothing: Python's
    // csv.DictReader over open(..., encoding='utf-8') keeps the file's in its first key, and the
    // JSON lines or Parquet written from its rows carry it (a CSV saved with a mark twice, too).
    if (other.includes('\ufeff'))
      return `${meant}${visibleShellWord(other)}? (the name holds a byte order mark, U+FEFF: the table was written from a file read with its mark kept, as Python's encoding='utf-8' keeps it and 'utf-8-sig' drops it; rename the column, or give it so)`
    const spaced = other !== other.trim() ? ' (the header has a space around the name)' : ''
    return `${meant}${JSON.stringify(other)}?${spaced}`
  }
  const nested = nestedHint(name, available, option, file, perRow)
  if (nested !== undefined) return nested
  // A first line of comment (`# exported …`), as some exports and hand-kept files start (DuckDB's
  // sniffer skips them, pandas with comment='#'): not a header. A JSON key is no line.
  if (!perRow && /^#(?:[\s#!]|$)/.test(available[0] ?? ''))
    return `: its first line is a comment (#…), which a CSV or TSV table does not hold: remove the comment lines first, e.g. grep -v '^#' in.csv > out.csv`
  // Excel's ;-separated CSV whose header holds a comma too (`url;caption, short`): read as
  // ,-separated, which a header of one field would not be (`csvDelimiter`).
  if (available.some((c) => c.split(';').length > 1 && c.split(';').some((part) => part.trim() === name)))
    return `: the file looks ;-separated, its header holding a comma too, so it was read as ,-separated: start it with the line sep=; (as Excel reads it) to read it so`
  if (available.some((c) => /^\s*https?:\/\//i.test(c)))
    return ': its first line holds a URL, so it has no header line: add one naming the columns'
  // The URL column is `url` unless told: a table that calls it `image` or `link` says nothing of
  // the option that names it, which the message then has to.
  if (option === '--url-col') {
    const likely = available.find((c) => /url|image|img|link|photo|picture|src|href/i.test(c))
    return likely === undefined
      ? ': name the column that holds the URLs with --url-col'
      : `: did you mean --url-col ${JSON.stringify(likely)}?`
  }
  return ''
}

/**
 * A dotted name whose first part is a column (`--url-col meta.url`, `image.url`): a key inside a
 * JSON lines object or a Parquet struct, which the options do not reach into (img2dataset's
 * pandas does not either). Said with the command that makes it a column of its own; `undefined`
 * for any other name. In JSON lines such a `--columns` name was taken for a key of later lines,
 * carried null in every row.
 */
function nestedHint(
  name: string,
  available: readonly string[],
  option: string,
  file: string,
  perRow: boolean,
): string | undefined {
  const dot = name.indexOf('.')
  const column = dot > 0 ? name.slice(0, dot) : undefined
  if (column === undefined || !available.includes(column)) return undefined
  const path = name.slice(dot + 1).split('.')
  const as = path[path.length - 1]
  const fix = perRow
    ? `jq -c '${jqPath(as)} = ${jqPath(column)}${path.map(jqStep).join('')}' in.jsonl > flat.jsonl`
    : /\.parquet(\.gz)?$/i.test(file)
      ? `duckdb -c "COPY (SELECT ${[column, ...path].map(sqlName).join('.')} AS ${sqlName(as)}, * FROM 'in.parquet') TO 'flat.parquet'"`
      : undefined
  return `: ${JSON.stringify(name)} is ${JSON.stringify(path.join('.'))} inside the column ${JSON.stringify(column)}, and ${option} names top-level columns${fix ? `: make it one first, e.g. ${fix}, then ${option} ${as}` : ''}`
}

/**
 * The column a name a letter or two off meant (`--columns lisence` → `license`), or `''`. Only
 * for the message of a column refused: a JSON lines key unseen in the first lines stays a key
 * to wait for, however near another (see `planColumns`).
 */
function typoHint(name: string, available: readonly string[], option: string): string {
  const meant = nearWord(name, available)
  return meant === undefined
    ? ''
    : `: did you mean ${option === '--columns' ? '' : `${option} `}${JSON.stringify(meant)}?`
}

/**
 * A CSV or TSV header with each name made unique as pandas makes it: a name seen before gets `.1`,
 * `.2`... (the first free), so that a spreadsheet with two `note` columns is read, both carried
 * (`note`, `note.1`), rather than refused. Unnamed columns (`''`) are left as they are.
 */
export function uniqueHeader(names: readonly string[]): string[] {
  const taken = new Set(names)
  const seen = new Set<string>()
  return names.map((name) => {
    if (name === '' || !seen.has(name)) {
      seen.add(name)
      return name
    }
    let k = 1
    while (taken.has(`${name}.${k}`)) k++
    const unique = `${name}.${k}`
    taken.add(unique)
    seen.add(unique)
    return unique
  })
}

/**
 * Whether a column is the unnamed index pandas writes with `to_parquet()` of a filtered or sorted
 * frame (`__index_level_0__`): not data, and read back as the frame's index, so not carried unless
 * `--columns` names it (a named index, `set_index('id')`, is a column of its own name, carried).
 */
export function isPandasIndex(name: string): boolean {
  return /^__index_level_\d+__$/.test(name)
}

/**
 * Match the options to the columns a file has (its header, its Parquet schema, or the keys of the
 * first JSON line). A column named by an option that is not there, or a column name the file holds
 * twice, is a `UsageError` naming the file and listing the columns there are.
 * `perRow`: the file has no fixed columns (JSON lines), so by default each row carries its own keys,
 * and a `--columns` name its first lines lack is `unseen`, not an error, unless it is the name of
 * one of them but for case (a slip).
 * `delimiter`: a CSV file's separator, for a header read as one quoted field holding it (`separatorHint`).
 */
export function planColumns(
  file: string,
  available: readonly string[],
  options: ResolvedTableOptions,
  perRow = false,
  delimiter?: ',' | ';',
): ColumnPlan {
  const seen = new Set<string>()
  for (const name of available) {
    // Columns without a name (`url,caption,,`: a spreadsheet's export, trailing commas) are left
    // out, however many: there is nothing to call them by, and usually nothing in them.
    if (name === '') continue
    if (seen.has(name))
      throw new UsageError(`${inputWord(file)} has the column ${JSON.stringify(name)} twice`)
    seen.add(name)
  }
  available = available.filter((name) => name !== '')
  const need = (name: string, role: string, option: string) => {
    if (seen.has(name)) return
    // A header of control bytes (or of U+FFFD, bytes that were not text) is a binary file read as
    // text (a Parquet file given --input-format csv).
    if (available.some((c) => holdsControl(c) || c.includes('\ufffd')))
      throw binaryInput(file, 'a text table', available.join(','))
    // A JSON lines file named .csv or .tsv, its first object read as a header.
    if (!perRow && shownTableFormat('csv', available.join(',')) === 'jsonl')
      throw wrongTableFormat(file, 'a CSV or TSV table', 'jsonl')
    throw new UsageError(
      `${inputWord(file)} has no column ${JSON.stringify(name)} (${role}); ${listed(available)}${(perRow ? '' : separatorHint(available, delimiter)) || missingHint(name, available, option, file, perRow) || typoHint(name, available, option)}`,
    )
  }
  need(options.urlCol, 'the URL column', '--url-col')
  if (options.captionCol !== undefined) need(options.captionCol, 'the caption column', '--caption-col')
  if (options.hashCol !== undefined) need(options.hashCol, 'the hash column', '--hash-col')
  const unseen: string[] = []
  for (const name of options.columns ?? []) {
    if (perRow && !seen.has(name) && missingHint(name, available, '--columns', file, perRow) === '')
      unseen.push(name)
    else need(name, 'a carried column', '--columns')
  }
  const carried =
    options.columns ??
    (perRow ? undefined : available.filter((c) => c !== options.urlCol && !isPandasIndex(c)))
  const needed = new Set([options.urlCol])
  if (options.captionCol !== undefined) needed.add(options.captionCol)
  if (options.hashCol !== undefined) needed.add(options.hashCol)
  for (const name of carried ?? available) needed.add(name)
  return {
    url: options.urlCol,
    caption: options.captionCol,
    hash: options.hashCol,
    carried,
    needed: [...needed],
    ...(unseen.length > 0 ? { unseen } : {}),
  }
}
