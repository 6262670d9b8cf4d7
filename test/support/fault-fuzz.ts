import { lstat, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ERROR_CODES, type ErrorCode, httpRerun } from '../../src/error-codes.js'
import { type Options, pull, type Result } from '../../src/index.js'
import { hashKey } from '../../src/plan/naming.js'
import { listFiles } from './cli.js'
import type { ImageServer } from './image-server.js'
import { seeded } from './images.js'

/**
 * Faults of test/support/image-server.ts drawn two or three at a time per URL, as real servers
 * misbehave in several ways at once (a CDN that ignores If-Range and cuts bodies; a 206 with no
 * validators and a shifted range), and the invariants every run must hold whatever they are:
 *
 * 1. a kept file is byte for byte one whole version the server served for its path (never a
 *    splice of two versions, a cut body or a page);
 * 2. a file not kept is a failure with a code one of its faults may give (`FAULTS[kind].codes`);
 * 3. a plain rerun leaves every kept file as it is (bytes, mtime) and asks nothing for it, skips
 *    failures whose cause does not pass, and asks again for those whose cause may;
 * 4. nothing is left in the output folder but kept files, the manifest, the report and `.imgpull`'s
 *    own state (no part of a kept file, no temporary);
 * 5. no file costs more than `MAX_REQUESTS` requests in a run (a loop that asks the same again).
 *
 * Deterministic in what it asks (a seed draws the URLs); what the server does to each request
 * depends on the order requests come in only for `times=K` and `rotate`, which the checks follow.
 */

/** One fault kind: how to draw its query (for a body of `size` bytes) and the codes it may fail with. */
export interface FaultKind {
  readonly draw: (size: number, random: () => number) => string
  /** Failure codes this fault may plainly cause; `timed`: it obeys `times=K`. */
  readonly codes: readonly string[]
  readonly timed?: boolean
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]
/** A byte offset inside a body of `size`: between a tenth and nine tenths of it. */
const inside = (size: number, random: () => number) => Math.floor(size * (0.1 + 0.8 * random()))

/** A body cut short: said as a cut, or as the connection's end that cut it. */
const CUT = ['truncated', 'network']
/** Partial answers that cannot be joined, or are joined short of the file. */
const RANGES = ['bad-range', 'truncated']

/** Every fault of the image server, by its query name. */
export const FAULTS: Record<string, FaultKind> = {
  status: {
    draw: (_s, r) => `status=${pick(r, [500, 502, 503, 429, 404])}`,
    codes: ['http-500', 'http-502', 'http-503', 'http-429', 'http-404'],
    timed: true,
  },
  reset: { draw: (s, r) => `reset=${inside(s, r)}`, codes: CUT, timed: true },
  short: { draw: (s, r) => `short=${inside(s, r)}`, codes: CUT, timed: true },
  stall: { draw: (s, r) => `stall=${inside(s, r)}`, codes: ['timeout', ...CUT], timed: true },
  every: {
    draw: (s, r) => `every=${Math.max(512, Math.floor(s / (2 + Math.floor(r() * 3))))}`,
    codes: CUT,
    timed: true,
  },
  drip: { draw: (s) => `drip=${Math.max(4096, s * 2)}`, codes: ['timeout'] },
  redirect: { draw: (_s, r) => `redirect=${1 + Math.floor(r() * 3)}`, codes: [] },
  norange: { draw: () => 'norange=1', codes: [] },
  rotate: { draw: () => 'rotate=1', codes: ['bad-range'] },
  etagrotate: { draw: () => 'etagrotate=1', codes: ['bad-range'] },
  nolength: { draw: () => 'nolength=1', codes: [] },
  close: { draw: () => 'close=1', codes: [] },
  lmonly: { draw: () => 'lmonly=1', codes: [] },
  nolm: { draw: () => 'nolm=1', codes: [] },
  weaketag: { draw: () => 'weaketag=1', codes: [] },
  lmfresh: { draw: () => 'lmfresh=1', codes: [] },
  ifrange: { draw: () => 'ifrange=ignore', codes: ['bad-range'] },
  bare206: { draw: (_s, r) => `bare206=${pick(r, ['1', 'etag'])}`, codes: ['bad-range'] },
  partial: { draw: (s, r) => `partial=${Math.max(512, Math.floor(s / (1.5 + r() * 2)))}`, codes: RANGES },
  shift: { draw: (_s, r) => `shift=${pick(r, [-100, -1, 1, 7, 100])}`, codes: RANGES },
  lietotal: { draw: () => 'lietotal=1', codes: RANGES },
  tail200: { draw: (_s, r) => `tail200=${pick(r, ['1', 'cr'])}`, codes: RANGES },
  end: { draw: (s, r) => `end=${inside(s, r)}`, codes: CUT, timed: true },
  cut: { draw: (s, r) => `cut=${inside(s, r)}`, codes: ['truncated', 'corrupt'] },
  lead: { draw: (_s, r) => `lead=${1 + Math.floor(r() * 3)}`, codes: ['not-an-image'] },
  multipart: {
    draw: (_s, r) => `multipart=${pick(r, ['1', 'two', 'off', 'short', 'noboundary'])}`,
    codes: RANGES,
  },
  crunit: { draw: (_s, r) => `crunit=${pick(r, ['none', 'colon'])}`, codes: RANGES },
  html: { draw: () => 'html=1', codes: ['not-an-image'] },
}

