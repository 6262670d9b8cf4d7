import symbols from 'undici/lib/core/symbols.js'
import { headlessBody } from '../verify/not-image.js'
import { mendHead } from './mend-head.js'

// undici's HTTP/1.1 parser (llhttp) made to read what curl reads: its leniencies, heads mended
// and held whole (see mend-head.ts), framing fields and lengths as RFC 9112 reads them; and what
// its state says as a connection ends (a chunk cut, an interim answer, a head begun).

/**
 * Whether bytes of an HTTP/1.1 answer's head have come on `socket` and its head is not whole yet
 * (a head is held until its end, see `mendHead`): a server sending its head slowly, not one that
 * has not answered. False over HTTP/2 (a head comes in one frame).
 */
export function headBegun(socket: object | undefined): boolean {
  return ((parserOf(socket) as { [HELD]?: Buffer[] } | undefined)?.[HELD]?.length ?? 0) > 0
}

/**
 * The status of the interim answer (`100 Continue`, `102 Processing`, `103 Early Hints`) the
 * connection on `socket` read last, when no final answer came after it: a server that answers
 * `100 Continue` and then never the final answer (ratpack/ratpack#852) is told from silence.
 */
export function interimAnswer(socket: object | undefined): number | undefined {
  return (parserOf(socket) as { [INTERIM_READ]?: number } | undefined)?.[INTERIM_READ]
}

/** The HTTP/1.1 parser undici keeps on a socket (none on an HTTP/2 one). */
export function parserOf(socket: object | undefined): object | undefined {
  return socket ? ((socket as Record<symbol, unknown>)[symbols.kParser] as object | undefined) : undefined
}

/** Bytes a chunk still owed when its connection ended (see `chunkLeftAtClose`), by socket. */
const chunkLeftOn = new WeakMap<object, bigint>()
const NOTES_CHUNK_CUTS = Symbol('imgpull.notesChunkCuts')

/**
 * The bytes of a chunk that had not come when the connection of a chunked answer ended: its
 * chunk-size line promised them (RFC 9112 §7.1), so the body was cut inside a chunk, a cut as
 * sure as one short of a `Content-Length`. `undefined` where it ended at a chunk's edge (a server
 * that closes instead of sending its last chunk, see body-end.ts `endedByClose`), or was not chunked, or where
 * llhttp's state does not lie where `LLHTTP_*` say. A bigint: a chunk-size line may claim past 2^53.
 */
export function chunkLeftAtClose(socket: object | undefined): bigint | undefined {
  return socket ? chunkLeftOn.get(socket) : undefined
}

/** Chunked answers whose last chunk had come when their connection ended (see `lastChunkAtClose`). */
const lastChunkOn = new WeakSet<object>()

/**
 * Whether the last chunk of a chunked answer (`0` and its line's end, RFC 9112 §7.1) had come
 * when its connection ended, closed or dropped at the idle timeout, and only the trailer section's
 * empty line had not: no byte of the body can follow the last chunk, so it marked where the body
 * ends. Servers that never write that line (h2o before #2097, tiny_httpd#56) are read so by
 * Varnish and Starlet; llhttp waits for it, and undici fails the answer at the close.
 */
export function lastChunkAtClose(socket: object | undefined): boolean {
  return socket !== undefined && lastChunkOn.has(socket)
}

/** Chunked answers whose trailer section llhttp refused a line of (see `trailerRefused`). */
const trailerRefusedOn = new WeakSet<object>()

/**
 * Whether llhttp refused a line of a chunked answer's trailer section, after its last chunk (`0`
 * and its line's end) had come: a line that is no field (`not a field`, a space inside its name),
 * which in a head is skipped (see mend-head.ts `mendHead`). The body ended where its last chunk
 * marked it; the trailer section carries nothing imgpull reads, and RFC 9112 §7.1.2 has a recipient
 * discard fields it does not understand (httrack read its section so, xroche/httrack#855). The
 * answer failed as `network` on every attempt and rerun, its body whole.
 */
