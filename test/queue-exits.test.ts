// How a queue worker ends, and what its exit code and last line say: a supervisor (systemd, a
// Kubernetes Job, a shell's `&&`) reads them alone.
import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { workerEnding } from '../src/cli/queue-exits.js'
import { otherQueuesWords } from '../src/queue/keys.js'
import { runCli, startCli } from './support/cli.js'
import { queueFixture } from './support/queue-fixture.js'
import { type RedisServer, startRedis } from './support/redis.js'
import { until } from './support/wait.js'

const fx = queueFixture({ prefix: 'imgpull-exits-' })
const { q, requested } = fx

/** A list of `n` images under `/name/`, each sent in about `seconds`, enqueued as one shard. */
async function enqueue(name: string, n: number, seconds: number, ...extra: string[]): Promise<string> {
  const urls = Array.from({ length: n }, (_, i) =>
    fx.server.url(`/${name}/${i}.jpg?size=${20_000 * seconds}&drip=20000`),
  )
  const input = join(fx.dir, `${name}.txt`)
  await writeFile(input, `${urls.join('\n')}\n`)
  const r = await runCli(['enqueue', input, ...q(name), '--shard-size', String(n), '-c', String(n), ...extra])
  assert.equal(r.code, 0, r.stderr)
  return input
}

/** A worker started on `queue`, its stderr gathered as it comes; killed by `stop` whatever happens. */
function worker(queue: string, out: string, ...extra: string[]) {
  const w = startCli(['worker', ...q(queue), '-o', join(fx.dir, out), '--lock-duration', '1', ...extra])
  let said = ''
  w.child.stderr?.on('data', (d) => {
    said += d
  })
  const kill = setTimeout(() => w.child.kill('SIGKILL'), 45_000)
  return {
    ...w,
    said: () => said,
    done: w.done.finally(() => clearTimeout(kill)),
  }
}

test('a worker that lost its shard\'s lock (held still: SIGSTOP) and whose shard then failed for good on the worker that took it over exits 1 with --exit-when-done, its last line saying why (it exited 0, saying "given back"); so does a worker started on the queue afterwards', async () => {
  const input = await enqueue('lostfail', 2, 4, '--attempts', '1')
  const a = worker('lostfail', 'out-a', '--exit-when-done')
  try {
    await until('both transfers to be under way', () => requested('/lostfail/') === 2)
    // Any run of the shard from now on fails: its input is no longer the file enqueued.
    await writeFile(input, (await readFile(input, 'utf8')).replace('/lostfail/1.jpg', '/lostfail/2.jpg'))
    a.child.kill('SIGSTOP')
    // Another worker takes the shard over once its lock lapsed, and fails it for good (1 attempt).
    const b = await runCli([
      'worker',
      ...q('lostfail'),
      '-o',
      join(fx.dir, 'out-b'),
      '--lock-duration',
      '1',
      '--exit-when-done',
    ])
    assert.equal(b.code, 1, b.stderr)
    assert.match(b.stderr, /shard 00000 failed: input .*lostfail\.txt is not the file that was enqueued/)
    a.child.kill('SIGCONT')
    const r = await a.done
    assert.match(r.stderr, /shard 00000: given back to the queue \(its lock was lost/)
    assert.equal(r.code, 1, r.stderr)
    const last = r.stderr.trimEnd().split('\n').at(-1)
    assert.match(
      last ?? '',
      /^imgpull: queue lostfail is not done: 1 shard failed for good: imgpull status --queue lostfail says why; enqueuing the same input again tries it again: exit 1$/,
    )
  } finally {
    a.child.kill('SIGCONT')
    a.child.kill('SIGKILL')
  }
  // Nothing left to run, but a shard failed for good: the queue is not done (it exited 0).
  const c = await runCli(['worker', ...q('lostfail'), '-o', join(fx.dir, 'out-c'), '--exit-when-done'])
  assert.equal(c.code, 1, c.stderr)
  assert.match(c.stderr, /imgpull: queue lostfail is not done: 1 shard failed for good: .*: exit 1\n$/)
  const json = await runCli([
    'worker',
    ...q('lostfail'),
    '-o',
    join(fx.dir, 'out-c'),
    '--exit-when-done',
    '--json',
  ])
  assert.equal(json.code, 1, json.stderr)
  const { summary } = JSON.parse(json.stdout.trimEnd().split('\n').at(-1)!)
  assert.deepEqual([summary.queueFailed, summary.exitCode], [1, 1])
})

test('a step of the shard after its run that throws (publishing it: a file where its folder goes) is said and counted as a failed attempt, exit 1 (the worker said nothing: "0 failed attempts")', async () => {
  await enqueue('inway', 2, 1, '--attempts', '1')
  const w = worker('inway', 'inway-out', '--exit-when-done')
  try {
    await until('the transfers to be under way', () => requested('/inway/') === 2)
    await writeFile(join(fx.dir, 'inway-out', '00000'), 'not a folder\n')
    const r = await w.done
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /imgpull: shard 00000 failed: ENOTDIR/)
    assert.match(
      r.stderr,
      /0 shards done, 0 given back, 1 failed attempt \(1 failed for good: see imgpull status\)/,
    )
  } finally {
    w.child.kill('SIGKILL')
  }
  const s = JSON.parse((await runCli(['status', ...q('inway'), '--json'])).stdout)
  assert.equal(s.shards.failed, 1)
})

