/**
 * `report.html`: one self-contained page that shows what a run did. The caller gathers a
 * {@link ReportInput} (from the journal, the manifest and the engine's per-host samples) and
 * calls {@link writeReport}; the figures are pure functions of that input.
 */
export {
  axisTime,
  barChart,
  byteRateUnit,
  clock,
  concurrencyChart,
  niceCeil,
  short,
  stepLabel,
} from './charts.js'
export { esc, fileHref, httpHref, jsonForScript, readableOrigin, redactCommand } from './escape.js'
export {
  describeError,
  EXAMPLE_CHARS,
  EXAMPLE_HOSTS,
  type FailureExample,
  type FailureGroup,
  type FailureHost,
  type FailureStory,
  FailureTally,
  failureKind,
  failureStory,
  failuresByHost,
  groupFailures,
  type HostFailures,
  isTransient,
  itemTransient,
  type RerunPlan,
  rerunPlan,
  UNKNOWN_CODE,
} from './failures.js'
export { computeFigures, RENDER_DEFAULTS, type ReportFigures, resolveRenderOptions } from './figures.js'
export { MsHistogram } from './histogram.js'
export {
  FOLD_LEAST,
  foldAlike,
  foldBy,
  type HostLine,
  type HostRow,
  HostTally,
  hostTable,
  sumRows,
} from './hosts.js'
export { CREDITS_PAGE_SIZE, renderReport, SHEET_PAGE_SIZE } from './page.js'
export { type Sheet, type SheetEntry, SheetSampler, sampleSheet } from './sheet.js'
export { type ReportSummary, SummaryTally, summarize } from './summary.js'
export {
  binCount,
  binStep,
  busiestSampled,
  type Concurrency,
  type ConcurrencyPoint,
  type ConcurrencySeries,
  concurrency,
  type Throughput,
  type ThroughputBin,
  ThroughputTally,
  throughput,
} from './timeline.js'
export type { Attribution, HostSample, QueueFacts, RenderOptions, ReportInput, ReportItem } from './types.js'
export { REPORT_FILE, writeReport } from './write.js'
