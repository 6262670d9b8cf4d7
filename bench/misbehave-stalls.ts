import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer as createTlsServer, type TLSSocket } from 'node:tls'
import { fileURLToPath } from 'node:url'
import { makeCerts } from '../test/support/certs.js'
import { eachRequest } from '../test/support/raw-server.js'
import { benchArgs, digest, noise, printTable, runList, runTool, type Tool } from './misbehave.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** What the server knows when a request comes. */
interface Served {
  /** Requests so far on this tool's server, this one included. */
  attempt: number
  /** 1 for the first connection, 2 for the second... */
  connection: number
  /** Requests so far on this connection, this one included. */
  onConnection: number
  /** The request's head. */
  request: string
  /** The file's index in a list case (0 otherwise). */
  index: number
  /** Files sent whole so far on this server. */
  whole: () => number
  /** Count a file as sent whole. */
  sent: () => void
}

interface StallCase {
  id: string
  /** The report this server is modelled on. */
  report: string
  /** Over TLS; `stallHandshake(n)`: the nth connection's ClientHello gets no answer. */
  tls?: { stallHandshake: (connection: number) => boolean }
  /** A list of this many files on the host (one URL otherwise). */
  files?: number
  /** Answers one request; the socket is the case's (left open: silence). */
  respond: (socket: Socket, served: Served, image: Buffer) => void
  /** `false`: the image never comes whole (`refused` is right). */
  servable?: boolean
}

const jpeg = (w: number, h: number) => noise(w, h).jpeg({ quality: 80 }).toBuffer()
const IMAGE = await jpeg(400, 300)
/** The files of a list case: each its own bytes. */
const LIST = await Promise.all(Array.from({ length: 40 }, (_, n) => jpeg(200 + n, 150)))
const listImage = (n: number) => LIST[n]!
/** The list images' sha256s: a list case's kept file is right when it is one of them. */
const GOOD_LIST = new Set(LIST.map(digest))
/** A list case's URLs: `files` of the list images from `origin`. */
const listOf = (origin: string, files: number) =>
  Array.from({ length: files }, (_, i) => `${origin}/f${i}.jpg`)

const head = (fields: string[], status = '200 OK') =>
  Buffer.from(`HTTP/1.1 ${status}\r\n${fields.map((f) => `${f}\r\n`).join('')}\r\n`)
const whole = (body: Buffer, more: string[] = []) =>
  Buffer.concat([
    head(['Content-Type: image/jpeg', `Content-Length: ${body.length}`, 'Accept-Ranges: bytes', ...more]),
    body,
  ])
/** The bytes from `from` of `body` as a 206, when the request asked for them; else undefined. */
function partial(request: string, body: Buffer): Buffer | undefined {
  // `bytes=N-`, or `bytes=N-M` as aria2c asks (served to the end all the same).
  const from = /^range:\s*bytes=(\d+)-\d*\s*$/im.exec(request)?.[1]
  if (from === undefined) return undefined
  const start = Number(from)
  return Buffer.concat([
    head(
      [
        'Content-Type: image/jpeg',
        `Content-Length: ${body.length - start}`,
        `Content-Range: bytes ${start}-${body.length - 1}/${body.length}`,
        'Accept-Ranges: bytes',
      ],
      '206 Partial Content',
    ),
    body.subarray(start),
  ])
}
const chunk = (b: Buffer) =>
  Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')])
/** Writes `bytes` to `socket` `per` bytes a second until `until` says stop (or the socket goes). */
function trickle(socket: Socket, bytes: Buffer, per: number, done?: () => void) {
  let at = 0
  const timer = setInterval(() => {
    if (socket.destroyed) return clearInterval(timer)
    socket.write(bytes.subarray(at, at + per))
    at += per
    if (at >= bytes.length) {
      clearInterval(timer)
      done?.()
    }
  }, 1000)
  socket.on('close', () => clearInterval(timer))
}