export function trailerRefused(socket: object | undefined): boolean {
  return socket !== undefined && trailerRefusedOn.has(socket)
}

/** Sockets whose last final answer has ended, no request written on them since (see `strayAfterAnswer`). */
const answerEndedOn = new WeakSet<object>()
/** Sockets on which bytes came after a final answer's end, no request written since (see `strayAfterAnswer`). */
const strayOn = new WeakSet<object>()

/**
 * Whether bytes came on `socket` after the end its last final answer's framing marked (its
 * `Content-Length` met, its last chunk), before any other request was written on it, other than
 * line ends and last chunks sent again (see `NO_MORE_BODY`):
 * bytes no request asked for, so the framing did not mark where the server's body ended. A server
 * that writes a zero-length chunk when its application hands it an empty piece ends the body there
 * and sends the rest after it (puma/puma#743, fukamachi/woo#85, ninenines/cowboy#777); a
 * `Content-Length` short of the body leaves the rest after it too. undici reads them as no answer
 * and drops the connection; the answer before them was taken as whole (a GIF cut between its
 * frames was kept). Known only for bytes that come before the file is judged: with its end, as such
 * a server writes them.
 */
export function strayAfterAnswer(socket: object | undefined): boolean {
  return socket !== undefined && strayOn.has(socket)
}

const HEARS_UNSHIFT = Symbol('imgpull.hearsUnshift')

/**
 * A request's head was written on `socket`: bytes after the last answer are its answer's (see
 * `strayAfterAnswer`). The bytes undici hands back to a socket it ends after an answer (an answer
 * that closes its connection: client-h1.js `onMessageComplete` pauses llhttp there and `execute`
 * unshifts the rest) are heard too, once a socket's first request is written.
 */
export function requestWritten(socket: object): void {
  answerEndedOn.delete(socket)
  const hooked = socket as { unshift?: (chunk: Buffer, ...rest: unknown[]) => void; [HEARS_UNSHIFT]?: true }
  if (hooked[HEARS_UNSHIFT] || typeof hooked.unshift !== 'function') return
  hooked[HEARS_UNSHIFT] = true
  const unshift = hooked.unshift
  hooked.unshift = function (this: object, chunk: Buffer, ...rest: unknown[]) {
    if (Buffer.isBuffer(chunk)) noteStray(socket, chunk)
    return unshift.call(this, chunk, ...rest)
  }
}

/**
 * Line ends, and last chunks sent again (a server that writes the terminator for an empty piece
 * and again at the end, kazeburo/Monoceros#13, cloudflare/pingora#935): nothing of the body.
 */
const NO_MORE_BODY = /^(?:\r|\n|0\r\n\r\n)*$/

/** Note `bytes`, come on `socket` after its last answer ended, as stray (see `strayAfterAnswer`). */
function noteStray(socket: object, bytes: Buffer): void {
  if (!answerEndedOn.has(socket) || bytes.length === 0) return
  if (bytes.length > 1024 || !NO_MORE_BODY.test(bytes.toString('latin1'))) strayOn.add(socket)
}

/** Whether llhttp, whose parser is `parser`, is reading the trailer section of a chunked answer. */
function inTrailer(parser: LlhttpParser): boolean {
  const state = llhttpState(parser)
  if (state?.getUint16(LLHTTP_STATUS, true) !== parser.statusCode) return false
  const flags = state.getUint16(LLHTTP_FLAGS, true)
  return (flags & (F_CHUNKED | F_TRAILING)) === (F_CHUNKED | F_TRAILING)
}

/**
 * Note, as its connection ends, how much of its chunk a chunked answer still owed: read from
 * llhttp's state (its `content_length` counts down the current chunk's bytes, 0 between chunks)
 * before undici finishes the parser (an answer that closes its connection) or frees it (at the
 * socket's close), which it does before the request hears of the close. Patched once, on the
 * prototype of the first parser met, as `drainBeforeFinish` is (undici-connection-notes.ts).
 */
