import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parquetMetadata, parquetReadObjects } from 'hyparquet'
import tar from 'tar-stream'
import { readHeader } from '../../src/sinks/webdataset/tar.js'

/** One file of a tar as a reader sees it. */
export interface Member {
  name: string
  size: number
  mode: number
  mtime: number
  uid: number
  gid: number
  data: Buffer
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex')

/** A tar's members in order, through tar-stream's extractor. */
export async function readTar(path: string): Promise<Member[]> {
  const extract = tar.extract()
  createReadStream(path).pipe(extract)
  const members: Member[] = []
  for await (const entry of extract) {
    const chunks: Buffer[] = []
    for await (const chunk of entry) chunks.push(chunk as Buffer)
    const h = entry.header
    members.push({
      name: h.name,
      size: h.size,
      mode: h.mode,
      mtime: h.mtime.getTime(),
      uid: h.uid,
      gid: h.gid,
      data: Buffer.concat(chunks),
    })
  }
  return members
}

const PYTHON_LIST = `
import hashlib, json, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    print(json.dumps([[m.name, m.size, m.mode, m.mtime, m.uid, m.gid, m.uname, m.gname, m.isfile(),
                       hashlib.sha256(t.extractfile(m).read()).hexdigest()] for m in t.getmembers()]))
`

/** A tar's members through Python's `tarfile`: name, size, mode, mtime, uid, gid, uname, gname, isfile, sha256. */
export function pythonTar(
  path: string,
): [string, number, number, number, number, number, string, string, boolean, string][] {
  return JSON.parse(execFileSync('python3', ['-c', PYTHON_LIST, path], { encoding: 'utf8' }))
}

/** A tar's member names through GNU tar (`tar -tf`). */
export function gnuTarNames(path: string): string[] {
  return execFileSync('tar', ['-tf', path], { encoding: 'utf8' }).trim().split('\n')
}

/** The members' sha256 by name, for comparing with what the server sent. */
export const memberHashes = (members: Member[]) => new Map(members.map((m) => [m.name, sha256(m.data)]))

/** A Parquet file's rows through hyparquet (the writer's own family). */
export async function hyparquetRows(path: string): Promise<Record<string, unknown>[]> {
  const bytes = await readFile(path)
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer
  return parquetReadObjects({ file })
}

/** A Parquet file's column types and rows through DuckDB, a reader of another family (C++). */
export async function duckdbRead(
  path: string,
): Promise<{ types: Record<string, string>; rows: Record<string, unknown>[] }> {
  const { DuckDBInstance } = await import('@duckdb/node-api')
  const db = await DuckDBInstance.create(':memory:')
  const sql = await db.connect()
  try {
    const quoted = `'${path.replaceAll("'", "''")}'`
    const described = await sql.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${quoted})`)
    const types = Object.fromEntries(
      described.getRowObjectsJson().map((r) => [String(r.column_name), String(r.column_type)]),
    )
    const rows = (await sql.runAndReadAll(`SELECT * FROM read_parquet(${quoted})`)).getRowObjectsJson()
    return { types, rows: rows as Record<string, unknown>[] }
  } finally {
    sql.closeSync()
    db.closeSync()
  }
}

/** Run SQL statements through DuckDB (a writer of another family: `COPY (…) TO 'x.parquet'`). */
export async function duckdbRun(...statements: string[]): Promise<void> {
  const { DuckDBInstance } = await import('@duckdb/node-api')
  const db = await DuckDBInstance.create(':memory:')
  const sql = await db.connect()
  try {
    for (const statement of statements) await sql.run(statement)
  } finally {
    sql.closeSync()
    db.closeSync()
  }
}

/** The output files of a webdataset folder (no work folder, manifest or report), sorted. */
export async function shardFiles(out: string): Promise<string[]> {
  return (await readdir(out))
    .filter((f) => f !== '.imgpull' && f !== 'manifest.jsonl' && f !== 'report.html')
    .sort()
}

/**
 * The samples staged for shard `stem` (`00000`) in the output folder `out`, sorted: the files in its
 * staging folder and the whole entries of its spool (see spool.ts). None when there are neither.
 */
export async function staged(out: string, stem: string): Promise<string[]> {
  const shards = join(out, '.imgpull', 'shards')
  const files = await readdir(join(shards, stem)).catch(() => [] as string[])
  const spool = await readFile(join(shards, `${stem}.spool`)).catch(() => Buffer.alloc(0))
  const entries: string[] = []
  for (let at = 0; at + 512 <= spool.length; ) {
    const header = readHeader(spool.subarray(at, at + 512))
    const next = header && at + 512 + Math.ceil(header.size / 512) * 512
    if (!header || next! > spool.length) break
    entries.push(header.name)
    at = next!
  }
  return [...files, ...entries].sort()
}

/** What a WebDataset output folder holds, shard by shard, and its failures (sorted: order of finishing differs). */
export async function webdatasetOf(out: string, manifests: string[]) {
  const names = (await readdir(out)).sort()
  const shards: Record<string, unknown> = {}
  for (const name of names) {
    const path = join(out, name)
    if (name.endsWith('.tar'))
      shards[name] = Object.fromEntries(
        (await readTar(path)).map((m) => [
          m.name,
          m.name.endsWith('.json')
            ? JSON.parse(m.data.toString('utf8'))
            : m.name.endsWith('.txt')
              ? m.data.toString('utf8')
              : sha256(m.data),
        ]),
      )
    else if (name.endsWith('.parquet')) {
      const bytes = await readFile(path)
      const { schema } = parquetMetadata(
        bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
      )
      shards[name] = { schema, ...(await duckdbRead(path)) }
    } else if (name.endsWith('_stats.json')) {
      const {
        start_time: _,
        end_time: __,
        duration: ___,
        ...stats
      } = JSON.parse(await readFile(path, 'utf8'))
      shards[name] = stats
    }
  }
  const failures: string[] = []
  for (const manifest of manifests)
    for (const line of (await readFile(manifest, 'utf8')).split('\n').filter(Boolean)) {
      const { url, status, error, message, meta, path } = JSON.parse(line)
      if (status !== 'ok') failures.push(JSON.stringify({ url, status, error, message, meta, path }))
    }
  return { shards, failures: failures.sort() }
}

/** A worker's shards' manifests, in shard order. */
export async function queueManifests(out: string): Promise<string[]> {
  const queue = join(out, '.imgpull', 'queue')
  return (await readdir(queue))
    .filter((n) => /^\d{5}$/.test(n))
    .sort()
    .map((n) => join(queue, n, 'manifest.jsonl'))
}
