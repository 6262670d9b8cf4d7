import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { createServer } from 'node:https'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { rootCertificates } from 'node:tls'
import { extraCas } from '../src/fetch/trust.js'
import { pull } from '../src/index.js'
import { aiaLeaf, makeCerts, type TestCerts, tlsPair } from './support/certs.js'
import { cleanup, inPool, runCli, tempDir } from './support/cli.js'
import { type ForwardProxy, startForwardProxy } from './support/forward-proxy.js'
import { makeImage } from './support/images.js'
import { image, type Route, type RouteServer, startRouteServer } from './support/route-server.js'

// The network options as a user types them: the built CLI, its flags, its messages and exit codes.
let dir: string
let certs: TestCerts
let web: RouteServer
let tls: RouteServer
let selfSigned: RouteServer
let proxy: ForwardProxy
const body = makeImage('cli-net', 20_000)
/** No proxy variables from the machine running the tests. */
const noProxyEnv = {
  HTTP_PROXY: '',
  HTTPS_PROXY: '',
  http_proxy: '',
  https_proxy: '',
  ALL_PROXY: '',
  all_proxy: '',
}

before(async () => {
  dir = await tempDir()
  certs = makeCerts(dir)
  const routes = {
    '/a.jpg': image(body),
    '/noai.jpg': image(body, { 'x-robots-tag': 'imgpull: noai' }),
    '/session.jpg': image(body),
  }
  web = await startRouteServer(routes)
  tls = await startRouteServer(routes, { server: createServer(tlsPair(certs.good)), https: true })
  selfSigned = await startRouteServer(routes, {
    server: createServer(tlsPair(certs.selfSigned)),
    https: true,
  })
  proxy = await startForwardProxy({ auth: `Basic ${Buffer.from('me:s3cret').toString('base64')}` })
})

after(async () => {
  await Promise.all([web.close(), tls.close(), selfSigned.close(), proxy.close()])
  await cleanup(dir)
})

test('--help lists the network options', async () => {
  const help = await runCli(['--help'])
  for (const flag of [
    '--ca-cert <file>',
    '--insecure',
    '--proxy <url>',
    '--no-proxy',
    '--cookies <file>',
    '--ignore-robots-tag',
  ]) {
    assert.ok(help.stdout.includes(flag), flag)
  }
})

test('a private CA: refused in one line saying how to trust it; --ca-cert trusts it; --insecure warns once', async () => {
  const refused = await runCli([tls.url('/a.jpg'), '-o', join(dir, 'ca-no')], { env: noProxyEnv })
  assert.equal(refused.code, 1)
  assert.match(
    refused.stderr,
    /failed tls: TLS: cannot verify 127\.0\.0\.1:\d+: its certificate .* --ca-cert ca\.pem or set NODE_EXTRA_CA_CERTS=ca\.pem; --insecure/,
  )
  assert.match(refused.stderr, /1 failed/)

  const trusted = await runCli([tls.url('/a.jpg'), '-o', join(dir, 'ca-yes'), '--ca-cert', certs.ca], {
    env: noProxyEnv,
  })
  assert.equal(trusted.code, 0, trusted.stderr)

  const insecure = await runCli(
    [selfSigned.url('/a.jpg'), selfSigned.url('/session.jpg'), '-o', join(dir, 'insecure'), '--insecure'],
    { env: noProxyEnv },
  )
  assert.equal(insecure.code, 0, insecure.stderr)
  assert.equal(
    insecure.stderr.match(/TLS certificate checks are off \(--insecure\)/g)?.length,
    1,
    insecure.stderr,
  )
  // Said as the command's other warnings are: one line, not Node's "(node:PID) [CODE] Warning:"
  // and a second line on --trace-warnings.
  assert.match(insecure.stderr, /^imgpull: warning: TLS certificate checks are off \(--insecure\): /m)
  assert.doesNotMatch(insecure.stderr, /\(node:\d+\)|trace-warnings/)
  // With transfer threads, once a run still, not once a thread.
  const threaded = await runCli(
    [selfSigned.url('/a.jpg'), '-o', join(dir, 'insecure-threads'), '--insecure', '--threads', '2'],
    { env: noProxyEnv },
  )
  assert.equal(threaded.code, 0, threaded.stderr)
  assert.equal(threaded.stderr.match(/TLS certificate checks are off/g)?.length, 1, threaded.stderr)

  const missing = await runCli([
    tls.url('/a.jpg'),
    '-o',
    join(dir, 'ca-bad'),
    '--ca-cert',
    join(dir, 'nope.pem'),
  ])
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /nope\.pem/)
})

