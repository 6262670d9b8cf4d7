import { subscribe } from 'node:diagnostics_channel'
import type { EventEmitter } from 'node:events'
import http2 from 'node:http2'
import type { Socket } from 'node:net'
import type { Dispatcher } from 'undici'
import UndiciConnector from 'undici/lib/core/connect.js'
import errors from 'undici/lib/core/errors.js'
import symbols from 'undici/lib/core/symbols.js'
import util from 'undici/lib/core/util.js'
import UndiciAgent from 'undici/lib/dispatcher/agent.js'
import UndiciClient from 'undici/lib/dispatcher/client.js'
import UndiciPool from 'undici/lib/dispatcher/pool.js'
import poolBase from 'undici/lib/dispatcher/pool-base.js'
import { headlessBody } from '../verify/not-image.js'
import { MAX_HEADER_BYTES } from './header-limits.js'
import { ABANDONED_HTTP2, goawayAsks, SILENT_HTTP2 } from './http2-errors.js'
import { SOCKS_CLOSED } from './proxy.js'

// undici's index also loads its fetch, WebSocket, cookies and, through them, Node's own bundled
// copy of undici: ~45 ms and ~9 MB at start-up for parts imgpull never uses. The Agent, its pools
// and the request API are all it needs (types for these paths: src/undici-internals.d.ts). This
// is the one file that knows undici's internals (pinned to a minor in package.json).
export const Agent = UndiciAgent
export const Client = UndiciClient

/**
 * undici's `Pool`, giving a request a free connection that is open before one that must connect
 * again: undici 7's takes the first free client in the order they were made, connected or not.
 * A client whose connection had closed (the server's keep-alive ran out, or it reset a path)
 * connected anew while idle kept-alive connections sat behind it unused: a handshake each time,
 * and on a host that resets a client's connections beyond 4 open (a per-client connection limit)
 * a reset each time, a request at a time on that same client, until 169 of 180 good files had
 * failed with 4 idle connections open all along. curl too takes an idle connection before opening one.
 */
// Typed as undici's own Pool: the class's symbol-named member would name undici's internal
// modules in the published declarations, which a consumer's compiler cannot resolve.
export const Pool: typeof import('undici').Pool = class Pool extends UndiciPool {
  [poolBase.kGetDispatcher](): unknown {
    const clients = (this as unknown as Record<symbol, ClientState[]>)[poolBase.kClients] ?? []
    // The pool's own `kNeedDrain`: the client said it was busy, and has not drained since.
    const open = clients.find(
      (c) => !c[poolBase.kNeedDrain] && c[symbols.kConnected] && !c.closed && !c.destroyed,
    )
    return (
      open ??
      (UndiciPool.prototype as unknown as Record<symbol, () => unknown>)[poolBase.kGetDispatcher]!.call(this)
    )
  }
}

/** What `Pool` reads of each of its clients. */
type ClientState = Record<symbol, unknown> & { closed?: boolean; destroyed?: boolean }

/** undici's own connector (TCP, TLS with ALPN, its session cache), to wrap (see connect-stage.ts). */
export const buildConnector = UndiciConnector
export type { Dispatcher }

/**
 * Raw header lines (`[name, value, name, value...]` as Buffers) to an object of lower-case names,
 * the way undici's own `request()` does (what a dispatch handler receives in `onHeaders`), each
 * value without the spaces and tabs after it. RFC 9112 §5 lets white space (OWS) follow a field
 * value and RFC 9110 §5.5 has a recipient leave it out, as curl and wget2 do; llhttp takes it off
 * only before the value (by design since http-parser, nodejs/http-parser#393). An `ETag: "5f1a" ` (a CGI script's header) was then no quoted
 * entity-tag: never offered in If-Range, so every later run fetched its part again from byte 0.
 * Values are looked at by their last byte, and copied only where one needs it.
 */
export function parseHeaders(raw: Buffer[]): Record<string, string | string[] | undefined> {
  for (let i = 1; i < raw.length; i += 2) {
    if (!endsInSpace(raw[i])) continue
    const trimmed = raw.slice()
    for (let j = i; j < raw.length; j += 2) {
      let end = raw[j].length
      while (end > 0 && (raw[j][end - 1] === 0x20 || raw[j][end - 1] === 0x09)) end--
      trimmed[j] = raw[j].subarray(0, end)
    }
    return util.parseHeaders(trimmed)
  }
  return util.parseHeaders(raw)
}

const endsInSpace = (value: Buffer) => value.at(-1) === 0x20 || value.at(-1) === 0x09

/**
 * Close the connection of `dispatcher` (an undici `Client`, or each client of a `Pool`) that
 * carries no request and has none waiting, as its keep-alive timer would: the client stays
 * usable (it connects again for its next request), and once an origin's last connection is gone
 * the `Agent` drops its pool. Returns how many were closed.
 */
export function closeIdle(dispatcher: object): number {
  const own = (dispatcher as Record<symbol, unknown>)[poolBase.kClients]
  const clients = Array.isArray(own) ? own : [dispatcher]
  let closed = 0
  for (const client of clients as Record<symbol, unknown>[]) {
    const socket = client[symbols.kSocket] as { destroyed?: boolean } | null | undefined
    if (!socket || socket.destroyed || client[symbols.kSize] !== 0) continue
    util.destroy(socket, new errors.InformationalError('socket idle timeout'))
    closed++
  }
  return closed
}

/** The method undici's own wrappers call on a dispatcher instead of `dispatch` (a proxy's, say). */
export const kDispatch = symbols.kDispatch

export type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path'> & { dispatcher: Dispatcher }

/**
 * undici's `request(url, options)`, without its index. Only the Unsplash API calls use it (images
 * go through `Exchange`), so its modules (streams, pipeline, upgrade...) load on its first call.
 */
export async function request(
  url: URL,
  { dispatcher, ...options }: RequestOptions,
): Promise<Dispatcher.ResponseData> {
  const { default: api } = await import('undici/lib/api/index.js')
  return api.request.call(dispatcher, { ...options, origin: url.origin, path: url.pathname + url.search })
}

/**
 * undici's proxy agent for HTTP(S) proxies; for SOCKS5 proxies its connector and its client of
 * the proxy, which imgpull's own pools use (see `ProxyRouter`'s SOCKS5 agent).
 */
