import type { Readable } from 'node:stream'
import { inflateRawSync } from 'node:zlib'
import { Job, Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import { INPUT_ERRORS } from '../error-codes.js'
import { UsageError } from '../errors.js'
import { retriedOnRerun } from '../fetch/retry-policy.js'
import { checkShardSize, type Options, resolveOptions } from '../options.js'
import { checkTemplate } from '../plan/naming.js'
import { counted, grouped as n } from '../report/format.js'
import { shadowedWarning } from '../sinks/webdataset/row.js'
import type { PipeTap } from '../sources/pipe-list.js'
import type { TableOptions } from '../sources/tables/options.js'
import { definedFields } from '../utils/defined-fields.js'
import { ENQUEUE_RENEW_MS, holdEnqueue, REDIS_WAIT_MS } from './enqueue-lease.js'
import { QueueError, shownRedis } from './errors.js'
import { BULL_PREFIX, metaKey, queueNameProblem, shardJobId, shardStem, shardsKey } from './keys.js'
import { optionFiles, withAbsoluteFiles } from './option-files.js'
import { carriedTable, type PlannedShard, planShards, type ShardPlan, tableIdentity } from './plan-shards.js'
import { openRedis, refusedBy, silenceWatch } from './redis.js'
import {
  DATA_VERSION,
  type RunOptions,
  type ShardCounts,
  type ShardJobData,
  type ShardRows,
} from './shard-data.js'

/** Options of `enqueue()`. */
export interface EnqueueOptions {
  /** Redis URL, `redis://host:6379` (`rediss://` for TLS; a password as `redis://:pw@host`). */
  redis: string
  /** Queue name: letters, digits, `.`, `_`, `-`. */
  queue: string
  /** Rows a shard (and, with WebDataset output, samples a tar). @default 10_000 */
  shardSize?: number
  /** Tables: how to read them (`urlCol`, `captionCol`, `columns`, `hashCol`, `hashType`, `format`). */
  table?: TableOptions
  /** Carry every shard's rows in its job, even when workers could read the input files. @default false */
  inline?: boolean
  /** The run's options, the same for every shard (`pull()`'s, but `out` and the like: the worker's). */
  options?: RunOptions
  /**
   * The password of `options.clientCert` (or its key), to check them with here: never put in
   * Redis (each worker is given its own, `WorkerOptions.clientCertPassword`). @default none
   */
  clientCertPassword?: string
  /**
   * The run options the caller chose (`concurrency`, `transform`...): the others, when the queue
   * already holds this input, are the queue's. Enqueuing the same list again after failures or a
   * stop, without the first enqueue's `-c 8`, was refused as "other options (concurrency 8, not
   * 128)", its defaults taken for choices. @default every option in `options`
   */
  chosen?: readonly string[]
  /** Attempts a shard gets before it is failed (a worker's fault, not an image's). @default 5 */
  attempts?: number
  /** First wait before a failed shard is tried again, ms; doubled each time. @default 30_000 */
  backoff?: number
  /**
   * Shards already done are re-opened for their failed images to be fetched again when they have
   * failures a rerun tries again (timeouts, 5xx, cut bodies: see `reopens`); with `retryFailed`,
   * when they have any failure (404s, not an image...), as a local run's `--retry-failed`.
   * @default false
   */
  retryFailed?: boolean
  /**
   * How long Redis may send nothing while enqueue runs before it stops, ms: down, its address
   * refusing, or stopped or hung with the connection open. It stops with a `QueueError`
   * ('redis-unreachable') naming the shards in the queue, which the same enqueue run again does
   * not add twice. At least `ENQUEUE_RENEW_MS` twice: the lease renewed every 5 s hears from a
   * Redis that answers, however slowly the input is read. An enqueue run from cron or CI waited
   * for ever. @default 300_000 (5 minutes: what a worker with `exitWhenDone` gives it by default)
   */
  redisWait?: number
  /** Where `-` reads from. @default process.stdin */
  stdin?: Readable
  /**
   * Stop adding shards (Ctrl-C): the shards added stay, the queue is left not complete, and the
   * result says `stopped`.
   */
  signal?: AbortSignal
  /** Told after each batch of shards is added. */
  onProgress?: (progress: { shards: number; rows: number }) => void
}

/** What `enqueue()` did. */
export interface EnqueueResult {
  queue: string
  inputId: string
  /** `pointer`: jobs point into the input files (workers read them there); `inline`: jobs carry their rows. */
  mode: 'pointer' | 'inline'
  inlineReason?: string
  files: readonly string[]
  /**
   * The files the shards' options name, each with its flag (`--cookies /srv/cookies.txt`), their
   * paths made absolute here: every worker reads them at those paths on its own machine.
   */
  optionFiles: readonly string[]
  rows: number
  shards: number
  /** Rows a shard: as given, or the queue's when it holds these files and none was given. */
  shardSize: number
  /** Shards added now, and shards BullMQ already held (waiting, active, done or failed). */
  added: number
  existing: number
  /**
   * Of `existing`, the shards that had failed for good (out of `attempts`): put back to wait, their
   * attempts counted from 0 again, so that enqueuing the same input after the cause is mended (an
   * input a worker could not read, a full disk) tries them again. Done shards stay done.
   */
  retried: number
  /**
   * Of `existing`, the done shards re-opened (see `EnqueueOptions.retryFailed`): waiting again, for
   * workers to fetch their failed images again and publish them anew; `refetch`: those images.
   */
  reopened: number
  refetch: number
  /**
   * Stopped by `signal` before the input's end: the shards added stay, the queue is not complete;
   * the same enqueue run again adds the rest.
   */
  stopped?: true
  ms: number
}

/**
 * Of the jobs at `keys`, just added, how many this enqueue made: BullMQ adds nothing for a job id it
 * holds, unsaid (taskforcesh/bullmq#2155; a look before is race-prone: OptimalBits/bull#1810), so
 * two enqueues of one input run at once that both found a shard missing both counted it added (6
 * of them said 2,800 added for 2,000 shards). The first to mark the job's hash (`HSETNX`, a field
 * BullMQ does not read) made it; a job gone meanwhile is not made again. A mark Redis refused (full
 * under `maxmemory`, OOM: its job was added before) counts as made, as every job did before.
 */
async function madeHere(redis: Redis, keys: readonly string[]): Promise<number> {
  if (keys.length === 0) return 0
  const marks = redis.pipeline()
  for (const key of keys) marks.eval(MARK_MADE, 1, key)
  return ((await marks.exec()) ?? []).filter(([error, made]) => error || made === 1).length
}

const MARK_MADE =
  "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HSETNX', KEYS[1], 'imgpullMade', '1') end return 0"

/** Shards added to Redis at once. */
const BATCH = 200

/** Longest a shard read waits for its batch to fill before it is added, ms. */
const BATCH_WAIT_MS = 1000

/** Longest a stopped enqueue waits for Redis to take the shards it read, ms. */
const STOP_FLUSH_MS = 10_000

/** Times a batch is sent again after Redis cut it off (each one waits for Redis to be back). */
const CUT_OFF_TRIES = 10

/**
 * Whether `error` is Redis going away under a command (restarted, its connection reset), not a
 * refusal: what ioredis fails a pipeline or a transaction with when the connection closes under
 * it (its other commands wait for the reconnection and are sent again).
 */
export function isCutOff(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  return (
    error.name === 'AbortError' ||
    /Connection is closed|ECONNRESET|ECONNREFUSED|EPIPE|LOADING/.test(error.message)
  )
}

/** What the queue's meta hash holds: one input per queue, since shard numbers name the outputs. */
interface QueueMeta {
  inputId: string
  kind: string
  files: string
  /** `ShardPlan.contents` as JSON (queues enqueued by an imgpull before it have none). */
  contents?: string
  shardSize: string
  /** The table options given, as JSON (`carriedTable`; queues enqueued by an imgpull before it have none). */
  table?: string
  rows?: string
  shards?: string
  complete?: string
  /** Why the last enqueue stopped short, when its input broke midway (see `brokenInput`). */
  broken?: string
  enqueuedAt: string
  options: string
}

/**
 * Add one BullMQ job per shard of `inputs` (URL lists or tables, as `imgpull` reads them) to a
 * queue. Job ids come from the input's identity and the shard number, so enqueuing the same input
 * again adds nothing already there, queued or done, and puts shards that failed for good back to
 * wait (`retried`); a queue holds one input (another one is a
 * `QueueError`: shard numbers name the outputs). Streams the input: workers may start on the first
 * shards while the rest are still being added. Throws `UsageError` for bad inputs and `TypeError`
 * for bad options (a name template naming no column: both before Redis is contacted), and
 * `QueueError` for Redis trouble or a queue holding another input, and with code `input-broken`
 * for an input that breaks midway (its `cause` the reader's error: a `UsageError` naming the file
 * and line), the shards read before the fault added.
 */
export async function enqueue(inputs: readonly string[], options: EnqueueOptions): Promise<EnqueueResult> {
  const started = performance.now()
  const problem = queueNameProblem(options.queue)
  if (problem) throw new UsageError(problem)
  let shardSize = options.shardSize ?? 10_000
  const redisWait = options.redisWait ?? REDIS_WAIT_MS
  if (!Number.isFinite(redisWait) || redisWait < 2 * ENQUEUE_RENEW_MS)
    throw new TypeError(
      `redisWait must be at least ${(2 * ENQUEUE_RENEW_MS) / 1000} s (${2 * ENQUEUE_RENEW_MS} ms), twice the enqueue lease's renewal, got ${redisWait}`,
    )
  // The workers' WebDataset shards hold this many rows: the same bound as a run's `shardSize`.
  checkShardSize(shardSize)
  // The run's options as every worker will resolve them (a bad header, a proxy URL that does not
  // parse), checked once here rather than failing each shard's every attempt; the proxies of the
  // environment are the workers' own, not this machine's.
  const run = options.options ?? {}
  resolveOptions({
    ...run,
    proxy: typeof run.proxy === 'string' ? run.proxy : false,
    clientCertPassword: options.clientCertPassword ?? (run as Options).clientCertPassword,
  })
  let table = options.table
  // A table that is a pipe is opened once: planned again (below), it is read again from its start.
  const pipes = new Map<string, PipeTap>()
  const planOf = () =>
    planShards(inputs, { shardSize, table, inline: options.inline, stdin: options.stdin, pipes })
  let plan = await planOf()
  // A name template's typo fails here, once (a TypeError, as resolveOptions' are), not every
  // shard's every attempt on the workers.
  if (run.name !== undefined && (plan.kind === 'lines' || plan.columns))
    checkTemplate(run.name, plan.kind === 'table' ? ['row', ...(plan.columns ?? [])] : [])
  const redis = await openRedis(options.redis)
  // Redis gone for good mid-run (down, stopped, hung): every command waited for it for ever
  // (`maxRetriesPerRequest: null`), and so did the enqueue, saying nothing. After `redisWait` of
  // silence the client is cut, its commands fail at once, and the enqueue stops (`goneWords`).
  let gone = false
  const silence = silenceWatch(redis, redisWait, () => {
    gone = true
    redis.disconnect()
    return new Error('Redis silent')
  })
  const heard = <T>(work: Promise<T>): Promise<T> => Promise.race([work, silence.broken])
  // No shard size given: the queue's, when it holds these files (enqueuing them again without
  // the first enqueue's --shard-size was refused as "the same input in shards of 2 rows, not 10000").
  // So for each table option left out: enqueuing a table again without its first --caption-col
  // was refused as "the same input with other options (id ...)", naming none.
  let queued: number | undefined
  try {
    const held = await heard(queuedLayout(redis, options.queue, plan))
    queued = options.shardSize === undefined ? held.shardSize : undefined
    if (held.table) table = { ...held.table, ...definedFields(options.table) }
  } catch (error) {
    silence.stop()
    // A Redis that refuses (an ACL, a full one) is said as the rest of enqueue says it.
    redis.disconnect()
    throw stoppedBy(error, gone, options, { shards: 0, added: 0, existing: 0, shardSize }, false) ?? error
  }
  if ((queued !== undefined && queued !== shardSize) || table !== options.table) {
    shardSize = queued ?? shardSize
    plan = await planOf()
  }
  // The workers' shards leave out a carried column named as imgpull's own: said here, where the
  // user is, as a run says it (the workers' warnings go to their own logs).
  if (run.outputFormat === 'webdataset' && plan.kind === 'table' && plan.columns) {
    const words = shadowedWarning(plan.columns, table ?? {})
    if (words !== undefined) process.emitWarning(words, { code: 'IMGPULL_COLUMN_SHADOWED' })
  }
  const queue = new Queue(options.queue, { connection: redis, prefix: BULL_PREFIX })
  queue.on('error', () => {})
  // `retryFailed` is what this enqueue re-opens (see `reopens`), not a shard's option: a queue's
  // shards keep their first enqueue's options, and an enqueue with it was refused as "other options".
  // A password given in the options from JavaScript is no less a secret: never put in Redis.
  const { retryFailed: _retry, clientCertPassword: _secret, ...given } = (options.options ?? {}) as Options
  // A relative path would be read from each worker's own working folder: made absolute here, as
  // the input's is.
  let runOptions: RunOptions = { ...withAbsoluteFiles(given, process.cwd()), shardSize }
  const chosen = options.chosen === undefined ? undefined : new Set(options.chosen)
  const all = options.retryFailed === true
  const jobOptions = {
    attempts: options.attempts ?? 5,
    backoff: { type: 'exponential', delay: options.backoff ?? 30_000 },
    // Kept, done or failed: a kept id is what makes enqueuing again add nothing.
    removeOnComplete: false,
    removeOnFail: false,
  }
  let added = 0
  let existing = 0
  let retried = 0
  let reopened = 0
  let refetch = 0
  let shards = 0
  let claimed = false
  // Held before the queue is claimed: a worker waiting for the enqueue to end never sees it claimed
  // and not running (see `enqueueState`).
  let lease: Awaited<ReturnType<typeof holdEnqueue>> | undefined
  // A stop (Ctrl-C) ends the wait for the input's next shard at once: the shards read are added,
  // the rest is added by the same enqueue run again.
  const stop = stopped(options.signal)
  let interrupted = false
  let broken: { broken: unknown } | undefined
  const iterator = plan[Symbol.asyncIterator]()
  try {
    lease = await heard(holdEnqueue(redis, options.queue))
    let batch: PlannedShard[] = []
    // Every step is idempotent (ids are the shards', `HSETNX` claims): a batch that Redis cut
    // off midway is sent again whole, and counted once, when it was added.
    const addBatch = async () => {
      const inputId = plan.inputId()!
      if (!claimed) {
        runOptions = await claimQueue(
          redis,
          options.queue,
          inputId,
          plan,
          shardSize,
          table,
          runOptions,
          chosen,
        )
        claimed = true
      }
      const ids = batch.map((s) => shardJobId(inputId, s.shard))
      // A job is a hash at <prefix>:<queue>:<id> for as long as BullMQ holds it, in any state.
      const check = redis.pipeline()
      for (const id of ids) check.exists(queue.toKey(id))
      const exists = (await check.exec()) ?? []
      const fresh = batch.filter((_, i) => exists[i]?.[1] === 0)
      if (plan.mode === 'inline')
        await checkSameRows(
          redis,
          queue,
          options.queue,
          batch.filter((_, i) => exists[i]?.[1] !== 0),
          (s) => shardJobId(inputId, s.shard),
        )
      const held = batch.flatMap((s, i) => (exists[i]?.[1] !== 0 ? [{ id: ids[i], shard: s.shard }] : []))
      const putBack = await retryFailed(
        redis,
        queue,
        held.map((h) => h.id),
      )
      const opened = await reopenDone(redis, queue, options.queue, held, all)
      const freshIds = fresh.map((s) => shardJobId(inputId, s.shard))
      await queue.addBulk(
        fresh.map((s) => ({
          name: 'shard',
          data: {
            v: DATA_VERSION,
            inputId,
            shard: s.shard,
            shardSize,
            firstRow: s.firstRow,
            rows: s.rows,
            options: runOptions,
          } satisfies ShardJobData,
          opts: { ...jobOptions, jobId: shardJobId(inputId, s.shard) },
        })),
      )
      return {
        fresh: await madeHere(
          redis,
          freshIds.map((id) => queue.toKey(id)),
        ),
        putBack,
        opened,
      }
    }
    const flush = async () => {
      if (batch.length === 0) return
      for (let cut = 0; ; cut++) {
        try {
          const { fresh, putBack, opened } = await heard(addBatch())
          existing += batch.length - fresh
          added += fresh
          retried += putBack
          reopened += opened.shards
          refetch += opened.images
          break
        } catch (error) {
          // ioredis sends single commands again once reconnected, but fails a pipeline or a
          // transaction cut midway: a Redis restart stopped the enqueue with exit 1 and
          // "Command aborted due to connection close".
          if (gone || !isCutOff(error) || cut >= CUT_OFF_TRIES) throw error
        }
      }
      shards += batch.length
      batch = []
      options.onProgress?.({ shards, rows: plan.rows() })
    }
    let pending: Promise<IteratorResult<PlannedShard>> | undefined
    for (;;) {
      pending ??= iterator.next()
      // Shards read are not held for long waiting for a full batch: a slow stream (a crawler's
      // output piped in) had workers idle while up to 200 shards of its rows sat here.
      const wait = batch.length > 0 ? timer(BATCH_WAIT_MS) : undefined
      const next = await Promise.race([
        pending,
        stop.promise,
        silence.broken.catch((): typeof GONE => GONE),
        ...(wait ? [wait.promise] : []),
      ]).catch((error: unknown) => ({ broken: error }))
      wait?.cancel()
      if (next === GONE) throw new Error('Redis silent')
      if (typeof next === 'object' && 'broken' in next) {
        broken = next
        break
      }
      if (next === WAITED) {
        await flush()
        continue
      }
      if (next === STOPPED) {
        interrupted = true
        break
      }
      pending = undefined
      if (next.done) break
      batch.push(next.value)
      // The first shard goes alone: the queue is claimed (and marked as being enqueued) at once,
      // not once 200 shards of a slow input are read.
      if (batch.length >= BATCH || !claimed) await flush()
    }
    // Stopped too, the shards read are added: a stream's rows are gone once read. Not for ever
    // with Redis away (a second Ctrl-C ends the process at once). The queue is then not complete.
    const last = flush()
    if (broken) {
      // The input broke midway (a record a reader cannot take, a gzip file cut short, a file
      // removed): the shards read before it are added, as a local run fetches the rows before the
      // fault, and the queue is not complete. Only those of the last batch sent were added: a
      // stream's rows read were lost, and `status` counted a file's shards short.
      await last
      const error = brokenInput(broken.broken, options.queue, shards)
      // Said by `status` and the workers, where "run the same enqueue again" would break there again.
      if (claimed)
        await heard(
          redis.hset(metaKey(options.queue), {
            broken: errorWords(broken.broken),
          } satisfies Partial<QueueMeta>),
        )
      throw error
    }
    if (interrupted) {
      // Left unawaited past the wait, its failure once the client is cut is no one's to say.
      last.catch(() => {})
      const wait = timer(STOP_FLUSH_MS)
      await Promise.race([last, wait.promise])
      wait.cancel()
    } else await last
    if (!interrupted && claimed)
      await heard(
        redis.hset(metaKey(options.queue), {
          rows: String(plan.rows()),
          shards: String(shards),
          complete: '1',
        } satisfies Partial<QueueMeta>),
      )
    else if (!interrupted && !(await heard(redis.hexists(metaKey(options.queue), 'inputId'))))
      // An input with no row binds no input to the queue, but enqueue has ended: a worker waiting
      // with --exit-when-done for it to end waited for good (`enqueue empty.txt && worker
      // --exit-when-done` never returned). The next input's enqueue takes the queue afresh.
      await heard(
        redis.hset(metaKey(options.queue), {
          rows: '0',
          shards: '0',
          complete: '1',
        } satisfies Partial<QueueMeta>),
      )
  } catch (error) {
    throw stoppedBy(error, gone, options, { shards, added, existing, shardSize }, claimed) ?? error
  } finally {
    stop.dispose()
    silence.stop()
    // Not awaited: a generator waiting for its input (standard input) would hold the stop up.
    if (interrupted || broken || gone) iterator.return?.().catch(() => {})
    await lease?.release()
    await queue.close().catch(() => {})
    redis.disconnect()
  }
  return {
    queue: options.queue,
    inputId: plan.inputId() ?? '',
    mode: plan.mode,
    inlineReason: plan.inlineReason,
    files: plan.files,
    optionFiles: optionFiles(runOptions),
    rows: plan.rows(),
    shards,
    shardSize,
    added,
    existing,
    retried,
    reopened,
    refetch,
    ...(interrupted ? { stopped: true } : {}),
    ms: Math.round(performance.now() - started),
  }
}

/**
 * The input's fault that stopped an enqueue (`error`, the reader's own words: the file and line),
 * with what it left in the queue (`shards` added or found there before it, the input's first ones).
 */
function brokenInput(error: unknown, queue: string, shards: number): unknown {
  if (error instanceof QueueError) return error
  const words = errorWords(error)
  return new QueueError(
    'input-broken',
    // Found in its first shard: nothing is in the queue, and "the rest is not" said nothing more.
    shards === 0
      ? `${words}; stopped there: nothing of it is in queue ${queue}`
      : `${words}; stopped there: its first ${shards} shard${shards === 1 ? ' is' : 's are'} in queue ${queue}, the rest is not`,
    { cause: error },
  )
}

/** What an enqueue stopped midway by Redis knows it left in the queue. */
interface Left {
  shards: number
  added: number
  existing: number
  shardSize: number
}

/**
 * What an enqueue stopped midway by Redis says it left: the shards it knows are in the queue (the
 * input's first ones: batches are added in order) and that the same enqueue run again, once
 * `mended` (`it answers`), adds only the rest. Pure.
 */
export function leftWords(queue: string, done: Left, mended: string): string {
  const held =
    done.shards === 0
      ? `no shard of this input is known to be in queue ${queue}`
      : `the input's first ${counted(done.shards, 'shard')} of up to ${counted(done.shardSize, 'row')} ${done.shards === 1 ? 'is' : 'are'} in queue ${queue} (${n(done.added)} added now, ${n(done.existing)} there already)`
  return `stopped; ${held}${done.shards === 0 ? `: run the same command again once ${mended}` : `, the rest may not be: run the same command again once ${mended} to add it`} (nothing is added twice)`
}

/** What an enqueue stopped by a Redis silent for `waitMs` says (see `EnqueueOptions.redisWait`). Pure. */
export function goneWords(redis: string, queue: string, waitMs: number, done: Left): string {
  return `Redis at ${shownRedis(redis)} has sent nothing for ${Math.round(waitMs / 1000)} s (--redis-wait): ${leftWords(queue, done, 'it answers')}`
}

/**
 * Why an enqueue stopped on Redis trouble after it began adding shards, with what it left:
 * `gone` (silent for `redisWait`), or a refusal (full, a replica after a failover), whose words
 * named neither the shards added nor that the same enqueue adds the rest. `undefined`: another error.
 */
function stoppedBy(error: unknown, gone: boolean, options: EnqueueOptions, done: Left, begun: boolean) {
  if (gone)
    return new QueueError(
      'redis-unreachable',
      goneWords(options.redis, options.queue, options.redisWait ?? REDIS_WAIT_MS, done),
    )
  const refusal = refusedBy(error, options.redis)
  if (!refusal || !begun) return refusal
  return new QueueError(
    'redis-refused',
    `${refusal.message}; ${leftWords(options.queue, done, 'it takes them')}`,
    {
      cause: error,
    },
  )
}

const errorWords = (error: unknown): string => (error instanceof Error ? error.message : String(error))

const STOPPED = Symbol('stopped')
const GONE = Symbol('gone')
const WAITED = Symbol('waited')

/** A promise that resolves to `WAITED` after `ms`, and its cancellation. */
function timer(ms: number): { promise: Promise<typeof WAITED>; cancel(): void } {
  let handle: NodeJS.Timeout | undefined
  const promise = new Promise<typeof WAITED>((resolve) => {
    handle = setTimeout(() => resolve(WAITED), ms)
  })
  return { promise, cancel: () => clearTimeout(handle) }
}

/** A promise that resolves to `STOPPED` once `signal` aborts (never without one), and its disposal. */
function stopped(signal: AbortSignal | undefined): { promise: Promise<typeof STOPPED>; dispose(): void } {
  if (!signal) return { promise: new Promise(() => {}), dispose() {} }
  let onAbort = () => {}
  const promise = new Promise<typeof STOPPED>((resolve) => {
    onAbort = () => resolve(STOPPED)
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) }
}

/**
 * Put the shards of `ids` that failed for good back to wait, with no attempt nor stall counted
 * (BullMQ's `Job.retry`); returns how many. A shard another enqueue put back meanwhile (no longer failed
 * when retried) is left to it.
 */
async function retryFailed(redis: Redis, queue: Queue, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0
  const check = redis.pipeline()
  for (const id of ids) check.zscore(queue.toKey('failed'), id)
  const scores = (await check.exec()) ?? []
  let retried = 0
  for (const [i, id] of ids.entries()) {
    if (scores[i]?.[1] === null || scores[i]?.[1] === undefined) continue
    const job = await Job.fromId(queue, id)
    try {
      // Its stalls too (`STALLED_REASON`), which BullMQ never resets: a shard failed for its
      // workers' deaths, put back, was failed again by the next one alone.
      if (job) await redis.hdel(queue.toKey(id), 'stc')
      await job?.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true })
      if (job) retried++
    } catch {
      // Not failed any more: another enqueue put it back first.
    }
  }
  return retried
}

