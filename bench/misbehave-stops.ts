/**
 * Side by side on runs that are stopped: each case is one way a bulk download was reported to be
 * interrupted (the report is named with it): Ctrl-C once and twice, SIGTERM (systemd, `docker
 * stop` and its SIGKILL 10 s later), SIGHUP (a terminal or ssh session closed), kill -9 at
 * three moments, SIGSTOP for 20 s while the connections die (a laptop lid), stdout into `head
 * -1` or /dev/full, stderr closed or into /dev/full, stdin closed, and a list read from a pipe
 * whose writer dies mid-line. A local image server (test/support/image-server.ts, 30 kB/s an
 * answer) serves 30 JPEGs through a relay that can let its connections die; each tool (imgpull,
 * curl `--parallel`, `wget2 -i`, `aria2c -i`, each at its defaults, messages on) reads the list
 * into a folder of its own, is stopped the case's way, then runs again as its own resume (imgpull
 * the same command, `curl -C -`, `wget2 -c`, `aria2c -c`). Prints per case and tool the images
 * kept whole after the stopped run, the files under final names that are not the image (CUT), files
 * under names no image has (a URL cut short, fetched as its own), the leftovers (partial files of the tool's own: `.imgpull/parts`, `.aria2` beside a file, wget2's
 * and curl's none), the exit code, whether the rerun leaves every image whole and how many whole
 * images it asked for again from byte 0, and the first line the tool said.
 *
 *   npm run build && node --import tsx bench/misbehave-stops.ts [--only ID,ID] [--tools imgpull,curl]
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { connect, createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { type ImageServer, startImageServer } from '../test/support/image-server.js'
import {
  benchArgs,
  cellText as cellLine,
  digest,
  errorLine as firstError,
  printTable,
  toolTable,
} from './misbehave.js'
import { IMGPULL } from './tools.js'

/** Images in a case's list. */
const COUNT = 30
/** When the stop comes, ms after the run starts. */
const STRIKE_MS = 2_000
/** Each run's cap, ms. */
const CAP_MS = 60_000

/** Where a tool's stdout and stderr go in a case (`pipe`: read by the bench). */
type Sink = 'pipe' | 'head' | 'full' | 'closed'

interface StopCase {
  id: string
  /** The report this case is modelled on. */
  report: string
  /** The stop, on the run's process group (as a terminal signals a foreground job), from STRIKE_MS. */
  stop?(run: Run, relay: Relay): Promise<void>
  stdout?: Sink
  stderr?: Sink
  /** Standard input closed (`<&-`), the list given as `-`. */
  stdinClosed?: boolean
  /** The list written down a pipe whose writer dies midway, mid-line. */
  dyingWriter?: boolean
  /** Runs stopped so, one after the other, before the rerun that is let finish. */
  times?: number
}

interface Run {
  child: ChildProcess
  done: Promise<{ code: number | null; signal: string | null; stderr: string }>
}

const group = (run: Run, signal: NodeJS.Signals) => {
  try {
    process.kill(-run.child.pid!, signal)
  } catch {}
}
/** `signals` to the run's group, `gapMs` apart. */
const signals =
  (gapMs: number, ...names: NodeJS.Signals[]) =>
  async (run: Run) => {
    for (const [i, name] of names.entries()) {
      if (i > 0) await sleep(gapMs)
      group(run, name)
    }
  }