test('SSL_CERT_FILE adds its certificates, as for curl and wget; one that cannot be read is warned about once', async () => {
  const viaEnv = await runCli([tls.url('/a.jpg'), '-o', join(dir, 'ssl-cert-file')], {
    env: { ...noProxyEnv, SSL_CERT_FILE: certs.ca },
  })
  assert.equal(viaEnv.code, 0, viaEnv.stderr)
  // With --ca-cert too: both add trust (the file's CA is the one needed here).
  const both = await runCli(
    [tls.url('/a.jpg'), '-o', join(dir, 'ssl-cert-file-both'), '--ca-cert', certs.ca],
    { env: { ...noProxyEnv, SSL_CERT_FILE: certs.ca } },
  )
  assert.equal(both.code, 0, both.stderr)
  const stale = await runCli([tls.url('/a.jpg'), '-o', join(dir, 'ssl-cert-file-stale')], {
    env: { ...noProxyEnv, SSL_CERT_FILE: join(dir, 'gone.pem') },
  })
  assert.equal(stale.code, 1, 'the private CA is not trusted then')
  assert.equal(
    stale.stderr.match(/SSL_CERT_FILE.*gone\.pem.*its certificates are not trusted/g)?.length,
    1,
    stale.stderr,
  )
  assert.match(stale.stderr, /^imgpull: warning: .*SSL_CERT_FILE/m)
  assert.doesNotMatch(stale.stderr, /\(node:\d+\)|trace-warnings/)
  const threaded = await runCli(
    [tls.url('/a.jpg'), '-o', join(dir, 'ssl-cert-file-threads'), '--threads', '2'],
    { env: { ...noProxyEnv, SSL_CERT_FILE: join(dir, 'gone.pem') } },
  )
  assert.equal(threaded.stderr.match(/SSL_CERT_FILE/g)?.length, 1, threaded.stderr)
  assert.match(stale.stderr, /failed tls: /)
  // Read with the first https:// connection: a run of http:// URLs never reads it, nor warns.
  const plain = await runCli([web.url('/a.jpg'), '-o', join(dir, 'ssl-cert-file-http')], {
    env: { ...noProxyEnv, SSL_CERT_FILE: join(dir, 'gone.pem') },
  })
  assert.equal(plain.code, 0, plain.stderr)
  assert.doesNotMatch(plain.stderr, /SSL_CERT_FILE/)
  // Nor on transfer threads: their start read SSL_CERT_FILE and SSL_CERT_DIR on the main thread,
  // mid-run, to warn (146 files and 64 ms of CPU with this machine's SSL_CERT_DIR=/etc/ssl/certs).
  const plainThreads = await runCli(
    [web.url('/a.jpg'), '-o', join(dir, 'ssl-cert-file-http-threads'), '--threads', '1'],
    { env: { ...noProxyEnv, SSL_CERT_FILE: join(dir, 'gone.pem'), SSL_CERT_DIR: join(dir, 'gone-dir') } },
  )
  assert.equal(plainThreads.code, 0, plainThreads.stderr)
  assert.doesNotMatch(plainThreads.stderr, /SSL_CERT_FILE|SSL_CERT_DIR/)
})

// A company's setup script that exports CURL_CA_BUNDLE for curl (and requests) alone: curl fetched
// with it what imgpull refused as issued by an unknown authority.
test("curl's CURL_CA_BUNDLE adds its certificates as SSL_CERT_FILE does; one that cannot be read is warned about once", async () => {
  const viaEnv = await runCli([tls.url('/a.jpg'), '-o', join(dir, 'curl-ca-bundle')], {
    env: { ...noProxyEnv, CURL_CA_BUNDLE: certs.ca },
  })
  assert.equal(viaEnv.code, 0, viaEnv.stderr)
  assert.doesNotMatch(viaEnv.stderr, /warning/)
  // The same file in both variables: read once, no warning.
  const both = await runCli([tls.url('/a.jpg'), '-o', join(dir, 'curl-ca-bundle-both')], {
    env: { ...noProxyEnv, CURL_CA_BUNDLE: certs.ca, SSL_CERT_FILE: certs.ca },
  })
  assert.equal(both.code, 0, both.stderr)
  assert.doesNotMatch(both.stderr, /warning/)
  const stale = await runCli([tls.url('/a.jpg'), '-o', join(dir, 'curl-ca-bundle-stale')], {
    env: { ...noProxyEnv, CURL_CA_BUNDLE: join(dir, 'gone.pem') },
  })
  assert.equal(stale.code, 1, 'the private CA is not trusted then')
  assert.equal(
    stale.stderr.match(/^imgpull: warning: .*CURL_CA_BUNDLE.*gone\.pem.*its certificates are not trusted/gm)
      ?.length,
    1,
    stale.stderr,
  )
})

