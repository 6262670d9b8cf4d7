/** Big- and little-endian reads from a byte array; the caller checks bounds. */

export const u16be = (b: Uint8Array, at: number): number => (b[at] << 8) | b[at + 1]
export const u32be = (b: Uint8Array, at: number): number =>
  b[at] * 0x1000000 + ((b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3])
/** A 64-bit value as a number: exact up to 2^53, which is past any file this reads. */
export const u64be = (b: Uint8Array, at: number): number => u32be(b, at) * 0x100000000 + u32be(b, at + 4)
export const u16le = (b: Uint8Array, at: number): number => b[at] | (b[at + 1] << 8)
export const u32le = (b: Uint8Array, at: number): number =>
  b[at + 3] * 0x1000000 + ((b[at + 2] << 16) | (b[at + 1] << 8) | b[at])
export const i32le = (b: Uint8Array, at: number): number => u32le(b, at) | 0
export const i32be = (b: Uint8Array, at: number): number => u32be(b, at) | 0

/** Four bytes as a latin1 type code (`ftyp`, `IHDR`, `VP8 `). */
export const fourcc = (b: Uint8Array, at: number): string =>
  String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3])

/** Whether `text` (ASCII) is at `at`. */
export function ascii(b: Uint8Array, at: number, text: string): boolean {
  if (at + text.length > b.length) return false
  for (let i = 0; i < text.length; i++) if (b[at + i] !== text.charCodeAt(i)) return false
  return true
}
