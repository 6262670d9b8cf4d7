import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createServer as createHttpsServer } from 'node:https'
import { createConnection, createServer as createNetServer } from 'node:net'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { createSecureContext } from 'node:tls'
import { pull } from '../src/index.js'
import type { Options } from '../src/options.js'
import type { Result } from '../src/types.js'
import { caSigned, makeCerts, type TestCerts, tlsPair } from './support/certs.js'
import { cleanup, tempDir } from './support/cli.js'
import { makeImage } from './support/images.js'
import { listenLocal } from './support/raw-server.js'
import { startSocks5Proxy } from './support/socks5-proxy.js'
import { ALERT, startAlertingServer } from './support/tls-alert.js'

let dir: string
let certs: TestCerts
const image = makeImage('tls-ends.jpg', 30_000)
const head = `HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: ${image.length}\r\n\r\n`
const answer = Buffer.concat([Buffer.from(head), image.subarray(0, 12_000)])

before(async () => {
  dir = await tempDir()
  certs = makeCerts(dir)
})
after(() => cleanup(dir))

async function pullOne(url: string, out: string, more: Options = {}): Promise<Result> {
  const results: Result[] = []
  for await (const r of pull([url], {
    out: join(dir, out),
    journal: false,
    caCert: certs.ca,
    retries: 1,
    ...more,
  }))
    results.push(r)
  return results[0]!
}

// A fatal alert once the handshake is done leaves the connection dead (RFC 8446 §6.2), but Node
// only emits the error and keeps the socket open, and undici fails a request only when its socket
// closes: a server that sent its alert and kept the TCP connection open left the body waiting for
// the idle timeout, 15 s an attempt (`timeout: the body stopped after 12000 of 30000 bytes`), and
// a request unanswered for the headers timeout, where curl fails at once with the alert (exit 56).
// An internal_error alert in place of the answer failed `tls` at once, not retried, as a
// handshake's failure (`the TLS handshake failed on the server side`): 3 such gave up the host.
test('a fatal alert after the handshake, from a server that keeps the connection open: retried at once, mid-body or in place of the answer, naming the alert', async () => {
  const pair = tlsPair(certs.good)
  for (const [alert, name] of [
    [ALERT.internalError, 'tlsv1 alert internal error'],
    [ALERT.badRecordMac, 'sslv3 alert bad record mac'],
  ] as const) {
    const body = await startAlertingServer(pair, (s) => s.write(answer), alert, 'head')
    const unanswered = await startAlertingServer(pair, (s) => s.write(answer), alert, 'request')
    try {
      const cut = body.relay.url(`/${alert}-body.jpg`)
      const r = await pullOne(cut, `body-${alert}`)
      assert.equal(r.error, 'truncated', `${cut}: ${r.message}`)
      assert.equal(r.attempts, 2, `${cut}: ${r.message}`)
      assert.match(r.message ?? '', /connection closed after 12000 of 30000 bytes/)
      const url = unanswered.relay.url(`/${alert}-head.jpg`)
      const none = await pullOne(url, `head-${alert}`)
      assert.equal(none.error, 'network', `${url}: ${none.message}`)
      assert.equal(none.attempts, 2, `${url}: ${none.message}`)
      const code = `ERR_SSL_${name.toUpperCase().replaceAll(' ', '_')}`
      const words = name.replace(/^\w+ alert /, '')
      // OpenSSL 3.5 (Node 24) names the SSLv3 alerts `SSL/TLS`: ERR_SSL_SSL/TLS_ALERT_BAD_RECORD_MAC.
      const codes = [code, code.replace('ERR_SSL_SSLV3_ALERT_', 'ERR_SSL_SSL/TLS_ALERT_')]
      assert.ok(
        codes.some(
          (c) =>
            none.message ===
            `network error on ${url}: the server ended the TLS connection after its handshake with a fatal alert (${words}) (${c})`,
        ),
        none.message,
      )
    } finally {
      await Promise.all([body.close(), unanswered.close()])
    }
  }
})

// A server of many names whose hello without a name (the URL by IP address: no SNI) gets a
// default certificate for a name of its own was told `the server must fix it`, where the cure is
// most often the URL by its host name; curl and wget2 say only that the name does not match.
test('a default certificate for another name where the URL gives an IP address: the message says no host name was sent (SNI) and to give the URL by name; by name the file is kept', async () => {
  const named = createSecureContext(tlsPair(certs.good))
  const server = createHttpsServer(
    { ...tlsPair(certs.otherHost), SNICallback: (name, cb) => cb(null, name ? named : undefined) },
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': image.length })
      res.end(image)
    },
  )
  const local = await listenLocal(server, 'https')
  try {
    const r = await pullOne(local.url('/by-ip.jpg'), 'by-ip')
    assert.equal(r.error, 'tls', r.message)
    assert.equal(
      r.message,
      `TLS: cannot verify 127.0.0.1:${local.port}: its certificate is for images.example.org, not 127.0.0.1; a URL with an IP address sends no host name (SNI), and a server of many names shows a default certificate without one: give the URL by the host name it is meant for; else the server must fix it; --insecure skips certificate checks altogether (unsafe)`,
    )
    const ok = await pullOne(`https://localhost:${local.port}/by-name.jpg`, 'by-name')
    assert.equal(ok.status, 'ok', ok.message)
  } finally {
    await local.close()
  }
})

