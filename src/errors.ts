import { hostname } from 'node:os'
import type { ErrorCode, HttpErrorCode } from './error-codes.js'
import { afterHandshake } from './fetch/connect-stage.js'
import { MAX_HEADER_WORDS } from './fetch/header-limits.js'
import {
  answeredInHttp2,
  asksForHttp1,
  brokenHttp2Words,
  http1Wanted,
  http2ErrorCode,
  isSilentHttp2,
  notHttp2,
  onHttp2Only,
  PROTOCOL_ERROR,
  REFUSED_FRAME,
  refusedHttp2Frame,
  slowDownWords,
} from './fetch/http2-errors.js'
import { dnsAnswered, unansweredLookup } from './fetch/shared-lookup.js'
import type { QueueCode } from './queue/errors.js'
import type { UnsplashCode } from './sources/unsplash/errors.js'
import type { TransformErrorCode } from './transform/errors.js'
import { quoted } from './utils/printable.js'

/**
 * Typed errors. Every failure a download can meet becomes one of these, with a stable `code`
 * that lands in results and the manifest, and a one-line message.
 */
/**
 * A thrown value's string code (`ENOSPC`, `UND_ERR_SOCKET`, `SQLITE_FULL`...), '' for anything
 * else: an abort's DOMException carries a number there (20), and any value may be thrown.
 */
export function errorCode(error: unknown): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined
  return typeof code === 'string' ? code : ''
}

/**
 * An HTTP proxy's error status that may say the host is out of reach (see `gatewayRefused` in
 * fetch/proxy-silence.ts): to a CONNECT (`tunnel`), or to an http:// URL's request, which the
 * proxy forwards (its own status, or the server's); `said`: the proxy's own word on it, if any
 * (`Proxy-Status error=connection_refused`, RFC 9209; `X-Squid-Error: ERR_CONNECT_FAIL 111`).
 */
export interface GatewayAnswer {
  status: number
  tunnel: boolean
  said?: string
}

/**
 * Every code an `ImgpullError` may carry: a job's failure's (`ErrorCode`, the contract results and
 * the manifest keep), or one of the failures that are no job's, each its subclass's: a run's stop
 * (`FatalError`), a queue command's (`QueueError`), the Unsplash API's (`UnsplashError`), or a
 * transform pool's that is no image's (`transform-closed`: see `TransformError`).
 */
export type ImgpullCode = ErrorCode | FatalCode | QueueCode | TransformErrorCode | UnsplashCode

