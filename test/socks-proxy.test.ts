import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { socksError } from '../src/fetch/classify.js'
import { proxyPlan, shownProxy } from '../src/fetch/proxy.js'
import type { Options } from '../src/options.js'
import { startBlackHole } from './support/black-hole.js'
import { makeCerts, type TestCerts, tlsPair } from './support/certs.js'
import { cleanup, outputFiles, runCli, tempDir } from './support/cli.js'
import { type H2Server, startH2Server } from './support/h2-server.js'
import { makeImage } from './support/images.js'
import { runSorted, withEnv } from './support/proxied.js'
import { startRawServer } from './support/raw-server.js'
import { image, type RouteServer, startRouteServer } from './support/route-server.js'
import { type Socks5Proxy, startSocks5Proxy } from './support/socks5-proxy.js'

// SOCKS5 proxies (ssh -D, Tor, corporate SOCKS gateways): every URL through the proxy, the host
// name resolved by it, TLS inside for https://, RFC 1929 credentials from the URL.

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const body = makeImage('socks', 40_000)

let dir: string
let certs: TestCerts
let plain: RouteServer
let secure: H2Server
let socks: Socks5Proxy
let guarded: Socks5Proxy
let refusing: Socks5Proxy
const env = process.env

before(async () => {
  dir = await tempDir()
  certs = makeCerts(dir)
  plain = await startRouteServer({ '/s.jpg': image(body) })
  secure = await startH2Server(tlsPair(certs.good), (req, res) => {
    const b = makeImage(req.url.slice(1), 30_000)
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': b.length })
    res.end(b)
  })
  socks = await startSocks5Proxy()
  guarded = await startSocks5Proxy({ auth: 'user:p@ss w' })
  refusing = await startSocks5Proxy({ refuse: { 'ruled.example': 2, 'down.example': 5 } })
})

after(async () => {
  process.env = env
  await Promise.all([plain.close(), secure.close(), socks.close(), guarded.close(), refusing.close()])
  await cleanup(dir)
})

const run = (urls: string[], options: Options) => runSorted(urls, { caCert: certs.ca, ...options })
/** `proxy` as `socks5h://`: host names resolved by the proxy (the `.example` hosts only it knows). */
const remote = (proxy: Socks5Proxy) => proxy.url.replace('socks5:', 'socks5h:')

test('proxy URLs: socks5:// and socks5h:// are SOCKS5 proxies; SOCKS4 and a bare socks:// are refused by name', () => {
  assert.equal(proxyPlan('socks5://127.0.0.1:1080', {})?.http?.protocol, 'socks5:')
  assert.equal(proxyPlan('env', { ALL_PROXY: 'socks5h://u:pw@gw:1080' })?.https?.protocol, 'socks5h:')
  for (const value of ['socks4://p:1080', 'socks4a://p:1080', 'socks://p:1080'])
    assert.throws(
      () => proxyPlan(value, {}),
      /`proxy` to be an http:\/\/, https:\/\/, socks5:\/\/ or socks5h:\/\/ proxy, got socks[4a]*:\/\/; SOCKS4 is not supported/,
      value,
    )
  assert.throws(
    () => proxyPlan('env', { all_proxy: 'ftp://p:21' }),
    /`all_proxy` .* got ftp:\/\/ \(unset it, or pass --no-proxy\)/,
    'named as it is spelt: the one to unset',
  )
  assert.throws(() => proxyPlan('env', { HTTPS_PROXY: 'ftp://p:21' }), /`HTTPS_PROXY` /)
})

