import type { Dispatcher } from 'undici'
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
