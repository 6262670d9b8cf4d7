import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { type Options, pull, type Result } from '../src/index.js'
import { cleanup, tempDir } from './support/cli.js'
import { makeImage } from './support/images.js'
import { eachRequest, type LocalServer, startRawServer } from './support/raw-server.js'
import { BODY_PATHS } from './support/resume.js'

// A Content-Length that lies about the body the server sends: short of it (the rest of the image
// comes after it), or over it (the connection then held open). Real raw servers on 127.0.0.1.

let jpeg: Buffer
/** Another version of `jpeg`, its size. */
let other: Buffer
let dir: string
let server: LocalServer
/** Per request: its path, when it came, and when the client closed its connection. */
const seen: { path: string; at: number; closed?: number }[] = []

const head = (status: string, lines: string[]) => Buffer.from(`${status}\r\n${lines.join('\r\n')}\r\n\r\n`)

/** A JPEG answer whose `Content-Length` is `length`, its `extra` head lines, then `body` (the whole image unless given). */
const lying = (length: number, extra: string[], body = jpeg, status = 'HTTP/1.1 200 OK') =>
  Buffer.concat([head(status, ['Content-Type: image/jpeg', `Content-Length: ${length}`, ...extra]), body])

/** The first byte a request's `Range: bytes=N-` asks for, or `undefined`. */
const rangeFrom = (request: string) => {
  const m = /^range:\s*bytes=(\d+)-/im.exec(request)
  return m ? Number(m[1]) : undefined
}

const validators = ['ETag: "r1"', `Last-Modified: ${new Date(Date.now() - 86_400_000).toUTCString()}`]

/**
 * Behind a link that cuts every whole answer at half, a range handler whose 206 states a
 * `Content-Length` over its `Content-Range`'s (DaveRandom/Resume#3: the whole file's size), its
 * body the range (`junk`: and that many bytes more, counted in the length). `open`: the connection
 * is held after it.
 */
const overstatedRange =
  (length: (from: number) => number, junk = 0, open = false) =>
  (request: string) => {
    const from = rangeFrom(request)
    const n = jpeg.length
    if (from === undefined) return { bytes: lying(n, validators, jpeg.subarray(0, n >> 1)) }
    const range = `Content-Range: bytes ${from}-${n - 1}/${n}`
    const body = Buffer.concat([jpeg.subarray(from), Buffer.alloc(junk, 0x3c)])
    return { bytes: lying(length(from), [range, ...validators], body, 'HTTP/1.1 206 Partial Content'), open }
  }

/** `body` in HTTP/1.1 chunks of at most 4096 bytes, and the last chunk. */
const chunked = (body: Buffer) => {
  const parts: Buffer[] = []
  for (let at = 0; at < body.length; at += 4096) {
    const chunk = body.subarray(at, at + 4096)
    parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'))
  }
  return Buffer.concat([...parts, Buffer.from('0\r\n\r\n')])
}

/**
 * Behind a link that cuts every whole answer at half, a range handler whose 206 states no
 * `Content-Length` (chunked, or read to the close) and sends `junk` bytes after its range (a
 * handler that reads on to its next 4096-byte block, sabre-io/http#134, or past the range's end,
 * diversen/http-send-file#23).
 */
const unframedRange =
  (framing: 'chunked' | 'close', junk: Buffer, plain = false) =>
  (request: string) => {
    const from = rangeFrom(request)
    const n = jpeg.length
    if (from === undefined && !plain) return { bytes: lying(n, validators, jpeg.subarray(0, n >> 1)) }
    const start = from ?? 0
    const lines = ['Content-Type: image/jpeg', `Content-Range: bytes ${start}-${n - 1}/${n}`, ...validators]
    const body = Buffer.concat([jpeg.subarray(start), junk])
    const status = 'HTTP/1.1 206 Partial Content'
    if (framing === 'close')
      return { bytes: Buffer.concat([head(status, [...lines, 'Connection: close']), body]) }
    return {
      bytes: Buffer.concat([head(status, [...lines, 'Transfer-Encoding: chunked']), chunked(body)]),
      open: true,
    }
  }

