/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The callbacks given to page.evaluate run in Chromium: they use the DOM's types.
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { crc32, deflateSync } from 'node:zlib'
import type { Locator, Page } from 'playwright-core'
import sharp from 'sharp'
import { INPUT_ERRORS } from '../src/error-codes.js'
import { retriedOnRerun } from '../src/fetch/retry-policy.js'
import { formatBytes, formatDuration } from '../src/report/format.js'
import {
  busiestSampled,
  concurrency,
  failureKind,
  groupFailures,
  type HostSample,
  hostTable,
  type ReportInput,
  type ReportItem,
  renderReport,
  SHEET_PAGE_SIZE,
  short,
  summarize,
  throughput,
  writeReport,
} from '../src/report/html/index.js'
import { type Browser, launchBrowser, type PageLog, watch } from './support/browser.js'
import { runCli } from './support/cli.js'
import { startImageServer } from './support/image-server.js'

/**
 * The report in a real Chromium: a run with images on disk and every kind of failure, an
 * interrupted run, and a 100,000-item run. One browser for the file; screenshots go to the temp
 * folder (printed).
 */

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type, 4, 'latin1')
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0)
  return Buffer.concat([head, data, crc])
}

/** An HSL colour (h in degrees, s and l in 0..1) as RGB bytes. */
function hsl(h: number, s: number, l: number): [number, number, number] {
  const a = s * Math.min(l, 1 - l)
  const c = (n: number) => {
    const k = (n + h / 30) % 12
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))))
  }
  return [c(0), c(8), c(4)]
}

/** A real, decodable PNG: a small landscape (sky, sun, two hills) whose colours follow `seed`. */
function scenePng(seed: number, width: number, height: number): Buffer {
  const hue = (seed * 47) % 360
  const near = hsl((hue + 140) % 360, 0.35, 0.28)
  const far = hsl((hue + 170) % 360, 0.3, 0.42)
  const sun = hsl((hue + 40) % 360, 0.9, 0.85)
  const sunX = width * (0.25 + ((seed * 13) % 50) / 100)
  const sunY = height * 0.35
  const sunR = height * 0.11
  const farTop = Array.from(
    { length: width },
    (_, x) => height * (0.62 + 0.06 * Math.sin(x / (width / 5) + seed)),
  )
  const nearTop = Array.from(
    { length: width },
    (_, x) => height * (0.78 + 0.07 * Math.sin(x / (width / 3) + seed * 2)),
  )
  const stride = width * 3 + 1
  const raw = Buffer.alloc(stride * height)
  for (let y = 0; y < height; y++) {
    const sky = hsl(hue, 0.55, 0.55 + 0.3 * (y / height))
    for (let x = 0; x < width; x++) {
      const c =
        y > nearTop[x] ? near : y > farTop[x] ? far : Math.hypot(x - sunX, y - sunY) < sunR ? sun : sky
      raw.set(c, y * stride + 1 + x * 3)
    }
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr.set([8, 2, 0, 0, 0], 8)
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

const T0 = Date.parse('2026-03-14T09:26:53Z')
const HOSTS = ['https://images.example.com', 'http://127.0.0.1:8080', 'https://cdn.example.org'] as const

/** Every failure the engine can report, with a message; the script tags must stay text. */
const FAILURES: [
  code: string | undefined,
  httpStatus: number | undefined,
  message: string,
  retryable?: boolean,
][] = [
  ['http-404', 404, 'HTTP 404 from the server'],
  ['http-404', 404, 'HTTP 404 from the server'],
  ['http-404', 404, 'HTTP 404 <script>window.__xss = 1</script>'],
  ['http-403', 403, 'HTTP 403 from the server'],
  ['http-410', 410, 'HTTP 410 from the server'],
  ['http-429', 429, 'HTTP 429 from the server'],
  ['http-503', 503, 'HTTP 503 from the server'],
  ['http-500', 500, 'HTTP 500 from the server'],
  ['timeout', undefined, 'idle timeout after 15 s'],
  ['network', undefined, 'network error: ECONNRESET'],
  ['dns', undefined, 'host not found'],
  ['truncated', 200, 'got 1000 of 5000 bytes'],
  ['not-an-image', 200, 'not an image: sent text/html, 512 bytes'],
  ['too-large', 200, 'over --max-size 1 MB'],
  ['invalid-url', undefined, 'invalid URL "ftp://x": not http(s)'],
  ['too-many-redirects', 302, 'more than 10 redirects'],
  ['redirect-loop', 302, 'redirect loop'],
  ['bad-redirect', 302, 'redirect to file: refused'],
  [undefined, undefined, '<img src=x onerror="window.__xss = 2">'],
]

interface DataSet {
  out: string
  input: ReportInput
  items: ReportItem[]
  samples: HostSample[]
}

/** Image files on disk, a run over them, and that run's report input. */
async function makeRun(out: string, options: { interrupted?: boolean } = {}): Promise<DataSet> {
  const items: ReportItem[] = []
  const names = [
    'lake.png',
    'ridge at dawn.png',
    'a #1 100%.png',
    '<b>bold<i> & "quoted".png',
    'fjord.png',
    'dunes.png',
    'meadow.png',
    'glacier.png',
    'canyon.png',
    'harbour.png',
    'tundra.png',
    'delta.png',
    'estuary.png',
    'plateau.png',
    'lagoon.png',
    'moor.png',
    'steppe.png',
    'atoll.png',
    'cove.png',
    'basin.png',
    'crater.png',
  ]
  for (const [i, name] of names.entries()) {
    const width = 240 + (i % 3) * 40
    const height = 160 + (i % 2) * 40
    const png = scenePng(i + 3, width, height)
    const path = `photos/${name}`
    await mkdir(join(out, 'photos'), { recursive: true })
    await writeFile(join(out, path), png)
    const host = HOSTS[i % 2]
    const item: ReportItem = {
      url: `${host}/img/${encodeURIComponent(name)}?w=${width}`,
      host,
      status: i < 18 ? 'ok' : 'skipped',
      path,
      bytes: png.length,
      format: 'png',
      width,
      height,
      httpStatus: 200,
      attempts: i % 4 === 0 ? 2 : 1,
      ttfb: 40 + i * 7,
      finishedAt: T0 + 800 + i * 1_300 + (i % 3) * 200,
      answers: i % 4 === 0 ? { '429': 1, '200': 1 } : { '200': 1 },
    }
    if (i === 5) {
      // A thumbnail made by the CPU pool: the sheet shows it, the tile links to the file.
      const thumb = 'thumbs/dunes.png'
      await mkdir(join(out, 'thumbs'), { recursive: true })
      await writeFile(join(out, thumb), scenePng(99, 96, 64))
      item.thumb = thumb
    }
    items.push(item)
  }
  for (const [i, [error, httpStatus, message, retryable]] of FAILURES.entries()) {
    const host = HOSTS[i % 3]
    items.push({
      url:
        i === 0 ? `https://user:secret@images.example.com/private.jpg` : `${host}/broken/${i}.jpg?<script>`,
      host,
      status: 'failed',
      httpStatus,
      error,
      message,
      retryable,
      attempts: error === 'http-429' || error === 'http-503' ? 6 : 1,
      ttfb: httpStatus ? 30 + i : undefined,
      finishedAt: T0 + 2_000 + i * 1_000,
      answers: error === 'http-429' ? { '429': 6 } : error === 'http-503' ? { '503': 6 } : undefined,
    })
  }
  if (options.interrupted) {
    items.push({ url: `${HOSTS[0]}/later/1.jpg`, host: HOSTS[0], status: 'pending', attempts: 0 })
    items.push({ url: `${HOSTS[1]}/later/2.jpg`, host: HOSTS[1], status: 'pending', attempts: 1 })
  }
  const endedAt = T0 + 31_400
  const samples: HostSample[] = []
  for (let t = T0; t <= endedAt; t += 1000) {
    const s = (t - T0) / 1000
    samples.push({
      t,
      host: HOSTS[0],
      limit: s < 12 ? 16 : 8,
      inFlight: Math.min(s < 12 ? 16 : 8, 3 + (s % 7)),
    })
    if (s > 4 && s < 25) samples.push({ t, host: HOSTS[1], limit: 16, inFlight: 2 + (s % 3) })
  }
  const input: ReportInput = {
    title: 'photos',
    command: 'imgpull urls.txt -o photos --access-key s3cr3t-key',
    startedAt: T0,
    endedAt,
    interrupted: options.interrupted ?? false,
    items,
    samples,
    attribution: [
      {
        path: 'photos/lake.png',
        photographer: 'Ansel <Adams>',
        profileUrl: 'https://unsplash.com/@ansel?utm_source=imgpull&utm_medium=referral',
        photoUrl: 'https://unsplash.com/photos/lake?utm_source=imgpull&utm_medium=referral',
      },
      {
        path: 'photos/fjord.png',
        photographer: 'Mallory',
        profileUrl: 'javascript:alert(1)',
        photoUrl: 'https://unsplash.com/photos/fjord?utm_source=imgpull&utm_medium=referral',
      },
    ],
  }
  return { out, input, items, samples }
}

let browser: Browser
let root: string

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'imgpull-report-'))
  browser = await launchBrowser()
  console.log(`# report screenshots and pages in ${root}`)
})

after(async () => {
  await browser?.close()
})

/** Open a report from disk and wait for its script to have drawn the lists. */
async function openReport(path: string, viewport?: { width: number; height: number }) {
  const page = await browser.open(viewport)
  await page.emulateMedia({ reducedMotion: 'reduce' })
  const log = watch(page)
  await page.goto(pathToFileURL(path).href)
  await page.waitForSelector('html[data-ready]')
  return { page, log }
}

/** Write the report of these items (a run of 1 s from T0, titled `name`) in its own folder, and open it. */
async function openItemsReport(
  name: string,
  items: ReportItem[],
  over: Partial<ReportInput> = {},
  viewport?: { width: number; height: number },
) {
  const out = join(root, name)
  await mkdir(out, { recursive: true })
  const input: ReportInput = {
    title: name,
    startedAt: T0,
    endedAt: T0 + 1000,
    interrupted: false,
    items,
    samples: [],
    ...over,
  }
  return { out, ...(await openReport(await writeReport(out, input), viewport)) }
}

/** Open a report on a 390 px touch screen (no hover: every caption shown) and wait for its script. */
async function openOnTouchPhone(path: string) {
  const page = await browser.open({ width: 390, height: 844 })
  const cdp = await browser.context.newCDPSession(page)
  await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 5 })
  const log = watch(page)
  await page.goto(pathToFileURL(path).href)
  await page.waitForSelector('html[data-ready]')
  return { page, log }
}

function assertQuiet(log: PageLog) {
  assert.deepEqual(log.errors, [], 'no console errors or warnings')
  const remote = log.requests.filter((url) => !url.startsWith('file:') && !url.startsWith('data:'))
  assert.deepEqual(remote, [], 'no requests other than files')
}

/** What a person sees (rendered text: Playwright's innerText, not the DOM's). */
// biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what is checked
const text = (page: Page, selector: string) => page.locator(selector).first().innerText()
// biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what is checked
const shown = (locator: Locator) => locator.innerText()
/** All the text, also inside closed `<details>`. */
const allText = async (page: Page, selector: string) =>
  (await page.locator(selector).first().textContent()) ?? ''

test('a finished run: figures, contact sheet from disk, failures, hosts, charts, keyboard, no errors', async () => {
  const out = join(root, 'finished')
  const run = await makeRun(out)
  const path = await writeReport(out, run.input)
  assert.equal(path, join(out, 'report.html'))
  const { page, log } = await openReport(path)

  // The summary against the input.
  const s = summarize(run.items, run.input.startedAt, run.input.endedAt)
  assert.equal(s.ok, 18)
  assert.equal(s.skipped, 3)
  assert.equal(s.failed, FAILURES.length)
  const figure = (key: string) =>
    page.locator(`[data-figure="${key}"]`).evaluate((e) => e.firstChild?.textContent)
  assert.equal(await figure('ok'), '18')
  assert.equal(await figure('rate'), short(s.imagesPerSecond))
  assert.equal(
    await text(page, '[data-figure="rate"] small'),
    `${formatBytes(Math.round(s.bytesPerSecond))}/s`,
  )
  assert.equal(await figure('skipped'), '3')
  assert.equal(await figure('failed'), String(FAILURES.length))
  // Counts coloured as what they are; none of a kind (see the all-failed run) in plain ink.
  const colour = (key: string) =>
    page.locator(`[data-figure="${key}"]`).evaluate((e) => getComputedStyle(e).color)
  const ink = await page.locator('body').evaluate((e) => getComputedStyle(e).color)
  assert.notEqual(await colour('failed'), ink)
  assert.notEqual(await colour('ok'), ink)
  assert.notEqual(await colour('failed'), await colour('ok'))
  assert.equal(await figure('wall'), formatDuration(31_400))
  assert.match(await text(page, '[data-figure="ok"] small'), new RegExp(`^${formatBytes(s.bytes)}$`))
  assert.equal(await page.locator('[data-figure="pending"]').count(), 0)
  assert.equal(await page.locator('[data-interrupted]').count(), 0)
  assert.match(await text(page, '.command'), /--access-key \*\*\*$/, 'the key is hidden')
  assert.doesNotMatch(await page.content(), /s3cr3t-key/)

  // The contact sheet: every image, loaded from disk, each linking to its file.
  const tiles = page.locator('.sheet .tile')
  assert.equal(await tiles.count(), 21)
  await page.locator('#images').scrollIntoViewIfNeeded()
  await page.waitForFunction(() =>
    [...document.querySelectorAll<HTMLImageElement>('.sheet img')].every((i) => i.complete),
  )
  const loaded = await page.$$eval('.sheet img', (imgs) =>
    imgs.map((i) => (i as HTMLImageElement).naturalWidth),
  )
  assert.equal(loaded.length, 21)
  assert.ok(
    loaded.every((w) => w > 0),
    `every thumbnail decoded: ${loaded}`,
  )
  const links = await tiles.evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href))
  assert.deepEqual(
    links.map((href) => fileURLToPath(href)),
    run.items.filter((i) => i.path).map((i) => join(out, i.path!)),
    'links reach the files, odd names included',
  )
  const dunes = page.locator('.tile', { hasText: 'dunes.png' })
  assert.equal(
    await dunes.locator('img').evaluate((i) => (i as HTMLImageElement).naturalWidth),
    96,
    'thumb shown',
  )
  const d = run.items[5]
  assert.equal(await shown(dunes), `dunes.png\n${d.width}×${d.height} · ${formatBytes(d.bytes!)} · png`)
  assert.match(await shown(page.locator('.tile', { hasText: 'lake.png' })), /Photo by Ansel <Adams>/)

  // Failures: one group per code, counts, hosts, examples (redacted), the rerun advice.
  const groups = groupFailures(run.items)
  assert.equal(await page.locator('.failure').count(), groups.length)
  for (const g of groups) {
    const block = page.locator(`.failure[data-code="${g.code}"]`)
    assert.equal(
      await shown(block.locator('summary')),
      `${g.code}\n${g.count} failure${g.count === 1 ? '' : 's'} at ${g.hosts.length} host${g.hosts.length === 1 ? '' : 's'}\n${failureKind(g)}`,
    )
    const rows = await block
      .locator('tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [tr.querySelector('th')?.textContent, tr.querySelector('td')?.textContent]),
      )
    assert.deepEqual(
      rows,
      g.hosts.map((h) => [h.host, String(h.count)]),
      g.code,
    )
  }
  assert.match(
    await allText(page, '.failure[data-code="http-404"]'),
    /https:\/\/images\.example\.com\/private\.jpg/,
  )
  assert.doesNotMatch(await page.content(), /secret@/)
  assert.match(await allText(page, '.failure[data-code="http-404"]'), /<script>window.__xss = 1<\/script>/)
  assert.match(await allText(page, '.failure[data-code="unknown"]'), /<img src=x onerror/)
  assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined)
  assert.equal(
    await page.locator('script').count(),
    4,
    'only the page’s own scripts: the data, the URLs, the failures’ stories, the code',
  )
  // What a plain rerun tries again: the same rule as the planner's (retriedOnRerun).
  const transient = FAILURES.filter(([c]) => c !== undefined && retriedOnRerun(c))
  // The input's own (an invalid URL) are not the permanent ones --retry-failed tries.
  const own = FAILURES.filter(([c]) => c !== undefined && INPUT_ERRORS.has(c))
  assert.ok(own.length > 0)
  assert.match(
    await text(page, '[data-figure="rerun"]'),
    new RegExp(
      `tries the ${transient.length} failures with a passing cause .* skips the ${FAILURES.length - transient.length - own.length} permanent failures .* --retry-failed\\. ${own.length} failures? (is|are) the input's own`,
    ),
  )

  // Hosts.
  const hosts = hostTable(run.items)
  const hostRows = await page
    .locator('#host-table tbody tr')
    .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)))
  assert.deepEqual(
    hostRows,
    hosts.map((h) => [
      h.host,
      String(h.requests),
      String(h.ok),
      String(h.skipped),
      String(h.failed),
      String(h.answers429),
      String(h.answers503),
      `${h.ttfbMedian} ms`,
      `${h.ttfbP95} ms`,
    ]),
  )
  assert.ok(hosts[0].answers429 > 0 && hosts.some((h) => h.answers503 > 0), 'the data set has 429s and 503s')

  // Charts: a bar per bin, a vertex per sampled interval.
  const tp = throughput(run.items, run.input.startedAt, run.input.endedAt)
  assert.equal(await page.locator('svg[data-chart="images"] rect.bar').count(), tp.bins.length)
  assert.equal(await page.locator('svg[data-chart="bytes"] rect.bar').count(), tp.bins.length)
  const heights = await page
    .locator('svg[data-chart="images"] rect.bar')
    .evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('height'))))
  assert.deepEqual(
    heights.map((h) => h > 0),
    tp.bins.map((b) => b.images > 0),
    'bars stand where images finished',
  )
  const sampledHosts = busiestSampled(run.samples, 6)
  assert.deepEqual(sampledHosts, [HOSTS[0], HOSTS[1]], 'the data set samples two hosts')
  const conc = concurrency(run.samples, sampledHosts, run.input.startedAt, run.input.endedAt)
  assert.equal(await page.locator('svg[data-chart="concurrency"]').count(), 2)
  for (const series of conc.series) {
    const d = await page
      .locator(`svg[data-chart="concurrency"][data-host="${series.host}"] path.inflight`)
      .getAttribute('d')
    // A vertex per sampled interval; one alone between gaps is a segment (two).
    const alone = series.points.filter((p, i, all) => p && !all[i - 1] && !all[i + 1]).length
    assert.equal(d?.match(/[ML]/g)?.length, series.points.filter((p) => p).length + alone, series.host)
  }

  // Attribution: names as text, only http(s) links.
  assert.equal(await page.locator('#attribution .credits li').count(), 2)
  assert.match(await text(page, '#attribution .credits'), /Photo by Ansel <Adams> on Unsplash/)
  const creditLinks = await page
    .locator('#attribution .credits a')
    .evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href))
  assert.ok(
    creditLinks.every((h) => h.startsWith('https:') || h.startsWith('file:')),
    creditLinks.join(' '),
  )

  // Structure: one h1, the landmarks, tables whose headers say what they head.
  assert.equal(await page.locator('h1').count(), 1)
  for (const landmark of [
    'body > header',
    'header nav[aria-label="Sections"]',
    'main#main',
    'body > footer',
  ]) {
    assert.equal(await page.locator(landmark).count(), 1, landmark)
  }
  assert.equal(await page.locator('main h2').count(), 6)
  assert.equal(await page.locator('th:not([scope])').count(), 0)

  // Keyboard: the skip link comes first, then Tab reaches the images; a focused tile shows its caption.
  await page.evaluate(() => window.scrollTo(0, 0))
  await page.keyboard.press('Tab')
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content')
  await page.keyboard.press('Enter')
  let reached = false
  for (let i = 0; i < 20 && !reached; i++) {
    await page.keyboard.press('Tab')
    reached = await page.evaluate(() => document.activeElement?.classList.contains('tile') ?? false)
  }
  assert.ok(reached, 'Tab reaches the first image')
  assert.equal(
    await page.evaluate(() => getComputedStyle(document.activeElement!.querySelector('.cap')!).opacity),
    '1',
  )
  assert.notEqual(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle), 'none')

  const shot = join(root, 'finished.png')
  await page.screenshot({ path: shot, fullPage: true })
  console.log(`# screenshot: ${shot}`)
  // The top of the page with the first image focused: the README's picture (docs/report.png).
  await page.evaluate(() => window.scrollTo(0, 0))
  await page.screenshot({
    path: join(root, 'top.png'),
    fullPage: true,
    clip: { x: 0, y: 0, width: 1280, height: 1080 },
  })

  // A phone: no horizontal scroll.
  await page.setViewportSize({ width: 375, height: 740 })
  assert.ok(
    await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
    'fits a phone',
  )
  // A failure group's examples (URLs and messages) read across the phone's width, not in the
  // column a host name left them (two letters a line), and its table does not scroll sideways.
  const widths = await page.evaluate(() =>
    Array.from(document.querySelectorAll('.failure[open] .table-wrap')).map((wrap) => ({
      wrap: wrap.clientWidth,
      scroll: wrap.scrollWidth,
      examples: Math.min(
        ...Array.from(wrap.querySelectorAll('ul.examples')).map((ul) => ul.getBoundingClientRect().width),
      ),
    })),
  )
  assert.ok(widths.length > 0)
  for (const w of widths) {
    assert.ok(w.scroll <= w.wrap, `a failure table fits the phone: ${JSON.stringify(w)}`)
    assert.ok(w.examples >= 0.8 * w.wrap, `the examples take the width: ${JSON.stringify(w)}`)
  }
  await page.screenshot({ path: join(root, 'finished-phone.png') })
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor)
  const light = await background()
  await page.emulateMedia({ colorScheme: 'dark', reducedMotion: 'reduce' })
  assert.notEqual(await background(), light, 'a dark scheme follows the system')
  await page.setViewportSize({ width: 1280, height: 900 })
  await page.screenshot({ path: join(root, 'finished-dark.png') })
  // The filter finds a photographer's photos (an Unsplash collection), and says it searches them.
  assert.match(
    (await page.locator('#images .tools label').first().textContent()) ?? '',
    /^Filter by name or photographer /,
  )
  const filter = page.locator('#images input[type=search]')
  await filter.fill('ANSEL')
  assert.deepEqual(await page.locator('.sheet .tile .name').allTextContents(), ['lake.png'])
  await filter.fill('mallory')
  assert.deepEqual(await page.locator('.sheet .tile .name').allTextContents(), ['fjord.png'])
  // Shown large, a name of markup is text too.
  await filter.fill('bold')
  await page.locator('.sheet .tile').first().click()
  assert.equal(await page.locator('#viewer-name').textContent(), '<b>bold<i> & "quoted".png')
  assert.equal(await page.locator('#viewer b, #viewer i, #viewer script').count(), 0)
  await page.keyboard.press('Escape')
  await page.waitForFunction(() => !(document.getElementById('viewer') as HTMLDialogElement).open)
  assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined)
  assertQuiet(log)
  await page.close()
})

