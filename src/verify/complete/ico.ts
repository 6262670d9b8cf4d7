import { u16le, u32le } from '../bytes.js'
import { COMPLETE, corrupt, truncated, type Verdict } from './types.js'
import { type Step, Walk } from './walk.js'

/**
 * ICO and CUR: a 6-byte header, a 16-byte directory entry per image (its size and offset), then the
 * images. Whole when every entry's bytes lie within the body; bytes after the last image are allowed.
 */
export class IcoCheck extends Walk {
  #count = -1
  #end = -1
  /** What the header's type (2: a cursor) makes the file, for the failure lines: a CUR was said to be an ICO. */
  #kind = 'ICO'

  constructor() {
    super()
    this.expect(6)
  }

  protected next(h: Uint8Array): Step {
    if (this.#end !== -1) return this.settle(COMPLETE)
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
    }
    this.#end = end
    return this.expect(0, end - this.position)
  }

  protected finish(): Verdict {
    if (this.#end === -1) return truncated(`${this.#kind} directory cut short`)
    return truncated(`${this.#kind} images end at byte ${this.#end}, past the end (${this.position} bytes)`)
  }
}
