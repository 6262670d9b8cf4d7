import { errorCode } from '../errors.js'
import { requestTarget } from '../utils/url.js'
import type { SendPauses } from './send-pauses.js'
import { type Dispatcher, isHttp2, parseHeaders } from './undici.js'
import {
  closesAfter,
  fromKeptConnection,
  noteAnswer,
  noteReuse,
  tlsAlertOn,
} from './undici-connection-notes.js'

/** Cancels one attempt (its total timeout, a hard stop): far lighter than an AbortController. */
export class Cancel {
  aborted = false
  reason: unknown
  /** What aborting does right now: cut the exchange in progress. */
  onAbort: ((reason: unknown) => void) | undefined
  abort(reason: unknown = new Error('aborted')): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = reason
    this.onAbort?.(reason)
  }
}

export interface ExchangeOptions {
  method: 'GET'
  headers: Record<string, string>
  headersTimeout: number
  bodyTimeout: number
  /** Read the answer to the close, a `Content-Length` on a content-coded one set aside (see undici-h1-parser.ts `readToClose`). */
  readPastLength?: boolean
  /** A connection of its own, closed after the answer (undici's `reset`: `Connection: close`). */
  reset?: boolean
}

/**
 * `--wait` at the moment of sending (see host-sends.ts): `due`, ms before the host may be sent a
 * request; `claim`, take the send now (false: another request went first, it is not yet time).
 */
export interface SendSpacing {
  due(): number
  claim(): boolean
}

/** The reason a request is taken back unsent in `onConnect`: its host's time had not come (`--wait`, a pause). */
const HELD_BACK = new Error("held back for --wait or its host's pause")

/** Takes each body chunk; a returned promise pauses the socket until it settles. */
export type Sink = (chunk: Buffer) => void | Promise<void>

/** Bodies up to this size are read to the end when dumped, so their connection can be reused. */
export const DUMP_LIMIT = 128 * 1024
/**
 * Longest wait for a dumped body to end, in ms: past it the connection is dropped instead. A
 * redirect's body trickling in would otherwise hold the transfer until its total timeout, where a
 * browser follows on the headers.
 */
export const DUMP_MS = 1000
/**
 * Longest a transfer waits for a body it discards (see `discard`) before it goes on, the body
 * left draining: one that came with its head ends well within it, and its connection is free for
 * the next request.
 */
const DISCARD_WAIT_MS = 100

/**
 * Most bytes held, over all exchanges of the process, of answers that end their connection while
 * their sinks are busy (see `onData`): past it they are paused as others are. Counted until the
 * sink takes them. Held bytes cost about twice their size in RSS (the socket's reads, the
 * allocator): 32 gzip-encoded 30 MB answers with `Connection: close` peaked at 243 MB with
 * 64 MB here, 160 MB with 16 MB, against 120 MB for the same answers kept alive.
 */
const CLOSING_HOLD = 16 * 1024 * 1024

/** Bytes of such answers held now, over the process. */
let closingHeld = 0

/** Bytes of answers that end their connection held now for their busy sinks (see `CLOSING_HOLD`). */
export const closingBytesHeld = (): number => closingHeld

/**
 * A response body to take (`consume`) or throw away (`dump`, `discard`): an exchange's, or one
 * read through it (a multipart 206's one part, see byteranges.ts).
 */
export abstract class Body {
  /** The connection the body comes on (see `noteReuse`); undefined until the request went out. */
  abstract readonly socket: object | undefined
  /**
   * The fields of the answer's trailer section (a chunked body's, an HTTP/2 stream's last
   * HEADERS), names lower-case, once the body has ended with one; undefined before or without.
   */
  trailers: Record<string, string | string[] | undefined> | undefined
  /**
   * Feed the body to `sink`, in order, one chunk at a time; resolves when the body has ended and
   * the sink has taken all of it. A sink that throws or rejects cuts the exchange.
   */
  abstract consume(sink: Sink): Promise<void>
  /** Cut the exchange: the response, or the body being consumed, rejects with `reason`. */
  abstract abort(reason: unknown): void

  /** Throw the body away; small ones are read out so the connection stays open for the next request. */
  async dump(): Promise<void> {
    let seen = 0
    const late = setTimeout(() => this.abort(new Error('body dumped')), DUMP_MS)
    await this.consume((chunk) => {
      seen += chunk.length
      if (seen > DUMP_LIMIT) throw new Error('body dumped')
    })
      .catch(() => {})
      .finally(() => clearTimeout(late))
  }

