import type { ReportItem } from './types.js'

/** The figures at the top of the page. */
export interface ReportSummary {
  /** Jobs the journal knows. */
  total: number
  ok: number
  skipped: number
  failed: number
  /** Of `failed`, those an earlier run failed for good and this one skipped (`failedBefore`). */
  failedBefore: number
  pending: number
  /** Bytes downloaded by this run (`ok` items). */
  bytes: number
  /** Bytes of every file in the folder (`ok` and `skipped`). */
  bytesOnDisk: number
  /** `endedAt - startedAt`, never negative. */
  wallMs: number
  /** `ok` items per second of wall time; 0 for an instant run. */
  imagesPerSecond: number
  /** Downloaded bytes per second of wall time; 0 for an instant run. */
  bytesPerSecond: number
}

/** Counts items one at a time (the report reads its input in one pass). */
export class SummaryTally {
  #total = 0
  #ok = 0
  #skipped = 0
  #failed = 0
  #failedBefore = 0
  #pending = 0
  #bytes = 0
  #onDisk = 0

  add(item: ReportItem): void {
    this.#total++
    const bytes = item.bytes ?? 0
    switch (item.status) {
      case 'ok':
        this.#ok++
        this.#bytes += bytes
        this.#onDisk += bytes
        break
      case 'skipped':
        this.#skipped++
        this.#onDisk += bytes
        break
      case 'failed':
        this.#failed++
        if (item.failedBefore) this.#failedBefore++
        break
      default:
        this.#pending++
    }
  }

  result(startedAt: number, endedAt: number): ReportSummary {
    const wallMs = Math.max(0, endedAt - startedAt)
    const perSecond = (n: number) => (wallMs > 0 ? (n * 1000) / wallMs : 0)
    return {
      total: this.#total,
      ok: this.#ok,
      skipped: this.#skipped,
      failed: this.#failed,
      failedBefore: this.#failedBefore,
      pending: this.#pending,
      bytes: this.#bytes,
      bytesOnDisk: this.#onDisk,
      wallMs,
      imagesPerSecond: perSecond(this.#ok),
      bytesPerSecond: perSecond(this.#bytes),
    }
  }
}

/** {@link ReportSummary} of a list of items. */
export function summarize(items: Iterable<ReportItem>, startedAt: number, endedAt: number): ReportSummary {
  const tally = new SummaryTally()
  for (const item of items) tally.add(item)
  return tally.result(startedAt, endedAt)
}
