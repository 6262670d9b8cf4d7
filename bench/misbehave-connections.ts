import { createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { eachRequest } from '../test/support/raw-server.js'
import { benchArgs, digest, type ListTool, noise, printTable, runList, toolTable } from './misbehave.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** What the server knows when a request comes. */
interface Served {
  /** 1 for the first connection, 2 for the second... */
  connection: number
  /** Requests so far on this connection, this one included. */
  onConnection: number
  /** The file's index in the list. */
  index: number
  /** Requests so far for this file, this one included. */
  forFile: number
  /** Bytes this connection has written so far (before this answer). */
  written: () => number
}

interface ConnCase {
  id: string
  /** The report this server is modelled on. */
  report: string
  /** Answers one request on `socket` (left open: silence), `body` the file's image. */
  respond: (socket: Socket, served: Served, body: Buffer) => void
}

const FILES = (() => {
  const at = process.argv.indexOf('--files')
  return at >= 0 ? Number(process.argv[at + 1]) : 40
})()
/** The files of the list: each its own bytes (2-3 KB). */
const LIST = await Promise.all(
  Array.from({ length: FILES }, (_, n) =>
    noise(40 + n, 30)
      .jpeg({ quality: 80 })
      .toBuffer(),
  ),
)
/** An image in no file of the list: what an answer sent unasked carries. */
const STRAY = await noise(33, 21).jpeg({ quality: 80 }).toBuffer()

const head = (fields: string[], status = '200 OK', version = 'HTTP/1.1') =>
  Buffer.from(`${version} ${status}\r\n${fields.map((f) => `${f}\r\n`).join('')}\r\n`)
/** A 200 of `body`, its length stated, with `more` fields. */
const whole = (body: Buffer, more: string[] = [], version = 'HTTP/1.1') =>
  Buffer.concat([
    head(['Content-Type: image/jpeg', `Content-Length: ${body.length}`, ...more], '200 OK', version),
    body,
  ])
/** Resets `socket` (SO_LINGER 0): an RST in place of a FIN. */
const reset = (socket: Socket) => socket.resetAndDestroy()
/** Per-connection limit of the keepalive_requests cases. */
const MAX = 5

function cases(): ConnCase[] {
  return [
    {
      id: 'requests-close',
      report:
        "igrigorik/em-http-request#225 (nginx's keepalive_requests: after 100 answers the last says `Connection: close` and the server sends FIN): 5 answers a connection, the 5th with `Connection: close`, then the close",
      respond: (s, q, img) => {
        if (q.onConnection < MAX) return void s.write(whole(img))
        s.end(whole(img, ['Connection: close']))
      },
    },
    {
      id: 'requests-half-close',
      report:
        'drbrain/net-http-persistent#42 (servers with a max_requests that close the connection out of band, not with `Connection: close`: ECONNRESET on the next): 5 answers, no `Connection: close`, then FIN after the 5th; the server still reads and never answers a request sent after it',
      respond: (s, q, img) => {
        if (q.onConnection < MAX) return void s.write(whole(img))
        if (q.onConnection === MAX) return void s.end(whole(img))
      },
    },
    {
      id: 'requests-drop-next',
      report:
        'nginx/nginx#456 and psf/requests#3458 (a request sent as the server closes a kept-alive connection gets no answer: RemoteDisconnected, curl\'s "Empty reply from server"): 5 answers, no `Connection: close`, and the 6th request on the connection read and closed unanswered (FIN)',
      respond: (s, q, img) => {
        if (q.onConnection <= MAX) return void s.write(whole(img))
        s.end()
      },
    },
    {
      id: 'requests-rst-next',
      report:
        'nginx/nginx#303 (a request sent as nginx sends its FIN on a kept-alive connection is reset): 5 answers, no `Connection: close`, and the 6th request on the connection reset unanswered',
      respond: (s, q, img) => {
        if (q.onConnection <= MAX) return void s.write(whole(img))
        reset(s)
      },
    },
    {
      id: 'empty-fresh-once',
      report:
        'Extra-Chill/data-machine#2349 and OPENDAP/bes#386 (curl error 52 "Empty reply from server", retried): the first request for every 8th file closed unanswered on a connection of its own (not a reused one: a real failure, to retry after its backoff)',
      respond: (s, q, img) => {
        if (q.index % 8 === 3 && q.forFile === 1) return void s.end()
        s.write(whole(img))
      },
    },
    {
      id: 'keepalive-max-hint',
      report:
        'dotnet/runtime#72958 (a client that ignores `Keep-Alive: timeout=, max=`: the server errs on requests past them) and swift-server/http#41 (max counts the requests left): `Keep-Alive: timeout=5, max=4` down to `max=0` over 5 answers, no `Connection: close`, the 6th request closed unanswered',
      respond: (s, q, img) => {
        if (q.onConnection > MAX) return void s.end()
        s.write(whole(img, ['Connection: Keep-Alive', `Keep-Alive: timeout=5, max=${MAX - q.onConnection}`]))
      },
    },
    {
      id: 'close-held-open',
      report:
        'ninenines/cowboy#64 (a client that ignores `Connection: close` after the first answer keeps sending on the connection; the server must close it) and http-kit/http-kit#357: every answer says `Connection: close` and the connection is left open, a request sent on it never read',
      respond: (s, q, img) => {
        if (q.onConnection === 1) s.write(whole(img, ['Connection: close']))
      },
    },
    {
      id: 'http10-keepalive',
      report:
        'envoyproxy/envoy#9797 and palantir/dialogue#2537 (HTTP/1.0 keeps a connection only with `Connection: keep-alive`): HTTP/1.0 answers with `Connection: keep-alive` and a length, the connection served on',
      respond: (s, _q, img) => s.write(whole(img, ['Connection: keep-alive'], 'HTTP/1.0')),
    },
    {
      id: 'http10-held-open',
      report:
        'envoyproxy/envoy#7123 (HTTP/1.0 answers without `Connection: keep-alive` kept alive: the requests reusing them fail) and palantir/dialogue#2537: HTTP/1.0 answers with a length and no Connection field, the connection left open, a request sent on it never read',
      respond: (s, q, img) => {
        if (q.onConnection === 1) s.write(whole(img, [], 'HTTP/1.0'))
      },
    },
    {
      id: 'unsolicited-answer',
      report:
        'aio-libs/aiohttp#13656 (a pooled connection queues an answer the server sent unasked: the next request on it is given that answer) and cloudflare/cloudflared#1039 ("Unsolicited response received on idle HTTP channel"): the 2nd answer on each connection followed, in the same write, by a 200 of another image no request asked for',
      respond: (s, q, img) => {
        s.write(q.onConnection === 2 ? Buffer.concat([whole(img), whole(STRAY)]) : whole(img))
      },
    },
    {
      id: 'unsolicited-late',
      report:
        'aio-libs/aiohttp#13656 (an answer sent unasked, given to the next request on the connection): the same 200 of another image, sent 1 ms after the 2nd answer on each connection, as the client may be sending its next request',
      respond: (s, q, img) => {
        s.write(whole(img))
        if (q.onConnection === 2) setTimeout(() => s.writable && s.write(whole(STRAY)), 1)
      },
    },
    {
      id: 'idle-408',
      report:
        "jetty/jetty.project#5152 (HAProxy times an idle kept-alive connection out with a 408 no request asked for, then closes): after each connection's 3rd answer, `408 Request Timeout` with `Connection: close`, sent unasked, then FIN",
      respond: (s, q, img) => {
        if (q.onConnection < 3) return void s.write(whole(img))
        if (q.onConnection > 3) return
        s.write(whole(img))
        const body = Buffer.from('<html><body><h1>408 Request Time-out</h1></body></html>\n')
        setTimeout(
          () =>
            s.writable &&
            s.end(
              Buffer.concat([
                head(
                  ['Content-Type: text/html', `Content-Length: ${body.length}`, 'Connection: close'],
                  '408 Request Time-out',
                ),
                body,
              ]),
            ),
          1,
        )
      },
    },
    {
      id: 'garbage-after-body',
      report:
        'nodejs/node#37676 (bytes past a Content-Length read as the next answer: "Parse Error: Expected HTTP/") and ledgetech/lua-resty-http#137 ("unread data in buffer": a connection not safe to reuse): the 3rd answer on each connection followed by 24 stray bytes',
      respond: (s, q, img) => {
        s.write(whole(img))
        if (q.onConnection === 3) s.write('\x00\x00garbage-after-the-body\n')
      },
    },
    {
      id: 'length-under-kept',
      report:
        'MonstaApps/Monsta-FTP#65 (a Content-Length short of the body sent) and web-platform-tests/wpt#10548 (the rest of one answer read as the start of the next): every 8th file with a length 300 bytes short of its body, the connection kept, the bytes past the length where the next answer should begin',
      respond: (s, q, img) => {
        if (q.index % 8 !== 5) return void s.write(whole(img))
        s.write(
          Buffer.concat([head(['Content-Type: image/jpeg', `Content-Length: ${img.length - 300}`]), img]),
        )
      },
    },
    {
      id: 'crlf-after-body',
      report:
        'hyperium/hyper#645 (be resilient to invalid response bodies: skip to the next answer) and nodejs/node-v0.x-archive#5493 (bytes after a chunked body\'s end): every answer followed by an extra CRLF, as servers that end a body with "\\r\\n" write',
      respond: (s, _q, img) => s.write(Buffer.concat([whole(img), Buffer.from('\r\n')])),
    },
    {
      id: 'lb-rst-bytes',
      report:
        'thecoder75/liveme-pro-tools#7 (a CDN that drops connections carrying much traffic: ECONNRESET mid-download) and nodejs/node#27363 (a balancer that resets kept-alive connections): a connection reset once it has sent 12 KB, in the middle of the answer that passes it',
      respond: (s, q, img) => {
        const bytes = whole(img)
        const left = 12_000 - q.written()
        if (bytes.length <= left) return void s.write(bytes)
        s.write(bytes.subarray(0, Math.max(left, 1)), () => setTimeout(() => reset(s), 2))
      },
    },
    {
      id: 'timeout-race',
      report:
        'nodejs/node#47130 and stella/stella#1697 (a server whose keep-alive timeout ends as the client reuses the connection: the request is lost, ECONNRESET or a hang): each connection closed 0-4 ms after an answer, at random, a request come meanwhile unanswered (then reset)',
      respond: (s, _q, img) => {
        s.write(whole(img), () =>
          setTimeout(() => {
            s.end()
            setTimeout(() => s.destroy(), 2)
          }, Math.random() * 4),
        )
      },
    },
  ]
}

const TOOLS: ListTool[] = [
  {
    id: 'imgpull',
    args: (file, _urls, dir) => [
      process.execPath,
      join(ROOT, 'dist/imgpull.js'),
      file,
      '-o',
      dir,
      '--per-host',
      '4',
      '--retries',
      '2',
      '--no-report',
    ],
  },
  {
    id: 'curl',
    args: (_file, urls, dir) => [
      'curl',
      '-sS',
      '--fail',
      '--retry',
      '2',
      '--max-time',
      '30',
      '-Z',
      '--parallel-max',
      '4',
      '--output-dir',
      dir,
      '--remote-name-all',
      ...urls,
    ],
  },
  {
    id: 'wget2',
    args: (file, _urls, dir) => [
      'wget2',
      '--no-config',
      '-q',
      '--tries=3',
      '--read-timeout=15',
      '--max-threads=4',
      '-P',
      dir,
      '-i',
      file,
    ],
  },
  {
    id: 'aria2c',
    args: (file, _urls, dir) => [
      'aria2c',
      '-q',
      '--max-tries=3',
      '--retry-wait=1',
      '--timeout=15',
      '-j',
      '4',
      '-d',
      dir,
      '-i',
      file,
    ],
  },
]

/** A fresh server for one tool on one case: its origin, counts, and `close()`. */
async function serve(c: ConnCase) {
  let connections = 0
  let requests = 0
  const perFile = new Map<number, number>()
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    const n = ++connections
    let onConnection = 0
    let written = 0
    const write = socket.write.bind(socket)
    // Counts what the case writes, for the cases that act on a connection's bytes.
    socket.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      written += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length
      return write(chunk, ...rest)
    }) as typeof socket.write
    eachRequest(socket, (request) => {
      requests++
      const name = request.split(' ')[1]?.split('?')[0]?.split('/').at(-1) ?? ''
      const index = Number(/^f(\d+)\.jpg$/.exec(name)?.[1] ?? 0)
      const forFile = (perFile.get(index) ?? 0) + 1
      perFile.set(index, forFile)
      c.respond(
        socket,
        { connection: n, onConnection: ++onConnection, index, forFile, written: () => written },
        LIST[index] ?? LIST[0]!,
      )
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  return {
    origin: `http://127.0.0.1:${port}`,
    counts: () => ({ connections, requests }),
    close: () => {
      for (const s of sockets) s.destroy()
      server.close()
    },
  }
}

/** Whether a kept file `fN.jpg` holds list image N's bytes. */
const isListImage = (name: string, bytes: Buffer) => {
  const index = Number(/f(\d+)\.jpg/.exec(name)?.[1] ?? -1)
  return LIST[index] !== undefined && digest(bytes) === digest(LIST[index])
}

async function main() {
  const { argv, only, toolIds } = benchArgs()
  const capAt = argv.indexOf('--cap')
  const capMs = (capAt >= 0 ? Number(argv[capAt + 1]) : 40) * 1000
  const extraAt = argv.indexOf('--extra')
  const extra = extraAt >= 0 ? argv[extraAt + 1]!.split(' ').filter(Boolean) : []
  const chosen = cases().filter((c) => !only || only.includes(c.id))
  const { tools, rows } = toolTable(TOOLS, toolIds)
  for (const c of chosen) {
    // One tool at a time (the counts are each server's; the seconds are less loaded).
    const results = []
    for (const t of tools) {
      const server = await serve(c)
      try {
        const urls = Array.from({ length: FILES }, (_, i) => `${server.origin}/f${i}.jpg`)
        const argv = (file: string, dir: string) => [
          ...t.args(file, urls, dir),
          ...(t.id === 'imgpull' ? extra : []),
        ]
        results.push({
          ...(await runList(`connections-${t.id}`, argv, urls, capMs, isListImage)),
          ...server.counts(),
        })
      } finally {
        server.close()
      }
    }
    rows.push(
      `| ${c.id} | ${results.map((r) => `${r.verdict} ${r.connections}c ${r.requests}r ${r.code === null ? '≥' : ''}${r.seconds.toFixed(1)}s`).join(' | ')} |`,
    )
    console.error(
      `${c.id}: ${results.map((r, i) => `${tools[i]!.id}=${r.verdict}(${r.code}) ${r.message}`).join('\n   ')}`,
    )
  }
  printTable(rows, chosen)
}

await main()
