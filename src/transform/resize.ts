import { createHash } from 'node:crypto'
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs'
import { open, readFile, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import type { Metadata, Sharp, default as SharpModule, SharpOptions } from 'sharp'
import { NO_FOLLOW, writeOwnFileSync } from '../utils/own-file.js'
import { sniffBinary, sniffCommon } from '../verify/magic.js'
import { asXml10, SVG_WINDOW, svgDimensions, svgInUtf8, svgRoot } from '../verify/svg.js'
import { entityExpansion, entityMessage } from '../verify/svg-entities.js'
import { hiddenDefaultFrame, hidesDefaultImage } from './apng.js'
import { type ByteSource, FileBytes, inMemory } from './byte-source.js'
import { TransformError } from './errors.js'
import { shortGifFrame } from './gif-pixels.js'
import { uprightXmp, xmpWithIptc } from './iptc-xmp.js'
import { plainJpegHeader } from './jpeg-header.js'
import { jpegCarriesMetadata } from './jpeg-metadata.js'
import { scansShort } from './jpeg-scans-sent.js'
import {
  ALPHA_FORMATS,
  ANIMATED_FORMATS,
  framesOver,
  gammaExponent,
  type ImageHeader,
  oriented,
  type Plan,
  pagesOver,
  plan,
} from './plan.js'
import { pngCarriesMetadata, pngGamma } from './png-metadata.js'
import { DEFAULT_MAX_PIXELS, opaqueColour, type TransformSpec } from './spec.js'
import { svgImagesOver } from './svg-images.js'
import { useExpansion, useMessage } from './svg-uses.js'
import { webpFacts } from './webp-coding.js'

/**
 * sharp by its CommonJS entry, as the worker loads it (`worker.ts`): its ES module entry cost a
 * worker some 60 ms more CPU to start (each of its 14 modules through the ES loader, its
 * package.json as a JSON module), about 0.12 ms an image over a run of 1,000 on 2 workers.
 */
const sharp: typeof SharpModule = createRequire(import.meta.url)('sharp')

/**
 * The sharp (libvips) steps for one image: read its header, plan, then keep it or decode, orient,
 * resize and encode it. Runs inside a pool worker (`worker.ts`); nothing here knows about the pool.
 */

/** Where an image is: its bytes, or a file the worker reads itself. */
export type ImageInput = Buffer | Uint8Array | { path: string }

/** What came out of the transform stage for one image. */
export interface Transformed {
  /** True when the image needed no change: `bytes` is absent and the input is the output, byte for byte. */
  kept: boolean
  /** The new image, unless kept or written to the `output` path. */
  bytes?: Buffer
  /** Where the new image was written, when an `output` path was given. */
  path?: string
  /** Size of the new image in bytes (absent when kept). */
  size?: number
  /** sha256 of the new image, lowercase hex (absent when kept): hashed where it was made. */
  sha256?: string
  /** Extension of the output format: `jpg`, `png`, `webp`, `avif`, `gif`, `tif`, or the input's when kept. */
  format: string
  /** Output size in pixels, as displayed (after EXIF orientation). */
  width: number
  height: number
  /** Input size in pixels, as displayed (after EXIF orientation). */
  originalWidth: number
  originalHeight: number
}

/** `jpeg` → `jpg`, `heif` → `avif` or `heic` (by codec), `tiff` → `tif`: the extensions the sniffer uses. */
export function extensionOf(metadata: Pick<Metadata, 'format' | 'compression'>): string {
  switch (metadata.format) {
    case 'jpeg':
      return 'jpg'
    case 'heif':
      return metadata.compression === 'av1' ? 'avif' : 'heic'
    case 'tiff':
      return 'tif'
    default:
      return metadata.format
  }
}

// libvips' error text for "the header promises more pixels than allowed".
const PIXEL_LIMIT = /exceeds pixel limit/i
const MISSING = /^Input file is missing/
// libxml2's words when an XML document's entities grow too much (its amplification and depth guards).
const ENTITY_GUARD =
  /Maximum entity amplification factor exceeded|Maximum entity nesting depth exceeded|Detected an entity reference loop/
// libtiff's words for a TIFF whose codec this build leaves out (LZMA, ZSTD, JBIG; GDAL writes the first two).
const NO_CODEC = /(\S+) compression support is not configured/
// libheif's error text for a HEIF file that names no primary image item.
const NO_PRIMARY = /No or invalid primary item/
// libvips' error text for "no loader takes these bytes".
const UNSUPPORTED = /unsupported image format/i
/**
 * A loader's own words for pixel data cut short or corrupt, which name no format and no fault:
 * libvips' for any libpng error ("vipspng: libpng read error": a PNG cut between IDAT chunks and
 * closed with IEND, libpng's "Not enough image data" lost), libheif's for data where its item
 * locations point past what it can read ("source: bad seek to 54615").
 */
const CUT_WORDS = /libpng read error|bad seek to \d+/
/** Formats by the names people know them by, where the extension is not one. */
const FORMAT_NAMES: Record<string, string> = {
  jxl: 'JPEG XL',
  jp2: 'JPEG 2000',
  jpx: 'JPEG 2000',
  j2c: 'JPEG 2000',
  cur: 'CUR (a cursor)',
}

/** A format's name with its article, for a message: `a PNG`, `an AVIF`, `a JPEG XL`. */
function withArticle(format: string): string {
  const name = format === 'jpg' ? 'JPEG' : (FORMAT_NAMES[format] ?? format.toUpperCase())
  return `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}`
}

function source(input: ImageInput): Buffer | string {
  if ('path' in input) return input.path
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength)
}

