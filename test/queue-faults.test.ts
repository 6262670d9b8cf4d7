import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Queue } from 'bullmq'
import { BULL_PREFIX } from '../src/queue/keys.js'
import { hostLeaseMs } from '../src/queue/worker.js'
import { runCli, startCli } from './support/cli.js'
import { queueFixture } from './support/queue-fixture.js'
import { until } from './support/wait.js'

/** The files the test holds back: a path's answer waits until its gate opens. */
const gates = new Map<string, () => void>()
const held = new Map<string, Promise<void>>()
function hold(path: string) {
  held.set(path, new Promise((resolve) => gates.set(path, resolve)))
}
const fx = queueFixture({ server: { ttfb: 50, hold: (path) => held.get(path) } })
const { q, requested } = fx

for (const fault of ['paused', 'full'] as const)
  test(`Redis ${fault === 'paused' ? 'paused (CLIENT PAUSE)' : 'full (maxmemory, noeviction)'} past --lock-duration just as a shard ends: the shard is done once, not given out again as a dead worker's (another worker with a folder of its own fetched it all again; one sharing the folder found it published, each counting it done)`, async () => {
    const queue = `lapse-${fault}`
    const urls = Array.from({ length: 4 }, (_, i) => fx.server.url(`/${queue}/${i}.jpg`))
    hold(`/${queue}/3.jpg`)
    const list = await fx.list(`${queue}.txt`, urls)
    const e = await runCli(['enqueue', list, ...q(queue), '--shard-size', '4', '-c', '4'])
    assert.equal(e.code, 0, e.stderr)
    const worker = (out: string) =>
      startCli(['worker', ...q(queue), '-o', join(fx.dir, out), '--lock-duration', '1', '--exit-when-done'])
    const a = worker(`${queue}-a`)
    try {
      await until('the shard to be under way, its last image held', () => requested(`/${queue}/`) === 4)
      if (fault === 'paused') {
        // Renewals and the shard's counts wait 3 s; the lock's 1 s runs out meanwhile.
        await fx.redis.client.call('CLIENT', 'PAUSE', '3000', 'WRITE')
        gates.get(`/${queue}/3.jpg`)!()
        await sleep(3500)
      } else {
        await fx.redis.client.config('SET', 'maxmemory', '1')
        gates.get(`/${queue}/3.jpg`)!()
        await until('the shard to be published', () => existsSync(join(fx.dir, `${queue}-a`, '00000')))
        await sleep(2500)
        await fx.redis.client.config('SET', 'maxmemory', '0')
      }
    } finally {
      gates.get(`/${queue}/3.jpg`)!()
      await fx.redis.client.config('SET', 'maxmemory', '0')
    }
    // A worker with an output folder of its own, as on another machine's local disk.
    const b = worker(`${queue}-b`)
    const [ra, rb] = await Promise.all([a.done, b.done])
    assert.equal(ra.code, 0, ra.stderr)
    assert.equal(rb.code, 0, rb.stderr)
    assert.equal(requested(`/${queue}/`), 4, `every image fetched once:\n${ra.stderr}\n${rb.stderr}`)
    assert.ok(
      !existsSync(join(fx.dir, `${queue}-b`, '00000')),
      `fetched again by the other worker:\n${rb.stderr}`,
    )
    assert.doesNotMatch(`${ra.stderr}${rb.stderr}`, /already published/)
    assert.match(ra.stderr, /1 shard done, 0 given back/)
    assert.match(rb.stderr, /0 shards done/)
  })

test("hostLeaseMs: a worker's host slots last its shard's lock, 5 s at least (a dead worker's held the host 30 s whatever --lock-duration, long after its shard was taken over)", () => {
  for (const [lock, lease] of [
    [1_000, 5_000],
    [2_000, 5_000],
    [10_000, 10_000],
    [30_000, 30_000],
    [120_000, 120_000],
  ] as const)
    assert.equal(hostLeaseMs(lock), lease, `--lock-duration ${lock / 1000}`)
})