test('an interrupted run says so at the top, with what is left', async () => {
  const out = join(root, 'interrupted')
  const run = await makeRun(out, { interrupted: true })
  const { page, log } = await openReport(await writeReport(out, run.input))
  const banner = await text(page, '[data-interrupted]')
  assert.match(banner, /This run was interrupted before its end\. 2 jobs were not finished\./)
  assert.equal(await page.locator('[data-figure="pending"]').evaluate((e) => e.firstChild?.textContent), '2')
  assert.match(
    await text(page, '[data-figure="rerun"]'),
    /^A rerun of the same command tries the 2 jobs not finished yet and the \d+ failures with a passing cause/,
  )
  assert.match(await text(page, '.when'), /interrupted/)
  await page.screenshot({ path: join(root, 'interrupted.png') })
  assertQuiet(log)
  await page.close()
})

test('no image to show (all failed, or only shards): no error, and the credits are still listed', async () => {
  const out = join(root, 'nothing-shown')
  const run = await makeRun(out)
  const input = { ...run.input, items: [...run.input.items].filter((item) => item.status === 'failed') }
  // openReport waits for the script to have finished: a script that threw never gets there.
  const { page, log } = await openReport(await writeReport(out, input))
  assert.match(await text(page, '[data-figure="sheet"]'), /No images in this folder yet\./)
  assert.equal(await page.locator('#attribution [data-list] li').count(), 2)
  // None downloaded is not in the green of a count of downloads (a run with no failure: the same for its 0 failed).
  const colour = (selector: string) => page.locator(selector).evaluate((e) => getComputedStyle(e).color)
  assert.match(await page.locator('[data-figure="ok"]').innerText(), /^0\n/)
  assert.equal(await colour('[data-figure="ok"]'), await colour('body'))
  assert.notEqual(await colour('[data-figure="failed"]'), await colour('body'))
  assertQuiet(log)
  await page.close()
})

test("printed, every failure group is open (a closed one was its summary line alone); the reader's view is put back after", async () => {
  const out = join(root, 'printed')
  const run = await makeRun(out)
  const page = await browser.open()
  // Registered before the page's own listeners: at afterprint it sees the page as it was printed.
  await page.addInitScript(() => {
    window.addEventListener('afterprint', () => {
      const groups = [...document.querySelectorAll<HTMLDetailsElement>('details.failure')]
      document.documentElement.dataset.printedOpen = String(groups.filter((d) => d.open).length)
      document.documentElement.dataset.groups = String(groups.length)
    })
  })
  await page.goto(pathToFileURL(await writeReport(out, run.input)).href)
  await page.waitForSelector('html[data-ready]')
  const closedBefore = await page.locator('details.failure:not([open])').count()
  assert.ok(closedBefore > 0, 'some groups start closed on screen')
  await page.pdf({ path: join(out, 'report.pdf') })
  const printed = await page.evaluate(() => ({ ...document.documentElement.dataset }))
  assert.ok(Number(printed.groups) > 3)
  assert.equal(printed.printedOpen, printed.groups, 'every group printed open')
  assert.equal(await page.locator('details.failure:not([open])').count(), closedBefore, 'closed again after')
  await page.close()
})

/**
 * Every rendered text of the page with its colour as it would stand on white paper (its opacity
 * and its ancestors' applied; backgrounds are not printed) and its contrast there, WCAG 2.2's
 * relative luminance: `[ratio, needed, what]`, needed 3 for large text, 4.5 for the rest.
 */
function inkOnPaper(page: Page) {
  return page.evaluate(() => {
    const found: [number, number, string][] = []
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
    const seen = new Set<Element>()
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement
      if (!el || seen.has(el) || !node.textContent?.trim()) continue
      seen.add(el)
      const box = el.getBoundingClientRect()
      const style = getComputedStyle(el)
      if (!box.width || !box.height || style.visibility === 'hidden') continue
      if (el.closest('.visually-hidden, script, style, noscript')) continue
      let opacity = 1
      for (let e: Element | null = el; e; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity)
      if (opacity === 0) continue
      const [r, g, b, a = 1] = (style.color.match(/[\d.]+/g) ?? []).map(Number)
      // Named functions are not sent to the page (the test's loader adds a helper they call).
      const [lr, lg, lb] = [r, g, b].map((v) => {
        const c = (v * a * opacity + 255 * (1 - a * opacity)) / 255
        return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
      })
      const l = 0.2126 * lr + 0.7152 * lg + 0.0722 * lb
      const size = Number.parseFloat(style.fontSize)
      const large = size >= 24 || (Number(style.fontWeight) >= 700 && size >= 18.66)
      found.push([
        1.05 / (l + 0.05),
        large ? 3 : 4.5,
        `${el.tagName.toLowerCase()}.${el.className} "${node.textContent.trim().slice(0, 30)}" ${style.color}`,
      ])
    }
    return found
  })
}

test("printed from a screen in the dark scheme: ink on white paper at 4.5:1, and every tile's name and figures under its image", async () => {
  const out = join(root, 'printed-dark')
  const run = await makeRun(out)
  const { page, log } = await openReport(await writeReport(out, run.input))
  // Whether the dark scheme still holds while printing is the browser's choice (CSS leaves it to
  // it): emulated, the dark palette's light grey ink and pale blue links stood on white paper, at
  // 1.3:1 to 2.5:1 (in Chromium's PDF of the page too); on screen the names of the tiles are
  // white on a dark band that paper does not get, shown on hover: printed, none had a name.
  await page.emulateMedia({ media: 'print', colorScheme: 'dark', reducedMotion: 'reduce' })
  const texts = await inkOnPaper(page)
  assert.ok(texts.length > 100, `the page's texts: ${texts.length}`)
  const faint = texts.filter(([ratio, needed]) => ratio < needed)
  assert.deepEqual(
    faint.map(([ratio, , what]) => `${ratio.toFixed(2)}:1 ${what}`),
    [],
    'every text legible on paper',
  )
  const tiles = await page.locator('.sheet .tile').evaluateAll((as) =>
    as.map((a) => {
      const image = (a.querySelector('img') ?? a.querySelector('.unseen'))!.getBoundingClientRect()
      const name = a.querySelector('.name')!
      return {
        name: name.textContent,
        opacity: getComputedStyle(a.querySelector('.cap')!).opacity,
        below: name.getBoundingClientRect().top >= image.bottom - 1,
        meta: a.querySelector('.meta')?.textContent ?? '',
      }
    }),
  )
  assert.equal(tiles.length, 21)
  for (const t of tiles) {
    assert.equal(t.opacity, '1', `${t.name}: its caption printed`)
    assert.ok(t.below, `${t.name}: its name under its image, not over it`)
    assert.match(t.meta, /\d+×\d+ · .+B · png/, `${t.name}: its figures printed`)
  }
  await page.screenshot({ path: join(out, 'printed-dark.png'), fullPage: true })
  // The screen keeps its dark scheme.
  await page.emulateMedia({ media: 'screen', colorScheme: 'dark', reducedMotion: 'reduce' })
  assert.notEqual(
    await page.evaluate(() => getComputedStyle(document.body).backgroundColor),
    'rgb(255, 255, 255)',
  )
  assertQuiet(log)
  await page.close()
})

test('a photographer name with a right-to-left override reverses itself only, never "on Unsplash" after it', async () => {
  const out = join(root, 'bidi-credit')
  await mkdir(out, { recursive: true })
  await writeFile(join(out, 'lake.png'), scenePng(3, 64, 48))
  // An Unsplash display name is the user's to choose: shown as it is, U+202E reversed the rest of
  // the line, which read "Photo by Mallory hsalpsnU no Table".
  const input: ReportInput = {
    title: 'bidi',
    startedAt: T0,
    endedAt: T0 + 1000,
    interrupted: false,
    items: [
      {
        url: 'https://images.unsplash.com/lake',
        host: 'https://images.unsplash.com',
        status: 'ok',
        path: 'lake.png',
        attempts: 1,
        finishedAt: T0 + 500,
      },
    ],
    samples: [],
    attribution: [
      {
        path: 'lake.png',
        photographer: 'Mallory \u202eelbaT',
        profileUrl: 'https://unsplash.com/@mallory',
        photoUrl: 'https://unsplash.com/photos/lake',
      },
    ],
  }
  const { page, log } = await openReport(await writeReport(out, input))
  const credit = page.locator('#attribution .credits li').first()
  const box = (link: Locator) => link.evaluate((e) => e.getBoundingClientRect().toJSON() as DOMRect)
  const name = await box(credit.locator('a').nth(0))
  const unsplash = await box(credit.locator('a').nth(1))
  assert.equal(await credit.locator('a').nth(1).textContent(), 'Unsplash')
  assert.ok(
    unsplash.top > name.top || unsplash.left >= name.right,
    `"on Unsplash" comes after the whole name: name ${name.left}–${name.right}, Unsplash at ${unsplash.left}`,
  )
  // The tile's "Photo by NAME" holds the name apart the same way.
  assert.equal(await page.locator('.sheet .by bdi').getAttribute('dir'), 'auto')
  assertQuiet(log)
  await page.close()
})

test('a tile the browser cannot show says so above its caption, on a phone too; a size never leaves its unit', async () => {
  const out = join(root, 'unseen')
  await mkdir(out, { recursive: true })
  // What a run keeps that Chromium does not draw: a TIFF, a HEIC, a JPEG 2000 (bytes it cannot
  // decode), and a file moved away since; beside them images it draws. The figures are those of
  // a 20,000-file run whose phone tiles read '1.2' on one line and 'kB' on the next.
  const unseen = ['scan.tif', 'phone.heic', 'map.jp2', 'moved.png']
  const figures: [width: number, height: number, bytes: number][] = [
    [462, 2607, 1_200],
    [1824, 1348, 343],
    [591, 2440, 1_200],
    [3959, 2761, 883],
    [1415, 2183, 513],
    [2718, 466, 1_100],
    [238, 2716, 1_200],
    [3377, 2573, 1_300],
  ]
  const items: ReportItem[] = []
  const add = (path: string, i: number) => {
    const [width, height, bytes] = figures[i % figures.length]
    items.push({
      url: `https://images.example.com/${path}`,
      host: 'https://images.example.com',
      status: 'ok',
      path,
      bytes,
      width,
      height,
      format: path.slice(path.lastIndexOf('.') + 1),
      attempts: 1,
      finishedAt: T0 + 100 + i,
    })
  }
  for (const [i, name] of unseen.entries()) {
    if (name !== 'moved.png') await writeFile(join(out, name), Buffer.from(`not an image ${i}`.repeat(40)))
    add(name, i)
  }
  for (let i = 0; i < 8; i++) {
    await writeFile(join(out, `img${i}.png`), scenePng(i, 64, 48))
    add(`img${i}.png`, i + unseen.length)
  }
  const input: ReportInput = {
    title: 'unseen',
    startedAt: T0,
    endedAt: T0 + 1000,
    interrupted: false,
    items,
    samples: [],
  }
  const path = await writeReport(out, input)
  for (const viewport of [
    { width: 390, height: 844 },
    { width: 320, height: 640 },
    { width: 1280, height: 900 },
  ]) {
    const { page } = await openReport(path, viewport)
    await page.waitForFunction((n) => document.querySelectorAll('.tile.missing').length === n, unseen.length)
    const tiles = await page.evaluate(() =>
      Array.from(document.querySelectorAll('.tile.missing')).map((tile) => {
        const note = tile.querySelector('.unseen')
        // The caption's first line of text: its name.
        const name = tile.querySelector('.cap .name')
        return {
          name: name?.textContent,
          tile: tile.getBoundingClientRect().toJSON() as DOMRect,
          note: note?.getBoundingClientRect().toJSON() as DOMRect | undefined,
          text: note?.textContent,
          caption: name?.getBoundingClientRect().toJSON() as DOMRect | undefined,
          captionShown: getComputedStyle(tile.querySelector('.cap')!).opacity,
        }
      }),
    )
    assert.deepEqual(tiles.map((t) => t.name).sort(), [...unseen].sort())
    for (const t of tiles) {
      const at = `${t.name} at ${viewport.width} px: ${JSON.stringify(t)}`
      assert.equal(t.text, 'not viewable here', at)
      assert.equal(t.captionShown, '1', at)
      assert.ok(t.note && t.caption && t.tile, at)
      // Whole, inside its tile, above the caption's text (not under it), and centred.
      assert.ok(
        t.note.top >= t.tile.top && t.note.bottom <= t.caption.top,
        `the note is above the caption: ${at}`,
      )
      assert.ok(t.note.left >= t.tile.left - 0.5 && t.note.right <= t.tile.right + 0.5, at)
    }
    // Every size in the captions ('343 B', '1.2 kB') is on one line.
    const split = await page.evaluate(() => {
      const broken: string[] = []
      for (const meta of document.querySelectorAll('.tile .cap .meta')) {
        const walk = document.createTreeWalker(meta, NodeFilter.SHOW_TEXT)
        for (let node = walk.nextNode(); node; node = walk.nextNode()) {
          for (const m of (node.textContent ?? '').matchAll(/\d+(?:\.\d)?\s(?:B|kB|MB|GB)/g)) {
            const range = document.createRange()
            range.setStart(node, m.index ?? 0)
            range.setEnd(node, (m.index ?? 0) + m[0].length)
            const lines = new Set(Array.from(range.getClientRects()).map((r) => Math.round(r.top)))
            if (lines.size > 1) broken.push(`${meta.textContent} (${m[0]})`)
          }
        }
      }
      return broken
    })
    assert.deepEqual(split, [], `sizes split over two lines at ${viewport.width} px`)
    await page.screenshot({ path: join(root, `unseen-${viewport.width}.png`) })
    await page.close()
  }
})

