import assert from 'node:assert/strict'
import { createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { pull, type Result } from '../src/index.js'
import { cleanup, tempDir } from './support/cli.js'
import { makeImage } from './support/images.js'
import { leastSampledLimit } from './support/samples.js'

/**
 * An HTTP/1.1 server on node:net that stops listening while `most` connections are open, and
 * listens again once fewer are: a new connection then is refused (ECONNREFUSED), as an iptables
 * `connlimit` rule that rejects the SYN with `tcp-reset` refuses it, while the open ones, kept
 * alive, go on serving (after `ttfb` ms each).
 */
async function startRefusingServer(options: { most: number; ttfb: number }) {
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

let dir: string
before(async () => {
  dir = await tempDir()
})
after(async () => {
  await cleanup(dir)
})

test('a host that refuses new connections while 4 of its kept-alive ones serve is given fewer at once, its files all kept', async () => {
  // Read as the host down, each refusal left its limit at 16, and every file it served woke the
  // retries it had refused into the same refusal.
  const limited = await startRefusingServer({ most: 4, ttfb: 50 })
  try {
    const urls = Array.from({ length: 200 }, (_, i) => `${limited.origin}/f${i}.jpg`)
    const out = join(dir, 'limit')
    const results: Result[] = []
    // The default retries (5), as a user runs it: at 2, one file of 200 was refused three times in
    // a row once in six CI runs, the limit cut all the same (before the fix, 172-174 failed at 2).
    for await (const r of pull(urls, { out })) results.push(r)
    const failed = results.filter((r) => r.status !== 'ok')
    assert.equal(failed.length, 0, failed[0]?.message)
    const { least } = await leastSampledLimit(out)
    assert.ok(least < 16, `the limit stayed at ${least} or more`)
  } finally {
    await limited.close()
  }
})
