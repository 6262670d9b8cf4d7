import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { ownChild } from './children.js'
import { freePort } from './ports.js'

/** A real `redis-server` for one test file, on a free loopback port. */
export interface RedisServer {
  readonly url: string
  readonly port: number
  /** Its Unix socket, when started with `unixSocket` (mode 700: this user's only). */
  readonly socket?: string
  /** A client for the test's own looks (closed by `stop`). */
  readonly client: Redis
  /**
   * Stop Redis as a restart would (saving its data first: `SHUTDOWN SAVE`), wait `downMs` (or until
   * that promise settles: down until the client under test has given up on it, no longer), and
   * start it again on the same port with the same data; with `{ data: false }`, as a Redis with no
   * persistence restarts (`SHUTDOWN NOSAVE`, any earlier save removed): empty.
   */
  restart(downMs?: number | Promise<unknown>, options?: { data?: boolean }): Promise<void>
  /** Its process id, for a test that stops (`SIGSTOP`) or kills it as a hung or lost server. */
  readonly pid: number
  stop(): Promise<void>
}

/**
 * Start `redis-server` (Debian's package; `.ci/run` installs it) on 127.0.0.1 and a free port, with
 * no persistence of its own (`--save '' --appendonly no`: nothing written while it runs), its files
 * in a fresh temporary folder, `maxmemory-policy` as given (BullMQ's `noeviction` by default).
 */
export async function startRedis(
  options: {
    maxmemoryPolicy?: string
    /** Take only TLS, with this certificate (`url` is then `rediss://`). */
    tls?: { cert: string; key: string }
    /** Listen on a Unix socket too (`socket`), as Debian's redis.conf can set it up. */
    unixSocket?: boolean
    /** Take `DEBUG` (`DEBUG SLEEP`: a Redis hung inside a command) from the loopback (Redis 7). */
    debugCommand?: boolean
    /** Start as a Redis Cluster's node (`cluster-enabled yes`), serving no hash slot until given some. */
    cluster?: boolean
  } = {},
): Promise<RedisServer> {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'imgpull-redis-'))
  // A Unix socket's path holds 107 bytes at most (unix(7)): under a long TMPDIR (a CI runner's
  // work folder) redis-server could not bind it and every test of the file failed; there it goes
  // in a folder of /tmp.
  const socketDir = !options.unixSocket
    ? dir
    : join(dir, 'redis.sock').length <= 100
      ? dir
      : await mkdtemp('/tmp/imgpull-redis-')
  const socket = join(socketDir, 'redis.sock')
  const tls = options.tls
  const args = [
    ...(tls
      ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key]
      : ['--port', String(port)]),
    ...(tls ? ['--tls-auth-clients', 'no'] : []),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--maxmemory-policy',
    options.maxmemoryPolicy ?? 'noeviction',
    ...(options.debugCommand ? ['--enable-debug-command', 'local'] : []),
    ...(options.cluster
      ? ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf')]
      : []),
    ...(options.unixSocket ? ['--unixsocket', socket, '--unixsocketperm', '700'] : []),
  ]
  let child = await launch(args)
  const url = `${tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`
  const client = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: () => 50 })
  client.on('error', () => {})
  return {
    url,
    port,
    ...(options.unixSocket ? { socket } : {}),
    client,
    get pid() {
      return child.pid!
    },
    async restart(downMs = 500, { data = true } = {}) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      // A client of its own that never resends: the shared one would send SHUTDOWN again on reconnecting.
      const once = new Redis(url, { retryStrategy: () => null, maxRetriesPerRequest: 0 })
      once.on('error', () => {})
      await once.call('SHUTDOWN', data ? 'SAVE' : 'NOSAVE').catch(() => {})
      once.disconnect()
      await exited
      if (!data) await rm(join(dir, 'dump.rdb'), { force: true })
      if (typeof downMs === 'number') await new Promise((resolve) => setTimeout(resolve, downMs))
      else await downMs.catch(() => {})
      child = await launch(args)
    },
    async stop() {
      client.disconnect()
      // Once only: a server killed has no exit code, but a signal, and its exit was heard already.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGKILL')
        await exited
      }
      await rm(dir, { recursive: true, force: true })
      await rm(socketDir, { recursive: true, force: true })
    },
  }
}

async function launch(args: string[]): Promise<ChildProcess> {
  const child = ownChild(spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] }))
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const onData = (data: Buffer) => {
      output += data.toString()
      if (output.includes('Ready to accept connections')) resolve()
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output.slice(-500)}`)))
  })
  child.stdout!.removeAllListeners('data').resume()
  child.stderr!.removeAllListeners('data').resume()
  child.removeAllListeners('exit')
  return child
}

/** Every line of every shard's manifest under a worker's output folder (files output): `[shard, line]`. */
export async function shardManifests(
  out: string,
): Promise<{ shard: string; url: string; status: string; error?: string; bytes: number | null }[]> {
  const { readdir, readFile } = await import('node:fs/promises')
  const lines: { shard: string; url: string; status: string; error?: string; bytes: number | null }[] = []
  for (const entry of await readdir(out)) {
    if (!/^\d{5}$/.test(entry)) continue
    const text = await readFile(join(out, entry, 'manifest.jsonl'), 'utf8')
    for (const line of text.split('\n').filter(Boolean)) {
      const { url, status, error, bytes } = JSON.parse(line) as {
        url: string
        status: string
        error?: string
        bytes: number | null
      }
      lines.push({ shard: entry, url, status, error, bytes })
    }
  }
  return lines
}
