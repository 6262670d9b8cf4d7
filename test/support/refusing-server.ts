import { createServer, type Server, type Socket } from 'node:net'
import { makeImage } from './images.js'

/**
 * An HTTP/1.1 server on node:net that stops listening while `most` connections are open, and
 * listens again once fewer are: a new connection then is refused (ECONNREFUSED), as an iptables
 * `connlimit` rule that rejects the SYN with `tcp-reset` refuses it, while the open ones, kept
 * alive, go on serving (after `ttfb` ms each).
 */
export async function startRefusingServer(options: { most: number; ttfb: number }) {
  const body = makeImage('limit.jpg', 2000)
  const open = new Set<Socket>()
  const stats = { served: 0, refusedSpells: 0 }
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
    let buffered = ''
    socket.on('data', (data) => {
      buffered += data.toString('latin1')
      while (buffered.includes('\r\n\r\n')) {
        buffered = buffered.slice(buffered.indexOf('\r\n\r\n') + 4)
        setTimeout(() => {
          if (socket.destroyed) return
          stats.served++
          socket.write(
            `HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n`,
          )
          socket.write(body)
        }, options.ttfb)
      }
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
