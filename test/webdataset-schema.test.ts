import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { parquetMetadata } from 'hyparquet'
import { parquetWriteBuffer } from 'hyparquet-writer'
import { cleanup, runCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { duckdbRead, duckdbRun, hyparquetRows, readTar, shardFiles } from './support/shards.js'

// Every shard's Parquet has one schema: the carried columns' types come from the table (its
// Parquet schema, CSV text, a JSON lines file's first lines), not from each shard's values. A
// column null in all rows of one shard, or whole numbers in one shard of a DOUBLE column, was
// STRING or INT64 there and INT64 or DOUBLE in the next, and pyarrow's dataset reader, pandas,
// dask, Spark and Hugging Face `datasets` refuse (or misread) shards whose schemas differ
// (dask/dask#5252, NVIDIA/cudf#5062, huggingface/dataset-viewer#2124).

let server: ImageServer
let dir: string
before(async () => {
  server = await startImageServer()
  dir = await tempDir()
})
after(async () => {
  await server.close()
  await cleanup(dir)
})

const OWN = new Set([
  'key',
  'url',
  'caption',
  'status',
  'error_code',
  'error_message',
  'http_status',
  'width',
  'height',
  'original_width',
  'original_height',
  'sha256',
])

/** The carried columns' DuckDB types of each shard's Parquet, and every shard's rows in order. */
async function shardTypes(out: string) {
  const types: Record<string, string>[] = []
  const rows: Record<string, unknown>[] = []
  for (const file of (await shardFiles(out)).filter((f) => f.endsWith('.parquet'))) {
    const read = await duckdbRead(join(out, file))
    types.push(Object.fromEntries(Object.entries(read.types).filter(([name]) => !OWN.has(name))))
    rows.push(...(await hyparquetRows(join(out, file))))
  }
  return { types, rows }
}

const shards = (input: string, out: string) =>
  runCli([input, '-o', out, '--output-format', 'webdataset', '--shard-size', '3'])

/** A Parquet file of these columns, written by hyparquet-writer. */
const writeParquet = (path: string, columnData: Parameters<typeof parquetWriteBuffer>[0]['columnData']) =>
  writeFile(path, Buffer.from(parquetWriteBuffer({ columnData })))

test('a Parquet table: every shard has its schema, a column null in all of a shard and whole doubles included', async () => {
  const n = 6
  const file = join(dir, 'typed.parquet')
  await writeParquet(file, [
    { name: 'url', data: Array.from({ length: n }, (_, i) => server.url(`/p${i}`)), type: 'STRING' },
    // Null in every row of the first shard.
    {
      name: 'id',
      data: Array.from({ length: n }, (_, i) => (i < 3 ? null : BigInt(i * 1000))),
      type: 'INT64',
    },
    {
      name: 'note',
      data: Array.from({ length: n }, (_, i) => (i < 3 ? null : `n${i}`)),
      type: 'STRING',
    },
    // Whole numbers in the second shard only.
    { name: 'score', data: Array.from({ length: n }, (_, i) => (i < 3 ? i + 0.5 : i)), type: 'DOUBLE' },
    {
      name: 'ok',
      data: Array.from({ length: n }, (_, i) => (i < 3 ? null : i % 2 === 0)),
      type: 'BOOLEAN',
    },
  ])
  const out = join(dir, 'typed')
  const run = await shards(file, out)
  assert.equal(run.code, 0, run.stderr)
  const { types, rows } = await shardTypes(out)
  assert.equal(types.length, 2)
  assert.deepEqual(types[0], { id: 'BIGINT', note: 'VARCHAR', score: 'DOUBLE', ok: 'BOOLEAN' })
  assert.deepEqual(types[1], types[0], 'the second shard has the first one’s schema')
  assert.deepEqual(
    rows.map((r) => [r.id, r.note, r.score, r.ok]),
    [
      [null, null, 0.5, null],
      [null, null, 1.5, null],
      [null, null, 2.5, null],
      [3000n, 'n3', 3, false],
      [4000n, 'n4', 4, true],
      [5000n, 'n5', 5, false],
    ],
  )
})

test("a Parquet DOUBLE's NaN and infinities stay those numbers in every shard's Parquet; the .json and manifest, which JSON cannot hold them in, say null", async () => {
  // pandas' to_parquet of a ratio column with np.inf and -np.inf (rilldata/rill#4601); a shard's
  // Parquet can hold them (nao1215/sqly#899 kept an infinity a REAL through a Parquet export). They
  // were null there, as in the .json: a ratio over 0 read back as a missing value.
  const values = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, 0.25]
  const file = join(dir, 'non-finite.parquet')
  await writeParquet(file, [
    { name: 'url', data: values.map((_, i) => server.url(`/inf${i}`)), type: 'STRING' },
    { name: 'ratio', data: values, type: 'DOUBLE' },
  ])
  const out = join(dir, 'non-finite')
  const run = await shards(file, out)
  assert.equal(run.code, 0, run.stderr)
  const { types, rows } = await shardTypes(out)
  assert.deepEqual(types, [{ ratio: 'DOUBLE' }, { ratio: 'DOUBLE' }])
  assert.deepEqual(
    rows.map((r) => r.ratio),
    values,
  )
  const duck = await duckdbRead(join(out, '00000.parquet'))
  assert.deepEqual(
    duck.rows.map((r) => String(r.ratio)),
    ['Infinity', '-Infinity', 'NaN'],
  )
  const members = await readTar(join(out, '00000.tar'))
  const json = members.filter((m) => m.name.endsWith('.json')).map((m) => JSON.parse(m.data.toString()))
  assert.deepEqual(
    json.map((j) => j.ratio),
    [null, null, null],
  )
  const manifest = (await readFile(join(out, 'manifest.jsonl'), 'utf8')).trim().split('\n')
  assert.deepEqual(
    manifest.map((line) => JSON.parse(line).meta.ratio),
    [null, null, null, 0.25],
  )
  // The same rows as JSON lines from Python's json.dumps, which writes them as bare Infinity,
  // -Infinity and NaN: the same Parquet (they were null there, the column STRING in a shard of
  // no other value).
  const jsonl = join(dir, 'non-finite.jsonl')
  const written = ['Infinity', '-Infinity', 'NaN', '0.25']
  await writeFile(
    jsonl,
    written.map((v, i) => `{"url": "${server.url(`/inf${i}`)}", "ratio": ${v}}\n`).join(''),
  )
  const again = await shards(jsonl, join(dir, 'non-finite-jsonl'))
  assert.equal(again.code, 0, again.stderr)
  const fromJsonl = await shardTypes(join(dir, 'non-finite-jsonl'))
  assert.deepEqual(fromJsonl.types, types)
  assert.deepEqual(
    fromJsonl.rows.map((r) => r.ratio),
    values,
  )
})

