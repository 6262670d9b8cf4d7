import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { constants } from 'node:http2'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { brotliCompressSync, crc32, deflateSync, gzipSync } from 'node:zlib'
import { RESUME_OVERLAP } from '../src/fetch/judge.js'
import { type Options, pull, type Result } from '../src/index.js'
import { makeCerts, type TestCerts } from './support/certs.js'
import { cleanup, outputFiles, tempDir } from './support/cli.js'
import { startH2Server } from './support/h2-server.js'
import { bmpAround, box, makeImage, makeTiff, metaLast, motionPhoto, withMpf } from './support/images.js'
import { type LocalServer, startRawServer } from './support/raw-server.js'
import { BODY_PATHS, resumeRange } from './support/resume.js'

// Formats whose end the bytes cannot always show (a GIF without its trailer, a bare JPEG XL
// codestream): whole when the protocol marked the body's end, never when a connection just closed.

const fixture = (name: string) => readFile(new URL(`./fixtures/images/${name}`, import.meta.url))
let gif: Buffer
let svg: Buffer
let jxl: Buffer
let mpf: Buffer
let jpeg: Buffer
/** A progressive JPEG with restart markers (jpegtran's), and where its next-to-last scan's data ends. */
let progressive: Buffer
let betweenScans: number
let png: Buffer
let webp: Buffer
let v5: Buffer
let avif: Buffer
/** A Pixel's motion photo (Motion Photo format 1.0): a JPEG, its XMP listing the video after it. */
let motion: Buffer
let motionStill: number
const AVIF_JUNK = Buffer.from('trailing bytes: <html>not part of the image</html>')
/** The fixture GIF with two NULs where a block belongs, at byte `at` (its trailer's, or a frame's). */
/** Where the fixture GIF's second frame begins (its graphic control extension). */
const secondFrame = () =>
  gif.indexOf(Buffer.from([0x21, 0xf9, 0x04]), gif.indexOf(Buffer.from([0x21, 0xf9, 0x04])) + 1)
const gifNuls = (at: number) => Buffer.concat([gif.subarray(0, at), Buffer.from([0, 0]), gif.subarray(at)])
let dir: string
let server: LocalServer
let cuts = 0
let certs: TestCerts
const requests: { path: string; range?: string; ifRange?: string }[] = []

/**
 * What the server writes; `{ open }`: written, and the connection left open (never ended);
 * `{ reset }`: written, then the connection reset rather than closed.
 */
type Answer = (
  range: string | undefined,
  ifRange?: string,
) => string | Buffer | { open: Buffer } | { reset: Buffer } | Promise<Buffer>

const head = (lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')
/** A body that runs until the connection closes (RFC 9112 §6.3, rule 8): no length, not chunked. */
const closeDelimited = (type: string, body: Buffer, extra: string[] = []) =>
  Buffer.concat([head(['HTTP/1.1 200 OK', `Content-Type: ${type}`, 'Connection: close', ...extra]), body])
const withLength = (type: string, body: Buffer) =>
  Buffer.concat([head(['HTTP/1.1 200 OK', `Content-Type: ${type}`, `Content-Length: ${body.length}`]), body])
const withStatus = (status: number, type: string, body: Buffer) =>
  Buffer.concat([
    head([`HTTP/1.1 ${status} Other`, `Content-Type: ${type}`, `Content-Length: ${body.length}`]),
    body,
  ])
const chunked = (type: string, body: Buffer) =>
  Buffer.concat([
    head(['HTTP/1.1 200 OK', `Content-Type: ${type}`, 'Transfer-Encoding: chunked']),
    Buffer.from(`${body.length.toString(16)}\r\n`),
    body,
    Buffer.from('\r\n0\r\n\r\n'),
  ])

/**
 * A server that answers ranges as RFC 9110 §14 says, for a file whose first answer was cut at
 * `cut`: the rest at once, or `part` bytes at a time; of a known size, or `bytes A-B/*`
 * (§14.4) when `sized` is false; a 416 with the size once past the end.
 */
const rangedJxl =
  ({
    cut,
    part = Number.POSITIVE_INFINITY,
    sized = true,
    etag = 'jxl-v1',
    capped,
    labelled,
    image,
    emptyPast,
    shifted = 0,
  }: RangedJxl): Answer =>
  (range) => {
    const file = image?.bytes ?? jxl
    const type = image?.type ?? 'image/jxl'
    const tags = etag === '' ? [] : [`ETag: "${etag}"`]
    if (!range && !capped) return closeDelimited('image/jxl', file.subarray(0, cut), tags)
    const from = range && capped !== 'ignoring' ? Number(/bytes=(\d+)-/.exec(range)![1]) : 0
    if (from >= file.length && emptyPast)
      return head([
        'HTTP/1.1 206 Partial Content',
        `Content-Range: bytes ${file.length}-${file.length - 1}/${file.length}`,
        ...tags,
        'Content-Length: 0',
      ])
    if (from >= file.length)
      return head([
        'HTTP/1.1 416 Range Not Satisfiable',
        `Content-Range: bytes */${file.length}`,
        ...tags,
        'Content-Length: 0',
      ])
    const at = range ? from + shifted : from
    const body = file.subarray(at, Math.min(file.length, at + part))
    return Buffer.concat([
      head([
        range || !labelled ? 'HTTP/1.1 206 Partial Content' : `HTTP/1.1 ${labelled}`,
        `Content-Type: ${type}`,
        ...tags,
        `Content-Range: bytes ${from}-${from + body.length - 1}/${sized ? file.length : '*'}`,
        `Content-Length: ${body.length}`,
      ]),
      body,
    ])
  }
/** The images of the capped answers without a validator (`/jpeg-capped-bare` ...). */
const cappedImages = () => ({ jpeg, png, webp, gif })
interface RangedJxl {
  cut: number
  part?: number
  sized?: boolean
  /** Its ETag; `''`: none. */
  etag?: string
  /** Every answer a 206 of `part` bytes, a plain GET's too (a CDN that caps them); `ignoring`: Range too. */
  capped?: true | 'ignoring'
  /** The status of a plain GET's capped part, where it is not `206 Partial Content` (`200 OK`). */
  labelled?: string
  /** The file served, where not the JPEG XL codestream. */
  image?: { bytes: Buffer; type: string }
  /** Past the end, an empty 206 of `bytes N-(N-1)/N` where a 416 belongs (Fastly's, rust-lang/crates.io#13159). */
  emptyPast?: true
  /** A ranged answer's bytes start this many past the byte its Content-Range names. */
  shifted?: number
}

/** A JPEG XL container whose codestream box has size 0: it runs to the end of the file (ISO/IEC 14496-12 §4.2). */
const jxlContainer = () =>
  Buffer.concat([
    Buffer.from([0, 0, 0, 12, ...Buffer.from('JXL \r\n\u0087\n', 'latin1')]),
    Buffer.from([
      0,
      0,
      0,
      20,
      ...Buffer.from('ftypjxl ', 'latin1'),
      0,
      0,
      0,
      0,
      ...Buffer.from('jxl ', 'latin1'),
    ]),
    Buffer.from([0, 0, 0, 0, ...Buffer.from('jxlc', 'latin1')]),
    jxl,
  ])

/**
 * A server whose first answer is cut, and which answers a resume with `status` (a 304: If-Range
 * read as If-None-Match; a 403 or 404: a CDN that refuses Range; a 500).
 */
const refusesRange = (status: string): Answer => {
  let answers = 0
  return (range) => {
    const etag = 'ETag: "gif-v1"'
    if (range) return head([`HTTP/1.1 ${status}`, etag, 'Content-Type: text/html', 'Content-Length: 0'])
    const body = answers++ === 0 ? gif.subarray(0, 6000) : gif
    return Buffer.concat([
      head([
        'HTTP/1.1 200 OK',
        'Content-Type: image/gif',
        etag,
        `Content-Length: ${gif.length}`,
        'Connection: close',
      ]),
      body,
    ])
  }
}

/**
 * A server that answers 400 to any `If-Range` (one it cannot read: aria2-next#43's CDN, which took
 * only a date there) and serves a `Range` without it, behind a link that cuts every whole answer
 * at 6,000 bytes; `held`, when given, is waited for before the first whole answer is sent.
 */
const refusesIfRange = (held?: Promise<void>): Answer => {
  let first = true
  return (range, ifRange) => {
    if (ifRange) return head(['HTTP/1.1 400 Bad Request', 'Content-Length: 0', 'Connection: close'])
    if (range) return gifFrom(range)
    // refusesRange's first answer, every time.
    const cut = refusesRange('')(undefined) as Buffer
    if (!first || !held) return cut
    first = false
    return held.then(() => cut)
  }
}
/** Settled once `/if-range-400-a`'s range was asked for without If-Range. */
let rangeServed: () => void = () => {}
const rangeServedOnce = new Promise<void>((resolve) => {
  rangeServed = resolve
})

/** `refusesRange`, but a request with Range gets `dropped` (no answer) in place of a status. */
const dropsRange = (dropped: () => string | Buffer | { open: Buffer }): Answer => {
  const plain = refusesRange('')
  return (range) => (range ? dropped() : plain(undefined))
}

/** The 206 a resume of `refusesRange`'s file asks for (`Range: bytes=N-`). */
const gifFrom = (range: string) => {
  const from = Number(/bytes=(\d+)-/.exec(range)![1])
  return Buffer.concat([
    head([
      'HTTP/1.1 206 Partial Content',
      'Content-Type: image/gif',
      'ETag: "gif-v1"',
      `Content-Range: bytes ${from}-${gif.length - 1}/${gif.length}`,
      `Content-Length: ${gif.length - from}`,
    ]),
    gif.subarray(from),
  ])
}

/** The head of the 206 that `refusesRange`'s file's resume asks for (from 6,000 less the overlap). */
const rangeHead = () => {
  const from = 6_000 - RESUME_OVERLAP
  return [
    'HTTP/1.1 206 Partial Content',
    'Content-Type: image/gif',
    'ETag: "gif-v1"',
    `Content-Range: bytes ${from}-${gif.length - 1}/${gif.length}`,
    `Content-Length: ${gif.length - from}`,
    'Connection: close',
  ]
}

/** Two files of one deploy: the same Last-Modified, no ETag, ranges by date (If-Range). */
const deployed =
  (body: () => Buffer, first: { cut?: number }): Answer =>
  (range) => {
    const validators = ['Last-Modified: Thu, 01 Jan 1970 00:00:01 GMT', `Date: ${new Date().toUTCString()}`]
    const file = body()
    if (!range) {
      const cut = first.cut ?? file.length
      first.cut = undefined
      return closeDelimited('image/jpeg', file.subarray(0, cut), validators)
    }
    const from = Number(/bytes=(\d+)-/.exec(range)![1])
    return Buffer.concat([
      head([
        'HTTP/1.1 206 Partial Content',
        'Content-Type: image/jpeg',
        ...validators,
        `Content-Range: bytes ${from}-${file.length - 1}/${file.length}`,
        `Content-Length: ${file.length - from}`,
      ]),
      file.subarray(from),
    ])
  }
let latest = 0
const one = () => makeImage('one', 20_000)
const two = () => makeImage('two', 24_000)

/** `bmp` (a V5 BMP) with a 600-byte embedded colour profile after its pixels (bV5CSType 'MBED'). */
function withProfile(bmp: Buffer): Buffer {
  const file = Buffer.concat([bmp, Buffer.alloc(600, 0x5a)])
  file.writeUInt32LE(0x4d424544, 14 + 56)
  file.writeUInt32LE(bmp.length - 14, 14 + 112)
  file.writeUInt32LE(600, 14 + 116)
  return file
}

/** A close-delimited server (HTTP/1.0 framing) that resumes: its 206 has no length either. */
const closeFramed = (file: () => Buffer, cut: number): Answer => {
  let first = true
  return (range) => {
    const headers = ['Content-Type: image/jpeg', 'ETag: "cf-v1"', 'Connection: close']
    if (!range) {
      const body = first ? file().subarray(0, cut) : file()
      first = false
      return Buffer.concat([head(['HTTP/1.1 200 OK', ...headers]), body])
    }
    const from = Number(/bytes=(\d+)-/.exec(range)![1])
    const whole = file()
    return Buffer.concat([
      head([
        'HTTP/1.1 206 Partial Content',
        ...headers,
        `Content-Range: bytes ${from}-${whole.length - 1}/${whole.length}`,
      ]),
      whole.subarray(from),
    ])
  }
}
const large = () => makeImage('close-framed', 300_000)
const openJpeg = () => makeImage('kept-open', 20_000)

/**
 * A server whose `Content-Length` counts `over` bytes more than the file it sends (an embedded
 * server's off-by-one, NetMod-ServerApp#146; urllib3#3277), then closes or (`open`) goes quiet;
 * with `etag`, a resume's 206 is one over in the same way.
 */
const overstated =
  (
    file: () => Buffer,
    {
      over = 1,
      etag,
      open = false,
      coding,
      label,
    }: {
      over?: number
      etag?: string
      open?: boolean
      coding?: 'gzip' | 'br' | 'deflate'
      label?: string
    } = {},
  ): Answer =>
  (range) => {
    const body =
      coding === 'gzip'
        ? gzipSync(file())
        : coding === 'br'
          ? brotliCompressSync(file())
          : coding === 'deflate'
            ? deflateSync(file())
            : file()
    const total = body.length + over
    const tag = etag ? [`ETag: "${etag}"`, 'Accept-Ranges: bytes'] : []
    const from = range && etag ? Number(/bytes=(\d+)-/.exec(range)![1]) : 0
    const status = from > 0 ? 'HTTP/1.1 206 Partial Content' : 'HTTP/1.1 200 OK'
    const answer = Buffer.concat([
      head([
        status,
        'Content-Type: image/jpeg',
        ...tag,
        ...(coding || label ? [`Content-Encoding: ${coding ?? label}`] : []),
        ...(from > 0 ? [`Content-Range: bytes ${from}-${total - 1}/${total}`] : []),
        `Content-Length: ${total - from}`,
      ]),
      body.subarray(from),
    ])
    return open ? { open: answer } : answer
  }
/** `file` with two text chunks before its IEND, as ImageMagick writes a PNG's dates after its image data. */
const withText = (file: Buffer) => {
  const chunk = (data: string) => {
    const out = Buffer.alloc(12 + data.length)
    out.writeUInt32BE(data.length, 0)
    out.write(`tEXt${data}`, 4, 'latin1')
    out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length)
    return out
  }
  const iend = file.length - 12
  const dates = ['date:create\u00002024-01-01T00:00:00+00:00', 'date:modify\u00002024-01-01T00:00:00+00:00']
  return Buffer.concat([file.subarray(0, iend), ...dates.map(chunk), file.subarray(iend)])
}
const withVideo = () => Buffer.concat([jpeg, Buffer.alloc(3000, 7)])

