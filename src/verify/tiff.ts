import { u16be, u16le, u32be, u32le } from './bytes.js'
import { COMPLETE, corrupt, type ReadBack, truncated, type Verdict } from './complete/types.js'
import { upright } from './orientation.js'

/**
 * TIFF 6.0 (§2, Image File Directories) and BigTIFF: a header naming the first IFD, and a chain of IFDs
 * whose entries point anywhere in the file, so the structure is read back at random offsets.
 */

/** Bytes per value of each field type; 0 for types a reader skips. */
const TYPE_SIZE = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 0, 0, 8, 8, 8]

const WIDTH = 256
const HEIGHT = 257
const ORIENTATION = 274
const STRIP_OFFSETS = 273
const STRIP_BYTE_COUNTS = 279
const TILE_OFFSETS = 324
const TILE_BYTE_COUNTS = 325
const SUB_IFDS = 330
const JPEG_OFFSET = 513
const JPEG_LENGTH = 514

/** IFDs followed at most (pages plus SubIFDs): a loop or a hostile chain stops here. */
const MAX_IFDS = 1024
/** Offsets read for one strip or tile table at most (8 MB of LONG8). */
const MAX_PIECES = 1 << 20

interface Entry {
  tag: number
  type: number
  count: number
  /** The value's bytes when they fit in the entry, else undefined. */
  inline?: Uint8Array
  /** Where the value lies otherwise. */
  offset: number
  bytes: number
}

/** The byte order and offset width of one file, and reads at its offsets. */
class Tiff {
  readonly little: boolean
  readonly big: boolean
  constructor(
    readonly head: Uint8Array,
    readonly read: ReadBack,
    readonly total: number,
  ) {
    this.little = head[0] === 0x49
    this.big = (this.little ? u16le(head, 2) : u16be(head, 2)) === 43
  }
  u16 = (b: Uint8Array, at: number) => (this.little ? u16le(b, at) : u16be(b, at))
  u32 = (b: Uint8Array, at: number) => (this.little ? u32le(b, at) : u32be(b, at))
  u64 = (b: Uint8Array, at: number) =>
    this.little
      ? u32le(b, at) + u32le(b, at + 4) * 0x100000000
      : u32be(b, at) * 0x100000000 + u32be(b, at + 4)
  offset = (b: Uint8Array, at: number) => (this.big ? this.u64(b, at) : this.u32(b, at))

  get first(): number {
    return this.big ? this.u64(this.head, 8) : this.u32(this.head, 4)
  }

  /** The entries of the IFD at `at` and the offset of the next one; undefined when it lies beyond the body. */
  async ifd(at: number): Promise<{ entries: Entry[]; next: number } | undefined> {
    const countBytes = this.big ? 8 : 2
    if (at + countBytes > this.total) return undefined
    const head = await this.read(at, countBytes)
    const count = this.big ? this.u64(head, 0) : this.u16(head, 0)
    const size = this.big ? 20 : 12
    const length = count * size + (this.big ? 8 : 4)
    if (at + countBytes + length > this.total) return undefined
    const b = await this.read(at + countBytes, length)
    const entries: Entry[] = []
    const room = this.big ? 8 : 4
    for (let i = 0; i < count; i++) {
      const e = i * size
      const tag = this.u16(b, e)
      const type = this.u16(b, e + 2)
      const n = this.big ? this.u64(b, e + 4) : this.u32(b, e + 4)
      const bytes = n * (TYPE_SIZE[type] ?? 0)
      const value = e + (this.big ? 12 : 8)
      if (bytes <= room)
        entries.push({ tag, type, count: n, inline: b.subarray(value, value + room), offset: 0, bytes })
      else entries.push({ tag, type, count: n, offset: this.offset(b, value), bytes })
    }
    return { entries, next: this.offset(b, count * size) }
  }

  /** An entry's values as numbers (SHORT, LONG, LONG8, IFD, IFD8); undefined for other types. */
  async numbers(e: Entry): Promise<number[] | undefined> {
    const width = TYPE_SIZE[e.type]
    if (![3, 4, 13, 16, 18].includes(e.type) || e.count > MAX_PIECES) return undefined
    const b = e.inline ?? (await this.read(e.offset, e.bytes))
    const values: number[] = new Array(e.count)
    for (let i = 0; i < e.count; i++) {
      const at = i * width
      values[i] = width === 2 ? this.u16(b, at) : width === 4 ? this.u32(b, at) : this.u64(b, at)
    }
    return values
  }
}

