import { hostname } from 'node:os'
import type { Redis } from 'ioredis'
import { enqueuesKey } from './keys.js'

/**
 * Whether an enqueue is still running into a queue. `complete` in the queue's meta says an
 * enqueue ended; until then the queue was "being enqueued" for good when one was stopped (Ctrl-C,
 * kill, a crash): `status` said "rows still being enqueued" and a worker with `--exit-when-done`
 * waited for the end, saying nothing, for ever. A running enqueue holds a lease, renewed every
 * `ENQUEUE_RENEW_MS`; one whose lease lapsed has stopped.
 */

/** How long an enqueue's lease lasts without renewal, ms. */
export const ENQUEUE_LEASE_MS = 30_000
/** How often a running enqueue renews its lease, ms. */
export const ENQUEUE_RENEW_MS = 5_000

/**
 * Default of `EnqueueOptions.redisWait`, ms: 10 times a worker's default --lock-duration, the time
 * a worker with --exit-when-done gives a Redis gone (`REDIS_GONE_LOCKS`), so that `enqueue &&
 * worker --exit-when-done` in one batch job gives it the same; a restart or a failover has time.
 */
export const REDIS_WAIT_MS = 300_000

/** How long `release` waits for Redis, ms. */
const RELEASE_WAIT_MS = 2_000

/** Redis's clock, ms since the epoch: the one every enqueue's lease is scored in. */
async function redisNow(redis: Redis): Promise<number> {
  const [s, us] = await redis.time()
  return Number(s) * 1000 + Math.floor(Number(us) / 1000)
}

/**
 * Hold a lease on `queue` for this enqueue until `release` (which also runs when the renewal
 * cannot reach Redis for a while: the lease then lapses, as after a kill). Lapsed leases of
 * enqueues killed before are pruned here.
 */
export async function holdEnqueue(redis: Redis, queue: string): Promise<{ release(): Promise<void> }> {
  const id = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  const key = enqueuesKey(queue)
  const renew = async () => {
    const now = await redisNow(redis)
    // One command after the other, not a MULTI: Redis refusing one (full, an ACL) failed the
    // transaction as "EXECABORT Transaction discarded", hiding the refusal and its fix.
    await redis.zremrangebyscore(key, '-inf', now)
    await redis.zadd(key, now + ENQUEUE_LEASE_MS, id)
  }
  await renew()
  const timer = setInterval(() => renew().catch(() => {}), ENQUEUE_RENEW_MS)
  timer.unref()
  return {
    async release() {
      clearInterval(timer)
      // Not for ever: with Redis gone (a stop while it is down), the lease lapses by itself.
      let wait: NodeJS.Timeout | undefined
      await Promise.race([
        redis.zrem(key, id).catch(() => {}),
        new Promise((resolve) => {
          wait = setTimeout(resolve, RELEASE_WAIT_MS)
        }),
      ])
      clearTimeout(wait)
    },
  }
}

/** Whether an enqueue into `queue` holds a lease that has not lapsed. */
export async function enqueueRunning(redis: Redis, queue: string): Promise<boolean> {
  const now = await redisNow(redis)
  return (await redis.zcount(enqueuesKey(queue), `(${now}`, '+inf')) > 0
}

/**
 * Where a queue's enqueue stands, from its meta (`inputId`, `complete`) and whether an enqueue
 * runs: `none` (nothing enqueued yet), `complete`, `running`, or `stopped` before its end. Pure.
 */
export function enqueueState(
  meta: { inputId?: string | null; complete?: string | null },
  running: boolean,
): 'none' | 'complete' | 'running' | 'stopped' {
  if (meta.complete === '1') return 'complete'
  if (running) return 'running'
  return meta.inputId ? 'stopped' : 'none'
}
