import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { JobRecord } from '../src/journal/journal.js'
import { naturalOrder, utcTime } from '../src/report/format.js'
import { sharedUrl } from '../src/report/html/failures.js'
import {
  axisTime,
  binCount,
  binStep,
  busiestSampled,
  byteRateUnit,
  clock,
  concurrency,
  concurrencyChart,
  describeError,
  EXAMPLE_CHARS,
  EXAMPLE_HOSTS,
  esc,
  FailureTally,
  failureKind,
  failureStory,
  failuresByHost,
  fileHref,
  foldAlike,
  groupFailures,
  type HostSample,
  HostTally,
  hostTable,
  httpHref,
  isTransient,
  jsonForScript,
  MsHistogram,
  niceCeil,
  type ReportInput,
  type ReportItem,
  readableOrigin,
  redactCommand,
  renderReport,
  rerunPlan,
  resolveRenderOptions,
  sampleSheet,
  short,
  stepLabel,
  summarize,
  sumRows,
  throughput,
  writeReport,
} from '../src/report/html/index.js'
import { viewerFigures, viewerUrl, viewerUrls } from '../src/report/html/page.js'
import type { SheetEntry } from '../src/report/html/sheet.js'
import { reportItem } from '../src/report/run-report.js'
import type { RunInfo } from '../src/types.js'
import { LONE_SURROGATE } from '../src/utils/printable.js'
import { shownUrl } from '../src/utils/url.js'

const item = (over: Partial<ReportItem>): ReportItem => ({
  url: 'https://a.example/x.jpg',
  host: 'https://a.example',
  status: 'ok',
  attempts: 1,
  ...over,
})

test('summary: counts by status, bytes downloaded and on disk, rates over wall time', () => {
  const items = [
    item({ bytes: 1000 }),
    item({ bytes: 3000 }),
    item({ status: 'skipped', bytes: 500 }),
    item({ status: 'failed', bytes: 99 }),
    item({ status: 'pending' }),
  ]
  assert.deepEqual(summarize(items, 10_000, 12_000), {
    total: 5,
    ok: 2,
    skipped: 1,
    failed: 1,
    failedBefore: 0,
    pending: 1,
    bytes: 4000,
    bytesOnDisk: 4500,
    wallMs: 2000,
    imagesPerSecond: 1,
    bytesPerSecond: 2000,
  })
  const instant = summarize([item({ bytes: 5 })], 5, 5)
  assert.equal(instant.imagesPerSecond, 0, 'no division by a zero wall time')
  assert.equal(summarize([], 9, 3).wallMs, 0, 'an end before the start is no time, not a negative one')
})

test('transient codes: what a plain rerun tries again (the same rule as the planner)', () => {
  const table: [string | undefined, boolean][] = [
    ['timeout', true],
    ['network', true],
    ['truncated', true],
    ['http-429', true],
    ['http-503', true],
    ['http-522', true],
    ['http-408', true],
    ['http-404', false],
    ['http-501', true],
    ['http-5030', false],
    ['dns', true],
    ['not-an-image', false],
    ['too-large', false],
    ['invalid-url', false],
    [undefined, false],
  ]
  for (const [code, expected] of table) assert.equal(isTransient(code), expected, String(code))
})

test('failures: grouped by code then host, most first, examples capped and redacted', () => {
  const a = 'https://a.example'
  const b = 'https://b.example'
  const items = [
    item({ status: 'failed', host: b, url: `${b}/1`, error: 'http-404', message: 'm1' }),
    item({ status: 'failed', host: a, url: 'https://u:pw@a.example/2', error: 'http-404', message: 'm2' }),
    item({ status: 'failed', host: a, url: `${a}/3`, error: 'http-404' }),
    item({ status: 'failed', host: a, url: `${a}/4`, error: 'http-404' }),
    item({ status: 'failed', host: a, url: `${a}/5`, error: 'http-404' }),
    item({ status: 'failed', host: b, url: `${b}/6`, error: 'timeout' }),
    item({ status: 'failed', host: b, url: `${b}/7`, error: 'timeout', retryable: false }),
    item({ status: 'failed', host: a, url: `${a}/8` }),
    item({ status: 'ok', host: a, error: 'ignored' }),
  ]
  // The stories (the failure viewer's) are tested apart: see failureStory.
  const told = groupFailures(items, 2).map((g) => ({
    ...g,
    hosts: g.hosts.map((h) => ({ ...h, examples: h.examples.map(({ story: _, ...e }) => e) })),
  }))
  assert.deepEqual(told, [
    {
      code: 'http-404',
      count: 5,
      transient: 0,
      sharePages: 0,
      hosts: [
        {
          host: a,
          count: 4,
          examples: [{ url: 'https://a.example/2', message: 'm2' }, { url: `${a}/3` }],
        },
        { host: b, count: 1, examples: [{ url: `${b}/1`, message: 'm1' }] },
      ],
    },
    // The item's own flag wins over its code: one of the two timeouts is not transient.
    {
      code: 'timeout',
      count: 2,
      transient: 1,
      sharePages: 0,
      hosts: [{ host: b, count: 2, examples: [{ url: `${b}/6` }, { url: `${b}/7` }] }],
    },
    {
      code: 'unknown',
      count: 1,
      transient: 0,
      sharePages: 0,
      hosts: [{ host: a, count: 1, examples: [{ url: `${a}/8` }] }],
    },
  ])
  // A signed or data: URL of kilobytes, and a message of as many (quoting another URL): cut, the
  // whole line being in the manifest.
  const long = `${a}/${'x'.repeat(4000)}`
  const [cut] = groupFailures([
    item({ status: 'failed', host: a, url: long, error: 'http-404', message: `redirect to ${long}/y` }),
  ])
  const example = cut.hosts[0].examples[0]
  assert.equal(example.url.length, EXAMPLE_CHARS)
  assert.ok(example.url.endsWith('…') && long.startsWith(example.url.slice(0, -1)))
  assert.equal(example.message?.length, EXAMPLE_CHARS)
  // A message that quotes a URL with a user and password (a journal written before messages took
  // them out, a server's Location that does not parse) shows neither: the page is for sharing.
  const [quoting] = groupFailures([
    item({
      status: 'failed',
      error: 'bad-redirect',
      message: 'redirect to no valid URL ("http://admin:hunter2@[::1/x.jpg") for https://a.example/1',
    }),
  ])
  assert.equal(
    quoting.hosts[0].examples[0].message,
    'redirect to no valid URL ("http://[::1/x.jpg") for https://a.example/1',
  )
  assert.deepEqual(rerunPlan([...items, item({ status: 'pending' }), item({ status: 'skipped' })]), {
    pending: 1,
    failed: 8,
    transient: 1,
    permanent: 7,
    input: 0,
    sharePages: 0,
    otherInput: 0,
  })
  // Jobs another input left in the folder are listed with the failures, not in what a rerun does.
  const other = [
    item({ status: 'failed', error: 'http-503', otherInput: true }),
    item({ status: 'failed', error: 'http-404', otherInput: true }),
    item({ status: 'pending', otherInput: true }),
  ]
  assert.deepEqual(rerunPlan([...items, ...other]), {
    pending: 0,
    failed: 10,
    transient: 1,
    permanent: 7,
    input: 0,
    sharePages: 0,
    otherInput: 3,
  })
})

test('failures at hosts of equal counts: the hosts shown first are those with examples, in natural order (h9 before h10)', () => {
  // Dead domains failing once each, their names unpadded: text order (h10 before h9) had kept the
  // examples of h0, h1, h10, h100... while the page shows h0, h1, h2...: 40 codes of an ML team's
  // 100,000-URL run showed ten hosts each and no example at all.
  const hosts = Array.from({ length: 200 }, (_, i) => `https://h${i}.example`)
  const failed = hosts.map((host) =>
    item({ status: 'failed', error: 'http-500', host, url: `${host}/a.jpg`, message: 'HTTP 500' }),
  )
  const [group] = groupFailures(failed)
  assert.deepEqual(
    group.hosts.slice(0, EXAMPLE_HOSTS).map((h) => [h.host, h.examples.length]),
    hosts.slice(0, EXAMPLE_HOSTS).map((host) => [host, 1]),
  )
  assert.ok(group.hosts.slice(EXAMPLE_HOSTS).every((h) => h.examples.length === 0))
})