test('the queue deleted under a worker with --exit-when-done: it says so and exits 1 (it waited for good, silent)', async () => {
  await enqueue('deleted', 2, 3)
  const w = worker('deleted', 'deleted-out', '--exit-when-done')
  try {
    await until('the transfers to be under way', () => requested('/deleted/') === 2)
    // As `redis-cli --scan --pattern ... | xargs redis-cli del` would.
    const keys = [
      ...(await fx.redis.client.keys('imgpull:deleted:*')),
      ...(await fx.redis.client.keys('imgpull:bullmq:deleted:*')),
    ]
    await fx.redis.client.del(...keys)
    const r = await w.done
    assert.equal(r.code, 1, r.stderr)
    assert.match(
      r.stderr,
      /imgpull: queue deleted is gone from Redis \(its keys deleted, or Redis came back without its data\): what its shards came to went with it; stopping \(--exit-when-done\)/,
    )
    assert.match(r.stderr, /imgpull: queue deleted is not done: it went from Redis: exit 1\n$/)
  } finally {
    w.child.kill('SIGKILL')
  }
})

test('SIGTERM mid-shard (systemctl stop, docker stop): a worker serving the queue gives its shard back and exits 0 (it exited 130, a failed unit); one with --exit-when-done, a batch cut short, exits 130 saying so', async () => {
  await enqueue('term', 4, 4)
  for (const [extra, code] of [
    [[], 0],
    [['--exit-when-done'], 130],
  ] as const) {
    const before = requested('/term/')
    // Its transfers outlast the grace: cut, the shard given back.
    const w = worker('term', 'term-out', '--grace', '1', ...extra)
    try {
      await until('the transfers to be under way', () => requested('/term/') >= before + 4)
      w.child.kill('SIGTERM')
      const r = await w.done
      assert.equal(r.code, code, r.stderr)
      assert.match(r.stderr, /shard 00000: given back to the queue \(stopped\)/)
      if (code === 130)
        assert.match(
          r.stderr,
          /imgpull: stopped before queue term was done \(--exit-when-done\): exit 130\n$/,
        )
      // Its 4 transfers cut: said, with their bytes (its line said "0 images ok" alone).
      else
        assert.match(
          r.stderr,
          /worker \S+: 0 shards done, 1 given back with 4 images unfinished, 0 failed attempts; .*; [\d.]+ kB received in all, in .*\n$/,
        )
    } finally {
      w.child.kill('SIGKILL')
    }
    // Given back at once, not when its lock lapses.
    const s = JSON.parse((await runCli(['status', ...q('term'), '--json'])).stdout)
    assert.deepEqual([s.shards.waiting, s.shards.active], [1, 0])
    await sleep(100)
  }
  // A second signal stops at once: the shard given back too, exit 130, the last line saying so.
  const before = requested('/term/')
  const w = worker('term', 'term-out')
  try {
    await until('the transfers to be under way', () => requested('/term/') >= before + 4)
    w.child.kill('SIGTERM')
    await until('the stop to be acknowledged', () => /Stopping on SIGTERM/.test(w.said()))
    w.child.kill('SIGINT')
    const r = await w.done
    assert.equal(r.code, 130, r.stderr)
    assert.match(r.stderr, /shard 00000: given back to the queue \(stopped\)/)
    assert.match(r.stderr, /imgpull: stopped at once on a second signal, its transfers cut: exit 130\n$/)
  } finally {
    w.child.kill('SIGKILL')
  }
})

