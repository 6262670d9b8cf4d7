import { createCipheriv, createHash } from 'node:crypto'
import { crc32, deflateSync } from 'node:zlib'

/**
 * Deterministic fake images: a real header (so sniffing and dimension reading work) and seeded noise as
 * the compressed data, laid out so each is structurally complete for its format (what
 * `completenessCheck` judges): same name and size, same bytes, every time, exactly `size` bytes (or the
 * format's minimum when `size` is smaller). The noise does not decode to pixels.
 */
export type Format = 'jpg' | 'png' | 'gif' | 'webp'

function noise(seed: string, length: number): Buffer {
  const key = createHash('sha256').update(seed).digest()
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32))
  return cipher.update(Buffer.alloc(length))
}

/** A quantisation table (DQT payload part): id, then 64 entries. */
const quantTable = (id: number) => [id, ...Array.from({ length: 64 }, (_, i) => 1 + (i % 16))]
/** A Huffman table (DHT payload part) with one 1-bit code for symbol 0. */
const huffmanTable = (tableClass: number) => [tableClass << 4, 1, ...new Array(15).fill(0), 0]

/** SOI, APP0 (JFIF), DQT, SOF0, DHT, SOS: everything before the entropy-coded data. */
function jpegHeader(w: number, h: number): Buffer {
  const segment = (marker: number, payload: number[]) => [
    0xff,
    marker,
    (payload.length + 2) >> 8,
    (payload.length + 2) & 255,
    ...payload,
  ]
  return Buffer.from([
    0xff,
    0xd8,
    ...segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]),
    ...segment(0xdb, [...quantTable(0), ...quantTable(1)]),
    // 8-bit samples, height, width, 3 components: Y sampled 2x2 with table 0, Cb and Cr 1x1 with table 1.
    ...segment(0xc0, [8, h >> 8, h & 255, w >> 8, w & 255, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]),
    ...segment(0xc4, [...huffmanTable(0), ...huffmanTable(1)]),
    // One scan over the 3 components, all with Huffman tables 0, spectral 0–63.
    ...segment(0xda, [3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]),
  ])
}

/** Entropy-coded data from noise: every FF is followed by a stuffed 00, so no marker appears in it. */
function stuff(data: Buffer): void {
  for (let j = data.indexOf(0xff); j !== -1; j = data.indexOf(0xff, j + 2)) {
    if (j + 1 < data.length) data[j + 1] = 0
    else data[j] = 0xfe // an FF at the very end would run into the EOI marker
  }
}

function makeJpeg(width: number, height: number, size: number, seed: string): Buffer {
  const header = jpegHeader(width, height)
  const body = Buffer.alloc(Math.max(size, header.length + 2))
  header.copy(body, 0)
  const data = body.subarray(header.length, body.length - 2)
  noise(seed, data.length).copy(data)
  stuff(data)
  body.set([0xff, 0xd9], body.length - 2)
  return body
}

/** Signature, IHDR, one IDAT filling the rest but IEND. CRCs are left 0: no check here reads them. */
function makePng(width: number, height: number, size: number, seed: string): Buffer {
  const body = noise(seed, Math.max(size, 57))
  const idat = body.length - 57
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(body, 0)
  body.writeUInt32BE(13, 8)
  body.write('IHDR', 12, 'latin1')
  body.writeUInt32BE(width, 16)
  body.writeUInt32BE(height, 20)
  body.set([8, 2, 0, 0, 0], 24)
  body.writeUInt32BE(crc32(body.subarray(12, 29)), 29)
  body.writeUInt32BE(idat, 33)
  body.write('IDAT', 37, 'latin1')
  body.writeUInt32BE(crc32(body.subarray(37, 41 + idat)), 41 + idat)
  body.writeUInt32BE(0, 45 + idat)
  body.write('IEND', 49 + idat, 'latin1')
  body.writeUInt32BE(crc32(body.subarray(49 + idat, 53 + idat)), 53 + idat)
  return body
}

