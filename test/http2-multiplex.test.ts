import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createAgent } from '../src/fetch/client.js'
import { Cancel, Exchange } from '../src/fetch/exchange.js'
import { pull } from '../src/index.js'
import { type Options, resolveOptions } from '../src/options.js'
import type { Result } from '../src/types.js'
import { makeCerts, type TestCerts, tlsPair } from './support/certs.js'
import { cleanup, tempDir } from './support/cli.js'
import { type H2Server, startH2Server } from './support/h2-server.js'
import { makeImage } from './support/images.js'

let dir: string
let certs: TestCerts
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const bodyOf = (name: string) => makeImage(name, 40_000 + name.length * 100)

/** Images that take 150 ms to start, so the requests overlap; `/redirect-cafe` sends raw UTF-8 bytes. */
async function serve(maxStreams: number): Promise<H2Server> {
  return startH2Server(
    tlsPair(certs.good),
    async (req, res) => {
      if (req.url === '/redirect-cafe') {
        res.writeHead(302, { location: '/caf\xc3\xa9.jpg' })
        res.end()
        return
      }
      await sleep(150)
      const name = decodeURIComponent(req.url.slice(1))
      const body = bodyOf(name)
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length })
      res.end(body)
    },
    { maxStreams },
  )
}

async function run(urls: string[], options: Options): Promise<Result[]> {
  const results: Result[] = []
  for await (const r of pull(urls, { journal: false, caCert: certs.ca, ...options })) results.push(r)
  return results
}

before(async () => {
  dir = await tempDir()
  certs = makeCerts(dir)
})

after(() => cleanup(dir))

test('HTTP/2: 24 images over a few connections, each carrying streams up to the server limit of 8', async () => {
  const server = await serve(8)
  try {
    const names = Array.from({ length: 24 }, (_, i) => `m-${i}`)
    const out = join(dir, 'h2')
    const results = await run(
      names.map((n) => server.url(`/${n}`)),
      { out },
    )
    assert.deepEqual(
      results.filter((r) => r.status !== 'ok').map((r) => r.message),
      [],
    )
    for (const n of names) assert.equal(sha(await readFile(join(out, `${n}.jpg`))), sha(bodyOf(n)), n)
    const per = server.perConnection()
    assert.ok(
      per.every((c) => c.protocol === 'h2'),
      JSON.stringify(per),
    )
    // The scheduler runs 16 at once to a new host, then more: 8 streams a connection is 2 or 3 of them.
    assert.ok(per.length <= 3, `${per.length} connections: ${JSON.stringify(per)}`)
    assert.ok(
      per.every((c) => c.maxStreams <= 8),
      `never more streams than the server allows: ${JSON.stringify(per)}`,
    )
    assert.equal(Math.max(...per.map((c) => c.maxStreams)), 8, `connections filled: ${JSON.stringify(per)}`)
    assert.equal(
      per.reduce((n, c) => n + c.requests, 0),
      24,
    )
  } finally {
    await server.close()
  }
})

test('HTTP/2: a server with no stream limit of its own gets one connection for a whole burst', async () => {
  const server = await serve(1000)
  try {
    const names = Array.from({ length: 16 }, (_, i) => `u-${i}`)
    const results = await run(
      names.map((n) => server.url(`/${n}`)),
      { out: join(dir, 'unlimited') },
    )
    assert.ok(results.every((r) => r.status === 'ok'))
    const per = server.perConnection()
    assert.equal(per.length, 1, JSON.stringify(per))
    assert.equal(per[0].maxStreams, 16)
  } finally {
    await server.close()
  }
})

test('--no-http2 against the same server: a connection per request in flight, as HTTP/1.1 needs', async () => {
  const server = await serve(8)
  try {
    const names = Array.from({ length: 12 }, (_, i) => `h1-${i}`)
    const results = await run(
      names.map((n) => server.url(`/${n}`)),
      { out: join(dir, 'h1'), http2: false },
    )
    assert.ok(results.every((r) => r.status === 'ok'))
    const per = server.perConnection()
    assert.ok(
      per.every((c) => c.protocol === 'http/1.1' && c.maxStreams === 1),
      JSON.stringify(per),
    )
    assert.equal(per.length, 12)
  } finally {
    await server.close()
  }
})