/** The worst contrast (WCAG) of text of colour `ink` (white unless given) over each pixel of each box, in a screenshot of `clip`. */
async function textContrast(
  png: Buffer,
  clip: DOMRect,
  boxes: DOMRect[],
  ink: [number, number, number] = [255, 255, 255],
): Promise<number[]> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true })
  const lin = (c: number) => (c / 255 <= 0.04045 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4)
  const luminance = (r: number, g: number, b: number) => 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
  const text = luminance(...ink)
  return boxes.map((box) => {
    let worst = Number.POSITIVE_INFINITY
    const top = Math.max(0, Math.round(box.top - clip.top))
    const bottom = Math.min(info.height, Math.round(box.bottom - clip.top))
    const left = Math.max(0, Math.round(box.left - clip.left))
    const right = Math.min(info.width, Math.round(box.right - clip.left))
    for (let y = top; y < bottom; y++) {
      for (let x = left; x < right; x++) {
        const i = (y * info.width + x) * info.channels
        const l = luminance(data[i], data[i + 1], data[i + 2])
        worst = Math.min(worst, (Math.max(l, text) + 0.05) / (Math.min(l, text) + 0.05))
      }
    }
    return worst
  })
}

test('a caption is legible on a white photo (a product shot, snow): its text at 4.5:1 at least, hovered with a mouse and always shown on a phone', async () => {
  const out = join(root, 'white')
  await mkdir(out, { recursive: true })
  // Product shots on white, as a shop's catalogue is: the caption's white text lay over a
  // gradient that began transparent, its name line at 1.6:1 on them.
  const white = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ffffff' } })
    .png()
    .toBuffer()
  const items: ReportItem[] = []
  for (let i = 0; i < 4; i++) {
    const path = `product-${i}.png`
    await writeFile(join(out, path), white)
    items.push({
      url: `https://shop.example.com/${path}`,
      host: 'https://shop.example.com',
      status: 'ok',
      path,
      bytes: 48_213,
      width: 2000,
      height: 2000,
      format: 'png',
      attempts: 1,
      finishedAt: T0 + 100 + i,
    })
  }
  const input: ReportInput = {
    title: 'white',
    startedAt: T0,
    endedAt: T0 + 1000,
    interrupted: false,
    items,
    samples: [],
  }
  const path = await writeReport(out, input)
  for (const touch of [false, true]) {
    const viewport = touch ? { width: 390, height: 844 } : { width: 1280, height: 900 }
    const page = await browser.open(viewport)
    await page.emulateMedia({ reducedMotion: 'reduce' })
    if (touch) {
      const cdp = await browser.context.newCDPSession(page)
      await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 5 })
    }
    await page.goto(pathToFileURL(path).href)
    await page.waitForSelector('html[data-ready]')
    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll<HTMLImageElement>('.tile img')).every(
        (i) => i.complete && i.naturalWidth > 0,
      ),
    )
    const tile = page.locator('.tile').first()
    if (!touch) await tile.hover()
    assert.equal(await tile.locator('.cap').evaluate((e) => getComputedStyle(e).opacity), '1')
    // Each line of the caption (its name, its figures), then the same tile with the text taken
    // away: what is under each line is what its white letters are read against.
    const { clip, lines, ink } = await tile.evaluate((a) => {
      const cap = a.querySelector<HTMLElement>('.cap')!
      const lines = [cap.querySelector('.name')!, ...cap.querySelectorAll('.meta > span')].map(
        (e) => e.getBoundingClientRect().toJSON() as DOMRect,
      )
      const ink = getComputedStyle(cap).color.match(/\d+/g)!.slice(0, 3).map(Number)
      cap.style.color = 'transparent'
      return { clip: a.getBoundingClientRect().toJSON() as DOMRect, lines, ink }
    })
    const png = await page.screenshot({
      clip: { x: clip.left, y: clip.top, width: clip.width, height: clip.height },
    })
    const ratios = await textContrast(png, clip, lines, ink as [number, number, number])
    for (const [i, ratio] of ratios.entries()) {
      assert.ok(
        ratio >= 4.5,
        `caption line ${i} at ${viewport.width} px${touch ? ' (touch)' : ''}: ${ratio.toFixed(2)}:1`,
      )
    }
    await page.close()
  }
})

/** `count` small PNGs written in `out` (`PREFIX0.png`...), each ok from one host: a report's input titled `title`. */
async function sheetOf(out: string, count: number, prefix: string, title: string): Promise<ReportInput> {
  await mkdir(out, { recursive: true })
  const items: ReportItem[] = []
  for (let i = 0; i < count; i++) {
    const path = `${prefix}${i}.png`
    await writeFile(join(out, path), scenePng(i, 64, 48))
    items.push({
      url: `https://images.example.com/${path}`,
      host: 'https://images.example.com',
      status: 'ok',
      path,
      bytes: 2_048,
      width: 64,
      height: 48,
      format: 'png',
      attempts: 1,
      finishedAt: T0 + 100 + i,
    })
  }
  return { title, startedAt: T0, endedAt: T0 + 1000, interrupted: false, items, samples: [] }
}

test('a logo on a transparent ground shows, black or white, in a tile of either scheme and in the viewer: a black one was an empty dark square there', async () => {
  // As immich-app/immich#26091 (#17757) and ModuleArt/quick-picture-viewer#163: black on
  // transparent, a logo or an icon, lay on the viewer's near-black and a dark tile at 1.1:1, and a
  // white one on a light tile at 1.2:1; what a shop's or a brand's run fetches looked blank.
  const out = join(root, 'transparent')
  await mkdir(out, { recursive: true })
  const disc = (ink: string) =>
    sharp(
      Buffer.from(
        `<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96"><circle cx="48" cy="48" r="30" fill="${ink}"/></svg>`,
      ),
    )
      .png()
      .toBuffer()
  const items: ReportItem[] = []
  for (const ink of ['black', 'white']) {
    await writeFile(join(out, `${ink}.png`), await disc(ink))
    items.push({
      url: `https://brand.example/${ink}.png`,
      host: 'https://brand.example',
      status: 'ok',
      path: `${ink}.png`,
      bytes: 900,
      width: 96,
      height: 96,
      format: 'png',
      attempts: 1,
      finishedAt: T0 + 1,
    })
  }
  const path = await writeReport(out, {
    title: 'logos',
    startedAt: T0,
    endedAt: T0 + 1000,
    interrupted: false,
    items,
    samples: [],
  })
  const lin = (c: number) => (c / 255 <= 0.04045 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4)
  // The disc's middle against its ground at each corner's inside, the least of the four.
  const shown = async (page: Page, image: Locator) => {
    const box = (await image.boundingBox())!
    const { data, info } = await sharp(await page.screenshot({ clip: box }))
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true })
    const at = (fx: number, fy: number) => {
      const i =
        (Math.round(fy * (info.height - 1)) * info.width + Math.round(fx * (info.width - 1))) * info.channels
      return 0.2126 * lin(data[i]) + 0.7152 * lin(data[i + 1]) + 0.0722 * lin(data[i + 2])
    }
    const ink = at(0.5, 0.5)
    const grounds = [at(0.1, 0.1), at(0.9, 0.1), at(0.1, 0.9), at(0.9, 0.9)]
    return Math.min(...grounds.map((g) => (Math.max(g, ink) + 0.05) / (Math.min(g, ink) + 0.05)))
  }
  for (const scheme of ['light', 'dark'] as const) {
    const page = await browser.open()
    await page.emulateMedia({ colorScheme: scheme, reducedMotion: 'reduce' })
    const log = watch(page)
    await page.goto(pathToFileURL(path).href)
    await page.waitForSelector('html[data-ready]')
    for (const ink of ['black', 'white']) {
      const tile = page.locator(`.sheet .tile[title="${ink}.png"]`)
      const image = tile.locator('img')
      await image.evaluate((img: HTMLImageElement) => img.decode())
      const inTile = await shown(page, image)
      assert.ok(inTile >= 1.5, `${ink} on a ${scheme} tile: ${inTile.toFixed(2)}:1`)
      await tile.click()
      const large = page.locator('#viewer [data-viewer-stage] img')
      await large.evaluate((img: HTMLImageElement) => img.decode())
      const inViewer = await shown(page, large)
      assert.ok(inViewer >= 1.5, `${ink} in the viewer (${scheme}): ${inViewer.toFixed(2)}:1`)
      await page.keyboard.press('Escape')
      await closed(page)
    }
    assertQuiet(log)
    await page.close()
  }
})

test('a page of the contact sheet fills every row, from a 320 px phone to a wide screen: 2, 3, 4, 6 or 8 columns', async () => {
  const out = join(root, 'rows')
  const input = await sheetOf(out, 60, 'img', 'rows')
  const { page, log } = await openReport(await writeReport(out, input))
  // As many columns as fitted was 5 at 768 px and 7 at 1280: every page of 48 ended
  // on a short row and a hole.
  for (const width of [
    320, 359, 360, 375, 390, 414, 439, 440, 500, 550, 600, 719, 720, 768, 900, 999, 1000, 1024, 1280, 1440,
    1920,
  ]) {
    await page.setViewportSize({ width, height: 900 })
    const sheet = await page.evaluate(() => {
      const tiles = Array.from(document.querySelectorAll('.sheet .tile'), (t) => t.getBoundingClientRect())
      const rows = new Map<number, number>()
      for (const r of tiles) rows.set(Math.round(r.top), (rows.get(Math.round(r.top)) ?? 0) + 1)
      return {
        rows: [...rows.values()],
        narrowest: Math.min(...tiles.map((r) => r.width)),
        square: tiles.every((r) => Math.abs(r.width - r.height) < 1),
        fits: document.documentElement.scrollWidth <= window.innerWidth,
      }
    })
    const at = `${width} px: rows of ${sheet.rows.join(', ')}`
    assert.equal(
      sheet.rows.reduce((a, b) => a + b, 0),
      SHEET_PAGE_SIZE,
      at,
    )
    assert.ok(
      sheet.rows.every((count) => count === sheet.rows[0]),
      at,
    )
    assert.ok([2, 3, 4, 6, 8].includes(sheet.rows[0]), at)
    assert.ok(sheet.narrowest >= 90, `${at}: tiles of ${sheet.narrowest} px`)
    assert.ok(sheet.square && sheet.fits, at)
  }
  assertQuiet(log)
  await page.close()
})

test("a failure's example says its URL once: its message says 'this URL' where it quoted the address shown above it", async () => {
  const out = join(root, 'quoted')
  await mkdir(out, { recursive: true })
  const host = 'http://127.0.0.1:8144'
  // The engine's own messages, each quoting the URL it failed on: under that URL, on a phone,
  // an example was four lines of the same address twice.
  const failed: [code: string, path: string, message: (url: string) => string][] = [
    ['http-404', '/404/gone-202.png', (u) => `HTTP 404 from ${u}`],
    [
      'network',
      '/cut/p322.jpg',
      (u) => `network error on ${u}: the server closed the connection (UND_ERR_SOCKET)`,
    ],
    ['timeout', '/slow/stall.jpg', (u) => `idle timeout after 3 s on ${u}: the body stopped after 2 bytes`],
    ['not-an-image', '/html/p1', (u) => `not an image: ${u} sent text/html, 920 bytes`],
    // Another URL that begins with this one is not this one.
    ['bad-redirect', '/a', (u) => `redirect from ${u} to ${u}.html: not an image address`],
  ]
  const items: ReportItem[] = failed.map(([error, path, message], i) => ({
    url: `${host}${path}`,
    host,
    status: 'failed',
    error,
    message: message(`${host}${path}`),
    attempts: 1,
    finishedAt: T0 + 100 + i,
  }))
  const input: ReportInput = {
    title: 'quoted',
    startedAt: T0,
    endedAt: T0 + 1000,
    interrupted: false,
    items,
    samples: [],
  }
  const { page, log } = await openReport(await writeReport(out, input), { width: 375, height: 800 })
  await page.evaluate(() => {
    for (const d of document.querySelectorAll('details')) d.open = true
  })
  const shownExamples = await page.evaluate(() =>
    Array.from(document.querySelectorAll('.failure .examples li'), (li) => ({
      url: li.querySelector('code')?.textContent,
      message: li.querySelector('.msg')?.textContent,
    })),
  )
  assert.deepEqual(
    shownExamples.sort((a, b) => String(a.url).localeCompare(String(b.url))),
    [
      { url: `${host}/404/gone-202.png`, message: 'HTTP 404 from this URL' },
      { url: `${host}/a`, message: `redirect from this URL to ${host}/a.html: not an image address` },
      {
        url: `${host}/cut/p322.jpg`,
        message: 'network error on this URL: the server closed the connection (UND_ERR_SOCKET)',
      },
      { url: `${host}/html/p1`, message: 'not an image: this URL sent text/html, 920 bytes' },
      {
        url: `${host}/slow/stall.jpg`,
        message: 'idle timeout after 3 s on this URL: the body stopped after 2 bytes',
      },
    ],
  )
  assertQuiet(log)
  await page.close()
})

test('on a phone the hosts table shows every figure of every host, each named, and its note whole: nothing out of sight in its box', async () => {
  const out = join(root, 'hosts-phone')
  const run = await makeRun(out)
  const path = await writeReport(out, run.input)
  for (const width of [320, 375, 414]) {
    const { page, log } = await openReport(path, { width, height: 800 })
    const seen = await page.evaluate(() => {
      const table = document.getElementById('host-table')!
      const box = table.closest('.table-wrap')!
      const edge = box.getBoundingClientRect()
      // Not a named function: tsx would wrap it in a __name() the page does not have.
      const [inside] = [
        (e: Element) => {
          const r = e.getBoundingClientRect()
          return r.width > 0 && r.left >= edge.left - 0.5 && r.right <= edge.right + 0.5
        },
      ]
      const note = box.previousElementSibling!
      return {
        scrolls: box.scrollWidth > box.clientWidth,
        // Every figure of the first host, as read: 'Failed 2', not a bare '2' under no head.
        figures: Array.from(table.querySelectorAll('tbody tr:first-child td'), (td) => ({
          // The name drawn before it (generated content, which innerText leaves out).
          label: getComputedStyle(td, '::before').content === 'none' ? '' : (td as HTMLElement).dataset.label,
          inside: inside(td),
        })),
        heads: Array.from(table.querySelectorAll('thead th:not(.host)'), (th) => th.textContent),
        hidden: Array.from(table.querySelectorAll('tbody th, tbody td')).filter((e) => !inside(e)).length,
        note: { text: note.textContent, inside: note.getBoundingClientRect().right <= edge.right + 0.5 },
      }
    })
    const at = `${width} px: ${JSON.stringify(seen)}`
    assert.equal(seen.scrolls, false, at)
    assert.equal(seen.hidden, 0, at)
    assert.deepEqual(
      seen.figures.map((f) => f.label),
      seen.heads,
      at,
    )
    assert.ok(seen.heads.includes('Failed'), at)
    assert.ok(seen.note.inside && seen.note.text?.endsWith("each job's last attempt."), at)
    assertQuiet(log)
    await page.close()
  }
})

test("a name too long for its tile, cut by the caption's ellipsis, is whole on hover", async () => {
  const out = join(root, 'long-names')
  const input = await sheetOf(out, 2, 'short', 'long-names')
  // A name of 200 characters without a break, as a CDN's hashed names are: the caption showed its
  // first letters and an ellipsis, and nothing on the page gave the rest.
  const long = `${'a1b2c3d4e5'.repeat(20)}.png`
  await writeFile(join(out, long), scenePng(7, 64, 48))
  const items = [...(input.items as ReportItem[])]
  items.push({ ...items[0], url: `https://images.example.com/${long}`, path: long })
  const { page, log } = await openReport(await writeReport(out, { ...input, items }))
  const tile = page.locator('.tile', { hasText: 'a1b2c3' })
  await tile.hover()
  const name = await tile.locator('.name').evaluate((e) => ({ cut: e.scrollWidth > e.clientWidth }))
  assert.ok(name.cut, 'the caption cuts the name')
  assert.equal(await tile.getAttribute('title'), long)
  assert.equal(await page.locator('.tile', { hasText: 'short0.png' }).getAttribute('title'), 'short0.png')
  assertQuiet(log)
  await page.close()
})

