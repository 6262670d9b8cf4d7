/**
 * Crash-consistency loop: imgpull promises that after `kill -9` at any moment a plain rerun gives
 * the outputs an uninterrupted run gives. This checks it at random moments rather than chosen
 * ones. For each output mode it makes one uninterrupted reference, then, per iteration, in a
 * fresh folder:
 *   1. starts the run (dist/imgpull.js) against a local fault-injecting image server
 *      (test/support/image-server.ts, with ttfb jitter, cut bodies, 503s, 404s, pages) and sends
 *      SIGKILL (or, now and then, SIGTERM or SIGINT, sometimes twice) after a seeded random delay
 *      from 5 ms to the reference run's length;
 *   2. sometimes kills the rerun too, early (journal open, recovery) or anywhere, once or twice;
 *   3. reruns to completion and compares with the reference: every file's name and bytes, shards
 *      byte for byte (tar, parquet), `_stats.json` without its times, manifest rows without times
 *      and attempt counts, `imgpull status --json`, the last exit code, and no temporary file left
 *      in the folder (parts, spools, staged samples, `*.tmp`).
 * Modes: files; files under a --name template with sub-folders; --resize keep-ratio --size 64
 * --encode jpg; webdataset from a CSV (captions, a sha256 column, some wrong) in shards of 3; two
 * lists run one after the other into one folder (the kill lands in either run).
 *
 * Run (after `npm run build`):
 *   node --import tsx scripts/crash-loop.ts [--seed 1] [--iterations 20] [--modes files,wds]
 *     [--minutes M] [--strace 0.5] [--keep]
 * --strace P: that share of the kills (modes without a transform pool) is SIGKILL injected by
 * strace as a thread enters its Nth rename, link, unlink, fsync, open, write or mkdir, rather
 * than after a delay: the narrow windows between two calls that a timer seldom lands in.
 * Prints one line per violation (mode, seed, what was done, what differs) and a table of
 * iterations per mode; exit 1 when any iteration differed. --keep leaves failing folders in place.
 */
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import sharp from 'sharp'
import { type CliResult, startCli } from '../test/support/cli.js'
import { type ImageServer, startImageServer } from '../test/support/image-server.js'
import { seeded } from '../test/support/images.js'

const CLI = fileURLToPath(new URL('../dist/imgpull.js', import.meta.url))
const DIST = dirname(CLI)

/** Processes of this build still running on a folder under `root` (a run whose parent was killed, say). */
async function survivors(root: string): Promise<string[]> {
  const found: string[] = []
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
    if (cmd.includes(DIST) && cmd.includes(root)) found.push(`${pid}: ${cmd.replaceAll('\0', ' ').trim()}`)
  }
  return found
}

interface Run extends CliResult {
  ms: number
}

/**
 * One stop of a run: a signal after `delay` ms (a second one `again` ms later, when set); or,
 * with `syscalls`, SIGKILL as one of the process's threads enters its `when`-th call of one of
 * `syscalls` (strace counts per thread), before the call is made: the moments a timer rarely
 * hits, between a `link` and its `unlink`, at a journal commit's `fdatasync`, a seal's `rename`.
 */
type Stop = { signal: NodeJS.Signals; delay: number; again?: number } | { syscalls: string; when: number }

/** Syscall sets a kill is injected at, each with the largest `when` drawn for it. */
const SYSCALLS: [string, number][] = [
  ['link,linkat', 12],
  ['rename,renameat,renameat2', 12],
  ['unlink,unlinkat', 16],
  ['fsync,fdatasync', 10],
  ['openat', 150],
  ['pwrite64,write', 200],
  ['ftruncate,mkdir,mkdirat', 10],
]

async function runCli(args: string[], stop?: Stop): Promise<Run> {
  const t0 = performance.now()
  const wrap =
    stop && 'syscalls' in stop
      ? [
          ...['strace', '-f', '-qq', '-o', '/dev/null', '-e', `trace=${stop.syscalls}`],
          ...['-e', `inject=${stop.syscalls}:signal=SIGKILL:when=${stop.when}`],
        ]
      : undefined
  const { child, done } = startCli(args, { wrap }, CLI)
  const timers: NodeJS.Timeout[] = []
  if (stop && 'signal' in stop) {
    timers.push(setTimeout(() => child.kill(stop.signal), stop.delay))
    if (stop.again !== undefined)
      timers.push(setTimeout(() => child.kill(stop.signal), stop.delay + stop.again))
  }
  const r = await done
  for (const t of timers) clearTimeout(t)
  return { ...r, ms: performance.now() - t0 }
}