/**
 * How many of a done shard's failed images a retry round would fetch again: those a rerun tries
 * again (`retriedOnRerun`: timeouts, 5xx, 429, cut bodies), or, with `all` (`--retry-failed`),
 * every one but the input's own (`INPUT_ERRORS`: a line that is no URL, a bad row or hash), which
 * every run fails again without a request (its input cannot change under a queue): a shard with
 * those alone was re-opened for a round that fetched nothing, and `enqueue` said it would "fetch
 * 56 failed images again" of which 28 were such lines. 0: the shard is left done. Pure.
 */
export function reopens(counts: Pick<ShardCounts, 'failed' | 'errors'> | undefined, all: boolean): number {
  if (!counts || counts.failed === 0) return 0
  if (all) {
    let own = 0
    for (const [code, n] of Object.entries(counts.errors)) if (INPUT_ERRORS.has(code)) own += n
    return Math.max(0, counts.failed - own)
  }
  let passing = 0
  for (const [code, n] of Object.entries(counts.errors)) if (retriedOnRerun(code)) passing += n
  return passing
}

/**
 * Re-open the done shards of `ids` that have failures to try again (see `reopens`): each is given
 * its next retry round in its data and put back to wait, its attempts anew; a worker runs it
 * again from its journal and publishes it anew. A shard not done (waiting, running: its run tries
 * its failures anyway) or another enqueue re-opened meanwhile is left alone, but for a round a
 * plain enqueue opened that still waits, which `all` widens to every failure.
 */