const trailer = Buffer.from('\n<!-- page generated in 0.012 s -->\n')

/**
 * Behind a link that cuts every whole answer at half, a range handler whose 206 states no
 * `Content-Length` and, its range sent, neither ends it nor closes: chunked without its last
 * chunk (cpp-httplib#2563, netty#1861), or to be read to a close that never comes.
 */
const rangeLeftOpen = (framing: 'chunked' | 'close') => (request: string) => {
  const from = rangeFrom(request)
  const n = jpeg.length
  if (from === undefined) return { bytes: lying(n, validators, jpeg.subarray(0, n >> 1)) }
  const lines = ['Content-Type: image/jpeg', `Content-Range: bytes ${from}-${n - 1}/${n}`, ...validators]
  const body = jpeg.subarray(from)
  const status = 'HTTP/1.1 206 Partial Content'
  if (framing === 'close') return { bytes: Buffer.concat([head(status, lines), body]), open: true }
  const chunk = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n')])
  return { bytes: Buffer.concat([head(status, [...lines, 'Transfer-Encoding: chunked']), chunk]), open: true }
}

/**
 * `overstatedRange`'s handler, the file changed under the same validators: its 206 sends another
 * version's bytes (`other`), whole answers after the first one come whole.
 */
const changedUnderRange = () => {
  let wholes = 0
  return (request: string) => {
    const from = rangeFrom(request)
    const n = jpeg.length
    if (from === undefined)
      return { bytes: lying(n, validators, wholes++ === 0 ? jpeg.subarray(0, n >> 1) : jpeg) }
    const range = `Content-Range: bytes ${from}-${n - 1}/${n}`
    return { bytes: lying(n, [range, ...validators], other.subarray(from), 'HTTP/1.1 206 Partial Content') }
  }
}

/** What each path writes; `open`: the connection is left open after it (else the server ends it). */
const answers: Record<string, (request: string) => { bytes: Buffer; open?: boolean }> = {
  '/range-whole-length-close': overstatedRange(() => jpeg.length),
  '/range-whole-length-held': overstatedRange(() => jpeg.length, 0, true),
  '/range-junk-counted': overstatedRange((from) => jpeg.length - from + 200, 200),
  // To a plain GET, the whole file as a 206, 200 bytes more counted in its length.
  '/whole-206-junk-counted': () => ({
    bytes: lying(
      jpeg.length + 200,
      [`Content-Range: bytes 0-${jpeg.length - 1}/${jpeg.length}`],
      Buffer.concat([jpeg, Buffer.alloc(200, 0x3c)]),
      'HTTP/1.1 206 Partial Content',
    ),
  }),
  '/range-junk-chunked': unframedRange('chunked', trailer),
  '/range-junk-close': unframedRange('close', trailer),
  '/range-junk-chunked-later': unframedRange('chunked', Buffer.alloc(9000, 0x20)),
  // To a plain GET, the whole file as such a 206.
  '/whole-206-junk-chunked': unframedRange('chunked', trailer, true),
  '/range-no-last-chunk': rangeLeftOpen('chunked'),
  '/range-never-closed': rangeLeftOpen('close'),
  // A script that counted its body before it appended 500 bytes more (MonstaApps/Monsta-FTP#65).
  '/under-close': () => ({ bytes: lying(jpeg.length - 500, ['Connection: close']) }),
  '/under-http10': () => ({ bytes: lying(jpeg.length - 500, [], jpeg, 'HTTP/1.0 200 OK') }),
  '/under-kept': () => ({ bytes: lying(jpeg.length - 500, ['Connection: keep-alive']), open: true }),
  // The server's copy is cut where its length says: nothing comes past it.
  '/cut-kept': () => ({
    bytes: lying(jpeg.length - 500, [], jpeg.subarray(0, jpeg.length - 500)),
    open: true,
  }),
  // More comes past the length, but not the rest of the image.
  '/under-still-cut': () => ({
    bytes: lying(jpeg.length - 900, ['Connection: close'], jpeg.subarray(0, jpeg.length - 400)),
  }),
  // A length 100 bytes over the body, the connection held open (seanmonstar/reqwest#1646).
  '/over-held': () => ({ bytes: lying(jpeg.length + 100, []), open: true }),
}