  /**
   * Throw the body away (see `dump`), waiting for it only `DISCARD_WAIT_MS`: one that has not
   * ended by then drains (or is cut at `DUMP_MS`) while the transfer goes on, a redirect followed
   * on another connection, as browsers follow one on its head. A redirect, a challenge, an error
   * status or a stale connection's 408 whose body never came (its head sent with a length, then
   * silence) held each file a second, its connection then cut.
   */
  async discard(): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, DISCARD_WAIT_MS)
    })
    await Promise.race([this.dump(), waited])
    clearTimeout(timer)
  }
}

/**
 * One HTTP exchange through undici's dispatch handler: `response` once headers arrive, then the
 * body pushed chunk by chunk into a sink. undici's `request()` builds a Readable stream, an
 * AsyncResource and an abort listener per request, and `for await` adds promises per chunk: on
 * 5,000 small images those were a tenth of the client's CPU. Backpressure is the handler's own:
 * returning false from `onData` pauses the parser until `resume`.
 */
export class Exchange extends Body {
  readonly response: Promise<{
    statusCode: number
    headers: Record<string, string | string[] | undefined>
    /** The answer came over HTTP/2 (header values then need one more step back to their bytes). */
    http2: boolean
  }>
  /**
   * Whether the request went out on a connection that had carried an earlier exchange to its
   * answer (a keep-alive connection reused); undefined until it went out, or when it never did.
   * True too for one failed unsent by the reset of such a connection it was given (see
   * `fromKeptConnection`).
   */
  reused: boolean | undefined
  /** The connection it went out on (see `noteReuse`). */
  socket: object | undefined
  /** See `ExchangeOptions.readPastLength`. */
  readonly readPastLength: boolean
  #settleResponse!: { resolve: (r: Awaited<Exchange['response']>) => void; reject: (e: unknown) => void }
  #abort: ((reason: unknown) => void) | undefined
  #resume: (() => void) | undefined
  /** Chunks that came before a sink was attached, or while it was busy. */
  #early: Buffer[] = []
  #earlyBytes = 0
  /** The answer ends its connection (see `closesAfter`): the parser is not paused for it. */
  #closing = false
  #sink: Sink | undefined
  #busy = false
  #ended = false
  /** A final status came. */
  #answered = false
  #error: unknown
  /**
   * How the connection ended the answer early (undici's `onError`): the chunks already taken are
   * still given to the sink before `consume` rejects with it (a server that closes right after the
   * last byte of a body whose length was met has sent all of it).
   */
  #remote: unknown
  #finished: { resolve: () => void; reject: (e: unknown) => void } | undefined
  readonly #dispatch: () => void
  readonly #spacing: SendSpacing | undefined
  /** The run's host pauses, held at the send too (see send-pauses.ts); `#url`, whose host is checked. */
  readonly #pauses: SendPauses | undefined
  readonly #url: URL
  /** Waiting for its host's time (see `SendSpacing`, `SendPauses`) before it is given to a connection. */
  #held: NodeJS.Timeout | undefined

  constructor(
    dispatcher: Dispatcher,
    url: URL,
    options: ExchangeOptions,
    cancel: Cancel,
    spacing?: SendSpacing,
    pauses?: SendPauses,
  ) {
    super()
    this.#spacing = spacing
    this.#pauses = pauses
    this.#url = url
    this.readPastLength = options.readPastLength === true
    this.response = new Promise((resolve, reject) => {
      this.#settleResponse = { resolve, reject }
    })
    const { readPastLength: _, ...dispatched } = options
    const opts = { ...dispatched, ...serverName(url), origin: url.origin, path: requestTarget(url) }
    this.#dispatch = () => dispatcher.dispatch(opts, this as unknown as Dispatcher.DispatchHandler)
    if (cancel.aborted) {
      this.abort(cancel.reason)
      return
    }
    cancel.onAbort = (reason) => this.abort(reason)
    this.#send()
  }

  /** With `--wait`, or after a hold: when the request was last given to a connection (performance.now()). */
  givenAt = 0

