import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { Queue } from 'bullmq'
import { parquetWriteFile } from 'hyparquet-writer'
import { otherTableOptions } from '../src/queue/enqueue.js'
import { enqueueState } from '../src/queue/enqueue-lease.js'
import { BULL_PREFIX, hostLeasesKey } from '../src/queue/keys.js'
import { optionFiles, withAbsoluteFiles } from '../src/queue/option-files.js'
import { queueStatus } from '../src/queue/status.js'
import type { TableOptions } from '../src/sources/tables/options.js'
import { startBlackHole } from './support/black-hole.js'
import { CLI, runCli, startCli } from './support/cli.js'
import { startImageServer } from './support/image-server.js'
import { queueFixture } from './support/queue-fixture.js'
import { shardManifests } from './support/redis.js'
import { duckdbRead, hyparquetRows, readTar, shardFiles } from './support/shards.js'
import { until } from './support/wait.js'

const fx = queueFixture({ server: { ttfb: 30 } })
const { list, q } = fx

test('enqueue twice adds nothing the second time; another input into the same queue is refused', async () => {
  const urls = Array.from({ length: 25 }, (_, i) => fx.server.url(`/twice/${i}.jpg`))
  const input = await list('twice.txt', urls)
  const first = await runCli(['enqueue', input, ...q('twice'), '--shard-size', '10', '--json'])
  assert.equal(first.code, 0, first.stderr)
  assert.deepEqual(
    (({ shards, added, existing, rows, mode }) => ({ shards, added, existing, rows, mode }))(
      JSON.parse(first.stdout),
    ),
    { shards: 3, added: 3, existing: 0, rows: 25, mode: 'pointer' },
  )
  const again = await runCli(['enqueue', input, ...q('twice'), '--shard-size', '10', '--json'])
  assert.equal(again.code, 0, again.stderr)
  assert.equal(JSON.parse(again.stdout).added, 0)
  assert.equal(JSON.parse(again.stdout).existing, 3)
  const status = JSON.parse((await runCli(['status', ...q('twice'), '--json'])).stdout)
  assert.equal(status.shards.waiting, 3, 'three shards, each once')

  const other = await runCli([
    'enqueue',
    await list('other.txt', urls.slice(1)),
    ...q('twice'),
    '--shard-size',
    '10',
  ])
  assert.equal(other.code, 2)
  assert.match(other.stderr, /queue twice holds another input \(.*twice\.txt/)
  // The same file in shards of another size: said as such (its shards would hold rows twice).
  const resized = await runCli(['enqueue', input, ...q('twice'), '--shard-size', '5'])
  assert.equal(resized.code, 2)
  assert.match(
    resized.stderr,
    /queue twice holds the same input in shards of 10 rows, not 5: enqueue with --shard-size 10, or into a queue of its own/,
  )
  // Standard input again without --shard-size: the queue's is taken, as for files (it was
  // refused as "another input (standard input)", its id holding the default 10,000).
  const piped = { input: `${urls.join('\n')}\n` }
  const stdin = await runCli(['enqueue', '-', ...q('twice-stdin'), '--shard-size', '10'], piped)
  assert.equal(stdin.code, 0, stdin.stderr)
  const stdinAgain = await runCli(['enqueue', '-', ...q('twice-stdin'), '--json'], piped)
  assert.equal(stdinAgain.code, 0, stdinAgain.stderr)
  assert.deepEqual([JSON.parse(stdinAgain.stdout).added, JSON.parse(stdinAgain.stdout).existing], [0, 3])
  const stdinResized = await runCli(['enqueue', '-', ...q('twice-stdin'), '--shard-size', '5'], piped)
  assert.equal(stdinResized.code, 2)
  assert.match(stdinResized.stderr, /queue twice-stdin holds standard input in shards of 10 rows, not 5/)
  const bad = await runCli(['enqueue', input, ...q('a:b')])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /not a queue name.*no ':'/)
  const out = await runCli(['enqueue', input, ...q('twice'), '-o', fx.dir])
  assert.equal(out.code, 2)
  assert.match(out.stderr, /--out is a worker's option/)
  // The workers' shards are this size: bounded as a run's --shard-size is.
  const huge = await runCli(['enqueue', input, ...q('huge'), '--shard-size', '99999999999'])
  assert.equal(huge.code, 2, huge.stderr)
  assert.match(huge.stderr, /--shard-size to be an integer from 1 to 1,000,000, got 99999999999/)
})

// BullMQ's add of a job id it holds adds nothing, unsaid (taskforcesh/bullmq#2155), and a look
// before adding is race-prone (OptimalBits/bull#1810): enqueues run at once (a retried CI step, two
// operators) each counted the shards they both found missing as added by itself.
test('enqueues of one input run at once: their added counts sum to the shards, each added once', async () => {
  const urls = Array.from({ length: 4000 }, (_, i) => `https://img.example/race/${i}.jpg`)
  const input = await list('race.txt', urls)
  const runs = await Promise.all(
    Array.from({ length: 4 }, () => runCli(['enqueue', input, ...q('race'), '--shard-size', '10', '--json'])),
  )
  const results = runs.map((r) => {
    assert.equal(r.code, 0, r.stderr)
    return JSON.parse(r.stdout) as { added: number; existing: number; shards: number }
  })
  for (const r of results) assert.equal(r.added + r.existing, 400)
  assert.equal(
    results.reduce((sum, r) => sum + r.added, 0),
    400,
    JSON.stringify(results.map((r) => r.added)),
  )
})

test('standard input: the same stream again adds nothing; another that begins with the same rows is refused, not merged', async () => {
  const urls = (name: string, n: number) =>
    Array.from({ length: n }, (_, i) => fx.server.url(`/${name}/${i}.jpg`)).join('\n')
  const a = `${urls('piped-a', 15)}\n`
  // Its first shard is a's (the id of standard input), its second and third are not.
  const b = `${urls('piped-a', 10)}\n${urls('piped-b', 15)}\n`
  const enqueue = (input: string) =>
    runCli(['enqueue', '-', ...q('piped'), '--shard-size', '10', '--json'], { input })
  const first = await enqueue(a)
  assert.equal(first.code, 0, first.stderr)
  const again = await enqueue(a)
  assert.equal(again.code, 0, again.stderr)
  assert.deepEqual((({ added, existing }) => ({ added, existing }))(JSON.parse(again.stdout)), {
    added: 0,
    existing: 2,
  })
  const other = await enqueue(b)
  assert.equal(other.code, 2, other.stdout)
  assert.match(
    other.stderr,
    /queue piped holds another input: its shard 00001 has other rows than this input's/,
  )
  const status = JSON.parse((await runCli(['status', ...q('piped'), '--json'])).stdout)
  assert.deepEqual([status.input.rows, status.shards.waiting], [15, 2], "a's rows only, in its two shards")
})

test('standard input written slowly (a crawler piping its URLs in): its shards reach the queue as they are read, not once 200 of them are', async (t) => {
  const urls = Array.from({ length: 35 }, (_, i) => fx.server.url(`/trickle/${i}.jpg`))
  // Three whole shards written, and the stream still open: the first went alone, the next two
  // waited for 198 more.
  const e = slowEnqueue('trickle', urls)
  t.after(() => e.child.kill('SIGKILL'))
  await until('the three shards read in the queue', async () => (await shardsIn('trickle')) === 3, 8_000)
  e.child.stdin!.end()
  assert.equal(await e.done, 0, e.stderr())
  assert.match(e.stderr(), /4 shards of up to 10 rows \(35 rows\): 4 added/)
  assert.equal(await shardsIn('trickle'), 4)
})

test("two workers finish one list: every URL's outcome exactly once, no URL fetched twice; status agrees", async () => {
  const urls = [
    ...Array.from({ length: 58 }, (_, i) => fx.server.url(`/two/${i}.jpg`)),
    fx.server.url('/two/gone.jpg?status=404'),
    fx.server.url('/two/page.jpg?html=1'),
  ]
  const input = await list('two.txt', urls)
  const out = join(fx.dir, 'two-out')
  assert.equal((await runCli(['enqueue', input, ...q('two'), '--shard-size', '8', '-c', '4'])).code, 0)
  const before = fx.server.stats.requests
  const workers = [0, 1].map(() => startCli(['worker', ...q('two'), '-o', out, '--exit-when-done', '--json']))
  const results = await Promise.all(workers.map((w) => w.done))
  for (const r of results) assert.equal(r.code, 0, r.stderr)
  const done = results.map((r) => r.stdout.split('\n').filter((l) => l.includes('"type":"done"')).length)
  assert.equal(done[0] + done[1], 8, `shards done by each worker: ${done}`)

  const lines = await shardManifests(out)
  assert.deepEqual(lines.map((l) => l.url).sort(), [...urls].sort(), 'every URL once, in one shard')
  assert.equal(lines.filter((l) => l.status === 'ok').length, 58)
  assert.deepEqual(
    lines
      .filter((l) => l.status === 'failed')
      .map((l) => l.error)
      .sort(),
    ['http-404', 'not-an-image'],
  )
  assert.equal(fx.server.stats.requests - before, urls.length, 'no URL was fetched twice')
  assert.deepEqual(
    (await readdir(join(out, '.imgpull', 'queue'))).sort(),
    [...[0, 1, 2, 3, 4, 5, 6, 7].map((n) => `0000${n}.json`), 'input.json'],
    'no work folder left behind',
  )

  const text = await runCli(['status', ...q('two')])
  assert.equal(text.code, 0, text.stderr)
  assert.match(text.stdout, /shards: 8 done, 0 active, 0 waiting, 0 failed, of 8/)
  assert.match(text.stdout, /images: 58 ok \([\d.]+ [kM]B\), 2 failed/)
  assert.match(text.stdout, /errors: (http-404 ×1, not-an-image ×1|not-an-image ×1, http-404 ×1)/)
  assert.equal(text.stdout.match(/shards? done, .* stopped/g)?.length, 2, 'both workers are listed')
  const json = JSON.parse((await runCli(['status', ...q('two'), '--json'])).stdout)
  assert.deepEqual(json.shards, { waiting: 0, retrying: 0, active: 0, done: 8, failed: 0 })
  assert.equal(json.images.ok, 58)
  assert.equal(json.images.failed, 2)
  assert.equal(json.input.rows, 60)
  assert.equal(json.workers.length, 2)
  assert.ok(json.workers.every((w: { alive: boolean; stoppedAt?: number }) => !w.alive && w.stoppedAt))

  const unknown = await runCli(['status', ...q('nothing-here')])
  assert.equal(unknown.code, 2)
  assert.match(unknown.stderr, /queue nothing-here .* holds nothing/)

  // A worker may start before the enqueue: it waits, and says why once.
  const early = startCli(['worker', ...q('nothing-yet'), '-o', join(fx.dir, 'early'), '--exit-when-done'])
  let said = ''
  await new Promise<void>((resolve) => {
    early.child.stderr?.on('data', (d) => {
      said += d
      if (/queue nothing-yet holds nothing yet: waiting for imgpull enqueue/.test(said)) resolve()
    })
  })
  early.child.kill('SIGINT')
  assert.equal((await early.done).code, 130)
  // Once the queue has an input, that worker (stopped, having done nothing) is counted, not listed.
  const later = await list('nothing-yet.txt', [fx.server.url('/nothing-yet/0.jpg')])
  assert.equal((await runCli(['enqueue', later, ...q('nothing-yet')])).code, 0)
  const afterwards = await runCli(['status', ...q('nothing-yet')])
  assert.match(afterwards.stdout, /^workers \(and 1 stopped that did nothing\):$/m)
})

test('the per-host limit holds across two workers', async () => {
  const slow = await startImageServer({ ttfb: 150 })
  try {
    const urls = Array.from({ length: 48 }, (_, i) => slow.url(`/host/${i}.jpg`))
    const input = await list('host.txt', urls)
    const out = join(fx.dir, 'host-out')
    assert.equal(
      (await runCli(['enqueue', input, ...q('host'), '--shard-size', '12', '--per-host', '3'])).code,
      0,
    )
    const workers = [0, 1].map(() =>
      startCli(['worker', ...q('host'), '-o', out, '--exit-when-done', '--json']),
    )
    const results = await Promise.all(workers.map((w) => w.done))
    for (const r of results) assert.equal(r.code, 0, r.stderr)
    const done = results.map((r) => r.stdout.split('\n').filter((l) => l.includes('"type":"done"')).length)
    assert.ok(done[0] > 0 && done[1] > 0, `both workers ran shards (${done}), each allowed 3 on its own`)
    assert.equal((await shardManifests(out)).filter((l) => l.status === 'ok').length, 48)
    assert.equal(slow.stats.maxInFlight, 3, 'at most 3 in flight over both workers, and the limit was used')
  } finally {
    await slow.close()
  }
})

test('--wait holds across two workers: the host sees its requests spaced, not one stream per worker', async () => {
  const server = await startImageServer()
  try {
    const urls = Array.from({ length: 9 }, (_, i) => server.url(`/wait/${i}.jpg`))
    const input = await list('wait.txt', urls)
    const out = join(fx.dir, 'wait-out')
    assert.equal(
      (await runCli(['enqueue', input, ...q('wait'), '--shard-size', '3', '--wait', '0.2'])).code,
      0,
    )
    const workers = [0, 1].map(() =>
      startCli(['worker', ...q('wait'), '-o', out, '--exit-when-done', '--json']),
    )
    const results = await Promise.all(workers.map((w) => w.done))
    for (const r of results) assert.equal(r.code, 0, r.stderr)
    const done = results.map((r) => r.stdout.split('\n').filter((l) => l.includes('"type":"done"')).length)
    assert.equal((await shardManifests(out)).filter((l) => l.status === 'ok').length, 9)
    const at = server.log.map((l) => l.at)
    const shown = `shards per worker ${done}: ${at.map((t) => Math.round(t - at[0]))} ms`
    // The host sees when a request arrives, not when its slot was taken: the two differ by what
    // the worker does in between (a cold one opens its connection and runs its code the first
    // time; on a loaded machine either may wait its turn for a core by 100 ms and more). Such a
    // late one shortens the gap after it, and lengthens the one before: each gap is held to a
    // quarter of the wait (one stream per worker puts two requests a few ms apart), and the eight
    // gaps together to seven waits (one stream per worker: about four or five).
    for (let i = 1; i < at.length; i++) assert.ok(at[i] - at[i - 1] >= 50, shown)
    assert.ok(at[8] - at[0] >= 1400, shown)
  } finally {
    await server.close()
  }
})

test('a Retry-After one worker is told holds for the other: no request reaches the host until it ends', async () => {
  const server = await startImageServer({ ttfb: 20 })
  try {
    const urls = Array.from({ length: 8 }, (_, i) =>
      server.url(i === 1 ? '/ra/1.jpg?status=429&times=1&ra=2' : `/ra/${i}.jpg`),
    )
    const input = await list('ra.txt', urls)
    const out = join(fx.dir, 'ra-out')
    assert.equal(
      (await runCli(['enqueue', input, ...q('ra'), '--shard-size', '4', '--per-host', '1'])).code,
      0,
    )
    const workers = [0, 1].map(() =>
      startCli(['worker', ...q('ra'), '-o', out, '--exit-when-done', '--json']),
    )
    const results = await Promise.all(workers.map((w) => w.done))
    for (const r of results) assert.equal(r.code, 0, r.stderr)
    assert.equal((await shardManifests(out)).filter((l) => l.status === 'ok').length, 8)
    const refused = server.log.findIndex((l) => l.url.includes('status=429'))
    const next = server.log[refused + 1]
    assert.ok(next, 'the refused file was asked again')
    const gap = next.at - server.log[refused].at
    // Its answer took 20 ms to go out: the pause began then, 2 s long (half of it, at the least).
    assert.ok(
      gap >= 1000,
      `${next.url} reached the host ${Math.round(gap)} ms after the 429 (Retry-After: 2): ${server.log.map((l) => `${l.url.replace(/\?.*/, '')}@${Math.round(l.at - server.log[0].at)}`)}`,
    )
  } finally {
    await server.close()
  }
})

test("a Retry-After one worker is told holds the other's transfers already running: their next requests (a redirect's hops) wait for its end too", async () => {
  // Scrapy runs in parallel share no limit nor delay at all (scrapy/scrapyd#221); here the other
  // worker held to it only its next slot, and the redirect it was following went on: three hops
  // reached the host in the 2 s it had asked every client to wait, where one worker held them.
  const server = await startImageServer({ ttfb: 300 })
  try {
    const urls = [server.url('/held/a.jpg?status=429&times=1&ra=2'), server.url('/held/b.jpg?redirect=6')]
    const input = await list('held.txt', urls)
    const out = join(fx.dir, 'held-out')
    assert.equal((await runCli(['enqueue', input, ...q('held'), '--shard-size', '1'])).code, 0)
    const workers = [0, 1].map(() => startCli(['worker', ...q('held'), '-o', out, '--exit-when-done']))
    for (const r of await Promise.all(workers.map((w) => w.done))) assert.equal(r.code, 0, r.stderr)
    assert.equal((await shardManifests(out)).filter((l) => l.status === 'ok').length, 2)
    // The 429 went out 300 ms after its request came: a request sent just before the other
    // worker heard of it may still come, none after (half the wait is room for a loaded machine).
    const refused = server.log.find((l) => l.url.includes('status=429'))!.at + 300
    const inside = server.log.filter((l) => l.at > refused + 150 && l.at < refused + 1000)
    const shown = server.log.map((l) => `${l.url.replace(/\?.*/, '')}@${Math.round(l.at - refused)}`)
    assert.deepEqual(inside, [], `requests inside the host's wait: ${shown}`)
  } finally {
    await server.close()
  }
})

test('WebDataset output through two workers: the same shards, byte for byte, as one local run', async () => {
  const header = 'url,caption'
  const rows = Array.from({ length: 25 }, (_, i) =>
    i === 13
      ? `${fx.server.url('/wds/gone.jpg?status=404')},missing`
      : `${fx.server.url(`/wds/${i}.jpg`)},photo ${i}`,
  )
  const input = join(fx.dir, 'wds.csv')
  await writeFile(input, `${header}\n${rows.join('\n')}\n`)
  const shards = ['--output-format', 'webdataset', '--shard-size', '10', '--caption-col', 'caption']
  assert.equal((await runCli(['enqueue', input, ...q('wds'), ...shards, '-c', '4'])).code, 0)
  const out = join(fx.dir, 'wds-out')
  // What a worker of this host killed while publishing left (its process is gone): removed.
  await mkdir(out)
  const gone = spawnSync(process.execPath, ['-e', '0']).pid!
  await writeFile(join(out, `00001.tar.${hostname()}.${gone}.tmp`), 'half a tar')
  // A numbered folder of the user's is no WebDataset shard: not in the way.
  await mkdir(join(out, '20240115'))
  const workers = [0, 1].map(() => startCli(['worker', ...q('wds'), '-o', out, '--exit-when-done']))
  for (const r of await Promise.all(workers.map((w) => w.done))) assert.equal(r.code, 0, r.stderr)

  const local = join(fx.dir, 'wds-local')
  const alone = await runCli([input, ...shards, '-o', local])
  assert.equal(alone.code, 1, 'the 404 fails')
  const published = (await readdir(out)).filter((f) => f !== '.imgpull' && f !== '20240115').sort()
  assert.deepEqual(published, await shardFiles(local), 'three shards, each with its Parquet and stats')
  for (const f of published.filter((f) => f.endsWith('.tar'))) {
    assert.ok((await readFile(join(out, f))).equals(await readFile(join(local, f))), `${f} differs`)
  }
  const second = await hyparquetRows(join(out, '00001.parquet'))
  assert.deepEqual(
    second.map((r) => [r.key, r.status]),
    Array.from({ length: 10 }, (_, i) => [`0000${10 + i}`, i === 3 ? 'failed' : 'success']),
    'keys follow the rows of the whole table, failures included',
  )
  assert.equal(
    (await readTar(join(out, '00002.tar'))).length,
    15,
    'the last shard: 5 samples, each an image, a caption and a JSON',
  )
})

test('a Parquet table through workers (pointers and --inline): every shard has the schema a local run gives, a column null in all of one shard included', async () => {
  const input = join(fx.dir, 'typed.parquet')
  parquetWriteFile({
    filename: input,
    columnData: [
      {
        name: 'url',
        data: Array.from({ length: 6 }, (_, i) => fx.server.url(`/typed/${i}.jpg`)),
        type: 'STRING',
      },
      { name: 'id', data: Array.from({ length: 6 }, (_, i) => (i < 3 ? null : BigInt(i))), type: 'INT64' },
    ],
  })
  const shards = ['--output-format', 'webdataset', '--shard-size', '3']
  const local = join(fx.dir, 'typed-local')
  assert.equal((await runCli([input, ...shards, '-o', local])).code, 0)
  for (const [name, extra] of [
    ['typed', []],
    ['typed-inline', ['--inline']],
  ] as const) {
    assert.equal((await runCli(['enqueue', input, ...q(name), ...shards, ...extra])).code, 0)
    const out = join(fx.dir, `${name}-out`)
    const worker = await runCli(['worker', ...q(name), '-o', out, '--exit-when-done'])
    assert.equal(worker.code, 0, worker.stderr)
    for (const f of ['00000.parquet', '00001.parquet']) {
      const [queued, alone] = [await readFile(join(out, f)), await readFile(join(local, f))]
      assert.ok(queued.equals(alone), `${name}: ${f} is not the local run's`)
      assert.equal((await duckdbRead(join(out, f))).types.id, 'BIGINT', `${name}: ${f}`)
    }
  }
})

test("a worker never takes another input's shards, nor a local run's outputs, for its own: it stops, the shard waits", async () => {
  const out = join(fx.dir, 'one-input')
  const first = await list('first.txt', [fx.server.url('/first/0.jpg'), fx.server.url('/first/1.jpg')])
  assert.equal((await runCli(['enqueue', first, ...q('first'), '--shard-size', '5'])).code, 0)
  const done = await runCli(['worker', ...q('first'), '-o', out, '--exit-when-done', '--quiet'])
  assert.equal(done.code, 0, done.stderr)

  // Another input, its own queue, the same folder: its shard 0 is not the folder's 00000.
  const second = await list('second.txt', [fx.server.url('/second/0.jpg')])
  assert.equal((await runCli(['enqueue', second, ...q('second'), '--shard-size', '5'])).code, 0)
  const refused = await runCli(['worker', ...q('second'), '-o', out, '--exit-when-done'])
  assert.equal(refused.code, 3, refused.stderr)
  assert.match(
    refused.stderr,
    /holds the shards of another input .*not queue second's.*; give each queue \(each input\) its own output folder with -o/,
  )
  assert.equal(fx.server.hits.get('/second/0.jpg'), undefined, 'nothing fetched')
  const status = JSON.parse((await runCli(['status', ...q('second'), '--json'])).stdout)
  assert.equal(status.shards.done, 0)
  assert.equal(status.shards.waiting, 1, 'the shard went back to the queue')

  // A folder a local run wrote.
  const local = join(fx.dir, 'local-run')
  assert.equal((await runCli([fx.server.url('/local/0.jpg'), '-o', local, '--quiet'])).code, 0)
  const mixed = await runCli(['worker', ...q('second'), '-o', local, '--exit-when-done'])
  assert.equal(mixed.code, 3, mixed.stderr)
  assert.match(mixed.stderr, /holds the outputs of a local run/)

  // Another tool's shards, in a folder no worker bound: not taken for shard 0.
  const foreign = join(fx.dir, 'foreign-shards')
  await mkdir(foreign)
  await writeFile(join(foreign, '00000.tar'), 'not ours')
  const taken = await runCli(['worker', ...q('second'), '-o', foreign, '--exit-when-done'])
  assert.equal(taken.code, 3, taken.stderr)
  assert.match(taken.stderr, /holds 00000\.tar, which no worker of queue second wrote/)
  assert.equal(await readFile(join(foreign, '00000.tar'), 'utf8'), 'not ours')
  // A shard folder of files output (00000/) that no worker of this queue wrote: the same.
  const folder = join(fx.dir, 'foreign-folder')
  await mkdir(join(folder, '00000'), { recursive: true })
  const inFolder = await runCli(['worker', ...q('second'), '-o', folder, '--exit-when-done'])
  assert.equal(inFolder.code, 3, inFolder.stderr)
  assert.match(inFolder.stderr, /holds 00000, which no worker of queue second wrote/)

  // Its own folder: done (a dated folder of the user's in it is no shard).
  await mkdir(join(fx.dir, 'second-out', '20240101'), { recursive: true })
  const own = await runCli([
    'worker',
    ...q('second'),
    '-o',
    join(fx.dir, 'second-out'),
    '--exit-when-done',
    '--quiet',
  ])
  assert.equal(own.code, 0, own.stderr)
  assert.equal(fx.server.hits.get('/second/0.jpg'), 1)
})

// BullMQ tries a failed job again after its backoff up to its attempts, pointless for a fault the
// same on every try (OptimalBits/bull#2248; BullMQ's UnrecoverableError is the way out): an input changed since enqueue is the same file on every
// try, and a worker with --exit-when-done waited 7.5 minutes of backoffs (30 s doubled) on it.
test('an input changed since enqueue (a line blanked in its middle: fewer rows; a line added: another size) fails its shard at once, in one line naming the file and the rows, not tried again after --backoff', async () => {
  const rows = Array.from(
    { length: 5000 },
    (_, i) => `not a url, row ${String(i).padStart(4, '0')} of the list`,
  )
  const long = await list('short-rows.txt', rows)
  const grown = await list('short-grown.txt', [fx.server.url('/short/0.jpg')])
  const e = await runCli(['enqueue', long, grown, ...q('short'), '--shard-size', '5000', '--backoff', '1'])
  assert.equal(e.code, 0, e.stderr)
  // Its size and its first and last 64 KiB as enqueued: only its rows tell it changed.
  const text = await readFile(long, 'utf8')
  await writeFile(long, text.replace(rows[2500], ' '.repeat(rows[2500].length)))
  await writeFile(grown, `${await readFile(grown, 'utf8')}${fx.server.url('/short/1.jpg')}\n`)
  const w = await runCli(['worker', ...q('short'), '-o', join(fx.dir, 'short-out'), '--exit-when-done'])
  assert.equal(w.code, 1, w.stderr)
  const fix =
    ': put it back as it was and enqueue the same input again (failed shards are put back), or enqueue the new file into a new queue'
  assert.ok(
    w.stderr.includes(
      `imgpull: shard 00000 failed: input ${long} ended after 4,999 of the shard's 5,000 rows (rows 1-5,000 of the input as enqueued): it changed since it was enqueued (its first and last 64 KiB and its size are the same)${fix}\n`,
    ),
    w.stderr,
  )
  assert.ok(
    w.stderr.includes(`imgpull: shard 00001 failed: input ${grown} is not the file that was enqueued (`),
    w.stderr,
  )
  assert.match(w.stderr, /, 2 failed attempts \(2 failed for good: see imgpull status\)/)
})

test('a worker whose shards failed for good exits 1 and says so (a script that chains it must see it); enqueuing again once mended tries them again', async () => {
  const urls = Array.from({ length: 10 }, (_, i) => fx.server.url(`/gone/${i}.jpg`))
  const input = await list('gone.txt', urls)
  const enqueued = await runCli(['enqueue', input, ...q('gone'), '--shard-size', '5', '--attempts', '1'])
  assert.equal(enqueued.code, 0, enqueued.stderr)
  // The input changes after it was enqueued (same size, other bytes): each shard's run refuses it.
  const original = await readFile(input, 'utf8')
  await writeFile(input, original.replace('/gone/9.jpg', '/gone/8.jpg'))
  const worker = await runCli(['worker', ...q('gone'), '-o', join(fx.dir, 'gone-out'), '--exit-when-done'])
  assert.equal(worker.code, 1, worker.stderr)
  assert.match(worker.stderr, /failed attempts? \(\d+ failed for good: see imgpull status\)/)
  const failed = await runCli(['status', ...q('gone')])
  assert.match(failed.stdout, /shards: 0 done, 0 active, 0 waiting, 2 failed, of 2/)
  assert.match(failed.stdout, /enqueue the same input again: failed shards are tried again/)
  // The worker that failed them is named, with the last why (a machine that cannot read the input
  // fails every shard it takes); it was counted among the workers "that did nothing".
  assert.match(
    failed.stdout,
    /^ {2}\S+: 0 shards done, 0 ok, 0 failed, 0 images\/s; stopped .*; 2 attempts at shards failed, the last: shard 0000[01]: input .*gone\.txt is not the file that was enqueued/m,
  )
  assert.doesNotMatch(failed.stdout, /did nothing/)
  // Mended: the same enqueue puts both back, their attempts counted afresh, and a worker does them.
  await writeFile(input, original)
  const again = await runCli(['enqueue', input, ...q('gone'), '--shard-size', '5', '--attempts', '1'])
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stderr, /0 added, 2 already queued or done \(2 of them failed, put back to try again\)/)
  const second = await runCli(['worker', ...q('gone'), '-o', join(fx.dir, 'gone-out'), '--exit-when-done'])
  assert.equal(second.code, 0, second.stderr)
  const status = JSON.parse((await runCli(['status', ...q('gone'), '--json'])).stdout)
  assert.deepEqual([status.shards.done, status.shards.failed], [2, 0])
  assert.equal(status.images.ok, 10)
  // Done shards are not put back.
  const third = await runCli(['enqueue', input, ...q('gone'), '--shard-size', '5', '--json'])
  assert.deepEqual(
    (({ added, existing, retried }) => ({ added, existing, retried }))(JSON.parse(third.stdout)),
    { added: 0, existing: 2, retried: 0 },
  )
  // The workers' output folder, which has no journal of its own, is read through its shards'.
  const folder = await runCli(['status', join(fx.dir, 'gone-out')])
  assert.equal(folder.code, 0, folder.stderr)
  assert.match(
    folder.stdout,
    /the output folder of queue gone, 2 shards: 10 ok \(.*\), 0 failed, 0 not finished/,
  )
})

