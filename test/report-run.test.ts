import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { type Browser, launchBrowser, watch } from './support/browser.js'
import { CLI, cleanup, outputFiles, runCli, startCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { type LocalServer, listenLocal } from './support/raw-server.js'
import { until } from './support/wait.js'

// report.html of real runs, opened in a real Chromium: its numbers are the manifest's.

let browser: Browser
let files: LocalServer
let origin: string
let faults: ImageServer
let dir: string
before(async () => {
  browser = await launchBrowser()
  // Real images a browser can draw (the fault server's are noise no decoder accepts).
  files = await listenLocal(
    createServer((req, res) => {
      const name = new URL(req.url ?? '/', 'http://x').pathname.slice(1).replace(/-\d+(?=\.)/, '')
      try {
        const body = readFileSync(new URL(`fixtures/transform/${name}`, import.meta.url))
        res.writeHead(200, { 'content-length': body.length }).end(body)
      } catch {
        res.writeHead(404).end()
      }
    }),
  )
  origin = files.origin
  faults = await startImageServer({ ttfb: 20, bandwidth: 200_000 })
  dir = await tempDir()
})
after(async () => {
  await browser.close()
  await files.close()
  await faults.close()
  await cleanup(dir)
})

const manifest = async (out: string) =>
  (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))

async function open(path: string) {
  const page = await browser.open()
  const log = watch(page)
  await page.goto(pathToFileURL(path).href)
  await page.waitForSelector('html[data-ready]')
  const figure = (key: string) =>
    page.locator(`[data-figure="${key}"]`).evaluate((e) => e.firstChild?.textContent)
  return { page, log, figure }
}

test('the report of a run: figures as in the manifest, images from disk, failures by code, no errors', async () => {
  const out = join(dir, 'run')
  const images = ['alpha.png', 'photo.webp', 'photo-orient6-gps.jpg', 'wide.png'].flatMap((n) =>
    [1, 2].map((i) => `${origin}/${n.replace('.', `-${i}.`)}`),
  )
  const failing = [
    faults.url('/gone?status=404'),
    faults.url('/page?html=1'),
    faults.url('/busy?status=503'),
    `${origin}/missing.png`,
    'not a url',
  ]
  const list = join(dir, 'run.txt')
  await writeFile(list, [...images, ...failing].join('\n'))
  const r = await runCli([list, '-o', out, '--retries', '1', '--max-retry-after', '1'])
  assert.equal(r.code, 1, r.stderr)
  const lines = await manifest(out)
  const ok = lines.filter((l) => l.status === 'ok')
  const failed = lines.filter((l) => l.status === 'failed')
  assert.equal(ok.length, images.length)

  const { page, log, figure } = await open(join(out, 'report.html'))
  assert.equal(await figure('ok'), String(ok.length))
  assert.equal(await figure('failed'), String(failed.length))
  // The terminal's run time and rate are the report's: the terminal counted the manifest and the
  // report written after the run too (`in 0.6 s` where the report said `ran 0.4 s`).
  const summary = /\n\d+ images?, \S+ \S+ in (\S+(?: s)?) \(([\d.]+) img\/s/.exec(`\n${r.stderr}`)
  assert.ok(summary, r.stderr)
  assert.equal(await figure('wall'), summary[1], r.stderr)
  // The same rate, each in its own digits: the line's one decimal, the report's three figures.
  const rate = Number(await figure('rate'))
  assert.ok(Math.abs(rate - Number(summary[2])) <= 0.051, `${rate} img/s in the report; ${r.stderr}`)
  // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a person reads
  assert.match(await page.locator('.command').first().innerText(), /^\$ imgpull .*run\.txt -o .* --retries 1/)
  // Every image downloaded is on the contact sheet, drawn from its file on disk.
  await page.locator('#images').scrollIntoViewIfNeeded()
  await page.waitForFunction(() =>
    [...document.querySelectorAll<HTMLImageElement>('.sheet img')].every((i) => i.complete),
  )
  const widths = await page.$$eval('.sheet img', (imgs) =>
    imgs.map((i) => (i as HTMLImageElement).naturalWidth),
  )
  assert.equal(widths.length, ok.length)
  assert.ok(
    widths.every((w) => w > 0),
    `every image drawn: ${widths}`,
  )
  // Failures grouped by code, with the manifest's counts.
  const codes = new Map<string, number>()
  for (const l of failed) codes.set(l.error, (codes.get(l.error) ?? 0) + 1)
  for (const [code, count] of codes) {
    const group = page.locator(`.failure[data-code="${code}"]`)
    assert.equal(await group.count(), 1, code)
    assert.match((await group.textContent()) ?? '', new RegExp(`\\b${count}\\b`), code)
  }
  // The 503s the host answered are counted for it.
  assert.match((await page.locator('#host-table').textContent()) ?? '', /503/)
  assert.deepEqual(log.errors, [], 'no console errors')
  assert.deepEqual(
    log.requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:')),
    [],
    'nothing but files',
  )
  await page.screenshot({
    path: process.env.IMGPULL_SCREENSHOT ?? join(dir, 'report-run.png'),
    fullPage: true,
  })
})

test("a rerun's Failed card says its own failures and those it skipped as failed before, as the terminal's last line does", async () => {
  const out = join(dir, 'rerun-figures')
  const list = join(dir, 'rerun-figures.txt')
  await writeFile(
    list,
    [
      `${origin}/alpha-1.png`,
      faults.url('/gone-1?status=404'),
      faults.url('/gone-2?status=410'),
      faults.url('/busy-1?status=503'),
    ].join('\n'),
  )
  const args = [list, '-o', out, '--retries', '0']
  assert.equal((await runCli(args)).code, 1)
  const r = await runCli(args)
  assert.equal(r.code, 1, r.stderr)
  // '0 images, 0 B in 0.1 s (...), 1 failed, 1 already done, 2 skipped as permanently failed before (...)'
  const line = /\n\d+ images?, .*\), (\d+) failed, .*?(\d+) skipped as permanently failed before/.exec(
    `\n${r.stderr}`,
  )
  assert.ok(line, r.stderr)
  const { page, log, figure } = await open(join(out, 'report.html'))
  assert.equal(await figure('failed'), '3')
  const note = await page.locator('[data-figure="failed"] small').textContent()
  assert.match(
    note ?? '',
    new RegExp(`\\b${line[1]} in this run, ${line[2]} skipped as failed before`),
    r.stderr,
  )
  assert.deepEqual(log.errors, [])
  await page.close()
})

