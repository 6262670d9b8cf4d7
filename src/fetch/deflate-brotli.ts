// `deflate` and `br` bodies for `BodyDecoder` (content-encoding.ts): decoded to their end, also
// where the stream has none of its own (see `ToItsEnd`).

import type { TransformCallback, Transform as TransformStream } from 'node:stream'
import { type Overrun, Trailing, type Unterminated } from './decoding-stage.js'
import { Transform, zlib } from './lazy-zlib.js'

/**
 * How long a deflate or Brotli body that decoded to the size it should have must be quiet before
 * its decoder is asked whether it ended there (see `ToItsEnd.watchEnd`): its last bytes (a final
 * block's end, zlib's Adler-32, Brotli's empty last meta-block) may come in a segment of their
 * own, held back by Nagle's algorithm for a delayed ACK (40 to 200 ms). Asked too early, the
 * body only waits as before.
 */
const OWN_END_QUIET_MS = 250

/**
 * A decoder that gives all it decodes of a stream that ends without its own end, and notes that
 * (`unterminated`) instead of failing: the decoders `make` returns, given the body's first bytes
 * (at least `need` of them), flush what they hold at the body's end (`flushing`) where Z_FINISH
 * or BROTLI_OPERATION_FINISH would fail and drop it.
 */
export class ToItsEnd extends Transform implements Unterminated, Overrun {
  unterminated = false
  /** Bytes after the stream's end, not decoded: Node's decoders end there and drop the rest. */
  readonly after = new Trailing()
  /** Input given to `#inner` from byte `#sentFrom` of the body on, not yet known to be read. */
  #sent: Buffer[] = []
  #sentFrom = 0
  /** The stream was found ended where it decoded to the size watched for (see `watchEnd`). */
  atOwnEnd = false
  /** What `watchEnd` was given; `#ender` is made with `#inner` when it was. */
  #armed: (() => boolean) | undefined
  #onEnd: (() => void) | undefined
  /**
   * A third decoder of the same input, output dropped, spent to learn whether the stream has
   * ended: Node's zlib and Brotli decoders say so only when bytes follow the end in the same
   * write (they end then, the rest unread), never when the input stops right at it. Given one byte
   * more, it ends if the stream had; else it is spent ('asked'), and the body waits as before.
   */
  #ender: TransformStream | undefined
  #enderState: 'fed' | 'asked' | 'done' = 'fed'
  #quiet: NodeJS.Timeout | undefined

  /**
   * Look for the stream's end once `armed()` (it decoded to the size its caller would end the body
   * at) and no byte came for `OWN_END_QUIET_MS`, and call `onEnd` when found there (`atOwnEnd`):
   * a server that keeps its connection open after a body whose `Content-Length` is the decoded size
   * held each such file for the idle timeout. Bytes after the end in the same write show it at once.
   * Called before the first byte.
   */
  watchEnd(armed: () => boolean, onEnd: () => void): void {
    this.#armed = armed
    this.#onEnd = onEnd
  }

