// A Redis that answers but refuses the queue's commands for good, while workers run: a password
// changed (WRONGPASS, NOAUTH), an ACL user that loses its keys (NOPERM), a primary turned into a
// read-only replica (READONLY). A worker with --exit-when-done (a batch job) waited for ever.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { workerEnding } from '../src/cli/queue-exits.js'
import { runCli, startCli } from './support/cli.js'
import { freePort } from './support/ports.js'
import { queueFixture } from './support/queue-fixture.js'
import { type RedisServer, startRedis } from './support/redis.js'
import { until } from './support/wait.js'

const fx = queueFixture({ prefix: 'imgpull-refusals-' })

/**
 * Enqueue two shards on a Redis of its own (the first quick, the second slow), start a worker with
 * --exit-when-done and --lock-duration 1 (a Redis gone is given 10 s), `cut` Redis once the first
 * shard is published, and return the worker's end, its first shard's manifest as published, and
 * the same manifest at the end.
 */
async function refusedUnder(
  queue: string,
  cut: (own: RedisServer) => Promise<void>,
  options: { user?: { name: string; password: string }; passingMs?: number; slowBytes?: number } = {},
) {
  const own = await startRedis()
  // The second shard's images: 20 s each by default, in flight when `cut` comes.
  const slow = options.slowBytes ?? 400_000
  const urls = [
    fx.server.url(`/${queue}/0.jpg`),
    fx.server.url(`/${queue}/1.jpg`),
    fx.server.url(`/${queue}/2.jpg?size=${slow}&drip=20000`),
    fx.server.url(`/${queue}/3.jpg?size=${slow}&drip=20000`),
  ]
  const input = join(fx.dir, `${queue}.txt`)
  await writeFile(input, `${urls.join('\n')}\n`)
  const url = options.user ? await aclUser(own, options.user) : own.url
  const at = ['--redis', url, '--queue', queue]
  const enqueued = await runCli(['enqueue', input, ...at, '--shard-size', '2'])
  assert.equal(enqueued.code, 0, enqueued.stderr)
  const out = join(fx.dir, `${queue}-out`)
  const w = startCli(['worker', ...at, '-o', out, '--lock-duration', '1', '--exit-when-done'])
  let stderr = ''
  w.child.stderr!.on('data', (d) => {
    stderr += d
  })
  const kill = setTimeout(() => w.child.kill('SIGKILL'), 45_000)
  const manifest = join(out, '00000', 'manifest.jsonl')
  try {
    await until(
      'the first shard to be published',
      () => existsSync(manifest) && /shard 00001/.test(stderr),
      30_000,
    )
    const published = await readFile(manifest, 'utf8')
    await cut(own)
    const r = await w.done
    return { r, published, now: await readFile(manifest, 'utf8'), own }
  } finally {
    clearTimeout(kill)
    w.child.kill('SIGKILL')
    await own.stop()
  }
}

/** An ACL user of `own` with every right, and the URL a worker logs in to it with as that user. */
async function aclUser(own: RedisServer, { name, password }: { name: string; password: string }) {
  await own.client.call('ACL', 'SETUSER', name, 'on', `>${password}`, '~*', '&*', '+@all')
  return `redis://${name}:${password}@127.0.0.1:${own.port}`
}

