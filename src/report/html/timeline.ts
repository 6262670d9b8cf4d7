import { naturalOrder } from '../format.js'
import type { HostSample, ReportItem } from './types.js'

/** Interval lengths a chart's bins may take, ms: round numbers a reader can say aloud. */
const NICE_STEPS = [
  1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000,
  3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000,
]

/**
 * The shortest interval from a fixed list (1 s, 2 s, 5 s, 10 s, 15 s, 30 s, 1 min, ... 1 day, then
 * whole days) that splits `spanMs` into at most `maxBins` bins. Never below 1 s: a rate per second
 * over less than a second is noise.
 */
export function binStep(spanMs: number, maxBins: number): number {
  const bins = Math.max(1, Math.floor(maxBins))
  for (const step of NICE_STEPS) if (Math.ceil(spanMs / step) <= bins) return step
  const day = 86_400_000
  return Math.ceil(spanMs / bins / day) * day
}

/** Number of bins of `step` that cover `spanMs` (at least one). */
export function binCount(spanMs: number, step: number): number {
  return Math.max(1, Math.ceil(spanMs / step))
}

/**
 * Number of throughput bins over `spanMs`: whole bins of `step`, a stretch left at the end shorter
 * than `step` joined to the bin before (at least one bin, the whole run when shorter than `step`).
 * A rate over that stretch alone is over less than a bin: the transfers a Ctrl-C let finish in a
 * 4.1 s run's last 0.1 s made a bar of 77 img/s in a run that never passed 8.
 */
export function rateBinCount(spanMs: number, step: number): number {
  return Math.max(1, Math.floor(spanMs / step))
}

/** One bar of the throughput chart. */
export interface ThroughputBin {
  /** Start, ms after the run's start. */
  start: number
  /**
   * Length, ms: `step`; the last bin runs to the run's end, up to twice `step` long (see
   * {@link rateBinCount}), or the whole run when that is shorter than `step`.
   */
  width: number
  /** Images downloaded (`ok`) that finished in this bin. */
  images: number
  bytes: number
  imagesPerSecond: number
  bytesPerSecond: number
}

export interface Throughput {
  step: number
  bins: ThroughputBin[]
  /** `ok` items that cannot be placed: no `finishedAt`, or outside the run (an earlier run's). */
  outside: number
}

/** Images and bytes per bin of the run, from the `finishedAt` and `bytes` of `ok` items. */
export class ThroughputTally {
  readonly step: number
  readonly #span: number
  readonly #images: number[]
  readonly #bytes: number[]
  #outside = 0