  /** The stream may be at its end (more input, or the size watched for reached): wait for quiet, then ask. */
  poke(): void {
    if (!this.#ender || this.#enderState !== 'fed' || !this.#armed!()) return
    clearTimeout(this.#quiet)
    this.#quiet = setTimeout(() => this.#ask(), OWN_END_QUIET_MS)
    this.#quiet.unref?.()
  }

  #ask(): void {
    if (this.#enderState !== 'fed' || this.destroyed || !this.#armed!()) return
    this.#enderState = 'asked'
    this.#ender!.write(Buffer.of(0))
  }

  /** The ender ended: the stream had, before its sentinel byte (or before bytes that followed it). */
  #endFound(): void {
    const fed = this.#enderState !== 'done'
    this.#enderState = 'done'
    clearTimeout(this.#quiet)
    if (!fed || this.destroyed) return
    this.atOwnEnd = true
    this.#onEnd!()
  }
  /** Bytes of the body's head `make` is given. */
  readonly #need: number
  readonly #make: (head: Buffer) => (options?: object) => TransformStream
  readonly #flushing: () => object

  constructor(
    need: number,
    make: (head: Buffer) => (options?: object) => TransformStream,
    flushing: () => object,
  ) {
    super()
    this.#need = need
    this.#make = make
    this.#flushing = flushing
  }

  #inner: TransformStream | undefined
  /**
   * The same input, decoded to nowhere and finished at the body's end, only to learn whether the
   * stream has its end: `#inner` flushes what it has there instead (finishing would fail and drop
   * output it still holds), which cannot tell.
   */
  #probe: TransformStream | undefined
  #head = Buffer.alloc(0)
  /** The body ended before `#need` bytes: `make` is given what there is (see `_flush`). */
  #short = false
  #flushed: TransformCallback | undefined

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (!this.#inner) {
      this.#head = Buffer.concat([this.#head, chunk])
      if (this.#head.length < this.#need && !this.#short) {
        done()
        return
      }
      chunk = this.#head
      const make = this.#make(chunk)
      const inner = make(this.#flushing())
      this.#inner = inner
      const read = () => (inner as unknown as { bytesWritten: number }).bytesWritten
      inner.on('data', (data: Buffer) => {
        while (this.#sent.length && this.#sentFrom + this.#sent[0].length <= read())
          this.#sentFrom += this.#sent.shift()!.length
        if (!this.push(data)) inner.pause()
      })
      inner.on('error', (error) => this.destroy(error))
      inner.on('end', () => {
        // The input it did not read: what came after the stream's end.
        this.after.add(Buffer.concat(this.#sent).subarray(read() - this.#sentFrom))
        this.#sent = []
        this.#innerDone = true
        this.#ended()
      })
      if (this.#armed) {
        const ender = make()
        this.#ender = ender
        ender.on('data', () => {})
        ender.on('end', () => this.#endFound())
        // Not ended where asked (or data no decoder reads, which `#inner` reports): spent.
        ender.on('error', () => {
          this.#enderState = 'done'
        })
      }
      const probe = make()
      this.#probe = probe
      probe.on('data', () => {})
      // Any failure of the probe but a missing end is the output's too, and `#inner` reports it.
      probe.on('error', (error: { code?: string }) => {
        if (this.#probeDone) return
        this.#probeDone = true
        if (error.code === 'Z_BUF_ERROR') this.unterminated = true
        this.#ended()
      })
      probe.on('end', () => {
        this.#probeDone = true
        this.#ended()
      })
    }
    if (this.#innerDone) {
      // The stream has ended: nothing more is decoded (see `after`).
      this.after.add(chunk)
      done()
      return
    }
    if (!this.#probeDone && !this.#probe!.writableEnded) this.#probe!.write(chunk)
    if (this.#enderState === 'fed') this.#ender?.write(chunk)
    this.poke()
    this.#sent.push(chunk)
    if (this.#inner.write(chunk)) done()
    else this.#inner.once('drain', () => done())
  }

  #innerDone = false
  #probeDone = false
  /** Both the output and the probe are done: the body has been decoded. */
  #ended(): void {
    if (!this.#innerDone || !this.#probeDone) return
    const flushed = this.#flushed
    this.#flushed = undefined
    flushed?.()
  }

  override _read(size: number): void {
    this.#inner?.resume()
    super._read(size)
  }

  override _flush(done: TransformCallback): void {
    if (!this.#inner && this.#head.length >= 2) {
      // A whole body shorter than the head `make` wanted (a guess's 4 KiB): decoded as one.
      this.#short = true
      this._transform(Buffer.alloc(0), 'binary', (error) => (error ? done(error) : this._flush(done)))
      return
    }
    if (!this.#inner) {
      // Fewer bytes than the format's head: decoded to its failure.
      const inner = this.#make(this.#head)()
      inner.on('error', (error) => done(error))
      inner.end(this.#head, () => done())
      return
    }
    this.#flushed = done
    this.#stopWatching()
    this.#inner.end()
    if (!this.#probe!.writableEnded) this.#probe!.end()
    this.#ended()
  }

  override _destroy(error: Error | null, done: (error: Error | null) => void): void {
    this.#inner?.destroy()
    this.#probe?.destroy()
    this.#stopWatching()
    done(error)
  }

  #stopWatching(): void {
    clearTimeout(this.#quiet)
    if (this.#enderState === 'fed') this.#enderState = 'done'
    this.#ender?.destroy()
  }
}

/**
 * `deflate` as servers send it: RFC 9110 means the zlib format (RFC 1950), but some servers send
 * raw deflate (RFC 1951), as browsers also accept. A zlib stream starts with a header whose first
 * byte names method 8 and whose first two bytes, read big-endian, are a multiple of 31. One that
 * ends without its final block (a sync flush) gives all it decodes to (see `ToItsEnd`).
 */
export class AnyInflate extends ToItsEnd {
  constructor() {
    super(
      2,
      (head) =>
        head.length >= 2 && isZlibHeader(head)
          ? (options) => zlib().createInflate(options)
          : (options) => zlib().createInflateRaw(options),
      () => ({ finishFlush: zlib().constants.Z_SYNC_FLUSH }),
    )
  }
}

/**
 * `br` (RFC 7932). A stream that ends without its last meta-block (flushed, never finished:
 * Pingora's compressor ends every `br` body so, pingora#1013; brotli#810) gives all it decodes to,
 * as curl, Chrome and Firefox read it (see `ToItsEnd`); Node's decoder failed it and dropped the
 * image its flush had carried whole.
 */
export class Brotli extends ToItsEnd {
  constructor() {
    super(
      1,
      () => (options) => zlib().createBrotliDecompress(options),
      () => ({ finishFlush: zlib().constants.BROTLI_OPERATION_FLUSH }),
    )
  }
}

export function isZlibHeader(head: Buffer): boolean {
  return (head[0] & 0x0f) === 8 && head[0] >> 4 <= 7 && ((head[0] << 8) | head[1]) % 31 === 0
}
