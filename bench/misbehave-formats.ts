/**
 * Side by side on images in every shape a camera, an editor or a CDN makes: JPEGs progressive,
 * arithmetic-coded, CMYK, 12-bit, lossless, with restart markers, fill bytes, an EXIF thumbnail,
 * no APP0, an MPO; PNGs animated, interlaced, 16-bit, paletted with tRNS, Apple's CgBI, a bad IEND
 * CRC, IDAT in many chunks; GIF87a, GIFs with local colour tables, comments and XMP; WebP lossy,
 * lossless, animated and with alpha; AVIF, HEIC, JPEG XL bare and in its container; BMPs of an OS/2
 * header, top-down rows, RLE8 and BITFIELDS; TIFF in both byte orders and BigTIFF; ICO and CUR
 * holding a PNG; SVGs after a byte order mark, a comment or a doctype, and gzip'd. Each image,
 * whole, is served from a local server, then the same bytes cut at 60 % (served with the cut
 * length, as an origin that stored a cut upload serves it), each modelled on a public report named
 * with it. Per case: what imgpull keeps plainly (and under which extension), with `--verify
 * decode`, and with `--resize keep-ratio --size 64`; what curl, wget2 and aria2c keep (they keep
 * bytes as they come: the yardstick for "kept"); and what Chromium's `<img>` and sharp make of the
 * bytes (the yardstick for "valid").
 *
 *   npm run build && node --import tsx bench/misbehave-formats.ts [--only ID,ID] [--no-browser] [--no-peers]
 */
import { execFileSync } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { constants, gunzipSync, gzipSync } from 'node:zlib'
import sharp from 'sharp'
import { apng, chunksOf } from '../test/support/apng.js'
import { type Browser, launchBrowser } from '../test/support/browser.js'
import { pngChunk } from '../test/support/png-chunk.js'
import { benchArgs, noise, printTable, spawnCapped, TOOLS } from './misbehave.js'
import { IMGPULL } from './tools.js'

interface FormatCase {
  id: string
  /** The report this image is modelled on. */
  report: string
  /** The extension it is served under. */
  ext: string
  /** Content-Type it is served with. */
  type: string
  /** The extension imgpull should name it with (its detected format's). */
  want: string
  /** More response headers (a `Content-Encoding`). */
  headers?: Record<string, string>
  make(scratch: string): Promise<Buffer>
  /** Whether the image is valid, so a good client keeps it (default true; the cut copy never). */
  valid?: boolean
  /** No cut sibling (a format whose end its bytes do not show). */
  noCut?: boolean
  /** Where the cut sibling ends, as a share of the bytes (0.6 unless given). */
  cut?: number
}

/** A sharp pipeline. */
type Image = ReturnType<typeof sharp>

const run = (cmd: string, args: string[], cwd: string) => execFileSync(cmd, args, { cwd, stdio: 'pipe' })

/** `img` (any sharp input) written by `convert` with `args` into `out` (ImageMagick's `FORMAT:name`). */
async function viaConvert(scratch: string, img: Image, args: string[], out: string): Promise<Buffer> {
  await img.png().toFile(join(scratch, 'in.png'))
  run('convert', ['in.png', ...args, out], scratch)
  return readFile(join(scratch, out.replace(/^[A-Z0-9]+:/, '')))
}

/** A binary PPM of `img`, for cjpeg. */
async function ppm(img: Image): Promise<Buffer> {
  const { data, info } = await img.removeAlpha().raw().toBuffer({ resolveWithObject: true })
  return Buffer.concat([Buffer.from(`P6\n${info.width} ${info.height}\n255\n`), data])
}

async function viaCjpeg(scratch: string, img: Image, args: string[]): Promise<Buffer> {
  await writeFile(join(scratch, 'in.ppm'), await ppm(img))
  run('cjpeg', [...args, '-outfile', 'out.jpg', 'in.ppm'], scratch)
  return readFile(join(scratch, 'out.jpg'))
}

/** A JPEG marker segment: FF `marker`, its length, `data`. */
const segment = (marker: number, data: Buffer) => {
  const head = Buffer.from([0xff, marker, 0, 0])
  head.writeUInt16BE(data.length + 2, 2)
  return Buffer.concat([head, data])
}

/** The segments of a JPEG up to its first SOS, as [marker, whole segment] (SOI left out). */
function jpegSegments(jpg: Buffer): { segments: [number, Buffer][]; scan: Buffer } {
  const segments: [number, Buffer][] = []
  let at = 2
  for (;;) {
    const marker = jpg[at + 1]!
    const length = jpg.readUInt16BE(at + 2)
    if (marker === 0xda) return { segments, scan: jpg.subarray(at) }
    segments.push([marker, jpg.subarray(at, at + 2 + length)])
    at += 2 + length
  }
}

/** A DHT of one table: class, id, one symbol coded by `0` (length 1). */
const dht1 = (cls: number, id: number, symbol: number) =>
  segment(0xc4, Buffer.from([(cls << 4) | id, 1, ...new Array(15).fill(0), symbol]))

/**
 * An 8×8 grey JPEG of one component, hand-written (no encoder here writes these): `sof` 0xC1 with
 * 12-bit samples (ITU T.81 extended sequential; every block's DC difference and AC run 0, so one
 * bit each), or 0xC3 lossless (predictor 1, every difference 0 from the 2^(P-1) start: one bit a
 * sample).
 */
function handJpeg(sof: 0xc1 | 0xc3): Buffer {
  const soi = Buffer.from([0xff, 0xd8])
  const eoi = Buffer.from([0xff, 0xd9])
  if (sof === 0xc1) {
    // One 16-bit quantisation table (Pq 1, as 12-bit frames may have), every step 1.
    const steps = Buffer.alloc(128)
    for (let i = 0; i < 64; i++) steps.writeUInt16BE(1, i * 2)
    const dqt = segment(0xdb, Buffer.concat([Buffer.from([0x10]), steps]))
    const frame = segment(0xc1, Buffer.from([12, 0, 8, 0, 8, 1, 1, 0x11, 0]))
    const sos = segment(0xda, Buffer.from([1, 1, 0x00, 0, 63, 0]))
    // DC difference 0 (`0`), then end of block (`0`): 2 bits, padded with 1s.
    return Buffer.concat([soi, dqt, frame, dht1(0, 0, 0), dht1(1, 0, 0), sos, Buffer.from([0x3f]), eoi])
  }
  const frame = segment(0xc3, Buffer.from([8, 0, 8, 0, 8, 1, 1, 0x11, 0]))
  // Ss = predictor 1, Se = 0, Ah/Al = 0.
  const sos = segment(0xda, Buffer.from([1, 1, 0x00, 1, 0, 0]))
  return Buffer.concat([soi, frame, dht1(0, 0, 0), sos, Buffer.alloc(8, 0), eoi])
}