function cases(): StopCase[] {
  return [
    {
      id: 'ctrl-c',
      report:
        'devonfw/ide#536 (an interrupted download kept under its final name, taken as whole by the rerun); rockdaboot/wget2#4 (Ctrl-C: the partial file kept, to resume): one SIGINT',
      stop: signals(0, 'SIGINT'),
    },
    {
      id: 'ctrl-c-twice',
      report:
        'rockdaboot/wget2#215 (the first Ctrl-C a soft stop, the second a hard one): two SIGINTs 300 ms apart',
      stop: signals(300, 'SIGINT', 'SIGINT'),
    },
    {
      id: 'sigterm',
      report: 'aria2/aria2#132 (a stop a supervisor asked for, with SIGTERM): one SIGTERM',
      stop: signals(0, 'SIGTERM'),
    },
    {
      id: 'docker-stop',
      report:
        'aria2/aria2#132 (SIGKILLed when its shutdown took longer than the system allows): `docker stop`, SIGTERM then SIGKILL 10 s later',
      stop: async (run) => {
        group(run, 'SIGTERM')
        const killed = setTimeout(() => group(run, 'SIGKILL'), 10_000)
        await run.done
        clearTimeout(killed)
      },
    },
    {
      id: 'sigterm-twice',
      report:
        'no bug report found: an operator who sends SIGTERM twice (`systemctl stop` then `kill`): two SIGTERMs 300 ms apart',
      stop: signals(300, 'SIGTERM', 'SIGTERM'),
    },
    {
      id: 'sighup',
      report:
        'houtianze/bypy#604 (a download that stops when its ssh session closes): one SIGHUP, as a shell passes it on',
      stop: signals(0, 'SIGHUP'),
    },
    {
      id: 'kill-9-thrice',
      report:
        'aria2/aria2#1278 and DataBiosphere/azul#2838 (files a killed run left, then resumed): SIGKILL at 2 s in three runs in a row',
      stop: signals(0, 'SIGKILL'),
      times: 3,
    },
    {
      id: 'stop-cont',
      report:
        'Sude-/lgogdownloader#50 and conda-incubator/conda-mirror#53 (a download hung for good on a connection dead after a reconnect): SIGSTOP, the connections left silent, SIGCONT 20 s later',
      stop: async (run, relay) => {
        group(run, 'SIGSTOP')
        relay.freeze()
        await sleep(20_000)
        group(run, 'SIGCONT')
      },
    },
    {
      id: 'stdout-head',
      report:
        'curl/curl#5594 (`curl -Is URL | head -1`: `(23) Failed writing body`): stdout read for one line, then closed (imgpull `--json`, curl `-w`, wget2 `-o /dev/stdout`, aria2c at its defaults)',
      stdout: 'head',
    },
    {
      id: 'stdout-full',
      report:
        'sharkdp/fd#737 (`fd > /dev/full` exited 1 without a word) and curl/curl#13836 (`curl -D /dev/full` exited 0): stdout to /dev/full',
      stdout: 'full',
    },
    {
      id: 'stderr-closed',
      report: 'no bug report found: a cron line with `2>&-`: fd 2 closed',
      stderr: 'closed',
    },
    {
      id: 'stderr-full',
      report:
        'amiantos/lurker#442 and Yeachan-Heo/gajae-code#3810 (a process ended by a write to stderr or stdout that failed: EIO, a terminal gone): stderr to /dev/full',
      stderr: 'full',
    },
    {
      id: 'stdin-closed',
      report: 'no bug report found: `-i -` in a cron job with `<&-`: the list given as `-`, fd 0 closed',
      stdinClosed: true,
    },
    {
      id: 'list-writer-dies',
      report:
        'no bug report found: a URL list read from a pipe whose writer died midway: 20 lines, then half a line, then the pipe closed',
      dyingWriter: true,
    },
  ]
}

interface StopTool {
  id: string
  /** The command for the list (`-`: stdin) into `out`; `resume`: the tool's own resume; `talk`: its per-file lines on stdout. */
  args(ctx: { list: string; config: string; out: string }, resume: boolean, talk: boolean): string[]
}

const TOOLS: StopTool[] = [
  {
    id: 'imgpull',
    args: ({ list, out }, _resume, talk) => [
      process.execPath,
      IMGPULL,
      list,
      '-o',
      out,
      '--no-report',
      ...(talk ? ['--json'] : []),
    ],
  },
  {
    id: 'curl',
    args: ({ config, out }, resume, talk) => [
      'curl',
      '--parallel',
      '--fail',
      '-S',
      '--no-progress-meter',
      '--output-dir',
      out,
      ...(resume ? ['-C', '-'] : []),
      ...(talk ? ['-w', '%{filename_effective}\\n'] : []),
      '-K',
      config,
    ],
  },
  {
    id: 'wget2',
    args: ({ list, out }, resume, talk) => [
      'wget2',
      '--no-config',
      '-nv',
      ...(talk ? ['-o', '/dev/stdout'] : []),
      ...(resume ? ['-c'] : []),
      '-P',
      out,
      '-i',
      list,
    ],
  },
  {
    id: 'aria2c',
    args: ({ list, out }, resume) => [
      'aria2c',
      '--summary-interval=0',
      ...(resume ? ['-c'] : []),
      '-d',
      out,
      '-i',
      list,
    ],
  },
]

/**
 * A TCP relay to the image server whose connections can be let die: `freeze()` stops carrying
 * bytes on every connection open, both ways, and closes none (a NAT entry or Wi-Fi gone while a
 * laptop slept); connections made after it work.
 */
interface Relay {
  origin: string
  freeze(): void
  close(): Promise<void>
}