/**
 * Whether a whole TIFF body of `total` bytes holds every IFD of its page chain (and SubIFDs), every value
 * they point to, and every strip or tile (or old-style JPEG stream) its pages name. Bytes after all of that
 * are allowed: TIFF is read by offsets, so readers never see them. `head` holds at least the header
 * (16 bytes, or all of a shorter body). The verdict carries the first page's width and height.
 */
export async function checkTiff(head: Uint8Array, read: ReadBack, total: number): Promise<Verdict> {
  const tiff = new Tiff(head, read, total)
  if (total < (tiff.big ? 16 : 8)) return truncated('TIFF header cut short')
  const queue = [tiff.first]
  const seen = new Set<number>()
  let dims: { width?: number; height?: number } = {}
  while (queue.length > 0) {
    const at = queue.shift()!
    if (seen.has(at)) return corrupt(`TIFF IFD chain loops back to byte ${at}`)
    if (seen.size === MAX_IFDS) break
    const first = seen.size === 0
    seen.add(at)
    const ifd = await tiff.ifd(at)
    if (!ifd) return truncated(`TIFF IFD at byte ${at} lies beyond the end (${total} bytes)`)
    const byTag = new Map(ifd.entries.map((e) => [e.tag, e]))
    for (const e of ifd.entries) {
      if (!e.inline && e.offset + e.bytes > total) {
        return truncated(`TIFF tag ${e.tag}'s value lies beyond the end (${total} bytes)`)
      }
    }
    const pieces =
      (await pieceCheck(tiff, byTag.get(STRIP_OFFSETS), byTag.get(STRIP_BYTE_COUNTS))) ??
      (await pieceCheck(tiff, byTag.get(TILE_OFFSETS), byTag.get(TILE_BYTE_COUNTS))) ??
      (await pieceCheck(tiff, byTag.get(JPEG_OFFSET), byTag.get(JPEG_LENGTH)))
    if (pieces === undefined && first) return corrupt('TIFF first page has no strips or tiles')
    if (pieces && pieces !== 'ok') return pieces
    if (first) dims = await size(tiff, byTag)
    const subs = byTag.get(SUB_IFDS)
    if (subs) for (const sub of (await tiff.numbers(subs)) ?? []) if (sub) queue.push(sub)
    if (ifd.next) queue.push(ifd.next)
  }
  return { ...COMPLETE, ...dims }
}

/** 'ok' when every piece (offset, byte count) lies within the body; a verdict when one does not; undefined when the pair is absent. */
async function pieceCheck(tiff: Tiff, offsets?: Entry, counts?: Entry): Promise<'ok' | Verdict | undefined> {
  if (!offsets || !counts) return undefined
  // A table this long is not read back (megabytes per page): the page counts as present, unchecked.
  if (offsets.count > MAX_PIECES) return 'ok'
  const at = await tiff.numbers(offsets)
  const length = await tiff.numbers(counts)
  if (!at || !length) return corrupt(`TIFF tag ${offsets.tag} or ${counts.tag} has an unusable type or count`)
  if (at.length !== length.length)
    return corrupt(`TIFF tags ${offsets.tag} and ${counts.tag} disagree in count`)
  for (let i = 0; i < at.length; i++) {
    if (at[i] + length[i] > tiff.total) {
      return truncated(
        `TIFF image data ends at byte ${at[i] + length[i]}, past the end (${tiff.total} bytes)`,
      )
    }
  }
  return 'ok'
}

/** The first page's width and height when its IFD lies within `head`; `{}` otherwise. */
export async function tiffDimensions(head: Uint8Array): Promise<{ width?: number; height?: number }> {
  const tiff = new Tiff(head, async (offset, length) => head.subarray(offset, offset + length), head.length)
  if (head.length < 8) return {}
  const ifd = await tiff.ifd(tiff.first)
  return ifd ? size(tiff, new Map(ifd.entries.map((e) => [e.tag, e]))) : {}
}

/**
 * ImageWidth and ImageLength of one IFD, when both are there (always inline: one SHORT or LONG each),
 * as shown: turned by its Orientation (5–8), as libvips turns it.
 */
async function size(tiff: Tiff, byTag: Map<number, Entry>): Promise<{ width?: number; height?: number }> {
  const width = byTag.get(WIDTH)
  const height = byTag.get(HEIGHT)
  if (!width?.inline || !height?.inline) return {}
  const w = (await tiff.numbers(width))?.[0]
  const h = (await tiff.numbers(height))?.[0]
  const turn = byTag.get(ORIENTATION)
  const orientation = turn?.inline ? (await tiff.numbers(turn))?.[0] : undefined
  return w && h ? upright({ width: w, height: h }, orientation) : {}
}