export function noteChunkCuts(parser: object): void {
  const proto = Object.getPrototypeOf(parser) as LlhttpParser & {
    finish?: () => unknown
    destroy?: () => unknown
    [NOTES_CHUNK_CUTS]?: true
  }
  if (proto[NOTES_CHUNK_CUTS] || typeof proto.finish !== 'function' || typeof proto.destroy !== 'function')
    return
  proto[NOTES_CHUNK_CUTS] = true
  const { finish, destroy } = proto
  proto.finish = function (this: LlhttpParser) {
    noteChunkLeft(this)
    return finish.call(this)
  }
  proto.destroy = function (this: LlhttpParser) {
    noteChunkLeft(this)
    return destroy.call(this)
  }
}

function noteChunkLeft(parser: LlhttpParser): void {
  const socket = parser.socket as object | undefined
  if (!socket || chunkLeftOn.has(socket) || !parser.statusCode) return
  const state = llhttpState(parser)
  if (state?.getUint16(LLHTTP_STATUS, true) !== parser.statusCode) return
  // A parse error (a chunk-size line llhttp refused) is no cut: it is said as the error it is.
  if (state.getInt32(LLHTTP_ERROR, true) !== 0 || !(state.getUint16(LLHTTP_FLAGS, true) & F_CHUNKED)) return
  // llhttp sets F_TRAILING where the chunk-size line of size 0 ends, and reads trailers after it.
  if (state.getUint16(LLHTTP_FLAGS, true) & F_TRAILING) lastChunkOn.add(socket)
  const left = state.getBigUint64(LLHTTP_CONTENT_LENGTH, true)
  if (left > 0n) chunkLeftOn.set(socket, left)
}

/**
 * llhttp's leniencies imgpull turns on for every HTTP/1.1 answer (llhttp.h `llhttp_set_lenient_*`;
 * undici's WebAssembly build exports them but never calls them). Each reads an answer curl,
 * wget2 and Python's requests read, from embedded servers, cameras and hand-written scripts, and
 * none changes where an answer ends but as RFC 9112 says it must:
 * - `optional_cr_before_lf`: lines ended by a bare LF (RFC 9112 §2.2 lets a recipient take LF alone);
 * - `headers`: control characters in a header's value, a space before the colon of a name llhttp
 *   knows (`Content-Length`...; any other name's, see `mendHead`), a folded header line (obs-fold,
 *   RFC 9112 §5.2 lets a user agent replace it by a space);
 * - `spaces_after_chunk_size`: `5 \r\n` (bad white space, RFC 9112 §7.1.1);
 * - `chunked_length`: `Transfer-Encoding: chunked` beside a `Content-Length`, the first ruling
 *   (RFC 9112 §6.3: it overrides the length). The connection is closed after such an answer
 *   (see `readAsCurlDoes`): the server's framing is in doubt, so nothing else is read on it.
 */
const LENIENCIES = [
  'llhttp_set_lenient_optional_cr_before_lf',
  'llhttp_set_lenient_headers',
  'llhttp_set_lenient_spaces_after_chunk_size',
  'llhttp_set_lenient_chunked_length',
] as const

const LENIENT = Symbol('imgpull.lenient')
const EARLIER_LENGTHS = Symbol('imgpull.earlierLengths')
const HELD = Symbol('imgpull.heldHead')
/** On a parser: the status of the interim answer read last, none final since (see `interimAnswer`). */
const INTERIM_READ = Symbol('imgpull.interim')
const HEAD_READ = Symbol('imgpull.headRead')

