import { createRequire } from 'node:module'
import type { TransformCallback, Transform as TransformStream } from 'node:stream'
import { ImgpullError } from '../errors.js'

export { codingsOf } from './judge.js'

// Required, not imported: the CLI bundle would hoist an import of these to its start, loading
// zlib in every run (~1.5 ms); this module itself loads with the first encoded body.
const load = createRequire(import.meta.url)
const zlib = load('node:zlib') as typeof import('node:zlib')
const { Transform } = load('node:stream') as typeof import('node:stream')

/**
 * Bodies a server sent with a `Content-Encoding` (RFC 9110 §8.4), decoded as they stream.
 *
 * imgpull asks for `Accept-Encoding: identity` (images are compressed already; an encoded body
 * cannot be resumed, since ranges count its encoded bytes), but servers encode anyway. Decoded:
 * `gzip` and `x-gzip`, `deflate` (zlib-wrapped as the RFC says, or raw, as some servers send it:
 * told from the first two bytes), `br`, and `zstd` where the running Node has it (22.15+); several
 * stacked (`gzip, br`: decoded in reverse order), up to 5, as curl allows. Decoding runs on
 * libuv's thread pool (zlib's streams), never on the event loop, and with back-pressure: the body
 * waits while decoded bytes wait to be checked and written.
 */

/** Most codings stacked on one body (curl's and urllib3's limit against decompression chains). */
const MAX_CODINGS = 5

const DECODERS: Record<string, (() => TransformStream) | undefined> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => new AnyInflate(),
  br: () => zlib.createBrotliDecompress(),
  zstd: (zlib as { createZstdDecompress?: () => TransformStream }).createZstdDecompress,
}

/** Why these codings cannot be decoded here, or `undefined` when they can. */
export function undecodable(codings: readonly string[]): string | undefined {
  if (codings.length > MAX_CODINGS)
    return `${codings.length} content codings stacked (at most ${MAX_CODINGS})`
  for (const coding of codings) {
    if (DECODERS[coding]) continue
    return coding === 'zstd'
      ? `zstd, which this Node (${process.version}) cannot decode (Node 22.15 or later can)`
      : `${coding}, an encoding imgpull does not decode`
  }
  return undefined
}

/**
 * Decodes one body: `write` each encoded chunk (a promise when the body must wait), then `end`;
 * decoded chunks go to `sink`, in order (a promise from it makes decoding wait). Rejects with a
 * `truncated` (the encoded data stops short) or `corrupt` (it is not valid data of its coding)
 * `ImgpullError`, or with what `sink` threw.
 */
export class BodyDecoder {
  readonly #first: TransformStream
  readonly #stages: TransformStream[]
  readonly #done: Promise<void>
  #failure: unknown

  /** `codings`: as `codingsOf` lists them (checked with `undecodable`); `shown`: the URL for messages. */
  constructor(
    codings: readonly string[],
    sink: (chunk: Buffer) => void | Promise<void>,
    readonly shown: string,
  ) {
    this.#stages = [...codings].reverse().map((coding) => DECODERS[coding]!())
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
    if (this.#failure !== undefined) throw this.#failure
    if (this.#first.write(chunk)) return
    return new Promise<void>((resolve, reject) => {
      this.#first.once('drain', resolve)
      this.#done.then(resolve, reject)
    })
  }

  /** The encoded body has ended: resolves once every decoded byte has gone to the sink. */
  end(): Promise<void> {
    this.#first.end()
    return this.#done
  }

  /** Abandon decoding (the transfer failed). */
  destroy(): void {
    for (const stage of this.#stages) stage.destroy()
  }

  #classify(error: unknown): ImgpullError {
    const code = (error as { code?: string }).code
    const why = (error as Error).message
    if (code === 'Z_BUF_ERROR') {
      return new ImgpullError('truncated', `${this.shown}: the encoded body ends early (${why})`, {
        retryable: true,
        cause: error,
      })
    }
    return new ImgpullError(
      'corrupt',
      `${this.shown}: the body does not decode as its Content-Encoding says (${why})`,
      {
        cause: error,
      },
    )
  }
}

/**
 * `deflate` as servers send it: RFC 9110 means the zlib format (RFC 1950), but some servers send
 * raw deflate (RFC 1951), as browsers also accept. A zlib stream starts with a header whose first
 * byte names method 8 and whose first two bytes, read big-endian, are a multiple of 31.
 */
class AnyInflate extends Transform {
  #inner: TransformStream | undefined
  #head = Buffer.alloc(0)
  #flushed: TransformCallback | undefined

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (!this.#inner) {
      this.#head = Buffer.concat([this.#head, chunk])
      if (this.#head.length < 2) {
        done()
        return
      }
      chunk = this.#head
      this.#inner = isZlibHeader(chunk) ? zlib.createInflate() : zlib.createInflateRaw()
      this.#inner.on('data', (data: Buffer) => {
        if (!this.push(data)) this.#inner!.pause()
      })
      this.#inner.on('error', (error) => this.destroy(error))
      this.#inner.on('end', () => this.#flushed?.())
    }
    if (this.#inner.write(chunk)) done()
    else this.#inner.once('drain', () => done())
  }

  override _read(size: number): void {
    this.#inner?.resume()
    super._read(size)
  }

  override _flush(done: TransformCallback): void {
    if (!this.#inner) {
      // Fewer than two bytes: too short to be either format.
      const inner = zlib.createInflateRaw()
      inner.on('error', (error) => done(error))
      inner.end(this.#head, () => done())
      return
    }
    this.#flushed = done
    this.#inner.end()
  }

  override _destroy(error: Error | null, done: (error: Error | null) => void): void {
    this.#inner?.destroy()
    done(error)
  }
}

function isZlibHeader(head: Buffer): boolean {
  return (head[0] & 0x0f) === 8 && head[0] >> 4 <= 7 && ((head[0] << 8) | head[1]) % 31 === 0
}
