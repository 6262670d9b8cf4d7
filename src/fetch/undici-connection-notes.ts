import { subscribe } from 'node:diagnostics_channel'
import type { EventEmitter } from 'node:events'
import {
  headBegun,
  noteChunkCuts,
  parserOf,
  READ_PAST_LENGTH,
  readAsCurlDoes,
  requestWritten,
} from './undici-h1-parser.js'

// What is learnt of each connection a request goes out on, heard as undici writes its head
// (`undici:client:sendHeaders`): whether it was reused, its answers, its errors; and the HTTP/1.1
// parser behind it patched once (see undici-h1-parser.ts).

/** Answers received on each socket so far (final statuses, told by `noteAnswer`). */
const answeredOn = new WeakMap<object, number>()
/** The handler whose `onConnect` ran last, until its request's head is published. */
let connecting: ReuseNote | undefined
let watching = false

/** What `noteReuse` learns of a request's connection. */
export interface ReuseNote {
  /** Whether the connection had carried an earlier exchange to its answer; undefined when unknown. */
  reused?: boolean
  /** The connection (its socket), for `noteAnswer`. */
  socket?: object
  /** The answer's body is not to end at its `Content-Length` (see undici-h1-parser.ts `readToClose`). */
  readPastLength?: boolean
}

function onSendHeaders(message: unknown): void {
  const socket = (message as { socket?: object }).socket
  if (!drains) {
    const parser = parserOf(socket)
    if (parser) {
      drainBeforeFinish(parser)
      noteChunkCuts(parser)
      readAsCurlDoes(parser)
    }
  }
  if (socket) {
    hearErrors(socket)
    requestWritten(socket)
  }
  if (connecting && socket) {
    connecting.reused = (answeredOn.get(socket) ?? 0) > 0
    connecting.socket = socket
    if (connecting.readPastLength) (socket as Record<symbol, unknown>)[READ_PAST_LENGTH] = true
  }
  connecting = undefined
}

const DRAINS = Symbol('imgpull.drainsBeforeFinish')

/**
 * Whether the HTTP/1.1 answer now being read on `socket` ends its connection (`Connection: close`,
 * HTTP/1.0, a body read to the close): its parser must then not be left paused when the socket
 * ends (see `drainBeforeFinish`). False over HTTP/2, or before the answer's head.
 */
export function closesAfter(socket: object | undefined): boolean {
  return (parserOf(socket) as { shouldKeepAlive?: boolean } | undefined)?.shouldKeepAlive === false
}

/** Whether `socket` carries HTTP/1.1 (undici keeps its parser on it), not HTTP/2. */
export const isHttp1 = (socket: object | undefined): boolean => parserOf(socket) !== undefined

/** undici's parser prototype is patched (see `drainBeforeFinish`): once, not looked at again. */
let drains = false

interface H1Parser {
  paused: boolean
  socket: { destroyed: boolean }
  resume(): void
  finish(): unknown
}

/**
 * undici 7's HTTP/1.1 parser asserts it is not paused when its socket ends (client-h1.js
 * `finish`), and the process dies of an AssertionError no code can catch (nodejs/undici#5360;
 * fixed in undici 8 by #5474, which needs Node 22.19). A body paused by back-pressure (its
 * decoder, the disk behind it) on an answer the server closes after (`Connection: close`) meets
 * it. Until undici 7 has the fix, `finish` first does what undici 8's does: it resumes the paused
 * parser (which reads what the socket still holds, the handler keeping what comes) until it stays
 * running, then finishes. Patched once, on the prototype of the first parser met.
 */
function drainBeforeFinish(parser: object): void {
  drains = true
  const proto = Object.getPrototypeOf(parser) as H1Parser & { [DRAINS]?: true }
  if (proto[DRAINS] || typeof proto.finish !== 'function' || typeof proto.resume !== 'function') return
  const finish = proto.finish
  proto.finish = function (this: H1Parser) {
    // Each resume parses at least what one read of the socket gives; the socket has ended, so it
    // holds only what came before its end.
    for (let i = 0; this.paused && !this.socket.destroyed && i < 1000; i++) this.resume()
    if (this.paused) return null
    return finish.call(this)
  }
  proto[DRAINS] = true
}

/**
 * Learn whether `target`'s request goes out on a connection that already carried an exchange to
 * its answer (a kept-alive connection reused; the streams of a new HTTP/2 connection sent
 * together are not). Call it from the handler's `onConnect`: undici calls that just before it
 * writes the request's head and publishes it on `undici:client:sendHeaders` (client-h1.js
 * `writeH1`, client-h2.js `writeH2`), in the same tick. A request whose connection failed before
 * that (a refused or reset connect, a TLS handshake cut) is never noted: `reused` stays undefined.
 */
