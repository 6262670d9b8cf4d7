/**
 * Side by side on misbehaving servers: each case is one answer a real server was reported to send
 * (the bug report is named with it), served raw from 127.0.0.1, fetched by imgpull and its peers
 * one URL at a time. Prints, per case and tool, whether the file kept is the server's image
 * (`got`), something else (`WRONG`), or nothing (`-`), and the seconds it took.
 *
 *   npm run build && node --import tsx bench/misbehave.ts [--only ID,ID] [--tools imgpull,curl]
 */
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib'
import sharp from 'sharp'
import { launchBrowser } from '../test/support/browser.js'
import { eachRequest } from '../test/support/raw-server.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** What a case sends back to a request (raw bytes on the socket, the test's to close or hold). */
type Respond = (socket: Socket, path: string, headers: string) => void

interface Case {
  id: string
  /** The bug report this server is modelled on. */
  report: string
  /** The path's last segment (its extension matters to some tools). */
  file: string
  respond: Respond
  /** The bytes a good client keeps; `undefined`: none (no image was sent). */
  expect: Buffer | undefined
  /** Other bytes a good client may keep as well (the image without bytes after its end). */
  alsoGood?: Buffer
  /**
   * A resume: each tool is run with its resume flag (`curl -C -`, `wget2 -c`, `aria2c -c`), and
   * run again in the same folder when the first run failed, as a user would.
   */
  resume?: boolean
  /** `user:password` put in the URL asked for. */
  userinfo?: string
}

export const noise = (w: number, h: number) =>
  sharp(Buffer.from(Array.from({ length: w * h * 3 }, (_, i) => (i * 2654435761) >>> 24)), {
    raw: { width: w, height: h, channels: 3 },
  })

const head = (status: string, fields: string[]) => `HTTP/1.1 ${status}\r\n${fields.join('\r\n')}\r\n\r\n`
/** A head and the bytes after it. */
const answer = (status: string, fields: string[], body: Buffer) =>
  Buffer.concat([Buffer.from(head(status, fields)), body])
/** A 200 of `body`, its length stated. */
const ok = (body: Buffer, type: string, extra: string[] = []) =>
  answer('200 OK', [`Content-Type: ${type}`, `Content-Length: ${body.length}`, ...extra], body)