test('failures at many hosts: examples only for the first hosts of a code, in bounded memory', () => {
  // A scraped list's dead domains: most hosts fail once, a few often, in an order no one chose.
  let seed = 7
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed / 2147483648
  }
  const hosts = Array.from({ length: 500 }, (_, i) => `https://h${String(i).padStart(3, '0')}.example`)
  const stream = Array.from({ length: 3000 }, () => hosts[Math.floor(random() ** 3 * hosts.length)]!)
  const tally = new FailureTally(3)
  for (const [i, host] of stream.entries())
    tally.add(item({ status: 'failed', error: 'dns', host, url: `${host}/${i}.jpg`, message: `failed ${i}` }))
  const [group] = tally.groups()
  // Counts and order are exact, whatever kept examples.
  const counts = new Map<string, number>()
  for (const host of stream) counts.set(host, (counts.get(host) ?? 0) + 1)
  const order = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
  assert.deepEqual(
    group.hosts.map((h) => [h.host, h.count]),
    order,
  )
  // The first EXAMPLE_HOSTS hosts have examples (failures at that host, in input order); no other does.
  assert.ok(group.hosts.length > EXAMPLE_HOSTS)
  for (const [rank, h] of group.hosts.entries()) {
    if (rank >= EXAMPLE_HOSTS) {
      assert.deepEqual(h.examples, [], `${h.host} keeps nothing`)
      continue
    }
    assert.ok(h.examples.length >= 1 && h.examples.length <= 3, h.host)
    const at = h.examples.map((e) => Number(/failed (\d+)/.exec(e.message!)![1]))
    assert.deepEqual(
      at,
      [...at].sort((a, b) => a - b),
      'in input order',
    )
    for (const i of at) assert.equal(stream[i], h.host)
  }

  // 200,000 hosts failing once each: counts, not 2 KB of examples each.
  const many = new FailureTally(3)
  const long = 'p'.repeat(250)
  globalThis.gc?.()
  const start = process.memoryUsage().heapUsed
  for (let i = 0; i < 200_000; i++) {
    const host = `https://dead-${i}.example`
    many.add(
      item({
        status: 'failed',
        error: 'dns',
        host,
        url: `${host}/${long}/${i}.jpg`,
        message: `host not found for ${host}/${long}/${i}.jpg`,
      }),
    )
  }
  globalThis.gc?.()
  const grown = (process.memoryUsage().heapUsed - start) / 1e6
  assert.equal(many.groups()[0].hosts.length, 200_000)
  assert.ok(grown < 150, `${grown.toFixed(0)} MB for 200,000 hosts`)
})

// A scraped list's hosts serve a file each: each host's TTFB histogram was a Map (some 1 KB a host)
// and each row of the table a spread copy (a dictionary): 200,000 such hosts held 190 MB, and a
// report of 500,000 took 690 MB and 9 s to write at the end of the run.
test('hosts answering once each: the host table holds a few hundred bytes a host', () => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const tally = new HostTally()
  gc()
  const start = process.memoryUsage().heapUsed
  const count = 200_000
  for (let i = 0; i < count; i++) {
    const host = `https://h-${i}.example`
    tally.add(item({ host, url: `${host}/a.jpg`, httpStatus: 200, ttfb: 20 + (i % 50) }))
  }
  const rows = tally.rows()
  gc()
  const grown = (process.memoryUsage().heapUsed - start) / 1e6
  assert.equal(rows.length, count)
  assert.deepEqual(rows[0], {
    host: 'https://h-0.example',
    requests: 1,
    ok: 1,
    skipped: 0,
    failed: 0,
    pending: 0,
    answers429: 0,
    answers503: 0,
    ttfbMedian: 20,
    ttfbP95: 20,
  })
  assert.equal(rows.at(-1)!.host, `https://h-${count - 1}.example`, 'ties in natural order')
  assert.ok(grown < 130, `${grown.toFixed(0)} MB for ${count} hosts and their rows`)
})

test('failure codes are explained; an unknown code is not made up', () => {
  assert.match(describeError('http-404')!, /^Not found/)
  assert.match(describeError('http-502')!, /^Server error 502/)
  assert.match(describeError('http-418')!, /HTTP 418/)
  assert.match(describeError('not-an-image')!, /HTML page/)
  assert.equal(describeError('http-302'), undefined)
  assert.equal(describeError('weird-thing'), undefined)
})

test("a failure group's tag is in the rerun advice's words: passing, permanent, or mend the input", () => {
  const table: [string, number, number, string][] = [
    ['timeout', 3, 3, 'passing'],
    ['http-404', 2, 0, 'permanent'],
    ['timeout', 2_500, 1_200, '1,200 passing'],
    // No request is made for these: --retry-failed, which "permanent" points to, cannot help.
    ['invalid-url', 1, 0, 'mend the input'],
    ['invalid-row', 4, 0, 'mend the input'],
    ['invalid-hash', 1, 0, 'mend the input'],
  ]
  for (const [code, count, transient, word] of table)
    assert.equal(failureKind({ code, count, transient }), word, `${code} ${transient}/${count}`)
  const page = renderReport({
    title: 'out',
    startedAt: Date.parse('2026-01-01T00:00:00Z'),
    endedAt: Date.parse('2026-01-01T00:00:01Z'),
    interrupted: false,
    items: [
      item({ status: 'failed', error: 'timeout' }),
      item({ status: 'failed', error: 'http-404' }),
      item({ host: '', url: 'example.com/x.jpg', status: 'failed', error: 'invalid-url' }),
    ],
    samples: [],
  })
  const tags = [...page.matchAll(/<span class="tag( permanent)?">([^<]*)<\/span>/g)].map((m) => m[2])
  assert.deepEqual(tags.sort(), ['mend the input', 'passing', 'permanent'])
  assert.doesNotMatch(page, />transient</, 'the advice says passing; the tags say it too')
})

test('a run going on that downloaded nothing yet says so, not nothing "during this run"', () => {
  // Nothing downloaded in a run going on is nothing so far: 'during this run' read as a run over, as
  // superplanehq/superplane#3261's running jobs said 'No data returned'.
  const none = {
    items: [item({ status: 'pending' as const }), item({ status: 'failed' as const, error: 'http-404' })],
  }
  assert.match(
    renderReport(input({ ...none, running: true })),
    /Nothing was downloaded yet: the run is still going on\./,
  )
  assert.match(
    renderReport(input({ ...none, interrupted: true })),
    /Nothing was downloaded during this run\./,
  )
})

