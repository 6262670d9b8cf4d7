import assert from 'node:assert/strict'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { test } from 'node:test'
import { runCli, startCli } from './support/cli.js'
import { queueFixture } from './support/queue-fixture.js'
import { held, type Stall, stallEnv } from './support/stall.js'

const fx = queueFixture({ prefix: 'imgpull-killed-publish-' })
const { q } = fx

/** Every file under `root`, with its bytes. */
async function tree(root: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>()
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) {
      const path = join(entry.parentPath ?? entry.path, entry.name)
      files.set(relative(root, path), await readFile(path))
    }
  return files
}

/**
 * What a file holds once what differs between two runs of one shard is taken out: times, the
 * worker, the queue's name, a journal's pages. The rest (images, tars, Parquet) must be byte for byte.
 */
function comparable(name: string, bytes: Buffer): Buffer | string {
  if (/\.db$/.test(name)) return 'a database'
  if (/(^|\/)(00000\.json|queue-shard\.json|input\.json)$/.test(name)) return 'counts'
  if (name.endsWith('_stats.json')) {
    const { start_time, end_time, duration, ...rest } = JSON.parse(bytes.toString())
    return JSON.stringify(rest)
  }
  if (name.endsWith('manifest.jsonl'))
    return bytes
      .toString()
      .split('\n')
      .map((line) => line && JSON.stringify({ ...JSON.parse(line), finishedAt: 0, timings: 0 }))
      .join('\n')
  return bytes
}

let queues = 0
/** A shard of 4 images run by one worker, or by one killed at `stall` then another: its output folder. */
async function run(
  format: 'files' | 'webdataset',
  stall?: Omit<Stall, 'mark'>,
): Promise<Map<string, Buffer>> {
  const queue = `killed-${queues++}`
  const input = join(fx.dir, `${queue}.txt`)
  await writeFile(
    input,
    `${Array.from({ length: 4 }, (_, i) => fx.server.url(`/same/${i}.jpg`)).join('\n')}\n`,
  )
  const enqueued = await runCli(['enqueue', input, ...q(queue), '--output-format', format])
  assert.equal(enqueued.code, 0, enqueued.stderr)
  const out = join(fx.dir, `${queue}-out`)
  const worker = ['worker', ...q(queue), '-o', out, '--lock-duration', '1', '--exit-when-done']
  if (stall) {
    const at = { ...stall, mark: join(fx.dir, `${queue}.held`) }
    const killed = startCli(worker, { env: stallEnv(at) })
    await held(at).finally(() => killed.child.kill('SIGKILL'))
    assert.equal((await killed.done).signal, 'SIGKILL')
  }
  const next = await runCli(worker)
  assert.equal(next.code, 0, next.stderr)
  assert.match(next.stderr, /shard 00000: (4 ok|already published)/)
  return tree(out)
}

/** Each moment of publishing a shard, in order: a worker is killed (kill -9) there. */
const moments: Record<'files' | 'webdataset', [string, Omit<Stall, 'mark'>][]> = {
  webdataset: [
    ['sealing: the tar renamed, the Parquet not', { op: 'rename', path: /shards\/00000\.parquet\.tmp / }],
    [
      'sealing: all renamed, no seal record yet',
      { op: 'rename', path: /00000\.seal\.json\.tmp /, after: false },
    ],
    ["the counts' temporary written", { op: 'writeFile', path: /queue\/00000\.json\..*tmp$/, after: true }],
    [
      'the Parquet linked under its temporary name',
      { op: 'link', path: /\/00000\.parquet\..*\.tmp$/, after: true },
    ],
    [
      'the Parquet in place, the stats not',
      { op: 'rename', path: /\/00000\.parquet\..*\.tmp /, after: true },
    ],
    ['the stats in place, the tar not', { op: 'rename', path: /\/00000_stats\.json\..*\.tmp /, after: true }],
    [
      'the tar in place, the staged files kept',
      { op: 'rename', path: /\/00000\.tar\..*\.tmp /, after: true },
    ],
    [
      "the counts' temporary written, on another machine sharing the folder",
      { op: 'writeFile', path: /queue\/00000\.json\..*tmp$/, after: true, hostname: 'other-machine' },
    ],
    [
      'the Parquet linked under its temporary name, on another machine sharing the folder',
      { op: 'link', path: /\/00000\.parquet\..*\.tmp$/, after: true, hostname: 'other-machine' },
    ],
  ],
  files: [
    [
      "the counts' temporary in the staged folder",
      { op: 'writeFile', path: /queue-shard\.json\..*tmp$/, after: true },
    ],
    ['the folder renamed into place', { op: 'rename', path: /queue\/00000 /, after: true }],
    [
      "the counts' copy's temporary written",
      { op: 'writeFile', path: /queue\/00000\.json\..*tmp$/, after: true },
    ],
    [
      "the counts' temporary in the staged folder, on another machine sharing the folder",
      { op: 'writeFile', path: /queue-shard\.json\..*tmp$/, after: true, hostname: 'other-machine' },
    ],
    [
      "the counts' copy's temporary written, on another machine sharing the folder",
      { op: 'writeFile', path: /queue\/00000\.json\..*tmp$/, after: true, hostname: 'other-machine' },
    ],
  ],
}

