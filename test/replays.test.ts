import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, test } from 'node:test'
import { pull, type Result } from '../src/index.js'
import { makeCerts, type TestCerts } from './support/certs.js'
import { cleanup, tempDir } from './support/cli.js'
import { startH2Server } from './support/h2-server.js'
import { startRawServer } from './support/raw-server.js'

// A request is sent again at once (not retried) only when its connection had carried an exchange
// to its answer: a kept-alive connection the server closed as we reused it. A new connection that
// fails, however it fails, is a failed attempt: a server that resets every new connection must not
// get several requests for each one the retries allow.

let dir: string
let certs: TestCerts
before(async () => {
  dir = await tempDir()
  certs = makeCerts(dir)
})
after(() => cleanup(dir))

async function run(urls: string[], out: string): Promise<Result[]> {
  const results: Result[] = []
  for await (const r of pull(urls, { out, journal: false, report: false, retries: 0, caCert: certs.ca }))
    results.push(r)
  return results
}

test('a TLS handshake reset is one failed attempt: one connection, no replay', async () => {
  let connections = 0
  const tcp = await startRawServer((socket) => {
    connections++
    socket.once('data', () => socket.resetAndDestroy()) // the ClientHello
  })
  try {
    const [one] = await run([`https://127.0.0.1:${tcp.port}/a.jpg`], `${dir}/tls`)
    assert.equal(one.error, 'network', one.message)
    assert.equal(connections, 1)
  } finally {
    await tcp.close()
  }
})

test('the streams of a new HTTP/2 connection reset together are failed attempts, not replayed on another', async () => {
  let streams = 0
  const server = await startH2Server(
    { cert: readFileSync(certs.good.cert), key: readFileSync(certs.good.key) },
    (req) => {
      // Once all three streams are in, the connection is cut under them.
      if (++streams === 3) req.stream.session?.destroy()
    },
  )
  try {
    const results = await run(
      ['a', 'b', 'c'].map((n) => server.url(`/${n}.jpg`)),
      `${dir}/h2`,
    )
    assert.deepEqual(
      results.map((r) => r.status),
      ['failed', 'failed', 'failed'],
    )
    assert.equal(server.connections(), 1, JSON.stringify(server.perConnection()))
    assert.equal(streams, 3)
  } finally {
    await server.close()
  }
})