test('a gzip-compressed Parquet file (pyarrow): every shard has its schema, from the footer, a column null in all of a shard included', async () => {
  // pyarrow's file (test/fixtures/tables/pyarrow-nulls-first.parquet): url, note (string), n
  // (int64), f (double), all three null in rows 0 and 1. Gzip'd, its types were read from each
  // shard's values: n and f STRING in shard 0, BIGINT and DOUBLE in shard 1, and polars'
  // scan_parquet('OUT/*.parquet') stopped ("data type mismatch for column n").
  const fixture = fileURLToPath(new URL('./fixtures/tables/pyarrow-nulls-first.parquet', import.meta.url))
  const gz = join(dir, 'nulls-first.parquet.gz')
  await writeFile(gz, gzipSync(await readFile(fixture)))
  const out = join(dir, 'nulls-first-gz')
  const run = await runCli([gz, '-o', out, '--output-format', 'webdataset', '--shard-size', '2'])
  assert.equal(run.code, 1, run.stderr) // images.example URLs: every row an invalid-url failure
  const { types, rows } = await shardTypes(out)
  assert.equal(types.length, 3)
  for (const [i, shard] of types.entries())
    assert.deepEqual(shard, { note: 'VARCHAR', n: 'BIGINT', f: 'DOUBLE' }, `shard ${i}`)
  // hyparquet's reading of every footer: the same schema, element for element.
  const schemas = []
  for (const file of (await shardFiles(out)).filter((f) => f.endsWith('.parquet'))) {
    const bytes = await readFile(join(out, file))
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer
    schemas.push(
      JSON.stringify(parquetMetadata(buffer).schema, (_, v) => (typeof v === 'bigint' ? `${v}` : v)),
    )
  }
  assert.deepEqual(new Set(schemas).size, 1, 'one schema in every shard')
  assert.deepEqual(
    rows.map((r) => [r.note, r.n, r.f]),
    [
      [null, null, null],
      [null, null, null],
      ['x', 1n, 1.5],
      ['y', 2n, 2],
      [null, 3n, null],
      [null, null, null],
    ],
  )
})

