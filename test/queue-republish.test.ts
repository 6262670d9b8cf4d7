import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { shownRedis } from '../src/queue/errors.js'
import { publish, readCounts, shardPaths } from '../src/queue/publish.js'
import { openRedis, redisAddress } from '../src/queue/redis.js'
import type { ShardCounts } from '../src/queue/shard-data.js'
import { cleanup, runCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { type RedisServer, shardManifests, startRedis } from './support/redis.js'

let redis: RedisServer
let server: ImageServer
let dir: string

before(async () => {
  ;[redis, server, dir] = await Promise.all([
    startRedis({ unixSocket: true }),
    startImageServer({ ttfb: 20 }),
    tempDir('imgpull-republish-'),
  ])
})
after(async () => {
  await Promise.all([redis.stop(), server.close(), cleanup(dir)])
})

async function list(name: string, urls: string[]): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, `${urls.join('\n')}\n`)
  return path
}

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

test('a Unix socket is a Redis address in the forms other clients write: a path, unix://, unix:, redis+unix://, redis-socket://', async () => {
  const sock = redis.socket!
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
    openRedis(`unix://${join(dir, 'none.sock')}`),
    /cannot reach Redis at unix:\/\/.*none\.sock \(ENOENT\): is redis-server running with unixsocket .*none\.sock/,
  )
})

test('enqueue, worker and status over a Unix socket', async () => {
  const urls = Array.from({ length: 6 }, (_, i) => server.url(`/sock/${i}.jpg`))
  const input = await list('sock.txt', urls)
  const out = join(dir, 'sock-out')
  const q = ['--redis', `unix://${redis.socket}`, '--queue', 'sock']
  const enqueued = await runCli(['enqueue', input, ...q, '--shard-size', '4'])
  assert.equal(enqueued.code, 0, enqueued.stderr)
  assert.match(enqueued.stderr, /2 added/)
  const worker = await runCli(['worker', ...q, '-o', out, '--exit-when-done'])
  assert.equal(worker.code, 0, worker.stderr)
  assert.equal((await shardManifests(out)).filter((l) => l.status === 'ok').length, 6)
  const status = JSON.parse(
    (await runCli(['status', '--redis', redis.socket!, '--queue', 'sock', '--json'])).stdout,
  )
  assert.equal(status.images.ok, 6)
})
