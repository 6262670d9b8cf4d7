import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { pull, type Result } from '../src/index.js'
import { cleanup, tempDir } from './support/cli.js'
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

// 40 files of 200 KB through 300 KB/s: one alone comes in 0.7 s, well within a 2 s
// --total-timeout, but 16 at once (the starting per-host limit) get 19 KB/s each, and each was
// judged alone at its deadline: its pace (its share of the link) would not bring its rest in 2 s
// more, so it was cut, and 3 such cuts gave the host up as a tarpit: 2 files of 40 kept, 38
// failed (most never tried), while its bodies together came at the link's whole 300 KB/s. Now the
// host is not given up, and the cuts halve its limit, so that later files get a share in time.
test('a host whose bodies share a slow link is not given up as trickling, and sends fewer at once', async () => {
  const link = await startSharedLink(Number(new URL(server.origin).port), { rate: 300_000 })
  try {
    const results = await through(link, 40, 2000)
    const gaveUp = results.filter((r) => /trickled in/.test(r.message ?? ''))
    assert.deepEqual(
      gaveUp.map((r) => r.message),
      [],
      'no file says the host trickled its bodies',
    )
    // Every file had its request: none failed for its host given up.
    const notTried = results.filter((r) => r.message?.startsWith('not tried'))
    assert.equal(notTried.length, 0, `${notTried.length} files not tried`)
    // Cut bodies are pressure: the limit falls until each transfer's share brings it in time. At
    // 16 at once, or 8 (the list's last round), no share ends a body within twice the 2 s: without
    // the limit falling, none is kept (how many are, 6 to 14 here, depends on the machine's load).
    const ok = results.filter((r) => r.status === 'ok').length
    assert.ok(ok > 0, `${ok} of 40 kept`)
  } finally {
    await link.close()
  }
})