/** The first bytes of an image: enough to tell its format (`SVG_WINDOW`, an SVG's root included). */
async function headOf(input: ImageInput): Promise<Buffer | undefined> {
  const from = source(input)
  if (typeof from !== 'string') return from.subarray(0, SVG_WINDOW)
  return (await endsOf(from))?.head
}

/**
 * A file's first `SVG_WINDOW` bytes and its last `tailBytes` (fewer for a shorter file), read in
 * one open; `undefined` when it cannot be opened (sharp says what is wrong with it).
 */
async function endsOf(path: string, tailBytes = 0): Promise<{ head: Buffer; tail: Buffer } | undefined> {
  const file = await open(path, 'r').catch(() => undefined)
  if (!file) return undefined
  try {
    const head = Buffer.alloc(SVG_WINDOW)
    const { bytesRead } = await file.read(head, 0, SVG_WINDOW, 0)
    const size = tailBytes > 0 ? (await file.stat()).size : 0
    const tail = Buffer.alloc(Math.min(tailBytes, size))
    if (tail.length > 0) await file.read(tail, 0, tail.length, size - tail.length)
    return { head: head.subarray(0, bytesRead), tail }
  } finally {
    await file.close()
  }
}

/** The format an image's first bytes show, as the download's check told it. */
function formatOf(head: Buffer | undefined): string | undefined {
  if (!head) return undefined
  return (sniffCommon(head) ?? sniffBinary(head))?.ext ?? (svgRoot(head) ? 'svg' : undefined)
}

/**
 * The input as sharp is to read it. libvips tells an SVG file by `<svg` in its first 1,000 bytes
 * only (a buffer, by all of it): one whose licence comment or doctype puts its root further (the
 * sniffer looks `SVG_WINDOW` far) was "unsupported image format", so `--verify decode` and every
 * transform refused a good image. An SVG is text the renderer holds whole anyway: it goes as bytes.
 */
async function loaded(input: ImageInput, maxPixels = DEFAULT_MAX_PIXELS): Promise<Buffer | string> {
  let from = source(input)
  if (typeof from === 'string') from = smallFile(from) ?? from
  if (typeof from !== 'string') {
    const format = formatOf(from.subarray(0, SVG_WINDOW))
    if (format === 'svg') return rendered(from, maxPixels)
    if (format === 'avif') return avifBranded(from)
    if (format === 'png') return firstFrameShown(from)
    return format === 'jpg' && !endsWithEoi(from) ? withEoi(from) : from
  }
  const ends = await endsOf(from, EOI.length)
  const format = formatOf(ends?.head)
  if (format === 'svg') return rendered(await readFile(from), maxPixels)
  if (format === 'png' && fileHidesDefaultImage(from)) return firstFrameShown(await readFile(from))
  if (format === 'jpg' && !endsWithEoi(ends!.tail)) return withEoi(await readFile(from))
  if (format === 'avif' && !branded(ends!.head)) return avifBranded(await readFile(from))
  return from
}

/**
 * A PNG as browsers show it: an APNG whose default image is hidden (see `apng.ts`) as its first
 * frame, placed on its canvas where the frame is smaller (transparent around it); any other PNG as
 * it is. The file is kept as it came.
 */
async function firstFrameShown(bytes: Buffer): Promise<Buffer> {
  const frame = hiddenDefaultFrame(bytes)
  if (!frame) return bytes
  const { png, canvas, left, top } = frame
  const { width, height } = await sharp(png).metadata()
  if (width === canvas.width && height === canvas.height) return png
  return sharp(png)
    .ensureAlpha()
    .extend({
      left,
      top,
      right: canvas.width - width - left,
      bottom: canvas.height - height - top,
      background: { r: 0, g: 0, b: 0, alpha: 0 },
    })
    .keepMetadata()
    .png({ compressionLevel: 0 })
    .toBuffer()
}

/** Whether the PNG file at `path` hides its default image (see `hidesDefaultImage`), read by chunk headers. */
function fileHidesDefaultImage(path: string): boolean {
  return readByWindows(path, hidesDefaultImage, false)
}

/** `read` of the file at `path` by windows (never whole), closed after; `otherwise` if it cannot be read. */
function readByWindows<T>(path: string, read: (bytes: FileBytes) => T, otherwise: T): T {
  let bytes: FileBytes | undefined
  try {
    bytes = new FileBytes(path)
    return read(bytes)
  } catch {
    return otherwise
  } finally {
    bytes?.close()
  }
}

/**
 * libvips tells a HEIF file, and its codec, by its `ftyp` major brand alone (heifload.c): its list
 * lacks `avis`, an AVIF image sequence's (an animated AVIF, as libavif's avifenc writes one from
 * several frames), and `miaf`, and only `avif` means AV1. So an
 * animated AVIF was "unsupported image format" (`--verify decode` and every transform refused it,
 * a message blaming AVIF itself), though libheif reads its still image (its primary item), and
 * one under `mif1` was read as HEVC, a resize writing it as PNG. The sniffer told such a file by
 * its compatible brands: the decoder is given it with `avif` for its major brand (a copy; the file
 * is kept as it came).
 */
const AVIF = Buffer.from('avif', 'latin1')
const branded = (bytes: Buffer) => bytes.subarray(8, 12).equals(AVIF)
function avifBranded(bytes: Buffer): Buffer {
  if (branded(bytes)) return bytes
  const copy = Buffer.from(bytes)
  AVIF.copy(copy, 8)
  return copy
}

