import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startImageServer } from '../test/support/image-server.js'
import { startSharedLink } from '../test/support/shared-link.js'
import { benchArgs, digest, type ListTool, printTable, runList } from './misbehave.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const KB = 1000
const MB = 1000 * KB

interface LinkCase {
  id: string
  /** The report this link is modelled on. */
  report: string
  files: number
  /** Bytes of each file. */
  size: number
  /** Bytes a second at ms since the link began. */
  rate: (ms: number) => number
  rtt?: number
  /** Seconds before the tool is stopped. */
  cap: number
}

const CASES: LinkCase[] = [
  {
    id: 'many-small',
    report:
      'ipsingh06/seedsync#80 (many parallel transfers on one link each get a sliver and stall: fewer fixed it) and mikf/gallery-dl#2368 (files on a slow host cut by the 30 s read timeout, again and again): 200 images of 200 KB through 1 MB/s shared, 40 s of link',
    files: 200,
    size: 200 * KB,
    rate: () => 1 * MB,
    cap: 90,
  },
  {
    id: 'hotel-photos',
    report:
      'mikf/gallery-dl#7377 (large files on a slow link cut by the read timeout, a longer one fixed it) and mikf/gallery-dl#4203 (slow downloads with pauses): 20 photos of 5 MB through 1 MB/s shared (hotel Wi-Fi), 100 s of link',
    files: 20,
    size: 5 * MB,
    rate: () => 1 * MB,
    cap: 180,
  },
  {
    id: 'wifi-lost-20s',
    report:
      'MZCretin/AutoUpdateProject#59 (Wi-Fi off and on again: the download starts over from 0) and namidaco/namida#859 (Wi-Fi lost and found: the download does not go on, it fails): 100 images of 200 KB through 1 MB/s, the link at 0 from 5 s to 25 s, 20 s of link',
    files: 100,
    size: 200 * KB,
    rate: (ms) => (ms >= 5000 && ms < 25_000 ? 0 : 1 * MB),
    cap: 90,
  },
  {
    id: 'link-falls',
    report:
      'Jules-WinnfieldX/CyberDropDownloader#143 (2-3 MB/s, then 50 KB/s after a few seconds) and tonikelope/megabasterd#172 (5 Mbps, then 50-200 kbps near the end): 30 images of 200 KB, 2 MB/s for 2 s, then 50 KB/s, 42 s of link',
    files: 30,
    size: 200 * KB,
    rate: (ms) => (ms < 2000 ? 2 * MB : 50 * KB),
    cap: 90,
  },
  {
    id: 'satellite',
    report:
      'ziahamza/webui-aria2#30 (timeouts too sensitive past 300 ms of latency) and Romanysoft/SpeedTest#15 (a satellite link of 700 ms: the download stops): 60 images of 200 KB through 500 KB/s with a 600 ms round trip, 24 s of link',
    files: 60,
    size: 200 * KB,
    rate: () => 500 * KB,
    rtt: 600,
    cap: 90,
  },
]

const TOOLS: ListTool[] = [
  {
    id: 'imgpull',
    args: (file, _urls, dir) => [
      process.execPath,
      join(ROOT, 'dist/imgpull.js'),
      file,
      '-o',
      dir,
      '--no-report',
    ],
  },
  {
    id: 'curl',
    args: (_file, urls, dir) => [
      'curl',
      '-sS',
      '--fail',
      '-Z',
      '--parallel-max',
      '50',
      '--output-dir',
      dir,
      '--remote-name-all',
      ...urls,
    ],
  },
  { id: 'aria2c', args: (file, _urls, dir) => ['aria2c', '-q', '-i', file, '-j', '16', '-d', dir] },
  { id: 'wget2', args: (file, _urls, dir) => ['wget2', '--no-config', '-q', '-i', file, '-P', dir] },
]

const mb = (n: number) => (n / MB).toFixed(1)

/** One tool through a link of its own: its cell and its message. */
async function run(c: LinkCase, tool: ListTool, extra: string[]) {
  const server = await startImageServer({ record: false, sizes: [c.size, c.size] })
  const paths = Array.from({ length: c.files }, (_, i) => `/p${i}.jpg`)
  const good = new Set(paths.map((p) => digest(server.bytes(p)))) // made before the link starts
  const link = await startSharedLink(Number(new URL(server.origin).port), { rate: c.rate, rtt: c.rtt })
  const urls = paths.map((p) => `${link.origin}${p}`)
  const { right, wrong, seconds, code, message } = await runList(
    `link-${tool.id}`,
    (file, dir) => [...tool.args(file, urls, dir), ...extra],
    urls,
    c.cap * 1000,
    (_name, bytes) => good.has(digest(bytes)),
  )
  const files = c.files * c.size
  const over = ((link.stats.down - files) / files) * 100
  await link.close()
  await server.close()
  const missing = c.files - right - wrong
  const verdict = `${right}/${c.files}${wrong ? `, ${wrong} WRONG` : ''}${missing ? `, ${missing} missing` : ''}`
  return {
    cell: `${verdict} ${code === null ? '≥' : ''}${seconds.toFixed(1)}s ${mb(link.stats.down)}/${mb(files)} MB (${over >= 0 ? '+' : ''}${over.toFixed(1)}%) ${server.stats.requests}r`,
    message: `exit ${code}: ${message}`,
  }
}

async function main() {
  const { argv, only, toolIds } = benchArgs()
  const extraAt = argv.indexOf('--extra')
  const extra = extraAt >= 0 ? argv[extraAt + 1]!.split(' ').filter(Boolean) : []
  const chosen = CASES.filter((c) => !only || only.includes(c.id))
  const tools = TOOLS.filter((t) => !toolIds || toolIds.includes(t.id))
  const rows = [
    `| case | ${tools.map((t) => t.id).join(' | ')} |`,
    `|---|${tools.map(() => '---').join('|')}|`,
  ]
  for (const c of chosen) {
    // All four at once, each through a link and to a server of its own.
    const results = await Promise.all(tools.map((t) => run(c, t, t.id === 'imgpull' ? extra : [])))
    rows.push(`| ${c.id} | ${results.map((r) => r.cell).join(' | ')} |`)
    console.error(`${c.id}:\n   ${results.map((r, i) => `${tools[i]!.id}: ${r.message}`).join('\n   ')}`)
  }
  printTable(rows, chosen)
}

await main()