export interface ProxyAgents {
  ProxyAgent: typeof import('undici').ProxyAgent
  buildConnector: typeof import('undici').buildConnector
  /** The SOCKS5 client of its proxy (see `socksTunnel`). */
  socks: Socks5ClientModule
}

/**
 * What imgpull uses of undici's `lib/core/socks5-client.js`. Declared here, not only in
 * src/undici-internals.d.ts, which the package does not ship: the declarations the package's
 * index reaches name it, and a project's `tsc` without skipLibCheck failed on an undeclared module.
 */
export interface Socks5ClientModule {
  Socks5Client: {
    // Each copied with `Buffer.from`: a Buffer goes as its very bytes (any truthy pair is a login).
    new (
      socket: Socket,
      auth: { username: string | Buffer | null; password: string | Buffer | null },
    ): Socks5Client
    prototype: Socks5Client
  }
  STATES: Record<'AUTHENTICATED' | 'CONNECTED' | 'ERROR' | 'CLOSED', string>
}

interface Socks5Client extends EventEmitter {
  state: string
  onClose(): void
  onError(error: Error): void
  handshake(): void
  connect(host: string, port: number): unknown
}

/** undici's proxy agents, loaded only when a proxy applies (their modules cost ~3 ms at start-up). */
export async function loadProxyAgents(): Promise<ProxyAgents> {
  const [proxy, api, dispatcher, connect, socksClient] = await Promise.all([
    import('undici/lib/dispatcher/proxy-agent.js'),
    import('undici/lib/api/index.js'),
    import('undici/lib/dispatcher/dispatcher.js'),
    import('undici/lib/core/connect.js'),
    import('undici/lib/core/socks5-client.js'),
  ])
  // It opens tunnels with `dispatcher.connect()`, which undici's index puts on every dispatcher.
  const proto = dispatcher.default.prototype as { connect?: unknown }
  proto.connect ??= api.default.connect
  failSocksOnClose(socksClient.default)
  watchSendHeaders()
  return {
    ProxyAgent: proxy.default,
    buildConnector: connect.default,
    socks: socksClient.default,
  }
}

/**
 * undici 7's SOCKS5 agent waits for its client's `authenticated`, `connected` or `error`, and its
 * client (core/socks5-client.js) only says `close` when the proxy closes the connection: a proxy
 * that closed it in the middle of the handshake (one that cannot reach the host, a gateway
 * that refuses the client) left the request waiting for undici's 5 s timer or the headers
 * timeout, then blamed silence ('headers timeout'), on every attempt. Such a close is now an
 * error of the client (`SOCKS_CLOSED`), at once. Patched once, on the client's prototype (its
 * `onClose` is bound in its constructor).
 */
function failSocksOnClose({ Socks5Client, STATES }: Socks5ClientModule): void {
  const proto = Socks5Client.prototype as typeof Socks5Client.prototype & { [SOCKS_PATCHED]?: true }
  if (proto[SOCKS_PATCHED] || typeof proto.onClose !== 'function') return
  proto[SOCKS_PATCHED] = true
  const onClose = proto.onClose
  const done = new Set([STATES.CONNECTED, STATES.ERROR, STATES.CLOSED])
  proto.onClose = function (this: typeof proto) {
    if (!done.has(this.state)) {
      const closed = new Error('the proxy closed the connection before the SOCKS5 tunnel was open')
      this.onError(Object.assign(closed, { code: SOCKS_CLOSED }))
    }
    onClose.call(this)
  }
}

const SOCKS_PATCHED = Symbol('imgpull.socksClose')

/**
 * Set on a dispatch handler by the dispatcher that gave its request to a connection (see
 * origin-pool.ts): the undici `Client` carrying it, to tell an HTTP/2 answer from an HTTP/1.1 one.
 */
export const VIA: unique symbol = Symbol('imgpull.via')

type Internals = Record<symbol, unknown>

/** The protocol a client's connection speaks, once connected (undici 7 keeps it internal). */
export function clientProtocol(client: object | undefined): 'h1' | 'h2' | undefined {
  const context = (client as Internals | undefined)?.[symbols.kHTTPContext] as { version?: string } | null
  if (!context) return undefined
  return context.version === 'h2' ? 'h2' : 'h1'
}

/** Whether the connection of a client speaks HTTP/2. */
export function clientIsHttp2(client: object | undefined): boolean {
  return clientProtocol(client) === 'h2'
}

/**
 * Whether a client's HTTP/2 session has ended (destroyed by an error, or closing after a GOAWAY)
 * while undici still holds it: until its socket has closed, undici writes new requests to it, and
 * Node refuses each (`ERR_HTTP2_INVALID_SESSION`, see http2-errors.ts `neverSent`).
 */
export function http2Ended(client: object): boolean {
  const session = (client as Internals)[symbols.kHTTP2Session] as http2.ClientHttp2Session | null | undefined
  return session != null && (session.destroyed || session.closed)
}

/** Whether the answer a handler got came over HTTP/2. */
export function isHttp2(handler: object): boolean {
  return clientIsHttp2((handler as { [VIA]?: object })[VIA])
}

type Connector = (options: object, callback: (error: Error | null, socket: unknown) => void) => void

/**
 * Give the HTTP/2 session a client opens options of ours (`http2.connect` options: `settings`
 * are merged). undici 7 has no way to pass them: client-h2.js `connectH2` (lines 100-107 in
 * undici 7.30.2) calls `http2.connect(url, { createConnection, peerMaxConcurrentStreams,
 * settings: { enablePush, initialWindowSize } })` and nothing else, so Node's defaults apply
 * (`maxHeaderListPairs` 128: an answer with more header fields is reset, ENHANCE_YOUR_CALM).
 * undici calls it synchronously from its connector's callback (client.js `connect`): for that
 * callback alone, `http2.connect` adds ours. Only undici's own code and the pool's listeners run
 * in it, so no other session of the process (the application's, when imgpull is a library) ever
 * sees them. Works whatever connector the client has (direct, or a proxy's tunnel). Should a
 * later undici open its session elsewhere, this does nothing: test/headers-limit.test.ts (200
 * fields over HTTP/2) notices. Each session it opens also drains on a graceful GOAWAY (see
 * `drainOnGoaway`), `onDrain` told.
 */
