/**
 * Side by side on hosts that limit: each case is a list of small images on one host, served from
 * 127.0.0.1 by a server that limits the way a real server or CDN was reported to (the report is
 * named with it): 429 or 503 above a number in flight with each kind of `Retry-After`, a 403 that
 * is a rate limit (GitHub's `X-RateLimit-*`, Unsplash's "Rate Limit Exceeded"), the IETF draft's
 * `RateLimit` fields, a cap on connections (refused, reset, closed, or nginx's 503), a temporary
 * ban after a burst, and a server whose latency grows with the load. Each tool fetches the whole
 * list at its own concurrency, one tool at a time, each against a fresh server. Prints, per case
 * and tool, the files got, WRONG (kept, but not the image), missing, the limit answers the server
 * gave (429/503/403, or connections it reset or closed; a refused connection never reaches it, so
 * the `refuse` case counts the spells it stopped listening) and the wall seconds.
 *
 *   npm run build && node --import tsx bench/misbehave-limits.ts [--only ID,ID] [--tools imgpull,curl] [--files 150]
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { eachRequest } from '../test/support/raw-server.js'
import { startRefusingServer } from '../test/support/refusing-server.js'
import { digest, noise, printTable, spawnCapped } from './misbehave.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** What the server knows when a request comes. */
interface Load {
  /** Requests being answered now, this one included. */
  inflight: number
  /** Requests so far, this one included. */
  requests: number
  /** ms since the server started. */
  elapsed: number
  /** Per-case state. */
  bag: Record<string, number>
}

interface Reply {
  /** 200 when absent. */
  status?: number
  fields?: string[]
  body?: Buffer
  /** ms before the answer goes out. @default 10 */
  delay?: number
}

interface LimitCase {
  id: string
  /** The report this server is modelled on. */
  report: string
  /** A limit of connections: beyond `most` open, a new one is refused, reset, closed, or answered 503. */
  conns?: { most: number; mode: 'refuse' | 'rst' | 'close' | '503' }
  /** The answer to a request; `undefined`: the image. */
  answer?: (load: Load, path: string) => Reply | undefined
}

const REASONS: Record<number, string> = {
  200: 'OK',
  403: 'Forbidden',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
}
const LIMIT_STATUS = new Set([403, 429, 503])
const text = (s: string) => Buffer.from(s)
const httpDate = (ms: number) => new Date(ms).toUTCString()
/** The server's clock, ms since the epoch, `skew` ms off the machine's. */
const clock = (skew = 0) => Date.now() + skew

/** Above `most` in flight, `reply`. */
const above =
  (most: number, reply: (load: Load) => Reply): LimitCase['answer'] =>
  (load) =>
    load.inflight > most ? reply(load) : undefined

/** A quota of `quota` requests a window of `windowMs`: within it `ok`, beyond it `refuse`. */
function quota(
  quotaN: number,
  windowMs: number,
  refuse: (resetAt: number, load: Load) => Reply,
  ok: (left: number, resetAt: number) => string[] = () => [],
): LimitCase['answer'] {
  return (load) => {
    const now = clock()
    const start = load.bag.windowStart ?? 0
    if (now - start >= windowMs) {
      load.bag.windowStart = now
      load.bag.used = 0
    }
    const resetAt = (load.bag.windowStart ?? now) + windowMs
    load.bag.used = (load.bag.used ?? 0) + 1
    if (load.bag.used > quotaN) return refuse(resetAt, load)
    return { fields: ok(quotaN - load.bag.used, resetAt) }
  }
}

/** More than `burst` requests within `perMs`: every answer is `reply` for `banMs`. */
function ban(burst: number, perMs: number, banMs: number, reply: Reply): LimitCase['answer'] {
  const times: number[] = []
  return (load) => {
    const now = load.elapsed
    if ((load.bag.bannedUntil ?? -1) > now) return reply
    times.push(now)
    while (times.length > 0 && times[0]! < now - perMs) times.shift()
    if (times.length > burst) {
      load.bag.bannedUntil = now + banMs
      times.length = 0
      return reply
    }
    return undefined
  }
}

