import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { link, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Queue } from 'bullmq'
import { reopens } from '../src/queue/enqueue.js'
import { shownRedis } from '../src/queue/errors.js'
import { BULL_PREFIX } from '../src/queue/keys.js'
import { publish, readCounts, reopen, shardPaths } from '../src/queue/publish.js'
import { openRedis, redisAddress } from '../src/queue/redis.js'
import type { ShardCounts } from '../src/queue/shard-data.js'
import { CLI, runCli, startCli } from './support/cli.js'
import { queueFixture } from './support/queue-fixture.js'
import { shardManifests } from './support/redis.js'
import { hyparquetRows, readTar } from './support/shards.js'
import { until } from './support/wait.js'

const fx = queueFixture({ redis: { unixSocket: true }, server: { ttfb: 20 }, prefix: 'imgpull-republish-' })
const { list, q, requested } = fx

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

test("reopens: the failed images a retry round fetches again; never the input's own, which every run fails again without a request (table)", () => {
  const cases: [Pick<ShardCounts, 'failed' | 'errors'> | undefined, boolean, number][] = [
    [undefined, true, 0],
    [{ failed: 0, errors: {} }, true, 0],
    [{ failed: 3, errors: { timeout: 1, 'http-503': 1, 'http-404': 1 } }, false, 2],
    [{ failed: 3, errors: { timeout: 1, 'http-503': 1, 'http-404': 1 } }, true, 3],
    // A line that is no URL, a bad row or hash: no round fetches them (the shard was re-opened to
    // "fetch its 15 failed images again", 8 of them lines that are no URL).
    [{ failed: 15, errors: { 'invalid-url': 8, 'http-404': 5, 'not-an-image': 2 } }, true, 7],
    [{ failed: 3, errors: { 'invalid-url': 1, 'invalid-row': 1, 'invalid-hash': 1 } }, true, 0],
    [{ failed: 2, errors: { 'invalid-url': 1, timeout: 1 } }, false, 1],
  ]
  for (const [counts, all, n] of cases)
    assert.equal(reopens(counts, all), n, `${JSON.stringify(counts)} ${all}`)
})