export class ImgpullError extends Error {
  override name = 'ImgpullError'
  /**
   * Machine-readable code: a job's failure's `ErrorCode` (`http-404`, `timeout`, `not-an-image`),
   * or a subclass's own (`FatalCode`, `QueueCode`, `UnsplashCode`): see `ImgpullCode`.
   */
  readonly code: ImgpullCode
  /** Whether trying again may succeed. */
  readonly retryable: boolean
  /**
   * The failure says the host is overloaded or limiting us, beyond what its code says (see
   * `isPressure`): a connection it turned away before any answer.
   */
  readonly pressure: boolean
  /**
   * The failure met a resume (a request with `Range`): its answer's status (an `HTTPError`), or
   * not a byte of the file from it (a `NetworkError`, `TimeoutError` or `truncated`: see
   * `nothingResumed`). Either may be the server refusing Range (see `refusesRange`).
   */
  readonly resumed: boolean
  /**
   * The connection was refused (ECONNREFUSED): nothing listens on the host's port, a state of the
   * host (down, restarting), not of the request. See `onFailure`.
   */
  readonly refused: boolean
  /** An HTTP proxy's error status, carried as a value (a thread sends it over), not read back from the message. */
  readonly gateway: GatewayAnswer | undefined
  /**
   * A `truncated` file whose answer ended where the server marked its end (its `Content-Length`
   * met, its last chunk, HTTP/2's end of stream): the file's bytes then, so many and still cut. The
   * server's copy is cut (or the length it states is short); no resume could continue it.
   */
  readonly markedWhole: number | undefined
  /**
   * For `markedWhole`: the headers by which a cache on the way said it served the answer from a
   * stored copy (see `cacheHit`), whose framing is then the cache's, not the server's.
   */
  readonly markedByCache: string | undefined
  /**
   * Milliseconds the answer asked us to wait before another try, if it said (`Retry-After`, RFC 9110
   * §10.2.3, or a rate limiter's reset: see `readRefusal`): a server's (`HTTPError`), or an HTTP
   * proxy's to a CONNECT (a rotating proxy past its limit). Bounded by `--max-retry-after` alike.
   */
  readonly retryAfter: number | undefined
  /** The header that named `retryAfter` (`Retry-After`, or a rate limiter's reset: see `readRefusal`). */
  readonly waitFrom: string
  /**
   * A job's failure after redirects led away from the URL listed: the URL last asked (the
   * redirect's target that failed, or whose answer did), as `Outcome.finalUrl` records it, without
   * credentials or signing parameters (see `withoutSigning`). Set by `download` as the error leaves it.
   */
  finalUrl: string | undefined
  constructor(
    code: ImgpullCode,
    message: string,
    options: {
      retryable?: boolean
      cause?: unknown
      pressure?: boolean
      resumed?: boolean
      refused?: boolean
      gateway?: GatewayAnswer
      markedWhole?: number
      markedByCache?: string
      retryAfter?: number
      waitFrom?: string
    } = {},
  ) {
    super(message, { cause: options.cause })
    this.code = code
    this.retryable = options.retryable ?? false
    this.pressure = options.pressure ?? false
    this.resumed = options.resumed ?? false
    this.refused = options.refused ?? false
    this.gateway = options.gateway
    this.markedWhole = options.markedWhole
    this.markedByCache = options.markedByCache
    this.retryAfter = options.retryAfter
    this.waitFrom = options.waitFrom ?? 'Retry-After'
  }
}

/**
 * Statuses worth another try: rate limits, overload and gateway trouble (Cloudflare's 52x too),
 * and 202, an image not made yet (RFC 9110 §15.3.3: a thumbnail queued for generation).
 */
const RETRYABLE_STATUS = new Set([202, 408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524])

/** Whether an answer with `status` may be retried: another attempt may get the file (see `HTTPError`). */
export const retryableStatus = (status: number): boolean => RETRYABLE_STATUS.has(status)

/**
 * Statuses followed as redirects when they name a `Location` (see `isRedirect` in fetch/judge.ts).
 * 300 included: RFC 9110 §15.4.1 lets a client follow the `Location` of a 300 Multiple Choices
 * (the server's preferred choice), and curl, wget and browsers do; one without a `Location` has
 * no choice made for us and stays a failure.
 */
export const REDIRECT_STATUS: ReadonlySet<number> = new Set([300, 301, 302, 303, 307, 308])

