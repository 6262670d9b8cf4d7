import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import dns, { type LookupAddress, type LookupOptions } from 'node:dns'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer, type Server } from 'node:http'
import { createServer as createH2cServer, createSecureServer } from 'node:http2'
import { createServer } from 'node:https'
import { connect } from 'node:net'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { createSecureContext } from 'node:tls'
import { verifiedIssuer } from '../src/fetch/aia.js'
import { INSECURE_WARNING } from '../src/fetch/client.js'
import { serverName } from '../src/fetch/exchange.js'
import { beginsHttp2Settings } from '../src/fetch/http2-errors.js'
import type { PeerChain } from '../src/fetch/peer-chain.js'
import { retriedOnRerun } from '../src/fetch/retry-policy.js'
import { authorityWords, datedWords, tlsMessage, tlsProblem } from '../src/fetch/tls-errors.js'
import { extraCas } from '../src/fetch/trust.js'
import { pull } from '../src/index.js'
import type { Options } from '../src/options.js'
import type { Result } from '../src/types.js'
import { aiaLeaf, makeCerts, selfSigned, type TestCerts, tlsPair } from './support/certs.js'
import { cleanup, runCli, tempDir } from './support/cli.js'
import { startForwardProxy } from './support/forward-proxy.js'
import { makeImage } from './support/images.js'
import { withEnv } from './support/proxied.js'
import { type LocalServer, listenLocal, startRawServer } from './support/raw-server.js'
import { startSocks5Proxy } from './support/socks5-proxy.js'

let dir: string
let certs: TestCerts
const servers: LocalServer[] = []
const body = makeImage('tls', 20_000)
const origins: Record<string, string> = {}

async function listen(server: Server): Promise<string> {
  server.on('request', (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length })
    res.end(body)
  })
  const local = await listenLocal(server)
  servers.push(local)
  return String(local.port)
}

before(async () => {
  dir = await tempDir()
  certs = makeCerts(dir)
  for (const [name, pair] of Object.entries({
    selfSigned: certs.selfSigned,
    expired: certs.expired,
    notYetValid: certs.notYetValid,
    otherHost: certs.otherHost,
    privateCa: certs.good,
    viaIntermediate: certs.viaIntermediate,
    sha1: certs.sha1,
  })) {
    // A SHA-1 certificate loads only at security level 0 (the server's own OpenSSL refuses it too).
    const level = name === 'sha1' ? { ciphers: 'DEFAULT:@SECLEVEL=0' } : {}
    origins[name] = `https://127.0.0.1:${await listen(createServer({ ...tlsPair(pair), ...level }))}`
  }
  // Asks for a client certificate and will not go on without one (TLS 1.2: during the handshake).
  const mtls = createServer({
    ...tlsPair(certs.good),
    maxVersion: 'TLSv1.2',
    requestCert: true,
    rejectUnauthorized: true,
    ca: readFileSync(certs.ca),
  })
  origins.clientCert = `https://127.0.0.1:${await listen(mtls)}`
  // The same under TLS 1.3: the handshake completes, and the refusal (alert 116) comes after it.
  const mtls13 = createServer({
    ...tlsPair(certs.good),
    minVersion: 'TLSv1.3',
    requestCert: true,
    rejectUnauthorized: true,
    ca: readFileSync(certs.ca),
  })
  origins.clientCert13 = `https://127.0.0.1:${await listen(mtls13)}`
  // Offers only TLS 1.0 and 1.1, which Node no longer speaks.
  const old = createServer({
    ...tlsPair(certs.good),
    minVersion: 'TLSv1',
    maxVersion: 'TLSv1.1',
    ciphers: 'DEFAULT:@SECLEVEL=0',
  })
  origins.oldTls = `https://127.0.0.1:${await listen(old)}`
  // Plain HTTP on the port an https:// URL names.
  origins.plain = `https://127.0.0.1:${await listen(createHttpServer())}`
})

after(async () => {
  await Promise.all(servers.map((s) => s.close()))
  await cleanup(dir)
})

async function fetchOne(origin: string, options: Options = {}): Promise<Result> {
  const results: Result[] = []
  for await (const r of pull([`${origin}/x.jpg`], { out: join(dir, 'out'), journal: false, ...options }))
    results.push(r)
  return results[0]
}

