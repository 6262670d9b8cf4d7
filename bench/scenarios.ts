import { readFileSync, statfsSync } from 'node:fs'
import { join } from 'node:path'
import type { ImageServer, ImageServerOptions } from '../test/support/image-server.js'
import { sizeOf } from '../test/support/images.js'
import { makeJpegs } from './jpegs.js'
import { makeTable } from './make-table.js'
import { aria2c, articleScript, curl, imgpull, ROOT, type Tool, wget2 } from './tools.js'
import { type Expected, expectedFromTable, sha256, verifyDir } from './verify.js'

/** One image of a scenario's list. */
export interface Item {
  /** File name it maps to (the URL's last path segment, without query). */
  name: string
  /** Path and query on the image server. */
  path: string
  /** Can a client get the real bytes (false for 404s and HTML pages)? */
  retrievable: boolean
}

export interface Bound {
  /** Seconds, when the scenario has a physical lower bound. */
  seconds?: number
  /** How it was found. */
  text: string
}

export interface Scenario {
  id: string
  title: string
  server: ImageServerOptions
  count: number
  items(): Iterable<Item>
  tools(): Tool[]
  /** Seconds a tool gets per run before it is killed. */
  cap: number
  /** The fastest any client could be here; `measureWire` runs curl into /dev/null. */
  bound(server: ImageServer, measureWire: () => Promise<number | undefined>): Promise<Bound>
  expected(server: ImageServer): Expected
  /** The fault an item has (`503`, `reset`, `html`...), for the corrupt/missing breakdown. */
  faultOf?(name: string): string | undefined
  /** Report time to first request and sustained images/s (million). */
  throughput?: boolean
  /** Arguments imgpull always gets here (e.g. --max-size). */
  note?: string
  /** Make what the server needs before it starts (the resize scenario's JPEGs). */
  prepare?(): Promise<void>
  /** Write the scenario's own input (a table) in `work`, given to the tools in place of a URL list. */
  input?(server: ImageServer, work: string): Promise<string>
  /**
   * Serve over TLS, with a certificate of a test CA made in the work folder that each tool is
   * told to trust (`Tool.trust`); `http2`: HTTP/2 offered by ALPN, HTTP/1.1 beside it.
   */
  tls?: { http2: boolean }
  /** A round trip added by a relay in front of the server (bench/relay.ts), ms: a far server. */
  rtt?: number
}

export interface Config {
  quick: boolean
  /** URLs in the million scenario. */
  million: number
  /** Rows of the million-table scenario's Parquet input. */
  tableRows: number
}

const MB = 1e6

/** Whether /dev/shm (tmpfs) exists with at least `bytes` free. */
function hasShm(bytes: number): boolean {
  try {
    const fs = statfsSync('/dev/shm')
    return fs.bavail * fs.bsize >= bytes
  } catch {
    return false
  }
}

/** A row that writes to /dev/shm, when there is room for it (none otherwise). */
function shm(tool: Tool): Tool[] {
  return hasShm(2e9) ? [{ ...tool, outRoot: '/dev/shm' }] : []
}
const fmtMB = (n: number) => `${(n / MB).toFixed(1)} MB`

function tableExpected(server: ImageServer, items: Iterable<Item>): Expected {
  const table = new Map<string, { sha: string; retrievable: boolean }>()
  for (const item of items) {
    table.set(item.name, { sha: sha256(server.bytes(item.path)), retrievable: item.retrievable })
  }
  return expectedFromTable(table)
}

/** The photo names of the article (examples/article.txt). */
function articleNames(): string[] {
  return readFileSync(join(ROOT, 'examples', 'article.txt'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('http'))
    .map((l) => new URL(l.trim()).pathname.slice(1))
}

const pad = (i: number, width: number) => String(i).padStart(width, '0')

/** Seeded shuffle, so a scenario's faults land on the same items every time. */
function shuffle<T>(list: T[], seed: number): T[] {
  let s = seed
  const random = () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff
    return s / 0x7fffffff
  }
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[list[i], list[j]] = [list[j], list[i]]
  }
  return list
}

function defaultPeers(): Tool[] {
  return [
    articleScript('sequential'),
    articleScript('threadpool'),
    aria2c(),
    curl({ max: 50 }),
    curl({ max: 50, immediate: true }),
    wget2(),
  ]
}

