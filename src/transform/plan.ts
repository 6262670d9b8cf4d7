import type { EncodeFormat, TransformSpec } from './spec.js'

/**
 * What to do with one image, decided from its header alone (before any pixel is decoded): a pure
 * function of the image's size, orientation and format and of the spec, table-tested.
 */

/** What the decoder's header says. */
export interface ImageHeader {
  /** Extension of the decoded format: `jpg`, `png`, `webp`, `gif`, `avif`, `tif`, `svg`, `heic`, ... */
  format: string
  /** Stored width and height, in pixels, before EXIF orientation. */
  width: number
  height: number
  /** EXIF orientation 1–8 (TIFF tag 274); absent means 1. 5–8 swap width and height. */
  orientation?: number
  /** Whether the image has an alpha channel (JPEG output must flatten it). */
  hasAlpha?: boolean
  /** Whether it carries EXIF, XMP, IPTC or a PNG's text chunks (a camera, a place, a name). */
  hasMetadata?: boolean
  /** Frames of an animation (GIF, WebP); absent or 1 for a still image. */
  pages?: number
  /** Colour space of its embedded ICC profile (`RGB`, `GRAY`, `CMYK`, ...); absent without one. */
  profile?: string
  /** Colour space of its pixels as libvips reads them (`srgb`, `b-w`, `cmyk`, ...). */
  space?: string
  /** Bits a sample (16 for a 16-bit PNG or TIFF); absent means 8. */
  bits?: number
  /** Whether its pixels are stored losslessly where its format has both codings (a `VP8L` WebP). */
  lossless?: boolean
  /** The file gamma of a PNG's gAMA chunk, when that is its only colour description (see `pngGamma`). */
  gamma?: number
}

/** How to reach the output size: `fill` the exact size (ratio kept by the sizes chosen), `cover` then crop the centre, `contain` then pad. */
export type Fit = 'fill' | 'cover' | 'contain'

/**
 * A resize, in pixels. `fill`: the image scaled to `width`×`height`. `cover` and `contain`: the
 * image scaled to `scaled` first (its shortest or longest side to the size, the other rounded as
 * `fill` rounds it), then the `width`×`height` cut from it at `left`, `top` (`cover`), or it padded
 * to `width`×`height` with `left` and `top` pixels before it (`contain`). Both offsets are half the
 * difference rounded down, as img2dataset's albumentations (`center_crop`, `pad`) and ImageMagick's
 * `-gravity center` place them.
 */
export type Resize =
  | { width: number; height: number; fit: 'fill' }
  | {
      width: number
      height: number
      fit: 'cover' | 'contain'
      scaled: { width: number; height: number }
      left: number
      top: number
    }

export type Refusal = 'too-small' | 'bad-aspect-ratio' | 'too-many-pixels'

export type Plan =
  /** A filter excludes the image. */
  | { action: 'refuse'; code: Refusal; message: string }
  /** Nothing to change: the bytes stay as they are. `width`/`height` as displayed (after orientation). */
  | { action: 'keep'; width: number; height: number }
  /**
   * Decode, orient, resize if `resize`, flatten onto the background if `flatten`, write as `format`.
   * `frames`: the animation's frame count when every frame is written again (an animation only
   * stripped of its metadata, in its own format); absent, the first frame only. `rgb`: work in
   * sRGB, as a grey image painted with the background (padded or flattened) must be. `deep`: write
   * 16 bits a sample, as a 16-bit image written as PNG or TIFF keeps them. `lossless`: write a
   * WebP losslessly, as a lossless WebP written as WebP again keeps its pixels unless a quality is
   * asked. `greyProfile`: a grey image whose own ICC profile converts it to sRGB (see `plan`).
   * `gamma`: the power its values are raised to first, to sRGB's from a PNG's own gAMA (see
   * `gammaExponent`).
   */
  | {
      action: 'encode'
      format: string
      resize?: Resize
      flatten: boolean
      rgb: boolean
      deep: boolean
      width: number
      height: number
      frames?: number
      lossless?: true
      greyProfile?: true
      gamma?: number
    }

/** Formats sharp (libvips as prebuilt for npm) can write; any other becomes PNG when it must be re-encoded. */
export const WRITABLE_FORMATS: ReadonlySet<string> = new Set(['jpg', 'png', 'webp', 'avif', 'gif', 'tif'])