/**
 * Files up to this size are read whole, once: libvips then reads the header and the pixels from
 * memory, where a path had the file opened and read three more times (its ends, its segments,
 * libvips' header read, then its pixels).
 */
const READ_WHOLE = 16 * 1024 * 1024

/**
 * The bytes of the file at `path` when it is no larger than `READ_WHOLE`; else (or unreadable)
 * `undefined`. Synchronous, as the worker runs one image at a time: `fs/promises` made five trips
 * through libuv's thread pool (open, stat, fstat, read, close), each a thread woken and a reply
 * polled for: 0.19 ms of CPU for one of the bench's JPEGs (85 KB on average) against 0.06 ms.
 */
function smallFile(path: string): Buffer | undefined {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return undefined
  }
  try {
    return fstatSync(fd).size <= READ_WHOLE ? readFileSync(fd) : undefined
  } catch {
    return undefined
  } finally {
    closeSync(fd)
  }
}

/**
 * An SVG as librsvg may render it: one whose entities build on each other is refused first (see
 * `entityExpansion`). libxml2 stops a billion laughs itself, in words that name no cause ("Error
 * domain 1 code 114"); a smaller tower of entities passes it and costs a minute of text layout.
 * So is one whose `<use>` elements multiply past librsvg's limit (see `useExpansion`), which
 * librsvg finds only once it has drawn that much. One whose embedded raster images are more than `maxPixels` together is refused as
 * `too-many-pixels` (see `svgImagesOver`): librsvg decodes each in full.
 */
async function rendered(bytes: Buffer, maxPixels: number): Promise<Buffer> {
  // libvips tells an SVG by `<svg` in UTF-8 only: a UTF-16 one goes in UTF-8; one of XML 1.1 as 1.0.
  const svg = asXml10(svgInUtf8(bytes))
  const found = entityExpansion(svg)
  if (found) throw new TransformError('undecodable', `cannot decode: ${entityMessage(found)}`)
  const uses = useExpansion(svg)
  if (uses) throw new TransformError('undecodable', `cannot decode: ${useMessage(uses)}`)
  const over = await svgImagesOver(svg, maxPixels)
  if (over) throw new TransformError('too-many-pixels', over)
  return svg
}

/**
 * A JPEG reaches a decode without its end-of-image marker (FF D9) only when the download's check
 * found every MCU of its last scan there (see `jpegScansWhole`), as browsers show it; libjpeg
 * then warns "Premature end of JPEG file", one of the words that fail a decode (`LOST_PIXELS`),
 * so `--verify decode` and every transform refused a good image. The marker is put back for the
 * decoder: a file whose scan is cut still fails, on the scan's own warning. A file with bytes
 * after its marker (a camera's trailer) is read whole too; the decoder stops at the first one.
 */
const EOI = Buffer.from([0xff, 0xd9])
const endsWithEoi = (bytes: Buffer) =>
  bytes.length >= 2 && bytes[bytes.length - 2] === 0xff && bytes[bytes.length - 1] === 0xd9
const withEoi = (bytes: Buffer) => Buffer.concat([bytes, EOI])

/**
 * Options for every decode: `failOn: 'error'` refuses corrupt and truncated pixel data (a grey
 * half-image is worse than none) but not libvips' warnings, which browsers also ignore (a JPEG is
 * first read at `warning`, see `whole`); one page
 * (the first frame of an animation); `limitInputPixels` as the safety net behind the header check.
 */
function decodeOptions(maxPixels: number, failOn: FailOn = 'error'): SharpOptions {
  return { failOn, limitInputPixels: maxPixels, pages: 1 }
}

type FailOn = 'error' | 'warning'

/**
 * libjpeg's warnings that mean scan data is missing or cannot be read, so the rest of the image is
 * grey or garbage: a JPEG cut short and closed with an end marker (which passes the structure check),
 * or corrupt entropy-coded data. libvips raises them only at `failOn: 'warning'` (libvips#2309).
 */
const LOST_PIXELS =
  /premature end of data segment|premature end of JPEG file|bad Huffman code|instead of RST|huffman data overrun/i

/**
 * Run `work` (a decode) so that a JPEG whose pixels are partly lost fails: strictly first, and again
 * at libvips' `error` level when the strict run failed only on a warning that loses nothing (a
 * Samsung phone's SOS parameters, say), as browsers show such files. Other formats: `error` only.
 */
async function whole<T>(format: string, work: (failOn: FailOn) => Promise<T>): Promise<T> {
  if (format !== 'jpg') return work('error')
  try {
    return await work('warning')
  } catch (error) {
    if (error instanceof Error && LOST_PIXELS.test(error.message)) throw error
    return work('error')
  }
}

/** The file gamma of a PNG's gAMA, when that is its only colour description (see `pngGamma`); else `undefined`. */
function pngGammaOf(input: Buffer | string): number | undefined {
  return typeof input === 'string' ? readByWindows(input, pngGamma, undefined) : pngGamma(input)
}

/** An input's bytes for the chunk walkers: a file is read by windows, never whole. */
function chunkSource(input: Buffer | string): ByteSource {
  return typeof input === 'string' ? new FileBytes(input) : inMemory(input)
}

/** The whole file an input names, or its bytes. */
function bytesOf(input: Buffer | string): Promise<Buffer> | Buffer {
  return typeof input === 'string' ? readFile(input) : input
}

function header(input: Buffer | string): Promise<ImageHeader> | ImageHeader {
  // Most photos of a dataset, read in memory (see `plainJpegHeader`): no second header read.
  return (typeof input === 'string' ? undefined : plainJpegHeader(inMemory(input))) ?? libvipsHeader(input)
}

