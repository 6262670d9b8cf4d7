/**
 * Many machines at an ML team's scale, tried for real: a Parquet table of `rows` rows (default
 * 300,000) whose URLs spread over 20 loopback hosts (127.0.0.11–30, one port) serving tiny distinct
 * JPEGs with faults mixed in, written as WebDataset shards by one `imgpull` run and then by
 * `imgpull enqueue` and workers on a real `redis-server` (append-only file on, as the README
 * advises), one shared output folder, with, mid-run: a worker `kill -9`, a third one started,
 * Redis restarted with its data and then without, a worker stopped by SIGINT. Then compares the
 * two folders file by file, checks every row once and every failure's code, the per-host limit over
 * all workers (the server counts in flight per host), `imgpull status` during and after, Redis's
 * `used_memory`, and each run's peak RSS and wall (GNU time).
 *
 *   npm run build && node --import tsx bench/queue-scale.ts [--rows 300000] [--shard-size 10000] [--per-host 8] [--dir /var/tmp]
 *
 * Faults, by row `i`: `i % 100` 0–2 answer 404; 3–5 answer 500 once, then the image; 6–7 an HTML
 * page with no image in it; the 20th host (`i % 20 == 19`) waits 40 ms before each answer.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import sharp from 'sharp'
import { ownChild } from '../test/support/children.js'
import { CLI, runCli } from '../test/support/cli.js'
import { freePort } from '../test/support/ports.js'
import { hyparquetRows, readTar } from '../test/support/shards.js'
import { makeTable } from './make-table.js'

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '300000' },
    'shard-size': { type: 'string', default: '10000' },
    'per-host': { type: 'string', default: '8' },
    dir: { type: 'string', default: '/var/tmp' },
  },
})
const rows = Number(values.rows)
const shardSize = Number(values['shard-size'])
const perHost = Number(values['per-host'])
const HOSTS = 20
const dir = mkdtempSync(join(values.dir!, 'imgpull-queue-scale-'))
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`)

// ---- the image server: 20 hosts, one port ----
type Fault = 'ok' | '404' | '500-once' | 'html'
const fault = (i: number): Fault => {
  const r = i % 100
  return r < 3 ? '404' : r < 6 ? '500-once' : r < 8 ? 'html' : 'ok'
}
const slow = (i: number) => i % HOSTS === HOSTS - 1
const base = await sharp({ create: { width: 16, height: 12, channels: 3, background: '#468' } })
  .jpeg({ quality: 80 })
  .toBuffer()
/** A distinct tiny JPEG a row: the base with a comment segment naming the row after its SOI. */
const jpeg = (i: number) => {
  const text = Buffer.from(`row ${i}`)
  const segment = Buffer.from([0xff, 0xfe, (text.length + 2) >> 8, (text.length + 2) & 255])
  return Buffer.concat([base.subarray(0, 2), segment, text, base.subarray(2)])
}
const HTML = Buffer.from(
  '<!doctype html><html><head><title>Photo</title></head><body><p>This photo was removed.</p></body></html>',
)

