import { plural } from '../report/format.js'
import { sniffBinary, sniffCommon } from './magic.js'
import { asUtf8, SVG_WINDOW, svgRootPastWindow } from './svg.js'

/**
 * What a body that is no image looks like, in a few words for its failure line: `not an image: URL
 * sent image/jpeg, 92 bytes` says nothing of why; an HTML page's title often does ("404 Not
 * Found", "Access Denied", a bot check's "Just a moment..."), as S3's XML `<Error>` or a JSON
 * error does. Read from the head the check gathered (its first bytes, maybe not all the body);
 * `undefined` when it looks like nothing in particular. The words come from the server: callers
 * bound and escape them (`quoted`). `transferEncoding`: the answer's `Transfer-Encoding`, if any
 * (a chunked framing read as the body is told under the coding it came with).
 */
export function looksLike(head: Uint8Array, transferEncoding?: string): string | undefined {
  const text = Buffer.from(head.buffer, head.byteOffset, head.byteLength)
  const binary = binaryKind(text) ?? imageAfterSpace(text) ?? imageInChunks(text, transferEncoding)
  if (binary) return binary
  // Text in UTF-16 (a byte order mark: a page or an error a Windows tool saved as "Unicode") is
  // read as its text: its NUL bytes read as binary, and such a page was told as nothing at all.
  const plain = Buffer.from(asUtf8(text))
  const start = plain.subarray(plain[0] === 0xef && plain[1] === 0xbb && plain[2] === 0xbf ? 3 : 0)
  const body = start.toString('utf8').replace(/^\s+/, '')
  if (body === '') return undefined
  if (body[0] === '<') {
    // An SVG whose root element lies past the bytes it is looked for in: named for that, where its
    // prolog's words were taken for the root's (`XML whose root is <svg>: "]>"`).
    const late = svgRootPastWindow(head)
    const window = `the first ${SVG_WINDOW / 1024} KB`
    if (late === 'prolog')
      return `markup whose declarations, comments or doctype run past ${window}, where an SVG's root element is looked for`
    if (late !== undefined)
      return `an SVG whose root element starts at byte ${late}, past ${window}, where it is looked for`
    const root = rootElement(body)
    // HTML: a page, or a fragment a script printed (PHP's `<br />\n<b>Warning</b>: ...` before the image).
    if (/^<!doctype html/i.test(body) || (root && HTML_ELEMENTS.has(root.toLowerCase()))) {
      const title = /<title\b[^<>]*>([^<]*)<\/title/i.exec(body)?.[1]
      if (title?.trim()) return `an HTML page titled "${cut(words(title), 80)}"`
      // No title: its first words, tags and scripts left out.
      const text = markupText(body)
      return text ? `HTML: "${cut(text, 80)}"` : 'an HTML page'
    }
    if (!root) return 'markup'
    // XML: its root, and the words in it (S3's `<Error><Code>AccessDenied</Code>...`).
    const text = markupText(body.replace(DECLARATIONS, ''))
    return text ? `XML whose root is <${root}>: "${cut(text, 80)}"` : `XML whose root is <${root}>`
  }
  if (body[0] === '{' || body[0] === '[') return `JSON: ${cut(words(textPart(body)), 80)}`
  const encoded = imageInBase64(body)
  if (encoded) return encoded
  // Text: no control character but white space, no byte that is not UTF-8 (a binary format no
  // signature names is left unnamed).
  if (NOT_TEXT.test(body.slice(0, 256))) return undefined
  return `text: "${cut(body.replace(/\s+/g, ' ').trim(), 60)}"`
}

/**
 * Declarations, processing instructions and comments, one left open running to the end: a
 * construct is never scanned for from each of its starts to the end (`<!x` repeated over 64 KB
 * took 4 s so, `<title a` 1 s: a page's words are read in one pass, whatever it holds).
 */
const DECLARATIONS = /<\?[\s\S]*?(?:\?>|$)|<!--[\s\S]*?(?:-->|$)|<![^>]*(?:>|$)/g

