import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { pull, RateLimitError, type Result, UnsplashError, unsplash } from '../src/index.js'
import { cleanup, outputFiles, tempDir } from './support/cli.js'
import { startForwardProxy } from './support/forward-proxy.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { type MockPhoto, startUnsplashMock, type UnsplashMock } from './support/unsplash-mock.js'

const KEY = 'sk-LIBRARY-SECRET-9876543210'

let images: ImageServer
let api: UnsplashMock
let dir: string

before(async () => {
  images = await startImageServer({ sizes: [2_000, 8_000] })
  api = await startUnsplashMock({
    imageOrigin: images.origin,
    key: KEY,
    searches: { lake: 40 },
    collections: { '12': 12, '7': 7, '3': 3, '4': 4 },
  })
  dir = await tempDir('imgpull-unsplash-lib-')
})
after(async () => {
  await api.close()
  await images.close()
  await cleanup(dir)
})

/** Options every source here takes: the mock's key and address, and the lines said. */
function base(mock: UnsplashMock = api, said: string[] = []) {
  return { accessKey: mock.key, apiUrl: mock.origin, onMessage: (line: string) => said.push(line) }
}

async function all(run: AsyncIterable<Result>): Promise<Result[]> {
  const results: Result[] = []
  for await (const r of run) results.push(r)
  return results
}

/** Every byte under `out`, the state database and journal included. */
async function everything(out: string): Promise<string> {
  const entries = await readdir(out, { recursive: true, withFileTypes: true })
  const texts = await Promise.all(
    entries.filter((e) => e.isFile()).map((e) => readFile(join(e.parentPath, e.name), 'latin1')),
  )
  return texts.join('\n')
}

/** Image requests for the first `n` photos of a listing (tests run side by side on one image host). */
function requestsFor(listing: string, n: number) {
  const paths = new Set(Array.from({ length: n }, (_, i) => `/photo-${api.photoAt(listing, i).id}`))
  return images.log.filter((e) => paths.has(e.url.split('?')[0]))
}

