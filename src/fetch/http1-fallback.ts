import { EventEmitter } from 'node:events'
import { debuglog } from 'node:util'
import { RecentMap } from '../utils/recent.js'
import { ForwardingHandler } from './forwarding-handler.js'
import { type Http1Wanted, http1Wanted, markHttp2Only, refusesHttp1 } from './http2-errors.js'
import { type Dispatcher, VIA } from './undici.js'

/** Origins, and requests, remembered as HTTP/1.1 only (see `Http1Fallback`'s `#origins`). */
const ORIGINS_KEPT = 10_000

const debug = debuglog('imgpull')

type Handler = Dispatcher.DispatchHandler & { [VIA]?: object }

/**
 * Sends over HTTP/1.1 what an HTTP/2 server asks to have over HTTP/1.1, and from then on every
 * request to that origin. A server answers a stream with RST_STREAM(HTTP_1_1_REQUIRED), or ends
 * the connection with GOAWAY(HTTP_1_1_REQUIRED) (RFC 9113 §7; IIS/http.sys for endpoints that need
 * Windows authentication or TLS renegotiation, reverse proxies with HTTP/1.1-only backends), and
 * the client is to repeat the request over HTTP/1.1, as curl does (curl/curl#6862).
 *
 * The refused request is sent again at once through a second dispatcher that offers HTTP/1.1
 * alone by ALPN (made on the first refusal), without its handler ever seeing the refusal: no
 * failed attempt, no backoff. The refusal came before any answer, so nothing was received that
 * could be delivered twice; one refused after its answer began fails as it is (a later attempt
 * goes over HTTP/1.1). The origin is remembered for the dispatcher's life (the run, or one transfer
 * thread's: each learns it on its own), and shared by every transfer to it; requests already on
 * their way over HTTP/2 when it is learnt are each refused and sent again the same way, once.
 * `NODE_DEBUG=imgpull` tells each origin that asked.
 *
 * A server whose TLS handshake agrees to HTTP/2 and that then answers in HTTP/1.1 (a misconfigured
 * TLS front end: nghttp2's "Protocol error") is taken the same way: it will never speak HTTP/2,
 * and over HTTP/1.1 it answers. So is one whose HTTP/2 breaks rules HTTP/1.1 does not have: a
 * head with `Connection` or `Transfer-Encoding` (old proxies pass HTTP/1.1's through), a header
 * block in more CONTINUATION frames than nghttp2 takes. Every attempt failed so before, retried in
 * vain. One whose answer's body overran or fell short of its length (PROTOCOL_ERROR after the head)
 * has that request's later attempts alone go over HTTP/1.1, which reads the length and leaves the
 * rest. `http1Wanted` decides which.
 *
 * Speaks undici's dispatcher protocol (`dispatch`, `close`, `destroy`) over `http2` (the run's
 * dispatcher, which may speak HTTP/2) and `http1`, which makes the other when first needed.
 */
export class Http1Fallback extends EventEmitter {
  readonly #http2: Dispatcher
  readonly #makeHttp1: () => Dispatcher
  #http1: Dispatcher | undefined
  /**
   * Origins (`https://host:port`) that asked for HTTP/1.1: the most recent `ORIGINS_KEPT` (a list of
   * millions of hosts must not hold one each for the run; one forgotten costs a refused attempt).
   */
  readonly #origins = new RecentMap<string, true>(ORIGINS_KEPT)
  /** Requests (`https://host:port/path`) whose later attempts go over HTTP/1.1, their origin not. */
  readonly #requests = new RecentMap<string, true>(ORIGINS_KEPT)
  /**
   * Origins whose TLS refused HTTP/1.1 (they offer HTTP/2 alone): their HTTP/2 failures are their
   * requests' to hear, not turned into a TLS failure of an HTTP/1.1 they never speak.
   */
  readonly #http2Only = new RecentMap<string, true>(ORIGINS_KEPT)
  #destroyed = false

  constructor(http2: Dispatcher, http1: () => Dispatcher) {
    super()
    this.#http2 = http2
    this.#makeHttp1 = http1
  }

  dispatch(opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
    const origin = originOf(opts)
    if (!this.#http2Only.has(origin) && (this.#origins.has(origin) || this.#requests.has(origin + opts.path)))
      return this.#viaHttp1(origin, opts, handler)
    return this.#http2.dispatch(
      opts,
      new Watched(handler, (answered, wanted, error) =>
        this.#refused(origin, opts, handler, answered, wanted, error),
      ),
    )
  }