test("a late worker's copy of a published shard leaves the published outputs and counts alone (files and WebDataset)", async () => {
  for (const format of ['files', 'webdataset'] as const) {
    const paths = shardPaths(join(fx.dir, format), 3)
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

test('a Unix socket is a Redis address in the forms other clients write: a path, unix://, unix:, redis+unix://, redis-socket://', async () => {
  const sock = fx.redis.socket!
  assert.deepEqual(redisAddress(sock), { kind: 'unix', path: sock })
  assert.deepEqual(redisAddress(`unix://${sock}?db=3`), { kind: 'unix', path: sock, db: '3' })
  assert.deepEqual(redisAddress(`unix:${sock}`), { kind: 'unix', path: sock })
  assert.deepEqual(redisAddress(`redis+unix://:s%40cret@${sock}`), {
    kind: 'unix',
    path: sock,
    password: 's@cret',
  })
  assert.deepEqual(redisAddress(`redis-socket://${sock}?password=pw&username=u`), {
    kind: 'unix',
    path: sock,
    username: 'u',
    password: 'pw',
  })
  assert.match(String(redisAddress(`unix://${sock}?db=x`)), /names database 'x'/)
  assert.match(String(redisAddress('unix://')), /names no socket/)
  // a % that starts no UTF-8 escape was 'imgpull: URI malformed', naming nothing.
  for (const bad of [
    'redis://h:6379/%zz',
    'redis://:caf%E9@h:6379',
    'unix://u:caf%E9@/run/r.sock',
    '/run/r%zz.sock',
  ])
    assert.match(
      String(redisAddress(bad)),
      /' is not percent-encoded as UTF-8 \(in its user, password or path, write % as %25\)$/,
      bad,
    )
  assert.ok(!String(redisAddress('redis://:caf%E9@h:6379')).includes('caf'), 'the password never shown')
  assert.match(String(redisAddress('http://x')), /not a Redis URL: .*\/run\/redis\/redis\.sock/)
  assert.deepEqual(redisAddress('redis://h:1/2'), {
    kind: 'tcp',
    url: 'redis://h:1/2',
    protocol: 'redis:',
    db: '2',
  })
  assert.equal(shownRedis('unix://:pw@/run/r.sock'), 'unix://:***@/run/r.sock')
  assert.equal(shownRedis('/run/r.sock?db=1&password=pw'), '/run/r.sock?db=1&password=***')
  for (const address of [
    sock,
    `unix://${sock}`,
    `unix:${sock}`,
    `redis+unix://${sock}`,
    `redis-socket://${sock}`,
  ]) {
    const client = await openRedis(address)
    assert.equal(await client.ping(), 'PONG', address)
    client.disconnect()
  }
  // The database a socket address names is the one used, after a reconnection too.
  const three = await openRedis(`unix://${sock}?db=3`)
  await three.set('imgpull-test-db', 'three')
  const ready = new Promise((resolve) => three.once('ready', resolve))
  three.disconnect(true)
  await ready
  assert.equal(await three.get('imgpull-test-db'), 'three')
  three.disconnect()
  await assert.rejects(
    openRedis(`unix://${join(fx.dir, 'none.sock')}`),
    /cannot reach Redis at unix:\/\/.*none\.sock \(ENOENT\): is redis-server running with unixsocket .*none\.sock/,
  )
})

test('enqueue, worker and status over a Unix socket', async () => {
  const urls = Array.from({ length: 6 }, (_, i) => fx.server.url(`/sock/${i}.jpg`))
  const input = await list('sock.txt', urls)
  const out = join(fx.dir, 'sock-out')
  const q = ['--redis', `unix://${fx.redis.socket}`, '--queue', 'sock']
  const enqueued = await runCli(['enqueue', input, ...q, '--shard-size', '4'])
  assert.equal(enqueued.code, 0, enqueued.stderr)
  assert.match(enqueued.stderr, /2 added/)
  const worker = await runCli(['worker', ...q, '-o', out, '--exit-when-done'])
  assert.equal(worker.code, 0, worker.stderr)
  assert.equal((await shardManifests(out)).filter((l) => l.status === 'ok').length, 6)
  const status = JSON.parse(
    (await runCli(['status', '--redis', fx.redis.socket!, '--queue', 'sock', '--json'])).stdout,
  )
  assert.equal(status.images.ok, 6)
})

async function queueStatus(queue: string) {
  return JSON.parse((await runCli(['status', ...q(queue), '--json'])).stdout)
}

test('enqueuing again re-opens the done shards with passing failures (--retry-failed: any failure); workers fetch only those again and publish the shard anew', async () => {
  const urls = [
    ...Array.from({ length: 4 }, (_, i) => fx.server.url(`/again/${i}.jpg`)),
    fx.server.url('/again/busy.jpg?status=503&times=1'),
    fx.server.url('/again/gone.jpg?status=404'),
  ]
  const input = await list('again.txt', urls)
  const out = join(fx.dir, 'again-out')
  const enqueue = async (...extra: string[]) => {
    const r = await runCli(['enqueue', input, ...q('again'), '--shard-size', '3', '--retries', '0', ...extra])
    assert.equal(r.code, 0, r.stderr)
    return r.stderr
  }
  const work = async () => {
    const r = await runCli(['worker', ...q('again'), '-o', out, '--exit-when-done'])
    assert.equal(r.code, 0, r.stderr)
  }
  await enqueue()
  await work()
  const first = await shardManifests(out)
  assert.equal(first.find((l) => l.url.includes('busy'))?.error, 'http-503')
  const before = requested('/again/')
  const keptBefore = await readFile(join(out, '00000', '0.jpg'))

  // A plain enqueue again: the shard with the 503 (passing) is re-opened; the 404's shard is the same.
  assert.match(await enqueue(), /2 already queued or done \(1 re-opened to fetch its 1 failed image again\)/)
  await work()
  assert.equal(requested('/again/') - before, 1, 'only the 503 is fetched again')
  const second = await shardManifests(out)
  assert.equal(second.find((l) => l.url.includes('busy'))?.status, 'ok')
  assert.equal(second.find((l) => l.url.includes('gone'))?.error, 'http-404')
  assert.equal(second.filter((l) => l.status === 'ok').length, 5)
  assert.deepEqual(await readFile(join(out, '00000', '0.jpg')), keptBefore)
  const status = await queueStatus('again')
  assert.equal(status.images.ok, 5)
  assert.equal(status.images.failed, 1)
  assert.deepEqual(status.images.errors, { 'http-404': 1 })
  assert.equal(status.shards.done, 2)

  // A shard's folder says how its failures are tried again: by enqueue, not by its worker's command.
  const shardStatus = await runCli(['status', join(out, '00001')])
  // Its only advice names the command whole: it said "Enqueue it with --retry-failed", "it" naming nothing.
  assert.match(
    shardStatus.stdout,
    /^Enqueue the same input again with --retry-failed \(imgpull enqueue INPUTS --queue again --retry-failed\) to try the 1 permanent failure too\.$/m,
  )
  assert.doesNotMatch(shardStatus.stdout, /Add --retry-failed|Run the same command/)
  assert.equal((await runCli(['report', join(out, '00001')])).code, 0)
  const page = await readFile(join(out, '00001', 'report.html'), 'utf8')
  assert.match(page, /unless it is enqueued with <code>--retry-failed<\/code>/)

  // Nothing passing left: a plain enqueue re-opens nothing; --retry-failed re-opens the 404's shard.
  assert.doesNotMatch(await enqueue(), /re-opened/)
  assert.match(await enqueue('--retry-failed'), /1 re-opened to fetch its 1 failed image again/)
  const third = requested('/again/')
  await work()
  assert.equal(requested('/again/') - third, 1, 'only the 404 is fetched again')
  assert.equal((await queueStatus('again')).images.failed, 1)
})

test('WebDataset: a re-opened shard is sealed again with its new sample, byte for byte as one local run that fetched it at once', async () => {
  const header = 'url,caption'
  const rows = Array.from({ length: 6 }, (_, i) =>
    i === 4
      ? `${fx.server.url('/wds-again/busy.jpg?status=500&times=1')},busy`
      : `${fx.server.url(`/wds-again/${i}.jpg`)},photo ${i}`,
  )
  const input = join(fx.dir, 'wds-again.csv')
  await writeFile(input, `${header}\n${rows.join('\n')}\n`)
  const shards = [
    '--output-format',
    'webdataset',
    '--shard-size',
    '3',
    '--caption-col',
    'caption',
    '--retries',
    '0',
  ]
  const out = join(fx.dir, 'wds-again-out')
  const round = async () => {
    const r = await runCli(['enqueue', input, ...q('wds-again'), ...shards])
    assert.equal(r.code, 0, r.stderr)
    const w = await runCli(['worker', ...q('wds-again'), '-o', out, '--exit-when-done'])
    assert.equal(w.code, 0, w.stderr)
    return r.stderr
  }
  await round()
  assert.equal((await hyparquetRows(join(out, '00001.parquet')))[1].status, 'failed')
  // The shard's journal, where status points: its tar is the queue folder's, and its rows the
  // input's (3 to 5), so no shard 00000 of its own is missing; it said "0 of 2 sealed; not sealed
  // yet: 00000, 00001" of a published shard.
  const shardStatus = await runCli(['status', join(out, '.imgpull', 'queue', '00001')])
  assert.equal(shardStatus.code, 0, shardStatus.stderr)
  const line = `WebDataset shard 00001 of 3 samples: published (${join(out, '00001.tar')})`
  assert.ok(shardStatus.stdout.includes(line), shardStatus.stdout)
  assert.doesNotMatch(shardStatus.stdout, /not sealed/)
  const untouched = await readFile(join(out, '00000.tar'))
  assert.match(await round(), /1 re-opened to fetch its 1 failed image again/)
  assert.equal((await hyparquetRows(join(out, '00001.parquet')))[1].status, 'success')
  assert.ok(
    (await readFile(join(out, '00000.tar'))).equals(untouched),
    'the shard with no failure is left alone',
  )

  const local = join(fx.dir, 'wds-again-local')
  const alone = await runCli([input, ...shards, '-o', local])
  assert.equal(alone.code, 0, alone.stderr)
  for (const f of ['00000.tar', '00001.tar', '00001.parquet'])
    assert.ok((await readFile(join(out, f))).equals(await readFile(join(local, f))), `${f} differs`)
  const status = await queueStatus('wds-again')
  assert.equal(status.images.ok, 6)
  assert.equal(status.images.failed, 0)
})

test('a worker killed (kill -9) in the middle of a retry round: the next one goes on from the round, and the published shard stays whole meanwhile', async () => {
  const urls = [
    ...Array.from({ length: 3 }, (_, i) => fx.server.url(`/kill-round/${i}.jpg`)),
    // Failed at first; slow the second time, so that the worker is killed while it fetches it.
    fx.server.url('/kill-round/slow.jpg?status=503&times=1&size=40000&drip=8000'),
    fx.server.url('/kill-round/fast.jpg?status=503&times=1'),
  ]
  const input = await list('kill-round.txt', urls)
  const out = join(fx.dir, 'kill-round-out')
  const args = ['--shard-size', '10', '--retries', '0', '-c', '2', '--output-format', 'webdataset']
  const worker = ['worker', ...q('kill-round'), '-o', out, '--exit-when-done', '--lock-duration', '2']
  const enqueue = async () => {
    const r = await runCli(['enqueue', input, ...q('kill-round'), ...args])
    assert.equal(r.code, 0, r.stderr)
  }
  await enqueue()
  assert.equal((await runCli(worker)).code, 0)
  const published = await readFile(join(out, '00000.tar'))
  await enqueue()
  const slow = () => requested('/kill-round/slow')
  const killed = startCli(worker)
  await until('the retry round fetching the slow image', () => slow() === 2)
  await sleep(1000)
  killed.child.kill('SIGKILL')
  await killed.done
  assert.ok(
    (await readFile(join(out, '00000.tar'))).equals(published),
    'the published shard is untouched until the round is',
  )
  const next = await runCli(worker)
  assert.equal(next.code, 0, next.stderr)
  assert.equal(requested('/kill-round/fast'), 2, 'what the killed worker fetched is not fetched again')
  assert.deepEqual(
    (await hyparquetRows(join(out, '00000.parquet'))).map((r) => r.status),
    Array(5).fill('success'),
  )
  assert.equal((await readTar(join(out, '00000.tar'))).length, 10)
  const status = await queueStatus('kill-round')
  assert.deepEqual([status.images.ok, status.images.failed], [5, 0])
})

test('a worker with --exit-when-done started beside an enqueue run again waits for it to end (it re-opens shards late in its input)', async () => {
  const urls = Array.from({ length: 6 }, (_, i) => fx.server.url(`/beside/${i}.jpg`))
  urls[5] = fx.server.url('/beside/busy.jpg?status=503&times=1')
  const args = ['enqueue', '-', ...q('beside'), '--retries', '0', '--shard-size', '1']
  const out = join(fx.dir, 'beside-out')
  assert.equal((await runCli(args, { input: `${urls.join('\n')}\n` })).code, 0)
  assert.equal((await runCli(['worker', ...q('beside'), '-o', out, '--exit-when-done'])).code, 0)
  // The same input again, its end coming late (a slow pipe, a long input read).
  const again = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'ignore', 'pipe'] })
  const ended = new Promise((resolve) => again.on('close', resolve))
  try {
    again.stdin.write(`${urls.slice(0, 3).join('\n')}\n`)
    await sleep(1000)
    const worker = startCli(['worker', ...q('beside'), '-o', out, '--exit-when-done'])
    await sleep(1500)
    again.stdin.end(`${urls.slice(3).join('\n')}\n`)
    assert.equal(await ended, 0)
    const done = await worker.done
    assert.equal(done.code, 0, done.stderr)
    assert.match(done.stderr, /shard 00005: 1 ok/)
  } finally {
    again.kill()
  }
  assert.equal((await queueStatus('beside')).shards.waiting, 0)
})

