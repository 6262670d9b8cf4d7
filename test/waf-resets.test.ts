import assert from 'node:assert/strict'
import { type AddressInfo, createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { RESET_FILES } from '../src/fetch/given-up.js'
import { pull, type Result } from '../src/index.js'
import { cleanup, tempDir } from './support/cli.js'
import { makeImage } from './support/images.js'
import { eachRequest } from './support/raw-server.js'
import { startRefusingServer } from './support/refusing-server.js'
import { leastSampledLimit } from './support/samples.js'
import { afterHold, heldAnswers, lostWhileHeld } from './support/wait.js'

/**
 * An HTTP/1.1 server on node:net that resets some requests before any byte of the answer: those
 * whose path starts with `/blocked` (a WAF, or a backend that resets some URLs, whatever the load),
 * and, with `maxConnections`, every request on a connection opened while that many were open (a
 * per-client connection limit). Good paths answer after `ttfb` ms (and once `hold` settles, when
 * given: a host whose first answer is slow), keeping the connection alive unless `close`.
 */
async function startResettingServer(options: {
  ttfb: number
  maxConnections?: number
  close?: boolean
  hold?: Promise<void>
}) {
  const body = makeImage('waf.jpg', 2000)
  const open = new Set<Socket>()
  const stats = { served: 0, blocked: 0, overLimit: 0 }
  const server = createServer((socket) => {
    const over = options.maxConnections !== undefined && open.size >= options.maxConnections
    open.add(socket)
    socket.on('close', () => open.delete(socket))
    socket.on('error', () => {})
    socket.setNoDelay(true)
    eachRequest(socket, (head) => {
      const path = head.split(' ')[1] ?? ''
      if (over || path.startsWith('/blocked')) {
        if (over) stats.overLimit++
        else stats.blocked++
        // A connection turned away holds no place under the limit (as an iptables rule's reset).
        open.delete(socket)
        socket.resetAndDestroy()
        return
      }
      const answer = () => {
        if (socket.destroyed) return
        stats.served++
        socket.write(
          `HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: ${body.length}\r\nConnection: ${options.close ? 'close' : 'keep-alive'}\r\n\r\n`,
        )
        socket.write(body)
        if (options.close) socket.end()
      }
      afterHold(options.hold, options.ttfb, answer)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    stats,
    async close() {
      for (const socket of open) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

let dir: string
let n = 0
before(async () => {
  dir = await tempDir()
})
after(async () => {
  await cleanup(dir)
})

/** Pull `urls` with a journal; the least limit the host had in the report's samples. */
async function pullSampled(urls: string[]) {
  const out = join(dir, `run-${++n}`)
  const results: Result[] = []
  for await (const r of pull(urls, { out, retries: 2 })) results.push(r)
  return { results, ...(await leastSampledLimit(out)) }
}

test("paths a host resets on every new connection, whatever the load, do not cut its limit: the resets are the paths', not a limit of connections", async () => {
  // 20 paths a WAF resets among 180 good ones: each reset, retries included, taken as the host
  // turning connections away cut its limit to 1, and the good files went one at a time (6 s).
  const waf = await startResettingServer({ ttfb: 50 })
  try {
    // Together at the head of the list, as a sorted list has them: 16 resets at once are a limit
    // of connections as far as anyone can tell, but their retries, reset while the host takes
    // new connections for other files, are not.
    const urls = Array.from({ length: 200 }, (_, i) =>
      i < 20 ? `${waf.origin}/blocked/f${i}.jpg` : `${waf.origin}/ok/f${i}.jpg`,
    )
    const { results, least, count } = await pullSampled(urls)
    assert.equal(results.filter((r) => r.status === 'ok').length, 180)
    assert.deepEqual([...new Set(results.filter((r) => r.status !== 'ok').map((r) => r.error))], ['network'])
    assert.ok(count > 0)
    assert.ok(least >= 4, `the limit was cut to ${least}`)
  } finally {
    await waf.close()
  }
})

test('a host that resets new connections beyond 4 open is still given fewer at once, its blocked paths or not', async () => {
  // A connection each: idle kept-alive connections would fill the limit too (see the report).
  const limited = await startResettingServer({ ttfb: 50, maxConnections: 4, close: true })
  try {
    const urls = Array.from({ length: 200 }, (_, i) =>
      i % 10 === 0 ? `${limited.origin}/blocked/f${i}.jpg` : `${limited.origin}/ok/f${i}.jpg`,
    )
    const { results, least } = await pullSampled(urls)
    const lost = results.filter((r) => r.status !== 'ok' && r.job.url.includes('/ok/'))
    assert.deepEqual(
      lost.map((r) => r.message),
      [],
    )
    assert.ok(least <= 4, `the limit stayed at ${least} or more`)
    assert.ok(limited.stats.overLimit < 150, `${limited.stats.overLimit} connections reset over the limit`)
  } finally {
    await limited.close()
  }
})

test('a host that resets new connections beyond 4 open, its connections kept alive: the idle ones carry the next requests', async () => {
  // A connection of the pool's that a blocked path had reset, first in its order, connected anew
  // for each next request while 4 kept-alive ones sat idle: reset over the limit each time, one
  // request at a time, until 169 of 180 good files failed (~570 resets; in about half the runs).
  for (let run = 0; run < 2; run++) {
    const limited = await startResettingServer({ ttfb: 50, maxConnections: 4 })
    try {
      const urls = Array.from({ length: 200 }, (_, i) =>
        i % 10 === 0 ? `${limited.origin}/blocked/f${i}.jpg` : `${limited.origin}/ok/f${i}.jpg`,
      )
      const { results } = await pullSampled(urls)
      assert.equal(results.filter((r) => r.status === 'ok').length, 180)
      assert.ok(limited.stats.overLimit < 150, `${limited.stats.overLimit} connections reset over the limit`)
    } finally {
      await limited.close()
    }
  }
})

// A WAF that resets every connection of a client it blocks (its TLS fingerprint or User-Agent:
// Webperf-se/webperf_core#1470, m4ll0k/Atlas#13, ffuf/ffuf#662): each file spent its every
// attempt on it (2,000 files took 12,000 connections and 39 s), as on a host that refuses them.
test('a host that resets every connection, none answered, is given up once 3 files spent their retries on it; a slow host at its limit of connections is not', async () => {
  const waf = await startResettingServer({ ttfb: 0 })
  const good = await startResettingServer({ ttfb: 0 })
  try {
    const blocked = Array.from({ length: 60 }, (_, i) => `${waf.origin}/blocked/all-${i}.jpg`)
    const fine = Array.from({ length: 10 }, (_, i) => `${good.origin}/ok/beside-${i}.jpg`)
    const results: Result[] = []
    for await (const r of pull([...blocked, ...fine], {
      out: join(dir, 'all-reset'),
      journal: false,
      retries: 1,
    }))
      results.push(r)
    const messages = JSON.stringify(results.map((r) => r.message))
    assert.deepEqual(
      results.filter((r) => fine.includes(r.job.url)).map((r) => r.status),
      fine.map(() => 'ok'),
    )
    const fromWaf = results.filter((r) => blocked.includes(r.job.url))
    assert.ok(
      fromWaf.every((r) => r.error === 'network' && r.message!.includes('(ECONNRESET)')),
      messages,
    )
    const giving = fromWaf.filter((r) =>
      r.message!.endsWith(
        '; 3 of its files spent their retries on connections it reset or closed before any answer, none answered: its other files are not tried in this run',
      ),
    )
    assert.equal(giving.length, 1, messages)
    assert.ok(waf.stats.blocked < 100, `${waf.stats.blocked} connections reset for 60 files`)
  } finally {
    await Promise.all([waf.close(), good.close()])
  }
  // A host that takes 4 connections and resets the rest, its answers slower than a file's retries:
  // the resets are its limit (its first connections taken, their answers on the way), not a WAF.
  const slow = await startResettingServer({ ttfb: 1500, maxConnections: 4, close: true })
  try {
    const urls = Array.from({ length: 12 }, (_, i) => `${slow.origin}/ok/slow-${i}.jpg`)
    const results: Result[] = []
    for await (const r of pull(urls, { out: join(dir, 'slow-limit'), journal: false, retries: 1 }))
      results.push(r)
    assert.ok(
      results.every((r) => !r.message?.includes('not tried')),
      JSON.stringify(results.map((r) => r.message)),
    )
  } finally {
    await slow.close()
  }
})

// A host that takes 4 connections and resets the rest before any answer, its first answer not
// yet come (nginx's limit_conn, a NAS behind a router's cap: "the first three got connected and
// the rest were ... ended", ytdl-org/youtube-dl#14075; a mirror dropped for good for its limit of
// connections, rpm-software-management/librepo#100). With --retries 0, the files of the first
// round sent beside the 4 taken failed at once, and the third gave the host up as a WAF's: 23 of
// its 40 files were not tried, 4 served. So for a host that refuses connections beyond 4 (its
// retries within 100 ms of the first round, as reset ones are): given up as out of reach, 36 of 40
// not tried. The answers come once 3 files have failed (that many give a host up), or after a
// while: none fails while they are awaited, with retries to forgive (see below).
for (const kind of ['resets', 'refuses'] as const)
  test(`a host that ${kind} connections beyond 4, its first answers not yet come, is not given up: its 4 taken are in flight`, async () => {
    const { hold, release, end } = heldAnswers(1500)
    const slow =
      kind === 'resets'
        ? await startResettingServer({ ttfb: 0, maxConnections: 4, close: true, hold })
        : await startRefusingServer({ most: 4, ttfb: 0, hold })
    try {
      const urls = Array.from({ length: 40 }, (_, i) => `${slow.origin}/ok/taken-${i}.jpg`)
      const results: Result[] = []
      for await (const r of pull(urls, {
        out: join(dir, `taken-${kind}`),
        journal: false,
        retries: kind === 'resets' ? 0 : 1,
      })) {
        results.push(r)
        if (results.filter((f) => f.status !== 'ok').length >= RESET_FILES) release()
      }
      const failed = results.filter((r) => r.status !== 'ok')
      assert.deepEqual(
        failed.filter((r) => !/\((ECONNRESET|ECONNREFUSED)\)$/.test(r.message!)).map((r) => r.message),
        [],
      )
      assert.ok(results.length - failed.length > 4, JSON.stringify(failed.map((r) => r.message)))
    } finally {
      end()
      await slow.close()
    }
  })

// The same host, its first answer later than a file's retries: not given up, but each file sent
// beside its first 4 spent its retries on the door before any answer came (the resets or
// refusals read in doubt, or forgiven only once it served a request sent after them), so it lost
// 20 of 24 files refusing the rest at --retries 2, 12 to 16 resetting them (its first answer 6 s
// away; ytdl-org/youtube-dl#14075, rpm-software-management/librepo#100). Now its limit falls to
// the 4 it holds and the others wait for one of their slots. The answers come when a file has
// failed, or after a while (longer than a file's retries at --retries 1, without the forgiveness).
for (const kind of ['resets', 'refuses'] as const)
  test(`a host that ${kind} connections beyond 4, its first answers later than a file's retries, loses no file: the others wait for its 4 slots`, async () => {
    const lost = await lostWhileHeld(
      (hold) =>
        kind === 'resets'
          ? startResettingServer({ ttfb: 0, maxConnections: 4, hold })
          : startRefusingServer({ most: 4, ttfb: 0, hold }),
      join(dir, `wait-${kind}`),
    )
    assert.deepEqual(lost, [])
  })