/** An image's header as libvips reads it, with what its chunks say besides. Exported for tests. */
export async function libvipsHeader(input: Buffer | string): Promise<ImageHeader> {
  let metadata: Metadata
  try {
    // Header only: nothing is allocated for pixels, so the limit is checked by the plan instead,
    // which can then say how large the image claims to be.
    metadata = await sharp(input, { limitInputPixels: false, pages: 1 }).metadata()
  } catch (error) {
    // Past 2^31 px a side, libvips calls it "zero-sized": held to --max-pixels by the size declared.
    const declared = svgSizeOver(input)
    if (declared) return { format: 'svg', ...declared, hasAlpha: true, hasMetadata: false, space: 'srgb' }
    throw undecodable(
      error,
      UNSUPPORTED.test(String(error))
        ? formatOf(await headOf(typeof input === 'string' ? { path: input } : input))
        : undefined,
    )
  }
  const format = extensionOf(metadata)
  const declared =
    format === 'svg' && metadata.width === 1 && metadata.height === 1 ? svgSizeOver(input) : undefined
  if (declared) [metadata.width, metadata.height] = [declared.width, declared.height]
  // libvips and sharp do not say everything about a file: its chunks do (see each function). A
  // file's chunk headers are read from it, not the whole file (a 290 MB PNG took 270 MB more).
  const chunks = format === 'png' || format === 'webp' || format === 'jpg' ? chunkSource(input) : undefined
  let webp: { lossless: boolean; metadata: boolean } | undefined
  let pngText = false
  let gamma: number | undefined
  let jpegSegments = false
  try {
    webp = format === 'webp' ? webpFacts(chunks!) : undefined
    pngText = format === 'png' && pngCarriesMetadata(chunks!)
    gamma = format === 'png' ? pngGamma(chunks!) : undefined
    jpegSegments = format === 'jpg' && jpegCarriesMetadata(chunks!)
  } finally {
    if (chunks instanceof FileBytes) chunks.close()
  }
  return {
    format,
    width: metadata.width,
    height: metadata.pageHeight ?? metadata.height,
    orientation: metadata.orientation,
    hasAlpha: metadata.hasAlpha,
    // A PNG's text chunks count: ImageMagick writes a photo's EXIF there ('Raw profile type exif',
    // 'exif:GPSLatitude'), which libvips reads as text, not as EXIF; so do a JPEG's comment and
    // the application segments libvips neither reads nor writes (see `jpegCarriesMetadata`).
    hasMetadata:
      metadata.exif !== undefined ||
      metadata.xmp !== undefined ||
      metadata.iptc !== undefined ||
      (metadata.comments?.length ?? 0) > 0 ||
      pngText ||
      jpegSegments ||
      webp?.metadata === true,
    pages: metadata.pages,
    space: metadata.space,
    ...(metadata.depth === 'ushort' ? { bits: 16 } : {}),
    // The ICC header's colour space signature (bytes 16–19, ICC.1:2022 7.2.6).
    ...(metadata.icc && metadata.icc.length >= 20
      ? { profile: metadata.icc.toString('latin1', 16, 20).trim() }
      : {}),
    ...(webp?.lossless ? { lossless: true } : {}),
    ...(gamma !== undefined ? { gamma } : {}),
  }
}

/** The sides up to which libvips reads an SVG's size as it is declared. */
const SVG_READ_SIDE = 100_000_000

/**
 * The size an SVG's root declares when it is far past what libvips reads: past about 2×10^8 px a
 * side libvips reads it as 1x1, past 2^31 it fails ("svgload_buffer: zero-sized image"). A
 * `width="1e9" height="1e9"` bomb was a 1x1 image, kept so under `--verify decode`, `too-small`
 * ("1x1 has a side under 5 px") under `--min-size`, `transform-failed` resized; it is held to
 * `--max-pixels` by its own size instead. `undefined` for any other image.
 */
function svgSizeOver(input: Buffer | string): { width: number; height: number } | undefined {
  if (typeof input === 'string' || !svgRoot(input.subarray(0, SVG_WINDOW))) return undefined
  const { width, height } = svgDimensions(input)
  if (width === undefined || height === undefined) return undefined
  return Math.max(width, height) > SVG_READ_SIDE ? { width, height } : undefined
}

/** Colour spaces of a profile that the output's pixels can stay in: RGB and grey are written as they are. */
const KEPT_PROFILES: ReadonlySet<string> = new Set(['RGB', 'GRAY'])

/**
 * Whether this libvips decodes HEIC: the one sharp ships from npm leaves HEVC out (patents) and
 * lists only `.avif` for its HEIF loader; a libvips built with libde265 lists `.heic` too.
 */
const DECODES_HEIC = sharp.format.heif?.input.fileSuffix?.includes('.heic') === true

