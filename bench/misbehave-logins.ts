/**
 * Side by side on hosts that need a login: each case is a way of giving a user and password (in
 * the URL, percent-encoded; in a `.netrc`; by a tool's own options), or a server's way of asking
 * for them (Basic, Digest with `auth-int`, SHA-256, `-sess`, `stale=true`, several challenges in
 * one header, a token, a 401 whose body is an image, a 403 in place of a 401, a proxy's 407), that
 * a public bug report of curl, wget, aria2c or requests describes (named with it). Servers on
 * 127.0.0.1 (the host the login is for, plain and TLS) and 127.0.0.2 (another host a redirect
 * leads to), fresh for each tool; each tool is given the login its own way (curl `--netrc-file`,
 * `-u`, `--anyauth` for Digest; wget2 `--netrc-file`, `--http-user`; aria2c `--netrc-path`,
 * `--http-user`; imgpull `--netrc-file`, or the URL). Prints, per case and tool, the verdict on the
 * file kept (`got`, `WRONG`, `refused`, `none`, as bench/misbehave.ts gives it), `LEAK` where a
 * password went where it must not (another host a redirect chose, plain http after https), the
 * requests the tool made and its seconds, then each tool's message.
 *
 *   npm run build && node --import tsx bench/misbehave-logins.ts [--only ID,ID] [--tools imgpull,curl] [--cap 30]
 */
import { createHash } from 'node:crypto'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeCerts } from '../test/support/certs.js'
import { benchArgs, leakRow, noise, printTable, runTool, TOOLS, toolTable } from './misbehave.js'

/** The servers of one tool's run of a case. */
type Host = 'site' | 'tls' | 'other'

/** One request a server read: which server, its target, and the credentials it carried. */
interface Seen {
  host: Host
  url: string
  authorization?: string
  proxyAuthorization?: string
}

interface LoginCase {
  id: string
  /** The report this case is modelled on. */
  report: string
  /** The URL each tool is given (`{site}`, `{tls}`, `{other}`: the servers' origins). */
  url: string
  /** A `.netrc` for the case (each tool reads it its own way), mode 0600 unless `netrcMode`. */
  netrc?: string
  netrcMode?: number
  /** The user and password as each tool's options give them (imgpull has none: the URL's). */
  options?: [user: string, password: string]
  /** curl answers Digest only when told (`--anyauth`), and goes through a proxy by `-x`: its flags. */
  extra?: Partial<Record<string, string[]>>
  /**
   * Answers one request (`n`: the requests of this tool's run so far, this one included; `fill`
   * puts the servers' ports in a Location's `{siteport}`, `{otherport}`, `{tlsport}`).
   */
  respond: (
    req: IncomingMessage,
    res: ServerResponse,
    host: Host,
    n: number,
    fill: (s: string) => string,
  ) => void
  /** No file is right (a `none` is right, a file kept `WRONG`). */
  unservable?: boolean
  /** Whether the requests seen put a password where it must not go. */
  leak?: (seen: Seen[]) => boolean
}

const IMAGE = await noise(240, 180).jpeg({ quality: 85 }).toBuffer()
/** A "log in to see this" image a 401 may carry as its body. */
const LOGIN_IMAGE = await noise(64, 64).png().toBuffer()

const basic = (user: string, password: string | Buffer) =>
  `Basic ${Buffer.concat([Buffer.from(`${user}:`), Buffer.from(password)]).toString('base64')}`
const sendImage = (res: ServerResponse) =>
  res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': IMAGE.length }).end(IMAGE)
const refuse = (res: ServerResponse, challenge: string | string[] | undefined, status = 401) =>
  res
    .writeHead(status, { ...(challenge ? { 'www-authenticate': challenge } : {}), 'content-length': 0 })
    .end()
/** The image for `Basic user:password`, a 401 asking for Basic otherwise. */
const basicOnly = (user: string, password: string | Buffer) => (req: IncomingMessage, res: ServerResponse) =>
  req.headers.authorization === basic(user, password) ? sendImage(res) : refuse(res, 'Basic realm="gallery"')
const redirect = (res: ServerResponse, to: string) =>
  res.writeHead(302, { location: to, 'content-length': 0 }).end()

/**
 * Whether `authorization` answers a Digest challenge for `user:password` (RFC 7616: MD5 or
 * SHA-256, `-sess`, `qop` auth, auth-int or none), written here apart from imgpull's.
 */
