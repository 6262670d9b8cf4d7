import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage } from 'node:http'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { digestAuthorization, digestChallenge, digestUnanswered } from '../src/fetch/digest-auth.js'
import { pull, type Result } from '../src/index.js'
import { cleanup, tempDir } from './support/cli.js'
import { makeImage } from './support/images.js'
import { listenLocal, startRawServer } from './support/raw-server.js'

const dir = await tempDir('digest')
after(() => cleanup(dir))

test("digestAuthorization: the RFCs' own examples (RFC 7616 §3.9.1 MD5 and SHA-256, RFC 2617 §3.5)", () => {
  const c7616 =
    'realm="http-auth@example.org", qop="auth, auth-int", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
  const mufasa = {
    user: 'Mufasa',
    password: 'Circle of Life',
    method: 'GET',
    uri: '/dir/index.html',
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  }
  const cases: [string | string[], typeof mufasa, string | undefined][] = [
    // Offered beside Basic, in one header or two; the first Digest whose hash is known is taken.
    [`Digest algorithm=MD5, ${c7616}, Basic realm="x"`, mufasa, '8ca523f5e9506fed4657c9700eebdbec'],
    [
      ['Basic realm="x"', `Digest algorithm=SHA-256, ${c7616}`],
      mufasa,
      '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
    ],
    [`Digest algorithm=SHA-1, ${c7616}, Digest ${c7616}`, mufasa, '8ca523f5e9506fed4657c9700eebdbec'],
    [
      'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
      { ...mufasa, password: 'Circle Of Life', cnonce: '0a4f113b' },
      '6629fae49393a05397450978507c4ef1',
    ],
    ['Basic realm="x"', mufasa, undefined],
    ['Digest realm="x"', mufasa, undefined],
    [`Digest algorithm=SHA-1, ${c7616}`, mufasa, undefined],
  ]
  for (const [header, request, response] of cases) {
    const challenge = digestChallenge(header)
    if (response === undefined) {
      assert.equal(challenge, undefined, String(header))
      continue
    }
    const auth = digestAuthorization(challenge!, request)
    assert.match(auth, new RegExp(`response="${response}"`), String(header))
    assert.match(auth, /^Digest username="Mufasa", realm="[^"]+", nonce="[^"]+", uri="\/dir\/index\.html"/)
  }
  // RFC 2069 servers name no qop: no nc or cnonce then.
  const old = digestAuthorization(digestChallenge('Digest realm="r", nonce="n"')!, mufasa)
  assert.doesNotMatch(old, /qop|nc=|cnonce/)
})

test('digestUnanswered: why no Digest challenge offered can be answered, from the first', () => {
  const table: [string | string[] | undefined, string | undefined][] = [
    [undefined, undefined],
    ['Basic realm="x"', undefined],
    ['Digest realm="r", nonce="n"', undefined],
    ['Digest realm="x"', 'its Digest challenge names no nonce'],
    ['Digest nonce="n"', 'its Digest challenge names no realm'],
    [
      'Digest algorithm=SHA-1, realm="r", nonce="n"',
      'its Digest challenge asks for the algorithm "SHA-1", which imgpull does not compute',
    ],
    // One that can be answered, after one that cannot: answered.
    ['Digest algorithm=SHA-1, realm="r", nonce="n", Digest realm="r", nonce="n"', undefined],
    // What an answer sends back must be free of control characters (undici refuses them).
    [
      'Digest realm="r", nonce="n\x01n"',
      'its Digest challenge has a control character in its nonce, which no request can send back',
    ],
    [
      ['Basic realm="x"', 'Digest realm="r\x7f", nonce="n"'],
      'its Digest challenge has a control character in its realm, which no request can send back',
    ],
    [
      'Digest realm="r", nonce="n", opaque="\x00"',
      'its Digest challenge has a control character in its opaque, which no request can send back',
    ],
    // A tab or a byte past 0x7F goes back as it came.
    ['Digest realm="a\tb", nonce="caf\xe9"', undefined],
  ]
  for (const [header, why] of table) {
    assert.equal(digestUnanswered(header), why, JSON.stringify(header))
    assert.equal(digestChallenge(header) === undefined, why !== undefined || !/Digest/.test(String(header)))
  }
})

