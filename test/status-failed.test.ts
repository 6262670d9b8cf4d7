import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { codesLine, failedChoice, listLine } from '../src/cli/failed-command.js'
import { placedMessage } from '../src/report/failure-place.js'
import { cleanup, runCli, startCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { until } from './support/wait.js'

// `imgpull status OUT --failed [CODE]`: the failed URLs as a list, from the journal, without jq.

let server: ImageServer
let dir: string
before(async () => {
  server = await startImageServer({ ttfb: 5 })
  dir = await tempDir()
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

const lines = (text: string) => text.split('\n').filter(Boolean)

test('which failures --failed lists: all, one code, a code none failed with, a code imgpull never gives (table)', () => {
  const codes = [
    { error: 'http-404', n: 3 },
    { error: 'timeout', n: 1 },
    { error: null, n: 1 },
  ]
  assert.equal(codesLine(codes), 'http-404 ×3, timeout ×1, unknown ×1')
  const table: [string | undefined, ReturnType<typeof failedChoice>][] = [
    [undefined, { code: undefined }],
    ['http-404', { code: 'http-404' }],
    // One imgpull gives, none failed with: an empty list (a script's 404s after every run).
    ['http-500', { code: 'http-500' }],
    ['not-an-image', { code: 'not-an-image' }],
    ['unknown', { code: null }],
    [
      '404',
      {
        refused:
          "'404' is no failure code (the failures here are http-404 ×3, timeout ×1, unknown ×1); did you mean --failed http-404?",
      },
    ],
    [
      'timout',
      {
        refused:
          "'timout' is no failure code (the failures here are http-404 ×3, timeout ×1, unknown ×1); did you mean --failed timeout?",
      },
    ],
    [
      'http-999',
      {
        refused: "'http-999' is no failure code (the failures here are http-404 ×3, timeout ×1, unknown ×1)",
      },
    ],
  ]
  for (const [asked, want] of table) assert.deepEqual(failedChoice(asked, codes), want, String(asked))
  assert.deepEqual(failedChoice('nope', []), { refused: "'nope' is no failure code (nothing failed here)" })
  // Near a code of the engine's when none of those present is near.
  assert.deepEqual(failedChoice('not-an-imag', []), {
    refused: "'not-an-imag' is no failure code (nothing failed here); did you mean --failed not-an-image?",
  })
})

test('a line of the list: the URL as given, credentials out; one line to a file, escapes to a terminal (table)', () => {
  const table: [string, boolean, string][] = [
    ['https://h/a.jpg?X-Amz-Signature=c0ffee&sig=1', false, 'https://h/a.jpg?X-Amz-Signature=c0ffee&sig=1'],
    ['https://user:secret@h/a.jpg', false, 'https://h/a.jpg'],
    // A table's cell may hold a line break, which the URL parser removes: one line all the same.
    ['https://h/a\nb.jpg', false, 'https://h/ab.jpg'],
    ['https://h/\x1b]0;x\x07.jpg', false, 'https://h/\x1b]0;x\x07.jpg'],
    ['https://h/\x1b]0;x\x07.jpg', true, 'https://h/\\x1b]0;x\\x07.jpg'],
  ]
  for (const [url, terminal, want] of table) assert.equal(listLine(url, terminal), want, JSON.stringify(url))
})

test('a real run with failures of two codes: every failed URL as given, in input order, of all or of one code; nothing else on stdout', async () => {
  const out = join(dir, 'two-codes')
  const list = join(dir, 'two-codes.txt')
  const signed = server.url('/b.jpg?status=404&X-Amz-Signature=c0ffee&X-Amz-Credential=AKIA%2F1')
  const failing = [
    server.url('/a.jpg?status=404'),
    server.url('/page.jpg?html=1'),
    signed,
    server.url('/c.jpg?status=404').replace('http://', 'http://user:PASSWORD1@'),
  ]
  await writeFile(
    list,
    [server.url('/ok-1.jpg'), failing[0], failing[1], server.url('/ok-2.jpg'), failing[2], failing[3]].join(
      '\n',
    ),
  )
  const run = await runCli([list, '-o', out, '--retries', '0'])
  assert.equal(run.code, 1, run.stderr)

  // The status names the command beside its examples; the run ended: no word of a rerun.
  const status = await runCli(['status', out])
  assert.match(status.stdout, /: 2 ok \([^)]*\), 4 failed, 0 not finished, over 1 run\n/)
  assert.doesNotMatch(status.stdout, /last run|to finish the rest/)
  assert.match(
    status.stdout,
    /\nEvery failed URL of a code, one a line: imgpull status \S*two-codes --failed CODE\n/,
  )
  const all = await runCli(['status', out, '--failed'])
  assert.equal(all.code, 0, all.stderr)
  assert.deepEqual(lines(all.stdout), [failing[0], failing[1], signed, server.url('/c.jpg?status=404')])
  assert.ok(!all.stdout.includes('PASSWORD1'), 'credentials stay out, as in the manifest')
  assert.match(all.stderr, /^imgpull: 4 failed URLs listed \(http-404 ×3, not-an-image ×1\)\n$/)
  // The manifest's jq recipe gives the same list.
  const manifest = lines(await readFile(join(out, 'manifest.jsonl'), 'utf8')).map((l) => JSON.parse(l))
  assert.deepEqual(
    lines(all.stdout),
    manifest.filter((l) => l.status === 'failed').map((l) => l.url),
  )

  const only = await runCli(['status', out, '--failed', 'http-404'])
  assert.equal(only.code, 0, only.stderr)
  assert.deepEqual(lines(only.stdout), [failing[0], signed, server.url('/c.jpg?status=404')])
  assert.match(only.stderr, /^imgpull: 3 failed URLs listed \(http-404 ×3\)\n$/)
  // The folder given after the option reads as the folder, not as a code.
  const after = await runCli(['status', '--failed', out])
  assert.equal(after.stdout, all.stdout, after.stderr)

  // A code imgpull gives that none failed with: an empty list, said on stderr, exit 0.
  const none = await runCli(['status', out, '--failed', 'timeout'])
  assert.equal(none.code, 0, none.stderr)
  assert.equal(none.stdout, '')
  assert.match(
    none.stderr,
    /no failure with code timeout in .*two-codes \(its failures: http-404 ×3, not-an-image ×1\)/,
  )
})

test('an unknown code: one line naming it, the codes present and the one meant; exit 2, nothing on stdout', async () => {
  const out = join(dir, 'unknown-code')
  const list = join(dir, 'unknown-code.txt')
  await writeFile(list, [server.url('/x.jpg?status=404'), server.url('/y.jpg?status=410')].join('\n'))
  assert.equal((await runCli([list, '-o', out, '--retries', '0'])).code, 1)
  for (const [asked, meant] of [
    ['404', 'http-404'],
    ['http-41O', 'http-410'],
  ]) {
    const r = await runCli(['status', out, '--failed', asked])
    assert.equal(r.code, 2, r.stderr)
    assert.equal(r.stdout, '')
    assert.equal(
      r.stderr,
      `imgpull: '${asked}' is no failure code (the failures here are http-404 ×1, http-410 ×1); did you mean --failed ${meant}? (see imgpull status --help)\n`,
    )
  }
  for (const args of [
    ['status', out, '--failed', '--json'],
    ['status', '--queue', 'q', '--failed'],
    ['status', '--failed'],
  ]) {
    const r = await runCli(args)
    assert.equal(r.code, 2, args.join(' '))
    assert.equal(r.stdout, '')
    assert.equal(lines(r.stderr).length, 1, r.stderr)
  }
})

test('a run killed with kill -9: --failed lists what failed so far from the journal; the report says that command, not the manifest jq', async () => {
  const out = join(dir, 'killed')
  const list = join(dir, 'killed.txt')
  const gone = [server.url('/k-0.jpg?status=404'), server.url('/k-1.jpg?status=404&sig=abc')]
  // Held silent after their first bytes, so the run is mid-way when it is killed.
  const held = Array.from({ length: 3 }, (_, i) => server.url(`/k-held-${i}.jpg?size=60000&stall=1000`))
  await writeFile(list, [...gone, ...held].join('\n'))
  const run = startCli([list, '-o', out, '--idle-timeout', '60', '--retries', '0'])
  await until('the two failures in the journal', async () => {
    const status = await runCli(['status', out, '--json'])
    return status.code === 0 && JSON.parse(status.stdout).counts.failed === 2
  })
  // While it runs: what failed so far, and said so.
  const during = await runCli(['status', out, '--failed'])
  assert.deepEqual(lines(during.stdout), gone)
  assert.match(during.stderr, /a run is going on in this folder: these are what failed so far/)
  run.child.kill('SIGKILL')
  assert.equal((await run.done).signal, 'SIGKILL')
  assert.ok(
    !existsSync(join(out, 'manifest.jsonl')),
    'a killed first run leaves no manifest: jq has nothing to read',
  )

  // The killed run left its input's later URLs in no row: the count is a floor, and the rerun is named.
  const status = await runCli(['status', out])
  assert.equal(status.code, 0, status.stderr)
  assert.match(
    status.stdout,
    /: 0 ok \([^)]*\), 2 failed, 3 not finished \(and any URL of the input the last run had not reached\), over 1 run\n/,
  )
  assert.match(
    status.stdout,
    /\nThe last run did not end \(killed, or its machine stopped\): Run the same command again to finish the rest\.\n/,
  )

  const listed = await runCli(['status', out, '--failed'])
  assert.equal(listed.code, 0, listed.stderr)
  assert.deepEqual(lines(listed.stdout), gone)
  assert.match(listed.stderr, /2 failed URLs listed \(http-404 ×2\)/)

  const report = await runCli(['report', out])
  assert.equal(report.code, 0, report.stderr)
  const page = await readFile(join(out, 'report.html'), 'utf8')
  assert.match(page, /data-interrupted/)
  assert.match(page, /data-failed-list="\*">imgpull status killed --failed &gt; failed\.txt</)
  assert.match(page, /data-failed-list="http-404">imgpull status killed --failed http-404 &gt; 404\.txt</)
  assert.doesNotMatch(page, /data-failed-list-jq/, 'no jq line over an earlier run’s manifest, or none')
})

test('a run stopped before its end (Ctrl-C twice) with nothing left in flight: status names the rerun, not a job done', async () => {
  // Its in-flight transfers ended by the stop, every row was failed or ok: "0 not finished" and no
  // rerun line read as a finished job, where the input's later URLs were never reached.
  const out = join(dir, 'stopped')
  const list = join(dir, 'stopped.txt')
  await writeFile(
    list,
    Array.from({ length: 40 }, (_, i) => server.url(`/s-${i}.jpg?size=60000&stall=1000`)).join('\n'),
  )
  const sent = server.stats.requests
  const run = startCli([list, '-o', out, '--idle-timeout', '60', '--per-host', '2', '--grace', '30'])
  let stderr = ''
  run.child.stderr?.on('data', (d) => {
    stderr += d
  })
  await until('the run to send requests', () => server.stats.requests > sent)
  run.child.kill('SIGINT')
  await until('the stop to be heard', () => /Stopping/.test(stderr))
  run.child.kill('SIGINT')
  assert.equal((await run.done).code, 130)
  const status = await runCli(['status', out])
  assert.equal(status.code, 0, status.stderr)
  assert.match(status.stdout, /not finished \(and any URL of the input the last run had not reached\)/)
  assert.match(
    status.stdout,
    /\nThe last run was stopped before its end: Run the same command again to finish the rest\.\n/,
  )
  assert.equal(JSON.parse((await runCli(['status', out, '--json'])).stdout).lastRun, 'stopped')
})

test('where a failure stands in the input, beside its message, once (table)', () => {
  const table: [string, string | undefined, string][] = [
    [
      'HTTP 404 from https://h/a.jpg',
      "'urls.txt' line 3",
      "HTTP 404 from https://h/a.jpg ('urls.txt' line 3)",
    ],
    ['HTTP 404 from https://h/a.jpg', undefined, 'HTTP 404 from https://h/a.jpg'],
    // Messages that name it already: an invalid URL's, a table row's, a page's in place of an image.
    [
      'invalid URL "x" (\'urls.txt\' line 3): not a URL',
      "'urls.txt' line 3",
      'invalid URL "x" (\'urls.txt\' line 3): not a URL',
    ],
    [
      'photos.csv line 12: invalid URL "x": not a URL',
      'photos.csv line 12',
      'photos.csv line 12: invalid URL "x": not a URL',
    ],
    // Shown with its control characters as escapes: the message holds that form.
    [
      'invalid URL "x" (\'a\\u202eb.txt\' line 1): not a URL',
      "'a\u202eb.txt' line 1",
      'invalid URL "x" (\'a\\u202eb.txt\' line 1): not a URL',
    ],
    ['', 'a.parquet row 7 (row group 0)', 'a.parquet row 7 (row group 0)'],
  ]
  for (const [message, place, want] of table) assert.equal(placedMessage(message, place), want, message)
})

test("a failed URL names its list's line and its table's line: in the run's lines, imgpull status and the report; a rerun names where it is now", async () => {
  const out = join(dir, 'placed')
  const list = join(dir, 'placed.txt')
  const csv = join(dir, 'placed.csv')
  const bad = server.url('/gone.jpg?status=404')
  await writeFile(list, `${server.url('/fine.jpg')}\n# a comment\n\n${bad}\n`)
  const run = await runCli(['placed.txt', '-o', out, '--retries', '0'], { cwd: dir })
  assert.equal(run.code, 1, run.stderr)
  assert.match(
    run.stderr,
    /^failed http-404: HTTP 404 from \S+gone\.jpg\?status=404 \('placed\.txt' line 4\)$/m,
  )
  const status = await runCli(['status', out])
  assert.match(
    status.stdout,
    /^ {2}http-404 ×1 {2}e\.g\. HTTP 404 from \S+ \('placed\.txt' line 4\)$/m,
    status.stdout,
  )
  // The README's `--json` shape: the example's place beside its message, not inside it.
  const json = JSON.parse((await runCli(['status', out, '--json'])).stdout)
  const example = json.errors.find((e: { error: string }) => e.error === 'http-404')
  assert.equal(example.place, "'placed.txt' line 4", JSON.stringify(json.errors))
  assert.doesNotMatch(example.message, /placed\.txt/)
  const page = await readFile(join(out, 'report.html'), 'utf8')
  assert.match(page, /<span class="msg">HTTP 404 from this URL \(&#39;placed\.txt&#39; line 4\)<\/span>/)
  // Lines added above it: the rerun skips it (a 404 is permanent) and says where it is now.
  await writeFile(list, `# two\n# more\n${server.url('/fine.jpg')}\n# a comment\n\n${bad}\n`)
  const again = await runCli(['placed.txt', '-o', out, '--retries', '0'], { cwd: dir })
  assert.equal(again.code, 1, again.stderr)
  assert.match(
    again.stderr,
    /^failed http-404: HTTP 404 from \S+ \('placed\.txt' line 6\) \(earlier run; --retry-failed tries again\)$/m,
  )
  assert.match((await runCli(['status', out])).stdout, /\('placed\.txt' line 6\)$/m)
  // --failed stays a list of URLs alone.
  assert.deepEqual(lines((await runCli(['status', out, '--failed'])).stdout), [bad])
  // A table's row: its line in the file, a cell over two lines before it.
  await writeFile(csv, `url,caption\n${server.url('/fine.jpg')},"two\nlines"\n${bad},x\n`)
  const table = await runCli(['placed.csv', '-o', join(dir, 'placed-table'), '--retries', '0'], { cwd: dir })
  assert.equal(table.code, 1, table.stderr)
  assert.match(table.stderr, /^failed http-404: HTTP 404 from \S+ \(placed\.csv line 4\)$/m)
  assert.match((await runCli(['status', join(dir, 'placed-table')])).stdout, /\(placed\.csv line 4\)$/m)
})
