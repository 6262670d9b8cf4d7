import { createServer } from 'node:net'

/**
 * A port on 127.0.0.1 the kernel says is free now, for a server another program opens (another
 * process could take it before that one does: unlikely, and the caller may try again).
 */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}
