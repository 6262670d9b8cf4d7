import { fourcc, u32be, u64be } from './bytes.js'

/**
 * ISO base media file format boxes (ISO/IEC 14496-12 §4.2), the container of HEIF, AVIF, JPEG XL and
 * JPEG 2000 files, read from bytes in memory.
 */
export interface Box {
  type: string
  /** Offset of the box's first byte. */
  start: number
  /** Offset of its payload, past the size, type and any 64-bit size. */
  body: number
  /** Offset just past its last byte. */
  end: number
}

/**
 * A structure that contradicts itself; the readers here turn it into "no answer". `at`: where, in
 * the bytes read, when the message is to name it (a caller adds where those bytes lie in the file).
 */
export class Malformed extends Error {
  constructor(
    message: string,
    readonly at?: number,
  ) {
    super(message)
  }
}

/**
 * The boxes between `from` and `to`, in order. A box's size 1 means a 64-bit size follows its type; 0 means
 * it runs to `to`. Throws `Malformed` when a box does not fit (a size under its header, or past `to`).
 */
export function* boxes(b: Uint8Array, from: number, to: number): Generator<Box> {
  let at = from
  while (at < to) {
    if (at + 8 > to) throw new Malformed('box header cut short')
    let size = u32be(b, at)
    const type = fourcc(b, at + 4)
    let body = at + 8
    if (size === 1) {
      if (at + 16 > to) throw new Malformed('box header cut short')
      size = u64be(b, at + 8)
      body = at + 16
    } else if (size === 0) size = to - at
    if (size < body - at || at + size > to) throw new Malformed(`box ${type} does not fit`)
    yield { type, start: at, body, end: at + size }
    at += size
  }
}

/** The first box of `type` between `from` and `to`. */
export function find(b: Uint8Array, from: number, to: number, type: string): Box | undefined {
  for (const box of boxes(b, from, to)) if (box.type === type) return box
  return undefined
}
