import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { pull, type Result } from '../src/index.js'
import { cleanup, tempDir } from './support/cli.js'
import { startForwardProxy } from './support/forward-proxy.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { type SharedLink, startSharedLink } from './support/shared-link.js'

// A slow link shared by every connection (a hotel Wi-Fi, a hotspot): the image server behind
// test/support/shared-link.ts, whose bandwidth is one bucket for all transfers together.

let dir: string
let server: ImageServer
before(async () => {
  dir = await tempDir()
  server = await startImageServer({ record: false, sizes: [200_000, 200_000] })
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

async function through(link: SharedLink, files: number, totalTimeout: number) {
  const urls = Array.from({ length: files }, (_, i) => `${link.origin}/p${i}.jpg`)
  const results: Result[] = []
  for await (const r of pull(urls, { out: join(dir, `run-${link.port}`), journal: false, totalTimeout }))
    results.push(r)
  return results
}

// 40 files of 200 KB through 300 KB/s: one alone comes in 0.7 s, well within a 5 s
// --total-timeout, but 16 at once (the starting per-host limit) get 19 KB/s each (10.7 s a file,
// twice the timeout), and each was judged alone at its deadline: its pace (its share of the link)
// would not bring its rest in time, so it was cut, and 3 such cuts gave the host up as a tarpit:
// 2 files of 40 kept, 38 failed (most never tried), while its bodies together came at the link's
// whole 300 KB/s. Then the host was not given up, and the cuts halved its limit, but the first
// round, cut together at its deadline, was lost: 6 to 14 kept. Now a quarter of the time in, the
// host's bodies are weighed together: those the link cannot bring in time give way (resumed
// later, their time counted anew), the limit falls to those that stay, and it grows only while
// bodies end in time.
// (Those counts were with a 2 s --total-timeout: on a loaded machine the link, in this process
// with the run, lost over half a second of that at once, and files were cut that a longer timeout
// keeps; 5 s still leaves the 16 at once in need of twice the time they have.)
test('a host whose bodies share a slow link sends fewer at once, and keeps every file', async () => {
  const link = await startSharedLink(Number(new URL(server.origin).port), { rate: 300_000 })
  try {
    const results = await through(link, 40, 5000)
    const failed = results.filter((r) => r.status !== 'ok')
    assert.deepEqual(
      failed.map((r) => r.message),
      [],
      'every file kept',
    )
    assert.equal(results.length, 40)
    // Nothing fetched twice: those that gave way resumed from their bytes on disk, and the link
    // carried the files and their heads (16 kB of them), not bodies cut and sent again.
    const files = 40 * 200_000
    assert.ok(link.stats.down < files * 1.03, `${link.stats.down} bytes crossed for ${files}`)
    // Giving way is no attempt held against --retries: one or two a file.
    const attempts = results.reduce((n, r) => n + r.attempts, 0)
    assert.ok(attempts <= 60, `${attempts} attempts for 40 files`)
  } finally {
    await link.close()
  }
})

// The siblings: a slow link in front of an HTTP proxy, shared by two hosts (a hotel Wi-Fi to the
// office proxy). The link is no one host's: each host weighs its own bodies by its share of it
// (their paces added up), and those that gave way leave more of it to the other host's too.
test('two hosts behind an HTTP proxy on one slow link keep every file', async () => {
  const other = await startImageServer({ record: false, sizes: [200_000, 200_000] })
  const proxy = await startForwardProxy({})
  const link = await startSharedLink(Number(new URL(proxy.url).port), { rate: 300_000 })
  try {
    const urls = Array.from({ length: 40 }, (_, i) => `${i % 2 ? other.origin : server.origin}/q${i}.jpg`)
    const results: Result[] = []
    const out = join(dir, 'proxied')
    for await (const r of pull(urls, { out, journal: false, totalTimeout: 5000, proxy: link.origin }))
      results.push(r)
    const failed = results.filter((r) => r.status !== 'ok')
    assert.deepEqual(
      failed.map((r) => r.message),
      [],
      'every file kept',
    )
    assert.equal(results.length, 40)
    const files = 40 * 200_000
    assert.ok(link.stats.down < files * 1.03, `${link.stats.down} bytes crossed for ${files}`)
  } finally {
    await link.close()
    await proxy.close()
    await other.close()
  }
})