// BullMQ's obliterate() (a dashboard's button; taskforcesh/bullmq#434), or its keys deleted by
// pattern, takes the shards' jobs and leaves imgpull's own keys: a worker with --exit-when-done found
// nothing left and took the queue for done, exit 0, none of its shards fetched.
test('a queue whose shard jobs were obliterated under it: a worker with --exit-when-done says so, exit 1; enqueuing again adds them', async () => {
  const urls = Array.from({ length: 2 }, (_, i) => fx.server.url(`/obliterated/${i}.jpg`))
  const list = await fx.list('obliterated.txt', urls)
  assert.equal((await runCli(['enqueue', list, ...q('obliterated'), '--shard-size', '1'])).code, 0)
  const queue = new Queue('obliterated', { connection: { port: fx.redis.port }, prefix: BULL_PREFIX })
  await queue.obliterate({ force: true })
  await queue.close()
  const out = join(fx.dir, 'obliterated-out')
  const w = await runCli(['worker', ...q('obliterated'), '-o', out, '--exit-when-done'])
  assert.equal(w.code, 1, w.stderr)
  assert.match(
    w.stderr,
    /^imgpull: queue obliterated holds 0 of the 2 shards its input was enqueued in: the others' jobs are gone from Redis \(imgpull:bullmq:obliterated:\*, deleted or obliterated\); stopping \(--exit-when-done\): run the same enqueue again/m,
  )
  const shown = await runCli(['status', ...q('obliterated')])
  assert.match(
    shown.stdout,
    /^queue obliterated holds 0 of the 2 shards its input was enqueued in: .*: run the same enqueue again to add them$/m,
  )
  assert.equal((await runCli(['enqueue', list, ...q('obliterated')])).code, 0)
  const again = await runCli(['worker', ...q('obliterated'), '-o', out, '--exit-when-done'])
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stderr, /2 shards done/)
})

// BullMQ's Queue.clean(grace, limit, 'completed') removes done jobs (housekeeping: a dashboard's
// "clean completed", a cron: OptimalBits/bull#854, taskforcesh/bullmq#1180): the shards are
// done and published all the same. A queue done and cleaned was said to hold 0 of its 2 shards,
// "deleted or obliterated", and a worker with --exit-when-done exited 1.
test('a done queue whose done jobs were cleaned (Queue.clean): status counts them done, a worker with --exit-when-done exits 0', async () => {
  const urls = Array.from({ length: 2 }, (_, i) => fx.server.url(`/cleaned/${i}.jpg`))
  const list = await fx.list('cleaned.txt', urls)
  assert.equal((await runCli(['enqueue', list, ...q('cleaned'), '--shard-size', '1'])).code, 0)
  const out = join(fx.dir, 'cleaned-out')
  assert.equal((await runCli(['worker', ...q('cleaned'), '-o', out, '--exit-when-done'])).code, 0)
  const queue = new Queue('cleaned', { connection: { port: fx.redis.port }, prefix: BULL_PREFIX })
  assert.equal((await queue.clean(0, 100, 'completed')).length, 2)
  await queue.close()
  const shown = await runCli(['status', ...q('cleaned')])
  assert.match(
    shown.stdout,
    /^shards: 2 done \(2 of them cleaned from BullMQ since: Queue\.clean\), 0 active, 0 waiting, 0 failed, of 2$/m,
  )
  assert.doesNotMatch(shown.stdout, /holds 0 of/)
  const w = await runCli(['worker', ...q('cleaned'), '-o', out, '--exit-when-done'])
  assert.equal(w.code, 0, w.stderr)
})

// A queue paused as BullMQ pauses one (Queue.pause(), a dashboard's button) gives no worker a shard:
// the workers waited, silent, one with --exit-when-done for good, and status showed its shards as
// waiting alone (a paused Bull queue's jobs were shown stuck, or not at all: ShaneK/Matador#21,
// OptimalBits/bull#903).
test('a queue paused by an operator (BullMQ pause): status and the worker say so in one line; resumed, the worker goes on', async () => {
  const urls = Array.from({ length: 2 }, (_, i) => fx.server.url(`/paused/${i}.jpg`))
  const list = await fx.list('paused.txt', urls)
  assert.equal((await runCli(['enqueue', list, ...q('paused'), '--shard-size', '1'])).code, 0)
  const queue = new Queue('paused', { connection: { port: fx.redis.port }, prefix: BULL_PREFIX })
  await queue.pause()
  await queue.close()
  const paused =
    /^(?:imgpull: )?queue paused is paused \(BullMQ's Queue\.pause\(\), a dashboard's pause button\): no worker takes a shard of it until it is resumed \(.*redis-cli HDEL imgpull:bullmq:paused:meta paused\)/m
  const shown = await runCli(['status', ...q('paused')])
  assert.match(shown.stdout, paused)
  assert.equal(JSON.parse((await runCli(['status', ...q('paused'), '--json'])).stdout).paused, true)
  const w = startCli(['worker', ...q('paused'), '-o', join(fx.dir, 'paused-out'), '--exit-when-done'])
  let said = ''
  w.child.stderr!.on('data', (d) => {
    said += d
  })
  await until('the worker to say the queue is paused', () => paused.test(said))
  assert.equal(requested('/paused/'), 0)
  // The way the line gives: the worker takes shards again with no call to BullMQ.
  await fx.redis.client.hdel(`${BULL_PREFIX}:paused:meta`, 'paused')
  const r = await w.done
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stderr, /^imgpull: queue paused is resumed: taking shards again$/m)
  assert.match(r.stderr, /2 shards done/)
  assert.doesNotMatch((await runCli(['status', ...q('paused')])).stdout, /is paused/)
})