async function reopenDone(
  redis: Redis,
  queue: Queue,
  name: string,
  held: readonly { id: string; shard: number }[],
  all: boolean,
): Promise<{ shards: number; images: number }> {
  const opened = { shards: 0, images: 0 }
  if (held.length === 0) return opened
  // One round trip for the batch: a queue of 10,000 done shards with no failure is read in 50,
  // not 20,000 (a job read and its counts each).
  const check = redis.pipeline()
  for (const { id, shard } of held)
    check.zscore(queue.toKey('completed'), id).hget(shardsKey(name), String(shard))
  const answers = (await check.exec()) ?? []
  for (const [i, { id }] of held.entries()) {
    const [score, text] = [answers[2 * i]?.[1], answers[2 * i + 1]?.[1]]
    if (typeof text !== 'string') continue
    const counts = JSON.parse(text) as ShardCounts
    const images = reopens(counts, all)
    const done = score !== null && score !== undefined
    if (images === 0 || (!done && !all)) continue
    const job = await Job.fromId<ShardJobData>(queue, id)
    if (!job) continue
    if (!done) {
      // Re-opened by a plain enqueue and still waiting: --retry-failed widens its round to every
      // failure (it said nothing re-opened, and the round left the permanent ones as they were).
      if (all && job.data.retry && !job.data.retry.all && (await job.isWaiting())) {
        await job.updateData({ ...job.data, retry: { ...job.data.retry, all } })
        opened.shards++
        opened.images += images
      }
      continue
    }
    const round = Math.max(job.data.retry?.round ?? 0, counts.round ?? 0) + 1
    try {
      // The round first: a worker taking the job must find it in its data.
      await job.updateData({ ...job.data, retry: { round, all } })
      // A new round, its stalls counted anew (see `retryFailed`).
      await redis.hdel(queue.toKey(id), 'stc')
      await job.retry('completed', { resetAttemptsMade: true, resetAttemptsStarted: true })
      opened.shards++
      opened.images += images
    } catch {
      // Not done any more: another enqueue re-opened it first.
    }
  }
  return opened
}