/** A little-endian TIFF IFD entry. */
const ifdEntry = (tag: number, type: number, count: number, value: number) => {
  const b = Buffer.alloc(12)
  b.writeUInt16LE(tag, 0)
  b.writeUInt16LE(type, 2)
  b.writeUInt32LE(count, 4)
  if (type === 3 && count === 1) b.writeUInt16LE(value, 8)
  else b.writeUInt32LE(value, 8)
  return b
}

/** `jpg` with an EXIF APP1 after SOI whose IFD1 holds `thumb` (a whole JPEG, its own FF D9 inside APP1). */
function withExifThumb(jpg: Buffer, thumb: Buffer): Buffer {
  // TIFF header (8), IFD0 with one entry (Orientation) → IFD1 with JPEGInterchangeFormat(+Length).
  const ifd0At = 8
  const ifd0 = Buffer.concat([Buffer.from([1, 0]), ifdEntry(0x0112, 3, 1, 1), Buffer.alloc(4)])
  const ifd1At = ifd0At + ifd0.length
  const thumbAt = ifd1At + 2 + 3 * 12 + 4
  ifd0.writeUInt32LE(ifd1At, ifd0.length - 4)
  const ifd1 = Buffer.concat([
    Buffer.from([3, 0]),
    ifdEntry(0x0103, 3, 1, 6),
    ifdEntry(0x0201, 4, 1, thumbAt),
    ifdEntry(0x0202, 4, 1, thumb.length),
    Buffer.alloc(4),
  ])
  const tiff = Buffer.concat([Buffer.from('II*\0', 'latin1'), Buffer.from([8, 0, 0, 0]), ifd0, ifd1, thumb])
  const app1 = segment(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]))
  return Buffer.concat([jpg.subarray(0, 2), app1, jpg.subarray(2)])
}

/**
 * An MPO (CIPA DC-007): `first` with an MPF APP2 after SOI indexing itself and `second` (a depth
 * map or the other eye), then `second` after its end marker. Offsets are from the MPF's TIFF header.
 */
function mpo(first: Buffer, second: Buffer, { little = false } = {}): Buffer {
  const count = 3
  const ifdSize = 2 + count * 12 + 4
  const entriesAt = 8 + ifdSize
  const app2Size = 4 + 4 + 8 + ifdSize + 32 // marker+length, "MPF\0", TIFF header, IFD, 2 entries
  const firstSize = first.length + app2Size
  // The TIFF header sits at SOI (2) + marker and length (4) + "MPF\0" (4) of the first image.
  const headerAt = 2 + 4 + 4
  const be = (v: number, n: number) => {
    const b = Buffer.alloc(n)
    if (n === 2) little ? b.writeUInt16LE(v) : b.writeUInt16BE(v)
    else little ? b.writeUInt32LE(v) : b.writeUInt32BE(v)
    return b
  }
  const entry = (tag: number, type: number, n: number, value: Buffer) =>
    Buffer.concat([be(tag, 2), be(type, 2), be(n, 4), value])
  const ifd = Buffer.concat([
    be(count, 2),
    entry(0xb000, 7, 4, Buffer.from('0100', 'latin1')),
    entry(0xb001, 4, 1, be(2, 4)),
    entry(0xb002, 7, 32, be(entriesAt, 4)),
    be(0, 4),
  ])
  const mpEntries = Buffer.concat([
    be(0x20030000, 4),
    be(firstSize, 4),
    be(0, 4),
    be(0, 2),
    be(0, 2),
    be(0x00020002, 4), // disparity image
    be(second.length, 4),
    be(firstSize - headerAt, 4),
    be(0, 2),
    be(0, 2),
  ])
  const app2 = segment(
    0xe2,
    Buffer.concat([
      Buffer.from('MPF\0', 'latin1'),
      little ? Buffer.from('II*\0\x08\0\0\0', 'latin1') : Buffer.from('MM\0*\0\0\0\x08', 'latin1'),
      ifd,
      mpEntries,
    ]),
  )
  if (app2.length !== app2Size) throw new Error(`MPF APP2 is ${app2.length} bytes, not ${app2Size}`)
  return Buffer.concat([first.subarray(0, 2), app2, first.subarray(2), second])
}

/** The same PNG, its IDAT data cut in chunks of `size` bytes. */
function splitIdat(png: Buffer, size: number): Buffer {
  const chunks = chunksOf(png)
  const data = Buffer.concat(chunks.filter(([t]) => t === 'IDAT').map(([, d]) => d))
  const out: Buffer[] = [png.subarray(0, 8)]
  let done = false
  for (const [type, d] of chunks) {
    if (type !== 'IDAT') out.push(pngChunk(type, d))
    else if (!done) {
      for (let i = 0; i < data.length; i += size) out.push(pngChunk('IDAT', data.subarray(i, i + size)))
      done = true
    }
  }
  return Buffer.concat(out)
}

/**
 * Apple's CgBI PNG (Xcode's pngcrush for iOS bundles): a CgBI chunk before IHDR, IDAT a raw deflate
 * stream (no zlib header or Adler-32) of premultiplied BGRA rows.
 */
async function cgbi(): Promise<Buffer> {
  const { deflateRawSync } = await import('node:zlib')
  const w = 32
  const h = 24
  const rows: Buffer[] = []
  for (let y = 0; y < h; y++) {
    const row = Buffer.alloc(1 + w * 4)
    for (let x = 0; x < w; x++) row.set([40, 120, 200, 255], 1 + x * 4) // B G R A
    rows.push(row)
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(w, 0)
  ihdr.writeUInt32BE(h, 4)
  ihdr.set([8, 6, 0, 0, 0], 8)
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('CgBI', Buffer.from([0x50, 0x00, 0x20, 0x02])),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateRawSync(Buffer.concat(rows))),
    pngChunk('IEND', Buffer.alloc(0)),
  ])
}

/** A PNG whose IEND carries a wrong CRC. */
const badIendCrc = (png: Buffer) => {
  const out = Buffer.from(png)
  out.writeUInt32BE(0xdeadbeef, out.length - 4)
  return out
}

const le16 = (v: number) => [v & 255, (v >> 8) & 255]