interface LlhttpParser {
  llhttp: Partial<Record<(typeof LENIENCIES)[number], (parser: number, on: number) => void>> & {
    /** The wasm parser's memory (a `WebAssembly.Memory`). */
    memory?: { buffer: ArrayBuffer }
  }
  ptr: number
  statusCode: number
  /** The answer switches the connection to another protocol (a `CONNECT`'s `200`, a `101`). */
  upgrade: boolean
  contentLength: string
  /** The `Keep-Alive` and `Connection` values undici gathers as it reads a head. */
  keepAlive: string
  connection: string
  headers: Buffer[]
  headersSize: number
  socket: { destroyed: boolean } & Record<symbol, unknown>
  /** undici's client of the connection: its queue of requests, the one answered at its running index. */
  client?: Record<symbol, unknown>
  execute(data: Buffer): unknown
  createError(code: number, data: Buffer): Error
  onHeaderField(buf: Buffer): number
  onHeaderValue(buf: Buffer): number
  onHeadersComplete(statusCode: number, upgrade: boolean, shouldKeepAlive: boolean): number
  onMessageComplete(): number
  [LENIENT]?: true
  /** The values of this head's `Content-Length` lines before its last (see `forgetLength`). */
  [EARLIER_LENGTHS]?: string[]
  /** A head not yet ended, its pieces in order, not given to llhttp yet (see `mendHead`). */
  [HELD]?: Buffer[]
  /** What llhttp is given of a head, while it reads it (see `statusLineAt`). */
  [HEAD_READ]?: Buffer
}

/** Whether the request `parser` reads the answer to is a `CONNECT` (its 2xx opens a tunnel). */
function askedConnect(parser: LlhttpParser): boolean {
  const queue = parser.client?.[symbols.kQueue] as ({ method?: string } | null)[] | undefined
  return queue?.[parser.client?.[symbols.kRunningIdx] as number]?.method === 'CONNECT'
}

/** Fields llhttp frames a message or manages its connection by, also from a trailer section. */
const FRAMING_FIELDS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade'])

/** Whether raw header lines (`[name, value, ...]`) hold `name` (lower-case); lengths compared first. */
function hasHeader(raw: Buffer[], name: string): boolean {
  for (let i = 0; i < raw.length; i += 2)
    if (raw[i].length === name.length && raw[i].toString('latin1').toLowerCase() === name) return true
  return false
}

/** Raw header lines without those named `name` (lower-case). */
function withoutHeader(raw: Buffer[], name: string): Buffer[] {
  const kept: Buffer[] = []
  for (let i = 0; i < raw.length; i += 2)
    if (raw[i].length !== name.length || raw[i].toString('latin1').toLowerCase() !== name)
      kept.push(raw[i], raw[i + 1])
  return kept
}

/** Whether every `Transfer-Encoding` of raw header lines names `identity` alone (any case, listed or not). */
function onlyIdentity(raw: Buffer[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length !== 17 || raw[i].toString('latin1').toLowerCase() !== 'transfer-encoding') continue
    const codings = raw[i + 1].toString('latin1').split(',')
    if (!codings.every((c) => c.trim() === '' || c.trim().toLowerCase() === 'identity')) return false
  }
  return true
}

/**
 * Where llhttp keeps its state (llhttp.h `llhttp__internal_s`, as undici's wasm32 build lays it
 * out): its error (0: none), the body's length (or what is left of the current chunk), the flags
 * its framing is decided from, the status. `F_*`: llhttp's
 * flags (llhttp.h `llhttp_flags`).
 */
const LLHTTP_ERROR = 12
const LLHTTP_CONTENT_LENGTH = 32
const LLHTTP_FLAGS = 50
const LLHTTP_STATUS = 52
const F_CHUNKED = 0x8
const F_CONTENT_LENGTH = 0x20
const F_TRAILING = 0x80
const F_TRANSFER_ENCODING = 0x200

/** llhttp's state in its memory, when the parser has one there with room for every `LLHTTP_*` field. */
function llhttpState(parser: LlhttpParser): DataView | undefined {
  const buffer = parser.llhttp.memory?.buffer
  if (
    !(buffer instanceof ArrayBuffer) ||
    !(parser.ptr > 0) ||
    parser.ptr + LLHTTP_STATUS + 2 > buffer.byteLength
  )
    return undefined
  return new DataView(buffer, parser.ptr)
}

