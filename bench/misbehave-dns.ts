/**
 * Side by side on host names that resolve badly: each case is a small list of image URLs whose
 * names a DNS server of the bench's own answers as the report named with it describes (an AAAA
 * and an A where the server listens on one family, several addresses of which the first refuses
 * or black-holes, SERVFAIL once, NXDOMAIN, no answer at all, an answer over TCP only, a CNAME chain
 * and loop, TTL 0 with the host moving mid-run, a name with a final dot, an IDN, capitals, 0.0.0.0,
 * 100 files of a dead domain, names under `localhost`, a proxy that resolves for the client).
 * Each tool (imgpull, curl `--remote-name-all`, wget2 `-i`, aria2c `-i`, at their defaults) runs in
 * a mount namespace of its own (`unshare -m`, root needed) where /etc/hosts and /etc/resolv.conf
 * are files the bench wrote, the resolver the bench's server on 127.53.x.y:53: the machine's own
 * files are never touched. Prints per case and tool the images got out of those that can be got,
 * any file kept that is not the image (`WRONG`), the queries the DNS server saw, the exit code and
 * the first error line; Host headers and TLS server names where a case looks at them.
 *
 *   npm run build && node --import tsx bench/misbehave-dns.ts [--only ID,ID] [--tools imgpull,curl]
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer as createTlsServer } from 'node:tls'
import { selfSigned } from '../test/support/certs.js'
import { type DnsQuery, type DnsRecord, type DnsReply, startDnsServer } from '../test/support/dns-server.js'
import { eachRequest } from '../test/support/raw-server.js'
import {
  benchArgs,
  cellText as cellLine,
  errorLine as firstError,
  noise,
  printTable,
  spawnCapped,
  toolTable,
} from './misbehave.js'
import { IMGPULL } from './tools.js'

/** Each tool's run is stopped after this many seconds (`--cap S`, default 60). */
const CAP_S = Number(benchArgs().argv[benchArgs().argv.indexOf('--cap') + 1] ?? 60) || 60

/** A case's state for one tool's run: the queries so far by name and type, and whether the host moved. */
interface State {
  asked: Map<string, number>
  moved: boolean
}

interface DnsCase {
  id: string
  report: string
  /** The list's URLs, on port `port` (every image server's). */
  urls: (port: number) => string[]
  /** The DNS server's answer (names lower-cased). */
  answer: (q: DnsQuery, s: State) => DnsReply
  /** Image servers: the addresses they listen on, each with the tag its images carry. */
  servers: Record<string, string>
  /** The images that can be got, and the tag each must carry (default: `a`). */
  expect: number
  tag?: string
  /** A path under which the server at 127.0.0.1 answers an HTML page (a local web server reached by mistake). */
  local?: string
  /** Run through an HTTP proxy (the server at 127.0.0.1, answering absolute-form targets). */
  proxy?: boolean
  tls?: boolean
  /** The server at 127.0.0.1 moves to 127.0.0.3 after this many answers (DNS then says 127.0.0.3). */
  moveAfter?: number
  /** imgpull's flags beyond its defaults (the peers run as ever). */
  imgpullArgs?: string[]
}

const a = (name: string, ...data: string[]): DnsReply => ({
  answers: data.map((d) => ({ name, type: d.includes(':') ? 'AAAA' : 'A', data: d, ttl: 60 }) as DnsRecord),
})
/** Records of `q`'s type among `all` (`A` or `AAAA`), NOERROR with none when there are none. */
const of = (q: DnsQuery, ...all: string[]): DnsReply =>
  a(q.name, ...all.filter((d) => (q.type === 'AAAA') === d.includes(':')))
const nx: DnsReply = { rcode: 3 }
const list = (port: number, host: string, dir: string, n: number, scheme = 'http') =>
  Array.from({ length: n }, (_, i) => `${scheme}://${host}:${port}/${dir}/${i + 1}.jpg`)