/** LZW data of `pixels` (indices 0..3) at code size 2: a clear code before every second pixel, so codes stay 3 bits. */
function lzw(pixels: number[]): number[] {
  const bits: number[] = []
  const push = (value: number, n: number) => {
    for (let i = 0; i < n; i++) bits.push((value >> i) & 1)
  }
  pixels.forEach((p, i) => {
    if (i % 2 === 0) push(4, 3)
    push(p, 3)
  })
  push(5, 3)
  const data: number[] = []
  for (let i = 0; i < bits.length; i += 8) {
    let byte = 0
    for (let j = 0; j < 8 && i + j < bits.length; j++) byte |= bits[i + j]! << j
    data.push(byte)
  }
  const blocks: number[] = [2]
  for (let i = 0; i < data.length; i += 255)
    blocks.push(Math.min(255, data.length - i), ...data.slice(i, i + 255))
  return [...blocks, 0]
}

/** Data sub-blocks of `bytes`, and their terminator. */
const subBlocks = (bytes: Buffer) => {
  const out: number[] = []
  for (let i = 0; i < bytes.length; i += 255)
    out.push(Math.min(255, bytes.length - i), ...bytes.subarray(i, i + 255))
  return [...out, 0]
}

/**
 * A GIF of `w`×`h`: `version` 87a or 89a, a global table unless `local`, `frames` frames of one
 * colour each (each with its own 4-colour local table when `local`), `extensions` before the first.
 */
function gif(
  w: number,
  h: number,
  { version = '89a', frames = 1, local = false, extensions = [] as number[][] } = {},
): Buffer {
  const palette = (i: number) => [255, i * 60, 0, 0, 0, 255, 255, 255, 255, 0, 128, 0]
  const out: number[] = [...Buffer.from(`GIF${version}`), ...le16(w), ...le16(h), local ? 0 : 0x81, 0, 0]
  if (!local) out.push(...palette(0))
  for (const e of extensions) out.push(...e)
  for (let f = 0; f < frames; f++) {
    if (frames > 1) out.push(0x21, 0xf9, 4, 0, 10, 0, 0, 0) // 1/10 s, no transparency
    out.push(0x2c, 0, 0, 0, 0, ...le16(w), ...le16(h), local ? 0x81 : 0)
    if (local) out.push(...palette(f))
    out.push(...lzw(new Array(w * h).fill(f % 3)))
  }
  out.push(0x3b)
  return Buffer.from(out)
}

const netscapeLoop = [0x21, 0xff, 11, ...Buffer.from('NETSCAPE2.0'), 3, 1, 0, 0, 0]
const comment = (text: string) => [0x21, 0xfe, ...subBlocks(Buffer.from(text))]
/** XMP in a GIF (XMP spec part 3, 1.1.2): the packet's bytes as they are, then a 258-byte "magic trailer". */
const xmpExtension = () => {
  const magic = [1, ...Array.from({ length: 256 }, (_, i) => 255 - i), 0]
  return [
    0x21,
    0xff,
    11,
    ...Buffer.from('XMP DataXMP'),
    ...Buffer.from(
      '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"/><?xpacket end="w"?>',
    ),
    ...magic,
  ]
}

/** A 24-bit BMP (BITMAPINFOHEADER) made top-down: its height negated, its rows in reverse order. */
function topDown(bmp: Buffer): Buffer {
  const out = Buffer.from(bmp)
  const offset = bmp.readUInt32LE(10)
  const width = bmp.readInt32LE(18)
  const height = bmp.readInt32LE(22)
  const stride = Math.ceil((width * bmp.readUInt16LE(28)) / 32) * 4
  for (let y = 0; y < height; y++)
    bmp.copy(out, offset + y * stride, offset + (height - 1 - y) * stride, offset + (height - y) * stride)
  out.writeInt32LE(-height, 22)
  return out
}

/** An ICO (`type` 1) or CUR (2, hotspot 3,5) of one image, `png`. */
function icoOf(png: Buffer, type: 1 | 2): Buffer {
  const w = png.readUInt32BE(16)
  const h = png.readUInt32BE(20)
  const head = Buffer.alloc(22)
  head.writeUInt16LE(type, 2)
  head.writeUInt16LE(1, 4)
  head.set([w & 255, h & 255, 0, 0], 6)
  head.writeUInt16LE(type === 1 ? 1 : 3, 10)
  head.writeUInt16LE(type === 1 ? 32 : 5, 12)
  head.writeUInt32LE(png.length, 14)
  head.writeUInt32LE(22, 18)
  return Buffer.concat([head, png])
}

const SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="90"><rect width="120" height="90" fill="#c83"/><circle cx="60" cy="45" r="30" fill="#38c"/></svg>\n'

/** An animated image: `n` frames of 80×60 in turn red, green, blue, as one tall strip sharp pages. */
const strip = (n: number) =>
  sharp({ create: { width: 80, height: 60 * n, channels: 4, background: '#000' } }).composite(
    Array.from({ length: n }, (_, i) => ({
      input: {
        create: { width: 80, height: 60, channels: 4 as const, background: ['#c00', '#0c0', '#00c'][i % 3]! },
      },
      top: 60 * i,
      left: 0,
    })),
  )

async function animated(n: number, to: 'webp' | 'gif'): Promise<Buffer> {
  const raw = await strip(n).raw().toBuffer()
  const img = sharp(raw, {
    raw: { width: 80, height: 60 * n, channels: 4, pageHeight: 60 },
  })
  return to === 'webp'
    ? img.webp({ loop: 0, delay: 100 }).toBuffer()
    : img.gif({ loop: 0, delay: 100 }).toBuffer()
}

const photo = () => noise(160, 120)