/**
 * `each` over `items`, `most` at a time: each moment's runs wait out a killed worker's lock (1 s)
 * and start three processes, a queue and a folder of their own; one after another they took 37 s.
 */
async function some<T, R>(items: readonly T[], most: number, each: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = []
  let next = 0
  const lane = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await each(items[i] as T)
    }
  }
  await Promise.all(Array.from({ length: most }, lane))
  return results
}

for (const format of ['webdataset', 'files'] as const)
  test(`${format}: a worker killed (kill -9) at each moment of publishing a shard; the next leaves the output folder as one uninterrupted worker does, byte for byte, no temporary or staged copy left`, async () => {
    const [reference, ...runs] = await some(
      [undefined, ...moments[format].map(([, stall]) => stall)],
      3,
      (stall) => run(format, stall),
    )
    for (const [i, [moment]] of moments[format].entries()) {
      const got = runs[i] as Map<string, Buffer>
      assert.deepEqual([...got.keys()].sort(), [...reference.keys()].sort(), `killed at: ${moment}`)
      for (const [name, bytes] of reference)
        assert.deepEqual(
          comparable(name, got.get(name)!),
          comparable(name, bytes),
          `${name}, killed at: ${moment}`,
        )
    }
  })

test('WebDataset: a worker of another machine cut off past its lock between linking its Parquet and renaming it finds, once back, the shard published by the one that took it over and its temporary gone: it keeps the published files, says so and exits 0', async () => {
  const reference = await run('webdataset')
  const queue = 'cut-off'
  const input = join(fx.dir, `${queue}.txt`)
  await writeFile(
    input,
    `${Array.from({ length: 4 }, (_, i) => fx.server.url(`/same/${i}.jpg`)).join('\n')}\n`,
  )
  assert.equal((await runCli(['enqueue', input, ...q(queue), '--output-format', 'webdataset'])).code, 0)
  const out = join(fx.dir, `${queue}-out`)
  const worker = ['worker', ...q(queue), '-o', out, '--lock-duration', '1', '--exit-when-done']
  const at = {
    op: 'link',
    path: /\/00000\.parquet\..*\.tmp$/,
    after: true,
    hostname: 'other-machine',
    mark: join(fx.dir, `${queue}.held`),
    release: join(fx.dir, `${queue}.release`),
  }
  const late = startCli(worker, { env: stallEnv(at) })
  try {
    await held(at)
    const next = await runCli(worker)
    assert.equal(next.code, 0, next.stderr)
    assert.match(next.stderr, /shard 00000: 4 ok/)
    assert.match(next.stderr, /: 1 shard done, 0 given back/)
  } finally {
    await writeFile(at.release, '')
  }
  const back = await late.done
  assert.equal(back.code, 0, back.stderr)
  assert.match(back.stderr, /shard 00000: already published/)
  // The shard is the other's: counted once over both workers, not in each one's shards done.
  assert.match(back.stderr, /: 0 shards done, 1 found already published, 0 given back/)
  const got = await tree(out)
  assert.deepEqual([...got.keys()].sort(), [...reference.keys()].sort())
  for (const [name, bytes] of reference)
    assert.deepEqual(comparable(name, got.get(name)!), comparable(name, bytes), name)
})