test('workerEnding: the exit code a worker ends with, and the last line that says why', () => {
  const none = { failedForGood: 0 }
  const cases: [
    Parameters<typeof workerEnding>[0],
    Partial<Parameters<typeof workerEnding>[1]>,
    number,
    RegExp?,
  ][] = [
    [none, {}, 0],
    [none, { exitWhenDone: true }, 0],
    [{ failedForGood: 2 }, {}, 0],
    [{ failedForGood: 2 }, { exitWhenDone: true }, 1, /2 shards failed for good \(2 by this worker\)/],
    [
      { failedForGood: 0, queueFailed: 1 },
      { exitWhenDone: true },
      1,
      /1 shard failed for good: .* tries it again/,
    ],
    [{ failedForGood: 0, enqueueStopped: true }, { exitWhenDone: true }, 1, /its enqueue stopped before/],
    [{ failedForGood: 0, queueGone: true }, { exitWhenDone: true }, 1, /it went from Redis/],
    [none, { stop: 'graceful' }, 0],
    [{ failedForGood: 1 }, { stop: 'graceful' }, 0],
    [none, { stop: 'graceful', exitWhenDone: true }, 130, /stopped before queue q was done/],
    [none, { stop: 'hard' }, 130, /^stopped at once on a second signal, its transfers cut: exit 130$/],
    [
      { failedForGood: 0, fatal: new Error('disk full') as never },
      { exitWhenDone: true, stop: 'graceful' },
      3,
    ],
    [
      { failedForGood: 1, redisGone: 10_400 },
      { exitWhenDone: true },
      2,
      /^Redis unreachable for 10 s: what became of queue q is not known: exit 2$/,
    ],
    [
      { failedForGood: 0, redisGone: 10_400, redisSilence: 'closed' },
      { exitWhenDone: true },
      2,
      /^Redis unreachable for 10 s: /,
    ],
    [
      { failedForGood: 0, redisGone: 10_400, redisSilence: 'open' },
      { exitWhenDone: true },
      2,
      /^Redis hung \(its connection open, nothing answered\) for 10 s: what became of queue q is not known: exit 2$/,
    ],
  ]
  for (const [summary, how, code, line] of cases) {
    const ending = workerEnding(summary, { queue: 'q', exitWhenDone: false, stop: undefined, ...how })
    assert.equal(ending.code, code, JSON.stringify([summary, how]))
    if (line) assert.match(ending.line ?? '', line)
    else assert.equal(ending.line, undefined, JSON.stringify([summary, how]))
  }
})

test('enqueue of a table that breaks midway (a quote never closed): the shards before the fault are in the queue (only the first one was), it exits 2 saying so, and status and the workers name the fault rather than "run the same enqueue again"', async () => {
  const rows = Array.from({ length: 50 }, (_, i) => `${fx.server.url(`/broken/${i}.jpg`)},row ${i}`)
  const table = join(fx.dir, 'broken.csv')
  await writeFile(table, `url,caption\n${rows.join('\n')}\n${fx.server.url('/broken/x.jpg')},"never closed\n`)
  const r = await runCli(['enqueue', table, ...q('broken'), '--shard-size', '10'])
  assert.equal(r.code, 2, r.stderr)
  assert.equal(
    r.stderr,
    `imgpull: ${table} line 52: a quote opened in this record is never closed; stopped there: its first 4 shards are in queue broken, the rest is not\n`,
  )
  const shown = await runCli(['status', ...q('broken')])
  assert.match(shown.stdout, /shards: 0 done, 0 active, 4 waiting, 0 failed, of 4/)
  assert.match(
    shown.stdout,
    /Its enqueue stopped at a fault of its input: .*broken\.csv line 52: a quote opened in this record is never closed\. The rest is not in the queue, and the same enqueue stops there again\./,
  )
  const w = await runCli(['worker', ...q('broken'), '-o', join(fx.dir, 'broken-out'), '--exit-when-done'])
  assert.equal(w.code, 1, w.stderr)
  assert.match(
    w.stderr,
    /the enqueue of queue broken stopped at a fault of its input \(.*line 52: .*\), and every shard it added is done: the rest is not in the queue/,
  )
  assert.match(
    w.stderr,
    /imgpull: queue broken is not done: its enqueue stopped before the input's end: exit 1\n$/,
  )
})