/** A mode: the inputs it writes and the runs it makes of them, one after the other. */
interface Mode {
  name: string
  /** Write the inputs under `dir`; return each run's arguments without `-o`. */
  setup(server: ImageServer, dir: string): Promise<string[][]>
  /** Real images (the transform decodes them): the server serves these bytes by name. */
  real?: boolean
}

const faults = (i: number): string => {
  // A mix a real host gives: cut bodies (resumed), a 503 once, a 404, a page instead of an image.
  if (i % 11 === 3) return '?reset=4000&times=1'
  if (i % 11 === 5) return '?status=503&times=1'
  if (i % 17 === 7) return '?status=404'
  if (i % 19 === 9) return '?html=1'
  if (i % 13 === 2) return '?short=3000&times=1'
  return ''
}

const lines = (server: ImageServer, paths: string[]) => `${paths.map((p) => server.url(p)).join('\n')}\n`

/** A list file of `count` images named `stem-N`, with the usual faults; its path. */
async function faultyList(server: ImageServer, file: string, stem: string, count: number, from = 0) {
  await writeFile(
    file,
    lines(
      server,
      Array.from({ length: count }, (_, i) => `/${stem}-${i + from}${faults(i + from)}`),
    ),
  )
  return file
}

const MODES: Mode[] = [
  {
    name: 'files',
    async setup(server, dir) {
      const list = await faultyList(server, join(dir, 'list.txt'), 'f', 40)
      return [[list, '--per-host', '8']]
    },
  },
  {
    name: 'names',
    async setup(server, dir) {
      // Sub-folders from the path and the host; two URLs that map to one name (a suffix for one).
      const paths = Array.from({ length: 36 }, (_, i) => `/d${i % 4}/e${i % 3}/n-${i}${faults(i)}`)
      paths.push('/d0/e0/twin?size=5000', '/d0/e0/twin?size=6000')
      const list = join(dir, 'list.txt')
      await writeFile(list, lines(server, paths))
      return [[list, '--per-host', '8', '--name', '{host}/{path}-{index}{ext}']]
    },
  },
  {
    name: 'resize',
    real: true,
    async setup(server, dir) {
      const list = await faultyList(server, join(dir, 'list.txt'), 'r', 30)
      return [[list, '--per-host', '8', '--resize', 'keep-ratio', '--size', '64', '--encode', 'jpg']]
    },
  },
  {
    name: 'wds',
    async setup(server, dir) {
      const rows = Array.from({ length: 40 }, (_, i) => {
        const path = `/w-${i}${faults(i)}`
        const bytes = server.bytes(path.split('?')[0])
        // A right hash, none, or a wrong one (hash-mismatch, a permanent failure).
        const hash =
          i % 7 === 4 ? '0'.repeat(64) : i % 5 === 0 ? '' : createHash('sha256').update(bytes).digest('hex')
        return `${server.url(path)},"caption ${i}, with a comma",${hash}`
      })
      const table = join(dir, 'table.csv')
      await writeFile(table, `url,caption,sha256\n${rows.join('\n')}\n`)
      return [
        [
          table,
          '--per-host',
          '8',
          '--output-format',
          'webdataset',
          '--shard-size',
          '3',
          '--caption-col',
          'caption',
          '--hash-col',
          'sha256',
        ],
      ]
    },
  },
  {
    name: 'wds-threads',
    real: true,
    async setup(server, dir) {
      // Samples handed back from transfer threads, and ones the transform stage made (staged as files).
      const rows = Array.from({ length: 30 }, (_, i) => `${server.url(`/r-${i}${faults(i)}`)},c${i}`)
      const table = join(dir, 'table.csv')
      await writeFile(table, `url,caption\n${rows.join('\n')}\n`)
      const shards = ['--output-format', 'webdataset', '--shard-size', '4', '--caption-col', 'caption']
      return [
        [table, '--per-host', '8', '--threads', '2', ...shards, '--resize', 'center-crop', '--size', '48'],
      ]
    },
  },
  {
    name: 'threads',
    async setup(server, dir) {
      const list = await faultyList(server, join(dir, 'list.txt'), 'h', 40)
      return [[list, '--per-host', '8', '--threads', '2']]
    },
  },
  {
    name: 'hash-none',
    async setup(server, dir) {
      // No sha256 to tell an image by: a file at its name proves nothing but its size.
      const list = await faultyList(server, join(dir, 'list.txt'), 'x', 40)
      return [[list, '--per-host', '8', '--hash', 'none', '--name', '{index}{ext}']]
    },
  },
  {
    name: 'two-lists',
    async setup(server, dir) {
      // The second list shares half the first's URLs and adds others: one folder, two runs.
      const a = await faultyList(server, join(dir, 'a.txt'), 't', 24)
      const b = await faultyList(server, join(dir, 'b.txt'), 't', 24, 12)
      return [
        [a, '--per-host', '8'],
        [b, '--per-host', '8'],
      ]
    },
  },
]

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 16)

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort()
}