before(async () => {
  jpeg = makeImage('length-lies-160x120', 12_000)
  other = makeImage('length-lies-other-160x120', 12_000)
  for (const where of Object.keys(BODY_PATHS))
    answers[`/range-changed-${where.replace(/\W+/g, '-')}`] = changedUnderRange()
  dir = await tempDir()
  server = await startRawServer((socket: Socket) => {
    let last: (typeof seen)[number] | undefined
    socket.on('close', () => {
      if (last) last.closed = performance.now()
    })
    eachRequest(socket, (request) => {
      const path = request.split(' ')[1] ?? '/'
      last = { path, at: performance.now() }
      seen.push(last)
      const answer = answers[path]?.(request)
      if (!answer) socket.end(head('HTTP/1.1 404 Not Found', ['Content-Length: 0']))
      else if (answer.open) socket.write(answer.bytes)
      else socket.end(answer.bytes)
    })
  })
})

after(async () => {
  await server.close()
  await cleanup(dir)
})

async function get(path: string, options: Options = {}, under = ''): Promise<{ r: Result; out: string }> {
  const out = join(dir, under, path.slice(1))
  const results: Result[] = []
  for await (const r of pull([server.url(path)], { out, retries: 0, ...options })) results.push(r)
  return { r: results[0]!, out }
}

test('an image its Content-Length cuts, whose connection brings the rest and closes, is read to the close and kept whole', async () => {
  // It failed as truncated ("the server marked its answer whole ... no resume could continue it"),
  // where wget2 keeps the image and curl and aria2c keep the cut file.
  for (const path of ['/under-close', '/under-http10', '/under-kept']) {
    const began = performance.now()
    const { r, out } = await get(path, { idleTimeout: 60_000 })
    assert.equal(r.status, 'ok', `${path}: ${r.message}`)
    assert.deepEqual(await readFile(join(out, r.path!)), jpeg, path)
    // Kept alive after the extra bytes, the connection is not waited on to the idle timeout.
    assert.ok(performance.now() - began < 30_000, `${path} waited for the idle timeout`)
  }
})

test('an image its Content-Length cuts is never kept cut: the same bytes to the close, or more that do not finish it', async () => {
  for (const path of ['/cut-kept', '/under-still-cut']) {
    const began = performance.now()
    const { r } = await get(path, { idleTimeout: 60_000 })
    assert.equal(r.status, 'failed', path)
    assert.equal(r.error, 'truncated', `${path}: ${r.message}`)
    assert.match(r.message!, /JPEG has no end-of-image marker: the server marked its answer whole/, path)
    assert.equal(r.path, undefined, path)
    assert.ok(performance.now() - began < 30_000, `${path} waited for the idle timeout`)
  }
})

test('a length over the body on a held connection: the second answer with the very same whole image is not waited on to the idle timeout', async () => {
  // Both attempts waited the idle timeout, twice wget2's and aria2c's time.
  const idleTimeout = 6000
  seen.length = 0
  const { r, out } = await get('/over-held', { idleTimeout, retries: 1 })
  assert.equal(r.status, 'ok', r.message)
  assert.equal(r.attempts, 2)
  assert.deepEqual(await readFile(join(out, r.path!)), jpeg)
  const [first, second] = seen.filter((s) => s.path === '/over-held')
  assert.ok(first?.closed !== undefined && second?.closed !== undefined)
  // The first waited the idle timeout; the second stops soon after the bytes the first saw whole.
  assert.ok(first.closed - first.at >= idleTimeout * 0.9, 'the first answer was given the idle timeout')
  assert.ok(second.closed - second.at < idleTimeout * 0.75, 'the second answer waited the idle timeout')
})

