import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { constants, createSecureServer, type Http2SecureServer } from 'node:http2'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { asksForHttp1, http2ErrorCode } from '../src/fetch/http2-errors.js'
import { pull } from '../src/index.js'
import type { Options } from '../src/options.js'
import type { Result } from '../src/types.js'
import { makeCerts, type TestCerts, tlsPair } from './support/certs.js'
import { cleanup, tempDir } from './support/cli.js'
import { startForwardProxy } from './support/forward-proxy.js'
import { makeImage } from './support/images.js'
import { type LocalServer, listenLocal } from './support/raw-server.js'

// hunt22 D5: an HTTP/2 server that answers HTTP_1_1_REQUIRED (RFC 9113 §7) wants the request over
// HTTP/1.1; it failed as `network`, retried over HTTP/2, on every run.

let dir: string
let certs: TestCerts
const bodyOf = (name: string) => makeImage(name, 20_000 + name.length * 100)
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

before(async () => {
  dir = await tempDir()
  certs = makeCerts(dir)
})

after(() => cleanup(dir))

interface Refusing extends LocalServer {
  /** Requests the server saw over HTTP/2 (each refused), and over HTTP/1.1 (each served). */
  seen: { h2: number; h1: number }
}

/**
 * A TLS server offering h2 and http/1.1 that refuses every HTTP/2 request, with
 * RST_STREAM(HTTP_1_1_REQUIRED) on its stream or GOAWAY(HTTP_1_1_REQUIRED) on its connection (as
 * IIS does), and serves images over HTTP/1.1. `mid-answer`: the reset comes after the answer's head
 * and the first 5000 bytes of its body.
 */
async function refusing(how: 'rst' | 'goaway' | 'mid-answer'): Promise<Refusing> {
  const seen = { h2: 0, h1: 0 }
  const server: Http2SecureServer = createSecureServer({ ...tlsPair(certs.good), allowHTTP1: true })
  server.on('request', (req, res) => {
    if (req.httpVersion === '2.0') {
      seen.h2++
      if (how === 'rst') req.stream.close(constants.NGHTTP2_HTTP_1_1_REQUIRED)
      else if (how === 'mid-answer') {
        const body = bodyOf(req.url.slice(1))
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length })
        res.write(body.subarray(0, 5000), () => req.stream.close(constants.NGHTTP2_HTTP_1_1_REQUIRED))
      } else {
        // Last stream id 0: none of the connection's requests was processed (RFC 9113 §6.8).
        req.stream.session?.goaway(constants.NGHTTP2_HTTP_1_1_REQUIRED, 0)
        req.stream.session?.destroy()
      }
      return
    }
    seen.h1++
    const body = bodyOf(req.url.slice(1))
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length })
    res.end(body)
  })
  return { ...(await listenLocal(server, 'https')), seen }
}

async function run(urls: string[], options: Options): Promise<Result[]> {
  const results: Result[] = []
  for await (const r of pull(urls, { journal: false, caCert: certs.ca, retries: 2, ...options }))
    results.push(r)
  return results
}

async function assertSaved(results: Result[], out: string, names: string[]): Promise<void> {
  assert.deepEqual(
    results.map((r) => [r.status, r.attempts, r.message]),
    names.map(() => ['ok', 1, undefined]),
    'each ok on its first attempt: the refusal is not a failed attempt',
  )
  for (const n of names) assert.equal(sha(await readFile(join(out, `${n}.jpg`))), sha(bodyOf(`${n}.jpg`)), n)
}

