// What runs through CONNECT tunnels leave on the process: every tunnel closed by the end of each
// run, whatever ended the connections inside them, and a process that ends by itself.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { makeCerts, type TestCerts, tlsPair } from './support/certs.js'
import { cleanup, tempDir } from './support/cli.js'
import { type ForwardProxy, startForwardProxy } from './support/forward-proxy.js'
import { type ImageServer, startImageServer } from './support/image-server.js'

let dir: string
let certs: TestCerts
let server: ImageServer
let proxy: ForwardProxy
before(async () => {
  dir = await tempDir()
  certs = makeCerts(dir)
  server = await startImageServer({ tls: tlsPair(certs.good) })
  proxy = await startForwardProxy()
})
after(async () => {
  await Promise.all([server.close(), proxy.close()])
  await cleanup(dir)
})

/**
 * Runs `body` (an ES module's code) in a child node that loads TypeScript (tsx), in `dir`; its
 * stdout. A child that has not ended by itself after `ms` is killed: a failure, not a hung test.
 */
async function child(name: string, body: string, ms: number): Promise<string> {
  const script = join(dir, `${name}.mjs`)
  await writeFile(script, body)
  const { NODE_OPTIONS: _, ...inherited } = process.env
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), script],
    {
      cwd: dir,
      env: inherited,
      timeout: ms,
      killSignal: 'SIGKILL',
    },
  )
  return stdout
}

test('runs one after another through CONNECT tunnels to a TLS server that cuts and closes connections: each right, no socket left after any, and the process ends by itself', async () => {
  // A process that ran 16 such runs never exited, spinning in Node's shutdown: that one was the
  // test server's own reset of a socket it had just ended (see test/support/reset.ts), but a
  // tunnel or the TLS connection in it left open by a run hangs a process the same way (open
  // sockets keep it alive). The child only awaits its runs.
  const src = join(fileURLToPath(new URL('..', import.meta.url)), 'src', 'index.ts')
  const out = await child(
    'tunnels',
    `import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
const { pull } = await import(${JSON.stringify(src)})
const base = ${JSON.stringify(server.url('/'))}
// TCP sockets of every thread (transfers run on threads of their own by default): descriptors
// whose socket is in the kernel's TCP tables.
const inodes = (file) => readFileSync(file, 'utf8').split('\\n').slice(1).filter(Boolean).map((l) => l.trim().split(/\\s+/)[9])
const sockets = () => {
  const tcp = new Set([...inodes('/proc/self/net/tcp'), ...inodes('/proc/self/net/tcp6')])
  return readdirSync('/proc/self/fd').filter((fd) => {
    try { return tcp.has(/^socket:\\[(\\d+)\\]$/.exec(readlinkSync('/proc/self/fd/' + fd))?.[1]) } catch { return false }
  }).length
}
const left = []
const oks = []
for (let k = 0; k < 6; k++) {
  // Whole answers, answers cut after 2000 bytes the first time (reset, then retried), and
  // answers whose end is the connection's close.
  const urls = Array.from({ length: 24 }, (_, i) =>
    base + 'r' + k + '-' + i + '.jpg' + ['', '?reset=2000&times=1', '?close=1'][i % 3])
  let ok = 0
  for await (const r of pull(urls, { out: 'out' + k, report: false, caCert: ${JSON.stringify(certs.ca)},
    proxy: ${JSON.stringify(proxy.url)}, concurrency: 8, retries: 2 })) if (r.status === 'ok') ok++
  oks.push(ok)
  left.push(sockets())
}
console.log(JSON.stringify({ oks: [...new Set(oks)], left: [...new Set(left)] }))`,
    120_000,
  )
  assert.deepEqual(JSON.parse(out), { oks: [24], left: [0] })
})

test("a test server's reset of a connection it has just ended closes it: the process ends by itself", async () => {
  // Node 20: `resetAndDestroy` in the turn after `end()`, the shutdown still pending, is refused
  // (EINVAL) and leaves the handle open for good; the process then spun in its shutdown until
  // killed. The test servers reset connections with `resetConnection`, which destroys one so.
  const helper = join(fileURLToPath(new URL('.', import.meta.url)), 'support', 'reset.ts')
  const out = await child(
    'reset-after-end',
    `import { createServer, connect } from 'node:net'
const { resetConnection } = await import(${JSON.stringify(helper)})
const server = createServer((socket) => {
  socket.on('error', () => {})
  socket.end()
  // The turn after end(): libuv's shutdown is under way, not done.
  process.nextTick(() => process.nextTick(() => {
    resetConnection(socket)
    server.close()
  }))
})
server.listen(0, '127.0.0.1', () => {
  const client = connect(server.address().port, '127.0.0.1')
  client.on('error', () => {})
  client.on('end', () => client.destroy())
  client.resume()
})
process.on('exit', () => console.log('exited'))`,
    20_000,
  )
  assert.equal(out, 'exited\n')
})