/**
 * Check that the shards a queue already holds carry the rows this enqueue read for them. Standard
 * input has no identity but its first shard's rows (so a stopped enqueue can be run again): another
 * stream that begins with the same rows would otherwise be taken for it, its later shards
 * skipped as already there and the rest added, one queue holding two inputs' rows.
 */
async function checkSameRows(
  redis: Redis,
  queue: Queue,
  name: string,
  held: readonly PlannedShard[],
  jobId: (shard: PlannedShard) => string,
): Promise<void> {
  if (held.length === 0) return
  const pipeline = redis.pipeline()
  for (const s of held) pipeline.hget(queue.toKey(jobId(s)), 'data')
  const answers = (await pipeline.exec()) ?? []
  const rowsOf = (rows: ShardRows) =>
    rows.kind === 'inline' ? `${rows.count}\n${inflateRawSync(Buffer.from(rows.rows, 'base64'))}` : undefined
  for (const [i, s] of held.entries()) {
    const text = answers[i]?.[1]
    // A job removed meanwhile (by hand) holds nothing to compare: the id stands.
    if (typeof text !== 'string') continue
    const data = JSON.parse(text) as ShardJobData
    if (rowsOf(data.rows) === rowsOf(s.rows)) continue
    throw new QueueError(
      'queue-input',
      `queue ${name} holds another input: its shard ${shardStem(s.shard)} has other rows than this input's (they begin alike): enqueue this one into a queue of its own`,
    )
  }
}

