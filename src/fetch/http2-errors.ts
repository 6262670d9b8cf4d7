import { constants } from 'node:http2'
import { parserRefused } from './tls-errors.js'

/** HTTP_1_1_REQUIRED (0xd, RFC 9113 §7): "the endpoint requires that HTTP/1.1 be used instead of HTTP/2". */
export const HTTP_1_1_REQUIRED = constants.NGHTTP2_HTTP_1_1_REQUIRED

/** nghttp2's names of HTTP/2 error codes (`NGHTTP2_HTTP_1_1_REQUIRED`) to their numbers. */
const CODES = new Map(
  Object.entries(constants)
    .filter(([name]) => /^NGHTTP2_[A-Z_0-9]+$/.test(name))
    .map(([name, value]) => [name, value as number]),
)

/**
 * The HTTP/2 error code (RFC 9113 §7) an error of undici's HTTP/2 client carries, or `undefined`
 * when it carries none. Pure, table-tested (test/h2-fallback.test.ts). The code is only in the
 * words, in three forms:
 * - a stream reset by the server (RST_STREAM): Node's `ERR_HTTP2_STREAM_ERROR`, "Stream closed
 *   with error code NGHTTP2_HTTP_1_1_REQUIRED" (Node names the code);
 * - the connection ended by the server (GOAWAY): undici's `SocketError` (`UND_ERR_SOCKET`),
 *   'HTTP/2: "GOAWAY" frame received with code 13' (client-h2.js `onHttp2SessionGoAway`), for
 *   the request at the head of its queue;
 * - the same, for the requests that were waiting on that connection: Node's
 *   `ERR_HTTP2_SESSION_ERROR`, "Session closed with error code 13".
 */
export function http2ErrorCode(error: unknown): number | undefined {
  if (!(error instanceof Error)) return undefined
  const code = (error as { code?: string }).code
  const { message } = error
  if (code === 'ERR_HTTP2_STREAM_ERROR' || code === 'ERR_HTTP2_SESSION_ERROR') {
    const named = /error code (NGHTTP2_[A-Z_0-9]+)$/.exec(message)
    if (named) return CODES.get(named[1])
    const bare = /error code (\d+)$/.exec(message)
    return bare ? Number(bare[1]) : undefined
  }
  if (code === 'UND_ERR_SOCKET') {
    const goaway = /^HTTP\/2: "GOAWAY" frame received with code (\d+)$/.exec(message)
    return goaway ? Number(goaway[1]) : undefined
  }
  return undefined
}

/** Whether `error` is an HTTP/2 server's word that it wants the request over HTTP/1.1 instead. */
export const asksForHttp1 = (error: unknown): boolean => http2ErrorCode(error) === HTTP_1_1_REQUIRED

/**
 * nghttp2's own error numbers (`NGHTTP2_ERR_*`, nghttp2.h), which Node's `ERR_HTTP2_ERROR` carries
 * as its `errno` when nghttp2 ends a session over what the server sent.
 */
const NGHTTP2_ERR = {
  /** "Protocol error": bytes that are not HTTP/2 frames (an HTTP/1.1 answer, say). */
  PROTO: -505,
  /** A frame the protocol does not allow where it came. */
  INVALID_FRAME: -506,
  /**
   * A frame on a stream nghttp2 had closed, which Node ends the session over ("Stream was already
   * closed or invalid"): an interim (1xx) answer with END_STREAM, which RFC 9113 §8.1 calls
   * malformed (a server that flags its 100 so: openjdk/jdk#14207), then the request's own end.
   */
  STREAM_CLOSED: -510,
  INVALID_HEADER_BLOCK: -518,
  FRAME_SIZE_ERROR: -522,
  /** A WINDOW_UPDATE taking a window past 2^31-1, or DATA past the window (RFC 9113 §6.9.1). */
  FLOW_CONTROL: -524,
  /** A header block HPACK cannot decode. */
  HEADER_COMP: -523,
  HTTP_HEADER: -531,
  HTTP_MESSAGING: -532,
  /**
   * More answers to the peer's frames waiting to be sent than nghttp2 keeps (1,000 PING and
   * SETTINGS acknowledgments, RST_STREAMs): its guard against floods (CVE-2019-9512, -9515).
   */
  FLOODED: -904,
  /** More than 8 CONTINUATION frames after a HEADERS (nghttp2 1.61's guard, CVE-2024-28182). */
  TOO_MANY_CONTINUATIONS: -905,
} as const

