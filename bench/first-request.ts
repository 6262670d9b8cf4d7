/**
 * Start-up: from spawning the command to its first request reaching a local server, the figure
 * the README's Benchmark section gives per Node version. Not part of `npm test`.
 *
 *   node --import tsx bench/first-request.ts [--runs 15] [--bin dist/imgpull.js [--bin OTHER/imgpull.js]]
 *
 * Each run spawns `node BIN URL -o TMP --quiet --retries 0` against a server that answers 404, and
 * takes the wall time (ms) and the child's CPU (ms, user + system of all its threads, from
 * /proc/PID/task/TID/schedstat) at the moment the request arrives. Several `--bin`s run in turn,
 * one of each a round (the machine's load then weighs on each alike), after one run each that is
 * not counted (it writes the code cache, see src/cli/code-cache.ts). Prints each one's medians and
 * fastest wall. The Node running this script runs the command: give another with its own binary
 * (`/path/to/node22 --import tsx ...`). Linux only (/proc). `NODE_DISABLE_COMPILE_CACHE=1` in the
 * environment measures without the code cache.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '15' },
    bin: { type: 'string', multiple: true, default: ['dist/imgpull.js'] },
  },
})
const runs = Number(values.runs)
const bins = values.bin!.map((bin) => resolve(bin))

let arrived: (() => void) | undefined
const server = createServer((_, res) => {
  arrived?.()
  res.writeHead(404).end()
})
await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/a.jpg`

/** CPU time (ms) of every thread of `pid` so far; a thread that just ended is not counted. */
function cpuOf(pid: number): number {
  let ns = 0
  for (const task of readdirSync(`/proc/${pid}/task`))
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0])
    } catch {}
  return ns / 1e6
}

/** One run of `bin`: [wall ms, CPU ms] at its first request. */
async function once(bin: string): Promise<[number, number]> {
  const out = mkdtempSync(join(tmpdir(), 'imgpull-first-'))
  const started = performance.now()
  const child = spawn(process.execPath, [bin, url, '-o', out, '--quiet', '--retries', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  const closed = new Promise((done) => child.on('close', done))
  const figures = await new Promise<[number, number]>((done, fail) => {
    // A command that dies before asking (a native module built for another Node) would leave this
    // waiting for ever.
    child.on('close', (code) => {
      if (arrived) fail(new Error(`the command exited (${code}) before its first request: ${stderr.trim()}`))
    })
    arrived = () => {
      arrived = undefined
      done([performance.now() - started, cpuOf(child.pid!)])
    }
  })
  await closed
  rmSync(out, { recursive: true, force: true })
  return figures
}

const walls = bins.map(() => [] as number[])
const cpus = bins.map(() => [] as number[])
for (const bin of bins) await once(bin)
for (let i = 0; i < runs; i++)
  for (const [b, bin] of bins.entries()) {
    const [wall, cpu] = await once(bin)
    walls[b].push(wall)
    cpus[b].push(cpu)
  }
server.close()
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]
for (const [b, bin] of bins.entries())
  console.log(
    `${process.version} ${bin}: first request after ${median(walls[b]).toFixed(0)} ms (median of ${runs}, fastest ${Math.min(...walls[b]).toFixed(0)} ms), child CPU ${median(cpus[b]).toFixed(0)} ms`,
  )