/**
 * The first of the input's files whose contents are not those the queue holds (`held`: JSON of
 * `ShardPlan.contents`), with its sizes then (`was`) and now; `undefined` when none is (or the queue does
 * not say). Pure.
 */
export function changedFile(
  plan: Pick<ShardPlan, 'files' | 'contents'>,
  held: string | null,
): { path: string; was: number; now: number } | undefined {
  let was: { size: number; fingerprint: string }[]
  try {
    was = JSON.parse(held ?? 'null') ?? []
  } catch {
    return undefined
  }
  if (!Array.isArray(was) || was.length !== plan.contents.length) return undefined
  const i = plan.contents.findIndex((now, i) => now.fingerprint !== was[i]?.fingerprint)
  if (i < 0) return undefined
  return { path: plan.files[i], was: was[i].size, now: plan.contents[i].size }
}

/**
 * The shard size and table options of a queue that holds `plan`'s files, or standard input when
 * `plan` reads it (no files: its rows are its identity, read only later, and the shard size is part
 * of it); each `undefined` where the queue holds other files or does not say (a queue enqueued by
 * an imgpull that kept no table options).
 */
async function queuedLayout(
  redis: Redis,
  queue: string,
  plan: Pick<ShardPlan, 'files'>,
): Promise<{ shardSize?: number; table?: TableOptions }> {
  const [files, size, table] = await redis.hmget(metaKey(queue), 'files', 'shardSize', 'table')
  if (files !== JSON.stringify(plan.files)) return {}
  const n = Number(size)
  return {
    ...(size !== null && Number.isSafeInteger(n) && n > 0 ? { shardSize: n } : {}),
    ...(table !== null ? { table: JSON.parse(table) as TableOptions } : {}),
  }
}

