import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { onFailure } from '../src/fetch/retry-policy.js'
import { makeCerts, tlsPair } from './support/certs.js'
import { CLI, cleanup, tempDir } from './support/cli.js'
import { startImageServer } from './support/image-server.js'
import { makeImage } from './support/images.js'

// a list where every URL is another host keeps an idle keep-alive connection to each
// for seconds after its file; under `ulimit -n` the run ran out of file descriptors and failed
// files as `network` (connect EMFILE, or EMFILE opening a part file), each after its retries.

let dir: string
const servers: Server[] = []
let requests = 0
const bodyOf = (path: string) => makeImage(path, 5_000)

before(async () => {
  dir = await tempDir()
  // 100 origins on loopback, one port each; the run's own process holds the descriptors.
  for (let i = 0; i < 100; i++) {
    const server = createServer((req, res) => {
      requests++
      const body = bodyOf(req.url ?? '/')
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length }).end(body)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    servers.push(server)
  }
})

after(async () => {
  for (const server of servers) server.closeAllConnections()
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  await cleanup(dir)
})

/** The built CLI under `ulimit -n limit` (soft and hard: Node raises a soft limit to the hard one). */
function runLimited(
  limit: number,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(
    'bash',
    ['-c', `ulimit -n ${limit} && exec "$0" "$@"`, process.execPath, CLI, ...args],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env,
    },
  )
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d) => {
    stderr += d
  })
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })))
}

test('out of file descriptors (ulimit -n): the run slows down and keeps every file, no attempt spent', async () => {
  const urls = servers.map((s, i) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/f${i}.jpg`)
  const list = join(dir, 'hosts.txt')
  await writeFile(list, `${urls.join('\n')}\n`)
  const out = join(dir, 'out')
  const run = await runLimited(80, [list, '-o', out, '--no-report', '--retries', '1'])
  assert.equal(run.code, 0, run.stderr)
  const manifest = (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
  assert.equal(manifest.length, urls.length)
  for (const [i, row] of manifest.entries()) {
    assert.equal(row.status, 'ok', row.message)
    assert.deepEqual(await readFile(join(out, row.path)), bodyOf(new URL(row.url).pathname), `file ${i}`)
  }
  // the part file is opened once the answer is in hand; failing there threw the answer
  // away and asked again (about 4 requests a file). A connect that fails sends nothing. Some
  // answers are still asked again (Node 24: 111 to 132 requests here), never 4 a file.
  assert.ok(requests <= urls.length * 1.5, `${requests} requests for ${urls.length} files`)
})

test('a private CA in SSL_CERT_DIR, read with the first https:// connection while every descriptor is taken, is trusted all the same', async () => {
  // The folder's files were passed over as unreadable (EMFILE) and the run's trust made without
  // them, for the rest of the run: every file of the CA's host failed as `tls` (or `network`), exit 1.
  await mkdir(join(dir, 'certs'))
  const certs = makeCerts(join(dir, 'certs'))
  const folder = join(dir, 'cert-dir')
  await mkdir(folder)
  await copyFile(certs.ca, join(folder, 'company-ca.pem'))
  const secure = await startImageServer({ tls: tlsPair(certs.good) })
  const slow = await startImageServer()
  try {
    // Slow bodies from one host first, as many at once as -c: the https:// files start with every
    // descriptor taken.
    const plain = Array.from({ length: 200 }, (_, i) => slow.url(`/p${i}.jpg?size=40000&drip=100000`))
    const https = Array.from({ length: 20 }, (_, i) => secure.url(`/private-${i}.jpg`))
    const list = join(dir, 'private-ca.txt')
    await writeFile(list, `${[...plain, ...https].join('\n')}\n`)
    const out = join(dir, 'private-ca')
    const { NODE_EXTRA_CA_CERTS: _, SSL_CERT_FILE: __, ...env } = process.env
    const args = [list, '-o', out, '-c', '128', '--per-host', '128', '--threads', '0', '--no-report']
    const run = await runLimited(64, args, { ...env, SSL_CERT_DIR: folder })
    assert.equal(run.code, 0, run.stderr)
    assert.doesNotMatch(run.stderr, /not trusted|EMFILE/)
    const manifest = (await readFile(join(out, 'manifest.jsonl'), 'utf8')).trim().split('\n')
    assert.equal(
      manifest.filter((line) => JSON.parse(line).status === 'ok').length,
      plain.length + https.length,
    )
  } finally {
    await Promise.all([secure.close(), slow.close()])
  }
})

// hosts whose keep-alive hint is long (nginx's 75 s, 30 s here) kept the idle
// connection of each of the run's latest 4 x --concurrency origins open that long: past `ulimit -n`
// those held every descriptor, and new transfers failed for want of one until they closed (5 files
// a second where the run made 600; at -c 1000 under 4,096, files failed). Idle connections are now
// closed when a descriptor is wanted, as curl drops connections from its cache.
test('out of file descriptors with idle connections held: they are closed, and the files fetched', async () => {
  for (const server of servers) server.keepAliveTimeout = 30_000
  try {
    // Each host three times, a round of all 100 between: every connection idles between its files.
    const urls = [0, 1, 2].flatMap((round) =>
      servers.map((s, i) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/idle-${round}-${i}.jpg`),
    )
    const list = join(dir, 'idle-hosts.txt')
    await writeFile(list, `${urls.join('\n')}\n`)
    const out = join(dir, 'idle-out')
    // A file given 5 s: without the connections closed, they hold the descriptors for 30.
    const run = await runLimited(80, [list, '-o', out, '--no-report', '-c', '16', '--total-timeout', '5'])
    assert.equal(run.code, 0, run.stderr)
    const manifest = (await readFile(join(out, 'manifest.jsonl'), 'utf8')).trim().split('\n')
    const failed = manifest.map((line) => JSON.parse(line)).filter((row) => row.status !== 'ok')
    assert.deepEqual(failed, [])
    assert.equal(manifest.length, urls.length)
  } finally {
    for (const server of servers) {
      server.keepAliveTimeout = 5_000
      server.closeAllConnections()
    }
  }
})

