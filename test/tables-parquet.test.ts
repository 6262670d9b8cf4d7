import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFile, mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { parquetMetadataAsync } from 'hyparquet'
import { parquetWriteFile } from 'hyparquet-writer'
import { UsageError } from '../src/errors.js'
import { openFileBuffer } from '../src/sources/tables/file-buffer.js'
import { openTables, tableSource } from '../src/sources/tables/index.js'
import { planRanges } from '../src/sources/tables/parquet.js'
import { duckdbRun } from './support/shards.js'
import { readAll, readUntilError, tempFolder } from './support/tables.js'

const FIXTURES = fileURLToPath(new URL('./fixtures/tables/', import.meta.url))
const dir = await tempFolder()

async function rowGroups(path: string): Promise<number[]> {
  const buffer = await openFileBuffer(path)
  try {
    return (await parquetMetadataAsync(buffer)).row_groups.map((g) => Number(g.num_rows))
  } finally {
    await buffer.close()
  }
}

test('Parquet: row groups in order, INT64, timestamps, strings and nulls (hyparquet-writer)', async () => {
  const path = join(dir, 'small.parquet')
  parquetWriteFile({
    filename: path,
    rowGroupSize: 2,
    columnData: [
      {
        name: 'url',
        data: ['https://images.example/a.jpg', null, '', 'not a url', 'https://images.example/e.jpg'],
        type: 'STRING',
      },
      { name: 'caption', data: ['a', 'b', null, '', 'e'], type: 'STRING' },
      { name: 'id', data: [1n, 2n ** 62n, null, -5n, 0n], type: 'INT64' },
      {
        name: 'taken',
        data: [new Date('2024-01-02T03:04:05.678Z'), null, new Date(0), null, null],
        type: 'TIMESTAMP',
      },
      { name: 'ok', data: [true, false, null, true, false], type: 'BOOLEAN' },
    ],
  })
  assert.deepEqual(await rowGroups(path), [2, 2, 1])
  const jobs = await readAll([path], { captionCol: 'caption', columns: ['id', 'taken', 'ok'] })
  assert.deepEqual(
    jobs.map((j) => j.invalid?.message),
    [
      undefined,
      `${path} row 1 (row group 0): invalid URL "": the URL cell is empty`,
      `${path} row 2 (row group 1): invalid URL "": the URL cell is empty`,
      `${path} row 3 (row group 1): invalid URL "not a url": not a URL`,
      undefined,
    ],
  )
  assert.deepEqual(
    jobs.map(({ invalid, ...job }) => job),
    [
      {
        url: 'https://images.example/a.jpg',
        row: 0,
        caption: 'a',
        meta: { id: 1, taken: '2024-01-02T03:04:05.678Z', ok: true },
      },
      { url: '', row: 1, caption: 'b', meta: { id: '4611686018427387904', taken: null, ok: false } },
      { url: '', row: 2, caption: '', meta: { id: null, taken: '1970-01-01T00:00:00.000Z', ok: null } },
      { url: 'not a url', row: 3, caption: '', meta: { id: -5, taken: null, ok: true } },
      { url: 'https://images.example/e.jpg', row: 4, caption: 'e', meta: { id: 0, taken: null, ok: false } },
    ],
  )
})

test('Parquet: a row is named by its own number when a message is made after the reading moved on', async () => {
  // A fetch that fails names its row long after the reader read further: the place was made from
  // the range's start as it stood then, and named row 10 of a 10-row table (rows 10 to 19).
  const path = join(FIXTURES, 'duckdb-snappy.parquet')
  const jobs = await readAll([path], { captionCol: 'caption' })
  const where = (i: number) => (jobs[i] as unknown as { where: string }).where
  assert.equal(where(0), `${path} row 0 (row group 0)`)
  assert.equal(where(1), `${path} row 1 (row group 0)`)
  assert.equal(where(2047), `${path} row 2047 (row group 0)`)
  assert.equal(where(2048), `${path} row 2048 (row group 1)`)
  assert.equal(where(4999), `${path} row 4999 (row group 2)`)
  const wrong = jobs
    .map((_, i) => i)
    .filter((i) => where(i) !== `${path} row ${i} (row group ${Math.floor(i / 2048)})`)
  assert.deepEqual(wrong, [])
})