function cases(): LimitCase[] {
  const tooMany = text('Too Many Requests\n')
  return [
    {
      id: '429-seconds',
      report:
        'curl/curl#3794 (APIs answer 429 with Retry-After in seconds above their limit); aria2/aria2#2295 (Cloudflare 429 + Retry-After on many files of one site)',
      answer: above(4, () => ({ status: 429, fields: ['Retry-After: 1'], body: tooMany })),
    },
    {
      id: '429-date',
      report: 'basecamp/basecamp-sdk#563 (429 with Retry-After as an HTTP-date, read as none)',
      answer: above(4, () => ({
        status: 429,
        fields: [`Date: ${httpDate(clock())}`, `Retry-After: ${httpDate(clock() + 2000)}`],
        body: tooMany,
      })),
    },
    {
      id: '429-past-date',
      report:
        "RFC 9110 §10.2.3; a Retry-After date already past by the server's own Date (a cached or stale header)",
      answer: above(4, () => ({
        status: 429,
        fields: [`Date: ${httpDate(clock())}`, `Retry-After: ${httpDate(clock() - 30_000)}`],
        body: tooMany,
      })),
    },
    {
      id: '429-skewed-clock',
      report:
        "RFC 9110 §6.6.1 (a date is read on the server's clock): a server an hour behind, Retry-After 2 s after its own Date",
      answer: above(4, () => ({
        status: 429,
        fields: [
          `Date: ${httpDate(clock(-3_600_000))}`,
          `Retry-After: ${httpDate(clock(-3_600_000) + 2000)}`,
        ],
        body: tooMany,
      })),
    },
    {
      id: '429-none',
      report: 'Bionus/imgbrd-grabber#1606 (Sankaku: 429 above its limit, no wait named)',
      answer: above(4, () => ({ status: 429, body: tooMany })),
    },
    {
      id: '429-zero',
      report: 'rickysarraf/apt-offline#220 (429 with Retry-After; 0 names no wait)',
      answer: above(4, () => ({ status: 429, fields: ['Retry-After: 0'], body: tooMany })),
    },
    {
      id: '503-burst',
      report:
        'nginx limit_req (503 by default to requests beyond its burst; https://w10schools.com/posts/237436_limit_conn for the module family), Retry-After: 1',
      answer: (load) => {
        const now = load.elapsed
        const recent = (load.bag.recentAt ?? -1) > now - 200 ? (load.bag.recent ?? 0) + 1 : 1
        if (recent === 1) load.bag.recentAt = now
        load.bag.recent = recent
        return recent > 10
          ? { status: 503, fields: ['Retry-After: 1'], body: text('Service Temporarily Unavailable\n') }
          : undefined
      },
    },
    {
      id: 'github-403',
      report:
        'hub4j/github-api#220 (GitHub: 403 with X-RateLimit-Remaining: 0 and X-RateLimit-Reset, a Unix time); 40 requests a 2 s window',
      answer: quota(
        40,
        2000,
        (resetAt) => ({
          status: 403,
          fields: [
            'Content-Type: application/json',
            'X-RateLimit-Limit: 40',
            'X-RateLimit-Remaining: 0',
            `X-RateLimit-Reset: ${Math.ceil(resetAt / 1000)}`,
          ],
          body: text('{"message":"API rate limit exceeded"}'),
        }),
        (left, resetAt) => [
          'X-RateLimit-Limit: 40',
          `X-RateLimit-Remaining: ${left}`,
          `X-RateLimit-Reset: ${Math.ceil(resetAt / 1000)}`,
        ],
      ),
    },
    {
      id: 'unsplash-403',
      report:
        'varietywalls/variety#457 (Unsplash: 403 "Rate Limit Exceeded", X-Ratelimit-Remaining: 0, no reset named); 40 requests a 2 s window',
      answer: quota(
        40,
        2000,
        () => ({
          status: 403,
          fields: ['Content-Type: text/plain', 'X-Ratelimit-Limit: 40', 'X-Ratelimit-Remaining: 0'],
          body: text('Rate Limit Exceeded'),
        }),
        (left) => ['X-Ratelimit-Limit: 40', `X-Ratelimit-Remaining: ${left}`],
      ),
    },
    {
      id: 'ietf-ratelimit',
      report:
        'draft-ietf-httpapi-ratelimit-headers-07 (RateLimit-Policy and RateLimit: r=0 and t seconds on the 429, no Retry-After); 40 requests a 2 s window',
      answer: quota(
        40,
        2000,
        (resetAt) => ({
          status: 429,
          fields: [
            'RateLimit-Policy: "burst";q=40;w=2',
            `RateLimit: "burst";r=0;t=${Math.max(1, Math.ceil((resetAt - clock()) / 1000))}`,
          ],
          body: tooMany,
        }),
        (left, resetAt) => [
          'RateLimit-Policy: "burst";q=40;w=2',
          `RateLimit: "burst";r=${left};t=${Math.max(1, Math.ceil((resetAt - clock()) / 1000))}`,
        ],
      ),
    },
    {
      id: 'conn-refuse',
      report:
        'iptables connlimit --reject-with tcp-reset / a server that stops listening at 4 connections (test/refused-at-limit.test.ts): a new one is refused (ECONNREFUSED)',
      conns: { most: 4, mode: 'refuse' },
    },
    {
      id: 'conn-rst',
      report:
        'iptables connlimit with tcp-reset after the handshake: a connection beyond 4 accepted, then reset',
      conns: { most: 4, mode: 'rst' },
    },
    {
      id: 'conn-close',
      report: 'a server whose workers are all busy closes a connection beyond 4 at once, no answer',
      conns: { most: 4, mode: 'close' },
    },
    {
      id: 'conn-503',
      report:
        'nginx limit_conn (https://w10schools.com/posts/237436_limit_conn: 503 to a request beyond the connections allowed), 4 a client',
      conns: { most: 4, mode: '503' },
    },
    {
      id: 'ban-429',
      report:
        'mikf/gallery-dl#9490 (Pawoo: 429 after too many files in a short span, skipped files); more than 40 requests in 1 s: every answer 429 for 10 s',
      answer: ban(40, 1000, 10_000, { status: 429, body: tooMany }),
    },
    {
      id: 'ban-403',
      report:
        'mikf/gallery-dl#655 (CloudFront blocks every request with 403 after too much traffic); RobK/photobox-downloader#2 (temporary bans); more than 40 requests in 1 s: 403 for 10 s',
      answer: ban(40, 1000, 10_000, { status: 403, body: text('Request blocked.\n') }),
    },
    {
      id: 'queueing',
      report:
        'openzim/sotoki#412 (a throttling CDN slows answers as requests pile up): time to first byte 25 ms for each request in flight',
      answer: (load) => ({ delay: 25 * load.inflight }),
    },
    {
      id: 'slows-mid-run',
      report:
        'a host that slows down mid-run (an origin behind a CDN under load): after 60 requests, 400 ms each',
      answer: (load) => (load.requests > 60 ? { delay: 400 } : undefined),
    },
  ]
}

