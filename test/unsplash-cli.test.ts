import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import sharp from 'sharp'
import { cleanup, outputFiles, runCli, startCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { type LocalServer, listenLocal } from './support/raw-server.js'
import { startUnsplashMock, type UnsplashMock } from './support/unsplash-mock.js'

const KEY = 'sk-UNSPLASH-SECRET-0123456789'

let images: ImageServer
let api: UnsplashMock
let dir: string
const outputs: string[] = []

before(async () => {
  images = await startImageServer({ sizes: [2_000, 8_000] })
  api = await startUnsplashMock({
    imageOrigin: images.origin,
    key: KEY,
    searches: { 'mountain lake': 1000, forest: 12 },
    collections: { '1580860': 35, '77': 8 },
    users: { anniespratt: 40 },
    likes: { anniespratt: 7 },
    topics: { nature: 50 },
  })
  dir = await tempDir('imgpull-unsplash-')
})
after(async () => {
  await api.close()
  await images.close()
  await cleanup(dir)
})

function unsplash(args: string[], mock = api, env: Record<string, string> = {}) {
  const run = runCli(['unsplash', ...args], {
    env: { UNSPLASH_ACCESS_KEY: mock.key, UNSPLASH_API_URL: mock.origin, ...env },
  })
  return run.then((r) => {
    outputs.push(r.stdout, r.stderr)
    return r
  })
}

const manifest = async (out: string) =>
  (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))

/** Every byte under `out`, the state database and journal included. */
async function everything(out: string): Promise<string> {
  const entries = await readdir(out, { recursive: true, withFileTypes: true })
  const texts = await Promise.all(
    entries.filter((e) => e.isFile()).map((e) => readFile(join(e.parentPath, e.name), 'latin1')),
  )
  return texts.join('\n')
}

/** The bytes of each file of `out` outside `.imgpull/` (report.html left out: it shows times), by name. */
async function kept(out: string): Promise<Record<string, string>> {
  const names = (await readdir(out)).filter((n) => n !== '.imgpull' && n !== 'report.html').sort()
  return Object.fromEntries(
    await Promise.all(names.map(async (n) => [n, await readFile(join(out, n), 'latin1')])),
  )
}

function trackedOnce(mock: UnsplashMock, ids: string[]) {
  for (const id of ids) assert.equal(mock.tracked.get(id)?.length, 1, `tracked once: ${id}`)
}

