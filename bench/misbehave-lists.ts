/**
 * Side by side on URL lists and odd URLs: each case is a small list file as users paste them
 * (from a spreadsheet, a chat, HTML or JSON, saved on Windows, cut short by a crash), each
 * modelled on a public report named with it: CRLF lines, a byte order mark, UTF-16, Latin-1
 * bytes, NUL bytes at its end, gzip, an empty list, a folder, raw spaces and non-ASCII in a path,
 * a caption after a space, a fragment, `%zz`, backslashes and a tab, an upper-case scheme and the
 * same URL spelled three ways, a protocol-relative line, an IDN host, an IPv6 literal,
 * credentials, URLs joined by `,` and `;`, hosts no parser takes, a port out of range, a 9 KB
 * URL, `file:` and other schemes. A raw server logs each request-target as its bytes came (the
 * IDN case goes through it as a proxy, so the host is on the wire too) and answers every path
 * with a JPEG of its own, but a path with a URL glued into it and a case's missing ones (404) and
 * a target past 8 KB (414, as nginx). Each tool (imgpull, curl over the list as `xargs curl
 * --remote-name-all`, wget2 `-i`, aria2c `-i`, at their defaults) reads the list into `out`,
 * three folders down a scratch folder; imgpull runs a second time over the same folder. Prints
 * per case and tool the images kept, the request-targets sent, any local file read (a `file:`
 * line's secret found in a file) or written outside `out` (hard faults), the exit code and
 * what a rerun asked for again; the first error line each showed goes to stderr.
 *
 *   npm run build && node --import tsx bench/misbehave-lists.ts [--only ID,ID] [--tools imgpull,curl]
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join, relative, sep } from 'node:path'
import { gzipSync } from 'node:zlib'
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

/** Where a list's URLs point: `o` the server's origin (`http://127.0.0.1:PORT`), `root` the scratch folder. */
interface At {
  o: string
  port: number
  root: string
}

interface ListCase {
  id: string
  /** The report this list is modelled on. */
  report: string
  /** The list file's bytes. */
  list: (at: At) => Buffer | string
  /** Reached through the server as an HTTP proxy (`http_proxy`): hosts that resolve nowhere. */
  proxy?: boolean
  /** The list given is a folder (the case's `list` is ignored). */
  folder?: boolean
  /** Whether the server has the image at `target` (default: every target but a glued URL's, see `glued`). */
  has?: (target: string) => boolean
}

/** A path with a URL glued into it (`/a.jpg,http://…/b.jpg`): no server has one. */
const glued = (target: string) => /^\/.*https?(?::|%3A)/i.test(target)

const lines = (...text: string[]) => `${text.join('\n')}\n`
/** A secret no list may read: a `file:` line pointing at it must never copy it. */
const SECRET = 'SECRET-not-for-any-list'