function cases(): StallCase[] {
  const half = (b: Buffer) => b.subarray(0, b.length >> 1)
  return [
    {
      id: 'silent-accept',
      report:
        'curl/curl#11873 (libcurl hangs indefinitely instead of failing or retrying); bigcommerce/bigcommerce-api-php#83 (curl has no default timeout: a connection that never answers hangs)',
      respond: () => {},
      servable: false,
    },
    {
      id: 'silent-first',
      report:
        'OGGM/oggm#1932 (a server that accepted and stalled blocked for 60-80 min; the retry loop never ran because nothing raised)',
      respond: (s, q, img) => {
        if (q.attempt > 1) s.end(whole(img))
      },
    },
    {
      id: 'head-then-silence',
      report:
        'KSAModding/Borea#105 (a host sends the headers, then holds the body open forever); browserbase/sdk-node#206 (timeout ends at the headers, a stalled body hangs)',
      respond: (s, _q, img) => s.write(whole(img).subarray(0, whole(img).length - img.length)),
      servable: false,
    },
    {
      id: 'half-length-range',
      report:
        'smith-chem-wisc/mzLib#1199 (a body that stops mid-transfer, no read deadline); served whole from the byte asked on the retry (Range)',
      respond: (s, q, img) => {
        const rest = partial(q.request, img)
        if (rest) s.end(rest)
        else if (q.attempt > 1) s.end(whole(img))
        else s.write(whole(img).subarray(0, whole(img).length - (img.length >> 1)))
      },
    },
    {
      id: 'half-length-norange',
      report:
        'Crosstalk-Solutions/project-nomad#354 (axios covers the connection, not the body: a stalled server hangs it); no Range support, whole again on the retry',
      respond: (s, q, img) => {
        const full = Buffer.concat([head(['Content-Type: image/jpeg', `Content-Length: ${img.length}`]), img])
        if (q.attempt > 1) s.end(full)
        else s.write(full.subarray(0, full.length - (img.length >> 1)))
      },
    },
    {
      id: 'half-chunked',
      report:
        'n8n-io/n8n#32411 (a stream that never terminates: keep-alive, chunked, no end); whole on the retry',
      respond: (s, q, img) => {
        s.write(head(['Content-Type: image/jpeg', 'Transfer-Encoding: chunked']))
        s.write(chunk(half(img)))
        if (q.attempt > 1)
          s.end(Buffer.concat([chunk(img.subarray(img.length >> 1)), Buffer.from('0\r\n\r\n')]))
      },
    },
    {
      id: 'half-chunked-always',
      report:
        'openclaw/openclaw#80006 (200, headers and a first chunk, then the body never completes): every attempt, so no file is right',
      respond: (s, _q, img) => {
        s.write(head(['Content-Type: image/jpeg', 'Transfer-Encoding: chunked']))
        s.write(chunk(half(img)))
      },
      servable: false,
    },
    {
      id: 'half-length-always',
      report:
        'n8n-io/n8n#32411 (keep-alive with an unsatisfied Content-Length): every attempt, Range refused (200 again), so no file is right',
      respond: (s, _q, img) => {
        const full = Buffer.concat([head(['Content-Type: image/jpeg', `Content-Length: ${img.length}`]), img])
        s.write(full.subarray(0, full.length - (img.length >> 1)))
      },
      servable: false,
    },
    {
      id: 'trickle-forever',
      report:
        'postmanlabs/httpbin#642 (requests never times out on a server sending a byte a second); openclaw/openclaw#5889 (1 byte a minute holds a download forever): 4 B/s of a 5 MB length',
      respond: (s, _q, img) => {
        s.write(head(['Content-Type: image/jpeg', `Content-Length: ${5_000_000}`]))
        trickle(s, Buffer.concat([img, Buffer.alloc(5_000_000 - img.length)]), 4)
      },
      servable: false,
    },
    {
      id: 'trickle-steady',
      report:
        'iosifache/annas-mcp#15 and drakulavich/kesha-voice-kit#893 (a whole-request cap fails a slow but healthy body): the image at an eighth of it a second, 8 s, must be got',
      respond: (s, _q, img) => {
        const all = whole(img)
        trickle(s, all, Math.ceil(all.length / 8), () => s.end())
      },
    },
    {
      id: 'idle-dead-keepalive',
      report:
        'nodejs/node#54293 and nodejs/node#47130 (a kept-alive socket the server dropped while idle: the next request on it fails or hangs): a 302 kept alive, then the connection silent (a NAT that forgot it), a new one served',
      respond: (s, q, img) => {
        if (/^GET \S*\/moved\.jpg/.test(q.request)) {
          if (q.onConnection === 1) s.end(whole(img))
          return
        }
        s.write(head(['Location: moved.jpg', 'Content-Length: 0', 'Connection: keep-alive'], '302 Found'))
      },
    },
    {
      id: 'idle-reset-keepalive',
      report:
        'node-modules/agentkeepalive#23 (the server closes an idle kept-alive socket as a request goes out: ECONNRESET): a 302 kept alive, then the next request on it reset',
      respond: (s, q, img) => {
        if (/^GET \S*\/moved\.jpg/.test(q.request)) {
          if (q.onConnection === 1) s.end(whole(img))
          else s.resetAndDestroy()
          return
        }
        s.write(head(['Location: moved.jpg', 'Content-Length: 0', 'Connection: keep-alive'], '302 Found'))
      },
    },
    {
      id: 'tls-handshake-first',
      report:
        'nature-lang/nature#300 (a TLS handshake with no timeout after the TCP connect hangs forever); curl/curl#4170 (a server that ignores the ClientHello): the first connection only',
      tls: { stallHandshake: (n) => n === 1 },
      respond: (s, _q, img) => s.end(whole(img)),
    },
    {
      id: 'tls-handshake-always',
      report: 'nature-lang/nature#300 (a blackholing middlebox completes TCP, drops TLS): every connection',
      tls: { stallHandshake: () => true },
      respond: (s, _q, img) => s.end(whole(img)),
      servable: false,
    },
    {
      id: 'continue-then-silence',
      report:
        'ratpack/ratpack#852 (a server answers 100 Continue, then never the final answer): the first attempt only',
      respond: (s, q, img) => {
        if (q.attempt > 1) return void s.end(whole(img))
        s.write(head([], '100 Continue'))
      },
    },
    {
      id: 'whole-then-held',
      report:
        'curl/curl#807 (curl waits on a connection the server holds open): no length, the whole image, then the connection held open (a body framed by the close that never comes)',
      respond: (s, _q, img) =>
        s.write(Buffer.concat([head(['Content-Type: image/jpeg', 'Connection: close']), img])),
    },
    {
      id: 'chunked-no-last',
      report:
        'nodejs/undici#5393 (a stalled upstream mid-response: no FIN, no RST): every chunk of the image, then silence where the last chunk should be',
      respond: (s, _q, img) => {
        s.write(head(['Content-Type: image/jpeg', 'Transfer-Encoding: chunked']))
        s.write(chunk(img))
      },
    },
    {
      id: 'redirect-body-stall',
      report:
        'curl/curl#807 (a client held by what the server does not send): a 302 whose stated 512-byte body never comes, its Location served',
      respond: (s, q, img) => {
        if (/^GET \S*\/target\.jpg/.test(q.request)) return void s.end(whole(img))
        s.write(head(['Location: target.jpg', 'Content-Type: text/html', 'Content-Length: 512'], '302 Found'))
      },
    },
    {
      id: 'error-body-stall',
      report:
        'decolua/9router#3220 (an upstream that answers then stalls mid-body): a 503 with Retry-After 1 whose stated body never comes, then the image',
      respond: (s, q, img) => {
        if (q.attempt > 1) return void s.end(whole(img))
        s.write(
          head(
            ['Retry-After: 1', 'Content-Type: text/html', 'Content-Length: 512'],
            '503 Service Unavailable',
          ),
        )
      },
    },
    {
      id: 'stall-after-4',
      report:
        'rom1504/img2dataset#289 and #164 (a run that stops making progress near its end and never exits): 40 files, the host silent to every request after 4 were served',
      files: 40,
      respond: (s, q, img) => {
        if (q.whole() >= 4) return
        q.sent()
        s.end(whole(img))
      },
    },
  ]
}