/** Times and counts of tries differ from run to run; everything else must not. */
const VOLATILE = new Set([
  ...['finishedAt', 'timings', 'answers', 'attempts', 'startedAt', 'endedAt', 'ms'],
  ...['start_time', 'end_time', 'duration'], // _stats.json
  'runs', // status: a run killed is a run
])
function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable)
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !VOLATILE.has(k))
        .map(([k, v]) => [k, stable(v)]),
    )
  return value
}

/** What a folder holds, in a form two folders are compared by. */
async function snapshot(out: string, origin: string): Promise<Record<string, unknown>> {
  const files: Record<string, string> = {}
  const leftovers: string[] = []
  for (const f of await walk(out)) {
    if (f.startsWith('.imgpull/')) {
      // What may stay in the work folder: the journal, the lock, records of the folder and of sealed shards.
      if (
        !/^\.imgpull\/(journal\.db(-wal|-shm)?|lock\.db(-journal)?|files\.json|dataset\.json|shards\/\d+\.seal\.json)$/.test(
          f,
        )
      )
        leftovers.push(f)
      continue
    }
    if (f === 'report.html') {
      // The page's data (its sheet of images, credits); the words around carry the runs' times.
      const data = /id="report-data">(.*?)<\/script>/s.exec(await readFile(join(out, f), 'utf8'))?.[1]
      files[f] =
        data === undefined ? 'no data' : JSON.stringify(stable(JSON.parse(data.replaceAll(origin, 'ORIGIN'))))
      continue
    }
    const bytes = await readFile(join(out, f))
    if (f === 'manifest.jsonl') {
      const rows = bytes
        .toString()
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.stringify(stable(JSON.parse(l.replaceAll(origin, 'ORIGIN')))))
        .sort()
      files[f] = rows.join('\n')
    } else if (f.endsWith('_stats.json')) files[f] = JSON.stringify(stable(JSON.parse(bytes.toString())))
    else files[f] = sha(bytes)
    if (/\.tmp|\.part|\.spool/.test(f)) leftovers.push(f)
  }
  const status = await runCli(['status', out, '--json'])
  let statusJson: unknown = status.stdout
  try {
    statusJson = stable(JSON.parse(status.stdout.replaceAll(origin, 'ORIGIN')))
  } catch {}
  return {
    files,
    leftovers,
    status: { code: status.code, json: statusJson },
  }
}

/**
 * After a run that ended by itself (exit 0, 1 or 130), whatever it did: the manifest it wrote
 * agrees with the folder. Each `ok` row's file is there with its sha256, and each image in the
 * folder is an `ok` row's. Folders of files only (a shard's samples have no path of their own).
 */
