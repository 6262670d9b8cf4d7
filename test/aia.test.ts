import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer } from 'node:https'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { issuerStep } from '../src/fetch/aia.js'
import { pull } from '../src/index.js'
import type { Options } from '../src/options.js'
import type { Result } from '../src/types.js'
import { aiaCert, makeCerts, selfSigned, type TestCerts, tlsPair } from './support/certs.js'
import { cleanup, tempDir } from './support/cli.js'
import { startForwardProxy } from './support/forward-proxy.js'
import { makeImage } from './support/images.js'
import { withEnv } from './support/proxied.js'
import { type LocalServer, listenLocal } from './support/raw-server.js'
import { startSocks5Proxy } from './support/socks5-proxy.js'

// A server that leaves out its intermediate certificates (SSL Labs' "chain incomplete"; curl#2793):
// what it points to is fetched from each certificate's Authority Information Access, as browsers
// do, through the proxy an image would go through, a few levels deep, and taken only checked.

let dir: string
let certs: TestCerts
const servers: LocalServer[] = []
const body = makeImage('aia', 5_000)
/** The CA's server: what each path answers, and the paths asked for. */
const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>()
const asked: string[] = []
let pki: LocalServer

before(async () => {
  dir = await tempDir()
  certs = makeCerts(dir)
  // The issuing CA in DER, as AIA URLs serve it.
  execFileSync('openssl', [
    'x509',
    '-in',
    certs.intermediate,
    '-outform',
    'DER',
    '-out',
    join(dir, 'int.der'),
  ])
  pki = await listenLocal(
    createHttpServer((req, res) => {
      asked.push(req.url!)
      const route = routes.get(req.url!)
      if (route) route(req, res)
      else res.writeHead(404).end('not found')
    }),
  )
  servers.push(pki)
})

after(async () => {
  for (const s of servers) await s.close()
  await cleanup(dir)
})

/** `path` on the CA's server answers the bytes of `file`. */
const serve = (path: string, file: string, type = 'application/pkix-cert') =>
  routes.set(path, (_req, res) => res.writeHead(200, { 'content-type': type }).end(readFileSync(file)))

/** An https:// server on 127.0.0.1 that sends `leaf` alone (its issuers left out), serving an image. */
async function origin(leaf: { cert: string; key: string }): Promise<string> {
  const server = createServer(tlsPair(leaf), (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length }).end(body)
  })
  const local = await listenLocal(server, 'https')
  servers.push(local)
  return `https://127.0.0.1:${local.port}`
}

async function fetchOne(url: string, options: Options = {}): Promise<Result> {
  const results: Result[] = []
  for await (const r of pull([`${url}/x.jpg`], {
    out: join(dir, 'out'),
    journal: false,
    caCert: certs.ca,
    proxy: false,
    ...options,
  }))
    results.push(r)
  return results[0]
}

/** Paths asked of the CA's server during `fn`. */
async function askedDuring(fn: () => Promise<void>): Promise<string[]> {
  const from = asked.length
  await fn()
  return asked.slice(from)
}

test('issuerStep: the CA that issued a certificate, trusted or not, else why none is', () => {
  const leaf = new X509Certificate(readFileSync(join(dir, 'via-int.pem')))
  const int = new X509Certificate(readFileSync(certs.intermediate))
  const root = new X509Certificate(readFileSync(certs.ca))
  selfSigned(dir, 'step-look-alike', '/CN=imgpull test issuing CA', [
    '-addext',
    'basicConstraints=critical,CA:TRUE',
  ])
  const lookAlike = new X509Certificate(readFileSync(join(dir, 'step-look-alike.pem')))
  const day = 86_400_000
  const cases: [string, X509Certificate[], X509Certificate[], number, string][] = [
    ['its issuer, its root trusted', [int], [root], Date.now(), 'trusted'],
    ['its issuer after a look-alike', [lookAlike, int], [root], Date.now(), 'trusted'],
    ['its issuer, its root not trusted', [int], [], Date.now(), 'untrusted'],
    ['the same name, another key', [lookAlike], [root], Date.now(), 'none of what it served issued "leaf"'],
    ['the root itself (it issued the issuer, not the leaf)', [root], [root], Date.now(), 'none of'],
    ['out of its dates', [int], [root], Date.now() + 10 * day, 'is out of its dates'],
  ]
  for (const [name, candidates, anchors, now, expected] of cases) {
    const step = issuerStep(leaf, candidates, anchors, now)
    const got = 'issuer' in step ? (step.trusted ? 'trusted' : 'untrusted') : step.why
    assert.ok(got.includes(expected), `${name}: ${got}`)
  }
})

