import { UsageError } from '../../errors.js'
import { grouped } from '../../report/format.js'
import { printable } from '../../utils/printable.js'
import { sniffBinary, sniffCommon } from '../../verify/magic.js'
import { inputWord } from '../pipe-list.js'
import { SAVE_AS_CSV, spreadsheet } from '../spreadsheet.js'
import { shownTableFormat, TABLE_FORMAT_NAMES, type TableFormat, wrongTableFormat } from './format.js'
import { holdsControl } from './utf8.js'

/** Bytes of a table file looked at before it is read: an LFS pointer is under 200, a page's start is in them. */
export const NOT_A_TABLE_HEAD_BYTES = 1024

/**
 * How a web page begins (after a byte order mark and white space), as a browser saves one: a file
 * saved in place of a table or a list (a `blob/` link's page, a sign-in page).
 */
export const HTML_START = /^<(!doctype\s+html|html[\s>]|head[\s>]|body[\s>])/i

/**
 * What a table file holds instead of a table, told by its first bytes (`head`, of a file that is not
 * gzip): a file saved in its place, the table never downloaded. A Git LFS pointer (a dataset
 * repository, Hugging Face's among them, cloned without git-lfs: every `.parquet` a 130-byte text),
 * a web page (a link to the page that shows the file, as GitHub's and Hugging Face's `blob/` links
 * are, or a sign-in page), a storage service's XML error answer (an expired S3 or GCS link), an
 * image, or text under a Parquet name (a Parquet file under a text table's name is `binaryInput`'s). Read as the
 * table it was named, each was an error about its columns or its footer ("has no column url; its
 * columns: version https://git-lfs…", "footer != PAR1", pyarrow's "Parquet magic bytes not found")
 * that did not say the file was not the table. `undefined` for anything else.
 */
export function notATable(path: string, format: TableFormat, head: Buffer): UsageError | undefined {
  const as = TABLE_FORMAT_NAMES[format]
  const text = head.toString('latin1')
  const start = text.replace(/^\xef\xbb\xbf/, '').trimStart()
  const lfs = /^version https:\/\/git-lfs\.github\.com\/spec\/v1\r?\n/.exec(start)
  if (lfs) {
    const size = /\nsize (\d+)/.exec(start)?.[1]
    return new UsageError(
      `${inputWord(path)} is a Git LFS pointer, not ${as}: the file itself${size ? ` (${grouped(Number(size))} bytes)` : ''} is on the LFS server, as in a repository cloned without git-lfs (Hugging Face datasets are so); fetch it: git lfs pull`,
    )
  }
  if (HTML_START.test(start))
    return new UsageError(
      `${inputWord(path)} is an HTML page, not ${as}: a web page was saved in place of the file (from a GitHub or Hugging Face blob/ link, whose file is at raw/ or resolve/, or a sign-in page); download the file itself`,
    )
  if (/^<\?xml[\s?]/.test(start)) {
    const code = /<Code>([\w.-]{1,60})<\/Code>/.exec(start)?.[1]
    return new UsageError(
      code
        ? `${inputWord(path)} is an XML error answer (${code}), not ${as}: a storage service's error (S3's and Google Cloud Storage's, for an expired or private link) was saved in place of the file; download it again`
        : `${inputWord(path)} is an XML document, not ${as}`,
    )
  }
  // Named a table, or given --input-format, it was a ZIP to unpack (`unzip -p`: its XML parts).
  const sheet = spreadsheet(head)
  if (sheet) return new UsageError(`${inputWord(path)} is ${sheet}, not ${as}: ${SAVE_AS_CSV}`)
  const bytes = new Uint8Array(head.buffer, head.byteOffset, head.length)
  const image = sniffCommon(bytes) ?? sniffBinary(bytes)
  if (image)
    return new UsageError(
      `${inputWord(path)} is a ${image.ext.toUpperCase()} image, not ${as}: give imgpull the table that lists the images`,
    )
  // Text as the CSV reader takes it (`holdsControl`): a form feed (pdftotext's page break in a
  // caption) or a vertical tab is text there, and was not here.
  if (format === 'parquet' && head.length > 0 && !text.startsWith('PAR1') && !holdsControl(text)) {
    const first = head
      .toString('utf8')
      .replace(/^\ufeff/, '')
      .trimStart()
      .split(/\r?\n/, 1)[0]
    const line = printable(first.slice(0, 80))
    const shown = shownTableFormat(format, first)
    // A header shows the columns; a JSON object's first line, escaped, would not.
    const detail = shown === 'jsonl' ? '' : ` (its first line: ${JSON.stringify(line)})`
    if (shown) return wrongTableFormat(path, as, shown, detail)
    return new UsageError(
      `${inputWord(path)} is not a readable Parquet file: it is text (its first line: ${JSON.stringify(line)}); a CSV, TSV or JSON lines table is read from a file named so, or with --input-format csv, tsv or jsonl`,
    )
  }
  return undefined
}
