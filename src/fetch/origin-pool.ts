import { EventEmitter } from 'node:events'
import { onShortOfDescriptors, outOfDescriptors } from '../utils/descriptors.js'
import { Fifo } from '../utils/fifo.js'
import { ForwardingHandler } from './forwarding-handler.js'
import { HTTP2_HEADER_OPTIONS, MAX_HEADER_BYTES } from './header-limits.js'
import { nameMismatchFailsAll } from './name-mismatch.js'
import { HEAD_OVERDUE_MS } from './overdue-heads.js'
import { Client, clientProtocol, closeIdle, type Dispatcher, kDispatch, Pool, RETIRE, VIA } from './undici.js'
import {
  endIfHttp2Abandoned,
  http2Ended,
  pingOrClose,
  watchStreamLimit,
  withHttp2Options,
} from './undici-h2.js'

/** Most streams given to one HTTP/2 connection, whatever larger limit its server sets (or none). */
export const MAX_STREAMS = 100

/**
 * Longest wait, in ms, for the answer to a PING on an HTTP/2 connection where a request timed out
 * (see `#check`): past it, with no byte come, the connection is closed. Go's `PingTimeout` is 15 s,
 * okhttp's degraded connection's 1 s.
 */
export const PING_WAIT_MS = 5_000

/** How long an idle HTTP/2 connection is kept when its pool was given no keep-alive time (undici's default). */
const IDLE_MS = 4_000

type Handler = Dispatcher.DispatchHandler & { [VIA]?: object }
type ClientInstance = InstanceType<typeof Client>

interface Pending {
  opts: Dispatcher.DispatchOptions
  handler: Handler
}

interface Connection {
  client: ClientInstance
  /** Requests given to it and not finished. */
  load: number
  /** What it speaks, while connected. */
  protocol: 'h1' | 'h2' | undefined
  /** Requests it may carry at once: 1 over HTTP/1.1; over HTTP/2, the server's stream limit. */
  capacity: number
  /** Streams its server's latest SETTINGS allow on it (0 too), once they came; see `#connected`. */
  limit?: number
  /** A PING is out on it after a timeout (see `#check`): it takes no new request until answered. */
  checking?: boolean
  /** Its server ended it gracefully (GOAWAY NO_ERROR): it takes no new request while its streams finish. */
  draining?: boolean
  /** Closes it once it has carried nothing for the keep-alive time (see `#idleLater`). */
  idle?: NodeJS.Timeout
}

/**
 * The connections to one HTTPS origin where HTTP/2 may be spoken: streams up to the server's limit
 * on each connection, and a new connection only when every open one is full.
 *
 * undici 7's own pool cannot do this (nodejs/undici#4143, #5362): a connection carries as many
 * requests as `pipelining` says, whatever it negotiated, and while the first connection is still
 * in its TLS handshake every further request opens a connection of its own. Measured against an
 * HTTP/2 server allowing 8 streams: 24 images over 20 connections. Here the first connection to
 * an origin goes alone; once its ALPN says HTTP/2 and its SETTINGS say how many streams it takes,
 * requests fill it up to that, and the next connection opens only when it is full (one opening at
 * a time). An origin that answers HTTP/1.1 gets a connection per request in flight, as before.
 *
 * Speaks undici's dispatcher protocol (`dispatch`, `close`, `destroy`, and the `connect`,
 * `disconnect` and `connectionError` events an `Agent` uses to drop pools of idle origins).
 */
export class OriginPool extends EventEmitter {
  readonly #origin: string | URL
  readonly #options: object
  readonly #connections: Connection[] = []
  readonly #queue = new Fifo<Pending>()
  /** What the origin speaks, as its connections have shown (`h1` too after a failed first connect). */
  #protocol: 'h1' | 'h2' | undefined
  /** Streams the origin's server allows per connection, from its latest SETTINGS. */
  #streams = 1
  #closing = false
  #destroyed = false
  #idle: (() => void) | undefined

  constructor(origin: string | URL, options: object) {
    super()
    this.#origin = origin
    this.#options = options
  }

  get destroyed(): boolean {
    return this.#destroyed
  }

  get closed(): boolean {
    return this.#closing
  }

  /** Connections open or opening, and what each carries: for tests and measurements. */
  get connections(): { protocol: 'h1' | 'h2' | undefined; load: number; capacity: number }[] {
    return this.#connections.map(({ protocol, load, capacity }) => ({ protocol, load, capacity }))
  }

