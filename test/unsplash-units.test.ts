import assert from 'node:assert/strict'
import { test } from 'node:test'
import { conclude } from '../src/cli/unsplash-command.js'
import { creditLine, escapeMarkdown, renderAttribution } from '../src/sources/unsplash/attribution.js'
import { budgetLines } from '../src/sources/unsplash/budget.js'
import { apiRedirectTarget, type CallKind, keyRejected } from '../src/sources/unsplash/client.js'
import {
  collectionEndpoint,
  collectionId,
  likesEndpoint,
  photoEndpoint,
  photoId,
  randomEndpoint,
  searchEndpoint,
  topicSlug,
  userEndpoint,
  username,
} from '../src/sources/unsplash/endpoints.js'
import { badKeyError, RateLimitError, StoppedError, UnsplashError } from '../src/sources/unsplash/errors.js'
import { pageOf, parseLink } from '../src/sources/unsplash/link-header.js'
import { endpointKey } from '../src/sources/unsplash/listing.js'
import { keyFault, variantOf } from '../src/sources/unsplash/options.js'
import {
  imageUrl,
  jobKey,
  photoIdOf,
  photoJob,
  sideImgix,
  slugify,
  variantName,
} from '../src/sources/unsplash/photo-job.js'
import { budgetRefused, clock, nextTick, readRateHeaders } from '../src/sources/unsplash/rate-limit.js'
import type { UnsplashSummary } from '../src/sources/unsplash/source.js'
import { refusedForPhoto } from '../src/sources/unsplash/tracker.js'
import type { Photo } from '../src/sources/unsplash/types.js'

const RAW = 'https://images.unsplash.com/photo-1?ixid=IX&ixlib=rb-4.0.3'
function photo(over: Partial<Photo> = {}): Photo {
  return {
    id: 'Dwu85P9SOIk',
    description: 'A Mountain Lake, at dawn!',
    alt_description: 'blue lake',
    width: 6000,
    height: 4000,
    color: '#0c2640',
    blur_hash: 'LKO2?U%2Tw=w]~RBVZRi};RPxuwH',
    urls: {
      raw: RAW,
      full: `${RAW}&q=85`,
      regular: `${RAW}&w=1080`,
      small: `${RAW}&w=400`,
      thumb: `${RAW}&w=200`,
    },
    links: {
      html: 'https://unsplash.com/photos/Dwu85P9SOIk',
      download_location: 'https://api.unsplash.com/photos/Dwu85P9SOIk/download?ixid=IX',
    },
    user: {
      name: 'Annie Spratt',
      username: 'anniespratt',
      links: { html: 'https://unsplash.com/@anniespratt' },
    },
    ...over,
  }
}

test('slugs: lowercase words of any script, accents dropped, cut between words', () => {
  assert.equal(slugify('A Mountain Lake, at dawn!'), 'a-mountain-lake-at-dawn')
  assert.equal(slugify('Café & croissant / Paris'), 'cafe-croissant-paris')
  assert.equal(slugify('東京の夜 — Tokyo'), '東京の夜-tokyo')
  assert.equal(slugify('../../etc/passwd'), 'etc-passwd')
  assert.equal(slugify(null), '')
  assert.equal(slugify('!!!'), '')
  const long = slugify('word '.repeat(40))
  assert.ok(long.length <= 60 && !long.endsWith('-'), long)
})

// Only Latin and Greek letters lose their marks: dropping every mark mangled the words of other
// scripts, Hindi's vowel signs (codebuddies/backend#123), Japanese kana's voicing marks (ガラス,
// glass, became カラス, crow: org-roam/org-roam#1460, grosjo/fts-xapian#199), and left Korean in
// decomposed jamo; a word cut at the length left half a letter (a lone surrogate, named `_`).
test('slugs keep the marks of scripts whose words need them, composed, and cut a word between its letters', () => {
  assert.equal(slugify('ガラスの窓 パンダ'), 'ガラスの窓-パンダ')
  assert.equal(slugify('नमस्ते दुनिया'), 'नमस्ते-दुनिया')
  assert.equal(slugify('ภูเขา'), 'ภูเขา')
  assert.equal(slugify('서울의 밤'), '서울의-밤'.normalize('NFC'))
  assert.equal(slugify('서울의 밤').length, 5)
  assert.equal(slugify('Ελλάδα, Crème brûlée, ﬁne'), 'ελλαδα-creme-brulee-fine')
  // Vowel points, which Arabic and Hebrew words are mostly typed without, go as accents do.
  assert.equal(slugify('مَدْرَسَة שָׁלוֹם'), 'مدرسة-שלום')
  assert.equal(slugify('Ёжик й'), 'ёжик-й')
  const adlam = slugify(`b${'𞤀'.repeat(70)}`)
  assert.equal(adlam, `b${'𞤢'.repeat(29)}`)
  assert.equal(slugify('क्षत्रिय'.repeat(10), 5), 'क्ष')
})