export class HTTPError extends ImgpullError {
  override name = 'HTTPError'
  /** `http-` and the status taken (`http-404`; see `HttpErrorCode`). */
  declare readonly code: HttpErrorCode
  readonly status: number
  /** What the request did not ask that the status answers (see `more.unasked`). */
  readonly unasked: string | undefined
  /**
   * `sent`: the status as the server sent it, when `status` is what it is taken as (a 403 whose
   * rate-limit quota is spent is a 429; a redirect back to itself that still asks to come again
   * later, a 503), the header that says why, and what it is (`what`, a rate limit unless named).
   */
  constructor(
    status: number,
    url: string,
    retryAfter?: number,
    resumed = false,
    more: {
      waitFrom?: string
      sent?: { status: number; why: string; what?: string }
      /**
       * What the request did not ask that the status answers (`no range`...: see
       * `unaskedStatus`): not the server's verdict on the URL but a slip, so retried.
       */
      unasked?: string
      /** Through an HTTP proxy, to an http:// URL: the status may be the proxy's (see `GatewayAnswer`). */
      gateway?: GatewayAnswer
      /** An answer every try gets alike (a CDN's bot check): not retried within the run, whatever its status. */
      final?: boolean
    } = {},
  ) {
    // A redirect status fails only where it names nowhere to go (see `isRedirect`): said so.
    const nowhere = REDIRECT_STATUS.has(status) ? ': a redirect with no Location to follow' : ''
    const taken = more.sent
      ? `: ${more.sent.what ?? 'a rate limit'} (${more.sent.why}), taken as a ${status}`
      : ''
    const unasked = more.unasked ? ` to a request that asked ${more.unasked}` : ''
    super(
      `http-${status}`,
      `HTTP ${more.sent?.status ?? status} from ${url}${resumed ? ' (to a request with Range)' : ''}${nowhere}${unasked}${taken}`,
      {
        retryable: !more.final && (retryableStatus(status) || unasked !== ''),
        resumed,
        gateway: more.gateway,
        retryAfter,
        waitFrom: more.waitFrom,
      },
    )
    this.unasked = more.unasked
    this.status = status
  }
}

export type TimeoutPhase = 'connect' | 'headers' | 'idle' | 'total'

/** A timeout in the unit its option is given in: seconds from one second up (`15 s`, `2.5 s`), else ms. */
export const duration = (ms: number) => (ms < 1000 ? `${ms} ms` : `${Number((ms / 1000).toFixed(3))} s`)

export class TimeoutError extends ImgpullError {
  override name = 'TimeoutError'
  declare readonly code: 'timeout'
  readonly phase: TimeoutPhase
  /** The timeout that ran out, ms. */
  readonly ms: number
  /**
   * `via`: the proxy the request went through (it may be the one that kept silent). `resumed`: a
   * resume that brought not a byte of the file (see `ImgpullError.resumed`). `stalled`: what got no
   * answer, in words, where it is known (a connect timeout's stage, see connect-stage.ts).
   */
  constructor(phase: TimeoutPhase, ms: number, url: string, via?: string, resumed = false, stalled?: string) {
    super(
      'timeout',
      `${phase} timeout after ${duration(ms)} on ${url}${via ? ` (through the proxy ${via})` : ''}${stalled ? `: ${stalled}` : ''}`,
      {
        retryable: true,
        resumed,
      },
    )
    this.phase = phase
    this.ms = ms
  }
}

export class NetworkError extends ImgpullError {
  override name = 'NetworkError'
  declare readonly code: 'network'
  /**
   * `via`: the proxy the request went through (it may be the one that closed or reset it).
   * `turnedAway`: a new connection closed or reset before any answer (a host at its limit of
   * connections), a complaint of the host. `resumed`: a resume that brought not a byte of the
   * file (see `ImgpullError.resumed`).
   */
  constructor(url: string, cause: unknown, via?: string, turnedAway = false, resumed = false) {
    const code = (cause as { code?: string } | undefined)?.code
    const through = via ? ` (through the proxy ${via})` : ''
    super('network', `network error on ${url}${through}: ${networkWords(cause)}`, {
      retryable: !(code && SAME_EVERY_TIME.has(code)) && !answeredInHttp2(cause),
      cause,
      pressure: turnedAway,
      resumed,
      refused: code === 'ECONNREFUSED',
    })
  }
}

/**
 * Network failures another attempt within the run would meet again: not retried (a rerun still
 * tries once, as for any `network` failure). A header section over `MAX_HEADER_BYTES`: the same
 * server sends the same headers to the same request; retrying would only fetch them 5 more times.
 * So too an answer in HTTP/2 to an HTTP/1.1 request (see `answeredInHttp2`): the port's protocol.
 */
const SAME_EVERY_TIME = new Set(['UND_ERR_HEADERS_OVERFLOW'])

