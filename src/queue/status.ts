import { Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import { counted, formatBytes, formatDuration, grouped, plural } from '../report/format.js'
import { printable } from '../utils/printable.js'
import { enqueueRunning, enqueueState } from './enqueue-lease.js'
import {
  foreignJobWords,
  lostShardsWords,
  pausedWords,
  QueueError,
  STALLED_REASON,
  shardFailureWords,
  shownRedis,
} from './errors.js'
import {
  BULL_PREFIX,
  elsewhereWords,
  heldKey,
  metaKey,
  queueNameProblem,
  shardJobId,
  shardStem,
  shardsKey,
  workersKey,
} from './keys.js'
import { heardWithin, openRedis, refusedBy } from './redis.js'
import { isShardJob, type ShardCounts } from './shard-data.js'
import type { Heartbeat, HeldShard, ShardProgress } from './worker-records.js'

/** A worker is counted as alive while its heartbeat is younger than this, ms. */
export const ALIVE_MS = 15_000

/** What `queueStatus()` tells: `imgpull status --redis … --queue … --json` prints it as is. */
export interface QueueStatus {
  queue: string
  redis: string
  /** When it was read: ms since the epoch on Redis's clock, the one the workers' heartbeats are stamped in. */
  at: number
  input?: {
    id: string
    kind: string
    files: string[]
    shardSize: number
    /** Known once enqueue has read the whole input. */
    rows?: number
    shards?: number
    complete: boolean
    /**
     * Where its enqueue stands: `complete`, `running`, or `stopped` before the input's end (Ctrl-C,
     * a kill: the same enqueue run again adds the rest). See `enqueueState`.
     */
    enqueue: 'complete' | 'running' | 'stopped'
    /**
     * With `enqueue: 'stopped'`: the fault of the input it stopped at (a record a reader cannot
     * take, a gzip file cut short), in the reader's words; absent for a stop (Ctrl-C, a kill).
     */
    broken?: string
    enqueuedAt: number
  }
  /**
   * Paused as BullMQ pauses a queue (`Queue.pause()`, a dashboard's button): no worker takes a
   * shard until it is resumed (see `pausedWords`). Absent when not paused.
   */
  paused?: true
  shards: {
    /** Waiting to be taken, `retrying` of them after a failed attempt (BullMQ's delayed). */
    waiting: number
    retrying: number
    /**
     * When the first of them is due, ms from `at` (Redis's clock; 0 or less: due, waiting for a
     * worker). BullMQ stamps a retry with the failing worker's clock: one an hour ahead left the shard
     * an hour more, which "1 to retry" alone did not show (see `clockWords`). Absent: none retrying.
     */
    nextRetryIn?: number
    active: number
    /** Done, `cleaned` of them with their BullMQ jobs removed since (see `cleanedDone`). */
    done: number
    cleaned?: number
    failed: number
  }
  images: {
    /** Downloaded now or before (`skipped` included), over done and active shards. */
    ok: number
    failed: number
    bytes: number
    /**
     * Failures by code, over done and active shards, as `failed` counts them (an active one's as of
     * its last progress, every 2 s; a worker of an earlier build sends none).
     */
    errors: Record<string, number>
  }
  /** Images a second over all live workers. */
  rate: number
  /** Shards running now, with their progress. */
  active: { shard: number; worker?: string; rows: number; done: number; since?: number }[]
  /**
   * Failed shards (the first 10), with why. `stalled`: the times its workers stopped while running
   * it, for a shard failed for that (BullMQ's `maxStalledCount`), whose attempts never counted them.
   */
  failures: { shard: number; reason: string; attempts: number; stalled?: number }[]
  /**
   * Failed jobs that are no shard (another program's, put in the queue: see `isShardJob`), the
   * first 10: not counted in `shards`. Absent when there is none.
   */
  foreign?: { id: string; name: string }[]
  /**
   * Shards waiting because their output folder is held by another run still alive (a worker that
   * lost its lock and runs it still, held still by SIGSTOP or a paused VM; a local run): the
   * folder and its holder, the worker that gave it back and when. They are tried again every
   * `retryMs`, no attempt counted, never failed for it. Shown as "to retry" alone, they said nothing.
   */
  held?: (HeldShard & { shard: number })[]
  workers: (Heartbeat & { id: string; alive: boolean })[]
}

/**
 * Progress of a queue over all its workers, from Redis alone: shard counts from BullMQ, image
 * counts from the finished shards' counts and the running shards' progress, rate and workers from
 * the workers' heartbeats. Throws `QueueError` when Redis cannot be used or the queue is unknown.
 */
export async function queueStatus(url: string, name: string, at?: number): Promise<QueueStatus> {
  const problem = queueNameProblem(name)
  if (problem) throw new TypeError(problem)
  const redis = await openRedis(url)
  const queue = new Queue(name, { connection: redis, prefix: BULL_PREFIX })
  queue.on('error', () => {})
  try {
    return await heardWithin(redis, url, () => readStatus(url, name, redis, queue, at))
  } catch (error) {
    throw refusedBy(error, url) ?? error
  } finally {
    // Disconnected first: the queue shares the client, and BullMQ's close waits for its own check
    // of Redis (INFO) when that is still unanswered.
    redis.disconnect()
    await queue.close().catch(() => {})
  }
}

/** The reads of `queueStatus`, on a client and queue it opened. */
async function readStatus(
  url: string,
  name: string,
  redis: Redis,
  queue: Queue,
  at: number | undefined,
): Promise<QueueStatus> {
  const [meta, finished, beats, counts, time, enqueuing, paused] = await Promise.all([
    redis.hgetall(metaKey(name)),
    redis.hgetall(shardsKey(name)),
    redis.hgetall(workersKey(name)),
    queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'),
    redis.time(),
    enqueueRunning(redis, name),
    queue.isPaused(),
  ])
  // BullMQ scores a delayed job by its due time (ms) times 0x1000, a counter below (getDelayedScore.lua).
  const [, firstScore] = await redis.zrange(queue.toKey('delayed'), 0, 0, 'WITHSCORES')
  // Redis's clock, not this machine's: the heartbeats are stamped in it (see `Heartbeat.seenAt`).
  const now = at ?? Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000)
  if (!meta.inputId && Object.values(counts).every((n) => n === 0))
    // A name mistyped was said as a queue not enqueued yet, the right one unnamed.
    throw new QueueError(
      'queue-unknown',
      meta.complete === '1'
        ? `queue ${name} on ${shownRedis(url)} holds nothing: its enqueue found no rows in its input`
        : `queue ${name} on ${shownRedis(url)} holds nothing: enqueue an input first${await elsewhereWords(redis, url, name)}`,
    )
  const images = { ok: 0, failed: 0, bytes: 0, errors: {} as Record<string, number> }
  const activeJobs = await queue.getJobs(['active'], 0, 99)
  // A re-opened shard running its retry round counts by its progress, not its last counts too.
  const running = new Set(activeJobs.map((job) => String(job.data.shard)))
  for (const [shard, text] of Object.entries(finished)) {
    if (running.has(shard)) continue
    const c = JSON.parse(text) as ShardCounts
    images.ok += c.ok + c.skipped
    images.failed += c.failed
    images.bytes += c.bytes
    addErrors(images.errors, c.errors)
  }
  const active = activeJobs.map((job) => {
    const p = (typeof job.progress === 'object' ? job.progress : {}) as Partial<ShardProgress>
    images.ok += p.ok ?? 0
    images.failed += p.failed ?? 0
    images.bytes += p.bytes ?? 0
    addErrors(images.errors, p.errors)
    return {
      shard: job.data.shard as number,
      worker: job.processedBy,
      rows: (job.data.rows?.count as number) ?? p.rows ?? 0,
      done: p.done ?? 0,
      since: job.processedOn,
    }
  })
  // Another program's jobs (see `isShardJob`) are no shards: not counted, not listed as shards.
  const allFailed = counts.failed ? await queue.getJobs(['failed']) : []
  const foreign = allFailed.filter((job) => !isShardJob(job.data))
  const failedJobs = allFailed.filter((job) => isShardJob(job.data)).slice(0, 10)
  const cleaned = await cleanedDone(
    redis,
    queue,
    meta,
    counts.waiting + counts.prioritized + counts.delayed + counts.active + counts.completed + counts.failed,
    Object.keys(finished),
  )
  // Only those still delayed: an entry of a shard since taken, done or failed is old news.
  const heldNow = await redis.hgetall(heldKey(name))
  const delayed = Object.keys(heldNow).length
    ? new Set((await queue.getJobs(['delayed'], 0, 999)).map((job) => String(job.data.shard)))
    : new Set<string>()
  const held = Object.entries(heldNow)
    .filter(([shard]) => delayed.has(shard))
    .map(([shard, text]) => ({ shard: Number(shard), ...(JSON.parse(text) as HeldShard) }))
    .sort((a, b) => a.shard - b.shard)
  const workers = Object.entries(beats)
    .map(([id, text]) => {
      const beat = JSON.parse(text) as Heartbeat
      return { id, ...beat, alive: beat.stoppedAt === undefined && now - beat.seenAt < ALIVE_MS }
    })
    .sort((a, b) => Number(b.alive) - Number(a.alive) || b.seenAt - a.seenAt)
  return {
    queue: name,
    redis: shownRedis(url),
    at: now,
    input: meta.inputId
      ? {
          id: meta.inputId,
          kind: meta.kind,
          files: JSON.parse(meta.files ?? '[]'),
          shardSize: Number(meta.shardSize),
          rows: meta.rows === undefined ? undefined : Number(meta.rows),
          shards: meta.shards === undefined ? undefined : Number(meta.shards),
          complete: meta.complete === '1',
          enqueue: enqueueState(meta, enqueuing) as 'complete' | 'running' | 'stopped',
          ...(meta.broken && !enqueuing && meta.complete !== '1' ? { broken: meta.broken } : {}),
          enqueuedAt: Number(meta.enqueuedAt),
        }
      : undefined,
    ...(paused ? { paused: true as const } : {}),
    shards: {
      waiting: counts.waiting + counts.prioritized + counts.delayed,
      retrying: counts.delayed,
      ...(counts.delayed && firstScore !== undefined
        ? { nextRetryIn: Math.floor(Number(firstScore) / 0x1000) - now }
        : {}),
      active: counts.active,
      done: counts.completed + cleaned,
      ...(cleaned ? { cleaned } : {}),
      failed: counts.failed - foreign.length,
    },
    images,
    rate: workers.filter((w) => w.alive).reduce((n, w) => n + w.rate, 0),
    active: active.sort((a, b) => a.shard - b.shard),
    failures: failedJobs.map((job) => ({
      shard: job.data.shard as number,
      reason: shardFailureWords(job.failedReason, job.stalledCounter),
      attempts: job.attemptsMade,
      ...(job.failedReason === STALLED_REASON ? { stalled: job.stalledCounter } : {}),
    })),
    ...(foreign.length
      ? { foreign: foreign.slice(0, 10).map((job) => ({ id: String(job.id), name: job.name })) }
      : {}),
    held,
    workers,
  }
}