describe('imgpull unsplash', { concurrency: true }, () => {
  test('search --limit 45: two pages of 30, 45 files, 45 tracking calls, attribution, no key anywhere', async () => {
    const out = join(dir, 'search')
    const from = api.log.length
    const imageRequests = images.log.length
    const r = await unsplash(['search', 'mountain', 'lake', '--limit', '45', '-o', out])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /Unsplash search "mountain lake": 45 of 1,000 photos\. 46 API calls still needed/)
    assert.match(r.stderr, /^45 images, /m)
    assert.match(r.stderr, /Unsplash: 47 API calls in this run \(2 listing, 45 download tracking\)/)
    // Tracking calls listen on the client's own signal: past 10 at once, Node printed a
    // MaxListenersExceededWarning ("Possible EventTarget memory leak") in the middle of the run.
    assert.doesNotMatch(r.stderr, /MaxListenersExceeded|memory leak/)

    const pages = api.log
      .slice(from)
      .filter((c) => c.path === '/search/photos' && c.query.get('query') === 'mountain lake')
    assert.deepEqual(
      pages.map((c) => [c.query.get('query'), c.query.get('page'), c.query.get('per_page')]),
      [
        ['mountain lake', '1', '30'],
        ['mountain lake', '2', '30'],
      ],
    )
    const photos = Array.from({ length: 45 }, (_, n) => api.photoAt('search:mountain lake', n))
    trackedOnce(
      api,
      photos.map((p) => p.id),
    )
    for (const p of photos) {
      assert.deepEqual(api.tracked.get(p.id), [new URL(p.links.download_location).searchParams.get('ixid')])
    }

    // Names: {id}-{slug}, or {id} alone without a description or alt text (every 5th mock photo).
    const files = await outputFiles(out)
    assert.equal(files.filter((f) => f.endsWith('.jpg')).length, 45)
    assert.ok(files.includes(`${photos[0].id}-mountain-lake-at-sunrise.jpg`), files.join(' '))
    assert.ok(files.includes(`${photos[1].id}-cafe-croissant-a-morning-in-paris-france.jpg`))
    assert.ok(files.includes(`${photos[4].id}.jpg`))

    // Images come from photo.urls.regular, and the image host never sees the key.
    const paths = new Set(photos.map((p) => `/photo-${p.id}`))
    const mine = images.log.slice(imageRequests).filter((e) => paths.has(e.url.split('?')[0]))
    assert.equal(mine.length, 45)
    for (const entry of mine) assert.match(entry.url, /&w=1080/)
    for (const entry of images.log) {
      assert.equal(entry.headers.authorization, undefined)
      assert.ok(!JSON.stringify(entry).includes(KEY))
    }

    const lines = await manifest(out)
    const first = lines.find((l) => l.meta.id === photos[0].id)
    assert.deepEqual(Object.keys(first.meta).sort(), [
      'altDescription',
      'attribution',
      'blurHash',
      'color',
      'description',
      'height',
      'id',
      'photoUrl',
      'photographer',
      'premium',
      'profileUrl',
      'source',
      'username',
      'width',
    ])
    assert.equal(first.meta.description, 'Mountain lake at sunrise')
    assert.equal(first.meta.blurHash, photos[0].blur_hash)
    assert.equal(
      first.meta.photoUrl,
      `https://unsplash.com/photos/${photos[0].id}?utm_source=imgpull&utm_medium=referral`,
    )

    const credits = await readFile(join(out, 'ATTRIBUTION.md'), 'utf8')
    const entries = credits.split('\n').filter((l) => l.startsWith('- '))
    assert.equal(entries.length, 45)
    const p = photos[0]
    assert.ok(
      credits.includes(
        `Photo by [${p.user.name}](https://unsplash.com/@${p.user.username}?utm_source=imgpull&utm_medium=referral) on [Unsplash](https://unsplash.com/photos/${p.id}?utm_source=imgpull&utm_medium=referral)`,
      ),
      credits,
    )
    assert.ok(!(await everything(out)).includes(KEY), 'the key is in no file of the output folder')
    // The report credits them too, as the run wrote it and as `imgpull report` writes it again
    // (its credits are read apart from the rest of the journal).
    const credited = /data-figure="credits">45 photos from Unsplash, credited to the photographers/
    assert.match(await readFile(join(out, 'report.html'), 'utf8'), credited)
    await rm(join(out, 'report.html'))
    const report = await runCli(['report', out])
    assert.equal(report.code, 0, report.stderr)
    assert.match(await readFile(join(out, 'report.html'), 'utf8'), credited)

    // A rerun: everything is done, so no API call at all and no second tracking call.
    const again = await unsplash(['search', 'mountain', 'lake', '--limit', '45', '-o', out])
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stderr, /No API calls needed/)
    assert.match(again.stderr, /45 already done/)
    assert.match(again.stderr, /Unsplash: 0 API calls in this run/)
    trackedOnce(
      api,
      photos.map((p) => p.id),
    )
  })

  test("a project's own ATTRIBUTION.md in the output folder is never replaced: the run is refused, no API call made", async () => {
    const out = join(dir, 'theirs-credits')
    await mkdir(out)
    const theirs = '# Attribution\n\nIcons by someone else.\n'
    await writeFile(join(out, 'ATTRIBUTION.md'), theirs)
    const r = await unsplash(['search', 'credits', 'clash', '--limit', '2', '-o', out])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /ATTRIBUTION\.md is not imgpull's \(a file of yours\?\)/)
    assert.equal(await readFile(join(out, 'ATTRIBUTION.md'), 'utf8'), theirs)
    assert.deepEqual(await readdir(out), ['ATTRIBUTION.md'], 'no journal, state or images')
    assert.ok(!api.log.some((c) => c.query.get('query') === 'credits clash'), 'no API call')
  })

  test('a folder at .imgpull/unsplash.db is named (exit 3), no API call made', async () => {
    // It was said as the SQLite error of the store that could not be opened.
    const out = join(dir, 'state-folder')
    const state = join(out, '.imgpull', 'unsplash.db')
    await mkdir(state, { recursive: true })
    const r = await unsplash(['search', 'state', 'folder', '--limit', '2', '-o', out])
    assert.equal(r.code, 3, r.stderr)
    assert.equal(
      r.stderr.split('\n')[0],
      `imgpull: ${state} is a folder, not a file: imgpull keeps the Unsplash listing and download tracking there; move it away, then run the same command again`,
    )
    assert.ok(!api.log.some((c) => c.query.get('query') === 'state folder'), 'no API call')
  })

  test('into WebDataset shards: every photo credited in ATTRIBUTION.md, linked to its shard', async () => {
    const out = join(dir, 'shards')
    const r = await unsplash([
      'collection',
      '77',
      '-o',
      out,
      '--output-format',
      'webdataset',
      '--shard-size',
      '5',
    ])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /credits for 8 photos in /)
    const credits = await readFile(join(out, 'ATTRIBUTION.md'), 'utf8')
    const lines = credits.split('\n').filter((l) => l.startsWith('- '))
    assert.equal(lines.length, 8)
    for (const line of lines)
      assert.match(line, /^- \[0000[01]\.tar\/\d+\.jpg\]\(0000[01]\.tar\): Photo by \[/)
  })

  test('failed downloads are never tracked, not even on a rerun', async (t) => {
    const mock = await startUnsplashMock({
      imageOrigin: images.origin,
      collections: { '5': 6 },
      brokenImages: new Set(['x']),
    })
    const broken = mock.photoAt('collection:5', 2).id
    await mock.close()
    // Same photos, now with one image answering 404.
    const faulty = await startUnsplashMock({
      imageOrigin: images.origin,
      collections: { '5': 6 },
      brokenImages: new Set([broken]),
    })
    t.after(() => faulty.close())
    const out = join(dir, 'broken')
    const r = await unsplash(['collection', '5', '-o', out, '--retries', '0'], faulty)
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /5 images, .* 1 failed/)
    assert.equal(faulty.tracked.get(broken), undefined)
    assert.equal(faulty.tracked.size, 5)
    const rerun = await unsplash(
      ['collection', '5', '-o', out, '--retries-failed'.slice(0, 0) || '--retries', '0'],
      faulty,
    )
    assert.equal(rerun.code, 1)
    assert.equal(faulty.tracked.get(broken), undefined)
    assert.equal(faulty.tracked.size, 5)
    for (const calls of faulty.tracked.values()) assert.equal(calls.length, 1)
    const credits = await readFile(join(out, 'ATTRIBUTION.md'), 'utf8')
    assert.equal(credits.split('\n').filter((l) => l.startsWith('- ')).length, 5)
    assert.ok(!credits.includes(broken))
  })

  test('a photo whose image host failed for a passing reason is fetched and tracked on a plain rerun', async (t) => {
    const probe = await startUnsplashMock({ imageOrigin: images.origin, collections: { '6': 4 } })
    const flaky = probe.photoAt('collection:6', 1).id
    await probe.close()
    const mock = await startUnsplashMock({
      imageOrigin: images.origin,
      collections: { '6': 4 },
      flakyImages: new Set([flaky]),
    })
    t.after(() => mock.close())
    const out = join(dir, 'flaky')
    const first = await unsplash(['collection', '6', '-o', out, '--retries', '0'], mock)
    assert.equal(first.code, 1, first.stderr)
    assert.match(first.stderr, /http-500/)
    assert.equal(mock.tracked.get(flaky), undefined, 'a failed photo is not tracked')
    const rerun = await unsplash(['collection', '6', '-o', out, '--retries', '0'], mock)
    assert.equal(rerun.code, 0, rerun.stderr)
    assert.match(rerun.stderr, /^1 image, .*3 already done/m)
    trackedOnce(mock, [...mock.tracked.keys()])
    assert.equal(mock.tracked.size, 4)
    assert.equal(mock.tracked.get(flaky)?.length, 1)
  })

  // unsplash/unsplash-php#132: tracking an Unsplash+ photo answers 401 "Unauthorized" to a key
  // without a subscription, while the key is good: not "the key is rejected", and not a reason to
  // hold back every other photo's tracking call.
  test('an Unsplash+ photo whose tracking call answers 401: the others are tracked, the key is not blamed, no call twice', async (t) => {
    const plus = new Set<string>()
    const mock = await startUnsplashMock({ imageOrigin: images.origin, collections: { '9': 6 }, plus })
    t.after(() => mock.close())
    const ids = Array.from({ length: 6 }, (_, n) => mock.photoAt('collection:9', n).id)
    plus.add(ids[0]).add(ids[3])
    const out = join(dir, 'plus')
    const first = await unsplash(['collection', '9', '-o', out], mock)
    assert.equal(first.code, 0, first.stderr)
    assert.doesNotMatch(first.stderr, /rejected the access key|owed/)
    assert.match(
      first.stderr,
      new RegExp(
        `Unsplash refused to track the download of 2 photos \\(HTTP 401 "?Unauthorized"?\\): ${[ids[0], ids[3]].sort().join(', ')}\\.`,
      ),
    )
    trackedOnce(mock, [ids[1], ids[2], ids[4], ids[5]])
    assert.equal((await outputFiles(out)).filter((f) => f.endsWith('.jpg')).length, 6)
    // Their files (watermarked without a subscription) are not under the Unsplash License: the
    // credits and the manifest say which they are.
    const credits = await readFile(join(out, 'ATTRIBUTION.md'), 'utf8')
    assert.match(
      credits,
      /under the \[Unsplash License\]\([^)]*\), except the Unsplash\+ photos marked below/,
    )
    const lines = credits.split('\n').filter((l) => l.startsWith('- '))
    assert.equal(lines.length, 6)
    for (const [n, id] of ids.entries()) {
      const line = lines.find((l) => l.includes(id)) ?? ''
      const marked = line.endsWith(
        ' (Unsplash+: under the Unsplash+ License, not the Unsplash License; without a subscription the file is watermarked)',
      )
      assert.equal(marked, n === 0 || n === 3, line)
    }
    const premium = (await manifest(out)).filter((r) => r.meta.premium === true).map((r) => r.meta.id)
    assert.deepEqual(premium.sort(), [ids[0], ids[3]].sort())

    const rerun = await unsplash(['collection', '9', '-o', out], mock)
    assert.equal(rerun.code, 0, rerun.stderr)
    assert.doesNotMatch(rerun.stderr, /owed|refused/)
    const asked = (id: string) => mock.log.filter((c) => c.path === `/photos/${id}/download`).length
    assert.deepEqual([asked(ids[0]), asked(ids[3])], [1, 1], 'a refused call is not made again')
    trackedOnce(mock, [ids[1], ids[2], ids[4], ids[5]])
  })

  test('collection (whole, by Link), user and topic (30 by default) and their filters', async () => {
    const [c, u, t] = await Promise.all([
      unsplash([
        'collection',
        'https://unsplash.com/collections/1580860/lakes',
        '-o',
        join(dir, 'collection'),
      ]),
      unsplash(['user', '@anniespratt', '--order-by', 'popular', '-o', join(dir, 'user')]),
      unsplash(['topic', 'nature', '--limit', '31', '--orientation', 'portrait', '-o', join(dir, 'topic')]),
    ])
    assert.equal(c.code, 0, c.stderr)
    assert.equal(u.code, 0, u.stderr)
    assert.equal(t.code, 0, t.stderr)
    assert.match(c.stderr, /Unsplash collection 1580860: all 35 photos/)
    assert.match(u.stderr, /Unsplash user anniespratt: 30 of 40 photos \(--limit N or --limit all for more\)/)
    assert.equal((await outputFiles(join(dir, 'collection'))).filter((f) => f.endsWith('.jpg')).length, 35)
    assert.equal((await outputFiles(join(dir, 'user'))).filter((f) => f.endsWith('.jpg')).length, 30)
    assert.equal((await outputFiles(join(dir, 'topic'))).filter((f) => f.endsWith('.jpg')).length, 31)
    const userCalls = api.log.filter((x) => x.path === '/users/anniespratt/photos')
    assert.equal(userCalls.length, 1, 'the default 30 fit one page')
    assert.equal(userCalls[0].query.get('order_by'), 'popular')
    const topicCalls = api.log.filter((x) => x.path === '/topics/nature/photos')
    assert.deepEqual(
      topicCalls.map((x) => [x.query.get('page'), x.query.get('orientation')]),
      [
        ['1', 'portrait'],
        ['2', 'portrait'],
      ],
    )
  })

  // A profile address of the likes tab given to `user` listed the photographer's own photos: a
  // different set than the page the user copied, without a word.
  test("likes: a user's liked photos, also from the likes page's address; that address given to user is refused, not listed as their photos", async () => {
    const out = join(dir, 'liked-wrong')
    const wrong = await unsplash(['user', 'https://unsplash.com/@anniespratt/likes', '-o', out])
    assert.equal(wrong.code, 2, wrong.stderr)
    assert.match(
      wrong.stderr,
      /imgpull: https:\/\/unsplash\.com\/@anniespratt\/likes is anniespratt's likes, not their photos: use imgpull unsplash likes anniespratt/,
    )
    assert.ok(!existsSync(out))
    const liked = join(dir, 'liked')
    const r = await unsplash([
      'likes',
      'https://unsplash.com/@anniespratt/likes',
      '--order-by',
      'oldest',
      '-o',
      liked,
    ])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /Unsplash likes of anniespratt: all 7 photos/)
    const files = (await outputFiles(liked)).filter((f) => f.endsWith('.jpg'))
    assert.equal(files.length, 7)
    const first = api.photoAt('likes:anniespratt', 0).id
    assert.ok(
      files.some((f) => f.startsWith(first)),
      files.join(' '),
    )
    const calls = api.log.filter((x) => x.path === '/users/anniespratt/likes')
    assert.equal(calls[0].query.get('order_by'), 'oldest')
    trackedOnce(api, [first])
    const nobody = await unsplash(['likes', 'nobody-here', '-o', join(dir, 'liked-nobody')])
    assert.equal(nobody.code, 2, nobody.stderr)
    assert.match(nobody.stderr, /imgpull: no such Unsplash user nobody-here\n/)
  })

  // A photographer adds photos to a collection and runs the same command: the stored listing
  // (complete) was read back and the new photos never looked for, with no word of --refresh.
  test('a rerun after photos were added: the line says --refresh lists it again; with it, only the new photos are fetched and tracked', async (t) => {
    const collections: Record<string, number> = { '31': 5 }
    const mock = await startUnsplashMock({ imageOrigin: images.origin, collections })
    t.after(() => mock.close())
    const out = join(dir, 'grown')
    assert.equal((await unsplash(['collection', '31', '-o', out], mock)).code, 0)
    collections['31'] = 8
    const plain = await unsplash(['collection', '31', '-o', out], mock)
    assert.equal(plain.code, 0, plain.stderr)
    assert.match(
      plain.stderr,
      /Unsplash collection 31: all 5 photos \(listed by an earlier run; --refresh lists it again for photos added since\)\. No API calls needed/,
    )
    const fresh = await unsplash(['collection', '31', '-o', out, '--refresh'], mock)
    assert.equal(fresh.code, 0, fresh.stderr)
    assert.match(fresh.stderr, /^3 images, .*5 already done/m)
    assert.equal(mock.tracked.size, 8)
    trackedOnce(mock, [...mock.tracked.keys()])
    const credits = await readFile(join(out, 'ATTRIBUTION.md'), 'utf8')
    assert.equal(credits.split('\n').filter((l) => l.startsWith('- ')).length, 8)
  })

  // A listing continued by a rerun is asked for its next page: if photos were added at its front
  // (a photographer's latest uploads, newest first) or removed before that page since, every
  // later photo moved, and the page held photos already listed (the new ones never looked for) or
  // skipped photos never listed: 3 or 5 photos missed with no word, or a line blaming hidden ones.
  test('a listing continued after photos were added at its front or removed is listed again from its first page: none missed, none fetched twice', async (t) => {
    const users: Record<string, number> = { grower: 80 }
    const collections: Record<string, number> = { '88': 70 }
    const mock = await startUnsplashMock({ imageOrigin: images.origin, users, collections })
    t.after(() => mock.close())
    const ids = async (out: string) =>
      new Set((await manifest(out)).filter((r) => r.status === 'ok').map((r) => r.meta.id as string))

    const annie = join(dir, 'grower')
    assert.equal((await unsplash(['user', 'grower', '-o', annie], mock)).code, 0)
    mock.edit('user:grower', { add: 3 })
    const from = mock.log.length
    const more = await unsplash(['user', 'grower', '--limit', '60', '-o', annie], mock)
    assert.equal(more.code, 0, more.stderr)
    assert.match(
      more.stderr,
      /Unsplash user grower changed since an earlier run listed it \(80 photos then, 83 now\): listing it again from its first page/,
    )
    const got = await ids(annie)
    assert.equal(got.size, 60)
    for (let k = 1; k <= 3; k++) assert.ok(got.has(mock.photoAt('user:grower', -k).id), `new photo ${k}`)
    for (let n = 0; n < 57; n++) assert.ok(got.has(mock.photoAt('user:grower', n).id), `photo ${n}`)
    assert.equal(mock.tracked.size, 60)
    trackedOnce(mock, [...mock.tracked.keys()])
    assert.deepEqual(
      mock.log
        .slice(from)
        .filter((c) => c.path.endsWith('/photos'))
        .map((c) => c.query.get('page')),
      ['2', '1'],
      'the page the rerun asked for, then the one before it: no page twice',
    )

    const shrunk = join(dir, 'shrunk')
    assert.equal((await unsplash(['collection', '88', '--limit', '30', '-o', shrunk], mock)).code, 0)
    mock.edit('collection:88', { remove: [0, 1, 2, 3, 4] })
    const rest = await unsplash(['collection', '88', '-o', shrunk], mock)
    assert.equal(rest.code, 0, rest.stderr)
    assert.match(rest.stderr, /\(70 photos then, 65 now\)/)
    assert.doesNotMatch(rest.stderr, /hidden or removed/)
    const all = await ids(shrunk)
    for (let n = 0; n < 70; n++) assert.ok(all.has(mock.photoAt('collection:88', n).id), `photo ${n}`)
    assert.equal(all.size, 70)
    trackedOnce(mock, [...all])
  })

  // GET /photos/random documents that words and collections or topics cannot be combined, and
  // draws from the collections alone ('query' will be ignored, says Unsplash's own unsplash_rb):
  // `random --query forest --collections 1580860` kept photos of anything, as if of forests.
  test('random --query with --collections or --topics is refused before any call: the API would ignore the words', async (t) => {
    const mock = await startUnsplashMock({ imageOrigin: images.origin, key: KEY, collections: { '77': 8 } })
    t.after(() => mock.close())
    for (const pool of [
      ['--collections', '1580860'],
      ['--topics', 'nature'],
    ]) {
      const out = join(dir, `random-pool-${pool[0].slice(2)}`)
      const r = await unsplash(['random', '--count', '3', '--query', 'forest', ...pool, '-o', out], mock)
      assert.equal(r.code, 2, r.stderr)
      assert.equal(
        r.stderr.trim(),
        'imgpull: --query cannot be combined with --collections or --topics: the Unsplash API draws random photos from the collections or topics alone and ignores the words; for the photos of collections that match words, use imgpull unsplash search <words> --collections <ids> (see imgpull unsplash random --help)',
      )
      assert.ok(!existsSync(out), 'no folder')
    }
    assert.equal(mock.log.length, 0, 'no API call')
    const words = join(dir, 'random-words')
    assert.equal((await unsplash(['random', '--count', '2', '--query', 'forest', '-o', words], mock)).code, 0)
    const pool = join(dir, 'random-pool')
    assert.equal(
      (await unsplash(['random', '--count', '2', '--collections', '77', '-o', pool], mock)).code,
      0,
    )
  })

  // The README takes the addresses copied from a browser; a search page's was searched for as
  // words ("https", "unsplash", "s", "photos", "alpine-tarn"...), and its filters lost. (Not
  // "mountain lake": the first test counts the image requests for its photos.)
  test("search takes a search page's address: its words and filters", async (t) => {
    const mock = await startUnsplashMock({
      imageOrigin: images.origin,
      key: KEY,
      searches: { 'alpine tarn': 40 },
    })
    t.after(() => mock.close())
    const out = join(dir, 'search-page')
    const r = await unsplash(
      [
        'search',
        'https://unsplash.com/s/photos/alpine-tarn?orientation=landscape',
        '--limit',
        '3',
        '-o',
        out,
      ],
      mock,
    )
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /^Unsplash search "alpine tarn": 3 of 40 photos/m)
    const [call] = mock.log.filter((c) => c.path === '/search/photos')
    assert.equal(call.query.get('query'), 'alpine tarn')
    assert.equal(call.query.get('orientation'), 'landscape')
    assert.equal((await manifest(out)).filter((row) => row.status === 'ok').length, 3)
  })

  // Outside English the site's addresses name their language and "photos" in it, and credits
  // copied from it carry them (unsplash.com/de/fotos/…, /ja/写真/…): they were refused.
  test('photo and collection take the addresses of the site in other languages', async (t) => {
    const mock = await startUnsplashMock({
      imageOrigin: images.origin,
      key: KEY,
      collections: { '3jMstqgu2e4': 3 },
    })
    t.after(() => mock.close())
    const ids = [0, 1, 2].map((n) => mock.photoAt('collection:3jMstqgu2e4', n).id)
    const collection = join(dir, 'localized-collection')
    const r = await unsplash(
      ['collection', 'https://unsplash.com/de/kollektionen/3jMstqgu2e4/sommerlicht', '-o', collection],
      mock,
    )
    assert.equal(r.code, 0, r.stderr)
    assert.equal((await manifest(collection)).filter((row) => row.status === 'ok').length, 3)
    const photos = join(dir, 'localized-photos')
    const p = await unsplash(
      [
        'photo',
        `https://unsplash.com/de/fotos/ein-bergsee-${ids[0]}?utm_source=unsplash&utm_medium=referral`,
        `https://unsplash.com/ja/${encodeURIComponent('写真')}/${encodeURIComponent('湖')}-${ids[1]}`,
        `https://unsplash.com/pt-br/fotografias/um-lago-${ids[2]}`,
        '-o',
        photos,
      ],
      mock,
    )
    assert.equal(p.code, 0, p.stderr)
    const got = (await manifest(photos)).filter((row) => row.status === 'ok').map((row) => row.meta.id)
    assert.deepEqual(got.sort(), [...ids].sort())
  })

  // `docker run --env-file` keeps the quotes of KEY="…" (docker/cli#3630): the API answered 401
  // and the key was blamed with no word of why; a control character in it failed every call as
  // "cannot reach the Unsplash API … UND_ERR_INVALID_ARG" after the retries.
  test('a key wrapped in quotes, framed as the documentation shows it, or holding a control character is named so before any call, without the key', async (t) => {
    const mock = await startUnsplashMock({ imageOrigin: images.origin, key: KEY, collections: { '5': 1 } })
    t.after(() => mock.close())
    for (const [key, why] of [
      [
        `"${KEY}"`,
        'is wrapped in quotes, which are not part of it (docker --env-file keeps them): remove them',
      ],
      [`'${KEY}'`, 'is wrapped in quotes'],
      [
        `${KEY.slice(0, 5)}\x01${KEY.slice(5)}`,
        'holds a space or a control character, which no key has: copy it again',
      ],
      // Copied with the documentation's frame (unsplash-js#129, ifl0w/RandomWallpaperGnome3#94):
      // "copy it again", or sent, the API's 401.
      [
        `Client-ID ${KEY}`,
        'starts with "Client-ID", the word the Authorization header puts before it (Authorization: Client-ID KEY), which is not part of it: give the key alone',
      ],
      [`client_id=${KEY}`, 'starts with "client_id=", the name of the address\'s parameter'],
    ]) {
      const out = join(dir, 'quoted-key')
      const r = await unsplash(['collection', '5', '-o', out], mock, { UNSPLASH_ACCESS_KEY: key })
      assert.equal(r.code, 2, r.stderr)
      assert.ok(r.stderr.startsWith(`imgpull: the Unsplash access key ${why}`), r.stderr)
      assert.ok(!r.stderr.includes(KEY.slice(5)), 'the key is not printed')
      assert.ok(!existsSync(out))
    }
    assert.equal(mock.log.length, 0, 'no API call')
  })

  test('random --count (with --access-key and --api-url) and photo ids', async () => {
    const ids = [api.photoAt('topic:nature', 40).id, api.photoAt('topic:nature', 41).id]
    const [random, photo] = await Promise.all([
      // --access-key and --api-url stand in for the environment.
      unsplash(
        [
          'random',
          '--count',
          '33',
          '--query',
          'forest',
          '--access-key',
          KEY,
          '--api-url',
          api.origin,
          '-o',
          join(dir, 'random'),
        ],
        api,
        { UNSPLASH_ACCESS_KEY: '', UNSPLASH_API_URL: 'http://127.0.0.1:9' },
      ),
      unsplash([
        'photo',
        ids[0],
        `https://unsplash.com/photos/some-words-${ids[1]}`,
        '-o',
        join(dir, 'photo'),
      ]),
    ])
    assert.equal(random.code, 0, random.stderr)
    assert.equal(photo.code, 0, photo.stderr)
    assert.equal((await outputFiles(join(dir, 'random'))).filter((f) => f.endsWith('.jpg')).length, 33)
    const counts = api.log.filter((x) => x.path === '/photos/random').map((x) => x.query.get('count'))
    assert.deepEqual(counts, ['30', '3'])
    const files = await outputFiles(join(dir, 'photo'))
    for (const id of ids)
      assert.ok(
        files.some((f) => f.startsWith(id)),
        `${id} in ${files}`,
      )
  })

  test('--size and imgix options choose the image URL; --size with imgix is a usage error', async () => {
    const from = images.log.length
    const full = await unsplash(['collection', '77', '--size', 'full', '-o', join(dir, 'full')])
    assert.equal(full.code, 0, full.stderr)
    const imgix = await unsplash([
      'collection',
      '77',
      '--width',
      '640',
      '--format',
      'webp',
      '--quality',
      '60',
      '-o',
      join(dir, 'imgix'),
    ])
    assert.equal(imgix.code, 0, imgix.stderr)
    const urls = images.log.slice(from).map((e) => new URL(e.url, images.origin))
    assert.equal(urls.filter((u) => u.searchParams.get('q') === '85').length, 8, '--size full')
    const resized = urls.filter((u) => u.searchParams.get('w') === '640')
    assert.equal(resized.length, 8)
    for (const u of resized) {
      assert.equal(u.searchParams.get('fm'), 'webp')
      assert.equal(u.searchParams.get('q'), '60')
      assert.ok(u.searchParams.get('ixid'), 'the raw URL keeps its ixid')
    }
    const both = await unsplash([
      'collection',
      '77',
      '--size',
      'small',
      '--width',
      '100',
      '-o',
      join(dir, 'x'),
    ])
    assert.equal(both.code, 2)
    assert.match(both.stderr, /--size small cannot be combined with imgix options/)
  })

  test('errors: no key, bad key, unknown collection are usage errors that leave no folder; an empty search exits 0 and leaves none either', async () => {
    const out = (name: string) => join(dir, 'errors', name)
    const [noKey, badKey, collection, empty] = await Promise.all([
      unsplash(['search', 'forest', '-o', out('no-key')], api, { UNSPLASH_ACCESS_KEY: '' }),
      unsplash(['search', 'forest', '-o', out('bad-key')], api, { UNSPLASH_ACCESS_KEY: 'not-the-key' }),
      unsplash(['collection', '999', '-o', out('collection')]),
      unsplash(['search', 'no', 'such', 'thing', '-o', out('empty')]),
    ])
    // Nothing was stored: the runs take back the folders they made. So does a search that matched
    // nothing, as an empty list does: it left an empty manifest.jsonl, a report of nothing and .imgpull/.
    for (const name of ['no-key', 'bad-key', 'collection', 'empty']) assert.ok(!existsSync(out(name)), name)
    assert.equal(noKey.code, 2)
    assert.equal(
      noKey.stderr.trim(),
      'imgpull: no Unsplash access key: set UNSPLASH_ACCESS_KEY or pass --access-key; get a free key by registering an application at https://unsplash.com/developers',
    )
    assert.equal(badKey.code, 2)
    assert.match(
      badKey.stderr,
      /^imgpull: Unsplash rejected the access key \(HTTP 401\): check UNSPLASH_ACCESS_KEY or --access-key$/m,
    )
    assert.ok(!badKey.stderr.includes('not-the-key'))
    assert.equal(collection.code, 2)
    assert.equal(
      collection.stderr.trim(),
      'imgpull: no such Unsplash collection 999, or it is private (the API shows public collections only)',
    )
    assert.equal(empty.code, 0, empty.stderr)
    assert.equal(empty.stderr.trim(), 'No Unsplash photos match "no such thing".')
  })

  test('a key revoked mid-listing: the photos listed are kept and credited, the key named once (exit 2), no "run again to continue"', async (t) => {
    let pages = 0
    const mock: UnsplashMock = await startUnsplashMock({
      imageOrigin: images.origin,
      searches: { lake: 100 },
      // The key stops working as page 2 is asked for, as when its owner revokes it.
      hold: (path) => {
        if (path === '/search/photos' && ++pages === 2) mock.setKey('a-new-key')
        return undefined
      },
    })
    t.after(() => mock.close())
    const out = join(dir, 'revoked')
    const r = await runCli(['unsplash', 'search', 'lake', '--limit', '60', '-o', out], {
      env: { UNSPLASH_ACCESS_KEY: 'test-access-key', UNSPLASH_API_URL: mock.origin },
    })
    outputs.push(r.stderr)
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /^30 images, /m)
    assert.match(
      r.stderr,
      /^imgpull: listing stopped early: Unsplash rejected the access key \(HTTP 401\): check UNSPLASH_ACCESS_KEY or --access-key$/m,
    )
    assert.equal(r.stderr.match(/rejected the access key/g)?.length, 1, r.stderr)
    assert.doesNotMatch(r.stderr, /again to continue/)
    assert.match(r.stderr, /^30 download tracking calls owed: run the same command again to send them\.$/m)
    assert.match(r.stderr, /credits for 30 photos/)
    assert.equal(mock.tracked.size, 0)
  })

  test('wait: a visible countdown, then the run goes on; every photo tracked once', async () => {
    const mock = await startUnsplashMock({
      imageOrigin: images.origin,
      searches: { lake: 40 },
      limit: 20,
      window: 250,
    })
    const out = join(dir, 'wait')
    const r = await unsplash(
      ['search', 'lake', '--limit', '40', '--rate-limit-window', '0.25', '-o', out],
      mock,
    )
    assert.equal(r.code, 0, r.stderr)
    assert.match(
      r.stderr,
      /Unsplash search "lake": all 40 photos\. 41 API calls still needed .* 19 of 20 left this hour\./,
    )
    assert.match(r.stderr, /That is more than is left this hour: the run will wait for the hourly reset/)
    assert.match(r.stderr, /Unsplash rate limit reached: waiting 0:01 for the hourly reset/)
    assert.match(r.stderr, /Unsplash rate limit: window reset, going on/)
    assert.match(r.stderr, /Unsplash: 42 API calls in this run \(2 listing, 40 download tracking\)/)
    trackedOnce(
      mock,
      Array.from({ length: 40 }, (_, n) => mock.photoAt('search:lake', n).id),
    )
    await mock.close()
  })

  // A key spent by another run this hour, refused from its first call (MehediH/Bulksplash#18: "Rate
  // Limit Exceeded. Please try again later."): the stop said the error and when to come back in two
  // lines, "to continue" a run that had listed nothing.
  test('stop before anything was listed: one line saying so and by when to start, exit 75, no folder', async (t) => {
    const mock = await startUnsplashMock({ imageOrigin: images.origin, collections: { '9': 4 }, limit: 50 })
    t.after(() => mock.close())
    mock.exhaust()
    const out = join(dir, 'stop-first')
    const r = await unsplash(['collection', '9', '--on-rate-limit', 'stop', '-o', out], mock)
    assert.equal(r.code, 75, r.stderr)
    assert.match(
      r.stderr,
      /^imgpull: Unsplash API rate limit reached \(50 calls an hour\) before anything was listed: nothing was fetched\. Run the same command after the hourly reset \(by \d\d:\d\d at the latest\) to start\.\n$/,
    )
    assert.equal(existsSync(out), false)
  })

  test('stop: ends cleanly with exit 75; the rerun after the reset continues without repeating a call', async (t) => {
    const mock = await startUnsplashMock({ imageOrigin: images.origin, searches: { lake: 100 }, limit: 2 })
    t.after(() => mock.close())
    const out = join(dir, 'stop')
    const args = ['search', 'lake', '--limit', '70', '--on-rate-limit', 'stop', '-o', out]
    const ids = Array.from({ length: 70 }, (_, n) => mock.photoAt('search:lake', n).id)

    // Window 1: pages 1 and 2, then out of calls: 60 photos listed and downloaded, none tracked.
    const first = await unsplash(args, mock)
    assert.equal(first.code, 75, first.stderr)
    assert.match(first.stderr, /the run will stop when they run out/)
    assert.match(first.stderr, /^60 images, /m)
    assert.match(
      first.stderr,
      /Unsplash rate limit reached: stopped listing, 60 download tracking calls owed\. Run the same command after the hourly reset \(by (\d\d):(\d\d) at the latest\) to continue\./,
    )
    // One window (an hour) after the stop, in the machine's time.
    const [, hh, mm] = /by (\d\d):(\d\d) at the latest/.exec(first.stderr) ?? []
    const back = new Date(Date.now() + 3_600_000)
    const minutes = (Number(hh) * 60 + Number(mm) - (back.getHours() * 60 + back.getMinutes()) + 1440) % 1440
    assert.ok(minutes <= 1 || minutes >= 1439, `${hh}:${mm}, about ${back.toTimeString()}`)
    assert.equal(mock.tracked.size, 0)

    // Window 2: the calls owed go first: 2 of them.
    mock.reset()
    const second = await unsplash(args, mock)
    assert.equal(second.code, 75, second.stderr)
    assert.match(second.stderr, /70 of 100 photos, 60 listed by an earlier run/)
    assert.match(second.stderr, /Unsplash: 2 API calls in this run \(0 listing, 2 download tracking\)/)
    assert.match(second.stderr, /58 download tracking calls owed/)
    assert.equal(mock.tracked.size, 2)

    // Then enough calls for the rest: page 3 (not 1 or 2 again), the 58 owed and 10 new ones.
    mock.setLimit(1000)
    mock.reset()
    const last = await unsplash(args, mock)
    assert.equal(last.code, 0, last.stderr)
    assert.match(last.stderr, /^10 images, .* 60 already done/m)
    assert.match(last.stderr, /Unsplash: 69 API calls in this run \(1 listing, 68 download tracking\)/)
    assert.equal(mock.tracked.size, 70)
    trackedOnce(mock, ids)
    const pages = mock.log.filter((c) => c.path === '/search/photos' && c.status === 200)
    assert.deepEqual(
      pages.map((c) => c.query.get('page')),
      ['1', '2', '3'],
      'no page fetched twice',
    )
    assert.equal((await outputFiles(out)).filter((f) => f.endsWith('.jpg')).length, 70)
  })
  test('an unknown command is named in one line, with the ones there are; so is no command, and --help shows the help', async () => {
    const [nonsense, none, help] = await Promise.all([
      runCli(['unsplash', 'nonsense']),
      runCli(['unsplash']),
      runCli(['unsplash', '--help']),
    ])
    assert.equal(nonsense.code, 2)
    assert.equal(
      nonsense.stderr,
      'imgpull: nonsense is not an Unsplash command; the commands are search, collection, user, likes, topic, random, photo (see imgpull unsplash --help)\n',
    )
    // Followed by options, as a mistyped command nearly always is: still the command is named.
    const typo = await runCli(['unsplash', 'serch', 'lake', '--limit', '5', '-o', join(dir, 'typo')])
    assert.equal(typo.code, 2)
    assert.match(
      typo.stderr,
      /^imgpull: serch is not an Unsplash command; did you mean search\? the commands are search, /,
    )
    assert.equal(existsSync(join(dir, 'typo')), false)
    // A bad API address from the environment is named as such, not as an option never given.
    const badUrl = await unsplash(['collection', '77', '-o', join(dir, 'bad-url')], api, {
      UNSPLASH_API_URL: 'api.unsplash.com',
    })
    assert.equal(badUrl.code, 2)
    assert.match(badUrl.stderr, /^imgpull: UNSPLASH_API_URL: not an http\(s\) URL: "api\.unsplash\.com"/)
    // It printed the whole help (60 lines) on stderr.
    assert.equal(none.code, 2)
    assert.equal(
      none.stderr,
      'imgpull: unsplash needs a command: search, collection, user, likes, topic, random, photo (see imgpull unsplash --help)\n',
    )
    assert.equal(none.stdout, '')
    assert.equal(help.code, 0, help.stderr)
    assert.match(help.stdout, /^Usage: imgpull unsplash <command> \[options\]/)
    assert.match(help.stdout, /search \[options\] <words\.\.\.>/)
  })

  test('Ctrl-C during a rate-limit wait before anything was listed: a line says so, exit 130, no folder', async (t) => {
    // It said "Stopping: finishing transfers in flight (up to 10 s)" and then nothing at all.
    const mock = await startUnsplashMock({ imageOrigin: images.origin, key: KEY, collections: { '5': 5 } })
    t.after(() => mock.close())
    mock.exhaust()
    const out = join(dir, 'interrupt-before-listing')
    const env = { UNSPLASH_ACCESS_KEY: KEY, UNSPLASH_API_URL: mock.origin }
    const { child, done } = startCli(['unsplash', 'collection', '5', '-o', out], { env })
    let stderr = ''
    await new Promise<void>((resolve, reject) => {
      child.stderr?.on('data', (d) => {
        stderr += d
        if (/Unsplash rate limit reached: waiting/.test(stderr)) resolve()
      })
      child.on('exit', () => reject(new Error(`the run ended before waiting: ${stderr}`)))
    })
    child.kill('SIGINT')
    const r = await done
    outputs.push(r.stdout, r.stderr)
    assert.equal(r.code, 130, r.stderr)
    assert.match(
      r.stderr,
      /\nStopped before anything was listed: nothing was fetched; run the same command again to start\.\n$/,
    )
    assert.equal(existsSync(out), false)
  })

  // 'once all are saved': the Ctrl-C finds every file with its outcome, so runPull stops no
  // download (0), and the run still left the tracking calls it cut short: 130 (it said 0).
  for (const when of ['at once', 'once all are saved'] as const)
    test(`Ctrl-C during a rate-limit wait stops at once (${when}); the calls not made stay owed for the next run`, async (t) => {
      const mock = await startUnsplashMock({
        imageOrigin: images.origin,
        key: KEY,
        searches: { lake: 60 },
        limit: 2,
      })
      t.after(() => mock.close())
      const out = join(dir, `interrupt-${when.replaceAll(' ', '-')}`)
      const args = ['unsplash', 'search', 'lake', '--limit', '60', '-o', out]
      const env = { UNSPLASH_ACCESS_KEY: KEY, UNSPLASH_API_URL: mock.origin }
      const { child, done } = startCli(args, { env })
      let stderr = ''
      // The countdown may first show 0:59:59 on a busy machine; a run that ends first fails the test.
      await new Promise<void>((resolve, reject) => {
        child.stderr?.on('data', (d) => {
          stderr += d
          if (/Unsplash rate limit reached: waiting (1:00:00|0:59:\d\d)/.test(stderr)) resolve()
        })
        child.on('exit', () => reject(new Error(`the run ended before waiting: ${stderr}`)))
      })
      if (when === 'once all are saved') {
        const saved = async () => (await readdir(out)).filter((f) => f.endsWith('.jpg')).length
        for (let i = 0; i < 600 && (await saved()) < 60; i++) await new Promise((r) => setTimeout(r, 50))
        assert.equal(await saved(), 60, stderr)
        await new Promise((r) => setTimeout(r, 500)) // their outcomes recorded
      }
      const asked = Date.now()
      child.kill('SIGINT')
      const r = await done
      outputs.push(r.stdout, r.stderr)
      // The wait was an hour: a minute tells them apart on any machine, however loaded (at 5 s, a
      // machine at load 10 once failed it, the in-flight downloads finishing first).
      assert.ok(Date.now() - asked < 60_000, 'no waiting out the hour')
      assert.equal(r.code, 130, r.stderr)
      // Downloads in flight were let finish; each one owes its tracking call.
      const downloaded = Number(/^(\d+) images, /m.exec(r.stderr)?.[1])
      assert.ok(downloaded > 0, r.stderr)
      assert.match(
        r.stderr,
        new RegExp(`${downloaded} download tracking calls owed: run the same command again`),
      )
      assert.equal(mock.tracked.size, 0)

      mock.setLimit(1000)
      mock.reset()
      const again = await runCli(args, { env })
      outputs.push(again.stdout, again.stderr)
      assert.equal(again.code, 0, again.stderr)
      assert.match(again.stderr, /Unsplash: 60 API calls in this run \(0 listing, 60 download tracking\)/)
      trackedOnce(
        mock,
        Array.from({ length: 60 }, (_, n) => mock.photoAt('search:lake', n).id),
      )
    })
})

