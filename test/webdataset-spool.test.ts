import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readdir, readFile, truncate, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import Database from 'better-sqlite3'
import { cleanup, runCli, startCli, tempDir } from './support/cli.js'
import { makeImage } from './support/images.js'
import { type LocalServer, listenLocal } from './support/raw-server.js'
import { readTar, staged } from './support/shards.js'
import { until } from './support/wait.js'

// A sample lives in one place until its shard is sealed: its shard's spool (bodies that came whole
// in memory) or a staged file (larger ones, and resumed ones). After crashes between staging and
// the journal, an older copy in the other place is never taken for the one the journal records.

/** An origin whose images change between runs: `/NAME` serves `files[NAME]`; `stall` never answers. */
interface Served {
  body: Buffer
  /** Cut the next 200 after this many bytes (once): the retry resumes into a part file. */
  cutOnce?: number
}
const files = new Map<string, Served>()
/** Answers given, by name. */
const served = new Map<string, number>()
/** `/stall` never answers while this holds (the shard stays open), then it is a 404. */
let stalling = true
let origin: LocalServer
let base: string
let dir: string

before(async () => {
  dir = await tempDir()
  origin = await listenLocal(
    createServer((req, res) => {
      const name = req.url!.slice(1)
      if (name === 'stall' && stalling) return // the run is killed before its shard seals
      const image = files.get(name)
      if (!image) return void res.writeHead(404).end()
      served.set(name, (served.get(name) ?? 0) + 1)
      const { body } = image
      const headers = {
        etag: `"${name}-${body.length}-${body[body.length - 3]}"`,
        'content-type': 'image/jpeg',
      }
      // Ranges honoured only for the version they continue (If-Range, RFC 9110 §13.1.5).
      const same = req.headers['if-range'] === headers.etag
      const from = req.headers.range && same ? Number(/bytes=(\d+)-/.exec(req.headers.range)![1]) : 0
      if (from > 0) {
        res.writeHead(206, {
          ...headers,
          'content-length': body.length - from,
          'content-range': `bytes ${from}-${body.length - 1}/${body.length}`,
        })
        return void res.end(body.subarray(from))
      }
      res.writeHead(200, { ...headers, 'content-length': body.length })
      if (image.cutOnce === undefined) return void res.end(body)
      const cut = image.cutOnce
      image.cutOnce = undefined
      res.write(body.subarray(0, cut), () => req.socket.resetAndDestroy())
    }),
  )
  base = origin.origin
})
after(async () => {
  await origin.close()
  await cleanup(dir)
})

/** A list of `names` then the stalling URL, and the CLI's arguments for it into `out`. */
async function setUp(test: string, names: string[]) {
  const list = join(dir, `${test}.txt`)
  await writeFile(list, `${[...names, 'stall'].map((n) => `${base}/${n}`).join('\n')}\n`)
  const out = join(dir, test)
  return { out, args: [list, '-o', out, '--output-format', 'webdataset', '--shard-size', '10', '-q'] }
}

/** Files staged in shard 00000's folder (not its spool). */
const stagedFiles = (out: string) =>
  readdir(join(out, '.imgpull', 'shards', '00000')).catch(() => [] as string[])

/** Rows the journal has as `ok`, or that match `where` (none before it is made). */
function okCount(out: string, where = "state = 'ok'"): number {
  try {
    const db = new Database(join(out, '.imgpull', 'journal.db'), { readonly: true, fileMustExist: true })
    try {
      return (db.prepare(`SELECT count(*) AS n FROM jobs WHERE ${where}`).get() as { n: number }).n
    } finally {
      db.close()
    }
  } catch {
    return 0 // not made yet, or its tables not yet
  }
}

/** Run until `ready`, then kill -9. */
async function killWhen(args: string[], what: string, ready: () => Promise<boolean>) {
  const run = startCli(args)
  await until(what, ready)
  run.child.kill('SIGKILL')
  assert.equal((await run.done).signal, 'SIGKILL')
}

/** As if the kill had come after the sample was staged and before the journal recorded it. */
function unrecord(out: string, name: string) {
  const db = new Database(join(out, '.imgpull', 'journal.db'))
  try {
    const changed = db
      .prepare("UPDATE jobs SET state = 'pending', path = NULL, bytes = NULL, sha256 = NULL WHERE url = ?")
      .run(`${base}/${name}`).changes
    assert.equal(changed, 1)
  } finally {
    db.close()
  }
}

/** The image member `member` of `out`'s shard 00000, once the rerun sealed it. */
async function sample(out: string, member: string): Promise<Buffer | undefined> {
  return (await readTar(join(out, '00000.tar'))).find((m) => m.name === member)?.data
}

test('a file staged after a spool entry of the same size is the newer: the tar takes it', async () => {
  const { out, args } = await setUp('newer-file', ['a', 'b'])
  stalling = true
  files.set('a', { body: makeImage('spool-a-v1', 20_000) })
  files.set('b', { body: makeImage('spool-b', 20_000) })
  await killWhen(args, 'a and b spooled', async () => okCount(out) === 2)
  unrecord(out, 'a')
  // A new version of the same size, whose first answer is cut: resumed, so staged as a file.
  const v2 = makeImage('spool-a-v2', 20_000)
  files.set('a', { body: v2, cutOnce: 8_000 })
  await killWhen(
    args,
    'a staged as a file, and recorded',
    async () => (await stagedFiles(out)).includes('000000.jpg') && okCount(out) === 2,
  )
  assert.ok(
    (await staged(out, '00000')).filter((m) => m === '000000.jpg').length === 2,
    'in the spool and as a file',
  )
  stalling = false
  const rerun = await runCli(args)
  assert.equal(rerun.code, 1, rerun.stderr) // the stalling URL is a 404 now
  assert.ok((await sample(out, '000000.jpg'))?.equals(v2), 'the tar holds the version the journal records')
  assert.ok((await sample(out, '000001.jpg'))?.equals(files.get('b')!.body))
})