const answers: Record<string, Answer> = {
  // The whole image, no length, and the connection kept open (an HTTP/1.0 keep-alive without
  // Content-Length; HTTP/1.1 without length or chunking): only the idle timeout ends the body.
  '/open-h10': () => ({
    open: Buffer.concat([
      head(['HTTP/1.0 200 OK', 'Connection: keep-alive', 'Content-Type: image/jpeg']),
      openJpeg(),
    ]),
  }),
  '/open-h11': () => ({
    open: Buffer.concat([head(['HTTP/1.1 200 OK', 'Content-Type: image/jpeg']), openJpeg()]),
  }),
  '/open-half': () => ({
    open: Buffer.concat([
      head(['HTTP/1.1 200 OK', 'Content-Type: image/jpeg']),
      openJpeg().subarray(0, 9000),
    ]),
  }),
  // A GIF without its trailer, then the server goes quiet for good: the same stall every time.
  '/open-gif-stall': () => ({
    open: Buffer.concat([head(['HTTP/1.1 200 OK', 'Content-Type: image/gif']), gif.subarray(0, -1)]),
  }),
  // Every chunk of a whole image, then no last chunk, the connection kept open (cpp-httplib#2563
  // and netty#1861 left the last chunk out); `-zero`: the last chunk without the empty line after
  // it (h2o#2097).
  '/open-chunked': () => ({
    open: Buffer.concat([
      head(['HTTP/1.1 200 OK', 'Content-Type: image/jpeg', 'Transfer-Encoding: chunked']),
      Buffer.from(`${openJpeg().length.toString(16)}\r\n`),
      openJpeg(),
      Buffer.from('\r\n'),
    ]),
  }),
  // the last chunk (`0\r\n`), then no empty line to end the trailer section (h2o before
  // #2097, tiny_httpd#56), the connection closed or kept open; or a trailer field, then the close.
  '/gif-last-chunk-close': () => chunked('image/gif', gif.subarray(0, -1)).subarray(0, -2),
  '/gif-last-chunk-open': () => ({ open: chunked('image/gif', gif.subarray(0, -1)).subarray(0, -2) }),
  '/gif-last-chunk-trailer': () =>
    Buffer.concat([chunked('image/gif', gif.subarray(0, -1)).subarray(0, -2), Buffer.from('X-Done: 1\r\n')]),
  '/jxl-last-chunk-close': () => chunked('image/jxl', jxl).subarray(0, -2),
  // A zero-length chunk between the GIF's frames (a server that writes an empty piece as a chunk,
  // puma/puma#743), the rest after it; a Content-Length that stops there, the rest after it too.
  '/gif-zero-chunk-mid': () => ({
    open: Buffer.concat([
      chunked('image/gif', gif.subarray(0, secondFrame())),
      inOneChunk(gif.subarray(secondFrame())),
    ]),
  }),
  // The last chunk sent twice (kazeburo/Monoceros#13): nothing of the body after the first.
  '/gif-last-chunk-twice': () => ({
    open: Buffer.concat([chunked('image/gif', gif.subarray(0, -1)), Buffer.from('0\r\n\r\n')]),
  }),
  '/gif-length-short-http10': () =>
    Buffer.concat([
      head(['HTTP/1.0 200 OK', 'Content-Type: image/gif', `Content-Length: ${secondFrame()}`]),
      gif,
    ]),
  '/gif-length-short': () => ({
    open: Buffer.concat([
      head(['HTTP/1.1 200 OK', 'Content-Type: image/gif', `Content-Length: ${secondFrame()}`]),
      gif,
    ]),
  }),
  // Closed where the last chunk was due: nothing marked the end.
  '/gif-no-last-chunk': () => chunked('image/gif', gif.subarray(0, -1)).subarray(0, -5),
  '/open-chunked-zero': () => ({
    open: Buffer.concat([
      head(['HTTP/1.1 200 OK', 'Content-Type: image/jpeg', 'Transfer-Encoding: chunked']),
      Buffer.from(`${openJpeg().length.toString(16)}\r\n`),
      openJpeg(),
      Buffer.from('\r\n0\r\n'),
    ]),
  }),
  '/open-chunked-half': () => ({
    open: Buffer.concat([
      head(['HTTP/1.1 200 OK', 'Content-Type: image/jpeg', 'Transfer-Encoding: chunked']),
      Buffer.from(`${(9000).toString(16)}\r\n`),
      openJpeg().subarray(0, 9000),
      Buffer.from('\r\n'),
    ]),
  }),
  '/open-html': () => ({
    open: Buffer.concat([
      head(['HTTP/1.1 200 OK', 'Content-Type: text/html']),
      Buffer.from('<html><body>login'),
    ]),
  }),
  '/close-framed': closeFramed(large, 100_000),
  // A "latest image" redirect: to one file the first time, to another after.
  '/latest': () =>
    head(['HTTP/1.1 302 Found', `Location: /deploy-${latest++ === 0 ? 'one' : 'two'}`, 'Content-Length: 0']),
  '/deploy-one': deployed(one, { cut: 10_000 }),
  '/deploy-two': deployed(two, {}),
  '/if-range-304': refusesRange('304 Not Modified'),
  '/if-range-400-a': (() => {
    const answer = refusesIfRange()
    return (range: string | undefined, ifRange?: string) => {
      if (range && !ifRange) rangeServed()
      return answer(range, ifRange)
    }
  })(),
  '/if-range-400-b': refusesIfRange(rangeServedOnce),
  // The rest of the file after a resume's 206 head that states no length, the connection then
  // left open, or a chunked body whose last chunk never comes: the range's end is the body's.
  '/range-open-after': (range) =>
    range
      ? {
          open: Buffer.concat([
            head(rangeHead().filter((line) => !/^Content-Length|^Connection/.test(line))),
            gif.subarray(6_000 - RESUME_OVERLAP),
          ]),
        }
      : refusesRange('')(undefined),
  '/range-open-chunked': (range) =>
    range
      ? {
          open: Buffer.concat([
            head([
              ...rangeHead().filter((line) => !/^Content-Length|^Connection/.test(line)),
              'Transfer-Encoding: chunked',
            ]),
            // Its one chunk, and no last chunk after it.
            inOneChunk(gif.subarray(6_000 - RESUME_OVERLAP)).subarray(0, -5),
          ]),
        }
      : refusesRange('')(undefined),
  '/range-403': refusesRange('403 Forbidden'),
  '/range-404': refusesRange('404 Not Found'),
  '/range-500': refusesRange('500 Internal Server Error'),
  // A firewall or proxy that drops any request with Range: closed unanswered, or never answered.
  '/range-dropped': dropsRange(() => ''),
  '/range-silent': dropsRange(() => ({ open: Buffer.alloc(0) })),
  '/range-dropped-rerun': dropsRange(() => ''),
  // A range handler that fails after its head (a download script whose seek fails): not a byte.
  '/range-head-only': dropsRange(() => head(rangeHead())),
  '/range-head-stalls': dropsRange(() => ({ open: head(rangeHead()) })),
  '/range-502-once': (() => {
    let refused = 0
    const refusing = refusesRange('502 Bad Gateway')
    return (range: string | undefined) => (!range || refused++ === 0 ? refusing(range) : gifFrom(range))
  })(),
  // A gateway down for a moment: 502 to two resumes and to the plain request after them, then up.
  '/down-502': (() => {
    let answers = 0
    const refusing = refusesRange('502 Bad Gateway')
    return (range: string | undefined) => {
      if (++answers >= 2 && answers <= 4) return refusing('down')
      return range ? gifFrom(range) : refusing(undefined)
    }
  })(),
  // A thumbnail queued for generation (RFC 9110 §15.3.3), there on the next request.
  '/queued-202': (() => {
    let answers = 0
    return () =>
      answers++ === 0
        ? head(['HTTP/1.1 202 Accepted', 'Retry-After: 0', 'Content-Length: 0'])
        : withLength('image/gif', gif)
  })(),
  // A 206 to a request that asked for no range, naming none: the whole file.
  // The same, but a first chunk of a file whose end its bytes do not show: never taken for the file.
  '/206-no-range-chunk': () =>
    Buffer.concat([
      head(['HTTP/1.1 206 Partial Content', 'Content-Type: image/jxl', 'Content-Length: 600']),
      jxl.subarray(0, 600),
    ]),
  '/206-no-range': () =>
    Buffer.concat([
      head(['HTTP/1.1 206 Partial Content', 'Content-Type: image/gif', `Content-Length: ${gif.length}`]),
      gif,
    ]),
  // a Content-Range with no number in it, to a plain GET: one naming none (above).
  ...Object.fromEntries(
    [
      ['/206-unread-stars', 'bytes */*'],
      ['/206-unread-none', 'none'],
      ['/206-unread-empty', ''],
      ['/206-open-end', 'bytes 0-/{size}'],
    ].map(([path, range]) => [
      path,
      () =>
        Buffer.concat([
          head([
            'HTTP/1.1 206 Partial Content',
            'Content-Type: image/gif',
            `Content-Range: ${range.replace('{size}', String(gif.length))}`,
            `Content-Length: ${gif.length}`,
          ]),
          gif,
        ]),
    ]),
  ),
  '/206-unread-chunk': () =>
    Buffer.concat([
      head([
        'HTTP/1.1 206 Partial Content',
        'Content-Type: image/jxl',
        'Content-Range: bytes */*',
        'Content-Length: 600',
      ]),
      jxl.subarray(0, 600),
    ]),
  // A 416's Content-Range on a 206 of the whole file: the file when its length is all
  // of it; a part, or one of no length, is not taken.
  '/206-star': () =>
    Buffer.concat([
      head([
        'HTTP/1.1 206 Partial Content',
        'Content-Type: image/gif',
        `Content-Range: bytes */${gif.length}`,
        `Content-Length: ${gif.length}`,
      ]),
      gif,
    ]),
  '/206-star-part': () =>
    Buffer.concat([
      head([
        'HTTP/1.1 206 Partial Content',
        'Content-Type: image/gif',
        `Content-Range: bytes */${gif.length}`,
        'Content-Length: 4119',
      ]),
      gif.subarray(0, 4119),
    ]),
  // A 206 of bytes 0-B/* to a plain GET: the file when its length is all B+1 bytes.
  '/206-unknown': () =>
    Buffer.concat([
      head([
        'HTTP/1.1 206 Partial Content',
        'Content-Type: image/gif',
        `Content-Range: bytes 0-${gif.length - 1}/*`,
        `Content-Length: ${gif.length}`,
      ]),
      gif,
    ]),
  '/206-unknown-unsized': () =>
    Buffer.concat([
      head([
        'HTTP/1.1 206 Partial Content',
        'Content-Type: image/gif',
        `Content-Range: bytes 0-${gif.length - 1}/*`,
        'Connection: close',
      ]),
      gif,
    ]),
  // Transfer codings that name chunked without ending with it: read to the close (RFC 9112 §6.3).
  '/gif-te-chunked-identity': () =>
    closeDelimited('image/gif', gif.subarray(0, 4119), ['Transfer-Encoding: chunked, identity']),
  '/gif-te-x-chunked': () =>
    closeDelimited('image/gif', gif.subarray(0, 4119), ['Transfer-Encoding: x-chunked']),
  // A 200 that carries a Content-Range, no length: nothing checks the range.
  '/gif-200-range': () =>
    closeDelimited('image/gif', gif.subarray(0, 4119), [
      `Content-Range: bytes 0-${gif.length - 1}/${gif.length}`,
    ]),
  // A front that caps every answer at 600 bytes and labels the part 200.
  '/jxl-200-part': () =>
    Buffer.concat([
      head([
        'HTTP/1.1 200 OK',
        'Content-Type: image/jxl',
        'Content-Length: 600',
        `Content-Range: bytes 0-599/${jxl.length}`,
      ]),
      jxl.subarray(0, 600),
    ]),
  // Parts of a file of unknown size, fewer bytes than asked each time.
  '/jxl-star': rangedJxl({ cut: 300, part: 300, sized: false, etag: 'jxl-star' }),
  // A store that caps every answer at 400 bytes, of a size it does not say (ansible/ansible#68843):
  // the rest asked for with Range; one that also ignores Range sends the same part again.
  '/jxl-capped': rangedJxl({ cut: 0, part: 400, sized: false, capped: true }),
  '/jxl-capped-ignoring': rangedJxl({ cut: 0, part: 400, sized: false, capped: 'ignoring' }),
  // Past the end, an empty 206 (`bytes 1123-1122/1123`) where the 416 belongs.
  '/jxl-capped-empty-past': rangedJxl({ cut: 0, part: 400, sized: false, capped: true, emptyPast: true }),
  // The plain GET's part labelled 200, its Content-Range `bytes 0-399/*` all that says it is one.
  '/jxl-capped-200': rangedJxl({ cut: 0, part: 400, sized: false, capped: true, labelled: '200 OK' }),
  // The same without a validator, for each format whose end its bytes show (a JPEG, PNG, WebP, GIF).
  ...Object.fromEntries(
    (['jpeg', 'png', 'webp', 'gif'] as const).map((kind) => [
      `/${kind}-capped-bare`,
      (range: string | undefined) =>
        rangedJxl({
          cut: 0,
          part: kind === 'gif' ? 3000 : 600,
          sized: false,
          capped: true,
          etag: '',
          image: { bytes: cappedImages()[kind], type: `image/${kind}` },
        })(range),
    ]),
  ),
  // The same JPEG whose later parts state its size (`bytes 300-899/1420`).
  '/jpeg-capped-bare-later': (range) =>
    rangedJxl({
      cut: 0,
      part: 600,
      sized: range !== undefined,
      capped: true,
      etag: '',
      image: { bytes: jpeg, type: 'image/jpeg' },
    })(range),
  // The same JPEG, each part stating its size (`bytes 0-599/1420`).
  '/jpeg-capped-sized-bare': (range) =>
    rangedJxl({ cut: 0, part: 600, capped: true, etag: '', image: { bytes: jpeg, type: 'image/jpeg' } })(
      range,
    ),
  // The same, each ranged answer's bytes a byte past where its Content-Range says they start.
  '/jpeg-capped-sized-shifted': (range) =>
    rangedJxl({
      cut: 0,
      part: 600,
      capped: true,
      etag: '',
      shifted: 1,
      image: { bytes: jpeg, type: 'image/jpeg' },
    })(range),
  // A front that caps every answer at 100 bytes, with an ETag, of a 30 KB JPEG: more parts than
  // an attempt asks for, each attempt moving the file 10 KB on.
  '/jpeg-capped-tiny': rangedJxl({
    cut: 0,
    part: 100,
    sized: false,
    capped: true,
    etag: 'jpeg-tiny',
    image: { bytes: makeImage('capped-tiny', 30_000), type: 'image/jpeg' },
  }),
  // The same JPEG of 1,420 bytes without a validator, 20 bytes an answer: the first attempt ends
  // at 1,020 bytes, short of the file, and the next asks all of them again.
  '/jpeg-capped-bare-tiny': (range) =>
    rangedJxl({
      cut: 0,
      part: 20,
      sized: false,
      capped: true,
      etag: '',
      image: { bytes: jpeg, type: 'image/jpeg' },
    })(range),
  // One byte a part, never the end: given up after a bounded number of parts.
  '/jxl-star-bytes': rangedJxl({ cut: 300, part: 1, sized: false, etag: 'jxl-bytes' }),
  '/jxlc-to-end-close': () => closeDelimited('image/jxl', jxlContainer().subarray(0, 500)),
  '/jxlc-to-end-length': () => withLength('image/jxl', jxlContainer()),
  // A server that died after its headers, or after a JPEG's first two bytes; and bodies that are no image.
  '/empty-close': () => closeDelimited('image/jpeg', Buffer.alloc(0)),
  '/two-close': () => closeDelimited('image/jpeg', Buffer.from([0xff, 0xd8])),
  '/html-close': () => closeDelimited('image/jpeg', Buffer.from('<html>')),
  // An SVG cut in the declarations, comments and doctype before its root element (Illustrator
  // writes 600 bytes of them): cut, not some other XML; with its length met, all the server has.
  '/svg-prolog-close': () => closeDelimited('image/svg+xml', svg.subarray(0, 300)),
  '/svg-root-name-close': () => closeDelimited('image/svg+xml', svg.subarray(0, svg.indexOf('<svg') + 3)),
  '/svg-prolog-length': () => withLength('image/svg+xml', svg.subarray(0, 300)),
  '/empty-length': () => withLength('image/jpeg', Buffer.alloc(0)),
  '/gif-length': () => withLength('image/gif', gif.subarray(0, -1)),
  // `Transfer-Encoding: identity` (a no-op coding old servers still send) beside a length, on a
  // connection kept open: framed by the length, as curl and browsers frame it (hyper#2058).
  '/gif-te-identity-length': () => ({
    open: Buffer.concat([
      head(['HTTP/1.1 200 OK', 'Transfer-Encoding: identity', `Content-Length: ${gif.length - 1}`]),
      gif.subarray(0, -1),
    ]),
  }),
  '/gif-te-identity-listed': () => ({
    open: Buffer.concat([
      head([
        'HTTP/1.1 200 OK',
        `Content-Length: ${gif.length - 1}`,
        'Transfer-Encoding: Identity',
        'Transfer-Encoding: identity, identity',
      ]),
      gif.subarray(0, -1),
    ]),
  }),
  '/gif-chunked': () => chunked('image/gif', gif.subarray(0, -1)),
  // Chunked, and the connection closed before the last chunk (node-fetch#1055): a body whose end
  // nothing marked. Whole by its structure (the GIF's trailer), cut, and without a trailer.
  '/gif-chunked-closed': () => chunked('image/gif', gif).subarray(0, -5),
  // The same with `Connection: close`, where undici reports llhttp's "Invalid EOF state" instead.
  '/gif-chunked-closed-said': () => {
    const body = chunked('image/gif', gif).subarray(0, -5)
    const at = body.indexOf('\r\n\r\n')
    return Buffer.concat([body.subarray(0, at), Buffer.from('\r\nConnection: close'), body.subarray(at)])
  },
  '/gif-chunked-closed-cut': () => chunked('image/gif', gif.subarray(0, 4119)).subarray(0, -7),
  '/gif-chunked-closed-no-trailer': () => chunked('image/gif', gif.subarray(0, -1)).subarray(0, -5),
  // The same, the connection reset at the chunk's edge instead of closed.
  '/gif-chunked-reset': () => ({ reset: chunked('image/gif', gif).subarray(0, -5) }),
  '/gif-chunked-reset-cut': () => ({ reset: chunked('image/gif', gif.subarray(0, 4119)).subarray(0, -7) }),
  '/jpeg-video-chunk-reset': () => ({
    reset: chunked('image/jpeg', Buffer.concat([mpf, Buffer.alloc(20_000, 7)])).subarray(0, -5000),
  }),
  // A JPEG with a motion-photo video after its EOI, closed in the video at a chunk's edge (its
  // first 10,000 bytes a chunk, the rest never sent), the same way every time.
  '/jpeg-video-chunked-closed': () =>
    chunked('image/jpeg', Buffer.concat([mpf, Buffer.alloc(10_000, 7)])).subarray(0, -5),
  // The same cut inside the chunk that holds the whole video.
  '/jpeg-video-chunk-cut': () =>
    chunked('image/jpeg', Buffer.concat([mpf, Buffer.alloc(20_000, 7)])).subarray(0, -5000),
  // A photo with bytes after its EOI and no MPF index (a motion photo's video), in one chunk:
  // the first answer closed inside that chunk, in those bytes (the JPEG whole); the next whole.
  '/jpeg-trailing-chunk-cut': () => {
    const whole = chunked('image/jpeg', Buffer.concat([jpeg, Buffer.alloc(20_000, 7)]))
    return requests.filter((r) => r.path === '/jpeg-trailing-chunk-cut').length === 1
      ? whole.subarray(0, -5000)
      : whole
  },
  // Cut right after the second frame's graphic control extension (its image never sent).
  '/gif-control-length': () => withLength('image/gif', gif.subarray(0, 4127)),
  '/gif-control-close': () => closeDelimited('image/gif', gif.subarray(0, 4127)),
  '/gif-nul': () => withLength('image/gif', Buffer.concat([gif.subarray(0, -1), Buffer.from([0])])),
  // NULs where a block belongs (golang/go#38853's traffic cameras): before the trailer, between frames.
  '/gif-nuls-trailer': () => closeDelimited('image/gif', gifNuls(gif.length - 1)),
  '/gif-nuls-between': () => withLength('image/gif', gifNuls(4119)),
  '/gif-close': () => closeDelimited('image/gif', gif.subarray(0, -1)),
  '/gif-close-whole': () => closeDelimited('image/gif', gif),
  '/jxl-length': () => withLength('image/jxl', jxl),
  '/jxl-close': () => closeDelimited('image/jxl', jxl),
  // Cut at a byte that moves on every answer: never the same bytes twice.
  '/jxl-close-cut': () => closeDelimited('image/jxl', jxl.subarray(0, 400 + (cuts++ % 5) * 37)),
  '/jxl-close-ranges': rangedJxl({ cut: Number.POSITIVE_INFINITY }),
  '/jxl-cut-ranges': (range) => rangedJxl({ cut: Math.floor(jxl.length * 0.6) })(range),
  // A camera's JPEG with a second image after EOI, listed in its MPF index.
  '/mpf-close': () => closeDelimited('image/jpeg', mpf),
  '/mpf-close-cut': () => closeDelimited('image/jpeg', mpf.subarray(0, mpf.length - 200 - (cuts++ % 5) * 37)),
  '/mpf-length-short': () => withLength('image/jpeg', mpf.subarray(0, mpf.length - 200)),
  // A motion photo read to the close: whole; cut at its still image's end marker the first time
  // (whole after), and every time; and so cut under a length, the server's word.
  '/motion-close': () => closeDelimited('image/jpeg', motion),
  '/motion-close-cut-once': () =>
    closeDelimited(
      'image/jpeg',
      requests.filter((r) => r.path === '/motion-close-cut-once').length === 1
        ? motion.subarray(0, motionStill)
        : motion,
    ),
  '/motion-close-cut': () =>
    closeDelimited('image/jpeg', motion.subarray(0, motionStill + (cuts++ % 5) * 37)),
  '/motion-length-short': () => withLength('image/jpeg', motion.subarray(0, motionStill)),
  // A JPEG whose writer left out its end-of-image marker (FF D9), every scan whole; and one cut
  // in its scan, served so by a server that stored it cut.
  '/jpeg-no-eoi-length': () => withLength('image/jpeg', jpeg.subarray(0, -2)),
  '/jpeg-no-eoi-chunked': () => chunked('image/jpeg', jpeg.subarray(0, -2)),
  '/jpeg-no-eoi-close': () => closeDelimited('image/jpeg', jpeg.subarray(0, -2)),
  '/jpeg-cut-length': () => withLength('image/jpeg', jpeg.subarray(0, -40)),
  // The same, progressive (restart markers too); and one cut where a scan ends, before the next.
  '/progressive-no-eoi-length': () => withLength('image/jpeg', progressive.subarray(0, -2)),
  '/progressive-no-eoi-close': () => closeDelimited('image/jpeg', progressive.subarray(0, -2)),
  '/progressive-between-scans-length': () => withLength('image/jpeg', progressive.subarray(0, betweenScans)),
  '/png-no-iend-length': () => withLength('image/png', png.subarray(0, -12)),
  '/png-no-iend-chunked': () => chunked('image/png', png.subarray(0, -12)),
  '/png-no-iend-close': () => closeDelimited('image/png', png.subarray(0, -12)),
  '/png-part-iend-length': () => withLength('image/png', png.subarray(0, -4)),
  '/png-part-iend-chunked': () => chunked('image/png', png.subarray(0, -9)),
  '/png-part-iend-close': () => closeDelimited('image/png', png.subarray(0, -4)),
  // The same with text after its image data, as ImageMagick writes its date:create and date:modify.
  '/png-text-part-iend-length': () => withLength('image/png', withText(png).subarray(0, -4)),
  '/png-text-no-iend-chunked': () => chunked('image/png', withText(png).subarray(0, -12)),
  '/png-text-part-iend-close': () => closeDelimited('image/png', withText(png).subarray(0, -4)),
  '/png-text-cut-length': () => withLength('image/png', withText(png).subarray(0, -20)),
  // TIFFs libtiff sizes itself: no StripByteCounts (mathiasbynens/small#127), or a count of 0
  // (TwelveMonkeys#449); compressed, the strip runs on to the end of the file.
  '/tiff-no-counts-length': () => withLength('image/tiff', makeTiff({ counts: 'none' })),
  '/tiff-count-zero-chunked': () => chunked('image/tiff', makeTiff({ counts: [0] })),
  // Four uncompressed strips whose StripByteCounts hold their offsets (libtiff: 'Wrong "StripByteCounts"').
  '/tiff-wrong-counts-length': () =>
    withLength('image/tiff', makeTiff({ strips: 4, counts: [154, 186, 218, 250] })),
  '/tiff-no-counts-cut-length': () => withLength('image/tiff', makeTiff({ counts: 'none' }).subarray(0, -1)),
  '/tiff-to-end-length': () => withLength('image/tiff', makeTiff({ counts: 'none', deflate: true })),
  '/tiff-to-end-close': () => closeDelimited('image/tiff', makeTiff({ counts: 'none', deflate: true })),
  // A TIFF whose EXIF IFD comes last, cut inside it: the pixels are all there.
  '/tiff-exif-cut-close': () => closeDelimited('image/tiff', makeTiff({ exif: true }).subarray(0, -100)),
  '/tiff-exif-cut-length': () => withLength('image/tiff', makeTiff({ exif: true }).subarray(0, -100)),
  '/png-cut-length': () => withLength('image/png', png.subarray(0, -40)),
  // BMPs whose pixel data is a PNG or a JPEG (BI_PNG, BI_JPEG; bmpsuite's q/rgb24png.bmp), whole and cut.
  '/bmp-png-length': () => withLength('image/bmp', bmpAround(png, 5)),
  '/bmp-jpeg-close': () => closeDelimited('image/bmp', bmpAround(jpeg, 4)),
  '/bmp-png-cut-length': () => withLength('image/bmp', bmpAround(png, 5).subarray(0, -40)),
  '/bmp-jpeg-cut-close': () => closeDelimited('image/bmp', bmpAround(jpeg, 4).subarray(0, -40)),
  // A V5 BMP with its colour profile after its pixels, whole and cut inside the profile.
  // An AVIF whose meta box comes last with a size of 0: it runs to the end of the file.
  '/avif-meta-last-length': () => withLength('image/avif', metaLast(avif)),
  '/avif-meta-last-close': () => closeDelimited('image/avif', metaLast(avif)),
  '/avif-junk-length': () => withLength('image/avif', Buffer.concat([avif, AVIF_JUNK])),
  '/avif-junk-chunked': () => chunked('image/avif', Buffer.concat([avif, AVIF_JUNK])),
  '/avif-junk-close': () => closeDelimited('image/avif', Buffer.concat([avif, AVIF_JUNK])),
  '/avif-cut-junk-length': () => withLength('image/avif', Buffer.concat([avif.subarray(0, -100), AVIF_JUNK])),
  '/bmp-profile-close': () => closeDelimited('image/bmp', withProfile(v5)),
  '/bmp-profile-cut-close': () => closeDelimited('image/bmp', withProfile(v5).subarray(0, -100)),
  // The server's own copy cut (a failed upload), sent whole as it is, with strong validators.
  '/png-stored-cut-validators': () =>
    Buffer.concat([
      head([
        'HTTP/1.1 200 OK',
        'Content-Type: image/png',
        'Content-Length: 600',
        'ETag: "stored-cut"',
        'Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT',
      ]),
      png.subarray(0, 600),
    ]),
  '/png-stored-cut-chunked': () => chunked('image/png', png.subarray(0, 600)),
  // A caching proxy that answers 304 to an unconditional request while it revalidates a stale
  // entry (caddyserver/cache-handler#137, darkweak/souin#794), then the image from its refreshed
  // entry; and one that answers 304 every time.
  '/unconditional-304': (() => {
    let answers = 0
    return () =>
      answers++ === 0
        ? head([
            'HTTP/1.1 304 Not Modified',
            'ETag: "c1"',
            'Cache-Status: Souin; fwd=request; fwd-status=304',
          ])
        : withLength('image/gif', gif)
  })(),
  '/always-304': () => head(['HTTP/1.1 304 Not Modified', 'ETag: "c2"']),
  // A 416 to a plain GET, once (kiwix/libkiwix#855), then the image.
  '/plain-416': (() => {
    let answers = 0
    return () =>
      answers++ === 0
        ? head(['HTTP/1.1 416 Range Not Satisfiable', 'Content-Length: 0'])
        : withLength('image/gif', gif)
  })(),
  '/jpeg-over': overstated(() => jpeg),
  '/jpeg-over-etag': overstated(() => jpeg, { etag: 'over-v1' }),
  '/jpeg-over-open': overstated(() => jpeg, { etag: 'over-v2', open: true }),
  '/jpeg-over-big': overstated(() => openJpeg(), { over: 2, etag: 'over-v3' }),
  // Short of its length, a JPEG whose bytes after its end marker may go on (a motion-photo video),
  // and one cut in its scan: the same bytes every time prove nothing.
  '/jpeg-video-over': overstated(withVideo, { over: 1000 }),
  '/jpeg-cut-over': overstated(() => jpeg.subarray(0, -40), { over: 40 }),
  // 2xx statuses other than 200 and 206, each with a body.
  '/status-203': () => withStatus(203, 'image/gif', gif),
  '/status-299': () => withStatus(299, 'image/gif', gif),
  '/status-207': () =>
    withStatus(207, 'application/xml', Buffer.from('<?xml version="1.0"?><multistatus xmlns="DAV:"/>')),
  '/status-226': () => withStatus(226, 'image/gif', gif),
  // The same off-by-one under a content coding: the coded stream ends (gzip's trailer, Brotli's
  // last block) a byte or two short of the length.
  '/jpeg-over-gzip': overstated(() => jpeg, { coding: 'gzip' }),
  '/jpeg-over-gzip-open': overstated(() => jpeg, { coding: 'gzip', over: 2, open: true }),
  '/jpeg-over-br': overstated(() => jpeg, { coding: 'br' }),
  // zlib's deflate (RFC 9110 §8.4.1.2): its Adler-32 trailer ends the stream.
  '/jpeg-over-deflate': overstated(() => jpeg, { coding: 'deflate' }),
  // Labelled gzip, sent as it is (a server that names a coding it did not apply).
  '/jpeg-over-mislabelled': overstated(() => jpeg, { label: 'gzip' }),
  '/jpeg-cut-over-gzip': overstated(() => jpeg.subarray(0, -40), { coding: 'gzip' }),
}