function article(c: Config): Scenario {
  const ttfb = 125
  const jitter = 50
  const bandwidth = 6 * MB
  const names = articleNames()
  const items = () => names.map((name) => ({ name, path: `/${name}`, retrievable: true }))
  return {
    id: 'article',
    title: `the article's 15 photos, 1–8 MB, TTFB ${ttfb}–${ttfb + jitter} ms, ${bandwidth / MB} MB/s per connection`,
    server: { ttfb, jitter, bandwidth, sizes: [1 * MB, 8 * MB] },
    count: names.length,
    items,
    tools: () => [imgpull({ reference: true }), ...defaultPeers()],
    cap: c.quick ? 60 : 90,
    bound: async (server) => {
      let worst = { name: '', size: 0, seconds: 0 }
      for (const item of items()) {
        const size = server.bytes(item.path).length
        const seconds = ttfb / 1000 + size / bandwidth
        if (seconds > worst.seconds) worst = { name: item.name, size, seconds }
      }
      return {
        seconds: worst.seconds,
        text: `slowest file (${worst.name}, ${fmtMB(worst.size)}): ${ttfb} ms to first byte + ${(worst.size / bandwidth).toFixed(2)} s at ${bandwidth / MB} MB/s`,
      }
    },
    expected: (server) => tableExpected(server, items()),
  }
}

function manySmall(c: Config): Scenario {
  const count = c.quick ? 1_000 : 5_000
  const ttfb = 40
  const jitter = 20
  const items = function* () {
    for (let i = 1; i <= count; i++)
      yield { name: `s${pad(i, 5)}`, path: `/s${pad(i, 5)}`, retrievable: true }
  }
  return {
    id: 'many-small',
    title: `${count.toLocaleString('en')} images of 20–200 KB, TTFB ${ttfb}–${ttfb + jitter} ms, no bandwidth cap`,
    server: { ttfb, jitter, sizes: [20_000, 200_000] },
    count,
    items,
    tools: () => [
      imgpull({ reference: true }),
      imgpull({
        args: ['-c', '50', '--per-host', '50'],
        label: 'imgpull -c 50 --per-host 50',
        id: 'imgpull-50',
      }),
      // What the file system costs: the same run, writing to memory.
      ...shm(imgpull({ label: 'imgpull, output in /dev/shm', id: 'imgpull-shm' })),
      // The same images as WebDataset shards (one tar, its Parquet and stats): target within 1.1x.
      imgpull({
        args: ['--output-format', 'webdataset'],
        label: 'imgpull --output-format webdataset',
        id: 'imgpull-webdataset',
      }),
      // Transfers on worker threads: the default (`auto`) starts one a core beyond the first after
      // 200 transfers; 0 keeps every transfer on the main thread, 2 shows threads past the cores.
      imgpull({ args: ['--threads', '0'], label: 'imgpull --threads 0', id: 'imgpull-threads0' }),
      imgpull({ args: ['--threads', '1'], label: 'imgpull --threads 1', id: 'imgpull-threads1' }),
      imgpull({ args: ['--threads', '2'], label: 'imgpull --threads 2', id: 'imgpull-threads2' }),
      articleScript('sequential'),
      articleScript('threadpool'),
      aria2c(),
      aria2c(50),
      curl({ max: 50 }),
      curl({ max: 50, immediate: true }),
      // At imgpull's own default concurrency (128), for the comparison at equal concurrency.
      curl({ max: 128, immediate: true }),
      wget2(),
      wget2(50),
    ],
    cap: c.quick ? 30 : 150,
    bound: () => ttfbBound(count, ttfb),
    expected: (server) => tableExpected(server, items()),
  }
}

/** `count` files' time to first byte alone, over the transfers imgpull keeps in flight. */
async function ttfbBound(count: number, ttfb: number): Promise<Bound> {
  // imgpull's global limit, whatever the defaults are today.
  const { defaults } = await import('../src/options.js')
  const most = defaults.concurrency
  const at = (n: number) => (Math.ceil(count / n) * ttfb) / 1000
  const shown = [16, 50, most].map((n) => `${n} → ${at(n).toFixed(2)} s`).join(', ')
  return {
    seconds: at(most),
    text: `time to first byte alone, ${count} × ${ttfb} ms over the transfers in flight: ${shown} (the ratio: at ${most}, imgpull's default --concurrency)`,
  }
}