  /** Waiting for its host's time under `--wait` or its pause (see `SendSpacing`, `SendPauses`): not given to a connection yet. */
  get held(): boolean {
    return this.#held !== undefined
  }

  /** Give the request to a connection, once its host's time has come (see `SendSpacing`, `SendPauses`). */
  #send(): void {
    const late = this.#held !== undefined
    this.#held = undefined
    if (this.#error !== undefined) return
    const wait = this.#due()
    if (wait > 0) this.#held = setTimeout(() => this.#send(), wait)
    else {
      if (this.#spacing || late) this.givenAt = performance.now()
      this.#dispatch()
    }
  }

  /** Ms before the request may be written: its host's --wait or pause. */
  #due(): number {
    const paused = this.#pauses?.any ? this.#pauses.due(this.#url) : 0
    return Math.max(paused, this.#spacing?.due() ?? 0)
  }

  /** Cut the exchange: the response, or the body being consumed, rejects with `reason`. */
  abort(reason: unknown): void {
    if (this.#error !== undefined) return
    this.#error = reason
    // A stop while it waits for its host's time: nothing was sent, nothing to wait for.
    clearTimeout(this.#held)
    if (!this.#ended) {
      this.#ended = true
      this.#abort?.(reason)
      this.#settleResponse.reject(reason)
    }
    this.#settle()
  }

  /**
   * Feed the body to `sink`, in order, one chunk at a time; resolves when the body has ended and
   * the sink has taken all of it. A sink that throws or rejects cuts the exchange.
   */
  consume(sink: Sink): Promise<void> {
    this.#sink = sink
    const done = new Promise<void>((resolve, reject) => {
      this.#finished = { resolve, reject }
    })
    const early = this.#early.splice(0)
    if (early.length > 0) {
      this.#busy = true
      this.#drain(early, 0)
    } else this.#settle()
    return done
  }

  // undici's handler interface (called by the connection).

  onConnect(abort: (reason?: unknown) => void): void {
    this.#abort = abort
    noteReuse(this)
    // Cut while it waited for a connection: the request must not go out at all.
    if (this.#error !== undefined) abort(this.#error)
    // --wait, taken here, in the tick its head is written: what the host sees spaced. A request
    // whose connection took long to open (a slow handshake, a proxy's CONNECT), or whose thread
    // was busy, finds another sent meanwhile: it goes back unsent and waits for its time (undici
    // closes an HTTP/1.1 connection a request is taken back from; an HTTP/2 one stays). Its
    // host's pause likewise: a request given its turn before a 429 came, then held by its
    // connection, is not sent inside the wait the 429 asked for (see send-pauses.ts).
    else if (this.#pauses?.any && this.#pauses.due(this.#url) > 0) abort(HELD_BACK)
    else if (this.#spacing && !this.#spacing.claim()) abort(HELD_BACK)
  }

  onHeaders(statusCode: number, raw: Buffer[], resume: () => void): boolean {
    if (this.#ended || statusCode < 200) return true // 1xx: informational, the real answer follows
    noteAnswer(this)
    this.#answered = true
    this.#closing = closesAfter(this.socket)
    this.#resume = resume
    this.#settleResponse.resolve({ statusCode, headers: parseHeaders(raw), http2: isHttp2(this) })
    return true
  }

  onData(chunk: Buffer): boolean {
    if (this.#ended) return false
    if (!this.#sink || this.#busy) {
      this.#early.push(chunk)
      // undici 7 dies when a paused parser's socket ends (see `drainBeforeFinish`): an answer that
      // ends its connection is taken as it comes, while the process holds under CLOSING_HOLD.
      if (this.#closing) {
        this.#earlyBytes += chunk.length
        closingHeld += chunk.length
        // Once its socket has ended, what is left is in memory already (the parser's last read):
        // taken at once, so that the parser finishes instead of pausing chunk after chunk.
        return (
          closingHeld < CLOSING_HOLD || (this.socket as { readableEnded?: boolean }).readableEnded === true
        )
      }
      // Without a sink yet, hold a few chunks, then make the parser wait for one.
      return !this.#busy && this.#early.length < 4
    }
    return this.#feed(chunk)
  }

  onComplete(trailers?: Buffer[] | Record<string, string | string[] | undefined> | null): void {
    if (this.#ended) return
    // HTTP/1.1: raw lines, name then value; HTTP/2: Node's object of fields, names lower-case.
    if (Array.isArray(trailers) ? trailers.length > 0 : trailers && Object.keys(trailers).length > 0)
      this.trailers = Array.isArray(trailers) ? parseHeaders(trailers) : { ...trailers }
    this.#ended = true
    this.#settle()
  }

  onError(error: unknown): void {
    if (this.#ended) return
    if (error === HELD_BACK) {
      // Unsent: sent again at its host's time, on whatever connection is free then. Not from
      // within undici's write (this is called there).
      this.#abort = undefined
      this.reused = undefined
      this.socket = undefined
      this.#held = setTimeout(() => this.#send(), Math.max(1, this.#due()))
      return
    }
    this.#ended = true
    // A TLS alert before the answer (a client certificate asked for) is what closed the connection.
    const alert = this.#answered ? undefined : tlsAlertOn(this.socket)
    if (alert && errorCode(error) === 'UND_ERR_SOCKET') error = alert
    // Failed unsent by the reset of the kept-alive connection it waited for: it met a reused one.
    if (this.reused === undefined && fromKeptConnection(error)) this.reused = true
    this.#remote = error
    this.#settleResponse.reject(error)
    this.#settle()
  }

  // Internals.

  /** Give one chunk to the sink; false (pause the parser) while its promise is pending. */
  #feed(chunk: Buffer): boolean {
    let pending: void | Promise<void>
    try {
      pending = this.#sink!(chunk)
    } catch (error) {
      this.abort(error)
      return false
    }
    if (!pending) return true
    this.#busy = true
    pending.then(
      () => this.#drain(this.#early.splice(0), 0),
      (error) => this.#sinkFailed(error),
    )
    return this.#closing
  }

  /** Feed chunks that waited, then let the parser go on (or settle, if the body has ended). */
  #drain(chunks: Buffer[], from: number): void {
    for (let i = from; i < chunks.length && this.#error === undefined; i++) {
      let pending: void | Promise<void>
      try {
        pending = this.#sink!(chunks[i])
      } catch (error) {
        this.#sinkFailed(error)
        return
      }
      // The sink has it: no longer held here (counted until now, not when taken to be fed).
      this.#release(chunks[i].length)
      if (pending) {
        pending.then(
          () => this.#drain(chunks, i + 1),
          (error) => this.#sinkFailed(error),
        )
        return
      }
    }
    // More may have come while the sink was busy (the rest of a socket read).
    if (this.#error === undefined && this.#early.length > 0) {
      this.#drain(this.#early.splice(0), 0)
      return
    }
    this.#busy = false
    if (this.#ended) this.#settle()
    else this.#resume?.()
  }

  /** `bytes` of an answer that ends its connection are no longer held (see `CLOSING_HOLD`). */
  #release(bytes: number): void {
    if (this.#earlyBytes === 0) return
    const n = Math.min(bytes, this.#earlyBytes)
    this.#earlyBytes -= n
    closingHeld -= n
  }

  #sinkFailed(error: unknown): void {
    this.#busy = false
    this.abort(error)
    // Already cut while the sink was busy (abort then returned at once): settle now.
    this.#settle()
  }

  #settle(): void {
    // Cut: what waited for the sink goes (and out of the process's count of held bytes).
    if (this.#error !== undefined && !this.#busy) {
      this.#early.splice(0)
      this.#release(this.#earlyBytes)
    }
    const finished = this.#finished
    if (!finished || this.#busy || !this.#ended) return
    this.#finished = undefined
    if (this.#error !== undefined) finished.reject(this.#error)
    else if (this.#remote !== undefined) finished.reject(this.#remote)
    else finished.resolve()
  }
}

/**
 * The TLS server name (SNI) for `url` where undici's would be wrong: a fully qualified host name
 * (`cdn.example.com.`) without its trailing dot, as RFC 6066 §3 writes it and curl and Go send it.
 * Go's TLS servers (Caddy, Traefik, tsnet) refuse the handshake of a name with the dot
 * (golang/go#63117), which undici sends as the URL spells it. `{}` for any other URL.
 */
export function serverName(url: URL): { servername?: string } {
  return url.protocol === 'https:' && url.hostname.endsWith('.')
    ? { servername: url.hostname.replace(/\.+$/, '') }
    : {}
}
