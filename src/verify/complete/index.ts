import { checkTiff } from '../tiff.js'
import { BmpCheck } from './bmp.js'
import { BoxCheck } from './boxes.js'
import { GifCheck } from './gif.js'
import { IcoCheck } from './ico.js'
import { J2cCheck } from './j2c.js'
import { JpegCheck } from './jpeg.js'
import { PngCheck } from './png.js'
import { SvgCheck } from './svg.js'
import { COMPLETE, type CompletenessCheck, type ReadBack, truncated, type Verdict } from './types.js'
import { WebpCheck } from './webp.js'

export type { CompletenessCheck, ReadBack, Verdict } from './types.js'

/**
 * TIFF is random-access: IFDs and strips can lie anywhere, so the check keeps the header and the length
 * while bytes stream, and walks the structure through `read` at the end (see `checkTiff`).
 */
class TiffCheck implements CompletenessCheck {
  readonly #head = new Uint8Array(16)
  #length = 0

  update(chunk: Uint8Array): void {
    if (this.#length < 16) this.#head.set(chunk.subarray(0, 16 - this.#length), this.#length)
    this.#length += chunk.length
  }

  end(read: ReadBack): Promise<Verdict> {
    return checkTiff(this.#head, read, this.#length)
  }
}

/**
 * JPEG XL is either a bare codestream (FF 0A) or a box container. A bare codestream holds no length of its
 * own that can be checked without decoding (its table of contents follows entropy-coded headers), so it is
 * whole by default and says so in `unchecked`; a container is walked as boxes.
 */
class JxlCheck implements CompletenessCheck {
  #first = -1
  #length = 0
  readonly #boxes = new BoxCheck('jxl')

  update(chunk: Uint8Array): void {
    if (chunk.length === 0) return
    if (this.#first === -1) this.#first = chunk[0]
    this.#length += chunk.length
    if (this.#first !== 0xff) this.#boxes.update(chunk)
  }

  async end(read: ReadBack): Promise<Verdict> {
    if (this.#first !== 0xff) return this.#boxes.end(read)
    if (this.#length < 16) return truncated('JPEG XL codestream cut short in its headers')
    return { ...COMPLETE, unchecked: 'a bare JPEG XL codestream cannot be checked without decoding' }
  }
}

const CHECKS: Record<string, () => CompletenessCheck> = {
  jpg: () => new JpegCheck(),
  png: () => new PngCheck(),
  gif: () => new GifCheck(),
  webp: () => new WebpCheck(),
  avif: () => new BoxCheck('heif'),
  heic: () => new BoxCheck('heif'),
  heif: () => new BoxCheck('heif'),
  jxl: () => new JxlCheck(),
  jp2: () => new BoxCheck('jp2'),
  jpx: () => new BoxCheck('jp2'),
  j2c: () => new J2cCheck(),
  tif: () => new TiffCheck(),
  bmp: () => new BmpCheck(),
  ico: () => new IcoCheck(),
  cur: () => new IcoCheck(),
  svg: () => new SvgCheck(),
}

/**
 * A fresh check of whether a body is a whole file of format `ext` (an extension as `sniff()` returns it:
 * every one of `FORMATS`). Feed it every byte of the body in order with `update`, then call `end` once.
 * What each format's check covers is in its class's comment; none decodes pixels, so a body can be
 * structurally whole and still hold corrupt compressed data. Throws a TypeError for an extension sniff()
 * never returns.
 */
export function completenessCheck(ext: string): CompletenessCheck {
  const make = CHECKS[ext]
  if (!make) throw new TypeError(`no completeness check for format ${JSON.stringify(ext)}`)
  return make()
}
