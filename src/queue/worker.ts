import { existsSync } from 'node:fs'
import { hostname } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { DelayedError, type Job, Queue, UnrecoverableError, WaitingError, Worker } from 'bullmq'
import type { Redis } from 'ioredis'
import { INPUT_ERRORS } from '../error-codes.js'
import { FatalError, FolderBusyError, OptionFileError } from '../errors.js'
import { CertPasswordError } from '../fetch/client-cert.js'
import { JournalReader } from '../journal/sqlite.js'
import { layout } from '../layout.js'
import { pull } from '../pull.js'
import { isFatalLocal } from '../sinks/local-faults.js'
import type { Result } from '../types.js'
import { visibleShellWord } from '../utils/command-line.js'
import { steadyNow } from '../utils/steady-clock.js'
import { ENQUEUE_RENEW_MS, enqueueRunning, enqueueState } from './enqueue-lease.js'
import {
  foreignJobWords,
  lostShardsWords,
  pausedWords,
  STALLED_REASON,
  shardFailureWords,
  shownRedis,
} from './errors.js'
import { RedisHostGate } from './host-gate.js'
import {
  BULL_PREFIX,
  elsewhereWords,
  heldKey,
  metaKey,
  queueNameProblem,
  shardStem,
  shardsKey,
  workersKey,
} from './keys.js'
import { OPTION_FILES } from './option-files.js'
import {
  bindFolder,
  isPublished,
  type OutputFormat,
  prepare,
  publish,
  readCounts,
  reopen,
  settlePublished,
  shardPaths,
} from './publish.js'
import { shardSource } from './read-shard.js'
import {
  evictingPolicy,
  evictionWords,
  isRefusal,
  onHeard,
  openRedis,
  redisUser,
  refusalHint,
  refusalWords,
} from './redis.js'
import { Refusals } from './refusals.js'
import { holdLock, lapsedWords } from './relock.js'
import { DATA_VERSION, isShardJob, type ShardCounts, type ShardJobData } from './shard-data.js'
import { cleanedDone } from './status.js'
import {
  clockWords,
  type HeldShard,
  heartbeatOf,
  ImageRate,
  type ShardProgress,
  sumImages,
} from './worker-records.js'

/** Options of `runWorker()`. */
export interface WorkerOptions {
  /** Redis URL, as given to `enqueue()`. */
  redis: string
  queue: string
  /** Output folder: shards are published here (see `shardPaths`). May be shared by workers. */
  out: string
  /** Transfers at once in each shard's run. @default the enqueued `concurrency` (128) */
  concurrency?: number
  /**
   * Transfer threads in each shard's run (see `Options.threads`): the machine's, as `concurrency`
   * is, so workers on machines of other sizes each take their own. @default the enqueued `threads`
   */
  threads?: number | 'auto'
  /** Shards this worker runs at once. @default 1 */
  shards?: number
  /**
   * How long a shard stays this worker's without a renewal, ms. Renewed every half of it while the
   * worker lives; a worker that dies gives its shard back this long after. @default 30_000
   */
  lockDuration?: number
  /** How often this worker looks for shards whose worker died, ms. @default `lockDuration` */
  stalledInterval?: number
  /** Times a shard may be taken back from a dead worker before it is failed. @default 3 */
  maxStalledCount?: number
  /**
   * How long a host slot lasts unless renewed, ms (see `RedisHostGate`). @default `hostLeaseMs`:
   * the larger of 30_000 and `lockDuration`
   */
  leaseMs?: number
  /** Stop once no shard is waiting, delayed or active and enqueue has finished. @default false */
  exitWhenDone?: boolean
  /** Stop at once: transfers are cut, unfinished shards go back to the queue. */
  signal?: AbortSignal
  /** Stop cleanly: take no new shard, finish the transfers in flight; a shard then complete is published, an unfinished one goes back to the queue. */
  drainSignal?: AbortSignal
  /**
   * The password of the client certificate (or key) a queue's shards name (`clientCert`), given to
   * each of their runs: a secret is never carried in Redis with the shards' options. @default none
   */
  clientCertPassword?: string
  /** Told what happens, for a person or a log. */
  onEvent?: (event: WorkerEvent) => void
  /** How often the worker's heartbeat and shard progress go to Redis, ms. @default 2000 */
  heartbeatMs?: number
}

export type WorkerEvent =
  | { type: 'started'; worker: string }
  /** `round`: a retry round enqueue re-opened the shard for (see `ShardJobData.retry`). */
  | { type: 'shard'; shard: number; rows: number; attempt: number; round?: number }
  /** Something the worker did otherwise than asked, and why (a re-opened shard it cannot run again). */
  | { type: 'note'; shard: number; message: string }
  | { type: 'done'; shard: number; counts: ShardCounts }
  | { type: 'released'; shard: number; why: string }
  | { type: 'failed'; shard: number; message: string }
  /** `evicting`: Redis took an evicting `maxmemory-policy` while the worker ran (see `runWorker`). */
  | { type: 'redis'; state: 'lost' | 'back' | 'gone' | 'refused' | 'evicting'; message: string }
  /** With `exitWhenDone`: the queue's enqueue stopped before its input's end; the worker stops. */
  | { type: 'enqueue-stopped'; message: string }
  /** This machine's clock is far from Redis's, which moves the retries of failed shards (see `clockWords`). */
  | { type: 'clock'; message: string }
  /** The queue was paused (`paused: true`, see `pausedWords`) or resumed, as BullMQ pauses one: said once each time. */
  | { type: 'paused'; paused: boolean; message: string }
  /** A job in the queue that is no shard (another program's: see `isShardJob`), failed unrun. */
  | { type: 'foreign'; message: string }
  /** The queue has never been given an input: the worker waits for one (workers may start first). */
  | { type: 'empty'; message: string }

