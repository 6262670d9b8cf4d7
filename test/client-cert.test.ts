import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer as createPlainServer } from 'node:http'
import { constants, createSecureServer } from 'node:http2'
import { createServer } from 'node:https'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { TLSSocket } from 'node:tls'
import { fileURLToPath } from 'node:url'
import { clientCertWarnings } from '../src/fetch/client-cert.js'
import { nginxPageWords } from '../src/fetch/nginx-pages.js'
import { type ClientCertSent, clientCertWords } from '../src/fetch/tls-errors.js'
import { pull } from '../src/index.js'
import type { Options } from '../src/options.js'
import type { Result } from '../src/types.js'
import {
  type ClientCerts,
  KEY_PASSWORD,
  makeCerts,
  makeClientCerts,
  PKCS12_PASSWORD,
  type TestCerts,
  tlsPair,
} from './support/certs.js'
import { cleanup, inPool, runCli, tempDir } from './support/cli.js'
import { startForwardProxy } from './support/forward-proxy.js'
import { makeImage } from './support/images.js'
import { freePort } from './support/ports.js'
import { type LocalServer, listenLocal } from './support/raw-server.js'
import { startRedis } from './support/redis.js'
import { startSocks5Proxy } from './support/socks5-proxy.js'
import { until } from './support/wait.js'

const GARBLED_PEM = fileURLToPath(new URL('fixtures/keys/garbled-by-wrong-password.key', import.meta.url))
const GARBLED_DER = fileURLToPath(new URL('fixtures/keys/garbled-by-wrong-password.der', import.meta.url))
let dir: string
let certs: TestCerts
let client: ClientCerts
const body = makeImage('mtls', 20_000)

/** A server that wants a client certificate its CA signed, and what it saw of each request. */
interface MtlsServer extends LocalServer {
  /** Per request: the client certificate's CN and the HTTP version. */
  seen: { cn: string; http: string }[]
}

const servers: LocalServer[] = []

/** What every server answers a request with a client certificate it took: an image. */
function answer(
  req: { socket: unknown; httpVersion: string },
  res: { writeHead(s: number, h: Record<string, string | number>): unknown; end(b: Buffer): unknown },
  seen: MtlsServer['seen'],
) {
  const peer = (req.socket as TLSSocket).getPeerCertificate()
  seen.push({ cn: String(peer?.subject?.CN ?? ''), http: req.httpVersion })
  res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length })
  res.end(body)
}

/** `server` listening, closed after the file's tests. */
async function listening(server: import('node:net').Server, seen: MtlsServer['seen']): Promise<MtlsServer> {
  const local = { ...(await listenLocal(server as never, 'https')), seen }
  servers.push(local)
  return local
}

/** Node's HTTPS server, as a private image store behind mutual TLS is set up: requestCert, rejectUnauthorized. */
async function mtlsServer(version: 'TLSv1.2' | 'TLSv1.3'): Promise<MtlsServer> {
  const seen: MtlsServer['seen'] = []
  const server = createServer(
    {
      ...tlsPair(certs.good),
      ca: readFileSync(certs.ca),
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: version,
      maxVersion: version,
    },
    (req, res) => answer(req, res, seen),
  )
  return listening(server, seen)
}

/** An HTTP/2 server that wants a client certificate; `refuseH2`: it answers HTTP/2 with HTTP_1_1_REQUIRED (IIS). */
async function mtlsH2(refuseH2 = false): Promise<MtlsServer> {
  const seen: MtlsServer['seen'] = []
  const server = createSecureServer({
    ...tlsPair(certs.good),
    ca: readFileSync(certs.ca),
    requestCert: true,
    rejectUnauthorized: true,
    allowHTTP1: refuseH2,
  })
  server.on('request', (req, res) => {
    if (refuseH2 && req.httpVersion === '2.0') {
      req.stream.close(constants.NGHTTP2_HTTP_1_1_REQUIRED)
      return
    }
    answer(req, res as never, seen)
  })
  return listening(server, seen)
}

let tls12: MtlsServer
let tls13: MtlsServer

before(async () => {
  dir = await tempDir()
  certs = makeCerts(dir)
  client = makeClientCerts(dir)
  writeFileSync(join(dir, 'p12-password'), `${PKCS12_PASSWORD}\n`)
  writeFileSync(join(dir, 'key-password'), `${KEY_PASSWORD}\n`)
  writeFileSync(join(dir, 'wrong-password'), 'wrong\n')
  ;[tls12, tls13] = await Promise.all([mtlsServer('TLSv1.2'), mtlsServer('TLSv1.3')])
})

