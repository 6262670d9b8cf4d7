import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import Database from 'better-sqlite3'
import { givenBackWords, imagesWords } from '../src/cli/worker-command.js'
import { goneWords } from '../src/queue/enqueue.js'
import { lockLossWords, type WorkerSummary } from '../src/queue/worker.js'
import { runCli, startCli } from './support/cli.js'
import { queueFixture } from './support/queue-fixture.js'
import { type RedisServer, shardManifests, startRedis } from './support/redis.js'
import { until } from './support/wait.js'

const fx = queueFixture({ server: { ttfb: 100 } })
const { q, requested } = fx

async function enqueue(queue: string, urls: string[], shardSize: number, ...extra: string[]) {
  const path = join(fx.dir, `${queue}.txt`)
  await writeFile(path, `${urls.join('\n')}\n`)
  const r = await runCli(['enqueue', path, ...q(queue), '--shard-size', String(shardSize), ...extra])
  assert.equal(r.code, 0, r.stderr)
}

/** The index in the server's log just past its `n`th request under /kill/. */
function indexAfter(n: number): number {
  let seen = 0
  for (let i = 0; i < fx.server.log.length; i++)
    if (fx.server.log[i].url.startsWith('/kill/') && ++seen === n) return i + 1
  return fx.server.log.length
}

/** The paths (`/kill/N.jpg`) of the images the journal at `path` holds as downloaded. */
function journaledOkUrls(path: string): Set<string> {
  const db = new Database(path, { readonly: true, fileMustExist: true })
  try {
    db.pragma('busy_timeout = 1000')
    const rows = db.prepare("SELECT url FROM jobs WHERE state = 'ok'").all() as { url: string }[]
    return new Set(rows.map((r) => new URL(r.url).pathname))
  } finally {
    db.close()
  }
}

/** Images the journal at `path` holds as downloaded (0 before it exists, or before its tables do). */
function journaledOk(path: string): number {
  if (!existsSync(path)) return 0
  const db = new Database(path, { readonly: true, fileMustExist: true })
  try {
    db.pragma('busy_timeout = 1000')
    return (db.prepare("SELECT count(*) AS n FROM jobs WHERE state = 'ok'").get() as { n: number }).n
  } catch (error) {
    // Polled while the worker is still making the file: its tables come a moment later.
    if (/no such table/.test((error as Error).message)) return 0
    throw error
  } finally {
    db.close()
  }
}

async function status(queue: string) {
  return JSON.parse((await runCli(['status', ...q(queue), '--json'])).stdout)
}

test('a worker killed mid-shard (kill -9) loses nothing: another takes the shard over when its lock lapses', async () => {
  const urls = Array.from({ length: 40 }, (_, i) => fx.server.url(`/kill/${i}.jpg`))
  await enqueue('kill', urls, 40, '-c', '4')
  const out = join(fx.dir, 'kill-out')
  const first = startCli(['worker', ...q('kill'), '-o', out, '--lock-duration', '1'])
  const journal = join(out, '.imgpull', 'queue', '00000', '.imgpull', 'journal.db')
  // Killed whatever happens: a worker left running would hold the test file open forever.
  await until('the first worker to have journaled 6 images', () => journaledOk(journal) >= 6).finally(() =>
    first.child.kill('SIGKILL'),
  )
  assert.equal((await first.done).signal, 'SIGKILL')
  const byFirst = requested('/kill/')
  const kept = journaledOk(journal)
  const keptUrls = journaledOkUrls(journal)
  const second = await runCli(['worker', ...q('kill'), '-o', out, '--lock-duration', '1', '--exit-when-done'])
  assert.equal(second.code, 0, second.stderr)
  assert.match(second.stderr, /shard 00000: 40 ok/)
  // The worker counts what it fetched; the images the first one left are the shard's, done
  // before: said as such, not counted again as its own (status adds the workers' counts up).
  assert.match(
    second.stderr,
    new RegExp(
      `1 shard done, 0 given back, 0 failed attempts; ${40 - kept} images ok \\(.*\\), ${kept} done before, 0 failed`,
    ),
  )
  const lines = await shardManifests(out)
  assert.deepEqual(lines.map((l) => l.url).sort(), [...urls].sort(), "every URL's outcome once: no duplicate")
  assert.ok(lines.every((l) => l.status === 'ok'))
  // The shared folder's journal kept what the first did: none of it is fetched again. Counted per
  // URL: a request sent again on a fresh connection (the server closed a kept-alive one under
  // load) is no refetch, and the total alone would count it.
  const again = fx.server.log
    .slice(byFirst === 0 ? 0 : indexAfter(byFirst))
    .filter((r) => keptUrls.has(r.url))
  assert.deepEqual(
    again.map((r) => r.url),
    [],
    `${kept} journaled by the first; fetched again by the second: ${again.map((r) => r.url).join(', ')}`,
  )
  assert.deepEqual(
    (await readdir(join(out, '.imgpull', 'queue'))).sort(),
    ['00000.json', 'input.json'],
    'no partial file or work folder left',
  )
  const s = await status('kill')
  assert.deepEqual(s.shards, { waiting: 0, retrying: 0, active: 0, done: 1, failed: 0 })
  // The shard's counts hold all its images' bytes, those the first worker saved too.
  const counts = JSON.parse(await readFile(join(out, '.imgpull', 'queue', '00000.json'), 'utf8'))
  assert.equal(
    counts.bytes,
    lines.reduce((sum, l) => sum + (l.bytes ?? 0), 0),
  )
})

