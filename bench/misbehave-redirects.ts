/**
 * Side by side on redirects: each case is a redirect a downloader or HTTP client was reported to
 * mishandle, and that bench/misbehave.ts's redirect rows (`redir-*`: raw UTF-8 and Latin-1 bytes, a
 * space, a fragment, `../`, a query only, `//host/path`, whitespace, two Locations, a 302 without
 * one, 303, 308, 300, A to B to A, a self-redirect that sets a cookie, file:, data:, javascript:,
 * a 404 page, imgur's removed.png, credentials) do not repeat: chains past the limit, loops whose
 * cookie changes at every hop, consent walls, a target answering 304 or an empty 200, a backslash,
 * an empty or missing Location on each 3xx, ftp:, a host that does not resolve, a port out of
 * range, `http:relative`, a 307, a meta refresh as the only way on (misbehave.ts has the header), a
 * redirect whose own body is an image, one to a login page. Served raw from 127.0.0.1, a fresh
 * server for each tool. imgpull, curl -L, wget2 and aria2c run as bench/misbehave.ts runs them;
 * `--browser` adds Chromium's `<img>` as the yardstick. Prints, per case and tool, the verdict on
 * what it kept (`got`, `WRONG`, `refused`, `none`) and its seconds, then each tool's message.
 *
 *   npm run build && node --import tsx bench/misbehave-redirects.ts [--only ID,ID] [--tools imgpull,curl] [--cap 40] [--browser]
 */
import { createServer, type Socket } from 'node:net'
import { launchBrowser } from '../test/support/browser.js'
import { eachRequest, listenLocal } from '../test/support/raw-server.js'
import { benchArgs, chromiumShows, noise, printTable, runTool, TOOLS, toolTable } from './misbehave.js'

interface RedirectCase {
  id: string
  /** The report this answer is modelled on. */
  report: string
  /**
   * Answers one request: `path` as asked (the case's first URL is `/ID/ID.jpg`), `request` its
   * head, `host` its `Host`.
   */
  respond: (s: Socket, path: string, request: string, host: string) => void
  /** 'image': the image is the right file; 'none': nothing kept is right; 'either': both are. */
  expect: 'image' | 'none' | 'either'
}

const IMAGE = await noise(160, 120).jpeg({ quality: 80 }).toBuffer()
/** Another image: what a redirect's own body is, never the file. */
const OTHER = await noise(120, 90).png().toBuffer()

const head = (status: string, fields: string[]) =>
  Buffer.from(`HTTP/1.1 ${status}\r\n${fields.map((f) => `${f}\r\n`).join('')}\r\n`)
const answer = (status: string, fields: string[], body: Buffer = Buffer.alloc(0)) =>
  Buffer.concat([head(status, [...fields, `Content-Length: ${body.length}`, 'Connection: close']), body])
const image = () => answer('200 OK', ['Content-Type: image/jpeg'], IMAGE)
const notFound = () => answer('404 Not Found', ['Content-Type: text/plain'], Buffer.from('no'))
/** A 3xx whose `Location` is `to` as raw bytes (undefined: no Location), with `body`. */
const moved = (status: string, to: string | undefined, fields: string[] = [], body?: Buffer) =>
  answer(status, [...(to === undefined ? [] : [`Location: ${to}`]), ...fields], body)
const html = (text: string) => Buffer.from(`<!doctype html><html><head>${text}</head><body>…</body></html>`)
const cookieOf = (request: string) => /\r\ncookie:[ \t]*([^\r\n]*)/i.exec(request)?.[1] ?? ''

/** A case whose first URL answers `first`, and whose other URLs answer the image where `good(path)`. */
const hop = (
  id: string,
  report: string,
  first: (host: string, path: string) => Buffer,
  good: ((path: string) => boolean) | undefined,
): RedirectCase => ({
  id,
  report,
  expect: good ? 'image' : 'none',
  respond: (s, path, _r, host) => {
    if (path === `/${id}/${id}.jpg`) s.end(first(host, path))
    else s.end(good?.(path) ? image() : notFound())
  },
})

