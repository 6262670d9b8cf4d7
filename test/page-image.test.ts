/**
 * A web page where an image should be (bench/misbehave-pages.ts): a photo, gallery or file host's
 * page copied from the address bar. It is refused as `not-an-image`, and the failure names the
 * image the page itself names (its og:image, twitter:image, image_src, JSON-LD contentUrl, its only
 * large <img>), on any host: never fetched, never followed.
 */
import assert from 'node:assert/strict'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { pull, type Result } from '../src/index.js'
import { looksLike } from '../src/verify/not-image.js'
import { type PageImage, pageImage, refreshUrl } from '../src/verify/page-image.js'
import { isSharePageFailure, sharePageHint } from '../src/verify/share-page.js'
import { cleanup, runCli, tempDir } from './support/cli.js'
import { type Route, type RouteServer, startRouteServer } from './support/route-server.js'

const PAGE = 'http://photos.test/p/sofa'
const html = (head: string, body = '') =>
  `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sofa</title>${head}</head><body>${body}</body></html>`
const found = (page: string, base = PAGE, self: string[] = []) => pageImage(Buffer.from(page), base, self)

test('pageImage: the image a page names, resolved as a browser resolves it, the page itself passed over', () => {
  const rows: [string, string, PageImage | undefined][] = [
    [
      'og:image, absolute',
      html('<meta property="og:image" content="https://i.example/sofa.jpg">'),
      { url: 'https://i.example/sofa.jpg', said: 'og:image' },
    ],
    [
      'og:image relative, entity-escaped (&amp; as pages write it)',
      html('<meta property="og:image" content="/i/sofa.jpg?w=1200&amp;fm=jpg&#38;q=80">'),
      { url: 'http://photos.test/i/sofa.jpg?w=1200&fm=jpg&q=80', said: 'og:image' },
    ],
    [
      'og:image protocol-relative',
      html("<meta content='//cdn.example/sofa.jpg' property='og:image'/>"),
      { url: 'http://cdn.example/sofa.jpg', said: 'og:image' },
    ],
    [
      'og:image relative to <base href>',
      html('<base href="https://static.example/a/"><meta property="og:image" content="sofa.jpg">'),
      { url: 'https://static.example/a/sofa.jpg', said: 'og:image' },
    ],
    [
      'og:image:secure_url',
      html('<meta property="og:image:secure_url" content="https://i.example/s.jpg">'),
      { url: 'https://i.example/s.jpg', said: 'og:image' },
    ],
    [
      'twitter:image by name',
      html('<meta name="twitter:image" content="https://pbs.example/media/X?format=jpg&amp;name=large">'),
      { url: 'https://pbs.example/media/X?format=jpg&name=large', said: 'twitter:image' },
    ],
    [
      'link rel=image_src',
      html('<link rel="image_src" href="/photo/full.jpg">'),
      { url: 'http://photos.test/photo/full.jpg', said: '<link rel="image_src">' },
    ],
    [
      'JSON-LD ImageObject contentUrl before og:image (the file itself, not a preview)',
      html(
        '<meta property="og:image" content="https://i.example/preview-1200x630.jpg"><script type="application/ld+json">{"@context":"https://schema.org","@graph":[{"@type":"WebPage"},{"@type":"ImageObject","contentUrl":"https:\\/\\/i.example\\/full.jpg"}]}</script>',
      ),
      { url: 'https://i.example/full.jpg', said: 'JSON-LD contentUrl' },
    ],
    [
      'the only large <img> (an attachment page), icons marked small passed over',
      html(
        '',
        '<img src="/logo.png" width="32" height="32"><img src="data:image/gif;base64,R0lGOD"><img class="attachment-full" src="/wp-content/uploads/2024/05/sofa.jpg" width="1600" height="1067">',
      ),
      { url: 'http://photos.test/wp-content/uploads/2024/05/sofa.jpg', said: 'only large <img>' },
    ],
    ['two large <img>: a gallery, no one image', html('', '<img src="/a.jpg"><img src="/b.jpg">'), undefined],
    [
      'og:image naming the page itself: passed over, the next mark taken',
      html(`<meta property="og:image" content="${PAGE}"><meta name="twitter:image" content="/i/sofa.jpg">`),
      { url: 'http://photos.test/i/sofa.jpg', said: 'twitter:image' },
    ],
    [
      'og:image naming the page itself, nothing else',
      html('<meta property="og:image" content="/p/sofa#x">'),
      undefined,
    ],
    [
      'a mark in a comment or a script is none',
      html(
        '<!-- <meta property="og:image" content="/c.jpg"> -->',
        '<script>document.write(\'<img src="/s.jpg">\')</script>',
      ),
      undefined,
    ],
    ['javascript: is no image', html('<meta property="og:image" content="javascript:alert(1)">'), undefined],
    ['no mark', html(''), undefined],
    [
      'a photo whose title holds 404 (not first, not as an error) is no soft 404',
      html('<meta property="og:image" content="/i/IMG_404.jpg">').replace(
        '<title>Sofa</title>',
        '<title>Room 404, Hotel Sacher</title>',
      ),
      { url: 'http://photos.test/i/IMG_404.jpg', said: 'og:image' },
    ],
    [
      'a soft 404 (a catch-all route\'s 200 "Page not found"): its og:image is the site\'s default card',
      html('<meta property="og:image" content="/wp-content/uploads/default-share.png">').replace(
        '<title>Sofa</title>',
        '<title>Page not found – Example Shop</title>',
      ),
      undefined,
    ],
    [
      'a 404 said by the title alone',
      html('<meta property="og:image" content="/card.png">').replace(
        '<title>Sofa</title>',
        '<title>404 | Photos</title>',
      ),
      undefined,
    ],
    [
      "a sign-in page (a password field): its og:image is the site's card, not the image behind the wall",
      html(
        '<meta property="og:image" content="/static/logo-card.png">',
        '<form method="post" action="/login"><input name="user"><input type="password" name="pass"></form>',
      ),
      undefined,
    ],
  ]
  const refresh = (content: string) => html(`<meta http-equiv="Refresh" content="${content}">`)
  rows.push(
    [
      "a meta refresh before any mark: the page's only way on (a redirect written as a page)",
      refresh('0; url=/i/sofa.jpg') + html('<meta property="og:image" content="/card.png">'),
      { url: 'http://photos.test/i/sofa.jpg', said: 'meta refresh', refresh: true },
    ],
    [
      'a meta refresh in quotes, URL= in capitals, entity-escaped',
      refresh("3;URL='/i/a.jpg?w=1&amp;h=2'"),
      { url: 'http://photos.test/i/a.jpg?w=1&h=2', said: 'meta refresh', refresh: true },
    ],
    ['a meta refresh that only reloads the page: nothing named', refresh('30'), undefined],
    ['a meta refresh to the page itself: nothing named', refresh(`0; url=${PAGE}`), undefined],
  )
  for (const [what, page, want] of rows) assert.deepEqual(found(page), want, what)
  // A redirect's target, and the URL asked for, are the page too.
  assert.equal(
    found(html('<meta property="og:image" content="http://short.test/s1">'), PAGE, ['http://short.test/s1']),
    undefined,
  )
  // UTF-16 with a byte order mark (a page Windows tools saved as "Unicode").
  const u16 = Buffer.concat([
    Buffer.from([0xff, 0xfe]),
    Buffer.from(html('<meta property="og:image" content="/i/u.jpg">'), 'utf16le'),
  ])
  assert.deepEqual(pageImage(u16, PAGE), { url: 'http://photos.test/i/u.jpg', said: 'og:image' })
})