  constructor(
    readonly startedAt: number,
    endedAt: number,
    maxBins = 60,
  ) {
    this.#span = Math.max(0, endedAt - startedAt)
    this.step = binStep(this.#span, maxBins)
    const n = rateBinCount(this.#span, this.step)
    this.#images = new Array(n).fill(0)
    this.#bytes = new Array(n).fill(0)
  }

  add(item: ReportItem): void {
    if (item.status !== 'ok') return
    const at = item.finishedAt === undefined ? Number.NaN : item.finishedAt - this.startedAt
    if (!(at >= 0 && at <= this.#span)) {
      this.#outside++
      return
    }
    // The run's last instant, and a stretch shorter than a bin after the whole ones, belong to the last bin.
    const i = Math.min(this.#images.length - 1, Math.floor(at / this.step))
    this.#images[i]++
    this.#bytes[i] += item.bytes ?? 0
  }

  result(): Throughput {
    const last = this.#images.length - 1
    const bins = this.#images.map((images, i) => {
      const start = i * this.step
      const width = Math.max(1, i === last ? this.#span - start : this.step)
      const bytes = this.#bytes[i]
      return {
        start,
        width,
        images,
        bytes,
        imagesPerSecond: (images * 1000) / width,
        bytesPerSecond: (bytes * 1000) / width,
      }
    })
    return { step: this.step, bins, outside: this.#outside }
  }
}

/** {@link Throughput} of a list of items over the run from `startedAt` to `endedAt`. */
export function throughput(
  items: Iterable<ReportItem>,
  startedAt: number,
  endedAt: number,
  maxBins = 60,
): Throughput {
  const tally = new ThroughputTally(startedAt, endedAt, maxBins)
  for (const item of items) tally.add(item)
  return tally.result()
}

/** One point of a host's concurrency: `null` for an interval without samples (host idle or not yet seen). */
export type ConcurrencyPoint = { inFlight: number; limit: number } | null

export interface ConcurrencySeries {
  host: string
  /** Per interval: mean transfers in flight and the highest limit. */
  points: ConcurrencyPoint[]
  peakInFlight: number
  peakLimit: number
}

export interface Concurrency {
  step: number
  series: ConcurrencySeries[]
}

/**
 * The hosts that kept the most transfers in flight (sum of sampled in-flight counts; ties by
 * name): the ones whose concurrency is worth a chart. A host sampled in flight over less than
 * `minSpanMs` (first to last such sample) is left out, but for the busiest when none is left: its
 * line is a dash at one moment of the run's axis (a dead domain, looked up and not found, in a
 * 36 s run's charts of 1 s steps), in a box that took the place of a host that had a line.
 * Memory: three numbers per host.
 */
export function busiestSampled(samples: Iterable<HostSample>, count: number, minSpanMs = 0): string[] {
  const load = new Map<string, { sum: number; first: number; last: number }>()
  for (const s of samples) {
    let host = load.get(s.host)
    if (!host) {
      host = { sum: 0, first: Number.POSITIVE_INFINITY, last: Number.NEGATIVE_INFINITY }
      load.set(s.host, host)
    }
    host.sum += Math.max(0, s.inFlight)
    if (s.inFlight > 0) {
      host.first = Math.min(host.first, s.t)
      host.last = Math.max(host.last, s.t)
    }
  }
  const ranked = [...load.entries()].sort((a, b) => b[1].sum - a[1].sum || naturalOrder(a[0], b[0]))
  const spanning = minSpanMs > 0 ? ranked.filter(([, h]) => h.last - h.first >= minSpanMs) : ranked
  return (spanning.length > 0 ? spanning : ranked.slice(0, 1)).slice(0, count).map(([host]) => host)
}

/**
 * The concurrency of the given hosts over the run, in at most `maxPoints` intervals: per interval,
 * the mean of the sampled in-flight counts and the highest sampled limit. Samples of other hosts
 * or outside the run are passed over. Memory: `hosts × maxPoints` numbers.
 */
export function concurrency(
  samples: Iterable<HostSample>,
  hosts: readonly string[],
  startedAt: number,
  endedAt: number,
  maxPoints = 120,
): Concurrency {
  const span = Math.max(0, endedAt - startedAt)
  const step = binStep(span, maxPoints)
  const n = binCount(span, step)
  const acc = new Map(
    hosts.map((h) => [
      h,
      {
        sum: new Array<number>(n).fill(0),
        count: new Array<number>(n).fill(0),
        limit: new Array<number>(n).fill(0),
      },
    ]),
  )
  for (const s of samples) {
    const a = acc.get(s.host)
    const at = s.t - startedAt
    if (!a || !(at >= 0 && at <= span)) continue
    const i = Math.min(n - 1, Math.floor(at / step))
    a.sum[i] += s.inFlight
    a.count[i]++
    a.limit[i] = Math.max(a.limit[i], s.limit)
  }
  const series = hosts.map((host) => {
    const a = acc.get(host)!
    let peakInFlight = 0
    let peakLimit = 0
    const points = a.count.map((c, i): ConcurrencyPoint => {
      if (c === 0) return null
      const inFlight = a.sum[i] / c
      peakInFlight = Math.max(peakInFlight, inFlight)
      peakLimit = Math.max(peakLimit, a.limit[i])
      return { inFlight, limit: a.limit[i] }
    })
    return { host, points, peakInFlight, peakLimit }
  })
  return { step, series }
}