test('files: a worker killed between the two renames of a republish (the old folder aside) leaves the round whole; the next worker publishes it and removes the old copy', async () => {
  const urls = [fx.server.url('/swap/0.jpg'), fx.server.url('/swap/busy.jpg?status=503&times=1')]
  const input = await list('swap.txt', urls)
  const out = join(fx.dir, 'swap-out')
  const enqueue = () => runCli(['enqueue', input, ...q('swap'), '--retries', '0'])
  const worker = () => runCli(['worker', ...q('swap'), '-o', out, '--exit-when-done'])
  await enqueue()
  await worker()
  assert.match((await enqueue()).stderr, /1 re-opened/)
  // What republish leaves when killed after its first rename: the round's folder made, the old one aside.
  const paths = shardPaths(out, 0)
  assert.equal(await reopen(paths, 'files'), true)
  await rename(paths.folder, `${paths.staging}.replaced`)
  const next = await worker()
  assert.equal(next.code, 0, next.stderr)
  assert.deepEqual(
    (await shardManifests(out)).map((l) => l.status),
    ['ok', 'ok'],
  )
  assert.deepEqual((await readdir(join(out, '.imgpull', 'queue'))).sort(), ['00000.json', 'input.json'])
  assert.equal((await readCounts(paths, 'files'))?.round, 1)
})