function cases(): ListCase[] {
  return [
    {
      id: 'crlf-last-line',
      report:
        'timmc/midjourney-history-sync#2 (a URL with a CR on its end: `curl: (3) URL using bad/illegal format`); Azure/InnovationEngine#195 (wget asks for `%0D`, a 404); a last line without newline, trailing spaces and a tab',
      list: ({ o }) => `${o}/crlf/a.jpg\r\n${o}/crlf/b.jpg \t\r\n\r\n${o}/crlf/c.jpg   `,
    },
    {
      id: 'bom-utf8',
      report:
        'aria2/aria2#2021 (aria2c -i on a UTF-8 file with a BOM: `No URI available`); ScoopInstaller/Scoop#4015 (aria2 reads only BOM-less UTF-8 lists)',
      list: ({ o }) => `\uFEFF${o}/bom/first.jpg\n${o}/bom/second.jpg\n`,
    },
    {
      id: 'utf16-bom',
      report:
        "win-acme/win-acme#1220 and ScoopInstaller/Extras#1389 (PowerShell 5's `>` writes UTF-16LE with a BOM, a NUL after each ASCII byte)",
      list: ({ o }) =>
        Buffer.concat([
          Buffer.from([0xff, 0xfe]),
          Buffer.from(lines(`${o}/u16/one.jpg`, `${o}/u16/tw%C3%B6.jpg`), 'utf16le'),
        ]),
    },
    {
      id: 'latin1-bytes',
      report:
        'aria2/aria2#10 (URIs in an unknown encoding are percent-encoded); rockdaboot/wget2#274 (a list in CP936 read by wget2): a list saved as Windows-1252, `caf\\xE9.jpg`',
      list: ({ o }) =>
        Buffer.concat([Buffer.from(`${o}/l1/caf`), Buffer.from([0xe9]), Buffer.from('.jpg\n')]),
    },
    {
      id: 'nul-padding',
      report:
        'sierra-db/sierradb#13 (a file padded with NUL bytes at its end after a power loss); notepad-plus-plus/notepad-plus-plus#6133: 14 URLs, the last one followed by 600 NULs',
      list: ({ o }) =>
        Buffer.concat([
          Buffer.from(lines(...Array.from({ length: 13 }, (_, i) => `${o}/nul/${i}.jpg`))),
          Buffer.from(`${o}/nul/last.jpg`),
          Buffer.alloc(600),
        ]),
    },
    {
      id: 'gzip-list',
      report:
        'no peer report found: a list kept compressed (`urls.txt.gz`), as dataset URL lists ship, given as it is',
      list: ({ o }) => gzipSync(lines(`${o}/gz/a.jpg`, `${o}/gz/b.jpg`)),
    },
    {
      id: 'empty-comments',
      report: "curl/wcurl#66 (an input file's `#` lines skipped): blank, whitespace and `#` lines only",
      list: () => lines('# exported 2024-01-01', '', '   ', '# nothing left'),
    },
    {
      id: 'folder-as-list',
      report: 'no peer report found: a folder given where the list goes (`-i DIR`)',
      list: () => '',
      folder: true,
    },
    {
      id: 'space-nonascii',
      report:
        'curl/curl#8654 (curl refuses a raw space since 7.82); jeroen/curl#233 (a raw space sent: HTTP 400): spaces and `é` in a path and query',
      list: ({ o }) => lines(`${o}/sp/my photo.jpg?caption=a b`, `${o}/sp/caf\u00e9.jpg?q=\u00e9t\u00e9`),
    },
    {
      id: 'caption-after-space',
      report:
        'aria2/aria2#372 (aria2c takes a space as part of the URL, a tab as its separator); a caption copied after the URL without its tab (`cat.jpg A nice cat`), which the server has not',
      list: ({ o }) => lines(`${o}/cp/cat.jpg A nice cat`, `${o}/cp/dog.jpg`),
      has: (target) => !/%20|\s/.test(target),
    },
    {
      id: 'fragment',
      report:
        'curl/curl#4412 (fragments sent to the server: 404s); http-rs/async-h1#128 (a client must not send the fragment): `a.jpg#top`, `b.jpg#`',
      list: ({ o }) => lines(`${o}/fr/a.jpg#top`, `${o}/fr/b.jpg#`),
    },
    {
      id: 'bad-percent',
      report:
        'vercel/next.js#62775 (a bare `%` answered 400); alphagov/frontend#734 (wget sends it as `%25`): `100%.jpg`, `%zz.jpg`',
      list: ({ o }) => lines(`${o}/pc/100%.jpg`, `${o}/pc/%zz.jpg`),
    },
    {
      id: 'backslash-tab',
      report:
        "whatwg/url#346 (backslashes read as slashes); ArchiveTeam/wpull#377 (a `\\` in a URL: a 404); aria2/aria2#372 (aria2c reads a tab as one file's mirrors)",
      list: ({ o }) => lines(`${o}\\bs\\a.jpg`, `${o}/bs/b.jpg\tA caption`),
    },
    {
      id: 'scheme-case-dupes',
      report:
        "MusicPlayerDaemon/MPD#330 (`HTTP://` an unsupported scheme); aria2/aria2#1959 (a list's same file fetched twice, as `.1`): upper-case scheme, `/./`, a fragment",
      list: ({ o, port }) =>
        lines(
          `${o}/dd/same.jpg`,
          `HTTP://127.0.0.1:${port}/dd/same.jpg`,
          `http://127.0.0.1:${port}/dd/./same.jpg`,
          `${o}/dd/same.jpg#x`,
        ),
    },
    {
      id: 'protocol-relative',
      report:
        'nodejs/node#62007 (`//host/x` throws ERR_INVALID_URL); request/request#3051 (a protocol-relative URL: Invalid URI)',
      list: ({ port }) => lines(`//127.0.0.1:${port}/pr/a.jpg`),
    },
    {
      id: 'idn-host',
      report:
        'aria2/aria2#401 (aria2 lacks IDN); aria2/aria2#2055 (a Cyrillic host: failed to resolve): `bücher.example` and its `xn--` form, through a proxy (the host on the wire)',
      list: () => lines('http://b\u00fccher.example/idn/a.jpg', 'http://xn--bcher-kva.example/idn/b.jpg'),
      proxy: true,
    },
    {
      id: 'ipv6-literal',
      report: 'lalinsky/dusty#167 (IPv6 literal URLs cannot connect): `http://[::1]:PORT/`',
      list: ({ port }) => lines(`http://[::1]:${port}/v6/a.jpg`),
    },
    {
      id: 'userinfo',
      report:
        'TachibanaGeneralLaboratories/download-navi#294 (credentials in a URL not sent: a 401): `user:p%40ss@host`',
      list: ({ port }) => lines(`http://user:p%40ss@127.0.0.1:${port}/ui/a.jpg`),
    },
    {
      id: 'comma-joined',
      report:
        'projectdiscovery/httpx#1002 and webrecorder/browsertrix#547 (commas in a URL list: one URL or several?): URLs joined by `,` and `;` on a line, as a CSV row without a header or a cell of several gives them',
      list: ({ o }) => lines(`${o}/cj/a.jpg,${o}/cj/b.jpg`, `${o}/cj/c.jpg;${o}/cj/d.jpg`, `${o}/cj/e.jpg`),
    },
    {
      id: 'bad-hosts',
      report:
        'YunoHost/issues#1265 ("invalid url" hides what is wrong); jsdom/whatwg-url#238 (`256.256.256.256.256` is no URL): a host no parser takes, beside a good line',
      list: ({ o }) => lines('http://256.1.1.1/bh/a.jpg', 'http://a|b.example/bh/b.jpg', `${o}/bh/c.jpg`),
    },
    {
      id: 'port-out-of-range',
      report:
        'validatorjs/validator.js#278 (`http://127.0.0.1:99999` taken as valid); libwww-perl/URI#70: one bad line among good ones',
      list: ({ o }) => lines(`${o}/po/a.jpg`, 'http://127.0.0.1:99999/po/b.jpg', `${o}/po/c.jpg`),
    },
    {
      id: 'url-8k',
      report:
        "acgotaku/BaiduExporter#306 (a 15,703-character link: 414); request/request#1448 (Apache's 414 Request-URI Too Long): a 9 KB signed URL",
      list: ({ o }) => lines(`${o}/lg/a.jpg?sig=${'x'.repeat(9000)}`, `${o}/lg/b.jpg`),
    },
    {
      id: 'other-schemes',
      report:
        'yt-dlp/yt-dlp#3675 and ytdl-org/youtube-dl#8227 (`file://` disabled for security); curl/curl#4802 (libcurl-security: FILE: reads local files): `file:`, `ftp:`, `data:`, `javascript:` lines',
      list: ({ o, port, root }) =>
        lines(
          `file://${root}/secret.jpg`,
          `ftp://127.0.0.1:${port}/os/a.jpg`,
          'data:image/gif;base64,R0lGODlhAQABAAAAACw=',
          'javascript:alert(1)',
          `${o}/os/ok.jpg`,
        ),
    },
  ]
}