/** Kinds that make no sense together: the second is shadowed or contradicts the first. */
const EXCLUSIVE: ReadonlyArray<readonly [string, string]> = [
  ['nolength', 'close'],
  ['rotate', 'etagrotate'],
  ['lmonly', 'nolm'],
  ['html', 'status'],
]

export interface FuzzCase {
  /** `/f<seed>-<i>.<ext>`: one path per case, so versions are never shared. */
  path: string
  /** The fault kinds drawn, in order. */
  kinds: string[]
  /** The whole query string, faults, size, format and `times` included. */
  query: string
}

/** `count` cases of 2–3 compatible faults each, drawn from `seed`; `only` limits the kinds drawn. */
export function drawCases(
  seed: number,
  count: number,
  only: readonly string[] = Object.keys(FAULTS),
): FuzzCase[] {
  const random = seeded(seed)
  const cases: FuzzCase[] = []
  for (let i = 0; i < count; i++) {
    const want = 2 + Math.floor(random() * 2)
    const kinds: string[] = []
    for (let tries = 0; kinds.length < want && tries < 50; tries++) {
      const k = pick(random, only)
      if (
        kinds.includes(k) ||
        EXCLUSIVE.some(([a, b]) => (a === k && kinds.includes(b)) || (b === k && kinds.includes(a)))
      )
        continue
      kinds.push(k)
    }
    const fmt = pick(random, ['jpg', 'jpg', 'png', 'gif', 'webp'] as const)
    // Most small; one in five large enough for several resumes, each asking again for `RESUME_OVERLAP`.
    const size =
      random() < 0.8 ? 3_000 + Math.floor(random() * 30_000) : 100_000 + Math.floor(random() * 500_000)
    const params = [`size=${size}`, `fmt=${fmt}`, ...kinds.map((k) => FAULTS[k].draw(size, random))]
    // `times=8` outlasts a run's 6 attempts: its rerun resumes the part the first run kept.
    if (kinds.some((k) => FAULTS[k].timed)) params.push(`times=${pick(random, [1, 1, 2, 2, 8])}`)
    cases.push({ path: `/f${seed}-${i}.${fmt}`, kinds, query: params.join('&') })
  }
  return cases
}

export interface Violation {
  case: FuzzCase
  /** Which invariant (1–5, see the module's comment) and what was seen. */
  invariant: 1 | 2 | 3 | 4 | 5
  what: string
}

export interface FuzzReport {
  cases: FuzzCase[]
  results: Result[]
  rerun: Result[]
  violations: Violation[]
}

/**
 * Requests one file may cost a run: 6 attempts (`retries` 5), each with its few restarts and the
 * parts of a capped answer, are far fewer; a loop that asks the same again is thousands.
 */
export const MAX_REQUESTS = 300

/** The options every fuzz run uses: short timeouts, so stalls cost little. */
export const FUZZ_OPTIONS: Options = {
  idleTimeout: 1_500,
  headersTimeout: 5_000,
  totalTimeout: 20_000,
  report: false,
  concurrency: 32,
}

/**
 * Pull `cases` from `server` into `out` (a fresh folder), run again, and check the invariants.
 * `options` are added to `FUZZ_OPTIONS`.
 */
