/**
 * `npm run bench`: imgpull and its peers against the same local image server, side by side.
 * See bench/README.md for the scenarios, the flags and how to install the peers.
 */
import { spawnSync } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statfsSync,
  writeFileSync,
} from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { makeCerts, tlsPair } from '../test/support/certs.js'
import { type ImageServer, startImageServer } from '../test/support/image-server.js'
import { gnuTime, measure } from './measure.js'
import { formatProfile, summarizeProfile } from './profile.js'
import { startRelay } from './relay.js'
import {
  formatTable,
  type RunRecord,
  type ScenarioResult,
  summarize,
  svgChart,
  type ToolResult,
} from './report.js'
import { type Config, SCENARIOS, type Scenario, scenario } from './scenarios.js'
import {
  type Entry,
  IMGPULL,
  IMGPULL_MODULES,
  imgpull,
  ROOT,
  type RunContext,
  type Tool,
  writeLines,
} from './tools.js'
import { verifyDir } from './verify.js'

/** Not a side-by-side scenario (no peer has a queue): bench/queue.ts, run as a child. */
const QUEUE = 'queue'
const ALL = [...SCENARIOS, QUEUE]

const USAGE = `Usage: npm run bench -- [options]

  --scenario NAME   run only these (repeatable or comma-separated): ${ALL.join(', ')}
                    (queue: bench/queue.ts, one and two workers on Redis, when redis-server is installed)
  --skip NAME       leave these out (e.g. --skip million)
  --runs N          runs per tool; the table shows medians (default 3, --quick 1)
  --quick           smaller lists and one run: the whole bench in a few minutes
  --million N       URLs in the million scenario (default 1000000, --quick 20000; 0 skips it)
  --table-rows N    rows of the million-table scenario's Parquet (default 1000000, --quick 20000; 0 skips it)
  --tools IDS       only tools whose id starts with one of these (comma-separated), e.g. imgpull,curl
  --dir PATH        where the output folders go (default: /var/tmp, a real disk as users have;
                    rows marked "output in /dev/shm" write to memory beside it)
  --profile         one more imgpull run per scenario under node --cpu-prof, summarized
  --variant ARGS    also run imgpull with these arguments (repeatable), e.g. --variant='--no-journal' (with =),
                    after the reference row's own (resize: --resize ...), and checked as that row is
  -h, --help        this text`

/** A tool whose first run takes longer than this gets no more runs (its time is clear enough). */
const SLOW_RUN = 40

