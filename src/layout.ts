import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { hostname } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { UsageError } from './errors.js'
import { visibleShellWord } from './utils/command-line.js'
import { nearFileSync } from './utils/near-file.js'
import { processEnded, temporaryName } from './utils/processes.js'

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
 *       nojournal-HOST-PID-R/ a --no-journal run's own parts (it holds no lock), removed as it ends
 *     unsplash.db           the Unsplash listing and download tracking
 *     dataset.json          what the folder holds: shards of how many samples (webdataset only)
 *     files.json            how the images of a folder of files were made (files output, with a journal)
 *     shards/               webdataset work, per shard:
 *       00000.spool           its samples that came whole in memory (most), one ustar entry each
 *       00000/                its larger or transformed samples (KEY.jpg...), staged as files
 *                             (spool and folder until the shard is sealed)
 *       00000.rows            this run's rows of it (JSON lines), for its Parquet and stats
 *       00000.tar.tmp ...     its outputs being written, renamed into OUT when whole
 *       00000.seal.json       what the sealed shard holds, to tell whether a rerun changed it
 *     *.HOST.PID.tmp        files being written, renamed into place when whole (a killed
 *                           run's are removed by the next run on this host; a killed
 *                           report's, by the next report written)
 * ```
 */
export const WORK_DIR = '.imgpull'

export interface Layout {
  /** The output folder itself. */
  readonly out: string
  /** The work folder, `OUT/.imgpull`. */
  readonly work: string
  /** Part files: `OUT/.imgpull/parts`, or a run's own folder in it (see `privateParts`). */
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
  /** How a folder of files' images were made (files runs with a journal write it): `OUT/.imgpull/files.json`. */
  readonly files: string
  /** WebDataset work files: `OUT/.imgpull/shards`. */
  readonly shards: string
  /** A shard's output in the folder: `OUT/00000.tar`, `OUT/00000.parquet`, `OUT/00000_stats.json`. */
  shard(stem: string, kind: ShardFile): string
  /** A temporary file in the work folder for `name`, unique to this process (see `temporaryName`). */
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
    files: join(work, 'files.json'),
    shards: join(work, 'shards'),
    shard: (stem, kind) => join(out, stem + SHARD_FILES[kind]),
    tmp: (name) => join(work, temporaryName(name)),
  }
}

/** A SQLite file imgpull keeps, with the `-wal`, `-shm` and `-journal` files SQLite keeps beside it. */
export function sqliteFiles(path: string, holds: string): { path: string; holds: string }[] {
  return ['', '-wal', '-shm', '-journal'].map((suffix) => ({ path: path + suffix, holds }))
}

/**
 * The files a run with a journal or a lock keeps in `OUT/.imgpull` under names of its own, each
 * with what it holds: a folder at one of those names is no file imgpull can write (see
 * `workFileInTheWay`). An Unsplash run's `unsplash.db` is its source's, looked at as it opens.
 */
export function workFiles(paths: Layout): { path: string; holds: string }[] {
  return [
    ...sqliteFiles(paths.journal, "the folder's journal"),
    ...sqliteFiles(paths.lock, "the folder's lock"),
    { path: paths.lockHolder, holds: 'who holds the lock' },
    { path: paths.dataset, holds: 'what the folder holds (WebDataset shards or files)' },
    { path: paths.files, holds: "how the folder's images were made" },
  ]
}

/**
 * What of the output folder's own files a table reader would take for a table, by name in `out`
 * (`entries`: the folder's names): the manifest (JSON lines with a `url` key), and a shard's
 * Parquet file (one row per input row, `url` among its columns) beside its tar. `undefined` for
 * any other file.
 */
export function ownTableLike(name: string, entries: ReadonlySet<string>): string | undefined {
  if (name === MANIFEST) return 'the manifest imgpull writes there'
  const shard = /^(\d{5,})\.parquet$/.exec(name)
  if (shard && entries.has(shard[1] + SHARD_FILES.tar))
    return "a WebDataset shard's Parquet file imgpull wrote there"
  return undefined
}

const PRIVATE_PARTS = /^nojournal-(.+)-(\d+)-[0-9a-f]+$/

/**
 * The layout for a run that keeps no journal: it holds no lock, so another run may be on the
 * folder and fetch the same URL; its parts go to a folder of its own in `parts`
 * (`nojournal-HOST-PID-RANDOM`), never to a part file another run writes.
 */
export function privateParts(paths: Layout): Layout {
  const name = `nojournal-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`
  return { ...paths, parts: join(paths.parts, name) }
}

/**
 * Whether `name` (an entry of `parts`) is the folder of a journal-less run of this host that is
 * no longer running (it was killed): what it left can go.
 */
export function isStalePrivateParts(name: string): boolean {
  const match = PRIVATE_PARTS.exec(name)
  return match !== null && processEnded(match[1], Number(match[2]))
}

/**
 * The usage error for a folder without a journal, for `status` and `report`: a queue's output
 * folder (`OUT/.imgpull/queue/`, see queue/publish.ts) has none of its own, and is read through
 * its shards' (see `queueShardJournals`): one with none yet is said to be such; a WebDataset
 * shard's name given as a folder (`OUT/00012`: its shard is `OUT/00012.tar`) names where its
 * journal is; a file given for the folder (the list) is said to be one, and a folder that is not
 * there, so.
 */
export function noJournal(dir: string, paths: Layout, why = ''): UsageError {
  const stat = statSync(dir, { throwIfNoEntry: false })
  // `imgpull report photos/.imgpull` (or its journal, its report, a --name subfolder): the output
  // folder it is in named, where `.imgpull` was said to hold no journal, beside the journal itself.
  const outer = stat ? outputFolderAbove(dir) : undefined
  if (outer !== undefined)
    return new UsageError(
      `${visibleShellWord(dir, 'always')} is inside the output folder ${visibleShellWord(outer, 'always')}, not one itself: give ${visibleShellWord(outer, 'always')}, which holds its journal`,
    )
  // `imgpull status urls.txt`: the list given for the folder the run wrote.
  if (stat?.isFile())
    return new UsageError(
      `${visibleShellWord(dir, 'always')} is a file, not an output folder: give the folder a run wrote (its -o), which holds its journal`,
    )
  if (!stat) {
    // `imgpull status OUT/00012` for a queue's WebDataset shard: its journal stays in the work folder.
    const shard = basename(dir)
    const kept = join(dirname(dir), WORK_DIR, 'queue', shard)
    if (SHARD_STEM.test(shard) && existsSync(layout(kept).journal))
      return new UsageError(
        `no imgpull journal in ${visibleShellWord(dir, 'always')}: there is no such folder; WebDataset shard ${shard}'s journal is in ${visibleShellWord(kept)}: give that folder`,
      )
    // `imgpull status photo` for the run's `photos`: the output folder beside it meant.
    const near = nearFileSync(dir, (meant) => existsSync(layout(meant).journal))
    return new UsageError(
      `no imgpull journal in ${visibleShellWord(dir, 'always')}: there is no such folder${near}`,
    )
  }
  // A queue's output folder with shards is read whole (see queueShardJournals): this one has none yet.
  const hint = existsSync(join(paths.work, 'queue'))
    ? ": it is a queue's output folder where no worker has begun a shard yet; see imgpull status --redis URL --queue NAME"
    : ''
  return new UsageError(
    `no imgpull journal in ${visibleShellWord(dir, 'always')} (looked for ${visibleShellWord(paths.journal)})${why}${hint}`,
  )
}