test('--name with a table column: null and missing cells name files without it on workers too; a typo is refused at enqueue', async () => {
  const table = join(fx.dir, 'named.jsonl')
  await writeFile(
    table,
    [
      { url: fx.server.url('/named/0.jpg'), caption: 'lake' },
      { url: fx.server.url('/named/1.jpg'), caption: null },
      { url: fx.server.url('/named/2.jpg') },
    ]
      .map((o) => JSON.stringify(o))
      .join('\n'),
  )
  const typo = await runCli(['enqueue', table, ...q('named'), '--name', '{row}-{captoin}{ext}'])
  assert.equal(typo.code, 2, typo.stderr)
  assert.match(typo.stderr, /unknown placeholder \{captoin\} in the name template; use .*\{row\} \{caption\}/)
  for (const inline of [[], ['--inline']]) {
    const queue = `named${inline.length}`
    const enqueued = await runCli([
      'enqueue',
      table,
      ...q(queue),
      '--name',
      '{row}-{caption}{ext}',
      ...inline,
    ])
    assert.equal(enqueued.code, 0, enqueued.stderr)
    const out = join(fx.dir, `${queue}-out`)
    const worker = await runCli(['worker', ...q(queue), '-o', out, '--exit-when-done', '--quiet'])
    assert.equal(worker.code, 0, worker.stderr)
    assert.deepEqual(
      (await shardManifests(out)).map((l) => l.status),
      ['ok', 'ok', 'ok'],
    )
    const files = (await readdir(join(out, '00000'))).filter((f) => f.endsWith('.jpg'))
    // An empty caption takes its separator with it (see naming.ts `withoutDangling`).
    assert.deepEqual(files.sort(), ['0-lake.jpg', '1.jpg', '2.jpg'])
  }
})