let phase = {
  requests: 0,
  finals: 0,
  over: 0,
  maxInFlight: new Map<string, number>(),
  perRow: new Map<number, number>(),
}
const served500 = new Set<number>()
const inFlight = new Map<string, number>()
const resetPhase = () => {
  phase = { requests: 0, finals: 0, over: 0, maxInFlight: new Map(), perRow: new Map() }
  served500.clear()
}
function handle(req: IncomingMessage, res: ServerResponse) {
  const host = req.socket.localAddress!
  const now = (inFlight.get(host) ?? 0) + 1
  inFlight.set(host, now)
  if (now > (phase.maxInFlight.get(host) ?? 0)) phase.maxInFlight.set(host, now)
  if (now > perHost) phase.over++
  let ended = false
  const end = () => {
    if (ended) return
    ended = true
    inFlight.set(host, inFlight.get(host)! - 1)
  }
  res.on('finish', end)
  res.on('close', end)
  phase.requests++
  const i = Number(/^\/(\d+)\.jpg$/.exec(req.url ?? '')?.[1] ?? -1)
  phase.perRow.set(i, (phase.perRow.get(i) ?? 0) + 1)
  const answer = () => {
    const f = fault(i)
    if (i < 0 || f === '404') {
      phase.finals++
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
    } else if (f === '500-once' && !served500.has(i)) {
      served500.add(i)
      res.writeHead(500, { 'content-type': 'text/plain' }).end('oops')
    } else if (f === 'html') {
      phase.finals++
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(HTML)
    } else {
      phase.finals++
      const body = jpeg(i)
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length }).end(body)
    }
  }
  if (slow(i)) setTimeout(answer, 40)
  else answer()
}
const port = await freePort()
const servers: Server[] = []
for (let h = 0; h < HOSTS; h++) {
  const server = createServer({ keepAliveTimeout: 5000 }, handle)
  await new Promise<void>((resolve) => server.listen(port, `127.0.0.${11 + h}`, resolve))
  servers.push(server)
}
const table = join(dir, 'urls.parquet')
await makeTable(table, rows, { base: (i) => `http://127.0.0.${11 + (i % HOSTS)}:${port}/` })
log(`table ${table}: ${rows} rows over ${HOSTS} hosts (port ${port})`)
const runOptions = [
  '--caption-col',
  'caption',
  '--columns',
  'license,id',
  '--output-format',
  'webdataset',
  '--shard-size',
  String(shardSize),
  '--per-host',
  String(perHost),
]

// ---- processes under GNU time ----
interface Timed {
  name: string
  time: ChildProcess
  stderr: string
  stdout: string
  done: Promise<{ code: number | null; rssKb: number; wall: string; exit: string }>
}
function timed(name: string, args: string[]): Timed {
  const time = ownChild(
    spawn('/usr/bin/time', ['-v', process.execPath, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }),
  )
  const t: Timed = { name, time, stderr: '', stdout: '', done: undefined as never }
  time.stdout!.setEncoding('utf8').on('data', (d) => {
    t.stdout += d
  })
  time.stderr!.setEncoding('utf8').on('data', (d) => {
    t.stderr += d
  })
  t.done = new Promise((resolve) =>
    time.on('close', (code) =>
      resolve({
        code,
        rssKb: Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(t.stderr)?.[1]),
        wall: /Elapsed \(wall clock\) time.*: (\S+)/.exec(t.stderr)?.[1] ?? '?',
        exit:
          /Command terminated by signal (\d+)/.exec(t.stderr)?.[0] ??
          /Exit status: (\d+)/.exec(t.stderr)?.[0] ??
          '?',
      }),
    ),
  )
  return t
}
/** The node process GNU time runs (signals go to it, as a terminal's would). */
const nodeOf = (t: Timed) =>
  Number(readFileSync(`/proc/${t.time.pid}/task/${t.time.pid}/children`, 'utf8').trim().split(/\s+/)[0])
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// ---- 1. one machine ----
resetPhase()
const single = join(dir, 'single')
let started = performance.now()
// SKIP_SINGLE=1: the queue alone (a look at one fault), the comparisons then saying every file differs.
const one = timed(
  'single',
  process.env.SKIP_SINGLE ? ['--version'] : [table, ...runOptions, '-o', single, '--quiet'],
)
const oneResult = await one.done
const oneWall = (performance.now() - started) / 1000
const onePhase = phase
log(
  `single: exit ${oneResult.code}, ${oneWall.toFixed(1)} s, peak RSS ${(oneResult.rssKb / 1024).toFixed(0)} MB, ${onePhase.requests} requests, max in flight a host ${Math.max(...onePhase.maxInFlight.values())}`,
)
if (oneResult.code !== 0) log(one.stderr.slice(-2000))

