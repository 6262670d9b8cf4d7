import { ImgpullError } from '../errors.js'
import { plural } from '../report/format.js'
import { printable } from '../utils/printable.js'
import { withoutCredentials } from '../utils/url.js'

/**
 * Why a queue command cannot go on (exit 2, one line naming the cause): Redis unreachable or set
 * up to lose keys, a queue name BullMQ cannot take, another input already in the queue.
 */
/** What a `QueueError` is, as its `code` says it. */
export type QueueCode =
  | 'queue-input'
  | 'queue-unknown'
  | 'input-broken'
  | 'redis-url'
  | 'redis-auth'
  | 'redis-tls'
  | 'redis-unreachable'
  | 'redis-refused'
  | 'redis-eviction'

export class QueueError extends ImgpullError {
  override name = 'QueueError'
  declare readonly code: QueueCode
}

/** A Redis address as shown in messages: any password replaced by `***`. */
export function shownRedis(url: string): string {
  // A Unix socket's (`unix://:pw@/path`, `/path?password=pw`): no host for URL to parse.
  if (/^(?:\.{0,2}\/|unix:|redis\+unix:|redis-socket:)/i.test(url))
    return url.replace(/^([^:/]+:\/\/[^:@/]*:)[^@/]*@/, '$1***@').replace(/([?&]password=)[^&]*/i, '$1***')
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    // The `/` URL adds to a host, not one the address ends with (`redis://`, as typed).
    const text = u.toString()
    return text.endsWith('/') && !url.endsWith('/') ? text.slice(0, -1) : text
  } catch {
    // Not a URL: a password that does not parse (a space in it) is still one.
    return withoutCredentials(url)
  }
}

/**
 * BullMQ's reason for a shard failed because its workers stopped running it too many times
 * (`maxStalledCount`: killed, crashed, out of memory, cut off from Redis past their lock). Said as
 * such, it named none of it.
 */
export const STALLED_REASON = 'job stalled more than allowable limit'

/**
 * Why a shard failed, in words: BullMQ's reason, but for a shard its workers kept stopping on
 * (`STALLED_REASON`; `stalled`: how many times, the job's `stalledCounter`).
 */
export function shardFailureWords(reason: string, stalled: number): string {
  if (reason !== STALLED_REASON) return reason
  const times = stalled > 1 ? `${stalled} times` : 'too many times'
  return `the workers running it stopped before its end ${times} (killed, crashed, out of memory, or cut off from Redis past --lock-duration): find what stops them (the kernel's OOM killer is in dmesg)`
}

/**
 * A queue whose input's `shards` were enqueued (its enqueue complete) but whose BullMQ jobs hold
 * only `held` of them (waiting, running, done or failed): the others' jobs deleted under imgpull's own keys (BullMQ's
 * `obliterate()`, a dashboard's button, `DEL` by pattern: taskforcesh/bullmq#434). A worker with
 * `--exit-when-done` took it for done, exit 0, and `status` said `of 0`. Pure.
 */
export function lostShardsWords(queue: string, shards: number, held: number): string {
  return `queue ${queue} holds ${held} of the ${shards} ${plural(shards, 'shard')} its input was enqueued in: the others' jobs are gone from Redis (imgpull:bullmq:${queue}:*, deleted or obliterated)`
}

/**
 * A queue paused as BullMQ pauses one (`Queue.pause()`, a dashboard's button: the `paused` field of
 * `imgpull:bullmq:<queue>:meta`), in words: no worker takes a shard of it until it is resumed, where
 * the workers waited, silent, a worker with `--exit-when-done` for good, and `status` showed its
 * shards as waiting alone (as a paused Bull queue's jobs were shown stuck or not at all:
 * ShaneK/Matador#21, OptimalBits/bull#903). Pure.
 */
export function pausedWords(queue: string): string {
  return `queue ${queue} is paused (BullMQ's Queue.pause(), a dashboard's pause button): no worker takes a shard of it until it is resumed (Queue.resume(), the dashboard, or redis-cli HDEL imgpull:bullmq:${queue}:meta paused); the shards running go on to their end`
}

/**
 * A job in the queue that is no shard (see `isShardJob`: another program's, a dashboard's "add
 * job"), named by its id and name: failed by the worker that takes it, never run, and kept in Redis
 * for its owner. It was said `shard undefined failed: shard data of version undefined` and counted
 * among the shards failed for good (exit 1 with `--exit-when-done`). Pure.
 */
export function foreignJobWords(queue: string, id: string | undefined, name: string): string {
  return `job ${id ?? '?'} (${printable(name)}) in queue ${queue} is not an imgpull shard (its data holds no shard number: another program's job?): failed, not run, and left in Redis for its owner (imgpull:bullmq:${queue}:${id ?? '?'}); it counts as no shard of the queue`
}
