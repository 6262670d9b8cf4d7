import { ascii, i32le, u16le, u32be, u32le } from './bytes.js'

/**
 * BMP's size from its info header: 16-bit fields in the OS/2 1.x core header (12 bytes), 32-bit signed
 * ones in every later header, where a negative height means rows stored top-down (reported positive).
 */
export function bmpDimensions(head: Uint8Array): { width?: number; height?: number } {
  if (head.length < 26) return {}
  const header = u32le(head, 14)
  if (header === 12) return positive(u16le(head, 18), u16le(head, 20))
  if (head.length < 26 + 4) return {}
  return positive(i32le(head, 18), Math.abs(i32le(head, 22)))
}

/**
 * The largest image in an ICO or CUR file (by area; the first of equals). A directory entry's 0 means
 * 256; a PNG-compressed entry whose PNG header lies within `head` gives its exact size instead.
 */
export function icoDimensions(head: Uint8Array): { width?: number; height?: number } {
  const count = u16le(head, 4)
  if (head.length < 6 + 16 * count) return {}
  let best: { width: number; height: number } | undefined
  for (let i = 0; i < count; i++) {
    const e = 6 + 16 * i
    let width = head[e] || 256
    let height = head[e + 1] || 256
    const at = u32le(head, e + 12)
    if (at + 24 <= head.length && head[at] === 0x89 && ascii(head, at + 12, 'IHDR')) {
      width = u32be(head, at + 16)
      height = u32be(head, at + 20)
    }
    if (!best || width * height > best.width * best.height) best = { width, height }
  }
  return best ?? {}
}

const positive = (width: number, height: number) => (width > 0 && height > 0 ? { width, height } : {})
