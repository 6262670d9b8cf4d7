/// <reference lib="dom" />
// The callbacks given to page.evaluate run in Chromium: they use the DOM's types.
import assert from 'node:assert/strict'
import { readdirSync, readlinkSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { layout } from '../src/layout.js'
import { gaps, readQueueFolder, SummarySum } from '../src/queue/output-folder.js'
import { computeFigures } from '../src/report/html/index.js'
import { queueReportInput } from '../src/report/run-report.js'
import { type Browser, launchBrowser, watch } from './support/browser.js'
import { runCli, startCli } from './support/cli.js'
import { queueFixture } from './support/queue-fixture.js'
import { until } from './support/wait.js'

/**
 * A queue's output folder (the workers' `-o`) seen by people: `imgpull status OUT` and `imgpull
 * report OUT` take all its shards as one, as `imgpull status OUT --failed` lists them; real
 * redis-server, real workers, the report in the real Chromium.
 */

const fx = queueFixture({ server: { ttfb: 20 }, prefix: 'imgpull-queue-folder-' })
const { list, q } = fx
let browser: Browser
before(async () => {
  browser = await launchBrowser()
})
after(async () => {
  await browser?.close()
})

const lines = (text: string) => text.trim().split('\n')

/** Three images, then one held silent after its first bytes (`more`: its query's rest): the shard stays in its worker's hands. */
const heldUrls = (path: string, more: string) => [
  fx.server.url(`/${path}/0.jpg`),
  fx.server.url(`/${path}/1.jpg`),
  fx.server.url(`/${path}/2.jpg`),
  fx.server.url(`/${path}/held.jpg?size=60000&stall=1000${more}`),
]

test('gaps: the shard numbers below the highest present that are missing, counted, the first five named (table)', () => {
  const table: [number[], { count: number; first: string[] }][] = [
    [[], { count: 0, first: [] }],
    [[0, 1, 2], { count: 0, first: [] }],
    [[2], { count: 2, first: ['00000', '00001'] }],
    [[0, 3, 5], { count: 3, first: ['00001', '00002', '00004'] }],
    [[10], { count: 10, first: ['00000', '00001', '00002', '00003', '00004'] }],
  ]
  for (const [present, expected] of table) assert.deepEqual(gaps(present), expected, String(present))
})

test("SummarySum: shards' summaries add up by state and code; the examples are the first shard's; the same bytes add up by sha256", () => {
  const sum = new SummarySum()
  sum.add({
    counts: { ok: 3, failed: 2 },
    errors: [{ error: 'http-404', n: 2, example: 'http://a/1', message: 'HTTP 404' }],
    failures: [{ error: 'http-404', n: 2 }],
    sharePages: 0,
    bytes: 300,
    runs: 1,
    sameBytes: [{ sha256: 'aa', n: 5, example: 'http://a/x' }],
  })
  sum.add({
    counts: { ok: 1, failed: 3, pending: 1 },
    errors: [
      { error: 'timeout', n: 2, example: 'http://b/1', message: 'timed out' },
      { error: 'http-404', n: 1, example: 'http://b/2', message: 'HTTP 404 too' },
    ],
    failures: [
      { error: 'timeout', n: 2 },
      { error: 'http-404', n: 1 },
    ],
    sharePages: 1,
    bytes: 50,
    runs: 2,
    sameBytes: [
      { sha256: 'aa', n: 6, example: 'http://b/x' },
      { sha256: 'bb', n: 7, example: 'http://b/y' },
    ],
  })
  assert.deepEqual(sum.result(), {
    counts: { ok: 4, failed: 5, pending: 1 },
    errors: [
      { error: 'http-404', n: 3, example: 'http://a/1', message: 'HTTP 404' },
      { error: 'timeout', n: 2, example: 'http://b/1', message: 'timed out' },
    ],
    failures: [
      { error: 'http-404', n: 3 },
      { error: 'timeout', n: 2 },
    ],
    sharePages: 1,
    bytes: 350,
    runs: 3,
    sameBytes: [
      { sha256: 'aa', n: 11, example: 'http://a/x' },
      { sha256: 'bb', n: 7, example: 'http://b/y' },
    ],
  })
})

test("status OUT and report OUT on a queue's output folder that three workers filled: every shard as one (files and WebDataset)", async () => {
  const urls = [
    ...Array.from({ length: 10 }, (_, i) => fx.server.url(`/folder/${i}.jpg`)),
    fx.server.url('/folder/gone.jpg?status=404'),
    fx.server.url('/folder/gone-too.jpg?status=410'),
    fx.server.url('/folder/page.jpg?html=1'),
  ]
  const input = await list('folder.txt', urls)
  for (const format of ['files', 'webdataset'] as const) {
    const queue = `folder-${format}`
    const out = join(fx.dir, queue)
    const shards = ['--shard-size', '4', '--output-format', format]
    const enqueued = await runCli(['enqueue', input, ...q(queue), ...shards])
    assert.equal(enqueued.code, 0, enqueued.stderr)
    const workers = [0, 1, 2].map(() => startCli(['worker', ...q(queue), '-o', out, '--exit-when-done']))
    for (const r of await Promise.all(workers.map((w) => w.done))) assert.equal(r.code, 0, r.stderr)

    // It said "no imgpull journal in OUT", exit 2: one shard's folder at a time.
    const text = await runCli(['status', out])
    assert.equal(text.code, 0, text.stderr)
    const said = lines(text.stdout)
    assert.match(
      said[0],
      new RegExp(
        `^${out}: the output folder of queue ${queue}, 4 shards: 10 ok \\([\\d.]+ kB\\), 3 failed, 0 not finished$`,
      ),
    )
    assert.equal(
      said[1],
      format === 'files'
        ? 'shards: 4 published (a folder each here), 0 being run now, 0 stopped before their end, 0 not started below the highest here'
        : 'WebDataset shards of 4 samples: 4 published (their .tar here), 0 being run now, 0 stopped before their end, 0 not started below the highest here',
    )
    assert.equal(said[2], 'Most common errors:')
    assert.deepEqual(
      said
        .slice(3, 6)
        .map((l) => l.split('  e.g.')[0])
        .sort(),
      ['  http-404 ×1', '  http-410 ×1', '  not-an-image ×1'],
    )
    assert.ok(said.includes(`Every failed URL of a code, one a line: imgpull status ${out} --failed CODE`))
    assert.ok(
      said.includes(
        `The queue knows the shards not here yet, the failed ones and its workers: imgpull status --redis URL --queue ${queue}`,
      ),
      text.stdout,
    )
    assert.equal(
      said.at(-1),
      `Enqueue the same input again with --retry-failed (imgpull enqueue INPUTS --queue ${queue} --retry-failed) to try the 3 permanent failures too.`,
    )

    // As one object, the plain folder's keys summed, and the queue's shards: what Redis counts too.
    const json = JSON.parse((await runCli(['status', out, '--json'])).stdout)
    const redis = JSON.parse((await runCli(['status', ...q(queue), '--json'])).stdout)
    assert.deepEqual(json.counts, { ok: 10, failed: 3 })
    assert.equal(json.bytes, redis.images.bytes)
    assert.deepEqual(
      Object.fromEntries(json.failures.map((f: { error: string; n: number }) => [f.error, f.n])),
      redis.images.errors,
    )
    assert.equal(json.runs, 4)
    assert.equal(json.running, null)
    assert.deepEqual(json.queue, {
      name: queue,
      format,
      shardSize: format === 'webdataset' ? 4 : null,
      shards: 4,
      published: 4,
      running: 0,
      stopped: 0,
      notStarted: 0,
    })

    // One report of the whole folder, in the browser.
    const report = await runCli(['report', out])
    assert.equal(report.code, 0, report.stderr)
    assert.equal(report.stdout.trim(), join(out, 'report.html'))
    const html = await readFile(join(out, 'report.html'), 'utf8')
    assert.doesNotMatch(
      html,
      /A rerun of the same command|re-opens this shard|manifest\.jsonl<\/code> beside/,
    )
    const page = await browser.open()
    const log = watch(page)
    await page.goto(pathToFileURL(join(out, 'report.html')).href)
    await page.waitForSelector('html[data-ready]')
    const figure = (key: string) =>
      page.locator(`[data-figure="${key}"]`).evaluate((e) => e.firstChild?.textContent)
    assert.equal(await figure('ok'), '10')
    assert.equal(await figure('failed'), '3')
    assert.equal(
      await page.locator('[data-figure="queue"]').textContent(),
      `The output folder of queue ${queue}; its 4 shards here: 4 published, 0 being run now, 0 stopped before their end, 0 not started below the highest here.`,
    )
    assert.equal(await page.locator('.failure').count(), 3)
    assert.equal(await page.locator('.banner').count(), 0, 'nothing running, nothing stopped')
    assert.match(
      (await page.locator('[data-figure="rerun"]').textContent()) ?? '',
      /Enqueuing the same input again skips the 3 permanent failures .* unless it is enqueued with --retry-failed/,
    )
    assert.equal(
      await page.locator('[data-failed-list="*"]').textContent(),
      `imgpull status ${queue} --failed > failed.txt`,
    )
    if (format === 'files') {
      // Every shard's images on the sheet, each from its shard's folder, all decoded.
      await page.waitForFunction(() =>
        [...document.querySelectorAll<HTMLImageElement>('.sheet img')].every(
          (i) => i.complete && i.naturalWidth > 0,
        ),
      )
      const links = await page
        .locator('.sheet .tile')
        .evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href))
      assert.equal(links.length, 10)
      const folders = new Set(links.map((href) => basename(join(fileURLToPath(href), '..'))))
      assert.deepEqual([...folders].sort(), ['00000', '00001', '00002'])
      assert.match(
        (await page.locator('footer').textContent()) ?? '',
        /its shard's manifest\.jsonl \(00000\/manifest\.jsonl…\)/,
      )
    } else {
      assert.match(
        (await page.locator('[data-figure="sheet"]').textContent()) ?? '',
        /inside the WebDataset shards/,
      )
      assert.match((await page.locator('footer').textContent()) ?? '', /its shard's Parquet file/)
    }
    assert.deepEqual(log.errors, [])
    assert.ok(
      log.requests.every((url) => url.startsWith('file:')),
      'no request leaves the disk',
    )
    await page.close()

    // The page is made with one shard's journal open at a time, whatever the shards' number.
    const folder = readQueueFolder(out)!
    const journals = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).endsWith('journal.db')
        } catch {
          return false
        }
      }).length
    let most = 0
    const input2 = queueReportInput(layout(out), folder)
    const watched = {
      ...input2,
      items: {
        *[Symbol.iterator]() {
          for (const item of input2.items) {
            most = Math.max(most, journals())
            yield item
          }
        },
      },
    }
    assert.equal(computeFigures(watched).summary.ok, 10)
    assert.equal(most, 1, 'one journal open at a time')
    assert.equal(journals(), 0, 'every journal closed after')
  }
})