/**
 * Header without a global colour table, one image (descriptor, LZW code size, noise in sub-blocks of up to
 * 255 bytes, the empty sub-block), the trailer. One byte the sub-blocks cannot take (a single byte left
 * over) goes after the trailer, where decoders never look.
 */
function makeGif(width: number, height: number, size: number, seed: string): Buffer {
  const body = noise(seed, Math.max(size, 26))
  body.write('GIF89a', 0, 'latin1')
  body.writeUInt16LE(width, 6)
  body.writeUInt16LE(height, 8)
  body.set([0, 0, 0], 10) // no global colour table, background 0, no aspect ratio
  body[13] = 0x2c
  body.writeUInt16LE(0, 14)
  body.writeUInt16LE(0, 16)
  body.writeUInt16LE(width, 18)
  body.writeUInt16LE(height, 20)
  body[22] = 0 // no local colour table, not interlaced
  body[23] = 8 // LZW minimum code size
  let at = 24
  let left = body.length - 26 // bytes for the sub-blocks (size byte + data each)
  if (left === 1) left = 0
  while (left > 0) {
    let data = Math.min(255, left - 1)
    if (left - (data + 1) === 1) data-- // never leave a lone byte for a block with no data
    body[at] = data
    at += data + 1
    left -= data + 1
  }
  body[at] = 0
  body[at + 1] = 0x3b
  return body
}

/**
 * RIFF header, VP8X chunk (canvas size), then a `VP8 ` chunk to the end: a key frame's header, then noise. For an odd size the last
 * chunk's pad byte is left out and the RIFF size is odd: the form libwebp accepts.
 */
function makeWebp(width: number, height: number, size: number, seed: string): Buffer {
  const body = noise(seed, Math.max(size, 48))
  body.write('RIFF', 0, 'latin1')
  body.writeUInt32LE(body.length - 8, 4)
  body.write('WEBPVP8X', 8, 'latin1')
  body.writeUInt32LE(10, 16)
  body.writeUInt32LE(0, 20) // flags and reserved
  body.writeUIntLE(width - 1, 24, 3)
  body.writeUIntLE(height - 1, 27, 3)
  body.write('VP8 ', 30, 'latin1')
  body.writeUInt32LE(body.length - 38, 34)
  // A key frame's header, as libwebp reads it before any pixel: shown, version 0, a first partition
  // of 0 bytes, the start code and the size (RFC 6386 §9.1).
  body.set([0x10, 0, 0, 0x9d, 0x01, 0x2a], 38)
  body.writeUInt16LE(width & 0x3fff, 44)
  body.writeUInt16LE(height & 0x3fff, 46)
  return body
}

/** Width and height derived from the name, so tests can check dimensions. */
export function dimsOf(name: string): { width: number; height: number } {
  const d = createHash('sha256').update(`dims:${name}`).digest()
  return { width: 100 + (d.readUInt16BE(0) % 4000), height: 100 + (d.readUInt16BE(2) % 3000) }
}

const MAKERS = { jpg: makeJpeg, png: makePng, gif: makeGif, webp: makeWebp }

export function makeImage(name: string, size: number, format: Format = 'jpg'): Buffer {
  const { width, height } = dimsOf(name)
  return MAKERS[format](width, height, size, `${format}:${name}`)
}

/** The first `bytes` bytes of an image, as a copy: a body cut short. */
export function truncatedCopy(image: Uint8Array, bytes: number): Buffer {
  return Buffer.from(image.subarray(0, bytes))
}

