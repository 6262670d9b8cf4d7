import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { ChainCookies, jarOf, otherShape, parseCookiesTxt } from '../src/fetch/cookies.js'
import { pull } from '../src/index.js'
import type { Options } from '../src/options.js'
import type { Result } from '../src/types.js'
import { cleanup, tempDir } from './support/cli.js'
import { makeImage } from './support/images.js'
import { startRawServer } from './support/raw-server.js'
import { image, type Route, type RouteServer, startRouteServer } from './support/route-server.js'

const NOW = Date.parse('2026-01-01T00:00:00Z')
const FUTURE = String(NOW / 1000 + 86_400 * 3650)

const COOKIES_TXT = [
  '# Netscape HTTP Cookie File',
  '# https://curl.se/docs/http-cookies.html',
  '',
  `.example.org\tTRUE\t/\tFALSE\t${FUTURE}\tdomainwide\t1`,
  `example.org\tFALSE\t/\tFALSE\t0\thostonly\t2`,
  `#HttpOnly_.example.org\tTRUE\t/\tTRUE\t${FUTURE}\tsecure\t3`,
  `example.org\tFALSE\t/albums\tFALSE\t0\tpathed\t4`,
  `example.org\tFALSE\t/\tFALSE\t1000\texpired\t5`,
  `other.net\tFALSE\t/\tFALSE\t0\telsewhere\t6\r`,
  `example.org\tFALSE\t/\tFALSE\t0\tempty`,
].join('\n')