/**
 * many-small over TLS from a server that offers HTTP/2 (100 streams a connection, as most CDNs
 * announce) and HTTP/1.1: what users fetching from CDNs see. Each tool at its own protocol choice
 * (all but aria2c take HTTP/2), and imgpull and curl on HTTP/1.1 beside it.
 */
function https(c: Config, count = c.quick ? 1_000 : 5_000): Scenario {
  const ttfb = 40
  const jitter = 20
  const items = function* () {
    for (let i = 1; i <= count; i++)
      yield { name: `t${pad(i, 5)}`, path: `/t${pad(i, 5)}`, retrievable: true }
  }
  return {
    id: 'https',
    title: `${count.toLocaleString('en')} images of 20–200 KB over HTTPS, HTTP/2 offered (100 streams a connection) beside HTTP/1.1, TTFB ${ttfb}–${ttfb + jitter} ms, no bandwidth cap`,
    server: { ttfb, jitter, sizes: [20_000, 200_000] },
    tls: { http2: true },
    count,
    items,
    tools: () => [
      imgpull({ reference: true }),
      imgpull({ args: ['--no-http2'], label: 'imgpull --no-http2', id: 'imgpull-no-http2' }),
      curl({ max: 128, immediate: true }),
      curl({ max: 128, immediate: true, http1: true }),
      curl({ max: 50 }),
      wget2(),
      // aria2c speaks no HTTP/2; at its default -j 5 it would measure its -j (see many-small).
      aria2c(50),
    ],
    cap: c.quick ? 30 : 150,
    bound: () => ttfbBound(count, ttfb),
    expected: (server) => tableExpected(server, items()),
  }
}

/**
 * https from a far server: the same images through a relay adding a 50 ms round trip, as a CDN's
 * edge some way off. What HTTP/2's flow-control windows and HTTP/1.1's connection count are worth
 * once bytes take time to come back; on loopback they cost nothing.
 */
function httpsFar(c: Config): Scenario {
  const count = c.quick ? 500 : 2_000
  // https's server: ttfb and jitter as there.
  const ttfb = 40
  const jitter = 20
  const rtt = 50
  return {
    ...https(c, count),
    id: 'https-far',
    title: `${count.toLocaleString('en')} images of 20–200 KB over HTTPS (HTTP/2 offered) from a server ${rtt} ms away (a relay), TTFB ${ttfb}–${ttfb + jitter} ms`,
    rtt,
    tools: () => [
      imgpull({ reference: true }),
      imgpull({ args: ['--no-http2'], label: 'imgpull --no-http2', id: 'imgpull-no-http2' }),
      curl({ max: 128, immediate: true }),
      curl({ max: 128, immediate: true, http1: true }),
      wget2(),
    ],
    cap: c.quick ? 60 : 150,
    // Each request takes a round trip besides its time to first byte.
    bound: () => ttfbBound(count, ttfb + rtt),
  }
}

/** The resize scenario's arguments: dataset users' training size. */
const RESIZE = ['--resize', 'keep-ratio', '--size', '256', '--encode', 'jpg']

/**
 * many-small with real JPEGs (bench/jpegs.ts, 320–1280 px a side, 20–200 KB), fetched as they are
 * and resized on the transform pool, beside sharp alone on the same bodies in this process: what
 * the pool costs over sharp's own work, and whether the network and the CPU work overlap.
 */