test("a pyarrow null-type column (pandas' all-None column) beside a CSV: in every shard, as text", async () => {
  // Parquet's NULL logical type had no carried type, so the column was typed from each shard's
  // values and left out of a shard whose rows (the CSV's) lack it: polars' scan_parquet stopped
  // ("did not find column empty").
  const data = join(dir, 'null-type')
  await mkdir(data)
  const fixture = fileURLToPath(new URL('./fixtures/tables/pyarrow-null-type.parquet', import.meta.url))
  await writeFile(join(data, 'a.parquet'), await readFile(fixture))
  await writeFile(join(data, 'b.csv'), 'url,note\nhttps://images.example/c.jpg,c\n')
  const split = join(dir, 'null-type-split')
  const again = await runCli([data, '-o', split, '--output-format', 'webdataset', '--shard-size', '2'])
  assert.equal(again.code, 1, again.stderr)
  const { types: each, rows } = await shardTypes(split)
  assert.equal(each.length, 2)
  for (const [i, shard] of each.entries())
    assert.deepEqual(shard, { empty: 'VARCHAR', note: 'VARCHAR' }, `shard ${i}`)
  assert.deepEqual(
    rows.map((r) => [r.empty, r.note]),
    [
      [null, 'a'],
      [null, 'b'],
      [null, 'c'],
    ],
  )
})

test('Parquet decimals and zoneless timestamps reach the shards exactly: ids of DECIMAL(20,0), NUMERIC amounts, wall-clock times', async () => {
  // Spark writes unsigned longs as decimal(20,0) and sums as decimal(38,18), BigQuery NUMERIC is
  // DECIMAL(38,9); pandas' and DuckDB's datetimes without a zone are TIMESTAMP(isAdjustedToUTC=false).
  // Carried as doubles, 12345678901234567890 was 12345678901234567000; the wall-clock 03:04:05
  // was written 03:04:05Z, as if UTC.
  const file = join(dir, 'decimals.parquet')
  const url = (i: number) => `'${server.url(`/d${i}`)}'`
  await duckdbRun(`COPY (SELECT * FROM (VALUES
    (${url(0)}, 12345678901234567890::DECIMAL(20,0), 1234567890.123456789::DECIMAL(38,9), 123.45::DECIMAL(9,2), 9007199254740993::DECIMAL(18,0), TIMESTAMP '2024-01-02 03:04:05.123456', TIMESTAMPTZ '2024-01-02 03:04:05+00'),
    (${url(1)}, NULL, -0.000000001::DECIMAL(38,9), -7.5::DECIMAL(9,2), -1::DECIMAL(18,0), NULL, NULL),
    (${url(2)}, 1::DECIMAL(20,0), NULL, NULL, NULL, TIMESTAMP '1969-12-31 23:59:59', NULL)
  ) AS t(url, id, amount, price, n, naive, utc)) TO '${file}' (FORMAT parquet)`)
  const out = join(dir, 'decimals')
  const run = await shards(file, out)
  assert.equal(run.code, 0, run.stderr)
  const read = await duckdbRead(join(out, '00000.parquet'))
  assert.deepEqual(Object.fromEntries(Object.entries(read.types).filter(([name]) => !OWN.has(name))), {
    id: 'VARCHAR',
    amount: 'VARCHAR',
    price: 'DOUBLE',
    n: 'BIGINT',
    naive: 'VARCHAR',
    utc: 'VARCHAR',
  })
  const carried = ['id', 'amount', 'price', 'n', 'naive', 'utc']
  const expected = [
    [
      '12345678901234567890',
      '1234567890.123456789',
      123.45,
      '9007199254740993',
      '2024-01-02T03:04:05.123456',
      '2024-01-02T03:04:05.000000Z',
    ],
    [null, '-0.000000001', -7.5, '-1', null, null],
    ['1', null, null, null, '1969-12-31T23:59:59.000000', null],
  ]
  assert.deepEqual(
    read.rows.map((r) => carried.map((c) => r[c])),
    expected,
  )
  const members = await readTar(join(out, '00000.tar'))
  const jsons = members.filter((m) => m.name.endsWith('.json')).map((m) => JSON.parse(m.data.toString()))
  assert.deepEqual(
    jsons.map((j) => carried.map((c) => j[c])),
    // the .json has numbers where they are exact, digits as text past 2^53
    expected.map((row, r) => row.map((v, c) => (carried[c] === 'n' && r === 1 ? -1 : v))),
  )
})

