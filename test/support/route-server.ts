import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/**
 * A plain HTTP server on 127.0.0.1 whose answers each test writes itself, path by path: for the
 * headers real servers send that the image server does not (encodings, raw bytes in a Location,
 * cookies, robots tags). Header values are written as Latin-1, one byte per character, as Node
 * does: `'caf\xc3\xa9'` puts the raw UTF-8 bytes of `café` on the wire.
 */
export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>

export interface RouteServer {
  origin: string
  url(path: string): string
  /** Every request, in order: path + query and headers. */
  log: { url: string; headers: IncomingMessage['headers'] }[]
  /** Connections accepted so far. */
  connections(): number
  close(): Promise<void>
}

/** `server`: a server of another kind to route on (a TLS one: then `https` too). */
export async function startRouteServer(
  routes: Record<string, Route>,
  { host = '127.0.0.1', server = createServer() as Server, https = false } = {},
): Promise<RouteServer> {
  const log: RouteServer['log'] = []
  const sockets = new Set<Socket>()
  let connections = 0
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x')
    log.push({ url: url.pathname + url.search, headers: req.headers })
    const route = routes[url.pathname]
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no route')
      return
    }
    Promise.resolve(route(req, res, url)).catch(() => res.destroy())
  })
  server.on('connection', (s: Socket) => {
    connections++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  const { port } = server.address() as AddressInfo
  const origin = `${https ? 'https' : 'http'}://${host}:${port}`
  return {
    origin,
    url: (path) => origin + (path.startsWith('/') ? path : `/${path}`),
    log,
    connections: () => connections,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Serve `body` as an image with these extra headers. */
export function image(body: Buffer, headers: Record<string, string | string[]> = {}): Route {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length, ...headers })
    res.end(body)
  }
}