/** What a worker did, when it stops. */
export interface WorkerSummary {
  worker: string
  /** Shards it ran and published. */
  shards: number
  /**
   * Shards it found published by another run (a worker that died before telling Redis, Redis back
   * without its data and the input enqueued again, or a worker that took its shard over as it ran
   * it) and completed as they are: done, but not this worker's. Counted in `shards`, the workers'
   * lines added up to more shards than the queue held (17 and 26 of 30 after Redis lost its data).
   */
  foundPublished: number
  /** Shards it gave back to the queue (stopped, or its lock lost). */
  released: number
  /**
   * Images of the shards it gave back that its runs of them did not finish (cut in flight, or not
   * begun): left to the worker that takes each. Its line said only "0 images ok" of a shard cut
   * mid-way, as if it had done nothing (see `received`).
   */
  unfinished: number
  /** Shard attempts that failed (BullMQ tries them again with backoff, up to their attempts). */
  failed: number
  /** Of those, the shards' last attempts: failed for good (`status` shows why). */
  failedForGood: number
  /**
   * Images this worker fetched (`bytes` theirs), and those it failed. An outcome a shard's journal
   * held from before (an attempt at the shard that lost its lock or was killed, this worker's or
   * another's; a retry round's images done in the first) is the shard's, not this worker's again:
   * counted twice, a worker that lost a shard and ran it again said 38 images ok of 3 shards of 10.
   */
  ok: number
  /** Images its shards' journals held as done before (not fetched by this worker now). */
  skipped: number
  /**
   * Of `skipped`, those this worker fetched itself in an earlier attempt at the same shard (one
   * that lost its lock or failed, the journal kept): in `ok` already. Its last line said them as
   * `done before` beside `ok`, as if more images than the shard's rows were done.
   */
  ownBefore: number
  failedImages: number
  bytes: number
  /**
   * Body bytes it received over all its shard runs, partial transfers included (`RunStats.bytes`):
   * those of the images cut when it gave a shard back too, which `bytes` (its images ok) leaves out.
   */
  received: number
  ms: number
  stoppedBy: 'done' | 'signal' | 'fatal'
  /**
   * With `exitWhenDone`: it stopped because the queue's enqueue stopped before its input's end
   * (Ctrl-C, a kill) with every shard it added done, not because the input is done.
   */
  enqueueStopped?: boolean
  /** The local fault that stopped it (`stoppedBy: 'fatal'`): a full disk, an unwritable folder. */
  fatal?: FatalError
  /**
   * With `exitWhenDone`, once nothing was left to run: the queue's shards failed for good, by this
   * worker or any other, before it or since (a shard this worker lost its lock on, failed by the one
   * that took it over; one failed by an earlier run): the queue is not done. Absent when none is.
   */
  queueFailed?: number
  /**
   * The queue's keys were gone from Redis (deleted, or Redis came back without its data) and, with
   * `exitWhenDone`, the worker stopped for it: what its shards came to is gone with them.
   */
  queueGone?: true
  /**
   * With `exitWhenDone`: it stopped because Redis sent nothing this long, ms (down, or hung with
   * the connection open; past `REDIS_GONE_LOCKS` lock durations, and 5 heartbeats): what became
   * of the queue is not known.
   */
  redisGone?: number
  /**
   * With `redisGone`: whether its connection to Redis was still open then (`open`: a Redis hung or
   * stopped, SIGSTOP, or a path that drops packets without a word) or not (`closed`: down, or
   * refusing connections). Both were said "unreachable".
   */
  redisSilence?: RedisSilence
  /**
   * With `exitWhenDone`: it stopped because Redis refused its commands this long, ms, past
   * `REDIS_GONE_LOCKS` lock durations as for a Redis gone (a password set or changed, an ACL user
   * that lost its keys, a read-only replica, full): `words` says the refusal and its fix. It waited
   * for ever, Redis answering each try with the refusal (heard, so never gone).
   */
  redisRefused?: { ms: number; words: string }
}

/** How a Redis that sent nothing was: see `WorkerSummary.redisSilence`. */
export type RedisSilence = 'open' | 'closed'

/**
 * A Redis that sent nothing for `ms`, in words: hung with the connection open, or unreachable. Pure.
 */
export function redisSilenceWords(silence: RedisSilence, ms: number): string {
  const s = `${Math.round(ms / 1000)} s`
  return silence === 'open'
    ? `has answered nothing for ${s}, its connection open (hung or stopped)`
    : `has been unreachable for ${s}`
}

/**
 * Why a worker gave a shard back on losing its lock, for its `released` line: Redis silent for the
 * lock's duration (a network path gone, a Redis hung or down), or refusing its commands as long
 * (full, a replica, a password changed: said as silent before), this worker held still itself for as
 * long (its own timer came that late), or Redis answering that the lock is not this worker's any more
 * (taken over after such a stall, or a Redis back without its data). It said "Redis unreachable for
 * too long?" for all three. Pure.
 */
export function lockLossWords(
  cause: 'silent' | 'refused' | 'stalled' | 'taken',
  lockDurationMs: number,
): string {
  const s = `${Math.round(lockDurationMs / 100) / 10} s`
  if (cause === 'silent') return `its lock was lost: Redis did not answer for ${s}, --lock-duration`
  // Full, a replica, a password changed: Redis answered, refusing the lock's renewal too.
  if (cause === 'refused')
    return `its lock was lost: Redis refused this worker's commands, its lock's renewal too, for ${s}, --lock-duration`
  if (cause === 'stalled')
    return `its lock was lost: this worker was held still for over ${s}, --lock-duration (stopped, its machine paused or swapping)`
  return 'its lock was lost: Redis no longer holds it for this worker (another took the shard over, or Redis lost its data)'
}

interface Running {
  shard: number
  hard: AbortController
  drain: AbortController
  /** Why its lock was lost (`lockLossWords`), once it was: another worker may take the shard. */
  lockLost?: string
  /** `performance.now()` when its lock was taken or last renewed. */
  renewedAt: number
  progress: ShardProgress
  /** What this worker's run did of it (no outcome from before): see `WorkerSummary.ok`. */
  own: { ok: number; failed: number; bytes: number }
}

const emptyCounts = (rows: number, worker: string): ShardCounts => ({
  rows,
  ok: 0,
  skipped: 0,
  failed: 0,
  bytes: 0,
  errors: {},
  ms: 0,
  worker,
})

/**
 * How long a worker's host slots last without renewal, ms: never less than its shard's lock. A
 * worker cut off from Redis goes on with its transfers until its lock lapses (then it stops the
 * shard, see `locksRenewed`); slots that lapsed sooner would let other workers take them meanwhile,
 * past the host's limit (a 30 s slot under `--lock-duration 120`: 90 s over it). A dead worker's
 * slots come free when its shard goes back to the queue: with a lock shorter than 30 s they were
 * held 30 s all the same, the host's other workers waiting for them long after the shard was taken
 * over (44 s for a run of 10 s, bench/misbehave-queue.ts `dead-worker-slots`). 5 s at least:
 * renewed every third of it, a lease outlasts an event loop held up to 3 s.
 */
export function hostLeaseMs(lockDuration: number): number {
  return Math.max(5_000, lockDuration)
}

/**
 * Take shard jobs from a queue and run each as a local run of its rows (`pull()` with the run's
 * enqueued options: limits, retries, verification, transforms, outputs), in the shard's own work
 * folder under `out`, then publish its outputs atomically and complete the job with its counts.
 * Hosts are shared with every other worker through Redis (`RedisHostGate`). BullMQ's locks do the
 * rest: a worker that dies stops renewing its shard's lock, and after `lockDuration` another worker
 * takes the shard over (resuming from its journal when the output folder is shared).
 *
 * Resolves when the worker stops: a signal, `exitWhenDone`, or a local fault (a full disk: its
 * shard goes back to the queue for another machine). Throws `QueueError` when Redis cannot be
 * used, `UsageError` for bad options.
 */
export async function runWorker(options: WorkerOptions): Promise<WorkerSummary> {
  const problem = queueNameProblem(options.queue)
  if (problem) throw new TypeError(problem)
  const started = performance.now()
  const redis = await openRedis(options.redis)
  return new ShardWorker(options, redis, started).run()
}

/** A shard attempt's run and what it did, as `ShardWorker.#fetch` gives it back. */
interface Fetched {
  run: ReturnType<typeof pull>
  me: Running
  counts: ShardCounts
  error: unknown
  results: number
  t0: number
}

