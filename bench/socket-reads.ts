/**
 * What a socket read costs the thread that moves bytes, by how it is read: the large scenario's
 * four files (190–210 MB, test/support/image-server.ts) fetched at once over plain HTTP/1.1 by a
 * child process that only counts their bytes, alternating the ways below, with the child's own
 * user and system CPU printed for each. Not part of `npm test`.
 *
 *   node --import tsx bench/socket-reads.ts [--rounds 3]
 *
 * - `node`: a socket's `data` events, as undici (and so imgpull) reads: Node reads 64 KiB at a
 *   time, into a new buffer each read.
 * - `reused 64`, `reused 256`, `reused 1024`: `net.connect`'s `onread` with one buffer of that
 *   many KiB for every read (each read's bytes are used before the next read replaces them).
 */
import { spawn } from 'node:child_process'
import net from 'node:net'
import { parseArgs } from 'node:util'
import { startImageServer } from '../test/support/image-server.js'

const MB = 1024 * 1024
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    reader: { type: 'string' },
    kib: { type: 'string', default: '0' },
  },
})

/** The child: fetch `/large1..4` from `origin`, reading as `kib` says (0: Node's own reads). */
async function read(origin: string, kib: number): Promise<void> {
  const { hostname: host, port } = new URL(origin)
  const cpu = process.cpuUsage()
  await Promise.all(
    [1, 2, 3, 4].map(
      (i) =>
        new Promise<void>((done, fail) => {
          let body = -1
          let length = 0
          const take = (bytes: Buffer) => {
            if (body < 0) {
              const head = bytes.toString('latin1', 0, Math.min(bytes.length, 2048))
              length = Number(/content-length: *(\d+)/i.exec(head)?.[1])
              body = -(head.indexOf('\r\n\r\n') + 4)
            }
            body += bytes.length
            if (body >= length) {
              socket.destroy()
              done()
            }
          }
          const reused = kib > 0 ? Buffer.allocUnsafe(kib * 1024) : undefined
          const socket = net.connect({
            host,
            port: Number(port),
            ...(reused
              ? {
                  onread: {
                    buffer: reused,
                    callback: (n: number) => {
                      take(reused.subarray(0, n))
                      return true
                    },
                  },
                }
              : {}),
          })
          if (!reused) socket.on('data', take)
          socket.on('error', fail)
          socket.write(`GET /large${i} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)
        }),
    ),
  )
  const used = process.cpuUsage(cpu)
  console.log(`${(used.user / 1000).toFixed(0)} ${(used.system / 1000).toFixed(0)}`)
}

if (values.reader) await read(values.reader, Number(values.kib))
else {
  const server = await startImageServer({ sizes: [190 * MB, 210 * MB], record: false })
  for (let i = 1; i <= 4; i++) server.bytes(`/large${i}`) // made before any timing
  const ways: [string, number][] = [
    ['node', 0],
    ['reused 64', 64],
    ['reused 256', 256],
    ['reused 1024', 1024],
  ]
  try {
    for (let round = 1; round <= Number(values.rounds); round++) {
      for (const [name, kib] of ways) {
        const child = spawn(
          process.execPath,
          [...process.execArgv, process.argv[1], '--reader', server.origin, '--kib', String(kib)],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        )
        let said = ''
        child.stdout.on('data', (b: Buffer) => {
          said += b.toString()
        })
        await new Promise((resolve) => child.on('close', resolve))
        const [user, system] = said.trim().split(' ')
        console.log(`round ${round}, ${name.padEnd(11)}: user ${user} ms, system ${system} ms`)
      }
    }
  } finally {
    await server.close()
  }
}
