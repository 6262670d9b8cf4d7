import { existsSync, readdirSync, readFileSync } from 'node:fs'
import Database from 'better-sqlite3'
import { INPUT_ERRORS } from '../error-codes.js'
import { retriedOnRerun } from '../fetch/retry-policy.js'
import { FolderLock } from '../journal/lock.js'
import { JournalReader, type JournalSummary, summarizeJournal } from '../journal/sqlite.js'
import { layout, noJournal, queueShardFolder } from '../layout.js'
import {
  type FolderShard,
  type FolderShardState,
  NOT_STARTED_NAMED,
  type QueueFolder,
  readQueueFolder,
  SummarySum,
} from '../queue/output-folder.js'
import { placedMessage } from '../report/failure-place.js'
import { counted, formatBytes, grouped, plural } from '../report/format.js'
import {
  inputOwnWords,
  queueRerunWords,
  type RerunByCommand,
  type RerunWords,
  rerunByCommand,
  rerunWords,
  sharePageWords,
} from '../report/rerun-words.js'
import { journalReadFault } from '../sinks/local-faults.js'
import { shardStem } from '../sinks/webdataset/keys.js'
import { visibleShellWord } from '../utils/command-line.js'
import { jsonLineForTerminal, printable } from '../utils/printable.js'
import { redisNamed } from './queue-options.js'

/**
 * `imgpull status DIR [--json]`: what the journal knows about a folder, for people, or as one
 * JSON object (`counts` by state, `bytes` of the files ok, `runs`, the ten commonest `errors` with
 * an example each (its `message`, and its `place` in the input where the journal holds one: `'urls.txt'
 * line 3`), `failures` by code, `sharePages`: how many failures are a sharing site's page in
 * place of the image (see `isSharePageFailure`), `sameBytes`: the sha256 that most files ok share, when
 * `SAME_BYTES_AT` or more do (a placeholder?), with their count and an example URL, `running`:
 * the run going on now, `{ pid, host, startedAt }`, or `null`, `shards`: a WebDataset
 * folder's `{ shardSize, shards, sealed }`, or `null`, and `openByRun`: the failed and unfinished
 * jobs by the run that last read each, `[{ run, command, failed, pending }]` (`command` `null` for
 * a library run), earliest first: each command's rerun takes up its own; `null` if unreadable).
 */
export function statusCommand(
  dir: string,
  json = false,
  write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
) {
  const paths = layout(dir)
  const path = paths.journal
  if (!existsSync(path)) {
    // A queue's output folder has no journal of its own: its shards' are summed.
    const folder = readQueueFolder(dir)
    if (folder) return queueFolderStatus(dir, folder, json, write)
    throw noJournal(dir, paths)
  }
  // One reader for every figure: the summary, the shards' rows and whose rerun takes up what.
  let journal: JournalReader | undefined
  let s: JournalSummary
  try {
    journal = new JournalReader(path)
    s = journal.summary()
  } catch (error) {
    journal?.close()
    throw journalReadFault(error, path)
  }
  try {
    journalStatus(dir, paths, journal, s, json, write)
  } finally {
    journal.close()
  }
}

/** `statusCommand` for a folder with a journal of its own, read by `journal` (`s`, its summary). */
function journalStatus(
  dir: string,
  paths: ReturnType<typeof layout>,
  journal: JournalReader,
  s: JournalSummary,
  json: boolean,
  write: (line: string) => void,
): void {
  const holder = FolderLock.holder(paths, Database)
  const running = holder === 'unknown' ? { pid: null, host: null, startedAt: null } : (holder ?? null)
  const shards = shardsOf(dir, paths.dataset, journal)
  if (json) {
    const { unsealed: _, queued: __, ...counts } = shards ?? {}
    write(
      jsonLineForTerminal(
        JSON.stringify({ ...s, running, shards: shards ? counts : null, openByRun: openByRun(journal) }),
      ),
    )
    return
  }
  const ok = s.counts.ok ?? 0
  const failed = s.counts.failed ?? 0
  const pending = s.counts.pending ?? 0
  // A run that did not come to its end left its input's later URLs in no row: "0 not finished" and
  // no word of a rerun read as a job done (see `unfinishedWords`).
  const cut = !holder && (s.lastRun === 'killed' || s.lastRun === 'stopped')
  write(
    `${visibleShellWord(dir)}: ${ok} ok (${formatBytes(s.bytes)}), ${failed} failed, ${pending} not finished${cut ? ' (and any URL of the input the last run had not reached)' : ''}, over ${s.runs} ${plural(s.runs, 'run')}`,
  )
  if (shards) write(shardsLine(shards))
  errorLines(dir, s, write)
  if (holder) {
    // What to run again is for when it has ended: a second run now would be refused.
    const who =
      holder === 'unknown'
        ? ''
        : ` (pid ${holder.pid} on ${holder.host}, started ${new Date(holder.startedAt).toISOString()})`
    write(`A run is going on in this folder${who}: these figures move until it ends.`)
    return
  }
  // A queue's shard is tried again by enqueue, not by running its worker's command again; jobs
  // another input left in the folder, by running that input's command again.
  const { words, by, last } = rerunOf(journal)
  if (by) write(printable(by))
  // The last run's own URLs it had not reached are its command's to finish.
  if (cut)
    write(
      `The last run ${s.lastRun === 'killed' ? 'did not end (killed, or its machine stopped)' : 'was stopped before its end'}: ${rerunWords(last).rerun} to finish the rest.`,
    )
  else if (pending) write(`${printable(words.rerun)} to finish the rest.`)
  adviceLines(
    dir,
    s,
    { ...words, rerun: printable(words.rerun), retryFailed: printable(words.retryFailed) },
    write,
  )
}