/** A JPEG with `tag` in a COM segment after its SOI: one image per request-target. */
function tagged(base: Buffer, tag: string): Buffer {
  const text = Buffer.from(tag)
  const head = Buffer.alloc(4)
  head.writeUInt16BE(0xfffe, 0)
  head.writeUInt16BE(text.length + 2, 2)
  return Buffer.concat([base.subarray(0, 2), head, text, base.subarray(2)])
}

interface ListTool {
  id: string
  /** The command for the list file `list` into `out`. */
  args(list: string, out: string): string[]
  /** Run a second time over the same folder: what it asks for again is counted. */
  rerun?: boolean
}

/** Each at its defaults, as a user runs it on a list. */
const TOOLS: ListTool[] = [
  {
    id: 'imgpull',
    args: (list, out) => [process.execPath, IMGPULL, list, '-o', out, '--no-report'],
    rerun: true,
  },
  {
    // A list given to curl as users do: one argument a line. `timeout` ends curl with xargs (its
    // process group) before the cap, where killing xargs alone left curl waiting on an FTP banner.
    id: 'curl',
    args: (list, out) => [
      'timeout',
      '-s',
      'KILL',
      '50',
      'xargs',
      '-a',
      list,
      'curl',
      '-sS',
      '--fail',
      '--remote-name-all',
      '--output-dir',
      out,
    ],
  },
  { id: 'wget2', args: (list, out) => ['wget2', '--no-config', '-q', '-P', out, '-i', list] },
  { id: 'aria2c', args: (list, out) => ['aria2c', '-q', '-d', out, '-i', list] },
]

async function walk(dir: string): Promise<string[]> {
  const names = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])
  return names.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
}

/** Bytes as they came, each outside printable ASCII as `\xNN`, a target cut at 60 characters. */
const shown = (target: string) => {
  const escaped = target.replace(
    /[^\x21-\x7e]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  )
  return escaped.length > 60 ? `${escaped.slice(0, 40)}...(${target.length} B)` : escaped
}