/**
 * undici's words (client-h2.js) for an HTTP/2 stream the server ended before any header came, in
 * words naming the server: RST_STREAM with NO_ERROR (Node ends the stream as at END_STREAM) or an
 * END_STREAM alone; RST_STREAM with CANCEL (Node closes it without an error). The other codes
 * come as Node's `Stream closed with error code NGHTTP2_…`.
 */
const H2_UNANSWERED: Record<string, string> = {
  'HTTP/2: stream half-closed (remote)':
    'the server ended the HTTP/2 stream before any answer (END_STREAM or RST_STREAM NO_ERROR before its headers)',
  'HTTP/2: stream closed before the response was complete':
    'the server reset the HTTP/2 stream before any answer (RST_STREAM CANCEL before its headers)',
}

/** What a connection or framing failure means, in words, its code after them to search for. */
const NETWORK_WORDS: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused',
  ECONNRESET: 'the server reset the connection',
  EPIPE: 'the server closed the connection as the request was sent',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  EAI_AGAIN: 'the name lookup failed for now: its DNS server answered SERVFAIL, or none answered',
  UND_ERR_SOCKET: 'the server closed the connection',
  UND_ERR_CLOSED: 'the connection was closed',
  // A head refused after its Content-Length is reported with the parser's reason (undici-h1-parser.ts
  // `readAsCurlDoes`; undici blamed the length).
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'the body does not match its Content-Length',
  UND_ERR_HEADERS_OVERFLOW: `the answer's headers are over ${MAX_HEADER_WORDS}, more than imgpull reads`,
}

/** What llhttp refuses in a chunk extension (the text after a chunk size's `;`). */
const CHUNK_EXTENSION_WORDS =
  "a chunk extension (after a chunk size and `;`) with white space around its `;` or `=` (RFC 9112 §7.1.1 allows it, curl and wget2 read it; imgpull's parser does not) or a character no extension holds"

/** What llhttp refuses at a chunk-size line's end: an LF without its CR. */
const BARE_LF_WORDS =
  'a chunk-size line not ended by CRLF (a bare LF, which curl reads and wget2 and nginx refuse)'

/** What llhttp refuses after a chunk's data: no CRLF where its size says it ends. */
const CHUNK_DATA_WORDS = 'a chunk whose data is not followed by a line end (not as long as its size says?)'

/** llhttp's reasons that say little to a person, in words. */
const PARSER_WORDS: Record<string, string> = {
  'Invalid EOF state':
    'the connection closed inside the answer (a chunked body without its last chunk or final CRLF)',
  // Lines that agree are read as one (undici-h1-parser.ts `forgetLength`); llhttp's words stay for a layout
  // of its memory that imgpull does not know.
  'Duplicate Content-Length': 'two Content-Length headers',
  // Said by undici-h1-parser.ts `readAsCurlDoes`.
  'Content-Length headers that differ':
    'Content-Length headers that give different lengths, so where the body ends is in doubt',
  'Invalid header token': 'a header name with a space or another character no header name may hold',
  'Invalid character in chunk size': 'a chunk-size line that is not a hexadecimal number',
  // Not read: white space there is RFC 9112 §7.1.1's BWS, which curl and wget2 read and
  // llhttp has no leniency for; servers almost never send extensions at all.
  'Invalid character in chunk extensions': CHUNK_EXTENSION_WORDS,
  'Invalid character in chunk extensions name': CHUNK_EXTENSION_WORDS,
  'Invalid character in chunk extensions value': CHUNK_EXTENSION_WORDS,
  'Invalid character in chunk extensions quoted value': CHUNK_EXTENSION_WORDS,
  // llhttp's other words for an extension (a quoted-pair of a control character, nodejs/llhttp#253;
  // its misspelt 'quote value'; a line end where a name or value goes on): said as the rest are.
  'Invalid quoted-pair in chunk extensions quoted value': CHUNK_EXTENSION_WORDS,
  'Invalid character in chunk extensions quote value': CHUNK_EXTENSION_WORDS,
  'Missing expected CR after chunk extension name': CHUNK_EXTENSION_WORDS,
  'Missing expected CR after chunk extension value': CHUNK_EXTENSION_WORDS,
  // A size of 2^64 bytes or more (over 16 hex digits past its leading zeros; haproxy/haproxy#1064 is a
  // proxy's own limit at 2 GiB) is no chunk's: bytes where a chunk-size line belongs that only
  // look like one (a body not chunked, framed as chunked).
  'Chunk size overflow':
    'a chunk size of 2^64 bytes or more (hexadecimal digits where a chunk-size line belongs, but no size)',
  // Not read (see README, 'Answers that are not well-formed HTTP'): llhttp's leniency for it
  // takes a chunk's first byte, when it is an LF, for the size line's end, and keeps a wrong file.
  'Expected LF after chunk size': BARE_LF_WORDS,
  'Missing expected CR after chunk size': BARE_LF_WORDS,
  'Expected LF after chunk data': CHUNK_DATA_WORDS,
  'Missing expected CR after chunk data': CHUNK_DATA_WORDS,
  'Expected HTTP/, RTSP/ or ICE/': 'an answer that does not begin with `HTTP/`',
  // Said by undici-h1-parser.ts `readAsCurlDoes`, where undici would assert.
  'Invalid status code below 100': 'a status code below 100 (RFC 9110 §15 allows 100 to 599)',
}