test('a shard being run, then one whose worker was killed: status and report say so, its jobs not finished', async (t) => {
  const input = await list('run.txt', heldUrls('run', ''))
  const queue = 'folder-run'
  const out = join(fx.dir, queue)
  const enqueued = await runCli(['enqueue', input, ...q(queue), '--shard-size', '2', '--idle-timeout', '60'])
  assert.equal(enqueued.code, 0, enqueued.stderr)
  const worker = startCli(['worker', ...q(queue), '-o', out])
  t.after(() => worker.child.kill('SIGKILL'))
  await until('shard 00001 being run, 00000 published', async () => {
    const status = await runCli(['status', out, '--json'])
    if (status.code !== 0) return false
    const { queue: shards, counts } = JSON.parse(status.stdout)
    return shards.published === 1 && shards.running === 1 && counts.ok === 3
  })
  const during = await runCli(['status', out])
  assert.equal(during.code, 0, during.stderr)
  assert.match(
    during.stdout,
    /^shards: 1 published \(a folder each here\), 1 being run now, 0 stopped before their end/m,
  )
  assert.match(
    during.stdout,
    /^Workers are running shard 00001 \(pid \d+ on .*, started .*\) in this folder: these figures move until it ends\.$/m,
  )
  const json = JSON.parse((await runCli(['status', out, '--json'])).stdout)
  assert.equal(json.running.length, 1)
  assert.equal(json.running[0].shard, '00001')
  assert.equal(json.running[0].pid, worker.child.pid)
  assert.equal((await runCli(['report', out])).code, 0)
  let html = await readFile(join(out, 'report.html'), 'utf8')
  assert.match(html, /data-running><strong>Workers are running 1 shard of this folder<\/strong>/)
  assert.match(html, /1 job is not finished yet/)

  worker.child.kill('SIGKILL')
  await worker.done
  const stopped = await runCli(['status', out])
  assert.equal(stopped.code, 0, stopped.stderr)
  assert.match(stopped.stdout, /: 3 ok \(.*\), 0 failed, 1 not finished$/m)
  assert.match(
    stopped.stdout,
    /1 published \(a folder each here\), 0 being run now, 1 stopped before their end/,
  )
  assert.match(
    stopped.stdout,
    new RegExp(
      `^Shard 00001 stopped before its end \\(a worker stopped or killed; 1 not finished in all\\): the queue gives it to a worker again, which goes on from its journal here \\(imgpull worker --queue ${queue} -o ${out}\\), unless it failed for good or a worker with an output folder of its own ran it there \\(the queue's status says; enqueuing the input again puts a failed one back\\)\\.$`,
      'm',
    ),
  )
  assert.doesNotMatch(stopped.stdout, /Workers are running/)
  assert.equal((await runCli(['report', out])).code, 0)
  html = await readFile(join(out, 'report.html'), 'utf8')
  assert.match(html, /data-interrupted><strong>1 shard stopped before its end<\/strong>/)
  // The worker it names writes into this folder: without -o, one started from the hint wrote into
  // the current folder, starting the shard over there.
  assert.match(html, new RegExp(`<code>imgpull worker --queue ${queue} -o ${basename(out)}</code>`))
  assert.doesNotMatch(html, /Workers are running/)
})