test('a photo becomes a job: regular size by default, stable key, name fields, attribution meta', () => {
  const job = photoJob(photo(), { size: 'regular' })
  assert.equal(job.url, `${RAW}&w=1080`)
  assert.equal(job.key, 'unsplash:Dwu85P9SOIk:regular')
  assert.equal(photoIdOf(job), 'Dwu85P9SOIk')
  assert.deepEqual(job.fields, {
    id: 'Dwu85P9SOIk',
    slug: 'a-mountain-lake-at-dawn',
    stem: 'Dwu85P9SOIk-a-mountain-lake-at-dawn',
    user: 'anniespratt',
  })
  const meta = job.meta as Record<string, unknown>
  assert.equal(meta.photographer, 'Annie Spratt')
  assert.equal(meta.username, 'anniespratt')
  assert.equal(meta.blurHash, 'LKO2?U%2Tw=w]~RBVZRi};RPxuwH')
  assert.equal(meta.color, '#0c2640')
  assert.equal(meta.width, 6000)
  assert.equal(
    meta.photoUrl,
    'https://unsplash.com/photos/Dwu85P9SOIk?utm_source=imgpull&utm_medium=referral',
  )
  assert.equal(meta.profileUrl, 'https://unsplash.com/@anniespratt?utm_source=imgpull&utm_medium=referral')
  assert.ok(!JSON.stringify(job).includes('links.download"'), 'never links.download')
})

test('slug falls back to the alt text, then to none ({id} alone)', () => {
  assert.equal(photoJob(photo({ description: null }), { size: 'small' }).fields?.slug, 'blue-lake')
  const bare = photoJob(photo({ description: null, alt_description: null }), { size: 'small' })
  assert.equal(bare.fields?.slug, '')
  assert.equal(bare.fields?.stem, 'Dwu85P9SOIk')
})

test('imgix parameters go on the raw URL, keeping its own (ixid)', () => {
  const v = { imgix: { w: 800, fm: 'webp', q: 70, fit: 'crop', h: 600, dpr: 2 } }
  const u = new URL(imageUrl(photo(), v) ?? '')
  assert.equal(u.origin + u.pathname, 'https://images.unsplash.com/photo-1')
  assert.equal(u.searchParams.get('ixid'), 'IX')
  assert.equal(u.searchParams.get('w'), '800')
  assert.equal(u.searchParams.get('h'), '600')
  assert.equal(u.searchParams.get('fm'), 'webp')
  assert.equal(u.searchParams.get('q'), '70')
  assert.equal(u.searchParams.get('fit'), 'crop')
  assert.equal(u.searchParams.get('dpr'), '2')
  assert.equal(variantName(v), 'raw?w=800&h=600&q=70&fm=webp&fit=crop&dpr=2')
  assert.equal(jobKey(photo(), v), 'unsplash:Dwu85P9SOIk:raw?w=800&h=600&q=70&fm=webp&fit=crop&dpr=2')
  for (const size of ['raw', 'full', 'regular', 'small', 'thumb'] as const) {
    assert.equal(imageUrl(photo(), { size }), photo().urls[size])
  }
})

test("a size asked of imgix replaces the raw URL's own, both sides: the side not asked is not left to clip it", () => {
  // A raw URL the API (or an edit of it) sent with a size already on it: `h` asked on top of its
  // `w=1080` gave imgix both, and the photo came at 1080 wide, not at the height asked.
  const sized = photo({ urls: { raw: `${RAW}&w=1080&h=720&fm=jpg&q=80` } } as Partial<Photo>)
  const h = new URL(imageUrl(sized, { imgix: { h: 2000 } }) ?? '')
  assert.deepEqual([h.searchParams.getAll('h'), h.searchParams.getAll('w')], [['2000'], []])
  const w = new URL(imageUrl(sized, { resizeTo: { side: 'longest', px: 3000 } }) ?? '')
  assert.deepEqual([w.searchParams.getAll('w'), w.searchParams.getAll('h')], [['3000'], []])
  // Asked for no size, the raw URL's own stay; its format and quality give way to those asked.
  const f = new URL(imageUrl(sized, { imgix: { fm: 'webp' } }) ?? '')
  assert.deepEqual(
    [f.searchParams.getAll('fm'), f.searchParams.get('w'), f.searchParams.get('q')],
    [['webp'], '1080', '80'],
  )
  assert.equal(f.searchParams.get('ixid'), 'IX')
})

