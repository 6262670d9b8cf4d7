/**
 * What a WebP's RIFF chunks say that libvips does not (Google's "WebP Container Specification"):
 * how its pixels are stored (`VP8L` is the lossless bitstream, `VP8 ` the lossy one; an extended
 * file, `VP8X`, holds one of them after its ICC profile, or one per frame inside `ANMF` chunks: 16
 * bytes of frame header, then the frame's own chunks), and whether it carries `EXIF` or `XMP `
 * chunks that its `VP8X` flags leave undeclared, or that a simple file (no `VP8X`) has appended:
 * libwebp's demuxer, and so libvips, reports only the declared ones; or a `C2PA` chunk (a C2PA
 * manifest: who made the image, with what, where), which libvips reports in no case.
 */

import { type ByteSource, inMemory } from './byte-source.js'

interface Seen {
  lossless: number
  lossy: number
  metadata: number
}

/** What `webpLossless` and `webpCarriesMetadata` say, from one walk of the chunks. */
export function webpFacts(bytes: Uint8Array | ByteSource): { lossless: boolean; metadata: boolean } {
  const seen = chunksOf(bytes instanceof Uint8Array ? inMemory(bytes) : bytes)
  return { lossless: seen.lossless > 0 && seen.lossy === 0, metadata: seen.metadata > 0 }
}

/**
 * `true` when every image bitstream in `bytes` is lossless (`VP8L`) and there is at least one;
 * `false` when one is lossy (`VP8 `) or none is found in the bytes given (not a WebP, or cut
 * before its first frame). A pure function of the bytes; never throws.
 */
export function webpLossless(bytes: Uint8Array): boolean {
  return webpFacts(bytes).lossless
}

/** Whether `bytes` (a WebP) hold an `EXIF`, `XMP ` or `C2PA` chunk, declared or not. Pure; never throws. */
export function webpCarriesMetadata(bytes: Uint8Array): boolean {
  return webpFacts(bytes).metadata
}

function chunksOf(src: ByteSource): Seen {
  const seen = { lossless: 0, lossy: 0, metadata: 0 }
  const head = src.bytes(0, 12)
  if (head.length >= 12 && ascii(head, 0) === 'RIFF' && ascii(head, 8) === 'WEBP') {
    walk(src, 12, src.length, seen)
  }
  return seen
}

function ascii(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3])
}

/** Count the chunks of interest in [`from`, `to`), frames' chunks included, reading only their headers. */
function walk(src: ByteSource, from: number, to: number, seen: Seen): void {
  for (let at = from; at + 8 <= to; ) {
    const b = src.bytes(at, 8)
    const type = ascii(b, 0)
    const size = (b[4] | (b[5] << 8) | (b[6] << 16) | (b[7] << 24)) >>> 0
    if (type === 'VP8L') seen.lossless++
    else if (type === 'VP8 ') seen.lossy++
    else if (type === 'EXIF' || type === 'XMP ' || type === 'C2PA') seen.metadata++
    else if (type === 'ANMF') walk(src, at + 8 + 16, Math.min(to, at + 8 + size), seen)
    at += 8 + size + (size & 1) // chunks are padded to an even size
  }
}