test('a Parquet UINT64 column (DuckDB UBIGINT, pandas uint64) is text in every shard, in its place, every digit kept', async () => {
  // Typed from each shard's values, it was BIGINT in a shard of small values, VARCHAR in one of
  // values past INT64 and JSON where both met (pyarrow's datasets and Spark refuse such shards),
  // and it came last, after the columns that followed it in the table.
  const file = join(dir, 'uint64.parquet')
  await duckdbRun(`COPY (SELECT '${server.origin}/u' || i AS url,
      CASE WHEN i IN (1, 4, 5) THEN (18446744073709551615::HUGEINT - i)::UBIGINT ELSE i::UBIGINT END AS hash,
      i AS id
    FROM range(0, 6) t(i)) TO '${file}' (FORMAT parquet)`)
  const out = join(dir, 'uint64')
  const run = await shards(file, out)
  assert.equal(run.code, 0, run.stderr)
  const { types, rows } = await shardTypes(out)
  assert.deepEqual(types, [
    { hash: 'VARCHAR', id: 'BIGINT' },
    { hash: 'VARCHAR', id: 'BIGINT' },
  ])
  const hashes = ['0', '18446744073709551614', '2', '3', '18446744073709551611', '18446744073709551610']
  assert.deepEqual(
    rows.map((r) => r.hash),
    hashes,
  )
  const jsons = []
  for (const f of ['00000.tar', '00001.tar'])
    for (const m of await readTar(join(out, f)))
      if (m.name.endsWith('.json')) jsons.push(JSON.parse(m.data.toString()))
  // The .json keeps numbers where they are exact, digits as text past 2^53, as for INT64.
  assert.deepEqual(
    jsons.map((j) => j.hash),
    hashes.map((h) => (h.length < 16 ? Number(h) : h)),
  )
})

test("JSON lines of ids past 2^53 (DuckDB's COPY of a BIGINT column) are BIGINT in every shard, as from the same table's Parquet", async () => {
  // Such ids are carried as text (a double would change their digits); typed from that text, a
  // column of them was VARCHAR in the shards of the JSON lines and BIGINT in those of its Parquet.
  const table = `SELECT '${server.origin}/id' || i AS url, 9007199254740993 + i AS id, (9007199254740993 + i)::VARCHAR AS tag FROM range(0, 4) t(i)`
  const types: Record<string, string>[][] = []
  for (const format of ['json', 'parquet']) {
    const file = join(dir, `ids.${format === 'json' ? 'jsonl' : format}`)
    await duckdbRun(`COPY (${table}) TO '${file}' (FORMAT ${format})`)
    const out = join(dir, `ids-${format}`)
    const run = await shards(file, out)
    assert.equal(run.code, 0, run.stderr)
    const read = await shardTypes(out)
    types.push(read.types)
    assert.deepEqual(
      read.rows.map((r) => [r.id, r.tag]),
      [0n, 1n, 2n, 3n].map((i) => [9007199254740993n + i, String(9007199254740993n + i)]),
    )
  }
  assert.deepEqual(types[0], [
    { id: 'BIGINT', tag: 'VARCHAR' },
    { id: 'BIGINT', tag: 'VARCHAR' },
  ])
  assert.deepEqual(types[0], types[1])
})

