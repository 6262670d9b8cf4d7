/**
 * Whether a JPEG that has no end-of-image marker holds all its image data: every MCU of its last
 * scan, found by walking the Huffman codes (ITU-T T.81 Annex F.2.2.3) without decoding a pixel.
 * Browsers and libjpeg show such a file whole ("Premature end of JPEG file" is a warning);
 * a file cut inside a scan runs out of bits before its last MCU, and one filled with zeros from
 * where it was cut decodes the zeros as codes but stops short of the body's end, or ends on a zero
 * byte (see below), so neither passes.
 *
 * Only sequential Huffman JPEGs (SOF0, SOF1: baseline and extended, 8 or 12 bits) are walked, and
 * only when every component of the frame is in a scan: a progressive file's refinement scans need
 * a decoder's state, and arithmetic, lossless and hierarchical JPEGs are rare enough to leave
 * refused. The body must end within the last MCU's final byte (its padding bits all 1s, T.81
 * F.1.2.3), or after it with nothing but FF fill bytes (an end marker cut after its FF).
 */

interface Huffman {
  /** T.81 F.2.2.3: per code length 1–16, the largest code (-1: none), the first code and its index. */
  maxcode: Int32Array
  mincode: Int32Array
  valptr: Int32Array
  values: Uint8Array
}

interface Component {
  id: number
  h: number
  v: number
}

function huffman(counts: Uint8Array, values: Uint8Array): Huffman {
  const maxcode = new Int32Array(18).fill(-1)
  const mincode = new Int32Array(17)
  const valptr = new Int32Array(17)
  let code = 0
  let k = 0
  for (let l = 1; l <= 16; l++) {
    const n = counts[l - 1]
    if (n > 0) {
      valptr[l] = k
      mincode[l] = code
      code += n
      k += n
      maxcode[l] = code - 1
    }
    code <<= 1
  }
  return { maxcode, mincode, valptr, values }
}

/** Reads a scan's entropy-coded bits: FF 00 is a stuffed FF; any other FF xx ends the data. */
class Bits {
  #at: number
  #byte = 0
  #left = 0
  /** A marker (FF xx, not 00) or the body's end was reached where a byte was wanted. */
  ended = false

  constructor(
    readonly b: Uint8Array,
    at: number,
  ) {
    this.#at = at
  }

  get position(): number {
    return this.#at
  }

