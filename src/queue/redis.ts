import { Redis } from 'ioredis'
import { tlsProblem } from '../fetch/tls-errors.js'
import { unencodedCredentials, withoutCredentials } from '../utils/url.js'
import { QueueError, shownRedis } from './errors.js'
import { DEFAULT_REDIS } from './keys.js'

/** How long the first connection may take before a command gives up, ms. */
const CONNECT_TIMEOUT = 5000

/**
 * How long Redis may stay silent while a command opens its connection, ms. The TCP connection of a
 * Redis that is stopped (SIGSTOP, a debugger), hung, or behind a path that drops packets once
 * connected is taken by the kernel, and ioredis then waited for its first answer for ever: `status`
 * and `enqueue` hung, saying nothing. Reset by every byte the server sends, so a Redis loading a
 * large data set (it answers `loading:1` until done) is waited for.
 */
export const SILENCE_TIMEOUT = 10_000

/** Waits between reconnection attempts once connected: 100 ms growing to 2 s, for ever. */
export const reconnectDelay = (attempt: number) => Math.min(100 * attempt, 2000)

/**
 * Connect to Redis and check it can hold a queue: reachable, not a Redis Cluster's node (see
 * `clusterWords`), and `maxmemory-policy noeviction`
 * (BullMQ's requirement: under any other policy Redis may evict queued jobs or their locks when
 * memory runs short, and shards would vanish or run twice). Throws `QueueError` naming the
 * problem and its fix. Once connected, the client reconnects by itself after a loss (every
 * `reconnectDelay`), and commands issued meanwhile wait for it (`maxRetriesPerRequest: null`, as
 * BullMQ's workers require).
 */
export async function openRedis(url: string): Promise<Redis> {
  const address = redisAddress(url)
  if (typeof address === 'string') throw new QueueError('redis-url', address)
  const { db } = address
  let first = true
  const options = {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT,
    maxRetriesPerRequest: null,
    // Until the first connection, a failure is an answer (the command says so and stops).
    retryStrategy: (attempt: number) => (first ? null : reconnectDelay(attempt)),
  }
  const client =
    address.kind === 'unix'
      ? // The database in the options too: ioredis selects it again after each reconnection.
        new Redis({
          ...options,
          path: address.path,
          username: address.username,
          password: address.password,
          db: db === undefined ? undefined : Number(db),
        })
      : new Redis(url, options)
  sayAuthWarnings(client, url)
  // Errors surface through commands; without a listener ioredis would print each reconnection.
  let lastError: unknown
  /** What a reply no Redis sends said of the server (see `strangerWords`): kept past the reset that follows it. */
  let stranger: string | undefined
  client.on('error', (error) => {
    lastError = error
    stranger ??= strangerWords(String(error?.message))
  })
  // An error Redis sends as it takes a connection, then closes it (too many clients; protected
  // mode): ioredis said only "Connection is closed.", read as an unreachable Redis.
  let refusedWith: string | undefined
  const greeted = () =>
    client.stream?.once('data', (data: Buffer) => {
      refusedWith ??= /^-([^\r\n]+)/.exec(data.toString('latin1'))?.[1]
    })
  client.on('connect', greeted)
  const silence = silenceWatch(client, SILENCE_TIMEOUT, () => mute(url))
  try {
    await Promise.race([
      (async () => {
        await client.connect()
        first = false
        // ioredis selects the URL's database after `connect` resolves, and a refusal (an index out
        // of range) only reaches the error listener: selected again here, it is this command's answer.
        if (db !== undefined) await client.select(Number(db))
        await checkRedis(client, url)
      })(),
      silence.broken,
    ])
    return client
  } catch (error) {
    client.disconnect()
    if (error instanceof QueueError) throw error
    // Reached and talked to, but refused: an ACL that forbids INFO (read by BullMQ too) was said
    // as an unreachable server ("is redis-server running there?").
    const refusal = refusedBy(error, url)
    if (refusal) throw refusal
    const cause = (lastError ?? error) as NodeJS.ErrnoException
    const why = cause.code ?? cause.message
    if (/DB index is out of range/i.test(String((error as Error).message ?? ''))) {
      throw new QueueError(
        'redis-url',
        `Redis at ${shownRedis(url)} has no database ${db} (${(error as Error).message}): give one it has (0 to 15 by default)`,
        { cause: error },
      )
    }
    // Reached, but refused: a password is wanted, or the one given is wrong.
    if (/NOAUTH|WRONGPASS|invalid password|invalid username-password/i.test(String(why))) {
      // NOAUTH: none were sent (the URL has no password); it is not that those given were wrong.
      const words = /NOAUTH/i.test(String(why))
        ? 'wants a password, and the URL gives none'
        : 'refused the credentials'
      throw new QueueError(
        'redis-auth',
        `Redis at ${shownRedis(url)} ${words} (${why}): give them as ${address.kind === 'unix' ? `unix://:PASSWORD@${address.path} (or unix://USER:PASSWORD@${address.path})` : 'redis://:PASSWORD@host:6379 (or redis://USER:PASSWORD@host:6379)'}`,
        { cause: error },
      )
    }
    // Reached, but what answers is not Redis (the port of a web server, of SSH): ioredis's parser
    // said "Protocol error, got "H" as reply type byte. Please report this.", read as a bug.
    stranger ??= strangerWords(String((error as Error)?.message))
    if (stranger)
      throw new QueueError(
        'redis-unreachable',
        `the server at ${shownRedis(url)} is not Redis: ${stranger}; is that the Redis port (6379 by default)?`,
        { cause: error },
      )
    // A certificate not trusted, or TLS on one side only: reached, but not talked to.
    const tls = tlsProblem(lastError ?? error)
    if (tls)
      throw new QueueError(
        'redis-tls',
        `cannot talk to Redis at ${shownRedis(url)} over TLS: ${tls.words.replace('http://', 'redis://')}${tls.certificate && !tls.advice ? '; to trust a private CA, set NODE_EXTRA_CA_CERTS=ca.pem' : ''}`,
        { cause: error },
      )
    if (refusedWith && /Connection is closed/i.test(String(why)))
      throw new QueueError('redis-refused', `Redis at ${shownRedis(url)} ${greetingWords(refusedWith)}`, {
        cause: error,
      })
    throw new QueueError(
      'redis-unreachable',
      `cannot reach Redis at ${shownRedis(url)} (${why}): ${unreachableHint(address, String(why))}`,
      { cause: error },
    )
  } finally {
    client.off('connect', greeted)
    silence.stop()
  }
}

