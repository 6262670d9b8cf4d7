/**
 * The body step of a transfer: streamed into the part file, checked, decoded as it comes, and
 * judged by how it ended (body-end.ts); then what comes next: verify, or another request.
 */

import { unlink } from 'node:fs/promises'
import { errorCode, ImgpullError } from '../errors.js'
import type { ResolvedOptions } from '../options.js'
import { sizeText } from '../report/format.js'
import { isFatalLocal } from '../sinks/local-faults.js'
import { pixelLimit } from '../transform/spec.js'
import { quoted } from '../utils/printable.js'
import { decodedSizeAtLeast } from '../verify/decoded-size.js'
import { type FileCheck, HEAD_BYTES, RULE_OUT_BYTES } from '../verify/file-check.js'
import { looksLike } from '../verify/not-image.js'
import {
  type BodySoFar,
  bodyEnd,
  encodedLimit,
  invalidEof,
  lengthOfDecoded,
  QUIET_MS,
  quietEnds,
} from './body-end.js'
import { cacheHit } from './cache-hit.js'
import { bodyStalledAt, nothingResumed } from './classify.js'
import { BodyDecoder, zstdUnavailable } from './content-encoding.js'
import type { Body } from './exchange.js'
import {
  codedAs,
  codingsSay,
  cutThrough,
  namedImage,
  notUndone,
  overrunNote,
  sharePage,
  stallWords,
  statusProxyNote,
  tryNotUndone,
} from './failure-words.js'
import { http2Cut } from './http2-errors.js'
import {
  chunkedLast,
  codingsOf,
  LATER_OVERLAP,
  nextOverlap,
  RESUME_OVERLAP,
  unknownCodings,
} from './judge.js'
import { BodySize } from './large-bodies.js'
import { FLUSH_BYTES, PartFile, truncatePart } from './part-file.js'
import { send } from './send.js'
import {
  CodingEnded,
  FileChanged,
  header,
  NotJoined,
  type Receive,
  type Step,
  type Transfer,
  Undeclared,
} from './transfer.js'
import { chunkLeftAtClose, lastChunkAtClose, trailerRefused } from './undici-h1-parser.js'
import { crcMismatch, framed, verify } from './verify-step.js'
import { ZSTD_MAGIC } from './zstd.js'

/**
 * Most bytes of an HTML page in place of an image read for the image it names (see `namedImage`),
 * none of them kept: its first 64 KB (`HEAD_BYTES`) told what it is, and a page whose og:image
 * comes after a large inline script, style or SVG sprite (common in a web app's `<head>`) named
 * nothing there. Held to `--max-size` too; read on only while nothing is named.
 */
export const PAGE_BYTES = 1024 * 1024

/**
 * Parts of a file of unknown size (`206 bytes A-B/*`) one attempt asks for before giving up; so
 * too parts that each bring fewer new bytes than were asked again (see `nextOverlap`): a server
 * that doles out a byte per answer.
 */
const MAX_PARTS = 100

/**
 * imgpull's own end of a body that fell quiet where it may have ended (see `quietEnds`): judged as
 * the idle timeout is, whose code it carries, after a shorter wait.
 */
class QuietEnd extends Error {
  readonly code = 'UND_ERR_BODY_TIMEOUT'
  constructor(ms: number) {
    super(`no byte came for ${ms} ms past where the body may end`)
  }
}

/** imgpull's own end of a body at its range's end (see `Receive.rangeEnds`): the body is whole there. */
class RangeEnded extends Error {
  constructor() {
    super("the body's range ended before its Content-Length")
  }
}

/**
 * Stream the body into the part file at `decision.at`, checking every byte on the way. An encoded
 * body is decoded as it comes: its encoded bytes are counted against its length, its decoded
 * bytes are checked, hashed and written; it is never kept for a resume (see judge.ts), but a
 * resume's coded answer goes on from the bytes on disk once decoded (`decodedSplice`).
 */
export async function receive(t: Transfer, decision: Receive, tail: Buffer | undefined): Promise<Step> {
  const size = new BodySize()
  try {
    return await receiveBody(t, decision, tail, size)
  } finally {
    size.end()
  }
}

/** `receive`, its bytes counted in `size` as they come. */
async function receiveBody(
  t: Transfer,
  decision: Receive,
  tail: Buffer | undefined,
  size: BodySize,
): Promise<Step> {
  const r = new BodyReceiver(t, decision, tail, size)
  try {
    r.decoder = r.openDecoder()
  } catch (error) {
    r.exchange.abort(error)
    await r.file.close()
    await unlink(t.part).catch(() => {})
    throw error
  }
  try {
    try {
      await r.exchange.consume(r.take)
    } catch (error) {
      r.stopped(error)
    } finally {
      clearTimeout(r.quiet)
    }
    if (r.decoder) await r.endCoding(r.decoder)
    await r.judgeEnd()
  } catch (caught) {
    return r.failed(caught)
  }
  await r.file.close()
  return r.next()
}

/**
 * One body as it comes: each chunk counted (`take`), compared with the bytes on disk where a
 * resume asked for them again (`pastOverlap`), decoded where it is coded, then checked, gathered
 * and written (`keep`); then how it ended judged (`stopped`, `endCoding`, `judgeEnd`), a failure
 * said and what stays on disk settled (`failed`), and the next step named (`next`). Its state
 * lives in fields, its callbacks are made once a body: nothing is allocated per chunk.
 */
