import type { Command } from 'commander'
import { shownRedis } from '../queue/errors.js'
import { DEFAULT_REDIS } from '../queue/keys.js'

export { DEFAULT_REDIS }

/** `--redis` and `--queue`, which every queue command takes. */
export function addQueueOptions(command: Command, queueRequired = true): Command {
  command.option(
    '--redis <url>',
    'Redis holding the queue, e.g. redis://host:6379 or a Unix socket /run/redis/redis.sock (default: $IMGPULL_REDIS, else redis://127.0.0.1:6379)',
  )
  if (!queueRequired) return command.option('--queue <name>', 'queue name')
  // Checked in a hook, after commander's check of unknown options, where commander checks a
  // required option before them: `worker --queu q` was told --queue was not given, not that --queu
  // is no option (--queue meant).
  return command
    .option('--queue <name>', 'queue name: letters, digits, . _ - (no :)')
    .hook('preAction', (self) => {
      if (self.opts().queue === undefined)
        self.error("error: required option '--queue <name>' not specified", {
          code: 'commander.missingMandatoryOptionValue',
        })
    })
}

/** The Redis a queue lives on: `--redis`, else `IMGPULL_REDIS`, else a local one. */
export const redisFrom = (o: Record<string, unknown>): string =>
  (o.redis as string | undefined) ?? process.env.IMGPULL_REDIS ?? DEFAULT_REDIS

/** Where the Redis address of `redisFrom` came from, as a message names it; `undefined`: the default. */
export const redisSource = (o: Record<string, unknown>): '--redis' | 'IMGPULL_REDIS' | undefined =>
  o.redis !== undefined ? '--redis' : process.env.IMGPULL_REDIS !== undefined ? 'IMGPULL_REDIS' : undefined

/**
 * A queue error about Redis (its code `redis-...`: a malformed address, one unreachable, refusing
 * or of another server) naming the address by where it came from, `--redis 'http://host'` or
 * `IMGPULL_REDIS=...`, where it named the address alone: the user sees which setting to mend (a
 * `--redis` left out tried `$IMGPULL_REDIS`). Other messages as they are; the default address is
 * said as such by its own words. Pure.
 */
export function redisNamed(
  error: { code?: unknown; message: string },
  url: string,
  source: string | undefined,
): string {
  const { message } = error
  if (source === undefined || typeof error.code !== 'string' || !error.code.startsWith('redis-'))
    return message
  const at = shownRedis(url)
  const label = (shown: string) => (source === '--redis' ? `--redis ${shown}` : `${source}=${shown}`)
  for (const shown of [`'${at}'`, at]) {
    const i = message.indexOf(shown)
    if (i !== -1) return `${message.slice(0, i)}${label(shown)}${message.slice(i + shown.length)}`
  }
  return `${label(at)}: ${message}`
}

/**
 * After a stop, how long a queue command may take to finish what it sends Redis and close, ms: one
 * that stays unreachable (down, stopped, hung) would hold the stop for good, ioredis waiting for it.
 */
export const LEAVE_MS = 10_000