/**
 * llhttp's state in its memory, when it lies where `LLHTTP_*` say and holds the `Content-Length`
 * undici gathered for the head being read; `undefined` otherwise (another layout: change nothing).
 */
function withLength(parser: LlhttpParser): DataView | undefined {
  const length = Number(parser.contentLength.trim())
  const state = Number.isSafeInteger(length) ? llhttpState(parser) : undefined
  return state?.getBigUint64(LLHTTP_CONTENT_LENGTH, true) === BigInt(length) ? state : undefined
}

/**
 * Have llhttp frame the answer whose head it has just read by its `Content-Length`, its
 * `Transfer-Encoding` forgotten. For `Transfer-Encoding: identity`, the no-op coding RFC 2616's
 * drafts named, which old servers and libraries still send beside a length (hyper#2058,
 * cro-http#89): RFC 9112 §6.3 reads such a body to the close, and a server that keeps the
 * connection open held each file to the idle timeout; curl and browsers read it by its length.
 * llhttp decides its framing from its flags after this callback, and has no call to change them:
 * they are changed in its memory, only where the fields there are the ones this answer shows (its
 * status, its length, its flags), so another layout changes nothing and the answer is read to the
 * close as before. Returns whether it did.
 */
function frameByLength(parser: LlhttpParser, statusCode: number): boolean {
  return reframe(parser, statusCode, F_CONTENT_LENGTH | F_TRANSFER_ENCODING, F_TRANSFER_ENCODING)
}

/**
 * Clear the framing flags `drop` (and the length with `F_CONTENT_LENGTH`) in llhttp's memory for
 * the answer whose head it has just read, where its status is `statusCode` and its framing flags
 * are exactly `has` (see `frameByLength`, `readToClose`). Returns whether it did.
 */
function reframe(parser: LlhttpParser, statusCode: number, has: number, drop: number): boolean {
  const state = withLength(parser)
  if (!state) return false
  const flags = state.getUint16(LLHTTP_FLAGS, true)
  if (
    state.getUint16(LLHTTP_STATUS, true) !== statusCode ||
    (flags & (F_CHUNKED | F_CONTENT_LENGTH | F_TRANSFER_ENCODING)) !== has
  )
    return false
  state.setUint16(LLHTTP_FLAGS, flags & ~drop, true)
  if (drop & F_CONTENT_LENGTH) state.setBigUint64(LLHTTP_CONTENT_LENGTH, 0n, true)
  return true
}

/**
 * Let llhttp read one more `Content-Length` line in the head it is reading, whose name it has just
 * read: RFC 9110 §8.6 lets a recipient take lines that all give the same length as one, and curl,
 * wget2 and browsers do, where llhttp refuses the second as "Duplicate Content-Length" (a PHP
 * script's header beside its server's: nodejs/node#6517, request#2761). Its length and the flag
 * that says it has one are cleared in its memory, only where they are the ones read so far (see
 * `frameByLength`), and the value read so far is kept aside to be compared when the head ends
 * (see `readAsCurlDoes`). Returns whether it did; if not, llhttp refuses the line as before.
 */
function forgetLength(parser: LlhttpParser): boolean {
  const state = withLength(parser)
  if (!state) return false
  const flags = state.getUint16(LLHTTP_FLAGS, true)
  if (!(flags & F_CONTENT_LENGTH)) return false
  state.setUint16(LLHTTP_FLAGS, flags & ~F_CONTENT_LENGTH, true)
  state.setBigUint64(LLHTTP_CONTENT_LENGTH, 0n, true)
  parser[EARLIER_LENGTHS] = [...(parser[EARLIER_LENGTHS] ?? []), parser.contentLength]
  parser.contentLength = ''
  return true
}

/** Set on a socket for the request going out on it whose answer is read to the close (see `readToClose`). */
export const READ_PAST_LENGTH = Symbol('imgpull.readPastLength')

