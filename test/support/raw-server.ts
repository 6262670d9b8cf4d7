import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'

/** A server listening on 127.0.0.1 at a free port, with the URLs of its paths. */
export interface LocalServer {
  /** `http://127.0.0.1:PORT` (`https://` for a TLS server) */
  origin: string
  port: number
  /** The URL of `path` (`/a.jpg`) on this server. */
  url(path: string): string
  /** Connections accepted so far. */
  connections(): number
  /** Drop every open connection, then stop listening. */
  close(): Promise<void>
}

/**
 * Listen with `server` (a raw `net` one, or an HTTP, TLS or HTTP/2 one: any `net.Server`) on
 * 127.0.0.1 at a free port; `scheme` names its URLs. Its connections are kept to be dropped at
 * `close()`; a connection's errors (a client's reset) are not the test's.
 */
export async function listenLocal(server: Server, scheme: 'http' | 'https' = 'http'): Promise<LocalServer> {
  const sockets = new Set<Socket>()
  let connections = 0
  server.on('connection', (socket: Socket) => {
    connections++
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const origin = `${scheme}://127.0.0.1:${port}`
  return {
    origin,
    port,
    url: (path) => origin + (path.startsWith('/') ? path : `/${path}`),
    connections: () => connections,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** A port on 127.0.0.1 that nothing listens on (free a moment ago: a server opened there, then closed). */
export async function closedPort(): Promise<number> {
  const probe = await startRawServer(() => {})
  await probe.close()
  return probe.port
}

/**
 * A raw TCP server on 127.0.0.1 whose bytes the test writes itself (`onSocket`, for each
 * connection): for answers no HTTP server sends (two lengths, a head cut anywhere, a bare LF).
 */
export const startRawServer = (onSocket: (socket: Socket) => void): Promise<LocalServer> =>
  listenLocal(createServer(onSocket))

/**
 * Read `socket`'s requests one after another as a keep-alive HTTP/1.1 server does (a head ends
 * at its blank line; the tests send no bodies), calling `onRequest` with each head (its request
 * line first): the loop the raw servers of the tests and bench that answer for themselves share.
 * An answer that ends or destroys the socket stops the reading of the heads already come.
 * Not for a proxy that switches a socket to a tunnel at CONNECT (bench/misbehave-proxy.ts keeps
 * its own loop, which hands the bytes after the head on).
 */
export function eachRequest(socket: Socket, onRequest: (head: string) => void): void {
  let buffered = ''
  socket.on('data', (data) => {
    buffered += data.toString('latin1')
    let end = buffered.indexOf('\r\n\r\n')
    while (end >= 0) {
      const head = buffered.slice(0, end)
      buffered = buffered.slice(end + 4)
      onRequest(head)
      if (socket.destroyed || socket.writableEnded) return
      end = buffered.indexOf('\r\n\r\n')
    }
  })
}

/** Write a 200 with `body` (an image) on a connection kept alive. */
export function writeImage(socket: Socket, body: Buffer): void {
  socket.write(
    `HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n`,
  )
  socket.write(body)
}