/** `error`'s nghttp2 error number when it is Node's `ERR_HTTP2_ERROR`, else `undefined`. */
const nghttp2Errno = (error: unknown): number | undefined =>
  (error as { code?: string } | null)?.code === 'ERR_HTTP2_ERROR'
    ? (error as { errno?: number }).errno
    : undefined

/**
 * Whether `error` is nghttp2 finding that what came on a connection whose TLS handshake agreed to
 * HTTP/2 (ALPN h2) is not HTTP/2 at all (`ERR_HTTP2_ERROR`, "Protocol error", by its number): a
 * server or TLS front end that offers h2 and answers in HTTP/1.1, every time.
 */
export const notHttp2 = (error: unknown): boolean => nghttp2Errno(error) === NGHTTP2_ERR.PROTO

/** Set by undici-h2.ts on a session's error that came once the server's SETTINGS had (`markAfterSettings`). */
const AFTER_SETTINGS = Symbol('imgpull.afterHttp2Settings')

/**
 * Mark `error`, an HTTP/2 session's, as one that came after the server's SETTINGS frame: the
 * server was speaking HTTP/2 then, so a "Protocol error" (`notHttp2`) is a frame it sent that
 * nghttp2 refused, not an answer in HTTP/1.1, which never begins with SETTINGS.
 */
export function markAfterSettings(error: unknown): void {
  if (error !== null && typeof error === 'object')
    Object.defineProperty(error, AFTER_SETTINGS, { value: true, configurable: true })
}

/** Set by http1-fallback.ts on an HTTP/2 failure of an origin that refuses HTTP/1.1 (`markHttp2Only`). */
const HTTP2_ONLY = Symbol('imgpull.http2Only')

/**
 * Mark `error`, one `http1Wanted` would send over HTTP/1.1, as an origin's that offers HTTP/2 alone
 * (its TLS refused HTTP/1.1): its requests stay on HTTP/2, and the failure must not say otherwise.
 */
export function markHttp2Only(error: unknown): void {
  if (error !== null && typeof error === 'object')
    Object.defineProperty(error, HTTP2_ONLY, { value: true, configurable: true })
}

/** Whether `error` was marked by `markHttp2Only`. */
export const onHttp2Only = (error: unknown): boolean =>
  error !== null && typeof error === 'object' && (error as Record<symbol, unknown>)[HTTP2_ONLY] === true

/**
 * Whether `error` is nghttp2's "Protocol error" (`notHttp2`) on a session whose server had sent its
 * SETTINGS: a server speaking HTTP/2 that sent a frame HTTP/2 does not allow there (a PUSH_PROMISE
 * after the client's SETTINGS_ENABLE_PUSH 0, RFC 9113 §6.5.2; an ALTSVC frame on stream 0 without
 * an origin, which RFC 7838 §4 says to ignore and nghttp2 refuses; a WINDOW_UPDATE of 0, §6.9,
 * as nghttp's `-w 0` sent it, nghttp2/nghttp2#369).
 */
export const refusedHttp2Frame = (error: unknown): boolean =>
  notHttp2(error) && (error as Record<symbol, unknown>)[AFTER_SETTINGS] === true

/** What a server did whose error is `refusedHttp2Frame`, in words. */
export const REFUSED_FRAME =
  "sent a frame nghttp2 refused as a protocol error, its HTTP/2 connection begun (a PUSH_PROMISE though imgpull's SETTINGS disabled push, RFC 9113 §6.5.2; an ALTSVC frame on stream 0 without an origin; a WINDOW_UPDATE of 0, RFC 9113 §6.9; a header field over 64 KiB?)"

/**
 * Whether `error` is a TLS handshake the server refused for want of a protocol both offer by ALPN
 * (alert 120, no_application_protocol): to a connection offering HTTP/1.1 alone, a server that
 * speaks HTTP/2 alone (RFC 7301 §3.2). By its code, never its words.
 */
export const refusesHttp1 = (error: unknown): boolean =>
  (error as { code?: string } | null)?.code === 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL'

/**
 * nghttp2's errors over what a server sent that are not reasons to leave HTTP/2 (one overflowing
 * window is not every answer's), in words.
 */