/**
 * What is wrong with a `Content-Length` llhttp refused, from the bytes it stopped at (undici's
 * `HTTPParserError.data`, from the refused character to the end of what was read): a list
 * (`7416, 7400`), a sign (`-1`, which some servers send for a length they do not know; `+7416`),
 * or another character, shown as it came.
 */
export function contentLengthWords(data: unknown): string {
  const rest = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('latin1') : ''
  const at = quoted(rest.split(/\r?\n/, 1)[0], 40)
  // A list of one length is read as that length (mend-head.ts `mendHead`): one that is left differs.
  if (/^\s*,/.test(at))
    return `a Content-Length that is a list of different lengths (\`${at}\`), so where the body ends is in doubt`
  if (at.startsWith('-')) return `a negative Content-Length (\`${at}\`: a length the server did not know?)`
  if (at.startsWith('+')) return `a Content-Length with a plus sign (\`${at}\`)`
  return at === ''
    ? 'a Content-Length that is not one number'
    : `a Content-Length that is not one number (at \`${at}\`)`
}

/** Node's error for a TLS socket closed before its handshake was done (see `networkWords`). */
export const handshakeCut = (cause: unknown): boolean =>
  errorCode(cause) === 'ECONNRESET' &&
  /before secure TLS connection was established/.test((cause as Error | undefined)?.message ?? '')

/**
 * ` at each of its N addresses (…)` where Node tried several addresses of the name and each failed
 * (its AggregateError, autoSelectFamily: RFC 8305), or `''`. Node gives that error no message and
 * the first failure's code: "the connection was refused" read as one address refusing, where a
 * name's every address, of both families, had (node-fetch/node-fetch#1841).
 */
function eachAddress(cause: Error): string {
  const errors = (cause as { errors?: unknown }).errors
  if (!Array.isArray(errors)) return ''
  const addresses = [
    ...new Set(
      errors
        .map((e) => (e as { address?: unknown } | undefined)?.address)
        .filter((a) => typeof a === 'string'),
    ),
  ]
  return addresses.length > 1 ? ` at each of its ${addresses.length} addresses (${addresses.join(', ')})` : ''
}

