import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { redirectTarget, takeCredentials, wireBytes } from '../src/fetch/location.js'
import { isPlaceholderTarget } from '../src/fetch/placeholder-target.js'
import { pull } from '../src/index.js'
import type { Result } from '../src/types.js'
import { cleanup, tempDir } from './support/cli.js'
import { makeImage } from './support/images.js'
import { image, type Route, type RouteServer, startRouteServer } from './support/route-server.js'

const base = new URL('http://example.org/dir/page?q=1')
/** A header value as undici hands it over: one Latin-1 character per byte on the wire. */
const latin1 = (bytes: number[] | string) =>
  Buffer.from(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes).toString('latin1')

test('redirectTarget: the bytes of a Location, read as UTF-8 when they are, else byte for byte', () => {
  const cases: [string, string | undefined][] = [
    [latin1('/café.jpg'), 'http://example.org/caf%C3%A9.jpg'],
    [latin1('/写真/猫.png'), 'http://example.org/%E5%86%99%E7%9C%9F/%E7%8C%AB.png'],
    // Not UTF-8 (a Latin-1 é alone): the byte stays that byte.
    [latin1([0x2f, 0x63, 0x61, 0x66, 0xe9, 0x2e, 0x6a, 0x70, 0x67]), 'http://example.org/caf%E9.jpg'],
    // Already encoded: left alone, never encoded twice.
    ['/caf%C3%A9.jpg', 'http://example.org/caf%C3%A9.jpg'],
    // What a browser encodes: spaces, quotes, angle brackets; in the query too.
    ['/a b/"c"<d>.jpg?x=1 2', 'http://example.org/a%20b/%22c%22%3Cd%3E.jpg?x=1%202'],
    ['img.jpg', 'http://example.org/dir/img.jpg'],
    ['../up.jpg', 'http://example.org/up.jpg'],
    ['//cdn.example.net/x.jpg', 'http://cdn.example.net/x.jpg'],
    ['https://cdn.example.net/x.jpg', 'https://cdn.example.net/x.jpg'],
    ['/x.jpg#frag ment', 'http://example.org/x.jpg#frag%20ment'],
    ['\\\\cdn.example.net\\x.jpg', 'http://cdn.example.net/x.jpg'],
    ['  /trimmed.jpg  ', 'http://example.org/trimmed.jpg'],
    ['?only=query', 'http://example.org/dir/page?only=query'],
    ['http://[::1', undefined],
    ['http://exa mple.org/', undefined],
  ]
  for (const [value, expected] of cases) {
    assert.equal(redirectTarget(value, base)?.href, expected, JSON.stringify(value))
  }
})

test('takeCredentials: the user and password a Location names, as Basic, and the URL without them', () => {
  const cases: [string, string, string | undefined][] = [
    ['http://user:pw@example.org/a.jpg', 'http://example.org/a.jpg', `Basic ${btoa('user:pw')}`],
    // An escape is its byte, as in a listed URL: %40 is an @ in the password.
    ['http://user:p%40ss@example.org/a.jpg', 'http://example.org/a.jpg', `Basic ${btoa('user:p@ss')}`],
    ['http://user@example.org/a.jpg', 'http://example.org/a.jpg', `Basic ${btoa('user:')}`],
    ['http://example.org/a.jpg', 'http://example.org/a.jpg', undefined],
    // A user with a colon, which Basic cannot carry (RFC 7617 §2): dropped, the URL without it.
    ['http://us%3Aer:pw@example.org/a.jpg', 'http://example.org/a.jpg', undefined],
  ]
  for (const [target, url, authorization] of cases) {
    const taken = takeCredentials(new URL(target))
    assert.deepEqual([taken.url.href, taken.authorization], [url, authorization], target)
  }
})

test('wireBytes: over HTTP/2 undici re-encodes the Latin-1 string as UTF-8; one step back reaches the bytes', () => {
  const onWire = Buffer.from('/café.jpg', 'utf8')
  // What undici 7 hands over for these bytes on HTTP/2: UTF-8 of their Latin-1 reading, read as Latin-1.
  const h2Value = Buffer.from(onWire.toString('latin1'), 'utf8').toString('latin1')
  assert.deepEqual(wireBytes(h2Value, true), onWire)
  assert.deepEqual(wireBytes(onWire.toString('latin1')), onWire)
  assert.equal(redirectTarget(h2Value, base, true)?.href, 'http://example.org/caf%C3%A9.jpg')
})

