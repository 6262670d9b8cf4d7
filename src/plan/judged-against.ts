import type { JobRecord } from '../journal/journal.js'
import type { Job } from '../types.js'
import { HASH_MISMATCH_REASON } from '../verify/file-check.js'

/**
 * The run's limits a permanent failure is judged against (`ResolvedOptions`' and its transform's):
 * a rerun may give others.
 */
export interface Limits {
  /** `--max-size`, bytes: `too-large`. */
  readonly maxSize: number
  /** `--max-redirects`: `too-many-redirects`. */
  readonly maxRedirects: number
  /** `--min-size`, px: `too-small`; unset, no image is. */
  readonly minSize?: number
  /** `--max-aspect-ratio`: `bad-aspect-ratio`; unset, no image is. */
  readonly maxAspectRatio?: number
  /** `--max-pixels` (or the pool's default): `too-many-pixels`; unset where nothing is decoded. */
  readonly maxPixels?: number
  /** Whether images are decoded (a transform, `--verify decode`): else none is `undecodable`. */
  readonly decodes: boolean
  /** `--ignore-robots-tag`: no image is refused as `robots-tag`. */
  readonly ignoreRobotsTag: boolean
}

/**
 * The failures decided by a limit of the run's, which way it refuses (`max`: over it, `min`:
 * under it), and the option that gives it (as the journal spells what it was).
 */
const BY_LIMIT = {
  'too-large': ['maxSize', 'max', 'max-size'],
  'too-many-redirects': ['maxRedirects', 'max', 'max-redirects'],
  'too-small': ['minSize', 'min', 'min-size'],
  'bad-aspect-ratio': ['maxAspectRatio', 'max', 'max-aspect-ratio'],
  'too-many-pixels': ['maxPixels', 'max', 'max-pixels'],
} as const satisfies Record<string, [keyof Limits, 'max' | 'min', string]>

const byLimit = (code: string | undefined) =>
  code !== undefined && Object.hasOwn(BY_LIMIT, code) ? BY_LIMIT[code as keyof typeof BY_LIMIT] : undefined

/** A job's expected digest as the journal keeps it: `type:hex` (`sha256:9f86…`), or none. */
const spelled = (hash: Job['expectedHash']) => hash && `${hash.type}:${hash.value}`

/**
 * What the journal records beside a failure with `code` (its `checked` column): what it was judged
 * against that a rerun may give otherwise. A `hash-mismatch`: the digest the body was checked
 * against (the row's hash cell, of its `--hash-type`), `sha256:9f86…`; a failure of a limit
 * (`BY_LIMIT`): that limit, `max-size:1048576`. Nothing for any other failure.
 */
export function judgedAgainst(job: Job, code: string, limits: Limits): string | undefined {
  if (code === 'hash-mismatch') return spelled(job.expectedHash)
  const limit = byLimit(code)
  const value = limit && limits[limit[0]]
  return limit && value !== undefined ? `${limit[2]}:${value}` : undefined
}

/**
 * Whether an earlier run's permanent failure still holds for `job` as the table and the run give
 * it now. A `hash-mismatch` holds while the row names the digest it was checked against (its
 * `checked`, or its message in a journal written before that was kept): a hash cell corrected,
 * emptied, or read as another `--hash-type` since was judged against what the table no longer
 * says. A failure of a limit holds while the limit is as strict (`--max-size` no larger,
 * `--min-size` no smaller, ...); one loosened or dropped may let it through. Either is fetched
 * again (the body was not kept: nothing can be checked without a request), and judged anew; so
 * is an `undecodable` of a run that decodes no image now (a plain download keeps it), and a
 * `robots-tag` of one given `--ignore-robots-tag`. One whose judge cannot be told (a journal
 * written before it was kept) keeps its verdict, as does every other failure (`retriedOnRerun`
 * and `ROW_ERRORS` decide those).
 */
export function failureHolds(job: Job, earlier: JobRecord, limits: Limits): boolean {
  if (earlier.error === 'undecodable') return limits.decodes
  if (earlier.error === 'robots-tag') return !limits.ignoreRobotsTag
  if (earlier.error === 'hash-mismatch') {
    const said = HASH_MISMATCH_REASON.exec(earlier.message ?? '')
    const checked = earlier.checked ?? (said ? `${said[1]}:${said[2]}` : undefined)
    return checked === undefined || checked === spelled(job.expectedHash)
  }
  const limit = byLimit(earlier.error)
  const then =
    limit && earlier.checked?.startsWith(`${limit[2]}:`)
      ? Number(earlier.checked.slice(limit[2].length + 1))
      : Number.NaN
  if (!limit || Number.isNaN(then)) return true
  const now = limits[limit[0]]
  if (now === undefined) return false
  return limit[1] === 'max' ? now <= then : now >= then
}