class BodyReceiver {
  readonly options: ResolvedOptions
  readonly shown: string
  readonly check: FileCheck
  readonly exchange: Body
  readonly file: PartFile
  readonly body: { at: number; encoded: boolean }
  /**
   * A resume's coded answer (see `judge`): its overlap is of the decoded bytes, compared as they
   * come out of the decoder; its bytes are never kept after it fails. It is said to continue the
   * file (`onBody`) only once it decoded past the overlap: one that does not decode to the bytes
   * on disk starts the file over, as a refused one does.
   */
  readonly decodedSplice: boolean
  /** Bytes of the body as sent (encoded, when it is). */
  received = 0
  /**
   * The body's first bytes, before `decision.at`: its last `tail.length` compared with `tail`, the
   * bytes on disk there; any before them (a 206 that starts earlier than asked) passed over.
   */
  readonly overlap: number
  /** Bytes of the overlap before those compared with `tail`. */
  readonly passed: number
  /** Bytes the decoder gave of a decoded splice. */
  decodedIn = 0
  /**
   * Whether this coded body from byte 0 turned out to be as it came (see `Transfer.asCame`): see
   * `settleAsCame`.
   */
  asCame = false
  /** Whether the head's width and height were held to the run's pixel limit (`pixelLimit`). */
  pixelsChecked = false
  /**
   * An HTML page in place of an image whose head named no image: its bytes after the head, read on
   * (never kept) for the image it names, up to `PAGE_BYTES` (see `readPage`).
   */
  page: { chunks: Buffer[]; bytes: number; looked: number } | undefined
  /** Whether the head was looked at once it held `RULE_OUT_BYTES`. */
  lookedAt: boolean
  /**
   * The chunks holding the last bytes of the file on disk (`RESUME_OVERLAP` of them, or all when
   * fewer): those before this body (`tail`), then its own. A continuation asks for them again.
   * Joined only then: joining them as each chunk came copied 4 KB a chunk, for every file.
   */
  readonly recent: Buffer[]
  recentBytes: number
  decoder: BodyDecoder | undefined
  /**
   * The decoded size a coded body must reach at its coding's own end to be whole there, where its
   * transfer may go on past that end: the `Content-Length` it falls short of (the decoded size,
   * from a server that measured the file before compressing it), or the one it was asked again
   * to be read past (see `readPastLength`).
   */
  readonly decodedLength: number | undefined
  /** The body was ended at its coding's own end (see `endAtOwnEnd`). */
  endedAtOwnEnd: CodingEnded | undefined
  /** Set where the body was ended at its range's end (see `inRange`). */
  endedAtRange: RangeEnded | undefined
  /** The body reached its range's end, to be ended there (see `endAtRange`). */
  atRangeEnd = false

  /** Its length is a 206's range's, no `Content-Length` beside it (chunked, or read to the close). */
  get rangeLength(): boolean {
    const head = this.t.head!
    return head.statusCode === 206 && head.headers['content-length'] === undefined
  }
  /** An encoded body that stopped short of its length: the length may be of the decoded body (see `lengthOfDecoded`). */
  shortOfLength: unknown
  /** The decoder was ended (see `endCoding`). */
  ended = false
  /** An encoded body ended short of its length, and decoded to it (see `lengthOfDecoded`). */
  decodedWhole = false
  /** What ended an encoded body without a length: the failure, unless its coding marked its end (see `endedUnframed`). */
  endedBy: unknown
  /** The timer that ends the body after `QUIET_MS` without a byte, where it may have ended (see `quietEnds`). */
  quiet: NodeJS.Timeout | undefined
  /** What `waitQuiet` judges the body by (see `quietEnds`). */
  soFar: BodySoFar | undefined

  constructor(
    readonly t: Transfer,
    readonly decision: Receive,
    readonly tail: Buffer | undefined,
    readonly size: BodySize,
  ) {
    this.options = t.options
    this.shown = t.shown + t.via
    this.check = t.check!
    this.exchange = t.exchange!
    this.file = new PartFile(t.part, decision.at)
    t.unterminated = false
    t.overrun = undefined
    t.closedEarly = false
    t.codingEnded = false
    t.codingMarked = false
    t.endedAtLength = false
    t.stalled = undefined
    this.body = { at: decision.at, encoded: codingsOf(t.head!.headers['content-encoding']).length > 0 }
    t.body = this.body
    this.decodedSplice = decision.decode !== undefined && decision.at > 0
    if (!this.decodedSplice) this.announce()
    this.overlap = decision.overlap ?? 0
    this.passed = this.overlap - (tail?.length ?? 0)
    this.lookedAt = this.check.format !== undefined
    this.recent = decision.at > 0 && tail ? [tail] : []
    this.recentBytes = this.recent[0]?.length ?? 0
    // A resume's coded 206 read past its length (see `next`): whole at the range's decoded end.
    this.decodedLength =
      decision.at === 0
        ? (decision.length ?? (t.readPastLength ? t.pastLength : undefined))
        : t.readPastLength
          ? decision.decodedTotal
          : undefined
  }

  /** Tell the caller the body is taken (see `DownloadContext.onBody`). */
  announce(): void {
    const { t, decision } = this
    t.ctx.onBody?.(
      decision.at,
      !decision.decode || decision.at > 0
        ? (t.unresumable ?? (decision.at === 0 ? t.startedOver : undefined))
        : t.undeclared
          ? `the server sent it as ${t.undeclared} data (no Content-Encoding named), which a range cannot continue (it counts encoded bytes)`
          : this.body.encoded
            ? `the server sent it ${decision.decode.join(', ')}-encoded, which a range cannot continue (it counts encoded bytes)`
            : // A transfer coding alone: a range would count the decoded bytes, but imgpull keeps none of a coded body.
              `the server sent it with Transfer-Encoding ${decision.decode.join(', ')}, and imgpull resumes no coded body`,
      decision.length,
    )
  }

  /** Bytes of the body past the overlap: the file's next ones. */
  beyond(): number {
    return Math.max(0, (this.decodedSplice ? this.decodedIn : this.received) - this.overlap)
  }

  /**
   * `chunk`, the body's bytes from its byte `from` on, without those of the overlap, which must
   * equal the bytes on disk there; `undefined` when it is all overlap.
   */
  pastOverlap(chunk: Buffer, from: number): Buffer | undefined {
    const { overlap, passed, tail } = this
    if (from >= overlap) return chunk
    const n = Math.min(chunk.length, overlap - from)
    const start = Math.max(from, passed)
    if (tail && start < from + n) {
      const onDisk = tail.subarray(start - passed, from + n - passed)
      if (!chunk.subarray(start - from, n).equals(onDisk))
        throw new FileChanged(
          this.shown,
          this.decision.at,
          unknownCodings(this.t.head!.headers),
          this.t.known.unproven === true,
        )
      if (from + n === overlap) this.t.ctx.onTailChecked?.()
    }
    return n === chunk.length ? undefined : chunk.subarray(n)
  }

