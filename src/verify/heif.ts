import { fourcc, u16be, u32be, u64be } from './bytes.js'
import { type Box, boxes, Malformed } from './isobmff.js'

/**
 * The parts of a HEIF `meta` box (ISO/IEC 23008-12 §6, §9) that say which image is shown, how big it is,
 * and where each item's bytes lie. AVIF (AV1 Image File Format §2) is HEIF with AV1 items.
 */
export interface HeifMeta {
  /** `pitm`: the item shown. */
  primary?: number
  items: Map<number, HeifItem>
  /** `ipco`'s properties, in order (`ipma` indices count from 1). */
  properties: Box[]
  /** `idat`'s payload, where items with construction method 1 keep their bytes. */
  idat?: { start: number; end: number }
}

export interface HeifItem {
  id: number
  /** `infe`'s item type: `hvc1`, `av01`, `grid`, `iden`, `Exif`, ... */
  type?: string
  /** Indices into `properties` (from 1), in `ipma` order: the order transformations apply in. */
  properties: number[]
  /** `iloc`: 0 file offsets, 1 offsets into `idat`, 2 item references. */
  method?: number
  extents: { offset: number; length: number }[]
  /** `iref` `dimg`: the items a derived image (grid, iden, overlay) is made from. */
  sources: number[]
}

/** Reads an integer of `size` bytes (0, 4 or 8, as iloc declares its fields). */
function uint(b: Uint8Array, at: number, size: number): number {
  if (size === 0) return 0
  if (size === 4) return u32be(b, at)
  if (size === 8) return u64be(b, at)
  throw new Malformed(`iloc field of ${size} bytes`)
}

function need(box: Box, at: number, bytes: number): void {
  if (at + bytes > box.end) throw new Malformed(`${box.type} box cut short`)
}

/**
 * The boxes between `from` and `to` (see `boxes`), inside `meta`. Throws `Malformed` for a box whose
 * type holds a zero byte: no box type does (ISO/IEC 14496-12 §4.2: four printable characters), and
 * such a header is zeros where a box belongs, as a file preallocated and cut, or a block of it
 * zeroed on disk, leaves it (lingochamp/FileDownloader#543); read as a box running to its parent's
 * end (size 0), it hid the boxes it overlaid, and the file was kept as whole.
 */
function* children(b: Uint8Array, from: number, to: number): Generator<Box> {
  for (const box of boxes(b, from, to)) {
    if (box.type.includes('\0')) throw new Malformed('zeros where a box belongs', box.start)
    yield box
  }
}

/** Parses a `meta` box held in `b` (its payload starts with the FullBox version and flags). Throws `Malformed`. */
export function parseMeta(b: Uint8Array, meta: Box): HeifMeta {
  const result: HeifMeta = { items: new Map(), properties: [] }
  const item = (id: number): HeifItem => {
    let it = result.items.get(id)
    if (!it) {
      it = { id, properties: [], extents: [], sources: [] }
      result.items.set(id, it)
    }
    return it
  }
  for (const box of children(b, meta.body + 4, meta.end)) {
    const version = b[box.body]
    const at = box.body + 4
    if (box.type === 'hdlr') {
      // Its handler type (`pict` for an image) zeroed: libheif refuses the file (no pict handler).
      need(box, at, 8)
      if (fourcc(b, at + 4).includes('\0'))
        throw new Malformed('zeros where its handler type belongs', at + 4)
    } else if (box.type === 'pitm') {
      need(box, at, version === 0 ? 2 : 4)
      result.primary = version === 0 ? u16be(b, at) : u32be(b, at)
    } else if (box.type === 'iinf') {
      const first = at + (version === 0 ? 2 : 4)
      need(box, first, 0)
      for (const infe of children(b, first, box.end)) {
        if (infe.type !== 'infe' || b[infe.body] < 2) continue
        const v = b[infe.body]
        const p = infe.body + 4
        need(infe, p, v === 2 ? 8 : 10)
        const id = v === 2 ? u16be(b, p) : u32be(b, p)
        item(id).type = fourcc(b, p + (v === 2 ? 4 : 6))
      }
    } else if (box.type === 'iloc') {
      readIloc(b, box, version, item)
    } else if (box.type === 'iprp') {
      for (const child of children(b, box.body, box.end)) {
        if (child.type === 'ipco')
          for (const property of children(b, child.body, child.end)) result.properties.push(property)
        else if (child.type === 'ipma') readIpma(b, child, item)
      }
    } else if (box.type === 'iref') {
      for (const ref of children(b, at, box.end)) {
        if (ref.type !== 'dimg') continue
        const width = version === 0 ? 2 : 4
        const read = width === 2 ? u16be : u32be
        need(ref, ref.body, width + 2)
        const from = read(b, ref.body)
        const count = u16be(b, ref.body + width)
        need(ref, ref.body + width + 2, count * width)
        for (let i = 0; i < count; i++) item(from).sources.push(read(b, ref.body + width + 2 + i * width))
      }
    } else if (box.type === 'idat') {
      result.idat = { start: box.body, end: box.end }
    }
  }
  return result
}

