/**
 * Side by side on misbehaving servers: each case is one answer a real server was reported to send
 * (the bug report is named with it), served raw from 127.0.0.1, fetched by imgpull and its peers
 * one URL at a time. Prints, per case and tool, whether the file kept is the server's image
 * (`got`), something else (`WRONG`), or nothing (`-`), and the seconds it took.
 *
 *   npm run build && node --import tsx bench/misbehave.ts [--only ID,ID] [--tools imgpull,curl]
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import sharp from 'sharp'
import { launchBrowser } from '../test/support/browser.js'

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
}

const noise = (w: number, h: number) =>
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
  ]
  return list
}

interface Tool {
  id: string
  args(url: string, dir: string, file: string): string[]
}

const TOOLS: Tool[] = [
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
  },
]

const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex')

async function runTool(tool: Tool, url: string, file: string, expect: Buffer | undefined) {
  const dir = await mkdtemp(join(tmpdir(), `misbehave-${tool.id}-`))
  const [cmd, ...args] = tool.args(url, dir, file)
  const began = performance.now()
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.setEncoding('utf8').on('data', (d) => {
      err += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('close', (c) => {
      clearTimeout(timer)
      resolve({ code: c, stderr: err })
    })
  })
  const seconds = (performance.now() - began) / 1000
  const files: Buffer[] = []
  for (const name of await readdir(dir, { recursive: true })) {
    if (/^\.imgpull|^manifest\.jsonl$|^report\.html$|journal|\.aria2$/.test(String(name))) continue
    const b = await readFile(join(dir, String(name))).catch(() => undefined)
    if (b && b.length > 0) files.push(b)
  }
  await rm(dir, { recursive: true, force: true })
  const kept = files.length > 0
  const right = expect !== undefined && files.some((f) => digest(f) === digest(expect))
  const verdict = right ? 'got' : kept ? 'WRONG' : expect === undefined ? 'none' : 'refused'
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

async function main() {
  const argv = process.argv.slice(2)
  const pick = (flag: string) => {
    const i = argv.indexOf(flag)
    return i >= 0 ? argv[i + 1]!.split(',') : undefined
  }
  const only = pick('--only')
  const toolIds = pick('--tools')
  const all = await cases()
  const chosen = only ? all.filter((c) => only.includes(c.id)) : all
  const tools = toolIds ? TOOLS.filter((t) => toolIds.includes(t.id)) : TOOLS
  const byFile = new Map(chosen.map((c) => [c.file, c]))
  const server = createServer((socket) => {
    socket.on('error', () => {})
    let buffered = ''
    socket.on('data', (d) => {
      buffered += d.toString('latin1')
      let end = buffered.indexOf('\r\n\r\n')
      while (end >= 0) {
        const request = buffered.slice(0, end)
        buffered = buffered.slice(end + 4)
        const path = request.split(' ')[1] ?? '/'
        const name = path.split('?')[0]!.split('/').at(-1)!
        const c = byFile.get(name)
        if (c) c.respond(socket, path, request)
        else if (name === 'page.html')
          socket.end(ok(Buffer.from('<!doctype html><title>p</title>'), 'text/html'))
        else socket.end(head('404 Not Found', ['Content-Length: 0']))
        end = buffered.indexOf('\r\n\r\n')
      }
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
    const url = `http://127.0.0.1:${port}/${c.file}`
    const results = await Promise.all(tools.map((t) => runTool(t, url, c.file, c.expect)))
    // Whether Chromium shows it: an <img> that loads and decodes, and its size.
    const shown = await page?.evaluate(
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
          img.src = `${src}?${Math.random()}`
        }),
      url,
    )
    rows.push(
      `| ${c.id} | ${results.map((r) => `${r.verdict} ${r.seconds.toFixed(1)}s`).join(' | ')}${page ? ` | ${shown}` : ''} |`,
    )
    console.error(
      `${c.id}: ${results.map((r, i) => `${tools[i]!.id}=${r.verdict}(${r.code}) ${r.message}`).join('\n   ')}`,
    )
  }
  await browser?.close()
  server.close()
  console.log(rows.join('\n'))
  console.log('\nSources:')
  for (const c of chosen) console.log(`- ${c.id}: ${c.report}`)
  process.exit(0)
}

await main()