  /** What the body's first bytes are, thrown when not an image; `ended`: the body is all in. */
  async identify(ended = false): Promise<void> {
    const { t, check, decision, shown } = this
    if (await check.identify()) return
    // Nothing marked the end (a close, a stream reset): the start of an image, cut, not another
    // thing; so is nothing at all out of a gzip stream that ended without its end.
    const cutShort = check.mayBeginImage() || (t.unterminated && check.bytes === 0)
    if (ended && !framed(t) && cutShort) {
      throw new ImgpullError(
        'truncated',
        `${shown}: the connection ended after ${this.received} bytes, before the image could be told`,
        { retryable: true },
      )
    }
    // The server's words, bounded and shown: a control character in them would act on the terminal.
    const type = quoted(header(t.head!.headers, 'content-type') ?? 'no content type')
    // Nothing at all, its end marked: no page or text said what went wrong, and an edge that served
    // an empty object for a moment serves the file to the next request (a passing fault, retried).
    if (ended && this.received === 0)
      throw new ImgpullError(
        'empty-body',
        `${shown} sent a ${t.head!.statusCode} with an empty body (${type})`,
        { retryable: true },
      )
    // So is a coded stream that reached its own end having decoded to nothing: a compressor that
    // encodes an empty answer too (netty's HttpContentCompressor sent 26 bytes of gzip for none,
    // netty#23; vapor#3364 8 of deflate). It was `not-an-image`, never retried.
    if (ended && t.codingEnded && check.bytes === 0 && decision.decode)
      throw new ImgpullError(
        'empty-body',
        `${shown} sent a ${t.head!.statusCode} with an empty body (${type}), ${decision.decode.join(', ')}-encoded in ${this.received} bytes`,
        { retryable: true },
      )
    // The codings the answer names (after the one its bytes named, see `Undeclared`, listed first).
    const named = decision.decode?.slice(t.undeclared ? 1 : 0)
    const encoding = `${named?.length && !this.decoder?.identity ? `, ${named.join(', ')}-encoded` : ''}${t.undeclared ? `, ${t.undeclared} data no Content-Encoding names (decoded)` : ''}`
    // gzip data that was not decoded: an .svgz, or a coding the server did not name (or misnamed).
    // Else what the body looks like: an HTML page's title often says why (a 404, a bot check).
    const te = t.head!.headers['transfer-encoding']
    const kind = looksLike(check.head, Array.isArray(te) ? te.join(', ') : te)
    // zstd's frame magic (28 B5 2F FD, RFC 8878 §3.1.1), gzip's sibling.
    const zstdFramed = !decision.decode && check.head.length >= 4 && check.head.readUInt32LE(0) === ZSTD_MAGIC
    const noZstd = zstdFramed ? zstdUnavailable() : undefined
    // Bytes no image begins with: decoded on a second request, when it names no coding (see
    // `Undeclared`); zstd where this Node decodes it, else named for what it is, and what to do.
    // zlib's header (RFC 1950 §2.2) with a 32 KB window and no dictionary, as every zlib writes it:
    // binary (`x^`, the fourth, reads as text, and text is not taken for it).
    const zlibFramed = check.head[0] === 0x78 && [0x01, 0x9c, 0xda].includes(check.head[1]!)
    const undeclared = check.gzipped
      ? 'gzip'
      : zlibFramed
        ? 'deflate'
        : zstdFramed && !noZstd
          ? 'zstd'
          : undefined
    // So is what the named codings decoded to: a body compressed twice and labelled once (a proxy or
    // CDN that gzips an answer gzip'd already, the origin's label passed on as it was).
    if (undeclared && !this.decoder?.identity && decision.at === 0 && !t.undeclared)
      throw new Undeclared(shown, undeclared)
    // Bytes like nothing in particular, under a coding imgpull does not know (`xz`, `x-bzip2, gzip`):
    // that coding, never undone, is why (see `unknownCodings`).
    if (!kind && !check.gzipped && !zstdFramed)
      notUndone(t, `its body is no image${encoding && `, its ${decision.decode!.join(', ')} undone`}`)
    // A sharing site's page for the image (a link copied from the address bar): the link that gives the file.
    // Else the image the page itself names (its og:image...), on any host: named, never fetched.
    const html = kind !== undefined && /^(?:an )?HTML\b/.test(kind)
    const share = html ? (sharePage(t) ?? namedImage(t, this.pageHead())) : undefined
    // A page of no title and no words is said once, by the hint that begins `an HTML page, not the
    // file`: it read `44 bytes: an HTML page; an HTML page, not the file: ...`.
    const what = check.gzipped
      ? ' (gzip data no Content-Encoding names: an .svgz, or a misconfigured server)'
      : zstdFramed
        ? ` (zstd-compressed data no Content-Encoding names: a file stored compressed, or a misconfigured server${noZstd ? `; zstd, ${noZstd}` : ''})`
        : kind && !(kind === 'an HTML page' && share?.startsWith(kind))
          ? `: ${quoted(kind, 120)}`
          : ''
    // A page whose head named nothing: its next bytes are read for the mark (see `PAGE_BYTES`).
    if (html && !share && !ended && this.mayReadPage()) {
      this.page ??= { chunks: [], bytes: 0, looked: 0 }
      return
    }
    // Through a proxy, a page in place of an image may be the proxy's (a filter's block page).
    throw new ImgpullError(
      'not-an-image',
      `not an image: ${shown} sent ${type}${encoding}, ${this.received} bytes${what}${share ? `; ${share}` : ''}${statusProxyNote(t, t.head!.headers)}`,
    )
  }

  /**
   * Whether this coded body from byte 0 turned out to be as it came (see `Transfer.asCame`). The
   * first time it is found so, its validators are made the file's and its bytes plain ones, kept
   * for a resume when cut: a query that also settles, hence its name.
   */
  settleAsCame(): boolean {
    const { t } = this
    if (this.asCame || this.decision.at > 0 || !this.decoder?.identity || t.asCame === undefined)
      return this.asCame
    t.known = t.asCame
    t.asCame = undefined
    t.recorded = false
    this.body.encoded = false
    this.asCame = true
    return true
  }

