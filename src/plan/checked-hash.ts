import type { JobRecord } from '../journal/journal.js'
import type { Job } from '../types.js'

/** A job's expected digest as the journal keeps it: `type:hex` (`sha256:9f86…`), or none. */
const spelled = (hash: Job['expectedHash']) => hash && `${hash.type}:${hash.value}`

/**
 * What the journal records of a failure with `code` beside its outcome: for a `hash-mismatch`,
 * the digest the body was checked against (the row's hash cell, of its `--hash-type`); nothing
 * for any other failure.
 */
export function checkedHash(job: Job, code: string): string | undefined {
  return code === 'hash-mismatch' ? spelled(job.expectedHash) : undefined
}

/**
 * The expected digest of a `hash-mismatch` recorded before the journal kept it: its message says
 * it at its end, after the URL (`<url>: sha256 is <got>, not <expected> as the input says`, see
 * `FileCheck.finish`).
 */
const FROM_MESSAGE = /(?:^|: )(sha256|md5) is [0-9a-f]+, not ([0-9a-f]+) as the input says$/

/**
 * Whether an earlier run's failure still holds for `job` as the table gives it now. Only a
 * `hash-mismatch` is judged here: it holds while the row names the digest it was checked against
 * (its `checkedHash`, or its message in a journal written before that was kept). A row whose hash
 * cell was corrected, emptied, or read as another `--hash-type` since was judged against what
 * the table no longer says: it is fetched again (the body was not kept, so there is nothing to
 * check without a request). One whose expected digest cannot be told keeps its verdict.
 * Every other failure holds (`retriedOnRerun` and `ROW_ERRORS` decide those).
 */
export function failureHolds(job: Job, earlier: JobRecord): boolean {
  if (earlier.error !== 'hash-mismatch') return true
  const said = FROM_MESSAGE.exec(earlier.message ?? '')
  const checked = earlier.checkedHash ?? (said ? `${said[1]}:${said[2]}` : undefined)
  return checked === undefined || checked === spelled(job.expectedHash)
}
