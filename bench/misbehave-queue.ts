/**
 * Many machines under fault: the queue (`imgpull enqueue` / `imgpull worker`) on a real
 * redis-server that restarts (with its data and without), pauses (`CLIENT PAUSE`, `DEBUG SLEEP`,
 * SIGSTOP) past the workers' `--lock-duration`, fills up or takes an evicting policy, and workers
 * killed with `kill -9` mid-shard (a shared output folder, or one each), two enqueues of one list at
 * once while workers wait, a worker whose clock is off, a worker killed holding its host's slots,
 * and `--redis` addresses that cannot work. Each case is modelled on a public report named with it.
 *
 * Every case runs the same list (60 distinct images, shards of 10) with workers `--exit-when-done`
 * and `--lock-duration 2`; a reference queue run by one worker, no fault, gives the shards it must
 * end with. Per case: images kept (distinct images published, of 60), copies (an image published
 * in two places) and corrupt files (bytes the server never sent), whether the published shards are
 * those of the reference (file names and bytes), requests beyond one per image (`again`), the wall
 * time, the workers' exit codes, and the lines they said about the fault.
 *
 *   npm run build && node --import tsx bench/misbehave-queue.ts [--only ID,ID]
 */
import { createHash } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { type CliResult, cleanup, runCli, startCli, tempDir } from '../test/support/cli.js'
import { type ImageServer, startImageServer } from '../test/support/image-server.js'
import { type RedisServer, startRedis } from '../test/support/redis.js'
import { benchArgs, printTable } from './misbehave.js'

const COUNT = 60
const SHARD = 10
const LOCK = ['--lock-duration', '2']

interface Run {
  redis: RedisServer
  server: ImageServer
  dir: string
  /** The case's list (its own paths on the server, the reference's image names). */
  list: string
  /** `--redis URL --queue NAME`. */
  q: string[]
  prefix: string
  enqueue(...extra: string[]): Promise<CliResult>
  worker(out: string, extra?: string[], env?: Record<string, string>): ReturnType<typeof startCli>
  /** Resolves once the server has seen `n` requests of this case. */
  afterRequests(n: number): Promise<void>
}

interface Outcome {
  results: CliResult[]
  outs: string[]
  /** A figure of the case's own, said after the others. */
  note?: string
}

interface QueueCase {
  id: string
  report: string
  redis?: Parameters<typeof startRedis>[0]
  /** The list's URLs' query (a fault of the image server's). */
  query?: (i: number) => string
  run(run: Run): Promise<Outcome>
}

/** Two workers into one shared folder, `fault` run once the server has seen `at` requests. */
async function twoWorkers(
  run: Run,
  at: number,
  fault: () => Promise<void>,
  extra: string[] = [],
): Promise<Outcome> {
  const e = await run.enqueue()
  if (e.code !== 0) throw new Error(e.stderr)
  const out = join(run.dir, 'out')
  const workers = [run.worker(out, extra), run.worker(out, extra)]
  await run.afterRequests(at)
  await fault()
  return { results: await Promise.all(workers.map((w) => w.done)), outs: [out] }
}