/** `format`: the image's, when its header was read (what to blame when its pixels are not). */
function undecodable(error: unknown, format?: string): TransformError {
  const detail = error instanceof Error ? error.message.split('\n')[0] : String(error)
  if (PIXEL_LIMIT.test(detail)) return new TransformError('too-many-pixels', detail, { cause: error })
  // libxml2's guards against entity bombs (flat ones too: one large entity referred to many times).
  if (ENTITY_GUARD.test(detail)) {
    const message = `cannot decode: an SVG with XML entity expansion: libxml2 stopped it (${ENTITY_GUARD.exec(detail)![0]}); not rendered`
    return new TransformError('undecodable', message, { cause: error })
  }
  // A file that is not there is the caller's trouble, not the image's.
  if (MISSING.test(detail)) return new TransformError('transform-failed', detail, { cause: error })
  // libheif's words (after libvips' "corrupt header" line) for a HEIF file with no image item: an
  // image sequence of tracks alone, which the download's check takes whole.
  if (NO_PRIMARY.test(String(error))) {
    const message = `cannot decode: a HEIF image sequence with no still image (no primary item): libvips reads a HEIF file's images, not its tracks`
    return new TransformError('undecodable', message, { cause: error })
  }
  // libheif's own words ("source: bad seek to 13035") read as a cut file; every iPhone photo says them.
  if (format === 'heic' && !DECODES_HEIC) {
    const message = `cannot decode: HEIC (HEVC) is not decoded by the libvips sharp ships from npm (${detail})`
    return new TransformError('undecodable', message, { cause: error })
  }
  if (format && CUT_WORDS.test(detail)) {
    const message = `cannot decode: ${withArticle(format)} whose pixel data ends early or is corrupt (${detail})`
    return new TransformError('undecodable', message, { cause: error })
  }
  // Whole too, its codec only not built in: libtiff's words alone name no format.
  const codec = NO_CODEC.exec(detail)
  if (codec) {
    const message = `cannot decode: a TIFF compressed with ${codec[1]} is not read by the libvips sharp ships from npm (${detail})`
    return new TransformError('undecodable', message, { cause: error })
  }
  // A format the sniffer knows and this libvips has no loader for (BMP, ICO, JPEG XL, JPEG 2000):
  // the file is whole, only not readable here; libvips' words alone read as a broken file.
  if (format && UNSUPPORTED.test(detail)) {
    const message = `cannot decode: ${FORMAT_NAMES[format] ?? format.toUpperCase()} is not read by the libvips sharp ships from npm (${detail})`
    return new TransformError('undecodable', message, { cause: error })
  }
  return new TransformError('undecodable', `cannot decode: ${detail}`, { cause: error })
}

/**
 * Decode every pixel, every frame of an animation too, and throw `undecodable` if that fails;
 * statistics are the cheapest full read sharp offers.
 */
async function decodeFully(
  input: Buffer | string,
  maxPixels: number,
  format: string,
  head?: ImageHeader,
): Promise<void> {
  // A TIFF's pages (a pyramid's levels, a scan's pages) have a size each: libvips reads pages
  // together only when they are alike ("page 1 differs from page 0", libvips#1359), so they are
  // decoded one by one; a good pyramidal TIFF was undecodable.
  if (head?.pages && head.pages > 1 && !ANIMATED_FORMATS.has(format)) {
    return decodePages(input, maxPixels, format, head.pages)
  }
  // The limit holds for all the frames decoded: a long animation at a large size would otherwise
  // take minutes of a worker, on every run.
  const over = head?.pages && head.pages > 1 ? framesOver(head, head.pages, maxPixels, 'decode') : undefined
  if (over) throw new TransformError(over.code, over.message)
  if (format === 'gif') await wholeGif(input)
  if (format === 'jpg') wholeScans(input)
  try {
    await whole(format, (failOn) =>
      readAll(sharp(input, { ...decodeOptions(maxPixels, failOn), pages: -1 }), format),
    )
  } catch (error) {
    throw undecodable(error, format)
  }
}

/**
 * Read every pixel of `image` (its statistics: the cheapest full read sharp offers). An interlaced
 * (Adam7) PNG whose image data ends early, closed with IEND, is read whole by libpng, and its
 * failure ("Not enough image data") was lost on the way: the statistics came back with no channel
 * and no error, so `--verify decode` kept it as good, and a resize failed as `transform-failed`,
 * `vips2png: unable to write to target target`, naming no culprit (gatsbyjs/gatsby#24774,
 * imgproxy/imgproxy#122). Statistics of no channel are a decode that failed.
 */
async function readAll(image: Sharp, format: string): Promise<void> {
  const { channels } = await image.stats()
  if (channels.length === 0) {
    throw new Error(
      `${withArticle(format)} whose pixel data ends early or is corrupt: its decoder gave no pixels`,
    )
  }
}

/**
 * Throw `undecodable` when one of a GIF's first `frames` frames (all when `undefined`) holds fewer
 * pixels than its size: libnsgif leaves the rest transparent without a word (see `gif-pixels.ts`).
 */
async function wholeGif(input: Buffer | string, frames?: number): Promise<void> {
  const short = shortGifFrame(await bytesOf(input), frames)
  if (!short) return
  const { frame, pixels, expected } = short
  const message = `cannot decode: GIF frame ${frame + 1} holds ${pixels} of its ${expected} pixels: its data ends early`
  throw new TransformError('undecodable', message)
}

/**
 * Throw `undecodable` when a JPEG's scans leave a coefficient short of its last bit: libjpeg
 * decodes it blurred, or grey, without a word (see `jpeg-scans-sent.ts`).
 */
function wholeScans(input: Buffer | string): void {
  const short = typeof input === 'string' ? readByWindows(input, scansShort, undefined) : scansShort(input)
  if (short) throw new TransformError('undecodable', `cannot decode: ${short}`)
}

/**
 * Decode each of a file's `pages`, all of them held to `maxPixels` together: in one read when they
 * are alike (libvips stacks them), else each on its own, as libvips refuses to read them together
 * (see `decodeFully`). One by one, each page cost two opens of the file, which libtiff walks
 * from its first page: a 960 KB scan of 3,000 pages of 16x16 took over 5 minutes, past the pool's
 * timeout (`transform-failed` for a good file); read at once, as libvips stacks a volume's slices
 * (libvips/libvips#513), 1 s.
 */