after(() => {
  for (const text of outputs) assert.ok(!text.includes(KEY), 'the key is never printed')
})

describe('imgpull unsplash with --resize', () => {
  /** An image CDN as imgix is: the original is 600×400, and `w` or `h` scales it (never up). */
  let cdn: LocalServer
  let cdnOrigin = ''
  const asked: URL[] = []
  let mock: UnsplashMock
  before(async () => {
    cdn = await listenLocal(
      createServer(async (req, res) => {
        const url = new URL(req.url ?? '/', 'http://x')
        asked.push(url)
        const w = Number(url.searchParams.get('w') ?? 0)
        const h = Number(url.searchParams.get('h') ?? 0)
        const scale = Math.min(1, w ? w / 600 : 1, h ? h / 400 : 1)
        const body = await sharp({
          create: {
            width: Math.round(600 * scale),
            height: Math.round(400 * scale),
            channels: 3,
            background: '#3a6',
          },
        })
          .jpeg()
          .toBuffer()
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length }).end(body)
      }),
    )
    cdnOrigin = cdn.origin
    mock = await startUnsplashMock({ imageOrigin: cdnOrigin, key: KEY, collections: { '5': 3 } })
  })
  after(async () => {
    await mock.close()
    await cdn.close()
  })

  test("--resize with --size in pixels asks Unsplash's CDN for that size; the local stage crops or pads what is left", async () => {
    // The mock lists landscape photos: their shortest side is the height, their longest the width.
    for (const [mode, param, width, height] of [
      ['keep-ratio', 'h', 96, 64],
      ['center-crop', 'h', 64, 64],
      ['keep-ratio-largest', 'w', 64, 43],
      ['border', 'w', 64, 64],
    ] as const) {
      const from = asked.length
      const out = join(dir, `resize-${mode}`)
      const r = await unsplash(['collection', '5', '--resize', mode, '--size', '64', '-o', out], mock)
      assert.equal(r.code, 0, r.stderr)
      const urls = asked.slice(from)
      assert.equal(urls.length, 3, mode)
      for (const u of urls) {
        assert.equal(u.searchParams.get(param), '64', `${mode}: ${u}`)
        assert.equal(u.searchParams.get(param === 'w' ? 'h' : 'w'), null, `${mode}: one side only`)
        assert.ok(u.searchParams.get('ixid'), 'the raw URL')
      }
      const rows = await manifest(out)
      assert.equal(rows.length, 3)
      for (const row of rows) {
        assert.equal(row.status, 'ok', JSON.stringify(row))
        assert.deepEqual([row.width, row.height], [width, height], `${mode}: ${row.path}`)
        const meta = await sharp(join(out, row.path)).metadata()
        assert.deepEqual([meta.width, meta.height], [width, height])
      }
      // What the CDN sent at the size asked for needs no local change: kept as it came.
      if (mode === 'keep-ratio' || mode === 'keep-ratio-largest')
        for (const row of rows) assert.equal(row.transformed, false, `${mode}: ${row.path}`)
    }
  })

  test('--quality goes to the encoder with --encode, to imgix without; a named --size stays a ready-made size', async () => {
    const from = asked.length
    const encoded = join(dir, 'resize-encode')
    const r = await unsplash(
      ['collection', '5', '--size', 'small', '--encode', 'webp', '--quality', '40', '-o', encoded],
      mock,
    )
    assert.equal(r.code, 0, r.stderr)
    for (const u of asked.slice(from)) {
      assert.equal(u.searchParams.get('w'), '400', 'the ready-made small size')
      assert.equal(u.searchParams.get('q'), '80', "small's own quality, not --quality")
    }
    for (const row of await manifest(encoded)) {
      assert.equal(row.format, 'webp')
      assert.match(row.path, /\.webp$/)
    }
    const at = asked.length
    const imgix = await unsplash(
      ['collection', '5', '--width', '120', '--quality', '40', '-o', join(dir, 'q-imgix')],
      mock,
    )
    assert.equal(imgix.code, 0, imgix.stderr)
    for (const u of asked.slice(at)) assert.equal(u.searchParams.get('q'), '40')
    const bad = await unsplash(['collection', '5', '--size', 'huge', '-o', join(dir, 'bad')], mock)
    assert.equal(bad.code, 2)
    assert.match(
      bad.stderr,
      /--size.*expected one of raw, full, regular, small, thumb, or pixels for --resize/,
    )
    const noMode = await unsplash(['collection', '5', '--size', '64', '-o', join(dir, 'bad')], mock)
    assert.equal(noMode.code, 2)
    assert.match(noMode.stderr, /--size is the target of --resize/)
    // A photographer asking for 64 px photos is shown Unsplash's own ways too, in one line.
    assert.match(
      noMode.stderr,
      /^imgpull: --size is the target of --resize: give a --resize mode \(keep-ratio: Unsplash's CDN sends each photo at that size\), or a ready-made size \(--size regular is 1080 px wide; raw, full, small 400, thumb 200\), or --width 64 \(imgix\) \(see imgpull unsplash collection --help\)\n$/,
    )
  })

  test('a rerun asking Unsplash for another size or imgix image is refused before any call; the same one goes on', async () => {
    const out = join(dir, 'rerun-size')
    const small = await unsplash(['collection', '5', '--size', 'small', '-o', out], mock)
    assert.equal(small.code, 0, small.stderr)
    const before = await kept(out)
    assert.equal(Object.keys(before).length, 5, 'three photos, the manifest and ATTRIBUTION.md')
    const calls = mock.log.length
    const from = asked.length
    for (const other of [
      [],
      ['--size', 'full'],
      ['--width', '120'],
      ['--size', 'small', '--encode', 'png'],
    ]) {
      const r = await unsplash(['collection', '5', ...other, '-o', out], mock)
      assert.equal(r.code, 2, `${other.join(' ')}: ${r.stderr}`)
      assert.match(
        r.stderr,
        /holds images made with --size small, where this run asks for images /,
        other.join(' '),
      )
    }
    assert.equal(mock.log.length, calls, 'no API call')
    assert.equal(asked.length, from, 'no image fetched')
    assert.deepEqual(await kept(out), before, 'the images and manifest as they were')
    const again = await unsplash(['collection', '5', '--size', 'small', '-o', out], mock)
    assert.equal(again.code, 0, again.stderr)
    // A folder made with the default size records nothing: a rerun naming it goes on.
    const regular = join(dir, 'rerun-regular')
    assert.equal((await unsplash(['collection', '5', '-o', regular], mock)).code, 0)
    const named = await unsplash(['collection', '5', '--size', 'regular', '-o', regular], mock)
    assert.equal(named.code, 0, named.stderr)
  })
})

