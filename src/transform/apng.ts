/**
 * An animated PNG whose default image is not part of its animation (PNG 3rd edition §5.6, the APNG
 * chunks: no `fcTL` before its `IDAT`): the `IDAT` image is a fallback for viewers that know no
 * APNG, and every browser shows the animation's first frame, from the `fdAT` chunks after it,
 * instead. libvips knows no APNG and reads the `IDAT` image: resized or re-encoded, such a file came
 * out as an image no browser showed (a "your browser shows no animation" placeholder; opencv/opencv#27074).
 */

import { crc32 } from 'node:zlib'
import { type ByteSource, inMemory } from './byte-source.js'

/** The first frame of an APNG whose default image is hidden: a PNG of it, and where it sits on the canvas. */
export interface HiddenDefault {
  /** A still PNG of the first frame (its size, the file's other chunks). */
  png: Buffer
  /** The canvas (IHDR) size, and the frame's place on it (`fcTL`'s offsets). */
  canvas: { width: number; height: number }
  left: number
  top: number
}

/** Chunks of the animation itself, which a still PNG does not carry. */
const ANIMATION: ReadonlySet<string> = new Set(['acTL', 'fcTL', 'fdAT'])

const u32 = (b: Uint8Array, at: number) =>
  ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(data.length + 12)
  out.writeUInt32BE(data.length, 0)
  out.write(type, 4, 'latin1')
  out.set(data, 8)
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length)
  return out
}

/**
 * Whether the PNG in `source` is an APNG whose default image is hidden: an `acTL`, then `IDAT`
 * before any `fcTL`. Reads chunk headers only, up to the first `fcTL` or `IDAT` past the `acTL`.
 * A function of the bytes; never throws on them.
 */
export function hidesDefaultImage(source: Uint8Array | ByteSource): boolean {
  const src = source instanceof Uint8Array ? inMemory(source) : source
  const sig = src.bytes(0, 8)
  if (sig.length < 8 || sig[0] !== 0x89 || sig[1] !== 0x50 || sig[2] !== 0x4e || sig[3] !== 0x47) return false
  let animated = false
  for (let at = 8; at + 8 <= src.length; ) {
    const b = src.bytes(at, 8)
    const type = String.fromCharCode(b[4], b[5], b[6], b[7])
    if (type === 'acTL') animated = true
    if (type === 'fcTL' || type === 'IEND') return false
    if (type === 'IDAT') return animated
    at += 12 + u32(b, 0)
  }
  return false
}

/**
 * The first frame of an APNG whose default image is hidden (see `hidesDefaultImage`), as a still
 * PNG: the file's IHDR with the frame's size, every chunk but the animation's and the `IDAT`s, and
 * the frame's `fdAT` data (each without its sequence number) as its `IDAT`. `undefined` for any
 * other PNG, and for one whose first frame is missing or does not fit its canvas (libvips then
 * reads the default image, as before). A function of the bytes; never throws on them.
 */
export function hiddenDefaultFrame(png: Uint8Array): HiddenDefault | undefined {
  if (!hidesDefaultImage(png)) return undefined
  const before: Buffer[] = []
  const after: Buffer[] = []
  const data: Uint8Array[] = []
  let ihdr: Uint8Array | undefined
  let frame: { width: number; height: number; left: number; top: number } | undefined
  let seenIdat = false
  let done = false
  for (let at = 8; at + 12 <= png.length; ) {
    const length = u32(png, at)
    const end = at + 12 + length
    if (end > png.length) return undefined
    const type = Buffer.from(png.subarray(at + 4, at + 8)).toString('latin1')
    const body = png.subarray(at + 8, at + 8 + length)
    if (type === 'IEND') break
    if (type === 'IHDR') ihdr = body
    else if (type === 'IDAT') seenIdat = true
    else if (type === 'fcTL') {
      if (frame) done = true
      else if (length >= 26)
        frame = { width: u32(body, 4), height: u32(body, 8), left: u32(body, 12), top: u32(body, 16) }
    } else if (type === 'fdAT') {
      if (frame && !done && length > 4) data.push(body.subarray(4))
    } else if (!ANIMATION.has(type)) (seenIdat ? after : before).push(Buffer.from(png.subarray(at, end)))
    at = end
  }
  if (ihdr?.length !== 13 || !frame || data.length === 0) return undefined
  const canvas = { width: u32(ihdr, 0), height: u32(ihdr, 4) }
  const { width, height, left, top } = frame
  if (width === 0 || height === 0 || left + width > canvas.width || top + height > canvas.height)
    return undefined
  const header = Buffer.from(ihdr)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  const still = Buffer.concat([
    Buffer.from(png.subarray(0, 8)),
    chunk('IHDR', header),
    ...before,
    chunk('IDAT', Buffer.concat(data)),
    ...after,
    chunk('IEND', new Uint8Array(0)),
  ])
  return { png: still, canvas, left, top }
}