/** Start a worker and kill it (kill -9) once it runs the queue's shard 00000. */
async function killOnShard(queue: string, out: string): Promise<void> {
  const w = startCli(['worker', ...q(queue), '-o', out, '--lock-duration', '1'])
  let said = ''
  w.child.stderr!.on('data', (d) => {
    said += d
  })
  await until('the worker to run shard 00000', () => /shard 00000: \d+ rows/.test(said), 10_000).finally(() =>
    w.child.kill('SIGKILL'),
  )
  await w.done
}

test('a shard its workers keep dying on is failed with a line that says so, by a worker that says it and exits 1; enqueued again, its deaths count anew', async () => {
  const urls = Array.from({ length: 4 }, (_, i) => fx.server.url(`/dies/${i}.jpg?size=20000&drip=40000`))
  await enqueue('dies', urls, 4, '-c', '2')
  const out = join(fx.dir, 'dies-out')
  // Three workers died on it before (killed, out of memory): BullMQ's count of them on the job, set
  // here rather than by three more kills, to keep the test within seconds.
  const [jobKey] = await fx.redis.client.keys('imgpull:bullmq:dies:*-00000')
  await fx.redis.client.hset(jobKey, 'stc', '3')
  await killOnShard('dies', out)
  // The fourth death is one too many: the next worker to take the shard fails it before it runs.
  const next = await runCli(['worker', ...q('dies'), '-o', out, '--lock-duration', '1', '--exit-when-done'])
  assert.equal(next.code, 1, next.stderr)
  const words =
    'the workers running it stopped before its end 4 times (killed, crashed, out of memory, or cut off from Redis past --lock-duration)'
  assert.ok(next.stderr.includes(`imgpull: shard 00000 failed: ${words}`), next.stderr)
  assert.match(next.stderr, /1 failed attempt \(1 failed for good: see imgpull status\)/)
  const shown = await runCli(['status', ...q('dies')])
  assert.ok(shown.stdout.includes(`failed shard 00000: ${words}`), shown.stdout)
  assert.doesNotMatch(shown.stdout, /allowable limit|after 1 attempt/)
  const s = await status('dies')
  assert.equal(s.failures[0].stalled, 4)
  // Put back to try again with its attempts anew: one more death is one, not a fifth.
  const again = await runCli(['enqueue', join(fx.dir, 'dies.txt'), ...q('dies')])
  assert.match(again.stderr, /put back to try again/)
  await killOnShard('dies', out)
  const last = await runCli(['worker', ...q('dies'), '-o', out, '--lock-duration', '1', '--exit-when-done'])
  assert.equal(last.code, 0, last.stderr)
  assert.match(last.stderr, /shard 00000: 4 ok/)
  assert.deepEqual((await status('dies')).shards, { waiting: 0, retrying: 0, active: 0, done: 1, failed: 0 })
})

test("imagesWords: a worker's images, its own earlier attempts' apart from those done before it", () => {
  const base = { ok: 50, bytes: 1000, skipped: 0, ownBefore: 0 } as WorkerSummary
  const cases: [Partial<WorkerSummary>, string][] = [
    [{}, '50 images ok (1.0 kB)'],
    [{ ok: 1, bytes: 20 }, '1 image ok (20 B)'],
    [{ skipped: 10 }, '50 images ok (1.0 kB), 10 done before'],
    [
      { skipped: 10, ownBefore: 10 },
      '50 images ok (1.0 kB; 10 of them fetched by an earlier attempt of its own)',
    ],
    [
      { skipped: 15, ownBefore: 10 },
      '50 images ok (1.0 kB; 10 of them fetched by an earlier attempt of its own), 5 done before',
    ],
  ]
  for (const [given, want] of cases) assert.equal(imagesWords({ ...base, ...given }), want)
})

test('lockLossWords: why a shard was given back on losing its lock; a Redis refusing its renewal is not said as silent', () => {
  assert.equal(
    lockLossWords('silent', 3000),
    'its lock was lost: Redis did not answer for 3 s, --lock-duration',
  )
  assert.equal(
    lockLossWords('refused', 3000),
    "its lock was lost: Redis refused this worker's commands, its lock's renewal too, for 3 s, --lock-duration",
  )
  assert.match(lockLossWords('stalled', 2500), /this worker was held still for over 2\.5 s/)
  assert.match(lockLossWords('taken', 3000), /Redis no longer holds it for this worker/)
})

