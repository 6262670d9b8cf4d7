import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import type { ServerResponse } from 'node:http'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import { originFactory } from '../src/fetch/origin-pool.js'
import { type Dispatcher, request } from '../src/fetch/undici.js'
import { makeCerts, type TestCerts, tlsPair } from './support/certs.js'
import { cleanup, tempDir } from './support/cli.js'

// imgpull's pool for an HTTPS origin that may speak HTTP/2 (origin-pool.ts): the first connection
// goes alone until it shows what the origin speaks; the requests waiting for it go on.

let dir: string
let certs: TestCerts
before(async () => {
  dir = await tempDir()
  certs = makeCerts(dir)
})
after(async () => {
  await cleanup(dir)
})

// Once the first connection said HTTP/1.1 (ALPN), the requests queued behind it waited for the
// first request's whole answer before opening their own connections: every HTTPS/1.1 origin's
// first round took two answers' time (8 requests answered in 500 ms each: 1,100 ms, now 570).
test('HTTPS/1.1: the requests waiting for the first connection open their own once it is up, not once its answer is done', async () => {
  const n = 4
  // The server answers nothing until all n requests are in at once (or, should they never be,
  // after a while, so that the test ends and says how many came together).
  const waiting: ServerResponse[] = []
  let most = 0
  let release: NodeJS.Timeout | undefined
  const answerAll = () => {
    clearTimeout(release)
    release = undefined
    for (const res of waiting.splice(0)) res.end('x')
  }
  const server = createServer({ ...tlsPair(certs.good), ALPNProtocols: ['http/1.1'] }, (_req, res) => {
    waiting.push(res)
    most = Math.max(most, waiting.length)
    if (waiting.length === n) answerAll()
    else release ??= setTimeout(answerAll, 3_000)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `https://localhost:${(server.address() as AddressInfo).port}`
  const pool = originFactory(true)(origin, { allowH2: true, connect: { ca: readFileSync(certs.ca) } })
  try {
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const { body } = await request(new URL(`${origin}/${i}.jpg`), {
          dispatcher: pool as Dispatcher,
          method: 'GET',
        })
        await body.arrayBuffer()
      }),
    )
    assert.equal(most, n, `requests in at once: ${most} of ${n}`)
    assert.deepEqual(
      (pool as unknown as { connections: { protocol: string | undefined }[] }).connections.map(
        (c) => c.protocol,
      ),
      Array(n).fill('h1'),
    )
  } finally {
    clearTimeout(release)
    await (pool as Dispatcher).destroy()
    server.closeAllConnections()
    server.close()
  }
})
