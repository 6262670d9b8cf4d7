import { createRequire } from 'node:module'
import { definedFields } from '../utils/defined-fields.js'
import { type EveryKey, refuseUnknownKeys } from '../utils/known-keys.js'
import { shownValue } from '../utils/shown-value.js'
/**
 * What the transform stage is asked to do with every image: one options type with documented
 * defaults, then validation that throws a `TypeError` naming the option. The modes and filters
 * are img2dataset's (`resize_mode`, `resize_only_if_bigger`, `min_image_size`,
 * `max_aspect_ratio`, `max_image_area`), so dataset users find the names they know.
 */

/**
 * - `no`: no resizing.
 * - `keep-ratio`: the shortest side to `size`, the other in proportion.
 * - `keep-ratio-largest`: the longest side to `size`, the other in proportion.
 * - `center-crop`: the shortest side to `size`, then the centre `size`×`size` cut out.
 * - `border`: the longest side to `size`, then padded to `size`×`size` with `background`.
 */
export type ResizeMode = 'no' | 'keep-ratio' | 'keep-ratio-largest' | 'center-crop' | 'border'

export const RESIZE_MODES: readonly ResizeMode[] = [
  'no',
  'keep-ratio',
  'keep-ratio-largest',
  'center-crop',
  'border',
]

/** Formats a re-encoded image can be written as (extensions). */
export type EncodeFormat = 'jpg' | 'png' | 'webp' | 'avif'

export const ENCODE_FORMATS: readonly EncodeFormat[] = ['jpg', 'png', 'webp', 'avif']

export interface TransformSpec {
  /** How to resize. @default 'no' */
  readonly resize: ResizeMode
  /** Target size in pixels: required with every mode but `no`, and a `TypeError` with `no` (it would resize nothing). */
  readonly size?: number
  /**
   * Never enlarge: an image whose reference side (the shortest for `keep-ratio` and
   * `center-crop`, the longest for `keep-ratio-largest` and `border`) is not larger than `size`
   * is left as it is, unpadded and uncropped (img2dataset's rule). @default false
   */
  readonly resizeOnlyIfBigger: boolean
  /** Colour of `border`'s padding, and under transparent pixels written as JPEG (CSS colour). @default '#ffffff' */
  readonly background: string
  /**
   * Write every changed image in this format; an image already in it that needs no other change
   * is kept byte for byte. Without it a resized image keeps its format (see `outputFormat`).
   */
  readonly encode?: EncodeFormat
  /** Quality 1–100 for JPEG, WebP and AVIF output; PNG and TIFF are written lossless and ignore it, as is a lossless WebP written as WebP when it is not given. Default: sharp's (80, 80, 50). */
  readonly quality?: number
  /** Refuse (`too-small`) an image either of whose sides is smaller than this, in pixels. */
  readonly minSize?: number
  /** Refuse (`bad-aspect-ratio`) an image whose longest side over its shortest exceeds this (>= 1). */
  readonly maxAspectRatio?: number
  /**
   * Refuse (`too-many-pixels`) an image of more pixels (width × height, from its header, before any
   * pixel is decoded); also the decoder's `limitInputPixels`, against decompression bombs. Unset,
   * the pool still refuses images over `DEFAULT_MAX_PIXELS` (sharp's own limit), but a run that
   * asks for nothing else needs no pool. An integer from 1 to `Number.MAX_SAFE_INTEGER`; past it
   * `resolveTransformSpec` throws a `TypeError`, as the CLI's `--max-pixels` refuses it.
   */
  readonly maxPixels?: number
  /** Keep EXIF, XMP, IPTC, PNG text chunks and the ICC profile in re-encoded images. @default false */
  readonly keepMetadata: boolean
  /** Decode every image in full, even when nothing else is asked: one that cannot be is `undecodable`. @default false */
  readonly verifyDecode: boolean
}

/** Every key of `TransformSpec`: another is a typo, refused as the top-level options' are. */
const TRANSFORM_KEY_LIST = [
  'resize',
  'size',
  'resizeOnlyIfBigger',
  'background',
  'encode',
  'quality',
  'minSize',
  'maxAspectRatio',
  'maxPixels',
  'keepMetadata',
  'verifyDecode',
] as const satisfies readonly (keyof TransformSpec)[]
// Compiles only while the list names every key.
const _everyKey: EveryKey<TransformSpec, typeof TRANSFORM_KEY_LIST> = true

/** The largest `size`: the widest image JPEG and GIF can hold (65,535 px a side). */
export const MAX_SIZE = 65_535

/** sharp's default `limitInputPixels`: 0x3FFF × 0x3FFF. */
export const DEFAULT_MAX_PIXELS = 0x3fff * 0x3fff

