/**
 * Side by side on cookies, referers and the headers a user sets: each case is a cookies.txt as
 * browsers' extensions and gallery-dl export it (`#HttpOnly_`, CRLF and a BOM, spaces for tabs,
 * expiries of 0, past, past 2038 and with a fraction, a leading dot, `localhost` and an IP address,
 * a value with `=`, quotes and UTF-8, a JSON export, a missing file), a cookie a server sets during
 * the run (a consent wall, `Max-Age=0`, `Secure` over http, another domain's), or a header given
 * with `-H` (Host, User-Agent, Accept, Accept-Encoding, Range, a line break, no colon, a Cookie
 * beside the file's, one given twice) or a Referer a host requires, that a public bug report
 * describes (named with it). One server on 127.0.0.1 acts as the HTTP proxy of names
 * (`gallery.test`, `cdn.gallery.test`, `other.test`), so that domains, subdomains and `Secure`
 * are judged as on the web; cases marked direct are asked of it by `localhost` or its address.
 * Each tool is given them its own way: cookies by `--cookies` (imgpull), `-b` (curl),
 * `--load-cookies` (wget2, aria2c); headers by `-H` or `--header`; the referer by `-H 'Referer: …'`
 * (imgpull), `-e` (curl), `--referer` (wget2, aria2c). `imgpull-t2` is imgpull with `--threads 2`
 * (its transfers on worker threads). Prints, per case and tool, the verdict on the file kept (`got`,
 * `WRONG`, `refused`, `none`, as bench/misbehave.ts gives it), `LEAK` where a cookie or header went
 * where it must not, the requests the server saw and the tool's seconds, then each tool's message.
 *
 *   npm run build && node --import tsx bench/misbehave-headers.ts [--only ID,ID] [--tools imgpull,curl] [--cap 30]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { benchArgs, leakRow, noise, printTable, runTool, TOOLS, type Tool, toolTable } from './misbehave.js'

/** One request the server read: the host it was for, its path, and its headers as sent. */
interface Seen {
  host: string
  path: string
  headers: IncomingMessage['headers']
  raw: string[]
}

interface HeaderCase {
  id: string
  /** The report this case is modelled on. */
  report: string
  /** The URL each tool is given: through the proxy unless `direct` (`{port}`: the server's). */
  url: string
  direct?: boolean
  /** A cookies file's text (`{future}`: a year from now, `{past}`: a day ago), or `missing`. */
  cookies?: string | { missing: true }
  /** Headers, as `-H` takes them, each tool given them by its own option. */
  headers?: string[]
  /** A Referer, each tool given it by its own option. */
  referer?: string
  /** Answers one request (`host`: the name asked for; `n`: the requests so far, this one included). */
  respond: (req: IncomingMessage, res: ServerResponse, host: string, n: number, path: string) => void
  /** No file is right (a `none` or `refused` is right, a file kept `WRONG`). */
  unservable?: boolean
  /** Whether the requests seen put a cookie or header where it must not go. */
  leak?: (seen: Seen[]) => boolean
}

const IMAGE = await noise(240, 180).jpeg({ quality: 85 }).toBuffer()
/** A hotlink protection's "no hotlinking" picture: a small valid image, not the one asked for. */
const NO_HOTLINKING = await noise(48, 48).png().toBuffer()

const sendImage = (res: ServerResponse, body = IMAGE, type = 'image/jpeg') =>
  res.writeHead(200, { 'content-type': type, 'content-length': body.length }).end(body)
const refuse = (res: ServerResponse, status = 403) =>
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': 9 }).end('forbidden')
const redirect = (res: ServerResponse, to: string, setCookie?: string | string[]) =>
  res
    .writeHead(302, { location: to, 'content-length': 0, ...(setCookie ? { 'set-cookie': setCookie } : {}) })
    .end()

/** The cookies of a request, by name (Node joins several Cookie lines with `; `). */
function cookiesOf(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>()
  for (const pair of (req.headers.cookie ?? '').split(/;\s*/)) {
    const at = pair.indexOf('=')
    if (at > 0) out.set(pair.slice(0, at), pair.slice(at + 1))
  }
  return out
}
/** The image when the request carries `name=value`, a 403 otherwise. */
const needsCookie = (name: string, value: string) => (req: IncomingMessage, res: ServerResponse) =>
  cookiesOf(req).get(name) === value ? sendImage(res) : refuse(res)
