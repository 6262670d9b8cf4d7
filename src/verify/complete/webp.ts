import { ascii, fourcc, u32le } from '../bytes.js'
import { COMPLETE, corrupt, truncated, type Verdict } from './types.js'
import { type Step, Walk } from './walk.js'

const IMAGE_CHUNKS = new Set(['VP8 ', 'VP8L', 'ANMF'])

/**
 * WebP (RFC 9649 §2): a RIFF header whose size counts every byte after its first 8, then chunks (type,
 * size, data, a pad byte when the size is odd) walked to exactly that end. Whole when all the bytes the
 * RIFF size declares arrived and the chunks fill them, with a VP8, VP8L or ANMF chunk among them. Two
 * leniencies: the last chunk's pad byte may be missing (an odd RIFF size), as libwebp's decoder reads
 * it (its demuxer, which Chrome and libvips use, refuses it: the image data is whole either way), and
 * bytes after the RIFF end are ignored, as all of libwebp ignores them.
 */
export class WebpCheck extends Walk {
  #end = -1
  #image = false

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
    const type = fourcc(h, 0)
    const size = u32le(h, 4)
    if (this.position === 20 && type !== 'VP8 ' && type !== 'VP8L' && type !== 'VP8X') {
      return this.settle(corrupt(`WebP starts with a ${type} chunk`))
    }
    if (IMAGE_CHUNKS.has(type)) this.#image = true
    const data = this.position + size
    const padded = data + (size & 1)
    if (data > this.#end) return this.settle(corrupt(`WebP chunk ${type} runs past the RIFF end`))
    if (padded >= this.#end) return this.expect(0, this.#end - this.position)
    if (this.#end - padded < 8) return this.settle(corrupt('WebP has stray bytes before its RIFF end'))
    return this.expect(8, padded - this.position)
  }

  protected finish(): Verdict {
    if (this.#end === -1) return truncated('WebP RIFF header cut short')
    return truncated(`WebP ends at byte ${this.position} of the ${this.#end} its RIFF header declares`)
  }
}
