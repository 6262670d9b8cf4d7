import type { Socket } from 'node:net'

/**
 * Ends `socket`'s TCP connection with a reset (RST), as `resetAndDestroy` does, or with a plain
 * destroy once the connection was shut down for writing (`end()`, of `ended`: a TLS socket over
 * `socket` ends it so): a reset then can find the shutdown still pending, which libuv refuses
 * (`uv_tcp_close_reset`: UV_EINVAL), and Node 20 marks the handle closing all the same, so it is
 * never closed: the socket's descriptor stays open, and once nothing else is left the process
 * spins in its shutdown (Environment::CleanupHandles) instead of exiting.
 */
export function resetConnection(socket: Socket, ended: { readonly writableEnded: boolean } = socket): void {
  if (ended.writableEnded || socket.writableEnded) socket.destroy()
  else socket.resetAndDestroy()
}
