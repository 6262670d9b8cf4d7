import { esc } from './escape.js'
import type { ConcurrencySeries, ThroughputBin } from './timeline.js'

/**
 * Charts as inline SVG, drawn here rather than by a charting library: two kinds of chart with a
 * few dozen shapes each need no script, no library bytes, and work from file:// and in print.
 * The plot is an SVG stretched to its box (`preserveAspectRatio="none"`, strokes that do not
 * scale); the axis labels are HTML beside it, so text stays its normal size on a phone and on a
 * wide screen. Colours come from the page's CSS classes, so they follow light and dark mode.
 */

/** Plot coordinates: x from 0 to W, y from 0 (top) to H. */
const W = 1000
const H = 100

/** A round number at or above `value`: 1, 2, 2.5 or 5 times a power of ten (1 for nothing). */
export function niceCeil(value: number): number {
  if (!(value > 0)) return 1
  const power = 10 ** Math.floor(Math.log10(value))
  for (const m of [1, 2, 2.5, 5, 10]) if (value <= m * power * (1 + 1e-9)) return m * power
  return 10 * power
}

/** `m:ss` or `h:mm:ss` after the start of the run (`h:mm:ss` always with `hours`). */
export function clock(ms: number, hours = false): string {
  const s = Math.round(ms / 1000)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const ss = String(s % 60).padStart(2, '0')
  return h > 0 || hours ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

/**
 * A time after the run's start on an axis of `spanMs`: `m:ss` (`clock`), but in seconds on a run
 * under 10 s, where whole seconds said `0:00` at both ends of a 0.4 s run's axis: every mark to the
 * decimals the span takes to two figures (tenths from 1 s, hundredths from 0.1 s...; `0.8 s`,
 * `1.6 s`, `3.2 s`), trailing zeros dropped, where three figures of each said `0.799 s` beside
 * `1.6 s`; `h:mm:ss` at every mark of an axis that reaches an hour, so its `0:45:04` is not read
 * as 45 hours beside its `3:00:17`.
 */
export function axisTime(ms: number, spanMs: number): string {
  if (spanMs >= 10_000) return clock(ms, Math.round(spanMs / 1000) >= 3600)
  if (!(spanMs > 0)) return `${short(ms / 1000)} s`
  const decimals = Math.min(6, Math.max(1, Math.ceil(-Math.log10(spanMs / 1000)) + 1))
  return `${Number((ms / 1000).toFixed(decimals))} s`
}

/** A bin's length as said aloud: `1 s`, `15 s`, `5 min`, `2 h`, `1 d`. */
export function stepLabel(ms: number): string {
  if (ms < 60_000) return `${short(ms / 1000)} s`
  if (ms < 3_600_000) return `${short(ms / 60_000)} min`
  if (ms < 86_400_000) return `${short(ms / 3_600_000)} h`
  return `${short(ms / 86_400_000)} d`
}

/** A figure for people: whole from 100, else three significant digits at most (`12.5`, `0.25`). */
export function short(value: number): string {
  if (!Number.isFinite(value)) return '0'
  if (Math.abs(value) >= 100) return String(Math.round(value))
  return String(Number(value.toPrecision(3)))
}

/** The unit a byte rate reads best in: `{ unit: 'MB/s', scale: 1e6 }` for a peak of 3.2e6 B/s. */
export function byteRateUnit(peakBytesPerSecond: number): { unit: string; scale: number } {
  const units = [
    ['GB/s', 1e9],
    ['MB/s', 1e6],
    ['kB/s', 1e3],
  ] as const
  for (const [unit, scale] of units) if (peakBytesPerSecond >= scale) return { unit, scale }
  return { unit: 'B/s', scale: 1 }
}

const f = (n: number) => String(Math.round(n * 10) / 10)

/**
 * Where a chart's time axis is marked, as parts of its span: the quarters of a wide chart, the
 * middle of a small one. With its start and end alone, a 3 h run's 36 bars could be placed in
 * time only by hovering each (and not at all on a touch screen).
 */
const X_MARKS = { bars: [0, 0.25, 0.5, 0.75, 1], lines: [0, 0.5, 1] } as const

/**
 * The HTML around a plot: y labels (top, middle, zero), the plot, x labels at `X_MARKS` (each a
 * box of no width the style sheet spreads evenly, its words centred on its place).
 */
function frame(kind: keyof typeof X_MARKS, max: number, spanMs: number, svg: string): string {
  const xs = X_MARKS[kind].map((at) => `<span>${esc(axisTime(at * spanMs, spanMs))}</span>`).join('')
  return (
    `<div class="chart ${kind}"><div class="y" aria-hidden="true"><span>${esc(short(max))}</span><span>${esc(short(max / 2))}</span><span>0</span></div>` +
    `${svg}<div class="x" aria-hidden="true">${xs}</div></div>`
  )
}

/** Lines across at the y labels, and short ticks up from the axis at the x labels between its ends. */
function grid(kind: keyof typeof X_MARKS): string {
  const across = [0, H / 2, H].map(
    (y) => `<line class="grid" x1="0" x2="${W}" y1="${y}" y2="${y}" vector-effect="non-scaling-stroke"/>`,
  )
  const ticks = X_MARKS[kind]
    .slice(1, -1)
    .map(
      (at) =>
        `<line class="grid" x1="${at * W}" x2="${at * W}" y1="${H - 4}" y2="${H}" vector-effect="non-scaling-stroke"/>`,
    )
  return [...across, ...ticks].join('')
}

/** `id` must be unique in the page: the title and description are named after it. */
function svgOpen(id: string, name: string, title: string, desc: string, extra = ''): string {
  return (
    `<svg class="plot" data-chart="${esc(name)}" viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-labelledby="${id}-title ${id}-desc"${extra}>` +
    `<title id="${id}-title">${esc(title)}</title><desc id="${id}-desc">${esc(desc)}</desc>`
  )
}

/**
 * A bar per bin, `value(bin)` high, with the bin's figures as its tooltip. Every bin gets a
 * `rect.bar`, empty ones zero high, so the count of bars is the count of bins.
 */
export function barChart(options: {
  /** Unique in the page. */
  id: string
  name: string
  title: string
  /** Unit of `value`, for the description. */
  unit: string
  bins: readonly ThroughputBin[]
  spanMs: number
  value: (bin: ThroughputBin) => number
  tooltip: (bin: ThroughputBin) => string
}): string {
  const { bins, value } = options
  const span = Math.max(1, options.spanMs)
  const peak = Math.max(0, ...bins.map(value))
  const max = niceCeil(peak)
  // A gap between bars when they are wide enough to spare one (in plot units).
  const gap = W / bins.length > 8 ? Math.min(6, (W / bins.length) * 0.2) : 0
  const bars = bins.map((bin) => {
    const h = (value(bin) / max) * H
    const x = (bin.start / span) * W
    const w = Math.max(0.5, (bin.width / span) * W - gap)
    return `<rect class="bar" x="${f(x + gap / 2)}" y="${f(H - h)}" width="${f(w)}" height="${f(h)}"><title>${esc(options.tooltip(bin))}</title></rect>`
  })
  const desc = `${bins.length} bars over ${axisTime(options.spanMs, options.spanMs)}; the highest ${short(peak)} ${options.unit}.`
  return frame(
    'bars',
    max,
    options.spanMs,
    `${svgOpen(options.id, options.name, options.title, desc)}${grid('bars')}${bars.join('')}</svg>`,
  )
}

/**
 * Path of the non-null points, a new `M` after each gap. A point alone between gaps is drawn as a
 * level segment `half` either side of it (plot units): a lone `M` draws nothing, so a host busy for
 * one interval only (a short run) showed an empty chart.
 */
function path(
  values: (number | null)[],
  x: (i: number) => number,
  y: (v: number) => number,
  half: number,
): string {
  let d = ''
  values.forEach((v, i) => {
    if (v === null) return
    const joined = i > 0 && values[i - 1] !== null
    if (!joined && (values[i + 1] ?? null) === null) {
      d += `M${f(Math.max(0, x(i) - half))} ${f(y(v))}L${f(Math.min(W, x(i) + half))} ${f(y(v))}`
    } else d += `${joined ? 'L' : 'M'}${f(x(i))} ${f(y(v))}`
  })
  return d
}

/**
 * One host's concurrency: the limit as a dashed line, transfers in flight as a solid one, one
 * vertex per interval with samples (a gap where there were none; an interval alone between gaps
 * is a level segment as wide as the interval). `id` must be unique in the page.
 */
export function concurrencyChart(
  id: string,
  series: ConcurrencySeries,
  stepMs: number,
  spanMs: number,
): string {
  const span = Math.max(1, spanMs)
  const max = niceCeil(Math.max(series.peakLimit, series.peakInFlight, 1))
  const x = (i: number) => (Math.min(span, (i + 0.5) * stepMs) / span) * W
  const y = (v: number) => H * (1 - v / max)
  const half = (stepMs / 2 / span) * W
  const limit = path(
    series.points.map((p) => p?.limit ?? null),
    x,
    y,
    half,
  )
  const inFlight = path(
    series.points.map((p) => p?.inFlight ?? null),
    x,
    y,
    half,
  )
  const sampled = series.points.filter((p) => p !== null).length
  const desc = `${sampled} of ${series.points.length} intervals sampled; in flight up to ${short(series.peakInFlight)}, limit up to ${series.peakLimit}.`
  const svg =
    svgOpen(id, 'concurrency', `Concurrency at ${series.host}`, desc, ` data-host="${esc(series.host)}"`) +
    grid('lines') +
    `<path class="limit" d="${limit}" vector-effect="non-scaling-stroke"/>` +
    `<path class="inflight" d="${inFlight}" vector-effect="non-scaling-stroke"/></svg>`
  return frame('lines', max, spanMs, svg)
}