// llhttp passes control characters in an answer's header values (see undici-h1-parser.ts `LENIENCIES`);
// undici refuses to send them. A challenge whose nonce or realm held one was answered with an
// Authorization that failed before it was sent: `network error ... invalid authorization header`
// on every attempt, where the 401 is the answer, with why it was not answered.
test('a Digest challenge with a control character in what an answer sends back: its 401 is the answer, saying why', async () => {
  let requests = 0
  const server = await startRawServer((socket) => {
    socket.on('data', () => {
      requests++
      const challenge = 'WWW-Authenticate: Digest realm="cam", qop="auth", nonce="4f\x01e2"'
      socket.write(`HTTP/1.1 401 Unauthorized\r\n${challenge}\r\nContent-Length: 0\r\n\r\n`, 'latin1')
    })
  })
  try {
    const url = `http://admin:pw@127.0.0.1:${server.port}/snap.jpg`
    const { results } = await get([url])
    assert.equal(results[0]!.error, 'http-401', results[0]!.message)
    assert.match(
      results[0]!.message!,
      /snap\.jpg: the server refused the user and password of the URL \(sent by Basic; its Digest challenge has a control character in its nonce, which no request can send back\)$/,
    )
    assert.equal(requests, 1)
  } finally {
    await server.close()
  }
})

