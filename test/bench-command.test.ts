import assert from 'node:assert/strict'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { cleanup, runCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'

let server: ImageServer
let dir: string

before(async () => {
  // 250 ms to first byte: six files one by one take about six times as long as all at once, a
  // ratio that a loaded machine's few ms of overhead per file cannot hide.
  server = await startImageServer({ ttfb: 250, sizes: [2_000, 20_000] })
  dir = await tempDir('imgpull-bench-test-')
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

/** Run `imgpull bench` with its own TMPDIR, so the test can see what it leaves there. */
async function bench(args: string[]) {
  const tmp = await tempDir('imgpull-bench-tmp-')
  const result = await runCli(['bench', ...args], { env: { TMPDIR: tmp } })
  // Node's compile cache (Node 22+, see bin.ts) goes to TMPDIR too: Node's, kept on purpose.
  const left = (await readdir(tmp, { recursive: true })).filter((p) => !p.startsWith('node-compile-cache'))
  await cleanup(tmp)
  return { ...result, left }
}

test('imgpull bench downloads the list twice, prints both times and the speedup, and removes its folders', async () => {
  const list = join(dir, 'six.txt')
  await writeFile(list, `${['a1', 'a2', 'a3', 'a4', 'a5', 'a6'].map((n) => server.url(n)).join('\n')}\n`)
  const before = server.stats.requests
  const r = await bench([list])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /^one by one: +6 images, [\d.]+ kB in [\d.]+ s$/m)
  assert.match(r.stdout, /^\d+ at once \(\S+ per host\): +6 images, [\d.]+ kB in [\d.]+ s$/m)
  const speedup = Number(/^speedup: ([\d.]+)x \([\d.]+ s -> [\d.]+ s\)$/m.exec(r.stdout)?.[1])
  // Six at once against six in a row (6x at best): a loaded machine measured exactly 2.0 once.
  assert.ok(speedup >= 1.5, `speedup ${speedup} with 250 ms to first byte`)
  assert.equal(server.stats.requests - before, 12, 'every URL fetched once per pass')
  assert.deepEqual(r.left, [], 'temporary folders removed')
})

test('imgpull bench --json reports failures per pass and exits 1', async () => {
  const r = await bench([server.url('b1'), server.url('b2?status=404'), '--json'])
  assert.equal(r.code, 1, r.stderr)
  const report = JSON.parse(r.stdout)
  assert.equal(report.urls, 2)
  for (const pass of [report.concurrent, report.sequential]) {
    assert.equal(pass.ok, 1)
    assert.equal(pass.failed, 1)
    assert.deepEqual(pass.errors, { 'http-404': 1 })
  }
  assert.equal(report.sequential.concurrency, '1')
  assert.deepEqual(r.left, [], 'temporary folders removed')
})

test('imgpull bench with a list that holds no URLs is a usage error', async () => {
  const list = join(dir, 'empty.txt')
  await writeFile(list, '# nothing here\n')
  const r = await bench([list])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /no URLs to bench/)
  assert.deepEqual(r.left, [])
})
