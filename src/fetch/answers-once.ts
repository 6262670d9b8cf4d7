import { closeIdleOf, sentLeftovers } from './origin-pool.js'
import { isSocks } from './proxy.js'

/**
 * The origin a request for `url` opens its connection to: an HTTP(S) proxy's for an http:// URL
 * it forwards as a plain request (one pool of connections to it carries every host's), else the
 * URL's own (a tunnel, CONNECT or SOCKS5, carries one host's bytes unread). Pure.
 */
export function connectionOrigin(url: URL, proxy: URL | undefined): string {
  return proxy && !isSocks(proxy) && url.protocol === 'http:' ? proxy.origin : url.origin
}

/**
 * Servers and proxies whose HTTP/1.1 connections answer one request and then nothing, kept open
 * without a word (no `Connection: close`): a forward proxy that forwards the first absolute-form
 * request of a connection and drops the next (earendil-works/pi#8134, where undici 8.7 began to
 * forward http:// URLs as imgpull always has), an embedded server that reads one request a
 * connection. Each reused connection held its file to the headers timeout, then its retry went on
 * another one: 12 files through such a proxy took 13 s at --headers-timeout 4, one failing
 * after all its attempts (at the default 30 s, minutes). Once one is found (`found`), its
 * requests go on a connection each, closed after its answer (`oneEach`), as curl's
 * `--no-keepalive` would have them, and the request that found it is sent again at once on one.
 * Until a new connection has answered in time (`answeredFresh`), it is only suspected: a host
 * silent on a new connection as well (`silentFresh`) is slow, not one that answers once, and its
 * connections are kept alive again (one slow answer would otherwise cost keep-alive for the run).
 *
 * Kept by the owner of one connection pool (a run's agent, on the thread it runs on: see
 * `DownloadContext.answersOnce`), keyed by the origin its connections are made to (see
 * `connectionOrigin`), each with whether a new connection has shown it. The process's once: a
 * library caller's next pull() to the same origin, mended since (a proxy restarted), still
 * opened a connection a file.
 */
export class AnswersOnce {
  readonly #once = new Map<string, boolean>()

  /** A connection to `origin` that had answered before said nothing to the next request: see above. */
  found(origin: string): void {
    if (!this.#once.has(origin)) this.#once.set(origin, false)
    closeIdleOf(origin)
  }

  /** A head came in time on a new connection to `origin`: one that answers once, shown (see above). */
  answeredFresh(origin: string): void {
    if (this.#once.get(origin) === false) this.#once.set(origin, true)
  }

  /** A new connection to `origin` said nothing in time either: slow, not one that answers once (see above). */
  silentFresh(origin: string): void {
    if (this.#once.get(origin) === false) this.#once.delete(origin)
  }

  /**
   * Whether a request to `origin` goes on a connection of its own, closed after its answer
   * (undici's `reset`); its idle connections, made before it was found out, are closed first, so
   * that none is taken for it. So too for an origin that sent bytes unasked on an idle connection
   * (see origin-pool.ts `leftovers`).
   */
  oneEach(origin: string): boolean {
    if ((this.#once.size === 0 || !this.#once.has(origin)) && !sentLeftovers(origin)) return false
    closeIdleOf(origin)
    return true
  }
}
