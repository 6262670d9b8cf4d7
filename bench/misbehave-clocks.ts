/**
 * Side by side on clocks that are wrong: each case is a list of small images on one host, served
 * from 127.0.0.1 by the tests' image server (test/support/image-server.ts), whose clock, dates or
 * this machine's clock go wrong the way a bug report of a downloader or HTTP client says (named
 * with each case): a `Retry-After` date on a server whose `Date` is an hour off or missing, in each
 * of RFC 9110's three date forms, past, a year ahead or malformed; a `Last-Modified` in the
 * future, at the epoch, before it, in 9999 or no date, with a first answer cut so that a resume
 * must prove the file unchanged; and this machine's clock stepped an hour back or forward in the
 * middle of a run (libfaketime, `apt-get install faketime`; every tool runs under it, the
 * monotonic clock left alone), while files wait out a 429. Each tool fetches the list with its
 * defaults but for a list and a folder (imgpull; curl `-Z --parallel-max 50 --retry 2`; wget2
 * `-i`; aria2c `-i -j 16`). Prints, per case and tool, the files right, WRONG (kept, not the
 * image) and missing, the requests the server read, the resumes it saw (`If-Range`), the first
 * file's mtime where the case is about `Last-Modified`, the wall seconds (`≥`: killed at the cap),
 * and each tool's first message; for imgpull, what its manifest and report say of times.
 *
 *   npm run build && node --import tsx bench/misbehave-clocks.ts [--only ID,ID] [--tools imgpull,curl] [--files 12] [--cap 40]
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { httpDateAs, startImageServer } from '../test/support/image-server.js'
import {
  benchArgs,
  cellText,
  errorLine,
  type ListTool,
  printTable,
  spawnCapped,
  toolTable,
} from './misbehave.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const arg = (flag: string, fallback: number) => {
  const at = process.argv.indexOf(flag)
  return at >= 0 ? Number(process.argv[at + 1]) : fallback
}
const FILES = arg('--files', 12)
const CAP_MS = arg('--cap', 40) * 1000
const FAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1'
const HOUR = 3_600_000
const YEAR = 365 * 24 * HOUR

interface ClockCase {
  id: string
  /** The report this case is modelled on. */
  report: string
  /** The query each file of the list carries (see image-server.ts). */
  query: string
  /** This machine's clock, stepped by `to` (libfaketime's `+1h`, `-1h`) once the server has read `after` requests. */
  step?: { after: number; to: string }
  /** Show the first file's mtime (a case about `Last-Modified`). */
  mtime?: boolean
  /** Kill a tool after this many ms. @default `--cap` */
  cap?: number
}

const enc = encodeURIComponent
/**
 * A 503 once (each peer retries a 503; wget2 and aria2c do not retry a 429), its `Retry-After` 2 s
 * after the server's `Date` in `form`.
 */
const raDate = (more: string, form = 'imf') => `status=503&times=1&ra=date:2&raform=${form}${more}`
/** The first answer cut at half its body (4 KB of 8), `Last-Modified: lm`: a resume must prove it unchanged. */
const cutWith = (lm: string) => `size=8000&short=4000&times=1&lmonly=1&lm=${enc(lm)}`