test('resizeTo: imgix w or h for the side asked, per photo; the original where that side is not larger', () => {
  const cases: [
    string,
    number | undefined,
    number | undefined,
    'shortest' | 'longest',
    number,
    Record<string, number>,
  ][] = [
    ['wide, shortest', 6000, 4000, 'shortest', 256, { h: 256 }],
    ['wide, longest', 6000, 4000, 'longest', 256, { w: 256 }],
    ['tall, shortest', 3000, 5000, 'shortest', 256, { w: 256 }],
    ['tall, longest', 3000, 5000, 'longest', 256, { h: 256 }],
    ['square', 1000, 1000, 'shortest', 999, { h: 999 }],
    ['that side already the size', 6000, 256, 'shortest', 256, {}],
    ['smaller than asked: the original, never enlarged', 300, 200, 'longest', 1024, {}],
    ['no size listed: the original', undefined, undefined, 'shortest', 256, {}],
  ]
  for (const [name, width, height, side, px, want] of cases) {
    assert.deepEqual(sideImgix(photo({ width, height }), { side, px }), want, name)
  }
  const v = { resizeTo: { side: 'shortest' as const, px: 256 } }
  const u = new URL(imageUrl(photo({ width: 6000, height: 4000 }), v) ?? '')
  assert.equal(u.searchParams.get('h'), '256')
  assert.equal(u.searchParams.get('ixid'), 'IX')
  assert.equal(jobKey(photo(), v), 'unsplash:Dwu85P9SOIk:raw?shortest=256')
  assert.deepEqual(variantOf(undefined, undefined, { side: 'longest', px: 64 }), {
    resizeTo: { side: 'longest', px: 64 },
  })
  assert.throws(() => variantOf('small', undefined, { side: 'longest', px: 64 }), /`size` to be 'raw'/)
  assert.throws(() => variantOf(undefined, { w: 5 }, { side: 'longest', px: 64 }), /`imgix` or `resizeTo`/)
  assert.throws(() => variantOf(undefined, undefined, { side: 'widest', px: 64 }), /resizeTo.side/)
  assert.throws(() => variantOf(undefined, undefined, { side: 'longest', px: 0 }), /resizeTo.px/)
})

test('Link headers: next/last pages read, odd spacing tolerated', () => {
  const links = parseLink(
    '<https://api.unsplash.com/search/photos?page=1&query=office>; rel="first", <https://api.unsplash.com/search/photos?page=1&query=office>; rel="prev", <https://api.unsplash.com/search/photos?page=3408&query=office>; rel="last", <https://api.unsplash.com/search/photos?page=3&query=office>; rel="next"',
  )
  assert.equal(pageOf(links.next), 3)
  assert.equal(pageOf(links.last), 3408)
  assert.equal(pageOf(parseLink('<https://x/a?page=7>;rel=next').next), 7)
  assert.deepEqual(parseLink(undefined), {})
  assert.equal(pageOf(undefined), undefined)
})