test('SSL_CERT_FILE and SSL_CERT_DIR add only what Node trusts not already: a system bundle that repeats its roots builds no TLS context', async () => {
  // Node's own roots, as a system bundle holds them, plus the private CA the test's server needs.
  const bundle = join(dir, 'bundle.pem')
  await writeFile(bundle, `${rootCertificates.join('\n')}\n${await readFile(certs.ca, 'utf8')}`)
  const roots = join(dir, 'roots-only.pem')
  await writeFile(roots, `${rootCertificates.join('\n')}\n`)
  const env = { SSL_CERT_FILE: roots }
  assert.deepEqual(extraCas(undefined, env), [], "nothing to add: no context of the run's own")
  const added = extraCas(undefined, { SSL_CERT_FILE: bundle })
  assert.equal(added.length, 1, 'the private CA alone')
  assert.equal(added[0].replace(/\s+/g, ''), (await readFile(certs.ca, 'utf8')).trim().replace(/\s+/g, ''))
  // The private CA in it is still trusted.
  const run = await runCli([tls.url('/a.jpg'), '-o', join(dir, 'ssl-cert-bundle')], {
    env: { ...noProxyEnv, SSL_CERT_FILE: bundle },
  })
  assert.equal(run.code, 0, run.stderr)
})

test('a TLS context made for --ca-cert still trusts what NODE_EXTRA_CA_CERTS trusts', async () => {
  // Two private CAs: one given to Node, one to imgpull. Node 20 copies only its bundled roots
  // into a context that adds certificates, so NODE_EXTRA_CA_CERTS must be added back.
  const second = join(dir, 'second-ca')
  await mkdir(second)
  const other = makeCerts(second)
  const otherTls = await startRouteServer(
    { '/b.jpg': image(body) },
    { server: createServer(tlsPair(other.good)), https: true },
  )
  try {
    const run = await runCli(
      [tls.url('/a.jpg'), otherTls.url('/b.jpg'), '-o', join(dir, 'extra-and-ca'), '--ca-cert', other.ca],
      { env: { ...noProxyEnv, NODE_EXTRA_CA_CERTS: certs.ca } },
    )
    assert.equal(run.code, 0, run.stderr)
    assert.deepEqual(await readFile(join(dir, 'extra-and-ca', 'a.jpg')), body)
    assert.deepEqual(await readFile(join(dir, 'extra-and-ca', 'b.jpg')), body)
  } finally {
    await otherTls.close()
  }
})

// A server that leaves out its intermediate, the root trusted by Node alone (as a public CA's
// is): the run has no TLS context of its own, so the issuer fetched from the leaf's AIA goes into
// one made then, on the main thread and on transfer threads alike. Every file failed tls before.
test("a server leaving out its intermediate, its root Node's: the issuer fetched from the leaf's AIA, the files kept, on threads too", async () => {
  // The CA's server, where the leaf says its issuer's certificate is (routes read as asked).
  const routes: Record<string, Route> = {}
  const ca = await startRouteServer(routes)
  const leaf = aiaLeaf(dir, ca.url('/issuing-ca.der'))
  const issuer = await readFile(leaf.issuerDer)
  routes['/issuing-ca.der'] = (_req, res) => {
    res.end(issuer)
  }
  const incomplete = await startRouteServer(
    { '/a.jpg': image(body), '/b.jpg': image(body) },
    { server: createServer(tlsPair(leaf)), https: true },
  )
  try {
    for (const threads of ['0', '1']) {
      const out = join(dir, `aia-${threads}`)
      const run = await runCli(
        [incomplete.url('/a.jpg'), incomplete.url('/b.jpg'), '-o', out, '--threads', threads],
        {
          env: { ...noProxyEnv, NODE_EXTRA_CA_CERTS: certs.ca },
        },
      )
      assert.equal(run.code, 0, run.stderr)
      assert.deepEqual(await readFile(join(out, 'b.jpg')), body)
    }
  } finally {
    await incomplete.close()
    await ca.close()
  }
})

