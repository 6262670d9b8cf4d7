import { isUtf8 } from 'node:buffer'
import { createReadStream } from 'node:fs'
import { access, constants, stat } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { gunzipSync, constants as zlib } from 'node:zlib'
import { UsageError } from '../errors.js'
import { HOST_PORT, parseFetchUrl, QUOTE_CLOSES, QUOTE_ENDS, QUOTE_OPENS } from '../plan/url-problem.js'
import { visibleShellWord } from '../utils/command-line.js'
import { fileHead, isTarHead, starts } from '../utils/file-head.js'
import { fileFault, nearFile, unexpandedPattern } from '../utils/near-file.js'
import { printable } from '../utils/printable.js'
import { passwordMisread, shownUrl, unescapedUrl } from '../utils/url.js'
import { sniffBinary, sniffCommon } from '../verify/magic.js'
import { inputGivenTwice } from './given-twice.js'
import { gunzipFile } from './gunzip.js'
import { isPipe, openPipe, refuseFolderStdin, shellPipe } from './pipe-list.js'
import { compoundHead, SAVE_AS_CSV, SAVE_AS_TEXT, spreadsheet, textDocument } from './spreadsheet.js'
import { MARKUP_WORDS, type Markup, markupOf } from './tables/not-a-table.js'
import { holdsControl, utf8Scan } from './tables/utf8.js'
import { fromUtf16, type Utf16, utf16Head, utf16Of } from './utf16.js'

/**
 * One line of a URL list, or `undefined` for blank lines, `#` comments and other tools' option
 * lines (`optionLine`); a `#` after a space is a comment's start too. A tab ends the URL: no URL
 * holds one (the URL parser drops it, gluing `a.jpg<TAB>caption` into `a.jpgcaption`), and a list
 * copied from a spreadsheet has its other columns after one; aria2c's `-i` reads it so. A curl
 * config's `url = "…"` line gives its URL, and quotes or angle brackets around a URL
 * (`"https://…"`, `<https://…>`, RFC 3986 appendix C) are dropped: no URL begins with one, and
 * each such line was an invalid-url failure. Marks that show nothing (`INVISIBLE`) are trimmed
 * with the spaces around the URL. A URL copied from JSON or HTML source as they escape it
 * (`https:\/\/…`, `?w=1&amp;h=2`) is unescaped (`unescapedUrl`).
 */
