import http2 from 'node:http2'
import symbols from 'undici/lib/core/symbols.js'
import util from 'undici/lib/core/util.js'
import { ABANDONED_HTTP2, goawayAsks, markAfterSettings, markGoaway, SILENT_HTTP2 } from './http2-errors.js'
import type { Internals } from './undici.js'

// undici's HTTP/2 sessions: the options they open with, a graceful GOAWAY drained, resets told as
// resets, the server's stream limit, and a session that went silent or that nghttp2 abandoned.

/**
 * Whether a client's HTTP/2 session has ended (destroyed by an error, or closing after a GOAWAY)
 * while undici still holds it: until its socket has closed, undici writes new requests to it, and
 * Node refuses each (`ERR_HTTP2_INVALID_SESSION`, see http2-errors.ts `neverSent`).
 */
export function http2Ended(client: object): boolean {
  const session = (client as Internals)[symbols.kHTTP2Session] as http2.ClientHttp2Session | null | undefined
  return session != null && (session.destroyed || session.closed)
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
        markErrorsAfterSettings(session)
        return session
      }) as typeof http2.connect
      try {
        callback(error, socket)
      } finally {
        http2.connect = connect
      }
      // undici has added its listeners by now (client-h2.js `connectH2` runs in the callback).
      if (session && streams) {
        drainOnGoaway(client, session, streams, onDrain)
        refuseHeldOnNoStream(session, streams)
      }
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
      if (typeof rest[0] === 'number') refuseAbove(streams, rest[0], !goawayAsks(code), code)
      for (const listener of theirs) listener.call(session, code, ...rest)
      return
    }
    // nghttp2 refuses the streams above its last-stream-id itself: their errors say the GOAWAY.
    const last = rest[0]
    if (typeof last === 'number')
      for (const stream of streams)
        if (stream.id === undefined || stream.id > last)
          stream.prependListener('error', (error: unknown) => markGoaway(error, code, last))
    const limit = internals[symbols.kMaxConcurrentStreams]
    internals[symbols.kMaxConcurrentStreams] = 0
    session.once('close', () => {
      if (internals[symbols.kMaxConcurrentStreams] === 0) internals[symbols.kMaxConcurrentStreams] = limit
    })
    onDrain?.()
  })
}

/**
 * An error nghttp2 ends `session` with (Node's `destroy(error)`, which fails its streams before
 * the session's 'error' is heard) marked when the server's SETTINGS had come (`markAfterSettings`).
 */
function markErrorsAfterSettings(session: http2.ClientHttp2Session): void {
  const destroy = session.destroy
  session.destroy = function (this: http2.ClientHttp2Session & Internals, error?: Error, code?: number) {
    if (error && this[symbols.kRemoteSettings] === true) markAfterSettings(error)
    return destroy.call(this, error, code)
  } as typeof destroy
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
function refuseAbove(
  streams: Set<http2.ClientHttp2Stream>,
  lastStreamId: number,
  now: boolean,
  code: number,
): void {
  for (const stream of streams) {
    if (stream.id !== undefined && stream.id <= lastStreamId) continue
    refuse(stream, now, { code, lastStreamId })
  }
}

/** nghttp2's state of a stream whose HEADERS it holds, never sent (`nghttp2_stream_proto_state`). */
const STREAM_STATE_IDLE = 1

/**
 * A server that lowers SETTINGS_MAX_CONCURRENT_STREAMS to 0 on a connection that allowed streams
 * (RFC 9113 §5.1.2) takes no new stream there: the requests nghttp2 holds unsent on it (given just
 * before the 0 came) are refused as never processed, and sent again at once on another
 * connection (see `refuseAbove`). Each waited its headers timeout there and failed an attempt
 * (httpwg/http2-spec#335; igrigorik/http-2#109: a client hung on streams past the limit). A
 * session whose first SETTINGS say 0 (a server not ready yet) keeps them: they wait to be sent.
 */
function refuseHeldOnNoStream(
  session: http2.ClientHttp2Session,
  streams: Set<http2.ClientHttp2Stream>,
): void {
  let allowed = false
  session.on('remoteSettings', (settings: Settings) => {
    if (settings.maxConcurrentStreams !== 0) allowed = true
    else if (allowed)
      for (const stream of streams) if (stream.state?.state === STREAM_STATE_IDLE) refuse(stream, true)
  })
}

/**
 * Fail `stream` as refused by the server, never processed (REFUSED_STREAM): sent again at once.
 * `goaway`: the GOAWAY that refused it, which its failure names (see http2-errors.ts `markGoaway`).
 */
function refuse(
  stream: http2.ClientHttp2Stream,
  now: boolean,
  goaway?: { code: number; lastStreamId: number },
): void {
  const refused = Object.assign(new Error('Stream closed with error code NGHTTP2_REFUSED_STREAM'), {
    code: 'ERR_HTTP2_STREAM_ERROR',
  })
  if (goaway) markGoaway(refused, goaway.code, goaway.lastStreamId)
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
const ABANDON_PROBE_MS = 250

/**
 * Close `client`'s HTTP/2 session if nghttp2 has ended it by itself without Node knowing. Over a
 * header block it cannot decode (a field over 64 KiB, NGHTTP2_HD_MAX_NV in nghttp2_hd.c:
 * COMPRESSION_ERROR) nghttp2 queues a GOAWAY, sends it and then neither reads nor writes; Node
 * (20, nghttp2 1.61) emits nothing, and each request on the session waited out its headers timeout
 * (icing/mod_h2#297, curl/curl#16535); so over the other connection errors of a frame it receives
 * (a DATA frame over the 16 KiB frame size, DATA on stream 0, padding longer than its frame). Found by a PING: one nghttp2 never sends stays in its
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