test("a killed worker's shard, finished by another: the folder's report counts the killed worker's images as downloaded in its span, not as an earlier run's", async (t) => {
  // The held one is silent the first time only: the worker that takes the shard over gets it.
  // A line that is no URL: every run of the shard fails it again, without a request.
  const input = await list('taken.txt', [...heldUrls('taken', '&times=1'), 'not a url'])
  const queue = 'folder-taken'
  const out = join(fx.dir, queue)
  const enqueued = await runCli(['enqueue', input, ...q(queue), '--shard-size', '5', '--idle-timeout', '60'])
  assert.equal(enqueued.code, 0, enqueued.stderr)
  const first = startCli(['worker', ...q(queue), '-o', out, '--lock-duration', '1'])
  t.after(() => first.child.kill('SIGKILL'))
  await until(
    "3 images of the shard ok, and the invalid line failed, in the worker's heartbeat",
    async () => {
      const status = await runCli(['status', ...q(queue), '--json'])
      const worker = status.code === 0 && JSON.parse(status.stdout).workers[0]
      return worker?.ok === 3 && worker.failed === 1
    },
  )
  first.child.kill('SIGKILL')
  await first.done
  const second = await runCli(['worker', ...q(queue), '-o', out, '--lock-duration', '1', '--exit-when-done'])
  assert.equal(second.code, 0, second.stderr)
  const status = JSON.parse((await runCli(['status', out, '--json'])).stdout)
  assert.equal(status.counts.ok, 4)
  // The workers' lines add up to the queue's images: the invalid line, failed by the killed
  // worker, is not the second one's failure too (its line said 1 failed, the queue 1 in all, the
  // workers 2).
  const queued = JSON.parse((await runCli(['status', ...q(queue), '--json'])).stdout)
  assert.equal(queued.images.failed, 1)
  const workers = queued.workers as { ok: number; failed: number }[]
  assert.equal(
    workers.reduce((sum, w) => sum + w.failed, 0),
    1,
    JSON.stringify(workers),
  )
  assert.match(second.stderr, /; 1 images? ok \(.*\), 3 done before, 0 failed, in /)
  // The page spans both workers' runs of the shard: all 4 images were made in it.
  const input2 = queueReportInput(layout(out), readQueueFolder(out)!)
  const { summary } = computeFigures(input2)
  assert.equal(summary.ok, 4, 'every image the queue fetched into the folder is downloaded, as status says')
  assert.equal(summary.skipped, 0)
  const runs = JSON.parse((await runCli(['status', join(out, '00000'), '--json'])).stdout).runs
  assert.equal(runs, 2, 'the shard was run twice')
})

