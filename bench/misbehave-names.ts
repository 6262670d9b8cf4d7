/**
 * Side by side on file names: each case is a small list whose names collide or cannot be written
 * as they stand (a photographer's or design team's list, each modelled on a public report named
 * with it): one photo at several `?w=` sizes, names that differ in case or in Unicode form, a name
 * of 300 bytes, `..` and `/` percent-encoded, paths ending in `/`, a server's `Content-Disposition`
 * naming `../../` or an absolute path, a lying extension, the same URL twice. Every URL is a
 * distinct image (a JPEG with the path it was asked for in a comment), so a file overwritten by
 * another is counted. Each tool (imgpull, curl `--remote-name-all -J`, wget2 `-i`, aria2c `-i`, at
 * their defaults) fetches the list into `out`, three folders down a scratch folder, run from a
 * sibling folder. Prints per case and tool the distinct images on disk out of those sent, the
 * images served but not on disk (lost to a collision, or refused by the file system), and files
 * written OUTSIDE `out` (a hard fault).
 *
 *   npm run build && node --import tsx bench/misbehave-names.ts [--only ID,ID] [--tools imgpull,curl]
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join, relative, sep } from 'node:path'
import { benchArgs, noise, printTable, spawnCapped, toolTable } from './misbehave.js'
import { IMGPULL } from './tools.js'

interface Answer {
  /** Header fields beside the image's own (a `Content-Disposition`, a `Location`). */
  fields?: (root: string) => Record<string, string>
  /** A redirect's status (its `Location` in `fields`). */
  status?: number
}

interface NameCase {
  id: string
  /** The report this list is modelled on. */
  report: string
  /** Paths (with their queries) on the server, in list order. */
  paths: string[]
  /** What a path is answered with beside the image (by the raw path asked for). */
  answer?: (path: string) => Answer | undefined
}

const disposition = (value: string) => () => ({ 'Content-Disposition': value })
const long = (char: string, bytes: number) => char.repeat(Math.ceil(bytes / Buffer.byteLength(char)))
const utf8Escaped = (text: string) => encodeURIComponent(text)

