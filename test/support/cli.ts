import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ownChild } from './children.js'

/** The bin users run: the bundled CLI (scripts/bundle.mjs). */
export const CLI = fileURLToPath(new URL('../../dist/imgpull.js', import.meta.url))

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface CliOptions {
  input?: string | Buffer
  env?: Record<string, string>
  cwd?: string
  /** Leave standard input open for the test to write to (a list still coming down a pipe). */
  keepStdin?: boolean
  /** A command to run the CLI under (`['strace', '-f', ...]`), node and the CLI's arguments after it. */
  wrap?: string[]
  /** Start it as the leader of a process group of its own, as a shell does: `process.kill(-pid, signal)` then signals it and its children, as a Ctrl-C in a terminal does. */
  group?: boolean
}

/** Start the built CLI; the test decides when to wait, signal or kill it. */
export function startCli(args: string[], options: CliOptions = {}, cli = CLI) {
  const [command, ...before] = [...(options.wrap ?? []), process.execPath]
  const child = ownChild(
    spawn(command, [...before, cli, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: options.group,
    }),
  )
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d) => {
    stdout += d
  })
  child.stderr.setEncoding('utf8').on('data', (d) => {
    stderr += d
  })
  if (options.input !== undefined) child.stdin.end(options.input)
  else if (!options.keepStdin) child.stdin.end()
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  )
  return { child: child as ChildProcess, done }
}

export function runCli(args: string[], options: CliOptions = {}, cli = CLI) {
  return startCli(args, options, cli).done
}

/** A count as the closing line writes it (`12,345`, grouped), as a number; none (`undefined`) is 0. */
export const count = (text: string | undefined): number => Number((text ?? '0').replaceAll(',', ''))

/** A fresh temporary folder, removed by the returned cleanup. */
export async function tempDir(prefix = 'imgpull-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

export async function cleanup(...dirs: string[]): Promise<void> {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
}

/** Every file under `dir`, as paths relative to it, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort()
}

/** Output files only: the work folder, the manifest and the report left out. */
export async function outputFiles(dir: string): Promise<string[]> {
  return (await listFiles(dir)).filter(
    (f) => !f.startsWith('.imgpull') && f !== 'manifest.jsonl' && f !== 'report.html',
  )
}

/**
 * `run` on every item, `width` at a time (a pool): independent CLI runs one after another wait out
 * each start-up in turn, all at once start as many heaps. Rejects with the first failure, once the
 * runs already started have ended (none left running behind the test).
 */
export async function inPool<T>(items: readonly T[], width: number, run: (item: T) => Promise<void>) {
  let next = 0
  const lane = async () => {
    while (next < items.length) await run(items[next++] as T)
  }
  const lanes = await Promise.allSettled(Array.from({ length: Math.min(width, items.length) }, lane))
  for (const l of lanes) if (l.status === 'rejected') throw l.reason
}
