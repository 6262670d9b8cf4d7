import { createRequire } from 'node:module'
import { ascii, fourcc, u32be } from '../bytes.js'
import { COMPLETE, corrupt, truncated, type Verdict } from './types.js'
import { type Step, Walk } from './walk.js'

// Required on first use, not imported: the CLI's bundle would load zlib in every run otherwise.
let crc32: (data: Uint8Array, value?: number) => number
const loadCrc32 = () => {
  crc32 ??= (createRequire(import.meta.url)('node:zlib') as typeof import('node:zlib')).crc32
  return crc32
}

/** APNG's chunks: ancillary by their names, but a bad one damages frames (fcTL, fdAT) or the animation. */
const ANIMATION = new Set(['acTL', 'fcTL', 'fdAT'])

/**
 * Chunks whose CRC is checked: the critical ones (a capital first letter: IHDR, PLTE, IDAT) and
 * APNG's; libpng stops on a bad CRC in those. In other ancillary chunks (text, colour profile) it
 * warns and drops the chunk, and the image still shows, so those are not checked; nor is IEND's,
 * which covers no data (libvips reads such a file).
 */
const checked = (type: string) =>
  type !== 'IEND' && ((type.charCodeAt(0) & 0x20) === 0 || ANIMATION.has(type))

/**
 * PNG (ISO/IEC 15948 §5): the signature, then chunks (length, type, data, CRC) from IHDR to IEND,
 * walked by their lengths. The CRC-32 of every critical and APNG chunk is computed (§5.3): a bad
 * one is `corrupt`, the one check of its data a PNG carries. Whole when IEND and its CRC arrived
 * after at least one IDAT; bytes after IEND are allowed, as libpng and browsers stop reading there.
 */
export class PngCheck extends Walk {
  #chunks = 0
  #idat = false
  #iend = false
  #type = ''
  /** The running CRC of the current chunk's type and data, when it is checked. */
  #crc: number | undefined

  constructor() {
    super()
    this.expect(16) // signature and the first chunk's length and type
  }

  protected override skipped(bytes: Uint8Array): void {
    if (this.#crc !== undefined) this.#crc = crc32(bytes, this.#crc)
  }

  protected next(h: Uint8Array): Step {
    let at = 0
    if (this.#chunks === 0) {
      if (h[0] !== 0x89 || !ascii(h, 1, 'PNG\r\n\u001a\n')) return this.settle(corrupt('not a PNG signature'))
      at = 8
    } else {
      // The previous chunk's CRC, then (unless it was IEND) the next chunk's length and type.
      if (this.#crc !== undefined && u32be(h, 0) !== this.#crc)
        return this.settle(
          corrupt(`PNG chunk ${this.#type} fails its CRC (at byte ${this.position - h.length})`),
        )
      if (this.#iend) return this.settle(this.#idat ? COMPLETE : corrupt('PNG has no IDAT chunk'))
      at = 4
    }
    const length = u32be(h, at)
    const type = fourcc(h, at + 4)
    if (length > 0x7fffffff) return this.settle(corrupt(`PNG chunk ${type} declares ${length} bytes`))
    if (this.#chunks++ === 0 && type !== 'IHDR') return this.settle(corrupt('PNG does not start with IHDR'))
    if (type === 'IDAT') this.#idat = true
    this.#type = type
    this.#crc = checked(type) ? loadCrc32()(h.subarray(at + 4, at + 8)) : undefined
    if (type === 'IEND') {
      this.#iend = true
      return this.expect(4, length)
    }
    return this.expect(12, length)
  }

  protected finish(): Verdict {
    return truncated(this.#chunks === 0 ? 'PNG cut short in its signature' : 'PNG ends before its IEND chunk')
  }
}
