import { fileTypeFromBuffer } from 'file-type'
import { imageSize } from 'image-size'

/** Bytes needed to tell every supported format apart (file-type reads at most this many). */
export const SNIFF_BYTES = 4100

export interface Sniffed {
  /** Extension without the dot: `jpg`, `png`, `webp`, ... */
  ext: string
  mime: string
}

const SVG = /^\s*(?:<\?xml[^>]*>\s*)?(?:<!--[\s\S]*?-->\s*)*(?:<!DOCTYPE svg[^>]*>\s*)?<svg[\s>]/i

/**
 * What image format the first bytes are, from magic numbers; `undefined` when they are not an
 * image (an HTML error page served with 200, JSON, an empty body...).
 */
export async function sniff(head: Uint8Array): Promise<Sniffed | undefined> {
  const type = await fileTypeFromBuffer(head)
  if (type) return type.mime.startsWith('image/') ? { ext: type.ext, mime: type.mime } : undefined
  // SVG is text, so file-type leaves it to us.
  const text = Buffer.from(head.buffer, head.byteOffset, Math.min(head.byteLength, 1024)).toString('utf8')
  return SVG.test(text) ? { ext: 'svg', mime: 'image/svg+xml' } : undefined
}

/** Width and height read from the file's header, if it is within `head`. */
export function dimensions(head: Uint8Array): { width?: number; height?: number } {
  try {
    const { width, height } = imageSize(head)
    return { width, height }
  } catch {
    return {}
  }
}
