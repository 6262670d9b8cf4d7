import { connect, createServer, type Server, type Socket } from 'node:net'

/**
 * A TCP relay on 127.0.0.1 that holds every byte `rtt / 2` ms each way before passing it on: a
 * far server's round trip, on loopback, for every tool alike (TLS passes through untouched).
 * Order is kept (timers of one delay fire in the order they were set); bandwidth is not capped.
 */
export interface Relay {
  origin(scheme: string): string
  close(): Promise<void>
}

export async function startRelay(port: number, rtt: number): Promise<Relay> {
  const half = rtt / 2
  const sockets = new Set<Socket>()
  const later = (to: Socket) => (chunk: Buffer) => {
    setTimeout(() => to.destroyed || to.write(chunk), half)
  }
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1')
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => {
        sockets.delete(s)
        // The other side ends once the bytes held for it have gone.
        setTimeout(() => (s === client ? upstream : client).end(), half)
      })
    }
    client.on('data', later(upstream))
    upstream.on('data', later(client))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port: own } = server.address() as { port: number }
  return {
    origin: (scheme) => `${scheme}://127.0.0.1:${own}`,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
