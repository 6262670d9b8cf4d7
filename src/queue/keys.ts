import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import { plural } from '../report/format.js'
import { nearWord } from '../utils/near-word.js'
import { shownRedis } from './errors.js'

/**
 * Names in Redis: the queue's (BullMQ's own keys, under `imgpull:bullmq:`) and imgpull's beside
 * them. Pure functions, table-tested.
 */

/**
 * The Redis a queue command uses without `--redis` or `$IMGPULL_REDIS`. Here, not in redis.ts: the
 * command line reads it for every command, and redis.ts loads ioredis (~40 ms of start-up a plain
 * pull never needs).
 */
export const DEFAULT_REDIS = 'redis://127.0.0.1:6379'

/** imgpull's own keys start with this: `imgpull:<queue>:...` and `imgpull:host:...`. */
export const PREFIX = 'imgpull'
/**
 * BullMQ's key prefix: every key of a queue starts `imgpull:bullmq:<queue>:`. Not BullMQ's default
 * (`bull`): another program's BullMQ queue of the same name (an app's `images`) shared its keys,
 * and a worker took that program's jobs and failed them as shards it could not read. Under
 * `imgpull:`, every key imgpull writes is in one namespace (a Redis ACL `~imgpull:*` covers it).
 */
export const BULL_PREFIX = `${PREFIX}:bullmq`

/**
 * Check a queue name: 1 to 100 characters of letters, digits, `.`, `_` and `-`. BullMQ builds its
 * keys as `<prefix>:<queue>:<id>`, so a `:` would make two queues' keys collide; spaces and the like
 * only make commands harder to type. Returns the problem, or `undefined` when the name is fine.
 */
export function queueNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'a queue name cannot be empty'
  if (name.length > 100) return 'a queue name is at most 100 characters'
  if (!/^[A-Za-z0-9._-]+$/.test(name))
    return `'${name}' is not a queue name: use letters, digits, '.', '_' and '-' (no ':')`
  return undefined
}

/** Digits of a shard's number in names: `00012`, as WebDataset shards (img2dataset's layout). */
export const SHARD_DIGITS = 5

/** A shard's name: its number zero-padded to five digits; more digits past 99,999 (in order still). */
export const shardStem = (shard: number): string => String(shard).padStart(SHARD_DIGITS, '0')

/**
 * The BullMQ job id of one shard: the input's id and the shard's number. Deterministic, so adding
 * the same input again adds nothing BullMQ already holds (waiting, active, done or failed); without
 * `:` (BullMQ refuses custom ids with one, they would read as its own key separators).
 */
export const shardJobId = (inputId: string, shard: number): string => `${inputId}-${shardStem(shard)}`

/** What the queue holds: the input, its shard size, the run's options (a hash). */
export const metaKey = (queue: string) => `${PREFIX}:${queue}:meta`

/**
 * The names of the queues whose meta (`metaKey`) the Redis of `redis` holds, sorted, read by SCAN
 * (a few round trips, not KEYS: the database may hold millions of jobs' keys).
 */
