/**
 * The Unsplash API misbehaving, side by side: each case is the tests' mock Unsplash API
 * (test/support/unsplash-mock.ts) made to answer as a public report says the API (or what stands
 * in front of it) did: an empty page before the counted end, a search served only up to a page,
 * redirects, the hourly limit refused as text/plain 403 or a bare 429, a page failing with 503 or
 * answered with an HTML page, a JSON body with a BOM or cut short, a collection growing while it
 * is paged, photos deleted between listing and download, a photo without `download_location`,
 * Unsplash+ photos, a bad key, a private collection, and a run stopped at the rate limit then run
 * again. Two tools list a collection (or a search) and download it into a fresh folder:
 *
 * - imgpull: `imgpull unsplash collection|search … -o DIR` (`--on-rate-limit stop` where the case
 *   says; a case with a rerun runs the same command again after the mock's reset);
 * - requests-pager: the loop the Unsplash tutorials and small scripts write with Python
 *   `requests` (page=1, 2, … until a page comes empty; `urls.regular` saved as `ID.jpg`; a GET of
 *   `links.download_location` per photo), written here, as the article's script takes a URL list
 *   and does not page an API.
 *
 * Per case and tool: photos kept of those the API listed, wrong files (bytes that are not an
 * image), API listing calls, tracking calls (and photos tracked twice), image requests, seconds,
 * and the last line the tool printed.
 *
 *   npm run build && node --import tsx bench/misbehave-unsplash.ts [--only ID,ID] [--tools imgpull,requests-pager]
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ImageServer, startImageServer } from '../test/support/image-server.js'
import {
  type MockPhoto,
  startUnsplashMock,
  type UnsplashMock,
  type UnsplashMockOptions,
} from '../test/support/unsplash-mock.js'
import { benchArgs, printTable, spawnCapped } from './misbehave.js'
import { IMGPULL } from './tools.js'

const KEY = 'bench-unsplash-key'

interface Case {
  id: string
  report: string
  /** The mock's options (its image host filled in); `mock` is the mock once started. */
  options: (ref: Ref) => Partial<UnsplashMockOptions>
  /** What is listed: `collection 42`, `search lake`. */
  listing: [kind: 'collection' | 'search', arg: string]
  /** How many photos the listing holds, for "of N". */
  holds: number
  /** imgpull's extra arguments. */
  extra?: string[]
  /** Run once more after the mock's rate-limit window is reset (the rerun a user makes). */
  rerun?: boolean
  /** The key the tools send, when not the mock's. */
  key?: string
  /** Once the mock is up: what needs its photos' ids. */
  after?: (mock: UnsplashMock, ref: Ref) => void
}

/** What a case's mock options share with the case once the mock is up. */
interface Ref {
  mock?: UnsplashMock
  /** Unsplash+ photo ids, filled by `after`. */
  plus: Set<string>
  [more: string]: unknown
}

const page = (u: URL) => Number(u.searchParams.get('page') ?? 1)

/** The photos of page `p` (30 a page) of `listing`, as the mock makes them. */
const photosOf = (mock: UnsplashMock, listing: string, p: number, of: number) =>
  Array.from({ length: Math.max(0, Math.min(30, of - (p - 1) * 30)) }, (_, i) =>
    mock.photoAt(listing, (p - 1) * 30 + i),
  )