/** One `runWorker()`: its BullMQ worker, its shards' runs, and what it hears of Redis. */
class ShardWorker {
  readonly #o: WorkerOptions
  readonly #started: number
  readonly #say: (event: WorkerEvent) => void
  readonly #redis: Redis
  readonly #gateRedis: Redis
  readonly #lockDuration: number
  readonly #gate: RedisHostGate
  /**
   * This worker's name in the queue's heartbeats (and status, and its shards' counts): `HOST-PID`,
   * or `HOST-PID-2`, `-3`... when a worker of that host and pid is listed already (see `#name`).
   */
  #id = `${hostname()}-${process.pid}`
  /** Whether `#id` is this worker's in Redis: taken by its first heartbeat that reached Redis. */
  #named = false
  readonly #summary: WorkerSummary
  readonly #running = new Map<string, Running>()
  /** Attempts at shards this worker's runs failed, and the last one's why (see `Heartbeat`). */
  readonly #failedAttempts = { n: 0, last: '' }
  /** Per shard, the images this worker fetched in its attempts at it that did not complete it. */
  readonly #fetchedBefore = new Map<number, number>()
  /** The input the output folder was checked to hold (see `bindFolder`). */
  #claimed: string | undefined
  #stopping: 'drain' | 'hard' | undefined
  #fatal: FatalError | undefined
  #stop: () => void = () => {}
  readonly #stopped = new Promise<void>((resolve) => {
    this.#stop = resolve
  })
  /** Errors of shard attempts already said and counted (see `#attempt`). */
  readonly #told = new WeakSet<object>()
  /** The shards this worker has taken and not yet ended, for `holdLock` (see `lockRenewalFailed`). */
  readonly #attempts = new Map<string, { job: Job<ShardJobData>; token?: string; lost?: boolean }>()
  readonly #worker: Worker<ShardJobData, ShardCounts>
  // A Redis that refuses the worker's commands (out of memory under noeviction, a replica after a
  // failover): BullMQ emits the refusal and asks again at once, tens of thousands of times a
  // second, and the worker took no shard, saying nothing. Said once; the worker pauses between tries.
  readonly #refusals = new Refusals()
  #retake: NodeJS.Timeout | undefined
  /** Connection trouble is reported once per outage; BullMQ and ioredis reconnect by themselves. */
  #lost = false
  #dropped = false
  #closedAt = Number.NEGATIVE_INFINITY
  /** The queue's keys seen in Redis, and found gone since (see `#checkQueue`). */
  #seen = false
  #gone = false
  // Heartbeat: what status shows of this worker (and its images a second), on the clock that does
  // not step (`steadyNow`): this machine's clock set back or on meanwhile moved its start, and
  // zeroed its images a second, where Redis's clock (`skew`) says when.
  readonly #startedAt = steadyNow()
  readonly #rate = new ImageRate()
  /** Redis's clock less this machine's, ms, as last read: heartbeats are stamped in Redis's time. */
  #skew = 0
  /** The last heartbeat (stoppedAt) has begun: a beat begun before it, still reading Redis, writes nothing over it. */
  #finalBeat = false
  /** Whether this machine's clock was said to be off Redis's (see `#checkClock`). */
  #clockSaid = false
  /** Whether the queue was paused (BullMQ's pause) at the last heartbeat (see `#checkPaused`). */
  #paused = false
  /** The evicting `maxmemory-policy` Redis was last seen with (see `#checkEviction`). */
  #evicting: string | undefined
  /** When Redis was last heard from, and the watchdog last ticked (`performance.now()`). */
  #heardAt = performance.now()
  #tickedAt = performance.now()
  /** How long a Redis silent or refusing is waited for with `exitWhenDone`, ms. */
  readonly #goneAfter: number

  constructor(options: WorkerOptions, redis: Redis, started: number) {
    this.#o = options
    this.#started = started
    this.#say = options.onEvent ?? (() => {})
    this.#redis = redis
    this.#gateRedis = redis.duplicate()
    this.#gateRedis.on('error', () => {})
    this.#lockDuration = options.lockDuration ?? 30_000
    this.#gate = new RedisHostGate(this.#gateRedis, {
      leaseMs: options.leaseMs ?? hostLeaseMs(this.#lockDuration),
      queue: options.queue,
    })
    this.#goneAfter = Math.max(REDIS_GONE_LOCKS * this.#lockDuration, 5 * (options.heartbeatMs ?? 2000))
    this.#summary = {
      worker: this.#id,
      shards: 0,
      foundPublished: 0,
      released: 0,
      unfinished: 0,
      failed: 0,
      failedForGood: 0,
      ok: 0,
      skipped: 0,
      ownBefore: 0,
      failedImages: 0,
      bytes: 0,
      received: 0,
      ms: 0,
      stoppedBy: 'done',
    }
    this.#worker = new Worker<ShardJobData, ShardCounts>(
      options.queue,
      (job, token, cancel) => this.#attempt(job, token, cancel),
      {
        connection: redis,
        prefix: BULL_PREFIX,
        name: this.#id,
        concurrency: options.shards ?? 1,
        lockDuration: this.#lockDuration,
        stalledInterval: options.stalledInterval ?? this.#lockDuration,
        maxStalledCount: options.maxStalledCount ?? 3,
        drainDelay: 1,
        autorun: false,
      },
    )
    this.#listen()
  }

  /** Take shards until a signal, `exitWhenDone` or a local fault stops it; then wind down and say what it did. */
  async run(): Promise<WorkerSummary> {
    const name = this.#o.queue
    const summary = this.#summary
    const deaf = onHeard(this.#redis, () => {
      this.#heardAt = performance.now()
    })
    const watchdog = setInterval(() => this.#tick(), Math.min(1000, this.#lockDuration / 4))
    const heartbeat = setInterval(() => this.#beat(), this.#o.heartbeatMs ?? 2000)
    const queue = new Queue(name, { connection: this.#redis, prefix: BULL_PREFIX })
    queue.on('error', () => {})
    const watcher = this.#o.exitWhenDone
      ? setInterval(() => this.#checkEnd(queue).catch(() => {}), 250)
      : undefined
    const { signal, drainSignal } = this.#o
    if (signal?.aborted) this.#onHard()
    else signal?.addEventListener('abort', this.#onHard, { once: true })
    if (drainSignal?.aborted) this.#onDrain()
    else drainSignal?.addEventListener('abort', this.#onDrain, { once: true })

    await this.#beat()
    this.#say({ type: 'started', worker: this.#id })
    this.#seen = (await this.#redis.exists(metaKey(name)).catch(() => 1)) === 1
    if (!this.#seen) {
      // A name mistyped waited for an enqueue that would never come (for ever with --exit-when-done).
      const others = await elsewhereWords(this.#redis, this.#o.redis, name)
      this.#say({
        type: 'empty',
        message: `queue ${name} holds nothing yet: waiting for imgpull enqueue${others}`,
      })
    }
    this.#worker.run().catch(() => {})
    await this.#stopped
    clearInterval(watcher)
    // Whatever stopped it, the shards running wind down: finished ones published, others given back.
    if (summary.stoppedBy === 'fatal') for (const r of this.#running.values()) r.drain.abort()
    clearTimeout(this.#retake)
    // Redis gone: commands cut at once, not waiting for it for ever; BullMQ's close waits for its
    // blocking connection (measured: for ever), so it is given a moment, then left.
    const unreachable = summary.redisGone !== undefined || summary.redisRefused !== undefined
    if (unreachable) {
      this.#gateRedis.disconnect()
      this.#redis.disconnect()
    }
    const closing = (work: Promise<unknown>) =>
      unreachable ? Promise.race([work.catch(() => {}), sleep(1000)]) : work
    await closing(this.#worker.close(unreachable))
    clearInterval(watchdog)
    deaf()
    clearInterval(heartbeat)
    await closing(this.#gate.close())
    await closing(this.#beat(true))
    await closing(queue.close().catch(() => {}))
    this.#gateRedis.disconnect()
    this.#redis.disconnect()
    summary.ms = Math.round(performance.now() - this.#started)
    if (this.#fatal) summary.fatal = this.#fatal
    return summary
  }

  readonly #onHard = () => {
    this.#stopping = 'hard'
    this.#summary.stoppedBy = 'signal'
    for (const r of this.#running.values()) r.hard.abort()
    this.#stop()
  }

  readonly #onDrain = () => {
    this.#stopping ??= 'drain'
    this.#summary.stoppedBy = 'signal'
    for (const r of this.#running.values()) r.drain.abort()
    this.#stop()
  }

  /** A local fault (a full disk, a folder that is not this queue's): the worker stops. */
  #stopFor(error: unknown): void {
    this.#fatal ??=
      error instanceof FatalError ? error : new FatalError('local', String(error), { cause: error })
    this.#summary.stoppedBy = 'fatal'
    this.#stop()
  }

  /** Give the shard back to the queue now, not after its lock expires: another worker takes it. */
  async #release(
    job: Job<ShardJobData>,
    token: string | undefined,
    shard: number,
    why: string,
  ): Promise<never> {
    // Redis unreachable (or the lock lost meanwhile): the shard goes back once its lock lapses.
    await job.moveToWait(token).catch(() => {})
    this.#summary.released++
    this.#say({ type: 'released', shard, why })
    throw new WaitingError()
  }

  /**
   * The shard no longer waits for its folder: its `status` entry goes, on every way its attempt
   * ends but a new wait for its folder (done, found published, failed, given back, lock lost), or
   * a later wait for another cause would show the old entry.
   */
  #unheld(shard: number): Promise<number> {
    return this.#redis.hdel(heldKey(this.#o.queue), String(shard)).catch(() => 0)
  }

  /** The attempt at the shard failed: counted, said, and thrown for BullMQ to try it again or fail it. */
  #failAttempt(job: Job<ShardJobData>, error: unknown, message: string): never {
    // BullMQ counts an attempt once it has failed: this one is the shard's last when it fails now.
    const last = error instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1)
    this.#summary.failed++
    if (last) this.#summary.failedForGood++
    this.#failedAttempts.n++
    this.#failedAttempts.last = `shard ${shardStem(job.data.shard)}: ${message}`
    this.#unheld(job.data.shard)
    this.#say({ type: 'failed', shard: job.data.shard, message })
    const thrown = error instanceof Error ? error : new Error(message)
    this.#told.add(thrown)
    throw thrown
  }

  // A step of an attempt outside the shard's run that threw (publishing it: a file where its folder
  // goes, too many open files; telling Redis its counts; reading a published shard's) failed it in
  // BullMQ, retried or failed for good, while the worker said nothing and counted nothing: exit 0
  // with --exit-when-done. Said and counted as the run's own failures are.
  async #attempt(job: Job<ShardJobData>, token?: string, cancel?: AbortSignal): Promise<ShardCounts> {
    // Another program's job (see `isShardJob`): failed, never run, and not counted as a shard's.
    if (!isShardJob(job.data)) {
      const message = foreignJobWords(this.#o.queue, job.id, job.name)
      this.#say({ type: 'foreign', message })
      throw new UnrecoverableError(message)
    }
    this.#attempts.set(job.id!, { job, token })
    try {
      const counts = await this.#process(job, token, cancel)
      // Its lock lapsed while Redis was silent or refusing as it ended: taken again (see holdLock).
      if (!(await holdLock(this.#redis, job, token, this.#lockDuration).catch(() => true)))
        this.#say({
          type: 'note',
          shard: job.data.shard,
          message: lapsedWords(shardStem(job.data.shard), this.#lockDuration),
        })
      return counts
    } catch (error) {
      if (!(error instanceof DelayedError)) this.#unheld(job.data.shard)
      if (
        error instanceof WaitingError ||
        error instanceof DelayedError ||
        (error instanceof Object && this.#told.has(error))
      )
        throw error
      // This worker's password for the queue's certificate, missing or wrong (the run's options
      // refused before any request): every shard it took failed an attempt the same way, a whole
      // queue failed by one worker set up wrong, where another opens it. Its own fault, as a full
      // disk is: the shard goes back, and the worker stops.
      if (error instanceof CertPasswordError) {
        this.#stopFor(
          new FatalError('local', error.message, {
            cause: error,
            hint: "start this worker again with the password of the queue's `clientCert`",
          }),
        )
        return this.#release(job, token, job.data.shard, "this worker has not the certificate's password")
      }
      // A file the queue's options name (--cookies, --ca-cert...) not at its path here: as above.
      if (error instanceof OptionFileError) {
        const fault = unreachedFile(error)
        this.#stopFor(fault)
        return this.#release(
          job,
          token,
          job.data.shard,
          `this worker cannot read ${fault.flag} ${error.path}`,
        )
      }
      return this.#failAttempt(job, error, errorWords(error))
    } finally {
      this.#attempts.delete(job.id!)
    }
  }

  /** One attempt at a shard: found published, or run, then published, given back, or failed. */
  async #process(job: Job<ShardJobData>, token?: string, cancel?: AbortSignal): Promise<ShardCounts> {
    const data = job.data
    if (data.v !== DATA_VERSION)
      throw new UnrecoverableError(
        `shard data of version ${data.v}: this worker reads version ${DATA_VERSION}`,
      )
    // Taken: no longer waiting for its folder (an entry left by a worker killed since is old news).
    this.#unheld(data.shard)
    const format: OutputFormat = data.options.outputFormat ?? 'files'
    const paths = shardPaths(this.#o.out, data.shard)
    if (this.#claimed !== data.inputId) {
      try {
        await bindFolder(this.#o.out, data.inputId, this.#o.queue, format)
        this.#claimed = data.inputId
      } catch (error) {
        // The folder is not this queue's: the worker stops, the shard goes back for another.
        this.#stopFor(error)
        return this.#release(job, token, data.shard, this.#fatal!.message)
      }
    }
    const rows = data.rows.count
    const round = data.retry?.round ?? 0
    // A shard given out: the queue was resumed since the last heartbeat saw it paused.
    if (this.#paused) this.#setPaused(false)
    this.#say({
      type: 'shard',
      shard: data.shard,
      rows,
      attempt: job.attemptsMade + 1,
      ...(round ? { round } : {}),
    })
    if (isPublished(paths, format)) {
      const found = await this.#foundPublished(data, paths, format)
      if (found) return found
    }
    const takenOver = await prepare(paths)
    const { run, me, counts, error, results, t0 } = await this.#fetch(job, paths, format, cancel)
    const summary = this.#summary
    summary.ok += me.own.ok
    summary.failedImages += me.own.failed
    summary.bytes += me.own.bytes
    summary.received += run.stats.bytes
    const complete = !error && run.stats.interrupted === 0 && results + run.stats.duplicates === rows
    /** Its images this run did not finish, counted when the shard is given back. */
    const unfinished = Math.max(0, rows - results - run.stats.duplicates)
    // Its journal keeps them: the next attempt here meets them as skipped again.
    if (complete) this.#fetchedBefore.delete(data.shard)
    else this.#fetchedBefore.set(data.shard, (this.#fetchedBefore.get(data.shard) ?? 0) + me.own.ok)
    if (me.lockLost) {
      // Another worker may have the shard now: its journal (when shared) keeps what this one did.
      summary.released++
      summary.unfinished += unfinished
      this.#say({ type: 'released', shard: data.shard, why: me.lockLost })
      const thrown = error instanceof Error ? error : new Error('lock lost')
      this.#told.add(thrown)
      throw thrown
    }
    const local = error instanceof FatalError || isFatalLocal(error)
    if (!complete && (this.#stopping || local)) {
      if (local) this.#stopFor(error)
      summary.unfinished += unfinished
      return this.#release(
        job,
        token,
        data.shard,
        local ? (this.#fatal?.message ?? 'a local fault') : 'stopped',
      )
    }
    if (error instanceof FolderBusyError) return this.#heldElsewhere(job, token, error)
    // The run threw, or ended short of its rows: the attempt failed.
    if (error || !complete)
      this.#failAttempt(
        job,
        error,
        !error ? `the shard's run ended with ${results} of its ${rows} rows done` : errorWords(error),
      )
    counts.ms = Math.round(performance.now() - t0)
    // A worker that lost the shard to another tells the published shard's counts, not its own.
    const done = (await publish(paths, format, counts, takenOver))
      ? counts
      : { ...((await readCounts(paths, format)) ?? counts), alreadyPublished: true }
    await this.#tellCounts(data.shard, done)
    await this.#unheld(data.shard)
    if (done.alreadyPublished) summary.foundPublished++
    else summary.shards++
    this.#beat().catch(() => {})
    this.#say({ type: 'done', shard: data.shard, counts: done })
    return done
  }

  /**
   * A shard found published by a worker that died before telling the queue (or this round, by one
   * that did not tell it): done, nothing to fetch, its counts told. A round enqueue re-opened runs
   * again from the shard's journal (`undefined`: run it), unless the shard cannot (see `reopen`).
   */
  async #foundPublished(
    data: ShardJobData,
    paths: ReturnType<typeof shardPaths>,
    format: OutputFormat,
  ): Promise<ShardCounts | undefined> {
    const published = await readCounts(paths, format)
    const round = data.retry?.round ?? 0
    const due = round > (published?.round ?? 0)
    if (due && (await reopen(paths, format))) return undefined
    if (due)
      this.#say({
        type: 'note',
        shard: data.shard,
        message: `shard ${paths.stem} was published without its journal (by an earlier imgpull): its failures cannot be tried again; remove its files from ${visibleShellWord(this.#o.out)} and enqueue again with --retry-failed to fetch it anew`,
      })
    await settlePublished(paths, format, published)
    const counts = { ...(published ?? emptyCounts(data.rows.count, this.#id)), alreadyPublished: true }
    await this.#redis.hset(shardsKey(this.#o.queue), String(data.shard), JSON.stringify(counts))
    await this.#unheld(data.shard)
    this.#summary.foundPublished++
    this.#say({ type: 'done', shard: data.shard, counts })
    return counts
  }

  /** Run the shard's rows into its work folder, tallying as results come; the run's error is given back, not thrown. */
  async #fetch(
    job: Job<ShardJobData>,
    paths: ReturnType<typeof shardPaths>,
    format: OutputFormat,
    cancel: AbortSignal | undefined,
  ): Promise<Fetched> {
    const data = job.data
    const rows = data.rows.count
    const round = data.retry?.round ?? 0
    /** The input's own failures an earlier attempt met, which this one meets again without a request. */
    let inputOwn = inputFailuresBefore(paths.staging)
    const me: Running = {
      shard: data.shard,
      hard: new AbortController(),
      drain: new AbortController(),
      renewedAt: performance.now(),
      progress: { rows, done: 0, ok: 0, failed: 0, bytes: 0, errors: {} },
      own: { ok: 0, failed: 0, bytes: 0 },
    }
    this.#running.set(job.id!, me)
    // Said at once, as the shard's end is: `status` named the shard before it, 0 shards done, until the next beat.
    this.#beat().catch(() => {})
    if (this.#stopping === 'hard') me.hard.abort()
    else if (this.#stopping === 'drain') me.drain.abort()
    cancel?.addEventListener('abort', () => me.hard.abort(), { once: true })
    const t0 = performance.now()
    const counts: ShardCounts = { ...emptyCounts(rows, this.#id), ...(round ? { round } : {}) }
    const run = pull(shardSource(data), {
      ...data.options,
      // The queue's shard size is stored with every queue's options (its shards' rows); a run of
      // files has no shards of its own, and pull() refuses a `shardSize` given to one.
      ...(format === 'webdataset' ? {} : { shardSize: undefined }),
      // A retry round tries again the failures a rerun tries, or all of them (`--retry-failed`).
      retryFailed: data.retry?.all ?? data.options.retryFailed,
      rerun: QUEUE_RERUN,
      out: paths.staging,
      concurrency: this.#o.concurrency ?? data.options.concurrency,
      threads: this.#o.threads ?? data.options.threads,
      // Only with a certificate to open: a password alone is refused as meant for none.
      ...(data.options.clientCert === undefined ? {} : { clientCertPassword: this.#o.clientCertPassword }),
      hostGate: this.#gate,
      journal: true,
      report: false,
      command: `imgpull worker --queue ${this.#o.queue} (shard ${paths.stem})`,
      signal: me.hard.signal,
      drainSignal: me.drain.signal,
    })
    let error: unknown
    let results = 0
    /** Its own earlier attempts' images this attempt has yet to meet as skipped. */
    let mine = this.#fetchedBefore.get(data.shard) ?? 0
    const progress = setInterval(() => {
      job.updateProgress({ ...me.progress }).catch(() => {})
    }, this.#o.heartbeatMs ?? 2000)
    try {
      await job.updateProgress({ ...me.progress }).catch(() => {})
      for await (const r of run) {
        results++
        tally(counts, r)
        if (r.status === 'skipped') {
          this.#summary.skipped++
          if (mine > 0) {
            mine--
            this.#summary.ownBefore++
          }
        } else if (!r.earlier) {
          if (r.status === 'ok') {
            me.own.ok++
            me.own.bytes += r.bytes ?? 0
          } else if (inputOwn > 0 && INPUT_ERRORS.has(r.error ?? '')) inputOwn--
          else me.own.failed++
        }
        me.progress = {
          rows,
          done: results,
          ok: counts.ok + counts.skipped,
          failed: counts.failed,
          bytes: counts.bytes,
          errors: { ...counts.errors },
        }
      }
    } catch (e) {
      error = e
    } finally {
      clearInterval(progress)
      this.#running.delete(job.id!)
    }
    return { run, me, counts, error, results, t0 }
  }

  // The shard's folder held by a run still alive: most often a worker that lost its lock and
  // runs it still (held still past it: SIGSTOP, a paused VM), which gives it back once it wakes.
  // Not the shard's fault: it failed an attempt each time, for good with --attempts 1, though the
  // held worker had most of it done. Tried again a lock's duration later, no attempt counted.
  async #heldElsewhere(
    job: Job<ShardJobData>,
    token: string | undefined,
    error: FolderBusyError,
  ): Promise<never> {
    const lockDuration = this.#lockDuration
    // Redis unreachable meanwhile: the shard goes back once its lock lapses.
    await job.moveToDelayed(Date.now() + lockDuration, token).catch(() => {})
    // Said to `status` too, which showed the shard as "to retry" alone, for ever if the holder lives on.
    const held: HeldShard = {
      why: error.message,
      worker: this.#id,
      at: steadyNow() + this.#skew,
      retryMs: lockDuration,
    }
    await this.#redis
      .hset(heldKey(this.#o.queue), String(job.data.shard), JSON.stringify(held))
      .catch(() => {})
    this.#summary.released++
    this.#say({
      type: 'released',
      shard: job.data.shard,
      why: `${error.message} (a worker that lost its lock may still run it); tried again in ${Math.round(lockDuration / 100) / 10} s, no attempt counted`,
    })
    throw new DelayedError()
  }

  // Redis refusing the counts of a shard run and published (full, a replica after a failover, a
  // password changed) failed the attempt of a shard whose outputs were all there: for good with
  // --attempts 1, or a backoff and a run that found it published. The refusal is waited out, said
  // as the worker's other commands' refusals are; a stop asked for meanwhile ends the wait.
  async #tellCounts(shard: number, counts: ShardCounts): Promise<number> {
    for (;;) {
      try {
        return await this.#redis.hset(shardsKey(this.#o.queue), String(shard), JSON.stringify(counts))
      } catch (error) {
        if (!(error instanceof Error) || !isRefusal(error.message) || this.#stopping) throw error
        this.#onRefused(error)
        await sleep(REFUSED_RETRY_MS)
      }
    }
  }

  /** What the worker hears from BullMQ and from its Redis connection. */
  #listen(): void {
    const worker = this.#worker
    // A shard its workers stopped on too many times (killed, out of memory: see `maxStalledCount`) is
    // failed by the next worker to take it, before it runs: said and counted as the shard's failure
    // (the exit code of `--exit-when-done` too), where the worker said nothing and exited 0.
    worker.on('failed', (job, error) => {
      if (!job || error.message !== STALLED_REASON) return
      this.#summary.failed++
      this.#summary.failedForGood++
      this.#say({
        type: 'failed',
        shard: job.data.shard,
        message: shardFailureWords(error.message, job.stalledCounter),
      })
    })
    worker.on('lockRenewalFailed', (ids) => {
      for (const jobId of ids) {
        const r = this.#running.get(jobId)
        if (r && !r.lockLost) this.#loseLock(r, lockLossWords('taken', this.#lockDuration))
        // Its run over (publishing it, telling its counts): the lock taken again at once, before a
        // stalled check gives the shard out (see holdLock); `#attempt` says it if it could not be.
        const ending = r ? undefined : this.#attempts.get(jobId)
        if (ending && !ending.lost)
          holdLock(this.#redis, ending.job, ending.token, this.#lockDuration).catch(() => {})
      }
    })
    worker.on('locksRenewed', ({ jobIds }) => {
      const now = performance.now()
      for (const jobId of jobIds) {
        const r = this.#running.get(jobId)
        if (r) r.renewedAt = now
      }
      // A lock renewed is a write Redis took: a refusal that passed while a shard ran.
      if (jobIds.length > 0) this.#takesAgain()
    })
    worker.on('active', () => this.#takesAgain())
    worker.on('drained', () => this.#takesAgain())
    worker.on('error', (error) => {
      if (isRefusal(error.message)) return this.#onRefused(error)
      if (
        this.#lost ||
        !/ECONNREFUSED|ECONNRESET|Connection is closed|ETIMEDOUT|EPIPE|LOADING/.test(error.message)
      )
        return
      this.#lost = true
      this.#say({
        type: 'redis',
        state: 'lost',
        message: `lost Redis at ${shownRedis(this.#o.redis)} (${error.message}): reconnecting`,
      })
    })
    this.#redis.on('close', () => {
      this.#dropped = true
      this.#closedAt = performance.now()
    })
    this.#redis.on('ready', () => {
      if (this.#lost) {
        this.#lost = false
        this.#say({
          type: 'redis',
          state: 'back',
          message: `Redis at ${shownRedis(this.#o.redis)} is back: going on`,
        })
      }
      if (!this.#dropped) return
      this.#dropped = false
      this.#checkQueue().catch(() => {})
    })
  }

  #loseLock(r: Running, why: string): void {
    r.lockLost = why
    r.hard.abort(new Error('lock lost'))
    // Given back: its lock is not taken again once its run is over (see `lockRenewalFailed`).
    for (const a of this.#attempts.values()) if (a.job.data.shard === r.shard) a.lost = true
  }

  // BullMQ learns that a lock lapsed only from Redis: cut off from it (a network path gone, a
  // Redis that hangs), the renewal waits as long, and the shard ran on past its lock while another
  // worker took it over, and its transfers past their host slots' leases, over the per-host limit
  // with the other workers'. A lock not renewed for its whole duration has lapsed: stop the shard.
  // The watchdog ticks every second at most: a tick that comes a whole lock duration late says this
  // process was held still itself (SIGSTOP, a paused VM, swapping), not that Redis was silent.
  // Redis gone is Redis silent: down or refusing (the connection closed), or stopped or hung with it
  // open (SIGSTOP, a dead path), which sent nothing either and which the worker with
  // --exit-when-done waited for, for ever, since only a closed connection counted. The heartbeat
  // hears from a Redis that answers every `heartbeatMs`: a few of them at least.
  #tick(): void {
    const summary = this.#summary
    const lockDuration = this.#lockDuration
    const now = performance.now()
    const cause = now - this.#tickedAt > lockDuration ? 'stalled' : this.#refusals.on ? 'refused' : 'silent'
    this.#tickedAt = now
    for (const r of this.#running.values())
      if (!r.lockLost && now - r.renewedAt > lockDuration)
        this.#loseLock(r, lockLossWords(cause, lockDuration))
    if (!this.#o.exitWhenDone || summary.redisGone) return
    // A batch job's Redis gone for good (down, its address refusing): the worker with
    // --exit-when-done waited for it for ever, its last line "lost Redis ... reconnecting". Past
    // `REDIS_GONE_LOCKS` lock durations it stops (its shards' locks lapsed long before); one
    // serving the queue waits on, as Sidekiq's and BullMQ's workers do.
    const silent = now - this.#heardAt
    if (silent > this.#goneAfter) {
      summary.redisGone = Math.round(silent)
      // Open: a Redis hung or stopped holds its connections (nothing closes them); down, it refuses.
      summary.redisSilence = this.#redis.status === 'ready' ? 'open' : 'closed'
      this.#say({
        type: 'redis',
        state: 'gone',
        message: `Redis at ${shownRedis(this.#o.redis)} ${redisSilenceWords(summary.redisSilence, silent)} (${REDIS_GONE_LOCKS} times --lock-duration): stopping (--exit-when-done); the shards this worker held go back to the queue once it answers`,
      })
      this.#stop()
      return
    }
    // Refused for good: a password changed, an ACL user that lost its keys, a read-only replica.
    // Redis answers each try (heard: never gone), so the worker with --exit-when-done waited for
    // ever. Refused as long as a Redis gone is waited for, and still refused lately (not a flag
    // left from a refusal that passed unsaid), it stops the same way, naming the refusal.
    const long = this.#refusals.lasting(now, 3 * REFUSED_RETRY_MS)
    if (!summary.redisRefused && long !== undefined && long > this.#goneAfter) {
      const refusal = this.#refusals.words
      const words = `Redis at ${shownRedis(this.#o.redis)} has refused this worker's commands for ${Math.round(long / 1000)} s (${refusalWords(refusal)}): ${refusalHint(refusal, redisUser(this.#o.redis))}`
      summary.redisRefused = { ms: Math.round(long), words }
      this.#say({
        type: 'redis',
        state: 'gone',
        message: `${words} (${REDIS_GONE_LOCKS} times --lock-duration): stopping (--exit-when-done); the shards this worker held go back to the queue once it takes them`,
      })
      this.#stop()
    }
  }

  #onRefused(error: Error): void {
    if (this.#refusals.heard(error.message, performance.now()))
      this.#say({
        type: 'redis',
        state: 'refused',
        message: `Redis at ${shownRedis(this.#o.redis)} refuses this worker's commands (${refusalWords(error.message)}): ${refusalHint(error.message, redisUser(this.#o.redis))}; trying again every ${REFUSED_RETRY_MS / 1000} s`,
      })
    if (this.#retake || this.#stopping) return
    this.#worker
      .pause(true)
      .catch(() => {})
      .then(() => {
        this.#retake = setTimeout(() => {
          this.#retake = undefined
          if (!this.#stopping && !this.#summary.fatal && !this.#fatal) this.#worker.resume()
        }, REFUSED_RETRY_MS)
      })
  }

  #takesAgain(): void {
    if (!this.#refusals.taken()) return
    this.#say({
      type: 'redis',
      state: 'back',
      message: `Redis at ${shownRedis(this.#o.redis)} takes this worker's commands again: going on`,
    })
  }

  // A queue whose keys went from Redis (deleted by hand, a FLUSHDB; or Redis back without its data, no persistence): the worker waited for shards that
  // will never come, saying nothing, and with --exit-when-done for good (it said so only after a
  // reconnection). Said once; a worker with --exit-when-done stops (exit 1: the queue's end is not
  // known), one without waits for an enqueue. Read at start, with each heartbeat and on reconnecting.
  async #checkQueue(): Promise<void> {
    const name = this.#o.queue
    if ((await this.#redis.exists(metaKey(name))) === 1) {
      this.#seen = true
      this.#gone = false
      return
    }
    if (!this.#seen || this.#gone) return
    this.#gone = true
    const why = `queue ${name} is gone from Redis (its keys deleted, or Redis came back without its data)`
    this.#say({
      type: 'redis',
      state: 'gone',
      message: this.#o.exitWhenDone
        ? `${why}: what its shards came to went with it; stopping (--exit-when-done): run imgpull enqueue again, then the workers`
        : `${why}: run imgpull enqueue again; waiting for it`,
    })
    if (this.#o.exitWhenDone) {
      this.#summary.queueGone = true
      this.#stop()
    }
  }

  // A queue paused as BullMQ pauses one (Queue.pause(), a dashboard's button) gives no worker a
  // shard: the workers waited, silent, one with --exit-when-done for good. Read with each
  // heartbeat; said once as it is paused, once as it is resumed. The worker waits either way: a
  // pause is an operator's, and a resume goes on.
  async #checkPaused(): Promise<void> {
    const name = this.#o.queue
    this.#setPaused((await this.#redis.hexists(`${BULL_PREFIX}:${name}:meta`, 'paused')) === 1)
  }

  /** Note the queue `paused` or resumed, saying so when it changes. */
  #setPaused(paused: boolean): void {
    const name = this.#o.queue
    if (paused === this.#paused) return
    this.#paused = paused
    this.#say({
      type: 'paused',
      paused,
      message: paused ? `${pausedWords(name)}; waiting` : `queue ${name} is resumed: taking shards again`,
    })
  }

  // Checked at start only, a Redis that took an evicting policy later (CONFIG SET, a restart or a
  // failover onto a server set up otherwise) went on holding the queue, its jobs and locks free to
  // vanish, and no worker said a word. Read with each heartbeat; said once, and once mended.
  async #checkEviction(): Promise<void> {
    const info = await this.#redis.info('memory').catch(() => undefined)
    if (info === undefined) return
    const policy = evictingPolicy(info)
    if (policy === this.#evicting) return
    this.#evicting = policy
    this.#say(
      policy
        ? {
            type: 'redis',
            state: 'evicting',
            message: `${evictionWords(this.#o.redis, policy)}; going on meanwhile`,
          }
        : {
            type: 'redis',
            state: 'back',
            message: `Redis at ${shownRedis(this.#o.redis)} evicts no keys again (maxmemory-policy noeviction)`,
          },
    )
  }

  /** Say once that this machine's wall clock is `off` ms from Redis's, should it be that far (see `clockWords`). */
  #checkClock(off: number): void {
    if (this.#clockSaid) return
    const message = clockWords(this.#o.redis, off)
    if (message === undefined) return
    this.#clockSaid = true
    this.#say({ type: 'clock', message })
  }

  /** Write this worker's heartbeat (`final`: its last, as it stops); read Redis's clock, policy and the queue's keys on the way. */
  async #beat(final = false): Promise<unknown> {
    if (final) this.#finalBeat = true
    if (!final) await this.#checkEviction()
    if (!final) await this.#checkQueue().catch(() => {})
    if (!final) await this.#checkPaused().catch(() => {})
    const time = await this.#redis.time().catch(() => undefined)
    if (time) {
      const redisNow = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000)
      this.#skew = redisNow - steadyNow()
      this.#checkClock(redisNow - Date.now())
    }
    const now = steadyNow()
    const summary = this.#summary
    const running = [...this.#running.values()]
    const own = sumImages([
      { ok: summary.ok, failed: summary.failedImages, bytes: summary.bytes },
      ...running.map((r) => r.own),
    ])
    const heartbeat = heartbeatOf({
      host: hostname(),
      pid: process.pid,
      startedAt: this.#startedAt,
      now,
      skew: this.#skew,
      final,
      running: running.map((r) => r.shard),
      shards: summary.shards,
      foundPublished: summary.foundPublished,
      own,
      rate: this.#rate.note(now, own.ok + own.failed),
      failedAttempts: this.#failedAttempts,
    })
    if (!final && this.#finalBeat) return
    const write = this.#named
      ? this.#redis.hset(workersKey(this.#o.queue), this.#id, JSON.stringify(heartbeat))
      : this.#name(JSON.stringify(heartbeat))
    return write.catch((error) => {
      // Refused (a password changed, a replica): heard as BullMQ's own commands' refusals are, so
      // a worker whose BullMQ commands wait (a shard running) still knows Redis refuses it.
      if (!final && error instanceof Error && isRefusal(error.message)) this.#onRefused(error)
    })
  }

  /**
   * Take a name no worker of the queue has had, with this worker's first `heartbeat`: `HOST-PID`,
   * else the first of `HOST-PID-2`, `-3`... free (HSETNX: two workers starting at once never take
   * one). A worker restarted in place has its dead predecessor's host name and pid (a container run
   * again: Kubernetes keeps the pod's name as its host name, and the program is pid 1 again); under
   * one name, the new worker's heartbeats replaced the dead one's, its shards and images gone from
   * status, its shard shown as run by a live worker until its lock lapsed (rq/rq#1026,
   * pragmaplatform/oxana#154).
   */
  async #name(heartbeat: string): Promise<void> {
    const base = `${hostname()}-${process.pid}`
    for (let n = 1; ; n++) {
      const id = n === 1 ? base : `${base}-${n}`
      if ((await this.#redis.hsetnx(workersKey(this.#o.queue), id, heartbeat)) === 0) continue
      this.#id = id
      this.#summary.worker = id
      this.#named = true
      return
    }
  }

  /** With `exitWhenDone`: whether the queue has ended (nothing left to run, its enqueue over), and how. */
  async #checkEnd(queue: Queue): Promise<void> {
    const name = this.#o.queue
    const summary = this.#summary
    const [complete, inputId, broken, shards] = await this.#redis.hmget(
      metaKey(name),
      'complete',
      'inputId',
      'broken',
      'shards',
    )
    const {
      failed: allFailed,
      completed,
      ...counts
    } = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed')
    const left = Object.values(counts).reduce((a, b) => a + b, 0)
    if (left !== 0 || this.#running.size !== 0) return
    // Jobs that are no shard (another program's, failed unrun) are none of the queue's shards.
    const failed = allFailed - (allFailed ? await foreignFailed(queue) : 0)
    // Its shards' jobs gone, imgpull's own keys kept (BullMQ's `obliterate()`, a dashboard's button,
    // its keys deleted by pattern): nothing left, the queue was taken for done, exit 0.
    // Done shards whose jobs were cleaned since (BullMQ's Queue.clean) are done, not lost.
    let held = completed + failed
    if (shards !== null && completed + allFailed < Number(shards))
      held += await cleanedDone(
        this.#redis,
        queue,
        { inputId, shards },
        completed + allFailed,
        await this.#redis.hkeys(shardsKey(name)),
      )
    if (complete === '1' && shards !== null && held < Number(shards)) {
      if (await enqueueRunning(this.#redis, name)) return // an enqueue adding them again
      this.#say({
        type: 'redis',
        state: 'gone',
        message: `${lostShardsWords(name, Number(shards), held)}; stopping (--exit-when-done): run the same enqueue again to add them (shards already published are found, not fetched again), then the workers`,
      })
      this.#summary.queueGone = true
      this.#stop()
      return
    }
    const enqueuing = complete !== '1' && inputId !== null && (await enqueueRunning(this.#redis, name))
    const state = enqueueState({ inputId, complete }, enqueuing)
    // Ended, but not done: shards failed for good (this worker's, another's, an earlier run's;
    // one it lost its lock on and the worker that took it over failed). It exited 0, saying nothing.
    if (state !== 'none' && failed > 0) summary.queueFailed = failed
    if (state === 'complete') this.#stop()
    // An enqueue stopped before the input's end (Ctrl-C, a kill) never marks the queue complete:
    // the worker waited for it for good, saying nothing. Not judged just after Redis came back,
    // before a running enqueue could renew its lease.
    else if (
      state === 'stopped' &&
      performance.now() - this.#closedAt > ENQUEUE_RENEW_MS * 2 &&
      !summary.enqueueStopped
    ) {
      summary.enqueueStopped = true
      this.#say({
        type: 'enqueue-stopped',
        message: broken
          ? `the enqueue of queue ${name} stopped at a fault of its input (${broken}), and every shard it added is done: the rest is not in the queue; stopping (--exit-when-done)`
          : `the enqueue of queue ${name} stopped before its input's end (no enqueue runs), and every shard it added is done: run the same enqueue again to add the rest; stopping (--exit-when-done)`,
      })
      this.#stop()
    }
  }
}