function cases(): NameCase[] {
  const cjk = long('写', 300)
  const accents = long('é', 300)
  return [
    {
      id: 'query-sizes',
      report:
        "curl/curl#9826 (`-O` keeps the path's name only since 7.86: every size one file) and aria2/aria2#1286 (aria2c renames each `PAGE?param=N` to `PAGE.N.jsp`); one photo at ?w=1600/800/400, as a CDN's srcset lists it",
      paths: ['/p/photo.jpg?w=1600', '/p/photo.jpg?w=800', '/p/photo.jpg?w=400'],
    },
    {
      id: 'case-pair',
      report:
        'gutschilla/plug-session-memcached#6 (two names differing in case: one file on a case-insensitive disk, the other lost); meganz/MEGAsync#694',
      paths: ['/c/Photo.jpg', '/c/photo.jpg', '/c/PHOTO.JPG'],
    },
    {
      id: 'long-cjk',
      report:
        'mikf/gallery-dl#5575 (names over 255 bytes fail to download); iambus/xunlei-lixian#338 (ext4 takes 255 bytes, not characters): 100 CJK characters, 300 bytes',
      paths: [`/l/${utf8Escaped(cjk)}.jpg`, `/l/${utf8Escaped(cjk)}2.jpg`],
    },
    {
      id: 'long-accents',
      report: 'glomatico/gamdl#324 (Errno 36 File name too long on multibyte titles): 150 é, 300 bytes',
      paths: [`/l/${utf8Escaped(accents)}.jpg`, `/l/${utf8Escaped(accents)}.png`],
    },
    {
      id: 'long-query',
      report:
        'mikf/gallery-dl#5575; a signed URL whose query (kept in the name by wget) is 300 bytes: `X-Amz-Signature=...`',
      paths: [
        `/s/photo.jpg?X-Amz-Signature=${'a'.repeat(300)}`,
        `/s/photo.jpg?X-Amz-Signature=${'b'.repeat(300)}`,
      ],
    },
    {
      id: 'nfc-nfd',
      report:
        'Garmelon/PFERD#141 (names in NFC and NFD: one name on a Mac, files dropped when copied there): `café` composed and decomposed',
      paths: ['/u/caf%C3%A9.jpg', '/u/cafe%CC%81.jpg'],
    },
    {
      id: 'slash-encoded',
      report:
        'axel-download-accelerator/axel#477 (`%2e%2e%2f` decoded after the URL was parsed: a write outside the folder); curl/curl#10216 (`-O` keeps `%2F` as written)',
      paths: ['/e/a%2Fb.jpg', '/e/a_b.jpg', '/e/..%2F..%2F..%2Fescaped-slash.jpg'],
    },
    {
      id: 'dotdot-encoded',
      report:
        'axel-download-accelerator/axel#477; kernelsauce/turbo#57 (`%2e%2e` segments, which a URL parser folds or keeps)',
      paths: ['/d/%2e%2e/%2e%2e/%2e%2e/escaped-dots.jpg', '/d/x/%2E%2E/y.jpg', '/d/.%2e/z.jpg'],
    },
    {
      id: 'trailing-slash',
      report:
        'curl/curl#7519 and curl/curl#14493 (a URL ending in `/` names nothing: `-O` fails, `Remote file name has no length`); three pages of one gallery',
      paths: ['/gallery/', '/gallery/?page=2', '/'],
    },
    {
      id: 'cd-traversal',
      report:
        'CVE-2010-2252 (wget --content-disposition: `filename="../../x"` written outside); ducaale/xh#379; browser-use/browser-use#4867 (absolute path)',
      paths: ['/cd/1', '/cd/2', '/cd/3'],
      answer: (path) => {
        if (path === '/cd/1') return { fields: disposition('attachment; filename="../../../cd-dotdot.jpg"') }
        if (path === '/cd/2')
          return {
            fields: (root) => ({
              'Content-Disposition': `attachment; filename="${join(root, 'cd-absolute.jpg')}"`,
            }),
          }
        return { fields: disposition('attachment; filename="..\\..\\..\\cd-backslash.jpg"') }
      },
    },
    {
      id: 'cd-star',
      report:
        "RFC 6266 `filename*=UTF-8''` beside `filename=`; Kong/insomnia#10529 (a `filename*` with an encoded `/`); an encoded NUL",
      paths: ['/cs/1', '/cs/2', '/cs/3'],
      answer: (path) => {
        if (path === '/cs/1')
          return { fields: disposition(`attachment; filename="cafe.jpg"; filename*=UTF-8''caf%C3%A9.jpg`) }
        if (path === '/cs/2')
          return { fields: disposition(`attachment; filename*=UTF-8''..%2F..%2F..%2Fcd-star.jpg`) }
        return { fields: disposition(`attachment; filename*=UTF-8''nul%00.jpg`) }
      },
    },
    {
      id: 'cd-same-name',
      report:
        'mikf/gallery-dl#5344 (every file of a thread uploaded as `image.jpg`: all but the first skipped): three images, one Content-Disposition name',
      paths: ['/cn/1', '/cn/2', '/cn/3'],
      answer: () => ({ fields: disposition('attachment; filename="image.jpg"') }),
    },
    {
      id: 'option-dot-names',
      report:
        'danbooru/danbooru#2612 (downloaded names starting with `-` break shell scripts); fish-shell/fish-shell#7224 (`rm *` over a file named `-`); a hidden `.hidden.jpg`',
      paths: ['/o/-rf.jpg', '/o/.hidden.jpg', '/o/..jpg', '/o/.jpg'],
    },
    {
      id: 'lying-ext',
      report:
        'mikf/gallery-dl#132 (names whose extension lies are fetched again on every run); hardikvasa/google-images-download#275; `photo.php?id=3` answering a JPEG',
      paths: ['/x/photo.php?id=3', '/x/photo.php?id=4', '/x/image.png'],
    },
    {
      id: 'same-url-twice',
      report:
        "aria2/aria2#1959 (aria2c downloads a list's files twice, as `.1`); mikf/gallery-dl#3040; a fragment sent nowhere",
      paths: ['/t/dup.jpg', '/t/dup.jpg', '/t/dup.jpg#top'],
    },
    {
      id: 'own-names',
      report:
        "no peer's report: imgpull's own (found here), a URL folder named as its manifest or report under `{path}`: /manifest.jsonl/a.jpg, /Report.HTML/b.jpg, and /report.html",
      paths: ['/manifest.jsonl/a.jpg', '/Report.HTML/b.jpg', '/report.html'],
    },
    {
      id: 'redirect-names',
      report:
        "curl/curl#19985 (`-LO` names by the URL asked for, not the redirect's target): two short links to `photo.jpg` in two folders",
      paths: ['/r/1', '/r/2'],
      answer: (path) =>
        path.startsWith('/r/')
          ? { status: 302, fields: () => ({ Location: `/final/${path.slice(3)}/photo.jpg` }) }
          : undefined,
    },
  ]
}

/** A JPEG with `tag` in a COM segment after its SOI: one image per path asked for. */
function tagged(base: Buffer, tag: string): Buffer {
  const text = Buffer.from(tag)
  const head = Buffer.alloc(4)
  head.writeUInt16BE(0xfffe, 0)
  head.writeUInt16BE(text.length + 2, 2)
  return Buffer.concat([base.subarray(0, 2), head, text, base.subarray(2)])
}

/** The tag `tagged` put in `file`, if it is one of its JPEGs. */
function tagOf(file: Buffer): string | undefined {
  if (file[0] !== 0xff || file[1] !== 0xd8 || file[2] !== 0xff || file[3] !== 0xfe) return undefined
  return file.subarray(6, 4 + file.readUInt16BE(4)).toString()
}