async function manifestAgrees(out: string): Promise<string[]> {
  const text = await readFile(join(out, 'manifest.jsonl'), 'utf8').catch(() => undefined)
  // Stopped before it made its journal (a Ctrl-C as it started): no folder to describe.
  const journal = await readFile(join(out, '.imgpull', 'journal.db')).catch(() => undefined)
  if (text === undefined) return journal?.length ? ['no manifest.jsonl'] : []
  const rows = text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { status: string; path: string | null; sha256: string | null; url: string })
  const problems: string[] = []
  const kept = new Set<string>()
  for (const row of rows.filter((r) => r.status === 'ok' && r.path)) {
    const path = row.path as string
    kept.add(path)
    const bytes = await readFile(join(out, path)).catch(() => undefined)
    if (!bytes) problems.push(`manifest: ${path} ok, not in the folder`)
    else if (row.sha256 && createHash('sha256').update(bytes).digest('hex') !== row.sha256)
      problems.push(`manifest: ${path} differs from its sha256`)
  }
  for (const f of await walk(out))
    if (!f.startsWith('.imgpull/') && f !== 'manifest.jsonl' && f !== 'report.html' && !kept.has(f))
      problems.push(`manifest: ${f} in the folder, no ok row`)
  return problems
}

/** `imgpull status` of a folder whose run was killed: it reads the journal, and names no run going on. */
async function statusAfterKill(out: string): Promise<string[]> {
  const status = await runCli(['status', out, '--json'])
  // Killed before it made the folder or its journal: nothing to show, said so.
  if (status.code === 2 && /no imgpull journal/.test(status.stderr)) return []
  if (status.code === 3 && /holds no journal yet/.test(status.stderr)) return []
  if (status.code !== 0) return [`status after a kill: exit ${status.code}: ${status.stderr.trim()}`]
  try {
    const json = JSON.parse(status.stdout) as { running?: unknown }
    if (json.running !== null) return [`status after a kill: running ${JSON.stringify(json.running)}`]
  } catch {
    return [`status after a kill: not JSON: ${status.stdout.slice(0, 200)}`]
  }
  return []
}

/** Names of the keys where two snapshots differ, with both values (short). */
function differences(a: Record<string, unknown>, b: Record<string, unknown>, path = ''): string[] {
  const out: string[] = []
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const [x, y] = [a[k], b[k]]
    if (JSON.stringify(x) === JSON.stringify(y)) continue
    if (x && y && typeof x === 'object' && typeof y === 'object' && !Array.isArray(x) && !Array.isArray(y))
      out.push(...differences(x as Record<string, unknown>, y as Record<string, unknown>, `${path}${k}.`))
    else if (typeof x === 'string' && typeof y === 'string' && x.includes('\n')) {
      const [xs, ys] = [new Set(x.split('\n')), new Set(y.split('\n'))]
      const only = (s: Set<string>, t: Set<string>) =>
        [...s].filter((l) => !t.has(l)).map((l) => l.slice(0, 400))
      out.push(
        `${path}${k}: expected only ${JSON.stringify(only(xs, ys))}; got only ${JSON.stringify(only(ys, xs))}`,
      )
    } else
      out.push(
        `${path}${k}: expected ${JSON.stringify(x)?.slice(0, 300)}, got ${JSON.stringify(y)?.slice(0, 300)}`,
      )
  }
  return out
}

/** Real photos-like images (noise in colour, decodable), fixed by name. */
async function realImage(name: string): Promise<Buffer> {
  const n = [...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7)
  const width = 120 + (n % 300)
  const height = 90 + ((n >> 8) % 300)
  const png = n % 3 === 0
  const image = sharp({
    create: { width, height, channels: 3, background: { r: n % 256, g: (n >> 3) % 256, b: (n >> 5) % 256 } },
  })
  return png ? image.png().toBuffer() : image.jpeg({ quality: 90 }).toBuffer()
}

interface Options {
  seed: number
  iterations: number
  modes: string[]
  minutes?: number
  keep?: boolean
  /** The share of kills injected at a syscall (see `Stop`) rather than after a delay. @default 0 */
  strace?: number
  log?: (line: string) => void
}

interface Tally {
  iterations: number
  violations: number
}