const SERVER_FAULTS: Record<number, string> = {
  [NGHTTP2_ERR.FLOW_CONTROL]:
    "broke HTTP/2's flow control (FLOW_CONTROL_ERROR: a WINDOW_UPDATE taking a window past 2^31-1 bytes, or DATA past the window, RFC 9113 §6.9.1)",
}

/**
 * Whether `error` is nghttp2's FLOW_CONTROL_ERROR on a session whose server's SETTINGS never took
 * (not `markAfterSettings`): its SETTINGS frame, the first a server sends (RFC 9113 §3.4), was the
 * fault, a SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1 (§6.5.2; its values are 32 bits wide,
 * httpwg/http2-spec#329), which every connection to that server repeats, where one WINDOW_UPDATE
 * overflowing a window (haproxy/haproxy#2719) is not every answer's.
 */
const settingsOverflow = (error: unknown): boolean =>
  nghttp2Errno(error) === NGHTTP2_ERR.FLOW_CONTROL &&
  (error as Record<symbol, unknown>)[AFTER_SETTINGS] !== true

const SETTINGS_OVERFLOW =
  'sent HTTP/2 SETTINGS nghttp2 refused, a SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1 bytes (FLOW_CONTROL_ERROR, RFC 9113 §6.5.2)'

/**
 * What the server did, in words, when `error` is nghttp2 ending the HTTP/2 session over what it
 * sent (`BROKEN_HTTP2`: a flood, a frame or header block it cannot read; a flow-control
 * violation, in its SETTINGS or later), else `undefined`. Node's words ("Flooding was detected in
 * this HTTP/2 session, and it must be closed", "Flow control error") name neither side nor the frames.
 */
export function brokenHttp2Words(error: unknown): string | undefined {
  const errno = nghttp2Errno(error)
  if (errno === undefined) return undefined
  if (settingsOverflow(error)) return SETTINGS_OVERFLOW
  // nghttp2's "Protocol error" once the SETTINGS came is a frame refused, not HTTP/1.1's bytes.
  if (refusedHttp2Frame(error)) return REFUSED_FRAME
  return BROKEN_HTTP2[errno] ?? SERVER_FAULTS[errno]
}

/** Why an HTTP/2 server's requests go over HTTP/1.1 instead (`http1Wanted`). */
export interface Http1Wanted {
  /** What the server did, in words (`NODE_DEBUG=imgpull` prints them with its origin). */
  why: string
  /** All the origin's requests from now on (true), or only this request's later attempts. */
  origin: boolean
}

/** nghttp2's errors over what a server sent that HTTP/1.1 has no room for, in words. */
const BROKEN_HTTP2: Record<number, string> = {
  [NGHTTP2_ERR.PROTO]: 'agreed to HTTP/2, then sent something else',
  [NGHTTP2_ERR.TOO_MANY_CONTINUATIONS]:
    "sent a header block in more than 8 CONTINUATION frames (nghttp2's guard against CONTINUATION floods, CVE-2024-28182)",
  [NGHTTP2_ERR.FLOODED]:
    "flooded the HTTP/2 connection with frames that each need an answer (PING or SETTINGS frames faster than their acknowledgments could be sent: nghttp2's guard against floods, CVE-2019-9512)",
  [NGHTTP2_ERR.INVALID_FRAME]: 'sent an HTTP/2 frame where none may come',
  [NGHTTP2_ERR.STREAM_CLOSED]:
    'sent a frame on an HTTP/2 stream nghttp2 had closed, and it ended the session (an interim 1xx answer with END_STREAM, no final answer: malformed, RFC 9113 §8.1?)',
  [NGHTTP2_ERR.INVALID_HEADER_BLOCK]: 'sent an HTTP/2 header block that cannot be read',
  [NGHTTP2_ERR.FRAME_SIZE_ERROR]: 'sent an HTTP/2 frame of a wrong size',
  [NGHTTP2_ERR.HEADER_COMP]: 'sent an HTTP/2 header block HPACK cannot decode',
  [NGHTTP2_ERR.HTTP_HEADER]: 'sent a header field HTTP/2 forbids',
  [NGHTTP2_ERR.HTTP_MESSAGING]: "broke HTTP/2's message rules",
}