test("refreshUrl: where a Refresh header or a meta refresh's content leads, as HTML reads it", () => {
  const rows: [string, string | undefined][] = [
    ['0; url=/a.jpg', '/a.jpg'],
    ['0;URL=/a.jpg', '/a.jpg'],
    ['5, url=/a.jpg', '/a.jpg'],
    ['0 /a.jpg', '/a.jpg'],
    ['0; /a.jpg', '/a.jpg'],
    ['1.5; Url = "/a b.jpg"', '/a b.jpg'],
    ["0; url='/a.jpg", '/a.jpg'],
    ['  0;url=http://cdn.test/x.jpg  ', 'http://cdn.test/x.jpg'],
    ['30', undefined],
    ['0;', undefined],
    ['url=/a.jpg', undefined],
    ['', undefined],
  ]
  for (const [value, want] of rows) assert.equal(refreshUrl(value), want, JSON.stringify(value))
})

let server: RouteServer
let dir: string
let asked: string[] = []
const send =
  (type: string, body: string | Buffer, fields: Record<string, string> = {}): Route =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': type, ...fields }).end(body)
  }

before(async () => {
  dir = await tempDir('imgpull-pages-')
  const og = (path: string) => html(`<meta property="og:image" content="${path}">`)
  server = await startRouteServer({
    '/gallery/sofa': send('text/html; charset=utf-8', og('/i/sofa.jpg?fb&amp;w=1200')),
    '/as-jpeg': send('image/jpeg', og('//cdn.test/x.jpg')),
    // A page of one <img>, no title and no words (a mood board's link to an image's page).
    '/bare/sofa': send('text/html', '<html><body><img src="/i/bare.jpg"></body></html>'),
    '/self': (req, res) => {
      const me = `http://${req.headers.host}/self`
      res.writeHead(200, { 'content-type': 'text/html' }).end(og(me))
    },
    '/utf16': send(
      'text/html; charset=utf-16',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(og('/i/u16.jpg'), 'utf16le')]),
    ),
    '/private/sofa.jpg': (_req, res) => {
      res.writeHead(302, { location: '/login?next=%2Fprivate%2Fsofa.jpg' }).end()
    },
    '/login': send(
      'text/html',
      html(
        '<meta property="og:image" content="/static/logo-card.png">',
        '<form><input type=password name=p></form>',
      ),
    ),
    '/gz': send('text/html', gzipSync(og('/i/gz.jpg')), { 'content-encoding': 'gzip' }),
    // A web app's page: its og:image after `at` bytes of inline script, sent in pieces, no length;
    // `end`: the page whole, `cut` (the connection closed after the mark, no end said) or `stall`
    // (nothing more after the script: the mark never comes).
    '/late': async (_req, res, url) => {
      const at = Number(url.searchParams.get('at'))
      const end = url.searchParams.get('end') ?? 'whole'
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.write('<!doctype html><html><head><title>Sofa</title><script>')
      const piece = 'var x=1;'.repeat(2048)
      for (let sent = 0; sent < at; sent += piece.length) {
        if (!res.write(piece)) await new Promise((resolve) => res.once('drain', resolve))
      }
      if (end === 'stall') return
      // Cut once the mark is out: Node 24's server holds what was written this turn (the head too,
      // for a short page), and a socket ended at once went without it (as image-server's `short`).
      const mark = '</script><meta property="og:image" content="/i/late.jpg"></head>'
      if (end === 'cut') return void res.write(mark, () => res.socket?.end())
      res.write(mark)
      res.end('<body><img src="/i/late.jpg"></body></html>')
    },
    // A redirect written as a page (request/request#92, ArchiveTeam/wpull#465): its Refresh header,
    // or its meta refresh, is its only way on; a browser's <img> follows neither.
    '/moved/sofa.jpg': send('text/html', '<!doctype html><p>Moved.</p>', {
      refresh: '0; url=/new/sofa.jpg',
    }),
    '/meta/sofa.jpg': (_req, res) => {
      res.writeHead(302, { location: '/meta/page' }).end()
    },
    '/meta/page': send(
      'text/html',
      html(
        '<meta http-equiv="refresh" content="0; URL=\'/new/sofa.jpg\'"><meta property="og:image" content="/card.png">',
      ),
    ),
  })
  asked = []
})