test("the command that lists the failed URLs reads the journal, said also after a kill; the jq one where the manifest beside the page is the run's only", () => {
  // A killed run's manifest is an earlier run's, or none: `imgpull report` after a kill -9. The
  // journal knows every failure all the same: the page named no way to list them.
  const killed = renderReport(input({ interrupted: true, folder: 'photos' }))
  assert.match(killed, /data-failed-list="\*">imgpull status photos --failed &gt; failed\.txt</)
  assert.match(killed, /data-failed-list="http-404">imgpull status photos --failed http-404 &gt; 404\.txt</)
  assert.doesNotMatch(killed, /data-failed-list-jq/)
  const lists = renderReport(input({ interrupted: true, manifest: true, folder: 'photos' }))
  assert.match(lists, /data-failed-list="\*"/)
  assert.match(lists, /data-failed-list-jq="\*">jq -r /)
  // A run going on: the list so far (a rerun is refused then, a list is not).
  assert.match(renderReport(input({ running: true, folder: 'photos' })), /data-failed-list="http-404"/)
  // A folder's name the shell would split or take for an option, quoted; without one, the title's.
  assert.match(
    renderReport(input({ folder: "my photos's" })),
    /imgpull status &#39;my photos&#39;\\&#39;&#39;s&#39; --failed/,
  )
  assert.match(renderReport(input({ folder: '-x' })), /imgpull status \.\/-x --failed/)
  assert.match(renderReport(input()), /imgpull status &#39;out &lt;b&gt;&#39; --failed/)
})

test("the hosts table counts attempts, not requests: a refused connection's failure says no request reached the host", () => {
  const refused = item({
    url: 'http://127.0.0.1:1/a.jpg',
    host: 'http://127.0.0.1:1',
    status: 'failed',
    error: 'network',
    attempts: 2,
    message:
      'network error on http://127.0.0.1:1/a.jpg: the connection was refused (ECONNREFUSED): nothing listens on its port, no request this run reached it',
  })
  const page = renderReport({
    title: 'out',
    startedAt: Date.parse('2026-01-01T00:00:00Z'),
    endedAt: Date.parse('2026-01-01T00:00:01Z'),
    interrupted: false,
    items: [refused],
    samples: [],
  })
  // It said "Requests 2" beside that message.
  assert.match(page, /<th scope="col" class="n"><abbr title="tries of its files[^"]*">Attempts<\/abbr><\/th>/)
  assert.doesNotMatch(page, />Requests</)
})

test('percentiles by nearest rank, at whole milliseconds', () => {
  const table: [number[], number, number | undefined][] = [
    [[], 0.5, undefined],
    [[7], 0.5, 7],
    [[7], 0.95, 7],
    [[1, 2, 3, 4], 0.5, 2],
    [[4, 3, 2, 1], 0.5, 2],
    [[1, 2, 3, 4, 5], 0.5, 3],
    [Array.from({ length: 100 }, (_, i) => i + 1), 0.95, 95],
    [Array.from({ length: 100 }, (_, i) => i + 1), 0.5, 50],
    [[10.4, 10.6, 10.6], 0.5, 11],
    [[5, -1, Number.NaN, 6], 0.5, 5],
    [[7, 7, 9], 0.5, 7],
    [[7, 7, 9], 0.95, 9],
    [[9, 7, 7], 0.5, 7],
    [[-1, 8.2, 8], 0.5, 8],
  ]
  for (const [values, p, expected] of table) {
    const h = new MsHistogram()
    for (const v of values) h.add(v)
    assert.equal(h.percentile(p), expected, `${values.slice(0, 6)} p${p}`)
  }
})

test("utcTime: a moment in UTC to the second (the report) or the minute (a certificate's dates)", () => {
  const table: [number, 'second' | 'minute' | undefined, string][] = [
    [Date.UTC(2020, 0, 2), undefined, '2020-01-02 00:00:00 UTC'],
    [Date.UTC(2020, 0, 2), 'minute', '2020-01-02 00:00 UTC'],
    [Date.UTC(2026, 11, 3, 22, 50, 59, 999), 'second', '2026-12-03 22:50:59 UTC'],
    [Date.UTC(2026, 11, 3, 22, 50, 59, 999), 'minute', '2026-12-03 22:50 UTC'],
    [0, undefined, '1970-01-01 00:00:00 UTC'],
  ]
  for (const [ms, to, expected] of table) assert.equal(utcTime(ms, to), expected, `${ms} ${to}`)
})

test('naturalOrder: digits as numbers, the rest and its ties by code unit, the same on every machine', () => {
  // [a, b, sign]: where Intl.Collator(undefined, { numeric: true }) differs, it is said.
  const table: [string, string, -1 | 0 | 1][] = [
    ['img9', 'img10', -1],
    ['10.0.0.9', '10.0.0.10', -1],
    ['10.0.0.100', '10.0.0.10', 1],
    ['http://10.0.0.9:8080', 'http://10.0.0.9:80', 1],
    ['img09', 'img9', -1], // Intl: equal
    ['a0', 'a00', -1], // Intl: equal
    ['a1b', 'a01b', 1], // Intl: equal
    ['img007', 'img7', -1], // Intl: equal
    ['a99999999999999999999', 'a100000000000000000000', -1], // past 2^53, by digit count
    ['Img9', 'img9', -1], // Intl: lower case first
    ['B.example', 'a.example', -1], // Intl: a before B
    ['aa.example', 'z.example', -1], // Intl in Danish: aa after z
    ['http://[::1]:80', 'http://127.0.0.1:80', 1], // Intl: punctuation before digits
    ['bücher.example', 'bzz.example', 1], // Intl: ü as u
    ['x\u0663', 'x12', 1], // Arabic-Indic digits are not digits here
    ['a-b.example', 'a.example', -1],
    ['img9.example', 'img9-cdn.example', 1],
    ['', 'a', -1],
    ['img9', 'img9', 0],
  ]
  for (const [a, b, sign] of table) {
    assert.equal(Math.sign(naturalOrder(a, b)), sign, `${a} vs ${b}`)
    assert.equal(Math.sign(naturalOrder(b, a)), -sign || 0, `${b} vs ${a}`)
  }
  // A total order: the same list in any order sorts to one result.
  const names = table.flatMap(([a, b]) => [a, b])
  const once = [...names].sort(naturalOrder)
  assert.deepEqual([...names].reverse().sort(naturalOrder), once)
})

test('hosts in a tie are in natural order: 10.0.0.9 before 10.0.0.10, img9 before img10, in the table, the failures and the charts', () => {
  // Sorted as text, `http://10.0.0.10` came before `http://10.0.0.9` and `img10` before `img9`.
  const hosts = [
    'http://10.0.0.10',
    'http://img10.example',
    'http://10.0.0.9',
    'http://img9.example',
    'http://10.0.0.100',
    'http://img09.example',
  ]
  const natural = [
    'http://10.0.0.9',
    'http://10.0.0.10',
    'http://10.0.0.100',
    'http://img09.example',
    'http://img9.example',
    'http://img10.example',
  ]
  assert.deepEqual(
    hostTable(hosts.map((host) => item({ host }))).map((r) => r.host),
    natural,
  )
  const failed = hosts.map((host) =>
    item({ host, url: `${host}/a.jpg`, status: 'failed', error: 'http-404', httpStatus: 404 }),
  )
  assert.deepEqual(
    groupFailures(failed)[0].hosts.map((h) => h.host),
    natural,
  )
  assert.deepEqual(
    busiestSampled(
      hosts.map((host) => ({ t: 0, host, inFlight: 1, limit: 4 })),
      6,
    ),
    natural,
  )
})

test("hosts of the same figures are one line of the host table, at the first one's place; fewer than five alike stay one a line; the rest line counts each host", () => {
  // A scraped list's dead domains, each tried once, failed, no byte heard: the table listed 55 such
  // rows between the hosts that served, as thomhurst/TUnit#5484's summary listed 12 tests failed
  // alike as 12 rows (elastic/kibana#132291: tables repeating what rows share are hard to read).
  const dead = Array.from({ length: 5 }, (_, i) => `https://gone${i + 1}.example`)
  const rows = hostTable([
    ...[1, 2, 3].map(() => item({ host: 'https://a.example', ttfb: 40 })),
    // Four alike (each one ok, first byte at 50 ms): named one a line.
    ...['b', 'c', 'd', 'e'].map((h) => item({ host: `https://${h}.example`, ttfb: 50 })),
    ...dead.map((host) => item({ host, status: 'failed', error: 'network' })),
    item({ host: 'https://z.example', ttfb: 70 }),
  ])
  const lines = foldAlike(rows)
  assert.deepEqual(
    lines.map((l) => l.hosts),
    [
      ['https://a.example'],
      ['https://b.example'],
      ['https://c.example'],
      ['https://d.example'],
      ['https://e.example'],
      dead,
      ['https://z.example'],
    ],
  )
  assert.equal(lines[5].figures.failed, 1, 'the figures of each host, not their sum')
  assert.deepEqual(sumRows(lines.slice(5)), {
    requests: 6,
    ok: 1,
    skipped: 0,
    failed: 5,
    pending: 0,
    answers429: 0,
    answers503: 0,
  })
  // The host table of a page of these items, and the options given.
  const hostTableOf = (items: ReportItem[], hostRows = 100) => {
    const html = renderReport(
      { title: 't', startedAt: 0, endedAt: 1000, interrupted: false, items, samples: [] },
      { hostRows },
    )
    const at = html.indexOf('<table id="host-table">')
    return html.slice(at, html.indexOf('</table>', at))
  }
  const failedAt = dead.map((host) => item({ host, status: 'failed', error: 'network' }))
  const folded = hostTableOf(failedAt)
  assert.match(
    folded,
    /<summary>5 hosts with the same figures<\/summary><ul>(<li>https:\/\/gone\d\.example<\/li>){5}<\/ul>/,
  )
  assert.equal(folded.match(/<tr><th scope="row"/g)?.length, 1, 'one line for the five')
  // One line shown (the busiest host); the five alike behind it are counted as hosts in the last line.
  assert.match(
    hostTableOf([...failedAt, item({ host: 'https://a.example', ttfb: 40, attempts: 2 })], 1),
    /<tfoot><tr><th scope="row">5 more hosts<\/th><td class="n" data-label="Attempts">5<\/td>/,
  )
})

test('hosts: requests and answers of this run, TTFB median and p95', () => {
  const a = 'https://a.example'
  const b = 'https://b.example'
  const rows = hostTable([
    item({ host: a, attempts: 3, ttfb: 100, answers: { '429': 2, '200': 1 } }),
    item({ host: a, attempts: 1, ttfb: 300, httpStatus: 200 }),
    item({ host: a, status: 'failed', attempts: 6, httpStatus: 503, answers: { '503': 5, '429': 1 } }),
    item({ host: a, status: 'skipped', attempts: 9, ttfb: 5000, answers: { '429': 9 } }),
    item({ host: b, status: 'failed', attempts: 1, httpStatus: 429 }),
    item({ host: b, status: 'pending', attempts: 0 }),
  ])
  assert.deepEqual(rows, [
    {
      host: a,
      requests: 10,
      ok: 2,
      skipped: 1,
      failed: 1,
      pending: 0,
      answers429: 3,
      answers503: 5,
      ttfbMedian: 100,
      ttfbP95: 300,
    },
    // Without `answers`, the last status stands for one answer; no timings, no TTFB.
    { host: b, requests: 1, ok: 0, skipped: 0, failed: 1, pending: 1, answers429: 1, answers503: 0 },
  ])
})

test('bins: round lengths, at most the asked count, never under a second', () => {
  const table: [number, number, number][] = [
    // span ms, max bins, step ms
    [0, 60, 1000],
    [1500, 60, 1000],
    [60_000, 60, 1000],
    [60_001, 60, 2000],
    [31_400, 60, 1000],
    [600_000, 60, 10_000],
    [3_600_000, 60, 60_000],
    [36_000_000, 60, 600_000],
    [36_000_001, 60, 900_000],
    [86_400_000 * 100, 60, 86_400_000 * 2],
  ]
  for (const [span, max, step] of table) {
    assert.equal(binStep(span, max), step, `${span} ms`)
    assert.ok(binCount(span, step) <= Math.max(1, max))
  }
  assert.equal(binCount(0, 1000), 1)
  assert.equal(binCount(31_400, 1000), 32)
})

test('throughput: ok items per bin by finishedAt; a last stretch shorter than a bin joins the bin before', () => {
  const t0 = 1_000_000
  const items = [
    item({ finishedAt: t0, bytes: 100 }),
    item({ finishedAt: t0 + 999, bytes: 100 }),
    item({ finishedAt: t0 + 1000, bytes: 400 }),
    item({ finishedAt: t0 + 2500, bytes: 50 }), // the run's last instant: the last bin
    item({ finishedAt: t0 - 1, bytes: 1 }), // an earlier run's
    item({ bytes: 1 }), // no time
    item({ status: 'failed', finishedAt: t0 }),
    item({ status: 'skipped', finishedAt: t0 }),
  ]
  const tp = throughput(items, t0, t0 + 2500, 60)
  assert.equal(tp.step, 1000)
  assert.equal(tp.outside, 2)
  assert.deepEqual(
    tp.bins.map((b) => [b.start, b.width, b.images, b.bytes, b.imagesPerSecond, b.bytesPerSecond]),
    [
      [0, 1000, 2, 200, 2, 200],
      [1000, 1500, 2, 450, 4 / 3, 300],
    ],
  )
  // A run within one bin: one bar over the whole run, its rate the run's.
  assert.deepEqual(
    throughput([item({ finishedAt: t0 + 100, bytes: 10 })], t0, t0 + 400, 60).bins.map((b) => [
      b.start,
      b.width,
      b.imagesPerSecond,
    ]),
    [[0, 400, 2.5]],
  )
  // A span of whole bins keeps them all, the run's last instant in the last.
  assert.deepEqual(
    throughput([item({ finishedAt: t0 + 2000 })], t0, t0 + 2000, 60).bins.map((b) => [b.width, b.images]),
    [
      [1000, 0],
      [1000, 1],
    ],
  )
})

test("throughput chart of a run stopped by Ctrl-C: the transfers that ended in its last tenth of a second are no spike 10 times the run's pace", () => {
  // 8 transfers at a time, 2 s each: 8 end at 2.0 s, the 8 in flight at Ctrl-C end at 4.05 s of a 4.1 s run.
  const t0 = 1_000_000
  const items = Array.from({ length: 16 }, (_, i) =>
    item({ path: `s${i}.jpg`, bytes: 40_000, finishedAt: t0 + (i < 8 ? 2000 : 4050) }),
  )
  const tp = throughput(items, t0, t0 + 4100, 60)
  const peak = Math.max(...tp.bins.map((b) => b.imagesPerSecond))
  assert.ok(peak <= 8, `no bar above the 8 images a second ever finished: ${peak}`)
  const html = renderReport({
    title: 'out',
    startedAt: t0,
    endedAt: t0 + 4100,
    interrupted: true,
    items,
    samples: [],
  })
  const desc = /<desc id="tp-images-desc">([^<]*)<\/desc>/.exec(html)?.[1]
  assert.equal(desc, '4 bars over 4.1 s; the highest 8 images/s.')
})

test('concurrency: mean in flight and highest limit per interval, gaps where unsampled', () => {
  const t0 = 0
  const s = (t: number, host: string, limit: number, inFlight: number): HostSample => ({
    t,
    host,
    limit,
    inFlight,
  })
  const samples = [
    s(0, 'a', 16, 4),
    s(500, 'a', 8, 2),
    s(2000, 'a', 8, 8),
    s(2000, 'b', 4, 1),
    s(4000, 'a', 8, 5), // the run's end: the last interval
    s(9000, 'a', 8, 5), // after the run
  ]
  assert.deepEqual(busiestSampled(samples, 1), ['a'])
  assert.deepEqual(busiestSampled(samples, 5), ['a', 'b'])
  // b, in flight at one moment, is a dash on an axis of 1 s steps: not charted; nor is a lone a.
  assert.deepEqual(busiestSampled(samples, 5, 1000), ['a'])
  assert.deepEqual(busiestSampled([s(0, 'a', 8, 3), s(0, 'b', 8, 1)], 5, 1000), ['a'])
  const c = concurrency(samples, ['a', 'b'], t0, 4000, 120)
  assert.equal(c.step, 1000)
  assert.deepEqual(c.series, [
    {
      host: 'a',
      points: [{ inFlight: 3, limit: 16 }, null, { inFlight: 8, limit: 8 }, { inFlight: 5, limit: 8 }],
      peakInFlight: 8,
      peakLimit: 16,
    },
    { host: 'b', points: [null, null, { inFlight: 1, limit: 4 }, null], peakInFlight: 1, peakLimit: 4 },
  ])
})

test('contact sheet: every image up to the limit, then a fair sample in run order, the same each time', () => {
  const images = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      item({ path: `p/${i}.jpg`, bytes: i, width: 2, height: 1, format: 'jpg' }),
    )
  const small = sampleSheet([...images(5), item({ status: 'failed' }), item({ status: 'ok' })], 10)
  assert.equal(small.total, 5, 'failures and items without a file are not images')
  assert.deepEqual(small.entries[3], {
    index: 3,
    path: 'p/3.jpg',
    bytes: 3,
    width: 2,
    height: 1,
    format: 'jpg',
    url: 'https://a.example/x.jpg',
  })

  const big = sampleSheet(images(20_000), 1000)
  assert.equal(big.total, 20_000)
  assert.equal(big.entries.length, 1000)
  const indexes = big.entries.map((e) => e.index)
  assert.deepEqual(
    indexes,
    [...indexes].sort((x, y) => x - y),
    'in run order',
  )
  assert.equal(new Set(indexes).size, 1000, 'no image twice')
  // Fair: each tenth of the run holds about a tenth of the sample (not the first 1,000 images).
  const tenths = new Array(10).fill(0)
  for (const i of indexes) tenths[Math.floor(i / 2000)]++
  assert.ok(
    tenths.every((count) => count > 60 && count < 140),
    `spread over the run: ${tenths}`,
  )
  assert.deepEqual(sampleSheet(images(20_000), 1000), big, 'deterministic')
})

