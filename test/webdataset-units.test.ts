import assert from 'node:assert/strict'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { indexDigits, parseSamplePath, samplePath, samplePlace } from '../src/sinks/webdataset/keys.js'
import { carriedType, shardParquet } from '../src/sinks/webdataset/parquet.js'
import { OWN_COLUMNS, sampleJson, sampleRow } from '../src/sinks/webdataset/row.js'
import { Spool } from '../src/sinks/webdataset/spool.js'
import { shardStats } from '../src/sinks/webdataset/stats.js'
import { tarHeader } from '../src/sinks/webdataset/tar.js'
import type { Job } from '../src/types.js'
import { cleanup, tempDir } from './support/cli.js'
import { hyparquetRows, readTar } from './support/shards.js'

// The pure rules of the WebDataset output: keys, rows, column types, stats.

test('sample keys: shard then index, zero-padded to the shard size, digits only (img2dataset)', () => {
  const cases: [row: number, shardSize: number, shard: number, index: number, key: string][] = [
    [0, 10_000, 0, 0, '000000000'],
    [42, 10_000, 0, 42, '000000042'],
    [9_999, 10_000, 0, 9_999, '000009999'],
    [10_000, 10_000, 1, 0, '000010000'],
    [30_042, 10_000, 3, 42, '000030042'],
    [7, 3, 2, 1, '000021'],
    [0, 1, 0, 0, '000000'],
    [5, 1, 5, 0, '000050'],
    [1_234_567, 1_000, 1_234, 567, '01234567'],
    [99_999 * 100 + 99, 100, 99_999, 99, '9999999'],
    // Past 99,999 shards the shard's digits grow: keys stay unique, names stay in order.
    [100_000 * 100, 100, 100_000, 0, '10000000'],
  ]
  for (const [row, size, shard, index, key] of cases) {
    const place = samplePlace(row, size)
    assert.deepEqual([place.shard, place.index, place.key], [shard, index, key], `row ${row} of ${size}`)
    assert.equal(place.stem, key.slice(0, key.length - indexDigits(size)))
    assert.doesNotMatch(place.key, /\./, 'no dot: WebDataset groups files by the name up to the first dot')
  }
  assert.deepEqual([1, 2, 10, 11, 100, 10_000, 10_001].map(indexDigits), [1, 1, 1, 2, 2, 4, 5])
  // Every key of two shards' worth is distinct.
  const keys = new Set(Array.from({ length: 2_000 }, (_, row) => samplePlace(row, 999).key))
  assert.equal(keys.size, 2_000)
})

test('a sample path names the tar and the member, and parses back', () => {
  assert.equal(samplePath('00003', '000030042.jpg'), '00003.tar/000030042.jpg')
  assert.deepEqual(parseSamplePath('00003.tar/000030042.jpg'), { stem: '00003', member: '000030042.jpg' })
  for (const other of ['photo.jpg', 'a/b.jpg', '00003.tar', '00003.tar/x/y.jpg', 'x00003.tar/a.jpg'])
    assert.equal(parseSamplePath(other), undefined, other)
})

const job = (meta: Record<string, unknown>, extra: Partial<Job> = {}): Job => ({
  url: 'https://user:secret@images.example/a.jpg',
  row: 42,
  key: 'row:42',
  meta,
  ...extra,
})

