/**
 * How a body's transfer ended, when it did not end cleanly: whether the error that stopped it
 * (a close, a reset, a stall, imgpull's own stop) left a body that is whole, cut short of its
 * length, or one whose end only its coding or the image's structure can show. Pure functions of
 * plain inputs (`BodyStop`, built once per body that failed: see receive.ts), table-tested
 * (test/body-end.test.ts).
 */
import type { BodyDecoder } from './content-encoding.js'

/** How a body's transfer stopped, in plain terms: what the classifiers below judge it by. */
export interface BodyStop {
  /** The code of the error that stopped it (see `errorCode`: '' for none). */
  code: string
  /**
   * The error is llhttp's end of input where a chunk or the trailer section was due (an
   * HTTPParserError, "Invalid EOF state", without a code: see `invalidEof`).
   */
  invalidEof: boolean
  /** The attempt was cancelled. */
  aborted: boolean
  /** Bytes of the body that came, as sent (encoded ones, for an encoded body). */
  received: number
  /** The bytes the body was to bring, where the answer says (see `Decision`'s `length`). */
  length: number | undefined
  /** `length` is a 206's range's, no `Content-Length` beside it (chunked, or read to the close). */
  rangeLength?: boolean
  /** The answer came over HTTP/2. */
  http2: boolean
  /** The answer is chunked, its last chunk due (see `chunkedLast`). */
  chunked: boolean
  /** A chunked answer's last chunk had come when its connection ended (see `lastChunkAtClose`). */
  lastChunk: boolean
  /**
   * llhttp refused a line of a chunked answer's trailer section, after its last chunk (see
   * `trailerRefused`): the error is no cut.
   */
  badTrailer: boolean
  /** A chunked answer's connection closed inside a chunk (see `chunkLeftAtClose`). */
  insideChunk: boolean
  /** The body is decoded as it comes (a coding imgpull undoes). */
  decoded: boolean
  /** imgpull ended the body itself, at its coding's own end (see `CodingEnded`). */
  ownEnd: boolean
}

/**
 * What a body's end means (see `bodyEnd`): `whole`, ended where its length or its last chunk marks
 * (or, without a length, at its coding's own end); `short`, an encoded body stopped short of its
 * length, which may be the decoded size (see `lengthOfDecoded`); `stalled`, an unframed body left
 * open past the idle timeout (see `stalledUnframed`); `unframed`, an encoded HTTP/2 body without a
 * length ended by a reset (see `endedUnframed`); `closed-early`, a chunked body whose connection
 * closed before its last chunk (see `endedByClose`); `failed`, the error is the failure.
 */
export type BodyEnd = 'whole' | 'short' | 'stalled' | 'unframed' | 'closed-early' | 'failed'

/** How the body of `stop` ended: see `BodyEnd`. */
export function bodyEnd(stop: BodyStop): BodyEnd {
  // Ended at its coding's own end, its decoded size the one it must have (see receive.ts `endAtOwnEnd`).
  if (stop.ownEnd && !stop.aborted) return stop.length !== undefined ? 'short' : 'whole'
  // Every byte its length promised came, then the connection closed before undici saw the
  // answer end (its parser paused by back-pressure at the last byte), or, over HTTP/2, the
  // stream was reset or never ended: the body is whole (see `endedAtLength`).
  const atLength =
    stop.length !== undefined && stop.received === stop.length && endedAtLength(stop.code, stop.http2)
  if ((atLength && !stop.aborted) || afterLastChunk(stop)) return 'whole'
  if (stop.decoded && endedShort(stop)) return 'short'
  if (stalledUnframed(stop)) return 'stalled'
  if (stop.decoded && endedUnframed(stop)) return 'unframed'
  // Closed inside a chunk, its size line promising more: a cut, as one short of a length is.
  if (!endedByClose(stop) || stop.insideChunk) return 'failed'
  // A chunked body the connection closed before its last chunk is incomplete (RFC 9112
  // §7.1), as far as the protocol goes: a body whose end nothing marked, judged as one read
  // to the close is (browsers show it; curl refuses it). Refusing it would refuse whole
  // images from a server that cannot end a body otherwise, on every run.
  return 'closed-early'
}

