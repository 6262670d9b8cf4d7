import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Command } from 'commander'
import { UsageError } from '../errors.js'
import { defaults, type Options } from '../options.js'
import { pull } from '../pull.js'
import { formatBytes, plural } from '../report/format.js'
import { argumentSource, checkInputs } from '../sources/lines.js'
import { STOP_SIGNALS } from './stop-words.js'

/** One pass of `imgpull bench` over the list. */
export interface BenchPass {
  /** Limits of the pass as shown: 1 and 1, or the pull defaults. */
  concurrency: string
  perHost: string
  ok: number
  failed: number
  bytes: number
  /** Wall time of the pass, ms. */
  ms: number
  /** Failure counts by error code. */
  errors: Record<string, number>
}

export interface BenchOptions {
  /** Where the temporary folders go. @default os.tmpdir() */
  tmp?: string
  signal?: AbortSignal
  /** Called as each pass starts, e.g. to say so. */
  onPass?: (label: string) => void
}

export interface BenchReport {
  urls: number
  concurrent: BenchPass
  sequential: BenchPass
  /** One-by-one time over concurrent time. */
  speedup: number
}

/** One pass into `out`: one by one, or with the pull defaults for the limits. */
async function pass(
  urls: string[],
  out: string,
  oneByOne: boolean,
  signal?: AbortSignal,
): Promise<BenchPass> {
  const limits: Options = oneByOne ? { concurrency: 1, perHost: 1 } : {}
  const p: BenchPass = {
    concurrency: String(limits.concurrency ?? defaults.concurrency),
    perHost: String(limits.perHost ?? defaults.perHost),
    ok: 0,
    failed: 0,
    bytes: 0,
    ms: 0,
    errors: {},
  }
  const started = performance.now()
  for await (const r of pull(urls, { ...limits, out, journal: false, signal })) {
    if (r.status === 'failed') {
      p.failed++
      const code = r.error ?? 'error'
      p.errors[code] = (p.errors[code] ?? 0) + 1
    } else {
      p.ok++
      p.bytes += r.bytes ?? 0
    }
  }
  p.ms = performance.now() - started
  if (signal?.aborted) throw signal.reason
  return p
}

/**
 * The article's experiment on any list: download it at the defaults, then one by one, each time
 * into a fresh temporary folder that is removed afterwards. The concurrent pass goes first, so
 * whatever a cache warms up helps the one-by-one pass: the speedup shown is, if anything, low.
 */
export async function runBench(urls: string[], o: BenchOptions = {}): Promise<BenchReport> {
  const root = await mkdtemp(join(o.tmp ?? tmpdir(), 'imgpull-bench-'))
  try {
    o.onPass?.(`at the defaults (${defaults.concurrency} at once, ${defaults.perHost} per host)`)
    const concurrent = await pass(urls, join(root, 'concurrent'), false, o.signal)
    o.onPass?.('one by one')
    const sequential = await pass(urls, join(root, 'one-by-one'), true, o.signal)
    return { urls: urls.length, concurrent, sequential, speedup: sequential.ms / concurrent.ms }
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`

function describe(p: BenchPass): string {
  const failed = Object.entries(p.errors)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code} ×${n}`)
    .join(', ')
  const failures = p.failed ? `, ${p.failed} failed (${failed})` : ''
  return `${p.ok} ${plural(p.ok, 'image')}, ${formatBytes(p.bytes)} in ${seconds(p.ms)}${failures}`
}

/** The report as printed. */
export function formatBench(r: BenchReport): string[] {
  const { concurrent: c, sequential: s } = r
  const rows: [string, string][] = [
    ['one by one:', describe(s)],
    [`${c.concurrency} at once (${c.perHost} per host):`, describe(c)],
  ]
  const width = Math.max(...rows.map(([label]) => label.length)) + 1
  const lines = rows.map(([label, text]) => label.padEnd(width) + text)
  lines.push(`speedup: ${r.speedup.toFixed(1)}x (${seconds(s.ms)} -> ${seconds(c.ms)})`)
  if (c.ok !== s.ok) {
    lines.push('note: the two passes got different numbers of images; the speedup compares unequal work')
  }
  return lines
}

/** `imgpull bench LIST`: the article's experiment, one by one against concurrent, on your own URLs. */
export function benchCommand(program: Command): Command {
  return program
    .command('bench')
    .description(
      'download a list once at the defaults and once one by one (in temporary folders, removed after) and print the speedup',
    )
    .argument('<inputs...>', 'image URLs, files with one URL per line, or - for stdin')
    .option('--json', 'print the report as one JSON object')
    .action(async (inputs: string[], _o: unknown, command: Command) => {
      // The main program has a --json of its own, which commander gives precedence: read both.
      const o = command.optsWithGlobals<{ json?: boolean }>()
      await checkInputs(inputs)
      const urls: string[] = []
      for await (const url of argumentSource(inputs)) urls.push(url)
      if (urls.length === 0) throw new UsageError('no URLs to bench: the inputs hold none')
      const stop = new AbortController()
      const onSignal = () => stop.abort(new Error('interrupted'))
      // Ctrl-C stops the pass and still removes the temporary folders: ours is the only handler
      // while the bench runs (an exit-at-once handler would leave them behind).
      const saved = STOP_SIGNALS.map((name) => [name, process.listeners(name)] as const)
      // Added before the others go, and taken away after they are back: a signal never meets a
      // moment without a handler (see swapSignalHandler).
      for (const [name, listeners] of saved) {
        process.on(name, onSignal)
        for (const listener of listeners) process.off(name, listener)
      }
      const say = (line: string) => process.stderr.write(`${line}\n`)
      try {
        if (!o.json) say(`imgpull bench: ${urls.length} ${plural(urls.length, 'URL')}, twice`)
        const report = await runBench(urls, {
          signal: stop.signal,
          onPass: o.json ? undefined : (label) => say(`  ${label}...`),
        })
        if (o.json) process.stdout.write(`${JSON.stringify(report)}\n`)
        else process.stdout.write(`${formatBench(report).join('\n')}\n`)
        process.exitCode = report.concurrent.failed || report.sequential.failed ? 1 : 0
      } catch (error) {
        if (!stop.signal.aborted) throw error
        say('imgpull bench: interrupted; temporary folders removed')
        process.exitCode = 130
      } finally {
        for (const [name, listeners] of saved) {
          for (const listener of listeners) process.on(name, listener)
          process.off(name, onSignal)
        }
      }
    })
}