// ---- 2. the queue ----
const redisPort = await freePort()
const redisDir = join(dir, 'redis')
const redisUrl = `redis://127.0.0.1:${redisPort}`
const redisArgs = [
  '--port',
  String(redisPort),
  '--bind',
  '127.0.0.1',
  '--dir',
  dir,
  '--appendonly',
  'yes',
  '--appendfsync',
  'everysec',
  '--appenddirname',
  'redis-aof',
  '--dbfilename',
  'redis.rdb',
  '--maxmemory-policy',
  'noeviction',
]
let redis: ChildProcess
async function startRedisServer() {
  redis = ownChild(spawn('redis-server', redisArgs, { stdio: ['ignore', 'pipe', 'pipe'] }))
  let output = ''
  await new Promise<void>((resolve, reject) => {
    redis.stdout!.on('data', (d) => {
      output += d
      if (output.includes('Ready to accept connections')) resolve()
    })
    redis.once('exit', (code) => reject(new Error(`redis-server exited ${code}: ${output.slice(-400)}`)))
  })
  redis.stdout!.removeAllListeners('data').resume()
  redis.stderr!.resume()
  redis.removeAllListeners('exit')
}
async function stopRedisServer(save: boolean) {
  const exited = new Promise((resolve) => redis.once('exit', resolve))
  const once = new Redis(redisUrl, { retryStrategy: () => null, maxRetriesPerRequest: 0 })
  once.on('error', () => {})
  await once.call('SHUTDOWN', save ? 'SAVE' : 'NOSAVE').catch(() => {})
  once.disconnect()
  await exited
  if (!save) {
    rmSync(join(dir, 'redis-aof'), { recursive: true, force: true })
    rmSync(join(dir, 'redis.rdb'), { force: true })
  }
}
void redisDir
await startRedisServer()
const client = new Redis(redisUrl, { maxRetriesPerRequest: null, retryStrategy: () => 200 })
client.on('error', () => {})
const memory = async () => Number(/^used_memory:(\d+)/m.exec(await client.info('memory'))?.[1])
const q = ['--redis', redisUrl, '--queue', 'scale']
resetPhase()
const memEmpty = await memory()
const enq = async () => {
  const r = await runCli(['enqueue', table, ...q, ...runOptions, '--json'])
  log(`enqueue: exit ${r.code} ${r.stdout.trim().slice(0, 300)} ${r.stderr.trim().slice(0, 300)}`)
}
await enq()
const memEnqueued = await memory()
const shared = join(dir, 'shared')
started = performance.now()
const workers = new Map<string, Timed>()
const startWorker = (name: string) => {
  workers.set(name, timed(name, ['worker', ...q, '-o', shared]))
  log(`started worker ${name}`)
}
startWorker('A')
startWorker('B')
const snapshots: { t: number; finals: number; status: Record<string, unknown> | string; alive: string[] }[] =
  []