async function cases(): Promise<Case[]> {
  const jpg = await noise(160, 120).jpeg({ quality: 80 }).toBuffer()
  const progressive = await noise(160, 120).jpeg({ quality: 80, progressive: true }).toBuffer()
  const png = await noise(120, 90).png().toBuffer()
  const gif = await noise(80, 60).gif().toBuffer()
  const webp = await noise(120, 90).webp({ quality: 80 }).toBuffer()
  /** The offset of the last SOS marker of a progressive JPEG: a cut at a scan boundary. */
  const lastScan = progressive.lastIndexOf(Buffer.from([0xff, 0xda]))
  const cutProgressive = progressive.subarray(0, lastScan)
  const pngNoIend = png.subarray(0, png.length - 12)
  const gifNoTrailer = gif.subarray(0, gif.length - 1)
  const webpPlusOne = Buffer.from(webp)
  webpPlusOne.writeUInt32LE(webp.readUInt32LE(4) + 1, 4)
  const riff = (delta: number, set?: number) => {
    const b = Buffer.from(webp)
    b.writeUInt32LE(set ?? webp.readUInt32LE(4) + delta, 4)
    return b
  }
  const webpExtraByte = Buffer.concat([webp, Buffer.from([0])])
  const avif = await noise(120, 90).avif({ quality: 50 }).toBuffer()
  const svgBom = Buffer.from(
    '\ufeff<?xml version="1.0" encoding="utf-8" standalone="no"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect width="40" height="30" fill="red"/></svg>\n',
  )
  // A camera's trailer after EOI (Samsung writes its own records there, ending in SEFT).
  const jpgTrailer = Buffer.concat([
    jpg,
    Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 7919) & 0xff)),
    Buffer.from('SEFT'),
  ])
  const pngAfter = Buffer.concat([png, Buffer.from('\0\0\0\0extra bytes a tool appended after IEND')])
  const frame = (seed: number) =>
    sharp(Buffer.from(Array.from({ length: 80 * 60 * 3 }, (_, i) => ((i + seed) * 2654435761) >>> 24)), {
      raw: { width: 80, height: 60, channels: 3 },
    })
      .png()
      .toBuffer()
  const anim = await sharp([await frame(1), await frame(2), await frame(3)], { join: { animated: true } })
    .gif()
    .toBuffer()
  const animCut = anim.subarray(0, anim.length - 300)
  // HEIC and JPEG XL, which sharp's own build does not write, from Debian's encoders when present.
  const encoded = async (tool: string, args: (src: string, dst: string) => string[], ext: string) => {
    const dir = await mkdtemp(join(tmpdir(), 'misbehave-enc-'))
    const src = join(dir, 'in.png')
    await noise(64, 48).png().toFile(src)
    const dst = join(dir, `out.${ext}`)
    const ran = spawnSync(tool, args(src, dst), { stdio: 'ignore' })
    const bytes = ran.status === 0 ? await readFile(dst).catch(() => undefined) : undefined
    await rm(dir, { recursive: true, force: true })
    return bytes
  }
  const heic = await encoded('heif-enc', (src, dst) => ['-q', '60', src, '-o', dst], 'heic')
  const jxl = await encoded('cjxl', (src, dst) => [src, dst, '-d', '1', '--quiet'], 'jxl')
  /** A chunked body of `body` in 1000-byte chunks, each size line written by `size`. */
  const chunked = (body: Buffer, size: (n: number, i: number) => string, last: string) => {
    const parts: Buffer[] = []
    for (let at = 0, i = 0; at < body.length; at += 1000, i++) {
      const piece = body.subarray(at, at + 1000)
      parts.push(Buffer.from(`${size(piece.length, i)}\r\n`), piece, Buffer.from('\r\n'))
    }
    parts.push(Buffer.from(`${last}\r\n\r\n`))
    return Buffer.concat(parts)
  }
  /** Requests so far for this path by this tool (the first segment names the tool). */
  const counts = new Map<string, number>()
  const attempt = (path: string) => {
    const key = path.split('?')[0]!
    const n = (counts.get(key) ?? 0) + 1
    counts.set(key, n)
    return n
  }
  /** A 503 naming `retryAfter` to each tool's first request, the JPEG to the next. */
  const unavailableOnce =
    (retryAfter: string): Respond =>
    (s, path) =>
      s.end(
        attempt(path) === 1
          ? head('503 Service Unavailable', [`Retry-After: ${retryAfter}`, 'Content-Length: 0'])
          : ok(jpg, J),
      )
  const send =
    (bytes: Buffer, close = true): Respond =>
    (s) => {
      s.write(bytes)
      if (close) s.end()
    }
  const J = 'image/jpeg'
  /** A 206 of the whole file to a plain GET, its Content-Range's unit spelt `unit`. */
  const whole206 = (unit: string) =>
    answer(
      '206 Partial Content',
      [
        `Content-Type: ${J}`,
        `Content-Length: ${jpg.length}`,
        `Content-Range: ${unit} 0-${jpg.length - 1}/${jpg.length}`,
      ],
      jpg,
    )
  const list: Case[] = [
    {
      id: 'body-twice',
      report: 'a handler that writes the file twice (no bug report found: a made-up case)',
      file: 'twice.jpg',
      respond: send(ok(Buffer.concat([jpg, jpg]), J)),
      expect: jpg,
    },
    {
      id: 'jpeg-as-png',
      report: 'mikf/gallery-dl#63: nhentai serves JPEGs as .png with Content-Type: image/png',
      file: 'photo.png',
      respond: send(ok(jpg, 'image/png')),
      expect: jpg,
    },
    {
      id: 'utf8-bom',
      report:
        'billfeller/billfeller.github.io#177: a PHP file saved with a BOM prints EF BB BF before the image',
      file: 'bom.php',
      respond: send(ok(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), jpg]), J)),
      expect: jpg,
    },
    {
      id: 'php-warning-after',
      report: 'MonstaApps/Monsta-FTP#65: a PHP page appends its HTML after the file',
      file: 'after.php',
      respond: send(
        ok(
          Buffer.concat([
            jpg,
            Buffer.from(
              '<br />\n<b>Warning</b>:  Cannot modify header information in x.php on line 3<br />\n',
            ),
          ]),
          J,
        ),
      ),
      expect: jpg,
    },
    {
      id: 'length-over-held',
      report: 'seanmonstar/reqwest#1646: Content-Length larger than the body, connection left open',
      file: 'held.jpg',
      respond: (s) =>
        s.write(answer('200 OK', [`Content-Type: ${J}`, `Content-Length: ${jpg.length + 100}`], jpg)),
      expect: jpg,
    },
    {
      id: 'ce-identity',
      report: 'curl/curl#22541 (identity coding token); servers sending Content-Encoding: identity',
      file: 'ceid.jpg',
      respond: send(ok(jpg, J, ['Content-Encoding: identity'])),
      expect: jpg,
    },
    {
      id: 'ct-charset',
      report: 'http-party/http-server#296: image/jpeg; charset=utf-8',
      file: 'charset.jpg',
      respond: send(ok(jpg, 'image/jpeg; charset=utf-8')),
      expect: jpg,
    },
    {
      id: '304-unasked',
      report: 'mdn/content#30430: a 304 to a GET that asked no condition',
      file: 'nm.jpg',
      respond: send(Buffer.from(head('304 Not Modified', ['ETag: "x"', 'Content-Length: 0']))),
      expect: undefined,
    },
    {
      id: '204',
      report: 'web-platform-tests/wpt#5227: a 204 No Content in place of the image',
      file: 'nc.jpg',
      respond: send(Buffer.from(head('204 No Content', []))),
      expect: undefined,
    },
    {
      id: 'empty-200',
      report: 'Quan666/ELF_RSS#170: a 200 with Content-Length: 0 in place of an image',
      file: 'empty.jpg',
      respond: send(Buffer.from(head('200 OK', [`Content-Type: ${J}`, 'Content-Length: 0']))),
      expect: undefined,
    },
    {
      id: '206-whole-unasked',
      report: 'uphold/koa-pagination#15: 206 to a request without Range, all of the file',
      file: 'p206.jpg',
      respond: send(whole206('bytes')),
      expect: jpg,
    },
    {
      id: 'redirect-20',
      report: 'a chain of 20 redirects that ends in the image (the limit browsers, wget and aria2 use)',
      file: 'r20.jpg',
      respond: (s, path) => {
        const n = Number(/hop=(\d+)/.exec(path)?.[1] ?? 0)
        if (n >= 20) return send(ok(jpg, J))(s, path, '')
        s.end(
          head('302 Found', [`Location: /r20.jpg?hop=${n + 1}`, 'Content-Length: 0', 'Connection: close']),
        )
      },
      expect: jpg,
    },
    {
      id: 'te-identity',
      report: 'hyperium/hyper#2058: Transfer-Encoding: identity with the body as it is',
      file: 'teid.jpg',
      respond: send(
        answer('200 OK', [`Content-Type: ${J}`, 'Transfer-Encoding: identity', 'Connection: close'], jpg),
      ),
      expect: jpg,
    },
    {
      id: 'obs-fold',
      report: 'ruby/net-http#348, urllib3/urllib3#1362: a folded header line (obs-fold)',
      file: 'fold.jpg',
      respond: send(
        Buffer.concat([
          Buffer.from(
            `HTTP/1.1 200 OK\r\nContent-Type: ${J}\r\nX-Powered-By: PHP/5.2\r\n  Apache\r\nContent-Length: ${jpg.length}\r\n\r\n`,
          ),
          jpg,
        ]),
      ),
      expect: jpg,
    },
    {
      id: 'header-nul',
      report: 'curl/curl#8601: a NUL in a header value (curl refuses it since)',
      file: 'nul.jpg',
      respond: send(ok(jpg, J, ['Set-Cookie: a=b\x00c; Path=/'])),
      expect: jpg,
    },
    {
      id: 'header-bare-cr',
      report: 'curl/curl#21882: a bare CR inside a header value',
      file: 'cr.jpg',
      respond: send(ok(jpg, J, ['X-Note: one\rtwo'])),
      expect: jpg,
    },
    {
      id: 'two-answers',
      report: 'xrootd/xrootd#2362, yhirose/cpp-httplib#748: two responses to one request',
      file: 'two.jpg',
      respond: send(Buffer.concat([ok(jpg, J), ok(Buffer.from('<html>oops</html>'), 'text/html')])),
      expect: jpg,
    },
    {
      id: 'cookie-64k',
      report: 'a 64 KB Set-Cookie header',
      file: 'bigcookie.jpg',
      respond: send(ok(jpg, J, [`Set-Cookie: big=${'x'.repeat(65_536)}`])),
      expect: jpg,
    },
    {
      id: 'webp-riff-plus1',
      report: 'yocreoquesi/nukebg#189: a WebP whose RIFF size is one byte over its length',
      file: 'plus.webp',
      respond: send(ok(webpPlusOne, 'image/webp')),
      expect: webpPlusOne,
    },
    ...(
      [
        ['webp-riff-plus2', riff(2)],
        ['webp-riff-plus100', riff(100)],
        ['webp-riff-zero', riff(0, 0)],
        ['webp-riff-minus2', riff(-2)],
        ['webp-riff-max', riff(0, 0xfffffff6)],
      ] as const
    ).map(([id, bytes]) => ({
      id,
      report: 'yocreoquesi/nukebg#189: a WebP whose RIFF size is not its length (0 from some encoders)',
      file: `${id}.webp`,
      respond: send(ok(bytes, 'image/webp')),
      expect: bytes,
    })),
    {
      id: 'webp-pad-byte',
      report: 'a WebP with one byte past its RIFF size (odd padding written twice)',
      file: 'pad.webp',
      respond: send(ok(webpExtraByte, 'image/webp')),
      expect: webpExtraByte,
    },
    {
      id: 'progressive-cut',
      report: 'a progressive JPEG stored cut at a scan boundary (looks whole in a browser)',
      file: 'prog.jpg',
      respond: send(ok(cutProgressive, J)),
      expect: undefined,
    },
    {
      id: 'png-no-iend',
      report: 'a PNG whose writer left out IEND (browsers show it)',
      file: 'noiend.png',
      respond: send(ok(pngNoIend, 'image/png')),
      expect: pngNoIend,
    },
    {
      id: 'gif-no-trailer',
      report: 'WebKit/WebKit#1678, image-rs/image-gif#237: a GIF without its trailer byte',
      file: 'notrailer.gif',
      respond: send(ok(gifNoTrailer, 'image/gif')),
      expect: gifNoTrailer,
    },
    {
      id: 'cl-duplicate-same',
      report: 'boostorg/beast#1880: Content-Length: N, N (RFC 9110 §8.6), which browsers take',
      file: 'dupcl.jpg',
      respond: send(
        answer('200 OK', [`Content-Type: ${J}`, `Content-Length: ${jpg.length}, ${jpg.length}`], jpg),
      ),
      expect: jpg,
    },
    {
      id: 'cl-twice-same',
      report: 'dart-lang/sdk#45679, nodejs/node#6517: two equal Content-Length lines (an ESP8266 server)',
      file: 'dupcl2.jpg',
      respond: send(
        answer(
          '200 OK',
          [`Content-Type: ${J}`, `Content-Length: ${jpg.length}`, `Content-Length: ${jpg.length}`],
          jpg,
        ),
      ),
      expect: jpg,
    },
    {
      id: 'chunked-no-last',
      report:
        'netty/netty#1861, jetty/jetty.project#805: a chunked body whose last chunk never comes, then a close',
      file: 'nolast.jpg',
      respond: send(
        answer(
          '200 OK',
          [`Content-Type: ${J}`, 'Transfer-Encoding: chunked'],
          Buffer.concat([Buffer.from(`${jpg.length.toString(16)}\r\n`), jpg, Buffer.from('\r\n')]),
        ),
      ),
      expect: jpg,
    },
    {
      id: 'length-over-closed',
      report:
        'urllib3/urllib3#3277, NetMod-ServerApp#146: Content-Length a few bytes over the body, then a close',
      file: 'overclosed.jpg',
      respond: send(answer('200 OK', [`Content-Type: ${J}`, `Content-Length: ${jpg.length + 2}`], jpg)),
      expect: jpg,
    },
    {
      id: 'length-under',
      report: 'MonstaApps/Monsta-FTP#65: Content-Length short of the body sent (the length of another file)',
      file: 'under.jpg',
      respond: send(
        answer(
          '200 OK',
          [`Content-Type: ${J}`, `Content-Length: ${jpg.length - 500}`, 'Connection: close'],
          jpg,
        ),
      ),
      expect: jpg,
    },
    {
      id: 'headers-in-body',
      report: 'a CGI script that prints its own head into the body (nph confusion)',
      file: 'cgi.jpg',
      respond: send(ok(Buffer.concat([Buffer.from('Content-Type: image/jpeg\r\n\r\n'), jpg]), J)),
      expect: undefined,
    },
    {
      id: 'range-unit-caps',
      report:
        'a 206 to a plain GET with Content-Range: Bytes 0-N/N (the unit is case-insensitive, RFC 9110 §14.1)',
      file: 'caps.jpg',
      respond: send(whole206('Bytes')),
      expect: jpg,
    },
    {
      id: 'ce-utf8',
      report: 'Content-Encoding: UTF-8 (a charset where a coding belongs)',
      file: 'ceutf8.jpg',
      respond: send(ok(jpg, J, ['Content-Encoding: UTF-8'])),
      expect: jpg,
    },
    {
      id: 'nul-padding',
      report: 'bitbank2/AnimatedGIF#38: an image followed by NULs to a page size',
      file: 'padded.jpg',
      respond: send(ok(Buffer.concat([jpg, Buffer.alloc(4096 - (jpg.length % 4096))]), J)),
      expect: Buffer.concat([jpg, Buffer.alloc(4096 - (jpg.length % 4096))]),
    },
    {
      id: 'webp-riff-over-close',
      report: 'yocreoquesi/nukebg#189: a WebP whose RIFF size is over its length, read to a close',
      file: 'overclose.webp',
      respond: send(answer('200 OK', ['Content-Type: image/webp', 'Connection: close'], webpPlusOne)),
      expect: webpPlusOne,
    },
    {
      id: 'base64-body',
      report:
        'maciejtreder/serverless-apigw-binary#33, aws/aws-lambda-rust-runtime#667: API Gateway sends the image as base64 text',
      file: 'b64.jpg',
      respond: send(ok(Buffer.from(jpg.toString('base64')), J)),
      expect: undefined,
    },
    {
      id: 'data-uri-body',
      report: 'a body that is a data: URI of the image (an API returning what an <img src> takes)',
      file: 'datauri.jpg',
      respond: send(ok(Buffer.from(`data:image/jpeg;base64,${jpg.toString('base64')}`), 'text/plain')),
      expect: undefined,
    },
    {
      id: 'space-before-colon',
      report: 'seanmonstar/httparse#88: a header name with a space before its colon (Content-Length : N)',
      file: 'sp.jpg',
      respond: send(
        answer('200 OK', [`Content-Type: ${J}`, `Content-Length : ${jpg.length}`, 'Connection: close'], jpg),
      ),
      expect: jpg,
    },

    // Families added later: interim answers, framing by the close, names, status codes, Retry-After,
    // error bodies that are images, chunk syntax, and images whose format or trailing bytes surprise.
    {
      id: '1xx-103-link',
      report:
        'openjdk/jdk#10169 (HttpClient did not handle 102 or 103): a 103 Early Hints with Link headers before the 200',
      file: 'hints.jpg',
      respond: send(
        Buffer.concat([
          Buffer.from(
            head('103 Early Hints', [
              'Link: </style.css>; rel=preload; as=style',
              'Link: <https://cdn.example>; rel=preconnect',
            ]),
          ),
          ok(jpg, J),
        ]),
      ),
      expect: jpg,
    },
    {
      id: '1xx-several',
      report:
        'square/okhttp#8569 (several 1xx before the final answer), aio-libs/aiohttp#2926 (102 hung the client): 100, 102, 103, 103, then the 200',
      file: 'several.jpg',
      respond: send(
        Buffer.concat([
          Buffer.from(head('100 Continue', [])),
          Buffer.from(head('102 Processing', [])),
          Buffer.from(head('103 Early Hints', ['Link: </a.css>; rel=preload; as=style'])),
          Buffer.from(head('103 Early Hints', ['Link: </b.js>; rel=preload; as=script'])),
          ok(jpg, J),
        ]),
      ),
      expect: jpg,
    },
    {
      id: '1xx-http10',
      report:
        'yhirose/cpp-httplib#661 (a 100 before the answer): an HTTP/1.0 100 Continue, then the 200 (a proxy chain speaking both)',
      file: 'h10continue.jpg',
      respond: send(Buffer.concat([Buffer.from('HTTP/1.0 100 Continue\r\n\r\n'), ok(jpg, J)])),
      expect: jpg,
    },
    {
      id: '1xx-close',
      report:
        "igrigorik/em-http-request#74: IIS writes the final answer's headers into its 100 Continue, Connection: close among them",
      file: 'closecontinue.jpg',
      respond: send(
        Buffer.concat([
          Buffer.from(head('100 Continue', ['Server: Microsoft-IIS/5.0', 'Connection: close'])),
          ok(jpg, J),
        ]),
      ),
      expect: jpg,
    },
    {
      id: '1xx-102-slow',
      report:
        'postmanlabs/postman-app-support#8076 (waited for ever after a 102): 102 Processing every 0.5 s, the 200 after 2 s',
      file: 'slow102.jpg',
      respond: (s) => {
        let n = 0
        const tick = setInterval(() => {
          if (s.destroyed) return clearInterval(tick)
          if (n++ < 4) s.write(head('102 Processing', []))
          else {
            clearInterval(tick)
            s.end(ok(jpg, J))
          }
        }, 500)
      },
      expect: jpg,
    },
    {
      id: 'http10-close-whole',
      report:
        'RFC 9112 §6.3 (7): an HTTP/1.0 answer without a length, its body ended by the close (embedded servers)',
      file: 'h10.jpg',
      respond: send(Buffer.concat([Buffer.from(`HTTP/1.0 200 OK\r\nContent-Type: ${J}\r\n\r\n`), jpg])),
      expect: jpg,
    },
    {
      id: 'http10-close-cut',
      report:
        'eclipse-ee4j/jersey#5512, jetty/jetty.project#805 (only the content shows a close-delimited body whole): an HTTP/1.0 answer without a length, closed halfway through the image',
      file: 'h10cut.jpg',
      respond: send(
        Buffer.concat([
          Buffer.from(`HTTP/1.0 200 OK\r\nContent-Type: ${J}\r\n\r\n`),
          jpg.subarray(0, jpg.length >> 1),
        ]),
      ),
      expect: undefined,
    },
    {
      id: 'close-cut',
      report:
        'psf/requests#4956 (a short body read as whole): Content-Length and Connection: close, the body cut at half',
      file: 'closecut.jpg',
      respond: send(
        answer(
          '200 OK',
          [`Content-Type: ${J}`, `Content-Length: ${jpg.length}`, 'Connection: close'],
          jpg.subarray(0, jpg.length >> 1),
        ),
      ),
      expect: undefined,
    },
    {
      id: 'disposition-other-name',
      report:
        'gyng/save-in#3 (500px names the file in Content-Disposition): a PHP URL whose Content-Disposition says photo.png for a JPEG',
      file: 'get.php',
      respond: send(ok(jpg, J, ['Content-Disposition: attachment; filename="photo.png"'])),
      expect: jpg,
    },
    {
      id: '412-unasked',
      report: 'lingochamp/okdownload#66 (Microsoft-HTTPAPI answered a GET 412): 412 to a plain GET',
      file: 'pf.jpg',
      respond: send(Buffer.from(head('412 Precondition Failed', ['Content-Length: 0']))),
      expect: undefined,
    },
    {
      id: '200-content-range',
      report:
        'ecmwf/open-ecpds#2, measurement-factory/squid#7: a 200 of the whole file that carries Content-Range: bytes 0-N/N',
      file: 'cr200.jpg',
      respond: send(ok(jpg, J, [`Content-Range: bytes 0-${jpg.length - 1}/${jpg.length}`])),
      expect: jpg,
    },
    {
      id: '416-first',
      report: 'owncloud/client#2280 (a 416 not handled): 416 with Content-Range: bytes */N to a plain GET',
      file: 'rns.jpg',
      respond: send(
        Buffer.from(
          head('416 Range Not Satisfiable', [`Content-Range: bytes */${jpg.length}`, 'Content-Length: 0']),
        ),
      ),
      expect: undefined,
    },
    {
      id: '503-ra-past',
      report:
        'curl/curl#15833, will-ockmore/httpx-retries#13: a 503 whose Retry-After is a date in the past, then the image',
      file: 'rapast.jpg',
      respond: unavailableOnce('Wed, 21 Oct 2015 07:28:00 GMT'),
      expect: jpg,
    },
    {
      id: '503-ra-junk',
      report:
        'AstroVela/vane#170 (Retry-After read as a number only): a 503 with Retry-After: 120s, then the image',
      file: 'rajunk.jpg',
      respond: unavailableOnce('120s'),
      expect: jpg,
    },
    {
      id: '503-ra-far',
      report: 'curl/curl#15833: a 503 whose Retry-After is a date a year ahead, every time',
      file: 'rafar.jpg',
      respond: (s) =>
        s.end(
          head('503 Service Unavailable', [
            `Retry-After: ${new Date(Date.now() + 365 * 86_400_000).toUTCString()}`,
            'Content-Length: 0',
          ]),
        ),
      expect: undefined,
    },
    {
      id: '503-image-body',
      report: 'a CDN maintenance answer: 503 Service Unavailable whose body is a JPEG ("back soon")',
      file: 'maint.jpg',
      respond: send(
        answer('503 Service Unavailable', [`Content-Type: ${J}`, `Content-Length: ${jpg.length}`], jpg),
      ),
      expect: undefined,
    },
    {
      id: '404-placeholder',
      report:
        'SDWebImage/SDWebImage#79, DMarby/unsplash-downloader#10: a 404 whose body is an "image not found" PNG',
      file: 'gone.png',
      respond: send(
        answer('404 Not Found', ['Content-Type: image/png', `Content-Length: ${png.length}`], png),
      ),
      expect: undefined,
    },
    {
      id: 'chunk-ext',
      report:
        'haxetink/tink_http#146, hyperium/hyper#228: chunk sizes followed by extensions (;name=value, quoted)',
      file: 'chext.jpg',
      respond: send(
        answer(
          '200 OK',
          [`Content-Type: ${J}`, 'Transfer-Encoding: chunked'],
          chunked(jpg, (n, i) => `${n.toString(16)};part=${i};note="a b"`, '0;done'),
        ),
      ),
      expect: jpg,
    },
    {
      id: 'chunk-zeros-upper',
      report:
        'reactphp/http-client#77 (Wizz Air: upper-case sizes, last chunk 00000000), reactphp/http#135: leading zeros',
      file: 'chzero.jpg',
      respond: send(
        answer(
          '200 OK',
          [`Content-Type: ${J}`, 'Transfer-Encoding: chunked'],
          chunked(jpg, (n) => n.toString(16).toUpperCase().padStart(8, '0'), '00000000'),
        ),
      ),
      expect: jpg,
    },
    {
      id: 'avif-as-jpeg',
      report: 'manga-download/haruneko#95: AVIF pictures served and named as JPEG',
      file: 'pic.jpg',
      respond: send(ok(avif, J)),
      expect: avif,
    },
    ...(heic
      ? [
          {
            id: 'heic-as-jpeg',
            report:
              'manga-download/haruneko#95, Chocobozzz/PeerTube#6955: an iPhone HEIC served and named as JPEG',
            file: 'iphone.jpg',
            respond: send(ok(heic, J)),
            expect: heic,
          },
          {
            id: 'heic-cut',
            report: 'a HEIC whose copy on the server is cut (its length stated as the cut size)',
            file: 'cut.heic',
            respond: send(ok(heic.subarray(0, heic.length - 400), 'image/heic')),
            expect: undefined,
          },
        ]
      : []),
    ...(jxl
      ? [
          {
            id: 'jxl-as-jpeg',
            report: 'manga-download/haruneko#95: a JPEG XL served and named as JPEG',
            file: 'xl.jpg',
            respond: send(ok(jxl, J)),
            expect: jxl,
          },
          {
            id: 'jxl-cut',
            report:
              'a JPEG XL codestream whose copy on the server is cut (its length stated as the cut size)',
            file: 'cut.jxl',
            respond: send(ok(jxl.subarray(0, jxl.length - 300), 'image/jxl')),
            expect: undefined,
          },
        ]
      : []),
    {
      id: 'svg-bom-prolog',
      report:
        'siyuan-note/siyuan#19762, sdsykes/fastimage#126: an SVG with a UTF-8 BOM before its XML prolog',
      file: 'bom.svg',
      respond: send(ok(svgBom, 'image/svg+xml')),
      expect: svgBom,
      alsoGood: svgBom.subarray(3),
    },
    {
      id: 'jpeg-camera-trailer',
      report:
        'libjpeg-turbo/libjpeg-turbo#163 (Samsung trailer after the image), digital-preservation/pronom-research-week#13: binary bytes after EOI',
      file: 'motion.jpg',
      respond: send(ok(jpgTrailer, J)),
      expect: jpgTrailer,
      alsoGood: jpg,
    },
    {
      id: 'png-after-iend',
      report:
        'digital-preservation/pronom-research-week#13 (padding after the end): a PNG with bytes after IEND',
      file: 'after.png',
      respond: send(ok(pngAfter, 'image/png')),
      expect: pngAfter,
      alsoGood: png,
    },
    {
      id: 'gif-anim-last-cut',
      report:
        'WebKit/WebKit#1678: an animated GIF of 3 frames whose last frame is cut (its length stated as sent)',
      file: 'anim.gif',
      respond: send(ok(animCut, 'image/gif')),
      expect: undefined,
    },
  ]
  return [
    ...list,
    ...(await resumeCases(jpg, attempt)),
    ...(await encodingCases(jpg, attempt)),
    ...redirectFamily(jpg, png),
    ...(await cdnFamily(jpg, png, webp, avif, attempt)),
  ]
}