export const defaultTransformSpec: TransformSpec = {
  resize: 'no',
  resizeOnlyIfBigger: false,
  background: '#ffffff',
  keepMetadata: false,
  verifyDecode: false,
}

/**
 * Whether sharp will take `value` as a colour, asked of its own parser (@img/colour): a misspelt
 * name (`whte`) or a 5-digit hex is refused with the options, not on every image after download.
 * Loaded only when a colour other than the default is given.
 */
export function isColour(value: string): boolean {
  if (value === defaultTransformSpec.background) return true
  const parse = createRequire(import.meta.url)('@img/colour') as (colour: string) => unknown
  try {
    parse(value)
    return true
  } catch {
    return false
  }
}

/**
 * `value` (a colour `isColour` accepts) as one spelling: `#rrggbb`, or `#rrggbbaa` when not opaque,
 * so `white`, `#FFF` and `#ffffff` are one colour where a folder's record compares them.
 */
export function canonicalColour(value: string): string {
  const trimmed = value.trim()
  if (trimmed === defaultTransformSpec.background) return trimmed
  const parse = createRequire(import.meta.url)('@img/colour') as (colour: string) => {
    alpha(): number
    hex(): string
    hexa(): string
  }
  const colour = parse(trimmed)
  return (colour.alpha() < 1 ? colour.hexa() : colour.hex()).toLowerCase()
}

/**
 * The colour to paint where the image written has no alpha channel (JPEG): `value` itself when it
 * is opaque, else `value` laid over white, as a page shows it, in `#rrggbb`. libvips drops a
 * colour's alpha where it pads or flattens an image written without one: `--background
 * transparent` painted black, and `#ff000080` full red under transparent pixels but dark red
 * (131,0,0) in a border's padding.
 */
export function opaqueColour(value: string): string {
  const trimmed = value.trim()
  if (trimmed === defaultTransformSpec.background) return trimmed
  const parse = createRequire(import.meta.url)('@img/colour') as (colour: string) => {
    alpha(): number
    rgb(): { array(): number[] }
  }
  const colour = parse(trimmed)
  const alpha = colour.alpha()
  if (alpha >= 1) return trimmed
  const [r, g, b] = colour.rgb().array()
  const over = (c: number) =>
    Math.round(c * alpha + 255 * (1 - alpha))
      .toString(16)
      .padStart(2, '0')
  return `#${over(r)}${over(g)}${over(b)}`
}

/**
 * What a transform option given alone would need to do anything: `resize`, a resize mode;
 * `written`, an image written anew (`encode` or a resize mode); `border-or-jpg`, padding
 * (`resize: 'border'`) or transparency to fill (`encode: 'jpg'`).
 */
export type TransformNeed = 'resize' | 'written' | 'border-or-jpg'

/** An option given that would do nothing, named with what it needs (see `transformMisfit`). */
export interface TransformMisfit {
  readonly option: 'size' | 'resizeOnlyIfBigger' | 'quality' | 'keepMetadata' | 'background'
  readonly needs: TransformNeed
}

/**
 * The first transform option given where it does nothing, or `undefined`: `size` or
 * `resizeOnlyIfBigger` without a resize mode, `quality` or `keepMetadata` where no image is written
 * anew, `background` with neither padding nor JPEG to fill. Given alone, each left the images as they
 * came without a word (`{ size: 64 }` resized nothing). The command line refuses the same
 * combinations of its flags through this rule. `background` equal to the default is no colour given.
 * Pure.
 */
export function transformMisfit(given: TransformOptions): TransformMisfit | undefined {
  const resizing = given.resize !== undefined && given.resize !== 'no'
  const writing = resizing || given.encode !== undefined
  if (!resizing && given.size !== undefined) return { option: 'size', needs: 'resize' }
  if (!resizing && given.resizeOnlyIfBigger === true) return { option: 'resizeOnlyIfBigger', needs: 'resize' }
  if (!writing && given.quality !== undefined) return { option: 'quality', needs: 'written' }
  if (!writing && given.keepMetadata === true) return { option: 'keepMetadata', needs: 'written' }
  if (
    given.background !== undefined &&
    given.background !== defaultTransformSpec.background &&
    given.resize !== 'border' &&
    given.encode !== 'jpg'
  )
    return { option: 'background', needs: 'border-or-jpg' }
  return undefined
}

/** What each need asks of a `pull()` caller. */
const NEEDS: Record<TransformNeed, string> = {
  resize: "a `resize` mode ('keep-ratio', 'keep-ratio-largest', 'center-crop' or 'border')",
  written: 'images written anew: give `encode` or a `resize` mode',
  'border-or-jpg': "the padding of `resize: 'border'` and the transparency under `encode: 'jpg'`: give one",
}

function positiveInteger(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(`Expected \`transform.${name}\` to be an integer >= 1, got ${shownValue(value)}`)
  }
}