test('JSON lines: types from the first 1,000 lines, the same in every shard; a later value of another kind is null there, kept in the .json', async () => {
  const lines = Array.from({ length: 1002 }, (_, i) => ({
    // Rows without a URL fail at once, and are rows of their shard all the same.
    url: i < 2 || i === 1000 ? server.url(`/j${i}`) : 'not a url',
    n: i === 1000 ? 2.5 : i > 1000 ? null : i,
    r: i < 1000 ? i + 0.5 : null,
    big: i === 1 ? '9007199254740993' : i,
    tags: i % 2 ? null : ['a'],
    // A uint64 hash written as a JSON number (ultrajson/ultrajson#49: 18446098363113800555), past
    // INT64's range: carried as its digits, it was said as "the string" the line does not hold.
    hash: i === 1000 ? 'UINT64' : i,
  }))
  const file = join(dir, 'kinds.jsonl')
  const text = lines.map((l) => JSON.stringify(l)).join('\n')
  await writeFile(file, `${text.replace('"UINT64"', '18446744073709551615')}\n`)
  const out = join(dir, 'kinds')
  const run = await runCli([file, '-o', out, '--output-format', 'webdataset', '--shard-size', '1000'])
  assert.equal(run.code, 1, run.stderr)
  const { types, rows } = await shardTypes(out)
  assert.equal(types.length, 2)
  assert.deepEqual(types[0], { n: 'BIGINT', r: 'DOUBLE', big: 'BIGINT', tags: 'JSON', hash: 'BIGINT' })
  assert.deepEqual(types[1], types[0], 'the second shard, its `r` all null, has the first one’s schema')
  assert.deepEqual(
    [0, 1, 1000, 1001].map((i) => [rows[i].n, rows[i].r, rows[i].big]),
    [
      [0n, 0.5, 0n],
      [1n, 1.5, 9007199254740993n],
      [null, null, 1000n],
      [null, null, 1001n],
    ],
  )
  const members = await readTar(join(out, '00001.tar'))
  const json = members.find((m) => m.name.endsWith('.json'))!
  assert.equal(JSON.parse(json.data.toString()).n, 2.5, 'the sample’s .json keeps the value as written')
  // said, not silent (once a column).
  const warned = run.stderr.split('\n').filter((l) => l.startsWith('imgpull: warning:'))
  assert.equal(warned.length, 2, run.stderr)
  assert.match(
    warned[0],
    /^imgpull: warning: row 1000 \(sample 0000\d+\): column 'n' holds 2\.5, which its INT64 column in the shards' Parquet \(typed from the table's first rows\) cannot hold: null there, kept in the sample's \.json and the manifest/,
  )
  assert.match(
    warned[1],
    /^imgpull: warning: row 1000 \(sample 0000\d+\): column 'hash' holds the integer 18446744073709551615, past INT64's range \(-2\^63 to 2\^63-1\), which its INT64 column in the shards' Parquet/,
  )
  assert.equal(JSON.parse(json.data.toString()).hash, '18446744073709551615', 'every digit kept in the .json')
})

test('JSON lines: a key first seen past the first 1,000 lines is left out of every Parquet (one schema), kept in the .json and said once; named with --columns, every shard has it', async () => {
  // Spark leaves null fields out: `license` first shows at line 1002. It was a column of the second
  // shard's Parquet only, a schema pyarrow's datasets and Hugging Face `datasets` refuse.
  const lines = Array.from({ length: 1002 }, (_, i) => ({
    url: i === 0 || i === 1001 ? server.url(`/late${i}`) : 'not a url',
    n: i,
    ...(i === 1001 ? { license: 'cc0', more: true } : {}),
  }))
  const file = join(dir, 'late.jsonl')
  await writeFile(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`)
  const out = join(dir, 'late')
  const run = await runCli([file, '-o', out, '--output-format', 'webdataset', '--shard-size', '1000'])
  assert.equal(run.code, 1, run.stderr)
  const { types, rows } = await shardTypes(out)
  assert.deepEqual(types, [{ n: 'BIGINT' }, { n: 'BIGINT' }])
  assert.equal(rows[1001].license, undefined)
  const json = (await readTar(join(out, '00001.tar'))).find((m) => m.name.endsWith('.json'))!
  assert.deepEqual(
    [JSON.parse(json.data.toString()).license, JSON.parse(json.data.toString()).more],
    ['cc0', true],
    'the sample’s .json keeps it',
  )
  const warned = run.stderr.split('\n').filter((l) => l.startsWith('imgpull: warning:'))
  assert.equal(warned.length, 2, run.stderr)
  assert.match(
    warned[0],
    /^imgpull: warning: row 1001 \(sample 0000\d+\): column 'license' is not among the columns read from the table's first rows .*: left out of the shards' Parquet/,
  )
  // Named with --columns, the key is a column of every shard (text, null where a line lacks it):
  // it was refused, "late.jsonl has no column "license"", though line 1002 has it.
  const named = join(dir, 'late-named')
  const again = await runCli([
    file,
    '-o',
    named,
    '--output-format',
    'webdataset',
    '--shard-size',
    '1000',
    '--columns',
    'n,license',
  ])
  assert.equal(again.code, 1, again.stderr)
  const both = await shardTypes(named)
  assert.deepEqual(both.types, [
    { n: 'BIGINT', license: 'VARCHAR' },
    { n: 'BIGINT', license: 'VARCHAR' },
  ])
  assert.deepEqual([both.rows[0].license, both.rows[1001].license], [null, 'cc0'])
  assert.deepEqual(
    again.stderr.split('\n').filter((l) => l.startsWith('imgpull: warning:')),
    [
      `imgpull: warning: --columns license: no line of the first 1,000 of ${file} has the key "license": carried (as text in the shards' Parquet) from the lines that have it, null in the others`,
    ],
  )
  // A slip of case is still refused, naming the key meant.
  const slip = await runCli([file, '-o', join(dir, 'late-slip'), '--columns', 'N'])
  assert.equal(slip.code, 2)
  assert.match(
    slip.stderr,
    /has no column "N" \(a carried column\); its columns: "url", "n": did you mean "n"\?/,
  )
})