/** What a worker stopped by a refusal says: its exit and its last line. */
function assertStoppedByRefusal(r: { code: number | null; stderr: string }, queue: string, refusal: RegExp) {
  assert.equal(r.code, 2, r.stderr)
  const lines = r.stderr.trimEnd().split('\n')
  const last = lines.at(-1)!
  assert.match(
    last,
    /^imgpull: Redis at redis:\/\/\S+ has refused this worker's commands for 1\d s \(/,
    r.stderr,
  )
  assert.match(last, refusal, r.stderr)
  assert.match(last, new RegExp(`what became of queue ${queue} is not known: exit 2$`), r.stderr)
  // Said once while it ran (with the fix), not on every try.
  assert.equal(r.stderr.match(/refuses this worker's commands/g)?.length, 1, r.stderr)
}

/**
 * Each of these starts a Redis of its own and a worker that waits out 10 lock durations (10 s) of
 * refusals, idle meanwhile: they run at once (52 s one after another in CI).
 */
describe('a Redis that refuses a worker with --exit-when-done', { concurrency: true }, () => {
  test('a password set on Redis while a worker with --exit-when-done runs (its connections reset): it stops after 10 lock durations, one line naming Redis and NOAUTH, exit 2 (it waited for ever); the shard it published stays', {
    timeout: 120_000,
  }, async () => {
    const { r, published, now } = await refusedUnder('nopass', async (own) => {
      await own.client.config('SET', 'requirepass', 'changed')
      // A restart, a failover or an admin's CLIENT KILL: the connections open again, and are refused.
      await own.client.call('CLIENT', 'KILL', 'TYPE', 'normal')
    })
    assertStoppedByRefusal(r, 'nopass', /NOAUTH .*it wants a password now/)
    assert.equal(now, published)
  })

  test('a password changed for the ACL user a worker logs in as (WRONGPASS): it stops, naming the user and the refusal, exit 2', {
    timeout: 120_000,
  }, async () => {
    const { r, published, now } = await refusedUnder(
      'wrongpass',
      async (own) => {
        await own.client.call('ACL', 'SETUSER', 'bob', 'resetpass', '>other')
        await own.client.call('CLIENT', 'KILL', 'USER', 'bob')
      },
      { user: { name: 'bob', password: 'first' } },
    )
    assertStoppedByRefusal(r, 'wrongpass', /WRONGPASS .*it refuses user bob's password/)
    assert.doesNotMatch(r.stderr, /first/, 'the password is not shown')
    assert.equal(now, published)
  })

  test('an ACL user that loses its keys while a worker runs (NOPERM): it stops, naming the user and the fix, exit 2', {
    timeout: 120_000,
  }, async () => {
    const { r, published, now } = await refusedUnder(
      'noperm',
      async (own) => {
        await own.client.call('ACL', 'SETUSER', 'carol', 'resetkeys')
      },
      { user: { name: 'carol', password: 'pw' } },
    )
    assertStoppedByRefusal(r, 'noperm', /NOPERM .*user carol/)
    assert.equal(now, published)
  })

  test('a Redis turned into a read-only replica while a worker runs (REPLICAOF, a failover gone wrong): it stops, naming READONLY and the fix, exit 2', {
    timeout: 120_000,
  }, async () => {
    // A primary that is not there: the replica keeps its data and refuses writes.
    const nowhere = await freePort()
    const { r, published, now } = await refusedUnder('readonly', async (own) => {
      await own.client.call('REPLICAOF', '127.0.0.1', String(nowhere))
    })
    assertStoppedByRefusal(r, 'readonly', /READONLY .*read-only replica/)
    assert.equal(now, published)
  })

  test('a refusal that passes (a password set, then taken back within a few seconds) is waited out as before: the queue is done, exit 0', {
    timeout: 120_000,
  }, async () => {
    const { r } = await refusedUnder(
      'passing',
      async (own) => {
        await own.client.config('SET', 'requirepass', 'changed')
        await own.client.call('CLIENT', 'KILL', 'TYPE', 'normal')
        await sleep(4000)
        // The test's own connection was not reset (CLIENT KILL skips its caller).
        await own.client.config('SET', 'requirepass', '')
      },
      // Its slow images are fetched again once the refusal has passed (the shard's lock lapsed
      // meanwhile), and to the end: 6 s each, still in flight through the 4 s refusal, not 20.
      { slowBytes: 120_000 },
    )
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /refuses this worker's commands \(NOAUTH/)
    assert.match(r.stderr, /2 shards done|1 shard done/)
  })
})

test("a shard whose folder stays held by another live run: the worker's log and status name the folder and its holder, and it is never failed for it (status said only 'to retry')", {
  timeout: 120_000,
}, async () => {
  const queue = 'held'
  const urls = [0, 1].map((i) => fx.server.url(`/${queue}/${i}.jpg`))
  const input = join(fx.dir, `${queue}.txt`)
  await writeFile(input, `${urls.join('\n')}\n`)
  assert.equal((await runCli(['enqueue', input, ...fx.q(queue), '--attempts', '1'])).code, 0)
  const out = join(fx.dir, `${queue}-out`)
  // Another run alive in the shard's work folder (a worker held still past its lock runs there).
  const holderList = join(fx.dir, 'holder.txt')
  await writeFile(holderList, `${fx.server.url('/holder/0.jpg?size=2000000&drip=20000')}\n`)
  const holder = startCli([holderList, '-o', join(out, '.imgpull', 'queue', '00000')])
  const w = startCli(['worker', ...fx.q(queue), '-o', out, '--lock-duration', '1', '--exit-when-done'])
  let stderr = ''
  w.child.stderr!.on('data', (d) => {
    stderr += d
  })
  try {
    await until('the holder to fetch', () => fx.requested('/holder/') === 1)
    await until(
      'the shard to be given back twice',
      () => stderr.match(/given back to the queue/g)?.length === 2,
      30_000,
    )
    const pid = holder.child.pid
    assert.match(
      stderr,
      new RegExp(
        `shard 00000: given back to the queue \\(.*00000 is in use by another imgpull run \\(pid ${pid} on `,
      ),
    )
    const shown = await runCli(['status', ...fx.q(queue)])
    assert.equal(shown.code, 0, shown.stderr)
    assert.match(
      shown.stdout,
      new RegExp(
        `^  shard 00000 waits for its folder: .*00000 is in use by another imgpull run \\(pid ${pid} on .*\\(given back by \\S+ (just now|\\d s ago); tried again every 1 s, no attempt counted, until it is free\\)$`,
        'm',
      ),
      shown.stdout,
    )
    const json = JSON.parse((await runCli(['status', ...fx.q(queue), '--json'])).stdout)
    assert.equal(json.held.length, 1)
    assert.equal(json.held[0].shard, 0)
    assert.equal(json.shards.failed, 0, 'never failed for it, with --attempts 1')
  } finally {
    holder.child.kill('SIGKILL')
    w.child.kill('SIGKILL')
  }
})

test("a shard that waited for its folder and was then found published (the holder published it): its 'waits for its folder' entry goes, not left for status to show if it waits again", {
  timeout: 120_000,
}, async () => {
  const queue = 'held-published'
  const urls = [0, 1].map((i) => fx.server.url(`/${queue}/${i}.jpg`))
  const input = join(fx.dir, `${queue}.txt`)
  await writeFile(input, `${urls.join('\n')}\n`)
  assert.equal((await runCli(['enqueue', input, ...fx.q(queue), '--attempts', '1'])).code, 0)
  const out = join(fx.dir, `${queue}-out`)
  const holderList = join(fx.dir, `${queue}-holder.txt`)
  await writeFile(holderList, `${fx.server.url(`/${queue}-holder/0.jpg?size=2000000&drip=20000`)}\n`)
  const holder = startCli([holderList, '-o', join(out, '.imgpull', 'queue', '00000')])
  const w = startCli(['worker', ...fx.q(queue), '-o', out, '--lock-duration', '1', '--exit-when-done'])
  let stderr = ''
  w.child.stderr!.on('data', (d) => {
    stderr += d
  })
  try {
    await until('the holder to fetch', () => fx.requested(`/${queue}-holder/`) === 1)
    await until('the shard to be given back', () => /given back to the queue/.test(stderr), 30_000)
    assert.deepEqual(Object.keys(await fx.redis.client.hgetall(`imgpull:${queue}:held`)), ['0'])
    // The holder publishes the shard (a worker held still past its lock that wakes), then ends.
    await mkdir(join(out, '00000'))
    holder.child.kill('SIGKILL')
    const r = await w.done
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /shard 00000.*already published|1 shard done/, r.stderr)
    assert.deepEqual(await fx.redis.client.hgetall(`imgpull:${queue}:held`), {})
  } finally {
    holder.child.kill('SIGKILL')
    w.child.kill('SIGKILL')
  }
})

test('workerEnding: a Redis that refused a worker for good ends it with 2, its line the refusal and its fix, before any stop asked for', () => {
  const words =
    "Redis at redis://h:6379 has refused this worker's commands for 300 s (READONLY You can't write against a read only replica.): it is a read-only replica (after a failover?): point --redis at the primary"
  const base = { failedForGood: 0, redisRefused: { ms: 300_000, words } }
  for (const stop of [undefined, 'graceful', 'hard'] as const)
    assert.deepEqual(workerEnding(base, { queue: 'q', exitWhenDone: true, stop }), {
      code: 2,
      line: `${words}: what became of queue q is not known: exit 2`,
    })
  assert.equal(
    workerEnding({ failedForGood: 0 }, { queue: 'q', exitWhenDone: true, stop: undefined }).code,
    0,
  )
})