function cases(): DnsCase[] {
  return [
    {
      id: 'aaaa-a-v4-listens',
      report: `nodejs/node#40702 and nodejs/node#40537 (Node 17 takes ::1 first: ECONNREFUSED ::1 where the server listens on 127.0.0.1): AAAA ::1 and A 127.0.0.1, the server on 127.0.0.1 only`,
      urls: (p) => list(p, 'img.test', 'v4', 3),
      answer: (q) => (q.name === 'img.test' ? of(q, '::1', '127.0.0.1') : nx),
      servers: { '127.0.0.1': 'a' },
      expect: 3,
    },
    {
      id: 'aaaa-a-v6-listens',
      report: `42Crunch/vscode-openapi#228 and pelias/docker#292 (a server on ::1 alone, \`ECONNREFUSED\` from the other family): the same names, the server on ::1 only`,
      urls: (p) => list(p, 'img.test', 'v6', 3),
      answer: (q) => (q.name === 'img.test' ? of(q, '::1', '127.0.0.1') : nx),
      servers: { '::1': 'a' },
      expect: 3,
    },
    {
      id: 'first-refuses',
      report: `curl/curl#5089 (an address that fails at once left the others untried); nroi/cpcache#16 (wget: ::1 refused, then 127.0.0.1): A 127.0.0.2 (nothing listens) then 127.0.0.1`,
      urls: (p) => list(p, 'img.test', 'refuse', 3),
      answer: (q) => (q.name === 'img.test' ? of(q, '127.0.0.2', '127.0.0.1') : nx),
      servers: { '127.0.0.1': 'a' },
      expect: 3,
    },
    {
      id: 'first-black-hole',
      report: `nodejs/node#54359 (happy eyeballs gives each address 250 ms, then tries the next): A 10.255.255.1 (never answers) then 127.0.0.1`,
      urls: (p) => list(p, 'img.test', 'hole', 3),
      answer: (q) => (q.name === 'img.test' ? of(q, '10.255.255.1', '127.0.0.1') : nx),
      servers: { '127.0.0.1': 'a' },
      expect: 3,
    },
    {
      id: 'all-refused',
      report: `node-fetch/node-fetch#1841 (every address failed: an AggregateError with an empty message): A 127.0.0.2 and 127.0.0.4, AAAA ::1, nothing listens`,
      urls: (p) => list(p, 'img.test', 'refused', 1),
      answer: (q) => (q.name === 'img.test' ? of(q, '127.0.0.2', '127.0.0.4', '::1') : nx),
      servers: {},
      expect: 0,
    },
    {
      id: 'servfail-once',
      report: `louislam/uptime-kuma#878 (EAI_AGAIN is a passing failure: retry before giving up): SERVFAIL to the first query of each type, then the answer`,
      urls: (p) => list(p, 'img.test', 'servfail', 3),
      answer: (q, s) => {
        const k = `${q.name} ${q.type}`
        s.asked.set(k, (s.asked.get(k) ?? 0) + 1)
        if (s.asked.get(k) === 1) return { rcode: 2 }
        return q.name === 'img.test' ? of(q, '127.0.0.1') : nx
      },
      servers: { '127.0.0.1': 'a' },
      expect: 3,
    },
    {
      id: 'nxdomain',
      report: `nodejs/undici#1484 (a name that does not exist: the lookup's failure expected, a connect timeout got): three files on a name that does not exist, one on a live one`,
      urls: (p) => [...list(p, 'gone.test', 'nx', 3), ...list(p, 'img.test', 'live', 1)],
      answer: (q) => (q.name === 'img.test' ? of(q, '127.0.0.1') : nx),
      servers: { '127.0.0.1': 'a' },
      expect: 1,
    },
    {
      id: 'dns-silent',
      report: `nodejs/undici#2777 (\`AggregateError [ETIMEDOUT]\` where DNS did not answer) and nodejs/undici#1484: silent.test never answered, one live file beside it`,
      urls: (p) => [...list(p, 'silent.test', 'silent', 2), ...list(p, 'img.test', 'live', 1)],
      answer: (q) =>
        q.name === 'silent.test' ? { silent: true } : q.name === 'img.test' ? of(q, '127.0.0.1') : nx,
      servers: { '127.0.0.1': 'a' },
      expect: 1,
    },
    {
      id: 'tcp-only',
      report: `mafintosh/dns-socket#11 and netty/netty#9127 (a truncated UDP answer, TC set: ask again over TCP): every UDP answer truncated`,
      urls: (p) => list(p, 'img.test', 'tc', 3),
      answer: (q) => (q.name === 'img.test' ? { ...of(q, '127.0.0.1'), truncate: true } : nx),
      servers: { '127.0.0.1': 'a' },
      expect: 3,
    },
    {
      id: 'cname-chain',
      report: `no peer report found (CDN names are CNAME chains): img.test CNAME edge.test CNAME pop.test A 127.0.0.1`,
      urls: (p) => list(p, 'img.test', 'cname', 3),
      answer: (q) =>
        q.name === 'img.test'
          ? {
              answers: [
                { name: 'img.test', type: 'CNAME', data: 'edge.test' },
                { name: 'edge.test', type: 'CNAME', data: 'pop.test' },
                ...(of({ ...q, name: 'pop.test' }, '127.0.0.1').answers ?? []),
              ],
            }
          : nx,
      servers: { '127.0.0.1': 'a' },
      expect: 3,
    },
    {
      id: 'cname-loop',
      report: `netty/netty#10305 (fail fast on a CNAME loop) and PowerDNS/pdns#4307 (CNAME loops answered SERVFAIL): loop.test CNAME loop2.test CNAME loop.test, one live file beside`,
      urls: (p) => [...list(p, 'loop.test', 'loop', 2), ...list(p, 'img.test', 'live', 1)],
      answer: (q) =>
        q.name === 'loop.test' || q.name === 'loop2.test'
          ? {
              answers: [
                { name: 'loop.test', type: 'CNAME', data: 'loop2.test' },
                { name: 'loop2.test', type: 'CNAME', data: 'loop.test' },
              ],
            }
          : q.name === 'img.test'
            ? of(q, '127.0.0.1')
            : nx,
      servers: { '127.0.0.1': 'a' },
      expect: 1,
    },
    {
      id: 'moved-ttl0',
      report: `nodejs/undici#211 and aio-libs/aiohttp#4948 (a host moved by DNS, a CNAME swap: clients must look the name up again); TTL 0, the server at 127.0.0.1 answers 2 files and goes, DNS then gives 127.0.0.3`,
      urls: (p) => list(p, 'img.test', 'moved', 8),
      answer: (q, s) =>
        q.name === 'img.test'
          ? {
              answers: (of(q, s.moved ? '127.0.0.3' : '127.0.0.1').answers ?? []).map((r) => ({
                ...r,
                ttl: 0,
              })),
            }
          : nx,
      servers: { '127.0.0.1': 'a', '127.0.0.3': 'b' },
      moveAfter: 2,
      expect: 8,
      tag: 'ab',
    },
    {
      id: 'trailing-dot',
      report: `curl/curl#716 and curl/curl#8290 (the \`Host:\` of \`host.test.\` keeps its dot, RFC 7230 §5.4: identical to the URL's authority): http://img.test.:PORT/`,
      urls: (p) => list(p, 'img.test.', 'dot', 2),
      answer: (q) => (q.name === 'img.test' ? of(q, '127.0.0.1') : nx),
      servers: { '127.0.0.1': 'a' },
      expect: 2,
    },
    {
      id: 'trailing-dot-tls',
      report: `netty/netty-tcnative#400 and curl/curl#716 (SNI must drop the dot, RFC 6066 §3); a certificate for img.test: https://img.test.:PORT/`,
      urls: (p) => list(p, 'img.test.', 'dots', 2, 'https'),
      answer: (q) => (q.name === 'img.test' ? of(q, '127.0.0.1') : nx),
      servers: { '127.0.0.1': 'a' },
      tls: true,
      expect: 2,
    },
    {
      id: 'idn',
      report: `aria2/aria2#401 and aria2/aria2#2055 (aria2 lacks IDN: a Cyrillic host fails to resolve): http://bücher.test:PORT/, asked as xn--bcher-kva.test`,
      urls: (p) => list(p, 'bücher.test', 'idn', 2),
      answer: (q) => (q.name === 'xn--bcher-kva.test' ? of(q, '127.0.0.1') : nx),
      servers: { '127.0.0.1': 'a' },
      expect: 2,
    },
    {
      id: 'upper-case',
      report: `no peer report found (RFC 4343: DNS names are case-blind; the URL parser lower-cases them): http://IMG.Test:PORT/`,
      urls: (p) => list(p, 'IMG.Test', 'caps', 2),
      answer: (q) => (q.name === 'img.test' ? of(q, '127.0.0.1') : nx),
      servers: { '127.0.0.1': 'a' },
      expect: 2,
    },
    {
      id: 'zero-address',
      report: `pi-hole/pi-hole#2337 (a blocked name answered 0.0.0.0), StevenBlack/hosts#2447 and pi-hole/FTL#2903 (0.0.0.0 reaches this host, as 127.0.0.1): blocked.test A 0.0.0.0, AAAA ::; a local web server on 127.0.0.1:PORT`,
      urls: (p) => list(p, 'blocked.test', 'zero', 2),
      answer: (q) => (q.name === 'blocked.test' ? of(q, '0.0.0.0', '::') : nx),
      servers: { '127.0.0.1': 'a' },
      local: '/zero/',
      expect: 0,
    },
    {
      id: 'zero-and-real',
      report: `pi-hole/pi-hole#2337 and StevenBlack/hosts#2447 (0.0.0.0, a blocklist's answer) beside a real one (a hosts file and DNS both answering, a filtering resolver adding its sinkhole): blocked.test A 0.0.0.0 and 127.0.0.2, AAAA ::; the image server on 127.0.0.2, a local web server on 127.0.0.1:PORT`,
      urls: (p) => list(p, 'blocked.test', 'zeroreal', 2),
      answer: (q) => (q.name === 'blocked.test' ? of(q, '0.0.0.0', '127.0.0.2', '::') : nx),
      servers: { '127.0.0.1': 'b', '127.0.0.2': 'a' },
      local: '/zeroreal/',
      expect: 2,
    },
    {
      id: 'servfail-slow',
      report: `louislam/uptime-kuma#878 (EAI_AGAIN); a recursive resolver that tries dead upstream servers answers SERVFAIL late (RFC 2308 §7.1): every answer SERVFAIL after 1.5 s, two files and one live`,
      urls: (p) => [...list(p, 'broken.test', 'slowsf', 2), ...list(p, 'img.test', 'live', 1)],
      answer: (q) => (q.name === 'img.test' ? of(q, '127.0.0.1') : { rcode: 2, delayMs: 1500 }),
      servers: { '127.0.0.1': 'a' },
      expect: 1,
    },
    {
      id: 'dns-silent-threads',
      report: `nodejs/undici#2777 and nodejs/undici#1484, as dns-silent, imgpull with \`--threads 2\` (its transfers on threads): silent.test never answered, one live file beside it`,
      urls: (p) => [...list(p, 'silent.test', 'silent', 2), ...list(p, 'img.test', 'live', 1)],
      answer: (q) =>
        q.name === 'silent.test' ? { silent: true } : q.name === 'img.test' ? of(q, '127.0.0.1') : nx,
      servers: { '127.0.0.1': 'a' },
      expect: 1,
      imgpullArgs: ['--threads', '2'],
    },
    {
      id: 'dead-domain-100',
      report: `nodejs/undici#1484 (500 requests on a name that does not exist): 100 files on such a name`,
      urls: (p) => list(p, 'gone.test', 'dead', 100),
      answer: () => nx,
      servers: {},
      expect: 0,
    },
    {
      id: 'servfail-100',
      report: `louislam/uptime-kuma#878 (EAI_AGAIN); a domain whose name servers are all down answers SERVFAIL (RFC 2308 §7.1): 100 files on it`,
      urls: (p) => list(p, 'broken.test', 'sf', 100),
      answer: () => ({ rcode: 2 }),
      servers: {},
      expect: 0,
    },
    {
      id: 'localhost-sub',
      report: `curl/curl#15628 (a \`*.k3d.localhost\` name: the loopback, whatever DNS says; RFC 6761 §6.3); DNS here says 10.255.255.1: http://img.localhost:PORT/`,
      urls: (p) => list(p, 'img.localhost', 'lh', 2),
      answer: (q) => of(q, '10.255.255.1'),
      servers: { '127.0.0.1': 'a', '::1': 'a' },
      expect: 2,
    },
    {
      id: 'proxy-resolves',
      report: `gatling/gatling#4547 and mozilla/multi-account-containers#2734 (the target's name is the proxy's to look up, not the client's): http_proxy set, the image host known to the proxy alone (NXDOMAIN here)`,
      urls: (p) => list(p, 'behind.test', 'proxy', 2),
      answer: () => nx,
      servers: { '127.0.0.1': 'a' },
      proxy: true,
      expect: 2,
    },
  ]
}