function cases(): Case[] {
  return [
    {
      id: 'empty-page',
      report:
        '500px/legacy-api-documentation#235 (search pages answered empty from page 81 though more were counted); page 2 of a 90-photo collection empty, X-Total and Link as before',
      options: () => ({ emptyPage: (_path, p) => p === 2 }),
      listing: ['collection', '42'],
      holds: 90,
    },
    {
      id: 'empty-page-nolink',
      report: 'the same, without Link headers (a proxy dropping them): only X-Total says more',
      options: () => ({ emptyPage: (_path, p) => p === 2, linkHeaders: false }),
      listing: ['collection', '42'],
      holds: 90,
    },
    {
      id: 'search-cap',
      report:
        'unsplash/unsplash-js#216 (search pages past 200 answer total_pages 0, results []); served up to page 3 of a 150-photo search',
      options: () => ({ searchPageCap: 3 }),
      listing: ['search', 'lake'],
      holds: 150,
      extra: ['--limit', 'all'],
    },
    {
      id: 'redirect-same-host',
      report:
        'nasa/api-docs#79 (an API answering 302 to its new address: "redirections sometimes break dumb/simple http clients"); the old collection id answers 301 to the new one',
      options: () => ({
        intercept: (u) =>
          u.pathname === '/collections/old-name/photos'
            ? { status: 301, headers: { location: `/collections/42/photos${u.search}` } }
            : undefined,
      }),
      listing: ['collection', 'old-name'],
      holds: 90,
    },
    {
      id: 'redirect-elsewhere',
      report:
        'the same, the Location on another host (127.0.0.2): requests strips Authorization there and lists nothing; the key must not go there',
      options: () => ({
        intercept: (u) =>
          u.pathname === '/collections/42/photos'
            ? { status: 308, headers: { location: `http://127.0.0.2:9/collections/42/photos${u.search}` } }
            : undefined,
      }),
      listing: ['collection', '42'],
      holds: 90,
    },
    {
      id: 'rate-403-text',
      report:
        'varietywalls/variety#457 (403 "Rate Limit Exceeded" as text/plain, X-Ratelimit-Remaining 0, no Retry-After); 10 calls an hour, --on-rate-limit stop',
      options: () => ({ limit: 10 }),
      listing: ['collection', '42'],
      holds: 90,
      extra: ['--on-rate-limit', 'stop'],
    },
    {
      id: 'rate-429-bare',
      report:
        'unsplash/unsplash-js#199 (429 past the limit), without X-Ratelimit-* headers; 10 calls an hour, --on-rate-limit stop',
      options: () => ({ limit: 10, refusal: { status: 429, body: 'Too Many Requests', headers: false } }),
      listing: ['collection', '42'],
      holds: 90,
      extra: ['--on-rate-limit', 'stop'],
    },
    {
      id: 'rate-wait',
      report:
        'varietywalls/variety#457 again, in the default mode (wait for the reset): 10 calls a 2 s window (--rate-limit-window 2)',
      options: () => ({ limit: 10, window: 2000 }),
      listing: ['collection', '42'],
      holds: 90,
      extra: ['--rate-limit-window', '2'],
    },
    {
      id: 'stop-then-rerun',
      report:
        'the same 403 at 10 calls, then the same command run again after the reset: pages not asked twice, no photo tracked twice',
      options: () => ({ limit: 10 }),
      listing: ['collection', '42'],
      holds: 90,
      extra: ['--on-rate-limit', 'stop'],
      rerun: true,
    },
    {
      id: 'page-503',
      report:
        "MehediH/Bulksplash#53 (a run ended by the API's error answer mid-way); page 2 answers 503 five times (more than the retries)",
      options: (ref) => ({
        intercept: (u) => {
          if (u.pathname !== '/collections/42/photos' || page(u) !== 2) return undefined
          const n = Number(ref.n503 ?? 0)
          ref.n503 = n + 1
          return n < 5
            ? { status: 503, body: '<html><title>503 Service Unavailable</title></html>' }
            : undefined
        },
      }),
      listing: ['collection', '42'],
      holds: 90,
    },
    {
      id: 'html-200',
      report:
        'modo-studio/UnsplashKit#11 (a placeholder answered with 200 in place of the photos); page 2 answers 200 text/html "Just a moment..." (a challenge page)',
      options: () => ({
        intercept: (u) =>
          u.pathname === '/collections/42/photos' && page(u) === 2
            ? {
                status: 200,
                body: '<!DOCTYPE html><html><head><title>Just a moment...</title></head></html>',
                headers: { 'content-type': 'text/html' },
              }
            : undefined,
      }),
      listing: ['collection', '42'],
      holds: 90,
    },
    {
      id: 'json-bom',
      report: 'a JSON body starting with a UTF-8 BOM (an API behind a proxy re-encoding it); every page',
      options: (ref) => ({
        intercept: (u, rate) => {
          if (u.pathname !== '/collections/42/photos' || !ref.mock) return undefined
          const body = JSON.stringify(photosOf(ref.mock, 'collection:42', page(u), 90))
          return {
            status: 200,
            body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body)]),
            headers: { ...rate, 'content-type': 'application/json', 'x-total': 90, 'x-per-page': 30 },
          }
        },
      }),
      listing: ['collection', '42'],
      holds: 90,
    },
    {
      id: 'json-cut',
      report: 'page 2 a 200 whose JSON ends after 500 bytes (Content-Length saying 500: a proxy cutting it)',
      options: (ref) => ({
        intercept: (u, rate) => {
          if (u.pathname !== '/collections/42/photos' || page(u) !== 2 || !ref.mock) return undefined
          const body = JSON.stringify(photosOf(ref.mock, 'collection:42', 2, 90)).slice(0, 500)
          return {
            status: 200,
            body,
            headers: { ...rate, 'content-type': 'application/json', 'x-total': 90 },
          }
        },
      }),
      listing: ['collection', '42'],
      holds: 90,
    },
    {
      id: 'grows-while-paged',
      report:
        'odoo/odoo#150183 (the same photo in two batches: pages by offset shift); 5 photos added at the front after page 1 is served',
      options: (ref) => ({
        intercept: (u) => {
          if (u.pathname === '/collections/42/photos' && page(u) === 2 && !ref.grown && ref.mock) {
            ref.grown = true
            ref.mock.edit('collection:42', { add: 5 })
          }
          return undefined
        },
      }),
      listing: ['collection', '42'],
      holds: 95,
    },
    {
      id: 'deleted-photos',
      report:
        'unsplash/unsplash-js#65 (are urls always there?); of 90, 3 photos deleted between listing and download: image 404, download_location 404',
      options: (ref) => ({
        intercept: (u) => {
          const mock = ref.mock
          if (!mock) return undefined
          const gone = [0, 1, 2].map((n) => mock.photoAt('collection:42', 30 + n).id)
          return gone.some((id) => u.pathname === `/photos/${id}/download`)
            ? { status: 404, body: { errors: ["Couldn't find Photo"] } }
            : undefined
        },
        photo: (p: MockPhoto, n: number) =>
          n >= 30 && n < 33 ? { ...p, urls: { ...p.urls, regular: `${p.urls.regular}&status=404` } } : p,
      }),
      listing: ['collection', '42'],
      holds: 90,
    },
    {
      id: 'no-download-location',
      report:
        'unsplash/unsplash-js#65; every photo without links.download_location (the guidelines still ask for one tracking call each)',
      options: () => ({
        photo: (p: MockPhoto) => ({
          ...p,
          links: { ...p.links, download_location: undefined as unknown as string },
        }),
      }),
      listing: ['collection', '42'],
      holds: 90,
    },
    {
      id: 'unsplash-plus',
      report:
        'unsplash/unsplash-php#132 (Unsplash+ photos: tracking answers 401 "Unauthorized" to a key without a subscription); 5 of 90 premium',
      options: (ref) => ({ plus: ref.plus }),
      after: (mock, ref) => {
        for (const n of [3, 17, 31, 48, 80]) ref.plus.add(mock.photoAt('collection:42', n).id)
      },
      listing: ['collection', '42'],
      holds: 90,
    },
    {
      id: 'bad-key',
      report: 'MehediH/Bulksplash#53 (401 "OAuth error: The access token is invalid")',
      options: () => ({}),
      listing: ['collection', '42'],
      holds: 90,
      key: 'revoked-key',
    },
    {
      id: 'private-collection',
      report: 'delightedCrow/WallberryTheme#26 (a private collection answers 404)',
      options: () => ({}),
      listing: ['collection', '1580861'],
      holds: 0,
    },
  ]
}