function cases(): QueueCase[] {
  return [
    {
      id: 'restart-with-data',
      report:
        'taskforcesh/bullmq#2964 and OptimalBits/bull#1873 (workers that take no job after Redis restarts): `SHUTDOWN SAVE`, back 1 s later with its data',
      run: (r) => twoWorkers(r, 20, () => r.redis.restart(1000)),
    },
    {
      id: 'restart-empty',
      report:
        'OptimalBits/bull#1143 (jobs stop for good once Redis is flushed): `SHUTDOWN NOSAVE`, back empty; then the same enqueue again and one worker',
      async run(r) {
        const first = await twoWorkers(r, 20, () => r.redis.restart(1000, { data: false }))
        const again = await r.enqueue()
        const w = r.worker(first.outs[0]!)
        return { results: [...first.results, again, await w.done], outs: first.outs }
      },
    },
    {
      id: 'client-pause',
      report:
        'taskforcesh/bullmq#3463 (`Missing lock for job ... moveToFinished`, then the job stalled) and OptimalBits/bull#2059 (finished jobs marked stalled): `CLIENT PAUSE 5000 ALL` as shards end, lock 2 s',
      run: (r) =>
        twoWorkers(r, 20, async () => void (await r.redis.client.call('CLIENT', 'PAUSE', '5000', 'ALL'))),
    },
    {
      id: 'debug-sleep',
      report:
        'OptimalBits/bull#1310 (jobs taken for stalled and run on two workers): `DEBUG SLEEP 5`, Redis busy in one command as shards end, lock 2 s',
      redis: { debugCommand: true },
      run: (r) =>
        twoWorkers(r, 20, async () => {
          const c = new Redis(r.redis.url)
          c.on('error', () => {})
          void c
            .call('DEBUG', 'SLEEP', '5')
            .catch(() => {})
            .finally(() => c.disconnect())
        }),
    },
    {
      id: 'redis-sigstop',
      report:
        'redis/ioredis#1924 (a command pending for ever, no error, on a connection that answers nothing): redis-server stopped with SIGSTOP for 6 s, lock 2 s',
      run: (r) =>
        twoWorkers(r, 20, async () => {
          process.kill(r.redis.pid, 'SIGSTOP')
          await sleep(6000)
          process.kill(r.redis.pid, 'SIGCONT')
        }),
    },
    {
      id: 'kill9-shared',
      report:
        "twentyhq/twenty#22518 (a hard-killed worker's job re-run by BullMQ's stalled check): one of two workers `kill -9` at the 15th request, one shared folder",
      async run(r) {
        const e = await r.enqueue()
        if (e.code !== 0) throw new Error(e.stderr)
        const out = join(r.dir, 'out')
        const a = r.worker(out)
        const b = r.worker(out)
        await r.afterRequests(15)
        a.child.kill('SIGKILL')
        return { results: await Promise.all([a.done, b.done]), outs: [out] }
      },
    },
    {
      id: 'kill9-own-folders',
      report:
        'apache/dolphinscheduler#8110 (a task run twice, its data duplicated, after a worker was taken for dead): one of two workers `kill -9` at the 15th request, each worker its own output folder',
      async run(r) {
        const e = await r.enqueue()
        if (e.code !== 0) throw new Error(e.stderr)
        const outs = [join(r.dir, 'out-a'), join(r.dir, 'out-b')]
        const a = r.worker(outs[0]!)
        const b = r.worker(outs[1]!)
        await r.afterRequests(15)
        a.child.kill('SIGKILL')
        return { results: await Promise.all([a.done, b.done]), outs }
      },
    },
    {
      id: 'enqueue-twice-at-once',
      report:
        'taylorchu/work#67 (a job id enqueued again while a worker runs it: lost or run twice): two workers started before any enqueue, then the same `enqueue` twice at once',
      async run(r) {
        const out = join(r.dir, 'out')
        const a = r.worker(out)
        const b = r.worker(out)
        await sleep(1000)
        const [e1, e2] = await Promise.all([r.enqueue(), r.enqueue()])
        return { results: [e1, e2, await a.done, await b.done], outs: [out] }
      },
    },
    {
      id: 'maxmemory-full',
      report:
        "OptimalBits/bull#433 and immich-app/immich#861 (OOM command not allowed when used memory > 'maxmemory'): `maxmemory` set to what is used (noeviction) for 5 s as shards end",
      run: (r) =>
        twoWorkers(r, 20, async () => {
          const info = await r.redis.client.info('memory')
          const used = Number(/^used_memory:(\d+)/m.exec(info)?.[1])
          await r.redis.client.config('SET', 'maxmemory', String(used))
          await sleep(5000)
          await r.redis.client.config('SET', 'maxmemory', '0')
        }),
    },
    {
      id: 'allkeys-lru',
      report:
        'taskforcesh/bullmq#921 and taskforcesh/bullmq#2737 (an evicting policy: locks and jobs can vanish; BullMQ warns `IMPORTANT! Eviction policy is ...`): `CONFIG SET maxmemory-policy allkeys-lru` for 5 s mid-run',
      run: (r) =>
        twoWorkers(r, 20, async () => {
          await r.redis.client.config('SET', 'maxmemory-policy', 'allkeys-lru')
          await sleep(5000)
          await r.redis.client.config('SET', 'maxmemory-policy', 'noeviction')
        }),
    },
    {
      id: 'dead-worker-slots',
      report:
        "procrastinate-org/procrastinate#307 (a killed worker's jobs left taken for ever): `--per-host 2` over two workers, one `kill -9` holding its host slots",
      async run(r) {
        const e = await r.enqueue('--per-host', '2')
        if (e.code !== 0) throw new Error(e.stderr)
        const out = join(r.dir, 'out')
        const before = r.server.stats.maxInFlight
        r.server.stats.maxInFlight = 0
        const a = r.worker(out)
        const b = r.worker(out)
        await r.afterRequests(10)
        a.child.kill('SIGKILL')
        const results = await Promise.all([a.done, b.done])
        const most = r.server.stats.maxInFlight
        r.server.stats.maxInFlight = Math.max(before, most)
        return { results, outs: [out], note: `at most ${most} in flight at the host (--per-host 2)` }
      },
    },
    {
      id: 'clock-ahead',
      report:
        "apache/dolphinscheduler#12170 and apache/pulsar#25310 (delays timed on a client's clock, clocks apart): one worker's clock 10 min ahead; every 5th image answers 429 with Retry-After: 2 once",
      query: (i) => (i % 5 === 0 ? '?status=429&times=1&ra=2' : ''),
      async run(r) {
        const skew = join(r.dir, 'skew.mjs')
        await writeFile(
          skew,
          'const Real = Date; const off = 600000\n' +
            'globalThis.Date = class extends Real { constructor(...a) { if (a.length === 0) super(Real.now() + off); else super(...a) } static now() { return Real.now() + off } }\n',
        )
        const e = await r.enqueue()
        if (e.code !== 0) throw new Error(e.stderr)
        const out = join(r.dir, 'out')
        const a = r.worker(out, [], { NODE_OPTIONS: `--import ${skew}` })
        const b = r.worker(out)
        return { results: await Promise.all([a.done, b.done]), outs: [out] }
      },
    },
    {
      id: 'clock-ahead-os',
      report:
        "as clock-ahead, the worker's whole process 10 min ahead (libfaketime: Date, the process's time origin, its children; the monotonic clock left alone), the other's 10 min behind",
      query: (i) => (i % 5 === 0 ? '?status=429&times=1&ra=2' : ''),
      async run(r) {
        const e = await r.enqueue()
        if (e.code !== 0) throw new Error(e.stderr)
        const out = join(r.dir, 'out')
        const faked = (offset: string) => ({
          LD_PRELOAD: '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
          FAKETIME: offset,
          DONT_FAKE_MONOTONIC: '1',
        })
        const a = r.worker(out, [], faked('+10m'))
        const b = r.worker(out, [], faked('-10m'))
        return { results: await Promise.all([a.done, b.done]), outs: [out] }
      },
    },
    {
      id: 'wrong-db',
      report:
        'redis/ioredis#1213 and GetStream/Winds#534 (ERR DB index is out of range, an unhandled rejection): `--redis redis://host:port/99`',
      async run(r) {
        const results = [
          await runCli(['enqueue', r.list, '--redis', `${r.redis.url}/99`, '--queue', 'x']),
          await runCli(['worker', '--redis', `${r.redis.url}/99`, '--queue', 'x', '-o', join(r.dir, 'out')]),
        ]
        return { results, outs: [] }
      },
    },
    {
      id: 'rediss-to-plain',
      report:
        'redis/ioredis#1924 and redis-rs/redis-rs#1533 (`rediss://` to a server without TLS hangs): `--redis rediss://` to a plain Redis',
      async run(r) {
        const url = r.redis.url.replace('redis://', 'rediss://')
        const results = [
          await runCli(['enqueue', r.list, '--redis', url, '--queue', 'x']),
          await runCli(['worker', '--redis', url, '--queue', 'x', '-o', join(r.dir, 'out')]),
        ]
        return { results, outs: [] }
      },
    },
  ]
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** Every image file of every published shard (`OUT/00012/NAME`) of `outs`: `shard/NAME` → digest. */
async function published(outs: string[]): Promise<{ key: string; digest: string }[]> {
  const files: { key: string; digest: string }[] = []
  for (const out of outs) {
    const entries = await readdir(out).catch(() => [] as string[])
    for (const shard of entries.filter((e) => /^\d{5}$/.test(e)).sort()) {
      for (const name of (await readdir(join(out, shard))).sort()) {
        if (name === 'manifest.jsonl' || name.startsWith('.')) continue
        files.push({ key: `${shard}/${name}`, digest: sha(await readFile(join(out, shard, name))) })
      }
    }
  }
  return files
}

/**
 * What a command said of the fault (its lines about Redis, shards given back or found published,
 * the lock), each once over the case (the ports taken out), and a worker's shards done.
 */
function lines(results: CliResult[]): string {
  const said = new Set<string>()
  const done: string[] = []
  for (const r of results)
    for (const line of r.stderr.split('\n')) {
      const shards = /^worker \S+: (\d+ shards? done(?:, \d+ given back)?)/.exec(line)
      if (shards) done.push(shards[1]!)
      else if (
        /lost Redis|back: going on|gone|given back|refuses|evicts|hung|takes this|already published|did not take the news|not done|database|TLS|cannot reach/.test(
          line,
        )
      )
        said.add(
          line
            .trim()
            .replace(/127\.0\.0\.1:\d+/g, 'HOST')
            .replace(/^shard \d+/, 'shard N')
            .slice(0, 200),
        )
    }
  return [...said, ...(done.length ? [`workers: ${done.join('; ')}`] : [])].join(' / ')
}

async function main() {
  const { only } = benchArgs()
  const all = cases()
  const chosen = only ? all.filter((c) => only.includes(c.id)) : all
  const server = await startImageServer({ ttfb: 300, sizes: [4_000, 12_000] })
  const expected = new Map(Array.from({ length: COUNT }, (_, i) => [sha(server.bytes(`/${i}.jpg`)), i]))

  async function runCase(c: QueueCase | undefined, prefix: string) {
    const redis = await startRedis(c?.redis)
    const dir = await tempDir('imgpull-queue-fault-')
    const list = join(dir, 'list.txt')
    const urls = Array.from({ length: COUNT }, (_, i) =>
      server.url(`/${prefix}/${i}.jpg${c?.query?.(i) ?? ''}`),
    )
    await writeFile(list, `${urls.join('\n')}\n`)
    const q = ['--redis', redis.url, '--queue', 'q']
    const seen = () => server.log.filter((l) => l.url.startsWith(`/${prefix}/`)).length
    const run: Run = {
      redis,
      server,
      dir,
      list,
      q,
      prefix,
      enqueue: (...extra) =>
        runCli(['enqueue', list, ...q, '--shard-size', String(SHARD), '-c', '3', ...extra]),
      worker: (out, extra = [], env) =>
        startCli(['worker', ...q, '-o', out, ...LOCK, '--exit-when-done', ...extra], env ? { env } : {}),
      async afterRequests(n) {
        while (seen() < n) await sleep(20)
      },
    }
    const began = performance.now()
    const outcome = c ? await c.run(run) : await twoWorkersOne(run)
    const seconds = (performance.now() - began) / 1000
    const files = await published(outcome.outs)
    const hits = new Map<string, number>()
    for (const l of server.log.filter((l) => l.url.startsWith(`/${prefix}/`))) {
      const path = l.url.split('?')[0]!
      hits.set(path, (hits.get(path) ?? 0) + 1)
    }
    const again = [...hits.values()].reduce((s, n) => s + n - 1, 0) - (c?.query ? COUNT / 5 : 0)
    await redis.stop()
    await cleanup(dir)
    return { outcome, seconds, files, again }
  }

  /** The reference: one worker, no fault. */
  async function twoWorkersOne(run: Run): Promise<Outcome> {
    const e = await run.enqueue()
    if (e.code !== 0) throw new Error(e.stderr)
    const out = join(run.dir, 'out')
    return { results: [await run.worker(out).done], outs: [out] }
  }

  const reference = await runCase(undefined, 'ref')
  const want = new Map(reference.files.map((f) => [f.key, f.digest]))
  if (reference.files.length !== COUNT)
    throw new Error(`the reference published ${reference.files.length} images`)

  const rows = [
    "| case | kept | copies | corrupt | shards as one worker's | again | time | exits | what the workers said |",
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ]
  for (const c of chosen) {
    const { outcome, seconds, files, again } = await runCase(c, c.id)
    if (process.env.BENCH_VERBOSE)
      for (const r of outcome.results) console.error(`--- exit ${r.code}\n${r.stderr}`)
    const digests = files.map((f) => f.digest)
    const kept = new Set(digests.filter((d) => expected.has(d))).size
    const copies = digests.length - new Set(digests).size
    const corrupt = digests.filter((d) => !expected.has(d)).length
    const byKey = new Map<string, string>()
    for (const f of files) byKey.set(f.key, f.digest)
    const same =
      outcome.outs.length === 0
        ? 'n/a'
        : byKey.size === want.size && [...want].every(([k, d]) => byKey.get(k) === d)
          ? 'yes'
          : 'NO'
    const said = lines(outcome.results).replaceAll('|', '\\|')
    rows.push(
      `| ${c.id} | ${outcome.outs.length ? `${kept}/${COUNT}` : 'n/a'} | ${copies} | ${corrupt} | ${same} | ${again} | ${seconds.toFixed(1)} s | ${outcome.results.map((r) => r.code).join(',')} | ${said}${outcome.note ? ` (${outcome.note})` : ''} |`,
    )
    console.error(rows.at(-1))
  }
  await server.close()
  printTable(rows, chosen)
}

await main()