test('every failed URL as given, of a code or of all: the page says the commands that list them, from the journal and from the manifest', async () => {
  const out = join(dir, 'lists')
  const list = join(dir, 'lists.txt')
  // A signed URL: the page masks its signature, so only the journal's and the manifest's copy can be fetched again.
  const failing = [
    faults.url('/a?status=404'),
    faults.url('/b?status=404&X-Amz-Signature=c0ffee'),
    faults.url('/c?html=1'),
    'not a url',
  ]
  await writeFile(list, [`${origin}/alpha-1.png`, ...failing].join('\n'))
  const r = await runCli([list, '-o', out, '--retries', '0'])
  assert.equal(r.code, 1, r.stderr)
  const failed = (await manifest(out)).filter((l) => l.status === 'failed')
  // `imgpull` as a user's shell finds it: the built command.
  const bin = join(dir, 'bin')
  await mkdir(bin, { recursive: true })
  await writeFile(join(bin, 'imgpull'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`, {
    mode: 0o755,
  })
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` }
  const jq = spawnSync('jq', ['--version']).status === 0
  // A phone: the commands wrap inside the page rather than run off its edge.
  const page = await browser.open({ width: 375, height: 800 })
  await page.goto(pathToFileURL(join(out, 'report.html')).href)
  const listed = new Map<string, string[]>()
  for (const [attribute, cwd] of [
    ['data-failed-list', dir],
    ['data-failed-list-jq', out],
  ] as const) {
    for (const command of await page.locator(`[${attribute}]`).all()) {
      const code = (await command.getAttribute(attribute)) ?? ''
      // What a person copies: the text as shown, run beside the folder (imgpull) or in it (jq).
      // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a person reads
      const text = await command.innerText()
      const box = await command.boundingBox()
      assert.ok(box && box.x + box.width <= 375, `${code}'s command fits the screen: ${JSON.stringify(box)}`)
      if (attribute === 'data-failed-list-jq' && !jq) continue
      // Its output as the command names it (`> 404.txt`), or stdout.
      const shell = spawnSync('sh', ['-c', text], { cwd, env, encoding: 'utf8' })
      assert.equal(shell.status, 0, shell.stderr)
      const file = /> (\S+)$/.exec(text)?.[1]
      const got = file ? await readFile(join(cwd, file), 'utf8') : shell.stdout
      listed.set(`${attribute === 'data-failed-list-jq' ? 'jq ' : ''}${code}`, got.trim().split('\n'))
    }
  }
  const urls = (code: string) => failed.filter((l) => code === '*' || l.error === code).map((l) => l.url)
  assert.deepEqual(
    [...listed.keys()].sort(),
    ['*', ...new Set(failed.map((l) => l.error)), ...(jq ? ['jq *'] : [])].sort(),
    'one command for all, one a code, and jq for all',
  )
  // In input order, as the manifest's lines.
  for (const [code, got] of listed) assert.deepEqual(got, urls(code.replace(/^jq /, '')), code)
  assert.ok(listed.get('*')?.includes(failing[1]), 'the signed URL as given, signature and all')
  await page.close()
})

test('a killed run: imgpull report rebuilds the report, which says the run was interrupted', async () => {
  const out = join(dir, 'killed')
  const list = join(dir, 'killed.txt')
  // Three images the server sends whole, then five it holds silent after their first bytes: once
  // the three are in the folder nothing else can land, and the kill comes at that moment.
  const held = Array.from({ length: 5 }, (_, i) => faults.url(`/k-held-${i}?size=60000&stall=1000`))
  await writeFile(
    list,
    [0, 1, 2]
      .map((i) => faults.url(`/k-${i}?size=60000`))
      .concat(held)
      .join('\n'),
  )
  const run = startCli([list, '-o', out, '--per-host', '2', '--idle-timeout', '60'])
  await until('the three whole images', async () => (await outputFiles(out).catch(() => [])).length === 3)
  await until('the held transfers', () => (faults.hits.get('/k-held-1?size=60000&stall=1000') ?? 0) > 0)
  run.child.kill('SIGKILL')
  assert.equal((await run.done).signal, 'SIGKILL')
  const rebuilt = await runCli(['report', out])
  assert.equal(rebuilt.code, 0, rebuilt.stderr)
  assert.equal(rebuilt.stdout.trim(), join(out, 'report.html'))
  const { page, figure } = await open(join(out, 'report.html'))
  assert.equal(await page.locator('[data-interrupted]').count(), 1)
  assert.equal(await figure('ok'), '3')
  assert.equal(await figure('pending'), '5', 'what is left is counted')
  assert.equal((await outputFiles(out)).length, 3)
  const status = await runCli(['status', out])
  assert.match(
    status.stdout,
    /: 3 ok \(.*\), 0 failed, 5 not finished \(and any URL of the input the last run had not reached\), over 1 run$/m,
  )
  assert.match(
    status.stdout,
    /^The last run did not end \(killed, or its machine stopped\): Run the same command again to finish the rest\.$/m,
  )
  assert.doesNotMatch(status.stdout, /A run is going on/, 'the killed run holds the folder no more')
})

test('a Ctrl-C while a list on a pipe is still read: the report says the run was interrupted, the exit code is 130', async () => {
  const out = join(dir, 'piped-stop')
  // One URL, then a pipe that stays open: the rest of the list has not come yet.
  const run = startCli(['-', '-o', out], { keepStdin: true })
  run.child.stdin?.write(`${faults.url('/piped-stop-0?size=2000')}\n`)
  await until('the first image', async () => (await outputFiles(out).catch(() => [])).length === 1)
  run.child.kill('SIGINT')
  const r = await run.done
  run.child.stdin?.destroy()
  assert.equal(r.code, 130, r.stderr)
  assert.match(r.stderr, /Run the same command again to continue/)
  // The rest of the list was never read: it was recorded a whole run (no banner).
  assert.match(await readFile(join(out, 'report.html'), 'utf8'), /This run was interrupted/)
})

test('imgpull report during a run says the run is still going on, not that it was interrupted', async () => {
  // One image held at the server until the report is made: the run is going on meanwhile.
  let release = () => {}
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  const server = await startImageServer({ hold: (p) => (p === '/going-held' ? held : undefined) })
  try {
    const out = join(dir, 'going')
    const run = startCli([server.url('/going-0'), server.url('/going-held'), '-o', out])
    await until('the first image', async () => (await outputFiles(out).catch(() => [])).length === 1)
    const made = await runCli(['report', out])
    assert.equal(made.code, 0, made.stderr)
    const { page, figure } = await open(join(out, 'report.html'))
    assert.equal(await page.locator('[data-interrupted]').count(), 0, 'not called interrupted')
    // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a person reads
    const banner = await page.locator('[data-running]').innerText()
    assert.match(
      banner,
      /^This run is still going on: the figures below are those of .+\. 1 job is not finished yet\./,
    )
    // No "run the same command again": a second run now is refused (the folder is in use).
    assert.equal(await page.locator('[data-figure="rerun"]').count(), 0)
    assert.doesNotMatch(
      (await page.locator('body').textContent()) ?? '',
      /interrupted|Run the same command again/,
    )
    assert.equal(await figure('ok'), '1')
    assert.equal(await figure('pending'), '1')
    assert.match((await page.locator('.when').textContent()) ?? '', / · running for .+ · still running$/)
    await page.close()
    release()
    assert.equal((await run.done).code, 0)
    // The run's own report at its end replaces it.
    const { page: after } = await open(join(out, 'report.html'))
    assert.equal(await after.locator('[data-running]').count(), 0)
    assert.match((await after.locator('.when').textContent()) ?? '', / · ran [^·]+$/)
    assert.equal(await after.locator('[data-figure="ok"]').evaluate((e) => e.firstChild?.textContent), '2')
    await after.close()
  } finally {
    release()
    await server.close()
  }
})

test("imgpull report removes the temporary report a killed imgpull report left, not a living process's", async () => {
  const out = join(dir, 'stale-report')
  assert.equal((await runCli([faults.url('/stale-1'), '-o', out])).code, 0)
  // A process of this host that has ended, and this one (alive): their names as writeReport makes them.
  const { pid } = spawnSync(process.execPath, ['-e', ''])
  const dead = join(out, '.imgpull', `report.html.${hostname()}.${pid}.tmp`)
  const alive = join(out, '.imgpull', `report.html.${hostname()}.${process.pid}.tmp`)
  await writeFile(dead, '<!doctype html><p>half a report')
  await writeFile(alive, '<!doctype html><p>being written')
  const r = await runCli(['report', out])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(existsSync(dead), false, "the killed writer's temporary report is gone")
  assert.equal(existsSync(alive), true, "a living writer's is left")
})

test("a second list run into the folder: the report does not promise that its rerun retries the first list's failures", async () => {
  const out = join(dir, 'two-lists')
  const first = join(dir, 'first.txt')
  const second = join(dir, 'second.txt')
  await writeFile(
    first,
    [faults.url('/f-ok'), faults.url('/f-busy?status=503'), faults.url('/f-gone?status=404')].join('\n'),
  )
  await writeFile(second, [faults.url('/s-1'), faults.url('/s-2?status=503')].join('\n'))
  assert.equal((await runCli([first, '-o', out, '--retries', '0'])).code, 1)
  const r = await runCli([second, '-o', out, '--retries', '0'])
  assert.equal(r.code, 1, r.stderr)
  assert.match(r.stderr, /1 image, .*1 failed/)
  const { page } = await open(join(out, 'report.html'))
  // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a person reads
  const rerun = await page.locator('[data-figure="rerun"]').innerText()
  // A rerun of `imgpull second.txt` tries its own 503 again; the first list's jobs it never reads.
  assert.match(rerun, /^A rerun of the same command tries the 1 failure with a passing cause .* again\./)
  assert.doesNotMatch(rerun, /It skips/, "the 404 is not in this command's input")
  assert.match(
    rerun,
    /The other 2 failed or unfinished jobs are from an earlier run of another input into this folder: a rerun of this command leaves them/,
  )
  // Run again, the first list's report speaks of its own failures again.
  assert.equal((await runCli([first, '-o', out, '--retries', '0'])).code, 1)
  const again = await open(join(out, 'report.html'))
  // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a person reads
  const text = await again.page.locator('[data-figure="rerun"]').innerText()
  assert.match(
    text,
    /tries the 1 failure with a passing cause .* It skips the 1 permanent failure .* The other 1 failed or unfinished job is from an earlier run of another input/,
  )
})

test('only permanent failures: what a rerun skips is said of the rerun, not of an "It" that names nothing', async () => {
  const out = join(dir, 'only-permanent')
  const r = await runCli([faults.url('/p-gone?status=404'), faults.url('/p-page?html=1'), '-o', out])
  assert.equal(r.code, 1, r.stderr)
  const { page } = await open(join(out, 'report.html'))
  // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a person reads
  const rerun = await page.locator('[data-figure="rerun"]').innerText()
  assert.match(
    rerun,
    /^A rerun of the same command skips the 2 permanent failures \(they would fail again\) unless you add --retry-failed\.$/,
  )
})

test("the report, meant to be shared, shows no signed URL's signature: not in the command, the examples nor the messages", async () => {
  const out = join(dir, 'signed')
  const signed = faults.url(
    '/private.jpg?status=403&X-Amz-Credential=AKIAEXAMPLE%2F20260101&X-Amz-Signature=5ec7e7&access_token=t0ken',
  )
  const r = await runCli([signed, '-o', out, '--retries', '0'])
  assert.equal(r.code, 1, r.stderr)
  const html = await readFile(join(out, 'report.html'), 'utf8')
  for (const secret of ['AKIAEXAMPLE', '5ec7e7', 't0ken']) assert.ok(!html.includes(secret), secret)
  const { page } = await open(join(out, 'report.html'))
  // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a person reads
  assert.match(await page.locator('.command').innerText(), /X-Amz-Signature=\*\*\*&access_token=\*\*\*/)
  const example = page.locator('.failure[data-code="http-403"] .examples li').first()
  assert.match(
    (await example.textContent()) ?? '',
    /private\.jpg\?status=403&X-Amz-Credential=\*\*\*&X-Amz-Signature=\*\*\*/,
  )
  // The manifest keeps the URL as it was given: it is the job.
  assert.equal((await manifest(out))[0].url, signed)
})

test('the report shows no API key or password given in a query (key=, api_key=, client_id=, password=)', async () => {
  const out = join(dir, 'keyed')
  const keyed = faults.url(
    '/keyed.jpg?status=401&key=AIzaK3Y&client_id=UNSPL4SH&api_key=APIK3Y&password=hunt3r',
  )
  const r = await runCli([keyed, '-o', out, '--retries', '0'])
  assert.equal(r.code, 1, r.stderr)
  const html = await readFile(join(out, 'report.html'), 'utf8')
  for (const secret of ['AIzaK3Y', 'UNSPL4SH', 'APIK3Y', 'hunt3r']) assert.ok(!html.includes(secret), secret)
  const { page } = await open(join(out, 'report.html'))
  const example = page.locator('.failure[data-code="http-401"] .examples li').first()
  assert.match(
    (await example.textContent()) ?? '',
    /keyed\.jpg\?status=401&key=\*\*\*&client_id=\*\*\*&api_key=\*\*\*&password=\*\*\*/,
  )
  assert.equal((await manifest(out))[0].url, keyed)
})

test('a list line with a right-to-left override shows in the report as written, not reversed', async () => {
  const out = join(dir, 'bidi')
  const list = join(dir, 'bidi.txt')
  // Shown as it is, U+202E makes `gnp.exe` read `exe.png`.
  await writeFile(list, `\u202egnp.exe\n${faults.url('/b-ok')}\n`)
  const r = await runCli([list, '-o', out])
  assert.equal(r.code, 1, r.stderr)
  const { page } = await open(join(out, 'report.html'))
  const example = page.locator('.failure[data-code="invalid-url"] .examples li').first()
  // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a person reads
  const shown = await example.innerText()
  assert.doesNotMatch(shown, /\u202e/)
  // As written, then the button that opens its story (see the failure viewer).
  assert.match(shown, /^\\u202egnp\.exe details\n/)
  // The manifest keeps the line as it was given.
  assert.ok((await manifest(out)).some((l) => l.url === '\u202egnp.exe'))
})

test('--no-report writes none; imgpull report on a folder without a journal is a usage error', async () => {
  const out = join(dir, 'none')
  const r = await runCli([faults.url('/one'), '-o', out, '--no-report'])
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual((await outputFiles(out)).length, 1)
  await assert.rejects(readFile(join(out, 'report.html')))
  const missing = await runCli(['report', join(dir, 'nowhere')])
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /no imgpull journal in/)
  // The list given for the folder: said so, not as a folder without a journal (".../urls.txt/.imgpull").
  const list = join(dir, 'list.txt')
  await writeFile(list, `${faults.url('/one')}\n`)
  for (const command of ['report', 'status']) {
    const file = await runCli([command, list])
    assert.equal(file.code, 2)
    assert.match(
      file.stderr,
      /^imgpull: '.*list\.txt' is a file, not an output folder: give the folder a run wrote \(its -o\), which holds its journal \(see imgpull (report|status) --help\)\n$/,
    )
  }
  // A path inside an output folder (its journal's folder, its journal, its report, a --name
  // subfolder) names that folder: '.imgpull' was said to hold no journal, looked for in
  // '.imgpull/.imgpull/journal.db', beside the journal itself (as unhappychoice/gitlogue#75 told
  // a repository's subfolder as no repository).
  await mkdir(join(out, 'sub', 'deeper'), { recursive: true })
  for (const [command, inside] of [
    ['report', '.imgpull'],
    ['status', join('.imgpull', 'journal.db')],
    ['report', 'manifest.jsonl'],
    ['status', join('sub', 'deeper')],
  ]) {
    const given = join(out, inside)
    const r = await runCli([command, given])
    assert.equal(r.code, 2)
    assert.equal(
      r.stderr,
      `imgpull: '${given}' is inside the output folder '${out}', not one itself: give '${out}', which holds its journal (see imgpull ${command} --help)\n`,
    )
  }
})