/** The `Range: bytes=A-` and `If-Range` of a request (`from` undefined: no range asked). */
const askedOf = (request: string) => {
  const range = /^range:\s*bytes=(\d+)-/im.exec(request)
  return {
    from: range ? Number(range[1]) : undefined,
    ifRange: /^if-range:\s*(.*)$/im.exec(request)?.[1]?.trim(),
  }
}

/** One version of a file as a server names it: its bytes and the validator fields it sends. */
interface Version {
  body: Buffer
  fields: string[]
}

const JPEG = 'image/jpeg'
const whole = (v: Version, extra: string[] = []) => ok(v.body, JPEG, [...v.fields, ...extra])
/** A `206` of `v` from byte `from` to its end, its `Content-Range` saying `range` (default: the truth). */
const partOf = (v: Version, from: number, range = `bytes ${from}-${v.body.length - 1}/${v.body.length}`) =>
  answer(
    '206 Partial Content',
    [
      `Content-Type: ${JPEG}`,
      `Content-Length: ${v.body.length - from}`,
      `Content-Range: ${range}`,
      ...v.fields,
    ],
    v.body.subarray(from),
  )
/** The head of a `200` of `v`, its full length stated, and its first half; then the connection closes. */
const cutWhole = (s: Socket, v: Version, extra: string[] = []) =>
  s.end(
    Buffer.concat([
      Buffer.from(
        head('200 OK', [`Content-Type: ${JPEG}`, `Content-Length: ${v.body.length}`, ...v.fields, ...extra]),
      ),
      v.body.subarray(0, v.body.length >> 1),
    ]),
  )

/** `jpg` made `size` bytes long by a comment segment after its SOI (a JPEG that decodes the same). */
const padJpeg = (jpg: Buffer, size: number) => {
  const room = size - jpg.length
  if (room < 4) throw new Error(`padJpeg: ${room} bytes of room`)
  const com = Buffer.alloc(room, 0x20)
  com[0] = 0xff
  com[1] = 0xfe
  com.writeUInt16BE(room - 2, 2)
  return Buffer.concat([jpg.subarray(0, 2), com, jpg.subarray(2)])
}

/**
 * Resume cases: each tool's first request gets a `200` cut at half its stated length (the bytes
 * kept: curl's and wget2's output, aria2c's file and .aria2, imgpull's part file), and what the
 * server does with the resume that follows is the case.
 */
async function resumeCases(jpg: Buffer, attempt: (path: string) => number): Promise<Case[]> {
  const other = await noise(150, 110).jpeg({ quality: 85 }).toBuffer()
  const size = Math.max(jpg.length, other.length) + 64
  // Two versions of one file at one length: only the bytes tell them apart.
  const v1 = padJpeg(jpg, size)
  const v2 = padJpeg(other, size)
  const now = new Date().toUTCString()
  const dayAgo = new Date(Date.now() - 86_400_000).toUTCString()
  const dated = [`Date: ${now}`, `Last-Modified: ${dayAgo}`]
  /** A resume case: `later` answers the tool's requests after its first, which is cut. */
  const resumeCase = (
    c: Omit<Case, 'respond' | 'resume'> & {
      first: Version
      later: (s: Socket, from: number | undefined, ifRange: string | undefined, n: number) => void
    },
  ): Case => ({
    id: c.id,
    report: c.report,
    file: c.file,
    expect: c.expect,
    alsoGood: c.alsoGood,
    resume: true,
    respond: (s, path, request) => {
      const n = attempt(path)
      const { from, ifRange } = askedOf(request)
      if (n === 1) cutWhole(s, c.first)
      else c.later(s, from, ifRange, n)
    },
  })
  const same: Version = { body: jpg, fields: ['ETag: "same-1"', ...dated] }
  /** A case whose later answers are `ranged` to a range and the whole file to a plain request. */
  /** `cutEvery`: every whole answer is cut, as the first is (a link that cuts long transfers): only a resume finishes the file. */
  const plainResume = (
    id: string,
    report: string,
    ranged: (from: number, n: number) => Buffer,
    cutEvery = false,
  ) =>
    resumeCase({
      id,
      report,
      file: `${id}.jpg`,
      expect: jpg,
      first: same,
      later: (s, from, _ifRange, n) =>
        from !== undefined ? s.end(ranged(from, n)) : cutEvery ? cutWhole(s, same) : s.end(whole(same)),
    })
  const L = jpg.length
  const boundary = 'THIS_STRING_SEPARATES'
  const out: Case[] = [
    resumeCase({
      id: 'resume-if-range-ignored',
      report:
        'BitMiracle-AI/Dormice#86, oven-sh/bun#33548: the file replaced, If-Range not read, a 206 of the new version',
      file: 'replaced.jpg',
      expect: v2,
      first: { body: v1, fields: ['ETag: "v1"', ...dated] },
      later: (s, from) => {
        const now2: Version = {
          body: v2,
          fields: [
            'ETag: "v2"',
            `Date: ${now}`,
            `Last-Modified: ${new Date(Date.now() - 3_600_000).toUTCString()}`,
          ],
        }
        s.end(from === undefined ? whole(now2) : partOf(now2, from))
      },
    }),
    resumeCase({
      id: 'resume-weak-etag',
      report:
        '781flyingdutchman/background_downloader#562 (resuming on weak ETags), RFC 9110 13.1.5 (no weak ETag in If-Range): a new version under the same W/ ETag, If-Range compared as text',
      file: 'weak.jpg',
      expect: v2,
      first: { body: v1, fields: ['ETag: W/"x"', `Date: ${now}`] },
      later: (s, from, ifRange) => {
        const now2: Version = { body: v2, fields: ['ETag: W/"x"', `Date: ${now}`] }
        s.end(
          from === undefined || (ifRange !== undefined && ifRange !== 'W/"x"')
            ? whole(now2)
            : partOf(now2, from),
        )
      },
    }),
    resumeCase({
      id: 'resume-lm-fresh',
      report:
        'RFC 9110 8.8.2.2 (a date as fresh as the answer is weak), oven-sh/bun#33548: a file rewritten within its second, one Last-Modified for two versions',
      file: 'fresh.jpg',
      expect: v2,
      first: { body: v1, fields: [`Date: ${now}`, `Last-Modified: ${now}`] },
      later: (s, from, ifRange) => {
        const now2: Version = { body: v2, fields: [`Date: ${now}`, `Last-Modified: ${now}`] }
        s.end(
          from === undefined || (ifRange !== undefined && ifRange !== now) ? whole(now2) : partOf(now2, from),
        )
      },
    }),
    plainResume(
      '206-earlier-start',
      'xroche/httrack#428: a block cache answers bytes=N- from before N, and says so',
      (from) => partOf(same, Math.max(0, from - 100)),
    ),
    plainResume(
      '206-later-start',
      'pypa/pip#14131, jizhi0v0/duo-updater#225: a 206 from after the byte asked for',
      (from) => partOf(same, Math.min(L - 1, from + 100)),
    ),
    resumeCase({
      id: '206-other-total',
      report:
        'aria2/aria2#590 (total length mismatch on resume): the file replaced by a longer one under the same validators (an ETag from the inode)',
      file: 'grown.jpg',
      expect: other,
      first: { body: v1, fields: ['ETag: "inode-7"', ...dated] },
      later: (s, from) => {
        const grown: Version = { body: other, fields: ['ETag: "inode-7"', ...dated] }
        s.end(from === undefined || from >= other.length ? whole(grown) : partOf(grown, from))
      },
    }),
    plainResume(
      '206-no-content-range',
      'DataBiosphere/azul#6969: a 206 without Content-Range (here: the whole file under it)',
      () =>
        answer('206 Partial Content', [`Content-Type: ${JPEG}`, `Content-Length: ${L}`, ...same.fields], jpg),
    ),
    plainResume(
      '206-multipart-one',
      'RFC 9110 14.6 (one range is never multipart), aria2/aria2#1344 (range answers aria2 cannot read): multipart/byteranges holding the one range asked for',
      (from) => {
        const body = Buffer.concat([
          Buffer.from(
            `--${boundary}\r\nContent-Type: ${JPEG}\r\nContent-Range: bytes ${from}-${L - 1}/${L}\r\n\r\n`,
          ),
          jpg.subarray(from),
          Buffer.from(`\r\n--${boundary}--\r\n`),
        ])
        return answer(
          '206 Partial Content',
          [
            `Content-Type: multipart/byteranges; boundary=${boundary}`,
            `Content-Length: ${body.length}`,
            ...same.fields,
          ],
          body,
        )
      },
    ),
    plainResume(
      '206-body-longer',
      'jizhi0v0/duo-updater#225 (the 206 not checked against its range): 200 bytes more than its Content-Range, counted in its length',
      (from) =>
        answer(
          '206 Partial Content',
          [
            `Content-Type: ${JPEG}`,
            `Content-Length: ${L - from + 200}`,
            `Content-Range: bytes ${from}-${L - 1}/${L}`,
            ...same.fields,
          ],
          Buffer.concat([jpg.subarray(from), Buffer.alloc(200, 0xaa)]),
        ),
    ),
    plainResume(
      '206-length-whole-file',
      "DaveRandom/Resume#3: a 206 whose Content-Length is the whole file's size, its body the range, every whole answer cut",
      (from) =>
        answer(
          '206 Partial Content',
          [
            `Content-Type: ${JPEG}`,
            `Content-Length: ${L}`,
            `Content-Range: bytes ${from}-${L - 1}/${L}`,
            ...same.fields,
          ],
          jpg.subarray(from),
        ),
      true,
    ),
    plainResume(
      '206-body-shorter',
      'jizhi0v0/duo-updater#225 (a short 206 finalized as success): the first resume closes 300 bytes early',
      (from, n) => (n === 2 ? partOf(same, from).subarray(0, -300) : partOf(same, from)),
    ),
    plainResume(
      '200-to-range',
      'rust-lang/rustup#4710: the server ignores Range and sends the whole file as 200',
      () => whole(same),
    ),
    plainResume(
      '416-part-size',
      'curl/curl#10521, curl/curl#1163: 416 with bytes */N, N the bytes kept, as if the file were whole',
      () =>
        answer(
          '416 Range Not Satisfiable',
          ['Content-Type: text/html', `Content-Range: bytes */${L >> 1}`, 'Content-Length: 20'],
          Buffer.from('<h1>416</h1>........'),
        ),
    ),
    plainResume(
      '416-other-total',
      'owncloud/client#2280: 416 bytes */N to a resume, N the full size, the file there whole',
      () =>
        answer(
          '416 Range Not Satisfiable',
          ['Content-Type: text/html', `Content-Range: bytes */${L}`, 'Content-Length: 20'],
          Buffer.from('<h1>416</h1>........'),
        ),
    ),
    {
      id: 'etag-per-request',
      report:
        '781flyingdutchman/background_downloader#541: each CDN node names the file its own ETag; If-Range with an ETag never matches, and every 200 is cut',
      file: 'cdn.jpg',
      expect: jpg,
      resume: true,
      respond: (s, _path, request) => {
        const { from, ifRange } = askedOf(request)
        const v: Version = { body: jpg, fields: [`ETag: "${Math.random().toString(36).slice(2)}"`, ...dated] }
        if (from === undefined || (ifRange !== undefined && ifRange !== dayAgo)) cutWhole(s, v)
        else s.end(partOf(v, from))
      },
    },
    {
      id: 'accept-ranges-none-206',
      report:
        'aria2/aria2#2393 (no fallback when ranges are not served): Accept-Ranges: none on a 200 that is always cut, yet a 206 to a range',
      file: 'noranges.jpg',
      expect: jpg,
      resume: true,
      respond: (s, _path, request) => {
        const { from } = askedOf(request)
        if (from === undefined) cutWhole(s, same, ['Accept-Ranges: none'])
        else s.end(partOf(same, from))
      },
    },
  ]
  return out
}