const statusNow = async () => {
  const r = await runCli(['status', ...q, '--json'])
  // Read after the answer: the status was read at some moment before it.
  const finals = phase.finals
  const alive = [...workers].filter(([, w]) => w.time.exitCode === null).map(([n]) => n)
  const status = r.code === 0 ? JSON.parse(r.stdout) : `exit ${r.code}: ${r.stderr.trim().slice(0, 200)}`
  snapshots.push({ t: (performance.now() - started) / 1000, finals, status, alive })
  return status
}
const allSteps: [number, string, () => Promise<void>][] = [
  [
    0.1,
    'kill -9 worker A',
    async () => {
      process.kill(nodeOf(workers.get('A')!), 'SIGKILL')
    },
  ],
  [0.2, 'start worker C', async () => startWorker('C')],
  [
    0.35,
    'restart redis-server with its data (SHUTDOWN SAVE, append-only file)',
    async () => {
      await stopRedisServer(true)
      await sleep(2000)
      await startRedisServer()
    },
  ],
  [
    0.5,
    'restart redis-server without its data (SHUTDOWN NOSAVE, files removed), then the same enqueue again',
    async () => {
      await stopRedisServer(false)
      await sleep(2000)
      await startRedisServer()
      await sleep(3000)
      await enq()
    },
  ],
  [
    0.7,
    'SIGINT worker B',
    async () => {
      process.kill(nodeOf(workers.get('B')!), 'SIGINT')
    },
  ],
]
// STEPS=kill,start,restart,empty,sigint (the default: all), for a look at one fault alone.
const chosen = (process.env.STEPS ?? 'kill,start,restart,empty,sigint').split(',')
const stepNames = ['kill', 'start', 'restart', 'empty', 'sigint']
const steps = allSteps.filter((_, k) => chosen.includes(stepNames[k]))
const events: string[] = []
let lastStatus = 0
for (;;) {
  const next = steps[0]
  if (next && phase.finals >= next[0] * rows) {
    steps.shift()
    const line = `${((performance.now() - started) / 1000).toFixed(1)} s, ${phase.finals} rows answered: ${next[1]}`
    log(line)
    events.push(line)
    await next[2]()
    continue
  }
  if (performance.now() - lastStatus > 10_000) {
    lastStatus = performance.now()
    const s = await statusNow()
    if (typeof s === 'string') log(`status ${s}`)
    else {
      const st = s as { shards: Record<string, number>; images: { ok: number; failed: number } }
      log(
        `status: shards ${JSON.stringify(st.shards)} images ${st.images.ok}+${st.images.failed}; server answered ${phase.finals}`,
      )
      if (steps.length === 0 && st.shards.done === Math.ceil(rows / shardSize)) break
    }
  }
  await sleep(500)
}
const queueWall = (performance.now() - started) / 1000
const finalStatus = await statusNow()
for (const [name, w] of workers)
  if (w.time.exitCode === null) {
    log(`SIGINT worker ${name} (queue done)`)
    process.kill(nodeOf(w), 'SIGINT')
  }
const workerResults = new Map<string, Awaited<Timed['done']>>()
for (const [name, w] of workers) {
  workerResults.set(name, await w.done)
  if (process.env.KEEP) writeFileSync(join(dir, `worker-${name}.log`), w.stderr)
}
const afterStatus = await statusNow()
const memEnd = await memory()
const queuePhase = phase

// ---- 3. compare ----
const names = (d: string) =>
  (existsSync(d) ? readdirSync(d) : []).filter((n) => /^\d{5}(\.tar|\.parquet|_stats\.json)$/.test(n)).sort()
const a = names(single)
const b = names(shared)
const differ: string[] = []
for (const n of new Set([...a, ...b])) {
  const pa = join(single, n)
  const pb = join(shared, n)
  if (!existsSync(pa) || !existsSync(pb)) differ.push(`${n} only in ${existsSync(pa) ? 'single' : 'shared'}`)
  else if (!readFileSync(pa).equals(readFileSync(pb))) {
    if (n.endsWith('.json')) {
      const ja = JSON.parse(readFileSync(pa, 'utf8'))
      const jb = JSON.parse(readFileSync(pb, 'utf8'))
      const keys = Object.keys({ ...ja, ...jb }).filter(
        (k) => JSON.stringify(ja[k]) !== JSON.stringify(jb[k]),
      )
      differ.push(`${n}: ${keys.join(', ')}`)
    } else differ.push(n)
  }
}
// Every row once, every failure with its code (from the queue's Parquet files and tars).
const seen = new Map<string, number>()
const wrong: string[] = []
const codes: Record<string, number> = {}
let ok = 0
for (const n of b.filter((x) => x.endsWith('.parquet'))) {
  for (const row of await hyparquetRows(join(shared, n))) {
    const i = Number(row.id) - 1_000_000_000
    seen.set(String(i), (seen.get(String(i)) ?? 0) + 1)
    const f = fault(i)
    const code = row.error_code as string | null
    codes[code ?? 'success'] = (codes[code ?? 'success'] ?? 0) + 1
    if (code === null) ok++
    const want = f === '404' ? 'http-404' : f === 'html' ? 'not-an-image|page' : null
    if (want === null ? code !== null : !new RegExp(`^(${want})`).test(code ?? ''))
      wrong.push(`row ${i}: ${code} (${f})`)
  }
}
let samples = 0
const keys = new Set<string>()
for (const n of b.filter((x) => x.endsWith('.tar'))) {
  for (const m of await readTar(join(shared, n))) {
    if (m.name.endsWith('.json')) {
      samples++
      keys.add(m.name)
    }
  }
}
const missing = Array.from({ length: rows }, (_, i) => i).filter((i) => !seen.has(String(i))).length
const twice = [...seen.values()].filter((c) => c > 1).length
const again = (p: typeof phase) =>
  [...p.perRow].reduce((s, [i, c]) => s + c - (fault(i) === '500-once' ? 2 : 1), 0)