const CASES: ClockCase[] = [
  {
    id: 'ra-server-ahead',
    report:
      'xorbitsai/xllamacpp#155 (a Retry-After date read against the local clock, not the Date beside it; RFC 9110 §10.2.3): the server an hour ahead, Retry-After 2 s after its own Date',
    query: raDate('&skew=3600'),
  },
  {
    id: 'ra-server-behind',
    report:
      'wso2/carbon-apimgt#7059 (Retry-After as an HTTP-date, "timestamps require a clock synchronization"): the server an hour behind',
    query: raDate('&skew=-3600'),
  },
  {
    id: 'ra-no-date',
    report:
      'RFC 9110 §6.6.1 (an origin without a clock sends no Date): Retry-After a date 2 s ahead of this machine, no Date',
    query: raDate('&nodate=1'),
  },
  {
    id: 'ra-rfc850',
    report:
      'RFC 9110 §5.6.7 (a recipient parses all three forms): Retry-After in RFC 850 form (two-digit year), 2 s after Date',
    query: raDate('', 'rfc850'),
  },
  {
    id: 'ra-asctime',
    report: "RFC 9110 §5.6.7: Retry-After in asctime's form (no zone: GMT), 2 s after Date",
    query: raDate('', 'asctime'),
  },
  {
    id: 'ra-past',
    report: 'RFC 9110 §10.2.3: a Retry-After date 30 s before the Date beside it (a stale cached 429)',
    query: 'status=503&times=1&ra=date:-30',
  },
  {
    id: 'ra-year',
    report:
      'aria2/aria2#1478-style waits that never end: Retry-After a date a year after Date (a server that means "never")',
    query: `status=503&times=1&ra=date:${YEAR / 1000}`,
    // imgpull waits its --max-retry-after (60 s) for it.
    cap: 75_000,
  },
  {
    id: 'ra-malformed',
    report:
      'indieweb/chat.indieweb.org#23 (a date header no client can read): Retry-After "Mon, 32 Foo 2026 99:99:99 GMT"',
    query: `status=503&times=1&ra=${enc('Mon, 32 Foo 2026 99:99:99 GMT')}`,
  },
  {
    id: 'lm-2024',
    report:
      'the control: Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT, the first answer cut at half as in each lm- case',
    query: cutWith('Mon, 01 Jan 2024 00:00:00 GMT'),
    mtime: true,
  },
  {
    id: 'lm-future',
    report:
      'rockdaboot/wget2#124 (-N compares Last-Modified with the file mtime): Last-Modified a year ahead of Date, first answer cut at half',
    query: cutWith(httpDateAs(Date.now() + YEAR)),
    mtime: true,
  },
  {
    id: 'lm-epoch',
    report:
      'browscap/browscap#2274 (Last-Modified: Thu, 01 Jan 1970 00:00:00 GMT; files saved with a 1970 mtime)',
    query: cutWith('Thu, 01 Jan 1970 00:00:00 GMT'),
    mtime: true,
  },
  {
    id: 'lm-pre-epoch',
    report: 'curl -R on a date before 1970 (a negative time_t): Last-Modified: Wed, 31 Dec 1969 23:59:59 GMT',
    query: cutWith('Wed, 31 Dec 1969 23:59:59 GMT'),
    mtime: true,
  },
  {
    id: 'lm-9999',
    report: 'an absurd Last-Modified (year 9999, a "never expires" date written where a modified date goes)',
    query: cutWith('Fri, 31 Dec 9999 23:59:59 GMT'),
    mtime: true,
  },
  {
    id: 'lm-not-a-date',
    report:
      'indieweb/chat.indieweb.org#23 (wget: "Last-modified header invalid -- time-stamp ignored"): Last-Modified: 0',
    query: cutWith('0'),
    mtime: true,
  },
  {
    id: 'step-back',
    report:
      'Supervisor/supervisor#1043 (a clock set back mid-wait: a wait counted on the wall clock lasts as long again): every file 503 once (Retry-After: 1); the clock an hour back after the 4th request',
    query: 'status=503&times=1&ra=1',
    step: { after: 4, to: '-1h' },
  },
  {
    id: 'step-forward',
    report:
      'paramiko/paramiko#2045 (timeouts decided on the wall clock fire at once when it jumps): every file 503 once (Retry-After: 1); the clock an hour forward after the 4th request',
    query: 'status=503&times=1&ra=1',
    step: { after: 4, to: '+1h' },
  },
]

const TOOLS: ListTool[] = [
  {
    id: 'imgpull',
    args: (file, _urls, dir) => [process.execPath, join(ROOT, 'dist/imgpull.js'), file, '-o', dir],
  },
  {
    id: 'curl',
    args: (_file, urls, dir) => [
      'curl',
      '-sS',
      '-Z',
      '--parallel-max',
      '50',
      '--retry',
      '2',
      '--output-dir',
      dir,
      '--remote-name-all',
      ...urls,
    ],
  },
  { id: 'wget2', args: (file, _urls, dir) => ['wget2', '--no-config', '-P', dir, '-i', file] },
  { id: 'aria2c', args: (file, _urls, dir) => ['aria2c', '-j', '16', '-d', dir, '-i', file] },
]