test('Parquet written by DuckDB, under every codec it has, three row groups each', async () => {
  for (const codec of ['snappy', 'gzip', 'zstd', 'brotli', 'lz4-raw', 'uncompressed']) {
    const path = join(FIXTURES, `duckdb-${codec}.parquet`)
    assert.deepEqual(await rowGroups(path), [2048, 2048, 904], codec)
    const jobs = await readAll([path], { captionCol: 'caption' })
    assert.equal(jobs.length, 5000, codec)
    for (const [i, job] of jobs.entries()) {
      const expected = {
        url: `https://images.example/${i}.jpg`,
        row: i,
        caption: `photo ${i}`,
        meta: { caption: `photo ${i}`, id: i },
      }
      if (job.url !== expected.url || job.row !== i || job.meta.id !== i)
        assert.deepEqual(job, expected, `${codec} row ${i}`)
    }
    assert.deepEqual(jobs[4999], {
      url: 'https://images.example/4999.jpg',
      row: 4999,
      caption: 'photo 4999',
      meta: { caption: 'photo 4999', id: 4999 },
    })
  }
})

test('Parquet types from DuckDB: INT64 past 2^53, timestamps to the nanosecond, dates, decimals, lists, structs, blobs', async () => {
  const jobs = await readAll([join(FIXTURES, 'duckdb-types.parquet')], {
    captionCol: 'caption',
    hashCol: 'sha256',
  })
  const hex = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
  assert.deepEqual(jobs[0], {
    url: 'https://images.example/a.jpg',
    row: 0,
    caption: 'a red fox',
    expectedHash: { type: 'sha256', value: hex },
    meta: {
      n: 0,
      caption: 'a red fox',
      big: '9007199254740993',
      // DuckDB's TIMESTAMP has no zone (isAdjustedToUTC=false): a wall-clock time, no Z.
      ts: '2024-01-02T03:04:05.123456',
      ts_ns: '2024-01-02T03:04:05.123456789',
      day: '2024-02-29',
      // DECIMAL(18,3): more digits than a double holds, so its exact text.
      price: '12.345',
      tags: ['x', 'y'],
      size: { w: 640, h: 480 },
      raw: 'AP8=',
      flag: true,
      score: 1.5,
      sha256: hex.toUpperCase(),
    },
  })
  // Nulls: an empty URL, an empty caption, no hash. NaN, which JSON has not, stays the number (a
  // shard's Parquet DOUBLE holds it; the manifest and the .json make it null).
  assert.deepEqual(jobs[1], {
    invalid: {
      code: 'invalid-url',
      message: `${join(FIXTURES, 'duckdb-types.parquet')} row 1 (row group 0): invalid URL "": the URL cell is empty`,
    },
    url: '',
    row: 1,
    caption: '',
    meta: {
      n: 1,
      caption: null,
      big: -1,
      ts: null,
      ts_ns: null,
      day: null,
      price: null,
      tags: [],
      size: null,
      raw: null,
      flag: null,
      score: Number.NaN,
      sha256: null,
    },
  })
  assert.equal(jobs[2].meta.ts, '1969-12-31T23:59:59.999999')
  assert.equal(jobs[2].meta.price, '-0.500')
  assert.deepEqual(jobs[2].meta.size, { w: null, h: 1 })
  assert.equal(jobs[2].caption, '', 'an empty caption is empty text (an empty KEY.txt)')
  assert.equal(jobs[2].expectedHash, undefined, 'an empty hash is no hash')
  assert.equal(jobs[3].url, 'not a url')
  assert.equal(jobs[3].meta.score, Number.POSITIVE_INFINITY, 'Infinity stays the number (JSON has it not)')
  assert.equal(jobs[3].invalid?.code, 'invalid-hash')
  assert.match(
    jobs[3].invalid!.message,
    /duckdb-types\.parquet row 3 \(row group 0\): "nothex" is not a sha256/,
  )
  assert.equal(jobs[4].caption, 'ünïcödé ✓')
  assert.equal(jobs[4].meta.big, 9007199254740991)
  assert.deepEqual(jobs[4].expectedHash, { type: 'sha256', value: hex }, 'base64 hash')
  assert.equal(jobs.length, 6)
  for (const job of jobs) {
    const finite = Object.entries(job.meta).map(([k, v]) => [
      k,
      Number.isFinite(v) || typeof v !== 'number' ? v : null,
    ])
    assert.deepEqual(
      JSON.parse(JSON.stringify(job.meta)),
      Object.fromEntries(finite),
      'meta is JSON-safe but NaN, ±Infinity',
    )
  }
})

async function writeLargeGroup(path: string, offsetIndex: boolean, rows = 40_000): Promise<void> {
  parquetWriteFile({
    filename: path,
    rowGroupSize: rows,
    columnData: [
      {
        name: 'url',
        data: Array.from({ length: rows }, (_, i) => `https://images.example/${'p'.repeat(80)}/${i}.jpg`),
        type: 'STRING',
        offsetIndex,
      },
      {
        name: 'sha',
        data: Array.from({ length: rows }, (_, i) => i.toString(16).padStart(8, '0').repeat(8)),
        type: 'STRING',
        offsetIndex,
      },
    ],
  })
}