function networkWords(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause)
  const code = (cause as NodeJS.ErrnoException).code
  // undici's HTTP/1.1 parser drops the connection on bytes that come with no request waiting (an
  // unasked-for `100 Continue` is read past: see undici-h1-parser.ts `readAsCurlDoes`).
  if (code === 'UND_ERR_SOCKET' && cause.message === 'bad response')
    return `the server sent an answer that was not asked for: bytes after the end of the answer before (${code})`
  // A 101 Switching Protocols to a request that asked for no upgrade (RFC 9110 §15.2.2: the
  // server may switch only to what the request's Upgrade lists): undici drops the connection.
  if (code === 'UND_ERR_SOCKET' && cause.message === 'bad upgrade')
    return `the server answered 101 Switching Protocols, an upgrade the request did not ask for (${code})`
  // Reaches here only when the answer had begun (see http1-fallback.ts): before that, the request
  // went again over HTTP/1.1 without failing. The origin is remembered: the next attempt uses it.
  if (asksForHttp1(cause))
    return `the server asks for HTTP/1.1 (HTTP/2 error HTTP_1_1_REQUIRED, RFC 9113 §7); later requests to it use HTTP/1.1 (${code})`
  // Its message says it (undici-h2.ts `pingOrClose`); undici's code for it says the server closed it.
  if (isSilentHttp2(cause)) return `${cause.message} (${code})`
  const slowDown = slowDownWords(cause)
  if (slowDown) return slowDown
  if (code === 'UND_ERR_INFO' && H2_UNANSWERED[cause.message])
    return `${H2_UNANSWERED[cause.message]} (${code})`
  const h2 = http2ErrorCode(cause)
  // Node's words name the code alone. Before an answer this reaches here only where HTTP/1.1
  // could not be had (see http1-fallback.ts); a body without a length may be cut so too.
  if (code === 'ERR_HTTP2_STREAM_ERROR' && h2 === PROTOCOL_ERROR)
    return `the HTTP/2 stream was reset with PROTOCOL_ERROR (by nghttp2 for a head HTTP/2 forbids, with a field such as Connection or Transfer-Encoding, RFC 9113 §8.2.2, or by the server) (${code})`
  if (code === 'UND_ERR_SOCKET' && h2 !== undefined)
    return `the server ended the HTTP/2 connection (GOAWAY, error code ${h2}) (${code})`
  // Node's words for a TLS socket that closed before its handshake was done: no reset need have
  // come (a FIN does it too), and it is the handshake that was cut (a server or middlebox that
  // drops the connection at the ClientHello; a proxy's tunnel closed at once).
  if (handshakeCut(cause))
    return `the connection closed during the TLS handshake, before any answer (${code})`
  // nghttp2's words for bytes that are not HTTP/2 on a connection that agreed to speak it (ALPN
  // h2): often a server or TLS front end that offers h2 and answers in HTTP/1.1; nghttp2 1.69 (Node
  // 22) says the same of a header field over 64 KiB, which 1.61 (Node 20) ended the session over
  // unheard (undici-h2.ts `endIfHttp2Abandoned`).
  // The same refusal once the server's SETTINGS had come: it was speaking HTTP/2 (hyperium/h2#200:
  // servers that push though the client disabled push; oven-sh/bun#42391: Node ends the session
  // over an ALTSVC frame RFC 7838 §4 says to ignore).
  if (refusedHttp2Frame(cause)) return `the server ${REFUSED_FRAME}; --no-http2 keeps to HTTP/1.1 (${code})`
  if (notHttp2(cause))
    return `what the server sent is not HTTP/2 as nghttp2 reads it, though its TLS handshake agreed to HTTP/2 (a server that offers h2 and speaks HTTP/1.1, or a header field over 64 KiB?); --no-http2 keeps to HTTP/1.1 (${code})`
  // The others of nghttp2 over what the server sent: its answer had begun, or HTTP/1.1 failed too.
  const broken = brokenHttp2Words(cause)
  if (broken)
    return `the server ${broken}${http1Wanted(cause, true) && !onHttp2Only(cause) ? '; later requests to it use HTTP/1.1' : ''} (${code})`
  const slowAnswer = code === 'EAI_AGAIN' ? dnsAnswered(cause) : undefined
  if (slowAnswer)
    return `the name lookup failed for now: its DNS server answered ${slowAnswer.said} (after ${(slowAnswer.ms / 1000).toFixed(1)} s) (${code})`
  const silence = code === 'EAI_AGAIN' ? unansweredLookup(cause) : undefined
  if (silence)
    return `the name lookup got no answer: the DNS resolver did not answer in ${(silence.ms / 1000).toFixed(0)} s${silence.inARow > 1 ? `, ${silence.inARow} lookups in a row` : ''} (${code})`
  if (code && NETWORK_WORDS[code]) return `${NETWORK_WORDS[code]}${eachAddress(cause)} (${code})`
  // OpenSSL's reason (`bad record mac`, `tlsv1 alert internal error`) on a connection whose
  // handshake was done: not the handshake's failure its code's family suggests.
  // An alert is the server's own word that it ended the connection (`sslv3 alert bad record mac`:
  // a record of ours it could not decrypt), not a record of its that came here corrupt.
  if (code?.startsWith('ERR_SSL_') && afterHandshake(cause)) {
    const reason = code.slice(8).toLowerCase().replaceAll('_', ' ')
    const alert = /alert (.+)$/.exec(reason)?.[1]
    return alert
      ? `the server ended the TLS connection after its handshake with a fatal alert (${alert}) (${code})`
      : `the TLS connection failed after its handshake (${reason}: a corrupt record?) (${code})`
  }

  // A port that speaks HTTP/2 alone in cleartext: its SETTINGS frame, shown as bytes, said nothing.
  if (answeredInHttp2(cause))
    return `the server answered in HTTP/2 (a SETTINGS frame) to an HTTP/1.1 request: the port speaks only cleartext HTTP/2 (h2c with prior knowledge), which browsers and imgpull do not speak (curl: --http2-prior-knowledge)${code ? ` (${code})` : ''}`
  // llhttp's parse errors (undici's HTTPParserError): the answer is not well-formed HTTP.
  if (code?.startsWith('HPE_') || cause.name === 'HTTPParserError' || /^Parse Error/.test(cause.message)) {
    const why = /\(([^)]+)\)$/.exec(cause.message)?.[1] ?? cause.message.replace(/^Parse Error: /, '')
    // undici-h1-parser.ts `readAsCurlDoes` names a status line llhttp stopped in: the culprit, as it came.
    const { statusLine, headless } = cause as { statusLine?: unknown; headless?: unknown }
    const words =
      why === 'Invalid character in Content-Length'
        ? contentLengthWords((cause as { data?: unknown }).data)
        : typeof headless === 'string' && why === 'Expected HTTP/, RTSP/ or ICE/'
          ? `no status line nor head, only a body: ${quoted(headless, 120)} (an HTTP/0.9 answer, or a server that is no HTTP server; curl refuses it too: "Received HTTP/0.9 when not allowed")`
          : typeof statusLine === 'string'
            ? `a status line that is not HTTP/1.1's (\`${quoted(statusLine, 60)}\`: ${PARSER_WORDS[why] ?? why})`
            : (PARSER_WORDS[why] ?? why)
    return `the answer is not well-formed HTTP: ${words}${code ? ` (${code})` : ''}`
  }
  // A bare code (`UNSPECIFIED`) says less than the message it came with.
  return code && cause.message && cause.message !== code
    ? `${cause.message} (${code})`
    : code || cause.message
}

