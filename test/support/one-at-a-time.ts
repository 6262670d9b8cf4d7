import { type AddressInfo, createServer, type Socket } from 'node:net'
import { makeImage } from './images.js'
import { eachRequest, writeImage } from './raw-server.js'

/**
 * A server with one thread that serves one connection at a time, keeping it alive (an IP camera's
 * or an ESP32's web server, Python's `http.server` speaking HTTP/1.1): it takes the next
 * connection it has accepted only once the one it serves is closed.
 */
export interface OneAtATimeServer {
  origin: string
  body: Buffer
  /** Connections accepted so far. */
  readonly connections: number
  /**
   * The longest a served connection sat idle while others waited, ms: from its last answer until
   * its client closed it. A client that keeps such a connection holds every other request back.
   */
  readonly idleHeld: number
  close(): Promise<void>
}

export async function startOneAtATimeServer(name = 'one-thread.jpg'): Promise<OneAtATimeServer> {
  const body = makeImage(name, 3000)
  const waiting: Socket[] = []
  let serving: Socket | undefined
  let connections = 0
  let idleHeld = 0
  const next = (): void => {
    if (serving) return
    const socket = waiting.shift()
    if (!socket) return
    // One its client closed while it waited is read to its end at once, as the one thread would;
    // kept, it wedged the server (its 'close' had come and gone).
    if (socket.destroyed) {
      next()
      return
    }
    serving = socket
    let answeredAt: number | undefined
    socket.on('data', () => {
      answeredAt = undefined
    })
    eachRequest(socket, () => {
      writeImage(socket, body)
      answeredAt = performance.now()
    })
    socket.once('close', () => {
      if (answeredAt !== undefined && waiting.length > 0)
        idleHeld = Math.max(idleHeld, performance.now() - answeredAt)
      serving = undefined
      next()
    })
  }
  // noDelay: the body written after the head goes at once, not after the client's delayed ACK.
  const server = createServer({ noDelay: true }, (socket) => {
    connections++
    socket.on('error', () => {})
    socket.once('close', () => {
      const at = waiting.indexOf(socket)
      if (at >= 0) waiting.splice(at, 1)
    })
    waiting.push(socket)
    next()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    body,
    get connections() {
      return connections
    },
    get idleHeld() {
      return idleHeld
    },
    close: async () => {
      serving?.destroy()
      for (const socket of waiting) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