/** Each tool as it comes: its defaults, a file name where it needs one, a CA for TLS cases. */
interface DefaultTool extends Tool {
  /** A list of URLs (a file of them) into `dir`. */
  list(listFile: string, urls: string[], dir: string): string[]
  ca(ca: string): string[]
}

const DEFAULTS: DefaultTool[] = [
  {
    id: 'imgpull',
    args: (url, dir) => [process.execPath, join(ROOT, 'dist/imgpull.js'), url, '-o', dir, '--no-report'],
    list: (file, _urls, dir) => [
      process.execPath,
      join(ROOT, 'dist/imgpull.js'),
      file,
      '-o',
      dir,
      '--no-report',
    ],
    ca: (ca) => ['--ca-cert', ca],
  },
  {
    id: 'curl',
    args: (url, dir, file) => ['curl', '-sS', '-L', '--fail', '-o', join(dir, file), url],
    list: (_file, urls, dir) => [
      'curl',
      '-sS',
      '-L',
      '--fail',
      '--output-dir',
      dir,
      '--remote-name-all',
      ...urls,
    ],
    ca: (ca) => ['--cacert', ca],
  },
  {
    id: 'wget2',
    args: (url, dir) => ['wget2', '--no-config', '-q', '-P', dir, url],
    list: (file, _urls, dir) => ['wget2', '--no-config', '-q', '-P', dir, '-i', file],
    ca: (ca) => [`--ca-certificate=${ca}`],
  },
  {
    id: 'aria2c',
    args: (url, dir, file) => ['aria2c', '-q', '-d', dir, '-o', file, url],
    list: (file, _urls, dir) => ['aria2c', '-q', '-d', dir, '-i', file],
    ca: (ca) => [`--ca-certificate=${ca}`],
  },
]

