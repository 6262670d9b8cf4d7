import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import type { GivenUp } from '../fetch/given-up.js'
import type { HostGate } from '../fetch/host-gate.js'
import { CAREFUL, MOST_CAREFUL } from '../fetch/host-limit.js'
import { SILENT_SHARED_MS } from '../fetch/host-silence.js'
import { ACCEPTED_MS } from '../fetch/scheduler.js'
import {
  hostCutKey,
  hostGivenUpKey,
  hostGrowthKey,
  hostLeasesKey,
  hostLimitKey,
  hostPauseKey,
  hostPausesChannel,
} from './keys.js'

/**
 * The scripts behind `RedisHostGate`, each one atomic in Redis. Times are Redis's own clock
 * (`TIME`), so machines whose clocks disagree still agree on when a lease or a pause ends.
 *
 * A host's slots are a sorted set of leases, each scored by when it expires: a worker that dies
 * (kill -9, a lost machine) stops renewing its leases, and they lapse on their own. The set and
 * the pause key expire when a host goes quiet, so a 100-million-URL run over a million hosts leaves
 * nothing behind.
 */
export const SCRIPTS = {
  /**
   * KEYS: leases, pause, learned limit, given up. ARGV: member, limit, lease ms, spacing ms (0:
   * none; a slot taken pauses the host that long, see `Options.wait`), the asker's gate id when the
   * host has served it a file (a host another gate gave up does not hold it then). The smaller of `limit` and
   * the learned one holds. → {1, 0, member} taken, the lease's member being the one given with
   * `@` and when it was taken (Redis's ms: see `crowded`); {0, ms} paused for ms more; {0, -1, own}
   * full, `own` 1 when the asker's own limit was the one that held (not a smaller learned one);
   * {0, -2, ms, why} given up by a worker for ms more, why as JSON.
   */
  acquire: `
local gone = redis.call('GET', KEYS[4])
if gone then
  local reached = ARGV[5] or ''
  local read, told = pcall(cjson.decode, gone)
  local by = read and type(told) == 'table' and told.by or ''
  if reached == '' or by == reached then return {0, -2, redis.call('PTTL', KEYS[4]), gone} end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return {0, paused - now} end
local limit = tonumber(ARGV[2])
local learned = tonumber(redis.call('GET', KEYS[3]) or '0')
local own = 1
if learned > 0 and learned < limit then
  limit = learned
  own = 0
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= limit then return {0, -1, own} end
local member = ARGV[1] .. '@' .. now
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), member)
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[3]))
local gap = tonumber(ARGV[4] or '0')
if gap > 0 then redis.call('SET', KEYS[2], now + gap, 'PX', gap) end
return {1, 0, member}`,
  /**
   * KEYS: leases, learned limit, last cut, growth. ARGV: the complaint's request's age ms, learned
   * ms, 1 for a 429 (a rate limit: its level is the host's `ceiling`). The host complained: halve
   * what it had in flight over all workers (at most the learned limit), as one run halves its
   * limit (`limitOnPressure`), once per round trip over all of them (a request sent before the last
   * cut is old news); 429s again at or under the ceiling make growth near it twice as careful.
   * → the limit learned, or -1 for old news.
   */
  cut: `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = tonumber(redis.call('GET', KEYS[3]) or '0')
if now - tonumber(ARGV[1]) < last then return -1 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local level = redis.call('ZCARD', KEYS[1])
local learned = tonumber(redis.call('GET', KEYS[2]) or '0')
if learned > 0 and learned < level then level = learned end
level = math.max(1, level)
local ms = tonumber(ARGV[2])
local cut = math.max(1, math.floor(level / 2))
redis.call('SET', KEYS[2], cut, 'PX', ms)
redis.call('SET', KEYS[3], now, 'PX', ms)
local ceiling = tonumber(redis.call('HGET', KEYS[4], 'ceiling') or '0')
local careful = tonumber(redis.call('HGET', KEYS[4], 'careful') or '${CAREFUL}')
if ARGV[3] == '1' then
  if ceiling > 0 and level <= ceiling then careful = math.min(${MOST_CAREFUL}, careful * 2) end
  ceiling = level
end
redis.call('HSET', KEYS[4], 'credit', 0, 'ceiling', ceiling, 'careful', careful)
redis.call('PEXPIRE', KEYS[4], ms)
return cut`,
  /**
   * KEYS: leases, learned limit, growth. ARGV: the most, learned ms. A clean answer while every
   * slot of the learned limit was taken over all workers (news of it: it holds a minute more):
   * one more slot once as many clean answers as the limit came (a window: one run's additive
   * increase, `limitOnSuccess`), `careful` times as many from one under the ceiling to it. → the
   * learned limit (0: none).
   */
  grow: `
local learned = tonumber(redis.call('GET', KEYS[2]) or '0')
if learned == 0 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < learned then return learned end
local ms = tonumber(ARGV[2])
redis.call('PEXPIRE', KEYS[2], ms)
local credit = redis.call('HINCRBY', KEYS[3], 'credit', 1)
redis.call('PEXPIRE', KEYS[3], ms)
local ceiling = tonumber(redis.call('HGET', KEYS[3], 'ceiling') or '0')
local careful = tonumber(redis.call('HGET', KEYS[3], 'careful') or '${CAREFUL}')
local needed = learned
if ceiling > 0 and learned >= ceiling - 1 and learned <= ceiling then needed = learned * careful end
if credit < needed then return learned end
redis.call('HSET', KEYS[3], 'credit', 0)
learned = math.min(tonumber(ARGV[1]), learned + 1)
redis.call('SET', KEYS[2], learned, 'PX', ms)
return learned`,
  /**
   * KEYS: leases, learned limit. ARGV: the asking gate's id, the turned-away request's age ms, the
   * asker's other transfers in flight there, learned ms. A connection of the asker's was turned
   * away at the door: when another process holds a slot there taken before that request was sent,
   * held `ACCEPTED_MS` at least (a host down turns each connection away within a moment, so a slot
   * of its is let go sooner), its transfer was taken and is awaited: the host turns connections
   * away at its limit of them, which every process is then held to: those slots and the asker's
   * others (1 at least; a learned limit already lower stands).
   * → that limit; 0 when no other process holds such a slot; -ms when one holds a slot taken
   * before but not held that long yet: ask again in ms.
   */
  crowded: `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local sent = now - tonumber(ARGV[2])
local before = 0
local wait = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(member, 1, #ARGV[1] + 1) ~= ARGV[1] .. '-' then
    local taken = tonumber(string.match(member, '@(%d+)$') or '')
    if taken and taken <= sent then
      local left = taken + ${ACCEPTED_MS} - now
      if left <= 0 then before = before + 1
      elseif wait == 0 or left < wait then wait = left end
    end
  end
end
if before == 0 then return -wait end
local limit = math.max(1, before + tonumber(ARGV[3]))
local learned = tonumber(redis.call('GET', KEYS[2]) or '0')
if learned > 0 and learned <= limit then return learned end
redis.call('SET', KEYS[2], limit, 'PX', tonumber(ARGV[4]))
return limit`,
  /** KEYS: pause. ARGV: ms. Pause the host until now + ms, unless it is paused longer already. */
  pause: `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if now + ms > current then redis.call('SET', KEYS[1], now + ms, 'PX', ms) end
return 0`,
  /**
   * KEYS: leases sets. ARGV: lease ms, then one member per key. Extends the leases held, and puts
   * back those Redis lost (restarted without its data, or its keys deleted) while their transfers
   * still run: each is a request in flight to the host all the same (go-redsync/redsync#147: a lock
   * whose extension found its key gone was lost for good); → how many.
   */
  renew: `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + ms, ARGV[i + 1])
  redis.call('PEXPIRE', key, 2 * ms)
end
return #KEYS`,
} as const