after(async () => {
  await server.close()
  await cleanup(dir)
})

async function get(path: string): Promise<Result> {
  const results: Result[] = []
  for await (const r of pull([server.url(path)], { out: join(dir, path.replace(/\W/g, '')) })) results.push(r)
  asked = server.log.map((l) => l.url)
  return results[0]!
}

test("a gallery page's failure names the image its og:image names, resolved and unescaped, and fetches nothing more", async () => {
  const r = await get('/gallery/sofa')
  assert.equal(r.status, 'failed')
  assert.equal(r.error, 'not-an-image')
  assert.match(
    r.message ?? '',
    new RegExp(
      `; an HTML page, not the file: its og:image names ${server.url('/i/sofa.jpg?fb&w=1200').replace(/[.?]/g, '\\$&')} \\(not fetched\\)$`,
    ),
  )
  // A rerun tells it apart from other permanent failures: another link is what helps.
  assert.ok(isSharePageFailure(r.error, r.message))
  assert.ok(!asked.some((u) => u.startsWith('/i/')), asked.join(' '))
})

test('a page of no title and no words is said to be an HTML page once, by the image it names', async () => {
  const r = await get('/bare/sofa')
  assert.equal(r.error, 'not-an-image')
  // It read `49 bytes: an HTML page; an HTML page, not the file: ...`.
  assert.match(
    r.message ?? '',
    /sent text\/html, 49 bytes; an HTML page, not the file: its only large <img> names http:\/\/127\.0\.0\.1:\d+\/i\/bare\.jpg \(not fetched\)$/,
  )
  assert.ok(isSharePageFailure(r.error, r.message))
})

