import assert from 'node:assert/strict'
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import Database from 'better-sqlite3'
import { cleanup, runCli, startCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { hyparquetRows, shardFiles, staged } from './support/shards.js'
import { exists, until } from './support/wait.js'

// kill -9 in the middle of shards, then reruns: the shards come out byte for byte as an uninterrupted
// run makes them, sealed shards are left alone, and no sample downloaded before is fetched again.

let server: ImageServer
let dir: string
before(async () => {
  // Slow enough that a run is still going when the test kills it.
  server = await startImageServer({ ttfb: 30, bandwidth: 400_000, sizes: [20_000, 120_000] })
  dir = await tempDir()
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

const ROWS = 60
const path = (row: number) => (row === 33 ? `/k-${row}?status=404` : `/k-${row}`)

/** Rows the journal has as done: their samples are on disk, staged or in a sealed tar. */
function okRows(out: string): number[] {
  const db = new Database(join(out, '.imgpull', 'journal.db'), { readonly: true })
  try {
    return (db.prepare("SELECT key FROM jobs WHERE state = 'ok'").all() as { key: string }[]).map((r) =>
      Number(r.key.slice('row:'.length)),
    )
  } finally {
    db.close()
  }
}

test('kill -9 mid-shard, three times, then a rerun: shards identical to an uninterrupted run, nothing fetched twice', async () => {
  const table = join(dir, 'crash.csv')
  await writeFile(
    table,
    `url,caption\n${Array.from({ length: ROWS }, (_, i) => `${server.url(path(i))},caption ${i}`).join('\n')}\n`,
  )
  const out = join(dir, 'crash')
  const args = (to: string) => [
    table,
    '-o',
    to,
    '--output-format',
    'webdataset',
    '--shard-size',
    '20',
    '--caption-col',
    'caption',
    '--per-host',
    '8',
  ]
  const kill = async (when: string, ready: () => Promise<boolean>) => {
    const run = startCli(args(out))
    await until(when, ready)
    run.child.kill('SIGKILL')
    assert.equal((await run.done).signal, 'SIGKILL')
  }

  // First kill: shard 0 partly staged, nothing sealed yet.
  await kill('a first staged sample', async () => (await staged(out, '00000')).length >= 3)
  assert.equal(await exists(join(out, '00000.tar')), false, 'killed before any shard was sealed')
  // Second kill: the moment shard 0's tar takes its name, most likely before its Parquet and seal
  // record do (the next run seals it again from what is staged).
  await kill("shard 0's tar", () => exists(join(out, '00000.tar')))
  // Third kill: shard 0 sealed whole, shard 1 under way.
  await kill('shard 0 sealed', () => exists(join(out, '.imgpull', 'shards', '00000.seal.json')))
  const sealed = await stat(join(out, '00000.tar'))
  const done = okRows(out)
  assert.ok(done.some((row) => row >= 20) && done.length < ROWS - 1, `${done.length} rows done at the kill`)
  const hits = new Map(done.map((row) => [row, server.hits.get(path(row))]))

  const rerun = await runCli(args(out))
  assert.equal(rerun.code, 1, rerun.stderr) // row 33 is a 404
  for (const [row, count] of hits)
    assert.equal(server.hits.get(path(row)), count, `row ${row} was fetched again`)
  const now = await stat(join(out, '00000.tar'))
  assert.deepEqual([now.ino, now.mtimeMs], [sealed.ino, sealed.mtimeMs], 'a sealed shard is left alone')
  assert.deepEqual(
    (await readdir(join(out, '.imgpull', 'shards'))).sort(),
    ['00000.seal.json', '00001.seal.json', '00002.seal.json'],
    'no staged sample, tar or rows file is left',
  )

  const clean = join(dir, 'clean')
  const uninterrupted = await runCli(args(clean))
  assert.equal(uninterrupted.code, 1, uninterrupted.stderr)
  assert.deepEqual(await shardFiles(out), await shardFiles(clean))
  for (const f of await shardFiles(out)) {
    if (f.endsWith('.tar'))
      assert.ok((await readFile(join(out, f))).equals(await readFile(join(clean, f))), `${f} differs`)
    // A transfer cut by the kill and resumed reports the 200 of the whole file, as the clean run does.
    if (f.endsWith('.parquet'))
      assert.deepEqual(
        await hyparquetRows(join(out, f)),
        await hyparquetRows(join(clean, f)),
        `${f}: rows differ`,
      )
  }
})

test('a seal record damaged on disk: the rerun seals its shard again from its tar, identical, fetching nothing', async () => {
  const table = join(dir, 'seal.csv')
  await writeFile(
    table,
    `url,caption\n${Array.from({ length: 6 }, (_, i) => `${server.url(`/s-${i}`)},c ${i}`).join('\n')}\n`,
  )
  const out = join(dir, 'seal')
  const args = [
    table,
    '-o',
    out,
    '--output-format',
    'webdataset',
    '--shard-size',
    '4',
    '--caption-col',
    'caption',
  ]
  const first = await runCli(args)
  assert.equal(first.code, 0, first.stderr)
  const tars = await Promise.all(['00000.tar', '00001.tar'].map((f) => readFile(join(out, f))))
  const seal = join(out, '.imgpull', 'shards', '00000.seal.json')
  await writeFile(seal, '{"signature": "0a1b') // cut short: not JSON
  const requests = server.stats.requests

  const rerun = await runCli(args)
  assert.equal(rerun.code, 0, rerun.stderr)
  assert.doesNotMatch(rerun.stderr, /JSON/)
  assert.equal(server.stats.requests, requests, 'nothing fetched again')
  assert.ok((await readFile(join(out, '00000.tar'))).equals(tars[0]), '00000.tar differs')
  assert.ok((await readFile(join(out, '00001.tar'))).equals(tars[1]), '00001.tar differs')
  assert.equal(
    typeof JSON.parse(await readFile(seal, 'utf8')).signature,
    'string',
    'the record is written anew',
  )
})
