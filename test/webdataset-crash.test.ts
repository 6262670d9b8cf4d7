import assert from 'node:assert/strict'
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import Database from 'better-sqlite3'
import { cleanup, runCli, startCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { hyparquetRows, readTar, shardFiles, staged } from './support/shards.js'
import { exists, until } from './support/wait.js'

// kill -9 in the middle of shards, then reruns: the shards come out byte for byte as an uninterrupted
// run makes them, sealed shards are left alone, and no sample downloaded before is fetched again.

let server: ImageServer
let dir: string
/** Rows of the last shard of the three-kills test are held (see `hold`) until this resolves. */
let releaseLastShard: () => void = () => {}
const lastShard = new Promise<void>((resolve) => {
  releaseLastShard = resolve
})
before(async () => {
  // Slow enough that a run is still going when the test kills it.
  server = await startImageServer({
    ttfb: 30,
    bandwidth: 400_000,
    sizes: [20_000, 120_000],
    // The three-kills test's shard 2 (rows 40 to 59): held until its last kill, so that kill always
    // finds the run mid-shard however slow the machine is.
    hold: (p) => (/^\/k-(4\d|5\d)$/.test(p) ? lastShard : undefined),
  })
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

/** A run of `table` into `out` as shards of 4 samples, captions from its `caption` column. */
const shardRun = (table: string, out: string) => [
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
  // Third kill: shard 0 sealed whole, shard 1 under way (shard 2's rows are held).
  await kill(
    'shard 0 sealed and a row of shard 1 done',
    async () =>
      (await exists(join(out, '.imgpull', 'shards', '00000.seal.json'))) &&
      okRows(out).some((row) => row >= 20),
  )
  releaseLastShard()
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
  const args = shardRun(table, out)
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

test('a reseal cut after its renames, then a rerun with the table edited back: the shard is sealed again, not taken for the old rows', async () => {
  const table = join(dir, 'back.csv')
  // Edit B changes every caption and row 3's URL, a slow one, so the reseal waits for it.
  const write = (tag: string, row3: string) =>
    writeFile(
      table,
      `url,caption\n${[0, 1, 2]
        .map((i) => `${server.url(`/b-${i}`)},${tag} ${i}`)
        .join('\n')}\n${server.url(row3)},${tag} 3\n`,
    )
  const out = join(dir, 'back')
  const args = shardRun(table, out)
  const captions = async () =>
    (await readTar(join(out, '00000.tar')))
      .filter((m) => m.name.endsWith('.txt'))
      .map((m) => m.data.toString())
  await write('A', '/b-3')
  const first = await runCli(args)
  assert.equal(first.code, 0, first.stderr)
  const sealedA = await readFile(join(out, '00000.tar'))

  // The run with edit B is cut after its tar, Parquet and stats took their names but before the
  // new seal record is written (a folder where the record's temporary file goes stands for the kill).
  const slow = '/b-slow?size=8000&drip=6000'
  await write('B', slow)
  const run = startCli(args)
  await until('the slow row in flight', () => (server.hits.get(slow) ?? 0) > 0)
  const blocker = join(out, '.imgpull', 'shards', '00000.seal.json.tmp')
  await mkdir(join(blocker, 'x'), { recursive: true })
  assert.notEqual((await run.done).code, 0, 'the seal record could not be written')
  assert.deepEqual(await captions(), ['B 0', 'B 1', 'B 2', 'B 3'], 'the outputs took their names')
  await rm(blocker, { recursive: true })

  // Edit B undone: the rows are the ones the old record describes, but the outputs are B's.
  await write('A', '/b-3')
  const rerun = await runCli(args)
  assert.equal(rerun.code, 0, rerun.stderr)
  assert.deepEqual(await captions(), ['A 0', 'A 1', 'A 2', 'A 3'])
  assert.ok((await readFile(join(out, '00000.tar'))).equals(sealedA), '00000.tar is the first run’s again')
  assert.deepEqual(
    (await hyparquetRows(join(out, '00000.parquet'))).map((r) => [r.caption, r.url]),
    [0, 1, 2, 3].map((i) => [`A ${i}`, server.url(`/b-${i}`)]),
  )
})
