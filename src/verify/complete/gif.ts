import { ascii, u16le } from '../bytes.js'
import { COMPLETE, corrupt, truncated, type Verdict } from './types.js'
import { type Step, Walk } from './walk.js'

const At = {
  Header: 0,
  Block: 1,
  Label: 2,
  Descriptor: 3,
  CodeSize: 4,
  SubBlock: 5,
  /** NULs where a block belongs, after an image: passed over to the block or trailer that follows. */
  Nul: 6,
} as const
type At = (typeof At)[keyof typeof At]

/**
 * GIF (GIF89a specification §17–27): header and logical screen descriptor, global colour table, then
 * blocks: extensions and images (descriptor, local colour table, LZW code size) each followed by
 * sub-blocks up to an empty one, then the trailer (0x3B). Whole at the trailer after at least one image;
 * bytes after the trailer are allowed, as decoders stop there. NULs where a block belongs, after an image,
 * are passed over to the block or trailer after them; one NUL as the body's last byte ends it too, and a
 * GIF that ends between blocks is whole but `unchecked` (see `finish`).
 * The verdict carries the size browsers show: the logical screen, grown to hold the first image.
 */
export class GifCheck extends Walk {
  #at: At = At.Header
  #images = 0
  /** A graphic control extension came, and the image it introduces has not (GIF89a §23). */
  #control = false
  /** Where the NULs in a block's place began. */
  #nuls = -1
  /** The logical screen's size, grown to hold the first image (see `#whole`). */
  #width = 0
  #height = 0

  constructor() {
    super()
    this.expect(13)
  }

  protected next(h: Uint8Array): Step {
    switch (this.#at) {
      case At.Header:
        if (!ascii(h, 0, 'GIF87a') && !ascii(h, 0, 'GIF89a')) return this.settle(corrupt('not a GIF header'))
        this.#width = u16le(h, 6)
        this.#height = u16le(h, 8)
        return this.#block(colourTable(h[10]))
      case At.Block:
        if (h[0] === 0x21) {
          this.#at = At.Label
          return this.expect(1)
        }
        if (h[0] === 0x2c) {
          this.#at = At.Descriptor
          return this.expect(9)
        }
        if (h[0] === 0x3b) return this.settle(this.#images > 0 ? this.#whole() : corrupt('GIF has no image'))
        // NULs where a block belongs, after an image: writers leave them between blocks and before
        // the trailer (traffic cameras, golang/go#38853). Chromium, Skia and Firefox end the GIF at
        // the first, as at a trailer; GIF87a readers (Pillow, WIC) pass over them. The walk passes
        // over them too, so that the blocks after them are still checked; only NULs that run on to
        // the end of the body are no end (a GIF zero-filled from there: see `finish`).
        if (h[0] === 0x00 && this.#images > 0) {
          this.#at = At.Nul
          this.#nuls = this.position - 1
          return this.expect(1)
        }
        return this.settle(
          corrupt(`GIF has a block of unknown kind 0x${h[0].toString(16)} at byte ${this.position - 1}`),
        )
      case At.Label:
        if (h[0] === 0xf9) this.#control = true
        return this.#subBlock(0)
      case At.Descriptor:
        // Browsers (Chromium's Wuffs, Firefox) grow a logical screen too small for the first image,
        // or of size 0, to hold it: that is the size they show.
        if (this.#images === 0) {
          this.#width = Math.max(this.#width, u16le(h, 0) + u16le(h, 4))
          this.#height = Math.max(this.#height, u16le(h, 2) + u16le(h, 6))
        }
        this.#images++
        this.#control = false
        this.#at = At.CodeSize
        return this.expect(1, colourTable(h[8]))
      case At.CodeSize:
        return this.#subBlock(0)
      case At.SubBlock:
        return h[0] === 0 ? this.#block(0) : this.#subBlock(h[0])
      case At.Nul:
        if (h[0] === 0x00) return this.expect(1)
        this.#at = At.Block
        return this.next(h)
    }
  }

  #block(skip: number): Step {
    this.#at = At.Block
    return this.expect(1, skip)
  }

  /** Skip a sub-block's data, then read the next one's size. */
  #subBlock(skip: number): Step {
    this.#at = At.SubBlock
    return this.expect(1, skip)
  }

  protected finish(boundary: boolean): Verdict {
    if (this.#at === At.Header) return truncated('GIF header cut short')
    // NULs to the end: one in the trailer's place ends the GIF, as Chromium, Firefox and Go read it;
    // more are a GIF zero-filled from a block on, as a file preallocated and cut is.
    if (this.#at === At.Nul && boundary && this.position === this.#nuls + 1) return this.#whole()
    if (this.#at === At.Nul)
      return corrupt(`GIF is zero-filled from byte ${this.#nuls}, where a block belongs`)
    // Many GIFs on the web lack their trailer, and browsers, libvips and ImageMagick show them
    // (WebKit, image-rs/image-gif): ending between blocks after an image, the GIF is whole when
    // the transfer says the body ended there (a length met), not when a connection just closed.
    // Not after a graphic control extension: it introduces an image to come (its scope is "the
    // first graphic rendering block to follow", GIF89a §23), so the body was cut between the two.
    if (boundary && this.#at === At.Block && this.#images > 0 && this.#control)
      return truncated('GIF ends after a graphic control extension, before the image it introduces')
    if (boundary && this.#at === At.Block && this.#images > 0)
      return { ...this.#whole(), unchecked: 'GIF ends without its trailer' }
    return truncated('GIF ends before its trailer')
  }

  /** Whole, with the size browsers show: the logical screen, grown to hold the first image. */
  #whole(): Verdict & { complete: true } {
    return this.#width > 0 && this.#height > 0
      ? { ...COMPLETE, width: this.#width, height: this.#height }
      : COMPLETE
  }
}

/** Bytes of the colour table a packed-fields byte declares (3 × 2^(n+1), or none). */
const colourTable = (flags: number): number => (flags & 0x80 ? 3 << ((flags & 7) + 1) : 0)