test("the filter's box stands out from the page at 3:1, light and dark: its border is all that shows it", async () => {
  const out = join(root, 'filter-box')
  const { page, log } = await openReport(await writeReport(out, await sheetOf(out, 3, 'img', 'filter-box')))
  // WCAG 2.2's 1.4.11: what identifies a control needs 3:1 against what is next to it. The box was
  // white on the page's off-white, its border the rules' pale grey: 1.2:1 in light, 1.4:1 in dark.
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme, reducedMotion: 'reduce' })
    const [border, around] = await page.locator('input[type=search]').evaluate((input) => {
      let e: Element | null = input.parentElement
      while (e && getComputedStyle(e).backgroundColor === 'rgba(0, 0, 0, 0)') e = e.parentElement
      return [getComputedStyle(input).borderTopColor, getComputedStyle(e ?? document.body).backgroundColor]
    })
    const luminance = (css: string) => {
      const [lr, lg, lb] = (css.match(/[\d.]+/g) ?? []).slice(0, 3).map((v) => {
        const c = Number(v) / 255
        return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
      })
      return 0.2126 * lr + 0.7152 * lg + 0.0722 * lb
    }
    const [a, b] = [luminance(border), luminance(around)].sort((x, y) => y - x)
    const ratio = (a + 0.05) / (b + 0.05)
    assert.ok(ratio >= 3, `${colorScheme}: the border ${border} on ${around} at ${ratio.toFixed(2)}:1`)
  }
  assertQuiet(log)
  await page.close()
})

test('a host name of 250 characters breaks after its dots: the failure and host tables fit their boxes, the examples read across', async () => {
  const out = join(root, 'long-host')
  await mkdir(out, { recursive: true })
  // Four labels of 63 letters, as long as DNS allows. Kept on one line, it made the failure table
  // 2,830 px wide in its 1,044 px box and its examples one letter a line; the host table scrolled.
  const host = `https://${['a', 'b', 'c', 'd'].map((l) => l.repeat(63)).join('.')}.com`
  const items: ReportItem[] = [0, 1, 2].map((i) => ({
    url: `${host}/img/${i}.jpg`,
    host,
    status: 'failed',
    error: 'http-404',
    httpStatus: 404,
    message: `HTTP 404 from ${host}/img/${i}.jpg`,
    attempts: 1,
    finishedAt: T0 + i,
  }))
  items.push({ ...items[0], url: 'https://short.example.com/x.jpg', host: 'https://short.example.com' })
  const input: ReportInput = {
    title: 'long-host',
    startedAt: T0,
    endedAt: T0 + 1000,
    interrupted: false,
    items,
    samples: [],
  }
  const { page, log } = await openReport(await writeReport(out, input))
  const boxes = await page
    .locator('.table-wrap')
    .evaluateAll((wraps) =>
      wraps.map((w) => ({ id: w.querySelector('table')?.id, box: w.clientWidth, table: w.scrollWidth })),
    )
  for (const b of boxes) assert.ok(b.table <= b.box, `a table fits its box: ${JSON.stringify(b)}`)
  const [examples, wrap] = await page
    .locator('.failure .table-wrap')
    .evaluate((w) => [w.querySelector('ul.examples')!.getBoundingClientRect().width, w.clientWidth])
  assert.ok(examples >= wrap / 3, `the examples take a third of the table at least: ${examples} of ${wrap}`)
  // A host of everyday length stays on one line.
  const short = page.locator('#host-table th.host', { hasText: 'short.example.com' })
  assert.equal((await short.evaluate((e) => e.getClientRects().length)) > 0, true)
  assert.ok((await short.evaluate((e) => e.getBoundingClientRect().height)) < 40, 'one line')
  await page.screenshot({ path: join(out, 'long-host.png'), fullPage: true })
  assertQuiet(log)
  await page.close()
})

test('hosts of the same figures are one line of the host table, and of the same failures one of the failures by host, which opens to their names: 55 dead hosts were 55 rows saying the same', async () => {
  // An ML run's list: two hosts serve, 55 domains are gone (each tried once, failed, no byte heard).
  // The table listed 55 identical rows under the two, as thomhurst/TUnit#5484's summary listed 12
  // tests failed alike as 12 rows; one line now says how many, its figures each one's.
  const dead = Array.from({ length: 55 }, (_, i) => `https://gone${i + 1}.example`)
  const items: ReportItem[] = [
    ...dead.map(
      (host, i): ReportItem => ({
        url: `${host}/${i}.jpg`,
        host,
        status: 'failed',
        error: 'dns',
        message: 'the host name was not found',
        attempts: 1,
        finishedAt: T0 + i,
      }),
    ),
    ...[0, 1, 2, 3].map(
      (i): ReportItem => ({
        url: `https://cdn${i % 2}.example/${i}.jpg`,
        host: `https://cdn${i % 2}.example`,
        status: 'ok',
        attempts: 1,
        ttfb: 30 + i,
        finishedAt: T0 + 100 + i,
      }),
    ),
  ]
  const { page, log } = await openItemsReport('dead-hosts', items)
  const rows = () =>
    page
      .locator('#host-table tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [
          (tr.querySelector('th summary') ?? tr.querySelector('th'))?.textContent,
          ...Array.from(tr.querySelectorAll('td'), (td) => td.textContent),
        ]),
      )
  assert.deepEqual(await rows(), [
    ['https://cdn0.example', '2', '2', '0', '0', '0', '30 ms', '32 ms'],
    ['https://cdn1.example', '2', '2', '0', '0', '0', '31 ms', '33 ms'],
    ['55 hosts with the same figures', '1', '0', '1', '0', '0', '–', '–'],
  ])
  const names = page.locator('#host-table th.alike li')
  assert.equal(await names.first().isVisible(), false, 'the names closed until asked for')
  await page.locator('#host-table th.alike summary').click()
  assert.deepEqual(await names.allInnerTexts(), dead, 'every name, in natural order')
  // So in the failures by host: the 20 with the most failures, all alike, are one line, and the
  // line of the others says what they failed of, where it said only how many.
  const byHost = await page
    .locator('[data-figure="by-host"] tr')
    .evaluateAll((trs) =>
      trs.map((tr) => Array.from(tr.children, (c) => (c.querySelector('summary') ?? c).textContent)),
    )
  assert.deepEqual(byHost.slice(1), [
    ['20 hosts with the same failures', '1', 'dns ×1'],
    ['35 more hosts', '35', 'dns ×35'],
  ])
  // Printed, the list is open, as every failure group is.
  await page.locator('#host-table th.alike summary').click()
  await page.emulateMedia({ media: 'print' })
  await page.evaluate(() => window.dispatchEvent(new Event('beforeprint')))
  assert.equal(await names.last().isVisible(), true)
  assertQuiet(log)
  await page.close()
})

test('printed on A4, the hosts table keeps every column on the paper, and no button that does nothing there is printed', async () => {
  // On screen a wide table scrolls in its box; on paper the box cannot scroll, and the host table of
  // an ML run (ten columns, already there and not finished among them) lost its two TTFB columns at
  // the edge of the page, as docmost/docmost#1801 and mdn/fred#1186 report of tables in a scroll box
  // printed; the details and copy buttons were printed beside the examples and commands.
  // Hosts as long as one kept on one line (40 characters, the scheme with them).
  const hosts = [0, 1, 2].map((i) => `https://img${i}.static-eu-west1.cdnhost.com`)
  assert.ok(hosts.every((h) => h.length === 40))
  const items: ReportItem[] = hosts.flatMap((host, i) => [
    {
      url: `${host}/a.jpg`,
      host,
      status: 'ok',
      attempts: 3,
      ttfb: 1234 + i,
      answers: { '429': 1, '503': 1, '200': 1 },
      finishedAt: T0 + 10,
    },
    { url: `${host}/b.jpg`, host, status: 'skipped', attempts: 1, finishedAt: T0 + 20 },
    { url: `${host}/c.jpg`, host, status: 'pending', attempts: 0 },
    {
      url: `${host}/d.jpg`,
      host,
      status: 'failed',
      error: 'http-404',
      httpStatus: 404,
      attempts: 1,
      finishedAt: T0 + 30,
    },
  ])
  // A4's width less Chromium's default print margins, in CSS pixels (210 mm at 96 dpi, 0.4 in a side).
  const { page, log } = await openItemsReport(
    'print-hosts',
    items,
    { interrupted: true, command: 'imgpull list.txt -o print-hosts' },
    { width: 718, height: 1000 },
  )
  await page.emulateMedia({ media: 'print' })
  assert.equal(
    await page.locator('#host-table thead th').count(),
    10,
    'every column: already there and not finished too',
  )
  const cut = await page.locator('.table-wrap').evaluateAll((wraps) =>
    wraps
      .map((w) => ({
        label: w.getAttribute('aria-label'),
        box: w.getBoundingClientRect().right,
        table: w.querySelector('table')!.getBoundingClientRect().right,
      }))
      .filter((w) => w.table > w.box + 0.5),
  )
  assert.deepEqual(cut, [], 'no table runs past its box on paper')
  assert.equal(await page.locator('button:visible').count(), 0, 'no button on paper')
  assert.ok((await page.locator('.why').count()) > 0, 'the details and copy buttons are there on screen')
  await page.emulateMedia({ media: 'screen' })
  assert.equal(await page.locator('.why').first().isVisible(), true)
  assertQuiet(log)
  await page.close()
})

test("a long output folder's or queue's name in the rerun advice wraps on a phone: kept on one line, it widened the page to 575 px", async () => {
  // As Hazyzh/jest-html-reporters#250 (a long test file path pushed the table past the screen) and
  // dokuwiki/dokuwiki#3484: the rerun box kept its code on one line (so `--retry-failed` is never
  // cut at its hyphen), and a folder named as datasets are, or a queue so named, made a 360 px phone
  // scroll sideways to read every line of the page.
  const name = 'laion-aesthetics-6plus-2024-05-17-part-00042-resized-512px-webp'
  const out = join(root, name)
  await mkdir(out, { recursive: true })
  const failed = (i: number): ReportItem => ({
    url: `https://h.example/${i}.jpg`,
    host: 'https://h.example',
    status: 'failed',
    error: i ? 'timeout' : 'http-404',
    attempts: 1,
    finishedAt: T0 + i,
  })
  const input: ReportInput = {
    title: name,
    command: `imgpull urls.txt -o ${name}`,
    folder: name,
    startedAt: T0,
    endedAt: T0 + 1000,
    interrupted: false,
    items: [failed(0), failed(1)],
    samples: [],
  }
  const queue = { name, shards: 2, published: 2, running: 0, stopped: 0, notStarted: 0 }
  for (const page of [input, { ...input, queue }]) {
    const { page: tab, log } = await openReport(await writeReport(out, page), { width: 360, height: 740 })
    const [scroll, client] = await tab.evaluate(() => [
      document.documentElement.scrollWidth,
      document.documentElement.clientWidth,
    ])
    assert.ok(
      scroll <= client,
      `the page fits the phone${page.queue ? ' (a queue)' : ''}: ${scroll} px in ${client}`,
    )
    const words = await allText(tab, '.rerun')
    assert.ok(words.includes(name), 'the name whole in the advice')
    // A short one is never cut at its hyphen.
    const flag = tab.locator('.rerun code', { hasText: /^--retry-failed$/ })
    assert.equal(await flag.evaluate((e) => e.getClientRects().length), 1, '--retry-failed on one line')
    assertQuiet(log)
    await tab.close()
  }
})

test('a filter that finds nothing says so, in a sheet of one page too; a result of one page has no Previous and Next', async () => {
  for (const count of [15, 60]) {
    const out = join(root, `filter-${count}`)
    const input = await sheetOf(out, count, 'photo', 'filter')
    const { page, log } = await openReport(await writeReport(out, input), { width: 375, height: 800 })
    const pager = async () => ({
      status: (await page.locator('#images [data-status]').isVisible())
        ? await text(page, '#images [data-status]')
        : undefined,
      buttons: await page.locator('#images [data-pager] button:visible').count(),
    })
    // An article's 15 photos: no pager. A filter that found nothing left an empty space.
    assert.deepEqual(
      await pager(),
      count > SHEET_PAGE_SIZE
        ? { status: '1–48 of 60 · page 1 of 2', buttons: 2 }
        : { status: undefined, buttons: 0 },
    )
    await page.locator('#images input[type=search]').fill('sunset')
    assert.equal(await page.locator('.sheet .tile').count(), 0)
    assert.deepEqual(await pager(), { status: 'No images match.', buttons: 0 }, `${count} images`)
    await page.locator('#images input[type=search]').fill('photo1')
    // photo1 and photo10 to photo14 (or photo19).
    assert.equal(await page.locator('.sheet .tile').count(), count > SHEET_PAGE_SIZE ? 11 : 6)
    assert.deepEqual(
      await pager(),
      count > SHEET_PAGE_SIZE
        ? { status: '1–11 of 11 · page 1 of 1', buttons: 0 }
        : { status: undefined, buttons: 0 },
      `${count} images`,
    )
    assertQuiet(log)
    await page.close()
  }
})

test('an address whose fragment is no valid percent-encoding (report.html#100%) opens the page whole: a URIError stopped its script, no tile drawn', async () => {
  // As ampproject/amphtml#10203 and MithrilJS/mithril.js#2060: a link cut by hand or by a chat
  // app after a `%` made decodeURIComponent of the fragment throw as the page opened.
  const out = join(root, 'bad-fragment')
  const input = await sheetOf(out, 15, 'photo', 'fragment')
  const failed: ReportItem = {
    url: 'https://h.example/gone.jpg',
    host: 'https://h.example',
    status: 'failed',
    error: 'http-404',
    attempts: 1,
  }
  const path = await writeReport(out, { ...input, items: [...input.items, failed] })
  for (const fragment of ['#100%', '#failures%E0%A4%A', '#%']) {
    const page = await browser.open()
    const log = watch(page)
    // The script's end, or the error that stopped it: no wait for a mark never set.
    const stopped = page.waitForEvent('pageerror')
    await page.goto(pathToFileURL(path).href + fragment)
    await Promise.race([page.waitForSelector('html[data-ready]'), stopped])
    assertQuiet(log)
    assert.equal(await page.locator('.sheet .tile').count(), 15, fragment)
    await page.close()
  }
})

/**
 * A sheet of three images opened, the first written to disk as `file`, the others with `captions`,
 * and `found`: how many tiles the filter keeps for a query typed.
 */
async function filtering(name: string, file: string, captions: [string, string]) {
  const out = join(root, name)
  const input = await sheetOf(out, 3, 'photo', name)
  const [named, ...captioned] = input.items
  await writeFile(join(out, file), scenePng(7, 64, 48))
  Object.assign(named, { path: file })
  for (const [i, caption] of captions.entries()) Object.assign(captioned[i], { caption })
  const { page, log } = await openReport(await writeReport(out, input))
  const found = async (query: string) => {
    await page.locator('#images input[type=search]').fill(query)
    return page.locator('.sheet .tile').count()
  }
  return { page, log, found }
}

test('the filter finds a name or caption whatever its Unicode form: an NFD é (as macOS names files) by an é typed, and the other way round; a Turkish İ by an i', async () => {
  // As zed-industries/zed#30503 and sharkdp/fd#1535: a name from a Mac (e + U+0301) was not found
  // by the é a keyboard types (U+00E9), the filter saying "No images match." of a file shown.
  // A Turkish capital İ is lower-cased as i and a combining dot (U+0307): "izmir" typed found no
  // "İzmir" (running-coder/jquery-typeahead#240, 4gray/iptvnator#609).
  const { page, log, found } = await filtering('filter-forms', 'cafe\u0301 terrace.png', [
    'Z\u00fcrich at night',
    '\u0130zmir harbour',
  ])
  assert.equal(await found('CAF\u00c9'), 1, 'an NFD name by an NFC query')
  assert.equal(await found('zu\u0308rich'), 1, 'an NFC caption by an NFD query')
  assert.equal(await found('terrace'), 1)
  assert.equal(await found('izmir'), 1, 'a Turkish İ by an i')
  assert.equal(await found('\u0130ZM\u0130R'), 1, 'and by an İ')
  assert.equal(await found('\u00e9t\u00e9'), 0)
  assertQuiet(log)
  await page.close()
})

test("the filter finds a caption by the words it shows: a soft hyphen, a zero-width space or a no-break space in it (a news site's CMS puts them there) never hides it", async () => {
  // Invisible to the reader, these kept the words they split from every query typed: a German
  // caption hyphenated for narrow screens was not found by its word (julkue/mark.js#69,
  // contao/core#8389), a name or query with a no-break space (Option-Space on a Mac) by a space.
  const { page, log, found } = await filtering('filter-invisible', 'old\u00a0town.png', [
    'Donau\u00addampf\u00adschiff at the quay',
    'Night\u200bmarket, Taipei',
  ])
  const queries: [query: string, tiles: number][] = [
    ['donaudampfschiff', 1], // a word split by soft hyphens
    ['nightmarket', 1], // by a zero-width space
    ['old town', 1], // a name with a no-break space, by a space
    ['market,\u00a0taipei', 1], // a query with a no-break space
    ['dampf schiff', 0],
  ]
  for (const [query, tiles] of queries) assert.equal(await found(query), tiles, query)
  assertQuiet(log)
  await page.close()
})

