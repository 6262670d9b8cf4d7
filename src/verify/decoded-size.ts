import { u16le } from './bytes.js'
import { dimensions } from './sniff.js'

/**
 * A size the decoder (libvips, as sharp ships it) will find for an image at least, read from the
 * head of its file before the rest arrives: what `--max-pixels` may refuse early on. Where a
 * format's header can be read otherwise by the decoder, only a bound the decoder's own reading
 * cannot fall below counts, so an image the pool would take is never refused.
 */

/** Width and height in pixels: the first page or frame, as libvips sizes it. */
export interface DecodedSize {
  width: number
  height: number
}

/**
 * The size libvips will find at least for an image of format `ext` (the sniffer's extension) whose
 * first bytes are `head`; `undefined` when the head does not tell (cut before the size, a lying or
 * unreadable header, a format not covered). Never throws.
 * - PNG, JPEG, WebP: the header's size, as libpng, libjpeg and libwebp read it.
 * - TIFF: the first IFD's ImageWidth and ImageLength (SHORT or LONG, either byte order, BigTIFF
 *   too), when that IFD lies within `head` (libtiff writes it after the pixels: then unknown).
 * - AVIF, HEIC, HEIF: the primary item's `ispe` after its `clap` and `irot` (see `itemSize`), when
 *   the `meta` box lies within `head`.
 * - GIF: see `gifDecodedSize` (libnsgif sizes a GIF by its frames, not only by its screen).
 * - SVG: never. librsvg sizes the root by CSS too (`svg { width: 10px }` in a `<style>` anywhere in
 *   the document, or a `style` attribute, outranks `width="100000"`), so a head is no bound.
 */
export async function decodedSizeAtLeast(head: Uint8Array, ext: string): Promise<DecodedSize | undefined> {
  switch (ext) {
    case 'png':
    case 'jpg':
    case 'webp':
    case 'tif':
    case 'avif':
    case 'heic':
    case 'heif': {
      const { width, height } = await dimensions(head, ext)
      return width !== undefined && height !== undefined ? { width, height } : undefined
    }
    case 'gif':
      return gifDecodedSize(head)
    default:
      return undefined
  }
}

/**
 * Logical screen sizes libnsgif takes for an editor's canvas, not the image's (with 0 and any side
 * over 2048): it then sizes the GIF by its frames alone (libnsgif `nsgif_data_scan`).
 */
const CANVAS_SIZES = new Set(['640x480', '640x512', '800x600', '1024x768', '1280x1024', '1600x1200'])
const MAX_TRUSTED_SCREEN = 2048

/**
 * The size libvips (libnsgif, GIF89a §18 and §20) gives a GIF, from its first frame: the frame's
 * right and bottom edges (its offset plus its size) widen the logical screen, which counts only
 * when libnsgif trusts it (see `CANVAS_SIZES`). A forged screen of 20000x20000 over a 30x20 frame
 * decodes as 30x20; a 100x100 screen over a frame of 20000x20000 as 20000x20000. Later frames do
 * not change it (measured: libvips 8.18). `undefined` when the first frame's descriptor is not in
 * `head` (or the blocks before it do not lead to one).
 */
export function gifDecodedSize(head: Uint8Array): DecodedSize | undefined {
  if (head.length < 13) return undefined
  const screenWidth = u16le(head, 6)
  const screenHeight = u16le(head, 8)
  const trusted =
    screenWidth > 0 &&
    screenHeight > 0 &&
    screenWidth <= MAX_TRUSTED_SCREEN &&
    screenHeight <= MAX_TRUSTED_SCREEN &&
    !CANVAS_SIZES.has(`${screenWidth}x${screenHeight}`)
  let at = 13
  if (head[10] & 0x80) at += 3 * 2 ** ((head[10] & 7) + 1)
  // Extensions (0x21: graphic control, comments, NETSCAPE2.0) come before the first frame.
  while (at < head.length && head[at] === 0x21) at = subBlocksEnd(head, at + 2)
  if (head[at] !== 0x2c || at + 10 > head.length) return undefined
  const width = Math.max(trusted ? screenWidth : 0, u16le(head, at + 1) + u16le(head, at + 5))
  const height = Math.max(trusted ? screenHeight : 0, u16le(head, at + 3) + u16le(head, at + 7))
  return width > 0 && height > 0 ? { width, height } : undefined
}

/** Where the sub-blocks starting at `at` end (past their zero-length terminator), or past `b`. */
function subBlocksEnd(b: Uint8Array, at: number): number {
  while (at < b.length && b[at] !== 0) at += b[at] + 1
  return at + 1
}
