/**
 * SVG is XML text (SVG 1.1 §1.2, XML 1.0 §2.8): an optional byte order mark and XML declaration, then
 * comments, processing instructions and a document type declaration (which may carry an internal subset
 * of entity declarations, as Illustrator writes), then the root element `svg` (or `prefix:svg`).
 */

/**
 * How far into a body the root element is looked for: editors put declarations, doctypes with entity
 * subsets and licence comments of a few KB before it. Past this window a body is not taken for SVG.
 */
export const SVG_WINDOW = 64 * 1024

const LT = 0x3c
const GT = 0x3e

export const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

/** Where `text` (ASCII) next occurs in `b[from, to)`, or -1. */
function indexOf(b: Uint8Array, text: string, from: number, to: number): number {
  const first = text.charCodeAt(0)
  for (let i = b.indexOf(first, from); i !== -1 && i + text.length <= to; i = b.indexOf(first, i + 1)) {
    let k = 1
    while (k < text.length && b[i + k] === text.charCodeAt(k)) k++
    if (k === text.length) return i
  }
  return -1
}

const startsWith = (b: Uint8Array, at: number, text: string): boolean =>
  indexOf(b, text, at, at + text.length) === at

/** Past the `>` that ends a document type declaration opened before `from`, honouring its internal subset. */
function doctypeEnd(b: Uint8Array, from: number, to: number): number {
  let quote = 0
  let subset = false
  for (let i = from; i < to; i++) {
    const c = b[i]
    if (quote) {
      if (c === quote) quote = 0
    } else if (c === 0x22 || c === 0x27) quote = c
    else if (subset && c === LT && startsWith(b, i, '<!--')) {
      const end = indexOf(b, '-->', i + 4, to)
      if (end === -1) return -1
      i = end + 2
    } else if (c === 0x5b) subset = true
    else if (c === 0x5d) subset = false
    else if (c === GT && !subset) return i + 1
  }
  return -1
}

/** Past the `>` that ends the start tag whose name ends at `from`, honouring quoted attribute values. */
function tagEnd(b: Uint8Array, from: number, to: number): number {
  let quote = 0
  for (let i = from; i < to; i++) {
    const c = b[i]
    if (quote) {
      if (c === quote) quote = 0
    } else if (c === 0x22 || c === 0x27) quote = c
    else if (c === GT) return i + 1
  }
  return -1
}

export interface SvgRoot {
  /** Offset of the root element's `<`. */
  start: number
  /** Offset past its start tag's `>`, or -1 when the tag runs past the bytes given. */
  end: number
}

/**
 * The encoding of an SVG written in UTF-16, told as XML 1.0 Appendix F and libxml2 tell it: a byte
 * order mark (FF FE, FE FF), or without one the `<?` of an XML declaration in UTF-16. Undefined for
 * UTF-8 (and ASCII), which every other SVG is.
 */
export function utf16(b: Uint8Array): 'utf-16le' | 'utf-16be' | undefined {
  if (b[0] === 0xff && b[1] === 0xfe) return 'utf-16le'
  if (b[0] === 0xfe && b[1] === 0xff) return 'utf-16be'
  if (b[0] === 0x3c && b[1] === 0 && b[2] === 0x3f && b[3] === 0) return 'utf-16le'
  if (b[0] === 0 && b[1] === 0x3c && b[2] === 0 && b[3] === 0x3f) return 'utf-16be'
  return undefined
}

/**
 * `b` in UTF-8 when it is UTF-16 text (see `utf16`): its byte order mark dropped, and an odd last
 * byte (a character cut short); `b` itself otherwise.
 */
export function asUtf8(b: Uint8Array): Uint8Array {
  const encoding = utf16(b)
  if (!encoding) return b
  return Buffer.from(new TextDecoder(encoding).decode(b.subarray(0, b.length & ~1)), 'utf8')
}

/**
 * An SVG as a renderer that reads UTF-8 only is to be given it (libvips tells an SVG by `<svg` in
 * UTF-8): a UTF-16 one in UTF-8, its XML declaration's encoding made to say so (libxml2 refuses a
 * document labelled UTF-16 whose bytes are not); any other as it is.
 */