interface DnsTool {
  id: string
  args(list: string, urls: string[], out: string, ca: string | undefined): string[]
}

const TOOLS: DnsTool[] = [
  {
    id: 'imgpull',
    args: (list, _u, out, ca) => [
      process.execPath,
      IMGPULL,
      list,
      '-o',
      out,
      '--no-report',
      ...(ca ? ['--ca-cert', ca] : []),
    ],
  },
  {
    id: 'curl',
    args: (_l, urls, out, ca) => [
      'curl',
      '-sS',
      '--fail',
      '--remote-name-all',
      '--output-dir',
      out,
      ...(ca ? ['--cacert', ca] : []),
      ...urls,
    ],
  },
  {
    id: 'wget2',
    args: (list, _u, out, ca) => [
      'wget2',
      '--no-config',
      '-q',
      '-P',
      out,
      ...(ca ? [`--ca-certificate=${ca}`] : []),
      '-i',
      list,
    ],
  },
  {
    id: 'aria2c',
    args: (list, _u, out, ca) => [
      'aria2c',
      '-q',
      '-d',
      out,
      ...(ca ? [`--ca-certificate=${ca}`] : []),
      '-i',
      list,
    ],
  },
]

/** `base` with `tag` in a JPEG comment after its SOI: each server's images told apart. */
function tagged(base: Buffer, tag: string): Buffer {
  const text = Buffer.from(`tag=${tag};`)
  const head = Buffer.alloc(4)
  head.writeUInt16BE(0xfffe, 0)
  head.writeUInt16BE(text.length + 2, 2)
  return Buffer.concat([base.subarray(0, 2), head, text, base.subarray(2)])
}

