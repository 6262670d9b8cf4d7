import { type Command, InvalidArgumentError, Option } from 'commander'
import { UsageError } from '../errors.js'
import {
  ENCODE_FORMATS,
  isColour,
  RESIZE_MODES,
  type TransformMisfit,
  type TransformSpec,
  transformMisfit,
} from '../transform/spec.js'
import { decimal, integer } from './parse.js'

/** A number greater than or equal to `min` (decimals allowed). */
function atLeast(min: number) {
  return (value: string): number => {
    const n = decimal(value)
    if (n === undefined || n < min) throw new InvalidArgumentError(`expected a number >= ${min}`)
    return n
  }
}

/**
 * A colour sharp takes, refused as the other options' values are (naming the value and what is
 * accepted), not in the library's words after parsing. A hex colour without its # (`ff0000`:
 * the shell took an unquoted `#ff0000` for a comment) is named with it.
 */
function colour(value: string): string {
  if (isColour(value.trim())) return value
  const hex = /^[0-9a-f]{3,8}$/i.test(value.trim()) && isColour(`#${value.trim()}`)
  throw new InvalidArgumentError(
    `expected a CSS colour: a name (white, transparent), #rgb, #rrggbb, #rrggbbaa, rgb(r,g,b) or hsl(h,s%,l%)${hex ? `; did you mean '#${value.trim()}'? (quoted: the shell reads an unquoted # as the start of a comment)` : ''}`,
  )
}

/**
 * The transform stage's options (issue: resize and re-encode on a CPU pool): img2dataset's modes
 * and filters under the names its users know. Nothing given: no pool, the bytes kept as downloaded.
 */
export function addTransformOptions(command: Command, except: readonly string[] = []): Command {
  for (const option of transformOptions()) if (!except.includes(option.long ?? '')) command.addOption(option)
  return command
}

/** The attribute names of the transform options, which together make a run's `transform`. */
export const transformAttributes = (): string[] => transformOptions().map((o) => o.attributeName())

/** The options `addTransformOptions` adds, each made anew (an Option belongs to one command). */
function transformOptions(): Option[] {
  return [
    new Option(
      '--resize <mode>',
      'resize every image: keep-ratio (shortest side to --size), keep-ratio-largest, center-crop, border',
    )
      .choices([...RESIZE_MODES])
      .default('no'),
    new Option('--size <px>', 'target size in pixels for --resize (at most 65535)').argParser(
      integer(1, 65_535),
    ),
    new Option('--resize-only-if-bigger', 'never enlarge an image'),
    new Option(
      '--background <colour>',
      "colour of border's padding and under transparency in JPEG, where a translucent one is laid over white (default: #ffffff)",
    ).argParser(colour),
    new Option(
      '--encode <format>',
      'write changed images in this format; one already in it is rewritten only to strip EXIF, XMP, IPTC, PNG text, a JPEG comment or a C2PA manifest',
    ).choices([...ENCODE_FORMATS]),
    new Option(
      '--quality <1-100>',
      'encoding quality (default: 80 for JPEG and WebP, 50 for AVIF; PNG, TIFF and a lossless WebP kept as WebP are written lossless)',
    ).argParser(integer(1, 100)),
    new Option('--min-size <px>', 'refuse an image either of whose sides is smaller (too-small)').argParser(
      integer(1),
    ),
    new Option(
      '--max-aspect-ratio <r>',
      'refuse an image whose long side over its short side is more (bad-aspect-ratio)',
    ).argParser(atLeast(1)),
    new Option(
      '--max-pixels <n>',
      "refuse an image (or the resized output; an animation's frames or a TIFF's pages together where all are decoded) of more pixels, from its header (too-many-pixels) (default: 268402689 with any other transform option, none without)",
    ).argParser(integer(1)),
    new Option(
      '--keep-metadata',
      'keep EXIF, XMP, IPTC (as XMP in PNG, WebP, AVIF), PNG text and the ICC profile in re-encoded images',
    ),
    new Option(
      '--verify <level>',
      'structure: each format checked whole; decode: every image fully decoded too',
    )
      .choices(['structure', 'decode'])
      .default('structure'),
  ]
}

/** Each transform option's flag, as a misfit names it (see `transformMisfit`). */
const MISFIT_FLAGS: Record<TransformMisfit['option'], string> = {
  size: '--size',
  resizeOnlyIfBigger: '--resize-only-if-bigger',
  quality: '--quality',
  keepMetadata: '--keep-metadata',
  background: '--background',
}

/** A transform option given where it does nothing, in the command line's words. */
function misfitWords({ option, needs }: TransformMisfit): string {
  const flag = MISFIT_FLAGS[option]
  if (needs === 'resize')
    return option === 'size'
      ? '--size is the target of --resize: give a --resize mode'
      : `${flag} goes with a --resize mode`
  if (needs === 'written')
    return `${flag} is for images written anew: give --encode or a --resize mode, or leave ${flag} out`
  return `${flag} fills the padding of --resize border and the transparency under --encode jpg: give one, or leave ${flag} out`
}

/** The transform spec from parsed command-line options (validated by `resolveTransformSpec`). */
export function transformFrom(o: Record<string, unknown>): Partial<TransformSpec> {
  // Said in the options' own words: the library's messages name its fields.
  if (o.resize !== undefined && o.resize !== 'no' && o.size === undefined)
    throw new UsageError(`--resize ${o.resize} needs --size <px>`)
  const spec = {
    resize: o.resize as TransformSpec['resize'] | undefined,
    size: o.size as number | undefined,
    resizeOnlyIfBigger: o.resizeOnlyIfBigger === true,
    background: o.background as string | undefined,
    encode: o.encode as TransformSpec['encode'],
    quality: o.quality as number | undefined,
    minSize: o.minSize as number | undefined,
    maxAspectRatio: o.maxAspectRatio as number | undefined,
    maxPixels: o.maxPixels as number | undefined,
    keepMetadata: o.keepMetadata === true,
    verifyDecode: o.verify === 'decode',
  }
  const misfit = transformMisfit(spec)
  if (misfit) throw new UsageError(misfitWords(misfit))
  return spec
}