before(async () => {
  gif = await fixture('animated.gif')
  svg = await fixture('illustrator.svg')
  jxl = await fixture('bare.jxl')
  mpf = withMpf(await fixture('baseline.jpg'), await fixture('progressive.jpg'))
  jpeg = await fixture('restart.jpg')
  progressive = await fixture('progressive-restart.jpg')
  // The next-to-last scan's data runs from its header to the first marker that is no restart marker.
  const sos = progressive.lastIndexOf(
    Buffer.from([0xff, 0xda]),
    progressive.lastIndexOf(Buffer.from([0xff, 0xda])) - 1,
  )
  betweenScans = sos + 2 + progressive.readUInt16BE(sos + 2)
  while (
    !(
      progressive[betweenScans] === 0xff &&
      progressive[betweenScans + 1] &&
      (progressive[betweenScans + 1] & 0xf8) !== 0xd0
    )
  )
    betweenScans++
  png = await fixture('palette-interlaced.png')
  webp = await fixture('lossy.webp')
  v5 = await fixture('v5-alpha.bmp')
  avif = await fixture('plain.avif')
  const video = Buffer.concat([
    box('ftyp', Buffer.from('mp42'), [0, 0, 0, 0]),
    box('mdat', Buffer.alloc(20_000, 7)),
  ])
  motion = motionPhoto(await fixture('baseline.jpg'), [video])
  motionStill = motion.length - video.length
  dir = await tempDir()
  certs = makeCerts(dir)
  server = await startRawServer((socket) => {
    socket.once('data', async (data) => {
      const text = data.toString('latin1')
      const path = text.split(' ')[1]
      const range = /^range: *(.*)$/im.exec(text)?.[1]?.trim()
      const ifRange = /^if-range: *(.*)$/im.exec(text)?.[1]?.trim()
      requests.push({ path, range, ifRange })
      const answered =
        answers[path]?.(range, ifRange) ?? 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'
      const answer = answered instanceof Promise ? await answered : answered
      if (typeof answer === 'object' && 'open' in answer) socket.write(answer.open)
      else if (typeof answer === 'object' && 'reset' in answer)
        socket.write(answer.reset, () => setTimeout(() => socket.resetAndDestroy(), 20))
      else socket.end(answer)
    })
  })
})

