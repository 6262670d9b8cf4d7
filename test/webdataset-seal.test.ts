import assert from 'node:assert/strict'
import fs, { mkdirSync, readlinkSync, writeFileSync } from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { join } from 'node:path'
import { test } from 'node:test'

// A shard's sealing, with the disk's flushes watched: fs.fsync is wrapped before the shard writer
// is loaded (its flush takes fsync as it loads), so this file runs alone in its process.

const real = fs.fsync
/** The flushes and renames, by the file's name, in the order they were asked and ended. */
const events: string[] = []
let heldTar: (() => void) | undefined
fs.fsync = ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
  const name = readlinkSync(`/proc/self/fd/${fd}`).split('/').at(-1)!
  events.push(`start ${name}`)
  const done = (error: NodeJS.ErrnoException | null) => {
    events.push(`end ${name}`)
    callback(error)
  }
  if (name.endsWith('.tar.tmp')) {
    // The tar's flush is held until another output's flush begins (or, without one, a second).
    let released = false
    const release = () => {
      if (released) return
      released = true
      real(fd, done)
    }
    heldTar = release
    setTimeout(release, 2_000).unref()
    return
  }
  if (name.endsWith('.parquet.tmp')) heldTar?.()
  real(fd, done)
}) as typeof fs.fsync
const realRename = fs.renameSync
fs.renameSync = ((from: fs.PathLike, to: fs.PathLike) => {
  events.push(`rename ${String(from).split('/').at(-1)}`)
  realRename(from, to)
}) as typeof fs.renameSync
syncBuiltinESMExports()

const { layout } = await import('../src/layout.js')
const { sampleRow } = await import('../src/sinks/webdataset/row.js')
const { Shard, shardWork } = await import('../src/sinks/webdataset/shard.js')
const { cleanup, tempDir } = await import('./support/cli.js')
const { readTar } = await import('./support/shards.js')

test("a shard's Parquet and stats are built and flushed while its tar reaches the disk, and renamed only after it", async (t) => {
  // The tar of a shard of real images (550 MB for many-small's 5,000) took 0.40-0.64 s to flush,
  // then the Parquet of its rows was built and flushed, 0.3-0.7 s more, one after the other at
  // the end of the run (strace -T on the bench's many-small as WebDataset shards).
  const out = await tempDir()
  t.after(() => cleanup(out))
  const paths = layout(out)
  mkdirSync(shardWork(paths, '00000').staging, { recursive: true })
  const ctx = { paths, shardSize: 2, window: { used: 0, max: 2 } }
  const shard = new Shard(0, ctx, undefined)
  const image = Buffer.from('image bytes')
  writeFileSync(join(shardWork(paths, '00000').staging, '00000.jpg'), image)
  for (const index of [0, 1]) {
    const row = sampleRow(
      index,
      `0000${index}`,
      { url: `https://images.example/${index}.jpg` },
      index === 0 ? 'ok' : 'failed',
      index === 0
        ? { attempts: 1, format: 'jpg', bytes: image.length }
        : { attempts: 1, error: 'http-404' as const },
    )
    shard.add(index, JSON.stringify(row))
  }
  assert.equal(await shard.seal(Uint8Array.from([1, 1])), true)
  const at = (event: string) => events.indexOf(event)
  assert.ok(at('start 00000.tar.tmp') >= 0, events.join(', '))
  assert.ok(
    at('start 00000.parquet.tmp') < at('end 00000.tar.tmp'),
    `the Parquet waited for the tar's flush: ${events.join(', ')}`,
  )
  for (const name of ['00000.tar.tmp', '00000.parquet.tmp', '00000_stats.json.tmp'])
    assert.ok(
      at(`rename ${name}`) > Math.max(at('end 00000.tar.tmp'), at('end 00000_stats.json.tmp')),
      `${name} renamed before every output was on the disk: ${events.join(', ')}`,
    )
  shard.cleanUp()
  assert.deepEqual(
    (await readTar(join(out, '00000.tar'))).map((m) => m.name),
    ['00000.jpg', '00000.json'],
  )
})
