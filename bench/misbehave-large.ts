/**
 * Side by side on large files at the edges: bodies past 2 GiB and 4 GiB, whole, cut at 2^31 + 1
 * and 2^32 + 1 and resumed (by the tool's own retry, and by a rerun after `kill -9`), a resume
 * whose `Content-Range` total is past 2^32, a `Content-Length` past 2^32 on a shorter body, a size
 * limit of 3 GiB against a 4 GiB body. Each case is modelled on a public bug report (named in its
 * `report`). The image is an uncompressed 8-bit grey TIFF (BigTIFF from 4 GiB: classic TIFF's
 * offsets stop there) 65,536 pixels wide, as a gigapixel scan is, made by a generator: every byte
 * is a function of its offset (a 512-byte header, then a pattern of 65,521 bytes, a prime, so a
 * resume from a wrong offset shows), so a 4.1 GiB body costs the server no disk and a range is
 * served from any offset. The kept file is hashed as a stream against the generator's own sha256;
 * imgpull's manifest row and journal record are checked for the same size and hash.
 *
 * imgpull, curl, wget2 and aria2c run as bench/misbehave.ts runs them, their resume flags given
 * in the cut cases (curl `-C -`, wget2 `-c`, aria2c `-c`), imgpull with `--max-size 8GiB` (its
 * default is 512 MiB) but in the rows about that limit, curl with `--max-time 600` (its 30 s there
 * is shorter than a 4 GiB body takes). One tool at a time (the disk holds one
 * body at a time, and a tool's peak RSS is its own), under GNU time for it. Outputs go to
 * /var/tmp and are removed after each run.
 *
 *   npm run build && node --import tsx bench/misbehave-large.ts [--only ID,ID] [--tools imgpull,curl] [--cap 300]
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, createReadStream, readSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { BLOCK, paddedSize, readHeader, TarScan } from '../src/sinks/webdataset/tar.js'
import { eachRequest, listenLocal } from '../test/support/raw-server.js'
import { benchArgs, printTable, TOOLS, type Tool, toolTable } from './misbehave.js'

const GiB = 2 ** 30
/** The pattern's period: a prime, so no power of two is a multiple of it. */
const PERIOD = 65_521
/** Bytes written to a socket at once. */
const PIECE = 1 << 20
/** The TIFF's width; its height makes the size. */
const WIDTH = 65_536
const HEAD = 512

const PATTERN = (() => {
  const b = Buffer.alloc(PERIOD + PIECE)
  let x = 0x9e3779b9
  for (let i = 0; i < PERIOD; i++) {
    // xorshift32: a fixed sequence, no byte of which says its offset.
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    b[i] = x & 0xff
  }
  for (let i = PERIOD; i < b.length; i++) b[i] = b[i - PERIOD]!
  return b
})()

/** A generated TIFF: its size, its first 512 bytes, its bytes from any offset. */
class Body {
  readonly size: number
  readonly head: Buffer
  #sha256: string | undefined

  /** A TIFF of at least `atLeast` bytes, its rows whole: classic below 4 GiB, BigTIFF from it. */
  constructor(atLeast: number) {
    const height = Math.ceil((atLeast - HEAD) / WIDTH)
    const pixels = WIDTH * height
    this.size = HEAD + pixels
    const big = this.size >= 2 ** 32
    const h = Buffer.alloc(HEAD)
    // (tag, type, value): SHORT 3, LONG 4, LONG8 16; one value each, inline.
    const entries: [number, number, number][] = [
      [256, 4, WIDTH],
      [257, 4, height],
      [258, 3, 8],
      [259, 3, 1],
      [262, 3, 1],
      [273, big ? 16 : 4, HEAD],
      [277, 3, 1],
      [278, 4, height],
      [279, big ? 16 : 4, pixels],
    ]
    h.write('II', 0, 'latin1')
    if (big) {
      h.writeUInt16LE(43, 2)
      h.writeUInt16LE(8, 4)
      h.writeBigUInt64LE(16n, 8)
      h.writeBigUInt64LE(BigInt(entries.length), 16)
      entries.forEach(([tag, type, value], i) => {
        const at = 24 + i * 20
        h.writeUInt16LE(tag, at)
        h.writeUInt16LE(type, at + 2)
        h.writeBigUInt64LE(1n, at + 4)
        if (type === 3) h.writeUInt16LE(value, at + 12)
        else if (type === 4) h.writeUInt32LE(value, at + 12)
        else h.writeBigUInt64LE(BigInt(value), at + 12)
      })
    } else {
      h.writeUInt16LE(42, 2)
      h.writeUInt32LE(8, 4)
      h.writeUInt16LE(entries.length, 8)
      entries.forEach(([tag, type, value], i) => {
        const at = 10 + i * 12
        h.writeUInt16LE(tag, at)
        h.writeUInt16LE(type, at + 2)
        h.writeUInt32LE(1, at + 4)
        if (type === 3) h.writeUInt16LE(value, at + 8)
        else h.writeUInt32LE(value, at + 8)
      })
    }
    this.head = h
  }