/**
 * The nearest folder above `path` (up to 8 levels) that holds an imgpull journal, as `path` names
 * it (`photos/.imgpull` gives `photos`); `undefined` where none does.
 */
function outputFolderAbove(path: string): string | undefined {
  let at = path
  for (let level = 0; level < 8; level++) {
    // A relative path stops at the working folder (`sub` gives `.`), an absolute one at `/`.
    const up = dirname(at)
    if (up === at) return undefined
    at = up
    if (existsSync(layout(at).journal)) return at
  }
  return undefined
}

/** A shard's name: its number, 5 digits or more. */
const SHARD_STEM = /^\d{5,}$/

/**
 * The queue's output folder and the shard's number when `dir` is a queue shard's work folder
 * (`OUT/.imgpull/queue/00012`, see queue/publish.ts), where a WebDataset shard's journal stays once
 * its tar is published as `OUT/00012.tar`; `undefined` for any other folder. Pure: from the path.
 */
export function queueShardFolder(dir: string): { out: string; stem: string } | undefined {
  const stem = basename(dir)
  const queue = dirname(dir)
  const work = dirname(queue)
  if (!SHARD_STEM.test(stem) || basename(queue) !== 'queue' || basename(work) !== WORK_DIR) return undefined
  return { out: dirname(work), stem }
}

/**
 * The journals of a queue's output folder `dir` (one whose `.imgpull/queue/` workers wrote), one a
 * shard, in shard order: a published files shard's folder (`OUT/00012`), else the shard's work
 * folder (`OUT/.imgpull/queue/00012`: a WebDataset shard's, or one being run). `undefined` when
 * `dir` holds no queue's shards.
 */
export function queueShardJournals(dir: string): Layout[] | undefined {
  const queue = join(layout(dir).work, 'queue')
  if (!existsSync(queue)) return undefined
  const found = new Map<string, Layout>()
  for (const parent of [dir, queue]) {
    let names: string[]
    try {
      names = readdirSync(parent).filter((name) => SHARD_STEM.test(name))
    } catch {
      continue
    }
    for (const name of names) {
      const paths = layout(join(parent, name))
      if (!found.has(name) && existsSync(paths.journal)) found.set(name, paths)
    }
  }
  return [...found].sort(([a], [b]) => Number(a) - Number(b)).map(([, paths]) => paths)
}