/** mulberry32: a small seeded generator of numbers in [0, 1), for deterministic choices in tests. */
export function seeded(seed: number): () => number {
  let s = seed | 0
  return () => {
    s = (s + 0x6d2b79f5) | 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A size in [min, max] derived from the name. */
export function sizeOf(name: string, min: number, max: number): number {
  const d = createHash('sha256').update(`size:${name}`).digest()
  return min + (d.readUInt32BE(0) % (max - min + 1))
}

/** Big-endian bytes of a 16- or 32-bit value, for hand-built boxes. */
export const u16 = (n: number): number[] => [(n >> 8) & 255, n & 255]
export const u32 = (n: number): number[] => [(n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255]

/** An ISO-BMFF box (ISO/IEC 14496-12 §4.2) of `type` around its parts, with a 32-bit size. */
export function box(type: string, ...parts: (Uint8Array | number[])[]): Buffer {
  const payload = Buffer.concat(parts.map((p) => Buffer.from(p)))
  return Buffer.concat([Buffer.from(u32(8 + payload.length)), Buffer.from(type, 'latin1'), payload])
}

/** A FullBox: version and 24-bit flags before the parts. */
export function fullBox(
  type: string,
  version: number,
  flags: number,
  ...parts: (Uint8Array | number[])[]
): Buffer {
  return box(type, [version, (flags >> 16) & 255, (flags >> 8) & 255, flags & 255], ...parts)
}

/**
 * A Multi-Picture Format file (CIPA DC-007), as cameras write one: `primary` with an APP2 MPF
 * index put after its SOI, listing itself and `secondary`, which follows its EOI. Big-endian.
 */
export function withMpf(primary: Buffer, secondary: Buffer): Buffer {
  const dataLength = 4 + 8 + 2 + 12 + 4 + 32 // MPF\0, TIFF header, one-entry IFD, next IFD, 2 entries
  const size = primary.length + 4 + dataLength
  const tiffAt = 2 + 4 + 4 // SOI, FFE2 and length, MPF\0
  const data = Buffer.from([
    ...Buffer.from('MPF\0', 'latin1'),
    ...Buffer.from('MM'),
    ...u16(42),
    ...u32(8), // the IFD follows the header
    ...u16(1),
    ...u16(0xb002), // MPEntry: UNDEFINED × 32, at 26 from the header
    ...u16(7),
    ...u32(32),
    ...u32(26),
    ...u32(0), // no next IFD
    ...u32(0x20030000), // the primary image: baseline MP primary
    ...u32(size),
    ...u32(0),
    ...u16(0),
    ...u16(0),
    ...u32(0x00010001), // a large thumbnail (VGA)
    ...u32(secondary.length),
    ...u32(size - tiffAt),
    ...u16(0),
    ...u16(0),
  ])
  const app2 = Buffer.concat([Buffer.from([0xff, 0xe2, ...u16(2 + dataLength)]), data])
  return Buffer.concat([primary.subarray(0, 2), app2, primary.subarray(2), secondary])
}

/**
 * A motion photo as Google's Motion Photo format 1.0 lays it out (a Pixel's `PXL_..MP.jpg`): the
 * still JPEG with an XMP APP1 after its SOI whose `Container:Directory` lists the primary image and
 * then each item after its end-of-image marker (`items`: a gain map, the video), each with its
 * `Item:Length`, its bytes following back to back. `micro`: the older MicroVideo 1 form instead,
 * `GCamera:MicroVideoOffset` the video's length (one item).
 */
export function motionPhoto(primary: Buffer, items: Buffer[], { micro = false } = {}): Buffer {
  const item = (mime: string, semantic: string, length: number) =>
    `<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="${mime}" Item:Semantic="${semantic}" Item:Length="${length}" Item:Padding="0"/></rdf:li>`
  const description = micro
    ? `GCamera:MicroVideo="1" GCamera:MicroVideoVersion="1" GCamera:MicroVideoOffset="${items[0].length}"/>`
    : `GCamera:MotionPhoto="1" GCamera:MotionPhotoVersion="1"><Container:Directory><rdf:Seq>${[
        item('image/jpeg', 'Primary', 0),
        ...items.map((b, k) =>
          k < items.length - 1
            ? item('image/jpeg', 'GainMap', b.length)
            : item('video/mp4', 'MotionPhoto', b.length),
        ),
      ].join('')}</rdf:Seq></Container:Directory></rdf:Description>`
  const xmp = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:GCamera="http://ns.google.com/photos/1.0/camera/" xmlns:Container="http://ns.google.com/photos/1.0/container/" xmlns:Item="http://ns.google.com/photos/1.0/container/item/" ${description}</rdf:RDF></x:xmpmeta>`
  const data = Buffer.from(`http://ns.adobe.com/xap/1.0/\0${xmp}`, 'latin1')
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, ...u16(data.length + 2)]), data])
  return Buffer.concat([primary.subarray(0, 2), app1, primary.subarray(2), ...items])
}