async function startRelay(target: ImageServer): Promise<Relay> {
  const { port } = new URL(target.origin)
  const open = new Set<[Socket, Socket]>()
  const server = createServer((a) => {
    const b = connect(Number(port), '127.0.0.1')
    const pair: [Socket, Socket] = [a, b]
    open.add(pair)
    for (const s of pair) {
      s.on('error', () => {})
      s.on('close', () => {
        open.delete(pair)
        for (const t of pair) if (!t.destroyed && !(t as { frozen?: boolean }).frozen) t.destroy()
      })
    }
    a.pipe(b)
    b.pipe(a)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const frozen: Socket[] = []
  return {
    origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    freeze() {
      for (const [a, b] of open) {
        a.unpipe(b)
        b.unpipe(a)
        for (const s of [a, b]) {
          ;(s as { frozen?: boolean }).frozen = true
          s.pause()
          frozen.push(s)
        }
      }
      open.clear()
    },
    async close() {
      for (const s of frozen) s.destroy()
      for (const [a, b] of open) for (const s of [a, b]) s.destroy()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

/** A tool's own partial files: not downloads. */
const OWN = /^\.imgpull\/parts\/|\.aria2$|\.part$|\.tmp$/

/** The files in `dir`, by path from it: downloads, and the tool's own partial files (leftovers). */
async function filesIn(dir: string): Promise<{ kept: Map<string, Buffer>; leftovers: string[] }> {
  const kept = new Map<string, Buffer>()
  const leftovers: string[] = []
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])
  for (const e of entries) {
    if (!e.isFile()) continue
    const rel = relative(dir, join(e.parentPath, e.name))
    if (OWN.test(rel)) leftovers.push(rel)
    else if (/^\.imgpull|^manifest\.jsonl$|^report\.html$/.test(rel)) continue
    else {
      const bytes = await readFile(join(dir, rel)).catch(() => undefined)
      if (bytes) kept.set(rel, bytes)
    }
  }
  return { kept, leftovers }
}

/** Starts `argv` as the leader of a process group of its own (as a shell starts a job), its streams as the case says. */
function start(argv: string[], c: StopCase, stdin?: string): Run {
  // Closing a descriptor, or pointing it at /dev/full, is the shell's: `exec` in sh does it.
  const redirect = [
    c.stdout === 'full' ? '>/dev/full' : '',
    c.stderr === 'full' ? '2>/dev/full' : c.stderr === 'closed' ? '2>&-' : '',
    c.stdinClosed ? '<&-' : '',
  ].join(' ')
  const child = spawn('sh', ['-c', `exec "$@" ${redirect}`, 'sh', ...argv], {
    detached: true,
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    env: { ...process.env, IMGPULL_PROGRESS_INTERVAL: '1' },
  })
  if (stdin !== undefined) child.stdin!.end(stdin)
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d) => {
    if (stderr.length < 8000) stderr += d
  })
  child.stderr!.on('error', () => {})
  // `| head -1`: one line read, then the reader goes.
  if (c.stdout === 'head') {
    let seen = ''
    child.stdout!.setEncoding('utf8').on('data', (d) => {
      seen += d
      if (seen.includes('\n')) child.stdout!.destroy()
    })
  } else child.stdout!.resume()
  child.stdout!.on('error', () => {})
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {}
  }, CAP_MS)
  const done = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stderr })
    }),
  )
  return { child, done }
}