/** Content-Encoding cases: an image sent through a coding, right or wrong. */
async function encodingCases(jpg: Buffer, attempt: (path: string) => number): Promise<Case[]> {
  const gz = gzipSync(jpg)
  const send =
    (bytes: Buffer): Respond =>
    (s) =>
      s.end(bytes)
  const coded = (coding: string, body: Buffer, extra: string[] = []) =>
    ok(body, JPEG, [`Content-Encoding: ${coding}`, ...extra])
  /** The same without a length: the body ends as the connection closes. */
  const codedClosed = (coding: string, body: Buffer) =>
    answer('200 OK', [`Content-Type: ${JPEG}`, `Content-Encoding: ${coding}`, 'Connection: close'], body)
  // One byte of the scan data changed under the gzip CRC of the bytes before it: decodes to a JPEG
  // that looks whole, which only the CRC tells from the image.
  const flipped = Buffer.from(jpg)
  let at = jpg.length >> 1
  while (flipped[at]! >= 0xfe || flipped[at - 1] === 0xff) at++
  flipped[at]! ^= 0x01
  const badCrc = gzipSync(flipped)
  gz.copy(badCrc, badCrc.length - 8, gz.length - 8, gz.length - 4)
  const zstd = spawnSync('zstd', ['-q', '-c'], { input: jpg })
  const ranged: Version = {
    body: gz,
    fields: [
      'ETag: "gz-1"',
      `Date: ${new Date().toUTCString()}`,
      `Last-Modified: ${new Date(Date.now() - 86_400_000).toUTCString()}`,
    ],
  }
  /** A 206 of the gzip bytes from byte `from` on, its range counting them. */
  const gzipPart = (from: number, fields: string[]) =>
    answer(
      '206 Partial Content',
      [
        `Content-Type: ${JPEG}`,
        'Content-Encoding: gzip',
        `Content-Length: ${gz.length - from}`,
        `Content-Range: bytes ${from}-${gz.length - 1}/${gz.length}`,
        ...fields,
      ],
      gz.subarray(from),
    )
  const list: Case[] = [
    {
      id: 'ce-gzip-image',
      report:
        "atmos/camo#8, assaf/node-passbook#37: Apache mod_deflate gzips image/*, its length the gzip bytes'",
      file: 'deflated.jpg',
      respond: send(coded('gzip', gz)),
      expect: jpg,
    },
    {
      id: 'ce-gzip-image-no-length',
      report: 'rockdaboot/wget2#27 (a gzip answer without length): the same, ended by the close',
      file: 'deflated-close.jpg',
      respond: send(codedClosed('gzip', gz)),
      expect: jpg,
    },
    {
      id: 'ce-x-gzip',
      report: 'notatallshaw/nab#591: Content-Encoding: x-gzip (RFC 9110 8.4.1.3)',
      file: 'xgzip.jpg',
      respond: send(coded('x-gzip', gz)),
      expect: jpg,
    },
    {
      id: 'ce-deflate-zlib',
      report: 'seanmonstar/reqwest#1257: deflate as RFC 9110 has it, zlib-wrapped',
      file: 'zlib.jpg',
      respond: send(coded('deflate', deflateSync(jpg))),
      expect: jpg,
    },
    {
      id: 'ce-deflate-raw',
      report:
        'mizosoft/methanol#25, httplib2/httplib2#230: deflate sent raw, without the zlib wrapper (old IIS)',
      file: 'rawdeflate.jpg',
      respond: send(coded('deflate', deflateRawSync(jpg))),
      expect: jpg,
    },
    {
      id: 'ce-br',
      report: "ambroise-leclerc/WebFront#84: a brotli'd body (br)",
      file: 'brotli.jpg',
      respond: send(coded('br', brotliCompressSync(jpg))),
      expect: jpg,
    },
    ...(zstd.status === 0
      ? [
          {
            id: 'ce-zstd',
            report: 'apache/httpcomponents-client#698 (zstd among the codings met): a zstd body',
            file: 'zstd.jpg',
            respond: send(coded('zstd', zstd.stdout)),
            expect: jpg,
          },
        ]
      : []),
    {
      id: 'ce-gzip-gzip',
      report: 'go-gitea/gitea#30649, upspin/upspin#637: gzip applied twice, Content-Encoding: gzip, gzip',
      file: 'twice-gz.jpg',
      respond: send(coded('gzip, gzip', gzipSync(gz))),
      expect: jpg,
    },
    {
      id: 'ce-binary',
      report:
        'chadxz/imap-simple#14, LadybirdBrowser/ladybird#11179: Content-Encoding: binary on plain bytes',
      file: 'cebinary.jpg',
      respond: send(coded('binary', jpg)),
      expect: jpg,
    },
    {
      id: 'ce-none',
      report: 'curl/curl#3315, apify/crawlee#1067: Content-Encoding: none on plain bytes',
      file: 'cenone.jpg',
      respond: send(coded('none', jpg)),
      expect: jpg,
    },
    {
      id: 'ce-gzip-cut',
      report: 'rockdaboot/wget2#27: a gzip answer without length, the stream cut at 60% by the close',
      file: 'gzcut.jpg',
      respond: send(codedClosed('gzip', gz.subarray(0, Math.floor(gz.length * 0.6)))),
      expect: undefined,
    },
    {
      id: 'ce-gzip-decoded-length',
      report:
        'jelix/jelix#289, dadi/cdn#484: Content-Length set before gzip (the decoded size), the connection closed after the gzip bytes',
      file: 'gzlen.jpg',
      respond: send(
        answer(
          '200 OK',
          [`Content-Type: ${JPEG}`, 'Content-Encoding: gzip', `Content-Length: ${jpg.length}`],
          gz,
        ),
      ),
      expect: jpg,
    },
    {
      id: 'ce-gzip-decoded-length-held',
      report:
        'NanoHttpd/nanohttpd#195, jelix/jelix#289: the same, the connection held open (browsers wait seconds for the rest)',
      file: 'gzlenheld.jpg',
      respond: (s) =>
        s.write(
          answer(
            '200 OK',
            [`Content-Type: ${JPEG}`, 'Content-Encoding: gzip', `Content-Length: ${jpg.length}`],
            gz,
          ),
        ),
      expect: jpg,
    },
    {
      id: 'ce-gzip-plain-body',
      report:
        'SuppSandroB/sandrop#46 (content sent unzipped under a gzip label): Content-Encoding: gzip on the plain JPEG',
      file: 'gzplain.jpg',
      respond: send(coded('gzip', jpg)),
      expect: jpg,
    },
    {
      id: 'ce-gzip-bad-crc',
      report:
        'browserify/browserify-zlib#29 (gzip trailers not checked): one byte changed under the CRC, the decoded JPEG looks whole',
      file: 'gzcrc.jpg',
      respond: send(coded('gzip', badCrc)),
      expect: undefined,
    },
    {
      id: 'ce-gzip-bad-crc-once',
      report:
        'browserify/browserify-zlib#29 (gzip trailers not checked): the same, to the first request only (a byte changed on the way)',
      file: 'gzcrc1.jpg',
      respond: (s, path) => s.end(coded('gzip', attempt(path) === 1 ? badCrc : gz)),
      expect: jpg,
    },
    {
      id: 'ce-gzip-trailing-zeros',
      report: 'ClickHouse/ClickHouse#111104: 17 zero bytes after the gzip member, counted in the length',
      file: 'gzpad.jpg',
      respond: send(coded('gzip', Buffer.concat([gz, Buffer.alloc(17)]))),
      expect: jpg,
    },
    {
      id: 'te-gzip-chunked',
      report: 'synopse/mORMot#335: Transfer-Encoding: gzip, chunked (a transfer coding no client asked for)',
      file: 'tegzip.jpg',
      respond: send(
        Buffer.concat([
          Buffer.from(head('200 OK', [`Content-Type: ${JPEG}`, 'Transfer-Encoding: gzip, chunked'])),
          Buffer.from(`${gz.length.toString(16)}\r\n`),
          gz,
          Buffer.from('\r\n0\r\n\r\n'),
        ]),
      ),
      expect: jpg,
    },
    {
      id: 'ce-gzip-resume',
      report:
        'aria2/aria2#2210 (ranges and gzip together): a gzip answer cut, its resume a 206 of the gzip bytes',
      file: 'gzresume.jpg',
      expect: jpg,
      resume: true,
      respond: (s, path, request) => {
        const n = attempt(path)
        const { from } = askedOf(request)
        if (n === 1) cutWhole(s, ranged, ['Content-Encoding: gzip'])
        else if (from === undefined) s.end(coded('gzip', gz, ranged.fields))
        else s.end(gzipPart(from, ranged.fields))
      },
    },
    {
      id: 'resume-206-gzipped-slice',
      report:
        'envoyproxy/envoy#23850, honojs/hono#5020: a compressing filter gzips a 206, its Content-Range still counting the plain bytes',
      file: 'gzslice.jpg',
      expect: jpg,
      resume: true,
      respond: (s, path, request) => {
        const { from } = askedOf(request)
        const plain: Version = { body: jpg, fields: ranged.fields }
        if (attempt(path) === 1) cutWhole(s, plain)
        else if (from === undefined) s.end(whole(plain))
        else {
          const slice = gzipSync(jpg.subarray(from))
          s.end(
            answer(
              '206 Partial Content',
              [
                `Content-Type: ${JPEG}`,
                'Content-Encoding: gzip',
                `Content-Length: ${slice.length}`,
                `Content-Range: bytes ${from}-${jpg.length - 1}/${jpg.length}`,
                ...plain.fields,
              ],
              slice,
            ),
          )
        }
      },
    },
    {
      id: 'resume-206-gzip-bytes',
      report:
        "bandit (mtrudel/bandit#677) and RFC 9110 14.1.2: the first answer plain, its resume a 206 of the gzip'd file's bytes (the range of another representation)",
      file: 'gzother.jpg',
      expect: jpg,
      resume: true,
      respond: (s, path, request) => {
        const { from } = askedOf(request)
        const plain: Version = { body: jpg, fields: ranged.fields }
        if (attempt(path) === 1) cutWhole(s, plain)
        else if (from === undefined || from >= gz.length) s.end(whole(plain))
        else s.end(gzipPart(from, plain.fields))
      },
    },
    {
      id: 'gz-file-encoded',
      report:
        'psf/requests#4346, rockdaboot/wget2#27: a .jpg.gz served as application/x-gzip with Content-Encoding: gzip (the bytes as they are: the .gz; decoded: the JPEG)',
      file: 'photo.jpg.gz',
      respond: send(ok(gz, 'application/x-gzip', ['Content-Encoding: gzip'])),
      expect: gz,
      alsoGood: jpg,
    },
  ]
  return list
}