/** `JournalReader.openByRun`, or `null` where it cannot be read (the other figures still can). */
function openByRun(journal: JournalReader): ReturnType<JournalReader['openByRun']> | null {
  try {
    return journal.openByRun()
  } catch {
    return null
  }
}

/**
 * Whose rerun takes up the journal's failed and unfinished jobs (see `rerunByCommand`), with the
 * latest run's command line (`last`); a local run's words if they cannot be read.
 */
function rerunOf(journal: JournalReader): RerunByCommand & { last?: string } {
  try {
    const last = journal.lastRun()
    const open = openByRun(journal)
    if (!open) return { words: rerunWords(undefined) }
    return { ...rerunByCommand(open, last), last: last?.command }
  } catch {
    return { words: rerunWords(undefined) }
  }
}

/** The commonest errors, with the command that lists a code's URLs, and the same bytes under many URLs. */
function errorLines(dir: string, s: JournalSummary, write: (line: string) => void): void {
  if (s.errors.length) {
    write('Most common errors:')
    for (const e of s.errors)
      write(
        `  ${e.error} ×${e.n}${e.example || e.message ? `  e.g. ${printable(placedMessage(`${e.message}`, e.place))}` : ''}`,
      )
    // The examples are one a code: the whole list, as given, is one command away.
    write(`Every failed URL of a code, one a line: imgpull status ${visibleShellWord(dir)} --failed CODE`)
  }
  if (s.sameBytes.length) {
    write('The very same bytes under many URLs (a placeholder a server sends for missing images?):')
    for (const e of s.sameBytes)
      write(`  ${e.n} files  sha256 ${e.sha256.slice(0, 16)}…  e.g. ${printable(e.example)}`)
  }
}

/** What tries the failures again, by kind: passing, a sharing site's page, permanent, the input's own. */
function adviceLines(dir: string, s: JournalSummary, words: RerunWords, write: (line: string) => void): void {
  const failed = s.counts.failed ?? 0
  const passing = s.failures.reduce((sum, f) => sum + (retriedOnRerun(f.error) ? f.n : 0), 0)
  // The input's own are failed again by every run: --retry-failed cannot help them.
  const own = s.failures.reduce((sum, f) => sum + (INPUT_ERRORS.has(f.error) ? f.n : 0), 0)
  // A sharing site's page comes again as it is: another link in the list helps, not --retry-failed.
  const pages = s.sharePages
  const permanent = failed - passing - own - pages
  if (passing)
    write(`${words.rerun} to retry the ${passing} ${plural(passing, 'failure')} with a passing cause.`)
  if (pages > 0) {
    const all = s.failures.find((f) => f.error === 'not-an-image')?.n ?? pages
    const among = all > pages ? `, among ${all} not-an-image failures` : ''
    write(
      `${sharePageWords(pages)} (imgpull status ${visibleShellWord(dir)} --failed not-an-image lists them${among}).`,
    )
  }
  if (permanent > 0)
    write(`${words.retryFailed} to try the ${permanent} permanent ${plural(permanent, 'failure')} too.`)
  if (own > 0) write(`${inputOwnWords(own)}.`)
}

/**
 * `imgpull status OUT` for a queue's output folder (the workers' `-o`), which has no journal of its
 * own: its shards' journals summed (read one at a time), where each shard stands, and what to do
 * next. `--json`: the plain folder's object, summed over the shards, with `running` the shards
 * being run now (`[{ shard, pid, host, startedAt }]`, or `null`), `shards` `null`, and `queue`:
 * `{ name, format, shardSize, shards, published, running, stopped, notStarted }` (`shards` those
 * with a journal here; `notStarted` the numbers below the highest here with none; `name` and
 * `shardSize` `null` where the folder does not say).
 */