test("credits: all up to the contact sheet's limit, then those of its sample, each image shown with its own", () => {
  const N = 500
  const start = Date.parse('2026-01-01T00:00:00Z')
  const items = Array.from({ length: N }, (_, i) => item({ path: `u/${i}.jpg`, finishedAt: start + i }))
  const attribution = items.map((it, i) => ({
    path: it.path as string,
    photographer: `Photographer ${i}`,
    profileUrl: `https://unsplash.com/@p${i}`,
    photoUrl: `https://unsplash.com/photos/${i}`,
  }))
  const input: ReportInput = {
    title: 'u',
    startedAt: start,
    endedAt: start + 1000,
    interrupted: false,
    items,
    samples: [],
    attribution,
  }
  const data = (html: string) =>
    JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)?.[1] ?? 'null')
  const all = data(renderReport(input))
  assert.equal(all.credits.length, N, 'under the limit: every credit')

  const html = renderReport(input, { sheetLimit: 50 })
  const sampled = data(html)
  assert.equal(sampled.sheet.rows.length, 50)
  assert.equal(sampled.credits.length, 50, 'a 100,000-photo run does not embed 100,000 credits')
  for (const row of sampled.sheet.rows) {
    assert.notEqual(row[6], null, `${row[0]} is shown with its credit`)
    assert.equal(sampled.credits[row[6]][0], row[0])
  }
  assert.match(
    html,
    /The 50 of the 500 photos from Unsplash that the contact sheet shows, credited .*ATTRIBUTION\.md<\/code> beside this file credits every one\./,
  )

  // Shards: no contact sheet, so the first credits.
  const shards = renderReport({ ...input, shards: true }, { sheetLimit: 50 })
  assert.deepEqual(
    data(shards).credits.map((c: string[]) => c[0]),
    items.slice(0, 50).map((it) => it.path),
  )
  assert.match(shards, /The first 50 of the 500 photos from Unsplash, credited/)
})