/** How many times a header came (its raw lines, any case). */
const linesOf = (raw: string[], name: string) =>
  raw.filter((v, i) => i % 2 === 0 && v.toLowerCase() === name).length
/** A cookie named `name` reached `host`. */
const cookieAt = (host: string, name: string) => (seen: Seen[]) =>
  seen.some((s) => s.host === host && new RegExp(`(?:^|;\\s*)${name}=`).test(s.headers.cookie ?? ''))

/** A cookies.txt line. */
const line = (...fields: string[]) => fields.join('\t')
const SITE = 'http://gallery.test'
const HEADER = '# Netscape HTTP Cookie File\n'

function cases(): HeaderCase[] {
  return [
    {
      id: 'cookies-basic',
      report:
        "curl's HTTP-COOKIES.md and curl/curl#2066 (the Netscape cookies.txt of curl -b, wget --load-cookies, gallery-dl --cookies)",
      url: `${SITE}/a.jpg`,
      cookies: `${HEADER}${line('gallery.test', 'FALSE', '/', 'FALSE', '0', 'sid', 'abc')}\n`,
      respond: needsCookie('sid', 'abc'),
    },
    {
      id: 'httponly-prefix',
      report: 'Moustachauve/cookie-editor#122 and curl/curl#10847 (a #HttpOnly_ line read as a comment)',
      url: `${SITE}/a.jpg`,
      cookies: `${HEADER}#HttpOnly_${line('.gallery.test', 'TRUE', '/', 'FALSE', '{future}', 'sid', 'abc')}\n`,
      respond: needsCookie('sid', 'abc'),
    },
    {
      id: 'bom-crlf',
      report:
        'azot-labs/azot#178 and Magnitus-/gogcli#18 (a cookies.txt from Windows: CRLF line ends; here with a UTF-8 BOM too)',
      url: `${SITE}/a.jpg`,
      cookies: `\ufeff# Netscape HTTP Cookie File\r\n${line('.gallery.test', 'TRUE', '/', 'FALSE', '{future}', 'sid', 'abc')}\r\n`,
      respond: needsCookie('sid', 'abc'),
    },
    {
      id: 'spaces-not-tabs',
      report:
        'ETCExtensions/Edit-This-Cookie#316 and andresriancho/w3af#17116 (a cookies.txt whose fields are separated by spaces)',
      url: `${SITE}/a.jpg`,
      cookies: `${HEADER}${['.gallery.test', 'TRUE', '/', 'FALSE', '{future}', 'sid', 'abc'].join('    ')}\n`,
      respond: needsCookie('sid', 'abc'),
      unservable: true,
    },
    {
      id: 'expiry-past',
      report: 'RFC 6265 §5.3 and curl HTTP-COOKIES.md (an expired cookie of the file is not sent)',
      url: `${SITE}/a.jpg`,
      cookies: `${HEADER}${line('gallery.test', 'FALSE', '/', 'FALSE', '{past}', 'old', '1')}\n`,
      respond: (_q, res) => sendImage(res),
      leak: cookieAt('gallery.test', 'old'),
    },
    {
      id: 'expiry-past-2038',
      report: 'a 32-bit time_t (an expiry past 2^31 seconds, 2038: to be read, not wrapped)',
      url: `${SITE}/a.jpg`,
      cookies: `${HEADER}${line('gallery.test', 'FALSE', '/', 'FALSE', '4102444800', 'sid', 'abc')}\n`,
      respond: needsCookie('sid', 'abc'),
    },
    {
      id: 'expiry-fraction',
      report:
        'hrdl-github/cookies-txt#31 and ETCExtensions/Edit-This-Cookie#316 (fractional expiries: Firefox 142+, Opera)',
      url: `${SITE}/a.jpg`,
      cookies: `${HEADER}${line('.gallery.test', 'TRUE', '/', 'FALSE', '{future}.742', 'sid', 'abc')}\n`,
      respond: needsCookie('sid', 'abc'),
    },
    {
      id: 'dot-domain-flag-false',
      report:
        'andresriancho/w3af#17116 (Python MozillaCookieJar wants the leading dot and the subdomains flag to agree) on a subdomain',
      url: 'http://cdn.gallery.test/a.jpg',
      cookies: `${HEADER}${line('.gallery.test', 'FALSE', '/', 'FALSE', '{future}', 'sid', 'abc')}\n`,
      respond: needsCookie('sid', 'abc'),
    },
    {
      id: 'no-dot-flag-true',
      report:
        'xtream1101/humblebundle-downloader#32 (lines that rely on tail matching: flag TRUE, no leading dot) on a subdomain',
      url: 'http://cdn.gallery.test/a.jpg',
      cookies: `${HEADER}${line('gallery.test', 'TRUE', '/', 'FALSE', '{future}', 'sid', 'abc')}\n`,
      respond: needsCookie('sid', 'abc'),
    },
    {
      id: 'localhost-domain',
      report:
        'a cookie for localhost, exported from a development server (RFC 6265 §5.1.3 domain-match on a single label)',
      url: 'http://localhost:{port}/a.jpg',
      direct: true,
      cookies: `${HEADER}${line('localhost', 'FALSE', '/', 'FALSE', '{future}', 'sid', 'abc')}\n`,
      respond: needsCookie('sid', 'abc'),
    },
    {
      id: 'ip-domain-flag-true',
      report:
        'andresriancho/w3af#17116 (an IP address as the domain) with the subdomains flag TRUE (RFC 6265 §5.1.3)',
      url: 'http://127.0.0.1:{port}/a.jpg',
      direct: true,
      cookies: `${HEADER}${line('127.0.0.1', 'TRUE', '/', 'FALSE', '{future}', 'sid', 'abc')}\n`,
      respond: needsCookie('sid', 'abc'),
    },
    {
      id: 'value-equals-quotes-utf8',
      report:
        'RFC 6265 §4.1.1 and §5.4 (a value with = padding, quotes and UTF-8: sent as the file gives it)',
      url: `${SITE}/a.jpg`,
      cookies: `${HEADER}${line('gallery.test', 'FALSE', '/', 'FALSE', '0', 'tok', '"eyJ==.é名"')}\n`,
      respond: needsCookie('tok', Buffer.from('"eyJ==.é名"').toString('latin1')),
    },
    {
      id: 'json-export',
      report:
        'mikf/gallery-dl#906 and Moustachauve/cookie-editor#97 (a JSON file given where cookies.txt was expected)',
      url: `${SITE}/a.jpg`,
      cookies: `[\n  {\n    "domain": ".gallery.test",\n    "name": "sid",\n    "value": "abc",\n    "path": "/",\n    "expirationDate": 1893456000\n  }\n]\n`,
      respond: needsCookie('sid', 'abc'),
      unservable: true,
    },
    {
      id: 'missing-file',
      report:
        'curl/curl#8699 (a cookie file that cannot be opened is ignored without a word, kept so for compatibility)',
      url: `${SITE}/a.jpg`,
      cookies: { missing: true },
      respond: needsCookie('sid', 'abc'),
      unservable: true,
    },
    {
      id: 'secure-over-http',
      report: 'RFC 6265 §5.4 (a Secure cookie of the file is never sent over plain http)',
      url: `${SITE}/a.jpg`,
      cookies: `${HEADER}${line('gallery.test', 'FALSE', '/', 'TRUE', '{future}', 'sec', '1')}\n`,
      respond: (_q, res) => sendImage(res),
      leak: cookieAt('gallery.test', 'sec'),
    },
    {
      id: 'file-cookie-redirect-other-host',
      report:
        'postmanlabs/postman-request#113 and Orange-OpenSource/hurl#5118 (a cookie sent on to the host a redirect names)',
      url: `${SITE}/a.jpg`,
      cookies: `${HEADER}${line('gallery.test', 'FALSE', '/', 'FALSE', '{future}', 'sid', 'abc')}\n`,
      respond: (_req, res, host) =>
        host === 'gallery.test' ? redirect(res, 'http://other.test/a.jpg') : sendImage(res),
      leak: cookieAt('other.test', 'sid'),
    },
    {
      id: 'consent-wall',
      report:
        'aio-libs/aiohttp#56 (A redirects to B, B sets a cookie and redirects back to A: a consent wall)',
      url: `${SITE}/a.jpg`,
      respond: (req, res, _h, _n, path) =>
        path === '/consent'
          ? redirect(res, '/a.jpg', 'CONSENT=YES+1; Path=/')
          : cookiesOf(req).get('CONSENT') === 'YES+1'
            ? sendImage(res)
            : redirect(res, '/consent'),
    },
    {
      id: 'set-cookie-same-url',
      report:
        'encode/httpx#821 and creaktive/LWP-Protocol-Net-Curl#5 (a 302 back to the same URL that sets the cookie it expects)',
      url: `${SITE}/a.jpg`,
      respond: (req, res) =>
        cookiesOf(req).has('seen') ? sendImage(res) : redirect(res, '/a.jpg', 'seen=1; Path=/'),
    },
    {
      id: 'max-age-0-deletes-file-cookie',
      report:
        'JuliaWeb/HTTP.jl#1357 and dflydev/dflydev-fig-cookies#30 (Set-Cookie Max-Age=0 deletes a cookie: the stale one must not be sent)',
      url: `${SITE}/a.jpg`,
      cookies: `${HEADER}${line('gallery.test', 'FALSE', '/', 'FALSE', '{future}', 'sid', 'stale')}\n`,
      respond: (req, res, _h, _n, path) =>
        path === '/a.jpg'
          ? redirect(res, '/b.jpg', 'sid=; Max-Age=0; Path=/')
          : cookiesOf(req).has('sid')
            ? refuse(res, 409)
            : sendImage(res),
    },
    {
      id: 'secure-set-over-http',
      report: 'RFC 6265bis §5.6 (a Secure cookie set by a plain http answer is ignored, as browsers do)',
      url: `${SITE}/a.jpg`,
      respond: (_q, res, _h, _n, path) =>
        path === '/a.jpg' ? redirect(res, '/b.jpg', 'tok=1; Secure; Path=/') : sendImage(res),
      leak: cookieAt('gallery.test', 'tok'),
    },
    {
      id: 'set-cookie-other-domain',
      report: 'RFC 6265 §5.3 step 6 (a Set-Cookie naming a domain the host is not in is refused)',
      url: `${SITE}/a.jpg`,
      respond: (_q, res, host) =>
        host === 'gallery.test'
          ? redirect(res, 'http://other.test/a.jpg', 'evil=1; Domain=other.test; Path=/')
          : sendImage(res),
      leak: cookieAt('other.test', 'evil'),
    },
    {
      id: 'set-cookie-not-leaked',
      report: 'algesten/ureq#608 (a host-only cookie set by one host, leaked to the host a redirect names)',
      url: `${SITE}/a.jpg`,
      respond: (_q, res, host) =>
        host === 'gallery.test'
          ? redirect(res, 'http://other.test/a.jpg', 'sid=abc; Path=/')
          : sendImage(res),
      leak: cookieAt('other.test', 'sid'),
    },
    {
      id: 'referer-required',
      report:
        "ArchiveTeam/wpull#247 and picstome/picstome#28 (nginx valid_referers: 403 without the site's own Referer)",
      url: `${SITE}/a.jpg`,
      referer: 'http://gallery.test/gallery.html',
      respond: (req, res) =>
        req.headers.referer?.startsWith('http://gallery.test/') ? sendImage(res) : refuse(res),
    },
    {
      id: 'hotlink-redirect-standin',
      report:
        'oupala/apaxy#141 (Apache: RewriteRule .png$ /hotlink.png [R=302]): the stand-in is not the image; no referer given',
      url: `${SITE}/a.jpg`,
      respond: (req, res, _h, _n, path) =>
        path === '/hotlink.png'
          ? sendImage(res, NO_HOTLINKING, 'image/png')
          : req.headers.referer?.startsWith('http://gallery.test/')
            ? sendImage(res)
            : redirect(res, '/hotlink.png'),
      unservable: true,
    },
    {
      id: 'hotlink-200-standin',
      report:
        'ballerburg9005/wget-2-zim#4 (Cloudflare hotlink protection); here a 200 with a small picture to a request without the Referer, referer given',
      url: `${SITE}/a.jpg`,
      referer: 'http://gallery.test/gallery.html',
      respond: (req, res) =>
        req.headers.referer?.startsWith('http://gallery.test/')
          ? sendImage(res)
          : sendImage(res, NO_HOTLINKING, 'image/png'),
    },
    {
      id: 'h-user-agent',
      report:
        'mikf/gallery-dl#7894 (a host that wants a browser User-Agent given as a header: one line, the user-given one)',
      url: `${SITE}/a.jpg`,
      headers: ['User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'],
      respond: (req, res) =>
        req.headers['user-agent']?.startsWith('Mozilla/5.0') && linesOf(req.rawHeaders, 'user-agent') === 1
          ? sendImage(res)
          : refuse(res),
    },
    {
      id: 'h-host',
      report:
        'psf/requests#4665 and valeriangalliat/fetch-cookie#77 (a site asked by address, named by Host: one Host line)',
      url: 'http://127.0.0.1:{port}/a.jpg',
      direct: true,
      headers: ['Host: gallery.test'],
      respond: (req, res) =>
        req.headers.host === 'gallery.test' && linesOf(req.rawHeaders, 'host') === 1
          ? sendImage(res)
          : refuse(res, 404),
    },
    {
      id: 'h-accept',
      report: 'an image CDN that negotiates by Accept (RFC 9110 §12.5.1): the user-given Accept, one line',
      url: `${SITE}/a.jpg`,
      headers: ['Accept: image/avif,image/webp,*/*'],
      respond: (req, res) =>
        req.headers.accept === 'image/avif,image/webp,*/*' && linesOf(req.rawHeaders, 'accept') === 1
          ? sendImage(res)
          : refuse(res, 406),
    },
    {
      id: 'h-accept-encoding-gzip',
      report:
        "lysine-dev/okhttp#2277 and jeroen/curl#108 (-H 'Accept-Encoding: gzip': the gzip to be decoded, not kept as the file)",
      url: `${SITE}/a.jpg`,
      headers: ['Accept-Encoding: gzip'],
      respond: (req, res) => {
        if (!/gzip/.test(req.headers['accept-encoding'] ?? '')) return sendImage(res)
        const body = gzipSync(IMAGE)
        res
          .writeHead(200, {
            'content-type': 'image/jpeg',
            'content-encoding': 'gzip',
            'content-length': body.length,
          })
          .end(body)
      },
    },
    {
      id: 'h-range',
      report:
        "aria2/aria2#529 and r-lib/httr#405 (-H 'Range: …' given to a downloader: a part kept as the file)",
      url: `${SITE}/a.jpg`,
      headers: ['Range: bytes=0-99'],
      respond: (req, res) => {
        const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
        if (!m) return sendImage(res)
        const from = Number(m[1])
        const to = m[2] ? Math.min(Number(m[2]), IMAGE.length - 1) : IMAGE.length - 1
        res
          .writeHead(206, {
            'content-type': 'image/jpeg',
            'content-range': `bytes ${from}-${to}/${IMAGE.length}`,
            'content-length': to - from + 1,
          })
          .end(IMAGE.subarray(from, to + 1))
      },
      unservable: true,
    },
    {
      id: 'h-crlf-injection',
      report: 'dart-lang/http#1368 (a header value with CR LF: a second header smuggled in)',
      url: `${SITE}/a.jpg`,
      headers: ['X-Tag: a\r\nX-Injected: 1'],
      respond: (_q, res) => sendImage(res),
      leak: (seen) => seen.some((s) => s.headers['x-injected'] !== undefined),
      unservable: true,
    },
    {
      id: 'h-no-colon',
      report: 'a -H without a colon (curl sends nothing for it, without a word)',
      url: `${SITE}/a.jpg`,
      headers: ['X-Token abc'],
      respond: (req, res) => (req.headers['x-token'] === 'abc' ? sendImage(res) : refuse(res)),
      unservable: true,
    },
    {
      id: 'h-cookie-beside-file',
      report:
        "js-cookie/java-cookie#11 and RFC 6265 §5.4 (-H 'Cookie: …' beside the file's cookies: both, one Cookie field)",
      url: `${SITE}/a.jpg`,
      headers: ['Cookie: consent=1'],
      cookies: `${HEADER}${line('gallery.test', 'FALSE', '/', 'FALSE', '{future}', 'sid', 'abc')}\n`,
      respond: (req, res) => {
        const c = cookiesOf(req)
        c.get('consent') === '1' && c.get('sid') === 'abc' ? sendImage(res) : refuse(res)
      },
    },
    {
      id: 'h-cookie-twice',
      report:
        "andrewlalis/handy-httpd#46 and js-cookie/java-cookie#11 (a header given twice, the first dropped: -H 'Cookie: a=1' -H 'Cookie: b=2')",
      url: `${SITE}/a.jpg`,
      headers: ['Cookie: a=1', 'Cookie: b=2'],
      respond: (req, res) => {
        const c = cookiesOf(req)
        c.get('a') === '1' && c.get('b') === '2' ? sendImage(res) : refuse(res)
      },
    },
    {
      id: 'h-header-other-host',
      report:
        "curl/curl#3417 and psf/requests#2416 (a -H 'Cookie: …' of the user sent on to the host a redirect names)",
      url: `${SITE}/a.jpg`,
      headers: ['Cookie: sid=abc'],
      respond: (_q, res, host) =>
        host === 'gallery.test' ? redirect(res, 'http://other.test/a.jpg') : sendImage(res),
      leak: cookieAt('other.test', 'sid'),
    },
  ]
}