test("workers each with an output folder of its own: each folder's status sums its own shards, and those below its highest that the other took are not started here", async () => {
  const urls = Array.from({ length: 8 }, (_, i) => fx.server.url(`/apart/${i}.jpg`))
  const input = await list('apart.txt', urls)
  const queue = 'folder-apart'
  assert.equal((await runCli(['enqueue', input, ...q(queue), '--shard-size', '1'])).code, 0)
  const outs = ['a', 'b'].map((name) => join(fx.dir, `apart-${name}`))
  const workers = outs.map((out) => startCli(['worker', ...q(queue), '-o', out, '--exit-when-done']))
  for (const r of await Promise.all(workers.map((w) => w.done))) assert.equal(r.code, 0, r.stderr)
  let published = 0
  let notStarted = 0
  let folders = 0
  for (const out of outs) {
    const status = await runCli(['status', out, '--json'])
    if (status.code === 2) continue // the other worker took every shard
    assert.equal(status.code, 0, status.stderr)
    const { queue: shards, counts } = JSON.parse(status.stdout)
    const highest = Math.max(...readQueueFolder(out)!.shards.map((s) => s.shard))
    assert.equal(counts.ok, shards.published)
    assert.equal(shards.notStarted, highest + 1 - shards.published, out)
    published += shards.published
    notStarted += shards.notStarted
    folders++
    const text = await runCli(['status', out])
    if (shards.notStarted)
      assert.match(
        text.stdout,
        /^\d+ shards? below the highest here ha(s|ve) no journal in this folder \(\d{5}.*\): not started yet, or run into another output folder\.$/m,
      )
  }
  assert.equal(published, 8, 'every shard in one folder or the other')
  // Shards share out between the two, so the folder with shard 00007 misses some below it.
  if (folders === 2) assert.ok(notStarted > 0)
})