// nodejs/node#24761: OpenSSL reads a CA as a TRUSTED CERTIFICATE (`openssl x509 -trustout`,
// Fedora's ca-bundle.trust.crt), curl --cacert too, and --ca-cert refused such a file as holding
// none. uptime-kuma#4015, nodejs/help#3636: Node passes over a NODE_EXTRA_CA_CERTS in DER (a
// Windows .cer) or of TRUSTED CERTIFICATEs without a word, and each file failed as an unknown
// authority, its advice to set the variable that was set.
test('a CA as a TRUSTED CERTIFICATE, in a PKCS #7 bundle or, in NODE_EXTRA_CA_CERTS, as DER is trusted as curl trusts it; one marked rejected for servers is not', async () => {
  const trusted = join(dir, 'trusted.pem')
  const rejected = join(dir, 'rejected.pem')
  const der = join(dir, 'ca.cer')
  const openssl = (...args: string[]) => execFileSync('openssl', ['x509', '-in', certs.ca, ...args])
  openssl('-trustout', '-addtrust', 'serverAuth', '-out', trusted)
  openssl('-trustout', '-addreject', 'serverAuth', '-out', rejected)
  openssl('-outform', 'DER', '-out', der)
  // A chain exported from Windows as 'PKCS #7 Certificates' (.p7b), in PEM and in DER: Node passes
  // over both in NODE_EXTRA_CA_CERTS, and --ca-cert refused them as holding none.
  const p7b = join(dir, 'ca.p7b')
  const p7bDer = join(dir, 'ca-der.p7b')
  for (const [out, form] of [
    [p7b, 'PEM'],
    [p7bDer, 'DER'],
  ])
    execFileSync('openssl', ['crl2pkcs7', '-nocrl', '-certfile', certs.ca, '-outform', form, '-out', out])
  const cases: [string, string[], Record<string, string>, number][] = [
    ['ca-trusted', ['--ca-cert', trusted], {}, 0],
    ['env-trusted', [], { SSL_CERT_FILE: trusted }, 0],
    ['extra-der', [], { NODE_EXTRA_CA_CERTS: der }, 0],
    ['ca-p7b', ['--ca-cert', p7bDer], {}, 0],
    ['extra-p7b', [], { NODE_EXTRA_CA_CERTS: p7b }, 0],
    ['extra-p7b-der', [], { NODE_EXTRA_CA_CERTS: p7bDer }, 0],
    ['extra-trusted', ['--threads', '2'], { NODE_EXTRA_CA_CERTS: trusted }, 0],
    ['ca-rejected', ['--ca-cert', rejected], {}, 1],
  ]
  // Each case a process of its own with an output folder of its own: four at a time.
  await inPool(cases, 4, async ([name, args, env, code]) => {
    // Without the machine's SSL_CERT_FILE and SSL_CERT_DIR, whose context would add them by chance.
    const run = await runCli([tls.url('/a.jpg'), '-o', join(dir, name), ...args], {
      env: { ...noProxyEnv, SSL_CERT_FILE: '', SSL_CERT_DIR: '', NODE_EXTRA_CA_CERTS: '', ...env },
    })
    assert.equal(run.code, code, `${name}: ${run.stderr}`)
    if (code === 0) assert.deepEqual(await readFile(join(dir, name, 'a.jpg')), body, name)
    else assert.match(run.stderr, /failed tls: /, name)
  })
  // Node's own roots as TRUSTED CERTIFICATEs (a distribution's trust bundle) add nothing: no TLS context of the run's own.
  const bundle = join(dir, 'ca-bundle.trust.crt')
  const roots = rootCertificates
    .slice(0, 3)
    .map((pem) => execFileSync('openssl', ['x509', '-trustout', '-addtrust', 'serverAuth'], { input: pem }))
  await writeFile(bundle, Buffer.concat([...roots, await readFile(trusted)]))
  assert.deepEqual(
    extraCas(undefined, { SSL_CERT_FILE: bundle }).map((pem) => pem.split('\n')[0]),
    ['-----BEGIN TRUSTED CERTIFICATE-----'],
  )
})

