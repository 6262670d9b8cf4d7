import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { partsBytes } from '../src/cli/pull-command.js'
import { pull } from '../src/index.js'
import { formatBytes } from '../src/report/format.js'
import { CLI, cleanup, outputFiles, runCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'

let server: ImageServer
let dir: string
before(async () => {
  ;[server, dir] = await Promise.all([startImageServer({ record: false }), tempDir()])
})
after(() => Promise.all([server.close(), cleanup(dir)]))

function runLimited(args: string[], kib: number) {
  const shell = ['-c', `ulimit -f ${kib}; exec "$0" "$@"`, process.execPath, CLI, ...args]
  const child = spawn('bash', shell, { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d) => {
    stderr += d
  })
  return new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stderr })),
  )
}

test('a stop at the limit on file sizes (ulimit -f) names the part it kept, which the rerun resumes', async () => {
  const out = join(dir, 'efbig')
  const list = [server.url('/big.jpg?size=400000'), '-o', out, '--no-report', '-q']
  const r = await runLimited(list, 200)
  assert.equal(r.code, 3, r.stderr)
  const parts = join(out, '.imgpull', 'parts')
  const held = partsBytes(readdirSync(parts, { recursive: true, withFileTypes: true }))
  assert.ok(held > 0, 'a part is kept')
  const m = /\(partial downloads in (\S+) hold ([\d.]+ [kM]?B): a rerun resumes them\)$/.exec(r.stderr.trim())
  assert.ok(m, r.stderr)
  assert.equal(m[1], parts)
  assert.equal(m[2], formatBytes(held))
  const rerun = await runCli(list)
  assert.equal(rerun.code, 0, rerun.stderr)
  assert.deepEqual(await outputFiles(out), ['big.jpg'])
})

test('the parts held are counted though one was removed since the folder was listed', async () => {
  const parts = join(dir, 'parts-gone')
  await mkdir(join(parts, 'sub'), { recursive: true })
  await Promise.all([
    writeFile(join(parts, 'a.part'), Buffer.alloc(1000)),
    writeFile(join(parts, 'b.part'), Buffer.alloc(500)),
    writeFile(join(parts, 'sub', 'c.part'), Buffer.alloc(250)),
  ])
  const listed = readdirSync(parts, { recursive: true, withFileTypes: true })
  assert.equal(partsBytes(listed), 1750)
  await rm(join(parts, 'b.part'))
  assert.equal(partsBytes(listed), 1250)
})

test('a result of the library has no key without a value: a skipped one no `message: undefined`, an ok one no `finalUrl: undefined`, none a `timings.ttfb: undefined`', async () => {
  const out = join(dir, 'library-keys')
  const urls = [server.url('/keys-a.jpg'), server.url('/keys-b.jpg?status=404'), 'not a url']
  const seen: string[] = []
  for (const round of [1, 2])
    for await (const r of pull(urls, { out, report: false })) {
      const kind = `${round} ${r.status}${r.earlier ? ' earlier' : ''}`
      seen.push(kind)
      const empty = [...Object.entries(r), ...Object.entries(r.timings).map(([k, v]) => [`timings.${k}`, v])]
        .filter(([, v]) => v === undefined || v === null)
        .map(([k]) => k)
      assert.deepEqual(empty, [], kind)
    }
  assert.deepEqual(seen.sort(), [
    '1 failed',
    '1 failed',
    '1 ok',
    '2 failed',
    '2 failed earlier',
    '2 skipped earlier',
  ])
})
