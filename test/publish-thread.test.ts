import assert from 'node:assert/strict'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { pull, type Result } from '../src/index.js'
import { killLinker, linkThenUnlink, useLinkerAfter } from '../src/sinks/linker.js'
import { cleanup, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'

// Files take their names many at a time on a thread of their own (see linker.ts): each job's file at
// its name with its bytes, no part left, a name someone else holds never replaced; and the thread's
// loss mid-run costs no file.

let server: ImageServer
const folders: string[] = []

before(async () => {
  server = await startImageServer()
  useLinkerAfter(0)
})

after(async () => {
  useLinkerAfter()
  await server.close()
  await cleanup(...folders)
})

async function run(out: string, paths: string[]): Promise<Result[]> {
  const results: Result[] = []
  const urls = paths.map((p) => server.url(p))
  for await (const r of pull(urls, { out, report: false, retries: 0 })) results.push(r)
  return results
}

async function checkAll(out: string, results: Result[]) {
  for (const r of results) {
    assert.equal(r.status, 'ok', r.message)
    assert.ok(
      (await readFile(join(out, r.path!))).equals(server.bytes(new URL(r.job.url).pathname)),
      r.job.url,
    )
  }
  assert.deepEqual(await readdir(join(out, '.imgpull', 'parts')).catch(() => []), [], 'no part left')
}

test('files published through the linking thread: each at its name, a stranger’s file at a name kept', async () => {
  const out = await tempDir()
  folders.push(out)
  await writeFile(join(out, 'taken.jpg'), 'not ours')
  const paths = [...Array.from({ length: 300 }, (_, i) => `/t${i}.jpg`), '/taken.jpg']
  const results = await run(out, paths)
  assert.equal(results.length, paths.length)
  await checkAll(out, results)
  assert.equal(await readFile(join(out, 'taken.jpg'), 'utf8'), 'not ours')
  assert.notEqual(results.find((r) => r.job.url.endsWith('/taken.jpg'))!.path, 'taken.jpg')
})

test('a failed link through the thread says what Node says (its code and paths)', async () => {
  const out = await tempDir()
  folders.push(out)
  await writeFile(join(out, 'a'), 'a')
  await writeFile(join(out, 'b'), 'b')
  await assert.rejects(linkThenUnlink(join(out, 'a'), join(out, 'b')), (error: NodeJS.ErrnoException) => {
    assert.equal(error.code, 'EEXIST')
    assert.equal(error.syscall, 'link')
    assert.equal(error.path, join(out, 'a'))
    assert.equal((error as { linkStep?: string }).linkStep, 'link')
    return true
  })
  assert.equal(await readFile(join(out, 'a'), 'utf8'), 'a', 'the part stays where its link failed')
})

test('the linking thread lost with files in hand: each is done again, none lost, none left as a part', async () => {
  const out = await tempDir()
  folders.push(out)
  const count = 3000
  const part = (i: number) => join(out, `${i}.part`)
  const target = (i: number) => join(out, `${i}.jpg`)
  for (let i = 0; i < count; i++) await writeFile(part(i), String(i))
  // Warm: the thread is started and has answered once.
  await writeFile(join(out, 'warm.part'), 'w')
  await linkThenUnlink(join(out, 'warm.part'), join(out, 'warm.jpg'))
  const done = Array.from({ length: count }, (_, i) => linkThenUnlink(part(i), target(i)))
  // The calls go out at the next turn (see `Linker.#flush`): the thread is stopped as it works on them.
  await new Promise(setImmediate)
  await killLinker()
  const settled = await Promise.allSettled(done)
  assert.deepEqual(
    settled.flatMap((s, i) => (s.status === 'rejected' ? [`${i}: ${s.reason}`] : [])),
    [],
  )
  for (let i = 0; i < count; i++) assert.equal(await readFile(target(i), 'utf8'), String(i))
  assert.deepEqual(
    (await readdir(out)).filter((n) => n.endsWith('.part')),
    [],
  )
})

test('a run stopped through its signal while the thread holds files: it rejects with the reason, what it reported is in place, and a rerun does the rest', async () => {
  const out = await tempDir()
  folders.push(out)
  const urls = Array.from({ length: 600 }, (_, i) => server.url(`/stop${i}.jpg`))
  const stop = new AbortController()
  const first: Result[] = []
  await assert.rejects(async () => {
    for await (const r of pull(urls, { out, report: false, retries: 0, signal: stop.signal })) {
      first.push(r)
      // Files finish many to a turn: the next ones are with the thread as the stop comes.
      if (first.length === 100) stop.abort(new Error('the service shuts down'))
    }
  }, /^Error: the service shuts down$/)
  assert.ok(first.length < urls.length, `${first.length} results: the stop came before the end`)
  await checkAll(out, first)
  const rest: Result[] = []
  for await (const r of pull(urls, { out, report: false, retries: 0 })) rest.push(r)
  assert.equal(rest.filter((r) => r.status === 'skipped').length, first.length)
  await checkAll(
    out,
    rest.filter((r) => r.status !== 'skipped'),
  )
  assert.equal(rest.length, urls.length)
})

test('the linking thread lost: the next files start a new one, for this run and every later run of the process', async () => {
  // One loss (a kill, an out-of-memory) sent every later file of the process through libuv's pool
  // for good: a service lost the thread for the rest of its life after one bad moment.
  const out = await tempDir()
  folders.push(out)
  for (let round = 0; round < 3; round++) {
    const part = join(out, `${round}.part`)
    await writeFile(part, String(round))
    await linkThenUnlink(part, join(out, `${round}.jpg`))
    assert.equal(await readFile(join(out, `${round}.jpg`), 'utf8'), String(round))
    const stopped = killLinker()
    assert.ok(stopped, `round ${round}: a thread took the file`)
    await stopped
  }
  // A run after the losses publishes through a thread of its own again, every file in place.
  const results = await run(
    out,
    Array.from({ length: 40 }, (_, i) => `/again${i}.jpg`),
  )
  await checkAll(out, results)
  const stopped = killLinker()
  assert.ok(stopped, 'the run had a thread')
  // Waited for: a thread still stopping when the next test begins takes its first file, and its
  // loss (it had answered) does not count as a thread dead at start.
  await stopped
})

test('threads that die before they answer, three in a row: no more is started, and files go on through the pool', async () => {
  // Last in this file: it leaves the process without the thread, as a machine where none can start.
  await killLinker()
  const out = await tempDir()
  folders.push(out)
  for (let round = 0; round < 4; round++) {
    const part = join(out, `early${round}.part`)
    await writeFile(part, String(round))
    const done = linkThenUnlink(part, join(out, `early${round}.jpg`))
    // The file goes out at the next turn, to a thread that is only starting: stopped there.
    await new Promise(setImmediate)
    const stopped = killLinker()
    assert.equal(stopped !== undefined, round < 3, `round ${round}: a thread was started`)
    await stopped
    await done
    assert.equal(await readFile(join(out, `early${round}.jpg`), 'utf8'), String(round))
  }
  assert.deepEqual(
    (await readdir(out)).filter((n) => n.endsWith('.part')),
    [],
  )
})