export function parseLine(line: string): string | undefined {
  const whole = bare(line)
  const tab = whole.indexOf('\t')
  // A `#` after a space ends the URL, a comment (`https://…/a.jpg  # cover`), as yt-dlp reads its
  // batch files: no URL has a space before its fragment, which is never sent anyway. Read as part
  // of the URL, it asked for `/a.jpg%20` (the fragment dropped), a 404, as wget2 and aria2c ask.
  const text = bare((tab < 0 ? whole : whole.slice(0, tab)).replace(/\s#.*$/s, ''))
  if (text === '' || text.startsWith('#')) return undefined
  const curl = CURL_URL.exec(text)?.[1]
  if (curl !== undefined) return unwrapped(curl.trim())
  return optionLine(line) ? undefined : unescapedUrl(unwrapped(text))
}

/**
 * Marks that show nothing, pasted around a URL from a web page, a chat or right-to-left text: zero
 * width spaces and joiners (U+200B-U+200D, U+2060-U+2064), direction marks (U+200E, U+200F), the
 * soft hyphen, a byte order mark. Before the scheme, the line was no URL (crossorigin.me#18); after
 * the URL, the request asked for its escape (`a.jpg%E2%80%8B`), a 404, as curl, wget2 and aria2c
 * fail them. NUL bytes too: a file zeroed at its end after a crash (see `nulPadding`) ends with
 * them (a last line they run into is refused: `ZeroCutLineError`). Inside a URL a mark is kept: a name may hold one (rndomhack/px-downloader#24); a NUL is not (a hole in the file: `parseFetchUrl`). Not the
 * controls that reorder what follows (U+202A-U+202E, U+2066-U+2069: `\u202Egnp.exe`): a line with
 * one is kept as written, and shown with it escaped (test/hostile-text.test.ts). DOS's end-of-file
 * mark, Ctrl-Z (U+001A), with which a list written on DOS or Windows may end, on a line of its own
 * or after the last URL (Rdatatable/data.table#1612): read as a line, it failed as `invalid URL
 * "\x1a"` (tables take it as no row too: `dosEnd`).
 */
const INVISIBLE = '[\\s\\u0000\\u001A\\u00AD\\u200B-\\u200F\\u2060-\\u2064\\uFEFF]'
const EDGES = new RegExp(`^${INVISIBLE}+|${INVISIBLE}+$`, 'gu')

/** `text` without the spaces and `INVISIBLE` marks around it. */
export const bare = (text: string) => text.replace(EDGES, '')

/** A curl config (`curl -K`) line naming a URL: `url = "…"`, `url="…"`, `url: …`, `--url …`. */
const CURL_URL = /^(?:--)?url(?:\s*[=:]\s*|\s+)(\S.*)$/i

/** A line wrapped in a quote's marks (`QUOTE_CLOSES`), a comma after them or none. */
const WRAPPED_LINE = new RegExp(`^([${QUOTE_OPENS}])(.*)([${QUOTE_ENDS}]),?$`, 'su')

/**
 * `text` without the quotes (typographic ones too: `QUOTE_CLOSES`) or angle brackets (`<URL:…>` too) around it, if it has them, and a
 * comma after them: a line of a JSON, JavaScript or Python list (`  "https://…",`).
 */
function unwrapped(text: string): string {
  const pair = WRAPPED_LINE.exec(text)
  if (!pair || !QUOTE_CLOSES[pair[1]]?.includes(pair[3])) return text
  // An HTML tag (`<img src="https://…">`) is no URL in brackets: kept whole, to be said as one.
  if (pair[1] === '<' && /^[a-z][a-z0-9-]*\s/i.test(pair[2])) return text
  const inner = pair[2].trim()
  return pair[1] === '<' ? inner.replace(/^URL:\s*/i, '') : inner
}

/**
 * Whether a line is an option line of another tool's input file, never a URL: aria2c's `-i`
 * (indented `out=NAME`, `dir=…` after the URL they apply to), curl's `-K` (`--output x.jpg`,
 * `-O`, `output = "x.jpg"`), gallery-dl's `-i` (`-filename = "…"`, `-G …`). Read as URLs, each
 * was an invalid-url failure ("no http:// or https:// before it") in the journal and manifest.
 */
export function optionLine(line: string): boolean {
  if (CURL_URL.test(line.trim())) return false
  if (/^[ \t]+[a-z][a-z0-9-]*=/i.test(line)) return true
  const text = line.trim()
  return /^-{1,2}[a-z]/i.test(text) || /^[a-z][a-z0-9-]*\s*=/i.test(text)
}

/**
 * A list line's bytes as text: UTF-8 where they are UTF-8, any other byte kept as its `%XX` escape,
 * so the request carries the list's own bytes, as curl, wget, wget2 and aria2c send them. Decoded
 * with U+FFFD in their place (a list saved as Windows-1252: `caf\xE9.jpg`), each such byte became
 * `%EF%BF%BD`, a URL no one wrote, and `café.jpg` and `cafè.jpg` one job.
 */
export function lineText(bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString('utf8')
  let text = ''
  for (let rest = bytes; ; ) {
    const { bad, incomplete } = utf8Scan(rest)
    const end = bad >= 0 ? bad : rest.length - incomplete
    text += rest.toString('utf8', 0, end)
    if (end >= rest.length) return text
    text += `%${rest[end].toString(16).toUpperCase().padStart(2, '0')}`
    rest = rest.subarray(end + 1)
  }
}

/** Bytes above ASCII: a line read as latin1 (byte for byte) that may not be UTF-8 as it stands. */
const NOT_ASCII = /[^\p{ASCII}]/u

/**
 * The lines of a stream, one URL each, read as they arrive: constant memory whatever the size.
 * `onOption` hears of each option line skipped (`optionLine`), with its line number.
 */
export async function* readLines(
  stream: Readable,
  onOption?: (line: number, text: string) => void,
): AsyncGenerator<string> {
  for await (const { url } of numberedLines(stream, onOption)) yield url
}

/** `readLines`, each URL with the number of its line (from 1). */
async function* numberedLines(
  stream: Readable,
  onOption?: (line: number, text: string) => void,
): AsyncGenerator<{ url: string; line: number }> {
  // Byte for byte, so that `lineText` sees each line's bytes (readline's own UTF-8 decoding would
  // have put U+FFFD in place of those that are not UTF-8), and a latin1 string's length is its bytes.
  stream.setEncoding('latin1')
  let n = 0
  for await (const batch of splitLines(stream))
    for (const { raw, bytes, ended, zeros } of batch) {
      n++
      const line = NOT_ASCII.test(raw) ? lineText(Buffer.from(raw, 'latin1')) : raw
      const url = parseLine(line)
      if (url !== undefined) {
        if (zeros > 0) throw new ZeroCutLineError(n, url, zeros)
        if (!ended && cutAtBuffer(bytes)) throw new CutLineError(n, bytes, url)
        yield { url, line: n }
      } else if (onOption && optionLine(line)) onOption(n, line.trim())
    }
}

/** A line of a list as `splitLines` gives it. */
interface SplitLine {
  raw: string
  /** Bytes read up to its end. */
  bytes: number
  /** A line end came after it (the last line of a list may have none). */
  ended: boolean
  /** NUL bytes after it to the list's end, with no line end between (see `ZeroCutLineError`); 0 for others. */
  zeros: number
}

/**
 * The lines of a latin1 stream, as readline split them (`\r\n`, `\n` or a lone `\r` ends one),
 * those of each chunk together (one await a chunk, not a line: a million lines read as fast as
 * readline read them).
 */
async function* splitLines(stream: Readable): AsyncGenerator<SplitLine[]> {
  /** The line so far, no line end in it. */
  let pending = ''
  /** A `\r` taken off `pending`'s end: the `\n` of its `\r\n` may come in the next chunk. */
  let held = false
  let bytes = 0
  /** NULs after `pending`, counted, not kept: a list zero-filled to its end may have gigabytes of them. */
  let zeros = 0
  const ends = /\r\n|\r(?!$)|\n/g
  for await (const chunk of stream as AsyncIterable<string>) {
    bytes += chunk.length
    if (/^\0*$/.test(chunk)) {
      zeros += chunk.length
      continue
    }
    // Only what came is searched, never the line so far again: a line of 100 MB (a file of no
    // line ends given as the list) took minutes, searched from its start at each chunk.
    // NULs followed by text are the line's own (binary data: `listBytes` refuses most).
    const text = (held ? '\r' : '') + '\0'.repeat(zeros) + chunk
    const at = bytes - text.length
    held = false
    zeros = 0
    const batch: SplitLine[] = []
    let start = 0
    ends.lastIndex = 0
    for (let end = ends.exec(text); end; end = ends.exec(text)) {
      const raw = start === 0 ? pending + text.slice(0, end.index) : text.slice(start, end.index)
      batch.push({ raw, bytes: at + end.index, ended: true, zeros: 0 })
      if (start === 0) pending = ''
      start = end.index + end[0].length
    }
    let rest = start === 0 && batch.length === 0 ? text : text.slice(start)
    // NULs last, counted off: none can be before this chunk's (they were counted off already).
    let cut = rest.length
    while (cut > 0 && rest.charCodeAt(cut - 1) === 0) cut--
    zeros = rest.length - cut
    rest = rest.slice(0, cut)
    if (rest.endsWith('\r')) {
      held = true
      rest = rest.slice(0, -1)
    }
    pending += rest
    if (batch.length > 0) yield batch
  }
  if (held) yield [{ raw: pending, bytes: bytes - zeros, ended: true, zeros: 0 }]
  else if (pending !== '') yield [{ raw: pending, bytes: bytes - zeros, ended: false, zeros }]
}

/**
 * Writers' buffers are multiples of this (glibc's stdio a pipe's or a file's block, 4096; Python's,
 * Java's and Perl's 8192; Go's bufio 4096; BSD stdio down to 512).
 */
export const WRITER_BUFFER = 512

/**
 * Whether a list whose last line has no line end, `bytes` long, ends where a writer's buffer does:
 * a writer that died or was killed (a crash, the OOM killer, `kill -9`) leaves what it had flushed,
 * whole buffers, its last line cut wherever a buffer ended. Its bytes cannot say more: one that
 * ended cleanly flushed its last line, and a list written whole without a last newline (`pbpaste`,
 * Python's `'\n'.join(urls)`) ends anywhere, one in `WRITER_BUFFER` here.
 */
export const cutAtBuffer = (bytes: number): boolean => bytes > 0 && bytes % WRITER_BUFFER === 0

/**
 * A list's last line, with no line end, ends at a writer's buffer end (`cutAtBuffer`): most likely
 * cut short, it is not fetched (a URL cut short asks for another file, or for one that is there:
 * `?id=12` of `?id=1234`). Its message ends `listLines`' `cannot read NAME after its N URLs: `.
 */
export class CutLineError extends Error {
  constructor(line: number, bytes: number, url: string) {
    super(
      `line ${line} ('${printable(shownUrl(url))}') has no newline, and the list ends at byte ${bytes}, where a writer's buffer does (a multiple of ${WRITER_BUFFER}): its writer most likely stopped mid-line, and it is not fetched; if the list is whole, end it with a newline`,
    )
  }
}

/**
 * A list's last line runs into NUL bytes that go on to its end, with no line end between: a file
 * cut short by a crash or a power loss, its last blocks zeroed (sierra-db/sierradb#13), or a download
 * or copy whose space was allocated first and never filled (aria2's `--file-allocation`,
 * lingochamp/FileDownloader#543), as a table's (`ZeroFilled`). The line is cut where its bytes were
 * lost (`?w=10` of `?w=1080`): it is not fetched, its NULs were dropped as marks that show nothing
 * and it was asked for as a whole URL. A line ended before the zeros is whole. Its message ends
 * `listLines`' `cannot read NAME after its N URLs: `.
 */
export class ZeroCutLineError extends Error {
  constructor(line: number, url: string, zeros: number) {
    super(
      `line ${line} ('${printable(shownUrl(url))}') runs into zero bytes with no newline before them (${zeros.toLocaleString('en-US')} of them, to the list's end): a file cut short or a download or copy whose space was allocated first, the line most likely cut, and it is not fetched; fetch or copy the list again`,
    )
  }
}

/** What a list file's first bytes show it holds (see `listBytes`). */
export type ListBytes =
  | { kind: 'text' }
  | { kind: 'gzip' }
  /** UTF-16 text (`encoding`), read decoded. */
  | { kind: 'utf16'; encoding: Utf16 }
  /**
   * Not a list at all: `what` names it, `hint` says what to do (both for a message); `inPipe`: the
   * command that unpacks it in a pipe, for a list that is a shell's pipe (no file to unpack).
   */
  | { kind: 'other'; what: string; hint: string; inPipe?: string }

/** Bytes to look at: the longest signature below, and enough text to find a NUL in. */
export const LIST_HEAD_BYTES = 512

/** Archives and compressions a list may have been packed in, by their magic numbers. */
const PACKED: [number[] | string, string, string, string?][] = [
  [
    [0x28, 0xb5, 0x2f, 0xfd],
    'zstd-compressed',
    'unpack it first (zstd -d), or pipe it: zstdcat FILE | imgpull -',
    'zstdcat',
  ],
  ['BZh', 'bzip2-compressed', 'unpack it first (bunzip2), or pipe it: bzcat FILE | imgpull -', 'bzcat'],
  [
    [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
    'xz-compressed',
    'unpack it first (unxz), or pipe it: xzcat FILE | imgpull -',
    'xzcat',
  ],
  ['PK\x03\x04', 'a ZIP archive', 'unpack it first, and give imgpull the list inside'],
  ['7z\xbc\xaf\x27\x1c', 'a 7-Zip archive', 'unpack it first, and give imgpull the list inside'],
  ['%PDF-', 'a PDF document', 'give imgpull a text file of URLs, one a line'],
  ['SQLite format 3\x00', 'an SQLite database', 'export its URLs to a text file or a CSV first'],
  ['PAR1', 'a Parquet table', 'name it .parquet, or give --input-format parquet'],
]

/** What the gzip bytes `head` (a file's first bytes) decompress to, as far as they go; empty when they do not. */
function gunzippedHead(head: Buffer): Buffer {
  try {
    return gunzipSync(head, { finishFlush: zlib.Z_SYNC_FLUSH })
  } catch {
    return Buffer.alloc(0)
  }
}

/** How a tar archive given as a list is unpacked. */
const TAR_HINT = 'unpack it first (tar -xf FILE), and give imgpull the list or table inside'

/**
 * What a list file holds, from its first bytes (`LIST_HEAD_BYTES`): text; gzip, which is read
 * through gunzip (a list of millions of URLs is kept so); UTF-16 (PowerShell's `>`); or something
 * else given by mistake (an image, an archive, a database), whose every "line" would otherwise be
 * an invalid-url failure in the journal and manifest. A NUL byte is what no text list holds.
 */
export function listBytes(head: Buffer): ListBytes {
  // A tar archive (`tar -czf urls.tar.gz urls.txt`), gzip'd or not, is no list: its member
  // headers were read as lines (a CSV row in it fetched as one URL `…/a.jpg,a caption`), or as
  // UTF-16 for their NULs. Of gzip, the first bytes the head holds are looked at.
  if (starts(head, [0x1f, 0x8b, 0x08]))
    return isTarHead(gunzippedHead(head))
      ? { kind: 'other', what: 'a gzip-compressed tar archive', hint: TAR_HINT, inPipe: 'tar -xzO' }
      : { kind: 'gzip' }
  if (isTarHead(head)) return { kind: 'other', what: 'a tar archive', hint: TAR_HINT, inPipe: 'tar -xO' }
  const sheet = spreadsheet(head)
  if (sheet) return { kind: 'other', what: sheet, hint: SAVE_AS_CSV }
  const document = textDocument(head)
  if (document) return { kind: 'other', what: document, hint: SAVE_AS_TEXT }
  // Signatures first: a ZIP's or an image's NULs would read as UTF-16's.
  for (const [magic, what, hint, inPipe] of PACKED)
    if (starts(head, magic)) return { kind: 'other', what, hint, ...(inPipe ? { inPipe } : {}) }
  const image = sniffCommon(head) ?? sniffBinary(head)
  if (image)
    return {
      kind: 'other',
      what: `a ${image.ext.toUpperCase()} image`,
      hint: 'give imgpull the URLs of images, or a file listing them, one a line',
    }
  // A list whose end is NUL bytes (a file cut short by a crash or power loss, its last blocks
  // zeroed: sierra-db/sierradb#13) is its text: refused as binary data (or read as UTF-16, its
  // NULs a third of the head), its every URL was lost, where curl, wget2 and aria2c fetch them.
  const padding = nulPadding(head)
  if (padding > 0) return listBytes(head.subarray(0, padding))
  // A table in UTF-16 (Excel's "Unicode Text", which it names .txt) is no list, as one in UTF-8.
  const binary: ListBytes = {
    kind: 'other',
    what: 'binary data',
    hint: 'give imgpull a text file of URLs, one a line',
  }
  const utf16 = utf16Of(head)
  if (utf16) {
    const text = utf16Head(head, utf16).toString('utf8')
    // An executable (imgpull /bin/ls) or other binary file whose NULs read as UTF-16's: decoded so,
    // it holds control characters no text does, and each of its "lines" was requested as a URL.
    // NULs that end it are a list zeroed at its end, as above; NULs alone (a file of zeros) no list.
    const body = text.replace(/\0+$/, '')
    if (holdsControl(body) || body.includes('\x7f') || (body === '' && text !== '')) return binary
    return textNotAList(text) ?? { kind: 'utf16', encoding: utf16 }
  }
  if (head.includes(0)) return binary
  return textNotAList(head.toString('utf8')) ?? { kind: 'text' }
}

/**
 * Where the NUL bytes that end `head` begin, when text (no NUL, at least a line's worth) comes
 * before them and nothing but NULs after: a file padded with zeros at its end; 0 otherwise. NULs
 * among other bytes are binary data (an archive's header, an executable).
 */
function nulPadding(head: Buffer): number {
  const first = head.indexOf(0)
  if (first < 8) return 0
  for (let i = first; i < head.length; i++) if (head[i] !== 0) return 0
  return first
}

/** A Markdown link or link reference: `[text](`, `[text]: ` (CommonMark 0.31 §4.7, §6.3). */
const MARKDOWN_LINK = /^\[[^\]\n]*\](?:\(|:[ \t])/

/**
 * How a JSON array begins: its `[`, then a value or its `]` (RFC 8259 §5). An INI file's section
 * (`[InternetShortcut]`, `[Desktop Entry]`) begins with a `[` too, and was said as a JSON array.
 */
const JSON_ARRAY = /^\[\s*(?:["{[\]\d-]|true\b|false\b|null\b)/

/**
 * A link saved as a file, its URL in it, from the file's first text: Windows' Internet Shortcut
 * (`.url`, a link dragged from a browser to the desktop: `[InternetShortcut]`, `URL=…`), a Linux
 * desktop's link (`.desktop`: `[Desktop Entry]`, `Type=Link`, `URL=…`) and macOS's web location
 * (`.webloc`, a property list: `<key>URL</key><string>…</string>`), as mpv-player/mpv#5107 and
 * karakeep-app/karakeep#725 were given them. Given as a list, the first two
 * were said to be a JSON array, the third an XML document, neither naming the URL in it. `undefined`
 * for anything else. Pure.
 */
function linkFile(start: string): { what: string; url: string } | undefined {
  const url = /^URL=(\S+)\s*$/m.exec(start)?.[1]
  if (/^\[InternetShortcut\]\s*$/m.test(start) && url !== undefined)
    return { what: 'a Windows Internet Shortcut (.url)', url }
  if (/^\[Desktop Entry\]\s*$/m.test(start) && url !== undefined)
    return { what: 'a desktop link (.desktop)', url }
  const plist = /<key>URL<\/key>\s*<string>([^<\s]+)<\/string>/.exec(start)?.[1]
  if (/^(?:<\?xml[^>]*>\s*)?<!DOCTYPE plist/i.test(start) && plist !== undefined)
    return { what: 'a macOS web location (.webloc)', url: plist.replaceAll('&amp;', '&') }
  return undefined
}

/** What to give imgpull instead of each kind of markup given as a list. */
const MARKUP_HINTS: Readonly<Record<Markup, string>> = {
  html: 'give imgpull the URLs of its images (its <img src>), one a line',
  // wget reads links out of an HTML list only when told to (-F, --force-html); a bookmark is a
  // page as often as an image.
  bookmarks: `its links (HREF="…") are pages as often as images: give imgpull the images' URLs, one a line (grep -o 'HREF="[^"]*"' FILE | cut -d'"' -f2 lists its links)`,
  svg: 'give imgpull the URLs of images, or a file listing them, one a line',
  feed: 'give imgpull the URLs of its images (its <enclosure url>, <media:content url>), one a line',
  xml: 'give imgpull a text file of URLs, one a line',
}

/**
 * Text that is no list, told by how it begins (no URL line begins so): a web page saved from a
 * browser (the mood board whose images are wanted) or a JSON document (an API's answer, an array
 * of URLs). Each of its lines would be an invalid-url failure, the images never fetched.
 */
function textNotAList(text: string): ListBytes | undefined {
  const start = text.replace(/^\ufeff/, '').trimStart()
  const link = linkFile(start)
  if (link !== undefined)
    return {
      kind: 'other',
      what: link.what,
      hint: `it links to ${printable(shownUrl(link.url))}: give imgpull that URL itself, or a list of such URLs, one a line`,
    }
  const markup = markupOf(start)
  if (markup !== undefined) return { kind: 'other', what: MARKUP_WORDS[markup], hint: MARKUP_HINTS[markup] }
  // An array of records (pandas' to_json(orient='records'), an API's or a labelling tool's export):
  // a table, whose objects `jq -r '.[]'` would print as JSON text, not URLs.
  if (/^\[\s*\{/.test(start))
    return {
      kind: 'other',
      what: 'a JSON array of objects (a table)',
      hint: "jq -c '.[]' FILE > rows.jsonl makes it JSON lines, which imgpull reads as a table (the URL key by --url-col)",
    }
  // A Markdown link or reference that opens the list (`[cat](https://…)`, `[1]: https://…`,
  // notes pasted as they are: dpradov/keynote-nf#750) begins with a `[` too, but no JSON array
  // goes on so: it is a list, each such line refused naming the text before its URL, where the
  // whole list was refused as a JSON array.
  if (JSON_ARRAY.test(start) && !MARKDOWN_LINK.test(start))
    return {
      kind: 'other',
      what: 'a JSON array',
      hint: "give imgpull its URLs one a line, e.g. jq -r '.[]' FILE | imgpull -",
    }
  if (start.startsWith('{'))
    return {
      kind: 'other',
      what: 'JSON',
      hint: 'one object a line with a url key is a table: give it as a file named .jsonl',
    }
  return tableHeader(start)
}

/**
 * A CSV or TSV table named otherwise (`photos.txt`, or piped in): its first line names columns,
 * one of them a URL's (`url,caption`, `image_url<TAB>text`), and holds no URL itself. Read as a
 * list, that line was an invalid-url failure and every row's URL was fetched with its other cells
 * glued on after a comma (`a.jpg,A caption,cc0`), which no server has.
 */
function tableHeader(text: string): ListBytes | undefined {
  const [first, next] = text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '' && !line.trim().startsWith('#'))
  // A row that holds no URL after it (the head may end before one) is no table of URLs.
  if (first === undefined || first.includes('://') || (next !== undefined && !next.includes('://')))
    return undefined
  const separator = first.includes('\t') ? '\t' : first.includes(',') ? ',' : first.includes(';') ? ';' : ''
  if (separator === '') return undefined
  const cells = first.split(separator).map((cell) => cell.trim().replace(/^"(.*)"$/, '$1'))
  // A column's name, not words: `image_url`, `Image URL`, never `not a url, really`.
  const url = cells.find((cell) => /url/i.test(cell) && /^[\w.-]+(?: [\w.-]+)?$/.test(cell))
  if (cells.length < 2 || url === undefined) return undefined
  const kind = separator === '\t' ? 'tsv' : 'csv'
  const column = url === 'url' ? '' : ` --url-col ${/^[\w.-]+$/.test(url) ? url : JSON.stringify(url)}`
  return {
    kind: 'other',
    what: `a ${kind.toUpperCase()} table (its first line names the columns ${cells.slice(0, 4).join(separator === '\t' ? ', ' : separator)}${cells.length > 4 ? '...' : ''})`,
    // Standard input is a list whatever it holds: a table is read from a file.
    hint: `a table is read from a file named .${kind} (or of any name, with --input-format ${kind})${column ? `, its URLs from${column}` : ''}`,
  }
}

/**
 * A list file's lines as bytes: gunzipped when it is gzip, as UTF-8 when it is UTF-16 (its read
 * errors surface on the stream).
 */
export async function openList(path: string): Promise<Readable> {
  if (await isPipe(path)) {
    const { head, all } = await pipeHead(path)
    return listText(all, listBytes(head), path)
  }
  // The head first: a stream made before it would open its file with no one to hear an error
  // (EMFILE, EIO) while the head is read, and bring the process down.
  const bytes = listBytes(await fileHead(path, LIST_HEAD_BYTES))
  return listText(createReadStream(path), bytes, path)
}

/** A list's stream (`raw`, all of `path`) as its text: gunzipped, or UTF-16 decoded, as its first `bytes` show. */
function listText(raw: Readable, bytes: ListBytes, path: string): Readable {
  if (bytes.kind === 'gzip') return gunzipFile(raw, visibleShellWord(path, 'always'))
  return bytes.kind === 'utf16' ? fromUtf16(raw, bytes.encoding) : raw
}

/**
 * Each list that is a pipe (see `isPipe`), opened once: its first bytes read by `checkInputs`,
 * then the whole by its reader, as standard input's are. Read at an offset (`fileHead`), a process
 * substitution (`imgpull <(grep jpg urls.txt)`) was refused (`invalid seek`); read twice, the
 * second read would have had what the first left.
 */
const pipes = new Map<string, Promise<{ head: Buffer; all: Readable }>>()

/** The first bytes of the pipe at `path`, and all its bytes again (see `pipes`). */
function pipeHead(path: string): Promise<{ head: Buffer; all: Readable }> {
  let peek = pipes.get(path)
  if (!peek) {
    peek = openPipe(path).then(peekStream)
    pipes.set(path, peek)
  }
  return peek
}

/** The first bytes of the list file at `path`, a pipe's too (see `pipes`). */
const listHead = async (path: string): Promise<Buffer> =>
  (await isPipe(path))
    ? (await pipeHead(path)).head
    : compoundHead(path, await fileHead(path, LIST_HEAD_BYTES))

/**
 * A URL argument as fetched: without the marks around it, nor quotes a shell leaves (a chat's or a
 * document's smart quotes, `“https://…”`: `unwrapped`), unescaped as JSON or HTML source wrote it
 * (`unescapedUrl`).
 */
const argumentUrl = (given: string): string => unescapedUrl(unwrapped(bare(given)))

/**
 * An argument is a URL when it parses as http(s); `-` is standard input; anything else a file.
 * Marks that show nothing around it (`INVISIBLE`: a URL pasted from a web page or a chat) are not
 * its: with one before the scheme, it was a file `'https://…'` (the mark unseen) with no such file.
 */
export function isUrlArgument(given: string): boolean {
  const arg = argumentUrl(given)
  // One slash or backslashes after the scheme (`http:/host/a.jpg`, `http:\\host\a.jpg`) too, as the
  // URL parser, a list line and curl read them: it was taken for a file's name and refused as
  // `no such file, nor an http(s) URL`.
  if (!/^https?:[\\/]+[^\\/]/i.test(arg)) return false
  try {
    // Not one whose password's `#`, `/` or `?` made a fragment, path or query of the rest: said as
    // a usage error (see `parseFetchUrl`).
    return !passwordMisread(arg, new URL(arg))
  } catch {
    return false
  }
}

/**
 * Why a list (`name`, as a message names it) whose first bytes are `bytes` is read as none:
 * something given by mistake; `undefined` for a list.
 */
function notAList(name: string, bytes: ListBytes, piped = false): UsageError | undefined {
  if (bytes.kind !== 'other') return undefined
  // A shell's pipe (`<(...)`) has no file to unpack: `unxz /dev/fd/63` finds none.
  const hint = piped && bytes.inPipe ? `unpack it in the pipe: ... | ${bytes.inPipe}` : bytes.hint
  return new UsageError(`${name} is ${bytes.what}, not a list of URLs: ${hint}`)
}

/** The refusal of the list file `path` whose first bytes are `head`, if it holds no list; named as a shell reads it back. */
const notAListFile = (path: string, head: Buffer): UsageError | undefined =>
  notAList(visibleShellWord(path, 'always'), listBytes(head), shellPipe(path))

/**
 * The first of `args` (list files as given; `-` and URLs are skipped) that holds something other
 * than a list (a spreadsheet, an archive, an image), as `checkInputs` refuses it; `undefined` when
 * none does, or none can be read (`checkInputs` names that).
 */
export async function firstNotAList(args: readonly string[]): Promise<UsageError | undefined> {
  for (const arg of args) {
    if (arg === '-' || isUrlArgument(arg)) continue
    const head = await listHead(arg).catch(() => undefined)
    const refused = head && notAListFile(arg, head)
    if (refused) return refused
  }
  return undefined
}

/** Fail early, with the culprit named, on a list file that cannot be read. */
export async function checkInputs(
  args: string[],
  stdin: Readable = process.stdin,
  /** An argument that may be an output folder given without `-o` (the last of several, no `-o`). */
  maybeOut?: string,
): Promise<void> {
  // Read once, it has nothing for a second `-`, whose wait for it never ended: the run stopped
  // with exit 13 (an unsettled await), without its summary, manifest or report.
  if (args.filter((arg) => arg === '-').length > 1)
    throw new UsageError('standard input (-) is given more than once: it can be read once; give - once')
  for (const arg of args) {
    if (arg === '-') await stdinKind(stdin)
    if (arg === '-' || isUrlArgument(arg)) continue
    try {
      await access(arg, constants.R_OK)
      if ((await stat(arg)).isDirectory())
        throw new UsageError(
          `cannot read input ${visibleShellWord(arg, 'always')}: it is a folder, not a list file`,
        )
      // Read as lines, a file that is no list is every line an invalid URL: said once, before
      // anything is made.
      const refused = notAListFile(arg, await listHead(arg))
      if (refused) throw refused
    } catch (error) {
      if (error instanceof UsageError) throw error
      const code = (error as NodeJS.ErrnoException).code
      // A name ending in / names a folder (of tables), which `no such file` did not say.
      const why = code === 'ENOENT' && arg.endsWith('/') ? 'no such folder' : fileFault(error)
      // A bare word that is no file is most likely a mistyped command (`imgpull stauts DIR`): only
      // the first word can be one (`imgpull urls.txt photos` named a command that could never run).
      const command =
        code === 'ENOENT' && arg === args[0] && /^[a-z][a-z-]*$/.test(arg) ? ', nor a command' : ''
      // One that looks like an address is most likely a mistyped URL (`htp://`, `http//`, `http://[::1`).
      const url = code === 'ENOENT' ? notUrl(arg) : ''
      // A mistyped URL's credentials stay out of the message, as an invalid line's do.
      const shown = url ? printable(shownUrl(arg)) : visibleShellWord(arg, 'always')
      // `imgpull urls.txt photos`, in cp's order: the folder, not a missing list.
      const out =
        code === 'ENOENT' && !url && arg === maybeOut
          ? `; if it is the output folder, give it with -o: -o ${visibleShellWord(arg)}`
          : ''
      // A list's name mistyped (`url.txt` beside `urls.txt`): the file meant.
      // A pattern no shell expanded (`'*.txt'`, cmd's `*.txt`): the files it matches.
      const pattern = code === 'ENOENT' && !url && !out ? await unexpandedPattern(arg) : ''
      const near = code === 'ENOENT' && !url && !out && pattern === '' ? await nearFile(arg) : pattern
      throw new UsageError(
        `cannot read input ${url ? `'${shown}'` : shown}: ${why}${command}${url}${out}${near}`,
      )
    }
  }
  // Each one readable: the same one twice is said after any that is not.
  const twice = inputGivenTwice(
    args
      .filter((arg) => arg !== '-' && !isUrlArgument(arg))
      .map((arg) => ({ path: arg, named: visibleShellWord(arg, 'always') })),
    // Its URLs are found twice in one run (fetched once), but enqueued, each shard twice is fetched twice.
    'its URLs would be read twice (enqueued, each fetched twice)',
  )
  if (twice) throw twice
}

/** Why an argument that looks like an address is no URL, as the end of a message; '' for others. */
function notUrl(arg: string): string {
  // An image a browser holds (`data:image/png;base64,…`, `blob:https://…`), copied as its address:
  // it was `no such file` alone.
  if (/^(?:data|blob):/i.test(arg)) {
    const parsed = parseFetchUrl(arg, 'url')
    if ('why' in parsed)
      return `, nor an http(s) URL: ${parsed.why.replace(/^only http and https are fetched: /, '')}`
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(arg)?.[1]
  if (scheme) {
    if (!/^https?$/i.test(scheme)) return ', nor an http(s) URL'
    const parsed = parseFetchUrl(arg, 'url')
    const why = 'why' in parsed ? parsed.why : 'not a URL'
    return why === 'not a URL' ? ', nor a valid URL' : `, nor a valid URL: ${why}`
  }
  if (/^https?[:;]*\/\/?[^/]/i.test(arg)) {
    // A mistyped scheme (`http//`, `http;//`) is said with the URL meant (see `parseFetchUrl`).
    const parsed = parseFetchUrl(arg, 'url')
    return 'why' in parsed && parsed.why !== 'not a URL'
      ? `, nor a valid URL: ${parsed.why}`
      : ', nor an http(s) URL'
  }
  // A host and path typed as curl and wget take them (`example.com/a.jpg`, `localhost:8080/a.jpg`):
  // a missing file here, since a list is read from any name, so said as a maybe.
  return HOST_PORT.test(arg) || /^[^\s/:]+\.[a-z][a-z0-9-]*\//i.test(arg)
    ? '; if it is a URL, give it with http:// or https:// before it'
    : ''
}

/** URLs from command-line arguments, list files and stdin, in order, streamed. */
export async function* argumentSource(
  args: string[],
  stdin: Readable = process.stdin,
): AsyncGenerator<string> {
  for await (const job of argumentJobs(args, stdin)) yield job.url
}

/**
 * `argumentSource` as jobs, each URL of a list with where it was read (`Job.where`: `'urls.txt'
 * line 7`, `standard input line 7`), for a message about it.
 */
export async function* argumentJobs(
  args: string[],
  stdin: Readable = process.stdin,
): AsyncGenerator<{ url: string; where?: string }> {
  for (const arg of args) {
    if (arg === '-') yield* stdinLines(stdin)
    else if (isUrlArgument(arg)) yield { url: argumentUrl(arg) }
    else yield* listLines(visibleShellWord(arg, 'always'), () => openList(arg))
  }
}

/**
 * Standard input's lines, told by its first bytes as a list file is (`listBytes`): `zcat` forgotten
 * (`cat urls.txt.gz | imgpull -`) is read through gunzip, and an image or archive piped by mistake
 * is refused in one line, where each of its "lines" would have been an invalid-url failure.
 */
async function* stdinLines(stdin: Readable): AsyncGenerator<{ url: string; where: string }> {
  const { bytes, all } = await stdinKind(stdin)
  yield* listLines('standard input', async () =>
    bytes.kind === 'gzip'
      ? gunzipFile(all, 'standard input')
      : bytes.kind === 'utf16'
        ? fromUtf16(all, bytes.encoding)
        : all,
  )
}

/** Each stdin's first bytes are read once: by `checkInputs`, before anything is made, then by its reader. */
const peeked = new WeakMap<Readable, Promise<{ head: Buffer; all: Readable }>>()

/** Whether standard input is a plain, gzip'd or UTF-16 list; anything else is a `UsageError` naming it. */
async function stdinKind(
  stdin: Readable,
): Promise<{ bytes: Exclude<ListBytes, { kind: 'other' }>; all: Readable }> {
  if (stdin === process.stdin) refuseFolderStdin()
  let peek = peeked.get(stdin)
  if (!peek) {
    peek = peekStream(stdin)
    peeked.set(stdin, peek)
  }
  const { head, all } = await peek
  const bytes = listBytes(head)
  const refused = notAList('standard input', bytes)
  if (refused || bytes.kind === 'other') throw refused
  return { bytes, all }
}

/**
 * The first bytes of `stream` and a stream of all its bytes again. Only what the first reads give
 * (at least the 6 bytes of the longest compression magic, unless the input is shorter): a person
 * typing URLs at a terminal is never waited on for more.
 */
async function peekStream(stream: Readable): Promise<{ head: Buffer; all: Readable }> {
  const chunks = stream[Symbol.asyncIterator]()
  const head: Buffer[] = []
  let length = 0
  while (length < 6) {
    const next = await chunks.next()
    if (next.done) break
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as string)
    head.push(chunk)
    length += chunk.length
  }
  const first = Buffer.concat(head)
  async function* again() {
    if (first.length > 0) yield first
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value as Buffer
  }
  return { head: first, all: Readable.from(again(), { objectMode: false }) }
}

/** The URLs of a list (`name`: how a message names it); a read or gunzip failure names it, and where it stopped. */
async function* listLines(
  name: string,
  open: () => Promise<Readable>,
): AsyncGenerator<{ url: string; where: string }> {
  let lines = 0
  let told = false
  // Said once a list: the files are named by --name, not by the option lines' `out=`.
  const onOption = (line: number, text: string) => {
    if (told) return
    told = true
    process.emitWarning(
      `${name} line ${line}: '${printable(text)}' is an option line of another tool's input file (aria2c -i, curl -K, gallery-dl -i), not a URL: such lines are skipped, and files are named by --name`,
      { code: 'IMGPULL_LIST_OPTION' },
    )
  }
  try {
    for await (const { url, line } of numberedLines(await open(), onOption)) {
      lines++
      yield { url, where: `${name} line ${line}` }
    }
  } catch (error) {
    const e = error as NodeJS.ErrnoException
    const why = e.code?.startsWith('Z_')
      ? `gzip data is corrupt or truncated (${e.message})`
      : (e.message ?? String(error))
    throw new UsageError(`cannot read ${name} after its ${lines} URLs: ${why}`, { cause: error })
  }
}
