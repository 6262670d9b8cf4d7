import { fourcc, u32be, u64be } from '../bytes.js'
import { type HeifItem, parseMeta, primarySize } from '../heif.js'
import { Malformed } from '../isobmff.js'
import { J2cCheck } from './j2c.js'
import { COMPLETE, corrupt, type ReadBack, truncated, type Verdict } from './types.js'
import { type Step, Walk } from './walk.js'
import { zerosFrom } from './zeros.js'

/** The `meta` box is kept for its item locations (and the primary item's size) up to this size. */
const MAX_META = 16 * 1024 * 1024

/**
 * Boxes ISO/IEC 14496-12 (and HEIF, ISO/IEC 23008-12) put at the top of a file: one of these cut
 * short after a HEIF's items is a box cut, not bytes after the file (see `BoxCheck.finish`).
 */
const FILE_BOXES = new Set(
  'ftyp styp otyp etyp pdin moov moof mfra mdat imda free skip wide meta meco udta uuid sidx ssix prft emsg'.split(
    ' ',
  ),
)

type Family = 'heif' | 'jxl' | 'jp2'
const NAMES: Record<Family, string> = { heif: 'HEIF', jxl: 'JPEG XL', jp2: 'JPEG 2000' }

interface Seen {
  type: string
  start: number
  /** -1: runs to the end of the file (size 0). */
  end: number
}

const At = {
  Header: 0,
  LargeSize: 1,
  Meta: 2,
  PartIndex: 3,
  /** The codestream's first two bytes, at the start of a `jxlc` box. */
  Signature: 4,
} as const
type At = (typeof At)[keyof typeof At]

/**
 * Files made of ISO base media boxes (ISO/IEC 14496-12 §4.2): HEIF and AVIF, the JPEG XL container, JP2.
 * The top-level boxes must walk to exactly the end of the body (a 64-bit size where size is 1; size 0 runs
 * to the end); a body that stops inside a box, or bytes after the last box that do not make a whole one,
 * are truncated, save fewer bytes than a box header after an image whose own boxes are all there (whole
 * but `unchecked`), and in a HEIF whose items all lie in the boxes before them, any bytes that are not a
 * box its format defines cut short (whole but `unchecked`, see `finish`). Then per family:
 * - HEIF/AVIF: the `meta` box parses, and every item's data (`iloc` extents: file offsets, or offsets into
 *   `idat`) lies within the body, which also covers an `mdat` of size 0; the verdict carries the primary
 *   item's size. An image sequence without items (`moov` only) needs an `mdat`; its sample tables are not
 *   checked.
 * - JPEG XL: a `jxlc` codestream box, or `jxlp` parts up to the one flagged last; the codestream starts
 *   with its signature FF 0A (see `#signature`).
 * - JPEG 2000: `jp2h` and a `jp2c` codestream box that ends with the end-of-codestream marker (FF D9), or
 *   holds it followed by padding (see `codestreamPadded`).
 */
export class BoxCheck extends Walk {
  readonly #family: Family
  readonly #seen: Seen[] = []
  #at: At = At.Header
  #box: Seen = { type: '', start: 0, end: 0 }
  /** The first `meta` box's payload, and the file offset it starts at. */
  #meta: { bytes: Uint8Array; origin: number } | undefined
  #metaTooLarge = false
  #lastPart = false
  /** A box header after the last whole box that declares a size no box can have (see `finish`). */
  #junk: Verdict | undefined

  constructor(family: Family) {
    super()
    this.#family = family
    this.expect(8)
  }

  protected next(h: Uint8Array): Step {
    switch (this.#at) {
      case At.Header: {
        const size = u32be(h, 0)
        this.#box = { type: fourcc(h, 4), start: this.position - 8, end: -1 }
        if (this.#box.type.includes('\0')) return this.#zeros()
        if (size === 1) {
          this.#at = At.LargeSize
          return this.expect(8)
        }
        if (size === 0) {
          // Runs to the end of the file: nothing after it is walked.
          this.#seen.push(this.#box)
          return this.rest()
        }
        if (size < 8) return this.#badSize(size)
        return this.#payload(this.#box.start + size)
      }
      case At.LargeSize: {
        const size = u64be(h, 0)
        if (size < 16) return this.#badSize(size)
        return this.#payload(this.#box.start + size)
      }
      case At.Meta:
        this.#meta = { bytes: h.slice(), origin: this.position - h.length }
        return this.#nextBox()
      case At.PartIndex:
        this.#lastPart = (h[0] & 0x80) !== 0
        // The first part (index 0) starts the codestream, with its signature.
        if (h.length === 6 && (u32be(h, 0) & 0x7fffffff) === 0) return this.#signature(h.subarray(4))
        return this.#nextBox(this.#box.end - this.position)
      case At.Signature:
        return this.#signature(h)
    }
  }

  #payload(end: number): Step {
    this.#box.end = end
    this.#seen.push(this.#box)
    const left = end - this.position
    if (this.#box.type === 'meta' && this.#family === 'heif' && !this.#meta) {
      if (left <= MAX_META) {
        this.#at = At.Meta
        return this.expect(left)
      }
      this.#metaTooLarge = true
    }
    if (this.#box.type === 'jxlp' && left >= 4) {
      this.#at = At.PartIndex
      return this.expect(left >= 6 ? 6 : 4)
    }
    if (this.#box.type === 'jxlc' && left >= 2) {
      this.#at = At.Signature
      return this.expect(2)
    }
    return this.#nextBox(left)
  }

