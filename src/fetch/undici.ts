import { createRequire } from 'node:module'
import type { Dispatcher, Agent as UndiciAgent } from 'undici'

// undici's index also loads its fetch, WebSocket, cookies and, through them, Node's own bundled
// copy of undici: ~45 ms and ~9 MB at start-up for parts imgpull never uses. The Agent and the
// request API are all it needs. (undici has no `exports` map, so these paths are public; the
// version is pinned to a minor in package.json and every test goes through them.)
const require = createRequire(import.meta.url)

export const Agent = require('undici/lib/dispatcher/agent.js') as typeof UndiciAgent
export type { Dispatcher }

const api = require('undici/lib/api/index.js') as {
  request(this: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>
}

export type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path'> & { dispatcher: Dispatcher }

/** undici's `request(url, options)`, without its index. */
export function request(
  url: URL,
  { dispatcher, ...options }: RequestOptions,
): Promise<Dispatcher.ResponseData> {
  return api.request.call(dispatcher, { ...options, origin: url.origin, path: url.pathname + url.search })
}