/**
 * What to say after "Redis at URL" of the error Redis sent as it took a connection and closed it,
 * its words cut at their first sentence: `ERR max number of clients reached` (its `maxclients`;
 * redis/ioredis#809), `DENIED Redis is running in protected mode ...` (no password set, and a
 * client not on its own machine; bitnami/bitnami-docker-redis#136). Pure.
 */
export function greetingWords(reply: string): string {
  const words = reply.replace(/^(.*?\.) .*$/, '$1')
  const fix = /^ERR max number of clients reached/i.test(reply)
    ? 'it has as many clients as its maxclients allows (each worker holds a few): raise maxclients (redis-cli CONFIG SET maxclients ..., and in redis.conf) or end idle clients'
    : /^DENIED\b/.test(reply)
      ? 'it is in protected mode, taking clients of its own machine alone: set it a password (requirepass) and give it in --redis (redis://:PASSWORD@host:6379), or set protected-mode no on a network only the workers reach'
      : 'see its log'
  return `refused the connection (${words}): ${fix}`
}

/**
 * What to say of a refusal of AUTH that ioredis lets the connection go on after (printing its own
 * `[WARN]` or `[ERROR]` line), or `undefined` for any other answer: no password set (Redis 6 and
 * later: for its `default` user; before 6), or a user name given to a Redis older than 6 (AUTH
 * takes a password alone there; ioredis then goes on without logging in). Pure.
 */
export function authWarning(message: string, url: string): string | undefined {
  if (/without any password configured for the default user|no password is set/.test(message))
    return `Redis at ${shownRedis(url)}: no password is needed; the one given is ignored`
  if (/wrong number of arguments for 'auth' command/.test(message))
    return `Redis at ${shownRedis(url)} takes no user name (a Redis older than 6): the user and password given are ignored; give the password alone (redis://:PASSWORD@host:6379)`
  return undefined
}