  // An image over --max-pixels is refused by its header: its head says so, and the rest of a body
  // of hundreds of MB need not come first. Only by a size libvips cannot read smaller (see
  // `decodedSizeAtLeast`), so nothing the pool would take is refused.
  async holdPixels(): Promise<void> {
    this.pixelsChecked = true
    const limit = pixelLimit(this.options.transform)
    if (limit === undefined) return
    const size = await decodedSizeAtLeast(this.check.head, this.check.format!.ext)
    if (size && size.width * size.height > limit) {
      const { width, height } = size
      throw new ImgpullError(
        'too-many-pixels',
        `${this.shown}: ${width}x${height} is more than ${limit} pixels (its header says so: not fetched further)`,
      )
    }
  }

  /** What `keep` left to wait for: the checks, the head told, the pixels held, the part flushed. */
  async settle(busy: void | Promise<void>): Promise<void> {
    const { check, file } = this
    if (busy) await busy
    if (!check.format && check.headBytes >= HEAD_BYTES) await this.identify()
    if (check.format && !this.pixelsChecked) await this.holdPixels()
    if (check.format && file.pendingBytes >= FLUSH_BYTES) {
      if (!this.decision.decode || this.settleAsCame()) this.t.record()
      await file.flush(false)
    }
  }

  /** Whether an HTML page's bytes past those read may still be read for its image (`PAGE_BYTES`). */
  mayReadPage(): boolean {
    const read = this.check.headBytes + (this.page?.bytes ?? 0)
    return this.decision.at === 0 && !this.decodedSplice && read < Math.min(PAGE_BYTES, this.options.maxSize)
  }

  /** The page's bytes read so far: its head, then what `readPage` took. */
  pageHead(): Buffer {
    const { page, check } = this
    return page?.chunks.length ? Buffer.concat([check.head, ...page.chunks]) : check.head
  }

  /**
   * A chunk of a page past its head (see `page`): held, never written; the page looked at again
   * each 64 KB, failing as not-an-image once it names an image or reaches `PAGE_BYTES`.
   */
  readPage(chunk: Buffer): void | Promise<void> {
    const page = this.page!
    page.chunks.push(chunk)
    page.bytes += chunk.length
    if (page.bytes - page.looked < HEAD_BYTES && this.mayReadPage()) return
    page.looked = page.bytes
    return this.identify()
  }

  /** Each byte of the file: checked, gathered; a promise only when the body must wait. */
  readonly keep = (chunk: Buffer): void | Promise<void> => {
    if (this.page) return this.readPage(chunk)
    const { check, file, recent } = this
    if (check.bytes + chunk.length > this.options.maxSize) {
      throw new ImgpullError(
        'too-large',
        `${this.shown} is over --max-size ${sizeText(this.options.maxSize)}`,
      )
    }
    recent.push(chunk)
    this.recentBytes += chunk.length
    while (this.recentBytes - recent[0]!.length >= RESUME_OVERLAP) this.recentBytes -= recent.shift()!.length
    const busy = check.update(chunk)
    file.push(chunk)
    if (this.decoder) this.endAtOwnEnd()
    if (!this.lookedAt && check.headBytes >= RULE_OUT_BYTES) {
      this.lookedAt = true
      // Bytes no image begins with: said now, not after 64 KB (or never, from an endless stream).
      if (check.ruledOut()) return Promise.resolve(busy).then(() => this.identify())
    }
    if (busy || file.pendingBytes >= (check.format ? FLUSH_BYTES : HEAD_BYTES)) return this.settle(busy)
  }

  /**
   * End the body where its coded stream reached its own end (gzip's trailer, its size checked)
   * having decoded to exactly `decodedLength`: it is whole there, as at a close, and the server
   * keeping the connection open (or sending more) waited for the idle timeout before it was
   * judged, each such file; aria2c and wget2 stop there. The connection goes with the exchange:
   * what the server sends after it is not read as the next answer.
   */
  readonly endAtOwnEnd = (): void => {
    const { decodedLength, decision } = this
    if (
      this.endedAtOwnEnd ||
      !this.decoder?.atOwnEnd ||
      decodedLength === undefined ||
      this.check.bytes !== decodedLength
    )
      return
    if (decision.length !== undefined && this.received >= decision.length) return
    this.endedAtOwnEnd = new CodingEnded()
    this.exchange.abort(this.endedAtOwnEnd)
  }

  /**
   * Arm (or push back) the short wait that ends the body where it may have ended, or disarm it
   * (see `quietEnds`): checked as each chunk comes, so a byte more starts the wait again.
   */
  waitQuiet(): void {
    const { t, decision } = this
    // Made at the first chunk (the decoder is open by then), its count moved on at each: the rest
    // holds for the whole body.
    this.soFar ??= {
      received: 0,
      length: decision.length,
      pastLength: t.readPastLength ? t.pastLength : undefined,
      seen: t.seen?.bytes,
      decoded: this.decoder !== undefined,
      at: decision.at,
    }
    this.soFar.received = this.received
    const ends = quietEnds(this.soFar)
    if (!ends) {
      if (this.quiet) clearTimeout(this.quiet)
      this.quiet = undefined
      return
    }
    if (this.quiet) {
      this.quiet.refresh()
      return
    }
    const ms = Math.min(QUIET_MS, this.options.idleTimeout)
    this.quiet = setTimeout(() => this.exchange.abort(new QuietEnd(ms)), ms)
  }

  /** A decoded splice's bytes out of the decoder: past the overlap, kept; the body announced once past it. */
  readonly keepSpliced = (chunk: Buffer): void | Promise<void> => {
    const from = this.decodedIn
    this.decodedIn += chunk.length
    const rest = this.pastOverlap(chunk, from)
    if (rest && from <= this.overlap) this.announce()
    return rest && this.keep(rest)
  }

