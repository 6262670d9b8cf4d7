/**
 * Start-up: from spawning the command to its first request reaching a local server, the figure
 * the README's Benchmark section gives per Node version. Not part of `npm test`.
 *
 *   node --import tsx bench/first-request.ts [--runs 15] [--bin dist/imgpull.js]
 *
 * Each run spawns `node BIN URL -o TMP --quiet --retries 0` against a server that answers 404, and
 * takes the wall time (ms) and the child's CPU (user + system, ms, from /proc, 10 ms ticks) at the
 * moment the request arrives. Prints the medians and the fastest wall. The Node running this script
 * runs the command: give another with its own binary (`/path/to/node22 --import tsx ...`). Linux
 * only (/proc). `NODE_DISABLE_COMPILE_CACHE=1` in the environment measures without Node's compile
 * cache (Node 22.1+).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '15' }, bin: { type: 'string', default: 'dist/imgpull.js' } },
})
const runs = Number(values.runs)
const bin = resolve(values.bin!)
const TICK_MS = 10 // /proc/PID/stat counts in clock ticks of 10 ms (USER_HZ = 100)

let arrived: (() => void) | undefined
const server = createServer((_, res) => {
  arrived?.()
  res.writeHead(404).end()
})
await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/a.jpg`

const walls: number[] = []
const cpus: number[] = []
for (let i = 0; i < runs; i++) {
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
  const [wall, cpu] = await new Promise<[number, number]>((done, fail) => {
    // A command that dies before asking (a native module built for another Node) would leave this
    // waiting for ever.
    child.on('close', (code) => {
      if (arrived) fail(new Error(`the command exited (${code}) before its first request: ${stderr.trim()}`))
    })
    arrived = () => {
      arrived = undefined
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ')
      done([performance.now() - started, (Number(fields[11]) + Number(fields[12])) * TICK_MS])
    }
  })
  await closed
  rmSync(out, { recursive: true, force: true })
  walls.push(wall)
  cpus.push(cpu)
}
server.close()
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]
console.log(
  `${process.version}: first request after ${median(walls).toFixed(0)} ms (median of ${runs}, fastest ${Math.min(...walls).toFixed(0)} ms), child CPU ${median(cpus)} ms`,
)
