import type { Dispatcher } from 'undici'
import symbols from 'undici/lib/core/symbols.js'
import UndiciAgent from 'undici/lib/dispatcher/agent.js'

// undici's index also loads its fetch, WebSocket, cookies and, through them, Node's own bundled
// copy of undici: ~45 ms and ~9 MB at start-up for parts imgpull never uses. The Agent and the
// request API are all it needs (types for these paths: src/undici-internals.d.ts).
export const Agent = UndiciAgent
export type { Dispatcher }

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
 * Set on a dispatch handler by the dispatcher that gave its request to a connection (see
 * origin-pool.ts): the undici `Client` carrying it, to tell an HTTP/2 answer from an HTTP/1.1 one.
 */
export const VIA: unique symbol = Symbol('imgpull.via')

/** Whether the connection of a client speaks HTTP/2 (undici 7 keeps this in an internal symbol). */
export function clientIsHttp2(client: object | undefined): boolean {
  const context = (client as Record<symbol, { version?: string } | undefined> | undefined)?.[
    symbols.kHTTPContext
  ]
  return context?.version === 'h2'
}

/** Whether the answer a handler got came over HTTP/2. */
export function isHttp2(handler: object): boolean {
  return clientIsHttp2((handler as { [VIA]?: object })[VIA])
}