test('a leaf sent alone through a proxy: its issuer fetched through the same proxy (plain, CONNECT, SOCKS5, with credentials; NO_PROXY heeded)', async () => {
  const leaf = aiaCert(dir, 'proxied-leaf', '/CN=leaf', { issuer: 'int', url: pki.url('/proxied/int.der') })
  serve('/proxied/int.der', join(dir, 'int.der'))
  const url = await origin(leaf)
  const auth = `Basic ${Buffer.from('u:p').toString('base64')}`
  const http = await startForwardProxy({ auth })
  const socks = await startSocks5Proxy()
  try {
    const withCredentials = http.url.replace('http://', 'http://u:p@')
    for (const proxy of [withCredentials, socks.url]) {
      const seen = await askedDuring(async () => {
        const r = await fetchOne(url, { proxy })
        assert.equal(r.status, 'ok', `${proxy}: ${r.message}`)
      })
      assert.deepEqual(seen, ['/proxied/int.der'], proxy)
    }
    // The plain http:// AIA URL went to the proxy in absolute form, with its credentials.
    assert.ok(
      http.log.some(
        (l) => l.method === 'GET' && l.target === pki.url('/proxied/int.der') && l.authorization === auth,
      ),
      JSON.stringify(http.log),
    )
    assert.ok(socks.log.some((l) => l.port === pki.port))
    // NO_PROXY naming the CA's host: fetched direct, the image through the proxy.
    const before = http.log.length
    await withEnv({ NO_PROXY: `127.0.0.1:${pki.port}` }, async () => {
      const r = await fetchOne(url, { proxy: withCredentials })
      assert.equal(r.status, 'ok', r.message)
    })
    const after = http.log.slice(before)
    assert.ok(
      after.some((l) => l.method === 'CONNECT'),
      JSON.stringify(after),
    )
    assert.ok(!after.some((l) => l.method === 'GET'), JSON.stringify(after))
  } finally {
    await http.close()
    await socks.close()
  }
})

// An https:// proxy whose own certificate is sent alone (a company proxy set up without its
// intermediate: curl fails it too, curl#2793): its issuer was fetched through the proxy itself,
// which met the same certificate, and every https:// file failed `tls`, "fetched, not taken: ...:
// the request failed (UNABLE_TO_GET_ISSUER_CERT_LOCALLY)"; an http:// file's fetched none. It is
// fetched direct, and the files go through the proxy.
test('an https:// proxy that leaves out its own intermediate: its issuer fetched direct, not through itself; files through it kept', async () => {
  const leaf = aiaCert(dir, 'proxy-leaf', '/CN=proxy', { issuer: 'int', url: pki.url('/proxy/int.der') })
  serve('/proxy/int.der', join(dir, 'int.der'))
  const proxy = await startForwardProxy({ tls: tlsPair(leaf) })
  const image = await origin(certs.good)
  const plain = await listenLocal(
    createHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'image/jpeg' }).end(body)),
  )
  try {
    for (const url of [image, plain.origin]) {
      const seen = await askedDuring(async () => {
        const r = await fetchOne(url, { proxy: proxy.url.replace('127.0.0.1', 'localhost') })
        assert.equal(r.status, 'ok', `${url}: ${r.message}`)
      })
      assert.deepEqual(seen, ['/proxy/int.der'], url)
    }
    assert.ok(!proxy.log.some((l) => l.target.includes('/proxy/int.der')), JSON.stringify(proxy.log))
    assert.deepEqual(
      proxy.log.map((l) => l.method),
      ['CONNECT', 'GET'],
    )
  } finally {
    await Promise.all([proxy.close(), plain.close()])
  }
})

