/**
 * Side by side on misbehaving HTTP/2 servers: each case is one way a real HTTP/2 server was
 * reported to frame an answer (the bug report is named with it), served from 127.0.0.1 over TLS
 * with ALPN h2 by a server that writes its frames byte for byte (test/support/raw-h2-server.ts),
 * fetched by imgpull and its peers one URL at a time, each trusting the test CA. Over HTTP/1.1 the
 * same server answers as a sound one would (the image whole, or cut where the case is a cut), so a
 * tool that falls back is judged on what it then keeps; aria2c, which speaks no HTTP/2, shows that
 * path alone. Prints, per case and tool, the verdict on the file kept (as bench/misbehave.ts does),
 * the seconds it took, and each tool's message.
 *
 *   npm run build && node --import tsx bench/misbehave-h2.ts [--only ID,ID] [--tools imgpull,curl]
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import type { RequestListener } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { makeCerts } from '../test/support/certs.js'
import { frame, frames, startRawH2Server } from '../test/support/raw-h2-server.js'
import { benchArgs, noise, runTool, TOOLS } from './misbehave.js'

const [DATA, NO_ERROR] = [0, 0]
const [MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE] = [3, 4]

interface Case {
  id: string
  report: string
  file: string
  /** The frames answering the `index`th request (0: a tool's first) on `stream`. */
  answer: (stream: number, index: number, socket: TLSSocket) => Buffer[]
  /** The server's first SETTINGS payload (default empty); `null`: none sent. */
  settings?: Buffer | null
  onSession?: (socket: TLSSocket) => void
  /** Over HTTP/1.1 the answer is cut as well (the case is a cut, not a framing fault). */
  cutOverHttp1?: boolean
  expect: Buffer | undefined
}

