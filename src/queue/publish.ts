import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { copyFile, link, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { FatalError } from '../errors.js'
import { layout, WORK_DIR } from '../layout.js'
import { cannotLink } from '../sinks/files.js'
import { foreignShard } from '../sinks/folder-format.js'
import { visibleShellWord } from '../utils/command-line.js'
import { makeFolders } from '../utils/folders.js'
import { staleTemporary, temporaryName } from '../utils/processes.js'
import { shardStem } from './keys.js'
import type { ShardCounts } from './shard-data.js'

/**
 * Where a shard job works and what it publishes, in the worker's output folder:
 *
 * ```
 * OUT/
 *   00012/                        files output: the shard's images (and its manifest.jsonl, and
 *                                 its .imgpull/ journal), one folder a shard
 *   00012.tar 00012.parquet       webdataset output: the shard's files, img2dataset's names
 *   00012_stats.json
 *   .imgpull/queue/
 *     00012/                      the shard's run: pull()'s output folder, with its own journal
 *                                 and lock, until published (WebDataset: kept after, less its
 *                                 outputs, for a retry round to go on from its journal)
 *     00012.seed/ 00012.replaced/ files output, a retry round: the published folder being copied,
 *                                 and the one the round's replaces (removed after)
 *     00012.json                  the shard's counts, written before it is published
 *     input.json                  the input whose shards the folder holds (`inputId`)
 * ```
 *
 * Each shard has its own journal and lock, so workers can share an output folder (a network file
 * system) or each have their own; a shard taken over after a worker died resumes from its journal
 * when the folder is shared, and starts over when it is not.
 */
export interface ShardPaths {
  readonly stem: string
  /** The shard's run: `pull()`'s `out`. */
  readonly staging: string
  /** Its counts, kept beside the published outputs' mark. */
  readonly counts: string
  /** Files output: the shard's folder once published. */
  readonly folder: string
  /** WebDataset output: the shard's files once published, the tar last. */
  readonly dataset: readonly { from: string; to: string }[]
}

export type OutputFormat = 'files' | 'webdataset'

/** The suffixes of a WebDataset shard's files, published in this order: the tar is the mark of a whole shard. */
const DATASET_SUFFIXES = ['.parquet', '_stats.json', '.tar'] as const

export function shardPaths(out: string, shard: number): ShardPaths {
  const stem = shardStem(shard)
  const work = join(out, WORK_DIR, 'queue')
  const staging = join(work, stem)
  return {
    stem,
    staging,
    counts: join(work, `${stem}.json`),
    folder: join(out, stem),
    dataset: DATASET_SUFFIXES.map((suffix) => ({
      from: join(staging, stem + suffix),
      to: join(out, stem + suffix),
    })),
  }
}

/** Whether the shard's outputs are in the output folder (a worker published them). */
export function isPublished(paths: ShardPaths, format: OutputFormat): boolean {
  return format === 'files' ? existsSync(paths.folder) : existsSync(paths.dataset.at(-1)!.to)
}

/**
 * The counts of a files shard, inside its folder: written into the staged folder, they are
 * published by the one rename that publishes the shard, and never by a worker that lost it.
 */
const folderCounts = (folder: string) => join(folder, WORK_DIR, 'queue-shard.json')

/** The counts the worker that published the shard wrote, if it did. */
export async function readCounts(
  paths: ShardPaths,
  format: OutputFormat = 'files',
): Promise<ShardCounts | undefined> {
  for (const file of format === 'files' ? [folderCounts(paths.folder), paths.counts] : [paths.counts]) {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as ShardCounts
    } catch {}
  }
  return undefined
}

/**
 * A shard found published, by a worker killed before it had finished: what that worker left
 * undone. Files output: the counts' copy beside the others', written from the folder's own (killed
 * between renaming the folder into place and writing it). WebDataset output: the staged files,
 * removed (killed between renaming the tar into place and removing them; they are links to the
 * published files, or whole copies where no link could be made).
 */
export async function settlePublished(
  paths: ShardPaths,
  format: OutputFormat,
  counts: ShardCounts | undefined,
): Promise<void> {
  if (format === 'webdataset') await dropStagedDataset(paths)
  else if (counts && !existsSync(paths.counts)) {
    await writeCounts(paths.counts, counts)
    await dropTemporaries(paths.counts)
  }
}

/**
 * Write `counts` to `file` whole: under a name of its own, then renamed into place. The name is
 * `temporaryName`'s, so that one a killed worker left is swept as stale (`removeStaleTemporaries`,
 * and pull()'s in a staged folder's `.imgpull/`), not published inside a shard's folder.
 */