/** The loop a small script writes with `requests`: page until a page comes empty. */
const PAGER = `
import os, sys, requests
api, key, path, query, out = sys.argv[1:6]
h = {'Authorization': 'Client-ID ' + key, 'Accept-Version': 'v1'}
page = 1
while True:
    params = {'page': page, 'per_page': 30}
    if query:
        params['query'] = query
    r = requests.get(api + path, params=params, headers=h, timeout=30)
    r.raise_for_status()
    data = r.json()
    photos = data['results'] if isinstance(data, dict) else data
    if not photos:
        break
    for p in photos:
        img = requests.get(p['urls']['regular'], timeout=30)
        with open(os.path.join(out, p['id'] + '.jpg'), 'wb') as f:
            f.write(img.content)
        requests.get(p['links']['download_location'], headers=h, timeout=30)
    page += 1
print('done, %d pages' % page)
`

const IMAGE_MAGIC = [
  Buffer.from([0xff, 0xd8]),
  Buffer.from('\x89PNG', 'latin1'),
  Buffer.from('RIFF'),
  Buffer.from('GIF8'),
]

interface Tally {
  kept: number
  wrong: number
}

async function tally(dir: string): Promise<Tally> {
  let kept = 0
  let wrong = 0
  for (const name of await readdir(dir)) {
    if (/^\.imgpull$|^manifest\.jsonl$|^report\.html$|^ATTRIBUTION\.md$|^\.pager\.py$/.test(name)) continue
    const b = await readFile(join(dir, name)).catch(() => undefined)
    if (!b) continue
    if (IMAGE_MAGIC.some((m) => b.subarray(0, m.length).equals(m))) kept++
    else wrong++
  }
  return { kept, wrong }
}