/** imgpull with its transfers on two worker threads. */
const IMGPULL_THREADS: Tool = {
  id: 'imgpull-t2',
  args: (url, dir, file) => [...TOOLS[0]!.args(url, dir, file), '--threads', '2'],
}

async function main() {
  const { argv, only, toolIds } = benchArgs()
  const capAt = argv.indexOf('--cap')
  const capMs = (capAt >= 0 ? Number(argv[capAt + 1]) : 30) * 1000
  const dir = await mkdtemp(join(tmpdir(), 'misbehave-headers-'))
  const chosen = cases().filter((c) => !only || only.includes(c.id))
  const all = [TOOLS[0]!, IMGPULL_THREADS, ...TOOLS.slice(1)]
  const { tools, rows } = toolTable(all, toolIds)
  const now = Math.floor(Date.now() / 1000)
  for (const c of chosen) {
    const results = await Promise.all(
      tools.map(async (t) => {
        const seen: Seen[] = []
        let n = 0
        const server = createServer((req, res) => {
          const absolute = /^https?:\/\//.test(req.url!)
          const u = new URL(req.url!, 'http://direct')
          const host = absolute ? u.hostname : 'direct'
          seen.push({ host, path: u.pathname, headers: req.headers, raw: req.rawHeaders })
          c.respond(req, res, host, ++n, u.pathname)
        })
        const port = await new Promise<number>((resolve) =>
          server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
        )
        const run = await mkdtemp(join(dir, `${t.id}-`))
        try {
          const extra: string[] = []
          const proxy = `http://127.0.0.1:${port}`
          if (!c.direct)
            extra.push(
              ...({
                curl: ['-x', proxy],
                wget2: [`--http-proxy=${proxy}`],
                aria2c: [`--http-proxy=${proxy}`],
              }[t.id] ?? ['--proxy', proxy]),
            )
          if (c.cookies !== undefined) {
            const file = join(run, 'cookies.txt')
            if (typeof c.cookies === 'string')
              await writeFile(
                file,
                c.cookies
                  .replaceAll('{future}', String(now + 365 * 86400))
                  .replaceAll('{past}', String(now - 86400)),
              )
            extra.push(
              ...({
                curl: ['-b', file],
                wget2: [`--load-cookies=${file}`],
                aria2c: [`--load-cookies=${file}`],
              }[t.id] ?? ['--cookies', file]),
            )
          }
          for (const h of c.headers ?? [])
            extra.push(...(t.id === 'wget2' || t.id === 'aria2c' ? [`--header=${h}`] : ['-H', h]))
          if (c.referer)
            extra.push(
              ...({
                curl: ['-e', c.referer],
                wget2: [`--referer=${c.referer}`],
                aria2c: [`--referer=${c.referer}`],
              }[t.id] ?? ['-H', `Referer: ${c.referer}`]),
            )
          const url = c.url.replace('{port}', String(port))
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
          server.closeAllConnections()
          server.close()
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
