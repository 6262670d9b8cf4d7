import { naturalOrder } from '../format.js'
import { MsHistogram } from './histogram.js'
import type { ReportItem } from './types.js'

/** One row of the host table. */
export interface HostRow {
  /** Origin, as the items give it. */
  host: string
  /** Requests made by this run: the attempts of every item that is not `skipped` nor `failedBefore`. */
  requests: number
  ok: number
  /** Done by an earlier run: counted here, but none of their requests or answers. */
  skipped: number
  failed: number
  pending: number
  /** Answers with status 429 (Too Many Requests), over all attempts. */
  answers429: number
  /** Answers with status 503 (Service Unavailable), over all attempts. */
  answers503: number
  /** Time to first byte, ms: median and 95th percentile by nearest rank; absent without timings. */
  ttfbMedian?: number
  ttfbP95?: number
}

interface HostState {
  row: HostRow
  /** Made at the host's first time to first byte: a host that never answered (a dead domain) has none. */
  ttfb?: MsHistogram
}

/**
 * Per-host counts, one item at a time. Answers come from `answers` (every attempt); an item
 * without it counts its last `httpStatus` once, which undercounts 429s that a retry then cured.
 */
export class HostTally {
  readonly #hosts = new Map<string, HostState>()

  add(item: ReportItem): void {
    let state = this.#hosts.get(item.host)
    if (!state) {
      state = {
        row: {
          host: item.host,
          requests: 0,
          ok: 0,
          skipped: 0,
          failed: 0,
          pending: 0,
          answers429: 0,
          answers503: 0,
        },
      }
      this.#hosts.set(item.host, state)
    }
    const row = state.row
    row[item.status]++
    if (item.status === 'skipped' || item.failedBefore) return
    row.requests += item.attempts
    if (item.answers) {
      row.answers429 += item.answers['429'] ?? 0
      row.answers503 += item.answers['503'] ?? 0
    } else if (item.httpStatus === 429) row.answers429++
    else if (item.httpStatus === 503) row.answers503++
    if (item.ttfb !== undefined) {
      state.ttfb ??= new MsHistogram()
      state.ttfb.add(item.ttfb)
    }
  }

  /** Rows, most requests first (ties: most items, then name, in natural order: `img9` before `img10`). */
  rows(): HostRow[] {
    const rows: HostRow[] = []
    for (const { row, ttfb } of this.#hosts.values()) {
      // A copy of one shape (a spread of a spread made each a dictionary: 450 bytes a host).
      const copy: HostRow = {
        host: row.host,
        requests: row.requests,
        ok: row.ok,
        skipped: row.skipped,
        failed: row.failed,
        pending: row.pending,
        answers429: row.answers429,
        answers503: row.answers503,
      }
      const median = ttfb?.percentile(0.5)
      if (median !== undefined) {
        copy.ttfbMedian = median
        copy.ttfbP95 = ttfb?.percentile(0.95)
      }
      rows.push(copy)
    }
    const items = (r: HostRow) => r.ok + r.skipped + r.failed + r.pending
    return rows.sort((a, b) => b.requests - a.requests || items(b) - items(a) || naturalOrder(a.host, b.host))
  }
}

/** {@link HostRow}s of a list of items. */
export function hostTable(items: Iterable<ReportItem>): HostRow[] {
  const tally = new HostTally()
  for (const item of items) tally.add(item)
  return tally.rows()
}

/** Sum of rows beyond the ones shown, for the table's last line (TTFB cannot be summed: left out). */
export function sumRows(rows: readonly HostRow[]): Omit<HostRow, 'host' | 'ttfbMedian' | 'ttfbP95'> {
  const sum = { requests: 0, ok: 0, skipped: 0, failed: 0, pending: 0, answers429: 0, answers503: 0 }
  for (const r of rows) {
    for (const key of Object.keys(sum) as (keyof typeof sum)[]) sum[key] += r[key]
  }
  return sum
}