/** A fresh server for one tool on one case: `origin`, and `close()`. */
async function serve(c: StallCase, certs: { cert: string; key: string } | undefined) {
  let attempt = 0
  let connection = 0
  let served = 0
  const sockets = new Set<Socket>()
  const onSocket = (socket: Socket, n: number) => {
    socket.on('error', () => {})
    let onConnection = 0
    eachRequest(socket, (request) => {
      const name = request.split(' ')[1]?.split('?')[0]?.split('/').at(-1) ?? ''
      const index = Number(/^f(\d+)\.jpg$/.exec(name)?.[1] ?? 0)
      c.respond(
        socket,
        {
          attempt: ++attempt,
          connection: n,
          onConnection: ++onConnection,
          request,
          index,
          whole: () => served,
          sent: () => void served++,
        },
        c.files ? listImage(index) : IMAGE,
      )
    })
  }
  const tls = certs
    ? createTlsServer({ cert: await readFile(certs.cert), key: await readFile(certs.key) }, (s: TLSSocket) =>
        onSocket(s, connection),
      )
    : undefined
  tls?.on('tlsClientError', () => {})
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    const n = ++connection
    if (c.tls?.stallHandshake(n)) return // its ClientHello is read and never answered
    if (tls) tls.emit('connection', socket)
    else onSocket(socket, n)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  return {
    origin: `${tls ? 'https://localhost' : 'http://127.0.0.1'}:${port}`,
    close: () => {
      for (const s of sockets) s.destroy()
      server.close()
    },
  }
}

async function main() {
  const { argv, only, toolIds } = benchArgs()
  const capAt = argv.indexOf('--cap')
  const capMs = (capAt >= 0 ? Number(argv[capAt + 1]) : 75) * 1000
  const extraAt = argv.indexOf('--extra')
  const extra = extraAt >= 0 ? argv[extraAt + 1]!.split(' ').filter(Boolean) : []
  const chosen = cases().filter((c) => !only || only.includes(c.id))
  const tools = DEFAULTS.filter((t) => !toolIds || toolIds.includes(t.id))
  const certDir = await mkdtemp(join(tmpdir(), 'stalls-certs-'))
  const certs = makeCerts(certDir)
  const rows = [
    `| case | ${tools.map((t) => t.id).join(' | ')} |`,
    `|---|${tools.map(() => '---').join('|')}|`,
  ]
  for (const c of chosen) {
    // All four at once, each against a server of its own.
    const results = await Promise.all(
      tools.map(async (t) => {
        const server = await serve(c, c.tls ? certs.good : undefined)
        const more = [...(c.tls ? t.ca(certs.ca) : []), ...(t.id === 'imgpull' ? extra : [])]
        try {
          const urls = c.files ? listOf(server.origin, c.files) : []
          return c.files
            ? await runList(
                `stalls-${t.id}`,
                (file, dir) => [...t.list(file, urls, dir), ...more],
                urls,
                capMs,
                (_name, bytes) => GOOD_LIST.has(digest(bytes)),
              )
            : await runTool(
                t,
                `${server.origin}/${c.id}.jpg`,
                `${c.id}.jpg`,
                IMAGE,
                undefined,
                more,
                false,
                capMs,
              )
        } finally {
          server.close()
        }
      }),
    )
    rows.push(
      `| ${c.id} | ${results.map((r) => `${r.verdict} ${r.code === null ? '≥' : ''}${r.seconds.toFixed(1)}s`).join(' | ')} |`,
    )
    console.error(
      `${c.id}: ${results.map((r, i) => `${tools[i]!.id}=${r.verdict}(${r.code}) ${r.message}`).join('\n   ')}`,
    )
  }
  await rm(certDir, { recursive: true, force: true })
  printTable(rows, chosen)
}

await main()