interface ListTool {
  id: string
  /** The command for `urls` (in the list `list`) into `out`. */
  args(list: string, out: string, urls: string[]): string[]
  /** Run a second time over the same folder, the list reversed: what it fetched and saved again is counted. */
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
    // No journal: a rerun knows nothing of the first and names by the list's order.
    id: 'imgpull --no-journal',
    args: (list, out) => [process.execPath, IMGPULL, list, '-o', out, '--no-report', '--no-journal'],
    rerun: true,
  },
  {
    // The URL's folders kept: a design team's tree of assets.
    id: 'imgpull {path}',
    args: (list, out) => [process.execPath, IMGPULL, list, '-o', out, '--no-report', '--name', '{path}{ext}'],
    rerun: true,
  },
  {
    id: 'curl',
    // `-O` for each URL, `-J` to take the server's name where it gives one, as users do.
    args: (_list, out, urls) => [
      'curl',
      '-sS',
      '--fail',
      '-J',
      '--remote-name-all',
      '--output-dir',
      out,
      ...urls,
    ],
  },
  { id: 'wget2', args: (list, out) => ['wget2', '--no-config', '-q', '-P', out, '-i', list] },
  { id: 'aria2c', args: (list, out) => ['aria2c', '-q', '-d', out, '-i', list] },
]

async function walk(dir: string): Promise<string[]> {
  const names = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])
  return names.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
}

async function runOne(tool: ListTool, c: NameCase, base: Buffer) {
  const root = await mkdtemp(join(tmpdir(), `names-${tool.id}-`))
  const out = join(root, 'a', 'b', 'c', 'out')
  const cwd = join(root, 'a', 'b', 'c', 'cwd')
  await mkdir(out, { recursive: true })
  await mkdir(cwd, { recursive: true })
  const served = new Set<string>()
  let requests = 0
  const server = createServer((req, res: ServerResponse) => {
    const path = req.url ?? '/'
    requests++
    const answer = c.answer?.(path)
    const fields = answer?.fields?.(root) ?? {}
    if (answer?.status) {
      res.writeHead(answer.status, { ...fields, 'Content-Length': '0' }).end()
      return
    }
    const body = tagged(base, path)
    served.add(path)
    res
      .writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': String(body.length), ...fields })
      .end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  const urls = c.paths.map((p) => origin + p)
  const list = join(root, 'list.txt')
  await writeFile(list, `${urls.join('\n')}\n`)
  const [cmd, ...args] = tool.args(list, out, urls)
  const run = () => spawnCapped(cmd!, args, 60_000, cwd)
  const { code, stderr } = await run()
  const before = (await walk(out)).length
  // A rerun over the folder: every file found where the first run put it, nothing fetched or saved again.
  const first = requests
  // The list in another order (sorted anew, lines added at its top): names that collide are planned the other way round.
  if (tool.rerun) await writeFile(list, `${[...urls].reverse().join('\n')}\n`)
  const again = tool.rerun ? await run() : undefined
  const refetched = again ? requests - first : 0
  const added = again ? (await walk(out)).length - before : 0
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  const onDisk = new Set<string>()
  const outside: string[] = []
  const names: string[] = []
  for (const file of await walk(root)) {
    const rel = relative(root, file)
    if (rel === 'list.txt') continue
    const inOut = file.startsWith(out + sep)
    if (inOut && /^\.imgpull|^manifest\.jsonl$|\.aria2$/.test(relative(out, file))) continue
    const tag = tagOf(await readFile(file))
    if (!inOut) {
      outside.push(rel)
      continue
    }
    names.push(relative(out, file))
    if (tag !== undefined) onDisk.add(tag)
  }
  await rm(root, { recursive: true, force: true })
  // Sent: the distinct requests a list makes (a fragment is never sent).
  const sent = new Set(c.paths.map((p) => p.replace(/#.*/, ''))).size
  const lost = [...served].filter((p) => !onDisk.has(p)).length
  return {
    got: onDisk.size,
    sent,
    lost,
    outside,
    names,
    code,
    stderr,
    refetched,
    added,
    rerun: again !== undefined,
  }
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
      cells.push(
        `${r.got}/${r.sent}${r.lost ? `, ${r.lost} lost` : ''}${r.outside.length ? `, **${r.outside.length} OUTSIDE**` : ''}${r.code ? `, exit ${r.code}` : ''}${r.rerun ? `; rerun ${r.refetched} fetched${r.added ? `, **${r.added} new files**` : ''}` : ''}`,
      )
      console.error(
        `${c.id} ${t.id}: ${r.got}/${r.sent} lost ${r.lost} outside [${r.outside.join(', ')}] names [${r.names.map((n) => (n.length > 60 ? `${n.slice(0, 40)}…(${Buffer.byteLength(n)} B)` : n)).join(', ')}] rerun fetched ${r.refetched} added ${r.added} exit ${r.code} ${r.stderr.trim().split('\n').slice(0, 2).join(' | ').slice(0, 300)}`,
      )
    }
    rows.push(`| ${c.id} | ${cells.join(' | ')} |`)
  }
  printTable(rows, chosen)
}

await main()