/** libvips' colour spaces of one channel (and its alpha): 8-bit and 16-bit grey. */
const GREY_SPACES: ReadonlySet<string> = new Set(['b-w', 'grey16'])

/** Formats sharp writes at 16 bits a sample. */
const DEEP_FORMATS: ReadonlySet<string> = new Set(['png', 'tif'])

/** Formats whose output keeps an alpha channel; JPEG does not. */
export const ALPHA_FORMATS: ReadonlySet<string> = new Set(['png', 'webp', 'avif', 'gif', 'tif'])

/** Width and height as displayed: EXIF orientations 5–8 turn the image by a quarter. */
export function oriented(header: ImageHeader): { width: number; height: number } {
  const turned = header.orientation !== undefined && header.orientation >= 5 && header.orientation <= 8
  return turned
    ? { width: header.height, height: header.width }
    : { width: header.width, height: header.height }
}

/**
 * The format a changed image is written in: `encode` if given, else its own format where sharp
 * can write it (JPEG, PNG, WebP, AVIF, GIF, TIFF), else PNG (lossless, keeps alpha): an SVG
 * is rasterised to PNG.
 */
export function outputFormat(input: string, encode: EncodeFormat | undefined): string {
  if (encode) return encode
  return WRITABLE_FORMATS.has(input) ? input : 'png'
}

/**
 * The resize a mode asks for on an image of `width`×`height` (as displayed), or `undefined` when
 * it would change nothing (same size already, or `resizeOnlyIfBigger` and not bigger).
 * img2dataset's geometry: `keep-ratio` and `center-crop` scale the shortest side to `size`,
 * `keep-ratio-largest` and `border` the longest; the other side is rounded to the nearest pixel,
 * a tie to the even one, as img2dataset rounds it (see `roundHalfEven`).
 */
export function resizeFor(width: number, height: number, spec: TransformSpec): Resize | undefined {
  if (spec.resize === 'no' || spec.size === undefined) return undefined
  const n = spec.size
  const byShortest = spec.resize === 'keep-ratio' || spec.resize === 'center-crop'
  const reference = byShortest ? Math.min(width, height) : Math.max(width, height)
  if (spec.resizeOnlyIfBigger && reference <= n) return undefined
  const scale = n / reference
  const w = Math.max(1, roundHalfEven(width * scale))
  const h = Math.max(1, roundHalfEven(height * scale))
  if (spec.resize === 'center-crop' || spec.resize === 'border') {
    if (width === n && height === n) return undefined
    // Scaled by img2dataset's sizes, then cut or padded at img2dataset's place: sharp's own `cover`
    // and `contain` rounded a tie up (1025x2048 in a 1024 border was 513 wide, not 512) and cut an
    // odd excess a pixel further (rows 23 to 278 of a 256x301 image, not 22 to 277).
    const fit = spec.resize === 'center-crop' ? 'cover' : 'contain'
    const half = (excess: number) => Math.floor(Math.abs(excess) / 2)
    return { width: n, height: n, fit, scaled: { width: w, height: h }, left: half(w - n), top: half(h - n) }
  }
  return w === width && h === height ? undefined : { width: w, height: h, fit: 'fill' }
}

/**
 * `x` to the nearest whole number, a tie to the even one, as Python's `round` and albumentations'
 * `py3round` (the sizes img2dataset's `smallest_max_size` and `longest_max_size` make): 1025×2048
 * to 1024 is 512×1024 there, where `Math.round` (a tie up) made it 513×1024.
 */
export function roundHalfEven(x: number): number {
  const below = Math.floor(x)
  const part = x - below
  if (part !== 0.5) return part < 0.5 ? below : below + 1
  return below % 2 === 0 ? below : below + 1
}

/** The filter an image of this size fails, if any: pixels first (a safety limit), then size, then shape. */
export function refusal(
  width: number,
  height: number,
  spec: Pick<TransformSpec, 'minSize' | 'maxAspectRatio'>,
  maxPixels: number,
): { code: Refusal; message: string } | undefined {
  if (width * height > maxPixels) {
    return { code: 'too-many-pixels', message: `${width}x${height} is more than ${maxPixels} pixels` }
  }
  if (spec.minSize !== undefined && Math.min(width, height) < spec.minSize) {
    return { code: 'too-small', message: `${width}x${height} has a side under ${spec.minSize} px` }
  }
  if (spec.maxAspectRatio !== undefined) {
    const ratio = Math.max(width, height) / Math.min(width, height)
    if (ratio > spec.maxAspectRatio) {
      // As many decimals as show it over the limit: 3001x1000 said '3.00, over 3'.
      let shown = ratio.toFixed(2)
      for (let digits = 3; Number(shown) <= spec.maxAspectRatio && digits <= 12; digits++) {
        shown = ratio.toFixed(digits)
      }
      return {
        code: 'bad-aspect-ratio',
        message: `${width}x${height} has an aspect ratio of ${shown}, over ${spec.maxAspectRatio}`,
      }
    }
  }
  return undefined
}