/**
 * Whether the error whose code is `code` is the connection ending under an answer: closed
 * (`UND_ERR_SOCKET`, undici's "other side closed"), or reset (`ECONNRESET`, Node's own error,
 * which undici passes on as it came). Either way the bytes that came before it are all there is
 * to judge: a server that resets instead of closing (its close with bytes of ours still unread
 * makes the kernel send a reset; SO_LINGER 0) ends a body no differently. A chunked body reset at
 * a chunk's edge failed as `network` on every attempt and every rerun, where a close kept the
 * image and curl, wget2 and aria2c keep it either way.
 */
export const connectionEnded = (code: string): boolean => code === 'UND_ERR_SOCKET' || code === 'ECONNRESET'

/**
 * Whether a body failed with the error whose code is `code`, once every byte of its
 * `Content-Length` came, is whole all the same: the length marks where it ends, whatever the
 * connection does after it. The connection closed or reset (see `connectionEnded`; also a GOAWAY
 * with an error). Over HTTP/2 (`http2`), where undici waits for END_STREAM past the length, also the
 * stream reset by the server with any code instead of END_STREAM (`ERR_HTTP2_STREAM_ERROR`:
 * INTERNAL_ERROR, CANCEL or REFUSED_STREAM from a server or proxy that resets a stream it has
 * sent), the session failed under it (`ERR_HTTP2_SESSION_ERROR`; `ERR_HTTP2_ERROR` where nghttp2
 * ended it for the server's breach, a WINDOW_UPDATE past 2^31-1), or END_STREAM never coming
 * (`UND_ERR_BODY_TIMEOUT`). Each failed every attempt and every rerun, where curl and wget2 keep
 * the file. Bytes past the length never count: nghttp2 resets such a stream with PROTOCOL_ERROR
 * before it delivers them (RFC 9113 §8.1.1). Pure, table-tested (test/h2-goaway.test.ts).
 */
export function endedAtLength(code: string, http2: boolean): boolean {
  if (connectionEnded(code)) return true
  return (
    http2 &&
    (code === 'ERR_HTTP2_STREAM_ERROR' ||
      code === 'ERR_HTTP2_SESSION_ERROR' ||
      code === 'ERR_HTTP2_ERROR' ||
      code === 'UND_ERR_BODY_TIMEOUT')
  )
}

/**
 * Whether the error that stopped `stop`, over HTTP/2, ended an encoded body without a length after some bytes the way it
 * ends one at its length (see `endedAtLength`): the stream reset with any code (INTERNAL_ERROR,
 * CANCEL), the session failing under it, a GOAWAY with an error. Such a body is whole where its
 * coded stream reached its own end in one piece (`codingMarked`: gzip's trailer, its CRC-32 and
 * size checked), as over HTTP/1.1 a close or a reset after it ends it; else `error` stands.
 * A gzip'd image so reset failed as `network` on every attempt and every rerun.
 */
export function endedUnframed(stop: BodyStop): boolean {
  if (stop.aborted || stop.received === 0 || stop.length !== undefined || !stop.http2) return false
  return endedAtLength(stop.code, true) && stop.code !== 'UND_ERR_BODY_TIMEOUT'
}

/**
 * Whether `stop` is an HTTP/1.1 chunked body's connection closing before the last chunk, with
 * bytes in: then the body is judged as one read to the close (see `receive`), or, encoded, by
 * whether its coding reached its own end. Not a stop of ours, and not a body of known length
 * (that one is `truncated`).
 */
export function endedByClose(stop: BodyStop): boolean {
  if (!closedUnder(stop) || stop.aborted || stop.received === 0) return false
  return stop.length === undefined && !stop.http2 && stop.chunked
}

/**
 * Whether `stop` is the connection's end: the close itself (or a reset: see `connectionEnded`),
 * or, on an answer that said `Connection: close`, llhttp's end of input where a chunk or the
 * trailer section was due (see `invalidEof`).
 */
const closedUnder = (stop: BodyStop): boolean => connectionEnded(stop.code) || stop.invalidEof

/** Whether `error` is llhttp's end of input mid-message: an HTTPParserError, "Invalid EOF state", without a code. */
export const invalidEof = (error: unknown): boolean =>
  (error as Error | null)?.name === 'HTTPParserError' && /Invalid EOF state/.test((error as Error).message)