async function writeCounts(file: string, counts: ShardCounts): Promise<void> {
  const tmp = temporaryName(file)
  await writeFile(tmp, `${JSON.stringify(counts)}\n`)
  await rename(tmp, file)
}

/**
 * Put a finished shard's outputs in the output folder, atomically, and its counts beside them;
 * returns `false` when another worker had published the shard first (a worker that lost its lock
 * and finished late): its copy is removed, and neither its outputs nor its counts replace the
 * published ones. Files output renames the shard's whole folder into place, its counts inside (one
 * rename: the folder is there whole or not at all). WebDataset output links each file of the
 * shard under a temporary name and renames it into place, the tar last (it marks a published
 * shard), then removes the shard's work folder; its counts go first, so a worker that dies between
 * publishing and telling the queue leaves a shard the next one completes without fetching.
 */
export async function publish(
  paths: ShardPaths,
  format: OutputFormat,
  counts: ShardCounts,
  takenOver = false,
): Promise<boolean> {
  if (counts.round) return republish(paths, format, counts)
  if (format === 'files') {
    await stageCounts(paths, counts, takenOver)
    if (!(await renameFolderIn(paths, counts))) return false
    if (takenOver) await dropTemporaries(paths.counts)
    return true
  }
  // A late worker renamed its files over the published shard's, and its counts over theirs.
  if (isPublished(paths, format)) return lost(paths, format)
  await writeCounts(paths.counts, counts)
  if (!(await renameDataset(paths))) return lost(paths, format)
  if (takenOver) await dropTemporaries(paths.counts, ...paths.dataset.map(({ to }) => to))
  await dropStagedDataset(paths)
  return true
}

/**
 * The temporaries of `files` (`00012.parquet.HOST.PID.tmp`, `00012.json.HOST.PID.tmp`) that the
 * workers which ran the shard before left, of any host: called once the shard is out, by the worker
 * that took it over (one read of each folder). `removeStaleTemporaries` removes only this host's
 * dead workers' (and once a process): a worker killed on another machine sharing the folder left
 * them for good, a temporary link beside `00012.parquet` a second copy of the shard's rows. One
 * still living, cut off past its lock, then finds its temporary gone and its copy lost (see
 * `renameDataset`).
 */
async function dropTemporaries(...files: string[]): Promise<void> {
  for (const dir of new Set(files.map((file) => dirname(file)))) {
    const prefixes = files.filter((file) => dirname(file) === dir).map((file) => `${basename(file)}.`)
    for (const name of await readdir(dir).catch(() => [] as string[]))
      if (name.endsWith('.tmp') && prefixes.some((prefix) => name.startsWith(prefix)))
        await rm(join(dir, name), { force: true })
  }
}

/**
 * A worker lost the shard to another: its copy goes. A WebDataset shard's work folder is the
 * published shard's too (its journal stays there for a retry round, see `reopen`): only the
 * staged outputs go.
 */
async function lost(paths: ShardPaths, format: OutputFormat): Promise<false> {
  if (format === 'files') await rm(paths.staging, { recursive: true, force: true })
  else await dropStagedDataset(paths)
  return false
}

/**
 * Link each staged WebDataset file under a temporary name and rename it into place, the tar last.
 * `false` when a temporary was removed before its rename: the worker that took the shard over
 * published it meanwhile (see `dropTemporaries`).
 */
async function renameDataset(paths: ShardPaths): Promise<boolean> {
  for (const { from, to } of paths.dataset) {
    if (!existsSync(from)) throw new Error(`the shard's run did not write ${from}`)
    await removeStaleTemporaries(to)
    const temporary = temporaryName(to)
    await rm(temporary, { force: true })
    // Linked, so the staged file stays until the shard is all out; copied where links cannot be made.
    await linkOrCopy(from, temporary)
    try {
      await rename(temporary, to)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && existsSync(dirname(to))) return false
      throw error
    }
    // rename() does nothing, and succeeds, when both names are links to one file (POSIX): the
    // staged file was published already, by a worker killed before the tar or by the round before a
    // retry round that left it as it was. The temporary would stay beside the shard, a second
    // 00012.parquet.HOST.PID.tmp that a reader of the whole folder (pyarrow's dataset) takes too.
    await rm(temporary, { force: true })
  }
  return true
}

/**
 * Remove a published WebDataset shard's staged files, keeping its work folder: its journal is what
 * a retry round of the shard goes on from (a few hundred bytes a row).
 */
async function dropStagedDataset(paths: ShardPaths): Promise<void> {
  for (const { from } of paths.dataset) await rm(from, { force: true })
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  await link(from, to).catch((error) => {
    if (!cannotLink(error)) throw error
    return copyFile(from, to)
  })
}