async function decodePages(input: Buffer | string, maxPixels: number, format: string, pages: number) {
  const together = await sharp(input, { limitInputPixels: false, pages: -1 })
    .metadata()
    .catch(() => undefined)
  const sizes: { width: number; height: number }[] = []
  try {
    for (let page = 0; page < pages; page++) {
      const { width, height } = together
        ? { width: together.width, height: together.pageHeight ?? together.height }
        : await sharp(input, { limitInputPixels: false, page }).metadata()
      sizes.push({ width, height })
    }
  } catch (error) {
    throw undecodable(error, format)
  }
  const over = pagesOver(sizes, maxPixels)
  if (over) throw new TransformError(over.code, over.message)
  for (let page = 0; page < (together ? 1 : pages); page++) {
    try {
      await whole(format, (failOn) =>
        readAll(
          sharp(input, { ...decodeOptions(maxPixels, failOn), ...(together ? { pages: -1 } : { page }) }),
          format,
        ),
      )
    } catch (error) {
      throw undecodable(error, format)
    }
  }
}

/**
 * The encoder for `format`. TIFF is written with LZW (lossless, 16 bits kept, read by libtiff, PIL
 * and tifffile): sharp's default, JPEG inside the TIFF, is lossy, 8 bits only, and unreadable to
 * many tools; `quality` does not apply to it. `lossless`: a WebP written losslessly (see `Plan`).
 */
function encoder(image: Sharp, format: string, quality: number | undefined, lossless = false): Sharp {
  switch (format) {
    case 'jpg':
      return image.jpeg({ quality })
    case 'png':
      return image.png()
    case 'webp':
      return image.webp(lossless ? { lossless: true } : { quality })
    case 'avif':
      return image.avif({ quality })
    case 'gif':
      return image.gif()
    case 'tif':
      return image.tiff({ compression: 'lzw', predictor: 'horizontal' })
    default:
      throw new TypeError(`no encoder for ${format}`)
  }
}

/** Formats libvips writes IPTC (IIM) into; in any other, `--keep-metadata` carries it as XMP. */
const IPTC_FORMATS: ReadonlySet<string> = new Set(['jpg', 'tif'])

/**
 * The XMP to write in place of the image's own under `--keep-metadata`, or `undefined` to keep what
 * it has: with the fields of its IPTC when `format` has no place for IPTC (see `xmpWithIptc`), and
 * its orientation 1, as its pixels are written upright (see `uprightXmp`).
 */
async function xmpFor(input: Buffer | string, format: string): Promise<string | undefined> {
  const { iptc, xmp } = await sharp(input, { limitInputPixels: false }).metadata()
  const own = xmp?.toString('utf8')
  const merged = iptc && !IPTC_FORMATS.has(format) ? (xmpWithIptc(iptc, own) ?? own) : own
  const upright = merged === undefined ? undefined : uprightXmp(merged)
  return upright === own ? undefined : upright
}

/**
 * A PNG's pixels raised to the power `exponent` (see `gammaExponent`), as a PNG again (at no
 * compression: it is read once more, at once), its metadata and its 16 bits kept; alpha untouched.
 * A pass of its own, before the resize: sharp's `gamma` darkens before its resize and brightens
 * after it, so a border's padding and a flattening background came out brightened with the image.
 */
function gammaCorrected(
  input: Buffer | string,
  head: ImageHeader,
  exponent: number,
  maxPixels: number,
): Promise<Buffer> {
  // sharp raises to `gamma` first and to 1/`gammaOut` last, each between 1 and 3.
  const [gamma, gammaOut] = exponent >= 1 ? [exponent, 1] : [1, 1 / exponent]
  let image = sharp(input, decodeOptions(maxPixels)).gamma(gamma, gammaOut).keepMetadata()
  if (head.bits === 16) image = image.toColourspace(head.space === 'grey16' ? 'grey16' : 'rgb16')
  return image.png({ compressionLevel: 0 }).toBuffer()
}

/** The longest side librsvg draws, cairo's (sharp refuses an SVG past it, lovell/sharp#3964). */
const SVG_MAX_SIDE = 32_767

/** An SVG drawn to raw pixels (see `drawn`), read as pixels by `pipeline`. */
interface Drawn {
  data: Buffer
  raw: { width: number; height: number; channels: 1 | 2 | 3 | 4 }
}

/**
 * The density (dpi) to draw an SVG longer than `SVG_MAX_SIDE` at, so that its longest side is that
 * long; `undefined` for any other image. sharp refused such an image ("Input SVG image exceeds
 * 32767x32767 pixel limit", as `transform-failed`) even scaled down to 100 px, and, given a lower
 * density, drew it at the output's scale, where a 40000x10 strip is a fortieth of a pixel high:
 * transparent. Drawn so, it is scaled from there (see `drawn`). Throws `too-many-pixels` past
 * what sharp draws at its least density, 1 dpi.
 */
function svgDensity(head: ImageHeader): number | undefined {
  const side = Math.max(head.width, head.height)
  if (head.format !== 'svg' || side <= SVG_MAX_SIDE) return undefined
  // The short side drawn a whole number of pixels: libvips rounds the canvas, and librsvg fits the
  // drawing into it keeping its aspect, so a 40000x10 strip drawn 32767x8.19 came out 32000x8,
  // 384 px of transparency either end.
  const short = Math.min(head.width, head.height)
  const whole = Math.floor((short * SVG_MAX_SIDE) / side)
  const density = 72 * (whole >= 1 ? whole / short : SVG_MAX_SIDE / side)
  if (density < 1) {
    const message = `${head.width}x${head.height} is longer than an SVG can be drawn (${72 * SVG_MAX_SIDE} px a side)`
    throw new TransformError('too-many-pixels', message)
  }
  return density
}