/**
 * Whether a chunked body's last chunk had come when its connection closed or fell silent past the
 * idle timeout, only the trailer section's empty line missing (see `lastChunkAtClose`): the body
 * ended where the server marked it, and is whole as far as the protocol goes. A whole GIF without
 * its trailer (or a bare JPEG XL codestream) so sent failed as `truncated` ("closed before the
 * last chunk"), or as the idle timeout, on every attempt and rerun. So too where llhttp refused a
 * line of the trailer section after it (`badTrailer`): it failed as `network` on every attempt.
 */
export function afterLastChunk(stop: BodyStop): boolean {
  if (stop.aborted || stop.http2 || !stop.chunked) return false
  return (closedUnder(stop) || stop.code === 'UND_ERR_BODY_TIMEOUT' || stop.badTrailer) && stop.lastChunk
}

/**
 * Most encoded bytes a file of `maxSize` bytes comes in: gzip and deflate add 5 bytes to each
 * 64 KB stored block of data they cannot compress, Brotli and zstd less; stacked codings and a
 * cache's trailing bytes fit in the rest.
 */
export function encodedLimit(maxSize: number): number {
  return maxSize + Math.ceil(maxSize / 1000) + 64 * 1024
}

/**
 * Whether an encoded body's transfer stopped short of its `Content-Length` (the connection closed,
 * kept silent past the idle timeout, or, over HTTP/2, the stream was reset: with PROTOCOL_ERROR,
 * nghttp2's answer to a stream that ends short of its length, RFC 9113 §8.1.1, or by the server
 * with any code, CANCEL or INTERNAL_ERROR, as over HTTP/1.1 a close ends it), after some bytes:
 * the length may be the decoded body's (see `lengthOfDecoded`). The close of an answer not kept
 * alive (`Connection: close`, or HTTP/1.0's: Python's http.server) comes in undici's other words:
 * it finishes the parser there and blames the length (client-h1.js `onHttpSocketEnd`).
 */
export function endedShort(stop: BodyStop): boolean {
  if (stop.aborted || stop.received === 0 || stop.length === undefined || stop.received >= stop.length)
    return false
  const { code } = stop
  if (code === 'ERR_HTTP2_STREAM_ERROR') return stop.http2
  return (
    connectionEnded(code) || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH'
  )
}

/**
 * Whether an encoded body that stopped short of its `Content-Length` `length` (the connection
 * closed, or kept silent) is whole all the same: its coded stream reached its own end (gzip's
 * trailer, its CRC and size checked) and decoded to exactly that many bytes (`decoded`). The server measured the
 * length before it encoded the body (a script that sets `Content-Length` from the file's size
 * under a compressing layer: GzipSimpleHTTPServer, PHP's zlib.output_compression), so the rest of
 * the length never comes; browsers show such an image, at the close or after a wait.
 */
export function lengthOfDecoded(
  decoder: Pick<BodyDecoder, 'identity' | 'unterminated'>,
  decoded: number,
  length: number,
): boolean {
  return !decoder.identity && !decoder.unterminated && decoded === length
}

/**
 * Whether `stop` is the idle timeout of a body without a `Content-Length` that the server left
 * open: one that only a close could end (HTTP/1.x, not chunked: RFC 9112 §6.3; an HTTP/1.0 server
 * answering `Connection: keep-alive` without a length, as old wget met it), a chunked one whose
 * last chunk never came (a server that never writes it: cpp-httplib#2563 ended the loop without
 * it, netty#1861 left it out; h2o#2097's `0\r\n` is the last chunk, see `afterLastChunk`), or an
 * HTTP/2 stream never ended. Such a body is judged as one read to a close there, as a chunked body cut by a close is:
 * kept when the image's structure shows its end, else the timeout stands. A whole image behind a
 * missing last chunk failed every attempt and every rerun, where the same bytes and a close kept it.
 * So is a 206 without a `Content-Length` (chunked, or read to the close), its length its range's,
 * stalled once every byte of the range came: a resume so answered, the file whole on disk, failed
 * `timeout` (`no byte past the 120000 on disk came`) at every attempt, where the same answer under a
 * coding, or a 200, was kept.
 */