/** Where a files shard's published folder waits while a retry round's folder takes its place. */
const aside = (paths: ShardPaths) => `${paths.staging}.replaced`
/** Where a files shard's published folder is copied for a retry round, before it is the work folder. */
const seed = (paths: ShardPaths) => `${paths.staging}.seed`

/**
 * Prepare a published shard's retry round (see `ShardJobData.retry`): its work folder as the
 * shard's last run left it, for `pull()` to go on from its journal (fetching the failed images a
 * rerun tries again) and `publish` to put out anew. Files output: the published folder copied, its
 * images hard-linked (a run never writes into an image, it renames a new file over it), its work
 * files copied. WebDataset output: the work folder kept after publishing, the published files linked
 * back into it as the sealed shard. A round cut by a kill goes on from where it was. Returns `false`
 * when the shard cannot be run again: a WebDataset shard published without its journal (by an
 * imgpull before retry rounds).
 */
export async function reopen(paths: ShardPaths, format: OutputFormat): Promise<boolean> {
  const journal = layout(paths.staging).journal
  if (format === 'webdataset') {
    if (!existsSync(journal)) return false
    for (const { from, to } of paths.dataset) if (!existsSync(from)) await linkOrCopy(to, from)
    return true
  }
  // A round cut midway (its folder then a whole copy, renamed into place when made).
  if (existsSync(journal)) return true
  await rm(seed(paths), { recursive: true, force: true })
  await copyTree(paths.folder, seed(paths), false)
  await rename(seed(paths), paths.staging)
  return true
}

/** Copy the folder `from` to `to`: files hard-linked, but those under `.imgpull/` (a journal is written in place). */
async function copyTree(from: string, to: string, work: boolean): Promise<void> {
  await makeFolders(to)
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name)
    const target = join(to, entry.name)
    if (entry.isDirectory()) await copyTree(source, target, work || entry.name === WORK_DIR)
    else if (entry.isFile()) await (work ? copyFile(source, target) : linkOrCopy(source, target))
  }
}

/**
 * Publish a retry round of a shard in place of the shard's earlier outputs, unless another worker
 * published this round (or a later one) first. Files output: the published folder is moved aside,
 * the round's renamed into its place, then the old one removed (a kill between the two renames
 * leaves the shard unpublished, its round whole in the work folder: the worker that takes it over
 * publishes it). WebDataset output: the files renamed over the published ones, the tar last, then
 * the counts (a kill before them leaves the round to be published again).
 */
async function republish(paths: ShardPaths, format: OutputFormat, counts: ShardCounts): Promise<boolean> {
  const published = await readCounts(paths, format)
  if (isPublished(paths, format) && (published?.round ?? 0) >= (counts.round ?? 0)) return lost(paths, format)
  if (format === 'webdataset') {
    if (!(await renameDataset(paths))) return lost(paths, format)
    await writeCounts(paths.counts, counts)
    await dropTemporaries(paths.counts, ...paths.dataset.map(({ to }) => to))
    await dropStagedDataset(paths)
    return true
  }
  await stageCounts(paths, counts, true)
  await rm(aside(paths), { recursive: true, force: true })
  await rename(paths.folder, aside(paths)).catch((error) => {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  })
  if (!(await renameFolderIn(paths, counts))) return false
  await rm(aside(paths), { recursive: true, force: true })
  await dropTemporaries(paths.counts)
  return true
}

/**
 * A files shard's counts, inside its staged folder: published by the rename that publishes it,
 * with the temporaries of them that the workers which ran it before left (`takenOver`) removed
 * first, not published inside the shard's folder.
 */
async function stageCounts(paths: ShardPaths, counts: ShardCounts, takenOver: boolean): Promise<void> {
  const file = folderCounts(paths.staging)
  await makeFolders(dirname(file))
  await writeCounts(file, counts)
  if (takenOver) await dropTemporaries(file)
}

/**
 * Rename a files shard's staged folder into place, then write its counts' copy beside the others'
 * (what the README names; the one in the folder is the truth). `false`, the copy thrown away (see
 * `lost`), when another worker's folder is there.
 */
async function renameFolderIn(paths: ShardPaths, counts: ShardCounts): Promise<boolean> {
  try {
    await rename(paths.staging, paths.folder)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error
    return lost(paths, 'files')
  }
  await writeCounts(paths.counts, counts)
  return true
}

/** Folders whose stale temporaries this process has removed (see `removeStaleTemporaries`). */
const swept = new Set<string>()

