import { GIF } from 'image-size/types/gif'
import type { IImage } from 'image-size/types/interface'
import { JPG } from 'image-size/types/jpg'
import { PNG } from 'image-size/types/png'
import { WEBP } from 'image-size/types/webp'
import { fourcc, u32be, u64be } from './bytes.js'
import { j2cSize } from './complete/j2c.js'
import { bmpDimensions, icoDimensions } from './header-dimensions.js'
import { heifDimensions } from './heif.js'
import { type Sniffed, sniffBinary, sniffCommon } from './magic.js'
import { SVG_WINDOW, svgDimensions, svgRoot } from './svg.js'
import { tiffDimensions } from './tiff.js'

export type { Sniffed } from './magic.js'
export { sniffCommon } from './magic.js'

/**
 * The most bytes sniff() looks at: SVG's window for its root element (declarations, doctypes and comments
 * come first). Binary formats are decided within their first 4,096 bytes (an ISO-BMFF `ftyp` box; the
 * common four within 12), so fewer bytes than this only matter for SVG.
 */
export const SNIFF_BYTES = SVG_WINDOW

/**
 * Every format imgpull keeps, by extension: JPEG, PNG (APNG too), GIF, WebP, AVIF, HEIC and other HEIF,
 * TIFF (and camera raw files built on it), BMP, ICO and CUR, SVG, JPEG XL, JPEG 2000 (JP2, JPX, and a bare
 * codestream: J2C, as `.j2k` too). Each has a completeness check (`completenessCheck`). Other formats file-type calls images are refused: Photoshop
 * and GIMP documents, CAD drawings (DWG), GPU textures (KTX), RAW formats not built on TIFF (CR3, ORF, RW2,
 * RAF), JPEG-LS, JPEG XR, BPG and FLIF (no browser shows them, and each would need a check of its own).
 */
export const FORMATS: readonly string[] = Object.freeze([
  'jpg',
  'png',
  'gif',
  'webp',
  'avif',
  'heic',
  'heif',
  'tif',
  'bmp',
  'ico',
  'cur',
  'svg',
  'jxl',
  'jp2',
  'jpx',
  'j2c',
])

/**
 * What image format a body is, from its first bytes (up to `SNIFF_BYTES`; pass all of a shorter body);
 * `undefined` when it is not one of `FORMATS` (an HTML error page served with 200, JSON, XML other than SVG,
 * text, an empty body, a PDF, a video...). Binary formats by magic numbers and the header fields after them;
 * SVG by its root element after any byte order mark, XML declaration, processing instructions, comments
 * and doctype, in UTF-8 or UTF-16 (see `utf16`).
 */
export async function sniff(head: Uint8Array): Promise<Sniffed | undefined> {
  const found = sniffCommon(head) ?? sniffBinary(head)
  if (found) return found
  return svgRoot(head) ? { ext: 'svg', mime: 'image/svg+xml' } : undefined
}

// image-size's index loads some twenty format readers (16 ms at start-up); these four cover the
// fast path, and JPEG XL's and JPEG 2000's readers are loaded on first need.
const COMMON: Record<string, IImage> = { jpg: JPG, png: PNG, gif: GIF, webp: WEBP }

/**
 * Whether a JPEG's segments chain from its start to a frame header (SOF0–2) within `head`: the
 * path image-size's reader follows. Where the chain breaks, that reader steps on one byte at a time,
 * allocating two views per byte: a corrupt 110 KB JPEG cost 17 ms of main-thread CPU. Such a file
 * keeps its bytes but gets no dimensions.
 */
function jpegFrameWithin(head: Uint8Array): boolean {
  // image-size skips the first segment unread, whatever its marker; so does this walk.
  for (let at = 2, first = true; at + 3 < head.length; first = false) {
    if (head[at] !== 0xff) return false
    const marker = head[at + 1]
    if (!first && (marker === 0xc0 || marker === 0xc1 || marker === 0xc2)) return at + 9 <= head.length
    at += 2 + ((head[at + 2] << 8) | head[at + 3])
  }
  return false
}

