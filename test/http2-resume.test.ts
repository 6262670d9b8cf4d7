import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { constants, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { pull } from '../src/index.js'
import type { Options } from '../src/options.js'
import type { Result } from '../src/types.js'
import { makeCerts, type TestCerts, tlsPair } from './support/certs.js'
import { cleanup, tempDir } from './support/cli.js'
import { type H2Server, startH2Server } from './support/h2-server.js'
import { makeImage } from './support/images.js'
import { BODY_PATHS, resumeRange } from './support/resume.js'

// a resume proven by the answer itself (no ETag, no Last-Modified: the same total, the
// very byte asked for, the last 4 KiB compared) was tested over HTTP/1.1 only. Over HTTP/2 a cut
// is a stream reset, and the 206 comes on another stream of the same connection.

let dir: string
let certs: TestCerts
let server: H2Server
const SIZE = 200_000
const CUT = 30_000
const log: { path: string; range?: string; version: string }[] = []
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
/** `?v=rotate`: another version of the same size at every request. */
const bodyOf = (path: string, n: number) => makeImage(path.includes('rotate') ? `${path}#${n}` : path, SIZE)

before(async () => {
  dir = await tempDir()
  certs = makeCerts(dir)
  server = await startH2Server(tlsPair(certs.good), (req: Http2ServerRequest, res: Http2ServerResponse) => {
    const path = req.url
    log.push({ path, range: req.headers.range, version: req.httpVersion })
    const body = bodyOf(path, log.length)
    const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0)
    // `/wrapped`: a strong ETag, and each range in multipart/byteranges as one part.
    const wrapped = path.startsWith('/wrapped')
    // `/coded`: a strong ETag, and each range gzip'd after it was cut from the file.
    const coded = path.startsWith('/coded') && from > 0
    const range = `bytes ${from}-${body.length - 1}/${body.length}`
    const sent = coded
      ? gzipSync(body.subarray(from), { level: 1 })
      : wrapped && from > 0
        ? Buffer.concat([
            Buffer.from(`\r\n--P\r\ncontent-type: image/jpeg\r\ncontent-range: ${range}\r\n\r\n`),
            body.subarray(from),
            Buffer.from('\r\n--P--\r\n'),
          ])
        : body.subarray(from)
    // No validator at all: only the length and the bytes can prove a later answer the same file.
    res.writeHead(from > 0 ? 206 : 200, {
      'content-type': wrapped && from > 0 ? 'multipart/byteranges; boundary=P' : 'image/jpeg',
      'content-length': sent.length,
      ...(wrapped ? { etag: '"w1"' } : path.startsWith('/coded') ? { etag: '"c1"' } : {}),
      ...(coded ? { 'content-encoding': 'gzip' } : {}),
      ...(from > 0 && !wrapped ? { 'content-range': range } : {}),
    })
    // Every answer cut after CUT bytes of its own body: a link or proxy that drops long transfers.
    const part = sent.subarray(0, CUT)
    if (CUT >= sent.length) return void res.end(part)
    res.write(part, () => setTimeout(() => res.stream.close(constants.NGHTTP2_INTERNAL_ERROR), 20))
  })
})

after(async () => {
  await server.close()
  await cleanup(dir)
})

async function run(url: string, options: Options): Promise<Result> {
  const results: Result[] = []
  for await (const r of pull([url], { journal: false, caCert: certs.ca, ...options })) results.push(r)
  return results[0]
}

test('HTTP/2: a server without validators that cuts every stream is resumed in the run on the length and the bytes compared', async (t) => {
  for (const [name, options] of Object.entries(BODY_PATHS)) {
    await t.test(name, async () => {
      const path = `/bare-${name.replace(/\W+/g, '-')}.jpg`
      const r = await run(server.url(path), { out: join(dir, path), retries: 2, ...options })
      assert.equal(r.status, 'ok', r.message)
      assert.equal(r.sha256, sha(bodyOf(path, 0)))
      const sent = log.filter((l) => l.path === path)
      assert.ok(
        sent.every((l) => l.version === '2.0'),
        JSON.stringify(sent),
      )
      const onDisk = [CUT]
      while (onDisk.at(-1)! + CUT - 4096 < SIZE) onDisk.push(onDisk.at(-1)! + CUT - 4096)
      assert.deepEqual(
        sent.map((l) => l.range),
        [undefined, ...onDisk.map(resumeRange)],
      )
    })
  }
})

test('HTTP/2: another version of the same size under no validator is never joined', async () => {
  const path = '/bare-rotate.jpg'
  const r = await run(server.url(path), { out: join(dir, 'rotate'), retries: 1 })
  assert.equal(r.status, 'failed')
  assert.equal(r.error, 'truncated', r.message)
  // The resume's bytes compared differ: the whole file asked for again (and cut again).
  assert.deepEqual(
    log.filter((l) => l.path === path).map((l) => l.range),
    [undefined, resumeRange(CUT), undefined],
  )
})

// `/coded`, a resume's 206 gzip'd after a range handler cut it (a compression layer,
// expressjs/compression#185): what each decoded to goes on from the bytes on disk. It started
// over from byte 0 at every resume, and never finished.
test('HTTP/2: a resume answered with one part in multipart/byteranges, or gzip-coded after its range was cut, every stream cut inside it, is spliced', async (t) => {
  for (const path of ['/wrapped.jpg', '/coded.jpg']) {
    await t.test(path, async () => {
      const r = await run(server.url(path), { out: join(dir, path), retries: 2 })
      assert.equal(r.status, 'ok', r.message)
      assert.equal(r.sha256, sha(bodyOf(path, 0)))
      const sent = log.filter((l) => l.path === path)
      assert.ok(sent.length > 2 && sent.slice(1).every((l) => l.range !== undefined), JSON.stringify(sent))
    })
  }
})