/**
 * Say once, as imgpull's own warning (`IMGPULL_REDIS_PASSWORD`), what `authWarning` says of
 * Redis's answer to AUTH. ioredis sends AUTH as each connection opens (its `connectHandler`) and,
 * for those answers, prints its own line (`[WARN] This Redis server's default user does not
 * require a password...`) with console.warn on every connection and reconnection, BullMQ's and the
 * worker's duplicates too. The client's own `auth` (and that of its duplicates) sees the answer
 * first and answers ioredis as AUTH's success would: the connection goes on as it did, the
 * password still sent (a Redis that later gets one takes it).
 */
function sayAuthWarnings(client: Redis, url: string): void {
  let said = false
  type Callback = (error: Error | null, result?: unknown) => void
  const quiet = (c: Redis): Redis => {
    const auth = c.auth.bind(c) as (...args: unknown[]) => Promise<unknown>
    Object.assign(c, {
      auth: (...args: unknown[]) => {
        const callback = args.at(-1)
        if (typeof callback !== 'function') return auth(...args)
        return auth(...args.slice(0, -1), (error: Error | null, result?: unknown) => {
          const words = error ? authWarning(error.message, url) : undefined
          if (!words) return (callback as Callback)(error, result)
          if (!said) process.emitWarning(words, { code: 'IMGPULL_REDIS_PASSWORD' })
          said = true
          ;(callback as Callback)(null, 'OK')
        })
      },
      duplicate: (...args: Parameters<Redis['duplicate']>) => quiet(Redis.prototype.duplicate.apply(c, args)),
    })
    return c
  }
  quiet(client)
}

/** What `openRedis` and `heardWithin` say of a Redis silent for `SILENCE_TIMEOUT`. */
const mute = (url: string) =>
  new QueueError(
    'redis-unreachable',
    `Redis at ${shownRedis(url)} took the connection but answered nothing in ${SILENCE_TIMEOUT / 1000} s: is it stopped or hung (redis-cli ping), or is another kind of server on that port?`,
  )

/**
 * Rejects with `silent()`'s error once the server has sent nothing for `ms`, counted from the
 * start and from each byte it sends on any of the client's connections (a reconnection's too: a
 * Redis down, its address refusing, sends nothing either); `stop` ends the watch.
 */
export function silenceWatch(
  client: Redis,
  ms: number,
  silent: () => Error,
): { broken: Promise<never>; stop: () => void } {
  let timer: NodeJS.Timeout | undefined
  let fail: (error: Error) => void = () => {}
  const broken = new Promise<never>((_, reject) => {
    fail = reject
  })
  broken.catch(() => {})
  const arm = () => {
    clearTimeout(timer)
    timer = setTimeout(() => fail(silent()), ms)
  }
  const deaf = onHeard(client, arm)
  arm()
  return {
    broken,
    stop: () => {
      clearTimeout(timer)
      deaf()
    },
  }
}

/**
 * Call `heard` on every chunk the server sends on the client's connection, and on each one it
 * opens again after a loss; returns the function that stops it.
 */
export function onHeard(client: Redis, heard: () => void): () => void {
  // `connect`: the socket is open (TLS included), and ioredis's `stream` is it; a client already
  // connected is heard on the stream it has.
  const opened = () => client.stream?.on('data', heard)
  client.on('connect', opened)
  if (client.status === 'ready' || client.status === 'connect') opened()
  return () => {
    client.off('connect', opened)
    client.stream?.off('data', heard)
  }
}

/**
 * Run `work` on a client `openRedis` gave, failing with `QueueError` 'redis-unreachable' (the words
 * `openRedis` says of a silent Redis) once the server has sent nothing for `SILENCE_TIMEOUT` while
 * it runs. The client is then disconnected: its commands fail at once rather than wait (they wait
 * for ever, `maxRetriesPerRequest: null`), and a `quit` or a BullMQ `close` after it cannot hang.
 * For commands that run one round of reads and end (`status`): a Redis stopped (SIGSTOP), paused
 * (`CLIENT PAUSE`) or hung after the connection was checked held them for ever.
 */
export async function heardWithin<T>(client: Redis, url: string, work: () => Promise<T>): Promise<T> {
  const silence = silenceWatch(client, SILENCE_TIMEOUT, () => mute(url))
  silence.broken.catch(() => client.disconnect())
  try {
    return await Promise.race([work(), silence.broken])
  } finally {
    silence.stop()
  }
}