export async function queueNames(redis: Redis): Promise<string[]> {
  const names = new Set<string>()
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}:*:meta`, 'COUNT', 1000)
    cursor = next
    for (const key of keys) {
      const name = key.slice(PREFIX.length + 1, -':meta'.length)
      if (!queueNameProblem(name)) names.add(name)
    }
  } while (cursor !== '0')
  return [...names].sort()
}

/**
 * The queues of a Redis that holds none named so, in words: the one near the name given (a typo),
 * or all of them, up to 5 (`'; the queues there: a, b'`); `''` when it holds none. Pure.
 */
export function otherQueuesWords(name: string, names: readonly string[]): string {
  if (names.length === 0) return ''
  const near = nearWord(name, names)
  if (near) return `; did you mean --queue ${near}?`
  const shown = names.slice(0, 5).join(', ')
  return `; the ${plural(names.length, 'queue')} there: ${shown}${names.length > 5 ? `, … (${names.length} in all)` : ''}`
}
/** Counts of each finished shard, by shard number (a hash: a shard done twice counts once). */
export const shardsKey = (queue: string) => `${PREFIX}:${queue}:shards`
/** The workers seen: a hash of worker id to its last heartbeat (JSON). */
export const workersKey = (queue: string) => `${PREFIX}:${queue}:workers`
/**
 * Shards given back because their folder is held by another run (`FolderBusyError`): shard number
 * to a `HeldShard` (JSON), for `status` to say why they wait. Cleared when the shard is taken, and
 * on every end of its attempt but a new wait for its folder (see `unheld` in worker.ts).
 */
export const heldKey = (queue: string) => `${PREFIX}:${queue}:held`
/**
 * Transfers in flight to one host over all workers of all queues on this Redis (a sorted set of
 * leases, scored by expiry), and the host's shared pause (ms since the epoch, Redis's clock).
 */
export const hostLeasesKey = (origin: string) => `${PREFIX}:host:${origin}`
export const hostPauseKey = (origin: string) => `${PREFIX}:host:${origin}:pause`
/** The channel each host's pause is told on as it is asked for (JSON: `from`, `host`, `ms`; see `HostGate.onPaused`). */
export const hostPausesChannel = `${PREFIX}:host-pauses`
/**
 * Why a worker gave a host up, for the other workers of its queue (JSON, see `HostGate.giveUp`):
 * not for every queue on this Redis, as slots and pauses are, since it follows the run's options (a
 * host that answers in 5 s is silent to a queue enqueued with `--headers-timeout 2` only).
 */
export const hostGivenUpKey = (queue: string, origin: string) => `${PREFIX}:${queue}:given-up:${origin}`
/** The limit the workers last learned for a host under pressure (see `HostGate.learn`). */
export const hostLimitKey = (origin: string) => `${PREFIX}:host:${origin}:limit`
/** When the learned limit of a host was last cut (Redis's ms): complaints about requests sent before are old news. */
export const hostCutKey = (origin: string) => `${PREFIX}:host:${origin}:cut`
/**
 * How the learned limit of a host grows (a hash: `credit`, clean answers while it was full;
 * `ceiling`, the level in flight that drew 429s; `careful`, how much slower it grows near there).
 */
export const hostGrowthKey = (origin: string) => `${PREFIX}:host:${origin}:growth`

/** Hex digits of a SHA-256 over `parts` (joined by NUL), the first `length` of them. */
export function digest(parts: readonly string[], length = 16): string {
  const hash = createHash('sha256')
  for (const part of parts) hash.update(part).update('\u0000')
  return hash.digest('hex').slice(0, length)
}

/**
 * The enqueues running into a queue: a sorted set of enqueue ids scored by when each one's lease
 * lapses (ms, Redis's clock), renewed while it runs (see `holdEnqueue`).
 */
export const enqueuesKey = (queue: string) => `${PREFIX}:${queue}:enqueues`

/**
 * The other database of the Redis of `redis` that holds queue `name` (its meta), if any: the first
 * listed with keys in `INFO keyspace` but the client's own, looked in on a connection of its own.
 * A queue enqueued into `/3` and a worker or `status` given the Redis without it (or the other way
 * round) said the queue held nothing, a worker waiting for it for good (as Resque's and RQ's
 * workers and queues on another database found none: resque/resque#515, rq/django-rq#677). Read
 * only when the queue is not in the client's database.
 */
export async function queueDatabase(redis: Redis, name: string): Promise<number | undefined> {
  const own = redis.options.db ?? 0
  const info = await redis.info('keyspace')
  const dbs = [...info.matchAll(/^db(\d+):keys=/gm)].map((m) => Number(m[1])).filter((db) => db !== own)
  for (const db of dbs.slice(0, 16)) {
    const other = redis.duplicate({ db, lazyConnect: false, retryStrategy: () => null })
    other.on('error', () => {})
    try {
      if ((await other.exists(metaKey(name))) === 1) return db
    } finally {
      other.disconnect()
    }
  }
  return undefined
}

/**
 * `--redis` with database `db` instead of its own, in words for a message (its password as `***`
 * where the caller's `shown` hides it): a `redis://` URL's path, else `?db=N`. Pure.
 */
export function withDatabase(shown: string, db: number): string {
  if (/^rediss?:\/\//i.test(shown)) {
    const u = new URL(shown)
    u.pathname = `/${db}`
    u.searchParams.delete('db')
    return u.toString()
  }
  return `${shown.replace(/[?&]db=\d+/i, '')}${shown.includes('?') ? '&' : '?'}db=${db}`
}

/**
 * Where a queue this Redis's database lacks is, in words: another database of it (`; it is in
 * database 3 of this Redis: give --redis redis://host:6379/3`), or the queues of this one, near or
 * all (see `otherQueuesWords`).
 */
export async function elsewhereWords(redis: Redis, url: string, name: string): Promise<string> {
  const db = await queueDatabase(redis, name).catch(() => undefined)
  if (db !== undefined)
    return `; it is in database ${db} of this Redis: give --redis ${withDatabase(shownRedis(url), db)}`
  return otherQueuesWords(name, await queueNames(redis).catch(() => []))
}
