import { pngChunk } from './png-chunk.js'

/** The chunks of a PNG, type and data. */
export function chunksOf(png: Buffer): [string, Buffer][] {
  const out: [string, Buffer][] = []
  for (let at = 8; at + 12 <= png.length; at += 12 + png.readUInt32BE(at)) {
    out.push([png.toString('latin1', at + 4, at + 8), png.subarray(at + 8, at + 8 + png.readUInt32BE(at))])
  }
  return out
}

const u32 = (...values: number[]) =>
  Buffer.concat(values.map((v) => Buffer.from([v >>> 24, v >>> 16, v >>> 8, v].map((b) => b & 255))))

/** An fcTL: sequence, size, offset, a delay of 1/10 s, no dispose, source blend. */
const fcTL = (seq: number, width: number, height: number, left = 0, top = 0) =>
  pngChunk('fcTL', Buffer.concat([u32(seq, width, height, left, top), Buffer.from([0, 1, 0, 10, 0, 0])]))

/**
 * An APNG of one `frame` (a PNG, placed at `left`, `top`) over a canvas the size of `fallback` (a
 * PNG of the same kind), whose IDAT is `fallback`'s: the default image, hidden (no fcTL before it)
 * unless `shown`, when it is the animation's first frame and `frame` its second.
 */
export function apng(fallback: Buffer, frame: Buffer, { shown = false, left = 0, top = 0 } = {}): Buffer {
  const base = chunksOf(fallback)
  const [, ihdr] = base.find(([type]) => type === 'IHDR')!
  const idat = base.filter(([type]) => type === 'IDAT').map(([, data]) => pngChunk('IDAT', data))
  const frameData = Buffer.concat(
    chunksOf(frame)
      .filter(([type]) => type === 'IDAT')
      .map(([, data]) => data),
  )
  const { width, height } = { width: frame.readUInt32BE(16), height: frame.readUInt32BE(20) }
  const seq = shown ? 1 : 0
  return Buffer.concat([
    fallback.subarray(0, 8),
    pngChunk('IHDR', ihdr),
    pngChunk('acTL', u32(shown ? 2 : 1, 0)),
    ...(shown ? [fcTL(0, ihdr.readUInt32BE(0), ihdr.readUInt32BE(4))] : []),
    ...idat,
    fcTL(seq + (shown ? 1 : 0), width, height, left, top),
    pngChunk('fdAT', Buffer.concat([u32(seq + (shown ? 2 : 1)), frameData])),
    pngChunk('IEND', Buffer.alloc(0)),
  ])
}
