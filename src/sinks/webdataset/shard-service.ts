/**
 * The shard writer's side (see writer.ts): it holds the open shards and does their file work, one
 * message at a time, in order. Each message's work is plain synchronous calls (a sample's bytes
 * appended to its tar, a row to the rows file), but for a shard's flushes to the disk when it is
 * sealed, which run on libuv's pool (see `flushToDisk`): the work runs on the engine's thread,
 * whose transfers and plan must not wait seconds for a tar of real images to reach the disk.
 */
import { layout } from '../../layout.js'
import { shardParquet } from './parquet.js'
import { sampleRow } from './row.js'
import { Shard, type ShardContext } from './shard.js'
import type { FromWriter, ToWriter, WriterData } from './writer.js'

/** An error as plain data, as the writer's answers carry it (a full disk is `ENOSPC`). */
function plain(error: unknown) {
  const e = error as NodeJS.ErrnoException
  return {
    message: e?.message ?? String(error),
    name: e?.name,
    code: e?.code,
    errno: e?.errno,
    syscall: e?.syscall,
    path: e?.path,
    // A rename's target (a shard taking its name in the output folder): see `localFault`.
    dest: (e as { dest?: string } | null)?.dest,
    stack: e?.stack,
  }
}

/**
 * Start the shard writer: `send` takes its answers; the function returned takes each batch of
 * messages, handled after every batch before it (a seal's flushes included).
 */
export function shardService(
  data: WriterData,
  send: (message: FromWriter) => void,
): (batch: ToWriter[]) => void {
  const ctx: ShardContext = {
    paths: layout(data.out),
    shardSize: data.shardSize,
    window: { used: 0, max: data.windowRows },
    columnTypes: data.columnTypes,
    parquetColumns: data.parquetColumns,
  }
  const shards = new Map<number, Shard>()
  /** Shards whose file work failed: their later rows are dropped (the run is stopping). */
  const failed = new Set<number>()

  /** One message's work; a promise only for a seal's, which waits for its flushes. */
  function handle(m: ToWriter): Promise<void> | undefined {
    switch (m.op) {
      case 'open':
        shards.set(m.shard, new Shard(m.shard, ctx, m.sealed, m.startedAt))
        return
      case 'add':
        if (!failed.has(m.shard)) shards.get(m.shard)!.add(m.index, m.line, m.at)
        return
      case 'seal': {
        const shard = shards.get(m.shard)!
        shards.delete(m.shard)
        return shard.seal(m.given).then((written) => {
          // Answered before the staged samples are removed: the run goes on meanwhile.
          send({ op: 'done', id: m.id, written })
          try {
            shard.cleanUp()
          } catch (error) {
            send({ op: 'error', error: plain(error) })
          }
        })
      }
      case 'close': // after everything before it, the removals included
        send({ op: 'done', id: m.id })
        return
      case 'abandon': {
        const shard = shards.get(m.shard)
        shards.delete(m.shard)
        if (shard && !failed.has(m.shard)) shard.abandon()
        send({ op: 'done', id: m.id, written: false })
        return
      }
    }
  }

  async function run(batch: ToWriter[]): Promise<void> {
    for (const m of batch) {
      try {
        const sealing = handle(m)
        if (sealing) await sealing
      } catch (error) {
        if ('shard' in m) failed.add(m.shard)
        if ('id' in m) send({ op: 'done', id: m.id, error: plain(error) })
        else send({ op: 'error', error: plain(error) })
      }
    }
  }

  let queue = Promise.resolve()
  return (batch) => {
    queue = queue.then(() => run(batch))
  }
}

/**
 * Encode a small Parquet file once while the run starts: the first encoding compiles
 * hyparquet-writer's code, which would otherwise cost a shard's sealing (the last one is on a
 * run's critical path) a few hundred milliseconds.
 */
export function warmUp(): void {
  const rows = Array.from({ length: 256 }, (_, i) =>
    sampleRow(
      i,
      String(i),
      { url: `https://images.example/${i}.jpg`, meta: { n: i } },
      i % 8 ? 'ok' : 'failed',
      {
        attempts: 1,
        format: 'jpg',
        bytes: i,
        width: i,
        height: i,
        sha256: 'ab',
        error: 'http-404',
      },
    ),
  )
  shardParquet(rows)
}
