import {
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2'
import type { AddressInfo, Socket } from 'node:net'

/**
 * A TLS server on 127.0.0.1 that speaks HTTP/2 (ALPN) and HTTP/1.1, and counts what clients do
 * with it: connections, and the most streams open at once on each. `maxStreams`: the
 * SETTINGS_MAX_CONCURRENT_STREAMS it announces.
 */
export interface H2Server {
  origin: string
  url(path: string): string
  /** TLS connections accepted. */
  connections(): number
  /** Per connection, in order: its protocol and the most requests it carried at once. */
  perConnection(): { protocol: string; maxStreams: number; requests: number }[]
  close(): Promise<void>
}

export async function startH2Server(
  tls: { cert: Buffer; key: Buffer },
  handler: (req: Http2ServerRequest, res: Http2ServerResponse) => void | Promise<void>,
  { maxStreams = 100 } = {},
): Promise<H2Server> {
  const server: Http2SecureServer = createSecureServer({
    ...tls,
    allowHTTP1: true,
    settings: { maxConcurrentStreams: maxStreams },
  })
  // Keyed by the HTTP/2 session, or the socket for HTTP/1.1.
  const stats = new Map<object, { protocol: string; open: number; maxStreams: number; requests: number }>()
  const sockets = new Set<Socket>()
  server.on('secureConnection', (socket: Socket & { alpnProtocol?: string | false }) => {
    if (socket.alpnProtocol !== 'h2')
      stats.set(socket, { protocol: 'http/1.1', open: 0, maxStreams: 0, requests: 0 })
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.on('session', (session) =>
    stats.set(session, { protocol: 'h2', open: 0, maxStreams: 0, requests: 0 }),
  )
  server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
    const s = stats.get(req.stream?.session ?? req.socket)
    if (s) {
      s.open++
      s.requests++
      s.maxStreams = Math.max(s.maxStreams, s.open)
      res.on('close', () => s.open--)
    }
    Promise.resolve(handler(req, res)).catch(() => res.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    url: (path) => origin + path,
    connections: () => stats.size,
    perConnection: () =>
      [...stats.values()].map(({ protocol, maxStreams, requests }) => ({ protocol, maxStreams, requests })),
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