/** An SVG drawn to raw pixels at `density` (see `svgDensity`), for `pipeline` to scale. */
async function drawn(input: Buffer | string, density: number, maxPixels: number): Promise<Drawn> {
  const { data, info } = await sharp(input, { ...decodeOptions(maxPixels), density })
    .raw()
    .toBuffer({ resolveWithObject: true })
  return { data, raw: { width: info.width, height: info.height, channels: info.channels } }
}

function pipeline(
  input: Buffer | string | Drawn,
  head: ImageHeader,
  step: Extract<Plan, { action: 'encode' }>,
  spec: TransformSpec,
  maxPixels: number,
  failOn: FailOn,
  xmp?: string,
) {
  // Every frame of an animation written again (see `Plan`): the limit holds for all of them, as the plan checked.
  const frames = step.frames ? { pages: -1 } : {}
  let image =
    typeof input === 'string' || Buffer.isBuffer(input)
      ? sharp(input, { ...decodeOptions(maxPixels, failOn), ...frames, autoOrient: true })
      : sharp(input.data, { raw: input.raw })
  // Drawn smaller than it is (see `drawn`), an SVG left at its size is brought back to it.
  if (!Buffer.isBuffer(input) && typeof input !== 'string' && !step.resize)
    image = image.resize({ width: step.width, height: step.height, fit: 'fill' })
  // Read at 8 bits, a grey image is converted by its own profile (sharp skips a 16-bit one); that
  // makes it sRGB, for a background in colour too.
  if (step.greyProfile) image = image.pipelineColourspace('b-w')
  if (step.rgb) image = image.pipelineColourspace('srgb')
  if (step.deep) image = image.toColourspace(head.space === 'grey16' && !step.rgb ? 'grey16' : 'rgb16')
  // Written without an alpha channel, a translucent background is the colour it shows over white.
  const background = ALPHA_FORMATS.has(step.format) ? spec.background : opaqueColour(spec.background)
  const resize = step.resize
  if (resize?.fit === 'fill')
    image = image.resize({ width: resize.width, height: resize.height, fit: 'fill' })
  if (resize && resize.fit !== 'fill') {
    const { scaled, left, top, width, height } = resize
    image = image.resize({ ...scaled, fit: 'fill' })
    image =
      resize.fit === 'cover'
        ? image.extract({ left, top, width, height })
        : image.extend({
            left,
            top,
            right: width - scaled.width - left,
            bottom: height - scaled.height - top,
            background,
          })
  }
  if (step.flatten) image = image.flatten({ background })
  image = encoder(image, step.format, spec.quality, step.lossless)
  // Without keepMetadata sharp writes no EXIF, XMP, IPTC nor ICC profile, and converts the pixels
  // to sRGB first: the colours stay right, and nothing about the camera or the place goes out.
  // But a 16-bit RGB image is converted by its profile to Display P3, sharp's working space at 16
  // bits, and written so without a profile: a Photoshop 16-bit PNG's sRGB red (255,0,0) came out
  // (234,51,35), as JPEG too. It is converted on to sRGB, no profile attached.
  if (!spec.keepMetadata) {
    const p3 = head.bits === 16 && head.profile === 'RGB' && head.space !== 'grey16'
    return p3 ? image.withIccProfile('srgb', { attach: false }) : image
  }
  // A CMYK (or Lab...) profile cannot describe the RGB pixels written: sharp's keepMetadata then
  // converts without it (a Photoshop print file's colours visibly off, lovell/sharp#3906). Such an
  // image is converted by its profile to sRGB, which is attached; EXIF, XMP and IPTC are kept.
  // A grey profile cannot describe the RGB pixels written for a grey image either: sharp's
  // keepMetadata dropped it unconverted (a linear grey 128, shown 188, came out 128 with no profile).
  const kept = head.profile === undefined || (KEPT_PROFILES.has(head.profile) && !step.greyProfile)
  image = kept ? image.keepMetadata() : image.withMetadata()
  return xmp === undefined ? image : image.withXmp(xmp)
}

/**
 * Transform one image as `spec` says. Resolves with what came out; with `output`, the new image
 * is written to that path by the worker (never held in the caller's memory) instead of returned.
 * With `replaceInput` too and a `{ path }` input, the input file itself becomes the output (see
 * `intoInput`; removed where it cannot be renamed): its path is gone once a new image is written;
 * a kept image leaves it as it is.
 * Throws `TransformError`: a filter's code; `undecodable`; `too-many-pixels` from the decoder's own
 * limit when a header lies; `transform-failed` when the input decodes but the output cannot be
 * made or written.
 */