  /** Finish what runs, then close. In turn: a request refused while HTTP/2 closes goes over HTTP/1.1 first. */
  async close(): Promise<void> {
    await this.#http2.close()
    await this.#http1?.close()
  }

  async destroy(error?: Error): Promise<void> {
    this.#destroyed = true
    await Promise.all([this.#http2.destroy(error ?? null), this.#http1?.destroy(error ?? null)])
  }

  /**
   * The server asked for HTTP/1.1 (or its HTTP/2 failed in a way HTTP/1.1 does not): remember it,
   * and send the request again unless its answer had begun.
   */
  #refused(
    origin: string,
    opts: Dispatcher.DispatchOptions,
    handler: Handler,
    answered: boolean,
    wanted: Http1Wanted,
    error: Error,
  ): boolean {
    if (this.#http2Only.has(origin)) {
      markHttp2Only(error)
      return false
    }
    const [known, key] = wanted.origin ? [this.#origins, origin] : [this.#requests, origin + opts.path]
    if (!known.has(key)) {
      known.set(key, true)
      const whom = wanted.origin ? 'its requests go' : "this request's later attempts go"
      debug('%s %s: %s over HTTP/1.1 from now on', key, wanted.why, whom)
    }
    // Destroyed: nothing new may open (its refusal is the handler's to hear).
    if (answered || this.#destroyed) return false
    this.#viaHttp1(origin, opts, handler)
    return true
  }

  #viaHttp1(origin: string, opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
    return this.#over1().dispatch(opts, new OverHttp1(handler, () => this.#noHttp1(origin, opts, handler)))
  }

  /**
   * The origin's TLS refused HTTP/1.1: it speaks HTTP/2 alone. Its requests stay on HTTP/2, and
   * this one goes there again (the handshake failed before it was sent), its failure its own.
   */
  #noHttp1(origin: string, opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
    if (this.#destroyed) return false
    if (!this.#http2Only.has(origin)) {
      this.#http2Only.set(origin, true)
      this.#origins.delete(origin)
      debug('%s refuses HTTP/1.1 (ALPN: HTTP/2 alone): its requests stay on HTTP/2', origin)
    }
    this.#requests.delete(origin + opts.path)
    this.dispatch(opts, handler)
    return true
  }

  #over1(): Dispatcher {
    this.#http1 ??= this.#makeHttp1()
    return this.#http1
  }
}

/** The request's origin as its callers give it (`URL.origin`, already in its one form). */
function originOf(opts: Dispatcher.DispatchOptions): string {
  const { origin } = opts
  return typeof origin === 'string' ? origin : (origin?.origin ?? '')
}

/** A handler passing everything through to its own, which knows the connection (`VIA`) too. */
class Passing extends ForwardingHandler {
  constructor(override readonly inner: Handler) {
    super(inner)
  }

  /** The connection carrying the request (set by origin-pool.ts): the handler's to know. */
  set [VIA](client: object | undefined) {
    this.inner[VIA] = client
  }

  get [VIA](): object | undefined {
    return this.inner[VIA]
  }
}

/**
 * Passes everything through to its handler, but an error `http1Wanted` takes for a wish for
 * HTTP/1.1, which goes to `onHttp1` first (`answered`: whether a final answer had come);
 * `onHttp1` returns true when it took the request over, and the handler never hears of the error.
 */
class Watched extends Passing {
  #answered = false
  constructor(
    override readonly inner: Handler,
    readonly onHttp1: (answered: boolean, wanted: Http1Wanted, error: Error) => boolean,
  ) {
    super(inner)
  }

  override onHeaders(status: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    if (status >= 200) this.#answered = true
    return super.onHeaders(status, headers, resume, statusText)
  }

  override onError(error: Error): void {
    const wanted = http1Wanted(error, this.#answered)
    if (wanted && this.onHttp1(this.#answered, wanted, error)) return
    super.onError(error)
  }
}

/**
 * A request sent over HTTP/1.1 in place of HTTP/2: a TLS handshake refused for want of HTTP/1.1
 * (see `refusesHttp1`) goes to `onRefused` first, which returns true when it took the request
 * back; the handler never hears of it.
 */
class OverHttp1 extends Passing {
  constructor(
    override readonly inner: Handler,
    readonly onRefused: () => boolean,
  ) {
    super(inner)
  }

  override onError(error: Error): void {
    if (refusesHttp1(error) && this.onRefused()) return
    super.onError(error)
  }
}