async function cases(): Promise<{ list: Case[]; jpg: Buffer }> {
  // Under the 65,535 bytes a stream may take before a WINDOW_UPDATE (the raw server keeps no window).
  const jpg = await noise(200, 150).jpeg({ quality: 85 }).toBuffer()
  const half = jpg.subarray(0, Math.floor(jpg.length / 2))
  const head = (extra: [string, string][] = [], length: number | null = jpg.length): [string, string][] => [
    [':status', '200'],
    ['content-type', 'image/jpeg'],
    ...(length === null ? [] : ([['content-length', String(length)]] as [string, string][])),
    ...extra,
  ]
  /** The image whole: its head (with `extra` fields) and its DATA. */
  const whole =
    (extra: [string, string][] = []) =>
    (s: number) => [...frames.headers(s, head(extra)), ...frames.data(s, jpg)]
  /** The image whole, its head carrying `field` in a HEADERS and `continuations` CONTINUATION frames. */
  const split = (continuations: number, field: [string, string]) => (s: number) => [
    ...frames.headers(s, head([field]), { continuations }),
    ...frames.data(s, jpg),
  ]
  const list: Case[] = [
    {
      id: 'conn-keep-alive',
      report:
        'curl/curl#12172, yesodweb/wai#707, keycloak/keycloak#22246: `connection: keep-alive` and `keep-alive: timeout=5` in an HTTP/2 head (RFC 9113 §8.2.2: malformed)',
      file: 'keepalive.jpg',
      answer: whole([
        ['connection', 'keep-alive'],
        ['keep-alive', 'timeout=5'],
      ]),
      expect: jpg,
    },
    {
      id: 'transfer-encoding',
      report:
        'tempesta-tech/tempesta#1374 (curl refuses `Transfer-Encoding` passed through from HTTP/1.1): `transfer-encoding: chunked` in an HTTP/2 head',
      file: 'te.jpg',
      answer: whole([['transfer-encoding', 'chunked']]),
      expect: jpg,
    },
    {
      id: 'upper-case-name',
      report:
        'mpenet/hirundo#24, tempesta-tech/tempesta#1374 ("browsers are OK with mixed case, curl is not"): `Content-Type` and `X-Cache` spelt with capitals in an HTTP/2 head (RFC 9113 §8.2.1: malformed)',
      file: 'upper.jpg',
      answer: (s) => [
        ...frames.headers(s, [
          [':status', '200'],
          ['Content-Type', 'image/jpeg'],
          ['content-length', String(jpg.length)],
          ['X-Cache', 'HIT'],
        ]),
        ...frames.data(s, jpg),
      ],
      expect: jpg,
    },
    {
      id: 'length-over-data',
      report:
        'whatwg/fetch#1786, netty/netty#17450: a content-length 100 bytes more than the DATA, which hold the image whole and end the stream',
      file: 'over.jpg',
      answer: (s) => [...frames.headers(s, head([], jpg.length + 100)), ...frames.data(s, jpg)],
      expect: jpg,
    },
    {
      id: 'length-under-data',
      report:
        'nghttp2/nghttp2#1408, elixir-mint/mint#505: DATA 100 bytes past the content-length (the image, then junk)',
      file: 'under.jpg',
      answer: (s) => [
        ...frames.headers(s, head()),
        ...frames.data(s, Buffer.concat([jpg, Buffer.alloc(100, 0x41)])),
      ],
      expect: jpg,
    },
    {
      id: 'data-after-end',
      report:
        'python-hyper/h2#1196 (frames after END_STREAM, from duckduckgo.com), tempesta-tech/tempesta#1828: the image whole with END_STREAM, then one more DATA frame on the stream',
      file: 'after.jpg',
      answer: (s) => [...whole()(s), frame(DATA, 0, s, Buffer.alloc(50, 0x42))],
      expect: jpg,
    },
    {
      id: 'rst-no-error-after',
      report:
        'hyperium/hyper#2872 (Google Cloud Storage), dotnet/corefx#40513, h2o/h2o#3566: the image whole, then RST_STREAM(NO_ERROR) (RFC 9113 §8.1: clients MUST NOT discard the answer)',
      file: 'rst-after.jpg',
      answer: (s) => [...whole()(s), frames.rstStream(s, NO_ERROR)],
      expect: jpg,
    },
    {
      id: 'rst-no-error-mid',
      report:
        'kazu-yamamoto/http2#76, aws-c-http#227 (NO_ERROR read as success): half the image under its full content-length, then RST_STREAM(NO_ERROR) with no END_STREAM',
      file: 'rst-mid.jpg',
      answer: (s) => [
        ...frames.headers(s, head()),
        ...frames.data(s, half, { end: false }),
        frames.rstStream(s, NO_ERROR),
      ],
      cutOverHttp1: true,
      expect: undefined,
    },
    {
      id: 'rst-no-error-mid-no-length',
      report: 'the same without a content-length: only the missing END_STREAM says the answer is cut',
      file: 'rst-mid-nolen.jpg',
      answer: (s) => [
        ...frames.headers(s, head([], null)),
        ...frames.data(s, half, { end: false }),
        frames.rstStream(s, NO_ERROR),
      ],
      cutOverHttp1: true,
      expect: undefined,
    },
    {
      id: 'goaway-below-then-close',
      report:
        'hyperium/h2#133, nghttp2/nghttp2#2870: GOAWAY(NO_ERROR) with last-stream-id 0 below the request in flight, then the connection closed; the next connection answers',
      file: 'goaway-close.jpg',
      answer: (s, index, socket) => {
        if (index > 0) return whole()(s)
        setTimeout(() => socket.end(), 50)
        return [frames.goaway(0, NO_ERROR)]
      },
      expect: jpg,
    },
    {
      id: 'goaway-then-answer',
      report:
        'varnishcache/varnish-cache#4285, akka/akka-http#3689 (a graceful shutdown: streams at or below last-stream-id still complete): GOAWAY(NO_ERROR) naming the request, then its answer',
      file: 'goaway-answer.jpg',
      answer: (s, _i, socket) => {
        setTimeout(() => socket.end(), 200)
        return [frames.goaway(s, NO_ERROR), ...whole()(s)]
      },
      expect: jpg,
    },
    {
      id: 'max-streams-0',
      report:
        'httpwg/http2-spec#335, akka/akka-http#774: SETTINGS_MAX_CONCURRENT_STREAMS 0 and never raised (no request can be sent)',
      file: 'streams0.jpg',
      settings: frames.settingsPayload([[MAX_CONCURRENT_STREAMS, 0]]),
      answer: whole(),
      expect: jpg,
    },
    {
      id: 'max-streams-0-raised',
      report:
        'the same limit of 0 raised to 100 by a second SETTINGS a second later ("Servers SHOULD only set a zero value for short durations", RFC 9113 §6.5.2)',
      file: 'streams0-raised.jpg',
      settings: frames.settingsPayload([[MAX_CONCURRENT_STREAMS, 0]]),
      onSession: (socket) =>
        setTimeout(
          () => socket.destroyed || socket.write(frames.settings([[MAX_CONCURRENT_STREAMS, 100]])),
          1000,
        ),
      answer: whole(),
      expect: jpg,
    },
    {
      id: 'max-streams-1',
      report: 'kazu-yamamoto/http2#71, h2o/h2o#805: SETTINGS_MAX_CONCURRENT_STREAMS 1',
      file: 'streams1.jpg',
      settings: frames.settingsPayload([[MAX_CONCURRENT_STREAMS, 1]]),
      answer: whole(),
      expect: jpg,
    },
    {
      id: 'tiny-window',
      report:
        'arizona-framework/roadrunner#74 (flow-control windows): SETTINGS_INITIAL_WINDOW_SIZE 1 from the server, never a WINDOW_UPDATE',
      file: 'window.jpg',
      settings: frames.settingsPayload([[INITIAL_WINDOW_SIZE, 1]]),
      answer: whole(),
      expect: jpg,
    },
    {
      id: 'ping-flood',
      report: 'CVE-2019-9512 (Netflix, PING flood), nghttp2 flood guard: 2,000 PINGs before the answer',
      file: 'ping.jpg',
      answer: (s) => [...Array.from({ length: 2000 }, (_, i) => frames.ping(i)), ...whole()(s)],
      expect: jpg,
    },
    {
      id: 'trailers',
      report:
        'hyperium/hyper#2872 and gRPC servers (trailers after the body): the image, then a trailer HEADERS with END_STREAM',
      file: 'trailers.jpg',
      answer: (s) => [
        ...frames.headers(s, head()),
        ...frames.data(s, jpg, { end: false }),
        ...frames.headers(s, [['x-checksum', 'abc']], { end: true }),
      ],
      expect: jpg,
    },
    {
      id: 'early-hints-103',
      report:
        'snoyberg/http-client#521, caddyserver/caddy#5006 (103 sent to HTTP/2 clients): a 103 with a Link, then the 200',
      file: 'hints.jpg',
      answer: (s) => [
        ...frames.headers(s, [
          [':status', '103'],
          ['link', '</style.css>; rel=preload; as=style'],
        ]),
        ...whole()(s),
      ],
      expect: jpg,
    },
    {
      id: 'h2-then-http1',
      report:
        'postmanlabs/httpbin#497-like fronts, curl/curl#6862: ALPN agrees to h2, then the server answers in HTTP/1.1 text',
      file: 'h1text.jpg',
      settings: null,
      answer: (_s, _i, socket) => {
        socket.end(
          Buffer.concat([
            Buffer.from(
              `HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpg.length}\r\n\r\n`,
            ),
            jpg,
          ]),
        )
        return []
      },
      expect: jpg,
    },
    {
      id: 'no-settings',
      report:
        "hyperium/h2#736 (a server's SETTINGS read as its preface): no SETTINGS frame at all, the answer sent as it is (RFC 9113 §3.4: a PROTOCOL_ERROR)",
      file: 'nosettings.jpg',
      settings: null,
      answer: whole(),
      expect: jpg,
    },
    {
      id: 'continuation-3',
      report: 'nghttp2/nghttp2#1180 (Akamai heads): the head in a HEADERS and 3 CONTINUATION frames',
      file: 'cont3.jpg',
      answer: split(3, ['x-akamai-session-info', 'x'.repeat(3000)]),
      expect: jpg,
    },
    {
      id: 'continuation-20',
      report:
        'CVE-2024-28182 (nghttp2 1.61 refuses more than 8 CONTINUATION frames): the head in a HEADERS and 20 CONTINUATION frames',
      file: 'cont20.jpg',
      answer: split(20, ['x-akamai-session-info', 'x'.repeat(3000)]),
      expect: jpg,
    },
    {
      id: 'head-over-64k',
      report:
        'icing/mod_h2#297, curl/curl#16535, hyperium/hyper#3724: a 70 KiB header field (a long Content-Security-Policy) in 5 CONTINUATION frames',
      file: 'bighead.jpg',
      answer: split(5, ['content-security-policy', `default-src ${'x'.repeat(70_000)}`]),
      expect: jpg,
    },
    {
      id: 'trailer-over-64k',
      report:
        'the same field in trailers (hyperium/hyper#3724: gRPC trailers): the image whole under its length, then a 70 KiB trailer field in 5 CONTINUATION frames',
      file: 'bigtrailer.jpg',
      answer: (s) => [
        ...frames.headers(s, head()),
        ...frames.data(s, jpg, { end: false }),
        ...frames.headers(s, [['x-trace', 'x'.repeat(70_000)]], { end: true, continuations: 5 }),
      ],
      expect: jpg,
    },
    {
      id: 'padded-data',
      report:
        'summerwind/h2spec#71, oven-sh/bun#28834 (the pad-length byte read as data): every DATA frame PADDED with 200 zero bytes',
      file: 'padded.jpg',
      answer: (s) => [...frames.headers(s, head()), ...frames.paddedData(s, jpg, 200)],
      expect: jpg,
    },
  ]
  return { list, jpg }
}

