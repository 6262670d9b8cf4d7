import { existsSync } from 'node:fs'
import { readdir, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { UsageError } from '../errors.js'
import type { Journal } from '../journal/journal.js'
import type { Layout } from '../layout.js'
import { canonicalColour, defaultTransformSpec, type TransformSpec } from '../transform/spec.js'
import type { RowColumns } from '../types.js'
import { visibleShellWord } from '../utils/command-line.js'
import { writeOwnFile } from '../utils/own-file.js'
import { parseSamplePath } from './webdataset/keys.js'

/** What an output folder holds, as `OUT/.imgpull/dataset.json` says (written by webdataset runs). */
interface DatasetInfo {
  format: 'webdataset'
  shardSize: number
  /**
   * How its images were written (absent in folders of runs before it was recorded): the transform
   * options that shape an image, as their command-line flags (`--resize center-crop --size 224`),
   * `''` for images as downloaded.
   */
  images?: string
  /** Which flags `images` records (see `IMAGES_VERSION`); absent in folders of runs before. */
  imagesVersion?: number
  /**
   * What its rows say besides imgpull's own columns (absent in folders of runs before it was
   * recorded, and of sources that do not say): see `Source.rowColumns`.
   */
  rows?: RowColumns
}

/**
 * The version of the flags a folder's record holds (`images`, `imageFlags`): 2 records
 * `--background` and `--keep-metadata` (dde74a6). A record without it may have been made with
 * either: see `sameImages`.
 */
const IMAGES_VERSION = 2

/** The flags records before `IMAGES_VERSION` 2 did not hold, each with its value. */
const LATER_FLAGS = /(?:^| )(?:--background \S+|--keep-metadata)(?= |$)/g

/**
 * Whether a run that asks for images `run` may add to a folder recorded as `recorded`, of record
 * `version`: the same flags; or, in a record before `IMAGES_VERSION` 2 (which did not record
 * `--background` nor `--keep-metadata`, so says nothing of them), the same flags but those.
 */
export function sameImages(recorded: string, version: number | undefined, run: string): boolean {
  if (recorded === run) return true
  const without = (flags: string) => flags.replace(LATER_FLAGS, '').trim()
  return version === undefined && without(recorded) === without(run)
}

/**
 * The flags of `spec` that shape the image written (mode, size, format, quality, padding colour,
 * metadata kept), as a command line would give them: shards made with others hold images of other
 * sizes and formats, padded in another colour, or carrying GPS positions beside ones that do not.
 * `--background` counts where it shows (`border`'s padding, transparency under `--encode jpg`), in
 * one spelling (`white` is the default `#ffffff`); `--keep-metadata` where images are written anew.
 */
export function imageFlags(spec: Partial<TransformSpec> = {}): string {
  const flags: string[] = []
  const resizing = spec.resize !== undefined && spec.resize !== 'no'
  if (resizing) flags.push(`--resize ${spec.resize} --size ${spec.size}`)
  if (resizing && spec.resizeOnlyIfBigger) flags.push('--resize-only-if-bigger')
  if (spec.encode) flags.push(`--encode ${spec.encode}`)
  if (spec.quality !== undefined) flags.push(`--quality ${spec.quality}`)
  const background = spec.background === undefined ? undefined : canonicalColour(spec.background)
  if (
    (spec.resize === 'border' || spec.encode === 'jpg') &&
    background &&
    background !== defaultTransformSpec.background
  )
    flags.push(`--background ${background}`)
  if ((resizing || spec.encode) && spec.keepMetadata) flags.push('--keep-metadata')
  return flags.join(' ')
}

/** The images `flags` make, in words; `sized`: the source offers sizes of its own (`Source.imageFlags`). */
const described = (flags: string, sized = false) =>
  flags
    ? `made with ${flags}`
    : sized
      ? "as downloaded at the source's default size (no --size, --resize, --encode or --quality)"
      : 'as downloaded (no --resize, --encode or --quality)'

/**
 * How the rows a folder was made with (`made`) differ from a run's, as the options that chose them
 * (`--caption-col caption, where this run gives none`; `the columns a,b carried (--columns a,b), where
 * this run carries a`), or `''` where they do not.
 */
export function rowsDiffer(made: RowColumns, run: RowColumns): string {
  const list = (columns: readonly string[]) => (columns.length ? columns.join(',') : 'none')
  const differ: string[] = []
  if (made.caption !== run.caption)
    differ.push(
      `${made.caption === null ? 'no --caption-col' : `--caption-col ${made.caption}`}, where this run gives ${run.caption === null ? 'none' : `--caption-col ${run.caption}`}`,
    )
  // Unknown carried columns (a gzip-compressed Parquet file's) are not compared.
  if (made.columns && run.columns && list(made.columns) !== list(run.columns))
    // Carried by default or by --columns: either way, --columns is how to carry the same again.
    differ.push(
      `the columns ${list(made.columns)} carried (--columns ${list(made.columns)}), where this run carries ${list(run.columns)}`,
    )
  return differ.join('; and ')
}

/**
 * What `OUT/.imgpull/dataset.json` says, or `undefined` where there is none. One that cannot be
 * read is a `UsageError`: where the folder holds shards, removing it would leave them unclaimed
 * (the folder then reads as one of files), so the message says how to write it again instead.
 */
async function readInfo(paths: Layout, journal: Journal): Promise<DatasetInfo | undefined> {
  const path = paths.dataset
  if (!existsSync(path)) return undefined
  try {
    const info = JSON.parse(await readFile(path, 'utf8')) as DatasetInfo
    if (info.format === 'webdataset' && Number.isInteger(info.shardSize)) return info
  } catch {}
  if (holdsSamples(journal) || (await foreignShard(paths.out)))
    throw new UsageError(
      `${visibleShellWord(path)} is damaged: it records the shard size of the WebDataset shards in ${visibleShellWord(paths.out)}; ${REWRITE}`,
    )
  throw new UsageError(
    `${visibleShellWord(path)} is not what imgpull wrote there: remove it, or use another output folder`,
  )
}

/** How to write a lost or damaged `dataset.json` again (its `images` left out: not checked then). */
const REWRITE =
  'write it again as {"format":"webdataset","shardSize":N}, N the --shard-size they were made with (the count in 00000_stats.json), or use another output folder'

/**
 * Whether the journal's first record with a path names a WebDataset sample (`00000.tar/KEY.ext`): a
 * folder of shards. (Read only where `dataset.json` is gone or damaged.)
 */
function holdsSamples(journal: Journal): boolean {
  let read = 0
  for (const record of journal.records()) {
    if (record.path !== undefined) return parseSamplePath(record.path) !== undefined
    // A journal that starts with many failures: its first rows say enough (no sample, no loss).
    if (++read === SAMPLES_LOOKED_AT) return false
  }
  return false
}

/** Records `holdsSamples` reads at most: every files run without a `dataset.json` asks it. */
const SAMPLES_LOOKED_AT = 1000

/**
 * A shard's files by name (`00000.tar`, `00000.parquet`, `00000_stats.json`: five digits or more,
 * as imgpull and img2dataset write them; Hugging Face's `0000.parquet` inputs are not).
 */
const SHARD_FILE = /^\d{5,}(?:\.tar|\.parquet|_stats\.json)$/

/**
 * The first shard file in `out` (a name like `00000.tar`; with `folders`, also a queue's shard
 * folder in files output, `00000`), or `undefined`: in a folder no imgpull
 * run or queue has claimed, such files are another tool's (or a claimed folder's, its `.imgpull/`
 * removed), and a run would take them for its own or write over them.
 */
export async function foreignShard(out: string, { folders = false } = {}): Promise<string | undefined> {
  const names = await readdir(out).catch(() => [] as string[])
  return names.sort().find((name) => SHARD_FILE.test(name) || (folders && SHARD_FOLDER.test(name)))
}

/** A shard's tar compressed in its place (`00000.tar.gz`, `.tgz`, `.tar.zst`...), and its compression. */
const PACKED_TAR = /^(\d{5,})\.(?:tar\.(gz|zst|xz|bz2|lz4)|(tgz))$/
const UNPACKER: Readonly<Record<string, string>> = {
  gz: 'gzip',
  tgz: 'gzip',
  zst: 'zstd',
  xz: 'xz',
  bz2: 'bzip2',
  lz4: 'lz4',
}

/**
 * Why a rerun into `out` must not start, when a shard's tar was compressed in its place
 * (`gzip 00000.tar`, as WebDataset reads `.tar.gz` shards): the shard would read as one never
 * sealed, its samples fetched again and a second tar written beside the compressed one (a whole
 * dataset fetched again, saying nothing). `undefined` when every compressed tar has its plain one.
 */
async function packedShard(out: string): Promise<string | undefined> {
  const names = (await readdir(out).catch(() => [] as string[])).sort()
  const present = new Set(names)
  for (const name of names) {
    const m = PACKED_TAR.exec(name)
    if (!m || present.has(`${m[1]}.tar`)) continue
    const packed = visibleShellWord(join(out, name))
    const tar = visibleShellWord(join(out, `${m[1]}.tar`))
    return `${visibleShellWord(out)} holds ${name} but not ${m[1]}.tar: imgpull skips and seals again shards of plain tars only, so this run would fetch that shard's samples again and write ${m[1]}.tar beside it; unpack it first (${UNPACKER[m[2] ?? m[3]]} -dc ${packed} > ${tar}), or move it away to fetch its samples anew`
  }
  return undefined
}

/**
 * A queue's shard folder in files output (`00000/`; a queue of over 99,999 shards names more
 * digits, but a folder of eight is more likely a date of the user's): `folders` in `foreignShard`.
 */
const SHARD_FOLDER = /^\d{5}$/

/**
 * Keep one output folder to one kind of output: a sample's shard and key follow from the shard
 * size, and a folder of files and a folder of shards resume differently. A webdataset run records
 * its shard size in `OUT/.imgpull/dataset.json`; a later run with another output format or shard
 * size, or a webdataset run into a folder an earlier files run used, is a `UsageError` before
 * anything is fetched, and so is a first webdataset run into a folder that holds shards it did not
 * write (a queue's, another tool's). It records the options that shape the images too
 * (`imageFlags`): a rerun with others would add samples unlike those it keeps, and is refused.
 */
export async function claimFolder(
  paths: Layout,
  format: 'files' | 'webdataset',
  shardSize: number,
  journal: Journal,
  transform?: Partial<TransformSpec>,
  rows?: RowColumns,
  journaled = true,
  fetched?: string,
): Promise<void> {
  // What the images are: what the source fetched (`Source.imageFlags`), then what was made of it.
  const images = [fetched, imageFlags(transform)].filter(Boolean).join(' ')
  const words = (flags: string) => described(flags, fetched !== undefined)
  const info = await readInfo(paths, journal)
  // Its shards are still the journal's: a run of either format would take the folder for another's.
  if (!info && holdsSamples(journal))
    throw new UsageError(
      `${visibleShellWord(paths.out)} holds WebDataset shards whose record, ${visibleShellWord(paths.dataset)}, is gone: ${REWRITE}`,
    )
  const again = (n: number) => `--output-format webdataset --shard-size ${n}`
  // A webdataset run that read no row (a header-only table, a stop before the first) recorded a
  // layout it never used: the folder holds no shard, and takes this run's layout instead.
  const unused = info !== undefined && !hasRecords(journal) && !(await foreignShard(paths.out))
  if (unused && format === 'files') await rm(paths.dataset, { force: true })
  else if (unused && info!.shardSize !== shardSize) return writeInfo(paths, shardSize, images, rows)
  if (format === 'files') {
    if (info && !unused)
      throw new UsageError(
        `${visibleShellWord(paths.out)} holds WebDataset shards of ${info.shardSize} samples: run with ${again(info.shardSize)}, or use another output folder`,
      )
    // A run without a journal skips nothing: it never keeps an earlier image in place of its own.
    if (journaled) await claimFiles(paths, journal, images, words, rows)
    return
  }
  if (info) {
    if (info.shardSize !== shardSize)
      throw new UsageError(
        `${visibleShellWord(paths.out)} holds WebDataset shards of ${info.shardSize} samples, not ${shardSize}: run with --shard-size ${info.shardSize}, or use another output folder`,
      )
    const packed = await packedShard(paths.out)
    if (packed) throw new UsageError(packed)
    // Samples already there are not made again: a rerun with other transform options would
    // leave images of two sizes or formats in one dataset, saying nothing.
    const otherImages = info.images !== undefined && !sameImages(info.images, info.imagesVersion, images)
    // Nothing kept yet (a first run stopped early, or every row failed): the folder takes the new ones.
    if (otherImages && keptAny(journal))
      throw new UsageError(
        `${visibleShellWord(paths.out)} holds WebDataset shards of images ${words(info.images!)}, where this run asks for images ${words(images)}: samples already there are not made again, so run with the same options, or use another output folder`,
      )
    // Sealed shards hold their rows' captions and columns: other ones would seal every shard
    // again (from its tar), and a forgotten --caption-col would drop every caption.
    const otherRows = rows !== undefined && info.rows !== undefined && rowsDiffer(info.rows, rows) !== ''
    if (otherRows && (await foreignShard(paths.out)))
      throw new UsageError(
        `${visibleShellWord(paths.out)} holds WebDataset shards whose rows were made with ${rowsDiffer(info.rows!, rows!)}: sealed shards are not sealed again with other captions or columns, so run with the same options, or use another output folder`,
      )
    // A folder of an earlier version records them from now on: this run's, which its own agree with.
    const older = info.imagesVersion === undefined
    if (otherImages || older || otherRows || (info.rows === undefined && rows !== undefined))
      return writeInfo(paths, shardSize, otherImages || older ? images : info.images, rows ?? info.rows)
    return
  }
  if (existsSync(join(paths.work, 'queue', 'input.json')))
    throw new UsageError(
      `${visibleShellWord(paths.out)} holds the shards of a queue (imgpull worker): use another output folder for this run`,
    )
  const shard = await foreignShard(paths.out)
  if (shard)
    throw new UsageError(
      `${visibleShellWord(paths.out)} holds ${shard}, which no imgpull run here wrote: use another output folder, or move the shards away`,
    )
  if (hasRecords(journal))
    throw new UsageError(
      `${visibleShellWord(paths.out)} holds the files of an earlier run (--output-format files): use another output folder for WebDataset shards`,
    )
  // A files run that read no row may have left its record: the folder is the shards' now.
  await rm(paths.files, { force: true })
  await writeInfo(paths, shardSize, images, rows)
}

/**
 * Keep a folder of files to one kind of image, as `dataset.json` keeps shards: a rerun skips the
 * images earlier runs kept, so one with other `--resize`, `--size`, `--encode`... would leave
 * images of two sizes or formats side by side, saying nothing. `OUT/.imgpull/files.json` records
 * the options the folder's images were made with; a run asking for others, once an image is kept,
 * is a `UsageError` before anything is fetched. A folder of an earlier version records this run's
 * from now on (what its images are is not known). So for what a table's rows carry (`rows`: the
 * `--caption-col`, the columns carried), as shards' are kept: the manifest gives each row's caption
 * and columns, and a rerun with others gave the rows it reached its own and the others the earlier
 * run's (a forgotten `--caption-col` kept every old caption), two runs' metadata in one manifest.
 */
async function claimFiles(
  paths: Layout,
  journal: Journal,
  images: string,
  words: (flags: string) => string,
  rows?: RowColumns,
): Promise<void> {
  let made: string | undefined
  let version: number | undefined
  let madeRows: RowColumns | undefined
  const onDisk = await readFile(paths.files, 'utf8').catch(() => undefined)
  // The journal keeps a copy: a files.json removed (a clean-up of *.json) or damaged (cut by a power
  // loss) while the journal stays was taken for a folder of an earlier version, and a rerun with
  // other --resize or --encode options mixed two kinds of image, saying nothing (the sibling of a
  // gallery-dl archive lost beside its files, mikf/gallery-dl#5419). `undefined`: a journal of an
  // earlier version, whose record was never copied.
  const copy = journal.folderRecord?.()
  let read: string | undefined
  for (const text of [onDisk, copy]) {
    try {
      const info = JSON.parse(text ?? '') as FilesInfo
      if (info.format !== 'files' || typeof info.images !== 'string') continue
      made = info.images
      if (Number.isInteger(info.imagesVersion)) version = info.imagesVersion
      if (info.rows && typeof info.rows === 'object') madeRows = info.rows
      read = text
      break
    } catch {} // none, or damaged: unknown, as in a folder of an earlier version
  }
  const otherRows = rows !== undefined && madeRows !== undefined && rowsDiffer(madeRows, rows) !== ''
  if (made === images && version === IMAGES_VERSION && !otherRows && (rows === undefined || madeRows)) {
    // The record kept where it is missing: files.json written again from the journal's copy, or
    // copied into a journal that has none yet (made before it kept one).
    if (read !== copy) journal.setFolderRecord?.(read!)
    if (read !== onDisk) {
      await writeOwnFile(`${paths.files}.tmp`, read!)
      await rename(`${paths.files}.tmp`, paths.files)
    }
    return
  }
  // An earlier version's record is written again with this run's flags, which its own agree with.
  if (made !== undefined && !sameImages(made, version, images) && keptAny(journal))
    throw new UsageError(
      `${visibleShellWord(paths.out)} holds images ${words(made)}, where this run asks for images ${words(images)}: images already there are not made again, so run with the same options, or use another output folder`,
    )
  if (otherRows && keptAny(journal))
    throw new UsageError(
      `${visibleShellWord(paths.out)} holds images whose rows were made with ${rowsDiffer(madeRows!, rows!)}: the rows it reaches would get its captions and columns in the manifest and the others keep the earlier ones, so run with the same options, or use another output folder`,
    )
  // A run of a list keeps the rows' record of the table run before it.
  const kept = rows ?? madeRows
  const text = `${JSON.stringify({ format: 'files', images, imagesVersion: IMAGES_VERSION, ...(kept ? { rows: kept } : {}) } satisfies FilesInfo)}\n`
  journal.setFolderRecord?.(text)
  await writeOwnFile(`${paths.files}.tmp`, text)
  await rename(`${paths.files}.tmp`, paths.files)
}

/** What `OUT/.imgpull/files.json` says: the options a folder of files' images were made with (`imageFlags`). */
interface FilesInfo {
  format: 'files'
  images: string
  /** See `IMAGES_VERSION`; absent in folders of runs before. */
  imagesVersion?: number
  /** What a table's rows carry (see `Source.rowColumns`); absent in folders of runs before, and of lists. */
  rows?: RowColumns
}

/** Whether the journal holds any row (stops at the first). */
function hasRecords(journal: Journal): boolean {
  const records = journal.records()[Symbol.iterator]()
  const earlier = !records.next().done
  records.return?.()
  return earlier
}

/** Whether the journal holds an image kept by an earlier run (stops at the first). */
function keptAny(journal: Journal): boolean {
  for (const record of journal.records()) if (record.state === 'ok') return true
  return false
}

async function writeInfo(
  paths: Layout,
  shardSize: number,
  images: string | undefined,
  rows: RowColumns | undefined,
): Promise<void> {
  const imagesVersion = images === undefined ? undefined : IMAGES_VERSION
  const text = `${JSON.stringify({ format: 'webdataset', shardSize, images, imagesVersion, rows } satisfies DatasetInfo)}\n`
  await writeOwnFile(`${paths.dataset}.tmp`, text)
  await rename(`${paths.dataset}.tmp`, paths.dataset)
}
