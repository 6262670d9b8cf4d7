import { join } from 'node:path'

/**
 * Where everything lives in an output folder. Every path imgpull reads or writes there comes
 * from here:
 *
 * ```
 * OUT/
 *   <the images>            files under their final names (--output-format files), or
 *   00000.tar               WebDataset shards (--output-format webdataset), each with
 *   00000.parquet             one row per input row of the shard, failures included,
 *   00000_stats.json          and its counts and times
 *   manifest.jsonl          the folder's inventory: one line per job the journal knows
 *   report.html             the run report
 *   ATTRIBUTION.md          credits, for Unsplash runs
 *   .imgpull/               work files; the same file system as the images, so renames are atomic
 *     journal.db            the journal (SQLite, WAL)
 *     lock.db, lock.json    one run at a time (see journal/lock.ts)
 *     parts/                bodies until they are verified and take their final names
 *     unsplash.db           the Unsplash listing and download tracking
 *     dataset.json          what the folder holds: shards of how many samples (webdataset only)
 *     shards/               webdataset work, per shard:
 *       00000/                its downloaded samples (KEY.jpg...), staged until the shard is sealed
 *       00000.rows            this run's rows of it (JSON lines), for its Parquet and stats
 *       00000.tar.tmp ...     its outputs being written, renamed into OUT when whole
 *       00000.seal.json       what the sealed shard holds, to tell whether a rerun changed it
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
  /** What the folder's outputs are (webdataset runs write it): `OUT/.imgpull/dataset.json`. */
  readonly dataset: string
  /** WebDataset work files: `OUT/.imgpull/shards`. */
  readonly shards: string
  /** A shard's output in the folder: `OUT/00000.tar`, `OUT/00000.parquet`, `OUT/00000_stats.json`. */
  shard(stem: string, kind: ShardFile): string
  /** A temporary file in the work folder for `name`, unique to this process. */
  tmp(name: string): string
}

export const MANIFEST = 'manifest.jsonl'
export const REPORT = 'report.html'
export const ATTRIBUTION = 'ATTRIBUTION.md'

/** The files of one WebDataset shard, by their suffix after the shard's number (img2dataset's names). */
export const SHARD_FILES = { tar: '.tar', parquet: '.parquet', stats: '_stats.json' } as const
export type ShardFile = keyof typeof SHARD_FILES

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
    dataset: join(work, 'dataset.json'),
    shards: join(work, 'shards'),
    shard: (stem, kind) => join(out, stem + SHARD_FILES[kind]),
    tmp: (name) => join(work, `${name}.${process.pid}.tmp`),
  }
}