after(async () => {
  await server.close()
  await cleanup(dir)
})

/**
 * A body whose end only the transfer can mark, read to the close at `path`: one answer is truncated,
 * saying `why`; the same bytes twice settle it, kept at the second attempt.
 */
async function settledByTwo(path: string, why: RegExp): Promise<void> {
  const closed = (await get(path, { retries: 0 })).r
  assert.equal(closed.error, 'truncated', closed.message)
  assert.match(closed.message!, why)
  const again = (await get(path)).r
  assert.equal(again.status, 'ok', again.message)
  assert.equal(again.attempts, 2)
}

/** The `Range` of each request made for `path`, in order (`undefined`: none). */
const rangesAsked = (path: string) => requests.filter((q) => q.path === path).map((q) => q.range)

async function get(
  path: string,
  { origin = server.origin, ...options }: Options & { origin?: string } = {},
): Promise<{ r: Result; out: string }> {
  const out = join(dir, path.slice(1))
  const results: Result[] = []
  for await (const r of pull([`${origin}${path}`], { out, retries: 1, ...options })) results.push(r)
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

test('Transfer-Encoding: identity beside a Content-Length is framed by the length, not read to the close', async () => {
  // It was read to the close (RFC 9112 §6.3): on a connection the server kept open, each file
  // waited for the idle timeout, and a GIF without its trailer was then a timeout.
  for (const path of ['/gif-te-identity-length', '/gif-te-identity-listed']) {
    const { r, out } = await get(path, { idleTimeout: 1000, retries: 0 })
    assert.equal(r.status, 'ok', `${path}: ${r.message}`)
    assert.equal((await readFile(join(out, r.path!))).length, gif.length - 1, path)
  }
})

test('a JPEG without its end-of-image marker that the check kept decodes whole: --verify decode and a resize take it', async () => {
  // libjpeg's "Premature end of JPEG file" failed both as undecodable; the marker is put back for the decoder only.
  const out = join(dir, 'no-eoi-verified')
  const verified = await get('/jpeg-no-eoi-length', {
    retries: 0,
    out,
    transform: { verifyDecode: true },
  })
  assert.equal(verified.r.status, 'ok', verified.r.message)
  assert.deepEqual(await readFile(join(out, verified.r.path!)), jpeg.subarray(0, -2), 'kept as it came')
  const resized = await get('/jpeg-no-eoi-length', {
    retries: 0,
    out: join(dir, 'no-eoi-resized'),
    transform: { resize: 'keep-ratio', size: 24 },
  })
  assert.equal(resized.r.status, 'ok', resized.r.message)
  assert.deepEqual([resized.r.format, resized.r.width, resized.r.height], ['jpg', 32, 24])
})

test('a JPEG without its end-of-image marker, its last scan whole, is kept when its end was marked; one cut in its scan is not', async () => {
  for (const path of ['/jpeg-no-eoi-length', '/jpeg-no-eoi-chunked']) {
    const { r, out } = await get(path, { retries: 0 })
    assert.equal(r.status, 'ok', `${path}: ${r.message}`)
    assert.deepEqual([r.format, r.width, r.height], ['jpg', 64, 48])
    assert.deepEqual(await readFile(join(out, r.path!)), jpeg.subarray(0, -2), path)
  }
  const cut = (await get('/jpeg-cut-length', { retries: 0 })).r
  assert.equal(cut.error, 'truncated')
  assert.match(
    cut.message!,
    /jpeg-cut-length: JPEG has no end-of-image marker: the server marked its answer whole/,
  )
  // Read to the close, it could be a cut that took the marker: the same bytes twice settle it.
  await settledByTwo('/jpeg-no-eoi-close', /its last scan is whole\), and the connection gave no length/)
})

// a progressive JPEG its writer left without its end-of-image marker was truncated on
// every attempt and every rerun, its Content-Length met, where browsers show it, libvips decodes
// it, and curl and wget2 keep it.
test('a progressive JPEG without its end-of-image marker, every coefficient whole, is kept when its end was marked; one cut between two scans is not', async () => {
  const { r, out } = await get('/progressive-no-eoi-length', { retries: 0 })
  assert.equal(r.status, 'ok', r.message)
  assert.deepEqual([r.format, r.width, r.height, r.attempts], ['jpg', 64, 48, 1])
  assert.deepEqual(await readFile(join(out, r.path!)), progressive.subarray(0, -2))
  const verified = await get('/progressive-no-eoi-length', {
    retries: 0,
    out: join(dir, 'progressive-verified'),
    transform: { verifyDecode: true },
  })
  assert.equal(verified.r.status, 'ok', verified.r.message)
  const cut = (await get('/progressive-between-scans-length', { retries: 0 })).r
  assert.equal(cut.error, 'truncated')
  assert.match(cut.message!, /JPEG has no end-of-image marker: the server marked its answer whole/)
  // Read to the close, it could be a cut that took the marker: the same bytes twice settle it.
  await settledByTwo(
    '/progressive-no-eoi-close',
    /its last scan is whole\), and the connection gave no length/,
  )
})

// a PNG its encoder wrote without IEND (tinia#57, pbPlots#29) was refused on every
// attempt and every rerun, its length met, where libvips, browsers, curl and wget2 take it.
test('a PNG without IEND, its image data whole, is kept when its end was marked; one cut in its data is not', async () => {
  for (const path of ['/png-no-iend-length', '/png-no-iend-chunked']) {
    const { r, out } = await get(path, { retries: 0 })
    assert.equal(r.status, 'ok', `${path}: ${r.message}`)
    assert.equal(r.format, 'png')
    assert.deepEqual(await readFile(join(out, r.path!)), png.subarray(0, -12), path)
  }
  const cut = (await get('/png-cut-length', { retries: 0 })).r
  assert.equal(cut.error, 'truncated')
  assert.match(
    cut.message!,
    /png-cut-length: PNG ends before its IEND chunk: the server marked its answer whole/,
  )
  await settledByTwo('/png-no-iend-close', /its image data is whole\), and the connection gave no length/)
})

// a PNG that ends inside IEND (stb_image measured a PNG without IEND's CRC,
// nothings/stb#835, so PNGs cut out of other files lack its last 4 bytes) was refused on every
// attempt and every rerun, its length met, while the same PNG without any of IEND was kept.
test('a PNG cut inside IEND, its image data whole, is kept when its end was marked, as one without IEND is', async () => {
  for (const [path, cut] of [
    ['/png-part-iend-length', 4],
    ['/png-part-iend-chunked', 9],
  ] as const) {
    const { r, out } = await get(path, { retries: 0 })
    assert.equal(r.status, 'ok', `${path}: ${r.message}`)
    assert.equal(r.format, 'png')
    assert.deepEqual(await readFile(join(out, r.path!)), png.subarray(0, -cut), path)
  }
  await settledByTwo('/png-part-iend-close', /its image data is whole\), and the connection gave no length/)
})

// the same PNG with text chunks after its image data (ImageMagick writes its date:create
// and date:modify there) was refused on every attempt and rerun, its length met, where libvips reads it.
test('a PNG with text after its image data, without IEND or cut inside it, is kept when its end was marked; one cut in its text is not', async () => {
  for (const [path, cut] of [
    ['/png-text-part-iend-length', 4],
    ['/png-text-no-iend-chunked', 12],
  ] as const) {
    const { r, out } = await get(path, { retries: 0 })
    assert.equal(r.status, 'ok', `${path}: ${r.message}`)
    assert.deepEqual(await readFile(join(out, r.path!)), withText(png).subarray(0, -cut), path)
  }
  await settledByTwo(
    '/png-text-part-iend-close',
    /its image data is whole\), and the connection gave no length/,
  )
  const text = (await get('/png-text-cut-length', { retries: 0 })).r
  assert.equal(text.error, 'truncated')
  assert.match(text.message!, /PNG ends before its IEND chunk: the server marked its answer whole/)
})

// a BMP whose pixel data is a whole PNG or JPEG (BI_PNG, BI_JPEG, its bit count 0 as
// the format requires) was corrupt ('BMP declares an empty image') on every attempt and every rerun,
// where Chromium's BMP reader hands those bytes to its PNG or JPEG decoder and shows the image.
test('a BMP whose pixel data is a PNG or a JPEG is kept when that file is whole; one cut inside it is not', async () => {
  for (const path of ['/bmp-png-length', '/bmp-jpeg-close']) {
    const { r, out } = await get(path, { retries: 0 })
    assert.equal(r.status, 'ok', `${path}: ${r.message}`)
    assert.equal(r.format, 'bmp')
    const inner = path === '/bmp-png-length' ? png : jpeg
    assert.deepEqual(await readFile(join(out, r.path!)), bmpAround(inner, path === '/bmp-png-length' ? 5 : 4))
  }
  for (const path of ['/bmp-png-cut-length', '/bmp-jpeg-cut-close']) {
    const { r } = await get(path, { retries: 0 })
    assert.equal(r.error, 'truncated', `${path}: ${r.message}`)
    assert.match(
      r.message!,
      /BMP's embedded (PNG|JPEG): (PNG ends before its IEND chunk|JPEG has no end-of-image marker)/,
      path,
    )
  }
})

// a V5 BMP cut inside the colour profile its writer put after the pixels was kept from a
// connection that closed there (its pixels all arrived), though Chromium fails the image without it.
test('a BMP cut in its embedded colour profile is truncated, not kept because its pixels arrived', async () => {
  const whole = await get('/bmp-profile-close', { retries: 0 })
  assert.equal(whole.r.status, 'ok', whole.r.message)
  assert.deepEqual(await readFile(join(whole.out, whole.r.path!)), withProfile(v5))
  const { r } = await get('/bmp-profile-cut-close', { retries: 0 })
  assert.equal(r.error, 'truncated', r.message)
  assert.match(r.message!, /BMP colour profile ends at byte \d+, past the end \(\d+ bytes\)/)
})

// an AVIF whose meta box comes last with a size of 0 (it runs to the end of the file) was
// corrupt ('HEIF has no meta box') on every attempt and every rerun, where libheif shows the image.
test('an AVIF whose meta box runs to the end of the file is kept where its end was marked, else once the same bytes come twice', async () => {
  const { r, out } = await get('/avif-meta-last-length', { retries: 0 })
  assert.equal(r.status, 'ok', r.message)
  assert.deepEqual([r.format, r.width, r.height], ['avif', 64, 48])
  assert.deepEqual(await readFile(join(out, r.path!)), metaLast(avif))
  await settledByTwo(
    '/avif-meta-last-close',
    /HEIF meta box runs to the end of the file, and the connection gave no length/,
  )
})

// an AVIF followed by 8 or more bytes that are no box (a page a server appended) was
// truncated on every attempt and every rerun, its length met, where libheif shows the image.
test('an AVIF followed by bytes that are no box is kept where its end was marked, else once the same bytes come twice; cut in its data, never', async () => {
  for (const path of ['/avif-junk-length', '/avif-junk-chunked']) {
    const { r, out } = await get(path, { retries: 0 })
    assert.equal(r.status, 'ok', `${path}: ${r.message}`)
    assert.deepEqual([r.format, r.width, r.height], ['avif', 64, 48])
    assert.deepEqual(await readFile(join(out, r.path!)), Buffer.concat([avif, AVIF_JUNK]), path)
  }
  await settledByTwo('/avif-junk-close', /50 bytes follow the last box, and the connection gave no length/)
  const cut = (await get('/avif-cut-junk-length', { retries: 0 })).r
  assert.equal(cut.error, 'truncated', cut.message)
  assert.match(cut.message!, /HEIF box mdat ends at byte \d+, past the end/)
})

// a TIFF whose single strip has no StripByteCounts (the 46-byte TIFF of
// mathiasbynens/small#127, image-js/tiff#38) or a count of 0 (a scanner's, TwelveMonkeys#449) was
// corrupt ('first page has no strips or tiles') on every run, though libtiff, and so libvips,
// sizes the strip itself and reads the image.
test('a TIFF strip without a usable byte count is sized as libtiff sizes it; compressed, it runs to the end only the transfer shows', async () => {
  for (const path of [
    '/tiff-no-counts-length',
    '/tiff-count-zero-chunked',
    '/tiff-to-end-length',
    '/tiff-wrong-counts-length',
  ]) {
    const { r, out } = await get(path, { retries: 0 })
    assert.equal(r.status, 'ok', `${path}: ${r.message}`)
    assert.deepEqual([r.format, r.width, r.height], ['tif', 16, 8], path)
    assert.ok((await readFile(join(out, r.path!))).length > 100, path)
  }
  // Uncompressed, its rows say how many bytes it holds: one short is cut, however the answer ended.
  const cut = (await get('/tiff-no-counts-cut-length', { retries: 0 })).r
  assert.equal(cut.error, 'truncated')
  assert.match(cut.message!, /TIFF image data ends at byte 238, past the end \(237 bytes\)/)
  // Compressed, read to the close: a cut there looks like the end until the same bytes come twice.
  await settledByTwo('/tiff-to-end-close', /runs to the end of the file, and the connection gave no length/)
})

// a TIFF cut inside the EXIF IFD it keeps after its pixels (a camera's dates and maker
// note) was kept on a closed connection, the metadata lost, where the next attempt brought it whole.
test('a TIFF cut in its EXIF IFD is truncated on a closed connection; kept where the server marked its end there', async () => {
  const closed = (await get('/tiff-exif-cut-close', { retries: 0 })).r
  assert.equal(closed.error, 'truncated', closed.message)
  assert.match(
    closed.message!,
    /TIFF EXIF tag 37500's value lies beyond the end \(412 bytes\), and the connection gave no length/,
  )
  // A pointer past the end of a whole file (writers leave them, goexif2#12) cannot be told from a
  // cut: where the answer's length marks the end there, the image is kept, as libvips reads it.
  const marked = await get('/tiff-exif-cut-length', { retries: 0 })
  assert.equal(marked.r.status, 'ok', marked.r.message)
  assert.deepEqual([marked.r.format, marked.r.width, marked.r.height], ['tif', 16, 8])
})