test("a hostile API's links never make a script link or an extra link in ATTRIBUTION.md", async (t) => {
  const mock = await startUnsplashMock({
    imageOrigin: images.origin,
    collections: { '9': 2 },
    photo: (p, n) =>
      n === 0
        ? {
            ...p,
            user: { ...p.user, links: { ...p.user.links, html: 'javascript:alert(document.cookie)//' } },
          }
        : {
            ...p,
            links: { ...p.links, html: 'https://unsplash.com/x)[Claim your prize](https://evil.example/' },
          },
  })
  t.after(() => mock.close())
  const out = join(dir, 'hostile-links')
  const r = await unsplash(['collection', '9', '-o', out], mock)
  assert.equal(r.code, 0, r.stderr)
  const credits = await readFile(join(out, 'ATTRIBUTION.md'), 'utf8')
  assert.doesNotMatch(credits, /javascript:/i)
  assert.doesNotMatch(credits, /\]\(https:\/\/evil\.example/, 'no link of its own')
  const [first, second] = (await manifest(out)).map((l) => l.meta)
  // The photographer's page where the API named none fit: Unsplash's own address for the username.
  assert.equal(
    first.profileUrl,
    `https://unsplash.com/@${first.username}?utm_source=imgpull&utm_medium=referral`,
  )
  // The photo page's link ends where its parenthesis would have ended it: escaped.
  const escaped = second.photoUrl.replaceAll('(', '%28').replaceAll(')', '%29')
  assert.ok(credits.includes(`on [Unsplash](${escaped})`), credits)
})

