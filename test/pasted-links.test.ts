import assert from 'node:assert/strict'
import dns, { type LookupAddress, type LookupOptions } from 'node:dns'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { Lookup } from '../src/fetch/shared-lookup.js'
import { pull, type Result } from '../src/index.js'
import { pastedTail } from '../src/plan/url-problem.js'
import { isSharePageFailure, sharePageHint } from '../src/verify/share-page.js'
import { cleanup, runCli, tempDir } from './support/cli.js'
import { makeImage } from './support/images.js'
import { type RouteServer, startRouteServer } from './support/route-server.js'

// Links as a team pastes them from browsers and chats: a sharing site's address-bar link answers
// with the site's page for the image, not the image (each site's names resolve here to a local
// server that answers as the site does), and a URL from a chat message may carry its punctuation.
const SITES = ['www.dropbox.com', 'dl.dropboxusercontent.com', 'en.wikipedia.org', 'www.example-cdn.com']
const systemLookup = dns.lookup
type Callback = (e: NodeJS.ErrnoException | null, a: string | LookupAddress[], f?: number) => void
function standIn(name: string, options: LookupOptions, callback: Callback): void {
  if (!SITES.includes(name)) {
    ;(systemLookup as Lookup)(name, options, callback)
    return
  }
  if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }])
  else callback(null, '127.0.0.1', 4)
}

const page = (title: string) => (_req: unknown, res: import('node:http').ServerResponse) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
  res.end(`<!DOCTYPE html><html><head><title>${title}</title></head><body><div id="app"></div></body></html>`)
}

let server: RouteServer
let dir: string
before(async () => {
  const photo = makeImage('sofa.jpg', 4000)
  server = await startRouteServer({
    // Dropbox: the share page under dl=0, a redirect to the file under dl=1.
    '/s/abc123/sofa.jpg': (req, res, url) => {
      if (url.searchParams.get('dl') !== '1') return page('Dropbox - sofa.jpg - Simplify your life')(req, res)
      res.writeHead(302, { location: `http://dl.dropboxusercontent.com:${port()}/file/sofa.jpg` }).end()
    },
    '/file/sofa.jpg': (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': photo.length }).end(photo)
    },
    '/wiki/File:Eames_chair.jpg': page('File:Eames chair.jpg - Wikipedia'),
    '/wiki/Eames_Lounge_Chair': page('Eames Lounge Chair - Wikipedia'),
    '/moodboard/chair.jpg': page('Sign in'),
    '/refs/kitchen.jpg': (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': photo.length }).end(photo)
    },
  })
  dir = await tempDir('imgpull-share-')
  ;(dns as { lookup: unknown }).lookup = standIn
})
after(async () => {
  ;(dns as { lookup: unknown }).lookup = systemLookup
  await server.close()
  await cleanup(dir)
})
const port = () => new URL(server.origin).port

test('a sharing site page in place of the image: its failure names the link form that gives the file', async () => {
  const p = port()
  const urls = [
    `http://www.dropbox.com:${p}/s/abc123/sofa.jpg?dl=0`,
    `http://www.dropbox.com:${p}/s/abc123/sofa.jpg?dl=1`,
    `http://en.wikipedia.org:${p}/wiki/File:Eames_chair.jpg`,
    // Any other site's page: what it looks like, and no hint.
    `http://www.example-cdn.com:${p}/moodboard/chair.jpg`,
  ]
  const results: Result[] = []
  for await (const r of pull(urls, { out: join(dir, 'board'), journal: false, retries: 0 })) results.push(r)
  const by = new Map(results.map((r) => [r.job.url, r]))
  const share = by.get(urls[0])!
  assert.equal(share.error, 'not-an-image')
  assert.match(
    share.message!,
    /: an HTML page titled "Dropbox - sofa\.jpg - Simplify your life"; a Dropbox share page, not the file: the same link with dl=1 in place of dl=0 gives the file$/,
  )
  assert.equal(by.get(urls[1])!.status, 'ok', by.get(urls[1])!.message)
  assert.match(
    by.get(urls[2])!.message!,
    /; a Wikimedia file page, not the file: https:\/\/en\.wikipedia\.org\/wiki\/Special:FilePath\/Eames_chair\.jpg gives the file$/,
  )
  assert.match(by.get(urls[3])!.message!, / bytes: an HTML page titled "Sign in"$/)
})