test('parseCookiesTxt: the Netscape format as curl writes it, expired cookies dropped', () => {
  const lines = parseCookiesTxt(COOKIES_TXT, 'cookies.txt', NOW)
  assert.deepEqual(
    lines.map((c) => [c.domain, c.subdomains, c.path, c.secure, c.httpOnly, c.name, c.value]),
    [
      ['example.org', true, '/', false, false, 'domainwide', '1'],
      ['example.org', false, '/', false, false, 'hostonly', '2'],
      ['example.org', true, '/', true, true, 'secure', '3'],
      ['example.org', false, '/albums', false, false, 'pathed', '4'],
      ['other.net', false, '/', false, false, 'elsewhere', '6'],
      ['example.org', false, '/', false, false, 'empty', ''],
    ],
  )
  const bad: [string, RegExp][] = [
    [
      'example.org FALSE / FALSE 0 name value',
      /line 1: its fields are separated by spaces, not tabs \(a copy from a web page/,
    ],
    ['example.org FALSE', /line 1: 1 tab-separated fields/],
    ['\n\nexample.org\tMAYBE\t/\tFALSE\t0\tn\tv', /line 3: subdomains is "MAYBE"/],
    ['example.org\tFALSE\t/\tyes\t0\tn\tv', /line 1: secure is "yes"/],
    ['example.org\tFALSE\tnoslash\tFALSE\t0\tn\tv', /path "noslash"/],
    ['example.org\tFALSE\t/\tFALSE\tsoon\tn\tv', /expiry "soon"/],
    ['example.org\tFALSE\t/\tFALSE\t0\t\tv', /no cookie name/],
    ['a\tb\tc\td\te\tf\tg\th', /8 tab-separated fields/],
    // No request can carry a control character (undici refuses the Cookie header).
    [
      'example.org\tFALSE\t/\tFALSE\t0\tsid\ta\x01b',
      /line 1: a control character in the value of cookie "sid"/,
    ],
    [
      'example.org\tFALSE\t/\tFALSE\t0\ts\x7fd\tv',
      /line 1: a control character in the name of cookie "s\\x7fd"/,
    ],
  ]
  for (const [text, message] of bad) {
    assert.throws(
      () => parseCookiesTxt(text, 'my.txt', NOW),
      (e: Error) => {
        assert.ok(e instanceof TypeError)
        assert.match(e.message, /^my\.txt, line \d+: /)
        assert.match(e.message, message)
        return true
      },
    )
  }
})

// Firefox 142+ gives expiries in ms, and extensions export them as `1791464381.742` (Mozilla bug
// 1986688, hrdl-github/cookies-txt#31): a whole file of them stopped the run (exit 2, `expiry
// "1791464381.742" is not a number of seconds`), where curl, wget2 and aria2c read it.
test('parseCookiesTxt: an expiry with a fraction of a second is read as its whole seconds', () => {
  const [live, gone] = [`${Number(FUTURE)}.742`, '1000.5']
  const lines = parseCookiesTxt(
    [`.example.org\tTRUE\t/\tFALSE\t${live}\tsid\t1`, `.example.org\tTRUE\t/\tFALSE\t${gone}\told\t2`].join(
      '\n',
    ),
    'firefox.txt',
    NOW,
  )
  assert.deepEqual(
    lines.map((c) => [c.name, c.expires]),
    [['sid', Number(FUTURE)]],
    'the past one dropped as expired',
  )
  for (const bad of ['1.2.3', '.5', '-1', '1e9'])
    assert.throws(
      () => parseCookiesTxt(`example.org\tFALSE\t/\tFALSE\t${bad}\tn\tv`, 'x.txt', NOW),
      /expiry ".*" is not a number of seconds/,
    )
})

// A browser extension's JSON export, or a Cookie header copied from the network panel, given where
// a cookies.txt was expected: "line 1: 1 tab-separated fields" named neither.
test('otherShape: a JSON export or a Cookie header given for cookies.txt is named as what it is', () => {
  const cases: [string, RegExp | undefined][] = [
    [
      '[\n  {"domain": ".example.org", "name": "sid", "value": "1"},\n  {"domain": "x", "name": "b", "value": "2"}\n]\n',
      /^JSON, 2 cookies \(a browser extension's export, such as Cookie-Editor's\), not a Netscape cookies\.txt: export the cookies in the Netscape format/,
    ],
    ['\ufeff{"cookies": [{"name": "sid"}]}', /^JSON, 1 cookie /],
    ['{"url": "https://example.org"}', /^JSON \(a browser extension's export/],
    ['[{"domain": ".example.org", "name": ', /^JSON, cut short or malformed, not a Netscape cookies\.txt$/],
    ['sid=abc; theme=dark; consent=YES+1\n', /^a Cookie header's value .*: give it as -H 'Cookie: \.\.\.'$/],
    ['Cookie: sid=abc; theme=dark', /^a Cookie header's value/],
    ['# Netscape HTTP Cookie File\nexample.org\tFALSE\t/\tFALSE\t0\tsid\ta=b; c=d\n', undefined],
    ['', undefined],
    ['#HttpOnly_[::1]\tFALSE\t/\tFALSE\t0\tn\tv', undefined],
  ]
  for (const [text, expected] of cases) {
    const shape = otherShape(text)
    if (expected === undefined) assert.equal(shape, undefined, text)
    else assert.match(shape ?? '', expected, text)
  }
  assert.throws(
    () => parseCookiesTxt('[{"domain": ".example.org", "name": "sid", "value": "1"}]', 'cookies.json', NOW),
    /^TypeError: cookies\.json: JSON, 1 cookie \(/,
  )
})

// A server deletes a session with `Set-Cookie: sid=; Max-Age=0` (RFC 6265 §5.3, a logout). The
// chain's cookies were kept beside the file's, so the file's `sid` went on being sent after it.
test("a Set-Cookie that deletes a file's cookie (Max-Age=0, Expires past) stops it being sent", async () => {
  const file = parseCookiesTxt(COOKIES_TXT, 'cookies.txt', NOW)
  const base = await jarOf(file)
  const chain = new ChainCookies(base)
  const sent = (url: string) => chain.header(new URL(url))
  await chain.store(
    [
      'hostonly=; Max-Age=0; Path=/',
      'domainwide=; Domain=example.org; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
    ],
    new URL('http://example.org/a.jpg'),
  )
  assert.equal(sent('http://example.org/a.jpg'), 'empty=')
  assert.equal(sent('http://img.example.org/a.jpg'), undefined)
  // Another chain of the run starts from the file's cookies again: the base jar is untouched.
  assert.equal(
    new ChainCookies(base).header(new URL('http://example.org/a.jpg')),
    'domainwide=1; hostonly=2; empty=',
  )
  // A file's cookie of another path than the answer's own is deleted too (its Path named), and
  // one the answer leaves alone is still sent, once, where its path goes.
  const other = new ChainCookies(base)
  await other.store('pathed=; Path=/albums; Max-Age=0', new URL('https://example.org/a.jpg'))
  assert.equal(
    other.header(new URL('https://example.org/albums/a.jpg')),
    'domainwide=1; hostonly=2; secure=3; empty=',
  )
  await other.store('late=1; Path=/', new URL('https://img.example.org/b.jpg'))
  assert.equal(other.header(new URL('https://img.example.org/b.jpg')), 'domainwide=1; secure=3; late=1')
})

test('file cookies go only where domain, host-only, path, secure and expiry allow', async () => {
  const chain = new ChainCookies(await jarOf(parseCookiesTxt(COOKIES_TXT, 'cookies.txt', NOW)))
  const sent = (url: string) => chain.header(new URL(url))
  assert.equal(sent('http://example.org/a.jpg'), 'domainwide=1; hostonly=2; empty=')
  // Longer paths first (RFC 6265 §5.4).
  assert.equal(
    sent('https://example.org/albums/a.jpg'),
    'pathed=4; domainwide=1; hostonly=2; secure=3; empty=',
  )
  assert.equal(sent('http://img.example.org/a.jpg'), 'domainwide=1', 'host-only cookies stay on their host')
  assert.equal(sent('https://img.example.org/a.jpg'), 'domainwide=1; secure=3')
  assert.equal(sent('http://example.org/albumsx'), 'domainwide=1; hostonly=2; empty=')
  assert.equal(sent('http://notexample.org/'), undefined)
  assert.equal(sent('http://other.net/x'), 'elsewhere=6')
  // A cookie set by the chain replaces the file's of the same name, domain and path, in its place
  // (it keeps the old one's creation time, which orders cookies of one path: RFC 6265 §5.3 11.3).
  await chain.store('hostonly=new; Path=/', new URL('http://example.org/x'))
  assert.equal(sent('http://example.org/a.jpg'), 'domainwide=1; hostonly=new; empty=')
  // A chain cannot set a cookie for another domain, or for a public suffix.
  await chain.store(['evil=1; Domain=other.net', 'tld=1; Domain=org'], new URL('http://example.org/'))
  assert.equal(sent('http://other.net/x'), 'elsewhere=6')
})

let dir: string
let a: RouteServer
let b: RouteServer
const body = makeImage('session', 20_000)

/** A 302 back to the same URL with a cookie, then the image once the cookie comes back. */
const gate: Route = (req, res) => {
  if (/(^|; )session=ok(;|$)/.test(req.headers.cookie ?? '')) {
    image(body)(req, res, new URL('http://x'))
    return
  }
  res
    .writeHead(302, { location: req.url, 'set-cookie': 'session=ok; Path=/; HttpOnly', 'content-length': 0 })
    .end()
}

before(async () => {
  dir = await tempDir()
  b = await startRouteServer({ '/landing.jpg': image(body) }, { host: 'localhost' })
  a = await startRouteServer({
    '/gate.jpg': gate,
    '/login-wall.jpg': (req, res) => {
      if (req.headers.cookie === 'sid=from-file') image(body)(req, res, new URL('http://x'))
      else res.writeHead(403, { 'content-type': 'text/html' }).end('log in first')
    },
    // Always the same cookie and the same URL: a real loop.
    '/loop.jpg': (req, res) => {
      res.writeHead(302, { location: req.url, 'set-cookie': 'n=1', 'content-length': 0 }).end()
    },
    // A new cookie every time: never the same request twice, ends at the redirect limit.
    '/counter.jpg': (req, res) => {
      const n = Number(/n=(\d+)/.exec(req.headers.cookie ?? '')?.[1] ?? 0) + 1
      res.writeHead(302, { location: req.url, 'set-cookie': `n=${n}`, 'content-length': 0 }).end()
    },
    // A server whose clock is two days behind: its cookie expires an hour later on that clock.
    '/behind.jpg': (req, res) => {
      if (/(^|; )token=1(;|$)/.test(req.headers.cookie ?? ''))
        return image(body)(req, res, new URL('http://x'))
      const now = Date.now() - 2 * 86_400_000
      res.sendDate = false
      const expires = new Date(now + 3_600_000).toUTCString()
      res
        .writeHead(302, {
          date: new Date(now).toUTCString(),
          location: req.url,
          'set-cookie': `token=1; Path=/; Expires=${expires}`,
          'content-length': 0,
        })
        .end()
    },
    // A sign-in wall that names no challenge (mikf/gallery-dl#9027: Instagram's 401).
    '/members.jpg': (_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"login required"}')
    },
    // Sets a cookie, then sends the client to another host.
    '/away.jpg': (_req, res) => {
      res
        .writeHead(302, {
          location: b.url('/landing.jpg'),
          'set-cookie': 'mine=a; Path=/',
          'content-length': 0,
        })
        .end()
    },
  })
})

after(async () => {
  await Promise.all([a.close(), b.close()])
  await cleanup(dir)
})

async function run(urls: string[], options: Options = {}): Promise<Map<string, Result>> {
  const results = new Map<string, Result>()
  for await (const r of pull(urls, { journal: false, name: '{index}{ext}', ...options })) {
    results.set(new URL(r.job.url).pathname, r)
  }
  return results
}

test('a 302 back to the same URL with Set-Cookie is followed with the cookie; real loops still end', async () => {
  a.log.length = 0
  const results = await run(
    ['/gate.jpg', '/loop.jpg', '/counter.jpg'].map((p) => a.url(p)),
    { out: join(dir, 'chain'), maxRedirects: 5 },
  )
  const gated = results.get('/gate.jpg')!
  assert.equal(gated.status, 'ok', gated.message)
  assert.equal(gated.bytes, body.length)
  assert.deepEqual(
    a.log.filter((l) => l.url === '/gate.jpg').map((l) => l.headers.cookie),
    [undefined, 'session=ok'],
  )
  assert.equal(results.get('/loop.jpg')!.error, 'redirect-loop')
  assert.equal(
    a.log.filter((l) => l.url === '/loop.jpg').length,
    4,
    'once without the cookie, three times with it: the loop ends when one request would be sent a fourth time',
  )
  const counter = results.get('/counter.jpg')!
  assert.equal(counter.error, 'too-many-redirects')
  // Said to be the loop it is (a higher limit would not end it), where it read as a long chain.
  assert.match(
    counter.message ?? '',
    /^more than 5 redirects for \S+\/counter\.jpg, the last to \S+\/counter\.jpg: a loop over 1 URL, each asked again with the new cookies its last answer set \(a server that sets a cookie and never takes it\)$/,
  )
})

// A cookie's Expires is read on the clock of the server that set it, moved by how far its Date is
// from ours, as Chromium reads it (mdn/content#37745). A server whose clock lagged set a cookie
// for its next hop that was already expired here, and the chain came round without it: a
// redirect-loop (cloudfoundry/stratos#3390, a server days behind; curl loops the same).
test("an Expires is read on the server's clock (its Date): a server days behind still gets its cookie back", async () => {
  a.log.length = 0
  const results = await run([a.url('/behind.jpg')], { out: join(dir, 'behind') })
  const one = results.get('/behind.jpg')!
  assert.equal(one.status, 'ok', one.message)
  assert.deepEqual(
    a.log.map((l) => l.headers.cookie),
    [undefined, 'token=1'],
  )
  // A deletion stays one; a server a day ahead has its cookie expire a day sooner; no Date, no move.
  const chain = new ChainCookies(undefined)
  const at = new URL('http://example.org/a.jpg')
  const day = (n: number, ms = 0) => new Date(Date.now() + n * 86_400_000 + ms).toUTCString()
  await chain.store(
    ['gone=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT', `lag=1; Expires=${day(0, -60_000)}`],
    at,
    day(-1),
  )
  await chain.store(`ahead=1; Expires=${day(0, 3_600_000)}`, at, day(1))
  await chain.store(`plain=1; Expires=${day(0, -60_000)}`, at)
  assert.equal(chain.header(at), 'lag=1')
})

// A 401 without WWW-Authenticate (RFC 9110 §11.6.1 asks for one) said `HTTP 401 from URL` alone:
// a site's sign-in or an API's token, which gallery-dl users meet as Instagram's bare 401
// (mikf/gallery-dl#9027, #3707), its answer a cookies file.
test('a 401 that names no challenge says where a login goes, or that the cookies sent gave none', async () => {
  const bare = (await run([a.url('/members.jpg')], { out: join(dir, 'bare') })).get('/members.jpg')!
  assert.match(
    bare.message ?? '',
    /^HTTP 401 from \S+members\.jpg: the server wants a login it does not name \(no WWW-Authenticate challenge\): a site's sign-in goes in --cookies FILE/,
  )
  const headers = { cookie: 'sid=old' }
  const sent = (await run([a.url('/members.jpg')], { out: join(dir, 'bare2'), headers })).get('/members.jpg')!
  assert.match(sent.message ?? '', /challenge\), and the cookies that went with the request gave none/)
})

// RFC 6265bis §5.6: a Set-Cookie with a control character but a tab anywhere in it is ignored whole
// (Chromium; curl since CVE-2022-35252, whose cookies with control codes made servers refuse every
// later request). tough-cookie kept a DEL in a name, and undici refused to send the Cookie header
// that carried it (`invalid cookie header`): the file failed as a network error on every attempt.
test('a Set-Cookie with a control character is ignored whole; the chain goes on with the others', async () => {
  const seen: (string | undefined)[] = []
  const raw = await startRawServer((socket) => {
    socket.on('data', (data) => {
      const request = data.toString('latin1')
      const cookie = /\r\ncookie: ([^\r]*)/i.exec(request)?.[1]
      seen.push(cookie)
      if (request.startsWith('GET /set ')) {
        const head = [
          'HTTP/1.1 302 Found',
          'Set-Cookie: ses\x7fsion=1; Path=/',
          'Set-Cookie: note=a\x01b; Path=/',
          'Set-Cookie: cut=a\x00b; Path=/',
          'Set-Cookie: kept=ok; Path=/',
          'Location: /image.jpg',
          'Content-Length: 0',
        ]
        socket.write(`${head.join('\r\n')}\r\n\r\n`, 'latin1')
      } else
        socket.write(
          Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]),
        )
    })
  })
  try {
    const results = await run([raw.url('/set')], { out: join(dir, 'control'), retries: 1 })
    const one = results.get('/set')!
    assert.equal(one.status, 'ok', one.message)
    assert.deepEqual(seen, [undefined, 'kept=ok'])
  } finally {
    await raw.close()
  }
})

test('cookies set in a chain never go to another host, and do not outlive the job', async () => {
  b.log.length = 0
  a.log.length = 0
  const results = await run([a.url('/away.jpg'), a.url('/gate.jpg')], {
    out: join(dir, 'away'),
    concurrency: 1,
  })
  assert.equal(results.get('/away.jpg')!.status, 'ok')
  assert.deepEqual(
    b.log.map((l) => l.headers.cookie),
    [undefined],
    'the cookie from 127.0.0.1 is not sent to localhost',
  )
  // The gate asked again for its cookie: nothing carried over from the other job.
  assert.equal(a.log.filter((l) => l.url === '/gate.jpg')[0].headers.cookie, undefined)
})

test('--cookies FILE: sent where its rules allow, never to another host; a bad file names its line', async () => {
  const file = join(dir, 'cookies.txt')
  await writeFile(
    file,
    // (A Secure cookie would go to http://127.0.0.1 too: loopback counts as secure, as in browsers.)
    `# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\tfrom-file\n#HttpOnly_127.0.0.1\tFALSE\t/other\tFALSE\t0\telsewhere\tnope\n`,
  )
  a.log.length = 0
  b.log.length = 0
  const results = await run([a.url('/login-wall.jpg'), b.url('/landing.jpg')], {
    out: join(dir, 'file'),
    cookies: file,
  })
  assert.equal(results.get('/login-wall.jpg')!.status, 'ok', results.get('/login-wall.jpg')!.message)
  assert.equal(a.log[0].headers.cookie, 'sid=from-file', 'not the cookie of another path')
  assert.equal(b.log[0].headers.cookie, undefined, 'not to another host')

  // The file's bytes go as they are (a browser stores and exports a cookie's UTF-8), after a byte
  // order mark; read as UTF-8 text, `é` went as one byte and `名前` failed every request.
  const utf8 = join(dir, 'utf8.txt')
  await writeFile(utf8, `\ufeff127.0.0.1\tFALSE\t/\tFALSE\t0\tname\t名前-café\n`)
  const sent: string[] = []
  const raw = await startRawServer((socket) =>
    socket.on('data', (data) => {
      sent.push(/\r\ncookie: ([^\r]*)/i.exec(data.toString('latin1'))?.[1] ?? '')
      socket.write(
        Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]),
      )
    }),
  )
  try {
    const results = await run([raw.url('/named.jpg')], { out: join(dir, 'utf8'), cookies: utf8 })
    assert.equal(results.get('/named.jpg')!.status, 'ok', results.get('/named.jpg')!.message)
    assert.deepEqual(
      sent.map((s) => Buffer.from(s, 'latin1').toString('utf8')),
      ['name=名前-café'],
    )
  } finally {
    await raw.close()
  }

  const bad = join(dir, 'bad.txt')
  await writeFile(bad, '# fine\n127.0.0.1 FALSE / FALSE 0 sid x\n')
  assert.throws(() => pull([], { cookies: bad }), /bad\.txt, line 2: its fields are separated by spaces/)
  assert.throws(() => pull([], { cookies: join(dir, 'none.txt') }), /`cookies`.*none\.txt/)
})
