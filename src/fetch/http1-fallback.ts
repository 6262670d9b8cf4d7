import { EventEmitter } from 'node:events'
import { debuglog } from 'node:util'
import { RecentMap } from '../utils/recent.js'
import { ForwardingHandler } from './forwarding-handler.js'
import { asksForHttp1, notHttp2 } from './http2-errors.js'
import { type Dispatcher, VIA } from './undici.js'

/** Origins remembered as HTTP/1.1 only (see `Http1Fallback`'s `#origins`). */
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
 * and over HTTP/1.1 it answers. Every attempt failed so before, retried in vain.
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
  #destroyed = false

  constructor(http2: Dispatcher, http1: () => Dispatcher) {
    super()
    this.#http2 = http2
    this.#makeHttp1 = http1
  }

  dispatch(opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
    const origin = originOf(opts)
    if (this.#origins.has(origin)) return this.#over1().dispatch(opts, handler)
    return this.#http2.dispatch(
      opts,
      new Watched(handler, (answered, notHttp2) => this.#refused(origin, opts, handler, answered, notHttp2)),
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
   * The server asked for HTTP/1.1 (or agreed to HTTP/2 and spoke something else): remember it, and
   * send the request again unless its answer had begun.
   */
  #refused(
    origin: string,
    opts: Dispatcher.DispatchOptions,
    handler: Handler,
    answered: boolean,
    notHttp2: boolean,
  ): boolean {
    if (!this.#origins.has(origin)) {
      this.#origins.set(origin, true)
      const why = notHttp2
        ? 'agreed to HTTP/2, then sent something else'
        : 'asks for HTTP/1.1 (HTTP_1_1_REQUIRED)'
      debug('%s %s: its requests go over HTTP/1.1 from now on', origin, why)
    }
    // Destroyed: nothing new may open (its refusal is the handler's to hear).
    if (answered || this.#destroyed) return false
    this.#over1().dispatch(opts, handler)
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

/**
 * Passes everything through to its handler, but a refusal asking for HTTP/1.1 (or a connection
 * that proved not to speak HTTP/2), which goes to `onHttp1` first (`answered`: whether a final answer had come); `onHttp1` returns true when it
 * took the request over, and the handler never hears of the refusal.
 */
class Watched extends ForwardingHandler {
  #answered = false
  constructor(
    override readonly inner: Handler,
    readonly onHttp1: (answered: boolean, notHttp2: boolean) => boolean,
  ) {
    super(inner)
  }

  /** The connection carrying the request (set by origin-pool.ts): the handler's to know. */
  set [VIA](client: object | undefined) {
    this.inner[VIA] = client
  }

  get [VIA](): object | undefined {
    return this.inner[VIA]
  }

  override onHeaders(status: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    if (status >= 200) this.#answered = true
    return super.onHeaders(status, headers, resume, statusText)
  }

  override onError(error: Error): void {
    if ((asksForHttp1(error) || notHttp2(error)) && this.onHttp1(this.#answered, notHttp2(error))) return
    super.onError(error)
  }
}
