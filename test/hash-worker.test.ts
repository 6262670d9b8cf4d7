import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { pull, type Result } from '../src/index.js'
import { stopHashWorker } from '../src/verify/hasher.js'
import { cleanup, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'

let server: ImageServer
let dir: string
before(async () => {
  server = await startImageServer({ bandwidth: 8_000_000 })
  dir = await tempDir()
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

test('a crash of the hash worker fails the transfers it served, which are retried; the run goes on', async () => {
  // Bodies of 4 MB and more are hashed in the worker thread.
  const paths = ['/big-a?size=9000000', '/big-b?size=7000000', '/small?size=30000']
  const results: Result[] = []
  const run = pull(
    paths.map((p) => server.url(p)),
    { out: join(dir, 'crash'), journal: false },
  )
  const stopped = (async () => {
    // Once the large bodies are flowing (the worker has work), kill it.
    while (run.stats.bytes < 3_000_000) await sleep(10)
    return stopHashWorker()
  })()
  for await (const r of run) results.push(r)
  assert.equal(await stopped, true, 'the worker was running when it was stopped')
  const sha = (p: string) => createHash('sha256').update(server.bytes(p)).digest('hex')
  for (const p of paths) {
    const r = results.find((x) => x.job.url === server.url(p))
    assert.equal(r?.status, 'ok', `${p}: ${r?.message}`)
    assert.equal(r?.sha256, sha(p), `${p}: the hash of the whole file`)
  }
  assert.ok(
    results.some((r) => r.attempts > 1),
    `a body in the worker was fetched again: ${results.map((r) => r.attempts)}`,
  )
})
