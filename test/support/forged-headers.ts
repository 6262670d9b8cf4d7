import { randomBytes } from 'node:crypto'

/**
 * Hand-made GIF and TIFF files whose headers state whatever size a test wants, followed by noise up
 * to `size` bytes: what a decompression bomb or a lying server sends. libvips reads their headers
 * as the formats say (its metadata agrees with what they state); their pixels do not decode.
 */

export interface GifFrame {
  left?: number
  top?: number
  width: number
  height: number
  /** Bytes of (noise) image data in the frame, in sub-blocks of 255. @default 16 */
  data?: number
}

/** A GIF89a: a logical screen, a 2-colour global table, and its frames, each with noise as data. */
export function forgedGif(screen: { width: number; height: number }, frames: GifFrame[]): Buffer {
  const u16 = (n: number) => [n & 255, (n >> 8) & 255]
  const parts: Buffer[] = [
    Buffer.from('GIF89a', 'latin1'),
    Buffer.from([...u16(screen.width), ...u16(screen.height), 0x80, 0, 0, 0, 0, 0, 255, 255, 255]),
  ]
  for (const f of frames) {
    parts.push(
      Buffer.from([0x2c, ...u16(f.left ?? 0), ...u16(f.top ?? 0), ...u16(f.width), ...u16(f.height), 0, 2]),
    )
    let left = f.data ?? 16
    while (left > 0) {
      const n = Math.min(255, left)
      parts.push(Buffer.from([n]), randomBytes(n))
      left -= n
    }
    parts.push(Buffer.from([0]))
  }
  parts.push(Buffer.from([0x3b]))
  return Buffer.concat(parts)
}

/**
 * A TIFF of one 8-bit grey page of `width` x `height` (ImageWidth and ImageLength as SHORT or LONG),
 * its IFD right after the header, then one uncompressed strip of `data` bytes of noise.
 */
export function forgedTiff(options: {
  width: number
  height: number
  little: boolean
  type: 'short' | 'long'
  data?: number
}): Buffer {
  const { width, height, little, type } = options
  const data = options.data ?? 64
  const entries: [tag: number, type: number, value: number][] = [
    [256, type === 'short' ? 3 : 4, width],
    [257, type === 'short' ? 3 : 4, height],
    [258, 3, 8], // BitsPerSample
    [259, 3, 1], // Compression: none
    [262, 3, 1], // PhotometricInterpretation: black is zero
    [273, 4, 0], // StripOffsets: filled below
    [277, 3, 1], // SamplesPerPixel
    [278, 4, height], // RowsPerStrip
    [279, 4, data], // StripByteCounts
  ]
  const ifdBytes = 2 + entries.length * 12 + 4
  const stripAt = 8 + ifdBytes
  const b = Buffer.alloc(stripAt + data)
  const w16 = (v: number, at: number) => (little ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at))
  const w32 = (v: number, at: number) => (little ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at))
  b.write(little ? 'II' : 'MM', 0, 'latin1')
  w16(42, 2)
  w32(8, 4)
  w16(entries.length, 8)
  entries.forEach(([tag, kind, value], i) => {
    const at = 10 + i * 12
    w16(tag, at)
    w16(kind, at + 2)
    w32(1, at + 4)
    if (tag === 273) value = stripAt
    // A SHORT sits in the value field's first two bytes, in the file's byte order.
    if (kind === 3) w16(value, at + 8)
    else w32(value, at + 8)
  })
  w32(0, 10 + entries.length * 12) // no next IFD
  randomBytes(data).copy(b, stripAt)
  return b
}