/**
 * Whether an HTTP/2 request that failed with `error` is to go over HTTP/1.1, and for whom; before
 * its answer began (`answered` false) it goes again at once (see http1-fallback.ts). Pure,
 * table-tested (test/h2-fallback.test.ts). Read by the error's code and numbers, never its words,
 * for the same fault comes as a stream's or as a connection's error by Node's version:
 * - `HTTP_1_1_REQUIRED` (RFC 9113 §7), as a stream reset or a GOAWAY: the server asks for it;
 * - nghttp2 ending the session over a frame it refused without Node saying so, which imgpull finds
 *   and closes (`isAbandonedHttp2`): a header field over 64 KiB, a frame over 16 KiB, which
 *   HTTP/1.1 has no room for (it reads the field, and has no frames);
 * - nghttp2 ending the session over the server's SETTINGS (FLOW_CONTROL_ERROR before they took:
 *   a SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1), which every connection to it repeats;
 * - nghttp2 ending the session over what the server sent (`ERR_HTTP2_ERROR` and its number): not
 *   HTTP/2 at all, or a header block in more than 8 CONTINUATION frames (many cookies or a long
 *   policy from a server that splits its blocks small), a frame or header block it cannot read;
 * - PROTOCOL_ERROR before the answer's head, on the stream (nghttp2 refuses a head carrying a
 *   header field HTTP/2 forbids, RFC 9113 §8.2.2: `Connection`, `Keep-Alive`, `Transfer-Encoding`,
 *   `Upgrade`, `Proxy-Connection`, old proxies and servers that pass HTTP/1.1's through) or the
 *   connection (GOAWAY);
 * - PROTOCOL_ERROR on the stream after its head: nghttp2 resets a stream whose body runs past or
 *   stops short of its `Content-Length` (RFC 9113 §8.1.1), and drops the bytes that do, where
 *   HTTP/1.1 reads the length and leaves the rest; only that request's later attempts change.
 * HTTP/1.1 reads each of these as curl's `--http1.1` and browsers do; over HTTP/2 curl fails them
 * (`stream was not closed cleanly: PROTOCOL_ERROR`), and imgpull failed every attempt.
 */
export function http1Wanted(error: unknown, answered: boolean): Http1Wanted | undefined {
  if (asksForHttp1(error)) return { why: 'asks for HTTP/1.1 (HTTP_1_1_REQUIRED)', origin: true }
  if (isAbandonedHttp2(error))
    return {
      why: 'sent a frame nghttp2 ended the session over (a header field over 64 KiB, a frame over 16 KiB, DATA on stream 0?)',
      origin: true,
    }
  if (refusedHttp2Frame(error)) return { why: REFUSED_FRAME, origin: true }
  if (settingsOverflow(error)) return { why: SETTINGS_OVERFLOW, origin: true }
  const errno = nghttp2Errno(error)
  if (errno !== undefined) return BROKEN_HTTP2[errno] ? { why: BROKEN_HTTP2[errno], origin: true } : undefined
  if (http2ErrorCode(error) !== PROTOCOL_ERROR) return undefined
  if ((error as { code?: string }).code !== 'ERR_HTTP2_STREAM_ERROR')
    return { why: 'ended the HTTP/2 connection with PROTOCOL_ERROR (GOAWAY)', origin: true }
  return answered
    ? {
        why: "reset an answer's HTTP/2 stream with PROTOCOL_ERROR (its body longer or shorter than its Content-Length?)",
        origin: false,
      }
    : {
        why: 'sent an HTTP/2 head that was refused with PROTOCOL_ERROR (a header field HTTP/2 forbids, such as Connection or Transfer-Encoding?)',
        origin: true,
      }
}

/** REFUSED_STREAM (0x7, RFC 9113 §8.7): "the stream was closed prior to any application processing". */
export const REFUSED_STREAM = constants.NGHTTP2_REFUSED_STREAM

/**
 * Whether `error` is an HTTP/2 stream the server reset with REFUSED_STREAM: RFC 9113 §8.7 says it
 * did not process the request, which may be sent again. A server refuses so the streams above a
 * graceful GOAWAY's last-stream-id, and those a client opened before its SETTINGS said how many it
 * takes. Only a stream's reset counts: a connection's GOAWAY code says nothing of its streams.
 */
export const isRefusedStream = (error: unknown): boolean =>
  (error as { code?: string } | undefined)?.code === 'ERR_HTTP2_STREAM_ERROR' &&
  http2ErrorCode(error) === REFUSED_STREAM