  /** The decoder of a coded body (see `decision.decode`), `undefined` for a plain one. */
  openDecoder(): BodyDecoder | undefined {
    const { t, decision, shown } = this
    const decoder = decision.decode
      ? t.undeclared
        ? new BodyDecoder(
            decision.decode,
            this.keep,
            shown,
            `the ${t.undeclared} its first bytes announce (no Content-Encoding names one)`,
          )
        : new BodyDecoder(
            decision.decode,
            this.decodedSplice ? this.keepSpliced : this.keep,
            shown,
            codingsSay(t.head!.headers),
          )
      : undefined
    if (decoder) {
      decoder.onOwnEnd = this.endAtOwnEnd
      // A splice decodes the range only, from the overlap's first byte.
      decoder.ownEndAt =
        this.decodedLength === undefined || !this.decodedSplice
          ? this.decodedLength
          : this.decodedLength - (decision.at - this.overlap)
      // A resume's answer that begins with the bytes on disk came as it is, whatever it is labelled.
      if (this.decodedSplice && this.passed === 0) decoder.asCame = this.tail
    }
    return decoder
  }

  /** Each chunk of the body as it arrives: counted, then kept (or decoded first). */
  readonly take = (whole: Buffer): void | Promise<void> => {
    const from = this.received
    const chunk = this.inRange(whole, from)
    const received = from + chunk.length
    this.received = received
    this.size.grew(received)
    this.t.ctx.onBytes?.(chunk.length)
    const decoder = this.decoder
    this.waitQuiet()
    if (!decoder) {
      // The bytes asked again are compared before the body is ended at its range's end: bytes
      // that are not the file's fail so. Ended first, they were never compared, the body taken
      // for a whole one that brought nothing, and the bytes on disk judged as the file.
      const rest = this.pastOverlap(chunk, from)
      if (this.atRangeEnd) this.endAtRange()
      return rest && this.keep(rest)
    }
    if (this.atRangeEnd) this.endAtRange()
    for (const hash of this.t.encodedDigest?.hashes.values() ?? []) hash.update(chunk)
    // Encoded bytes that decode to little or nothing (bytes after the coding's end, empty blocks)
    // are held to --max-size too, with the room a coding adds to data it cannot compress.
    const { maxSize } = this.options
    if (!decoder.identity && received > encodedLimit(maxSize)) {
      throw new ImgpullError(
        'too-large',
        `${this.shown}: its encoded body runs past ${encodedLimit(maxSize)} bytes, more than any coding of a file within --max-size ${maxSize} takes`,
      )
    }
    return decoder.write(chunk)
  }

  /**
   * `chunk`, from the body's byte `from`, without the bytes past the range of a 206 its
   * Content-Length overstates (see `Receive.rangeEnds`); the body ended once the range is in. So
   * too a 206 of plain bytes without a Content-Length (chunked, or read to the close) once a byte
   * past its range comes: a range handler that reads on to its next 4096-byte block
   * (sabre-io/http#134) or past the range's end (diversen/http-send-file#23). Each resume so
   * answered failed (`got 174113 of 174096 bytes`, as `truncated`) and was dropped, and behind a
   * link that cuts every whole answer the file never finished. Such a body is ended as its range's
   * last byte comes, not at the close: one whose connection stays open after it (a handler that
   * writes the range and neither closes nor ends a chunked body) waited out `--idle-timeout` first.
   */
  inRange(chunk: Buffer, from: number): Buffer {
    const { decision } = this
    const { length } = decision
    if (length === undefined || from + chunk.length < length) return chunk
    const unframed = !this.decoder && this.rangeLength
    if (!decision.rangeEnds && !unframed) return chunk
    this.atRangeEnd = true
    return chunk.subarray(0, Math.max(0, length - from))
  }

  /** End the body at its range's end (see `inRange`), once the chunk that reached it was taken. */
  endAtRange(): void {
    this.endedAtRange ??= new RangeEnded()
    this.exchange.abort(this.endedAtRange)
  }

  /**
   * The failure of a body cut (closed, reset) short of its length, or stalled past the idle
   * timeout, said so: where it stopped, of how many bytes.
   */
  cutFailure(error: unknown): unknown {
    const { t, decision, shown, received } = this
    if (t.cancel.aborted) return error
    const networkCut =
      !(error instanceof ImgpullError) &&
      !isFatalLocal(error) &&
      (error as { code?: string } | null)?.code !== 'UND_ERR_BODY_TIMEOUT'
    // A resume whose answer ended or stalled before a byte past those on disk (see `nothingResumed`).
    const nothing = decision.at > 0 && this.beyond() === 0 && !isFatalLocal(error)
    if (networkCut && decision.length !== undefined && received < decision.length) {
      // A CDN's stored copy cut short (an edge that cached a partial fetch) comes cut again to
      // every request it answers: the cache is named, as it, not the origin, holds the cut.
      const cached = t.head ? cacheHit(t.head.headers) : undefined
      return new ImgpullError(
        'truncated',
        `${shown}${cutThrough(t)}: ${http2Cut(error) ?? 'connection closed'} after ${decision.at + this.beyond()} of ${decision.total ?? decision.length} bytes${cached ? ` of a cache's stored copy (${cached})` : ''}`,
        { retryable: true, cause: error, resumed: nothing },
      )
    }
    // Over HTTP/2 a body without a length ends at END_STREAM alone (RFC 9113 §8.1): one the
    // server's reset or GOAWAY cut is said so, and where, as one with a length is; Node's words
    // ("Stream closed with error code NGHTTP2_CANCEL") named neither, and a REFUSED_STREAM after
    // the head was called "refused unprocessed".
    const h2 = networkCut && t.head?.http2 === true ? http2Cut(error) : undefined
    if (h2) {
      return new ImgpullError(
        'truncated',
        `${shown}${cutThrough(t)}: ${h2CutWords(h2, decision.at + this.beyond(), received, decision.length, decision.total)}`,
        { retryable: true, cause: error, resumed: nothing },
      )
    }
    const left = chunkLeftAtClose(this.exchange.socket)
    // A chunk-size line claiming more than --max-size allows (2^53 + 1 bytes, cut a few KB in) is
    // the server's own word that the file is past the limit, as a Content-Length of that size is:
    // refused at once, not retried as a passing cut (imgpull read a few KB at each of 3 attempts).
    const coded = this.decoder !== undefined && !this.decoder.identity
    const limit = coded ? encodedLimit(this.options.maxSize) : this.options.maxSize
    const sofar = coded ? received : decision.at + this.beyond()
    if (networkCut && left !== undefined && BigInt(sofar) + left > BigInt(limit)) {
      return new ImgpullError(
        'too-large',
        `${shown}: its chunk-size line claims ${left} bytes more than came (after ${sofar} bytes), past --max-size ${this.options.maxSize}${coded ? ' (as encoded)' : ''}; the connection closed inside that chunk`,
        { cause: error },
      )
    }
    if (networkCut && left !== undefined) {
      return new ImgpullError(
        'truncated',
        `${shown}${cutThrough(t)}: connection closed inside a chunk, ${left} bytes short of its end, after ${decision.at + this.beyond()} bytes`,
        { retryable: true, cause: error, resumed: nothing },
      )
    }
    if (errorCode(error) === 'UND_ERR_BODY_TIMEOUT') {
      if (nothing) nothingResumed(error)
      bodyStalledAt(error, stallWords(decision.at, this.beyond(), decision.total ?? decision.length))
    }
    return error
  }