describe('unsplash sources for pull()', { concurrency: true }, () => {
  test('pull(unsplash.collection(...)): the files, one tracking call each, ATTRIBUTION.md, the summary; a rerun tracks nothing again', async () => {
    const out = join(dir, 'collection')
    const said: string[] = []
    const photos = unsplash.collection('12', base(api, said))
    const results = await all(pull(photos, { out, name: '{stem}{ext}' }))

    assert.equal(results.length, 12)
    assert.ok(results.every((r) => r.status === 'ok'))
    const ids = Array.from({ length: 12 }, (_, n) => api.photoAt('collection:12', n).id)
    for (const id of ids) assert.equal(api.tracked.get(id)?.length, 1, `tracked once: ${id}`)
    const files = (await outputFiles(out)).filter((f) => f.endsWith('.jpg'))
    assert.equal(files.length, 12)
    assert.ok(files.includes(`${ids[0]}-mountain-lake-at-sunrise.jpg`), files.join(' '))
    assert.ok(files.includes(`${ids[4]}.jpg`), 'no description or alt text: the id alone')
    assert.equal(results[0].job.meta?.source, 'unsplash')

    const credits = await readFile(join(out, 'ATTRIBUTION.md'), 'utf8')
    assert.equal(credits.split('\n').filter((l) => l.startsWith('- ')).length, 12)
    assert.match(
      credits,
      /Photo by \[.+\]\(https:\/\/unsplash\.com\/@\w+\?utm_source=imgpull&utm_medium=referral\)/,
    )

    const s = photos.summary
    assert.equal(s.label, 'collection 12')
    assert.deepEqual(s.calls, { listing: 1, tracking: 12 })
    assert.equal(s.tracked, 12)
    assert.equal(s.owed, 0)
    assert.equal(s.credited, 12)
    assert.equal(s.attribution, join(out, 'ATTRIBUTION.md'))
    assert.equal(s.total, 12)
    assert.equal(s.rateLimited, false)
    assert.equal(s.listingEnded, undefined)
    assert.equal(s.rate.limit, 5000)
    assert.equal(photos.total(), 12)
    assert.ok(!said.join('\n').includes(KEY))
    assert.ok(!(await everything(out)).includes(KEY), 'the key is in no file of the output folder')

    // The same source object runs again: everything is done, no API call, nothing tracked twice.
    const again = await all(pull(photos, { out, name: '{stem}{ext}' }))
    assert.equal(again.length, 12)
    assert.ok(again.every((r) => r.status === 'skipped'))
    assert.deepEqual(photos.summary.calls, { listing: 0, tracking: 0 })
    assert.equal(photos.summary.listedBefore, 12)
    assert.equal(photos.summary.credited, 12)
    for (const id of ids) assert.equal(api.tracked.get(id)?.length, 1, `still once: ${id}`)
  })

  test('onMessage receives the budget line before the first download', async () => {
    const said: string[] = []
    const events: string[] = []
    const photos = unsplash.search('lake', {
      ...base(api, said),
      onMessage: (line) => {
        said.push(line)
        events.push('message')
      },
    })
    for await (const r of pull(photos, { out: join(dir, 'budget') })) events.push(r.status)
    assert.match(
      said[0],
      /^Unsplash search "lake": 30 of 40 photos \(limit: N or Infinity for more\)\. 30 API calls still needed \(0 listing pages, up to 30 download tracking calls\), 1 made; [\d,]+ of 5,000 left this hour\.$/,
    )
    assert.equal(events[0], 'message')
    assert.equal(events.filter((e) => e === 'ok').length, 30)
  })

  test('a rejected key (401) rejects the iteration before anything is fetched, and leaves no folder', async () => {
    const out = join(dir, 'bad-key')
    const photos = unsplash.collection('7', { accessKey: 'not-the-key', apiUrl: api.origin })
    const results = pull(photos, { out })[Symbol.asyncIterator]()
    // The very first step rejects: no result, so nothing was fetched.
    await assert.rejects(results.next(), (e: UnsplashError) => {
      assert.ok(e instanceof UnsplashError)
      assert.equal(e.code, 'unsplash-401')
      assert.equal(e.usage, true)
      // It said `--access-key`, a flag a caller of the library never gave.
      assert.equal(
        e.message,
        'Unsplash rejected the access key (HTTP 401): check UNSPLASH_ACCESS_KEY or `accessKey`',
      )
      assert.ok(!e.message.includes('not-the-key'))
      return true
    })
    assert.deepEqual(requestsFor('collection:7', 7), [], 'no image requested')
    assert.ok(!existsSync(out), 'no folder left behind')

    // A folder that holds other work keeps it; only the Unsplash store this run made goes.
    const used = join(dir, 'used')
    await mkdir(join(used, '.imgpull'), { recursive: true })
    await writeFile(join(used, 'keep.txt'), 'mine')
    const unknown = unsplash.collection('404404', base())
    await assert.rejects(all(pull(unknown, { out: used })), /no such Unsplash collection 404404/)
    assert.ok(existsSync(join(used, 'keep.txt')))
    assert.ok(!existsSync(join(used, '.imgpull', 'unsplash.db')), 'no empty store left')
  })

  test('a photo whose image host answered 500 is not tracked, then tracked on the rerun that fetches it', async (t) => {
    const probe = await startUnsplashMock({ imageOrigin: images.origin, collections: { '9': 5 } })
    const flaky = probe.photoAt('collection:9', 2).id
    await probe.close()
    const mock = await startUnsplashMock({
      imageOrigin: images.origin,
      collections: { '9': 5 },
      flakyImages: new Set([flaky]),
    })
    t.after(() => mock.close())
    const out = join(dir, 'flaky')

    const first = unsplash.collection('9', base(mock))
    const results = await all(pull(first, { out, retries: 0 }))
    const failed = results.filter((r) => r.status === 'failed')
    assert.deepEqual(
      failed.map((r) => r.error),
      ['http-500'],
    )
    assert.equal(mock.tracked.get(flaky), undefined, 'a failure is never tracked')
    assert.equal(mock.tracked.size, 4)
    assert.equal(first.summary.tracked, 4)
    assert.equal(first.summary.credited, 4)

    const second = unsplash.collection('9', base(mock))
    const rerun = await all(pull(second, { out, retries: 0 }))
    assert.deepEqual(rerun.map((r) => r.status).sort(), ['ok', 'skipped', 'skipped', 'skipped', 'skipped'])
    assert.deepEqual(mock.tracked.get(flaky)?.length, 1)
    assert.equal(mock.tracked.size, 5)
    for (const calls of mock.tracked.values()) assert.equal(calls.length, 1)
    assert.deepEqual(second.summary.calls, { listing: 0, tracking: 1 })
    assert.equal(second.summary.credited, 5)
  })

  test('onRateLimit stop: the listing stops, tracking calls stay owed; the next run sends them first', async (t) => {
    const mock = await startUnsplashMock({ imageOrigin: images.origin, searches: { sea: 45 }, limit: 1 })
    t.after(() => mock.close())
    const out = join(dir, 'stop')
    const options = { ...base(mock), limit: 45, onRateLimit: 'stop' as const }

    const first = unsplash.search('sea', options)
    const results = await all(pull(first, { out }))
    assert.equal(results.length, 30, 'the first page only')
    const s = first.summary
    assert.equal(s.rateLimited, true)
    assert.ok(s.listingEnded instanceof RateLimitError)
    assert.equal(s.owed, 30)
    assert.equal(s.tracked, 0)
    assert.equal(mock.tracked.size, 0)

    mock.setLimit(1000)
    mock.reset()
    const second = unsplash.search('sea', options)
    const rest = await all(pull(second, { out }))
    assert.equal(rest.filter((r) => r.status === 'ok').length, 15)
    assert.deepEqual(second.summary.calls, { listing: 1, tracking: 45 })
    assert.equal(second.summary.owed, 0)
    assert.equal(second.summary.rateLimited, false)
    assert.equal(mock.tracked.size, 45)
    for (const calls of mock.tracked.values()) assert.equal(calls.length, 1)
  })

  test("a signal ends a rate-limit wait: the options' own lets the downloads finish, pull()'s rejects the loop; calls not made stay owed", {
    timeout: 30_000,
  }, async (t) => {
    // Two calls an hour: the first page, then one tracking call; the other 29 wait for the reset.
    const mock = await startUnsplashMock({ imageOrigin: images.origin, searches: { sea: 30 }, limit: 2 })
    t.after(() => mock.close())
    const waiting = (stop: AbortController) => (line: string) => {
      if (line.startsWith('Unsplash rate limit reached: waiting 1:00:00')) stop.abort()
    }

    const own = new AbortController()
    const first = unsplash.search('sea', { ...base(mock), onMessage: waiting(own), signal: own.signal })
    const results = await all(pull(first, { out: join(dir, 'signal-own') }))
    assert.ok(own.signal.aborted, 'the wait began')
    assert.equal(results.filter((r) => r.status === 'ok').length, 30)
    assert.equal(first.summary.tracked, 1)
    assert.equal(first.summary.owed, 29)
    assert.equal(first.summary.credited, 30)

    mock.reset()
    const hard = new AbortController()
    // The run's waitLeft (its progress line's ETA) counts the source's wait too: it said the pace
    // of the files done, 15 s and growing, for the whole hour.
    let waitLeft = -1
    const second = unsplash.search('sea', {
      ...base(mock),
      onMessage: (line) => {
        if (line.startsWith('Unsplash rate limit reached')) waitLeft = run.stats.waitLeft
        waiting(hard)(line)
      },
      limit: 30,
    })
    const run = pull(second, { out: join(dir, 'signal-hard'), signal: hard.signal })
    await assert.rejects(all(run), { name: 'AbortError' })
    assert.ok(hard.signal.aborted, 'the wait began')
    assert.ok(waitLeft > 3_500_000, `waitLeft ${waitLeft} ms in an hour's wait`)
    assert.equal(run.stats.waitLeft, 0, 'no wait once the run ended')
    assert.ok(second.summary.owed > 0, `owed ${second.summary.owed}`)
    assert.equal(second.summary.tracked + second.summary.owed, second.summary.credited)
  })

  test('breaking out of the loop ends the run: the listing stops, downloads made are tracked and credited', async () => {
    const out = join(dir, 'break')
    const photos = unsplash.search('lake', { ...base(), limit: 40 })
    let n = 0
    for await (const r of pull(photos, { out, concurrency: 1 })) {
      if (r.status === 'ok' && ++n === 3) break
    }
    const s = photos.summary
    assert.ok(s.tracked >= 3, `tracked ${s.tracked}`)
    assert.equal(s.tracked + s.owed, s.credited)
    const files = (await outputFiles(out)).filter((f) => f.endsWith('.jpg'))
    assert.equal(files.length, s.credited)
  })

  test('breaking out early with many transfers in flight: every file that landed is still tracked', async () => {
    const out = join(dir, 'break-wide')
    const photos = unsplash.search('lake', { ...base(), limit: 40 })
    for await (const r of pull(photos, { out, concurrency: 16 })) {
      if (r.status === 'ok') break
    }
    const s = photos.summary
    const files = (await outputFiles(out)).filter((f) => f.endsWith('.jpg'))
    assert.ok(files.length > 1, `${files.length} files`)
    assert.equal(s.tracked + s.owed, files.length, 'each file on disk is tracked (or owed), none forgotten')
    assert.equal(s.credited, files.length)
  })

  test("the API calls and the downloads go through the run's proxy alike", async (t) => {
    const proxy = await startForwardProxy()
    t.after(() => proxy.close())
    const out = join(dir, 'proxied')
    await all(pull(unsplash.collection('4', base()), { out, proxy: proxy.url, journal: false }))
    const targets = proxy.log.map((l) => new URL(l.target))
    assert.ok(
      targets.some((u) => u.origin === api.origin && u.pathname.startsWith('/collections/4')),
      'the listing went through the proxy',
    )
    assert.ok(
      targets.some((u) => u.origin === api.origin && u.pathname.endsWith('/download')),
      'the tracking calls too',
    )
    assert.ok(
      targets.some((u) => u.origin === images.origin),
      'and the images',
    )
  })

  test('imgix parameters and a size choose the image URL', async () => {
    await all(
      pull(unsplash.collection('3', { ...base(), imgix: { w: 320, fm: 'webp' } }), { out: join(dir, 'ix') }),
    )
    const urls = requestsFor('collection:3', 3).map((e) => new URL(e.url, images.origin))
    assert.equal(urls.length, 3)
    for (const u of urls) {
      assert.equal(u.searchParams.get('w'), '320')
      assert.equal(u.searchParams.get('fm'), 'webp')
      assert.ok(u.searchParams.get('ixid'))
    }
  })

  test('read outside pull(), a source says how it is used', async () => {
    const photos = unsplash.collection('7', base())
    await assert.rejects(async () => {
      for await (const _ of photos) break
    }, /pass it to pull\(source, options\)/)
  })
})

