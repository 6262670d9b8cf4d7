import type { Bound } from './scenarios.js'
import type { Verdict } from './verify.js'

/** One run of one tool: its measurements and the verdict on the files it left. */
export interface RunRecord
  extends Pick<Verdict, 'ok' | 'corrupt' | 'stray' | 'bytes' | 'corruptNames' | 'strayNames'> {
  run: number
  /** Seconds, spawn to exit. */
  wall: number
  /** CPU seconds (user + kernel; then each) and peak RSS in bytes, from GNU time. */
  cpu?: number
  user?: number
  sys?: number
  maxRss?: number
  exitCode: number | null
  killed: boolean
  /** Seconds from spawn to the server's first request. */
  firstRequest?: number
  /** Requests the server saw (retries included), and most at once. */
  requests: number
  maxInFlight: number
  /** Of those, answered 429 (Too Many Requests). */
  refused?: number
  /** Faulty items by fault: with a corrupt file, with no correct file (faults). */
  corruptBy?: Record<string, number>
  missingBy?: Record<string, number>
  /** Images per second between 10% and 90% of the requests (million). */
  sustained?: number
  stderr: string
}

/** A tool's runs, summed up: times are medians; correctness is the worst run. */
export interface Summary {
  runs: number
  wall: number
  cpu?: number
  user?: number
  sys?: number
  maxRss?: number
  firstRequest?: number
  sustained?: number
  ok: number
  corrupt: number
  stray: number
  bytes: number
  requests: number
  maxInFlight: number
  refused?: number
  killed: boolean
  exitCodes: (number | null)[]
}

export interface ToolResult {
  id: string
  label: string
  command: string
  concurrency: string
  reference: boolean
  runs: RunRecord[]
  summary?: Summary
  /** Wall time over imgpull's (above 1: imgpull is faster). */
  ratio?: number
}