test('SSL_CERT_DIR adds the certificates of its folders, as OpenSSL-based tools read it; a folder that cannot be read is warned about once', async () => {
  // A c_rehash-style folder: the CA under its hash name, a file that holds none, a dangling link.
  const certDir = join(dir, 'certs')
  await mkdir(certDir, { recursive: true })
  await writeFile(join(certDir, 'a1b2c3d4.0'), await readFile(certs.ca))
  await writeFile(join(certDir, 'README'), 'not a certificate\n')
  await symlink(join(dir, 'nowhere.pem'), join(certDir, 'gone.pem'))
  const viaDir = await runCli([tls.url('/a.jpg'), '-o', join(dir, 'ssl-cert-dir')], {
    env: { ...noProxyEnv, SSL_CERT_DIR: `${join(dir, 'no-such-dir')}:${certDir}` },
  })
  assert.equal(viaDir.code, 0, viaDir.stderr)
  assert.equal(
    viaDir.stderr.match(/SSL_CERT_DIR: .*no-such-dir.*its certificates are not trusted/g)?.length,
    1,
  )
  // Read on transfer threads (with their first https:// connection, each thread's own), said once
  // on the main thread all the same.
  const threaded = await runCli(
    [tls.url('/a.jpg'), '-o', join(dir, 'ssl-cert-dir-threads'), '--threads', '2'],
    {
      env: { ...noProxyEnv, SSL_CERT_DIR: `${join(dir, 'no-such-dir')}:${certDir}` },
    },
  )
  assert.equal(threaded.code, 0, threaded.stderr)
  assert.equal(threaded.stderr.match(/SSL_CERT_DIR: .*no-such-dir/g)?.length, 1, threaded.stderr)
  const without = await runCli([tls.url('/a.jpg'), '-o', join(dir, 'ssl-cert-dir-none')], {
    env: { ...noProxyEnv, SSL_CERT_DIR: join(dir, 'empty-certs') },
  })
  assert.equal(without.code, 1, 'the private CA is not trusted without it')
  assert.match(without.stderr, /failed tls: /)
})

test('HTTP_PROXY from the environment, --proxy with credentials never printed, --no-proxy', async () => {
  const withCreds = proxy.url.replace('//', '//me:s3cret@')
  proxy.log.length = 0
  const viaEnv = await runCli([web.url('/a.jpg'), '-o', join(dir, 'env'), '--json'], {
    env: { ...noProxyEnv, HTTP_PROXY: withCreds },
  })
  assert.equal(viaEnv.code, 0, viaEnv.stderr)
  assert.deepEqual(
    proxy.log.map((l) => l.target),
    [web.url('/a.jpg')],
  )

  proxy.log.length = 0
  const explicit = await runCli(
    [tls.url('/a.jpg'), '-o', join(dir, 'explicit'), '--ca-cert', certs.ca, '--proxy', withCreds],
    {
      env: noProxyEnv,
    },
  )
  assert.equal(explicit.code, 0, explicit.stderr)
  assert.equal(proxy.log[0].method, 'CONNECT')

  const wrong = proxy.url.replace('//', '//me:WRONGpass@')
  const refused = await runCli([web.url('/a.jpg'), '-o', join(dir, 'wrong'), '--proxy', wrong, '--json'], {
    env: noProxyEnv,
  })
  assert.equal(refused.code, 1)
  assert.match(refused.stdout, /"error":"proxy"/)
  assert.ok(!`${refused.stdout}${refused.stderr}`.includes('WRONGpass'), 'the password is never printed')

  proxy.log.length = 0
  const direct = await runCli([web.url('/a.jpg'), '-o', join(dir, 'direct'), '--no-proxy'], {
    env: { ...noProxyEnv, HTTP_PROXY: withCreds },
  })
  assert.equal(direct.code, 0, direct.stderr)
  assert.deepEqual(proxy.log, [])

  const bad = await runCli([
    web.url('/a.jpg'),
    '-o',
    join(dir, 'bad-proxy'),
    '--proxy',
    'ftp://me:s3cret@host',
  ])
  assert.equal(bad.code, 2)
  assert.ok(!bad.stderr.includes('s3cret'), bad.stderr)
})