function resize(c: Config): Scenario {
  const count = c.quick ? 200 : 1_000
  const ttfb = 40
  const jitter = 20
  let bodies: Buffer[] = []
  const index = (name: string) => (/^z\d{5}$/.test(name) ? Number(name.slice(1)) - 1 : -1)
  const items = function* () {
    for (let i = 1; i <= count; i++)
      yield { name: `z${pad(i, 5)}`, path: `/z${pad(i, 5)}`, retrievable: true }
  }
  return {
    id: 'resize',
    title: `${count.toLocaleString('en')} real JPEGs of 20–200 KB (320–1280 px), TTFB ${ttfb}–${ttfb + jitter} ms: as they are, and resized on the pool (${RESIZE.join(' ')})`,
    server: { ttfb, jitter, body: (name) => bodies[index(name)] },
    prepare: async () => {
      const paths = await makeJpegs(count, undefined, (line) => process.stderr.write(`${line}\n`))
      bodies = paths.map((path) => readFileSync(path))
    },
    count,
    items,
    // The resized run is the reference (the bound is its); the plain run shows what resizing adds.
    tools: () => [
      {
        ...imgpull({
          args: RESIZE,
          label: `imgpull ${RESIZE.join(' ')}`,
          id: 'imgpull-resize',
          reference: true,
        }),
        verify: async (dir, expected, detail) => verifyResized(dir, expected, detail),
      },
      imgpull({ label: 'imgpull (no resize)' }),
    ],
    cap: c.quick ? 60 : 150,
    bound: async () => {
      const { availableParallelism } = await import('node:os')
      const cores = availableParallelism()
      const perImage = await sharpAlone(bodies)
      const cpu = (count * perImage) / 1000 / cores
      const wire = (Math.ceil(count / 128) * ttfb) / 1000
      return {
        seconds: Math.max(cpu, wire),
        text: `the larger of: sharp alone, ${perImage.toFixed(2)} ms of CPU per image (in this process, one image at a time, bodies in memory) × ${count} over ${cores} cores = ${cpu.toFixed(2)} s; time to first byte alone at 128 in flight, ${wire.toFixed(2)} s. Targets: the resize row's CPU ms/img minus imgpull's within 1.2x of sharp's, its wall within 1.2x of the larger of imgpull's wall and ${cpu.toFixed(2)} s`,
      }
    },
    expected: (server) => tableExpected(server, items()),
  }
}

/** CPU ms per image of sharp alone on `bodies` (keep-ratio 256, JPEG out), as a worker runs it. */
async function sharpAlone(bodies: Buffer[]): Promise<number> {
  const { default: sharp } = await import('sharp')
  const concurrency = sharp.concurrency()
  // As in a pool worker: one libvips thread, no operation cache (the bench uses sharp for nothing else).
  sharp.concurrency(1)
  sharp.cache(false)
  try {
    const start = process.cpuUsage()
    for (const body of bodies) {
      await sharp(body, { autoOrient: true }).resize(256, 256, { fit: 'outside' }).jpeg().toBuffer()
    }
    const used = process.cpuUsage(start)
    return (used.user + used.system) / 1000 / bodies.length
  } finally {
    sharp.concurrency(concurrency)
  }
}

/**
 * A resized folder: each item's file is a JPEG whose sha256 is the manifest's, its shortest side
 * 256 (all inputs are larger) and marked transformed; anything else is corrupt or stray as usual.
 */
function verifyResized(dir: string, expected: Expected, detail: boolean) {
  const made = new Map<string, string>()
  for (const line of readFileSync(join(dir, 'manifest.jsonl'), 'utf8').split('\n')) {
    if (!line) continue
    const m = JSON.parse(line)
    const name = new URL(m.url).pathname.split('/').at(-1)!
    if (m.status === 'ok' && m.transformed && Math.min(m.width, m.height) === 256) made.set(name, m.sha256)
  }
  const resized: Expected = {
    ...expected,
    matches: (name, bytes) => bytes[0] === 0xff && bytes[1] === 0xd8 && made.get(name) === sha256(bytes),
  }
  return verifyDir(dir, resized, imgpull().ignore, detail)
}

function large(c: Config): Scenario {
  const count = c.quick ? 2 : 4
  const sizes: [number, number] = c.quick ? [60 * MB, 70 * MB] : [190 * MB, 210 * MB]
  const items = function* () {
    for (let i = 1; i <= count; i++) yield { name: `large${i}`, path: `/large${i}`, retrievable: true }
  }
  const big = ['--max-size', '1GiB']
  return {
    id: 'large',
    title: `${count} files of ${sizes[0] / MB}–${sizes[1] / MB} MB, no latency, no bandwidth cap`,
    server: { sizes },
    count,
    items,
    tools: () => [
      imgpull({ args: big, reference: true }),
      imgpull({ args: ['--hash', 'none', ...big], label: 'imgpull --hash none', id: 'imgpull-nohash' }),
      ...defaultPeers(),
    ],
    cap: c.quick ? 60 : 180,
    bound: async (_server, measureWire) => {
      const wire = await measureWire()
      return wire === undefined
        ? { text: 'no bound: curl is needed to measure the wire' }
        : {
            seconds: wire,
            text: `the wire: curl -Z fetching all ${count} files at once into /dev/null (no disk, no hash), ${wire.toFixed(2)} s`,
          }
    },
    expected: (server) => tableExpected(server, items()),
  }
}