test('isPlaceholderTarget: a redirect to an image named as a stand-in for a removed one, unless that name was asked for', () => {
  const cases: [target: string, listed: string, placeholder: boolean][] = [
    ['https://i.imgur.com/removed.png', 'https://i.imgur.com/dWs5fLb.png', true],
    [
      'https://s.yimg.com/pw/images/en-us/photo_unavailable.png',
      'https://farm4.staticflickr.com/1/2_s.jpg',
      true,
    ],
    [
      'https://combo.staticflickr.com/ap/build/images/en-us/photo_unavailable_l.gif',
      'https://x.org/a.jpg',
      true,
    ],
    ['https://shop.example.org/img/No-Image.JPG', 'https://shop.example.org/p/42.jpg', true],
    ['https://cdn.example.org/image_not_found.webp?v=3', 'https://x.org/a.jpg', true],
    ['https://cdn.example.org/static/404.png', 'https://x.org/a.jpg', true],
    ['https://cdn.example.org/deleted%20image.gif', 'https://x.org/a.jpg', true],
    // Asked for by that name: what the user wants.
    ['https://i.imgur.com/removed.png', 'http://i.imgur.com/removed.png', false],
    // A page so named is no image anyway (not-an-image), and names that merely hold the words are photos.
    ['https://x.org/removed', 'https://x.org/a.jpg', false],
    ['https://x.org/removed.html', 'https://x.org/a.jpg', false],
    ['https://x.org/removed-walls.jpg', 'https://x.org/a.jpg', false],
    ['https://x.org/404-error-page-design.png', 'https://x.org/a.jpg', false],
    ['https://cdn.x.org/photos/a.jpg?X-Amz-Expires=60', 'https://x.org/a.jpg', false],
    ['https://x.org/removed.png/a.jpg', 'https://x.org/b.jpg', false],
  ]
  for (const [target, listed, placeholder] of cases)
    assert.equal(
      isPlaceholderTarget(new URL(target), new URL(listed)),
      placeholder,
      `${target} from ${listed}`,
    )
})

let dir: string
let server: RouteServer
/** Where `/s/abc` leads: `/img/real1.jpg`, then, after a change on the server, `/img/real2.jpg`. */
let generation = 1
const body = makeImage('target', 20_000)

const redirect =
  (location: string): Route =>
  (_req, res) => {
    res.writeHead(302, { location, 'content-length': 0 })
    res.end()
  }

before(async () => {
  dir = await tempDir()
  const routes: Record<string, Route> = {
    '/utf8': redirect('/caf\xc3\xa9.jpg'),
    '/caf%C3%A9.jpg': image(body),
    '/latin1': redirect('/na\xefve.jpg'),
    '/na%EFve.jpg': image(body),
    '/space': redirect('/with space.jpg'),
    '/with%20space.jpg': image(body),
    '/fragment': redirect('/frag.jpg#part'),
    '/frag.jpg': image(body),
    '/nowhere': redirect('http://[::1'),
    '/empty': redirect(''),
    '/creds': redirect('http://admin:hunter2@[::1/x.jpg'),
    '/to-file': redirect('file:///etc/passwd'),
    '/to-data': redirect(`data:image/png;base64,${'iVBORw0KGgo'.repeat(20)}`),
    '/to-ftp': redirect('ftp://anon:s3cret@127.0.0.1/a.jpg'),
    '/to-js': redirect('javascript:alert(1)'),
    '/gone.jpg': redirect('/removed.png'),
    '/removed.png': image(makeImage('removed', 500), { 'content-type': 'image/png' }),
  }
  // bench/misbehave-redirects.ts: the shapes and kinds no earlier row had.
  routes['/backslash/a'] = redirect('b\\bs.jpg')
  routes['/backslash/b/bs.jpg'] = image(body)
  routes['/scheme-relative/a'] = redirect('http:h/sr.jpg')
  routes['/scheme-relative/h/sr.jpg'] = image(body)
  routes['/temporary'] = (_req, res) => {
    res.writeHead(307, { location: '/t307.jpg', 'content-length': 0 }).end()
  }
  routes['/t307.jpg'] = image(body)
  routes['/body-image'] = (_req, res) => {
    const other = makeImage('other', 3_000)
    res.writeHead(302, {
      location: '/target.jpg',
      'content-type': 'image/png',
      'content-length': other.length,
    })
    res.end(other)
  }
  routes['/target.jpg'] = image(body)
  routes['/port'] = redirect('http://127.0.0.1:70000/x.jpg')
  routes['/s/abc'] = (_req, res) => {
    res.writeHead(302, { location: `/img/real${generation}.jpg`, 'content-length': 0 }).end()
  }
  routes['/img/real1.jpg'] = image(body)
  routes['/img/real2.jpg'] = image(makeImage('changed', 20_000))
  // Failures after a redirect: at its target (a 404, a signed URL's 404, a bad Location two hops on).
  routes['/f/missing'] = redirect('/f/gone.jpg')
  routes['/f/signed'] = redirect('/f/gone.jpg?size=big&X-Amz-Signature=abc123')
  routes['/f/hop1'] = redirect('/f/hop2')
  routes['/f/hop2'] = redirect('http://[::1')
  server = await startRouteServer(routes)
  routes['/f/dead'] = redirect(`http://127.0.0.1:1/f/dead.jpg`)
  routes['/relative'] = redirect(`//${new URL(server.origin).host}/pr.jpg`)
  routes['/pr.jpg'] = image(body)
})