after(async () => {
  await Promise.all(servers.map((s) => s.close()))
  await cleanup(dir)
})

async function fetchAll(urls: string[], options: Options): Promise<Result[]> {
  const results: Result[] = []
  for await (const r of pull(urls, {
    journal: false,
    report: false,
    caCert: certs.ca,
    proxy: false,
    ...options,
  }))
    results.push(r)
  return results
}

const ok = (results: Result[]) => results.map((r) => `${r.status}${r.message ? `: ${r.message}` : ''}`)

/**
 * `client.combined` with its lines indented, as pasted out of a YAML file or a Kubernetes Secret's
 * manifest: refused (`its key ... bad end line`, openssl/openssl#8815), where RFC 7468 §3 takes it.
 */
function indentedCombined(): string {
  const file = join(dir, 'client-indented.pem')
  writeFileSync(file, `tls.pem: |\n${readFileSync(client.combined, 'utf8').replace(/^/gm, '  ')}`)
  return file
}

/** The ways a client certificate is given: PEM pair, PEM combined, PKCS #12, encrypted PEM key. */
const forms = (): [string, Options][] => [
  ['a PEM certificate and its key', { clientCert: client.pair.cert, clientKey: client.pair.key }],
  ['one PEM file with both', { clientCert: client.combined }],
  ['one PEM file with both, its lines indented', { clientCert: indentedCombined() }],
  ['a PKCS #12 file with its password', { clientCert: client.p12, clientCertPassword: PKCS12_PASSWORD }],
  ['a DER certificate and key', { clientCert: client.der.cert, clientKey: client.der.key }],
  [
    'an encrypted DER key with its password',
    { clientCert: client.der.cert, clientKey: client.encryptedDerKey, clientCertPassword: KEY_PASSWORD },
  ],
  [
    'an encrypted PEM key with its password',
    { clientCert: client.pair.cert, clientKey: client.encryptedKey, clientCertPassword: KEY_PASSWORD },
  ],
]

test('a server that requires a client certificate gets it, given as a PEM pair, one PEM file, a PKCS #12 file or an encrypted key; under TLS 1.2 and 1.3', async () => {
  for (const server of [tls12, tls13]) {
    for (const [name, options] of forms()) {
      server.seen.length = 0
      const out = join(dir, `forms-${server.port}-${name.replaceAll(' ', '-')}`)
      const results = await fetchAll([`${server.origin}/a.jpg`], { out, ...options })
      assert.deepEqual(ok(results), ['ok'], name)
      assert.deepEqual(readFileSync(join(out, 'a.jpg')), body)
      assert.deepEqual(
        server.seen.map((s) => s.cn),
        ['client'],
        `${name}: the server saw the certificate`,
      )
    }
  }
})

test('over HTTP/2, and over HTTP/1.1 when the server asks for it (HTTP_1_1_REQUIRED), the certificate is sent', async () => {
  const h2 = await mtlsH2()
  const results = await fetchAll([`${h2.origin}/a.jpg`, `${h2.origin}/b.jpg`], {
    out: join(dir, 'h2'),
    clientCert: client.combined,
  })
  assert.deepEqual(ok(results), ['ok', 'ok'])
  assert.deepEqual(h2.seen, [
    { cn: 'client', http: '2.0' },
    { cn: 'client', http: '2.0' },
  ])
  const fallback = await mtlsH2(true)
  const again = await fetchAll([`${fallback.origin}/a.jpg`], {
    out: join(dir, 'h1-fallback'),
    clientCert: client.combined,
  })
  assert.deepEqual(ok(again), ['ok'])
  assert.deepEqual(fallback.seen, [{ cn: 'client', http: '1.1' }])
})

test('on transfer threads, each thread sends the certificate (its password cloned to it)', async () => {
  tls13.seen.length = 0
  const urls = ['t1', 't2', 't3', 't4', 't5', 't6'].map((n) => `${tls13.origin}/${n}.jpg`)
  const results = await fetchAll(urls, {
    out: join(dir, 'threads'),
    threads: 2,
    clientCert: client.p12,
    clientCertPassword: PKCS12_PASSWORD,
  })
  assert.deepEqual(
    ok(results),
    urls.map(() => 'ok'),
  )
  assert.deepEqual(
    tls13.seen.map((s) => s.cn),
    urls.map(() => 'client'),
  )
})