test('endpoints: arguments may be unsplash.com addresses; listing keys leave the limit out', () => {
  assert.equal(photoId('https://unsplash.com/photos/a-mountain-lake-Dwu85P9SOIk'), 'Dwu85P9SOIk')
  assert.equal(photoId('Dwu85P9SOIk'), 'Dwu85P9SOIk')
  assert.equal(photoId('-6NcIAY-vEv'), '-6NcIAY-vEv')
  // The addresses a browser shows in the site's other languages (their credits are all over the
  // web: unsplash.com/de/fotos/..., /ja/写真/...): refused as naming nothing to list before.
  for (const address of [
    'https://unsplash.com/de/fotos/ein-bergsee-Dwu85P9SOIk',
    'https://unsplash.com/es/fotos/un-lago-Dwu85P9SOIk?utm_source=unsplash&utm_medium=referral',
    'https://unsplash.com/it/foto/un-lago-Dwu85P9SOIk',
    'https://unsplash.com/pt-br/fotografias/um-lago-Dwu85P9SOIk',
    'https://unsplash.com/fr/photos/un-lac-Dwu85P9SOIk',
    'https://unsplash.com/ja/%E5%86%99%E7%9C%9F/%E6%B9%96-Dwu85P9SOIk',
    'https://unsplash.com/ko/사진/호수-Dwu85P9SOIk',
    'https://unsplash.com/ja/photos/Dwu85P9SOIk',
  ])
    assert.equal(photoId(address), 'Dwu85P9SOIk', address)
  assert.equal(username('https://unsplash.com/pt-br/@anniespratt'), 'anniespratt')
  assert.equal(collectionId('https://unsplash.com/de/kollektionen/3jMstqgu2e4/summer-light'), '3jMstqgu2e4')
  assert.equal(topicSlug('https://unsplash.com/de/t/nature'), 'nature')
  // A search page is not a photo's, nor a collection search a collection's.
  assert.throws(() => photoId('https://unsplash.com/s/photos/mountain-lake'), /cannot find what to list/)
  assert.throws(() => collectionId('https://unsplash.com/s/collections/lakes'), /cannot find what to list/)
  // An image file's address (Copy image address), or another site's: said so, with what to give.
  assert.throws(
    () => photoId('https://images.unsplash.com/photo-1516117172878-fd2c41f4a759?ixlib=rb-4.0.3&w=1080'),
    /^UsageError: https:\/\/images\.unsplash\.com\/photo-1516117172878-fd2c41f4a759 is an image file's address, not an unsplash\.com page: fetch it as it is \(imgpull 'https:\/\/images\.unsplash\.com\/photo-1516117172878-fd2c41f4a759' -o DIR\), or give the photo's page address \(https:\/\/unsplash\.com\/photos\/…\) or its id$/,
  )
  assert.throws(
    () => username('https://www.instagram.com/@anniespratt'),
    /^UsageError: https:\/\/www\.instagram\.com\/@anniespratt is not an unsplash\.com address: give a page's address from unsplash\.com, or an id or name$/,
  )
  assert.equal(photoId('https://www.unsplash.com/photos/a-lake-Dwu85P9SOIk'), 'Dwu85P9SOIk')
  assert.equal(username('@anniespratt'), 'anniespratt')
  assert.equal(username('https://unsplash.com/@anniespratt/likes'), 'anniespratt')
  assert.equal(topicSlug('https://unsplash.com/t/nature'), 'nature')
  assert.equal(
    collectionEndpoint('https://unsplash.com/collections/1580860/lakes', {}).path,
    '/collections/1580860/photos',
  )
  const search = searchEndpoint(' mountain lake ', { orientation: 'landscape', color: undefined })
  assert.equal(endpointKey(search), '/search/photos?orientation=landscape&query=mountain%20lake')
  assert.equal(endpointKey(randomEndpoint({})), '/photos/random')
  assert.equal(endpointKey(photoEndpoint(['a', 'b', 'a'])), '/photos/a,b')
  assert.throws(() => searchEndpoint('  ', {}), /search words/)
  // A search page's address: its words and the filters it shows (the options given win); the
  // address itself was searched for before.
  for (const [arg, given, key] of [
    ['https://unsplash.com/s/photos/mountain-lake', {}, '/search/photos?query=mountain%20lake'],
    [
      'https://unsplash.com/s/photos/mountain-lake?orientation=landscape&color=green&order_by=latest&license=free',
      {},
      // The license is kept here, not sent (the API takes no such filter): another listing.
      '/search/photos?color=green&order_by=latest&orientation=landscape&query=mountain%20lake&license=free',
    ],
    [
      'https://unsplash.com/s/photos/caf%C3%A9?orientation=portrait&color=pink',
      { orientation: 'squarish' },
      '/search/photos?orientation=squarish&query=caf%C3%A9',
    ],
    ['black-and-white cat', {}, '/search/photos?query=black-and-white%20cat'],
  ] as const) {
    const e = searchEndpoint(arg, given)
    assert.equal(endpointKey(e), key, arg)
  }
  assert.equal(
    searchEndpoint('https://unsplash.com/s/photos/mountain-lake', {}).label,
    'search "mountain lake"',
  )
  assert.throws(
    () => searchEndpoint('https://unsplash.com/s/collections/lakes', {}),
    /^UsageError: cannot find what to list in https:\/\/unsplash\.com\/s\/collections\/lakes$/,
  )
  // A profile tab other than the photos is not listed as the photos (nor the reverse).
  assert.equal(userEndpoint('https://unsplash.com/@anniespratt', {}).path, '/users/anniespratt/photos')
  assert.throws(
    () => userEndpoint('https://unsplash.com/@anniespratt/likes', {}),
    /^UsageError: https:\/\/unsplash\.com\/@anniespratt\/likes is anniespratt's likes, not their photos: use imgpull unsplash likes anniespratt$/,
  )
  assert.throws(
    () => userEndpoint('https://unsplash.com/@anniespratt/collections', {}),
    /anniespratt's collections/,
  )
  for (const arg of [
    'anniespratt',
    '@anniespratt',
    'https://unsplash.com/@anniespratt/likes',
    'https://unsplash.com/@anniespratt',
  ]) {
    const e = likesEndpoint(arg, { orderBy: 'popular' })
    assert.equal(endpointKey(e), '/users/anniespratt/likes?order_by=popular', arg)
  }
})

