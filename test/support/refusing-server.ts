import { createServer, type Server, type Socket } from 'node:net'
import { makeImage } from './images.js'
import { eachRequest, writeImage } from './raw-server.js'
import { afterHold } from './wait.js'

/**
 * An HTTP/1.1 server on node:net that stops listening while `most` connections are open, and
 * listens again once fewer are: a new connection then is refused (ECONNREFUSED), as an iptables
 * `connlimit` rule that rejects the SYN with `tcp-reset` refuses it, while the open ones, kept
 * alive, go on serving `body` (a generated image by default) after `ttfb` ms each (and once
 * `hold` settles, when given: a host whose first answer is slow).
 * bench/misbehave-limits.ts's `conn-refuse` case runs on it too.
 */
export async function startRefusingServer(options: {
  most: number
  ttfb: number
  body?: Buffer
  hold?: Promise<void>
}) {
  const body = options.body ?? makeImage('limit.jpg', 2000)
  const open = new Set<Socket>()
  /** `requests` counted as they come, `served` as they are answered. */
  const stats = { requests: 0, served: 0, refusedSpells: 0 }
  let port = 0
  let listening = false
  let closing = false
  const server: Server = createServer((socket) => {
    open.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => {
      open.delete(socket)
      if (!listening && !closing && open.size < options.most) listen()
    })
    if (open.size >= options.most && listening) {
      listening = false
      stats.refusedSpells++
      server.close()
    }
    eachRequest(socket, () => {
      stats.requests++
      afterHold(options.hold, options.ttfb, () => {
        if (socket.destroyed) return
        stats.served++
        writeImage(socket, body)
      })
    })
  })
  const listen = () => {
    listening = true
    server.listen(port, '127.0.0.1')
  }
  listening = true
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as { port: number }).port
  return {
    origin: `http://127.0.0.1:${port}`,
    stats,
    async close() {
      closing = true
      for (const socket of open) socket.destroy()
      if (listening) await new Promise((resolve) => server.close(resolve))
    },
  }
}

/**
 * A host that allows `most` connections at once and answers a request on one beyond them 503 (no
 * `Retry-After`), closing it, as nginx's `limit_conn` does (its default status 503); the open ones,
 * kept alive, serve after `ttfb` ms (and once `hold` settles, when given: a host whose first
 * answer is slow).
 */
export async function startConnLimitServer(options: {
  most: number
  ttfb: number
  hold?: Promise<void>
  /**
   * Count a connection only while a request of its is being processed, as nginx does ("a
   * connection is counted only if it has a request being processed by the server and the whole
   * request header has already been read"): an idle kept-alive one holds no place.
   */
  busyOnly?: boolean
}) {
  const body = makeImage('conn.jpg', 2000)
  const open = new Set<Socket>()
  const busy = new Set<Socket>()
  const stats = { served: 0, refused: 0 }
  const server = createServer((socket) => {
    socket.on('error', () => {})
    const over = !options.busyOnly && open.size >= options.most
    if (!over) {
      open.add(socket)
      socket.on('close', () => {
        open.delete(socket)
        busy.delete(socket)
      })
    }
    eachRequest(socket, () => {
      if (over || (options.busyOnly && busy.size >= options.most)) {
        stats.refused++
        const text = '503 Service Temporarily Unavailable\n'
        socket.end(
          `HTTP/1.1 503 Service Temporarily Unavailable\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\nConnection: close\r\n\r\n${text}`,
        )
        return
      }
      busy.add(socket)
      afterHold(options.hold, options.ttfb, () => {
        busy.delete(socket)
        if (socket.destroyed) return
        stats.served++
        writeImage(socket, body)
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    origin: `http://127.0.0.1:${port}`,
    stats,
    close: async () => {
      for (const socket of open) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
