// `zstd` bodies for `BodyDecoder` (content-encoding.ts): Node's decoder, and a walk of the frames
// that tells a stream cut inside one (see `Zstd`).

import type { TransformCallback, Transform as TransformStream } from 'node:stream'
import type { Pieces, Unterminated } from './decoding-stage.js'
import { Transform, zlib } from './lazy-zlib.js'

/** A zstd frame's magic number, read little-endian (RFC 8878 §3.1.1: bytes 28 B5 2F FD). */
export const ZSTD_MAGIC = 0xfd2fb528

/**
 * `zstd` (RFC 8878), decoded by Node's decoder (22.15+), which ends without a word where the data
 * stops inside a frame: a body cut there (read to the close) was taken for one whose coding had
 * reached its own end, which marks where the body ends, and a motion photo cut in its video, or
 * a format whose end its bytes do not show, was kept cut. Its frames are walked as they come, by
 * their headers and block sizes alone (`ZstdWalk`): one that stops inside a frame is
 * `unterminated`, as a gzip stream without its trailer is, and the image's own structure decides.
 */
export class Zstd extends Transform implements Unterminated, Pieces {
  unterminated = false
  readonly #inner = (
    zlib() as unknown as { createZstdDecompress: () => TransformStream }
  ).createZstdDecompress()
  readonly #walk = new ZstdWalk()
  #flushed: TransformCallback | undefined

  /** Frames begun, skippable ones not counted (see `BodyDecoder.endsOnce`). */
  get pieces(): number {
    return this.#walk.dataFrames
  }

  constructor() {
    super()
    this.#inner.on('data', (data: Buffer) => {
      if (!this.push(data)) this.#inner.pause()
    })
    this.#inner.on('error', (error) => this.destroy(error))
    this.#inner.on('end', () => {
      this.unterminated = !this.#walk.atEnd
      const flushed = this.#flushed
      this.#flushed = undefined
      flushed?.()
    })
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#walk.feed(chunk)
    if (this.#inner.write(chunk)) done()
    else this.#inner.once('drain', () => done())
  }

  override _read(size: number): void {
    this.#inner.resume()
    super._read(size)
  }

  override _flush(done: TransformCallback): void {
    this.#flushed = done
    this.#inner.end()
  }

  override _destroy(error: Error | null, done: (error: Error | null) => void): void {
    this.#inner.destroy()
    done(error)
  }
}

/**
 * Where a zstd stream is (RFC 8878 §3.1): frames, each a header (its size from its descriptor's
 * flags), blocks (a 3-byte header: last or not, type, size; an RLE block holds one byte), and a
 * 4-byte checksum when the header names one; and skippable frames (a magic number, a size, that
 * many bytes). `atEnd`: the bytes fed so far end where a frame ends. Bytes that are no frame stop
 * the walk (the decoder says what they are).
 */
export class ZstdWalk {
  /** Bytes of the next header gathered so far, and how many it takes (0: none expected). */
  #gathered: number[] = []
  #want = 4
  /** What the header being gathered is. */
  #state: 'magic' | 'descriptor' | 'skippable' | 'block' = 'magic'
  /** Bytes to pass over (a header's rest, a block's content, a checksum, a skippable frame's). */
  #skip = 0
  /** After the bytes passed over: the next state. */
  #then: 'magic' | 'block' = 'magic'
  /** The frame being walked ends with a checksum. */
  #checksum = false
  /** Frames walked to their end. */
  #frames = 0
  /** Bytes that are no frame: the walk stopped. */
  #lost = false

  #dataFrames = 0

  /** Data frames begun (skippable ones, which hold no data, not counted). */
  get dataFrames(): number {
    return this.#dataFrames
  }

  get atEnd(): boolean {
    return (
      !this.#lost &&
      this.#frames > 0 &&
      this.#state === 'magic' &&
      this.#skip === 0 &&
      this.#gathered.length === 0
    )
  }

  feed(chunk: Uint8Array): void {
    let at = 0
    while (at < chunk.length && !this.#lost) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - at)
        this.#skip -= n
        at += n
        if (this.#skip === 0) this.#to(this.#then)
        continue
      }
      this.#gathered.push(chunk[at++])
      if (this.#gathered.length === this.#want) this.#header()
    }
  }

  /** What follows the bytes passed over: another block, or a frame ended (the next one's magic). */
  #to(state: 'magic' | 'block'): void {
    this.#state = state
    this.#want = state === 'magic' ? 4 : 3
    if (state === 'magic') this.#frames++
  }

  /** A header is gathered: read it. */
  #header(): void {
    const b = this.#gathered
    this.#gathered = []
    if (this.#state === 'magic') {
      const magic = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0
      if (magic === ZSTD_MAGIC) {
        this.#dataFrames++
        this.#state = 'descriptor'
        this.#want = 1
      } else if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
        this.#state = 'skippable'
        this.#want = 4
      } else this.#lost = true
      return
    }
    if (this.#state === 'skippable') {
      this.#skipThen((b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0, 'magic')
      return
    }
    if (this.#state === 'descriptor') {
      const d = b[0]
      const single = (d & 0x20) !== 0
      this.#checksum = (d & 0x04) !== 0
      const fcs = [single ? 1 : 0, 2, 4, 8][d >> 6]
      this.#skipThen((single ? 0 : 1) + [0, 1, 2, 4][d & 3] + fcs, 'block')
      return
    }
    // A block header.
    const header = b[0] | (b[1] << 8) | (b[2] << 16)
    const last = (header & 1) === 1
    const type = (header >> 1) & 3
    if (type === 3) {
      this.#lost = true
      return
    }
    const size = type === 1 ? 1 : header >>> 3
    this.#skipThen(size + (last && this.#checksum ? 4 : 0), last ? 'magic' : 'block')
  }

  #skipThen(bytes: number, then: 'magic' | 'block'): void {
    this.#then = then
    this.#state = 'block'
    this.#want = 3
    this.#skip = bytes
    if (bytes === 0) this.#to(then)
  }
}