test('--cookies FILE sends its cookies; a malformed file is a usage error naming the line', async () => {
  const file = join(dir, 'cookies.txt')
  await writeFile(file, '# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\tabc\n')
  web.log.length = 0
  const run = await runCli([web.url('/session.jpg'), '-o', join(dir, 'cookies'), '--cookies', file], {
    env: noProxyEnv,
  })
  assert.equal(run.code, 0, run.stderr)
  assert.equal(web.log[0].headers.cookie, 'sid=abc')

  const bad = join(dir, 'bad-cookies.txt')
  await writeFile(bad, '# Netscape HTTP Cookie File\n\n127.0.0.1 FALSE / FALSE 0 sid abc\n')
  const refused = await runCli([web.url('/session.jpg'), '-o', join(dir, 'cookies-bad'), '--cookies', bad])
  assert.equal(refused.code, 2)
  assert.match(refused.stderr, /bad-cookies\.txt, line 3: its fields are separated by spaces, not tabs/)
})

test('X-Robots-Tag: counted in the summary as robots-tag; --ignore-robots-tag takes the image', async () => {
  const refused = await runCli([web.url('/noai.jpg'), web.url('/a.jpg'), '-o', join(dir, 'robots')], {
    env: noProxyEnv,
  })
  assert.equal(refused.code, 1)
  assert.match(refused.stderr, /failed robots-tag: .*X-Robots-Tag says noai/)
  assert.match(refused.stderr, /Failures: .*robots-tag/)
  const taken = await runCli(
    [web.url('/noai.jpg'), '-o', join(dir, 'robots-ignored'), '--ignore-robots-tag'],
    {
      env: noProxyEnv,
    },
  )
  assert.equal(taken.code, 0, taken.stderr)
})

// a warning Node raises on a transfer thread was printed there as Node prints it, past the
// command's own filter: through an https:// proxy given by address, `--threads 1` (and `auto`
// once under way) printed "(node:PID) [DEP0123] DeprecationWarning: Setting the TLS
// ServerName to an IP address ..." where the main thread's run printed nothing.
test('a warning raised on a transfer thread reads as on the main thread, once; an https:// proxy by address raises none', async () => {
  const secureProxy = await startForwardProxy({ tls: tlsPair(certs.good) })
  try {
    for (const threads of ['0', '1']) {
      const out = join(dir, `https-proxy-${threads}`)
      const r = await runCli(
        [
          web.url('/a.jpg'),
          tls.url('/session.jpg'),
          '-o',
          out,
          '--proxy',
          secureProxy.url,
          '--ca-cert',
          certs.ca,
          '--threads',
          threads,
        ],
        { env: noProxyEnv },
      )
      assert.equal(r.code, 0, r.stderr)
      assert.doesNotMatch(r.stderr, /warning|DEP0123/i, `--threads ${threads}`)
    }
    // The library's caller gets a warning Node raises on a thread as a process warning of its own,
    // once, however many threads raise it. (The proxy by address raises none since 12e1da5: Node's
    // warning about NODE_TLS_REJECT_UNAUTHORIZED, raised at each thread's first TLS connection, is
    // one that stays.)
    const warnings: Error[] = []
    const onWarning = (w: Error) => warnings.push(w)
    process.on('warning', onWarning)
    const was = process.env.NODE_TLS_REJECT_UNAUTHORIZED
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'
    try {
      const urls = Array.from({ length: 8 }, (_, i) => tls.url(`/session.jpg?${i}`))
      for await (const r of pull(urls, {
        out: join(dir, 'https-proxy-lib'),
        caCert: certs.ca,
        threads: 2,
        journal: false,
      }))
        assert.equal(r.status, 'ok', r.message)
      await new Promise((resolve) => setImmediate(resolve))
    } finally {
      if (was === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = was
      process.off('warning', onWarning)
    }
    const raised = warnings.filter((w) => /NODE_TLS_REJECT_UNAUTHORIZED/.test(w.message))
    assert.equal(raised.length, 1, warnings.map((w) => w.message).join('\n'))
  } finally {
    await secureProxy.close()
  }
})