/** Run the loop; returns iterations and violations per mode. */
export async function crashLoop(options: Options): Promise<Map<string, Tally>> {
  const log = options.log ?? ((l: string) => process.stdout.write(`${l}\n`))
  const random = seeded(options.seed)
  const tallies = new Map<string, Tally>()
  const deadline = options.minutes ? Date.now() + options.minutes * 60_000 : Number.POSITIVE_INFINITY
  const root = await mkdtemp(join(tmpdir(), 'imgpull-crash-loop-'))
  const bodies = new Map<string, Buffer>()
  const server = await startImageServer({
    ttfb: 5,
    jitter: 60,
    bandwidth: 2_000_000,
    sizes: [4_000, 90_000],
    record: false,
    seed: options.seed,
    body: (name) => (name.startsWith('r-') ? bodies.get(name) : undefined),
  })
  try {
    for (let i = 0; i < 40; i++) bodies.set(`r-${i}`, await realImage(`r-${i}`))
    const modes = MODES.filter((m) => options.modes.includes(m.name))
    const refs = new Map<
      string,
      { runs: string[][]; snap: Record<string, unknown>; ms: number[]; code: number | null }
    >()
    for (const mode of modes) {
      const dir = join(root, mode.name)
      await mkdir(dir, { recursive: true })
      const runs = await mode.setup(server, dir)
      const out = join(dir, 'reference')
      const ms: number[] = []
      let code: number | null = null
      server.hits.clear() // `times=K` faults count from here: each folder meets them afresh
      for (const args of runs) {
        const r = await runCli([...args, '-o', out])
        ms.push(r.ms)
        code = r.code
        if (r.code !== 0 && r.code !== 1)
          throw new Error(`${mode.name}: the reference run ended ${r.code}: ${r.stderr}`)
      }
      refs.set(mode.name, { runs, snap: await snapshot(out, server.origin), ms, code })
      tallies.set(mode.name, { iterations: 0, violations: 0 })
      log(`${mode.name}: reference ${ms.map((m) => m.toFixed(0)).join('+')} ms, exit ${code}`)
    }

    for (let it = 0; it < options.iterations && Date.now() < deadline; it++) {
      if (it > 0 && it % 10 === 0)
        log(
          `after ${it} rounds: ${[...tallies].map(([m, t]) => `${m} ${t.violations}/${t.iterations}`).join(', ')}`,
        )
      for (const mode of modes) {
        if (Date.now() >= deadline) break
        const ref = refs.get(mode.name) as NonNullable<ReturnType<typeof refs.get>>
        const tally = tallies.get(mode.name) as Tally
        const out = join(root, mode.name, `it-${it}`)
        const steps: string[] = []
        server.hits.clear()
        // Which run of the sequence is stopped, and how.
        const victim = Math.floor(random() * ref.runs.length)
        const pick = random()
        const signal: NodeJS.Signals = pick < 0.7 ? 'SIGKILL' : pick < 0.85 ? 'SIGTERM' : 'SIGINT'
        // A quarter of the kills land in the run's last fifth: the manifest, report and last seals.
        const span = ref.ms[victim]
        const delay = 5 + Math.floor(random() < 0.25 ? span * (0.8 + 0.25 * random()) : random() * span)
        const again = signal !== 'SIGKILL' && random() < 0.4 ? Math.floor(random() * 300) : undefined
        // Not in modes with a transform pool: strace follows its worker processes too, and a
        // worker killed is an image failed, not a run cut.
        const [set, most] = SYSCALLS[Math.floor(random() * SYSCALLS.length)]
        const stop: Stop =
          random() < (options.strace ?? 0) && !mode.real
            ? { syscalls: set, when: 1 + Math.floor(random() * most) }
            : { signal, delay, again }
        const said =
          'syscalls' in stop
            ? `SIGKILL at ${stop.syscalls}#${stop.when}`
            : `${signal}@${delay}${again !== undefined ? `+${again}` : ''}`
        const rerunKills = random() < 0.35 ? (random() < 0.4 ? 2 : 1) : 0
        const rerunDelays = Array.from({ length: rerunKills }, () =>
          random() < 0.5 ? 5 + Math.floor(random() * 250) : 5 + Math.floor(random() * ref.ms[victim]),
        )
        let last: Run | undefined
        for (const [r, args] of ref.runs.entries()) {
          const full = [...args, '-o', out]
          if (r === victim) {
            const first = await runCli(full, stop)
            steps.push(`run ${r} ${said}→${first.code ?? first.signal}`)
            if (first.code !== null && ![0, 1, 130].includes(first.code))
              steps.push(
                `!unexpected exit ${first.code}: ${first.stderr.trim().split('\n').slice(-3).join(' | ')}`,
              )
            // A run that ended with the results' code (the signal came once all was done, or as the
            // manifest and report were written) said the folder was whole: it must be the reference's.
            if ((first.code === 0 || first.code === 1) && r === ref.runs.length - 1) {
              const early = differences(ref.snap, await snapshot(out, server.origin))
              if (first.code !== ref.code) early.push(`exit ${first.code}, expected ${ref.code}`)
              for (const d of early) steps.push(`!after exit ${first.code} of the stopped run: ${d}`)
            }
            if (first.signal === 'SIGKILL') for (const d of await statusAfterKill(out)) steps.push(`!${d}`)
            if (first.code !== null && !full.includes('webdataset'))
              for (const d of await manifestAgrees(out)) steps.push(`!after exit ${first.code}: ${d}`)
            for (const d of rerunDelays) {
              const k = await runCli(full, { signal: 'SIGKILL', delay: d })
              steps.push(`rerun SIGKILL@${d}→${k.code ?? k.signal}`)
              if (k.signal === 'SIGKILL') for (const p of await statusAfterKill(out)) steps.push(`!${p}`)
              if (k.code !== null && ![0, 1].includes(k.code))
                steps.push(`!unexpected exit ${k.code}: ${k.stderr.trim().split('\n').slice(-3).join(' | ')}`)
            }
          }
          last = await runCli(full)
          if (r === victim) steps.push(`rerun→${last.code}`)
        }
        const problems = steps.filter((s) => s.startsWith('!'))
        if (last?.code !== ref.code)
          problems.push(
            `exit ${last?.code}, expected ${ref.code}: ${last?.stderr.trim().split('\n').slice(-3).join(' | ')}`,
          )
        const snap = await snapshot(out, server.origin)
        // Every run is over: a process of this build still alive outlived the run that started it.
        let alive = await survivors(root)
        for (let wait = 0; alive.length > 0 && wait < 20; wait++) {
          await new Promise((r) => setTimeout(r, 100))
          alive = await survivors(root)
        }
        if (alive.length > 0) problems.push(`processes outlive their run: ${alive.join('; ')}`)
        problems.push(...differences(ref.snap, snap))
        if ((snap.leftovers as string[]).length > 0)
          problems.push(`leftovers ${JSON.stringify(snap.leftovers)}`)
        tally.iterations++
        if (problems.length > 0) {
          tally.violations++
          log(
            `VIOLATION ${mode.name} seed=${options.seed} it=${it} [${steps.filter((s) => !s.startsWith('!')).join('; ')}]`,
          )
          for (const p of problems) log(`  ${p}`)
        }
        if (problems.length === 0 || !options.keep) await rm(out, { recursive: true, force: true })
        else log(`  kept ${out}`)
      }
    }
  } finally {
    await server.close()
    if (!options.keep) await rm(root, { recursive: true, force: true })
  }
  return tallies
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string', default: '1' },
      iterations: { type: 'string', default: '20' },
      modes: { type: 'string', default: MODES.map((m) => m.name).join(',') },
      minutes: { type: 'string' },
      keep: { type: 'boolean', default: false },
      strace: { type: 'string', default: '0' },
    },
  })
  const tallies = await crashLoop({
    seed: Number(values.seed),
    iterations: Number(values.iterations),
    modes: values.modes.split(','),
    minutes: values.minutes ? Number(values.minutes) : undefined,
    keep: values.keep,
    strace: Number(values.strace),
  })
  let bad = 0
  for (const [mode, t] of tallies) {
    process.stdout.write(`${mode}: ${t.iterations} iterations, ${t.violations} with violations\n`)
    bad += t.violations
  }
  process.exitCode = bad > 0 ? 1 : 0
}