test('givenBackWords: the shards a worker gave back, with the images it left unfinished in them', () => {
  const cases: [number, number, string][] = [
    [0, 0, '0 given back'],
    [1, 0, '1 given back'],
    [1, 1, '1 given back with 1 image unfinished'],
    [2, 1500, '2 given back with 1,500 images unfinished'],
  ]
  for (const [released, unfinished, want] of cases)
    assert.equal(givenBackWords({ released, unfinished }), want)
})

test("a worker that loses its shard's lock (Redis silent) and takes it again says the images of its first attempt as its own, not as done before", async () => {
  // Three fast images, then three slow ones (10 s each) in flight when Redis falls silent.
  const urls = [0, 1, 2].map((i) => fx.server.url(`/own/${i}.jpg`))
  urls.push(...[3, 4, 5].map((i) => fx.server.url(`/own/${i}.jpg?size=60000&drip=6000`)))
  await enqueue('own', urls, 6, '-c', '6')
  const out = join(fx.dir, 'own-out')
  const journal = join(out, '.imgpull', 'queue', '00000', '.imgpull', 'journal.db')
  const worker = startCli(['worker', ...q('own'), '-o', out, '--lock-duration', '2', '--exit-when-done'])
  const kill = setTimeout(() => worker.child.kill('SIGKILL'), 60_000)
  try {
    // Bounded by the default: the clock starts before the worker does (its start took over 10 s
    // on a loaded machine), and the slow images, asked with the fast ones, drip 10 s after that.
    await until('the fast images to be journaled', () => journaledOk(journal) >= 3)
    // Longer than the lock: the worker stops the shard, and takes it again once Redis answers.
    await fx.redis.client.call('CLIENT', 'PAUSE', '6000', 'ALL')
    const r = await worker.done
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /shard 00000: given back to the queue \(its lock was lost/)
    assert.match(r.stderr, /its lock was lost: Redis did not answer for 2 s, --lock-duration\)/)
    assert.match(
      r.stderr,
      /1 shard done, 1 given back with 3 images unfinished, 0 failed attempts; 6 images ok \([^;]*; 3 of them fetched by an earlier attempt of its own\), 0 failed; [\d.]+ kB received in all, in /,
    )
    assert.doesNotMatch(r.stderr, /done before/)
  } finally {
    clearTimeout(kill)
    worker.child.kill('SIGKILL')
  }
})

test('a worker held still past its lock (SIGSTOP, a paused VM) says it was, not that Redis was unreachable, and takes the shard again', async () => {
  const urls = [0, 1].map((i) => fx.server.url(`/still/${i}.jpg?size=20000&drip=10000`))
  await enqueue('still', urls, 2)
  const worker = startCli([
    'worker',
    ...q('still'),
    '-o',
    join(fx.dir, 'still-out'),
    '--lock-duration',
    '2',
    '--exit-when-done',
  ])
  const kill = setTimeout(() => worker.child.kill('SIGKILL'), 60_000)
  try {
    await until('both transfers to be under way', () => requested('/still/') === 2)
    worker.child.kill('SIGSTOP')
    await sleep(3500)
    worker.child.kill('SIGCONT')
    const r = await worker.done
    assert.equal(r.code, 0, r.stderr)
    // It said "(its lock was lost (Redis unreachable for too long?))": Redis answered all along.
    assert.match(
      r.stderr,
      /shard 00000: given back to the queue \(its lock was lost: this worker was held still for over 2 s, --lock-duration \(stopped, its machine paused or swapping\)\)/,
    )
    assert.match(r.stderr, /1 shard done, 1 given back/)
  } finally {
    clearTimeout(kill)
    worker.child.kill('SIGKILL')
  }
})