/**
 * Have llhttp read the answer whose head it has just read to the close, its `Content-Length`
 * forgotten: asked for an answer its length cut, from the same URL a moment before (see
 * transfer.ts `readPastLength`): a content-coded one whose coded stream had not ended when its
 * length did (the decoded size, from a server that measured the file before its compressor ran;
 * gzip of an image already compressed is longer than the image, so the body went on past it, and
 * its end, the gzip trailer with its size and CRC-32, was lost), or a plain image the length cut
 * (a script that counted its body before it added to it, MonstaApps/Monsta-FTP#65). wget2 reads
 * past the length so. Changed in its
 * memory as `frameByLength` changes it, only where the fields there are the ones this answer
 * shows; the connection is not used again. Returns whether it did.
 */
function readToClose(parser: LlhttpParser, statusCode: number): boolean {
  return reframe(parser, statusCode, F_CONTENT_LENGTH, F_CONTENT_LENGTH)
}

/**
 * The status line llhttp refused, when the place it stopped at (`rest`: from there to the end of
 * what it was given, `read`) is in a status line: what the error names (a status line is the
 * start of what was given, or follows an empty line there: after a 1xx's head).
 */
function statusLineAt(read: Buffer | undefined, rest: Buffer): { line: string; from: Buffer } | undefined {
  if (!read || rest.buffer !== read.buffer) return undefined
  const at = rest.byteOffset - read.byteOffset
  if (at < 0 || at > read.length) return undefined
  const start = at > 0 ? read.lastIndexOf(0x0a, at - 1) + 1 : 0
  // Line ends alone before it (see `mendHead`), or an empty line.
  const ends = start <= 16 && /^[\r\n]*$/.test(read.toString('latin1', 0, start))
  if (!ends && !/\n\r?\n$/.test(read.toString('latin1', Math.max(0, start - 3), start))) return undefined
  const end = read.indexOf(0x0a, start)
  const line = read.toString('latin1', start, end < 0 ? read.length : end).replace(/\r+$/, '')
  return line ? { line, from: read.subarray(start, start + HEADLESS_BYTES) } : undefined
}

/** Bytes of an answer with no status line looked at to say what they are (see `headlessBody`). */
const HEADLESS_BYTES = 1024
/** A line shaped as a status line is (`ICY 200 OK`, `RTSP/1.0 200 OK`), whatever its protocol. */
const STATUS_SHAPED = /^[A-Za-z][!-~]* +\d{3}(?: |$)/

/** Raw header lines with only the first of those named `name` (lower-case). */
function withFirstHeader(raw: Buffer[], name: string): Buffer[] {
  const kept: Buffer[] = []
  let seen = false
  for (let i = 0; i < raw.length; i += 2) {
    const named = raw[i].length === name.length && raw[i].toString('latin1').toLowerCase() === name
    if (named && seen) continue
    seen ||= named
    kept.push(raw[i], raw[i + 1])
  }
  return kept
}

/**
 * Make undici's HTTP/1.1 parser read what curl reads (nodejs/undici has no option for it):
 * - the `LENIENCIES` above, set on each parser before it reads its first byte;
 * - a head it still refuses is reported with llhttp's reason (see `createError` below);
 * - `Content-Length` lines that all give the same length, read as one (see `forgetLength`), and
 *   so a list of one length in one line (see `mendHead`); lines that differ are refused, as
 *   llhttp did: where the body ends is then in doubt; a space before any header's colon (see
 *   `mendHead`);
 * - an interim `100 Continue` no request asked for (imgpull never sends `Expect`), which undici
 *   takes for a broken connection (client-h1.js `onHeadersComplete`): read past, as any other
 *   1xx is (RFC 9110 §15.2: a client must be able to parse one, even unexpected);
 * - an answer with both `Transfer-Encoding` and `Content-Length`: its transfer coding gives its
 *   end and its `Content-Length` is dropped, never seen by the handler (RFC 9112 §6.3: it is
 *   overridden, and a sender must not send both), but for `Transfer-Encoding: identity`, framed
 *   by its length (see `frameByLength`); the connection is closed after it, so an attempt at
 *   response splitting reaches no other request.
 * Patched once, on the prototype of the first parser met, as `drainBeforeFinish` is
 * (undici-connection-notes.ts).
 */
