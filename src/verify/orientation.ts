import { ascii, fourcc, u16be, u16le, u32be, u32le } from './bytes.js'

/**
 * The EXIF orientation a file's head states (TIFF tag 274, 1–8), so the size reported for a plain
 * download is the size shown, as the transform stage reports it and as browsers, libvips and
 * OpenCV show the image: a phone's portrait photo is stored landscape with orientation 6.
 */

const ORIENTATION = 0x0112
const SHORT = 3

/** The orientation in TIFF-structured bytes (an EXIF block after its `Exif\0\0`, or a TIFF file): IFD0's tag 274. */
export function tiffOrientation(b: Uint8Array): number | undefined {
  if (b.length < 8) return undefined
  const little = b[0] === 0x49 && b[1] === 0x49
  if (!little && !(b[0] === 0x4d && b[1] === 0x4d)) return undefined
  const u16 = little ? u16le : u16be
  const u32 = little ? u32le : u32be
  if (u16(b, 2) !== 42) return undefined // BigTIFF (43) holds no EXIF block, and photos are not BigTIFF
  const ifd = u32(b, 4)
  if (ifd + 2 > b.length) return undefined
  const count = u16(b, ifd)
  for (let i = 0; i < count; i++) {
    const at = ifd + 2 + 12 * i
    if (at + 12 > b.length) return undefined
    if (u16(b, at) !== ORIENTATION) continue
    if (u16(b, at + 2) !== SHORT || u32(b, at + 4) !== 1) return undefined
    const value = u16(b, at + 8)
    return value >= 1 && value <= 8 ? value : undefined
  }
  return undefined
}

/**
 * What a reader below returns when `head` ends before its answer: the segment or chunk it needs,
 * or the next one's header, lies past it. Given more of the file, it may find one.
 */
const MORE = 'more'
type Found = number | undefined | typeof MORE

/** A JPEG's orientation: its APP1 `Exif` segment's, among the segments before its first scan or frame. */
function jpegOrientation(head: Uint8Array): Found {
  let at = 2
  while (at + 4 <= head.length) {
    if (head[at] !== 0xff) return undefined
    const marker = head[at + 1]
    if (marker === 0xff) {
      at += 1 // fill byte
      continue
    }
    // A frame header or a scan: EXIF comes before them (JFIF/EXIF, CIPA DC-008 4.5.4).
    if (marker === 0xda || (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xcc)) {
      return undefined
    }
    const length = u16be(head, at + 2)
    if (marker === 0xe1 && ascii(head, at + 4, 'Exif\0\0')) {
      const found = tiffOrientation(head.subarray(at + 10, Math.min(head.length, at + 2 + length)))
      return found === undefined && at + 2 + length > head.length ? MORE : found
    }
    at += 2 + length
  }
  return MORE
}

/** A PNG's orientation: its `eXIf` chunk's, which comes before the image data (PNG 3rd ed. 11.3.3.6). */
function pngOrientation(head: Uint8Array): Found {
  let at = 8
  while (at + 8 <= head.length) {
    const length = u32be(head, at)
    const type = fourcc(head, at + 4)
    if (type === 'IDAT') return undefined
    if (type === 'eXIf') {
      const found = tiffOrientation(head.subarray(at + 8, Math.min(head.length, at + 8 + length)))
      return found === undefined && at + 8 + length > head.length ? MORE : found
    }
    at += 12 + length
  }
  return MORE
}

/**
 * The orientation a file of this format states in its head, when it lies there; `undefined`
 * otherwise. Read in `first` (the head's first chunk) when the answer lies there, else in
 * `whole()` (the head, when there is more of it than `first`): a body's head is most of its
 * first 64 KB, and copying it into one buffer for every file cost more than the reading.
 */
export function headOrientation(
  first: Uint8Array,
  whole: (() => Uint8Array) | undefined,
  ext: string,
): number | undefined {
  const read = ext === 'jpg' ? jpegOrientation : ext === 'png' ? pngOrientation : undefined
  if (!read) return undefined
  let found = read(first)
  if (found === MORE && whole) found = read(whole())
  return found === MORE ? undefined : found
}

/** Width and height as shown: orientations 5–8 turn the image by a quarter. */
export function upright<T extends { width?: number; height?: number }>(size: T, orientation?: number): T {
  const turned = orientation !== undefined && orientation >= 5 && orientation <= 8
  if (!turned || size.width === undefined || size.height === undefined) {
    return size
  }
  return { ...size, width: size.height, height: size.width }
}