test("the API's words in an error reach the terminal without their control characters", async (t) => {
  // An API (or a proxy in front of it) answering an error whose text holds terminal sequences.
  const api = await listenLocal(
    createServer((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ errors: ['bad query \u001b]0;TITLE\u0007\u001b[2J \u009b31m\u202eevil'] }))
    }),
  )
  t.after(() => api.close())
  const r = await runCli(['unsplash', 'search', 'lake', '-o', join(dir, 'api-words')], {
    env: {
      UNSPLASH_ACCESS_KEY: 'k',
      UNSPLASH_API_URL: api.origin,
    },
  })
  assert.notEqual(r.code, 0)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
  assert.doesNotMatch(r.stderr, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/, JSON.stringify(r.stderr))
  assert.match(r.stderr, /bad query \\x1b\]0;TITLE\\x07\\x1b\[2J \\x9b31m\\u202eevil/)
})

test('an API address that is a static file server fails naming it and where it came from, not the search or the collection', async (t) => {
  // `UNSPLASH_API_URL=http://127.0.0.1:8313` (a static server) said `no such Unsplash search "lake"`,
  // which the API never says: it answers a search with no results, and its 404s carry `errors`.
  const files = await listenLocal(
    createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' })
      res.end(
        '<!DOCTYPE HTML><html><head><title>Error response</title></head><body>File not found</body></html>',
      )
    }),
  )
  t.after(() => files.close())
  const [fromEnv, fromOption] = await Promise.all([
    runCli(['unsplash', 'search', 'lake', '-o', join(dir, 'static-env')], {
      env: { UNSPLASH_ACCESS_KEY: 'k', UNSPLASH_API_URL: files.origin },
    }),
    runCli(['unsplash', 'collection', '42', '--api-url', files.origin, '-o', join(dir, 'static-option')], {
      env: { UNSPLASH_ACCESS_KEY: 'k', UNSPLASH_API_URL: 'http://127.0.0.1:9' },
    }),
  ])
  assert.deepEqual(
    [fromEnv.code, fromEnv.stderr],
    [
      2,
      `imgpull: the answer for /search/photos?query=lake&page=1&per_page=30 is not the Unsplash API's (HTTP 404, an HTML page titled "Error response"): check the API address ${files.origin}, from UNSPLASH_API_URL\n`,
    ],
  )
  assert.deepEqual(
    [fromOption.code, fromOption.stderr],
    [
      2,
      `imgpull: the answer for /collections/42/photos?page=1&per_page=30 is not the Unsplash API's (HTTP 404, an HTML page titled "Error response"): check the API address ${files.origin}, from --api-url\n`,
    ],
  )
})
