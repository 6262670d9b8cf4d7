import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { cleanup, count, runCli, startCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { shardFiles, staged } from './support/shards.js'
import { exists, growDisk, onSmallDisk, until } from './support/wait.js'

// Stops that are not crashes: a Ctrl-C mid-shard, and a disk that fills up while shards are written.

let server: ImageServer
let dir: string
before(async () => {
  // Slow enough that a run is still going when the test stops it.
  server = await startImageServer({ ttfb: 30, bandwidth: 400_000, sizes: [20_000, 120_000] })
  dir = await tempDir()
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

test('Ctrl-C mid-shard: a clean stop keeps the staged samples, the rerun finishes the shard', async () => {
  const table = join(dir, 'sigint.csv')
  await writeFile(table, `url\n${Array.from({ length: 30 }, (_, i) => server.url(`/i-${i}`)).join('\n')}\n`)
  const out = join(dir, 'sigint')
  const args = [table, '-o', out, '--output-format', 'webdataset', '--shard-size', '20', '--per-host', '4']
  const run = startCli(args)
  await until('a few staged samples', async () => (await staged(out, '00000')).length >= 4)
  run.child.kill('SIGINT')
  const stopped = await run.done
  assert.equal(stopped.code, 130, stopped.stderr)
  assert.equal(await exists(join(out, '00000.tar')), false, 'the shard is not complete')
  const kept = await staged(out, '00000')
  assert.ok(kept.length >= 4, 'its samples stay staged')
  assert.deepEqual(
    (await readdir(join(out, '.imgpull', 'shards'))).filter((f) => f.includes('.') && f !== '00000.spool'),
    [],
    'no tar or rows file is left half-written (the spool keeps the samples)',
  )
  const rerun = await runCli(args)
  assert.equal(rerun.code, 0, rerun.stderr)
  const clean = join(dir, 'sigint-clean')
  assert.equal((await runCli([...args.slice(0, 1), '-o', clean, ...args.slice(3)])).code, 0)
  for (const f of ['00000.tar', '00001.tar'])
    assert.ok((await readFile(join(out, f))).equals(await readFile(join(clean, f))), `${f} differs`)
})

test('disk full while shards are written: one clear error (exit 3), no shard under its name but whole', (t) =>
  onSmallDisk(t, join(dir, 'small-disk'), '2000k', async (mnt) => {
    const table = join(dir, 'full.csv')
    await writeFile(table, `url\n${Array.from({ length: 60 }, (_, i) => server.url(`/f-${i}`)).join('\n')}\n`)
    const out = join(mnt, 'out')
    const r = await runCli([table, '-o', out, '--output-format', 'webdataset', '--shard-size', '10'])
    assert.equal(r.code, 3, r.stderr)
    assert.match(r.stderr, /no space left on device/)
    for (const f of (await shardFiles(out)).filter((f) => f.endsWith('.tar'))) {
      // A tar under its name is sealed: whole, with all ten samples.
      const names = execFileSync('tar', ['-tf', join(out, f)], { encoding: 'utf8' })
        .trim()
        .split('\n')
      assert.equal(names.filter((n) => n.endsWith('.jpg')).length, 10, `${f} is not whole`)
    }
  }))

test('disk full on a long table: the closing line says where the reading stopped, its counts adding up to it', (t) =>
  onSmallDisk(t, join(dir, 'small-disk-long'), '2000k', async (mnt) => {
    // It said `21 images, …, 0 failed, 1119 left for the next run` of a 20,000-row table: the rows
    // never read were in no count, as if the table held 1,140.
    const table = join(dir, 'full-long.csv')
    await writeFile(
      table,
      `url\n${Array.from({ length: 5000 }, (_, i) => server.url(`/l-${i}`)).join('\n')}\n`,
    )
    const out = join(mnt, 'out')
    const r = await runCli([table, '-o', out, '--output-format', 'webdataset', '--shard-size', '10'])
    assert.equal(r.code, 3, r.stderr)
    const line =
      /([\d,]+) images?, .*, ([\d,]+) failed(?:, ([\d,]+) left for the next run)?, the rest of the input \(past its first ([\d,]+)\) not reached\n/.exec(
        r.stderr,
      )
    assert.ok(line, r.stderr)
    const [ok, failed, left, read] = line.slice(1).map(count)
    assert.equal(ok + failed + left, read, line[0])
    assert.ok(read < 5000, line[0])
  }))

test('out of inodes as a shard begins: exit 3 and "no free inodes" naming its folder (was ENOENT, exit 1); the rerun finishes', (t) =>
  // Node's recursive mkdir reports a folder the disk has no inode for as ENOENT (nodejs/node#42808):
  // the run ended with exit 1 and `imgpull: ENOENT: no such file or directory, mkdir '…/shards/00002'`.
  onSmallDisk(t, join(dir, 'few-inodes'), { size: '50m', inodes: 16 }, async (mnt) => {
    const table = join(dir, 'inodes.csv')
    await writeFile(table, `url\n${Array.from({ length: 60 }, (_, i) => server.url(`/n-${i}`)).join('\n')}\n`)
    const out = join(mnt, 'out')
    const args = [table, '-o', out, '--output-format', 'webdataset', '--shard-size', '10']
    const r = await runCli(args)
    assert.equal(r.code, 3, r.stderr)
    // Said as inodes, not space (NLnetLabs/routinator#785): `df -h` shows room there.
    assert.match(
      r.stderr,
      /cannot write \S+shards\S*: no free inodes left on device .*; stopped.*remove some files/,
    )
    growDisk(mnt, { inodes: 10_000 })
    const rerun = await runCli(args)
    assert.equal(rerun.code, 0, rerun.stderr)
    for (const f of (await shardFiles(out)).filter((f) => f.endsWith('.tar'))) {
      const names = execFileSync('tar', ['-tf', join(out, f)], { encoding: 'utf8' })
        .trim()
        .split('\n')
      assert.equal(names.filter((n) => n.endsWith('.jpg')).length, 10, `${f} is not whole`)
    }
    assert.equal((await shardFiles(out)).filter((f) => f.endsWith('.tar')).length, 6)
  }))