test('--retry-failed on a shard a plain enqueue re-opened, still waiting, widens its round to every failure', async () => {
  const urls = [
    fx.server.url('/widen/busy.jpg?status=503&times=1'),
    fx.server.url('/widen/gone.jpg?status=404&times=1'),
  ]
  const input = await list('widen.txt', urls)
  const out = join(fx.dir, 'widen-out')
  const enqueue = (...extra: string[]) =>
    runCli(['enqueue', input, ...q('widen'), '--retries', '0', ...extra])
  const worker = () => runCli(['worker', ...q('widen'), '-o', out, '--exit-when-done'])
  await enqueue()
  await worker()
  assert.match((await enqueue()).stderr, /1 re-opened to fetch its 1 failed image again/)
  assert.match((await enqueue('--retry-failed')).stderr, /1 re-opened to fetch its 2 failed images again/)
  assert.equal((await worker()).code, 0)
  assert.deepEqual(
    (await shardManifests(out)).map((l) => l.status),
    ['ok', 'ok'],
    'the 404 (gone for a moment) is tried again too',
  )
})

test("a re-opened shard's round counts its workers' deaths anew: those of its earlier rounds are not held against it", async () => {
  const input = await list('deaths.txt', [
    fx.server.url('/deaths/0.jpg'),
    fx.server.url('/deaths/busy.jpg?status=503&times=1'),
  ])
  const out = join(fx.dir, 'deaths-out')
  const enqueue = () => runCli(['enqueue', input, ...q('deaths'), '--retries', '0'])
  assert.equal((await enqueue()).code, 0)
  assert.equal((await runCli(['worker', ...q('deaths'), '-o', out, '--exit-when-done'])).code, 0)
  // Three workers died on it in its first round (BullMQ's count, set here to keep the test short):
  // one more death in the new round would have failed it for good at once.
  const client = await openRedis(fx.redis.url)
  try {
    const [jobKey] = await client.keys('imgpull:bullmq:deaths:*-00000')
    await client.hset(jobKey, 'stc', '3')
    const again = await enqueue()
    assert.match(again.stderr, /1 re-opened to fetch its 1 failed image again/)
    assert.equal(await client.hget(jobKey, 'stc'), null)
  } finally {
    client.disconnect()
  }
})