/** How many of the queue's failed jobs are no shard (another program's: see `isShardJob`). */
async function foreignFailed(queue: Queue): Promise<number> {
  const jobs = await queue.getJobs(['failed'])
  return jobs.filter((job) => !isShardJob(job.data)).length
}

/**
 * How a shard's messages name trying its failures again: a worker runs what enqueue gives it, so
 * that is enqueuing the same input again (see `reopens` in enqueue.ts).
 */
const QUEUE_RERUN = {
  rerun: 'enqueuing the same input again',
  retryFailed: 'enqueuing it again with --retry-failed',
} as const

/**
 * Lock durations a worker with `exitWhenDone` waits for an unreachable Redis before it stops, as
 * gone for good: 5 minutes with the default --lock-duration, time for a restart or a failover.
 */
export const REDIS_GONE_LOCKS = 10

/** Wait between tries while Redis refuses the worker's commands, ms (see `isRefusal`). */
const REFUSED_RETRY_MS = 5000

/** An error's words for a shard's failure line. Pure. */
function errorWords(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * The failures for the input's own cells (`INPUT_ERRORS`: a line that is no URL, a bad row or hash)
 * that the shard's journal in `staging` holds from an earlier attempt (a killed worker's, or a
 * round before a re-opened shard's), 0 where it has none or cannot be read. Every run fails those
 * rows again at once, so they are not a new failure of the worker that runs the shard next: a
 * shard taken over from a killed worker had them counted for both (three workers' lines said 64
 * failed where the queue held 56).
 */
function inputFailuresBefore(staging: string): number {
  const path = layout(staging).journal
  if (!existsSync(path)) return 0
  try {
    const journal = new JournalReader(path)
    try {
      let n = 0
      for (const { error, n: count } of journal.failureCodes()) if (INPUT_ERRORS.has(error ?? '')) n += count
      return n
    } finally {
      journal.close()
    }
  } catch {
    return 0
  }
}

function tally(c: ShardCounts, r: Result): void {
  if (r.status === 'ok') {
    c.ok++
    c.bytes += r.bytes ?? 0
  } else if (r.status === 'skipped') {
    // Saved by an earlier attempt at the shard (its journal is shared): still the shard's bytes.
    c.skipped++
    c.bytes += r.bytes ?? 0
  } else {
    c.failed++
    if (r.error) c.errors[r.error] = (c.errors[r.error] ?? 0) + 1
  }
}

/**
 * A file the queue's options name that this worker cannot read (`OptionFileError`): its machine's
 * fault, not the shard's. Every shard would fail here, each attempt counted, until all had failed
 * for good for one worker's setup; the worker stops instead and the shard goes back for another.
 */
function unreachedFile(error: OptionFileError): FatalError & { flag: string } {
  const flag = OPTION_FILES[error.option as keyof typeof OPTION_FILES]
  // Else a variable of this machine's environment (SSL_CERT_FILE): the worker's own, not the queue's.
  const fault = flag
    ? new FatalError('local', `${error.message} (the queue's ${flag}: every worker reads it at that path)`, {
        cause: error,
        hint: 'put the file at that path on this machine (a shared folder), then start the worker again',
      })
    : new FatalError('local', error.message, {
        cause: error,
        hint: `mend or unset this machine's ${error.option}, then start the worker again`,
      })
  return Object.assign(fault, { flag: flag ?? error.option })
}