export function noteReuse(target: ReuseNote): void {
  watchSendHeaders()
  connecting = target
  // A request aborted in `onConnect` is never published: the note must not pass to the next one.
  queueMicrotask(() => {
    if (connecting === target) connecting = undefined
  })
}

/**
 * Hear every request head undici writes (see `onSendHeaders`): from a run's first request (see
 * `noteReuse`), and as soon as a proxy may be used (see undici-proxy.ts `loadProxyAgents`): its
 * agent writes a `CONNECT` of its own before any request of ours, and that answer is read as
 * leniently as any (a proxy's `HTTP/1.1 200 Connection established` ended by bare LFs was
 * refused, where curl and requests take it, unless a direct request had come first).
 */
export function watchSendHeaders(): void {
  if (watching) return
  watching = true
  subscribe('undici:client:sendHeaders', onSendHeaders)
}

/** The first TLS alert each connection received (see `hearErrors`). */
const alerts = new WeakMap<object, Error>()
/** The errors of connections that had carried an exchange to its answer (see `hearErrors`). */
const keptErrors = new WeakSet<object>()
/** The errors of connections that ended an answer's head part way (see `hearErrors`). */
const midHeadErrors = new WeakSet<object>()
const hearing = new WeakSet<object>()

/**
 * Hear the errors of each connection a request goes out on, before undici does:
 *
 * - Keep the first TLS alert it receives. A TLS 1.3 server checks a client's certificate after the
 *   handshake, so the alert saying it wants one (116, `certificate_required`) comes while the
 *   request waits for its answer; undici's `'end'` handler (client-h1.js `onHttpSocketEnd`) then
 *   fails the request with its own `other side closed`, and the alert was lost: a network error,
 *   retried five times, where TLS 1.2's same refusal is a `tls` failure at once, in words.
 * - Note an error of a connection that had carried an exchange to its answer (see
 *   `fromKeptConnection`), and one that came part way through an answer's head (see
 *   `cutMidHead`). undici ends a connection the server closes (`other side closed`) by
 *   destroying it with that error, so a close is heard here too, its parser not yet dropped.
 */
function hearErrors(socket: object): void {
  if (hearing.has(socket) || typeof (socket as EventEmitter).prependListener !== 'function') return
  hearing.add(socket)
  ;(socket as EventEmitter).prependListener('error', (error: { code?: unknown }) => {
    if (typeof error !== 'object' || error === null) return
    if ((answeredOn.get(socket) ?? 0) > 0) keptErrors.add(error)
    if (headBegun(socket)) midHeadErrors.add(error)
    if (!alerts.has(socket) && typeof error.code === 'string' && /^ERR_SSL_.*ALERT/.test(error.code))
      alerts.set(socket, error as Error)
  })
}

/**
 * Whether `error` is that of a kept-alive connection, one that had carried an exchange to its
 * answer. undici holds a request given such an idle connection for a turn of the event loop before
 * writing it (client-h1.js `scheduleIdleSocketValidation`), to hear a close already on its way;
 * a reset heard then (a server that resets a connection it ends, or ends idle ones with a reset:
 * `SO_LINGER` 0, nginx's `reset_timedout_connection`, a load balancer's idle timeout) fails every
 * request waiting there, unsent (client.js `onError`), where a close (`other side closed`) sends
 * them on a new connection. Such a request never got its own connection: it met a reused one.
 */
export function fromKeptConnection(error: unknown): boolean {
  return typeof error === 'object' && error !== null && keptErrors.has(error)
}

/**
 * Whether `error` ended its connection after bytes of an HTTP/1.1 answer's head had come (see
 * `headBegun`): the server took the request and began to answer it, so the request did not merely
 * meet a connection closed as it was reused.
 */
export function cutMidHead(error: unknown): boolean {
  return typeof error === 'object' && error !== null && midHeadErrors.has(error)
}

/** The TLS alert `socket` received, if any (see `hearErrors`). */
export function tlsAlertOn(socket: object | undefined): Error | undefined {
  return socket ? alerts.get(socket) : undefined
}

/** `target`'s request got its answer (a final status) on the connection `noteReuse` saw. */
export function noteAnswer(target: ReuseNote): void {
  if (target.socket) answeredOn.set(target.socket, (answeredOn.get(target.socket) ?? 0) + 1)
}