test('JSON lines written by pandas: floats written whole (1.0, 2e3) are a DOUBLE column, its later fractions kept', async () => {
  // pandas' to_json and Spark write a float column's whole values as `1.0`, which JSON.parse gives
  // as 1: such a column whole in the first 1,000 lines was INT64, and its later 0.5 null in the
  // Parquet (pyarrow's JSON reader types it double). `n` is written without a fraction: INT64 still.
  const lines = Array.from({ length: 1002 }, (_, i) => {
    const url = i === 0 || i === 1001 ? server.url(`/pd${i}`) : 'not a url'
    const score = i === 1001 ? '0.5' : `${i % 3}.0`
    return `{"url": "${url}", "score": ${score}, "big": ${i === 0 ? '1e3' : '2'}, "n": ${i}}`
  })
  const file = join(dir, 'pandas.jsonl')
  await writeFile(file, `${lines.join('\n')}\n`)
  const out = join(dir, 'pandas')
  const run = await runCli([file, '-o', out, '--output-format', 'webdataset', '--shard-size', '1000'])
  assert.equal(run.code, 1, run.stderr)
  assert.doesNotMatch(run.stderr, /warning/)
  const { types, rows } = await shardTypes(out)
  assert.deepEqual(types, [
    { score: 'DOUBLE', big: 'DOUBLE', n: 'BIGINT' },
    { score: 'DOUBLE', big: 'DOUBLE', n: 'BIGINT' },
  ])
  assert.deepEqual(
    [0, 1, 1001].map((i) => [rows[i].score, rows[i].big]),
    [
      [0, 1000],
      [1, 2],
      [0.5, 2],
    ],
  )
})

test('CSV, and a folder of a CSV and a Parquet file: one schema over every shard, a column both have merged', async () => {
  const folder = join(dir, 'mixed')
  await mkdir(folder)
  await writeFile(
    join(folder, 'a.csv'),
    `url,id,empty\n${[0, 1, 2].map((i) => `${server.url(`/m${i}`)},${i},`).join('\n')}\n`,
  )
  await writeParquet(join(folder, 'b.parquet'), [
    { name: 'url', data: [3, 4, 5].map((i) => server.url(`/m${i}`)), type: 'STRING' },
    { name: 'id', data: [3n, 4n, 5n], type: 'INT64' },
    { name: 'extra', data: [1.5, 2.5, 3.5], type: 'DOUBLE' },
  ])
  const out = join(dir, 'mixed-out')
  const run = await shards(folder, out)
  assert.equal(run.code, 0, run.stderr)
  const { types, rows } = await shardTypes(out)
  assert.equal(types.length, 2)
  // The CSV's `id` is text, the Parquet's INT64: text in every shard. `extra` is in the first shard too, null.
  assert.deepEqual(types[0], { id: 'VARCHAR', empty: 'VARCHAR', extra: 'DOUBLE' })
  assert.deepEqual(types[1], types[0])
  assert.deepEqual(
    rows.map((r) => [r.id, r.extra]),
    [
      ['0', null],
      ['1', null],
      ['2', null],
      ['3', 1.5],
      ['4', 2.5],
      ['5', 3.5],
    ],
  )
})