test('a large row group is read in bounded ranges, with or without an offset index, every row once', async () => {
  for (const offsetIndex of [true, false]) {
    const path = join(dir, `large-${offsetIndex}.parquet`)
    await writeLargeGroup(path, offsetIndex)
    const buffer = await openFileBuffer(path)
    try {
      const metadata = await parquetMetadataAsync(buffer)
      const ranges = await planRanges(buffer, metadata.row_groups[0], ['url', 'sha'])
      assert.ok(ranges.rows > 4096 && ranges.rows < 40_000 / 1.5, `ranges of ${ranges.rows} rows`)
    } finally {
      await buffer.close()
    }
    let row = 0
    for await (const job of tableSource([path], { hashCol: 'sha' })) {
      const sha = row.toString(16).padStart(8, '0').repeat(8)
      if (
        job.row !== row ||
        job.url !== `https://images.example/${'p'.repeat(80)}/${row}.jpg` ||
        job.expectedHash?.value !== sha
      )
        assert.fail(`row ${row}: ${JSON.stringify(job)}`)
      row++
    }
    assert.equal(row, 40_000)
  }
})

test('a row group in one page is decoded whole, not once per range', async () => {
  const path = join(dir, 'one-page.parquet')
  const rows = 30_000
  parquetWriteFile({
    filename: path,
    rowGroupSize: rows,
    pageSize: 64 * 1024 * 1024,
    columnData: [
      {
        name: 'url',
        data: Array.from({ length: rows }, (_, i) => `https://images.example/${'q'.repeat(150)}/${i}.jpg`),
        type: 'STRING',
      },
    ],
  })
  const buffer = await openFileBuffer(path)
  try {
    const metadata = await parquetMetadataAsync(buffer)
    assert.deepEqual(await planRanges(buffer, metadata.row_groups[0], ['url']), { rows, least: rows })
  } finally {
    await buffer.close()
  }
})

test('columns not needed are not decoded: a broken one is harmless unless it is carried', async () => {
  const path = join(dir, 'broken-column.parquet')
  const rows = 100
  parquetWriteFile({
    filename: path,
    columnData: [
      {
        name: 'url',
        data: Array.from({ length: rows }, (_, i) => `https://images.example/${i}.jpg`),
        type: 'STRING',
      },
      { name: 'junk', data: Array.from({ length: rows }, (_, i) => `junk ${i}`), type: 'STRING' },
    ],
  })
  const buffer = await openFileBuffer(path)
  const junk = (await parquetMetadataAsync(buffer)).row_groups[0].columns[1].meta_data!
  await buffer.close()
  // Overwrite the junk column's first page header: no reader can decode that chunk any more.
  const handle = await open(path, 'r+')
  await handle.write(Buffer.alloc(12, 0xff), 0, 12, Number(junk.data_page_offset))
  await handle.close()

  const picked = await readAll([path], { columns: [] })
  assert.equal(picked.length, rows)
  assert.deepEqual(picked[99], { url: 'https://images.example/99.jpg', row: 99, meta: {} })
  const { jobs, error } = await readUntilError([path])
  assert.equal(jobs.length, 0)
  assert.ok(error instanceof UsageError)
  assert.match(
    error.message,
    /^cannot decode .*broken-column\.parquet row group 0 \(rows 0 to 99\), column "junk": .*: leave it out with --columns, naming the columns to carry$/,
  )
  const named = await readUntilError([path], { columns: ['junk'] })
  assert.match(String(named.error), /, column "junk": .*: leave it out of --columns$/)
})