test("through an HTTP proxy's CONNECT tunnel and a SOCKS5 proxy, the image host gets the certificate; an https:// proxy that asks for one is never shown it", async () => {
  const proxy = await startForwardProxy()
  const socks = await startSocks5Proxy()
  const secure = await startForwardProxy({ tls: tlsPair(certs.good), askClientCert: true })
  try {
    for (const via of [proxy.url, socks.url, secure.url]) {
      tls12.seen.length = 0
      const results = await fetchAll([`${tls12.origin}/p.jpg`], {
        out: join(dir, `proxied-${new URL(via).protocol.slice(0, -1)}`),
        proxy: via,
        clientCert: client.pair.cert,
        clientKey: client.pair.key,
      })
      assert.deepEqual(ok(results), ['ok'], via)
      assert.deepEqual(
        tls12.seen.map((s) => s.cn),
        ['client'],
        via,
      )
    }
    assert.ok(proxy.log.some((l) => l.method === 'CONNECT'))
    assert.ok(secure.log.some((l) => l.method === 'CONNECT'))
    assert.deepEqual(secure.clientCerts, [''], "the https:// proxy's TLS: no client certificate")
  } finally {
    await Promise.all([proxy.close(), socks.close(), secure.close()])
  }
})

/**
 * `openssl s_server` wanting a client certificate (`-Verify 1 -verify_return_error`), as Apache
 * mod_ssl, HAProxy and Envoy refuse one: with an alert (`unknown ca`, `certificate expired`).
 */
async function sServer(version: '-tls1_2' | '-tls1_3'): Promise<{ origin: string; child: ChildProcess }> {
  // A port picked at random (20000-39999, within Linux's ephemeral range) was now and then held by
  // another test's connection: s_server could not bind it and the test waited 15 s for nothing. A
  // free port, and another if s_server exits before it listens.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const child = spawn(
      'openssl',
      [
        's_server',
        '-quiet',
        '-Verify',
        '1',
        '-verify_return_error',
        '-CAfile',
        certs.ca,
        '-cert',
        certs.good.cert,
        '-key',
        certs.good.key,
        '-accept',
        `127.0.0.1:${port}`,
        '-www',
        version,
      ],
      { stdio: 'ignore' },
    )
    let exited = false
    child.once('exit', () => {
      exited = true
    })
    const { connect } = await import('node:net')
    await until('openssl s_server', () =>
      exited
        ? true
        : new Promise<boolean>((resolve) => {
            const socket = connect(port, '127.0.0.1', () => {
              socket.destroy()
              resolve(true)
            }).on('error', () => resolve(false))
          }),
    )
    if (!exited) return { origin: `https://127.0.0.1:${port}`, child }
    if (attempt === 3) throw new Error(`openssl s_server exited before listening, ${attempt} times`)
  }
}

test('a server that refuses the certificate with an alert (unknown CA, expired): tls at once, saying what it refused; with none, that --cert gives one', async () => {
  for (const version of ['-tls1_2', '-tls1_3'] as const) {
    const server = await sServer(version)
    try {
      const cases: [string, Options, RegExp][] = [
        [
          'stranger',
          { clientCert: client.stranger.cert, clientKey: client.stranger.key },
          /: the server refused the client certificate of --cert: it was issued by an authority the server does not trust \(unknown ca\)$/,
        ],
        [
          'expired',
          { clientCert: client.expired.cert, clientKey: client.expired.key },
          /: the server refused the client certificate of --cert: it is out of its dates by the server's clock \(certificate expired\)$/,
        ],
        [
          'none',
          {},
          version === '-tls1_3'
            ? /: the server asks for a client certificate \(certificate required\): --cert gives one/
            : /: the server refused the TLS handshake \(no cipher in common, or it wants a client certificate: --cert gives one/,
        ],
      ]
      for (const [name, options, message] of cases) {
        const [r] = await fetchAll([`${server.origin}/a.jpg`], {
          out: join(dir, `refused-${version}-${name}`),
          ...options,
        })
        assert.equal(r.error, 'tls', `${version} ${name}: ${r.error} ${r.message}`)
        assert.equal(r.attempts, 1, 'not retried')
        assert.match(r.message!, message, `${version} ${name}`)
      }
    } finally {
      server.child.kill()
    }
  }
})

test("Node's server, which closes the connection on a certificate it refuses (no alert): the network failure says it may be the certificate", async () => {
  for (const server of [tls12, tls13]) {
    const [r] = await fetchAll([`${server.origin}/a.jpg`], {
      out: join(dir, `closed-${server.port}`),
      retries: 0,
      clientCert: client.stranger.cert,
      clientKey: client.stranger.key,
    })
    assert.equal(r.error, 'network', r.message)
    assert.match(
      r.message!,
      /; the server may have refused the client certificate of --cert \(some servers, Node\.js ones among them, close the connection so, without a TLS alert\)$/,
    )
  }
})

test('the words of a server alert about a client certificate, sent, not sent, or asked for by a proxy', () => {
  const table: [string, ClientCertSent, RegExp | undefined][] = [
    [
      'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
      'sent',
      /refused the client certificate of --cert: it was issued by an authority the server does not trust \(unknown ca\)/,
    ],
    [
      'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
      'sent',
      /refused the client certificate of --cert \(bad certificate\)$/,
    ],
    [
      'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
      'none',
      /asks for a client certificate \(bad certificate\): --cert gives one/,
    ],
    ['ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED', 'sent', /: it has been revoked \(certificate revoked\)/],
    ['ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE', 'sent', /does not take a certificate of its kind/],
    ['ERR_SSL_TLSV1_ALERT_ACCESS_DENIED', 'sent', /knows it, and does not let it in \(access denied\)/],
    [
      'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      'none',
      /asks for a client certificate \(certificate required\): --cert gives one/,
    ],
    [
      'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      'sent',
      /got none: the one of --cert is not of a kind it takes/,
    ],
    [
      'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      'proxy',
      /^the proxy asks for a client certificate .* never a proxy$/,
    ],
    ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'sent', /or it refused the client certificate of --cert\)$/],
    ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'none', undefined],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'sent', undefined],
  ]
  for (const [code, sent, words] of table) {
    const said = clientCertWords(code, sent)
    if (words === undefined) assert.equal(said, undefined, `${code} ${sent}`)
    else assert.match(said ?? '', words, `${code} ${sent}`)
  }
})