test("a 206 whose Content-Length overstates its Content-Range is read to the range's end, a resume's joined", async () => {
  // Each resume restarted ("Content-Length 12000 disagrees with Content-Range 7856-11999"), and
  // behind a link that cuts every whole answer the file never finished, where aria2c joins the
  // range; the whole file as such a 206 to a plain GET was refused (bad-range).
  const paths = [
    '/range-whole-length-close',
    '/range-whole-length-held',
    '/range-junk-counted',
    '/whole-206-junk-counted',
  ]
  const sha256 = createHash('sha256').update(jpeg).digest('hex')
  for (const [where, options] of Object.entries(BODY_PATHS)) {
    for (const path of paths) {
      const began = performance.now()
      const under = where.replace(/\W+/g, '-')
      const { r } = await get(path, { idleTimeout: 60_000, retries: 2, ...options }, under)
      assert.equal(r.status, 'ok', `${path} ${where}: ${r.message}`)
      assert.equal(r.sha256, sha256, `${path} ${where}`)
      assert.ok(performance.now() - began < 30_000, `${path} ${where} waited for the idle timeout`)
    }
  }
})

test("a 206 without a Content-Length whose body runs past its Content-Range is read to the range's end, a resume's joined", async () => {
  // Each resume failed ("got 10132 of 10096 bytes", as truncated) and was dropped, so behind a link
  // that cuts every whole answer the file never finished; to a plain GET, the whole file so sent
  // failed the same at every attempt. Each form on the main thread; the other body paths, one each.
  const cases: Record<string, string[]> = {
    'on the main thread': [
      '/range-junk-chunked',
      '/range-junk-close',
      '/range-junk-chunked-later',
      '/whole-206-junk-chunked',
    ],
    'on transfer threads': ['/range-junk-chunked'],
    'into WebDataset shards': ['/range-junk-close'],
  }
  const sha256 = createHash('sha256').update(jpeg).digest('hex')
  for (const [where, path] of Object.entries(cases).flatMap(([where, paths]) =>
    paths.map((p) => [where, p]),
  )) {
    const under = `unframed-${where.replace(/\W+/g, '-')}`
    const { r } = await get(path, { idleTimeout: 60_000, retries: 2, ...BODY_PATHS[where] }, under)
    assert.equal(r.status, 'ok', `${path} ${where}: ${r.message}`)
    assert.equal(r.sha256, sha256, `${path} ${where}`)
  }
})

test('a 206 whose Content-Length overstates its Content-Range, of another version, come in one read: the file starts over, not judged on the bytes on disk', async () => {
  // Its range's end came in the read that brought the bytes asked again, and the body was ended
  // there before they were compared: taken for an answer that brought nothing, the half on disk was
  // judged as the file and failed ('JPEG has no end-of-image marker: the server marked its answer
  // whole at 6000 bytes ... no resume could continue it'), where the whole file came next.
  const sha256 = createHash('sha256').update(jpeg).digest('hex')
  for (const [where, options] of Object.entries(BODY_PATHS)) {
    const path = `/range-changed-${where.replace(/\W+/g, '-')}`
    const { r } = await get(path, { idleTimeout: 60_000, retries: 1, ...options })
    assert.equal(r.status, 'ok', `${where}: ${r.message}`)
    assert.equal(r.sha256, sha256, where)
  }
})

test("a resume's 206 without a Content-Length left open once its range came: judged at the idle timeout, the file kept", async () => {
  // Every byte of its range came, then neither its last chunk nor a close: the stall was a
  // failure, and the next resume, which brought no byte past the whole file on disk, failed
  // 'timeout' ('no byte past the 12000 on disk came after the head'), where the same 206 under a
  // coding, or a 200 so left open, was judged as it was and kept.
  const sha256 = createHash('sha256').update(jpeg).digest('hex')
  for (const path of ['/range-no-last-chunk', '/range-never-closed']) {
    const { r } = await get(path, { idleTimeout: 500, retries: 1 })
    assert.equal(r.status, 'ok', `${path}: ${r.message}`)
    assert.equal(r.sha256, sha256, path)
  }
})