/** The flags of the table options, as `otherTableOptions` names them. */
const TABLE_FLAGS: Record<keyof ReturnType<typeof tableIdentity>, string> = {
  format: '--input-format',
  urlCol: '--url-col',
  captionCol: '--caption-col',
  columns: '--columns',
  hashCol: '--hash-col',
  hashType: '--hash-type',
}

/**
 * The table options a queue's input was enqueued with (`held`, JSON as `carriedTable` gives it)
 * that `table` gives otherly, in flags (`--caption-col caption, not license`; `none` for one not
 * given), or `undefined` when none does or the queue kept none. Pure.
 */
export function otherTableOptions(
  held: string | null | undefined,
  table: TableOptions | undefined,
): string | undefined {
  if (held === null || held === undefined) return undefined
  const was = tableIdentity(JSON.parse(held) as TableOptions)
  const now = tableIdentity(table)
  const word = (v: unknown) => (v === null ? 'none' : Array.isArray(v) ? v.join(',') : String(v))
  const differ = (Object.keys(TABLE_FLAGS) as (keyof typeof TABLE_FLAGS)[])
    .filter((k) => JSON.stringify(was[k]) !== JSON.stringify(now[k]))
    .map((k) => `${TABLE_FLAGS[k]} ${word(was[k])}, not ${word(now[k])}`)
  return differ.length > 0 ? differ.join('; ') : undefined
}