/**
 * Whether a request that failed with `error` never left imgpull: like one whose keep-alive
 * connection closed as it was reused, it goes again at once on another connection, never a spent
 * attempt. Pure, by code, table-tested (test/h2-goaway.test.ts). `connected`: undici had given it
 * a connection (its `onConnect` came).
 * - Node refusing to open its HTTP/2 stream on a session ended by an error (a GOAWAY with an error
 *   code, a connection-level PROTOCOL_ERROR, a reset) or closing after a GOAWAY, which undici still
 *   writes to until the session's socket has closed: `ERR_HTTP2_INVALID_SESSION` ("The session has
 *   been destroyed"), `ERR_HTTP2_GOAWAY_SESSION`;
 * - a stream still pending, without an id and so not on the wire, when its session ended:
 *   `ERR_HTTP2_STREAM_CANCEL`;
 * - before it had a connection (its client's queue failed whole): undici's client destroyed or
 *   closed (`UND_ERR_DESTROYED`, `UND_ERR_CLOSED`), or an HTTP/2 session's error (`ERR_HTTP2_ERROR`,
 *   `ERR_HTTP2_SESSION_ERROR`), which can only be a session's that ended before it was written; a
 *   connect or TLS failure stays the server's, retried with backoff (see `isStaleConnection`).
 * Once written, a stream reset, a session's error, a connection closed: the server may have taken
 * it, a real attempt.
 */
export function neverSent(error: unknown, connected: boolean): boolean {
  const code = (error as { code?: unknown } | null)?.code
  if (
    code === 'ERR_HTTP2_INVALID_SESSION' ||
    code === 'ERR_HTTP2_GOAWAY_SESSION' ||
    code === 'ERR_HTTP2_STREAM_CANCEL'
  )
    return true
  return (
    !connected &&
    (code === 'UND_ERR_DESTROYED' ||
      code === 'UND_ERR_CLOSED' ||
      code === 'ERR_HTTP2_ERROR' ||
      code === 'ERR_HTTP2_SESSION_ERROR')
  )
}

/**
 * PROTOCOL_ERROR (0x1, RFC 9113 §7): also how nghttp2 resets a stream whose DATA runs past or
 * stops short of its Content-Length (§8.1.1).
 */
export const PROTOCOL_ERROR = constants.NGHTTP2_PROTOCOL_ERROR

/** ENHANCE_YOUR_CALM (0xb, RFC 9113 §7): "the endpoint detected that its peer is exhibiting a behavior that might be generating excessive load". */
export const ENHANCE_YOUR_CALM = constants.NGHTTP2_ENHANCE_YOUR_CALM

/** Set on a stream's REFUSED_STREAM error by `markGoaway`. */
const GOAWAY = Symbol('imgpull.goaway')

/**
 * Mark `error`, a stream's REFUSED_STREAM, as the server's GOAWAY's doing (error `code`, its
 * `lastStreamId` below the stream: never processed, RFC 9113 §6.8), not a RST_STREAM: its
 * failure names the GOAWAY and its code. A server that ends every connection with a GOAWAY
 * INTERNAL_ERROR and last-stream-id 0 was said as `refused the HTTP/2 stream unprocessed
 * (REFUSED_STREAM: over its limit of streams ...)`, a code it never sent.
 */
export function markGoaway(error: unknown, code: number, lastStreamId: number): void {
  if (error !== null && typeof error === 'object')
    Object.defineProperty(error, GOAWAY, { value: { code, lastStreamId }, configurable: true })
}

const goawayOf = (error: unknown): { code: number; lastStreamId: number } | undefined =>
  error !== null && typeof error === 'object'
    ? ((error as Record<symbol, unknown>)[GOAWAY] as { code: number; lastStreamId: number } | undefined)
    : undefined

/**
 * Whether `error`, met before any answer, is an HTTP/2 server telling the client it sends too
 * much, HTTP/2's 429: a stream reset or a session ended with ENHANCE_YOUR_CALM (h2o and Kestrel
 * over their stream limits, Node's session memory guard, Go's and nginx's rapid-reset guards), or
 * a stream refused unprocessed (REFUSED_STREAM, RFC 9113 §5.1.2, §8.7: over the server's limit of
 * streams) whose immediate replays are spent, unless a GOAWAY with another code refused it (see
 * `markGoaway`: a server ending its connections says nothing of the pace). A complaint of the
 * host, as a 429 is: its limit comes down, instead of every retry meeting the same refusal at the
 * same pace.
 */
