import type { Dispatcher } from 'undici'
import UndiciConnector from 'undici/lib/core/connect.js'
import errors from 'undici/lib/core/errors.js'
import symbols from 'undici/lib/core/symbols.js'
import util from 'undici/lib/core/util.js'
import UndiciAgent from 'undici/lib/dispatcher/agent.js'
import UndiciClient from 'undici/lib/dispatcher/client.js'
import UndiciPool from 'undici/lib/dispatcher/pool.js'
import poolBase from 'undici/lib/dispatcher/pool-base.js'

// undici's index also loads its fetch, WebSocket, cookies and, through them, Node's own bundled
// copy of undici: ~45 ms and ~9 MB at start-up for parts imgpull never uses. The Agent, its pools
// and the request API are all it needs (types for these paths: src/undici-internals.d.ts). This
// file and its siblings are the ones that know undici's internals (pinned to a minor in
// package.json): undici-h2.ts (HTTP/2 sessions), undici-h1-parser.ts (the HTTP/1.1 parser),
// undici-connection-notes.ts (what each request's connection says), undici-proxy.ts (proxies).
export const Agent = UndiciAgent
export const Client = UndiciClient

/**
 * undici's `Pool`, giving a request a free connection that is open before one that must connect
 * again: undici 7's takes the first free client in the order they were made, connected or not.
 * A client whose connection had closed (the server's keep-alive ran out, or it reset a path)
 * connected anew while idle kept-alive connections sat behind it unused: a handshake each time,
 * and on a host that resets a client's connections beyond 4 open (a per-client connection limit)
 * a reset each time, a request at a time on that same client, until 169 of 180 good files had
 * failed with 4 idle connections open all along. curl too takes an idle connection before opening one.
 */
// Typed as undici's own Pool: the class's symbol-named member would name undici's internal
// modules in the published declarations, which a consumer's compiler cannot resolve.
export const Pool: typeof import('undici').Pool = class Pool extends UndiciPool {
  [poolBase.kGetDispatcher](): unknown {
    const clients = (this as unknown as Record<symbol, ClientState[]>)[poolBase.kClients] ?? []
    // The pool's own `kNeedDrain`: the client said it was busy, and has not drained since.
    const open = clients.find(
      (c) => !c[poolBase.kNeedDrain] && c[symbols.kConnected] && !c.closed && !c.destroyed,
    )
    return (
      open ??
      (UndiciPool.prototype as unknown as Record<symbol, () => unknown>)[poolBase.kGetDispatcher]!.call(this)
    )
  }
}

/** What `Pool` reads of each of its clients. */
type ClientState = Record<symbol, unknown> & { closed?: boolean; destroyed?: boolean }

/** undici's own connector (TCP, TLS with ALPN, its session cache), to wrap (see connect-stage.ts). */
export const buildConnector = UndiciConnector
export type { Dispatcher }

/**
 * Raw header lines (`[name, value, name, value...]` as Buffers) to an object of lower-case names,
 * the way undici's own `request()` does (what a dispatch handler receives in `onHeaders`), each
 * value without the spaces and tabs after it. RFC 9112 §5 lets white space (OWS) follow a field
 * value and RFC 9110 §5.5 has a recipient leave it out, as curl and wget2 do; llhttp takes it off
 * only before the value (by design since http-parser, nodejs/http-parser#393). An `ETag: "5f1a" ` (a CGI script's header) was then no quoted
 * entity-tag: never offered in If-Range, so every later run fetched its part again from byte 0.
 * Values are looked at by their last byte, and copied only where one needs it.
 */
export function parseHeaders(raw: Buffer[]): Record<string, string | string[] | undefined> {
  for (let i = 1; i < raw.length; i += 2) {
    if (!endsInSpace(raw[i])) continue
    const trimmed = raw.slice()
    for (let j = i; j < raw.length; j += 2) {
      let end = raw[j].length
      while (end > 0 && (raw[j][end - 1] === 0x20 || raw[j][end - 1] === 0x09)) end--
      trimmed[j] = raw[j].subarray(0, end)
    }
    return util.parseHeaders(trimmed)
  }
  return util.parseHeaders(raw)
}

const endsInSpace = (value: Buffer) => value.at(-1) === 0x20 || value.at(-1) === 0x09

/**
 * Close the connection of `dispatcher` (an undici `Client`, or each client of a `Pool`) that
 * carries no request and has none waiting, as its keep-alive timer would: the client stays
 * usable (it connects again for its next request), and once an origin's last connection is gone
 * the `Agent` drops its pool. Returns how many were closed.
 */
export function closeIdle(dispatcher: object): number {
  const own = (dispatcher as Record<symbol, unknown>)[poolBase.kClients]
  const clients = Array.isArray(own) ? own : [dispatcher]
  let closed = 0
  for (const client of clients as Record<symbol, unknown>[]) {
    const socket = client[symbols.kSocket] as { destroyed?: boolean } | null | undefined
    if (!socket || socket.destroyed || client[symbols.kSize] !== 0) continue
    util.destroy(socket, new errors.InformationalError('socket idle timeout'))
    closed++
  }
  return closed
}

/** The method undici's own wrappers call on a dispatcher instead of `dispatch` (a proxy's, say). */
export const kDispatch = symbols.kDispatch

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

/**
 * Set on a connection's undici `Client` by the pool that made it (see origin-pool.ts): the
 * connection takes no new request from then on (see `retireConnection`).
 */
export const RETIRE: unique symbol = Symbol('imgpull.retire')

/**
 * The connection that carried a handler's request takes no new request: the next ones of its
 * origin go on another (a 421 Misdirected Request, RFC 9110 §15.5.20: a server that cannot answer
 * for the origin on that connection). Over HTTP/2 it finishes its streams; an HTTP/1.1 one given
 * by undici's own pool (no `RETIRE` on it), closed once its answer is read. False: no connection known.
 */
export function retireConnection(handler: object, socket: object | undefined): boolean {
  const client = (handler as { [VIA]?: object })[VIA] as { [RETIRE]?: () => void } | undefined
  if (client?.[RETIRE]) {
    client[RETIRE]()
    return true
  }
  const h1 = socket as { destroy?: () => void; alpnProtocol?: unknown } | undefined
  if (!h1?.destroy || h1.alpnProtocol === 'h2') return false
  h1.destroy()
  return true
}

/** An undici object's internal fields, by their symbols. */
export type Internals = Record<symbol, unknown>

/** The protocol a client's connection speaks, once connected (undici 7 keeps it internal). */
export function clientProtocol(client: object | undefined): 'h1' | 'h2' | undefined {
  const context = (client as Internals | undefined)?.[symbols.kHTTPContext] as { version?: string } | null
  if (!context) return undefined
  return context.version === 'h2' ? 'h2' : 'h1'
}

/** Whether the connection of a client speaks HTTP/2. */
function clientIsHttp2(client: object | undefined): boolean {
  return clientProtocol(client) === 'h2'
}

/** Whether the answer a handler got came over HTTP/2. */
export function isHttp2(handler: object): boolean {
  return clientIsHttp2((handler as { [VIA]?: object })[VIA])
}