test('a page rewritten since (a rerun, imgpull report) is not shown by the place kept of the one before: a reload showed another image in the viewer, under its own name', async () => {
  // The reader's place (the viewer's image, the sheet's page and filter, the groups opened) is kept
  // in the history entry by position. A rerun or `imgpull report` rewrote the page, its rows in
  // another order, and a reload or Back from a file showed the image now at that position, as a
  // table keeping its selection by row index selects others once its rows change (TanStack/table#3987).
  const out = join(root, 'rewritten')
  const input = await sheetOf(out, 60, 'photo', 'rewritten')
  const path = await writeReport(out, input)
  const { page, log } = await openReport(path)
  await page.locator('#images input[type=search]').fill('photo3')
  await page.locator('.sheet .tile[title="photo32.png"]').click()
  await page.getByRole('dialog', { name: 'photo32.png' }).waitFor()
  // The rerun's page: a new image first, every other one a place later.
  await writeFile(join(out, 'new.png'), scenePng(77, 64, 48))
  const items = input.items as ReportItem[]
  const first: ReportItem = { ...items[0], path: 'new.png', url: 'https://images.example.com/new.png' }
  await writeReport(out, { ...input, items: [first, ...items] })
  await page.reload()
  await page.waitForSelector('html[data-ready]')
  // The page as it opens: never the image now at the place kept.
  const shownName = async () =>
    (await viewing(page)) ? await page.locator('#viewer-name').textContent() : null
  assert.equal(await shownName(), null)
  assert.equal(await page.locator('#images input[type=search]').inputValue(), '')
  assert.equal(await page.locator('.sheet .tile').first().getAttribute('title'), 'new.png')
  assertQuiet(log)
  await page.close()
})

test('the contact sheet says how to use it in the words of the device: hover and Enter with a mouse, tap on a touch screen', async () => {
  const out = join(root, 'touch')
  const run = await makeRun(out)
  const path = await writeReport(out, run.input)
  const { page, log } = await openReport(path, { width: 1280, height: 900 })
  assert.equal(
    await text(page, '[data-figure="sheet"]'),
    '21 images. Hover or focus an image for its name, size and dimensions; a click or Enter shows it large, with its URL and status.',
  )
  await page.close()
  // A phone: no hover, no Enter key, and every caption already shown. It was told to hover,
  // focus and press Enter.
  const { page: phone, log: phoneLog } = await openOnTouchPhone(path)
  assert.equal(await phone.evaluate(() => matchMedia('(hover: none)').matches), true)
  assert.equal(
    await text(phone, '[data-figure="sheet"]'),
    '21 images. Each image shows its name, size and dimensions; tap it to see it large, with its URL and status.',
  )
  assert.equal(
    await phone
      .locator('.tile .cap')
      .first()
      .evaluate((e) => getComputedStyle(e).opacity),
    '1',
  )
  assertQuiet(log)
  assertQuiet(phoneLog)
  await phone.close()
})

test('100,000 items: rendered in bounded time, one page of tiles at a time, paging and filtering work', async () => {
  const out = join(root, 'large')
  const files: string[] = []
  for (let i = 0; i < 12; i++) {
    const path = `img/${i}.png`
    await mkdir(dirname(join(out, path)), { recursive: true })
    await writeFile(join(out, path), scenePng(i, 64, 48))
    files.push(path)
  }
  const N = 100_000
  const hosts = Array.from({ length: 40 }, (_, i) => `https://h${i}.example`)
  const items: ReportItem[] = []
  for (let i = 0; i < N; i++) {
    const host = hosts[i % hosts.length]
    const failed = i % 50 === 7
    items.push(
      failed
        ? {
            url: `${host}/${i}.jpg`,
            host,
            status: 'failed',
            error: i % 100 === 7 ? 'http-404' : 'timeout',
            attempts: 1,
          }
        : {
            url: `${host}/${i}.jpg`,
            host,
            status: 'ok',
            // Every path exists (12 files, shared), so the page loads no missing file.
            path: files[i % files.length],
            bytes: 20_000 + (i % 997) * 100,
            width: 64,
            height: 48,
            format: 'png',
            attempts: 1,
            ttfb: 20 + (i % 200),
            finishedAt: T0 + Math.floor((i / N) * 600_000),
          },
    )
  }
  const samples: HostSample[] = []
  for (let t = T0; t <= T0 + 600_000; t += 1000) {
    for (const host of hosts.slice(0, 8))
      samples.push({ t, host, limit: 16, inFlight: 4 + ((t / 1000) % 12) })
  }
  const input: ReportInput = {
    title: 'large',
    startedAt: T0,
    endedAt: T0 + 600_000,
    interrupted: false,
    items,
    samples,
  }

  const t0 = performance.now()
  const html = renderReport(input)
  const renderMs = performance.now() - t0
  const path = join(out, 'report.html')
  await writeFile(path, html)

  const t1 = performance.now()
  const { page, log } = await openReport(path)
  const loadMs = performance.now() - t1
  console.log(
    `# 100,000 items: renderReport ${renderMs.toFixed(0)} ms, ${(html.length / 1e6).toFixed(2)} MB of HTML; ` +
      `Chromium load to first page drawn ${loadMs.toFixed(0)} ms`,
  )
  assert.ok(renderMs + loadMs < 20_000, `render and load in ${renderMs + loadMs} ms: a pathology`)

  const ok = N - N / 50
  assert.equal(
    await text(page, '[data-figure="sheet"]'),
    `A random sample of 10,000 of the ${ok.toLocaleString('en-US')} images, in the order they were downloaded. Hover or focus an image for its name, size and dimensions; a click or Enter shows it large, with its URL and status.`,
  )
  assert.equal(
    await page.locator('[data-figure="ok"]').evaluate((e) => e.firstChild?.textContent),
    ok.toLocaleString('en-US'),
  )
  assert.equal(await page.locator('.sheet .tile').count(), SHEET_PAGE_SIZE)
  assert.ok(
    (await page.evaluate(() => document.getElementsByTagName('*').length)) < 4000,
    'a bounded document',
  )
  assert.match(await text(page, '#images [data-status]'), /^1–48 of 10,000 · page 1 of 209$/)
  await page.locator('#images [data-next]').click()
  assert.match(await text(page, '#images [data-status]'), /^49–96 of 10,000 · page 2 of 209$/)
  // The pager is below 7 rows of tiles, taller than the window: the new page is shown from its
  // first row, not its last.
  const firstTop = await page
    .locator('.sheet li')
    .first()
    .evaluate((e) => e.getBoundingClientRect().top)
  // Within a pixel of the top: a scroll position is whole pixels, the list's top may not be.
  assert.ok(firstTop > -1 && firstTop < 200, `the first tile of page 2 is in view (top ${firstTop})`)
  assert.equal(await page.locator('.sheet .tile').count(), SHEET_PAGE_SIZE)
  // Sorted, and one image open large: still one page of tiles, one viewer, no tile built for the
  // other 9,952 images of the sample.
  await page.selectOption('#images select[data-sort]', 'size-up')
  assert.match(await text(page, '#images [data-status]'), /^1–48 of 10,000 · page 1 of 209$/)
  const sizes = await page.locator('.sheet .tile .meta').allInnerTexts()
  assert.equal(sizes[0], sizes.toSorted()[0], `smallest first: ${sizes.slice(0, 3)}`)
  await page.locator('.sheet .tile').first().click()
  await page.keyboard.press('ArrowRight')
  assert.equal(await page.locator('#viewer [data-viewer-at]').textContent(), '2 of 10,000')
  assert.equal(await page.locator('.sheet .tile').count(), SHEET_PAGE_SIZE)
  assert.equal(await page.locator('img').count(), SHEET_PAGE_SIZE + 1, 'the tiles and the image shown large')
  assert.ok(
    (await page.evaluate(() => document.getElementsByTagName('*').length)) < 4000,
    'a bounded document, sorted and viewing',
  )
  await page.keyboard.press('Escape')
  await page.waitForFunction(() => !(document.getElementById('viewer') as HTMLDialogElement).open)
  await page.selectOption('#images select[data-sort]', '')
  await page.locator('#images input[type=search]').fill('img/3.png')
  const filtered = await text(page, '#images [data-status]')
  // The filter searches the sample of 10,000, not the folder: said so.
  assert.match(filtered, /^1–48 of [\d,]+ in the sample · page 1 of \d+$/)
  const names = await page.locator('.sheet .tile .name').allInnerTexts()
  assert.ok(
    names.every((name) => name === '3.png'),
    'the filter keeps matching names only',
  )
  await page.locator('#images input[type=search]').fill('img/999.png')
  assert.equal(
    await text(page, '#images [data-status]'),
    'No images of the sample of 10,000 match: the folder holds 98,000, all in manifest.jsonl.',
  )
  assert.equal(await page.locator('#host-table tbody tr').count(), 40)
  assert.equal(await page.locator('svg[data-chart="concurrency"]').count(), 6)
  // On paper, which page of the sheet this is (the buttons are not printed).
  await page.emulateMedia({ media: 'print' })
  assert.equal(await page.locator('#images [data-status]').isVisible(), true)
  assert.equal(await page.locator('#images [data-next]').isVisible(), false)
  await page.emulateMedia({ media: 'screen' })
  assertQuiet(log)
  await page.close()
})

test('the first screen says what failed, the commonest codes with their counts; each opens its group, a closed one too', async () => {
  const out = join(root, 'causes')
  const sheet = await sheetOf(out, 60, 'photo', 'causes')
  const failed: ReportItem[] = []
  const codes = ['http-404', 'not-an-image', 'timeout', 'tls', 'too-large', 'http-503', 'dns']
  codes.forEach((error, i) => {
    // 7, 6, 5...: one order of groups, the commonest first.
    for (let k = 0; k < codes.length - i; k++)
      failed.push({
        url: `https://h.example/${error}/${k}.jpg`,
        host: 'https://h.example',
        status: 'failed',
        error,
        attempts: 1,
      })
  })
  const path = await writeReport(out, { ...sheet, items: [...sheet.items, ...failed] })
  for (const viewport of [
    { width: 1280, height: 800 },
    { width: 375, height: 740 },
  ]) {
    const { page, log } = await openReport(path, viewport)
    const causes = page.locator('[data-figure="causes"]')
    assert.equal(
      await shown(causes),
      // As the terminal's last lines and `imgpull status` say them: `http-400 400` read as a code twice.
      'What failed: http-404 ×7, not-an-image ×6, timeout ×5, tls ×4, too-large ×3, http-503 ×2, and 1 more code.',
    )
    const box = await causes.boundingBox()
    assert.ok(box && box.y + box.height <= viewport.height, `on the first screen: ${JSON.stringify(box)}`)
    // too-large: the fifth group, closed until its link is followed (with the keyboard here).
    const group = page.locator('.failure[data-code="too-large"]')
    assert.equal(await group.evaluate((e) => (e as HTMLDetailsElement).open), false)
    await causes.getByRole('link', { name: 'too-large ×3' }).focus()
    await page.keyboard.press('Enter')
    await page.waitForFunction(
      () => document.querySelector<HTMLDetailsElement>('.failure[data-code="too-large"]')?.open,
    )
    assert.ok(await group.locator('table').isVisible(), 'its examples shown')
    assertQuiet(log)
    await page.close()
  }
})

test("each landmark, region, chart's figure, copy button and sort box has a name of its own, as Chromium's accessibility tree gives it: a screen reader's list of them tells each apart", async () => {
  const out = join(root, 'landmarks')
  const run = await makeRun(out)
  const { page, log } = await openReport(await writeReport(out, { ...run.input, manifest: true }))
  await page.evaluate(() => {
    for (const d of document.querySelectorAll('details')) d.open = true
  })
  const cdp = await page.context().newCDPSession(page)
  const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as {
    nodes: { ignored: boolean; role?: { value: string }; name?: { value: string } }[]
  }
  const landmarks = [
    'region',
    'navigation',
    'main',
    'banner',
    'contentinfo',
    'complementary',
    'search',
    'form',
  ]
  const named = nodes
    .filter((n) => !n.ignored && landmarks.includes(n.role?.value ?? ''))
    .map((n) => `${n.role?.value} "${n.name?.value ?? ''}"`)
  assert.ok(named.includes('region "Hosts"'), named.join(', '))
  const twice = named.filter((name, i) => named.indexOf(name) !== i)
  assert.deepEqual(twice, [], `landmarks: ${named.join(', ')}`)
  // A chart's figure is named by its caption: Chromium does not take a figcaption for the name
  // (every figure was "figure", a screen reader's list of them eight alike).
  const figures = nodes
    .filter((n) => !n.ignored && n.role?.value === 'figure')
    .map((n) => `figure "${n.name?.value ?? ''}"`)
  assert.ok(figures.length >= 3, figures.join(', '))
  assert.ok(figures.includes('figure "Images per second"'), figures.join(', '))
  assert.deepEqual(
    figures.filter((name, i) => name === 'figure ""' || figures.indexOf(name) !== i),
    [],
    `figures: ${figures.join(', ')}`,
  )
  // Each copy button named for what it copies, each sort box for what it sorts: a list of the
  // page's controls said 'copy the command' once a failure group and 'Sort by' twice
  // (NatLibFi/Skosmos#2057, microsoft/rushstack-websites#246). An example's details button is
  // named by its list item, the URL beside it (WCAG 2.4.4's context).
  const controls = nodes
    .filter((n) => !n.ignored && ['button', 'combobox'].includes(n.role?.value ?? ''))
    .map((n) => `${n.role?.value} "${n.name?.value ?? ''}"`)
    .filter((name) => name !== 'button "details of this failure"')
  const copies = controls.filter((name) => name.startsWith('button "copy'))
  assert.ok(copies.length >= 4, controls.join(', '))
  assert.ok(copies.includes('button "copy the command that lists the http-404 failures"'), copies.join(', '))
  assert.ok(copies.includes('button "copy the jq command that lists every failed URL"'), copies.join(', '))
  assert.ok(controls.includes('combobox "Sort images by"'), controls.join(', '))
  assert.deepEqual(
    controls.filter((name, i) => controls.indexOf(name) !== i),
    [],
    `controls: ${controls.join(', ')}`,
  )
  assertQuiet(log)
  await page.close()
})

test('with scripts off, no control that does nothing: no filter box, no Previous and Next, no how-to of images not shown; the credits say where they are', async () => {
  const out = join(root, 'no-script')
  const run = await makeRun(out)
  const path = await writeReport(out, run.input)
  const visible = (page: Page, selector: string) =>
    page
      .locator(selector)
      .evaluateAll((els) => els.filter((e) => (e as HTMLElement).offsetParent !== null).length)

  // A reader with JavaScript off: the DevTools protocol turns the page's scripts off.
  const page = await browser.open({ width: 390, height: 844 })
  await (await page.context().newCDPSession(page)).send('Emulation.setScriptExecutionDisabled', {
    value: true,
  })
  await page.goto(pathToFileURL(path).href)
  assert.equal(await page.locator('html[data-ready]').count(), 0, 'scripts off')
  assert.equal(await visible(page, 'input[type=search]'), 0, 'a filter box')
  assert.equal(await visible(page, '[data-pager] button'), 0, 'Previous or Next buttons')
  assert.doesNotMatch(await text(page, '[data-figure="sheet"]'), /Hover|tap it/)
  assert.match(
    await text(page, '#images'),
    /drawn by the page's script; with scripts off, open the files in the folder/,
  )
  assert.match(await text(page, '#attribution'), /with scripts off, .*ATTRIBUTION\.md/)
  await page.screenshot({ path: join(root, 'no-script.png'), fullPage: true })
  await page.close()

  // With scripts on, the filter and the how-to are there, and the notes for scripts off are not.
  const on = await openReport(path, { width: 390, height: 844 })
  assert.equal(await visible(on.page, 'input[type=search]'), 1)
  assert.match(await text(on.page, '[data-figure="sheet"]'), /Hover or focus an image/)
  assert.doesNotMatch(await text(on.page, 'main'), /with scripts off/)
  assertQuiet(on.log)
  await on.page.close()
})

test("a chart's time axis is marked at its quarters, each mark under its place: a 3 h run's bars can be told apart in time without hovering", async () => {
  const out = join(root, 'long-axis')
  const run = await makeRun(out)
  const span = 3 * 3_600_000 + 17_000
  const input = { ...run.input, endedAt: run.input.startedAt + span }
  const path = await writeReport(out, input)
  for (const width of [320, 390, 768, 1280]) {
    const { page, log } = await openReport(path, { width, height: 900 })
    const axes = await page.locator('#throughput .chart').evaluateAll((charts) =>
      charts.map((chart) => {
        const plot = chart.querySelector('.plot')?.getBoundingClientRect() as DOMRect
        return [...chart.querySelectorAll('.x > span')].map((span) => {
          // The text's own box (a label's box may be narrower than its words).
          const range = document.createRange()
          range.selectNodeContents(span)
          const r = range.getBoundingClientRect()
          const seen = getComputedStyle(span).visibility === 'visible'
          return {
            text: span.textContent,
            seen,
            left: r.left - plot.left,
            right: r.right - plot.left,
            plot: plot.width,
          }
        })
      }),
    )
    assert.equal(axes.length, 2)
    for (const marks of axes) {
      assert.deepEqual(
        marks.map((m) => m.text),
        ['0:00:00', '0:45:04', '1:30:09', '2:15:13', '3:00:17'],
      )
      const plot = marks[0].plot
      assert.ok(Math.abs(marks[0].left) <= 1 && Math.abs(marks[4].right - plot) <= 1, JSON.stringify(marks))
      for (const [i, m] of marks.slice(1, 4).entries()) {
        const centre = (m.left + m.right) / 2
        assert.ok(Math.abs(centre - ((i + 1) * plot) / 4) <= 2, `${m.text} at ${centre} of ${plot} px`)
      }
      // A phone shows the start, the middle and the end; all five would touch.
      const seen = marks.filter((m) => m.seen)
      assert.equal(seen.length, width < 480 ? 3 : 5)
      for (let i = 1; i < seen.length; i++)
        assert.ok(seen[i].left >= seen[i - 1].right + 12, JSON.stringify(seen))
    }
    assertQuiet(log)
    await page.close()
  }
})

