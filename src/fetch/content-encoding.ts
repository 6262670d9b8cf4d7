import { createRequire } from 'node:module'
import type { TransformCallback, Transform as TransformStream } from 'node:stream'
import { ImgpullError } from '../errors.js'
import { sniffBinary, sniffCommon } from '../verify/magic.js'

export { codingsOf } from './judge.js'

// Required, not imported: the CLI bundle would hoist an import of these to its start, loading
// zlib in every run (~1.5 ms). zlib is required with the first encoded body (a built-in: no file
// to open then); this module itself loads with the transfers', before any starts, as a module
// loaded mid-run can fail for want of a file descriptor (see `unloadableCode`).
const load = createRequire(import.meta.url)
let zlibModule: typeof import('node:zlib') | undefined
const zlib = (): typeof import('node:zlib') =>
  (zlibModule ??= load('node:zlib') as typeof import('node:zlib'))
const { Transform } = load('node:stream') as typeof import('node:stream')

/**
 * Bodies a server sent with a `Content-Encoding` (RFC 9110 §8.4), decoded as they stream.
 *
 * imgpull asks for `Accept-Encoding: identity` (images are compressed already; an encoded body
 * cannot be resumed, since ranges count its encoded bytes), but servers encode anyway. Decoded:
 * `gzip` and `x-gzip` (member by member, bytes after the last one ignored), `deflate` (zlib-wrapped as the RFC says, or raw, as some servers send it:
 * told from the first two bytes; either label over the other's header, see `decoderFor`), `br`, and `zstd` where the running Node has it (22.15+); several
 * stacked (`gzip, br`: decoded in reverse order), up to 5, as curl allows. Decoding runs on
 * libuv's thread pool (zlib's streams), never on the event loop, and with back-pressure: the body
 * waits while decoded bytes wait to be checked and written.
 */

/** Bytes of an encoded body looked at before decoding it: enough for every image signature sniffed. */
const HEAD_BYTES = 32

/** Most codings stacked on one body (curl's and urllib3's limit against decompression chains). */
const MAX_CODINGS = 5

const DECODERS: Record<string, (() => TransformStream) | undefined> = {
  gzip: () => new GzipMembers(),
  'x-gzip': () => new GzipMembers(),
  deflate: () => new AnyInflate(),
  br: () => new Brotli(),
  zstd: () => new Zstd(),
}

/** Whether this Node decodes `coding` (zstd: 22.15+). */
const decodes = (coding: string): boolean =>
  DECODERS[coding] !== undefined && (coding !== 'zstd' || 'createZstdDecompress' in zlib())

/**
 * The decoder of `coding`, or, where the body's first bytes (`head`) are a gzip or zlib header
 * under the other's label, the one they call for: `gzip` over zlib data (Twisted's gzip encoder,
 * twisted#6608; PHP's gzcompress under a gzip header) and `deflate` over a gzip member, as curl,
 * wget2 and aria2 read the first and browsers read both (libhtp#137). Each checks its own
 * checksum; a head that is neither is decoded by the label, and fails there if it must.
 */
function decoderFor(coding: string, head: Buffer | undefined): TransformStream {
  const gzipLabel = coding === 'gzip' || coding === 'x-gzip'
  if (head && head.length >= 2) {
    if (gzipLabel && isZlibHeader(head)) return new AnyInflate()
    if (coding === 'deflate' && head[0] === 0x1f && head[1] === 0x8b) return new GzipMembers()
  }
  return DECODERS[coding]!()
}

/**
 * Whether a body's head reads as markup, as an SVG (or an HTML page) is written: after a UTF-8
 * byte order mark and white space, `<` and then printable ASCII only. No encoded stream begins so:
 * gzip and zstd open with binary magic numbers, `<` names no zlib method, and Brotli or raw
 * deflate data is printable ASCII about one byte in three, never 32 in a row but by a chance
 * of 1 in 10^13.
 */
