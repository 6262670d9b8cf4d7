import { existsSync, renameSync, statSync } from 'node:fs'
import { readdir, rm, rmdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { errorCode, FatalError, FolderBusyError, UsageError } from '../errors.js'
import { createAgent } from '../fetch/client.js'
import type { Dispatcher } from '../fetch/undici.js'
import { type Journal, MemoryJournal } from '../journal/journal.js'
import { FolderLock } from '../journal/lock.js'
import {
  isStalePrivateParts,
  type Layout,
  layout,
  MANIFEST,
  privateParts,
  REPORT,
  WORK_DIR,
  workFiles,
} from '../layout.js'
import type { ResolvedOptions } from '../options.js'
import { checkTemplate } from '../plan/naming.js'
import { existingParts, markFresh } from '../sinks/files.js'
import { claimFolder } from '../sinks/folder-format.js'
import { folderAt, mkdirFault, workFileInTheWay } from '../sinks/local-faults.js'
import { checkOwnOutputs } from '../sinks/own-outputs.js'
import type { WebDatasetSink } from '../sinks/webdataset/sink.js'
import type { Source } from '../types.js'
import { visibleShellWord } from '../utils/command-line.js'
import { makeFolders } from '../utils/folders.js'
import { staleTemporary } from '../utils/processes.js'
import { stopFault } from './stop-fault.js'

/**
 * What a run that started holds: its folders, its journal (under the folder's lock when one is
 * kept), its connections, its WebDataset output, and the part files an earlier run left to resume.
 */
export interface Started {
  /** The folder's layout, shared with its other runs. */
  shared: Layout
  /** Where this run writes: `shared`, or a journal-less run's own parts (see `privateParts`). */
  paths: Layout
  /** What was there before the run: the output folder, its work folder, its journal. */
  existed: Existed
  /** The work folder this run made or found: the one its journal is in, whatever path leads there later. */
  home: string | undefined
  journal: Journal
  lock: FolderLock | undefined
  dispatcher: Dispatcher
  dataset: WebDatasetSink | undefined
  /** Part files an earlier run left (names). */
  leftovers: Set<string>
}

/** Which of the run's folders and files were there before it. */
export interface Existed {
  out: boolean
  work: boolean
  journal: boolean
}

/**
 * Start a run in `options.out`: check its folder, make its folders, remove what killed runs left,
 * take the folder's lock, open the journal, claim the folder's format, open the WebDataset output
 * and the source. A run that cannot start leaves nothing behind and throws (see `pull`).
 */
export async function openRun(source: Source, options: ResolvedOptions, startedAt: number): Promise<Started> {
  if (source.fields) checkTemplate(options.name, source.fields)
  const shared = layout(options.out)
  // Without a journal there is no lock: another run may write the folder's shared part files.
  const paths = options.journal ? shared : privateParts(shared)
  const existed = {
    out: existsSync(paths.out),
    work: existsSync(paths.work),
    journal: existsSync(paths.journal),
    // What a journaled run leaves beside its journal: the record of how the folder's outputs were made.
    record: existsSync(shared.files) || existsSync(shared.dataset),
  }
  // The manifest and the report are replaced at the run's end: never a file of the user's there.
  if (options.journal || !existed.journal)
    await checkOwnOutputs(paths, options.report ? [MANIFEST, REPORT] : [MANIFEST])
  // A folder made for the run beforehand (`mkdir photos`, a bench) holds nothing to look out for either.
  const entries = existed.out ? await readdir(paths.out).catch(() => [null]) : []
  const empty = existed.out && entries.length === 0
  try {
    await makeFolders(paths.parts)
  } catch (error) {
    throw mkdirFault(
      error,
      options.out,
      existed.out && statSync(paths.out, { throwIfNoEntry: false })?.isDirectory() === true,
    )
  }
  // The work folder this run made or found: the one its journal is in, whatever path leads there later.
  const home = folderAt(shared.work)
  // A folder where imgpull keeps a file of its own is named, before the lock or the journal meets
  // it (a run without either, of files, writes none of them).
  const inTheWay =
    options.journal || options.outputFormat === 'webdataset' ? workFileInTheWay(workFiles(shared)) : undefined
  if (inTheWay) throw inTheWay
  // A folder this run made or found empty, under its lock: no file in it is anyone else's (see markFresh).
  markFresh(options.out, (!existed.out || empty) && options.journal)
  // What the parts folder holds: a cut run's parts to resume, and folders of journal-less runs.
  const present = await existingParts(shared.parts)
  await removeStaleParts(shared.parts, present)
  if (!options.journal && options.outputFormat === 'webdataset' && existed.journal)
    throw new UsageError(
      `${visibleShellWord(options.out)} has a journal: a WebDataset run without one would seal its shards again behind the journal's back; run without \`journal: false\``,
    )
  const { journal, lock, setAside } = await openJournal(paths, options, startedAt).catch(async (error) => {
    // The folders made for a run that could not open its journal (SQLite's module not loadable)
    // go, while empty. Not where a lock was ever taken (a busy folder): they are another run's.
    if (!(error instanceof FolderBusyError) && !existsSync(paths.lock)) {
      if (!existed.work) for (const dir of [paths.parts, paths.work]) await rmdir(dir).catch(() => {})
      if (!existed.out) await rmdir(paths.out).catch(() => {})
    }
    throw error
  })
  // A journal set aside as damaged was said so already.
  if (options.journal && journal.run === 1 && !setAside && entries.some((name) => name !== WORK_DIR)) {
    // A journal file with no run in it (emptied, or its -wal removed after a crash), or none where
    // an earlier run left its record (removed, a clean-up of `*.db`), beside images: the rerun
    // starts over, which it must not do without a word.
    const what = existed.journal
      ? 'holds no earlier run (emptied, or its -wal removed?)'
      : existed.record
        ? `is gone (removed since the run that wrote ${visibleShellWord(existsSync(shared.files) ? shared.files : shared.dataset)}?)`
        : undefined
    if (what)
      process.emitWarning(
        `the journal ${visibleShellWord(paths.journal)} ${what}, but ${visibleShellWord(options.out)} holds files: every URL is fetched again (a file there with the same bytes keeps its name)`,
        { code: 'IMGPULL_JOURNAL_EMPTY' },
      )
  }
  // Only under the lock: a run it refuses must not touch the holder's files, whose process may be
  // one this one cannot see (same host name, another PID namespace: a container on the host's
  // network, a cloned machine sharing the folder over NFS), so it looks ended from here.
  if (lock) await removeStaleTemporaries(shared.work)
  const dispatcher = createAgent(options)
  let dataset: WebDatasetSink | undefined
  try {
    await claimFolder(
      paths,
      options.outputFormat,
      options.shardSize,
      journal,
      options.transform,
      source.rowColumns,
      options.journal,
      source.imageFlags,
    )
    if (options.outputFormat === 'webdataset') {
      const { WebDatasetSink } = await import('../sinks/webdataset/sink.js')
      dataset = await WebDatasetSink.open(
        paths,
        options.shardSize,
        journal,
        source.columnTypes,
        source.parquetColumns,
      )
    }
    await source.open?.({
      paths,
      journal: options.journal,
      userAgent: options.userAgent,
      signal: options.signal,
      dispatcher,
    })
  } catch (error) {
    // A run that could not start (a rejected API key, an unreadable table) leaves nothing behind,
    // not even its row in the journal's runs.
    await dispatcher.destroy().catch(() => {})
    try {
      journal.abandonRun()
    } catch {}
    await journal.close().catch(() => {})
    lock?.release()
    await takeBack(paths, existed)
    if (paths !== shared) await rm(paths.parts, { recursive: true, force: true }).catch(() => {})
    throw stopFault(error, paths)
  }
  // A journal-less run's own folder is new: nothing in it to resume.
  const leftovers = paths === shared ? present : new Set<string>()
  return { shared, paths, existed, home, journal, lock, dispatcher, dataset, leftovers }
}

/** The part folders of journal-less runs of this host that were killed (see `privateParts`). */
async function removeStaleParts(parts: string, names: Iterable<string>): Promise<void> {
  for (const name of names)
    if (isStalePrivateParts(name))
      await rm(join(parts, name), { recursive: true, force: true }).catch(() => {})
}

/**
 * The temporary files of the work folder (the manifest, the report, the lock's holder) that runs
 * of this host left when they were killed while writing them: a manifest of millions of lines
 * is gigabytes, and nothing else would ever remove it. Called with the folder's lock held.
 */
async function removeStaleTemporaries(work: string): Promise<void> {
  for (const name of await readdir(work).catch(() => [] as string[]))
    if (staleTemporary(name)) await rm(join(work, name), { force: true }).catch(() => {})
}

/** Remove what a run that could not start made: its work files, and folders it created if empty. */
export async function takeBack(paths: Layout, existed: Existed): Promise<void> {
  if (!existed.work) await rm(paths.work, { recursive: true, force: true })
  else if (!existed.journal) {
    for (const suffix of ['', '-wal', '-shm']) await rm(paths.journal + suffix, { force: true })
  }
  if (!existed.out) await rmdir(paths.out).catch(() => {})
}

/**
 * The journal of the output folder, under its lock (one run at a time), or one in memory. SQLite
 * (a native addon) is loaded only when a journal is kept, or a lock taken: a journal-less run of
 * files takes none (its parts are its own, see `privateParts`), but WebDataset shards are the
 * folder's, staged and sealed in place, so a journal-less webdataset run holds the lock too.
 */
async function openJournal(
  paths: Layout,
  options: ResolvedOptions,
  startedAt: number,
): Promise<{ journal: Journal; lock?: FolderLock; setAside?: string }> {
  const locked = options.journal || options.outputFormat === 'webdataset'
  if (!locked) {
    const journal = new MemoryJournal(startedAt)
    if (options.command) journal.describeRun({ command: options.command })
    return { journal }
  }
  const [{ default: Sqlite }, { SqliteJournal, damagedJournal }] = await Promise.all([
    import('better-sqlite3'),
    import('../journal/sqlite.js'),
  ])
  let lock: FolderLock | undefined
  try {
    try {
      lock = FolderLock.acquire(paths, Sqlite)
    } catch (error) {
      // Its own file named, damaged: it was said as the journal, which was never opened, with
      // advice (move .imgpull/ away) that lost the folder's history.
      const code = errorCode(error)
      if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT')
        throw new FatalError('disk', `cannot use ${visibleShellWord(paths.lock)}: it is damaged`, {
          cause: error,
          hint: 'remove it (it holds nothing but the folder’s lock), then run the same command again',
        })
      throw error
    }
    let setAside: string | undefined
    let journal: Journal
    if (!options.journal) journal = new MemoryJournal(startedAt)
    else {
      try {
        journal = new SqliteJournal(paths.journal, startedAt)
      } catch (error) {
        // A journal cut short, zeroed, or not SQLite at all: kept aside (never deleted, it may hold
        // what a person wants back), and a new one begun, under the folder's lock still. The
        // folder's files stay: a name that holds an image's bytes already keeps them (see
        // `publish`), the rest is fetched again. The run stopped on it, and the user moved
        // .imgpull/ away by hand, which lost the lock's and the record's files with it.
        if (!damagedJournal(error)) throw error
        setAside = setJournalAside(paths.journal)
        journal = new SqliteJournal(paths.journal, startedAt)
        process.emitWarning(
          `the journal ${visibleShellWord(paths.journal)} is damaged (SQLite: ${(error as Error).message}): kept as ${visibleShellWord(setAside)}, and a new one begun; every URL is fetched again (a file there with the same bytes keeps its name)`,
          { code: 'IMGPULL_JOURNAL_DAMAGED' },
        )
      }
    }
    if (options.command) journal.describeRun({ command: options.command })
    return { journal, lock, setAside }
  } catch (error) {
    lock?.release()
    throw stopFault(error, paths)
  }
}

/**
 * Move a damaged journal and the files SQLite keeps beside it (`-wal`, `-shm`, `-journal`) to a
 * dated name of their own in its folder, `journal-damaged-2026-12-06T08-34-53Z.db` (`-2`... after
 * it where that is taken), with their suffixes: SQLite opens the copy with its WAL, for a person
 * to look into (`sqlite3 … .recover`). Returns the database's new path.
 */
export function setJournalAside(path: string, now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replaceAll(':', '-')
  const suffixes = ['', '-wal', '-shm', '-journal']
  let to = ''
  for (let n = 1; ; n++) {
    to = join(dirname(path), `journal-damaged-${stamp}${n === 1 ? '' : `-${n}`}.db`)
    if (suffixes.every((suffix) => !existsSync(to + suffix))) break
  }
  for (const suffix of suffixes) {
    try {
      renameSync(path + suffix, to + suffix)
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error
    }
  }
  return to
}