/** Lines that say nothing went wrong: progress, summaries, per-file lines. */
const NOISE =
  /^imgpull: \d+(?:\/\d+ \(| ·)|img\/s|^Details:|^Downloading|^\d+ (?:images?|downloaded)|^\[#|^Download Results|^gid|^=+$|^-+$|^Status Legend|^\(OK\)|^\d{2}:\d{2}:\d{2}|^\|OK|^[a-f0-9]{6}\|OK|^Run the same/i

const errorLine = (stderr: string) => firstError(stderr, NOISE)

const cellText = (line: string) => cellLine(line, /\/tmp\/stops-[^/\s'"]+\//g)

interface Outcome {
  kept: number
  /** Files under an image's name that are not the image. */
  cut: number
  /** Files under other names (a URL cut short fetched as its own). */
  other: number
  leftovers: number
  code: string
  rerunRight: number
  rerunCode: string
  refetched: number
  said: string
}

const codeOf = (r: { code: number | null; signal: string | null }) =>
  r.signal ? `killed by ${r.signal}` : `exit ${r.code}`

async function runOne(tool: StopTool, c: StopCase, server: ImageServer): Promise<Outcome> {
  const relay = await startRelay(server)
  const root = await mkdtemp(join(tmpdir(), `stops-${tool.id}-`))
  try {
    const out = join(root, 'out')
    await mkdir(out)
    const names = Array.from({ length: COUNT }, (_, i) => `img${i}.jpg`)
    const urls = names.map((n) => `${relay.origin}/${c.id}/${tool.id}/${n}`)
    const list = join(root, 'list.txt')
    const config = join(root, 'curl.conf')
    const curlLines = names.map((n, i) => `url = "${urls[i]}"\noutput = "${n}"\n`)
    await writeFile(list, `${urls.join('\n')}\n`)
    await writeFile(config, curlLines.join(''))
    const expected = new Map(names.map((n) => [n, digest(server.bytes(`/${c.id}/${tool.id}/${n}`))]))
    const fromStdin = c.stdinClosed || c.dyingWriter
    const ctx = { list: fromStdin ? '-' : list, config: fromStdin ? '-' : config, out }
    const talk = c.stdout !== undefined
    let first = { code: null as number | null, signal: null as string | null, stderr: '' }
    for (let i = 0; i < (c.times ?? 1); i++) {
      // The writer that dies: 20 lines, then half of the 21st, then nothing (a closed pipe).
      const stdin = c.dyingWriter
        ? tool.id === 'curl'
          ? `${curlLines.slice(0, 20).join('')}url = "${urls[20]!.slice(0, -6)}`
          : `${urls.slice(0, 20).join('\n')}\n${urls[20]!.slice(0, -6)}`
        : undefined
      const run = start(tool.args(ctx, i > 0, talk), c, stdin)
      if (c.stop) {
        const timer = setTimeout(() => void c.stop!(run, relay), STRIKE_MS)
        first = await run.done
        clearTimeout(timer)
      } else first = await run.done
    }
    const { kept: left, leftovers } = await filesIn(out)
    let kept = 0
    let cut = 0
    let other = 0
    for (const [rel, bytes] of left) {
      if (expected.get(rel) === digest(bytes)) kept++
      else if (expected.has(rel)) cut++
      else other++
    }
    const whole = new Set([...left].filter(([rel, b]) => expected.get(rel) === digest(b)).map(([rel]) => rel))
    // The rerun: the same command on the whole list, with the tool's own resume, nothing stopped.
    const rerunFrom = server.log.length
    const again = await start(tool.args({ list, config, out }, true, false), { id: c.id, report: '' }).done
    let refetched = 0
    for (const r of server.log.slice(rerunFrom)) {
      const name = r.url.split('?')[0]!.split('/').at(-1)!
      if (whole.has(name) && (r.headers.range === undefined || /^bytes=0-/.test(r.headers.range))) refetched++
    }
    const after = await filesIn(out)
    const rerunRight = names.filter((n) => {
      const b = after.kept.get(n)
      return b !== undefined && digest(b) === expected.get(n)
    }).length
    return {
      kept,
      cut,
      other,
      leftovers: leftovers.length,
      code: codeOf(first),
      rerunRight,
      rerunCode: codeOf(again),
      refetched,
      said: errorLine(first.stderr),
    }
  } finally {
    await relay.close()
    await rm(root, { recursive: true, force: true })
  }
}

async function main() {
  const { only, toolIds } = benchArgs()
  const server = await startImageServer({ sizes: [20_000, 40_000], bandwidth: 30_000 })
  const chosen = cases().filter((c) => !only || only.includes(c.id))
  const { tools, rows } = toolTable(TOOLS, toolIds)
  for (const c of chosen) {
    const cells: string[] = []
    for (const t of tools) {
      const r = await runOne(t, c, server)
      cells.push(
        `${r.kept}/${COUNT} whole${r.cut ? `, **${r.cut} CUT**` : ''}${r.other ? `, ${r.other} under another name` : ''}${r.leftovers ? `, ${r.leftovers} left over` : ''}, ${r.code}; rerun ${r.rerunRight === COUNT ? 'all right' : `**${r.rerunRight}/${COUNT} right**`}${r.rerunCode === 'exit 0' ? '' : ` (${r.rerunCode})`}${r.refetched ? `, ${r.refetched} whole asked again` : ''}${r.said ? `; _${cellText(r.said)}_` : ''}`,
      )
      console.error(`${c.id} ${t.id}: ${JSON.stringify(r)}`)
    }
    rows.push(`| ${c.id} | ${cells.join(' | ')} |`)
  }
  await server.close()
  printTable(rows, chosen)
}

await main()
