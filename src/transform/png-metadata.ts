/**
 * A PNG's metadata chunks, wherever they are (PNG 3rd edition §11.3): text (`tEXt`, `zTXt`,
 * `iTXt`, which also holds XMP) and EXIF (`eXIf`). Text chunks may come after the image data, as
 * ImageMagick writes its `date:create`/`date:modify` and a photo's EXIF ('Raw profile type exif'),
 * and libvips reports only those before it.
 */

const METADATA: ReadonlySet<string> = new Set(['tEXt', 'zTXt', 'iTXt', 'eXIf'])

/**
 * Whether the PNG in `bytes` holds a metadata chunk anywhere before `IEND`; `false` for bytes that
 * are not a PNG. Chunks are walked by their lengths within the bytes given. Pure; never throws.
 */
export function pngCarriesMetadata(bytes: Uint8Array): boolean {
  if (bytes.length < 8 || bytes[0] !== 0x89 || bytes[1] !== 0x50 || bytes[2] !== 0x4e || bytes[3] !== 0x47) {
    return false
  }
  for (let at = 8; at + 8 <= bytes.length; ) {
    const length = ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0
    const type = String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7])
    if (METADATA.has(type)) return true
    if (type === 'IEND') return false
    at += 12 + length // length, type, data, CRC
  }
  return false
}