/**
 * A little-endian TIFF of `width` × `height` 8-bit grey pixels in one strip (or `strips` of them),
 * laid out as libtiff writes one: header, IFD, out-of-line values, then the strips, so the last
 * strip ends the file. `counts`: the StripByteCounts written, `'none'` to leave the tag out, or
 * (the default) the true ones; `deflate`: the strips zlib-compressed (Compression 8); `exif`: an
 * EXIF IFD after the strips (a date and a 200-byte maker note, after it), the file's last bytes.
 */
export function makeTiff({
  width = 16,
  height = 8,
  strips = 1,
  counts,
  deflate = false,
  exif = false,
}: {
  width?: number
  height?: number
  strips?: number
  counts?: number[] | 'none'
  deflate?: boolean
  exif?: boolean
} = {}): Buffer {
  const rows = Math.ceil(height / strips)
  const data = Array.from({ length: strips }, (_, s) => {
    const strip = Buffer.alloc(width * Math.min(rows, height - s * rows))
    for (let i = 0; i < strip.length; i++) strip[i] = (s * 31 + i * 7) & 255
    return deflate ? deflateSync(strip) : strip
  })
  const tags: [number, number, number[]][] = [
    [256, 3, [width]],
    [257, 3, [height]],
    [258, 3, [8]],
    [259, 3, [deflate ? 8 : 1]],
    [262, 3, [1]],
    [273, 4, []], // filled in below
    [277, 3, [1]],
    [278, 3, [rows]],
  ]
  const stated = counts ?? data.map((d) => d.length)
  if (stated !== 'none') tags.push([279, 4, stated])
  if (exif) tags.push([34665, 4, [0]]) // filled in below
  const ifdEnd = 8 + 2 + 12 * tags.length + 4
  // StripOffsets and StripByteCounts lie after the IFD where they hold more than one LONG.
  const extra = strips > 1 ? 4 * strips * (stated === 'none' ? 1 : 2) : 0
  let at = ifdEnd + extra
  tags[5][2] = data.map((d) => {
    const offset = at
    at += d.length
    return offset
  })
  if (exif) tags[tags.length - 1][2] = [at]
  const head = Buffer.alloc(ifdEnd + extra)
  head.write('II*\0', 0, 'latin1')
  head.writeUInt32LE(8, 4)
  head.writeUInt16LE(tags.length, 8)
  let values = ifdEnd
  tags.forEach(([tag, type, list], i) => {
    const entry = 10 + 12 * i
    const size = type === 3 ? 2 : 4
    head.writeUInt16LE(tag, entry)
    head.writeUInt16LE(type, entry + 2)
    head.writeUInt32LE(list.length, entry + 4)
    let to = entry + 8
    if (list.length * size > 4) {
      head.writeUInt32LE(values, entry + 8)
      to = values
      values += list.length * size
    }
    for (const v of list) {
      if (size === 2) head.writeUInt16LE(v, to)
      else head.writeUInt32LE(v, to)
      to += size
    }
  })
  if (!exif) return Buffer.concat([head, ...data])
  // DateTimeOriginal (ASCII) and MakerNote (UNDEFINED), their values after the IFD.
  const ifd = Buffer.alloc(2 + 2 * 12 + 4)
  const date = Buffer.from('2024:01:02 03:04:05\0', 'latin1')
  const maker = Buffer.alloc(200, 0x4d)
  ifd.writeUInt16LE(2, 0)
  for (const [i, tag, type, value, offset] of [
    [0, 0x9003, 2, date, at + ifd.length],
    [1, 0x927c, 7, maker, at + ifd.length + date.length],
  ] as const) {
    ifd.writeUInt16LE(tag, 2 + 12 * i)
    ifd.writeUInt16LE(type, 4 + 12 * i)
    ifd.writeUInt32LE(value.length, 6 + 12 * i)
    ifd.writeUInt32LE(offset, 10 + 12 * i)
  }
  return Buffer.concat([head, ...data, ifd, date, maker])
}

