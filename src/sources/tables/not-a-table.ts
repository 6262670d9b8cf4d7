import { UsageError } from '../../errors.js'
import { grouped } from '../../report/format.js'
import { printable } from '../../utils/printable.js'
import { sniffBinary, sniffCommon } from '../../verify/magic.js'
import { inputWord } from '../pipe-list.js'
import { SAVE_AS_CSV, spreadsheet, textDocument } from '../spreadsheet.js'
import { shownTableFormat, TABLE_FORMAT_NAMES, type TableFormat, wrongTableFormat } from './format.js'
import { holdsControl } from './utf8.js'

/** Bytes of a table file looked at before it is read: an LFS pointer is under 200, a page's start is in them. */
export const NOT_A_TABLE_HEAD_BYTES = 1024

/** Each kind of markup in words. */
export const MARKUP_WORDS: Readonly<Record<Markup, string>> = {
  html: 'an HTML page',
  bookmarks: "a browser's bookmarks export (a Netscape bookmark file)",
  svg: 'an SVG image',
  feed: 'an RSS or Atom feed',
  xml: 'an XML document',
}

/** What markup a file given as a list or a table is, by its first element (`markupOf`). */
export type Markup = 'html' | 'bookmarks' | 'svg' | 'feed' | 'xml'

/** Elements an HTML page or a piece of one copied from its source may open with (not `img`, `a`: see `markupOf`). */
const HTML_ELEMENTS =
  /^(?:html|head|body|meta|title|link|base|script|style|noscript|template|div|span|p|section|article|main|header|footer|nav|aside|table|ul|ol|dl|dt|h[1-6]|form|iframe|picture|figure|center|font|pre|br|hr)$/i

/**
 * What markup `start` (a file's first text, after a byte order mark and white space) opens, or
 * `undefined` for text that opens with none: a web page as a browser saves one, whatever comes
 * first (`<!DOCTYPE html>`, `<html>`, Chrome's and IE's `<!-- saved from url=(…)… -->`, XHTML's
 * `<?xml …?>` prolog), a piece of one copied from its source (`<div>`), a browser's bookmarks
 * export (Firefox's, Chrome's and Safari's Netscape bookmark file, `<!DOCTYPE
 * NETSCAPE-Bookmark-file-1>`), an SVG image, an RSS or Atom feed, or other XML. Given as a list,
 * each of their lines was an invalid-url failure, only pages opening `<!DOCTYPE html`, `<html`,
 * `<head` or `<body` told as the page they are. A list of `<img …>` or `<a href>` tags, one a line,
 * is left to the list, which names each tag's URL; `<https://…>` and `<URL:https://…>` are URLs in
 * angle brackets (RFC 3986 appendix C). Pure.
 */
export function markupOf(start: string): Markup | undefined {
  // What comes before the first element: the XML prolog, comments, processing instructions.
  const rest = start.replace(/^(?:<\?[\s\S]*?\?>\s*|<!--[\s\S]*?-->\s*)+/, '')
  const prolog = rest !== start && /^<\?xml[\s?]/.test(start)
  const doctype = /^<!doctype\s+([^\s>[]+)/i.exec(rest)?.[1]
  if (doctype !== undefined) {
    if (/^netscape-bookmark-file/i.test(doctype)) return 'bookmarks'
    if (/^html$/i.test(doctype)) return 'html'
    return /^svg$/i.test(doctype) ? 'svg' : 'xml'
  }
  const element = /^<([a-z_][\w.-]*(?::[\w.-]+)?)[\s/>]/i.exec(rest)?.[1]
  if (element === undefined)
    // A prolog or comment the head ends inside, or before its element.
    return prolog || (rest === '' && start !== '') ? 'xml' : undefined
  if (HTML_ELEMENTS.test(element)) return 'html'
  if (/^svg$/i.test(element)) return 'svg'
  if (/^(?:rss|feed|rdf:rdf)$/i.test(element)) return 'feed'
  if (/^(?:img|a)$/i.test(element)) return prolog ? 'xml' : undefined
  return 'xml'
}

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
  const markup = markupOf(start)
  if (markup === 'html')
    return new UsageError(
      `${inputWord(path)} is an HTML page, not ${as}: a web page was saved in place of the file (from a GitHub or Hugging Face blob/ link, whose file is at raw/ or resolve/, or a sign-in page); download the file itself`,
    )
  if (markup !== undefined) {
    const code = /<Code>([\w.-]{1,60})<\/Code>/.exec(start)?.[1]
    return new UsageError(
      code
        ? `${inputWord(path)} is an XML error answer (${code}), not ${as}: a storage service's error (S3's and Google Cloud Storage's, for an expired or private link) was saved in place of the file; download it again`
        : `${inputWord(path)} is ${MARKUP_WORDS[markup]}, not ${as}`,
    )
  }
  // Named a table, or given --input-format, it was a ZIP to unpack (`unzip -p`: its XML parts).
  const sheet = spreadsheet(head)
  if (sheet) return new UsageError(`${inputWord(path)} is ${sheet}, not ${as}: ${SAVE_AS_CSV}`)
  // A table typed in a word processor: saved as text, it is the CSV or TSV it was typed as.
  const document = textDocument(head)
  if (document)
    return new UsageError(
      `${inputWord(path)} is ${document}, not ${as}: save it as plain text (TextEdit: Format > Make Plain Text) or convert it (textutil -convert txt FILE on macOS), and give imgpull that file`,
    )
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