/**
 * A worker with --exit-when-done and --lock-duration 1 on a Redis of its own, its 2 transfers under
 * way when `cut` takes Redis away; its end, after `cut`'s own mending (`mend`), whatever happens.
 */
async function workerCutOff(
  queue: string,
  silence: 'open' | 'closed',
  cut: (own: RedisServer) => Promise<void>,
  mend: () => void = () => {},
): Promise<{ code: number | null; stderr: string }> {
  const own = await startRedis()
  const urls = [0, 1].map((i) => fx.server.url(`/${queue}/${i}.jpg?size=200000&drip=20000`))
  const input = join(fx.dir, `${queue}.txt`)
  await writeFile(input, `${urls.join('\n')}\n`)
  const at = ['--redis', own.url, '--queue', queue]
  assert.equal((await runCli(['enqueue', input, ...at])).code, 0)
  const w = startCli([
    'worker',
    ...at,
    '-o',
    join(fx.dir, `${queue}-out`),
    '--lock-duration',
    '1',
    '--exit-when-done',
  ])
  const kill = setTimeout(() => w.child.kill('SIGKILL'), 45_000)
  try {
    await until('the transfers to be under way', () => requested(`/${queue}/`) === 2)
    await cut(own)
    const r = await w.done
    // What a worker stopped by a Redis gone says last (10 lock durations of 1 s).
    assert.equal(r.code, 2, r.stderr)
    assert.match(
      r.stderr,
      silence === 'open'
        ? /imgpull: Redis at redis:\/\/127\.0\.0\.1:\d+ has answered nothing for 1\d s, its connection open \(hung or stopped\) \(10 times --lock-duration\): stopping \(--exit-when-done\)/
        : /imgpull: Redis at redis:\/\/127\.0\.0\.1:\d+ has been unreachable for 1\d s \(10 times --lock-duration\): stopping \(--exit-when-done\)/,
    )
    // Its shard was cut mid-way: said, with the bytes it had received (it said "0 images ok" alone).
    assert.match(
      r.stderr,
      /: 0 shards done, 1 given back with 2 images unfinished, 0 failed attempts; 0 images ok \(0 B\), 0 failed; [\d.]+ kB received in all, in /,
    )
    assert.match(
      r.stderr,
      new RegExp(
        `imgpull: Redis ${silence === 'open' ? 'hung \\(its connection open, nothing answered\\)' : 'unreachable'} for 1\\d s: what became of queue ${queue} is not known: exit 2\\n$`,
      ),
    )
    return r
  } finally {
    clearTimeout(kill)
    w.child.kill('SIGKILL')
    mend()
    await own.stop()
  }
}

/**
 * Each waits out 10 lock durations (10 s) of a Redis of its own gone, idle meanwhile: they run at
 * once, as the refusals of test/queue-refusals.test.ts do.
 */