/** Faults as query strings (see test/support/image-server.ts), with how many of each per 1,000. */
const FAULTS: { per1000: number; query: (size: number) => string; retrievable: boolean }[] = [
  { per1000: 40, query: () => 'status=503&times=1', retrievable: true },
  { per1000: 20, query: () => 'status=500&times=2', retrievable: true },
  { per1000: 20, query: () => 'status=429&times=1&ra=1', retrievable: true },
  { per1000: 40, query: (size) => `reset=${Math.floor(size / 2)}&times=1`, retrievable: true },
  { per1000: 40, query: (size) => `short=${Math.floor(size / 3)}&times=1`, retrievable: true },
  { per1000: 5, query: () => 'stall=8192&times=1', retrievable: true },
  { per1000: 40, query: () => 'status=404', retrievable: false },
  { per1000: 45, query: () => 'html=1', retrievable: false },
]

function faults(c: Config): Scenario {
  const count = c.quick ? 200 : 1_000
  const ttfb = 20
  const jitter = 20
  const sizes: [number, number] = [20_000, 200_000]
  // Which fault each item gets: fixed by a seeded shuffle.
  const plan: (number | undefined)[] = []
  FAULTS.forEach((f, kind) => {
    const n = Math.max(c.quick ? 2 : 1, Math.round((f.per1000 * count) / 1000))
    for (let i = 0; i < n; i++) plan.push(kind)
  })
  while (plan.length < count) plan.push(undefined)
  shuffle(plan, 42)
  const items = function* () {
    for (let i = 1; i <= count; i++) {
      const name = `f${pad(i, 4)}`
      const kind = plan[i - 1]
      if (kind === undefined) {
        yield { name, path: `/${name}`, retrievable: true }
        continue
      }
      const f = FAULTS[kind]
      yield {
        name,
        path: `/${name}?${f.query(sizeOf(name, sizes[0], sizes[1]))}`,
        retrievable: f.retrievable,
      }
    }
  }
  const faulty = plan.filter((k) => k !== undefined).length
  const stalls = plan.filter((k) => k !== undefined && FAULTS[k].query(0).startsWith('stall')).length
  return {
    id: 'faults',
    title: `${count.toLocaleString('en')} images, ${faulty} faulty (5xx then ok, 429 + Retry-After: 1, resets, truncations, ${stalls} stalls, 404s, HTML pages), TTFB ${ttfb}–${ttfb + jitter} ms`,
    server: { ttfb, jitter, sizes },
    count,
    items,
    tools: () => [imgpull({ reference: true }), ...defaultPeers()],
    cap: c.quick ? 35 : 75,
    bound: async () => ({
      seconds: 15 + (2 * ttfb) / 1000,
      text: 'a stalled file waits out a 15 s idle timeout (imgpull default; the peers get 15 s too), then one retry',
    }),
    expected: (server) => tableExpected(server, items()),
    faultOf: (name) => {
      const kind = plan[Number(name.slice(1)) - 1]
      if (kind === undefined) return undefined
      const q = new URLSearchParams(FAULTS[kind].query(0))
      const times = Number(q.get('times') ?? 0)
      if (!q.has('status')) return [...q.keys()][0]
      return times ? `${q.get('status')}${times > 1 ? ` ×${times}` : ''} then ok` : q.get('status')!
    },
  }
}

/**
 * A host that rate-limits: 429 with `Retry-After: 1` to anything beyond 6 requests in flight.
 * The ideal is 6 at once the whole time: count × ttfb / 6.
 */
function rateLimited(c: Config): Scenario {
  const count = c.quick ? 300 : 1000
  const ttfb = 50
  const limit = 6
  const items = function* () {
    for (let i = 1; i <= count; i++)
      yield { name: `r${pad(i, 4)}`, path: `/r${pad(i, 4)}`, retrievable: true }
  }
  return {
    id: 'rate-limited',
    title: `${count.toLocaleString('en')} images from a host that answers 429 (Retry-After: 1) beyond ${limit} requests in flight, TTFB ${ttfb} ms`,
    server: { ttfb, limit, sizes: [5_000, 30_000] },
    count,
    items,
    tools: () => [imgpull({ reference: true }), ...defaultPeers().filter((t) => !t.id.startsWith('article'))],
    cap: c.quick ? 60 : 120,
    bound: async () => ({
      seconds: (count * ttfb) / 1000 / limit,
      text: `${limit} requests in flight the whole time, none refused: ${count} × ${ttfb} ms / ${limit}`,
    }),
    expected: (server) => tableExpected(server, items()),
  }
}

