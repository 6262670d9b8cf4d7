/**
 * Whether a JPEG that has no end-of-image marker holds all its image data, found by walking its
 * Huffman codes (ITU-T T.81 Annex F.2.2.3) without decoding a pixel. It runs only on a body whose
 * streaming check found no end-of-image marker (up to `WALK_LIMIT` in jpeg.ts), once.
 * Browsers and libjpeg show such a file whole ("Premature end of JPEG file" is a warning);
 * a file cut inside a scan runs out of bits before its last MCU, and one filled with zeros from
 * where it was cut decodes the zeros as codes but stops short of the body's end, or ends on a zero
 * byte (see below), so neither passes.
 *
 * Sequential Huffman JPEGs (SOF0, SOF1: baseline and extended, 8 or 12 bits) are whole when their
 * last scan holds every MCU and every component of the frame was in a scan. Progressive Huffman
 * JPEGs (SOF2) are walked scan by scan as a decoder reads them (T.81 G.1.2, see
 * `walkProgressiveScan`), and are whole only when their scans have brought every coefficient of
 * every component to its final bit (successive approximation's Al = 0 over the whole spectrum, DC
 * and AC): a file cut exactly between two scans has every MCU of its last scan, but some
 * coefficient short of its last refinement, and stays refused. Arithmetic, lossless and
 * hierarchical JPEGs are rare enough to leave refused. The body must end within the last MCU's
 * final byte (its padding bits all 1s, T.81 F.1.2.3), or after it with nothing but FF fill bytes
 * (an end marker cut after its FF).
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

  /** `n` bits (up to 16) as an unsigned number, first bit highest (T.81 F.2.2.4's RECEIVE). */
  read(n: number): number {
    let v = 0
    for (let i = 0; i < n; i++) v = (v << 1) | this.bit()
    return v
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

type Frame = { width: number; height: number; components: Component[] }

/** A scan's components with the tables its header names (a progressive scan needs only one kind). */
type ScanComponent = { component: Component; dc: Huffman | undefined; ac: Huffman | undefined }

/**
 * Bounds on a progressive walk, which keeps a bit a coefficient of every block and may visit each
 * block once a scan: past them the file is not walked (refused, as before progressive files were
 * walked). 2^23 blocks (64 MB of state) is about 350 million pixels in 4:2:0; a libjpeg decoder
 * holds 128 bytes a block, 16 times that. Every other step of the walk reads a bit or more of the
 * body, but an end-of-band run covers up to 32,767 blocks in a few bits, and a file may have some
 * 900 scans a component (a band of one coefficient, refined a bit at a time): only a count of
 * block visits bounds that. 2^26 is over 5 times what a 100-megapixel photo's ten or so scans
 * take, and about half a second of scans made to spend it (measured: 882 scans of one coefficient
 * over 1,048,576 blocks, each end-of-band run of 32,767 blocks coded in 15 bits).
 */
const MAX_BLOCKS = 1 << 23
const MAX_VISITS = 1 << 26

/**
 * A progressive file's state, a component: what a decoder would hold, less the coefficients' values.
 * T.81 G.1.1.1: a component's DC is coded first (interleaved or not), then bands of AC coefficients
 * (Ss–Se, spectral selection) in scans of that component alone; each scan codes its coefficients to
 * the bit Al (successive approximation), and a refinement (Ah > 0) adds one bit to each.
 */
interface Progress {
  /** The component's size in blocks (A.2.2: its own size, rounded up to whole blocks). */
  width: number
  height: number
  /** Per coefficient 0–63, the Al of the last scan that coded it (-1: none yet): 0 is its final bit. */
  al: Int8Array
  /**
   * Per block, two 32-bit words: which coefficients are non-zero so far. An AC refinement reads a
   * correction bit for each of them (G.1.2.3), so its bits cannot be walked without them.
   */
  nonzero: Uint32Array
}

/**
 * Walks `bytes`, the whole body of a JPEG whose streaming check found no end-of-image marker.
 * `true` when its scans hold all its image data and the body ends there (see the module comment).
 * Never throws: a marker segment or scan it cannot read, or one past the body's end, is `false`.
 */
export function jpegScansWhole(bytes: Uint8Array): boolean {
  const b = bytes
  const u16 = (at: number) => (b[at] << 8) | b[at + 1]
  const tables = new Map<number, Huffman>()
  let frame: Frame | undefined
  let progressive = false
  const scanned = new Set<number>()
  const progress = new Map<number, Progress>()
  const budget = { visits: MAX_VISITS }
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
    if (marker === 0xc0 || marker === 0xc1 || marker === 0xc2) {
      if (frame || length < 8) return false
      progressive = marker === 0xc2
      const n = b[data + 5]
      if (length < 8 + 3 * n) return false
      const components: Component[] = []
      for (let c = 0; c < n; c++) {
        const o = data + 6 + 3 * c
        components.push({ id: b[o], h: b[o + 1] >> 4, v: b[o + 1] & 15 })
      }
      frame = { height: u16(data + 1), width: u16(data + 3), components }
      // T.81 B.2.2: sampling factors are 1–4 (libjpeg stops at others).
      if (frame.height === 0 || frame.width === 0 || n === 0) return false
      if (components.some((c) => c.h < 1 || c.v < 1 || c.h > 4 || c.v > 4)) return false
      if (progressive) {
        const hmax = Math.max(...components.map((c) => c.h))
        const vmax = Math.max(...components.map((c) => c.v))
        let blocks = 0
        for (const c of components) {
          const width = Math.ceil(Math.ceil((frame.width * c.h) / hmax) / 8)
          const height = Math.ceil(Math.ceil((frame.height * c.v) / vmax) / 8)
          blocks += width * height
          if (blocks > MAX_BLOCKS) return false
          progress.set(c.id, { width, height, al: new Int8Array(64).fill(-1), nonzero: new Uint32Array(0) })
        }
        // Every block's DC is coded in at least a bit: a body with fewer bits than blocks is cut.
        if (blocks > 8 * b.length) return false
      }
    } else if ((marker >= 0xc3 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xcc) || marker === 0xde) {
      return false // lossless, hierarchical or arithmetic: not walked
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
      if (ns < 1 || ns > 4 || length < 6 + 2 * ns) return false
      // T.81 B.2.3: after the components, Ss, Se, and Ah and Al in one byte.
      const ss = b[data + 1 + 2 * ns]
      const se = b[data + 2 + 2 * ns]
      const ah = b[data + 3 + 2 * ns] >> 4
      const al = b[data + 3 + 2 * ns] & 15
      const scan: ScanComponent[] = []
      for (let s = 0; s < ns; s++) {
        const component = frame.components.find((c) => c.id === b[data + 1 + 2 * s])
        const dc = tables.get(b[data + 2 + 2 * s] >> 4)
        const ac = tables.get(0x10 | (b[data + 2 + 2 * s] & 15))
        if (!component) return false
        scan.push({ component, dc, ac })
        scanned.add(component.id)
      }
      const bits = new Bits(b, end)
      if (progressive) {
        const band = { ss, se, ah, al }
        if (!walkProgressiveScan(bits, frame, scan, band, restart, progress, budget)) return false
      } else {
        if (scan.some((s) => !s.dc || !s.ac)) return false
        if (!walkScan(bits, frame, scan as { component: Component; dc: Huffman; ac: Huffman }[], restart))
          return false
      }
      // The last scan: the body ends in its final byte, padded with 1s, or FF fill after it.
      const rest = b.subarray(bits.position)
      if (rest.every((x) => x === 0xff)) {
        // Zeros, where a file was preallocated and written only so far, decode as codes too: a
        // last byte of 00 is taken for them (an encoder's last bits that happen to be zeros too
        // leave the file refused, as before).
        const last = bits.position - (b[bits.position - 1] === 0 && b[bits.position - 2] === 0xff ? 2 : 1)
        // A progressive file is whole only where its scans brought every coefficient of every
        // component to its final bit: a cut between two scans leaves some short of it.
        const all = progressive
          ? [...progress.values()].every((p) => p.al.every((a) => a === 0))
          : frame.components.every((c) => scanned.has(c.id))
        return bits.padded() && b[last] !== 0 && all
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
    if (restart > 0 && m > 0 && m % restart === 0 && !restartMarker(bits)) return false
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

/** A restart marker (FF D0–D7, after FF fill) on a byte boundary, after a restart interval's MCUs: passed. */
function restartMarker(bits: Bits): boolean {
  bits.align()
  let p = bits.position
  while (bits.b[p] === 0xff && bits.b[p + 1] === 0xff) p++
  if (bits.b[p] !== 0xff || (bits.b[p + 1] & 0xf8) !== 0xd0) return false
  bits.skipTo(p + 2)
  return true
}

/** The bits of `x` that are 1. */
function ones(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555)
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333)
  return Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24
}

/** A 32-bit mask of bits `from`–`to` (0–31; none when from > to). */
function mask(from: number, to: number): number {
  if (from > to) return 0
  const n = to - from + 1
  return (n >= 32 ? 0xffffffff : ((1 << n) - 1) << from) >>> 0
}

/**
 * Walks one scan of a progressive Huffman JPEG (T.81 G.1.2; as libjpeg's jdphuff.c reads it),
 * checking its header against the progression so far (G.1.1.1.1, as libjpeg checks it), then:
 * - DC first scans (Ss = Se = 0, Ah = 0; interleaved or not): one DC difference a block (G.1.2.1).
 * - DC refinements (Ah > 0): one bit a block.
 * - AC first scans (Ss > 0, one component): each block's band of coefficients Ss–Se as run/size
 *   codes, or an end-of-band run (EOBRUN, G.1.2.2) that codes the band of this and up to 32,766
 *   following blocks as zeros.
 * - AC refinements (Ah > 0): a correction bit for each coefficient of the band already non-zero,
 *   and codes for those that become non-zero now (G.1.2.3); the non-zero coefficients are kept a
 *   block, from earlier scans, as a decoder keeps them, to know how many bits a run or an EOBRUN holds.
 * Restart markers come every `restart` MCUs (one block an MCU in a scan of one component), and end
 * an end-of-band run. `false` where the header breaks the progression, the bits run out, a code is
 * invalid, or the walk would exceed its bounds (`budget`).
 */
function walkProgressiveScan(
  bits: Bits,
  frame: Frame,
  scan: ScanComponent[],
  { ss, se, ah, al }: { ss: number; se: number; ah: number; al: number },
  restart: number,
  progress: Map<number, Progress>,
  budget: { visits: number },
): boolean {
  // libjpeg stops at a header outside these (JERR_BAD_PROGRESSION).
  if (ss === 0 ? se !== 0 : se < ss || se > 63 || scan.length !== 1) return false
  if (al > 13 || (ah !== 0 && al !== ah - 1)) return false
  const states = scan.map(({ component }) => progress.get(component.id)!)
  for (const p of states) {
    // DC before any AC of a component, and each scan takes its coefficients on from the bit the
    // last one left them at (libjpeg warns, "bogus progression", and decodes something else).
    if (ss > 0 && p.al[0] === -1) return false
    for (let k = ss; k <= se; k++) if (p.al[k] !== (ah === 0 ? -1 : ah)) return false
    for (let k = ss; k <= se; k++) p.al[k] = al
  }
  const hmax = Math.max(...frame.components.map((c) => c.h))
  const vmax = Math.max(...frame.components.map((c) => c.v))
  if (ss === 0) {
    // DC: MCUs as a sequential scan's (A.2), one code or one bit a block.
    let mcus: number
    const dc: (Huffman | undefined)[] = []
    if (scan.length === 1) {
      mcus = states[0].width * states[0].height
      dc.push(scan[0].dc)
    } else {
      mcus = Math.ceil(frame.width / (8 * hmax)) * Math.ceil(frame.height / (8 * vmax))
      for (const { component, dc: table } of scan)
        for (let k = 0; k < component.h * component.v; k++) dc.push(table)
    }
    if (ah === 0 && dc.some((t) => !t)) return false
    budget.visits -= mcus * dc.length
    if (budget.visits < 0) return false
    for (let m = 0; m < mcus; m++) {
      if (restart > 0 && m > 0 && m % restart === 0 && !restartMarker(bits)) return false
      for (const table of dc) {
        if (ah === 0) {
          const t = bits.decode(table!)
          if (t < 0 || t > 16) return false
          bits.skip(t)
        } else bits.bit()
      }
      if (bits.ended) return false
    }
    return true
  }
  const p = states[0]
  const ac = scan[0].ac
  if (!ac) return false
  const blocks = p.width * p.height
  budget.visits -= blocks
  if (budget.visits < 0) return false
  if (p.nonzero.length === 0) p.nonzero = new Uint32Array(blocks * 2)
  const nonzero = p.nonzero
  const isNonzero = (block: number, k: number) => (nonzero[block * 2 + (k >> 5)] >>> (k & 31)) & 1
  const setNonzero = (block: number, k: number) => {
    nonzero[block * 2 + (k >> 5)] |= 1 << (k & 31)
  }
  /** How many coefficients `from`–`se` of a block are non-zero: its correction bits in an end-of-band run. */
  const nonzeroFrom = (block: number, from: number) =>
    ones(nonzero[block * 2] & mask(from, Math.min(se, 31))) +
    ones(nonzero[block * 2 + 1] & mask(Math.max(from, 32) - 32, se - 32))
  const low = mask(ss, Math.min(se, 31))
  const high = mask(Math.max(ss, 32) - 32, se - 32)
  /** Blocks left in the end-of-band run, this one among them (G.1.2.2: 2^r plus r more bits). */
  let eobrun = 0
  for (let block = 0; block < blocks; ) {
    if (restart > 0 && block > 0 && block % restart === 0) {
      if (!restartMarker(bits)) return false
      eobrun = 0 // a run ends at a restart marker (the encoder codes it before)
    }
    if (eobrun > 0) {
      // Whole blocks of a run, up to the next restart marker, at once: a first scan codes them as
      // zeros; a refinement holds a correction bit for each coefficient of the band already non-zero.
      const until = restart > 0 ? Math.min(blocks, (Math.floor(block / restart) + 1) * restart) : blocks
      const run = Math.min(eobrun, until - block)
      if (ah > 0) {
        let corrections = 0
        for (let x = block; x < block + run; x++)
          corrections += ones(nonzero[x * 2] & low) + ones(nonzero[x * 2 + 1] & high)
        bits.skip(corrections)
        if (bits.ended) return false
      }
      eobrun -= run
      block += run
      continue
    }
    let k = ss
    if (ah === 0) {
      // First scan of the band: run/size codes; a size of 0 is ZRL (16 zeros) or an end-of-band run.
      for (; k <= se; k++) {
        const rs = bits.decode(ac)
        if (rs < 0) return false
        const r = rs >> 4
        const size = rs & 15
        if (size) {
          k += r
          if (k > se) return false
          bits.skip(size)
          setNonzero(block, k)
        } else if (r === 15) k += 15
        else {
          eobrun = (1 << r) + (r ? bits.read(r) : 0)
          break
        }
      }
    } else {
      // Refinement: jdphuff.c's decode_mcu_AC_refine, without the values.
      for (; k <= se; k++) {
        const rs = bits.decode(ac)
        if (rs < 0) return false
        let r = rs >> 4
        const size = rs & 15
        // A coefficient that becomes non-zero now is ±1 at this bit: its size is 1, its sign a bit
        // (libjpeg warns at another size, "corrupt JPEG data").
        if (size > 1) return false
        if (size) bits.bit()
        else if (r !== 15) {
          eobrun = (1 << r) + (r ? bits.read(r) : 0)
          break
        }
        // Past r zero coefficients (and the new one's place), a correction bit for each non-zero one.
        do {
          if (isNonzero(block, k)) bits.bit()
          else if (--r < 0) break
          k++
        } while (k <= se)
        if (size) {
          if (k > se) return false
          setNonzero(block, k)
        }
      }
    }
    if (eobrun > 0) {
      // The run begins in this block: the rest of its band is zeros (or only correction bits).
      if (ah > 0) bits.skip(nonzeroFrom(block, k))
      eobrun--
    }
    if (bits.ended) return false
    block++
  }
  return true
}