// A certificate that writes the IP address a URL gives as a host name: a DNS entry (Windows'
// `New-SelfSignedCertificate -DnsName 192.168.1.10`, appliances), or its common name with no
// subjectAltName (MQTT-Explorer#598, rabbitmq/tls-gen#52). An address is checked against IP
// entries alone (RFC 5280 §4.2.1.6), by Node, curl and browsers alike, and the message said `its
// certificate is for 127.0.0.1, not 127.0.0.1`, then to give the URL by a host name.
test('a certificate giving the IP address of the URL as a DNS name or as its CN alone: tls, saying an address needs an IP entry', async () => {
  const kinds = {
    dns: ['subjectAltName=DNS:127.0.0.1', 'as a host name \\(DNS:127\\.0\\.0\\.1\\)'],
    cn: [
      'basicConstraints=CA:FALSE',
      'only as its common name \\(CN=127\\.0\\.0\\.1\\), with no subjectAltName',
    ],
  }
  for (const [kind, [ext, words]] of Object.entries(kinds)) {
    const pair = caSigned(dir, `ip-${kind}`, '/CN=127.0.0.1', ext)
    const local = await listenLocal(createHttpsServer(tlsPair(pair)), 'https')
    try {
      const r = await pullOne(local.url('/ip.jpg'), `ip-${kind}`)
      assert.equal(r.error, 'tls', r.message)
      assert.match(
        r.message ?? '',
        new RegExp(
          `^TLS: cannot verify 127\\.0\\.0\\.1:${local.port}: its certificate gives 127\\.0\\.0\\.1 ${words}, where an IP address is checked against its IP entries alone \\(RFC 5280 §4\\.2\\.1\\.6: subjectAltName IP:127\\.0\\.0\\.1\\); the server must fix it; --insecure`,
        ),
      )
    } finally {
      await local.close()
    }
  }
})

/**
 * An https:// server on 127.0.0.1 whose certificate (the CA's, `name`) gives the DNS names `dns`,
 * and `pull` options that reach it by any of `hosts` (a SOCKS5 proxy that resolves them there).
 */
async function namedServer(name: string, dns: string, hosts: string[]) {
  const pair = caSigned(dir, name, `/CN=${name}`, `subjectAltName=${dns}`)
  const local = await listenLocal(
    createHttpsServer(tlsPair(pair), (_req, res) => res.end(image)),
    'https',
  )
  const proxy = await startSocks5Proxy({ hosts: Object.fromEntries(hosts.map((h) => [h, '127.0.0.1'])) })
  const viaProxy = { proxy: proxy.url.replace('socks5:', 'socks5h:') }
  return { port: local.port, viaProxy, close: () => Promise.all([local.close(), proxy.close()]) }
}

// A wildcard stands for one label, the leftmost, and never for none (RFC 6125 §6.4.3; browsers,
// curl and Node agree): `*.example.test` covers a.example.test, not a.b.example.test
// (home-assistant/core#69480: `*.domain.com` for login.s1.domain.com) nor example.test itself
// (chromium/badssl.com#411 asks for both). The message said `its certificate is for
// *.example.test, not a.b.example.test`, which reads as a match to whoever takes `*` for any depth.
test('a wildcard certificate for a name two labels below it, or for its bare domain: tls, saying a wildcard covers one label', async () => {
  const { port, viaProxy, close } = await namedServer('wild', 'DNS:*.example.test,DNS:other.test', [
    'a.example.test',
    'a.b.example.test',
    'example.test',
  ])
  try {
    const ok = await pullOne(`https://a.example.test:${port}/one.jpg`, 'wild-one', viaProxy)
    assert.equal(ok.status, 'ok', ok.message)
    const covers = {
      'a.b.example.test': 'covers b.example.test, not a.b.example.test',
      'example.test': 'covers names below example.test, not example.test itself',
    }
    for (const [host, words] of Object.entries(covers)) {
      const r = await pullOne(`https://${host}:${port}/w.jpg`, `wild-${host}`, viaProxy)
      assert.equal(r.error, 'tls', r.message)
      assert.equal(
        r.message,
        `TLS: cannot verify ${host}:${port}: its certificate is for *.example.test, other.test, not ${host} (a wildcard stands for one label: *.example.test ${words}; RFC 6125 §6.4.3); the server must fix it; --insecure skips certificate checks altogether (unsafe)`,
      )
    }
  } finally {
    await close()
  }
})