  bit(): number {
    if (this.#left === 0) {
      const b = this.b
      if (this.#at >= b.length || (b[this.#at] === 0xff && b[this.#at + 1] !== 0x00)) {
        this.ended = true
        return 0
      }
      this.#byte = b[this.#at]
      this.#at += this.#byte === 0xff ? 2 : 1
      this.#left = 8
    }
    this.#left--
    return (this.#byte >> this.#left) & 1
  }

  skip(n: number): void {
    for (let i = 0; i < n && !this.ended; i++) this.bit()
  }

  /** The bits left in the current byte are all 1s: T.81's padding. */
  padded(): boolean {
    return (this.#byte & ((1 << this.#left) - 1)) === (1 << this.#left) - 1
  }

  /** Goes on from byte `at` (past a restart marker), with no bits held. */
  skipTo(at: number): void {
    this.#at = at
    this.#left = 0
  }

  /** Drops the rest of the current byte (before a restart marker, or at a scan's end). */
  align(): void {
    this.#left = 0
  }

  decode(t: Huffman): number {
    let code = this.bit()
    let l = 1
    while (code > t.maxcode[l]) {
      if (++l > 16 || this.ended) return -1
      code = (code << 1) | this.bit()
    }
    return this.ended ? -1 : t.values[t.valptr[l] + code - t.mincode[l]]
  }
}

/**
 * Walks `bytes`, the whole body of a JPEG whose streaming check found no end-of-image marker.
 * `true` when its last scan holds every MCU and the body ends there (see the module comment).
 */
export function jpegScansWhole(bytes: Uint8Array): boolean {
  const b = bytes
  const u16 = (at: number) => (b[at] << 8) | b[at + 1]
  const tables = new Map<number, Huffman>()
  let frame: { width: number; height: number; components: Component[] } | undefined
  const scanned = new Set<number>()
  let restart = 0
  let at = 2
  for (;;) {
    // The next marker, past fill bytes and any stray bytes (as the streaming check passes them).
    while (at < b.length && !(b[at] === 0xff && b[at + 1] !== 0xff && b[at + 1] !== 0x00)) at++
    if (at + 4 > b.length) return false
    const marker = b[at + 1]
    const length = u16(at + 2)
    const data = at + 4
    const end = at + 2 + length
    if (length < 2 || end > b.length) return false
    if (marker === 0xc0 || marker === 0xc1) {
      if (frame || length < 8) return false
      const n = b[data + 5]
      const components: Component[] = []
      for (let c = 0; c < n; c++) {
        const o = data + 6 + 3 * c
        components.push({ id: b[o], h: b[o + 1] >> 4, v: b[o + 1] & 15 })
      }
      frame = { height: u16(data + 1), width: u16(data + 3), components }
      if (frame.height === 0 || frame.width === 0 || components.some((c) => c.h < 1 || c.v < 1)) return false
    } else if ((marker >= 0xc2 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xcc) || marker === 0xde) {
      return false // progressive, lossless, hierarchical or arithmetic: not walked
    } else if (marker === 0xc4) {
      for (let o = data; o < end; ) {
        const id = b[o]
        const counts = b.subarray(o + 1, o + 17)
        const total = counts.reduce((s, n) => s + n, 0)
        if (o + 17 + total > end) return false
        tables.set(id, huffman(counts, b.subarray(o + 17, o + 17 + total)))
        o += 17 + total
      }
    } else if (marker === 0xdd) {
      restart = u16(data)
    } else if (marker === 0xda) {
      if (!frame) return false
      const ns = b[data]
      const scan: { component: Component; dc: Huffman; ac: Huffman }[] = []
      for (let s = 0; s < ns; s++) {
        const component = frame.components.find((c) => c.id === b[data + 1 + 2 * s])
        const dc = tables.get(b[data + 2 + 2 * s] >> 4)
        const ac = tables.get(0x10 | (b[data + 2 + 2 * s] & 15))
        if (!component || !dc || !ac) return false
        scan.push({ component, dc, ac })
        scanned.add(component.id)
      }
      const bits = new Bits(b, end)
      if (!walkScan(bits, frame, scan, restart)) return false
      // The last scan: the body ends in its final byte, padded with 1s, or FF fill after it.
      const rest = b.subarray(bits.position)
      if (rest.every((x) => x === 0xff)) {
        // Zeros, where a file was preallocated and written only so far, decode as codes too: a
        // last byte of 00 is taken for them (an encoder's last bits that happen to be zeros too
        // leave the file refused, as before).
        const last = bits.position - (b[bits.position - 1] === 0 && b[bits.position - 2] === 0xff ? 2 : 1)
        return bits.padded() && b[last] !== 0 && frame.components.every((c) => scanned.has(c.id))
      }
      at = bits.position
      continue
    } else if (marker === 0xd9) {
      return false // the streaming check would have found it
    }
    at = end
  }
}

/** Walks every MCU of one scan (T.81 A.2, F.1.2): `false` where its bits run out or a code is invalid. */
function walkScan(
  bits: Bits,
  frame: { width: number; height: number; components: Component[] },
  scan: { component: Component; dc: Huffman; ac: Huffman }[],
  restart: number,
): boolean {
  const hmax = Math.max(...frame.components.map((c) => c.h))
  const vmax = Math.max(...frame.components.map((c) => c.v))
  let mcus: number
  // Each MCU's blocks, as [dc, ac] tables.
  const blocks: [Huffman, Huffman][] = []
  if (scan.length === 1) {
    // Non-interleaved: one block per MCU over the component's own size (A.2.2).
    const { component, dc, ac } = scan[0]
    const w = Math.ceil(Math.ceil((frame.width * component.h) / hmax) / 8)
    const h = Math.ceil(Math.ceil((frame.height * component.v) / vmax) / 8)
    mcus = w * h
    blocks.push([dc, ac])
  } else {
    mcus = Math.ceil(frame.width / (8 * hmax)) * Math.ceil(frame.height / (8 * vmax))
    for (const { component, dc, ac } of scan) {
      for (let k = 0; k < component.h * component.v; k++) blocks.push([dc, ac])
    }
  }
  for (let m = 0; m < mcus; m++) {
    if (restart > 0 && m > 0 && m % restart === 0) {
      // A restart marker (FF D0–D7) after the interval, on a byte boundary.
      bits.align()
      let p = bits.position
      while (bits.b[p] === 0xff && bits.b[p + 1] === 0xff) p++
      if (bits.b[p] !== 0xff || (bits.b[p + 1] & 0xf8) !== 0xd0) return false
      bits.skipTo(p + 2)
    }
    for (const [dc, ac] of blocks) {
      const s = bits.decode(dc)
      if (s < 0 || s > 16) return false
      bits.skip(s)
      for (let k = 1; k < 64; ) {
        const rs = bits.decode(ac)
        if (rs < 0) return false
        const r = rs >> 4
        const size = rs & 15
        if (size === 0) {
          if (r !== 15) break
          k += 16
        } else {
          k += r
          // A run past the 63rd coefficient is no JPEG's (T.81 F.2.2.2): bytes that are not its data.
          if (k > 63) return false
          bits.skip(size)
          k++
        }
      }
      if (bits.ended) return false
    }
  }
  return true
}