function readIloc(b: Uint8Array, box: Box, version: number, item: (id: number) => HeifItem): void {
  let at = box.body + 4
  need(box, at, 2)
  const offsetSize = b[at] >> 4
  const lengthSize = b[at] & 15
  const baseSize = b[at + 1] >> 4
  const indexSize = version === 1 || version === 2 ? b[at + 1] & 15 : 0
  at += 2
  const wide = version === 2
  need(box, at, wide ? 4 : 2)
  const count = wide ? u32be(b, at) : u16be(b, at)
  at += wide ? 4 : 2
  for (let i = 0; i < count; i++) {
    need(box, at, (wide ? 4 : 2) + (version >= 1 ? 2 : 0) + 2 + baseSize + 2)
    const it = item(wide ? u32be(b, at) : u16be(b, at))
    at += wide ? 4 : 2
    it.method = version >= 1 ? u16be(b, at) & 15 : 0
    if (version >= 1) at += 2
    at += 2 // data_reference_index: 0 is this file
    const base = uint(b, at, baseSize)
    at += baseSize
    const extents = u16be(b, at)
    at += 2
    const each = indexSize + offsetSize + lengthSize
    need(box, at, extents * each)
    for (let e = 0; e < extents; e++, at += each) {
      const offset = base + uint(b, at + indexSize, offsetSize)
      it.extents.push({ offset, length: uint(b, at + indexSize + offsetSize, lengthSize) })
    }
  }
}

function readIpma(b: Uint8Array, box: Box, item: (id: number) => HeifItem): void {
  const version = b[box.body]
  const wideIndex = (b[box.body + 3] & 1) === 1
  let at = box.body + 4
  need(box, at, 4)
  const count = u32be(b, at)
  at += 4
  for (let i = 0; i < count; i++) {
    need(box, at, (version < 1 ? 2 : 4) + 1)
    const it = item(version < 1 ? u16be(b, at) : u32be(b, at))
    at += version < 1 ? 2 : 4
    const n = b[at++]
    need(box, at, n * (wideIndex ? 2 : 1))
    for (let k = 0; k < n; k++) {
      const index = wideIndex ? u16be(b, at) & 0x7fff : b[at] & 0x7f
      at += wideIndex ? 2 : 1
      if (index > 0) it.properties.push(index)
    }
  }
}

/** An item's bytes, when they lie in `idat` or within `b` (which holds the file from offset `origin` on). */
function itemBytes(b: Uint8Array, meta: HeifMeta, it: HeifItem, origin: number): Uint8Array | undefined {
  if (it.extents.length !== 1) return undefined
  const { offset, length } = it.extents[0]
  if (it.method === 1 && meta.idat) {
    const start = meta.idat.start + offset
    const end = length === 0 ? meta.idat.end : start + length
    return end <= meta.idat.end ? b.subarray(start, end) : undefined
  }
  const start = offset - origin
  if (it.method === 0 && length > 0 && start >= 0 && start + length <= b.length)
    return b.subarray(start, start + length)
  return undefined
}

