import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { cp, readdir, readFile, rename, symlink, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { Socket } from 'node:net'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { AUTO_THREADS_AFTER, autoThreads } from '../src/fetch/auto-threads.js'
import { Cancel } from '../src/fetch/exchange.js'
import { liveTransferThreads, READY_DEATHS, TransferThreads } from '../src/fetch/transfer-threads.js'
import { type Options, pull, type Result } from '../src/index.js'
import { startUnansweredPort } from './support/black-hole.js'
import { CLI, cleanup, outputFiles, runCli, startCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { makeImage } from './support/images.js'
import { startOneAtATimeServer } from './support/one-at-a-time.js'
import { listenLocal } from './support/raw-server.js'
import { until } from './support/wait.js'

// Transfers on worker threads (--threads): the same promises as on the main thread.

let server: ImageServer
let dir: string
let n = 0
before(async () => {
  server = await startImageServer()
  dir = await tempDir()
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

async function get(urls: string[], options: Options = {}) {
  const out = join(dir, `run-${++n}`)
  const results: Result[] = []
  for await (const r of pull(urls, { out, journal: false, threads: 2, ...options })) results.push(r)
  const by = (path: string) => results.find((r) => r.job.url === server.url(path))!
  return { out, results, by }
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

test('on threads: files exact and hashed, faults retried, resumes proven, bodies judged whole', async () => {
  const ok = Array.from({ length: 40 }, (_, i) => `/th-${i}?size=${20_000 + i * 1000}`)
  const cases = {
    resumed: '/th-reset?size=3000000&reset=1500000&times=1',
    partial: '/th-partial?size=33119&partial=11039',
    spliced: '/th-splice?size=2000000&reset=1200000&times=1&rotate=1&lmonly=1&ifrange=ignore',
    early: '/th-early?size=50000&end=27500&times=1',
    big: '/th-big?size=9000000',
    flaky: '/th-flaky?status=503&times=2',
    missing: '/th-missing?status=404',
    html: '/th-html?html=1',
  }
  const { out, results, by } = await get([...ok, ...Object.values(cases)].map((p) => server.url(p)))
  assert.equal(results.length, ok.length + 8)
  for (const p of [...ok, cases.resumed, cases.partial, cases.early, cases.big]) {
    const r = by(p)
    assert.equal(r.status, 'ok', `${p}: ${r.message}`)
    assert.equal(r.sha256, sha(server.bytes(p)), p)
    assert.ok((await readFile(join(out, r.path!))).equals(server.bytes(p)), p)
  }
  assert.equal(by(cases.resumed).attempts, 2)
  assert.equal(by(cases.early).attempts, 2, 'a body cut short with no length is retried')
  assert.ok((await readFile(join(out, by(cases.spliced).path!))).equals(makeImage('th-splice#3', 2_000_000)))
  assert.equal(by(cases.flaky).attempts, 3)
  assert.equal(by(cases.missing).error, 'http-404')
  assert.equal(by(cases.html).error, 'not-an-image')
  assert.deepEqual(await readdir(join(out, '.imgpull', 'parts')), [])
})

test('on threads: a stalled body is cut by the idle timeout, a slow one by the total timeout', async () => {
  const { by } = await get(
    [
      server.url('/th-stall?size=1000000&stall=700000&times=1'),
      server.url('/th-forever?size=100000&drip=5000'),
    ],
    { idleTimeout: 400, totalTimeout: 3000 },
  )
  assert.equal(by('/th-stall?size=1000000&stall=700000&times=1').status, 'ok')
  const forever = by('/th-forever?size=100000&drip=5000')
  assert.equal(forever.error, 'timeout')
  // said to have been cut in its body, not a bare "total timeout".
  assert.match(
    forever.message ?? '',
    /^total timeout after 3 s on .*: its body was under way and had not ended/,
  )
})

test('on threads: a hard stop keeps the partial file for the next run, which resumes it', async () => {
  const out = join(dir, 'stop')
  const path = '/th-slow?size=600000&drip=300000'
  const stop = new AbortController()
  const run = pull([server.url(path)], { out, threads: 1, signal: stop.signal })
  // Stopped once a part of the body came, however long the thread took to start (a fixed delay
  // could fall before the first byte on a loaded machine).
  const watch = setInterval(() => {
    if (run.stats.bytes >= 100_000) stop.abort()
  }, 10)
  await assert
    .rejects(async () => {
      for await (const _ of run) {
      }
    }, /aborted/)
    .finally(() => clearInterval(watch))
  assert.equal((await readdir(join(out, '.imgpull', 'parts'))).length, 1, 'the partial file is kept')
  const again: Result[] = []
  for await (const r of pull([server.url(path)], { out, threads: 1 })) again.push(r)
  assert.equal(again[0]?.status, 'ok')
  assert.match(String(server.log.filter((l) => l.url === path)[1]?.headers.range), /^bytes=[1-9]\d*-$/)
  assert.ok((await readFile(join(out, 'th-slow.jpg'))).equals(server.bytes(path)))
})

test('--threads through the CLI: the same files, and a usage error for a bad count', async () => {
  const out = join(dir, 'cli')
  const urls = Array.from({ length: 20 }, (_, i) => server.url(`/th-cli-${i}`))
  const r = await runCli([...urls, '-o', out, '--threads', '2'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal((await outputFiles(out)).length, 20)
  const bad = await runCli([urls[0], '--threads', 'two'])
  assert.equal(bad.code, 2)
})

test('what the engine throws while a thread reports (a journal on a full disk) fails that transfer with it, not the process', async () => {
  // thrown from the thread's message handler, it was uncaught: a stack trace, exit 1.
  const threads = new TransferThreads(1, {}, () => {})
  try {
    await threads.ready()
    const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })
    const path = '/th-tell?size=1500000&drip=3000000'
    await assert.rejects(
      threads.download(
        {
          url: server.url(path),
          part: join(dir, 'th-tell.part'),
          validators: {},
          onValidators: () => {
            throw full
          },
        },
        new Cancel(),
      ),
      (error) => error === full,
    )
    // The thread stopped that transfer and takes the next one.
    const next = await threads.download(
      {
        url: server.url('/th-tell-next'),
        part: join(dir, 'th-tell-next.part'),
        validators: {},
        onValidators: () => {},
      },
      new Cancel(),
    )
    assert.equal(next.bytes, server.bytes('/th-tell-next').length)
  } finally {
    await threads.close()
  }
})

test('a body held in memory for a WebDataset sample comes back from a thread in memory: no part file written, renamed and removed', async () => {
  // A table into shards on the default (auto) threads wrote a part file a sample, read it into the
  // spool and removed it: 100,000 rows took 44 s of system time against 8 s with --threads 0.
  const threads = new TransferThreads(1, {}, () => {})
  try {
    await threads.ready()
    const small = join(dir, 'th-hold.part')
    const held = await threads.download(
      { url: server.url('/th-hold'), part: small, validators: {}, onValidators: () => {}, hold: true },
      new Cancel(),
    )
    assert.ok(held.held, 'the bytes come back in memory')
    assert.ok(Buffer.concat(held.held).equals(server.bytes('/th-hold')))
    await assert.rejects(readFile(small), { code: 'ENOENT' }, 'no part file')
    // A body past what is held (512 KB) is written to its part file as on the main thread.
    const large = join(dir, 'th-hold-large.part')
    const path = '/th-hold-large?size=700000'
    const written = await threads.download(
      { url: server.url(path), part: large, validators: {}, onValidators: () => {}, hold: true },
      new Cancel(),
    )
    assert.equal(written.held, undefined)
    assert.ok((await readFile(large)).equals(server.bytes(path)))
  } finally {
    await threads.close()
  }
})

test('WebDataset shards made on threads are byte for byte those made on the main thread', async () => {
  const paths = ['/th-wds-0', '/th-wds-1?size=700000', '/th-wds-2', '/th-wds-3?fmt=png', '/th-wds-4']
  const urls = paths.map((p) => server.url(p))
  const tars: Buffer[][] = []
  for (const threads of [0, 2]) {
    const { out, results } = await get(urls, { threads, outputFormat: 'webdataset', shardSize: 3 })
    assert.deepEqual(
      results.map((r) => r.status),
      paths.map(() => 'ok'),
    )
    tars.push([await readFile(join(out, '00000.tar')), await readFile(join(out, '00001.tar'))])
  }
  assert.ok(tars[1][0].equals(tars[0][0]) && tars[1][1].equals(tars[0][1]), 'the same shards')
})

test("--threads auto, the command's default: a long run moves its transfers to threads once under way, the main thread carrying them meanwhile; --threads 0 keeps all on it", async () => {
  // Each connection the server sees, and the connections the run's first AUTO_THREADS_AFTER
  // requests came on: a thread has a connection pool of its own, so new connections past `-c`
  // are a thread's.
  const body = makeImage('auto-threads', 3_000)
  const count = AUTO_THREADS_AFTER + 300
  const counted = async (args: string[]) => {
    const ids = new WeakMap<Socket, number>()
    let sockets = 0
    const first = new Set<number>()
    let requests = 0
    const web = await listenLocal(
      createServer((req, res) => {
        if (!ids.has(req.socket)) ids.set(req.socket, ++sockets)
        const id = ids.get(req.socket)!
        if (++requests <= AUTO_THREADS_AFTER) first.add(id)
        // 30 ms a file at 4 in flight: the 300 after the threads start leave them ~2 s to do so.
        setTimeout(() => res.writeHead(200, { 'content-type': 'image/jpeg' }).end(body), 30)
      }),
    )
    const origin = web.origin
    const list = join(dir, `auto-${args.join('')}.txt`)
    await writeFile(list, Array.from({ length: count }, (_, i) => `${origin}/auto-${i}.jpg\n`).join(''))
    const out = join(dir, `auto-out-${args.join('')}`)
    try {
      const r = await runCli([list, '-o', out, '-c', '4', '--quiet', ...args])
      assert.equal(r.code, 0, r.stderr)
      const files = await outputFiles(out)
      assert.equal(files.length, count)
      assert.ok((await readFile(join(out, 'auto-7.jpg'))).equals(body))
      return { connections: web.connections(), first: first.size }
    } finally {
      await web.close()
    }
  }
  const auto = await counted([])
  assert.ok(
    auto.first <= 4,
    `the first ${AUTO_THREADS_AFTER} on the main thread's pool: ${auto.first} connections`,
  )
  if (autoThreads(availableParallelism()) > 0)
    assert.ok(auto.connections > 4, `a thread's connections beside the main thread's: ${auto.connections}`)
  else assert.ok(auto.connections <= 4, 'one core: no thread')
  const none = await counted(['--threads', '0'])
  assert.ok(none.connections <= 4, `all on the main thread: ${none.connections} connections`)
})

/**
 * A copy of the built bundle in the test's folder under `name` whose transfer thread's code is
 * `code` (`null`: no thread file at all, so starting a thread fails), the real code kept beside it
 * as transfer-worker-real.js; its CLI's path.
 */
async function bundleWithThreadCode(name: string, code: string | null): Promise<string> {
  const bundle = join(dir, name)
  const fetchDir = join(bundle, 'dist', 'fetch')
  await cp(join(CLI, '..'), join(bundle, 'dist'), { recursive: true })
  await rename(join(fetchDir, 'transfer-worker.js'), join(fetchDir, 'transfer-worker-real.js'))
  if (code !== null) await writeFile(join(fetchDir, 'transfer-worker.js'), code)
  await symlink(join(CLI, '..', '..', 'node_modules'), join(bundle, 'node_modules'))
  await cp(join(CLI, '..', '..', 'package.json'), join(bundle, 'package.json'))
  return join(bundle, 'dist', 'imgpull.js')
}

test('--threads auto: a list shorter than the threshold starts no thread, however many of its files are retried', async () => {
  // AUTO_THREADS_AFTER - 1 files each answered 503 once: twice as many attempts. The threshold
  // counts files begun, not attempts (a short run whose host is busy pays no thread). Proof that no thread starts: a copy
  // of the bundle without the thread's file, where starting one fails the run.
  const bundle = await bundleWithThreadCode('no-thread-bundle', null)
  const files = AUTO_THREADS_AFTER - 1
  const list = join(dir, 'auto-short.txt')
  await writeFile(
    list,
    Array.from(
      { length: files },
      (_, i) => `${server.url(`/short-${i}.jpg?status=503&times=1&ra=0`)}\n`,
    ).join(''),
  )
  const out = join(dir, 'auto-short-out')
  const r = await runCli([list, '-o', out, '-c', '8', '--quiet'], {}, bundle)
  assert.equal(r.code, 0, r.stderr)
  assert.doesNotMatch(r.stderr, /thread/, 'no thread was started')
  assert.equal((await outputFiles(out)).length, files)
  // A long list there starts its threads at its AUTO_THREADS_AFTER-th file and finds their code missing (a broken
  // install): said once, and the main thread carries every file, the run not ended halfway. On one
  // core (a CI container given one) auto starts no thread: none is missed, nothing said.
  const long = join(dir, 'auto-long.txt')
  await writeFile(
    long,
    Array.from({ length: 260 }, (_, i) => `${server.url(`/long-${i}.jpg?size=2000`)}\n`).join(''),
  )
  const longOut = join(dir, 'auto-long-out')
  const broken = await runCli([long, '-o', longOut, '-c', '8', '--quiet'], {}, bundle)
  assert.equal(broken.code, 0, broken.stderr)
  assert.equal(
    broken.stderr.match(/^imgpull: warning: .*transfer thread's code is missing.*main thread$/gm)?.length ??
      0,
    autoThreads(availableParallelism()) > 0 ? 1 : 0,
    broken.stderr,
  )
  assert.equal((await outputFiles(longOut)).length, 260)
})

// a thread that died as it started was replaced at once, with no limit and no word: under
// --threads N the run waited for a ready thread forever, respawning one after another; under auto
// it respawned them for the whole run beside the main thread. Proof without a hook in imgpull: a
// copy of the bundle whose thread code throws as it loads (a broken install), and counts its loads.
test('a transfer thread that dies as it starts: a few tries, then said once; --threads N fails the start (exit 3), auto carries on on the main thread', async () => {
  const bundle = await bundleWithThreadCode(
    'dying-thread-bundle',
    "import { appendFileSync } from 'node:fs'\nappendFileSync(process.env.THREAD_LOADS, 'x')\nthrow new Error('the thread cannot load its code')\n",
  )
  const loads = async (file: string) => (await readFile(file, 'utf8').catch(() => '')).length
  const run = async (args: string[], name: string) => {
    const counted = join(dir, `${name}.loads`)
    const cli = startCli(args, { env: { THREAD_LOADS: counted } }, bundle)
    // Respawned without a limit, the run never ends: seen by the count of loads, then stopped.
    const endless = until('many thread loads', async () => (await loads(counted)) > 40, 60_000).then(
      () => 'endless',
    )
    const r = await Promise.race([cli.done, endless])
    if (r === 'endless') cli.child.kill('SIGKILL')
    return { r: await cli.done, loads: await loads(counted) }
  }

  const urls = Array.from({ length: 10 }, (_, i) => server.url(`/dying-${i}.jpg`))
  const given = await run([...urls, '-o', join(dir, 'dying-given'), '--threads', '2', '--quiet'], 'given')
  assert.ok(given.loads <= 6, `a few tries, not ${given.loads}`)
  assert.equal(given.r.code, 3, given.r.stderr)
  assert.match(
    given.r.stderr,
    /^imgpull: transfer threads die as they start \(3 times\): Error: the thread cannot load its code;/m,
  )
  assert.match(given.r.stderr, /--threads 0/)

  const long = join(dir, 'dying-auto.txt')
  await writeFile(
    long,
    // Its last files slow (2 s each), so threads are asked for while the run goes on.
    Array.from(
      { length: 210 },
      (_, i) => `${server.url(`/dying-auto-${i}.jpg?size=4000${i < 200 ? '' : '&drip=2000'}`)}\n`,
    ).join(''),
  )
  const auto = await run([long, '-o', join(dir, 'dying-auto'), '-c', '8', '--quiet'], 'auto')
  assert.ok(auto.loads <= 6, `a few tries, not ${auto.loads}`)
  assert.equal(auto.r.code, 0, auto.r.stderr)
  // One core: auto starts no thread, so none dies and nothing is said.
  assert.equal(
    auto.r.stderr.match(
      /^imgpull: warning: transfer threads die as they start \(3 times\): Error: the thread cannot load its code: every transfer stays on the main thread$/gm,
    )?.length ?? 0,
    autoThreads(availableParallelism()) > 0 ? 1 : 0,
    auto.r.stderr,
  )
  assert.equal((await outputFiles(join(dir, 'dying-auto'))).length, 210)
})

// A run that ended while its auto thread was still starting told the thread to close, which it
// reads only once its code is loaded: the run's end waited for the thread's start, and for ever
// for a thread whose start never ends (here a copy of the bundle whose thread code keeps its
// event loop alive and never says it is ready). A thread not ready carries nothing: ended at once.
test('--threads auto: a run that ends before its thread is ready ends it, not waiting for its start', {
  timeout: 120_000,
}, async () => {
  const bundle = await bundleWithThreadCode(
    'never-ready-bundle',
    "import { appendFileSync } from 'node:fs'\nappendFileSync(process.env.THREAD_LOADS, 'x')\nsetInterval(() => {}, 60_000)\n",
  )
  const loads = join(dir, 'never-ready.loads')
  const started = autoThreads(availableParallelism()) > 0
  // The last file is answered once the thread has loaded its code: the run ends with its thread
  // started and not ready, whatever the machine's speed (one core: no thread, not held).
  const held = await startImageServer({
    hold: (path) =>
      started && path.endsWith('-last.jpg')
        ? until(
            'the thread loaded',
            async () => (await readFile(loads, 'utf8').catch(() => '')).length > 0,
            60_000,
          )
        : undefined,
  })
  const list = join(dir, 'never-ready.txt')
  const count = AUTO_THREADS_AFTER + 20
  await writeFile(
    list,
    Array.from(
      { length: count },
      (_, i) => `${held.url(`/never-ready-${i === count - 1 ? 'last' : i}.jpg?size=2000`)}\n`,
    ).join(''),
  )
  const out = join(dir, 'never-ready-out')
  const cli = startCli([list, '-o', out, '-c', '4', '--quiet'], { env: { THREAD_LOADS: loads } }, bundle)
  try {
    const r = await cli.done
    assert.equal(r.code, 0, r.stderr)
    assert.equal((await outputFiles(out)).length, count)
  } finally {
    cli.child.kill('SIGKILL')
    await held.close()
  }
})

// a thread that died after it was ready was replaced at once, without a limit: one that
// dies on every file (out of memory on each) was respawned for every attempt of every file, and
// the files failed once their retries were spent. Proof without a hook in imgpull: a copy of the
// bundle whose thread loads its real code, then ends itself on each file it is handed.
test('transfer threads that keep dying after they were ready: a few deaths, then said once, and the main thread carries every file, none lost or twice', async () => {
  const bundle = await bundleWithThreadCode(
    'dying-ready-bundle',
    [
      "import { appendFileSync } from 'node:fs'",
      "import { parentPort } from 'node:worker_threads'",
      "await import('./transfer-worker-real.js')",
      // Heard after the real handler (whose listener takes the messages sent while it loads): the
      // thread ends as it begins each file.
      // The main thread's messages come in batches, one array a turn of its event loop.
      "parentPort.on('message', (batch) => { if (batch.some((m) => m.op === 'start')) { appendFileSync(process.env.THREAD_DEATHS, 'x'); process.exit(70) } })",
      '',
    ].join('\n'),
  )
  const deaths = join(dir, 'dying-ready.deaths')
  // Half a second each, four at once: the threads that replace the first to die are ready in time to die too.
  const urls = Array.from({ length: 24 }, (_, i) => server.url(`/dying-ready-${i}.jpg?size=20000&drip=40000`))
  const out = join(dir, 'dying-ready')
  const r = await runCli(
    [...urls, '-o', out, '--threads', '2', '-c', '4', '--retries', '2', '--json'],
    { env: { THREAD_DEATHS: deaths } },
    bundle,
  )
  assert.equal(r.code, 0, r.stderr)
  const died = (await readFile(deaths, 'utf8')).length
  assert.ok(died >= READY_DEATHS && died <= READY_DEATHS + 2, `a few deaths, not ${died}`)
  assert.equal(
    r.stderr.match(
      /^imgpull: warning: transfer threads died 3 times in [\d.]+ m?s after they were ready \(exit code 70\): every transfer stays on the main thread$/gm,
    )?.length,
    1,
    r.stderr,
  )
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((l) => !l.summary)
  // Each file once, kept whole: those the dying threads held fetched again.
  assert.equal(lines.length, urls.length)
  assert.deepEqual(new Set(lines.map((l) => l.url)), new Set(urls))
  assert.ok(
    lines.every((l) => l.status === 'ok'),
    r.stdout,
  )
  assert.equal((await outputFiles(out)).length, urls.length)
})

test("--threads auto is the process's: concurrent runs (a worker's --shards N) share the machine's count, not each its own", async () => {
  // Two runs of 260 files in one process, as `imgpull worker --shards 2` runs two shards: each
  // passes its AUTO_THREADS_AFTER-th file, then waits on its last 30. Each started autoThreads(cores) threads of
  // its own: 2 threads on 2 cores, N with --shards N.
  const release: (() => void)[] = []
  let open = false
  const held = await startImageServer({
    hold: (path) =>
      !open && Number(path.match(/-(\d+)\.jpg$/)?.[1]) >= 230
        ? new Promise<void>((resolve) => release.push(resolve))
        : undefined,
  })
  let runs: Promise<Result[]>[] = []
  try {
    runs = ['a', 'b'].map(async (name) => {
      const urls = Array.from({ length: 260 }, (_, i) => held.url(`/shared-${name}-${i}.jpg?size=2000`))
      const results: Result[] = []
      for await (const r of pull(urls, { out: join(dir, `shared-${name}`), journal: false, threads: 'auto' }))
        results.push(r)
      return results
    })
    // Both runs past their AUTO_THREADS_AFTER-th file (their threads asked for), each waiting on its held files.
    const waiting = (name: string) => held.log.filter((l) => l.url.startsWith(`/shared-${name}-`)).length
    while (waiting('a') <= 230 || waiting('b') <= 230) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.equal(liveTransferThreads(), autoThreads(availableParallelism()))
    open = true
    for (const go of release) go()
    const results = await Promise.all(runs)
    for (const r of results)
      assert.deepEqual(
        r.filter((x) => x.status !== 'ok'),
        [],
      )
    assert.equal(liveTransferThreads(), 0, 'each run gave its threads back')
  } finally {
    open = true
    for (const go of release) go()
    await Promise.allSettled(runs)
    await held.close()
  }
})

test('--threads auto and a server that serves one connection at a time: across the move to a thread, every file on its first attempt', async () => {
  // The main thread's idle keep-alive connection, left when transfers move to a thread, would hold
  // the server's one slot while the thread's requests wait in its backlog (to the headers timeout,
  // 4 s here). It does not: measured on the server, no connection sat idle a second while others
  // waited, and a Python http.server took as long with --threads 0 as with auto.
  const one = await startOneAtATimeServer()
  try {
    const urls = Array.from({ length: AUTO_THREADS_AFTER + 60 }, (_, i) => `${one.origin}/one-${i}.jpg`)
    const { results } = await get(urls, { threads: 'auto', headersTimeout: 4000, concurrency: 8 })
    assert.deepEqual(
      results
        .filter((r) => r.status !== 'ok' || r.attempts !== 1)
        .map((r) => [r.job.url, r.attempts, r.message]),
      [],
    )
  } finally {
    await one.close()
  }
})

// A run with --threads 1 whose last file's connection was still opening (its SYN never answered)
// did not exit until --connect-timeout ran out (31 s at the default 30 s, against 0.86 s with
// --threads 0), after its other files were done and that one cut by --total-timeout, or after the
// run was stopped: the run's end waited for its thread to exit, and the thread's connection still
// opening kept it alive. The connect timeout here is 120 s, the test's own timeout well under it.
test('a run on a transfer thread whose last connection is still opening exits once it is done or stopped, not when the connect timeout runs out', {
  timeout: 90_000,
}, async () => {
  const hole = await startUnansweredPort()
  const children: ReturnType<typeof startCli>[] = []
  try {
    const list = join(dir, 'opening.txt')
    await writeFile(list, `${server.url('/opening-ok?size=3000')}\n${hole.url('/a.jpg')}\n`)
    const args = (out: string, ...more: string[]) => [
      list,
      '-o',
      join(dir, out),
      '--no-report',
      '--threads',
      '1',
      '--connect-timeout',
      '120',
      '--retries',
      '0',
      ...more,
    ]
    for (const [what, more] of [
      ['cut by --total-timeout', ['--total-timeout', '1']],
      ['cut by --headers-timeout', ['--headers-timeout', '1']],
    ] as const) {
      const run = startCli(args(`opening-${what.split('--')[1]}`, ...more))
      children.push(run)
      const r = await run.done
      assert.equal(r.code, 1, `${what}: ${r.stderr}`)
      assert.match(r.stderr, /timeout ×1/, what)
    }
    // Stopped while the connection opens: SIGTERM, transfers in flight given 0.1 s to finish.
    const out = join(dir, 'opening-stopped')
    const run = startCli(args('opening-stopped', '--grace', '0.1'))
    children.push(run)
    let stderr = ''
    run.child.stderr?.on('data', (d) => {
      stderr += d
    })
    await until(
      'the first file',
      async () => run.child.exitCode !== null || (await outputFiles(out).catch(() => [])).length === 1,
    )
    assert.equal(run.child.exitCode, null, stderr)
    run.child.kill('SIGTERM')
    const stopped = await run.done
    assert.equal(stopped.code, 130, stopped.stderr + stderr)
  } finally {
    for (const c of children) c.child.kill('SIGKILL')
    hole.close()
  }
})

// The same on the main thread, through the library: `pull()` gave its last result once the total
// timeout cut the file, and the caller's process then lived on until --connect-timeout ran out
// (20.5 s after its loop ended at connectTimeout 20 s, 0.65 s now): undici's destroy() leaves a
// connection still opening to its connect timeout. The run's end destroys those too.
test("pull() on the main thread or a transfer thread: the caller's process ends with the run, not when a connection still opening gives up", {
  timeout: 90_000,
}, async () => {
  const { spawn } = await import('node:child_process')
  const hole = await startUnansweredPort()
  const script = join(dir, 'opening-library.mts')
  await writeFile(
    script,
    `import { pull } from ${JSON.stringify(new URL('../src/index.ts', import.meta.url).href)}
const [url, out, threads] = process.argv.slice(2)
for await (const r of pull([url], { out, threads: Number(threads), connectTimeout: 120_000, totalTimeout: 1000, retries: 0, report: false }))
  console.log(r.status, r.error)
`,
  )
  const children: ReturnType<typeof spawn>[] = []
  try {
    for (const threads of ['0', '1']) {
      const child = spawn(process.execPath, [
        '--import',
        'tsx',
        script,
        hole.url('/a.jpg'),
        join(dir, `opening-library-${threads}`),
        threads,
      ])
      children.push(child)
      let stdout = ''
      child.stdout.setEncoding('utf8').on('data', (d) => {
        stdout += d
      })
      const code = await new Promise((resolve) => child.on('exit', resolve))
      assert.equal(code, 0, `--threads ${threads}`)
      assert.equal(stdout, 'failed timeout\n', `--threads ${threads}`)
    }
  } finally {
    for (const c of children) c.kill('SIGKILL')
    hole.close()
  }
})