test('carried columns named alike but for case (`Note`, `note`): the first only in every Parquet, as DuckDB and Spark read it; both in the .json; each other one said once', async () => {
  // DuckDB 1.0 refused such a Parquet file ("duplicate column name", duckdb/duckdb#13053), 1.5 reads
  // the second as `note_1`; Spark refuses it ("Found duplicate column(s)"); pyarrow and hyparquet
  // read both. One table, three readings: the second is left out of the Parquet.
  const csv = join(dir, 'twins.csv')
  await writeFile(
    csv,
    `url,Note,note\n${[0, 1, 2, 3].map((i) => `${server.url(`/t${i}`)},N${i},n${i}`).join('\n')}\n`,
  )
  const jsonl = join(dir, 'twins.jsonl')
  await writeFile(
    jsonl,
    `${[0, 1, 2, 3].map((i) => JSON.stringify({ url: server.url(`/u${i}`), Tag: `T${i}`, tag: `t${i}`, TAG: i })).join('\n')}\n`,
  )
  for (const [input, first, others] of [
    [csv, 'Note', ['note']],
    [jsonl, 'Tag', ['tag', 'TAG']],
  ] as const) {
    const out = `${input}-out`
    const run = await shards(input, out)
    assert.equal(run.code, 0, run.stderr)
    const parquets = (await shardFiles(out)).filter((f) => f.endsWith('.parquet'))
    assert.equal(parquets.length, 2)
    for (const file of parquets) {
      const duck = await duckdbRead(join(out, file))
      assert.deepEqual(
        Object.keys(duck.types).filter((name) => !OWN.has(name)),
        [first],
        `${file}: DuckDB reads the first column alone, no ${others[0]}_1`,
      )
      const rows = await hyparquetRows(join(out, file))
      assert.deepEqual(
        Object.keys(rows[0]).filter((name) => !OWN.has(name)),
        [first],
      )
      assert.deepEqual(
        duck.rows.map((r) => r[first]),
        rows.map((r) => r[first]),
      )
    }
    const json = (await readTar(join(out, '00001.tar'))).find((m) => m.name.endsWith('.json'))!
    const sample = JSON.parse(json.data.toString())
    for (const name of [first, ...others]) assert.ok(Object.hasOwn(sample, name), `the .json keeps ${name}`)
    const warned = run.stderr.split('\n').filter((l) => l.startsWith('imgpull: warning:'))
    assert.deepEqual(
      warned.map((l) => l.match(/column '([^']+)' is named as column '([^']+)' but for case/)?.slice(1)),
      others.map((name) => [name, first]),
      run.stderr,
    )
  }
})

test('a JSON lines key that is no name ("") is left out of the Parquet, which DuckDB names otherwise; kept in the .json; said once', async () => {
  // DuckDB read a column named "" as `C12` (hyparquet and pandas as ""): the same shard, two
  // readings of its columns. A CSV's unnamed columns are not carried at all.
  const file = join(dir, 'unnamed.jsonl')
  await writeFile(
    file,
    `${[0, 1].map((i) => JSON.stringify({ url: server.url(`/unnamed${i}`), '': `e${i}`, x: `x${i}` })).join('\n')}\n`,
  )
  const out = join(dir, 'unnamed-out')
  const run = await shards(file, out)
  assert.equal(run.code, 0, run.stderr)
  const duck = await duckdbRead(join(out, '00000.parquet'))
  assert.deepEqual(
    Object.keys(duck.types).filter((name) => !OWN.has(name)),
    ['x'],
  )
  const rows = await hyparquetRows(join(out, '00000.parquet'))
  assert.deepEqual(
    Object.keys(rows[0]).filter((name) => !OWN.has(name)),
    ['x'],
  )
  const json = (await readTar(join(out, '00000.tar'))).find((m) => m.name.endsWith('.json'))!
  assert.equal(JSON.parse(json.data.toString())[''], 'e0', 'the .json keeps it')
  const warned = run.stderr.split('\n').filter((l) => l.startsWith('imgpull: warning:'))
  assert.equal(warned.length, 1, run.stderr)
  assert.match(warned[0], /column '' has no name/)
})