after(async () => {
  await server.close()
  await cleanup(dir)
})

test('redirects to raw UTF-8, Latin-1, spaces, protocol-relative and fragment targets reach the image', async () => {
  const paths = ['/utf8', '/latin1', '/space', '/relative', '/fragment', '/nowhere', '/empty']
  const results = new Map<string, Result>()
  for await (const r of pull(
    paths.map((p) => server.url(p)),
    { out: join(dir, 'out'), journal: false, name: '{index}{ext}' },
  )) {
    results.set(new URL(r.job.url).pathname, r)
  }
  for (const path of paths.slice(0, -2)) {
    const r = results.get(path)!
    assert.equal(r.status, 'ok', `${path}: ${r.error} ${r.message}`)
    assert.equal(r.bytes, body.length)
  }
  const requested = server.log.map((l) => l.url)
  for (const path of ['/caf%C3%A9.jpg', '/na%EFve.jpg', '/with%20space.jpg', '/pr.jpg', '/frag.jpg']) {
    assert.ok(requested.includes(path), `${path} requested (got ${requested.join(' ')})`)
  }
  for (const path of ['/nowhere', '/empty']) {
    const bad = results.get(path)!
    assert.equal(bad.error, 'bad-redirect', `${path}: ${bad.message}`)
    assert.equal(bad.attempts, 1)
  }
})

test('a backslash, `http:relative`, a 307 and a 302 whose own body is another image reach the target, as Chromium does; a port out of range is bad-redirect', async () => {
  const paths = ['/backslash/a', '/scheme-relative/a', '/temporary', '/body-image', '/port']
  const results = new Map<string, Result>()
  for await (const r of pull(
    paths.map((p) => server.url(p)),
    { out: join(dir, 'shapes'), journal: false, name: '{index}{ext}' },
  ))
    results.set(new URL(r.job.url).pathname, r)
  for (const path of paths.slice(0, -1)) {
    const r = results.get(path)!
    assert.equal(r.status, 'ok', `${path}: ${r.error} ${r.message}`)
    // The target's bytes, never the redirect's own body.
    assert.equal(r.bytes, body.length, path)
  }
  const port = results.get('/port')!
  assert.equal(port.error, 'bad-redirect')
  assert.match(port.message ?? '', /^redirect to no valid URL \("http:\/\/127\.0\.0\.1:70000\/x\.jpg"\) for /)
})