  /** Bytes `from` up to `to` (at most a `PIECE`). */
  slice(from: number, to: number): Buffer {
    if (from < HEAD) return this.head.subarray(from, Math.min(to, HEAD))
    const at = from % PERIOD
    return PATTERN.subarray(at, at + Math.min(to - from, PIECE))
  }

  /** Its sha256 (hex), generated once. */
  sha256(): string {
    if (this.#sha256) return this.#sha256
    const hash = createHash('sha256')
    for (let at = 0; at < this.size; ) {
      const piece = this.slice(at, Math.min(this.size, at + PIECE))
      hash.update(piece)
      at += piece.length
    }
    this.#sha256 = hash.digest('hex')
    return this.#sha256
  }
}

const bodies = new Map<number, Body>()
const body = (atLeast: number) => {
  const b = bodies.get(atLeast) ?? new Body(atLeast)
  bodies.set(atLeast, b)
  return b
}

interface LargeCase {
  id: string
  report: string
  body: Body
  /** The first answer's bytes end here: the connection is closed (`retry`) or held (`rerun`). */
  cutAt?: number
  /** `retry`: the tool's own retries pick up the cut; `rerun`: killed (-9) at the cut, then run again. */
  resume?: 'retry' | 'rerun'
  /** Every answer's length (and 206's total) says this instead (a lie); bytes stop at the body's end. */
  claim?: number
  /** Every answer stops after this many bytes of the file (its length still the whole body's). */
  sendOnly?: number
  /** The body in chunks, no `Content-Length`: its size known only as it comes. */
  chunked?: boolean
  /** Per tool: its flags for the case (in place of `--max-size 8GiB` for imgpull); null: no such flag, not run. */
  flags?: Partial<Record<string, string[] | null>>
  /** Into a WebDataset shard (imgpull only): the URL in a CSV, the sample checked in the tar. */
  webdataset?: boolean
  /** Whether a tool should keep the body whole (else: nothing kept is right). */
  servable: boolean
}

function cases(): LargeCase[] {
  const b21 = body(2.1 * GiB)
  const b41 = body(4.1 * GiB)
  /** A TIFF whose header names 2^32 + 256 MiB bytes, of which only the first 256 MiB are sent. */
  const short = body(2 ** 32 + 256 * 2 ** 20)
  /** A whole TIFF of 256 MiB. */
  const small = body(256 * 2 ** 20)
  return [
    {
      id: 'whole-2.1g',
      report:
        'RPi-Distro/repo#272 (wget on a 32-bit userland stopped at 2147483647 bytes of a larger file); rockdaboot/wget2#92 (tests for sizes around 2^31 and 2^32); Kong/insomnia#614 (bodies gathered in one Buffer, ~2 GB at most: streamed to the disk instead)',
      body: b21,
      servable: true,
    },
    {
      id: 'whole-4.1g',
      report:
        'aria2/aria2#248 (a 4,977,730,608-byte file kept as its last 682,763,312: 4 GiB lost); aria2/aria2#84 (a 32-bit off_t: "Too large size" past 4 GiB); node-fetch/node-fetch#1551 (a body past 2^32 bytes read into one buffer: "length is out of range")',
      body: b41,
      servable: true,
    },
    {
      id: 'cut-2e31-retry',
      report:
        'git-lfs/git-lfs#1297 (a range start parsed as 32 bits: no resume past 2^31); pycurl/pycurl#405 and curl/curl#948 (RESUME_FROM past 2 GB: "Python int too large to convert to C long"); aria2/aria2#215 (a crash after 2,147,488,918 bytes of a larger file)',
      body: b21,
      cutAt: 2 ** 31 + 1,
      resume: 'retry',
      servable: true,
    },
    {
      id: 'cut-2e32-retry',
      report:
        'aria2/aria2#248 (4 GiB lost from a larger file); ServiceStack/Issues#718 (ranges past 4 GB overflowed an Int32); rockdaboot/wget2#92',
      body: b41,
      cutAt: 2 ** 32 + 1,
      resume: 'retry',
      servable: true,
    },
    {
      id: 'cut-2e31-rerun',
      report:
        'git-lfs/git-lfs#1297 (no resume past 2^31); pycurl/pycurl#405 (resuming a 4.5 GB file with 3.3 GB on disk overflowed a C long); aria2/aria2#252 ("Failed to seek the file" after 2 GB)',
      body: b21,
      cutAt: 2 ** 31 + 1,
      resume: 'rerun',
      servable: true,
    },
    {
      id: 'cut-2e32-rerun',
      report:
        'aria2/aria2#248 (4 GiB cut off a larger file); cyrus-and/httpfs#5 (32-bit sizes and offsets: no file above 4 GB); lingochamp/FileDownloader#669 ("offset < 0" seeking into a 4 GB download)',
      body: b41,
      cutAt: 2 ** 32 + 1,
      resume: 'rerun',
      servable: true,
    },
    {
      id: 'cr-total-2e32-early-cut',
      report:
        'ServiceStack/Issues#718 (a Content-Range past 4 GB overflowed an Int32); xroche/httrack#534 (Content-Range values checked in 64 bits)',
      body: b41,
      cutAt: 2 ** 20 + 1,
      resume: 'retry',
      servable: true,
    },
    {
      id: 'cl-2e32-short-max-size',
      report:
        'rockdaboot/wget2#92 (sizes past 2^32); taf2/curb#54 (a Content-Length past 32 bits from old servers); andreafabrizi/Dropbox-Uploader#428 (curl: (18) transfer closed with bytes remaining)',
      body: short,
      sendOnly: 256 * 2 ** 20,
      servable: false,
    },
    {
      id: 'cl-2e32-short-default',
      report:
        'rockdaboot/wget2#92; termux/termux-packages#2692 (busybox wget: a large content-length read as garbage)',
      body: short,
      sendOnly: 256 * 2 ** 20,
      flags: { imgpull: [], curl: [], wget2: [], aria2c: [] },
      servable: false,
    },
    {
      id: 'cl-wrap-2e32',
      report:
        'aria2/aria2#248 (a size taken modulo 2^32); jeremycw/httpserver.h#77 (a length wrapped); cyrus-and/httpfs#5 (32-bit sizes)',
      body: small,
      claim: 2 ** 32 + small.size,
      servable: true,
    },
    {
      id: 'max-size-3g-length',
      report:
        "curl/curl#2223 (a Content-Length too big trips the max filesize check); curl/curl#14899 (--max-filesize tested on a head's length)",
      body: b41,
      flags: { imgpull: ['--max-size', '3GiB'], curl: ['--max-filesize', '3G'], wget2: null, aria2c: null },
      servable: false,
    },
    {
      id: 'max-size-3g-chunked',
      report:
        'curl/curl#11810 and #11813 (--max-filesize had no effect when the server gave no size: chunked); xroche/httrack#1709 (-m did not apply to a chunked response); danbooru/danbooru#3552 (a size limit read from Content-Length, bypassed by chunked)',
      body: b41,
      chunked: true,
      flags: { imgpull: ['--max-size', '3GiB'], curl: ['--max-filesize', '3G'], wget2: null, aria2c: null },
      servable: false,
    },
    {
      id: 'wds-4.1g',
      report:
        'mafintosh/tar-fs#100 and dotnet/runtime#76563 (a tar entry past 8 GiB written with a wrapped size: the tar corrupt); halostatue/minitar#152 (base-256 and pax sizes read); wazuh/wazuh#17184 (a size past 2^31 reported as 2147483647)',
      body: b41,
      webdataset: true,
      flags: { curl: null, wget2: null, aria2c: null },
      servable: true,
    },
  ]
}

const VALIDATORS = ['ETag: "large-1"', 'Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT', 'Accept-Ranges: bytes']

/** Writes `b`'s bytes `from`..`to` to `socket`, at its pace; resolves when written or the socket is gone. */
async function pump(socket: Socket, b: Body, from: number, to: number): Promise<boolean> {
  for (let at = from; at < to; ) {
    if (socket.destroyed) return false
    const piece = b.slice(at, Math.min(to, at + PIECE))
    at += piece.length
    if (!socket.write(piece))
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off('drain', done)
          socket.off('close', done)
          resolve()
        }
        socket.on('drain', done)
        socket.on('close', done)
      })
  }
  return !socket.destroyed
}