/** A camera that takes its user and password by Digest only, checking each answer in full. */
function camera(image: Buffer) {
  const asked: { url: string; authorization?: string }[] = []
  const md5 = (s: string) => createHash('md5').update(s).digest('hex')
  let nonce = 0
  // Nonces answered under /once: a server there takes each nonce for one request only.
  const spent = new Set<string>()
  const valid = (req: IncomingMessage, stale: boolean): 'ok' | 'stale' | 'no' => {
    const auth = req.headers.authorization ?? ''
    const p = Object.fromEntries(
      [...auth.matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)].map((m) => [m[1], m[2] ?? m[3]]),
    )
    if (!auth.startsWith('Digest ') || p.uri !== req.url || p.username !== 'admin') return 'no'
    const ha1 = md5(`admin:cam:12 34`)
    const ha2 = md5(`GET:${p.uri}`)
    if (p.response !== md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:auth:${ha2}`)) return 'no'
    if (req.url!.startsWith('/once')) {
      if (spent.has(p.nonce!)) return 'no'
      spent.add(p.nonce!)
    }
    // The first right answer to /stale is told its nonce went stale.
    return stale &&
      asked.filter((a) => a.url === req.url && a.authorization?.startsWith('Digest')).length === 1
      ? 'stale'
      : 'ok'
  }
  const server = createServer((req, res) => {
    asked.push({
      url: req.url!,
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    })
    const verdict = valid(req, req.url!.startsWith('/stale'))
    // A snapshot CGI that sends the client on to the image, on the same origin (Digest there too).
    if (verdict === 'ok' && req.url!.endsWith('.cgi'))
      return res.writeHead(302, { location: req.url!.replace('.cgi', '.jpg'), 'content-length': 0 }).end()
    if (verdict === 'ok')
      return res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': image.length }).end(image)
    if (req.url!.startsWith('/basic-only.jpg'))
      return res.writeHead(401, { 'www-authenticate': 'Basic realm="cam"', 'content-length': 0 }).end()
    const challenge = `Digest realm="cam", qop="auth", nonce="n${++nonce}", opaque="o"${verdict === 'stale' ? ', stale=true' : ''}`
    res.writeHead(401, { 'www-authenticate': ['Basic realm="cam"', challenge], 'content-type': 'text/html' })
    res.end('<html><title>401 Unauthorized</title></html>')
  })
  return { server, asked }
}

async function get(urls: string[]): Promise<{ out: string; results: Result[] }> {
  const out = join(dir, `run-${Math.random().toString(36).slice(2)}`)
  const results: Result[] = []
  for await (const r of pull(urls, { out, journal: false, name: '{index}{ext}' })) results.push(r)
  // In the order listed.
  return { out, results: urls.map((url) => results.find((r) => r.job.url === url)!) }
}

test("a URL's user and password are sent by Digest to a server that asks for it (a camera), as wget sends them", async () => {
  const image = makeImage('camera', 3000)
  const { server: camServer, asked } = camera(image)
  const server = await listenLocal(camServer)
  const at = `127.0.0.1:${server.port}`
  try {
    const { out, results } = await get([
      `http://admin:12%2034@${at}/snap.jpg?ch=1`,
      `http://admin:12%2034@${at}/stale.jpg`,
      `http://admin:wrong@${at}/bad.jpg`,
      `http://${at}/anon.jpg`,
      `http://admin:wrong@${at}/basic-only.jpg`,
      `http://ad%3Amin:12%2034@${at}/basic-only.jpg?colon`,
      `http://ad%3Amin:12%2034@${at}/snap.jpg?colon`,
    ])
    const [snap, stale, bad, anon, basic, colon, digestColon] = results
    assert.equal(snap!.status, 'ok', snap!.message)
    assert.deepEqual(await readFile(join(out, snap!.path!)), image)
    assert.deepEqual(
      asked.filter((a) => a.url === '/snap.jpg?ch=1').map((a) => a.authorization?.split(' ')[0]),
      ['Basic', 'Digest'],
      'the URL sent once more, answering the challenge',
    )
    // A stale nonce is asked for once more with the new one.
    assert.equal(stale!.status, 'ok', stale!.message)
    assert.equal(asked.filter((a) => a.url === '/stale.jpg').length, 3)
    // A wrong password: the second 401 is the answer, not a loop.
    assert.equal(bad!.error, 'http-401')
    assert.match(
      bad!.message!,
      /^HTTP 401 from .*bad\.jpg: the server refused the user and password of the URL \(sent by Digest\)$/,
    )
    assert.equal(asked.filter((a) => a.url === '/bad.jpg').length, 2)
    // No user and password: nothing to answer with.
    assert.equal(anon!.error, 'http-401')
    assert.match(
      anon!.message!,
      /^HTTP 401 from \S+anon\.jpg: the server asks for a user and password \(Basic realm "cam", Digest realm "cam"\): give them in the URL/,
    )
    assert.equal(asked.filter((a) => a.url === '/anon.jpg').length, 1)
    // A server that takes Basic only: its 401 is the answer.
    assert.match(
      basic!.message!,
      /basic-only\.jpg: the server refused the user and password of the URL \(sent by Basic\)$/,
    )
    assert.equal(asked.filter((a) => a.url === '/basic-only.jpg').length, 1)
    // A user with a colon is not sent by Basic, which cannot carry it (`ad:min:12 34` reads as user
    // `ad`): its 401 says why.
    assert.match(
      colon!.message!,
      /basic-only\.jpg\?colon: the URL's user holds a colon, which Basic cannot carry \(RFC 7617 §2: the server would read the user up to it\), so the user and password were not sent$/,
    )
    assert.deepEqual(
      asked.filter((a) => a.url === '/basic-only.jpg?colon').map((a) => a.authorization),
      [undefined],
    )
    // Digest carries it: asked without, then answered by Digest with the whole user.
    assert.equal(digestColon!.error, 'http-401', digestColon!.message)
    const byDigest = asked.filter((a) => a.url === '/snap.jpg?colon').map((a) => a.authorization)
    assert.equal(byDigest.length, 2)
    assert.equal(byDigest[0], undefined)
    assert.match(byDigest[1]!, /^Digest username="ad:min",/)
  } finally {
    await server.close()
  }
})

