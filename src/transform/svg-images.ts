import { decodedSizeAtLeast } from '../verify/decoded-size.js'
import { sniffBinary, sniffCommon } from '../verify/magic.js'
import { SVG_WINDOW, svgRoot } from '../verify/svg.js'

/**
 * The raster images an SVG carries in itself, held to `--max-pixels`. librsvg decodes an
 * `<image>` or `<feImage>` whose `href` is a `data:` URI in full, at its own size, whatever size
 * it is drawn at: a 100x100 SVG holding a 420 KB PNG of 12000x12000 took a worker 1.6 GB under
 * `--max-pixels 1000000`, its pixels never counted (a decompression bomb in an SVG: a 432 KB JPEG
 * of 7362x3679 in one, linebender/resvg#780; lovell/sharp#3979). Other addresses librsvg never
 * loads from bytes alone (no base URL): `file:` and `http:` ones draw nothing.
 */

/** A raster image found in an SVG: its format's extension and its size. */
interface Embedded {
  ext: string
  width: number
  height: number
}

/** How deep SVGs in SVGs (as `data:` URIs) are looked into; librsvg draws each nested one too. */
const MAX_DEPTH = 4
/** Base64 characters enough for `SVG_WINDOW` bytes, line breaks and all. */
const BASE64_HEAD = Math.ceil((SVG_WINDOW * 4) / 3) + 16 * 1024

// A data: URI (RFC 2397) up to the quote, parenthesis or tag that ends it; line breaks may wrap it.
const DATA_URI = /data:([^,"'()<>]{0,200}?),([^"'()<>]*)/gi
// A character reference (XML 1.0 §4.1): `&#100;ata:` is `data:` to the parser.
const CHAR_REF = /&#(x[0-9a-f]+|[0-9]+);/gi

/** The bytes of a data URI's payload: base64 (whitespace skipped) or percent-encoded; at most `limit` for base64. */
function payload(mediaType: string, text: string, limit: number): Buffer {
  if (/;\s*base64\s*$/i.test(mediaType)) return Buffer.from(text.slice(0, limit), 'base64')
  return Buffer.from(
    text.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
    'latin1',
  )
}

/** The raster images `markup` (an SVG's bytes as latin1 text) embeds, added to `into`, nested SVGs' to `MAX_DEPTH`. */
async function embedded(markup: string, depth: number, into: Embedded[]): Promise<void> {
  let text = markup
  if (text.includes('&#'))
    text = text.replace(CHAR_REF, (ref, code: string) => {
      const n = Number.parseInt(
        code[0] === 'x' || code[0] === 'X' ? code.slice(1) : code,
        code[0].toLowerCase() === 'x' ? 16 : 10,
      )
      return n < 0x80 ? String.fromCharCode(n) : ref
    })
  for (const [, mediaType, data] of text.matchAll(DATA_URI)) {
    const head = payload(mediaType, data, BASE64_HEAD)
    const ext = (sniffCommon(head) ?? sniffBinary(head))?.ext
    if (ext) {
      const size = await decodedSizeAtLeast(head.subarray(0, SVG_WINDOW), ext)
      if (size) into.push({ ext, ...size })
    } else if (depth < MAX_DEPTH && svgRoot(head.subarray(0, SVG_WINDOW))) {
      await embedded(payload(mediaType, data, data.length).toString('latin1'), depth + 1, into)
    }
  }
}

/**
 * The one-line refusal of an SVG whose embedded raster images (`data:` URIs, in nested SVGs too)
 * are more than `maxPixels` together to decode, by the sizes their headers state; `undefined`
 * when within it, or when it embeds none.
 */
export async function svgImagesOver(svg: Buffer, maxPixels: number): Promise<string | undefined> {
  const markup = svg.toString('latin1')
  if (!/data:|&#/i.test(markup)) return undefined
  const found: Embedded[] = []
  await embedded(markup, 0, found)
  const total = found.reduce((sum, { width, height }) => sum + width * height, 0)
  if (total <= maxPixels) return undefined
  const sizes = found.map(
    ({ ext, width, height }) => `${width}x${height} ${ext === 'jpg' ? 'JPEG' : ext.toUpperCase()}`,
  )
  return found.length === 1
    ? `an SVG embedding a ${sizes[0]} (a data: URI) is more than ${maxPixels} pixels to decode`
    : `an SVG embedding ${found.length} images (data: URIs: ${sizes.slice(0, 3).join(', ')}${found.length > 3 ? ', ...' : ''}) is ${total} pixels to decode, more than ${maxPixels}`
}