interface Seen {
  hosts: string[]
  snis: string[]
  served: number
}

/** An image server on `address:port` answering every path with an image tagged `tag`. */
async function imageServer(
  address: string,
  port: number,
  tag: string,
  base: Buffer,
  seen: Seen,
  c: DnsCase,
  onServed: () => void,
  tls?: { cert: Buffer; key: Buffer },
): Promise<{ server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>()
  const onSocket = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    eachRequest(socket, (head) => {
      const target = head.split('\r\n')[0]!.split(' ')[1] ?? '/'
      seen.hosts.push(/\r\nhost: *([^\r]*)/i.exec(head)?.[1] ?? '')
      if (c.moveAfter !== undefined && tag === 'a' && seen.served >= c.moveAfter) {
        socket.destroy()
        return
      }
      if (c.local && target.includes(c.local) && address === '127.0.0.1') {
        const page = '<html><body>my local dev server</body></html>'
        socket.write(
          `HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: ${page.length}\r\n\r\n${page}`,
        )
        return
      }
      const body = tagged(base, tag)
      seen.served++
      socket.write(
        `HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: ${body.length}\r\n${seen.served === c.moveAfter && tag === 'a' ? 'Connection: close\r\n' : ''}\r\n`,
      )
      socket.write(body)
      if (seen.served === c.moveAfter && tag === 'a') {
        socket.end()
        onServed()
      }
    })
  }
  const server = tls
    ? createTlsServer(
        {
          ...tls,
          SNICallback: (name, cb) => {
            seen.snis.push(name)
            cb(null)
          },
        },
        (s) => onSocket(s as unknown as Socket),
      )
    : createServer(onSocket)
  if (tls) server.on('tlsClientError', () => {})
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, address, () => resolve())
  })
  return { server, sockets }
}

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as { port: number }
  await new Promise((resolve) => s.close(resolve))
  return port
}