/**
 * Shards done whose BullMQ jobs are gone since: their counts in imgpull's own `shardsKey`
 * (`finished`, shard numbers), their jobs removed by BullMQ's `Queue.clean(grace, limit,
 * 'completed')` (housekeeping, a dashboard's "clean completed", a cron: OptimalBits/bull#854). They are done, published: counted
 * as lost shards, a queue done and cleaned was said to hold 0 of its 3 shards, "deleted or
 * obliterated", and a worker with `--exit-when-done` exited 1. Looked up (a job key each) only when
 * the queue holds fewer jobs (`jobs`) than its enqueue made shards (`meta.shards`).
 */
export async function cleanedDone(
  redis: Redis,
  queue: Queue,
  meta: { inputId?: string | null; shards?: string | null },
  jobs: number,
  finished: readonly string[],
): Promise<number> {
  const { inputId, shards } = meta
  if (!inputId || !shards || jobs >= Number(shards) || finished.length === 0) return 0
  const check = redis.pipeline()
  for (const shard of finished) check.exists(queue.toKey(shardJobId(inputId, Number(shard))))
  return ((await check.exec()) ?? []).filter(([error, held]) => !error && held === 0).length
}

/** Add `more`'s counts by failure code into `sums`. */
function addErrors(sums: Record<string, number>, more: Record<string, number> | undefined): void {
  for (const [code, k] of Object.entries(more ?? {})) sums[code] = (sums[code] ?? 0) + k
}