/** A fresh server for one tool's run of `c`: the requests it saw, and a promise of the first cut. */
async function serve(c: LargeCase) {
  const b = c.body
  let answers = 0
  const asked: string[] = []
  let reachedCut!: () => void
  const cut = new Promise<void>((r) => {
    reachedCut = r
  })
  const server = await listenLocal(
    createServer((socket) => {
      socket.on('error', () => {})
      eachRequest(socket, (request) => {
        const n = ++answers
        const range = /^range:\s*bytes=(\d+)-\s*$/im.exec(request)
        const ifRange = /^if-range:\s*(.*)$/im.exec(request)?.[1]
        const from = range && (!ifRange || ifRange.includes('large-1')) ? Number(range[1]) : 0
        asked.push(range ? `${range[1]}-${ifRange ? '(if-range)' : ''}` : '0')
        const head = (status: string, fields: string[]) =>
          socket.write(
            `HTTP/1.1 ${status}\r\n${[...fields, 'Content-Type: image/tiff', ...VALIDATORS].join('\r\n')}\r\n\r\n`,
          )
        void (async () => {
          if (c.claim !== undefined || c.sendOnly !== undefined) {
            // Every answer states `total` and sends what there is up to `end`, then closes.
            const total = c.claim ?? b.size
            const end = Math.min(b.size, c.sendOnly ?? b.size)
            if (from > 0)
              head('206 Partial Content', [
                `Content-Length: ${total - from}`,
                `Content-Range: bytes ${from}-${total - 1}/${total}`,
              ])
            else head('200 OK', [`Content-Length: ${total}`])
            if (from < end) await pump(socket, b, from, end)
            socket.destroy()
            return
          }
          if (from >= b.size) {
            head('416 Range Not Satisfiable', [`Content-Range: bytes */${b.size}`, 'Content-Length: 0'])
            return
          }
          if (c.chunked) {
            head('200 OK', ['Transfer-Encoding: chunked'])
            for (let at = 0; at < b.size && !socket.destroyed; ) {
              const end = Math.min(b.size, at + 64 * PIECE)
              socket.write(`${(end - at).toString(16)}\r\n`)
              if (!(await pump(socket, b, at, end))) return
              socket.write('\r\n')
              at = end
            }
            socket.end('0\r\n\r\n')
            return
          }
          if (from > 0)
            head('206 Partial Content', [
              `Content-Length: ${b.size - from}`,
              `Content-Range: bytes ${from}-${b.size - 1}/${b.size}`,
            ])
          else head('200 OK', [`Content-Length: ${b.size}`])
          const to = n === 1 && c.cutAt !== undefined ? c.cutAt : b.size
          if (!(await pump(socket, b, from, to))) return
          if (to < b.size) {
            reachedCut()
            // A rerun case holds the connection (the tool is killed meanwhile); a retry case cuts it.
            if (c.resume !== 'rerun') socket.destroy()
          }
        })()
      })
    }),
  )
  return { server, asked, cut }
}

