import { spawnSync } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { verifyShards } from './shards.js'
import type { Expected, Verdict } from './verify.js'

const here = dirname(fileURLToPath(import.meta.url))
export const ROOT = resolve(here, '..')
/** The bin users run (bundled). */
export const IMGPULL = join(ROOT, 'dist', 'imgpull.js')
/** The same CLI unbundled, for profiles that tell imgpull's modules and undici apart. */
export const IMGPULL_MODULES = join(ROOT, 'dist', 'cli', 'bin.js')

/** One item of a list: its URL and the file name a tool should give it. */
export interface Entry {
  url: string
  name: string
}

/** What a tool gets for one run. */
export interface RunContext {
  /** A file with one URL per line. */
  list: string
  /** The same URLs with their file names, for tools that take names (curl, aria2c). */
  entries: () => Iterable<Entry>
  /** Empty output folder. */
  out: string
  /** Scratch folder for the tool's own input files. */
  work: string
}

export interface Tool {
  /** Short stable id, for --tools and the JSON. */
  id: string
  /** Name in the table. */
  label: string
  /** What the tool runs at once, for the notes. */
  concurrency: string
  /** The command line, as run. */
  command: string
  available: boolean
  /** Why not, when not available. */
  missing?: string
  /** Write the tool's input files; returns its argv. */
  prepare(ctx: RunContext): Promise<string[]>
  /** Files of the tool's own that are not downloads (journal, manifest, report). */
  ignore?(rel: string): boolean
  /** Is this imgpull (the reference for ratios)? */
  reference?: boolean
  /** imgpull's extra arguments. */
  args?: string[]
  /**
   * Where this tool's output folder goes, when not in the bench's folder (the real disk): e.g.
   * `/dev/shm`, for a row that shows what the file system costs.
   */
  outRoot?: string
  /** Check the output folder, when it is not a folder of files (WebDataset shards). */
  verify?(dir: string, expected: Expected, detail: boolean): Promise<Verdict>
  /**
   * The arguments that make the tool trust the CA of this PEM file, added to its command line in a
   * scenario served over TLS (certificate checks stay on); without it the tool is not run there.
   */
  trust?(ca: string): string[]
}

function which(command: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : undefined
}

/** Write lines to a file without building the whole text in memory (a million-line list). */
export async function writeLines(path: string, lines: Iterable<string>): Promise<void> {
  const stream = createWriteStream(path)
  let batch: string[] = []
  const flush = async () => {
    if (!stream.write(`${batch.join('\n')}\n`))
      await new Promise<void>((r) => stream.once('drain', () => r()))
    batch = []
  }
  for (const line of lines) {
    batch.push(line)
    if (batch.length >= 10_000) await flush()
  }
  if (batch.length) await flush()
  await new Promise<void>((res, rej) => stream.end((e?: Error | null) => (e ? rej(e) : res())))
}

/** imgpull through its CLI. `reference` marks the run the other rows are compared with. */
export function imgpull(
  o: { args?: string[]; label?: string; id?: string; reference?: boolean; outRoot?: string } = {},
): Tool {
  const extra = o.args ?? []
  const ignore = (rel: string) =>
    rel === 'manifest.jsonl' ||
    rel === 'report.html' ||
    (rel.startsWith('.imgpull/') && !rel.startsWith('.imgpull/parts/'))
  const shards = extra.join(' ').includes('--output-format webdataset')
  return {
    outRoot: o.outRoot,
    id: o.id ?? 'imgpull',
    label: o.label ?? 'imgpull',
    reference: o.reference ?? false,
    args: extra,
    concurrency: concurrencyOf(extra),
    command: ['imgpull LIST -o DIR --quiet', ...extra].join(' '),
    available: true,
    prepare: async (ctx) => [process.execPath, IMGPULL, ctx.list, '-o', ctx.out, '--quiet', ...extra],
    trust: (ca) => ['--ca-cert', ca],
    ignore,
    // Staged samples and shards being written that a run left behind count as stray, as part files do.
    ...(shards && {
      verify: (dir, expected, detail) =>
        verifyShards(
          dir,
          expected,
          (rel) => ignore(rel) && !/^\.imgpull\/shards\/(\d+\/|.*\.(tmp|rows)$)/.test(rel),
          detail,
        ),
    }),
  }
}

function concurrencyOf(extra: string[]): string {
  const c = extra.indexOf('-c')
  const h = extra.indexOf('--per-host')
  if (c === -1 && h === -1) return 'the defaults'
  return `${c === -1 ? 'default' : extra[c + 1]}, ${h === -1 ? 'default' : extra[h + 1]} per host`
}