/**
 * The temporary copies in `to`'s folder that workers of this host left when killed while
 * publishing (a copy, where no hard link could be made, can be a whole tar): removed, once per
 * folder and process (an output folder can hold tens of thousands of shard files). Another host's,
 * or a running worker's, are left alone: a shard whose lease ran out may still be published by it.
 */
async function removeStaleTemporaries(to: string): Promise<void> {
  const dir = dirname(to)
  if (swept.has(dir)) return
  swept.add(dir)
  const names = await readdir(dir).catch(() => [] as string[])
  for (const name of names) if (staleTemporary(name)) await rm(join(dir, name), { force: true })
}

/**
 * Make the work folder of a shard's run (its parent must exist for `pull()`'s recursive mkdir), and
 * remove what a retry round cut by a kill left beside it (see `reopen`, `republish`). Returns
 * whether the work folder was there: a worker ran the shard here before (killed, cut off, or an
 * earlier round), and may have left temporaries for `publish` to remove.
 */
export async function prepare(paths: ShardPaths): Promise<boolean> {
  const before = existsSync(paths.staging)
  await makeFolders(paths.staging)
  await rm(seed(paths), { recursive: true, force: true })
  await rm(aside(paths), { recursive: true, force: true })
  return before
}

/**
 * Bind the output folder `out` to the input `inputId` (a queue's, see `ShardJobData`), or check it
 * is bound to it: shard numbers name the outputs, so a folder holds the shards of one input only,
 * and a local run's folder none. Throws `FatalError` (`queue-folder`) naming what the folder holds:
 * a worker must never take another input's `00012.tar` for its own shard 12.
 */
export async function bindFolder(
  out: string,
  inputId: string,
  queue: string,
  format: OutputFormat = 'files',
): Promise<void> {
  const file = await bind(out, inputId, queue, format)
  // The temporaries beside the shards' counts that workers of this host left when killed while
  // writing them (`writeCounts`, and `bind`'s own), as `renameDataset` sweeps the output folder.
  await removeStaleTemporaries(file)
}

/** `bindFolder`'s binding: returns the file that holds it, `OUT/.imgpull/queue/input.json`. */
async function bind(out: string, inputId: string, queue: string, format: OutputFormat): Promise<string> {
  const work = join(out, WORK_DIR, 'queue')
  const file = join(work, 'input.json')
  const hint = 'give each queue (each input) its own output folder with -o'
  const text = await readFile(file, 'utf8').catch(() => undefined)
  let held: string | undefined
  try {
    held = text === undefined ? undefined : String((JSON.parse(text) as { inputId?: unknown }).inputId)
  } catch {
    throw new FatalError(
      'queue-folder',
      `${visibleShellWord(file)} is not what a worker writes (it does not read as JSON)`,
      {
        hint: "remove it if this folder holds only this queue's shards",
      },
    )
  }
  if (held === inputId) return file
  if (held !== undefined)
    throw new FatalError(
      'queue-folder',
      `${visibleShellWord(out)} holds the shards of another input (${held.slice(0, 12)}…), not queue ${queue}'s (${inputId.slice(0, 12)}…)`,
      { hint },
    )
  const local = layout(out)
  if (existsSync(local.journal) || existsSync(local.dataset))
    throw new FatalError(
      'queue-folder',
      `${visibleShellWord(out)} holds the outputs of a local run (${visibleShellWord(local.journal)}), not queue ${queue}'s shards`,
      { hint },
    )
  // Shard folders (00000/) are files output's: in WebDataset output a numbered folder is the user's.
  const shard = await foreignShard(out, { folders: format === 'files' })
  if (shard)
    throw new FatalError(
      'queue-folder',
      `${visibleShellWord(out)} holds ${shard}, which no worker of queue ${queue} wrote`,
      {
        hint: 'use another output folder, or move the shards away',
      },
    )
  await makeFolders(work)
  // Written whole under a name of its own, then linked into place: a link never replaces a file,
  // and no worker ever reads a half-written one. Random: two workers of one process may bind at once.
  const tmp = temporaryName(`${file}.${randomBytes(4).toString('hex')}`)
  await writeFile(tmp, `${JSON.stringify({ inputId, queue })}\n`)
  try {
    await link(tmp, file).catch((error) => {
      if (!cannotLink(error)) throw error
      // No hard links here: an exclusive create, written whole at once (the file is a line).
      return readFile(tmp).then((bytes) => writeFile(file, bytes, { flag: 'wx' }))
    })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    return bind(out, inputId, queue, format) // another worker bound it first: the same check
  } finally {
    await rm(tmp, { force: true })
  }
  return file
}