test('escaping: text, script data, links to the web and to files, the command line', () => {
  // A URL pasted into the command with a right-to-left override, a folder named with one: seen as
  // escapes, never acted on (the rest of the line reversed).
  const bidi = renderReport({
    title: 'photos\u202egpj.exe',
    command: "imgpull 'https://a.example/\u202egnp.exe' -o photos",
    startedAt: 0,
    endedAt: 1000,
    interrupted: false,
    items: [],
    samples: [],
  })
  assert.doesNotMatch(bidi, /\u202e/)
  assert.match(bidi, /<h1>photos\\u202egpj\.exe<\/h1>/)
  assert.match(bidi, /<code>\$ imgpull &#39;https:\/\/a\.example\/\\u202egnp\.exe&#39; -o photos<\/code>/)
  assert.equal(esc(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;')
  const tricky = { s: '</script><script>alert(1)</script><!-- \u2028\u2029 & >' }
  const json = jsonForScript(tricky)
  assert.doesNotMatch(json, /[<>&\u2028\u2029]/)
  assert.deepEqual(JSON.parse(json), tricky)

  const hrefs: [string | undefined, string | undefined][] = [
    ['https://unsplash.com/@a?utm_source=imgpull', 'https://unsplash.com/@a?utm_source=imgpull'],
    ['http://x.example/a b', 'http://x.example/a%20b'],
    ['javascript:alert(1)', undefined],
    ['data:text/html,<script>', undefined],
    ['/relative', undefined],
    ['', undefined],
    [undefined, undefined],
  ]
  for (const [url, expected] of hrefs) assert.equal(httpHref(url), expected, String(url))

  const files: [string, string][] = [
    ['photos/a.jpg', 'photos/a.jpg'],
    ['photos/a #1 100%.png', 'photos/a%20%231%20100%25.png'],
    ['photos/q?.jpg', 'photos/q%3F.jpg'],
    ['javascript:alert(1)', 'javascript%3Aalert(1)'],
    ['/etc/passwd', 'etc/passwd'],
    ['<b>"x".jpg', '%3Cb%3E%22x%22.jpg'],
  ]
  for (const [path, expected] of files) assert.equal(fileHref(path), expected, path)

  const commands: [string, string][] = [
    [
      'imgpull unsplash search cats --access-key abc123 -o cats',
      'imgpull unsplash search cats --access-key *** -o cats',
    ],
    ['imgpull unsplash photo x --access-key=abc123', 'imgpull unsplash photo x --access-key=***'],
    ["imgpull x --access-key 'a b'", 'imgpull x --access-key ***'],
    ['imgpull https://user:pw@host.example/a.jpg -o o', 'imgpull https://host.example/a.jpg -o o'],
    ['imgpull urls.txt -o photos', 'imgpull urls.txt -o photos'],
  ]
  for (const [command, expected] of commands) assert.equal(redactCommand(command), expected)

  // Hosts as people read them: an internationalised one in its script, as the list has it.
  const origins: [string, string][] = [
    ['https://xn--r8jz45g.jp', 'https://例え.jp'],
    ['http://img.xn--80aswg.xn--p1ai:8080', 'http://img.сайт.рф:8080'],
    ['https://images.example', 'https://images.example'],
    ['', ''],
    ['not an origin xn--', 'not an origin xn--'],
    // A label mixing scripts no one language mixes stays ASCII, as browsers keep it: a Cyrillic а
    // among Latin letters reads as apple.com, a Greek ο as google.com (UTS #39).
    ['https://xn--pple-43d.com', 'https://xn--pple-43d.com'],
    ['https://xn--gogle-rce.com', 'https://xn--gogle-rce.com'],
    ['https://xn--l-7sba6dbr.com', 'https://xn--l-7sba6dbr.com'],
    ['https://img.xn--pple-43d.xn--p1ai', 'https://img.xn--pple-43d.рф'],
    // Mixes a language writes in: Japanese kana with kanji, Latin with Han or Hangul; one script.
    ['https://xn--eckwd4c7cu47r2wf.jp', 'https://ドメイン名例.jp'],
    ['https://xn--abc-b73b408n.jp', 'https://abc例え.jp'],
    ['https://xn--abc-lt8lk11n.kr', 'https://한국abc.kr'],
    ['https://xn--mxacd.gr', 'https://αβγ.gr'],
  ]
  for (const [origin, expected] of origins) assert.equal(readableOrigin(origin), expected, origin)
  const page = renderReport({
    title: 't',
    startedAt: 0,
    endedAt: 1000,
    interrupted: false,
    samples: [],
    items: [
      {
        url: 'https://例え.jp/a.jpg',
        host: 'https://xn--r8jz45g.jp',
        status: 'failed',
        error: 'http-404',
        attempts: 1,
      },
    ],
  })
  assert.match(page, /<span title="https:\/\/xn--r8jz45g\.jp">https:\/\/例え\.jp<\/span>/)
})

test('chart helpers: round axis tops, clock labels, figures and units for people', () => {
  const tops: [number, number][] = [
    [0, 1],
    [0.7, 1],
    [1, 1],
    [1.2, 2],
    [2.2, 2.5],
    [16, 20],
    [37, 50],
    [120, 200],
    [0.00048, 0.0005],
  ]
  for (const [value, top] of tops) assert.equal(niceCeil(value), top, String(value))
  assert.equal(clock(0), '0:00')
  assert.equal(clock(31_400), '0:31')
  assert.equal(clock(3_725_000), '1:02:05')
  assert.equal(short(0.35), '0.35')
  assert.equal(short(12.345), '12.3')
  assert.equal(short(1234.5), '1235')
  assert.equal(stepLabel(1000), '1 s')
  assert.equal(stepLabel(300_000), '5 min')
  assert.equal(stepLabel(7_200_000), '2 h')
  assert.deepEqual(byteRateUnit(3.2e6), { unit: 'MB/s', scale: 1e6 })
  assert.deepEqual(byteRateUnit(500), { unit: 'B/s', scale: 1 })
})

test('chart axes: a run under 10 s in seconds and tenths, where whole seconds said 0:00 at both ends', () => {
  // 45 Unsplash photos in 0.4 s: its throughput axis read '0:00' to '0:00'.
  const xs = (html: string) =>
    [...html.matchAll(/<div class="x"[^>]*>(.*?)<\/div>/g)].map((m) =>
      [...m[1].matchAll(/<span>([^<]*)<\/span>/g)].map((s) => s[1]),
    )
  const short = input({ endedAt: T0 + 400 })
  // The concurrency chart (small) at its middle, the two throughput charts at their quarters.
  assert.deepEqual(xs(renderReport(short)), [
    ['0 s', '0.2 s', '0.4 s'],
    ['0 s', '0.1 s', '0.2 s', '0.3 s', '0.4 s'],
    ['0 s', '0.1 s', '0.2 s', '0.3 s', '0.4 s'],
  ])
  // An axis that reaches an hour says hours at every mark: '0:45:04', not '45:04' beside '3:00:17'.
  assert.deepEqual(xs(renderReport(input({ endedAt: T0 + 10_817_000 })))[1], [
    '0:00:00',
    '0:45:04',
    '1:30:09',
    '2:15:13',
    '3:00:17',
  ])
  assert.match(renderReport(short), /<th scope="row">0 s–0\.4 s<\/th>/)
  assert.equal(axisTime(9_400, 9_400), '9.4 s')
  // One axis, one precision: a 3.2 s run's quarters read '0.799 s' beside '1.6 s', a 0.318 s
  // run's '0.0795 s' beside '0.159 s'; its end now says what the summary rounds it to.
  const quarters = (span: number) => [0, 0.25, 0.5, 0.75, 1].map((at) => axisTime(at * span, span))
  assert.deepEqual(quarters(3_196), ['0 s', '0.8 s', '1.6 s', '2.4 s', '3.2 s'])
  assert.deepEqual(quarters(3_460), ['0 s', '0.9 s', '1.7 s', '2.6 s', '3.5 s'])
  assert.deepEqual(quarters(318), ['0 s', '0.08 s', '0.16 s', '0.24 s', '0.32 s'])
  assert.deepEqual(quarters(40), ['0 s', '0.01 s', '0.02 s', '0.03 s', '0.04 s'])
  assert.deepEqual(quarters(9_996), ['0 s', '2.5 s', '5 s', '7.5 s', '10 s'])
  assert.equal(axisTime(31_400, 31_400), '0:31')
  assert.equal(axisTime(0, 31_400), '0:00')
})

test('concurrency chart: one vertex per sampled interval; an interval alone between gaps is a level segment its own width', () => {
  // 10 intervals of 1 s over 10 s: plot units 100 an interval, 0 to 1000 across, 0 to 100 down.
  const at = (inFlight: number) => ({ inFlight, limit: 20 })
  const series = {
    host: 'https://a.example',
    points: [at(10), null, null, at(5), at(10), null, null, null, null, at(20)],
    peakInFlight: 20,
    peakLimit: 20,
  }
  const svg = concurrencyChart('c', series, 1000, 10_000)
  const d = (cls: string) => svg.match(new RegExp(`class="${cls}" d="([^"]*)"`))?.[1]
  // First and last alone (clipped to the plot), the middle two joined.
  assert.equal(d('inflight'), 'M0 50L100 50M350 75L450 50M900 0L1000 0')
  assert.equal(d('limit'), 'M0 0L100 0M350 0L450 0M900 0L1000 0')
  // A run of one interval (the short run that showed an empty chart): a segment across it.
  const one = concurrencyChart('d', { ...series, points: [at(3)], peakInFlight: 3 }, 1000, 900)
  assert.match(one, /class="inflight" d="M0 [\d.]+L1000 [\d.]+"/)
})

const T0 = Date.parse('2026-01-01T00:00:00Z')
const input = (over: Partial<ReportInput> = {}): ReportInput => ({
  title: 'out <b>',
  startedAt: T0,
  endedAt: T0 + 5000,
  interrupted: false,
  items: [
    item({ path: 'a.jpg', bytes: 10, finishedAt: T0 + 100 }),
    item({
      status: 'failed',
      error: 'http-404',
      url: 'https://a.example/<script>alert(1)</script>',
      message: '</script>',
    }),
  ],
  samples: [{ t: T0, host: 'https://a.example', limit: 16, inFlight: 1 }],
  ...over,
})

test('the page: a count of none (0 failed, 0 downloaded) is marked so, to be shown in plain ink', () => {
  const cards = (html: string) =>
    [...html.matchAll(/<div class="(ok|failed)( zero)?"><dt>/g)].map((m) => m[0])
  assert.deepEqual(cards(renderReport(input())), ['<div class="ok"><dt>', '<div class="failed"><dt>'])
  const allOk = input({ items: [item({ path: 'a.jpg', bytes: 10, finishedAt: T0 + 100 })] })
  assert.deepEqual(cards(renderReport(allOk)), ['<div class="ok"><dt>', '<div class="failed zero"><dt>'])
  const noneOk = input({ items: [item({ status: 'failed', error: 'http-404' })] })
  assert.deepEqual(cards(renderReport(noneOk)), ['<div class="ok zero"><dt>', '<div class="failed"><dt>'])
})

test("the page: the concurrency lead says why there is no chart, and of one host says 'the busiest host'", () => {
  const lead = (html: string) =>
    /id="concurrency-h">Concurrency over time<\/h3>\n<p class="lead">([^<]*)</.exec(html)?.[1]
  // A run over before its first sample (0.2 s, 45 photos), or one that fetched nothing (a rerun):
  // 'No concurrency samples were recorded for this run' left a newcomer guessing at a fault.
  assert.equal(
    lead(renderReport(input({ samples: [] }))),
    'No transfer was in flight when one was looked for (every 250 ms for the first 10 s, then every second): the run fetched nothing, or its transfers were over within a quarter of a second.',
  )
  // It said 'for the 1 busiest host'.
  assert.match(lead(renderReport(input())) ?? '', /, for the busiest host\.$/)
  const two = input({
    samples: [
      { t: T0, host: 'https://a.example', limit: 16, inFlight: 1 },
      { t: T0, host: 'https://b.example', limit: 16, inFlight: 2 },
      { t: T0 + 1000, host: 'https://a.example', limit: 16, inFlight: 1 },
      { t: T0 + 1000, host: 'https://b.example', limit: 16, inFlight: 2 },
    ],
  })
  assert.match(lead(renderReport(two)) ?? '', /, for the 2 busiest hosts\.$/)
})

test("the page: one document, its own four scripts only (the data, the URLs, the failures' stories, the code), data escaped, CSP hashes that match", () => {
  const html = renderReport(input())
  assert.equal(html.match(/<script/g)?.length, 4)
  assert.equal(html.match(/<\/script>/g)?.length, 4)
  assert.doesNotMatch(html, /<script>alert/)
  assert.match(html, /<title>out &lt;b&gt; · imgpull report<\/title>/)
  // The policy names the exact style and script of the page: anything else is refused.
  const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)![1].replaceAll('&#39;', "'")
  const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]
  const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`
  assert.match(csp, /^default-src 'none'; /)
  assert.ok(csp.includes(`style-src ${hash(style)}`), csp)
  assert.ok(csp.includes(`script-src ${hash(script)}`), csp)
  assert.doesNotMatch(html, /https?:\/\/(?!a\.example)[^\s"<]*\.(js|css)/, 'nothing to fetch')
  assert.equal(renderReport(input()), html, 'deterministic')
  assert.match(
    renderReport(input({ items: [item({ host: '', status: 'failed', error: 'invalid-url' })] })),
    /<th scope="row" class="host"><em>no host<\/em><\/th>/,
  )
  // The embedded data comes back whole.
  const data = JSON.parse(
    /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)![1],
  )
  assert.deepEqual(data.sheet.rows, [['a.jpg', null, 10, null, null, null, null]])
})

test('the page: samples are read twice, so a generator is refused; bad options name themselves', () => {
  function* once(): Generator<HostSample> {}
  assert.throws(() => renderReport(input({ samples: once() })), /samples must be iterable twice/)
  assert.throws(() => resolveRenderOptions({ sheetLimit: 0 }), { name: 'TypeError', message: /sheetLimit/ })
  assert.throws(() => resolveRenderOptions({ maxBars: 1.5 }), { name: 'TypeError', message: /maxBars/ })
  assert.equal(resolveRenderOptions({}).sheetLimit, 10_000)
  assert.throws(() => renderReport(input({ endedAt: Number.NaN })), { name: 'TypeError', message: /endedAt/ })
  // Items may be a generator: they are read once.
  function* items(): Generator<ReportItem> {
    yield item({ path: 'g.jpg' })
  }
  assert.match(renderReport(input({ items: items() })), /"g\.jpg"/)
})

test('writeReport: OUT/report.html replaced whole, nothing left behind', async () => {
  const out = await mkdtemp(join(tmpdir(), 'imgpull-report-write-'))
  try {
    await writeFile(join(out, 'report.html'), 'old')
    const path = await writeReport(out, input())
    assert.equal(path, join(out, 'report.html'))
    assert.match(await readFile(path, 'utf8'), /^<!doctype html>/)
    assert.deepEqual(await readdir(join(out, '.imgpull')), [], 'no temporary file left')
    await assert.rejects(writeReport(join(out, 'report.html'), input()), { code: 'ENOTDIR' })
  } finally {
    await rm(out, { recursive: true, force: true })
  }
})

test('a URL without a host (javascript:, not a URL at all) is counted under no host, never under "null"', () => {
  const run = { id: 1, startedAt: 0 } as RunInfo
  const record = (url: string) =>
    ({ key: url, url, planned: 'x', state: 'failed', run: 1, attempts: 0, error: 'invalid-url' }) as JobRecord
  for (const url of ['javascript:alert(7)', 'data:image/png;base64,AA', 'not a url'])
    assert.equal(reportItem(record(url), run).host, '', url)
  assert.equal(reportItem(record('https://img.example/a.jpg'), run).host, 'https://img.example')
})

test("hosts: a failure an earlier run left, which this run skipped, counts as failed but its requests are that run's", () => {
  // A rerun that only skips the 404 of the run before made no request to its host: the table
  // said "Requests 1" and its 429s and TTFB, for a host this run never asked.
  const run = { id: 2, startedAt: 10_000 } as RunInfo
  const record = (over: Partial<JobRecord>) =>
    ({
      key: 'k',
      url: 'https://a.example/x.jpg',
      planned: 'x.jpg',
      state: 'failed',
      run: 2,
      attempts: 3,
      error: 'http-404',
      httpStatus: 404,
      ttfb: 40,
      answers: { '429': 2, '404': 1 },
      ...over,
    }) as JobRecord
  const before = reportItem(record({ finishedAt: 9_000 }), run)
  const now = reportItem(record({ url: 'https://b.example/y.jpg', finishedAt: 11_000 }), run)
  const rows = hostTable([before, now])
  assert.deepEqual(
    rows.map((r) => [r.host, r.requests, r.failed, r.answers429, r.ttfbMedian]),
    [
      ['https://b.example', 3, 1, 2, 40],
      ['https://a.example', 0, 1, 0, undefined],
    ],
  )
})

test("rerunPlan: the input's own failures (invalid-url, -row, -hash) are not permanent ones --retry-failed tries", () => {
  const plan = rerunPlan([
    item({ status: 'failed', error: 'http-404' }),
    item({ status: 'failed', error: 'invalid-url', host: '' }),
    item({ status: 'failed', error: 'invalid-row' }),
    item({ status: 'failed', error: 'invalid-hash' }),
    item({ status: 'failed', error: 'timeout' }),
  ])
  assert.deepEqual(plan, {
    pending: 0,
    failed: 5,
    transient: 1,
    permanent: 1,
    input: 3,
    sharePages: 0,
    otherInput: 0,
  })
  const html = renderReport(
    input({
      items: [
        item({ status: 'failed', error: 'http-404' }),
        item({ status: 'failed', error: 'invalid-url', host: '' }),
      ],
    }),
  )
  assert.match(html, /skips the 1 permanent failure \(it would fail again\)/)
  assert.match(html, /1 failure is the input&#39;s own|1 failure is the input's own/)
})

test("rerunPlan: a sharing site's page in place of the image is no permanent failure --retry-failed would help", () => {
  const page =
    'not an image: https://www.dropbox.com/s/a/b.jpg?dl=0 sent text/html, 9 bytes: an HTML page titled "b.jpg"; a Dropbox share page, not the file: the same link with dl=1 in place of dl=0 gives the file'
  const items = [
    item({ status: 'failed', error: 'not-an-image', message: page }),
    item({
      status: 'failed',
      error: 'not-an-image',
      message: 'not an image: https://a.example/x sent text/html, 9 bytes',
    }),
    item({ status: 'failed', error: 'http-404' }),
  ]
  assert.deepEqual(rerunPlan(items), {
    pending: 0,
    failed: 3,
    transient: 0,
    permanent: 2,
    input: 0,
    sharePages: 1,
    otherInput: 0,
  })
  const kinds = groupFailures(items).map((g) => [g.code, failureKind(g)])
  assert.deepEqual(kinds, [
    ['not-an-image', '1 change the links'],
    ['http-404', 'permanent'],
  ])
  assert.equal(
    failureKind({ code: 'not-an-image', count: 2, transient: 0, sharePages: 2 }),
    'change the links',
  )
  const html = renderReport(input({ items: [items[0], items[2]] }))
  // Said before --retry-failed, which is for the 404 alone.
  assert.match(
    html,
    /1 failure is a web page in place of the image[^<]*--retry-failed would fetch the same page again\.[^<]*A rerun of the same command skips the 1 permanent failure/,
  )
})

test("a long URL's example says it once: its message quotes it shortened in the middle, as every one-line message does, and says 'this URL' there too", () => {
  const host = 'http://127.0.0.1:8144'
  // A 10 KB URL (a data export's), one of 200 characters (between the message's 160 and the
  // example's 300) and one whose query is signed: each message quotes shownUrl's form of it.
  const urls = [
    `${host}/x/${'a'.repeat(10_000)}.jpg?status=404`,
    `${host}/x/${'b'.repeat(200)}.jpg`,
    `${host}/x/${'c'.repeat(180)}.jpg?X-Amz-Signature=${'f'.repeat(64)}&X-Amz-Expires=300`,
    // A data: URL of 40 KB: as a regular expression, too large for V8, the run ended on
    // 'imgpull: Invalid regular expression: /(?:data:image\/png;base64,…/g: Regular expression
    // too large' (a line of 41,519 characters), its report not written.
    `data:image/png;base64,${'QUJD'.repeat(10_000)}`,
  ]
  const items = urls.map((url) =>
    item({
      status: 'failed',
      host: url.startsWith('data:') ? 'data:' : host,
      url,
      error: 'http-404',
      message: `HTTP 404 from ${shownUrl(url)}`,
    }),
  )
  const html = renderReport({
    title: 'long',
    startedAt: 0,
    endedAt: 1000,
    interrupted: false,
    items,
    samples: [],
  })
  const messages = [...html.matchAll(/<span class="msg">([^<]*)<\/span>/g)].map((m) => m[1])
  // The 10 KB one is cut at 300 characters: shown as text, never a link to the cut address (its
  // ellipsis as %E2%80%A6, a URL no one gave); the others, whole, are links.
  const links = [...html.matchAll(/<a href="(http:\/\/127\.0\.0\.1:8144\/x\/[^"]*)"/g)].map((m) => m[1])
  assert.equal(links.length, 2, links.join('\n'))
  assert.ok(!links.some((href) => href.includes('%E2%80%A6')))
  assert.ok(html.includes(`<code>${urls[0].slice(0, EXAMPLE_CHARS - 1)}…</code>`))
  assert.deepEqual(messages, Array(4).fill('HTTP 404 from this URL'))
  // Another URL in a message, shortened the same way, is that URL still.
  const other = `${host}/y/${'d'.repeat(300)}.jpg`
  const redirect = renderReport({
    title: 'long',
    startedAt: 0,
    endedAt: 1000,
    interrupted: false,
    items: [
      item({
        status: 'failed',
        host,
        url: urls[0],
        error: 'not-an-image',
        message: `redirect from ${shownUrl(urls[0])} to ${shownUrl(other)}: not an image address`,
      }),
    ],
    samples: [],
  })
  const [said] = [...redirect.matchAll(/<span class="msg">([^<]*)<\/span>/g)].map((m) => m[1])
  assert.equal(said, `redirect from this URL to ${shownUrl(other)}: not an image address`)
})

test("a long signed URL named in a message (a redirect's target) leaves no piece of its signature in the message or the report", () => {
  const host = 'http://127.0.0.1:8144'
  const signature = '0123456789abcdef'.repeat(4)
  const signed = `https://bucket.s3.amazonaws.com/${'p'.repeat(120)}.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=300&X-Amz-Signature=${signature}`
  const shown = shownUrl(signed)
  assert.ok(shown.includes('…'), shown)
  const pieces = (text: string) =>
    [...Array(signature.length - 11).keys()].filter((i) => text.includes(signature.slice(i, i + 12)))
  assert.deepEqual(pieces(shown), [], shown)
  const url = `${host}/x/a.jpg`
  const html = renderReport({
    title: 'signed',
    startedAt: 0,
    endedAt: 1000,
    interrupted: false,
    items: [
      item({
        status: 'failed',
        host,
        url,
        error: 'http-403',
        message: `HTTP 403 from ${url} (redirected to ${shown})`,
      }),
    ],
    samples: [],
  })
  assert.deepEqual(pieces(html), [])
  // Short enough to be whole, it is kept whole: a URL to paste (the report masks its value).
  const short = `${host}/b.jpg?X-Amz-Signature=${signature}`
  assert.equal(shownUrl(short), short)
})

test("the viewer's figures of an image: already there or not, its HTTP status, the time taken in whole ms; none where unknown", () => {
  const entry = (over: Partial<SheetEntry>): SheetEntry => ({
    index: 0,
    path: 'a.jpg',
    url: 'https://a.example/a.jpg',
    ...over,
  })
  const table: [Partial<SheetEntry>, ReturnType<typeof viewerFigures>][] = [
    [{}, [0, null, null]],
    [{ skipped: true, httpStatus: 200, total: 87.6 }, [1, 200, 88]],
    [{ httpStatus: 206, total: 0 }, [0, 206, 0]],
  ]
  for (const [over, want] of table) assert.deepEqual(viewerFigures(entry(over)), want, JSON.stringify(over))
  // The sheet's sample keeps what the viewer says: the URL as given, skipped, status, time.
  const sheet = sampleSheet([
    item({ path: 'a.jpg', url: 'https://a.example/a.jpg', status: 'skipped', httpStatus: 200, total: 12 }),
  ])
  assert.deepEqual(sheet.entries[0], {
    index: 0,
    path: 'a.jpg',
    url: 'https://a.example/a.jpg',
    skipped: true,
    httpStatus: 200,
    total: 12,
  })
})

test("the viewer's URL of an image is shared as a failure's example is: no password, no signature, cut at 300 characters (then not linked), invisible marks as escapes", () => {
  const entry = (url: string): SheetEntry => ({ index: 0, path: 'a.jpg', url })
  const long = `https://a.example/${'x'.repeat(400)}.jpg`
  const table: [string, ReturnType<typeof viewerUrl>][] = [
    ['https://a.example/a.jpg', ['https://a.example/a.jpg', 1]],
    [
      'https://user:pw@a.example/a.jpg?X-Amz-Signature=abc123&w=64',
      ['https://a.example/a.jpg?X-Amz-Signature=***&w=64', 1],
    ],
    // Shown as given, linked as the browser would encode it.
    ['https://a.example/a b.jpg', ['https://a.example/a b.jpg', 'https://a.example/a%20b.jpg']],
    [long, [`${long.slice(0, EXAMPLE_CHARS - 1)}…`, null]],
    ['ftp://a.example/a.jpg', ['ftp://a.example/a.jpg', null]],
  ]
  for (const [url, want] of table) assert.deepEqual(viewerUrl(entry(url)), want, url)
  // Each origin once, the rest after it; an address of none whole.
  assert.deepEqual(
    viewerUrls(
      [
        'https://a.example/1.jpg',
        'https://b.example:8080/2.jpg',
        'https://a.example/3.jpg?x',
        'ftp://c/4.jpg',
      ].map(entry),
    ),
    {
      origins: ['https://a.example', 'https://b.example:8080'],
      urls: [
        [0, '/1.jpg', 1],
        [1, '/2.jpg', 1],
        [0, '/3.jpg?x', 1],
        [-1, 'ftp://c/4.jpg', null],
      ],
    },
  )
  const [shown] = viewerUrl(entry('https://a.example/x.jpg?q=\u202egnp.exe'))
  assert.ok(!shown.includes('\u202e'), shown)
  assert.match(shown, /\\u202e/)
})

test("a URL or message cut where an emoji's two halves meet loses the emoji whole: its first half alone was shown as '\\ud83d', a character it never held", () => {
  // A cut by UTF-16 unit between a pair's halves leaves one alone, which printable shows as its
  // escape (and UTF-8 cannot hold): pydantic/logfire-js#237 cut a report's cells so,
  // langfuse/langfuse#16172 its tables' names. Every cut of the page (300 characters) and of a
  // message's URL (shortened in its middle at 160) at each place an emoji can fall.
  const host = 'https://a.example'
  const alone = new RegExp(LONE_SURROGATE)
  for (let pad = 0; pad < 4; pad++) {
    // An astral name as given (a list keeps URLs unencoded), and one that does not parse.
    const url = `${host}/${'a'.repeat(270 + pad)}${'\u{1F600}'.repeat(30)}.jpg`
    const bad = `not a URL ${'b'.repeat(280 + pad)}${'\u{2A6D6}'.repeat(20)}`
    const middle = `${host}/${'c'.repeat(90 + pad)}${'\u{1F600}'.repeat(60)}.jpg`
    const said = shownUrl(middle)
    assert.doesNotMatch(said, alone, said)
    for (const [kept, whole] of [
      [viewerUrl({ index: 0, path: 'a.jpg', url })[0], url],
      [sharedUrl(url).url, url],
      [sharedUrl(bad).url, bad],
      [said, middle],
    ]) {
      assert.doesNotMatch(kept, /\\ud[89a-f][0-9a-f]{2}/, kept)
      // What is kept is the text's own: its start, an ellipsis, (its end).
      const [head, tail = ''] = kept.split('…')
      assert.ok(whole.startsWith(head) && whole.endsWith(tail), kept)
    }
    const html = renderReport({
      title: 'emoji',
      startedAt: 0,
      endedAt: 1000,
      interrupted: false,
      items: [
        item({ status: 'failed', host, url, error: 'http-404', message: `HTTP 404 from ${said}` }),
        item({ status: 'failed', host: '', url: bad, error: 'invalid-url', message: `invalid URL ${bad}` }),
      ],
      samples: [],
    })
    assert.doesNotMatch(html, alone)
    assert.doesNotMatch(html, /\\ud8[0-9a-f]{2}|\\udc[0-9a-f]{2}/)
  }
})

test('the page holds one viewer, the sort boxes and the URLs apart from the data only where it has a contact sheet; a URL of markup stays inside its block', () => {
  const hostile = 'https://a.example/</script><script>alert(1)</script>.jpg'
  const html = renderReport(
    input({
      items: [
        item({ path: 'a.jpg', url: hostile, bytes: 10 }),
        item({ status: 'failed', error: 'http-404', url: 'https://a.example/x' }),
        item({ status: 'failed', error: 'timeout', url: 'https://a.example/y' }),
      ],
    }),
  )
  // The image viewer, and the failures' (see the failure viewer's tests).
  assert.equal(html.match(/<dialog /g)?.length, 2)
  assert.match(
    html,
    /<dialog class="viewer" id="viewer" role="dialog" aria-modal="true" aria-labelledby="viewer-name">/,
  )
  assert.equal(html.match(/<select data-sort>/g)?.length, 1)
  assert.equal(html.match(/<select data-failure-sort>/g)?.length, 1)
  assert.equal(html.match(/<script/g)?.length, 4, "the data, the viewer's, the failures' stories, the script")
  assert.equal(html.match(/<\/script>/g)?.length, 4)
  const more = JSON.parse(
    /<script type="application\/json" id="report-more">([\s\S]*?)<\/script>/.exec(html)![1],
  )
  assert.deepEqual(more, {
    ...viewerUrls([{ index: 0, path: 'a.jpg', url: hostile }]),
    figures: [[0, null, null]],
  })
  assert.deepEqual(more.urls[0].slice(1), [
    '/</script><script>alert(1)</script>.jpg',
    'https://a.example/%3C/script%3E%3Cscript%3Ealert(1)%3C/script%3E.jpg',
  ])
  // The rows keep their shape: the viewer's figures are in that block.
  const data = JSON.parse(
    /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)![1],
  )
  assert.equal(data.sheet.facts, undefined)
  // No image: no viewer, no sort of tiles, no URLs; one failure group at one host: nothing to sort.
  const none = renderReport(input({ items: [item({ status: 'failed', error: 'http-404' })] }))
  assert.doesNotMatch(
    none,
    /<dialog class="viewer" id="viewer"|<select data-sort>|id="report-more"|<select data-failure-sort>/,
  )
  // Its failure has a story, and the failure viewer to show it.
  assert.equal(none.match(/<dialog /g)?.length, 1)
  assert.match(none, /id="failure-viewer"/)
  const shards = renderReport(input({ items: [item({ path: 'a.jpg' })], shards: true }))
  assert.doesNotMatch(shards, /<dialog|<select data-sort>|id="report-more"/)
})

