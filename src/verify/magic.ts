import { ascii, fourcc, u16be, u16le, u32be, u32le } from './bytes.js'

/** A format sniff() accepts. */
export interface Sniffed {
  /** Extension without the dot: `jpg`, `png`, `webp`, ... (file-type's names where it has one). */
  ext: string
  mime: string
}

const JPEG: Sniffed = { ext: 'jpg', mime: 'image/jpeg' }
const PNG: Sniffed = { ext: 'png', mime: 'image/png' }
const GIF: Sniffed = { ext: 'gif', mime: 'image/gif' }
const WEBP: Sniffed = { ext: 'webp', mime: 'image/webp' }

/**
 * The four formats that make up nearly every image on the web, by their magic numbers (12 bytes at most).
 * An APNG is a PNG: its signature and structure are PNG's, and `.png` is what it is served and saved as.
 */
export function sniffCommon(head: Uint8Array): Sniffed | undefined {
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return JPEG
  if (head[0] === 0x89 && ascii(head, 1, 'PNG\r\n\u001a\n')) return PNG
  if (ascii(head, 0, 'GIF87a') || ascii(head, 0, 'GIF89a')) return GIF
  if (ascii(head, 0, 'RIFF') && ascii(head, 8, 'WEBP')) return WEBP
  return undefined
}

/** The most bytes an ISO-BMFF `ftyp` box is read for: its brands. */
const FTYP_BYTES = 4096

/**
 * The binary formats other than the common four, from their first bytes (at most the `ftyp` box, within
 * 4,096 bytes). Each test is strict enough that text cannot pass it: two ASCII letters ("BM") or four zero
 * bytes (ICO) are not enough on their own, so the header fields after them must make sense too.
 */
export function sniffBinary(head: Uint8Array): Sniffed | undefined {
  return tiff(head) ?? isobmff(head) ?? jxl(head) ?? j2c(head) ?? bmp(head) ?? ico(head)
}

/** TIFF (TIFF 6.0 §2) and BigTIFF: byte order, 42 (or 43), first IFD offset. Camera raw files built on TIFF (DNG, CR2, NEF, ARW) are TIFF here. */
function tiff(h: Uint8Array): Sniffed | undefined {
  if (h.length < 8) return undefined
  const little = h[0] === 0x49 && h[1] === 0x49
  if (!little && !(h[0] === 0x4d && h[1] === 0x4d)) return undefined
  const version = little ? u16le(h, 2) : u16be(h, 2)
  // The first IFD's offset follows; it is never checked against the head, which is where file-type
  // failed: ImageMagick and libtiff write the IFD after the image data, far beyond the first 4 KB.
  if (version === 42) {
    const ifd = little ? u32le(h, 4) : u32be(h, 4)
    return ifd >= 8 ? { ext: 'tif', mime: 'image/tiff' } : undefined
  }
  if (version === 43 && h.length >= 16) {
    const bytesize = little ? u16le(h, 4) : u16be(h, 4)
    return bytesize === 8 ? { ext: 'tif', mime: 'image/tiff' } : undefined
  }
  return undefined
}

const HEIC_BRANDS = new Set(['heic', 'heix', 'heim', 'heis'])
const HEIC_SEQUENCE_BRANDS = new Set(['hevc', 'hevx', 'hevm', 'hevs'])

/**
 * HEIF, HEIC, AVIF and JPEG 2000 by their `ftyp` brands (ISO/IEC 14496-12 §4.3). The major brand decides;
 * a generic major brand (`mif1`, `msf1`, `miaf`) defers to the compatible brands, as Samsung's HEICs and
 * some AVIFs carry it. Other ISO-BMFF files (MP4, QuickTime, CR3) are not images here.
 */
function isobmff(h: Uint8Array): Sniffed | undefined {
  let at = 0
  // JPEG 2000 (ISO/IEC 15444-1 Annex I): a 12-byte signature box, then ftyp.
  const jp2 = u32be(h, 0) === 12 && ascii(h, 4, 'jP  \r\n\u0087\n')
  if (jp2) at = 12
  if (h.length < at + 16 || !ascii(h, at + 4, 'ftyp')) return undefined
  const size = u32be(h, at)
  if (size < 16 || size > FTYP_BYTES || size % 4 !== 0) return undefined
  const brands = [fourcc(h, at + 8)]
  for (let b = at + 16; b + 4 <= Math.min(at + size, h.length); b += 4) brands.push(fourcc(h, b))
  if (jp2) {
    if (brands[0] === 'jp2 ') return { ext: 'jp2', mime: 'image/jp2' }
    if (brands[0] === 'jpx ') return { ext: 'jpx', mime: 'image/jpx' }
    return undefined
  }
  const major = brands[0]
  const generic = major === 'mif1' || major === 'msf1' || major === 'miaf'
  const candidates = generic ? brands.slice(1) : [major]
  const sequence = major === 'msf1'
  for (const brand of candidates) {
    if (brand === 'avif' || brand === 'avis') return { ext: 'avif', mime: 'image/avif' }
    if (HEIC_BRANDS.has(brand)) return { ext: 'heic', mime: sequence ? 'image/heic-sequence' : 'image/heic' }
    if (HEIC_SEQUENCE_BRANDS.has(brand)) return { ext: 'heic', mime: 'image/heic-sequence' }
  }
  if (generic) return { ext: 'heif', mime: sequence ? 'image/heif-sequence' : 'image/heif' }
  return undefined
}