test('on a phone the pager is its words, then Previous and Next side by side: Next fell to a line of its own under them', async () => {
  const out = join(root, 'pager-phone')
  const input = await sheetOf(out, 1200, 'photo', 'pager')
  const path = await writeReport(out, input)
  for (const width of [320, 390, 768, 1280]) {
    const { page, log } = await openReport(path, { width, height: 800 })
    await page.locator('#images [data-next]').click()
    const box = async (selector: string) =>
      (await page.locator(`#images ${selector}`).boundingBox()) as {
        x: number
        y: number
        width: number
        height: number
      }
    const [prev, next, status] = [
      await box('[data-prev]'),
      await box('[data-next]'),
      await box('[data-status]'),
    ]
    assert.equal(prev.y, next.y, `Previous and Next on one line at ${width} px`)
    assert.ok(next.x > prev.x + prev.width, `Next after Previous at ${width} px`)
    // The words fit their line, above the buttons or between them.
    assert.ok(status.y + status.height <= prev.y + prev.height + 1, `words above or beside at ${width} px`)
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), width)
    assertQuiet(log)
    await page.close()
  }
})

test("a row's caption (--caption-col) is its image's alt text and a line of its tile: as text, in its own direction, a long one cut with the whole on hover", async () => {
  const out = join(root, 'captions')
  const input = await sheetOf(out, 5, 'cap', 'captions')
  const long = `${'a long caption from a web page, '.repeat(20)}the end`
  const captions = [
    'A lake <b>at dawn</b> & "mist" <img src=x onerror=alert(1)>',
    'بحيرة عند الفجر',
    // An override in a caption reverses the caption alone, never the name and figures around it.
    'photo \u202egnp.exe',
    `two\nlines\t${long}`,
  ]
  const items = (input.items as ReportItem[]).map((item, i) =>
    i < captions.length ? { ...item, caption: captions[i] } : item,
  )
  const { page, log } = await openReport(await writeReport(out, { ...input, items }))
  const tile = (i: number) => page.locator('.tile', { hasText: `cap${i}.png` })
  // Text, never markup: no element of the caption's made, its words as written.
  assert.equal(await tile(0).locator('img').getAttribute('alt'), captions[0])
  assert.equal(await tile(0).locator('.caption').textContent(), captions[0])
  assert.equal(await page.locator('.sheet b, .sheet img[src="x"]').count(), 0)
  assert.equal(await tile(1).locator('img').getAttribute('alt'), captions[1])
  for (const i of [1, 2]) {
    const caption = tile(i).locator('.caption')
    assert.equal(await caption.getAttribute('dir'), 'auto')
    assert.equal(await caption.evaluate((e) => getComputedStyle(e).unicodeBidi), 'isolate')
  }
  // Said once to a screen reader: as the image's text, the tile's line hidden from it.
  assert.equal(await tile(0).locator('.caption').getAttribute('aria-hidden'), 'true')
  // A long one: two lines of the tile, whole on hover, its line breaks one space.
  const whole = `two lines ${long}`
  await tile(3).hover()
  const cut = await tile(3)
    .locator('.caption')
    .evaluate((e) => ({
      cut: e.scrollHeight > e.clientHeight + 1,
      lines: e.clientHeight / parseFloat(getComputedStyle(e).lineHeight),
    }))
  assert.ok(cut.cut, 'the tile cuts a long caption')
  assert.ok(cut.lines <= 2.05, `two lines at most, ${cut.lines}`)
  assert.equal(await tile(3).locator('.caption').getAttribute('title'), whole)
  assert.equal(await tile(3).locator('img').getAttribute('alt'), whole)
  // An image without one keeps the tile as it was: its name says what it is.
  assert.equal(await tile(4).locator('img').getAttribute('alt'), '')
  assert.equal(await tile(4).locator('.caption').count(), 0)
  // The filter finds a tile by its caption's words as by its name, and says it searches both.
  assert.match(
    (await page.locator('#images .tools label').first().textContent()) ?? '',
    /^Filter by name or caption/,
  )
  const filter = page.locator('#images input[type=search]')
  await filter.fill('الفجر')
  assert.deepEqual(await page.locator('.sheet .tile .name').allTextContents(), ['cap1.png'])
  await filter.fill('DAWN')
  assert.deepEqual(await page.locator('.sheet .tile .name').allTextContents(), ['cap0.png'])
  await filter.fill('cap4')
  assert.deepEqual(await page.locator('.sheet .tile .name').allTextContents(), ['cap4.png'])
  assertQuiet(log)
  await page.close()
})

test("a tile whose image the browser cannot show keeps its caption for a screen reader: said as the image's alt text, it went with the image", async () => {
  const out = join(root, 'unseen-captions')
  const input = await sheetOf(out, 3, 'gone', 'unseen captions')
  // One file Chromium cannot decode (as a TIFF or HEIC), one moved away since, one it draws.
  await writeFile(join(out, 'gone0.png'), Buffer.from('II*\u0000 not a picture Chromium draws'))
  const captions = ['a red bicycle against a wall', 'the harbour at night', 'a field of lavender']
  const items = (input.items as ReportItem[]).map((item, i) => ({
    ...item,
    caption: captions[i],
    ...(i === 1 ? { path: 'moved.png' } : {}),
  }))
  const { page, log } = await openReport(await writeReport(out, { ...input, items }))
  await page.waitForFunction(() => document.querySelectorAll('.tile.missing').length === 2)
  const cdp = await page.context().newCDPSession(page)
  const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as {
    nodes: { ignored: boolean; role?: { value: string }; name?: { value: string } }[]
  }
  const links = nodes
    .filter((n) => !n.ignored && n.role?.value === 'link')
    .map((n) => n.name?.value ?? '')
    .filter((name) => /gone|moved/.test(name))
  assert.equal(links.length, 3, links.join(' | '))
  for (const caption of captions) {
    const named = links.filter((name) => name.includes(caption))
    // Once, as a tile whose image is shown says it.
    assert.equal(named.length, 1, `"${caption}" in ${links.join(' | ')}`)
    assert.equal(named[0].split(caption).length, 2, `"${caption}" said once in "${named[0]}"`)
  }
  assert.match(links.find((name) => name.includes(captions[0])) ?? '', /not viewable here/)
  // The moved file's load is the one error, as the browser logs it.
  assert.deepEqual(log.errors, ['console.error: Failed to load resource: net::ERR_FILE_NOT_FOUND'])
  await page.close()
})

test("back from an image, the contact sheet is where the reader left it: its page, its filter and the tile opened (a page from file:// is never kept in Chromium's back-forward cache)", async () => {
  const out = join(root, 'back')
  const input = await sheetOf(out, 130, 'back', 'back')
  const { page, log } = await openReport(await writeReport(out, input))
  const status = page.locator('#images [data-status]')
  const filter = page.locator('#images input[type=search]')
  await filter.fill('back1')
  // back1, back10..back19, back100..back129: 41 tiles, one page.
  await filter.fill('back')
  await page.locator('#images [data-next]').click()
  await page.locator('#images [data-next]').click()
  assert.equal(await status.textContent(), '97–130 of 130 · page 3 of 3')
  await filter.fill('back1')
  assert.equal(await status.textContent(), '1–41 of 41 · page 1 of 1')
  await filter.fill('back')
  await page.locator('#images [data-next]').click()
  const opened = page.locator('.sheet .tile').nth(5)
  const name = await opened.getAttribute('title')
  assert.equal(name, 'back53.png')
  await opened.focus()
  // Enter shows it large (the viewer); its link opens the file in place of the page.
  await page.keyboard.press('Enter')
  await page.locator('#viewer [data-viewer-file]').click()
  await page.waitForURL(/back53\.png$/)
  await page.goBack()
  await page.waitForSelector('html[data-ready]')
  // Back from the file comes to the viewer it was opened from; Esc closes it, on the tile.
  assert.equal(await page.locator('#viewer').evaluate((d) => (d as HTMLDialogElement).open), true)
  assert.equal(await page.locator('#viewer-name').textContent(), 'back53.png')
  await page.keyboard.press('Escape')
  await page.waitForFunction(() => document.activeElement?.getAttribute('title') === 'back53.png')
  await page.waitForSelector('html[data-ready]')
  assert.equal(await page.locator('#viewer').evaluate((d) => (d as HTMLDialogElement).open), false)
  assert.equal(await status.textContent(), '49–96 of 130 · page 2 of 3')
  assert.equal(await filter.inputValue(), 'back')
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('title')), 'back53.png')
  // Paged on from there, as before.
  await page.locator('#images [data-next]').click()
  assert.equal(await status.textContent(), '97–130 of 130 · page 3 of 3')
  // A report opened afresh (its history entry new) starts at its first page, unfiltered.
  const fresh = await browser.open()
  await fresh.goto(pathToFileURL(join(out, 'report.html')).href)
  await fresh.waitForSelector('html[data-ready]')
  assert.equal(await fresh.locator('#images [data-status]').textContent(), '1–48 of 130 · page 1 of 3')
  await fresh.close()
  assertQuiet(log)
  await page.close()
})

test("a failure group's summary is said as its code and counts: the triangle drawn before it is not read out ('black right-pointing small triangle')", async () => {
  const out = join(root, 'triangle')
  const run = await makeRun(out)
  const { page, log } = await openReport(await writeReport(out, run.input))
  const cdp = await page.context().newCDPSession(page)
  const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as {
    nodes: { ignored: boolean; role?: { value: string }; name?: { value: string } }[]
  }
  const summaries = nodes
    .filter((n) => !n.ignored && n.role?.value === 'DisclosureTriangle')
    .map((n) => n.name?.value ?? '')
  assert.ok(
    summaries.some((name) => /^http-404 /.test(name)),
    summaries.join(' | '),
  )
  const read = nodes.filter((n) => !n.ignored && /[▸▾►▶]/.test(n.name?.value ?? ''))
  assert.deepEqual(
    read.map((n) => `${n.role?.value} "${n.name?.value}"`),
    [],
  )
  // Still drawn, and turned on opening.
  const mark = await page
    .locator('details.failure summary')
    .first()
    .evaluate((e) => getComputedStyle(e, '::before').content)
  assert.match(mark, /▸/)
  assertQuiet(log)
  await page.close()
})

test('paging with the keyboard keeps the focus on the pager: Next on the last page, disabled there, dropped it to the document', async () => {
  const out = join(root, 'pager-focus')
  const { page, log } = await openReport(await writeReport(out, await sheetOf(out, 130, 'p', 'pager focus')))
  const status = page.locator('#images [data-status]')
  const focused = () =>
    page.evaluate(() => document.activeElement?.textContent ?? document.activeElement?.tagName)
  await page.locator('#images [data-next]').focus()
  await page.keyboard.press('Enter')
  assert.equal(await focused(), 'Next')
  await page.keyboard.press('Enter')
  assert.equal(await status.textContent(), '97–130 of 130 · page 3 of 3')
  // Next is disabled on the last page: the focus is on Previous, beside it, not on <body>.
  assert.equal(await focused(), 'Previous')
  await page.keyboard.press('Enter')
  await page.keyboard.press('Enter')
  assert.equal(await status.textContent(), '1–48 of 130 · page 1 of 3')
  assert.equal(await focused(), 'Next')
  await page.keyboard.press('Enter')
  assert.equal(await status.textContent(), '49–96 of 130 · page 2 of 3')
  assertQuiet(log)
  await page.close()
})

test('a screen reader hears what the filter found in a sheet of one page too, which shows no pager: it narrowed the tiles without a word', async () => {
  for (const count of [15, 60]) {
    const out = join(root, `filter-said-${count}`)
    const { page, log } = await openReport(
      await writeReport(out, await sheetOf(out, count, 'photo', 'filter said')),
    )
    const heard = async () => {
      const cdp = await page.context().newCDPSession(page)
      const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as {
        nodes: { ignored: boolean; role?: { value: string }; name?: { value: string } }[]
      }
      await cdp.detach()
      // What a live region says: its text, not ignored (display:none or hidden is never said).
      const live = await page.evaluate(() =>
        [...document.querySelectorAll('#images [aria-live]')]
          .filter((e) => !e.closest('[hidden]') && e.textContent)
          .map((e) => e.textContent ?? ''),
      )
      const shownText = new Set(nodes.filter((n) => !n.ignored).map((n) => n.name?.value ?? ''))
      return live.filter((words) => shownText.has(words))
    }
    const filter = page.locator('#images input[type=search]')
    await filter.fill('photo1')
    // photo1 and photo10 to photo14 (or photo19).
    const found = count > SHEET_PAGE_SIZE ? 11 : 6
    assert.equal(await page.locator('.sheet .tile').count(), found)
    const said = await heard()
    assert.equal(said.length, 1, `${count}: ${JSON.stringify(said)}`)
    assert.match(said[0], new RegExp(`\\b${found}\\b`))
    await filter.fill('sunset')
    assert.deepEqual(await heard(), ['No images match.'], `${count} images`)
    // Emptied, the sheet as it was: nothing to say in a sheet of one page.
    await filter.fill('')
    assert.deepEqual(await heard(), count > SHEET_PAGE_SIZE ? ['1–48 of 60 · page 1 of 2'] : [])
    assertQuiet(log)
    await page.close()
  }
})

test("back from an example's URL, the failure groups are as the reader left them, and the page where it was: a group opened was closed again", async () => {
  const out = join(root, 'back-groups')
  const run = await makeRun(out)
  const path = await writeReport(out, run.input)
  const { page, log } = await openReport(path, { width: 1280, height: 800 })
  const groups = page.locator('details.failure')
  const count = await groups.count()
  assert.ok(count > 5, `${count} groups`)
  const open = () => groups.evaluateAll((all) => all.map((d) => (d as HTMLDetailsElement).open))
  const before = await open()
  // The first groups open, the rest closed: the reader closes the first and opens the sixth.
  assert.deepEqual(before.slice(0, 6), [true, true, true, false, false, false])
  await groups.nth(0).locator('summary').click()
  await groups.nth(5).locator('summary').click()
  const left = await open()
  assert.deepEqual(left.slice(0, 6), [false, true, true, false, false, true])
  await groups.nth(5).scrollIntoViewIfNeeded()
  const where = await groups.nth(5).evaluate((e) => Math.round(e.getBoundingClientRect().top))
  // An example's link leaves the page (here for a file: the test has no network); Back comes back.
  await writeFile(join(out, 'elsewhere.txt'), 'a page the reader went to\n')
  await page.goto(pathToFileURL(join(out, 'elsewhere.txt')).href)
  await page.goBack()
  await page.waitForSelector('html[data-ready]')
  assert.deepEqual(await open(), left)
  await page.waitForFunction(
    (top) => Math.abs(document.querySelectorAll('details.failure')[5].getBoundingClientRect().top - top) < 2,
    where,
  )
  // A report opened afresh has its groups as written.
  const fresh = await browser.open()
  await fresh.goto(pathToFileURL(path).href)
  await fresh.waitForSelector('html[data-ready]')
  assert.deepEqual(
    await fresh
      .locator('details.failure')
      .evaluateAll((all) => all.map((d) => (d as HTMLDetailsElement).open)),
    before,
  )
  await fresh.close()
  assertQuiet(log)
  await page.close()
})

test('a command holding a 10 KB URL keeps the first screen for what failed: its box scrolls, its words whole, where a phone showed 4,300 px of them', async () => {
  const out = join(root, 'long-command')
  const sheet = await sheetOf(out, 3, 'photo', 'long command')
  const url = `https://img.example.com/a.jpg?v=${'A'.repeat(10_240)}`
  const failed: ReportItem = {
    url,
    host: 'https://img.example.com',
    status: 'failed',
    error: 'http-404',
    httpStatus: 404,
    attempts: 1,
  }
  const path = await writeReport(out, {
    ...sheet,
    command: `imgpull '${url}' -o long-command`,
    items: [...sheet.items, failed],
  })
  for (const viewport of [
    { width: 390, height: 844 },
    { width: 1280, height: 800 },
  ]) {
    const { page, log } = await openReport(path, viewport)
    const causes = await page.locator('[data-figure="causes"]').boundingBox()
    assert.ok(
      causes && causes.y + causes.height <= viewport.height,
      `on the first screen: ${JSON.stringify(causes)}`,
    )
    const command = page.locator('.command')
    // Whole, to be copied as it ran.
    assert.ok(((await command.textContent()) ?? '').includes(url))
    assert.ok(await command.evaluate((e) => e.scrollHeight > e.clientHeight + 100), 'the box scrolls')
    assertQuiet(log)
    await page.close()
  }
})

/** Whether the viewer (the dialog of an image shown large) is open. */
const viewing = (page: Page) => page.locator('#viewer').evaluate((d) => (d as HTMLDialogElement).open)
/** Wait for the viewer to close (Esc and the close button go Back, which closes it). */
const closed = (page: Page) =>
  page.waitForFunction(() => !(document.getElementById('viewer') as HTMLDialogElement).open)
/** The viewer's figures, as term and value. */
const viewerFacts = (page: Page) =>
  page
    .locator('#viewer [data-viewer-facts]')
    .evaluate((dl) => [...dl.children].map((d) => [d.firstChild?.textContent, d.lastChild?.textContent]))
const focusedTitle = (page: Page) => page.evaluate(() => document.activeElement?.getAttribute('title'))

