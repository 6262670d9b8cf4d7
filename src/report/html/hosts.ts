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

/** One line of a table of hosts: a host, or hosts whose figures are all the same (each has them). */
export interface HostLine<T extends { host: string } = HostRow> {
  /** The hosts, in the table's order: one, or {@link FOLD_LEAST} or more folded into one line. */
  hosts: string[]
  /** The figures of each of them (the first host's row). */
  figures: T
}

/**
 * Least number of hosts of the same figures folded into one line of a table of hosts: fewer are read
 * as easily named one a line (a rerun's three hosts, each with 27 already there and 3 failed, were
 * one line to open for their names).
 */
export const FOLD_LEAST = 5

/** A host table row's figures as one string: attempts, outcomes, 429 and 503 answers, both times to first byte. */
const hostFigures = (r: HostRow) =>
  `${r.requests} ${r.ok} ${r.skipped} ${r.failed} ${r.pending} ${r.answers429} ${r.answers503} ${r.ttfbMedian} ${r.ttfbP95}`

/**
 * Rows as a table's lines: hosts whose figures are all the same (`figures`, every column but the
 * name, as one string) are one line where {@link FOLD_LEAST} or more are, at the
 * place of the first of them; the others one a line, in their order. A run with 55 dead hosts (a
 * scraped list's gone domains, each tried once, failed, no byte heard) listed 55 rows that said the
 * same thing between the hosts that served it. The rows keep their order (most requests, or most
 * failures, first), and hosts of the same figures tie in it: a line moves only among rows tied with it.
 */
export function foldBy<T extends { host: string }>(
  rows: readonly T[],
  figures: (row: T) => string,
  least = FOLD_LEAST,
): HostLine<T>[] {
  const count = new Map<string, number>()
  for (const row of rows) count.set(figures(row), (count.get(figures(row)) ?? 0) + 1)
  const folded = new Map<string, HostLine<T>>()
  const lines: HostLine<T>[] = []
  for (const row of rows) {
    const k = figures(row)
    const line = folded.get(k)
    if (line) line.hosts.push(row.host)
    else {
      const made = { hosts: [row.host], figures: row }
      if ((count.get(k) ?? 0) >= least) folded.set(k, made)
      lines.push(made)
    }
  }
  return lines
}

/** The host table's lines (see {@link foldBy}): hosts of the same attempts, outcomes, answers and times folded. */
export function foldAlike(rows: readonly HostRow[], least = FOLD_LEAST): HostLine[] {
  return foldBy(rows, hostFigures, least)
}

/** Sum of the lines beyond the ones shown, over each of their hosts, for the table's last line (TTFB cannot be summed: left out). */
export function sumRows(lines: readonly HostLine[]): Omit<HostRow, 'host' | 'ttfbMedian' | 'ttfbP95'> {
  const sum = { requests: 0, ok: 0, skipped: 0, failed: 0, pending: 0, answers429: 0, answers503: 0 }
  for (const { hosts, figures } of lines) {
    for (const key of Object.keys(sum) as (keyof typeof sum)[]) sum[key] += figures[key] * hosts.length
  }
  return sum
}