test('a row: own columns first under img2dataset names, carried ones after; clashes left out', () => {
  const ok = sampleRow(
    42,
    '000000042',
    job(
      { license: 'cc0', caption: 'carried caption', width: 1, WIDTH: 640, Sha256: 'x', __proto__x: 1 },
      { caption: 'a lake' },
    ),
    'ok',
    { attempts: 1, httpStatus: 206, bytes: 123, sha256: 'ab', format: 'webp', width: 64, height: 48 },
  )
  assert.deepEqual(Object.keys(ok.columns), [...OWN_COLUMNS, 'license', 'WIDTH', 'Sha256', '__proto__x'])
  assert.equal(ok.columns.url, 'https://images.example/a.jpg', 'credentials never reach the outputs')
  assert.equal(ok.columns.caption, 'a lake', "the caption is the row's caption, not a carried column")
  assert.equal(ok.columns.width, 64, 'the measured size wins over a carried column of the same name')
  assert.deepEqual(
    [ok.columns.original_width, ok.columns.original_height],
    [64, 48],
    'untransformed: as kept',
  )
  assert.equal(ok.columns.status, 'success')
  assert.deepEqual([ok.ext, ok.bytes], ['webp', 123])
  const json = JSON.parse(sampleJson(ok))
  assert.equal('http_status' in json, false, 'KEY.json must not depend on how the bytes came (206 on resume)')
  assert.equal(json.sha256, 'ab')

  const resized = sampleRow(0, '000000000', job({}), 'skipped', {
    attempts: 0,
    format: 'jpg',
    bytes: 9,
    width: 64,
    height: 48,
    originalWidth: 640,
    originalHeight: 480,
    transformed: true,
  })
  assert.deepEqual([resized.columns.original_width, resized.columns.original_height], [640, 480])
  assert.equal(resized.columns.status, 'success', 'skipped (done before) is a success too')

  const failed = sampleRow(1, '000000001', job({}), 'failed', {
    attempts: 3,
    httpStatus: 503,
    error: 'http-503',
    message: 'HTTP 503 from …',
  })
  assert.equal(failed.ext, undefined, 'a failed row has no files')
  assert.deepEqual(
    [failed.columns.status, failed.columns.error_code, failed.columns.http_status, failed.columns.width],
    ['failed', 'http-503', 503, null],
  )

  const proto = sampleRow(2, '000000002', job(JSON.parse('{"__proto__": "x"}')), 'failed', { attempts: 0 })
  assert.equal(Object.getPrototypeOf(proto.columns), Object.prototype)
  assert.equal(Object.getOwnPropertyDescriptor(proto.columns, '__proto__')?.value, 'x')
})

test('carried column types: one per column per shard, JSON when kinds mix', () => {
  const cases: [unknown[], string][] = [
    [['a', null, 'b'], 'STRING'],
    [[null, undefined], 'STRING'],
    [[], 'STRING'],
    [[true, false, null], 'BOOLEAN'],
    [[1, 2, -3], 'INT64'],
    [[1, 2.5], 'DOUBLE'],
    [[2 ** 60, 1], 'DOUBLE'],
    [[1, '2'], 'JSON'],
    [[['x'], null], 'JSON'],
    [[{ w: 1 }], 'JSON'],
    [['a', true], 'JSON'],
    // Integers past 2^53 come as text (a Parquet INT64, a JSON line): beside whole numbers, INT64.
    [['-5012345678901234567', 12345, '9007199254740993', null], 'INT64'],
    [['4611686018427387904'], 'STRING'],
    [['9007199254740993', 'a'], 'STRING'],
    [['a', '9007199254740993'], 'STRING'],
    [['99999999999999999999', 1], 'JSON'],
    [['0009007199254740993', 1], 'JSON'],
    [['12345', 1], 'JSON'],
  ]
  for (const [values, type] of cases) assert.equal(carriedType(values), type, JSON.stringify(values))
})

test('stats: counts by status and by code, download and resize failures apart, bytes of the samples', () => {
  const rows = [
    sampleRow(0, 'k0', job({}), 'ok', { attempts: 1, format: 'jpg', bytes: 100 }),
    sampleRow(1, 'k1', job({}), 'skipped', { attempts: 0, format: 'png', bytes: 50 }),
    sampleRow(2, 'k2', job({}), 'failed', { attempts: 1, error: 'http-404' }),
    sampleRow(3, 'k3', job({}), 'failed', { attempts: 1, error: 'too-small' }),
    sampleRow(4, 'k4', job({}), 'failed', { attempts: 1, error: 'http-404' }),
  ]
  assert.deepEqual(shardStats(rows, 1_000_000, 1_002_500), {
    count: 5,
    successes: 2,
    failed: 3,
    failed_to_download: 2,
    failed_to_resize: 1,
    status_dict: { success: 2, failed: 3 },
    error_dict: { 'http-404': 2, 'too-small': 1 },
    bytes: 150,
    start_time: 1000,
    end_time: 1002.5,
    duration: 2.5,
  })
})

