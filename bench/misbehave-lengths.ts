/**
 * Side by side on lengths, ranges and sizes at the edges: each case is a `Content-Length`, a
 * `Content-Range` or a chunk size a client was reported to misread (a sign, zeros, a space, hex or
 * a float, 2^31, 2^32, 2^53 and 2^64 and past them, two values, a length over its body on a
 * keep-alive connection, chunk sizes past 2^53 and 2^64, a 1 MB chunk extension), served raw from
 * 127.0.0.1, a fresh server for each tool. No case sends more than the image: a large size is a
 * claim only. imgpull, curl, wget2 and aria2c run as bench/misbehave.ts runs them (their defaults,
 * retries of their own). Prints, per case and tool, the verdict on what it kept (`got`, `WRONG`,
 * `refused`, `none`, as bench/misbehave.ts gives it) and its seconds, then each tool's message.
 *
 *   npm run build && node --import tsx bench/misbehave-lengths.ts [--only ID,ID] [--tools imgpull,curl] [--cap 60]
 */
import { createServer, type Socket } from 'node:net'
import { eachRequest, listenLocal } from '../test/support/raw-server.js'
import { benchArgs, noise, printTable, runTool, TOOLS, toolTable } from './misbehave.js'

interface LengthCase {
  id: string
  /** The report this answer is modelled on. */
  report: string
  /** Answers one request (`attempt`: this tool's requests so far, this one included). */
  respond: (socket: Socket, attempt: number, request: string, image: Buffer) => void
  /**
   * `false`: the answer says more bytes than come, so nothing kept is right (`none`; a file kept is
   * `WRONG`). A `Content-Length` past 2^64 is no length a 64-bit client can hold: read as none (as
   * imgpull reads it since d5150df9), the image ends at the close, so those rows are servable.
   */
  servable?: boolean
}

const IMAGE = await noise(400, 300).jpeg({ quality: 80 }).toBuffer()
const N = IMAGE.length
const head = (fields: string[], status = 'HTTP/1.1 200 OK') =>
  Buffer.from(`${status}\r\n${fields.map((f) => `${f}\r\n`).join('')}\r\n`)
/** The image under `Content-Length: value`, then the connection closed. */
const withLength = (value: string) => (s: Socket, _a: number, _r: string, img: Buffer) =>
  s.end(
    Buffer.concat([head(['Content-Type: image/jpeg', `Content-Length: ${value}`, 'Connection: close']), img]),
  )
/** The image in one chunk whose size line is `size` (its extension after), then the last chunk. */
const withChunk =
  (size: string, ext = '') =>
  (s: Socket, _a: number, _r: string, img: Buffer) =>
    s.end(
      Buffer.concat([
        head(['Content-Type: image/jpeg', 'Transfer-Encoding: chunked']),
        Buffer.from(`${size}${ext}\r\n`),
        img,
        Buffer.from('\r\n0\r\n\r\n'),
      ]),
    )
/** A 206 of the whole image to a plain GET, its `Content-Range` saying `range`. */
const with206 = (range: string) => (s: Socket, _a: number, _r: string, img: Buffer) =>
  s.end(
    Buffer.concat([
      head(
        ['Content-Type: image/jpeg', `Content-Length: ${img.length}`, `Content-Range: ${range}`],
        'HTTP/1.1 206 Partial Content',
      ),
      img,
    ]),
  )
const big = (n: bigint) => (n + BigInt(N)).toString()