test('tlsProblem: certificate and handshake failures, in words; other errors are not TLS', () => {
  const cases: [object, RegExp | undefined, boolean?][] = [
    [{ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, /self-signed/, true],
    [{ code: 'SELF_SIGNED_CERT_IN_CHAIN' }, /self-signed root/, true],
    [{ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, /unknown authority/, true],
    [{ code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' }, /unknown authority/, true],
    [{ code: 'CERT_HAS_EXPIRED' }, /expired/, true],
    [{ code: 'CERT_NOT_YET_VALID' }, /^its certificate is not valid yet$/, true],
    [
      {
        code: 'ERR_TLS_CERT_ALTNAME_INVALID',
        host: '127.0.0.1',
        cert: { subjectaltname: 'DNS:a.example, DNS:b.example' },
      },
      /is for a\.example, b\.example, not 127\.0\.0\.1/,
      true,
    ],
    [{ code: 'ERR_SSL_WRONG_VERSION_NUMBER' }, /does not speak TLS/, false],
    [{ code: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' }, /refused the TLS handshake/, false],
    // The same alerts under OpenSSL 3.2's names (Node 24).
    [{ code: 'ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE' }, /refused the TLS handshake/, false],
    [{ code: 'ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE' }, /asks for a client certificate/, false],
    [{ code: 'ERR_SSL_SOMETHING_NEW' }, /handshake failed \(something new\)/, false],
    // A server without RFC 5746's renegotiation_info (a NetScaler denying renegotiation), by its
    // code or as Node's https gives it when the ClientHello's write meets it: EPROTO, the reason
    // in the message alone (nodejs/node#45689), read as the code Node would give it.
    [
      { code: 'ERR_SSL_UNSAFE_LEGACY_RENEGOTIATION_DISABLED' },
      /^the server does not offer secure renegotiation \(RFC 5746\), .*OPENSSL_CONF .*UnsafeLegacyServerConnect/,
      false,
    ],
    [
      {
        code: 'EPROTO',
        message:
          'write EPROTO C012BD0702000000:error:0A000152:SSL routines:final_renegotiate:unsafe legacy renegotiation disabled:../deps/openssl/openssl/ssl/statem/extensions.c:922:\n',
      },
      /^the server does not offer secure renegotiation \(RFC 5746\)/,
      false,
    ],
    [
      {
        code: 'EPROTO',
        message:
          'C0:error:0A000410:SSL routines::sslv3 alert handshake failure:ssl/record/rec_layer_s3.c:1586:',
      },
      /refused the TLS handshake/,
      false,
    ],
    [
      { code: 'EPROTO', message: 'write EPROTO: SSL failed' },
      /handshake failed \(write EPROTO: SSL failed\)/,
      false,
    ],
    // Node gives a weak digest or key no code of its own.
    [
      { code: 'UNSPECIFIED', message: 'CA signature digest algorithm too weak' },
      /digest too weak .*SHA-1/,
      true,
    ],
    [{ code: 'CA_MD_TOO_WEAK' }, /digest too weak .*SHA-1/, true],
    [{ code: 'UNSPECIFIED', message: 'EE certificate key too weak' }, /key is too small/, true],
    [{ code: 'UNSPECIFIED', message: 'something else' }, undefined],
    // Verify failures Node codes none of: the certificate's, in OpenSSL's words.
    [{ code: 'UNSPECIFIED', message: 'excluded subtree violation' }, /a name its CA may not certify/, true],
    [{ code: 'UNSPECIFIED', message: 'key usage does not include certificate signing' }, /key usage/, true],
    [
      { code: 'UNSPECIFIED', message: 'invalid or inconsistent certificate extension' },
      /does not verify/,
      true,
    ],
    // A proxy's tunnel wraps the origin's certificate error.
    [{ code: 'UND_ERR_PRX_TLS', cause: { code: 'CERT_HAS_EXPIRED' } }, /expired/, true],
    [{ code: 'ECONNRESET' }, undefined],
    [{ code: 'ECONNREFUSED' }, undefined],
    [{ code: 'UND_ERR_SOCKET' }, undefined],
    [new Error('plain'), undefined],
  ]
  for (const [error, words, certificate] of cases) {
    const problem = tlsProblem(error)
    if (!words) assert.equal(problem, undefined, JSON.stringify(error))
    else {
      assert.match(problem?.words ?? '', words, JSON.stringify(error))
      assert.equal(problem?.certificate, certificate, JSON.stringify(error))
    }
  }
})

// A certificate not valid yet said "(check this machine's clock)" and then "the server must fix it":
// two verdicts at once. A clock behind is the likelier cause on a client, so it comes first.
test('tlsMessage: a certificate not valid yet gives one line of advice, the clock first, then the server', () => {
  const problem = tlsProblem({ code: 'CERT_NOT_YET_VALID' })
  assert.ok(problem)
  assert.equal(
    tlsMessage('https://img.example/x.jpg', problem),
    "TLS: cannot verify img.example: its certificate is not valid yet; check this machine's clock (a clock behind makes a new certificate look so): if it is right, the server must fix it; --insecure skips certificate checks altogether (unsafe)",
  )
  // An expired one still says plainly that it is the server's to fix.
  assert.equal(
    tlsMessage('https://img.example/x.jpg', tlsProblem({ code: 'CERT_HAS_EXPIRED' })!),
    'TLS: cannot verify img.example: its certificate has expired; the server must fix it; --insecure skips certificate checks altogether (unsafe)',
  )
  // An https:// proxy given by an address its certificate is not for: how to give it, not the
  // server's to fix (the proxy is fine, given by its name); a server is told as before.
  const mismatch = tlsProblem({
    code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    host: '10.0.0.5',
    cert: { subjectaltname: 'DNS:*.corp, DNS:proxy.corp, IP Address:10.0.0.9' },
  })!
  assert.equal(
    tlsMessage('https://10.0.0.5:3128', mismatch, true),
    'TLS: cannot verify the proxy 10.0.0.5:3128: its certificate is for *.corp, proxy.corp, 10.0.0.9, not 10.0.0.5; give the proxy by a name its certificate is for (https://proxy.corp:3128); --insecure skips certificate checks altogether (unsafe)',
  )
  assert.equal(
    tlsMessage('https://10.0.0.5/a.jpg', mismatch),
    'TLS: cannot verify 10.0.0.5: its certificate is for *.corp, proxy.corp, 10.0.0.9, not 10.0.0.5; a URL with an IP address sends no host name (SNI), and a server of many names shows a default certificate without one: give the URL by the host name it is meant for; else the server must fix it; --insecure skips certificate checks altogether (unsafe)',
  )
  // By a name, no word of SNI: the name was sent.
  assert.equal(
    tlsMessage('https://img.example/a.jpg', {
      ...mismatch,
      words: 'its certificate is for proxy.corp, not img.example',
    }),
    'TLS: cannot verify img.example: its certificate is for proxy.corp, not img.example; the server must fix it; --insecure skips certificate checks altogether (unsafe)',
  )
})

test('datedWords: a certificate out of its dates says which, the date, and this clock', () => {
  const day = 86_400_000
  const now = Date.parse('2026-12-03T22:50:00Z')
  const chain = (leaf: [number, number], int: [number, number]) => ({
    now,
    chain: [
      { name: 'img.example', issuer: 'Corp Issuing CA 2', from: leaf[0], to: leaf[1] },
      { name: 'Corp Issuing CA 2', issuer: 'Corp Root', from: int[0], to: int[1] },
    ],
  })
  const fine: [number, number] = [now - day, now + day]
  const cases: [string, ReturnType<typeof chain> | undefined, string | undefined][] = [
    [
      'CERT_HAS_EXPIRED',
      chain([now - 3 * day, now - 2 * day], fine),
      "its certificate expired on 2026-12-01 22:50 UTC (this machine's clock says 2026-12-03 22:50 UTC)",
    ],
    [
      'CERT_HAS_EXPIRED',
      chain(fine, [now - 9 * day, now - day]),
      'a certificate in its chain ("Corp Issuing CA 2") expired on 2026-12-02 22:50 UTC (this machine\'s clock says 2026-12-03 22:50 UTC)',
    ],
    [
      'CERT_NOT_YET_VALID',
      chain([now + day, now + 9 * day], fine),
      "its certificate is valid only from 2026-12-04 22:50 UTC (this machine's clock says 2026-12-03 22:50 UTC)",
    ],
    // None of the chain sent is out of its dates (a CA of this machine's store is): the plain words.
    ['CERT_HAS_EXPIRED', chain(fine, fine), undefined],
    ['CERT_HAS_EXPIRED', undefined, undefined],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', chain([now - 3 * day, now - 2 * day], fine), undefined],
  ]
  for (const [code, dates, words] of cases) assert.equal(datedWords(code, dates), words, code)
})

test('authorityWords: the authority not trusted, by name, from the chain the server sent', () => {
  const cert = (name: string, issuer: string) => ({ name, issuer, from: 0, to: 1 })
  const sent = (...chain: PeerChain['chain']) => ({ now: 0, chain })
  const cases: [string, PeerChain | undefined, string | undefined][] = [
    [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      sent(cert('img.example', 'R11')),
      'its certificate was issued by "R11", an authority not trusted here that the server did not send (a private CA, or an intermediate the server leaves out without saying where it is: --ca-cert takes either)',
    ],
    [
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      sent(cert('img.example', 'Corp Issuing CA'), cert('Corp Issuing CA', 'Corp Root')),
      'its certificate chain ends in one issued by "Corp Root", an authority not trusted here',
    ],
    [
      'SELF_SIGNED_CERT_IN_CHAIN',
      sent(
        cert('img.example', 'Zscaler Intermediate'),
        cert('Zscaler Intermediate', 'Zscaler Root CA'),
        cert('Zscaler Root CA', 'Zscaler Root CA'),
      ),
      'its certificate chain ends in "Zscaler Root CA", a self-signed root not trusted here (a company proxy that inspects TLS shows a root of its own)',
    ],
    // A name is the server's to write: shown printable.
    [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      sent(cert('img.example', 'Evil\u001b[2JCA')),
      'its certificate was issued by "Evil\\x1b[2JCA", an authority not trusted here that the server did not send (a private CA, or an intermediate the server leaves out without saying where it is: --ca-cert takes either)',
    ],
    // Where the certificate says its issuer's is (its AIA), the file --ca-cert takes.
    [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      sent({ ...cert('img.example', 'R11'), issuerAt: 'http://r11.i.lencr.org/' }),
      'its certificate was issued by "R11", an authority not trusted here that the server did not send (a private CA, or an intermediate the server leaves out: --ca-cert takes either; the certificate says its issuer\'s is at http://r11.i.lencr.org/)',
    ],
    [
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      {
        ...sent(cert('img.example', 'Corp Issuing CA'), {
          ...cert('Corp Issuing CA', 'Corp Policy CA'),
          issuerAt: 'http://pki.corp/policy.crt',
        }),
        fetched: 'http://pki.corp/policy.crt: HTTP 404',
      },
      'its certificate chain ends in one issued by "Corp Policy CA", an authority not trusted here (the certificate says its issuer\'s is at http://pki.corp/policy.crt (fetched, not taken: http://pki.corp/policy.crt: HTTP 404))',
    ],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', undefined, undefined],
    ['CERT_HAS_EXPIRED', sent(cert('img.example', 'R11')), undefined],
  ]
  for (const [code, chain, words] of cases) assert.equal(authorityWords(code, chain), words, code)
})

test('a TLS failure fails at once with code tls, in words, and a rerun tries it again', async () => {
  const expected: Record<string, RegExp> = {
    selfSigned:
      /cannot verify 127\.0\.0\.1:\d+: its certificate is self-signed; to trust a private CA, pass --ca-cert ca\.pem or set NODE_EXTRA_CA_CERTS=ca\.pem; --insecure/,
    // No CA given makes these good: the server's to fix, not --ca-cert's (it was offered).
    expired:
      /cannot verify .*: its certificate expired on 2020-01-02 00:00 UTC \(this machine's clock says 2\d{3}-\d\d-\d\d \d\d:\d\d UTC\); the server must fix it; --insecure skips certificate checks altogether \(unsafe\)$/,
    otherHost:
      /cannot verify .*: its certificate is for images\.example\.org, not 127\.0\.0\.1; a URL with an IP address sends no host name \(SNI\).*; else the server must fix it; --insecure/,
    privateCa:
      /cannot verify .*: its certificate was issued by "imgpull test CA", an authority not trusted here that the server did not send \(a private CA, or an intermediate the server leaves out without saying where it is: --ca-cert takes either\); to trust a private CA, pass --ca-cert/,
    // curl refuses it too, and no --ca-cert changes that (it was offered).
    sha1: /cannot verify .*: its certificate chain is signed with a digest too weak to trust \(such as SHA-1\); OpenSSL's security level refuses it \(curl too\), whatever CA is trusted; the server needs a new certificate; NODE_OPTIONS='--tls-cipher-list=DEFAULT@SECLEVEL=0' lowers the level/,
    clientCert: /cannot talk to .* securely: the server refused the TLS handshake .*client certificate/,
    oldTls:
      /cannot talk to .* securely: the server and imgpull share no TLS version \(the server may offer only old ones; Node refuses TLS 1\.0 and 1\.1: NODE_OPTIONS='--tls-min-v1\.0 --tls-cipher-list=DEFAULT@SECLEVEL=0' allows them \(unsafe\)\)$/,
    plain: /cannot talk to .* securely: the server does not speak TLS on this port/,
  }
  for (const [name, message] of Object.entries(expected)) {
    // With the CA trusted, what is wrong besides it shows.
    const trusted = name !== 'selfSigned' && name !== 'privateCa'
    const r = await fetchOne(origins[name], trusted ? { caCert: certs.ca } : {})
    assert.equal(r.status, 'failed', name)
    assert.equal(r.error, 'tls', `${name}: ${r.error} ${r.message}`)
    assert.equal(r.attempts, 1, `${name}: not retried`)
    assert.match(r.message!, message, name)
    assert.ok(!r.message!.includes('\n'), 'one line')
  }
  assert.equal(retriedOnRerun('tls'), true)
})

// OpenSSL's 'certificate has expired' names neither the certificate nor the date, and 'not valid
// yet' sent the user to the clock with no date to check it against (Firefox says both). The
// connection is gone when its error comes back: the dates are read as the handshake ends, on
// every path to a server (direct, through an HTTP proxy's tunnel, through a SOCKS5 proxy) and to
// an https:// proxy itself.
test('a certificate out of its dates says which date and this clock, direct, through proxies, and for an https:// proxy', async () => {
  const clock = "\\(this machine's clock says 2\\d{3}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC\\)"
  const expired = new RegExp(
    `its certificate expired on 2020-01-02 00:00 UTC ${clock}; the server must fix it`,
  )
  const notYet = new RegExp(
    `its certificate is valid only from 2099-01-01 00:00 UTC ${clock}; check this machine's clock`,
  )
  const proxies = [await startForwardProxy(), await startSocks5Proxy()]
  const expiredProxy = await startForwardProxy({ tls: tlsPair(certs.expired) })
  try {
    for (const proxy of [false as const, ...proxies.map((p) => p.url)])
      for (const [name, words] of [
        ['expired', expired],
        ['notYetValid', notYet],
      ] as const) {
        const r = await fetchOne(origins[name], { caCert: certs.ca, proxy })
        assert.equal(r.error, 'tls', `${name} ${proxy}: ${r.message}`)
        assert.match(r.message!, words, `${name} ${proxy}`)
      }
    const r = await fetchOne(origins.privateCa, { caCert: certs.ca, proxy: expiredProxy.url })
    assert.equal(r.error, 'tls', r.message)
    assert.match(r.message!, new RegExp(`cannot verify the proxy 127\\.0\\.0\\.1:\\d+: ${expired.source}`))
  } finally {
    await Promise.all([...proxies, expiredProxy].map((p) => p.close()))
  }
})

// OpenSSL's 'unable to verify the first certificate' and 'self-signed certificate in certificate
// chain' name no authority: behind a company proxy that inspects TLS, its root's name (Zscaler,
// Fortinet...) is what tells the user what is going on, and which CA to ask for.
test("verifiedIssuer: what a leaf's AIA served is taken only when it issued the leaf and a trusted CA issued it", () => {
  const leaf = new X509Certificate(readFileSync(certs.viaIntermediate.cert))
  const issuing = readFileSync(certs.intermediate)
  const der = new X509Certificate(issuing).raw
  const root = new X509Certificate(readFileSync(certs.ca))
  // A CA of the same name, its own key: what a server could point to.
  selfSigned(dir, 'look-alike', '/CN=imgpull test issuing CA', [
    '-addext',
    'basicConstraints=critical,CA:TRUE',
  ])
  const lookAlike = readFileSync(join(dir, 'look-alike.pem'))
  const issuingPem = new X509Certificate(issuing).toString()
  const day = 86_400_000
  const cases: [string, Buffer, X509Certificate[], number, string | undefined][] = [
    ['DER, its root trusted', der, [root], Date.now(), issuingPem],
    ['PEM, its root trusted', issuing, [root], Date.now(), issuingPem],
    ['PEM after a look-alike', Buffer.concat([lookAlike, issuing]), [root], Date.now(), issuingPem],
    ['its root not trusted', der, [], Date.now(), undefined],
    ['the same name, another key', lookAlike, [root, new X509Certificate(lookAlike)], Date.now(), undefined],
    ['a leaf, no CA', readFileSync(certs.otherHost.cert), [root], Date.now(), undefined],
    ['out of its dates', der, [root], Date.now() + 10 * day, undefined],
    ['no certificate', Buffer.from('<html>not found</html>'), [root], Date.now(), undefined],
  ]
  for (const [name, bytes, anchors, now, expected] of cases)
    assert.equal(verifiedIssuer(leaf, bytes, anchors, now), expected, name)
})

// A server that leaves out its intermediate certificate (SSL Labs' "chain incomplete"): browsers
// fetch it from where the leaf says it is (its Authority Information Access), curl, wget2 and
// Node do not (curl#2793, request#3106), and every file of such a host failed tls, the issuer
// named alone. imgpull fetches it too (once), takes it only when it issued the leaf and a
// trusted CA issued it, and keeps the files; through a proxy, the words say where it is, and
// that file, as it downloads, is what --ca-cert takes.
test("a server leaving out its intermediate: fetched from the leaf's AIA and checked, the files kept, through a proxy too; one not its issuer refused, saying why", async () => {
  // The CA's server, where the leaf says its issuer's certificate is.
  let served = Buffer.alloc(0)
  const asked: string[] = []
  const pki = await listenLocal(
    createHttpServer((req, res) => {
      asked.push(req.url!)
      res.end(req.url === '/issuing-ca.der' ? served : readFileSync(certs.otherHost.cert))
    }),
  )
  servers.push(pki)
  const url = pki.url('/issuing-ca.der')
  const leaf = aiaLeaf(dir, url)
  served = readFileSync(leaf.issuerDer)
  const origin = `https://127.0.0.1:${await listen(createServer(tlsPair(leaf)))}`
  const results: Result[] = []
  for await (const r of pull(
    ['a', 'b', 'c'].map((n) => `${origin}/${n}.jpg`),
    { out: join(dir, 'aia'), journal: false, caCert: certs.ca },
  ))
    results.push(r)
  assert.deepEqual(
    results.map((r) => r.status),
    ['ok', 'ok', 'ok'],
    JSON.stringify(results.map((r) => r.message)),
  )
  assert.deepEqual(asked, ['/issuing-ca.der'], "fetched once for the host's files")
  // Through a proxy, fetched through it (see test/aia.test.ts).
  const proxies = [await startForwardProxy(), await startSocks5Proxy()]
  try {
    for (const proxy of proxies.map((p) => p.url)) {
      const r = await fetchOne(origin, { caCert: certs.ca, proxy })
      assert.equal(r.status, 'ok', `${proxy}: ${r.message}`)
    }
  } finally {
    for (const p of proxies) await p.close()
  }
  // What the URL serves is not the issuer: refused, saying so.
  served = readFileSync(certs.otherHost.cert)
  const r = await fetchOne(origin, { caCert: certs.ca })
  assert.equal(r.error, 'tls', r.message)
  assert.ok(
    r.message!.includes(
      `its certificate was issued by "imgpull test issuing CA", an authority not trusted here that the server did not send (a private CA, or an intermediate the server leaves out: --ca-cert takes either; the certificate says its issuer's is at ${url} (fetched, not taken: ${url}: none of what it served issued "leaf"))`,
    ),
    r.message,
  )
})

test('an authority not trusted is named from the chain the server sent: a leaf alone, an intermediate sent, a root sent (a TLS-inspecting proxy), direct and through a tunnel', async () => {
  const withRoot = `https://127.0.0.1:${await listen(
    createServer({
      cert: readFileSync(certs.good.cert, 'utf8') + readFileSync(certs.ca, 'utf8'),
      key: readFileSync(certs.good.key),
    }),
  )}`
  const expected: [string, string][] = [
    [
      origins.privateCa,
      'its certificate was issued by "imgpull test CA", an authority not trusted here that the server did not send',
    ],
    [
      origins.viaIntermediate,
      'its certificate chain ends in one issued by "imgpull test CA", an authority not trusted here; to trust',
    ],
    [
      withRoot,
      'its certificate chain ends in "imgpull test CA", a self-signed root not trusted here (a company proxy that inspects TLS shows a root of its own); to trust',
    ],
  ]
  const proxies = [await startForwardProxy(), await startSocks5Proxy()]
  try {
    for (const proxy of [false as const, ...proxies.map((p) => p.url)])
      for (const [origin, words] of expected) {
        const r = await fetchOne(origin, { proxy })
        assert.equal(r.error, 'tls', `${origin} ${proxy}: ${r.message}`)
        assert.ok(r.message!.includes(words), `${proxy}: ${r.message}`)
      }
  } finally {
    await Promise.all(proxies.map((p) => p.close()))
  }
})

// a TLS server (rustls, as axum-server#121 shows) answers a plain HTTP request with an
// alert record: 'the answer is not well-formed HTTP: Expected HTTP/', a network error retried.
test('an http:// URL whose port speaks TLS (an alert back): tls, at once, saying https:// may be meant', async () => {
  const alerting = await startRawServer((socket) => {
    socket.once('data', () => socket.end(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32])))
  })
  try {
    const origin = alerting.origin
    const r = await fetchOne(origin, { retries: 2 })
    assert.equal(r.error, 'tls', r.message)
    assert.equal(r.attempts, 1, 'not retried: the port speaks TLS every time')
    assert.equal(
      r.message,
      `TLS: ${origin.slice(7)} answered in TLS to a plain http:// request: is the URL meant to be https://? (${origin}/x.jpg)`,
    )
  } finally {
    await alerting.close()
  }
})

// the sibling over HTTP/2. A port that speaks only cleartext HTTP/2 (hyper without
// `http1`, hyperium/hyper#2378; an nginx `listen ... http2` without `ssl`; a gRPC port) answers an
// HTTP/1.1 request with its SETTINGS frame: 'a status line that is not HTTP/1.1's
// (`\x00\x00\x12\x04...`)', a network error retried every time. curl says "Received HTTP/0.9 when
// not allowed", aria2c fails, wget2 retries and saves nothing; none would read it without being told.
test('an http:// URL whose port speaks only cleartext HTTP/2 (a SETTINGS frame back): said so, at once', async () => {
  const server = createH2cServer((_req, res) => res.end(makeImage('h2c.jpg', 5000)))
  const h2c = await listenLocal(server)
  try {
    const r = await fetchOne(h2c.origin, { retries: 2 })
    assert.equal(r.error, 'network', r.message)
    assert.equal(r.attempts, 1, 'not retried: the port speaks HTTP/2 every time')
    assert.equal(
      r.message,
      `network error on ${h2c.origin}/x.jpg: the server answered in HTTP/2 (a SETTINGS frame) to an HTTP/1.1 request: the port speaks only cleartext HTTP/2 (h2c with prior knowledge), which browsers and imgpull do not speak (curl: --http2-prior-knowledge)`,
    )
    // Other bytes that are no HTTP are not taken for it.
    for (const [bytes, http2] of [
      ['\x00\x00\x12\x04\x00\x00\x00\x00\x00', true],
      ['\x00\x00\x00\x04\x00\x00\x00\x00\x00', true],
      ['\x00\x00\x12\x04\x01\x00\x00\x00\x00', false],
      ['\x00\x00\x13\x04\x00\x00\x00\x00\x00', false],
      ['\x00\x00\x12\x04\x00\x00\x00\x00\x01', false],
      ['\x00\x00\x08\x07\x00\x00\x00\x00\x00', false],
      ['\x00\x00\x12\x04\x00\x00\x00', false],
      ['SSH-2.0-OpenSSH_9.6\r\n', false],
    ] as const)
      assert.equal(beginsHttp2Settings(bytes), http2, JSON.stringify(bytes))
  } finally {
    await h2c.close()
  }
})

// a TLS front that takes the connection and the ClientHello and never answers (curl:
// "SSL connection timeout") was told as a bare "connect timeout", as a dropped SYN and a resolver
// that never answers were: a user looked for a firewall. The message says the handshake stalled.
test('a TLS handshake that gets no answer: the connect timeout says so, on transfer threads too', async () => {
  let hellos = 0
  const mute = await startRawServer((socket) => {
    socket.on('data', () => hellos++)
  })
  try {
    const origin = `https://127.0.0.1:${mute.port}`
    for (const threads of [0, 1]) {
      const r = await fetchOne(origin, { retries: 0, connectTimeout: 300, threads })
      assert.equal(r.error, 'timeout', r.message)
      assert.equal(
        r.message,
        `connect timeout after 300 ms on ${origin}/x.jpg: the TLS handshake got no answer (the TCP connection was accepted)`,
      )
    }
    assert.ok(hellos >= 2, 'the ClientHellos reached the server')
  } finally {
    await mute.close()
  }
})

// nodejs/node#47232, conscrypt#777: a TLS 1.3 server refuses a client without a certificate after
// the handshake, with alert 116; undici's 'other side closed' hid it: a network error, retried.
test('a TLS 1.3 server that wants a client certificate: tls at once, in words, direct and through a proxy tunnel', async () => {
  const proxy = await startForwardProxy()
  try {
    for (const proxied of [false, true]) {
      const r = await fetchOne(origins.clientCert13, {
        caCert: certs.ca,
        ...(proxied ? { proxy: proxy.url } : { proxy: false }),
      })
      assert.equal(r.error, 'tls', `${proxied}: ${r.error} ${r.message}`)
      assert.equal(r.attempts, 1, 'not retried')
      assert.match(r.message!, /cannot talk to .* securely: the server asks for a client certificate/)
    }
    assert.ok(proxy.log.some((entry) => entry.method === 'CONNECT'))
  } finally {
    await proxy.close()
  }
})

test('a server that needs a host name (SNI), its URL given by IP address: tls, saying to give it by name; by name the file is kept', async () => {
  // No default certificate, as nginx's `ssl_reject_handshake on` default server, Caddy or a CDN
  // edge: a handshake naming no host is refused with a handshake failure (curl: exit 35).
  const context = createSecureContext(tlsPair(certs.good))
  const server = createServer(
    { SNICallback: (name, cb) => cb(null, name === 'localhost' ? context : undefined) },
    (_, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length })
      res.end(body)
    },
  )
  const needsName = await listenLocal(server, 'https')
  try {
    const r = await fetchOne(needsName.origin, { caCert: certs.ca, retries: 1 })
    assert.equal(r.error, 'tls', r.message)
    assert.equal(
      r.message,
      `TLS: cannot talk to 127.0.0.1:${needsName.port} securely: the server refused the TLS handshake (no cipher in common, or it wants a client certificate: --cert gives one (a PKCS #12 file, or PEM with --key)); or it needs a host name (SNI), which a URL with an IP address does not send: give the URL by a name the server serves`,
    )
    const named = await fetchOne(`https://localhost:${needsName.port}`, {
      caCert: certs.ca,
      out: join(dir, 'sni-named'),
    })
    assert.equal(named.status, 'ok', named.message)
    // By a name, the same refusal says nothing of addresses.
    const problem = tlsProblem({ code: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' })!
    assert.doesNotMatch(tlsMessage('https://cdn.example.org/a.jpg', problem), /SNI/)
    assert.match(tlsMessage('https://[::1]:8443/a.jpg', problem), /a URL with an IP address does not send/)
  } finally {
    await needsName.close()
  }
})

/**
 * A TLS 1.2 server whose ServerHello goes without RFC 5746's renegotiation_info, as a Citrix
 * NetScaler that denies renegotiation sends it (Kong/insomnia#4543): a relay in front of a Node
 * server takes the extension out of its hello (OpenSSL refuses it there, before the handshake's
 * end would show the change).
 */
async function withoutRenegotiationInfo(): Promise<LocalServer> {
  const inner = await listenLocal(createServer({ ...tlsPair(certs.good), maxVersion: 'TLSv1.2' }), 'https')
  servers.push(inner)
  const stripped = (record: Buffer): Buffer => {
    const hello = record.subarray(5)
    if (record[0] !== 0x16 || hello[0] !== 2) return record
    let at = 4 + 2 + 32
    at += 1 + hello[at] + 3 // session id, cipher suite, compression
    const extensionsAt = at
    const end = at + 2 + hello.readUInt16BE(at)
    const kept: Buffer[] = []
    for (at += 2; at < end; at += 4 + hello.readUInt16BE(at + 2))
      if (hello.readUInt16BE(at) !== 0xff01)
        kept.push(hello.subarray(at, at + 4 + hello.readUInt16BE(at + 2)))
    const extensions = Buffer.concat(kept)
    const body = Buffer.concat([
      hello.subarray(4, extensionsAt),
      Buffer.from([0, extensions.length]),
      extensions,
    ])
    const rest = hello.subarray(4 + hello.readUIntBE(1, 3))
    const handshake = Buffer.concat([Buffer.from([2, 0, body.length >> 8, body.length & 255]), body, rest])
    return Buffer.concat([
      record.subarray(0, 3),
      Buffer.from([handshake.length >> 8, handshake.length & 255]),
      handshake,
    ])
  }
  const relay = await startRawServer((client) => {
    const upstream = connect(inner.port, '127.0.0.1')
    client.pipe(upstream)
    let held = Buffer.alloc(0)
    let done = false
    upstream.on('data', (data: Buffer) => {
      if (done) return void client.write(data)
      held = Buffer.concat([held, data])
      if (held.length < 5 || held.length < 5 + held.readUInt16BE(3)) return
      done = true
      const length = 5 + held.readUInt16BE(3)
      client.write(Buffer.concat([stripped(held.subarray(0, length)), held.subarray(length)]))
    })
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
  })
  servers.push(relay)
  return relay
}

// OpenSSL 3 (Node 17+) refuses a TLS 1.2 server that does not speak RFC 5746, where browsers and
// wget2 take it; Node said only OpenSSL's reason ('unsafe legacy renegotiation disabled',
// node-fetch#1356), and the cure (an OpenSSL configuration of Node's) was left to a search.
test('a server without secure renegotiation (RFC 5746): tls at once, said so with the cure, direct and through a proxy tunnel', async () => {
  const server = await withoutRenegotiationInfo()
  const proxy = await startForwardProxy()
  try {
    for (const via of [false, proxy.url] as const) {
      const r = await fetchOne(`https://localhost:${server.port}`, { caCert: certs.ca, proxy: via })
      assert.equal(r.error, 'tls', r.message)
      assert.equal(r.attempts, 1, 'not retried')
      assert.equal(
        r.message,
        `TLS: cannot talk to localhost:${server.port} securely: the server does not offer secure renegotiation (RFC 5746), which OpenSSL 3 requires (curl refuses it too; browsers take it): the server must fix it, or OPENSSL_CONF naming a file that sets Options = UnsafeLegacyServerConnect allows it (unsafe; see README, TLS)`,
      )
    }
    assert.ok(
      proxy.log.some((entry) => entry.method === 'CONNECT' && entry.target === `localhost:${server.port}`),
    )
  } finally {
    await proxy.close()
  }
})

test('a TLS failure after a redirect names the host whose certificate failed', async () => {
  const redirecting = await listenLocal(
    createHttpServer((_req, res) => {
      res.writeHead(302, { location: `${origins.selfSigned}/target.jpg` }).end()
    }),
  )
  servers.push(redirecting)
  const port = redirecting.port
  const r = await fetchOne(`http://127.0.0.1:${port}`)
  assert.equal(r.error, 'tls', r.message)
  const target = new URL(origins.selfSigned).host
  assert.ok(r.message!.startsWith(`TLS: cannot verify ${target}: its certificate is self-signed`), r.message)
  assert.match(r.message!, new RegExp(`\\(redirected from http://127\\.0\\.0\\.1:${port}/x\\.jpg\\)$`))
})

// nodejs/undici#5355: undici 7 failed a connection's ERR_TLS_CERT_ALTNAME_INVALID without taking
// the requests waiting on it off its queue, then sent nothing more on it: each request given to it
// after that waited for the headers timeout and was tried again (2,000 files on such a host: 64 s,
// one in ten tried twice). Other certificate failures took undici's common path and failed at once.
test("a certificate for another name fails each of the host's files at once, direct and through a proxy: none waits for the headers timeout", async () => {
  const proxy = await startForwardProxy()
  try {
    for (const via of [undefined, proxy.url]) {
      const urls = Array.from({ length: 40 }, (_, i) => `${origins.otherHost}/m-${i}.jpg`)
      const results: Result[] = []
      for await (const r of pull(urls, {
        out: join(dir, `mismatch-${via ? 'proxy' : 'direct'}`),
        journal: false,
        caCert: certs.ca,
        // A request left waiting on the failed connection (undici#5355) waits for this, past the
        // run's bound below: stopped there, it fails as stopped, not as the certificate.
        headersTimeout: 120_000,
        signal: AbortSignal.timeout(60_000),
        concurrency: 16,
        proxy: via ?? false,
      }))
        results.push(r)
      assert.equal(results.length, urls.length)
      const late = results.filter((r) => r.attempts > 1 || !/its certificate is for /.test(r.message!))
      assert.deepEqual(
        late.map((r) => r.message),
        [],
        `${via ?? 'direct'}: ${late.length} of ${results.length} not failed at once`,
      )
    }
  } finally {
    await proxy.close()
  }
})

// A host's certificate is the same for each of its files: each opened a connection of its own and
// failed so, one line each (2,000 files: 7 s; a list of a million, hours), where a refused port or
// a silent host is given up. More than one file first: a load balancer may have one stale node.
test('a host whose certificate fails 3 files, none served, is given up for the run: its other files fail tls without a request', async () => {
  const urls = Array.from({ length: 30 }, (_, i) => `${origins.selfSigned}/g-${i}.jpg`)
  const results: Result[] = []
  for await (const r of pull(urls, { out: join(dir, 'tls-given-up'), journal: false, concurrency: 2 }))
    results.push(r)
  assert.ok(
    results.every((r) => r.error === 'tls' && r.message!.includes('its certificate is self-signed')),
    JSON.stringify(results.map((r) => r.message)),
  )
  const giving = results.filter((r) =>
    r.message!.endsWith('; 3 of its files failed so, none served: its other files are not tried in this run'),
  )
  assert.equal(giving.length, 1, JSON.stringify(results.map((r) => r.message)))
  const notTried = results.filter((r) => r.message!.startsWith('not tried:'))
  assert.ok(notTried.length >= 26, `${notTried.length} not tried`)
  assert.match(notTried[0].message!, /; a rerun tries it again$/)
})

test('caCert trusts a private CA; an unreadable or empty file is a TypeError naming it', async () => {
  const ok = await fetchOne(origins.privateCa, { caCert: certs.ca })
  assert.equal(ok.status, 'ok', ok.message)
  assert.equal(ok.bytes, body.length)
  // The issuing CA alone (its root not given) is trusted, as curl and wget trust it.
  const viaInt = await fetchOne(origins.viaIntermediate, { caCert: certs.intermediate })
  assert.equal(viaInt.status, 'ok', viaInt.message)
  assert.throws(() => pull([], { caCert: join(dir, 'missing.pem') }), /caCert.*missing\.pem/)
  assert.throws(() => pull([], { caCert: certs.good.key }), /caCert.*has none/)
})

// An https:// proxy whose certificate a company CA signed, in front of a server a private CA
// signed: curl takes them as --proxy-cacert and --cacert. `--ca-cert` given twice kept the last
// file alone (commander's way), without a word: whichever came first failed every file with tls.
test("--ca-cert given twice trusts both files: an https:// proxy's CA and the server's, in either order", async () => {
  const proxy = await startForwardProxy({ tls: tlsPair(certs.selfSigned) })
  try {
    const url = `${origins.privateCa}/two.jpg`
    const env = {
      HTTPS_PROXY: '',
      https_proxy: '',
      HTTP_PROXY: '',
      http_proxy: '',
      ALL_PROXY: '',
      all_proxy: '',
    }
    for (const [i, files] of [
      [certs.ca, certs.selfSigned.cert],
      [certs.selfSigned.cert, certs.ca],
    ].entries()) {
      proxy.log.length = 0
      const out = join(dir, `two-cas-${i}`)
      const r = await runCli(
        [url, '-o', out, '--proxy', proxy.url, '--ca-cert', files[0], '--ca-cert', files[1]],
        { env },
      )
      assert.equal(r.code, 0, r.stderr)
      assert.equal(readFileSync(join(out, 'two.jpg')).length, body.length)
      assert.equal(proxy.log.length, 1, JSON.stringify(proxy.log))
    }
    // The library takes them as an array.
    const ok = await fetchOne(origins.privateCa, {
      proxy: proxy.url,
      caCert: [certs.selfSigned.cert, certs.ca],
    })
    assert.equal(ok.status, 'ok', ok.message)
    assert.throws(
      () => pull([], { caCert: [certs.ca, 5 as unknown as string] }),
      /`caCert` to be a file's path or an array of them, got/,
    )
    assert.throws(() => pull([], { caCert: [certs.ca, join(dir, 'missing.pem')] }), /caCert.*missing\.pem/)
  } finally {
    await proxy.close()
  }
})

// Windows' certificate export, Java's keytool and browsers give a CA as DER (`.cer`, `.der`): it
// was refused as holding no certificate, and passed over in SSL_CERT_DIR without a word; a folder
// given as a file said only 'EISDIR: illegal operation on a directory'.
test('a DER certificate is trusted as its PEM is, from caCert, SSL_CERT_FILE and SSL_CERT_DIR; a folder given as a file says so', async () => {
  const derDir = join(dir, 'der')
  mkdirSync(derDir, { recursive: true })
  const der = join(derDir, 'ca.cer')
  writeFileSync(der, new X509Certificate(readFileSync(certs.ca)).raw)
  const ok = await fetchOne(origins.privateCa, { caCert: der })
  assert.equal(ok.status, 'ok', ok.message)
  const pem = readFileSync(certs.ca, 'utf8').replace(/\s+/g, '')
  for (const env of [{ SSL_CERT_FILE: der }, { SSL_CERT_DIR: derDir }]) {
    const added = extraCas(undefined, env)
    assert.deepEqual(
      added.map((p) => p.replace(/\s+/g, '')),
      [pem],
      JSON.stringify(env),
    )
  }
  assert.throws(
    () => pull([], { caCert: derDir }),
    new RegExp(
      `caCert\` to be a readable PEM file: ${derDir} is a folder \\(SSL_CERT_DIR=${derDir} takes a folder`,
    ),
  )
})

// Windows PowerShell 5 writes whatever it redirects (`>`, `Out-File`) in UTF-16 with a byte order
// mark: a CA copied out of the certificate store so was refused as holding no certificate
// (awslabs/aws-c-io#280), and left out of SSL_CERT_FILE and NODE_EXTRA_CA_CERTS (Node reads no
// PEM in it either).
test('a PEM file in UTF-16 (with its byte order mark) is trusted as in ASCII, from caCert, SSL_CERT_FILE and NODE_EXTRA_CA_CERTS', async () => {
  const text = readFileSync(certs.ca, 'utf8').replace(/\n/g, '\r\n')
  const little = Buffer.from(`\ufeff${text}`, 'utf16le')
  const files = { le: little, be: Buffer.from(little).swap16() }
  const pem = readFileSync(certs.ca, 'utf8').replace(/\s+/g, '')
  for (const [order, bytes] of Object.entries(files)) {
    const file = join(dir, `ca-utf16${order}.pem`)
    writeFileSync(file, bytes)
    const ok = await fetchOne(origins.privateCa, { caCert: file })
    assert.equal(ok.status, 'ok', `${order}: ${ok.message}`)
    for (const env of [{ SSL_CERT_FILE: file }, { NODE_EXTRA_CA_CERTS: file }]) {
      const added = extraCas(undefined, env).map((p) => p.replace(/\s+/g, ''))
      assert.deepEqual(added, [pem], `${order} ${JSON.stringify(env)}`)
    }
  }
})

// A CA pasted with its lines indented (out of a YAML file or a Kubernetes ConfigMap: Node said
// `bad end line`, openssl/openssl#8815) was refused, the run not started (`certificate 1 cannot be
// read: error:04800066:PEM routines::bad end line`), and left out of SSL_CERT_FILE, SSL_CERT_DIR
// and NODE_EXTRA_CA_CERTS without a word. RFC 7468 §3 asks parsers to take white space there (its
// lax grammar). Spaces after each line (paketo-buildpacks/ca-certificates#269) OpenSSL 3 takes.
test('a PEM file whose lines are indented or end in spaces is trusted as it is plain, from caCert, SSL_CERT_FILE, SSL_CERT_DIR and NODE_EXTRA_CA_CERTS', async () => {
  const text = readFileSync(certs.ca, 'utf8')
  const pem = text.replace(/\s+/g, '')
  const files = {
    indented: `ca:\n  |\n${text.replace(/^/gm, '    ')}`,
    trailing: text.replace(/\n/g, '  \t\r\n'),
  }
  for (const [kind, content] of Object.entries(files)) {
    const file = join(dir, `ca-${kind}.pem`)
    writeFileSync(file, content)
    const ok = await fetchOne(origins.privateCa, { caCert: file })
    assert.equal(ok.status, 'ok', `${kind}: ${ok.message}`)
    const folder = join(dir, `ca-${kind}`)
    mkdirSync(folder, { recursive: true })
    writeFileSync(join(folder, 'ca.pem'), content)
    for (const env of [{ SSL_CERT_FILE: file }, { SSL_CERT_DIR: folder }]) {
      const added = extraCas(undefined, env).map((p) => p.replace(/\s+/g, ''))
      assert.deepEqual(added, [pem], `${kind} ${JSON.stringify(env)}`)
    }
    // Node reads NODE_EXTRA_CA_CERTS itself: what it cannot read (indented) is added here.
    const passedOver = extraCas(undefined, { NODE_EXTRA_CA_CERTS: file }).map((p) => p.replace(/\s+/g, ''))
    assert.deepEqual(passedOver, kind === 'indented' ? [pem] : [], kind)
  }
})

// `.env` files, `docker run --env-file` (docker/cli#3630) and systemd's EnvironmentFile keep the
// quotes around `SSL_CERT_FILE="/etc/ssl/corp.pem"`: the CA was left out (`'"/etc/ssl/corp.pem"':
// no such file`), where the proxy variables are read without them. A file given as SSL_CERT_DIR
// was warned about in Node's words (`ENOTDIR: not a directory, scandir ...`).
test('a CA variable in quotes names the file inside them (SSL_CERT_FILE, CURL_CA_BUNDLE, SSL_CERT_DIR, NODE_EXTRA_CA_CERTS); a file as SSL_CERT_DIR is said so', async () => {
  const folder = join(dir, 'quoted-certs')
  mkdirSync(folder, { recursive: true })
  writeFileSync(join(folder, 'ca.pem'), readFileSync(certs.ca))
  const pem = readFileSync(certs.ca, 'utf8').replace(/\s+/g, '')
  for (const env of [
    { SSL_CERT_FILE: `"${certs.ca}"` },
    { CURL_CA_BUNDLE: ` '${certs.ca}' ` },
    { SSL_CERT_DIR: `"${folder}"` },
    { NODE_EXTRA_CA_CERTS: `"${certs.ca}"` },
  ]) {
    const added = extraCas(undefined, env).map((p) => p.replace(/\s+/g, ''))
    assert.deepEqual(added, [pem], JSON.stringify(env))
  }
  const ok = await withEnv({ SSL_CERT_FILE: `"${certs.ca}"` }, () => fetchOne(origins.privateCa))
  assert.equal(ok.status, 'ok', ok.message)
  const warnings: string[] = []
  const heard = (w: Error) => warnings.push(w.message)
  process.on('warning', heard)
  try {
    assert.deepEqual(extraCas(undefined, { SSL_CERT_DIR: certs.ca }), [])
    await new Promise((resolve) => setImmediate(resolve))
  } finally {
    process.off('warning', heard)
  }
  assert.deepEqual(warnings, [
    `SSL_CERT_DIR: ${certs.ca}: is a file, not a folder (SSL_CERT_FILE=${certs.ca} takes a file of certificates); its certificates are not trusted`,
  ])
})

// SSL_CERT_DIR was read once a process (SSL_CERT_FILE each run): a CA a user put in the folder
// after a library caller's first pull() was not trusted by the next one ('an authority not trusted here').
test('a CA added to SSL_CERT_DIR between two pulls of one process is trusted by the second', async () => {
  const later = join(dir, 'later-certs')
  mkdirSync(later, { recursive: true })
  const before = await withEnv({ SSL_CERT_DIR: later }, () => fetchOne(origins.privateCa))
  assert.equal(before.status, 'failed')
  assert.match(before.message ?? '', /an authority not trusted here/)
  writeFileSync(join(later, 'company-ca.pem'), readFileSync(certs.ca))
  const after = await withEnv({ SSL_CERT_DIR: later }, () => fetchOne(origins.privateCa))
  assert.equal(after.status, 'ok', after.message)
})

// Node codes only some of OpenSSL's verify failures; the others are `UNSPECIFIED`, and those
// not of a weak key or digest were no TLS failure: `network`, retried for 14 s, 'network error on
// URL: permitted subtree violation (UNSPECIFIED)', where curl fails at once (exit 60).
test("a certificate outside its CA's name constraints, or with a critical extension OpenSSL does not know: tls at once, in words, the server's to fix", async () => {
  const ncDir = join(dir, 'constraints')
  mkdirSync(ncDir, { recursive: true })
  // Each argument without spaces: a line of openssl's.
  const openssl = (line: string) => execFileSync('openssl', line.split(' '), { cwd: ncDir, stdio: 'pipe' })
  const ec = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2'
  // A company CA that may certify names under example.org alone, and one without constraints (so
  // that the extension alone fails the second).
  openssl(
    `req -x509 ${ec} -subj /CN=Constrained -keyout ca.key -out ca.pem -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign -addext nameConstraints=critical,permitted;DNS:.example.org`,
  )
  openssl(`req -x509 ${ec} -subj /CN=Plain -keyout plain.key -out plain.pem`)
  const leaf = (name: string, ext: string, issuer: string) => {
    openssl(`req -new ${ec} -subj /CN=localhost -keyout ${name}.key -out ${name}.csr`)
    writeFileSync(join(ncDir, `${name}.ext`), `subjectAltName=DNS:localhost,IP:127.0.0.1\n${ext}`)
    openssl(
      `x509 -req -in ${name}.csr -CA ${issuer}.pem -CAkey ${issuer}.key -CAcreateserial -days 2 -extfile ${name}.ext -out ${name}.pem`,
    )
    return { cert: join(ncDir, `${name}.pem`), key: join(ncDir, `${name}.key`) }
  }
  const cases = [
    {
      pair: leaf('outside', '', 'ca'),
      ca: join(ncDir, 'ca.pem'),
      words:
        "its certificate is for a name its CA may not certify (the CA's name constraints: permitted subtree violation)",
    },
    {
      // A private extension marked critical (1.3.6.1.4.1.99999.1).
      pair: leaf('critical', '1.3.6.1.4.1.99999.1=critical,ASN1:UTF8String:x', 'plain'),
      ca: join(ncDir, 'plain.pem'),
      words: 'its certificate has a critical extension OpenSSL does not know (unhandled critical extension)',
    },
  ]
  for (const { pair, ca, words } of cases) {
    const server = await listenLocal(createServer(tlsPair(pair)), 'https')
    servers.push(server)
    const r = await fetchOne(`https://localhost:${server.port}`, { caCert: ca, retries: 2 })
    assert.equal(r.error, 'tls', r.message)
    assert.equal(r.attempts, 1, 'not retried')
    assert.equal(
      r.message,
      `TLS: cannot verify localhost:${server.port}: ${words}; the server must fix it; --insecure skips certificate checks altogether (unsafe)`,
    )
  }
})

// A chain exported from Windows ('PKCS #7 Certificates', .p7b), as a company's IT often hands out
// its CA, was refused as holding no certificate; and a file that held something else (a key, a
// request, a .pfx) was said to hold none, not what it holds.
test('a PKCS #7 bundle (.p7b, PEM or DER) is trusted as its certificates are, from caCert, SSL_CERT_FILE and SSL_CERT_DIR; a key, a request or a PKCS #12 file is named', async () => {
  const p7Dir = join(dir, 'p7b')
  mkdirSync(p7Dir, { recursive: true })
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: p7Dir, stdio: 'pipe' })
  const pem = join(p7Dir, 'chain.p7b')
  const der = join(p7Dir, 'chain-der.p7b')
  for (const [out, form] of [
    [pem, 'PEM'],
    [der, 'DER'],
  ])
    openssl(
      'crl2pkcs7',
      '-nocrl',
      '-certfile',
      certs.intermediate,
      '-certfile',
      certs.ca,
      '-outform',
      form,
      '-out',
      out,
    )
  for (const [i, caCert] of [pem, der].entries()) {
    const ok = await fetchOne(origins.privateCa, { caCert, out: join(dir, `p7b-${i}`) })
    assert.equal(ok.status, 'ok', ok.message)
  }
  const expected = [certs.intermediate, certs.ca].map((file) =>
    readFileSync(file, 'utf8').replace(/\s+/g, ''),
  )
  for (const env of [{ SSL_CERT_FILE: pem }, { SSL_CERT_FILE: der }]) {
    const added = extraCas(undefined, env)
    assert.deepEqual(
      added.map((p) => p.replace(/\s+/g, '')),
      expected,
      JSON.stringify(env),
    )
  }
  const dirOnly = join(p7Dir, 'dir')
  mkdirSync(dirOnly)
  writeFileSync(join(dirOnly, 'chain.p7b'), readFileSync(der))
  assert.deepEqual(
    extraCas(undefined, { SSL_CERT_DIR: dirOnly }).map((p) => p.replace(/\s+/g, '')),
    expected,
  )
  // What such a file holds instead, said; a PKCS #12 file with the command that takes its certificates out.
  const p12 = join(p7Dir, 'server.p12')
  openssl(
    'pkcs12',
    '-export',
    '-inkey',
    certs.good.key,
    '-in',
    certs.good.cert,
    '-passout',
    'pass:x',
    '-out',
    p12,
  )
  const csr = join(p7Dir, 'server.csr')
  openssl('req', '-new', '-key', certs.good.key, '-subj', '/CN=localhost', '-out', csr)
  for (const [file, held] of [
    [certs.good.key, ' \\(it holds a PEM PRIVATE KEY\\)$'],
    [csr, ' \\(it holds a PEM CERTIFICATE REQUEST\\)$'],
    [
      p12,
      ` \\(it is a PKCS #12 file, a key with its certificates: openssl pkcs12 -in ${p12} -nokeys -out ca\\.pem takes the certificates out\\)$`,
    ],
  ])
    assert.throws(
      () => pull([], { caCert: file }),
      new RegExp(`caCert\` to hold PEM certificates: ${file} has none${held}`),
    )
})

test('insecure takes what any certificate serves, with one warning per run', async () => {
  const warnings: Error[] = []
  const onWarning = (w: Error) => warnings.push(w)
  process.on('warning', onWarning)
  try {
    const r = await fetchOne(origins.selfSigned, { insecure: true })
    assert.equal(r.status, 'ok', r.message)
    await new Promise((resolve) => setImmediate(resolve))
    const ours = warnings.filter((w) => (w as { code?: string }).code === 'IMGPULL_INSECURE')
    assert.equal(ours.length, 1)
    assert.equal(ours[0].message, INSECURE_WARNING)
  } finally {
    process.off('warning', onWarning)
  }
})

// a URL whose host is written fully qualified (`https://cdn.example.com./a.jpg`) sent
// its trailing dot in the TLS server name; Go's TLS servers (Caddy, Traefik) refuse that
// handshake (golang/go#63117, RFC 6066 §3), where curl, which strips it, gets the image.
test('a host name with a trailing dot: the server name (SNI) goes without it, the certificate checked for the name', async () => {
  assert.deepEqual(serverName(new URL('https://cdn.example.com./a.jpg')), { servername: 'cdn.example.com' })
  assert.deepEqual(serverName(new URL('https://cdn.example.com/a.jpg')), {})
  assert.deepEqual(serverName(new URL('http://cdn.example.com./a.jpg')), {})
  const names: string[] = []
  // As Go's crypto/tls does: a server name with a trailing dot ends the handshake.
  const strict = createServer({
    ...tlsPair(certs.good),
    SNICallback: (name, done) => {
      names.push(name)
      done(name.endsWith('.') ? new Error('tls: unexpected message') : null, undefined)
    },
  })
  const port = await listen(strict)
  type Callback = (e: Error | null, address: string | LookupAddress[], family?: number) => void
  type Lookup = (name: string, options: LookupOptions, callback: Callback) => void
  const system = dns.lookup as unknown as Lookup
  const standIn: Lookup = (name, options, callback) => {
    if (name !== 'localhost.') return system(name, options, callback)
    if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }])
    else callback(null, '127.0.0.1', 4)
  }
  ;(dns as { lookup: unknown }).lookup = standIn
  // The proxies, in this process, look the name up through the stand-in too.
  const proxies = [await startForwardProxy(), await startSocks5Proxy()]
  try {
    const r = await fetchOne(`https://localhost.:${port}`, { caCert: certs.ca, retries: 0 })
    assert.equal(r.status, 'ok', r.message)
    assert.deepEqual(names, ['localhost'])
    // through an HTTP proxy's CONNECT tunnel and a SOCKS5 proxy, the dot stayed.
    for (const proxy of proxies) {
      names.length = 0
      const through = await fetchOne(`https://localhost.:${port}`, {
        caCert: certs.ca,
        retries: 0,
        proxy: proxy.url,
      })
      assert.equal(through.status, 'ok', `${proxy.url}: ${through.message}`)
      assert.deepEqual(names, ['localhost'], proxy.url)
      assert.equal(proxy.log.length, 1, 'through the proxy')
    }
  } finally {
    ;(dns as { lookup: unknown }).lookup = system
    await Promise.all(proxies.map((p) => p.close()))
  }
})

