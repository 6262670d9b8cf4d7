import { existsSync, readFileSync } from 'node:fs'
import { basename, dirname, join, relative, sep } from 'node:path'
import Database from 'better-sqlite3'
import { FolderLock, type LockHolder } from '../journal/lock.js'
import type { JournalSummary } from '../journal/sqlite.js'
import { type Layout, layout, queueShardJournals } from '../layout.js'
import { shardStem } from './keys.js'

/**
 * Where a shard of a queue's output folder stands, as the folder shows it (see queue/publish.ts):
 * `published`: its outputs are in the folder, whole (`OUT/00012/`, or `OUT/00012.tar`);
 * `running`: a worker runs it now (its work folder's lock is held); `stopped`: begun in its work
 * folder by a worker that stopped or was killed before its end (the queue gives it to a worker
 * again, which goes on from its journal when it shares the folder).
 */
export type FolderShardState = 'published' | 'running' | 'stopped'

/** One shard with a journal in a queue's output folder. */
export interface FolderShard {
  shard: number
  stem: string
  /** The layout of the folder that holds its journal: `OUT/00012` or `OUT/.imgpull/queue/00012`. */
  paths: Layout
  /**
   * That folder relative to the output folder, `/`-separated, with a trailing `/`: what a path its
   * journal keeps (relative to its own folder) is prefixed with to be one relative to `OUT`.
   */
  prefix: string
  state: FolderShardState
  /** `running`: the process that holds it, as its lock says (`unknown` when it says nothing). */
  holder?: LockHolder | 'unknown'
}

/** A queue's output folder, read from the folder alone (Redis knows the rest: see `queueStatus`). */
export interface QueueFolder {
  /** The queue that bound the folder (`OUT/.imgpull/queue/input.json`), when it says. */
  queue?: string
  /** Its shards' outputs: WebDataset tars when a shard's work folder says so, else folders of files. */
  format: 'files' | 'webdataset'
  /** Samples a WebDataset shard (its `dataset.json`), when the format is WebDataset. */
  shardSize?: number
  /** The shards with a journal, in shard order. */
  shards: FolderShard[]
  /**
   * Shards numbered below the highest one here that have no journal: no worker has begun them (or
   * one began them in another output folder). How many, and the first `NOT_STARTED_NAMED`.
   */
  notStarted: { count: number; first: string[] }
}

/** Shards not started named, at most. */
export const NOT_STARTED_NAMED = 5

/**
 * The queue's output folder `dir` (one whose `.imgpull/queue/` workers wrote), or `undefined`
 * when it holds no shard with a journal. Memory: one entry a shard, none a row.
 */
export function readQueueFolder(dir: string): QueueFolder | undefined {
  const journals = queueShardJournals(dir)
  if (!journals?.length) return undefined
  let format: QueueFolder['format'] = 'files'
  let shardSize: number | undefined
  const shards: FolderShard[] = []
  for (const paths of journals) {
    const stem = basename(paths.out)
    const dataset = datasetOf(paths)
    if (dataset) {
      format = 'webdataset'
      shardSize ??= dataset.shardSize
    }
    // A files shard's journal is in OUT/00012 once published (its work folder renamed there);
    // a WebDataset shard's stays in its work folder, the tar marking it published.
    const staged = basename(dirname(paths.out)) === 'queue'
    const published = !staged || (dataset !== undefined && existsSync(join(dir, `${stem}.tar`)))
    const holder = published ? undefined : FolderLock.holder(paths, Database)
    const rel = relative(dir, paths.out).split(sep).join('/')
    shards.push({
      shard: Number(stem),
      stem,
      paths,
      prefix: `${rel}/`,
      state: published ? 'published' : holder ? 'running' : 'stopped',
      ...(holder ? { holder } : {}),
    })
  }
  return { queue: queueOf(dir), format, shardSize, shards, notStarted: gaps(shards.map((s) => s.shard)) }
}

/** The numbers below the highest of `present` (ascending) that are not in it: how many, the first few. */
export function gaps(present: readonly number[]): QueueFolder['notStarted'] {
  const first: string[] = []
  let count = 0
  let next = 0
  for (const shard of present) {
    count += Math.max(0, shard - next)
    for (let n = next; n < shard && first.length < NOT_STARTED_NAMED; n++) first.push(shardStem(n))
    next = Math.max(next, shard + 1)
  }
  return { count, first }
}

/** A shard work folder's WebDataset record, or `undefined` (files, or none readable). */
function datasetOf(paths: Layout): { shardSize: number } | undefined {
  try {
    const info = JSON.parse(readFileSync(paths.dataset, 'utf8'))
    return info?.format === 'webdataset' && Number.isInteger(info.shardSize)
      ? { shardSize: info.shardSize }
      : undefined
  } catch {
    return undefined
  }
}

/** The queue named by the folder's binding (`bindFolder`), if it can be read. */
function queueOf(dir: string): string | undefined {
  try {
    const { queue } = JSON.parse(readFileSync(join(layout(dir).work, 'queue', 'input.json'), 'utf8'))
    return typeof queue === 'string' && queue ? queue : undefined
  } catch {
    return undefined
  }
}

/**
 * The summaries of a queue folder's shards as one (`imgpull status OUT`), added one at a time:
 * counts, bytes, runs, failures by code and share pages add up; the commonest errors are the ten
 * commonest codes of the sum, each with the example of the first shard that gave one (a code past
 * every shard's ten commonest has none: `''`); the same bytes under many URLs add up by sha256 over
 * the shards where each reached the threshold (a placeholder sent a few times in each of many
 * shards is missed, as one past the latest files a journal looks among is). Memory: one entry a
 * code, three sha256 a shard at most.
 */
export class SummarySum {
  #counts: Record<string, number> = {}
  #failures = new Map<string, number>()
  #examples = new Map<string, { example: string; message: string }>()
  #same = new Map<string, { sha256: string; n: number; example: string }>()
  #sharePages = 0
  #bytes = 0
  #runs = 0

  add(next: JournalSummary): void {
    for (const [state, n] of Object.entries(next.counts)) this.#counts[state] = (this.#counts[state] ?? 0) + n
    for (const f of next.failures) this.#failures.set(f.error, (this.#failures.get(f.error) ?? 0) + f.n)
    for (const e of next.errors) if (!this.#examples.has(e.error)) this.#examples.set(e.error, e)
    for (const e of next.sameBytes) {
      const had = this.#same.get(e.sha256)
      this.#same.set(e.sha256, had ? { ...had, n: had.n + e.n } : { ...e })
    }
    this.#sharePages += next.sharePages
    this.#bytes += next.bytes
    this.#runs += next.runs
  }

  result(): JournalSummary {
    const failures = [...this.#failures]
      .map(([error, n]) => ({ error, n }))
      .sort((a, b) => b.n - a.n || String(a.error).localeCompare(String(b.error)))
    return {
      counts: { ...this.#counts },
      errors: failures.slice(0, 10).map(({ error, n }) => {
        const e = this.#examples.get(error)
        return { error, n, example: e?.example ?? '', message: e?.message ?? '' }
      }),
      failures,
      sharePages: this.#sharePages,
      bytes: this.#bytes,
      runs: this.#runs,
      sameBytes: [...this.#same.values()].sort((a, b) => b.n - a.n).slice(0, 3),
    }
  }
}
