/**
 * Many machines: what the queue costs and gives. Not part of `npm test`; `npm run bench` runs it
 * last, as its `queue` scenario (imgpull alone: no peer has a queue to compare with).
 *
 *   npm run build && node --import tsx bench/queue.ts [--count 4000] [--shard-size 250] [--rows 1000000] [--dir /var/tmp]
 *
 * Starts a real redis-server (test/support/redis.ts) and the tests' image server with 50 ms to first
 * byte, then:
 * 1. latency-bound: `count` small images (20–60 KB) enqueued in shards of `shard-size`, pulled by one
 *    `imgpull worker --concurrency 16`, then (a fresh queue and folder) by two at once; wall time
 *    from the workers' start to their exit (`--exit-when-done`), outputs on disk under `dir`;
 * 2. enqueue throughput: a list of `rows` URLs enqueued (pointers, shards of 10,000), rows/s, and
 *    Redis's `used_memory` before and after (`INFO memory`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { runCli, startCli } from '../test/support/cli.js'
import { startImageServer } from '../test/support/image-server.js'
import { shardManifests, startRedis } from '../test/support/redis.js'

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '4000' },
    'shard-size': { type: 'string', default: '250' },
    rows: { type: 'string', default: '1000000' },
    dir: { type: 'string', default: '/var/tmp' },
  },
})
const count = Number(values.count)
const shardSize = Number(values['shard-size'])
const rows = Number(values.rows)
const dir = mkdtempSync(join(values.dir!, 'imgpull-queue-bench-'))
const redis = await startRedis()
const server = await startImageServer({ ttfb: 50, sizes: [20_000, 60_000], record: false })

async function latencyBound(workers: number): Promise<number> {
  const queue = `bench-${workers}`
  const list = join(dir, `${queue}.txt`)
  // Each run its own URLs: nothing cached, nothing in common.
  writeFileSync(
    list,
    `${Array.from({ length: count }, (_, i) => server.url(`/w${workers}/${i}.jpg`)).join('\n')}\n`,
  )
  const q = ['--redis', redis.url, '--queue', queue]
  const enqueued = await runCli(['enqueue', list, ...q, '--shard-size', String(shardSize)])
  if (enqueued.code !== 0) throw new Error(enqueued.stderr)
  const out = join(dir, `${queue}-out`)
  const started = performance.now()
  const runs = Array.from({ length: workers }, () =>
    startCli(['worker', ...q, '-o', out, '-c', '16', '--exit-when-done', '--quiet']),
  )
  const results = await Promise.all(runs.map((r) => r.done))
  const seconds = (performance.now() - started) / 1000
  for (const r of results) if (r.code !== 0) throw new Error(r.stderr)
  const ok = (await shardManifests(out)).filter((l) => l.status === 'ok').length
  if (ok !== count) throw new Error(`${ok} of ${count} images ok`)
  return seconds
}

const one = await latencyBound(1)
const two = await latencyBound(2)
console.log(
  `latency-bound, ${count} images of 20–60 KB, TTFB 50 ms, shards of ${shardSize}, --concurrency 16 a worker:`,
)
console.log(`  1 worker  ${one.toFixed(2)} s (${Math.round(count / one)} images/s)`)
console.log(
  `  2 workers ${two.toFixed(2)} s (${Math.round(count / two)} images/s): ${(one / two).toFixed(2)}x faster (goal: at least 1.8x)`,
)

const big = join(dir, 'million.txt')
const line = (i: number) => `https://img${i % 1000}.example.com/photos/${i.toString(36)}/image-${i}.jpg`
const chunks: string[] = []
for (let i = 0; i < rows; i++) chunks.push(line(i))
writeFileSync(big, `${chunks.join('\n')}\n`)
const memory = async () => Number(/^used_memory:(\d+)/m.exec(await redis.client.info('memory'))?.[1])
const before = await memory()
const started = performance.now()
const enqueued = await runCli(['enqueue', big, '--redis', redis.url, '--queue', 'million', '--json'])
const seconds = (performance.now() - started) / 1000
if (enqueued.code !== 0) throw new Error(enqueued.stderr)
const result = JSON.parse(enqueued.stdout)
const after = await memory()
console.log(
  `enqueue, ${rows.toLocaleString('en')}-row list (${result.shards} shards of 10,000, pointers): ${seconds.toFixed(2)} s wall including start-up, ${(result.ms / 1000).toFixed(2)} s in enqueue(): ${Math.round((rows * 1000) / result.ms).toLocaleString('en')} rows/s`,
)
console.log(
  `  Redis used_memory ${(before / 1e6).toFixed(2)} MB before, ${(after / 1e6).toFixed(2)} MB after (+${((after - before) / 1e3).toFixed(0)} kB)`,
)

await server.close()
await redis.stop()
rmSync(dir, { recursive: true, force: true })