test('a client certificate out of its dates, or not for a TLS client, is warned about', () => {
  const now = Date.parse('2026-06-01T00:00:00Z')
  const cert = (validFrom: string, validTo: string, keyUsage?: string[]) => ({ validFrom, validTo, keyUsage })
  assert.deepEqual(
    clientCertWarnings(
      cert('Jan 1 00:00:00 2026 GMT', 'Jan 1 00:00:00 2027 GMT', ['1.3.6.1.5.5.7.3.2']),
      'c.pem',
      now,
    ),
    [],
  )
  assert.deepEqual(
    clientCertWarnings(cert('Jan 1 00:00:00 2026 GMT', 'Jan 1 00:00:00 2027 GMT'), 'c.pem', now),
    [],
  )
  assert.deepEqual(
    clientCertWarnings(cert('Jan 1 00:00:00 2020 GMT', 'Jan 2 00:00:00 2020 GMT'), 'c.pem', now),
    [
      "the client certificate of c.pem expired on 2020-01-02 00:00 UTC (this machine's clock says 2026-06-01 00:00 UTC): servers will most likely refuse it",
    ],
  )
  assert.match(
    clientCertWarnings(cert('Jan 1 00:00:00 2099 GMT', 'Jan 2 00:00:00 2099 GMT'), 'c.pem', now)[0],
    /is valid only from 2099-01-01 00:00 UTC/,
  )
  assert.deepEqual(
    clientCertWarnings(
      cert('Jan 1 00:00:00 2026 GMT', 'Jan 1 00:00:00 2027 GMT', ['1.3.6.1.5.5.7.3.1']),
      's.pem',
      now,
    ),
    [
      'the certificate of s.pem is not meant for a TLS client (its extended key usage lacks clientAuth): servers will most likely refuse it',
    ],
  )
  // The test's own: each as made.
  assert.deepEqual(new X509Certificate(readFileSync(client.serverOnly.cert)).keyUsage, ['1.3.6.1.5.5.7.3.1'])
})