test("a journal record's time taken (its last attempt's, to the body's end) reaches the report", () => {
  const run = { id: 1, startedAt: 0 } as RunInfo
  const record = {
    key: 'k',
    url: 'https://img.example/a.jpg',
    planned: 'x',
    state: 'ok',
    run: 1,
    attempts: 1,
    path: 'a.jpg',
    ttfb: 20,
    total: 345.5,
    finishedAt: 10,
  } as JobRecord
  assert.equal(reportItem(record, run).total, 345.5)
})

test("a failure's story is what its journal record has, nothing made up: answers by status, where redirects led (redacted), timings rounded, what a rerun does", () => {
  const base = item({
    status: 'failed',
    url: 'https://a.example/x.jpg',
    error: 'http-404',
    httpStatus: 404,
    attempts: 1,
  })
  const cases: [string, ReportItem, boolean, boolean, unknown][] = [
    ['a plain 404', base, false, false, { httpStatus: 404, attempts: 1, kind: 'permanent' }],
    [
      'a 503 retried: its answers counted by status, in order of status; timings rounded',
      {
        ...base,
        error: 'http-503',
        httpStatus: 503,
        attempts: 3,
        answers: { '503': 2, '429': 1 },
        ttfb: 12.6,
        total: 2_345.4,
        finishedAt: T0,
      },
      true,
      false,
      {
        httpStatus: 503,
        attempts: 3,
        answers: [
          [429, 1],
          [503, 2],
        ],
        ttfb: 13,
        total: 2_345,
        finishedAt: T0,
        kind: 'passing',
      },
    ],
    [
      'a redirect: where it led, without its password nor signature',
      { ...base, finalUrl: 'https://u:pw@b.example/y.jpg?X-Amz-Signature=abc&w=1' },
      false,
      false,
      {
        httpStatus: 404,
        attempts: 1,
        finalUrl: 'https://b.example/y.jpg?X-Amz-Signature=***&w=1',
        kind: 'permanent',
      },
    ],
    [
      'a final URL that is its own: not said',
      { ...base, finalUrl: base.url },
      false,
      false,
      { httpStatus: 404, attempts: 1, kind: 'permanent' },
    ],
    [
      "the input's own, failed before, another input's",
      {
        ...base,
        error: 'invalid-url',
        httpStatus: undefined,
        attempts: 0,
        failedBefore: true,
        otherInput: true,
      },
      false,
      false,
      { attempts: 0, kind: 'mend the input', failedBefore: true, otherInput: true },
    ],
    [
      "a sharing site's page",
      { ...base, error: 'not-an-image', httpStatus: undefined },
      false,
      true,
      { attempts: 1, kind: 'change the links' },
    ],
    [
      'answers that are not counts are left out',
      { ...base, answers: { '404': 1, x: 2, '500': 0 } as Record<string, number> },
      false,
      false,
      { httpStatus: 404, attempts: 1, answers: [[404, 1]], kind: 'permanent' },
    ],
  ]
  for (const [what, failed, transient, page, story] of cases)
    assert.deepEqual(failureStory(failed, transient, page), story, what)
  // The tally tells each example's story as it judged the failure.
  const [group] = groupFailures([{ ...base, error: 'timeout', httpStatus: undefined, attempts: 4 }])
  assert.deepEqual(group.hosts[0].examples[0].story, { attempts: 4, kind: 'passing' })
})