export function withHttp2Options(
  client: object,
  options: { settings?: object } & Record<string, unknown>,
  onDrain?: () => void,
): void {
  const internals = client as Internals
  const connector = internals[symbols.kConnector] as Connector | undefined
  if (typeof connector !== 'function') return
  internals[symbols.kConnector] = ((connectOptions, callback) =>
    connector(connectOptions, (error, socket) => {
      const connect = http2.connect
      let session: http2.ClientHttp2Session | undefined
      let streams: Set<http2.ClientHttp2Stream> | undefined
      http2.connect = ((
        authority: string | URL,
        sessionOptions: http2.SecureClientSessionOptions = {},
        ...rest: unknown[]
      ) => {
        session = (connect as (...a: unknown[]) => http2.ClientHttp2Session)(
          authority,
          {
            ...sessionOptions,
            ...options,
            settings: { ...sessionOptions.settings, ...options.settings },
          },
          ...rest,
        )
        // Before undici's first requests: it writes those queued in this very callback.
        streams = trackStreams(session)
        return session
      }) as typeof http2.connect
      try {
        callback(error, socket)
      } finally {
        http2.connect = connect
      }
      // undici has added its listeners by now (client-h2.js `connectH2` runs in the callback).
      if (session && streams) drainOnGoaway(client, session, streams, onDrain)
    })) as Connector
}

/**
 * A graceful GOAWAY (NO_ERROR: nginx at `keepalive_requests` or `keepalive_timeout`, a reload, a
 * server going down) ends a session as RFC 9113 §6.8 means it: no new stream on it, while the
 * streams the server took (up to its last-stream-id) finish. undici 7 instead destroys the socket
 * at once (client-h2.js `onHttp2SessionGoAway`; nodejs/undici#5089, fixed in undici 8), cutting
 * every answer in flight: each a failed attempt, its bytes to fetch again. Here undici's listener
 * hears only the other codes (an error: the connection is cut, as before). On NO_ERROR, Node
 * closes the session gracefully by itself (nghttp2 resets streams above the last-stream-id with
 * REFUSED_STREAM: never processed, sent again at once, see http2-errors.ts `isRefusedStream`);
 * the client's stream limit is set to 0 so undici writes no new request on it, and `onDrain`
 * tells its pool to give it none. When the last stream ends, the session and its socket close; undici then opens a new
 * connection for what comes next, with the limit given back.
 */
function drainOnGoaway(
  client: object,
  session: http2.ClientHttp2Session,
  streams: Set<http2.ClientHttp2Stream>,
  onDrain?: () => void,
): void {
  const internals = client as Internals
  const theirs = session.listeners('goaway') as ((...args: unknown[]) => void)[]
  if (theirs.length === 0) return
  session.removeAllListeners('goaway')
  session.on('goaway', (code: number, ...rest: unknown[]) => {
    if (code !== http2.constants.NGHTTP2_NO_ERROR || session.destroyed) {
      if (typeof rest[0] === 'number') refuseAbove(streams, rest[0], !goawayAsks(code))
      for (const listener of theirs) listener.call(session, code, ...rest)
      return
    }
    const limit = internals[symbols.kMaxConcurrentStreams]
    internals[symbols.kMaxConcurrentStreams] = 0
    session.once('close', () => {
      if (internals[symbols.kMaxConcurrentStreams] === 0) internals[symbols.kMaxConcurrentStreams] = limit
    })
    onDrain?.()
  })
}

/**
 * The streams `session` has open, as undici opens them (`session.request`), each failing as a reset
 * when cancelled unended (see `failResetUnended`).
 */
function trackStreams(session: http2.ClientHttp2Session): Set<http2.ClientHttp2Stream> {
  const streams = new Set<http2.ClientHttp2Stream>()
  const request = session.request
  session.request = function (this: http2.ClientHttp2Session, ...args: Parameters<typeof request>) {
    const stream = request.apply(this, args)
    failResetUnended(stream)
    streams.add(stream)
    stream.once('close', () => streams.delete(stream))
    return stream
  } as typeof request
  return streams
}

/**
 * A stream the server reset with CANCEL before its END_STREAM fails as the reset it is ("Stream
 * closed with error code NGHTTP2_CANCEL", `ERR_HTTP2_STREAM_ERROR`, as Node says of the other
 * codes), never as an answer that ended. RFC 9113 §8.1: only END_STREAM completes a response. Node
 * reports CANCEL as no error (internal/http2/core.js `_destroy`) and ends the stream's readable side
 * as if END_STREAM had come: undici completed the answer, and a body without a `Content-Length` was
 * taken whole where the server cut it (only an image's own end could refuse it), one with a length
 * said "got 4194304 of 8090793 bytes" or "connection closed". A reset after END_STREAM (the
 * readable side ended first) and a stream closed on our side (undici's `stream.close()` on an
 * abort) are left as they are; so is NO_ERROR (see below).
 */
function failResetUnended(stream: http2.ClientHttp2Stream): void {
  let ended = false
  let ours = false
  /** The reset's code name, once one came before END_STREAM. */
  let reset: string | undefined
  const { push, close, destroy, emit } = stream
  const resetBy = (s: http2.ClientHttp2Stream, code: number): boolean =>
    !ended && !ours && s.closed && s.rstCode === code
  stream.close = function (this: http2.ClientHttp2Stream, ...args: Parameters<typeof close>) {
    ours = true
    return close.apply(this, args)
  } as typeof close
  // CANCEL: Node destroys the stream without an error, then ends its readable side.
  stream.destroy = function (this: http2.ClientHttp2Stream, error?: Error) {
    if (error === undefined && !this.destroyed && resetBy(this, http2.constants.NGHTTP2_CANCEL))
      reset = 'CANCEL'
    return destroy.call(this, error)
  } as typeof destroy
  // NO_ERROR is left alone: RFC 9113 §8.1 lets a server send it right after a whole response's
  // END_STREAM, and Node then runs the reset's close before the END_STREAM's end reaches the
  // readable side (a 60,000-byte JPEG, ended then reset in one write, failed as a reset), so it
  // cannot be told from one in the middle of the body. curl keeps both; so does imgpull, judged as
  // a body without a length where it has none.
  stream.push = function (this: http2.ClientHttp2Stream, chunk: unknown, encoding?: BufferEncoding) {
    if (chunk === null) ended = true
    return push.call(this, chunk, encoding)
  }
  // The end, once every byte before it was read: the reset instead, the bytes delivered kept.
  stream.emit = function (this: http2.ClientHttp2Stream, event: string | symbol, ...args: unknown[]) {
    if (event !== 'end' || reset === undefined || this.listenerCount('error') === 0)
      return emit.call(this, event, ...args)
    const error = Object.assign(new Error(`Stream closed with error code NGHTTP2_${reset}`), {
      code: 'ERR_HTTP2_STREAM_ERROR',
    })
    reset = undefined
    if (this.destroyed) emit.call(this, 'error', error)
    else destroy.call(this, error)
    return true
  } as typeof emit
}

