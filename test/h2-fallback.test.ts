import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { RequestListener } from 'node:http'
import { constants, createSecureServer, type Http2SecureServer } from 'node:http2'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { isDeepStrictEqual } from 'node:util'
import { gzipSync } from 'node:zlib'
import {
  ABANDONED_HTTP2,
  asksForHttp1,
  http1Wanted,
  http2ErrorCode,
  markAfterSettings,
  refusesHttp1,
} from '../src/fetch/http2-errors.js'
import { pull } from '../src/index.js'
import type { Options } from '../src/options.js'
import type { Result } from '../src/types.js'
import { makeCerts, type TestCerts, tlsPair } from './support/certs.js'
import { cleanup, runCli, tempDir } from './support/cli.js'
import { startForwardProxy } from './support/forward-proxy.js'
import { makeImage } from './support/images.js'
import { frame, frames, type RawH2Server, startRawH2Server } from './support/raw-h2-server.js'
import { type LocalServer, listenLocal } from './support/raw-server.js'

// an HTTP/2 server that answers HTTP_1_1_REQUIRED (RFC 9113 §7) wants the request over
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

// HTTP/2 servers that break HTTP/2's rules where HTTP/1.1 has none (connection-specific
// header fields, header blocks in many CONTINUATION frames, a body longer than its length) failed
// every attempt over HTTP/2, where the same server answers over HTTP/1.1.