export function asksToSlowDown(error: unknown): boolean {
  const code = http2ErrorCode(error)
  const goaway = goawayOf(error)
  return (
    code === ENHANCE_YOUR_CALM ||
    (isRefusedStream(error) && (goaway?.code ?? ENHANCE_YOUR_CALM) === ENHANCE_YOUR_CALM)
  )
}

/**
 * Whether a GOAWAY's error `code` asks something of its origin, which the request failed with it
 * carries: HTTP/1.1 instead (`http1Wanted`: HTTP_1_1_REQUIRED, PROTOCOL_ERROR) or fewer requests
 * (`asksToSlowDown`: ENHANCE_YOUR_CALM). The others (INTERNAL_ERROR...) say only that the
 * connection ended. Pure, table-tested (test/h2-goaway.test.ts).
 */
export function goawayAsks(code: number): boolean {
  const goaway = Object.assign(new Error(`HTTP/2: "GOAWAY" frame received with code ${code}`), {
    code: 'UND_ERR_SOCKET',
  })
  return http1Wanted(goaway, false) !== undefined || asksToSlowDown(goaway)
}

/**
 * `asksToSlowDown`'s refusals in words (the error's code after them), and a stream a GOAWAY
 * refused (see `markGoaway`), or `undefined` for any other error: Node's own ("Stream closed with
 * error code NGHTTP2_ENHANCE_YOUR_CALM") says nothing of who sent it or why.
 */
export function slowDownWords(error: unknown): string | undefined {
  const code = http2ErrorCode(error)
  const which = (error as { code?: string }).code
  const goaway = goawayOf(error)
  if (goaway && isRefusedStream(error)) {
    const how =
      goaway.code === 0
        ? 'gracefully (GOAWAY NO_ERROR'
        : `with ${NAMES[goaway.code] ?? `error code ${goaway.code}`} (GOAWAY`
    return `the server ended the HTTP/2 connection ${how}, last-stream-id ${goaway.lastStreamId}) before processing the request, on each new connection it was sent again on (${which})`
  }
  if (code === ENHANCE_YOUR_CALM)
    return which === 'ERR_HTTP2_STREAM_ERROR'
      ? `the server reset the HTTP/2 stream with ENHANCE_YOUR_CALM, its word for requests too many or too fast (${which})`
      : `the server ended the HTTP/2 connection with ENHANCE_YOUR_CALM (GOAWAY), its word for requests too many or too fast (${which})`
  if (isRefusedStream(error))
    return `the server refused the HTTP/2 stream unprocessed (REFUSED_STREAM: over its limit of streams, or closing the connection) (${which})`
  return undefined
}

/**
 * Who may have reset a stream with PROTOCOL_ERROR once its answer began: nghttp2 resets a stream
 * whose answer RFC 9113 §8.1.1 calls malformed (DATA past or short of its Content-Length; a
 * second header block before the body's end, which only trailers with END_STREAM may be, §8.1),
 * and sends the server the RST_STREAM; Node's error is the same as for the server's own reset.
 * Said without who reset it, `the HTTP/2 stream was reset (PROTOCOL_ERROR) after 0 of 20000
 * bytes` blamed the server for a reset it never sent (curl's `stream was not closed cleanly:
 * PROTOCOL_ERROR` reads so too: curl/curl#14620, nghttp2/nghttp2#1142).
 */
const MALFORMED_ANSWER =
  "by nghttp2 for an answer RFC 9113 §8.1.1 calls malformed: a body past or short of its Content-Length, a second header block before the body's end; or by the server"

/**
 * How an HTTP/2 answer was cut, in words, or `undefined` when HTTP/2 did not cut it (a connection
 * closed or reset under it): its stream reset (`the HTTP/2 stream was reset (PROTOCOL_ERROR, by
 * nghttp2 for an answer ... malformed ...; or by the server)`, see `MALFORMED_ANSWER`), or its
 * connection ended with an error (GOAWAY), or nghttp2 ending the session over what the server sent
 * (`brokenHttp2Words`). Node does not say which side reset a stream: a code nghttp2 resets with
 * itself names both, the others the code alone. "connection closed", said of those, sent one
 * looking at the network.
 */