export function stalledUnframed(stop: BodyStop): boolean {
  if (stop.code !== 'UND_ERR_BODY_TIMEOUT' || stop.aborted || stop.received === 0) return false
  return stop.length === undefined || (!!stop.rangeLength && !stop.http2 && stop.received === stop.length)
}

/**
 * How long (ms) a body that `quietEnds` waits for another byte before it is judged as it is: a
 * server that sends more sends it at once, behind the bytes before it.
 */
export const QUIET_MS = 1000

/** What `quietEnds` judges a body by, as it comes. */
export interface BodySoFar {
  /** Bytes of the body that came, as sent. */
  received: number
  /** The `Content-Length` the body is framed by, if any. */
  length: number | undefined
  /** The `Content-Length` this answer is read past, to the close (see transfer.ts `readPastLength`). */
  pastLength: number | undefined
  /** Bytes of an earlier attempt's body that was a whole image short of its length (`Validators.seen`). */
  seen: number | undefined
  /** The body is decoded as it comes (its coding's own end ends it: see receive.ts `endAtOwnEnd`). */
  decoded: boolean
  /** The byte of the file the body begins at (0 for the whole file). */
  at: number
}

/**
 * Whether a plain body that has brought `received` bytes ends after `QUIET_MS` without another
 * byte, not the idle timeout (`--idle-timeout`, 15 s): one read past its `Content-Length`, whose
 * length cut the image, once past that length (a server that counted its body before it added
 * to it, then keeps the connection open: the bytes past the length come at once or not at all);
 * or one whose length promises more than the very bytes an earlier attempt brought and saw whole
 * (a server whose length overstates its body and holds the connection open: the first attempt
 * waited the idle timeout, the second need not; the same bytes twice, by size and sha256, are
 * what settles it, see `FileCheck.finish`). Either way what came is judged as a stall at the idle
 * timeout is: kept only where the image's structure shows it whole. Pure, table-tested.
 */
export function quietEnds(b: BodySoFar): boolean {
  if (b.decoded || b.at !== 0) return false
  if (b.pastLength !== undefined && b.length === undefined) return b.received >= b.pastLength
  return b.seen !== undefined && b.length !== undefined && b.received === b.seen && b.seen < b.length
}

/** What `lengthCutImage` judges an attempt's failure by. */
export interface CutAtLength {
  /** The failure's code, and the bytes at which the answer marked itself whole (`ImgpullError.markedWhole`). */
  code: string
  markedWhole: number | undefined
  /** A cache on the way marked it (`ImgpullError.markedByCache`): its stored copy would come again. */
  byCache: boolean
  status: number
  http2: boolean
  /** The answer's `Content-Length` and `Transfer-Encoding` values, as they came. */
  contentLength: string | undefined
  transferEncoding: string | undefined
  /** The body was content-coded (see `endedAtLength` for those), or began past byte 0 (a resume). */
  encoded: boolean
  at: number
}

/**
 * Whether an attempt failed as a plain image cut at exactly its `Content-Length`, over HTTP/1.x
 * (no transfer coding, no content coding, a 200 from byte 0): the length may be short of the body
 * the server sends (a PHP script that counted before it appended, MonstaApps/Monsta-FTP#65), the
 * rest of the image coming after it and the connection closing; wget2 reads to the close and keeps
 * the image. Then the file is asked for once more and read past its length to the close (see
 * transfer.ts `readPastLength`), falling quiet after it at most `QUIET_MS` (see `quietEnds`), and
 * kept only where the image's structure shows it whole. Over HTTP/2 a stream's DATA past its
 * length is refused (RFC 9113 §8.1.1). Pure, table-tested.
 */
export function lengthCutImage(c: CutAtLength): boolean {
  return (
    c.code === 'truncated' &&
    c.markedWhole !== undefined &&
    !c.byCache &&
    c.status === 200 &&
    !c.http2 &&
    c.transferEncoding === undefined &&
    !c.encoded &&
    c.at === 0 &&
    c.contentLength !== undefined &&
    /^\s*\+?\d+\s*$/.test(c.contentLength) &&
    Number(c.contentLength) === c.markedWhole
  )
}