test("the page writes each example shown with the index of its story, in the page's order; the stories' block holds the examples shown only, markup inside it inert", () => {
  const hosts = Array.from({ length: 12 }, (_, i) => `https://h${i}.example`)
  const items = hosts.flatMap((host, i) =>
    Array.from({ length: 4 }, (_, k) =>
      item({
        status: 'failed',
        host,
        url: `${host}/${k}</script><script>x()</script>`,
        error: i % 2 ? 'http-404' : 'timeout',
        attempts: k + 1,
      }),
    ),
  )
  const html = renderReport(input({ items }))
  const indexes = [...html.matchAll(/<li data-failure="(\d+)">/g)].map((m) => Number(m[1]))
  // Two codes, 10 hosts shown of each 6 (all), 3 examples a host: 36, in order.
  assert.deepEqual(
    indexes,
    Array.from({ length: 36 }, (_, i) => i),
  )
  const stories = JSON.parse(
    /<script type="application\/json" id="report-failures">([\s\S]*?)<\/script>/.exec(html)![1],
  )
  assert.equal(stories.length, 36)
  assert.deepEqual(
    stories.slice(0, 3).map((s: { attempts: number }) => s.attempts),
    [1, 2, 3],
  )
  // The data, the stories, the code (no image: no URLs' block).
  assert.equal(html.match(/<script/g)?.length, 3)
  assert.doesNotMatch(html, /<script>x\(\)/)
  // No failure: no failure viewer, no block.
  const clean = renderReport(input({ items: [item({ path: 'a.jpg' })] }))
  assert.doesNotMatch(clean, /id="failure-viewer"|id="report-failures"|<li data-failure/)
})