test('a tile opens large in a viewer with its name, figures, URL and status; Left, Right and its buttons step through the tiles the filter keeps, across pages; Esc, the close button, a click beside the image and Back close it, the focus back on the tile', async () => {
  const out = join(root, 'viewer')
  const input = await sheetOf(out, 130, 'v', 'viewer')
  const items = input.items as ReportItem[]
  items[1] = {
    ...items[1],
    status: 'skipped',
    httpStatus: 200,
    total: 1_234,
    url: 'https://user:pw@images.example.com/v1.png?X-Amz-Signature=abc123&w=64',
  }
  items[2] = { ...items[2], httpStatus: 200, total: 87.6 }
  const { page, log } = await openReport(await writeReport(out, input))
  const at = page.locator('#viewer [data-viewer-at]')
  const status = page.locator('#images [data-status]')
  assert.equal(await viewing(page), false)

  await page.locator('.sheet .tile[title="v2.png"]').click()
  assert.equal(await viewing(page), true)
  // A dialog named by the image's name, modal, every button named.
  await page.getByRole('dialog', { name: 'v2.png' }).waitFor()
  assert.equal(await page.locator('#viewer').getAttribute('aria-modal'), 'true')
  const buttons = await page
    .locator('#viewer button')
    .evaluateAll((bs) => bs.map((b) => b.getAttribute('aria-label')))
  assert.deepEqual(buttons, ['Close the image', 'Previous image', 'Next image'])
  assert.deepEqual(await viewerFacts(page), [
    ['Dimensions', '64×48'],
    ['Size', formatBytes(2_048)],
    ['Format', 'png'],
    ['Time taken', '88 ms'],
    ['Status', 'downloaded (HTTP 200)'],
    ['URL', 'https://images.example.com/v2.png'],
  ])
  assert.equal(await at.textContent(), '3 of 130')
  // The file itself, large, loaded from disk.
  await page.waitForFunction(() => {
    const img = document.querySelector<HTMLImageElement>('#viewer img')
    return img?.complete && img.naturalWidth === 64
  })
  assert.match((await page.locator('#viewer img').getAttribute('src')) ?? '', /^v2\.png$/)
  assert.equal(
    await page.evaluate(() => document.activeElement?.getAttribute('aria-label')),
    'Close the image',
  )

  // Left: the image before, already there from an earlier run; its URL without password nor signature.
  await page.keyboard.press('ArrowLeft')
  assert.equal(await page.locator('#viewer-name').textContent(), 'v1.png')
  assert.deepEqual((await viewerFacts(page)).slice(3), [
    ['Time taken', '1.2 s'],
    ['Status', 'already there, from an earlier run (HTTP 200)'],
    ['URL', 'https://images.example.com/v1.png?X-Amz-Signature=***&w=64'],
  ])
  assert.doesNotMatch((await page.locator('#viewer').textContent()) ?? '', /pw|abc123/)
  await page.keyboard.press('ArrowLeft')
  await page.keyboard.press('ArrowLeft')
  assert.equal(await at.textContent(), '1 of 130', 'no image before the first')
  assert.equal(await page.locator('#viewer [data-viewer-prev]').isDisabled(), true)
  // The focus stays inside while it is open.
  for (let i = 0; i < 9; i++) {
    await page.keyboard.press(i % 3 === 2 ? 'Shift+Tab' : 'Tab')
    assert.ok(
      await page.evaluate(() => document.getElementById('viewer')?.contains(document.activeElement)),
      `Tab ${i} stays in the viewer`,
    )
  }
  await page.locator('#viewer [data-viewer-next]').click()
  assert.equal(await page.locator('#viewer-name').textContent(), 'v1.png')
  // Esc: closed, the focus on the tile of the image last shown.
  await page.keyboard.press('Escape')
  await closed(page)
  assert.equal(await focusedTitle(page), 'v1.png')

  // Through the tiles the filter keeps: v1, v10..v19, v100..v129.
  await page.locator('#images input[type=search]').fill('v1')
  await page.locator('.sheet .tile').first().focus()
  await page.keyboard.press('Enter')
  assert.equal(await at.textContent(), '1 of 41')
  await page.keyboard.press('ArrowRight')
  assert.equal(await page.locator('#viewer-name').textContent(), 'v10.png')
  await page.locator('#viewer [data-viewer-close]').click()
  await closed(page)
  assert.equal(await focusedTitle(page), 'v10.png')

  // Across pages: Right from the last tile of page 1 to the first of page 2, which the sheet
  // shows when the viewer closes (a click beside the image).
  await page.locator('#images input[type=search]').fill('')
  await page.locator('.sheet .tile[title="v47.png"]').click()
  await page.keyboard.press('ArrowRight')
  assert.equal(await at.textContent(), '49 of 130')
  const box = await page.locator('#viewer [data-viewer-stage]').boundingBox()
  assert.ok(box)
  await page.mouse.click(box.x + 10, box.y + 10)
  await closed(page)
  assert.equal(await status.textContent(), '49–96 of 130 · page 2 of 3')
  assert.equal(await focusedTitle(page), 'v48.png')

  // Back closes it, the page staying (no reload): the filter box keeps what it holds.
  await page.locator('#images input[type=search]').fill('v5')
  await page.locator('.sheet .tile[title="v50.png"]').click()
  assert.equal(await viewing(page), true)
  await page.goBack()
  await closed(page)
  assert.match(page.url(), /report\.html$/)
  assert.equal(await page.locator('#images input[type=search]').inputValue(), 'v5')
  assert.equal(await focusedTitle(page), 'v50.png')
  // Forward shows it again; a reload there too.
  await page.goForward()
  await page.waitForFunction(() => (document.getElementById('viewer') as HTMLDialogElement).open)
  assert.equal(await page.locator('#viewer-name').textContent(), 'v50.png')
  await page.reload()
  await page.waitForSelector('html[data-ready]')
  assert.equal(await viewing(page), true)
  assert.equal(await page.locator('#viewer-name').textContent(), 'v50.png')
  await page.keyboard.press('Escape')
  await page.waitForFunction(() => document.activeElement?.getAttribute('title') === 'v50.png')
  // On a phone each figure's name stays whole beside its value: a long URL broke 'URL' in two.
  await page.setViewportSize({ width: 375, height: 740 })
  await page.locator('#images input[type=search]').fill('')
  await page.locator('.sheet .tile[title="v1.png"]').click()
  // Its lines: the boxes of its text (a flex item's own box is as tall as its row).
  const terms = await page.locator('#viewer dt').evaluateAll((dts) =>
    dts.map((dt) => {
      const range = document.createRange()
      range.selectNodeContents(dt)
      return [dt.textContent, new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size]
    }),
  )
  for (const [term, lines] of terms) assert.equal(lines, 1, `${term} on one line`)
  assert.ok(
    await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
    'fits a phone',
  )
  await page.screenshot({ path: join(root, 'viewer-phone.png') })
  assertQuiet(log)
  await page.close()
})

test("Left and Right with a modifier are the browser's and the system's, not the viewer's: Cmd-Left (Back on a Mac), Ctrl-Right and Shift-Right stepped to another image", async () => {
  // As sachinchoolur/lightGallery#1733 and metafizzy/flickity#57: a viewer that takes the arrow
  // keys whatever modifier is held swallowed Cmd-Left, a Mac browser's Back, and the selection
  // keys (Shift, Ctrl with an arrow) of its URL; only Alt was left to the browser.
  const out = join(root, 'modifiers')
  const { page, log } = await openReport(await writeReport(out, await sheetOf(out, 3, 'photo', 'modifiers')))
  await page.locator('.sheet .tile').nth(1).click()
  await page.getByRole('dialog', { name: 'photo1.png' }).waitFor()
  await page.evaluate(() => {
    document.addEventListener('keydown', (e) => {
      document.documentElement.dataset.taken = String(e.defaultPrevented)
    })
  })
  for (const key of [
    'Meta+ArrowLeft',
    'Meta+ArrowRight',
    'Control+ArrowRight',
    'Shift+ArrowLeft',
    'Control+Shift+ArrowRight',
  ]) {
    await page.keyboard.press(key)
    assert.equal(await page.locator('#viewer-name').textContent(), 'photo1.png', `${key} leaves the image`)
    assert.equal(
      await page.evaluate(() => document.documentElement.dataset.taken),
      'false',
      `${key} left to the browser`,
    )
  }
  await page.keyboard.press('ArrowRight')
  assert.equal(await page.locator('#viewer-name').textContent(), 'photo2.png', 'a plain Right steps')
  assertQuiet(log)
  await page.close()
})

test('the tiles sort by name (img9 before img10), size, dimensions, time taken or status, figures missing last; the viewer steps in that order; the choice is kept across Back and reload', async () => {
  const out = join(root, 'sorted')
  const input = await sheetOf(out, 12, 's', 'sorted')
  const items = (input.items as ReportItem[]).map((item, i) => {
    const sized: ReportItem = {
      ...item,
      bytes: 1_000 + ((i * 5) % 12) * 100,
      width: 64 + ((i * 7) % 12),
      total: ((i * 3) % 12) * 10 + i,
      httpStatus: i === 6 ? 203 : 200,
      status: i === 4 || i === 5 ? 'skipped' : 'ok',
    }
    if (i === 3) delete sized.bytes
    return sized
  })
  // Run order is not name order: the last file first.
  items.reverse()
  const { page, log } = await openReport(await writeReport(out, { ...input, items }))
  const titles = () =>
    page.locator('.sheet .tile').evaluateAll((as) => as.map((a) => a.getAttribute('title')))
  const nameOf = (i: ReportItem) => i.path!
  const last = (v: number | undefined) => (v === undefined ? Number.POSITIVE_INFINITY : v)
  const expected: Record<string, string[]> = {
    '': items.map(nameOf),
    name: Array.from({ length: 12 }, (_, i) => `s${i}.png`),
    'size-up': items.toSorted((a, b) => last(a.bytes) - last(b.bytes)).map(nameOf),
    'size-down': items
      .toSorted((a, b) => (a.bytes === undefined ? 1 : b.bytes === undefined ? -1 : b.bytes - a.bytes))
      .map(nameOf),
    'pixels-up': items.toSorted((a, b) => a.width! - b.width!).map(nameOf),
    'pixels-down': items.toSorted((a, b) => b.width! - a.width!).map(nameOf),
    'time-down': items.toSorted((a, b) => b.total! - a.total!).map(nameOf),
    status: [
      ...items.filter((i) => i.status === 'ok' && i.httpStatus === 200),
      ...items.filter((i) => i.status === 'ok' && i.httpStatus === 203),
      ...items.filter((i) => i.status === 'skipped'),
    ].map(nameOf),
  }
  assert.equal(expected['size-up'].at(-1), 's3.png', 'no size: last')
  assert.equal(expected['size-down'].at(-1), 's3.png', 'no size: last either way')
  assert.deepEqual(await titles(), expected[''])
  for (const [key, order] of Object.entries(expected)) {
    await page.selectOption('#images select[data-sort]', key)
    assert.deepEqual(await titles(), order, `sorted by ${key || 'run order'}`)
  }
  // The viewer steps in the order shown.
  await page.selectOption('#images select[data-sort]', 'size-up')
  await page.locator('.sheet .tile').first().click()
  await page.keyboard.press('ArrowRight')
  assert.equal(await page.locator('#viewer-name').textContent(), expected['size-up'][1])
  await page.keyboard.press('Escape')
  await closed(page)
  // Kept: a reload, and Back from a file opened from the viewer.
  await page.reload()
  await page.waitForSelector('html[data-ready]')
  assert.equal(await page.locator('#images select[data-sort]').inputValue(), 'size-up')
  assert.deepEqual(await titles(), expected['size-up'])
  await page.locator('.sheet .tile').nth(2).click()
  await page.locator('#viewer [data-viewer-file]').click()
  await page.waitForURL(new RegExp(`${expected['size-up'][2]}$`))
  await page.goBack()
  await page.waitForSelector('html[data-ready]')
  assert.equal(await page.locator('#images select[data-sort]').inputValue(), 'size-up')
  assert.equal(await page.locator('#viewer-name').textContent(), expected['size-up'][2])
  assertQuiet(log)
  await page.close()
})

test('the failure groups sort by code and their hosts by name, back to most failures first; the choice kept across a reload', async () => {
  const out = join(root, 'failure-sort')
  const run = await makeRun(out)
  const { page, log } = await openReport(await writeReport(out, run.input))
  const codes = () => page.locator('.failure').evaluateAll((ds) => ds.map((d) => d.getAttribute('data-code')))
  const hostsOf = (code: string) =>
    page
      .locator(`.failure[data-code="${code}"] tbody th`)
      .evaluateAll((ths) => ths.map((th) => th.textContent))
  const written = await codes()
  const groups = groupFailures(run.items)
  assert.deepEqual(
    written,
    groups.map((g) => g.code),
  )
  const natural = new Intl.Collator('en', { numeric: true, sensitivity: 'base' })
  const http404 = await hostsOf('http-404')
  assert.ok(http404.length > 1)
  await page.selectOption('#failures select[data-failure-sort]', 'code')
  assert.deepEqual(
    await codes(),
    written.toSorted((a, b) => natural.compare(a!, b!)),
  )
  await page.selectOption('#failures select[data-failure-sort]', 'host')
  assert.deepEqual(await codes(), written)
  assert.deepEqual(
    await hostsOf('http-404'),
    http404.toSorted((a, b) => natural.compare(a!, b!)),
  )
  await page.selectOption('#failures select[data-failure-sort]', '')
  assert.deepEqual(await hostsOf('http-404'), http404)
  await page.selectOption('#failures select[data-failure-sort]', 'code')
  await page.reload()
  await page.waitForSelector('html[data-ready]')
  assert.equal(await page.locator('#failures select[data-failure-sort]').inputValue(), 'code')
  assert.deepEqual(
    await codes(),
    written.toSorted((a, b) => natural.compare(a!, b!)),
  )
  assertQuiet(log)
  await page.close()
})

test('hostile names, captions and URLs stay text in the viewer: no markup is made, no script runs, a U+202E in a URL is shown as its escape', async () => {
  const out = join(root, 'viewer-xss')
  await mkdir(out, { recursive: true })
  const names = ['<img src=x onerror="window.__xss=4">.png', "'><svg onload=window.__xss=5>.png"]
  const items: ReportItem[] = []
  for (const [i, name] of names.entries()) {
    await writeFile(join(out, name), scenePng(i, 64, 48))
    items.push({
      url: `https://images.example.com/${i}.png?q="><script>window.__xss=6</script>\u202egnp.exe`,
      host: 'https://images.example.com',
      status: 'ok',
      path: name,
      bytes: 100,
      width: 64,
      height: 48,
      format: 'png',
      attempts: 1,
      caption: `<script>window.__xss=7</script> \u202eevil`,
      finishedAt: T0 + 10 + i,
    })
  }
  const { page, log } = await openReport(
    await writeReport(out, {
      title: 'xss',
      startedAt: T0,
      endedAt: T0 + 100,
      interrupted: false,
      items,
      samples: [],
    }),
  )
  for (const [i, name] of names.entries()) {
    await page.locator('.sheet .tile').nth(i).click()
    assert.equal(await page.locator('#viewer-name').textContent(), name)
    assert.equal(
      await page.locator('#viewer [data-viewer-caption]').textContent(),
      '<script>window.__xss=7</script> \u202eevil',
    )
    const url = (await viewerFacts(page)).find(([term]) => term === 'URL')?.[1] ?? ''
    assert.ok(!url.includes('\u202e'), `no U+202E acts in the URL: ${url}`)
    assert.match(url, /<script>window\.__xss=6<\/script>/)
    assert.equal(await page.locator('#viewer script, #viewer svg, #viewer [onerror]').count(), 0)
    // The caption sets its own direction apart: the figures after it are not reversed.
    assert.equal(await page.locator('#viewer [data-viewer-caption]').getAttribute('dir'), 'auto')
    await page.keyboard.press('Escape')
    await closed(page)
  }
  assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined)
  assertQuiet(log)
  await page.close()
})

/** The failure viewer's figures, as term and value. */
const storyFacts = (page: Page) =>
  page
    .locator('#failure-viewer [data-viewer-facts]')
    .evaluate((dl) =>
      [...dl.children].map((d): [string, string] => [
        d.firstChild?.textContent ?? '',
        d.lastChild?.textContent ?? '',
      ]),
    )
const storyOpen = (page: Page) =>
  page.locator('#failure-viewer').evaluate((d) => (d as HTMLDialogElement).open)