/** Enqueue `urls` into queue `name` and start a quiet worker on it (into `NAME-out`), with `extra` options. */
async function enqueueAndWork(name: string, urls: string[], ...extra: string[]) {
  const enqueued = await runCli(['enqueue', await list(`${name}.txt`, urls), ...q(name)])
  assert.equal(enqueued.code, 0, enqueued.stderr)
  return startCli(['worker', ...q(name), '-o', join(fx.dir, `${name}-out`), ...extra, '--quiet'])
}

test("a worker's host slots last as long as its shard's lock: cut off from Redis, its transfers go on until then, and no other worker may take their slots meanwhile", async () => {
  const worker = await enqueueAndWork(
    'leases',
    [fx.server.url('/leases/0.jpg?size=40000&drip=4000')],
    '--lock-duration',
    '90',
  )
  try {
    let left: number | undefined
    await until('the transfer holds a host slot', async () => {
      const key = hostLeasesKey(new URL(fx.server.url('/')).origin)
      if ((await fx.redis.client.type(key)) !== 'zset') return false
      const [, score] = await fx.redis.client.zrange(key, 0, 0, 'WITHSCORES')
      const [seconds, micros] = await fx.redis.client.time()
      if (score === undefined) return false
      left = Number(score) - (Number(seconds) * 1000 + Math.floor(Number(micros) / 1000))
      return true
    })
    assert.ok(left! > 80_000 && left! <= 90_000, `the slot lapses in ${left} ms, the lock in 90 s`)
  } finally {
    worker.child.kill('SIGKILL')
    await worker.done
  }
})