/** The words of markup: its text, tags, scripts and styles left out, up to any binary bytes after it. */
function markupText(markup: string): string {
  return words(
    textPart(markup)
      .replace(
        /<(script|style)\b[\s\S]*?(?:<\/\1\s*>|$)|<(br|\/p|\/div|\/h\d|\/li|\/td|\/tr)\b[^<>]*>/gi,
        ' ',
      )
      .replace(/<\/[^<>]*>?(?=<[^/])/g, ' ')
      .replace(/<[^>]*>?/g, ''),
  )
}

/** `text` up to its first character no text has: the binary bytes a script's message came before. */
function textPart(text: string): string {
  const at = text.search(NOT_TEXT)
  return at === -1 ? text : text.slice(0, at)
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is looked for
const NOT_TEXT = /[\u0000-\u0008\u000e-\u001f\u007f-\u009f\ufffd]/

/** How a failure line names a format, by its extension (its upper case where not listed). */
const FORMAT_NAMES: Record<string, string> = {
  jpg: 'JPEG',
  webp: 'WebP',
  tif: 'TIFF',
  jxl: 'JPEG XL',
  j2c: 'JPEG 2000',
}

/**
 * An image after white space: a PHP script with a blank line before its `<?php`, or an include that
 * ends in one, prints it before the image it sends. Browsers and decoders refuse the file (its first
 * bytes are no format's), so it is no image; but the line should say it nearly was.
 */
function imageAfterSpace(b: Buffer): string | undefined {
  const bom = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0
  let n = bom
  while (n < b.length && (b[n] === 0x20 || b[n] === 0x09 || b[n] === 0x0a || b[n] === 0x0d)) n++
  if (n === 0) return undefined
  const rest = b.subarray(n)
  const found = sniffCommon(rest) ?? sniffBinary(rest)
  if (!found) return undefined
  const name = formatName(found.ext)
  const space = n - bom
  const what = [
    ...(bom ? ['a byte order mark'] : []),
    ...(space ? [`${space} ${plural(space, 'byte')} of white space`] : []),
  ].join(' and ')
  return `${article(name)} image after ${what}, which a script printed before it`
}

/** A data: URI's head (`data:image/png;base64,`), or a JSON string's opening quote. */
const BASE64_LEAD = /^(?:data:[\w.+-]*\/?[\w.+-]*(?:;[^,;]*)*;base64,|")/i
/** Base64 text, from its first character: enough of it to name the format it holds. */
const BASE64_TEXT = /^[A-Za-z0-9+/]{16,}/

/**
 * An image sent as base64 text: a Lambda's binary answer that AWS API Gateway passes on encoded
 * unless its `binaryMediaTypes` names the type the request's `Accept` lists first (imgpull
 * asks for any type: maciejtreder/serverless-apigw-binary#33, aws/aws-lambda-rust-runtime#667), or a `data:`
 * URI, where an `<img src>` takes it, sent as the body. Browsers and decoders refuse it; the line
 * says what it holds and, for the gateway, the `Accept` that may get the bytes.
 */
function imageInBase64(text: string): string | undefined {
  const lead = BASE64_LEAD.exec(text)?.[0] ?? ''
  const run = BASE64_TEXT.exec(text.slice(lead.length))?.[0]
  if (!run) return undefined
  const decoded = Buffer.from(run.slice(0, Math.min(run.length, 64) & ~3), 'base64')
  const found = sniffCommon(decoded) ?? sniffBinary(decoded)
  if (!found) return undefined
  const image = `${article(formatName(found.ext))} image`
  if (lead.toLowerCase().startsWith('data:')) return `a data: URI of ${image} (base64 text, not its bytes)`
  return `base64 text of ${image} (an API gateway's binary answer left encoded; try -H 'Accept: ${found.mime}')`
}

/**
 * An image after a chunk-size line (hex digits, maybe an extension, CRLF): chunked framing sent
 * without a `Transfer-Encoding` that names it (undici#583: a server that wrote chunks without the
 * header), or under one whose last coding is not `chunked` itself (`x-chunked`, `chunked,
 * identity`: read to the close, RFC 9112 §6.3), so the framing reads as the body. Browsers and
 * curl refuse or keep it as it came.
 */
function imageInChunks(b: Buffer, transferEncoding?: string): string | undefined {
  const line = /^[0-9a-f]{1,8}(?:;[^\r\n]*)?\r\n/i.exec(b.subarray(0, 128).toString('latin1'))
  if (!line) return undefined
  const rest = b.subarray(line[0].length)
  const found = sniffCommon(rest) ?? sniffBinary(rest)
  if (!found) return undefined
  const image = `${article(formatName(found.ext))} image inside chunked framing`
  const named = transferEncoding?.trim()
  if (named)
    return `${image} its Transfer-Encoding "${named.length > 40 ? `${named.slice(0, 40)}...` : named}" does not name (only a last coding of chunked does)`
  return `${image} no Transfer-Encoding names (a server that wrote chunks without saying so)`
}

/**
 * What the bytes of an answer that begins with no status line are, in a few words (`a JPEG
 * image`, `an HTML page titled "..."`, as `looksLike` says), or `undefined` when they look like
 * nothing in particular or are plain text: an HTTP/0.9 answer, a body with no head, as a script or a device that
 * writes its file to the socket sends it (curl refuses it: "Received HTTP/0.9 when not allowed").
 */
export function headlessBody(head: Uint8Array): string | undefined {
  const found = sniffCommon(head) ?? sniffBinary(head)
  if (found) return `${article(formatName(found.ext))} image`
  // Plain text is left as it came: it may be another protocol's greeting (an SSH banner).
  const like = looksLike(head)
  return like?.startsWith('text:') ? undefined : like
}

/** How a failure line names a format found by its signature. */
const formatName = (ext: string): string =>
  FORMAT_NAMES[ext] ?? (ext.startsWith('jp') ? 'JPEG 2000' : ext.toUpperCase())

/** A name with its indefinite article. */
const article = (name: string): string => `${/^[AEIO]/.test(name) ? 'an' : 'a'} ${name}`

/** Kinds of binary files servers send in an image's place, by their signatures. */
function binaryKind(b: Buffer): string | undefined {
  if (b.subarray(0, 5).toString('latin1') === '%PDF-') return 'a PDF document'
  if (b.subarray(0, 4).toString('latin1') === 'PK\u0003\u0004') return 'a ZIP archive'
  if (b.subarray(0, 4).toString('latin1') === '8BPS') return 'a Photoshop document'
  if (b.subarray(0, 8).toString('latin1') === 'gimp xcf') return 'a GIMP document'
  if (b.length >= 4 && b.readUInt32BE(0) === 0x1a45dfa3) return 'a WebM or Matroska video'
  // ISO media whose brand no image format takes (the sniffer tells AVIF, HEIC, HEIF and JPEG 2000).
  if (b.length >= 12 && b.subarray(4, 8).toString('latin1') === 'ftyp')
    return `an ISO media file of brand "${b.subarray(8, 12).toString('latin1').trim()}" (MP4, QuickTime...)`
  return undefined
}

/** The name of the first element of markup, past declarations, comments and a doctype. */
function rootElement(markup: string): string | undefined {
  const bare = markup.replace(DECLARATIONS, '')
  return /<([A-Za-z_][\w.:-]*)/.exec(bare)?.[1]
}

/** Elements an HTML page or a fragment of one opens with (markup with another root is XML). */
const HTML_ELEMENTS: ReadonlySet<string> = new Set(
  'html head body title meta link script style br b i p div span h1 h2 h3 pre center table font a img hr'.split(
    ' ',
  ),
)

/** Text as one line: character references decoded, white space collapsed. */
const words = (text: string): string => decodeEntities(text).replace(/\s+/g, ' ').trim()

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' }

/** A title's character references as text (`&amp;` as `&`, `&#8230;` as `…`). */
function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] !== '#') return ENTITIES[ref.toLowerCase()] ?? whole
    const code = ref[1] === 'x' || ref[1] === 'X' ? Number.parseInt(ref.slice(2), 16) : Number(ref.slice(1))
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole
  })
}

/** `text` cut to `max` characters, not between the two halves of a pair (an emoji). */
function cut(text: string, max: number): string {
  if (text.length <= max) return text
  const end = /[\ud800-\udbff]/.test(text[max - 2] ?? '') ? max - 2 : max - 1
  return `${text.slice(0, end)}…`
}