/** Runs `cmd` under GNU time (peak RSS), killed after `capMs`, or with SIGKILL when `killOn` settles. */
function run(cmd: string, args: string[], capMs: number, rssFile: string, killOn?: Promise<void>) {
  return new Promise<{ code: number | null; stderr: string; killed: boolean }>((resolve) => {
    // Killed at the cap or on `killOn`: GNU time passes no signal on, so the tool is run bare then.
    const child = killOn
      ? spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn('/usr/bin/time', ['-o', rssFile, '-f', '%M', cmd, ...args], {
          stdio: ['ignore', 'ignore', 'pipe'],
        })
    let err = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err = (err + d).slice(-4000)
    })
    let killed = false
    const kill = () => {
      killed = true
      // GNU time's child is the tool: kill the group's tool by its own pid where bare, else time's.
      child.kill('SIGKILL')
    }
    const timer = setTimeout(kill, capMs)
    void killOn?.then(() => setTimeout(kill, 3000)) // its bytes up to the cut written out
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stderr: err, killed })
    })
  })
}

const SKIP = /(^|\/)\.imgpull(\/|$)|^manifest\.jsonl$|^report\.html$|\.aria2$/

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const piece of createReadStream(path, { highWaterMark: 4 << 20 })) hash.update(piece as Buffer)
  return hash.digest('hex')
}