/** JPEG XL (ISO/IEC 18181-2): a bare codestream (FF 0A) or the container's signature box. */
function jxl(h: Uint8Array): Sniffed | undefined {
  if (h[0] === 0xff && h[1] === 0x0a) return { ext: 'jxl', mime: 'image/jxl' }
  if (u32be(h, 0) === 12 && ascii(h, 4, 'JXL \r\n\u0087\n')) return { ext: 'jxl', mime: 'image/jxl' }
  return undefined
}

/**
 * A bare JPEG 2000 codestream (ISO/IEC 15444-1 A.4.1, A.5.1: SOC, then the SIZ segment, at least 41
 * bytes long), as `.j2k`, `.j2c` or `.jpc`: JP2's `jp2c` box holds the same without its container.
 */
function j2c(h: Uint8Array): Sniffed | undefined {
  if (h.length < 6 || h[0] !== 0xff || h[1] !== 0x4f || h[2] !== 0xff || h[3] !== 0x51) return undefined
  return u16be(h, 4) >= 41 ? { ext: 'j2c', mime: 'image/j2c' } : undefined
}

/** Sizes of the BMP info headers in use: OS/2 1.x core (12), OS/2 2.x (16, 64), Windows V1–V5. */
const BMP_HEADERS = new Set([12, 16, 40, 52, 56, 64, 108, 124])

/** BMP: "BM", then a known info header size and pixel data that starts past the headers. */
function bmp(h: Uint8Array): Sniffed | undefined {
  if (h.length < 26 || h[0] !== 0x42 || h[1] !== 0x4d) return undefined
  const header = u32le(h, 14)
  if (!BMP_HEADERS.has(header) || u32le(h, 10) < 14 + header) return undefined
  return { ext: 'bmp', mime: 'image/bmp' }
}

/** ICO and CUR: reserved 0, type 1 (icon) or 2 (cursor), a count, and a first entry that makes sense. */
function ico(h: Uint8Array): Sniffed | undefined {
  if (h.length < 22 || u16le(h, 0) !== 0) return undefined
  const type = u16le(h, 2)
  const count = u16le(h, 4)
  if ((type !== 1 && type !== 2) || count === 0) return undefined
  // The first entry: a non-empty image placed after the directory.
  if (u32le(h, 6 + 8) === 0 || u32le(h, 6 + 12) < 6 + 16 * count) return undefined
  return type === 1 ? { ext: 'ico', mime: 'image/x-icon' } : { ext: 'cur', mime: 'image/x-icon' }
}

/**
 * Signatures, with `undefined` for a byte any value may take, and the length of head `sniff` needs
 * to decide on each: fewer bytes than that, agreeing with the signature as far as they go, may be
 * the start of an image of that format.
 */
const _ = undefined
const BEGINNINGS: { bytes: (number | undefined)[]; decides: number }[] = [
  { bytes: [0xff, 0xd8, 0xff], decides: 3 },
  { bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], decides: 8 },
  ...['GIF87a', 'GIF89a'].map((s) => ({ bytes: [...Buffer.from(s, 'latin1')], decides: 6 })),
  { bytes: [0x52, 0x49, 0x46, 0x46, _, _, _, _, 0x57, 0x45, 0x42, 0x50], decides: 12 },
  { bytes: [0x49, 0x49, 0x2a, 0x00], decides: 8 },
  { bytes: [0x4d, 0x4d, 0x00, 0x2a], decides: 8 },
  { bytes: [0x49, 0x49, 0x2b, 0x00], decides: 16 },
  { bytes: [0x4d, 0x4d, 0x00, 0x2b], decides: 16 },
  { bytes: [0x42, 0x4d], decides: 26 },
  { bytes: [0x00, 0x00, 0x01, 0x00], decides: 22 },
  { bytes: [0x00, 0x00, 0x02, 0x00], decides: 22 },
  { bytes: [0xff, 0x0a], decides: 2 },
  { bytes: [0xff, 0x4f, 0xff, 0x51], decides: 6 },
  { bytes: [0, 0, 0, 12, ...Buffer.from('JXL \r\n\u0087\n', 'latin1')], decides: 12 },
  { bytes: [0, 0, 0, 12, ...Buffer.from('jP  \r\n\u0087\n', 'latin1')], decides: 12 + 16 },
  // A box's size first: an ftyp box is under 4,096 bytes.
  { bytes: [0, 0, _, _, ...Buffer.from('ftyp', 'latin1')], decides: 16 },
]

/**
 * Whether `head`, the whole of a body that `sniff` did not take for an image, may be the start of
 * one cut short: fewer bytes than its format needs to be told, agreeing with that
 * format's signature (an ISO-BMFF `ftyp` box counts until the size it declares). For a body whose
 * end the protocol did not mark: such a body was cut, not an answer that is no image.
 */
export function mayBeginImage(head: Uint8Array): boolean {
  // Nothing at all shows nothing on its way: an empty answer is no image, on every attempt alike.
  if (head.length === 0) return false
  const agrees = (bytes: (number | undefined)[]) =>
    bytes.every((b, i) => i >= head.length || b === undefined || head[i] === b)
  if (head.length >= 8 && ascii(head, 4, 'ftyp')) return head.length < Math.min(u32be(head, 0), FTYP_BYTES)
  return BEGINNINGS.some(({ bytes, decides }) => head.length < decides && agrees(bytes))
}
