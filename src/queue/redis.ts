import { Redis } from 'ioredis'
import { tlsProblem } from '../fetch/tls-errors.js'
import { QueueError, shownRedis } from './errors.js'

/** How long the first connection may take before a command gives up, ms. */
const CONNECT_TIMEOUT = 5000

/** Waits between reconnection attempts once connected: 100 ms growing to 2 s, for ever. */
export const reconnectDelay = (attempt: number) => Math.min(100 * attempt, 2000)

/**
 * Connect to Redis and check it can hold a queue: reachable, and `maxmemory-policy noeviction`
 * (BullMQ's requirement: under any other policy Redis may evict queued jobs or their locks when
 * memory runs short, and shards would vanish or run twice). Throws `QueueError` naming the
 * problem and its fix. Once connected, the client reconnects by itself after a loss (every
 * `reconnectDelay`), and commands issued meanwhile wait for it (`maxRetriesPerRequest: null`, as
 * BullMQ's workers require).
 */
export async function openRedis(url: string): Promise<Redis> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new QueueError('redis-url', `'${url}' is not a Redis URL: give one like redis://host:6379`)
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw new QueueError(
      'redis-url',
      `'${shownRedis(url)}' is not a Redis URL: give one like redis://host:6379`,
    )
  // The path names the database (a number; ioredis would send SELECT NaN, and its refusal came
  // later, as a stack trace).
  const db = parsed.pathname.replace(/^\//, '')
  if (db !== '' && !/^\d+$/.test(db))
    throw new QueueError(
      'redis-url',
      `'${shownRedis(url)}' names database '${decodeURIComponent(db)}': a Redis database is a number (redis://host:6379/0)`,
    )
  let first = true
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT,
    maxRetriesPerRequest: null,
    // Until the first connection, a failure is an answer (the command says so and stops).
    retryStrategy: (attempt) => (first ? null : reconnectDelay(attempt)),
  })
  // Errors surface through commands; without a listener ioredis would print each reconnection.
  let lastError: unknown
  client.on('error', (error) => {
    lastError = error
  })
  try {
    await client.connect()
    first = false
    // ioredis selects the URL's database after `connect` resolves, and a refusal (an index out of
    // range) only reaches the error listener: selected again here, it is this command's answer.
    if (db !== '') await client.select(Number(db))
    await checkRedis(client, url)
    return client
  } catch (error) {
    client.disconnect()
    if (error instanceof QueueError) throw error
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
      throw new QueueError(
        'redis-auth',
        `Redis at ${shownRedis(url)} refused the credentials (${why}): give them as redis://:PASSWORD@host:6379 (or redis://USER:PASSWORD@host:6379)`,
        { cause: error },
      )
    }
    // A certificate not trusted, or TLS on one side only: reached, but not talked to.
    const tls = tlsProblem(lastError ?? error)
    if (tls)
      throw new QueueError(
        'redis-tls',
        `cannot talk to Redis at ${shownRedis(url)} over TLS: ${tls.words.replace('http://', 'redis://')}${tls.certificate ? '; to trust a private CA, set NODE_EXTRA_CA_CERTS=ca.pem' : ''}`,
        { cause: error },
      )
    throw new QueueError(
      'redis-unreachable',
      `cannot reach Redis at ${shownRedis(url)} (${why}): is redis-server running there, and the address right?${tlsHint(parsed.protocol, String(why))}`,
      { cause: error },
    )
  }
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

/** `INFO memory`'s `maxmemory_policy`, or `undefined` when the server does not say. */
export function evictionPolicy(info: string): string | undefined {
  return /^maxmemory_policy:(\S+)/m.exec(info)?.[1]
}

async function checkRedis(client: Redis, url: string): Promise<void> {
  const policy = evictionPolicy(await client.info('memory'))
  if (policy !== undefined && policy !== 'noeviction')
    throw new QueueError(
      'redis-eviction',
      `Redis at ${shownRedis(url)} evicts keys when memory runs short (maxmemory-policy ${policy}): queued shards could vanish; set maxmemory-policy noeviction (redis-cli CONFIG SET maxmemory-policy noeviction, and in redis.conf)`,
    )
}