test('options are checked at once: a TypeError naming the option; no key says how to get one', () => {
  const key = { accessKey: 'k' }
  const bad: [() => unknown, RegExp][] = [
    [() => unsplash.search('', key), /`query` to be a non-empty string/],
    [() => unsplash.search('x', { ...key, limit: 0 }), /`limit` to be an integer >= 1 or Infinity, got 0/],
    [() => unsplash.search('x', { ...key, limit: 2.5 }), /`limit`/],
    [
      () => unsplash.search('x', { ...key, orderBy: 'popular' as never }),
      /`orderBy` to be one of relevant, latest/,
    ],
    [() => unsplash.search('x', { ...key, color: 'pink' as never }), /`color` to be one of black_and_white/],
    [() => unsplash.collection('1', { ...key, orientation: 'wide' as never }), /`orientation`/],
    [
      () => unsplash.user('x', { ...key, orderBy: 'relevant' as never }),
      /`orderBy` to be one of latest, oldest/,
    ],
    [
      () => unsplash.topic('x', { ...key, orderBy: 'views' as never }),
      /`orderBy` to be one of latest, oldest, popular,/,
    ],
    [() => unsplash.random({ ...key, count: 0 }), /`count`/],
    [() => unsplash.random({ ...key, count: Number.POSITIVE_INFINITY }), /`count`/],
    // The API ignores the words when drawing from collections or topics: photos of anything.
    [
      () => unsplash.random({ ...key, query: 'forest', collections: ['1580860'] }),
      /`query`, or `collections` or `topics`, not both: the Unsplash API draws random photos from the collections or topics alone and ignores the words/,
    ],
    [() => unsplash.random({ ...key, query: 'forest', topics: 'nature' }), /`query`, or `collections`/],
    [() => unsplash.photos([], key), /`ids`/],
    [
      () => unsplash.collection('1', { ...key, size: 'huge' as never }),
      /`size` to be one of raw, full, regular/,
    ],
    [
      () => unsplash.collection('1', { ...key, size: 'small', imgix: { w: 100 } }),
      /`size` to be 'raw' or left out/,
    ],
    [() => unsplash.collection('1', { ...key, imgix: { q: 101 } }), /`imgix.q` to be a number from 1 to 100/],
    [() => unsplash.collection('1', { ...key, imgix: { w: 0 } }), /`imgix.w` to be an integer >= 1/],
    [
      () => unsplash.collection('1', { ...key, imgix: { width: 100 } as never }),
      /`imgix` to hold only w, h, q, fm, fit, dpr/,
    ],
    [
      () => unsplash.collection('1', { ...key, onRateLimit: 'retry' as never }),
      /`onRateLimit` to be one of wait, stop/,
    ],
    [() => unsplash.collection('1', { ...key, rateLimitWindow: 0 }), /`rateLimitWindow`/],
    [() => unsplash.collection('1', { ...key, apiUrl: 'ftp://x' }), /`apiUrl` to be an http\(s\) URL/],
    [() => unsplash.collection('1', { ...key, onMessage: 'yes' as never }), /`onMessage` to be a function/],
  ]
  for (const [make, message] of bad)
    assert.throws(make, (e: Error) => e instanceof TypeError && message.test(e.message))

  const saved = process.env.UNSPLASH_ACCESS_KEY
  delete process.env.UNSPLASH_ACCESS_KEY
  try {
    assert.throws(
      () => unsplash.search('x', { accessKey: ' ' }),
      (e: UnsplashError) =>
        e instanceof UnsplashError &&
        e.code === 'unsplash-no-key' &&
        e.message ===
          'no Unsplash access key: pass accessKey or set UNSPLASH_ACCESS_KEY; get a free key by registering an application at https://unsplash.com/developers',
    )
    assert.throws(
      () => unsplash.search('x', { accessKey: '"abc"' }),
      (e: UnsplashError) =>
        e instanceof UnsplashError &&
        e.code === 'unsplash-key-text' &&
        /^the Unsplash access key is wrapped in quotes/.test(e.message) &&
        !e.message.includes('abc'),
    )
    process.env.UNSPLASH_ACCESS_KEY = 'from-the-environment'
    assert.equal(unsplash.search('x').summary.label, 'search "x"')
  } finally {
    if (saved === undefined) delete process.env.UNSPLASH_ACCESS_KEY
    else process.env.UNSPLASH_ACCESS_KEY = saved
  }
})