/**
 * The size a reader shows for item `id`: its `ispe` (the size before transformations: for a grid, the
 * grid's own output size, never a tile's), then each transformative property in `ipma` order (`clap`
 * crops, `irot` by 90 or 270 degrees swaps, `imir` keeps it). Without `ispe`, a grid's size comes from its
 * descriptor and an `iden`'s from its one source. Undefined whenever the answer is not certain: no or
 * several `ispe`, a crop that is not a whole number of pixels, a scaling (`iscl`), a missing property.
 */
export function itemSize(
  b: Uint8Array,
  meta: HeifMeta,
  id: number,
  origin = 0,
  depth = 0,
): { width: number; height: number } | undefined {
  const it = meta.items.get(id)
  if (!it || depth > 8) return undefined
  const props: Box[] = []
  for (const index of it.properties) {
    const property = meta.properties[index - 1]
    if (!property) return undefined
    props.push(property)
  }
  const ispes = props.filter((p) => p.type === 'ispe')
  if (ispes.length > 1) return undefined
  let size: { width: number; height: number } | undefined
  if (ispes.length === 1) {
    const p = ispes[0]
    if (p.body + 12 > p.end) return undefined
    size = { width: u32be(b, p.body + 4), height: u32be(b, p.body + 8) }
  } else if (it.type === 'grid') {
    const grid = itemBytes(b, meta, it, origin)
    if (!grid || grid.length < 8) return undefined
    const wide = (grid[1] & 1) === 1
    if (grid.length < (wide ? 12 : 8)) return undefined
    size = wide
      ? { width: u32be(grid, 4), height: u32be(grid, 8) }
      : { width: u16be(grid, 4), height: u16be(grid, 6) }
  } else if (it.type === 'iden' && it.sources.length === 1) {
    size = itemSize(b, meta, it.sources[0], origin, depth + 1)
  }
  if (!size || size.width === 0 || size.height === 0) return undefined
  for (const p of props) {
    if (p.type === 'irot') {
      if (p.body + 1 > p.end) return undefined
      if (b[p.body] & 1) size = { width: size.height, height: size.width }
    } else if (p.type === 'clap') {
      if (p.body + 32 > p.end) return undefined
      const width = whole(u32be(b, p.body), u32be(b, p.body + 4))
      const height = whole(u32be(b, p.body + 8), u32be(b, p.body + 12))
      if (!width || !height || width > size.width || height > size.height) return undefined
      size = { width, height }
    } else if (p.type === 'iscl') {
      return undefined
    }
  }
  return size
}

/** n/d when it is a positive whole number (clap's fractions), else undefined. */
function whole(n: number, d: number): number | undefined {
  return d > 0 && n > 0 && n % d === 0 ? n / d : undefined
}

/** The primary item's size, or undefined (see `itemSize`). `b` holds the file from offset `origin` on. */
export function primarySize(
  b: Uint8Array,
  meta: HeifMeta,
  origin = 0,
): { width: number; height: number } | undefined {
  return meta.primary === undefined ? undefined : itemSize(b, meta, meta.primary, origin)
}

/**
 * Width and height of a HEIF/AVIF image from the head of its file: the top-level `meta` box must lie
 * within `head`. `{}` when it does not, or when the size is not certain.
 */
export function heifDimensions(head: Uint8Array): { width?: number; height?: number } {
  try {
    let meta: Box | undefined
    let at = 0
    // Walk top-level boxes while their headers are in the head: mdat may run past it.
    while (at + 8 <= head.length) {
      const size = u32be(head, at)
      const type = fourcc(head, at + 4)
      const header = size === 1 ? 16 : 8
      const length = size === 1 ? (at + 16 <= head.length ? u64be(head, at + 8) : 0) : size
      if (type === 'meta') {
        if (length === 0 || at + length > head.length) return {}
        meta = { type, start: at, body: at + header, end: at + length }
        break
      }
      if (length < header) return {}
      at += length
    }
    if (!meta) return {}
    return primarySize(head, parseMeta(head, meta)) ?? {}
  } catch (error) {
    if (error instanceof Malformed) return {}
    throw error
  }
}