// Escapes that are not UTF-8 (`%E9`, Latin-1's é, as in sindresorhus/get-urls#22): a search
// page's words were searched for as they are (`caf%E9`, matching nothing, exit 0), and a profile's
// tab threw `URI malformed` (exit 1). A `%` not before two hex digits is a percent sign.
test('addresses whose escapes are not UTF-8: refused naming them, or read as they are', () => {
  assert.throws(
    () => searchEndpoint('https://unsplash.com/s/photos/caf%E9-bar', {}),
    /^UsageError: https:\/\/unsplash\.com\/s\/photos\/caf%E9-bar has %E9 in its words, which is not UTF-8 \(a Latin-1 address\?\): give the words as they are$/,
  )
  assert.equal(searchEndpoint('https://unsplash.com/s/photos/100%-wool', {}).params.query, '100% wool')
  assert.equal(
    searchEndpoint('https://unsplash.com/s/photos/caf%C3%A9-100%-wool%E2%9C%93', {}).params.query,
    'café 100% wool✓',
  )
  assert.throws(
    () => userEndpoint('https://unsplash.com/@anniespratt/%E9', {}),
    /^UsageError: https:\/\/unsplash\.com\/@anniespratt\/%E9 is anniespratt's %E9, not their photos$/,
  )
  assert.equal(
    likesEndpoint('https://unsplash.com/@anniespratt/%6Cikes', {}).path,
    '/users/anniespratt/likes',
  )
  assert.equal(collectionId('https://unsplash.com/collections/3jMstqgu2e4/caf%E9'), '3jMstqgu2e4')
})

// The key copied with the documentation's frame around it (the header's `Client-ID KEY`:
// unsplash-js#129; the address's `client_id=KEY`: ifl0w/RandomWallpaperGnome3#94): told to copy it
// again (a space), or sent and refused 401.
test('a key framed as the documentation shows it is named so, without the key', () => {
  const key = 'abcDEF123-ghi_456'
  for (const [text, word] of [
    [`Client-ID ${key}`, '"Client-ID", the word the Authorization header puts before it'],
    [`Authorization: Client-ID ${key}`, '"Authorization: Client-ID", the word'],
    [`client_id=${key}`, '"client_id=", the name of the address\'s parameter (?client_id=KEY)'],
    [`Bearer ${key}`, '"Bearer", the word before a user\'s OAuth token'],
  ]) {
    const fault = keyFault(text) ?? ''
    assert.ok(fault.startsWith(`starts with ${word}`), fault)
    assert.ok(!fault.includes(key), fault)
  }
  assert.equal(keyFault(key), undefined)
  assert.equal(keyFault('client-idea-key'), undefined)
})

test('rate-limit headers, countdown text and its rhythm', () => {
  const rate = {}
  readRateHeaders(rate, { 'x-ratelimit-limit': '50', 'x-ratelimit-remaining': '7' })
  assert.deepEqual(rate, { limit: 50, remaining: 7 })
  readRateHeaders(rate, {})
  assert.deepEqual(rate, { limit: 50, remaining: 7 }, 'absent headers change nothing')
  assert.equal(clock(3_600_000), '1:00:00')
  assert.equal(clock(59 * 60_000 + 7_000), '59:07')
  assert.equal(clock(9_500), '0:10')
  assert.equal(nextTick(59 * 60_000 + 7_000), 4 * 60_000 + 7_000, 'to the next 5-minute mark')
  assert.equal(nextTick(5 * 60_000 + 30_000), 30_000, 'to the next minute')
  assert.equal(nextTick(45_000), 5_000, 'to the next 10 seconds')
  assert.equal(nextTick(300), 300)
})

test('budget line: photos, calls needed, what is left, and a warning when it will not fit', () => {
  const base = {
    label: 'search "mountain lake"',
    wanted: 200,
    total: 10_000,
    defaultLimit: false,
    stored: 0,
    listingCalls: 6,
    trackingCalls: 200,
    made: 1,
    rate: { limit: 50, remaining: 49 },
    onRateLimit: 'wait' as const,
  }
  const [line, warning] = budgetLines(base)
  assert.equal(
    line,
    'Unsplash search "mountain lake": 200 of 10,000 photos. 206 API calls still needed (6 listing pages, up to 200 download tracking calls), 1 made; 49 of 50 left this hour.',
  )
  // How long it takes, where the API says its limit: 206 calls, 49 left of 50, are 4 more windows,
  // where "will wait for the hourly reset" read as one wait (a demo key's 50 calls an hour, which
  // haltakov/natural-language-image-search#13 warns of up front).
  assert.equal(
    warning,
    'That is more than is left this hour: the run will wait for the hourly reset when they run out (4 times: about 4 hours at 50 calls an hour).',
  )
  assert.equal(
    budgetLines({ ...base, onRateLimit: 'stop' })[1],
    'That is more than is left this hour: the run will stop when they run out; run the same command after the reset to continue (4 more runs, 1 hour apart, at 50 calls an hour).',
  )
  assert.match(
    budgetLines({ ...base, trackingCalls: 60, window: 600_000 })[1],
    /\(once: about 10 minutes at 50 calls an hour\)\.$/,
  )
  assert.match(budgetLines({ ...base, rate: { remaining: 49 } })[1], /when they run out\.$/)
  assert.match(
    budgetLines({ ...base, rate: { limit: 1, remaining: 0 }, onRateLimit: 'stop' })[1],
    /\(206 more runs, 1 hour apart, at 1 call an hour\)\.$/,
  )
  assert.equal(budgetLines({ ...base, rate: { limit: 5000, remaining: 4999 } }).length, 1)
  assert.match(budgetLines({ ...base, defaultLimit: true })[0], /--limit N or --limit all/)
  assert.match(
    budgetLines({ ...base, defaultLimit: true, limitHint: 'limit: N or Infinity for more' })[0],
    /200 of 10,000 photos \(limit: N or Infinity for more\)\./,
  )
  assert.match(
    budgetLines({ ...base, stored: 200, listingCalls: 0, trackingCalls: 0, made: 0 })[0],
    /\(listed by an earlier run\)\. No API calls needed/,
  )
  // A photo looked up, already in the folder: the call made is said, as the run's last line counts it.
  assert.equal(
    budgetLines({
      ...base,
      label: 'photo Dwu85P9SOIk',
      wanted: 1,
      total: 1,
      listingCalls: 0,
      trackingCalls: 0,
    })[0],
    'Unsplash photo Dwu85P9SOIk: 1 photo. No more API calls needed, 1 made; 49 of 50 left this hour.',
  )
})