let python: { path?: string; missing?: string } | undefined
function findPython() {
  if (python) return python
  const r = spawnSync('python3', ['-c', 'import sys, requests; print(sys.executable)'], { encoding: 'utf8' })
  python =
    r.status === 0
      ? { path: r.stdout.trim() }
      : { missing: r.error ? 'python3 not found' : 'python3 has no requests module' }
  return python
}

/** The article's scripts (bench/peers/), as published but for where the list comes from. */
export function articleScript(kind: 'sequential' | 'threadpool'): Tool {
  const py = findPython()
  const script = join(here, 'peers', `article_${kind}.py`)
  return {
    id: `python-${kind}`,
    label: kind === 'sequential' ? 'article: python one by one' : 'article: python ThreadPool',
    concurrency: kind === 'sequential' ? '1' : 'ThreadPoolExecutor() default: min(32, cores + 4)',
    command: `python3 bench/peers/article_${kind}.py LIST DIR`,
    available: Boolean(py.path),
    missing: py.missing,
    prepare: async (ctx) => [py.path!, script, ctx.list, ctx.out],
  }
}

export function aria2c(jobs?: number): Tool {
  const path = which('aria2c')
  const flags = [
    '--quiet=true',
    '--max-tries=6',
    '--retry-wait=1',
    '--timeout=15',
    '--auto-file-renaming=false',
    ...(jobs ? [`--max-concurrent-downloads=${jobs}`] : []),
  ]
  return {
    id: jobs ? `aria2c-j${jobs}` : 'aria2c',
    label: jobs ? `aria2c -j ${jobs}` : 'aria2c',
    concurrency: jobs ? String(jobs) : '5 (default -j)',
    command: `aria2c -i LIST -d DIR ${flags.join(' ')}`,
    available: Boolean(path),
    missing: 'apt-get install aria2',
    prepare: async (ctx) => {
      const input = join(ctx.work, 'aria2-input.txt')
      await writeLines(
        input,
        (function* () {
          for (const e of ctx.entries()) yield `${e.url}\n  out=${e.name}`
        })(),
      )
      return [path!, '--input-file', input, '--dir', ctx.out, ...flags]
    },
    trust: (ca) => [`--ca-certificate=${ca}`],
  }
}

/** curl -Z; `http1`: `--http1.1`, where curl takes HTTP/2 when a TLS server offers it. */
export function curl(o: { max?: number; immediate?: boolean; http1?: boolean } = {}): Tool {
  const path = which('curl')
  const max = o.max ?? 50
  const flags = [
    '--parallel',
    '--parallel-max',
    String(max),
    ...(o.immediate ? ['--parallel-immediate'] : []),
    ...(o.http1 ? ['--http1.1'] : []),
    '--silent',
    '--no-progress-meter',
    '--show-error',
    '--fail',
    '--retry',
    '5',
    '--speed-limit',
    '1',
    '--speed-time',
    '15',
  ]
  return {
    id: `curl-p${max}${o.immediate ? '-immediate' : ''}${o.http1 ? '-http1.1' : ''}`,
    label: `curl -Z --parallel-max ${max}${o.immediate ? ' --parallel-immediate' : ''}${o.http1 ? ' --http1.1' : ''}`,
    concurrency: String(max),
    command: `curl ${flags.join(' ')} --config LIST.curl`,
    available: Boolean(path),
    missing: 'apt-get install curl',
    prepare: async (ctx) => {
      const config = join(ctx.work, 'curl-config.txt')
      await writeLines(
        config,
        (function* () {
          for (const e of ctx.entries()) yield `url = "${e.url}"\noutput = "${join(ctx.out, e.name)}"`
        })(),
      )
      return [path!, ...flags, '--config', config]
    },
    trust: (ca) => ['--cacert', ca],
  }
}

export function wget2(threads?: number): Tool {
  const path = which('wget2')
  const flags = [
    '--no-config',
    '--quiet',
    '--tries=6',
    '--read-timeout=15',
    '--cut-file-get-vars',
    ...(threads ? [`--max-threads=${threads}`] : []),
  ]
  return {
    id: threads ? `wget2-t${threads}` : 'wget2',
    label: threads ? `wget2 --max-threads ${threads}` : 'wget2',
    concurrency: threads ? String(threads) : '5 (default --max-threads)',
    command: `wget2 -i LIST -P DIR ${flags.join(' ')}`,
    available: Boolean(path),
    missing: 'apt-get install wget2',
    prepare: async (ctx) => [path!, '--input-file', ctx.list, '--directory-prefix', ctx.out, ...flags],
    trust: (ca) => [`--ca-certificate=${ca}`],
  }
}