/**
 * A HEIF laid out as ftyp, mdat, meta (`heif` as libavif writes it: ftyp, meta, mdat), its meta box
 * last and of size 0 (ISO/IEC 14496-12 §4.2: it runs to the end of the file), its one item's offset
 * in iloc (version 0, 4-byte offsets and lengths, no base offset) moved with the mdat box.
 */
export function metaLast(heif: Buffer): Buffer {
  const meta = heif.indexOf(Buffer.from('meta')) - 4
  const mdat = heif.indexOf(Buffer.from('mdat')) - 4
  if (meta < 0 || mdat < meta || heif.readUInt32BE(meta) !== mdat - meta)
    throw new Error('not ftyp, meta, mdat')
  const metaBox = Buffer.from(heif.subarray(meta, mdat))
  const iloc = metaBox.indexOf(Buffer.from('iloc')) + 4
  if (
    metaBox[iloc] !== 0 ||
    metaBox[iloc + 4] !== 0x44 ||
    metaBox[iloc + 5] !== 0 ||
    metaBox.readUInt16BE(iloc + 6) !== 1
  )
    throw new Error('not an iloc of one item with 4-byte offsets')
  // Past the version and flags, the field sizes, the item count, its id, data reference and extent count.
  const offset = iloc + 4 + 2 + 2 + 2 + 2 + 2
  metaBox.writeUInt32BE(metaBox.readUInt32BE(offset) - (mdat - meta), offset)
  metaBox.writeUInt32BE(0, 0)
  return Buffer.concat([heif.subarray(0, meta), heif.subarray(mdat), metaBox])
}

/** Width and height of a PNG (its IHDR) or a JPEG (its first SOFn frame header, found by walking the markers). */
export function embeddedSize(inner: Buffer): [number, number] {
  if (inner.readUInt32BE(0) === 0x89504e47) return [inner.readUInt32BE(16), inner.readUInt32BE(20)]
  for (let at = 2; at + 9 < inner.length; at += 2 + inner.readUInt16BE(at + 2)) {
    const marker = inner[at + 1]
    // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC); each segment's length follows its marker.
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker))
      return [inner.readUInt16BE(at + 7), inner.readUInt16BE(at + 5)]
  }
  throw new Error('neither a PNG nor a JPEG with a frame header')
}

/**
 * A BMP (BITMAPINFOHEADER) whose pixel data is the PNG or JPEG `inner` (BI_PNG 5, BI_JPEG 4), with
 * the bit count of 0 those must have (bmpsuite's q/rgb24png.bmp, q/rgb24jpeg.bmp); its width and
 * height are the embedded image's unless given.
 */
export function bmpAround(
  inner: Buffer,
  compression: 4 | 5,
  [width, height]: [number, number] = embeddedSize(inner),
): Buffer {
  const h = Buffer.alloc(54)
  h.write('BM', 0, 'latin1')
  h.writeUInt32LE(54 + inner.length, 2)
  h.writeUInt32LE(54, 10)
  h.writeUInt32LE(40, 14)
  h.writeInt32LE(width, 18)
  h.writeInt32LE(height, 22)
  h.writeUInt16LE(1, 26)
  h.writeUInt32LE(compression, 30)
  h.writeUInt32LE(inner.length, 34)
  return Buffer.concat([h, inner])
}