/**
 * The codes of a `UsageError`, each with what it means: a contract for callers (`error.code`, as
 * Node's errors carry one), listed in the README's Library section, which a test keeps in step.
 */
export const USAGE_CODES = {
  usage:
    "input or a setting the run cannot use: an item of the source that is neither a URL nor a job, a list or table it cannot read past, a file not imgpull's where it writes its own",
  'folder-busy': 'another run holds the output folder (a `FolderBusyError`, its `holder` naming that run)',
} as const

/** What a `UsageError` is, as its `code` says it (see `USAGE_CODES`). */
export type UsageCode = keyof typeof USAGE_CODES

/**
 * A file an option names that cannot be read where the run is (`cookies`, `netrc`, `caCert`,
 * `clientCert`, `clientKey`; `option`, and `path` as given): a `TypeError`, as every option a run
 * cannot use is, its message naming both. Typed apart so that a queue's worker tells its own
 * machine's fault (the enqueue's path not reaching it) from its shard's.
 */
export class OptionFileError extends TypeError {
  readonly code = 'option-file'
  constructor(
    readonly option: string,
    readonly path: string,
    message: string,
  ) {
    super(message)
  }
}

/** Input the tool was given that it cannot use (bad option, unreadable file): exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError'
  /** `usage`, or `folder-busy` for a `FolderBusyError` (see `USAGE_CODES`). */
  readonly code: UsageCode = 'usage'
}

