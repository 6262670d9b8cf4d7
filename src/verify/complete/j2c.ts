import { u16be, u32be } from '../bytes.js'
import { COMPLETE, corrupt, type ReadBack, truncated, type Verdict } from './types.js'
import { type Step, Walk } from './walk.js'

const SIZ = 0x51
const SOT = 0x90
const EOC = 0xd9

const At = {
  Start: 0,
  Segment: 1,
  Size: 2,
  TilePart: 3,
  Next: 4,
  SotLength: 5,
} as const
type At = (typeof At)[keyof typeof At]

/**
 * Width and height of a JPEG 2000 codestream from its SIZ segment, which follows SOC (ISO/IEC
 * 15444-1 A.5.1: Xsiz − XOsiz by Ysiz − YOsiz, the reference grid's image area); `{}` when `head`
 * (from the codestream's first byte) holds none.
 */
export const j2cSize = (head: Uint8Array): { width?: number; height?: number } =>
  head.length >= 24 && head[2] === 0xff && head[3] === SIZ ? imageArea(head, 8) : {}

/** The image area of SIZ's fields, Xsiz at `x`, then Ysiz, XOsiz, YOsiz (32 bits each). */
function imageArea(h: Uint8Array, x: number): { width?: number; height?: number } {
  const width = u32be(h, x) - u32be(h, x + 8)
  const height = u32be(h, x + 4) - u32be(h, x + 12)
  return width > 0 && height > 0 ? { width, height } : {}
}

/**
 * A bare JPEG 2000 codestream (ISO/IEC 15444-1 Annex A; `.j2k`, `.j2c`, `.jpc`: what JP2's `jp2c`
 * box holds, as OpenJPEG and ImageMagick also write it alone): SOC, the main header's marker
 * segments from SIZ on, each skipped by its length, then tile-parts, each from its SOT segment
 * skipped by its Psot (its length, SOT included), to the end-of-codestream marker (FF D9). A Psot
 * of 0, which only the last tile-part may have, runs it to EOC: whole when the body ends in FF D9.
 * Bytes after EOC are kept and not looked at, as after a JPEG's end marker (whole, `unchecked`).
 * The verdict carries SIZ's size.
 */
export class J2cCheck extends Walk {
  #at: At = At.Start
  /** Where EOC ends (-1: not reached). */
  #eoc = -1
  /** The last tile-part runs to EOC (Psot 0): where its SOT segment ends, else -1. */
  #toEnd = -1
  #size: { width?: number; height?: number } = {}
  /** The SIZ segment's length, while its fields are read. */
  #sizLength = 0

  constructor() {
    super()
    this.expect(2)
  }

  protected next(h: Uint8Array): Step {
    const at = this.position - h.length
    switch (this.#at) {
      case At.Start:
        if (h[0] !== 0xff || h[1] !== 0x4f) return this.settle(corrupt('not a JPEG 2000 codestream'))
        this.#at = At.Segment
        return this.expect(4)
      case At.Segment: {
        if (h[0] !== 0xff) return this.settle(corrupt(`JPEG 2000 main header has no marker at byte ${at}`))
        const length = u16be(h, 2)
        if (at === 2 && h[1] !== SIZ)
          return this.settle(corrupt('JPEG 2000 codestream does not start with SIZ'))
        if (length < 2)
          return this.settle(corrupt(`JPEG 2000 marker FF${hex(h[1])} declares ${length} bytes`))
        if (h[1] === SOT) return this.#sot(length, at)
        if (h[1] === SIZ && at === 2) {
          if (length < 41) return this.settle(corrupt(`JPEG 2000 SIZ segment of ${length} bytes`))
          this.#at = At.Size
          this.#sizLength = length
          return this.expect(18)
        }
        return this.expect(4, length - 2)
      }
      case At.Size:
        // Rsiz, then the grid's fields.
        this.#size = imageArea(h, 2)
        this.#at = At.Segment
        return this.expect(4, this.#sizLength - 2 - 18)
      case At.TilePart: {
        const psot = u32be(h, 2)
        // SOT's marker, length and these 8 bytes lie behind.
        const start = at - 4
        if (psot === 0) {
          this.#toEnd = this.position
          return this.rest()
        }
        if (psot < 14)
          return this.settle(corrupt(`JPEG 2000 tile-part at byte ${start} declares ${psot} bytes`))
        this.#at = At.Next
        return this.expect(2, start + psot - this.position)
      }
      case At.Next:
        if (h[0] === 0xff && h[1] === EOC) {
          this.#eoc = this.position
          return this.rest()
        }
        if (h[0] !== 0xff || h[1] !== SOT)
          return this.settle(corrupt(`JPEG 2000 tile-part is followed by no marker at byte ${at}`))
        this.#at = At.SotLength
        return this.expect(2)
      case At.SotLength:
        return this.#sot(u16be(h, 0), at - 2)
    }
  }

  /** A SOT segment of `length` bytes whose marker starts at `at`: its fields next. */
  #sot(length: number, at: number): Step {
    if (length !== 10) return this.settle(corrupt(`JPEG 2000 SOT segment at byte ${at} of ${length} bytes`))
    this.#at = At.TilePart
    return this.expect(8)
  }

  protected async finish(_boundary: boolean, read: ReadBack): Promise<Verdict> {
    const whole = { ...COMPLETE, ...this.#size }
    if (this.#eoc !== -1) {
      const after = this.position - this.#eoc
      return after > 0
        ? { ...whole, unchecked: `${after} bytes follow the JPEG 2000 codestream's end marker` }
        : whole
    }
    if (this.#toEnd !== -1 && this.position >= this.#toEnd + 2) {
      const end = await read(this.position - 2, 2)
      if (end[0] === 0xff && end[1] === EOC) return whole
    }
    return truncated('JPEG 2000 codestream ends before its end marker')
  }
}

const hex = (byte: number) => byte.toString(16).toUpperCase().padStart(2, '0')
