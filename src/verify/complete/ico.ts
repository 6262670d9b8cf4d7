import { u16le, u32le } from '../bytes.js'
import { sniffCommon } from '../magic.js'
import { PngCheck } from './png.js'
import { COMPLETE, corrupt, type ReadBack, truncated, type Verdict } from './types.js'
import { type Step, Walk } from './walk.js'

/** Bytes of the bitmap header (BITMAPINFOHEADER) an entry that is no PNG starts with. */
const BITMAP_HEADER = 40

/** An embedded PNG larger than this is not read back to be checked (an icon's are kilobytes). */
const MAX_PNG = 16 * 1024 * 1024

/**
 * ICO and CUR: a 6-byte header, a 16-byte directory entry per image (its size and offset), then the
 * images. Whole when every entry's bytes lie within the body and every entry that is a PNG (as
 * Windows Vista's 256-pixel icons are, and favicon generators write) is a whole one within its entry,
 * as `PngCheck` judges it: browsers decode an entry's PNG from its bytes alone, so one cut or
 * zero-filled inside the file (a file preallocated and cut) shows broken, where only the directory
 * was checked and it was whole. An entry that is no PNG must begin with a bitmap header
 * (BITMAPINFOHEADER), whose first field, its own size, is never 0: zeros there are a file
 * preallocated and cut (aria2/aria2#1006), `corrupt`. Bytes after the last image are allowed.
 */
export class IcoCheck extends Walk {
  #count = -1
  #end = -1
  /** What the header's type (2: a cursor) makes the file, for the failure lines: a CUR was said to be an ICO. */
  #kind = 'ICO'
  /** The entries' places (offset, size), once the directory is read. */
  #entries: { at: number; size: number }[] = []

  constructor() {
    super()
    this.expect(6)
  }

  protected next(h: Uint8Array): Step {
    if (this.#end !== -1) return this.rest()
    if (this.#count === -1) {
      this.#count = u16le(h, 4)
      if (u16le(h, 2) === 2) this.#kind = 'CUR'
      if (this.#count === 0) return this.settle(corrupt(`${this.#kind} holds no image`))
      return this.expect(16 * this.#count)
    }
    const directoryEnd = 6 + 16 * this.#count
    let end = directoryEnd
    for (let e = 0; e < h.length; e += 16) {
      const size = u32le(h, e + 8)
      const at = u32le(h, e + 12)
      if (size === 0 || at < directoryEnd)
        return this.settle(corrupt(`${this.#kind} entry ${e / 16} has no place of its own`))
      end = Math.max(end, at + size)
      this.#entries.push({ at, size })
    }
    this.#end = end
    return this.expect(0, end - this.position)
  }

  protected async finish(_boundary: boolean, read: ReadBack): Promise<Verdict> {
    if (this.#end === -1) return truncated(`${this.#kind} directory cut short`)
    if (this.position < this.#end)
      return truncated(`${this.#kind} images end at byte ${this.#end}, past the end (${this.position} bytes)`)
    let unchecked: string | undefined
    for (const [i, { at, size }] of this.#entries.entries()) {
      const head = await read(at, Math.min(size, BITMAP_HEADER))
      if (head.length >= 4 && u32le(head, 0) === 0) {
        // A bitmap header's first field is its own size (40, or 12 to 124 in other versions): none
        // is 0. Zeros there are a file preallocated and cut, the directory whole.
        const zeros = head.every((b) => b === 0)
        return corrupt(
          zeros
            ? `${this.#kind} is zero-filled from byte ${at}, where entry ${i}'s image belongs`
            : `${this.#kind} entry ${i} is neither a PNG nor a bitmap (its header's size is 0)`,
        )
      }
      if (size < 8 || size > MAX_PNG) continue
      if (sniffCommon(head.subarray(0, 8))?.ext !== 'png') continue
      const png = await read(at, size)
      const check = new PngCheck()
      check.update(png)
      const verdict = await check.end(async (offset, length) => png.subarray(offset, offset + length))
      if (!verdict.complete)
        return { ...verdict, reason: `${this.#kind} entry ${i}'s PNG: ${verdict.reason}` }
      if (verdict.unchecked) unchecked ??= `${this.#kind} entry ${i}'s PNG: ${verdict.unchecked}`
    }
    return unchecked ? { ...COMPLETE, unchecked } : COMPLETE
  }
}
