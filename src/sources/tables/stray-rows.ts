import { basename } from 'node:path'
import { UsageError } from '../../errors.js'
import { visibleShellWord } from '../../utils/command-line.js'
import { fileHead } from '../../utils/file-head.js'
import { utf16Head, utf16Of } from '../utf16.js'

/** Bytes of a skipped file read to tell what it holds: a first line of JSON lines can be long. */
const HEAD_BYTES = 65_536

/**
 * What a file skipped in a folder of tables holds when it holds rows imgpull would not read: the
 * run fetched the other files' rows and said "0 failed" for a folder whose rows were not all read.
 * Asked only of regular, non-hidden files whose name is no table's, beside at least one table:
 * - JSON lines named `.json` (Spark's `df.write.json`, BigQuery's export, `jq -c` into `x.json`):
 *   a first line that is an object holding the URL column; a pretty-printed `dataset_info.json`
 *   is no table of rows;
 * - a table under another name: Excel's "Unicode Text" and "Text (Tab delimited)" save `.txt`
 *   (UTF-16LE with a BOM, or the system's 8-bit code page), MySQL's `INTO OUTFILE` and many
 *   exports write `.txt` or `.dat`: a first line that is a header naming the URL column, split by
 *   tab, comma or semicolon.
 * `undefined` for anything else (a README, an image, a `.crc`, a URL list: lists are read by name,
 * and one beside the tables may be the list they were made from). Errors: none; an unreadable file is
 * left as it was, skipped.
 */
export async function strayRows(dir: string, path: string, urlCol: string): Promise<UsageError | undefined> {
  const raw = await fileHead(path, HEAD_BYTES).catch(() => undefined)
  if (!raw || raw.length === 0) return undefined
  const utf16 = utf16Of(raw)
  const text = (utf16 ? utf16Head(raw, utf16) : raw).toString('utf8').replace(/^\ufeff/, '')
  const first = text.split(/\r?\n/, 1)[0] ?? ''
  // Binary data (an image, an archive) has no line to tell.
  if (first.includes('\0')) return undefined
  const at = `folder ${visibleShellWord(dir, 'always')} holds ${visibleShellWord(path, 'always')}`
  const name = basename(path)
  if (/\.json$/i.test(name)) {
    if (!jsonRow(first, urlCol)) return undefined
    return new UsageError(
      `${at}, JSON lines (its first line an object with ${JSON.stringify(urlCol)}) named .json, which a folder's tables are not read from: its rows would be skipped; name it .jsonl`,
    )
  }
  const separator = headerSeparator(first, urlCol)
  if (separator)
    return new UsageError(
      `${at}, a table (its first line a header with ${JSON.stringify(urlCol)}, ${separator === '\t' ? 'tab' : separator === ',' ? 'comma' : 'semicolon'}-separated${utf16 ? ', UTF-16' : ''}) under a name a folder's tables are not read from: its rows would be skipped; name it ${separator === '\t' ? '.tsv' : '.csv'}`,
    )
  return undefined
}

/** Whether a line is a JSON object holding `urlCol`. Pure. */
function jsonRow(line: string, urlCol: string): boolean {
  let row: unknown
  try {
    row = JSON.parse(line)
  } catch {
    return false
  }
  return (
    Boolean(row) && typeof row === 'object' && !Array.isArray(row) && Object.hasOwn(row as object, urlCol)
  )
}

/**
 * The separator of a header line that names `urlCol` as one of two or more cells (quotes around a
 * cell, as CSV writers put them, and spaces taken off), or `undefined`. Tab first: a tab-separated
 * header may hold commas within its names. Pure.
 */
export function headerSeparator(line: string, urlCol: string): '\t' | ',' | ';' | undefined {
  for (const separator of ['\t', ',', ';'] as const) {
    const cells = line.split(separator)
    if (cells.length < 2) continue
    if (cells.some((cell) => cell.trim().replace(/^"(.*)"$/, '$1') === urlCol)) return separator
  }
  return undefined
}