function cases(): LengthCase[] {
  return [
    {
      id: 'cl-plus',
      report:
        "apple/servicetalk#1427 (signed Content-Length +n read as n, a smuggling risk); algesten/ureq-proto#36 (Rust's u64 parse took +42); RFC 9110 §8.6 (1*DIGIT)",
      respond: withLength(`+${N}`),
    },
    {
      id: 'cl-zeros',
      report: 'algesten/ureq-proto#39 (leading zeros allowed, as libcurl: 042 is 42); RFC 9110 §8.6',
      respond: withLength(`${'0'.repeat(20)}${N}`),
    },
    {
      id: 'cl-inner-space',
      report: 'apache/pekko-http#1221 (whitespace inside the digits: "1 2" read as 12)',
      respond: withLength(`${String(N).slice(0, 2)} ${String(N).slice(2)}`),
    },
    {
      id: 'cl-float',
      report:
        'factor/factor#3194 (the general number parser took 7.0, 0x7 and +7 as lengths); rossvideo/Catena#1206 (a length read as a double, 16.123 as 16)',
      respond: withLength(`${N}.0`),
    },
    {
      id: 'cl-exponent',
      report:
        'factor/factor#3194 (a length read by a general number parser); cesanta/mongoose#2322 (digits read up to the first non-digit: 1_0 as 1)',
      respond: withLength('1e5'),
    },
    {
      id: 'cl-hex',
      report:
        'Tarsnap/kivaloo#149 (strtoull base 0 read a length in any base); factor/factor#3194 (0x7 taken as a length)',
      respond: withLength(`0x${N.toString(16)}`),
    },
    {
      id: 'cl-negative',
      report:
        'curl/curl#2223 (bail out on negative Content-Length values, fixing #2212); apple/servicetalk#1427',
      respond: withLength('-1'),
    },
    {
      id: 'cl-2e31',
      report:
        'rockdaboot/wget2#92 (tests for sizes around 2^31 and 2^32); aria2/aria2#215 (a crash after 2 GiB of a larger file); jeremycw/httpserver.h#6 (an int length past 2 GB)',
      respond: withLength(String(2 ** 31)),
      servable: false,
    },
    {
      id: 'cl-2e32-plus-n',
      report:
        'aria2/aria2#248 (a 4,977,730,608-byte file kept as its last 682,763,312: 4 GiB cut off); aria2/aria2#84 (a 32-bit off_t: "Too large size" past 4 GiB)',
      respond: withLength(big(2n ** 32n)),
      servable: false,
    },
    {
      id: 'cl-2e53-plus-1',
      report:
        'httpwg/http-core#749 (languages whose numbers are floats keep 52 bits: RFC 9112 asks recipients to anticipate large numerals); termux/termux-packages#2692 (busybox wget: "content-length 107374182400 is garbage")',
      respond: withLength(String(2n ** 53n + 1n)),
      servable: false,
    },
    {
      id: 'cl-2e64',
      report:
        'nodejs/http-parser#76 and #78 (a content_length past int64 read as a new message; overflow checks added); jeremycw/httpserver.h#77 (18446744073709551615 wrapped to a negative length)',
      respond: withLength(String(2n ** 64n)),
    },
    {
      id: 'cl-2e64-plus-n',
      report:
        'nodejs/http-parser#31 (overflow checks on content-length); a C client that wraps 2^64 + n to n reads n bytes as the whole body',
      respond: withLength(big(2n ** 64n)),
    },
    {
      id: 'cl-two-values',
      report:
        'curl/curl#18921 (two Content-Length values, curl took one; fixed in #18925); web-platform-tests/wpt#10548 (Content-Length: 42,30 in browsers)',
      respond: withLength(`${N}, ${N + 100}`),
      servable: false,
    },
    {
      id: 'cl-over-keepalive',
      report:
        'web-platform-tests/wpt#10548 (content of one response written to the start of the next, wpt#5227); SerenityOS/serenity#10595 (a body larger than its Content-Length overflowed a buffer)',
      respond: (s, attempt, _r, img) => {
        // The first answer's length counts 200 bytes of a second answer written right behind it.
        if (attempt === 1) {
          const next = Buffer.concat([
            head(['Content-Type: text/plain', 'Content-Length: 2']),
            Buffer.from('ok'),
          ])
          s.write(
            Buffer.concat([
              head(['Content-Type: image/jpeg', `Content-Length: ${img.length + 200}`]),
              img,
              next,
            ]),
          )
          // …and the connection held, as a keep-alive server holds it.
        } else
          s.end(Buffer.concat([head(['Content-Type: image/jpeg', `Content-Length: ${img.length}`]), img]))
      },
    },
    {
      id: 'http10-body-longer',
      report:
        'SerenityOS/serenity#10595 (an HTTP/1.0 answer with more bytes than its Content-Length: trim the last packet)',
      respond: (s, _a, _r, img) =>
        s.end(
          Buffer.concat([
            head(['Content-Type: image/jpeg', `Content-Length: ${img.length}`], 'HTTP/1.0 200 OK'),
            img,
            Buffer.from('<br />\n<b>Warning</b>: trailing output\n'),
          ]),
        ),
    },
    {
      id: 'chunk-2e53-plus-1',
      report:
        "httpwg/http-core#749 (chunk sizes past a float's 52 bits lose precision); apple/servicetalk#2594 (chunk size int to long)",
      respond: withChunk((2n ** 53n + 1n).toString(16)),
      servable: false,
    },
    {
      id: 'chunk-2e64-plus-n',
      report:
        'questdb/questdb#6802 (16+ hex digits overflowed the chunk size, a crash); stephenberry/glaze#2632 (a chunk size near SIZE_MAX wrapped); oven-sh/bun#27497 (a dead overflow check: 9+ hex digits truncated)',
      respond: withChunk((2n ** 64n + BigInt(N)).toString(16)),
      servable: false,
    },
    {
      id: 'chunk-zeros-1000',
      report:
        'reactphp/http#505 (a chunk header over 1024 bytes refused); RFC 9112 §7.1 (chunk-size = 1*HEXDIG: leading zeros are valid)',
      respond: withChunk(`${'0'.repeat(1000)}${N.toString(16)}`),
    },
    {
      id: 'chunk-ext-1mb',
      report:
        'twisted/twisted#1563 (a chunk size line buffered without bound: 4 KiB limit); reactphp/http#505 (MAX_CHUNK_HEADER_SIZE)',
      respond: withChunk(N.toString(16), `;x=${'a'.repeat(1024 * 1024)}`),
    },
    {
      id: 'cr-total-2e32-plus-n',
      report:
        'aria2/aria2#248 (4 GiB lost from a larger file); ServiceStack/Issues#718 (ranges past 4 GB overflowed an Int32)',
      respond: with206(`bytes 0-${N - 1}/${big(2n ** 32n)}`),
      servable: false,
    },
    {
      id: 'cr-total-2e53-plus-1',
      report:
        'httpwg/http-core#749 (sizes past 2^53 in float languages); xroche/httrack#534 (hostile and oversize Content-Range values)',
      respond: with206(`bytes 0-${N - 1}/${(2n ** 53n + 1n).toString()}`),
      servable: false,
    },
    {
      id: 'cr-total-2e64',
      report: "xroche/httrack#534 (a Content-Range driven to int64's extremes overflowed the range checks)",
      respond: with206(`bytes 0-${N - 1}/${(2n ** 64n).toString()}`),
      servable: false,
    },
    {
      id: 'cr-star-206',
      report:
        "RFC 9110 §14.4 (`bytes */N` is a 416's form); fernandotonon/QtMeshEditor#1039 (only a 206 covering 0..total-1 is the whole file)",
      respond: with206(`bytes */${N}`),
    },
    {
      id: 'cr-end-past-2e53',
      report:
        'git-lfs/git-lfs#1297 (a range start parsed as 32 bits: no resume past 2^31); httpwg/http-core#749 (past 2^53 a float is a byte off)',
      respond: with206(`bytes ${2n ** 53n}-${2n ** 53n + BigInt(N) - 1n}/${2n ** 53n + BigInt(N)}`),
      servable: false,
    },
  ]
}

async function serve(c: LengthCase) {
  let attempt = 0
  return listenLocal(
    createServer((socket) => {
      socket.on('error', () => {})
      eachRequest(socket, (request) => c.respond(socket, ++attempt, request, IMAGE))
    }),
  )
}

async function main() {
  const { argv, only, toolIds } = benchArgs()
  const capAt = argv.indexOf('--cap')
  const capMs = (capAt >= 0 ? Number(argv[capAt + 1]) : 60) * 1000
  const chosen = cases().filter((c) => !only || only.includes(c.id))
  const { tools, rows } = toolTable(TOOLS, toolIds)
  for (const c of chosen) {
    const results = await Promise.all(
      tools.map(async (t) => {
        const server = await serve(c)
        try {
          const expect = c.servable === false ? undefined : IMAGE
          return await runTool(
            t,
            server.url(`/${c.id}.jpg`),
            `${c.id}.jpg`,
            expect,
            undefined,
            [],
            false,
            capMs,
          )
        } finally {
          await server.close()
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
  printTable(rows, chosen)
}

await main()