function queueFolderStatus(
  dir: string,
  folder: QueueFolder,
  json: boolean,
  write: (line: string) => void,
): void {
  const sum = new SummarySum()
  for (const shard of folder.shards) {
    try {
      sum.add(summarizeJournal(shard.paths.journal))
    } catch (error) {
      throw journalReadFault(error, shard.paths.journal)
    }
  }
  const s = sum.result()
  const of = (state: FolderShardState) => folder.shards.filter((shard) => shard.state === state)
  const [published, running, stopped] = [of('published'), of('running'), of('stopped')]
  if (json) {
    const holders = running.map(({ stem, holder }) =>
      holder === 'unknown' || !holder
        ? { shard: stem, pid: null, host: null, startedAt: null }
        : { shard: stem, ...holder },
    )
    const queue = {
      name: folder.queue ?? null,
      format: folder.format,
      shardSize: folder.shardSize ?? null,
      shards: folder.shards.length,
      published: published.length,
      running: running.length,
      stopped: stopped.length,
      notStarted: folder.notStarted.count,
    }
    write(
      jsonLineForTerminal(
        JSON.stringify({ ...s, running: holders.length ? holders : null, shards: null, queue }),
      ),
    )
    return
  }
  const name = folder.queue ?? 'NAME'
  const where = visibleShellWord(dir)
  write(
    `${visibleShellWord(dir)}: the output folder of queue ${printable(name)}, ${counted(folder.shards.length, 'shard')}: ${queueCounts(s)}`,
  )
  write(queueShardsLine(folder, published.length, running, stopped))
  errorLines(dir, s, write)
  const pending = s.counts.pending ?? 0
  if (running.length)
    write(
      `Workers are running ${shardsWords(running)} in this folder: these figures move until ${running.length === 1 ? 'it ends' : 'they end'}.`,
    )
  if (stopped.length)
    write(
      `${plural(stopped.length, 'Shard')} ${named(stopped.map((x) => x.stem))} stopped before ${stopped.length === 1 ? 'its' : 'their'} end (a worker stopped or killed; ${n(pending)} not finished in all): the queue gives ${stopped.length === 1 ? 'it' : 'them'} to a worker again, which goes on from ${stopped.length === 1 ? 'its journal' : 'their journals'} here (imgpull worker --queue ${printable(name)} -o ${where}), unless ${stopped.length === 1 ? 'it' : 'one'} failed for good or a worker with an output folder of its own ran ${stopped.length === 1 ? 'it' : 'one'} there (the queue's status says; enqueuing the input again puts a failed one back).`,
    )
  if (folder.notStarted.count)
    write(
      `${counted(folder.notStarted.count, 'shard')} below the highest here ${folder.notStarted.count === 1 ? 'has' : 'have'} no journal in this folder (${named(folder.notStarted.first, folder.notStarted.count)}): not started yet, or run into another output folder.`,
    )
  write(
    `The queue knows the shards not here yet, the failed ones and its workers: imgpull status --redis URL --queue ${printable(name)}`,
  )
  // A queue's failures are tried again by enqueuing its input again, which re-opens done shards,
  // also while workers run (no folder lock stands in the way, as for a second local run).
  adviceLines(dir, s, queueRerunWords(name), write)
}

const n = grouped

/** `58 ok (1.2 MB), 2 failed, 0 not finished`. */
function queueCounts(s: JournalSummary): string {
  return `${n(s.counts.ok ?? 0)} ok (${formatBytes(s.bytes)}), ${n(s.counts.failed ?? 0)} failed, ${n(s.counts.pending ?? 0)} not finished`
}

/** `00001, 00004, … (12 in all)`: the first stems, and how many when more. */
function named(stems: readonly string[], count = stems.length): string {
  const shown = stems.slice(0, NOT_STARTED_NAMED).join(', ')
  return count > NOT_STARTED_NAMED ? `${shown}, … (${n(count)} in all)` : shown
}

/** `shard 00006 (pid 12 on vm-1)`, `3 shards (00001, 00002, 00005)`. */
function shardsWords(running: readonly FolderShard[]): string {
  if (running.length > 1) return `${n(running.length)} shards (${named(running.map((x) => x.stem))})`
  const { stem, holder } = running[0]
  return `shard ${stem}${holder && holder !== 'unknown' ? ` (pid ${holder.pid} on ${holder.host}, started ${new Date(holder.startedAt).toISOString()})` : ''}`
}

/** `shards: 6 published (folders 00000/ ...), 1 being run now, 1 stopped before its end, 2 not started`. */
function queueShardsLine(
  folder: QueueFolder,
  published: number,
  running: readonly FolderShard[],
  stopped: readonly FolderShard[],
): string {
  const kind =
    folder.format === 'webdataset'
      ? `WebDataset shards${folder.shardSize ? ` of ${counted(folder.shardSize, 'sample')}` : ''}: ${n(published)} published (their .tar here)`
      : `shards: ${n(published)} published (a folder each here)`
  return `${kind}, ${n(running.length)} being run now, ${n(stopped.length)} stopped before their end, ${n(folder.notStarted.count)} not started below the highest here`
}

