import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import { after, before, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Cancel, closingBytesHeld, Exchange } from '../src/fetch/exchange.js'
import { Agent, type Dispatcher } from '../src/fetch/undici.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { type LocalServer, listenLocal } from './support/raw-server.js'
import { until } from './support/wait.js'

let images: ImageServer
let plain: LocalServer
const agent = new Agent({ keepAliveTimeout: 10_000 })
const options = { method: 'GET' as const, headers: {}, headersTimeout: 5_000, bodyTimeout: 5_000 }
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
/** An exchange for `url` with the test options, through `via` (the shared agent by default). */
const exchange = (url: string, cancel = new Cancel(), via: Dispatcher = agent) =>
  new Exchange(via, new URL(url), options, cancel)

before(async () => {
  images = await startImageServer()
  // A plain server that counts connections, to see keep-alive survive a dumped body.
  plain = await listenLocal(
    createServer((req, res) => {
      const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('size') ?? 10)
      res.writeHead(404, { 'content-length': size })
      res.end(Buffer.alloc(size, 1))
    }),
  )
})

after(async () => {
  await agent.close()
  await images.close()
  await plain.close()
})

test('a sink that makes the body wait still gets every byte, in order', async () => {
  const path = '/exchange-slow?size=3000000'
  const ex = exchange(images.url(path))
  const { statusCode, headers } = await ex.response
  assert.equal(statusCode, 200)
  assert.equal(headers['content-length'], '3000000')
  const chunks: Buffer[] = []
  let waits = 0
  await ex.consume((chunk) => {
    chunks.push(chunk)
    // Every other chunk, make the parser wait a little: the socket pauses and resumes.
    if (chunks.length % 2 === 0) {
      waits++
      return sleep(2)
    }
  })
  assert.ok(waits > 5, `the sink made the body wait ${waits} times`)
  assert.equal(sha(Buffer.concat(chunks)), sha(images.bytes(path)))
})

test('a sink that throws cuts the exchange, and consume rejects with its error', async () => {
  const ex = exchange(images.url('/exchange-throw?size=2000000'))
  await ex.response
  let seen = 0
  const stop = new Error('enough')
  await assert.rejects(
    ex.consume((chunk) => {
      seen += chunk.length
      if (seen > 100_000) throw stop
    }),
    (e) => e === stop,
  )
  assert.ok(seen < 2_000_000)
})

test('cancel before headers rejects the response; cancel mid-body rejects the body', async () => {
  const early = new Cancel()
  const stalled = exchange(images.url('/exchange-cancel?size=1000&stall=0'), early)
  setTimeout(() => early.abort(new Error('stop now')), 50)
  await assert.rejects(stalled.response, /stop now|stop/)

  const late = new Cancel()
  const ex = exchange(images.url('/exchange-late?size=1000000&stall=200000'), late)
  await ex.response
  setTimeout(() => late.abort(new Error('total timeout')), 50)
  await assert.rejects(
    ex.consume(() => {}),
    /total timeout/,
  )

  const already = new Cancel()
  already.abort(new Error('before it began'))
  await assert.rejects(exchange(images.url('/x'), already).response, /before it began/)
})

test('a small dumped body leaves the connection open for the next request; a big one closes it', async () => {
  const small = async () => {
    const ex = exchange(`${plain.origin}/small?size=2000`)
    assert.equal((await ex.response).statusCode, 404)
    await ex.dump()
  }
  // (undici opens a second connection for the second request of a new pool, as with request().)
  await small()
  await small()
  const before = plain.connections()
  for (let i = 0; i < 5; i++) await small()
  assert.equal(plain.connections() - before, 0, 'five more requests, no new connection')
  const big = exchange(`${plain.origin}/big?size=5000000`)
  await big.response
  await big.dump()
  const next = exchange(`${plain.origin}/small?size=10`)
  await next.response
  await next.dump()
  assert.equal(
    plain.connections() - before,
    1,
    'a dumped big body is not read out: its connection is dropped',
  )
})

test('an exchange cut while it waits for a connection never sends its request', async () => {
  const one = new Agent({ connections: 1 })
  try {
    const holder = new Cancel()
    const busy = exchange(images.url('/exchange-hold?size=100000&stall=1000'), holder, one)
    await busy.response
    const waiting = new Cancel()
    const queued = exchange(images.url('/exchange-queued'), waiting, one)
    waiting.abort(new Error('not needed any more'))
    await assert.rejects(queued.response, /not needed any more/)
    holder.abort(new Error('done'))
    await assert.rejects(
      busy.consume(() => {}),
      /done/,
    )
    await sleep(100)
    assert.equal(images.hits.get('/exchange-queued') ?? 0, 0, 'the queued request was never sent')
  } finally {
    await one.destroy()
  }
})

test('bytes of an answer that ends its connection count as held until its sink takes them, not when drained', async () => {
  const body = Buffer.alloc(4_000_000, 7)
  const closing = await listenLocal(
    createServer((_, res) => {
      res.writeHead(200, { 'content-length': body.length, connection: 'close' })
      res.end(body)
    }),
  )
  try {
    const ex = exchange(closing.url('/'))
    await ex.response
    // The sink stays busy on its first chunk while the rest of the body comes: all of it is held.
    let release!: () => void
    const first = new Promise<void>((r) => {
      release = r
    })
    let taken = 0
    let heldAfterFirst = -1
    const done = ex.consume((chunk) => {
      taken += chunk.length
      if (taken === chunk.length) return first
      if (heldAfterFirst < 0) heldAfterFirst = closingBytesHeld()
      return sleep(1) // each later chunk takes a while too
    })
    const deadline = Date.now() + 5_000
    while (closingBytesHeld() < body.length / 2 && Date.now() < deadline) await sleep(5)
    const held = closingBytesHeld()
    assert.ok(held >= body.length / 2, `${held} bytes held while the sink was busy`)
    release()
    await done
    assert.equal(taken, body.length)
    // Fed one by one: the bytes not fed yet were still counted (before, the count dropped to 0 at once).
    assert.ok(heldAfterFirst > 0, `${heldAfterFirst} bytes counted while the drain went on`)
    assert.equal(closingBytesHeld(), 0, 'nothing counted once the body is in')
  } finally {
    await closing.close()
  }
})

test('cut while its sink is busy, the sink then failing: consume still settles, with the cut', {
  timeout: 10_000,
}, async () => {
  const ex = exchange(images.url('/exchange-busy-cut?size=400000'))
  await ex.response
  let fail!: (error: Error) => void
  const consumed = ex.consume(
    () =>
      new Promise<void>((_, reject) => {
        fail = reject
      }),
  )
  await until('the sink has its first chunk', async () => fail !== undefined)
  const cut = new Error('cut')
  ex.abort(cut)
  fail(new Error('the sink failed too'))
  await assert.rejects(consumed, (e) => e === cut)
})