export async function fuzzRun(
  server: ImageServer,
  cases: FuzzCase[],
  out: string,
  options: Options = {},
): Promise<FuzzReport> {
  const urls = cases.map((c) => server.url(`${c.path}?${c.query}`))
  const byUrl = new Map(urls.map((u, i) => [u, cases[i]]))
  const violations: Violation[] = []
  const results: Result[] = []
  for await (const r of pull(urls, { ...FUZZ_OPTIONS, ...options, out })) results.push(r)

  const kept = new Map<string, { bytes: Buffer; mtimeMs: number }>()
  for (const r of results) {
    const c = byUrl.get(r.job.url)!
    if (r.status === 'ok' && r.path) {
      const file = join(out, r.path)
      const bytes = await readFile(file)
      kept.set(r.job.url, { bytes, mtimeMs: (await lstat(file)).mtimeMs })
      if (!server.versions(c.path).some((v) => v.equals(bytes)))
        violations.push({
          case: c,
          invariant: 1,
          what: `kept ${bytes.length} bytes that are no version the server served (${server
            .versions(c.path)
            .map((v) => v.length)
            .join(', ')} bytes)`,
        })
    } else if (r.status === 'failed') {
      const codes = new Set(c.kinds.flatMap((k) => FAULTS[k].codes))
      if (!r.error || !codes.has(r.error))
        violations.push({ case: c, invariant: 2, what: `failed as ${r.error}: ${r.message}` })
    } else violations.push({ case: c, invariant: 2, what: `first run: ${r.status}` })
  }
  await checkLeftovers(out, results, byUrl, violations)
  for (const c of cases) {
    const asked = requestsFor(server, c.path)
    // Each redirect is a request of its own.
    const hops = 1 + Number(new URLSearchParams(c.query).get('redirect') ?? 0)
    if (asked > MAX_REQUESTS * hops)
      violations.push({ case: c, invariant: 5, what: `${asked} requests for one file in one run` })
  }

  const hitsBefore = new Map(cases.map((c) => [c.path, requestsFor(server, c.path)]))
  const rerun: Result[] = []
  for await (const r of pull(urls, { ...FUZZ_OPTIONS, ...options, out })) rerun.push(r)
  const first = new Map(results.map((r) => [r.job.url, r]))
  for (const r of rerun) {
    const c = byUrl.get(r.job.url)!
    const before = first.get(r.job.url)!
    const asked = requestsFor(server, c.path) - hitsBefore.get(c.path)!
    if (before.status === 'ok') {
      const was = kept.get(r.job.url)!
      const file = join(out, before.path!)
      const now = await readFile(file).catch(() => undefined)
      const mtimeMs = now ? (await lstat(file)).mtimeMs : Number.NaN
      if (r.status !== 'skipped' || asked > 0 || !now?.equals(was.bytes) || mtimeMs !== was.mtimeMs)
        violations.push({
          case: c,
          invariant: 3,
          what: `kept file on rerun: ${r.status}, ${asked} requests, ${now ? (now.equals(was.bytes) ? 'same bytes' : 'other bytes') : 'gone'}, mtime ${mtimeMs === was.mtimeMs ? 'same' : 'changed'}`,
        })
      continue
    }
    const again = passing(before.error)
    // A permanent failure comes back as the earlier run's outcome, with no request.
    if (!again && (!(r.status === 'skipped' || r.earlier) || asked > 0))
      violations.push({
        case: c,
        invariant: 3,
        what: `permanent ${before.error} asked again on rerun (${asked} requests, ${r.status})`,
      })
    if (again && asked === 0)
      violations.push({
        case: c,
        invariant: 3,
        what: `passing ${before.error} not asked again on rerun (${r.status}: ${r.message})`,
      })
    if (r.status === 'ok' && r.path) {
      const bytes = await readFile(join(out, r.path))
      if (!server.versions(c.path).some((v) => v.equals(bytes)))
        violations.push({
          case: c,
          invariant: 1,
          what: `rerun kept ${bytes.length} bytes that are no version the server served`,
        })
    }
  }
  await checkLeftovers(
    out,
    rerun.map((r) => (r.status === 'skipped' ? first.get(r.job.url)! : r)),
    byUrl,
    violations,
  )
  return { cases, results, rerun, violations }
}

/** Whether a plain rerun asks again for a failure of `code` (see `ERROR_CODES`, `httpRerun`). */
function passing(code: ErrorCode | undefined): boolean {
  const status = /^http-(\d+)$/.exec(code ?? '')?.[1]
  if (status) return httpRerun(Number(status))
  return ERROR_CODES[code as keyof typeof ERROR_CODES]?.rerun ?? false
}

function requestsFor(server: ImageServer, path: string): number {
  let n = 0
  for (const [key, hits] of server.hits) if (key.startsWith(`${path}?`)) n += hits
  return n
}

/** Invariant 4: files in `out` are the kept ones, the manifest, the report and `.imgpull`'s own. */
async function checkLeftovers(
  out: string,
  results: Result[],
  byUrl: Map<string, FuzzCase>,
  violations: Violation[],
) {
  const keptPaths = new Set(results.filter((r) => r.status === 'ok' && r.path).map((r) => r.path!))
  // A part kept for a passing failure's resume is the folder's own state (see planner.ts `partName`).
  const parts = new Map(
    results
      .filter((r) => r.status === 'failed' && passing(r.error))
      .map((r) => [`.imgpull/parts/${hashKey(r.job.key ?? r.job.url, 32)}.part`, r]),
  )
  const own = /^\.imgpull\/(journal\.db(-wal|-shm)?|lock\.db(-wal|-shm|-journal)?|lock\.json|files\.json)$/
  for (const f of await listFiles(out)) {
    if (keptPaths.has(f) || f === 'manifest.jsonl' || f === 'report.html' || own.test(f) || parts.has(f))
      continue
    const owner = results.find((r) => f === `.imgpull/parts/${hashKey(r.job.key ?? r.job.url, 32)}.part`)
    violations.push({
      case: (owner && byUrl.get(owner.job.url)) ?? { path: '-', kinds: [], query: '' },
      invariant: 4,
      what: `left in the folder: ${f}${owner ? ` (${owner.status} ${owner.error ?? ''})` : ''}`,
    })
  }
}