test("a journal record's final URL reaches a failure's story", () => {
  const run = { id: 1, startedAt: 0 } as RunInfo
  const record = {
    key: 'k',
    url: 'https://img.example/a.jpg',
    planned: 'x',
    state: 'failed',
    run: 1,
    attempts: 1,
    error: 'http-404',
    httpStatus: 404,
    finalUrl: 'https://cdn.example/gone.jpg',
    finishedAt: 10,
  } as JobRecord
  assert.equal(reportItem(record, run).finalUrl, 'https://cdn.example/gone.jpg')
})

test('failures by host: the hosts with the most failures (then by name, h9 before h10), each with its codes, the rest summed', () => {
  const items: ReportItem[] = []
  const fail = (host: string, error: string, times: number) => {
    for (let i = 0; i < times; i++)
      items.push(item({ status: 'failed', host, url: `${host}/${error}/${i}`, error }))
  }
  fail('https://h10.example', 'http-404', 3)
  fail('https://h10.example', 'timeout', 1)
  fail('https://h9.example', 'timeout', 4)
  fail('https://a.example', 'http-500', 2)
  fail('https://b.example', 'http-404', 1)
  items.push(item({ host: 'https://ok.example', path: 'a.jpg' }))
  const groups = groupFailures(items)
  const hosts = hostTable(items)
  const codeAt = (code: string) => groups.findIndex((g) => g.code === code)
  assert.deepEqual(failuresByHost(groups, hosts, 3), {
    rows: [
      {
        host: 'https://h9.example',
        count: 4,
        codes: [['timeout', 4, codeAt('timeout')]],
      },
      {
        host: 'https://h10.example',
        count: 4,
        codes: [
          ['http-404', 3, codeAt('http-404')],
          ['timeout', 1, codeAt('timeout')],
        ],
      },
      { host: 'https://a.example', count: 2, codes: [['http-500', 2, codeAt('http-500')]] },
    ],
    restHosts: 1,
    restCount: 1,
    // What the rest failed of, where their line said only how many.
    restCodes: [['http-404', 1, codeAt('http-404')]],
  })
  // Every host: the counts are the host table's, the sum the run's failures.
  const all = failuresByHost(groups, hosts)
  assert.equal(all.restHosts, 0)
  assert.equal(
    all.rows.reduce((sum, r) => sum + r.count, 0),
    items.filter((i) => i.status === 'failed').length,
  )
  for (const r of all.rows) assert.equal(r.count, hosts.find((h) => h.host === r.host)?.failed)
})
