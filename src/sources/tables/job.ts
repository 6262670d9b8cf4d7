import { invalidUrlMessage, parseFetchUrl, severalUrls } from '../../plan/url-problem.js'
import { plural } from '../../report/format.js'
import { unescapedUrl } from '../../utils/url.js'
import { bare } from '../lines.js'
import type { ColumnPlan } from './columns.js'
import { type ExpectedHash, NULL_MARKERS, parseExpectedHash } from './hash.js'
import type { HashType } from './options.js'
import { cellText } from './values.js'

/** Why a row cannot be fetched as it stands; the row still gets a (failed) result of its own. */
export interface InvalidRow {
  /**
   * `invalid-row`: the row itself is malformed; `invalid-url`: its URL cell is not one http(s) URL
   * (empty, null, several URLs...); `invalid-hash`: its hash cell is not a digest.
   */
  code: 'invalid-row' | 'invalid-url' | 'invalid-hash'
  /** One line naming the file and line (or Parquet row), e.g. `a.jsonl line 12: not JSON (...)`. */
  message: string
}

/** One row of a table, as a job for `pull()`. */
export interface TableJob {
  /** The URL cell as text, `''` when empty or null (then `invalid` says so, naming the row). */
  url: string
  /** 0-based position over all rows of all inputs, in order: the dataset sample key derives from it. */
  row: number
  /**
   * The caption cell as text, `''` when it is empty or null (the sample still gets its `KEY.txt`,
   * empty, as img2dataset writes it); absent when no caption column is set.
   */
  caption?: string
  /** The hash the body must have, lowercase hex; absent when the cell is empty or null. */
  expectedHash?: ExpectedHash
  /**
   * The carried columns by name, JSON-safe (see `jsonSafe`), but a Parquet double's NaN and
   * ±Infinity, kept as numbers for a shard's Parquet (the manifest and a sample's `.json` say null).
   */
  meta: Record<string, unknown>
  /** Set when the row cannot be fetched as it stands: the engine fails it with this code and message. */
  invalid?: InvalidRow
}

const HTTP_START = /^https?:\/\/\S/i

/**
 * Why a URL cell's value is no URL by its shape, or `undefined`: a list (JSON lines'
 * `"url": ["…", "…"]`, a Parquet JSON column of lists) or an object, whose JSON text the URL
 * parser would only call "not a URL". `column`: the URL column, for the fix.
 */
export function urlCellShape(value: unknown, column: string): string | undefined {
  if (Array.isArray(value))
    return `a list of ${value.length} ${plural(value.length, 'value')}, not one URL (one image a row: a row of several URLs needs one row per URL, as pandas' df.explode(${JSON.stringify(column)}) makes them)`
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    // A record nested as an API gives it (`"image": {"url": …}`): the key that holds the URL.
    const key = Object.entries(value).find(([, v]) => typeof v === 'string' && HTTP_START.test(v.trim()))?.[0]
    return key === undefined
      ? 'an object, not a URL'
      : `an object, not a URL: its key ${JSON.stringify(key)} holds one, and --url-col names top-level keys (make it one first: jq -c '${jqPath(column)} = ${jqPath(column)}${jqStep(key)}' in.jsonl > flat.jsonl)`
  }
  if (typeof value === 'string') return listText(value, column)
  // JSON's numbers and booleans, which String() made "12" and "true", "not a URL" alone.
  if (typeof value === 'number' || typeof value === 'bigint') return 'a number, not a URL'
  if (typeof value === 'boolean') return `${value}, a boolean, not a URL`
  return undefined
}

