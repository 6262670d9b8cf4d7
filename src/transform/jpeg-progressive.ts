/**
 * Whether a progressive JPEG's scans bring every coefficient to its final bit. A progressive file
 * (SOF2 with Huffman coding, SOF10 with arithmetic coding) sends its coefficients in scans: a band of them (spectral selection, Ss–Se) to a bit Al
 * (successive approximation), refined a bit a scan until Al is 0 (ITU T.81 G.1.1). A file cut
 * between two scans and closed with an end marker (as a file cut inside a scan is, see
 * `LOST_PIXELS` in resize.ts) passes the structure check, and libjpeg decodes it without a word at
 * any `failOn` level: a full-size image that is blurred or blocky (its first scans alone: the DC
 * of each 8×8 block, or its low frequencies), as libjpeg-turbo shows a progressive file loaded so
 * far (libjpeg-turbo/libjpeg-turbo#343; imazen/zenjpeg#92 calls it "truncated between scans").
 * So a resized or re-encoded copy, or `--verify decode`, kept a blurred image as good. libjpeg's
 * own encoder refuses a scan script that leaves a coefficient short ("Scan script does not
 * transmit all data"). Only the marker segments and the scan headers are read: each scan's
 * entropy-coded data is passed over to its ending marker, never decoded.
 */

import { type ByteSource, inMemory, WINDOW } from './byte-source.js'

const SOF2 = 0xc2
const SOF10 = 0xca
const SOS = 0xda
const EOI = 0xd9

/** Frame headers SOF0–SOF15, less DHT (C4), JPG (C8) and DAC (CC), which share the range. */
const isFrame = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc

/**
 * What a progressive JPEG in `source` leaves short of its final bit, said for a message
 * (`component 1's coefficients 1-63 are never sent`); `undefined` when every coefficient of every
 * component gets there, for a JPEG that is not progressive, and for bytes it cannot walk (left to
 * the decoder, which fails on them itself). Reads up to the first end marker. Never throws.
 */
export function progressiveShort(source: Uint8Array | ByteSource): string | undefined {
  const src = source instanceof Uint8Array ? inMemory(source) : source
  const soi = src.bytes(0, 2)
  if (soi.length < 2 || soi[0] !== 0xff || soi[1] !== 0xd8) return undefined
  /** Per component id, in frame order: which of its 64 coefficients a scan has sent to bit 0. */
  let final: Map<number, Uint8Array> | undefined
  let at = 2
  while (at + 2 <= src.length) {
    const b = src.bytes(at, 4)
    if (b[0] !== 0xff) return undefined
    const marker = b[1]
    if (marker === 0xff) {
      at += 1 // a fill byte before a marker
      continue
    }
    if (marker === EOI) break
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2 // TEM and RSTn stand alone
      continue
    }
    if (b.length < 4) return undefined
    const length = (b[2] << 8) | b[3]
    const end = at + 2 + length
    if (length < 2 || end > src.length) return undefined
    const data = src.bytes(at + 4, Math.min(length - 2, 3 + 2 * 255))
    if (isFrame(marker)) {
      if ((marker !== SOF2 && marker !== SOF10) || final) return undefined // not progressive, or a second frame: the decoder's
      final = new Map()
      for (let c = 0; c < data[5]; c++) final.set(data[6 + 3 * c], new Uint8Array(64))
    } else if (marker === SOS) {
      if (!final) return undefined
      const n = data[0]
      const ss = data[1 + 2 * n]
      const se = data[2 + 2 * n]
      const al = data[3 + 2 * n] & 15
      if (al === 0 && ss <= se && se < 64) {
        for (let c = 0; c < n; c++) final.get(data[1 + 2 * c])?.fill(1, ss, se + 1)
      }
      at = dataEnd(src, end)
      continue
    }
    at = end
  }
  if (!final) return undefined
  let index = 0
  for (const coded of final.values()) {
    index++
    const first = coded.indexOf(0)
    if (first < 0) continue
    const last = coded.lastIndexOf(0)
    const short = coded.subarray(first, last + 1).filter((sent) => sent === 0).length
    const which =
      first === last
        ? `coefficient ${first}`
        : short === last - first + 1
          ? `coefficients ${first}-${last}`
          : `${short} coefficients from ${first} to ${last}`
    return `a progressive JPEG whose scans leave component ${index}'s ${which} short of their last bit (a file cut between scans and closed with an end marker: a viewer shows it blurred)`
  }
  return undefined
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