test('ATTRIBUTION.md: "Photo by NAME on Unsplash", both linked with UTM, Markdown escaped', () => {
  const tricky = photo({ user: { name: 'Ann [the] *Lens*', username: 'ann_lens' } })
  assert.equal(
    creditLine(tricky),
    'Photo by [Ann \\[the\\] \\*Lens\\*](https://unsplash.com/@ann_lens?utm_source=imgpull&utm_medium=referral) on [Unsplash](https://unsplash.com/photos/Dwu85P9SOIk?utm_source=imgpull&utm_medium=referral)',
  )
  const md = renderAttribution([{ path: 'sub dir/a_b.jpg', photo: photo() }])
  assert.match(md, /^# Photo credits\n/)
  assert.match(
    md,
    /\n- \[sub dir\/a\\_b\.jpg\]\(sub%20dir\/a_b\.jpg\): Photo by \[Annie Spratt\]\(https:\/\/unsplash\.com\/@anniespratt\?utm_source=imgpull&utm_medium=referral\)/,
  )
  assert.equal(escapeMarkdown('a\nb'), 'a b')
  // Names in any script, emoji (joined ones too) and the marks that shape them are kept; an
  // override that would show the rest of the line reversed, and a terminal's escapes, are not.
  const names: [string, string][] = [
    ['محمد علي', 'محمد علي'],
    ['שרה כהן 📷', 'שרה כהן 📷'],
    ['Ana 👩\u200d💻', 'Ana 👩\u200d💻'],
    ['می\u200cخواهم', 'می\u200cخواهم'],
    ['\u202eevil\u202c twin', 'evil twin'],
    ['\u2067Lee\u2069 Kim', 'Lee Kim'],
    ['Bo\u001b]8;;https://x.example\u0007Bo\u001b[2J\u009b31m', 'Bo\\]8;;https://x.exampleBo\\[2J31m'],
  ]
  for (const [name, shown] of names) {
    const line = creditLine(photo({ user: { name, username: 'u' } }))
    assert.ok(line.startsWith(`Photo by [${shown}](`), `${JSON.stringify(name)}: ${line}`)
  }
})

test("the command's end: lines and exit code from the source's summary and the download's code", () => {
  const done: UnsplashSummary = {
    label: 'collection 5',
    total: 6,
    wanted: 6,
    listedBefore: 0,
    empty: false,
    missing: [],
    dropped: 0,
    repeated: 0,
    refused: [],
    calls: { listing: 1, tracking: 6 },
    rate: { limit: 50, remaining: 43 },
    tracked: 6,
    owed: 0,
    gone: 0,
    credited: 6,
    attribution: 'out/ATTRIBUTION.md',
    listingEnded: undefined,
    trackingError: undefined,
    rateLimited: false,
  }
  const limit = new RateLimitError(50)
  const calls =
    'Unsplash: 7 API calls in this run (1 listing, 6 download tracking), 43 of 50 left this hour; credits for 6 photos in out/ATTRIBUTION.md.'
  const cases: [
    string,
    Partial<UnsplashSummary>,
    number,
    { errors: string[]; lines: string[]; code: number },
  ][] = [
    ['all done', {}, 0, { errors: [], lines: [calls], code: 0 }],
    ['some downloads failed', {}, 1, { errors: [], lines: [calls], code: 1 }],
    ['interrupted', {}, 130, { errors: [], lines: [calls], code: 130 }],
    ['an empty listing says nothing more', { empty: true }, 0, { errors: [], lines: [], code: 0 }],
    [
      'an unknown photo id among known ones',
      { missing: ['nope'] },
      0,
      { errors: ['no such Unsplash photo nope'], lines: [calls], code: 1 },
    ],
    [
      'the API failing mid-listing',
      { listingEnded: new UnsplashError('unsplash-500', 'Unsplash API answered HTTP 500 for /x') },
      0,
      {
        errors: [
          'listing stopped early: Unsplash API answered HTTP 500 for /x; run the same command again to continue',
        ],
        lines: [calls],
        code: 1,
      },
    ],
    [
      'rate limit, stop: listing',
      { listingEnded: limit, rateLimited: true, owed: 4, tracked: 2 },
      1,
      {
        errors: [],
        lines: [
          calls,
          'Unsplash rate limit reached: stopped listing, 4 download tracking calls owed. Run the same command after the hourly reset to continue.',
        ],
        code: 75,
      },
    ],
    [
      'rate limit, stop: tracking only',
      { trackingError: limit, rateLimited: true, owed: 3 },
      0,
      {
        errors: [],
        lines: [
          calls,
          'Unsplash rate limit reached: stopped, 3 download tracking calls owed. Run the same command after the hourly reset to continue.',
        ],
        code: 75,
      },
    ],
    [
      'rate limit, stop: when the calls are back at the latest, in local time',
      {
        trackingError: new RateLimitError(50, new Date().setHours(15, 2, 30)),
        rateLimited: true,
        owed: 3,
      },
      0,
      {
        errors: [],
        lines: [
          calls,
          'Unsplash rate limit reached: stopped, 3 download tracking calls owed. Run the same command after the hourly reset (by 15:02 at the latest) to continue.',
        ],
        code: 75,
      },
    ],
    // A long --rate-limit-window (or a stop near midnight) puts the time on another day: `by 15:02`
    // alone read as today's, a day too early.
    [
      'rate limit, stop: a time on another day says its day',
      {
        trackingError: new RateLimitError(50, new Date(2099, 0, 6, 15, 2, 30).getTime()),
        rateLimited: true,
        owed: 3,
      },
      0,
      {
        errors: [],
        lines: [
          calls,
          'Unsplash rate limit reached: stopped, 3 download tracking calls owed. Run the same command after the hourly reset (by 15:02 on Tue, 6 Jan 2099 at the latest) to continue.',
        ],
        code: 75,
      },
    ],
    [
      'Ctrl-C left calls owed',
      { trackingError: new StoppedError(), owed: 5 },
      130,
      {
        errors: [],
        lines: [calls, '5 download tracking calls owed: run the same command again to send them.'],
        code: 130,
      },
    ],
    // One call owed is counted in words, as the other counts are: it was "1 download tracking calls
    // owed ... to send them" (one photo's tracking failing 500 after its retries, the rest made).
    [
      'one call owed, the API failing for its photo',
      {
        trackingError: new UnsplashError(
          'unsplash-500',
          'Unsplash API answered HTTP 500 for /photos/a/download',
        ),
        owed: 1,
      },
      0,
      {
        errors: [],
        lines: [
          calls,
          '1 download tracking call owed (Unsplash API answered HTTP 500 for /photos/a/download): run the same command again to send it.',
        ],
        code: 0,
      },
    ],
    [
      'rate limit, stop: one call owed',
      { trackingError: limit, rateLimited: true, owed: 1 },
      0,
      {
        errors: [],
        lines: [
          calls,
          'Unsplash rate limit reached: stopped, 1 download tracking call owed. Run the same command after the hourly reset to continue.',
        ],
        code: 75,
      },
    ],
    [
      'the key refused at tracking',
      {
        trackingError: new UnsplashError('unsplash-401', 'Unsplash rejected the access key', { usage: true }),
      },
      0,
      { errors: ['Unsplash rejected the access key'], lines: [calls], code: 2 },
    ],
    [
      'the key revoked mid-listing: named once, as the key (exit 2), not "run again to continue"',
      {
        listingEnded: badKeyError(),
        trackingError: badKeyError(),
        owed: 30,
      },
      0,
      {
        errors: [
          'listing stopped early: Unsplash rejected the access key (HTTP 401): check UNSPLASH_ACCESS_KEY or --access-key',
        ],
        lines: [calls, '30 download tracking calls owed: run the same command again to send them.'],
        code: 2,
      },
    ],
    [
      'the collection gone mid-listing: named, exit 2',
      {
        listingEnded: new UnsplashError('unsplash-404', 'no such Unsplash collection 5', {
          status: 404,
          usage: true,
        }),
      },
      0,
      { errors: ['listing stopped early: no such Unsplash collection 5'], lines: [calls], code: 2 },
    ],
    [
      'tracking calls held back by the API failing: the line says why',
      {
        trackingError: new UnsplashError(
          'unsplash-network',
          'the Unsplash API at https://api.unsplash.com did not answer within 30 s (asked 4 times)',
        ),
        owed: 6,
      },
      0,
      {
        errors: [],
        lines: [
          calls,
          '6 download tracking calls owed (the Unsplash API at https://api.unsplash.com did not answer within 30 s (asked 4 times)): run the same command again to send them.',
        ],
        code: 0,
      },
    ],
    [
      'no credits written, no rate known',
      { attribution: undefined, credited: 0, rate: {} },
      0,
      {
        errors: [],
        lines: ['Unsplash: 7 API calls in this run (1 listing, 6 download tracking).'],
        code: 0,
      },
    ],
  ]
  for (const [name, over, code, expected] of cases) {
    assert.deepEqual(conclude({ ...done, ...over }, code), expected, name)
  }
})

test("a 401 blames the key for a listing call, or when it says so; a tracking call's own refusal is the photo's", () => {
  const cases: [CallKind, string, boolean][] = [
    ['listing', '{"errors":["OAuth error: The access token is invalid"]}', true],
    ['listing', '{"errors":["Unauthorized"]}', true],
    ['listing', '', true],
    ['tracking', '{"errors":["OAuth error: The access token is invalid"]}', true],
    ['tracking', '{"errors":["Unauthorized"]}', false],
    ['tracking', '', false],
  ]
  for (const [kind, text, want] of cases) assert.equal(keyRejected(kind, text), want, `${kind} ${text}`)
  const refusals: [unknown, boolean][] = [
    [new UnsplashError('unsplash-401', 'x', { status: 401 }), true],
    [new UnsplashError('unsplash-403', 'x', { status: 403 }), true],
    [new UnsplashError('unsplash-401', 'x', { status: 401, usage: true }), false],
    [new RateLimitError(50), false],
    [new UnsplashError('unsplash-500', 'x', { status: 500 }), false],
    [new Error('x'), false],
  ]
  for (const [error, want] of refusals) assert.equal(refusedForPhoto(error), want, String(error))
})

test('the hourly budget refused: 403 or 429 saying "Rate Limit" in any spelling, or with X-Ratelimit-Remaining 0', () => {
  const cases: [number, string, Record<string, string>, boolean][] = [
    [403, 'Rate Limit Exceeded', {}, true],
    [403, 'Ratelimit exceeded', {}, true],
    [429, '{"errors":["Rate Limit Exceeded"]}', {}, true],
    [429, '', { 'x-ratelimit-remaining': '0' }, true],
    [403, 'Forbidden', { 'x-ratelimit-remaining': '0' }, true],
    [403, 'Forbidden', { 'x-ratelimit-remaining': '12' }, false],
    [429, 'slow down', {}, false],
    [401, 'Rate Limit Exceeded', {}, false],
    [500, 'Rate Limit Exceeded', { 'x-ratelimit-remaining': '0' }, false],
  ]
  for (const [status, text, headers, want] of cases)
    assert.equal(budgetRefused(status, text, headers), want, `${status} ${text} ${JSON.stringify(headers)}`)
})

test("an API redirect is followed on the API's own host only (http up to https), its Location read as a download's", () => {
  const from = new URL('http://127.0.0.1:8080/collections/x/photos?page=2')
  const rows: [string | string[] | undefined, string | undefined][] = [
    ['/collections/y/photos?page=2', 'http://127.0.0.1:8080/collections/y/photos?page=2'],
    ['https://127.0.0.1:8080/collections/x/photos', 'https://127.0.0.1:8080/collections/x/photos'],
    [['/a', '/b'], 'http://127.0.0.1:8080/a'],
    // The bytes of a raw UTF-8 path, as undici hands them over (one character a byte).
    [Buffer.from('/caf\u00e9', 'utf8').toString('latin1'), 'http://127.0.0.1:8080/caf%C3%A9'],
    // A Latin-1 byte is kept as that byte.
    ['/caf\u00e9', 'http://127.0.0.1:8080/caf%E9'],
    ['http://127.0.0.1:8081/x', undefined],
    ['http://other.test:8080/x', undefined],
    ['ftp://127.0.0.1:8080/x', undefined],
    ['http://[::1', undefined],
    ['', undefined],
    [undefined, undefined],
  ]
  for (const [location, expected] of rows)
    assert.equal(apiRedirectTarget(from, location)?.href, expected, JSON.stringify(location))
  const https = new URL('https://127.0.0.1:8443/photos')
  assert.equal(apiRedirectTarget(https, 'http://127.0.0.1:8443/photos'), undefined, 'never down to http')
})