test('a text cell that is not UTF-8 stops the reading, naming the row group: never replaced by U+FFFD', async () => {
  const path = join(dir, 'latin1.parquet')
  const latin1 = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'))
  parquetWriteFile({
    filename: path,
    columnData: [
      {
        name: 'url',
        data: [latin1('https://images.example/a.jpg'), latin1('https://images.example/caf\xe9.jpg')],
      },
      { name: 'caption', data: [latin1('plain'), latin1('caf\xe9 cr\xe8me')] },
    ],
    schema: [
      { name: 'root', num_children: 2 },
      { name: 'url', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'caption', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
    ],
  })
  const { jobs, error } = await readUntilError([path], { captionCol: 'caption' })
  assert.equal(jobs.length, 0)
  assert.ok(error instanceof UsageError)
  assert.match(
    error.message,
    /latin1\.parquet row group 0 .*a text cell is not UTF-8 \(bytes [0-9a-f]+\): convert/,
  )
  // ENUM columns are text stored as binary: held to UTF-8 the same way.
  const enumPath = join(dir, 'latin1-enum.parquet')
  parquetWriteFile({
    filename: enumPath,
    columnData: [{ name: 'url', data: [latin1('https://images.example/caf\xe9.jpg')] }],
    schema: [
      { name: 'root', num_children: 1 },
      { name: 'url', type: 'BYTE_ARRAY', converted_type: 'ENUM', repetition_type: 'OPTIONAL' },
    ],
  })
  const enumRead = await readUntilError([enumPath])
  assert.ok(enumRead.error instanceof UsageError, String(enumRead.error))
  assert.match(
    enumRead.error.message,
    /latin1-enum\.parquet row 0 \(row group 0\), column "url": a text cell is not UTF-8/,
  )
})

// An earlier hunt noticed: the caption of a BINARY column was its text, its copy in meta base64 of the same bytes.
test("URL and caption columns stored as bytes (BINARY, no text annotation) are held to UTF-8 too, the caption's copy in meta the same text; other carried bytes stay base64", async () => {
  const latin1 = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'))
  const binary = (names: string[]) => [
    { name: 'root', num_children: names.length },
    ...names.map((name) => ({ name, type: 'BYTE_ARRAY' as const, repetition_type: 'OPTIONAL' as const })),
  ]
  const good = join(dir, 'binary-utf8.parquet')
  parquetWriteFile({
    filename: good,
    columnData: [
      { name: 'url', data: [latin1('https://images.example/a.jpg')] },
      { name: 'caption', data: [new Uint8Array(Buffer.from('café'))] },
      { name: 'blob', data: [latin1('\xff\x00')] },
    ],
    schema: binary(['url', 'caption', 'blob']),
  })
  assert.deepEqual(await readAll([good], { captionCol: 'caption' }), [
    {
      url: 'https://images.example/a.jpg',
      row: 0,
      caption: 'café',
      meta: { caption: 'café', blob: '/wA=' },
    },
  ])
  for (const [column, options] of [
    ['url', {}],
    ['caption', { captionCol: 'caption' }],
  ] as const) {
    const path = join(dir, `binary-latin1-${column}.parquet`)
    parquetWriteFile({
      filename: path,
      columnData: [
        {
          name: 'url',
          data: [latin1('https://images.example/a.jpg'), latin1('https://images.example/b.jpg')],
        },
        { name: 'caption', data: [latin1('plain'), latin1('plain')] },
      ].map((c) =>
        c.name === column
          ? { ...c, data: [c.data[0], latin1(`${Buffer.from(c.data[1]).toString('latin1')}\xe9`)] }
          : c,
      ),
      schema: binary(['url', 'caption']),
    })
    // The U+FFFD decoding fetched https://images.example/b.jpg\uFFFD and changed the caption.
    const { jobs, error } = await readUntilError([path], options)
    assert.equal(jobs.length, 1)
    assert.ok(error instanceof UsageError, String(error))
    assert.match(
      error.message,
      new RegExp(
        `binary-latin1-${column}\\.parquet row 1 \\(row group 0\\), column "${column}": a text cell is not UTF-8`,
      ),
    )
  }
})

/**
 * An LZ4 block as the reference encoder (LZ4_compress_default) writes a short input: literals only
 * (a token, its length past 15 in extra bytes, the bytes), an empty input the token 0x00 alone.
 */
function lz4Literals(bytes: Uint8Array): Uint8Array {
  const length = [Math.min(bytes.length, 15) << 4]
  for (let rest = bytes.length - 15; rest >= 0; rest -= 255) length.push(Math.min(rest, 255))
  return Uint8Array.from([...length, ...bytes])
}

test("LZ4 pages that hold nothing (an all-null column's dictionary, as polars writes LZ4_RAW) are read, every row", async () => {
  // The block of an empty page is the token 0x00 alone, which hyparquet-compressors took for a
  // match with offset 0: "lz4 offset out of range 0", the file unreadable past its first row group.
  const hadoop = (bytes: Uint8Array) => {
    const block = lz4Literals(bytes)
    const head = Buffer.alloc(8)
    head.writeUInt32BE(bytes.length, 0)
    head.writeUInt32BE(block.length, 4)
    return Uint8Array.from([...head, ...block])
  }
  const urls = ['https://images.example/a.jpg', 'https://images.example/b.jpg']
  for (const [codec, compress] of [
    ['LZ4_RAW', lz4Literals],
    ['LZ4', hadoop],
  ] as const) {
    const path = join(dir, `empty-pages-${codec}.parquet`)
    parquetWriteFile({
      filename: path,
      codec,
      compressors: { [codec]: compress },
      columnData: [
        { name: 'url', data: urls, type: 'STRING' },
        // A dictionary of no values, as polars and pyarrow write one for an all-null column.
        { name: 'caption', data: [null, null], type: 'STRING', encoding: 'RLE_DICTIONARY' },
        { name: 'n', data: [null, null], type: 'INT64', encoding: 'RLE_DICTIONARY' },
      ],
    })
    const jobs = await readAll([path], { captionCol: 'caption' })
    assert.deepEqual(
      jobs.map((j) => [j.url, j.caption, j.meta]),
      urls.map((url) => [url, '', { caption: null, n: null }]),
      codec,
    )
  }
})

test('a needed column under a codec nothing here decodes (LZO) is refused before the first row of any file; one not needed is not read', async () => {
  // Found at its first row group, it stopped a run midway through a folder, the files before it
  // fetched, saying "parquet unsupported compression codec: LZO" and nothing of what to do.
  const folder = join(dir, 'lzo')
  await mkdir(folder)
  const urls = ['https://images.example/a.jpg', 'https://images.example/b.jpg']
  parquetWriteFile({
    filename: join(folder, 'a.parquet'),
    columnData: [{ name: 'url', data: urls, type: 'STRING' }],
  })
  const lzo = join(folder, 'b.parquet')
  parquetWriteFile({
    filename: lzo,
    columnData: [
      { name: 'url', data: urls, type: 'STRING' },
      { name: 'note', data: ['x', 'y'], type: 'STRING', codec: 'LZO' },
    ],
    // The bytes as they are: the codec named in the footer is what the reader goes by.
    compressors: { LZO: (bytes: Uint8Array) => bytes },
  })
  const { jobs, error } = await readUntilError([folder])
  assert.equal(jobs.length, 0)
  assert.ok(error instanceof UsageError)
  assert.equal(
    error.message,
    `${lzo} column "note" is compressed with LZO, which imgpull does not read (nor do DuckDB and pyarrow): write the file again with another codec where it was made (Spark: .option("compression", "zstd"))`,
  )
  // Left out of the columns carried, it is never decoded: the rows read.
  assert.deepEqual(
    (await readAll([lzo], { columns: [] })).map((j) => j.url),
    urls,
  )
})

test('a gzip-compressed Parquet file is read through a temporary copy, removed afterwards', async () => {
  const temp = join(dir, 'temp')
  await mkdir(temp)
  const gz = join(dir, 'zstd.parquet.gz')
  await writeFile(gz, gzipSync(await readFile(join(FIXTURES, 'duckdb-zstd.parquet'))))
  const plain = await readAll([join(FIXTURES, 'duckdb-zstd.parquet')])
  assert.deepEqual(await readAll([gz], { tempDir: temp }), plain)
  assert.deepEqual(await readdir(temp), [])
  // Also when the reader stops early (the engine was stopped).
  for await (const job of tableSource([gz], { tempDir: temp })) {
    assert.equal(job.row, 0)
    assert.equal((await readdir(temp)).length, 1, 'the copy exists while rows are read')
    break
  }
  assert.deepEqual(await readdir(temp), [])
  // The copy a killed run left (its process gone) goes with the next run's; a live one's stays.
  const gone = spawnSync(process.execPath, ['-e', '0']).pid!
  const stale = `imgpull-table-${hostname()}-${gone}-abc123`
  const live = `imgpull-table-${hostname()}-${process.pid}-def456`
  for (const name of [stale, live]) await mkdir(join(temp, name, 'copy'), { recursive: true })
  assert.deepEqual(await readAll([gz], { tempDir: temp }), plain)
  assert.deepEqual(await readdir(temp), [live])
})

test('a file that is not Parquet, and a missing column, are usage errors before the first row', async () => {
  const fake = join(dir, 'fake.parquet')
  await writeFile(fake, 'url\nhttps://images.example/a.jpg\n')
  await assert.rejects(readAll([fake]), {
    name: 'UsageError',
    message: /fake\.parquet is not a readable Parquet file: /,
  })
  // An empty file (a download that failed) says so, not 'Offset is outside the bounds of the DataView'.
  const empty = join(dir, 'empty.parquet')
  await writeFile(empty, '')
  await assert.rejects(readAll([empty]), {
    name: 'UsageError',
    message: `${empty} is not a readable Parquet file: it is empty`,
  })
  const short = join(dir, 'short.parquet')
  await writeFile(short, 'PAR1')
  await assert.rejects(readAll([short]), {
    name: 'UsageError',
    message: `${short} is not a readable Parquet file: it holds only 4 bytes`,
  })
  const copy = join(dir, 'types.parquet')
  await copyFile(join(FIXTURES, 'duckdb-types.parquet'), copy)
  await assert.rejects(readAll([copy], { urlCol: 'image_url' }), {
    name: 'UsageError',
    message:
      /types\.parquet has no column "image_url" \(the URL column\); its columns: "n", "url", "caption", "big", "ts",/,
  })
})

test('a URL column that cannot hold text (a number, a timestamp, a list, a struct) is a usage error before the first row', async () => {
  // Without it, every row failed as invalid-url one by one (`invalid URL "["https://…"]"`) and the
  // run ended with nothing fetched.
  const copy = join(dir, 'url-types.parquet')
  await copyFile(join(FIXTURES, 'duckdb-types.parquet'), copy)
  const gz = join(dir, 'url-types.parquet.gz')
  await writeFile(gz, gzipSync(await readFile(copy)))
  for (const [urlCol, what] of [
    [
      'n',
      'of type INT32, not text, so every row would fail as invalid-url: name the column that holds the URLs with --url-col',
    ],
    ['ts', 'of type TIMESTAMP, not text'],
    ['price', 'of type DECIMAL, not text'],
    ['flag', 'of type BOOLEAN, not text'],
    ['score', 'of type DOUBLE, not text'],
    [
      'tags',
      'a list column, not text, so every row would fail as invalid-url: a row of several URLs needs one row per URL (pandas: df.explode("tags"); DuckDB: unnest)',
    ],
    ['size', 'a struct column, not text'],
  ] as const) {
    for (const path of [copy, gz]) {
      const { jobs, error } = await readUntilError([path], { urlCol })
      assert.deepEqual(jobs, [], `${urlCol} in ${path}`)
      assert.ok(error instanceof UsageError, `${urlCol} in ${path}: ${error}`)
      assert.ok(error.message.startsWith(`${path}: the URL column "${urlCol}" is ${what}`), error.message)
    }
  }
  // A field of a struct, named with a dot: --url-col names top-level columns.
  await assert.rejects(readAll([copy], { urlCol: 'size.w' }), {
    name: 'UsageError',
    message:
      /has no column "size\.w" \(the URL column\); .*: "size\.w" is "w" inside the column "size", and --url-col names top-level columns: make it one first, e\.g\. duckdb -c "COPY \(SELECT size\.w AS w, \* FROM 'in\.parquet'\) TO 'flat\.parquet'", then --url-col w$/,
  })
  // Text, and bytes read as text, are URL columns (their cells judged one by one).
  for (const urlCol of ['url', 'caption', 'sha256'])
    assert.equal((await readAll([copy], { urlCol })).length > 0, true, urlCol)
})

test("Hugging Face datasets' Image struct {bytes, path} is said to hold the images, named or found in place of the URL column", async () => {
  // `datasets` embeds each image's bytes beside the name of its file (huggingface/datasets#4987,
  // mlcommons/croissant#689). It was "did you mean --url-col "image"?", then "a struct column,
  // not text ... name the column that holds the URLs", which no column of such a file is.
  const path = join(dir, 'hf-image.parquet')
  await duckdbRun(
    `COPY (SELECT {'bytes': '\\xFF\\xD8'::BLOB, 'path': '0001.jpg'} AS image, 'a fox' AS text) TO '${path}' (FORMAT parquet)`,
  )
  const held = `"image" is Hugging Face datasets' Image struct {bytes, path}: the images are in the file itself (its bytes), not links to fetch; where its path field holds URLs, make it a column of its own first, e.g. duckdb -c "COPY (SELECT image.path AS url, * EXCLUDE (image) FROM 'in.parquet') TO 'flat.parquet'"`
  await assert.rejects(readAll([path]), {
    name: 'UsageError',
    message: `${path} has no column "url" (the URL column); its column ${held}`,
  })
  await assert.rejects(readAll([path], { urlCol: 'image' }), {
    name: 'UsageError',
    message: `${path}: the URL column ${held}`,
  })
})

test("a --hash-col column that cannot hold a digest (INT64, as LAION's hash; a double, a list) is a usage error before the first row", async () => {
  // Without it, every row failed as invalid-hash ("\"9007199254740993\" is not a sha256") once the
  // whole table was read, and nothing was fetched.
  const copy = join(dir, 'hash-types.parquet')
  await copyFile(join(FIXTURES, 'duckdb-types.parquet'), copy)
  const gz = join(dir, 'hash-types.parquet.gz')
  await writeFile(gz, gzipSync(await readFile(copy)))
  for (const [hashCol, what] of [
    [
      'big',
      "of type INT64, not text or bytes, so every row would fail as invalid-hash: a number is no digest of an image; --hash-col names a column of sha256 digests (hex, base64 or the digest's bytes), or leave it out",
    ],
    ['n', 'of type INT32, not text or bytes, so every row would fail as invalid-hash: a number'],
    ['score', 'of type DOUBLE, not text or bytes'],
    ['ts', 'of type TIMESTAMP, not text or bytes, so every row would fail as invalid-hash; --hash-col'],
    ['tags', 'a list column, not text or bytes'],
  ] as const) {
    for (const path of [copy, gz]) {
      const { jobs, error } = await readUntilError([path], { hashCol })
      assert.deepEqual(jobs, [], `${hashCol} in ${path}`)
      assert.ok(error instanceof UsageError, `${hashCol} in ${path}: ${error}`)
      assert.ok(error.message.startsWith(`${path}: the hash column "${hashCol}" is ${what}`), error.message)
    }
  }
  // Text and bytes are hash columns, their cells judged one by one (raw's 2 bytes: invalid-hash).
  for (const hashCol of ['sha256', 'raw', 'caption'])
    assert.equal((await readAll([copy], { hashCol })).length > 0, true, hashCol)
  // Fixed-length bytes are raw digests: of the digest's length only.
  const fixed = join(dir, 'fixed-hash.parquet')
  const digest = new Uint8Array(16).fill(7)
  parquetWriteFile({
    filename: fixed,
    columnData: [
      { name: 'url', data: ['https://images.example/a.jpg'] },
      { name: 'md5', data: [digest] },
    ],
    schema: [
      { name: 'root', num_children: 2 },
      { name: 'url', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: 'md5', type: 'FIXED_LEN_BYTE_ARRAY', type_length: 16, repetition_type: 'REQUIRED' },
    ],
  })
  const [job] = await readAll([fixed], { hashCol: 'md5', hashType: 'md5' })
  assert.deepEqual(job.expectedHash, { type: 'md5', value: '07'.repeat(16) })
  await assert.rejects(readAll([fixed], { hashCol: 'md5' }), {
    name: 'UsageError',
    message: `${fixed}: the hash column "md5" is of 16-byte values, not the 32 bytes of a sha256, so every row would fail as invalid-hash; --hash-col names a column of sha256 digests (hex, base64 or the digest's bytes), or leave it out`,
  })
})

test('Parquet TIME columns are carried as times of day, not as the raw units since midnight', async () => {
  // pyarrow writes a DataFrame's datetime.time as TIME (MICROS, or NANOS), Spark-era writers
  // TIME_MILLIS: hyparquet gives each as a bare number (45296000000 for 12:34:56).
  const path = join(dir, 'times.parquet')
  parquetWriteFile({
    filename: path,
    columnData: [
      { name: 'url', data: ['https://images.example/a.jpg', 'https://images.example/b.jpg'] },
      { name: 'ms', data: [45_296_123, null] },
      { name: 'us', data: [45_296_000_000n, 86_399_999_999n] },
      { name: 'ns', data: [500_000_000n, 0n] },
    ],
    schema: [
      { name: 'root', num_children: 4 },
      { name: 'url', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: 'ms', type: 'INT32', converted_type: 'TIME_MILLIS', repetition_type: 'OPTIONAL' },
      {
        name: 'us',
        type: 'INT64',
        logical_type: { type: 'TIME', isAdjustedToUTC: false, unit: 'MICROS' },
        repetition_type: 'REQUIRED',
      },
      {
        name: 'ns',
        type: 'INT64',
        logical_type: { type: 'TIME', isAdjustedToUTC: true, unit: 'NANOS' },
        repetition_type: 'REQUIRED',
      },
    ],
  })
  const tables = await openTables([path])
  const jobs: { meta: unknown }[] = []
  for await (const job of tables) jobs.push(job)
  assert.deepEqual(
    jobs.map((job) => job.meta),
    [
      { ms: '12:34:56.123', us: '12:34:56.000000', ns: '00:00:00.500000000' },
      { ms: null, us: '23:59:59.999999', ns: '00:00:00.000000000' },
    ],
  )
  // Text in every shard's Parquet, declared before the first row.
  assert.deepEqual(tables.columnTypes, { ms: 'STRING', us: 'STRING', ns: 'STRING' })
})

test("pandas' to_parquet() of a filtered frame: its unnamed index __index_level_0__ is not carried; a named index is", async () => {
  const path = join(dir, 'pandas-index.parquet')
  const pandas = {
    index_columns: ['__index_level_0__'],
    column_indexes: [],
    columns: [],
    pandas_version: '2.2.3',
  }
  parquetWriteFile({
    filename: path,
    kvMetadata: [{ key: 'pandas', value: JSON.stringify(pandas) }],
    columnData: [
      { name: 'url', data: ['https://images.example/a.jpg', 'https://images.example/c.jpg'], type: 'STRING' },
      { name: 'caption', data: ['a', 'c'], type: 'STRING' },
      { name: 'id', data: [10n, 30n], type: 'INT64' },
      { name: '__index_level_0__', data: [0n, 2n], type: 'INT64' },
    ],
  })
  const jobs = await readAll([path], { captionCol: 'caption' })
  assert.deepEqual(
    jobs.map((j) => j.meta),
    [
      { caption: 'a', id: 10 },
      { caption: 'c', id: 30 },
    ],
  )
  const named = await readAll([path], { columns: ['__index_level_0__'] })
  assert.deepEqual(named[1].meta, { __index_level_0__: 2 }, '--columns naming it carries it')
})

test('decimals and zoneless timestamps inside structs, lists and maps are carried exactly too', async () => {
  // Spark's struct<price: decimal(38,2)>, arrays of decimals, maps to decimals: hyparquet's doubles
  // made 12345678901234567.89 into 12345678901234568, and a nested naive timestamp got a Z.
  const path = join(dir, 'nested-decimals.parquet')
  await duckdbRun(`COPY (SELECT 'https://images.example/a.jpg' AS url,
    {'price': 12345678901234567.89::DECIMAL(38,2), 'at': TIMESTAMP '2024-01-02 03:04:05', 'n': 7::DECIMAL(9,0)} AS s,
    [1.5::DECIMAL(20,1), NULL] AS l, MAP {'k': 12345678901234567890::DECIMAL(20,0)} AS m,
    [{'d': 0.25::DECIMAL(9,2)}] AS ls, NULL::STRUCT(p DECIMAL(38,2)) AS none
  ) TO '${path}' (FORMAT parquet)`)
  const [job] = await readAll([path])
  assert.deepEqual(job.meta, {
    s: { price: '12345678901234567.89', at: '2024-01-02T03:04:05.000000', n: 7 },
    l: ['1.5', null],
    m: { k: '12345678901234567890' },
    ls: [{ d: 0.25 }],
    none: null,
  })
})

test('a map whose keys are not text (structs, lists, bytes, decimals, timestamps, __proto__) keeps every entry under its own key', async () => {
  // A map keyed by structs (a name's parts: apache/spark#29451), lists or bytes (parquet-tools'
  // JSON dump failed on them: apache/parquet-java#259): hyparquet's map is a JS object, its keys
  // property names, so every struct key was '[object Object]' (all entries but the last lost), a
  // list [1,2] '1,2', bytes '1,255', a '__proto__' key the object's prototype (its entry gone), a
  // decimal key its unscaled digits and a naive timestamp key had a Z.
  const path = join(dir, 'map-keys.parquet')
  await duckdbRun(`COPY (SELECT * FROM (VALUES
    ('https://images.example/a.jpg', MAP {{'x': 1}: 'a', {'x': 2}: 'b'}, MAP {[1, 2]: 'a', [3]: 'b'},
      MAP {'\\x01\\xff'::BLOB: 1}, MAP {1.5::DECIMAL(4,1): 1}, MAP {TIMESTAMP '2020-01-01 01:02:03.456789': 1},
      MAP {'__proto__': 1, 'a': NULL}, [MAP {{'x': 1}: 2.5::DECIMAL(20,1)}]),
    ('https://images.example/b.jpg', NULL, MAP {}, NULL, NULL, NULL, NULL, NULL)
  ) t(url, st, li, bl, de, ts, pr, nested)) TO '${path}' (FORMAT parquet)`)
  const [a, b] = await readAll([path])
  assert.equal(
    JSON.stringify(a.meta),
    JSON.stringify({
      st: { '{"x":1}': 'a', '{"x":2}': 'b' },
      li: { '[1,2]': 'a', '[3]': 'b' },
      bl: { 'Af8=': 1 },
      de: { '1.5': 1 },
      ts: { '2020-01-01T01:02:03.456789': 1 },
      pr: JSON.parse('{"__proto__":1,"a":null}'),
      nested: [{ '{"x":1}': '2.5' }],
    }),
  )
  assert.deepEqual(b.meta, { st: null, li: {}, bl: null, de: null, ts: null, pr: null, nested: null })
})

test('a Parquet column or struct field named __proto__ is carried as its value, as in CSV and JSON lines', async () => {
  // hyparquet builds rows and structs as objects by assignment, which takes __proto__ for the
  // object's prototype: the column was carried as {} (warned about as "{}, which its INT64 column
  // ... cannot hold"), a struct's field was gone, a list of such structs null.
  const path = join(dir, 'proto.parquet')
  await duckdbRun(
    `COPY (SELECT 'https://images.example/a.jpg' AS url, 5 AS "__proto__", 'x' AS a,
      {'__proto__': 1, 'b': 2} AS s, [{'__proto__': 'y'}] AS l) TO '${path}' (FORMAT parquet)`,
  )
  const [job] = await readAll([path])
  assert.equal(
    JSON.stringify(job.meta),
    '{"__proto__":5,"a":"x","s":{"__proto__":1,"b":2},"l":[{"__proto__":"y"}]}',
  )
  assert.equal(Object.getPrototypeOf(job.meta), Object.prototype)
  assert.equal(Object.getPrototypeOf((job.meta as { s: object }).s), Object.prototype)
})