describe('Redis gone for good under a worker with --exit-when-done', { concurrency: true }, () => {
  test('Redis hung for good under a worker with --exit-when-done (SIGSTOP: the connection stays open, nothing answers): it stops after 10 lock durations, exit 2, saying so (it waited for ever: only a closed connection counted)', {
    timeout: 60_000,
  }, async () => {
    let pid = 0
    await workerCutOff(
      'redis-hung',
      'open',
      async (own) => {
        pid = Number(/^process_id:(\d+)/m.exec(await own.client.info('server'))?.[1])
        process.kill(pid, 'SIGSTOP')
      },
      () => pid > 0 && process.kill(pid, 'SIGCONT'),
    )
  })

  test('Redis gone for good under a worker with --exit-when-done: it stops its shard when its lock lapses, and itself after 10 lock durations, exit 2, saying so (it waited for ever, "reconnecting")', {
    timeout: 60_000,
  }, async () => {
    const r = await workerCutOff('redis-gone', 'closed', (own) => own.stop())
    assert.match(
      r.stderr,
      /shard 00000: given back to the queue \(its lock was lost: Redis did not answer for 1 s/,
    )
  })
})

test('status of a queue that does not exist, and a worker waiting for it: exit 2 / a wait that names the queues Redis holds (a mistyped name was said as a queue not enqueued yet)', async () => {
  await enqueue('laion-part1', 1, 1)
  const typo = await runCli(['status', ...q('laion-prat1')])
  assert.equal(typo.code, 2, typo.stderr)
  assert.match(
    typo.stderr,
    /^imgpull: queue laion-prat1 on redis:\/\/\S+ holds nothing: enqueue an input first; did you mean --queue laion-part1\?\n$/,
  )
  const other = await runCli(['status', ...q('zzz')])
  assert.equal(other.code, 2, other.stderr)
  assert.match(other.stderr, /holds nothing: enqueue an input first; the queues? there: .*laion-part1/)
  const w = worker('laion-prat1', 'typo-out', '--exit-when-done')
  try {
    await until('the worker to wait', () => /holds nothing yet/.test(w.said()))
    await until('its line to end', () => w.said().endsWith('\n'))
    assert.match(
      w.said(),
      /queue laion-prat1 holds nothing yet: waiting for imgpull enqueue; did you mean --queue laion-part1\?\n/,
    )
  } finally {
    w.child.kill('SIGKILL')
  }
})

test('otherQueuesWords: the queue near a name mistyped, or the queues there', () => {
  const cases: [string, string[], string][] = [
    ['q', [], ''],
    ['laion-prat1', ['laion-part1', 'laion-part2'], '; did you mean --queue laion-part1?'],
    ['zzz', ['a1'], '; the queue there: a1'],
    ['zzz', ['a1', 'b1', 'c1', 'd1', 'e1', 'f1'], '; the queues there: a1, b1, c1, d1, e1, … (6 in all)'],
  ]
  for (const [name, names, words] of cases) assert.equal(otherQueuesWords(name, names), words)
})

test('the same input file given twice (./a.csv and a.csv, a folder of tables and a file in it) is refused by enqueue and by a local run, naming it: its rows were each enqueued and fetched twice', async () => {
  const table = join(fx.dir, 'twice.csv')
  await writeFile(table, `url,caption\n${fx.server.url('/twice-given/0.jpg')},a\n`)
  const list = await fx.list('twice-given.txt', [fx.server.url('/twice-given/1.jpg')])
  const cases: { args: string[]; said: RegExp }[] = [
    {
      args: ['enqueue', table, `${fx.dir}/sub/../twice.csv`, ...q('twice-given')],
      said: /^imgpull: the same file is given twice, as '.*twice\.csv' and '.*sub\/\.\.\/twice\.csv': its rows would be read twice, each a sample of its own fetched and kept twice; give it once/,
    },
    {
      args: ['enqueue', fx.dir, table, ...q('twice-given')],
      said: /the same file is given twice, as '.*twice\.csv' in folder '.*' and '.*twice\.csv'/,
    },
    {
      args: ['enqueue', list, list, ...q('twice-given')],
      said: /^imgpull: '.*twice-given\.txt' is given twice: its URLs would be read twice \(enqueued, each fetched twice\); give it once/,
    },
    {
      args: [table, table, '-o', join(fx.dir, 'twice-out')],
      said: /'.*twice\.csv' is given twice: its rows/,
    },
  ]
  await mkdir(join(fx.dir, 'sub'), { recursive: true })
  for (const { args, said } of cases) {
    const r = await runCli(args)
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, said)
  }
  // Nothing was enqueued, nor fetched.
  const status = await runCli(['status', ...q('twice-given')])
  assert.match(status.stderr, /holds nothing/)
  assert.equal(requested('/twice-given/'), 0)
})