function digestValid(authorization: string | undefined, method: string, password: string): boolean {
  if (!authorization?.startsWith('Digest ')) return false
  const p = Object.fromEntries(
    [...authorization.matchAll(/(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)].map((m) => [
      m[1]!,
      m[2] ?? m[3]!,
    ]),
  )
  const algorithm = (p.algorithm ?? 'MD5').toUpperCase()
  const H = (s: string) =>
    createHash(algorithm.startsWith('SHA-256') ? 'sha256' : 'md5')
      .update(s)
      .digest('hex')
  let ha1 = H(`${p.username}:${p.realm}:${password}`)
  if (algorithm.endsWith('-SESS')) ha1 = H(`${ha1}:${p.nonce}:${p.cnonce}`)
  const ha2 = H(p.qop === 'auth-int' ? `${method}:${p.uri}:${H('')}` : `${method}:${p.uri}`)
  const response = p.qop
    ? H(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`)
    : H(`${ha1}:${p.nonce}:${ha2}`)
  return p.username === 'cam' && p.response === response
}
/**
 * A Digest-only camera: `challenge(n)` asks, the image for a right answer; a right answer whose
 * nonce `stale` calls stale is asked again, `stale=true`, with a fresh nonce.
 */
const digestCamera =
  (challenge: (n: number) => string, stale?: (nonce: string) => boolean) =>
  (req: IncomingMessage, res: ServerResponse, _h: Host, n: number) => {
    const auth = req.headers.authorization
    if (!digestValid(auth, 'GET', 'se cret')) return refuse(res, challenge(n))
    const nonce = /nonce="([^"]*)"/.exec(auth!)?.[1] ?? ''
    if (stale?.(nonce)) return refuse(res, `${challenge(n)}, stale=true`)
    sendImage(res)
  }
const CAMERA = 'cam:se%20cret'
const CURL_DIGEST = { curl: ['--anyauth'] }

/** Any Authorization that reached a server other than the one the login is for. */
const reached = (host: Host) => (seen: Seen[]) => seen.some((s) => s.host === host && s.authorization)

function cases(): LoginCase[] {
  return [
    {
      id: 'basic-url',
      report: "RFC 7617 (Basic); curl -u and a URL's userinfo alike",
      url: '{site}/a.jpg',
      respond: basicOnly('u', 'p'),
    },
    {
      id: 'basic-options',
      report:
        "each tool's own options: curl -u, wget2 --http-user/--http-password, aria2c --http-user/--http-passwd",
      url: '{site}/a.jpg',
      options: ['u', 'p'],
      respond: basicOnly('u', 'p'),
    },
    {
      id: 'url-escaped-at-colon-slash',
      report: 'RFC 3986 §3.2.1 (a password with @ : / percent-encoded in the URL, to be sent decoded)',
      url: '{site}/a.jpg',
      respond: basicOnly('u', 'p@ss:w/rd'),
    },
    {
      id: 'url-utf8-password',
      report: 'RFC 7617 §2.1 (a non-ASCII password: its UTF-8 bytes in Basic)',
      url: '{site}/a.jpg',
      respond: basicOnly('u', Buffer.from('pässwörd', 'utf8')),
    },
    {
      id: 'netrc-basic',
      report: "ftp(1)'s .netrc: curl -n, wget, aria2c and gallery-dl --netrc",
      url: '{site}/a.jpg',
      netrc: 'machine 127.0.0.1 login u password p\n',
      respond: basicOnly('u', 'p'),
    },
    {
      id: 'netrc-quoted-escapes',
      report: 'curl/curl#8908 (quoted netrc tokens with spaces and \\" escapes, curl 7.84)',
      url: '{site}/a.jpg',
      netrc: 'machine 127.0.0.1 login u password "two \\"quoted\\" words"\n',
      respond: basicOnly('u', 'two "quoted" words'),
    },
    {
      id: 'netrc-comments-crlf',
      report:
        "curl/curl#1723 (support .netrc comments), heroku/netrc#25 and swiftlang/swift-package-manager#8109 (where a # starts a comment; wget's netrc.c: after whitespace); CRLF lines from a Windows editor",
      url: '{site}/a.jpg',
      netrc: '# my hosts\r\nmachine 127.0.0.1  # the gallery\r\nlogin u password p  # changed in May\r\n',
      respond: basicOnly('u', 'p'),
    },
    {
      id: 'netrc-default',
      report: "curl/curl#9248 and wget's netrc (the `default` entry, for any host no machine names)",
      url: '{site}/a.jpg',
      netrc: 'machine elsewhere.example login x password y\ndefault login u password p\n',
      respond: basicOnly('u', 'p'),
    },
    {
      id: 'netrc-macdef',
      report: 'curl/curl#7238 (a macdef body read as entries: its words taken as a login and password)',
      url: '{site}/a.jpg',
      netrc:
        'macdef init\nmachine 127.0.0.1 login evil password leaked\n\nmachine 127.0.0.1 login u password p\n',
      respond: basicOnly('u', 'p'),
    },
    {
      id: 'netrc-no-password',
      report: 'curl/curl#9148 and curl/curl#20950 (a machine with a login and no password)',
      url: '{site}/a.jpg',
      netrc: 'machine 127.0.0.1 login u\n',
      respond: basicOnly('u', ''),
    },
    {
      id: 'netrc-mode-0644',
      report:
        'coursera-dl/coursera-dl#339 and ftp(1) (a .netrc others may read: the Python netrc module and ftp refuse it, curl reads it)',
      url: '{site}/a.jpg',
      netrc: 'machine 127.0.0.1 login u password p\n',
      netrcMode: 0o644,
      respond: basicOnly('u', 'p'),
    },
    {
      id: 'netrc-long-password',
      report: 'curl CVE-2022-35260 (netrc lines past its 4 KiB buffer)',
      url: '{site}/a.jpg',
      netrc: `machine 127.0.0.1 login u password ${'x'.repeat(5000)}\n`,
      respond: basicOnly('u', 'x'.repeat(5000)),
    },
    {
      id: 'digest-auth-int',
      report:
        'RFC 7616 §3.9.1 (qop="auth, auth-int" offered: auth to be picked; a camera that takes Digest only)',
      url: '{site}/a.jpg',
      extra: CURL_DIGEST,
      respond: digestCamera(() => 'Digest realm="cam", qop="auth,auth-int", nonce="n1", opaque="o"'),
    },
    {
      id: 'digest-sha256',
      report: 'RFC 7616 §3.9.1 (algorithm=SHA-256)',
      url: '{site}/a.jpg',
      extra: CURL_DIGEST,
      respond: digestCamera(() => 'Digest realm="cam", qop="auth", algorithm=SHA-256, nonce="n1"'),
    },
    {
      id: 'digest-md5-sess',
      report: 'RFC 7616 §3.4.2 (algorithm=MD5-sess: HA1 over the nonce and cnonce)',
      url: '{site}/a.jpg',
      extra: CURL_DIGEST,
      respond: digestCamera(() => 'Digest realm="cam", qop="auth", algorithm=MD5-sess, nonce="n1"'),
    },
    {
      id: 'digest-stale-once',
      report:
        'curl/curl#928 and libwww-perl/libwww-perl#39 (stale=true: the nonce expired, to be asked again with the fresh one)',
      url: '{site}/a.jpg',
      extra: CURL_DIGEST,
      respond: digestCamera(
        (n) => `Digest realm="cam", qop="auth", nonce="n${n}"`,
        // The first nonce the camera gave; the next is good.
        (nonce) => nonce === 'n1',
      ),
    },
    {
      id: 'digest-stale-forever',
      report: 'rack/rack#406 (a request loop: every fresh nonce refused again) and curl/curl#2136',
      url: '{site}/a.jpg',
      extra: CURL_DIGEST,
      unservable: true,
      respond: digestCamera(
        (n) => `Digest realm="cam", qop="auth", nonce="n${n}"`,
        () => true,
      ),
    },
    {
      id: 'challenges-in-one-header',
      report:
        'RFC 9110 §11.6.1 (Basic and Digest in one WWW-Authenticate, split at the right comma, one in a quoted nonce; Basic refused)',
      url: '{site}/a.jpg',
      extra: CURL_DIGEST,
      respond: digestCamera(() => 'Basic realm="cam", Digest realm="cam", nonce="a,b", qop="auth"'),
    },
    {
      id: 'bearer-realm',
      report: 'RFC 6750 §3 (a Bearer realm: no password helps; the message should say a token)',
      url: '{site}/a.jpg',
      unservable: true,
      respond: (_q, res) => refuse(res, 'Bearer realm="api", error="invalid_token"'),
    },
    {
      id: '401-body-image',
      report: 'RFC 9110 §15.5.2 (a 401 whose body is a "log in" image, not to be kept as the file)',
      url: '{site}/a.jpg',
      unservable: true,
      respond: (_q, res) =>
        res
          .writeHead(401, {
            'www-authenticate': 'Basic realm="gallery"',
            'content-type': 'image/png',
            'content-length': LOGIN_IMAGE.length,
          })
          .end(LOGIN_IMAGE),
    },
    {
      id: '403-not-401',
      report:
        'RFC 9110 §15.5.4 (a server that answers 403, no challenge, where the login is missing: a client that waits to be asked never sends it)',
      url: '{site}/a.jpg',
      respond: (req, res) =>
        req.headers.authorization === basic('u', 'p') ? sendImage(res) : refuse(res, undefined, 403),
    },
    {
      id: 'redirect-other-host',
      report: 'curl CVE-2018-1000007 (the Authorization sent on to the host a redirect names)',
      url: '{site}/a.jpg',
      respond: (_q, res, host, _n, fill) =>
        host === 'other' ? sendImage(res) : redirect(res, fill('http://127.0.0.2:{otherport}/b.jpg')),
      leak: reached('other'),
    },
    {
      id: 'http-to-https-same-host',
      report:
        'curl CVE-2022-27776 (credentials dropped, or kept, on a redirect to another scheme and port of the same host: a site that moves every request to https)',
      url: '{site}/a.jpg',
      respond: (req, res, host, _n, fill) =>
        host === 'site'
          ? redirect(res, fill('https://127.0.0.1:{tlsport}/a.jpg'))
          : basicOnly('u', 'p')(req, res),
    },
    {
      id: 'redirect-other-host-netrc',
      report: "curl CVE-2024-11053 (a redirect to another host got the first host's .netrc password)",
      url: '{site}/a.jpg',
      netrc: 'machine 127.0.0.1 login u password p\n',
      respond: (req, res, host, _n, fill) =>
        host === 'other'
          ? sendImage(res)
          : req.headers.authorization === basic('u', 'p')
            ? redirect(res, fill('http://127.0.0.2:{otherport}/b.jpg'))
            : refuse(res, 'Basic realm="gallery"'),
      leak: reached('other'),
    },
    {
      id: 'https-to-http-netrc',
      report:
        'curl CVE-2022-27774 (credentials sent on after a redirect to another scheme: here from https to plain http on the same host)',
      url: '{tls}/a.jpg',
      netrc: 'machine 127.0.0.1 login u password p\n',
      respond: (req, res, host, _n, fill) =>
        host === 'site'
          ? sendImage(res)
          : req.headers.authorization === basic('u', 'p')
            ? redirect(res, fill('http://127.0.0.1:{siteport}/b.jpg'))
            : refuse(res, 'Basic realm="gallery"'),
      leak: reached('site'),
    },
    {
      id: 'proxy-407-basic',
      report:
        'RFC 9110 §15.5.8 (a proxy that answers 407 asking Basic; its user and password in the proxy URL)',
      url: 'http://127.0.0.2:{otherport}/a.jpg',
      extra: {
        imgpull: ['--proxy', 'http://pu:pp@127.0.0.1:{siteport}'],
        curl: ['-x', 'http://pu:pp@127.0.0.1:{siteport}'],
        wget2: ['--http-proxy=http://pu:pp@127.0.0.1:{siteport}'],
        aria2c: ['--http-proxy=http://pu:pp@127.0.0.1:{siteport}'],
      },
      respond: (req, res, host) =>
        host === 'other'
          ? refuse(res, undefined, 403)
          : req.headers['proxy-authorization'] === basic('pu', 'pp')
            ? sendImage(res)
            : res.writeHead(407, { 'proxy-authenticate': 'Basic realm="proxy"', 'content-length': 0 }).end(),
    },
  ]
}

/** The user and password each case puts in the URL, when it gives them there. */
const URL_LOGIN: Record<string, string> = {
  'basic-url': 'u:p',
  'url-escaped-at-colon-slash': 'u:p%40ss%3Aw%2Frd',
  'url-utf8-password': `u:${encodeURIComponent('pässwörd')}`,
  'digest-auth-int': CAMERA,
  'digest-sha256': CAMERA,
  'digest-md5-sess': CAMERA,
  'digest-stale-once': CAMERA,
  'digest-stale-forever': CAMERA,
  'challenges-in-one-header': CAMERA,
  'bearer-realm': 'u:p',
  '401-body-image': 'u:wrong',
  '403-not-401': 'u:p',
  'redirect-other-host': 'u:p',
  'http-to-https-same-host': 'u:p',
}

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, host, () => resolve((server.address() as { port: number }).port)),
  )
}

async function main() {
  const { argv, only, toolIds } = benchArgs()
  const capAt = argv.indexOf('--cap')
  const capMs = (capAt >= 0 ? Number(argv[capAt + 1]) : 30) * 1000
  const dir = await mkdtemp(join(tmpdir(), 'misbehave-logins-'))
  const certs = makeCerts(dir)
  const tlsPair = { cert: await readFile(certs.good.cert), key: await readFile(certs.good.key) }
  // Each tool trusts the test CA, for the TLS server.
  const trust: Record<string, string[]> = {
    imgpull: ['--ca-cert', certs.ca],
    curl: ['--cacert', certs.ca],
    wget2: [`--ca-certificate=${certs.ca}`],
    aria2c: [`--ca-certificate=${certs.ca}`],
  }
  const chosen = cases().filter((c) => !only || only.includes(c.id))
  const { tools, rows } = toolTable(TOOLS, toolIds)
  for (const c of chosen) {
    const results = await Promise.all(
      tools.map(async (t) => {
        const seen: Seen[] = []
        let n = 0
        const ports: Record<Host, number> = { site: 0, tls: 0, other: 0 }
        const fill = (s: string) =>
          s
            .replace('{site}', `http://127.0.0.1:${ports.site}`)
            .replace('{tls}', `https://127.0.0.1:${ports.tls}`)
            .replace('{other}', `http://127.0.0.2:${ports.other}`)
            .replace('{siteport}', String(ports.site))
            .replace('{otherport}', String(ports.other))
            .replace('{tlsport}', String(ports.tls))
        const handler = (host: Host) => (req: IncomingMessage, res: ServerResponse) => {
          seen.push({
            host,
            url: req.url!,
            ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
            ...(req.headers['proxy-authorization']
              ? { proxyAuthorization: req.headers['proxy-authorization'] }
              : {}),
          })
          c.respond(req, res, host, ++n, fill)
        }
        const servers = [
          createServer(handler('site')),
          createTlsServer(tlsPair, handler('tls')),
          createServer(handler('other')),
        ]
        servers[1]!.on('tlsClientError', () => {})
        ports.site = await listen(servers[0]!, '127.0.0.1')
        ports.tls = await listen(servers[1]!, '127.0.0.1')
        ports.other = await listen(servers[2]!, '127.0.0.2')
        const run = await mkdtemp(join(dir, `${t.id}-`))
        try {
          const login = URL_LOGIN[c.id]
          let url = fill(c.url)
          // imgpull takes its user and password in the URL only; each other tool by its options.
          if (login || (c.options && t.id === 'imgpull'))
            url = url.replace('//', `//${login ?? c.options!.join(':')}@`)
          const extra = [...(trust[t.id] ?? []), ...(c.extra?.[t.id] ?? []).map(fill)]
          if (c.options && t.id !== 'imgpull') {
            const [user, password] = c.options
            extra.push(
              ...{
                curl: ['-u', `${user}:${password}`],
                wget2: [`--http-user=${user}`, `--http-password=${password}`],
                aria2c: [`--http-user=${user}`, `--http-passwd=${password}`],
              }[t.id]!,
            )
          }
          if (c.netrc !== undefined) {
            const file = join(run, 'netrc')
            await writeFile(file, c.netrc)
            await chmod(file, c.netrcMode ?? 0o600)
            extra.push(
              ...{
                imgpull: ['--netrc-file', file],
                curl: ['--netrc-file', file],
                wget2: [`--netrc-file=${file}`],
                aria2c: [`--netrc-path=${file}`],
              }[t.id]!,
            )
          }
          const result = await runTool(
            t,
            url,
            'a.jpg',
            c.unservable ? undefined : IMAGE,
            undefined,
            extra,
            false,
            capMs,
          )
          return { ...result, requests: n, leaked: c.leak?.(seen) ?? false }
        } finally {
          for (const s of servers) {
            s.closeAllConnections()
            s.close()
          }
          await rm(run, { recursive: true, force: true })
        }
      }),
    )
    const { row, log } = leakRow(c.id, results, tools)
    rows.push(row)
    console.error(log)
  }
  await rm(dir, { recursive: true, force: true })
  printTable(rows, chosen)
}

await main()
