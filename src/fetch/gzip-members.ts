// `gzip` and `x-gzip` bodies for `BodyDecoder` (content-encoding.ts): member by member, each
// checked against its trailer (see `GzipMembers`).

import type { TransformCallback, Transform as TransformStream } from 'node:stream'
import { type Checked, type Overrun, type Pieces, Trailing, type Unterminated } from './decoding-stage.js'
import { Transform, zlib } from './lazy-zlib.js'

/** An error as zlib's own: `Z_BUF_ERROR` (the data stops short) or `Z_DATA_ERROR` (it is wrong). */
export function zlibError(code: 'Z_BUF_ERROR' | 'Z_DATA_ERROR', message: string): Error {
  return Object.assign(new Error(message), { code })
}

const hex32 = (n: number) => n.toString(16).padStart(8, '0')

/**
 * The length of the gzip member header at the start of `b` (RFC 1952 §2.3), `undefined` while
 * more bytes are needed. Throws when it names a method other than deflate.
 */
function gzipHeaderLength(b: Buffer): number | undefined {
  if (b.length < 10) return undefined
  if (b[2] !== 8) throw zlibError('Z_DATA_ERROR', `unknown compression method ${b[2]}`)
  const flags = b[3]
  let at = 10
  if (flags & 4) {
    // FEXTRA: a length, then that many bytes.
    if (b.length < at + 2) return undefined
    at += 2 + b.readUInt16LE(at)
  }
  // FNAME, FCOMMENT: zero-terminated.
  for (const bit of [8, 16]) {
    if (!(flags & bit)) continue
    const zero = b.indexOf(0, at)
    if (zero === -1) return undefined
    at = zero + 1
  }
  if (flags & 2) at += 2 // FHCRC
  return b.length >= at ? at : undefined
}

const GZIP_TRAILER = 8

/**
 * Longest gzip member header read (RFC 1952 §2.3): 10 bytes, an extra field of at most 65,535
 * bytes and its length, a header CRC, and 4 KB for the file name and comment (a name, a line). A
 * header that runs on is no gzip data, and would otherwise be held whole, decoding to no byte that
 * --max-size could count (a 300 MB one took minutes and its size in memory).
 */
const MAX_GZIP_HEADER = 10 + 2 + 0xffff + 2 + 4096

/**
 * `gzip` as urllib3 and curl read it (RFC 1952): member after member, each inflated raw, its
 * decoded size and CRC-32 checked against its trailer (ISIZE, CRC32); bytes after a member that
 * do not start another (a cache's trailing newline or HTML comment) are ignored. Node's own
 * gunzip takes any non-zero byte there for a new member, fails, and loses the output it had.
 * The CRC is what tells a byte changed on the way: an image gzip'd is mostly stored or literal
 * data, which inflates without a word to other bytes of the same size, and a JPEG's structure
 * does not show a changed byte in its scan data (flate2-rs#7; curl and aria2 refuse such a body).
 * A mismatch is noted (`mismatches`), not thrown: the caller weighs it as a stated checksum
 * (browsers ignore the trailer, and some servers write a wrong one every time, okhttp#4850).
 */
export class GzipMembers extends Transform implements Unterminated, Checked, Pieces, Overrun {
  unterminated = false
  /** Bytes after the last member that begin no other (see `BodyDecoder.overrun`). */
  readonly after = new Trailing()
  mismatches: string[] = []
  /** Called when a member's trailer has been read and checked (see `BodyDecoder.onOwnEnd`). */
  onOwnEnd: (() => void) | undefined

  /** Members begun (see `BodyDecoder.endsOnce`). */
  get pieces(): number {
    return this.#members
  }