export function readAsCurlDoes(parser: object): void {
  const proto = Object.getPrototypeOf(parser) as LlhttpParser
  if (Object.hasOwn(proto, LENIENT) || typeof proto.execute !== 'function') return
  proto[LENIENT] = true
  const execute = proto.execute
  proto.execute = function (this: LlhttpParser, data: Buffer) {
    if (!Object.hasOwn(this, LENIENT)) {
      this[LENIENT] = true
      for (const lenient of LENIENCIES) this.llhttp[lenient]?.(this.ptr, 1)
    }
    // No status yet: these bytes begin with a head, or go on with one (undici clears it at each
    // message's end).
    if (this.statusCode) return execute.call(this, data)
    const mended = mendHead(data, this[HELD], askedConnect(this))
    this[HELD] = mended.held
    // All held: nothing for llhttp yet (an empty read, as undici's own flush, changes nothing).
    if (mended.data.length === 0 && mended.held) return undefined
    // undici makes its error in this call, if any (client-h1.js `execute`): see `createError`.
    this[HEAD_READ] = mended.data
    try {
      return execute.call(this, mended.data)
    } finally {
      this[HEAD_READ] = undefined
    }
  }
  // undici blames a Content-Length for any parse error once one was read (client-h1.js
  // `createError`), also in a head no body has followed: llhttp's own reason is then the true one
  // ("Duplicate Content-Length", "Invalid header token"), not "does not match its Content-Length".
  const createError = proto.createError
  proto.createError = function (this: LlhttpParser, code: number, data: Buffer) {
    // llhttp skips line ends between answers: an answer begun after one ended, no request written
    // since, is bytes no request asked for, which undici refuses (see `strayAfterAnswer`).
    if (!this.statusCode && this.socket) noteStray(this.socket, data)
    if (this.statusCode) {
      // A line of the trailer section refused: the last chunk had come (see `trailerRefused`).
      if (this.socket && inTrailer(this)) {
        trailerRefusedOn.add(this.socket)
        lastChunkOn.add(this.socket)
      }
      return createError.call(this, code, data)
    }
    this.contentLength = ''
    const error = createError.call(this, code, data)
    const at = statusLineAt(this[HEAD_READ], data)
    if (at === undefined) return error
    // No status line at all, but a body (an HTTP/0.9 answer): what it is, said in place of its bytes.
    const headless = STATUS_SHAPED.test(at.line) ? undefined : headlessBody(at.from)
    return Object.assign(error, { statusLine: at.line, ...(headless ? { headless } : {}) })
  }
  const onHeaderField = proto.onHeaderField
  proto.onHeaderField = function (this: LlhttpParser, buf: Buffer) {
    const result = onHeaderField.call(this, buf)
    // Called with each piece of a name as it is read, before its value: a whole `Content-Length`
    // name after one already read in this head.
    const name = this.headers.at(-1)
    if (this.headers.length % 2 === 1 && this.contentLength !== '' && name?.length === 14)
      if (name.toString('latin1').toLowerCase() === 'content-length') forgetLength(this)
    return result
  }
  const onHeaderValue = proto.onHeaderValue
  proto.onHeaderValue = function (this: LlhttpParser, buf: Buffer) {
    // A status already read: a field of a chunked body's trailer section (undici reads it with the
    // head's callbacks). It may not frame the message or steer its connection (RFC 9110 §6.5.1)
    // and is not merged into the head (RFC 9112 §7.1.2), but undici gathered a `Content-Length`
    // there as the head's and failed the whole body as not matching it. llhttp does take a
    // `Transfer-Encoding` or `Connection` there for the next message's framing and refuses the
    // next answer on the connection: it is not kept for one.
    if (!this.statusCode) return onHeaderValue.call(this, buf)
    const { contentLength, keepAlive, connection } = this
    const result = onHeaderValue.call(this, buf)
    Object.assign(this, { contentLength, keepAlive, connection })
    const name = this.headers.at(-2)
    if (name && FRAMING_FIELDS.has(name.toString('latin1').toLowerCase())) this.socket[symbols.kReset] = true
    return result
  }
  const onMessageComplete = proto.onMessageComplete
  proto.onMessageComplete = function (this: LlhttpParser) {
    // A final answer's end (a 1xx's is read past: its final answer follows); not a CONNECT's, whose
    // connection carries a tunnel after it.
    if (this.socket && this.statusCode >= 200 && !this.upgrade) answerEndedOn.add(this.socket)
    return onMessageComplete.call(this)
  }
  const onHeadersComplete = proto.onHeadersComplete
  proto.onHeadersComplete = function (this: LlhttpParser, statusCode, upgrade, shouldKeepAlive) {
    const earlier = this[EARLIER_LENGTHS]
    if (earlier) {
      this[EARLIER_LENGTHS] = undefined
      const length = Number(this.contentLength.trim())
      // Lengths that differ put where the body ends in doubt, but where a transfer coding other
      // than `identity` frames it (RFC 9112 §6.3: it overrides every length; they are set aside
      // below, the connection closed after it), as curl reads it.
      const framedByCoding = hasHeader(this.headers, 'transfer-encoding') && !onlyIdentity(this.headers)
      if (!framedByCoding && earlier.some((value) => Number(value.trim()) !== length))
        throw new Error('Parse Error: Content-Length headers that differ')
      this.headers = withFirstHeader(this.headers, 'content-length')
    }
    // llhttp reads any three digits as a status; undici asserts it is at least 100 and throws a
    // bare AssertionError ("false == true" on Node 22) at a `099`. Thrown here as a parse error,
    // it reaches the same place (undici destroys the socket with it) in words.
    if (statusCode < 100)
      throw Object.assign(new Error('Parse Error: Invalid status code below 100'), {
        code: 'HPE_INVALID_STATUS',
      })
      // The interim answer read last, until a final one comes (see `interimAnswer`).
    ;(this as { [INTERIM_READ]?: number })[INTERIM_READ] =
      statusCode < 200 && statusCode !== 101 ? statusCode : undefined
    if (statusCode === 100 && !this.socket.destroyed) {
      // Read as a 1xx with no body: onMessageComplete clears it and the next head is read.
      this.statusCode = 100
      this.headers = []
      this.headersSize = 0
      return 1
    }
    // llhttp ends the message at any 101 and hands what follows to undici as another protocol's
    // (llhttp `after_headers_complete`), but names it an upgrade only beside `Connection: Upgrade`:
    // undici then met a bare `assert(upgrade)`. Named so, undici says it was not asked for.
    if (statusCode === 101) upgrade = true
    // undici gathers a Content-Length as it reads it: only an answer with one is looked through.
    if (this.contentLength !== '' && hasHeader(this.headers, 'transfer-encoding')) {
      if (onlyIdentity(this.headers) && frameByLength(this, statusCode))
        this.headers = withoutHeader(this.headers, 'transfer-encoding')
      else {
        this.headers = withoutHeader(this.headers, 'content-length')
        this.contentLength = ''
      }
      this.socket[symbols.kReset] = true
    }
    // A final answer to a request that asked to read past its length (see `readToClose`): one with
    // a length read to the close, the length no longer seen.
    if (statusCode >= 200 && this.socket[READ_PAST_LENGTH]) {
      this.socket[READ_PAST_LENGTH] = undefined
      if (this.contentLength !== '' && readToClose(this, statusCode)) {
        this.headers = withoutHeader(this.headers, 'content-length')
        this.contentLength = ''
        shouldKeepAlive = false
      }
    }
    return onHeadersComplete.call(this, statusCode, upgrade, shouldKeepAlive)
  }
}
