import { i32le, u16le, u32le } from '../bytes.js'
import { JpegCheck } from './jpeg.js'
import { PngCheck } from './png.js'
import { COMPLETE, type CompletenessCheck, corrupt, type ReadBack, truncated, type Verdict } from './types.js'
import { type Step, Walk } from './walk.js'

/** bV5CSType's PROFILE_EMBEDDED ('MBED'), as a little-endian 32-bit value. */
const PROFILE_EMBEDDED = 0x4d424544

/**
 * BMP (Microsoft's BITMAPFILEHEADER and BITMAPINFOHEADER family): whole when the pixel data arrived: from
 * the offset the file header gives, `biSizeImage` bytes for compressed bitmaps, or rows padded to 4 bytes
 * × |height| for uncompressed ones (whatever `biSizeImage` says, as readers compute it). The file size
 * field is not trusted (writers get it wrong; readers ignore it), nor are bytes after the pixels looked at,
 * but for a V5 header's embedded colour profile, which must lie within the file too.
 * A compressed bitmap that does not declare its size is kept unchecked past its headers; an RLE8 or RLE4
 * one whose declared size runs past the body is whole when its stream reaches its end-of-bitmap
 * marker (see `rleEnds`). A bitmap whose
 * pixel data is a whole JPEG or PNG file (BI_JPEG, BI_PNG: a bit count of 0, as the format requires) is
 * judged by that file's own check, from the pixel data's offset to the end of the body, as Chromium's
 * BMP reader hands those bytes to its JPEG or PNG decoder (whatever `biSizeImage` says).
 */
export class BmpCheck extends Walk {
  /** Where the pixel data starts (from the file header), then where it ends. */
  #pixels = 0
  #end = -1
  #unchecked: string | undefined
  /** What ends at `#end`, for the message when the body stops short of it. */
  #ends = 'BMP pixel data ends'
  /** BI_RLE8 (1) or BI_RLE4 (2): the pixel data is a run-length stream that ends in its own marker. */
  #rle: 1 | 2 | undefined
  /** The check of an embedded JPEG or PNG (BI_JPEG, BI_PNG), fed every byte from `#pixels` on. */
  #embedded: { check: CompletenessCheck; name: string } | undefined

  constructor() {
    super()
    this.expect(18) // file header and the info header's size
  }