test('WebDataset: a shard published over its own files leaves no temporary beside them (a round whose image fails again; a worker killed before the tar)', async () => {
  // rename() over a link to the same file does nothing (POSIX): the worker's temporary link stayed,
  // 00000.parquet.HOST.PID.tmp beside 00000.parquet, a second copy of the shard's rows in the folder.
  const input = await list('same-files.txt', [
    fx.server.url('/same-files/0.jpg'),
    fx.server.url('/same-files/busy.jpg?status=503&times=100'),
  ])
  const out = join(fx.dir, 'same-files-out')
  const enqueue = () =>
    runCli(['enqueue', input, ...q('same-files'), '--retries', '0', '--output-format', 'webdataset'])
  const worker = () => runCli(['worker', ...q('same-files'), '-o', out, '--exit-when-done'])
  const shardFiles = ['00000.parquet', '00000.tar', '00000_stats.json']
  assert.equal((await enqueue()).code, 0)
  assert.equal((await worker()).code, 0)
  assert.match((await enqueue()).stderr, /1 re-opened to fetch its 1 failed image again/)
  const again = await worker()
  assert.equal(again.code, 0, again.stderr)
  assert.deepEqual((await readdir(out)).filter((f) => f !== '.imgpull').sort(), shardFiles)

  // A worker killed between the Parquet and the tar left them published as links to its staged
  // files; the worker that takes the shard over publishes the same files again.
  const paths = shardPaths(join(fx.dir, 'killed-before-tar'), 2)
  await mkdir(paths.staging, { recursive: true })
  for (const d of paths.dataset) await writeFile(d.from, d.to)
  for (const d of paths.dataset.slice(0, 2)) await link(d.from, d.to)
  assert.equal(await publish(paths, 'webdataset', counts(2, 'next')), true)
  assert.deepEqual(
    (await readdir(join(fx.dir, 'killed-before-tar'))).filter((f) => f !== '.imgpull').sort(),
    ['00002.parquet', '00002.tar', '00002_stats.json'],
  )
})