/**
 * What a reply that no Redis sends says of the server, from ioredis's parser error ("Protocol
 * error, got "H" as reply type byte"): an HTTP or SSH server by its first byte; `undefined` for
 * any other error. Pure.
 */
export function strangerWords(message: string): string | undefined {
  const first = /Protocol error, got "(.*?)" as reply type byte/.exec(message)?.[1]
  if (first === undefined) return undefined
  const kind = first === 'H' ? ' (an HTTP server?)' : first === 'S' ? ' (an SSH server?)' : ''
  return `its answer begins with ${JSON.stringify(first)}, which no Redis reply does${kind}`
}

/** Schemes of a Unix socket address, as other Redis clients write them (redis-py, node-redis, Predis, Lettuce). */
const UNIX_SCHEMES = /^(?:unix|redis\+unix|redis-socket):/i

/** Where `--redis` points: a TCP URL for ioredis as it is, or a Unix socket (ioredis' `path`). */
export type RedisAddress =
  | { kind: 'tcp'; url: string; protocol: string; db?: string }
  | { kind: 'unix'; path: string; db?: string; username?: string; password?: string }

/**
 * Read a `--redis` address: `redis://[[user]:password@]host[:port][/db]`, `rediss://` for TLS, or
 * a Unix socket as the other clients take it: a path (`/run/redis/redis.sock`, as ioredis and
 * `redis-cli -s`), `unix:///path` or `unix:/path` (redis-py, node-redis, Predis), `redis+unix://`
 * and `redis-socket://` (Perl's, Lettuce's), each with `[user[:password]@]` before the path and
 * `?db=N&password=...` after it. Returns the address, or the problem in words. Pure.
 */
export function redisAddress(text: string): RedisAddress | string {
  try {
    return readAddress(text)
  } catch (error) {
    // A `%` that starts no UTF-8 escape (`%zz`, a bare `%`, Latin-1's `%E9`): said as a raw
    // 'URI malformed', naming nothing, by imgpull and by ioredis at connect alike.
    if (!(error instanceof URIError)) throw error
    return `'${shownRedis(text)}' is not percent-encoded as UTF-8 (in its user, password or path, write % as %25)`
  }
}