  protected next(h: Uint8Array): Step {
    if (this.#end !== -1)
      return this.settle(this.#unchecked ? { ...COMPLETE, unchecked: this.#unchecked } : COMPLETE)
    if (h.length === 18) {
      const header = u32le(h, 14)
      // Zeros where the info header's size belongs (never 0): a file preallocated and cut (aria2's
      // --file-allocation, aria2/aria2#1006), said so, where it was said to overlap its pixels.
      if (header === 0)
        return this.settle(corrupt(`BMP is zero-filled from byte ${zerosStart(h)}, where its headers belong`))
      if (header < 12 || u32le(h, 10) < 14 + header)
        return this.settle(corrupt('BMP headers overlap its pixels'))
      this.#pixels = u32le(h, 10)
      // A V5 header (124 bytes) is read whole for where its embedded colour profile lies.
      return this.expect(header >= 124 ? 120 : Math.min(header, 40) - 4)
    }
    return this.#info(h)
  }

  /** The info header past its size field: where the pixel data ends. */
  #info(h: Uint8Array): Step {
    let width: number
    let height: number
    let bits: number
    let compression = 0
    let declared = 0
    if (h.length === 8) {
      // OS/2 1.x core header: 16-bit width, height, planes, bit count.
      width = u16le(h, 0)
      height = u16le(h, 2)
      bits = u16le(h, 6)
    } else {
      width = i32le(h, 0)
      height = Math.abs(i32le(h, 4))
      bits = u16le(h, 10)
      if (h.length >= 20) {
        compression = u32le(h, 12)
        declared = u32le(h, 16)
      }
    }
    // BI_JPEG (4) and BI_PNG (5) with a bit count of 0, which they must have (OS/2 2.x's 4 with 24 bits is RLE24).
    if ((compression === 4 || compression === 5) && bits === 0 && width > 0 && height > 0) {
      this.#embedded =
        compression === 4 ? { check: new JpegCheck(), name: 'JPEG' } : { check: new PngCheck(), name: 'PNG' }
      return this.rest()
    }
    if (h.every((b) => b === 0))
      return this.settle(corrupt(`BMP is zero-filled from byte 18, where its width, height and depth belong`))
    if (width <= 0 || height === 0 || bits === 0) return this.settle(corrupt('BMP declares an empty image'))
    let size: number
    // BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS: rows of pixels; the rest (RLE, JPEG, PNG) say their size.
    if (compression === 0 || compression === 3 || compression === 6)
      size = Math.ceil((width * bits) / 32) * 4 * height
    else if (declared > 0) {
      size = declared
      if ((compression === 1 && bits === 8) || (compression === 2 && bits === 4)) this.#rle = compression
    } else {
      size = 0
      this.#unchecked = 'BMP compressed without a declared size: pixel data not checked'
    }
    this.#end = this.#pixels + size
    // A V5 header's embedded ICC profile (bV5CSType PROFILE_EMBEDDED, 'MBED'), which writers put after
    // the pixels: Chromium waits for all of it and fails the image without it, so a cut there is a cut.
    if (h.length >= 120 && u32le(h, 52) === PROFILE_EMBEDDED && u32le(h, 112) > 0) {
      const profile = 14 + u32le(h, 108) + u32le(h, 112)
      if (profile > this.#end) {
        this.#end = profile
        this.#ends = 'BMP colour profile ends'
      }
    }
    return this.expect(0, this.#end - this.position)
  }

  override update(chunk: Uint8Array): void {
    const from = this.position
    super.update(chunk)
    // The headers lie before the pixel data, so the embedded file is known before any of its bytes come.
    if (this.#embedded && this.position > this.#pixels)
      this.#embedded.check.update(chunk.subarray(Math.max(0, this.#pixels - from)))
  }

  protected async finish(_boundary: boolean, read: ReadBack): Promise<Verdict> {
    const embedded = this.#embedded
    if (embedded) {
      if (this.position <= this.#pixels)
        return truncated(
          `BMP's embedded ${embedded.name} starts at byte ${this.#pixels}, past the end (${this.position} bytes)`,
        )
      const verdict = await embedded.check.end((offset, length) => read(this.#pixels + offset, length))
      if (!verdict.complete)
        return { ...verdict, reason: `BMP's embedded ${embedded.name}: ${verdict.reason}` }
      // Its size is the BMP's (Chromium refuses one that differs); the header gives that.
      return verdict.unchecked ? { ...COMPLETE, unchecked: verdict.unchecked } : COMPLETE
    }
    if (this.#end === -1) return truncated('BMP headers cut short')
    if (
      this.#rle &&
      this.#ends === 'BMP pixel data ends' &&
      (await rleEnds(this.#rle, this.#pixels, this.position, read))
    )
      return COMPLETE
    return truncated(`${this.#ends} at byte ${this.#end}, past the end (${this.position} bytes)`)
  }
}

/** The most pixel data read back to find an RLE stream's end-of-bitmap marker. */
const RLE_LIMIT = 64 * 1024 * 1024

/**
 * Whether the RLE8 or RLE4 stream (`rle`: BI_RLE8 1, BI_RLE4 2) from `from` reaches its
 * end-of-bitmap escape (00 01) before `to`, its commands walked as Windows GDI's Bitmap Compression
 * defines them: a count and a value; 00 00 end of line; 00 02 and a delta; 00 n and n pixels,
 * padded to a 16-bit boundary. A stream that does is all there, whatever `biSizeImage` says: writers
 * put the uncompressed size there (the field's meaning for RLE was left unclear:
 * MicrosoftDocs/windows-dev-docs#5265), and ImageMagick reads the stream to its marker.
 */
async function rleEnds(rle: 1 | 2, from: number, to: number, read: ReadBack): Promise<boolean> {
  if (to <= from || to - from > RLE_LIMIT) return false
  const b = await read(from, to - from)
  for (let i = 0; i + 1 < b.length; ) {
    if (b[i] !== 0) i += 2
    else if (b[i + 1] === 1) return true
    else if (b[i + 1] === 0) i += 2
    else if (b[i + 1] === 2) i += 4
    else {
      const bytes = rle === 1 ? b[i + 1] : Math.ceil(b[i + 1] / 2)
      i += 2 + bytes + (bytes & 1)
    }
  }
  return false
}

/** Where the zeros that end `h` begin (an offset into it). */
function zerosStart(h: Uint8Array): number {
  return h.findLastIndex((b) => b !== 0) + 1
}
