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
const BITS_PER_SAMPLE = 258
const COMPRESSION = 259
const PHOTOMETRIC = 262
const ORIENTATION = 274
const STRIP_OFFSETS = 273
const SAMPLES_PER_PIXEL = 277
const ROWS_PER_STRIP = 278
const STRIP_BYTE_COUNTS = 279
const PLANAR_CONFIGURATION = 284
const TILE_WIDTH = 322
const TILE_LENGTH = 323
const TILE_OFFSETS = 324
const TILE_BYTE_COUNTS = 325
const SUB_IFDS = 330
const JPEG_OFFSET = 513
const JPEG_LENGTH = 514
/**
 * IFDs of metadata a page points to, by the name a message gives them: EXIF's (and the
 * interoperability IFD inside it) and GPS's. No pages, but their entries and values are the file's.
 */
const METADATA_IFDS = new Map([
  [34665, 'EXIF'],
  [34853, 'GPS'],
  [40965, 'interoperability'],
])

/** Compression 1: none; 6: old-style JPEG, whose stream has an offset and length of its own. */
const UNCOMPRESSED = 1
const OLD_JPEG = 6
/** Photometric 6: YCbCr, whose uncompressed rows libtiff sizes by their subsampling. */
const YCBCR = 6

/** What a page whose strip has no usable byte count is whole but unchecked for. */
export const STRIP_TO_END = 'TIFF strip without a byte count runs to the end of the file'

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
  /** The furthest byte any IFD, value, strip or tile walked so far reaches. */
  furthest = 0
  /** Where strips that run on to the end of the file (no usable byte count, compressed) start. */
  readonly toEnd: number[] = []
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

  /**
   * The entries of the IFD at `at` and the offset of the next one; undefined when it runs past the
   * body. An IFD whose entries end the body, without the next IFD's offset, is read as the chain's
   * last (`next` 0, `unended`), as libtiff reads it (TIFFFetchDirectory takes an offset it cannot
   * read for 0): writers that leave the offset out (yob/pdf-reader#60) make such files, and
   * ImageMagick and libvips show their pages.
   */
  async ifd(at: number): Promise<{ entries: Entry[]; next: number; unended?: true } | undefined> {
    const countBytes = this.big ? 8 : 2
    if (at + countBytes > this.total) return undefined
    const head = await this.read(at, countBytes)
    const count = this.big ? this.u64(head, 0) : this.u16(head, 0)
    const size = this.big ? 20 : 12
    const entriesEnd = at + countBytes + count * size
    const unended = entriesEnd === this.total && count > 0
    const length = count * size + (unended ? 0 : this.big ? 8 : 4)
    if (at + countBytes + length > this.total) return undefined
    this.reach(at + countBytes + length)
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
    return unended ? { entries, next: 0, unended } : { entries, next: this.offset(b, count * size) }
  }

  reach(end: number): void {
    if (end > this.furthest) this.furthest = end
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
 * they point to, and every strip or tile (or old-style JPEG stream) its pages name, a strip without a
 * usable byte count sized as libtiff sizes it (see `stripCheck`); and the EXIF and GPS IFDs the pages
 * point to, with their values (not the maker notes' inner offsets). Bytes after all of that
 * are allowed: TIFF is read by offsets, so readers never see them. `head` holds at least the header
 * (16 bytes, or all of a shorter body). The verdict carries the first page's width and height.
 */
export async function checkTiff(head: Uint8Array, read: ReadBack, total: number): Promise<Verdict> {
  const tiff = new Tiff(head, read, total)
  if (total < (tiff.big ? 16 : 8)) return truncated('TIFF header cut short')
  const queue = [tiff.first]
  /** The metadata IFDs the pages point to, and their names. */
  const metadata: [number, string][] = []
  const seen = new Set<number>()
  let dims: { width?: number; height?: number } = {}
  /** The IFDs that end a chain (next offset 0): where zeros that cut the chain would begin. */
  const ends: { at: number; entries: Entry[] }[] = []
  /** A page whose BitsPerSample holds a 0 (said after zeros that explain it, see `zeroTail`). */
  let noBits: Verdict | undefined
  /** An IFD that ends the body without its next IFD's offset: a cut there looks the same. */
  let unended: string | undefined
  while (queue.length > 0) {
    const at = queue.shift()!
    if (seen.has(at)) return corrupt(`TIFF IFD chain loops back to byte ${at}`)
    if (seen.size === MAX_IFDS) break
    const first = seen.size === 0
    seen.add(at)
    const ifd = await tiff.ifd(at)
    if (!ifd)
      return truncated(
        `TIFF IFD at byte ${at} ${at < total ? 'runs past' : 'lies beyond'} the end (${total} bytes)`,
      )
    if (ifd.unended) unended = `TIFF IFD at byte ${at} ends the file without its next IFD's offset`
    const zeros = zeroFilled(tiff, at, ifd, first)
    if (zeros) return zeros
    if (ifd.next === 0) ends.push({ at, entries: ifd.entries })
    const byTag = new Map(ifd.entries.map((e) => [e.tag, e]))
    for (const e of ifd.entries) {
      if (!e.inline && e.offset + e.bytes > total) {
        return truncated(`TIFF tag ${e.tag}'s value lies beyond the end (${total} bytes)`)
      }
      if (!e.inline) tiff.reach(e.offset + e.bytes)
    }
    // A sample of 0 bits holds no image (libtiff refuses the page): its value zero-filled.
    const bits = byTag.get(BITS_PER_SAMPLE)
    if (bits && !noBits && (await tiff.numbers(bits))?.includes(0))
      noBits = corrupt(`TIFF IFD at byte ${at} states 0 bits per sample: its BitsPerSample value is zeros`)
    const pieces =
      (await stripCheck(tiff, byTag, false, first)) ??
      (await stripCheck(tiff, byTag, true, first)) ??
      (await pieceCheck(tiff, byTag.get(JPEG_OFFSET), byTag.get(JPEG_LENGTH)))
    if (pieces === undefined && first) return corrupt('TIFF first page has no strips or tiles')
    if (pieces && pieces !== 'ok' && pieces !== 'to-end') return pieces
    if (first) dims = await size(tiff, byTag)
    await pointed(tiff, ifd.entries, metadata)
    const subs = byTag.get(SUB_IFDS)
    if (subs) for (const sub of (await tiff.numbers(subs)) ?? []) if (sub) queue.push(sub)
    if (ifd.next) queue.push(ifd.next)
  }
  const tail = (await zeroTail(tiff, ends)) ?? noBits
  if (tail) return tail
  // A cut in EXIF's or GPS's IFD, where a writer put them last, leaves the pixels whole (libvips
  // reads them), but the file is cut: it was kept whole, the camera's metadata lost. Yet writers
  // leave pointers there that lead past the end of a whole file (goexif2#12): whole, unchecked.
  const beyond = await metadataBeyond(tiff, metadata)
  if (beyond) return { ...COMPLETE, ...dims, unchecked: beyond }
  // A strip that runs on to the end of the file ends where the body does, unless the file's
  // structure goes on past its start (an IFD after it, as most writers lay them out): a cut would
  // have taken that too.
  if (tiff.toEnd.some((at) => at >= tiff.furthest)) return { ...COMPLETE, ...dims, unchecked: STRIP_TO_END }
  return unended ? { ...COMPLETE, ...dims, unchecked: unended } : { ...COMPLETE, ...dims }
}

/**
 * Why a page's IFD is zeros where its entries belong: a file preallocated (aria2, a sparse or
 * fallocated file a server sends while it is still being written) and cut, where writers put IFDs
 * last (lingochamp/FileDownloader#543). An IFD of no entries after the first (the first has its own message: no strips) stops
 * libtiff ("zero tag directories not supported": ObjectVision/GeoDMS#807), so the pages after it
 * are lost; an entry of zeros (tag 0, type 0: no TIFF type) with only zeros after it to the IFD's
 * end, the next IFD's offset too, is one zero-filled, which ended the page chain early. Undefined
 * for any other IFD.
 */
function zeroFilled(
  tiff: Tiff,
  at: number,
  ifd: { entries: Entry[]; next: number },
  first: boolean,
): Verdict | undefined {
  if (ifd.entries.length === 0)
    return first ? undefined : corrupt(`TIFF IFD at byte ${at} has no entries: zero-filled, or written short`)
  if (ifd.next !== 0) return undefined
  const size = tiff.big ? 20 : 12
  let from = ifd.entries.length
  while (from > 0) {
    const e = ifd.entries[from - 1]
    if (e.tag !== 0 || e.type !== 0 || e.count !== 0 || e.offset !== 0 || e.inline?.some((b) => b !== 0))
      break
    from--
  }
  if (from === ifd.entries.length) return undefined
  const start = at + (tiff.big ? 8 : 2) + from * size
  return corrupt(`TIFF IFD at byte ${at} is zero-filled from byte ${start}, where its entries belong`)
}

/** Bytes read back at a time while looking for where a file's zeros end or begin. */
const ZERO_BLOCK = 64 * 1024

/**
 * Why a page chain ends in zeros that run from its last IFD to the end of the file, the values that
 * IFD points to among them: a file preallocated (aria2's --file-allocation, aria2/aria2#1006; lingochamp/FileDownloader#543)
 * and cut at or just before the IFD's next-IFD offset, where writers put each page's IFD after its
 * strips and its values after the IFD. The zeroed offset ended the chain there, so the pages after it
 * were lost, and the values are zeros (BitsPerSample 0, a resolution of 0/0): libtiff refuses the
 * page ("unsupported image format"), and it was kept whole. Undefined for any other file: a whole
 * one's values after its IFD are not all zeros (its resolution, its bits per sample), and zeros after
 * everything the file points to (padding) change nothing.
 */
async function zeroTail(tiff: Tiff, ends: { at: number; entries: Entry[] }[]): Promise<Verdict | undefined> {
  const count = tiff.big ? 8 : 2
  const size = tiff.big ? 20 : 12
  for (const { at, entries } of ends) {
    const pointer = at + count + entries.length * size
    const after = pointer + (tiff.big ? 8 : 4)
    // The values it points to that lie after its next-IFD offset, and so among zeros that run from it.
    if (!entries.some((e) => !e.inline && e.bytes > 0 && e.offset >= after)) continue
    if (!(await zerosTo(tiff, after))) continue
    // Where the zeros begin: before the offset too, where they reach into the entries' last bytes.
    const ifd = await tiff.read(at, pointer - at)
    let from = ifd.length
    while (from > count && ifd[from - 1] === 0) from--
    return corrupt(
      `TIFF is zero-filled from byte ${at + from} to its end, where the IFD at byte ${at} has its next IFD's offset and its values`,
    )
  }
  return undefined
}

/** Whether every byte from `from` to the end of the file is zero. */
async function zerosTo(tiff: Tiff, from: number): Promise<boolean> {
  for (let at = from; at < tiff.total; at += ZERO_BLOCK) {
    const block = await tiff.read(at, Math.min(ZERO_BLOCK, tiff.total - at))
    if (block.some((b) => b !== 0)) return false
  }
  return true
}

/**
 * Walks the metadata IFDs (and those they point to): why one of them, or a value of theirs, lies
 * beyond the body's end, or undefined when all are within it.
 */
async function metadataBeyond(tiff: Tiff, metadata: [number, string][]): Promise<string | undefined> {
  const walked = new Set<number>()
  while (metadata.length > 0 && walked.size < MAX_IFDS) {
    const [at, name] = metadata.shift()!
    if (walked.has(at)) continue
    walked.add(at)
    const ifd = await tiff.ifd(at)
    if (!ifd) return `TIFF ${name} IFD at byte ${at} lies beyond the end (${tiff.total} bytes)`
    for (const e of ifd.entries) {
      if (e.inline) continue
      if (e.offset + e.bytes > tiff.total)
        return `TIFF ${name} tag ${e.tag}'s value lies beyond the end (${tiff.total} bytes)`
      tiff.reach(e.offset + e.bytes)
    }
    await pointed(tiff, ifd.entries, metadata)
  }
  return undefined
}

/** Adds the metadata IFDs that `entries` point to (see `METADATA_IFDS`) to `metadata`. */
async function pointed(tiff: Tiff, entries: Entry[], metadata: [number, string][]): Promise<void> {
  for (const e of entries) {
    const name = METADATA_IFDS.get(e.tag)
    if (name && e.count === 1)
      for (const at of (await tiff.numbers(e)) ?? []) if (at) metadata.push([at, name])
  }
}

/** 'ok' when every piece (offset, byte count) lies within the body; a verdict when one does not; undefined when the pair is absent. */
async function pieceCheck(tiff: Tiff, offsets?: Entry, counts?: Entry): Promise<'ok' | Verdict | undefined> {
  if (!offsets || !counts) return undefined
  const table = await pieceTable(tiff, offsets, counts)
  return Array.isArray(table) ? within(tiff, table[0], table[1]) : table
}

/**
 * The offsets and byte counts of a page's pieces, read back; 'ok' for a table too long to read
 * (megabytes per page: the page counts as present, unchecked); `corrupt` for one that cannot be read.
 */
async function pieceTable(
  tiff: Tiff,
  offsets: Entry,
  counts: Entry,
): Promise<[number[], number[]] | 'ok' | Verdict> {
  if (offsets.count > MAX_PIECES) return 'ok'
  const at = await tiff.numbers(offsets)
  const length = await tiff.numbers(counts)
  if (!at || !length) return corrupt(`TIFF tag ${offsets.tag} or ${counts.tag} has an unusable type or count`)
  if (at.length !== length.length)
    return corrupt(`TIFF tags ${offsets.tag} and ${counts.tag} disagree in count`)
  return [at, length]
}

/** 'ok' when every piece lies within the body, else `truncated` naming where the first one past it ends. */
function within(tiff: Tiff, at: number[], length: number[]): 'ok' | Verdict {
  for (let i = 0; i < at.length; i++) {
    if (at[i] + length[i] > tiff.total) {
      return truncated(
        `TIFF image data ends at byte ${at[i] + length[i]}, past the end (${tiff.total} bytes)`,
      )
    }
    tiff.reach(at[i] + length[i])
  }
  return 'ok'
}

/** A page's pieces: all within the body; or they run on to its end (`STRIP_TO_END`); or why not. */
type Pieces = 'ok' | 'to-end' | Verdict

/**
 * A page's strips (or tiles), as libtiff reads them (TIFFReadDirectory): where their byte counts
 * are missing, or cannot be right (see `countsLookBad`), libtiff sizes the pieces itself, with a
 * warning, and reads the image:
 * uncompressed, from the rows (or tile) the page declares; compressed, to the end of the file, which
 * only the transfer can show (`to-end`). Missing counts for more than one strip per plane are
 * refused, as libtiff refuses them (on the first page; a later page is passed over as before).
 * Old-style JPEG (compression 6) without counts is left to its own offset and length.
 */
async function stripCheck(
  tiff: Tiff,
  byTag: Map<number, Entry>,
  tiled: boolean,
  first: boolean,
): Promise<Pieces | undefined> {
  const offsets = byTag.get(tiled ? TILE_OFFSETS : STRIP_OFFSETS)
  const counts = byTag.get(tiled ? TILE_BYTE_COUNTS : STRIP_BYTE_COUNTS)
  if (!offsets) return undefined
  const value = (tag: number, fallback: number) => firstValue(tiff, byTag, tag, fallback)
  if (counts) {
    const table = await pieceTable(tiff, offsets, counts)
    if (!Array.isArray(table)) return table
    const [at, length] = table
    if (!tiled && (await countsLookBad(tiff, byTag, at, length))) return estimate(tiff, byTag, at, false)
    const placed = within(tiff, at, length)
    if (placed !== 'ok') return placed
    return (await zeroPieces(tiff, await value(COMPRESSION, UNCOMPRESSED), at, length, tiled)) ?? 'ok'
  }
  if ((await value(COMPRESSION, UNCOMPRESSED)) === OLD_JPEG) return undefined
  const planes = (await value(PLANAR_CONFIGURATION, 1)) === 2 ? await value(SAMPLES_PER_PIXEL, 1) : 1
  if (offsets.count !== planes) return first ? corrupt(missing(offsets.count, tiled)) : undefined
  const at = await tiff.numbers(offsets)
  if (!at) return corrupt(`TIFF tag ${offsets.tag} has an unusable type or count`)
  return estimate(tiff, byTag, at, tiled)
}

/**
 * The compressions whose pieces (strips or tiles) never begin with 4 zero bytes, and so are read
 * first by their decoders: a zlib stream's header (deflate, 8 and 32946: method 8, RFC 1950 §2.2),
 * JPEG's start-of-image marker FF D8 (7), a Zstandard frame's magic number (50000, RFC 8878
 * §3.1.1), a WebP's RIFF (50001). libtiff refuses zeros there ('incorrect header check', 'Not a
 * JPEG file'). None, LZW and PackBits have no such start: zeros are pixels there.
 */
const PIECE_CODER = new Map([
  [7, 'JPEG'],
  [8, 'deflate'],
  [32946, 'deflate'],
  [50000, 'Zstandard'],
  [50001, 'WebP'],
])
/** Pieces read back from the file's end while they begin with zeros, to tell where the zeros begin. */
const ZERO_PIECES = 64

/**
 * Why a page's compressed pieces begin with zeros where their coded data's start belongs: the file
 * preallocated and cut (aria2's --file-allocation writes the whole length as zeros first,
 * aria2/aria2#1006), its IFD written before the pixels, as tifffile and many cameras lay it out, so
 * every offset and count stayed whole and it was kept. Read back from the last piece in the file
 * (zeros that run to the end reach it first), then back while they begin with zeros (at most 64),
 * to name the first. Undefined when the last piece does not begin with zeros, or the compression
 * is not one of `PIECE_CODER`'s.
 */
async function zeroPieces(
  tiff: Tiff,
  compression: number,
  at: number[],
  length: number[],
  tiled: boolean,
): Promise<Verdict | undefined> {
  const coder = PIECE_CODER.get(compression)
  if (!coder) return undefined
  const order = at
    .map((_, i) => i)
    .filter((i) => length[i] >= 4)
    .sort((a, b) => at[b] - at[a])
  let first: number | undefined
  for (const i of order.slice(0, ZERO_PIECES)) {
    const head = await tiff.read(at[i], 4)
    if (head.some((b) => b !== 0)) break
    first = i
  }
  if (first === undefined) return undefined
  const piece = `${tiled ? 'tile' : 'strip'} ${first}`
  return corrupt(`TIFF is zero-filled from byte ${at[first]}, where ${piece}'s ${coder} data begins`)
}

const missing = (pieces: number, tiled: boolean) =>
  `TIFF page has ${pieces} ${tiled ? 'tiles' : 'strips'} and no byte counts for them`

/**
 * Whether libtiff takes a page's strip byte counts for wrong and sizes its strips itself
 * (TIFFReadDirectory): one strip's count, by `countLooksBad`; or, uncompressed, more than two
 * strips whose first two counts differ, neither 0 ('Wrong "StripByteCounts" field': vendors that
 * fill it with the strips' offsets).
 */
async function countsLookBad(tiff: Tiff, byTag: Map<number, Entry>, at: number[], length: number[]) {
  if (at.length === 1) return at[0] !== 0 && (await countLooksBad(tiff, byTag, at[0], length[0]))
  const value = (tag: number, fallback: number) => firstValue(tiff, byTag, tag, fallback)
  return (
    at.length > 2 &&
    length[0] !== length[1] &&
    length[0] !== 0 &&
    length[1] !== 0 &&
    (await value(PLANAR_CONFIGURATION, 1)) !== 2 &&
    (await value(COMPRESSION, UNCOMPRESSED)) === UNCOMPRESSED
  )
}

/** libtiff's ByteCountLooksBad, for a page of one strip at `offset` stated to hold `count` bytes. */
async function countLooksBad(tiff: Tiff, byTag: Map<number, Entry>, offset: number, count: number) {
  if (count === 0) return true
  if ((await firstValue(tiff, byTag, COMPRESSION, UNCOMPRESSED)) !== UNCOMPRESSED) return false
  if (offset <= tiff.total && count > tiff.total - offset) return true
  const rows = await rowBytes(tiff, byTag, false)
  return rows !== undefined && count < rows * (await firstValue(tiff, byTag, HEIGHT, 0))
}

/**
 * The pieces at `at`, sized as libtiff's EstimateStripByteCounts sizes them: uncompressed, the
 * rows of the plane (or a tile) the page declares, which must lie within the body; compressed (or
 * uncompressed YCbCr, whose rows its subsampling sizes), each runs on to the end of the file.
 */
async function estimate(
  tiff: Tiff,
  byTag: Map<number, Entry>,
  at: number[],
  tiled: boolean,
): Promise<Pieces> {
  const uncompressed =
    (await firstValue(tiff, byTag, COMPRESSION, UNCOMPRESSED)) === UNCOMPRESSED &&
    (await firstValue(tiff, byTag, PHOTOMETRIC, 0)) !== YCBCR
  const rows = uncompressed ? await rowBytes(tiff, byTag, tiled) : undefined
  if (rows === undefined) {
    const beyond = at.find((offset) => offset >= tiff.total)
    if (beyond !== undefined)
      return truncated(`TIFF image data starts at byte ${beyond}, past the end (${tiff.total} bytes)`)
    tiff.toEnd.push(...at)
    return 'to-end'
  }
  if (tiled) {
    const length = await firstValue(tiff, byTag, TILE_LENGTH, 0)
    return within(
      tiff,
      at,
      at.map(() => rows * length),
    )
  }
  // A strip per plane holds all its rows; more, RowsPerStrip rows each (fewer in the last).
  const height = await firstValue(tiff, byTag, HEIGHT, 0)
  const planes =
    (await firstValue(tiff, byTag, PLANAR_CONFIGURATION, 1)) === 2
      ? await firstValue(tiff, byTag, SAMPLES_PER_PIXEL, 1)
      : 1
  const perPlane = Math.max(1, Math.floor(at.length / planes))
  const perStrip = perPlane === 1 ? height : await firstValue(tiff, byTag, ROWS_PER_STRIP, height)
  return within(
    tiff,
    at,
    at.map((_, i) => rows * Math.max(0, Math.min(perStrip, height - (i % perPlane) * perStrip))),
  )
}

/** Bytes of one row of a plane (a strip's row, or a tile's: `tiled`), as libtiff's TIFFScanlineSize. */
async function rowBytes(tiff: Tiff, byTag: Map<number, Entry>, tiled: boolean): Promise<number | undefined> {
  const width = await firstValue(tiff, byTag, tiled ? TILE_WIDTH : WIDTH, 0)
  const bits = await firstValue(tiff, byTag, BITS_PER_SAMPLE, 1)
  const contiguous = (await firstValue(tiff, byTag, PLANAR_CONFIGURATION, 1)) !== 2
  const samples = contiguous ? await firstValue(tiff, byTag, SAMPLES_PER_PIXEL, 1) : 1
  if (width === 0 || bits === 0 || samples === 0) return undefined
  return Math.ceil((width * bits * samples) / 8)
}

/** The first value of a tag of numbers, or `fallback` where the page leaves it out (TIFF's default). */
async function firstValue(
  tiff: Tiff,
  byTag: Map<number, Entry>,
  tag: number,
  fallback: number,
): Promise<number> {
  const e = byTag.get(tag)
  if (!e || e.count === 0) return fallback
  return (await tiff.numbers({ ...e, count: 1, bytes: TYPE_SIZE[e.type] ?? 0 }))?.[0] ?? fallback
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