  /** The body stopped with `error`: noted as how it ended (see `bodyEnd`), or thrown as the failure. */
  stopped(error: unknown): void {
    const { t, exchange } = this
    if (error === this.endedAtRange && !t.cancel.aborted) return
    const end = bodyEnd({
      code: errorCode(error),
      invalidEof: invalidEof(error),
      aborted: t.cancel.aborted,
      received: this.received,
      length: this.decision.length,
      rangeLength: this.rangeLength,
      http2: t.head!.http2 === true,
      chunked: chunkedLast(t.head!.headers),
      lastChunk: lastChunkAtClose(exchange.socket),
      badTrailer: trailerRefused(exchange.socket),
      insideChunk: chunkLeftAtClose(exchange.socket) !== undefined,
      decoded: this.decoder !== undefined,
      ownEnd: error === this.endedAtOwnEnd,
    })
    if (end === 'failed') throw error
    if (end === 'short') this.shortOfLength = error
    else if (end === 'stalled') t.stalled = error
    else if (end === 'unframed') this.endedBy = error
    else if (end === 'closed-early') t.closedEarly = true
  }

  /** A coded body's end: its decoder ended, and whether its coding marked where the body ends. */
  async endCoding(decoder: BodyDecoder): Promise<void> {
    const { t, decision, check, shown } = this
    // An encoded body that ended short of its length is truncated, whatever its decoded part
    // shows, unless the length is that of the decoded body (see `lengthOfDecoded`).
    // A 206's range, without a Content-Length, is its length, and may count the decoded bytes
    // (see `judge`): the coded body, framed by its chunks or a close, then ends short of it or
    // past it (an image gzip makes no smaller), and is whole when it decoded to it.
    if (
      decision.length !== undefined &&
      (this.received < decision.length || (this.rangeLength && this.received > decision.length))
    ) {
      const length = decision.length
      let codingEnded = false
      // Cut short of it (`shortOfLength`), or ended cleanly where a 206's range is its length,
      // or ended cleanly short of it: an HTTP/2 stream the server reset with NO_ERROR, which Node
      // ends as if END_STREAM had come (see undici-h2.ts `failResetUnended`). A gzip'd image whose
      // length is its decoded size so reset failed as `truncated` on every attempt.
      this.ended = true
      const whole = await decoder.end().then(
        () => {
          // Or it was not coded at all (a coding named, not applied): plain bytes.
          codingEnded = !decoder.unterminated
          return lengthOfDecoded(decoder, check.bytes, length)
        },
        () => false,
      )
      this.decodedWhole = whole
      // Its coded stream ended (gzip's trailer, its CRC-32 and size checked; Brotli's last block),
      // or its bytes were never coded, short of the length: judged as plain bytes short of theirs
      // are (see `verify`), since the
      // length may count a byte or two more than the server sends (an off-by-one).
      if (!whole && codingEnded && this.shortOfLength !== undefined)
        t.cut = this.cutFailure(this.shortOfLength)
      // Cut or stalled as it was: the close or the timeout is the failure, as for any body.
      else if (!whole)
        throw (
          this.shortOfLength ??
          new ImgpullError('truncated', `${shown}: got ${this.received} of ${decision.length} bytes`, {
            retryable: true,
          })
        )
    }
    // Every byte of its length came, and its content coding had not ended there (no gzip
    // trailer, no last Brotli block): the length may be the decoded size (see `endedAtLength`).
    const atLength =
      this.body.encoded &&
      t.head!.http2 !== true &&
      decision.length !== undefined &&
      this.received === decision.length
    // No byte at all: nothing was encoded, so nothing was cut in the coding (the empty body is judged below).
    if (this.received > 0 && !this.ended)
      await decoder.end().catch((error: unknown) => {
        if (atLength && (error as ImgpullError).code === 'truncated') t.endedAtLength = true
        if (t.endedAtLength) t.pastLength = decision.length
        throw error
      })
    t.unterminated = decoder.unterminated
    t.overrun = overrunNote(decoder.overrun)
    if (atLength && t.unterminated) t.endedAtLength = true
    if (t.endedAtLength) t.pastLength = decision.length
    // A coded stream that reached its own end marks where the body ends, whatever the connection
    // did after it: a close, a last chunk that never came, a stall on a connection kept open, an
    // HTTP/2 stream without a length.
    t.codingEnded = this.received > 0 && !decoder.identity && !decoder.unterminated
    // Where gzip members or zstd frames followed one another, the last one's end is no more
    // the body's than the others' were: a cut between two of them ends as cleanly.
    t.codingMarked = t.codingEnded && decoder.endsOnce && t.overrun === undefined
    if (this.endedBy !== undefined && !t.codingMarked) throw this.endedBy
    this.settleAsCame()
    if (t.codingMarked) {
      t.closedEarly = false
      t.stalled = undefined
    }
    if (decoder.checksumMismatch !== undefined) crcMismatch(t, decoder.checksumMismatch)
    // A 206 of all of a coded file whose range counts the decoded bytes (see `decodedTotal`).
    const total = decision.decodedTotal
    if (
      this.decodedSplice &&
      total !== undefined &&
      (t.codingEnded ? check.bytes !== total : check.bytes > total)
    )
      throw new ImgpullError(
        'bad-range',
        `${shown}: unusable partial answer: ${codedAs(t)}, its Content-Range ending at byte ${total - 1}, and decodes to bytes up to ${check.bytes - 1}`,
        { retryable: true },
      )
    if (total !== undefined && t.codingEnded && check.bytes !== total)
      throw new ImgpullError(
        'bad-range',
        `${shown}: unusable partial answer: its Content-Range counts ${total} bytes, neither the ${this.received} sent (its Content-Length) nor the ${check.bytes} they decode to`,
        { retryable: true },
      )
  }

