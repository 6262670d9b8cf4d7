import { type AddressInfo, createServer, type Socket } from 'node:net'

/**
 * A server on 127.0.0.1 that accepts connections and never answers (a firewall that drops the
 * packets after the handshake, a hung server): `requests()` counts the data events it read.
 */
export interface BlackHole {
  origin: string
  requests(): number
  close(): Promise<void>
}

export async function startBlackHole(): Promise<BlackHole> {
  let requests = 0
  const sockets = new Set<Socket>()
  const hole = createServer((socket) => {
    sockets.add(socket)
    socket.on('data', () => requests++)
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve))
  return {
    origin: `http://127.0.0.1:${(hole.address() as AddressInfo).port}`,
    requests: () => requests,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => hole.close(resolve))
    },
  }
}