export function svgInUtf8(b: Buffer): Buffer {
  if (!utf16(b)) return b
  const text = Buffer.from(asUtf8(b)).toString('utf8')
  return Buffer.from(text.replace(/^(<\?xml\s[^>]*?encoding\s*=\s*)(["'])[^"']*\2/, '$1$2UTF-8$2'), 'utf8')
}

/** An XML declaration's version in UTF-8 (a byte order mark before it): the version's digits after `1.`. */
const XML_VERSION = /^(?:\xef\xbb\xbf)?<\?xml\s+version\s*=\s*(["'])1\.(\d+)\1/

/**
 * A UTF-8 SVG whose XML declaration names version 1.1 (or any 1.x but 1.0) with `1.0` in its
 * place: XML 1.0 (5th edition, §2.8) has a 1.0 processor read such a document as 1.0, and
 * libxml2 does, with a warning ("Unsupported version '1.1'") that Chromium lets go and librsvg
 * takes for an error. Writers put 1.1 there for SVG's own version (perl-raptor's logo).
 */
export function asXml10(b: Buffer): Buffer {
  const found = XML_VERSION.exec(b.subarray(0, 64).toString('latin1'))
  if (!found || found[2] === '0') return b
  const digits = found.index + found[0].length - 1 - found[2].length
  return Buffer.concat([b.subarray(0, digits), Buffer.from('0'), b.subarray(digits + found[2].length)])
}

/**
 * The root element of an SVG document in its first bytes (UTF-8, with or without a byte order mark, or
 * UTF-16, see `utf16`: its offsets are then into `asUtf8(b)`), or undefined when the bytes are not an SVG
 * document: another root element (HTML, RSS, any other XML), text before the first `<`, or no root element
 * within `SVG_WINDOW` bytes.
 */
export function svgRoot(b: Uint8Array): SvgRoot | undefined {
  const root = scanProlog(asUtf8(b))
  return root === 'cut' ? undefined : root
}

/**
 * Whether `b`, all of a body that is no SVG by `svgRoot`, may be the start of one cut short: its
 * markup before the root element (an XML declaration, comments, a doctype with its internal
 * subset: Illustrator writes kilobytes of them) runs to its last byte, or its last bytes begin the
 * root's name. A body whose end nothing marked was then cut, as an image signature cut short is.
 */
export function svgMayBegin(b: Uint8Array): boolean {
  // A byte order mark, or a UTF-16 `<?` (see `utf16`), or their first bytes, and nothing after.
  if (b.length > 0 && OPENINGS.some((o) => b.length <= o.length && o.subarray(0, b.length).equals(b)))
    return true
  const text = asUtf8(b)
  // A UTF-16 byte order mark and nothing after it but half a character.
  if (text.length === 0 && b.length > 0) return true
  return scanProlog(text) === 'cut'
}

/**
 * Where the root element of an SVG that is none by `svgRoot` begins past `SVG_WINDOW` in `b`, a head
 * of it or more: its offset (into `asUtf8(b)`), `prolog` when the markup before it (declarations,
 * comments, a doctype's internal subset: Illustrator writes a style per entity there) runs on to
 * the head's end, or undefined (no SVG, or the root within the window). For the failure line of
 * such a body, which said `XML whose root is <svg>` of it.
 */
export function svgRootPastWindow(b: Uint8Array): number | 'prolog' | undefined {
  const text = asUtf8(b)
  if (text.length < SVG_WINDOW || svgRoot(b)) return undefined
  const root = scanProlog(text, text.length)
  if (root === 'cut') return 'prolog'
  return root && root.start >= SVG_WINDOW ? root.start : undefined
}

/** UTF-8's byte order mark, UTF-16's (little- and big-endian), and `<?` in UTF-16 without one. */
const OPENINGS = [
  [0xef, 0xbb, 0xbf],
  [0xff, 0xfe],
  [0xfe, 0xff],
  [0x3c, 0, 0x3f, 0],
  [0, 0x3c, 0, 0x3f],
].map((bytes) => Buffer.from(bytes))

/** Markup that opens a declaration, comment or doctype: fewer bytes than one of these may be cut. */
const OPENERS = ['<?', '<!--', '<!DOCTYPE']

/** The root element (see `svgRoot`), undefined, or `cut`: the bytes end before the root's name does. */
function scanProlog(b: Uint8Array, window = SVG_WINDOW): SvgRoot | 'cut' | undefined {
  const n = Math.min(b.length, window)
  // Within the window, bytes that end before the markup does were cut there; past it, too long a prolog.
  const cut = n === b.length ? 'cut' : undefined
  let i = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0
  for (let markup = false; ; markup = true) {
    while (i < n && isSpace(b[i])) i++
    if (i >= n) return markup ? cut : undefined
    if (b[i] !== LT) return undefined
    const rest = latin1(b, i, Math.min(n, i + 9))
    if (OPENERS.some((opener) => opener.length > rest.length && opener.startsWith(rest))) return cut
    let end: number
    if (b[i + 1] === 0x3f) {
      // An XML declaration or processing instruction: <? ... ?>
      end = indexOf(b, '?>', i + 2, n)
      if (end !== -1) end += 2
    } else if (startsWith(b, i, '<!--')) {
      end = indexOf(b, '-->', i + 4, n)
      if (end !== -1) end += 3
    } else if (startsWith(b, i, '<!DOCTYPE')) {
      end = doctypeEnd(b, i + 9, n)
    } else {
      let k = i + 1
      while (k < n && !isSpace(b[k]) && b[k] !== GT && b[k] !== 0x2f) k++
      const name = latin1(b, i + 1, k)
      if (k >= n) return /^[A-Za-z_][\w.-]*(?::[\w.-]*)?$/.test(name) && rootNameBegun(name) ? cut : undefined
      if (name !== 'svg' && !/^[A-Za-z_][\w.-]*:svg$/.test(name)) return undefined
      return { start: i, end: tagEnd(b, k, b.length) }
    }
    if (end === -1) return cut
    i = end
  }
}

/** A root element name cut at the body's end may still become `svg` or `prefix:svg`. */
function rootNameBegun(name: string): boolean {
  const colon = name.indexOf(':')
  return colon === -1 ? true : 'svg'.startsWith(name.slice(colon + 1))
}

const latin1 = (b: Uint8Array, from: number, to: number): string =>
  Buffer.from(b.buffer, b.byteOffset + from, Math.max(0, to - from)).toString('latin1')

/** CSS pixels per unit (CSS Values 4 §6.2): SVG lengths in absolute units become pixels at 96 per inch. */
const UNITS: Record<string, number> = {
  '': 1,
  px: 1,
  in: 96,
  cm: 96 / 2.54,
  mm: 96 / 25.4,
  pt: 4 / 3,
  pc: 16,
}

/** A length in pixels, or undefined for relative units (%, em, ex) and anything unparsable. */
function length(value: string | undefined): number | undefined {
  const m = value?.trim().match(/^([+]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\s*(px|in|cm|mm|pt|pc)?$/i)
  if (!m) return undefined
  const px = Number(m[1]) * UNITS[(m[2] ?? '').toLowerCase()]
  return Number.isFinite(px) && px > 0 ? px : undefined
}

/**
 * The root element's size in CSS pixels, rounded: `width` and `height` (px or absolute units); a missing
 * or relative one (`100%`) taken from the `viewBox` aspect ratio, or both from the `viewBox` when neither
 * is given. `{}` when the root's start tag is not within `head` or nothing gives a size.
 */
export function svgDimensions(bytes: Uint8Array): { width?: number; height?: number } {
  const head = asUtf8(bytes)
  const root = svgRoot(head)
  if (!root || root.end === -1) return {}
  const tag = Buffer.from(head.buffer, head.byteOffset + root.start, root.end - root.start).toString('utf8')
  const attributes = new Map<string, string>()
  for (const m of tag.matchAll(/\s([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
    if (!attributes.has(m[1])) attributes.set(m[1], m[2] ?? m[3])
  }
  let width = length(attributes.get('width'))
  let height = length(attributes.get('height'))
  const box = attributes
    .get('viewBox')
    ?.trim()
    .split(/[\s,]+/)
    .map(Number)
  const ratio = box?.length === 4 && box[2] > 0 && box[3] > 0 ? box[2] / box[3] : undefined
  if (ratio !== undefined && box) {
    if (width === undefined && height === undefined) [width, height] = [box[2], box[3]]
    else if (width === undefined && height !== undefined) width = height * ratio
    else if (height === undefined && width !== undefined) height = width / ratio
  }
  if (width === undefined || height === undefined) return {}
  return { width: Math.max(1, Math.round(width)), height: Math.max(1, Math.round(height)) }
}
