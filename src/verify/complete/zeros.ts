import type { ReadBack } from './types.js'

/**
 * Zero bytes at the end of coded image data that show it zero-filled: the coders that end it
 * (HEVC's NAL units, AV1's tiles) write no run of zero bytes there. Not WebP lossless's: at
 * libwebp's fastest method a flat area ends its data in zeros (complete.test.ts, 'WebP: image
 * data that ends in many zero bytes of its own').
 */
const ZERO_END = 16
/** Bytes read back at a time while looking for where the zeros begin. */
const ZERO_BLOCK = 64 * 1024

/**
 * Where the zeros that end the coded data at bytes `offset`–`end` of the body begin, when its last
 * 16 bytes are all zeros (a file preallocated and cut holds them so: aria2's --file-allocation
 * writes the whole length as zeros first, aria2/aria2#1006); undefined otherwise. Reads back the
 * last 16 bytes, and only where they are zeros, the run back to where it begins.
 */
export async function zerosFrom(offset: number, end: number, read: ReadBack): Promise<number | undefined> {
  if (end - offset < ZERO_END || (await read(end - ZERO_END, ZERO_END)).some((b) => b !== 0)) return undefined
  let from = end - ZERO_END
  while (from > offset) {
    const block = await read(Math.max(offset, from - ZERO_BLOCK), Math.min(ZERO_BLOCK, from - offset))
    const last = block.findLastIndex((b) => b !== 0)
    if (last !== -1) return from - (block.length - last - 1)
    from -= block.length
  }
  return from
}