function cases(): FormatCase[] {
  const jpeg = (c: Omit<FormatCase, 'ext' | 'type' | 'want'>): FormatCase => ({
    ext: 'jpg',
    type: 'image/jpeg',
    want: '.jpg',
    ...c,
  })
  const png = (c: Omit<FormatCase, 'ext' | 'type' | 'want'>): FormatCase => ({
    ext: 'png',
    type: 'image/png',
    want: '.png',
    ...c,
  })
  const gifCase = (c: Omit<FormatCase, 'ext' | 'type' | 'want'>): FormatCase => ({
    ext: 'gif',
    type: 'image/gif',
    want: '.gif',
    ...c,
  })
  const webp = (c: Omit<FormatCase, 'ext' | 'type' | 'want'>): FormatCase => ({
    ext: 'webp',
    type: 'image/webp',
    want: '.webp',
    ...c,
  })
  const bmp = (c: Omit<FormatCase, 'ext' | 'type' | 'want'>): FormatCase => ({
    ext: 'bmp',
    type: 'image/bmp',
    want: '.bmp',
    ...c,
  })
  const tiff = (c: Omit<FormatCase, 'ext' | 'type' | 'want'>): FormatCase => ({
    ext: 'tif',
    type: 'image/tiff',
    want: '.tif',
    ...c,
  })
  const svg = (c: Omit<FormatCase, 'ext' | 'type' | 'want'>): FormatCase => ({
    ext: 'svg',
    type: 'image/svg+xml',
    want: '.svg',
    ...c,
  })
  return [
    jpeg({
      id: 'jpeg-progressive',
      report: 'lovell/sharp#1578 and Automattic/node-canvas#1193 (progressive JPEGs a reader did not take)',
      make: () => photo().jpeg({ progressive: true }).toBuffer(),
    }),
    jpeg({
      id: 'jpeg-arithmetic',
      report:
        'libjpeg-turbo/libjpeg-turbo#120 and python-pillow/Pillow#5300 (arithmetic-coded JPEGs: who decodes them); cjpeg -arithmetic',
      make: (s) => viaCjpeg(s, photo(), ['-arithmetic']),
    }),
    jpeg({
      id: 'jpeg-cmyk-adobe',
      report:
        'lovell/sharp#1649 and libvips/libvips#1283 (a Photoshop CMYK JPEG, Adobe APP14); convert -colorspace CMYK',
      make: (s) => viaConvert(s, photo(), ['-colorspace', 'CMYK'], 'out.jpg'),
    }),
    jpeg({
      id: 'jpeg-12bit',
      report:
        'libjpeg-turbo/libjpeg-turbo#199 and python-pillow/Pillow#2045 (12-bit JPEGs from medical and scientific cameras); SOF1, 12-bit samples, hand-written',
      make: async () => handJpeg(0xc1),
    }),
    jpeg({
      id: 'jpeg-lossless',
      report:
        'libjpeg-turbo/libjpeg-turbo#408 and pydicom/pydicom#532 (lossless JPEG, SOF3, as DICOM and DNG hold it); hand-written',
      make: async () => handJpeg(0xc3),
    }),
    jpeg({
      id: 'jpeg-restart',
      report:
        'Automattic/node-canvas#2037 and image-rs/image#1226 (restart markers in the scan); cjpeg -restart 1B',
      make: (s) => viaCjpeg(s, photo(), ['-restart', '1B']),
    }),
    jpeg({
      id: 'jpeg-fill-ff',
      report:
        'golang/go#18869 and image-rs/jpeg-decoder#118 (0xFF fill bytes before a marker, ITU T.81 B.1.1.2)',
      make: async () => {
        const jpg = await photo().jpeg().toBuffer()
        const { segments, scan } = jpegSegments(jpg)
        return Buffer.concat([
          jpg.subarray(0, 2),
          ...segments.flatMap(([, s]) => [Buffer.from([0xff, 0xff, 0xff]), s]),
          Buffer.from([0xff, 0xff]),
          scan,
        ])
      },
    }),
    jpeg({
      id: 'jpeg-exif-thumb',
      report:
        "exif-js/exif-js#176 and dlemstra/Magick.NET#1177 (the EXIF thumbnail's own FF D9 taken for the image's end)",
      make: async () => withExifThumb(await photo().jpeg().toBuffer(), await noise(40, 30).jpeg().toBuffer()),
    }),
    jpeg({
      id: 'jpeg-no-app0',
      report:
        'python-pillow/Pillow#4397 and file/file (JPEGs without JFIF or EXIF APP0, as cameras and jpegtran -copy none write them)',
      make: async () => {
        const jpg = await photo().jpeg().toBuffer()
        const { segments, scan } = jpegSegments(jpg)
        return Buffer.concat([
          jpg.subarray(0, 2),
          ...segments.filter(([m]) => m !== 0xe0).map(([, s]) => s),
          scan,
        ])
      },
    }),
    jpeg({
      id: 'jpeg-mpo-depth',
      report:
        'lovell/sharp#2436 and exiftool MPF (a phone portrait: a JPEG and its depth map, CIPA DC-007 MPF index)',
      make: async () =>
        mpo(await photo().jpeg().toBuffer(), await noise(80, 60).greyscale().jpeg().toBuffer()),
    }),
    png({
      id: 'png-apng',
      report: 'lovell/sharp#2375 and davidmz/apng-js#19 (APNG: acTL, fcTL, fdAT)',
      make: async () =>
        apng(
          await sharp({ create: { width: 80, height: 60, channels: 3, background: '#c00' } })
            .png()
            .toBuffer(),
          await sharp({ create: { width: 80, height: 60, channels: 3, background: '#00c' } })
            .png()
            .toBuffer(),
          { shown: true },
        ),
    }),
    png({
      id: 'png-adam7',
      report: 'image-rs/image-png#199 and nothings/stb#1075 (interlaced PNGs)',
      make: () => photo().png({ progressive: true }).toBuffer(),
    }),
    png({
      id: 'png-16bit',
      report: 'lovell/sharp#3809 (16-bit PNG)',
      make: () => photo().toColourspace('rgb16').png().toBuffer(),
    }),
    png({
      id: 'png-palette-trns',
      report: 'lovell/sharp#1853 and pngquant/pngquant#84 (palette PNGs with tRNS, as pngquant writes them)',
      make: () =>
        sharp({
          create: { width: 80, height: 60, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0.5 } },
        })
          .png({ palette: true })
          .toBuffer(),
    }),
    png({
      id: 'png-cgbi',
      report:
        "python-pillow/Pillow#1187 and nicklockwood/iVersion (Apple's CgBI PNG from an iOS bundle: only Apple's decoders read it)",
      valid: false,
      make: cgbi,
    }),
    png({
      id: 'png-iend-bad-crc',
      report: 'python-pillow/Pillow#1991 (browsers open PNGs whose IEND CRC is wrong)',
      make: async () => badIendCrc(await photo().png().toBuffer()),
    }),
    png({
      id: 'png-many-idat',
      report:
        'pngjs/pngjs#53 and image-rs/image-png#90 (IDAT split in many small chunks, as streaming writers do)',
      make: async () => splitIdat(await photo().png().toBuffer(), 100),
    }),
    gifCase({
      id: 'gif-87a',
      report: 'golang/go#20856 and python-pillow/Pillow#4542 (GIF87a from old tools)',
      make: async () => gif(40, 30, { version: '87a' }),
    }),
    gifCase({
      id: 'gif-local-tables',
      report:
        'lovell/sharp#3024 and kohler/gifsicle#126 (an animation whose every frame has its own colour table, no global one)',
      make: async () => gif(40, 30, { frames: 3, local: true, extensions: [netscapeLoop] }),
    }),
    gifCase({
      id: 'gif-comment-xmp',
      report:
        'python-pillow/Pillow#6300 and exiftool GIF XMP (a comment extension and an XMP application extension with its 258-byte magic trailer)',
      make: async () => gif(40, 30, { extensions: [comment('made with GIMP'), xmpExtension()] }),
    }),
    webp({
      id: 'webp-lossy',
      report: 'lovell/sharp#2431 (a simple VP8 WebP)',
      make: () => photo().webp().toBuffer(),
    }),
    webp({
      id: 'webp-lossless',
      report: 'webmproject/libwebp VP8L (lossless WebP, as cwebp -lossless writes it)',
      make: () => photo().webp({ lossless: true }).toBuffer(),
    }),
    webp({
      id: 'webp-alpha',
      report: 'lovell/sharp#2087 (lossy WebP with an ALPH chunk in VP8X)',
      make: () =>
        sharp({
          create: { width: 80, height: 60, channels: 4, background: { r: 0, g: 200, b: 0, alpha: 0.4 } },
        })
          .webp()
          .toBuffer(),
    }),
    webp({
      id: 'webp-animated',
      report: 'lovell/sharp#2296 (animated WebP: VP8X, ANIM, ANMF)',
      make: () => animated(3, 'webp'),
    }),
    {
      id: 'avif-still',
      report: 'lovell/sharp#2289 (AVIF stills from CDNs)',
      ext: 'avif',
      type: 'image/avif',
      want: '.avif',
      make: () => photo().avif().toBuffer(),
    },
    {
      id: 'heic-still',
      report: 'lovell/sharp#2871 (an iPhone HEIC); heif-enc',
      ext: 'heic',
      type: 'image/heic',
      want: '.heic',
      make: async (s) => {
        await photo().png().toFile(join(s, 'in.png'))
        run('heif-enc', ['-o', 'out.heic', 'in.png'], s)
        return readFile(join(s, 'out.heic'))
      },
    },
    {
      id: 'jxl-codestream',
      report: 'libjxl/libjxl#1329 (a bare JPEG XL codestream, what cjxl writes by default)',
      ext: 'jxl',
      type: 'image/jxl',
      want: '.jxl',
      noCut: true,
      make: async (s) => {
        await photo().png().toFile(join(s, 'in.png'))
        run('cjxl', ['in.png', 'out.jxl'], s)
        return readFile(join(s, 'out.jxl'))
      },
    },
    {
      id: 'jxl-container',
      report: 'libjxl/libjxl#1329 (JPEG XL in its ISOBMFF container); cjxl --container=1',
      ext: 'jxl',
      type: 'image/jxl',
      want: '.jxl',
      make: async (s) => {
        await photo().png().toFile(join(s, 'in.png'))
        run('cjxl', ['in.png', 'out.jxl', '--container=1'], s)
        return readFile(join(s, 'out.jxl'))
      },
    },
    bmp({
      id: 'bmp-os2',
      report:
        'python-pillow/Pillow#4549 and image-rs/image#1037 (an OS/2 BITMAPCOREHEADER BMP); convert BMP2:',
      make: (s) => viaConvert(s, photo(), ['-type', 'TrueColor'], 'BMP2:out.bmp'),
    }),
    bmp({
      id: 'bmp-top-down',
      report: 'image-rs/image#1013 and SixLabors/ImageSharp#2105 (a BMP of negative height: rows top-down)',
      make: async (s) => topDown(await viaConvert(s, photo(), ['-type', 'TrueColor'], 'BMP3:out.bmp')),
    }),
    bmp({
      id: 'bmp-rle8',
      report: 'python-pillow/Pillow#6701 and image-rs/image#1155 (RLE8 BMPs); convert -compress RLE BMP3:',
      make: (s) =>
        viaConvert(s, photo(), ['-colors', '16', '-type', 'Palette', '-compress', 'RLE'], 'BMP3:out.bmp'),
    }),
    bmp({
      id: 'bmp-bitfields',
      report:
        'SixLabors/ImageSharp#1283 and image-rs/image#1165 (32-bit BMP with BI_BITFIELDS masks, V5 header); convert BMP: with alpha',
      make: (s) =>
        viaConvert(
          s,
          sharp({
            create: { width: 80, height: 60, channels: 4, background: { r: 0, g: 100, b: 200, alpha: 0.5 } },
          }),
          [],
          'BMP:out.bmp',
        ),
    }),
    tiff({
      id: 'tiff-le',
      report: 'lovell/sharp#3370 (TIFF, little endian)',
      make: (s) => viaConvert(s, photo(), ['-endian', 'LSB'], 'TIFF:out.tif'),
    }),
    tiff({
      id: 'tiff-be',
      report: 'python-pillow/Pillow#3720 (TIFF, big endian, as Macs and scanners write it)',
      make: (s) => viaConvert(s, photo(), ['-endian', 'MSB'], 'TIFF:out.tif'),
    }),
    tiff({
      id: 'tiff-big',
      report: 'libvips/libvips#1237 and python-pillow/Pillow#2866 (BigTIFF, 64-bit offsets)',
      make: (s) => viaConvert(s, photo(), [], 'TIFF64:out.tif'),
    }),
    {
      id: 'ico-png',
      report: 'python-pillow/Pillow#2770 and image-rs/image#1113 (a Vista ICO holding a PNG)',
      ext: 'ico',
      type: 'image/x-icon',
      want: '.ico',
      make: async () => icoOf(await photo().resize(64, 64).png().toBuffer(), 1),
    },
    {
      id: 'cur-png',
      report: 'python-pillow/Pillow#4497 (a CUR cursor holding a PNG, hotspot in the directory)',
      ext: 'cur',
      type: 'image/x-icon',
      want: '.cur',
      make: async () => icoOf(await photo().resize(32, 32).png().toBuffer(), 2),
    },
    svg({
      id: 'svg-bom',
      report: 'svg/svgo#1040 and file/file (an SVG saved with a UTF-8 byte order mark)',
      make: async () =>
        Buffer.concat([
          Buffer.from([0xef, 0xbb, 0xbf]),
          Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${SVG}`),
        ]),
    }),
    svg({
      id: 'svg-comment-first',
      report:
        "sindresorhus/is-svg#29 and h2non/filetype#130 (an SVG that opens with a generator comment: Illustrator's)",
      make: async () =>
        Buffer.from(
          `<!-- Generator: Adobe Illustrator 24.0.0, SVG Export Plug-In . SVG Version: 6.00 Build 0)  -->\n${SVG}`,
        ),
    }),
    svg({
      id: 'svg-doctype-first',
      report:
        'sindresorhus/file-type#381 and gabriel-vasile/mimetype#175 (an SVG 1.1 DOCTYPE before the root)',
      make: async () =>
        Buffer.from(
          `<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n${SVG}`,
        ),
    }),
    {
      id: 'svgz-encoded',
      report:
        'nginx gzip_static for .svgz (image/svg+xml with Content-Encoding: gzip): the SVG a browser shows',
      ext: 'svgz',
      type: 'image/svg+xml',
      want: '.svg',
      headers: { 'Content-Encoding': 'gzip' },
      make: async () => gzipSync(SVG),
    },
    {
      id: 'svgz-bare',
      report:
        'mdn/content#16063 and w3c/svgwg#701 (.svgz served as image/svg+xml without Content-Encoding: browsers do not unzip it)',
      ext: 'svgz',
      type: 'image/svg+xml',
      want: '.svg',
      valid: false,
      make: async () => gzipSync(SVG),
    },
    // Siblings of the kinds above.
    jpeg({
      id: 'jpeg-mpo-depth-tail',
      report:
        'lovell/sharp#2436 (an MPO), cut inside its depth map: the first image whole, its end marker there',
      cut: 0.95,
      make: async () =>
        mpo(await photo().jpeg().toBuffer(), await noise(80, 60).greyscale().jpeg().toBuffer()),
    }),
    jpeg({
      id: 'jpeg-mpo-little',
      report:
        'exiftool MPF (an MPF index written little-endian, II, as Fujifilm and Samsung write it), cut inside the second image',
      cut: 0.95,
      make: async () =>
        mpo(await photo().jpeg().toBuffer(), await noise(80, 60).greyscale().jpeg().toBuffer(), {
          little: true,
        }),
    }),
    jpeg({
      id: 'jpeg-mpo-icc-first',
      report:
        'exiftool MPF (an ICC profile APP2 before the MPF APP2, as cameras order them), cut inside the second image',
      cut: 0.95,
      make: async () => {
        const first = await photo().withIccProfile('p3').jpeg().toBuffer()
        const m = mpo(first, await noise(80, 60).greyscale().jpeg().toBuffer())
        // Move the MPF APP2 after the ICC one; the offsets from its header stay right as the first image's size does not change.
        const mpfLen = m.readUInt16BE(4) + 2
        const app2 = m.subarray(2, 2 + mpfLen)
        const { segments, scan } = jpegSegments(m.subarray(mpfLen))
        const rest = m.subarray(2 + mpfLen)
        void rest
        const out: Buffer[] = [m.subarray(0, 2)]
        let put = false
        for (const [marker, seg] of segments) {
          out.push(seg)
          if (marker === 0xe2 && !put) {
            out.push(app2)
            put = true
          }
        }
        if (!put) throw new Error('no ICC APP2')
        const total = Buffer.concat([...out, scan])
        // The second image now starts at the same distance from the file's start, but the MPF header moved: re-point it.
        const header = total.indexOf(Buffer.from('MPF\0', 'latin1')) + 4
        const entry = total.indexOf(Buffer.from([0x00, 0x02, 0x00, 0x02]), header)
        total.writeUInt32BE(first.length + mpfLen - header, entry + 8)
        return total
      },
    }),
    jpeg({
      id: 'jpeg-non-interleaved',
      report:
        'libjpeg-turbo/libjpeg-turbo#48 and image-rs/jpeg-decoder#140 (a sequential JPEG of one scan per component); cjpeg -scans',
      make: async (s) => {
        await writeFile(join(s, 'scans.txt'), '0: 0 63 0 0;\n1: 0 63 0 0;\n2: 0 63 0 0;\n')
        return viaCjpeg(s, photo(), ['-scans', 'scans.txt'])
      },
    }),
    jpeg({
      id: 'jpeg-arith-progressive',
      report:
        'libjpeg-turbo/libjpeg-turbo#120 (arithmetic coding in a progressive JPEG); cjpeg -arithmetic -progressive',
      make: (s) => viaCjpeg(s, photo(), ['-arithmetic', '-progressive']),
    }),
    jpeg({
      id: 'jpeg-progressive-restart',
      report:
        'image-rs/jpeg-decoder#100 (restart markers in progressive scans); cjpeg -progressive -restart 1B',
      make: (s) => viaCjpeg(s, photo(), ['-progressive', '-restart', '1B']),
    }),
    png({
      id: 'png-empty-idat',
      report:
        'pngjs/pngjs#53 neighbours (zero-length IDAT chunks between the data, as some streaming writers flush)',
      make: async () => {
        const split = splitIdat(await photo().png().toBuffer(), 1000)
        const chunks = chunksOf(split)
        return Buffer.concat([
          split.subarray(0, 8),
          ...chunks.flatMap(([t, d]) =>
            t === 'IDAT' ? [pngChunk('IDAT', d), pngChunk('IDAT', Buffer.alloc(0))] : [pngChunk(t, d)],
          ),
        ])
      },
    }),
    gifCase({
      id: 'gif-plain-text',
      report: 'golang/go#5455 neighbours (a GIF89a plain text extension, label 01, before the image)',
      make: async () =>
        gif(40, 30, {
          extensions: [
            [0x21, 0x01, 12, 0, 0, 0, 0, 40, 0, 30, 0, 8, 8, 1, 0, ...subBlocks(Buffer.from('hello'))],
          ],
        }),
    }),
    gifCase({
      id: 'gif-interlaced',
      report: 'nothings/stb#1195 (an interlaced GIF frame)',
      make: async () => {
        const g = gif(40, 30)
        const at = g.indexOf(0x2c, 13)
        g[at + 9] = g[at + 9]! | 0x40
        return g
      },
    }),
    webp({
      id: 'webp-exif',
      report: 'lovell/sharp#1802 (a WebP carrying EXIF in its VP8X container)',
      make: () =>
        photo()
          .withExif({ IFD0: { Copyright: 'someone' } })
          .webp()
          .toBuffer(),
    }),
    {
      id: 'avif-alpha',
      report: 'AOMediaCodec/libavif#1043 (an AVIF with an alpha auxiliary item)',
      ext: 'avif',
      type: 'image/avif',
      want: '.avif',
      make: () =>
        sharp({
          create: { width: 80, height: 60, channels: 4, background: { r: 0, g: 200, b: 0, alpha: 0.4 } },
        })
          .avif()
          .toBuffer(),
    },
    {
      id: 'heic-thumbnail',
      report: 'strukturag/libheif#316 (an iPhone HEIC with a thumbnail item); heif-enc -t 32',
      ext: 'heic',
      type: 'image/heic',
      want: '.heic',
      make: async (s) => {
        await photo().png().toFile(join(s, 'in.png'))
        run('heif-enc', ['-t', '32', '-o', 'out.heic', 'in.png'], s)
        return readFile(join(s, 'out.heic'))
      },
    },
    bmp({
      id: 'bmp-os2v2',
      report:
        'python-pillow/Pillow#4549 and ImageMagick/ImageMagick#2455 (an OS/2 2.x BMP: a 64-byte BITMAPINFOHEADER2)',
      make: async (s) => {
        const b = await viaConvert(s, photo(), ['-type', 'TrueColor'], 'BMP3:out.bmp')
        const head = Buffer.alloc(64)
        b.copy(head, 0, 14, 54)
        head.writeUInt32LE(64, 0)
        const file = Buffer.from(b.subarray(0, 14))
        file.writeUInt32LE(b.length + 24, 2)
        file.writeUInt32LE(14 + 64, 10)
        return Buffer.concat([file, head, b.subarray(54)])
      },
    }),
    bmp({
      id: 'bmp-rgb565',
      report:
        'SixLabors/ImageSharp#1283 (16-bit RGB565 BMP, BI_BITFIELDS); convert -define bmp:subtype=RGB565',
      make: (s) => viaConvert(s, photo(), ['-define', 'bmp:subtype=RGB565'], 'BMP:out.bmp'),
    }),
    bmp({
      id: 'bmp-rle4',
      report: 'python-pillow/Pillow#6701 (RLE4 BMPs)',
      make: (s) =>
        viaConvert(
          s,
          photo(),
          ['-colors', '8', '-type', 'Palette', '-compress', 'RLE', '-depth', '4'],
          'BMP3:out.bmp',
        ),
    }),
    bmp({
      id: 'bmp-1bit',
      report: 'image-rs/image#1037 neighbours (a 1-bit BMP, as fax and label printers write them)',
      make: (s) => viaConvert(s, photo(), ['-monochrome'], 'BMP3:out.bmp'),
    }),
    tiff({
      id: 'tiff-tiled',
      report: 'lovell/sharp#2391 (a tiled TIFF); convert -define tiff:tile-geometry=64x64',
      make: (s) => viaConvert(s, photo(), ['-define', 'tiff:tile-geometry=64x64'], 'TIFF:out.tif'),
    }),
    tiff({
      id: 'tiff-lzw-multipage',
      report: 'lovell/sharp#1413 (a multi-page LZW TIFF, as scanners write it)',
      make: async (s) => {
        await photo().png().toFile(join(s, 'a.png'))
        await noise(80, 60).png().toFile(join(s, 'b.png'))
        run('convert', ['a.png', 'b.png', '-compress', 'LZW', 'out.tif'], s)
        return readFile(join(s, 'out.tif'))
      },
    }),
    tiff({
      id: 'tiff-jpeg',
      report: 'libvips/libvips#1816 (JPEG-compressed TIFF)',
      make: (s) => viaConvert(s, photo(), ['-compress', 'JPEG'], 'TIFF:out.tif'),
    }),
    tiff({
      id: 'tiff-planar',
      report: 'python-pillow/Pillow#5347 (a planar TIFF: PlanarConfiguration 2, one strip set per channel)',
      make: (s) => viaConvert(s, photo(), ['-interlace', 'Plane'], 'TIFF:out.tif'),
    }),
    tiff({
      id: 'tiff-big-be',
      report: 'libvips/libvips#1237 (BigTIFF, big endian)',
      make: (s) => viaConvert(s, photo(), ['-endian', 'MSB'], 'TIFF64:out.tif'),
    }),
    {
      id: 'ico-bmp',
      report: 'python-pillow/Pillow#2770 (a classic ICO: a BMP of double height, an AND mask)',
      ext: 'ico',
      type: 'image/x-icon',
      want: '.ico',
      make: (s) => viaConvert(s, photo().resize(32, 32), [], 'ICO:out.ico'),
    },
    {
      id: 'ico-256',
      report: 'image-rs/image#1116 (a 256-pixel ICO entry, its width and height written as 0)',
      ext: 'ico',
      type: 'image/x-icon',
      want: '.ico',
      make: async () => icoOf(await photo().resize(256, 256).png().toBuffer(), 1),
    },
    {
      id: 'jxl-from-jpeg',
      report:
        'libjxl/libjxl#1500 (a JPEG recompressed losslessly to JPEG XL: a container with a jbrd box to rebuild it); cjxl in.jpg',
      ext: 'jxl',
      type: 'image/jxl',
      want: '.jxl',
      make: async (s) => {
        await photo()
          .withExif({ IFD0: { Copyright: 'someone' } })
          .jpeg()
          .toFile(join(s, 'in.jpg'))
        run('cjxl', ['in.jpg', 'out.jxl'], s)
        return readFile(join(s, 'out.jxl'))
      },
    },
    gifCase({
      id: 'gif-87a-extensions',
      report: 'golang/go#20856 neighbours (a GIF that says 87a but holds 89a extensions; browsers show it)',
      make: async () => gif(40, 30, { version: '87a', extensions: [comment('x')] }),
    }),
    webp({
      id: 'webp-lossless-alpha',
      report: 'lovell/sharp#2087 neighbours (a lossless WebP with alpha, VP8X and VP8L)',
      make: () =>
        sharp({
          create: { width: 80, height: 60, channels: 4, background: { r: 0, g: 200, b: 0, alpha: 0.4 } },
        })
          .webp({ lossless: true })
          .toBuffer(),
    }),
    svg({
      id: 'svg-leading-space',
      report:
        'sindresorhus/is-svg#29 neighbours (white space before the root of an SVG without a declaration: well-formed)',
      make: async () => Buffer.from(`\n\n  ${SVG}`),
    }),
    svg({
      id: 'svg-prefixed-root',
      report: 'sindresorhus/is-svg#5 neighbours (an SVG whose root carries a namespace prefix, <svg:svg>)',
      make: async () =>
        Buffer.from(
          '<svg:svg xmlns:svg="http://www.w3.org/2000/svg" width="120" height="90"><svg:rect width="120" height="90" fill="#c83"/></svg:svg>\n',
        ),
    }),
    svg({
      id: 'svg-stylesheet-pi',
      report: 'w3c/svgwg#255 (an xml-stylesheet processing instruction before the root)',
      make: async () =>
        Buffer.from(`<?xml version="1.0"?>\n<?xml-stylesheet type="text/css" href="style.css"?>\n${SVG}`),
    }),
    svg({
      id: 'svg-cdata-style',
      report: 'svg/svgo#1232 (CDATA in a style or script: its < and </svg> are text)',
      make: async () =>
        Buffer.from(
          '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="90"><style><![CDATA[ /* </svg> & <g> */ rect { fill: #c83 } ]]></style><script><![CDATA[ if (1 < 2) {} ]]></script><rect width="120" height="90"/></svg>\n',
        ),
    }),
    svg({
      id: 'svg-comment-svg',
      report: 'sindresorhus/is-svg#29 neighbours (a comment before the root that holds <svg> itself)',
      make: async () => Buffer.from(`<!-- an old <svg width="1"> kept here -->\n${SVG}`),
    }),
  ]
}

/** Each case, then its cut copy (60 % of its bytes, served with that length). */
interface Served {
  id: string
  c: FormatCase
  body: Buffer
  whole: boolean
}

/** `bytes` as a client decodes them under `headers`' Content-Encoding (what a cut gzip stream gave). */
function decoded(bytes: Buffer, headers?: Record<string, string>): Buffer {
  if (headers?.['Content-Encoding'] !== 'gzip') return bytes
  return gunzipSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH })
}

async function describe(bytes: Buffer): Promise<string> {
  try {
    const m = await sharp(bytes, { pages: -1 }).metadata()
    const frames = m.pages && m.pages > 1 ? ` ${m.pages} frames` : ''
    return `${m.width}x${m.pageHeight ?? m.height} ${m.format}${frames}`
  } catch (error) {
    return `refuses (${String(error).replace(/\s+/g, ' ').slice(7, 60)})`
  }
}

async function shown(
  browser: Browser | undefined,
  bytes: Buffer,
  type: string,
  headers?: Record<string, string>,
): Promise<string> {
  if (!browser) return 'not run'
  // A Content-Encoding cannot ride a data: URI; the browser sees what it would decode.
  const body = decoded(bytes, headers)
  const page = await browser.open({ width: 400, height: 300 })
  try {
    return await page.evaluate(
      async (url) => {
        const img = new Image()
        img.src = url
        try {
          await img.decode()
        } catch {
          return 'broken'
        }
        return `shows ${img.naturalWidth}x${img.naturalHeight}`
      },
      `data:${type};base64,${body.toString('base64')}`,
    )
  } finally {
    await page.close()
  }
}

/** imgpull on `url` with `flags`: the name and bytes it kept, or its failure line. */
async function pull(url: string, flags: string[]): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), 'formats-imgpull-'))
  const r = await spawnCapped(
    process.execPath,
    [IMGPULL, url, '-o', out, '--no-report', '--retries', '0', ...flags],
    120_000,
  )
  const names = (await readdir(out).catch(() => [] as string[])).filter(
    (n) => !/^\.imgpull|^manifest\.jsonl$|^report\.html$/.test(n),
  )
  let text: string
  if (names[0] !== undefined) {
    const kept = await readFile(join(out, names[0]))
    text = `${names[0]} ${kept.length} B`
  } else {
    const line = r.stderr
      .split('\n')
      .map((l) => l.trim())
      .find((l) => /failed/.test(l))
    text = `refused: ${(line ?? `exit ${r.code}`)
      .replace(/https?:\/\/127\.0\.0\.1:\d+\/\S*/g, '')
      .replace(/[|`*_]/g, ' ')
      .slice(0, 110)}`
  }
  await rm(out, { recursive: true, force: true })
  return text
}

/** What curl, wget2 and aria2c keep: the bytes' length, or nothing. */
async function peer(tool: (typeof TOOLS)[number], url: string, file: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `formats-${tool.id}-`))
  const [cmd, ...args] = tool.args(url, dir, file)
  await spawnCapped(cmd!, args, 60_000)
  // wget2 keeps the URL's folders (`wget2/x.jpg`); aria2c's control file is not the image.
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter(
    (e) => e.isFile() && !e.name.endsWith('.aria2'),
  )
  const sizes = await Promise.all(files.map(async (e) => (await readFile(join(e.parentPath, e.name))).length))
  await rm(dir, { recursive: true, force: true })
  return sizes.length ? `kept ${sizes[0]} B` : 'none'
}

async function main() {
  const { argv, only } = benchArgs()
  const browser = argv.includes('--no-browser') ? undefined : await launchBrowser()
  const withPeers = !argv.includes('--no-peers')
  const scratch = await mkdtemp(join(tmpdir(), 'formats-make-'))
  const served: Served[] = []
  const chosen = cases().filter((c) => !only || only.some((o) => c.id === o || `${c.id}-cut` === o))
  for (const c of chosen) {
    const body = await c.make(scratch)
    served.push({ id: c.id, c, body, whole: true })
    if (!c.noCut)
      served.push({
        id: `${c.id}-cut`,
        c,
        body: body.subarray(0, Math.floor(body.length * (c.cut ?? 0.6))),
        whole: false,
      })
  }
  await rm(scratch, { recursive: true, force: true })
  const byPath = new Map(served.map((s) => [`/${s.id}.${s.c.ext}`, s]))
  const server = createServer((req, res) => {
    const s = byPath.get(new URL(req.url ?? '/', 'http://h').pathname.replace(/^\/[^/]+(?=\/)/, ''))
    if (!s) return res.writeHead(404).end()
    res
      .writeHead(200, { 'Content-Type': s.c.type, 'Content-Length': String(s.body.length), ...s.c.headers })
      .end(s.body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  const rows = [
    '| case | bytes | imgpull | imgpull --verify decode | imgpull --resize keep-ratio --size 64 | curl / wget2 / aria2c | Chromium | sharp |',
    '|---|---|---|---|---|---|---|---|',
  ]
  for (const s of served) {
    const file = `${s.id}.${s.c.ext}`
    const plain = await pull(`${origin}/imgpull/${file}`, [])
    const decode = await pull(`${origin}/imgpull/${file}`, ['--verify', 'decode'])
    const resize = await pull(`${origin}/imgpull/${file}`, ['--resize', 'keep-ratio', '--size', '64'])
    const peers = withPeers
      ? (
          await Promise.all(
            TOOLS.filter((t) => t.id !== 'imgpull').map((t) => peer(t, `${origin}/${t.id}/${file}`, file)),
          )
        ).join(' / ')
      : 'not run'
    const sharpSays = await describe(decoded(s.body, s.c.headers))
    const chromium = await shown(browser, s.body, s.c.type, s.c.headers)
    const good = s.whole && s.c.valid !== false
    rows.push(
      `| ${s.id} | ${s.body.length} | ${plain} | ${decode} | ${resize} | ${peers} | ${chromium} | ${sharpSays} |`,
    )
    console.error(
      `${s.id} (${good ? 'keep' : 'refuse'}, want ${s.c.want}): ${plain} || ${decode} || ${resize} || ${peers} || ${chromium} || ${sharpSays}`,
    )
  }
  server.closeAllConnections()
  server.close()
  await browser?.close()
  printTable(rows, chosen)
}

await main()
