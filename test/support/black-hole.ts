import { startRawServer } from './raw-server.js'

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
  const hole = await startRawServer((socket) => {
    socket.on('data', () => requests++)
  })
  return { origin: hole.origin, requests: () => requests, close: hole.close }
}