// A `*` that is not its label's whole is no wildcard (RFC 9525 §6.3): curl, Go (golang/go#24888,
// the Baseline Requirements forbid it), Python (pyca/service-identity#19) and Chrome match
// `img*.example.test` as the name it writes, where Node matches it as RFC 6125 let a client do,
// `*cdn.example.test` even for cdn.example.test: a file was kept from a server every other client
// refuses for the name. And one label after a wildcard stands for no name (`*.test`), which was
// said as `*.test covers example.test, not example.test`.
test('a partial wildcard (img*.example.test), or a wildcard over one label (*.test): tls, saying why', async () => {
  const { port, viaProxy, close } = await namedServer(
    'partial',
    'DNS:img*.example.test,DNS:*cdn.example.test,DNS:*.test',
    ['img1.example.test', 'cdn.example.test', 'example.test'],
  )
  const why: Record<string, string> = {
    'img1.example.test':
      'a * that is not the whole leftmost label is no wildcard, as curl, Go and browsers read it: img*.example.test names no host; *.example.test would cover img1.example.test; RFC 9525 §6.3',
    'cdn.example.test':
      'a * that is not the whole leftmost label is no wildcard, as curl, Go and browsers read it: *cdn.example.test names no host; *.example.test would cover cdn.example.test; RFC 9525 §6.3',
    'example.test':
      'a wildcard needs two labels after it, as Node, curl and browsers check it: *.test would stand for every name under .test, and covers none',
  }
  try {
    for (const [host, words] of Object.entries(why)) {
      const r = await pullOne(`https://${host}:${port}/p.jpg`, `partial-${host}`, viaProxy)
      assert.equal(r.error, 'tls', r.message)
      assert.equal(
        r.message,
        `TLS: cannot verify ${host}:${port}: its certificate is for img*.example.test, *cdn.example.test, *.test, not ${host} (${words}); the server must fix it; --insecure skips certificate checks altogether (unsafe)`,
      )
    }
  } finally {
    await close()
  }
})

// OpenSSL's `unsuitable certificate purpose` names no certificate and no purpose: said of the
// server's own, it blamed it for an intermediate whose extended key usage lacks serverAuth
// (openssl/openssl#8328: error 26 at depth 1) or an issuer that is no CA, and for a client
// certificate installed on a server it gave no reason (ssllabs/ssllabs-scan#761).
test('a certificate or a CA of its chain not allowed for a TLS server: tls, naming which and why', async () => {
  const LOCAL = 'subjectAltName=DNS:localhost,IP:127.0.0.1'
  const CA = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign'
  caSigned(dir, 'not-ca', '/CN=not a CA', 'basicConstraints=critical,CA:FALSE')
  caSigned(dir, 'client-ca', '/CN=client CA', `${CA}\nextendedKeyUsage=clientAuth`)
  const cases: [string, string, string][] = [
    [
      `${LOCAL}\nextendedKeyUsage=clientAuth`,
      'ca',
      'its certificate is not meant for a TLS server (its extended key usage allows clientAuth, not serverAuth)',
    ],
    [
      LOCAL,
      'not-ca',
      'its chain has "not a CA" as an issuing CA, which is not one (basicConstraints CA:FALSE) and may issue no certificate',
    ],
    [
      LOCAL,
      'client-ca',
      '"client CA", a CA in its chain, may not issue for TLS servers (its extended key usage allows clientAuth, not serverAuth)',
    ],
  ]
  for (const [ext, issuer, words] of cases) {
    const leaf = caSigned(dir, `purpose-${issuer}`, '/CN=leaf', ext, issuer)
    const chain = issuer === 'ca' ? [leaf.cert] : [leaf.cert, join(dir, `${issuer}.pem`)]
    const cert = Buffer.concat(chain.map((file) => readFileSync(file)))
    const local = await listenLocal(createHttpsServer({ cert, key: readFileSync(leaf.key) }), 'https')
    try {
      const r = await pullOne(local.url('/purpose.jpg'), `purpose-${issuer}`)
      assert.equal(r.error, 'tls', r.message)
      assert.equal(
        r.message,
        `TLS: cannot verify 127.0.0.1:${local.port}: ${words}; the server must fix it; --insecure skips certificate checks altogether (unsafe)`,
      )
    } finally {
      await local.close()
    }
  }
})

// A TLS 1.2 hello whose ALPN answer is a protocol the client did not offer (RFC 7301 §3.2 wants an
// alert instead) was `the TLS handshake failed (bad extension)`: said what it most often is.
test('a server hello whose ALPN answer was not offered: tls at once, saying so', async () => {
  const inner = await listenLocal(
    createHttpsServer({ ...tlsPair(certs.good), maxVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'] }),
    'https',
  )
  // The ServerHello is plaintext in TLS 1.2: its `http/1.1` becomes `spdy/3.1`, of the same length.
  const relay = createNetServer((client) => {
    const upstream = createConnection({ port: inner.port, host: '127.0.0.1' })
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
    client.pipe(upstream)
    upstream.on('data', (d: Buffer) => {
      const at = d.indexOf('http/1.1')
      if (at >= 0) d.write('spdy/3.1', at)
      client.write(d)
    })
  })
  const local = await listenLocal(relay, 'https')
  try {
    const r = await pullOne(local.url('/alpn.jpg'), 'alpn')
    assert.equal(r.error, 'tls', r.message)
    assert.equal(r.attempts, 1)
    assert.match(r.message ?? '', /an ALPN protocol imgpull did not offer/)
  } finally {
    await Promise.all([local.close(), inner.close()])
  }
})
