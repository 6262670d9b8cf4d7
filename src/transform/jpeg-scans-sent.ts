/**
 * Whether a JPEG's scans send every component of its frame. A sequential file (SOF0, SOF1, SOF9)
 * sends each component whole in a scan, all of them in one (interleaved, as most encoders write) or
 * one a scan (`jpegtran -scans`, T.81 A.2.2); a progressive one (SOF2, SOF10) bands of coefficients
 * to a bit, each component's DC first (T.81 G.1.1), not necessarily every coefficient to its last
 * bit (see `scansLeftShort`). A file cut between two scans and closed with an end marker (as a
 * file cut inside a scan is, see `LOST_PIXELS` in resize.ts) passes the structure check, and
 * libjpeg decodes it without a word at any `failOn` level: where a component was never sent, grey
 * (libjpeg-turbo/libjpeg-turbo#343). So a resized or re-encoded copy, or `--verify decode`, kept it
 * as good. A progressive file cut after each component's first scan cannot be told from one whose
 * scan script stops there on purpose, and is kept. Only the marker segments and the scan headers
 * are read: each scan's entropy-coded data is passed over to its ending marker, never decoded, and
 * the walk ends as soon as every component is sent (an interleaved file's at its first scan).
 */

import { markSent, PROGRESSIVE, SEQUENTIAL, scansLeftShort } from '../verify/complete/jpeg.js'
import { type ByteSource, inMemory, WINDOW } from './byte-source.js'
import { segmentAt } from './jpeg-metadata.js'

const SOS = 0xda
const EOI = 0xd9

/** Frame headers SOF0–SOF15, less DHT (C4), JPG (C8) and DAC (CC), which share the range. */
const isFrame = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc

/**
 * Which component the scans of the JPEG in `source` never send, said for a message (`a JPEG whose
 * scans never send component 2 of 3 ...`); `undefined` when every component is sent, for a
 * lossless or hierarchical JPEG, and for bytes it cannot walk (left to the decoder, which fails on
 * them itself). Reads up to the first end marker. Never throws.
 */
export function scansShort(source: Uint8Array | ByteSource): string | undefined {
  const src = source instanceof Uint8Array ? inMemory(source) : source
  const soi = src.bytes(0, 2)
  if (soi.length < 2 || soi[0] !== 0xff || soi[1] !== 0xd8) return undefined
  /** Per component id, in frame order: whether a scan has sent it. */
  let final: Map<number, boolean> | undefined
  let at = 2
  while (at + 2 <= src.length) {
    const segment = segmentAt(src, at)
    if (!segment) return undefined
    const { marker, length } = segment
    at = segment.at
    if (marker === EOI) break
    if (length === 0) {
      at += 2 // TEM and RSTn stand alone
      continue
    }
    const end = at + 2 + length
    if (length < 2 || end > src.length) return undefined
    const data = src.bytes(at + 4, Math.min(length - 2, 3 + 2 * 255))
    if (isFrame(marker)) {
      // Lossless, hierarchical, or a second frame: left to the decoder.
      if (!(PROGRESSIVE.has(marker) || SEQUENTIAL.has(marker)) || final) return undefined
      final = new Map()
      for (let c = 0; c < data[5]; c++) final.set(data[6 + 3 * c], false)
    } else if (marker === SOS) {
      if (!final) return undefined
      // A scan sends its components (see scansLeftShort: a progressive one need not bring every
      // coefficient to its last bit).
      if (markSent(final, data)) return undefined
      at = dataEnd(src, end)
      continue
    }
    at = end
  }
  return final && scansLeftShort(final)
}

/**
 * Where a scan's entropy-coded data starting at `at` ends: at the first FF that is not a stuffed
 * byte (FF 00), a restart marker (FF D0–D7) or fill (FF FF), or at the end of the bytes.
 */
function dataEnd(src: ByteSource, at: number): number {
  while (at < src.length) {
    const window = src.bytes(at, WINDOW)
    let i = window.indexOf(0xff)
    while (i >= 0 && i + 1 < window.length) {
      const next = window[i + 1]
      if (next !== 0x00 && next !== 0xff && (next < 0xd0 || next > 0xd7)) return at + i
      i = window.indexOf(0xff, i + 1)
    }
    // An FF at the window's edge is looked at again from the next window.
    at += i >= 0 ? i : window.length
    if (i >= 0 && at + 1 >= src.length) return src.length
  }
  return src.length
}
