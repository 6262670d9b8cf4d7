import type { Job } from 'bullmq'
import type { Redis } from 'ioredis'

/**
 * Make sure a shard whose attempt has ended (published, or found published) still holds its lock
 * as BullMQ tells the queue it is done; returns whether it does.
 *
 * Redis silent, hung or refusing while a shard ends (a `CLIENT PAUSE`, a `DEBUG SLEEP`, a SIGSTOP,
 * `maxmemory` reached, a failover) holds the worker at telling its counts while the lock's time
 * runs out, though no other worker has the shard: once Redis answers again the lock is gone,
 * BullMQ's completion is refused (`Missing lock for job ...`, which it only emits), and the shard
 * published went back to the queue as a dead worker's (taskforcesh/bullmq#2191). Taken again, it
 * was found published with a shared output folder (counted done twice, once by each worker) and
 * fetched whole again with one each. A lock that lapsed while its job is still active (no stalled
 * check moved it back to wait, no other worker holds it) is taken again, in one Redis step, by the
 * same token, so the completion that follows is the queue's. `false`: the job went back to wait
 * (or to another worker) meanwhile, and will be taken again.
 */
export async function holdLock(
  redis: Redis,
  job: Job,
  token: string | undefined,
  ms: number,
): Promise<boolean> {
  if (!token || job.id === undefined) return true
  const base = job.queueQualifiedName
  const held = await redis.eval(
    RELOCK,
    3,
    `${base}:${job.id}:lock`,
    `${base}:active`,
    `${base}:stalled`,
    token,
    String(ms),
    job.id,
  )
  return held === 1
}

// KEYS: the job's lock, the active list, the stalled set; ARGV: token, lock ms, job id. A lock of
// another token is another worker's; no lock and not active: moved back to wait by a stalled check.
// LRANGE, not LPOS (Redis 6.0.6): the active list holds the running shards, a few.
const RELOCK = `
local lock = redis.call('GET', KEYS[1])
if lock == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if lock then return 0 end
for _, id in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  if id == ARGV[3] then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    redis.call('SREM', KEYS[3], ARGV[3])
    return 1
  end
end
return 0
`

/** What a worker says of a shard it ended whose lock Redis let lapse and gave out again meanwhile. */
export function lapsedWords(stem: string, lockMs: number): string {
  return `shard ${stem}: done, but Redis did not take the news within its lock (${Math.round(lockMs / 100) / 10} s, --lock-duration: it was silent or refusing) and gave the shard out again: the worker that takes it finds it published in a shared output folder, and fetches it again into one of its own`
}