test('a spool entry lost after a file of another size was staged: the row is fetched again, the stale file never taken', async () => {
  const { out, args } = await setUp('stale-file', ['c'])
  stalling = true
  // Run 1: a large image, staged as a file; killed before the journal recorded it.
  files.set('c', { body: makeImage('spool-c-large', 700_000) })
  // Its journal row committed too (written in batches): a kill before that leaves nothing to unrecord.
  await killWhen(
    args,
    'c staged as a file, its row in the journal',
    async () => (await stagedFiles(out)).includes('000000.jpg') && okCount(out, `url = '${base}/c'`) === 1,
  )
  unrecord(out, 'c')
  // Run 2: now a small one, spooled and recorded; the spool's entry is then lost.
  const small = makeImage('spool-c-small', 20_000)
  files.set('c', { body: small })
  await killWhen(args, 'c spooled', async () => okCount(out) === 1)
  assert.deepEqual(await stagedFiles(out), [], 'spooling it removed the older file')
  await truncate(join(out, '.imgpull', 'shards', '00000.spool'), 0)
  stalling = false
  const rerun = await runCli(args)
  assert.equal(rerun.code, 1, rerun.stderr) // the stalling URL is a 404 now
  assert.ok((await sample(out, '000000.jpg'))?.equals(small))
})

test('a part kept for a resume, then the file anew in memory: the part does not stay behind', async () => {
  const { out, args } = await setUp('old-part', ['d'])
  stalling = false
  files.set('d', { body: makeImage('spool-d-v1', 30_000), cutOnce: 5_000 })
  const first = await runCli([...args, '--retries', '0'])
  assert.equal(first.code, 1, first.stderr)
  assert.equal((await readdir(join(out, '.imgpull', 'parts'))).length, 1, 'the cut part is kept')
  // Changed meanwhile: the resume is answered with the whole new file, which comes in memory.
  const v2 = makeImage('spool-d-v2', 25_000)
  files.set('d', { body: v2 })
  assert.equal((await runCli(args)).code, 1) // the stalling URL is a 404
  assert.ok((await sample(out, '000000.jpg'))?.equals(v2))
  assert.deepEqual(await readdir(join(out, '.imgpull', 'parts')), [], 'no part left')
})

test('a staged sample whose bytes changed on disk between runs is fetched again, never put in the tar', async () => {
  const { out, args } = await setUp('flipped', ['e', 'f'])
  stalling = true
  files.set('e', { body: makeImage('spool-e', 20_000) })
  files.set('f', { body: makeImage('spool-f', 20_000) })
  await killWhen(args, 'e and f spooled', async () => okCount(out) === 2)
  // One byte of e's image, in the middle of its entry, flipped (a bad sector, a stray write).
  const spool = join(out, '.imgpull', 'shards', '00000.spool')
  const bytes = await readFile(spool)
  const e = bytes.indexOf(files.get('e')!.body.subarray(5_000, 5_064))
  assert.ok(e > 0, "e's bytes are in the spool")
  bytes[e] ^= 0xff
  await writeFile(spool, bytes)
  stalling = false
  const hits = served.get('e')
  assert.equal((await runCli(args)).code, 1) // the stalling URL is a 404 now
  assert.equal(served.get('e'), hits! + 1, 'e is fetched again')
  assert.ok((await sample(out, '000000.jpg'))?.equals(files.get('e')!.body))
  assert.ok((await sample(out, '000001.jpg'))?.equals(files.get('f')!.body))
})

test('appends made while a write is under way are written together: every entry whole and at its place', async () => {
  // Appends now share one positional write (one trip to libuv's pool for many samples); each
  // must still land at the offset it reserved, with its header and padding.
  const { Spool } = await import('../src/sinks/webdataset/spool.js')
  const path = join(dir, 'together.spool')
  const spool = await Spool.open(path)
  const bodies = Array.from({ length: 300 }, (_, i) => makeImage(`together-${i}`, 100 + ((i * 7919) % 5000)))
  // Half in two chunks each, as a body that came in two reads.
  const entries = await Promise.all(
    bodies.map((body, i) =>
      spool.append(`k${i}.jpg`, i % 2 ? [body.subarray(0, 50), body.subarray(50)] : [body]),
    ),
  )
  await spool.close()
  const listed = await Spool.list(path)
  assert.equal(listed.size, bodies.length)
  const bytes = await readFile(path)
  bodies.forEach((body, i) => {
    assert.deepEqual(listed.get(`k${i}.jpg`), entries[i], `k${i}`)
    assert.ok(bytes.subarray(entries[i].at, entries[i].at + entries[i].size).equals(body), `k${i}`)
  })
  // A spool is a tar without its end: `tar` lists every entry, in order.
  const tar = spawnSync('tar', ['tf', path], { encoding: 'utf8' })
  assert.deepEqual(
    tar.stdout.trim().split('\n'),
    bodies.map((_, i) => `k${i}.jpg`),
  )
})
