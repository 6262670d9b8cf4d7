/**
 * Whether a GIF's frames hold all their pixels. A frame whose LZW data ends early (its sub-blocks
 * closed and the trailer written after a cut, as a JPEG cut short and closed with an end marker)
 * passes the structure check, and libvips (libnsgif) decodes it without a word at any `failOn`
 * level: the rest of the frame is transparent, and a resized or re-encoded copy, or
 * `--verify decode`, kept the image with its lower part missing (white once written as JPEG).
 * The LZW codes are counted here, not decoded: only each code's length is kept.
 */

/** A frame that is short of pixels: which one (0-based), and how many it holds of how many. */
export interface ShortFrame {
  frame: number
  pixels: number
  expected: number
}

/**
 * The pixels an LZW stream (GIF89a Appendix F, variable-length codes, deferred clear) yields, up to
 * `limit`: it stops at the end-of-information code, at the end of the data, or at a code that
 * cannot be (a corrupt stream, counted as far as it goes).
 */
export function lzwPixels(data: Uint8Array, minCodeSize: number, limit: number): number {
  if (minCodeSize < 2 || minCodeSize > 11) return 0
  const clear = 1 << minCodeSize
  const end = clear + 1
  const lengths = new Uint32Array(4096)
  lengths.fill(1, 0, clear)
  let size = minCodeSize + 1
  let next = end + 1
  let previous = -1
  let count = 0
  let bits = 0
  let held = 0
  for (let i = 0; i < data.length; i++) {
    held |= data[i] << bits
    bits += 8
    while (bits >= size) {
      const code = held & ((1 << size) - 1)
      held >>>= size
      bits -= size
      if (code === clear) {
        size = minCodeSize + 1
        next = end + 1
        previous = -1
        continue
      }
      if (code === end) return count
      let length: number
      if (previous === -1) {
        if (code >= clear) return count
        length = 1
      } else {
        if (code < next) length = lengths[code]
        else if (code === next) length = lengths[previous] + 1
        else return count
        if (next < 4096) {
          lengths[next] = lengths[previous] + 1
          next++
          if (next === 1 << size && size < 12) size++
        }
      }
      count += length
      previous = code
      if (count >= limit) return count
    }
  }
  return count
}

/**
 * The first of the first `frames` frames of `gif` (all when `undefined`) that holds fewer pixels
 * than its image descriptor's size, or `undefined` when each is whole. Blocks it cannot walk are
 * left to the decoder, which tells a broken file from a short one.
 */
export function shortGifFrame(gif: Uint8Array, frames?: number): ShortFrame | undefined {
  if (gif.length < 13) return undefined
  let at = 13
  if (gif[10] & 0x80) at += 3 * 2 ** ((gif[10] & 7) + 1)
  let frame = 0
  while (at < gif.length && (frames === undefined || frame < frames)) {
    const block = gif[at]
    if (block === 0x3b) return undefined // trailer
    if (block === 0x21) {
      at = subBlocksEnd(gif, at + 2)
      continue
    }
    if (block !== 0x2c || at + 10 > gif.length) return undefined
    const width = gif[at + 5] | (gif[at + 6] << 8)
    const height = gif[at + 7] | (gif[at + 8] << 8)
    const packed = gif[at + 9]
    at += 10
    if (packed & 0x80) at += 3 * 2 ** ((packed & 7) + 1)
    if (at >= gif.length) return undefined
    const minCodeSize = gif[at]
    const start = at + 1
    const stop = subBlocksEnd(gif, start)
    const data = joined(gif, start, stop)
    const expected = width * height
    const pixels = lzwPixels(data, minCodeSize, expected)
    if (pixels < expected) return { frame, pixels, expected }
    frame++
    at = stop
  }
  return undefined
}

/** Where the sub-blocks starting at `at` end (past their zero-length terminator). */
function subBlocksEnd(b: Uint8Array, at: number): number {
  while (at < b.length && b[at] !== 0) at += b[at] + 1
  return at + 1
}

/** The data of the sub-blocks from `start` to `stop`, without their length bytes. */
function joined(b: Uint8Array, start: number, stop: number): Uint8Array {
  const out = new Uint8Array(Math.max(0, stop - start))
  let n = 0
  for (let at = start; at < stop - 1 && at < b.length; ) {
    const length = b[at]
    out.set(b.subarray(at + 1, Math.min(b.length, at + 1 + length)), n)
    n += Math.min(length, b.length - at - 1)
    at += length + 1
  }
  return out.subarray(0, n)
}