test('proxy credentials: a bare % is refused before the run, and a password is never shown, even one with / or @', () => {
  for (const value of ['http://user:p@ss:w%rd@127.0.0.1:3128', 'socks5://u:100%@127.0.0.1:1'])
    assert.throws(
      () => proxyPlan(value, {}),
      (e: Error) =>
        /percent-encoded \(write % as %25\)/.test(e.message) &&
        !e.message.includes('w%rd') &&
        !e.message.includes('100%'),
      value,
    )
  // Not a URL at all (a / in the password ends the host): named without its credentials.
  for (const value of ['http://bob:s3cr/et@proxy.corp:3128', 'socks5://bob:s3cr/et@gw:1080'])
    assert.throws(
      () => proxyPlan('env', { HTTPS_PROXY: value }),
      (e: Error) =>
        e.message.includes('proxy.corp:3128') || e.message.includes('gw:1080')
          ? !e.message.includes('s3cr')
          : false,
      value,
    )
  assert.equal(shownProxy('http://bob:p@ss/w@proxy:3128'), 'http://proxy:3128')
  assert.equal(shownProxy('bob:pw@proxy:3128'), 'proxy:3128')
})

test('socksError: credentials, reply codes (RFC 1928 §6), not a SOCKS5 server, timeouts', () => {
  const target = new URL('https://img.example:8443/a.jpg')
  const table: [string, string, RegExp, boolean][] = [
    ['UND_ERR_SOCKS5_AUTH_FAILED', 'Authentication failed', /refused the credentials/, false],
    [
      'UND_ERR_SOCKS5_AUTH_REJECTED',
      'No acceptable authentication method',
      /asks for credentials: give them/,
      false,
    ],
    [
      'UND_ERR_INVALID_ARG',
      'Username and password required for authentication',
      /asks for credentials/,
      false,
    ],
    [
      'UND_ERR_SOCKS5_REPLY_5',
      'SOCKS5 connection failed: Connection refused',
      /could not connect to img\.example:8443 \(SOCKS5 reply 5: Connection refused\)/,
      true,
    ],
    [
      'UND_ERR_SOCKS5_REPLY_4',
      'SOCKS5 connection failed: Host unreachable',
      /reply 4: Host unreachable/,
      true,
    ],
    [
      'UND_ERR_SOCKS5_REPLY_2',
      'SOCKS5 connection failed: Connection not allowed by ruleset',
      /reply 2/,
      false,
    ],
    ['UND_ERR_SOCKS5_REPLY_7', 'SOCKS5 connection failed: Command not supported', /reply 7/, false],
    [
      'UND_ERR_SOCKS5_VERSION',
      'Invalid SOCKS version: 72',
      /does not answer as a SOCKS5 proxy \(Invalid SOCKS version: 72\)/,
      false,
    ],
    ['', 'SOCKS5 connection timeout', /did not answer in time/, true],
  ]
  for (const [code, message, expected, retryable] of table) {
    const got = socksError(code, message, 'proxy socks5://gw:1080', target)
    assert.ok(got, code)
    assert.match(got.message, expected, code)
    assert.equal(got.retryable, retryable, code)
  }
  assert.equal(socksError('ECONNRESET', 'socket hang up', 'proxy socks5://gw:1080', target), undefined)
  assert.match(
    socksError('UND_ERR_SOCKS5_AUTH_METHOD', 'Unsupported authentication method: 1', 'proxy p', target)!
      .message,
    /wants a way to log in imgpull does not speak \(Unsupported authentication method: 1; only none and user\/password are\)/,
  )
  assert.match(
    socksError(
      'UND_ERR_SOCKS5_AUTH_REJECTED',
      'No acceptable authentication method',
      'proxy p',
      target,
      true,
    )!.message,
    /accepts none of the ways to log in imgpull offers/,
  )
})

test('--proxy socks5://: http:// and https:// URLs through the proxy, host names resolved here', async () => {
  socks.log.length = 0
  const byName = plain.url('/s.jpg').replace('127.0.0.1', 'localhost')
  const names = ['t-1', 't-2', 't-3']
  const results = await withEnv({}, () =>
    run([byName, ...names.map((n) => secure.url(`/${n}`))], { out: join(dir, 'socks'), proxy: socks.url }),
  )
  assert.ok(
    results.every((r) => r.status === 'ok'),
    JSON.stringify(results.map((r) => r.message)),
  )
  assert.equal(results.find((r) => r.job.url === byName)?.sha256, sha(body))
  const port = Number(new URL(plain.origin).port)
  assert.ok(
    socks.log.some((l) => l.host === '127.0.0.1' && l.addressType === 'ipv4' && l.port === port),
    `the address goes to the proxy: ${JSON.stringify(socks.log)}`,
  )
  assert.ok(!socks.log.some((l) => l.addressType === 'domain'), JSON.stringify(socks.log))
  assert.ok(
    socks.log.some((l) => l.port === Number(new URL(secure.origin).port)),
    'https:// through the proxy too, TLS inside the tunnel',
  )
})