test("a Wikipedia media viewer link: the article's page is what is asked for, and its failure names the file's own link", async () => {
  const p = port()
  const viewer = `http://en.wikipedia.org:${p}/wiki/Eames_Lounge_Chair#/media/File:Eames_Lounge_Chair.jpg`
  const asked = server.log.length
  for (const threads of [0, 1]) {
    const results: Result[] = []
    const out = join(dir, `viewer-${threads}`)
    // A transfer thread does not see this file's stand-in names: it goes through the server as a proxy.
    const proxy = threads ? server.origin : false
    for await (const r of pull([viewer], { out, journal: false, retries: 0, threads, proxy })) results.push(r)
    assert.equal(results[0].error, 'not-an-image')
    assert.match(
      results[0].message!,
      /: an HTML page titled "Eames Lounge Chair - Wikipedia"; a media viewer link to a wiki page, not the file: https:\/\/en\.wikipedia\.org\/wiki\/Special:FilePath\/Eames_Lounge_Chair\.jpg gives the file(?:$| \(through the proxy)/,
      `threads ${threads}`,
    )
  }
  // What is requested is unchanged: the page, its fragment never sent.
  assert.deepEqual(
    server.log.slice(asked).map((r) => r.url),
    ['/wiki/Eames_Lounge_Chair', '/wiki/Eames_Lounge_Chair'],
  )
})

test('the link form that gives the file, for each sharing site a page address is copied from', () => {
  const cases: [string, string | undefined][] = [
    [
      'https://www.dropbox.com/scl/fi/k2j3h4/lamp.jpg?rlkey=q8w7&dl=0',
      'a Dropbox share page, not the file: the same link with dl=1 in place of dl=0 gives the file',
    ],
    [
      'https://www.dropbox.com/s/abc/lamp.jpg',
      'a Dropbox share page, not the file: the same link with dl=1 gives the file',
    ],
    [
      'https://www.dropbox.com/sh/abc/AAB?dl=0',
      "a Dropbox shared folder's page, not a file: each image's own share link, with dl=1, gives it",
    ],
    ['https://www.dropbox.com/home/photos', undefined],
    [
      'https://drive.google.com/file/d/1AbC-dE_f/view?usp=sharing',
      'a Google Drive page, not the file: https://drive.google.com/uc?export=download&id=1AbC-dE_f gives the file (when shared with anyone with the link)',
    ],
    [
      'https://drive.google.com/open?id=1ZyX',
      'a Google Drive page, not the file: https://drive.google.com/uc?export=download&id=1ZyX gives the file (when shared with anyone with the link)',
    ],
    ['https://drive.google.com/open?id=%3Cscript%3E', undefined],
    [
      'https://imgur.com/AbC12dE',
      'an Imgur page, not the file: https://i.imgur.com/AbC12dE.jpg gives the file',
    ],
    [
      'https://imgur.com/gallery/cozy-nook-XyZ98',
      "an Imgur album page, not a file: each image's own address (on i.imgur.com) gives it",
    ],
    ['https://imgur.com/upload', undefined],
    [
      'https://m.imgur.com/Ab3dE',
      'an Imgur page, not the file: https://i.imgur.com/Ab3dE.jpg gives the file',
    ],
    [
      'https://www.pinterest.co.uk/pin/123456789/',
      "a Pinterest pin page, not the file: the image's own address (on i.pinimg.com, as Copy image address gives it) gives the file",
    ],
    [
      'https://www.flickr.com/photos/someone/5338761231/',
      "a Flickr photo page, not the file: the image's own address (on live.staticflickr.com, from the page's download menu) gives the file",
    ],
    [
      'https://unsplash.com/photos/a-lake-in-the-mountains-Dwu85P9SOIk',
      'an Unsplash photo page, not the file: imgpull unsplash photo Dwu85P9SOIk gets it through the Unsplash API',
    ],
    [
      'https://unsplash.com/de/fotos/ein-bergsee-Dwu85P9SOIk',
      'an Unsplash photo page, not the file: imgpull unsplash photo Dwu85P9SOIk gets it through the Unsplash API',
    ],
    ['https://unsplash.com/s/photos/lake', undefined],
    [
      'https://commons.wikimedia.org/wiki/File:Bauhaus_logo.svg',
      'a Wikimedia file page, not the file: https://commons.wikimedia.org/wiki/Special:FilePath/Bauhaus_logo.svg gives the file',
    ],
    ['https://en.wikipedia.org/wiki/Bauhaus', undefined],
    [
      'https://en.wikipedia.org/wiki/Bauhaus#/media/File:Bauhaus_logo.svg',
      'a media viewer link to a wiki page, not the file: https://en.wikipedia.org/wiki/Special:FilePath/Bauhaus_logo.svg gives the file',
    ],
    [
      'https://de.m.wikipedia.org/wiki/Bauhaus#/media/Datei:Bauhaus-Signet.svg',
      'a media viewer link to a wiki page, not the file: https://de.m.wikipedia.org/wiki/Special:FilePath/Bauhaus-Signet.svg gives the file',
    ],
    ['https://en.wikipedia.org/wiki/Bauhaus#History', undefined],
    ['https://images.example.com/s/abc/lamp.jpg', undefined],
  ]
  for (const [url, hint] of cases) assert.equal(sharePageHint(new URL(url)), hint, url)
  // Each hint, as a failure's message says it, tells the advice that another link helps, not --retry-failed.
  const said = (hint: string) =>
    `not an image: ${'https://x.test/a'} sent text/html, 9 bytes: an HTML page titled "a; b"; ${hint}`
  for (const [url, hint] of cases) if (hint) assert.ok(isSharePageFailure('not-an-image', said(hint)), url)
  assert.ok(
    isSharePageFailure(
      'not-an-image',
      `${said(cases[0][1]!)} (through the proxy http://p.test:3128) (earlier run; --retry-failed tries again)`,
    ),
  )
  assert.equal(
    isSharePageFailure(
      'not-an-image',
      'not an image: https://x.test/a sent text/html, 9 bytes: an HTML page titled "Sign in"',
    ),
    false,
  )
  assert.equal(isSharePageFailure('http-404', said(cases[0][1]!)), false)
  assert.equal(isSharePageFailure('not-an-image', undefined), false)
})

test("a URL pasted from a chat with the sentence's punctuation: its 404 names the URL meant", async () => {
  const cdn = `http://www.example-cdn.com:${port()}`
  const urls = [
    `${cdn}/refs/kitchen.jpg).`,
    `${cdn}/refs/kitchen.jpg"`,
    `${cdn}/refs/stair.jpg…`,
    `${cdn}/refs/gone.jpg`,
    `${cdn}/refs/kit\u00adchen.jpg`,
  ]
  const results: Result[] = []
  for await (const r of pull(urls, { out: join(dir, 'chat'), journal: false, retries: 0 })) results.push(r)
  const by = new Map(results.map((r) => [r.job.url, r]))
  for (const url of urls) assert.equal(by.get(url)!.error, 'http-404')
  assert.equal(
    by.get(urls[0])!.message,
    `HTTP 404 from ${cdn}/refs/kitchen.jpg).: ")." at its end is likely punctuation pasted with it, which a chat's link leaves out: ${cdn}/refs/kitchen.jpg`,
  )
  assert.match(
    by.get(urls[1])!.message!,
    /: '"' at its end is likely punctuation pasted with it, which a chat's link leaves out: \S+\/refs\/kitchen\.jpg$/,
  )
  assert.match(
    by.get(urls[2])!.message!,
    /: its "…" is where a page or a chat shortened the URL it showed: copy the link itself, not its text$/,
  )
  assert.equal(by.get(urls[3])!.message, `HTTP 404 from ${cdn}/refs/gone.jpg`)
  assert.match(
    by.get(urls[4])!.message!,
    /: its soft hyphens \(U\+00AD, which show nothing: a page's hyphenation, copied with it\) are likely not the URL's: \S+\/refs\/kitchen\.jpg$/,
  )
})

test('the punctuation a chat leaves out of a link, at the end of a URL a server does not have', () => {
  const cases: [string, string | undefined][] = [
    ['https://c.test/a.jpg', undefined],
    ['https://c.test/a.jpg,', 'https://c.test/a.jpg'],
    ['https://c.test/a.jpg!?', 'https://c.test/a.jpg'],
    ["https://c.test/a.jpg'", 'https://c.test/a.jpg'],
    ['https://c.test/a.jpg);', 'https://c.test/a.jpg'],
    // A ) the URL opens is its own.
    ['https://c.test/wiki/Chair_(furniture)', undefined],
    ['https://c.test/wiki/Chair_(furniture)).', 'https://c.test/wiki/Chair_(furniture)'],
    ['https://c.test/a(1).jpg', undefined],
    // Closing marks whose opening was not pasted, and a word processor's smart quotes
    // (jekyll/jekyll-seo-tag#4): each was a bare `HTTP 404`.
    ['https://c.test/a.jpg%3E', 'https://c.test/a.jpg'],
    ['https://c.test/a.jpg%7D', 'https://c.test/a.jpg'],
    ['https://c.test/a.jpg%E2%80%9D', 'https://c.test/a.jpg'],
    ['https://c.test/a.jpg%E2%80%99.', 'https://c.test/a.jpg'],
    ['https://c.test/a.jpg%C2%BB', 'https://c.test/a.jpg'],
    // A zero-width space or a direction mark escaped after it (crossorigin.me#18): a bare 404.
    ['https://c.test/a.jpg%E2%80%8B', 'https://c.test/a.jpg'],
    ['https://c.test/a.jpg%e2%80%8e%EF%BB%BF', 'https://c.test/a.jpg'],
    // Nothing left but the host: no URL meant to name.
    ['https://c.test/.', undefined],
    // A page's hyphenation copied with its link: each soft hyphen (U+00AD) left out.
    ['https://c.test/Aan%C2%ADvraag%c2%adformulier.docx', 'https://c.test/Aanvraagformulier.docx'],
  ]
  for (const [href, meant] of cases) {
    const hint = pastedTail(href)
    assert.equal(hint?.replace(/^.*: /, ''), meant, href)
  }
})

test("the link that gives the file, put in the list in the share page's place, takes the name the failed page had", async () => {
  const out = join(dir, 'renamed')
  const run = async (urls: string[]) => {
    const results: Result[] = []
    for await (const r of pull(urls, { out, retries: 0 })) results.push(r)
    return results
  }
  const share = `http://www.dropbox.com:${port()}/s/abc123/sofa.jpg?dl=0`
  const [failed] = await run([share])
  assert.equal(failed.error, 'not-an-image')
  const [fixed] = await run([share.replace('dl=0', 'dl=1')])
  assert.equal(fixed.status, 'ok', fixed.message)
  // Named sofa-<hash>.jpg before: the failed page held the name, though no file had it.
  assert.equal(fixed.path, 'sofa.jpg')
  // The page asked for again (--retry-failed) is named anew, never over the file.
  const again: Result[] = []
  for await (const r of pull([share], { out, retries: 0, retryFailed: true })) again.push(r)
  assert.equal(again[0].error, 'not-an-image')
  const [kept] = await run([share.replace('dl=0', 'dl=1')])
  assert.equal(kept.status, 'skipped')
  assert.equal(kept.path, 'sofa.jpg')
})

test("sharing sites' pages among failures: the advice is to change those links, and --retry-failed only for the other permanent ones", async () => {
  const p = port()
  const out = join(dir, 'advice')
  const list = join(dir, 'advice.txt')
  const urls = [
    `http://www.dropbox.com:${p}/s/abc123/sofa.jpg?dl=0`,
    `http://en.wikipedia.org:${p}/wiki/Eames_Lounge_Chair#/media/File:Eames_Lounge_Chair.jpg`,
    // Another site's page: permanent, and no sharing site's.
    `http://www.example-cdn.com:${p}/moodboard/chair.jpg`,
    `http://www.example-cdn.com:${p}/refs/kitchen.jpg`,
  ]
  await writeFile(list, `${urls.join('\n')}\n`)
  // The CLI does not see this file's stand-in names: the server is its proxy, and answers as each site.
  const args = [list, '-o', out, '--retries', '0', '--proxy', server.origin, '--threads', '0']
  const advice =
    "2 failures are a web page in place of the image (a Dropbox, Google Drive, Imgur... page's address, or a page naming its image): put the link each message names (the file's, or the image the page names: check its size) in the list or table in their place; --retry-failed would fetch the same pages again."
  const first = await runCli(args)
  assert.equal(first.code, 1, first.stderr)
  assert.ok(first.stderr.includes(`\n${advice}\n`), first.stderr)

  const status = await runCli(['status', out])
  assert.ok(
    status.stdout.includes(
      `${advice.slice(0, -1)} (imgpull status ${out} --failed not-an-image lists them, among 3 not-an-image failures).`,
    ),
    status.stdout,
  )
  // --retry-failed is for the other page alone.
  assert.match(status.stdout, /^Add --retry-failed to try the 1 permanent failure too\.$/m)
  const json = JSON.parse((await runCli(['status', out, '--json'])).stdout)
  assert.equal(json.sharePages, 2)

  const html = await readFile(join(out, 'report.html'), 'utf8')
  assert.match(html, /2 failures are a web page in place of the image \(a Dropbox/)
  assert.match(html, /skips the 1 permanent failure \(it would fail again\)/)
  assert.match(html, />2 change the links</)

  // A rerun skips them as failed before, and says what helps them.
  const again = await runCli(args)
  assert.equal(again.code, 1, again.stderr)
  assert.match(
    again.stderr,
    /3 skipped as permanently failed before \(--retry-failed tries them again, but 2 of them are sharing sites' pages, which it would fetch again as they are: see below\)/,
  )
  assert.ok(again.stderr.includes(`\n${advice}\n`), again.stderr)
  assert.match(
    again.stderr,
    /gives the file[^\n]*\(earlier run; put that link in the input in its place; --retry-failed would fetch the same page again\)/,
  )
  assert.match(again.stderr, /titled "Sign in"[^\n]*\(earlier run; --retry-failed tries again\)/)
})