test("status counts a running shard's failures by code too: its errors line adds up to the failed count", async () => {
  // Three 404s answered at once, and a slow image that keeps the shard running meanwhile.
  const worker = await enqueueAndWork('running-errors', [
    ...[0, 1, 2].map((i) => fx.server.url(`/running-errors/${i}.jpg?status=404`)),
    fx.server.url('/running-errors/slow.jpg?size=40000&drip=4000'),
  ])
  try {
    let status: { images: { failed: number; errors: Record<string, number> }; active: unknown[] } | undefined
    await until('the running shard reports its three failures', async () => {
      status = JSON.parse((await runCli(['status', ...q('running-errors'), '--json'])).stdout)
      return status!.active.length === 1 && status!.images.failed === 3
    })
    // It said "3 failed" beside no errors line: the codes were counted for done shards alone.
    assert.deepEqual(status!.images.errors, { 'http-404': 3 })
    const text = await runCli(['status', ...q('running-errors')])
    assert.match(text.stdout, /^errors: http-404 ×3$/m)
  } finally {
    worker.child.kill('SIGKILL')
    await worker.done
  }
})

test("status reads the workers' heartbeats on Redis's clock: a worker whose clock is 10 minutes behind is live", async () => {
  const input = await list('skewed.txt', [fx.server.url('/skewed/0.jpg')])
  const enqueued = await runCli(['enqueue', input, ...q('skewed')])
  assert.equal(enqueued.code, 0, enqueued.stderr)
  // The worker's machine keeps its own time, 10 minutes behind everyone's (libfaketime, as
  // test/clock-steps.test.ts uses it: the process's every clock, not only Date.now()).
  const worker = startCli(['worker', ...q('skewed'), '-o', join(fx.dir, 'skewed-out'), '--quiet'], {
    env: { LD_PRELOAD: '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', FAKETIME: '-10m' },
  })
  try {
    let seen: { alive: boolean; seenAt: number } | undefined
    let at = 0
    await until('the worker has done its shard', async () => {
      const status = JSON.parse((await runCli(['status', ...q('skewed'), '--json'])).stdout)
      seen = status.workers.find((w: { shards: number }) => w.shards === 1)
      at = status.at
      return seen !== undefined
    })
    assert.equal(seen?.alive, true, 'beating now, so live')
    assert.ok(Math.abs(at - seen!.seenAt) < 5000, `seen ${at - seen!.seenAt} ms ago`)
    const text = await runCli(['status', ...q('skewed')])
    assert.match(text.stdout, /images: 1 ok .* over 1 live worker\b/)
    assert.match(text.stdout, /seen (just now|\d s ago)/)
  } finally {
    worker.child.kill('SIGKILL')
    await worker.done
  }
})

