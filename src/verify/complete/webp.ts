import { ascii, fourcc, u32le } from '../bytes.js'
import { COMPLETE, corrupt, truncated, type Verdict } from './types.js'
import { type Step, Walk } from './walk.js'

const IMAGE_CHUNKS = new Set(['VP8 ', 'VP8L', 'ANMF'])
/** VP8X flags announcing chunks after the image data: EXIF, XMP, animation (RFC 9649 §2.7). */
const AFTER_IMAGE = 0x08 | 0x04 | 0x02

/**
 * WebP (RFC 9649 §2): a RIFF header whose size counts every byte after its first 8, then chunks (type,
 * size, data, a pad byte when the size is odd) walked to exactly that end. Whole when all the bytes the
 * RIFF size declares arrived and the chunks fill them, with a VP8, VP8L or ANMF chunk among them. Two
 * leniencies: the last chunk's pad byte may be missing (an odd RIFF size), as libwebp's decoder reads
 * it (its demuxer, which Chrome and libvips use, refuses it: the image data is whole either way), and
 * bytes after the RIFF end are ignored, as all of libwebp ignores them. A RIFF size over the body (by
 * one byte or by millions: writers that count the header, or patch the size in wrong) is a third: a
 * still image whose body ends right after its image chunk, with nothing more announced (a simple
 * file, or VP8X flags naming no animation, EXIF or XMP), is whole but `unchecked`, as Chromium shows
 * it (its demuxer reads a file shorter than its RIFF size as partial and draws the whole frame); it
 * was `corrupt` (stray bytes) within 8 bytes of that size and `truncated` beyond, on every attempt.
 */
export class WebpCheck extends Walk {
  #end = -1
  #image = false
  /** Where the VP8X chunk's payload ends, while its flags byte is read; -1 otherwise. */
  #vp8xEnd = -1
  /** The VP8X flags; 0 for a simple file. */
  #flags = 0
  /** Where a still image's last chunk ends (with and without its pad byte), or -1. */
  #stillEnd = -1
  #stillPadded = -1

  constructor() {
    super()
    this.expect(12)
  }

  protected next(h: Uint8Array): Step {
    if (this.#end === -1) {
      if (!ascii(h, 0, 'RIFF') || !ascii(h, 8, 'WEBP')) return this.settle(corrupt('not a WebP RIFF header'))
      const size = u32le(h, 4)
      if (size < 4 + 8) return this.settle(corrupt(`WebP RIFF size ${size} holds no chunk`))
      this.#end = 8 + size
      return this.expect(8)
    }
    if (h.length === 0) return this.settle(this.#image ? COMPLETE : corrupt('WebP has no image chunk'))
    if (this.#vp8xEnd !== -1) {
      this.#flags = h[0]!
      const end = this.#vp8xEnd
      this.#vp8xEnd = -1
      return this.#after(end)
    }
    const type = fourcc(h, 0)
    const size = u32le(h, 4)
    // A chunk header of zeros names no chunk (a FourCC is four ASCII letters): the file was
    // preallocated and cut, zeros to its length, as a server sends one still being written. Walked
    // as empty chunks to the RIFF end, an animation zero-filled after its first frame was whole.
    if (h.every((b) => b === 0))
      return this.settle(corrupt(`WebP is zero-filled from byte ${this.position - 8}, where a chunk belongs`))
    if (this.position === 20 && type !== 'VP8 ' && type !== 'VP8L' && type !== 'VP8X') {
      return this.settle(corrupt(`WebP starts with a ${type} chunk`))
    }
    if (IMAGE_CHUNKS.has(type)) this.#image = true
    const data = this.position + size
    const padded = data + (size & 1)
    if (data > this.#end) return this.settle(corrupt(`WebP chunk ${type} runs past the RIFF end`))
    if (type === 'VP8X' && size > 0) {
      this.#vp8xEnd = padded
      return this.expect(1)
    }
    if ((type === 'VP8 ' || type === 'VP8L') && !(this.#flags & AFTER_IMAGE)) {
      this.#stillEnd = data
      this.#stillPadded = padded
    }
    return this.#after(padded)
  }

  /** Past a chunk ending at `padded` (its pad byte included): on to the RIFF end, or the next chunk. */
  #after(padded: number): Step {
    if (padded >= this.#end) return this.expect(0, this.#end - this.position)
    // Too little room for a chunk: stray bytes, unless the body ends here (a RIFF size over it).
    if (this.#end - padded < 8 && this.#stillEnd === -1)
      return this.settle(corrupt('WebP has stray bytes before its RIFF end'))
    return this.expect(8, padded - this.position)
  }

  protected finish(): Verdict {
    if (this.#end === -1) return truncated('WebP RIFF header cut short')
    const at = this.position
    if (this.#stillEnd !== -1 && (at === this.#stillEnd || at === this.#stillPadded))
      return {
        ...COMPLETE,
        unchecked: `WebP ends after its image, ${this.#end - at} bytes before the end its RIFF header declares`,
      }
    if (this.#stillEnd !== -1 && at > this.#stillPadded && this.#end - this.#stillPadded < 8)
      return corrupt('WebP has stray bytes before its RIFF end')
    return truncated(`WebP ends at byte ${at} of the ${this.#end} its RIFF header declares`)
  }
}