interface Stats {
  /** Limit answers: 429/503/403, or connections reset or closed at the door. */
  limit: number
  /** Spells the server stopped listening (refuse mode: the refused connections never reach it). */
  spells: number
  requests: number
}

/** A server for one case and one tool, on a port of its own (but `refuse`'s: `startRefusing`). */
async function startServer(c: LimitCase, image: Buffer) {
  const stats: Stats = { limit: 0, spells: 0, requests: 0 }
  const open = new Set<Socket>()
  const load: Load = { inflight: 0, requests: 0, elapsed: 0, bag: {} }
  const began = performance.now()
  const conns = c.conns
  const write = (socket: Socket, reply: Reply | undefined) => {
    const status = reply?.status ?? 200
    const body = reply?.body ?? image
    if (LIMIT_STATUS.has(status)) stats.limit++
    const fields = [
      ...(status === 200 ? ['Content-Type: image/jpeg'] : []),
      ...(reply?.fields ?? []),
      `Content-Length: ${body.length}`,
      'Connection: keep-alive',
    ]
    socket.write(`HTTP/1.1 ${status} ${REASONS[status] ?? 'X'}\r\n${fields.join('\r\n')}\r\n\r\n`)
    socket.write(body)
  }
  const server: Server = createServer((socket) => {
    socket.on('error', () => {})
    let over = false
    if (conns && open.size >= conns.most) {
      if (conns.mode === 'rst') {
        stats.limit++
        socket.resetAndDestroy()
        return
      }
      if (conns.mode === 'close') {
        stats.limit++
        socket.destroy()
        return
      }
      over = true
    }
    open.add(socket)
    socket.on('close', () => {
      open.delete(socket)
    })
    eachRequest(socket, (head) => {
      const path = head.split(' ')[1] ?? '/'
      stats.requests++
      if (over) {
        // nginx limit_conn: the request on a connection beyond the limit is answered 503.
        write(socket, { status: 503, body: text('503 Service Temporarily Unavailable\n') })
        socket.end()
        return
      }
      load.inflight++
      load.requests++
      load.elapsed = performance.now() - began
      const reply = c.answer?.(load, path)
      setTimeout(() => {
        load.inflight--
        if (!socket.destroyed) write(socket, reply)
      }, reply?.delay ?? 10)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    origin: `http://127.0.0.1:${port}`,
    stats,
    async close() {
      for (const socket of open) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

/**
 * The `refuse` case: test/support/refusing-server.ts (a server that stops listening at `most`
 * open connections), its spells and requests read as the other cases' stats.
 */
async function startRefusing(most: number, image: Buffer) {
  const server = await startRefusingServer({ most, ttfb: 10, body: image })
  const stats: Stats = {
    limit: 0,
    get spells() {
      return server.stats.refusedSpells
    },
    get requests() {
      return server.stats.requests
    },
  }
  return { origin: server.origin, stats, close: server.close }
}

interface ListTool {
  id: string
  /** The command for the list `list` (URLs, one a line) into `dir`. */
  args(list: string, dir: string, urls: string[]): Promise<string[]>
}

/** Each tool at its own concurrency, with 5 retries (imgpull's default) where it takes a count. */
const TOOLS: ListTool[] = [
  {
    id: 'imgpull',
    args: async (list, dir) => [
      process.execPath,
      join(ROOT, 'dist/imgpull.js'),
      list,
      '-o',
      dir,
      '--no-report',
    ],
  },
  {
    id: 'curl',
    // --parallel (-Z), its default of 50 at once; --retry covers 429/503 (Retry-After honoured)
    // and timeouts, --retry-connrefused refused connections too.
    args: async (list, dir, urls) => {
      const config = `${list}.curl`
      await writeFile(
        config,
        urls.map((u) => `url = "${u}"\noutput = "${join(dir, u.split('/').at(-1)!)}"\n`).join(''),
      )
      return [
        'curl',
        '-sS',
        '--fail',
        '--create-dirs',
        '-Z',
        '--retry',
        '5',
        '--retry-connrefused',
        '--max-time',
        '60',
        '-K',
        config,
      ]
    },
  },
  {
    id: 'wget2',
    args: async (list, dir) => [
      'wget2',
      '--no-config',
      '-q',
      '--tries=6',
      '--retry-connrefused',
      '--read-timeout=15',
      '-P',
      dir,
      '-i',
      list,
    ],
  },
  {
    id: 'aria2c',
    args: async (list, dir) => [
      'aria2c',
      '-q',
      '--max-tries=6',
      '--retry-wait=1',
      '--timeout=15',
      '-d',
      dir,
      '-i',
      list,
    ],
  },
]

async function runOne(tool: ListTool, c: LimitCase, files: number, image: Buffer) {
  const server =
    c.conns?.mode === 'refuse' ? await startRefusing(c.conns.most, image) : await startServer(c, image)
  const dir = await mkdtemp(join(tmpdir(), `limits-${tool.id}-`))
  const out = join(dir, 'out')
  const urls = Array.from({ length: files }, (_, i) => `${server.origin}/img/f${i}.jpg`)
  const list = join(dir, 'list.txt')
  await writeFile(list, `${urls.join('\n')}\n`)
  const [cmd, ...args] = await tool.args(list, out, urls)
  const began = performance.now()
  const { code, stderr } = await spawnCapped(cmd!, args, 180_000)
  const seconds = (performance.now() - began) / 1000
  await server.close()
  const good = digest(image)
  let got = 0
  let wrong = 0
  const names = await readdir(out, { recursive: true }).catch(() => [] as string[])
  for (const name of names) {
    if (/^\.imgpull|manifest\.jsonl$|report\.html$|journal|\.aria2$/.test(String(name))) continue
    const b = await readFile(join(out, String(name))).catch(() => undefined)
    if (!b || b.length === 0) continue
    if (digest(b) === good) got++
    else wrong++
  }
  await rm(dir, { recursive: true, force: true })
  return { got, wrong, missing: files - got - wrong, stats: server.stats, seconds, code, stderr }
}

async function main() {
  const argv = process.argv.slice(2)
  const pick = (flag: string) => {
    const i = argv.indexOf(flag)
    return i >= 0 ? argv[i + 1] : undefined
  }
  const only = pick('--only')?.split(',')
  const toolIds = pick('--tools')?.split(',')
  const files = Number(pick('--files') ?? 150)
  const image = await noise(64, 48).jpeg({ quality: 80 }).toBuffer()
  const chosen = cases().filter((c) => !only || only.includes(c.id))
  const tools = TOOLS.filter((t) => !toolIds || toolIds.includes(t.id))
  const rows = [
    `| case (${files} files) | ${tools.map((t) => t.id).join(' | ')} |`,
    `|---|${tools.map(() => '---').join('|')}|`,
  ]
  for (const c of chosen) {
    const cells: string[] = []
    for (const t of tools) {
      const r = await runOne(t, c, files, image)
      const limits = c.conns?.mode === 'refuse' ? `${r.stats.spells} spells` : `${r.stats.limit} lim`
      cells.push(
        `${r.got} got${r.wrong ? `, **${r.wrong} WRONG**` : ''}${r.missing ? `, ${r.missing} missing` : ''}; ${limits}, ${r.stats.requests} req; ${r.seconds.toFixed(1)} s`,
      )
      console.error(
        `${c.id} ${t.id}: got ${r.got} wrong ${r.wrong} missing ${r.missing} limit ${r.stats.limit} spells ${r.stats.spells} requests ${r.stats.requests} ${r.seconds.toFixed(1)} s exit ${r.code} ${r.stderr.trim().split('\n').slice(0, 2).join(' | ').slice(0, 300)}`,
      )
    }
    rows.push(`| ${c.id} | ${cells.join(' | ')} |`)
  }
  printTable(rows, chosen)
}

await main()