const n = grouped

const ago = (ms: number) =>
  ms < 1000
    ? 'just now'
    : ms < 120_000
      ? `${Math.round(ms / 1000)} s ago`
      : `${Math.round(ms / 60_000)} min ago`

/** The status as lines for a person. */
export function formatStatus(s: QueueStatus, now = s.at): string[] {
  const lines: string[] = []
  const input = s.input
  if (input) {
    const what = input.files.length ? input.files.join(', ') : 'standard input'
    const rows =
      input.rows !== undefined
        ? `${n(input.rows)} rows`
        : input.enqueue === 'stopped'
          ? 'rows not all enqueued'
          : 'rows still being enqueued'
    lines.push(`queue ${s.queue} on ${s.redis}: ${what}, ${rows}, ${n(input.shardSize)} a shard`)
  } else lines.push(`queue ${s.queue} on ${s.redis}`)
  const { shards } = s
  const total = shards.waiting + shards.active + shards.done + shards.failed
  const due =
    shards.nextRetryIn === undefined
      ? ''
      : shards.nextRetryIn < 1000
        ? ', the first due now'
        : `, the first in ${formatDuration(shards.nextRetryIn)}`
  const retrying = shards.retrying ? ` (${n(shards.retrying)} to retry${due})` : ''
  lines.push(
    `shards: ${n(shards.done)} done${shards.cleaned ? ` (${n(shards.cleaned)} of them cleaned from BullMQ since: Queue.clean)` : ''}, ${n(shards.active)} active, ${n(shards.waiting)} waiting${retrying}, ${n(shards.failed)} failed, of ${n(total)}`,
  )
  if (s.paused) lines.push(`${pausedWords(s.queue)}.`)
  if (s.input?.enqueue === 'complete' && s.input.shards !== undefined && total < s.input.shards)
    lines.push(`${lostShardsWords(s.queue, s.input.shards, total)}: run the same enqueue again to add them`)
  const alive = s.workers.filter((w) => w.alive)
  lines.push(
    `images: ${n(s.images.ok)} ok (${formatBytes(s.images.bytes)}), ${n(s.images.failed)} failed; ${n(s.rate)} images/s over ${alive.length} live ${plural(alive.length, 'worker')}`,
  )
  const errors = Object.entries(s.images.errors).sort((a, b) => b[1] - a[1])
  if (errors.length)
    lines.push(
      `errors: ${errors
        .slice(0, 6)
        .map(([code, k]) => `${code} ×${n(k)}`)
        .join(', ')}`,
    )
  for (const a of s.active) {
    // A shard whose worker stopped beating (killed, lost) is still active until its lock lapses.
    const holder = s.workers.find((w) => w.id === a.worker)
    const gone =
      holder && !holder.alive && !holder.stoppedAt
        ? ` (not seen for ${ago(now - holder.seenAt).replace(' ago', '')}: the shard goes back to the queue once its lock lapses)`
        : ''
    lines.push(`  shard ${shardStem(a.shard)}: ${n(a.done)}/${n(a.rows)} on ${a.worker ?? 'a worker'}${gone}`)
  }
  // Workers that stopped without doing anything (started before the enqueue, say) are counted, not
  // listed (one that completed shards it found published did something: it is); one gone while on a shard is listed (killed before its first image: a shard's workers
  // dying one after another were all hidden as having done nothing).
  const idle = (w: QueueStatus['workers'][number]) =>
    !w.alive &&
    w.shards === 0 &&
    !w.foundPublished &&
    w.ok === 0 &&
    w.failed === 0 &&
    w.running.length === 0 &&
    !w.attemptsFailed
  const listed = s.workers.filter((w) => !idle(w))
  const quiet = s.workers.length - listed.length
  if (s.workers.length) lines.push(quiet ? `workers (and ${n(quiet)} stopped that did nothing):` : 'workers:')
  for (const w of listed) {
    const state = w.stoppedAt
      ? `stopped ${ago(now - w.stoppedAt)}`
      : w.alive
        ? `seen ${ago(now - w.seenAt)}`
        : `not seen for ${ago(now - w.seenAt).replace(' ago', '')} (gone?)`
    // A gone worker's last beat names the shard it held then: another has taken it over since.
    const held = w.running.map(shardStem).join(', ')
    const doing = !w.running.length
      ? ''
      : w.alive || w.stoppedAt
        ? `shard ${held}, `
        : `was on shard ${held}, `
    // A machine that cannot read the input fails each shard it takes: which one, and why.
    const failing = w.attemptsFailed
      ? `; ${counted(w.attemptsFailed, 'attempt')} at shards failed, the last: ${printable(w.lastFailure ?? '')}`
      : ''
    lines.push(
      `  ${w.id}: ${doing}${counted(w.shards, 'shard')} done, ${w.foundPublished ? `${n(w.foundPublished)} found already published, ` : ''}${n(w.ok)} ok, ${n(w.failed)} failed, ${n(w.alive ? w.rate : 0)} images/s; ${state}${failing}`,
    )
  }
  for (const h of s.held ?? [])
    lines.push(
      `  shard ${shardStem(h.shard)} waits for its folder: ${printable(h.why)} (given back by ${h.worker} ${ago(now - h.at)}; tried again every ${Math.round(h.retryMs / 100) / 10} s, no attempt counted, until it is free)`,
    )
  for (const f of s.failures)
    lines.push(
      f.stalled !== undefined
        ? `failed shard ${shardStem(f.shard)}: ${f.reason}`
        : `failed shard ${shardStem(f.shard)} after ${f.attempts} ${plural(f.attempts, 'attempt')}: ${f.reason}`,
    )
  for (const job of s.foreign ?? []) lines.push(`${foreignJobWords(s.queue, job.id, job.name)}.`)
  if (input?.enqueue === 'stopped')
    lines.push(
      input.broken
        ? `Its enqueue stopped at a fault of its input: ${input.broken}. The rest is not in the queue, and the same enqueue stops there again.`
        : "Its enqueue stopped before the input's end (no enqueue runs): the rest is not in the queue; run the same enqueue again to add it.",
    )
  if (shards.failed > 0)
    lines.push(
      `Once the cause is mended, enqueue the same input again: failed shards are tried again (done ones are not).`,
    )
  return lines
}