/**
 * A GOAWAY with an error code (ENHANCE_YOUR_CALM from a server's rapid-reset guard, INTERNAL_ERROR)
 * ends the session at once, and Node fails every stream with the same session error: those the
 * server never processed too, above its last-stream-id (or not yet sent), which RFC 9113 §6.8 and
 * §8.7 call safe to send again, as if never created. Each was a failed attempt (with `--retries
 * 0`, a failed file). Failed first as refused (REFUSED_STREAM, see http2-errors.ts
 * `isRefusedStream`), they are sent again at once, as curl and browsers do; unless the code asks
 * something of the origin, before undici fails the request at the head of its queue with the
 * GOAWAY, which may be one of them.
 */
function refuseAbove(streams: Set<http2.ClientHttp2Stream>, lastStreamId: number, now: boolean): void {
  for (const stream of streams) {
    if (stream.id !== undefined && stream.id <= lastStreamId) continue
    const refused = Object.assign(new Error('Stream closed with error code NGHTTP2_REFUSED_STREAM'), {
      code: 'ERR_HTTP2_STREAM_ERROR',
    })
    // `now`: its request fails at once, not a tick later as `destroy` tells it, for undici's own
    // listener, next, fails the request at the head of its queue with the GOAWAY's error, and once
    // stream 1 was answered that request was a never-processed one (a failed attempt). Not when
    // the code asks something of the origin (see `goawayAsks`): one request must carry it.
    if (now) {
      // `destroy`'s own telling then finds undici's listener gone.
      stream.on('error', () => {})
      stream.emit('error', refused)
    }
    stream.destroy(refused)
  }
}

interface Settings {
  maxConcurrentStreams?: number
}
interface Session {
  remoteSettings: Settings
  on(event: 'remoteSettings', listener: (settings: Settings) => void): void
}

/**
 * Call `onLimit` with the most streams an HTTP/2 client's server allows at once: now if its
 * SETTINGS have come, and again whenever it sends new ones. undici 7 reads them only to size
 * nothing: its dispatch gate is `pipelining` (see origin-pool.ts).
 */
export function watchStreamLimit(client: object, onLimit: (streams: number | undefined) => void): void {
  const session = (client as Internals)[symbols.kHTTP2Session] as (Session & Internals) | null | undefined
  if (!session) return
  session.on('remoteSettings', (settings) => onLimit(settings.maxConcurrentStreams))
  if (session[symbols.kRemoteSettings] === true) onLimit(session.remoteSettings.maxConcurrentStreams)
}

/**
 * Ask whether the HTTP/2 connection of `client` still carries anything: a PING, which the
 * server's HTTP/2 stack answers at once whatever its requests wait for (RFC 9113 §6.7). When its
 * answer, or any other byte, comes within `waitMs`, `onDone(true)`; otherwise the connection is
 * closed (its socket destroyed, undici's client connecting again for its next request), the
 * requests still on it failing with an error `isSilentHttp2` knows, and `onDone(false)`; so too
 * when it ends meanwhile of itself. Returns whether a PING went out (not for a connection that is
 * not HTTP/2 or is ending): `onDone` runs only then.
 */
export function pingOrClose(client: object, waitMs: number, onDone: (alive: boolean) => void): boolean {
  const internals = client as Internals
  const session = internals[symbols.kHTTP2Session] as http2.ClientHttp2Session | null | undefined
  const socket = internals[symbols.kSocket] as { bytesRead?: number; destroyed?: boolean } | null | undefined
  if (!session || !socket || session.closed || session.destroyed || socket.destroyed) return false
  const read = socket.bytesRead ?? 0
  const current = () =>
    internals[symbols.kHTTP2Session] === session && !session.closed && !session.destroyed && !socket.destroyed
  let done = false
  const settle = (answered: boolean) => {
    if (done) return
    done = true
    clearTimeout(timer)
    if (!current()) return onDone(false)
    if (answered || (socket.bytesRead ?? 0) > read) return onDone(true)
    const error = Object.assign(
      new Error(
        `${SILENT_HTTP2} (no answer to a PING in ${waitMs / 1000} s after a timeout on it), closed by imgpull`,
      ),
      { code: 'UND_ERR_SOCKET' },
    )
    util.destroy(socket, error)
    onDone(false)
  }
  // Not what keeps a finished run alive: a pool closed meanwhile ends the connection anyway.
  const timer = setTimeout(() => settle(false), waitMs).unref()
  try {
    // Node calls back with an error for a session that closes first (`current()` then says so),
    // or for a PING it did not send: the bytes that came by the deadline tell then.
    session.ping((error) => {
      if (error === null || !current()) settle(error === null)
    })
  } catch {
    clearTimeout(timer)
    return false
  }
  return true
}

/** When `endIfHttp2Abandoned` last sent a PING on a session (`performance.now()`). */
const probedAt = new WeakMap<object, number>()

/**
 * How long, in ms, `endIfHttp2Abandoned` gives nghttp2 to send its PING: Node writes it on the
 * next turn of the event loop (a live session's went in under a millisecond on 127.0.0.1).
 */
export const ABANDON_PROBE_MS = 250

