import { join } from 'node:path'

/**
 * Where everything lives in an output folder. Every path imgpull reads or writes there comes
 * from here:
 *
 * ```
 * OUT/
 *   <the images>            files under their final names (or shards/, with --output-format webdataset)
 *   manifest.jsonl          the folder's inventory: one line per job the journal knows
 *   report.html             the run report
 *   ATTRIBUTION.md          credits, for Unsplash runs
 *   .imgpull/               work files; the same file system as the images, so renames are atomic
 *     journal.db            the journal (SQLite, WAL)
 *     lock.db, lock.json    one run at a time (see journal/lock.ts)
 *     parts/                bodies until they are verified and take their final names
 *     unsplash.db           the Unsplash listing and download tracking
 *     *.tmp                 files being written, renamed into place when whole
 * ```
 */
export const WORK_DIR = '.imgpull'

export interface Layout {
  /** The output folder itself. */
  readonly out: string
  /** The work folder, `OUT/.imgpull`. */
  readonly work: string
  readonly parts: string
  readonly journal: string
  readonly lock: string
  readonly lockHolder: string
  readonly manifest: string
  readonly report: string
  readonly attribution: string
  readonly unsplash: string
  /** A temporary file in the work folder for `name`, unique to this process. */
  tmp(name: string): string
}

export const MANIFEST = 'manifest.jsonl'
export const REPORT = 'report.html'
export const ATTRIBUTION = 'ATTRIBUTION.md'

/** The layout of the output folder `out`. */
export function layout(out: string): Layout {
  const work = join(out, WORK_DIR)
  return {
    out,
    work,
    parts: join(work, 'parts'),
    journal: join(work, 'journal.db'),
    lock: join(work, 'lock.db'),
    lockHolder: join(work, 'lock.json'),
    manifest: join(out, MANIFEST),
    report: join(out, REPORT),
    attribution: join(out, ATTRIBUTION),
    unsplash: join(work, 'unsplash.db'),
    tmp: (name) => join(work, `${name}.${process.pid}.tmp`),
  }
}
