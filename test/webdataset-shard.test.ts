import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs, {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { join } from 'node:path'
import { test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { layout } from '../src/layout.js'
import { samplePlace } from '../src/sinks/webdataset/keys.js'
import { type SampleRow, sampleRow } from '../src/sinks/webdataset/row.js'
import { Shard, type ShardContext, shardWork } from '../src/sinks/webdataset/shard.js'
import { paddedSize, readHeader, TarFile, TarScan, tarHeader } from '../src/sinks/webdataset/tar.js'
import type { Status } from '../src/types.js'
import { cleanup, tempDir } from './support/cli.js'
import { hyparquetRows, pythonTar, readTar } from './support/shards.js'
import { onSmallDisk } from './support/wait.js'

// The shard writer's side, without a run: rows out of order past the memory window, sealing,
// sealing again from the old tar, and the tar header the other readers must take.

const SIZE = 6

function setUp(out: string): ShardContext {
  const paths = layout(out)
  mkdirSync(shardWork(paths, '00000').staging, { recursive: true })
  // A window of one row: every row that finishes ahead of its turn is read back from the rows file.
  return { paths, shardSize: SIZE, window: { used: 0, max: 1 } }
}

const image = (index: number) => Buffer.from(`image ${index} `.repeat(50 + index * 37))
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

/** Row `index` of shard 0, staged when `ok`. */
function row(ctx: ShardContext, index: number, status: Status): string {
  const { key } = samplePlace(index, SIZE)
  const outcome =
    status === 'failed'
      ? { attempts: 1, error: 'http-503' as const }
      : { attempts: 1, format: 'jpg', bytes: image(index).length, sha256: sha256(image(index)) }
  if (status === 'ok') writeFileSync(join(shardWork(ctx.paths, '00000').staging, `${key}.jpg`), image(index))
  const r: SampleRow = sampleRow(
    index,
    key,
    { url: `https://images.example/${index}.jpg`, caption: `c${index}` },
    status,
    outcome,
  )
  return JSON.stringify(r)
}

test('rows finishing out of order, past the window, come out in order; the shard seals whole', async (t) => {
  const out = await tempDir()
  t.after(() => cleanup(out))
  const ctx = setUp(out)
  const shard = new Shard(0, ctx, undefined)
  // Row 5 is never given (the source ended before it); row 2 failed.
  for (const [index, status] of [
    [3, 'ok'],
    [1, 'ok'],
    [4, 'ok'],
    [0, 'ok'],
    [2, 'failed'],
  ] as const)
    shard.add(index, row(ctx, index, status))
  assert.equal(await shard.seal(Uint8Array.from([1, 1, 1, 1, 1, 0])), true)
  shard.cleanUp()
  assert.equal(ctx.window.used, 0, 'the window is given back')
  const members = await readTar(join(out, '00000.tar'))
  assert.deepEqual(
    members.map((m) => m.name),
    ['000000', '000001', '000003', '000004'].flatMap((k) => [`${k}.jpg`, `${k}.json`, `${k}.txt`]),
  )
  for (const i of [0, 1, 3, 4])
    assert.ok(members[[0, 1, 3, 4].indexOf(i) * 3].data.equals(image(i)), `sample ${i}`)
  assert.deepEqual(
    (await hyparquetRows(join(out, '00000.parquet'))).map((r) => [r.key, r.status]),
    [
      ['000000', 'success'],
      ['000001', 'success'],
      ['000002', 'failed'],
      ['000003', 'success'],
      ['000004', 'success'],
    ],
  )
  const work = shardWork(ctx.paths, '00000')
  assert.equal(existsSync(work.staging), false, 'staged samples are gone once sealed')
  assert.equal(existsSync(work.rows), false)
  const { signature } = JSON.parse(readFileSync(work.seal, 'utf8'))

  // The same rows again: nothing is written.
  const before = statSync(join(out, '00000.tar'))
  mkdirSync(work.staging)
  const same = new Shard(0, ctx, signature)
  for (const [index, status] of [
    [0, 'skipped'],
    [2, 'failed'],
    [1, 'skipped'],
    [4, 'skipped'],
    [3, 'skipped'],
  ] as const)
    same.add(index, row(ctx, index, status))
  assert.equal(await same.seal(Uint8Array.from([1, 1, 1, 1, 1, 0])), false)
  same.cleanUp()
  assert.equal(statSync(join(out, '00000.tar')).ino, before.ino)

  // Row 2 comes now: sealed again, the other samples taken from the old tar.
  mkdirSync(work.staging)
  const again = new Shard(0, ctx, signature)
  for (const [index, status] of [
    [4, 'skipped'],
    [2, 'ok'],
    [0, 'skipped'],
    [1, 'skipped'],
    [3, 'skipped'],
  ] as const)
    again.add(index, row(ctx, index, status))
  assert.equal(await again.seal(Uint8Array.from([1, 1, 1, 1, 1, 0])), true)
  again.cleanUp()
  const resealed = await readTar(join(out, '00000.tar'))
  assert.deepEqual(
    resealed.filter((m) => m.name.endsWith('.jpg')).map((m) => m.name),
    ['000000.jpg', '000001.jpg', '000002.jpg', '000003.jpg', '000004.jpg'],
  )
  for (const [i, m] of resealed.filter((m) => m.name.endsWith('.jpg')).entries())
    assert.ok(m.data.equals(image(i)), `sample ${i}`)
  assert.deepEqual(
    pythonTar(join(out, '00000.tar')).map(([name, size]) => [name, size]),
    resealed.map((m) => [m.name, m.size]),
  )
})

test('a sample neither staged nor in the old tar: sealing fails and says what to do', async (t) => {
  const out = await tempDir()
  t.after(() => cleanup(out))
  const ctx = setUp(out)
  const first = new Shard(0, ctx, undefined)
  first.add(0, row(ctx, 0, 'failed'))
  await first.seal(Uint8Array.from([1, 0, 0, 0, 0, 0]))
  first.cleanUp()
  mkdirSync(shardWork(ctx.paths, '00000').staging)
  const broken = new Shard(0, ctx, null)
  const line = JSON.parse(row(ctx, 0, 'skipped')) as SampleRow // "done before", but nowhere
  broken.add(0, JSON.stringify(line))
  await assert.rejects(
    () => broken.seal(Uint8Array.from([1, 0, 0, 0, 0, 0])),
    /000000\.jpg is neither staged nor in 00000\.tar as its row describes it: remove 00000\.tar/,
  )
})

test('a sample in the old tar is copied only if it is the image its row describes: the same size is not enough', async (t) => {
  const out = await tempDir()
  t.after(() => cleanup(out))
  const ctx = setUp(out)
  const first = new Shard(0, ctx, undefined)
  first.add(0, row(ctx, 0, 'ok'))
  assert.equal(await first.seal(Uint8Array.from([1, 0, 0, 0, 0, 0])), true)
  first.cleanUp()
  mkdirSync(shardWork(ctx.paths, '00000').staging)
  // The journal says row 0 is an image of the same size, other bytes (the tar was sealed by a run
  // that did not keep the journal): resealing must not pair that row with the tar's bytes.
  const line = JSON.parse(row(ctx, 0, 'skipped')) as SampleRow
  line.columns.sha256 = sha256(Buffer.alloc(image(0).length, 1))
  line.columns.caption = 'changed, so the shard is sealed again'
  const again = new Shard(0, ctx, null)
  again.add(0, JSON.stringify(line))
  await assert.rejects(
    () => again.seal(Uint8Array.from([1, 0, 0, 0, 0, 0])),
    /000000\.jpg is neither staged nor in 00000\.tar as its row describes it/,
  )
})

test('a sealed shard unpacked and packed again by a tar tool: resealing takes its samples from it, verified; a damaged one is named', async (t) => {
  // Packing a folder as tar tools do names its entries `./KEY.ext` after a `./` folder entry, in
  // the order the file system lists them (microsoft/litebox#552; webdataset/webdataset#26: tar
  // without --sort=name), and POSIX tar and Python's tarfile put pax headers before entries
  // (webdataset/webdataset#226: `././@PaxHeader`). Resealing such a shard stopped the run with
  // `unexpected tar entry type 5 at byte 0`, naming no file.
  const out = await tempDir()
  t.after(() => cleanup(out))
  const ctx = setUp(out)
  const work = shardWork(ctx.paths, '00000')
  const tarPath = join(out, '00000.tar')
  const first = new Shard(0, ctx, undefined)
  for (const i of [0, 1, 2]) first.add(i, row(ctx, i, 'ok'))
  first.add(3, row(ctx, 3, 'failed'))
  assert.equal(await first.seal(Uint8Array.from([1, 1, 1, 1, 0, 0])), true)
  first.cleanUp()
  const files = join(out, 'unpacked')
  mkdirSync(files)
  execFileSync('tar', ['-xf', tarPath, '-C', files])
  const repack: Record<string, () => void> = {
    'GNU tar -C dir .': () => execFileSync('tar', ['-cf', tarPath, '-C', files, '.']),
    'tar --format=posix': () => execFileSync('tar', ['--format=posix', '-cf', tarPath, '-C', files, '.']),
    "Python's tarfile, in reverse order": () =>
      execFileSync('python3', [
        '-c',
        'import os, sys, tarfile\nwith tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:\n    for n in sorted(os.listdir(sys.argv[2]), reverse=True): t.add(os.path.join(sys.argv[2], n), arcname=n, filter=lambda i: (setattr(i, "pax_headers", {"comment": "repacked"}), i)[1])',
        tarPath,
        files,
      ]),
  }
  for (const [how, pack] of Object.entries(repack)) {
    pack()
    mkdirSync(work.staging, { recursive: true })
    // Row 3 comes now: sealed again, rows 0-2 taken from the repacked tar.
    const again = new Shard(0, ctx, null)
    for (const i of [0, 1, 2]) again.add(i, row(ctx, i, 'skipped'))
    again.add(3, row(ctx, 3, 'ok'))
    assert.equal(await again.seal(Uint8Array.from([1, 1, 1, 1, 0, 0])), true, how)
    again.cleanUp()
    const images = (await readTar(tarPath)).filter((m) => m.name.endsWith('.jpg'))
    assert.deepEqual(
      images.map((m) => m.name),
      ['000000.jpg', '000001.jpg', '000002.jpg', '000003.jpg'],
      how,
    )
    for (const [i, m] of images.entries()) assert.ok(m.data.equals(image(i)), `${how}: sample ${i}`)
  }

  /** Row 4 comes, rows 0-3 to be taken from the tar as it now is: the sealing's message. */
  const resealed = async (): Promise<string> => {
    mkdirSync(work.staging, { recursive: true })
    const shard = new Shard(0, ctx, null)
    for (const i of [0, 1, 2, 3]) shard.add(i, row(ctx, i, 'skipped'))
    shard.add(4, row(ctx, 4, 'ok'))
    return shard.seal(Uint8Array.from([1, 1, 1, 1, 1, 0])).then(
      () => 'sealed',
      (e: Error) => e.message,
    )
  }
  // A tar compressed under its plain name (`tar -czf 00000.tar`): said so, with how to unpack it.
  const plain = readFileSync(tarPath)
  writeFileSync(tarPath, gzipSync(plain))
  assert.equal(
    await resealed(),
    `${tarPath} is gzip-compressed, where a shard's tar is plain: unpack it in its place (mv ${tarPath} ${tarPath}.gz && gzip -d ${tarPath}.gz), or remove it and run again to fetch its samples anew`,
  )
  writeFileSync(tarPath, plain)
  // A tar whose header is damaged: the message names it and the byte.
  const header = 512 + paddedSize(image(0).length)
  const bytes = readFileSync(tarPath)
  bytes.fill(0x41, header, header + 100)
  writeFileSync(tarPath, bytes)
  assert.equal(
    await resealed(),
    `${tarPath}: byte ${header} is not a tar header (its checksum is wrong): the tar is damaged; remove it and run again to fetch its samples anew`,
  )
  // One cut short (a copy that stopped): named so, not read past its end.
  writeFileSync(tarPath, readFileSync(tarPath).subarray(0, 700))
  assert.equal(
    await resealed(),
    `${tarPath}: the entry at byte 0 runs past the tar's end (700 bytes): the tar is cut short; remove it and run again to fetch its samples anew`,
  )
})

test('tar headers: what Python reads from them, base-256 sizes past 8 GiB included', () => {
  const script =
    'import sys, tarfile\nfor hexbuf in sys.argv[1:]:\n    i = tarfile.TarInfo.frombuf(bytes.fromhex(hexbuf), "utf-8", "surrogateescape")\n    print(i.name, i.size, oct(i.mode), i.mtime, i.uid, i.gid, repr(i.uname), i.type == tarfile.REGTYPE)'
  const cases: [string, number][] = [
    ['000000042.jpg', 12_345],
    ['x.json', 0],
    ['a'.repeat(100), 8 ** 11 - 1],
    ['big.tif', 8 ** 11 + 5],
    ['huge.tif', 2 ** 40 + 3],
  ]
  const lines = execFileSync(
    'python3',
    ['-c', script, ...cases.map(([n, s]) => tarHeader(n, s).toString('hex'))],
    {
      encoding: 'utf8',
    },
  )
    .trim()
    .split('\n')
  assert.deepEqual(
    lines,
    cases.map(([name, size]) => `${name} ${size} 0o644 0 0 0 '' True`),
  )
  assert.throws(() => tarHeader('é.jpg', 1), /not a short ASCII tar name/)
  assert.throws(() => tarHeader('a'.repeat(101), 1), /not a short ASCII tar name/)
})

test('an entry past 8 GiB (a sparse tar): its base-256 size read back as written, and as GNU tar writes it', async () => {
  // A gigapixel TIFF past ustar's 11 octal digits: the reader that reseals a shard from its old tar
  // (TarScan) and the spool's (readHeader) must find the entry after it, not a size cut to 8 GiB.
  const sizes = [8 ** 11 - 1, 8 ** 11, 8 ** 11 + 5, 2 ** 40 + 3, 2 ** 53 - 1]
  const script =
    'import sys, tarfile\nfor size in sys.argv[1:]:\n    i = tarfile.TarInfo("big.tif"); i.size = int(size)\n    print(i.tobuf(tarfile.GNU_FORMAT).hex())'
  const gnu = execFileSync('python3', ['-c', script, ...sizes.map(String)], { encoding: 'utf8' })
    .trim()
    .split('\n')
  sizes.forEach((size, i) => {
    assert.equal(readHeader(tarHeader('big.tif', size))?.size, size)
    assert.equal(readHeader(Buffer.from(gnu[i]!, 'hex'))?.size, size, `GNU tar's header of ${size} bytes`)
  })
  const out = await tempDir()
  try {
    const path = join(out, 'sparse.tar')
    const size = 8 ** 11 + 5
    const fd = openSync(path, 'w')
    writeSync(fd, tarHeader('000000.tif', size), 0, 512, 0)
    writeSync(fd, tarHeader('000000.json', 2), 0, 512, 512 + paddedSize(size))
    writeSync(fd, Buffer.from('{}'), 0, 2, 1024 + paddedSize(size))
    // The entry's 8 GiB are a hole: the test writes 2 KB of the disk.
    ftruncateSync(fd, 1024 + paddedSize(size) + 512 + 1024)
    closeSync(fd)
    const scan = new TarScan(path)
    try {
      assert.deepEqual(scan.find('000000.tif'), { name: '000000.tif', offset: 512, size })
      assert.deepEqual(scan.find('000000.json'), {
        name: '000000.json',
        offset: 1024 + paddedSize(size),
        size: 2,
      })
    } finally {
      scan.close()
    }
    assert.match(
      execFileSync('tar', ['tvf', path], { encoding: 'utf8' }),
      / 8589934597 .* 000000\.tif\n.* 2 .* 000000\.json/,
    )
  } finally {
    await cleanup(out)
  }
})

test('a staged sample that is not the recorded size, longer or shorter, never goes into a tar', async (t) => {
  for (const [what, change, expected] of [
    ['longer', (b: Buffer) => Buffer.concat([b, Buffer.from('x')]), /is longer than \d+ bytes as recorded/],
    ['shorter', (b: Buffer) => b.subarray(0, b.length - 1), /ended at byte \d+ of \d+/],
  ] as const) {
    const out = await tempDir()
    t.after(() => cleanup(out))
    const ctx = setUp(out)
    const shard = new Shard(0, ctx, undefined)
    const line = row(ctx, 0, 'ok')
    const staged = join(shardWork(ctx.paths, '00000').staging, '000000.jpg')
    writeFileSync(staged, change(image(0)))
    // Written to the tar as soon as its turn comes (here at once), or when the shard is sealed.
    await assert.rejects(
      async () => {
        shard.add(0, line)
        await shard.seal(Uint8Array.from([1, 0, 0, 0, 0, 0]))
      },
      expected,
      what,
    )
    assert.equal(existsSync(join(out, '00000.tar')), false, `${what}: no tar under its name`)
  }
})

test('many tars open at once share one output buffer, and each holds its own entries in order', async (t) => {
  const dir = await tempDir()
  t.after(() => cleanup(dir))
  const count = 64
  const before = process.memoryUsage().arrayBuffers
  const tars = Array.from({ length: count }, (_, i) => TarFile.create(join(dir, `${i}.tar`)))
  // Entries taking turns between the tars, as rows of shards side by side finish: each tar had a
  // 1 MiB buffer of its own (64 MiB here; 128 MiB for the 128 shards a run may hold open).
  for (let round = 0; round < 3; round++)
    for (const [i, tar] of tars.entries())
      tar.add(`k${i}-${round}.txt`, `tar ${i} entry ${round} `.repeat(40))
  const grew = process.memoryUsage().arrayBuffers - before
  assert.ok(grew < 8 * 1024 * 1024, `${count} open tars took ${(grew / 2 ** 20).toFixed(1)} MiB of buffers`)
  tars[1].discard()
  for (const [i, tar] of tars.entries()) if (i !== 1) await tar.finish()
  for (const i of [0, 2, count - 1]) {
    const members = await readTar(join(dir, `${i}.tar`))
    assert.deepEqual(
      members.map((m) => [m.name, m.data.toString()]),
      [0, 1, 2].map((r) => [`k${i}-${r}.txt`, `tar ${i} entry ${r} `.repeat(40)]),
    )
  }
})

test("a tar's full buffers are written on libuv's pool, not on the thread; the tar's bytes are the same", async (t) => {
  // A sample's bytes went into the tar with writeSync on the engine's thread: 6.2 s of the main
  // thread's 18.8 s busy in a run of many-small's 5,000 images as one shard, on a busy disk.
  const dir = await tempDir()
  t.after(() => cleanup(dir))
  const entries = Array.from({ length: 12 }, (_, i) => ({
    name: `${String(i).padStart(4, '0')}.jpg`,
    data: Buffer.alloc(700_000 + i * 1_001, i + 1),
  }))
  const real = fs.writeSync
  let onThread = 0
  fs.writeSync = ((...args: Parameters<typeof real>) => {
    onThread++
    return real(...args)
  }) as typeof real
  syncBuiltinESMExports()
  const restore = () => {
    fs.writeSync = real
    syncBuiltinESMExports()
  }
  t.after(restore)
  const burst = join(dir, 'burst.tar')
  const tar = TarFile.create(burst)
  for (const { name, data } of entries.slice(0, 4)) tar.add(name, data)
  assert.equal(onThread, 0, 'the full buffers were written on the thread')
  // More full buffers at once than are written on the pool at once: the rest on the thread, in place.
  for (const { name, data } of entries.slice(4)) tar.add(name, data)
  await tar.finish()
  restore()
  // The same entries, each write done before the next entry: the same bytes.
  const paced = join(dir, 'paced.tar')
  const other = TarFile.create(paced)
  for (const { name, data } of entries) {
    other.add(name, data)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  await other.finish()
  assert.equal(statSync(burst).size, tar.size)
  assert.ok(readFileSync(burst).equals(readFileSync(paced)), 'the tars differ')
  const members = await readTar(burst)
  assert.deepEqual(
    members.map((m) => [m.name, sha256(m.data)]),
    entries.map((e) => [e.name, sha256(e.data)]),
  )
})

test("a write of a tar's that fails on the pool fails its finish; the next tar is whole", async (t) => {
  const base = await tempDir()
  t.after(() => cleanup(base))
  await onSmallDisk(t, join(base, 'disk'), '1000k', async (mnt) => {
    const path = join(mnt, 'full.tar')
    const tar = TarFile.create(path)
    // Four buffers' worth in one go, all handed to the pool: the disk holds one.
    for (let i = 0; i < 4; i++) tar.add(`${i}.jpg`, Buffer.alloc(1_000_000, i))
    await assert.rejects(tar.finish(), /ENOSPC/)
    // A later tar on another disk is whole: the failed one left no buffer behind to be written.
    const next = TarFile.create(join(base, 'next.tar'))
    next.add('a.txt', 'a')
    await next.finish()
    assert.deepEqual(
      (await readTar(join(base, 'next.tar'))).map((m) => [m.name, m.data.toString()]),
      [['a.txt', 'a']],
    )
  })
})

test('sealing flushes the shard to the disk off the thread: its event loop turns meanwhile', async (t) => {
  // The shard writer runs on the engine's thread: a tar of real images can take seconds to reach
  // the disk, and transfers must not wait for it.
  const out = await tempDir()
  t.after(() => cleanup(out))
  const ctx = setUp(out)
  const shard = new Shard(0, ctx, undefined)
  shard.add(0, row(ctx, 0, 'ok'))
  let turned = false
  setImmediate(() => {
    turned = true
  })
  assert.equal(await shard.seal(Uint8Array.from([1, 0, 0, 0, 0, 0])), true)
  assert.ok(turned, 'the event loop did not turn while the shard was sealed')
  shard.cleanUp()
  assert.deepEqual(
    (await readTar(join(out, '00000.tar'))).map((m) => m.name),
    ['000000.jpg', '000000.json', '000000.txt'],
  )
})