test('a host one shard gave up (a black hole, a day-long Retry-After asked again) is given up by the next shards too, with no request sent', async () => {
  // Each shard is a run of its own: the next ones met the black hole again at the limit the first
  // had cut it to and shared, one headers timeout after another (33 s a shard at 2 s here).
  const hole = await startBlackHole()
  const holeUrl = hole.origin
  // The image server by another name: an origin of its own, asking for 100 s when --max-retry-after is 0.2 s.
  const quota = fx.server.origin.replace('127.0.0.1', 'localhost')
  try {
    const urls = [0, 1, 2].flatMap((s) => [
      ...Array.from({ length: 17 }, (_, i) => `${holeUrl}/h${s}-${i}.jpg`),
      ...Array.from({ length: 4 }, (_, i) => `${quota}/q${s}-${i}.jpg?status=429&ra=100`),
      fx.server.url(`/given-up-good/${s}.jpg`),
    ])
    const input = await list('given-up.txt', urls)
    const out = join(fx.dir, 'given-up-out')
    const enqueued = await runCli([
      'enqueue',
      input,
      ...q('given-up'),
      '--shard-size',
      '22',
      '--headers-timeout',
      '0.5',
      '--max-retry-after',
      '0.2',
      '--total-timeout',
      '10',
    ])
    assert.equal(enqueued.code, 0, enqueued.stderr)
    // A worker held past its timeouts (each shard at the hole again: 33 s a shard before) is killed
    // at 120 s, its exit then a signal, not 0: no clock compared.
    const worker = startCli(['worker', ...q('given-up'), '-o', out, '--exit-when-done', '--json'])
    const kill = setTimeout(() => worker.child.kill('SIGKILL'), 120_000)
    const r = await worker.done
    clearTimeout(kill)
    assert.equal(r.code, 0, `${r.signal}: ${r.stderr}`)
    const lines = await shardManifests(out)
    assert.equal(lines.filter((l) => l.status === 'ok').length, 3)
    const holeAsked = () => fx.server.log.filter((l) => l.url.startsWith('/q')).length
    for (const shard of ['00001', '00002']) {
      const failed = lines.filter((l) => l.shard === shard && l.status === 'failed')
      assert.equal(failed.length, 21)
      for (const l of failed) assert.match(l.error ?? '', /^(timeout|http-429)$/)
    }
    const messages = await readFile(join(out, '00002', 'manifest.jsonl'), 'utf8')
    assert.match(
      messages,
      /answered none of the \d+ requests a worker's run sent it .*, so every worker gives it up for 10 min more/,
    )
    assert.match(messages, /asked again for a wait of 100 s .*, so every worker gives it up for 2 min more/)
    // The first shard's run: 16 and the retries under way; the others none.
    assert.ok(hole.requests() <= 24, `${hole.requests()} requests to the black hole`)
    assert.ok(holeAsked() <= 8, `${holeAsked()} requests to the host that asked for 100 s`)
  } finally {
    await hole.close()
  }
})

