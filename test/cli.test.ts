import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { closeSync, existsSync, openSync } from 'node:fs'
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { gzipSync } from 'node:zlib'
import Database from 'better-sqlite3'
import { CLI, cleanup, inPool, listFiles, outputFiles, runCli, startCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { startRouteServer } from './support/route-server.js'
import { holdsOpen, until } from './support/wait.js'

const ARTICLE = [
  'photo-1516117172878-fd2c41f4a759',
  'photo-1532009324734-20a7a5813719',
  'photo-1524429656589-6633a470097c',
  'photo-1530224264768-7ff8c1789d79',
  'photo-1564135624576-c5c88640f235',
  'photo-1541698444083-023c97d3f4b6',
  'photo-1522364723953-452d3431c267',
  'photo-1513938709626-033611b8cc03',
  'photo-1507143550189-fed454f93097',
  'photo-1493976040374-85c8e12f0c0e',
  'photo-1504198453319-5ce911bafcde',
  'photo-1530122037265-a5f1f91d3b99',
  'photo-1516972810927-80185027ca84',
  'photo-1550439062-609e1531270e',
  'photo-1549692520-acc6669e2f0c',
]

let server: ImageServer
let dir: string
before(async () => {
  server = await startImageServer({ sizes: [20_000, 300_000] })
  dir = await tempDir()
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

/** The command run with `args` stops with exit 2 and one line on stderr, matching `message`: that line. */
async function usageLine(args: string[], message: RegExp, options: Parameters<typeof runCli>[1] = {}) {
  const r = await runCli(args, options)
  assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
  const lines = r.stderr.trim().split('\n')
  assert.equal(lines.length, 1, r.stderr)
  assert.match(lines[0], message)
  return lines[0]
}

async function list(name: string, lines: string[]): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, `# a comment\n\n${lines.join('\n')}\n`)
  return path
}

test("the article's 15 photos come out as photo-<id>.jpg with the exact bytes", async () => {
  const out = join(dir, 'article')
  const file = await list(
    'article.txt',
    ARTICLE.map((id) => server.url(`/${id}`)),
  )
  const r = await runCli([file, '-o', out])
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(await outputFiles(out), ARTICLE.map((id) => `${id}.jpg`).sort())
  for (const id of ARTICLE) {
    assert.ok((await readFile(join(out, `${id}.jpg`))).equals(server.bytes(`/${id}`)), id)
  }
  // The rate in the unit its size calls for: a loaded machine fetched these at 618.0 kB/s.
  assert.match(r.stderr, /^15 images, .* in .* \(.* img\/s, .* (?:[kMGT]B|B)\/s\), 0 failed$/m)
  assert.ok(!r.stderr.includes('\u001b['), 'no escape codes without a terminal')
  const manifest = (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  assert.equal(manifest.length, 15)
  for (const m of manifest) {
    assert.equal(m.status, 'ok')
    assert.equal(m.httpStatus, 200)
    assert.equal(m.format, 'jpg')
    assert.match(m.sha256, /^[0-9a-f]{64}$/)
    assert.ok(m.width > 0 && m.height > 0)
    assert.equal(m.attempts, 1)
    assert.equal(typeof m.timings.total, 'number')
  }
})

test("--name '{name}' gives the article's bare names", async () => {
  const out = join(dir, 'bare')
  const r = await runCli([
    ...ARTICLE.slice(0, 3).map((id) => server.url(`/${id}`)),
    '-o',
    out,
    '--name',
    '{name}',
  ])
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(await outputFiles(out), ARTICLE.slice(0, 3).sort())
})

test('HTML with 200, 404 and a short body: failures with codes, and no file left behind', async () => {
  const out = join(dir, 'bad')
  const urls = [
    server.url('/page?html=1'),
    server.url('/gone?status=404'),
    server.url('/short?size=5000&short=1000'),
    server.url('/thumb.php?lead=2'),
  ]
  const r = await runCli([...urls, '-o', out, '--json', '--retries', '1'])
  assert.equal(r.code, 1)
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  const byUrl = new Map(lines.filter((l) => l.url).map((l) => [l.url, l]))
  assert.equal(byUrl.get(urls[0])?.error, 'not-an-image')
  // What it was, not only that it was none: a bot check's title says why.
  assert.match(byUrl.get(urls[0])?.message, / bytes: an HTML page titled "Just a moment\.\.\."$/)
  // An image after the blank lines a script printed: no image, but the line says it nearly was.
  assert.equal(byUrl.get(urls[3])?.error, 'not-an-image')
  assert.match(
    byUrl.get(urls[3])?.message,
    / bytes: a JPEG image after 2 bytes of white space, which a script printed before it$/,
  )
  assert.equal(byUrl.get(urls[1])?.error, 'http-404')
  assert.equal(byUrl.get(urls[1])?.attempts, 1, '404 is not retried')
  // Cut at byte 1000 every time: the first answer is truncated and kept; its resume asks again for
  // the bytes kept (to compare them) and is cut at the same byte.
  assert.equal(byUrl.get(urls[2])?.error, 'truncated')
  assert.equal(byUrl.get(urls[2])?.attempts, 2, 'truncation is retried')
  // A --json line is the result's manifest line, field for field.
  const manifest = (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  for (const line of manifest) {
    const printed = byUrl.get(line.url)
    assert.ok(typeof printed.finishedAt === 'number', 'finishedAt is given')
    assert.deepEqual(Object.keys(printed), Object.keys(line))
    assert.equal(printed.finishedAt, line.finishedAt)
  }
  assert.deepEqual(await outputFiles(out), [])
  // Only the cut image's first 1000 bytes, for the next run to go on from.
  const parts = (await listFiles(out)).filter((f) => f.includes('parts/'))
  assert.equal(parts.length, 1, 'no other temporary file left')
  assert.equal((await stat(join(out, parts[0]))).size, 1000)
  const summary = lines.at(-1).summary
  assert.equal(summary.failed, 4)
  assert.equal(summary.exitCode, 1)
})

test('failure lines carry colour only when asked: a CI runner or a log gets plain words', async () => {
  const url = server.url('/colour?status=404')
  const plain = await runCli([url, '-o', join(dir, 'colour-ci')], {
    env: { CI: 'true', TERM: 'xterm-256color' },
  })
  assert.equal(plain.code, 1)
  assert.match(plain.stderr, /^failed http-404: /m)
  assert.ok(!plain.stderr.includes('\u001b['), 'no escape codes')
  const forced = await runCli([url, '-o', join(dir, 'colour-forced')], { env: { FORCE_COLOR: '1' } })
  assert.ok(forced.stderr.includes('\u001b[31mfailed\u001b[39m http-404: '), forced.stderr)
})

test('the failures line points where the details are: the manifest and status, or without a journal the manifest alone', async () => {
  const url = server.url('/details?status=404')
  const out = join(dir, 'details')
  const kept = await runCli([url, '-o', out])
  assert.match(
    kept.stderr,
    /Details: \S*details\/report\.html \(open it in a browser\), \S*details\/manifest\.jsonl or `imgpull status .*details`\.\n$/,
  )
  assert.ok(existsSync(join(out, 'report.html')), 'the report named is there')
  // A rerun whose failure is the earlier run's (exit 1 all the same) says where it is told too.
  const rerun = await runCli([url, '-o', out])
  assert.equal(rerun.code, 1)
  assert.match(
    rerun.stderr,
    /\nDetails of the 1 failed before: \S*details\/report\.html \(open it in a browser\), \S*details\/manifest\.jsonl or `imgpull status .*details`\.\n$/,
  )
  const unreported = await runCli([url, '-o', join(dir, 'details-unreported'), '--no-report'])
  assert.match(unreported.stderr, /Details: \S*details-unreported\/manifest\.jsonl or `imgpull status /)
  const none = await runCli([url, '-o', join(dir, 'details-none'), '--no-journal'])
  assert.match(none.stderr, /Details: .*details-none\/manifest\.jsonl\.\n$/)
  // In a folder whose manifest is its journal's, the run's own details are its lines.
  const beside = await runCli([url, '-o', out, '--no-journal'])
  assert.match(beside.stderr, /Details: the lines above, or every result with --json\.\n$/)
})

test("a rerun shows its own failures, not only an earlier run's: 22 earlier 404s met first left no room for the 500 it failed again", async () => {
  // Each kind has its 20 lines: one count for both printed 20 of the earlier 404s (skipped, not
  // asked), then '(3 more failures not shown)', the rerun's own http-500 among them. wget2, aria2c
  // and gallery-dl print only what the run at hand did.
  const list = join(dir, 'own-first.txt')
  const urls = Array.from({ length: 22 }, (_, i) => server.url(`/own-first-${i}?status=404`))
  await writeFile(list, [...urls, server.url('/own-first-again?status=500')].join('\n'))
  const out = join(dir, 'own-first')
  await runCli([list, '-o', out, '--retries', '0'])
  const rerun = await runCli([list, '-o', out, '--retries', '0'])
  assert.equal(rerun.code, 1, rerun.stderr)
  assert.match(rerun.stderr, /^failed http-500: HTTP 500 from \S+own-first-again/m)
  assert.equal(rerun.stderr.match(/^failed http-404: .* \(earlier run; /gm)?.length, 20, rerun.stderr)
  assert.match(rerun.stderr, /^\(2 more failed before not shown\)$/m)
})

test('secrets on the command line never reach the report or the journal: -H Authorization, Cookie, URL credentials', async () => {
  const out = join(dir, 'secrets')
  const r = await runCli([
    server.url('/secret-0').replace('http://', 'http://user:PASSWORD1@'),
    server.url('/secret-1?status=404').replace('http://', 'http://user:PASSWORD1@'),
    '-o',
    out,
    '-H',
    'Authorization: Bearer SUPERSECRET2',
    '--header=Cookie: sid=COOKIE3',
    '-H',
    'Accept: image/*',
  ])
  assert.equal(r.code, 1, r.stderr)
  assert.ok(!r.stderr.includes('PASSWORD1'), r.stderr)
  for (const args of [
    ['status', out],
    ['status', out, '--json'],
  ]) {
    const status = await runCli(args)
    assert.match(status.stdout, /secret-1/)
    assert.ok(!status.stdout.includes('PASSWORD1'), status.stdout)
  }
  const report = await readFile(join(out, 'report.html'), 'utf8')
  assert.match(report, /Authorization: \*\*\*/)
  assert.match(report, /Accept: image\/\*/, 'other headers are shown as given')
  // The journal keeps the job's URL as the list gives it (a rerun matches it): its credentials stay
  // as private as the list's own; the command line's secrets are nowhere.
  const everywhere = ['PASSWORD1', 'SUPERSECRET2', 'COOKIE3']
  for (const [file, secrets] of [
    ['report.html', everywhere],
    ['manifest.jsonl', everywhere],
    ['.imgpull/journal.db', ['SUPERSECRET2', 'COOKIE3']],
  ] as const) {
    const bytes = await readFile(join(out, file), 'latin1')
    for (const secret of secrets) assert.ok(!bytes.includes(secret), `${secret} in ${file}`)
  }
})

test('credentials of a URL that does not parse never reach a message, --json, the manifest, the report or status', async () => {
  const out = join(dir, 'secrets-invalid')
  const file = await list('secrets-invalid.txt', [
    server
      .url('/typo')
      .replace('http://', 'http://alice:PASSWORD4@')
      .replace(/:(\d+)\//, ':9$1/'),
    'http://bob:PASSWORD5@exa mple.com/x.jpg',
    'http://dave:PASS/WORD7@127.0.0.1/x.jpg',
    `"${server.url('/quoted').replace('http://', 'http://carol:PASSWORD6@')}"`,
    // The URL parser reads one slash, none or backslashes after http: as two; a space may be in a password.
    'http:/erin:PASSWORD8@127.0.0.1:99999/x.jpg',
    'http:frank:PASSWORD9@127.0.0.1:99999/x.jpg',
    'http:\\\\grace:PASSWORD10@127.0.0.1:bad\\x.jpg',
    'http://heidi:PASS WORD11@127.0.0.1:bad/x.jpg',
  ])
  const r = await runCli([file, '-o', out])
  assert.equal(r.code, 1, r.stderr)
  assert.match(
    r.stderr,
    /invalid URL "http:\/\/127\.0\.0\.1:9\d+\/typo" \('.*' line 3\): its port is out of range \(at most 65535\)/,
  )
  assert.match(
    r.stderr,
    /invalid URL "http:\/\/exa mple\.com\/x\.jpg" \('.*' line 4\): a space in its host name/,
  )
  const json = await runCli([file, '-o', join(dir, 'secrets-invalid-json'), '--json'])
  const status = await runCli(['status', out])
  assert.match(
    r.stderr,
    /invalid URL "http:\/127\.0\.0\.1:99999\/x\.jpg" \('.*' line 7\): its port is out of range/,
  )
  const secrets = ['PASSWORD4', 'PASSWORD5', 'PASSWORD6', 'PASS/WORD7', 'WORD7', 'PASSWORD8', 'PASSWORD9']
  secrets.push('PASSWORD10', 'PASS WORD11', 'WORD11', 'heidi')
  for (const [where, text] of [
    ['stderr', r.stderr],
    ['--json', json.stdout],
    ['status', status.stdout],
    ['manifest.jsonl', await readFile(join(out, 'manifest.jsonl'), 'utf8')],
    ['report.html', await readFile(join(out, 'report.html'), 'utf8')],
  ])
    for (const secret of secrets) assert.ok(!text.includes(secret), `${secret} in ${where}: ${text}`)
})

test('an empty list says that no URL was found and leaves no folder; a --name that would leave the folder warns once', async () => {
  const empty = join(dir, 'empty.txt')
  await writeFile(empty, '\n# only a comment\n\n')
  const r = await runCli([empty, '-o', join(dir, 'empty-out')])
  assert.equal(r.code, 0)
  assert.match(
    r.stderr,
    /^No input found in .*empty\.txt: the list holds no URL/,
    'said in words naming the list, not as a line of zeros',
  )
  // It left an empty manifest.jsonl, a report of nothing and .imgpull/: so did a table of no rows,
  // in files or WebDataset output, with a journal or without.
  assert.equal(existsSync(join(dir, 'empty-out')), false)
  // In a folder of its own: the test folder is read as a folder of tables by another test.
  await mkdir(join(dir, 'empty-table'))
  const table = join(dir, 'empty-table', 'empty.csv')
  await writeFile(table, 'url,caption\n')
  for (const extra of [[], ['--output-format', 'webdataset'], ['--no-journal']]) {
    const out = join(dir, `empty-table${extra.length}${extra[0] ?? ''}`)
    const t = await runCli([table, '-o', out, ...extra])
    assert.equal(t.code, 0, t.stderr)
    assert.match(t.stderr, /the table holds no row/)
    assert.equal(existsSync(out), false, out)
  }
  // A folder that was there stays (a queue worker's staging folder is one); one with earlier runs
  // keeps its manifest of them.
  const made = join(dir, 'empty-made')
  await mkdir(made)
  assert.equal((await runCli([empty, '-o', made])).code, 0)
  assert.ok(existsSync(join(made, 'manifest.jsonl')))
  const earlier = join(dir, 'empty-earlier')
  assert.equal((await runCli([server.url('/empty-earlier'), '-o', earlier])).code, 0)
  assert.equal((await runCli([empty, '-o', earlier])).code, 0)
  const lines = (await readFile(join(earlier, 'manifest.jsonl'), 'utf8')).trim().split('\n')
  assert.deepEqual(
    lines.map((l) => JSON.parse(l).status),
    ['ok'],
  )
  assert.ok(existsSync(join(earlier, 'report.html')))
  const named = await runCli([server.url('/escape'), '-o', join(dir, 'escape-out'), '--name', '../../x{ext}'])
  assert.equal(named.code, 0, named.stderr)
  assert.equal(named.stderr.match(/warning: names cannot leave the output folder/g)?.length, 1)
  assert.deepEqual(await outputFiles(join(dir, 'escape-out')), ['_/_/x.jpg'])
})

test('--json into a reader that goes away (| head -1): a clean stop, no stack trace, the manifest whole', async () => {
  const out = join(dir, 'piped')
  const urls = Array.from({ length: 300 }, (_, i) => server.url(`/piped-${i}`))
  const file = await list('piped.txt', urls)
  const run = startCli([file, '-o', out, '--json', '-c', '4'])
  await new Promise<void>((resolve) => run.child.stdout?.once('data', () => resolve()))
  run.child.stdout?.destroy()
  const r = await run.done
  assert.equal(r.code, 130, r.stderr)
  assert.doesNotMatch(r.stderr, /EPIPE|Error|at /)
  const manifest = (await readFile(join(out, 'manifest.jsonl'), 'utf8')).trim().split('\n')
  assert.equal(manifest.length, urls.length, 'every job has its manifest line')
})

for (const [times, what] of [
  [1, 'a Ctrl-C'],
  [2, 'two Ctrl-Cs (the second a stop at once)'],
] as const)
  test(`${what} once every file has its outcome (the manifest and report being written) stops nothing: exit by the results, not 130`, async () => {
    const out = join(dir, `late-stop-${times}`)
    const urls = Array.from({ length: 200 }, (_, i) => server.url(`/late-stop-${times}-${i}?size=300`))
    const file = await list(`late-stop-${times}.txt`, urls)
    // --json lines the test does not read yet: the CLI waits at a result, the run's every file done.
    const run = startCli([file, '-o', out, '--json'])
    run.child.stdout?.pause()
    const journal = join(out, '.imgpull', 'journal.db')
    let ok = 0
    for (let i = 0; i < 600 && ok < urls.length; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      if (!existsSync(journal)) continue
      const db = new Database(journal, { readonly: true, fileMustExist: true })
      try {
        ok = (db.prepare("SELECT count(*) AS n FROM jobs WHERE state = 'ok'").get() as { n: number }).n
      } catch {
        ok = 0 // the schema not made yet
      } finally {
        db.close()
      }
    }
    assert.equal(ok, urls.length, 'every file kept before the Ctrl-C')
    for (let i = 0; i < times; i++) {
      run.child.kill('SIGINT')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    run.child.stdout?.resume()
    const r = await run.done
    // It was 130, the terminal told to run the same command again to continue, with nothing left;
    // after a second Ctrl-C, so too, and the report said the run was interrupted.
    assert.equal(r.code, 0, r.stderr)
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '').summary
    assert.equal(summary.ok, urls.length)
    assert.equal(summary.exitCode, 0)
    assert.doesNotMatch(await readFile(join(out, 'report.html'), 'utf8'), /This run was interrupted/)
  })

test('past the first 20 failures, how many more follows them, before the summary', async () => {
  for (const n of [21, 23]) {
    const urls = Array.from({ length: n }, (_, i) => server.url(`/gone-${n}-${i}?status=404`))
    const r = await runCli([await list(`gone-${n}.txt`, urls), '-o', join(dir, `gone-${n}`)])
    assert.equal(r.code, 1, r.stderr)
    const lines = r.stderr.trim().split('\n')
    assert.equal(lines.filter((l) => l.startsWith('failed http-404')).length, 20)
    assert.equal(lines[20], `(${n - 20} more failure${n === 21 ? '' : 's'} not shown)`)
    assert.match(lines[21], new RegExp(`^0 images, .*, ${n} failed$`))
    assert.match(lines[22], new RegExp(`^Failures: http-404 ×${n}\\. Details: `))
  }
})

test('invalid URLs in a list become failed results, not a crash', async () => {
  const out = join(dir, 'invalid')
  // passwords whose unencoded `/` or `#` the parser read as the end of a port.
  const slash = 'http://u:4321/zq@127.0.0.1:9/a.jpg'
  const hash = 'http://u:8765#zq@127.0.0.1:9/b.jpg'
  const file = await list('invalid.txt', [
    'not a url',
    'ftp://example.com/x.jpg',
    slash,
    hash,
    server.url('/fine'),
  ])
  const r = await runCli([file, '-o', out, '--json'])
  assert.equal(r.code, 1)
  const results = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((l) => l.url)
  assert.deepEqual(results.map((l) => l.error ?? 'ok').sort(), [
    'invalid-url',
    'invalid-url',
    'invalid-url',
    'invalid-url',
    'ok',
  ])
  const ftp = results.find((l) => l.url.startsWith('ftp:'))
  assert.match(ftp.message, /: only http and https are fetched, not ftp$/)
  const cut = results.find((l) => l.url === 'http://127.0.0.1:9/a.jpg')
  assert.match(
    cut?.message,
    /a \/ in them ends the host: write it as %2F\); if the @ is the path's, write it as %40$/,
  )
  // Neither password anywhere: messages, the manifest, the report (its host tables too).
  const shown = [
    r.stdout,
    r.stderr,
    await readFile(join(out, 'manifest.jsonl'), 'utf8'),
    await readFile(join(out, 'report.html'), 'utf8'),
  ]
  // Each password whole or cut where the parser cut it (u:4321 read as a host and port), not its
  // digits alone: a timestamp held 4321 once (finishedAt 1796354321265), and a sha256 or the
  // report's data may hold 'zq'.
  for (const text of shown)
    assert.doesNotMatch(text, /4321(\/|%2F)|8765(#|%23)|u:4321|u:8765|[/#]zq|(%2F|%23)zq|zq@/i)
  assert.deepEqual(await outputFiles(out), ['fine.jpg'])
})

// the example tables' hosts (images.example, RFC 2606: no resolver knows them) failed as
// `dns`, a passing cause: `imgpull status` said "Run the same command again to retry the 10
// failures with a passing cause", and every rerun looked them up and failed them again.
test("the example table's placeholder hosts fail as the input's own: status does not send a rerun after them, a rerun leaves them", async () => {
  const out = join(dir, 'placeholders')
  const r = await runCli(['examples/photos.csv', '-o', out])
  assert.equal(r.code, 1, r.stderr)
  const failed = r.stderr.split('\n').filter((l) => l.startsWith('failed '))
  assert.equal(failed.length, 10, r.stderr)
  for (const line of failed)
    assert.match(
      line,
      // The row to mend named after it.
      /^failed invalid-url: host not found for https:\/\/images\.example\/photos\/\S+\.jpg: \.example names are reserved for examples \(RFC 2606\) and exist nowhere \(examples\/photos\.csv line \d+\)$/,
    )
  const status = await runCli(['status', out])
  assert.doesNotMatch(status.stdout, /passing cause|permanent failure/)
  assert.match(
    status.stdout,
    /^10 failures are the input's own \(.*placeholder name.*\): every run fails them again until the input is mended\.$/m,
  )
  assert.match(await readFile(join(out, 'report.html'), 'utf8'), /mend the input/)
  // The same command again: no lookup, each said as the earlier run's.
  const again = await runCli(['examples/photos.csv', '-o', out])
  assert.equal(again.code, 1, again.stderr)
  assert.match(
    again.stderr,
    // The summary too: it said `(--retry-failed tries them again)`.
    /^0 images, .*, 0 failed, 10 skipped as permanently failed before \(the input's own, which every run fails again until the input is mended\)$/m,
  )
  // Each row's line sends to the table, not to --retry-failed, which fails them again the same way
  // (it said `(earlier run; --retry-failed tries again)`, where status said to mend the input).
  const lines = again.stderr.split('\n').filter((l) => l.startsWith('failed '))
  assert.equal(lines.length, 10, again.stderr)
  for (const line of lines)
    assert.match(
      line,
      /\(examples\/photos\.csv line \d+\) \(earlier run; every run fails it again until the input is mended\)$/,
    )
  const retried = await runCli(['examples/photos.csv', '-o', out, '--retry-failed'])
  assert.equal(retried.code, 1, retried.stderr)
  assert.match(retried.stderr, /^0 images, .*, 10 failed$/m)
})

// A run without -o writes into the working folder (-o's default, "."), but `imgpull status` and
// `imgpull report` take no default: run there, each said only to give an output folder, where
// the one the user just ran into was this one.
test('status and report given no folder, in a folder a run without -o wrote, name this one: imgpull status .', async () => {
  const here = join(dir, 'no-out-given')
  await mkdir(here, { recursive: true })
  await writeFile(join(here, 'urls.txt'), `${server.url('/here.jpg')}\n`)
  const run = await runCli(['urls.txt'], { cwd: here })
  assert.equal(run.code, 0, run.stderr)
  assert.ok(existsSync(join(here, 'here.jpg')))
  await usageLine(
    ['status'],
    /^imgpull: give an output folder, or --queue NAME \(with --redis URL\); this folder holds a run's journal: imgpull status \. /,
    { cwd: here },
  )
  await usageLine(
    ['status', '--failed'],
    /^imgpull: give the output folder: imgpull status OUT --failed \[CODE\]; this folder holds a run's journal: imgpull status \. --failed /,
    { cwd: here },
  )
  await usageLine(
    ['report'],
    /^imgpull: missing DIR, .*: imgpull report DIR; this folder holds a run's journal: imgpull report \. /,
    { cwd: here },
  )
  // Elsewhere, no such words.
  const line = await usageLine(['status'], /^imgpull: give an output folder/, { cwd: dir })
  assert.doesNotMatch(line, /this folder/)
})

test('a bad line deep in a list is named by its line number; what came before is kept, a rerun goes on', async () => {
  const out = join(dir, 'bad-line')
  const urls = Array.from({ length: 300 }, (_, i) => server.url(`/deep-${i}.jpg`))
  urls[249] = urls[249].replace('http://', 'htp://')
  // The helper writes a comment and a blank line first: the 250th URL is on line 252.
  const file = await list('deep.txt', urls)
  const r = await runCli([file, '-o', out])
  assert.equal(r.code, 1, r.stderr)
  const failed = r.stderr.split('\n').filter((l) => l.startsWith('failed invalid-url'))
  assert.equal(failed.length, 1, r.stderr)
  assert.match(
    failed[0],
    /invalid URL "htp:\/\/127\.0\.0\.1:\d+\/deep-249\.jpg" \('.*deep\.txt' line 252\): only http and https are fetched, not htp$/,
  )
  assert.equal((await outputFiles(out)).length, 299)
  // Standard input is named so too.
  const piped = await runCli(['-', '-o', join(dir, 'bad-line-stdin'), '--json'], {
    input: `${server.url('/deep-0.jpg')}\n\nnot a url\n`,
  })
  const bad = piped.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .find((l) => l.error === 'invalid-url')
  assert.equal(bad.message, 'invalid URL "not a url" (standard input line 3): not a URL')
  // The line fixed, a rerun fetches it alone.
  const before = server.stats.requests
  urls[249] = urls[249].replace('htp://', 'http://')
  const again = await runCli([await list('deep.txt', urls), '-o', out])
  assert.equal(again.code, 0, again.stderr)
  assert.equal(server.stats.requests - before, 1, JSON.stringify(server.log.slice(-3).map((l) => l.url)))
  assert.equal((await outputFiles(out)).length, 300)
})

test('the same URL twice in one run is fetched once', async () => {
  const out = join(dir, 'dupes')
  const url = server.url('/twice-a')
  const before = server.hits.get('/twice-a') ?? 0
  const r = await runCli([url, url, url, '-o', out])
  assert.equal(r.code, 0, r.stderr)
  assert.equal((server.hits.get('/twice-a') ?? 0) - before, 1)
  assert.match(r.stderr, /2 duplicates skipped/)
  assert.deepEqual(await outputFiles(out), ['twice-a.jpg'])
})

test('one URL spelled with escapes of plain letters, or lower-case escapes, is one job (RFC 3986 §6.2.2)', async () => {
  const out = join(dir, 'dupes-escaped')
  const before = server.stats.requests
  const urls = [
    server.url('/twice-e.jpg'),
    server.url('/twic%65-%65.jpg'),
    server.url('/esc-caf\u00e9.jpg'),
    server.url('/esc-caf%c3%a9.jpg'),
    server.url('/esc-caf%C3%A9.jpg#frag'),
    // Not the same: the case of a path is the server's to read, an escaped / is no folder.
    server.url('/Twice-e.jpg'),
    server.url('/a%2Fb.jpg'),
    server.url('/a/b.jpg'),
  ]
  const r = await runCli([...urls, '-o', out])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stderr, /3 duplicates skipped/)
  assert.equal(server.stats.requests - before, 5)
  const files = await outputFiles(out)
  assert.equal(files.length, 5, files.join(' '))
  for (const name of ['a_b.jpg', 'b.jpg', 'esc-café.jpg', 'twice-e.jpg'])
    assert.ok(files.includes(name), name)
})

test('standard input: - reads one URL per line', async () => {
  const out = join(dir, 'stdin')
  const input = `${server.url('/in-1')}\n# skip me\n\n${server.url('/in-2')}\n`
  const r = await runCli(['-', '-o', out], { input })
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(await outputFiles(out), ['in-1.jpg', 'in-2.jpg'])
  // Given twice, the second waited for what the first had read: exit 13, no summary or manifest.
  const twice = await runCli(['-', '-', '-o', join(dir, 'stdin-twice')], { input })
  assert.equal(twice.code, 2, twice.stderr)
  assert.equal(
    twice.stderr.trim(),
    'imgpull: standard input (-) is given more than once: it can be read once; give - once (see imgpull --help)',
  )
  assert.ok(!existsSync(join(dir, 'stdin-twice')), 'nothing made')
})

test('standard input is told by its bytes: gzip is read through gunzip, UTF-16 decoded, an image piped by mistake is refused in one line', async () => {
  const urls = `${server.url('/in-gz-1')}\n${server.url('/in-gz-2')}\n`
  const out = join(dir, 'stdin-gz')
  const r = await runCli(['-', '-o', out], { input: gzipSync(urls) })
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(await outputFiles(out), ['in-gz-1.jpg', 'in-gz-2.jpg'])
  const png = await runCli(['-', '-o', join(dir, 'stdin-png')], {
    input: await readFile('test/fixtures/images/rgba.png'),
  })
  assert.equal(png.code, 2, png.stderr)
  assert.match(png.stderr.trim(), /^imgpull: standard input is a PNG image, not a list of URLs: give imgpull/)
  assert.equal(existsSync(join(dir, 'stdin-png')), false, 'refused before anything is made')
  // PowerShell 5 pipes to a program in UTF-16 where its output encoding says so.
  const utf16 = await runCli(['-', '-o', join(dir, 'stdin-utf16')], {
    input: Buffer.from(`\ufeff${server.url('/in-16')}\r\n`, 'utf16le'),
  })
  assert.equal(utf16.code, 0, utf16.stderr)
  assert.deepEqual(await outputFiles(join(dir, 'stdin-utf16')), ['in-16.jpg'])
})

test("a list whose last line has no newline and ends at a writer's buffer end is cut short: that line is not fetched, the run stops saying so (exit 2); one ending elsewhere is whole", async () => {
  // A writer killed mid-list (`gen | imgpull -`, gen killed by the OOM killer) leaves whole buffers:
  // 1024 bytes, its last URL cut (`/cut-last-aaa` of `/cut-last-aaaa.jpg`). It was fetched as a URL.
  const list = (name: string, size: number) => {
    const head = [1, 2, 3].map((i) => server.url(`/${name}-${i}`)).join('\n')
    const last = `\n${server.url(`/${name}-last-`)}`
    return head + last + 'a'.repeat(size - head.length - last.length)
  }
  const cut = list('cut', 1024)
  assert.equal(Buffer.byteLength(cut), 1024)
  const out = join(dir, 'stdin-cut')
  const r = await runCli(['-', '-o', out], { input: cut })
  assert.equal(r.code, 2, r.stderr)
  assert.match(
    r.stderr.trim(),
    /^imgpull: cannot read standard input after its 3 URLs: line 4 \('http:\/\/127\.0\.0\.1:\d+\/cut-last-[a…]+'\) has no newline, and the list ends at byte 1024, where a writer's buffer does \(a multiple of 512\): its writer most likely stopped mid-line, and it is not fetched; if the list is whole, end it with a newline/m,
  )
  assert.deepEqual(await outputFiles(out), ['cut-1.jpg', 'cut-2.jpg', 'cut-3.jpg'])
  assert.ok(!server.log.some((l) => l.url.startsWith('/cut-last')), 'the cut line was asked for')
  // A list file so too (`gen > urls.txt`, gen killed), and one gzip'd whole around the cut text.
  const file = join(dir, 'cut-list.txt')
  await writeFile(file, list('cutf', 1536))
  const f = await runCli([file, '-o', join(dir, 'file-cut')], {})
  assert.equal(f.code, 2, f.stderr)
  assert.match(f.stderr, /cut-list\.txt' after its 3 URLs: line 4 .* ends at byte 1536,/)
  const gz = await runCli(['-', '-o', join(dir, 'gz-cut')], { input: gzipSync(list('cutz', 2048)) })
  assert.equal(gz.code, 2, gz.stderr)
  assert.match(gz.stderr, /standard input after its 3 URLs: line 4 .* ends at byte 2048,/)
  assert.ok(!server.log.some((l) => /^\/cut[fz]-last/.test(l.url)), 'a cut line was asked for')
  // Whole: a newline at the buffer's end, or a list that ends anywhere else without one (`pbpaste |
  // imgpull -`, Python's '\n'.join(urls)), as curl, wget and aria2c read it.
  for (const [name, input] of [
    ['nl', `${list('whole-nl', 1023)}\n`],
    ['crlf', `${list('whole-crlf', 1022)}\r\n`],
    ['odd', list('whole-odd', 1025)],
    ['short', server.url('/whole-short')],
  ]) {
    const w = await runCli(['-', '-o', join(dir, `whole-${name}`)], { input })
    assert.equal(w.code, 0, `${name}: ${w.stderr}`)
    assert.equal((await outputFiles(join(dir, `whole-${name}`))).length, name === 'short' ? 1 : 4, name)
  }
})

// Windows saves "Unicode" text as UTF-16 (PowerShell 5's >, Notepad's and Excel's "Unicode"), with
// CRLF line ends: such a list was refused, pointing at an iconv Windows does not have.
test('a list saved on Windows in UTF-16, with or without its byte order mark, either byte order, is read', async () => {
  const lines = ['/w16-a', '/w16-bé', '/w16-c'].map((p) => server.url(p)).join('\r\n')
  const le = join(dir, 'board-utf16le.txt')
  await writeFile(le, Buffer.from(`\ufeff${lines}\r\n`, 'utf16le'))
  const be = join(dir, 'board-utf16be.txt')
  await writeFile(be, Buffer.from(`${lines}\r\n`, 'utf16le').swap16())
  for (const [list, name] of [
    [le, 'le'],
    [be, 'be'],
  ]) {
    const out = join(dir, `utf16-${name}`)
    const r = await runCli([list, '-o', out])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(await outputFiles(out), ['w16-a.jpg', 'w16-bé.jpg', 'w16-c.jpg'], name)
  }
})

test('two URLs with one name never overwrite each other', async () => {
  const out = join(dir, 'clash')
  const other = await startImageServer()
  try {
    const a = server.url('/same')
    const b = other.url('/same')
    const r = await runCli([a, b, '-o', out])
    assert.equal(r.code, 0, r.stderr)
    const files = await outputFiles(out)
    assert.equal(files.length, 2)
    assert.ok(files.includes('same.jpg'))
    assert.match(files.find((f) => f !== 'same.jpg')!, /^same-[0-9a-f]{8}\.jpg$/)
    assert.ok((await readFile(join(out, 'same.jpg'))).equals(server.bytes('/same')))
  } finally {
    await other.close()
  }
})

test("a URL's other name for its format gives way to the detected extension: photo.jfif is photo.jpg", async () => {
  // Windows saves a JPEG from a browser as .jfif: the name was photo.jfif.jpg, as spin.apng was spin.apng.png.
  const out = join(dir, 'aliases')
  const r = await runCli([server.url('/photo.jfif?fmt=jpg'), server.url('/spin.apng?fmt=png'), '-o', out])
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual((await outputFiles(out)).sort(), ['photo.jpg', 'spin.png'])
})

test('an output folder given as an input is refused, not read as a folder of tables', async () => {
  // `imgpull photos -o photos` (to go on with it) read photos/manifest.jsonl as a table and fetched
  // every URL again beside the images there, under suffixed names: a folder of each image twice.
  const out = join(dir, 'made')
  const urls = ['/made-1', '/made-2'].map((p) => server.url(p))
  assert.equal((await runCli([...urls, '-o', out])).code, 0)
  for (const target of [out, join(dir, 'elsewhere')]) {
    const r = await runCli([out, '-o', target])
    assert.equal(r.code, 2, r.stderr)
    const lines = r.stderr.trim().split('\n')
    assert.equal(lines.length, 1, r.stderr)
    assert.match(
      lines[0],
      /is an imgpull output folder .*not a folder of tables: to go on with its run, run the command that made it again \(the top of .*report\.html shows it\); to read a table in it, name the file \(.*manifest\.jsonl\)/,
    )
  }
  assert.deepEqual(await outputFiles(out), ['made-1.jpg', 'made-2.jpg'])
  assert.equal(server.hits.get('/made-1'), 1, 'nothing fetched again')
  // Its manifest named is refused too when the run writes into that folder, which doubled it the same way.
  const own = await runCli([join(out, 'manifest.jsonl'), '-o', out])
  assert.equal(own.code, 2, own.stderr)
  assert.match(own.stderr, /is the manifest of the folder this run writes to, not a list to fetch into it/)
  assert.deepEqual(await outputFiles(out), ['made-1.jpg', 'made-2.jpg'])
  assert.equal(server.hits.get('/made-1'), 1, 'nothing fetched again')
  // Into another folder, it is a table like any other.
  const again = await runCli([join(out, 'manifest.jsonl'), '-o', join(dir, 'from-manifest')])
  assert.equal(again.code, 0, again.stderr)
})

test("a server's Content-Disposition names nothing: ../, an absolute path, filename* and Latin-1 names are not read", async () => {
  const out = join(dir, 'disposition', 'out')
  const image = server.bytes('/cd')
  const dispositions = [
    'attachment; filename="../../escaped.jpg"',
    'attachment; filename="/tmp/absolute.jpg"',
    "attachment; filename*=UTF-8''..%2F..%2Fstar.jpg",
    'inline; filename="caf\xe9\\..\\win.jpg"',
  ]
  const web = await startRouteServer(
    Object.fromEntries(
      dispositions.map((d, i) => [
        `/cd-${i}.jpg`,
        (_req, res) => {
          res.writeHead(200, {
            'content-type': 'image/jpeg',
            'content-disposition': d,
            'content-length': image.length,
          })
          res.end(image)
        },
      ]),
    ),
  )
  try {
    const r = await runCli([...dispositions.map((_, i) => web.url(`/cd-${i}.jpg`)), '-o', out])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(await outputFiles(out), ['cd-0.jpg', 'cd-1.jpg', 'cd-2.jpg', 'cd-3.jpg'])
    assert.deepEqual(
      await listFiles(join(dir, 'disposition')),
      (await listFiles(out)).map((f) => `out/${f}`),
    )
  } finally {
    await web.close()
  }
})

test('a list copied from a spreadsheet: the URL ends at the first tab, the other columns are left alone', async () => {
  const out = join(dir, 'tabbed')
  const file = await list('tabbed.txt', [
    `${server.url('/tabbed-0')}\tA caption\t640`,
    `\t${server.url('/tabbed-1')}\t\r`,
  ])
  const r = await runCli([file, '-o', out])
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(await outputFiles(out), ['tabbed-0.jpg', 'tabbed-1.jpg'])
  assert.ok((await readFile(join(out, 'tabbed-0.jpg'))).equals(server.bytes('/tabbed-0')))
  // Not the URL parser's gluing of the columns (tab dropped): /tabbed-0A%20caption640.
  assert.ok(!server.log.some((l) => l.url.includes('caption')), 'no request with the caption in it')
})

test("marks that show nothing around a list line's URL (a zero-width space, a direction mark) are trimmed with its spaces", async () => {
  const out = join(dir, 'invisible')
  const file = await list('invisible.txt', [
    `\u200b${server.url('/invisible-0.jpg')}`,
    `\u200e${server.url('/invisible-1.jpg')}\u200f`,
    `${server.url('/invisible-2.jpg')}\u200b`,
  ])
  const r = await runCli([file, '-o', out])
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(await outputFiles(out), ['invisible-0.jpg', 'invisible-1.jpg', 'invisible-2.jpg'])
  // Not a request for the mark's escape (`invisible-2.jpg%E2%80%8B`).
  assert.ok(!server.log.some((l) => /%E2%80/i.test(l.url)), 'no request with a mark in it')
  // A URL argument so pasted: it was a list file's name, "cannot read input 'http://…': no such file".
  const given = join(dir, 'invisible-argument')
  const arg = await runCli([`\u200b${server.url('/invisible-3.jpg')}\u200b`, '-o', given])
  assert.equal(arg.code, 0, arg.stderr)
  assert.deepEqual(await outputFiles(given), ['invisible-3.jpg'])
})

test("a list line with text before its URL (a Markdown list's '- ') says what to take out", async () => {
  const r = await runCli(['-', '-o', join(dir, 'markdown-list'), '--json'], {
    input: `- ${server.url('/md-0.jpg')}\n${server.url('/md-1.jpg')}\n`,
  })
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  const bad = lines.find((l) => l.error === 'invalid-url')
  assert.equal(
    bad?.message,
    `invalid URL "- ${server.url('/md-0.jpg')}" (standard input line 1): '- ' before its http://: the URL must stand alone`,
  )
  assert.ok(
    lines.some((l) => l.status === 'ok'),
    r.stdout,
  )
})

test("a # after a space ends a list line's URL, a comment: not asked for as the path with a space (/a.jpg%20)", async () => {
  const out = join(dir, 'commented')
  const file = await list('commented.txt', [
    `${server.url('/commented-0.jpg')}  # the cover`,
    `${server.url('/commented-1.jpg')} #2`,
    `${server.url('/commented-2.jpg')}#frag`,
  ])
  const r = await runCli([file, '-o', out])
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(await outputFiles(out), ['commented-0.jpg', 'commented-1.jpg', 'commented-2.jpg'])
  assert.ok(!server.log.some((l) => l.url.includes('%20')), 'no request with the space in it')
})

test("other tools' input files: aria2c's and gallery-dl's option lines and curl -K's url lines, URLs in quotes or angle brackets", async () => {
  const out = join(dir, 'other-tools')
  const file = await list('other-tools.txt', [
    // aria2c -i: options for the URL above, indented.
    server.url('/aria-0.jpg'),
    '  out=first.jpg',
    '\tdir=/tmp/elsewhere',
    // curl -K
    `url = "${server.url('/curl-0.jpg')}"`,
    '-o curl-0-named.jpg',
    `--url ${server.url('/curl-1.jpg')}`,
    'output = "curl-1-named.jpg"',
    // gallery-dl -i
    '-G filename = "{id}.{extension}"',
    // pasted from mail, a chat, Markdown source
    `<${server.url('/angle.jpg')}>`,
    `"${server.url('/quoted.jpg')}"`,
  ])
  const r = await runCli([file, '-o', out])
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(await outputFiles(out), [
    'angle.jpg',
    'aria-0.jpg',
    'curl-0.jpg',
    'curl-1.jpg',
    'quoted.jpg',
  ])
  // Said once, naming the list and the line; no invalid-url failure for any option line.
  const lines = r.stderr.trim().split('\n')
  assert.match(
    lines[0],
    /^imgpull: warning: '.*other-tools\.txt' line 4: 'out=first\.jpg' is an option line of another tool's input file .*not a URL: such lines are skipped, and files are named by --name$/,
  )
  assert.equal(lines.filter((l) => l.includes('option line')).length, 1, r.stderr)
})

test('a list saved as Windows-1252: its bytes are sent as they are (%E9), as curl, wget and aria2c send them', async () => {
  const out = join(dir, 'latin1')
  const file = join(dir, 'latin1.txt')
  // The third line in UTF-8, as it should be: still read as UTF-8.
  await writeFile(
    file,
    Buffer.concat([
      Buffer.from(`${server.url('/caf\xe9')}\r\n${server.url('/caf\xe8')}\r\n`, 'latin1'),
      Buffer.from(`${server.url('/caf\u00e9-utf8')}\r\n`),
    ]),
  )
  const r = await runCli([file, '-o', out])
  assert.equal(r.code, 0, r.stderr)
  const asked = server.log.map((l) => l.url).filter((u) => u.startsWith('/caf'))
  assert.deepEqual(asked.sort(), ['/caf%C3%A9-utf8', '/caf%E8', '/caf%E9'], 'two jobs, not one %EF%BF%BD')
  assert.deepEqual(await outputFiles(out), ['caf%E8.jpg', 'caf%E9.jpg', 'café-utf8.jpg'])
})

test('a gzip-compressed URL list is read through gunzip; one cut short gets its URLs before the cut, then one line naming it', async () => {
  const urls = Array.from({ length: 300 }, (_, i) => server.url(`/gz-${i}.jpg`)).join('\n')
  const whole = join(dir, 'list.txt.gz')
  await writeFile(whole, gzipSync(urls))
  const out = join(dir, 'gz-out')
  const r = await runCli([whole, '-o', out])
  assert.equal(r.code, 0, r.stderr)
  assert.equal((await outputFiles(out)).length, 300)
  // No .gz in its name: the bytes tell.
  const cut = join(dir, 'cut-list')
  await writeFile(cut, gzipSync(urls).subarray(0, 700))
  const cutOut = join(dir, 'gz-cut-out')
  const c = await runCli([cut, '-o', cutOut])
  assert.equal(c.code, 2, c.stderr)
  const got = (await outputFiles(cutOut)).length
  assert.ok(got > 0 && got < 300, `${got} files`)
  assert.match(
    c.stderr.trim(),
    new RegExp(
      `^imgpull: cannot read '.*cut-list' after its ${got} URLs: gzip data is corrupt or truncated \\(unexpected end of file\\)`,
    ),
  )
})

test('usage errors exit 2 with one line naming the culprit', async () => {
  // Files given by mistake for a list: every "line" would be an invalid-url failure.
  const given = async (name: string, content: string | Buffer): Promise<string> => {
    await writeFile(join(dir, name), content)
    return join(dir, name)
  }
  const image = await given('photo.png', await readFile('test/fixtures/images/rgba.png'))
  const zip = await given(
    'urls.zip',
    Buffer.concat([Buffer.from('PK\x03\x04\x14\x00\x00\x00', 'latin1'), Buffer.alloc(40)]),
  )
  const page = await given(
    'board.html',
    '<!DOCTYPE html>\n<html><body><img src="http://127.0.0.1:9/a.jpg"></body></html>\n',
  )
  const array = await given('urls.json', '["http://127.0.0.1:9/a.jpg"]\n')
  // A list typed in TextEdit, saved as rich text (its default) under the name typed: said as JSON.
  const rtf = await given(
    'mac-urls.txt',
    '{\\rtf1\\ansi\\ansicpg1252\\cocoartf2639\n\\f0\\fs24 \\cf0 http://127.0.0.1:9/a.jpg\\\n}',
  )
  // Word 97-2003's .doc and Excel's .xls are both OLE2 compound files: told by their directory's
  // stream names (a .doc was said to be an Excel workbook, to be saved as CSV).
  // (In a folder of their own: `dir` itself is given as a folder that holds no table.)
  await mkdir(join(dir, 'office'))
  const doc = await given(
    'office/urls.doc',
    compoundFile(['Root Entry', '\x01CompObj', '\x05SummaryInformation', '1Table', 'WordDocument']),
  )
  const docAsTable = await given('office/photos.csv', compoundFile(['Root Entry', 'WordDocument']))
  const xls = await given('office/urls.xls', compoundFile(['Root Entry', 'Workbook']))
  // A link dragged from a browser to Windows' desktop: said as a JSON array for its '['.
  const shortcut = await given('cat.url', '[InternetShortcut]\r\nURL=http://127.0.0.1:9/a.jpg\r\n')
  // Firefox's, Chrome's and Safari's bookmarks export: each of its lines was an invalid-url failure.
  const bookmarks = await given(
    'bookmarks.html',
    '<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=UTF-8">\n<DL><p>\n    <DT><A HREF="http://127.0.0.1:9/a.jpg" ADD_DATE="1600000000">a</A>\n</DL><p>\n',
  )
  const csvAsList = await given('photos.txt', 'url,caption\nhttp://127.0.0.1:9/a.jpg,A fox\n')
  const binary = await given('core.bin', Buffer.from('http://127.0.0.1:9/a.jpg\n\x00\x01\x02', 'latin1'))
  // A raw control character in a key: not JSON (RFC 8259 §7), but text, not a binary file.
  // (In a folder of its own: `dir` itself is given as a folder that holds no table.)
  const control = join(dir, 'control', 'control.jsonl')
  await mkdir(join(dir, 'control'))
  await writeFile(control, '{"url\x01": "http://127.0.0.1:9/a.jpg"}\n')
  const cases: [string[], RegExp][] = [
    [
      [control, '-o', join(dir, 'control-out')],
      /'?.*control\.jsonl'? holds no JSON object on a line of its own \(line 1: .*control character/,
    ],
    [
      [image, '-o', join(dir, 'png-out')],
      /'.*photo\.png' is a PNG image, not a list of URLs: give imgpull the URLs/,
    ],
    [[zip], /'.*urls\.zip' is a ZIP archive, not a list of URLs: unpack it first/],
    [[binary], /'.*core\.bin' is binary data, not a list of URLs/],
    // A mood board saved from the browser, a JSON answer: each line would be an invalid-url failure.
    [
      [page, '-o', join(dir, 'page-out')],
      /'.*board\.html' is an HTML page, not a list of URLs: give imgpull the URLs of its images/,
    ],
    [
      [rtf, '-o', join(dir, 'rtf-out')],
      /'.*mac-urls\.txt' is a rich text document \(RTF, as TextEdit and WordPad save one\), not a list of URLs: save it as plain text, one URL a line \(TextEdit: Format > Make Plain Text;/,
    ],
    [
      [doc, '-o', join(dir, 'doc-out')],
      /'.*urls\.doc' is a Word document in its old format \(\.doc\), not a list of URLs: save it as plain text/,
    ],
    [
      [docAsTable, '-o', join(dir, 'doc-table-out')],
      /photos\.csv is a Word document in its old format \(\.doc\), not a CSV table: save it as plain text/,
    ],
    [
      [xls, '-o', join(dir, 'xls-out')],
      /'.*urls\.xls' is an Excel workbook in its old format \(\.xls\), not a list of URLs: save it as CSV UTF-8/,
    ],
    [
      [shortcut, '-o', join(dir, 'shortcut-out')],
      /'.*cat\.url' is a Windows Internet Shortcut \(\.url\), not a list of URLs: it links to http:\/\/127\.0\.0\.1:9\/a\.jpg: give imgpull that URL itself, or a list of such URLs, one a line/,
    ],
    [
      [bookmarks, '-o', join(dir, 'bookmarks-out')],
      /'.*bookmarks\.html' is a browser's bookmarks export \(a Netscape bookmark file\), not a list of URLs: its links \(HREF="…"\) are pages as often as images: give imgpull the images' URLs, one a line \(grep -o 'HREF="\[\^"\]\*"' FILE \| cut -d'"' -f2 lists its links\)/,
    ],
    [
      [array, '-o', join(dir, 'array-out')],
      /'.*urls\.json' is a JSON array, not a list of URLs: give imgpull its URLs one a line/,
    ],
    // A table named .txt: each row's URL was fetched with its other cells glued on after a comma.
    [
      [csvAsList, '-o', join(dir, 'csv-list-out')],
      /'.*photos\.txt' is a CSV table \(its first line names the columns url,caption\), not a list of URLs: a table is read from a file named \.csv \(or of any name, with --input-format csv\)/,
    ],
    [['--frobnicate'], /unknown option '--frobnicate'/],
    // Commander puts its suggestion on a second line: joined to the first.
    [['x', '--concurency', '3'], /unknown option '--concurency'; did you mean --concurrency\?/],
    // A forgotten value: the next option is not taken for it (a folder named --json, a proxy
    // http://--no-proxy failing every file), here and in subcommands.
    [
      ['x', '-o', '--json'],
      /option '-o, --out <dir>' needs a value, but the word after it is the option '--json' \(a value that begins with - is given as --out=VALUE\)/,
    ],
    [['x', '-o', '-q'], /'-o, --out <dir>' needs a value, but the word after it is the option '-q'/],
    [
      ['x', '--proxy', '--no-proxy'],
      /'--proxy <url>' needs a value, but the word after it is the option '--no-proxy'/,
    ],
    // Both given: commander kept the last one, silently; the URL's credentials stay out of the message.
    [
      ['x', '--proxy', 'http://u:secret@127.0.0.1:3128', '--no-proxy'],
      /^imgpull: --proxy http:\/\/127\.0\.0\.1:3128\/ and --no-proxy say opposite things: give one of them/,
    ],
    [
      ['x', '--no-proxy', '--proxy', 'http://127.0.0.1:3128'],
      /--proxy .* and --no-proxy say opposite things/,
    ],
    [
      ['x', '--caption-col', '--jsn'],
      /'--caption-col <name>' needs a value, but the word after it is the option '--jsn'/,
    ],
    [['unsplash', 'search', 'lake', '-o', '--json'], /'-o, --out <dir>' needs a value/],
    [['worker', '--queue', '--redis', 'redis://127.0.0.1:9'], /'--queue <name>' needs a value/],
    // The required --queue mistyped: the typo is the culprit (it said "required option '--queue
    // <name>' not specified", as if it had been left out), and a run's option given to a worker
    // that names no queue is the queue's, as it is said with one.
    [['worker', '--queu', 'q', '-o', join(dir, 'w')], /unknown option '--queu'; did you mean --queue\?/],
    [['enqueue', join(dir, 'missing.txt'), '--queu', 'q'], /unknown option '--queu'; did you mean --queue\?/],
    [['worker', '--resize', 'border'], /--resize is the queue's option, not a worker's/],
    [
      ['worker', '-o', join(dir, 'w')],
      /^imgpull: required option '--queue <name>' not specified \(see imgpull worker --help\)$/,
    ],
    [[], /no input/],
    [[join(dir, 'missing.txt')], /cannot read input '.*missing\.txt': no such file/],
    // A name ending in / is a folder (of tables): it said "no such file" of it.
    [[`${join(dir, 'no-such-folder')}/`], /cannot read input '.*no-such-folder\/': no such folder \(see/],
    // A folder is read as a folder of tables; one that holds none says so.
    [[dir], /folder '.*' holds no table files/],
    [['x', '--concurrency', 'zero'], /concurrency.*integer >= 1/],
    [['x', '--idle-timeout', '0'], /--idle-timeout.*expected seconds > 0/],
    [['x', '--max-retry-after', '-1'], /--max-retry-after.*expected seconds >= 0/],
    [['x', '--wait', 'soon'], /--wait.*expected seconds >= 0, or a range of them: '2-4'/],
    [['x', '--wait', '4-2'], /--wait.*the first no more than the second: '2-4', got '4-2'/],
    [['x', '--name', '{nope}'], /unknown placeholder \{nope\}/],
    // A mistyped command beside a folder (a folder is a table input): the word, not the mix.
    [
      ['stauts', dir],
      /cannot read input 'stauts': no such file, nor a command; did you mean imgpull status\?/,
    ],
    // Said before the output folder given as the last word, which the command's own word is not
    // (it said "'ran' is an imgpull output folder, given as the last input"), and before a
    // subcommand's options (it said "unknown option '--queue'").
    [
      ['stauts', join(dir, 'ran')],
      /cannot read input 'stauts': no such file, nor a command; did you mean imgpull status\?/,
    ],
    [
      ['wroker', '--queue', 'q'],
      /cannot read input 'wroker': no such file, nor a command; did you mean imgpull worker\?/,
    ],
    [['photo'], /cannot read input 'photo': no such file, nor a command \(see/],
    // A host and path without a scheme, as curl and wget take them: a list file to imgpull.
    [
      ['www.example.com/a.jpg'],
      /cannot read input 'www\.example\.com\/a\.jpg': no such file; if it is a URL, give it with http:\/\/ or https:\/\/ before it \(see/,
    ],
    [
      ['localhost:8080/a.jpg'],
      /'localhost:8080\/a\.jpg': no such file; if it is a URL, give it with http:\/\/ or https:\/\//,
    ],
    [
      ['127.0.0.1:8080/a.jpg'],
      /'127\.0\.0\.1:8080\/a\.jpg': no such file; if it is a URL, give it with http:\/\//,
    ],
    // -o naming a file (the list given for the folder), or a file on its way: said as the option's
    // value, not a disk fault (exit 3, "part of the path is a file").
    [
      ['x', '-o', join(dir, 'forgot-o.txt')],
      /'-o, --out <dir>' argument '.*forgot-o\.txt' is invalid\. expected a folder, but that is a file: give another folder/,
    ],
    [
      ['x', '-o', join(dir, 'forgot-o.txt', 'sub')],
      /argument '.*forgot-o\.txt\/sub' is invalid\. expected a folder, but .*forgot-o\.txt on its way is a file/,
    ],
    [['worker', '--queue', 'q', '-o', join(dir, 'forgot-o.txt')], /expected a folder, but that is a file/],
    // Another run's work folder (a path completed or copied from a message): a run there hid its
    // files beside that run's journal and lock, deleted with it to start that run over.
    [
      ['x', '-o', join(dir, 'ran', '.imgpull')],
      /argument '.*ran\/\.imgpull' is invalid\. expected a folder, but that is the work folder of the output folder .*ran \(its journal, lock and partial files, deleted to start that run over, this run's files with them\): give -o .*ran to go on with that run, or another folder/,
    ],
    // A name pasted with a space after it (a script's -o "$DIR "): a new folder so named was made
    // and every file fetched again into it, the earlier run's folder beside it not gone on with.
    [
      ['x', '-o', `${join(dir, 'ran')} `],
      /argument '.*ran ' is invalid\. expected a folder's name, but this one ends with a space, and no folder so named is here: it would make one; give -o .*ran, an earlier run's output folder \(see/,
    ],
    [
      ['x', '-o', ' new-photos'],
      /expected a folder's name, but this one begins with a space, .*; give -o new-photos \(see/,
    ],
    [
      ['worker', '--queue', 'q', '-o', join(dir, 'ran', '.imgpull', 'parts')],
      /expected a folder, but .*ran\/\.imgpull on its way is the work folder of the output folder/,
    ],
    // A device there is said as one, not as a file: `-o /dev/null`, given to download and keep
    // nothing (MeltwaterArchive/rabbitio#41, nilaoda/N_m3u8DL-RE#291).
    [
      ['x', '-o', '/dev/null'],
      /argument '\/dev\/null' is invalid\. expected a folder, but that is a device: give/,
    ],
    [
      ['x', '-o', '/dev/null/out'],
      /expected a folder, but \/dev\/null on its way is a device: give another folder/,
    ],
    // `--out=~/photos`: the shell leaves that ~ alone; a folder named ~ was made in the current one.
    [
      ['x', '--out=~/photos'],
      /argument '~\/photos' is invalid\. expected a folder, but the shell left ~ as it is \(as after --out=\), which would make a folder named ~ here: give -o ~\/photos with a space, or \$HOME\/photos/,
    ],
    [
      ['worker', '--queue', 'q', '--out=~'],
      /argument '~' is invalid\. expected a folder, but the shell left ~ as it is/,
    ],
    // The same ~ in a file option: "no such file" of a file the user sees in the home folder.
    [
      ['http://127.0.0.1:9/a.jpg', '-o', join(dir, 'tilde-out'), '--cookies=~/no-such-h108.txt'],
      /Expected --cookies to be a readable cookies\.txt: '~\/no-such-h108\.txt': .* \(the shell left ~ as it is, as after --option=: give the option and the path as two words, or \$HOME\/no-such-h108\.txt\)/,
    ],
    [
      ['http://127.0.0.1:9/a.jpg', '-o', join(dir, 'tilde-out-2'), '--ca-cert=~/no-such-h108.pem'],
      /Expected --ca-cert to be a readable PEM file: '~\/no-such-h108\.pem': .* \(the shell left ~ as it is/,
    ],
    // The output folder given without -o, as the last word (`imgpull urls.txt photos`, cp's and
    // git clone's order): it is most likely the folder, not a list that is missing.
    [
      ['http://127.0.0.1:9/a.jpg', 'photos-new'],
      /cannot read input 'photos-new': no such file; if it is the output folder, give it with -o: -o photos-new \(see/,
    ],
    [
      ['examples/photos.csv', join(dir, 'dataset')],
      /cannot read input '.*dataset': no such file; if it is the output folder, give it with -o: -o .*dataset \(see/,
    ],
    // The rerun typed without -o: the folder is there, an imgpull output folder, not a table to
    // mix with the list ("cannot mix tables and URL lists ('urls.txt' is a URL list)").
    [
      [join(dir, 'forgot-o.txt'), join(dir, 'ran')],
      /'.*ran' is an imgpull output folder, given as the last input: to run into it, give it with -o: -o .*ran \(see/,
    ],
    [
      ['examples/photos.csv', join(dir, 'ran')],
      /'.*ran' is an imgpull output folder, given as the last input: to run into it, give it with -o: -o .*ran \(see/,
    ],
    // A plain folder after a list: read as a folder of tables, so the mix is said, and the folder.
    [
      [join(dir, 'forgot-o.txt'), join(dir, 'plain-folder')],
      /cannot mix tables and URL lists in one run \('.*forgot-o\.txt' is a URL list, '.*plain-folder' a folder of tables; if it is the output folder, give it with -o: -o .*plain-folder\)/,
    ],
    // With -o given, or a missing list before others, a list it is.
    [
      ['http://127.0.0.1:9/a.jpg', join(dir, 'gone.txt'), '-o', join(dir, 'gone-out')],
      /cannot read input '.*gone\.txt': no such file \(see/,
    ],
    [
      [join(dir, 'gone.txt'), 'http://127.0.0.1:9/a.jpg'],
      /cannot read input '.*gone\.txt': no such file \(see/,
    ],
    // A mistyped URL is no file either: said so, not only "no such file".
    [
      ['htp://example.com/a.jpg'],
      /cannot read input 'htp:\/\/example\.com\/a\.jpg': no such file, nor an http\(s\) URL/,
    ],
    [
      ['http//example.com/a.jpg'],
      /cannot read input 'http\/\/example\.com\/a\.jpg': no such file, nor a valid URL: its scheme is mistyped \("http\/\/"\): write http:\/\/example\.com\/a\.jpg \(see/,
    ],
    [
      ['http://[::1/a.jpg'],
      /cannot read input 'http:\/\/\[::1\/a\.jpg': no such file, nor a valid URL: an IPv6 address without its closing \]/,
    ],
    // a link-local address's zone id, which WHATWG URLs cannot hold: said, not "no such file".
    [
      ['http://[fe80::1%25eth0]/a.jpg'],
      /cannot read input 'http:\/\/\[fe80::1%25eth0\]\/a\.jpg': no such file, nor a valid URL: an IPv6 address with a zone id \(%eth0\), which URLs as browsers read them cannot hold/,
    ],
    [
      ['http://u:secret@127.0.0.1:99999/a.jpg', '-o', join(dir, 'port-out')],
      /cannot read input 'http:\/\/127\.0\.0\.1:99999\/a\.jpg': no such file, nor a valid URL: its port is out of range \(at most 65535\)/,
    ],
    // a `#` in an image URL's password ends its host: `u:1234#x@host` was fetched from the
    // host `u` at port 1234 (part of the password printed in every failure), `u:pw#x@host` said
    // "its port is not a number". Said as the proxy's password is, the URL without its credentials.
    [
      ['http://u:s3cret#x@127.0.0.1:9/a.jpg', '-o', join(dir, 'hash-out')],
      /^imgpull: cannot read input 'http:\/\/127\.0\.0\.1:9\/a\.jpg': no such file, nor a valid URL: its user and password need to be percent-encoded \(a # in them ends the host: write it as %23\) \(see imgpull --help\)$/,
    ],
    [
      ['http://u:1234#x@127.0.0.1:9/b.jpg', '-o', join(dir, 'hash-out-2')],
      /^imgpull: cannot read input 'http:\/\/127\.0\.0\.1:9\/b\.jpg': no such file, nor a valid URL: its user and password need to be percent-encoded \(a # in them ends the host: write it as %23\) \(see imgpull --help\)$/,
    ],
    // a `/` in it, its first part digits: parsed as host `u`, port 1234, path `/x@…`,
    // and fetched from `u` ("dns: host not found for http://u:1234/x@…").
    [
      ['http://u:1234/x@127.0.0.1:9/c.jpg', '-o', join(dir, 'slash-out')],
      /^imgpull: cannot read input 'http:\/\/127\.0\.0\.1:9\/c\.jpg': no such file, nor a valid URL: its user and password need to be percent-encoded \(a \/ in them ends the host: write it as %2F\); if the @ is the path's, write it as %40 \(see imgpull --help\)$/,
    ],
    // the port is the fault, not the `@` of a retina file name.
    [
      ['http://127.0.0.1:bad/x@2x.jpg', '-o', join(dir, 'at-out')],
      /^imgpull: cannot read input 'http:\/\/127\.0\.0\.1:bad\/x@2x\.jpg': no such file, nor a valid URL: its port is not a number \(see imgpull --help\)$/,
    ],
    [
      ['examples/photos.parquet', '--input-format', 'csv'],
      /photos\.parquet is a Parquet file, not a text table: name it \.parquet, or give --input-format parquet/,
    ],
    [['x', '--size', '256'], /--size is the target of --resize/],
    // Past 2^53 - 1 bytes a size is rounded: refused as over the limit, not as "an integer >= 1,
    // got 9007199254740992" (a number it was not given, under a rule it keeps).
    [
      ['http://127.0.0.1:9/x.jpg', '--max-size', '9007199254740993'],
      /argument '9007199254740993' is invalid\. expected a size of at most 9007199254740991 bytes \(8 PiB\)/,
    ],
    [
      ['http://127.0.0.1:9/x.jpg', '--max-size', '10000TiB'],
      /expected a size of at most 9007199254740991 bytes/,
    ],
    // Table options on URL lists or standard input would be dropped: a hash never checked.
    [
      [join(dir, 'urls.txt'), '--hash-col', 'sha256'],
      /--hash-col is for tables .*'.*urls\.txt' is read as a URL list \(its name is no table's: give --input-format if it is one\)/,
    ],
    [['-', '--hash-col', 'sha256'], /--hash-col is for tables .*standard input is read as a URL list/],
    // A table on standard input (`- --input-format csv`) is read: empty, it is said so.
    [['-', '--input-format', 'csv'], /^imgpull: standard input is empty: a CSV table needs a header line/],
    [['x', '--resize', 'keep-ratio'], /--resize keep-ratio needs --size/],
    // `-o "$OUT"` with OUT unset: not the current folder, unasked.
    [
      ['x', '-o', ''],
      /'-o, --out <dir>' argument '' is invalid\. expected a folder \(\. for the current one\)/,
    ],
    [['worker', '--queue', 'q', '-o', ' '], /'-o, --out <dir>' argument ' ' is invalid\. expected a folder/],
    // The folder forgotten after -o: the first URL was taken for it (a folder `http:/host/a.jpg`), never fetched.
    [
      ['-o', 'http://127.0.0.1:9/a.jpg', 'http://127.0.0.1:9/b.jpg'],
      /'-o, --out <dir>' argument 'http:\/\/127\.0\.0\.1:9\/a\.jpg' is invalid\. expected a folder, not a URL/,
    ],
    [
      ['worker', '--queue', 'q', '-o', 'HTTPS://host/x'],
      /'-o, --out <dir>' argument 'HTTPS:\/\/host\/x' is invalid\. expected a folder, not a URL/,
    ],
    // The value commander quotes keeps no user or password.
    [
      ['-o', 'https://ann:s3cret@host.example/a.jpg', 'x'],
      /argument 'https:\/\/host\.example\/a\.jpg' is invalid\. expected a folder, not a URL/,
    ],
    [
      ['unsplash', 'search', 'lake', '--limit', '0'],
      /'-l, --limit <n>' argument '0' is invalid\. expected an integer >= 1, or 'all'/,
    ],
    // Refused with the options, in their names, not on every image after its download.
    [
      ['http://127.0.0.1:9/x.jpg', '--resize', 'border', '--size', '8', '--background', 'whte'],
      /^imgpull: option '--background <colour>' argument 'whte' is invalid\. expected a CSS colour: a name \(white, transparent\), #rgb, #rrggbb, #rrggbbaa, rgb\(r,g,b\) or hsl\(h,s%,l%\) \(see imgpull --help\)$/,
    ],
    [
      ['http://127.0.0.1:9/x.jpg', '--resize', 'border', '--size', '8', '--background', 'reddish'],
      /^imgpull: option '--background <colour>' argument 'reddish' is invalid\. expected a CSS colour: /,
    ],
    // `--background #ff0000` unquoted: the shell took #ff0000 for a comment; without its #, said so.
    [
      ['http://127.0.0.1:9/x.jpg', '--encode', 'jpg', '--background', 'ff0000'],
      /argument 'ff0000' is invalid\. expected a CSS colour: .*; did you mean '#ff0000'\? \(quoted: the shell reads an unquoted # as the start of a comment\) \(see imgpull --help\)$/,
    ],
    [
      ['http://127.0.0.1:9/x.jpg', '--encode', 'jpg', '--quality', '101'],
      /^imgpull: option '--quality <1-100>' argument '101' is invalid\. expected an integer <= 100 /,
    ],
    [['x', '--resize', 'keep-ratio', '--size', '70000'], /--size.*integer <= 65535/],
    // Options that would do nothing as given: refused, not silently dropped.
    [['x', '--quality', '80'], /--quality is for images written anew: give --encode or a --resize mode/],
    [['x', '--keep-metadata'], /--keep-metadata is for images written anew/],
    [['x', '--encode', 'webp', '--background', 'red'], /--background fills the padding of --resize border/],
    [['x', '--hash-type', 'md5'], /--hash-type says what --hash-col holds: give --hash-col/],
    [
      ['x', '--no-journal', '--retry-failed'],
      /--retry-failed tries again the failures the journal remembers: with --no-journal none are remembered/,
    ],
    [
      ['x', '--insecure', '--ca-cert', 'ca.pem'],
      /--insecure checks no certificate, so the CA of --ca-cert ca.pem would never be used/,
    ],
    [
      ['x', '--output-format', 'webdataset', '--name', '{index}{ext}'],
      /--name names the files of --output-format files/,
    ],
  ]
  await mkdir(join(dir, 'ran', '.imgpull'), { recursive: true })
  await mkdir(join(dir, 'plain-folder'), { recursive: true })
  await writeFile(join(dir, 'forgot-o.txt'), 'http://127.0.0.1:9/a.jpg\n')
  // Each case a process of its own that reads and writes nothing another does: four at a time
  // (95 start-ups one after another were 27 s).
  const piped = runCli(['-', '-o', join(dir, 'piped-out')], { input: '<!doctype html>\n<html>\n' })
  await inPool(cases, 4, async ([args, message]) => {
    assert.match(await usageLine(args, message), /--help/)
  })
  const html = await piped
  assert.equal(html.code, 2, html.stderr)
  assert.match(html.stderr, /^imgpull: standard input is an HTML page, not a list of URLs/)
})

test("an input's or a file option's name mistyped names the file beside it that was meant (url.txt for urls.txt, Photos.cvs, --cookies cookie.txt), never another of a numbered set", async () => {
  const here = join(dir, 'near-names')
  await mkdir(join(here, 'data'), { recursive: true })
  await writeFile(join(here, 'urls.txt'), 'http://127.0.0.1:9/a.jpg\n')
  await writeFile(join(here, 'photos.csv'), 'url\nhttp://127.0.0.1:9/a.jpg\n')
  for (const part of ['part-00001.csv', 'part-00002.csv'])
    await writeFile(join(here, 'data', part), 'url\nhttp://127.0.0.1:9/a.jpg\n')
  const cases: [string, RegExp][] = [
    [
      'url.txt',
      /^imgpull: cannot read input 'url\.txt': no such file; did you mean 'urls\.txt'\? \(see imgpull --help\)$/,
    ],
    ['urls.tx', /: no such file; did you mean 'urls\.txt'\? /],
    ['Urls.txt', /: no such file; did you mean 'urls\.txt'\? /],
    ['Photos.cvs', /: no such file; did you mean 'photos\.csv'\? /],
    // Named as a table: the table's own check says it the same way.
    [
      'photo.csv',
      /^imgpull: cannot read input 'photo\.csv': no such file or folder; did you mean 'photos\.csv'\? /,
    ],
    ['data/prt-00001.csv', /: no such file or folder; did you mean 'data\/part-00001\.csv'\? /],
    // The next file of a numbered set is missing, not mistyped: no other file of the set is offered.
    [
      'data/part-00003.csv',
      /^imgpull: cannot read input 'data\/part-00003\.csv': no such file or folder \(see imgpull --help\)$/,
    ],
    [
      'nothing-like-it.txt',
      /^imgpull: cannot read input 'nothing-like-it\.txt': no such file \(see imgpull --help\)$/,
    ],
    // A file name pattern no shell expanded (quoted, or Windows' cmd: sharkdp/bat#309,
    // pamburus/hl#597): the files it matches, where one near name was offered as if mistyped.
    [
      'data/part-*.csv',
      /^imgpull: cannot read input 'data\/part-\*\.csv': no such file or folder; it is a file name pattern, which no shell expanded \(it was quoted, or typed in Windows' cmd or PowerShell\): 2 files here match it \(data\/part-00001\.csv, data\/part-00002\.csv\): give it unquoted to a shell that expands it, or their names \(see imgpull --help\)$/,
    ],
    [
      'url?.txt',
      /: no such file; it is a file name pattern, which no shell expanded .*: 1 file here matches it \(urls\.txt\): give it unquoted/,
    ],
    [
      '*.lst',
      /^imgpull: cannot read input '\*\.lst': no such file; it is a file name pattern, and no file matches it \(a shell passes such a pattern as it is\) \(see/,
    ],
  ]
  // Each case a process of its own, four at a time: none makes 'out' (checked after all of them).
  await inPool(cases, 4, async ([input, message]) => {
    await usageLine([input, '-o', 'out'], message, { cwd: here })
  })
  assert.ok(!existsSync(join(here, 'out')), 'nothing made')
  // A file option's file the same, in words, where Node's were 'ENOENT: no such file or directory,
  // open ...' after the name, and 'EISDIR: illegal operation on a directory, read'.
  await writeFile(join(here, 'cookies.txt'), '# Netscape HTTP Cookie File\n')
  await writeFile(join(here, 'ca.pem'), '')
  await writeFile(join(here, 'l.txt'), 'http://127.0.0.1:9/a.jpg\n')
  await writeFile(join(here, 'l.netrc.txt'), 'http://127.0.0.1:9/a.jpg\n')
  const options: [string[], RegExp][] = [
    [
      ['--cookies', 'cookie.txt'],
      /^imgpull: Expected --cookies to be a readable cookies\.txt: cookie\.txt: no such file; did you mean 'cookies\.txt'\? \(see imgpull --help\)$/,
    ],
    [
      ['--cookies', 'data'],
      /^imgpull: Expected --cookies to be a readable cookies\.txt: data: it is a folder \(see/,
    ],
    // A near name of another kind is no file the option meant: the URL list l.txt for c.txt.
    [
      ['--cookies', 'c.txt'],
      /^imgpull: Expected --cookies to be a readable cookies\.txt: c\.txt: no such file \(see imgpull --help\)$/,
    ],
    [
      ['--netrc-file', 'l.netrc.tx'],
      /^imgpull: Expected --netrc-file to be a readable \.netrc file: l\.netrc\.tx: no such file \(see imgpull --help\)$/,
    ],
    [
      ['--cert', 'l.tx'],
      /^imgpull: Expected --cert to be a readable file: l\.tx: no such file \(see imgpull --help\)$/,
    ],
    [
      ['--ca-cert', 'l.tx'],
      /^imgpull: Expected --ca-cert to be a readable PEM file: l\.tx: no such file \(see imgpull --help\)$/,
    ],
    [
      ['--ca-cert', 'ca.pm'],
      /^imgpull: Expected --ca-cert to be a readable PEM file: ca\.pm: no such file; did you mean 'ca\.pem'\? \(see/,
    ],
  ]
  await inPool(options, 4, async ([option, message]) => {
    await usageLine(['http://127.0.0.1:9/a.jpg', '-o', 'out', ...option], message, { cwd: here })
  })
})

test("an Unsplash command's options it does not take: the API's parameter or another command's, said with its own (search --count was 'did you mean --out?')", async () => {
  const cases: [string[], RegExp][] = [
    [
      ['unsplash', 'search', 'lake', '--count', '5'],
      /^imgpull: unknown option '--count', --count is random's; search takes --limit N \(or all\) \(see imgpull unsplash search --help\)$/,
    ],
    [
      ['unsplash', 'random', '--limit', '5'],
      /^imgpull: unknown option '--limit', random takes --count N, how many photos \(see/,
    ],
    [
      ['unsplash', 'search', 'lake', '--page', '2'],
      /^imgpull: unknown option '--page', the API's page: imgpull pages the listing itself; --limit N \(or all\) says how many photos \(see/,
    ],
    [
      ['unsplash', 'collection', '1580860', '--per_page=30'],
      /the API's per_page: imgpull pages the listing itself; --limit N/,
    ],
    [['unsplash', 'photo', 'Dwu85P9SOIk', '--count', '2'], /photo fetches the photos whose ids it is given/],
    [
      ['unsplash', 'search', '--query', 'forest'],
      /search takes its words as they are: imgpull unsplash search mountain lake/,
    ],
    [
      ['unsplash', 'search', 'lake', '--client-id', 'abc'],
      /the API's client_id is the access key: UNSPLASH_ACCESS_KEY, or --access-key KEY/,
    ],
    // Another tool's option is the main command's words, not an Unsplash command's.
    [
      ['unsplash', 'search', 'lake', '-j8'],
      /^imgpull: unknown option '-j8' \(see imgpull unsplash search --help\)$/,
    ],
  ]
  // Each case a process of its own that reads and writes nothing: four at a time.
  await inPool(cases, 4, async ([args, message]) => {
    await usageLine(args, message, {
      env: { UNSPLASH_ACCESS_KEY: 'k', UNSPLASH_API_URL: 'http://127.0.0.1:9' },
    })
  })
})

test("img2dataset's command line typed out of habit: its options and values said with imgpull's (--image_size 224, --resize keep_ratio)", async () => {
  const cases: [string[], RegExp][] = [
    // MiniGPT-4's dataset/download_laion.sh, as it was written for img2dataset.
    [
      ['--url_list', 'laion.tsv', '--input_format', 'tsv', '--output_folder', 'laion', '--image_size', '224'],
      /^imgpull: unknown option '--url_list', img2dataset's input: a list or a table is given as it is: imgpull urls\.parquet -o DIR \(see imgpull --help\)$/,
    ],
    [
      ['laion.tsv', '--output_folder=laion'],
      /^imgpull: unknown option '--output_folder=laion', img2dataset's folder: the folder is -o DIR/,
    ],
    [
      ['laion.tsv', '--image_size', '224'],
      /unknown option '--image_size', img2dataset's size: --size PX with a --resize mode/,
    ],
    [
      ['laion.tsv', '--thread_count', '64'],
      /unknown option '--thread_count', img2dataset's downloads at once .*-c N/,
    ],
    [
      ['laion.tsv', '--processes_count', '16'],
      /unknown option '--processes_count', img2dataset's processes: not needed/,
    ],
    // imgpull's own names written with _, beyond commander's "did you mean".
    [
      ['laion.tsv', '--resize_only_if_bigger', '--max_aspect_ratio', '2'],
      /^imgpull: unknown option '--resize_only_if_bigger', imgpull's is --resize-only-if-bigger \(see imgpull --help\)$/,
    ],
    [['laion.tsv', '--url_col=URL'], /^imgpull: unknown option '--url_col=URL', imgpull's is --url-col /],
    // The same habits given to a queue's two commands, with the one that takes the option.
    [
      ['enqueue', 'laion.tsv', '--queue', 'q', '--output_folder', 'laion'],
      /^imgpull: unknown option '--output_folder', img2dataset's folder: the folder is -o DIR, given to each imgpull worker \(see imgpull enqueue --help\)$/,
    ],
    [
      ['enqueue', 'laion.tsv', '--queue', 'q', '--caption_col', 'TEXT'],
      /^imgpull: unknown option '--caption_col', imgpull's is --caption-col \(see imgpull enqueue --help\)$/,
    ],
    [
      ['worker', '--queue', 'q', '--image_size', '224'],
      /^imgpull: unknown option '--image_size', img2dataset's size: --size PX .*, given to imgpull enqueue: every shard carries/,
    ],
    [['worker', '--queue', 'q', '--url_col', 'URL'], /imgpull's is --url-col, given to imgpull enqueue/],
    // A flag given a truth value, as img2dataset's command line takes it: not an input named 'True'.
    [
      ['laion.tsv', '--resize', 'border', '--size', '64', '--resize-only-if-bigger', 'True'],
      /^imgpull: --resize-only-if-bigger takes no value, so 'True' after it would be read as an input: give --resize-only-if-bigger alone for true, and leave it out for false \(see imgpull --help\)$/,
    ],
    [['laion.tsv', '--json=false'], /^imgpull: --json takes no value \('--json=false'\)/],
    // Any value after = (aria2c's and Go's --flag=false: kyma-project/cli#1367): it was an unknown
    // option '--insecure=yes', or commander's "did you mean --insecure?", the option given.
    [
      ['laion.tsv', '--insecure=yes'],
      /^imgpull: --insecure takes no value \('--insecure=yes'\): give --insecure alone for true, and leave it out for false \(see imgpull --help\)$/,
    ],
    [
      ['laion.tsv', '--netrc=netrc.txt'],
      /^imgpull: --netrc takes no value \('--netrc=netrc\.txt'\); did you mean --netrc-file netrc\.txt\?/,
    ],
    [
      ['enqueue', 'laion.tsv', '--queue', 'q', '--keep-metadata', 'False'],
      /^imgpull: --keep-metadata takes no value/,
    ],
    // img2dataset's --save_additional_columns list, given to --columns: not columns '[NSFW' and 'similarity]'.
    [
      ['laion.tsv', '--columns', '["NSFW","similarity"]'],
      /^imgpull: --columns '\["NSFW","similarity"\]' is a Python list, as img2dataset's --save_additional_columns takes them; imgpull's is --columns NSFW,similarity /,
    ],
    [
      ['enqueue', 'laion.tsv', '--queue', 'q', '--redis', 'redis://127.0.0.1:9', '--columns', "['NSFW']"],
      /^imgpull: --columns "\['NSFW'\]" is a Python list.*--columns NSFW /,
    ],
    // Its values, and near ones: the choice meant.
    [
      ['x', '--resize', 'keep_ratio', '--size', '256'],
      /^imgpull: option '--resize <mode>' argument 'keep_ratio' is invalid\. Allowed choices are no, keep-ratio, keep-ratio-largest, center-crop, border; did you mean --resize keep-ratio\? \(see imgpull --help\)$/,
    ],
    [['x', '--encode', 'jpeg'], /argument 'jpeg' is invalid\..*; did you mean --encode jpg\?/],
    [['x', '--hash-type', 'SHA256'], /; did you mean --hash-type sha256\?/],
    // Another name of a choice, or a part of only one (commander's list alone before).
    [['x', '--input-format', 'ndjson'], /; did you mean --input-format jsonl\? \(see imgpull --help\)$/],
    [['x', '--output-format', 'wds'], /; did you mean --output-format webdataset\?/],
    [['x', '--resize', 'center', '--size', '256'], /; did you mean --resize center-crop\?/],
    [['x', '--resize', 'crop', '--size', '256'], /; did you mean --resize center-crop\?/],
    // img2dataset's --compute_hash md5, said as --hash: the digest recorded is sha256; a row's is checked.
    [['x', '--hash', 'md5'], /; to check an MD5 each row states, give --hash-col COL --hash-type md5 /],
    [['x', '--hash', 'SHA1'], /; imgpull records sha256 of each file; a SHA1 column cannot be checked/],
    [
      ['x', '--input-format', 'txt'],
      /argument 'txt' is invalid\..*; a list of URLs is read as it is, without --input-format/,
    ],
    [
      ['x', '--input-format', 'csv.gz'],
      /; a gzip-compressed table is told by its bytes: --input-format csv /,
    ],
    // img2dataset's other output formats: what imgpull writes instead.
    [
      ['x', '--output-format', 'parquet'],
      /Allowed choices are files, webdataset; img2dataset's parquet \(images inside the rows\) is not written; imgpull writes files, or webdataset: tar shards, each with a \.parquet of its rows/,
    ],
    [
      ['enqueue', 'x', '--queue', 'q', '--output-format', 'tfrecord'],
      /img2dataset's tfrecord is not written; /,
    ],
    [
      ['x', '--input-format', 'json'],
      /; a \.json array of records is made JSON lines by jq -c '\.\[\]' FILE > rows\.jsonl/,
    ],
    [
      ['unsplash', 'search', 'lake', '--orientation', 'Landscape'],
      /; did you mean --orientation landscape\? \(see imgpull unsplash search --help\)$/,
    ],
  ]
  // Each case a process of its own that reads and writes nothing another does: four at a time
  // (36 start-ups one after another were 11 s in ci40), the two after them beside them.
  const farRun = runCli(['x', '--encode', 'tiff'])
  const keepRun = runCli(['x', '--resize', 'keep', '--size', '256'])
  await inPool(cases, 4, async ([args, message]) => {
    await usageLine(args, message)
  })
  // A value far from every choice keeps commander's list alone.
  const far = await farRun
  assert.match(far.stderr, /Allowed choices are jpg, png, webp, avif\. \(see imgpull --help\)$/m)
  // A part of two choices is neither.
  const keep = await keepRun
  assert.match(
    keep.stderr,
    /Allowed choices are no, keep-ratio, keep-ratio-largest, center-crop, border\. \(see imgpull --help\)$/m,
  )
})

test("other tools' options typed out of habit: said in their words, with imgpull's way (wget's -nc was --name c)", async () => {
  const cases: [string[], RegExp][] = [
    [
      ['-i', 'urls.txt'],
      /unknown option '-i', wget's, aria2c's and gallery-dl's input file: imgpull reads a list given as it is: imgpull urls\.txt -o DIR/,
    ],
    [['-j8', 'x'], /unknown option '-j8', aria2c's downloads at once: -c N/],
    // curl's --retry was offered commander's nearest, --netrc; wget's --tries and aria2c's --max-tries said bare.
    [
      ['--retry', '3', 'x'],
      /^imgpull: unknown option '--retry', curl's retries: --retries N \(5 by default\) \(see/,
    ],
    [
      ['--tries=3', 'x'],
      /^imgpull: unknown option '--tries=3', wget's tries: --retries N \(5 by default\) \(see/,
    ],
    [
      ['--max-tries', '3', 'x'],
      /^imgpull: unknown option '--max-tries', aria2c's tries: --retries N \(5 by default\) \(see/,
    ],
    [
      ['--timeout', '5', 'x'],
      /unknown option '--timeout', wget's, aria2c's and img2dataset's timeout: imgpull has --connect-timeout, --headers-timeout/,
    ],
    // wget's -nc was read as -n c: every file named c, c-5be280bf..., without an extension.
    [
      ['-nc', 'http://127.0.0.1:9/a.jpg', '-o', join(dir, 'nc-out')],
      /'-nc' reads as -n c \(--name c\): every file would be named c; -nc is wget's --no-clobber/,
    ],
    [['x', '-nv'], /'-nv' reads as -n v .*-nv is wget's --no-verbose: -q prints errors only/],
    // A long option with one dash, read as a short one and its value (rust-lang/getopts#101):
    // `-out DIR` made a folder `ut` and read DIR as a list (`cannot read input 'DIR'`).
    [['x', '-out', 'photos'], /^imgpull: '-out': a long option takes two dashes, --out, not -o ut \(see/],
    [['x', '-retries', '3'], /^imgpull: '-retries': a long option takes two dashes, --retries \(see/],
    // curl's -u: the credentials' words survive the hiding of a URL's user and password.
    [
      ['-u', 'bob:secret', 'x'],
      /^imgpull: unknown option '-u', curl's user and password: put them in the URL before its host, as user:password@ \(percent-encoded\), in a \.netrc file read with --netrc, or give -H 'Authorization: …' \(see imgpull --help\)$/,
    ],
    [
      ['--netrc-optional', 'x'],
      /^imgpull: unknown option '--netrc-optional', curl's: --netrc \(or --netrc-file FILE\)/,
    ],
    [['-v', 'x'], /^imgpull: unknown option '-v', curl's and wget's --verbose: .*-V is the version \(see/],
    // A worker's end once the queue is empty, as other job queues spell it (rq's --burst).
    [
      ['worker', '--queue', 'q', '--burst'],
      /^imgpull: unknown option '--burst', rq's and arq's burst mode: --exit-when-done: stop once no shard is left waiting, retrying or running \(see imgpull worker --help\)$/,
    ],
    [['worker', '--queue', 'q', '-b'], /^imgpull: unknown option '-b', rq's --burst: --exit-when-done: /],
    [
      ['worker', '--queue', 'q', '--stop-when-empty'],
      /unknown option '--stop-when-empty', Laravel's queue:work option: --exit-when-done: /,
    ],
    [
      ['worker', '--queue', 'q', '--exit-when-empty'],
      /unknown option '--exit-when-empty', imgpull's is --exit-when-done: /,
    ],
    [
      ['worker', '--queue', 'q', '--exit_on_empty'],
      /unknown option '--exit_on_empty', imgpull's is --exit-when-done: /,
    ],
    [
      ['enqueue', 'x', '--queue', 'q', '--burst'],
      /unknown option '--burst', rq's and arq's burst mode: --exit-when-done: .*, given to each imgpull worker \(see imgpull enqueue --help\)$/,
    ],
  ]
  // Each case a process of its own that reads and writes nothing another does: four at a time.
  await inPool(cases, 4, async ([args, message]) => {
    await usageLine(args, message)
  })
  assert.ok(!existsSync(join(dir, 'nc-out')), '-nc made nothing')
  // A list whose name begins with -: how to give it.
  await writeFile(join(dir, '-x.txt'), 'http://127.0.0.1:9/a.jpg\n')
  const dash = await runCli(['-x.txt', '-o', 'dash-out'], { cwd: dir })
  assert.equal(dash.code, 2, dash.stderr)
  assert.match(
    dash.stderr.trim(),
    /^imgpull: unknown option '-x\.txt'; a file of that name is given after -- \(imgpull -o DIR -- -x\.txt\) or as \.\/-x\.txt \(see imgpull --help\)$/,
  )
})

test('a value that begins with - is given with =: --user-agent=--bot/1 is sent; --retries -1 is judged as a number', async () => {
  const out = join(dir, 'dash')
  const r = await runCli([server.url('/dash/a.jpg'), '--user-agent=--bot/1', '-o', out, '-q'])
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(await outputFiles(out), ['a.jpg'])
  assert.equal(server.log.find((l) => l.url === '/dash/a.jpg')?.headers['user-agent'], '--bot/1')
  const negative = await runCli([server.url('/dash/a.jpg'), '--retries', '-1'])
  assert.match(negative.stderr, /'--retries <n>' argument '-1' is invalid\. expected an integer >= 0/)
})

test("a run's option given to a worker is said to be the queue's, to give to enqueue (commander asked 'did you mean --redis?')", async () => {
  const cases: [string[], RegExp][] = [
    [
      ['worker', '--queue', 'q', '--resize', '100'],
      /^imgpull: --resize is the queue's option, not a worker's: every shard carries the options of its enqueue, .*give it to imgpull enqueue .*\(see imgpull enqueue --help\)$/,
    ],
    [['worker', '--queue', 'q', '-A', 'bot/1'], /^imgpull: -A is the queue's option, not a worker's/],
    [['worker', '--queue', 'q', '--per-host=2'], /^imgpull: --per-host is the queue's option/],
    // A worker's own typo, and what enqueue takes only to refuse (a worker's option there), stay unknown.
    [
      ['worker', '--queue', 'q', '--redi', 'x'],
      /unknown option '--redi'; did you mean --redis\? \(see imgpull worker --help\)/,
    ],
    [
      ['worker', '--queue', 'q', '--journal', 'x'],
      /unknown option '--journal' \(see imgpull worker --help\)/,
    ],
  ]
  const results = await Promise.all(cases.map(([args]) => runCli(args)))
  for (const [i, [args, message]] of cases.entries()) {
    assert.equal(results[i].code, 2, `${args.join(' ')}: ${results[i].stderr}`)
    assert.equal(results[i].stderr.trim().split('\n').length, 1, results[i].stderr)
    assert.match(results[i].stderr.trim(), message)
  }
})

test('a usage error points at the help of its own command, which lists the culprit', async () => {
  const cases: [string[], string][] = [
    [['--frobnicate'], 'imgpull'],
    [['unsplash', 'search', 'lake', '--dpr', '9'], 'imgpull unsplash search'],
    [['unsplash', 'search'], 'imgpull unsplash search'],
    [['enqueue', 'x', '--queue', 'q', '--attempts', '0'], 'imgpull enqueue'],
    [['worker', '--shards', '0'], 'imgpull worker'],
    [['status', '--frobnicate'], 'imgpull status'],
    // A word that names no command is an input: the main command's help.
    [['stauts', '--dpr', '2'], 'imgpull'],
  ]
  await inPool(cases, 4, async ([args, command]) => {
    const r = await runCli(args, { env: { UNSPLASH_ACCESS_KEY: '' } })
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.ok(r.stderr.endsWith(` (see ${command} --help)\n`), `${args.join(' ')}: ${r.stderr}`)
  })
})

/** The CLI run with `args` and standard input as a shell gives it: a descriptor (`< FILE`), or nothing (`< /dev/null`). */
const withStdin = (args: string[], stdin: number | 'ignore') =>
  new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: [stdin, 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (d) => {
      stderr += d
    })
    child.on('close', (code) => resolve({ code, stderr }))
  })

test('standard input that is a folder (imgpull - < photos) is refused in one line, as a list or a table: it was read as an empty list (exit 0), a table as a folder of tables, the files in it (oils-for-unix/oils#1044)', async () => {
  const folder = join(dir, 'stdin-folder')
  await mkdir(folder, { recursive: true })
  await writeFile(join(folder, 'inside.csv'), `url\n${server.url('/stdin-folder-0')}\n`)
  for (const format of [[], ['--input-format', 'csv']]) {
    const fd = openSync(folder, 'r')
    const r = await withStdin(['-', '-o', join(dir, 'stdin-folder-out'), ...format], fd)
    closeSync(fd)
    assert.equal(r.code, 2, r.stderr)
    assert.equal(
      r.stderr,
      'imgpull: standard input (-) is a folder, not a list or a table: redirect a file into it (imgpull - -o DIR < urls.txt), or give a folder of tables as an input (imgpull FOLDER -o DIR) (see imgpull --help)\n',
    )
  }
  assert.ok(!existsSync(join(dir, 'stdin-folder-out')), 'nothing made')
  assert.deepEqual(
    server.log.filter((l) => l.url === '/stdin-folder-0'),
    [],
    'nothing fetched',
  )
})

test('URLs piped in without - are named as unread, with the - that reads them; none piped, no such words', async () => {
  // `cat urls.txt | imgpull -o photos` said only 'no input: give ... or - for stdin'.
  const list = join(dir, 'unread.txt')
  await writeFile(list, `${server.url('/unread-0')}\n`)
  const piped = await runCli(['-o', join(dir, 'unread-out')], { input: `${server.url('/unread-0')}\n` })
  assert.equal(piped.code, 2)
  assert.equal(
    piped.stderr,
    'imgpull: no input: give image URLs, a file with one URL per line, a table, or - for stdin; standard input is a pipe here, read when - is given: ... | imgpull - -o DIR (see imgpull --help)\n',
  )
  // Standard input as a shell gives it: a file (`< FILE`), or nothing (`< /dev/null`, cron's).
  const stderrWith = async (stdin: number | 'ignore') =>
    (await withStdin(['-o', join(dir, 'unread-out')], stdin)).stderr
  const fd = openSync(list, 'r')
  const fromFile = await stderrWith(fd)
  closeSync(fd)
  assert.match(fromFile, /standard input is a file here, read when - is given: imgpull - -o DIR < FILE/)
  assert.match(
    await stderrWith('ignore'),
    /^imgpull: no input: give image URLs, a file with one URL per line, a table, or - for stdin \(see/,
  )
  assert.deepEqual(
    server.log.filter((l) => l.url === '/unread-0'),
    [],
    'nothing fetched',
  )
})

// commander names a near option only within a few letters: `--caption caption` was refused as
// `unknown option '--caption'` alone, where the table option is `--caption-col`.
test('an option typed short of its name is named whole: --caption is --caption-col', async () => {
  const cases: [string[], string][] = [
    [['--caption', 'caption'], '--caption-col'],
    [['--caption=caption'], '--caption-col'],
    [['--shard', '4'], '--shard-size'],
    [['--input', 'csv'], '--input-format'],
  ]
  await inPool(cases, 2, async ([option, meant]) => {
    await usageLine(
      ['urls.txt', '-o', 'out', ...option],
      new RegExp(
        `^imgpull: unknown option '${option[0]}'; did you mean ${meant}\\? \\(see imgpull --help\\)$`,
      ),
      { cwd: dir },
    )
  })
  // Several go on from it: none is guessed.
  await usageLine(
    ['urls.txt', '-o', 'out', '--max', '4'],
    /^imgpull: unknown option '--max' \(see imgpull --help\)$/,
    { cwd: dir },
  )
  // A subcommand's own: unsplash search's --content for --content-filter.
  await usageLine(
    ['unsplash', 'search', 'lake', '--content', 'high'],
    /unknown option '--content'; did you mean --content-filter\? \(see imgpull unsplash search --help\)$/,
    {
      env: { UNSPLASH_ACCESS_KEY: '' },
    },
  )
})

test("a command's argument left out is named with what it is and where it goes", async () => {
  // `imgpull report` said `missing required argument 'dir'`, commander's words, with nothing of
  // what to give; `imgpull status` says to give an output folder.
  const cases: [string[], string][] = [
    [['report'], "missing DIR, output folder of an earlier run or of a queue's workers: imgpull report DIR"],
    [
      ['unsplash', 'collection'],
      'missing ID, collection id or unsplash.com/collections/... address: imgpull unsplash collection ID',
    ],
    [
      ['unsplash', 'photo'],
      'missing IDS, photo ids or unsplash.com/photos/... addresses: imgpull unsplash photo IDS...',
    ],
  ]
  await inPool(cases, 4, async ([args, line]) => {
    const r = await runCli(args, { env: { UNSPLASH_ACCESS_KEY: '' } })
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.equal(r.stderr, `imgpull: ${line} (see imgpull ${args.join(' ')} --help)\n`)
  })
})

test('--help lists options with defaults; --version prints the version', async () => {
  const help = await runCli(['--help'])
  assert.equal(help.code, 0)
  for (const option of [
    '--concurrency',
    '--per-host',
    '--name',
    '--retries',
    '--idle-timeout',
    '--json',
    '--quiet',
  ]) {
    assert.ok(help.stdout.includes(option), option)
  }
  assert.match(help.stdout, /--per-host <n|auto>.*\(default: "auto"\)/s)
  assert.match(help.stdout, /--wait <s>.*'2-4'.*\(default: 0\)/s)
  const version = await runCli(['--version'])
  assert.equal(version.code, 0)
  assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+$/)
  // `imgpull help [command]`, as git and npm take it: it said "cannot read input 'help'".
  const [word, ofCommand] = await Promise.all([runCli(['help']), runCli(['help', 'unsplash', 'search'])])
  assert.equal(word.code, 0, word.stderr)
  assert.equal(word.stdout, help.stdout)
  assert.equal(ofCommand.code, 0, ofCommand.stderr)
  assert.match(ofCommand.stdout, /^Usage: imgpull unsplash search \[options\] <words\.\.\.>/)
  // A command there is none of: a usage error naming it, not the main help as if it answered.
  const [typo, none] = await Promise.all([runCli(['help', 'stauts']), runCli(['help', 'nonsense'])])
  assert.equal(typo.code, 2)
  assert.match(
    typo.stderr,
    /^imgpull: no command 'stauts'; did you mean imgpull help status\? \(commands: .*status.*\)\n$/,
  )
  assert.equal(none.code, 2)
  assert.match(none.stderr, /^imgpull: no command 'nonsense' \(commands: /)
  assert.equal(typo.stdout + none.stdout, '')
  // `imgpull unsplash help search`, the same in the other order: it said "help is not an Unsplash command".
  const [within, ownHelp, unsplashWord, withinTypo] = await Promise.all([
    runCli(['unsplash', 'help', 'search']),
    runCli(['unsplash', 'search', '--help']),
    runCli(['unsplash', 'help']),
    runCli(['unsplash', 'help', 'serch']),
  ])
  assert.equal(within.code, 0, within.stderr)
  assert.equal(within.stdout, ownHelp.stdout)
  assert.equal(within.stdout, ofCommand.stdout)
  assert.equal(unsplashWord.code, 0, unsplashWord.stderr)
  assert.match(unsplashWord.stdout, /^Usage: imgpull unsplash <command> \[options\]/)
  assert.equal(withinTypo.code, 2)
  assert.match(withinTypo.stderr, /^imgpull: serch is not an Unsplash command; did you mean search\? /)
})

test('--quiet prints nothing on success; requests carry an honest User-Agent, Accept and no-transform', async () => {
  const out = join(dir, 'quiet')
  const r = await runCli([server.url('/quiet-ua'), '-o', out, '--quiet', '-H', 'X-Team: design'])
  assert.equal(r.code, 0)
  assert.equal(r.stderr + r.stdout, '')
  const seen = server.log.find((l) => l.url === '/quiet-ua')
  assert.match(String(seen?.headers['user-agent']), /^imgpull\/\d+\.\d+\.\d+ \(\+https:\/\//)
  assert.equal(seen?.headers['x-team'], 'design')
  // ModSecurity's Core Rule Set refuses a request without Accept (403); carrier and office proxies
  // recompress images unless asked not to.
  assert.equal(seen?.headers.accept, '*/*')
  assert.equal(seen?.headers['cache-control'], 'no-transform')
  // The user's own headers win.
  await runCli([server.url('/own-accept'), '-o', out, '--quiet', '-H', 'Accept: image/webp'])
  assert.equal(server.log.find((l) => l.url === '/own-accept')?.headers.accept, 'image/webp')
})

test("-H 'Name:' (an empty value) leaves the header out, imgpull's own too, as curl documents it; -H 'Name;' is refused, naming both", async () => {
  const out = join(dir, 'no-accept')
  const r = await runCli([
    server.url('/no-accept'),
    '-o',
    out,
    '--quiet',
    '-H',
    'Accept:',
    '-H',
    'User-Agent:',
    '-H',
    'X-Empty:',
  ])
  assert.equal(r.code, 0, r.stderr)
  const seen = server.log.find((l) => l.url === '/no-accept')
  assert.ok(seen, 'asked')
  // Not sent at all (it was sent empty: `Accept: `), nor any other header given empty.
  assert.equal(seen.headers.accept, undefined)
  assert.equal(seen.headers['user-agent'], undefined)
  assert.equal('x-empty' in seen.headers, false)
  // The rest of imgpull's own still go.
  assert.equal(seen.headers['cache-control'], 'no-transform')
  const semi = await runCli([server.url('/semi'), '-o', out, '-H', 'X-Empty;'])
  assert.equal(semi.code, 2)
  assert.match(semi.stderr, /X-Empty;/)
  assert.match(semi.stderr, /-H 'X-Empty:' leaves it out/)
  assert.equal(
    server.log.find((l) => l.url === '/semi'),
    undefined,
  )
})

test('a plain pull of a URL list loads none of the packages only other runs need: start-up stays short (the queue, tables, shards, transforms)', async () => {
  // V8's coverage (NODE_V8_COVERAGE) names every script the run ran, a package required from
  // node_modules included, and every function of the bundle that ran: a package bundled into
  // dist/imgpull.cjs runs its modules' top-level code in functions named by their paths
  // (esbuild's lazy init of a module reached through import()), which must not have run.
  // ioredis alone cost ~40 ms of start-up before the first request, loaded for one constant.
  const coverage = join(dir, 'coverage')
  const builtins = join(dir, 'builtins.txt')
  const hook = join(dir, 'exit-hook.mjs')
  await writeFile(
    hook,
    `import { writeFileSync } from 'node:fs'
process.on('exit', () => writeFileSync(${JSON.stringify(builtins)}, process.moduleLoadList.join('\\n')))
`,
  )
  const out = join(dir, 'lean-start')
  const r = await runCli([server.url('/lean-start'), '-o', out, '--quiet'], {
    env: { NODE_OPTIONS: `--import ${hook}`, NODE_V8_COVERAGE: coverage },
  })
  assert.equal(r.code, 0, r.stderr)
  const ran = new Set<string>()
  const packageOf = (path: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1]
  for (const file of await readdir(coverage)) {
    const { result } = JSON.parse(await readFile(join(coverage, file), 'utf8')) as {
      result: { url: string; functions: { functionName: string; ranges: { count: number }[] }[] }[]
    }
    for (const script of result) {
      const own = packageOf(script.url)
      if (own !== undefined) ran.add(own)
      for (const fn of script.functions) {
        const bundled = packageOf(fn.functionName)
        if (bundled !== undefined && fn.ranges[0].count > 0) ran.add(bundled)
      }
    }
  }
  // The probe sees the run's own packages: it works, so an absence below means something.
  for (const name of ['undici', 'better-sqlite3']) assert.ok(ran.has(name), `${name} not seen: ${[...ran]}`)
  for (const name of ['ioredis', 'bullmq', 'sharp', 'log-update', 'csv-parse', 'hyparquet', 'tar-stream'])
    assert.ok(!ran.has(name), `${name} was loaded by a plain pull`)
  // Node's own undici (behind fetch and, from Node 22, node:http's WebSocket getters, which an ES
  // module's \`import ... from 'node:http'\` runs): ~20 ms there. Node 20 has no such getters.
  assert.doesNotMatch(await readFile(builtins, 'utf8'), /internal\/deps\/undici/)
})

test('an output folder that is a file, or has one on its way: exit 2 and one line naming it', async () => {
  // The command's mistake (the list given for the folder), not the machine's: it stopped as a disk
  // fault, exit 3, and said "part of the path is a file" of -o naming the file itself.
  const file = join(dir, 'a-file')
  await writeFile(file, 'not a folder')
  const r = await runCli([server.url('/never'), '-o', join(file, 'photos')])
  assert.equal(r.code, 2)
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
  assert.match(
    r.stderr,
    /argument '.*a-file\/photos' is invalid\. expected a folder, but .*a-file on its way is a file: give another folder/,
  )
  const itself = await runCli([server.url('/never'), '-o', file])
  assert.equal(itself.code, 2)
  assert.match(itself.stderr, /argument '.*a-file' is invalid\. expected a folder, but that is a file/)
  assert.equal(server.hits.get('/never'), undefined)
})

test('-H with a name or value no HTTP header can have is refused at once, not failed on every file as `network`', async () => {
  // Each file was tried 6 times and recorded `network` ("invalid header key (UND_ERR_INVALID_ARG)"),
  // which a rerun tries again; the mistake is the command's.
  for (const [args, message] of [
    [['-H', 'Api Key: 1'], /^imgpull: Invalid header name "Api Key": a name is one word/],
    [
      ['-A', 'bot\rX: 1'],
      /^imgpull: option '-A, --user-agent <ua>' argument \$'bot\\x0dX: 1' is invalid\. a value is one line of text, and this one holds a carriage return/,
    ],
    // A Range of one's own: the 206 of 100 bytes was kept as the image (exit 0), every retry's
    // resume range fighting it. The headers undici refuses failed each file as `network`.
    [
      ['-H', 'Range: bytes=0-99'],
      /^imgpull: The header Range cannot be given: imgpull asks for ranges itself, to resume a file cut off; .*; leave it out/,
    ],
    [['-H', 'if-range: "abc"'], /^imgpull: The header if-range cannot be given: imgpull asks for ranges/],
    [
      ['-H', 'Transfer-Encoding: chunked'],
      /^imgpull: The header Transfer-Encoding cannot be given: the HTTP client sets it itself/,
    ],
    [['-H', 'Expect: 100-continue'], /^imgpull: The header Expect cannot be given: the HTTP client/],
  ] as const) {
    const out = join(dir, 'bad-header')
    const r = await runCli([server.url('/bad-header'), '-o', out, ...args])
    assert.equal(r.code, 2, r.stderr)
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
    assert.match(r.stderr, message)
    assert.equal(server.hits.get('/bad-header'), undefined, 'no request')
    assert.equal(existsSync(out), false)
  }
})

test("a FIFO no process writes to, given as an option's file (--cookies, --ca-cert, --cert, --key, --netrc-file, --cert-password-file), is refused in one line: it held the run in open() for ever, deaf to Ctrl-C and SIGTERM; a finished run's folder is untouched", async () => {
  const here = join(dir, 'option-fifos')
  const out = join(here, 'out')
  await mkdir(join(out, '.imgpull'), { recursive: true })
  await writeFile(join(out, 'kept.jpg'), 'finished bytes')
  await writeFile(join(out, 'manifest.jsonl'), '{"status":"ok"}\n')
  const fifo = join(here, 'c.txt')
  execFileSync('mkfifo', [fifo])
  const cases: [string[], RegExp][] = [
    [['--cookies', fifo], /--cookies.*c\.txt.*a FIFO no process writes to/],
    [['--ca-cert', fifo], /--ca-cert.*c\.txt.*a FIFO no process writes to/],
    [['--cert', fifo], /--cert.*c\.txt.*a FIFO no process writes to/],
    [['--netrc-file', fifo], /--netrc-file.*c\.txt.*a FIFO no process writes to/],
    [['--cert-password-file', fifo], /--cert-password-file.*c\.txt.*a FIFO no process writes to/],
  ]
  await inPool(cases, 4, async ([args, message]) => {
    const run = startCli(['http://127.0.0.1:9/a.jpg', '-o', out, ...args])
    // Not a timing check: without the fix the process never ends, and only SIGKILL ends it.
    const guard = setTimeout(() => run.child.kill('SIGKILL'), 30_000)
    const r = await run.done
    clearTimeout(guard)
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.signal} ${r.stderr}`)
    const lines = r.stderr.trim().split('\n')
    assert.equal(lines.length, 1, r.stderr)
    assert.match(lines[0], message)
  })
  assert.equal(await readFile(join(out, 'kept.jpg'), 'utf8'), 'finished bytes')
  assert.equal(await readFile(join(out, 'manifest.jsonl'), 'utf8'), '{"status":"ok"}\n')
})

test("a list that is a pipe: a shell's process substitution is read (it was refused: invalid seek), a named FIFO waits for its writer, and one no process writes to stops at SIGTERM (it held the run in open(), deaf to it)", async () => {
  const here = join(dir, 'list-pipes')
  await mkdir(here, { recursive: true })
  const urls = [1, 2, 3].map((i) => server.url(`/pipe/${i}.jpg`))
  // <(...): bash gives the list as /dev/fd/63, a pipe read once and never at an offset.
  const substituted = join(here, 'substituted')
  const shell = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn('bash', [
      '-c',
      `exec "$0" "$1" <(printf '%s\\n' "$2" "$3" "$4") -o "$5" --no-report`,
      process.execPath,
      CLI,
      ...urls,
      substituted,
    ])
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    child.on('close', (code) => resolve({ code, stderr }))
  })
  assert.equal(shell.code, 0, shell.stderr)
  assert.deepEqual(await outputFiles(substituted), ['1.jpg', '2.jpg', '3.jpg'])
  // A named FIFO: the run waits for a writer, then reads what it writes.
  const fifo = join(here, 'urls')
  execFileSync('mkfifo', [fifo])
  const named = join(here, 'named')
  const run = startCli([fifo, '-o', named, '--no-report'])
  await writeFile(fifo, `${urls.join('\n')}\n`)
  const r = await run.done
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(await outputFiles(named), ['1.jpg', '2.jpg', '3.jpg'])
  // No writer ever: SIGTERM stops it (exit 130), where the process was deaf to it.
  const idle = join(here, 'idle')
  execFileSync('mkfifo', [idle])
  const waiting = startCli([idle, '-o', join(here, 'idle-out'), '--no-report'])
  // The run at the FIFO (it holds it open, waiting for a writer), then the signal: a fixed 1.5 s
  // was not enough for a loaded machine's start, and SIGTERM came before imgpull was there to
  // hear it (the process ended by it).
  await until('the run to hold the FIFO open', () => holdsOpen(waiting.child.pid!, idle))
  waiting.child.kill('SIGTERM')
  const guard = setTimeout(() => waiting.child.kill('SIGKILL'), 20_000)
  const stopped = await waiting.done
  clearTimeout(guard)
  assert.equal(stopped.signal, null, `ended by ${stopped.signal}: SIGTERM was not heard as a stop`)
  assert.equal(stopped.code, 130, stopped.stderr)
})

/**
 * An OLE2 compound file (MS-CFB) of 512-byte sectors whose directory names `names` (the root
 * first), as Word 97-2003 and Excel 97-2003 write theirs: its header, one FAT sector (sector 0),
 * then the directory's sectors (4 entries each), chained in the FAT. No stream holds data.
 */
function compoundFile(names: string[]): Buffer {
  const directorySectors = Math.ceil(names.length / 4)
  const header = Buffer.alloc(512)
  Buffer.from('d0cf11e0a1b11ae1', 'hex').copy(header)
  header.writeUInt16LE(0x3e, 0x18)
  header.writeUInt16LE(3, 0x1a)
  header.writeUInt16LE(0xfffe, 0x1c)
  header.writeUInt16LE(9, 0x1e)
  header.writeUInt16LE(6, 0x20)
  header.writeUInt32LE(1, 0x2c)
  header.writeUInt32LE(1, 0x30)
  header.fill(0xff, 0x4c)
  header.writeUInt32LE(0, 0x4c)
  const fat = Buffer.alloc(512, 0xff)
  fat.writeUInt32LE(0xfffffffd, 0)
  for (let i = 1; i <= directorySectors; i++)
    fat.writeUInt32LE(i < directorySectors ? i + 1 : 0xfffffffe, i * 4)
  const directory = Buffer.alloc(512 * directorySectors)
  names.forEach((name, i) => {
    directory.write(name, i * 128, 'utf16le')
    directory.writeUInt16LE((name.length + 1) * 2, i * 128 + 0x40)
    directory.writeUInt8(i === 0 ? 5 : 2, i * 128 + 0x42)
  })
  return Buffer.concat([header, fat, directory])
}

// A fault of imgpull's own (a bug: `Cannot read properties of undefined`), met midway through a
// run: the catch-all printed its raw message, 3,000 characters of it and its line breaks, and
// exited 1, which says "some files failed": a script could not tell a crash from failed
// downloads (mypy gave its crashes a code of their own for that: python/mypy#5987), and nothing
// said it was a bug nor where to report it, as gallery-dl's one line does ("An unexpected error
// occurred: KeyError - 'data'. ... report this issue on https://github.com/mikf/gallery-dl/issues",
// mikf/gallery-dl#7391). It now exits 70, sysexits' EX_SOFTWARE (internal software error).
test('a fault of imgpull its own midway through a run: one line saying so and where to report it, the stack in a file of the work folder, exit 70, the files saved kept for the rerun', async () => {
  // The bug, modelled by a preload that throws where the command writes its first --json line.
  const hook = join(dir, 'own-fault-bug.mjs')
  await writeFile(
    hook,
    `const write = process.stdout.write
process.stdout.write = function (chunk, ...rest) {
  if (typeof chunk === 'string' && chunk.includes('"url"'))
    throw new Error('boom at http://user:secret@example.com/x ' + 'x'.repeat(3000) + '\\nits second line')
  return write.call(this, chunk, ...rest)
}
`,
  )
  const out = join(dir, 'own-fault')
  const urls = ['/own-fault-a.jpg', '/own-fault-b.jpg', '/own-fault-c.jpg'].map((p) => server.url(p))
  const r = await runCli([...urls, '-o', out, '--json', '--concurrency', '1'], {
    env: { NODE_OPTIONS: `--import ${hook}` },
  })
  assert.equal(r.code, 70, r.stderr)
  const lines = r.stderr.trimEnd().split('\n')
  assert.equal(lines.length, 1, r.stderr)
  assert.ok(lines[0].length < 700, lines[0])
  assert.match(
    lines[0],
    /^imgpull: internal error, a fault of imgpull's own, not of the input or the servers: Error: boom/,
  )
  assert.match(lines[0], /files already saved are complete and a rerun continues/)
  assert.match(lines[0], /please report it at https:\/\/github\.com\/imgpull\/imgpull\/issues/)
  assert.doesNotMatch(r.stderr, /secret|second line/)
  const file = /its stack is in '?([^';:]+\.txt)/.exec(lines[0])?.[1]
  assert.ok(file?.startsWith(join(out, '.imgpull', 'fault-')), lines[0])
  const stack = await readFile(file ?? '', 'utf8')
  assert.match(stack, /its second line\n\s+at /)
  assert.doesNotMatch(stack, /secret/)
  // What was saved is the rerun's: it fails nothing and gets each file once.
  const again = await runCli([...urls, '-o', out, '--quiet'])
  assert.equal(again.code, 0, again.stderr)
  for (const p of ['own-fault-a.jpg', 'own-fault-b.jpg', 'own-fault-c.jpg'])
    assert.deepEqual(await readFile(join(out, p)), server.bytes(`/${p}`))
  // V8's TypeError at a bug (a value used as one it is not) is no usage error: it was said as one,
  // exit 2 and `(see imgpull --help)`. With IMGPULL_DEBUG=1, the stack on stderr too.
  const typed = join(dir, 'own-fault-typed.mjs')
  await writeFile(
    typed,
    `const write = process.stdout.write
process.stdout.write = function (chunk, ...rest) {
  if (typeof chunk === 'string' && chunk.includes('"url"')) return globalThis.nothing.size
  return write.call(this, chunk, ...rest)
}
`,
  )
  const debug = await runCli([server.url('/own-fault-d.jpg'), '-o', join(dir, 'own-fault-debug'), '--json'], {
    env: { NODE_OPTIONS: `--import ${typed}`, IMGPULL_DEBUG: '1' },
  })
  assert.equal(debug.code, 70, debug.stderr)
  assert.match(
    debug.stderr,
    /^imgpull: internal error, .*: TypeError: Cannot read properties of undefined \(reading 'size'\);/m,
  )
  assert.doesNotMatch(debug.stderr, /imgpull --help/)
  assert.match(debug.stderr, /\n\s+at /)
  assert.ok(existsSync(join(dir, 'own-fault-debug', 'own-fault-d.jpg')))
  // Thrown outside the command's awaits (a callback's): Node's 10 lines of stack and exit 1, the
  // lock left and no manifest; now the same line and 70, and the rerun has the file.
  const loose = join(dir, 'own-fault-loose.mjs')
  await writeFile(
    loose,
    `const write = process.stdout.write
process.stdout.write = function (chunk, ...rest) {
  if (typeof chunk === 'string' && chunk.includes('"url"')) setImmediate(() => { throw new Error('loose\\nits line') })
  return write.call(this, chunk, ...rest)
}
`,
  )
  const thrown = join(dir, 'own-fault-thrown')
  const outside = await runCli([server.url('/own-fault-e.jpg'), '-o', thrown, '--json'], {
    env: { NODE_OPTIONS: `--import ${loose}` },
  })
  assert.equal(outside.code, 70, outside.stderr)
  assert.match(outside.stderr, /^imgpull: internal error, .*: Error: loose; .*its stack is in /)
  assert.equal(outside.stderr.trimEnd().split('\n').length, 1, outside.stderr)
  const rerun = await runCli([server.url('/own-fault-e.jpg'), '-o', thrown, '--json'])
  assert.equal(rerun.code, 0, rerun.stderr)
  assert.deepEqual(await readFile(join(thrown, 'own-fault-e.jpg')), server.bytes('/own-fault-e.jpg'))
})