/** The `Host` a request named (`127.0.0.1:PORT`). */
const hostOf = (request: string) => /\r\nhost:\s*([^\r\n]+)/i.exec(request)?.[1]?.trim() ?? ''
/** The value of a request header (the first), or undefined. */
const fieldOf = (request: string, name: string) =>
  new RegExp(`\\r\\n${name}:[ \\t]*([^\\r\\n]*)`, 'i').exec(request)?.[1]?.trim()
/** A redirect's head, `fields` after the status line, no body. */
const moved = (status: string, fields: string[]) =>
  head(status, [...fields, 'Content-Length: 0', 'Connection: close'])
const notFound = () =>
  head('404 Not Found', ['Content-Type: text/html', 'Content-Length: 0', 'Connection: close'])

/**
 * Redirects that misbehave, or that a client can mishandle: a Location in raw bytes or relative
 * forms, two of them, none, a loop, a cookie to come back with, a scheme that is no HTTP, a
 * stand-in image, credentials in the Location or carried to another host. A case's first request
 * (the path `/TOOL/FILE`) is redirected; the image is served only at the URL a browser would go to.
 */
function redirectFamily(jpg: Buffer, png: Buffer): Case[] {
  const J = 'image/jpeg'
  const other = Buffer.from(png)
  /**
   * A case whose first hop sends `location` (raw bytes), and whose target `good(path)` tells;
   * `good` undefined: a Location no client should follow, nothing to keep.
   */
  const hop = (
    id: string,
    report: string,
    location: Buffer | ((request: string, path: string) => string),
    good: ((path: string, request: string) => boolean) | undefined,
    status = '302 Found',
  ): Case => {
    const file = `${id}.jpg`
    return {
      id,
      report,
      file,
      respond: (s, path, request) => {
        if (/^\/[^/]+\/[^/?#]+$/.test(path) && path.endsWith(`/${file}`)) {
          const to =
            typeof location === 'function' ? Buffer.from(location(request, path), 'latin1') : location
          s.end(
            Buffer.concat([
              Buffer.from(`HTTP/1.1 ${status}\r\nLocation: `),
              to,
              Buffer.from('\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'),
            ]),
          )
        } else s.end(good?.(path, request) ? ok(jpg, J, ['Connection: close']) : notFound())
      },
      expect: good ? jpg : undefined,
    }
  }
  return [
    hop(
      'redir-utf8',
      'sagebind/isahc#315, 0x676e67/wreq#1290: a Location with raw UTF-8 bytes (`café/`), which browsers send as %C3%A9',
      Buffer.from('café/redir-utf8.jpg', 'utf8'),
      (p) => p.includes('/caf%C3%A9/'),
    ),
    hop(
      'redir-latin1',
      'Norconex/crawler#199, solidjs/solid#3135: a Location with a raw Latin-1 byte (E9), which browsers send as %E9',
      Buffer.from('caf\xe9/redir-latin1.jpg', 'latin1'),
      (p) => p.includes('/caf%E9/'),
    ),
    hop(
      'redir-space',
      'curl/curl#4445, projectdiscovery/nuclei#5900: a Location with a space (`a b/`), a 400 unless sent as %20',
      Buffer.from('a b/redir-space.jpg'),
      (p) => p.includes('/a%20b/'),
    ),
    hop(
      'redir-fragment',
      'httpwg/http-bis-issues#6, whatwg/xhr#8: a Location with a fragment (`#top`), which is never sent',
      Buffer.from('f/redir-fragment.jpg#top'),
      (p) => p.endsWith('/f/redir-fragment.jpg'),
    ),
    {
      id: 'redir-dotdot',
      report:
        'micropython/micropython-lib#1141 (relative Locations resolved wrong): two hops, the second `../f/` relative to the first',
      file: 'redir-dotdot.jpg',
      respond: (s, path) => {
        if (/^\/[^/]+\/redir-dotdot\.jpg$/.test(path))
          s.end(moved('302 Found', ['Location: d/e/redir-dotdot.jpg']))
        else if (/\/d\/e\/redir-dotdot\.jpg$/.test(path))
          s.end(moved('302 Found', ['Location: ../f/redir-dotdot.jpg']))
        else s.end(/^\/[^/]+\/d\/f\/redir-dotdot\.jpg$/.test(path) ? ok(jpg, J) : notFound())
      },
      expect: jpg,
    },
    hop(
      'redir-query-only',
      'micropython/micropython-lib#1141 (relative Locations resolved wrong): a Location of only a query, `?x=1`, on the path asked for',
      Buffer.from('?x=1'),
      (p) => /\/redir-query-only\.jpg\?x=1$/.test(p),
    ),
    hop(
      'redir-protocol-relative',
      'typhoeus/ethon#92, ssllabs/ssllabs-scan#521: an image redirector answering with a protocol-relative Location (`//host/path`)',
      (request, path) => `//${hostOf(request)}${path.replace(/[^/]+$/, 'pr/redir-protocol-relative.jpg')}`,
      (p) => p.endsWith('/pr/redir-protocol-relative.jpg'),
    ),
    hop(
      'redir-whitespace',
      'curl/curl#12147, whatwg/fetch#883: a Location with a tab before and spaces after the value',
      Buffer.from('\t w/redir-whitespace.jpg   '),
      (p) => p.endsWith('/w/redir-whitespace.jpg'),
    ),
    {
      id: 'redir-two-locations',
      report:
        'whatwg/fetch#883 (Chromium takes the first Location): two Location fields, the second to a 404',
      file: 'redir-two-locations.jpg',
      respond: (s, path) => {
        if (/^\/[^/]+\/redir-two-locations\.jpg$/.test(path))
          s.end(
            moved('302 Found', [
              'Location: good/redir-two-locations.jpg',
              'Location: bad/redir-two-locations.jpg',
            ]),
          )
        else s.end(path.includes('/good/') ? ok(jpg, J) : notFound())
      },
      expect: jpg,
    },
    {
      id: 'redir-no-location',
      report:
        'clue/reactphp-buzz#128, gatling/gatling#4639: a 3xx with no Location, the image as its body (curl keeps it: a 302 is no --fail)',
      file: 'redir-no-location.jpg',
      respond: send302Body(jpg),
      expect: undefined,
    },
    hop(
      'redir-303',
      'curl/curl#5237: a 303 See Other to the image (a GET after it)',
      Buffer.from('s/redir-303.jpg'),
      (p, r) => p.includes('/s/') && r.startsWith('GET '),
      '303 See Other',
    ),
    hop(
      'redir-308',
      'follow-redirects/follow-redirects#46: a 308 Permanent Redirect to the image (the same method kept)',
      Buffer.from('s/redir-308.jpg'),
      (p, r) => p.includes('/s/') && r.startsWith('GET '),
      '308 Permanent Redirect',
    ),
    hop(
      'redir-300',
      'forwardemail/superagent#993, sindresorhus/got#307: a 300 Multiple Choices with a preferred Location (curl and browsers follow it)',
      Buffer.from('c/redir-300.jpg'),
      (p) => p.includes('/c/'),
      '300 Multiple Choices',
    ),
    {
      id: 'redir-loop',
      report: 'aio-libs/aiohttp#56, request/request#3188: A to B to A, for ever',
      file: 'redir-loop.jpg',
      respond: (s, path) =>
        s.end(
          moved('302 Found', [
            `Location: ${path.includes('/b/') ? '../redir-loop.jpg' : 'b/redir-loop.jpg'}`,
          ]),
        ),
      expect: undefined,
    },
    {
      id: 'redir-self-cookie',
      report:
        'encode/httpx#821, request/request#3188: a 302 to the same URL that sets the cookie it then wants',
      file: 'redir-self-cookie.jpg',
      respond: (s, _path, request) =>
        s.end(
          /\bseen=1\b/.test(fieldOf(request, 'cookie') ?? '')
            ? ok(jpg, J)
            : moved('302 Found', ['Set-Cookie: seen=1; Path=/', 'Location: redir-self-cookie.jpg']),
        ),
      expect: jpg,
    },
    hop(
      'redir-file',
      'ariya/phantomjs#10876, sparklemotion/mechanize#455: a redirect to file:///etc/passwd (must never read a local file)',
      Buffer.from('file:///etc/passwd'),
      undefined,
    ),
    hop(
      'redir-data',
      'ariya/phantomjs#10876 (a redirect to a scheme that is no HTTP): a redirect to a data: URL of another image',
      Buffer.from(`data:image/png;base64,${other.toString('base64')}`),
      undefined,
    ),
    hop(
      'redir-javascript',
      'ariya/phantomjs#10876, sparklemotion/mechanize#455 (redirects to schemes that are no HTTP): a redirect to javascript:alert(1)',
      Buffer.from('javascript:alert(1)'),
      undefined,
    ),
    {
      id: 'redir-404-html',
      report:
        'imgflo/imgflo-server#37, KurtBestor/Hitomi-Downloader#4796: a redirect to a page that answers 404 with HTML',
      file: 'redir-404-html.jpg',
      respond: (s, path) => {
        if (/^\/[^/]+\/redir-404-html\.jpg$/.test(path))
          s.end(moved('302 Found', ['Location: gone/redir-404-html.jpg']))
        else {
          const page = Buffer.from('<!doctype html><title>Not found</title><h1>404</h1>')
          s.end(
            answer(
              '404 Not Found',
              ['Content-Type: text/html', `Content-Length: ${page.length}`, 'Connection: close'],
              page,
            ),
          )
        }
      },
      expect: undefined,
    },
    {
      id: 'redir-removed',
      report: 'mikf/gallery-dl#5308, 4pr0n/ripme#13: imgur answers a removed image with a 302 to removed.png',
      file: 'redir-removed.jpg',
      respond: (s) => s.end(moved('302 Found', ['Location: /removed.png'])),
      expect: undefined,
    },
    {
      id: 'removed.png',
      report: '(the stand-in redir-removed leads to, fetched alone: a valid image)',
      file: 'removed.png',
      respond: (s) => s.end(ok(other, 'image/png')),
      expect: other,
    },
    hop(
      'redir-credentials',
      'curl/curl#11410, astral-sh/uv#14315: a Location with credentials (`http://user:pw@host/`), which the target asks for',
      (request, path) =>
        `http://user:pw@${hostOf(request)}${path.replace(/[^/]+$/, 'u/redir-credentials.jpg')}`,
      (p, r) =>
        p.includes('/u/') &&
        fieldOf(r, 'authorization') === `Basic ${Buffer.from('user:pw').toString('base64')}`,
    ),
    {
      id: 'redir-auth-other-host',
      report:
        'curl CVE-2018-1000007, nodejs/undici#872: the URL with user:pw, a 302 to another host (localhost), which must not get the Authorization (given it, it serves another image: WRONG is a leak)',
      file: 'redir-auth-other-host.jpg',
      userinfo: 'user:pw',
      respond: (s, path, request) => {
        const host = hostOf(request)
        if (host.startsWith('127.0.0.1'))
          s.end(
            moved('302 Found', [
              `Location: http://${host.replace('127.0.0.1', 'localhost')}${path.replace(/[^/]+$/, 'h/redir-auth-other-host.jpg')}`,
            ]),
          )
        else s.end(fieldOf(request, 'authorization') ? ok(other, 'image/png') : ok(jpg, J))
      },
      expect: jpg,
    },
    {
      id: 'redir-refresh-header',
      report:
        'curl/curl#3657, request/request#92, ArchiveTeam/wpull#465: a 200 HTML page with `Refresh: 0; url=...` to the image',
      file: 'redir-refresh-header.jpg',
      respond: (s, path) => {
        if (/^\/[^/]+\/redir-refresh-header\.jpg$/.test(path)) {
          const page = Buffer.from(
            '<!doctype html><meta http-equiv="refresh" content="0; url=r/redir-refresh-header.jpg">',
          )
          s.end(
            answer(
              '200 OK',
              [
                'Content-Type: text/html',
                `Content-Length: ${page.length}`,
                'Refresh: 0; url=r/redir-refresh-header.jpg',
              ],
              page,
            ),
          )
        } else s.end(ok(jpg, J))
      },
      expect: jpg,
    },
  ]
}

/**
 * Image hosts, CDNs and object stores as they really answer (`cdn-*`): S3, GCS and Azure errors in
 * XML, bot walls (Cloudflare's challenge, Akamai's denial, Wikimedia's User-Agent policy), hotlink
 * protection, content negotiation by `Accept`, sharing sites' interstitial pages, soft 404s, the
 * types object stores give images, and an edge's errors and stale copies. Each names its report.
 */
async function cdnFamily(
  jpg: Buffer,
  png: Buffer,
  webp: Buffer,
  avif: Buffer,
  attempt: (path: string) => number,
): Promise<Case[]> {
  const J = 'image/jpeg'
  const send =
    (bytes: Buffer): Respond =>
    (s) =>
      s.end(bytes)
  const xml = (code: string, message: string, more = '') =>
    Buffer.from(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${more}<RequestId>6C6D5E496615CD05</RequestId><HostId>rJJFL8IjkwK9G8gHCz1qYmn+r9CmvFQq7mwusGMHNajrmAvu/CyrJ1Zd1QtI63x0</HostId></Error>`,
    )
  const s3 = (status: string, body: Buffer, extra: string[] = []) =>
    answer(
      status,
      [
        'x-amz-request-id: 6C6D5E496615CD05',
        'Content-Type: application/xml',
        `Content-Length: ${body.length}`,
        'Server: AmazonS3',
        ...extra,
      ],
      body,
    )
  /** Azure Storage's error body: a byte order mark, then its XML. */
  const azure = (status: string, code: string, message: string) => {
    const body = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(
        `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}\nRequestId:60dd920a-201e-00bf-2eb2-a5eb6a000000\nTime:2021-09-09T19:38:19.7988017Z</Message></Error>`,
      ),
    ])
    return answer(
      status,
      [
        'Content-Type: application/xml',
        `Content-Length: ${body.length}`,
        'Server: Microsoft-HTTPAPI/2.0',
        `x-ms-error-code: ${code}`,
        'x-ms-request-id: 60dd920a-201e-00bf-2eb2-a5eb6a000000',
      ],
      body,
    )
  }
  const html = (status: string, page: string, extra: string[] = []) => {
    const body = Buffer.from(page)
    return answer(
      status,
      ['Content-Type: text/html; charset=UTF-8', `Content-Length: ${body.length}`, ...extra],
      body,
    )
  }
  const cfChallenge = (status: string) =>
    html(
      status,
      '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title><meta http-equiv="refresh" content="390"></head><body><div class="main-wrapper"><noscript>Enable JavaScript and cookies to continue</noscript></div><script>(function(){window._cf_chl_opt={cvId: "3",cType: "managed"};})();</script></body></html>',
      [
        'Server: cloudflare',
        'cf-mitigated: challenge',
        'CF-RAY: 276ff9e909182774-FRA',
        'Cache-Control: private, max-age=0, no-store, no-cache, must-revalidate',
      ],
    )
  const cloudfront = (code: number, why: string) =>
    html(
      `${code} ${code === 502 ? 'Bad Gateway' : 'Gateway Timeout'}`,
      `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" "http://www.w3.org/TR/html4/loose.dtd">\n<HTML><HEAD><META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=iso-8859-1">\n<TITLE>ERROR: The request could not be satisfied</TITLE>\n</HEAD><BODY>\n<H1>${code} ERROR</H1>\n<H2>The request could not be satisfied.</H2>\n<HR noshade size="1px">\n${why}\n<BR clear="all">\n<PRE>\nGenerated by cloudfront (CloudFront)\nRequest ID: HIlJv-iPxkK0f_35ZmXBvNaMqhODQeCCWHEJvmchYdP9NXnlB6NOrA==\n</PRE>\n</BODY></HTML>`,
      ['Server: CloudFront', 'X-Cache: Error from cloudfront', 'Via: 1.1 abc.cloudfront.net (CloudFront)'],
    )
  /** The `Referer` and `User-Agent` of a request (`undefined`: not sent). */
  const field = (request: string, name: string) =>
    new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(request)?.[1]?.trim()
  const accepts = (request: string, type: string) => (field(request, 'accept') ?? '').includes(type)
  return [
    {
      id: 'cdn-s3-access-denied',
      report:
        'ddollar/forego#6, kobo/groovyserv#1: S3 answers a private object 403 with `<Error><Code>AccessDenied</Code>` in XML',
      file: 's3-denied.jpg',
      respond: send(s3('403 Forbidden', xml('AccessDenied', 'Access Denied'))),
      expect: undefined,
    },
    {
      id: 'cdn-s3-expired',
      report:
        'aws/aws-sdk-js#3493, aws/aws-sdk-php#1333: a presigned URL past its X-Amz-Expires: 403 AccessDenied "Request has expired"',
      file: 's3-expired.jpg',
      respond: send(
        s3(
          '403 Forbidden',
          xml(
            'AccessDenied',
            'Request has expired',
            '<X-Amz-Expires>300</X-Amz-Expires><Expires>2017-07-20T04:18:45Z</Expires><ServerTime>2017-07-20T04:18:55Z</ServerTime>',
          ),
        ),
      ),
      expect: undefined,
    },
    {
      id: 'cdn-s3-signature',
      report:
        'aws/aws-sdk-go-v2#2523: a presigned URL whose signature does not match: 403 SignatureDoesNotMatch',
      file: 's3-signature.jpg',
      respond: send(
        s3(
          '403 Forbidden',
          xml(
            'SignatureDoesNotMatch',
            'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
          ),
        ),
      ),
      expect: undefined,
    },
    {
      id: 'cdn-s3-nosuchkey',
      report: 'aws/aws-sdk-js#2306: a key that is not in the bucket: 404 NoSuchKey in XML',
      file: 's3-nokey.jpg',
      respond: send(
        s3(
          '404 Not Found',
          xml('NoSuchKey', 'The specified key does not exist.', '<Key>photos/s3-nokey.jpg</Key>'),
        ),
      ),
      expect: undefined,
    },
    {
      id: 'cdn-s3-slowdown-once',
      report:
        'thephpleague/flysystem-aws-s3-v3#278, s3fs-fuse/s3fs-fuse#603: 503 SlowDown "Please reduce your request rate." with no Retry-After, then the object',
      file: 's3-slowdown.jpg',
      respond: (s, path) =>
        s.end(
          attempt(path) === 1
            ? s3('503 Slow Down', xml('SlowDown', 'Please reduce your request rate.'), ['Connection: close'])
            : ok(jpg, J),
        ),
      expect: jpg,
    },
    {
      id: 'cdn-s3-internal-once',
      report:
        'flexera-public/right_aws#185: S3 answers 500 InternalError "We encountered an internal error. Please try again.", then the object',
      file: 's3-internal.jpg',
      respond: (s, path) =>
        s.end(
          attempt(path) === 1
            ? s3(
                '500 Internal Server Error',
                xml('InternalError', 'We encountered an internal error. Please try again.'),
              )
            : ok(jpg, J),
        ),
      expect: jpg,
    },
    {
      id: 'cdn-s3-200-error',
      report:
        'AWS S3 API reference (CopyObject, CompleteMultipartUpload): "a 200 OK response can contain valid or error XML": a 200 whose body is `<Error><Code>InternalError</Code>`',
      file: 's3-200-error.jpg',
      respond: send(
        s3('200 OK', xml('InternalError', 'We encountered an internal error. Please try again.')),
      ),
      expect: undefined,
    },
    {
      id: 'cdn-gcs-access-denied',
      report:
        'openai/glow#60, kylemcdonald/ethereum-emissions#6: GCS answers an anonymous read of a private object 403 AccessDenied, its <Details> naming storage.objects.get',
      file: 'gcs-denied.jpg',
      respond: send(
        answer(
          '403 Forbidden',
          [
            'Content-Type: application/xml; charset=UTF-8',
            'Server: UploadServer',
            'X-GUploader-UploadID: ADPycdsq',
          ],
          Buffer.from(
            "<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code><Message>Access denied.</Message><Details>Anonymous caller does not have storage.objects.get access to the Google Cloud Storage object. Permission 'storage.objects.get' denied on resource (or it may not exist).</Details></Error>",
          ),
        ),
      ),
      expect: undefined,
    },
    {
      id: 'cdn-azure-blob-not-found',
      report:
        'openai/lm-human-preferences#15: Azure Blob Storage answers a missing blob 404 BlobNotFound (a BOM before its XML, x-ms-error-code)',
      file: 'azure-missing.jpg',
      respond: send(
        azure('404 The specified blob does not exist.', 'BlobNotFound', 'The specified blob does not exist.'),
      ),
      expect: undefined,
    },
    {
      id: 'cdn-azure-sas-expired',
      report:
        'microsoft/AzureStorageExplorer#4634: a SAS URL past its `se=`: 403 AuthenticationFailed (x-ms-error-code), "Signed expiry time ... must be after signed start time"',
      file: 'azure-sas.jpg',
      respond: send(
        azure(
          '403 Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.',
          'AuthenticationFailed',
          'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.\nAuthenticationErrorDetail:Signed expiry time [Tue, 29 Jun 2021 11:59:52 GMT] must be after signed start time [Tue, 29 Jun 2021 12:04:40 GMT]',
        ),
      ),
      expect: undefined,
    },
    {
      id: 'cdn-s3-octet-stream',
      report:
        'aws/aws-sdk-php#138, balderdashy/sails#5013: an image uploaded to S3 without a type is served as `binary/octet-stream`',
      file: 's3-octet.jpg',
      respond: send(ok(jpg, 'binary/octet-stream', ['Server: AmazonS3'])),
      expect: jpg,
    },
    {
      id: 'cdn-text-plain-image',
      report:
        "GoogleCloudPlatform/nodejs-getting-started#66 (a store's type left unset), a static server whose types map lacks the extension: a good PNG as `text/plain`",
      file: 'plain.png',
      respond: send(ok(png, 'text/plain; charset=utf-8')),
      expect: png,
    },
    {
      id: 'cdn-no-content-type',
      report: 'kufu-ai/kinu#62: an object store that sends an image with no Content-Type at all',
      file: 'untyped.png',
      respond: send(answer('200 OK', [`Content-Length: ${png.length}`], png)),
      expect: png,
    },
    {
      id: 'cdn-hotlink-403',
      report:
        'qsniyg/maxurl#180, ballerburg9005/wget-2-zim#4: Cloudflare hotlink protection, 403 "Error 1011 Access denied" to a Referer of another site (none here: the image)',
      file: 'hotlink-cf.jpg',
      respond: (s, _path, request) => {
        const referer = field(request, 'referer')
        s.end(
          referer === undefined || referer.includes('127.0.0.1')
            ? ok(jpg, J)
            : html(
                '403 Forbidden',
                '<!DOCTYPE html><html><head><title>Access denied | 127.0.0.1 used Cloudflare to restrict access</title></head><body><h1>Error 1011</h1><h2>Access denied</h2><p>The owner of this website (127.0.0.1) does not allow hotlinking to that resource.</p></body></html>',
                ['Server: cloudflare'],
              ),
        )
      },
      expect: jpg,
    },
    {
      id: 'cdn-hotlink-referer-required',
      report:
        'willnorris/imageproxy#218, cscarney/syndic#50: hotlink protection that wants its own site as Referer: 403 without one',
      file: 'hotlink-strict.jpg',
      respond: (s, _path, request) =>
        s.end(
          field(request, 'referer')?.includes('127.0.0.1')
            ? ok(jpg, J)
            : html(
                '403 Forbidden',
                '<html><head><title>403 Forbidden</title></head><body><center><h1>403 Forbidden</h1></center><hr><center>nginx</center></body></html>',
                ['Server: nginx'],
              ),
        ),
      expect: undefined,
    },
    {
      id: 'cdn-hotlink-redirect',
      report:
        'oupala/apaxy#141: Apache hotlink protection `RewriteRule .*\\.(png)$ https://mflscripts.com/hotlink.png [R=302,L]`: a 302 to a "no hotlinking" image',
      file: 'hotlinked.png',
      respond: send(Buffer.from(head('302 Found', ['Location: hotlink.png', 'Content-Length: 0']))),
      expect: undefined,
    },
    {
      id: 'hotlink.png',
      report: 'the stand-in `cdn-hotlink-redirect` leads to, asked for by its own URL: what was asked for',
      file: 'hotlink.png',
      respond: send(ok(png, 'image/png')),
      expect: png,
    },
    {
      id: 'cdn-hotlink-other-image',
      report:
        'ArchiveTeam/wpull#247, fire219 in TheRealZago/TRW-Issues#8: a 200 with another image ("hotlinking not allowed") in place of the one asked for, when the Referer is not the site',
      file: 'swapped.jpg',
      respond: (s, _path, request) =>
        s.end(field(request, 'referer')?.includes('127.0.0.1') ? ok(jpg, J) : ok(png, 'image/png')),
      expect: undefined,
    },
    {
      id: 'cdn-wikimedia-ua',
      report:
        'IsraelHikingMap/Site#1573, openzim/sotoki#252, ryanrudes/wikimedia-downloader#3: upload.wikimedia.org answers a generic or empty User-Agent 403 "Please comply with the User-Agent policy"',
      file: 'commons.jpg',
      respond: (s, _path, request) => {
        const ua = field(request, 'user-agent') ?? ''
        // The policy wants a name and a way to reach its author (a URL or an address); browsers pass.
        const identified = /^[\w.-]+\/[\w.-]+ \(.*(https?:\/\/|@).*\)|^Mozilla\/5\.0 /.test(ua)
        s.end(
          identified
            ? ok(jpg, J)
            : answer(
                '403 Forbidden',
                ['Content-Type: text/plain', 'Content-Length: 88', 'Server: ATS/9.2.5'],
                Buffer.from(
                  'Please comply with the User-Agent policy: https://meta.wikimedia.org/wiki/User-Agent_policy'.padEnd(
                    88,
                  ),
                ).subarray(0, 88),
              ),
        )
      },
      expect: jpg,
    },
    {
      id: 'cdn-cf-challenge-403',
      report:
        'watzon/cursor-linux-installer#11, AnInsomniacy/motrix-next#336: Cloudflare\'s managed challenge, 403 `cf-mitigated: challenge` "Just a moment..."',
      file: 'cf-challenge.jpg',
      respond: send(cfChallenge('403 Forbidden')),
      expect: undefined,
    },
    {
      id: 'cdn-cf-challenge-503',
      report:
        'DreamCobbler/fiction-dl#18, FMD-project-team/FMD#122: Cloudflare\'s older "I\'m Under Attack" check, 503 "Just a moment..." with `Server: cloudflare`',
      file: 'cf-503.jpg',
      respond: send(cfChallenge('503 Service Unavailable')),
      expect: undefined,
    },
    {
      id: 'cdn-akamai-denied',
      report:
        'Akamai bot manager (as in Volafile/volafile-bugs#140 for Cloudflare): 403 "Access Denied ... Reference #18.", `Server: AkamaiGHost`',
      file: 'akamai.jpg',
      respond: send(
        html(
          '403 Forbidden',
          '<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n \nYou don\'t have permission to access "http&#58;&#47;&#47;127&#46;0&#46;0&#46;1&#47;akamai&#46;jpg" on this server.<P>\nReference&#32;&#35;18&#46;6f2c1002&#46;1700000000&#46;1a2b3c\n</BODY>\n</HTML>\n',
          ['Server: AkamaiGHost', 'Mime-Version: 1.0'],
        ),
      ),
      expect: undefined,
    },
    {
      id: 'cdn-vary-accept-webp',
      report:
        'mastodon/mastodon#29432, GoogleChrome/web.dev#8347: a CDN that answers a `.jpg` as WebP to an Accept naming image/webp (`Vary: Accept`), JPEG otherwise',
      file: 'negotiated.jpg',
      respond: (s, _path, request) =>
        s.end(
          accepts(request, 'image/webp')
            ? ok(webp, 'image/webp', ['Vary: Accept'])
            : ok(jpg, J, ['Vary: Accept']),
        ),
      expect: jpg,
      alsoGood: webp,
    },
    {
      id: 'cdn-f-auto-avif',
      report:
        'LadybirdBrowser/ladybird#9046, supabase/storage#257: Cloudinary f_auto / imgix auto=format: AVIF to an Accept naming image/avif, WebP to image/webp, else JPEG',
      file: 'f_auto.jpg',
      respond: (s, _path, request) =>
        s.end(
          accepts(request, 'image/avif')
            ? ok(avif, 'image/avif', ['Vary: Accept'])
            : accepts(request, 'image/webp')
              ? ok(webp, 'image/webp', ['Vary: Accept'])
              : ok(jpg, J, ['Vary: Accept']),
        ),
      expect: jpg,
      alsoGood: avif,
    },
    {
      id: 'cdn-webp-as-jpg-named',
      report:
        'aws-solutions/dynamic-image-transformation-for-amazon-cloudfront#467, thumbor/thumbor#867: AUTO_WEBP that sends WebP bytes under `Content-Type: image/jpeg` to any Accept',
      file: 'auto-webp.jpg',
      respond: send(ok(webp, J, ['Vary: Accept'])),
      expect: webp,
    },
    {
      id: 'cdn-gdrive-virus-scan',
      report:
        'fsantini/KoboCloud#160, chentinghao/download_google_drive#8: Google Drive answers a large file\'s download link with its "Virus scan warning" page (200 text/html)',
      file: 'uc',
      respond: send(
        html(
          '200 OK',
          '<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title><meta http-equiv="content-type" content="text/html; charset=utf-8"/></head><body><div class="uc-main"><div id="uc-text"><p class="uc-warning-caption">Google Drive can\'t scan this file for viruses.</p><p class="uc-warning-subcaption"><span class="uc-name-size"><a href="/open?id=1XBD">photo.jpg</a> (109M)</span> is too large for Google to scan for viruses. Would you still like to download this file?</p><form id="download-form" action="https://drive.usercontent.google.com/download" method="get"><input type="submit" id="uc-download-link" class="goog-inline-block jfk-button jfk-button-action" value="Download anyway"/><input type="hidden" name="id" value="1XBD"><input type="hidden" name="export" value="download"><input type="hidden" name="confirm" value="t"></form></div></div></body></html>',
          ['Server: ESF', 'Cache-Control: no-cache, no-store, max-age=0, must-revalidate'],
        ),
      ),
      expect: undefined,
    },
    {
      id: 'cdn-soft-404-html',
      report:
        'ArchiveTeam/wpull#247 (a redirect to a page), a CMS catch-all route: a missing image answered 200 with the site\'s "Page not found" HTML',
      file: 'soft404.jpg',
      respond: send(
        html(
          '200 OK',
          '<!doctype html><html><head><title>Page not found – Example Shop</title></head><body><h1>Oops! That page can’t be found.</h1></body></html>',
        ),
      ),
      expect: undefined,
    },
    {
      id: 'cdn-cloudfront-502-once',
      report:
        'GSA/datagov-wptheme#868: CloudFront 502 "The request could not be satisfied. CloudFront wasn\'t able to connect to the origin." (X-Cache: Error from cloudfront), then the image',
      file: 'cf-502.jpg',
      respond: (s, path) =>
        s.end(
          attempt(path) === 1
            ? cloudfront(502, "CloudFront wasn't able to connect to the origin.")
            : ok(jpg, J, ['X-Cache: Miss from cloudfront']),
        ),
      expect: jpg,
    },
    {
      id: 'cdn-cloudfront-504',
      report:
        'chanzuckerberg/single-cell-data-portal#1250: CloudFront 504 at every request, "CloudFront attempted to establish a connection with the origin, but either the attempt failed or the origin closed the connection."',
      file: 'cf-504.jpg',
      respond: send(
        cloudfront(
          504,
          'CloudFront attempted to establish a connection with the origin, but either the attempt failed or the origin closed the connection.',
        ),
      ),
      expect: undefined,
    },
    {
      id: 'cdn-stale-edge-cut',
      report:
        'wellcomecollection/platform#910 (an edge that caches what it should not): a cache hit (`Age: 3600`, `X-Cache: Hit from cloudfront`) of an object cut short, its full length stated, at every request',
      file: 'stale-cut.jpg',
      respond: (s) => {
        s.write(
          head('200 OK', [
            `Content-Type: ${J}`,
            `Content-Length: ${jpg.length}`,
            'Age: 3600',
            'X-Cache: Hit from cloudfront',
            'Via: 1.1 abc.cloudfront.net (CloudFront)',
          ]),
        )
        s.end(jpg.subarray(0, Math.floor(jpg.length / 2)))
      },
      expect: undefined,
    },
  ]
}