// Another program's job put in the queue (a dashboard's "add job", an app sharing the queue's name
// and prefix, every worker of a queue given every job of it, its own or not: OptimalBits/bull#1154) was read as a
// shard: `shard undefined failed: shard data of version undefined`, counted among the shards failed
// for good, the worker with --exit-when-done exiting 1 on a queue whose every shard was done.
test("another program's job in the queue: refused in one line naming it, failed unrun, counted as no shard (exit 0, status of 2 shards)", async () => {
  const urls = Array.from({ length: 2 }, (_, i) => fx.server.url(`/foreign/${i}.jpg`))
  const list = await fx.list('foreign.txt', urls)
  assert.equal((await runCli(['enqueue', list, ...q('foreign'), '--shard-size', '1'])).code, 0)
  const queue = new Queue('foreign', { connection: { port: fx.redis.port }, prefix: BULL_PREFIX })
  const job = await queue.add('send-email', { to: 'a@example.com' })
  await queue.close()
  const words = `job ${job.id} (send-email) in queue foreign is not an imgpull shard (its data holds no shard number: another program's job?): failed, not run, and left in Redis for its owner (imgpull:bullmq:foreign:${job.id}); it counts as no shard of the queue`
  const w = await runCli(['worker', ...q('foreign'), '-o', join(fx.dir, 'foreign-out'), '--exit-when-done'])
  assert.equal(w.code, 0, w.stderr)
  assert.equal(w.stderr.split('\n').filter((line) => line === `imgpull: ${words}`).length, 1, w.stderr)
  assert.doesNotMatch(w.stderr, /undefined/)
  assert.match(w.stderr, /2 shards done, 0 given back, 0 failed attempts/)
  const shown = await runCli(['status', ...q('foreign')])
  assert.match(shown.stdout, /^shards: 2 done, 0 active, 0 waiting, 0 failed, of 2$/m)
  assert.ok(shown.stdout.includes(`\n${words}.\n`), shown.stdout)
  assert.doesNotMatch(shown.stdout, /undefined/)
})

// A queue enqueued into a database of its Redis (`/3`) and a worker or status given the Redis
// without it: the queue was said to hold nothing (naming the queues of database 0), and a worker
// waited for it for good, as Resque's and RQ's did on another database (resque/resque#515,
// rq/django-rq#677).
test('a queue in another database of the Redis given: status and the worker name the database and the --redis to give', async () => {
  const list = await fx.list('in-db3.txt', [fx.server.url('/in-db3/0.jpg')])
  const e = await runCli(['enqueue', list, '--redis', `${fx.redis.url}/3`, '--queue', 'in-db3'])
  assert.equal(e.code, 0, e.stderr)
  const hint = `it is in database 3 of this Redis: give --redis ${fx.redis.url}/3`
  const shown = await runCli(['status', ...q('in-db3')])
  assert.equal(shown.code, 2)
  assert.equal(
    shown.stderr,
    `imgpull: queue in-db3 on ${fx.redis.url} holds nothing: enqueue an input first; ${hint}\n`,
  )
  const w = startCli(['worker', ...q('in-db3'), '-o', join(fx.dir, 'in-db3-out')])
  let said = ''
  w.child.stderr!.on('data', (d) => {
    said += d
  })
  await until('the worker to name the database', () =>
    said.includes(`holds nothing yet: waiting for imgpull enqueue; ${hint}\n`),
  )
  w.child.kill('SIGTERM')
  assert.equal((await w.done).code, 0)
})