/** The first line a tool shows that says something went wrong. */
const errorLine = (stderr: string) =>
  firstError(stderr, /img\/s|B\/s ·|^Details:|^Downloading|^\d+ (?:images?|downloaded)/i, {
    max: 200,
    split: '\n',
  })

const cellText = (line: string) =>
  cellLine(line, /\/tmp\/dns-[^/\s'"]+\/?/g, { origin: /:\d{4,5}\b/g, as: ':P' })

async function runOne(
  tool: DnsTool,
  c: DnsCase,
  base: Buffer,
  dnsHost: string,
  cert: { cert: Buffer; key: Buffer; ca: string },
) {
  const root = await mkdtemp(join(tmpdir(), `dns-${tool.id}-`))
  const out = join(root, 'out')
  await mkdir(out)
  const port = await freePort()
  const state: State = { asked: new Map(), moved: false }
  const dns = await startDnsServer((q) => c.answer({ ...q, name: q.name.toLowerCase() }, state), {
    host: dnsHost,
    port: 53,
  })
  const seen: Seen = { hosts: [], snis: [], served: 0 }
  const servers: { server: Server; sockets: Set<Socket> }[] = []
  const onMoved = () => {
    state.moved = true
    const first = servers[0]
    first?.server.close()
  }
  for (const [address, tag] of Object.entries(c.servers))
    servers.push(await imageServer(address, port, tag, base, seen, c, onMoved, c.tls ? cert : undefined))
  const urls = c.urls(port)
  const listFile = join(root, 'list.txt')
  await writeFile(listFile, `${urls.join('\n')}\n`)
  const hosts = join(root, 'hosts')
  const resolv = join(root, 'resolv.conf')
  await writeFile(hosts, '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n')
  await writeFile(resolv, `nameserver ${dnsHost}\n`)
  const proxy = c.proxy ? `http://127.0.0.1:${port}` : undefined
  const saved = { ...process.env }
  for (const k of ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY'])
    delete process.env[k]
  if (proxy) Object.assign(process.env, { http_proxy: proxy, HTTP_PROXY: proxy })
  const [cmd, ...args] = [
    ...tool.args(listFile, urls, out, c.tls ? cert.ca : undefined),
    ...(tool.id === 'imgpull' ? (c.imgpullArgs ?? []) : []),
  ]
  const began = performance.now()
  const { code, stderr } = await spawnCapped(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/resolv.conf && shift 2 && exec "$@"',
      'sh',
      hosts,
      resolv,
      cmd!,
      ...args,
    ],
    CAP_S * 1000,
    root,
  )
  const seconds = (performance.now() - began) / 1000
  process.env = saved
  for (const s of servers) {
    for (const socket of s.sockets) socket.destroy()
    s.server.close()
  }
  await dns.close()
  let got = 0
  let wrong = 0
  const tags = new Set<string>()
  for (const name of await readdir(out, { recursive: true })) {
    if (/^\.imgpull|^manifest\.jsonl$|\.aria2$/.test(String(name))) continue
    const bytes = await readFile(join(out, String(name))).catch(() => undefined)
    if (!bytes) continue
    const tag = /tag=(\w+);/.exec(bytes.toString('latin1'))?.[1]
    if (tag) tags.add(tag)
    if (tag && (c.tag ?? 'a').includes(tag)) got++
    else wrong++
  }
  await rm(root, { recursive: true, force: true })
  return { got, wrong, tags, code, seconds, error: errorLine(stderr), stderr, queries: dns.queries, seen }
}

async function main() {
  const { only, toolIds } = benchArgs()
  const base = await noise(32, 24).jpeg({ quality: 80 }).toBuffer()
  const dir = await mkdtemp(join(tmpdir(), 'dns-certs-'))
  selfSigned(dir, 'img', '/CN=img.test', ['-addext', 'subjectAltName=DNS:img.test'])
  const cert = {
    cert: await readFile(join(dir, 'img.pem')),
    key: await readFile(join(dir, 'img.key')),
    ca: join(dir, 'img.pem'),
  }
  // An address of the loopback no other session is likely to hold for its port 53.
  const dnsHost = `127.53.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`
  const chosen = cases().filter((c) => !only || only.includes(c.id))
  const { tools, rows } = toolTable(TOOLS, toolIds)
  for (const c of chosen) {
    const cells: string[] = []
    for (const t of tools) {
      const r = await runOne(t, c, base, dnsHost, cert)
      const looked = r.queries.filter((q) => q.type === 'A').length
      const names = [...new Set(r.queries.map((q) => q.name))].join(',')
      const hostHeaders = [...new Set(r.seen.hosts.map((h) => h.replace(/:\d+$/, ':P')))].join(',')
      const snis = [...new Set(r.seen.snis)].join(',')
      cells.push(
        `${r.got}/${c.expect}${r.wrong ? `, **${r.wrong} WRONG**` : ''}, ${r.seconds.toFixed(1)}s; ${r.queries.length} queries (${looked} A)${c.id.startsWith('trailing') || c.id === 'upper-case' || c.id === 'idn' ? `; Host ${hostHeaders || 'none'}${c.tls ? `; SNI ${snis || 'none'}` : ''}` : ''}${r.code === null ? `, killed at ${CAP_S} s` : r.code ? `, exit ${r.code}` : ''}${r.error ? `; _${cellText(r.error)}_` : ''}`,
      )
      console.error(
        `${process.argv.includes('--verbose') ? `${r.stderr}\n` : ''}${c.id} ${t.id}: got ${r.got} wrong ${r.wrong} tags [${[...r.tags]}] exit ${r.code} ${r.seconds.toFixed(1)}s queries ${r.queries.length} (${names}; tcp ${r.queries.filter((q) => q.tcp).length}) hosts [${r.seen.hosts.slice(0, 3)}] sni [${r.seen.snis.slice(0, 3)}]\n    ${r.error}`,
      )
    }
    rows.push(`| ${c.id} | ${cells.join(' | ')} |`)
  }
  await rm(dir, { recursive: true, force: true })
  printTable(rows, chosen)
}

await main()