export async function transformImage(
  input: ImageInput,
  spec: TransformSpec,
  output?: string,
  replaceInput = false,
): Promise<Transformed> {
  const maxPixels = spec.maxPixels ?? DEFAULT_MAX_PIXELS
  const from = await loaded(input, maxPixels)
  const head = await header(from)
  const original = oriented(head)
  const step = plan(head, spec, maxPixels)
  if (step.action === 'refuse') throw new TransformError(step.code, step.message)
  const sizes = { originalWidth: original.width, originalHeight: original.height }
  if (step.action === 'keep') {
    if (spec.verifyDecode) await decodeFully(from, maxPixels, head.format, head)
    return { kept: true, format: head.format, width: original.width, height: original.height, ...sizes }
  }
  // Only the frames written are decoded: the first, or all of them.
  if (head.format === 'gif') await wholeGif(from, step.frames ? undefined : 1)
  if (head.format === 'jpg') wholeScans(from)
  const density = svgDensity(head)
  try {
    const xmp = spec.keepMetadata && head.hasMetadata ? await xmpFor(from, step.format) : undefined
    const pixels =
      density !== undefined
        ? await drawn(from, density, maxPixels)
        : step.gamma === undefined
          ? from
          : await gammaCorrected(from, head, step.gamma, maxPixels)
    const { data, info } = await whole(head.format, (failOn) =>
      pipeline(pixels, head, step, spec, maxPixels, failOn, xmp).toBuffer({ resolveWithObject: true }),
    )
    const made = {
      kept: false,
      format: step.format,
      width: info.width,
      // An animation comes out as its frames stacked: its height is a frame's.
      height: step.frames ? step.height : info.height,
      size: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
      ...sizes,
    }
    if (!output) return { ...made, bytes: data }
    try {
      // Synchronously, as the input was read (see `smallFile`).
      const into = replaceInput && 'path' in input
      if (!(into && intoInput(input.path, output, data))) {
        writeOwnFileSync(output, data)
        // Not renamed (see `intoInput`): gone all the same, so a caller never has to look (a run
        // unlinked every resized download's part after the pool, each a failed trip through libuv's
        // thread pool and a thrown ENOENT: 0.05 ms of the main thread's CPU an image).
        if (into) dropInput(input.path)
      }
    } catch (error) {
      await rm(output, { force: true })
      throw new LocalWriteError(error)
    }
    return { ...made, path: output }
  } catch (error) {
    // The disk's fault (full, read-only), not the image's: thrown as it is, for the run to stop on.
    if (error instanceof LocalWriteError) throw error.cause
    if (output) await rm(output, { force: true }) // no half-written file left behind
    // The decoder or the encoder? Decoding alone again tells: an image that decodes is not to blame.
    await decodeFully(from, maxPixels, head.format)
    throw failed(error)
  }
}

/**
 * Write `data` into the file at `input`, renamed to `output` first; `false` (nothing done) when
 * `input` cannot be opened or renamed. No file is made and none deleted: ext4 without a journal (ialloc.c,
 * `recently_deleted`) passes over every inode freed in the last minute or more each time it
 * allocates one, so a run that deleted each download once resized (and made a new file for the
 * result) made every later file dearer, the more so the longer it ran: 0.8 ms of CPU an image
 * (`perf`, the resize scenario's 1,000 JPEGs in 15 s) where a run without resizing spent none.
 * The descriptor is opened before the rename, so what is written is the file that was read.
 */
function intoInput(input: string, output: string, data: Buffer): boolean {
  let fd: number
  try {
    fd = openSync(input, constants.O_RDWR | NO_FOLLOW)
  } catch {
    return false
  }
  try {
    try {
      renameSync(input, output)
    } catch {
      return false // not renamed (Windows will not rename an open file): written the usual way
    }
    for (let at = 0; at < data.length; ) at += writeSync(fd, data, at, data.length - at, at)
    ftruncateSync(fd, data.length)
    return true
  } finally {
    closeSync(fd)
  }
}

/** Remove the input a new image replaces; one that will not go is left, as an unlink after the pool left it. */
function dropInput(path: string): void {
  try {
    rmSync(path, { force: true })
  } catch {}
}

/** A failure to write the output file, carried past the image's own failures. */
class LocalWriteError extends Error {
  constructor(override readonly cause: unknown) {
    super('write failed')
  }
}

function failed(error: unknown): TransformError {
  const detail = error instanceof Error ? error.message.split('\n')[0] : String(error)
  return new TransformError('transform-failed', `cannot write the image: ${detail}`, { cause: error })
}

/** Options of `thumbnail`. */
export interface ThumbnailOptions {
  /** Longest side in pixels; a smaller image is not enlarged. @default 160 */
  size?: number
  /** @default 'webp' */
  format?: 'webp' | 'jpg'
  /** @default 70 */
  quality?: number
}

/**
 * A small preview: oriented upright, the longest side to `size` (never enlarged), no metadata,
 * flattened onto white for JPEG. JPEGs are shrunk while they load (libvips' shrink-on-load), so
 * even a large photo costs a few ms. Throws `TransformError` `undecodable` or `too-many-pixels`.
 */
export async function thumbnailImage(input: ImageInput, options: ThumbnailOptions = {}): Promise<Buffer> {
  const { size = 160, format = 'webp', quality = 70 } = options
  let from = await loaded(input)
  // A PNG shown by its gAMA (see `plan`) is previewed in the colours a browser shows it in too.
  const exponent = gammaExponent(pngGammaOf(from))
  if (exponent !== undefined) {
    try {
      from = await gammaCorrected(from, { format: 'png', width: 0, height: 0 }, exponent, DEFAULT_MAX_PIXELS)
    } catch (error) {
      throw undecodable(error)
    }
  }
  let image = sharp(from, { ...decodeOptions(DEFAULT_MAX_PIXELS), autoOrient: true }).resize({
    width: size,
    height: size,
    fit: 'inside',
    withoutEnlargement: true,
  })
  image =
    format === 'jpg' ? image.flatten({ background: '#ffffff' }).jpeg({ quality }) : image.webp({ quality })
  try {
    return await image.toBuffer()
  } catch (error) {
    throw undecodable(error)
  }
}