test('a worker held still past its lock while another takes its shard (a shared folder): the other waits for the folder, no attempt counted, and the shard is done (the other failed the shard for good with --attempts 1)', async () => {
  const urls = Array.from({ length: 6 }, (_, i) => fx.server.url(`/held/${i}.jpg?size=20000&drip=10000`))
  await enqueue('held', urls, 6, '-c', '6', '--attempts', '1')
  const out = join(fx.dir, 'held-out')
  const args = ['worker', ...q('held'), '-o', out, '--lock-duration', '2', '--exit-when-done']
  const held = startCli(args)
  const kill = setTimeout(() => held.child.kill('SIGKILL'), 90_000)
  let other: ReturnType<typeof startCli> | undefined
  try {
    await until('its transfers to be under way', () => requested('/held/') === 6)
    held.child.kill('SIGSTOP')
    other = startCli(args)
    let said = ''
    other.child.stderr!.on('data', (d) => {
      said += d
    })
    await until(
      'the other to find the folder held',
      () => /is in use by another imgpull run/.test(said),
      20_000,
    )
    held.child.kill('SIGCONT')
    const [h, o] = await Promise.all([held.done, other.done])
    assert.equal(o.code, 0, o.stderr)
    assert.match(
      o.stderr,
      /shard 00000: given back to the queue \(.* is in use by another imgpull run .*; tried again in 2 s, no attempt counted\)/,
    )
    assert.match(h.stderr, /given back to the queue \(its lock was lost: this worker was held still/)
    assert.equal(h.code, 0, h.stderr)
    // Either may finish it: the one held still, awake, takes it again at once.
    assert.match(h.stderr + o.stderr, /shard 00000: 6 ok/)
    assert.equal((await shardManifests(out)).filter((l) => l.status === 'ok').length, 6)
    assert.equal((await status('held')).shards.done, 1)
  } finally {
    clearTimeout(kill)
    held.child.kill('SIGCONT')
    held.child.kill('SIGKILL')
    other?.child.kill('SIGKILL')
  }
})

test('Ctrl-C: the worker finishes its transfers, gives the shard back at once, exits 0 (a stop asked for, done cleanly: see test/queue-exits.test.ts); another finishes it', async () => {
  const urls = Array.from({ length: 40 }, (_, i) => fx.server.url(`/int/${i}.jpg`))
  await enqueue('int', urls, 40, '-c', '4')
  const out = join(fx.dir, 'int-out')
  // A long lock: the shard can only be back in the queue this fast if the worker gave it back.
  const first = startCli(['worker', ...q('int'), '-o', out, '--lock-duration', '60'])
  await until('the worker to be mid-shard', () => requested('/int/') >= 8).catch((error) => {
    first.child.kill('SIGKILL') // a worker left running would hold the test file open forever
    throw error
  })
  first.child.kill('SIGINT')
  const stopped = await first.done
  assert.equal(stopped.code, 0, stopped.stderr)
  assert.match(stopped.stderr, /shard 00000: given back to the queue \(stopped\)/)
  const s = await status('int')
  assert.equal(s.shards.waiting, 1)
  assert.equal(s.shards.active, 0)
  const second = await runCli(['worker', ...q('int'), '-o', out, '--exit-when-done'])
  assert.equal(second.code, 0, second.stderr)
  const lines = await shardManifests(out)
  assert.deepEqual(lines.map((l) => l.url).sort(), [...urls].sort())
  assert.ok(requested('/int/') <= urls.length, 'what the first finished was not fetched again')
})

test('a worker that Redis stops answering stops its shard once its lock has lapsed, not when Redis answers again', async () => {
  // A Redis of its own, killed at the end: its pause is not waited out for the tests after this
  // one (the shared Redis's was: 15 s, where the stop comes in 3).
  const own = await startRedis()
  // Two slow transfers (20 s each): in flight all through Redis's silence, and past the bound
  // the stop is awaited in (their own end is not the stop).
  const urls = [0, 1].map((i) => fx.server.url(`/silent/${i}.jpg?size=60000&drip=3000`))
  const path = join(fx.dir, 'silent.txt')
  await writeFile(path, `${urls.join('\n')}\n`)
  const at = ['--redis', own.url, '--queue', 'silent']
  const enqueued = await runCli(['enqueue', path, ...at, '--shard-size', '2'])
  assert.equal(enqueued.code, 0, enqueued.stderr)
  const worker = startCli(['worker', ...at, '-o', join(fx.dir, 'silent-out'), '--lock-duration', '2'])
  try {
    await until('both transfers to be under way', () => fx.server.stats.inFlight === 2)
    // Every client's commands wait (as behind a network path gone dead): the lock's renewal too.
    // Paused well past the lock (2 s): stopped while it lasts, not once Redis answers again.
    await own.client.call('CLIENT', 'PAUSE', '15000', 'ALL')
    // BullMQ hears of a lapsed lock from Redis alone: the worker ran on, its transfers past their
    // host slots' leases (another worker, taking the shard over, over the per-host limit with it).
    await until('the transfers to be stopped', () => fx.server.stats.inFlight === 0, 13_000)
  } finally {
    worker.child.kill('SIGKILL')
    await worker.done
    await own.stop()
  }
})

test('Redis restarting mid-run: workers reconnect and go on', async () => {
  const urls = Array.from({ length: 60 }, (_, i) => fx.server.url(`/restart/${i}.jpg`))
  await enqueue('restart', urls, 10, '-c', '4')
  const out = join(fx.dir, 'restart-out')
  const workers = [0, 1].map(() => startCli(['worker', ...q('restart'), '-o', out, '--exit-when-done']))
  await until('the workers to be busy', () => requested('/restart/') >= 15)
  await fx.redis.restart(800)
  const results = await Promise.all(workers.map((w) => w.done))
  for (const r of results) assert.equal(r.code, 0, r.stderr)
  assert.ok(
    results.some((r) => /lost Redis at redis:\/\/127\.0\.0\.1:\d+ .*reconnecting/.test(r.stderr)),
    'the outage is reported',
  )
  assert.ok(results.some((r) => /Redis at .* is back: going on/.test(r.stderr)))
  const lines = await shardManifests(out)
  assert.deepEqual(lines.map((l) => l.url).sort(), [...urls].sort(), 'every URL once')
  const s = await status('restart')
  assert.equal(s.shards.done, 6)
})

test("Redis cutting enqueue's connection while it adds shards (a restart, a proxy's reset): enqueue goes on and adds every shard once", async () => {
  // 8,000 shards: 40 batches of pipelines and transactions; a cut midway through one used to fail
  // the whole enqueue (exit 1, "Command aborted due to connection close").
  const path = join(fx.dir, 'enqueue-cut.txt')
  await writeFile(
    path,
    Array.from({ length: 40_000 }, (_, i) => `${fx.server.url(`/ec/${i}.jpg`)}\n`).join(''),
  )
  const run = startCli(['enqueue', path, ...q('enqueue-cut'), '--shard-size', '5', '--json'])
  const waiting = () => fx.redis.client.llen('imgpull:bullmq:enqueue-cut:wait')
  await until('the first shards to be added', async () => (await waiting()) > 0, 20_000)
  let ended = false
  run.done.then(() => {
    ended = true
  })
  for (let i = 0; i < 15 && !ended; i++) {
    await fx.redis.client.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes')
    await sleep(80)
  }
  const r = await run.done
  assert.equal(r.code, 0, r.stderr)
  const result = JSON.parse(r.stdout)
  assert.equal(result.shards, 8000)
  assert.equal(result.added + result.existing, 8000)
  assert.equal(await waiting(), 8000)
  assert.equal(await fx.redis.client.hget('imgpull:enqueue-cut:meta', 'complete'), '1')
})

test('Ctrl-C on enqueue while Redis answers nothing (stopped, hung): it leaves after 10 s, saying what may be missing, where it waited as long as Redis did', async () => {
  // A Redis of its own, killed at the end: the pause is not waited out for the tests after this
  // one (the shared Redis's pause was, 14 s more of the file's time).
  const own = await startRedis()
  const path = join(fx.dir, 'enqueue-mute.txt')
  await writeFile(
    path,
    Array.from({ length: 40_000 }, (_, i) => `${fx.server.url(`/em/${i}.jpg`)}\n`).join(''),
  )
  const run = startCli(['enqueue', path, '--redis', own.url, '--queue', 'enqueue-mute', '--shard-size', '2'])
  const waiting = () => own.client.llen('imgpull:bullmq:enqueue-mute:wait')
  try {
    await until('the first shards to be added', async () => (await waiting()) > 0, 20_000)
    // Every client's commands wait, as on a Redis stopped with SIGSTOP: the batch being added too.
    // Paused well past the 10 s it waits: it leaves while Redis is still silent.
    const pause = 24_000
    await own.client.call('CLIENT', 'PAUSE', String(pause), 'ALL')
    const paused = performance.now()
    run.child.kill('SIGINT')
    const r = await run.done
    assert.equal(r.code, 130, r.stderr)
    assert.ok(performance.now() - paused < 22_000, 'left before Redis answered again')
    assert.match(
      r.stderr,
      /^imgpull: stopped without reaching Redis at redis:\/\/127\.0\.0\.1:\d+: the shards being added when it stopped answering may not be in the queue; run the same command again once it answers \(nothing is added twice\)$/m,
    )
  } finally {
    run.child.kill('SIGKILL')
    await own.stop()
  }
})

/** Run `steps` against a worker of a Redis made full, then empty Redis again (maxmemory 0): the worker's end. */
async function mendedAfter(worker: ReturnType<typeof startCli>, steps: () => Promise<void>) {
  try {
    await steps()
  } catch (error) {
    worker.child.kill('SIGKILL')
    throw error
  } finally {
    await fx.redis.client.config('SET', 'maxmemory', '0')
  }
  return worker.done
}

test('a Redis that refuses writes (full under noeviction): the worker says so once and waits, not asking again thousands of times a second; then goes on', async () => {
  const urls = Array.from({ length: 20 }, (_, i) => fx.server.url(`/full/${i}.jpg`))
  await enqueue('full', urls, 10)
  const out = join(fx.dir, 'full-out')
  const processed = async () =>
    Number(/total_commands_processed:(\d+)/.exec(String(await fx.redis.client.info('stats')))![1])
  await fx.redis.client.config('SET', 'maxmemory', '1')
  const worker = startCli(['worker', ...q('full'), '-o', out, '--exit-when-done'])
  let stderr = ''
  worker.child.stderr!.on('data', (d) => {
    stderr += d
  })
  const r = await mendedAfter(worker, async () => {
    await until('the refusal to be said', () => /refuses this worker's commands \(OOM/.test(stderr), 10_000)
    const before = await processed()
    await sleep(2000)
    const commands = (await processed()) - before
    // BullMQ asks again at once after a refusal: tens of thousands of commands in 2 s.
    assert.ok(commands < 500, `${commands} commands in 2 s while refused`)
  })
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stderr, /it is full \(maxmemory\): raise maxmemory .*; trying again every 5 s/)
  assert.equal(r.stderr.match(/refuses this worker's commands/g)?.length, 1, 'said once')
  assert.match(r.stderr, /takes this worker's commands again: going on/)
  assert.equal((await shardManifests(out)).filter((l) => l.status === 'ok').length, 20)
})

test('a Redis that fills up (maxmemory under noeviction) as a shard ends: the shard is done once Redis takes its counts, not failed (it was failed for good with --attempts 1, its outputs published)', async () => {
  // All four in flight at once, ending a second or so later: Redis is full by then.
  const urls = Array.from({ length: 4 }, (_, i) => fx.server.url(`/fills/${i}.jpg?size=20000&drip=10000`))
  await enqueue('fills', urls, 4, '-c', '4', '--attempts', '1')
  const out = join(fx.dir, 'fills-out')
  const worker = startCli(['worker', ...q('fills'), '-o', out, '--exit-when-done'])
  let stderr = ''
  worker.child.stderr!.on('data', (d) => {
    stderr += d
  })
  const r = await mendedAfter(worker, async () => {
    await until('the transfers to be under way', () => requested('/fills/') === 4)
    await fx.redis.client.config('SET', 'maxmemory', '1')
    await until('the shard to be published', () => existsSync(join(out, '00000', 'manifest.jsonl')), 20_000)
    await until('the refusal to be said', () => /refuses this worker's commands \(OOM/.test(stderr), 10_000)
    await sleep(1000)
  })
  assert.equal(r.code, 0, r.stderr)
  assert.doesNotMatch(r.stderr, /shard 00000 failed/)
  assert.match(r.stderr, /shard 00000: 4 ok/)
  assert.match(r.stderr, /1 shard done, 0 given back, 0 failed attempts/)
  assert.equal((await status('fills')).shards.done, 1)
})

test('a Redis that takes an evicting maxmemory-policy while workers run (CONFIG SET, a failover): each worker says so once, with the fix, and when it is mended', async () => {
  const urls = Array.from({ length: 8 }, (_, i) => fx.server.url(`/evict/${i}.jpg?size=20000&drip=10000`))
  await enqueue('evict', urls, 8, '-c', '2')
  const worker = startCli(['worker', ...q('evict'), '-o', join(fx.dir, 'evict-out'), '--exit-when-done'])
  let stderr = ''
  worker.child.stderr!.on('data', (d) => {
    stderr += d
  })
  try {
    await until('the worker to be mid-shard', () => requested('/evict/') >= 1)
    await fx.redis.client.config('SET', 'maxmemory-policy', 'allkeys-lru')
    await until('the eviction to be said', () => /maxmemory-policy allkeys-lru/.test(stderr), 10_000)
    await sleep(2500)
    await fx.redis.client.config('SET', 'maxmemory-policy', 'noeviction')
    await until('the mend to be said', () => /evicts no keys again/.test(stderr), 10_000)
  } catch (error) {
    worker.child.kill('SIGKILL')
    throw error
  } finally {
    await fx.redis.client.config('SET', 'maxmemory-policy', 'noeviction')
  }
  const r = await worker.done
  assert.equal(r.code, 0, r.stderr)
  assert.match(
    r.stderr,
    /^imgpull: Redis at redis:\/\/127\.0\.0\.1:\d+ evicts keys when memory runs short \(maxmemory-policy allkeys-lru\): queued shards could vanish; set maxmemory-policy noeviction .*; going on meanwhile$/m,
  )
  assert.equal(r.stderr.match(/evicts keys when/g)?.length, 1, 'said once')
  assert.equal((await shardManifests(join(fx.dir, 'evict-out'))).filter((l) => l.status === 'ok').length, 8)
})

test('a worker stops when told to though Redis stays down: it leaves after a while, saying where its shards go', {
  timeout: 60_000,
}, async () => {
  const own = await startRedis()
  const worker = startCli(['worker', '--redis', own.url, '--queue', 'down', '-o', join(fx.dir, 'down-out')])
  let stderr = ''
  worker.child.stderr?.on('data', (d) => {
    stderr += d
  })
  try {
    await until('the worker to wait for shards', () => /taking shards/.test(stderr))
    await own.stop()
    await until('the worker to lose Redis', () => /lost Redis/.test(stderr))
    worker.child.kill('SIGTERM')
    // Sent together, the two are taken in signal-number order: SIGINT first.
    await until('the stop to be acknowledged', () => /Stopping/.test(stderr))
    worker.child.kill('SIGINT')
    const stopped = await worker.done
    assert.equal(stopped.code, 130, stopped.stderr)
    // Said as the SIGTERM it was (it said "press Ctrl-C again" to one from no keyboard).
    assert.match(
      stopped.stderr,
      /^Stopping on SIGTERM: finishing transfers in flight \(up to 10 s\), then giving unfinished shards back; a second SIGTERM or SIGINT stops now\.$/m,
    )
    assert.match(
      stopped.stderr,
      /stopped without reaching Redis; the shards this worker held go back to the queue when their locks lapse/,
    )
  } finally {
    worker.child.kill('SIGKILL')
  }
})

test('Redis back without its data: the worker says the queue is gone and how to put it back', {
  timeout: 60_000,
}, async () => {
  const own = await startRedis()
  const urls = Array.from({ length: 4 }, (_, i) => fx.server.url(`/lost-data/${i}.jpg`))
  const input = join(fx.dir, 'lost-data.txt')
  await writeFile(input, `${urls.join('\n')}\n`)
  const enqueued = await runCli(['enqueue', input, '--redis', own.url, '--queue', 'lost'])
  assert.equal(enqueued.code, 0, enqueued.stderr)
  const worker = startCli(['worker', '--redis', own.url, '--queue', 'lost', '-o', join(fx.dir, 'lost-out')])
  let stderr = ''
  worker.child.stderr?.on('data', (d) => {
    stderr += d
  })
  try {
    await until('the worker to finish the queue', () => /shard 00000: 4 ok/.test(stderr))
    // As a restart of a Redis that keeps nothing: its data gone, its clients cut.
    await own.client.flushall()
    await own.client.client('KILL', 'TYPE', 'normal')
    await until('the worker to say the queue is gone', () => /queue lost is gone from Redis/.test(stderr))
    assert.match(stderr, /run imgpull enqueue again/)
  } finally {
    worker.child.kill('SIGKILL')
    await worker.done
    await own.stop()
  }
})

test("shards a worker finds published (Redis back without its data, the same enqueue again) are not counted as its shards done: the workers' counts add up to the queue's", {
  timeout: 60_000,
}, async () => {
  // bench/queue-scale.ts: after Redis lost its data, two workers said 17 and 26 shards done of 30.
  const own = await startRedis()
  const at = ['--redis', own.url, '--queue', 'found']
  const input = join(fx.dir, 'found.txt')
  await writeFile(
    input,
    `${Array.from({ length: 4 }, (_, i) => fx.server.url(`/found/${i}.jpg`)).join('\n')}\n`,
  )
  const out = join(fx.dir, 'found-out')
  try {
    const enqueue = () => runCli(['enqueue', input, ...at, '--shard-size', '2'])
    assert.equal((await enqueue()).code, 0)
    const first = await runCli(['worker', ...at, '-o', out, '--exit-when-done'])
    assert.equal(first.code, 0, first.stderr)
    assert.match(first.stderr, /: 2 shards done, 0 given back/)
    await own.client.flushall()
    assert.equal((await enqueue()).code, 0)
    const second = await runCli(['worker', ...at, '-o', out, '--exit-when-done'])
    assert.equal(second.code, 0, second.stderr)
    assert.match(second.stderr, /shard 00001: already published/)
    assert.match(
      second.stderr,
      /: 0 shards done, 2 found already published, 0 given back, 0 failed attempts; 0 images ok/,
    )
    const json = await runCli(['worker', ...at, '-o', out, '--exit-when-done', '--json'])
    const summary = JSON.parse(json.stdout.trim().split('\n').at(-1)!).summary as WorkerSummary
    assert.deepEqual([summary.shards, summary.foundPublished], [0, 0])
    const status = await runCli(['status', ...at])
    assert.equal(status.code, 0, status.stderr)
    assert.match(status.stdout, /^shards: 2 done/m)
    assert.match(status.stdout, /: 0 shards done, 2 found already published, 0 ok, 0 failed/)
    const shown = JSON.parse((await runCli(['status', ...at, '--json'])).stdout) as {
      workers: { shards: number; foundPublished?: number }[]
    }
    assert.deepEqual(shown.workers.map((w) => [w.shards, w.foundPublished ?? 0]).sort(), [
      [0, 0],
      [0, 2],
    ])
  } finally {
    await own.stop()
  }
})

/**
 * An enqueue of standard input (3 shards of 2 rows written, more to come) into a Redis of its own,
 * which `cut` takes away once the 3 are in the queue (`write` sends more rows); it must stop, exit
 * 2, its line matching `line` and naming the shards it heard added. Once `mend`ed, the same enqueue with the
 * whole input adds only the other 2.
 */
async function enqueueCutOff(
  queue: string,
  cut: (own: RedisServer, write: (text: string) => void) => Promise<void>,
  mend: (own: RedisServer) => Promise<void>,
  line: RegExp,
) {
  const own = await startRedis()
  const at = ['--redis', own.url, '--queue', queue]
  const rows = Array.from({ length: 10 }, (_, i) => `${fx.server.url(`/${queue}/${i}.jpg`)}\n`)
  const run = startCli(['enqueue', '-', ...at, '--shard-size', '2', '--redis-wait', '10'], {
    keepStdin: true,
  })
  const kill = setTimeout(() => run.child.kill('SIGKILL'), 60_000)
  try {
    run.child.stdin?.write(rows.slice(0, 6).join(''))
    // Added and marked made (the enqueue's last step for a batch, see `madeHere`): waiting for the
    // jobs alone cut Redis off before the marks, and the enqueue, rightly, named 1 shard of 3.
    const made = async () => {
      const ids = await own.client.lrange(`imgpull:bullmq:${queue}:wait`, 0, -1)
      const marks = await Promise.all(
        ids.map((id) => own.client.hget(`imgpull:bullmq:${queue}:${id}`, 'imgpullMade')),
      )
      return marks.filter((m) => m === '1').length
    }
    await until('the first 3 shards to be added', async () => (await made()) === 3, 20_000)
    await cut(own, (text) => run.child.stdin?.write(text))
    const r = await run.done
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, line)
    // The count is what the enqueue heard back: the last mark's answer may still be on its way
    // when Redis goes (the 3 are in the queue all the same, and the rerun finds them).
    const said = new RegExp(
      `stopped; the input's first (\\d) shards? of up to 2 rows (?:is|are) in queue ${queue} \\((\\d) added now, 0 there already\\), the rest may not be: run the same command again once [a-z ]+ to add it \\(nothing is added twice\\)$`,
      'm',
    ).exec(r.stderr)
    assert.ok(said, r.stderr)
    assert.equal(said[1], said[2], r.stderr)
    assert.ok(Number(said[1]) >= 1 && Number(said[1]) <= 3, r.stderr)
    await mend(own)
    const again = await runCli(['enqueue', '-', ...at, '--shard-size', '2', '--json'], {
      input: rows.join(''),
    })
    assert.equal(again.code, 0, again.stderr)
    const result = JSON.parse(again.stdout)
    assert.deepEqual([result.shards, result.added, result.existing], [5, 2, 3])
    assert.equal(await own.client.hget(`imgpull:${queue}:meta`, 'complete'), '1')
  } finally {
    clearTimeout(kill)
    run.child.kill('SIGKILL')
    await own.stop()
  }
}

test('Redis gone mid-enqueue (down past --redis-wait): enqueue stops, exit 2, naming Redis and the shards in the queue; run again once Redis is back, it adds only the rest (it waited for ever)', {
  timeout: 90_000,
}, async () => {
  let down: Promise<void> | undefined
  let mended!: () => void
  const mending = new Promise<void>((resolve) => {
    mended = resolve
  })
  await enqueueCutOff(
    'enqueue-gone',
    async (own) => {
      // SHUTDOWN SAVE, then down until the enqueue has stopped (past --redis-wait, its end
      // checked), not a fixed 16 s: back with its data for the rerun.
      down = own.restart(mending)
    },
    async () => {
      mended()
      await down
    },
    /^imgpull: Redis at --redis redis:\/\/127\.0\.0\.1:\d+ has sent nothing for 10 s \(--redis-wait\): stopped; /m,
  )
})

test('Redis refusing writes mid-enqueue (full: maxmemory under noeviction): enqueue stops at once, exit 2, with the fix and the shards in the queue; run again once mended, it adds only the rest (the line named neither)', {
  timeout: 60_000,
}, async () => {
  await enqueueCutOff(
    'enqueue-full',
    async (own, write) => {
      await own.client.config('SET', 'maxmemory', '1')
      // A shard more (2 rows), for a batch Redis refuses.
      write(`${fx.server.url('/enqueue-full/more-0.jpg')}\n${fx.server.url('/enqueue-full/more-1.jpg')}\n`)
    },
    async (own) => {
      await own.client.config('SET', 'maxmemory', '0')
    },
    /^imgpull: Redis at --redis redis:\/\/127\.0\.0\.1:\d+ refuses imgpull's commands \(OOM [^)]*\): it is full \(maxmemory\): raise maxmemory .*; stopped; /m,
  )
})

test('goneWords: what an enqueue stopped by a silent Redis says it left in the queue', () => {
  const at = 'redis://:secret@h:6379'
  assert.equal(
    goneWords(at, 'q', 300_000, { shards: 0, added: 0, existing: 0, shardSize: 10_000 }),
    'Redis at redis://:***@h:6379 has sent nothing for 300 s (--redis-wait): stopped; no shard of this input is known to be in queue q: run the same command again once it answers (nothing is added twice)',
  )
  assert.match(
    goneWords(at, 'q', 10_000, { shards: 1, added: 0, existing: 1, shardSize: 1 }),
    /; the input's first 1 shard of up to 1 row is in queue q \(0 added now, 1 there already\), the rest/,
  )
  assert.match(
    goneWords(at, 'q', 10_000, { shards: 12_000, added: 2000, existing: 10_000, shardSize: 10_000 }),
    /first 12,000 shards of up to 10,000 rows are in queue q \(2,000 added now, 10,000 there already\)/,
  )
})
