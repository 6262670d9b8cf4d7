import { ascii, fourcc, u32be } from '../bytes.js'
import { COMPLETE, corrupt, truncated, type Verdict } from './types.js'
import { type Step, Walk } from './walk.js'

/**
 * PNG (ISO/IEC 15948 §5): the signature, then chunks (length, type, data, CRC) from IHDR to IEND, walked
 * by their lengths. CRCs are not computed. Whole when IEND and its CRC arrived after at least one IDAT;
 * bytes after IEND are allowed, as libpng and browsers stop reading there.
 */
export class PngCheck extends Walk {
  #chunks = 0
  #idat = false
  #iend = false

  constructor() {
    super()
    this.expect(16) // signature and the first chunk's length and type
  }

  protected next(h: Uint8Array): Step {
    if (this.#iend) return this.settle(this.#idat ? COMPLETE : corrupt('PNG has no IDAT chunk'))
    let at = 0
    if (this.#chunks === 0) {
      if (h[0] !== 0x89 || !ascii(h, 1, 'PNG\r\n\u001a\n')) return this.settle(corrupt('not a PNG signature'))
      at = 8
    }
    const length = u32be(h, at)
    const type = fourcc(h, at + 4)
    if (length > 0x7fffffff) return this.settle(corrupt(`PNG chunk ${type} declares ${length} bytes`))
    if (this.#chunks++ === 0 && type !== 'IHDR') return this.settle(corrupt('PNG does not start with IHDR'))
    if (type === 'IDAT') this.#idat = true
    if (type === 'IEND') {
      this.#iend = true
      return this.expect(0, length + 4)
    }
    return this.expect(8, length + 4)
  }

  protected finish(): Verdict {
    return truncated(this.#chunks === 0 ? 'PNG cut short in its signature' : 'PNG ends before its IEND chunk')
  }
}