/** A WebDataset folder's shards: their size, how many its rows fall in, which are sealed. */
interface ShardsStatus {
  shardSize: number
  /** Shards the journal's rows fall in (or sealed ones past them: a table that shrank). */
  shards: number
  sealed: number
  /** The stems of the shards not sealed yet, in order. */
  unsealed: string[]
  /** A queue's shard (its work folder given): its number and where its tar is published. */
  queued?: { stem: string; tar: string }
}

/**
 * The shards of the WebDataset folder `dir` (`undefined` for a folder of files, or a
 * `dataset.json` that cannot be read): its record's shard size, the tars in the folder (a tar there
 * is a sealed shard: it takes its name once whole), and the shards the journal's rows fall in.
 */
function shardsOf(dir: string, dataset: string, journal: JournalReader): ShardsStatus | undefined {
  let shardSize: number
  try {
    const info = JSON.parse(readFileSync(dataset, 'utf8'))
    if (info?.format !== 'webdataset' || !Number.isInteger(info.shardSize)) return undefined
    shardSize = info.shardSize
  } catch {
    return undefined
  }
  // A queue's WebDataset shard: its journal stays in its work folder, its tar is published in the
  // queue's output folder; its journal's rows are the input's, so they fall in earlier shards too.
  const queued = queueShardFolder(dir)
  if (queued) {
    const tar = layout(queued.out).shard(queued.stem, 'tar')
    const sealed = existsSync(tar)
    return {
      shardSize,
      shards: 1,
      sealed: sealed ? 1 : 0,
      unsealed: sealed ? [] : [queued.stem],
      queued: { ...queued, tar },
    }
  }
  const tars = new Set(readdirSync(dir).filter((name) => /^\d{5,}\.tar$/.test(name)))
  let highest: number | undefined
  try {
    highest = journal.highestRow()
  } catch {}
  const known = highest === undefined ? 0 : Math.floor(highest / shardSize) + 1
  // A loop, not Math.max(...names): 200,000 shards' names (--shard-size 1000, 200 million rows)
  // overflow the stack as its arguments (measured on Node 20).
  let shards = known
  for (const name of tars) shards = Math.max(shards, Number.parseInt(name, 10) + 1)
  const unsealed: string[] = []
  for (let shard = 0; shard < shards; shard++)
    if (!tars.has(`${shardStem(shard)}.tar`)) unsealed.push(shardStem(shard))
  return { shardSize, shards, sealed: shards - unsealed.length, unsealed }
}

/** Unsealed shards named in the status line, at most. */
const UNSEALED_NAMED = 5

/**
 * `WebDataset shards of 10000 samples: 2 of 3 sealed; not sealed yet: 00002`, or `3 of 3 sealed
 * (00000.tar to 00002.tar)`; one shard alone, `1 of 1 sealed (00000.tar)`.
 */
function shardsLine({ shardSize, shards, sealed, unsealed, queued }: ShardsStatus): string {
  const samples = `${shardSize} ${plural(shardSize, 'sample')}`
  if (queued)
    return `WebDataset shard ${queued.stem} of ${samples}: ${sealed ? `published (${queued.tar})` : 'not published yet (a worker publishes it once every row has an outcome)'}`
  const first = shardStem(0)
  const last = shards === 1 ? '' : ` to ${shardStem(shards - 1)}.tar`
  const range = sealed === 0 ? '' : sealed === shards ? ` (${first}.tar${last})` : ''
  const named = unsealed.slice(0, UNSEALED_NAMED).join(', ')
  const more = unsealed.length > UNSEALED_NAMED ? `, … (${unsealed.length} in all)` : ''
  return `WebDataset shards of ${samples}: ${sealed} of ${shards} sealed${range}${unsealed.length ? `; not sealed yet: ${named}${more}` : ''}`
}

/** `imgpull status --redis URL --queue NAME [--json]`: a queue's progress over all its workers. */
export async function queueStatusCommand(
  redis: string,
  queue: string,
  json: boolean,
  write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  /** Where `redis` came from (see `redisSource`), for a message about it. */
  source?: string,
): Promise<number> {
  const [{ queueStatus, formatStatus }, { QueueError }] = await Promise.all([
    import('../queue/status.js'),
    import('../queue/errors.js'),
  ])
  try {
    const status = await queueStatus(redis, queue)
    if (json) write(JSON.stringify(status))
    else for (const line of formatStatus(status)) write(line)
    return 0
  } catch (error) {
    if (!(error instanceof QueueError)) throw error
    process.stderr.write(`imgpull: ${printable(redisNamed(error, redis, source))}\n`)
    return 2
  }
}