test('onFailure: a want of file descriptors is retried after a growing wait, whatever the retries, while time is left', () => {
  const facts = {
    code: 'network',
    retryable: true,
    outOfTime: false,
    attempts: 1,
    retries: 0,
    stopping: false,
    maxRetryAfter: 60_000,
    random: 0.5,
  }
  assert.deepEqual(onFailure({ ...facts, outOfDescriptors: 1 }), {
    do: 'retry',
    delay: 250,
    pauseHost: false,
  })
  assert.deepEqual(onFailure({ ...facts, outOfDescriptors: 3 }), {
    do: 'retry',
    delay: 1_000,
    pauseHost: false,
  })
  assert.deepEqual(onFailure({ ...facts, outOfDescriptors: 9 }), {
    do: 'retry',
    delay: 2_000,
    pauseHost: false,
  })
  assert.deepEqual(onFailure({ ...facts, outOfDescriptors: 9, timeLeft: 1_000 }), { do: 'fail' })
  assert.deepEqual(onFailure({ ...facts, outOfDescriptors: 1, stopping: true }), { do: 'fail' })
  assert.deepEqual(onFailure(facts), { do: 'fail' }, 'anything else: --retries 0 is one attempt')
})

// every finished origin kept its idle connection for the server's keep-alive hint (up
// to a minute): a list of distinct hosts held thousands open. Past 4 times --concurrency origins
// (curl's connection cache), a new origin's idle connections are kept a second only.
test('a list of many hosts keeps no more idle connections than a connection cache holds', async () => {
  const { pull } = await import('../src/index.js')
  const own: Server[] = []
  let open = 0
  let openAtLast = 0
  let served = 0
  const count = 64
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer((req, res) => {
        const body = bodyOf(req.url ?? '/')
        setTimeout(() => {
          if (++served === count) openAtLast = open
          res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length }).end(body)
        }, 120)
      })
      server.keepAliveTimeout = 30_000 // a hint of timeout=30: nginx's and Apache's are 75 and 5
      server.on('connection', (socket) => {
        open++
        socket.on('close', () => open--)
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      own.push(server)
    }
    const urls = own.map((s, i) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/many-${i}.jpg`)
    let ok = 0
    for await (const r of pull(urls, { out: join(dir, 'many-hosts'), concurrency: 2 }))
      if (r.status === 'ok') ok++
    assert.equal(ok, count)
    // 8 origins keep theirs (4 x 2), the others theirs for a second after their file: some 17 files'
    // time at 2 a time (without the cap, all 64 stay open).
    assert.ok(openAtLast <= 40, `${openAtLast} connections open when the last file was served`)
  } finally {
    for (const server of own) server.closeAllConnections()
    await Promise.all(own.map((s) => new Promise((resolve) => s.close(resolve))))
  }
})

// Under a limit too low for the run (Node itself needs about 20 descriptors): Node 20's module
// loader failed to load imgpull's own chunks, and Node 22's open of the list file failed on a
// stream no one listened to; both printed a stack trace and exited 1.
test('a limit too low for imgpull to run: one line naming the limit, exit 3, never a stack trace', async () => {
  const list = join(dir, 'low-limit.txt')
  const port = (servers[0].address() as AddressInfo).port
  await writeFile(list, `http://127.0.0.1:${port}/low-limit.jpg\n`)
  for (const limit of [22, 24, 40]) {
    const out = join(dir, `low-limit-${limit}`)
    const { code, stderr } = await runLimited(limit, [list, '-o', out])
    assert.doesNotMatch(stderr, /^\s+at |Unhandled|node:internal/m, `ulimit -n ${limit}: ${stderr}`)
    // Enough to run on some Node versions: then the whole run.
    if (code === 0) continue
    assert.equal(code, 3, `ulimit -n ${limit}: ${stderr}`)
    assert.match(
      stderr,
      /^imgpull: cannot (?:load its own code(?: \(\S+\))?|open \S+): too many open files \(the limit of ulimit -n\); raise the limit on open files \(ulimit -n 4096\)/m,
    )
  }
})

