import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createSecureServer, type Http2SecureServer } from 'node:http2'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { createServer as createTlsServer } from 'node:tls'
import { cleanup, runCli, tempDir } from './support/cli.js'
import { makeImage } from './support/images.js'

// A TLS server that offers HTTP/2 by ALPN and still speaks HTTP/1.1, with a certificate made for
// this run; the CLI trusts it through NODE_EXTRA_CA_CERTS, as a user with a private CA would.
let dir: string
let server: Http2SecureServer
let origin: string
let certPath: string
const versions: string[] = []
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

before(async () => {
  dir = await tempDir()
  certPath = join(dir, 'cert.pem')
  const keyPath = join(dir, 'key.pem')
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ],
    { stdio: 'ignore' },
  )
  server = createSecureServer({
    key: await readFile(keyPath),
    cert: await readFile(certPath),
    allowHTTP1: true,
  })
  server.on('request', (req, res) => {
    versions.push(req.httpVersion)
    const name = req.url?.slice(1) ?? 'x'
    const body = makeImage(name, 50_000 + name.length * 1000)
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length })
    res.end(body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
})

after(async () => {
  await new Promise((r) => server.close(r))
  await cleanup(dir)
})

test('HTTP/2 where a TLS server offers it, every file byte-exact; --no-http2 keeps to HTTP/1.1', async () => {
  const names = Array.from({ length: 12 }, (_, i) => `h2-${i}`)
  const env = { NODE_EXTRA_CA_CERTS: certPath }
  const out = join(dir, 'h2')
  const run = await runCli([...names.map((n) => `${origin}/${n}`), '-o', out, '--json'], { env })
  assert.equal(run.code, 0, run.stderr)
  for (const n of names) {
    assert.equal(sha(await readFile(join(out, `${n}.jpg`))), sha(makeImage(n, 50_000 + n.length * 1000)), n)
  }
  assert.deepEqual(new Set(versions), new Set(['2.0']), `versions seen: ${versions}`)

  versions.length = 0
  const plain = await runCli([`${origin}/h1-0`, '-o', join(dir, 'h1'), '--no-http2'], { env })
  assert.equal(plain.code, 0, plain.stderr)
  assert.deepEqual(versions, ['1.1'])
})

// a server whose TLS handshake picks h2 by ALPN, then answers in HTTP/1.1 (a
// misconfigured TLS front end), failed as "Protocol error (ERR_HTTP2_ERROR)", nothing said of why.
// and every attempt failed so, retried in vain; it is asked again over HTTP/1.1, at once.
test('a server that agrees to HTTP/2 and answers in HTTP/1.1: asked again over HTTP/1.1 at once, as --no-http2 does', async () => {
  const body = makeImage('h1.jpg', 20_000)
  let connections = 0
  const liar = createTlsServer(
    {
      key: await readFile(join(dir, 'key.pem')),
      cert: await readFile(certPath),
      ALPNProtocols: ['h2', 'http/1.1'],
    },
    (socket) => {
      connections++
      socket.on('error', () => {})
      socket.once('data', () =>
        socket.end(
          Buffer.concat([
            Buffer.from(
              `HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: ${body.length}\r\n\r\n`,
            ),
            body,
          ]),
        ),
      )
    },
  )
  await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r))
  const url = `https://127.0.0.1:${(liar.address() as AddressInfo).port}/h1.jpg`
  const env = { NODE_EXTRA_CA_CERTS: certPath }
  try {
    const fallen = await runCli([url, '-o', join(dir, 'liar'), '--retries', '0', '--json'], { env })
    const result = JSON.parse(fallen.stdout.split('\n')[0])
    assert.equal(result.status, 'ok', result.message)
    assert.equal(result.attempts, 1)
    assert.equal(sha(await readFile(join(dir, 'liar', 'h1.jpg'))), sha(body))
    assert.equal(connections, 2, 'one over HTTP/2, one over HTTP/1.1')
    const saved = await runCli([url, '-o', join(dir, 'liar-h1'), '--retries', '0', '--no-http2'], { env })
    assert.equal(saved.code, 0, saved.stderr)
    assert.equal(sha(await readFile(join(dir, 'liar-h1', 'h1.jpg'))), sha(body))
  } finally {
    await new Promise((r) => liar.close(r))
  }
})

// a server whose TLS handshake picks h2 and that then sends nothing, not even the
// SETTINGS frame its connection must begin with (RFC 9113 §3.4): a TLS front whose HTTP/2 side
// hangs. Cut by the headers timeout, which said only `headers timeout after 1 s on URL`, as if
// the server were slow to answer the request: it says the connection never began.
test('a server that agrees to HTTP/2 and never sends its SETTINGS: the headers timeout says the connection never began', async () => {
  const mute = createTlsServer(
    { key: await readFile(join(dir, 'key.pem')), cert: await readFile(certPath), ALPNProtocols: ['h2'] },
    // Read (and drop) what comes, so the client's close is seen and the server can close.
    (socket) => socket.on('error', () => {}).resume(),
  )
  await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r))
  const url = `https://127.0.0.1:${(mute.address() as AddressInfo).port}/mute.jpg`
  const env = { NODE_EXTRA_CA_CERTS: certPath }
  try {
    const run = await runCli(
      [url, '-o', join(dir, 'mute'), '--retries', '0', '--headers-timeout', '1', '--json'],
      {
        env,
      },
    )
    const result = JSON.parse(run.stdout.split('\n')[0])
    assert.equal(
      result.message,
      `headers timeout after 1 s on ${url}: its HTTP/2 connection never began: the server sent no SETTINGS frame after the TLS handshake (RFC 9113 §3.4)`,
    )
  } finally {
    await new Promise((r) => mute.close(r))
  }
})