test('a page sent as image/jpeg, or gzip-encoded, names its image the same way', async () => {
  const jpeg = await get('/as-jpeg')
  assert.match(
    jpeg.message ?? '',
    /sent image\/jpeg, .*its og:image names http:\/\/cdn\.test\/x\.jpg \(not fetched\)$/,
  )
  const gz = await get('/gz')
  assert.match(
    gz.message ?? '',
    /gzip-encoded, .*its og:image names http:\/\/127\.0\.0\.1:\d+\/i\/gz\.jpg \(not fetched\)$/,
  )
})

test('a page whose og:image comes after a large inline script names it: read on past its first 64 KB, up to 1 MiB, none of it kept', async () => {
  const late = async (query: string, options: { idleTimeout?: number; maxSize?: number } = {}) => {
    const before = server.log.length
    const out = join(dir, `late-${query.replace(/\W/g, '')}-${options.maxSize ?? ''}`)
    const results: Result[] = []
    for await (const r of pull([server.url(`/late?${query}`)], { out, retries: 2, ...options }))
      results.push(r)
    const r = results[0]!
    // A page however it ended: failed for good at its first request, never retried, nothing kept.
    assert.equal(r.error, 'not-an-image', `${query}: ${r.message}`)
    assert.equal(server.log.length - before, 1, query)
    const kept = (await readdir(out)).filter(
      (f) => !['.imgpull', 'manifest.jsonl', 'report.html'].includes(f),
    )
    assert.deepEqual(kept, [], query)
    assert.deepEqual(await readdir(join(out, '.imgpull', 'parts')).catch(() => []), [], query)
    return r.message ?? ''
  }
  const named = new RegExp(
    `its og:image names ${server.url('/i/late.jpg').replace(/\./g, '\\.')} \\(not fetched\\)$`,
  )
  // After 200 KB and after 900 KB of script: named (the first 64 KB alone named nothing).
  assert.match(await late('at=200000'), named)
  assert.match(await late('at=900000'), named)
  // Cut after the mark, its end unsaid: a page all the same, not a cut body to retry.
  assert.match(await late('at=200000&end=cut'), named)
  // A page that stops sending after its head: said as the page when the idle timeout ends it.
  assert.match(await late('at=200000&end=stall', { idleTimeout: 1000 }), /an HTML page titled "Sofa"$/)
  // Past 1 MiB, nothing named and the rest not read; nor past --max-size.
  const far = await late('at=1500000')
  assert.doesNotMatch(far, /og:image/)
  assert.ok(Number(/, (\d+) bytes/.exec(far)?.[1]) < 1_300_000, far)
  const small = await late('at=200000', { maxSize: 150_000 })
  assert.doesNotMatch(small, /og:image/)
  assert.ok(!asked.some((u) => u.startsWith('/i/')), asked.join(' '))
})

test('a page naming itself as its image is refused once, naming no link', async () => {
  const before = server.log.length
  const r = await get('/self')
  assert.equal(r.error, 'not-an-image')
  assert.doesNotMatch(r.message ?? '', /og:image|not the file/)
  assert.equal(server.log.length - before, 1)
})