/** Keys each script takes (`renew`: as many as it is given). */
const KEY_COUNTS: Record<keyof typeof SCRIPTS, number | undefined> = {
  acquire: 4,
  crowded: 2,
  cut: 4,
  grow: 3,
  pause: 1,
  renew: undefined,
}

/**
 * How long a host that served a gate's run a file keeps a host given up by another gate from holding
 * that gate's later runs, ms (see `acquire`): as long as a host silent is given up for.
 */
const REACHED_MS = SILENT_SHARED_MS

/** Hosts a gate remembers as having served it (see `REACHED_MS`), the latest kept. */
const REACHED_HOSTS = 10_000

/** The longest a host is given up for every worker, ms (see `giveUp`). */
const GIVEN_UP_MAX_MS = 24 * 3600_000

/**
 * What a worker told of a host it gave up (`GivenUp` as JSON), as this worker's files of it fail:
 * for how much longer all workers hold it so (`ms`). Pure.
 */
export function sharedGivenUp(json: string, ms: number): GivenUp {
  let told: Partial<GivenUp> = {}
  try {
    told = JSON.parse(json) as Partial<GivenUp>
  } catch {}
  const minutes = Math.max(1, Math.ceil(ms / 60_000))
  const held = `so every worker gives it up for ${minutes} min more`
  return {
    code: typeof told.code === 'string' ? told.code : 'timeout',
    why: `${typeof told.why === 'string' ? told.why : 'a worker gave it up'}, ${held}`,
  }
}