test('after a Digest challenge, a redirect on the same origin is asked with the Digest of its own URI, as curl --digest asks it', async () => {
  const image = makeImage('camera-hop', 3000)
  const { server: camServer, asked } = camera(image)
  const server = await listenLocal(camServer)
  const at = `127.0.0.1:${server.port}`
  try {
    const { out, results } = await get([
      `http://admin:12%2034@${at}/snap.cgi`,
      `http://admin:12%2034@${at}/once.cgi`,
    ])
    const [snap, once] = results
    // The nonce answered at /snap.cgi, its count one up, answers /snap.jpg with its own URI: it
    // went with /snap.cgi's, was refused, and the file failed as a wrong password.
    assert.equal(snap!.status, 'ok', snap!.message)
    assert.deepEqual(await readFile(join(out, snap!.path!)), image)
    const hop = asked.filter((a) => a.url === '/snap.jpg')
    assert.equal(hop.length, 1)
    assert.match(hop[0]!.authorization ?? '', /uri="\/snap\.jpg".*nc=00000002/)
    // A server that takes a nonce once: the hop's fresh challenge is answered too.
    assert.equal(once!.status, 'ok', once!.message)
    assert.equal(asked.filter((a) => a.url === '/once.jpg').length, 2)
  } finally {
    await server.close()
  }
})

// as a proxy's: each escape of a URL's user and password is its byte in Basic, as curl
// sends it; a Latin-1 password (%E9) went as the three characters `%E9`, and was refused.
test("a URL's password percent-encoded in Latin-1 goes as its bytes in Basic", async () => {
  const image = makeImage('latin1-basic', 3000)
  const expected = `Basic ${Buffer.from('admin:caf\xe9', 'latin1').toString('base64')}`
  const server = await listenLocal(
    createServer((req, res) => {
      if (req.headers.authorization !== expected)
        return void res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end()
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': image.length }).end(image)
    }),
  )
  try {
    const { results } = await get([`http://admin:caf%E9@127.0.0.1:${server.port}/a.jpg`])
    assert.equal(results[0]!.status, 'ok', results[0]!.message)
  } finally {
    await server.close()
  }
})

// As in Basic: each escape of a URL's password is its byte in Digest's hash too. A Latin-1
// password (%E9) was hashed as the three characters `%E9` (decoded leniently, not as url-credentials
// decodes it for Basic), and the camera refused it.
test("a URL's password percent-encoded in Latin-1 is hashed as its bytes in Digest, as in Basic", async () => {
  const image = makeImage('latin1-digest', 3000)
  const md5 = (...parts: (string | Buffer)[]) =>
    createHash('md5')
      .update(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))))
      .digest('hex')
  const server = await listenLocal(
    createServer((req, res) => {
      const auth = req.headers.authorization ?? ''
      const p = Object.fromEntries(
        [...auth.matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)].map((m) => [m[1], m[2] ?? m[3]]),
      )
      const ha1 = md5('admin:cam:', Buffer.from('caf\xe9', 'latin1'))
      const ha2 = md5(`GET:${p.uri}`)
      if (
        auth.startsWith('Digest ') &&
        p.response === md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:auth:${ha2}`)
      )
        return void res
          .writeHead(200, { 'content-type': 'image/jpeg', 'content-length': image.length })
          .end(image)
      res.writeHead(401, {
        'www-authenticate': 'Digest realm="cam", qop="auth", nonce="n1"',
        'content-length': 0,
      })
      res.end()
    }),
  )
  try {
    const { results } = await get([`http://admin:caf%E9@127.0.0.1:${server.port}/a.jpg`])
    assert.equal(results[0]!.status, 'ok', results[0]!.message)
  } finally {
    await server.close()
  }
})