/** A Python or JSON list's quoted item: `'https://…'` or `"https://…"`. */
const LISTED_URL = /\s*(['"])https?:\/\/[^'"]*\1\s*/y

/**
 * Why a cell holding a list of URLs written as text is no URL: pandas' `to_csv` writes a list cell
 * as Python prints it, `['https://…/a.jpg', 'https://…/b.jpg']` (pandas-dev/pandas#58906, a
 * shop's image URLs), `json.dumps` as `["…"]`; it was said as `'['' before its https://`.
 * `undefined` for other text.
 */
function listText(text: string, column: string): string | undefined {
  const inner = /^\s*\[(.*)\]\s*$/s.exec(text)?.[1]
  if (inner === undefined) return undefined
  let count = 0
  LISTED_URL.lastIndex = 0
  while (LISTED_URL.exec(inner)) {
    count++
    if (LISTED_URL.lastIndex === inner.length) break
    if (inner[LISTED_URL.lastIndex] !== ',') return undefined
    LISTED_URL.lastIndex++
  }
  if (count === 0 || LISTED_URL.lastIndex !== inner.length) return undefined
  return `a list of ${count} ${plural(count, 'URL')} written as text (as pandas' to_csv writes a list), not one URL (one image a row: take the list's items out, one row per URL, as pandas' df.explode(${JSON.stringify(column)}) makes them before writing)`
}

const JQ_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** A top-level key as a jq path: `.url`, or `.["image url"]`. */
export const jqPath = (key: string) => (JQ_NAME.test(key) ? `.${key}` : `.[${JSON.stringify(key)}]`)

/** A key inside the value before it, as a jq path step (jq 1.6 too): `.href`, or `["image url"]`. */
export const jqStep = (key: string) => (JQ_NAME.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`)

/** A row's cells by column name. */
export type Cells = (column: string) => unknown

/**
 * The job for one row. `where` names the row in messages (`a.csv line 12`), built only when
 * needed; `convert` makes carried values JSON-safe where the reader does not give them so.
 */
export function buildJob(
  row: number,
  cell: Cells,
  carried: readonly string[],
  plan: ColumnPlan,
  hashType: HashType,
  where: () => string,
  convert?: (value: unknown, column: string) => unknown,
): TableJob {
  // Spaces around a URL cell are not part of it (it is fetched trimmed): the outputs show it so too.
  // So are marks that show nothing (a zero-width space pasted in from a web page), and JSON's or
  // HTML's escapes of a URL copied from their source (`https:\/\/…`, `&amp;`), as in a list.
  const urlCell = cell(plan.url)
  const job: TableJob = { url: unescapedUrl(bare(cellText(urlCell))), row, meta: {} }
  // The row's place, for a message about its URL (a page in place of the image names the line to
  // change): made when read, not for every row (185 ns a row, on a rerun that skips millions), and
  // not enumerable, so that no copy or clone of the job makes it either.
  Object.defineProperty(job, 'where', { get: where, enumerable: false, configurable: true })
  if (plan.caption !== undefined) job.caption = cellText(cell(plan.caption))
  if (plan.hash !== undefined) {
    const hash = parseExpectedHash(cell(plan.hash), hashType)
    if (hash && 'problem' in hash)
      job.invalid = { code: 'invalid-hash', message: `${where()}: ${hash.problem}` }
    else if (hash) job.expectedHash = hash
  }
  // A cell that is plainly not one URL fails naming its file and line, which the engine's own
  // check (`invalid-url`) cannot: in a table of millions of rows, "the URL cell is empty" alone
  // does not say which. Only a cell not starting with a scheme, or one the URL parser refuses
  // (`http://[::1:8080/`, a port past 65535: the engine's message named no line), is parsed here;
  // `URL.canParse` makes no URL object of the others.
  if (!HTTP_START.test(job.url) || severalUrls(job.url) || !URL.canParse(job.url)) {
    const parsed = parseFetchUrl(job.url)
    // A cell holding the column's own name is the header line again: `cat part-*.csv` keeps every
    // part's header (Spark and Hive write one per part).
    const why =
      'why' in parsed && urlCellShape(urlCell, plan.url) !== undefined
        ? urlCellShape(urlCell, plan.url)
        : 'why' in parsed && job.url === plan.url
          ? "the header line again (files joined with cat keep each one's header: join them without it, or give the folder of parts)"
          : 'why' in parsed && NULL_MARKERS.has(job.url)
            ? // pandas writes a NaN cast to str as `nan` (m-bain/webvid#2), Python None as `None`.
              "a missing value written as text (pandas' nan for a NaN cast to str, Python's None, SQL's NULL, R's NA): the row has no URL"
            : 'why' in parsed
              ? parsed.why
              : undefined
    if (why !== undefined)
      job.invalid ??= { code: 'invalid-url', message: `${where()}: ${invalidUrlMessage(job.url, why)}` }
  }
  for (const name of carried) {
    const value = convert ? convert(cell(name), name) : cell(name)
    // A column named `__proto__` stays a column, not the object's prototype.
    if (name === '__proto__')
      Object.defineProperty(job.meta, name, { value, enumerable: true, writable: true })
    else job.meta[name] = value
  }
  return job
}

/** The job for a row that could not be read: no URL, nothing carried, failed with `invalid-row`. */
export function invalidRow(row: number, message: string): TableJob {
  return { url: '', row, meta: {}, invalid: { code: 'invalid-row', message } }
}