async function runCase(c: Case, tool: string, images: ImageServer): Promise<string> {
  const ref: Ref = { plus: new Set() }
  const [kind, arg] = c.listing
  const mock = await startUnsplashMock({
    imageOrigin: images.origin,
    key: KEY,
    collections: { '42': 90 },
    searches: { lake: 150 },
    ...c.options(ref),
  })
  ref.mock = mock
  c.after?.(mock, ref)
  const dir = await mkdtemp(join(tmpdir(), `bench-unsplash-${tool}-`))
  const imagesBefore = images.log.length
  const key = c.key ?? KEY
  const began = performance.now()
  let line = ''
  let code: number | null = null
  try {
    const once = async () => {
      if (tool === 'imgpull') {
        const r = await spawnCapped(
          'node',
          [
            IMGPULL,
            'unsplash',
            kind,
            arg,
            '-o',
            dir,
            '--api-url',
            mock.origin,
            '--access-key',
            key,
            ...(c.extra ?? []),
          ],
          120_000,
        )
        return r
      }
      const script = join(dir, '.pager.py')
      await writeFile(script, PAGER)
      const path = kind === 'search' ? '/search/photos' : `/collections/${arg}/photos`
      return spawnCapped(
        'python3',
        [script, mock.origin, key, path, kind === 'search' ? arg : '', dir],
        120_000,
      )
    }
    let r = await once()
    if (c.rerun) {
      mock.reset()
      const again = await once()
      r = { code: again.code, stderr: `${r.stderr}\n[rerun] ${again.stderr}` }
    }
    code = r.code
    line = lastLines(r.stderr)
      .replaceAll(dir, 'OUT')
      .replaceAll(mock.origin, 'http://api')
      .replaceAll(images.origin, 'http://images')
  } finally {
    await mock.close()
  }
  const seconds = (performance.now() - began) / 1000
  const { kept, wrong } = await tally(dir)
  await rm(dir, { recursive: true, force: true })
  const listingPath = kind === 'search' ? '/search/photos' : '/collections/'
  const pages = mock.log.filter((l) => l.path.startsWith(listingPath) && !l.path.endsWith('/download')).length
  const tracked = [...mock.tracked.values()]
  const calls = tracked.reduce((n, t) => n + t.length, 0)
  const twice = tracked.filter((t) => t.length > 1).length
  const imageCalls = images.log.length - imagesBefore
  const keyLeaked = line.includes(key) ? ' KEY SHOWN' : ''
  return [
    `${kept} of ${c.holds} kept${wrong ? `, ${wrong} WRONG` : ''}`,
    `${pages} listing calls, ${calls} tracked${twice ? ` (${twice} TWICE)` : ''}, ${imageCalls} images`,
    `${seconds.toFixed(1)} s, exit ${code ?? 'killed'}${keyLeaked}`,
    line ? `"${line}"` : '',
  ]
    .filter(Boolean)
    .join('; ')
}

const TELLING =
  /the API listed|stopped early|changed|refused|rate limit|imgpull:|Error|photos? (?:of|not)|gave|never|could not|failed/i

/** The last line or two a tool printed (its error or summary), less progress lines. */
function lastLines(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/img\/s|^\d+%|Traceback|^File "|^\^/.test(l))
  // The line that says what went wrong, when one does; else the summary.
  const telling = lines.filter((l) => TELLING.test(l)).at(-1)
  return (telling ?? lines.at(-1) ?? '').slice(0, 420)
}

async function main() {
  const { only, toolIds } = benchArgs()
  const all = cases().filter((c) => !only || only.includes(c.id))
  const tools = ['imgpull', 'requests-pager'].filter((t) => !toolIds || toolIds.includes(t))
  const images = await startImageServer({ sizes: [2_000, 8_000] })
  const rows = [`| case | ${tools.join(' | ')} |`, `|---|${tools.map(() => '---|').join('')}`]
  try {
    for (const c of all) {
      const cells: string[] = []
      for (const t of tools) cells.push(await runCase(c, t, images))
      rows.push(`| ${c.id} | ${cells.join(' | ')} |`)
      console.error(rows.at(-1))
    }
  } finally {
    await images.close()
  }
  printTable(rows, all)
}

await main()