/**
 * Close `client`'s HTTP/2 session if nghttp2 has ended it by itself without Node knowing. Over a
 * header block it cannot decode (a field over 64 KiB, NGHTTP2_HD_MAX_NV in nghttp2_hd.c:
 * COMPRESSION_ERROR) nghttp2 queues a GOAWAY, sends it and then neither reads nor writes; Node
 * (20, nghttp2 1.61) emits nothing, and each request on the session waited out its headers timeout
 * (icing/mod_h2#297, curl/curl#16535). Found by a PING: one nghttp2 never sends stays in its
 * outbound queue (`session.state.outboundQueueSize`) while no byte leaves and no write is pending
 * on the socket (not a socket the server stopped reading, whose PING waits its turn). The socket
 * is then destroyed with `ABANDONED_HTTP2` (undici's code for a socket closed), which fails each
 * request on it: http2-errors.ts `http1Wanted` sends the origin over HTTP/1.1; a body that had
 * every byte of its length is kept (a trailer field over 64 KiB). Called when a request has heard
 * nothing for a second (origin-pool.ts), one PING a second at most on a session; a live session's
 * PING is answered and nothing changes.
 */
export function endIfHttp2Abandoned(client: object): void {
  const internals = client as Internals
  const session = internals[symbols.kHTTP2Session] as http2.ClientHttp2Session | null | undefined
  const raw = internals[symbols.kSocket] as
    | { bytesWritten?: number; destroyed?: boolean; _handle?: { writeQueueSize?: number } | null }
    | null
    | undefined
  if (!session || !raw || session.destroyed || session.closed || raw.destroyed) return
  // One PING a second at most on a session, however many of its streams are silent.
  const now = performance.now()
  if (now - (probedAt.get(session) ?? -Infinity) < 1_000) return
  probedAt.set(session, now)
  const written = raw.bytesWritten ?? 0
  let answered = false
  try {
    session.ping(() => {
      answered = true
    })
  } catch {
    return
  }
  setTimeout(() => {
    if (answered || session.destroyed || raw.destroyed) return
    const stuck =
      session.state.outboundQueueSize! > 0 &&
      (raw.bytesWritten ?? 0) === written &&
      (raw._handle?.writeQueueSize ?? 0) === 0
    if (stuck) util.destroy(raw, Object.assign(new Error(ABANDONED_HTTP2), { code: 'UND_ERR_SOCKET' }))
  }, ABANDON_PROBE_MS).unref()
}

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
  /** The answer's body is not to end at its `Content-Length` (see `readToClose`). */
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
  if (socket) hearErrors(socket)
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

/**
 * Whether `socket` carries an HTTP/2 session whose server has sent no SETTINGS frame: its
 * connection preface (RFC 9113 §3.4), the first frame it must send, never came, though its TLS
 * handshake offered h2.
 */
export function http2PrefaceMissing(socket: object | undefined): boolean {
  const session = (socket as Internals | undefined)?.[symbols.kHTTP2Session] as Internals | null | undefined
  return session != null && session[symbols.kRemoteSettings] !== true
}

/**
 * Whether `socket` carries an HTTP/2 session whose server's latest SETTINGS allow no stream at
 * once (SETTINGS_MAX_CONCURRENT_STREAMS 0, RFC 9113 §5.1.2): nghttp2 holds every new request
 * unsent until they allow one.
 */
export function http2AllowsNoStream(socket: object | undefined): boolean {
  const session = (socket as Internals | undefined)?.[symbols.kHTTP2Session] as
    | (Session & Internals)
    | null
    | undefined
  return session?.[symbols.kRemoteSettings] === true && session.remoteSettings.maxConcurrentStreams === 0
}

/** Whether `socket` carries HTTP/1.1 (undici keeps its parser on it), not HTTP/2. */
export const isHttp1 = (socket: object | undefined): boolean => parserOf(socket) !== undefined

/** The HTTP/1.1 parser undici keeps on a socket (none on an HTTP/2 one). */
function parserOf(socket: object | undefined): object | undefined {
  return socket ? ((socket as Record<symbol, unknown>)[symbols.kParser] as object | undefined) : undefined
}

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

/**
 * Note, as its connection ends, how much of its chunk a chunked answer still owed: read from
 * llhttp's state (its `content_length` counts down the current chunk's bytes, 0 between chunks)
 * before undici finishes the parser (an answer that closes its connection) or frees it (at the
 * socket's close), which it does before the request hears of the close. Patched once, on the
 * prototype of the first parser met, as `drainBeforeFinish` is.
 */
function noteChunkCuts(parser: object): void {
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
  contentLength: string
  /** The `Keep-Alive` and `Connection` values undici gathers as it reads a head. */
  keepAlive: string
  connection: string
  headers: Buffer[]
  headersSize: number
  socket: { destroyed: boolean } & Record<symbol, unknown>
  execute(data: Buffer): unknown
  createError(code: number, data: Buffer): Error
  onHeaderField(buf: Buffer): number
  onHeaderValue(buf: Buffer): number
  onHeadersComplete(statusCode: number, upgrade: boolean, shouldKeepAlive: boolean): number
  [LENIENT]?: true
  /** The values of this head's `Content-Length` lines before its last (see `forgetLength`). */
  [EARLIER_LENGTHS]?: string[]
  /** A head not yet ended, its pieces in order, not given to llhttp yet (see `mendHead`). */
  [HELD]?: Buffer[]
  /** What llhttp is given of a head, while it reads it (see `statusLineAt`). */
  [HEAD_READ]?: Buffer
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
const READ_PAST_LENGTH = Symbol('imgpull.readPastLength')

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

/** A `Content-Length` value that is a list of lengths, maybe with empty elements (`7416,`). */
const LENGTH_LIST = /^[ \t,]*\d+(?:[ \t]*,[ \t,]*\d+)*[ \t,]*$/
/** A `Content-Length` line: its name, its value (white space around it left out). */
const LENGTH_LINE = /\n(content-length)[ \t]*:[ \t]*([^\r\n]*?)[ \t]*(?=\r?\n)/gi
/** A header llhttp reads for an answer's framing, folded over more than one line. */
const FOLDED_FRAMING =
  /\n(?:content-length|transfer-encoding|connection|proxy-connection)[ \t]*:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)+(?=\r?\n)/gi
/** A fold: a line end, then the white space that begins the next line. */
const FOLD = /\r?\n[ \t]+/g
/** A line of a header llhttp reads for an answer's framing, a tab in its value (not folded). */
const FRAMING_LINE =
  /\n(?:content-length|transfer-encoding|connection|proxy-connection)[ \t]*:[^\r\n]*\t[^\r\n]*(?=\r?\n)/gi
