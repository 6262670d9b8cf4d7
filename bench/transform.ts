/**
 * What the transform pool costs, against sharp alone, in detail: not part of `npm test` (`npm run
 * bench` has the end-to-end view, its resize scenario).
 *
 *   node --import tsx bench/transform.ts [--count 5000] [--dir $TMPDIR/imgpull-bench-jpegs]
 *
 * Takes `count` JPEGs of 20–200 KB (bench/jpegs.ts: made once, kept in `dir`), then,
 * with every body already in memory, resizes each with `keep-ratio` 256 + `encode jpg`:
 * 1. sharp alone in a plain loop, one image at a time (`sharp.concurrency(1)`, cache off, as in a
 *    worker): the reference CPU cost per image;
 * 2. the same through `transformImage` in this process (header read + plan + pipeline);
 * 3. through `TransformPool` with 1 and with `availableParallelism()` workers (bodies over IPC),
 *    with `{ path }` inputs (the worker reads the file), and as a run feeds it: each image a part
 *    file (copied beforehand, untimed) the worker reads and writes the new image into
 *    (`output` + `replaceInput`);
 * 4. sharp on worker threads of this process (the alternative not taken), and the pool again, each
 *    while this process's main thread times `fs.stat` and `dns.lookup` (libuv's thread pool) and
 *    its own event-loop delay: what the network side would feel.
 * CPU is this process's `cpuUsage()` plus the workers' utime+stime from /proc; peak RSS is this
 * process's sampled RSS and each worker's VmHWM. Linux only (/proc).
 */
import { lookup } from 'node:dns/promises'
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { Worker } from 'node:worker_threads'
import sharp from 'sharp'
import { TransformPool } from '../src/transform/pool.js'
import { transformImage } from '../src/transform/resize.js'
import { resolveTransformSpec } from '../src/transform/spec.js'
import { JPEG_DIR, makeJpegs } from './jpegs.js'

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '5000' },
    dir: { type: 'string', default: JPEG_DIR },
  },
})
const count = Number(values.count)
const dir = values.dir!
const cores = availableParallelism()
const TICK_MS = 10 // /proc/PID/stat counts in clock ticks of 10 ms (USER_HZ = 100)

sharp.concurrency(1)
sharp.cache(false)

function procCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS // utime, stime
}
function procPeakMb(pid: number): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024
}
const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/** Sample this process's RSS every 20 ms while `work` runs. */
async function measured<T>(
  work: () => Promise<T>,
): Promise<{ value: T; wallMs: number; cpuMs: number; peakRssMb: number; grewMb: number }> {
  const start = process.memoryUsage().rss
  let peak = start
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 20)
  const cpu0 = cpuMs()
  const t0 = performance.now()
  const value = await work()
  const wallMs = performance.now() - t0
  clearInterval(sampler)
  return { value, wallMs, cpuMs: cpuMs() - cpu0, peakRssMb: peak / 2 ** 20, grewMb: (peak - start) / 2 ** 20 }
}