/** What imgpull's manifest and journal say of the file: its bytes and sha256, as recorded. */
async function imgpullRecords(dir: string) {
  const said: string[] = []
  const manifest = await readFile(join(dir, 'manifest.jsonl'), 'utf8').catch(() => '')
  for (const line of manifest.split('\n').filter(Boolean)) {
    const row = JSON.parse(line) as { bytes?: number; sha256?: string; status?: string }
    if (row.status === 'ok' || row.bytes) said.push(`manifest ${row.bytes} ${row.sha256?.slice(0, 12)}`)
  }
  try {
    const db = new Database(join(dir, '.imgpull', 'journal.db'), { readonly: true })
    try {
      for (const row of db.prepare("SELECT * FROM jobs WHERE state = 'ok'").all() as Record<
        string,
        unknown
      >[])
        said.push(`journal ${row.bytes} ${String(row.sha256 ?? '').slice(0, 12)}`)
    } finally {
      db.close()
    }
  } catch {
    // no journal: the run kept none
  }
  return said
}

/** The first image entry of a shard's tar: its name, size (as its header says) and sha256. */
async function sampleOf(path: string) {
  const scan = await stat(path).then(
    () => new TarScan(path),
    () => undefined,
  )
  if (!scan) return undefined
  try {
    const header = Buffer.alloc(BLOCK)
    for (let at = 0; readSync(scan.fd, header, 0, BLOCK, at) === BLOCK; ) {
      const entry = readHeader(header)
      if (!entry) return undefined
      if (entry.name.endsWith('.tif')) {
        const found = scan.find(entry.name)
        return found && { name: entry.name, size: found.size, sha256: scan.sha256(found) }
      }
      at += BLOCK + paddedSize(entry.size)
    }
    return undefined
  } finally {
    closeSync(scan.fd)
  }
}