test('HTTP/2: a Location with raw UTF-8 bytes leads to the same file as over HTTP/1.1', async () => {
  const server = await serve(8)
  try {
    for (const http2 of [true, false]) {
      const [r] = await run([server.url('/redirect-cafe')], { out: join(dir, `cafe-${http2}`), http2 })
      assert.equal(r.status, 'ok', `http2 ${http2}: ${r.message}`)
      assert.equal(r.bytes, bodyOf('café.jpg').length)
    }
  } finally {
    await server.close()
  }
})

test('HTTP/2 pool: requests waiting on a first connection that fails are not left waiting', async () => {
  // A port nothing listens on, then a server whose certificate is not trusted: every job fails, none hangs.
  const closed = await serve(8)
  const origin = closed.origin
  await closed.close()
  const refused = await run(
    Array.from({ length: 8 }, (_, i) => `${origin}/r-${i}`),
    { out: join(dir, 'refused'), retries: 1 },
  )
  assert.equal(refused.length, 8)
  assert.ok(
    // The first to spend its retry gives the host up (it answered nothing): the others' retries are not sent.
    refused.every((r) => r.error === 'network' && /ECONNREFUSED/.test(r.message ?? '') && r.attempts <= 2),
    JSON.stringify(refused.map((r) => r.message)),
  )

  const server = await serve(8)
  try {
    const untrusted: Result[] = []
    for await (const r of pull(
      Array.from({ length: 8 }, (_, i) => server.url(`/t-${i}`)),
      { out: join(dir, 'untrusted'), journal: false },
    )) {
      untrusted.push(r)
    }
    assert.ok(
      untrusted.every((r) => r.error === 'tls' && r.attempts === 1),
      JSON.stringify(untrusted.map((r) => r.message)),
    )
  } finally {
    await server.close()
  }
})

test('HTTP/2 pool: requests cut while they wait for the first connection are never sent', async () => {
  const server = await serve(8)
  const agent = createAgent(resolveOptions({ caCert: certs.ca }))
  try {
    const options = { method: 'GET' as const, headers: {}, headersTimeout: 5_000, bodyTimeout: 5_000 }
    const exchanges = Array.from({ length: 5 }, (_, i) => {
      const cancel = new Cancel()
      return { cancel, exchange: new Exchange(agent, new URL(server.url(`/w-${i}`)), options, cancel) }
    })
    // The first goes out on the first connection; the other four wait for it, and are cut meanwhile.
    for (const { cancel } of exchanges.slice(1)) cancel.abort(new Error('not needed'))
    for (const { exchange } of exchanges.slice(1)) await assert.rejects(exchange.response, /not needed/)
    const first = await exchanges[0].exchange.response
    assert.equal(first.statusCode, 200)
    assert.equal(first.http2, true)
    await exchanges[0].exchange.consume(() => {})
    await sleep(50)
    assert.deepEqual(
      server.perConnection().map((c) => c.requests),
      [1],
      'one connection, one request sent',
    )
  } finally {
    await agent.destroy()
    await server.close()
  }
})

test('HTTP/2: the windows the server sees let it send 16 MiB on a connection and 4 MiB on a stream before an acknowledgment, on the main thread and on transfer threads', async () => {
  // undici's own (512 KiB a connection) held a host to one window a round trip: ~10 MB/s at 50 ms.
  const seen: { stream: number; connection: number }[] = []
  const server = await startH2Server(tlsPair(certs.good), (req, res) => {
    const session = req.stream.session
    if (session)
      seen.push({
        stream: session.remoteSettings.initialWindowSize ?? 0,
        connection: session.state.remoteWindowSize ?? 0,
      })
    const body = bodyOf(req.url.slice(1))
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length })
    res.end(body)
  })
  try {
    for (const threads of [0, 2]) {
      seen.length = 0
      const names = Array.from({ length: 4 }, (_, i) => `w-${threads}-${i}`)
      const results = await run(
        names.map((n) => server.url(`/${n}`)),
        { out: join(dir, `windows-${threads}`), threads },
      )
      assert.deepEqual(
        results.map((r) => r.status),
        ['ok', 'ok', 'ok', 'ok'],
      )
      assert.equal(seen.length, 4)
      for (const s of seen) {
        assert.equal(s.stream, 4 * 1024 * 1024, `threads ${threads}: SETTINGS_INITIAL_WINDOW_SIZE`)
        // What the connection's window has left when a request comes: the bodies sent before it.
        assert.ok(s.connection > 15 * 1024 * 1024, `threads ${threads}: connection window ${s.connection}`)
      }
    }
  } finally {
    await server.close()
  }
})
