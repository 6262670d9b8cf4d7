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

/** The stats of a shard's rows; `startedAt` and `endedAt` in ms since the epoch. */
export function shardStats(rows: readonly SampleRow[], startedAt: number, endedAt: number): ShardStats {
  const stats: ShardStats = {
    count: rows.length,
    successes: 0,
    failed: 0,
    failed_to_download: 0,
    failed_to_resize: 0,
    status_dict: {},
    error_dict: {},
    bytes: 0,
    start_time: seconds(startedAt),
    end_time: seconds(endedAt),
    duration: seconds(endedAt - startedAt),
  }
  const errors = new Map<string, number>()
  for (const row of rows) {
    const status = row.columns.status as string
    stats.status_dict[status] = (stats.status_dict[status] ?? 0) + 1
    if (status === 'success') {
      stats.successes++
      stats.bytes += row.bytes ?? 0
      continue
    }
    stats.failed++
    const code = (row.columns.error_code as string | null) ?? 'unknown'
    if (TRANSFORM_CODES.has(code)) stats.failed_to_resize++
    else stats.failed_to_download++
    errors.set(code, (errors.get(code) ?? 0) + 1)
  }
  for (const code of [...errors.keys()].sort()) stats.error_dict[code] = errors.get(code)!
  return stats
}