// over HTTP/2, a TLS record that did not parse after the handshake (the server's raw
// alert, as a middlebox corrupting bytes makes one) failed as `tls`, at once ("the TLS handshake
// failed (bad record type)"), where the next connection fetched the file; three such files would
// give up the host for the run. It is the connection's failure, as a reset is.
test('a TLS record that does not parse after the handshake, mid-answer or before it: network, retried, in words; over HTTP/1.1 too', async () => {
  const image = makeImage('corrupt-record.jpg', 30_000)
  const seen = new Map<string, number>()
  /** The connection gets a plaintext alert record, which no TLS 1.3 peer takes after its handshake. */
  const corrupt = (socket?: {
    _parent?: { write(b: Buffer): void }
    destroy(): void
    destroyed: boolean
  }) => {
    // The connection is gone already (HTTP/2: another stream's record broke it).
    if (!socket || socket.destroyed) return
    socket._parent!.write(Buffer.from([0x15, 3, 3, 0, 2, 2, 40]))
    setTimeout(() => socket.destroy(), 50)
  }
  const answer = (
    path: string,
    respond: (length: number) => void,
    write: (b: Buffer, written?: () => void) => void,
    cut: () => void,
  ) => {
    const n = (seen.get(path) ?? 0) + 1
    seen.set(path, n)
    if (path.includes('once') && n > 1) {
      respond(image.length)
      return write(image)
    }
    if (path.includes('head')) return setTimeout(cut, 20)
    respond(image.length)
    // Cut once the part is written out (a loaded machine's HTTP/2 session sent the bad record
    // before it: no body byte, a `network` failure, not a cut one).
    write(image.subarray(0, 12_000), () => setTimeout(cut, 100))
  }
  const h2 = createSecureServer(tlsPair(certs.good))
  h2.on('stream', (stream, headers) => {
    stream.on('error', () => {})
    const session = stream.session as object
    const key = Object.getOwnPropertySymbols(session).find((s) => s.description === 'socket')!
    answer(
      `h2${headers[':path']}`,
      (length) => stream.respond({ ':status': 200, 'content-type': 'image/jpeg', 'content-length': length }),
      (b, written) => (b.length === image.length ? stream.end(b) : stream.write(b, written)),
      () => corrupt((session as Record<symbol, never>)[key]),
    )
  })
  const h1 = createServer(tlsPair(certs.good))
  h1.on('request', (req, res) =>
    answer(
      `h1${req.url}`,
      (length) => res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': length }),
      (b, written) => (b.length === image.length ? res.end(b) : res.write(b, written)),
      () => corrupt(res.socket as never),
    ),
  )
  const servers = [await listenLocal(h2, 'https'), await listenLocal(h1, 'https')]
  try {
    for (const { origin } of servers) {
      const urls = ['once-body', 'once-head', 'always-body', 'always-head'].map((p) => `${origin}/${p}.jpg`)
      const results: Result[] = []
      // The files that break at every attempt go in a run of their own: over HTTP/2 their record
      // breaks the connection every stream shares, and a retry of a 'once' file that a loaded
      // machine had put off could go out on it.
      for (const run of [urls.slice(0, 2), urls.slice(2)])
        for await (const r of pull(run, {
          out: join(dir, 'corrupt'),
          journal: false,
          caCert: certs.ca,
          retries: 1,
        }))
          results.push(r)
      for (const url of urls) {
        const r = results.find((x) => x.job.url === url)!
        assert.equal(r.attempts, 2, `${url}: ${r.message}`)
        if (url.includes('once')) assert.equal(r.status, 'ok', `${url}: ${r.message}`)
        // Cut short of its length, `truncated` (its bytes kept for a resume); before the head, `network`.
        else assert.equal(r.error, url.includes('body') ? 'truncated' : 'network', `${url}: ${r.message}`)
      }
    }
    // HTTP/2 has the TLS error itself (HTTP/1.1's is undici's closed connection): said as what it is.
    const always = `${servers[0].origin}/always-head.jpg`
    const [r] = await (async () => {
      const out: Result[] = []
      for await (const x of pull([always], {
        out: join(dir, 'corrupt2'),
        journal: false,
        caCert: certs.ca,
        retries: 0,
      }))
        out.push(x)
      return out
    })()
    assert.equal(
      r.message,
      `network error on ${always}: the TLS connection failed after its handshake (bad record type: a corrupt record?) (ERR_SSL_BAD_RECORD_TYPE)`,
    )
  } finally {
    await Promise.all(servers.map((s) => s.close()))
  }
})