/** A `Transfer-Encoding` line: its name and colon, its value (with the lines folded into it). */
const CODINGS_LINE = /\n(transfer-encoding[ \t]*:)((?:[^\r\n]|\r?\n[ \t])*)(?=\r?\n)/gi
/**
 * The comma after which a list's element is empty: another comma, or the end, after white space
 * (a folded line's end too: `gzip,` then ` chunked` on the next line lists two codings).
 */
const EMPTY_ELEMENT = /,(?=(?:[ \t]|\r?\n[ \t])*(?:,|$))/g
/** A header line with white space between its name and its colon: the name, the white space. */
const SPACED_NAME = /\n([!#$%&'*+.^_`|~0-9A-Za-z-]+)([ \t]+):/g
/** A `Transfer-Encoding` line that lists `chunked` (its lengths are set aside: see `mendAllLines`). */
const CHUNKED_LINE = /\ntransfer-encoding[ \t]*:[^\r\n]*\bchunked\b/i
/** A whole header line (not the status line, not a folded one), without its line end. */
const HEADER_LINE = /\n(?![ \t])([^\r\n]{2,})(?=\r?\n)/g
/** A header line that starts with a field name and its colon. */
const FIELD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+:/
/** What ends a head (an empty line), and how many bytes on the next head starts. */
const HEAD_ENDS = [
  ['\n\r\n', 3],
  ['\n\n', 2],
  ['\n\r\r\n', 4],
] as const
/** A line with something on it ended by CR CR LF (a CGI script's CR LF through a text-mode stream). */
const CR_CR_LF = /(?<=[^\r\n])\r\r\n/g
/** A CR that ends no line (no LF after it), once CR CR LF line ends are mended. */
const BARE_CR = /\r(?!\n)/g
/** The line end before an empty line ended by CR CR LF, and that empty line. */
const BLANK_CR_CR_LF = /\r?\n\r\r\n/
/** An interim answer's status line (not `101`: what follows it is another protocol). */
const INTERIM = /^HTTP\/\d\.\d 1(?!01)\d\d\b/
/** A status line's version. */
const VERSION = /^HTTP\/\d\.\d/
/** A `Connection` line's name and colon (white space before it, as `mendLines` may leave it). */
const CONNECTION_NAME = /(?<=\n)Connection[ \t]*:/gi

/**
 * An interim head (see `INTERIM`) with nothing in it that would end the connection, the bytes
 * keeping their count: its version as `HTTP/1.1`, and a `Connection` line as one named `_` that
 * nobody reads. llhttp closed the parser after an interim `HTTP/1.0 100 Continue` (HTTP/1.0 keeps
 * no connection open unasked), `HTTP/2.0 103` (see `mendStatus`) or a `100 Continue` that says
 * `Connection: close` (a server that writes the final answer's headers into its 100 too,
 * igrigorik/em-http-request#74), and refused the answer after it (`Data after Connection: close`),
 * on every attempt; curl reads it. A 1xx has no body, and only the final answer's head governs
 * the connection (RFC 9110 §15.2: a client reads past an interim answer it did not expect).
 */
function mendInterim(head: string): string {
  return head
    .replace(VERSION, 'HTTP/1.1')
    .replace(CONNECTION_NAME, (name) => `_:${' '.repeat(name.length - 2)}`)
}

/**
 * `data` with what llhttp refuses in a head, where curl and browsers read it, rewritten as it
 * reads it; `data` itself is never changed: a copy is returned. The bytes keep their count but
 * in a status line (see `mendStatus`), and the body after a head is passed on as it came.
 * - `Content-Length: 42, 42` (a list of one length, as an upstream processor makes of agreeing
 *   lines: RFC 9110 §8.6, whose own example it is) as `Content-Length: 42` and spaces to the
 *   line's end; a list whose lengths differ is left to be refused, but beside a
 *   `Transfer-Encoding` that lists `chunked`, which overrides it (its first length given, set aside);
 * - `X-Powered-By : PHP` (white space between a name and its colon, as ing.dk's `Set-Cookie :`
 *   and nginx configs' `Access-Control-Allow-Credentials : true` send it) as `X-Powered-By:  PHP`:
 *   llhttp takes that space only in the names it knows (`Content-Length`...), and refused the
 *   whole answer; curl, wget2, browsers and hyper (seanmonstar/httparse#88) read past it. RFC 9112
 *   §5.1 has a proxy remove it from an answer: it names no other header;
 * - a header line that names no field (a space inside its name, `en-US Content-Type: text/xml`
 *   as IIS sent it, nodejs/http-parser#8; no name before its colon; no colon at all) as a line
 *   `_: ...` that names nothing anyone reads: llhttp refused the answer, where curl and wget2
 *   skip the line (curl, too, reads no `Content-Length` from a `Content Length:` line); one of a
 *   single character is left to be refused;
 * - a `Content-Length` that is no length (`-1`, which servers send for a length they do not
 *   know; empty; a word; past 2^64) as a line named `_` nobody reads: the body is read to the
 *   close and judged as one without a length, as browsers and wget2 read it (RFC 9112 §6.3 has a
 *   user agent discard such an answer: imgpull keeps only what its bytes show whole); `+42` as
 *   ` 42`, as curl and wget2 read it;
 * - a status line curl or wget2 reads (see `mendStatus`);
 * - an interim head that would end the connection (see `mendInterim`);
 * - lines ended by CR CR LF (a script's CR LF written through a Windows text-mode stream,
 *   facebook/flow#4779), as curl reads them: llhttp took the status line's CR CR LF for a line
 *   and an empty one, ended the head there and read the headers as the body (`not an image ...
 *   sent no content type`); each is read as a space and CR LF, the empty line's extra byte put
 *   before the line end above it.
 * Looked for only in a head up to its empty line (its end), and in the head after it when that
 * one was an interim `1xx` (a `103 Early Hints` and its answer come together). A head is given
 * to llhttp whole: one that has not ended yet is `held` (returned, its pieces in order) and
 * comes again before the next piece, so a line cut between two pieces (a TCP segment, a TLS
 * record) is mended as one: cut there, a quirk was refused, or a status line's CR CR LF ended the
 * head and its headers were read as the body. A body is never searched (an image's bytes may hold
 * anything). Past `HOLD_MAX`, what is held goes to llhttp as it came (its header limit then
 * speaks).
 */
function mendHead(data: Buffer, held?: Buffer[]): { data: Buffer; held?: Buffer[] } {
  if (held) {
    // What is held has no head's end; one may straddle it and `data` (`...\r\n` | `\r\n`).
    const last = held.at(-1) as Buffer
    const seam = Buffer.concat([last.subarray(-3), data.subarray(0, 3)])
    if (!HEAD_ENDS.some(([blank]) => seam.includes(blank) || data.includes(blank))) {
      held.push(data)
      const size = held.reduce((sum, piece) => sum + piece.length, 0)
      return size > HOLD_MAX ? { data: Buffer.concat(held) } : { data: EMPTY, held }
    }
  }
  const whole = held ? Buffer.concat([...held, data]) : data
  // The heads mended (a status line may change its length), then what follows them as it came.
  const mendedHeads: Buffer[] = []
  let changed = false
  let start = 0
  // Line ends before a status line (a body one CRLF longer than its length) go to llhttp as they
  // came: it skips them between answers, and refuses them before the first.
  while (whole[start] === 0x0d || whole[start] === 0x0a) start++
  if (start > 0) mendedHeads.push(whole.subarray(0, start))
  while (start < whole.length) {
    let end = -1
    let next = 0
    for (const [blank, skip] of HEAD_ENDS) {
      // Each later form looked for only before an end found already: an image is not scanned.
      const at = (end < 0 ? whole : whole.subarray(0, end + blank.length - 1)).indexOf(blank, start)
      if (at >= 0) [end, next] = [at, at + skip]
    }
    if (end < 0) {
      // Bytes that begin no status line (a TLS alert, an SSH banner) go to llhttp at once: it
      // refuses them at their first byte, as the answer of something that is no HTTP server.
      if (!beginsStatusLine(whole, start)) return { data: whole }
      // A head not ended: held until its end comes. llhttp reads what came before it.
      const before = mendedHeads.length ? Buffer.concat(mendedHeads) : EMPTY
      return { data: before, held: [Buffer.from(whole.subarray(start))] }
    }
    const head = whole.toString('latin1', start, next)
    let mended = mendLines(head)
    const interim = INTERIM.test(mended)
    if (interim) mended = mendInterim(mended)
    changed ||= mended !== head
    mendedHeads.push(mended === head ? whole.subarray(start, next) : Buffer.from(mended, 'latin1'))
    start = next
    if (!interim) break
    // Line ends after an interim head (`103 Early Hints` then an empty line too many) go to llhttp
    // as they came, as before the first head: read as a header line of the answer after them, its
    // status line was refused (`_:TP/1.1 200 OK`) when both came in one read, and read as it is
    // when the network cut them apart.
    const ends = start
    while (whole[start] === 0x0d || whole[start] === 0x0a) start++
    if (start > ends) mendedHeads.push(whole.subarray(ends, start))
  }
  if (!changed) return { data: whole }
  return { data: Buffer.concat([...mendedHeads, whole.subarray(start)]) }
}

/**
 * A head with nothing for `mendAllLines` to mend, as nearly every server sends one: a well-formed
 * status line, then lines `name:value` (a token, its colon right after it, no tab, no CR but the
 * line end's) each ended by CR LF, then the empty line; no `Content-Length` other than one plain
 * number (`NOT_PLAIN_LENGTH`), no comma in a `Transfer-Encoding` (`LISTED_CODINGS`). Told apart in
 * one search where mending it took ten (each a regular expression over the whole head and a copy of
 * it), for every answer: 5,000 small images spent 9 MB of garbage on them.
 */
const PLAIN_HEAD =
  /^HTTP\/1\.[01] \d{3}(?: [^\r\n]*)?\r\n(?:[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\t\r\n]*\r\n)*\r\n$/
/** A `Content-Length` line whose value is not one number llhttp reads as it is (see `LENGTH_LINE`). */
const NOT_PLAIN_LENGTH = /\ncontent-length:(?! *\d{1,19} *\r\n)/i
/** A `Transfer-Encoding` line listing more than one element, or an empty one (see `CODINGS_LINE`). */
const LISTED_CODINGS = /\ntransfer-encoding:[^\r\n]*,/i

/**
 * One whole head (its empty line included) as llhttp can read it: see `mendHead`. The head itself
 * (the same string) when it needs nothing (see `PLAIN_HEAD`).
 */
export function mendLines(head: string): string {
  if (PLAIN_HEAD.test(head) && !NOT_PLAIN_LENGTH.test(head) && !LISTED_CODINGS.test(head)) return head
  return mendAllLines(head)
}

/** `mendLines` without its shortcut: every quirk looked for (exported for its table test). */
export function mendAllLines(head: string): string {
  let mended = WELL_FORMED_STATUS.test(head) ? head : mendStatus(head)
  mended = mended.replace(CR_CR_LF, ' \r\n').replace(BLANK_CR_CR_LF, (ends) => ` ${ends.slice(0, -2)}\n`)
  // A bare CR left (`X-Note: one\rtwo`) read as a space, as RFC 9112 §2.2 allows a recipient: llhttp
  // refused the answer ('Missing expected LF after header value'), where curl, wget2 and browsers read it.
  mended = mended.replace(BARE_CR, ' ')
  // A tab in a framing header's value (RFC 9110 §5.6.3's OWS, as a space is: `Transfer-Encoding:
  // chunked\t`, `Content-Length: 7416\t`, `gzip,\tchunked`) read as a space: llhttp refused the
  // length, and took `chunked\t` for another coding, reading the chunks' framing to the close as
  // the body (`not-an-image`), where curl, wget2 and aria2c read both. Those values are lists of
  // tokens or numbers: a tab in them is white space around one.
  // A framing header folded over lines (obs-fold, RFC 9112 §5.2: a recipient replaces each fold
  // by a space before it reads the value) unfolded: llhttp read no length from `Content-Length:`
  // then ` 7416` on the next line (the body read to the close, or the idle timeout), nor chunked
  // as the last of `identity,` then ` chunked` (the framing read as the body, `not-an-image`),
  // where wget2 and aria2c read the one, wget2 the other.
  mended = mended.replace(FOLDED_FRAMING, (line) => line.replace(FOLD, ' '))
  mended = mended.replace(FRAMING_LINE, (line) => line.replaceAll('\t', ' '))
  // An empty element in the list of transfer codings (`chunked,`, `gzip,,chunked`: RFC 9110
  // §5.6.1 has a recipient ignore it) left out: llhttp took `chunked,` for a last coding that is
  // not chunked, reading the chunks' framing to the close as the body (`not-an-image`), where curl
  // and wget2 read it. A leading one llhttp already passes over.
  mended = mended.replace(
    CODINGS_LINE,
    (_, name: string, value: string) => `\n${name}${value.replace(EMPTY_ELEMENT, ' ')}`,
  )
  const chunkedHead = CHUNKED_LINE.test(mended)
  mended = mended.replace(LENGTH_LINE, (line, name: string, value: string) => {
    if (/^\d+$/.test(value))
      return value.length < 20 || BigInt(value) < LLHTTP_MAX_LENGTH ? line : unread(line, name)
    if (/^\+\d+$/.test(value)) return line.replace('+', ' ')
    // Commas alone list no length: no length at all, as an empty value.
    if (!LENGTH_LIST.test(value))
      return value.includes(',') && !/^[ \t,]*$/.test(value) ? line : unread(line, name)
    // A list of one length, read as that length; one of several is left to be refused. Empty
    // elements (`7416,`) are no lengths (RFC 9110 §5.6.1: a recipient ignores them).
    const lengths = value
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n !== '')
      .map(Number)
    // Under chunked, which overrides every length (RFC 9112 §6.3), it is set aside as one length
    // beside it is (see `readAsCurlDoes`): its first given, for llhttp to take and drop.
    if (lengths.some((n) => n !== lengths[0]) && !chunkedHead) return line
    const at = line.lastIndexOf(value)
    return line.slice(0, at) + String(lengths[0]).padEnd(value.length, ' ') + line.slice(at + value.length)
  })
  return mended
    .replace(SPACED_NAME, (_, name: string, space: string) => `\n${name}:${space}`)
    .replace(HEADER_LINE, (line, text: string) => (FIELD.test(text) ? line : `\n_:${text.slice(2)}`))
}

/** A `Content-Length` line named so no one reads it: what a length that is no length becomes. */
const unread = (line: string, name: string) => `\n${'_'.repeat(name.length)}${line.slice(name.length + 1)}`
/** Past this, llhttp refuses a `Content-Length` ('Content-Length overflow': a 64-bit count). */
const LLHTTP_MAX_LENGTH = 2n ** 64n
/** A status line llhttp reads as it is (`HTTP/1.1 200 OK`, `HTTP/1.0 404`), most of them. */
const WELL_FORMED_STATUS = /^HTTP\/1\.[01] \d{3}[ \r\n]/
/** A status line's parts: its name, major, `.minor`, the white space before the status, the status. */
const STATUS_LINE = /^(HTTP)\/(\d)(\.\d)?([ \t]+)(\d{3})(?=[ \t\r\n])/i
/** A tab after a status line's status. */
const STATUS_TAB = /^(HTTP\/\d\.\d \d{3})\t/

/**
 * A status line as curl (or wget2, where curl refuses it) reads it, where llhttp refused it:
 * - `http/1.1` in any case, as `HTTP/1.1` (curl; RFC 9112 §2.3 spells it in capitals);
 * - `HTTP/1.2` to `HTTP/1.9` as `HTTP/1.1` (wget2), as RFC 9110 §2.5 has a recipient process
 *   a higher minor version of a major it implements;
 * - `HTTP/2 200` over an HTTP/1.1 connection (a gateway writing HTTP/2's status format) as
 *   `HTTP/2.0 200`, as curl reads it: llhttp then closes the connection after it, as after
 *   an HTTP/1.0 answer that does not ask to keep it;
 * - white space other than one space between the version and the status, or a tab after the
 *   status (curl, wget2), as one space, the rest moved after the status.
 * Anything else (`HTTP/1 200`, `HTTP/1.1 2000`, `ICY 200 OK`) is left to be refused.
 */
function mendStatus(head: string): string {
  const mended = head.replace(
    STATUS_LINE,
    (line, name: string, major: string, minor: string | undefined, space: string, status: string) => {
      const version =
        major === '1' && minor
          ? minor === '.0'
            ? '1.0'
            : '1.1'
          : major === '2' && (!minor || minor === '.0')
            ? '2.0'
            : minor && major + minor
      return version ? `${name.toUpperCase()}/${version} ${status}${' '.repeat(space.length - 1)}` : line
    },
  )
  return mended.replace(STATUS_TAB, '$1 ')
}

const EMPTY = Buffer.alloc(0)
const HTTP_NAME = Buffer.from('HTTP/')

/** Whether the bytes of `data` from `start` begin (or may, when there are fewer) with `HTTP/`, in any case. */
function beginsStatusLine(data: Buffer, start: number): boolean {
  const end = Math.min(data.length, start + HTTP_NAME.length)
  for (let i = start; i < end; i++) {
    const want = HTTP_NAME[i - start]
    if (want === 0x2f ? data[i] !== want : (data[i] & 0xdf) !== want) return false
  }
  return true
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

/**
 * Most bytes of a head held back until its end (see `mendHead`): twice what llhttp reads of its
 * names and values (`MAX_HEADER_BYTES`), room for the line ends and colons of a head it takes.
 */
const HOLD_MAX = 2 * MAX_HEADER_BYTES

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
 * Patched once, on the prototype of the first parser met, as `drainBeforeFinish` is.
 */
function readAsCurlDoes(parser: object): void {
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
    const mended = mendHead(data, this[HELD])
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
    if (this.statusCode) return createError.call(this, code, data)
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
 * `noteReuse`), and as soon as a proxy may be used (see `loadProxyAgents`): its agent writes a
 * `CONNECT` of its own before any request of ours, and that answer is read as leniently as any
 * (a proxy's `HTTP/1.1 200 Connection established` ended by bare LFs was refused, where curl and
 * requests take it, unless a direct request had come first).
 */
function watchSendHeaders(): void {
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