test('http1Wanted: which HTTP/2 failures send a request, or its origin, over HTTP/1.1', () => {
  const error = (code: string, message: string, errno?: number) =>
    Object.assign(new Error(message), errno === undefined ? { code } : { code, errno })
  const stream = (name: string) =>
    error('ERR_HTTP2_STREAM_ERROR', `Stream closed with error code NGHTTP2_${name}`)
  const nghttp2 = (errno: number) => error('ERR_HTTP2_ERROR', 'any words', errno)
  const goaway = (n: number) => error('UND_ERR_SOCKET', `HTTP/2: "GOAWAY" frame received with code ${n}`)
  const session = (n: number) => error('ERR_HTTP2_SESSION_ERROR', `Session closed with error code ${n}`)
  const afterSettings = (e: Error) => {
    markAfterSettings(e)
    return e
  }
  // [error, answered, origin (true), this request (false), or neither (undefined), words]
  const table: [Error, boolean, boolean | undefined, RegExp?][] = [
    [stream('HTTP_1_1_REQUIRED'), false, true, /HTTP_1_1_REQUIRED/],
    [goaway(13), false, true],
    [session(13), true, true],
    [nghttp2(-505), false, true, /agreed to HTTP\/2, then sent something else/],
    // The same once the server's SETTINGS had come (undici-h2.ts marks it): a frame it refused.
    [afterSettings(nghttp2(-505)), false, true, /a frame nghttp2 refused .*\(a PUSH_PROMISE/],
    [nghttp2(-905), false, true, /more than 8 CONTINUATION frames/],
    [nghttp2(-523), false, true, /HPACK/],
    [nghttp2(-531), false, true],
    [nghttp2(-904), false, true, /flooded the HTTP\/2 connection/],
    // nghttp2's other errors are not the server's HTTP/2 broken (its words are never read).
    [nghttp2(-902), false, undefined],
    // A window overflowed once the server's SETTINGS took is its fault, but no reason to leave
    // HTTP/2 (its words are said); before they took, its SETTINGS were the fault, every connection's.
    [afterSettings(nghttp2(-524)), false, undefined],
    [nghttp2(-524), false, true, /SETTINGS_INITIAL_WINDOW_SIZE over 2\^31-1/],
    [error('ERR_HTTP2_ERROR', 'Protocol error'), false, undefined],
    // PROTOCOL_ERROR before the head: a head nghttp2 refused; after it: a body off its length.
    [stream('PROTOCOL_ERROR'), false, true, /header field HTTP\/2 forbids/],
    [stream('PROTOCOL_ERROR'), true, false, /longer or shorter than its Content-Length/],
    // The same fault as a connection's error (Node's versions differ), before or after a head.
    [goaway(1), false, true, /GOAWAY/],
    [session(1), true, true, /GOAWAY/],
    [stream('INTERNAL_ERROR'), false, undefined],
    [stream('ENHANCE_YOUR_CALM'), false, undefined],
    [stream('REFUSED_STREAM'), false, undefined],
    [goaway(0), false, undefined],
    [goaway(2), false, undefined],
    [error('ECONNRESET', 'Stream closed with error code NGHTTP2_PROTOCOL_ERROR'), false, undefined],
    // A session nghttp2 ended unheard, which imgpull closed (undici-h2.ts `endIfHttp2Abandoned`); by
    // its exact words only: another socket's close is not it.
    [
      error('UND_ERR_SOCKET', ABANDONED_HTTP2),
      false,
      true,
      /a header field over 64 KiB, a frame over 16 KiB/,
    ],
    [error('UND_ERR_SOCKET', 'other side closed'), false, undefined],
  ]
  for (const [e, answered, origin, words] of table) {
    const wanted = http1Wanted(e, answered)
    const row = `${(e as { code?: string }).code} ${e.message} answered=${answered}`
    assert.equal(wanted?.origin, origin, row)
    if (words) assert.match(wanted!.why, words, row)
  }
})

test('refusesHttp1: a TLS handshake refused for want of a protocol both offer, by its code', () => {
  const alert = Object.assign(new Error('any words'), { code: 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL' })
  assert.equal(refusesHttp1(alert), true)
  assert.equal(
    refusesHttp1(Object.assign(new Error('x'), { code: 'ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR' })),
    false,
  )
  assert.equal(refusesHttp1(new Error('tlsv1 alert no application protocol')), false)
  assert.equal(refusesHttp1(undefined), false)
})

// A server offering HTTP/2 alone refuses a TLS handshake offering HTTP/1.1 alone (RFC 7301 §3.2):
// the fallback turned a malformed head into 'TLS: ... the TLS handshake failed (tlsv1 alert no
// application protocol)', failed at once as tls, the server's HTTP/2 fault unsaid.
test('a server that speaks HTTP/2 alone: its malformed head fails as it is, not as a TLS failure of HTTP/1.1', async () => {
  const server = await startRawH2Server(
    tlsPair(certs.good),
    (s) => [...frames.headers(s, head([['connection', 'keep-alive']])), ...frames.data(s, image)],
    (_req, res) => res.end(),
    { alpn: ['h2'] },
  )
  try {
    const results = await run([server.url('/o1.png'), server.url('/o2.png')], {
      out: join(dir, 'h2-alone'),
      perHost: 1,
      retries: 1,
    })
    for (const r of results) {
      assert.equal(r.error, 'network', r.message)
      assert.match(
        r.message!,
        /HTTP\/2 stream was reset with PROTOCOL_ERROR \(by nghttp2 for a head HTTP\/2 forbids/,
      )
      assert.equal(r.attempts, 2)
    }
    assert.equal(server.seen.h1, 0)
  } finally {
    await server.close()
  }
})

// A PNG of noise: its gzip is longer than it, as an image already compressed is.
const image = makeImage('fault', 20_000, 'png')

/** A raw HTTP/2 server (its answers `answer`'s frames) that serves `image` well over HTTP/1.1. */
const rawServer = (
  answer: (stream: number, index: number) => Buffer[],
  http1: RequestListener = (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': image.length })
    res.end(image)
  },
): Promise<RawH2Server> => startRawH2Server(tlsPair(certs.good), answer, http1)

const head = (extra: [string, string][] = []): [string, string][] => [
  [':status', '200'],
  ['content-type', 'image/png'],
  ['content-length', String(image.length)],
  ...extra,
]

async function assertImages(results: Result[], out: string, attempts: number[]): Promise<void> {
  assert.deepEqual(
    results.map((r) => [r.status, r.attempts, r.message]),
    attempts.map((n) => ['ok', n, undefined]),
  )
  for (const r of results) assert.ok((await readFile(join(out, r.path!))).equals(image), r.path)
}

// RFC 9113 §8.2.2: an HTTP/2 head with a connection-specific field is malformed; nghttp2 resets
// the stream (PROTOCOL_ERROR) before the head reaches undici, and curl fails it so
// (curl/curl#12172: 'stream 1 was not closed cleanly: PROTOCOL_ERROR'), where HTTP/1.1 reads it.
// Servers and old proxies pass HTTP/1.1's fields through. So for the head's other faults nghttp2
// refuses (§8.2.1, §8.1.1): a field name in capitals, two Content-Lengths that disagree.
for (const field of [
  ['connection', 'keep-alive'],
  ['transfer-encoding', 'chunked'],
  ['keep-alive', 'timeout=5, max=100'],
  ['upgrade', 'h2,h2c'],
  ['proxy-connection', 'keep-alive'],
  ['X-Powered-By', 'PHP/5.6'],
  ['content-length', '1'],
] as [string, string][]) {
  test(`an HTTP/2 head with \`${field[0]}: ${field[1]}\`: its request goes again over HTTP/1.1 at once, and the origin's later ones straight there`, async () => {
    const server = await rawServer((s) => [...frames.headers(s, head([field])), ...frames.data(s, image)])
    try {
      const out = join(dir, `field-${field[0].toLowerCase()}-${field[1].length}`)
      const results = await run([server.url('/f1.png'), server.url('/f2.png')], { out, perHost: 1 })
      await assertImages(results, out, [1, 1])
      assert.deepEqual(server.seen, { h2: 1, h1: 2 })
    } finally {
      await server.close()
    }
  })
}

test('on transfer threads, and for a body longer than its length: each thread sends the origin, or the file, over HTTP/1.1', async () => {
  const server = await rawServer((s) => [
    ...frames.headers(s, head([['connection', 'keep-alive']])),
    ...frames.data(s, image),
  ])
  const longer = await rawServer(
    (s) => [...frames.headers(s, head()), ...frames.data(s, Buffer.concat([image, Buffer.from('\n')]))],
    (_req, res) => {
      res.socket!.end(
        Buffer.concat([
          Buffer.from(
            `HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: ${image.length}\r\n\r\n`,
          ),
          image,
          Buffer.from('\n'),
        ]),
      )
    },
  )
  try {
    const out = join(dir, 'field-threads')
    const names = ['t1', 't2', 't3', 't4', 't5', 't6']
    const results = await run(
      names.map((n) => server.url(`/${n}.png`)),
      { out, threads: 2, perHost: 1 },
    )
    await assertImages(results, out, [1, 1, 1, 1, 1, 1])
    assert.ok(server.seen.h2 <= 2, `one HTTP/2 try per thread at most: ${server.seen.h2}`)
    const cut = await run([longer.url('/n1.png'), longer.url('/n2.png')], {
      out: join(dir, 'longer-threads'),
      threads: 2,
    })
    // A retry may go to the other thread, which learns it on its own: one HTTP/2 try per thread.
    // Where nghttp2 ends the whole connection for it (Node 22), a file not yet answered goes over
    // HTTP/1.1 at once, in the same attempt.
    for (const r of cut) {
      assert.equal(r.status, 'ok', r.message)
      assert.ok(r.attempts >= 1 && r.attempts <= 3, `${r.path}: ${r.attempts} attempts`)
      assert.ok((await readFile(join(dir, 'longer-threads', r.path!))).equals(image), r.path)
    }
    assert.equal(longer.seen.h1, 2)
  } finally {
    await server.close()
    await longer.close()
  }
})

test('the CLI with NODE_DEBUG=imgpull names the origin whose HTTP/2 head was refused and that it goes over HTTP/1.1', async () => {
  const server = await rawServer((s) => [
    ...frames.headers(s, head([['transfer-encoding', 'chunked']])),
    ...frames.data(s, image),
  ])
  try {
    const out = join(dir, 'field-cli')
    const cli = await runCli([server.url('/c.png'), '-o', out, '--ca-cert', certs.ca, '--no-journal'], {
      env: { NODE_DEBUG: 'imgpull' },
    })
    assert.equal(cli.code, 0, cli.stderr)
    assert.ok((await readFile(join(out, 'c.png'))).equals(image))
    assert.match(
      cli.stderr,
      new RegExp(
        `${server.origin} sent an HTTP/2 head that was refused with PROTOCOL_ERROR .*: its requests go over HTTP/1.1 from now on`,
      ),
    )
  } finally {
    await server.close()
  }
})

// nghttp2 1.61 (Node 18.20, 20.12, 21.7 on) ends the session at a 9th CONTINUATION frame after a
// HEADERS (CVE-2024-28182): a server that splits a large head into small frames.
test('a head in more than 8 CONTINUATION frames goes again over HTTP/1.1 at once; in 8, it stays on HTTP/2', async () => {
  const many = Array.from({ length: 24 }, (_, i): [string, string] => [`x-pad-${i}`, 'v'.repeat(40)])
  for (const continuations of [12, 8]) {
    const server = await rawServer((s) => [
      ...frames.headers(s, head(many), { continuations }),
      ...frames.data(s, image),
    ])
    try {
      const out = join(dir, `continuations-${continuations}`)
      const results = await run([server.url('/k1.png'), server.url('/k2.png')], { out, perHost: 1 })
      await assertImages(results, out, [1, 1])
      assert.deepEqual(
        server.seen,
        continuations > 8 ? { h2: 1, h1: 2 } : { h2: 2, h1: 0 },
        `${continuations}`,
      )
    } finally {
      await server.close()
    }
  }
})

// A server sending PINGs faster than their acknowledgments go out (2,000 in one write) trips
// nghttp2's flood guard (CVE-2019-9512), which ends the session: each file failed every attempt as
// 'Flooding was detected in this HTTP/2 session, and it must be closed (ERR_HTTP2_ERROR)', naming
// neither the server nor its PINGs. HTTP/1.1 has no PING.
test('a PING flood ends the HTTP/2 session: before the head the request goes again over HTTP/1.1 at once; after it, the attempt says what the server did', async () => {
  const flood = Buffer.concat(Array.from({ length: 2000 }, (_, i) => frames.ping(i)))
  const before = await rawServer((s) => [flood, ...frames.headers(s, head()), ...frames.data(s, image)])
  const midway = await rawServer((s) => [
    ...frames.headers(s, head()),
    ...frames.data(s, image.subarray(0, 5000), { end: false }),
    flood,
  ])
  try {
    let out = join(dir, 'ping-flood')
    await assertImages(
      await run([before.url('/p1.png'), before.url('/p2.png')], { out, perHost: 1 }),
      out,
      [1, 1],
    )
    assert.deepEqual(before.seen, { h2: 1, h1: 2 })
    out = join(dir, 'ping-flood-midway')
    const url = midway.url('/p3.png')
    const [failed] = await run([url], { out, retries: 0 })
    assert.equal(
      failed.message,
      `${url}: the server flooded the HTTP/2 connection with frames that each need an answer (PING or SETTINGS frames faster than their acknowledgments could be sent: nghttp2's guard against floods, CVE-2019-9512), and nghttp2 closed the connection after 5000 of ${image.length} bytes`,
    )
    // Its retry goes over HTTP/1.1.
    await assertImages(await run([midway.url('/p4.png')], { out }), out, [2])
    assert.deepEqual(midway.seen, { h2: 2, h1: 1 })
  } finally {
    await Promise.all([before.close(), midway.close()])
  }
})

// The same faults come as a connection's error too (GOAWAY with PROTOCOL_ERROR; Node 22 and 24
// end more sessions so): every request on it goes again over HTTP/1.1, and a stream the server
// itself resets with PROTOCOL_ERROR before any head is taken as one nghttp2 refused.
for (const how of ['goaway', 'rst'] as const) {
  test(`${how === 'goaway' ? 'GOAWAY' : 'RST_STREAM'}(PROTOCOL_ERROR) before any answer, requests in flight: each goes again over HTTP/1.1, once`, async () => {
    const server = await rawServer((s) =>
      how === 'goaway' ? [frames.goaway(0, constants.NGHTTP2_PROTOCOL_ERROR)] : [frames.rstStream(s, 1)],
    )
    try {
      const out = join(dir, `protocol-error-${how}`)
      const names = ['g1', 'g2', 'g3', 'g4', 'g5', 'g6']
      const results = await run(
        names.map((n) => server.url(`/${n}.png`)),
        { out },
      )
      await assertImages(results, out, [1, 1, 1, 1, 1, 1])
      assert.equal(server.seen.h1, 6)
      assert.ok(server.seen.h2 <= 6, `at most one HTTP/2 try each: ${server.seen.h2}`)
    } finally {
      await server.close()
    }
  })
}

// nghttp2 resets a stream whose DATA runs past its Content-Length (RFC 9113 §8.1.1) and drops the
// frame that does: each attempt was cut there (`reset (PROTOCOL_ERROR) after 16384 of 20000
// bytes`), all three. curl over HTTP/2 fails it too ('stream was not closed cleanly'); over
// HTTP/1.1 the length ends the body, the bytes after it left (PHP's newline after `?>`), and an
// encoded body whose length is its decoded size is read past it to its coding's end.
test('a body longer than its Content-Length over HTTP/2: that request is asked again over HTTP/1.1, which reads the length; never a file of the bytes past it', async () => {
  const tail = Buffer.from('<?php // trailing bytes\n')
  const sent = (coded: Buffer, fields: [string, string][]) =>
    rawServer(
      // The first request's answer overruns; the origin's others are good.
      (s, index) =>
        index === 0
          ? [...frames.headers(s, head(fields)), ...frames.data(s, coded)]
          : [...frames.headers(s, head()), ...frames.data(s, image)],
      // The same bytes over HTTP/1.1, as the same server sends them, then a close.
      (_req, res) => {
        const h1 = fields.map(([n, v]) => `${n}: ${v}\r\n`).join('')
        res.socket!.end(
          Buffer.concat([
            Buffer.from(
              `HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n${h1}Content-Length: ${image.length}\r\n\r\n`,
            ),
            coded,
          ]),
        )
      },
    )
  const plain = await sent(Buffer.concat([image, tail]), [])
  try {
    const out = join(dir, 'longer')
    const results = await run([plain.url('/l1.png'), plain.url('/l2.png')], { out, perHost: 1 })
    // l2 ends first: l1's retry waits.
    results.sort((a, b) => a.path!.localeCompare(b.path!))
    await assertImages(results, out, [2, 1])
    // The retry over HTTP/1.1; the next file over HTTP/2 where nghttp2 resets the stream alone
    // (Node 20), over HTTP/1.1 where it ends the connection with an error of the kind a server that
    // answers in HTTP/1.1 causes (Node 22: the origin then goes over HTTP/1.1 from there on).
    assert.ok(
      isDeepStrictEqual(plain.seen, { h2: 2, h1: 1 }) || isDeepStrictEqual(plain.seen, { h2: 1, h1: 2 }),
      JSON.stringify(plain.seen),
    )
  } finally {
    await plain.close()
  }
  // gzip of the image, its length the decoded size (a script stating the file's size under a
  // compressing layer): the coding of an image already compressed is the longer, and overran it.
  const decoded = await sent(gzipSync(image), [['content-encoding', 'gzip']])
  try {
    assert.ok(gzipSync(image).length > image.length)
    const out = join(dir, 'longer-coded')
    const results = await run([decoded.url('/d.png')], { out, perHost: 1 })
    await assertImages(results, out, [2])
  } finally {
    await decoded.close()
  }
})

// nghttp2 cannot decode a header field over 64 KiB (NGHTTP2_HD_MAX_NV): it sends GOAWAY
// (COMPRESSION_ERROR) and stops reading and writing, and Node tells nobody (icing/mod_h2#297,
// curl/curl#16535: curl fails such heads too). The request waited out its headers timeout on every
// attempt (92 s, then `headers timeout after 30 s`), where HTTP/1.1 reads the 70 KiB field.
test('a head with a 70 KiB field, which nghttp2 ends the session over without a word: its requests go again over HTTP/1.1 at once', async () => {
  const big: [string, string] = ['content-security-policy', `default-src ${'x'.repeat(70_000)}`]
  const server = await rawServer((s) => [
    ...frames.headers(s, head([big]), { continuations: 5 }),
    ...frames.data(s, image),
  ])
  try {
    const out = join(dir, 'huge-field')
    const results = await run([server.url('/h1.png'), server.url('/h2.png')], {
      out,
      perHost: 1,
      headersTimeout: 10_000,
    })
    await assertImages(results, out, [1, 1])
    assert.deepEqual(server.seen, { h2: 1, h1: 2 })
  } finally {
    await server.close()
  }
})

// A server that speaks HTTP/2 alone has no HTTP/1.1 to go to: the failure says what happened, not
// 'the server closed the connection' (imgpull closed it) nor a headers timeout.
test('the same head from a server that speaks HTTP/2 alone: the failure names nghttp2 and the field over 64 KiB', async () => {
  const big: [string, string] = ['content-security-policy', `default-src ${'x'.repeat(70_000)}`]
  const server = await startRawH2Server(
    tlsPair(certs.good),
    (s) => [...frames.headers(s, head([big]), { continuations: 5 }), ...frames.data(s, image)],
    (_req, res) => res.end(),
    { alpn: ['h2'] },
  )
  try {
    const url = server.url('/alone.png')
    const [failed] = await run([url], {
      out: join(dir, 'huge-field-h2-only'),
      retries: 0,
      headersTimeout: 10_000,
    })
    assert.equal(failed!.status, 'failed')
    // nghttp2 1.61 (Node 20) ends the session unheard and imgpull closes it; 1.69 and 1.70 (Node 22,
    // 24) end it with a protocol error Node reports. Either way the words name the field.
    assert.ok(
      [
        `network error on ${url}: ${ABANDONED_HTTP2} (UND_ERR_SOCKET)`,
        `network error on ${url}: ${refusedFrameWords}`,
      ].includes(failed!.message!),
      failed!.message,
    )
  } finally {
    await server.close()
  }
})

// A server that sends DATA frames larger than the 16 KiB its client's SETTINGS allow (RFC 9113
// §4.2: it ignored SETTINGS_MAX_FRAME_SIZE, bdarnell/tornado_http2#7, akka/akka-http#757), DATA on
// stream 0, or padding longer than its frame: nghttp2 1.61 (Node 20) ends the session over each
// unheard, as over a field over 64 KiB, and the failure said `nghttp2 ended the session over what
// the server sent (a header block it cannot decode, such as a field over 64 KiB)`, a head that was
// whole. Offering HTTP/1.1 too, that file's next attempt went there and was kept.
test('a DATA frame over the 16 KiB frame size, a WINDOW_UPDATE of 0: said as a frame nghttp2 refused, never a header block; over HTTP/1.1 where offered', async () => {
  // DATA on stream 0 (frame(0, 0, 0, ...)) takes the same path: its case was cut for time.
  // A WINDOW_UPDATE of 0 (RFC 9113 §6.9; nghttp's `-w 0` sent them, nghttp2/nghttp2#369), which
  // nghttp2 ends the session over, said `the server agreed to HTTP/2, then sent something else`,
  // the words for an HTTP/1.1 answer, though its SETTINGS had come.
  const faults: Record<string, (s: number) => Buffer> = {
    'over-16k': (s) => frame(0, 1, s, image),
    'window-0': (s) => frames.windowUpdate(s, 0),
  }
  for (const [name, fault] of Object.entries(faults)) {
    const answer = (s: number) => [...frames.headers(s, head()), fault(s)]
    const both = await rawServer(answer)
    const alone = await startRawH2Server(tlsPair(certs.good), answer, (_req, res) => res.end(), {
      alpn: ['h2'],
    })
    try {
      const out = join(dir, `frame-${name}`)
      const [kept] = await run([both.url('/f.png')], { out })
      assert.equal(kept!.status, 'ok', `${name}: ${kept!.message}`)
      assert.ok((await readFile(join(out, kept!.path!))).equals(image), name)
      const url = alone.url('/alone.png')
      const [failed] = await run([url], { out: join(dir, `frame-${name}-alone`), retries: 0 })
      assert.equal(failed!.status, 'failed', name)
      // Node 22 and 24's nghttp2 report it: a frame of a wrong size, or one refused.
      assert.match(
        failed!.message!,
        /a frame over the 16 KiB|frame of a wrong size|a frame nghttp2 refused/,
        name,
      )
      assert.doesNotMatch(failed!.message!, /header block/, name)
      assert.doesNotMatch(failed!.message!, /something else/, name)
    } finally {
      await both.close()
      await alone.close()
    }
  }
})

// A server whose first SETTINGS carry a SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1 (its values are
// 32 bits wide, httpwg/http2-spec#329; RFC 9113 §6.5.2 makes it a connection's FLOW_CONTROL_ERROR):
// nghttp2 ends every connection to it so. Each attempt failed as `the server broke HTTP/2's flow
// control (FLOW_CONTROL_ERROR: a WINDOW_UPDATE taking a window past 2^31-1 bytes, or DATA past the
// window ...)`, retried over HTTP/2 in vain, where HTTP/1.1 served the file.
test('SETTINGS with an INITIAL_WINDOW_SIZE over 2^31-1: the request goes again over HTTP/1.1 at once; from a server speaking HTTP/2 alone, said so', async () => {
  const answer = (s: number) => [...frames.headers(s, head()), ...frames.data(s, image)]
  const settings = frames.settingsPayload([[4, 2 ** 31]])
  const both = await startRawH2Server(
    tlsPair(certs.good),
    answer,
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': image.length })
      res.end(image)
    },
    { settings },
  )
  const alone = await startRawH2Server(tlsPair(certs.good), answer, (_req, res) => res.end(), {
    settings,
    alpn: ['h2'],
  })
  try {
    const out = join(dir, 'settings-window')
    const results = await run([both.url('/w1.png'), both.url('/w2.png')], { out, perHost: 1 })
    await assertImages(results, out, [1, 1])
    assert.deepEqual(both.seen, { h2: 1, h1: 2 })
    const [failed] = await run([alone.url('/w.png')], { out: join(dir, 'settings-window-alone'), retries: 0 })
    assert.equal(failed!.status, 'failed')
    assert.match(
      failed!.message!,
      /SETTINGS nghttp2 refused, a SETTINGS_INITIAL_WINDOW_SIZE over 2\^31-1 bytes/,
    )
    assert.doesNotMatch(failed!.message!, /later requests to it use HTTP\/1\.1/)
  } finally {
    await both.close()
    await alone.close()
  }
})

// An interim answer (100 Continue, 103 Early Hints) whose HEADERS carry END_STREAM, its final
// answer sent after it all the same (a server that flags its 100 so: openjdk/jdk#14207): RFC 9113
// §8.1 calls it malformed. nghttp2 resets the stream, then Node ends the whole session over the
// frames that come on it closed, and each attempt failed in Node's words, `Stream was already closed or invalid (ERR_HTTP2_ERROR)`, where
// HTTP/1.1 (a 100, then the 200) served the file.
test('a 1xx answer with END_STREAM, then the 200, over HTTP/2: the request goes again over HTTP/1.1 at once; from a server speaking HTTP/2 alone, said so', async () => {
  // The 100 flagged END_STREAM, then the final answer all the same, on a stream closed by then.
  const answer = (s: number) => [
    ...frames.headers(s, [[':status', '100']], { end: true }),
    ...frames.headers(s, head()),
    ...frames.data(s, image),
  ]
  const both = await rawServer(answer)
  const alone = await startRawH2Server(tlsPair(certs.good), answer, (_req, res) => res.end(), {
    alpn: ['h2'],
  })
  try {
    const out = join(dir, 'interim-end')
    const results = await run([both.url('/i.png')], { out })
    await assertImages(results, out, [1])
    const [failed] = await run([alone.url('/i.png')], { out: join(dir, 'interim-end-alone'), retries: 0 })
    assert.equal(failed!.status, 'failed')
    // Node 22 and 24 may reset the stream alone: a head nghttp2 refused (PROTOCOL_ERROR).
    assert.match(failed!.message!, /an interim 1xx answer with END_STREAM|PROTOCOL_ERROR/)
    // Its requests stay on HTTP/2: the failure said 'later requests to it use HTTP/1.1'.
    assert.doesNotMatch(failed!.message!, /later requests to it use HTTP\/1\.1/)
  } finally {
    await both.close()
    await alone.close()
  }
})

const refusedFrameWords =
  "the server sent a frame nghttp2 refused as a protocol error, its HTTP/2 connection begun (a PUSH_PROMISE though imgpull's SETTINGS disabled push, RFC 9113 §6.5.2; an ALTSVC frame on stream 0 without an origin; a WINDOW_UPDATE of 0, RFC 9113 §6.9; a header field over 64 KiB?); --no-http2 keeps to HTTP/1.1 (ERR_HTTP2_ERROR)"

// A server speaking HTTP/2 that sends a frame nghttp2 ends the session over: a PUSH_PROMISE though
// the client's SETTINGS disabled push (servers that push anyway, hyperium/h2#200), or an ALTSVC
// frame on stream 0 without an origin, which RFC 7838 §4 says to ignore and Node does not
// (oven-sh/bun#42391). Offering HTTP/1.1 too, its requests went there and were kept; offering HTTP/2
// alone, each failed as `what the server sent is not HTTP/2 as nghttp2 reads it ... (a server that
// offers h2 and speaks HTTP/1.1 ...)`, nghttp2's words for bytes that are not HTTP/2, though its
// SETTINGS had come.
test('a frame nghttp2 refuses from a server speaking HTTP/2 (a PUSH_PROMISE, an ALTSVC without an origin): said so, not as HTTP/1.1; over HTTP/1.1 where offered', async () => {
  const refused = {
    push: (s: number) => frames.pushPromise(s, 2),
    altsvc: () => frames.altsvc(0, '', 'h3=":443"'),
  }
  for (const [name, refusedFrame] of Object.entries(refused)) {
    for (const alpn of [['h2'], ['h2', 'http/1.1']]) {
      const server = await startRawH2Server(
        tlsPair(certs.good),
        (s) => [refusedFrame(s), ...frames.headers(s, head()), ...frames.data(s, image)],
        (_req, res) => {
          res.writeHead(200, { 'content-type': 'image/png', 'content-length': image.length })
          res.end(image)
        },
        { alpn },
      )
      try {
        const url = server.url(`/${name}.png`)
        const [result] = await run([url], { out: join(dir, `refused-${name}-${alpn.length}`), retries: 0 })
        if (alpn.length === 1)
          assert.deepEqual(
            [result!.status, result!.message],
            ['failed', `network error on ${url}: ${refusedFrameWords}`],
          )
        else
          assert.deepEqual(
            [result!.status, server.seen],
            ['ok', { h2: 1, h1: 1 }],
            `${name}: ${result!.message}`,
          )
      } finally {
        await server.close()
      }
    }
  }
})

// The same field in the trailers, after every byte of the body's length: the stream's end never
// came, and the file waited out the idle timeout (15 s by default) before it was kept.
test('a 70 KiB trailer field after a whole body: the file is kept without waiting out the idle timeout', async () => {
  const idleTimeout = 60_000
  const server = await rawServer((s) => [
    ...frames.headers(s, head()),
    ...frames.data(s, image, { end: false }),
    ...frames.headers(s, [['x-trace', 'x'.repeat(70_000)]], { end: true, continuations: 5 }),
  ])
  try {
    const out = join(dir, 'huge-trailer')
    const results = await run([server.url('/t1.png')], { out, idleTimeout })
    await assertImages(results, out, [1])
    assert.ok(results[0]!.timings.total < idleTimeout, `${results[0]!.timings.total} ms`)
  } finally {
    await server.close()
  }
})
