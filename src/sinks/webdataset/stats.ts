import type { SampleRow } from './row.js'

/**
 * Failures of the transform stage: the image came, but was refused by a filter or could not be
 * decoded or resized (img2dataset's `failed_to_resize`); every other failure is `failed_to_download`.
 */
const TRANSFORM_CODES = new Set([
  'too-small',
  'bad-aspect-ratio',
  'too-many-pixels',
  'undecodable',
  'transform-failed',
])

/** A shard's `_stats.json`, under img2dataset's names where it has them. */
export interface ShardStats {
  /** Input rows in the shard. */
  count: number
  /** Rows with a sample in the tar. */
  successes: number
  /** Rows without: `failed_to_download + failed_to_resize`. */
  failed: number
  failed_to_download: number
  failed_to_resize: number
  /** Rows by status: `success`, `failed`. */
  status_dict: Record<string, number>
  /** Failed rows by error code (`http-404`, `timeout`, `hash-mismatch`...), codes in order. */
  error_dict: Record<string, number>
  /** Bytes of the images in the tar. */
  bytes: number
  /** When the run that sealed the shard began on it and when it sealed it: seconds since the epoch. */
  start_time: number
  end_time: number
  /** `end_time - start_time`, in seconds. */
  duration: number
}

const seconds = (ms: number) => Math.round(ms) / 1000

/** A shard's counts, row by row. */
export class StatsTally {
  count = 0
  successes = 0
  failedToDownload = 0
  failedToResize = 0
  bytes = 0
  readonly #errors = new Map<string, number>()

  add(row: SampleRow): void {
    this.count++
    if (row.columns.status === 'success') {
      this.successes++
      this.bytes += row.bytes ?? 0
      return
    }
    const code = (row.columns.error_code as string | null) ?? 'unknown'
    if (TRANSFORM_CODES.has(code)) this.failedToResize++
    else this.failedToDownload++
    this.#errors.set(code, (this.#errors.get(code) ?? 0) + 1)
  }

  /** The stats, `startedAt` and `endedAt` in ms since the epoch. */
  stats(startedAt: number, endedAt: number): ShardStats {
    const failed = this.failedToDownload + this.failedToResize
    const status_dict: Record<string, number> = {}
    if (this.successes) status_dict.success = this.successes
    if (failed) status_dict.failed = failed
    const error_dict: Record<string, number> = {}
    for (const code of [...this.#errors.keys()].sort()) error_dict[code] = this.#errors.get(code)!
    return {
      count: this.count,
      successes: this.successes,
      failed,
      failed_to_download: this.failedToDownload,
      failed_to_resize: this.failedToResize,
      status_dict,
      error_dict,
      bytes: this.bytes,
      start_time: seconds(startedAt),
      end_time: seconds(endedAt),
      duration: seconds(endedAt - startedAt),
    }
  }
}

/** The stats of a shard's rows; `startedAt` and `endedAt` in ms since the epoch. */
export function shardStats(rows: Iterable<SampleRow>, startedAt: number, endedAt: number): ShardStats {
  const tally = new StatsTally()
  for (const row of rows) tally.add(row)
  return tally.stats(startedAt, endedAt)
}
