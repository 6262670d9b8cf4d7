import { counted, formatBytes, formatDuration, formatRate, grouped } from './format.js'

/** Counts a run keeps for its summary. */
export interface Tally {
  ok: number
  skipped: number
  /** Failures of this run. */
  failed: number
  /** Permanent failures recorded by an earlier run, not tried again (see `retriedOnRerun`). */
  failedBefore: number
  /**
   * Of `failed` and `failedBefore`, a sharing site's page in place of the image (see
   * `isSharePageFailure`): another link in the input helps, `--retry-failed` does not.
   */
  sharePages: number
  /** Of those, the earlier run's (in `failedBefore`). */
  sharePagesBefore: number
  /**
   * Of `failedBefore`, the input's own (`INPUT_ERRORS`: a line that is no URL, a placeholder host):
   * `--retry-failed` fails them again without a request; mending the input is what helps.
   */
  inputOwnBefore: number
  bytes: number
  duplicates: number
  interrupted: number
  /**
   * Inputs a stop or an error left unread (the rest of a list or table past `read`): 0 when the
   * input was read to its end, `null` when it was not and its size is not known (a table, stdin).
   */
  notRead: number | null
  /** Failure counts by error code. */
  errors: Map<string, number>
}

export function newTally(): Tally {
  return {
    ok: 0,
    skipped: 0,
    failed: 0,
    failedBefore: 0,
    sharePages: 0,
    sharePagesBefore: 0,
    inputOwnBefore: 0,
    bytes: 0,
    duplicates: 0,
    interrupted: 0,
    notRead: 0,
    errors: new Map(),
  }
}

/**
 * The closing line, e.g. `15 images, 67.5 MB in 1.5 s (10.0 img/s, 45.0 MB/s), 0 failed`. The byte
 * rate in the unit that reads best, as the progress line's and the report's: 36 small images
 * read `0.0 MB/s` in MB alone.
 */
export function summaryLine(t: Tally, ms: number): string {
  const bytesPerSecond = ms > 0 ? (t.bytes * 1000) / ms : 0
  const parts = [
    `${counted(t.ok, 'image')}, ${formatBytes(t.bytes)} in ${formatDuration(ms)} (${formatRate(t.ok, ms, 'img')}, ${formatBytes(bytesPerSecond)}/s), ${grouped(t.failed)} failed`,
  ]
  if (t.skipped) parts.push(`${grouped(t.skipped)} already done`)
  if (t.failedBefore)
    parts.push(`${grouped(t.failedBefore)} skipped as permanently failed before (${failedBeforeAgain(t)})`)
  if (t.duplicates) parts.push(`${counted(t.duplicates, 'duplicate')} skipped`)
  if (t.interrupted) parts.push(`${grouped(t.interrupted)} left for the next run`)
  // The input past what was read: in no count above, so say so, else the counts seem to be all.
  if (t.notRead === null) parts.push(`the rest of the input (past its first ${grouped(read(t))}) not reached`)
  else if (t.notRead) parts.push(`${grouped(t.notRead)} not reached`)
  return parts.join(', ')
}

/**
 * What tries the failures skipped as failed before again, in words: `--retry-failed`, but not a
 * sharing site's page, which would come again as it is (`sharePageWords` says what does), nor the
 * input's own, which every run fails again until the line or row is mended (`inputOwnWords`).
 */
function failedBeforeAgain(t: Tally): string {
  const pages = t.sharePagesBefore
  const own = t.inputOwnBefore
  const ownWords = `the input's own, which every run fails again until the input is mended`
  if (own === t.failedBefore) return ownWords
  if (pages === t.failedBefore)
    return `sharing sites' pages, which --retry-failed would fetch again as they are: see below`
  const but = [
    pages === 1 ? `1 of them is a sharing site's page, which it would fetch again as it is: see below` : '',
    pages > 1
      ? `${grouped(pages)} of them are sharing sites' pages, which it would fetch again as they are: see below`
      : '',
    own > 0 ? `${grouped(own)} of them ${own === 1 ? 'is' : 'are'} ${ownWords}` : '',
  ].filter(Boolean)
  return but.length === 0
    ? '--retry-failed tries them again'
    : `--retry-failed tries them again, but ${but.join('; ')}`
}

/** Inputs the run read: every count of the summary. */
function read(t: Tally): number {
  return t.ok + t.skipped + t.failed + t.failedBefore + t.duplicates + t.interrupted
}

/** Failure breakdown, commonest first: `http-404 ×3, timeout ×1`. */
export function errorBreakdown(t: Tally): string {
  return [...t.errors.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code} ×${grouped(n)}`)
    .join(', ')
}