async function runCase(c: LargeCase, tool: Tool, capMs: number) {
  const flags = c.flags?.[tool.id]
  if (flags === null) return { cell: '·', log: `${tool.id}: no such flag` }
  // curl's `--max-time 30` of bench/misbehave.ts is shorter than a 4 GiB body takes here: 600 s, as
  // imgpull's --total-timeout.
  const extra = [
    ...(flags ?? (tool.id === 'imgpull' ? ['--max-size', '8GiB'] : [])),
    ...(tool.id === 'curl' ? ['--max-time', '600'] : []),
  ]
  if (c.webdataset) extra.push('--output-format', 'webdataset')
  const { server, asked, cut } = await serve(c)
  const dir = await mkdtemp('/var/tmp/misbehave-large-')
  const rssFile = join(dir, '..', `${dir.split('/').at(-1)}.rss`)
  const file = `${c.id}.tif`
  let url = server.url(`/${file}`)
  const list = `${dir}.csv`
  if (c.webdataset) {
    await writeFile(list, `url\n${url}\n`)
    url = list
  }
  const resumeFlags = c.resume ? (tool.resume ?? []) : []
  const args = (more: string[]) => [...tool.args(url, dir, file), ...extra, ...more]
  const began = performance.now()
  try {
    let [cmd, ...rest] = args(resumeFlags)
    let r = await run(cmd!, rest, capMs, rssFile, c.resume === 'rerun' ? cut : undefined)
    let message = r.stderr
    if (c.resume === 'rerun') {
      ;[cmd, ...rest] = args(resumeFlags)
      const again = await run(cmd!, rest, capMs, rssFile)
      message = `${r.killed ? '[killed -9 at the cut] ' : ''}${r.stderr}\n[run again] ${again.stderr}`
      r = again
    }
    const seconds = (performance.now() - began) / 1000
    // GNU time's last line: a line before it says a non-zero exit status.
    const rss = Number((await readFile(rssFile, 'utf8').catch(() => '')).trim().split('\n').at(-1))
    const files: { name: string; size: number }[] = []
    for (const name of await readdir(dir, { recursive: true })) {
      if (SKIP.test(String(name))) continue
      const s = await stat(join(dir, String(name))).catch(() => undefined)
      if (s?.isFile() && s.size > 0) files.push({ name: String(name), size: s.size })
    }
    let right = false
    for (const f of files)
      if (c.servable && f.size === c.body.size && (await hashFile(join(dir, f.name))) === c.body.sha256())
        right = true
    const shard = c.webdataset ? await sampleOf(join(dir, '00000.tar')) : undefined
    if (shard && shard.size === c.body.size && shard.sha256 === c.body.sha256()) right = true
    const verdict = right
      ? 'got'
      : files.length > 0
        ? r.code === 0
          ? 'WRONG'
          : 'part'
        : c.servable
          ? 'refused'
          : 'none'
    const records = tool.id === 'imgpull' ? await imgpullRecords(dir) : []
    if (shard) records.push(`tar ${shard.name} ${shard.size} ${shard.sha256.slice(0, 12)}`)
    const stats = await readFile(join(dir, '00000_stats.json'), 'utf8').catch(() => undefined)
    if (stats) records.push(`stats bytes ${(JSON.parse(stats) as { bytes?: number }).bytes}`)
    const memory = Number.isFinite(rss) && rss > 0 ? ` ${Math.round(rss / 1024)}MB` : ''
    return {
      cell: `${verdict}${memory} ${r.code === null ? '≥' : ''}${seconds.toFixed(0)}s`,
      log: `${tool.id}=${verdict}(${r.code}) [asked ${asked.join('; ')}] [kept ${files.map((f) => `${f.name} ${f.size}`).join(', ') || 'nothing'}]${records.length ? ` [${records.join('; ')}]` : ''} ${message
        .replaceAll(dir, '')
        .split('\n')
        .filter((l) => l.trim() && !/img\/s|Details:/.test(l))
        .join(' | ')
        .slice(-700)}`,
    }
  } finally {
    await server.close()
    await rm(dir, { recursive: true, force: true })
    await rm(rssFile, { force: true })
    await rm(list, { force: true })
  }
}

async function main() {
  const { argv, only, toolIds } = benchArgs()
  const capAt = argv.indexOf('--cap')
  const capMs = (capAt >= 0 ? Number(argv[capAt + 1]) : 300) * 1000
  const chosen = cases().filter((c) => !only || only.includes(c.id))
  const { tools, rows } = toolTable(TOOLS, toolIds)
  for (const c of chosen) {
    console.error(
      `${c.id}: ${c.body.size} bytes${c.servable ? `, sha256 ${c.body.sha256().slice(0, 12)}` : ''}`,
    )
    const cells: string[] = []
    for (const t of tools) {
      const { cell, log } = await runCase(c, t, capMs)
      cells.push(cell)
      console.error(`   ${log}`)
    }
    rows.push(`| ${c.id} | ${cells.join(' | ')} |`)
  }
  printTable(rows, chosen)
}

await main()
