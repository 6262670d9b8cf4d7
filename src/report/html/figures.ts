import { type FailureGroup, FailureTally, type RerunPlan } from './failures.js'
import { type HostRow, HostTally } from './hosts.js'
import { type Sheet, SheetSampler } from './sheet.js'
import { type ReportSummary, SummaryTally } from './summary.js'
import {
  binStep,
  busiestSampled,
  type Concurrency,
  concurrency,
  type Throughput,
  ThroughputTally,
} from './timeline.js'
import type { RenderOptions, ReportInput } from './types.js'

/** Everything the page shows, computed from a {@link ReportInput} in one pass over its items. */
export interface ReportFigures {
  summary: ReportSummary
  failures: FailureGroup[]
  rerun: RerunPlan
  /** Every host, most requests first. */
  hosts: HostRow[]
  throughput: Throughput
  /** The hosts that kept the most transfers in flight, at most `chartHosts`. */
  concurrency: Concurrency
  sheet: Sheet
  /** The images are inside WebDataset shards (no contact sheet). */
  shards: boolean
}

export const RENDER_DEFAULTS: Required<RenderOptions> = {
  sheetLimit: 10_000,
  examples: 3,
  hostRows: 100,
  chartHosts: 6,
  maxBars: 60,
  maxPoints: 120,
}

/** Options with defaults filled in; a value that is not a positive integer throws a `TypeError` naming it. */
export function resolveRenderOptions(options: RenderOptions = {}): Required<RenderOptions> {
  const resolved = { ...RENDER_DEFAULTS, ...options }
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new TypeError(`report option ${name} must be a positive integer, got ${String(value)}`)
    }
  }
  return resolved
}

/**
 * The report's figures. Reads `input.items` once and `input.samples` twice, holding only bounded
 * state but for per-host counts (a few hundred bytes a host): examples for a code's first hosts,
 * the sheet's sample, timing histograms of the hosts that answered, totals.
 *
 * @throws TypeError for a bad option, a start or end that is not a number, or samples that cannot
 * be read twice (a generator).
 */
export function computeFigures(input: ReportInput, options: RenderOptions = {}): ReportFigures {
  const o = resolveRenderOptions(options)
  if (!Number.isFinite(input.startedAt) || !Number.isFinite(input.endedAt)) {
    throw new TypeError(
      `report startedAt and endedAt must be times in ms, got ${input.startedAt} and ${input.endedAt}`,
    )
  }
  const summary = new SummaryTally()
  const failures = new FailureTally(o.examples)
  const hosts = new HostTally()
  const throughput = new ThroughputTally(input.startedAt, input.endedAt, o.maxBars)
  const sheet = new SheetSampler(o.sheetLimit)
  for (const item of input.items) {
    summary.add(item)
    failures.add(item)
    hosts.add(item)
    throughput.add(item)
    if (!input.shards) sheet.add(item)
  }
  const hostRows = hosts.rows()
  // Two passes over the samples: which hosts were busiest, then their series.
  if ((input.samples[Symbol.iterator]() as unknown) === input.samples) {
    throw new TypeError('report samples must be iterable twice (an array, not a generator)')
  }
  // A host in flight within one step of the charts' axis is a dash there: not charted.
  const step = binStep(Math.max(0, input.endedAt - input.startedAt), o.maxPoints)
  const charted = busiestSampled(input.samples, o.chartHosts, step)
  const chart = concurrency(input.samples, charted, input.startedAt, input.endedAt, o.maxPoints)
  return {
    summary: summary.result(input.startedAt, input.endedAt),
    failures: failures.groups(),
    rerun: failures.rerun(),
    hosts: hostRows,
    throughput: throughput.result(),
    concurrency: chart,
    sheet: sheet.result(),
    shards: input.shards === true,
  }
}
