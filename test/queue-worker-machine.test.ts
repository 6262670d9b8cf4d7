import assert from 'node:assert/strict'
import { rename } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { enqueue } from '../src/queue/enqueue.js'
import { queueStatus } from '../src/queue/status.js'
import { runWorker } from '../src/queue/worker.js'
import { runCli, startCli } from './support/cli.js'
import { queueFixture } from './support/queue-fixture.js'
import { until } from './support/wait.js'

const fx = queueFixture()

// A worker restarted in place has the host name and pid of the one that died: a container run again
// (Kubernetes after an OOM kill keeps the pod's name as its host name; `docker restart`,
// `restart: always`), its program pid 1 again. RQ's workers were named so and refused to start
// ("There exists an active worker named '4781ae60cd1b.26' already": rq/rq#1026); oxana's restarted
// worker beat under the dead one's name, which was never found dead (pragmaplatform/oxana#154). Two
// workers of one process here are such a pair: same host, same pid.
test('a worker with the host name and pid of an earlier one (restarted in place) is listed apart, not over it', async () => {
  const urls = Array.from({ length: 4 }, (_, i) => fx.server.url(`/again/${i}.jpg`))
  const input = await fx.list('again.txt', urls)
  await enqueue([input], { redis: fx.redis.url, queue: 'again', shardSize: 2 })
  const out = join(fx.dir, 'again-out')
  // The first one ends after one shard (a stop, as a kill would end it); the second does the rest.
  const stop = new AbortController()
  const first = await runWorker({
    redis: fx.redis.url,
    queue: 'again',
    out,
    drainSignal: stop.signal,
    onEvent: (e) => {
      if (e.type === 'done') stop.abort()
    },
  })
  const second = await runWorker({ redis: fx.redis.url, queue: 'again', out, exitWhenDone: true })
  assert.deepEqual([first.shards, second.shards], [1, 1])
  assert.notEqual(second.worker, first.worker, 'each its own name')
  assert.equal(first.worker, `${hostname()}-${process.pid}`, 'the first keeps the plain one')
  const status = await queueStatus(fx.redis.url, 'again')
  assert.deepEqual(
    status.workers.map((w) => [w.id, w.shards, w.ok]).sort(),
    [
      [first.worker, 1, 2],
      [second.worker, 1, 2],
    ].sort(),
    "the earlier worker's shards and images stay listed: the workers' shards add up to the queue's",
  )
})

// BullMQ times a failed shard's retry (--backoff) on the failing worker's clock and gives delayed
// shards out on the asking worker's (Date.now(), not Redis's TIME): a worker 1 h ahead that failed
// an attempt left the shard waiting an hour more, the others (with --exit-when-done) silent as long,
// as delays timed by a client's clock did elsewhere (apache/dolphinscheduler#12170,
// apache/pulsar#25310). The worker reads Redis's clock with each heartbeat: it says so, once.
test("a worker whose machine's clock is an hour ahead of Redis's says so, once, with what it moves and the fix", async () => {
  const input = await fx.list('ahead.txt', [fx.server.url('/ahead/0.jpg')])
  const enqueued = await runCli(['enqueue', input, ...fx.q('ahead')])
  assert.equal(enqueued.code, 0, enqueued.stderr)
  const worker = await runCli(
    ['worker', ...fx.q('ahead'), '-o', join(fx.dir, 'ahead-out'), '--exit-when-done', '--quiet'],
    { env: { LD_PRELOAD: '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', FAKETIME: '+1h' } },
  )
  assert.equal(worker.code, 0, worker.stderr)
  const said = worker.stderr.split('\n').filter((l) => l.includes('clock'))
  assert.equal(said.length, 1, worker.stderr)
  assert.match(
    said[0],
    /^imgpull: warning: this machine's clock is 1h00m ahead of the clock of Redis at redis:\/\/127\.0\.0\.1:\d+: .*a shard whose attempt fails here waits 1h00m more than its --backoff .*; set this machine's clock \(NTP/,
  )
  const near = await runCli(['worker', ...fx.q('ahead'), '-o', join(fx.dir, 'ahead-out'), '--exit-when-done'])
  assert.doesNotMatch(near.stderr, /clock/, 'a clock that agrees is not spoken of')
})

test('status says when the first shard to retry is due: one failed by a worker an hour ahead waits an hour', async () => {
  const input = await fx.list('late.txt', [fx.server.url('/late/0.jpg')])
  const enqueued = await runCli(['enqueue', input, ...fx.q('late'), '--backoff', '1'])
  assert.equal(enqueued.code, 0, enqueued.stderr)
  await rename(input, `${input}.away`) // its attempt fails: the input is not where enqueue read it
  const worker = startCli(['worker', ...fx.q('late'), '-o', join(fx.dir, 'late-out'), '--quiet'], {
    env: { LD_PRELOAD: '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', FAKETIME: '+1h' },
  })
  try {
    await until(
      'its attempt failed',
      async () => (await queueStatus(fx.redis.url, 'late')).shards.retrying === 1,
    )
  } finally {
    worker.child.kill('SIGKILL')
    await worker.done
  }
  const status = await runCli(['status', ...fx.q('late')])
  assert.match(
    status.stdout,
    /^shards: 0 done, 0 active, 1 waiting \(1 to retry, the first in (59m\d\ds|1h00m)\)/m,
  )
})

// `status` lists each worker from its last heartbeat, every 2 s: two workers on a queue of three
// shards were seen with one named on shard 00000, "0 shards done", while that shard was done and
// the worker ran shard 00002. A worker beats as it takes a shard and as it ends one.
test("a worker's heartbeat names the shard it took and the shards it did at once, not at its next beat", async () => {
  const input = await fx.list('beat.txt', [
    fx.server.url('/beat/0.jpg'),
    fx.server.url('/beat/1.jpg?size=40000&drip=2000'),
  ])
  await enqueue([input], { redis: fx.redis.url, queue: 'beat', shardSize: 1 })
  const stop = new AbortController()
  let first = false
  const worker = runWorker({
    redis: fx.redis.url,
    queue: 'beat',
    out: join(fx.dir, 'beat-out'),
    signal: stop.signal,
    heartbeatMs: 600_000,
    onEvent: (e) => {
      if (e.type === 'done') first = true
    },
  })
  try {
    await until('the first shard done', () => first)
    let seen: { running: number[]; shards: number } | undefined
    await until(
      'the heartbeat names shard 1 and one shard done',
      async () => {
        seen = (await queueStatus(fx.redis.url, 'beat')).workers[0]
        return seen?.shards === 1 && seen.running.join() === '1'
      },
      10_000,
    ).catch(() => assert.fail(`the heartbeat says ${JSON.stringify(seen)}`))
  } finally {
    stop.abort()
    await worker
  }
})
