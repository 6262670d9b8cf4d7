import { GIF } from 'image-size/types/gif'
import type { IImage } from 'image-size/types/interface'
import { JPG } from 'image-size/types/jpg'
import { PNG } from 'image-size/types/png'
import { WEBP } from 'image-size/types/webp'

/** Bytes that tell every format apart: file-type reads at most this many. */
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
  const common = sniffCommon(head)
  if (common) return common
  // Loaded on first need: most runs never get past the fast path (and start 35 ms sooner).
  const { fileTypeFromBuffer } = await import('file-type')
  const type = await fileTypeFromBuffer(head)
  if (type?.mime.startsWith('image/')) return { ext: type.ext, mime: type.mime }
  // SVG is text (file-type calls it XML at best), so it is recognised by its root element.
  if (type && type.ext !== 'xml') return undefined
  const text = Buffer.from(head.buffer, head.byteOffset, Math.min(head.byteLength, 1024)).toString('utf8')
  return SVG.test(text) ? { ext: 'svg', mime: 'image/svg+xml' } : undefined
}

const ascii = (head: Uint8Array, at: number, text: string) => {
  for (let i = 0; i < text.length; i++) if (head[at + i] !== text.charCodeAt(i)) return false
  return true
}

/**
 * The four formats that make up nearly every image on the web, by their magic numbers: a check of
 * a few bytes, where file-type's full detection costs a tokenizer per file.
 */
export function sniffCommon(head: Uint8Array): Sniffed | undefined {
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return { ext: 'jpg', mime: 'image/jpeg' }
  if (head[0] === 0x89 && ascii(head, 1, 'PNG\r\n\u001a\n')) return { ext: 'png', mime: 'image/png' }
  if (ascii(head, 0, 'GIF87a') || ascii(head, 0, 'GIF89a')) return { ext: 'gif', mime: 'image/gif' }
  if (ascii(head, 0, 'RIFF') && ascii(head, 8, 'WEBP')) return { ext: 'webp', mime: 'image/webp' }
  return undefined
}

// image-size's index loads some twenty format readers (16 ms at start-up); these four cover the
// fast path, and the rest is loaded on first need.
const COMMON: Record<string, IImage> = { jpg: JPG, png: PNG, gif: GIF, webp: WEBP }

/**
 * Whether a JPEG's segments chain from its start to a frame header (SOF0–2) within `head`: the
 * path image-size's reader follows. Where the chain breaks, that reader steps on one byte at a time,
 * allocating two views per byte: a corrupt 110 KB JPEG cost 17 ms of main-thread CPU. Such a file
 * keeps its bytes but gets no dimensions.
 */
function jpegFrameWithin(head: Uint8Array): boolean {
  // image-size skips the first segment unread, whatever its marker; so does this walk.
  for (let at = 2, first = true; at + 3 < head.length; first = false) {
    if (head[at] !== 0xff) return false
    const marker = head[at + 1]
    if (!first && (marker === 0xc0 || marker === 0xc1 || marker === 0xc2)) return at + 9 <= head.length
    at += 2 + ((head[at + 2] << 8) | head[at + 3])
  }
  return false
}

/** Width and height read from the file's header, if it is within `head`. */
export async function dimensions(
  head: Uint8Array,
  ext: string,
): Promise<{ width?: number; height?: number }> {
  try {
    if (ext === 'jpg' && !jpegFrameWithin(head)) return {}
    const reader = COMMON[ext]
    const { width, height } = reader ? reader.calculate(head) : (await import('image-size')).imageSize(head)
    return { width, height }
  } catch {
    return {}
  }
}
