/**
 * Side by side through misbehaving proxies: each case is one proxy answer or proxy setup a public
 * bug report describes (named with it), played by a raw proxy on 127.0.0.1 in front of a local
 * image server, and each tool is given the proxy as users give it, in the environment
 * (`http_proxy`, `HTTPS_PROXY`, `NO_PROXY`...). Prints, per case and tool, the verdict on the file
 * kept (as bench/misbehave.ts does: `got`, `WRONG`, `refused`, `none`), the seconds it took, and
 * each tool's message (a failure should name the proxy, not the image host).
 *
 * http:// URLs name `img.proxied.test`, a host only the proxy resolves (to the image server), and
 * https:// ones `localhost` on a port where nothing listens, which the proxy's CONNECT maps to the
 * TLS image server: a tool that goes direct where it should not fails, and one that goes through
 * the proxy where `NO_PROXY` says not meets a proxy that refuses everything (403).
 *
 *   npm run build && node --import tsx bench/misbehave-proxy.ts [--only ID,ID] [--tools imgpull,curl]
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer as createTlsServer } from 'node:tls'
import { makeCerts } from '../test/support/certs.js'
import { eachRequest } from '../test/support/raw-server.js'
import { type Socks5Options, startSocks5Proxy } from '../test/support/socks5-proxy.js'
import { benchArgs, noise, runTool, TOOLS } from './misbehave.js'

/** A request as the proxy read it: its head (without the blank line) and the bytes after it. */
interface Asked {
  method: string
  target: string
  head: string
  rest: Buffer
}

interface Ports {
  /** The case's proxy. */
  proxy: number
  /** A proxy that refuses every request (403 and a page), for where `NO_PROXY` says to go direct. */
  refusing: number
  /** The plain image server (127.0.0.1 and ::1). */
  http: number
  /** The TLS image server (a certificate for localhost from the test CA). */
  https: number
  /** A port on 127.0.0.1 where nothing listens. */
  dead: number
}

/** Per tool run: requests the case's proxy has read so far (1 for the first). */
interface Seen {
  attempt: number
}

interface Case {
  id: string
  report: string
  file: string
  /** The URL (default: http:// to `img.proxied.test`, https:// to localhost on the dead port). */
  url?: (p: Ports, file: string) => string
  https?: boolean
  /** The proxy variables set (every other proxy variable unset). */
  env: (p: Ports) => Record<string, string>
  /** How the case's proxy answers one request; the socket is the case's to end. */
  proxy: (client: Socket, asked: Asked, ports: Ports, seen: Seen) => void
  /** The case's proxy speaks TLS (an https:// proxy). */
  proxyTls?: boolean
  /** The address the case's proxy listens on (default 127.0.0.1). */
  proxyHost?: string
  /** The case's proxy is a SOCKS5 one (test/support/socks5-proxy.ts) with these options, not `proxy`. */
  socks?: Socks5Options
  expect: Buffer | undefined
}

const PROXY_VARIABLES = [
  'http_proxy',
  'HTTP_PROXY',
  'https_proxy',
  'HTTPS_PROXY',
  'all_proxy',
  'ALL_PROXY',
  'no_proxy',
  'NO_PROXY',
  'REQUEST_METHOD',
]

const page = (status: string, html: string, extra = '') =>
  Buffer.from(
    `HTTP/1.1 ${status}\r\nContent-Type: text/html\r\nContent-Length: ${Buffer.byteLength(html)}\r\n${extra}\r\n${html}`,
  )
const image = (body: Buffer, fields: string[] = [`Content-Length: ${body.length}`]) =>
  Buffer.concat([
    Buffer.from(
      `HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n${fields.map((f) => `${f}\r\n`).join('')}\r\n`,
    ),
    body,
  ])

/**
 * Opens a tunnel for `client` to the TLS image server (whatever host the CONNECT named), writes
 * `reply` first (in pieces 50 ms apart when given so), and passes the server's bytes on, the
 * tunnel closed after `cutAfter` of them when given.
 */