test('a shard Parquet: the same rows give the same bytes; values and nulls read back', async (t) => {
  const rows = [
    sampleRow(0, 'k0', job({ id: 7, score: 0.5, tags: ['a'], note: null, WIDTH: 1024, Score: 9 }), 'ok', {
      attempts: 1,
      format: 'jpg',
      bytes: 1,
      width: 2,
      height: 3,
      sha256: 'ff',
      httpStatus: 200,
    }),
    sampleRow(1, 'k1', job({ id: 8, score: 1, tags: [], extra: 'only here' }), 'failed', {
      attempts: 1,
      error: 'timeout',
      message: 'idle timeout',
    }),
  ]
  const bytes = shardParquet(rows)
  assert.deepEqual(shardParquet(rows), bytes, 'deterministic')
  const dir = await tempDir()
  t.after(() => cleanup(dir))
  const file = join(dir, 'x.parquet')
  await writeFile(file, bytes)
  const back = await hyparquetRows(file)
  assert.equal(back.length, 2)
  assert.equal(back[0].id, 7n, 'whole numbers are INT64')
  const hashes = shardParquet([
    sampleRow(0, 'k0', job({ hash: '-5012345678901234567' }), 'failed', { attempts: 1, error: 'timeout' }),
    sampleRow(1, 'k1', job({ hash: 12345 }), 'failed', { attempts: 1, error: 'timeout' }),
  ])
  await writeFile(file, hashes)
  assert.deepEqual(
    (await hyparquetRows(file)).map((row) => row.hash),
    [-5012345678901234567n, 12345n],
    'an INT64 column with values past 2^53 (carried as text) is INT64, every digit kept',
  )
  assert.equal(back[1].score, 1, 'a column with a fraction is DOUBLE')
  assert.deepEqual(back[0].tags, ['a'], 'lists are JSON')
  assert.equal(back[0].extra, null, 'a column some rows lack is null there')
  assert.equal(back[1].extra, 'only here')
  assert.deepEqual([back[1].status, back[1].error_code, back[1].width], ['failed', 'timeout', null])
  // Named like an own column but for case: out of the Parquet (DuckDB would read it as `width`), in the .json.
  assert.equal('WIDTH' in back[0], false)
  assert.equal(JSON.parse(sampleJson(rows[0])).WIDTH, 1024)
  // So is one named like an earlier carried column but for case (DuckDB's `Score_1`, Spark's duplicate).
  assert.equal('Score' in back[0], false)
  assert.equal(JSON.parse(sampleJson(rows[0])).Score, 9)
})

test('the spool: entries appended at once read back after a reopen; a torn end, a hole or garbage ends it and is cut off', async (t) => {
  const dir = await tempDir()
  t.after(() => cleanup(dir))
  const path = join(dir, '00000.spool')
  const spool = await Spool.open(path)
  assert.equal(spool.entries.size, 0, 'no spool yet: nothing in it, and no file made')
  const bodies = [Buffer.alloc(1000, 1), Buffer.alloc(512, 2), Buffer.alloc(70_000, 3)]
  // Appended concurrently, each at its own reserved offset.
  const entries = await Promise.all(
    bodies.map((body, i) => spool.append(`00000000${i}.jpg`, [body.subarray(0, 10), body.subarray(10)])),
  )
  await spool.close()
  assert.deepEqual(
    entries.map((e) => e.size),
    bodies.map((b) => b.length),
  )
  const whole = await readFile(path)
  for (const [i, e] of entries.entries()) assert.ok(whole.subarray(e.at, e.at + e.size).equals(bodies[i]))
  // A tar without its end: tar tools list it.
  await writeFile(join(dir, 'listed.tar'), Buffer.concat([whole, Buffer.alloc(1024)]))
  assert.deepEqual(
    (await readTar(join(dir, 'listed.tar'))).map((m) => m.name),
    ['000000000.jpg', '000000001.jpg', '000000002.jpg'],
  )

  const reopened = await Spool.open(path)
  assert.deepEqual(
    [...reopened.entries.entries()],
    entries.map((e, i) => [`00000000${i}.jpg`, e]),
  )
  // Appends go on after the entries of earlier runs.
  const more = await reopened.append('000000003.jpg', [Buffer.alloc(5, 4)])
  await reopened.close()
  assert.equal(more.at, whole.length + 512)

  const end = whole.length
  const cases: [string, Buffer][] = [
    [
      'an entry cut in its bytes',
      Buffer.concat([whole, tarHeader('000000009.jpg', 9000), Buffer.alloc(100, 9)]),
    ],
    ['a header cut short', Buffer.concat([whole, tarHeader('000000009.jpg', 10).subarray(0, 300)])],
    [
      'a hole where a write never ran, then a whole entry',
      Buffer.concat([whole, Buffer.alloc(1024), tarHeader('000000009.jpg', 1), Buffer.alloc(512)]),
    ],
    [
      'a header with a wrong checksum',
      Buffer.concat([
        whole,
        (() => {
          const h = tarHeader('000000009.jpg', 1)
          h[0] ^= 1
          return h
        })(),
        Buffer.alloc(512),
      ]),
    ],
  ]
  for (const [what, bytes] of cases) {
    await writeFile(path, bytes)
    const s = await Spool.open(path)
    assert.deepEqual([...s.entries.keys()], ['000000000.jpg', '000000001.jpg', '000000002.jpg'], what)
    assert.equal((await stat(path)).size, end, `${what}: the spool is cut after its whole entries`)
    await s.close()
  }
})
