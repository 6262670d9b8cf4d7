/**
 * A plain JPEG's header, read here instead of by libvips: sharp's `metadata()` cost a pool worker
 * 0.36 ms of CPU an image (a Sharp object, a trip through libuv's thread pool, libvips finding the
 * loader and libjpeg reading the markers again before the pipeline reads them a second time), 6 %
 * of what the resize itself costs (the bench's JPEGs to 256 px, 5.6 ms).
 *
 * Only a JPEG whose header libvips would read to the same answer without a word is read here: the
 * markers before the first scan (ITU T.81 B.2) are a JFIF `APP0` of version 1 (else libjpeg warns),
 * tables (`DQT` of 8-bit entries, `DHT`, `DRI`) and one baseline or progressive Huffman frame
 * (`SOF0`, `SOF2`) of 8 bits and 1 or 3 components, each marker right after the segment before
 * it, each segment as libjpeg's `jdmarker.c` checks it. Anything else (EXIF, XMP, an ICC profile,
 * IPTC, a comment, any other `APPn`, Adobe's `APP14`, CMYK, 12 bits, arithmetic coding, a stray or
 * fill byte, a segment libjpeg would refuse) is left to libvips: `undefined`.
 */

import type { ByteSource } from './byte-source.js'
import type { ImageHeader } from './plan.js'

const SOF0 = 0xc0
const SOF2 = 0xc2
const DHT = 0xc4
const SOS = 0xda
const DQT = 0xdb
const DRI = 0xdd
const APP0 = 0xe0
/** The markers read here; the first of any other ends the reading, before its segment is read. */
const READ: ReadonlySet<number> = new Set([SOF0, SOF2, DHT, SOS, DQT, DRI, APP0])
/** libjpeg's `JPEG_MAX_DIMENSION`: a side beyond it is refused while the header is read. */
const MAX_SIDE = 65500

/**
 * The header of a plain JPEG (see above) as `header()` in resize.ts makes it from sharp's
 * metadata, or `undefined` for libvips to read. A function of the bytes; never throws.
 */
export function plainJpegHeader(src: ByteSource): ImageHeader | undefined {
  const soi = src.bytes(0, 2)
  if (soi.length < 2 || soi[0] !== 0xff || soi[1] !== 0xd8) return undefined
  let frame: { width: number; height: number; ids: number[] } | undefined
  for (let at = 2; ; ) {
    const head = src.bytes(at, 4)
    if (head.length < 4 || head[0] !== 0xff) return undefined
    const marker = head[1]
    const length = (head[2] << 8) | head[3]
    if (length < 2 || !READ.has(marker)) return undefined
    const body = src.bytes(at + 4, length - 2)
    if (body.length !== length - 2) return undefined
    if (marker === SOS) return frame && scanFits(body, frame.ids) ? plain(frame) : undefined
    if (marker === SOF0 || marker === SOF2) {
      if (frame) return undefined // libjpeg: "Invalid JPEG file structure: two SOF markers"
      frame = frameOf(body)
      if (!frame) return undefined
    } else if (
      !(marker === DQT ? quantTables(body) : marker === DHT ? huffmanTables(body) : known(marker, body))
    )
      return undefined
    at += 2 + length
  }
}

function plain(frame: { width: number; height: number; ids: number[] }): ImageHeader {
  // As `header()` makes it from a JPEG's metadata without EXIF, XMP, IPTC, comment or profile.
  return {
    format: 'jpg',
    width: frame.width,
    height: frame.height,
    orientation: undefined,
    hasAlpha: false,
    hasMetadata: false,
    pages: undefined,
    space: frame.ids.length === 1 ? 'b-w' : 'srgb',
  }
}

/** `DRI` of its one length, or a JFIF `APP0` of version 1 (libjpeg's `examine_app0`). */
function known(marker: number, body: Uint8Array): boolean {
  if (marker === DRI) return body.length === 2
  if (marker !== APP0 || body.length < 14) return false
  return String.fromCharCode(...body.subarray(0, 5)) === 'JFIF\0' && body[5] === 1
}

/** `SOF0` or `SOF2`: 8 bits, a size libjpeg takes, 1 or 3 components of sampling 1–4 and table 0–3. */
function frameOf(body: Uint8Array): { width: number; height: number; ids: number[] } | undefined {
  if (body.length < 6) return undefined
  const height = (body[1] << 8) | body[2]
  const width = (body[3] << 8) | body[4]
  const count = body[5]
  if (body[0] !== 8 || (count !== 1 && count !== 3) || body.length !== 6 + 3 * count) return undefined
  if (height === 0 || width === 0 || height > MAX_SIDE || width > MAX_SIDE) return undefined
  const ids: number[] = []
  for (let c = 0; c < count; c++) {
    const [id, sampling, table] = body.subarray(6 + 3 * c, 9 + 3 * c)
    const h = sampling >> 4
    const v = sampling & 15
    if (h < 1 || h > 4 || v < 1 || v > 4 || table > 3 || ids.includes(id)) return undefined
    ids.push(id)
  }
  return { width, height, ids }
}

/** `SOS`: 1–4 of the frame's components, each once, tables 0–3. */
function scanFits(body: Uint8Array, ids: number[]): boolean {
  const count = body[0]
  if (count < 1 || count > 4 || body.length !== 4 + 2 * count) return false
  const seen: number[] = []
  for (let c = 0; c < count; c++) {
    const id = body[1 + 2 * c]
    const tables = body[2 + 2 * c]
    if (!ids.includes(id) || seen.includes(id) || tables >> 4 > 3 || (tables & 15) > 3) return false
    seen.push(id)
  }
  return true
}

/** `DQT`: whole tables of 8-bit entries, numbered 0–3. */
function quantTables(body: Uint8Array): boolean {
  if (body.length === 0 || body.length % 65 !== 0) return false
  for (let at = 0; at < body.length; at += 65) if (body[at] > 3) return false
  return true
}

/** `DHT`: tables of classes 0–1, numbered 0–3, of at most 256 codes, filling the segment exactly. */
function huffmanTables(body: Uint8Array): boolean {
  if (body.length === 0) return false
  for (let at = 0; at < body.length; ) {
    if (at + 17 > body.length) return false
    const table = body[at]
    if (table >> 4 > 1 || (table & 15) > 3) return false
    let codes = 0
    for (let i = 1; i <= 16; i++) codes += body[at + i]
    if (codes > 256) return false
    at += 17 + codes
    if (at > body.length) return false
  }
  return true
}