/** The same server over HTTP/1.1: the image whole, or its first half under its full length, then a close. */
const http1 =
  (jpg: Buffer, cut: boolean): RequestListener =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpg.length })
    if (!cut) return void res.end(jpg)
    res.write(jpg.subarray(0, jpg.length >> 1), () => res.socket?.destroy())
  }

async function main() {
  const { only, toolIds } = benchArgs()
  const dir = await mkdtemp(join(tmpdir(), 'misbehave-h2-'))
  const certs = makeCerts(dir)
  const tls = { cert: await readFile(certs.good.cert), key: await readFile(certs.good.key) }
  const { list, jpg } = await cases()
  const chosen = only ? list.filter((c) => only.includes(c.id)) : list
  const tools = toolIds ? TOOLS.filter((t) => toolIds.includes(t.id)) : TOOLS
  // Each trusts the test CA; curl and wget2 asked for HTTP/2 by name (both offer it by ALPN anyway).
  const extra: Record<string, string[]> = {
    imgpull: ['--ca-cert', certs.ca],
    curl: ['--cacert', certs.ca, '--http2'],
    wget2: [`--ca-certificate=${certs.ca}`, '--http2'],
    aria2c: [`--ca-certificate=${certs.ca}`],
  }
  const rows = [
    `| case | ${tools.map((t) => t.id).join(' | ')} |`,
    `|---|${tools.map(() => '---').join('|')}|`,
  ]
  for (const c of chosen) {
    // A server per tool: `index` counts that tool's requests alone.
    const servers = await Promise.all(
      tools.map(() =>
        startRawH2Server(tls, c.answer, http1(jpg, c.cutOverHttp1 ?? false), {
          settings: c.settings === undefined ? Buffer.alloc(0) : c.settings,
          onSession: c.onSession,
        }),
      ),
    )
    const results = await Promise.all(
      tools.map((t, i) =>
        runTool(
          t,
          `${servers[i]!.origin.replace('127.0.0.1', 'localhost')}/${t.id}/${c.file}`,
          c.file,
          c.expect,
          undefined,
          extra[t.id],
        ),
      ),
    )
    await Promise.all(servers.map((s) => s.close()))
    rows.push(`| ${c.id} | ${results.map((r) => `${r.verdict} ${r.seconds.toFixed(1)}s`).join(' | ')} |`)
    console.error(
      `${c.id}: ${results.map((r, i) => `${tools[i]!.id}=${r.verdict}(${r.code}) [h2 ${servers[i]!.seen.h2}, h1 ${servers[i]!.seen.h1}] ${r.message}`).join('\n   ')}`,
    )
  }
  await rm(dir, { recursive: true, force: true })
  console.log([...rows, '', 'Sources:', ...chosen.map((c) => `- ${c.id}: ${c.report}`)].join('\n'))
  process.exit(0)
}

await main()