/**
 * Decide for one image. Filters first; then the resize (after EXIF orientation); the image is kept
 * byte for byte when no resize is needed and its format is the one asked (or none is asked), and,
 * when a format is asked without `keepMetadata`, it carries no EXIF, XMP or IPTC.
 * Anything re-encoded is oriented upright, so no viewer has to apply a tag the output may have lost.
 */
export function plan(header: ImageHeader, spec: TransformSpec, maxPixels: number): Plan {
  const { width, height } = oriented(header)
  const refused = refusal(width, height, spec, maxPixels)
  if (refused) return { action: 'refuse', ...refused }
  const resize = resizeFor(width, height, spec)
  // `encode` asks for an image written anew, which carries no metadata unless kept: one already
  // in that format is kept as it is only when it has none to leak (a GPS position, say).
  const strip = spec.encode !== undefined && !spec.keepMetadata && header.hasMetadata === true
  // A CMYK JPEG (Photoshop's print files) is a JPEG many readers cannot load (torchvision's
  // decode_jpeg, OpenCV's imread: pytorch/vision#6538): asked for a format, it is written anew
  // in sRGB, as img2dataset writes every image.
  const recolour = spec.encode !== undefined && header.space === 'cmyk'
  if (!resize && !strip && !recolour && (spec.encode === undefined || spec.encode === header.format)) {
    return { action: 'keep', width, height }
  }
  const format = outputFormat(header.format, spec.encode)
  const out = { width: resize?.width ?? width, height: resize?.height ?? height }
  // The output is bounded as the input is: a thin strip (a 20000x1 spacer) scaled by its short
  // side would be millions of pixels wide, gigabytes for the encoder.
  if (out.width * out.height > maxPixels) {
    const message = `${width}x${height} resized to ${out.width}x${out.height} is more than ${maxPixels} pixels`
    return { action: 'refuse', code: 'too-many-pixels', message }
  }
  const side = MAX_SIDE[format]
  if (side !== undefined && Math.max(out.width, out.height) > side) {
    const long = out.width >= out.height ? 'wider' : 'taller'
    const message = `${out.width}x${out.height} is ${long} than ${format} can hold (${side} px a side)`
    return { action: 'refuse', code: 'too-many-pixels', message }
  }
  // Only stripped of its metadata, an animation stays one: every frame is written again, all of
  // them held to the limit together. (Not one with an EXIF orientation: libvips turns the frames
  // stacked as one image, which reverses or refuses them; that one keeps its first frame, upright.)
  const frames =
    header.pages !== undefined && header.pages > 1 && !resize && format === header.format
      ? (header.orientation ?? 1) === 1
        ? header.pages
        : undefined
      : undefined
  const over = frames === undefined ? undefined : framesOver(out, frames, maxPixels, 'write')
  if (over) return { action: 'refuse', ...over }
  const flatten = header.hasAlpha === true && !ALPHA_FORMATS.has(format)
  // A grey image's profile (Photoshop's "Dot Gain 20%", a scanner's linear grey) says what its
  // values look like; sharp converts by it to sRGB only at 8 bits and before anything else makes
  // the image RGB: padded in a colour, kept with its metadata (no RGB output holds a grey
  // profile), or 16 bits a sample, its values were written as sRGB without it (a linear grey
  // 128, shown 188, came out 128). Such an image is read at 8 bits and converted by its profile.
  const greyProfile = GREY_SPACES.has(header.space ?? '') && header.profile === 'GRAY'
  // A PNG whose gAMA is its only colour description is shown by it (Chromium: a grey 128 of gamma
  // 1.0 is painted 188); libvips reads the values as sRGB and writes no gAMA: written anew, the
  // image came out far darker, or lighter, than the one a browser showed (libvips/libvips#1238).
  const gamma = header.format === 'png' ? gammaExponent(header.gamma) : undefined
  return {
    action: 'encode',
    format,
    resize,
    flatten,
    // libvips paints a grey image in grey: a red --background padded or flattened as the red's
    // luminance (a mid grey), or as white; in sRGB it is the colour asked.
    rgb: (flatten || resize?.fit === 'contain') && GREY_SPACES.has(header.space ?? '') && !greyProfile,
    // sharp writes 8 bits a sample unless told: a 16-bit scan or HDR master resized as PNG lost
    // its precision without a word. Formats written at 8 bits (JPEG, WebP, GIF) have no choice.
    deep: header.bits === 16 && DEEP_FORMATS.has(format) && !greyProfile,
    ...out,
    ...(frames !== undefined ? { frames } : {}),
    // A screenshot or a drawing stored as lossless WebP, only stripped of its EXIF or resized, was
    // written lossy at quality 80: its pixels changed where nothing asked for that.
    ...(format === 'webp' &&
    header.format === 'webp' &&
    header.lossless === true &&
    spec.quality === undefined
      ? { lossless: true as const }
      : {}),
    ...(greyProfile ? { greyProfile: true as const } : {}),
    ...(gamma !== undefined ? { gamma } : {}),
  }
}

