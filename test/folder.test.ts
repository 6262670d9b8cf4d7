import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { renameSync, writeFileSync } from 'node:fs'
import { lstat, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { FolderBusyError, pull, type Result } from '../src/index.js'
import { FOLDERS_KEPT, keepFolders, markFresh, nameState, publish } from '../src/sinks/files.js'
import { mkdirFault } from '../src/sinks/local-faults.js'
import { cleanup, outputFiles, runCli, startCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { makeImage } from './support/images.js'
import { listenLocal } from './support/raw-server.js'
import { canMount, onSmallDisk, until } from './support/wait.js'

// The output folder: one run at a time, an inventory that lists all of it, local faults named.

let server: ImageServer
let dir: string
/** Paths the server answers only once their promise resolves (a test releases them). */
const holds = new Map<string, Promise<void>>()
before(async () => {
  server = await startImageServer({
    ttfb: 20,
    bandwidth: 300_000,
    sizes: [20_000, 60_000],
    hold: (path) => holds.get(path),
  })
  dir = await tempDir()
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

async function list(name: string, count: number): Promise<string> {
  const file = join(dir, `${name}.txt`)
  await writeFile(file, Array.from({ length: count }, (_, i) => server.url(`/${name}-${i}`)).join('\n'))
  return file
}

const manifest = async (out: string) =>
  (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))

async function started(out: string) {
  for (let i = 0; i < 400; i++) {
    if ((await outputFiles(out).catch(() => [])).length > 0) return
    await sleep(25)
  }
  throw new Error(`nothing appeared in ${out}`)
}

test('a second run on a folder in use stops at once with exit 2, naming the run that holds it', async () => {
  const out = join(dir, 'busy')
  // One file held back until the checks below are done keeps the first run going, however busy
  // the machine (120 quick ones alone had ended before its `status --json` once), and no longer:
  // a slow one (12 s) was waited out after them.
  let release!: () => void
  holds.set(
    '/busy-slow',
    new Promise((resolve) => {
      release = resolve
    }),
  )
  const busy = await list('busy', 120)
  await writeFile(busy, `${await readFile(busy, 'utf8')}\n${server.url('/busy-slow?size=300000')}\n`)
  const first = startCli([busy, '-o', out, '--per-host', '4'])
  try {
    await checkBusy(out, first.child.pid)
  } finally {
    release()
  }
  const done = await first.done
  assert.equal(done.code, 0, done.stderr)
  const lines = await manifest(out)
  assert.equal(lines.length, 121, 'the manifest is whole and valid JSON')
  assert.equal(server.hits.get('/busy-2-0'), undefined, 'the second run fetched nothing')
  assert.equal(JSON.parse((await runCli(['status', out, '--json'])).stdout).running, null)
})

/** What a second run and `status` say of `out` while the run `pid` holds it. */
async function checkBusy(out: string, pid: number | undefined) {
  await started(out)
  const second = await runCli([await list('busy-2', 5), '-o', out])
  assert.equal(second.code, 2, second.stderr)
  assert.match(
    second.stderr,
    new RegExp(`in use by another imgpull run \\(pid ${pid} on .+, started 20\\d\\d-`),
  )
  assert.equal(second.stderr.trim().split('\n').length, 1, 'one line')
  assert.match(second.stderr, /; wait for it to end, or stop it\n$/)
  // status while it runs: says a run is going on, and never to run the command again.
  const during = await runCli(['status', out])
  assert.equal(during.code, 0, during.stderr)
  assert.match(during.stdout, new RegExp(`A run is going on in this folder \\(pid ${pid} on `))
  assert.doesNotMatch(during.stdout, /Run the same command again/)
  assert.equal(JSON.parse((await runCli(['status', out, '--json'])).stdout).running.pid, pid)
}

test('the library refuses a folder in use too, with a FolderBusyError', async () => {
  const out = join(dir, 'busy-lib')
  const urls = Array.from({ length: 30 }, (_, i) => server.url(`/busy-lib-${i}`))
  const iterator = pull(urls, { out, perHost: 2 })[Symbol.asyncIterator]()
  await iterator.next()
  await assert.rejects(async () => {
    for await (const _ of pull([server.url('/other')], { out })) {
    }
  }, FolderBusyError)
  // Without a journal too when shards are written: they are the folder's, not the run's.
  const shards = join(dir, 'busy-lib-shards')
  const wds = pull(urls, { out: shards, perHost: 2, journal: false, outputFormat: 'webdataset' })[
    Symbol.asyncIterator
  ]()
  await wds.next()
  await assert.rejects(async () => {
    for await (const _ of pull([server.url('/other')], {
      out: shards,
      journal: false,
      outputFormat: 'webdataset',
    })) {
    }
  }, FolderBusyError)
  await wds.return?.()
  // A journal-less run of files takes no lock: its parts are its own.
  const side: string[] = []
  for await (const r of pull([server.url('/side')], { out, journal: false, report: false }))
    side.push(r.status)
  assert.deepEqual(side, ['ok'])
  await iterator.return?.()
})

test('a lock left by a run that was killed is taken over', async () => {
  const out = join(dir, 'killed')
  const file = await list('killed', 60)
  const first = startCli([file, '-o', out, '--per-host', '4'])
  await started(out)
  first.child.kill('SIGKILL')
  await first.done
  const second = await runCli([file, '-o', out])
  assert.equal(second.code, 0, second.stderr)
  assert.equal((await outputFiles(out)).length, 60)
})

test("a damaged lock.db is named, not the journal: its advice keeps the journal's history", async () => {
  // Both were said as the journal (`cannot use the journal …/journal.db: it is not an imgpull
  // journal; move .imgpull/ away to start this folder afresh`): advice that loses every record
  // of what the folder holds, for a file that holds nothing but the lock.
  const out = join(dir, 'bad-lock')
  assert.equal((await runCli([server.url('/bad-lock-0'), '-o', out])).code, 0)
  const lock = join(out, '.imgpull', 'lock.db')
  await writeFile(lock, Buffer.alloc(8192, 0x5a))
  const damaged = await runCli([server.url('/bad-lock-1'), '-o', out])
  assert.equal(damaged.code, 3, damaged.stderr)
  assert.equal(
    damaged.stderr.trim(),
    `imgpull: cannot use ${lock}: it is damaged; remove it (it holds nothing but the folder’s lock), then run the same command again`,
  )
  // Removed as told: the rerun goes on from the journal.
  await rm(lock)
  const again = await runCli([server.url('/bad-lock-0'), server.url('/bad-lock-1'), '-o', out])
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stderr, /1 already done/)
})

test('--no-journal runs share no part file: one stopped while another of the same URL ends leaves it whole', async () => {
  const fast = await startImageServer({ bandwidth: 1_000_000 })
  try {
    const out = join(dir, 'no-journal-race')
    const url = fast.url('/race.png?size=2500000&fmt=png')
    const expected = createHash('sha256').update(fast.bytes('/race.png?size=2500000&fmt=png')).digest('hex')
    const first = (async () => {
      const results = []
      for await (const r of pull([url], { out, journal: false, report: false })) results.push(r)
      return results
    })()
    await sleep(1600)
    // A second run on the same URL, started mid-transfer and stopped just after the first ends.
    const stop = new AbortController()
    const second = (async () => {
      for await (const _ of pull([url], { out, journal: false, report: false, signal: stop.signal })) {
      }
    })().catch(() => {})
    const [a] = await first
    stop.abort()
    await second
    assert.equal(a.status, 'ok', a.message)
    assert.equal(a.sha256, expected)
    const kept = createHash('sha256')
      .update(await readFile(join(out, a.path!)))
      .digest('hex')
    assert.equal(kept, expected, 'the file under its final name is the whole image')
    assert.deepEqual(await readdir(join(out, '.imgpull', 'parts')), [], 'each run removed its own parts')
  } finally {
    await fast.close()
  }
})

test('the parts of a journal-less run that was killed are removed by the next run; a live one keeps them', async () => {
  const out = join(dir, 'stale-parts')
  const parts = join(out, '.imgpull', 'parts')
  const dead = execFileSync(process.execPath, ['-p', 'process.pid'], { encoding: 'utf8' }).trim()
  const stale = `nojournal-${hostname()}-${dead}-0a1b2c3d`
  const live = `nojournal-${hostname()}-${process.pid}-0a1b2c3d`
  const otherHost = `nojournal-${hostname()}x-${dead}-0a1b2c3d`
  for (const name of [stale, live, otherHost]) {
    await mkdir(join(parts, name), { recursive: true })
    await writeFile(join(parts, name, 'a.part'), 'x')
  }
  for await (const _ of pull([server.url('/stale-0')], { out, report: false })) {
  }
  assert.deepEqual((await readdir(parts)).sort(), [live, otherHost].sort())
})

test("a file at an image's name is never replaced: not a stranger's, nor one the journal calls the job's", async () => {
  const out = join(dir, 'never-replaced')
  const url = server.url('/keep-me')
  const first: Result[] = []
  for await (const r of pull([url], { out, report: false })) first.push(r)
  assert.equal(first[0].path, 'keep-me.jpg')
  // Changed since (or, as a run stopped between journal and name once left it: a stranger's file
  // under a name the journal gave the job): its size is not the recorded one, so it is fetched again.
  await writeFile(join(out, 'keep-me.jpg'), 'USER FILE\n')
  const again: Result[] = []
  const warned: string[] = []
  const onWarning = (w: Error & { code?: string }) => {
    if (w.code === 'IMGPULL_FILE_CHANGED') warned.push(w.message)
  }
  process.on('warning', onWarning)
  for await (const r of pull([url], { out, report: false })) again.push(r)
  await new Promise(setImmediate)
  process.off('warning', onWarning)
  // Said, so a folder run through an optimiser (every file smaller) does not double without a word.
  assert.equal(warned.length, 1)
  assert.match(
    warned[0],
    /keep-me\.jpg is 10 bytes where the run that saved it kept \d+ \(edited, replaced or cut short since\?\): its image is fetched again and saved under another name, the file left as it is/,
  )
  assert.equal(again[0].status, 'ok', again[0].message)
  assert.match(again[0].path!, /^keep-me-[0-9a-f]+\.jpg$/, 'the job takes its variant')
  assert.equal(await readFile(join(out, 'keep-me.jpg'), 'utf8'), 'USER FILE\n')
  const listed = (await manifest(out)).map((l) => l.path)
  assert.deepEqual(listed, [again[0].path])

  // A stranger's file of the image's very size, other bytes: not taken for the image either.
  const out2 = join(dir, 'same-size-stranger')
  const bytes = server.bytes('/twin')
  await mkdir(out2, { recursive: true })
  await writeFile(join(out2, 'twin.jpg'), Buffer.alloc(bytes.length, 7))
  const twin: Result[] = []
  for await (const r of pull([server.url('/twin')], { out: out2, report: false })) twin.push(r)
  assert.match(twin[0].path!, /^twin-[0-9a-f]+\.jpg$/)
  assert.deepEqual(await readFile(join(out2, 'twin.jpg')), Buffer.alloc(bytes.length, 7))
})

test('a folder the run made or found empty is taken for free of strangers, yet a file put in it meanwhile is never replaced', async () => {
  // The run made the folder (or found it empty) and holds its lock, so it names files there
  // without looking at the disk first; a stranger writing into it during the run still keeps their file.
  for (const premade of [false, true]) {
    const out = join(dir, premade ? 'found-empty-by-the-run' : 'made-by-the-run')
    if (premade) await mkdir(out)
    const image = makeImage('late', 5_000)
    const http = await listenLocal(
      createServer((req, res) => {
        writeFileSync(join(out, `${req.url!.slice(1)}.jpg`), 'STRANGER\n')
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': image.length }).end(image)
      }),
    )
    try {
      const results: Result[] = []
      const url = http.url('/late')
      for await (const r of pull([url], { out, report: false, retries: 0 })) results.push(r)
      assert.equal(results[0].status, 'ok', results[0].message)
      assert.match(results[0].path!, /^late-[0-9a-f]+\.jpg$/, 'the job takes its variant')
      assert.equal(await readFile(join(out, 'late.jpg'), 'utf8'), 'STRANGER\n')
      assert.ok((await readFile(join(out, results[0].path!))).equals(image))
      assert.deepEqual(
        (await manifest(out)).map((l) => l.path),
        [results[0].path],
      )
    } finally {
      await http.close()
    }
  }
})

test("a stranger's file at the job's variant name is never replaced either: the next variant is taken", async () => {
  const url = server.url('/variant-taken')
  const probe = join(dir, 'variant-probe')
  await mkdir(probe, { recursive: true })
  await writeFile(join(probe, 'variant-taken.jpg'), 'STRANGER\n')
  const first: Result[] = []
  for await (const r of pull([url], { out: probe, report: false })) first.push(r)
  const variant = first[0].path!
  assert.match(variant, /^variant-taken-[0-9a-f]+\.jpg$/)
  // Strangers at the name and at its first variant.
  const out = join(dir, 'variant-taken')
  await mkdir(out, { recursive: true })
  await writeFile(join(out, 'variant-taken.jpg'), 'STRANGER\n')
  await writeFile(join(out, variant), 'STRANGER AT THE VARIANT\n')
  const results: Result[] = []
  for await (const r of pull([url], { out, report: false })) results.push(r)
  assert.equal(results[0].status, 'ok', results[0].message)
  assert.match(results[0].path!, /^variant-taken-[0-9a-f]+\.jpg$/)
  assert.notEqual(results[0].path, variant)
  assert.equal(await readFile(join(out, variant), 'utf8'), 'STRANGER AT THE VARIANT\n')
  assert.equal(await readFile(join(out, 'variant-taken.jpg'), 'utf8'), 'STRANGER\n')
  assert.ok((await readFile(join(out, results[0].path!))).equals(server.bytes('/variant-taken')))
})

test('a folder deleted between two runs in one process is made again, sub-folders too', async () => {
  const out = join(dir, 'deleted-between')
  for (let run = 0; run < 2; run++) {
    const results: Result[] = []
    for await (const r of pull([server.url('/deleted/a')], { out, report: false, name: '{path}{ext}' }))
      results.push(r)
    assert.equal(results[0].status, 'ok', `run ${run}: ${results[0].message}`)
    assert.equal(results[0].path, 'deleted/a.jpg')
    await rm(out, { recursive: true })
  }
})

test('folders dropped from what the run remembers (a folder per URL) are found again: every file lands, none is replaced', async () => {
  // `{path}` names can make a folder per URL; the run keeps the most recent FOLDERS_KEPT only.
  keepFolders(2)
  try {
    const out = join(dir, 'many-folders')
    const paths = ['/f/a/1', '/f/b/1', '/f/c/1', '/f/a/2', '/f/d/1', '/f/b/2', '/f/a/3']
    const results: Result[] = []
    for await (const r of pull(
      paths.map((p) => server.url(p)),
      { out, report: false, name: '{path}{ext}', concurrency: 1 },
    ))
      results.push(r)
    for (const r of results) assert.equal(r.status, 'ok', r.message)
    assert.deepEqual(results.map((r) => r.path).sort(), paths.map((p) => `${p.slice(1)}.jpg`).sort())
    for (const p of paths)
      assert.ok((await readFile(join(out, `${p.slice(1)}.jpg`))).equals(server.bytes(p)), p)
    // A fresh folder dropped from memory (f/c: two others were used after it) is no longer taken
    // on trust: a stranger's file put there since is seen.
    await writeFile(join(out, 'f/c/x.jpg'), 'STRANGER\n')
    assert.equal(await nameState(out, 'f/c/x.jpg'), 'taken')
  } finally {
    keepFolders(FOLDERS_KEPT)
  }
})

test('a folder found empty is as fresh as one the run made; one that holds anything is not', async () => {
  for (const [name, held] of [
    ['found-empty', []],
    ['found-holding', ['notes.txt']],
  ] as const) {
    const out = join(dir, name)
    await mkdir(out)
    for (const file of held) await writeFile(join(out, file), 'MINE\n')
    for await (const r of pull([server.url(`/${name}`)], { out, report: false }))
      assert.equal(r.status, 'ok', r.message)
    // Still this process's view of the folder after the run (as the next test shows).
    await writeFile(join(out, 'x.jpg'), 'STRANGER\n')
    assert.equal(await nameState(out, 'x.jpg'), held.length ? 'taken' : 'free', name)
  }
})

test('a folder is fresh only for the run that made it: a later run in the same process looks at the disk', async () => {
  const out = join(dir, 'fresh-then-not')
  await mkdir(out)
  markFresh(out, true)
  await writeFile(join(out, 'x.jpg'), 'STRANGER\n')
  assert.equal(await nameState(out, 'x.jpg'), 'free', 'taken on trust in a folder the run made')
  markFresh(out, false)
  assert.equal(await nameState(out, 'x.jpg'), 'taken')
})

// With --hash none too, whose bytes are compared with the file's: a second copy of every image was
// saved (`again-0-5ce1687a.jpg`), as wget without -nc saves `.1` files (deepchem/deepchem#341).
test("a name that already holds the image's very bytes is the job's: reruns without a journal make no copies", async () => {
  for (const hash of ['sha256', 'none'] as const) {
    const out = join(dir, `no-journal-rerun-${hash}`)
    const urls = [server.url('/again-0'), server.url('/again-1')]
    for (let run = 0; run < 2; run++) {
      const results: Result[] = []
      for await (const r of pull(urls, { out, journal: false, report: false, hash })) results.push(r)
      assert.deepEqual(results.map((r) => [r.status, r.path]).sort(), [
        ['ok', 'again-0.jpg'],
        ['ok', 'again-1.jpg'],
      ])
    }
    assert.deepEqual(await outputFiles(out), ['again-0.jpg', 'again-1.jpg'], hash)
  }
  // One of other bytes at the size is not the job's, hashed or not.
  const out = join(dir, 'no-journal-rerun-none')
  const file = join(out, 'again-0.jpg')
  await writeFile(file, Buffer.alloc((await stat(file)).size))
  for await (const r of pull([server.url('/again-0')], { out, journal: false, report: false, hash: 'none' }))
    assert.match(r.path ?? '', /^again-0-[0-9a-f]{8}\.jpg$/)
})

test("a run without a journal in a folder that has one leaves the folder's manifest and report to it", async () => {
  const out = join(dir, 'journal-and-not')
  const urls = Array.from({ length: 6 }, (_, i) => server.url(`/inventory-${i}`))
  for await (const _ of pull(urls, { out })) {
  }
  const manifestBefore = await readFile(join(out, 'manifest.jsonl'), 'utf8')
  const reportBefore = await readFile(join(out, 'report.html'), 'utf8')
  const side: Result[] = []
  for await (const r of pull([urls[0], server.url('/inventory-new')], { out, journal: false })) side.push(r)
  assert.deepEqual(
    side.map((r) => r.status),
    ['ok', 'ok'],
  )
  assert.equal(await readFile(join(out, 'manifest.jsonl'), 'utf8'), manifestBefore)
  assert.equal(await readFile(join(out, 'report.html'), 'utf8'), reportBefore)
  // Shards are sealed in place: a WebDataset run without the journal is refused at once.
  await assert.rejects(async () => {
    for await (const _ of pull(urls, { out, journal: false, outputFormat: 'webdataset' })) {
    }
  }, /has a journal: a WebDataset run without one would seal its shards again behind the journal's back; run without `journal: false`/)
})

// Two runs at once from two terminals: the journal-less one, which holds no lock, read no journal
// as it began, and at its end wrote its own manifest and report over the journaled run's, the
// folder's inventory listing its one image (concurrent runs leaving the index broken: ArchiveBox/ArchiveBox#234).
test('a run without a journal that ends after a journaled run began on the folder leaves the manifest and report to it', async () => {
  const out = join(dir, 'journal-meanwhile')
  let release = () => {}
  holds.set('/meanwhile-held', new Promise<void>((resolve) => (release = resolve)))
  const side = (async () => {
    const results: Result[] = []
    for await (const r of pull([server.url('/meanwhile-held')], { out, journal: false })) results.push(r)
    return results
  })()
  await until(
    'the journal-less run to ask for its image',
    () => (server.hits.get('/meanwhile-held') ?? 0) > 0,
  )
  for await (const _ of pull([server.url('/meanwhile-0')], { out })) {
  }
  const manifestBefore = await readFile(join(out, 'manifest.jsonl'), 'utf8')
  const reportBefore = await readFile(join(out, 'report.html'), 'utf8')
  release()
  assert.deepEqual(
    (await side).map((r) => r.status),
    ['ok'],
  )
  assert.equal(await readFile(join(out, 'manifest.jsonl'), 'utf8'), manifestBefore)
  assert.equal(await readFile(join(out, 'report.html'), 'utf8'), reportBefore)
})

test('the manifest lists every job the folder holds, whatever the last run was', async () => {
  const out = join(dir, 'inventory')
  assert.equal((await runCli([await list('inv', 5), '-o', out])).code, 0)
  const one = await runCli([server.url('/inv-extra'), server.url('/inv-missing?status=404'), '-o', out])
  assert.equal(one.code, 1)
  let lines = await manifest(out)
  assert.equal(lines.length, 7)
  assert.deepEqual(
    lines.map((l) => l.status),
    ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'failed'],
  )
  assert.equal(lines[6].error, 'http-404')
  assert.equal(lines[0].path, 'inv-0.jpg')

  // An empty list changes nothing the folder holds.
  const empty = join(dir, 'empty.txt')
  await writeFile(empty, '\n# nothing here\n')
  assert.equal((await runCli([empty, '-o', out])).code, 0)
  lines = await manifest(out)
  assert.equal(lines.length, 7)
  const status = await runCli(['status', out])
  assert.match(status.stdout, /6 ok .*1 failed/)
})

test('a manifest line per job, also for a run stopped at once (second Ctrl-C)', async () => {
  const out = join(dir, 'stopped')
  const run = startCli([await list('stopped', 40), '-o', out, '--per-host', '2', '--grace', '30'])
  await started(out)
  run.child.kill('SIGINT')
  await sleep(100)
  run.child.kill('SIGINT')
  const stopped = await run.done
  assert.equal(stopped.code, 130, stopped.stderr)
  const lines = await manifest(out)
  assert.ok(lines.length > 1, `${lines.length} lines; ${stopped.stderr}`)
  assert.ok(lines.some((l) => l.status === 'ok'))
  assert.ok(lines.every((l) => ['ok', 'pending'].includes(l.status)))
})

test("an image never takes the name of imgpull's own files, nor fails when a folder on its way is a file", async () => {
  const out = join(dir, 'names')
  const reserved = [server.url('/export/manifest.jsonl'), server.url('/export/REPORT.html')]
  const first = await runCli([...reserved, '-o', out, '-n', '{name}'])
  assert.equal(first.code, 0, first.stderr)
  const lines = await manifest(out)
  assert.equal(lines.length, 2)
  for (const line of lines) {
    assert.equal(line.status, 'ok')
    assert.match(line.path, /^(manifest\.jsonl|REPORT\.html)-[0-9a-f]{8}$/)
    assert.deepEqual(await readFile(join(out, line.path)), server.bytes(new URL(line.url).pathname))
  }
  assert.match(await readFile(join(out, 'report.html'), 'utf8'), /<html/i)

  // `a.jpg` is saved first; `a.jpg/b` then needs a folder of that name.
  const clash = join(dir, 'clash.txt')
  await writeFile(clash, `${server.url('/a')}\n${server.url('/a.jpg/b')}\n`)
  const args = [clash, '-o', join(dir, 'clash'), '-n', '{path}{ext}', '-c', '1']
  const saved = await runCli(args)
  assert.equal(saved.code, 0, saved.stderr)
  const files = (await manifest(join(dir, 'clash'))).map((l) => l.path)
  assert.equal(files[0], 'a.jpg')
  assert.match(files[1], /^a\.jpg_b-[0-9a-f]{8}\.jpg$/)
  const rerun = await runCli(args)
  assert.equal(rerun.code, 0, rerun.stderr)
  assert.match(rerun.stderr, /2 already done/)
})

test("a report.html or manifest.jsonl of the user's in the output folder is never replaced: the run is refused before it begins", async () => {
  for (const [name, theirs] of [
    ['report.html', '<!doctype html><title>Q3 sales</title>\n'],
    ['manifest.jsonl', '{"sku": 1}\n'],
  ] as const) {
    const out = join(dir, `theirs-${name}`)
    await mkdir(out)
    await writeFile(join(out, name), theirs)
    const r = await runCli([server.url('/theirs.jpg'), '-o', out])
    assert.equal(r.code, 2, r.stderr)
    assert.match(
      r.stderr,
      new RegExp(
        `^imgpull: \\S+/${name.replace('.', '\\.')} is not imgpull's \\(a file of yours\\?\\): imgpull writes its own ${name.replace('.', '\\.')} there and would replace it; move it, or give another output folder with -o`,
      ),
    )
    assert.equal(await readFile(join(out, name), 'utf8'), theirs)
    assert.deepEqual(await readdir(out), [name], 'nothing fetched, no journal made')
  }
  // imgpull's own, from an earlier run, is replaced as ever; so is an empty file.
  const out = join(dir, 'theirs-report.html')
  await writeFile(join(out, 'report.html'), '')
  assert.equal((await runCli([server.url('/theirs.jpg'), '-o', out])).code, 0)
  const again = await runCli([server.url('/theirs-2.jpg'), '-o', out])
  assert.equal(again.code, 0, again.stderr)
  assert.equal((await manifest(out)).length, 2)
  // imgpull report refuses to write over one too.
  await writeFile(join(out, 'report.html'), 'my notes\n')
  const report = await runCli(['report', out])
  assert.equal(report.code, 2, report.stderr)
  assert.match(report.stderr, /report\.html is not imgpull's .*; move it first/)
  assert.equal(await readFile(join(out, 'report.html'), 'utf8'), 'my notes\n')
})

test("a folder or a FIFO at the name of imgpull's own report or manifest is refused before the run begins, as a file of the user's is", async () => {
  // A FIFO held the run before its first request, forever (its check opened it to read, and
  // waited for a writer; a SIGTERM's graceful stop waited too); a folder failed the run at its
  // end, its images saved, as a raw `EISDIR: illegal operation on a directory, rename …` (exit 1).
  for (const [name, kind, make] of [
    ['manifest.jsonl', 'a FIFO', (path: string) => execFileSync('mkfifo', [path])],
    ['report.html', 'a FIFO', (path: string) => execFileSync('mkfifo', [path])],
    ['report.html', 'a folder', (path: string) => mkdir(path)],
  ] as const) {
    const out = join(dir, `other-${kind.slice(2)}-${name}`)
    await mkdir(out)
    await make(join(out, name))
    const run = startCli([server.url('/other.jpg'), '-o', out])
    const timer = setTimeout(() => run.child.kill('SIGKILL'), 20_000)
    const r = await run.done
    clearTimeout(timer)
    assert.equal(r.code, 2, `${kind} at ${name}: ${r.stderr}`)
    assert.match(
      r.stderr,
      new RegExp(
        `^imgpull: \\S+/${name.replace('.', '\\.')} is ${kind}, not imgpull's: imgpull writes its own ${name.replace('.', '\\.')} there and would replace it; move it`,
      ),
    )
    assert.deepEqual(await readdir(out), [name], 'nothing fetched, no journal made')
  }
  // imgpull report says so too.
  const out = join(dir, 'other-report')
  assert.equal((await runCli([server.url('/other.jpg'), '-o', out])).code, 0)
  await rm(join(out, 'report.html'))
  await mkdir(join(out, 'report.html'))
  const report = await runCli(['report', out])
  assert.equal(report.code, 2, report.stderr)
  assert.match(report.stderr, /report\.html is a folder, not imgpull's: .*; move it first/)
})

test('names one case-insensitive disk holds as one file (case, é composed or not) each get their own', async () => {
  // On exFAT (a camera's card, no hard links) Cat.jpg, cat.jpg and CAT.jpg were one file, the last
  // one's bytes, with all three journaled ok; on APFS and NTFS the same, and a folder made on Linux
  // lost all but one when copied there.
  const out = join(dir, 'folds')
  const urls = ['/case/Cat.jpg', '/case/cat.jpg', '/case/caf%C3%A9.jpg', '/case/cafe%CC%81.jpg']
  const first = await runCli([...urls.map((u) => server.url(u)), '-o', out])
  assert.equal(first.code, 0, first.stderr)
  const folds = new Set<string>()
  for (const line of await manifest(out)) {
    const fold = line.path.normalize('NFC').toLowerCase()
    assert.ok(!folds.has(fold), `${line.path}: another job's name on a case-insensitive disk`)
    folds.add(fold)
    assert.deepEqual(await readFile(join(out, line.path)), server.bytes(new URL(line.url).pathname))
  }
  assert.deepEqual(
    (await manifest(out)).map((l) => l.path.replace(/-[0-9a-f]{8}\./, '-H.')),
    ['Cat.jpg', 'cat-H.jpg', 'caf\u00e9.jpg', 'cafe\u0301-H.jpg'],
  )
  // A later run's name is kept apart from the earlier runs' too; the earlier ones stay as they are.
  const rerun = await runCli([...urls, '/case/CAT.JPG'].map((u) => server.url(u)).concat('-o', out))
  assert.equal(rerun.code, 0, rerun.stderr)
  assert.match((await manifest(out)).at(-1)!.path, /^CAT-[0-9a-f]{8}\.jpg$/)
  assert.match(rerun.stderr, /4 already done/)
})

test('a rerun with another --name names what is not saved yet by it; what is saved keeps its name', async () => {
  // The job that failed kept the first run's name: the rerun saved it as late.jpg, not as asked,
  // and a name the file system refused (bad-name) was refused again on every rerun.
  const out = join(dir, 'renamed')
  const urls = [server.url('/renamed/early.jpg'), server.url('/renamed/late.jpg?status=500&times=1')]
  const first = await runCli([...urls, '-o', out, '--retries', '0'])
  assert.equal(first.code, 1, first.stderr)
  const second = await runCli([...urls, '-o', out, '--retries', '0', '-n', 'new/{index}-{name}{ext}'])
  assert.equal(second.code, 0, second.stderr)
  assert.deepEqual(
    (await manifest(out)).map((l) => l.path),
    ['early.jpg', 'new/2-late.jpg'],
  )
  assert.deepEqual(await outputFiles(out), ['early.jpg', 'new/2-late.jpg'])
})

test('a journal of an earlier version learns the folds of its names', async () => {
  const { default: Database } = await import('better-sqlite3')
  const { SqliteJournal } = await import('../src/journal/sqlite.js')
  const path = join(dir, 'fold-journal', 'journal.db')
  let journal = new SqliteJournal(path)
  for (const key of ['Cat', 'dog']) journal.plan({ key, url: `http://x/${key}` }, key, (n) => `${key}-${n}`)
  await journal.close()
  const db = new Database(path) // as an earlier version made it: no folds
  db.exec('DROP INDEX jobs_planned_fold; ALTER TABLE jobs DROP COLUMN planned_fold')
  db.close()
  journal = new SqliteJournal(path)
  try {
    assert.equal(
      journal.plan({ key: 'CAT', url: 'http://x/CAT' }, 'CAT', (n) => `CAT-${n}`),
      'CAT-1',
    )
    assert.equal(
      journal.plan({ key: 'Dog', url: 'http://x/Dog' }, 'Dog', (n) => `Dog-${n}`),
      'Dog-1',
    )
  } finally {
    await journal.close()
  }
})

test('a folder on the way that is a file, under long folders: the joined name is cut to a length a file system takes', async () => {
  // 150 + 150 bytes of folders joined into one 310-byte name: ENAMETOOLONG, bad-name on every
  // rerun, and the message named the part file, not the name refused.
  const [a, b] = ['a'.repeat(150), 'b'.repeat(150)]
  const out = join(dir, 'long-clash')
  const clash = join(dir, 'long-clash.txt')
  await writeFile(clash, `${server.url(`/${a}`)}\n${server.url(`/${a}/${b}`)}\n`)
  const r = await runCli([clash, '-o', out, '-n', '{path}', '-c', '1'])
  assert.equal(r.code, 0, r.stderr)
  const files = (await manifest(out)).map((l) => l.path)
  assert.equal(files[0], a)
  assert.match(files[1], new RegExp(`^${a}_b+-[0-9a-f]{8}$`))
  assert.ok(Buffer.byteLength(files[1]) <= 255, `${Buffer.byteLength(files[1])} bytes`)
  assert.deepEqual(await readFile(join(out, files[1])), server.bytes(`/${a}/${b}`))
})

test('an output folder whose path is too long for SQLite says so, not that the journal is unwritable', async () => {
  // It said "it cannot be opened; make it writable", for a folder anyone could write to.
  const out = join(dir, ...Array.from({ length: 5 }, (_, i) => `${i}`.repeat(100)))
  await mkdir(out, { recursive: true })
  const r = await runCli([server.url('/deep-0'), '-o', out])
  assert.equal(r.code, 3, r.stderr)
  assert.match(
    r.stderr,
    /its path is \d+ bytes, longer than SQLite opens \(504\); choose an output folder with a shorter path/,
  )
  const without = await runCli([server.url('/deep-0'), '-o', out, '--no-journal'])
  assert.equal(without.code, 0, without.stderr)
})

test("a link planted at a part file's name is never written through: nothing outside the folder changes", async () => {
  // Part names are a hash of the URL: a link there (a shared folder, one unpacked from an archive
  // with its .imgpull/) had the body written over the file it pointed to, and the image's name
  // made a link to it.
  const out = join(dir, 'planted')
  const victim = join(dir, 'planted-victim.txt')
  await writeFile(victim, 'precious')
  const urls = [server.url('/planted/small.jpg'), server.url('/planted/large.jpg?size=700000')]
  await mkdir(join(out, '.imgpull', 'parts'), { recursive: true })
  const partOf = (url: string) => `${createHash('sha256').update(url).digest('hex').slice(0, 32)}.part`
  for (const url of urls) await symlink(victim, join(out, '.imgpull', 'parts', partOf(url)))
  const r = await runCli([...urls, '-o', out])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(await readFile(victim, 'utf8'), 'precious')
  for (const line of await manifest(out)) {
    assert.ok((await lstat(join(out, line.path))).isFile(), `${line.path} is a file, not a link`)
    assert.deepEqual(
      await readFile(join(out, line.path)),
      server.bytes(new URL(line.url).pathname + new URL(line.url).search),
    )
  }
})

test('a file where the work folder or its parts folder must be is named (exit 3), not said as the output folder', async () => {
  // `.imgpull` a file was said `cannot write in output folder OUT: part of the path is a file, not
  // a folder`, `.imgpull/parts` a file `cannot write in output folder OUT: EEXIST`.
  for (const file of ['.imgpull', join('.imgpull', 'parts')]) {
    const out = join(dir, `in-the-way-${file.length}`)
    await mkdir(join(out, file, '..'), { recursive: true })
    await writeFile(join(out, file), 'not a folder\n')
    const r = await runCli([server.url('/in-the-way'), '-o', out])
    assert.equal(r.code, 3, r.stderr)
    assert.equal(
      r.stderr.trim(),
      `imgpull: cannot write in output folder ${out}: ${join(out, file)} is a file, not a folder; move that file away, or choose another output folder with -o`,
    )
  }
})

test('a folder where imgpull keeps a file of its own in .imgpull is named (exit 3), with what to do', async () => {
  // A folder at lock.db was said as `cannot write the journal …/journal.db: it cannot be opened;
  // make it writable`, at journal.db-shm as a read-only journal, at journal.db-wal as an
  // input/output error, at files.json or lock.json as a raw `EISDIR: illegal operation on a
  // directory, rename …` (exit 1).
  const out = join(dir, 'work-file-folders')
  assert.equal((await runCli([server.url('/work-file-0'), '-o', out])).code, 0)
  const holds: Record<string, string> = {
    'lock.db': "the folder's lock",
    'lock.db-wal': "the folder's lock",
    'lock.json': 'who holds the lock',
    'journal.db': "the folder's journal",
    'journal.db-wal': "the folder's journal",
    'journal.db-shm': "the folder's journal",
    'files.json': "how the folder's images were made",
    'dataset.json': 'what the folder holds (WebDataset shards or files)',
  }
  for (const [name, what] of Object.entries(holds)) {
    const path = join(out, '.imgpull', name)
    const kept = join(dir, `kept-${name}`)
    await rm(kept, { force: true })
    await rename(path, kept).catch(() => {})
    await mkdir(path)
    for (const format of ['files', 'webdataset']) {
      const r = await runCli([server.url('/work-file-1'), '-o', out, '--output-format', format])
      assert.equal(r.code, 3, `${name}, ${format}: ${r.stderr}`)
      assert.equal(
        r.stderr.trim(),
        `imgpull: ${path} is a folder, not a file: imgpull keeps ${what} there; move it away, then run the same command again`,
      )
    }
    if (name === 'journal.db' || name === 'journal.db-wal') {
      for (const command of ['status', 'report']) {
        const r = await runCli([command, out])
        assert.equal(r.code, 3, r.stderr)
        const which: string = name === 'journal.db' ? 'it is' : `${path} is`
        assert.equal(
          r.stderr.trim(),
          `imgpull: cannot read the journal ${join(out, '.imgpull', 'journal.db')}: ${which} a folder, not a file; move it away, then run the same command again`,
        )
      }
    }
    await rm(path, { recursive: true })
    await rename(kept, path).catch(() => {})
  }
  // Moved away as told: the folder goes on from its journal.
  const again = await runCli([server.url('/work-file-0'), server.url('/work-file-1'), '-o', out])
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stderr, /1 already done/)
})

test('an output folder a file system refuses to make (procfs) fails at once with exit 3, never hangs', async () => {
  // Node's recursive mkdir makes /proc again and again, forever, when /proc/x is refused with ENOENT.
  const r = await runCli([server.url('/proc-0'), '-o', '/proc/imgpull-cannot-be-here/out'])
  assert.equal(r.code, 3, r.stderr)
  assert.match(r.stderr, /^imgpull: cannot create output folder \/proc\/imgpull-cannot-be-here\/out: /)
  assert.equal(r.stderr.trim().split('\n').length, 1)
})

test('an output folder that cannot be made gets the advice its cause takes, not "make it writable" of every errno', async () => {
  // /proc said 'no such folder; make it writable', /sys 'operation not permitted; make it writable'
  // (as root; 'permission denied' as a user), a link to nothing 'EEXIST; move that file away'.
  const [proc, sys, existing] = await Promise.all([
    runCli([server.url('/where-0'), '-o', '/proc/nope']),
    runCli([server.url('/where-0'), '-o', '/sys/nope/out']),
    runCli([server.url('/where-0'), '-o', '/proc/self']),
  ])
  for (const [r, folder, fs] of [
    [proc, '/proc/nope', 'procfs'],
    [sys, '/sys/nope/out', 'sysfs'],
  ] as const) {
    assert.equal(r.code, 3, r.stderr)
    assert.equal(
      r.stderr,
      `imgpull: cannot create output folder ${folder}: /${folder.split('/')[1]} is ${fs}, the kernel's view of itself, not a disk: nothing can be stored there; choose an output folder on a disk with -o\n`,
    )
  }
  assert.equal(existing.code, 3, existing.stderr)
  assert.match(
    existing.stderr,
    /^imgpull: cannot write in output folder \/proc\/self: \/proc\/self is procfs, /,
  )
  await symlink(join(dir, 'not-made'), join(dir, 'to-nothing'))
  const link = await runCli([server.url('/where-0'), '-o', join(dir, 'to-nothing', 'out')])
  assert.equal(link.code, 3, link.stderr)
  assert.equal(
    link.stderr,
    `imgpull: cannot create output folder ${join(dir, 'to-nothing', 'out')}: ${join(dir, 'to-nothing')} is a link to ${join(dir, 'not-made')}, which is not there; make the folder it links to, or choose another output folder with -o\n`,
  )
  // A link that leads back to itself is there: said as the loop it is, not as a link to nothing
  // (ln -s loop loop, or two links to each other; a /var/tmp so linked, skiffos/SkiffOS#39).
  await symlink('loop-b', join(dir, 'loop-a'))
  await symlink('loop-a', join(dir, 'loop-b'))
  const loop = mkdirFault(Object.assign(new Error('loop'), { code: 'ELOOP' }), join(dir, 'loop-a', 'out'))
  assert.equal(
    loop.message,
    `cannot create output folder ${join(dir, 'loop-a', 'out')}: ${join(dir, 'loop-a')} is a link to loop-b, which leads back to it (a loop of links)`,
  )
  assert.equal(loop.hint, 'point the link at a folder, or choose another output folder with `out`')
  // Refused a folder (EACCES), the folder to make writable is named: the output folder is not there.
  const denied = mkdirFault(
    Object.assign(new Error('denied'), { code: 'EACCES' }),
    join(dir, 'locked', 'out'),
  )
  assert.equal(denied.message, `cannot create output folder ${join(dir, 'locked', 'out')}: permission denied`)
  assert.equal(
    denied.hint,
    `make ${dir} writable for this user, or choose another output folder with \`out\``,
  )
})

test('local faults: exit 3 and one line naming the real cause and what to do', async (t) => {
  if (!canMount()) {
    // CI and the dev machines run as root allowed to mount, where this never skips; elsewhere
    // (another user, root in a container without CAP_SYS_ADMIN) mounting is refused.
    t.skip('bind and tmpfs mounts need root, allowed to mount (CAP_SYS_ADMIN)')
    return
  }
  // A journal that cannot be written (read-only), in a folder that can.
  const out = join(dir, 'ro-journal')
  assert.equal((await runCli([server.url('/ro-0'), '-o', out])).code, 0)
  const journal = join(out, '.imgpull', 'journal.db')
  execFileSync('mount', ['--bind', journal, journal])
  try {
    execFileSync('mount', ['-o', 'remount,ro,bind', journal])
    const r = await runCli([server.url('/ro-1'), '-o', out])
    assert.equal(r.code, 3, r.stderr)
    assert.match(
      r.stderr,
      /cannot write the journal .*journal\.db: it is read-only; make it writable, or run with --no-journal/,
    )
    assert.doesNotMatch(r.stderr, /Run the same command again/)
  } finally {
    execFileSync('umount', [journal])
  }

  // A read-only file system, where the output folder is to be made.
  const mnt = join(dir, 'ro-fs')
  await mkdir(mnt)
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt])
  try {
    execFileSync('mount', ['-o', 'remount,ro', mnt])
    const r = await runCli([server.url('/ro-2'), '-o', join(mnt, 'out')])
    assert.equal(r.code, 3, r.stderr)
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
    assert.match(
      r.stderr,
      /cannot create output folder .*: read-only file system; choose an output folder on a writable disk/,
    )
    // The mount point itself is there: not to be created, but not writable.
    const there = await runCli([server.url('/ro-3'), '-o', mnt])
    assert.equal(there.code, 3, there.stderr)
    assert.match(
      there.stderr,
      /^imgpull: cannot write in output folder .*ro-fs: read-only file system; choose an output folder on a writable disk/,
    )
  } finally {
    execFileSync('umount', ['-l', mnt])
  }
})

test('a folder that refuses a final name is named, not the part file or temporary it came from in .imgpull (files, manifest, shards, report)', async (t) => {
  if (!canMount()) {
    t.skip('bind mounts and chattr need root, allowed to mount (CAP_SYS_ADMIN)')
    return
  }
  // The file taking its name in a folder that refuses it was said as its source: `cannot write
  // OUT/.imgpull/parts/….part: read-only file system` (a file on a writable disk, which a person
  // would make writable in vain), or `….imgpull/shards/00000.tar.tmp`,
  // `….imgpull/manifest.jsonl.….tmp`, `….imgpull/report.html.….tmp` for the folder itself.
  const said = (r: { code: number | null; stderr: string }, folder: string, why: string, row: string) => {
    assert.equal(r.code, 3, `${row}: ${r.stderr}`)
    const first = r.stderr.split('\n')[0]!.replace(/; stopped, files already saved are complete/, '')
    assert.equal(first.slice(0, first.lastIndexOf(';')), `imgpull: cannot write ${folder}: ${why}`, row)
  }

  // A folder of names (`{path}`) on a read-only mount: the image taking its name there.
  const out = join(dir, 'refusing')
  const first = join(dir, 'refusing-1.txt')
  await writeFile(first, `${server.url('/sub/refusing-0')}\n`)
  assert.equal((await runCli([first, '-o', out, '--name', '{path}{ext}'])).code, 0)
  const sub = join(out, 'sub')
  execFileSync('mount', ['--bind', sub, sub])
  try {
    execFileSync('mount', ['-o', 'remount,ro,bind', sub])
    const next = join(dir, 'refusing-2.txt')
    await writeFile(next, `${server.url('/sub/refusing-1')}\n`)
    const r = await runCli([next, '-o', out, '--name', '{path}{ext}'])
    said(r, sub, 'read-only file system', 'a folder of names')
  } finally {
    execFileSync('umount', [sub])
  }

  // The output folder itself made immutable (`chattr +i`, which root feels too, as it does not
  // `chmod a-w`), its .imgpull (journal, parts, staging) writable as before.
  const immutable = async (folder: string, body: () => Promise<void>) => {
    try {
      execFileSync('chattr', ['+i', folder], { stdio: 'ignore' })
    } catch {
      t.diagnostic(`chattr +i is refused on ${folder}: the rows of an immutable folder are not run`)
      return
    }
    try {
      await body()
    } finally {
      execFileSync('chattr', ['-i', folder])
    }
  }
  const denied = 'operation not permitted'
  await immutable(out, async () => {
    // A new image, then a rerun with nothing to fetch (its manifest), then the report made again.
    const more = join(dir, 'refusing-3.txt')
    await writeFile(more, `${server.url('/sub/refusing-0')}\n${server.url('/refusing-2')}\n`)
    said(await runCli([more, '-o', out, '--name', '{path}{ext}']), out, denied, 'an image')
    said(await runCli([first, '-o', out, '--name', '{path}{ext}']), out, denied, 'the manifest')
    said(await runCli(['report', out]), out, denied, 'the report')
  })

  // A shard sealed into a folder that refuses it.
  const shards = join(dir, 'refusing-shards')
  const table = join(dir, 'refusing.csv')
  await writeFile(table, `url\n${server.url('/refusing-s0')}\n`)
  const args = [table, '-o', shards, '--output-format', 'webdataset', '--shard-size', '2']
  assert.equal((await runCli(args)).code, 0)
  await writeFile(table, `url\n${server.url('/refusing-s0')}\n${server.url('/refusing-s1')}\n`)
  await immutable(shards, async () => said(await runCli(args), shards, denied, 'a shard'))
})

/** `urls` written in `dir` as a list, `STEM.txt`, and as a table of one column, `STEM.csv`: [list, table]. */
/** Answers held until `open()`; `shut()` holds the next ones. */
class Gate {
  wait = Promise.resolve()
  open = () => {}
  shut(): void {
    this.wait = new Promise((resolve) => {
      this.open = resolve
    })
  }
}

/** Start the CLI with the gate shut, once the server holds its first `requests` requests. */
async function startHeld(held: ImageServer, gate: Gate, args: string[], requests: number) {
  gate.shut()
  const before = held.stats.requests
  const run = startCli(args)
  await until('the requests, held', () => held.stats.requests - before >= requests)
  return run
}

async function listAndTable(stem: string, urls: string[]): Promise<[string, string]> {
  const file = join(dir, `${stem}.txt`)
  const table = join(dir, `${stem}.csv`)
  await writeFile(file, urls.join('\n'))
  await writeFile(table, `url\n${urls.join('\n')}\n`)
  return [file, table]
}

test('a .imgpull on another disk than the output folder (a link to a local disk): manifest, report and shards are copied into place', (t) =>
  onSmallDisk(t, join(dir, 'work-disk'), '16m', async (disk) => {
    // SQLite's journal is not to be kept on a network mount: an output folder there takes a
    // `.imgpull` linked to a local disk. Images took their names across (a copy, then a rename);
    // the manifest, the report and each shard were renamed from .imgpull and failed as EXDEV
    // (`imgpull: EXDEV: cross-device link not permitted, rename '…manifest.jsonl….tmp'`, exit 1),
    // a WebDataset run at its first shard, none sealed.
    const urls = Array.from({ length: 5 }, (_, i) => server.url(`/across-${i}`))
    const [file, table] = await listAndTable('across', urls)
    for (const [name, args] of [
      ['files', [file]],
      ['webdataset', [table, '--output-format', 'webdataset', '--shard-size', '2']],
    ] as const) {
      const out = join(dir, `across-${name}`)
      await mkdir(join(disk, name))
      await mkdir(out)
      await symlink(join(disk, name), join(out, '.imgpull'))
      const r = await runCli([...args, '-o', out])
      assert.equal(r.code, 0, `${name}: ${r.stderr}`)
      const left = (await readdir(out)).filter((f) => f.includes('imgpull-copy') || f.endsWith('.tmp'))
      assert.deepEqual(left, [], name)
      const lines = await manifest(out)
      assert.deepEqual(
        lines.map((l) => l.status),
        urls.map(() => 'ok'),
        name,
      )
      assert.ok((await readFile(join(out, 'report.html'), 'utf8')).includes('<html'), name)
      if (name === 'files') {
        for (const [i, url] of urls.entries())
          assert.ok(
            (await readFile(join(out, `across-${i}.jpg`))).equals(server.bytes(new URL(url).pathname)),
          )
      } else {
        const tars = (await readdir(out)).filter((f) => f.endsWith('.tar')).sort()
        assert.deepEqual(tars, ['00000.tar', '00001.tar', '00002.tar'])
        const listed = execFileSync('tar', ['-tf', join(out, '00002.tar')], { encoding: 'utf8' })
        assert.equal(
          listed
            .trim()
            .split('\n')
            .filter((f) => f.endsWith('.jpg')).length,
          1,
          listed,
        )
      }
      // A rerun has nothing to do, and says so with exit 0.
      const again = await runCli([...args, '-o', out])
      assert.equal(again.code, 0, `${name} again: ${again.stderr}`)
      assert.match(again.stderr, /5 already done/, name)
    }
  }))

test('the output folder removed mid-run: exit 3, one line naming it, not every file failed as `network` (files, --threads 2, webdataset)', async () => {
  // Each file failed as `network error … ENOENT … .part` after its retries, the bodies thrown away,
  // and the run ended with exit 1 on `ENOENT … manifest.jsonl…tmp` (WebDataset: on its spool).
  const gate = new Gate()
  const held = await startImageServer({ hold: () => gate.wait })
  try {
    const urls = Array.from({ length: 4 }, (_, i) => held.url(`/gone-${i}`))
    const [file, table] = await listAndTable('gone', urls)
    for (const [name, args] of [
      ['files', [file]],
      ['threads', [file, '--threads', '2']],
      ['webdataset', [table, '--output-format', 'webdataset', '--shard-size', '2']],
    ] as const) {
      const out = join(dir, `gone-${name}`)
      const run = await startHeld(held, gate, [...args, '-o', out], urls.length)
      await rm(out, { recursive: true, force: true })
      gate.open()
      const r = await run.done
      assert.equal(r.code, 3, `${name}: ${r.stderr}`)
      assert.match(
        r.stderr,
        /^imgpull: cannot write \S*gone-\w+: it was removed or moved away while the run went on; .*run the same command again/m,
        name,
      )
      assert.doesNotMatch(r.stderr, /ENOENT|failed network/, name)
      // Its report was written at the end into the folder made again: a `report.html` of images
      // that were not there, where the user had removed the folder.
      assert.deepEqual(await readdir(out).catch(() => 'gone'), 'gone', name)
    }
  } finally {
    await held.close()
  }
})

test('the output folder moved away mid-run, or its .imgpull removed: nothing made again where they were', async () => {
  const gate = new Gate()
  const held = await startImageServer({ hold: () => gate.wait })
  try {
    const urls = Array.from({ length: 3 }, (_, i) => held.url(`/moved-${i}`))
    const [file] = await listAndTable('moved', urls)
    for (const what of ['folder', '.imgpull'] as const) {
      const out = join(dir, `moved-${what.slice(1)}`)
      const run = await startHeld(held, gate, [file, '-o', out], urls.length)
      if (what === 'folder') await rename(out, `${out}-elsewhere`)
      else await rm(join(out, '.imgpull'), { recursive: true, force: true })
      gate.open()
      const r = await run.done
      assert.equal(r.code, 3, `${what}: ${r.stderr}`)
      const gone = what === 'folder' ? out : join(out, '.imgpull')
      // axcore/tartube#154 (files moved behind a tool's back): "removed" sent the user to fetch
      // again what the moved folder held; moved back, its journal skips all of it.
      assert.ok(
        r.stderr.includes(
          `cannot write ${gone}: it was removed or moved away while the run went on; stopped, files already saved are complete; if it was moved, move it back and run the same command again`,
        ),
        `${what}: ${r.stderr}`,
      )
      // The report made `.imgpull` again and wrote `report.html` there, of images elsewhere.
      if (what === 'folder') {
        assert.deepEqual(await readdir(out).catch(() => 'gone'), 'gone')
        assert.ok((await readdir(`${out}-elsewhere`)).includes('.imgpull'))
      } else assert.deepEqual(await readdir(out), [])
    }
  } finally {
    await held.close()
  }
})

test('a file put where the output folder, its .imgpull or its parts was, mid-run: exit 3, one line naming it, not every file failed as `bad-name` (files, webdataset)', async () => {
  // Parts: every file left failed as `bad-name` (ENOTDIR … .part), exit 1. `.imgpull` or the output
  // folder: a bare `ENOTDIR: not a directory, stat 'o/.imgpull'` (a shard's rows, in WebDataset),
  // exit 1; a transfer cut by the stop, whose part only this run could resume, crashed the run as
  // its part was removed (an uncaught ENOTDIR from rmSync, Node's stack trace).
  const gate = new Gate()
  const held = await startImageServer({
    hold: (path) => (path.startsWith('/taken-held') ? gate.wait : undefined),
  })
  try {
    // Two bodies that take seconds, without validators, mid-body as the folder is taken.
    const slow = [0, 1].map((i) => held.url(`/taken-slow-${i}?size=30000&drip=10000&lmonly=1&nolm=1`))
    const urls = [...slow, ...[0, 1, 2].map((i) => held.url(`/taken-held-${i}`))]
    const [file, table] = await listAndTable('taken', urls)
    for (const [name, args, taken] of [
      ['parts', [file], '.imgpull/parts'],
      ['work', [table, '--output-format', 'webdataset'], '.imgpull'],
      ['out', [file], ''],
    ] as const) {
      const out = join(dir, `taken-${name}`)
      const run = await startHeld(held, gate, [...args, '-o', out], urls.length)
      // A WebDataset run holds small bodies in memory: no part to wait for.
      if (name !== 'work')
        await until(`${name}: the slow bodies begun`, async () =>
          (await readdir(join(out, '.imgpull', 'parts')).catch(() => [])).some((n) => n.endsWith('.part')),
        )
      const at = join(out, taken)
      // In one turn, with no await between: on a loaded machine the run noticed the folder gone in
      // the gap (`it was removed or moved away while the run went on`, also right) before the file stood there.
      renameSync(at, `${at}-elsewhere`)
      writeFileSync(at, 'not a folder')
      gate.open()
      const r = await run.done
      assert.equal(r.code, 3, `${name}: ${r.stderr}`)
      assert.ok(
        r.stderr.includes(`imgpull: cannot write ${at}: a file stands where that folder must be; `),
        `${name}: ${r.stderr}`,
      )
      assert.doesNotMatch(r.stderr, /ENOTDIR|failed bad-name|Node\.js v/, name)
    }
  } finally {
    await held.close()
  }
})

test('a folder of names removed mid-run (finished images moved away): made again, the next image saved there', async () => {
  const out = join(dir, 'moved-away')
  await mkdir(join(out, 'parts'), { recursive: true })
  markFresh(out, true)
  for (const [i, name] of ['a.jpg', 'b.jpg'].entries()) {
    const part = join(out, 'parts', `${i}.part`)
    await writeFile(part, name)
    assert.equal(await publish(part, out, `host/${name}`, false), true)
    // The folder and what it holds moved elsewhere by the user, between two images.
    if (i === 0) await rm(join(out, 'host'), { recursive: true })
  }
  assert.equal(await readFile(join(out, 'host', 'b.jpg'), 'utf8'), 'b.jpg')
})