export function http2Cut(error: unknown): string | undefined {
  // Closed by us, not by the server (see `isSilentHttp2`): its message says why.
  if (isSilentHttp2(error)) return (error as Error).message
  // nghttp2 ended the session over what the server sent (a PING flood...): the server's doing.
  const broken = brokenHttp2Words(error)
  if (broken) return `the server ${broken}, and nghttp2 closed the connection`
  const code = http2ErrorCode(error)
  if (code === undefined) return undefined
  const name = NAMES[code] ?? `error code ${code}`
  if ((error as { code?: string }).code !== 'ERR_HTTP2_STREAM_ERROR')
    return `the HTTP/2 connection was ended (GOAWAY ${name})`
  return code === PROTOCOL_ERROR
    ? `the HTTP/2 stream was reset (${name}, ${MALFORMED_ANSWER})`
    : `the HTTP/2 stream was reset (${name})`
}

/** RFC 9113 §7's names of the HTTP/2 error codes, by number. */
const NAMES = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
]

/** What a silent HTTP/2 connection is closed with (undici-h2.ts `pingOrClose`), its code undici's for a socket closed. */
export const SILENT_HTTP2 = 'the HTTP/2 connection went silent'

/**
 * What an HTTP/2 connection nghttp2 had ended by itself is closed with (undici-h2.ts
 * `endIfHttp2Abandoned`), its code undici's for a socket closed. A silent connection's words
 * (`isSilentHttp2` knows it, and a failure says them as they are), not "the server closed the
 * connection": imgpull closed it. nghttp2 1.61 (Node 20) ends a session so, unheard, over any
 * connection error in a frame received, and which frame is not known: a header field over 64 KiB
 * (COMPRESSION_ERROR), a frame over the 16 KiB imgpull's SETTINGS allow (FRAME_SIZE_ERROR, RFC 9113
 * §4.2: a server sending 64 KiB DATA frames, bdarnell/tornado_http2#7), DATA on stream 0 or padding
 * longer than its frame (PROTOCOL_ERROR, §6.1), so the words name them all.
 */
export const ABANDONED_HTTP2 = `${SILENT_HTTP2}: nghttp2 ended the session over a frame the server sent that it refused (a header field over 64 KiB it cannot decode, a frame over the 16 KiB imgpull's SETTINGS allow (RFC 9113 §4.2), DATA on stream 0, padding longer than its frame), and imgpull closed the connection`

/** Whether `error` is the one `ABANDONED_HTTP2` closed a connection with. */
export const isAbandonedHttp2 = (error: unknown): boolean =>
  (error as { code?: string } | null)?.code === 'UND_ERR_SOCKET' &&
  (error as Error | null)?.message === ABANDONED_HTTP2

/** Whether `error` is the one a silent HTTP/2 connection was closed with (undici-h2.ts `pingOrClose`). */
export const isSilentHttp2 = (error: unknown): boolean =>
  (error as { code?: string } | null)?.code === 'UND_ERR_SOCKET' &&
  typeof (error as Error | null)?.message === 'string' &&
  (error as Error).message.startsWith(SILENT_HTTP2)

/**
 * Whether `data` (an answer's first bytes, as latin1) begins with an HTTP/2 SETTINGS frame, the
 * preface every HTTP/2 server sends first (RFC 9113 §3.4): a 9-byte frame header of type 0x4, no
 * flags, stream 0, its length a multiple of 6. To an HTTP/1.1 request only a port that speaks
 * HTTP/2 alone in cleartext ("prior knowledge", h2c) sends it: hyper without `http1`, an nginx
 * `listen ... http2` without `ssl`, a gRPC port (hyperium/hyper#2378; curl: `Received HTTP/0.9
 * when not allowed`).
 */
export function beginsHttp2Settings(data: string): boolean {
  if (data.length < 9) return false
  const length = (data.charCodeAt(0) << 16) | (data.charCodeAt(1) << 8) | data.charCodeAt(2)
  return (
    length % 6 === 0 &&
    length <= 6 * 64 &&
    data.charCodeAt(3) === 0x04 &&
    data.charCodeAt(4) === 0 &&
    data.slice(5, 9) === '\0\0\0\0'
  )
}

/** Whether `error`, or one of its causes, is llhttp's refusal of an answer `beginsHttp2Settings` knows. */
export function answeredInHttp2(error: unknown): boolean {
  return parserRefused(error, beginsHttp2Settings)
}