  /** The body is in: its first bytes told, when they were not yet, and its bytes held or written. */
  async judgeEnd(): Promise<void> {
    const { t, decision, check, file } = this
    // Short of its length, a body is cut, whatever its first bytes show (an HTTP/2 stream can end so).
    const short = !this.decoder && decision.length !== undefined && this.received < decision.length
    // A page read on past its head is one however it ended: said with what it named.
    if (this.page) await this.identify(true)
    if (!check.format && !short) {
      // Stalled before its first bytes could be told apart: the stall is the failure.
      if (t.stalled !== undefined && !(await check.identify()) && check.mayBeginImage()) throw t.stalled
      await this.identify(true)
    }
    if (t.ctx.hold && decision.at === 0 && !decision.more) t.held = file.take()
    // Held, never written: an older part would stay behind (a written one truncates it).
    if (t.held && t.partMayExist) await unlink(t.part).catch(() => {})
    if (!t.held) await file.flush(true)
  }

  /**
   * The body failed with `caught`: what of it stays on disk for a resume, and the failure, said
   * where it stopped; `verify` when it stopped short of its length as an image whose structure
   * may show its end.
   */
  async failed(caught: unknown): Promise<Step> {
    const { t, decision, check, file, exchange, decoder, shown } = this
    // A page read on past its head (see `page`) and cut there, or stalled: a page all the same,
    // not a passing fault to retry; said with what it named.
    if (this.page && !isFatalLocal(caught) && (!(caught instanceof ImgpullError) || caught.retryable))
      caught = await this.identify(true).then(
        () => caught,
        (page: unknown) => page,
      )
    // Bytes the codings imgpull knows do not decode, beside one it does not know: that one is why.
    const error =
      (caught as ImgpullError | undefined)?.code === 'corrupt' && decoder
        ? (tryNotUndone(t, (caught as Error).message.replace(`${shown}: `, '')) ?? caught)
        : caught
    exchange.abort(error)
    decoder?.destroy()
    const tooLarge = error instanceof ImgpullError && error.code === 'too-large'
    // Keep a prefix that is known to be an image on disk for a resume; anything else is worthless.
    // A body cut before its head was sniffed (under HEAD_BYTES) may still show what it is.
    // A decoded splice cut on its way (closed, reset, stalled), past its overlap and not past its
    // range: what it decoded to are the file's next bytes, as a plain body's are.
    const cutSplice =
      this.decodedSplice &&
      this.beyond() > 0 &&
      check.bytes <= (decision.decodedTotal ?? check.bytes) &&
      !(error instanceof ImgpullError) &&
      !isFatalLocal(error)
    const resumable =
      !tooLarge &&
      (!decoder || cutSplice || this.settleAsCame()) &&
      (check.format ?? (await check.identify().catch(() => undefined))) !== undefined
    if (resumable) {
      t.record()
      await file.flush(true).catch(() => {})
    }
    await file.close()
    // A decoded splice that failed otherwise (its coding or range wrong, its overlap not the
    // bytes on disk): none of its bytes are kept, those on disk before it are.
    if (!resumable && this.decodedSplice && !tooLarge) {
      await truncatePart(t.part, decision.at)
      t.record()
      // Bytes its coding's label does not fit: no retry can join them, the file starts over.
      const code = (error as ImgpullError | undefined)?.code
      // Its own checksum missed (gzip's CRC-32, zlib's Adler-32, zstd's): bytes of this answer
      // changed on the way, not the bytes on disk, which its first ones matched. No file was
      // joined: the next attempt resumes from them (they were dropped, the file started over).
      // Once: where an earlier attempt's body missed a checksum too (a server whose gzip writes a
      // wrong CRC every time, okhttp#4850), the file starts over, its one verdict from the whole.
      if (code === 'digest-mismatch' && t.mismatched === undefined) {
        t.joined = false
        t.known = { ...t.known, mismatched: t.known.mismatched ?? 'decoded-splice' }
        t.recorded = false
        t.record()
      }
      if (code === 'corrupt' || code === 'unsupported-encoding')
        throw new NotJoined(
          shown,
          `${codedAs(t)}, and does not decode to bytes of the file (${(error as Error).message.replace(`${shown}: `, '')})`,
        )
    } else if (!resumable) await unlink(t.part).catch(() => {})
    // The connection ended (reset, closed) short of the length; a body that stalled until the idle
    // timeout was not cut, and is told as the timeout it is.
    const networkCut =
      !(error instanceof ImgpullError) &&
      !isFatalLocal(error) &&
      (error as { code?: string } | null)?.code !== 'UND_ERR_BODY_TIMEOUT'
    const short =
      ((decision.length !== undefined && this.received < decision.length) ||
        chunkLeftAtClose(exchange.socket) !== undefined) &&
      !t.cancel.aborted
    const failure = this.cutFailure(error)
    // Short of its length, but kept on disk as an image: its structure may show its end, a length
    // the server overstates (see `verify`).
    if (short && resumable && (networkCut || errorCode(error) === 'UND_ERR_BODY_TIMEOUT')) {
      t.cut = failure
      return verify
    }
    throw failure
  }

  /**
   * Whether this coded body's transfer ended at its `Content-Length` (HTTP/1.x: over HTTP/2,
   * nghttp2 resets a stream whose DATA runs past it) before its coded stream did.
   */
  cutAtLength(): boolean {
    const { t } = this
    const length = header(t.head!.headers, 'content-length')
    return (
      t.unterminated && t.head!.http2 !== true && length !== undefined && this.received === Number(length)
    )
  }