test('an https:// AIA URL through a proxy: fetched in a CONNECT tunnel', async () => {
  const secure = createServer(tlsPair(certs.good), (_req, res) =>
    res.writeHead(200).end(readFileSync(join(dir, 'int.der'))),
  )
  const pkis = await listenLocal(secure, 'https')
  servers.push(pkis)
  const leaf = aiaCert(dir, 'tls-aia-leaf', '/CN=leaf', {
    issuer: 'int',
    url: `https://127.0.0.1:${pkis.port}/int.der`,
  })
  const url = await origin(leaf)
  const http = await startForwardProxy()
  try {
    const r = await fetchOne(url, { proxy: http.url })
    assert.equal(r.status, 'ok', r.message)
    assert.deepEqual(
      http.log.map((l) => `${l.method} ${l.target}`).filter((l) => l.includes(String(pkis.port))),
      [`CONNECT 127.0.0.1:${pkis.port}`],
    )
  } finally {
    await http.close()
  }
})

/**
 * leaf -> I2 -> I1 -> `i1Issuer` (the test root), each AIA naming where the next is (`urls`: I2's,
 * I1's; I1's own names I2's, followed only when I1 is not trusted: a loop).
 */
function twoLevels(name: string, urls: [string, string], i1Issuer = 'ca') {
  const i1 = aiaCert(dir, `${name}-i1`, `/CN=${name} I1`, { issuer: i1Issuer, url: urls[0], ca: true })
  const i2 = aiaCert(dir, `${name}-i2`, `/CN=${name} I2`, { issuer: `${name}-i1`, url: urls[1], ca: true })
  const leaf = aiaCert(dir, `${name}-leaf`, '/CN=leaf', { issuer: `${name}-i2`, url: urls[0] })
  return { i1, i2, leaf }
}

test('a chain missing two intermediates: each fetched from the AIA of the one below, checked, the file kept; in one PKCS #7 bundle, one fetch', async () => {
  // leaf's AIA -> /two/i2.der, I2's AIA -> /two/i1.der.
  const leafUrl = pki.url('/two/i2.der')
  const { i1, i2, leaf } = twoLevels('two', [leafUrl, pki.url('/two/i1.der')])
  serve('/two/i2.der', i2.der)
  serve('/two/i1.der', i1.der)
  const url = await origin(leaf)
  const seen = await askedDuring(async () => {
    const r = await fetchOne(url)
    assert.equal(r.status, 'ok', r.message)
  })
  assert.deepEqual(seen, ['/two/i2.der', '/two/i1.der'])
  // The same two served as one .p7c (DER PKCS #7), and as PEM PKCS #7: one fetch each.
  for (const form of ['DER', 'PEM']) {
    const p7c = join(dir, `two.${form}.p7c`)
    execFileSync('openssl', [
      'crl2pkcs7',
      '-nocrl',
      '-certfile',
      i2.cert,
      '-certfile',
      i1.cert,
      '-outform',
      form,
      '-out',
      p7c,
    ])
    serve('/two/i2.der', p7c, 'application/pkcs7-mime')
    const seenP7 = await askedDuring(async () => {
      const r = await fetchOne(url)
      assert.equal(r.status, 'ok', `${form}: ${r.message}`)
    })
    assert.deepEqual(seenP7, ['/two/i2.der'], form)
  }
})

