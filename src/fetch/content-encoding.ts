import type { TransformCallback, Transform as TransformStream } from 'node:stream'
import { ImgpullError } from '../errors.js'
import { sniffBinary, sniffCommon } from '../verify/magic.js'
import type { Checked, Overrun, Pieces, Trailing, Unterminated } from './decoding-stage.js'
import { AnyInflate, Brotli, isZlibHeader, ToItsEnd } from './deflate-brotli.js'
import { GzipMembers } from './gzip-members.js'
import { Transform, zlib } from './lazy-zlib.js'
import { ZSTD_MAGIC, Zstd } from './zstd.js'

export { codingsOf } from './judge.js'

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
 * The decoder of `coding`, or, where the body's first bytes (`head`) are a gzip, zlib or zstd
 * header under another label, the one they call for: `gzip` over zlib data (Twisted's gzip
 * encoder, twisted#6608; PHP's gzcompress under a gzip header; a server that says gzip and sends
 * deflate, jupp0r/prometheus-cpp#151) and `deflate` over a gzip member, as curl, wget2 and aria2
 * read the first and browsers read both (libhtp#137); a gzip member (1F 8B 08) or a zstd frame
 * (28 B5 2F FD, RFC 8878 §3.1.1) under any other label, `br` or `zstd` among them (a CDN's
 * precompressed `.gz` file served under the coding the client asked for, nfriedly/node-unblocker#243),
 * and zlib data under `zstd`, whose frames always open with that magic. Brotli has no magic, so
 * a `br` body is never taken for zlib data. Each checks its own checksum; a head that is none of
 * these is decoded by the label, and fails there if it must.
 */
function decoderFor(coding: string, head: Buffer | undefined): TransformStream {
  return (byMagic(coding, head) ?? DECODERS[coding]!)()
}

/** The decoder `head`'s magic calls for where it is not `coding`'s own (see `decoderFor`), or `undefined`. */
function byMagic(coding: string, head: Buffer | undefined): (() => TransformStream) | undefined {
  if (!head || head.length < 2) return undefined
  const gzipLabel = coding === 'gzip' || coding === 'x-gzip'
  const gzipMember = head[0] === 0x1f && head[1] === 0x8b && (coding === 'deflate' || head[2] === 8)
  if (!gzipLabel && gzipMember) return DECODERS.gzip
  if (coding !== 'zstd' && head.length >= 4 && head.readUInt32LE(0) === ZSTD_MAGIC && decodes('zstd'))
    return DECODERS.zstd
  if ((gzipLabel || coding === 'zstd') && isZlibHeader(head)) return DECODERS.deflate
  // gzip always opens so: bytes that do not are another coding with no magic of its own.
  if (gzipLabel && !(head[0] === 0x1f && head[1] === 0x8b)) return () => new BrotliOrRawDeflate()
  return undefined
}

/**
 * Bytes of a body tried as Brotli and as raw deflate (`BrotliOrRawDeflate`): a JPEG's Brotli
 * stream at quality 11 decoded to nothing from its first 512 bytes and to 3,668 from 4,096.
 */
const GUESS_BYTES = 4096

/**
 * A `gzip` body without gzip's magic (nor zlib's or zstd's, which `byMagic` reads first): Brotli
 * or raw deflate, neither with a magic of its own, under the label a server puts on every
 * compressed answer (a `.br` file served precompressed for the client's `gzip`; raw deflate
 * written without gzip's header and trailer). It failed `corrupt` at gzip's header. Now decoded as whichever of the two turns the body's first 4 KiB into
 * an image's first bytes (or text: a page is then refused for what it is); neither, as gzip, which
 * fails there as before (`incorrect header check`). Both decoders refuse all but their own data at
 * once (Brotli's padding and Huffman checks, deflate's block types).
 */
class BrotliOrRawDeflate extends ToItsEnd {
  constructor() {
    let flushing: object = {}
    super(
      GUESS_BYTES,
      (head) => {
        const z = zlib()
        const tries = [
          {
            make: (options?: object) => z.createBrotliDecompress(options),
            flush: { finishFlush: z.constants.BROTLI_OPERATION_FLUSH },
            sync: z.brotliDecompressSync,
          },
          {
            make: (options?: object) => z.createInflateRaw(options),
            flush: { finishFlush: z.constants.Z_SYNC_FLUSH },
            sync: z.inflateRawSync,
          },
        ]
        for (const { make, flush, sync } of tries) {
          let out: Buffer
          try {
            out = sync(head, flush)
          } catch {
            continue
          }
          if (!(sniffCommon(out) ?? sniffBinary(out) ?? opensAsText(out))) continue
          flushing = flush
          return make
        }
        return (options?: object) => z.createGunzip(options)
      },
      () => flushing,
    )
  }
}

/**
 * Whether a body's head reads as text, as an SVG (or an HTML page) is written, or a JSON or plain
 * error message in any language: after a UTF-8 byte order mark and white space, printable ASCII,
 * white space and whole UTF-8 sequences only (one cut at the head's end let be). No encoded stream
 * begins so: gzip and zstd open with binary magic numbers, and zlib, Brotli or raw deflate data
 * reads so about two bytes in five, never 32 in a row but by a chance of 1 in 10^12 (a shorter head
 * is a whole body too short to hold an encoded image). Text that is no markup holds 8 bytes at
 * least: a Brotli stream of nothing is one byte, `;` or `3`, an empty body as a compressor sends it.
 */
export function opensAsText(head: Uint8Array): boolean {
  let at = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0
  while (at < head.length && (head[at] === 0x20 || (head[at] >= 0x09 && head[at] <= 0x0d))) at++
  if (at === head.length || (head[at] !== 0x3c && head.length - at < 8)) return false
  while (at < head.length) {
    const c = head[at++]
    if (c >= 0x20 && c <= 0x7e) continue
    if (c === 0x09 || c === 0x0a || c === 0x0d) continue
    // A UTF-8 lead byte (no overlong two-byte form, nothing past U+10FFFF), then its continuations.
    const more = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1
    if (more < 0) return false
    for (const end = at + more; at < end && at < head.length; at++)
      if ((head[at] & 0xc0) !== 0x80) return false
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
   * PNG's signature) or as text does (an SVG's `<?xml` or `<svg`, a JSON or plain error message:
   * see `opensAsText`), which no gzip, zlib, zstd or Brotli stream can. Such a server labels stored
   * bytes with a coding it never applied (an S3 object uploaded with the wrong `Content-Encoding`,
   * an `AddEncoding` rule, PHP's output compression that labels an answer it never compressed,
   * curl#8928), also one imgpull cannot decode (`zstd` on an older Node, `compress`): curl, wget2
   * and aria2 save those bytes as they come, and so does imgpull, which then checks them as any
   * image. Decoding them would refuse a good image, or hide what an error message says.
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
    if (sniffCommon(head) ?? sniffBinary(head) ?? (opensAsText(head) || known)) {
      this.identity = true
      this.destroy()
      return this.#sink(head)
    }
    // A lone coding imgpull knows but this Node cannot decode (zstd before 22.15), over bytes
    // another one's magic names, is decoded as they are; a coding imgpull does not know is said.
    const [lone] = this.#codings
    const named = this.#codings.length === 1 && DECODERS[lone] !== undefined && byMagic(lone, head)
    if (this.#undecodable && !named) {
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
    if (sniffCommon(head) ?? sniffBinary(head) ?? opensAsText(head)) {
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