/**
 * The refusal of an animation's `frames` of `size` that are more than `maxPixels` together, to
 * `decode` or `write` all of them (`verifyDecode`, a metadata strip): the limit holds for the work
 * done, which grows with the frames. `undefined` when within it.
 */
export function framesOver(
  size: { width: number; height: number },
  frames: number,
  maxPixels: number,
  what: 'decode' | 'write',
): { code: 'too-many-pixels'; message: string } | undefined {
  const total = size.width * size.height * frames
  if (total <= maxPixels) return undefined
  const message = `${frames} frames of ${size.width}x${size.height} are ${total} pixels to ${what}, more than ${maxPixels}`
  return { code: 'too-many-pixels', message }
}

/**
 * The refusal of a file's pages (a TIFF's pages, a pyramid's levels: each of its own size) that are
 * more than `maxPixels` together to decode, their sizes named (the first five), or once when all
 * alike. `undefined` when within it.
 */
export function pagesOver(
  sizes: readonly { width: number; height: number }[],
  maxPixels: number,
): { code: 'too-many-pixels'; message: string } | undefined {
  const total = sizes.reduce((sum, { width, height }) => sum + width * height, 0)
  if (total <= maxPixels) return undefined
  // One line, whatever the count: a scan's thousands of pages of one size are said once.
  const named = sizes.map(({ width, height }) => `${width}x${height}`)
  const shown = named.every((size) => size === named[0])
    ? `of ${named[0]}`
    : `(${named.slice(0, 5).join(', ')}${named.length > 5 ? ', ...' : ''})`
  const message = `${sizes.length} pages ${shown} are ${total} pixels to decode, more than ${maxPixels}`
  return { code: 'too-many-pixels', message }
}

/**
 * The power that takes the values of a PNG of file gamma `gamma` (its gAMA) to sRGB's, as a browser
 * shows them: decoded to linear light (`v ** (1 / gamma)`), encoded for display (`** (1 / 2.2)`):
 * `1 / (2.2 × gamma)`. `undefined` (nothing to do) without a gamma, for one within 5 % of sRGB's
 * own 1/2.2 (libpng's tolerance: what most PNGs with a gAMA state), and for one whose power is
 * past what sharp's `gamma` takes (a third to 3: a gAMA of 2.2 written upside down, say).
 */
export function gammaExponent(gamma: number | undefined): number | undefined {
  if (gamma === undefined || !(gamma > 0)) return undefined
  if (Math.abs(gamma * 2.2 - 1) <= 0.05) return undefined
  const exponent = 1 / (2.2 * gamma)
  return exponent >= 1 / 3 && exponent <= 3 ? exponent : undefined
}

/** Formats whose pages are an animation's frames, all of one size: decoded together, stacked. */
export const ANIMATED_FORMATS: ReadonlySet<string> = new Set(['gif', 'webp'])

/** The longest side each writable format holds (JPEG and GIF: 16-bit sizes; WebP: 14-bit; AVIF: AV1's 65,536). */
const MAX_SIDE: Readonly<Record<string, number>> = { jpg: 65_535, gif: 65_535, webp: 16_383, avif: 65_536 }