  /** A member's trailer was read and checked, and no member has begun after it (see `BodyDecoder.atOwnEnd`). */
  get atOwnEnd(): boolean {
    return this.#members > 0 && !this.#inner && this.#stage === 'header' && !this.destroyed
  }
  /** Input not given to an inflater: a header, a trailer, what follows. */
  #pending: Buffer = Buffer.alloc(0)
  #stage: 'header' | 'trailer' = 'header'
  #members = 0
  #inner: TransformStream | undefined
  /** Input given to `#inner` from byte `#sentFrom` of its member's deflate data on. */
  #sent: Buffer[] = []
  #sentFrom = 0
  /** Decoded bytes of the current member, and their CRC-32 (zlib's, native: about as fast as a copy). */
  #size = 0
  #crc = 0
  #ignoring = false
  #waiting: TransformCallback | undefined
  #flushed: TransformCallback | undefined

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.#ignoring) {
      this.after.add(chunk)
      done()
      return
    }
    if (this.#inner) {
      this.#sent.push(chunk)
      if (this.#inner.write(chunk)) done()
      else {
        this.#waiting = done
        this.#inner.once('drain', () => this.#resume())
      }
      return
    }
    this.#pending = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk
    this.#step()
    done()
  }

  override _read(size: number): void {
    this.#inner?.resume()
    super._read(size)
  }

  override _flush(done: TransformCallback): void {
    this.#flushed = done
    if (this.#inner) this.#inner.end()
    else this.#finish()
  }

  override _destroy(error: Error | null, done: (error: Error | null) => void): void {
    this.#inner?.destroy()
    done(error)
  }

  #resume(): void {
    const waiting = this.#waiting
    this.#waiting = undefined
    waiting?.()
  }

  /** Read headers and trailers from `#pending` while no member is being inflated. */
  #step(): void {
    try {
      while (!this.#inner && !this.#ignoring) {
        if (this.#stage === 'trailer') {
          if (this.#pending.length < GZIP_TRAILER) return
          if (this.#pending.readUInt32LE(4) !== this.#size % 2 ** 32) {
            throw zlibError(
              'Z_DATA_ERROR',
              `a gzip member decodes to ${this.#size} bytes, not the ${this.#pending.readUInt32LE(4)} its trailer says`,
            )
          }
          if (this.#pending.readUInt32LE(0) !== this.#crc)
            this.mismatches.push(`${hex32(this.#crc)}, not the ${hex32(this.#pending.readUInt32LE(0))}`)
          this.#pending = this.#pending.subarray(GZIP_TRAILER)
          this.#stage = 'header'
          this.onOwnEnd?.()
        }
        if (this.#pending.length < 2) return
        if (this.#pending[0] !== 0x1f || this.#pending[1] !== 0x8b) {
          if (this.#members === 0) throw zlibError('Z_DATA_ERROR', 'incorrect header check')
          // Not another member: what a server appended after the body.
          this.#ignoring = true
          this.after.add(this.#pending)
          this.#pending = Buffer.alloc(0)
          return
        }
        const header = gzipHeaderLength(this.#pending)
        if (header === undefined) {
          // Held until it ends: a name or comment that never does would hold the whole body.
          if (this.#pending.length > MAX_GZIP_HEADER)
            throw zlibError('Z_DATA_ERROR', `a gzip header runs past ${MAX_GZIP_HEADER} bytes`)
          return
        }
        this.#start(this.#pending.subarray(header))
        this.#pending = Buffer.alloc(0)
      }
    } catch (error) {
      this.destroy(error as Error)
    }
  }

  /** Inflate a member, `data` its first bytes (and maybe what follows it). */
  #start(data: Buffer): void {
    // At the body's end, what the member decodes to so far comes out whole, and its missing end
    // is noted (`unterminated`) instead of failing: Z_FINISH would fail and drop output still held.
    const inner = zlib().createInflateRaw({ finishFlush: zlib().constants.Z_SYNC_FLUSH })
    this.#inner = inner
    this.#members++
    this.#size = 0
    this.#crc = 0
    this.#sent = [data]
    this.#sentFrom = 0
    inner.on('data', (out: Buffer) => {
      this.#size += out.length
      this.#crc = zlib().crc32(out, this.#crc)
      // Forget input the inflater has consumed: what is left may be the member's trailer.
      while (this.#sent.length && this.#sentFrom + this.#sent[0].length <= inner.bytesWritten) {
        this.#sentFrom += this.#sent.shift()!.length
      }
      if (!this.push(out)) inner.pause()
    })
    inner.on('error', (error) => this.destroy(error))
    inner.on('end', () => {
      // The deflate data ended: its trailer and what follows are the input it did not consume.
      const rest = Buffer.concat(this.#sent).subarray(inner.bytesWritten - this.#sentFrom)
      this.#inner = undefined
      this.#sent = []
      this.#stage = 'trailer'
      this.#pending = rest
      this.#step()
      this.#resume()
      // The body ended while this member was inflated: a member `#step` began after it is ended
      // too (it waited for an end that never came, and the transfer with it, when the body was cut
      // inside it), and then the whole. (TypeScript's narrowing does not see `#step` set it.)
      const next = this.#inner as TransformStream | undefined
      if (this.#flushed) {
        if (next) next.end()
        else this.#finish()
      }
    })
    inner.write(data)
  }

  /**
   * The body ended with no member being inflated. No member at all: nothing was encoded. A last
   * member without its trailer (its deflate data ended, or was cut, with no final block: a sync
   * flush, as some servers end a stream), or a member cut in its header: `unterminated`, for the
   * caller to judge.
   */
  #finish(): void {
    const done = this.#flushed!
    this.#flushed = undefined
    if (this.destroyed) return
    if (this.#members === 0) {
      done(zlibError('Z_BUF_ERROR', 'unexpected end of file'))
      return
    }
    if (this.#stage === 'trailer' && !this.#ignoring) this.unterminated = true
    // Cut inside the header of another member (gzip's magic begun): not an end either.
    if (this.#stage === 'header' && !this.#ignoring && this.#pending[0] === 0x1f) this.unterminated = true
    // One byte after the last member, too few to tell: no member's magic, so bytes appended.
    else if (this.#stage === 'header' && !this.#ignoring) this.after.add(this.#pending)
    done()
  }
}
