import assert from 'node:assert/strict'
import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { type Options, pull, type Result } from '../src/index.js'
import { cleanup, tempDir } from './support/cli.js'
import { makeImage } from './support/images.js'
import { startConnLimitServer, startRefusingServer } from './support/refusing-server.js'
import { lostWhileHeld } from './support/wait.js'

let dir: string
before(async () => {
  dir = await tempDir()
})
after(async () => {
  await cleanup(dir)
})

/** `files` files from `origin` into `name`, pulled with `options`: every result, and those not ok. */
async function pullFrom(origin: string, files: number, name: string, options: Options = {}) {
  const urls = Array.from({ length: files }, (_, i) => `${origin}/f${i}.jpg`)
  const results: Result[] = []
  for await (const r of pull(urls, { out: join(dir, name), ...options })) results.push(r)
  return { results, failed: results.filter((r) => r.status !== 'ok') }
}

test('a host at its limit of connections that refuses the next: every file kept at --retries 2', async () => {
  // One run: three (12 s) proved no more. With the forgiveness of such refusals taken out (no
  // `crowdedCredit`: 3 runs; no grace try either: 3 more; nor the host kept in reach: 2 more), no
  // file of 200 failed here: --retries 2 outlasts the host's limit; policies.test.ts holds those rules.
  const limited = await startRefusingServer({ most: 4, ttfb: 30 })
  try {
    const { failed } = await pullFrom(limited.origin, 200, 'r2', { retries: 2 })
    assert.equal(failed.length, 0, `${failed.length} failed: ${failed[0]?.message}`)
  } finally {
    await limited.close()
  }
})

test('a host down from the start (nothing listens) still fails its files at --retries 1, each tried at most once past them', async () => {
  // The grace a refusal in doubt is given (others in flight, nothing served yet) must not make a
  // host down into one hammered: the first file to fail gives the host up (see `outOfReach`).
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  const { results } = await pullFrom(`http://127.0.0.1:${port}`, 60, 'down', { retries: 1 })
  assert.equal(results.filter((r) => r.status === 'ok').length, 0)
  const attempts = results.map((r) => r.attempts)
  const most = Math.max(...attempts)
  const total = attempts.reduce((a, b) => a + b, 0)
  assert.ok(most <= 3, `a file was tried ${most} times`)
  assert.ok(total <= 2 * results.length, `${total} attempts for ${results.length} files`)
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
  // Before the spread: 3 of 150 failed in the first run (every retry back after exactly 1 s,
  // together); since, 0, and once 1 under load. Since the host limit's cut ends slow start (f5b046b)
  // the spread no longer shows here: taken out, 0 of 150 failed in 2 runs (at most 3 attempts a
  // file, 4 with it), so one run (17 s) of the three; the spread itself is held by
  // policies.test.ts ('retry delay: the server's Retry-After wins...', which fails without it).
  const host = await startBurstServer({ burst: 10, windowMs: 200 })
  try {
    const { failed } = await pullFrom(host.origin, 150, 'burst')
    assert.ok(
      failed.length <= 1,
      `${failed.length} failed (${host.stats.refused} 503s): ${failed[0]?.message}`,
    )
  } finally {
    host.close()
  }
})

test("a host capped at 4 connections that answers 503 beyond them (nginx limit_conn) is sent past its cap in a few bursts, not after each cut's slow start", async () => {
  // Each 503 cut left the limit in slow start (a 503 sets no ceiling): it doubled back past 4
  // within a few answers, and each cut paused the host as if it were the first (88 503s and
  // 15.5 s for 150 files in bench/misbehave-limits.ts's conn-503). Here: 83 before the fix, 41 since;
  // one run, not two: with the fix taken out one run alone was 91-98 (3 of 3), 69 under load.
  const host = await startConnLimitServer({ most: 4, ttfb: 10 })
  try {
    const { failed } = await pullFrom(host.origin, 150, 'conn503')
    assert.equal(failed.length, 0, `${failed.length} failed: ${failed[0]?.message}`)
    assert.ok(host.stats.refused <= 60, `${host.stats.refused} 503s for 150 files`)
  } finally {
    await host.close()
  }
})

test("a host capped at 4 connections that answers 503 beyond them, its first answers later than a file's retries, loses no file: the others wait for its 4 slots", async () => {
  // Each 503 before its first file was held against the file's retries: its first answer 6 s
  // away, 1 of 24 files lost at --retries 2, 7 at --retries 1 (ytdl-org/youtube-dl#14075's
  // limit of connections, answered as nginx's limit_conn does; waf-resets.test.ts has the same
  // host resetting or refusing them). The answers come when a file has failed, or after a while.
  const lost = await lostWhileHeld(
    (hold) => startConnLimitServer({ most: 4, ttfb: 0, hold }),
    join(dir, 'conn503-wait'),
  )
  assert.deepEqual(lost, [])
})