function options() {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', multiple: true },
      skip: { type: 'string', multiple: true },
      runs: { type: 'string' },
      quick: { type: 'boolean', default: false },
      million: { type: 'string' },
      'table-rows': { type: 'string' },
      tools: { type: 'string' },
      profile: { type: 'boolean', default: false },
      variant: { type: 'string', multiple: true },
      dir: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const list = (v: string[] | undefined) => (v ?? []).flatMap((s) => s.split(',')).filter(Boolean)
  const quick = values.quick!
  const number = (name: string, v: string | undefined, fallback: number) => {
    if (v === undefined) return fallback
    const n = Number(v)
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} expects a whole number, got ${v}`)
    return n
  }
  const config: Config = {
    quick,
    million: number('million', values.million, quick ? 20_000 : 1_000_000),
    tableRows: number('table-rows', values['table-rows'], quick ? 20_000 : 1_000_000),
  }
  const skip = new Set(list(values.skip))
  if (config.million === 0) skip.add('million')
  if (config.tableRows === 0) skip.add('million-table')
  const chosen = list(values.scenario)
  for (const id of [...chosen, ...skip]) {
    if (!ALL.includes(id)) throw new Error(`unknown scenario ${id}\n\n${USAGE}`)
  }
  const scenarios = (chosen.length ? chosen : ALL).filter((id) => !skip.has(id))
  return {
    config,
    scenarios: scenarios.filter((id) => id !== QUEUE),
    queue: scenarios.includes(QUEUE),
    runs: Math.max(1, number('runs', values.runs, quick ? 1 : 3)),
    tools: list(values.tools ? [values.tools] : undefined),
    profile: values.profile!,
    variants: values.variant ?? [],
    dir: values.dir ?? defaultDir(),
  }
}

/**
 * Output folders go to a real disk, as a user's would: /var/tmp (never a tmpfs on Debian), else
 * the system temp folder. Creating files there costs kernel time that /dev/shm hides; rows marked
 * "output in /dev/shm" show the difference in the same run.
 */
function defaultDir(): string {
  return existsSync('/var/tmp') ? '/var/tmp' : tmpdir()
}

/**
 * On ext4, deleting one tool's 5,000 files makes every file the next tool creates in the
 * following minute cost about half a millisecond of kernel time (the inode allocator skips inodes
 * freed in the last 60 s, reading each): a cost of this bench, not of the tools. So outputs are
 * set aside after each run and deleted only when a scenario ends, followed by a pause before the
 * next scenario's runs (when the outputs are on such a file system).
 */
const SETTLE_MS = 60_000
const TMPFS_MAGIC = 0x01021994

function onTmpfs(path: string): boolean {
  try {
    return statfsSync(path).type === TMPFS_MAGIC
  } catch {
    return false
  }
}

function* mapIter<T, U>(items: Iterable<T>, f: (t: T) => U): Generator<U> {
  for (const item of items) yield f(item)
}

/** Watch the server during one run: time to first request, and requests over time. */
function watch(server: ImageServer) {
  let spawned = 0
  let first: number | undefined
  const samples: [number, number][] = []
  const fast = setInterval(() => {
    if (spawned && server.stats.requests > 0) {
      first = (performance.now() - spawned) / 1000
      clearInterval(fast)
    }
  }, 1)
  const slow = setInterval(() => samples.push([performance.now(), server.stats.requests]), 100)
  return {
    spawned(at: number) {
      spawned = at
    },
    stop() {
      clearInterval(fast)
      clearInterval(slow)
      samples.push([performance.now(), server.stats.requests])
      const total = server.stats.requests
      const at = (share: number) => samples.find(([, n]) => n >= share * total)
      const a = at(0.1)
      const b = at(0.9)
      const sustained = a && b && b[0] > a[0] ? ((b[1] - a[1]) * 1000) / (b[0] - a[0]) : undefined
      return { first, sustained }
    },
  }
}

/** Clear the server's counters for a run; returns responses still open from an earlier run. */
async function resetServer(server: ImageServer): Promise<number> {
  // A killed tool's connections take a moment to close on the server's side.
  for (let i = 0; i < 40 && server.stats.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 25))
  server.stats.requests = 0
  server.stats.maxInFlight = server.stats.inFlight
  server.stats.status.clear()
  // Faults like `status=503&times=1` count attempts per URL: every run starts from zero.
  server.hits.clear()
  return server.stats.inFlight
}

async function runOnce(
  sc: Scenario,
  tool: Tool,
  server: ImageServer,
  ctx: RunContext,
  run: number,
  expected: ReturnType<Scenario['expected']>,
  work: string,
  ca: string | undefined,
  wrap: (argv: string[]) => string[] = (a) => a,
): Promise<RunRecord> {
  rmSync(ctx.out, { recursive: true, force: true })
  mkdirSync(ctx.out, { recursive: true })
  const argv = wrap([...(await tool.prepare(ctx)), ...(ca ? tool.trust!(ca) : [])])
  const leftover = await resetServer(server)
  const w = watch(server)
  const m = await measure(argv, { cap: sc.cap * 1000, work, onSpawn: (at) => w.spawned(at) })
  const seen = w.stop()
  // Let connections the tool left behind (a killed tool's) close before the next run counts.
  await new Promise((r) => setTimeout(r, 50))
  const v = tool.verify
    ? await tool.verify(ctx.out, expected, Boolean(sc.faultOf))
    : verifyDir(ctx.out, expected, tool.ignore, Boolean(sc.faultOf))
  const count = (names: Iterable<string>) => {
    const counts: Record<string, number> = {}
    for (const name of names) {
      const kind = sc.faultOf?.(name) ?? 'no fault'
      counts[kind] = (counts[kind] ?? 0) + 1
    }
    return Object.keys(counts).length ? counts : undefined
  }
  const missing =
    v.okItems && [...mapIter(sc.items(), (i) => i)].filter((i) => i.retrievable && !v.okItems!.has(i.name))
  setAside(ctx.out, work)
  return {
    run,
    wall: m.wall,
    cpu: m.user === undefined ? undefined : m.user + m.sys!,
    user: m.user,
    sys: m.sys,
    maxRss: m.maxRss,
    exitCode: m.exitCode,
    killed: m.killed,
    firstRequest: seen.first,
    sustained: sc.throughput ? seen.sustained : undefined,
    requests: server.stats.requests,
    refused: server.stats.status.get(429),
    maxInFlight: Math.max(0, server.stats.maxInFlight - leftover),
    ok: v.ok,
    corrupt: v.corrupt,
    stray: v.stray,
    bytes: v.bytes,
    corruptNames: v.corruptNames,
    corruptBy: v.corruptItems && count(v.corruptItems),
    missingBy: missing && count(missing.map((i) => i.name)),
    strayNames: v.strayNames,
    stderr: m.stderr.trim().split('\n').slice(-5).join('\n'),
  }
}

let asideCount = 0
/** Move a run's output out of the way (to be deleted when the scenario ends), off the clock. */
function setAside(out: string, work: string): void {
  if (!existsSync(out)) return
  if (onTmpfs(out)) {
    // Memory is freed at once and has no inode allocator to disturb.
    rmSync(dirname(out) === work ? out : dirname(out), { recursive: true, force: true })
    return
  }
  const trash = join(work, 'trash')
  mkdirSync(trash, { recursive: true })
  renameSync(out, join(trash, String(++asideCount)))
}

/** Delete what the scenario's runs set aside, then let the disk's inode allocator settle. */
async function emptyTrash(work: string, more: boolean): Promise<void> {
  const trash = join(work, 'trash')
  if (!existsSync(trash)) return
  rmSync(trash, { recursive: true, force: true })
  if (!more) return
  process.stderr.write(
    `(deleted the scenario's outputs; waiting ${SETTLE_MS / 1000} s so the next scenario's file creations do not pay for it)\n`,
  )
  await new Promise((r) => setTimeout(r, SETTLE_MS))
}

async function runScenario(
  sc: Scenario,
  o: ReturnType<typeof options>,
  work: string,
  results: string,
  stamp: string,
): Promise<ScenarioResult> {
  const log = (s: string) => process.stderr.write(`${s}\n`)
  log(`\n[${sc.id}] ${sc.title}`)
  await sc.prepare?.()
  // Over TLS: a test CA of the run's own, which every tool is told to trust (checks stay on).
  const certs = sc.tls && makeCerts(mkdtempSync(join(work, `${sc.id}-certs-`)))
  const ca = certs ? certs.ca : undefined
  const server = await startImageServer({
    ...sc.server,
    record: false,
    ...(certs && { tls: { ...tlsPair(certs.good), http2: sc.tls!.http2 } }),
  })
  // A far server: every tool reaches it through the relay (bench/relay.ts).
  const relay = sc.rtt ? await startRelay(Number(new URL(server.origin).port), sc.rtt) : undefined
  const origin = relay ? relay.origin(new URL(server.origin).protocol.slice(0, -1)) : server.origin
  try {
    const started = performance.now()
    const expected = sc.expected(server)
    log(`[${sc.id}] expected bytes ready in ${((performance.now() - started) / 1000).toFixed(1)} s`)
    const entries = (): Iterable<Entry> =>
      mapIter(sc.items(), (item) => ({ url: origin + item.path, name: item.name }))
    // A scenario with an input of its own (a table) gives it to the tools in place of a URL list.
    const list = sc.input ? await sc.input(server, work) : join(work, `${sc.id}-list.txt`)
    if (!sc.input)
      await writeLines(
        list,
        mapIter(entries(), (e) => e.url),
      )
    else log(`[${sc.id}] input ${list} ready in ${((performance.now() - started) / 1000).toFixed(1)} s`)
    const ctxFor = (tool: Tool): RunContext => ({
      list,
      entries,
      out: join(
        tool.outRoot ? mkdtempSync(join(tool.outRoot, 'imgpull-bench-')) : work,
        `${sc.id}-${tool.id}`,
      ),
      work,
    })

    const wire = async () => {
      const curl = sc.tools().find((t) => t.id.startsWith('curl') && t.available)
      if (!curl) return undefined
      const config = join(work, 'wire.txt')
      await writeLines(
        config,
        mapIter(entries(), (e) => `url = "${e.url}"\noutput = "/dev/null"`),
      )
      const times: number[] = []
      for (let i = 0; i < 2; i++) {
        const trust = ca ? ['--cacert', ca] : []
        const m = await measure(['curl', '-s', '-Z', '--parallel-max', '64', ...trust, '--config', config], {
          cap: sc.cap * 1000,
          work,
        })
        times.push(m.wall)
      }
      return Math.min(...times)
    }
    const bound = await sc.bound(server, wire)

    const all = sc.tools()
    const base = all.find((t) => t.reference)
    for (const [i, v] of o.variants.entries()) {
      const args = v.split(/\s+/).filter(Boolean)
      const variant = imgpull({
        args: [...args, ...(base?.args ?? [])],
        label: `imgpull ${v}`,
        id: `imgpull-v${i + 1}`,
      })
      // It runs with the reference's arguments (the resize row's --resize): checked as that row is.
      all.splice(1 + i, 0, base?.verify ? { ...variant, verify: base.verify } : variant)
    }
    const tools: ToolResult[] = []
    const skipped: ScenarioResult['skipped'] = []
    const active: Tool[] = []
    for (const t of all) {
      if (o.tools.length && !o.tools.some((p) => t.id.startsWith(p))) continue
      if (!t.available) {
        skipped.push({ label: t.label, why: `not installed: ${t.missing}` })
        continue
      }
      if (ca && !t.trust) {
        skipped.push({ label: t.label, why: 'no way to trust the test CA on its command line' })
        continue
      }
      active.push(t)
      tools.push({
        id: t.id,
        label: t.label,
        command: ca ? `${t.command} ${t.trust!('CA').join(' ')}` : t.command,
        concurrency: t.concurrency,
        reference: Boolean(t.reference),
        runs: [],
      })
    }
    const runs = sc.throughput ? 1 : o.runs
    const done = new Set<string>()
    // Runs interleave the tools, so drift on the machine touches them all alike.
    for (let run = 1; run <= runs; run++) {
      for (const [i, tool] of active.entries()) {
        if (done.has(tool.id)) continue
        const r = await runOnce(sc, tool, server, ctxFor(tool), run, expected, work, ca)
        tools[i].runs.push(r)
        log(
          `[${sc.id}] ${tool.label}, run ${run}/${runs}: ${r.wall.toFixed(2)} s${r.killed ? ' (killed)' : ''}, ${r.ok}/${expected.retrievable} ok, ${r.corrupt} corrupt, ${r.stray} stray${r.exitCode ? `, exit ${r.exitCode}` : ''}`,
        )
        if (r.killed || r.wall > SLOW_RUN) done.add(tool.id)
      }
    }
    const reference = tools.find((t) => t.reference)
    for (const t of tools) {
      if (!t.runs.length) continue
      t.summary = summarize(t.runs)
      if (reference?.runs.length) t.ratio = t.summary.wall / summarize(reference.runs).wall
    }

    const result: ScenarioResult = {
      id: sc.id,
      title: sc.title,
      count: sc.count,
      retrievable: expected.retrievable,
      cap: sc.cap,
      bound,
      tools,
      skipped,
    }

    const ref = active.find((t) => t.reference)
    if (o.profile && ref) {
      const dir = join(work, 'prof')
      rmSync(dir, { recursive: true, force: true })
      mkdirSync(dir)
      log(`[${sc.id}] profiling ${ref.label}...`)
      await runOnce(sc, ref, server, ctxFor(ref), 0, expected, work, ca, (argv) =>
        argv[1] === IMGPULL
          ? [argv[0], '--cpu-prof', `--cpu-prof-dir=${dir}`, IMGPULL_MODULES, ...argv.slice(2)]
          : argv,
      )
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
      if (file) {
        const kept = join(results, `profile-${sc.id}-${stamp}.cpuprofile`)
        copyFileSync(join(dir, file), kept)
        result.profile = [`profile of ${ref.label} (${kept}):`, ...formatProfile(summarizeProfile(kept))]
      }
    }
    return result
  } finally {
    await relay?.close()
    await server.close()
  }
}

async function main() {
  const o = options()
  if (!existsSync(IMGPULL)) throw new Error(`${IMGPULL} is missing: run npm run build (npm run bench does)`)
  const results = join(ROOT, 'bench', 'results')
  mkdirSync(results, { recursive: true })
  const work = mkdtempSync(join(o.dir, 'imgpull-bench-'))
  const cleanup = () => rmSync(work, { recursive: true, force: true })
  process.once('SIGINT', () => {
    cleanup()
    process.exit(130)
  })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)
  const git = spawnSync('git', ['describe', '--always', '--dirty'], { cwd: ROOT, encoding: 'utf8' })
  const revision = git.status === 0 ? git.stdout.trim() : (process.env.BENCH_REVISION ?? 'unknown revision')
  const machine = `imgpull ${revision}, ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}`
  process.stderr.write(
    `imgpull bench: ${o.scenarios.join(', ')}; ${machine}; work in ${work}${gnuTime ? '' : '\n(no GNU time at /usr/bin/time: peak RSS and CPU are n/a; apt-get install -y time)'}\n`,
  )
  const done: ScenarioResult[] = []
  const printed: string[] = []
  const save = () => {
    const json = {
      date: new Date().toISOString(),
      machine,
      options: { ...o.config, runs: o.runs, scenarios: o.scenarios, tools: o.tools, dir: o.dir },
      scenarios: done,
    }
    writeFileSync(join(results, `bench-${stamp}.json`), `${JSON.stringify(json, null, 2)}\n`)
    writeFileSync(join(results, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`)
    const svg = svgChart(done, `bench ${stamp}, ${machine}`)
    writeFileSync(join(results, `bench-${stamp}.svg`), svg)
    writeFileSync(join(results, 'latest.svg'), svg)
    writeFileSync(join(results, `bench-${stamp}.txt`), `${printed.join('\n')}\n`)
  }
  try {
    for (const [n, id] of o.scenarios.entries()) {
      const result = await runScenario(scenario(id, o.config), o, work, results, stamp)
      await emptyTrash(work, n < o.scenarios.length - 1)
      done.push(result)
      const lines = [
        '',
        ...formatTable(result, id.startsWith('million') ? 1 : o.runs),
        ...(result.profile ?? []),
      ]
      printed.push(...lines)
      // Tables go to stdout as each scenario ends; progress went to stderr.
      console.log(lines.join('\n'))
      save()
    }
    if (o.queue) {
      const lines = ['', ...queueBench(o.dir, o.config.quick)]
      printed.push(...lines)
      console.log(lines.join('\n'))
      save()
    }
  } finally {
    cleanup()
  }
  console.log(`\nresults: ${join(results, `bench-${stamp}.json`)} and .svg (also latest.json, latest.svg)`)
}

/**
 * bench/queue.ts in a child process (it starts its own redis-server and image server): its lines,
 * or why it did not run.
 */
function queueBench(dir: string, quick: boolean): string[] {
  const title = 'queue: one and two `imgpull worker`s on a real redis-server (imgpull only)'
  if (spawnSync('redis-server', ['--version']).status !== 0)
    return [title, '  not run: redis-server is not installed (apt-get install redis-server)']
  const args = ['--import', 'tsx', join(ROOT, 'bench', 'queue.ts'), '--dir', dir]
  if (quick) args.push('--count', '1000', '--rows', '100000')
  const child = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' })
  if (child.status !== 0) return [title, `  failed: ${child.stderr.trim().split('\n').at(-1) ?? ''}`]
  return [
    title,
    ...child.stdout
      .trimEnd()
      .split('\n')
      .map((l) => `  ${l}`),
  ]
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
})