/** Options whose values are not shown in messages: they may hold credentials. */
const SECRET_OPTIONS = new Set(['headers', 'proxy', 'cookies', 'caCert', 'clientCert', 'clientKey'])

/**
 * The options a queue's shards were enqueued with (`held`, JSON) that this enqueue gives otherly,
 * in words (`perHost 2, not 8`), or `undefined` when none does. Options only one of them names (a
 * newer imgpull's) do not count. Pure.
 */
export function otherOptions(held: string | null, options: RunOptions): string | undefined {
  if (held === null) return undefined
  let first: Record<string, unknown>
  try {
    first = JSON.parse(held) as Record<string, unknown>
  } catch {
    return undefined
  }
  const now = JSON.parse(JSON.stringify(options)) as Record<string, unknown>
  const differ: string[] = []
  for (const [key, value] of Object.entries(now)) {
    if (!(key in first) || JSON.stringify(first[key]) === JSON.stringify(value)) continue
    differ.push(
      SECRET_OPTIONS.has(key)
        ? `${key} differ`
        : `${key} ${JSON.stringify(first[key])}, not ${JSON.stringify(value)}`,
    )
  }
  return differ.length > 0 ? differ.join('; ') : undefined
}

/**
 * The run options of an enqueue into a queue that holds its input already: those the caller did
 * not choose (`chosen`; all when undefined) are the queue's (`held`, JSON), so its new shards carry
 * the first enqueue's. Pure.
 */