test("files: a shard found published by a worker killed before it wrote the counts' copy gets that copy, from the folder's own", async () => {
  const input = await list('counts-copy.txt', [
    fx.server.url('/counts-copy/0.jpg'),
    fx.server.url('/counts-copy/1.jpg'),
  ])
  const out = join(fx.dir, 'counts-copy-out')
  assert.equal((await runCli(['enqueue', input, ...q('counts-copy')])).code, 0)
  const worker = () => runCli(['worker', ...q('counts-copy'), '-o', out, '--exit-when-done'])
  assert.equal((await worker()).code, 0)
  const copy = join(out, '.imgpull', 'queue', '00000.json')
  const written = await readFile(copy, 'utf8')
  // As a worker killed between renaming the shard's folder into place and writing the copy leaves
  // it: published, the copy missing, the job not done (its lock lapses; here put back at once).
  await rm(copy)
  const connection = fx.redis.client.duplicate()
  const bull = new Queue('counts-copy', { connection, prefix: BULL_PREFIX })
  try {
    const [job] = await bull.getJobs(['completed'])
    await job.retry('completed')
  } finally {
    await bull.close()
    connection.disconnect()
  }
  const next = await worker()
  assert.equal(next.code, 0, next.stderr)
  assert.match(next.stderr, /shard 00000: already published/)
  assert.equal(await readFile(copy, 'utf8'), written)
})

test("status OUT --failed on a queue's output folder lists every shard's failed URLs in input order (files and WebDataset)", async () => {
  const urls = [
    fx.server.url('/queue-failed/0.jpg?status=404'),
    fx.server.url('/queue-failed/1.jpg'),
    fx.server.url('/queue-failed/2.jpg'),
    fx.server.url('/queue-failed/3.jpg'),
    fx.server.url('/queue-failed/4.jpg?status=410'),
    fx.server.url('/queue-failed/5.jpg?status=404'),
  ]
  const input = await list('queue-failed.txt', urls)
  for (const format of ['files', 'webdataset'] as const) {
    const queue = `queue-failed-${format}`
    const out = join(fx.dir, queue)
    const enqueued = await runCli([
      'enqueue',
      input,
      ...q(queue),
      '--shard-size',
      '2',
      '--output-format',
      format,
    ])
    assert.equal(enqueued.code, 0, enqueued.stderr)
    const worker = await runCli(['worker', ...q(queue), '-o', out, '--exit-when-done'])
    assert.equal(worker.code, 0, worker.stderr)

    // It said "no imgpull journal in OUT", each shard's folder to be given in turn.
    const all = await runCli(['status', out, '--failed'])
    assert.equal(all.code, 0, all.stderr)
    assert.deepEqual(all.stdout.trim().split('\n'), [urls[0], urls[4], urls[5]], format)
    assert.match(
      all.stderr,
      /^imgpull: 3 failed URLs listed \(http-404 ×2, http-410 ×1\) from the 3 shards of queue folder .*queue-failed-/,
    )
    const gone = await runCli(['status', out, '--failed', 'http-404'])
    assert.deepEqual(gone.stdout.trim().split('\n'), [urls[0], urls[5]])
    const typo = await runCli(['status', out, '--failed', '404'])
    assert.equal(typo.code, 2)
    assert.match(
      typo.stderr,
      /the failures here are http-404 ×2, http-410 ×1\); did you mean --failed http-404\?/,
    )

    // Where a newcomer looks first, the way to the list is named.
    const status = await runCli(['status', out])
    assert.equal(status.code, 0, status.stderr)
    assert.match(status.stdout, /: 3 ok \(.*\), 3 failed, 0 not finished$/m)
    assert.match(
      status.stdout,
      /^Every failed URL of a code, one a line: imgpull status .*queue-failed-\S+ --failed CODE$/m,
    )
    const asQueue = await runCli(['status', ...q(queue), '--failed'])
    assert.equal(asQueue.code, 2)
    assert.match(asQueue.stderr, /give the workers' output folder \(imgpull status OUT --failed\)/)
  }
})