/** A 302 with no Location, the image as its body. */
const send302Body =
  (jpg: Buffer): Respond =>
  (s) =>
    s.end(
      answer(
        '302 Found',
        ['Content-Type: image/jpeg', `Content-Length: ${jpg.length}`, 'Connection: close'],
        jpg,
      ),
    )

export interface Tool {
  id: string
  args(url: string, dir: string, file: string): string[]
  /** The flags that have it take up the bytes a run before it left (none: it does so itself). */
  resume?: string[]
  /** In a resume case, flags for its first run only. */
  firstRun?: string[]
  /** Run in resume cases only. */
  resumeOnly?: boolean
}

export const TOOLS: Tool[] = [
  {
    id: 'imgpull',
    args: (url, dir) => [
      process.execPath,
      join(ROOT, 'dist/imgpull.js'),
      url,
      '-o',
      dir,
      '--retries',
      '2',
      '--no-report',
    ],
  },
  {
    id: 'curl',
    args: (url, dir, file) => [
      'curl',
      '-sS',
      '-L',
      '--fail',
      '--retry',
      '2',
      '--max-time',
      '30',
      '-o',
      join(dir, file),
      url,
    ],
    resume: ['-C', '-'],
  },
  {
    id: 'wget2',
    args: (url, dir) => [
      'wget2',
      '--no-config',
      '-q',
      '--tries=3',
      '--read-timeout=15',
      '-P',
      dir,
      '--cut-file-get-vars',
      url,
    ],
    resume: ['-c'],
  },
  {
    id: 'aria2c',
    args: (url, dir, file) => [
      'aria2c',
      '-q',
      '--max-tries=3',
      '--retry-wait=1',
      '--timeout=15',
      '-d',
      dir,
      '-o',
      file,
      url,
    ],
    resume: ['-c'],
  },
]