test("another program's BullMQ queue of the same name is left alone: its jobs are neither taken nor failed", async () => {
  // An app's own BullMQ queue named `images`, under BullMQ's default prefix.
  const app = new Queue('images', { connection: { host: '127.0.0.1', port: fx.redis.port } })
  try {
    await app.add('resize', { file: 'cat.png', width: 100 })
    await app.add('resize', { file: 'dog.png', width: 100 })
    const input = await list('images.txt', [fx.server.url('/images/1.jpg'), fx.server.url('/images/2.jpg')])
    const out = join(fx.dir, 'images-out')
    assert.equal((await runCli(['enqueue', input, ...q('images')])).code, 0)
    const r = await runCli(['worker', ...q('images'), '-o', out, '--exit-when-done', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal((await shardManifests(out)).filter((l) => l.status === 'ok').length, 2)
    const counts = await app.getJobCounts('waiting', 'active', 'failed', 'completed')
    assert.deepEqual(counts, { waiting: 2, active: 0, failed: 0, completed: 0 })
    const status = JSON.parse((await runCli(['status', ...q('images'), '--json'])).stdout)
    assert.equal(status.shards.done, 1)
  } finally {
    await app.close()
  }
})

test('enqueuing the same input again with other options is refused, naming them (the shards would keep the first ones); the same options still add nothing', async () => {
  const input = await list('options.txt', [fx.server.url('/options/1.jpg'), fx.server.url('/options/2.jpg')])
  const first = [
    'enqueue',
    input,
    ...q('options'),
    '--per-host',
    '2',
    '-A',
    'first',
    '-H',
    'Authorization: Bearer s3cret',
  ]
  assert.equal((await runCli(first)).code, 0)
  const other = await runCli([
    'enqueue',
    input,
    ...q('options'),
    '--per-host',
    '8',
    '-A',
    'second',
    '-H',
    'Authorization: Bearer other',
  ])
  assert.equal(other.code, 2)
  assert.match(
    other.stderr,
    /queue options holds this input's shards with other options \(perHost 2, not 8; userAgent "first", not "second"; headers differ\)/,
  )
  assert.doesNotMatch(other.stderr, /s3cret|Bearer other/)
  const again = await runCli([...first, '--json'])
  assert.equal(again.code, 0, again.stderr)
  assert.equal(JSON.parse(again.stdout).existing, 1)
})

test("enqueuing the same input again without its options (after failures, after a stop) takes the queue's: not refused, and a shard it adds carries the first enqueue's options", async () => {
  const urls = Array.from({ length: 4 }, (_, i) => fx.server.url(`/bare/${i}.jpg`))
  const input = await list('bare.txt', urls)
  const first = await runCli([
    'enqueue',
    input,
    ...q('bare'),
    '--shard-size',
    '2',
    '-c',
    '3',
    '--per-host',
    '2',
    '--retries',
    '1',
    '--resize',
    'center-crop',
    '--size',
    '16',
  ])
  assert.equal(first.code, 0, first.stderr)
  // A shard gone from the queue (removed by hand, a stop before it was added): enqueuing again adds it.
  const connection = fx.redis.client.duplicate()
  const bull = new Queue('bare', { connection, prefix: BULL_PREFIX })
  try {
    const [job] = await bull.getJobs(['waiting'])
    await job.remove()
    const again = await runCli(['enqueue', input, ...q('bare'), '--shard-size', '2', '--json'])
    assert.equal(again.code, 0, again.stderr)
    assert.deepEqual((({ added, existing }) => ({ added, existing }))(JSON.parse(again.stdout)), {
      added: 1,
      existing: 1,
    })
    const readded = await bull.getJob(job.id!)
    assert.deepEqual(
      (({ concurrency, perHost, retries, transform }) => ({
        concurrency,
        perHost,
        retries,
        resize: transform?.resize,
      }))(readded!.data.options),
      { concurrency: 3, perHost: 2, retries: 1, resize: 'center-crop' },
    )
  } finally {
    await bull.close()
    connection.disconnect()
  }
  // One option given otherwise is still refused, naming it alone.
  const other = await runCli(['enqueue', input, ...q('bare'), '--shard-size', '2', '-c', '5'])
  assert.equal(other.code, 2)
  assert.match(other.stderr, /with other options \(concurrency 3, not 5\)/)
})

test("enqueuing the same input again without --shard-size takes the queue's, as its other options", async () => {
  const input = await list(
    'sized.txt',
    [0, 1, 2].map((i) => fx.server.url(`/sized/${i}.jpg`)),
  )
  assert.equal((await runCli(['enqueue', input, ...q('sized'), '--shard-size', '2'])).code, 0)
  const again = await runCli(['enqueue', input, ...q('sized'), '--json'])
  assert.equal(again.code, 0, again.stderr)
  assert.deepEqual(
    (({ shards, added, existing, shardSize }) => ({ shards, added, existing, shardSize }))(
      JSON.parse(again.stdout),
    ),
    { shards: 2, added: 0, existing: 2, shardSize: 2 },
  )
  const text = await runCli(['enqueue', input, ...q('sized')])
  assert.match(text.stderr, /2 shards of up to 2 rows \(3 rows\): 0 added, 2 already queued or done/)
})

test("enqueuing the same table again without its table options (--caption-col, --columns...) takes the queue's; other ones are refused, naming them", async () => {
  const input = join(fx.dir, 'captioned.csv')
  await writeFile(
    input,
    `url,caption,license\n${[0, 1, 2].map((i) => `${fx.server.url(`/captioned/${i}.jpg`)},photo ${i},cc0`).join('\n')}\n`,
  )
  const first = ['--shard-size', '2', '--caption-col', 'caption', '--columns', 'license']
  assert.equal((await runCli(['enqueue', input, ...q('captioned'), ...first])).code, 0)
  // A rerun with --retry-failed, the table options left out: the queue's.
  const again = await runCli(['enqueue', input, ...q('captioned'), '--retry-failed', '--json'])
  assert.equal(again.code, 0, again.stderr)
  assert.deepEqual(
    (({ shards, added, existing }) => ({ shards, added, existing }))(JSON.parse(again.stdout)),
    { shards: 2, added: 0, existing: 2 },
  )
  const other = await runCli([
    'enqueue',
    input,
    ...q('captioned'),
    '--caption-col',
    'license',
    '--columns',
    'caption',
  ])
  assert.equal(other.code, 2)
  assert.match(
    other.stderr,
    /^imgpull: queue captioned holds the same input with other table options \(--caption-col caption, not license; --columns license, not caption\): enqueue with those \(or none: the queue's are taken\), or into a queue of its own$/m,
  )
})

test('otherTableOptions: the table options a queue holds that an enqueue gives otherly, in flags (table)', () => {
  const cases: [string | null, TableOptions | undefined, string | undefined][] = [
    [null, { captionCol: 'caption' }, undefined],
    ['{}', {}, undefined],
    ['{"captionCol":"caption"}', { captionCol: 'caption' }, undefined],
    ['{"captionCol":"caption"}', {}, '--caption-col caption, not none'],
    ['{}', { urlCol: 'url' }, undefined],
    ['{"urlCol":"URL"}', {}, '--url-col URL, not url'],
    ['{"columns":["a","b"]}', { columns: ['b'] }, '--columns a,b, not b'],
    ['{"hashCol":"h"}', { hashCol: 'h', hashType: 'md5' }, '--hash-type sha256, not md5'],
    ['{"format":"csv"}', { format: 'tsv' }, '--input-format csv, not tsv'],
  ]
  for (const [held, table, words] of cases)
    assert.equal(otherTableOptions(held, table), words, `${held} ${JSON.stringify(table)}`)
})

test('URLs added to a list already enqueued: enqueuing it again says the file changed since, and what to do (not "other options")', async () => {
  const input = await list('grown.txt', [fx.server.url('/grown/0.jpg'), fx.server.url('/grown/1.jpg')])
  assert.equal((await runCli(['enqueue', input, ...q('grown')])).code, 0)
  const before = (await readFile(input)).length
  await writeFile(input, `${await readFile(input, 'utf8')}${fx.server.url('/grown/2.jpg')}\n`)
  const again = await runCli(['enqueue', input, ...q('grown')])
  assert.equal(again.code, 2)
  assert.doesNotMatch(again.stderr, /other options/)
  assert.match(
    again.stderr,
    new RegExp(
      `queue grown holds .*grown\\.txt as it was enqueued \\(${before} bytes; ${(await readFile(input)).length} now\\).*new URLs in a file of their own`,
    ),
  )
})

test("--threads is a worker's, as -c is (machines of other sizes): each worker runs its shards on its own count", async () => {
  const urls = Array.from({ length: 6 }, (_, i) => fx.server.url(`/threads/${i}.jpg?size=3000`))
  const input = await list('threads.txt', urls)
  assert.equal((await runCli(['enqueue', input, ...q('threads'), '--shard-size', '3'])).code, 0)
  const out = join(fx.dir, 'threads-out')
  const r = await runCli(['worker', ...q('threads'), '-o', out, '--threads', '1', '--exit-when-done'])
  assert.equal(r.code, 0, r.stderr)
  assert.doesNotMatch(r.stderr, /queue's option/)
  const lines = await shardManifests(out)
  assert.equal(lines.length, 6)
  assert.ok(
    lines.every((l) => l.status === 'ok' && l.bytes === 3000),
    JSON.stringify(lines),
  )
  // Another count at enqueue is refused as another option, saying where it goes.
  const other = await runCli(['enqueue', input, ...q('threads'), '--shard-size', '3', '--threads', '2'])
  assert.equal(other.code, 2)
  assert.match(
    other.stderr,
    /threads "auto", not 2\).*-c and --threads are also each worker's own: give them to imgpull worker/,
  )
  const bad = await runCli(['worker', ...q('threads'), '-o', out, '--threads', '65'])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /--threads.*an integer <= 64/)
})

test('an input with no row: enqueue ends, and a worker waiting with --exit-when-done for it stops (it waited for good); a later input takes the queue', async () => {
  const empty = await list('empty.txt', ['# nothing here', ''])
  const worker = startCli(['worker', ...q('empty'), '-o', join(fx.dir, 'empty-out'), '--exit-when-done'])
  const enqueued = await runCli(['enqueue', empty, ...q('empty'), '--json'])
  assert.equal(enqueued.code, 0, enqueued.stderr)
  assert.equal(JSON.parse(enqueued.stdout).shards, 0)
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), 15_000)
  const r = await worker.done
  clearTimeout(timer)
  assert.equal(r.code, 0, `the worker stopped by itself: ${r.signal ?? ''} ${r.stderr}`)
  const status = await runCli(['status', ...q('empty')])
  assert.match(status.stderr, /holds nothing: its enqueue found no rows in its input/)
  const input = await list('not-empty.txt', [fx.server.url('/not-empty/1.jpg')])
  assert.equal((await runCli(['enqueue', input, ...q('empty')])).code, 0)
  assert.equal(await fx.redis.client.hget('imgpull:empty:meta', 'shards'), '1')
})