export function opensAsMarkup(head: Uint8Array): boolean {
  let at = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0
  while (at < head.length && (head[at] === 0x20 || (head[at] >= 0x09 && head[at] <= 0x0d))) at++
  if (head[at] !== 0x3c) return false
  for (; at < head.length; at++) {
    const c = head[at]
    if ((c < 0x20 || c > 0x7e) && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false
  }
  return true
}

/**
 * Why this Node cannot decode zstd, and what to do, or `undefined` where it can (its zlib has
 * `createZstdDecompress`: Node 22.15 and later, told by the function, not the version).
 */
export const zstdUnavailable = (): string | undefined =>
  decodes('zstd')
    ? undefined
    : `which this Node (${process.version}) cannot decode (Node 22.15 or later can; run again there with --retry-failed)`

/** Why these codings cannot be decoded here, or `undefined` when they can. */
export function undecodable(codings: readonly string[]): string | undefined {
  if (codings.length > MAX_CODINGS)
    return `${codings.length} content codings stacked (at most ${MAX_CODINGS})`
  for (const coding of codings) {
    if (decodes(coding)) continue
    return coding === 'zstd' ? `zstd, ${zstdUnavailable()}` : `${coding}, an encoding imgpull does not decode`
  }
  return undefined
}

/**
 * Decodes one body: `write` each encoded chunk (a promise when the body must wait), then `end`;
 * decoded chunks go to `sink`, in order (a promise from it makes decoding wait). Rejects with a
 * `truncated` (the encoded data stops short), `corrupt` (it is not valid data of its coding) or
 * `digest-mismatch` (it decodes to bytes its zlib or zstd checksum does not match) `ImgpullError`,
 * or with what `sink` threw.
 */
export class BodyDecoder {
  readonly #codings: readonly string[]
  #first: TransformStream | undefined
  #stages: TransformStream[] = []
  #done: Promise<void> = Promise.resolve()
  readonly #sink: (chunk: Buffer) => void | Promise<void>
  /** Why the codings cannot be decoded here (see `undecodable`): said once the head shows them applied. */
  readonly #undecodable: string | undefined
  #failure: unknown
  /** The body's first bytes, held until they show whether it is encoded at all. */
  #head: Buffer[] | undefined = []
  #headBytes = 0
  /**
   * The body turned out not to be encoded: it starts as an image does (a JPEG's `FF D8 FF`, a
   * PNG's signature) or as markup does (an SVG's `<?xml` or `<svg`, see `opensAsMarkup`), which no
   * gzip, zlib, zstd or Brotli stream can. Such a server labels stored bytes with a coding it
   * never applied (an S3 object uploaded with the wrong `Content-Encoding`, an `AddEncoding`
   * rule), also one imgpull cannot decode (`zstd` on an older Node, `compress`): curl, wget2 and
   * aria2 save those bytes as they come, and so does imgpull, which then checks them as any image.
   * Decoding them would refuse a good image.
   */
  identity = false

  /**
   * `codings`: as `codingsOf` lists them; `shown`: the URL for messages. Codings `undecodable`
   * says cannot be decoded fail as `unsupported-encoding` once the head shows the body is not as
   * it came. `named`: what names the codings, for messages: the answer's `Content-Encoding`, or
   * (for gzip no header named) the body's own first bytes.
   */
  constructor(
    codings: readonly string[],
    sink: (chunk: Buffer) => void | Promise<void>,
    readonly shown: string,
    readonly named = 'its Content-Encoding says',
  ) {
    this.#sink = (chunk) => {
      this.#decoded += chunk.length
      const busy = sink(chunk)
      if (this.#decoded === this.ownEndAt) (this.#stages[0] as Partial<ToItsEnd> | undefined)?.poke?.()
      return busy
    }
    this.#codings = codings
    this.#undecodable = undecodable(codings)
  }

  /**
   * The decoding stages, made once the head shows the body is encoded: the coding applied last
   * is undone first, by the decoder its bytes call for where they name another than its label
   * (see `decoderFor`).
   */
  #build(head: Buffer): void {
    const sink = this.#sink
    this.#stages = [...this.#codings]
      .reverse()
      .map((coding, i) => (i === 0 ? decoderFor(coding, head) : new Layer(coding)))
    if (this.#stages[0] instanceof GzipMembers) this.#stages[0].onOwnEnd = () => this.onOwnEnd?.()
    else if (
      this.#stages[0] instanceof ToItsEnd &&
      this.#stages.length === 1 &&
      this.ownEndAt !== undefined
    ) {
      this.#stages[0].watchEnd(
        () => this.#decoded === this.ownEndAt,
        () => this.onOwnEnd?.(),
      )
    }
    this.#first = this.#stages[0]
    for (let i = 0; i + 1 < this.#stages.length; i++) this.#stages[i].pipe(this.#stages[i + 1])
    const last = this.#stages.at(-1)!
    // An error in any stage ends the output with it.
    for (const stage of this.#stages) {
      stage.on('error', (error) => {
        this.#failure ??= this.#classify(error)
        last.destroy(this.#failure as Error)
      })
    }
    this.#done = (async () => {
      for await (const chunk of last as AsyncIterable<Buffer>) {
        const busy = sink(chunk)
        if (busy) await busy
      }
    })().catch((error) => {
      this.#failure ??= error
      for (const stage of this.#stages) stage.destroy()
      throw this.#failure
    })
    // Seen by `write` and `end`; never an unhandled rejection on its own.
    this.#done.catch(() => {})
  }

  /** One chunk of the encoded body; a promise while the decoder's input is full. */
  write(chunk: Buffer): void | Promise<void> {
    // First: destroying the decoder (`identity`) ends its output with an error nobody reads.
    if (this.identity) return this.#sink(chunk)
    if (this.#failure !== undefined) throw this.#failure
    if (this.#head) {
      this.#head.push(chunk)
      this.#headBytes += chunk.length
      return this.#headBytes < HEAD_BYTES ? undefined : this.#release()
    }
    return this.#feed(chunk)
  }

  /** The encoded body has ended: resolves once every decoded byte has gone to the sink. */
  async end(): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure
    if (this.#head) {
      const busy = this.#release()
      if (busy) await busy
    }
    if (this.identity) return
    this.#first!.end()
    return this.#done
  }

  /** The head is complete (or the body ended): decode it, or give it as it is (`identity`). */
  #release(): void | Promise<void> {
    const head = Buffer.concat(this.#head!)
    this.#head = undefined
    // The bytes on disk again (see `asCame`): all of them, or as many as the head has.
    const asCame = this.asCame
    const n = Math.min(head.length, asCame?.length ?? 0)
    const known = n > 0 && head.subarray(0, n).equals(asCame!.subarray(0, n))
    if (sniffCommon(head) ?? sniffBinary(head) ?? (opensAsMarkup(head) || known)) {
      this.identity = true
      this.destroy()
      return this.#sink(head)
    }
    if (this.#undecodable) {
      this.#failure = new ImgpullError(
        'unsupported-encoding',
        `${this.shown}: the server encoded the image with ${this.#undecodable}`,
      )
      throw this.#failure
    }
    this.#build(head)
    return this.#feed(head)
  }

  #feed(chunk: Buffer): void | Promise<void> {
    const first = this.#first!
    if (first.write(chunk)) return
    return new Promise<void>((resolve, reject) => {
      first.once('drain', resolve)
      this.#done.then(resolve, reject)
    })
  }

  /**
   * After `end`: a gzip, deflate or Brotli stream ended without its own end (no final block, no
   * trailer, no last meta-block), as servers that end a stream with a flush send it
   * (nodejs/node#5761, pingora#1013; browsers and curl take such bodies). What it decoded to came out whole; only the image's own structure
   * can then show where the file ends, as for a body whose end the protocol did not mark.
   */
  get unterminated(): boolean {
    return this.#stages.some((stage) => (stage as Partial<Unterminated>).unterminated === true)
  }

  /**
   * After `end`: the coded stream ended where it may end and came as one piece, so that its end
   * marks where the body ends (RFC 1952 §2.2, RFC 8878 §3.1). A gzip body of several members (a
   * server that gzips each chunk it writes, curl#22156; parts compressed ahead and joined,
   * bun#33708) or zstd of several frames may stop after any of them, and a cut there ends as
   * cleanly as the last: it was kept as whole where its image's bytes cannot show their end (a
   * GIF cut between frames, read to a close). One member or frame only (nothing shows another was
   * due), or deflate or Brotli, which have a single end, mark it.
   */
  get endsOnce(): boolean {
    return (
      !this.identity &&
      !this.unterminated &&
      this.#stages.every((stage) => ((stage as Partial<Pieces>).pieces ?? 1) <= 1)
    )
  }

  /**
   * Called each time the coded stream reaches a point where it may end (see `atOwnEnd`), so that
   * a body whose transfer goes on past it can be ended there.
   */
  onOwnEnd: (() => void) | undefined

  /** Decoded bytes given to the sink so far. */
  #decoded = 0

  /**
   * Bytes the body begins with where it came as it is, set before the first byte is written: a
   * resume's overlap, the bytes on disk there (a body labelled with a coding never applied, as an
   * S3 object's wrong metadata labels every answer, its 206s too: see `identity`).
   */
  asCame: Buffer | undefined

  /**
   * The decoded size at which a deflate or Brotli body is looked at for its own end (see
   * `ToItsEnd.watchEnd`): set before the first byte is written, by a caller that would end the
   * body there (see `atOwnEnd`). gzip's trailer shows its end without it.
   */
  ownEndAt: number | undefined

  /**
   * The coded stream, as far as it has come, has reached its own end: one gzip coding (the only
   * one listed) whose last member so far had its trailer read and checked (its decoded size; its
   * CRC-32 noted), no member begun after it; or one deflate or Brotli coding that decoded to
   * `ownEndAt` bytes and was found ended there (see `ToItsEnd.watchEnd`). What comes later is
   * another member or bytes a server appended; whether the body ends here is for the caller, who
   * knows how long it should be.
   */
  get atOwnEnd(): boolean {
    return (
      !this.identity &&
      this.#stages.length === 1 &&
      (this.#stages[0] as Partial<GzipMembers>).atOwnEnd === true
    )
  }

  /**
   * After `end`: the gzip CRC-32s that did not match what their members decoded to (`computed,
   * not the stated`), or `undefined`: bytes changed on the way, or a server that writes a wrong
   * one (see `GzipMembers`); the caller decides, as for a stated checksum.
   */
  get checksumMismatch(): string | undefined {
    const all = this.#stages.flatMap((stage) => (stage as Partial<Checked>).mismatches ?? [])
    return all.length > 0 ? all.join('; ') : undefined
  }

  /**
   * After `end`: binary bytes that came after a coded stream's own end and were not decoded (how
   * many), and the coding whose stream it was, or `undefined`. A deflate or Brotli stream has one
   * end, and gzip data after its last member no more members: binary bytes there are a second
   * stream joined on (a server that compresses each write, files compressed apart and
   * concatenated: "quite common in practice", whatwg/compression#47), which curl refuses (curl#2068:
   * bytes after the end are its write error) and wget2 and urllib3 drop. The image decoded is then
   * no more than the first stream's, whatever its framing said: only its own structure can show
   * that it is whole (see `Transfer.overrun` in transfer.ts). Text there (a cache's newline or
   * HTML comment, see `Trailing`) is let go, as before.
   */
  get overrun(): { bytes: number; coding: string } | undefined {
    if (this.identity) return undefined
    const codings = [...this.#codings].reverse()
    for (const [i, stage] of this.#stages.entries()) {
      const after = (stage as Partial<Overrun>).after
      if (after?.binary) return { bytes: after.bytes, coding: codings[i] }
    }
    return undefined
  }

  /** Abandon decoding (the transfer failed). */
  destroy(): void {
    for (const stage of this.#stages) stage.destroy()
  }

  #classify(error: unknown): ImgpullError {
    const code = (error as { code?: string }).code
    const why = (error as Error).message
    // The coding's own checksum (zlib's Adler-32, in zlib's words; zstd's, where the frame
    // carries one) disagrees with what the data decoded to: bytes changed on the way, as a stated
    // digest shows them (gzip's CRC-32: see `checksumMismatch`).
    if (code === 'ZSTD_error_checksum_wrong' || why === 'incorrect data check') {
      return new ImgpullError(
        'digest-mismatch',
        `${this.shown}: the encoded body decodes to bytes its own checksum does not match (${why}): changed on the way`,
        { retryable: true, cause: error },
      )
    }
    if (code === 'Z_BUF_ERROR') {
      return new ImgpullError('truncated', `${this.shown}: the encoded body ends early (${why})`, {
        retryable: true,
        cause: error,
      })
    }
    return new ImgpullError('corrupt', `${this.shown}: the body does not decode as ${this.named} (${why})`, {
      cause: error,
    })
  }
}

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
class ToItsEnd extends Transform implements Unterminated, Overrun {
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
  #flushed: TransformCallback | undefined

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (!this.#inner) {
      this.#head = Buffer.concat([this.#head, chunk])
      if (this.#head.length < this.#need) {
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
class AnyInflate extends ToItsEnd {
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
class Brotli extends ToItsEnd {
  constructor() {
    super(
      1,
      () => (options) => zlib().createBrotliDecompress(options),
      () => ({ finishFlush: zlib().constants.BROTLI_OPERATION_FLUSH }),
    )
  }
}

/**
 * `zstd` (RFC 8878), decoded by Node's decoder (22.15+), which ends without a word where the data
 * stops inside a frame: a body cut there (read to the close) was taken for one whose coding had
 * reached its own end, which marks where the body ends, and a motion photo cut in its video, or
 * a format whose end its bytes do not show, was kept cut. Its frames are walked as they come, by
 * their headers and block sizes alone (`ZstdWalk`): one that stops inside a frame is
 * `unterminated`, as a gzip stream without its trailer is, and the image's own structure decides.
 */
class Zstd extends Transform implements Unterminated, Pieces {
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
      if (magic === 0xfd2fb528) {
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

/**
 * A coding listed under another (`gzip, gzip`: the first one listed, undone last), decoded when
 * what the one outside it decoded to is encoded at all: that output may already open as an image
 * or as markup, which no encoded stream does. Such a header lists a coding once too often: a proxy
 * or a module that adds its own `Content-Encoding` line to a body already encoded (cpp-httplib#993,
 * pagespeed-ngx#456); wget2 and aria2 decode the body once. The rest is then given as it comes,
 * and checked as any image. Otherwise the coding is decoded by the decoder its head calls for.
 */
class Layer extends Transform implements Unterminated, Checked, Pieces, Overrun {
  readonly #coding: string
  #head: Buffer[] = []
  #headBytes = 0
  #inner: TransformStream | undefined
  #passing = false
  #flushed: TransformCallback | undefined

  constructor(coding: string) {
    super()
    this.#coding = coding
  }

  get unterminated(): boolean {
    return (this.#inner as Partial<Unterminated> | undefined)?.unterminated === true
  }

  get pieces(): number {
    return (this.#inner as Partial<Pieces> | undefined)?.pieces ?? 1
  }

  get after(): Trailing | undefined {
    return (this.#inner as Partial<Overrun> | undefined)?.after
  }

  get mismatches(): readonly string[] {
    return (this.#inner as Partial<Checked> | undefined)?.mismatches ?? []
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.#passing) {
      this.push(chunk)
      done()
    } else if (this.#inner) this.#write(chunk, done)
    else {
      this.#head.push(chunk)
      this.#headBytes += chunk.length
      if (this.#headBytes < HEAD_BYTES) done()
      else this.#decide(done)
    }
  }

  override _read(size: number): void {
    this.#inner?.resume()
    super._read(size)
  }

  override _flush(done: TransformCallback): void {
    // Ended before its head filled: decided on what there is (nothing at all: its decoder says so).
    if (!this.#passing && !this.#inner) this.#decide(() => {})
    if (this.#passing) {
      done()
      return
    }
    this.#flushed = done
    this.#inner!.end()
  }

  override _destroy(error: Error | null, done: (error: Error | null) => void): void {
    this.#inner?.destroy()
    done(error)
  }

  #decide(done: TransformCallback): void {
    const head = Buffer.concat(this.#head)
    this.#head = []
    if (sniffCommon(head) ?? sniffBinary(head) ?? opensAsMarkup(head)) {
      this.#passing = true
      this.push(head)
      done()
      return
    }
    const inner = decoderFor(this.#coding, head)
    this.#inner = inner
    inner.on('data', (data: Buffer) => {
      if (!this.push(data)) inner.pause()
    })
    inner.on('error', (error) => this.destroy(error))
    inner.on('end', () => {
      const flushed = this.#flushed
      this.#flushed = undefined
      flushed?.()
    })
    this.#write(head, done)
  }

  #write(chunk: Buffer, done: TransformCallback): void {
    if (this.#inner!.write(chunk)) done()
    else this.#inner!.once('drain', () => done())
  }
}

/** A decoding stage that notes checksums that did not match what it decoded (see `BodyDecoder.checksumMismatch`). */
interface Checked {
  readonly mismatches: readonly string[]
}

/** A decoding stage that can tell a stream which ended without its own end (see `BodyDecoder.unterminated`). */
interface Unterminated {
  unterminated: boolean
}

/** A decoding stage that can tell bytes which came after its stream's end, not decoded (see `BodyDecoder.overrun`). */
interface Overrun {
  readonly after: Trailing | undefined
}

/**
 * Bytes that came after a coded stream's end: how many, and whether any is other than printable
 * ASCII and white space (`binary`). A cache's newline or HTML comment is text; a second stream
 * of any coding is binary (deflate and Brotli data is printable about one byte in three, see
 * `opensAsMarkup`; gzip and zlib open with a byte above 0x7e).
 */
export class Trailing {
  bytes = 0
  binary = false

  add(chunk: Uint8Array): void {
    this.bytes += chunk.length
    if (!this.binary) this.binary = !isText(chunk)
  }
}

/** Whether `bytes` are printable ASCII, tabs, line feeds and carriage returns only. */
export const isText = (bytes: Uint8Array): boolean =>
  bytes.every((c) => (c >= 0x20 && c <= 0x7e) || c === 0x09 || c === 0x0a || c === 0x0d)

/** A decoding stage whose stream comes in pieces that each end (see `BodyDecoder.endsOnce`): how many began. */
interface Pieces {
  readonly pieces: number
}

function isZlibHeader(head: Buffer): boolean {
  return (head[0] & 0x0f) === 8 && head[0] >> 4 <= 7 && ((head[0] << 8) | head[1]) % 31 === 0
}

/** An error as zlib's own: `Z_BUF_ERROR` (the data stops short) or `Z_DATA_ERROR` (it is wrong). */
function zlibError(code: 'Z_BUF_ERROR' | 'Z_DATA_ERROR', message: string): Error {
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
class GzipMembers extends Transform implements Unterminated, Checked, Pieces, Overrun {
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