/** Main-thread latencies while something else runs: fs.stat and dns.lookup (libuv's pool), event-loop delay. */
function probe() {
  const fsMs: number[] = []
  const dnsMs: number[] = []
  const loop = monitorEventLoopDelay({ resolution: 5 })
  loop.enable()
  let on = true
  const run = async (samples: number[], call: () => Promise<unknown>) => {
    while (on) {
      const t0 = performance.now()
      await call()
      samples.push(performance.now() - t0)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
  const runs = [run(fsMs, () => stat(dir)), run(dnsMs, () => lookup('localhost'))]
  return async () => {
    on = false
    await Promise.all(runs)
    loop.disable()
    const pct = (xs: number[], p: number) =>
      xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]
    const f = (n: number) => n.toFixed(2)
    return `fs.stat p50 ${f(pct(fsMs, 0.5))} p99 ${f(pct(fsMs, 0.99))} max ${f(Math.max(...fsMs))} ms; dns.lookup p50 ${f(pct(dnsMs, 0.5))} p99 ${f(pct(dnsMs, 0.99))} ms; loop delay p99 ${f(loop.percentile(99) / 1e6)} ms`
  }
}

const spec = resolveTransformSpec({ resize: 'keep-ratio', size: 256, encode: 'jpg' })
const paths = await makeJpegs(count, dir, (line) => console.error(line))
const bodies = paths.map((path) => readFileSync(path))
const kb = bodies.map((b) => b.length / 1024)
console.log(
  `${count} JPEGs, ${Math.min(...kb).toFixed(0)}–${Math.max(...kb).toFixed(0)} KB (mean ${(kb.reduce((a, b) => a + b) / count).toFixed(0)} KB), ${cores} cores, node ${process.version}`,
)
const line = (name: string, wallMs: number, cpu: number, extra = '') =>
  console.log(
    `${name.padEnd(44)} wall ${(wallMs / 1000).toFixed(2).padStart(6)} s  ${((count / wallMs) * 1000).toFixed(0).padStart(5)} img/s  CPU ${(cpu / count).toFixed(2)} ms/img ${extra}`,
  )

// 1. sharp alone.
const alone = await measured(async () => {
  for (const body of bodies)
    await sharp(body).resize({ width: 256, height: 256, fit: 'outside' }).jpeg().toBuffer()
})
line('sharp alone, plain loop', alone.wallMs, alone.cpuMs)
const reference = alone.cpuMs / count

// 2. transformImage in this process.
const inProcess = await measured(async () => {
  for (const body of bodies) await transformImage(body, spec)
})
line(
  'transformImage, plain loop (no pool)',
  inProcess.wallMs,
  inProcess.cpuMs,
  `(+${((inProcess.cpuMs / count / reference - 1) * 100).toFixed(0)}%)`,
)

// 3. The pool.
async function throughPool(workers: number, input: 'bytes' | 'path' | 'part', probed = false, niceness = 10) {
  const pool = new TransformPool({ workers, niceness })
  const parts = input === 'part' ? partsOf(paths) : []
  await Promise.all(Array.from({ length: workers }, () => pool.transform(bodies[0], spec))) // start the workers
  const pids = pool.stats.pids
  const workerCpu0 = pids.reduce((sum, pid) => sum + procCpuMs(pid), 0)
  const stop = probed ? probe() : undefined
  const run = await measured(async () => {
    const pending: Promise<unknown>[] = []
    for (let i = 0; i < count; i++) {
      await pool.ready()
      pending.push(
        input === 'part'
          ? pool.transform({ path: parts[i] }, spec, { output: `${parts[i]}.out`, replaceInput: true })
          : pool.transform(input === 'path' ? { path: paths[i] } : bodies[i], spec),
      )
    }
    await Promise.all(pending)
  })
  const latencies = await stop?.()
  const workerCpu = pids.reduce((sum, pid) => sum + procCpuMs(pid), 0) - workerCpu0
  const peaks = pids.map((pid) => procPeakMb(pid).toFixed(0)).join(', ')
  const total = run.cpuMs + workerCpu
  line(
    `pool, ${workers} worker${workers > 1 ? 's' : ''}, ${INPUTS[input]}${niceness === 10 ? '' : `, nice ${niceness}`}`,
    run.wallMs,
    total,
    `(+${((total / count / reference - 1) * 100).toFixed(0)}%; main ${(run.cpuMs / count).toFixed(2)}, workers ${(workerCpu / count).toFixed(2)}); peak RSS main ${run.peakRssMb.toFixed(0)} MB (+${run.grewMb.toFixed(0)} in the run), workers ${peaks} MB`,
  )
  if (latencies) console.log(`  main thread meanwhile: ${latencies}`)
  await pool.close()
  if (parts.length > 0) rmSync(dirname(parts[0]), { recursive: true, force: true })
}
const INPUTS = { bytes: 'bodies over IPC', path: '{ path } inputs', part: 'parts written into' }

/** A copy of each file in a new folder beside `dir`, as a run's parts are: the pool may write into them. */
function partsOf(files: string[]): string[] {
  const folder = mkdtempSync(join(dirname(dir), 'imgpull-bench-parts-'))
  return files.map((file, i) => {
    const part = join(folder, `${i}.part`)
    copyFileSync(file, part)
    return part
  })
}
await throughPool(1, 'bytes')
await throughPool(cores, 'bytes')
await throughPool(cores, 'path')
await throughPool(cores, 'part')

// 4. The pool, then threads instead of processes, each with the main thread probed.
const idle = probe()
await new Promise((resolve) => setTimeout(resolve, 2000))
console.log(`idle main thread: ${await idle()}`)
await throughPool(cores, 'bytes', true)
await throughPool(cores, 'bytes', true, 0)

const THREAD = `
const { parentPort, workerData } = require('node:worker_threads')
const sharp = require('sharp')
sharp.concurrency(1); sharp.cache(false)
;(async () => {
  for (const body of workerData) await sharp(body).resize({ width: 256, height: 256, fit: 'outside' }).jpeg().toBuffer()
  parentPort.postMessage('done')
})()`
// As many threads as cores, one image at a time each, as a thread pool sized to the machine would
// run; and 4 (libuv's default pool size), what that pool does on a machine of 4 cores or more.
for (const count of [...new Set([cores, 4])]) {
  const stop = probe()
  const threads = await measured(() => onThreads(count))
  line(
    `sharp on ${count} worker threads (not taken)`,
    threads.wallMs,
    threads.cpuMs,
    `peak RSS ${threads.peakRssMb.toFixed(0)} MB`,
  )
  console.log(`  main thread meanwhile: ${await stop()}`)
}

function onThreads(threads: number) {
  return Promise.all(
    Array.from({ length: threads }, (_, t) => {
      const share = bodies.filter((_, i) => i % threads === t)
      const worker = new Worker(THREAD, { eval: true, workerData: share })
      return new Promise((resolve) => worker.once('message', resolve)).then(() => worker.terminate())
    }),
  )
}