  /** The body ended well: the file whole (`verify`), or the rest of it asked for (`send`). */
  async next(): Promise<Step> {
    const { t, decision, check, shown, received, overlap, recent } = this
    // A decoded body's check counts the file from byte 0, the bytes on disk before it too.
    t.offset = this.decoder ? check.bytes : decision.at + this.beyond()
    // An encoded body whose length is its decoded one (see `lengthOfDecoded`): whole.
    if (
      decision.length !== undefined &&
      received !== decision.length &&
      this.shortOfLength === undefined &&
      !this.decodedWhole
    ) {
      // A body that ended cleanly but not at its length. Short: keep it for a resume. Long: worthless.
      if (received < decision.length && (!this.decoder || this.asCame)) {
        await t.keepPart()
        t.record()
      } else await t.dropPart()
      throw new ImgpullError('truncated', `${shown}: got ${received} of ${decision.length} bytes`, {
        retryable: true,
        // Not a byte past those on disk (see `nothingResumed`).
        resumed: decision.at > 0 && this.beyond() === 0,
      })
    }
    // A partial answer (206): ask for the rest, proven to be of the same version, and its last bytes
    // again (see `LATER_OVERLAP`): the next answer may come from another edge with another version.
    // Without a validator, the bytes compared are all the proof there is: `RESUME_OVERLAP` of them.
    if (decision.total !== undefined && t.offset < decision.total) {
      // A resume's coded 206 cut by its Content-Length before its coding's end (the range's
      // decoded size, from a server that measured it before compressing: gzip of an image is the
      // longer): what it decoded to is kept, and the rest of this attempt's answers are read past
      // their length to their coding's own end, as a 200's are (see download.ts). Each answer so
      // cut moved the file on to some bytes short of its end, where it started over, every attempt.
      if (this.decodedSplice && this.cutAtLength()) t.readPastLength = true
      await t.keepPart()
      t.record()
      const wanted = t.known.unproven ? RESUME_OVERLAP : LATER_OVERLAP
      // What this answer carried of the file, the bytes asked again included (a 206 may end
      // inside them).
      const carried = this.decodedSplice ? this.decodedIn : received
      // All of it asked again, ending at the last byte on disk: the server has no byte past them,
      // though its Content-Range states more (a total a byte off). A cap would have carried more
      // than the bytes asked again (at most half the last answer, see `nextOverlap`). Halving the
      // bytes asked again went on for 11 requests, each bringing nothing, until a 416 told the size.
      if (decision.at > 0 && overlap > 0 && carried === overlap) {
        await t.restart(
          `its answers end at byte ${t.offset - 1}, short of the ${decision.total} bytes they state`,
        )
        return send
      }
      // Counted: a part that moved the file on by fewer bytes than were asked again (a server that
      // doles out a few bytes an answer, one whose answers end short of the total they state).
      if (this.beyond() < wanted && ++t.parts > MAX_PARTS) {
        throw new ImgpullError(
          'truncated',
          `${shown}: the server sent ${MAX_PARTS} parts that each brought fewer than ${wanted} new bytes (${t.offset} of ${decision.total} bytes on disk)`,
          { retryable: true },
        )
      }
      const again = nextOverlap(wanted, carried, t.known.unproven ? RESUME_OVERLAP : 0)
      t.tail =
        recent.length > 0 && again > 0 ? Buffer.from(Buffer.concat(recent).subarray(-again)) : undefined
      // Fewer than a part without a validator asks again: the cap left no room (see `Asked.capped`).
      t.cappedTail = t.known.unproven === true && again < Math.min(wanted, t.offset)
      return send
    }
    // A part of a file of unknown size (`bytes A-B/*`): where the file ends, only the next answer
    // says (a 416 with the size, more bytes, or the whole file again).
    if (decision.more) {
      // All of it the bytes on disk asked again, no more than half the part before (a part
      // without a validator, see below): the server has none past them, the file ends there, as
      // where a part ends at them (see `judge`). Not a part that ended inside them, short of the
      // last byte on disk: a cap below the bytes a later attempt asks again (`RESUME_OVERLAP`),
      // whose end was taken as the file's ('JPEG has no end-of-image marker' at 1,104 of 5,100
      // bytes on disk); the next asks again for half of it, as within an attempt.
      const carried = this.decodedSplice ? this.decodedIn : received
      if (t.known.unsized && decision.at > 0 && overlap > 0 && carried === overlap) {
        await t.keepPart()
        return verify
      }
      // Each part brings at least a byte, but a server could dole out one byte per request.
      if (++t.parts > MAX_PARTS) {
        throw new ImgpullError(
          'truncated',
          `${shown}: the server sent ${MAX_PARTS} parts of a file of unknown size without its end`,
          { retryable: true },
        )
      }
      await t.keepPart()
      t.record()
      // Without a validator, the next part proves itself by the bytes on disk it repeats (see
      // `unprovenSplice`): `RESUME_OVERLAP` of them asked for again, or half of this part where
      // the server caps its answers below that (`nextOverlap`).
      const again = t.known.unproven ? nextOverlap(RESUME_OVERLAP, received, RESUME_OVERLAP) : 0
      t.tail =
        recent.length > 0 && again > 0 ? Buffer.from(Buffer.concat(recent).subarray(-again)) : undefined
      return send
    }
    return verify
  }
}

/**
 * Where an HTTP/2 body stopped by `h2` (see `http2Cut`: a stream reset, a GOAWAY, a session the
 * server broke) that was not short of its length: `at` bytes of the file in, `received` of this
 * answer's, of the `length` it states (`total`: the file's, from a `Content-Range`), or none.
 * A body with every byte of its length that failed all the same was said as one "its length not
 * stated" (an HTTP/2 session nghttp2 ended after every byte of a stated Content-Length).
 */
export function h2CutWords(
  h2: string,
  at: number,
  received: number,
  length?: number,
  total?: number,
): string {
  if (length === undefined) return `${h2} after ${at} bytes, its length not stated`
  const stated = total ?? length
  if (received === length) return `${h2} after all ${stated} bytes its length states, before the stream's end`
  return `${h2} after ${at} bytes, ${received - length} past the end its length states`
}