test("a real run of 3 hosts and 4 error codes: every count the page shows is the manifest's; each failure opens in a viewer with its story, Left and Right through them in the failures' order; the rerun lists copy", async () => {
  const servers = await Promise.all([startImageServer(), startImageServer(), startImageServer()])
  const out = join(root, 'real-failures')
  try {
    const [a, b, c] = servers
    const urls = [
      ...Array.from({ length: 5 }, (_, i) => a.url(`/a${i}.png?fmt=png&size=2000`)),
      ...Array.from({ length: 3 }, (_, i) => a.url(`/gone${i}.jpg?status=404`)),
      ...Array.from({ length: 2 }, (_, i) => a.url(`/down${i}.jpg?status=500`)),
      ...Array.from({ length: 3 }, (_, i) => b.url(`/b${i}.png?fmt=png&size=2000`)),
      ...Array.from({ length: 2 }, (_, i) => b.url(`/gone${i}.jpg?status=404`)),
      ...Array.from({ length: 2 }, (_, i) => b.url(`/page${i}.jpg?html=1`)),
      // A redirect to another host's 404: the failure is this URL's, where it led is said too.
      b.url(`/moved.jpg?to=${encodeURIComponent(c.url('/moved-away.jpg?status=404'))}`),
      ...Array.from({ length: 2 }, (_, i) => c.url(`/c${i}.png?fmt=png&size=2000`)),
      c.url('/down.jpg?status=500'),
      a.url('/spin.jpg?loop=1'),
      ...Array.from({ length: 2 }, (_, i) => c.url(`/page${i}.jpg?html=1`)),
    ]
    await mkdir(out, { recursive: true })
    const list = join(root, 'real-failures.txt')
    await writeFile(list, `${urls.join('\n')}\n`)
    const run = await runCli([list, '-o', out, '--retries', '1'])
    assert.notEqual(run.code, null, run.stderr)
    const manifest = (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { url: string; status: string; error?: string })
    const failed = manifest.filter((m) => m.status === 'failed')
    const count = <T>(xs: T[], key: (x: T) => string) => {
      const m = new Map<string, number>()
      for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1)
      return m
    }
    const byCode = count(failed, (m) => m.error ?? 'unknown')
    assert.equal(byCode.size, 4, `four codes: ${[...byCode.keys()]}`)
    const byHost = count(failed, (m) => new URL(m.url).origin)
    assert.equal(byHost.size, 3)

    const { page, log } = await openReport(join(out, 'report.html'))
    const figure = await page
      .locator('[data-figure="failed"]')
      .evaluate((dd) => dd.firstChild?.textContent?.trim())
    assert.equal(figure, String(failed.length))
    // The first screen's codes, each with its count.
    const causes = await page.locator('[data-figure="causes"] a[href^="#failure-"]').allTextContents()
    assert.deepEqual(new Map(causes.map((t) => [t.split(' ×')[0], Number(t.split(' ×')[1])])), byCode)
    // Each group: its count, its hosts' count, each host's count.
    for (const [code, n] of byCode) {
      const group = page.locator(`.failure[data-code="${code}"]`)
      const hosts = count(
        failed.filter((m) => (m.error ?? 'unknown') === code),
        (m) => new URL(m.url).origin,
      )
      assert.equal(
        await group.locator('.count').textContent(),
        `${n} failure${n === 1 ? '' : 's'} at ${hosts.size} host${hosts.size === 1 ? '' : 's'}`,
      )
      const rows = await group
        .locator('tbody tr')
        .evaluateAll((trs) =>
          trs.map((tr) => [tr.querySelector('th')?.textContent, tr.querySelector('td.n')?.textContent]),
        )
      assert.deepEqual(new Map(rows.map(([h, k]) => [h, Number(k)])), hosts)
    }
    // The hosts table's failed column.
    const hostRows = await page
      .locator('#host-table tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [
          tr.querySelector('th')?.textContent,
          tr.querySelector('td[data-label="Failed"]')?.textContent,
        ]),
      )
    assert.deepEqual(new Map(hostRows.map(([h, k]) => [h, Number(k)])), byHost)
    // The failures by host, each with its codes: the same counts the other way round.
    const byHostRows = await page
      .locator('[data-figure="by-host"] tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [
          tr.querySelector('th')?.textContent ?? '',
          tr.querySelector('td.n')?.textContent ?? '',
          [...tr.querySelectorAll('a')].map((a) => a.textContent ?? ''),
        ]),
      )
    assert.equal(byHostRows.length, 3)
    for (const [host, n, codes] of byHostRows as [string, string, string[]][]) {
      assert.equal(Number(n), byHost.get(host), host)
      const mine = count(
        failed.filter((m) => new URL(m.url).origin === host),
        (m) => m.error ?? 'unknown',
      )
      assert.deepEqual(new Map(codes.map((t) => [t.split(' ×')[0], Number(t.split(' ×')[1])])), mine, host)
    }
    // A code's link there opens its group.
    await page.locator('[data-figure="by-host"] summary').click()
    const last = page.locator('[data-figure="by-host"] tbody tr a').last()
    const target = await last.getAttribute('href')
    await page.locator(`.failure:has(${target}) summary`).evaluate((s) => {
      ;(s.parentElement as HTMLDetailsElement).open = false
    })
    await last.click()
    assert.equal(
      await page.locator(`.failure:has(${target})`).evaluate((d) => (d as HTMLDetailsElement).open),
      true,
    )

    // Every example opens in the failure viewer, and Right goes through all of them in the page's order.
    const examples = page.locator('#failures li[data-failure]')
    const shownCount = await examples.count()
    assert.equal(
      shownCount,
      failed.length,
      'three hosts a code, fewer than three failures a host: each one shown',
    )
    await page.locator('.failure[data-code="http-500"] [data-failure-open]').first().click()
    await page.getByRole('dialog', { name: 'http-500' }).waitFor()
    const first = new Map(await storyFacts(page))
    assert.equal(first.get('HTTP status'), '500')
    assert.equal(first.get('Attempts'), '2')
    assert.equal(
      first.get('Answers'),
      'HTTP 500 ×2',
      'what the attempts got: the journal counts their answers',
    )
    assert.match(first.get('URL') ?? '', /\/down/)
    assert.match(first.get('Host') ?? '', /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.match(first.get('Rerun') ?? '', /^passing/)
    const buttons = await page
      .locator('#failure-viewer button')
      .evaluateAll((bs) => bs.map((b) => b.getAttribute('aria-label') ?? b.textContent))
    assert.deepEqual(buttons, ['Close the failure', 'Previous failure', 'Copy the URL', 'Next failure'])

    // From the first example of the page's order to its last, each once.
    await page.keyboard.press('Escape')
    await page.waitForFunction(() => !(document.getElementById('failure-viewer') as HTMLDialogElement).open)
    // Closed: the focus back on the button of the failure last shown (the address has a fragment,
    // #failure-N, from the link followed above: see the test of a section's link below).
    await page.waitForFunction(
      () => document.activeElement?.closest('.failure')?.getAttribute('data-code') === 'http-500',
    )
    assert.equal(await page.evaluate(() => document.activeElement?.matches('[data-failure-open]')), true)
    await examples.first().locator('[data-failure-open]').click()
    const seen: string[] = []
    for (let i = 0; i < shownCount; i++) {
      const facts = new Map(await storyFacts(page))
      seen.push(`${await page.locator('#failure-name').textContent()} ${facts.get('URL')}`)
      assert.equal(
        await page.locator('#failure-viewer [data-viewer-at]').textContent(),
        `${i + 1} of ${shownCount}`,
      )
      await page.keyboard.press('ArrowRight')
    }
    const written = await examples.evaluateAll((lis) =>
      lis.map(
        (li) =>
          `${li.closest('.failure')?.getAttribute('data-code')} ${li.querySelector('code')?.textContent}`,
      ),
    )
    assert.deepEqual(seen, written)
    assert.ok(await page.locator('#failure-viewer [data-viewer-next]').isDisabled())
    // The redirect's failure says where it led.
    const moved = await examples.evaluateAll((lis) =>
      lis.findIndex((li) => li.textContent?.includes('moved.jpg')),
    )
    assert.ok(moved >= 0)
    for (let i = shownCount - 1; i > moved; i--) await page.keyboard.press('ArrowLeft')
    const redirect = new Map(await storyFacts(page))
    assert.match(redirect.get('Redirected to') ?? '', /moved-away\.jpg/)
    assert.equal(redirect.get('HTTP status'), '404')
    // Back closes it, as Esc does.
    await page.goBack()
    await page.waitForFunction(() => !(document.getElementById('failure-viewer') as HTMLDialogElement).open)

    // The failures sorted by code: the viewer steps in that order.
    await page.selectOption('#failures select[data-failure-sort]', 'code')
    await examples.first().locator('[data-failure-open]').click()
    const sortedFirst = await page.locator('#failure-name').textContent()
    assert.equal(sortedFirst, [...byCode.keys()].sort()[0])
    // A reload keeps it open, on the same failure.
    const before = await storyFacts(page)
    await page.reload()
    await page.waitForSelector('html[data-ready]')
    assert.equal(await storyOpen(page), true)
    assert.deepEqual(await storyFacts(page), before)

    // Copy the URL, and each rerun list's command: to the clipboard, as the page shows them.
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'])
    try {
      await page.locator('#failure-viewer [data-copy-url]').click()
      await page.locator('#failure-viewer [data-copied]').getByText('Copied.').waitFor()
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), new Map(before).get('URL'))
      await page.keyboard.press('Escape')
      await page.waitForFunction(() => !(document.getElementById('failure-viewer') as HTMLDialogElement).open)
      const all = page.locator('[data-figure="failed-list"] .copy-cmd').first()
      await all.click()
      await page.locator('[data-figure="failed-list"] .copied').first().getByText('Copied.').waitFor()
      assert.equal(
        await page.evaluate(() => navigator.clipboard.readText()),
        `imgpull status real-failures --failed > failed.txt`,
      )
    } finally {
      await browser.context.clearPermissions()
    }
    // The list the command writes is the manifest's failed URLs, to feed back to imgpull.
    const listed = await runCli(['status', out, '--failed'])
    assert.deepEqual(listed.stdout.trim().split('\n').sort(), failed.map((m) => m.url).sort())
    assertQuiet(log)
    await page.close()

    // A rerun of the same command: the 500s tried again, the permanent ones skipped as failed before;
    // the page's counts are still the manifest's, the examples' stories those of the failures shown.
    const again = await runCli([list, '-o', out, '--retries', '1'])
    assert.notEqual(again.code, null, again.stderr)
    const rerun = (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { url: string; status: string; error?: string })
      .filter((m) => m.status === 'failed')
    const second = await openReport(join(out, 'report.html'))
    assert.equal(
      await second.page
        .locator('[data-figure="failed"]')
        .evaluate((dd) => dd.firstChild?.textContent?.trim()),
      String(rerun.length),
    )
    const causesAgain = await second.page
      .locator('[data-figure="causes"] a[href^="#failure-"]')
      .allTextContents()
    assert.deepEqual(
      new Map(causesAgain.map((t) => [t.split(' ×')[0], Number(t.split(' ×')[1])])),
      count(rerun, (m) => m.error ?? 'unknown'),
    )
    await second.page.locator('.failure[data-code="http-404"] [data-failure-open]').first().click()
    assert.match(
      new Map(await storyFacts(second.page)).get('Rerun') ?? '',
      /failed in an earlier run, skipped by this one/,
    )
    assertQuiet(second.log)
    await second.page.close()
  } finally {
    await Promise.all(servers.map((s) => s.close()))
  }
})

test('hostile URLs and messages stay text in the failure viewer: no markup, no script, quotes and a U+202E inert, a 5 KB line wraps in the window', async () => {
  const out = join(root, 'failure-xss')
  await mkdir(out, { recursive: true })
  const host = 'https://images.example.com'
  const long = 'x'.repeat(5_000)
  const items: ReportItem[] = [
    {
      url: `${host}/a.jpg?q="><script>window.__xss=8</script>\u202egnp.exe`,
      host,
      status: 'failed',
      error: 'http-404',
      httpStatus: 404,
      message: `HTTP 404: <img src=x onerror="window.__xss=9"> '\u202e' ${long}`,
      attempts: 1,
      answers: { '404': 1 },
      finalUrl: `${host}/b.jpg?"><svg onload=window.__xss=10>`,
    },
    {
      url: `${host}/${long}.jpg`,
      host,
      status: 'failed',
      error: '<script>window.__xss=11</script>',
      message: '\u202b"quoted" <b>bold</b>',
      attempts: 3,
    },
  ]
  const { page, log } = await openReport(
    await writeReport(out, {
      title: 'xss',
      startedAt: T0,
      endedAt: T0 + 100,
      interrupted: false,
      items,
      samples: [],
    }),
    { width: 390, height: 800 },
  )
  const examples = page.locator('#failures li[data-failure]')
  assert.equal(await examples.count(), 2)
  await examples.first().locator('[data-failure-open]').click()
  for (let i = 0; i < 2; i++) {
    const facts = new Map(await storyFacts(page))
    const url = facts.get('URL') ?? ''
    assert.ok(!url.includes('\u202e'), `no U+202E acts in the URL: ${url}`)
    const message = (await page.locator('#failure-viewer [data-viewer-caption]').textContent()) ?? ''
    if ((await page.locator('#failure-name').textContent()) === 'http-404') {
      assert.match(url, /<script>window\.__xss=8<\/script>/)
      assert.match(message, /<img src=x onerror="window\.__xss=9">/)
      assert.match(facts.get('Redirected to') ?? '', /"><svg onload=window\.__xss=10>/)
    } else {
      assert.match(
        (await page.locator('#failure-name').textContent()) ?? '',
        /<script>window\.__xss=11<\/script>/,
      )
      assert.match(message, /"quoted" <b>bold<\/b>/)
    }
    assert.equal(
      await page
        .locator('#failure-viewer script, #failure-viewer svg, #failure-viewer img, #failure-viewer b')
        .count(),
      0,
    )
    // The message in its own direction, isolated; the URL left to right: a long line wraps inside the window.
    assert.equal(await page.locator('#failure-viewer [data-viewer-caption]').getAttribute('dir'), 'auto')
    const wide = await page.evaluate(() => {
      const d = document.getElementById('failure-viewer') as HTMLElement
      return [...d.querySelectorAll('dd, p, h2')].some(
        (e) => e.getBoundingClientRect().right > window.innerWidth + 1,
      )
    })
    assert.equal(wide, false, 'nothing runs out of the window')
    await page.keyboard.press('ArrowRight')
  }
  await page.keyboard.press('Escape')
  assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined)
  assertQuiet(log)
  await page.close()
})

test('a viewer closed after a link of the page was followed (the address ends in #images) gives the focus back to the tile: Back to that entry dropped it to the document', async () => {
  const out = join(root, 'viewer-fragment')
  const input = await sheetOf(out, 5, 'f', 'fragment')
  const { page, log } = await openReport(await writeReport(out, input))
  await page.locator('nav.sections a[href="#images"]').click()
  assert.match(page.url(), /#images$/)
  await page.locator('.sheet .tile[title="f2.png"]').click()
  assert.equal(await viewing(page), true)
  await page.keyboard.press('Escape')
  await closed(page)
  // Chromium scrolls to the fragment's target as Back reaches the entry, after the viewer gave the
  // focus back: the tile lost it to the document, a keyboard's place at the top of the page.
  await page.waitForFunction(() => document.activeElement?.getAttribute('title') === 'f2.png', null, {
    timeout: 5_000,
  })
  assert.equal(await focusedTitle(page), 'f2.png')
  assertQuiet(log)
  await page.close()
})

test("the concurrency charts are of hosts whose transfers span the run, each plot level with its row's: a dead host's one moment in flight was a chart of a dash, and a caption of two lines dropped its plot below its neighbours'", async () => {
  const out = join(root, 'charts-row')
  const run = await makeRun(out)
  const long = 'https://a-rather-long-image-host-name.images.cdn.example.net'
  const samples = [...run.samples]
  for (let s = 3; s < 20; s++)
    samples.push({ t: T0 + s * 1000, host: long, limit: 16, inFlight: 1 + (s % 4) })
  // Five dead domains, each in flight for one sampled moment (its name looked up, and not found).
  for (let d = 1; d <= 5; d++)
    samples.push({ t: T0 + 1000, host: `http://dead-${d}.invalid`, limit: 16, inFlight: 1 })
  const path = await writeReport(out, { ...run.input, samples })
  const { page, log } = await openReport(path, { width: 1280, height: 900 })
  assert.deepEqual(
    await page
      .locator('svg[data-chart="concurrency"]')
      .evaluateAll((svgs) => svgs.map((svg) => svg.getAttribute('data-host'))),
    [HOSTS[0], HOSTS[1], long],
  )
  assert.match(await text(page, '#concurrency-h + .lead'), /for the 3 busiest hosts\.$/)
  const boxes = await page.locator('.multiples .panel').evaluateAll((panels) =>
    panels.map((panel) => {
      const caption = (panel.querySelector('figcaption') as HTMLElement).getBoundingClientRect()
      const plot = (panel.querySelector('.plot') as Element).getBoundingClientRect()
      return {
        row: Math.round(panel.getBoundingClientRect().top),
        lines: Math.round(caption.height),
        plot: plot.top,
      }
    }),
  )
  assert.equal(new Set(boxes.map((b) => b.row)).size, 1, `one row: ${JSON.stringify(boxes)}`)
  assert.ok(new Set(boxes.map((b) => b.lines)).size > 1, `a caption wraps: ${JSON.stringify(boxes)}`)
  assert.ok(
    boxes.every((b) => Math.abs(b.plot - boxes[0].plot) < 1),
    `the plots level: ${JSON.stringify(boxes)}`,
  )
  assertQuiet(log)
  await page.close()
})

test("on a touch screen, where every caption is shown, each image is whole above its name and figures: over it, the band hid three quarters of a phone's tile", async () => {
  const out = join(root, 'touch-whole')
  const run = await makeRun(out)
  const path = await writeReport(out, run.input)
  const { page: phone, log } = await openOnTouchPhone(path)
  const tiles = await phone.locator('.sheet .tile').evaluateAll((tiles) =>
    tiles.flatMap((tile) => {
      const img = tile.querySelector('img')
      if (!img) return []
      const i = img.getBoundingClientRect()
      const c = (tile.querySelector('.cap') as HTMLElement).getBoundingClientRect()
      return [
        {
          width: i.width,
          height: i.height,
          bottom: i.bottom,
          cap: c.top,
          tile: tile.getBoundingClientRect().width,
        },
      ]
    }),
  )
  assert.ok(tiles.length >= 10, `${tiles.length} tiles`)
  for (const t of tiles) {
    assert.ok(t.cap >= t.bottom - 0.5, `a caption over its image: ${JSON.stringify(t)}`)
    assert.ok(Math.abs(t.width - t.tile) < 0.5 && Math.abs(t.height - t.width) < 0.5, JSON.stringify(t))
  }
  assert.equal(await phone.evaluate(() => document.documentElement.scrollWidth), 390)
  await phone.screenshot({ path: join(root, 'touch-whole.png') })
  assertQuiet(log)
  await phone.close()
})