// SQLite says only SQLITE_CANTOPEN for a journal it could not open for want of a descriptor: the
// run said "cannot write the journal: it cannot be opened; make it writable".
test('a journal that cannot be opened for want of descriptors is said so, not as a permission', async () => {
  const script = `
    import { openSync } from 'node:fs'
    import Database from 'better-sqlite3'
    import { localFault } from './src/sinks/local-faults.ts'
    const path = ${JSON.stringify(join(dir, 'no-fd.db'))}
    new Database(':memory:').close() // its native part loaded while there are descriptors
    try { for (;;) openSync('/dev/null', 'r') } catch {}
    try { new Database(path) } catch (error) {
      console.log(error.code)
      console.log(localFault(error, 'journal', path).message)
    }
  `
  const child = spawn(
    'bash',
    [
      '-c',
      'ulimit -n 256 && exec "$0" "$@"',
      process.execPath,
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      script,
    ],
    { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let stdout = ''
  child.stdout.setEncoding('utf8').on('data', (d) => {
    stdout += d
  })
  await new Promise((resolve) => child.on('close', resolve))
  const [code, message] = stdout.trim().split('\n')
  assert.equal(code, 'SQLITE_CANTOPEN')
  assert.equal(message, `cannot open ${join(dir, 'no-fd.db')}: too many open files (the limit of ulimit -n)`)
})

/** Run `script` (an ES module) under `ulimit -n limit`, from the repository: its stdout's lines. */
async function scriptLimited(limit: number, script: string): Promise<string[]> {
  const child = spawn(
    'bash',
    ['-c', `ulimit -n ${limit} && exec "$0" "$@"`, process.execPath, '--input-type=module', '-e', script],
    { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let stdout = ''
  child.stdout.setEncoding('utf8').on('data', (d) => {
    stdout += d
  })
  await new Promise((resolve) => child.on('close', resolve))
  return stdout.trim().split('\n')
}

// a gzip-encoded answer loaded its decoder's module then, mid-run: with every descriptor
// held by the run's connections, Node's loader could not open it. Node 20 keeps a failed import
// failed, so every later encoded answer failed too, as 'network' after --total-timeout; Node 24
// said "Cannot read package config /…/package.json: too many open files." The server below takes
// every descriptor as it answers, and frees them a second later (the part file waits for one).
test('an encoded answer met with every descriptor taken: its decoder is already loaded, the file kept', async () => {
  const out = join(dir, 'encoded-no-fd')
  const script = `
    import { closeSync, openSync } from 'node:fs'
    import { createServer } from 'node:http'
    import { gzipSync } from 'node:zlib'
    import { pull } from './dist/index.js'
    const body = Buffer.from(${JSON.stringify(bodyOf('/gz.jpg').toString('base64'))}, 'base64')
    const server = createServer((req, res) => {
      const held = []
      try { for (;;) held.push(openSync('/dev/null', 'r')) } catch {}
      setTimeout(() => { for (const fd of held) closeSync(fd) }, 1000)
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-encoding': 'gzip' }).end(gzipSync(body))
    })
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = 'http://127.0.0.1:' + server.address().port + '/gz.jpg'
    const options = { out: ${JSON.stringify(out)}, journal: false, report: false, totalTimeout: 6000 }
    for await (const r of pull([url], options)) console.log(r.status, r.path ?? r.message)
    server.close()
  `
  const [line] = await scriptLimited(256, script)
  assert.equal(line, 'ok gz.jpg')
  assert.deepEqual(await readFile(join(out, 'gz.jpg')), bodyOf('/gz.jpg'))
})

// a module of imgpull's loaded mid-run (the report's renderer at the end, a command's
// code, a thread's modules) where no descriptor was left. Node 24's loader says only "Cannot read
// package config /…/package.json: too many open files." (code ERR_INVALID_PACKAGE_CONFIG), which
// the run printed as it was, with exit 1; Node 20 and 22 give the open's EMFILE and the file.
test('imgpull’s own code that cannot load for want of descriptors: said as the limit, on every Node', async () => {
  const script = `
    import { closeSync, openSync } from 'node:fs'
    import { descriptorFault } from './dist/sinks/local-faults.js'
    const held = []
    try { for (;;) held.push(openSync('/dev/null', 'r')) } catch {}
    try {
      await import('./dist/report/html/write.js')
      console.log('loaded')
    } catch (error) {
      for (const fd of held) closeSync(fd)
      console.log(error.code)
      console.log(descriptorFault(error)?.message)
    }
  `
  const [code, message] = await scriptLimited(256, script)
  assert.ok(code === 'EMFILE' || code === 'ERR_INVALID_PACKAGE_CONFIG', code)
  const file = join(import.meta.dirname, '..', 'dist', 'report', 'html', 'write.js')
  assert.equal(
    message,
    code === 'EMFILE'
      ? `cannot load its own code (${file}): too many open files (the limit of ulimit -n)`
      : 'cannot load its own code: too many open files (the limit of ulimit -n)',
  )
})

// the same for a thread started mid-run (a shard's writer): on Node 24, with a few
// descriptors left, the thread's loader says "Cannot read package config /…/package.json: too many
// open files." (the words of a CI run's `ulimit -n 64` WebDataset run, which ended with exit 1);
// with fewer, Node says "Worker initialization failure: EMFILE". Each is said as the limit.
test('a thread whose modules cannot load for want of descriptors: said as the limit, however few are left', async () => {
  const script = `
    import { closeSync, openSync } from 'node:fs'
    import { Worker } from 'node:worker_threads'
    import { descriptorFault } from './dist/sinks/local-faults.js'
    for (let free = 0; free <= 10; free++) {
      const held = []
      try { for (;;) held.push(openSync('/dev/null', 'r')) } catch {}
      for (let i = 0; i < free; i++) closeSync(held.pop())
      const error = await new Promise((resolve) => {
        // Not the script's --input-type, which a thread's file cannot take.
        const worker = new Worker(new URL('./dist/version.js', import.meta.url), { execArgv: [] })
        worker.on('error', resolve)
        worker.on('exit', () => resolve(undefined))
      })
      for (const fd of held) closeSync(fd)
      if (error) console.log(JSON.stringify([error.message, descriptorFault(error)?.message ?? null]))
    }
  `
  const lines = (await scriptLimited(64, script)).filter(Boolean).map((line) => JSON.parse(line))
  assert.ok(lines.length > 0, 'no thread failed to start')
  for (const [error, said] of lines)
    assert.match(
      said ?? `(not said) ${error}`,
      /^cannot (?:load its own code(?: \(\S+\))?|open a file or start a thread): too many open files \(the limit of ulimit -n\)$/,
    )
})

// `--threads auto` starts its threads at a run's 16th file (AUTO_THREADS_AFTER); with few descriptors left (`ulimit -n
// 64`) Node cannot start one and says "Error [ERR_WORKER_INIT_FAILED]: Worker initialization
// failure: EMFILE", which the run printed as its warning. Said now as a want of descriptors is said
// elsewhere, naming the limit and how to raise it, and the run goes on on the main thread. The
// limit at which a thread fails to start depends on Node and the machine: the first of a few that does.
test('threads that cannot start for want of descriptors (--threads auto): said as the limit, every file got on the main thread', async () => {
  const images = await startImageServer()
  try {
    const urls = Array.from({ length: 260 }, (_, i) => images.url(`/t${i}.jpg`))
    const list = join(dir, 'threads.txt')
    await writeFile(list, `${urls.join('\n')}\n`)
    let tried = 0
    for (const limit of [40, 48, 56, 64, 72, 80]) {
      const out = join(dir, `threads-${limit}`)
      const run = await runLimited(limit, [list, '-o', out, '--no-report', '--threads', 'auto'])
      assert.equal(run.code, 0, `ulimit -n ${limit}: ${run.stderr}`)
      const rows = (await readFile(join(out, 'manifest.jsonl'), 'utf8')).trim().split('\n')
      assert.equal(rows.length, urls.length, `ulimit -n ${limit}`)
      assert.doesNotMatch(run.stderr, /ERR_WORKER_INIT_FAILED|Worker initialization/, `ulimit -n ${limit}`)
      if (!/transfer threads/.test(run.stderr)) continue
      tried++
      assert.match(
        run.stderr,
        /^imgpull: warning: transfer threads (?:die as they start|died) .*too many open files \(the limit of ulimit -n\).*: (?:every transfer stays on the main thread|the run goes on with \d+); raise the limit on open files \(ulimit -n 4096\) for threads to start$/m,
      )
    }
    assert.ok(tried > 0, 'no limit kept a thread from starting')
  } finally {
    await images.close()
  }
})
