/**
 * A PNG's metadata chunks, wherever they are (PNG 3rd edition §11.3): text (`tEXt`, `zTXt`,
 * `iTXt`, which also holds XMP), EXIF (`eXIf`) and a C2PA manifest (`caBX`, C2PA 12.3.1.2: who
 * made the image, with what, where). Text chunks may come after the image data, as ImageMagick
 * writes its `date:create`/`date:modify` and a photo's EXIF ('Raw profile type exif'), and
 * libvips reports only those before it; it reports no `caBX` at all.
 */

import { type ByteSource, inMemory } from './byte-source.js'

const METADATA: ReadonlySet<string> = new Set(['tEXt', 'zTXt', 'iTXt', 'eXIf', 'caBX'])

/**
 * Whether the PNG in `source` holds a metadata chunk anywhere before `IEND`; `false` for bytes that
 * are not a PNG. Chunks are walked by their lengths within the bytes given, reading only their
 * headers. A function of the bytes; never throws on them.
 */
export function pngCarriesMetadata(source: Uint8Array | ByteSource): boolean {
  const src = source instanceof Uint8Array ? inMemory(source) : source
  const sig = src.bytes(0, 8)
  if (sig.length < 8 || sig[0] !== 0x89 || sig[1] !== 0x50 || sig[2] !== 0x4e || sig[3] !== 0x47) {
    return false
  }
  for (let at = 8; at + 8 <= src.length; ) {
    const b = src.bytes(at, 8)
    const length = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0
    const type = String.fromCharCode(b[4], b[5], b[6], b[7])
    if (METADATA.has(type)) return true
    if (type === 'IEND') return false
    at += 12 + length // length, type, data, CRC
  }
  return false
}

/** Chunks whose colour description a decoder takes over gAMA's (PNG 3rd edition §4.3, in order of precedence). */
const OVERRIDES_GAMMA: ReadonlySet<string> = new Set(['cICP', 'iCCP', 'sRGB'])

/**
 * The file gamma a PNG's `gAMA` chunk states (its value over 100,000), when that is its only colour
 * description: `undefined` without one, with a `cICP`, `iCCP` or `sRGB` chunk (any of them wins),
 * with a gAMA of 0 (meaningless: decoders ignore it), and for bytes that are not a PNG. Only the
 * chunks before the image data are read (the colour chunks must come before it).
 * Browsers decode such a PNG by it (Chromium's Skia as a pure power curve); libvips ignores it.
 * A function of the bytes; never throws on them.
 */
export function pngGamma(source: Uint8Array | ByteSource): number | undefined {
  const src = source instanceof Uint8Array ? inMemory(source) : source
  const sig = src.bytes(0, 8)
  if (sig.length < 8 || sig[0] !== 0x89 || sig[1] !== 0x50 || sig[2] !== 0x4e || sig[3] !== 0x47) {
    return undefined
  }
  let gamma: number | undefined
  for (let at = 8; at + 8 <= src.length; ) {
    const b = src.bytes(at, 12)
    const length = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0
    const type = String.fromCharCode(b[4], b[5], b[6], b[7])
    if (OVERRIDES_GAMMA.has(type)) return undefined
    if (type === 'IDAT' || type === 'IEND') break
    if (type === 'gAMA' && length === 4 && b.length >= 12) {
      const value = ((b[8] << 24) | (b[9] << 16) | (b[10] << 8) | b[11]) >>> 0
      gamma = value > 0 ? value / 100_000 : undefined
    }
    at += 12 + length // length, type, data, CRC
  }
  return gamma
}