test('bad input is refused in one line naming the option and the file, before any request', async () => {
  const pem = client.pair
  const cases: [string, Options, RegExp][] = [
    [
      'missing',
      { clientCert: join(dir, 'client.pme') },
      /^Expected `clientCert` to be a readable file: .*client\.pme: no such file; did you mean '.*client\.pem'\?$/,
    ],
    [
      'a key for a certificate',
      { clientCert: pem.key },
      /^Expected `clientCert` to hold a certificate \(PEM, DER, or a PKCS #12 \.p12\/\.pfx\): .*client\.key has none \(it holds a PEM PRIVATE KEY\)$/,
    ],
    [
      'no key',
      { clientCert: pem.cert },
      /^`clientCert` .*client\.pem holds no private key: give the key's file as `clientKey`/,
    ],
    [
      'a key not its own',
      { clientCert: pem.cert, clientKey: client.stranger.key },
      /^`clientKey` .*stranger\.key: its key is not the key of the certificate in `clientCert` .*client\.pem \(CN=client\)$/,
    ],
    [
      'a certificate for a key',
      { clientCert: pem.cert, clientKey: client.stranger.cert },
      /^Expected `clientKey` to hold a private key \(PEM, or DER\): .*stranger\.pem has none \(it holds a PEM CERTIFICATE\)$/,
    ],
    [
      'encrypted key, no password',
      { clientCert: pem.cert, clientKey: client.encryptedKey },
      /^`clientKey` .*client-encrypted\.key: its key is encrypted: give its password as `clientCertPassword`$/,
    ],
    [
      'encrypted key, wrong password',
      { clientCert: pem.cert, clientKey: client.encryptedKey, clientCertPassword: 'wrong' },
      /^the password given as `clientCertPassword` does not open the key of `clientKey` .*client-encrypted\.key \(a wrong password\?\)$/,
    ],
    [
      'encrypted DER key, no password',
      { clientCert: pem.cert, clientKey: client.encryptedDerKey },
      /^`clientKey` .*client-encrypted-key\.der: its key is encrypted: give its password as `clientCertPassword`$/,
    ],
    [
      'encrypted DER key, wrong password',
      { clientCert: pem.cert, clientKey: client.encryptedDerKey, clientCertPassword: 'wrong' },
      /^the password given as `clientCertPassword` does not open the key of `clientKey` .*client-encrypted-key\.der \(a wrong password\?\)$/,
    ],
    [
      'PKCS #12, no password',
      { clientCert: client.p12 },
      /^`clientCert` .*client\.p12 is a password-protected PKCS #12 file: give its password as `clientCertPassword`$/,
    ],
    // Keys (fixtures, password `right`) that the wrong password decrypts, past CBC's padding check,
    // to garbage that is no key: it was "its private key cannot be read: ... DECODER
    // routines::unsupported" (PEM) or "has none" (DER), one run in 250 of the case above.
    [
      'encrypted key, a wrong password that decrypts to garbage',
      { clientCert: pem.cert, clientKey: GARBLED_PEM, clientCertPassword: 'wrong' },
      /^the password given as `clientCertPassword` does not open the key of `clientKey` .*garbled-by-wrong-password\.key \(a wrong password\?\)$/,
    ],
    [
      'encrypted DER key, a wrong password that decrypts to garbage',
      { clientCert: pem.cert, clientKey: GARBLED_DER, clientCertPassword: 'wrong' },
      /^the password given as `clientCertPassword` does not open the key of `clientKey` .*garbled-by-wrong-password\.der \(a wrong password\?\)$/,
    ],
    [
      'PKCS #12, wrong password',
      { clientCert: client.p12, clientCertPassword: 'wrong' },
      /^the password given as `clientCertPassword` does not open the PKCS #12 file `clientCert` .*client\.p12 \(a wrong password\?\)$/,
    ],
    [
      'PKCS #12 with a key',
      { clientCert: client.p12, clientKey: pem.key, clientCertPassword: PKCS12_PASSWORD },
      /^`clientCert` .*client\.p12 is a PKCS #12 file, which holds its key: leave `clientKey` \(.*client\.key\) out$/,
    ],
    [
      'legacy PKCS #12',
      { clientCert: client.legacyP12, clientCertPassword: PKCS12_PASSWORD },
      /legacy encryption .* NODE_OPTIONS=--openssl-legacy-provider, or convert it once: openssl pkcs12 -legacy -in .*client-legacy\.p12 -nodes \| openssl pkcs12 -export -out client\.p12$/,
    ],
    [
      'a key alone',
      { clientKey: pem.key },
      /^`clientKey` is the key of `clientCert`'s certificate: give `clientCert` too$/,
    ],
    [
      'a password alone',
      { clientCertPassword: 'x' },
      /^a password given as `clientCertPassword` opens `clientCert` or `clientKey`: give `clientCert` too$/,
    ],
    ['not a string', { clientCert: 42 as never }, /^Expected `clientCert` to be a string, got 42$/],
  ]
  tls12.seen.length = 0
  for (const [name, options, message] of cases) {
    assert.throws(
      () => pull([`${tls12.origin}/a.jpg`], { out: join(dir, 'bad'), ...options }),
      (error: Error) =>
        error instanceof TypeError && message.test(error.message) && !error.message.includes('\n'),
      name,
    )
  }
  assert.deepEqual(tls12.seen, [], 'no request')
})

test('the command line: --cert, --key, --cert-password-file or IMGPULL_CERT_PASSWORD; bad input named by its flag, exit 2; an expired certificate warned about', async () => {
  const url = `${tls13.origin}/cli.jpg`
  const run = (name: string, args: string[], env: Record<string, string> = {}) =>
    runCli([url, '-o', join(dir, `cli-${name}`), '--ca-cert', certs.ca, '--no-proxy', ...args], { env })
  // Every run below is a process of its own, each with an output folder of its own: those that
  // reach the server at once, then those refused before any request four at a time (one after
  // another they were 24 start-ups in turn, 9 s in ci40).
  const [pair, p12, env, unused] = await Promise.all([
    run('pair', ['--cert', client.pair.cert, '--key', client.pair.key]),
    run('p12-file', ['--cert', client.p12, '--cert-password-file', join(dir, 'p12-password')]),
    run('p12-env', ['--cert', client.p12], { IMGPULL_CERT_PASSWORD: PKCS12_PASSWORD }),
    // Set for every command, the variable means nothing to one without --cert.
    run('env-alone', [], { IMGPULL_CERT_PASSWORD: 'x' }),
  ])
  assert.equal(pair.code, 0, pair.stderr)
  assert.equal(p12.code, 0, p12.stderr)
  assert.equal(env.code, 0, env.stderr)
  assert.equal(unused.code, 1)
  assert.match(unused.stderr, /asks for a client certificate \(certificate required\): --cert gives one/)
  const bad: [string, string[], RegExp][] = [
    [
      'p12-none',
      ['--cert', client.p12],
      /^imgpull: --cert .*client\.p12 is a password-protected PKCS #12 file: give its password as --cert-password-file FILE or IMGPULL_CERT_PASSWORD/,
    ],
    [
      'p12-wrong',
      ['--cert', client.p12, '--cert-password-file', join(dir, 'wrong-password')],
      /^imgpull: the password in --cert-password-file .*wrong-password does not open the PKCS #12 file --cert .*client\.p12 \(a wrong password\?\)/,
    ],
    [
      'password-alone',
      ['--cert-password-file', join(dir, 'p12-password')],
      /^imgpull: a password in --cert-password-file .*p12-password opens --cert or --key: give --cert too/,
    ],
    [
      'key-encrypted',
      ['--cert', client.pair.cert, '--key', client.encryptedKey],
      /^imgpull: --key .*client-encrypted\.key: its key is encrypted: give its password as --cert-password-file FILE or IMGPULL_CERT_PASSWORD/,
    ],
    [
      'mismatch',
      ['--cert', client.pair.cert, '--key', client.stranger.key],
      /^imgpull: --key .*stranger\.key: its key is not the key of the certificate in --cert .*client\.pem/,
    ],
    [
      'missing',
      ['--cert', join(dir, 'nowhere.pem')],
      /^imgpull: Expected --cert to be a readable file: .*nowhere\.pem: no such file/,
    ],
    // curl's FILE:PASSWORD: the password is not shown back.
    [
      'curl',
      ['--cert', `${client.combined}:hunter2`],
      /^imgpull: Expected --cert to be a readable file: .*client-combined\.pem:… \(curl's FILE:PASSWORD, not taken here: the password is given as --cert-password-file FILE or IMGPULL_CERT_PASSWORD\) \(see imgpull --help\)\n/,
    ],
    // Its file missing too: still not shown back.
    [
      'curl-missing',
      ['--cert', `${join(dir, 'elsewhere.pem')}:hunter2`],
      /^imgpull: Expected --cert to be a readable file: .*elsewhere\.pem:… \(curl's FILE:PASSWORD, .*\): no such file/,
    ],
    [
      'password-file',
      ['--cert', client.p12, '--cert-password-file', join(dir, 'no-password')],
      /^imgpull: --cert-password-file .*no-password: no such file/,
    ],
    // curl's and wget's password options with the value attached: named without it (the
    // line was "unknown option '--pass=hunter2'", the password on the terminal and in logs).
    [
      'curl-E-attached',
      [`-E${client.combined}:hunter2`],
      /^imgpull: unknown option '-E.*client-combined\.pem:…', curl's --cert: --cert FILE/,
    ],
    ['curl-pass-attached', ['--pass=hunter2'], /^imgpull: unknown option '--pass=…', curl's key password/],
    ['curl-u-attached', ['-ubob:hunter2'], /^imgpull: unknown option '-u…', curl's user and password/],
    [
      'proxy-user-attached',
      ['--proxy-user=bob:hunter2'],
      /^imgpull: unknown option '--proxy-user=…', curl's/,
    ],
    [
      'curl-pass',
      ['--cert', client.p12, '--pass', 'x'],
      /--pass.*curl's key password: --cert-password-file FILE or IMGPULL_CERT_PASSWORD \(not on the command line/,
    ],
  ]
  tls13.seen.length = 0
  // The variable's password, wrong: the variable named, not the file ("given as
  // --cert-password-file FILE or IMGPULL_CERT_PASSWORD", either). Started beside the pool.
  const wrongVariableRun = run('p12-wrong-env', ['--cert', client.p12], { IMGPULL_CERT_PASSWORD: 'hunter2' })
  const wrongKeyRun = run('key-wrong-env', ['--cert', client.pair.cert, '--key', client.encryptedKey], {
    IMGPULL_CERT_PASSWORD: 'hunter2',
  })
  await inPool(bad, 4, async ([name, args, message]) => {
    const r = await run(name, args)
    assert.equal(r.code, 2, `${name}: ${r.stderr}`)
    assert.match(r.stderr, message, name)
    assert.ok(!r.stderr.includes('hunter2'), 'no password shown')
    assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: one line: ${r.stderr}`)
  })
  const wrongVariable = await wrongVariableRun
  assert.equal(wrongVariable.code, 2, wrongVariable.stderr)
  assert.match(
    wrongVariable.stderr,
    /^imgpull: the password in IMGPULL_CERT_PASSWORD does not open the PKCS #12 file --cert .*client\.p12 \(a wrong password\?\)/,
  )
  const wrongKey = await wrongKeyRun
  assert.match(
    wrongKey.stderr,
    /^imgpull: the password in IMGPULL_CERT_PASSWORD does not open the key of --key /,
  )
  assert.deepEqual(tls13.seen, [], 'no request')
  // Expired: warned about, sent all the same, and the server's refusal said (--help beside it).
  const helpRun = runCli(['--help'])
  const expired = await run('expired', [
    '--cert',
    client.expired.cert,
    '--key',
    client.expired.key,
    '--retries',
    '0',
  ])
  assert.equal(expired.code, 1)
  assert.match(
    expired.stderr,
    /warning: the client certificate of .*client-expired\.pem expired on 2020-01-02 00:00 UTC \(this machine's clock says .*\): servers will most likely refuse it/,
  )
  assert.match(expired.stderr, /may have refused the client certificate of --cert/)
  const help = await helpRun
  for (const flag of ['--cert <file>', '--key <file>', '--cert-password-file <file>'])
    assert.ok(help.stdout.includes(flag), flag)
  assert.match(
    help.stdout.replace(/\s+/g, ' '),
    /not taken on the command line, where every user of the machine can read it/,
  )
})

test('a queue: the shards carry --cert and --key, never the password, which each worker is given', async () => {
  const redis = await startRedis()
  try {
    tls12.seen.length = 0
    const list = join(dir, 'queue.txt')
    writeFileSync(list, `${tls12.origin}/q1.jpg\n${tls12.origin}/q2.jpg\n`)
    const q = ['--redis', redis.url, '--queue', 'mtls']
    // Enqueue checks the certificate, with its password, before anything goes into Redis.
    const refused = await runCli(['enqueue', list, ...q, '--cert', client.p12])
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /is a password-protected PKCS #12 file/)
    const enqueued = await runCli(
      ['enqueue', list, ...q, '--cert', client.p12, '--ca-cert', certs.ca, '--no-proxy'],
      {
        env: { IMGPULL_CERT_PASSWORD: PKCS12_PASSWORD },
      },
    )
    assert.equal(enqueued.code, 0, enqueued.stderr)
    const keys = await redis.client.keys('*')
    const held = (
      await Promise.all(
        keys.map(async (key) => {
          const type = await redis.client.type(key)
          if (type === 'hash') return JSON.stringify(await redis.client.hgetall(key))
          if (type === 'string') return (await redis.client.get(key)) ?? ''
          return ''
        }),
      )
    ).join('\n')
    assert.ok(held.includes('client.p12'), 'the shards name the certificate')
    assert.ok(!held.includes(PKCS12_PASSWORD), 'and never its password')
    // A worker without the password, or with a wrong one, gives the shard back and stops, exit 3,
    // naming where its password came from (each failed an attempt at every shard it took,
    // said in the library's words, `clientCertPassword`; enough such takes failed the queue).
    const bare = await runCli(['worker', ...q, '-o', join(dir, 'queue-bare'), '--exit-when-done'])
    assert.equal(bare.code, 3, bare.stderr)
    assert.match(
      bare.stderr,
      /^imgpull: --cert .*client\.p12 is a password-protected PKCS #12 file: give its password as --cert-password-file FILE or IMGPULL_CERT_PASSWORD; start this worker again with the password of the queue's --cert$/m,
    )
    assert.match(
      bare.stderr,
      /shard 00000: given back to the queue \(this worker has not the certificate's password\)/,
    )
    assert.match(bare.stderr, /0 failed attempts/)
    const wrong = await runCli(['worker', ...q, '-o', join(dir, 'queue-wrong'), '--exit-when-done'], {
      env: { IMGPULL_CERT_PASSWORD: 'hunter2' },
    })
    assert.equal(wrong.code, 3, wrong.stderr)
    assert.match(
      wrong.stderr,
      /^imgpull: the password in IMGPULL_CERT_PASSWORD does not open the PKCS #12 file --cert .*client\.p12 \(a wrong password\?\)/m,
    )
    assert.ok(!/clientCert/.test(bare.stderr + wrong.stderr), 'the options, not the library fields')
    const worker = await runCli([
      'worker',
      ...q,
      '-o',
      join(dir, 'queue-out'),
      '--exit-when-done',
      '--cert-password-file',
      join(dir, 'p12-password'),
    ])
    assert.equal(worker.code, 0, worker.stderr)
    assert.deepEqual(
      tls12.seen.map((s) => s.cn),
      ['client', 'client'],
    )
  } finally {
    await redis.stop()
  }
})

/** nginx's 400 page for its internal status `title` (ngx_http_special_response.c), as it sends it. */
const nginxPage = (title: string) =>
  `<html>\r\n<head><title>400 ${title}</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>${title}</center>\r\n<hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n`

/** Answer as nginx answers under `ssl_verify_client on` (and to plain HTTP on its HTTPS port). */
function nginxAnswer(res: import('node:http').ServerResponse, title: string) {
  const page = nginxPage(title)
  res.writeHead(400, {
    server: 'nginx/1.24.0',
    'content-type': 'text/html',
    'content-length': Buffer.byteLength(page),
  })
  res.end(page)
}

test("nginx's ssl_verify_client on (the handshake taken, each request answered 400 with a page): the failure says what the page says", async () => {
  // nginx verifies after the handshake: a certificate missing or refused is a 400 page.
  const nginx = createServer(
    { ...tlsPair(certs.good), ca: readFileSync(certs.ca), requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const socket = req.socket as TLSSocket
      if (!socket.getPeerCertificate()?.subject) nginxAnswer(res, 'No required SSL certificate was sent')
      else if (!socket.authorized) nginxAnswer(res, 'The SSL certificate error')
      else answer(req, res, [])
    },
  )
  const plain = createPlainServer((_, res) =>
    nginxAnswer(res, 'The plain HTTP request was sent to HTTPS port'),
  )
  const [secure, http] = [await listening(nginx, []), await listening(plain as never, [])]
  const cases: [string, string, Options, RegExp][] = [
    [
      'none',
      secure.origin,
      {},
      /^HTTP 400 from .*: the server \(nginx\) asks for a client certificate: --cert gives one/,
    ],
    [
      'stranger',
      secure.origin,
      { clientCert: client.stranger.cert, clientKey: client.stranger.key },
      /^HTTP 400 from .*: the server \(nginx\) refused the client certificate of --cert: it does not verify against the server's CAs/,
    ],
    [
      'plain',
      http.origin.replace('https:', 'http:'),
      {},
      /^HTTP 400 from http:.*: the port speaks HTTPS \(nginx\): give the URL as https:\/\/$/,
    ],
  ]
  for (const [name, origin, options, message] of cases) {
    const [r] = await fetchAll([`${origin}/a.jpg`], { out: join(dir, `nginx-${name}`), ...options })
    assert.equal(r.error, 'http-400', name)
    assert.match(r.message!, message, name)
  }
  const [good] = await fetchAll([`${secure.origin}/a.jpg`], {
    out: join(dir, 'nginx-good'),
    clientCert: client.combined,
  })
  assert.equal(good.status, 'ok', good.message)
})

test("nginx's pages, read for their words: only its own, and each where it applies", () => {
  const page = nginxPage
  assert.match(
    nginxPageWords(page('No required SSL certificate was sent'), true, false)!,
    /asks for a client certificate: --cert gives one/,
  )
  assert.match(
    nginxPageWords(page('No required SSL certificate was sent'), true, true)!,
    /got none: the one of --cert is not of a kind it takes/,
  )
  assert.match(
    nginxPageWords(page('The SSL certificate error'), true, true)!,
    /refused the client certificate of --cert/,
  )
  assert.match(
    nginxPageWords(page('The SSL certificate error'), true, false)!,
    /none was given: --cert gives one/,
  )
  assert.equal(nginxPageWords(page('The plain HTTP request was sent to HTTPS port'), true, false), undefined)
  assert.equal(nginxPageWords(page('No required SSL certificate was sent'), false, false), undefined)
  assert.equal(nginxPageWords(page('Bad Request'), true, true), undefined)
  assert.equal(nginxPageWords('<h1>SSL certificate error</h1>', true, true), undefined)
})