type Scripted = Redis & {
  imgpullAcquire(
    leases: string,
    pause: string,
    learned: string,
    givenUp: string,
    member: string,
    limit: number,
    ms: number,
    spacing: number,
    reached: string,
  ): Promise<[number, number, (number | string)?, string?]>
  imgpullCrowded(
    leases: string,
    learned: string,
    id: string,
    age: number,
    others: number,
    ms: number,
  ): Promise<number>
  imgpullPause(pause: string, ms: number): Promise<number>
  imgpullCut(
    leases: string,
    learned: string,
    cut: string,
    growth: string,
    age: number,
    ms: number,
    rateLimited: number,
  ): Promise<number>
  imgpullGrow(leases: string, learned: string, credit: string, max: number, ms: number): Promise<number>
  imgpullRenew(keys: number, ...args: (string | number)[]): Promise<number>
}

export interface RedisHostGateOptions {
  /** How long a lease lasts unless renewed, ms: a dead worker's slots are free after this. @default 30_000 */
  leaseMs?: number
  /** Wait before asking again for a host whose slots are all taken, ms (a random part is added). @default 25 */
  pollMs?: number
  /**
   * How long a learned limit holds after a worker last told it, ms: a worker starting a shard does
   * not probe a host the others hold down, and a host that recovered is held back no longer than
   * this (workers whose runs never complained cannot raise it). @default 60_000
   */
  learnedMs?: number
  /** The queue whose workers share the hosts given up (see `hostGivenUpKey`). @default '' */
  queue?: string
}

/**
 * A `HostGate` in Redis, shared by every worker that uses the same Redis: at most `limit`
 * transfers to a host in flight over all of them (`limit` being the asking worker's own limit for
 * the host, which adapts as on one machine, or the limit a worker last learned for it under
 * pressure, whichever is smaller), and a pause one worker is asked for (429/503) holds for all. Leases are renewed every third of `leaseMs` while held; a worker
 * that dies stops renewing and its slots come free when they lapse. While Redis cannot be reached,
 * `acquire` rejects (the scheduler waits and asks again), and nothing starts. A Redis that comes
 * back without its data (no persistence, a failover to a replica behind) is told again, as soon as
 * the connection is ready, of the leases held, and of the pauses, limits learned and hosts given up
 * this gate told that have not ended: without it the other workers took the host's whole limit
 * beside transfers still running, sent at once to a host that had asked them all to wait, and a
 * shard starting probed a host the others held down, or found a black hole again.
 */