function million(c: Config): Scenario {
  const count = c.million
  const width = String(count).length
  const name = (i: number) => `m${pad(i, width)}`
  const items = function* () {
    for (let i = 1; i <= count; i++) yield { name: name(i), path: `/${name(i)}`, retrievable: true }
  }
  const pattern = new RegExp(`^m\\d{${width}}$`)
  return {
    id: 'million',
    title: `${count.toLocaleString('en')} URLs, bodies of 100–400 bytes, no latency`,
    server: { sizes: [100, 400] },
    count,
    items,
    // Output in memory when there is room: these rows measure the engine, not the disk. The
    // transfer-thread rows show how the engine's ceiling (one core) scales with threads; curl, at
    // imgpull's concurrency, is the native client's rate on the same list.
    tools: () =>
      [
        imgpull({ reference: true }),
        imgpull({ args: ['--threads', '0'], label: 'imgpull --threads 0', id: 'imgpull-threads0' }),
        imgpull({ args: ['--threads', '1'], label: 'imgpull --threads 1', id: 'imgpull-threads1' }),
        imgpull({ args: ['--threads', '2'], label: 'imgpull --threads 2', id: 'imgpull-threads2' }),
        curl({ max: 128, immediate: true }),
      ].map((tool) => ({ ...tool, ...(hasShm(1e9) ? { outRoot: '/dev/shm' } : {}) })),
    cap: c.quick ? 120 : 1_200,
    throughput: true,
    bound: async () => ({
      text: 'no physical bound: targets are 10,000 images/s or more, peak RSS under 150 MB, first request under 1 s',
    }),
    expected: (server) => ({
      total: count,
      retrievable: count,
      has: (n) => pattern.test(n) && Number(n.slice(1)) >= 1 && Number(n.slice(1)) <= count,
      matches: (n, bytes) => bytes.equals(server.bytes(`/${n}`)),
    }),
  }
}

/**
 * A dataset job: a Parquet table of `tableRows` rows as an ML team's would be (url, caption, license,
 * id, sha256: bench/make-table.ts), pulled into WebDataset shards of 10,000. Tiny bodies, no
 * latency: what is measured is the table source, the engine and the shard writer.
 */
function millionTable(c: Config): Scenario {
  const count = c.tableRows
  const items = function* () {
    for (let i = 0; i < count; i++) yield { name: `q${i}`, path: `/q${i}.jpg`, retrievable: true }
  }
  return {
    id: 'million-table',
    title: `a Parquet table of ${count.toLocaleString('en')} rows into WebDataset shards, bodies of 100–400 bytes, no latency (imgpull only)`,
    server: { sizes: [100, 400] },
    count,
    items,
    input: async (server, work) => {
      const file = join(work, 'million-table.parquet')
      await makeTable(file, count, { base: `${server.origin}/q` })
      return file
    },
    tools: () => [
      imgpull({
        args: ['--output-format', 'webdataset', '--caption-col', 'caption'],
        label: 'imgpull TABLE.parquet --output-format webdataset',
        id: 'imgpull-table',
        reference: true,
      }),
    ],
    cap: c.quick ? 120 : 1_200,
    throughput: true,
    bound: async () => ({
      text: 'no physical bound: targets are first request < 1 s and peak RSS < 200 MB, as for a URL list',
    }),
    expected: (server) => ({
      total: count,
      retrievable: count,
      has: (n) => /^q\d+$/.test(n) && Number(n.slice(1)) < count,
      matches: (n, bytes) => bytes.equals(server.bytes(`/${n}.jpg`)),
    }),
  }
}

export const SCENARIOS = [
  'article',
  'many-small',
  'https',
  'https-far',
  'resize',
  'large',
  'faults',
  'rate-limited',
  'million',
  'million-table',
] as const

export function scenario(id: string, c: Config): Scenario {
  switch (id) {
    case 'article':
      return article(c)
    case 'many-small':
      return manySmall(c)
    case 'https':
      return https(c)
    case 'https-far':
      return httpsFar(c)
    case 'resize':
      return resize(c)
    case 'large':
      return large(c)
    case 'faults':
      return faults(c)
    case 'million':
      return million(c)
    case 'rate-limited':
      return rateLimited(c)
    case 'million-table':
      return millionTable(c)
    default:
      throw new Error(`unknown scenario ${id}; choose from ${SCENARIOS.join(', ')}`)
  }
}