/** Lines of progress and summaries, not what went wrong. */
const NOISE =
  /^(DL%|[-\d]+ +[-\d]+ +|\d+ (ok|files?)|\[|Download Results|gid|=+|-+|Status Legend|\(OK\)|Saving|HTTP response|Downloading|\d{2}\/\d{2} \d{2}:|\*|imgpull:.*\bok\b|.*(img\/s|ETA|Details:))/

const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex')

interface Outcome {
  right: number
  wrong: number
  missing: number
  requests: number
  resumes: number
  mtime: string
  seconds: number
  killed: boolean
  message: string
  /** imgpull only: what its manifest and report say of the run's times. */
  times: string
}

/** `ms` as the table shows an mtime: its date, or `now` within a day of this machine's. */
const shownTime = (ms: number) =>
  Math.abs(ms - Date.now()) < 86_400_000 ? 'now' : new Date(ms).toISOString().slice(0, 10)

/**
 * What imgpull's journal (what its manifest and report are made from) says of its times: its
 * files' times (`total`, ms), any negative, any file finished before the run began (the report
 * calls it `skipped`), a run that ends before it began.
 */
function imgpullTimes(out: string): string {
  const path = join(out, '.imgpull', 'journal.db')
  if (!existsSync(path)) return 'no journal'
  const db = new Database(path, { readonly: true })
  try {
    const run = db.prepare('SELECT started_at AS s, ended_at AS e FROM runs ORDER BY id DESC').get() as {
      s: number
      e: number
    }
    const jobs = db.prepare('SELECT total, finished_at AS f FROM jobs').all() as {
      total: number
      f: number
    }[]
    const totals = jobs.map((j) => j.total ?? 0)
    const words = [
      `run ${((run.e - run.s) / 1000).toFixed(1)} s`,
      `files ${Math.min(...totals)}..${Math.max(...totals)} ms`,
    ]
    const negative = totals.filter((t) => t < 0).length
    if (negative) words.push(`${negative} NEGATIVE`)
    const before = jobs.filter((j) => j.f < run.s).length
    if (before) words.push(`${before} finished before the run began`)
    return words.join(', ')
  } finally {
    db.close()
  }
}

async function runOne(c: ClockCase, tool: ListTool): Promise<Outcome> {
  const server = await startImageServer({ sizes: [3000, 6000] })
  const dir = await mkdtemp(join(tmpdir(), `clocks-${tool.id}-`))
  const out = join(dir, 'out')
  const stepFile = join(dir, 'faketime')
  const paths = Array.from({ length: FILES }, (_, n) => `/c${n}.jpg?${c.query}`)
  const urls = paths.map((p) => server.url(p))
  const list = join(dir, 'list.txt')
  await writeFile(list, `${urls.join('\n')}\n`)
  let env: Record<string, string> | undefined
  let poll: NodeJS.Timeout | undefined
  if (c.step) {
    await writeFile(stepFile, '+0\n')
    env = {
      LD_PRELOAD: FAKETIME,
      FAKETIME_TIMESTAMP_FILE: stepFile,
      FAKETIME_NO_CACHE: '1',
      DONT_FAKE_MONOTONIC: '1',
    }
    const { after, to } = c.step
    poll = setInterval(() => {
      if (server.stats.requests >= after) {
        clearInterval(poll)
        writeFile(stepFile, `${to}\n`).catch(() => {})
      }
    }, 20)
  }
  await mkdir(out) // curl's --output-dir must be there
  const [cmd, ...args] = tool.args(list, urls, out)
  const began = performance.now()
  // stdout to stderr: aria2c and wget2 say what went wrong on stdout.
  const run = await spawnCapped(
    'env',
    [
      ...Object.entries(env ?? {}).map(([k, v]) => `${k}=${v}`),
      'sh',
      '-c',
      'exec "$0" "$@" 1>&2',
      cmd!,
      ...args,
    ],
    c.cap ?? CAP_MS,
    dir,
  )
  const seconds = (performance.now() - began) / 1000
  clearInterval(poll)
  const kept: { bytes: Buffer; mtimeMs: number }[] = []
  if (existsSync(out))
    for (const name of await readdir(out, { recursive: true })) {
      const path = join(out, String(name))
      if (/^\.imgpull|manifest\.jsonl$|report\.html$|\.aria2$/.test(String(name))) continue
      const info = await stat(path).catch(() => undefined)
      if (!info?.isFile() || info.size === 0) continue
      kept.push({ bytes: await readFile(path), mtimeMs: info.mtimeMs })
    }
  const good = new Set(paths.map((p) => digest(server.bytes(p))))
  const right = new Set(kept.map((k) => digest(k.bytes)).filter((d) => good.has(d))).size
  const wrong = kept.filter((k) => !good.has(digest(k.bytes))).length
  const first = kept.find((k) => good.has(digest(k.bytes)))
  const resumes = server.log.filter(
    (r) => r.headers.range !== undefined && r.headers['if-range'] !== undefined,
  ).length
  const times = tool.id === 'imgpull' ? imgpullTimes(out) : ''
  const outcome: Outcome = {
    right,
    wrong,
    missing: FILES - right,
    requests: server.stats.requests,
    resumes,
    mtime: c.mtime && first ? shownTime(first.mtimeMs) : '',
    seconds,
    killed: run.code === null,
    message: cellText(
      errorLine(run.stderr, NOISE),
      new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g'),
    ),
    times,
  }
  await server.close()
  await rm(dir, { recursive: true, force: true })
  return outcome
}

const cell = (o: Outcome) =>
  [
    `${o.right} right${o.wrong ? `, ${o.wrong} WRONG` : ''}${o.missing ? `, ${o.missing} missing` : ''}`,
    `${o.requests} req${o.resumes ? `, ${o.resumes} If-Range` : ''}`,
    ...(o.mtime ? [`mtime ${o.mtime}`] : []),
    `${o.killed ? '≥' : ''}${o.seconds.toFixed(1)} s`,
  ].join('; ')

async function main() {
  const { only, toolIds } = benchArgs()
  const chosen = only ? CASES.filter((c) => only.includes(c.id)) : CASES
  const { tools, rows } = toolTable(TOOLS, toolIds)
  if (chosen.some((c) => c.step) && !existsSync(FAKETIME)) {
    console.error(
      `bench/misbehave-clocks: ${FAKETIME} is missing (apt-get install faketime): the step cases need it`,
    )
    process.exit(2)
  }
  const log: string[] = []
  for (const c of chosen) {
    const results: Outcome[] = []
    for (const tool of tools) results.push(await runOne(c, tool))
    rows.push(`| ${c.id} | ${results.map(cell).join(' | ')} |`)
    log.push(
      `${c.id}: ${results.map((r, i) => `${tools[i]!.id}: ${r.message || '-'}${r.times ? ` [${r.times}]` : ''}`).join('\n   ')}`,
    )
    console.error(log.at(-1))
  }
  console.log(`\n${FILES} files a case\n`)
  printTable(rows, chosen)
}

await main()