/** 25 rows of standard input for the stopped-enqueue tests (shards of 10). */
const stoppedUrls = () => Array.from({ length: 25 }, (_, i) => fx.server.url(`/stopped/${i}.jpg`))
/** An enqueue of standard input whose writer has given `urls` and is still writing. */
function slowEnqueue(queue: string, urls = stoppedUrls()) {
  const child = spawn(process.execPath, [CLI, 'enqueue', '-', ...q(queue), '--shard-size', '10'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d) => {
    stderr += d
  })
  child.stdout.resume()
  child.stdin.write(`${urls.join('\n')}\n`)
  const done = new Promise<number | null>((resolve) => child.on('close', resolve))
  return { child, done, stderr: () => stderr }
}
/** Shards of a queue in Redis (its first ten). */
async function shardsIn(queue: string): Promise<number> {
  return (await fx.redis.client.keys(`imgpull:bullmq:${queue}:*-0000[0-9]`)).length
}
const statusOf = (queue: string) => queueStatus(fx.redis.url, queue)

test("Ctrl-C during enqueue: status says the enqueue stopped before the input's end, a worker with --exit-when-done stops saying so (exit 1, it waited for good), and the same enqueue again adds the rest", async (t) => {
  const e = slowEnqueue('stopped')
  t.after(() => e.child.kill('SIGKILL'))
  await until('two shards in the queue', async () => (await shardsIn('stopped')) === 2, 10_000)
  assert.equal((await statusOf('stopped')).input?.enqueue, 'running')
  e.child.kill('SIGINT')
  assert.equal(await e.done, 130, e.stderr())
  assert.match(
    e.stderr(),
    /stopped before the input's end: 2 shards .*: 2 added, .*run the same command again to add it/,
  )
  const status = await runCli(['status', ...q('stopped')])
  assert.match(status.stdout, /standard input, rows not all enqueued/)
  assert.match(status.stdout, /Its enqueue stopped before the input's end .*run the same enqueue again/)
  assert.equal((await statusOf('stopped')).input?.enqueue, 'stopped')

  const out = join(fx.dir, 'stopped-out')
  const worker = startCli(['worker', ...q('stopped'), '-o', out, '--exit-when-done'])
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), 20_000)
  const r = await worker.done
  clearTimeout(timer)
  assert.equal(r.code, 1, `the worker stopped by itself, saying why: ${r.signal ?? ''} ${r.stderr}`)
  assert.match(
    r.stderr,
    /the enqueue of queue stopped stopped before its input's end .*run the same enqueue again/,
  )
  assert.equal((await shardManifests(out)).filter((l) => l.status === 'ok').length, 20)

  const again = await runCli(['enqueue', '-', ...q('stopped'), '--shard-size', '10'], {
    input: `${stoppedUrls().join('\n')}\n`,
  })
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stderr, /1 added, 2 already queued or done/)
  assert.equal((await statusOf('stopped')).input?.enqueue, 'complete')
})

