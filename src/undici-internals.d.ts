// Types for the few undici modules imgpull loads directly instead of undici's index (see
// src/fetch/undici.ts and its undici-*.ts siblings). undici has no `exports` map, so these paths
// are public; the version is pinned to a minor in package.json.
declare module 'undici/lib/dispatcher/agent.js' {
  const Agent: typeof import('undici').Agent
  export default Agent
}
declare module 'undici/lib/api/index.js' {
  import type { Dispatcher } from 'undici'

  const api: {
    request(this: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>
    connect: unknown
  }
  export default api
}
declare module 'undici/lib/core/util.js' {
  const util: {
    parseHeaders(raw: Buffer[]): Record<string, string | string[] | undefined>
    destroy(stream: unknown, error?: Error): void
  }
  export default util
}
declare module 'undici/lib/dispatcher/pool-base.js' {
  const poolBase: { kClients: symbol; kGetDispatcher: symbol; kNeedDrain: symbol }
  export default poolBase
}
declare module 'undici/lib/core/errors.js' {
  const errors: { InformationalError: new (message: string) => Error }
  export default errors
}
declare module 'undici/lib/core/symbols.js' {
  const symbols: Record<
    | 'kHTTPContext'
    | 'kHTTP2Session'
    | 'kRemoteSettings'
    | 'kDispatch'
    | 'kConnector'
    | 'kParser'
    | 'kReset'
    | 'kMaxConcurrentStreams'
    | 'kSocket'
    | 'kConnected'
    | 'kSize'
    | 'kQueue'
    | 'kRunningIdx',
    symbol
  >
  export default symbols
}
declare module 'undici/lib/dispatcher/client.js' {
  const Client: typeof import('undici').Client
  export default Client
}
declare module 'undici/lib/dispatcher/pool.js' {
  const Pool: typeof import('undici').Pool
  export default Pool
}
declare module 'undici/lib/dispatcher/proxy-agent.js' {
  const ProxyAgent: typeof import('undici').ProxyAgent
  export default ProxyAgent
}
declare module 'undici/lib/core/connect.js' {
  const buildConnector: typeof import('undici').buildConnector
  export default buildConnector
}
declare module 'undici/lib/dispatcher/dispatcher.js' {
  const Dispatcher: { prototype: object }
  export default Dispatcher
}
declare module 'undici/lib/core/socks5-client.js' {
  const client: import('./fetch/undici-proxy.js').Socks5ClientModule
  export default client
}