export interface ScenarioResult {
  id: string
  title: string
  count: number
  retrievable: number
  cap: number
  bound: Bound
  tools: ToolResult[]
  skipped: { label: string; why: string }[]
  profile?: string[]
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

function medianOf(runs: RunRecord[], pick: (r: RunRecord) => number | undefined): number | undefined {
  const values = runs.map(pick).filter((v): v is number => v !== undefined)
  return values.length ? median(values) : undefined
}

export function summarize(runs: RunRecord[]): Summary {
  return {
    runs: runs.length,
    wall: medianOf(runs, (r) => r.wall)!,
    cpu: medianOf(runs, (r) => r.cpu),
    user: medianOf(runs, (r) => r.user),
    sys: medianOf(runs, (r) => r.sys),
    maxRss: medianOf(runs, (r) => r.maxRss),
    firstRequest: medianOf(runs, (r) => r.firstRequest),
    sustained: medianOf(runs, (r) => r.sustained),
    ok: Math.min(...runs.map((r) => r.ok)),
    corrupt: Math.max(...runs.map((r) => r.corrupt)),
    stray: Math.max(...runs.map((r) => r.stray)),
    bytes: medianOf(runs, (r) => r.bytes)!,
    requests: medianOf(runs, (r) => r.requests)!,
    maxInFlight: Math.max(...runs.map((r) => r.maxInFlight)),
    refused: medianOf(runs, (r) => r.refused),
    killed: runs.some((r) => r.killed),
    exitCodes: [...new Set(runs.map((r) => r.exitCode))],
  }
}

const f2 = (n: number) => n.toFixed(2)
const int = (n: number) => Math.round(n).toLocaleString('en')

interface Column {
  head: string
  left?: boolean
  cell: (t: ToolResult, s: Summary, sc: ScenarioResult) => string
}

const COLUMNS: Column[] = [
  { head: 'tool', left: true, cell: (t) => t.label },
  { head: 'wall s', cell: (_t, s) => (s.killed ? `>${f2(s.wall)}` : f2(s.wall)) },
  {
    head: 'vs imgpull',
    cell: (t, s) => (t.ratio === undefined ? '' : `${s.killed ? '>' : ''}${t.ratio.toFixed(2)}x`),
  },
  { head: 'first req', cell: (_t, s) => (s.firstRequest === undefined ? '-' : `${f2(s.firstRequest)} s`) },
  { head: 'peak RSS', cell: (_t, s) => (s.maxRss === undefined ? 'n/a' : `${int(s.maxRss / 1e6)} MB`) },
  { head: 'CPU s', cell: (_t, s) => (s.cpu === undefined ? 'n/a' : f2(s.cpu)) },
  { head: 'user+sys', cell: (_t, s) => (s.user === undefined ? 'n/a' : `${f2(s.user)}+${f2(s.sys!)}`) },
  {
    head: 'CPU ms/img',
    cell: (_t, s) => (s.cpu === undefined || s.ok === 0 ? '-' : ((1000 * s.cpu) / s.ok).toFixed(2)),
  },
  { head: 'MB/s', cell: (_t, s) => (s.wall > 0 ? (s.bytes / 1e6 / s.wall).toFixed(1) : '-') },
  { head: 'ok/expected', cell: (_t, s, sc) => `${int(s.ok)}/${int(sc.retrievable)}` },
  { head: 'corrupt', cell: (_t, s) => int(s.corrupt) },
  { head: 'stray', cell: (_t, s) => int(s.stray) },
  { head: 'requests', cell: (_t, s) => int(s.requests) },
  { head: 'in flight', cell: (_t, s) => int(s.maxInFlight) },
  {
    head: 'note',
    left: true,
    cell: (_t, s, sc) =>
      [
        s.killed ? `killed at ${sc.cap} s` : '',
        s.runs > 1 ? '' : 'one run',
        s.exitCodes.some((c) => c !== 0) ? `exit ${s.exitCodes.join('/')}` : '',
        s.sustained === undefined ? '' : `${int(s.sustained)} img/s sustained`,
        s.refused ? `${int(s.refused)} answered 429 (${((100 * s.refused) / s.requests).toFixed(1)}%)` : '',
      ]
        .filter(Boolean)
        .join(', '),
  },
]

/** The per-scenario table, as printed. */
export function formatTable(sc: ScenarioResult, runs: number): string[] {
  const rows = sc.tools.filter((t) => t.summary).map((t) => COLUMNS.map((c) => c.cell(t, t.summary!, sc)))
  const widths = COLUMNS.map((c, i) => Math.max(c.head.length, ...rows.map((r) => r[i].length)))
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (COLUMNS[i].left ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd()
  const reference = sc.tools.find((t) => t.reference)?.summary
  const lines = [
    `== ${sc.id}: ${sc.title}`,
    `   ${runs} run${runs === 1 ? '' : 's'} per tool (median wall/CPU/RSS; ok, corrupt, stray from the worst run)`,
    line(COLUMNS.map((c) => c.head)),
    ...rows.map(line),
  ]
  const bound = sc.bound.seconds
  lines.push(
    `lower bound: ${bound === undefined ? '' : `${f2(bound)} s, `}${sc.bound.text}${
      bound !== undefined && reference ? `; imgpull at ${(reference.wall / bound).toFixed(2)}x the bound` : ''
    }`,
  )
  const by = (counts: Record<string, number> | undefined) =>
    Object.entries(counts ?? {})
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ×${n}`)
      .join(', ')
  for (const t of sc.tools) {
    const worst = t.runs.reduce<RunRecord | undefined>((w, r) => (!w || r.ok < w.ok ? r : w), undefined)
    if (!worst || (!worst.corruptBy && !worst.missingBy)) continue
    const parts = [
      by(worst.missingBy) && `not delivered: ${by(worst.missingBy)}`,
      by(worst.corruptBy) && `corrupt: ${by(worst.corruptBy)}`,
    ].filter(Boolean)
    if (parts.length) lines.push(`  ${t.label}: ${parts.join('; ')}`)
  }
  for (const s of sc.skipped) lines.push(`not run: ${s.label} (${s.why})`)
  return lines
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** Horizontal bars of wall time per tool, one panel per scenario, on a log scale. */
export function svgChart(results: ScenarioResult[], caption: string): string {
  const width = 960
  const labelWidth = 300
  const barHeight = 18
  const gap = 6
  let y = 40
  const parts: string[] = []
  for (const sc of results) {
    const tools = sc.tools.filter((t) => t.summary)
    if (!tools.length) continue
    const walls = tools.map((t) => t.summary!.wall)
    const lo = Math.min(...walls, sc.bound.seconds ?? Number.POSITIVE_INFINITY) / 1.5
    const hi = Math.max(...walls) * 1.3
    const x = (s: number) =>
      labelWidth +
      ((Math.log10(s) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (width - labelWidth - 140)
    parts.push(`<text x="10" y="${y}" class="h">${esc(`${sc.id}: ${sc.title}`)}</text>`)
    y += 12
    const top = y
    for (const t of tools) {
      const s = t.summary!
      const fill = t.reference ? '#2563eb' : t.id.startsWith('imgpull') ? '#60a5fa' : '#9ca3af'
      const bad = s.corrupt > 0 || s.ok < sc.retrievable
      parts.push(
        `<text x="${labelWidth - 8}" y="${y + 13}" text-anchor="end">${esc(t.label)}</text>`,
        `<rect x="${labelWidth}" y="${y}" width="${Math.max(1, x(s.wall) - labelWidth).toFixed(1)}" height="${barHeight}" fill="${fill}"${s.killed ? ' fill-opacity="0.45"' : ''}/>`,
        `<text x="${(x(s.wall) + 6).toFixed(1)}" y="${y + 13}">${s.killed ? '&gt;' : ''}${s.wall.toFixed(2)} s${t.ratio !== undefined && !t.reference ? ` (${t.ratio.toFixed(2)}x)` : ''}${bad ? ` ⚠ ${s.ok}/${sc.retrievable} ok, ${s.corrupt} corrupt` : ''}</text>`,
      )
      y += barHeight + gap
    }
    if (sc.bound.seconds !== undefined) {
      const bx = x(sc.bound.seconds).toFixed(1)
      parts.push(
        `<line x1="${bx}" x2="${bx}" y1="${top - 4}" y2="${y - gap + 4}" stroke="#dc2626" stroke-dasharray="4 3"/>`,
        `<text x="${bx}" y="${y + 10}" class="b" text-anchor="middle">lower bound ${sc.bound.seconds.toFixed(2)} s</text>`,
      )
    }
    y += 36
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="system-ui, sans-serif" font-size="12">
<title>${esc(caption)}</title>
<style>.h{font-weight:600;font-size:13px}.b{fill:#dc2626;font-size:11px}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="20" class="h">${esc(caption)} — wall time, log scale; blue: imgpull</text>
${parts.join('\n')}
</svg>
`
}