test('an AIA URL that redirects to another host is followed; HTML, a hang, a loop, a redirect loop, a look-alike, 4 levels: tls at once, one line naming the URL and why', async () => {
  const int = join(dir, 'int.der')
  // 301 to another host (localhost, not 127.0.0.1).
  routes.set('/moved.der', (_req, res) =>
    res.writeHead(301, { location: `http://localhost:${pki.port}/moved/int.der` }).end(),
  )
  serve('/moved/int.der', int)
  const moved = await origin(
    aiaCert(dir, 'moved-leaf', '/CN=leaf', { issuer: 'int', url: pki.url('/moved.der') }),
  )
  const r = await fetchOne(moved)
  assert.equal(r.status, 'ok', r.message)

  // A captive portal's login page where the certificate was.
  routes.set('/portal.der', (_req, res) =>
    res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Log in to the Wi-Fi</body></html>'),
  )
  // An answer that never comes: bounded by the connect timeout.
  routes.set('/hang.der', () => {})
  // What the leaf points to is a CA of the same name with another key.
  selfSigned(dir, 'aia-look-alike', '/CN=imgpull test issuing CA', [
    '-addext',
    'basicConstraints=critical,CA:TRUE',
  ])
  serve('/look-alike.pem', join(dir, 'aia-look-alike.pem'))
  // I2 -> I1 -> I2...: I1 is issued by a root not trusted here, and names I2's URL as its issuer's.
  selfSigned(dir, 'loop-root', '/CN=loop root', [
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  ])
  const loop = twoLevels('loop', [pki.url('/loop/i2.der'), pki.url('/loop/i1.der')], 'loop-root')
  serve('/loop/i2.der', loop.i2.der)
  serve('/loop/i1.der', loop.i1.der)
  // A redirect to itself, forever.
  routes.set('/round.der', (_req, res) => res.writeHead(302, { location: '/round.der' }).end())
  // Four levels left out: leaf -> I4 -> I3 -> I2 -> I1 -> root; three are fetched, no more.
  let below = 'ca'
  for (const level of [1, 2, 3, 4]) {
    const made = aiaCert(dir, `deep-i${level}`, `/CN=deep I${level}`, {
      issuer: below,
      url: pki.url(`/deep/i${level - 1}.der`),
      ca: true,
    })
    serve(`/deep/i${level}.der`, made.der)
    below = `deep-i${level}`
  }
  const deep = aiaCert(dir, 'deep-leaf', '/CN=leaf', { issuer: 'deep-i4', url: pki.url('/deep/i4.der') })
  const cases: [string, { cert: string; key: string }, string][] = [
    [
      'redirect loop',
      aiaCert(dir, 'round-leaf', '/CN=leaf', { issuer: 'int', url: pki.url('/round.der') }),
      `${pki.url('/round.der')}: it redirected more than 3 times`,
    ],
    [
      'four levels',
      deep,
      '"deep I2", fetched, is issued by no CA trusted here, and more than 3 levels are not fetched',
    ],
    [
      'portal',
      aiaCert(dir, 'portal-leaf', '/CN=leaf', { issuer: 'int', url: pki.url('/portal.der') }),
      `${pki.url('/portal.der')} served no certificate (text/html`,
    ],
    [
      'hang',
      aiaCert(dir, 'hang-leaf', '/CN=leaf', { issuer: 'int', url: pki.url('/hang.der') }),
      `${pki.url('/hang.der')}: no answer within 1 s (--connect-timeout)`,
    ],
    [
      'look-alike',
      aiaCert(dir, 'alike-leaf', '/CN=leaf', { issuer: 'int', url: pki.url('/look-alike.pem') }),
      `${pki.url('/look-alike.pem')}: none of what it served issued "leaf"`,
    ],
    ['loop', loop.leaf, `${pki.url('/loop/i2.der')} was asked for again, a loop`],
    [
      'not found',
      aiaCert(dir, 'gone-leaf', '/CN=leaf', { issuer: 'int', url: pki.url('/gone.der') }),
      `${pki.url('/gone.der')}: HTTP 404`,
    ],
  ]
  for (const [name, leaf, why] of cases) {
    const url = await origin(leaf)
    // A fetch that hangs is cut by this bound, far past any timer here, and fails as aborted.
    const r = await fetchOne(url, { connectTimeout: 1000, signal: AbortSignal.timeout(60_000) })
    assert.equal(r.error, 'tls', `${name}: ${r.message}`)
    assert.equal(r.attempts, 1, name)
    assert.ok(r.message!.includes(`cannot verify ${new URL(url).host}`), `${name}: ${r.message}`)
    assert.ok(r.message!.includes(`(fetched, not taken: ${why}`), `${name}: ${r.message}`)
    assert.ok(!r.message!.includes('\n'), name)
  }
})
