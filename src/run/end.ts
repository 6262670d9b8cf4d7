import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { abandonOpenings } from '../fetch/client.js'
import type { TransferThreads } from '../fetch/transfer-threads.js'
import type { Journal } from '../journal/journal.js'
import type { Layout } from '../layout.js'
import type { ResolvedOptions } from '../options.js'
import { writeManifest } from '../report/manifest.js'
import { folderAt, goneFolder, lostFolder } from '../sinks/local-faults.js'
import type { TransformPool } from '../transform/pool.js'
import type { Result, RunStats, Source } from '../types.js'
import { steadyNow } from '../utils/steady-clock.js'
import type { Engine } from './engine.js'
import { type Started, takeBack } from './start.js'

/** Longest wait, in ms, for the reader to stop after a stop, to tell whether it had read all (see `Engine.readToEnd`). */
const READER_WAIT_MS = 250

/** What `closeRun` is given: the run, as it started and as it ran. */
export interface Ending {
  source: Source
  options: ResolvedOptions
  stats: RunStats
  /** When the run began, ms since the epoch. */
  startedAt: number
  started: Started
  engine: Engine
  pool: TransformPool | undefined
  threads: TransferThreads | undefined
}

/**
 * End a run, however it ended (its end, a stop, a failure, the caller leaving the loop): stop the
 * engine, tell the source of the results the caller never read, close the source, the connections,
 * the workers and the WebDataset output, end the journal's run, write the manifest and the report.
 * Returns those late results, and the first failure of the closing (not thrown: the run's own
 * failure, if any, comes first).
 */
export async function closeRun(ending: Ending): Promise<{ late: Result[]; closeError: unknown }> {
  const { source, options, stats, startedAt, engine, pool, threads } = ending
  const { shared, paths, existed, home, journal, lock, dispatcher, dataset } = ending.started
  const interrupted = engine.interrupted
  stats.stopped = interrupted
  const completed = engine.completed
  engine.abort()
  engine.stopSampling()
  engine.unlisten()
  const late = await engine.unread()
  // A stop makes the reader stop at its next item, at once but for a pipe that has none yet.
  stats.readToEnd = await engine.readToEnd(performance.now() + READER_WAIT_MS)
  if (source.onResult) {
    for (const result of late) await Promise.resolve(source.onResult(result)).catch(() => {})
  }
  // The manifest is the folder's inventory, from the journal; all is closed even if one part
  // fails (a full disk), and the first failure is reported.
  const settle = (p: unknown) =>
    Promise.resolve(p).then(
      () => undefined,
      (error) => error,
    )
  const closedSource = await settle(source.close?.())
  // After the source: its last calls (Unsplash's tracking) go through the run's connections.
  await dispatcher.destroy().catch(() => {})
  // Those still opening too: a SYN never answered kept a library caller's process alive.
  abandonOpenings(dispatcher)
  await threads?.close()
  await settle(pool?.close())
  // Shards complete with this run are sealed; the others keep their samples staged for the next.
  // A shard's own file that could not be made as its folder was taken away: the folder's fault.
  const sealed = await settle(dataset?.close(completed)).then(goneFolder)
  let ended: unknown
  // The run's time, as the report counts it (to the journal's end of the run): the summary's
  // counted the manifest and the report written after too (0.6 s where the report said 0.4 s).
  const endedAt = steadyNow()
  stats.wallMs = endedAt - startedAt
  try {
    journal.endRun({ interrupted, endedAt })
  } catch (error) {
    ended = error // a full disk, say: reported with the rest below
  }
  // The folder's inventory is its journal's: a run without one, in a folder that has one, leaves
  // the manifest and the report to it (its own results went to its caller). Nor is one written
  // where the folder was removed or moved away meanwhile: the report made the folder again (an
  // `rm -rf photos` mid-run left `photos/report.html` of images that were not there), and the
  // run stops as one whose folder is gone, where it said nothing or failed on the manifest.
  const moved = home !== folderAt(shared.work)
  if (moved) ended ??= lostFolder(shared.out, shared.work)
  // An input read to its end that held nothing (an empty list, a table of no rows, a search that
  // matched nothing) into a folder that was not there: the run takes back all it made, as one
  // that could not start does, where it left an empty manifest, a report of nothing and a journal
  // of no job (a folder to remove by hand after a typo'd search). Not in a folder that was there
  // (made beforehand; a queue worker's staging folder, whose publishing reads the journal).
  const nothing = stats.read === 0 && stats.readToEnd && !interrupted && !existed.out && !moved && !ended
  // Nor where a journaled run began on the folder since this one did (it holds no lock: two
  // terminals), whose manifest and report it wrote over with its own at its end (ArchiveBox/ArchiveBox#234).
  const journalLess = !existed.journal && !existsSync(shared.journal)
  const inventory = (options.journal || journalLess) && !moved && !nothing
  const written = inventory
    ? await settle(writeManifest(paths, journal.manifestLines()).catch(naming(paths.manifest)))
    : undefined
  const reported =
    inventory && options.report
      ? await settle(writeRunReport(paths, journal).catch(naming(paths.report)))
      : undefined
  const closed = await settle(journal.close())
  lock?.release()
  if (nothing && closed === undefined && sealed === undefined) await takeBack(paths, existed).catch(() => {})
  // A run without a journal cannot resume: its parts go with it.
  if (paths !== shared) await rm(paths.parts, { recursive: true, force: true }).catch(() => {})
  const closeError = sealed ?? ended ?? written ?? closed ?? closedSource ?? reported
  // A run that fails still tells its caller of every file it saved before the error is thrown:
  return { late, closeError }
}

/**
 * Rethrows a failed write of `file` (through its temporary) naming `file`: a write to a file already
 * open names none (`write` ENOSPC has no path), and the stop said `cannot write photos: no space
 * left on device` of a full disk met by the manifest or the report alone, their images all saved;
 * the temporary's own name (`.imgpull/manifest.jsonl.host.pid.tmp`) is not one a person knows.
 */
const naming =
  (file: string) =>
  (error: unknown): never => {
    if (error instanceof Error) {
      const { path, dest } = error as { path?: string; dest?: string }
      if (path === undefined) Object.assign(error, { path: file })
      // Its temporary, made first: the file is named, as a rename's target is (see `culprit`).
      else if (path !== file && dest === undefined) Object.assign(error, { dest: file })
    }
    throw error
  }

/** `OUT/report.html` for the run that ends, from the journal (the renderer loads only now). */
async function writeRunReport(paths: Layout, journal: Journal): Promise<void> {
  const run = journal.runInfo()
  if (!run) return
  const [{ writeReport }, { reportInput }] = await Promise.all([
    import('../report/html/write.js'),
    import('../report/run-report.js'),
  ])
  await writeReport(
    paths.out,
    reportInput(paths, {
      records: () => journal.records(),
      credited: () => journal.credited(),
      run,
      samples: journal.samples(run.id),
    }),
  )
}