  /**
   * The first two bytes of a JPEG XL container's codestream (`jxlc`, or the `jxlp` part of index 0):
   * the codestream's signature FF 0A (ISO/IEC 18181-1 §9.1), as libjxl reads it before anything
   * else. Zeros there are a file zero-filled from there, as one preallocated and cut holds it
   * (aria2's --file-allocation: aria2/aria2#1006): its boxes whole, it was kept, where libjxl
   * refuses it. Zeros further on, in the coded data, cannot be told without decoding.
   */
  #signature(h: Uint8Array): Step {
    const at = this.position - 2
    if (h[0] === 0 && h[1] === 0)
      return this.settle(
        corrupt(`${this.name} is zero-filled from byte ${at}, where its codestream's signature belongs`),
      )
    if (h[0] !== 0xff || h[1] !== 0x0a)
      return this.settle(
        corrupt(`${this.name} codestream in box ${this.#box.type} does not start with FF 0A, at byte ${at}`),
      )
    return this.#nextBox(this.#box.end - this.position)
  }

  /**
   * A box header whose size no box can have: corrupt; but in a HEIF whose meta box was read, it may
   * be bytes after the file (see `finish`), which decides once the body ends.
   */
  #badSize(size: number): Step {
    const verdict = corrupt(`${this.name} box ${this.#box.type} declares ${size} bytes`)
    if (this.#family !== 'heif' || !this.#meta) return this.settle(verdict)
    this.#junk = verdict
    return this.rest()
  }

  /**
   * A header whose type holds a zero byte: no box type does (ISO/IEC 14496-12 §4.2), so it is zeros
   * where a box belongs, as a file preallocated and cut leaves it (aria2's --file-allocation writes
   * the whole length as zeros first: aria2/aria2#1006). Read as a box of size 0, it ran to the end
   * of the file, and the items whose data lay under it were within the file: kept whole. Corrupt;
   * but in a HEIF whose meta box was read it may be padding after the file (see `finish`).
   */
  #zeros(): Step {
    const verdict = corrupt(
      `${this.name} has zeros where a box belongs, at byte ${this.#box.start}: zero-filled`,
    )
    if (this.#family !== 'heif' || !this.#meta) return this.settle(verdict)
    this.#junk = verdict
    return this.rest()
  }

  #nextBox(skip = 0): Step {
    this.#at = At.Header
    return this.expect(8, skip)
  }

  get name(): string {
    return NAMES[this.#family]
  }

  protected async finish(boundary: boolean, read: ReadBack): Promise<Verdict> {
    const total = this.position
    // A 64-bit size not come (the body ended after a box header of size 1) is a header cut short;
    // a body ended where a codestream box's first bytes are read is a box cut short.
    const inBox = this.#at === At.LargeSize || this.#at === At.Signature || this.#at === At.PartIndex
    if (boundary && !this.#junk && !inBox) return this.#whole(total, read)
    const box = this.#box
    const cut =
      this.#junk ??
      (box.end > total
        ? truncated(`${this.name} box ${box.type} ends at byte ${box.end}, past the end (${total} bytes)`)
        : truncated(`${this.name} box header cut short at byte ${total}`))
    // Bytes after the last whole box that make no whole box of their own, where the image's own
    // boxes are all there: let go as libheif, libavif and libjxl let them go, and as bytes after a
    // JPEG's end-of-image marker are: whole, but where the body ends only the transfer's framing
    // can say. Fewer bytes than a box header (a server or script that printed a newline after the
    // file) are no box's content, in any of these formats. More (a page or padding a server
    // appended) are let go in a HEIF whose meta box was read and every item's data lies in the
    // boxes before them, as libheif decodes it; a body cut inside an item's data stays cut.
    // A header of a box the file format defines that claims more than is left is a box cut short.
    const last = this.#seen.findLast((b) => b.end !== -1 && b.end <= total)
    const tail = this.#at === At.Header && !this.#junk && last === this.#seen[this.#seen.length - 1]
    const partial = box.end > total || this.#at === At.LargeSize
    const junk = this.#junk !== undefined || (partial && !FILE_BOXES.has(box.type))
    if (!last || !(tail || (this.#family === 'heif' && this.#meta && junk))) return cut
    const verdict = await this.#whole(last.end, read)
    if (!verdict.complete) return cut
    return { ...verdict, unchecked: verdict.unchecked ?? `${total - last.end} bytes follow the last box` }
  }

  /** The verdict on a body whose boxes walked to exactly `total`. */
  async #whole(total: number, read: ReadBack): Promise<Verdict> {
    const has = (type: string) => this.#seen.some((b) => b.type === type)
    if (this.#family === 'jxl') {
      if (has('jxlc') || (has('jxlp') && this.#lastPart)) {
        // A codestream box of size 0 runs to the end of the file: where it ends, its bytes do not say.
        const last = this.#seen[this.#seen.length - 1]
        if (last.end === -1 && (last.type === 'jxlc' || last.type === 'jxlp'))
          return { ...COMPLETE, unchecked: 'JPEG XL codestream box runs to the end of the file' }
        return COMPLETE
      }
      return truncated(
        has('jxlp')
          ? 'JPEG XL container ends before its last codestream part'
          : 'JPEG XL container ends before its codestream',
      )
    }
    if (this.#family === 'jp2') {
      const codestream = this.#seen.find((b) => b.type === 'jp2c')
      if (!has('jp2h') || !codestream)
        return truncated('JPEG 2000 file ends before its header or codestream box')
      const end = codestream.end === -1 ? total : codestream.end
      const eoc = end - codestream.start >= 10 ? await read(end - 2, 2) : undefined
      if (eoc?.[0] === 0xff && eoc[1] === 0xd9) return COMPLETE
      return codestreamPadded(codestream.start, end, codestream.end === -1, read)
    }
    return this.#heif(total, has, read)
  }

  async #heif(total: number, has: (type: string) => boolean, read: ReadBack): Promise<Verdict> {
    // A `meta` box of size 0, last, runs to the end of the file (libheif reads it so): read back
    // whole, where nothing in it can show that its last child box is its last.
    const last = this.#seen[this.#seen.length - 1]
    let toTheEnd: string | undefined
    if (!this.#meta && last?.type === 'meta' && last.end === -1 && total - last.start - 8 <= MAX_META) {
      this.#meta = { bytes: await read(last.start + 8, total - last.start - 8), origin: last.start + 8 }
      toTheEnd = 'HEIF meta box runs to the end of the file'
    }
    const verdict = await this.#items(total, has, read)
    if (!toTheEnd) return verdict
    // Where it ends, its bytes do not say: a structure that breaks off (a child box, the primary
    // item's pitm, an idat not all there) is the file cut short; a whole one may be cut between children.
    if (!verdict.complete)
      return truncated(`${verdict.reason}, in a meta box that runs to the end of the file`)
    return { ...verdict, unchecked: verdict.unchecked ?? toTheEnd }
  }

  /**
   * Where an item's extent (file offsets `offset` to `end`) runs past the end of the top-level box
   * it starts in, said for a message, or undefined: an `mdat` whose size says it is shorter than the
   * extents in `iloc` (a box cut short and its size made to fit, another box after it), whose bytes
   * were kept as the item's data, the next box's header among them (libheif decodes them so). Writers
   * put each extent inside one box, an `mdat` as a rule.
   */
  #straddled(offset: number, end: number, total: number): string | undefined {
    const box = this.#seen.find((b) => b.start <= offset && offset < (b.end === -1 ? total : b.end))
    if (!box || box.end === -1 || end <= box.end) return undefined
    return `runs from byte ${offset} to byte ${end}, past the end of its ${box.type} box (byte ${box.end}): a box cut short, another after it`
  }

  async #items(total: number, has: (type: string) => boolean, read: ReadBack): Promise<Verdict> {
    if (this.#meta) {
      const { bytes, origin } = this.#meta
      try {
        // The payload alone was kept: its first bytes are the FullBox version and flags.
        const meta = parseMeta(bytes, { type: 'meta', start: 0, body: 0, end: bytes.length })
        if (meta.primary === undefined || !meta.items.has(meta.primary))
          return corrupt('HEIF has no primary item')
        let toTheEnd = false
        for (const item of meta.items.values()) {
          for (const { offset, length } of item.extents) {
            // Length 0: the extent runs to the end of the file (ISO/IEC 14496-12 §8.11.3).
            if (length === 0 && item.method === 0) toTheEnd = true
            const end = offset + length
            if (item.method === 1) {
              const idat = meta.idat ? meta.idat.end - meta.idat.start : 0
              if (end > idat) return corrupt(`HEIF item ${item.id}'s data lies outside its idat box`)
            } else if (item.method === 0 && end > total) {
              return truncated(
                `HEIF item ${item.id}'s data ends at byte ${end}, past the end (${total} bytes)`,
              )
            } else if (item.method === 0 && length > 0) {
              const straddled = this.#straddled(offset, end, total)
              if (straddled) return corrupt(`HEIF item ${item.id}'s data ${straddled}`)
            }
          }
        }
        const zeros = toTheEnd ? undefined : await zeroEnded(meta.items.values(), read)
        if (zeros) return zeros
        const size = primarySize(bytes, meta, origin)
        return toTheEnd
          ? { ...COMPLETE, ...size, unchecked: 'HEIF item data runs to the end of the file' }
          : { ...COMPLETE, ...size }
      } catch (error) {
        if (error instanceof Malformed) {
          const where = error.at === undefined ? '' : `, at byte ${origin + error.at}`
          return corrupt(`HEIF meta box is malformed: ${error.message}${where}`)
        }
        throw error
      }
    }
    if (!has('mdat')) return truncated('HEIF ends before its meta and mdat boxes')
    if (this.#metaTooLarge)
      return { ...COMPLETE, unchecked: 'HEIF meta box over 16 MB: item locations not checked' }
    if (has('moov')) return { ...COMPLETE, unchecked: 'HEIF image sequence: sample tables not checked' }
    // Boxes that walk to the end without a meta box: a file whose mdat comes first (as streaming
    // writers lay it out), cut between boxes before its meta box, reads so; a cut, not a breakage.
    return truncated('HEIF ends before its meta box')
  }
}

/** Bytes read back at a time while a `jp2c` box's codestream is walked. */
const J2C_BLOCK = 1024 * 1024

/**
 * The verdict on a `jp2c` box from `start` to `end` whose last bytes are no end-of-codestream marker:
 * bytes after it in the box (zeros or a newline a writer pads the box with; a JPX stream cut out of
 * a PDF, SerenityOS/serenity#26274), which OpenJPEG passes over, as after a bare codestream's end
 * marker, or a codestream cut short. Its codestream is walked as a bare one (tile-parts by their
 * lengths) to its end marker: whole when it reaches it, the bytes after it bounded by the box's size
 * (`unchecked` where the box runs to the end of the file, as a bare codestream's are); truncated as
 * before otherwise. It was `truncated` ('codestream has no end marker'), where OpenJPEG decodes it.
 */
async function codestreamPadded(
  start: number,
  end: number,
  toEnd: boolean,
  read: ReadBack,
): Promise<Verdict> {
  const from = start + (u32be(await read(start, 4), 0) === 1 ? 16 : 8)
  const check = new J2cCheck()
  for (let at = from; at < end; at += J2C_BLOCK) check.update(await read(at, Math.min(J2C_BLOCK, end - at)))
  const verdict = await check.end((offset, length) => read(from + offset, length))
  if (!verdict.complete) return truncated('JPEG 2000 codestream has no end marker')
  return toEnd ? verdict : COMPLETE
}

/** Item types whose data is coded image data: HEVC (HEIC) and AV1 (AVIF) images. */
const CODED = new Set(['hvc1', 'av01'])
/**
 * Why a coded item's data (HEVC, AV1) ends in zeros, or undefined: an `mdat` whose header and
 * length arrived but whose data was zero-filled from a cut, as a file preallocated and cut holds it
 * (aria2's --file-allocation writes the whole length as zeros first: aria2/aria2#1006). Its boxes
 * walk to the end, its items lie within it, and it was kept whole, where libheif fails it ("Corrupt
 * frame detected"). HEVC forbids even one zero byte at a NAL unit's end (ITU-T H.265 §7.4.2.4.4);
 * AV1 ends a tile with its trailing bit, after which a decoder reads no more, and no encoder pads
 * it with zeros.
 */
async function zeroEnded(items: Iterable<HeifItem>, read: ReadBack): Promise<Verdict | undefined> {
  for (const item of items) {
    if (item.method !== 0 || !item.type || !CODED.has(item.type) || item.extents.length === 0) continue
    const { offset, length } = item.extents[item.extents.length - 1]
    const end = offset + length
    const from = await zerosFrom(offset, end, read)
    if (from === undefined) continue
    return corrupt(
      `HEIF item ${item.id}'s ${item.type} data is zeros from byte ${from} to its end (byte ${end}): zero-filled`,
    )
  }
  return undefined
}