function tunnel(client: Socket, ports: Ports, asked: Asked, reply: string | string[], cutAfter?: number) {
  const upstream = createConnection({ port: ports.https, host: '127.0.0.1' })
  upstream.on('error', () => client.destroy())
  client.on('close', () => upstream.destroy())
  upstream.on('connect', async () => {
    for (const [i, piece] of [reply].flat().entries()) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50))
      client.write(piece)
    }
    if (asked.rest.length) upstream.write(asked.rest)
    client.pipe(upstream)
    let passed = 0
    upstream.on('data', (d: Buffer) => {
      if (cutAfter === undefined) return client.write(d)
      const room = cutAfter - passed
      passed += d.length
      if (room > 0) client.write(d.subarray(0, room))
      if (passed >= cutAfter) {
        client.destroy()
        upstream.destroy()
      }
    })
    upstream.on('end', () => client.end())
  })
}

const ESTABLISHED = 'HTTP/1.1 200 Connection established\r\n\r\n'

async function cases(): Promise<Case[]> {
  const jpg = await noise(240, 180).jpeg({ quality: 85 }).toBuffer()
  const cut = jpg.subarray(0, Math.floor(jpg.length * 0.6))
  /** An honest proxy: tunnels for CONNECT, the image (kept alive) for a plain request. */
  const honest: Case['proxy'] = (client, asked, ports) =>
    asked.method === 'CONNECT' ? tunnel(client, ports, asked, ESTABLISHED) : client.write(image(jpg))
  const plain = (answer: (seen: Seen) => Buffer, end = true): Case['proxy'] =>
    function plainAnswer(client, asked, ports, seen) {
      if (asked.method === 'CONNECT') return honest(client, asked, ports, seen)
      return end ? client.end(answer(seen)) : client.write(answer(seen))
    }
  const connect =
    (reply: string | string[], cutAfter?: (seen: Seen) => number | undefined): Case['proxy'] =>
    (client, asked, ports, seen) =>
      asked.method === 'CONNECT'
        ? tunnel(client, ports, asked, reply, cutAfter?.(seen))
        : client.end(page('405 Method Not Allowed', '<h1>CONNECT only</h1>'))
  const https = { https: true }
  const viaHttp = (p: Ports) => ({ http_proxy: `http://127.0.0.1:${p.proxy}` })
  const viaHttps = (p: Ports) => ({ https_proxy: `http://127.0.0.1:${p.proxy}` })
  /** Basic credentials checked as a proxy does: the 407 and its challenge without them. */
  const basic =
    (user: string, password: string): Case['proxy'] =>
    (client, asked, ports, seen) => {
      const want = `basic ${Buffer.from(`${user}:${password}`).toString('base64')}`.toLowerCase()
      const got = /^proxy-authorization:\s*(.*)$/im.exec(asked.head)?.[1]?.trim().toLowerCase()
      if (got !== want)
        return client.end(
          page(
            '407 Proxy Authentication Required',
            '<h1>Cache Access Denied</h1>',
            'Proxy-Authenticate: Basic realm="corp"\r\nConnection: close\r\n',
          ),
        )
      honest(client, asked, ports, seen)
    }
  /** A direct URL to the plain image server (what NO_PROXY should send direct). */
  const direct =
    (host = '127.0.0.1') =>
    (p: Ports, file: string) =>
      `http://${host}:${p.http}/${file}`
  const refusingFor = (noProxy: string) => (p: Ports) => ({
    http_proxy: `http://127.0.0.1:${p.refusing}`,
    https_proxy: `http://127.0.0.1:${p.refusing}`,
    no_proxy: noProxy,
  })
  /** Through a SOCKS5 proxy: the URL on the image server's port, by a name only the proxy resolves. */
  const socksUrl = (p: Ports, file: string) => `http://img.proxied.test:${p.http}/${file}`
  const viaSocks = (credentials: string) => (p: Ports) => ({
    ALL_PROXY: `socks5h://${credentials}127.0.0.1:${p.proxy}`,
  })
  const list: Case[] = [
    {
      id: 'plain-honest',
      report: 'baseline: an honest proxy, an http:// URL as an absolute-form request',
      file: 'plain.jpg',
      env: viaHttp,
      proxy: honest,
      expect: jpg,
    },
    {
      id: 'connect-honest',
      report: 'baseline: an honest proxy, an https:// URL through `HTTP/1.1 200 Connection established`',
      file: 'connect.jpg',
      ...https,
      env: viaHttps,
      proxy: honest,
      expect: jpg,
    },
    {
      id: 'connect-http10',
      report:
        'cfug/dio#2053, ninenines/gun#277, mknj/node-keepalive-proxy-agent#30: `HTTP/1.0 200 Connection established` and `Proxy-agent: Netscape-Proxy/1.1` (Squid 3.1, Surge)',
      file: 'http10.jpg',
      ...https,
      env: viaHttps,
      proxy: connect('HTTP/1.0 200 Connection established\r\nProxy-agent: Netscape-Proxy/1.1\r\n\r\n'),
      expect: jpg,
    },
    {
      id: 'connect-length-close',
      report:
        'ruby/webrick#87, google/martian#209: `200 OK` to CONNECT with `Content-Length: 0` and `Connection: close` (RFC 9110 §9.3.6: the client ignores both)',
      file: 'length.jpg',
      ...https,
      env: viaHttps,
      proxy: connect('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'),
      expect: jpg,
    },
    {
      id: 'connect-chunked',
      report:
        'curl/curl#1317, envoyproxy/envoy#11227, shadowy-pycoder/go-http-proxy-to-socks#24 (undici InvalidHTTPResponse): `200` to CONNECT with `Transfer-Encoding: chunked`',
      file: 'chunked.jpg',
      ...https,
      env: viaHttps,
      proxy: connect('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
      expect: jpg,
    },
    {
      id: 'connect-split',
      report:
        'curl/curl#6432 (a CONNECT answer read in pieces): the 200 written in three packets 50 ms apart, split mid-line',
      file: 'split.jpg',
      ...https,
      env: viaHttps,
      proxy: connect(['HTTP/1.1 20', '0 Connection established\r', '\nVia: 1.1 proxy\r\n\r\n']),
      expect: jpg,
    },
    {
      id: 'connect-body',
      report:
        'book/HTTP-Proxy#9 (a CONNECT 200 that claims a body): `Content-Length: 12` and 12 bytes of text before the tunnel, which the TLS handshake then reads',
      file: 'body.jpg',
      ...https,
      env: viaHttps,
      proxy: connect('HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nTunnel open\n'),
      expect: undefined,
    },
    {
      id: 'connect-closed',
      report: 'curl/curl#21084 (no answer to CONNECT): the proxy reads the CONNECT and closes',
      file: 'closed.jpg',
      ...https,
      env: viaHttps,
      proxy: (client) => client.end(),
      expect: undefined,
    },
    {
      id: 'tunnel-cut-once',
      report:
        'cernekee/ocproxy#7, Cisco-Talos/cvdupdate#3 (a flaky proxy cutting transfers): the first tunnel closed after as many bytes as 80 % of the image (mid-body), later ones whole',
      file: 'cut-once.jpg',
      ...https,
      env: viaHttps,
      proxy: connect(ESTABLISHED, ({ attempt }) =>
        attempt === 1 ? Math.floor(jpg.length * 0.6) : undefined,
      ),
      expect: jpg,
    },
    {
      id: 'tunnel-cut-always',
      report: 'cernekee/ocproxy#7: every tunnel closed so, mid-body',
      file: 'cut-always.jpg',
      ...https,
      env: viaHttps,
      proxy: connect(ESTABLISHED, () => Math.floor(jpg.length * 0.8)),
      expect: undefined,
    },
    {
      id: 'connect-502',
      report:
        "adamfisk/LittleProxy#89, oven-sh/bun#35965: the proxy's own `502 Bad Gateway` HTML page to the CONNECT",
      file: 'bad-gateway.jpg',
      ...https,
      env: viaHttps,
      proxy: (client) =>
        client.end(page('502 Bad Gateway', '<html><h1>502 Bad Gateway</h1>proxy could not connect</html>')),
      expect: undefined,
    },
    {
      id: 'plain-503',
      report:
        "ollama/ollama#5437 (the proxy's error taken for the server's): the proxy's own `503 Service Unavailable` HTML page to a plain request",
      file: 'unavailable.jpg',
      env: viaHttp,
      proxy: plain(() =>
        page(
          '503 Service Unavailable',
          '<html><h1>503</h1>upstream unreachable</html>',
          'Connection: close\r\n',
        ),
      ),
      expect: undefined,
    },
    {
      id: 'plain-200-page',
      report:
        "fail2ban/fail2ban#2827 (a gateway's page where a file was asked): a filtering proxy's block page sent as `200 OK` text/html",
      file: 'blocked.jpg',
      env: viaHttp,
      proxy: plain(() => page('200 OK', '<html><h1>Access to this site is blocked</h1></html>')),
      expect: undefined,
    },
    {
      id: 'plain-via-headers',
      report:
        'google/martian#306 (the headers a proxy adds): `Via`, `Proxy-Connection: keep-alive`, `X-Cache: MISS` and `Age: 0` on the image',
      file: 'via.jpg',
      env: viaHttp,
      proxy: plain(
        () =>
          image(jpg, [
            `Content-Length: ${jpg.length}`,
            'Via: 1.1 squid (squid/3.5.20)',
            'Proxy-Connection: keep-alive',
            'X-Cache: MISS from squid',
            'Age: 0',
          ]),
        false,
      ),
      expect: jpg,
    },
    {
      id: 'plain-no-length',
      report:
        'openai/whisper#1366, kiron1/proxydetox#395 (corporate proxies that drop Content-Length): the image whole, its length stripped, ended by closing',
      file: 'no-length.jpg',
      env: viaHttp,
      proxy: plain(() => image(jpg, ['Connection: close'])),
      expect: jpg,
    },
    {
      id: 'plain-no-length-cut',
      report:
        'Cisco-Talos/cvdupdate#4, scdl-org/scdl#248 (a cut the client cannot see): the length stripped, the image cut at 60 %, then a close',
      file: 'no-length-cut.jpg',
      env: viaHttp,
      proxy: plain(() => image(cut, ['Connection: close'])),
      expect: undefined,
    },
    {
      id: 'plain-rechunked',
      report:
        'openai/whisper#1366: the length replaced by `Transfer-Encoding: chunked` (a proxy that re-frames the body)',
      file: 'rechunked.jpg',
      env: viaHttp,
      proxy: plain(
        () =>
          Buffer.concat([
            Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n'),
            Buffer.from(`${jpg.length.toString(16)}\r\n`),
            jpg,
            Buffer.from('\r\n0\r\n\r\n'),
          ]),
        false,
      ),
      expect: jpg,
    },
    {
      id: 'plain-http10',
      report:
        'ninenines/gun#277 (Squid 3.1 answering HTTP/1.0): `HTTP/1.0 200 OK` to a plain request, no length, ended by closing',
      file: 'plain-http10.jpg',
      env: viaHttp,
      proxy: plain(() =>
        Buffer.concat([
          Buffer.from('HTTP/1.0 200 OK\r\nContent-Type: image/jpeg\r\nVia: 1.0 squid\r\n\r\n'),
          jpg,
        ]),
      ),
      expect: jpg,
    },
    {
      id: 'plain-length-cut',
      report:
        'Cisco-Talos/cvdupdate#3 (a flaky proxy): the image with its length, cut at 60 % by a close, every time',
      file: 'length-cut.jpg',
      env: viaHttp,
      proxy: plain(() => Buffer.concat([image(jpg).subarray(0, -Math.floor(jpg.length * 0.4))])),
      expect: undefined,
    },
    {
      id: 'plain-502-squid',
      report:
        "adamfisk/LittleProxy#89: Squid's own `502` page with `X-Squid-Error: ERR_CONNECT_FAIL 111` to a plain request",
      file: 'squid-502.jpg',
      env: viaHttp,
      proxy: plain(() =>
        page(
          '502 Bad Gateway',
          '<html><h1>ERROR: The requested URL could not be retrieved</h1></html>',
          'X-Squid-Error: ERR_CONNECT_FAIL 111\r\nConnection: close\r\n',
        ),
      ),
      expect: undefined,
    },
    {
      id: 'auth-at-encoded',
      report:
        'guzzle/guzzle#1677, tinyproxy/tinyproxy#545: a 407 Basic proxy, the user `me@corp` written `me%40corp` in the proxy URL; an https:// URL',
      file: 'auth-at.jpg',
      ...https,
      env: (p) => ({ https_proxy: `http://me%40corp:s3cret@127.0.0.1:${p.proxy}` }),
      proxy: basic('me@corp', 's3cret'),
      expect: jpg,
    },
    {
      id: 'auth-colon-password',
      report:
        'babun/babun#45, microsoft/typed-rest-client#49: a 407 Basic proxy, the password `pa:ss` written as is after the first `:`; an http:// URL',
      file: 'auth-colon.jpg',
      env: (p) => ({ http_proxy: `http://me:pa:ss@127.0.0.1:${p.proxy}` }),
      proxy: basic('me', 'pa:ss'),
      expect: jpg,
    },
    {
      id: 'auth-missing',
      report:
        'postmanlabs/postman-app-support#9116: a 407 Basic proxy given no credentials (the failure should name the proxy)',
      file: 'auth-none.jpg',
      ...https,
      env: viaHttps,
      proxy: basic('me', 'secret'),
      expect: undefined,
    },
    {
      id: 'auth-wrong',
      report:
        'postmanlabs/postman-app-support#9116, microsoft/Git-Credential-Manager-for-Windows#741: a 407 Basic proxy given credentials it refuses (the failure should say so, naming the proxy); an http:// URL',
      file: 'auth-wrong.jpg',
      env: (p) => ({ http_proxy: `http://me:wrong@127.0.0.1:${p.proxy}` }),
      proxy: basic('me', 'secret'),
      expect: undefined,
    },
    {
      id: 'no-scheme',
      report:
        "curl's manual (`[protocol://]<host>[:port]`), psf/requests#4579: `https_proxy=127.0.0.1:PORT`, no scheme",
      file: 'no-scheme.jpg',
      ...https,
      env: (p) => ({ https_proxy: `127.0.0.1:${p.proxy}` }),
      proxy: honest,
      expect: jpg,
    },
    {
      id: 'proxy-ipv6',
      report:
        'nodejs/undici#5623, curl/curl#1208 (IPv6 in proxy settings): `http_proxy=http://[::1]:PORT`, a proxy on the IPv6 loopback',
      file: 'proxy-v6.jpg',
      env: (p) => ({ http_proxy: `http://[::1]:${p.proxy}` }),
      proxy: honest,
      proxyHost: '::1',
      expect: jpg,
    },
    {
      id: 'proxy-localhost',
      report:
        'nodejs/node#40702, chimurai/http-proxy-middleware#705 (localhost resolved to ::1 first): `https_proxy=http://localhost:PORT`, the proxy on 127.0.0.1 only',
      file: 'proxy-localhost.jpg',
      ...https,
      env: (p) => ({ https_proxy: `http://localhost:${p.proxy}` }),
      proxy: honest,
      expect: jpg,
    },
    {
      id: 'https-proxy',
      report:
        "nodejs/undici#5116: an https:// proxy (TLS to the proxy, trusted by the run's CA), an http:// URL through it",
      file: 'tls-proxy.jpg',
      env: (p) => ({ http_proxy: `https://localhost:${p.proxy}` }),
      proxy: honest,
      proxyTls: true,
      expect: jpg,
    },
    {
      id: 'socks5h',
      report:
        'curl/curl#1208 (ALL_PROXY), psf/requests#4579: `ALL_PROXY=socks5h://127.0.0.1:PORT`, the host name left to the proxy (`ssh -D`, Tor)',
      file: 'socks.jpg',
      url: socksUrl,
      env: viaSocks(''),
      proxy: honest,
      socks: { hosts: { 'img.proxied.test': '127.0.0.1' } },
      expect: jpg,
    },
    {
      id: 'socks5h-auth',
      report:
        'apify/proxy-chain#548, tun2proxy/tun2proxy#107: a SOCKS5 proxy asking for a user and password (RFC 1929), `p@ss` written `p%40ss`',
      file: 'socks-auth.jpg',
      url: socksUrl,
      env: viaSocks('me:p%40ss@'),
      proxy: honest,
      socks: { hosts: { 'img.proxied.test': '127.0.0.1' }, auth: 'me:p@ss' },
      expect: jpg,
    },
    {
      id: 'socks5h-refused',
      report:
        'OpenVPN/openvpn#267: a SOCKS5 proxy answering the CONNECT with reply 5, connection refused (the failure should name the proxy)',
      file: 'socks-refused.jpg',
      url: socksUrl,
      env: viaSocks(''),
      proxy: honest,
      socks: { refuse: { 'img.proxied.test': 5 } },
      expect: undefined,
    },
    {
      id: 'env-lower-wins',
      report:
        'nodejs/undici#3152, psf/requests#4583: `http_proxy` (good) and `HTTP_PROXY` (a proxy refusing all) both set: the lower case wins',
      file: 'lower.jpg',
      env: (p) => ({
        http_proxy: `http://127.0.0.1:${p.proxy}`,
        HTTP_PROXY: `http://127.0.0.1:${p.refusing}`,
      }),
      proxy: honest,
      expect: jpg,
    },
    {
      id: 'env-upper-only',
      report: 'LinuxSuRen/http-downloader#173, minishift/minishift#2251: `HTTPS_PROXY` alone, upper case',
      file: 'upper.jpg',
      ...https,
      env: (p) => ({ HTTPS_PROXY: `http://127.0.0.1:${p.proxy}` }),
      proxy: honest,
      expect: jpg,
    },
    {
      id: 'env-all-proxy',
      report: "curl's manual, Rob--W/proxy-from-env: `ALL_PROXY` alone, for an https:// URL",
      file: 'all.jpg',
      ...https,
      env: (p) => ({ ALL_PROXY: `http://127.0.0.1:${p.proxy}` }),
      proxy: honest,
      expect: jpg,
    },
    {
      id: 'env-empty-lower',
      report:
        "curl/curl#539, void-linux/void-packages#41435: `http_proxy=` set empty and `HTTP_PROXY` set: imgpull's rule (an empty variable counts as unset) takes `HTTP_PROXY`; curl, wget2 and aria2c take the empty one as no proxy and go direct, to a host only the proxy resolves",
      file: 'empty.jpg',
      env: (p) => ({ http_proxy: '', HTTP_PROXY: `http://127.0.0.1:${p.proxy}` }),
      proxy: honest,
      expect: jpg,
    },
    {
      id: 'env-httpoxy',
      report:
        "curl/curl#539 (httpoxy, CVE-2016-5385): `HTTP_PROXY` (a proxy refusing all) in a CGI program (`REQUEST_METHOD` set), where a request's `Proxy:` header puts it: ignored, the URL fetched direct",
      file: 'httpoxy.jpg',
      url: direct(),
      env: (p) => ({ HTTP_PROXY: `http://127.0.0.1:${p.refusing}`, REQUEST_METHOD: 'GET' }),
      proxy: honest,
      expect: jpg,
    },
    {
      id: 'np-ip',
      report: 'curl/curl#1208: `NO_PROXY=127.0.0.1`, the URL by that address (the proxy refuses all)',
      file: 'np-ip.jpg',
      url: direct(),
      env: refusingFor('127.0.0.1'),
      proxy: honest,
      expect: jpg,
    },
    {
      id: 'np-cidr',
      report: 'curl/curl#1208, dotnet/runtime#75199: `NO_PROXY=127.0.0.0/8`',
      file: 'np-cidr.jpg',
      url: direct(),
      env: refusingFor('127.0.0.0/8'),
      proxy: honest,
      expect: jpg,
    },
    {
      id: 'np-star',
      report: "curl's manual: `NO_PROXY=*` (no host through the proxy)",
      file: 'np-star.jpg',
      url: direct(),
      env: refusingFor('*'),
      proxy: honest,
      expect: jpg,
    },
    {
      id: 'np-spaces',
      report: 'ruby/ruby#285: `NO_PROXY= example.com , localhost ` (spaces around entries)',
      file: 'np-spaces.jpg',
      url: direct('localhost'),
      env: refusingFor(' example.com , localhost '),
      proxy: honest,
      expect: jpg,
    },
    {
      id: 'np-leading-dot',
      report:
        'libwww-perl/libwww-perl#433, pnpm/pnpm#14698, nahi/httpclient#110: `NO_PROXY=.localhost`, the URL to `localhost` itself',
      file: 'np-dot.jpg',
      url: direct('localhost'),
      env: refusingFor('.localhost'),
      proxy: honest,
      expect: jpg,
    },
    {
      id: 'np-upper',
      report: 'dotnet/runtime#75199 (matching as curl does): `NO_PROXY=LOCALHOST`, the URL to `localhost`',
      file: 'np-upper.jpg',
      url: direct('localhost'),
      env: refusingFor('LOCALHOST'),
      proxy: honest,
      expect: jpg,
    },
    {
      id: 'np-quoted',
      report:
        'hashicorp/consul-template#132 (`.env` files keep the quotes): `no_proxy="localhost,127.0.0.1"`, quotes and all',
      file: 'np-quoted.jpg',
      url: direct('localhost'),
      env: refusingFor('"localhost,127.0.0.1"'),
      proxy: honest,
      expect: jpg,
    },
    {
      id: 'np-port',
      report: "curl/curl#1208 (host:port entries): `NO_PROXY=127.0.0.1:PORT`, the image server's port",
      file: 'np-port.jpg',
      url: direct(),
      env: (p) => refusingFor(`127.0.0.1:${p.http}`)(p),
      proxy: honest,
      expect: jpg,
    },
    {
      id: 'np-other-port',
      report:
        'curl/curl#1208: `NO_PROXY=img.proxied.test:1` (another port): the host still goes through the proxy',
      file: 'np-other-port.jpg',
      env: (p) => ({ http_proxy: `http://127.0.0.1:${p.proxy}`, no_proxy: 'img.proxied.test:1' }),
      proxy: honest,
      expect: jpg,
    },
    {
      id: 'np-ipv6',
      report: 'nodejs/undici#5623 (bare IPv6 entries): `NO_PROXY=::1`, the URL `http://[::1]:PORT`',
      file: 'np-v6.jpg',
      url: direct('[::1]'),
      env: refusingFor('::1'),
      proxy: honest,
      expect: jpg,
    },
    {
      id: 'np-suffix-only',
      report:
        'httplib2/httplib2#95 (`bar` matching `foobar`): `NO_PROXY=proxied.test` covers `img.proxied.test`, and `NO_PROXY=xied.test` would not: here `oxied.test`, so through the proxy',
      file: 'np-suffix.jpg',
      env: (p) => ({ http_proxy: `http://127.0.0.1:${p.proxy}`, no_proxy: 'oxied.test' }),
      proxy: honest,
      expect: jpg,
    },
  ]
  return list
}

/** A raw proxy calling `answer` for each request head it reads (CONNECT hands the socket over). */
function listen(server: Server, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, host, () => resolve((server.address() as { port: number }).port)),
  )
}