// a file the server's copy holds cut, sent whole as framed, failed saying the server
// 'sent neither a strong ETag or Last-Modified nor the file's size' though it had sent all three.
test("a file cut in the server's copy, its answer ended where the server marked it, fails naming that, not validators", async () => {
  for (const path of ['/png-stored-cut-validators', '/png-stored-cut-chunked']) {
    const { r } = await get(path, { retries: 1 })
    assert.equal(r.error, 'truncated', path)
    assert.equal(r.attempts, 2, path)
    assert.match(
      r.message!,
      /: PNG ends before its IEND chunk: the server marked its answer whole at \d+ bytes \(its length met, its last chunk, its HTTP\/2 stream's end or its gzip, deflate or Brotli stream's own end sent\), so its copy of the file \(or the length it states\) is cut short: no resume could continue it$/,
      path,
    )
  }
  // A body nothing marked the end of may be a cut on the way: said as before.
  const cut = (await get('/gif-close', { retries: 0, out: join(dir, 'stored-cut-gif-close') })).r
  assert.equal(cut.error, 'truncated')
  assert.doesNotMatch(cut.message!, /marked its answer whole/)
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
  const url = server.url('/jxl-close')
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
  assert.deepEqual(rangesAsked('/jxl-close-ranges'), [undefined, resumeRange(jxl.length)])
  // Cut at 60 %: the resume brings the rest, and the file is exact.
  const cut = await get('/jxl-cut-ranges')
  assert.equal(cut.r.status, 'ok', cut.r.message)
  assert.ok((await readFile(join(cut.out, cut.r.path!))).equals(jxl))
})

/**
 * A JPEG whose own metadata lists bytes after its end marker, served at `/${name}-close-cut`
 * (read to the close, cut short of them), `/${name}-close` (whole, read to the close) and
 * `/${name}-length-short` (a length met short of them): the cut is truncated, naming what lists
 * more; the whole one is kept at once; the short one is kept as sent, `shortBytes` long.
 */
async function listedPastEnd(
  name: string,
  file: Buffer,
  o: { retries: number; lists: string; shortBytes: number },
): Promise<void> {
  const cut = (await get(`/${name}-close-cut`, { retries: o.retries })).r
  assert.equal(cut.error, 'truncated', cut.message)
  assert.match(
    cut.message!,
    new RegExp(`JPEG's ${o.lists} to byte \\d+, past the body's \\d+, and the connection gave no length`),
  )
  const whole = await get(`/${name}-close`)
  assert.equal(whole.r.status, 'ok', whole.r.message)
  assert.equal(whole.r.attempts, 1)
  assert.ok((await readFile(join(whole.out, whole.r.path!))).equals(file))
  // A length met is the server's word: a file that lists more than it holds is kept as sent.
  const short = await get(`/${name}-length-short`)
  assert.equal(short.r.status, 'ok', short.r.message)
  assert.equal(short.r.bytes, o.shortBytes)
}

test('a JPEG cut after its first image, inside the second one its MPF index lists, is truncated on a closed connection', async () => {
  // The length met is short of the second image: its index lists more than it holds.
  await listedPastEnd('mpf', mpf, {
    retries: 3,
    lists: 'MPF index lists images',
    shortBytes: mpf.length - 200,
  })
})

test("a motion photo whose connection closed at its still image's end is cut (its XMP lists the video after it); whole, it is kept at once", async () => {
  // Before, the still alone was kept from the first answer (the video lost), and the whole file,
  // read to the close, needed a second answer the same: bytes after the end marker had no end.
  const once = await get('/motion-close-cut-once')
  assert.equal(once.r.status, 'ok', once.r.message)
  assert.equal(once.r.attempts, 2)
  assert.ok((await readFile(join(once.out, once.r.path!))).equals(motion))
  // The length met is the still's: a photo whose video was stripped, its XMP left.
  await listedPastEnd('motion', motion, {
    retries: 2,
    lists: 'XMP container directory lists items',
    shortBytes: motionStill,
  })
})

// NULs where a block belongs, after an image (more than one: one was let go before), were
// corrupt on every attempt ('GIF has a block of unknown kind 0x0'), where Chromium, Firefox and
// Pillow show the GIF (golang/go#38853: traffic cameras write '00 00 3B' at the end).
test('a GIF with NULs where a block belongs, before its trailer or between its frames, is kept as it came', async () => {
  for (const [path, at] of [
    ['/gif-nuls-trailer', gif.length - 1],
    ['/gif-nuls-between', 4119],
  ] as const) {
    const { r, out } = await get(path, { retries: 0 })
    assert.equal(r.status, 'ok', `${path}: ${r.message}`)
    assert.deepEqual([r.format, r.width, r.height, r.attempts], ['gif', 64, 48, 1], path)
    assert.deepEqual(await readFile(join(out, r.path!)), gifNuls(at), path)
  }
})

// a GIF cut right after a graphic control extension was whole but unchecked, as one
// between frames is: kept where its length was met, and on a second answer the same.
test('a GIF that ends after a graphic control extension, before the image it introduces, is truncated, its end marked or not', async () => {
  assert.deepEqual([...gif.subarray(4119, 4122)], [0x21, 0xf9, 0x04])
  const marked = (await get('/gif-control-length', { retries: 0 })).r
  assert.equal(marked.error, 'truncated', marked.message)
  assert.match(
    marked.message!,
    /GIF ends after a graphic control extension, before the image it introduces: the server marked its answer whole/,
  )
  const closed = (await get('/gif-control-close', { retries: 2 })).r
  assert.equal(closed.error, 'truncated', closed.message)
  assert.equal(closed.attempts, 3)
})

test('a body read to the close is not marked at its end by a Transfer-Encoding that only names chunked, nor by a 200 with a Content-Range', async () => {
  for (const path of ['/gif-te-chunked-identity', '/gif-te-x-chunked', '/gif-200-range']) {
    const { r } = await get(path, { retries: 0 })
    assert.equal(r.error, 'truncated', `${path}: ${r.status} ${r.message}`)
  }
})

test('a 200 whose Content-Range and Content-Length say it is a part is not kept as the file, where its bytes cannot show their end', async () => {
  const { r, out } = await get('/jxl-200-part', { retries: 0 })
  assert.equal(r.error, 'bad-range', `${r.status} ${r.message}`)
  assert.match(r.message!, /a 200 of bytes 0-599 of 1123 \(its Content-Range\), not the whole file/)
  assert.deepEqual(await outputFiles(out), [])
})

test('a 206 of a file of unknown size marks where its part ends, not the file: the rest is asked for until a 416', async () => {
  const { r, out } = await get('/jxl-star', { retries: 3 })
  assert.equal(r.status, 'ok', r.message)
  assert.ok((await readFile(join(out, r.path!))).equals(jxl))
  const asked = rangesAsked('/jxl-star')
  assert.equal(
    asked.at(-1),
    `bytes=${jxl.length}-`,
    'a continuation within the attempt asks from the next byte',
  )
})

// A 206 of `bytes 0-B/*` to a plain GET, capped (ansible/ansible#68843): taken as the file, it
// failed `truncated` at every attempt, the rest never asked for, the answer's word that it was a
// part unsaid.
// A 200 of it (RFC 9110 §14.4 gives a 200's Content-Range no meaning, but a front that caps every
// answer may label the first part so): its 400 bytes, their length met, were kept as the JPEG XL.
test('a 206 of bytes 0-B/* to a plain GET is a part, and a 200 of it: the rest is asked for with Range; the same part again ends it', async () => {
  for (const path of ['/jxl-capped', '/jxl-capped-200']) {
    const { r, out } = await get(path, { retries: 0 })
    assert.equal(r.status, 'ok', r.message)
    assert.ok((await readFile(join(out, r.path!))).equals(jxl), path)
    assert.deepEqual(rangesAsked(path), [undefined, 'bytes=400-', 'bytes=800-', `bytes=${jxl.length}-`], path)
  }
  const ignoring = (await get('/jxl-capped-ignoring', { retries: 0 })).r
  assert.equal(ignoring.error, 'truncated', ignoring.message)
  assert.match(
    ignoring.message!,
    /the server called its answer a part of a file of unknown size \(bytes 0-399\/\*\)/,
  )
  assert.equal(requests.filter((q) => q.path === '/jxl-capped-ignoring').length, 2)
})

// The same front answering a range from the file's end with an empty 206 of `bytes N-(N-1)/N`
// (Fastly's, rust-lang/crates.io#13159) where RFC 9110 §15.5.17 has a 416 naming the size: refused
// as 'a 206 without a usable Content-Range (bytes 1123-1122/1123)', the file started over at every
// attempt, never kept. It is that 416: the bytes on disk are the file.
test('an empty 206 of bytes N-(N-1)/N to a range from the end of the bytes on disk is the 416 it stands for: the file is whole', async () => {
  const path = '/jxl-capped-empty-past'
  const { r, out } = await get(path, { retries: 0 })
  assert.equal(r.status, 'ok', r.message)
  assert.ok((await readFile(join(out, r.path!))).equals(jxl))
  assert.deepEqual(rangesAsked(path), [undefined, 'bytes=400-', 'bytes=800-', `bytes=${jxl.length}-`])
})