test('HTTP/2 error codes are read from the errors of Node and undici', () => {
  const error = (code: string, message: string) => Object.assign(new Error(message), { code })
  const table: [Error | string, number | undefined][] = [
    [error('ERR_HTTP2_STREAM_ERROR', 'Stream closed with error code NGHTTP2_HTTP_1_1_REQUIRED'), 13],
    [error('ERR_HTTP2_STREAM_ERROR', 'Stream closed with error code NGHTTP2_ENHANCE_YOUR_CALM'), 11],
    [error('ERR_HTTP2_STREAM_ERROR', 'Stream closed with error code 99'), 99],
    [error('ERR_HTTP2_SESSION_ERROR', 'Session closed with error code 13'), 13],
    [error('UND_ERR_SOCKET', 'HTTP/2: "GOAWAY" frame received with code 13'), 13],
    [error('UND_ERR_SOCKET', 'HTTP/2: "GOAWAY" frame received with code 0'), 0],
    [error('UND_ERR_SOCKET', 'other side closed'), undefined],
    [error('ECONNRESET', 'Stream closed with error code NGHTTP2_HTTP_1_1_REQUIRED'), undefined],
    ['Stream closed with error code NGHTTP2_HTTP_1_1_REQUIRED', undefined],
  ]
  for (const [e, code] of table) assert.equal(http2ErrorCode(e), code, String(e))
  assert.equal(asksForHttp1(table[0][0]), true)
  assert.equal(asksForHttp1(table[1][0]), false)
  assert.equal(asksForHttp1(table[4][0]), true)
})

for (const how of ['rst', 'goaway'] as const) {
  const frame = how === 'rst' ? 'RST_STREAM' : 'GOAWAY'
  test(`${frame}(HTTP_1_1_REQUIRED): the request goes again over HTTP/1.1 at once, and the origin's later ones straight there`, async () => {
    const server = await refusing(how)
    try {
      const names = ['a', 'b', 'c', 'd']
      const out = join(dir, `${how}-one-by-one`)
      const results = await run(
        names.map((n) => `${server.origin}/${n}.jpg`),
        { out, perHost: 1 },
      )
      await assertSaved(results, out, names)
      assert.deepEqual(server.seen, { h2: 1, h1: 4 }, 'one HTTP/2 request, then HTTP/1.1 alone')
    } finally {
      await server.close()
    }
  })
}

test('RST_STREAM(HTTP_1_1_REQUIRED) on many requests in flight at once: each goes again over HTTP/1.1, once', async () => {
  const server = await refusing('rst')
  try {
    const names = Array.from({ length: 12 }, (_, i) => `m${i}`)
    const out = join(dir, 'rst-many')
    const results = await run(
      names.map((n) => `${server.origin}/${n}.jpg`),
      { out },
    )
    await assertSaved(results, out, names)
    assert.equal(server.seen.h1, 12)
    assert.ok(server.seen.h2 <= 12, `at most one HTTP/2 try each: ${server.seen.h2}`)
    const later = await run([`${server.origin}/late.jpg`], { out })
    assert.equal(later[0].status, 'ok')
  } finally {
    await server.close()
  }
})

test('on transfer threads, each thread learns the origin wants HTTP/1.1', async () => {
  const server = await refusing('rst')
  try {
    const names = ['t1', 't2', 't3', 't4', 't5', 't6']
    const out = join(dir, 'threads')
    const results = await run(
      names.map((n) => `${server.origin}/${n}.jpg`),
      { out, threads: 2, perHost: 1 },
    )
    await assertSaved(results, out, names)
    assert.ok(server.seen.h2 <= 2, `one HTTP/2 try per thread at most: ${server.seen.h2}`)
  } finally {
    await server.close()
  }
})

test('through a proxy tunnel, HTTP_1_1_REQUIRED is honoured too', async () => {
  const server = await refusing('rst')
  const proxy = await startForwardProxy()
  try {
    const names = ['p1', 'p2']
    const out = join(dir, 'proxied')
    const results = await run(
      names.map((n) => `${server.origin}/${n}.jpg`),
      { out, perHost: 1, proxy: proxy.url },
    )
    await assertSaved(results, out, names)
    assert.deepEqual(server.seen, { h2: 1, h1: 2 })
    assert.ok(proxy.log.every((l) => l.method === 'CONNECT'))
  } finally {
    await proxy.close()
    await server.close()
  }
})

test('HTTP_1_1_REQUIRED after the answer began: that attempt fails and the next goes over HTTP/1.1', async () => {
  const server = await refusing('mid-answer')
  try {
    const out = join(dir, 'mid')
    const [result] = await run([`${server.origin}/mid.jpg`], { out, perHost: 1 })
    assert.equal(result.status, 'ok', result.message)
    assert.equal(result.attempts, 2)
    assert.equal(sha(await readFile(join(out, 'mid.jpg'))), sha(bodyOf('mid.jpg')))
    assert.deepEqual(server.seen, { h2: 1, h1: 1 })
  } finally {
    await server.close()
  }
})
