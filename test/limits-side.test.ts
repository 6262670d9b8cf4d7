import assert from 'node:assert/strict'
import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { pull, type Result } from '../src/index.js'
import { cleanup, tempDir } from './support/cli.js'
import { makeImage } from './support/images.js'
import { startRefusingServer } from './support/refusing-server.js'

let dir: string
before(async () => {
  dir = await tempDir()
})
after(async () => {
  await cleanup(dir)
})

test('a host at its limit of connections that refuses the next: every file kept at --retries 2', async () => {
  for (let run = 0; run < 3; run++) {
    const limited = await startRefusingServer({ most: 4, ttfb: 30 })
    try {
      const urls = Array.from({ length: 200 }, (_, i) => `${limited.origin}/f${i}.jpg`)
      const results: Result[] = []
      for await (const r of pull(urls, { out: join(dir, `r2-${run}`), retries: 2 })) results.push(r)
      const failed = results.filter((r) => r.status !== 'ok')
      assert.equal(failed.length, 0, `run ${run}: ${failed.length} failed: ${failed[0]?.message}`)
    } finally {
      await limited.close()
    }
  }
})

test('a host down from the start (nothing listens) still fails its files at --retries 1, each tried at most once past them', async () => {
  // The grace a refusal in doubt is given (others in flight, nothing served yet) must not make a
  // host down into one hammered: the first file to fail gives the host up (see `outOfReach`).
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  const urls = Array.from({ length: 60 }, (_, i) => `http://127.0.0.1:${port}/f${i}.jpg`)
  const results: Result[] = []
  for await (const r of pull(urls, { out: join(dir, 'down'), retries: 1 })) results.push(r)
  assert.equal(results.filter((r) => r.status === 'ok').length, 0)
  const attempts = results.map((r) => r.attempts)
  const most = Math.max(...attempts)
  const total = attempts.reduce((a, b) => a + b, 0)
  assert.ok(most <= 3, `a file was tried ${most} times`)
  assert.ok(total <= 2 * urls.length, `${total} attempts for ${urls.length} files`)
})

test('a host that goes down for good mid-run is not hammered: its refusals are not forgiven, each file tried at most once past its retries', async () => {
  // Refusals while others were in flight are forgiven only once the host serves a request sent
  // after them (see `crowdedCredit`): a host gone for good serves none.
  const limited = await startRefusingServer({ most: 4, ttfb: 30 })
  const urls = Array.from({ length: 120 }, (_, i) => `${limited.origin}/f${i}.jpg`)
  const results: Result[] = []
  let closed = false
  for await (const r of pull(urls, { out: join(dir, 'gone'), retries: 1 })) {
    results.push(r)
    if (!closed && limited.stats.served >= 20) {
      closed = true
      await limited.close()
    }
  }
  if (!closed) await limited.close()
  const failed = results.filter((r) => r.status !== 'ok')
  assert.ok(failed.length > 0, 'the host served every file before it went down')
  const most = Math.max(...failed.map((r) => r.attempts))
  assert.ok(most <= 3, `a file was tried ${most} times`)
})

/**
 * A host that limits its rate, not its connections: more than `burst` requests within a window of
 * `windowMs` (from the window's first) are answered 503 with `Retry-After: 1`, as nginx's
 * limit_req answers requests beyond its burst. Its answers are quick (10 ms), so no number in
 * flight keeps under the rate: only retries spread in time do.
 */
async function startBurstServer(options: { burst: number; windowMs: number }) {
  const body = makeImage('burst.jpg', 2000)
  const stats = { served: 0, refused: 0 }
  let windowAt = Number.NEGATIVE_INFINITY
  let inWindow = 0
  const server = createHttpServer((_req, res) => {
    const now = performance.now()
    if (now - windowAt >= options.windowMs) {
      windowAt = now
      inWindow = 0
    }
    inWindow++
    const refuse = inWindow > options.burst
    setTimeout(() => {
      if (refuse) {
        stats.refused++
        res.writeHead(503, { 'Retry-After': '1', 'Content-Type': 'text/plain' }).end('busy\n')
      } else {
        stats.served++
        res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': body.length }).end(body)
      }
    }, 10)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    origin: `http://127.0.0.1:${port}`,
    stats,
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}

test('a host that answers bursts with 503 and Retry-After: 1 loses at most one file of 150: the retries it sent back are not sent in one burst again', async () => {
  for (let run = 0; run < 3; run++) {
    const host = await startBurstServer({ burst: 10, windowMs: 200 })
    try {
      const urls = Array.from({ length: 150 }, (_, i) => `${host.origin}/f${i}.jpg`)
      const results: Result[] = []
      for await (const r of pull(urls, { out: join(dir, `burst-${run}`) })) results.push(r)
      const failed = results.filter((r) => r.status !== 'ok')
      // Before the spread: 3 of 150 failed in the first run (every retry back after exactly 1 s,
      // together); since, 0, and once 1 under load.
      assert.ok(
        failed.length <= 1,
        `run ${run}: ${failed.length} failed (${host.stats.refused} 503s): ${failed[0]?.message}`,
      )
    } finally {
      host.close()
    }
  }
})