test("an enqueue killed (kill -9) counts as running until its lease lapses, then as stopped before the input's end", async (t) => {
  const k = slowEnqueue('killed')
  t.after(() => k.child.kill('SIGKILL'))
  await until('two shards in the queue', async () => (await shardsIn('killed')) === 2, 10_000)
  k.child.kill('SIGKILL')
  await k.done
  assert.equal((await statusOf('killed')).input?.enqueue, 'running')
  // Its lease lapsing (30 s after its last renewal): scored in the past.
  for (const id of await fx.redis.client.zrange('imgpull:killed:enqueues', 0, -1))
    await fx.redis.client.zadd('imgpull:killed:enqueues', 1, id)
  assert.equal((await statusOf('killed')).input?.enqueue, 'stopped')
})

test('enqueueState: complete once an enqueue ended; running while one holds its lease; stopped when none does', () => {
  const cases: [{ inputId?: string | null; complete?: string | null }, boolean, string][] = [
    [{}, false, 'none'],
    [{ inputId: null, complete: null }, false, 'none'],
    [{ inputId: 'a' }, true, 'running'],
    [{ inputId: 'a' }, false, 'stopped'],
    [{ inputId: 'a', complete: '1' }, false, 'complete'],
    // An input with no row: complete with no input bound.
    [{ complete: '1' }, false, 'complete'],
    // Another enqueue claiming the queue: its lease is held before it binds its input.
    [{}, true, 'running'],
  ]
  for (const [meta, running, want] of cases)
    assert.equal(enqueueState(meta, running), want, JSON.stringify(meta))
})

test("a worker sends the headers, user agent and cookies the enqueue was given; a file of its options missing on the worker's machine stops that worker, its shard given back, no attempt counted", async () => {
  const urls = [fx.server.url('/carried/1.jpg'), fx.server.url('/carried/2.jpg')]
  const input = await list('carried.txt', urls)
  const host = new URL(fx.server.origin).hostname
  const jar = `# Netscape HTTP Cookie File\n${host}\tFALSE\t/\tFALSE\t0\tsession\tabc123\n`
  // Given relative, as a user types it: the job holds it absolute.
  await writeFile(join(fx.dir, 'carried-cookies.txt'), jar)
  const given = ['-H', 'X-Token: s3cret', '-A', 'carried-agent/1', '--cookies', 'carried-cookies.txt']
  const enq = await runCli(['enqueue', input, ...q('carried'), ...given], { cwd: fx.dir })
  assert.equal(enq.code, 0, enq.stderr)
  const cookies = join(fx.dir, 'carried-cookies.txt')
  assert.match(
    enq.stderr,
    new RegExp(
      `Workers read --cookies ${cookies.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} on their own machines: that path must reach them`,
    ),
  )
  // A worker elsewhere (another working folder) reads the same file.
  const out = join(fx.dir, 'carried-out')
  const r = await runCli(['worker', ...q('carried'), '-o', out, '--exit-when-done'])
  assert.equal(r.code, 0, r.stderr)
  const seen = fx.server.log.filter((l) => l.url.startsWith('/carried/'))
  assert.equal(seen.length, 2)
  for (const l of seen) {
    assert.equal(l.headers['x-token'], 's3cret')
    assert.equal(l.headers['user-agent'], 'carried-agent/1')
    assert.equal(l.headers.cookie, 'session=abc123')
  }
  // A machine whose file is not at the enqueue's path: that worker stops (exit 3), the shard waits
  // with no attempt counted, and a worker that has the file finishes it.
  const lost = await list('carried-lost.txt', [fx.server.url('/carried/3.jpg')])
  const gone = join(fx.dir, 'gone-cookies.txt')
  await writeFile(gone, jar)
  assert.equal((await runCli(['enqueue', lost, ...q('carried-lost'), '--cookies', gone])).code, 0)
  await rm(gone)
  const lostOut = join(fx.dir, 'lost-out')
  const w = await runCli(['worker', ...q('carried-lost'), '-o', lostOut, '--exit-when-done'])
  assert.equal(w.code, 3, w.stderr)
  assert.match(w.stderr, /given back to the queue \(this worker cannot read --cookies \S*gone-cookies\.txt\)/)
  assert.match(
    w.stderr,
    /imgpull: Expected `cookies` to be a readable cookies\.txt: \S*gone-cookies\.txt: no such file.*\(the queue's --cookies: every worker reads it at that path\); put the file at that path on this machine/,
  )
  assert.doesNotMatch(w.stderr, /shard 00000 failed|[1-9] failed attempt/)
  assert.equal(fx.server.log.filter((l) => l.url === '/carried/3.jpg').length, 0)
  const status = await queueStatus(fx.redis.url, 'carried-lost')
  assert.equal(status.shards.waiting, 1, JSON.stringify(status.shards))
  await writeFile(gone, jar)
  const again = await runCli(['worker', ...q('carried-lost'), '-o', lostOut, '--exit-when-done'])
  assert.equal(again.code, 0, again.stderr)
  assert.equal(fx.server.log.filter((l) => l.url === '/carried/3.jpg').length, 1)
})

test("withAbsoluteFiles and optionFiles: every file option made absolute against the enqueue's folder, named with its flag (table)", () => {
  const cases: [Parameters<typeof withAbsoluteFiles>[0], Record<string, unknown>, string[]][] = [
    [{}, {}, []],
    [{ cookies: 'c.txt' }, { cookies: '/srv/run/c.txt' }, ['--cookies /srv/run/c.txt']],
    [{ cookies: '/etc/c.txt' }, { cookies: '/etc/c.txt' }, ['--cookies /etc/c.txt']],
    [
      { caCert: ['a.pem', '../b.pem'] },
      { caCert: ['/srv/run/a.pem', '/srv/b.pem'] },
      ['--ca-cert /srv/run/a.pem', '--ca-cert /srv/b.pem'],
    ],
    [{ netrc: true }, { netrc: true }, []],
    [{ netrc: 'n' }, { netrc: '/srv/run/n' }, ['--netrc-file /srv/run/n']],
    [
      { clientCert: 'me.pem', clientKey: './me.key' },
      { clientCert: '/srv/run/me.pem', clientKey: '/srv/run/me.key' },
      ['--cert /srv/run/me.pem', '--key /srv/run/me.key'],
    ],
  ]
  for (const [given, made, named] of cases) {
    const absolute = withAbsoluteFiles(given, '/srv/run')
    assert.deepEqual(absolute, made, JSON.stringify(given))
    assert.deepEqual(optionFiles(absolute), named, JSON.stringify(given))
  }
  // Other options pass as they are.
  assert.deepEqual(withAbsoluteFiles({ cookies: 'c', userAgent: 'x' } as never, '/a'), {
    cookies: '/a/c',
    userAgent: 'x',
  })
})
