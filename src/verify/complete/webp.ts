import { ascii, fourcc, u16le, u32le } from '../bytes.js'
import { COMPLETE, corrupt, truncated, type Verdict } from './types.js'
import { type Step, Walk } from './walk.js'

const IMAGE_CHUNKS = new Set(['VP8 ', 'VP8L', 'ANMF'])
/** VP8X flags announcing chunks after the image data: EXIF, XMP, animation (RFC 9649 §2.7). */
const AFTER_IMAGE = 0x08 | 0x04 | 0x02

/** Bytes of a VP8 key frame's header: frame tag, start code, width and height (RFC 6386 §9.1). */
const VP8_HEADER = 10
/** Bytes of a VP8L header: signature, then width, height, alpha and version in 4 bytes (RFC 9649 §3.2). */
const VP8L_HEADER = 5
/** Bytes of an ANMF chunk's own header, before its frame's chunks: place, size, duration, flags (RFC 9649 §2.7.1.1). */
const ANMF_HEADER = 16

/** What is wrong with a VP8 key frame's header `h` in a chunk of `size` bytes, or undefined. */
function vp8Fault(h: Uint8Array, size: number): string | undefined {
  const tag = h[0] | (h[1] << 8) | (h[2] << 16)
  if (tag & 1) return 'is no key frame'
  if (((tag >> 1) & 7) > 3) return `has version ${(tag >> 1) & 7}, over 3`
  if (!((tag >> 4) & 1)) return 'is of a frame not shown'
  if (h[3] !== 0x9d || h[4] !== 0x01 || h[5] !== 0x2a) return 'has no start code (9D 01 2A)'
  const partition = tag >>> 5
  if (partition > size - VP8_HEADER)
    return `has a first partition of ${partition} bytes, past its chunk's ${size - VP8_HEADER}`
  if ((u16le(h, 6) & 0x3fff) === 0 || (u16le(h, 8) & 0x3fff) === 0) return 'has a size of 0'
  return undefined
}

/** What is wrong with a VP8L header `h`, or undefined. */
function vp8lFault(h: Uint8Array): string | undefined {
  if (h[0] !== 0x2f) return `has signature 0x${h[0].toString(16)}, not 0x2f`
  if (h[4] >> 5 !== 0) return `has version ${h[4] >> 5}, not 0`
  return undefined
}

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
 * An ANMF chunk's own chunks (after its 16-byte frame header: ALPH, VP8, VP8L) are walked as the
 * file's are, each VP8 or VP8L frame header checked (RFC 9649 §2.7.1.1).
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
  /** The VP8 or VP8L chunk whose frame header is being read (see `#frame`). */
  #chunk: { type: string; size: number; padded: number } | undefined
  /** ANMF chunks met so far: the frame being walked is this one. */
  #frames = 0
  /** Where the ANMF chunk whose frame's chunks are being walked ends (without and with its pad byte), or -1. */
  #frameEnd = -1
  #framePadded = -1

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
    if (this.#chunk) return this.#frame(h, this.#chunk)
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
      return this.settle(
        corrupt(
          `WebP is zero-filled from byte ${this.position - 8}, where ${this.#frameOf() || 'a '}chunk belongs`,
        ),
      )
    if (this.position === 20 && type !== 'VP8 ' && type !== 'VP8L' && type !== 'VP8X') {
      return this.settle(corrupt(`WebP starts with a ${type} chunk`))
    }
    if (IMAGE_CHUNKS.has(type)) this.#image = true
    const data = this.position + size
    const padded = data + (size & 1)
    if (data > this.#end) return this.settle(corrupt(`WebP chunk ${type} runs past the RIFF end`))
    if (this.#frameEnd !== -1 && data > this.#frameEnd)
      return this.settle(
        corrupt(`WebP chunk ${type} of frame ${this.#frames} runs past its ANMF chunk's end`),
      )
    if (type === 'ANMF' && this.#frameEnd === -1 && size >= ANMF_HEADER + 8) {
      // An animation frame's own chunks (ALPH, VP8, VP8L) are walked as the file's are: a file
      // preallocated and cut inside one is told as a still image's is.
      this.#frames++
      this.#frameEnd = data
      this.#framePadded = padded
      return this.expect(8, ANMF_HEADER)
    }
    if (type === 'VP8X' && size > 0) {
      this.#vp8xEnd = padded
      return this.expect(1)
    }
    if (type === 'VP8 ' || type === 'VP8L') {
      if (!(this.#flags & AFTER_IMAGE) && this.#frameEnd === -1) {
        this.#stillEnd = data
        this.#stillPadded = padded
      }
      const want = type === 'VP8 ' ? VP8_HEADER : VP8L_HEADER
      if (size < want)
        return this.settle(corrupt(`WebP ${type.trim()} chunk of ${size} bytes holds no frame header`))
      this.#chunk = { type, size, padded }
      return this.expect(want)
    }
    return this.#after(padded)
  }

  /**
   * The frame header at the start of a VP8 or VP8L chunk's data (`h`), checked as libwebp checks it
   * before it decodes a pixel (VP8GetInfo, VP8LGetInfo): a VP8 key frame's tag (shown, version 0-3,
   * its first partition within the chunk), start code 9D 01 2A and a size not 0 (RFC 6386 §9.1);
   * VP8L's signature byte 0x2F and version 0 (RFC 9649 §3.2). A header of zeros is a file zero-filled
   * from there, as one preallocated and cut holds it (aria2's --file-allocation: aria2/aria2#1006):
   * its chunk headers and RIFF size whole, it was kept, where every reader refuses it ('unable to
   * parse image'). Zeros further on, in the coded data, cannot be told from a flat image's own.
   */
  #frame(h: Uint8Array, chunk: { type: string; size: number; padded: number }): Step {
    this.#chunk = undefined
    const at = this.position - h.length
    const name = chunk.type.trim()
    if (h.every((b) => b === 0))
      return this.settle(
        corrupt(
          `WebP is zero-filled from byte ${at}, where ${this.#frameOf() || 'its '}${name} frame header belongs`,
        ),
      )
    const fault = chunk.type === 'VP8 ' ? vp8Fault(h, chunk.size) : vp8lFault(h)
    if (fault)
      return this.settle(corrupt(`WebP ${this.#frameOf()}${name} frame header at byte ${at} ${fault}`))
    return this.#after(chunk.padded)
  }

  /** Inside an ANMF chunk, "frame N's " (N counted from 1), naming it in the failure lines; '' otherwise. */
  #frameOf(): string {
    return this.#frameEnd === -1 ? '' : `frame ${this.#frames}'s `
  }

  /** Past a chunk ending at `padded` (its pad byte included): on to the RIFF end, or the next chunk. */
  #after(padded: number): Step {
    if (this.#frameEnd !== -1) {
      // The frame's next chunk, or, with no room for one (its pad byte), past its ANMF chunk.
      if (this.#frameEnd - padded >= 8) return this.expect(8, padded - this.position)
      padded = this.#framePadded
      this.#frameEnd = -1
    }
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