/**
 * imgpull whose first run gives up at the cut: its second run resumes from the part file the first
 * left, on the validators its journal kept, rather than within the run. Resume cases only.
 */
export const IMGPULL_RERUN: Tool = {
  id: 'imgpull-rerun',
  args: (url, dir) => [process.execPath, join(ROOT, 'dist/imgpull.js'), url, '-o', dir, '--no-report'],
  firstRun: ['--retries', '0'],
  resumeOnly: true,
}

/** A body's sha256, in hex: how every family tells a file right from another's bytes. */
export const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** What a tool keeps beside its files: imgpull's folder, manifest, report and journal; aria2c's control files. */
const NOT_A_FILE = /^\.imgpull|manifest\.jsonl$|report\.html$|journal|\.aria2$/

/** The non-empty files a tool kept in `dir` (its own bookkeeping left out: `NOT_A_FILE`), with their bytes. */
export async function keptFiles(dir: string): Promise<{ name: string; bytes: Buffer }[]> {
  const files: { name: string; bytes: Buffer }[] = []
  for (const name of await readdir(dir, { recursive: true })) {
    if (NOT_A_FILE.test(String(name))) continue
    const bytes = await readFile(join(dir, String(name))).catch(() => undefined)
    if (bytes && bytes.length > 0) files.push({ name: String(name), bytes })
  }
  return files
}