/**
 * What a `FolderBusyError` says of `out` and its holder. The holder this very process (two
 * pull()s at once into one folder) is said so: "stop pid N" named the caller itself, as if another
 * program held the folder (LibrePCB/LibrePCB#1806 tells a lock of its own instance from another's).
 */
function folderBusyWords(
  holder: { pid: number; host: string; startedAt: number } | undefined,
  out: string,
): string {
  if (holder === undefined)
    return `${out} is in use by another imgpull run (its pid is not known yet); wait for it to end, or stop it`
  const started = new Date(holder.startedAt).toISOString()
  if (holder.pid === process.pid && holder.host === hostname())
    return `${out} is in use by another run of this process (a pull() started ${started}, not ended yet); await its end first, or give each run its own out`
  return `${out} is in use by another imgpull run (pid ${holder.pid} on ${holder.host}, started ${started}); wait for it to end, or stop it`
}

/** Another run holds the output folder (see `FolderLock`): exit code 2, naming that run. */
export class FolderBusyError extends UsageError {
  override name = 'FolderBusyError'
  override readonly code = 'folder-busy'
  constructor(
    readonly holder: { pid: number; host: string; startedAt: number } | undefined,
    out = 'the output folder',
  ) {
    super(folderBusyWords(holder, out))
  }
}

/**
 * The codes of a `FatalError`, each with what it means: a contract for callers (`error.code`),
 * listed in the README's Library section, which a test keeps in step with this one.
 */
export const FATAL_CODES = {
  disk: "a file in the output folder cannot be written (a full disk, a read-only one, no permission: `cause` holds the system error, `ENOSPC`, `EACCES`...), or the folder's lock is damaged",
  output:
    'the output folder cannot be made, or something that is not a file holds the name of one imgpull keeps there',
  journal:
    'the journal (SQLite, `OUT/.imgpull/journal.db`) cannot be opened, written or read, or its SQLite module (better-sqlite3) cannot be loaded',
  descriptors: 'the process is out of open files (`ulimit -n`)',
  threads: 'no transfer thread could start (`threads`)',
  'transform-unavailable': 'the image workers of a transform cannot start (sharp missing or not loadable)',
  'queue-folder': "a queue's worker: its output folder holds files no worker of its queue wrote",
  local: "a queue's worker: another fault of its own machine or setup",
} as const

/** What stopped a run, as `FatalError.code` says it (see `FATAL_CODES`). */
export type FatalCode = keyof typeof FATAL_CODES

/** The run cannot go on (disk full, output folder unwritable): stop, keep what is done. */
export class FatalError extends ImgpullError {
  override name = 'FatalError'
  /** Which fault stopped the run (see `FATAL_CODES`): `disk`, `output`, `journal`, `descriptors`... */
  declare readonly code: FatalCode
  /** What a person can do about it, e.g. `free some space, then run the same command again`. */
  readonly hint: string | undefined
  constructor(code: FatalCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(code, message, { cause: options.cause })
    this.hint = options.hint
  }
}