// A server that calls every answer's nonce stale, each time with a fresh one (a camera whose clock
// is wrong, a proxy that drops the nonce's state): answered once more as RFC 7616 §3.3 asks, then
// the 401 is the answer. Each stale 401 was answered again without end (200 requests to one URL,
// until the server said something else): a request loop (rack/rack#406, the same from the server's side).
test('a server that calls every fresh nonce stale is answered once more, not without end', async () => {
  let requests = 0
  const server = await listenLocal(
    createServer((_req, res) => {
      requests++
      if (requests > 50) return res.writeHead(500, { 'content-length': 0 }).end()
      res.writeHead(401, {
        'www-authenticate': `Digest realm="cam", qop="auth", nonce="n${requests}", stale=true`,
        'content-length': 0,
      })
      res.end()
    }),
  )
  try {
    const { results } = await get([`http://admin:pw@127.0.0.1:${server.port}/a.jpg`])
    assert.equal(results[0]!.error, 'http-401', results[0]!.message)
    assert.match(
      results[0]!.message!,
      /a\.jpg: the server refused the user and password of the URL \(sent by Digest; it called a fresh nonce stale again\)$/,
    )
    // Basic, the Digest answer, the one renewal.
    assert.equal(requests, 3)
  } finally {
    await server.close()
  }
})

// A server whose every nonce goes stale after one use (RFC 7616 §3.3: it may limit a nonce to one
// request), 200 files on it: each is asked once more at most, never without end. curl renews a
// stale nonce once per transfer too. A hop on the same origin (a snapshot CGI sending the client
// on to the image) reuses the nonce, which goes stale there, and is renewed once.
test('200 files on a host whose every nonce goes stale after one use: each costs one request more than the Digest needs, never a loop', async () => {
  const image = makeImage('once-each', 1500)
  const md5 = (s: string) => createHash('md5').update(s).digest('hex')
  const used = new Set<string>()
  let nonce = 0
  const asked: { url: string; scheme?: string }[] = []
  const server = await listenLocal(
    createServer((req, res) => {
      const auth = req.headers.authorization ?? ''
      asked.push({ url: req.url!, scheme: auth.split(' ')[0] || undefined })
      const p = Object.fromEntries(
        [...auth.matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)].map((m) => [m[1], m[2] ?? m[3]]),
      )
      const right =
        auth.startsWith('Digest ') &&
        p.uri === req.url &&
        p.response ===
          md5(`${md5('admin:cam:pw')}:${p.nonce}:${p.nc}:${p.cnonce}:auth:${md5(`GET:${p.uri}`)}`)
      const stale = right && used.has(p.nonce!)
      if (right && !stale) {
        used.add(p.nonce!)
        if (req.url!.endsWith('.cgi'))
          return res.writeHead(302, { location: req.url!.replace('.cgi', '.jpg'), 'content-length': 0 }).end()
        return res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': image.length }).end(image)
      }
      res.writeHead(401, {
        'www-authenticate': `Digest realm="cam", qop="auth", nonce="n${++nonce}"${stale ? ', stale=true' : ''}`,
        'content-length': 0,
      })
      res.end()
    }),
  )
  try {
    const at = `http://admin:pw@127.0.0.1:${server.port}`
    const urls = Array.from({ length: 200 }, (_, i) => `${at}/f${i}.${i % 4 === 0 ? 'cgi' : 'jpg'}`)
    const { results } = await get(urls)
    assert.deepEqual(
      results.filter((r) => r.status !== 'ok').map((r) => r.message),
      [],
    )
    for (let i = 0; i < 200; i++) {
      const mine = asked.filter((a) => a.url === `/f${i}.jpg` || a.url === `/f${i}.cgi`)
      // Basic (sent before any challenge), then Digest; the hop's stale nonce renewed once.
      const expected = i % 4 === 0 ? ['Basic', 'Digest', 'Digest', 'Digest'] : ['Basic', 'Digest']
      assert.deepEqual(
        mine.map((a) => a.scheme),
        expected,
        `f${i}`,
      )
    }
    assert.equal(asked.length, 150 * 2 + 50 * 4)
  } finally {
    await server.close()
  }
})