function proxyHandler(answer: (client: Socket, asked: Asked) => void) {
  return (client: Socket) => {
    client.on('error', () => {})
    let buffered = Buffer.alloc(0)
    const onData = (d: Buffer) => {
      buffered = Buffer.concat([buffered, d])
      let end = buffered.indexOf('\r\n\r\n')
      while (end >= 0) {
        const head = buffered.subarray(0, end).toString('latin1')
        const rest = buffered.subarray(end + 4)
        const [method = '', target = ''] = head.split(' ')
        if (method === 'CONNECT') {
          client.off('data', onData)
          buffered = Buffer.alloc(0)
          return answer(client, { method, target, head, rest })
        }
        buffered = rest
        answer(client, { method, target, head, rest: Buffer.alloc(0) })
        end = buffered.indexOf('\r\n\r\n')
      }
    }
    client.on('data', onData)
  }
}

async function main() {
  const { only, toolIds } = benchArgs()
  const dir = await mkdtemp(join(tmpdir(), 'misbehave-proxy-'))
  const certs = makeCerts(dir)
  const good = { cert: await readFile(certs.good.cert), key: await readFile(certs.good.key) }
  const all = await cases()
  const chosen = only ? all.filter((c) => only.includes(c.id)) : all
  const tools = toolIds ? TOOLS.filter((t) => toolIds.includes(t.id)) : TOOLS
  const jpg = await noise(240, 180).jpeg({ quality: 85 }).toBuffer()
  // The image servers: any path is the image, its length stated.
  const serve = (socket: Socket) => {
    socket.on('error', () => {})
    eachRequest(socket, () => socket.write(image(jpg)))
  }
  const plainServer = createServer(serve)
  const httpPort = await listen(plainServer)
  const plainServer6 = createServer(serve)
  await new Promise<void>((r) => plainServer6.listen(httpPort, '::1', r))
  const tlsServer = createTlsServer(good, serve)
  tlsServer.on('tlsClientError', () => {})
  const httpsPort = await listen(tlsServer)
  const refusing = createServer(
    proxyHandler((client) =>
      client.end(
        page('403 Forbidden', '<html><h1>Access denied by proxy policy</h1></html>', 'Connection: close\r\n'),
      ),
    ),
  )
  const refusingPort = await listen(refusing)
  const deadServer = createServer()
  const deadPort = await listen(deadServer)
  await new Promise((r) => deadServer.close(r))
  // Each tool trusts the test CA, for the image server and for an https:// proxy.
  const trust: Record<string, string[]> = {
    imgpull: ['--ca-cert', certs.ca],
    curl: ['--cacert', certs.ca, '--proxy-cacert', certs.ca],
    wget2: [`--ca-certificate=${certs.ca}`],
    aria2c: [`--ca-certificate=${certs.ca}`],
  }
  const rows = [
    `| case | ${tools.map((t) => t.id).join(' | ')} |`,
    `|---|${tools.map(() => '---').join('|')}|`,
  ]
  const saved = Object.fromEntries(PROXY_VARIABLES.map((name) => [name, process.env[name]]))
  for (const c of chosen) {
    const seen: Seen = { attempt: 0 }
    let ports: Ports | undefined
    const handler = proxyHandler((client, asked) => {
      seen.attempt++
      c.proxy(client, asked, ports!, seen)
    })
    const socks = c.socks && (await startSocks5Proxy(c.socks))
    const proxy = c.proxyTls ? createTlsServer(good, handler) : createServer(handler)
    proxy.on('tlsClientError', () => {})
    const proxyPort = socks ? socks.port : await listen(proxy, c.proxyHost)
    ports = { proxy: proxyPort, refusing: refusingPort, http: httpPort, https: httpsPort, dead: deadPort }
    const url =
      c.url?.(ports, c.file) ??
      (c.https ? `https://localhost:${deadPort}/${c.file}` : `http://img.proxied.test/${c.file}`)
    const results: Awaited<ReturnType<typeof runTool>>[] = []
    // One tool at a time: the environment is read when a tool starts, and `seen` counts its requests.
    for (const t of tools) {
      // wget2 1.99 speaks TLS to an http:// proxy where a CONNECT is due, and waits: not run.
      if (t.id === 'wget2' && c.https) {
        results.push({ verdict: 'n/a', seconds: 0, code: null, message: 'no CONNECT to an http:// proxy' })
        continue
      }
      seen.attempt = 0
      for (const name of PROXY_VARIABLES) delete process.env[name]
      Object.assign(process.env, c.env(ports))
      results.push(await runTool(t, url, c.file, c.expect, undefined, trust[t.id]))
    }
    if (proxy.listening) proxy.close()
    await socks?.close()
    rows.push(
      `| ${c.id} | ${results.map((r) => (r.verdict === 'n/a' ? 'n/a' : `${r.verdict} ${r.seconds.toFixed(1)}s`)).join(' | ')} |`,
    )
    console.error(
      `${c.id}: ${results.map((r, i) => `${tools[i]!.id}=${r.verdict}(${r.code}) ${r.message}`).join('\n   ')}`,
    )
  }
  for (const name of PROXY_VARIABLES) {
    if (saved[name] === undefined) delete process.env[name]
    else process.env[name] = saved[name]
  }
  for (const s of [plainServer, plainServer6, tlsServer, refusing]) s.close()
  await rm(dir, { recursive: true, force: true })
  const sources = chosen.map((c) => `- ${c.id}: ${c.report}`)
  console.log([...rows, '', 'Sources:', ...sources].join('\n'))
  process.exit(0)
}

await main()
