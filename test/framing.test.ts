import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { type AddressInfo, createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { type Options, pull, type Result } from '../src/index.js'
import { cleanup, tempDir } from './support/cli.js'
import { withMpf } from './support/images.js'

// Formats whose end the bytes cannot always show (a GIF without its trailer, a bare JPEG XL
// codestream): whole when the protocol marked the body's end, never when a connection just closed.

const fixture = (name: string) => readFile(new URL(`./fixtures/images/${name}`, import.meta.url))
let gif: Buffer
let jxl: Buffer
let mpf: Buffer
let dir: string
let server: Server
let port: number
let cuts = 0
const requests: { path: string; range?: string }[] = []

type Answer = (range: string | undefined) => string | Buffer

const head = (lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')
/** A body that runs until the connection closes (RFC 9112 §6.3, rule 8): no length, not chunked. */
const closeDelimited = (type: string, body: Buffer, extra: string[] = []) =>
  Buffer.concat([head(['HTTP/1.1 200 OK', `Content-Type: ${type}`, 'Connection: close', ...extra]), body])
const withLength = (type: string, body: Buffer) =>
  Buffer.concat([head(['HTTP/1.1 200 OK', `Content-Type: ${type}`, `Content-Length: ${body.length}`]), body])
const chunked = (type: string, body: Buffer) =>
  Buffer.concat([
    head(['HTTP/1.1 200 OK', `Content-Type: ${type}`, 'Transfer-Encoding: chunked']),
    Buffer.from(`${body.length.toString(16)}\r\n`),
    body,
    Buffer.from('\r\n0\r\n\r\n'),
  ])

/** A server that answers ranges as RFC 9110 §14 says, for a file whose first answer was cut at `cut`. */
const rangedJxl =
  (cut: number): Answer =>
  (range) => {
    const etag = 'ETag: "jxl-v1"'
    if (!range) return closeDelimited('image/jxl', jxl.subarray(0, cut), [etag])
    const from = Number(/bytes=(\d+)-/.exec(range)![1])
    if (from >= jxl.length)
      return head([
        'HTTP/1.1 416 Range Not Satisfiable',
        `Content-Range: bytes */${jxl.length}`,
        etag,
        'Content-Length: 0',
      ])
    const rest = jxl.subarray(from)
    return Buffer.concat([
      head([
        'HTTP/1.1 206 Partial Content',
        'Content-Type: image/jxl',
        etag,
        `Content-Range: bytes ${from}-${jxl.length - 1}/${jxl.length}`,
        `Content-Length: ${rest.length}`,
      ]),
      rest,
    ])
  }

const answers: Record<string, Answer> = {
  '/gif-length': () => withLength('image/gif', gif.subarray(0, -1)),
  '/gif-chunked': () => chunked('image/gif', gif.subarray(0, -1)),
  '/gif-nul': () => withLength('image/gif', Buffer.concat([gif.subarray(0, -1), Buffer.from([0])])),
  '/gif-close': () => closeDelimited('image/gif', gif.subarray(0, -1)),
  '/gif-close-whole': () => closeDelimited('image/gif', gif),
  '/jxl-length': () => withLength('image/jxl', jxl),
  '/jxl-close': () => closeDelimited('image/jxl', jxl),
  // Cut at a byte that moves on every answer: never the same bytes twice.
  '/jxl-close-cut': () => closeDelimited('image/jxl', jxl.subarray(0, 400 + (cuts++ % 5) * 37)),
  '/jxl-close-ranges': rangedJxl(Number.POSITIVE_INFINITY),
  '/jxl-cut-ranges': (range) => rangedJxl(Math.floor(jxl.length * 0.6))(range),
  // A camera's JPEG with a second image after EOI, listed in its MPF index.
  '/mpf-close': () => closeDelimited('image/jpeg', mpf),
  '/mpf-close-cut': () => closeDelimited('image/jpeg', mpf.subarray(0, mpf.length - 200 - (cuts++ % 5) * 37)),
  '/mpf-length-short': () => withLength('image/jpeg', mpf.subarray(0, mpf.length - 200)),
}

before(async () => {
  gif = await fixture('animated.gif')
  jxl = await fixture('bare.jxl')
  mpf = withMpf(await fixture('baseline.jpg'), await fixture('progressive.jpg'))
  dir = await tempDir()
  server = createServer((socket) => {
    socket.on('error', () => {})
    socket.once('data', (data) => {
      const text = data.toString('latin1')
      const path = text.split(' ')[1]
      const range = /^range: *(.*)$/im.exec(text)?.[1]?.trim()
      requests.push({ path, range })
      socket.end(answers[path]?.(range) ?? 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
})

after(async () => {
  await new Promise((resolve) => server.close(resolve))
  await cleanup(dir)
})

async function get(path: string, options: Options = {}): Promise<{ r: Result; out: string }> {
  const out = join(dir, path.slice(1))
  const results: Result[] = []
  for await (const r of pull([`http://127.0.0.1:${port}${path}`], { out, retries: 1, ...options }))
    results.push(r)
  return { r: results[0], out }
}

test('a GIF without its trailer is whole when its length was met, its last chunk came, or a NUL ends it', async () => {
  for (const path of ['/gif-length', '/gif-chunked', '/gif-nul']) {
    const { r, out } = await get(path)
    assert.equal(r.status, 'ok', `${path}: ${r.message}`)
    assert.equal(r.format, 'gif')
    const sent = path === '/gif-nul' ? gif.length : gif.length - 1
    assert.equal((await readFile(join(out, r.path!))).length, sent, path)
  }
})

test('on a connection that gave no length, a GIF without its trailer is truncated until a second answer brings the same bytes', async () => {
  const { r } = await get('/gif-close', { retries: 0 })
  assert.equal(r.status, 'failed')
  assert.equal(r.error, 'truncated')
  assert.match(r.message!, /gif-close: GIF ends without its trailer, and the connection gave no length/)
  assert.equal((await get('/gif-close-whole')).r.status, 'ok')
  // Sent the same way again, to the same bytes: whole (the same cut twice is no cut).
  const again = (await get('/gif-close')).r
  assert.equal(again.status, 'ok', again.message)
  assert.equal(again.attempts, 2)
})

test('a bare JPEG XL codestream: whole with a length; on a closed connection, only once the server says there is no more', async () => {
  assert.equal((await get('/jxl-length')).r.status, 'ok')
  // No length, no ranges, one attempt: a cut cannot be told from the end.
  const closed = (await get('/jxl-close', { retries: 0 })).r
  assert.equal(closed.error, 'truncated', closed.message)
  // Two attempts that bring the very same bytes: no cut, whole.
  const twice = await get('/jxl-close')
  assert.equal(twice.r.status, 'ok', twice.r.message)
  assert.equal(twice.r.attempts, 2)
  assert.ok((await readFile(join(twice.out, twice.r.path!))).equals(jxl))
  // Cut at another byte each time: never settled, never kept.
  const moving = (await get('/jxl-close-cut', { retries: 3 })).r
  assert.equal(moving.error, 'truncated', moving.message)
  // The input's hash proves the bytes at once.
  const sha256 = createHash('sha256').update(jxl).digest('hex')
  const proven: Result[] = []
  const url = `http://127.0.0.1:${port}/jxl-close`
  for await (const r of pull([{ url, expectedHash: { type: 'sha256', value: sha256 } }], {
    out: join(dir, 'jxl-proven'),
    retries: 0,
  }))
    proven.push(r)
  assert.equal(proven[0].status, 'ok', proven[0].message)
  // The server answers the resume with 416 and its total: the bytes held are the whole file.
  const whole = await get('/jxl-close-ranges')
  assert.equal(whole.r.status, 'ok', whole.r.message)
  assert.ok((await readFile(join(whole.out, whole.r.path!))).equals(jxl))
  assert.deepEqual(
    requests.filter((q) => q.path === '/jxl-close-ranges').map((q) => q.range),
    [undefined, `bytes=${jxl.length}-`],
  )
  // Cut at 60 %: the resume brings the rest, and the file is exact.
  const cut = await get('/jxl-cut-ranges')
  assert.equal(cut.r.status, 'ok', cut.r.message)
  assert.ok((await readFile(join(cut.out, cut.r.path!))).equals(jxl))
})

test('a JPEG cut after its first image, inside the second one its MPF index lists, is truncated on a closed connection', async () => {
  const cut = (await get('/mpf-close-cut', { retries: 3 })).r
  assert.equal(cut.error, 'truncated', cut.message)
  assert.match(
    cut.message!,
    /JPEG's MPF index lists images to byte \d+, past the body's \d+, and the connection gave no length/,
  )
  const whole = await get('/mpf-close')
  assert.equal(whole.r.status, 'ok', whole.r.message)
  assert.equal(whole.r.attempts, 1)
  assert.ok((await readFile(join(whole.out, whole.r.path!))).equals(mpf))
  // A length met is the server's word: a file whose index lists more than it holds is kept as sent.
  const short = await get('/mpf-length-short')
  assert.equal(short.r.status, 'ok', short.r.message)
  assert.equal(short.r.bytes, mpf.length - 200)
})