test('a failure after a redirect names the URL last asked in finalUrl (results, journal, manifest), on a thread too; one at the listed URL none', async () => {
  const paths = ['/f/missing', '/f/signed', '/f/hop1', '/f/dead', '/nowhere']
  const want: Record<string, [string, string | null]> = {
    '/f/missing': ['http-404', server.url('/f/gone.jpg')],
    // Without a signed URL's signing parameters, as an ok row's.
    '/f/signed': ['http-404', server.url('/f/gone.jpg?size=big')],
    // The Location that failed was the second hop's: that is the URL last asked.
    '/f/hop1': ['bad-redirect', server.url('/f/hop2')],
    '/f/dead': ['network', 'http://127.0.0.1:1/f/dead.jpg'],
    // Failed at the URL listed: no redirect led away, none.
    '/nowhere': ['bad-redirect', null],
  }
  for (const threads of [0, 1]) {
    const out = join(dir, `failed-final-${threads}`)
    const results = new Map<string, Result>()
    for await (const r of pull(
      paths.map((p) => server.url(p)),
      { out, retries: 0, threads, name: '{index}{ext}' },
    ))
      results.set(new URL(r.job.url).pathname, r)
    const manifest = new Map(
      (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .map((m) => [new URL(m.url).pathname, m]),
    )
    for (const [path, [error, finalUrl]] of Object.entries(want)) {
      const r = results.get(path)!
      assert.equal(r.error, error, `${path} (threads ${threads}): ${r.message}`)
      assert.equal(r.finalUrl ?? null, finalUrl, `${path} (threads ${threads}): result`)
      // The manifest is written from the journal: what it recorded.
      assert.equal(manifest.get(path)?.finalUrl, finalUrl, `${path} (threads ${threads}): manifest`)
    }
  }
})

test('a file is named by the URL listed, not by where a redirect led; the manifest keeps both; a rerun after the redirect changed keeps the file', async () => {
  const out = join(dir, 'named')
  const first: Result[] = []
  for await (const r of pull([server.url('/s/abc')], { out })) first.push(r)
  assert.equal(first[0]!.status, 'ok', first[0]!.message)
  assert.equal(first[0]!.path, 'abc.jpg')
  assert.equal(first[0]!.job.url, server.url('/s/abc'))
  assert.equal(first[0]!.finalUrl, server.url('/img/real1.jpg'))
  const manifest = (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  assert.deepEqual(
    manifest.map((m) => [m.url, m.path, m.finalUrl]),
    [[server.url('/s/abc'), 'abc.jpg', server.url('/img/real1.jpg')]],
  )
  generation = 2
  const before = server.log.length
  const again: Result[] = []
  for await (const r of pull([server.url('/s/abc')], { out })) again.push(r)
  // Done: nothing asked, the file as the first run kept it, under its name.
  assert.equal(server.log.length, before)
  assert.deepEqual(await readFile(join(out, 'abc.jpg')), body)
})

test('a Location that does not parse is quoted without its user and password', async () => {
  const results: Result[] = []
  for await (const r of pull([server.url('/creds')], { out: join(dir, 'creds'), journal: false }))
    results.push(r)
  const [r] = results
  assert.equal(r.error, 'bad-redirect')
  assert.doesNotMatch(r.message ?? '', /hunter2|admin/)
  assert.match(r.message ?? '', /redirect to no valid URL \("http:\/\/\[::1\/x\.jpg"\) for /)
})

test('a redirect to file:, data:, ftp: or javascript: is refused at once, naming the target (shortened, without its password)', async () => {
  const paths = ['/to-file', '/to-data', '/to-ftp', '/to-js']
  const results = new Map<string, Result>()
  for await (const r of pull(
    paths.map((p) => server.url(p)),
    { out: join(dir, 'schemes'), journal: false },
  ))
    results.set(new URL(r.job.url).pathname, r)
  const said = (path: string) => {
    const r = results.get(path)!
    assert.equal(r.error, 'bad-redirect', `${path}: ${r.message}`)
    assert.equal(r.attempts, 1)
    return r.message ?? ''
  }
  const tail = ' refused (only http and https are followed) for '
  assert.equal(said('/to-file'), `redirect to file:///etc/passwd${tail}${server.url('/to-file')}`)
  assert.match(said('/to-data'), /^redirect to data:image\/png;base64,iVBOR\S*…\S* refused /)
  assert.ok(said('/to-data').length < 200, 'a long data: URL shortened')
  assert.equal(said('/to-ftp'), `redirect to ftp://127.0.0.1/a.jpg${tail}${server.url('/to-ftp')}`)
  assert.equal(said('/to-js'), `redirect to javascript:alert(1)${tail}${server.url('/to-js')}`)
})

// A redirect whose body never comes (its head sent with a Content-Length, then silence): its body
// is thrown away, yet each file waited for it, a second (the dump's bound), and its connection was
// then cut, before the redirect was followed. Browsers follow on the head.
test('a redirect whose body never comes is followed without waiting for it (its connection drained apart)', async () => {
  const img = makeImage('silent-redirect', 4000)
  const sockets = new Map<string, { closed: boolean }>()
  const openAtFollow: boolean[] = []
  const silent = await startRouteServer({
    '/r.jpg': (req, res) => {
      const state = { closed: false }
      sockets.set('r', state)
      req.socket.once('close', () => {
        state.closed = true
      })
      res.writeHead(302, { location: '/img.jpg', 'content-type': 'text/html', 'content-length': 100 })
      res.flushHeaders()
    },
    '/img.jpg': (req, res) => {
      openAtFollow.push(sockets.get('r')?.closed === false)
      image(img)(req, res, new URL('http://x'))
    },
  })
  try {
    const results: Result[] = []
    for await (const r of pull([silent.url('/r.jpg')], { out: join(dir, 'silent'), journal: false }))
      results.push(r)
    assert.equal(results[0]!.status, 'ok', results[0]!.message)
    assert.deepEqual(openAtFollow, [true], 'followed while the redirect still held its body back')
  } finally {
    await silent.close()
  }
})

// imgur's answer for a removed image: a 302 to i.imgur.com/removed.png, a valid PNG. It was kept
// as the photo (ok, finalUrl .../removed.png), as peers keep it (mikf/gallery-dl#5308).
test("a redirect to an image host's stand-in for a removed image fails as the 404 it means, the stand-in not fetched", async () => {
  const results: Result[] = []
  const out = join(dir, 'placeholder')
  for await (const r of pull([server.url('/gone.jpg'), server.url('/removed.png')], { out, journal: false }))
    results.push(r)
  const [gone, asked] = [
    results.find((r) => r.job.url.endsWith('/gone.jpg'))!,
    results.find((r) => r.job.url.endsWith('/removed.png'))!,
  ]
  assert.equal(gone.status, 'failed')
  assert.equal(gone.error, 'http-404', gone.message)
  assert.equal(gone.attempts, 1, 'permanent, not retried')
  assert.equal(
    gone.message,
    `HTTP 302 from ${server.url('/gone.jpg')}: a redirect to ${server.url('/removed.png')} (a stand-in for a removed or missing image, by its name), taken as a 404`,
  )
  // Listed by that name, it is what was asked for.
  assert.equal(asked.status, 'ok', asked.message)
  assert.equal(
    server.log.filter((l) => l.url === '/removed.png').length,
    1,
    'the stand-in fetched only where listed',
  )
})

// A signed storage URL (S3's X-Amz-Expires, CloudFront's Expires=) handed out by a 302 is good for
// one use here: a retry that went back to it, not to the URL listed, would meet 403s until it gave up.
test('a retry after a redirect to a signed URL asks the listed URL again for a fresh signature, never the spent one', async () => {
  const img = makeImage('signed', 30_000)
  const used = new Set<string>()
  let signed = 0
  let refused = 0
  const storage = await startRouteServer({
    '/object.jpg': (_req, res, url) => {
      const sig = url.searchParams.get('Signature') ?? ''
      if (used.has(sig)) {
        refused++
        res.writeHead(403, { 'content-type': 'application/xml' })
        res.end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>')
        return
      }
      used.add(sig)
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': img.length, etag: '"v1"' })
      // The first answer is cut: the file needs a second attempt.
      if (used.size === 1) res.write(img.subarray(0, 8000), () => setTimeout(() => res.destroy(), 20))
      else res.end(img)
    },
  })
  const site = await startRouteServer({
    '/photo.jpg': (_req, res) => {
      res.writeHead(302, { location: storage.url(`/object.jpg?X-Amz-Expires=60&Signature=s${++signed}`) })
      res.end()
    },
  })
  try {
    const results: Result[] = []
    for await (const r of pull([site.url('/photo.jpg')], { out: join(dir, 'signed'), journal: false }))
      results.push(r)
    const [r] = results
    assert.equal(r!.status, 'ok', r!.message)
    assert.equal(r!.bytes, img.length)
    assert.equal(r!.attempts, 2)
    assert.equal(signed, 2, 'each attempt began at the listed URL')
    assert.equal(refused, 0, 'no request sent with a spent signature')
  } finally {
    await site.close()
    await storage.close()
  }
})
