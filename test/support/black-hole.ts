import { spawn } from 'node:child_process'
import { connect } from 'node:net'
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

/** A port on 127.0.0.1 whose TCP handshakes are never answered. */
export interface UnansweredPort {
  port: number
  /** `http://127.0.0.1:PORT` + `path`. */
  url(path: string): string
  close(): void
}

/**
 * A port whose TCP handshakes are never answered (a firewall that drops the SYN): a listener that
 * never accepts (Python's, as Node's accepts by itself), its queue filled by three connections, so
 * that the kernel leaves each later SYN unanswered. Needs `python3`.
 */
export async function startUnansweredPort(): Promise<UnansweredPort> {
  const py = spawn('python3', [
    '-c',
    "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(600)",
  ])
  const port = Number(
    await new Promise<string>((resolve) => py.stdout.once('data', (d) => resolve(String(d)))),
  )
  const fillers = [1, 2, 3].map(() => connect(port, '127.0.0.1').on('error', () => {}))
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    close() {
      for (const f of fillers) f.destroy()
      py.kill()
    },
  }
}