/** Bytes of a JPEG XL codestream that hold its size header (ISO/IEC 18181-1 D.2: at most 11). */
const JXL_SIZE_BYTES = 16

/**
 * The first bytes of the codestream a JPEG XL container holds (ISO/IEC 18181-2 §3: a `jxlc` box, or
 * `jxlp` parts after their 4-byte index), as far as they lie within `head`: a reader of its size
 * header throws where they stop short. A `jxlc` box of 160 KB is not within a 64 KB head; its first
 * bytes are.
 */
function jxlCodestreamStart(head: Uint8Array): Uint8Array {
  const start = new Uint8Array(JXL_SIZE_BYTES)
  let have = 0
  for (let at = 0; at + 8 <= head.length && have < JXL_SIZE_BYTES; ) {
    let size = u32be(head, at)
    const type = fourcc(head, at + 4)
    let header = 8
    if (size === 1) {
      if (at + 16 > head.length) break
      size = u64be(head, at + 8)
      header = 16
    } else if (size === 0) size = Number.POSITIVE_INFINITY
    if (size < header) break
    if (type === 'jxlc' || type === 'jxlp') {
      const from = at + header + (type === 'jxlp' ? 4 : 0)
      const n = Math.max(0, Math.min(JXL_SIZE_BYTES - have, at + size - from, head.length - from))
      start.set(head.subarray(from, from + n), have)
      have += n
    }
    at += size
  }
  return start.subarray(0, have)
}

/**
 * Width and height from the file's header, when it lies within `head`; `{}` when it does not or when the
 * header gives no certain answer. Stored sizes: a JPEG's EXIF orientation is not applied here (a
 * portrait photo stored landscape with orientation 6 is read landscape; `FileCheck` turns it). HEIF/AVIF: the primary item
 * after its `clap`/`irot`. SVG: see `svgDimensions`. ICO/CUR: the largest image. BMP: the absolute height
 * (negative means stored top-down). A completeness verdict carries JPEG's, TIFF's and HEIF's dimensions
 * from anywhere in the body, for when they lie beyond the head.
 */
export async function dimensions(
  head: Uint8Array,
  ext: string,
): Promise<{ width?: number; height?: number }> {
  const { width, height } = await stated(head, ext)
  // A side of 0 is no size: a JPEG whose height a DNL segment gives after its first scan (T.81
  // B.2.5) states 0 in its frame header, as does a GIF whose writer left its logical screen out.
  const side = (n: number | undefined) => n !== undefined && Number.isInteger(n) && n > 0
  return side(width) && side(height) ? { width, height } : {}
}

/** The width and height `head` states for its format, as its reader reads them (see `dimensions`). */
async function stated(head: Uint8Array, ext: string): Promise<{ width?: number; height?: number }> {
  try {
    if (ext === 'jpg' && !jpegFrameWithin(head)) return {}
    const reader = COMMON[ext]
    if (reader) {
      const { width, height } = reader.calculate(head)
      return { width, height }
    }
    switch (ext) {
      case 'avif':
      case 'heic':
      case 'heif':
        return heifDimensions(head)
      case 'svg':
        return svgDimensions(head)
      case 'bmp':
        return bmpDimensions(head)
      case 'ico':
      case 'cur':
        return icoDimensions(head)
      case 'tif':
        return await tiffDimensions(head)
      case 'jxl': {
        // A bare codestream (FF 0A), or a container holding one: its first bytes, read from the
        // codestream boxes in the head (image-size's container reader wants the whole jxlc box there).
        const { JXLStream } = await import('image-size/types/jxl-stream')
        const { width, height } = JXLStream.calculate(head[0] === 0xff ? head : jxlCodestreamStart(head))
        return { width, height }
      }
      case 'j2c':
        return j2cSize(head)
      case 'jp2':
      case 'jpx': {
        const { JP2 } = await import('image-size/types/jp2')
        const { width, height } = JP2.calculate(head)
        return { width, height }
      }
      default:
        return {}
    }
  } catch {
    return {}
  }
}
