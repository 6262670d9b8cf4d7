import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { getEventListeners } from 'node:events'
import { existsSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { defaults, FolderBusyError, pull, type Result, resolveOptions, UsageError } from '../src/index.js'
import { cleanup, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'

// imgpull as a library in a long-running process (a web server that pulls on request): what one
// run leaves on the process, and what a call refuses before it touches the disk.

let server: ImageServer
let dir: string
before(async () => {
  server = await startImageServer()
  dir = await tempDir()
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

test('runs that share one shutdown signal leave no listener on it: ended, left early or failed', async () => {
  // Each run left its abort listeners on the caller's signal and drainSignal, holding the ended
  // run (engine, journal, scheduler) alive; from the eleventh Node warned of a leak.
  const stop = new AbortController()
  const drain = new AbortController()
  const warnings: Error[] = []
  const onWarning = (warning: Error) => warnings.push(warning)
  process.on('warning', onWarning)
  try {
    for (let k = 0; k < 12; k++) {
      const urls = [server.url(`/shared-${k}-a.jpg`), server.url(`/shared-${k}-b.jpg`)]
      const run = pull(urls, {
        out: join(dir, `shared-${k}`),
        signal: stop.signal,
        drainSignal: drain.signal,
      })
      if (k % 3 === 1) {
        for await (const _ of run) break // the caller leaves the loop early
      } else if (k % 3 === 2) {
        // A run that fails: its source throws.
        const failing = pull(
          (async function* () {
            yield urls[0]
            throw new Error('the source broke')
          })(),
          { out: join(dir, `shared-${k}`), signal: stop.signal, drainSignal: drain.signal },
        )
        await assert.rejects(async () => {
          for await (const _ of failing);
        }, /the source broke/)
      } else for await (const _ of run);
      assert.equal(getEventListeners(stop.signal, 'abort').length, 0, `run ${k}: signal`)
      assert.equal(getEventListeners(drain.signal, 'abort').length, 0, `run ${k}: drainSignal`)
    }
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(
      warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message),
      [],
    )
  } finally {
    process.off('warning', onWarning)
  }
})

test('a source that is not a list of URLs or jobs is refused when the run is made, before any folder', async () => {
  // A single URL string ran as 15 jobs, one per character, each failed `invalid-url` in the journal;
  // null, a promise of an array or a number crashed inside the run ("this.source is not async
  // iterable", "Cannot read properties of undefined (reading 'trim')") after making the folder.
  const out = join(dir, 'not-a-source')
  const url = server.url('/one.jpg')
  const cases: [unknown, RegExp][] = [
    [
      url,
      /^TypeError: Expected the source to be an iterable of URLs or jobs, got a string .*: give one URL as \[url\]$/,
    ],
    [null, /the source to be an iterable of URLs or jobs \(an array, a generator, a stream\), got null$/],
    [Promise.resolve([url]), /got a Promise: await it first$/],
    [{ url }, /got one job: give it as \[job\]$/],
    // a-synchronous/rubico#283: a Map's items are its [key, value] pairs, where the run ended on the
    // first as "item 1 of the source is an array" after making the folder.
    [
      new Map([[url, { caption: 'one' }]]),
      /got a Map \(its items would be \[key, value\] pairs\): give map\.keys\(\) or map\.values\(\), whichever holds them$/,
    ],
  ]
  for (const [source, message] of cases) assert.throws(() => pull(source as never, { out }), message)
  // TypeScript says so too: a string is an iterable of strings, and `Source` took it.
  // @ts-expect-error one URL string is no source
  assert.throws(() => pull(url, { out }), /got a string/)
  assert.throws(
    () => pull([url], null as never),
    /^TypeError: Expected the options to be an object, got null$/,
  )
  assert.throws(() => pull([url], { out, journal: 'no' as never }), /`journal` to be a boolean/)
  assert.equal(existsSync(out), false)
  assert.equal(server.hits.get('/one.jpg'), undefined)
})

test('items of a source: URL objects, and jobs whose url is one, are fetched; an item neither a URL nor a job ends the run naming it, after those before it', async () => {
  const out = join(dir, 'items')
  const statuses: string[] = []
  await assert.rejects(
    async () => {
      for await (const r of pull(
        [new URL(server.url('/item-a.jpg')), { url: server.url('/item-b.jpg') }, 42] as never,
        { out },
      ))
        statuses.push(`${r.job.url.slice(-10)} ${r.status}`)
    },
    (error: Error) =>
      error instanceof UsageError &&
      error.message === 'item 3 of the source is number 42: give URL strings or jobs ({ url: string })',
  )
  assert.deepEqual(statuses.sort(), ['item-a.jpg ok', 'item-b.jpg ok'])
  // A job whose url is a URL object, as fetch(), got and ky take one, is its href: it ended the
  // run, "an object with url and no string `url`" (rails/request.js#38).
  const jobs: string[] = []
  for await (const r of pull([{ url: new URL(server.url('/item-u.jpg')), caption: 'u' }], {
    out: join(dir, 'items-url'),
  }))
    jobs.push(`${r.job.url === server.url('/item-u.jpg')} ${r.job.caption} ${r.status}`)
  assert.deepEqual(jobs, ['true u ok'])
  // A job whose url is not a string is named the same way.
  await assert.rejects(async () => {
    for await (const _ of pull([{ href: server.url('/item-c.jpg') } as never], {
      out: join(dir, 'items-2'),
    }));
  }, /^UsageError: item 1 of the source is an object with href and no string `url`/)
})

test("a source that throws (an API's next page failed) ends the run with its error as thrown, after the items it gave before are done", async () => {
  // The items read were left unfetched, pending in the journal, the transfers in flight cut, and
  // the loop had no result before the rejection (denoland/std#7093: a source's error comes after
  // the in-flight results).
  const out = join(dir, 'source-throws')
  const broke = new Error('page 3: 503 Service Unavailable')
  const statuses: string[] = []
  await assert.rejects(
    async () => {
      for await (const r of pull(
        (async function* () {
          yield server.url('/paged-a.jpg')
          yield server.url('/paged-b.jpg')
          throw broke
        })(),
        { out },
      ))
        statuses.push(`${r.path} ${r.status}`)
    },
    (error) => error === broke,
  )
  assert.deepEqual(statuses.sort(), ['paged-a.jpg ok', 'paged-b.jpg ok'])
  assert.ok(existsSync(join(out, 'paged-a.jpg')) && existsSync(join(out, 'paged-b.jpg')))
})

test('a run whose signal was aborted before it began rejects with the reason and makes nothing; one whose drainSignal was ends with nothing', async () => {
  // It made the folder, its journal, an empty manifest and report.html, then rejected.
  const out = join(dir, 'aborted-before')
  const stop = new AbortController()
  stop.abort(new Error('the client went away'))
  await assert.rejects(async () => {
    for await (const _ of pull([server.url('/before.jpg')], { out, signal: stop.signal }));
  }, /^Error: the client went away$/)
  assert.equal(existsSync(out), false)
  assert.equal(server.hits.get('/before.jpg'), undefined)
  // A drainSignal aborted already (finish what is in flight: none is) ends the loop with nothing,
  // the source left: it made the folder, journal, manifest and report, "stopped before its end"
  // (nodejs/undici#475).
  const drain = new AbortController()
  drain.abort()
  const run = pull([server.url('/before.jpg')], { out, drainSignal: drain.signal })
  for await (const r of run) assert.fail(`a result: ${r.status}`)
  assert.equal(run.stats.stopped, true)
  assert.equal(run.stats.read, 0)
  assert.equal(existsSync(out), false)
  assert.equal(server.hits.get('/before.jpg'), undefined)
})

test('a signal of an AbortController polyfill without `reason`, aborted before or during the run: the loop rejects with an AbortError, not undefined', async () => {
  // abort-controller, node-abort-controller before 3.1 (southpolesteve/node-abort-controller#31):
  // the loop rejected with `undefined`, and a caller's `error.name` threw (MetaMask/metamask-mobile#28596).
  class PolySignal extends EventTarget {
    aborted = false
  }
  const polyAbort = (signal: PolySignal) => {
    signal.aborted = true
    signal.dispatchEvent(new Event('abort'))
  }
  for (const before of [true, false]) {
    const signal = new PolySignal()
    if (before) polyAbort(signal)
    const statuses: string[] = []
    await assert.rejects(
      async () => {
        for await (const r of pull([server.url('/poly-a.jpg'), server.url('/poly-b.jpg')], {
          out: join(dir, `poly-${before}`),
          signal: signal as unknown as AbortSignal,
        })) {
          statuses.push(r.status)
          if (!signal.aborted) polyAbort(signal)
        }
      },
      (error: Error) =>
        error instanceof DOMException &&
        error.name === 'AbortError' &&
        error.message === 'This operation was aborted',
    )
    assert.equal(statuses.length > 0, !before)
  }
})

test("the exported defaults cannot be changed, and resolved options share no object with them: one caller's change never reaches another run", async () => {
  // `defaults` was a plain object every run is filled from: `defaults.concurrency = 1` (or
  // `Object.assign(defaults, mine)`) changed every later run of the process, and
  // `resolveOptions().headers` was `defaults.headers` itself, so a header added to one caller's
  // resolved options went with every later run's requests.
  const recorded = await startImageServer({ record: true })
  try {
    assert.throws(() => {
      ;(defaults as { concurrency: number }).concurrency = 1
    }, TypeError)
    assert.throws(() => {
      ;(defaults.headers as Record<string, string>)['x-leak'] = 'defaults'
    }, TypeError)
    assert.throws(() => {
      ;(defaults.transform as { resize: string }).resize = 'border'
    }, TypeError)
    assert.equal(defaults.concurrency, 128)
    const mine = resolveOptions({ out: join(dir, 'mine') })
    mine.headers['x-leak'] = 'resolved'
    assert.deepEqual(resolveOptions({}).headers, {})
    assert.deepEqual(defaults.headers, {})
    for await (const r of pull([recorded.url('/after.jpg')], { out: join(dir, 'after-defaults') }))
      assert.equal(r.status, 'ok', r.message)
    assert.deepEqual(
      recorded.log.map((entry) => entry.headers['x-leak']),
      [undefined],
      'the run sent a header another caller added',
    )
  } finally {
    await recorded.close()
  }
})

test("a rerun's results have the fields of a Result and no other: none of the journal's own", async () => {
  // A result an earlier run decided (`skipped`, or a permanent failure) was the journal's row
  // spread into it: `key`, `url`, `planned` ('x\u0001', a control character inside), `state` and
  // `run`, none of which a Result has, so a caller storing results got two shapes.
  const out = join(dir, 'rerun-shape')
  const urls = [server.url('/rerun-shape.jpg'), server.url('/rerun-shape-missing.jpg?status=404')]
  const fields = (r: Result) =>
    Object.entries(r)
      .filter(([, value]) => value !== undefined)
      .map(([key]) => key)
      .sort()
  const first = new Map<string, string[]>()
  // What the `Result` union promises for each status (DoneResult, FailedResult), held at run time too.
  const promised = (r: Result) =>
    r.status === 'failed'
      ? assert.ok(typeof r.error === 'string' && typeof r.message === 'string', `${r.job.url}: ${r.status}`)
      : assert.ok(typeof r.path === 'string' && typeof r.bytes === 'number', `${r.job.url}: ${r.status}`)
  for await (const r of pull(urls, { out })) {
    promised(r)
    first.set(r.job.url, fields(r))
  }
  const again = new Map<string, Result>()
  for await (const r of pull(urls, { out })) {
    promised(r)
    again.set(r.job.url, r)
  }
  assert.deepEqual([...again.values()].map((r) => `${r.status} ${r.earlier}`).sort(), [
    'failed true',
    'skipped true',
  ])
  for (const [url, r] of again)
    assert.deepEqual(
      fields(r).filter((k) => k !== 'earlier'),
      first.get(url),
      `${url}: a rerun's result has other fields than the first run's`,
    )
})

test('a run is iterated once, as a generator is: a second loop or iterator takes what is left of it, never a second run', async () => {
  // Each loop over the run started a run of its own on the same stats: a second loop fetched the
  // list again (its results skipped) and left `read` at 4 for 2 URLs, and two iterators at once
  // made one fail with FolderBusyError, "in use by another imgpull run", its own process's.
  const urls = [server.url('/once-a.jpg'), server.url('/once-b.jpg')]
  const run = pull(urls, { out: join(dir, 'once') })
  const first: string[] = []
  for await (const r of run) first.push(r.status)
  const again: string[] = []
  for await (const r of run) again.push(r.status)
  assert.deepEqual(first, ['ok', 'ok'])
  assert.deepEqual(again, [], 'the second loop ran the list again')
  assert.equal(run.stats.read, 2)
  const both = pull([server.url('/once-c.jpg'), server.url('/once-d.jpg')], { out: join(dir, 'once-both') })
  const [a, b] = [both[Symbol.asyncIterator](), both[Symbol.asyncIterator]()]
  const taken = await Promise.all([a.next(), b.next()])
  assert.deepEqual(
    taken.map((step) => step.value?.status),
    ['ok', 'ok'],
  )
  assert.equal((await a.next()).done, true)
})

test('two pull()s at once into one folder in one process: the second is refused naming this process, not as another program to stop', async () => {
  // It said "in use by another imgpull run (pid N on HOST, ...); wait for it to end, or stop it",
  // N the caller's own pid: stopping it stops the caller (LibrePCB/LibrePCB#1806 tells its own
  // instance's lock from another's).
  const out = join(dir, 'twice')
  const first = pull([server.url('/twice-a.jpg')], { out })[Symbol.asyncIterator]()
  assert.equal((await first.next()).value?.status, 'ok') // it holds the folder's lock until it ends
  const second: unknown = await (async () => {
    for await (const _ of pull([server.url('/twice-b.jpg')], { out }));
  })().catch((error: unknown) => error)
  assert.ok(second instanceof FolderBusyError, String(second))
  assert.match(
    second.message,
    /is in use by another run of this process \(a pull\(\) started 20\d\d-[^)]+, not ended yet\); await its end first, or give each run its own out$/,
  )
  assert.equal(second.holder?.pid, process.pid)
  assert.equal((await first.next()).done, true)
})

test('a journal whose SQLite module was never built (its install script skipped) rejects the run with a FatalError saying so, no folder left', async () => {
  // pnpm runs no dependency's build script until approved, nor npm with --ignore-scripts: the run
  // rejected with better-sqlite3's own Error, no code, 14 lines ("Could not locate the bindings
  // file. Tried: → …"), where the command said one line (see nativeFault).
  const root = fileURLToPath(new URL('..', import.meta.url))
  const work = await mkdtemp(join(tmpdir(), 'imgpull-unbuilt-'))
  try {
    // better-sqlite3 as an install without its scripts leaves it: its JavaScript, no build/.
    const copy = join(work, 'node_modules', 'better-sqlite3')
    await cp(join(root, 'node_modules', 'better-sqlite3', 'lib'), join(copy, 'lib'), { recursive: true })
    await cp(join(root, 'node_modules', 'better-sqlite3', 'package.json'), join(copy, 'package.json'))
    for (const dep of ['bindings', 'file-uri-to-path'])
      await symlink(join(root, 'node_modules', dep), join(work, 'node_modules', dep))
    const hooks = `export async function resolve(specifier, context, next) {
  return specifier === 'better-sqlite3'
    ? { url: ${JSON.stringify(pathToFileURL(join(copy, 'lib', 'index.js')).href)}, shortCircuit: true }
    : next(specifier, context)
}`
    const script = `import { register } from 'node:module'
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}))
const { pull } = await import(${JSON.stringify(pathToFileURL(join(root, 'dist', 'index.js')).href)})
try {
  for await (const _ of pull([${JSON.stringify(server.url('/unbuilt.jpg'))}], { out: 'out' }));
  console.log('resolved')
} catch (error) {
  console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message, hint: error.hint }))
}`
    await writeFile(join(work, 'run.mjs'), script)
    const { stdout } = await promisify(execFile)(process.execPath, ['run.mjs'], { cwd: work })
    assert.deepEqual(JSON.parse(stdout), {
      name: 'FatalError',
      code: 'journal',
      message:
        "cannot load better-sqlite3's native code: it was never built (its install script did not run: npm install --ignore-scripts, pnpm before pnpm approve-builds, npm's allowScripts)",
      hint: 'run npm rebuild better-sqlite3 where imgpull is installed, its install script allowed (npm install-scripts approve better-sqlite3; pnpm approve-builds, then pnpm rebuild better-sqlite3)',
    })
    assert.equal(existsSync(join(work, 'out')), false)
  } finally {
    await rm(work, { recursive: true, force: true })
  }
})

/** How a run's rejection reads to a caller: the error's class, `code`, message and hint. */
async function rejection(run: AsyncIterable<Result>): Promise<Record<string, unknown>> {
  try {
    for await (const _ of run);
  } catch (error) {
    const { name, code, message, hint } = error as Error & { code?: unknown; hint?: unknown }
    return { name, code, message, hint }
  }
  return { resolved: true }
}

test("every error a run rejects with has a string code, one a second copy of imgpull's classes can read", async () => {
  // A UsageError and a FolderBusyError had no `code`: told apart from each other and from a
  // FatalError only by `instanceof`, which fails for a second copy of the package in one
  // node_modules (two versions, a bundled one), or by the message.
  const busyOut = join(dir, 'codes-busy')
  const holder = pull([server.url('/codes-a.jpg'), server.url('/codes-b.jpg')], { out: busyOut })[
    Symbol.asyncIterator
  ]()
  await holder.next() // the first run holds the folder's lock until it ends
  try {
    // The package's build, loaded as a second copy: its classes are not this copy's.
    const copy = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href
    const other = (await import(`${copy}?second-copy`)) as typeof import('../src/index.js')
    let caught: unknown
    try {
      for await (const _ of other.pull([server.url('/codes-c.jpg')], { out: busyOut }));
    } catch (error) {
      caught = error
    }
    assert.equal((caught as Error).name, 'FolderBusyError')
    assert.equal(caught instanceof FolderBusyError, false, "the second copy shares this copy's class")
    assert.equal((caught as FolderBusyError).code, 'folder-busy')
  } finally {
    await holder.return?.(undefined)
  }
  // An item that is neither a URL nor a job.
  assert.deepEqual(await rejection(pull([42] as never, { out: join(dir, 'codes-item') })), {
    name: 'UsageError',
    code: 'usage',
    message: 'item 1 of the source is number 42: give URL strings or jobs ({ url: string })',
    hint: undefined,
  })
})

test("the hints and messages a library caller meets name the options it gave, not the command line's flags", async () => {
  // They said `-o`, `--no-journal`, `--no-report`: flags a caller of pull() never gave.
  const taken = join(dir, 'hint-taken')
  await mkdir(taken)
  await writeFile(join(taken, '.imgpull'), "a file of the user's")
  assert.deepEqual(await rejection(pull([server.url('/hint-a.jpg')], { out: taken })), {
    name: 'FatalError',
    code: 'output',
    message: `cannot write in output folder ${taken}: ${join(taken, '.imgpull')} is a file, not a folder`,
    hint: 'move that file away, or choose another output folder with `out`',
  })
  const theirs = join(dir, 'hint-report')
  await mkdir(theirs)
  await writeFile(join(theirs, 'report.html'), '<p>mine</p>')
  const report = await rejection(pull([server.url('/hint-b.jpg')], { out: theirs }))
  assert.equal(report.code, 'usage')
  assert.match(
    String(report.message),
    /would replace it; move it, or give another output folder with `out`, or run without the report \(`report: false`\)$/,
  )
  const journaled = join(dir, 'hint-journal')
  for await (const _ of pull([server.url('/hint-c.jpg')], { out: journaled }));
  const webdataset = await rejection(
    pull([server.url('/hint-c.jpg')], { out: journaled, journal: false, outputFormat: 'webdataset' }),
  )
  assert.equal(webdataset.code, 'usage')
  assert.match(String(webdataset.message), /; run without `journal: false`$/)
  // A rerun's earlier permanent failure says what tries it again: the option, not --retry-failed.
  const gone = [server.url('/hint-gone.jpg?status=404')]
  for await (const _ of pull(gone, { out: journaled }));
  for await (const r of pull(gone, { out: journaled }))
    assert.match(String(r.message), /^HTTP 404 from .* \(earlier run; `retryFailed: true` tries again\)$/)
})

// What the process-wide helpers (the linking thread of src/sinks/linker.ts) take from the host and
// leave on it, seen from a child process running the built library.

const lib = (file: string) =>
  JSON.stringify(pathToFileURL(join(fileURLToPath(new URL('..', import.meta.url)), 'dist', file)).href)

/** Run `body` (an ES module's code, `pull` and `useLinkerAfter` in scope) in a child; its stdout. */
async function child(
  name: string,
  body: string,
  { args = [], env = {} }: { args?: readonly string[]; env?: Record<string, string> } = {},
): Promise<string> {
  const script = join(dir, `${name}.mjs`)
  await writeFile(
    script,
    `import { readdirSync } from 'node:fs'
const { pull } = await import(${lib('index.js')})
const { useLinkerAfter } = await import(${lib('sinks/linker.js')})
const base = ${JSON.stringify(server.url('/'))}
${body}`,
  )
  const { NODE_OPTIONS: _, ...inherited } = process.env
  const { stdout } = await promisify(execFile)(process.execPath, [...args, script], {
    cwd: dir,
    env: { ...inherited, ...env },
    // A process that does not end on its own is a failure, not a hung test.
    timeout: 120_000,
    killSignal: 'SIGKILL',
  })
  return stdout
}

test("the linking thread runs none of the host's preloads (--require, NODE_OPTIONS): it lives, and a service's agent runs once", async () => {
  // The thread inherited the host's flags and NODE_OPTIONS: an APM agent or a loader given to the
  // service ran again in it, and one that took over 16 MB (its heap's limit) killed it as it
  // started, so every file went the slow way with no word.
  const marks = join(dir, 'preload-marks')
  const preload = join(dir, 'preload.cjs')
  await writeFile(
    preload,
    `const { isMainThread, threadId } = require('node:worker_threads')
if (!isMainThread) {
  require('node:fs').appendFileSync(${JSON.stringify(marks)}, 'thread ' + threadId + '\\n')
  // An agent's weight: more than the linking thread's heap holds.
  globalThis.agent = Array.from({ length: 400 }, (_, i) => new Array(20000).fill({ i }))
}`,
  )
  const body = `useLinkerAfter(0)
let ok = 0
const urls = Array.from({ length: 30 }, (_, i) => base + 'preload-' + process.argv[2] + '-' + i + '.jpg')
for await (const r of pull(urls, { out: 'preload-' + process.argv[2], report: false, threads: 0 })) if (r.status === 'ok') ok++
console.log(ok)`
  for (const [how, run] of [
    ['flag', { args: ['--require', preload] }],
    ['NODE_OPTIONS', { env: { NODE_OPTIONS: `--require ${preload}` } }],
  ] as const) {
    const out = await child(`preload-${how}`, body.replaceAll('process.argv[2]', JSON.stringify(how)), run)
    assert.equal(out.trim(), '30', how)
    assert.equal(
      existsSync(marks) ? await readFile(marks, 'utf8') : '',
      '',
      `${how}: no thread of the library ran the preload`,
    )
  }
})

test('runs one after another and two at once, the linking thread started: each right, no thread, descriptor or handle more after 20, and the process ends on its own', async () => {
  // A service's process: 20 rounds of two runs at once into their own folders, then one in
  // sequence, 12 files each: the linking thread starts on its own count (256 files) in the eighth
  // round, so the counts after the tenth are the process's steady ones. The child only awaits its
  // runs: it must exit by itself (the helper's timeout kills one that hangs).
  const body = `const counts = () => ({
  threads: readdirSync('/proc/self/task').length,
  descriptors: readdirSync('/proc/self/fd').length,
  handles: process.getActiveResourcesInfo().filter((r) => r !== 'FSReqPromise' && r !== 'FSReqCallback').length,
})
async function one(name) {
  const urls = Array.from({ length: 12 }, (_, i) => base + name + '-' + i + '.jpg')
  let ok = 0
  for await (const r of pull(urls, { out: 'life/' + name, report: false, threads: 0 })) if (r.status === 'ok') ok++
  return ok
}
const oks = []
let tenth
for (let k = 0; k < 20; k++) {
  oks.push(...(await Promise.all([one('a' + k), one('b' + k)])), await one('c' + k))
  if (k === 9) tenth = counts()
}
console.log(JSON.stringify({ oks: [...new Set(oks)], tenth, last: counts() }))`
  const { oks, tenth, last } = JSON.parse(await child('lifetime', body))
  assert.deepEqual(oks, [12])
  assert.deepEqual(last, tenth)
})
