import { createCipheriv, createHash } from 'node:crypto'

/**
 * Deterministic image bytes: a real header (so format sniffing and dimension reading work)
 * followed by seeded noise. Same name and size, same bytes, every time.
 */
export type Format = 'jpg' | 'png' | 'gif' | 'webp'

function noise(seed: string, length: number): Buffer {
  const key = createHash('sha256').update(seed).digest()
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32))
  return cipher.update(Buffer.alloc(length))
}

function jpegHeader(w: number, h: number): Buffer {
  const app0 = [
    0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00,
    0x00,
  ]
  const sof = [
    0xff,
    0xc0,
    0x00,
    0x11,
    0x08,
    h >> 8,
    h & 255,
    w >> 8,
    w & 255,
    0x03,
    0x01,
    0x22,
    0x00,
    0x02,
    0x11,
    0x01,
    0x03,
    0x11,
    0x01,
  ]
  return Buffer.from([0xff, 0xd8, ...app0, ...sof])
}

function pngHeader(w: number, h: number, rest: number): Buffer {
  const b = Buffer.alloc(8 + 25 + 8)
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0)
  b.writeUInt32BE(13, 8)
  b.write('IHDR', 12, 'latin1')
  b.writeUInt32BE(w, 16)
  b.writeUInt32BE(h, 20)
  b.set([8, 2, 0, 0, 0], 24)
  b.writeUInt32BE(0, 29) // CRC: not checked by sniffers
  b.writeUInt32BE(Math.max(0, rest), 33)
  b.write('IDAT', 37, 'latin1')
  return b
}

function gifHeader(w: number, h: number): Buffer {
  const b = Buffer.from('GIF89a\0\0\0\0\0\0\0', 'latin1')
  b.writeUInt16LE(w, 6)
  b.writeUInt16LE(h, 8)
  return b
}

function webpHeader(w: number, h: number, total: number): Buffer {
  const b = Buffer.alloc(30)
  b.write('RIFF', 0, 'latin1')
  b.writeUInt32LE(total - 8, 4)
  b.write('WEBPVP8X', 8, 'latin1')
  b.writeUInt32LE(10, 16)
  b.writeUIntLE(w - 1, 24, 3)
  b.writeUIntLE(h - 1, 27, 3)
  return b
}

/** Width and height derived from the name, so tests can check dimensions. */
export function dimsOf(name: string): { width: number; height: number } {
  const d = createHash('sha256').update(`dims:${name}`).digest()
  return { width: 100 + (d.readUInt16BE(0) % 4000), height: 100 + (d.readUInt16BE(2) % 3000) }
}

export function makeImage(name: string, size: number, format: Format = 'jpg'): Buffer {
  const { width, height } = dimsOf(name)
  const header =
    format === 'jpg'
      ? jpegHeader(width, height)
      : format === 'png'
        ? pngHeader(width, height, size - 41)
        : format === 'gif'
          ? gifHeader(width, height)
          : webpHeader(width, height, size)
  const body = Buffer.alloc(Math.max(size, header.length + 2))
  header.copy(body, 0)
  noise(`${format}:${name}`, body.length - header.length).copy(body, header.length)
  if (format === 'jpg') body.set([0xff, 0xd9], body.length - 2)
  return body
}

/** A size in [min, max] derived from the name. */
export function sizeOf(name: string, min: number, max: number): number {
  const d = createHash('sha256').update(`size:${name}`).digest()
  return min + (d.readUInt32BE(0) % (max - min + 1))
}