/** `pull()`'s `transform`: any field of a `TransformSpec`, left out or `undefined` for its default. */
export type TransformOptions = { [K in keyof TransformSpec]?: TransformSpec[K] | undefined }

/**
 * Fill in defaults and check every value. Throws a `TypeError` naming the bad option: an unknown
 * mode or format, a resize mode without `size`, a quality outside 1–100, a `maxAspectRatio`
 * under 1, an option given where it does nothing (see `transformMisfit`).
 */

export function resolveTransformSpec(options: TransformOptions = {}): TransformSpec {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new TypeError(
      `Expected \`transform\` to be an object of transform options, got ${shownValue(options)}`,
    )
  // A misspelt key (`sise`) would leave the images as they came, unresized, with no word.
  refuseUnknownKeys(options, TRANSFORM_KEY_LIST, 'transform option')
  const set = definedFields(options)
  const spec: TransformSpec = { ...defaultTransformSpec, ...set }
  if (!RESIZE_MODES.includes(spec.resize)) {
    throw new TypeError(
      `Expected \`transform.resize\` to be one of ${RESIZE_MODES.join(', ')}, got ${shownValue(spec.resize)}`,
    )
  }
  if (spec.resize !== 'no' || spec.size !== undefined) {
    positiveInteger('size', spec.size)
    if (spec.size! > MAX_SIZE)
      throw new TypeError(`Expected \`transform.size\` to be at most ${MAX_SIZE}, got ${spec.size}`)
  }
  if (spec.encode !== undefined && !ENCODE_FORMATS.includes(spec.encode)) {
    throw new TypeError(
      `Expected \`transform.encode\` to be one of ${ENCODE_FORMATS.join(', ')}, got ${shownValue(spec.encode)}`,
    )
  }
  if (spec.quality !== undefined) {
    positiveInteger('quality', spec.quality)
    if (spec.quality > 100)
      throw new TypeError(`Expected \`transform.quality\` to be at most 100, got ${spec.quality}`)
  }
  if (spec.minSize !== undefined) positiveInteger('minSize', spec.minSize)
  if (spec.maxAspectRatio !== undefined) {
    if (
      typeof spec.maxAspectRatio !== 'number' ||
      !(spec.maxAspectRatio >= 1) ||
      spec.maxAspectRatio === Infinity
    ) {
      throw new TypeError(
        `Expected \`transform.maxAspectRatio\` to be a number >= 1, got ${shownValue(spec.maxAspectRatio)}`,
      )
    }
  }
  if (spec.maxPixels !== undefined) {
    positiveInteger('maxPixels', spec.maxPixels)
    // Past 2^53 - 1 a count is rounded, and sharp's limitInputPixels refuses it: every image,
    // whole as it was, failed as `undecodable` ("Expected positive integer for limitInputPixels").
    // The CLI's --max-pixels stops there too.
    if (spec.maxPixels > Number.MAX_SAFE_INTEGER) {
      throw new TypeError(
        `Expected \`transform.maxPixels\` to be at most ${Number.MAX_SAFE_INTEGER}, got ${spec.maxPixels}`,
      )
    }
  }
  if (typeof spec.background !== 'string' || !isColour(spec.background.trim())) {
    throw new TypeError(
      `Expected \`transform.background\` to be a CSS colour, got ${shownValue(spec.background)}`,
    )
  }
  for (const name of ['resizeOnlyIfBigger', 'keepMetadata', 'verifyDecode'] as const) {
    if (typeof spec[name] !== 'boolean')
      throw new TypeError(`Expected \`transform.${name}\` to be a boolean, got ${shownValue(spec[name])}`)
  }
  const misfit = transformMisfit(set)
  if (misfit)
    throw new TypeError(
      `\`transform.${misfit.option}\` (${shownValue(set[misfit.option])}) does nothing without ${NEEDS[misfit.needs]}, or leave \`transform.${misfit.option}\` out`,
    )
  return spec
}

/**
 * Whether images need the pool at all. False for the defaults (no resize, no encode, no filter,
 * no decode check): a plain run then starts no worker and loads no sharp.
 */
export function needsPool(spec: TransformSpec): boolean {
  return (
    spec.resize !== 'no' ||
    spec.encode !== undefined ||
    spec.minSize !== undefined ||
    spec.maxAspectRatio !== undefined ||
    spec.maxPixels !== undefined ||
    spec.verifyDecode
  )
}

/**
 * The pixel count images are held to, width × height as their header states it, or `undefined`
 * where none is (a plain download: see `needsPool`). Where one is, the pool refuses an image over
 * it as `too-many-pixels` before decoding; a download refuses it as soon as its head says so.
 */
export function pixelLimit(spec: TransformSpec): number | undefined {
  return needsPool(spec) ? (spec.maxPixels ?? DEFAULT_MAX_PIXELS) : undefined
}