function readAddress(text: string): RedisAddress | string {
  const usage = 'give one like redis://host:6379, or a Unix socket as /run/redis/redis.sock'
  /** The database a URL names, as `{ db }`, or the problem. */
  const database = (value: string | null, shown: string): { db?: string } | string =>
    value === null || value === ''
      ? {}
      : /^\d+$/.test(value)
        ? { db: value }
        : `'${shown}' names database '${value}': a Redis database is a number (redis://host:6379/0)`
  const decoded = (value: string | null | undefined) =>
    value === undefined || value === null || value === '' ? undefined : decodeURIComponent(value)
  const unix =
    /^(\.{0,2}\/[^?]*)(?:\?(.*))?$/.exec(text) ??
    (UNIX_SCHEMES.test(text)
      ? /^[^:]+:(?:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?)?(\/[^?]*)(?:\?(.*))?$/.exec(text)
      : undefined)
  if (UNIX_SCHEMES.test(text) && (!unix || /^\/*$/.test(unix.at(-2) ?? '')))
    return `'${shownRedis(text)}' names no socket: ${usage}`
  if (unix) {
    const [path, query, username, password] =
      unix.length === 3 ? [unix[1], unix[2]] : [unix[3], unix[4], unix[1], unix[2]]
    const params = new URLSearchParams(query ?? '')
    const db = database(params.get('db'), shownRedis(text))
    if (typeof db === 'string') return db
    const user = decoded(username ?? params.get('username'))
    const secret = decoded(password ?? params.get('password'))
    return {
      kind: 'unix',
      path: decodeURIComponent(path),
      ...db,
      ...(user ? { username: user } : {}),
      ...(secret ? { password: secret } : {}),
    }
  }
  // A `/`, `?` or `#` left unencoded in the password ends the host there, as a proxy's does:
  // `redis://u:12#x@host` went to host `u` port 12, and `redis://u:1234/x@host` named database
  // `x@host`, each message showing the password whole.
  const unencoded = unencodedCredentials(text)
  if (unencoded) return `'${withoutCredentials(text)}': its user and password need ${unencoded}`
  let parsed: URL
  try {
    parsed = new URL(text)
  } catch {
    return `'${shownRedis(text)}' is not a Redis URL: ${usage}`
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    return `'${shownRedis(text)}' is not a Redis URL: ${usage}`
  // `redis://` tried to reach a host named "" (ioredis' localhost), said as "cannot reach Redis at
  // redis:/"; `redis:host` read the host as a database's name.
  if (parsed.hostname === '') return `'${shownRedis(text)}' names no host: ${usage}`
  // The path names the database (a number; ioredis would send SELECT NaN, and its refusal came
  // later, as a stack trace); so may `?db=`, which ioredis takes as it is: `?db=x` was a stack trace.
  const path = decodeURIComponent(parsed.pathname.replace(/^\//, ''))
  const db = database(path === '' ? parsed.searchParams.get('db') : path, shownRedis(text))
  if (typeof db === 'string') return db
  // ioredis decodes them as the connection opens: a bad escape there would throw, naming nothing.
  decodeURIComponent(parsed.username)
  decodeURIComponent(parsed.password)
  return { kind: 'tcp', url: text, protocol: parsed.protocol, ...db }
}

/** What to say after "cannot reach Redis at ...", for an address that could not be reached. Pure. */
export function unreachableHint(address: RedisAddress, why: string): string {
  if (address.kind === 'unix') {
    if (why === 'EACCES')
      return `this user may not open the socket ${address.path} (its owner and mode: unixsocketperm in redis.conf; a user in its group may)`
    if (why === 'ENOENT' || why === 'ECONNREFUSED')
      return `is redis-server running with unixsocket ${address.path} (redis.conf), and the path right?`
    return 'is redis-server running there, and the path right?'
  }
  // A queue command given no address tried the default: the slip is more often the missing --redis.
  const which =
    address.url === DEFAULT_REDIS
      ? ` (the address a queue command uses without --redis URL or $IMGPULL_REDIS)`
      : ', and the address right?'
  return `is redis-server running there${which}${tlsHint(address.protocol, why)}`
}

/**
 * What to add when a connection failed in a way TLS on one side only looks like. A server that
 * takes only TLS resets a plain connection; a plain one reads a TLS hello as a command it waits to
 * see the end of, and the connection times out. Both read as "unreachable". Pure.
 */
export function tlsHint(protocol: string, why: string): string {
  if (protocol === 'rediss:' && /ETIMEDOUT|ECONNRESET|socket disconnected/i.test(why))
    return ' A rediss:// URL is TLS: if that server does not take TLS, use redis://'
  if (protocol === 'redis:' && /ECONNRESET/.test(why)) return ' If that server takes only TLS, use rediss://'
  return ''
}

/**
 * Whether a Redis error is a refusal that lasts until someone acts on the server: out of memory
 * (`maxmemory` under `noeviction`), a read-only replica, a replica cut off from its primary
 * that serves no stale data (`MASTERDOWN`, said bare; StackExchange/StackExchange.Redis#2994), writes stopped after a failed save, an
 * ACL that forbids a command or a key. Pure.
 */
export function isRefusal(message: string): boolean {
  return /^(OOM|READONLY|MASTERDOWN|MISCONF|NOPERM|NOAUTH|WRONGPASS)\b/.test(message)
}

/** A refusal's own words, without the Lua script BullMQ's commands run in (its hash and line). Pure. */
export function refusalWords(message: string): string {
  return message.replace(/\. script: .*$/s, '')
}

/**
 * What to do about a refusal (see `isRefusal`), in words; `user`: the ACL user the address names.
 * Pure.
 */
export function refusalHint(message: string, user = 'default'): string {
  // Refused after the connection was checked: a password set or changed on a running Redis, taken
  // by each reconnection. Said as an ACL's refusal ("its user (default) may not run imgpull's
  // commands"), it named neither the password nor the fix.
  if (/^NOAUTH\b/.test(message))
    return 'it wants a password now (set since this command started?), and the address gives none: give it in --redis (redis://:PASSWORD@host:6379)'
  if (/^WRONGPASS\b/.test(message))
    return `it refuses user ${user}'s password (changed since this command started?): give the one it takes in --redis (redis://${user === 'default' ? '' : user}:PASSWORD@host:6379)`
  if (/^OOM\b/.test(message))
    return 'it is full (maxmemory): raise maxmemory (redis-cli CONFIG SET maxmemory ...) or free memory'
  if (/^READONLY\b/.test(message))
    return 'it is a read-only replica (after a failover?): point --redis at the primary'
  if (/^MASTERDOWN\b/.test(message))
    return 'it is a replica cut off from its primary (replica-serve-stale-data no): point --redis at the primary'
  if (/^MISCONF\b/.test(message)) return 'it cannot save its data and stopped taking writes: see its log'
  if (/^NOPERM\b.*\bkeys?\b/.test(message))
    return `its ACL does not let user ${user} reach imgpull's keys: allow them (ACL SETUSER ${user} ~imgpull:* +@all)`
  const command = /^NOPERM\b.*'([^']+)' command/.exec(message)?.[1]
  if (command)
    return `its ACL does not let user ${user} run ${command.toUpperCase()}, one of the commands imgpull and BullMQ send: allow them (ACL SETUSER ${user} ~imgpull:* +@all)`
  return `its user (${user}) may not run imgpull's commands: see its ACL`
}

/** The ACL user an address logs in as (`default` when it names none). Pure. */
export function redisUser(url: string): string {
  const address = redisAddress(url)
  if (typeof address === 'string') return 'default'
  if (address.kind === 'unix') return address.username ?? 'default'
  try {
    return decodeURIComponent(new URL(address.url).username) || 'default'
  } catch {
    return 'default'
  }
}

/**
 * A command's refusal by Redis (see `isRefusal`) as a `QueueError` naming the address, the
 * refusal and its fix; `undefined` for any other error. enqueue and status stopped with Redis's
 * bare words (`OOM command not allowed ... script: 5ab4...`), naming neither the server nor the
 * fix, and exit 1 as if images had failed.
 */
export function refusedBy(error: unknown, url: string): QueueError | undefined {
  const message = error instanceof Error ? error.message : ''
  if (!isRefusal(message) || /^(NOAUTH|WRONGPASS)\b/.test(message)) return undefined
  return new QueueError(
    'redis-refused',
    `Redis at ${shownRedis(url)} refuses imgpull's commands (${refusalWords(message)}): ${refusalHint(message, redisUser(url))}`,
    { cause: error },
  )
}

/** `INFO memory`'s `maxmemory_policy`, or `undefined` when the server does not say. */
export function evictionPolicy(info: string): string | undefined {
  return /^maxmemory_policy:(\S+)/m.exec(info)?.[1]
}

/** The policy `INFO memory` names when it is one that evicts keys (not `noeviction`), else `undefined`. Pure. */
export function evictingPolicy(info: string): string | undefined {
  const policy = evictionPolicy(info)
  return policy !== undefined && policy !== 'noeviction' ? policy : undefined
}

/** Why an evicting Redis cannot hold a queue, and the fix, in words. Pure. */
export function evictionWords(url: string, policy: string): string {
  return `Redis at ${shownRedis(url)} evicts keys when memory runs short (maxmemory-policy ${policy}): queued shards could vanish; set maxmemory-policy noeviction (redis-cli CONFIG SET maxmemory-policy noeviction, and in redis.conf)`
}

/**
 * What to say of a node of a Redis Cluster (`INFO cluster` says `cluster_enabled:1`), or
 * `undefined` for a Redis that is not one. imgpull talks to one Redis, and BullMQ's scripts name
 * keys of many hash slots: a cluster refuses them (`CROSSSLOT`, even with one node serving every
 * slot; `MOVED` or `CLUSTERDOWN` otherwise), said bare as `imgpull: CROSSSLOT Keys in request
 * don't hash to the same slot`, exit 1, naming neither the server nor the fix (taskforcesh/bullmq#1631).
 * Pure.
 */
export function clusterWords(info: string, url: string): string | undefined {
  if (!/^cluster_enabled:1\b/m.test(info)) return undefined
  return `Redis at ${shownRedis(url)} is a node of a Redis Cluster (cluster_enabled:1), whose nodes refuse BullMQ's commands (CROSSSLOT, MOVED): give a Redis not in a cluster (a primary, with replicas if you like)`
}

async function checkRedis(client: Redis, url: string): Promise<void> {
  const policy = evictingPolicy(await client.info('memory'))
  if (policy) throw new QueueError('redis-eviction', evictionWords(url, policy))
  const cluster = clusterWords(await client.info('cluster'), url)
  if (cluster) throw new QueueError('redis-url', cluster)
}
