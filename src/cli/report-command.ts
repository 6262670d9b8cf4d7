import { existsSync } from 'node:fs'
import Database from 'better-sqlite3'
import { UsageError } from '../errors.js'
import { FolderLock } from '../journal/lock.js'
import { JournalReader } from '../journal/sqlite.js'
import { type Layout, layout, noJournal, REPORT } from '../layout.js'
import { readQueueFolder } from '../queue/output-folder.js'
import type { ReportInput } from '../report/html/types.js'
import { writeReport } from '../report/html/write.js'
import { queueReportInput, reportInput } from '../report/run-report.js'
import { journalReadFault, localFault } from '../sinks/local-faults.js'
import { checkOwnOutputs } from '../sinks/own-outputs.js'
import { visibleShellWord } from '../utils/command-line.js'

/**
 * `imgpull report DIR`: (re)build `DIR/report.html` from the folder's journal, about its latest
 * run: at any time, also while a run goes on or after one was interrupted or killed. A queue's
 * output folder (the workers' `-o`), which has no journal of its own: one page of all its shards
 * (see `queueReportInput`), also while workers run them.
 */
export async function reportCommand(
  dir: string,
  write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Promise<void> {
  const paths = layout(dir)
  // A queue's output folder has no journal of its own: the page is of all its shards'.
  const queue = existsSync(paths.journal) ? undefined : readQueueFolder(dir)
  if (!existsSync(paths.journal) && !queue) {
    throw noJournal(dir, paths, '; the report is made from it')
  }
  // The report is replaced whole: never a file of the user's at its name.
  await checkOwnOutputs(paths, [REPORT], 'move it first')
  if (queue) return written(paths, queueReportInput(paths, queue, Date.now(), journalReadFault), write)
  let journal: JournalReader
  try {
    journal = new JournalReader(paths.journal)
  } catch (error) {
    throw journalReadFault(error, paths.journal)
  }
  try {
    await report(dir, paths, journal, write)
  } catch (error) {
    throw journalReadFault(error, paths.journal)
  } finally {
    journal.close()
  }
}

/** The report of `journal`'s latest run, written to `DIR/report.html`. */
async function report(
  dir: string,
  paths: Layout,
  journal: JournalReader,
  write: (line: string) => void,
): Promise<void> {
  const run = journal.lastRun()
  if (!run) throw new UsageError(`the journal in ${visibleShellWord(dir, 'always')} has no run yet`)
  // A run going on holds the folder: its report says so, not that it was interrupted.
  const running = FolderLock.holder(paths, Database) !== undefined
  const input = reportInput(
    paths,
    {
      records: () => journal.records(),
      credited: () => journal.credited(),
      run,
      samples: journal.samples(run.id),
    },
    Date.now(),
    running,
  )
  await written(paths, input, write)
}

/** Write the report of `input` to `paths.report`, and say where. */
async function written(paths: Layout, input: ReportInput, write: (line: string) => void): Promise<void> {
  const path = await writeReport(paths.out, input).catch((error) => {
    throw (error as NodeJS.ErrnoException).syscall ? localFault(error, 'output', paths.report) : error
  })
  write(path)
}
