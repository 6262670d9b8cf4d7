/**
 * The shard writer's thread (see writer.ts): it holds the open shards and does their file work,
 * synchronously, one message at a time, so the thread that moves bytes never waits for a tar, a
 * Parquet file or an fsync.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { layout } from '../../layout.js'
import { shardParquet } from './parquet.js'
import { sampleRow } from './row.js'
import { Shard, type ShardContext } from './shard.js'
import type { FromWriter, ToWriter, WriterData } from './writer.js'

const data = workerData as WriterData
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
const port = parentPort!

/** An error as plain data: what the main thread needs to rebuild it (a full disk is `ENOSPC`). */
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

const send = (message: FromWriter) => port.postMessage(message)

function handle(m: ToWriter): void {
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
      // Answered before the staged samples are removed: the run goes on meanwhile.
      send({ op: 'done', id: m.id, written: shard.seal(m.given) })
      try {
        shard.cleanUp()
      } catch (error) {
        send({ op: 'error', error: plain(error) })
      }
      return
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

/**
 * Encode a small Parquet file once while the run starts: the first encoding compiles
 * hyparquet-writer's code, which would otherwise cost a shard's sealing (the last one is on a
 * run's critical path) a few hundred milliseconds.
 */
function warmUp(): void {
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
setImmediate(warmUp)

// Messages come in batches, in the order they were given (writer.ts `#post`).
port.on('message', (batch: ToWriter[]) => {
  for (const m of batch) {
    try {
      handle(m)
    } catch (error) {
      if ('shard' in m) failed.add(m.shard)
      if ('id' in m) send({ op: 'done', id: m.id, error: plain(error) })
      else send({ op: 'error', error: plain(error) })
    }
  }
})
