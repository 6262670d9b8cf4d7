import { existsSync } from 'node:fs'
import { basename, resolve } from 'node:path'
import { retriedOnRerun } from '../fetch/retry-policy.js'
import type { JobRecord } from '../journal/journal.js'
import { JournalReader } from '../journal/sqlite.js'
import type { Layout } from '../layout.js'
import type { FolderShard, QueueFolder } from '../queue/output-folder.js'
import type { HostSample, RunInfo } from '../types.js'
import { redactUrl } from '../utils/url.js'
import type { Attribution, QueueFacts, ReportInput, ReportItem } from './html/types.js'

/** What a report is made from: the journal's records, the run it describes, that run's samples. */
export interface ReportSource {
  records(): Iterable<JobRecord>
  /** The records among which the Unsplash credits are found (a journal's `credited()`); `records()` when left out. */
  credited?(): Iterable<JobRecord>
  run: RunInfo
  samples: Iterable<HostSample>
}

/**
 * The URL's origin; none (`''`) for what has none: not a URL, or a scheme without a host (`javascript:`,
 * whose origin is the string "null"). Of the URL without its credentials: one whose unencoded
 * password the parser read as a port (`http://u:1234#x@host/`) would be grouped under `http://u:1234`.
 */
const originOf = (url: string) => {
  try {
    const { origin } = new URL(redactUrl(url))
    return origin === 'null' ? '' : origin
  } catch {
    return ''
  }
}

/**
 * A journal record as the report shows it: `ok` when this run made it, `skipped` when an earlier
 * one did (the file was already there), `failed`, or `pending` (not finished).
 */
export function reportItem(r: JobRecord, run: RunInfo): ReportItem {
  const status = r.state === 'ok' ? ((r.finishedAt ?? 0) >= run.startedAt ? 'ok' : 'skipped') : r.state
  const item: ReportItem = { url: r.url, host: originOf(r.url), status, attempts: r.attempts }
  for (const field of [
    'path',
    'bytes',
    'format',
    'width',
    'height',
    'httpStatus',
    'finalUrl',
    'message',
    'place',
    'caption',
    'ttfb',
    'total',
    'finishedAt',
    'answers',
  ] as const) {
    if (r[field] !== undefined) (item as unknown as Record<string, unknown>)[field] = r[field]
  }
  // A failure the run skipped keeps the finishing time of the run that made it.
  if (r.state === 'failed' && r.finishedAt !== undefined && r.finishedAt < run.startedAt)
    item.failedBefore = true
  if (r.error !== undefined) {
    item.error = r.error
    item.retryable = retriedOnRerun(r.error)
  }
  // Every job of a run's input is seen by it (planned, or touched when skipped), unless it stopped
  // early: a record it never saw came from another input, which its rerun will not read.
  const whole = run.endedAt !== undefined && run.interrupted !== true
  if (r.state !== 'ok' && r.run !== run.id && whole) item.otherInput = true
  return item
}

/** Credits for the Unsplash photos among the records (their `meta` says who took them). */
function attribution(records: Iterable<JobRecord>): Attribution[] {
  const credits: Attribution[] = []
  for (const r of records) {
    const m = r.meta
    if (r.state !== 'ok' || !r.path || m?.source !== 'unsplash') continue
    credits.push({
      path: r.path,
      photographer: String(m.photographer ?? m.username ?? ''),
      profileUrl: String(m.profileUrl ?? ''),
      photoUrl: String(m.photoUrl ?? ''),
    })
  }
  return credits
}

/**
 * The report's input for the folder `paths.out`: every job the journal knows (read as it is
 * rendered, in one pass), the run's times and command, its per-host samples, and Unsplash credits
 * (read before, from `from.credited()`).
 */
export function reportInput(
  paths: Layout,
  from: ReportSource,
  now = Date.now(),
  /** A process holds the folder: the run is going on (`imgpull report` during a run). */
  running = false,
): ReportInput {
  const { run } = from
  const credits = attribution(from.credited?.() ?? from.records())
  // A run with no end recorded is still going (its process holds the folder), or was killed.
  const going = running && run.endedAt === undefined
  return {
    title: basename(resolve(paths.out)),
    folder: basename(resolve(paths.out)),
    command: run.command,
    startedAt: run.startedAt,
    endedAt: run.endedAt ?? now,
    interrupted: !going && (run.interrupted === true || run.endedAt === undefined),
    ...(going ? { running: true } : {}),
    // The run's end wrote the manifest (a Ctrl-C's too); a kill -9 left an earlier run's.
    ...(run.endedAt !== undefined ? { manifest: true } : {}),
    items: {
      *[Symbol.iterator]() {
        for (const r of from.records()) yield reportItem(r, run)
      },
    },
    samples: from.samples,
    ...(credits.length ? { attribution: credits } : {}),
    shards: existsSync(paths.dataset),
  }
}