// A listing can hold photos removed since (avinayak/minim#19: a likes list still returning a
// deleted photo) and an API answer can lack parts of a photo: each such photo fails or is credited
// on its own, and the run goes on.
test('photos the API sends without a photographer, without urls, or without an id: the run goes on, each named', async (t) => {
  const broken = await startUnsplashMock({
    imageOrigin: images.origin,
    key: KEY,
    collections: { '6': 7 },
    photo: (p, n) => {
      if (n === 6) return { ...p, links: { html: p.links.html } } as never
      const { user: _user, ...noUser } = p
      const { urls: _urls, ...noUrls } = p
      if (n === 1) return noUser as never
      if (n === 2) return noUrls as never
      if (n === 3) return { ...p, user: { ...p.user, name: null }, description: 42 } as never
      if (n === 4) return { id: null, urls: p.urls } as never
      return p
    },
  })
  t.after(() => broken.close())
  const out = join(dir, 'broken-photos')
  const said: string[] = []
  const photos = unsplash.collection('6', base(broken, said))
  const results = await all(pull(photos, { out, name: '{stem}{ext}' }))

  const id = (n: number) => broken.photoAt('collection:6', n).id
  assert.equal(results.length, 6, 'the entry without an id is left out')
  const failed = results.filter((r) => r.status === 'failed')
  assert.deepEqual(
    failed.map((r) => [r.error, r.message]),
    [['invalid-url', `Unsplash photo ${id(2)}: the Unsplash API gave no "regular" image URL for it`]],
  )
  assert.equal(results.filter((r) => r.status === 'ok').length, 5)
  assert.equal(broken.tracked.get(id(6))?.length, 1, 'no download_location: tracked at /photos/:id/download')
  assert.ok(
    said.some((l) => /collection 6: 1 entry of the API's listing had no photo id/.test(l)),
    said.join('\n'),
  )
  assert.equal(photos.summary.dropped, 1)
  assert.equal(broken.tracked.get(id(2)), undefined, 'a photo not downloaded is not tracked')
  assert.equal(broken.tracked.get(id(1))?.length, 1)

  const credits = await readFile(join(out, 'ATTRIBUTION.md'), 'utf8')
  const lines = credits.split('\n').filter((l) => l.startsWith('- '))
  assert.equal(lines.length, 5)
  const line = (n: number) => lines.find((l) => l.includes(id(n))) ?? ''
  assert.match(line(1), /: Photo on \[Unsplash\]\(https:\/\/unsplash\.com\/photos\//)
  assert.match(
    line(3),
    /: Photo by \[shooter\d\]\(https:\/\/unsplash\.com\/@shooter\d/,
    'the username stands in',
  )
  const meta = results.find((r) => r.job.fields?.id === id(1))?.job.meta
  assert.equal(meta?.photographer, null)
  assert.equal(meta?.attribution, 'Photo on Unsplash')
})

// A stop (Ctrl-C, a signal) cut off tracking calls the API had already received; they were kept
// as owed and the next run sent them again: photos tracked twice, against the guideline.
test('a stop while tracking calls are in flight: they finish, and the next run tracks no photo twice', async (t) => {
  let arrived!: () => void
  const tracking = new Promise<void>((resolve) => {
    arrived = resolve
  })
  let release!: () => void
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  const mock = await startUnsplashMock({
    imageOrigin: images.origin,
    key: KEY,
    collections: { '5': 5 },
    hold: (path) => {
      if (!path.endsWith('/download')) return undefined
      arrived()
      return held
    },
  })
  t.after(() => mock.close())
  const out = join(dir, 'stop-tracking')
  const stop = new AbortController()
  const first = (async () => {
    for await (const _ of pull(unsplash.collection('5', base(mock)), { out, signal: stop.signal })) {
    }
  })()
  await tracking
  stop.abort()
  // The API answers what it received, after the stop.
  setImmediate(release)
  await first.catch(() => {})

  const again = unsplash.collection('5', base(mock))
  const results = await all(pull(again, { out }))
  assert.equal(results.filter((r) => r.status === 'failed').length, 0)
  const twice = [...mock.tracked].filter(([, calls]) => calls.length > 1).map(([id]) => id)
  assert.deepEqual(twice, [], 'no photo tracked twice')
  const files = (await outputFiles(out)).filter((f) => f.endsWith('.jpg'))
  assert.equal(mock.tracked.size, files.length, 'every photo downloaded is tracked')
})

// unsplash-js#216: a search is served up to page 200; a later page answers no results and
// `total: 0`, though `total_pages` said more. The run took that 0 for the search's size and said
// nothing of the photos out of reach.
test('a search the API stops serving before its end: the photos it served, its total kept, and a line saying why the rest are missing', async (t) => {
  const capped = await startUnsplashMock({
    imageOrigin: images.origin,
    key: KEY,
    searches: { animals: 100 },
    searchPageCap: 2,
  })
  t.after(() => capped.close())
  const said: string[] = []
  const photos = unsplash.search('animals', { ...base(capped, said), limit: Number.POSITIVE_INFINITY })
  const results = await all(pull(photos, { out: join(dir, 'capped-search') }))
  assert.equal(results.length, 60)
  assert.ok(results.every((r) => r.status === 'ok'))
  assert.equal(photos.summary.total, 100, "the search's size, not the empty page's 0")
  assert.ok(
    said.some((l) =>
      /^Unsplash search "animals": the API listed 60 of the 100 photos it counts and no more/.test(l),
    ),
    said.join('\n'),
  )
})

// A search page's ?license=free (unsplash-js#212: the API has no such filter and lists Unsplash+
// photos among the others): they were fetched, watermarked, under another license than the page's.
test("a search page's ?license=free: no Unsplash+ photo fetched, and a line says how many were left out", async (t) => {
  const plus = new Set<string>()
  const mock = await startUnsplashMock({ imageOrigin: images.origin, key: KEY, searches: { cat: 12 }, plus })
  t.after(() => mock.close())
  for (const n of [0, 5, 7]) plus.add(mock.photoAt('search:cat', n).id)
  const said: string[] = []
  const photos = unsplash.search('https://unsplash.com/s/photos/cat?license=free', base(mock, said))
  const results = await all(pull(photos, { out: join(dir, 'license-free') }))
  assert.equal(results.length, 9)
  assert.ok(results.every((r) => r.status === 'ok' && r.job.meta?.premium === false))
  assert.ok(
    said.includes(
      'Unsplash search "cat": 3 photos the API listed were Unsplash+ (premium) and left out, as the address\'s license=free asks.',
    ),
    said.join('\n'),
  )
  assert.ok(!said.some((l) => l.includes('and no more')), said.join('\n'))
})

// An API page that repeats a photo of an earlier page (odoo/odoo#150183: "sometimes the same image
// appears in several batches" of one search): the photo is fetched once,
// and the closing line said the API "listed 34 of the 35 photos it counts and no more".
test('a photo the API lists on two pages: fetched once, said as listed twice, not as one the API never gave', async (t) => {
  let second: MockPhoto | undefined
  const repeating = await startUnsplashMock({
    imageOrigin: images.origin,
    key: KEY,
    collections: { '9': 35 },
    photo: (p, n) => {
      if (n === 2) second = p
      return n === 32 && second ? second : p
    },
  })
  t.after(() => repeating.close())
  const said: string[] = []
  const photos = unsplash.collection('9', base(repeating, said))
  const results = await all(pull(photos, { out: join(dir, 'repeated-photo') }))
  assert.equal(results.length, 34)
  assert.ok(results.every((r) => r.status === 'ok'))
  assert.ok(
    said.includes('Unsplash collection 9: the API listed 1 photo twice; each was fetched once.'),
    said.join('\n'),
  )
  assert.ok(!said.some((l) => l.includes('and no more')), said.join('\n'))
  assert.equal(photos.summary.repeated, 1)
})

// The random endpoint draws with repeats: a small pool (a collection, a narrow query) gives the
// same photos again, "receiving 10 photos instead of 30 ... the same 10 photos over and over"
// (unsplash-js#56). Each is fetched once, and the run ended with fewer photos than asked for and
// not a word why.
test('random from a pool smaller than the count: each photo fetched once, and a line says how many of how many', async (t) => {
  const small = await startUnsplashMock({ imageOrigin: images.origin, key: KEY, randomPool: 10 })
  t.after(() => small.close())
  const said: string[] = []
  const photos = unsplash.random({ count: 25, ...base(small, said) })
  const results = await all(pull(photos, { out: join(dir, 'random-small-pool') }))
  assert.equal(results.length, 10)
  assert.ok(results.every((r) => r.status === 'ok'))
  assert.ok(
    said.includes(
      'Unsplash random photos: 10 different photos of the 25 asked for; the API then drew only photos it had given already (fewer match, or it repeats itself).',
    ),
    said.join('\n'),
  )
})