export function heldOptions(
  held: string | null,
  options: RunOptions,
  chosen: ReadonlySet<string> | undefined,
): RunOptions {
  if (held === null || chosen === undefined) return options
  let first: Record<string, unknown>
  try {
    first = JSON.parse(held) as Record<string, unknown>
  } catch {
    return options
  }
  const taken: Record<string, unknown> = { ...options }
  for (const [key, value] of Object.entries(first)) if (!chosen.has(key)) taken[key] = value
  return taken as RunOptions
}

/**
 * Take an empty queue for this input, or check that it already holds this one: the run options
 * its shards carry, the queue's where this enqueue chose none (see `heldOptions`).
 */
async function claimQueue(
  redis: Redis,
  queue: string,
  inputId: string,
  plan: Pick<ShardPlan, 'kind' | 'files' | 'contents'>,
  shardSize: number,
  table: TableOptions | undefined,
  given: RunOptions,
  chosen: ReadonlySet<string> | undefined,
): Promise<RunOptions> {
  const meta: QueueMeta = {
    inputId,
    kind: plan.kind,
    files: JSON.stringify(plan.files),
    contents: JSON.stringify(plan.contents),
    shardSize: String(shardSize),
    table: JSON.stringify(carriedTable(table)),
    enqueuedAt: String(Date.now()),
    options: JSON.stringify(given),
  }
  // HSETNX on the id: two enqueues racing agree on one input. Taking the queue, it is not complete
  // (an empty input's enqueue may have said so).
  if (await redis.hsetnx(metaKey(queue), 'inputId', inputId))
    await redis.hdel(metaKey(queue), 'complete', 'rows', 'shards', 'broken')
  const held = await redis.hget(metaKey(queue), 'inputId')
  if (held !== inputId) {
    const [files, size, contents, tableHeld] = await redis.hmget(
      metaKey(queue),
      'files',
      'shardSize',
      'contents',
      'table',
    )
    const named = (JSON.parse(files ?? '[]') as string[]).join(', ') || 'standard input'
    // The same files under another id: the shards were cut otherwise (another --shard-size, or
    // other table options), which would put rows twice; or a file changed since (URLs added).
    const same = files === meta.files && plan.files.length > 0
    const changed = same ? changedFile(plan, contents) : undefined
    // Standard input's rows are its identity, and its shard size part of it: another size is said.
    const stdinResized = plan.files.length === 0 && files === meta.files && size !== meta.shardSize
    const tables = files === meta.files ? otherTableOptions(tableHeld, table) : undefined
    const why =
      same && size !== meta.shardSize
        ? `the same input in shards of ${size} rows, not ${meta.shardSize}: enqueue with --shard-size ${size}, or into a queue of its own`
        : stdinResized
          ? `standard input in shards of ${size} rows, not ${meta.shardSize}: enqueue it again with --shard-size ${size} (or none: the queue's is taken), or into a queue of its own`
          : changed
            ? `${changed.path} as it was enqueued (${changed.was} bytes; ${changed.now} now): its shards point into the file as it was, and workers cannot read those not done yet until it is so again; put new URLs in a file of their own and enqueue that into a queue of its own (or the changed file into a new queue)`
            : tables
              ? `the same input with other table options (${tables}): enqueue with those (or none: the queue's are taken), or into a queue of its own`
              : same
                ? `the same input with other options (id ${held}): enqueue with the first options, or into a queue of its own`
                : `another input (${named}, id ${held}): enqueue this one into a queue of its own`
    throw new QueueError('queue-input', `queue ${queue} holds ${why}`)
  }
  const first = await redis.hget(metaKey(queue), 'options')
  const options = heldOptions(first, given, chosen)
  const differ = otherOptions(first, options)
  if (differ) {
    // A machine's own (see `WorkerOptions.threads`): another count is the workers' to give.
    const machine = /\b(concurrency|threads) /.test(differ)
      ? "; -c and --threads are also each worker's own: give them to imgpull worker"
      : ''
    throw new QueueError(
      'queue-input',
      `queue ${queue} holds this input's shards with other options (${differ}): its shards carry the first enqueue's, and would not take these; enqueue with those, or into a queue of its own${machine}`,
    )
  }
  const { inputId: _, ...rest } = meta
  // Fields already there stay (the first enqueue's time and options; a later one adds nothing).
  // Enqueuing again is enqueuing until it ends: it may re-open shards or put failed ones back late
  // in a long input, and a worker with --exit-when-done started beside it left before them.
  const pipeline = redis.pipeline().hdel(metaKey(queue), 'complete', 'broken')
  for (const [field, value] of Object.entries(rest)) pipeline.hsetnx(metaKey(queue), field, value)
  await pipeline.exec()
  return options
}