/**
 * The report's input for a queue's output folder `paths.out` (the workers' `-o`): every shard's
 * jobs, its path made relative to the folder, and the samples of every run of every shard, in shard
 * order. One shard's journal is open at a time (a queue of 10,000 shards would run out of file
 * descriptors with all of them open), read as the page is rendered: constant memory in the rows,
 * two runs a shard held. The page spans the shards' runs: from the first one's start to the last
 * one's end (`now` while one is being run, or for one killed: as a local run's). A shard run more
 * than once (its worker killed and the shard taken over, or re-opened to fetch its failures again)
 * is taken from its first run on: every image in the folder was made in the page's span by one of
 * the queue's workers, where a killed worker's were said as "already there, from earlier runs"
 * (1,471 downloaded where status said 1,944 ok).
 *
 * @throws the journal's error when a shard's cannot be read (`readFault` names it).
 */
export function queueReportInput(
  paths: Layout,
  folder: QueueFolder,
  now = Date.now(),
  readFault: (error: unknown, journal: string) => unknown = (error) => error,
): ReportInput {
  const open = (shard: FolderShard) => {
    try {
      return new JournalReader(shard.paths.journal)
    } catch (error) {
      throw readFault(error, shard.paths.journal)
    }
  }
  const runs = folder.shards.map((shard) => {
    const journal = open(shard)
    try {
      const last = journal.lastRun()
      const first = journal.firstRun()
      // The latest run's end and id (what it touched), from the first one's start.
      return last && first ? { ...last, startedAt: first.startedAt, firstId: first.id } : undefined
    } catch (error) {
      throw readFault(error, shard.paths.journal)
    } finally {
      journal.close()
    }
  })
  let startedAt = Number.POSITIVE_INFINITY
  let endedAt = Number.NEGATIVE_INFINITY
  for (const run of runs) {
    if (!run) continue
    startedAt = Math.min(startedAt, run.startedAt)
    endedAt = Math.max(endedAt, run.endedAt ?? now)
  }
  if (!Number.isFinite(startedAt)) [startedAt, endedAt] = [now, now]
  const count = (state: FolderShard['state']) => folder.shards.filter((s) => s.state === state).length
  const queue: QueueFacts = {
    ...(folder.queue ? { name: folder.queue } : {}),
    shards: folder.shards.length,
    published: count('published'),
    running: count('running'),
    stopped: count('stopped'),
    notStarted: folder.notStarted.count,
  }
  /** Each shard's rows in turn, its journal open while they are read (closed early too: `return()`). */
  function* each<T>(
    rowsOf: (journal: JournalReader, shard: FolderShard, run: RunInfo & { firstId: number }) => Iterable<T>,
  ) {
    for (const [i, shard] of folder.shards.entries()) {
      const run = runs[i]
      if (!run) continue
      const journal = open(shard)
      try {
        yield* rowsOf(journal, shard, run)
      } catch (error) {
        throw readFault(error, shard.paths.journal)
      } finally {
        journal.close()
      }
    }
  }
  const title = basename(resolve(paths.out))
  return {
    title,
    folder: title,
    startedAt,
    endedAt,
    interrupted: false,
    ...(queue.running ? { running: true } : {}),
    items: {
      [Symbol.iterator]: () =>
        each(function* (journal, shard, run) {
          for (const r of journal.records()) {
            const item = reportItem(r, run)
            if (item.path !== undefined) item.path = shard.prefix + item.path
            yield item
          }
        }),
    },
    samples: {
      [Symbol.iterator]: () =>
        each(function* (journal, _, run) {
          for (let id = run.firstId; id <= run.id; id++) yield* journal.samples(id)
        }),
    },
    shards: folder.format === 'webdataset',
    queue,
  }
}
