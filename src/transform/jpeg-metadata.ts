/**
 * A JPEG's segments that carry metadata libvips does not report (ITU T.81 B.2.4; the APPn uses are
 * each writer's): a comment (`COM`: GIMP's 'Created with GIMP', a caption typed in IrfanView or
 * XnView), and application segments other than the JFIF header (`APP0`), the ICC profile (`APP2`
 * `ICC_PROFILE`) and Adobe's colour transform (`APP14`): `APP2` `MPF` (the index of the further
 * images a phone appends: a depth map, a gain map, the uncropped original), `APP3`–`APP13` and
 * `APP15` (camera makers' notes, `APP11` JUMBF boxes with a C2PA manifest naming who made the
 * photo and where, Photoshop's `APP12` `Ducky` with a comment or copyright). libvips reads none of
 * them and writes none again: a JPEG holding only these was kept byte for byte by `--encode jpg`.
 * `EXIF`/XMP (`APP1`) and IPTC (`APP13`) count too, as they are metadata whoever reports them.
 */

import { type ByteSource, inMemory } from './byte-source.js'

const SOS = 0xda
const EOI = 0xd9
const COM = 0xfe
const APP0 = 0xe0
const APP2 = 0xe2
const APP12 = 0xec
const APP14 = 0xee
const APP15 = 0xef

/**
 * Whether the JPEG in `source` holds a metadata segment before its first scan; `false` for bytes
 * that are not a JPEG. Segments are walked by their lengths, reading their headers (and the few
 * bytes that name an `APP2` or `APP12` segment's kind). A function of the bytes; never throws.
 */
export function jpegCarriesMetadata(source: Uint8Array | ByteSource): boolean {
  const src = source instanceof Uint8Array ? inMemory(source) : source
  const soi = src.bytes(0, 2)
  if (soi.length < 2 || soi[0] !== 0xff || soi[1] !== 0xd8) return false
  for (let at = 2; at + 4 <= src.length; ) {
    const segment = segmentAt(src, at)
    if (!segment || segment.marker === SOS || segment.marker === EOI) return false
    if (segment.length === 0) {
      at = segment.at + 2
      continue
    }
    if (segment.length < 2) return false
    if (isMetadata(segment.marker, src.bytes(segment.at + 4, Math.min(segment.length - 2, 64)))) return true
    at = segment.at + 2 + segment.length
  }
  return false
}

/**
 * The JPEG marker at `at`, past any fill bytes (FF FF) before it: the marker, where it stands, and
 * its segment's length (T.81 B.1.1.4; 0 for the markers that stand alone: TEM, RSTn, SOI, EOI);
 * `undefined` where no marker is, or its length is past the bytes.
 */
export function segmentAt(
  src: ByteSource,
  at: number,
): { marker: number; at: number; length: number } | undefined {
  for (;;) {
    const b = src.bytes(at, 4)
    if (b.length < 2 || b[0] !== 0xff) return undefined
    const marker = b[1]
    if (marker === 0xff) {
      at += 1 // a fill byte before a marker
      continue
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9)) return { marker, at, length: 0 }
    return b.length < 4 ? undefined : { marker, at, length: (b[2] << 8) | b[3] }
  }
}

const ascii = (bytes: Uint8Array, n: number) => String.fromCharCode(...bytes.subarray(0, n))

function isMetadata(marker: number, head: Uint8Array): boolean {
  if (marker === COM) return true
  if (marker < APP0 || marker > APP15 || marker === APP0 || marker === APP14) return false
  if (marker === APP2) return ascii(head, 12) !== 'ICC_PROFILE\0'
  if (marker === APP12 && ascii(head, 5) === 'Ducky') return !duckyQualityOnly(head)
  return true
}

/**
 * Whether an `APP12` `Ducky` segment (Photoshop's "Save for Web") holds its quality alone: records
 * of a 2-byte tag and a 2-byte length, tag 1 the quality, 2 a comment, 3 a copyright, 0 the end.
 */
function duckyQualityOnly(head: Uint8Array): boolean {
  for (let at = 5; at + 2 <= head.length; ) {
    const tag = (head[at] << 8) | head[at + 1]
    if (tag === 0) return true
    if (tag !== 1 || at + 4 > head.length) return false
    at += 4 + ((head[at + 2] << 8) | head[at + 3])
  }
  return true
}
