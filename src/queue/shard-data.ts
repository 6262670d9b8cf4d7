import type { Options } from '../options.js'
import type { TableFormat } from '../sources/tables/format.js'
import type { TableOptions } from '../sources/tables/options.js'
import type { CarriedType } from '../types.js'

/** The kind of an input file: a URL list (one URL per line) or a table. */
export type InputFormat = 'lines' | TableFormat

/** One file of an input, as enqueue saw it. */
export interface InputFile {
  /** Absolute path: workers read it at the same path (a shared file system). */
  path: string
  format: InputFormat
  /** Bytes. */
  size: number
  /** `fingerprint()` of the file: a worker checks it before reading, to read the same file. */
  fingerprint: string
  /** Text tables: the byte offset of the first data row (after the header), and lines before it. */
  dataStart?: number
  dataLine?: number
}

/** The input of a queue: its files in reading order, and how to read tables. */
export interface InputRef {
  kind: 'lines' | 'table'
  files: InputFile[]
  /** Tables: the reading options (`urlCol`, `captionCol`, `columns`, `hashCol`, `hashType`, `format`). */
  table?: Omit<TableOptions, 'tempDir'>
  /**
   * Tables read without `columns`: every column their rows carry, as enqueue saw them (what the
   * name template may use; see `OpenedTables.columns`). Absent in jobs of earlier versions.
   */
  columns?: string[]
  /**
   * Tables: the carried columns' types in the shards' Parquet, as enqueue saw them (see
   * `OpenedTables.columnTypes`): every shard of the queue has one schema. Absent in jobs of earlier
   * versions, and where they are not known ahead: each shard's come from its values then.
   */
  columnTypes?: Record<string, CarriedType>
}

/**
 * Where a shard's rows are. `pointer`: in the input files, from `start` (a byte offset for text
 * files, a row index for Parquet) in file `start.file`, `count` rows, continuing into the next
 * files: the job stays a few hundred bytes whatever the shard size. `inline`: the rows themselves,
 * deflated and base64-encoded (JSON lines: URLs for lists, table rows as `TableJob`s), for inputs
 * workers cannot read where enqueue read them (standard input, gzip-compressed files, `--inline`).
 */
export type ShardRows =
  | {
      kind: 'pointer'
      input: InputRef
      start: { file: number; offset: number; line: number }
      count: number
    }
  | {
      kind: 'inline'
      input: 'lines' | 'table'
      count: number
      rows: string
      columns?: string[]
      columnTypes?: Record<string, CarriedType>
    }

/** Options of the run that every shard gets: `pull()`'s, less what is the worker's own (its secrets too). */
export type RunOptions = Omit<
  Options,
  | 'out'
  | 'signal'
  | 'drainSignal'
  | 'hostGate'
  | 'journal'
  | 'report'
  | 'command'
  | 'rerun'
  // A secret, never in Redis: each worker's own (`WorkerOptions.clientCertPassword`).
  | 'clientCertPassword'
> & {
  /** WebDataset output (once the engine has it): the shard size, equal to the queue's. */
  outputFormat?: 'files' | 'webdataset'
  shardSize?: number
}

/** The data of one shard job in BullMQ (JSON). */
export interface ShardJobData {
  /** Format of this object, for workers of another version. */
  v: 1
  /** The input's id (`inputId()`), the job id's first part. */
  inputId: string
  /** The shard's number, from 0: its rows are `shard * shardSize` to `shard * shardSize + rows.count - 1`. */
  shard: number
  shardSize: number
  /** Position of the shard's first row over the whole input (`shard * shardSize`). */
  firstRow: number
  rows: ShardRows
  options: RunOptions
  /**
   * Set when enqueue re-opened the shard, done, for its failed images to be fetched again (see
   * `reopens`): round 1 the first time, counting up; `all`: the permanent failures too
   * (`--retry-failed`), else those a rerun tries again. A worker finding the shard published by an
   * earlier round runs it again from its journal and publishes it anew.
   */
  retry?: { round: number; all: boolean }
}

/** What a finished shard returns (the job's return value) and `status` adds up. */
export interface ShardCounts {
  rows: number
  ok: number
  skipped: number
  failed: number
  /** Bytes of the shard's images, those an earlier attempt at it saved included. */
  bytes: number
  /** Failures by code. */
  errors: Record<string, number>
  /** ms the shard took on the worker that finished it. */
  ms: number
  /** The worker that finished it. */
  worker: string
  /** Finished with outputs another worker had already published: nothing was fetched again. */
  alreadyPublished?: boolean
  /** The retry round these counts are of (`ShardJobData.retry`); absent for the first run. */
  round?: number
}

export const DATA_VERSION = 1

/**
 * Whether a job's `data` is a shard's (a `ShardJobData` of any version: a shard number and an input
 * id), not another program's job put in the queue (a dashboard's "add job", an app sharing the
 * queue's name and prefix), which a worker read as a shard: `shard undefined failed: shard data of
 * version undefined`, counted among the queue's shards failed for good.
 */
export function isShardJob(data: unknown): data is ShardJobData {
  const d = data as Partial<ShardJobData> | null
  return typeof d === 'object' && d !== null && Number.isInteger(d.shard) && typeof d.inputId === 'string'
}
