import { formatDuration } from '../report/format.js'
import { shownRedis } from './errors.js'

/**
 * What a worker writes to Redis for `imgpull status` to read (its heartbeat, a shard it gave back
 * for a busy folder, a running shard's progress), and the pure rules that make its heartbeat.
 */

/** A worker's heartbeat in `imgpull:<queue>:workers` (JSON): what `status` shows of it. */
export interface Heartbeat {
  host: string
  pid: number
  startedAt: number
  /**
   * ms since the epoch on Redis's clock (as `startedAt` and `stoppedAt`), which `status` reads
   * too: a worker whose own clock is off is neither shown gone while it beats nor alive once dead.
   */
  seenAt: number
  stoppedAt?: number
  /** Shards it is running. */
  running: number[]
  /** Shards it ran and published; those it found published apart (`WorkerSummary.foundPublished`; absent: none). */
  shards: number
  foundPublished?: number
  /** Images it fetched, failed, and their bytes: its own, as `WorkerSummary.ok` counts them. */
  ok: number
  failed: number
  bytes: number
  /** Images a second over the last heartbeats. */
  rate: number
  /**
   * Attempts at shards its runs failed, and the last one's why (none: absent). A machine that
   * cannot read the input (the shared folder not mounted there) fails every shard it takes: `status`
   * names it, where it was counted among the workers that did nothing.
   */
  attemptsFailed?: number
  lastFailure?: string
}

/** A shard given back because its folder is held by another run: what `status` says of it. */
export interface HeldShard {
  /** The `FolderBusyError`'s words: the folder and the run that holds it (pid, host, start). */
  why: string
  /** The worker that gave it back, and when (ms since the epoch, Redis's clock). */
  worker: string
  at: number
  /** How long until it is tried again, ms (the worker's --lock-duration). */
  retryMs: number
}

/** A shard in progress, for `status` (the job's BullMQ progress). */
export interface ShardProgress {
  rows: number
  done: number
  ok: number
  failed: number
  bytes: number
  /** Its failures so far by code, as `ShardCounts.errors`: `status` sums them with the done shards'. */
  errors: Record<string, number>
}

/** Images a worker's own runs ended: fetched, failed, and the bytes fetched. */
export interface OwnImages {
  ok: number
  failed: number
  bytes: number
}

/** Add the images of `parts` (a worker's ended shards, then each running shard's). Pure. */
export function sumImages(parts: Iterable<OwnImages>): OwnImages {
  const sum = { ok: 0, failed: 0, bytes: 0 }
  for (const p of parts) {
    sum.ok += p.ok
    sum.failed += p.failed
    sum.bytes += p.bytes
  }
  return sum
}

/** How far back a worker's images a second look, ms: over the last heartbeats, not its whole life. */
export const RATE_WINDOW_MS = 15_000

/**
 * A worker's images a second over the last `windowMs` (default `RATE_WINDOW_MS`): fed the count of
 * its images ended at each heartbeat, on a clock that does not step (`steadyNow`). The two latest
 * samples are always kept, so a heartbeat slower than the window still gives a rate.
 */
export class ImageRate {
  readonly #samples: { t: number; n: number }[] = []
  readonly #windowMs: number

  constructor(windowMs = RATE_WINDOW_MS) {
    this.#windowMs = windowMs
  }

  /** Note `done` images ended by `now` (ms); the images a second since the oldest sample kept (0 at first). */
  note(now: number, done: number): number {
    const samples = this.#samples
    samples.push({ t: now, n: done })
    while (samples.length > 2 && now - samples[0].t > this.#windowMs) samples.shift()
    const first = samples[0]
    return now > first.t ? Math.round(((done - first.n) * 1000) / (now - first.t)) : 0
  }
}

/** What a heartbeat tells, as the worker knows it; times ms on this machine's steady clock. */
export interface WorkerState {
  host: string
  pid: number
  startedAt: number
  now: number
  /** Redis's clock less this machine's, ms: every time is written in Redis's time. */
  skew: number
  /** The worker's last heartbeat, as it stops: `stoppedAt` is set. */
  final: boolean
  running: number[]
  shards: number
  foundPublished: number
  own: OwnImages
  rate: number
  failedAttempts: { n: number; last: string }
}

/** The heartbeat of `w`: times moved to Redis's clock, counts of zero left out where `status` reads absent as none. Pure. */
export function heartbeatOf(w: WorkerState): Heartbeat {
  return {
    host: w.host,
    pid: w.pid,
    startedAt: w.startedAt + w.skew,
    seenAt: w.now + w.skew,
    ...(w.final ? { stoppedAt: w.now + w.skew } : {}),
    running: w.running,
    shards: w.shards,
    ...(w.foundPublished ? { foundPublished: w.foundPublished } : {}),
    ok: w.own.ok,
    failed: w.own.failed,
    bytes: w.own.bytes,
    rate: w.rate,
    ...(w.failedAttempts.n ? { attemptsFailed: w.failedAttempts.n, lastFailure: w.failedAttempts.last } : {}),
  }
}

/**
 * How far a worker's clock may be from Redis's before it is told, ms. BullMQ times a failed
 * shard's retry (`--backoff`) on the clock of the worker that failed it, and gives delayed shards
 * out on the clock of the worker asking (`Date.now()`, not Redis's `TIME`): a machine whose clock
 * is off moves every such wait by as much. NTP keeps machines within milliseconds.
 */
export const CLOCK_OFF_MS = 5_000

/**
 * What a worker whose clock is `off` ms behind Redis's (negative: ahead) is told, or `undefined`
 * within `CLOCK_OFF_MS`. A worker 1 h ahead that failed a shard's attempt left it to wait an hour
 * and its backoff, the other workers (with `--exit-when-done`, a batch job) waiting silent as long
 * (apache/dolphinscheduler#12170, apache/pulsar#25310: delays timed by a client's clock). Pure.
 */
export function clockWords(redis: string, off: number): string | undefined {
  if (Math.abs(off) <= CLOCK_OFF_MS) return undefined
  const by = formatDuration(Math.abs(off))
  const effect =
    off < 0
      ? `a shard whose attempt fails here waits ${by} more than its --backoff before any worker takes it again, and this worker retries the others' failed shards that much early`
      : `a shard whose attempt fails here is retried by the others without its --backoff wait, and this worker retries their failed shards ${by} late`
  return `this machine's clock is ${by} ${off < 0 ? 'ahead of' : 'behind'} the clock of Redis at ${shownRedis(redis)}: BullMQ times a failed shard's retry by the clock of the worker that failed it, so ${effect}; set this machine's clock (NTP: timedatectl, chronyc)`
}