test('a page whose only way on is a Refresh header or a meta refresh says where it leads, and fetches nothing there', async () => {
  const header = await get('/moved/sofa.jpg')
  assert.equal(header.error, 'not-an-image')
  assert.match(
    header.message ?? '',
    /; an HTML page, not the file: its Refresh header leads to http:\/\/127\.0\.0\.1:\d+\/new\/sofa\.jpg \(not followed, as a browser's <img> follows none\)$/,
  )
  assert.ok(isSharePageFailure(header.error, header.message))
  // After a redirect, the refresh resolved against the page that answered; before the og:image.
  const meta = await get('/meta/sofa.jpg')
  assert.match(
    meta.message ?? '',
    /\(redirected to \S+\/meta\/page\) sent text\/html, .*; an HTML page, not the file: its meta refresh leads to http:\/\/127\.0\.0\.1:\d+\/new\/sofa\.jpg \(not followed, as a browser's <img> follows none\)$/,
  )
  assert.ok(!asked.some((u) => u.startsWith('/new/')), asked.join(' '))
})

test("sharePageHint: a GitHub file page names its Raw button's link, not the page's og:image (a card of the repository)", () => {
  assert.equal(
    sharePageHint(new URL('https://github.com/octo/pics/blob/main/img/sofa%20big.jpg')),
    'a GitHub file page, not the file: https://github.com/octo/pics/raw/main/img/sofa%20big.jpg gives the file, as its Raw button does',
  )
  assert.equal(sharePageHint(new URL('https://github.com/octo/pics/tree/main/img')), undefined)
})

test('a page in UTF-16 (a byte order mark: Windows\' "Unicode") is told as the HTML page it is, its title and image named', async () => {
  const r = await get('/utf16')
  assert.equal(r.error, 'not-an-image')
  assert.match(
    r.message ?? '',
    /sent text\/html; charset=utf-16, \d+ bytes: an HTML page titled "Sofa"; an HTML page, not the file: its og:image names http:\/\/127\.0\.0\.1:\d+\/i\/u16\.jpg \(not fetched\)$/,
  )
})

test("in a list or a table, a page's failure names the line that holds its link: what to change", async () => {
  const page = server.url('/gallery/sofa')
  await writeFile(join(dir, 'urls.txt'), `# photos\n${server.url('/nothing-here.jpg')}\n\n${page}\n`)
  await writeFile(
    join(dir, 'photos.csv'),
    `url,caption\n"${server.url('/as-jpeg')}",a\n"${page}","a sofa\non two lines"\n`,
  )
  const list = await runCli(['urls.txt', '-o', 'from-list', '--no-report'], { cwd: dir })
  assert.equal(list.code, 1, list.stderr)
  assert.match(
    list.stderr,
    /\/gallery\/sofa sent .*its og:image names \S+ \(not fetched\); its link is 'urls\.txt' line 4$/m,
  )
  // Other failures are as they were.
  assert.match(list.stderr, /^failed http-404: HTTP 404 from \S+nothing-here\.jpg[^;]*$/m)
  const table = await runCli(['photos.csv', '-o', 'from-table', '--no-report'], { cwd: dir })
  assert.equal(table.code, 1, table.stderr)
  assert.match(
    table.stderr,
    /\/as-jpeg sent image\/jpeg, .*\(not fetched\); its link is photos\.csv line 2$/m,
  )
  assert.match(table.stderr, /\/gallery\/sofa sent .*\(not fetched\); its link is photos\.csv line 3$/m)
})

test("a login wall (a redirect to a sign-in page) names no image: the site's card is not what the link was for", async () => {
  const r = await get('/private/sofa.jpg')
  assert.equal(r.error, 'not-an-image')
  assert.match(
    r.message ?? '',
    /\(redirected to \S+\/login\?next=%2Fprivate%2Fsofa\.jpg\) sent text\/html, \d+ bytes: an HTML page titled "Sofa"$/,
  )
  assert.ok(!isSharePageFailure(r.error, r.message))
})

test('a page of tags never closed is read in one pass: what it is, and that it names no image', () => {
  // 1 MiB of each: read from each start to the end, as the patterns did, each took minutes (from
  // 1 to 4 s for 64 KB); in one pass, a moment. Outcomes are asserted; the runner's timeout is what
  // a pattern that scans again from each start meets.
  const units = [
    '<!x',
    '<?x ',
    '<title a',
    '<script a',
    '<style>',
    '<br a',
    '</a',
    '<img "',
    '<img a',
    '<input a',
    "<meta a='",
  ]
  for (const unit of units) {
    const page = Buffer.from(`<!doctype html><html>${unit.repeat(Math.floor(2 ** 20 / unit.length))}`)
    const kind = looksLike(page)
    assert.match(kind ?? '', /^(?:an HTML page$|HTML: ")/, unit)
    assert.equal(pageImage(page, PAGE), undefined, unit)
  }
})