console.log('\n==== results ====')
console.log(`rows ${rows}, shards of ${shardSize}, --per-host ${perHost}, hosts ${HOSTS}`)
console.log(
  `single: ${oneWall.toFixed(1)} s wall (time: ${oneResult.wall}), ${Math.round(rows / oneWall)} rows/s, peak RSS ${(oneResult.rssKb / 1024).toFixed(0)} MB, requests ${onePhase.requests} (again ${again(onePhase)}), max in flight a host ${JSON.stringify(Object.fromEntries(onePhase.maxInFlight))}, over limit ${onePhase.over}`,
)
console.log(
  `queue: ${queueWall.toFixed(1)} s wall from the workers' start to status saying done, ${Math.round(rows / queueWall)} rows/s, requests ${queuePhase.requests} (again ${again(queuePhase)}), max in flight a host ${JSON.stringify(Object.fromEntries(queuePhase.maxInFlight))}, over limit ${queuePhase.over}`,
)
for (const [name, r] of workerResults)
  console.log(
    `  worker ${name}: exit code ${r.code} (${r.exit}), wall ${r.wall}, peak RSS ${(r.rssKb / 1024).toFixed(0)} MB; last lines: ${workers
      .get(name)!
      .stderr.split('\n')
      .filter((l) => l && !/^\t/.test(l))
      .slice(-3)
      .join(' / ')}`,
  )
console.log(`events:\n  ${events.join('\n  ')}`)
console.log(
  `files differing single vs queue (${a.length} vs ${b.length} files): ${differ.length ? differ.join('; ') : 'none'}`,
)
console.log(
  `rows seen in the queue's Parquet: ${seen.size}, missing ${missing}, twice ${twice}; samples in tars ${samples} (distinct keys ${keys.size}), ok rows ${ok}`,
)
console.log(`codes: ${JSON.stringify(codes)}; wrong codes: ${wrong.length} ${wrong.slice(0, 5).join('; ')}`)
console.log(`status at the end: ${JSON.stringify(finalStatus).slice(0, 1500)}`)
console.log(`status after the workers stopped: ${JSON.stringify(afterStatus).slice(0, 1500)}`)
console.log(
  `Redis used_memory: ${memEmpty} empty, ${memEnqueued} enqueued (+${memEnqueued - memEmpty}), ${memEnd} at the end (+${memEnd - memEmpty}; ${Math.round(((memEnd - memEmpty) * 100_000) / rows)} B per 100,000 rows)`,
)
console.log(`status snapshots (t, server final answers, alive, shards, ok+failed, workers alive per status):`)
for (const s of snapshots) {
  const st = s.status as {
    shards?: Record<string, number>
    images?: { ok: number; failed: number }
    workers?: { id: string; alive: boolean }[]
  }
  console.log(
    typeof s.status === 'string'
      ? `  ${s.t.toFixed(0)} s ${s.finals} [${s.alive}] ${s.status}`
      : `  ${s.t.toFixed(0)} s ${s.finals} [${s.alive}] ${JSON.stringify(st.shards)} ${st.images!.ok}+${st.images!.failed}${st.images!.ok + st.images!.failed > s.finals ? ' (MORE THAN ANSWERED)' : ''} live ${st.workers!.filter((w) => w.alive).length} of ${st.workers!.length}`,
  )
}

client.disconnect()
await stopRedisServer(false)
for (const s of servers) s.closeAllConnections()
await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true })
else log(`kept ${dir}`)
