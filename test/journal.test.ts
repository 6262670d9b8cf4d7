import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { Worker } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { pull, type Result } from '../src/index.js'
import { SAME_BYTES_AT, SqliteJournal, summarizeJournal } from '../src/journal/sqlite.js'
import { cleanup, outputFiles, runCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { until } from './support/wait.js'

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

const require = createRequire(import.meta.url)
const hits = (path: string) => server.hits.get(path) ?? 0

test('a rerun skips finished work and permanent failures, retries passing ones, refetches what vanished', async () => {
  const out = join(dir, 'rerun')
  const paths = Array.from({ length: 8 }, (_, i) => `/keep-${i}`)
  const list = join(dir, 'rerun.txt')
  // A server error is a passing failure; a 404 is permanent.
  const flaky = '/flaky?status=500&times=1'
  await writeFile(list, [...paths, '/missing?status=404', flaky].map((p) => server.url(p)).join('\n'))

  const first = await runCli([list, '-o', out, '--retries', '0'])
  assert.equal(first.code, 1)
  assert.equal(hits('/keep-0'), 1)
  assert.equal(hits(flaky), 1)

  const second = await runCli([list, '-o', out, '--json', '--retries', '0'])
  assert.equal(second.code, 1, 'the earlier failure still counts')
  for (const p of paths) assert.equal(hits(p), 1, `${p} fetched again`)
  assert.equal(hits('/missing?status=404'), 1, 'a permanent failure is not retried without --retry-failed')
  assert.equal(hits(flaky), 2, 'a passing failure is tried again by a plain rerun')
  const lines = second.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  assert.equal(lines.filter((l) => l.status === 'skipped').length, 8)
  assert.equal(lines.find((l) => l.url === server.url(flaky)).status, 'ok')
  assert.match(lines.find((l) => l.status === 'failed').message, /earlier run/)
  assert.equal(lines.at(-1).summary.failedBefore, 1)
  assert.equal(lines.at(-1).summary.failed, 0)

  await unlink(join(out, 'keep-3.jpg'))
  const third = await runCli([list, '-o', out, '--retry-failed'])
  assert.equal(third.code, 1)
  assert.equal(hits('/keep-3'), 2, 'a vanished file is fetched again')
  assert.equal(hits('/keep-4'), 1)
  assert.equal(hits('/missing?status=404'), 2, '--retry-failed tries again')
  assert.ok((await readFile(join(out, 'keep-3.jpg'))).equals(server.bytes('/keep-3')))

  const status = await runCli(['status', out])
  assert.equal(status.code, 0)
  assert.match(status.stdout, /9 ok .*1 failed/)
  assert.match(status.stdout, /http-404 ×1/)
  assert.match(status.stdout, /Add --retry-failed to try the 1 permanent failure too\./)
  assert.doesNotMatch(status.stdout, /passing cause/)
  // At rest the journal is no WAL database (file format bytes 18-19: 1, not 2), so a user who can
  // read the folder but not write it can still open it for `status` and `report`.
  assert.deepEqual([...(await readFile(join(out, '.imgpull', 'journal.db'))).subarray(18, 20)], [1, 1])
  const json = JSON.parse((await runCli(['status', out, '--json'])).stdout)
  assert.deepEqual(json.counts, { ok: 9, failed: 1 })
  assert.deepEqual(json.failures, [{ error: 'http-404', n: 1 }])
})

test("status: an invalid line is the input's own failure, not one --retry-failed tries again", async () => {
  // It said "Add --retry-failed to try the 2 permanent failures too" of a 404 and a line that is
  // no URL, which every run fails again without a request until the list is mended.
  const out = join(dir, 'own')
  const list = join(dir, 'own.txt')
  await writeFile(
    list,
    [server.url('/own-gone?status=404'), 'htp://typo.example/a.jpg', server.url('/own-ok')].join('\n'),
  )
  assert.equal((await runCli([list, '-o', out])).code, 1)
  const status = await runCli(['status', out])
  assert.equal(status.code, 0, status.stderr)
  assert.match(status.stdout, /1 ok .*2 failed/)
  assert.match(status.stdout, /^Add --retry-failed to try the 1 permanent failure too\.$/m)
  assert.match(
    status.stdout,
    /^1 failure is the input's own \(a line or row that is no valid URL, row or hash, or a URL under a placeholder name such as images\.example\): every run fails it again until the input is mended\.$/m,
  )
})

// Two lists run into one folder: `imgpull status` said "Run the same command again to retry the 1
// failure with a passing cause" of a failure the earlier list left, which a rerun of the latest
// command (another list) never reads. Each failure is its own input's command's to take up again.
test("status names the command whose rerun takes up each failure: another list's run into the folder is not 'the same command'", async () => {
  const out = join(dir, 'two-lists')
  const a = join(dir, 'two-a.txt')
  const b = join(dir, 'two-b.txt')
  const c = join(dir, 'two-c.txt')
  await writeFile(
    a,
    ['/two-a-gone?status=404', '/two-a-busy?status=503', '/two-a-ok'].map((p) => server.url(p)).join('\n'),
  )
  await writeFile(b, server.url('/two-b-ok'))
  await writeFile(c, server.url('/two-c-busy?status=503'))
  const runA = ['imgpull', a, '-o', out, '--retries', '0'].join(' ')
  assert.equal((await runCli([a, '-o', out, '--retries', '0'])).code, 1)
  assert.equal((await runCli([b, '-o', out])).code, 0)
  const one = await runCli(['status', out])
  assert.equal(one.code, 0, one.stderr)
  assert.doesNotMatch(one.stdout, /same command/)
  assert.ok(
    one.stdout.includes(
      `Failed or not finished, by the command that last read them (each command's rerun takes up its own input's alone): ${runA}: 2 failed.\n`,
    ),
    one.stdout,
  )
  assert.ok(
    one.stdout.includes(`\nRun ${runA} again to retry the 1 failure with a passing cause.\n`),
    one.stdout,
  )
  assert.ok(
    one.stdout.includes(`\nRun ${runA} again with --retry-failed to try the 1 permanent failure too.\n`),
    one.stdout,
  )
  // A third list with its own failure: each command is named with its count, the latest's said so.
  assert.equal((await runCli([c, '-o', out, '--retries', '0'])).code, 1)
  const two = await runCli(['status', out])
  assert.ok(
    two.stdout.includes(
      `: ${runA}: 2 failed; imgpull ${c} -o ${out} --retries 0 (the latest run): 1 failed.\n`,
    ),
    two.stdout,
  )
  assert.match(
    two.stdout,
    /^Run each of those commands again to retry the 2 failures with a passing cause\.$/m,
  )
  assert.match(
    two.stdout,
    /^Run each of them again with --retry-failed to try the 1 permanent failure too\.$/m,
  )
  // The same, for scripts: each run's command with its failed and unfinished jobs.
  const json = JSON.parse((await runCli(['status', out, '--json'])).stdout)
  assert.deepEqual(
    json.openByRun.map((o: { command: string; failed: number; pending: number }) => [
      o.command,
      o.failed,
      o.pending,
    ]),
    [
      [runA, 2, 0],
      [`imgpull ${c} -o ${out} --retries 0`, 1, 0],
    ],
  )
  // The same list run again holds its failures: the latest command's words again.
  assert.equal((await runCli([c, '-o', out, '--retries', '0'])).code, 1)
  assert.equal((await runCli([a, '-o', out, '--retries', '0'])).code, 1)
  const three = await runCli(['status', out])
  assert.ok(
    three.stdout.includes(
      `imgpull ${c} -o ${out} --retries 0: 1 failed; ${runA} (the latest run): 2 failed.`,
    ),
    three.stdout,
  )
})

test('a transfer stopped mid-body resumes in the next run from the bytes on disk', async () => {
  const out = join(dir, 'resume')
  const path = '/slowbig?size=600000&drip=300000'
  const stop = new AbortController()
  // Stopped once part of the body is on disk, not at a time: a run that a loaded machine starts
  // late may not have begun the body by then (2 s of it at 300 KB/s), and leaves nothing to resume.
  const parts = join(out, '.imgpull', 'parts')
  const partBegun = async () => {
    for (const name of await readdir(parts).catch(() => [] as string[]))
      if ((await stat(join(parts, name)).catch(() => undefined))?.size) return true
    return false
  }
  const stopping = until('part of the body on disk', partBegun)
    .catch(() => {})
    .then(() => stop.abort())
  const first: Result[] = []
  // As fetch() does, a run stopped through its signal rejects with the signal's reason.
  await assert.rejects(async () => {
    for await (const r of pull([server.url(path)], { out, signal: stop.signal })) first.push(r)
  }, /aborted/)
  await stopping
  assert.equal(first.length, 0, 'nothing finished')
  assert.equal((await readdir(parts)).length, 1, 'the partial file is kept')

  const second: Result[] = []
  for await (const r of pull([server.url(path)], { out })) second.push(r)
  assert.equal(second[0]?.status, 'ok')
  const resumed = server.log.filter((l) => l.url === path)[1]
  assert.match(String(resumed?.headers.range), /^bytes=[1-9]\d*-$/)
  assert.ok((await readFile(join(out, 'slowbig.jpg'))).equals(server.bytes(path)))
  assert.deepEqual(await readdir(join(out, '.imgpull', 'parts')), [])
  assert.deepEqual(await outputFiles(out), ['slowbig.jpg'])
})

test('journal: outcomes commit in batches, and flush makes them durable at once', async () => {
  const { default: Database } = await import('better-sqlite3')
  const { SqliteJournal } = await import('../src/journal/sqlite.js')
  const path = join(dir, 'flush', 'journal.db')
  const journal = new SqliteJournal(path)
  const reader = new Database(path, { readonly: true })
  const state = (key: string) =>
    (reader.prepare('SELECT state FROM jobs WHERE key = ?').get(key) as { state: string } | undefined)?.state
  try {
    for (const key of ['a', 'b']) journal.plan({ key, url: `http://x/${key}` }, key, (n) => `${key}-${n}`)
    journal.flush()
    let aDurable = false
    const a = journal.finish({ key: 'a', state: 'ok', attempts: 1 }).then(() => {
      aDurable = true
    })
    assert.equal(state('a'), 'pending', 'not yet committed: another reader still sees the old state')
    journal.flush()
    assert.equal(state('a'), 'ok', 'flush committed it')
    await a
    assert.ok(aDurable)
    await journal.finish({ key: 'b', state: 'failed', attempts: 2 })
    assert.equal(state('b'), 'failed', 'without flush, the batch commits on its own')
  } finally {
    reader.close()
    await journal.close()
  }
})

test('journal: the manifest lines SQLite makes are the ones manifestLine() makes, field for field', async () => {
  const { SqliteJournal } = await import('../src/journal/sqlite.js')
  const { MemoryJournal } = await import('../src/journal/journal.js')
  const path = join(dir, 'lines', 'journal.db')
  const sqlite = new SqliteJournal(path)
  const memory = new MemoryJournal()
  const jobs = [
    {
      key: 'a',
      url: 'https://user:secret@a.example/x.jpg',
      meta: { caption: 'a "quoted" café', n: 1, list: [1, 2] },
    },
    { key: 'b', url: 'https://b.example/y.png' },
    { key: 'c', url: 'https://c.example/z' },
    { key: 'd', url: 'https://d.example/w.webp', meta: { source: 'unsplash' } },
  ]
  for (const j of [sqlite, memory]) {
    for (const job of jobs) j.plan(job, `${job.key}\u0001`, (n) => `${job.key}-${n}`)
    await Promise.all([
      j.finish({
        key: 'a',
        state: 'ok',
        path: 'x.jpg',
        bytes: 10,
        sha256: 'ab',
        format: 'jpg',
        width: 3,
        height: 4,
        attempts: 2,
        ttfb: 12.5,
        total: 30,
        finishedAt: 1700000000000,
        answers: { '503': 1, '200': 1 },
        originalWidth: 30,
        originalHeight: 40,
        transformed: true,
      }),
      j.finish({
        key: 'b',
        state: 'failed',
        httpStatus: 404,
        error: 'http-404',
        message: 'HTTP 404 from https://b.example/y.png',
        attempts: 1,
        total: 5,
      }),
      j.finish({
        key: 'd',
        state: 'ok',
        path: 'w.webp',
        bytes: 1,
        attempts: 1,
        total: 1,
        transformed: false,
      }),
    ])
  }
  sqlite.flush()
  const parsed = (lines: Iterable<string>) => [...lines].map((l) => JSON.parse(l))
  const fromSql = parsed(sqlite.manifestLines())
  assert.deepEqual(fromSql, parsed(memory.manifestLines()))
  assert.equal(fromSql[0].url, 'https://a.example/x.jpg', 'credentials never reach the manifest')
  assert.equal(fromSql[2].status, 'pending')
  assert.equal(fromSql[3].transformed, false)
  await sqlite.close()
})

test('withAnswer: one more answer of a status, in a new object, the counts as before', async () => {
  const { withAnswer } = await import('../src/outcome.js')
  const cases: [Record<string, number> | undefined, number, Record<string, number>][] = [
    [undefined, 200, { '200': 1 }],
    [{ '429': 1 }, 429, { '429': 2 }],
    [{ '503': 2 }, 200, { '503': 2, '200': 1 }],
  ]
  for (const [counts, status, expected] of cases) {
    const before = JSON.stringify(counts)
    assert.deepEqual(withAnswer(counts, status), expected)
    assert.equal(JSON.stringify(counts), before, 'the counts given are not changed')
  }
})

test('journal: the validators of a part, with the URL that answered, last until the next run', async () => {
  const { SqliteJournal } = await import('../src/journal/sqlite.js')
  const path = join(dir, 'validators', 'journal.db')
  const validators = {
    etag: '"v1"',
    lastModified: 'Thu, 01 Jan 1970 00:00:01 GMT',
    length: 1000,
    from: 'http://cdn/img/1.jpg',
  }
  const first = new SqliteJournal(path)
  first.plan({ key: 'k', url: 'http://x/latest' }, 'k', (n) => `k-${n}`)
  first.setValidators('k', validators)
  await first.close()
  const next = new SqliteJournal(path)
  try {
    const { etag, lastModified, length, validatorsFrom } = next.get('k')!
    assert.deepEqual({ etag, lastModified, length, from: validatorsFrom }, validators)
  } finally {
    await next.close()
  }
})

test('status and report of a damaged or empty journal: one line naming it and what to do, exit 3', async () => {
  const out = join(dir, 'damaged')
  const first = await runCli([server.url('/d-1.jpg'), server.url('/d-2.jpg'), '-o', out])
  assert.equal(first.code, 0, first.stderr)
  const journal = join(out, '.imgpull', 'journal.db')
  const bytes = await readFile(journal)
  const cases: [string, Buffer, RegExp][] = [
    ['cut in half', bytes.subarray(0, bytes.length / 2), /it is damaged; move \.imgpull\/ away/],
    ['overwritten', Buffer.from('not a database at all, not even close'), /it is not an imgpull journal/],
    ['empty', Buffer.alloc(0), /it holds no journal yet .*; run the pull again/],
  ]
  for (const [what, content, says] of cases) {
    await writeFile(journal, content)
    for (const command of ['status', 'report']) {
      const r = await runCli([command, out])
      assert.equal(r.code, 3, `${command}, journal ${what}: ${r.stderr}`)
      const lines = r.stderr.trim().split('\n')
      assert.equal(lines.length, 1, r.stderr)
      assert.match(
        lines[0],
        new RegExp(`^imgpull: cannot read the journal ${journal.replaceAll('.', '\\.')}: `),
      )
      assert.match(lines[0], says, `${command}, journal ${what}`)
    }
  }
})

test('a journal damaged inside its rows (a JSON cell cut, a name fold at odds with its name): one line naming it, exit 3', async () => {
  const gone = server.url('/j-1.jpg?status=404')
  const list = join(dir, 'rows.txt')
  await writeFile(list, [gone, server.url('/j-2.jpg')].join('\n'))
  const damages: [string, string][] = [
    ['json', `UPDATE jobs SET answers = '{"200":' WHERE url LIKE '%j-2.jpg'`],
    // As a byte changed on disk leaves it: j-2's name is the one j-1 is about to take, its fold not.
    ['fold', `UPDATE jobs SET planned = 'j-1-x' || char(1), planned_fold = 'zzz' WHERE url LIKE '%j-2.jpg'`],
  ]
  for (const [what, damage] of damages) {
    const out = join(dir, `rows-${what}`)
    const first = await runCli([list, '-o', out])
    assert.equal(first.code, 1, first.stderr)
    const journal = join(out, '.imgpull', 'journal.db')
    const db = new Database(journal)
    db.exec(damage)
    db.close()
    const rerun = await runCli([list, '-o', out, '--retry-failed', '--name', '{name}-x{ext}'])
    assert.equal(rerun.code, 3, `${what}: ${rerun.stderr}`)
    const lines = rerun.stderr.trim().split('\n')
    assert.equal(lines.length, 1, rerun.stderr)
    assert.match(
      lines[0],
      new RegExp(`^imgpull: cannot use the journal ${journal.replaceAll('.', '\\.')}: it is damaged;`),
      what,
    )
  }
})

test('a journal made (without fsync) or reopened runs at synchronous NORMAL in WAL mode', async () => {
  const path = join(dir, 'durability', '.imgpull', 'journal.db')
  for (const what of ['made', 'reopened']) {
    const journal = new SqliteJournal(path)
    // Left at OFF, a power loss mid-run could tear the journal: the run must be back at NORMAL.
    assert.deepEqual(journal.durability, { synchronous: 1, journalMode: 'wal' }, what)
    await journal.close()
  }
  const db = new Database(path, { readonly: true })
  assert.equal((db.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n, 2, 'both runs kept')
  db.close()
})

test('status counts by state and by error are of one moment while a run writes the journal', async () => {
  const out = join(dir, 'moment')
  const urls = Array.from({ length: 400 }, (_, i) => `not a url ${i}`)
  for await (const _ of pull(urls, { out })) {
  }
  const journal = join(out, '.imgpull', 'journal.db')
  // Stands for a run committing outcomes (in WAL mode, as a run holds the journal): half the rows
  // flip between failed and pending, one commit at a time, on another thread, while the summary reads.
  const writer = new Worker(
    `const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))})
     const { parentPort } = require('node:worker_threads')
     const db = new Database(${JSON.stringify(journal)})
     db.pragma('busy_timeout = 5000')
     db.pragma('journal_mode = WAL')
     const flip = db.prepare("UPDATE jobs SET state = CASE state WHEN 'failed' THEN 'pending' ELSE 'failed' END WHERE id % 2 = 0 AND id % 50 = ?")
     let stop = false
     parentPort.on('message', () => { stop = true })
     const loop = () => { for (let i = 0; i < 50; i++) flip.run(i); if (stop) { db.close(); parentPort.postMessage('closed') } else setImmediate(loop) }
     loop()`,
    { eval: true },
  )
  try {
    let mismatches = 0
    const t0 = Date.now()
    for (let i = 0; i < 300 && Date.now() - t0 < 3000; i++) {
      const s = summarizeJournal(journal)
      const byError = s.failures.reduce((sum, f) => sum + f.n, 0)
      if (byError !== (s.counts.failed ?? 0)) mismatches++
    }
    assert.equal(mismatches, 0, `${mismatches} summaries counted failures twice, at two moments`)
  } finally {
    const closed = new Promise((resolve) => writer.once('message', resolve))
    writer.postMessage('stop')
    await closed
    await writer.terminate()
  }
})

test('status names the bytes many URLs gave alike: a placeholder served with 200 for missing images', async () => {
  // A CDN that answers every image it lost with one "image not available" PNG, 200 and no redirect:
  // each is an image, so kept, and nothing said that 6 of 8 files were the same picture.
  const out = join(dir, 'placeholder')
  const urls = [1, 2, 3, 4, 5, 6].map((i) => server.url(`/lost-${i}/unavailable`))
  const r = await runCli([...urls, server.url('/found-1'), server.url('/found-2'), '-o', out])
  assert.equal(r.code, 0, r.stderr)
  const status = await runCli(['status', out])
  assert.equal(status.code, 0)
  assert.match(status.stdout, /The very same bytes under many URLs \(a placeholder/)
  const sha = createHash('sha256').update(server.bytes('/lost-1/unavailable')).digest('hex')
  assert.match(status.stdout, new RegExp(`  6 files  sha256 ${sha.slice(0, 16)}…  e\\.g\\. ${urls[0]}\\n`))
  const json = JSON.parse((await runCli(['status', out, '--json'])).stdout)
  assert.deepEqual(json.sameBytes, [{ sha256: sha, n: 6, example: urls[0] }])
  // Fewer than SAME_BYTES_AT alike are the duplicates any list has: not named.
  const few = join(dir, 'few-alike')
  assert.equal((await runCli([...urls.slice(0, SAME_BYTES_AT - 1), '-o', few])).code, 0)
  assert.doesNotMatch((await runCli(['status', few])).stdout, /same bytes/)
  // A dataset's rows that repeat a URL (MS COCO's rows, one a caption: rom1504/img2dataset#244; LAION's
  // duplicates: ryanwebster90/onestep-extraction#3), each row its own sample, are one URL's
  // bytes again, not a placeholder under many: they were '6 files  sha256 …' of one URL.
  const table = join(dir, 'repeated.csv')
  const repeated = [1, 2, 3, 4, 5, 6].map(() => server.url('/repeated-row'))
  await writeFile(table, `url\n${[...repeated, ...urls.slice(0, SAME_BYTES_AT - 1)].join('\n')}\n`)
  const rows = join(dir, 'repeated-rows')
  assert.equal((await runCli([table, '-o', rows])).code, 0)
  assert.doesNotMatch((await runCli(['status', rows])).stdout, /same bytes/)
})

test("the run's start is when it began, not when its journal opened (the report's wall time is the terminal's)", async (t) => {
  const out = join(dir, 'started-at')
  const run = pull([server.url('/started-at')], { out })
  // The clock as seen from inside the run (the steady one it times itself by: utils/steady-clock.ts):
  // its first reading, then a minute later for every other (what opening the journal took, exaggerated).
  const real = performance.now.bind(performance)
  const first = real()
  let calls = 0
  t.mock.method(performance, 'now', () => (calls++ === 0 ? first : real() + 60_000))
  for await (const r of run) assert.equal(r.status, 'ok')
  t.mock.restoreAll()
  const db = new Database(join(out, '.imgpull', 'journal.db'), { readonly: true })
  const { started_at } = db.prepare('SELECT started_at FROM runs').get() as { started_at: number }
  db.close()
  assert.equal(started_at, Math.floor(performance.timeOrigin + first))
})

test('a journal emptied beside its images (truncated, or its -wal removed after a crash): the rerun says it starts over', async () => {
  const out = join(dir, 'emptied')
  const list = join(dir, 'emptied.txt')
  await writeFile(list, ['/emptied-a', '/emptied-b'].map((p) => server.url(p)).join('\n'))
  assert.equal((await runCli([list, '-o', out])).code, 0)
  // A journal file of 0 bytes: SQLite takes it for a new one, and every URL was fetched again, silently.
  await writeFile(join(out, '.imgpull', 'journal.db'), '')
  const rerun = await runCli([list, '-o', out])
  assert.equal(rerun.code, 0, rerun.stderr)
  assert.match(
    rerun.stderr,
    /^imgpull: warning: the journal \S+journal\.db holds no earlier run \(emptied, or its -wal removed\?\), but \S+ holds files: every URL is fetched again/m,
  )
  assert.deepEqual((await outputFiles(out)).sort(), ['emptied-a.jpg', 'emptied-b.jpg'], 'no duplicate names')
  // A first run, and a run after it, say nothing.
  assert.doesNotMatch((await runCli([list, '-o', out])).stderr, /warning/)
  assert.doesNotMatch((await runCli([list, '-o', join(dir, 'emptied-new')])).stderr, /warning/)
})

test('a journal removed alone between two runs (its files.json left, a clean-up of *.db): the rerun says it starts over', async () => {
  // Emersont1/itchio#37, fireinrain/asmr-downloader#26: a downloader's record deleted beside its
  // files, every file fetched again, without a word.
  const out = join(dir, 'removed-journal')
  const list = join(dir, 'removed-journal.txt')
  await writeFile(list, ['/removed-a', '/removed-b'].map((p) => server.url(p)).join('\n'))
  assert.equal((await runCli([list, '-o', out])).code, 0)
  for (const name of ['journal.db', 'journal.db-wal', 'journal.db-shm'])
    await rm(join(out, '.imgpull', name), { force: true })
  const rerun = await runCli([list, '-o', out])
  assert.equal(rerun.code, 0, rerun.stderr)
  assert.match(
    rerun.stderr,
    /^imgpull: warning: the journal \S+journal\.db is gone \(removed since the run that wrote \S+files\.json\?\), but \S+ holds files: every URL is fetched again/m,
  )
  assert.deepEqual((await outputFiles(out)).sort(), ['removed-a.jpg', 'removed-b.jpg'], 'no duplicate names')
  assert.doesNotMatch((await runCli([list, '-o', out])).stderr, /warning/)
  // A folder of the user's files that no run wrote to: nothing to warn of.
  const theirs = join(dir, 'removed-theirs')
  await mkdir(theirs)
  await writeFile(join(theirs, 'notes.txt'), 'mine')
  assert.doesNotMatch((await runCli([list, '-o', theirs])).stderr, /warning/)
})

test('a journal a newer imgpull wrote (its schema version higher) is refused in one line, the folder left as it was; ours says its version', async () => {
  const list = join(dir, 'newer.txt')
  await writeFile(list, server.url('/newer-0.jpg'))
  const out = join(dir, 'newer')
  assert.equal((await runCli([list, '-o', out])).code, 0)
  const path = join(out, '.imgpull', 'journal.db')
  const db = new Database(path)
  assert.equal(db.pragma('user_version', { simple: true }), 1)
  db.pragma('user_version = 2')
  db.close()
  const before = await readFile(join(out, 'newer-0.jpg'))
  for (const args of [
    [list, '-o', out],
    ['status', out],
    ['report', out],
  ]) {
    const r = await runCli(args)
    assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`)
    assert.ok(
      r.stderr.startsWith(
        `imgpull: the journal ${path} was written by a newer imgpull (its schema 2, this one's 1): run that version of imgpull on this folder, or give another -o`,
      ),
      r.stderr,
    )
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
  }
  assert.ok((await readFile(join(out, 'newer-0.jpg'))).equals(before))
  const after = new Database(path, { readonly: true })
  assert.equal((after.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n, 1)
  after.close()
})

test('status and report read a journal an earlier imgpull wrote, without its caption and place columns, as it is; the next run adds them', async () => {
  const list = join(dir, 'before-place.txt')
  await writeFile(list, `${server.url('/bp-0.jpg')}\n${server.url('/bp-1.jpg?status=404')}\n`)
  const out = join(dir, 'before-place')
  assert.equal((await runCli([list, '-o', out, '--retries', '0'])).code, 1)
  const path = join(out, '.imgpull', 'journal.db')
  const db = new Database(path)
  db.exec('ALTER TABLE jobs DROP COLUMN place; ALTER TABLE jobs DROP COLUMN caption')
  db.close()
  const status = await runCli(['status', out])
  assert.equal(status.code, 0, status.stderr)
  assert.match(status.stdout, /^ {2}http-404 ×1 {2}e\.g\. HTTP 404 from \S+bp-1\.jpg\?status=404$/m)
  const report = await runCli(['report', out])
  assert.equal(report.code, 0, report.stderr)
  const columns = () => {
    const read = new Database(path, { readonly: true })
    const names = (read.prepare('PRAGMA table_info(jobs)').all() as { name: string }[]).map((c) => c.name)
    read.close()
    return names
  }
  assert.ok(!columns().includes('place'), 'status and report add no column')
  assert.equal((await runCli([list, '-o', out, '--retries', '0'])).code, 1)
  assert.ok(columns().includes('place') && columns().includes('caption'))
  assert.match((await runCli(['status', out])).stdout, /before-place\.txt' line 2\)$/m)
})