// socks5:// sent the host name to the proxy, as socks5h:// does, where curl (and requests,
// socks-proxy-agent) resolve it here: a name only this machine knows (/etc/hosts, a VPN's DNS)
// failed through the proxy, and the same ALL_PROXY behaved unlike curl's.
test('socks5:// resolves host names here, socks5h:// leaves them to the proxy, as curl does; ALL_PROXY too', async () => {
  // `img.localhost` only this process resolves (a name under localhost is the loopback here, not
  // to the proxy); `lan.example` only the proxy does (its own network's DNS).
  const proxy = await startSocks5Proxy({ hosts: { 'lan.example': '127.0.0.1' } })
  try {
    const port = Number(new URL(plain.origin).port)
    const here = `http://img.localhost:${port}/s.jpg`
    const there = `http://lan.example:${port}/s.jpg`
    let n = 0
    /** `url` through the proxy as `scheme`, given as --proxy or in the environment `variable`. */
    const through = async (url: string, scheme: string, variable?: string) => {
      proxy.log.length = 0
      const given = proxy.url.replace('socks5:', scheme)
      const [r] = await withEnv(variable ? { [variable]: given } : {}, () =>
        run([url], {
          out: join(dir, `socks-names-${n++}`),
          retries: 0,
          ...(variable ? {} : { proxy: given }),
        }),
      )
      return { r, log: [...proxy.log] }
    }
    for (const env of [undefined, 'ALL_PROXY', 'all_proxy']) {
      const how = env ?? '--proxy'
      const local = await through(here, 'socks5:', env)
      assert.equal(local.r.status, 'ok', `${how}: ${local.r.message}`)
      assert.equal(local.r.sha256, sha(body))
      assert.deepEqual(
        local.log,
        [{ host: '127.0.0.1', port, addressType: 'ipv4' }],
        `${how}: the address, looked up here`,
      )
      const unknown = await through(there, 'socks5:', env)
      assert.match(unknown.r.message!, /^host not found for http:\/\/lan\.example:\d+\/s\.jpg/, how)
      assert.notEqual(unknown.r.error, 'proxy', `${how}: the host's failure, not the proxy's`)
      assert.deepEqual(unknown.log, [], `${how}: the proxy is not asked`)

      const byProxy = await through(there, 'socks5h:', env)
      assert.equal(byProxy.r.status, 'ok', `${how}: ${byProxy.r.message}`)
      assert.deepEqual(
        byProxy.log,
        [{ host: 'lan.example', port, addressType: 'domain' }],
        `${how}: the name`,
      )
      const unresolved = await through(here, 'socks5h:', env)
      assert.equal(unresolved.r.error, 'proxy', how)
      assert.match(unresolved.r.message!, /could not connect to img\.localhost:\d+ \(SOCKS5 reply 4/, how)
      assert.deepEqual(unresolved.log, [{ host: 'img.localhost', port, addressType: 'domain' }], how)
    }
  } finally {
    await proxy.close()
  }
})

test('ALL_PROXY=socks5h:// from the environment; NO_PROXY goes direct', async () => {
  socks.log.length = 0
  const urls = [plain.url('/s.jpg'), secure.url('/e-1')]
  const viaEnv = await withEnv({ ALL_PROXY: socks.url.replace('socks5:', 'socks5h:') }, () =>
    run(urls, { out: join(dir, 'socks-env') }),
  )
  assert.ok(
    viaEnv.every((r) => r.status === 'ok'),
    JSON.stringify(viaEnv.map((r) => r.message)),
  )
  assert.equal(socks.log.length, 2, JSON.stringify(socks.log))
  socks.log.length = 0
  const bypass = await withEnv({ all_proxy: socks.url, no_proxy: '127.0.0.1' }, () =>
    run(urls, { out: join(dir, 'socks-bypass') }),
  )
  assert.ok(bypass.every((r) => r.status === 'ok'))
  assert.deepEqual(socks.log, [], 'NO_PROXY: nothing through the proxy')
})

test('SOCKS5 credentials (RFC 1929) from the URL; wrong or missing ones fail as proxy, once, never shown', async () => {
  guarded.log.length = 0
  const urls = [plain.url('/s.jpg')]
  const ok = await withEnv({}, () =>
    run(urls, { out: join(dir, 'socks-auth'), proxy: guarded.url.replace('//', '//user:p%40ss%20w@') }),
  )
  assert.equal(ok[0].status, 'ok', ok[0].message)
  assert.equal(guarded.log[0]?.user, 'user')
  const wrong = await withEnv({}, () =>
    run(urls, { out: join(dir, 'socks-wrong'), proxy: guarded.url.replace('//', '//user:secret-wrong@') }),
  )
  assert.equal(wrong[0].error, 'proxy', wrong[0].message)
  assert.equal(wrong[0].attempts, 1, 'credentials refused are not retried')
  assert.match(wrong[0].message!, /^proxy socks5:\/\/127\.0\.0\.1:\d+ refused the credentials/)
  assert.ok(!wrong[0].message!.includes('secret-wrong'), wrong[0].message)
  const none = await withEnv({}, () => run(urls, { out: join(dir, 'socks-none'), proxy: guarded.url }))
  assert.equal(none[0].error, 'proxy', none[0].message)
  assert.match(none[0].message!, /asks for credentials/)
})

// the SOCKS5 login decoded its credentials apart from the HTTP proxy's: an empty
// password (an API key as the user) sent no login at all, and a password percent-encoded in
// Latin-1 (%E9) stopped the run, told to write % as %25.
test('SOCKS5 credentials: an empty password and non-UTF-8 escapes are sent as their bytes', async () => {
  const cases: [string, string | Buffer][] = [
    ['APIKEY:', 'APIKEY:'],
    ['user:caf%E9', Buffer.from('user:caf\xe9', 'latin1')],
    ['us%40er:a:b%3Ac', 'us@er:a:b:c'],
  ]
  for (const [written, auth] of cases) {
    const proxy = await startSocks5Proxy({ auth })
    try {
      const [r] = await withEnv({}, () =>
        run([plain.url('/s.jpg')], {
          out: join(dir, `socks-login-${cases.findIndex(([w]) => w === written)}`),
          proxy: proxy.url.replace('//', `//${written}@`),
          retries: 0,
        }),
      )
      assert.equal(r.status, 'ok', `${written}: ${r.message}`)
    } finally {
      await proxy.close()
    }
  }
  // More than RFC 1929's 255 bytes: a usage error before the run, not a failure in every request.
  assert.throws(
    () => proxyPlan(`socks5://${'u'.repeat(256)}:pw@127.0.0.1:1080`, {}),
    (e: Error) => /at most 255 bytes each/.test(e.message) && !e.message.includes('uuuu'),
  )
})

test('a SOCKS5 proxy refusing the credentials is given up for the run: its other files are not sent to it', async () => {
  guarded.log.length = 0
  const urls = Array.from({ length: 20 }, (_, i) => `http://h${i}.example.org/a.jpg`)
  const results = await withEnv({}, () =>
    run(urls, {
      out: join(dir, 'socks-wrong-many'),
      proxy: guarded.url.replace('socks5://', 'socks5h://user:secret-wrong@'),
      concurrency: 2,
    }),
  )
  assert.ok(results.every((r) => r.error === 'proxy' && r.message!.includes('refused the credentials')))
  assert.ok(guarded.log.length <= 2, `${guarded.log.length} logins tried`)
  assert.ok(results.filter((r) => r.message!.startsWith('not tried:')).length >= 18)
  assert.ok(results.every((r) => !r.message!.includes('secret-wrong')))
})

test('the proxy cannot reach the host: its reply code decides a retry; a proxy down or not SOCKS5 is named', async () => {
  const [down, ruled] = await withEnv({}, () =>
    run(['http://ruled.example/a.jpg', 'http://down.example/b.jpg'], {
      out: join(dir, 'socks-refused'),
      proxy: remote(refusing),
      retries: 1,
    }),
  )
  assert.equal(ruled.error, 'proxy')
  assert.match(
    ruled.message!,
    /could not connect to ruled\.example \(SOCKS5 reply 2: Connection not allowed by ruleset\)/,
  )
  assert.equal(ruled.attempts, 1, 'a ruleset refusal is not retried')
  assert.equal(down.error, 'proxy')
  assert.equal(down.attempts, 2, 'a refused connection is retried')

  const [gone] = await withEnv({}, () =>
    run([plain.url('/s.jpg')], { out: join(dir, 'socks-gone'), proxy: 'socks5://127.0.0.1:9' }),
  )
  assert.equal(gone.error, 'proxy')
  assert.match(gone.message!, /cannot reach proxy socks5:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/)

  // An HTTP server given as a SOCKS5 proxy answers the greeting with "HTTP/1.1 400 ...".
  const [http] = await withEnv({}, () =>
    run([plain.url('/s.jpg')], {
      out: join(dir, 'socks-http'),
      proxy: plain.origin.replace('http:', 'socks5:'),
    }),
  )
  assert.equal(http.error, 'proxy')
  assert.match(http.message!, /does not answer as a SOCKS5 proxy/)
})

// a dead host behind a proxy was never given up: each file spent all its attempts, where
// direct the run gives the host up once a file has spent its retries on definite refusals. A
// SOCKS5 proxy's reply 5 (connection refused) is as definite as ECONNREFUSED.
test('a host the SOCKS5 proxy finds refusing (reply 5) is given up once a file has spent its retries, its other files not tried, named', async () => {
  const urls = Array.from({ length: 30 }, (_, i) => `http://down.example/f${i}.jpg`)
  const results = await withEnv({}, () =>
    run(urls, { out: join(dir, 'socks-dead-host'), proxy: remote(refusing), retries: 1, concurrency: 4 }),
  )
  assert.ok(results.every((r) => r.status === 'failed' && r.error === 'proxy'))
  const giving = results.filter((r) => r.message!.endsWith('its other files are not tried in this run'))
  assert.ok(giving.length >= 1, 'a file gives the host up')
  assert.match(
    giving[0].message!,
    /could not connect to down\.example \(SOCKS5 reply 5: .*\): the proxy found nothing listening on its port \(SOCKS5 reply 5\), no request this run reached it/,
  )
  // The files whose retries were sleeping wake to fail at once: spent attempts only within the
  // first round (4 at once), where each file spent all of its own before.
  assert.ok(results.filter((r) => r.attempts > 1).length <= 4, 'retries spent by the first round only')
  for (const r of results)
    assert.match(
      r.message!,
      /no request this run reached (it|http:\/\/down\.example \(the proxy found nothing listening on its port \(SOCKS5 reply 5\)\); a rerun tries it again$)/,
    )
  // One refusal is no verdict: the proxy's other hosts go on (ruled.example's reply 2 is its own).
  const [ok] = await withEnv({}, () =>
    run([plain.url('/s.jpg')], { out: join(dir, 'socks-dead-host-ok'), proxy: refusing.url }),
  )
  assert.equal(ok.status, 'ok', ok.message)
})

// undici's SOCKS5 client heard a close in the middle of the handshake as nothing: the
// request waited for its 5 s timer or the headers timeout, then 'headers timeout', every attempt.
test('a SOCKS5 proxy that closes the connection during its handshake fails at once, named, retried', async () => {
  const stages = { greeting: 0, request: 0 }
  // Closes after the greeting ("greeting.example") or after the CONNECT request, as some proxies do
  // when it cannot reach the host.
  const closing = await startRawServer((socket) => {
    socket.once('data', () => {
      socket.write(Buffer.from([5, 0]))
      socket.once('data', (request) => {
        const host = request.subarray(5, 5 + request[4]).toString()
        if (host === 'greeting.example') {
          stages.greeting++
          socket.destroy()
          return
        }
        stages.request++
        socket.end()
      })
    })
  })
  try {
    const proxy = `socks5h://127.0.0.1:${closing.port}`
    // A close taken for silence would wait for the connect timeout, and fail as it (not as the close).
    const results = await withEnv({}, () =>
      run(['http://greeting.example/a.jpg', 'https://request.example/b.jpg'], {
        out: join(dir, 'socks-closing'),
        proxy,
        retries: 1,
        connectTimeout: 60_000,
      }),
    )
    for (const r of results) {
      assert.equal(r.error, 'proxy', r.message)
      assert.match(
        r.message!,
        /^proxy socks5h:\/\/127\.0\.0\.1:\d+ closed the connection before the SOCKS5 tunnel to (greeting|request)\.example was open$/,
      )
      assert.equal(r.attempts, 2, 'retried: the proxy may reach the host the next time')
    }
    assert.deepEqual(stages, { greeting: 2, request: 2 })
  } finally {
    await closing.close()
  }
})

// undici gave a SOCKS5 proxy's CONNECT 5 s, whatever --connect-timeout said: Tor, whose
// circuits often take longer, failed every file (as OpenVPN's fixed 5 s did, OpenVPN/openvpn#267).
test('a SOCKS5 proxy slower than 5 s to open its tunnel is waited for up to the connect timeout', async () => {
  const slow = await startSocks5Proxy({ connectDelay: 5_500 })
  try {
    const [r] = await withEnv({}, () =>
      run([plain.url('/s.jpg')], {
        out: join(dir, 'socks-slow'),
        proxy: slow.url.replace('socks5:', 'socks5h:'),
        retries: 0,
        connectTimeout: 8_000,
      }),
    )
    assert.equal(r.status, 'ok', r.message)
    assert.equal(r.sha256, sha(body))
  } finally {
    await slow.close()
  }
})

// a SOCKS5 proxy silent at its handshake failed each request as 'proxy … did not answer
// in time' (undici's 5 s timer), a refusal in words: never taken for the black hole it is.
test('a SOCKS5 proxy that never answers its handshake is a connect timeout, and given up for the run', async () => {
  // Connections it takes and never answers, dropped at its close.
  const silent = await startRawServer(() => {})
  try {
    const proxy = `socks5h://127.0.0.1:${silent.port}`
    const urls = Array.from({ length: 40 }, (_, i) => `http://h${i}.example.org/a.jpg`)
    // the connect timeout, not undici's fixed 5 s (which ran whatever it was).
    const results = await withEnv({}, () =>
      run(urls, { out: join(dir, 'socks-silent'), proxy, retries: 2, concurrency: 8, connectTimeout: 1000 }),
    )
    const cut = results.filter((r) => !r.message?.startsWith('not tried:'))
    for (const r of cut)
      assert.match(
        r.message!,
        /^connect timeout after 1 s on http:\/\/h\d+\.example\.org\/a\.jpg \(through the proxy socks5h:\S+\): the proxy accepted the connection and did not answer its SOCKS5 handshake or its CONNECT to h\d+\.example\.org(: |$)/,
      )
    assert.ok(results.length - cut.length >= 10, `${results.length - cut.length} not tried`)
    assert.ok(silent.connections() < 40, `${silent.connections()} connections to the proxy`)
  } finally {
    await silent.close()
  }
})

// the TLS handshake inside a SOCKS5 tunnel had no timer of its own (undici's SOCKS5
// agent waits for it without one): a server that took the tunnel and never answered TLS held the
// file to the headers timeout, told as the connection still opening, and its socket stayed open.
test('the TLS handshake inside a SOCKS5 tunnel ends at the connect timeout, naming the origin', async () => {
  const hole = await startBlackHole()
  try {
    const url = `https://localhost:${new URL(hole.origin).port}/a.jpg`
    const [r] = await withEnv({}, () =>
      run([url], {
        out: join(dir, 'socks-silent-tls'),
        proxy: socks.url,
        retries: 0,
        connectTimeout: 300,
        headersTimeout: 5000,
      }),
    )
    assert.equal(
      r.message,
      `connect timeout after 300 ms on ${url} (through the proxy ${socks.url}): the TLS handshake with localhost:${new URL(hole.origin).port} got no answer (the proxy opened the tunnel to it)`,
    )
  } finally {
    await hole.close()
  }
})

// undici's SOCKS5 pools read headers up to Node's 16 KB, where every other path reads
// 256 KB (a long Content-Security-Policy, many cookies): imgpull's own pools now read as many.
test('through a SOCKS5 proxy, headers over 16 KB are read as on every other path', async () => {
  const big = await startRouteServer({
    '/big-head.jpg': (_req, res) => {
      res.writeHead(200, {
        'content-type': 'image/jpeg',
        'content-length': body.length,
        'content-security-policy': `default-src 'self' ${'https://cdn.example.org/ '.repeat(1600)}`,
      })
      res.end(body)
    },
  })
  try {
    const [r] = await withEnv({}, () =>
      run([big.url('/big-head.jpg')], { out: join(dir, 'socks-big-head'), proxy: socks.url, retries: 0 }),
    )
    assert.equal(r.status, 'ok', r.message)
    assert.equal(r.sha256, sha(body))
  } finally {
    await big.close()
  }
})

// undici's defaults were the SOCKS5 pools' (a 2 s margin off the server's Keep-Alive hint), not the
// settings every other pool has (500 ms): a server that says `Keep-Alive: timeout=2` had a new
// connection (and tunnel) per file through the proxy, one in all going direct.
test('through a SOCKS5 proxy, connections are kept alive as direct ones are', async () => {
  const answer = image(body, { 'keep-alive': 'timeout=2' })
  const paths = ['/k1.jpg', '/k2.jpg', '/k3.jpg']
  for (const proxy of [undefined, socks.url]) {
    const server = await startRouteServer(Object.fromEntries(paths.map((p) => [p, answer])))
    try {
      const results = await withEnv({}, () =>
        run(
          paths.map((p) => server.url(p)),
          {
            out: join(dir, `keep-alive-${proxy ? 'socks' : 'direct'}`),
            concurrency: 1,
            ...(proxy ? { proxy } : {}),
          },
        ),
      )
      assert.ok(
        results.every((r) => r.status === 'ok'),
        JSON.stringify(results.map((r) => r.message)),
      )
      assert.equal(server.connections(), 1, proxy ? 'through the proxy' : 'direct')
    } finally {
      await server.close()
    }
  }
})

test('the CLI through ALL_PROXY=socks5://: no warning on stderr; SOCKS4 is a usage error naming the variable', async () => {
  const out = join(dir, 'socks-cli')
  // An https:// URL by IP address too: undici names the IP as TLS server name (Node's DEP0123).
  // On a transfer thread too, where the command's own filter of warnings did not reach (
  // `(node:PID) [DEP0123] DeprecationWarning: Setting the TLS ServerName to an IP address ...`).
  for (const threads of ['0', '1']) {
    const r = await runCli(
      [
        plain.url('/s.jpg'),
        secure.url('/cli-tls'),
        '-o',
        `${out}-${threads}`,
        '--ca-cert',
        certs.ca,
        '--threads',
        threads,
      ],
      { env: { ALL_PROXY: socks.url } },
    )
    assert.equal(r.code, 0, r.stderr)
    assert.ok(!/warning/i.test(r.stderr), `--threads ${threads}: ${r.stderr}`)
    assert.equal((await outputFiles(`${out}-${threads}`)).length, 2)
  }
  const four = await runCli([plain.url('/s.jpg'), '-o', join(dir, 'socks4')], {
    env: { ALL_PROXY: 'socks4://127.0.0.1:1080' },
  })
  assert.equal(four.code, 2)
  assert.match(
    four.stderr,
    /^imgpull: Expected `ALL_PROXY` to be an http:\/\/, https:\/\/, socks5:\/\/ or socks5h:\/\/ proxy, got socks4:\/\/; SOCKS4 is not supported, SOCKS5 is \(unset it, or pass --no-proxy\)/,
  )
})