/** A tool's error line for a table cell: the server's origin as `http://h`, no scratch folder, no `|`, at most 90 characters. */
const cellText = (line: string) => cellLine(line, /\/tmp\/lists-[^/\s'"]+\/?/g, { max: 90 })

/** The first line a tool shows that says something went wrong. */
const errorLine = (stderr: string) =>
  firstError(stderr, /img\/s|^Details:|^Downloading|^\d+ (?:images?|downloaded)/i, { max: 200, split: '\n' })

async function runOne(tool: ListTool, c: ListCase, base: Buffer) {
  const root = await mkdtemp(join(tmpdir(), `lists-${tool.id}-`))
  const out = join(root, 'a', 'b', 'c', 'out')
  const cwd = join(root, 'a', 'b', 'c', 'cwd')
  await mkdir(out, { recursive: true })
  await mkdir(cwd, { recursive: true })
  await writeFile(join(root, 'secret.jpg'), SECRET)
  const targets: string[] = []
  const server = createServer((socket: Socket) => {
    socket.on('error', () => {})
    eachRequest(socket, (head) => {
      const target = head
        .split('\r\n')[0]!
        .replace(/^\S+ /, '')
        .replace(/ HTTP\/1\.[01]$/, '')
      targets.push(target)
      if (glued(target) || (c.has && !c.has(target))) {
        socket.write('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n')
        return
      }
      if (target.length > 8192) {
        socket.end('HTTP/1.1 414 URI Too Long\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
        return
      }
      const body = tagged(base, target)
      socket.write(
        `HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n`,
      )
      socket.write(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '::', resolve))
  const port = (server.address() as { port: number }).port
  const at = { o: `http://127.0.0.1:${port}`, port, root }
  const list = join(root, c.folder ? 'listdir' : 'list.txt')
  if (c.folder) await mkdir(list)
  else await writeFile(list, c.list(at))
  const [cmd, ...args] = tool.args(list, out)
  const proxy = c.proxy ? `http://127.0.0.1:${port}` : undefined
  const env = proxy ? { http_proxy: proxy, HTTP_PROXY: proxy } : {}
  const saved = { ...process.env }
  Object.assign(process.env, env)
  const { code, stderr } = await spawnCapped(cmd!, args, 60_000, cwd)
  // A rerun over the folder: every image found where the first run put it, nothing asked for again.
  const first = targets.length
  if (tool.rerun) await spawnCapped(cmd!, args, 60_000, cwd)
  const refetched = targets.length - first
  targets.length = first
  process.env = saved
  server.close()
  const kept: string[] = []
  const outside: string[] = []
  let read = false
  for (const file of await walk(root)) {
    const rel = relative(root, file)
    if (rel === 'list.txt' || rel === 'secret.jpg') continue
    const inOut = file.startsWith(out + sep)
    if (inOut && /^\.imgpull|^manifest\.jsonl$|\.aria2$/.test(relative(out, file))) continue
    // A name that is no UTF-8 (a Latin-1 byte kept as it came) is listed, but cannot be opened by it.
    const bytes = await readFile(file).catch(() => undefined)
    if (bytes?.includes(SECRET)) read = true
    if (!inOut) outside.push(rel)
    else if (!bytes || (bytes[0] === 0xff && bytes[1] === 0xd8)) kept.push(relative(out, file))
  }
  await rm(root, { recursive: true, force: true })
  return { targets, kept, outside, read, code, error: errorLine(stderr), refetched, rerun: tool.rerun }
}

async function main() {
  const { only, toolIds } = benchArgs()
  const base = await noise(32, 24).jpeg({ quality: 80 }).toBuffer()
  const chosen = cases().filter((c) => !only || only.includes(c.id))
  const { tools, rows } = toolTable(TOOLS, toolIds)
  for (const c of chosen) {
    const cells: string[] = []
    for (const t of tools) {
      const r = await runOne(t, c, base)
      const all = r.targets.map(
        (target) =>
          `\`${shown(target.replace(/^http:\/\/127\.0\.0\.1:\d+/, '').replace(/127\.0\.0\.1(:|%3A)\d+/gi, 'h'))}\``,
      )
      const sent = all.length > 4 ? [...all.slice(0, 3), `and ${all.length - 3} more`] : all
      cells.push(
        `${r.kept.length} kept; ${sent.length ? sent.join(' ') : 'nothing sent'}${r.read ? ', **LOCAL FILE READ**' : ''}${r.outside.length ? `, **${r.outside.length} OUTSIDE**` : ''}${r.code === null ? ', killed at the 60 s cap' : r.code ? `, exit ${r.code}` : ''}${r.rerun ? `; rerun ${r.refetched ? `**${r.refetched} asked again**` : '0 asked'}` : ''}${r.error ? `; _${cellText(r.error)}_` : ''}`,
      )
      console.error(
        `${c.id} ${t.id}: kept ${r.kept.length} [${r.kept.map(shown).join(', ')}] sent [${r.targets.map(shown).join(' ')}] read ${r.read} outside [${r.outside.join(', ')}] exit ${r.code} rerun asked ${r.refetched}\n    ${r.error}`,
      )
    }
    rows.push(`| ${c.id} | ${cells.join(' | ')} |`)
  }
  printTable(rows, chosen)
}

await main()
