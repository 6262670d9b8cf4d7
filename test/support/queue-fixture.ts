import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before } from 'node:test'
import { cleanup, tempDir } from './cli.js'
import { type ImageServer, type ImageServerOptions, startImageServer } from './image-server.js'
import { type RedisServer, startRedis } from './redis.js'

/**
 * What a queue test file runs against: a real `redis-server`, an image server and a temporary
 * folder, started together before its first test and stopped after its last (`before`/`after` of
 * the file). Read them in tests and hooks, not at the file's top level: they exist from `before` on.
 */
export interface QueueFixture {
  readonly redis: RedisServer
  readonly server: ImageServer
  readonly dir: string
  /** `--redis URL --queue NAME`, for the CLI. */
  q(queue: string): string[]
  /** Requests the server has seen for paths under `prefix`. */
  requested(prefix: string): number
  /** Write `urls`, one a line, to `name` in `dir`: its path. */
  list(name: string, urls: readonly string[]): Promise<string>
}

export function queueFixture(
  options: { redis?: Parameters<typeof startRedis>[0]; server?: ImageServerOptions; prefix?: string } = {},
): QueueFixture {
  let started: { redis: RedisServer; server: ImageServer; dir: string } | undefined
  const get = () => {
    if (!started) throw new Error('the queue fixture is read before its `before` hook ran')
    return started
  }
  before(async () => {
    const [redis, server, dir] = await Promise.all([
      startRedis(options.redis),
      startImageServer(options.server),
      tempDir(options.prefix ?? 'imgpull-queue-'),
    ])
    started = { redis, server, dir }
  })
  after(async () => {
    if (!started) return
    const { redis, server, dir } = started
    await Promise.all([redis.stop(), server.close(), cleanup(dir)])
  })
  return {
    get redis() {
      return get().redis
    },
    get server() {
      return get().server
    },
    get dir() {
      return get().dir
    },
    q: (queue) => ['--redis', get().redis.url, '--queue', queue],
    requested: (prefix) => get().server.log.filter((r) => r.url.startsWith(prefix)).length,
    async list(name, urls) {
      const path = join(get().dir, name)
      await writeFile(path, `${urls.join('\n')}\n`)
      return path
    },
  }
}
