import assert from 'node:assert/strict'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { enqueue } from '../src/queue/enqueue.js'
import { queueStatus } from '../src/queue/status.js'
import { runWorker } from '../src/queue/worker.js'
import { queueFixture } from './support/queue-fixture.js'

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