export class RedisHostGate implements HostGate {
  readonly #redis: Scripted
  readonly #leaseMs: number
  readonly #pollMs: number
  readonly #learnedMs: number
  readonly #queue: string
  /** Leases held: member → key. */
  readonly #held = new Map<string, string>()
  readonly #id = randomBytes(6).toString('hex')
  #seq = 0
  readonly #renewer: NodeJS.Timeout
  /** Pauses asked for: host → when it ends (this machine's ms), retold to a Redis back empty. */
  readonly #pauses = new Map<string, number>()
  /**
   * The learned limits and hosts given up this gate told or was told (key → its value and when it
   * ends, this machine's ms), retold to a Redis back empty unless a worker told it another since.
   */
  readonly #told = new Map<string, { value: string; end: number }>()
  /**
   * Hosts that served this gate's runs a file (see `acquire`'s `reached`): host → until when (this
   * machine's ms) a host another gate gave up does not hold this one, a later shard's run included.
   */
  readonly #reached = new Map<string, number>()
  /** Who hears of pauses (`onPaused`), and the connection they come on (opened at the first). */
  readonly #listeners = new Set<(host: string, ms: number) => void>()
  #subscriber: Redis | undefined
  readonly #onReady = () => {
    this.renew().catch(() => {})
    this.#retell()
  }

  constructor(redis: Redis, options: RedisHostGateOptions = {}) {
    this.#leaseMs = options.leaseMs ?? 30_000
    this.#pollMs = options.pollMs ?? 25
    this.#learnedMs = options.learnedMs ?? 60_000
    this.#queue = options.queue ?? ''
    for (const [name, lua] of Object.entries(SCRIPTS)) {
      const command = `imgpull${name[0].toUpperCase()}${name.slice(1)}`
      if (!(command in redis))
        redis.defineCommand(command, {
          lua,
          numberOfKeys: KEY_COUNTS[name as keyof typeof SCRIPTS],
        })
    }
    this.#redis = redis as Scripted
    this.#renewer = setInterval(() => this.renew().catch(() => {}), Math.max(10, this.#leaseMs / 3))
    this.#renewer.unref()
    redis.on('ready', this.#onReady)
  }

  async acquire(
    host: string,
    limit: number,
    spacing = 0,
    reached = false,
  ): Promise<{ release: () => void } | { retryIn: number; ownLimit?: boolean } | { givenUp: GivenUp }> {
    const key = hostLeasesKey(host)
    const served = this.#served(host, reached)
    const [taken, wait, own, gone] = await this.#redis.imgpullAcquire(
      key,
      hostPauseKey(host),
      hostLimitKey(host),
      hostGivenUpKey(this.#queue, host),
      `${this.#id}-${++this.#seq}`,
      limit,
      this.#leaseMs,
      Math.ceil(spacing),
      served ? this.#id : '',
    )
    if (wait === -2 && gone !== undefined) return { givenUp: sharedGivenUp(gone, Number(own ?? 0)) }
    if (taken !== 1) {
      if (wait > 0) return { retryIn: wait }
      return { retryIn: this.#pollMs + Math.floor(Math.random() * this.#pollMs), ownLimit: own === 1 }
    }
    const member = String(own)
    this.#held.set(member, key)
    return { release: () => this.#release(member) }
  }

  /**
   * Whether `host` served this gate's runs a file lately: `reached` (it served the asking run), or
   * within `REACHED_MS` of when a run last said so. The latest `REACHED_HOSTS` are kept.
   */
  #served(host: string, reached: boolean): boolean {
    const now = Date.now()
    const until = this.#reached.get(host) ?? 0
    if (!reached) return until > now
    // Told again at each slot: renewed once half of it has passed, the latest last.
    if (until - now < REACHED_MS / 2) {
      this.#reached.delete(host)
      this.#reached.set(host, now + REACHED_MS)
      if (this.#reached.size > REACHED_HOSTS) this.#reached.delete(this.#reached.keys().next().value!)
    }
    return true
  }

  pause(host: string, ms: number): void {
    const now = Date.now()
    pruneEnded(this.#pauses, now, (end) => end)
    if (now + ms > (this.#pauses.get(host) ?? 0)) this.#pauses.set(host, now + ms)
    this.#redis.imgpullPause(hostPauseKey(host), Math.ceil(ms)).catch(() => {})
    for (const listener of this.#listeners) listener(host, ms)
    // Without a channel its ACL user may reach (`&imgpull:*`), the others learn of it at their next slot.
    const told = JSON.stringify({ from: this.#id, host, ms: Math.ceil(ms) })
    this.#redis.publish(hostPausesChannel, told).catch(() => {})
  }

  onPaused(listener: (host: string, ms: number) => void): () => void {
    this.#listeners.add(listener)
    if (!this.#subscriber) {
      const subscriber = this.#redis.duplicate()
      subscriber.on('error', () => {})
      subscriber.on('message', (_channel: string, text: string) => {
        let told: { from?: unknown; host?: unknown; ms?: unknown } = {}
        try {
          told = JSON.parse(text) as typeof told
        } catch {}
        const { from, host, ms } = told
        if (from === this.#id || typeof host !== 'string' || typeof ms !== 'number' || !(ms > 0)) return
        for (const each of this.#listeners) each(host, ms)
      })
      subscriber.subscribe(hostPausesChannel).catch(() => {})
      this.#subscriber = subscriber
    }
    return () => this.#listeners.delete(listener)
  }

  /** Keep `value` of `key` to retell until `ms` from now (those ended go once many are kept). */
  #keep(key: string, value: string, ms: number): void {
    const now = Date.now()
    pruneEnded(this.#told, now, (told) => told.end)
    this.#told.set(key, { value, end: now + ms })
  }

  /**
   * Tell Redis again of what has not ended: the pauses asked for (a longer one there holds), the
   * limits learned and the hosts given up (unless told anew since: `NX`).
   */
  #retell(): void {
    const now = Date.now()
    for (const [host, end] of this.#pauses) {
      if (end <= now) this.#pauses.delete(host)
      else this.pause(host, end - now)
    }
    for (const [key, { value, end }] of this.#told) {
      if (end <= now) this.#told.delete(key)
      else this.#redis.set(key, value, 'PX', end - now, 'NX').catch(() => {})
    }
  }

  giveUp(host: string, givenUp: GivenUp, ms: number): void {
    const told: GivenUp & { by: string } = {
      code: givenUp.code,
      why: givenUp.shared ?? givenUp.why,
      by: this.#id,
    }
    // A day at most: a Retry-After of a year is a misconfigured server more likely than a plan.
    const held = Math.ceil(Math.min(ms, GIVEN_UP_MAX_MS))
    const key = hostGivenUpKey(this.#queue, host)
    this.#keep(key, JSON.stringify(told), held)
    this.#redis.set(key, JSON.stringify(told), 'PX', held).catch(() => {})
  }

  learn(host: string, limit: number): void {
    this.#keep(hostLimitKey(host), String(limit), this.#learnedMs)
    this.#redis.set(hostLimitKey(host), limit, 'PX', this.#learnedMs).catch(() => {})
  }

  async crowded(host: string, sentAt: number, others: number): Promise<number> {
    const ask = () =>
      this.#redis.imgpullCrowded(
        hostLeasesKey(host),
        hostLimitKey(host),
        this.#id,
        Math.max(0, Math.round(performance.now() - sentAt)),
        Math.max(0, others),
        this.#learnedMs,
      )
    try {
      let limit = await ask()
      // A slot taken before, not held long enough yet to tell a host down from one that took it.
      if (limit < 0) {
        await sleep(-limit)
        limit = await ask()
      }
      if (limit > 0) this.#keep(hostLimitKey(host), String(limit), this.#learnedMs)
      return Math.max(0, limit)
    } catch {
      return 0
    }
  }

  cut(host: string, age: number, rateLimited: boolean): Promise<number> {
    return this.#redis
      .imgpullCut(
        hostLeasesKey(host),
        hostLimitKey(host),
        hostCutKey(host),
        hostGrowthKey(host),
        Math.max(0, Math.round(age)),
        this.#learnedMs,
        rateLimited ? 1 : 0,
      )
      .then((cut) => {
        if (cut > 0) this.#keep(hostLimitKey(host), String(cut), this.#learnedMs)
        return cut
      })
      .catch(() => -1)
  }

  grow(host: string, max: number): Promise<number> {
    return this.#redis
      .imgpullGrow(hostLeasesKey(host), hostLimitKey(host), hostGrowthKey(host), max, this.#learnedMs)
      .then((learned) => {
        const key = hostLimitKey(host)
        // A limit grown holds a while anew; one told again as it was keeps its end.
        if (learned > 0 && this.#told.get(key)?.value !== String(learned))
          this.#keep(key, String(learned), this.#learnedMs)
        return learned
      })
      .catch(() => 0)
  }

  /**
   * Extend every lease held, putting back those Redis lost (done on a timer and when the connection
   * is ready again; exposed for tests). Resolves to how many were.
   */
  async renew(): Promise<number> {
    if (this.#held.size === 0) return 0
    const members = [...this.#held.keys()]
    const keys = members.map((m) => this.#held.get(m)!)
    const renewed = await this.#redis.imgpullRenew(keys.length, ...keys, this.#leaseMs, ...members)
    // A lease released meanwhile may have been put back after its release (ioredis sends a script
    // Redis lost again as EVAL, after commands sent since): take it out again.
    for (const [i, member] of members.entries())
      if (!this.#held.has(member)) this.#redis.zrem(keys[i], member).catch(() => {})
    return renewed
  }

  /** Leases held now. */
  get held(): number {
    return this.#held.size
  }

  /** Stop renewing and give every lease back. */
  async close(): Promise<void> {
    clearInterval(this.#renewer)
    this.#redis.off('ready', this.#onReady)
    this.#pauses.clear()
    this.#told.clear()
    this.#reached.clear()
    this.#listeners.clear()
    this.#subscriber?.disconnect()
    const held = [...this.#held]
    this.#held.clear()
    if (held.length === 0) return
    const pipeline = this.#redis.pipeline()
    for (const [member, key] of held) pipeline.zrem(key, member)
    await pipeline.exec().catch(() => {})
  }

  #release(member: string): void {
    const key = this.#held.get(member)
    if (key === undefined) return
    this.#held.delete(member)
    this.#redis.zrem(key, member).catch(() => {})
  }
}

/**
 * Drop the entries of `map` ended by `now` (`endOf` an entry's value: when it ends, ms since the
 * epoch) once it holds 1,024, so a long run's remembered pauses and values stay few.
 */
function pruneEnded<V>(map: Map<string, V>, now: number, endOf: (value: V) => number): void {
  if (map.size < 1024) return
  for (const [key, value] of map) if (endOf(value) <= now) map.delete(key)
}