/** A tool's stderr in one line of at most 600 characters, its progress meters (curl -Z's, imgpull's) left out. */
export function stderrLine(stderr: string): string {
  return stderr
    .split(/[\r\n]+/)
    .filter((l) => !/^\s*$|img\/s|Details:|DL%|--:--/.test(l))
    .slice(0, 4)
    .join(' | ')
    .slice(0, 600)
}

/** A tool fetching a list of URLs (in `listFile`, and given as `urls`) into `dir`: the list families' (connections, a shared link, clocks). */
export interface ListTool {
  id: string
  args(listFile: string, urls: string[], dir: string): string[]
}

/**
 * Runs one tool on a list of `urls`: the list written to a file beside a fresh folder, `argv(listFile,
 * dir)` spawned (killed after `capMs`), then each file it kept judged by `isRight(name, bytes)`.
 * Gives the files right and WRONG (and as `verdict`: `38/40 got, 2 WRONG`), the seconds, the exit code (`null`: killed at the cap) and its
 * stderr in one line. The list families (connections, a shared link, stalls) run their tools so.
 */
export async function runList(
  prefix: string,
  argv: (listFile: string, dir: string) => string[],
  urls: readonly string[],
  capMs: number,
  isRight: (name: string, bytes: Buffer) => boolean,
) {
  const dir = await mkdtemp(join(tmpdir(), `${prefix}-`))
  const listFile = `${dir}.txt`
  await writeFile(listFile, `${urls.join('\n')}\n`)
  const began = performance.now()
  const [cmd, ...args] = argv(listFile, dir)
  const { code, stderr } = await spawnCapped(cmd!, args, capMs)
  const seconds = (performance.now() - began) / 1000
  let right = 0
  let wrong = 0
  for (const { name, bytes } of await keptFiles(dir)) {
    if (isRight(name, bytes)) right++
    else wrong++
  }
  await rm(dir, { recursive: true, force: true })
  await rm(listFile, { force: true })
  const verdict = `${right}/${urls.length} got${wrong ? `, ${wrong} WRONG` : ''}`
  return { right, wrong, verdict, seconds, code, message: stderrLine(stderr) }
}

/**
 * The first line of a tool's `stderr` that `noise` (progress, summaries) does not match: what it
 * said went wrong, at most `max` characters (`''`: nothing). Lines split at `split` (CR too by
 * default: curl's meter); `skipWarnings` takes an error's line before a warning's.
 */
export function errorLine(
  stderr: string,
  noise: RegExp,
  {
    max = 300,
    split = /[\r\n]+/,
    skipWarnings = false,
  }: { max?: number; split?: string | RegExp; skipWarnings?: boolean } = {},
): string {
  const lines = stderr
    .split(split)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !noise.test(l))
  return ((skipWarnings ? lines.find((l) => !/warning/i.test(l)) : undefined) ?? lines[0] ?? '').slice(0, max)
}

/**
 * A tool's line for a Markdown table cell: `scratch` (the run's temporary folder) removed, the
 * local server's origin as `http://h` (or `origin` as `as`), no `|`, `_`, `*` or backquote, at
 * most `max` characters.
 */
export function cellText(
  line: string,
  scratch: RegExp,
  {
    max = 110,
    origin = /https?:\/\/127\.0\.0\.1:\d+/g,
    as = 'http://h',
  }: { max?: number; origin?: RegExp; as?: string } = {},
): string {
  const text = line
    .replace(origin, as)
    .replace(scratch, '')
    .replace(/[|_*`]/g, ' ')
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/**
 * Prints a misbehave bench's table (`rows`, Markdown lines) and the report each case is modelled
 * on, then exits 0 (servers and tools of the run may still hold the event loop).
 */
export function printTable(rows: string[], cases: readonly { id: string; report: string }[]): never {
  console.log(rows.join('\n'))
  console.log('\nSources:')
  for (const c of cases) console.log(`- ${c.id}: ${c.report}`)
  process.exit(0)
}

/**
 * Runs `cmd` with `args` (in `cwd`), stdout ignored, killed with SIGKILL after `capMs`; its exit code
 * (`null`: killed at the cap) and the first 4,000 characters or so of its stderr. Every misbehave
 * bench spawns its tools through it.
 */
export function spawnCapped(
  cmd: string,
  args: string[],
  capMs: number,
  cwd?: string,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.setEncoding('utf8').on('data', (d) => {
      if (err.length < 4000) err += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), capMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stderr: err })
    })
  })
}

/**
 * Runs `tool` on `url` into a fresh folder, `extra` arguments after its own, killed after `capMs`;
 * the verdict on what it kept (`got`, `WRONG`, `refused`, `none`), its seconds, exit code (`null`:
 * killed at the cap) and stderr in one line.
 */
export async function runTool(
  tool: Tool,
  url: string,
  file: string,
  expect: Buffer | undefined,
  alsoGood?: Buffer,
  extra: string[] = [],
  resume = false,
  capMs = 150_000,
) {
  const dir = await mkdtemp(join(tmpdir(), `misbehave-${tool.id}-`))
  const run = (more: string[]) => {
    const [cmd, ...args] = [...tool.args(url, dir, file), ...extra, ...more]
    return spawnCapped(cmd!, args, capMs)
  }
  const began = performance.now()
  let { code, stderr } = await run(resume ? [...(tool.resume ?? []), ...(tool.firstRun ?? [])] : [])
  // A resume case: a failed first run is run again over the bytes it left, as a user would.
  if (resume && code !== 0) {
    const again = await run(tool.resume ?? [])
    code = again.code
    stderr = `${stderr}\n[run again] ${again.stderr}`
  }
  const seconds = (performance.now() - began) / 1000
  const files = (await keptFiles(dir)).map((f) => f.bytes)
  await rm(dir, { recursive: true, force: true })
  const kept = files.length > 0
  const good = [expect, alsoGood].filter((b) => b !== undefined).map(digest)
  const right = expect !== undefined && files.some((f) => good.includes(digest(f)))
  // A resume case's tool that failed leaves its bytes for the next resume, by design: kept, not
  // given as the file (`part`); one that exits 0 over wrong bytes gave them as the file.
  const verdict = right
    ? 'got'
    : kept
      ? resume && code !== 0
        ? 'part'
        : 'WRONG'
      : expect === undefined
        ? 'none'
        : 'refused'
  return {
    verdict,
    seconds,
    code,
    message: stderr
      .trim()
      .split('\n')
      .filter((l) => !/^\s*$|img\/s|Details:/.test(l))
      .join(' | ')
      .slice(0, 600),
  }
}

/** The command line's `--only ID,ID` and `--tools ID,ID` (undefined: all), and its other arguments. */
/**
 * The tools `--tools` picked (every one without it), and the Markdown table's two header rows
 * naming them, one column a tool after the case's. Every side-by-side family prints its table so.
 */
export function toolTable<T extends { id: string }>(
  all: readonly T[],
  toolIds: readonly string[] | undefined,
): { tools: T[]; rows: string[] } {
  const tools = all.filter((t) => !toolIds || toolIds.includes(t.id))
  return {
    tools,
    rows: [`| case | ${tools.map((t) => t.id).join(' | ')} |`, `|---|${tools.map(() => '---').join('|')}|`],
  }
}

/** A tool's outcome where requests are counted and a credential may leak (the logins and headers families). */
export interface LeakResult {
  verdict: string
  leaked: boolean
  requests: number
  code: number | null
  seconds: number
  message: string
}

/** A case's table row (`verdict [LEAK] Nr [≥]S.Ss` a tool) and its log line, each tool's message whole. */
export function leakRow(id: string, results: readonly LeakResult[], tools: readonly { id: string }[]) {
  const leak = (r: LeakResult) => (r.leaked ? ' LEAK' : '')
  return {
    row: `| ${id} | ${results.map((r) => `${r.verdict}${leak(r)} ${r.requests}r ${r.code === null ? '≥' : ''}${r.seconds.toFixed(1)}s`).join(' | ')} |`,
    log: `${id}: ${results.map((r, i) => `${tools[i]!.id}=${r.verdict}${leak(r)}(${r.code}) ${r.message}`).join('\n   ')}`,
  }
}

/** A page of the browser `--browser` launches (test/support/browser.ts). */
export type BrowserPage = Awaited<ReturnType<Awaited<ReturnType<typeof launchBrowser>>['open']>>

/**
 * What Chromium makes of `url` in an `<img>`, the yardstick for "a file browsers show whole":
 * `shows WxH` (loaded and decoded), `does not decode`, `broken`, or `no load in 20 s`.
 */
export function chromiumShows(page: BrowserPage, url: string): Promise<string> {
  return page.evaluate(
    (src) =>
      new Promise<string>((resolve) => {
        const img = new Image()
        const timer = setTimeout(() => resolve('no load in 20 s'), 20_000)
        img.onload = () => {
          clearTimeout(timer)
          img.decode().then(
            () => resolve(`shows ${img.naturalWidth}x${img.naturalHeight}`),
            () => resolve('does not decode'),
          )
        }
        img.onerror = () => {
          clearTimeout(timer)
          resolve('broken')
        }
        img.src = src
      }),
    url,
  )
}

export function benchArgs() {
  const argv = process.argv.slice(2)
  const pick = (flag: string) => {
    const i = argv.indexOf(flag)
    return i >= 0 ? argv[i + 1]!.split(',') : undefined
  }
  return { argv, only: pick('--only'), toolIds: pick('--tools') }
}

async function main() {
  const { argv, only, toolIds } = benchArgs()
  const all = await cases()
  const chosen = only ? all.filter((c) => only.includes(c.id)) : all
  const tools = [...TOOLS, IMGPULL_RERUN].filter((t) => !toolIds || toolIds.includes(t.id))
  const byFile = new Map(chosen.map((c) => [c.file, c]))
  /** The ranges each tool asked for a resume case, by path, with the If-Range it sent. */
  const ranges = new Map<string, string[]>()
  const server = createServer((socket) => {
    socket.on('error', () => {})
    eachRequest(socket, (request) => {
      const path = request.split(' ')[1] ?? '/'
      const name = path.split('?')[0]!.split('/').at(-1)!
      const c = byFile.get(name)
      const asked = askedOf(request)
      if (c?.resume && asked.from !== undefined)
        ranges.set(path, [
          ...(ranges.get(path) ?? []),
          `${asked.from}${asked.ifRange ? ` If-Range ${asked.ifRange}` : ''}`,
        ])
      if (c) c.respond(socket, path, request)
      else if (name === 'page.html')
        socket.end(ok(Buffer.from('<!doctype html><title>p</title>'), 'text/html'))
      else socket.end(head('404 Not Found', ['Content-Length: 0']))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  const browser = argv.includes('--browser') ? await launchBrowser() : undefined
  const page = await browser?.open()
  await page?.goto(`http://127.0.0.1:${port}/page.html`)
  const rows: string[] = []
  rows.push(`| case | ${tools.map((t) => t.id).join(' | ')}${page ? ' | chromium' : ''} |`)
  rows.push(`|---|${tools.map(() => '---').join('|')}${page ? '|---' : ''}|`)
  for (const c of chosen) {
    // Each tool under a folder of its own, so a case that answers by attempt counts each tool's.
    const url = `http://127.0.0.1:${port}/chromium/${c.file}`
    const results = await Promise.all(
      tools.map((t) =>
        t.resumeOnly && !c.resume
          ? { verdict: '·', seconds: 0, code: 0, message: '' }
          : runTool(
              t,
              `http://${c.userinfo ? `${c.userinfo}@` : ''}127.0.0.1:${port}/${t.id}/${c.file}`,
              c.file,
              c.expect,
              c.alsoGood,
              [],
              c.resume,
            ),
      ),
    )
    // Whether Chromium shows it (a fresh URL: no answer of an earlier tool's cached).
    const shown = page && (await chromiumShows(page, `${url}?${Math.random()}`))
    rows.push(
      `| ${c.id} | ${results.map((r) => `${r.verdict} ${r.seconds.toFixed(1)}s`).join(' | ')}${page ? ` | ${shown}` : ''} |`,
    )
    console.error(
      `${c.id}: ${results.map((r, i) => `${tools[i]!.id}=${r.verdict}(${r.code}) ${c.resume ? `[ranges: ${(ranges.get(`/${tools[i]!.id}/${c.file}`) ?? []).join('; ') || 'none'}] ` : ''}${r.message}`).join('\n   ')}`,
    )
  }
  await browser?.close()
  server.close()
  printTable(rows, chosen)
}

// Run only as a script: bench/misbehave-tls.ts imports the tools from here.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
