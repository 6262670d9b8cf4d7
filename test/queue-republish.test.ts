import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { publish, readCounts, shardPaths } from '../src/queue/publish.js'
import type { ShardCounts } from '../src/queue/shard-data.js'
import { cleanup, tempDir } from './support/cli.js'

let dir: string

before(async () => {
  dir = await tempDir('imgpull-republish-')
})
after(async () => {
  await cleanup(dir)
})

const counts = (ok: number, worker: string): ShardCounts => ({
  rows: 2,
  ok,
  skipped: 0,
  failed: 2 - ok,
  bytes: ok * 100,
  errors: ok < 2 ? { timeout: 2 - ok } : {},
  ms: 1,
  worker,
})

test("a late worker's copy of a published shard leaves the published outputs and counts alone (files and WebDataset)", async () => {
  for (const format of ['files', 'webdataset'] as const) {
    const paths = shardPaths(join(dir, format), 3)
    for (const [ok, worker] of [
      [2, 'first'],
      [1, 'late'],
    ] as const) {
      await mkdir(join(paths.staging, '.imgpull'), { recursive: true })
      await writeFile(join(paths.staging, 'a.jpg'), worker)
      for (const d of paths.dataset) await writeFile(d.from, worker)
      const won = await publish(paths, format, counts(ok, worker))
      assert.equal(won, worker === 'first', `${format}: ${worker}`)
    }
    assert.equal((await readCounts(paths, format))?.worker, 'first', format)
    assert.equal(JSON.parse(await readFile(paths.counts, 'utf8')).worker, 'first', format)
    const published = format === 'files' ? join(paths.folder, 'a.jpg') : paths.dataset.at(-1)!.to
    assert.equal(await readFile(published, 'utf8'), 'first', format)
  }
})