function cases(): RedirectCase[] {
  return [
    {
      id: 'chain-21',
      report:
        "curl/curl#9340 (`Maximum (50) redirects followed`), rockdaboot/wget2#3 (wget2's --max-redirect): a chain of 21, one past the 20 of browsers, wget2 and aria2c (curl follows 50)",
      expect: 'either',
      respond: (s, path) => {
        const n = Number(/\/hop(\d+)\//.exec(path)?.[1] ?? 0)
        s.end(n < 21 ? moved('302 Found', `/chain-21/hop${n + 1}/chain-21.jpg`) : image())
      },
    },
    {
      id: 'loop-cookie-counter',
      report:
        'psf/requests#2960, aio-libs/aiohttp#56 (A to B to A): a loop whose every 302 sets a new cookie (`n=1`, `n=2`...), so no request repeats',
      expect: 'none',
      respond: (s, path, request) => {
        const n = Number(/\bn=(\d+)/.exec(cookieOf(request))?.[1] ?? 0) + 1
        const to = path.includes('/b/')
          ? '/loop-cookie-counter/loop-cookie-counter.jpg'
          : '/loop-cookie-counter/b/x.jpg'
        s.end(moved('302 Found', to, [`Set-Cookie: n=${n}; Path=/`]))
      },
    },
    {
      id: 'consent-wall',
      report:
        'mikf/gallery-dl#1437, yt-dlp/yt-dlp#2400 (a consent wall: a 302 to /consent that sets the cookie and sends the client back)',
      expect: 'image',
      respond: (s, path, request) => {
        if (path.startsWith('/consent?'))
          s.end(
            moved('302 Found', '/consent-wall/consent-wall.jpg', [
              'Set-Cookie: consent=yes; Path=/; Max-Age=3600',
            ]),
          )
        else if (/\bconsent=yes\b/.test(cookieOf(request))) s.end(image())
        else s.end(moved('302 Found', '/consent?continue=/consent-wall/consent-wall.jpg'))
      },
    },
    {
      id: 'self-cookie-expires',
      report:
        'encode/httpx#821, psf/requests#3490 (a cookie with an Expires date, its comma read as a list separator): a 302 to itself setting `seen=1; Expires=Wed, 09 Jun 2032 10:18:14 GMT`',
      expect: 'image',
      respond: (s, _path, request) =>
        s.end(
          /\bseen=1\b/.test(cookieOf(request))
            ? image()
            : moved('302 Found', '/self-cookie-expires/self-cookie-expires.jpg', [
                'Set-Cookie: seen=1; Expires=Wed, 09 Jun 2032 10:18:14 GMT; Path=/; HttpOnly',
              ]),
        ),
    },
    {
      id: 'cookie-other-path',
      report:
        'curl/curl#8337, nodejs/undici#2374 (a cookie set on a redirect for a path other than the one it came from): a 302 from /a/ to /b/ with `Set-Cookie: k=1; Path=/b`',
      expect: 'image',
      respond: (s, path, request) => {
        if (path.startsWith('/cookie-other-path/'))
          s.end(moved('302 Found', '/b/cookie-other-path.jpg', ['Set-Cookie: k=1; Path=/b']))
        else
          s.end(
            /\bk=1\b/.test(cookieOf(request))
              ? image()
              : answer('403 Forbidden', [], Buffer.from('no cookie')),
          )
      },
    },
    {
      id: 'then-304',
      report:
        'Netflix/iep#23, caddyserver/cache-handler#137 (a 304 to a request that asked no condition): a 302 whose target answers 304',
      expect: 'none',
      respond: (s, path) =>
        s.end(
          path.includes('/t/')
            ? answer('304 Not Modified', ['ETag: "a"'])
            : moved('302 Found', 't/then-304.jpg'),
        ),
    },
    {
      id: 'then-empty-200',
      report:
        'axet/wget#2 (an empty file kept after a redirect), curl/curl#9409 (an empty body after the hop): a 302 whose target answers 200 with no body',
      expect: 'none',
      respond: (s, path) =>
        s.end(
          path.includes('/t/')
            ? answer('200 OK', ['Content-Type: image/jpeg'])
            : moved('302 Found', 't/then-empty-200.jpg'),
        ),
    },
    hop(
      'loc-backslash',
      'expressjs/express#808 (`Location: http://127.0.0.1\\somepath`: browsers read the backslash as a slash), simonw/datasette#2729',
      () => moved('302 Found', 'b\\loc-backslash.jpg'),
      (p) => p === '/loc-backslash/b/loc-backslash.jpg',
    ),
    hop(
      'loc-http-relative',
      'whatwg/url#118 (`http:path` is relative to an http base: a scheme without //), micropython/micropython-lib#1141',
      () => moved('302 Found', 'http:h/loc-http-relative.jpg'),
      (p) => p === '/loc-http-relative/h/loc-http-relative.jpg',
    ),
    ...(['302 Found', '307 Temporary Redirect'] as const).map((status) =>
      hop(
        `loc-empty-${status.slice(0, 3)}`,
        'request/request#3016, psf/requests#4989, projectdiscovery/nuclei#456 (a 3xx with `Location:` empty); whatwg/fetch#669 (Firefox: a network error)',
        () => moved(status, '', ['Content-Type: text/html'], html('<title>Moved</title>')),
        undefined,
      ),
    ),
    ...(
      ['301 Moved Permanently', '303 See Other', '307 Temporary Redirect', '308 Permanent Redirect'] as const
    ).map((status) =>
      hop(
        `loc-missing-${status.slice(0, 3)}`,
        'ArchiveTeam/wpull#390, bogdanfinn/tls-client-api#3 (a 3xx without Location), edicl/drakma#30: the image as its body',
        () => moved(status, undefined, ['Content-Type: image/jpeg'], IMAGE),
        undefined,
      ),
    ),
    hop(
      'loc-ftp',
      'ariya/phantomjs#10876, curl CVE-2009-0037 (redirects to other schemes): a 302 to ftp://127.0.0.1/x.jpg',
      () => moved('302 Found', 'ftp://127.0.0.1/x.jpg'),
      undefined,
    ),
    hop(
      'loc-no-such-host',
      'aria2/aria2#1040, psf/requests#4116 (a redirect to a host that does not resolve): a 302 to http://img.no-such-host.invalid/x.jpg',
      () => moved('302 Found', 'http://img.no-such-host.invalid/loc-no-such-host.jpg'),
      undefined,
    ),
    hop(
      'loc-port-range',
      'xroche/httrack#620 (an out-of-range port folded into another), simplecrawler/simplecrawler#320 (a crash on it): a 302 to port 70000',
      (host) => moved('302 Found', `http://${host.replace(/:\d+$/, '')}:70000/loc-port-range.jpg`),
      undefined,
    ),
    hop(
      'redir-307',
      'follow-redirects/follow-redirects#46, psf/requests#2590 (307 keeps the method): a 307 Temporary Redirect to the image',
      () => moved('307 Temporary Redirect', 's/redir-307.jpg'),
      (p) => p === '/redir-307/s/redir-307.jpg',
    ),
    hop(
      'meta-refresh',
      'jnunemaker/httparty#120, sparklemotion/mechanize#99 (meta refresh as a redirect): a 200 HTML page with `<meta http-equiv="refresh" content="0; url=...">`',
      () =>
        answer(
          '200 OK',
          ['Content-Type: text/html'],
          html(
            '<meta http-equiv="refresh" content="0; url=/meta-refresh/r/meta-refresh.jpg"><title>Redirecting</title>',
          ),
        ),
      undefined,
    ),
    hop(
      'redirect-body-image',
      "guzzle/guzzle#1802 (the redirect's body written into the file before the target's): a 302 whose own body is another image (image/png)",
      () => moved('302 Found', 't/redirect-body-image.jpg', ['Content-Type: image/png'], OTHER),
      (p) => p === '/redirect-body-image/t/redirect-body-image.jpg',
    ),
    {
      id: 'redirect-login-page',
      report:
        'KurtBestor/Hitomi-Downloader#4796, mikf/gallery-dl#3537 (a redirect to a login page kept as the image): a 302 to /login answering 200 HTML',
      expect: 'none',
      respond: (s, path) =>
        s.end(
          path.startsWith('/login')
            ? answer('200 OK', ['Content-Type: text/html; charset=utf-8'], html('<title>Log in</title>'))
            : moved('302 Found', '/login?next=/redirect-login-page/redirect-login-page.jpg'),
        ),
    },
    {
      id: 'second-hop-no-location',
      report:
        'ArchiveTeam/wpull#390 (a 302 without Location, here one hop down a chain): which hop failed should be said',
      expect: 'none',
      respond: (s, path) =>
        s.end(
          path.includes('/t/')
            ? moved('302 Found', undefined, ['Content-Type: text/html'], html('<title>Found</title>'))
            : moved('302 Found', 't/second-hop-no-location.jpg'),
        ),
    },
  ]
}

async function serve(c: RedirectCase) {
  return listenLocal(
    createServer((socket) => {
      socket.on('error', () => {})
      eachRequest(socket, (request) => {
        const path = request.split(' ')[1] ?? '/'
        const host = /\r\nhost:\s*([^\r\n]+)/i.exec(request)?.[1]?.trim() ?? ''
        if (path === '/blank.html') socket.end(answer('200 OK', ['Content-Type: text/html'], html('')))
        else c.respond(socket, path, request, host)
      })
    }),
  )
}

async function main() {
  const { argv, only, toolIds } = benchArgs()
  const capAt = argv.indexOf('--cap')
  const capMs = (capAt >= 0 ? Number(argv[capAt + 1]) : 40) * 1000
  const chosen = cases().filter((c) => !only || only.includes(c.id))
  const { tools, rows } = toolTable(TOOLS, toolIds)
  const browser = argv.includes('--browser') ? await launchBrowser() : undefined
  if (browser) {
    rows[0] = `${rows[0]} chromium <img> |`
    rows[1] = `${rows[1]}---|`
  }
  for (const c of chosen) {
    const results = await Promise.all(
      tools.map(async (t) => {
        const server = await serve(c)
        try {
          const r = await runTool(
            t,
            server.url(`/${c.id}/${c.id}.jpg`),
            `${c.id}.jpg`,
            c.expect === 'none' ? undefined : IMAGE,
            undefined,
            [],
            false,
            capMs,
          )
          // Nothing kept is right too where the case allows either (a limit reached).
          return c.expect === 'either' && r.verdict === 'refused' ? { ...r, verdict: 'none' } : r
        } finally {
          await server.close()
        }
      }),
    )
    let shown = ''
    if (browser) {
      const server = await serve(c)
      const page = await browser.open()
      try {
        await page.goto(server.url('/blank.html'))
        shown = ` ${await chromiumShows(page, server.url(`/${c.id}/${c.id}.jpg`))} |`
      } finally {
        await page.close()
        await server.close()
      }
    }
    rows.push(
      `| ${c.id} | ${results.map((r) => `${r.verdict} ${r.code === null ? '≥' : ''}${r.seconds.toFixed(1)}s`).join(' | ')} |${shown}`,
    )
    console.error(
      `${c.id}: ${results.map((r, i) => `${tools[i]!.id}=${r.verdict}(${r.code}) ${r.message}`).join('\n   ')}`,
    )
  }
  await browser?.close()
  printTable(rows, chosen)
}

await main()