// The same front without a validator (ETag, Last-Modified) on its parts: the rest was never asked
// for (nothing proved a later answer the same file), and a JPEG, PNG, WebP or GIF failed
// `truncated` ('JPEG has no end-of-image marker: not resumed, the server sent neither a strong
// ETag ...') at every attempt. Each part now proves itself in this run by the bytes on disk it
// repeats (half the part before: the cap leaves no room for 4 KB), as aria2c -c continues one.
test('a capped 206 of bytes 0-B/* without a validator: the rest is asked for with Range, each part repeating bytes on disk, for every format', async () => {
  for (const kind of ['jpeg', 'png', 'webp', 'gif'] as const) {
    const path = `/${kind}-capped-bare`
    const { r, out } = await get(path, { retries: 0 })
    assert.equal(r.status, 'ok', `${path}: ${r.message}`)
    assert.ok((await readFile(join(out, r.path!))).equals(cappedImages()[kind]), path)
  }
  // 1,420 bytes in parts of 600: each asks again for half the part before; the last brings
  // nothing past the bytes on disk, so the file ends there.
  assert.deepEqual(rangesAsked('/jpeg-capped-bare'), [
    undefined,
    'bytes=300-',
    'bytes=600-',
    'bytes=900-',
    'bytes=1160-',
  ])
  // Its size stated by a later part: the parts after it must state the same (it restarted from
  // byte 0 at every such part, 'the file's size unknown became 1420'). And the same front stating
  // the file's size in each part (`bytes 0-599/1420`: a short 206, as
  // jizhi0v0/duo-updater#225 has a server send, RFC 9110 §14.1.2 letting it): its second part was
  // refused ('only 300 bytes on disk asked for again, and no validator proves the file unchanged'),
  // where one stating no size was joined; it asks again for half the part before as that one does.
  for (const path of ['/jpeg-capped-bare-later', '/jpeg-capped-sized-bare']) {
    const { r, out } = await get(path, { retries: 0 })
    assert.equal(r.status, 'ok', `${path}: ${r.message}`)
    assert.ok((await readFile(join(out, r.path!))).equals(jpeg), path)
    assert.deepEqual(rangesAsked(path), [undefined, 'bytes=300-', 'bytes=600-', 'bytes=900-'], path)
  }
  // Its parts a byte off what their Content-Range names: never joined, and said so without
  // naming validators the server never sent ('the file changed under the same validators').
  const shifted = (await get('/jpeg-capped-sized-shifted', { retries: 0 })).r
  assert.equal(shifted.error, 'bad-range', shifted.message)
  assert.match(
    shifted.message!,
    /cannot be put together \(the bytes before byte 600 differ from those on disk \(the file changed, or the server's range is not the one it names; no validator proves the file unchanged\)\)$/,
  )
})

// The same front without a validator, 20 bytes an answer: the next attempt asks again for all
// 1,020 bytes on disk (`RESUME_OVERLAP` is more), and its first part ended inside them. Taken as
// where the file ends, it failed 'JPEG has no end-of-image marker' at every attempt; it is a part,
// and the next asks again for half of it.
test('a capped part without a validator that ends inside the bytes on disk asked again is a part, not the end of the file', async () => {
  const { r, out } = await get('/jpeg-capped-bare-tiny', { retries: 1 })
  assert.equal(r.status, 'ok', r.message)
  assert.ok((await readFile(join(out, r.path!))).equals(jpeg))
  // The second attempt's first part ends at byte 19; the next repeats the last 10 bytes on disk.
  const asked = rangesAsked('/jpeg-capped-bare-tiny')
  const again = asked.indexOf('bytes=0-')
  assert.deepEqual(asked.slice(again - 1, again + 3), [
    'bytes=1000-',
    'bytes=0-',
    'bytes=1010-',
    'bytes=1020-',
  ])
})

// 100 bytes each (`/jpeg-capped-tiny`, ansible/ansible#68843's front, capped lower): each attempt
// moved the file 10 KB on in the 100 parts it asks for, so none was held against the retries (see
// `progressFree`), and --retries 1 made 303 requests for a 30 KB file (10,000 for a 1 MB one).
// Now its progress is counted by the answer: such attempts are held to --retries.
test('parts of a file of unknown size, one byte or 100 bytes each: given up after 100 parts in an attempt, each such attempt held to --retries', async () => {
  for (const [path, sent] of [
    ['/jxl-star-bytes', 102],
    ['/jpeg-capped-tiny', 202],
  ] as const) {
    const { r } = await get(path, { retries: 1 })
    assert.equal(r.error, 'truncated', r.message)
    assert.match(r.message!, /sent 100 parts of a file of unknown size without its end/)
    assert.equal(requests.filter((q) => q.path === path).length, sent, path)
  }
})

test('a JPEG XL codestream box that runs to the end of the file: whole with a length, truncated on a closed connection', async () => {
  const cut = (await get('/jxlc-to-end-close', { retries: 0 })).r
  assert.equal(cut.error, 'truncated', cut.message)
  assert.match(cut.message!, /codestream box runs to the end of the file/)
  const whole = await get('/jxlc-to-end-length')
  assert.equal(whole.r.status, 'ok', whole.r.message)
  assert.equal(whole.r.format, 'jxl')
})

test('a chunked body the connection closed before its last chunk is judged as one read to the close', async () => {
  for (const path of ['/gif-chunked-closed', '/gif-chunked-closed-said']) {
    const whole = await get(path, { retries: 0 })
    assert.equal(whole.r.status, 'ok', `${path}: ${whole.r.message}`)
    assert.ok((await readFile(join(whole.out, whole.r.path!))).equals(gif), path)
  }
  const cut = await get('/gif-chunked-closed-cut', { retries: 0 })
  assert.equal(cut.r.error, 'truncated', cut.r.message)
  assert.match(cut.r.message!, /the connection closed before the last chunk of the body/)
  // A GIF without its trailer: the protocol said the body is incomplete, so the same bytes a second
  // time prove nothing (they do for a body read to the close).
  const noTrailer = await get('/gif-chunked-closed-no-trailer', { retries: 1 })
  assert.equal(noTrailer.r.error, 'truncated', noTrailer.r.message)
  assert.match(
    noTrailer.r.message!,
    /GIF ends without its trailer, and the connection closed before the last chunk/,
  )
  // Bytes after a JPEG's EOI (a motion-photo video): where they end, the JPEG cannot say.
  const video = await get('/jpeg-video-chunked-closed', { retries: 1 })
  assert.equal(video.r.error, 'truncated', video.r.message)
  assert.match(
    video.r.message!,
    /bytes follow the images the JPEG's MPF index lists, and the connection closed/,
  )
})

test('a chunked body the connection closed inside a chunk is cut, whatever the image shows: the next answer brings the rest', async () => {
  // The chunk's size line promised the bytes that never came (RFC 9112 §7.1): a cut as sure as one
  // short of a Content-Length, not an end nothing marked. The JPEG was whole at the cut: kept, it
  // lost the 5,000 bytes after it.
  const { r, out } = await get('/jpeg-trailing-chunk-cut', { retries: 1 })
  assert.equal(r.status, 'ok', r.message)
  assert.equal(r.attempts, 2)
  assert.ok((await readFile(join(out, r.path!))).equals(Buffer.concat([jpeg, Buffer.alloc(20_000, 7)])))
  // Cut the same way every time: said so, as a cut inside a chunk.
  const video = await get('/jpeg-video-chunk-cut', { retries: 0 })
  assert.equal(video.r.error, 'truncated', video.r.message)
  assert.match(video.r.message!, /connection closed inside a chunk, 4993 bytes short of its end/)
})

// an SVG in UTF-16 (Windows tools save "Unicode" text so) was not-an-image, though XML
// parsers must read UTF-16 and browsers show it; libvips, which tells an SVG by `<svg` in UTF-8,
// is handed it in UTF-8, its declaration rewritten to say so.
test('an SVG in UTF-16 is kept whole as it came, resized, and truncated wherever its connection closes short', async () => {
  const text = `<?xml version="1.0" encoding="UTF-16"?>\n<!-- é -->\n<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect width="40" height="30" fill="red"/></svg>\n`
  const files = {
    le: Buffer.from(`\ufeff${text}`, 'utf16le'),
    be: Buffer.from(`\ufeff${text}`, 'utf16le').swap16(),
    bare: Buffer.from(text, 'utf16le'),
  }
  for (const [name, file] of Object.entries(files)) {
    answers[`/svg16-${name}-length`] = () => withLength('image/svg+xml', file)
    answers[`/svg16-${name}-chunked`] = () => chunked('image/svg+xml', file)
    answers[`/svg16-${name}-close`] = () => closeDelimited('image/svg+xml', file)
    for (const framing of ['length', 'chunked', 'close']) {
      const path = `/svg16-${name}-${framing}`
      const { r, out } = await get(path, { retries: 0 })
      assert.equal(r.status, 'ok', `${path}: ${r.message}`)
      assert.deepEqual([r.format, r.width, r.height], ['svg', 40, 30], path)
      assert.deepEqual(await readFile(join(out, r.path!)), file, `${path}: kept as it came`)
    }
    const resized = await get(`/svg16-${name}-length`, {
      retries: 0,
      out: join(dir, `svg16-${name}-resized`),
      transform: { resize: 'keep-ratio', size: 20 },
    })
    assert.equal(resized.r.status, 'ok', resized.r.message)
    assert.deepEqual([resized.r.format, resized.r.width, resized.r.height], ['png', 27, 20], name)
    // Cut at every byte (the other two files: their first bytes, then every ninth), the connection
    // closed: never kept, never not-an-image.
    for (let cut = 1; cut < file.length; cut += name === 'le' || cut < 16 ? 1 : 9) {
      const path = `/svg16-${name}-cut-${cut}`
      answers[path] = () => closeDelimited('image/svg+xml', file.subarray(0, cut))
      const { r } = await get(path, { retries: 0, hash: 'none' })
      const trailing = cut === file.length - 2 // all but the last newline: the root is closed
      if (trailing) assert.equal(r.status, 'ok', `${path}: ${r.message}`)
      else assert.equal(r.error, 'truncated', `${path}: ${r.message}`)
    }
  }
})

// A server that resets the connection in place of closing it (its close with bytes of ours still
// unread makes the kernel send a reset; SO_LINGER 0): the chunked GIF it served whole failed as
// `network` (ECONNRESET) on every attempt and every rerun, where its close kept it and curl, wget2
// and aria2c keep it either way. A cut is judged as at a close: still a cut.
test('a chunked body the connection reset before its last chunk is judged as one it closed there', async () => {
  const whole = await get('/gif-chunked-reset', { retries: 0 })
  assert.equal(whole.r.status, 'ok', whole.r.message)
  assert.ok((await readFile(join(whole.out, whole.r.path!))).equals(gif))
  const cut = await get('/gif-chunked-reset-cut', { retries: 0 })
  assert.equal(cut.r.error, 'truncated', cut.r.message)
  assert.match(cut.r.message!, /the connection closed before the last chunk of the body/)
  const video = await get('/jpeg-video-chunk-reset', { retries: 0 })
  assert.equal(video.r.error, 'truncated', video.r.message)
  assert.match(video.r.message!, /connection closed inside a chunk, 4993 bytes short of its end/)
})

test('a body that ended with nothing marking its end, before it could be told, is truncated; one that is no image is not-an-image, an empty one empty-body', async () => {
  for (const path of ['/two-close', '/svg-prolog-close', '/svg-root-name-close']) {
    const { r } = await get(path, { retries: 0 })
    assert.equal(r.error, 'truncated', `${path}: ${r.message}`)
    assert.match(r.message!, /the connection ended after \d+ bytes, before the image could be told/)
  }
  for (const path of ['/html-close', '/svg-prolog-length']) {
    const { r } = await get(path, { retries: 0 })
    assert.equal(r.error, 'not-an-image', `${path}: ${r.message}`)
  }
  // An empty answer, marked or not, says nothing of what went wrong: a passing fault as likely as
  // not (an edge that served an empty object for a moment), retried, and by a rerun.
  for (const path of ['/empty-length', '/empty-close']) {
    const { r } = await get(path, { retries: 1 })
    assert.equal(r.error, 'empty-body', `${path}: ${r.message}`)
    assert.match(r.message!, /sent a 200 with an empty body \(image\/jpeg\)$/)
    assert.equal(r.attempts, 2, path)
  }
})

test('over HTTP/2, resumes whose streams the server resets before their head ask without Range after the second', async () => {
  const ranges: (string | undefined)[] = []
  const server = await startH2Server(
    { cert: readFileSync(certs.good.cert), key: readFileSync(certs.good.key) },
    (req, res) => {
      const range = req.headers.range as string | undefined
      ranges.push(range)
      // A front that resets every stream carrying Range; the first plain answer is cut at 6,000.
      if (range) return req.stream.close(constants.NGHTTP2_INTERNAL_ERROR)
      res.writeHead(200, { 'content-type': 'image/gif', etag: '"gif-v1"', 'content-length': gif.length })
      if (ranges.length > 1) res.end(gif)
      else res.write(gif.subarray(0, 6000), () => req.stream.close(constants.NGHTTP2_INTERNAL_ERROR))
    },
  )
  try {
    const { r, out } = await get('/reset.gif', { origin: server.origin, caCert: certs.ca, retries: 3 })
    assert.equal(r.status, 'ok', r.message)
    assert.ok((await readFile(join(out, r.path!))).equals(gif))
    assert.deepEqual(ranges, [undefined, resumeRange(6_000), resumeRange(6_000), undefined])
  } finally {
    await server.close()
  }
})

// the same over HTTP/2: a whole image on a stream the server never ends, no length.
test("over HTTP/2, a Content-MD5 in the stream's trailers is checked as one in its head: one of other bytes is digest-mismatch", async () => {
  const stated = (body: Buffer) => createHash('md5').update(body).digest('base64')
  const server = await startH2Server(
    { cert: readFileSync(certs.good.cert), key: readFileSync(certs.good.key) },
    (req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg' })
      // Node's response sends these in a HEADERS frame after the data (RFC 9113 §8.1).
      res.addTrailers({ 'content-md5': stated(req.url === '/h2-trailer-other.jpg' ? progressive : jpeg) })
      res.end(jpeg)
    },
  )
  try {
    const options = { retries: 0, caCert: certs.ca, origin: server.origin }
    const { r, out } = await get('/h2-trailer-same.jpg', options)
    assert.equal(r.status, 'ok', r.message)
    assert.ok((await readFile(join(out, r.path!))).equals(jpeg))
    const other = (await get('/h2-trailer-other.jpg', options)).r
    assert.equal(other.error, 'digest-mismatch', other.message)
    assert.match(other.message!, /, not the [0-9a-f]{32} its Content-MD5 trailer states$/)
  } finally {
    await server.close()
  }
})

test('over HTTP/2, a stream without a length that the server never ends: judged at the idle timeout as at a close', async () => {
  const server = await startH2Server(
    { cert: readFileSync(certs.good.cert), key: readFileSync(certs.good.key) },
    (req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg' })
      res.write(req.url === '/open-half.jpg' ? openJpeg().subarray(0, 9000) : openJpeg())
    },
  )
  try {
    const options = { retries: 0, caCert: certs.ca, origin: server.origin, idleTimeout: 300 }
    const { r, out } = await get('/open-whole.jpg', options)
    assert.equal(r.status, 'ok', r.message)
    assert.ok((await readFile(join(out, r.path!))).equals(openJpeg()))
    const half = (await get('/open-half.jpg', options)).r
    assert.equal(half.error, 'timeout', half.message)
    assert.match(half.message ?? '', /^idle timeout after 300 ms on \S+, after 9000 bytes: /)
  } finally {
    await server.close()
  }
})

test('over HTTP/2, a body without a length is not marked at its end: a stream ended early keeps nothing', async () => {
  const server = await startH2Server(
    { cert: readFileSync(certs.good.cert), key: readFileSync(certs.good.key) },
    (req, res) => {
      if (req.url === '/short.svg') {
        // A length stated, then the stream ends short, before the root element: cut, not text.
        const svg = Buffer.from(
          `<?xml version="1.0"?>\n<!-- ${'x'.repeat(400)} -->\n<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>`,
        )
        res.writeHead(200, { 'content-type': 'image/svg+xml', 'content-length': svg.length })
        res.write(svg.subarray(0, 100), () => req.stream.close(constants.NGHTTP2_CANCEL))
        return
      }
      if (req.url === '/length.gif') {
        res.writeHead(200, { 'content-type': 'image/gif', 'content-length': gif.length - 1 })
        res.end(gif.subarray(0, -1))
        return
      }
      // A server that gives up in the middle: the stream ends (or is reset) without a length.
      res.writeHead(200, { 'content-type': 'image/gif' })
      res.write(gif.subarray(0, 4119), () => req.stream.close(constants.NGHTTP2_CANCEL))
    },
  )
  try {
    const cut = (await get('/cut.gif', { retries: 0, caCert: certs.ca, origin: server.origin })).r
    assert.equal(cut.status, 'failed', cut.message)
    const short = (await get('/short.svg', { retries: 0, caCert: certs.ca, origin: server.origin })).r
    assert.equal(short.error, 'truncated', short.message)
    const whole = (await get('/length.gif', { retries: 0, caCert: certs.ca, origin: server.origin })).r
    assert.equal(whole.status, 'ok', whole.message)
  } finally {
    await server.close()
  }
})

test('a resume answered 304 to any Range asks the range once more without If-Range (a 304 to If-Range alone is a misread one: ifRangeRefused), then without Range; a 206 naming no range to a plain GET is the file, one naming bytes */N too when N bytes come, and bytes 0-B/* when B+1 do', async () => {
  const { r, out } = await get('/if-range-304', { retries: 2 })
  assert.equal(r.status, 'ok', r.message)
  assert.ok((await readFile(join(out, r.path!))).equals(gif))
  // The range again without If-Range (a server that reads If-Range as If-None-Match serves it so),
  // then, 304 to the Range itself, the whole file: one request more, never a loop.
  assert.deepEqual(rangesAsked('/if-range-304'), [
    undefined,
    resumeRange(6_000),
    resumeRange(6_000),
    undefined,
  ])
  const plain = await get('/206-no-range', { retries: 0 })
  assert.equal(plain.r.status, 'ok', plain.r.message)
  const chunk = await get('/206-no-range-chunk', { retries: 2 })
  assert.equal(chunk.r.error, 'truncated', chunk.r.message)
  assert.match(chunk.r.message!, /the server called its answer partial \(a 206 naming no range\)/)
  assert.equal(chunk.r.attempts, 3, 'the same bytes each time prove nothing after a 206')
  assert.ok((await readFile(join(plain.out, plain.r.path!))).equals(gif))
  const star = await get('/206-star', { retries: 0 })
  assert.equal(star.r.status, 'ok', star.r.message)
  assert.ok((await readFile(join(star.out, star.r.path!))).equals(gif))
  const part = await get('/206-star-part', { retries: 0 })
  assert.equal(part.r.error, 'bad-range', part.r.message)
  const unknown = await get('/206-unknown', { retries: 0 })
  assert.equal(unknown.r.status, 'ok', unknown.r.message)
  assert.ok((await readFile(join(unknown.out, unknown.r.path!))).equals(gif))
  const unsized = await get('/206-unknown-unsized', { retries: 0 })
  assert.equal(unsized.r.error, 'bad-range', unsized.r.message)
})

// one whose Content-Range has no number in it (`bytes */*`, `none`, empty) was bad-range
// at every attempt; curl, wget2 and aria2c keep it.
test('a 206 whose Content-Range has no number in it, to a plain GET, is taken as one naming none: the file when its structure shows its end', async () => {
  for (const path of ['/206-unread-stars', '/206-unread-none', '/206-unread-empty']) {
    const { r, out } = await get(path, { retries: 0 })
    assert.equal(r.status, 'ok', `${path}: ${r.message}`)
    assert.ok((await readFile(join(out, r.path!))).equals(gif), path)
  }
  const chunk = await get('/206-unread-chunk', { retries: 1 })
  assert.equal(chunk.r.error, 'truncated', chunk.r.message)
  assert.match(chunk.r.message!, /the server called its answer partial \(a 206 naming no range\)/)
})

// Resin's answer to `Range: bytes=0-` (httpie#515): `bytes 0-/N`, the range's end left open. curl,
// wget2 and aria2c keep the file; it was bad-range at every attempt.
test('a 206 whose Content-Range leaves its end open (bytes 0-/N), to a plain GET, is the file', async () => {
  const { r, out } = await get('/206-open-end', { retries: 0 })
  assert.equal(r.status, 'ok', r.message)
  assert.ok((await readFile(join(out, r.path!))).equals(gif))
})

test('a resume answered 403 or 404 (a server or CDN that refuses Range) asks again without Range, a 500 twice too; a passing 502 keeps the bytes; a 202 is retried', async () => {
  for (const path of ['/range-403', '/range-404', '/range-500']) {
    const { r, out } = await get(path, { retries: 3 })
    assert.equal(r.status, 'ok', `${path}: ${r.message}`)
    assert.ok((await readFile(join(out, r.path!))).equals(gif), path)
    // A 500 may be passing: the Range is asked for once more before it is given up; a 403 or 404
    // once more without If-Range (which it may refuse: see the 400 below), then without Range.
    assert.deepEqual(
      requests.filter((q) => q.path === path).map((q) => q.range),
      [undefined, resumeRange(6_000), resumeRange(6_000), undefined],
      path,
    )
  }
  // A gateway's passing 502 to a resume: the bytes on disk stay, and the next attempt resumes.
  const flaky = await get('/range-502-once', { retries: 2 })
  assert.equal(flaky.r.status, 'ok', flaky.r.message)
  assert.ok((await readFile(join(flaky.out, flaky.r.path!))).equals(gif))
  assert.deepEqual(rangesAsked('/range-502-once'), [undefined, resumeRange(6_000), resumeRange(6_000)])
  // Accepted, not made yet (RFC 9110 §15.3.3): not the image, and not a verdict on the URL.
  const { r, out } = await get('/queued-202', { retries: 2 })
  assert.equal(r.status, 'ok', r.message)
  assert.equal(r.attempts, 2)
  assert.ok((await readFile(join(out, r.path!))).equals(gif))
})

// A server that rejects If-Range with a 400 (an ETag where it reads only a date, aria2-next#43;
// curl -C - and wget2 -c send none and resume): each resume asked for the whole file and offered
// If-Range again at the next, so behind a link that cuts every answer the file never finished.
test("a resume answered 400 to its If-Range asks the range once more without it, and so do the resumes of the host's other files", async () => {
  const results: Result[] = []
  const out = join(dir, 'if-range-400')
  const urls = ['/if-range-400-a', '/if-range-400-b'].map((path) => server.url(path))
  for await (const r of pull(urls, { out, retries: 2, concurrency: 2 })) results.push(r)
  for (const r of results) {
    assert.equal(r.status, 'ok', r.message)
    assert.ok((await readFile(join(out, r.path!))).equals(gif), r.path)
  }
  const asked = (path: string) =>
    requests.filter((q) => q.path === path).map((q) => [q.range, q.ifRange ?? null])
  assert.deepEqual(asked('/if-range-400-a'), [
    [undefined, null],
    [resumeRange(6_000), '"gif-v1"'],
    [resumeRange(6_000), null],
  ])
  // Learnt of the host by the first file: the second offers none.
  assert.deepEqual(asked('/if-range-400-b'), [
    [undefined, null],
    [resumeRange(6_000), null],
  ])
})

test('resumes the server drops (closed unanswered, or silent) or answers with a 206 head and not a byte ask without Range after the second: the file comes, in this run', async () => {
  const cases: [string, Options][] = [
    ['/range-dropped', { headersTimeout: 300 }],
    ['/range-silent', { headersTimeout: 300 }],
    ['/range-head-only', { idleTimeout: 300 }],
    ['/range-head-stalls', { idleTimeout: 300 }],
  ]
  for (const [path, timeouts] of cases) {
    const { r, out } = await get(path, { retries: 3, ...timeouts })
    assert.equal(r.status, 'ok', `${path}: ${r.message}`)
    assert.ok((await readFile(join(out, r.path!))).equals(gif), path)
    assert.deepEqual(
      requests.filter((q) => q.path === path).map((q) => q.range),
      // Once may be passing trouble: the Range is asked for once more before it is given up.
      [undefined, resumeRange(6_000), resumeRange(6_000), undefined],
      path,
    )
  }
})

test('a run that ends on the second refused resume leaves no part: the next run asks for the whole file', async () => {
  const path = '/range-dropped-rerun'
  // A cut, then two resumes dropped: out of retries on the second refusal.
  const first = await get(path, { retries: 2 })
  assert.equal(first.r.error, 'network', first.r.message)
  const again = await get(path, { retries: 1 })
  assert.equal(again.r.status, 'ok', again.r.message)
  assert.ok((await readFile(join(again.out, again.r.path!))).equals(gif))
  assert.deepEqual(
    requests.filter((q) => q.path === path).map((q) => q.range),
    [undefined, resumeRange(6_000), resumeRange(6_000), undefined],
  )
})

test('giving Range up keeps the bytes on disk until a body replaces them: a gateway down for a moment costs nothing', async () => {
  const { r, out } = await get('/down-502', { retries: 4 })
  assert.equal(r.status, 'ok', r.message)
  assert.ok((await readFile(join(out, r.path!))).equals(gif))
  assert.deepEqual(
    rangesAsked('/down-502'),
    // Two 502s to resumes, a 502 to the plain request too: the gateway was down, not refusing
    // Range, and the bytes kept are resumed once it is up.
    [undefined, resumeRange(6_000), resumeRange(6_000), undefined, resumeRange(6_000)],
  )
})

test('a resume whose redirect now leads to another file is not joined to it: the file is asked for again', async () => {
  const { r, out } = await get('/latest', { retries: 2 })
  assert.equal(r.status, 'ok', r.message)
  assert.ok(
    (await readFile(join(out, r.path!))).equals(two()),
    'the second file, whole, not a splice of both',
  )
  assert.deepEqual(
    requests.filter((q) => q.path.startsWith('/deploy-')).map((q) => `${q.path} ${q.range ?? ''}`.trim()),
    ['/deploy-one', `/deploy-two ${resumeRange(10_000)}`, '/deploy-two'],
  )
})

test('a close-delimited 206 resuming a cut body: the rest joins the bytes on disk (undici 7.30 once died on it)', async () => {
  const { r, out } = await get('/close-framed', { retries: 1 })
  assert.equal(r.status, 'ok', r.message)
  assert.ok((await readFile(join(out, r.path!))).equals(large()))
  assert.deepEqual(rangesAsked('/close-framed'), [undefined, resumeRange(100_000)])
})

// A 206 without a Content-Length (ktor's PartialContent sent none, ktorio/ktor#1995) whose whole
// range came, the connection left open (no close, no last chunk): it waited out --idle-timeout
// (15 s by default, each resume) before it was judged.
test("a resume's 206 without a length is ended as its range's last byte comes, not at the idle timeout", async () => {
  for (const path of ['/range-open-after', '/range-open-chunked']) {
    // No idle timeout in the run's time: a body that waited for one would fail on --total-timeout.
    const { r, out } = await get(path, { retries: 1, idleTimeout: 600_000, totalTimeout: 10_000 })
    assert.equal(r.status, 'ok', `${path}: ${r.message}`)
    assert.ok((await readFile(join(out, r.path!))).equals(gif), path)
    assert.deepEqual(rangesAsked(path), [undefined, resumeRange(6_000)], path)
  }
})

test('a body with no length on a connection the server keeps open: judged at the idle timeout as at a close', async () => {
  for (const path of ['/open-h10', '/open-h11']) {
    const { r, out } = await get(path, { idleTimeout: 300 })
    assert.equal(r.status, 'ok', `${path}: ${r.message}`)
    assert.equal(r.attempts, 1)
    assert.ok((await readFile(join(out, r.path!))).equals(openJpeg()), path)
  }
  // Not whole when the server went quiet: the stall is the failure, as before; not an image: said so.
  const half = await get('/open-half', { idleTimeout: 300, retries: 0 })
  assert.equal(half.r.error, 'timeout', half.r.message)
  const html = await get('/open-html', { idleTimeout: 300, retries: 0 })
  assert.equal(html.r.error, 'not-an-image', html.r.message)
  // A format whose end its bytes may not show, stalled at the same byte on every attempt: a stall
  // is not an end, so the same bytes twice settle nothing (a hung origin behind a proxy).
  const stalled = await get('/open-gif-stall', { idleTimeout: 300, retries: 2 })
  assert.equal(stalled.r.error, 'timeout', stalled.r.message)
  assert.equal(stalled.r.attempts, 3)
})

// a whole image whose last chunk never came, the server keeping the connection open,
// failed as an idle timeout on every attempt and every rerun, where the same bytes and a close
// were kept (curl and aria2c hang or fail on it too; wget2 keeps it, a half one as well).
test('a chunked body whose last chunk never comes, the connection kept open: judged at the idle timeout as at a close', async () => {
  for (const path of ['/open-chunked', '/open-chunked-zero']) {
    const { r, out } = await get(path, { idleTimeout: 300, retries: 0 })
    assert.equal(r.status, 'ok', `${path}: ${r.message}`)
    assert.ok((await readFile(join(out, r.path!))).equals(openJpeg()), path)
  }
  // Not whole when the server went quiet: the stall is the failure, and says where it stopped.
  const half = await get('/open-chunked-half', { idleTimeout: 300, retries: 0 })
  assert.equal(half.r.error, 'timeout', half.r.message)
  assert.match(half.r.message ?? '', /^idle timeout after 300 ms on \S+, after 9000 bytes: /)
})

// a chunked body whose last chunk came, the trailer section's empty line not, was taken
// for one closed before its last chunk: a whole GIF without its trailer, or a bare JPEG XL
// codestream, failed as `truncated` on every attempt and rerun ('closed before the last chunk'),
// or as the idle timeout on a connection kept open. No byte of the body follows the last chunk.
test('a chunked body whose last chunk came without the empty line after it is whole, closed or kept open', async (t) => {
  for (const [name, options] of Object.entries(BODY_PATHS)) {
    await t.test(name, async () => {
      const at = (path: string) => ({
        ...options,
        out: join(dir, `last-chunk-${name.replace(/\W+/g, '-')}${path.replace(/\W+/g, '-')}`),
        idleTimeout: 500,
        retries: 0,
      })
      for (const [path, sent] of [
        ['/gif-last-chunk-close', gif.subarray(0, -1)],
        ['/gif-last-chunk-open', gif.subarray(0, -1)],
        ['/gif-last-chunk-trailer', gif.subarray(0, -1)],
        ['/jxl-last-chunk-close', jxl],
      ] as const) {
        const { r } = await get(path, at(path))
        assert.equal(r.status, 'ok', `${path}: ${r.message}`)
        assert.equal(r.sha256, createHash('sha256').update(sent).digest('hex'), path)
      }
      const { r } = await get('/gif-no-last-chunk', at('/gif-no-last-chunk'))
      assert.equal(r.error, 'truncated', r.message)
      assert.match(
        r.message!,
        /GIF ends without its trailer, and the connection closed before the last chunk/,
      )
    })
  }
})

// Bytes right behind an answer's marked end, before any other request went out, are no answer:
// the framing did not mark where the body ended. A server that sends a zero-length chunk for an
// empty piece its application hands it ends the body there and sends the rest after it
// (puma/puma#743, fukamachi/woo#85, ninenines/cowboy#777). A GIF cut so between its frames was
// kept as a whole one, as was one a Content-Length short of the body cut there.
test('bytes right after a marked end (a zero-length chunk mid-body, a short Content-Length) unmark it: a GIF cut between frames is not kept', async () => {
  const options = { idleTimeout: 500, retries: 0 }
  const mid = await get('/gif-zero-chunk-mid', { ...options, out: join(dir, 'zero-chunk-mid') })
  assert.equal(mid.r.error, 'truncated', mid.r.message)
  assert.match(
    mid.r.message!,
    /GIF ends without its trailer, and bytes came on its connection right after the end its framing marked/,
  )
  // Read past its length once more, as a Content-Length that cuts an image is: the whole GIF.
  const twice = await get('/gif-last-chunk-twice', { ...options, out: join(dir, 'last-chunk-twice') })
  assert.equal(twice.r.status, 'ok', twice.r.message)
  // On a connection kept open, and on one the answer closes (HTTP/1.0), whose bytes after it undici
  // hands back to the socket it ends.
  for (const path of ['/gif-length-short', '/gif-length-short-http10']) {
    const short = await get(path, { ...options, out: join(dir, path.slice(1)) })
    assert.equal(short.r.status, 'ok', `${path}: ${short.r.message}`)
    assert.equal(short.r.sha256, createHash('sha256').update(gif).digest('hex'), path)
  }
})

// A 304 to a request that asked no condition (imgpull sends no If-None-Match nor If-Modified-Since):
// RFC 9110 §15.4.5 allows it only to a conditional request. A cache in stale revalidation sends it
// (caddyserver/cache-handler#137), and the file failed for good on its first attempt.
test('a 304 or 416 to a request that asked no condition or range is retried, and tried again by a rerun; one the request asked for is not', async () => {
  const { r, out } = await get('/unconditional-304', { retries: 2 })
  assert.equal(r.status, 'ok', r.message)
  assert.equal(r.attempts, 2)
  assert.ok((await readFile(join(out, r.path!))).equals(gif))
  const always = await get('/always-304', { retries: 1 })
  assert.equal(always.r.error, 'http-304')
  assert.equal(always.r.attempts, 2)
  assert.match(always.r.message ?? '', /asked no condition/)
  // Asked for with -H If-None-Match: the server's answer to it, not retried.
  const asked = await get('/always-304', {
    retries: 2,
    headers: { 'If-None-Match': '"c2"' },
    out: join(dir, 'asked-304'),
  })
  assert.equal(asked.r.error, 'http-304')
  assert.equal(asked.r.attempts, 1)
  const range = await get('/plain-416', { retries: 2 })
  assert.equal(range.r.status, 'ok', range.r.message)
  assert.equal(range.r.attempts, 2)
})

// A server whose Content-Length is a byte or two more than the file it sends (an embedded server's
// off-by-one, NetMod-ServerApp#146; urllib3#3277; curl: "transfer closed with 1 bytes remaining"):
// every attempt failed as truncated, every rerun too, though the image's structure shows its end.
test('a whole image short of an overstated Content-Length, the same bytes twice: kept; a cut or a possible trailer is not', async () => {
  for (const path of ['/jpeg-over', '/jpeg-over-etag', '/jpeg-over-big']) {
    const { r, out } = await get(path, { retries: 2 })
    assert.equal(r.status, 'ok', `${path}: ${r.message}`)
    assert.equal(r.attempts, 2, path)
    const want = path === '/jpeg-over-big' ? openJpeg() : jpeg
    assert.ok((await readFile(join(out, r.path!))).equals(want), path)
  }
  // Kept open short of its length: the idle timeout, twice at the same byte, is the same end.
  const open = await get('/jpeg-over-open', { retries: 2, idleTimeout: 300 })
  assert.equal(open.r.status, 'ok', open.r.message)
  assert.ok((await readFile(join(open.out, open.r.path!))).equals(jpeg))
  // Once is not enough: a cut can land at the end of an image's structure.
  const once = await get('/jpeg-over', { retries: 0, out: join(dir, 'over-once') })
  assert.equal(once.r.error, 'truncated', once.r.message)
  assert.match(once.r.message ?? '', /connection closed after 1420 of 1421 bytes/)
  for (const path of ['/jpeg-video-over', '/jpeg-cut-over']) {
    const { r } = await get(path, { retries: 3 })
    assert.equal(r.error, 'truncated', `${path}: ${r.message}`)
    assert.equal(r.attempts, 4, path)
  }
})

// The same server under a content coding: the coded stream reached its own end (gzip's trailer,
// its CRC-32 and size checked; Brotli's last block) short of the length, and the same rule holds
// as for plain bytes: kept once a second attempt decodes to the very same whole image.
test('a coded body whose coding ends short of an overstated Content-Length: kept on the same bytes twice, as plain bytes are', async () => {
  // Each file waits out a backoff before its second attempt: all are fetched at once (21 s one
  // after another in CI), each into a folder of its own.
  const paths = ['/jpeg-over-gzip', '/jpeg-over-br', '/jpeg-over-deflate', '/jpeg-over-mislabelled']
  // On transfer threads and into WebDataset shards (the bytes held in memory) alike.
  const bodyPaths = [{ threads: 2 }, { outputFormat: 'webdataset' as const }]
  // Over HTTP/2: the stream ends short of its length (nghttp2 resets it, PROTOCOL_ERROR).
  const h2 = await startH2Server(
    { cert: readFileSync(certs.good.cert), key: readFileSync(certs.good.key) },
    (_req, res) => {
      const coded = gzipSync(jpeg)
      res.writeHead(200, {
        'content-type': 'image/jpeg',
        'content-encoding': 'gzip',
        'content-length': coded.length + 1,
      })
      res.end(coded)
    },
  )
  try {
    const [plain, elsewhere, { r: over }, open, once, cut] = await Promise.all([
      Promise.all(paths.map((path) => get(path, { retries: 2 }))),
      Promise.all(
        bodyPaths.map((options) =>
          get('/jpeg-over-gzip', {
            retries: 2,
            out: join(dir, `over-gzip-${Object.keys(options)[0]}`),
            ...options,
          }),
        ),
      ),
      get('/h2-over-gzip.jpg', {
        retries: 2,
        caCert: certs.ca,
        origin: h2.origin,
        out: join(dir, 'h2-over'),
      }),
      get('/jpeg-over-gzip-open', { retries: 2, idleTimeout: 300 }),
      // Once is not enough, as for plain bytes; and an image cut in its scan stays cut.
      get('/jpeg-over-gzip', { retries: 0, out: join(dir, 'over-gzip-once') }),
      get('/jpeg-cut-over-gzip', { retries: 2 }),
    ])
    for (const [k, { r, out }] of plain.entries()) {
      const path = paths[k]
      assert.equal(r.status, 'ok', `${path}: ${r.message}`)
      assert.equal(r.attempts, 2, path)
      assert.ok((await readFile(join(out, r.path!))).equals(jpeg), path)
    }
    for (const [k, { r }] of elsewhere.entries()) {
      const on = Object.keys(bodyPaths[k]!)[0]
      assert.equal(r.status, 'ok', `${on}: ${r.message}`)
      assert.equal(r.attempts, 2)
      assert.equal(r.sha256, createHash('sha256').update(jpeg).digest('hex'))
    }
    assert.equal(over.status, 'ok', over.message)
    assert.equal(over.attempts, 2)
    assert.equal(over.sha256, createHash('sha256').update(jpeg).digest('hex'))
    assert.equal(open.r.status, 'ok', open.r.message)
    assert.ok((await readFile(join(open.out, open.r.path!))).equals(jpeg))
    assert.equal(once.r.error, 'truncated', once.r.message)
    assert.equal(cut.r.error, 'truncated', cut.r.message)
    assert.equal(cut.r.attempts, 3)
  } finally {
    await h2.close()
  }
})

/**
 * Pulls `paths` one at a time, in order, from a raw server that answers each request with
 * `answer(path)` on the connection it came on (`close`: then closes it), and checks that each file
 * came whole (`expected(path)`) and that each request came on the one before's connection: each
 * answer was framed where it ends. The server is closed after.
 */
async function onOneConnection(
  name: string,
  paths: string[],
  answer: (path: string) => { bytes: Buffer; close?: boolean },
  expected: (path: string) => Buffer,
  options: Partial<Options> = {},
) {
  const place: Record<string, number> = {}
  const keptAlive = await startRawServer((socket) => {
    let served = 0
    socket.on('data', (data) => {
      const path = data.toString('latin1').split(' ')[1]
      place[path] = ++served
      const { bytes, close } = answer(path)
      if (close) socket.end(bytes)
      else socket.write(bytes)
    })
  })
  try {
    const out = join(dir, name)
    const results: Result[] = []
    for await (const r of pull(
      paths.map((p) => keptAlive.origin + p),
      { out, retries: 0, concurrency: 1, ...options },
    ))
      results.push(r)
    for (const path of paths) {
      const r = results.find((r) => r.job.url.endsWith(path))!
      assert.equal(r.status, 'ok', `${path}: ${r.message}`)
      assert.ok((await readFile(join(out, r.path!))).equals(expected(path)), path)
    }
    assert.deepEqual(
      paths.map((p) => place[p]),
      paths.map((_, k) => k + 1),
    )
  } finally {
    await keptAlive.close()
  }
}

/** `bytes` as one chunk, then the last chunk. */
const inOneChunk = (bytes: Buffer) =>
  Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n0\r\n\r\n')])

/** An answer of `lines` (after the status line and Content-Type) and `bytes`. */
const answerOf = (lines: string[], bytes: Buffer) =>
  Buffer.concat([head(['HTTP/1.1 200 OK', 'Content-Type: image/jpeg', ...lines]), bytes])

// RFC 9112 §5.2: a recipient replaces each obs-fold by a space before it reads a value. llhttp read
// no length from `Content-Length:` folded onto the next line (the body read to the idle timeout,
// the connection lost), nor chunked as the last of `gzip,` folded before `chunked` (the chunks'
// framing read as the body, `not-an-image`); wget2 reads both, aria2c the length.
test('a framing header folded over lines is read as one line', async () => {
  const a = makeImage('folded-a', 20_000)
  const b = makeImage('folded-b', 24_000)
  const answers: Record<string, [string[], Buffer]> = {
    '/a-length-folded': [[`Content-Length:\r\n ${a.length}`], a],
    '/b-codings-folded': [['Transfer-Encoding: gzip,\r\n\tchunked'], inOneChunk(gzipSync(b))],
    '/a-chunked-folded': [['Transfer-Encoding:\r\n  chunked', 'X-After: 1'], inOneChunk(a)],
  }
  await onOneConnection(
    'framing-folded',
    Object.keys(answers),
    (path) => ({ bytes: answerOf(...answers[path]) }),
    (path) => (path.startsWith('/b') ? b : a),
    { idleTimeout: 1000 },
  )
})

// RFC 9110 §5.6.1: a recipient ignores an empty element of a list. llhttp took `Transfer-Encoding:
// chunked,` for a last coding that is not chunked, and read the chunks' framing to the close as
// the body (`not-an-image`, every attempt and rerun), where curl and wget2 read it.
test('an empty element in the list of transfer codings is ignored', async () => {
  const a = makeImage('empty-coding-a', 20_000)
  const b = makeImage('empty-coding-b', 24_000)
  const codings: Record<string, string> = {
    '/a-trailing-comma': 'chunked,',
    '/b-empty-between': 'gzip,,chunked',
    '/a-empties-around': ', ,chunked , ,',
  }
  await onOneConnection(
    'empty-codings',
    Object.keys(codings),
    (path) => ({
      bytes: answerOf(
        [`Transfer-Encoding: ${codings[path]}`],
        inOneChunk(path.startsWith('/b') ? gzipSync(b) : a),
      ),
    }),
    (path) => (path.startsWith('/b') ? b : a),
  )
})

// RFC 9110 §5.6.3: a tab around a field's value is white space (OWS), as a space is. llhttp
// refused `Content-Length: 20000\t` ('a Content-Length that is not one number') and took
// `Transfer-Encoding: chunked\t` for a coding it does not know, reading the chunks' framing to the
// close as the body (`not-an-image`), on every attempt and rerun; curl, wget2 and aria2c read both.
test('a tab around the value of a framing header is white space, as a space is', async () => {
  const a = makeImage('tab-a', 20_000)
  const b = makeImage('tab-b', 24_000)
  const body = (path: string) => (path.startsWith('/b') ? b : a)
  const lines: Record<string, (n: number) => string[]> = {
    '/a-length-tab': (n) => [`Content-Length: ${n}\t`],
    '/b-lengths-tabs': (n) => [`Content-Length:\t${n},\t${n}\t`],
    '/a-chunked-tab': () => ['Transfer-Encoding: chunked\t'],
    '/b-codings-tab': () => ['Transfer-Encoding: gzip,\tchunked'],
    '/a-close-tab': (n) => ['Connection: close\t', `Content-Length: ${n}`],
  }
  await onOneConnection(
    'framing-tabs',
    Object.keys(lines),
    (path) => {
      const bytes = body(path)
      const framed = path.includes('codings')
        ? inOneChunk(gzipSync(bytes))
        : path.includes('chunked')
          ? inOneChunk(bytes)
          : bytes
      return { bytes: answerOf(lines[path](bytes.length), framed), close: path.includes('close') }
    },
    body,
  )
})

test('Content-Length lines or a list that agree are read as one, on a kept-alive connection too; ones that differ are refused', async () => {
  // llhttp refused the second line as "Duplicate Content-Length" even when it agreed (nodejs/node#6517,
  // request#2761: a script's header beside its server's), where curl, wget2 and browsers keep
  // the file. RFC 9110 §8.6 lets a recipient take agreeing lines as one.
  const a = makeImage('twice-a', 20_000)
  const b = makeImage('twice-b', 24_000)
  /** Each request's place on its connection: 1 for a new connection's first. */
  const place: Record<string, number> = {}
  const keptAlive = await startRawServer((socket) => {
    socket.setNoDelay(true)
    let served = 0
    socket.on('data', async (data) => {
      const path = data.toString('latin1').split(' ')[1]
      place[path] = ++served
      const body = path.startsWith('/b') ? b : a
      const n = body.length
      const lines: Record<string, string[]> = {
        '/a-twice': [`Content-Length: ${n}`, `Content-Length: ${n}`],
        '/b-thrice': [
          `content-length: ${n}`,
          'X-Between: 1',
          `CONTENT-LENGTH:  ${n} `,
          `Content-Length: 0${n}`,
        ],
        '/a-differ': [`Content-Length: ${n}`, `Content-Length: ${n - 10}`],
        '/b-list': [`Content-Length: ${n},${n} , ${n}`],
        // Empty elements of a list are ignored (RFC 9110 §5.6.1): a list of one length still
        // (refused as 'a list of different lengths', where curl and wget2 keep the file).
        '/a-list-trailing': [`Content-Length: ${n},`],
        '/b-list-empties': [`Content-Length: , ${n},,${n} ,`],
        '/a-list-empties-differ': [`Content-Length: ${n},, ${n - 10}`],
        '/b-list-differ': [`Content-Length: ${n}, ${n - 10}`],
      }
      const whole = head(['HTTP/1.1 200 OK', 'Content-Type: image/jpeg', ...(lines[path] ?? [])])
      // The second name split across two reads: read in pieces, it is whole only in the second.
      const at = whole.indexOf('ength', whole.indexOf('ength') + 1)
      socket.write(whole.subarray(0, at))
      await new Promise((resolve) => setTimeout(resolve, 20))
      socket.write(Buffer.concat([whole.subarray(at), body]))
    })
  })
  try {
    const origin = keptAlive.origin
    const out = join(dir, 'length-twice')
    const results: Result[] = []
    const urls = [
      '/a-twice',
      '/b-thrice',
      '/b-list',
      '/a-list-trailing',
      '/b-list-empties',
      '/a-differ',
      '/b-list-differ',
      '/a-list-empties-differ',
    ].map((p) => `${origin}${p}`)
    for await (const r of pull(urls, { out, retries: 0, concurrency: 1 })) results.push(r)
    const by = (path: string) => results.find((r) => r.job.url.endsWith(path))!
    for (const [path, body] of [
      ['/a-twice', a] as const,
      ['/b-thrice', b] as const,
      ['/b-list', b] as const,
      ['/a-list-trailing', a] as const,
      ['/b-list-empties', b] as const,
    ]) {
      assert.equal(by(path).status, 'ok', `${path}: ${by(path).message}`)
      assert.ok((await readFile(join(out, by(path).path!))).equals(body), path)
    }
    assert.equal(by('/a-differ').error, 'network')
    assert.match(by('/a-differ').message ?? '', /Content-Length headers that give different lengths/)
    assert.equal(by('/b-list-differ').error, 'network')
    assert.match(by('/b-list-differ').message ?? '', /a Content-Length that is a list of different lengths/)
    assert.equal(by('/a-list-empties-differ').error, 'network')
    assert.match(
      by('/a-list-empties-differ').message ?? '',
      /a Content-Length that is a list of different lengths \(`,, 19990`\)/,
    )
    assert.deepEqual((await outputFiles(out)).sort(), [
      'a-list-trailing.jpg',
      'a-twice.jpg',
      'b-list-empties.jpg',
      'b-list.jpg',
      'b-thrice.jpg',
    ])
    // Each answer came on the one before's connection: each was framed right.
    assert.equal(place['/b-thrice'], 2)
    assert.equal(place['/b-list'], 3)
    assert.equal(place['/b-list-empties'], 5)
  } finally {
    await keptAlive.close()
  }
})

// A 2xx other than 200 and 206 (RFC 9110 §15.3): a 203 is the 200 as a transforming proxy changed
// it, and an unknown 2xx is a 200 (§15: a status not known is its class's x00), so both are kept;
// a 207 (WebDAV's XML statuses) was told 'not an image', and a 226 (a delta against a copy the
// client holds, RFC 3229) was saved as the image, though imgpull never asks for one (A-IM).
test('a 203 or an unknown 2xx is kept as a 200 is; a 207 or 208 is its status; a 226 nothing asked for is retried', async () => {
  for (const [path, status] of [
    ['/status-203', 203],
    ['/status-299', 299],
  ] as const) {
    const { r, out } = await get(path, { retries: 0 })
    assert.equal(r.status, 'ok', `${path}: ${r.message}`)
    assert.equal(r.httpStatus, status)
    assert.ok((await readFile(join(out, r.path!))).equals(gif), path)
  }
  const multi = await get('/status-207', { retries: 1 })
  assert.equal(multi.r.error, 'http-207', multi.r.message)
  assert.equal(multi.r.attempts, 1)
  const delta = await get('/status-226', { retries: 1 })
  assert.equal(delta.r.error, 'http-226', delta.r.message)
  assert.equal(delta.r.attempts, 2)
  assert.match(
    delta.r.message ?? '',
    /HTTP 226 from \S+ to a request that asked no instance manipulation \(A-IM\)$/,
  )
})

// A trailer section may carry no field that frames the message or manages its connection (RFC
// 9110 §6.5.1), and a recipient must not merge one into the head (RFC 9112 §7.1.2); a parser that
// applied them is boost/beast#3094. undici added a `Content-Length` trailer to the head's and
// failed the whole body as not matching it ('network', on every attempt), where curl, wget2 and
// aria2c keep the file (Node's `http` refuses it); a `Transfer-Encoding` or `Connection` trailer
// left llhttp refusing the next answer on the kept connection, which failed that file's attempt.
test('fields a trailer may not carry (Content-Length, Transfer-Encoding, Connection), or lines that name no field, change neither the body nor the next answer', async () => {
  const a = makeImage('trailer-a', 20_000)
  const b = makeImage('trailer-b', 24_000)
  const trailers: Record<string, string[]> = {
    '/a-length': ['Content-Length: 5'],
    '/a-coding': ['Transfer-Encoding: gzip'],
    '/a-connection': ['Connection: close', 'Keep-Alive: timeout=0'],
    '/a-plain': ['X-Stream-Error: none'],
    // Lines that name no field, skipped in a head (see mend-head.ts), refused by llhttp here: the
    // body, its last chunk come, failed as `network` on every attempt (xroche/httrack#855 read
    // such a section as a block and threw it away; RFC 9112 §7.1.2).
    '/a-no-colon': ['X-Checksum: 1', 'not a field'],
    '/a-spaced-name': ['X Checksum: abc'],
  }
  const requests: Record<string, number> = {}
  const keptAlive = await startRawServer((socket) => {
    socket.on('data', (data) => {
      const path = data.toString('latin1').split(' ')[1]
      requests[path] = (requests[path] ?? 0) + 1
      if (path.startsWith('/b?')) {
        socket.write(Buffer.concat([head(['HTTP/1.1 200 OK', `Content-Length: ${b.length}`]), b]))
        return
      }
      socket.write(
        Buffer.concat([
          head(['HTTP/1.1 200 OK', 'Content-Type: image/jpeg', 'Transfer-Encoding: chunked']),
          Buffer.from(`${a.length.toString(16)}\r\n`),
          a,
          Buffer.from(`\r\n0\r\n${(trailers[path] ?? []).map((line) => `${line}\r\n`).join('')}\r\n`),
        ]),
      )
    })
  })
  try {
    // On the main thread, and on a transfer thread, whose undici is its own.
    for (const threads of [0, 1])
      for (const path of Object.keys(trailers)) {
        const out = join(dir, `trailer${threads}${path.replace('/', '-')}`)
        const results: Result[] = []
        const urls = [`${keptAlive.origin}${path}`, `${keptAlive.origin}/b?after=${path.slice(1)}-${threads}`]
        for await (const r of pull(urls, { out, retries: 0, concurrency: 1, threads })) results.push(r)
        const [first, second] = urls.map((url) => results.find((r) => r.job.url === url)!)
        assert.equal(first.status, 'ok', `${path}: ${first.message}`)
        assert.ok((await readFile(join(out, first.path!))).equals(a), path)
        assert.equal(second.status, 'ok', `${path}, the next file: ${second.message}`)
        assert.ok((await readFile(join(out, second.path!))).equals(b), path)
        // The next request went out once: on the same connection, or on a new one, never twice.
        assert.equal(requests[`/b?after=${path.slice(1)}-${threads}`], 1, `${path}: the next file's requests`)
      }
  } finally {
    await keptAlive.close()
  }
})