  dispatch(opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
    if (this.#destroyed) {
      handler.onError?.(new Error('the connection pool is destroyed'))
      return false
    }
    this.#queue.push({ opts, handler })
    this.#pump()
    return true
  }

  /** undici's wrappers (a proxy's) dispatch through this symbol. */
  [kDispatch](opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
    return this.dispatch(opts, handler)
  }

  /** Finish what is queued and running, then close every connection. */
  async close(): Promise<void> {
    this.#closing = true
    if (!this.#isIdle()) await new Promise<void>((resolve) => (this.#idle = resolve))
    await Promise.all(this.#connections.map((c) => c.client.close()))
  }

  /** Fail what is queued with `error` and cut every connection at once. */
  async destroy(error?: Error): Promise<void> {
    this.#destroyed = true
    const reason = error ?? new Error('the connection pool is destroyed')
    for (let p = this.#queue.shift(); p; p = this.#queue.shift()) p.handler.onError?.(reason)
    await Promise.all(this.#connections.map((c) => c.client.destroy(error ?? null)))
    this.#idle?.()
  }

  /** Close the connections that carry nothing (see `closeIdleConnections`). */
  closeIdle(): number {
    let closed = 0
    for (const c of this.#connections) if (c.load === 0) closed += closeIdle(c.client)
    return closed
  }

  #pump(): void {
    while (this.#queue.size > 0 && !this.#destroyed) {
      const connection = this.#pick()
      if (!connection) return
      const { opts, handler } = this.#queue.shift()!
      connection.load++
      clearTimeout(connection.idle)
      handler[VIA] = connection.client
      const tracked = new Tracked(handler, (error) => this.#finished(connection, error))
      // Over HTTP/2, nothing come for a while (no head, or the body or its end held): nghttp2 may
      // have ended the session unheard (see undici-h2.ts).
      if (connection.protocol !== 'h1') tracked.whenSilent(() => endIfHttp2Abandoned(connection.client))
      connection.client.dispatch(opts, tracked)
    }
  }

  #finished(connection: Connection, error?: Error): void {
    connection.load--
    if (timedOut(error) && connection.protocol === 'h2') this.#check(connection)
    this.#pump()
    if (connection.load === 0 && connection.protocol === 'h2') this.#idleLater(connection)
    if (this.#idle && this.#isIdle()) {
      const idle = this.#idle
      this.#idle = undefined
      idle()
    }
  }

  /**
   * A request on the HTTP/2 connection timed out (no head, or a body gone silent): the connection
   * may be dead (a NAT or firewall that dropped its state, a path that failed over, a server that
   * vanished without a FIN), and every request of the origin would go on it, each to wait out its
   * timeout, for as long as the kernel keeps the socket (15 minutes). It takes no new request
   * (the next ones open another connection) while a PING asks; answered, or any byte come, it is
   * used again; silent past `PING_WAIT_MS`, it is closed: an answer still coming on it fails as
   * cut (to resume), a request still waiting for its head is sent again at once, as on any reused
   * connection that closes (send.ts `isStaleConnection`). Go's HTTP/2 health check
   * (golang/go#36026, kubernetes#87615) and Chromium's PING (ERR_HTTP2_PING_FAILED) do the same;
   * HTTP/1.1 never needs it: a timeout closes its connection.
   */
  #check(connection: Connection): void {
    if (connection.checking) return
    const sent = pingOrClose(connection.client, PING_WAIT_MS, (alive) => {
      connection.checking = false
      if (alive && !connection.draining && connection.capacity === 0)
        connection.capacity = connection.limit ?? this.#streams
      this.#pump()
    })
    if (!sent) return
    connection.checking = true
    connection.capacity = 0
  }

  /**
   * Close the HTTP/2 connection once it has carried nothing for the keep-alive time its pool was
   * given (10 s; a second for a crowded run's new origins, see `idleOriginsCap`), as undici closes
   * an HTTP/1.1 one: undici 7 never closes an idle HTTP/2 session, which stayed open until its
   * server closed it (nginx after minutes, Node's server never). A list where every URL is another
   * host held one open to each for the whole run: 60 hosts at -c 2, 60 connections (HTTP/1.1: 30),
   * thousands at web scale, each a descriptor and its TLS and HTTP/2 state, until `ulimit -n`.
   */
  #idleLater(connection: Connection): void {
    clearTimeout(connection.idle)
    const { keepAliveTimeout } = this.#options as { keepAliveTimeout?: number }
    connection.idle = setTimeout(() => {
      connection.idle = undefined
      if (connection.load === 0) closeIdle(connection.client)
    }, keepAliveTimeout ?? IDLE_MS).unref()
  }

  #isIdle(): boolean {
    return this.#queue.size === 0 && this.#connections.every((c) => c.load === 0)
  }

  /**
   * The connection for the next request: an open one with room, else one with room that must
   * connect (again), else a new one, else none yet (wait). Not one whose HTTP/2 session has ended
   * and whose socket has yet to close (see `http2Ended`). Open ones first: one the server had
   * closed connected anew while kept-alive ones sat idle (see undici.ts `Pool`).
   */
  #pick(): Connection | undefined {
    let opening = false
    let unopened: Connection | undefined
    for (const c of this.#connections) {
      if (c.load < c.capacity && !(c.protocol === 'h2' && http2Ended(c.client))) {
        if (c.protocol !== undefined) return c
        unopened ??= c
      }
      if (c.protocol === undefined) opening = true
    }
    if (unopened) return unopened
    // HTTP/1.1: a connection per request in flight, as undici's pool does.
    if (this.#protocol === 'h1') return this.#open()
    // Not known yet, or HTTP/2: see how many streams the opening connection takes first.
    return opening ? undefined : this.#open()
  }

  #open(): Connection {
    const client = new Client(this.#origin, this.#options as ConstructorParameters<typeof Client>[1])
    // A connection to a server known to speak HTTP/2 takes its stream limit at once (sent when it is up).
    const connection: Connection = {
      client,
      load: 0,
      protocol: undefined,
      capacity: this.#protocol === 'h2' ? this.#streams : 1,
    }
    // As large a header section over HTTP/2 as over HTTP/1.1 (see header-limits.ts). After a
    // graceful GOAWAY the connection takes no new request while its streams finish: the next
    // ones open another (see undici-h2.ts `drainOnGoaway`); it is given requests again once closed.
    withHttp2Options(client, HTTP2_HEADER_OPTIONS, () => {
      connection.draining = true
      connection.capacity = 0
      queueMicrotask(() => this.#pump())
    })
    // Answered 421 (see undici.ts `retireConnection`): as after a graceful GOAWAY, until it closes.
    Object.assign(client, {
      [RETIRE]: () => {
        connection.draining = true
        connection.capacity = 0
      },
    })
    this.#connections.push(connection)
    client.on('connect', (origin: URL, targets: readonly Dispatcher[]) => {
      this.#connected(connection)
      this.emit('connect', origin, [this, ...targets])
    })
    client.on('disconnect', (origin: URL, targets: readonly Dispatcher[], error: Error) => {
      clearTimeout(connection.idle)
      connection.protocol = undefined
      connection.draining = false
      connection.limit = undefined
      connection.capacity = this.#protocol === 'h2' ? this.#streams : 1
      this.emit('disconnect', origin, [this, ...targets], error)
    })
    client.on('connectionError', (origin: URL, targets: readonly Dispatcher[], error: Error) => {
      // No connection has shown what the origin speaks: stop waiting for one (each request tries its own).
      this.#protocol ??= 'h1'
      this.emit('connectionError', origin, [this, ...targets], error)
      queueMicrotask(() => this.#pump())
    })
    return connection
  }

  #connected(connection: Connection): void {
    const { client } = connection
    connection.protocol = clientProtocol(client)
    if (connection.protocol !== 'h2') {
      this.#protocol ??= 'h1'
      connection.capacity = 1
      // The requests that waited to see what the first connection speaks open their own now: they
      // waited for the first request's whole answer (8 answers of 500 ms each: 1.1 s, now 0.57 s).
      this.#pump()
      return
    }
    this.#protocol = 'h2'
    const fill = (streams: number) => {
      // Not while a PING asks or a GOAWAY drains it: those give it back its `limit` when done.
      if (!connection.checking && !connection.draining) connection.capacity = streams
      // undici 7 sends as many requests at once on a connection as `pipelining` says, HTTP/2 too.
      client.pipelining = Math.max(1, streams)
      this.#pump()
    }
    // A limit lowered to 0 (RFC 9113 §5.1.2: a server that takes no new stream on the connection,
    // without a GOAWAY) holds its new requests unsent until raised: the next go on another
    // connection, opened with the origin's last nonzero limit. Read as 1, each waited its headers
    // timeout there and failed as a slow answer. A connection whose first SETTINGS say 0 is a
    // server not ready yet (Node's, until told its limit): its request waits there to be sent.
    watchStreamLimit(client, (limit) => {
      let streams = Math.min(MAX_STREAMS, limit ?? MAX_STREAMS)
      if (streams === 0 && !connection.limit) streams = 1
      else if (streams > 0) this.#streams = streams
      connection.limit = streams
      fill(streams)
    })
    // Until its SETTINGS come, what the origin's earlier connections allowed (1 for the first).
    if (connection.limit === undefined && connection.capacity < this.#streams) fill(this.#streams)
  }
}

/** A handler that tells its pool when its request ends, passing everything else through. */
class Tracked extends ForwardingHandler {
  #done = false
  #error: Error | undefined
  #silent: NodeJS.Timeout | undefined
  constructor(
    inner: Handler,
    readonly finish: (error?: Error) => void,
  ) {
    super(inner)
  }

  /**
   * Run `check` each time `HEAD_OVERDUE_MS` pass with nothing come for the request (its head, a
   * chunk of its body), until it ends.
   */
  whenSilent(check: () => void): void {
    const fire = () => {
      if (this.#done) return
      check()
      this.#silent = setTimeout(fire, HEAD_OVERDUE_MS).unref()
    }
    this.#silent = setTimeout(fire, HEAD_OVERDUE_MS).unref()
  }

  override onHeaders(status: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    this.#silent?.refresh()
    return super.onHeaders(status, headers, resume, statusText)
  }

  override onData(chunk: Buffer): boolean {
    this.#silent?.refresh()
    return super.onData(chunk)
  }

  override onComplete(trailers: string[] | null): void {
    try {
      super.onComplete(trailers)
    } finally {
      this.#end()
    }
  }

  override onError(error: Error): void {
    this.#error = error
    try {
      super.onError(error)
    } finally {
      this.#end()
    }
  }

  #end(): void {
    clearTimeout(this.#silent)
    if (this.#done) return
    this.#done = true
    // Not from inside undici's callback: the next request must not reach a client mid-way through
    // failing its queue (undici asserts its queue is empty right after).
    queueMicrotask(() => this.finish(this.#error))
  }
}

/** A request cut by the headers timeout or the idle timeout (undici's, or send.ts's own). */
const timedOut = (error: Error | undefined): boolean => {
  const code = (error as { code?: string } | undefined)?.code
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT'
}

/** Every origin's pool alive in this thread, over all its agents (see `closeIdleConnections`). */
const pools = new Set<Dispatcher>()
/** The same pools by origin (`scheme://host:port`; one per agent that reaches it). */
const byOrigin = new Map<string, Set<Dispatcher>>()

/** Close the idle connections of `origin`'s pools (see `headOverdue`). Returns how many were closed. */
export function closeIdleOf(origin: string): number {
  let closed = 0
  for (const pool of byOrigin.get(origin) ?? [])
    closed += pool instanceof OriginPool ? pool.closeIdle() : closeIdle(pool)
  return closed
}

/** When idle connections were last closed (performance.now()): one shortage closes them once. */
let closedAt = Number.NEGATIVE_INFINITY

/**
 * The thread found no file descriptor free (EMFILE, ENFILE): close every idle keep-alive
 * connection, as curl closes the oldest connection of its cache when it needs room. Each origin
 * done with keeps its idle connection for the server's keep-alive hint (30 s, nginx's 75), the
 * latest `idleOriginsCap` origins (512 at -c 128): past `ulimit -n` those held every descriptor
 * while new transfers failed for want of one, the run at 5 files a second where it made 600
 * (ulimit -n 256, 5,000 hosts), and at -c 1000 under 4,096 some files failed for good. At most
 * once in 100 ms: the transfers of one shortage fail together. Returns how many were closed.
 */
export function closeIdleConnections(now = performance.now()): number {
  if (now - closedAt < 100) return 0
  closedAt = now
  let closed = 0
  for (const pool of pools) closed += pool instanceof OriginPool ? pool.closeIdle() : closeIdle(pool)
  return closed
}

// A part file or a shard's spool that found no descriptor frees the idle connections' too.
onShortOfDescriptors(() => closeIdleConnections())

/**
 * The `factory` for undici's `Agent`: HTTPS origins where HTTP/2 is allowed get an `OriginPool`,
 * the others undici's own `Pool` (HTTP/1.1 only: nothing to multiplex). Every pool reads header
 * sections up to `MAX_HEADER_BYTES`, also those a proxy agent makes with options of its own
 * (undici's `Http1ProxyWrapper` passes only `connect`).
 */
export function originFactory(http2: boolean, concurrency = Number.POSITIVE_INFINITY) {
  let live = 0
  return (origin: string | URL, given: object): Dispatcher => {
    const { connect } = given as { connect?: unknown }
    const options = {
      maxHeaderSize: MAX_HEADER_BYTES,
      ...given,
      // A certificate for another name fails every request waiting on the connection (name-mismatch.ts).
      ...(typeof connect === 'function' ? { connect: nameMismatchFailsAll(connect) } : {}),
      ...(live >= idleOriginsCap(concurrency) ? CROWDED_KEEP_ALIVE : {}),
    }
    const https = String(origin).startsWith('https:')
    const pool =
      http2 && https
        ? new OriginPool(origin, options)
        : new Pool(origin, options as ConstructorParameters<typeof Pool>[1])
    // The Agent closes (or destroys) an origin's pool once its last connection is gone.
    live++
    pools.add(pool as unknown as Dispatcher)
    const key = originKey(origin)
    const same = byOrigin.get(key) ?? new Set<Dispatcher>()
    byOrigin.set(key, same.add(pool as unknown as Dispatcher))
    let counted = true
    const release = () => {
      if (counted) live--
      counted = false
      pools.delete(pool as unknown as Dispatcher)
      same.delete(pool as unknown as Dispatcher)
      if (same.size === 0 && byOrigin.get(key) === same) byOrigin.delete(key)
    }
    pool.on('connectionError', (_origin: unknown, _targets: unknown, error: Error) => {
      if (outOfDescriptors(error)) closeIdleConnections()
    })
    pool.on('disconnect', (_origin: unknown, _targets: unknown, error: unknown) => {
      if (sentUnasked(error)) leftovers.add(key)
    })
    for (const method of ['close', 'destroy'] as const) {
      const own = (pool[method] as (...args: unknown[]) => unknown).bind(pool)
      ;(pool as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        release()
        return own(...args)
      }
    }
    return pool as unknown as Dispatcher
  }
}

/** `scheme://host:port` of an origin as an Agent names it (a string, or a URL). */
/**
 * Origins one of whose HTTP/1.1 connections received bytes while it carried no request: the rest
 * of an answer longer than its length, or a second answer the server sent unasked (undici ends
 * the connection, `bad response`). That one came while idle; the next may come while a request
 * waits on the connection, and be taken for its answer, whole and well-formed: a file kept with
 * another's bytes, and every later answer on it one behind. Nothing tells that answer from the
 * right one, so the origin's requests go on a connection each from then on (see answers-once.ts
 * `oneEach`), as nuclei stops reusing such a host's connections (projectdiscovery/nuclei#7679;
 * Go logs `Unsolicited response received on idle HTTP channel` and drops that connection alone,
 * projectdiscovery/nuclei#7671). The thread's, for the process's life.
 */
const leftovers = new Set<string>()

/** Whether `origin` (`URL.origin`) sent bytes on an idle connection (see `leftovers`). */
export const sentLeftovers = (origin: string): boolean => leftovers.size > 0 && leftovers.has(origin)

/** undici's error for bytes that came on a connection with no request waiting. */
function sentUnasked(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null
  return e?.code === 'UND_ERR_SOCKET' && e.message === 'bad response'
}

function originKey(origin: string | URL): string {
  try {
    return new URL(String(origin)).origin
  } catch {
    return String(origin)
  }
}

/**
 * Origins with a pool of their own past which a new origin's idle connections are kept a second
 * only: curl's connection cache, 4 times the transfers at once (CURLMOPT_MAXCONNECTS' default).
 * A list where every URL is another host (a web-scale table's) otherwise kept an idle connection
 * to each for the keep-alive time after its file, thousands at 1,000 hosts a second (400 MB of
 * memory, and `ulimit -n` reached); a host whose URLs keep coming keeps its connection busy.
 */
export function idleOriginsCap(concurrency: number): number {
  return 4 * concurrency
}

/** The keep-alive of a crowded run's new origins (see `idleOriginsCap`), the server's hint capped. */
const CROWDED_KEEP_ALIVE = { keepAliveTimeout: 1_000, keepAliveMaxTimeout: 1_000 }
