import type { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { SOCKS_CLOSED } from './proxy.js'
import { watchSendHeaders } from './undici-connection-notes.js'

// undici's proxy agents, loaded when a proxy applies, and the fix its SOCKS5 client needs.

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
