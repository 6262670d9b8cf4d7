import assert from 'node:assert/strict'
import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { openTables, tableSource } from '../src/sources/tables/index.js'
import { readAll, tempFolder } from './support/tables.js'

const FIXTURES = fileURLToPath(new URL('./fixtures/tables/', import.meta.url))
const root = await tempFolder()

const csv = (from: number, to: number) =>
  `url,n\n${Array.from({ length: to - from }, (_, i) => `https://images.example/${from + i}.jpg,${from + i}`).join('\n')}\n`

test('a folder is read in name order, one numbering over all its files and formats', async () => {
  const dir = join(root, 'shards')
  await mkdir(join(dir, 'nested'), { recursive: true })
  await writeFile(join(dir, 'part-00010.csv'), csv(4, 6))
  await writeFile(
    join(dir, 'part-00002.jsonl.gz'),
    gzipSync(
      '{"url":"https://images.example/2.jpg","n":"2"}\n{"url":"https://images.example/3.jpg","n":"3"}\n',
    ),
  )
  await writeFile(
    join(dir, 'part-00001.tsv'),
    'url\tn\nhttps://images.example/0.jpg\t0\nhttps://images.example/1.jpg\t1\n',
  )
  // Not read: hidden, `_`-prefixed (Spark's markers), other extensions, subfolders.
  await writeFile(join(dir, '.part-00003.csv.crc'), 'x')
  await writeFile(join(dir, '.hidden.csv'), csv(100, 101))
  await writeFile(join(dir, '_SUCCESS'), '')
  await writeFile(join(dir, '_metadata.csv'), csv(200, 201))
  await writeFile(join(dir, 'README.md'), '# data')
  await writeFile(join(dir, 'urls.txt'), 'https://images.example/x.jpg\n')
  await writeFile(join(dir, 'nested', 'part-00000.csv'), csv(300, 301))
  await symlink(join(dir, 'part-00010.csv'), join(dir, 'part-00011.csv'))
  // An empty partition (Spark and Hive write them): no rows, no header, not a stop.
  await writeFile(join(dir, 'part-00012.csv'), '')

  const opened = await openTables([dir])
  assert.deepEqual(
    opened.files.map((f) => [f.path.slice(dir.length + 1), f.format, f.gzip]),
    [
      ['part-00001.tsv', 'tsv', false],
      ['part-00002.jsonl.gz', 'jsonl', true],
      ['part-00010.csv', 'csv', false],
      ['part-00011.csv', 'csv', false],
    ],
  )
  assert.deepEqual(
    opened.skipped.map((p) => p.slice(dir.length + 1)),
    [
      '.hidden.csv',
      '.part-00003.csv.crc',
      'README.md',
      '_SUCCESS',
      '_metadata.csv',
      'nested',
      'part-00012.csv',
      'urls.txt',
    ],
  )
  assert.equal(opened.rows, undefined, 'text tables have no row count before reading')
  const jobs = []
  for await (const job of opened) jobs.push(job)
  assert.deepEqual(
    jobs.map((j) => [j.row, j.url, j.meta.n]),
    [0, 1, 2, 3, 4, 5, 4, 5].map((n, row) => [row, `https://images.example/${n}.jpg`, String(n)]),
  )
  // Files and folders mix, in the order given (a file outside the folder: one in it is given twice).
  await writeFile(join(root, 'beside.csv'), csv(4, 6))
  const more = await readAll([join(root, 'beside.csv'), dir])
  await assert.rejects(
    readAll([join(dir, 'part-00010.csv'), dir]),
    /the same file is given twice, as '.*part-00010\.csv' and '.*part-00010\.csv' in folder '.*shards'/,
  )
  assert.deepEqual(
    more.map((j) => j.row),
    Array.from({ length: 10 }, (_, i) => i),
  )
})

test("a gzip file of nothing in a folder (an empty task's compressed output) is a partition with no rows, as an empty file is", async () => {
  // Hadoop and Hive compress an empty task's output to 20 bytes of gzip (tidyverse/readr#1160,
  // NVIDIA/cudf#3335): it stopped the run as `part-00001.csv.gz is empty`, or `is not a readable
  // Parquet file`, where the plain empty file beside it was skipped.
  const dir = join(root, 'empty-gzip-parts')
  await mkdir(dir)
  await writeFile(join(dir, 'part-00000.csv'), csv(0, 2))
  await writeFile(join(dir, 'part-00001.csv.gz'), gzipSync(''))
  await writeFile(join(dir, 'part-00002.parquet.gz'), Buffer.concat([gzipSync(''), gzipSync('')]))
  await writeFile(join(dir, 'part-00003.jsonl'), gzipSync(''))
  await writeFile(join(dir, 'part-00004.csv'), csv(2, 3))
  const jobs = await readAll([dir])
  assert.deepEqual(
    jobs.map((j) => j.url),
    ['https://images.example/0.jpg', 'https://images.example/1.jpg', 'https://images.example/2.jpg'],
  )
  // gzip cut short is no empty partition: it still stops the run, naming the file.
  await writeFile(join(dir, 'part-00001.csv.gz'), gzipSync('').subarray(0, 12))
  await assert.rejects(readAll([dir]), { name: 'UsageError', message: /part-00001\.csv\.gz/ })
})

test('an explicit format overrides the name, for files and for every file of a folder', async () => {
  const dir = join(root, 'export')
  await mkdir(dir)
  await writeFile(join(dir, 'rows.txt'), csv(0, 2))
  await writeFile(join(dir, 'more.dat.gz'), gzipSync(csv(2, 3)))
  await writeFile(join(dir, '.DS_Store'), 'x')
  assert.deepEqual(
    (await readAll([dir], { format: 'csv' })).map((j) => j.url),
    ['https://images.example/2.jpg', 'https://images.example/0.jpg', 'https://images.example/1.jpg'],
  )
  const jsonAsCsv = join(root, 'data.jsonl')
  await writeFile(jsonAsCsv, 'url|n\n')
  await assert.rejects(
    readAll([jsonAsCsv], { format: 'csv' }),
    /data\.jsonl has no column "url" \(the URL column\); its columns: "url\|n"/,
  )
})

test('every input is checked before the first row: files, formats, and every file’s columns', async () => {
  const good = join(root, 'good.csv')
  await writeFile(good, csv(0, 3))
  const noUrl = join(root, 'no-url.csv')
  await writeFile(noUrl, 'image,n\nhttps://images.example/z.jpg,1\n')
  const source = tableSource([good, noUrl])
  // The second file's missing column stops everything before the first file's rows.
  await assert.rejects(source.next(), {
    name: 'UsageError',
    message: `${noUrl} has no column "url" (the URL column); its columns: "image", "n": did you mean --url-col "image"?`,
  })
  // No column looks like one: the option is named all the same.
  const other = join(root, 'no-url-other.csv')
  await writeFile(other, 'address,n\nhttps://images.example/z.jpg,1\n')
  await assert.rejects(tableSource([other]).next(), {
    name: 'UsageError',
    message: `${other} has no column "url" (the URL column); its columns: "address", "n": name the column that holds the URLs with --url-col`,
  })
  const cases: [string[], RegExp][] = [
    [[join(root, 'nope.csv')], /^cannot read input '.*nope\.csv': no such file or folder$/],
    [[join(root, 'good.csv'), join(root, 'nope')], /nope': no such file or folder$/],
    [
      [join(FIXTURES, 'make-duckdb-fixtures.mjs')],
      /cannot tell the table format of '.*make-duckdb-fixtures\.mjs' from its name: name it \.csv, \.tsv, \.jsonl, \.ndjson or \.parquet, optionally followed by \.gz$/,
    ],
    [[], /^no table to read$/],
    [
      ['/dev/null'],
      /^cannot tell the table format of '\/dev\/null' \(a pipe or device\) from its name: give --input-format csv, tsv or jsonl$/,
    ],
  ]
  for (const [inputs, message] of cases)
    await assert.rejects(openTables(inputs), { name: 'UsageError', message })
  const empty = join(root, 'empty-folder')
  await mkdir(empty)
  await writeFile(join(empty, 'notes.txt'), 'x')
  await assert.rejects(openTables([empty]), {
    name: 'UsageError',
    message: /folder '.*empty-folder' holds no table files \([^)]*\)$/,
  })
  // Spark's df.write.json output: JSON lines in part files named .json, which are not read unless
  // told; the message said only that no table was there.
  const spark = join(root, 'spark-json')
  await mkdir(spark)
  await writeFile(join(spark, '_SUCCESS'), '')
  await writeFile(join(spark, '.part-00000-a.json.crc'), 'x')
  for (const n of [0, 1])
    await writeFile(join(spark, `part-0000${n}-a-c000.json`), '{"url":"https://images.example/a.jpg"}\n')
  await assert.rejects(openTables([spark]), {
    name: 'UsageError',
    message:
      /holds no table files \(.*\); its 2 \.json files \(Spark's df\.write\.json and BigQuery's JSON export write JSON lines so\) are read as JSON lines with --input-format jsonl$/,
  })
  assert.equal((await readAll([spark], { format: 'jsonl' })).length, 2, 'read as told')
  // A folder of URL lists, given as lists are never read: how to give them.
  const lists = join(root, 'lists')
  await mkdir(lists)
  for (const name of ['a.txt', 'b.txt.gz', 'notes.md'])
    await writeFile(join(lists, name), 'https://a.example/1.jpg\n')
  await writeFile(join(lists, 'notes.txt'), 'no URL here\n')
  await assert.rejects(openTables([lists]), {
    name: 'UsageError',
    message:
      /holds no table files \(.*\); URL lists \(its 2 \.txt files\) are given by name, not as a folder: imgpull .*lists\/\*\.txt$/,
  })
  // Spark's partitionBy("lang") and Hive write a table as folders of key=value (two levels for
  // year=/month=), and a Hugging Face dataset keeps its Parquet files in data/: the folder said only
  // that it held no table files.
  const parts = join(root, 'partitioned')
  for (const lang of ['de', 'en']) {
    await mkdir(join(parts, `lang=${lang}`), { recursive: true })
    await writeFile(join(parts, `lang=${lang}`, 'part-00000-a.c000.csv'), csv(0, 1))
    await writeFile(join(parts, `lang=${lang}`, '.part-00000-a.c000.csv.crc'), 'x')
  }
  await writeFile(join(parts, '_SUCCESS'), '')
  await assert.rejects(openTables([parts]), {
    name: 'UsageError',
    message: `folder '${parts}' holds no table files (.csv, .tsv, .jsonl, .ndjson or .parquet, optionally followed by .gz); 2 folders in it hold tables, ${parts}/lang=de and ${parts}/lang=en (Spark's and Hive's partitions; the values in their names, lang=de, are not carried into the rows): give them, imgpull ${parts}/*/`,
  })
  assert.equal((await readAll([join(parts, 'lang=de'), join(parts, 'lang=en')])).length, 2, 'given so')
  const nested = join(root, 'nested')
  await mkdir(join(nested, 'year=2024', 'month=01'), { recursive: true })
  await writeFile(join(nested, 'year=2024', 'month=01', 'part-0.csv'), csv(0, 1))
  await assert.rejects(openTables([nested]), {
    message: new RegExp(
      `; the folder ${nested}/year=2024/month=01 in it holds tables \\(Spark's and Hive's partitions; the values in their names, year=2024/month=01, are not carried into the rows\\): give it, imgpull ${nested}/year=2024/month=01$`,
    ),
  })
  const hf = join(root, 'hf-dataset')
  await mkdir(join(hf, 'data'), { recursive: true })
  await writeFile(join(hf, 'README.md'), '# a dataset')
  await writeFile(join(hf, 'data', 'train-00000-of-00001.csv'), csv(0, 1))
  await assert.rejects(openTables([hf]), {
    message: new RegExp(`; the folder ${hf}/data in it holds tables: give it, imgpull ${hf}/data$`),
  })
  // An imgpull output folder beside it (its manifest.jsonl, a shard's Parquet) is no folder of
  // tables: it was offered ('2 folders in it hold tables ...: give them'), and imgpull refuses it
  // as an input.
  for (const [out, file] of [
    ['photos', 'manifest.jsonl'],
    [join('runs', 'shards'), '00000.parquet'],
  ]) {
    await mkdir(join(hf, out, '.imgpull'), { recursive: true })
    await writeFile(join(hf, out, file), '{}\n')
  }
  await assert.rejects(openTables([hf]), {
    message: new RegExp(`; the folder ${hf}/data in it holds tables: give it, imgpull ${hf}/data$`),
  })
  // JSON lines are checked on the keys of their first objects.
  const jsonl = join(root, 'first.jsonl')
  await writeFile(
    jsonl,
    'garbage\n{"link":"https://images.example/a.jpg"}\n{"link":"https://images.example/b.jpg"}\n',
  )
  await assert.rejects(
    openTables([jsonl]),
    /first\.jsonl has no column "url" \(the URL column\); its columns: "link"/,
  )
  await assert.rejects(
    openTables([good], { captionCol: 'caption' }),
    /good\.csv has no column "caption" \(the caption column\)/,
  )
  await assert.rejects(openTables([good], { format: 'xml' as 'csv' }), {
    name: 'TypeError',
    message: /`format`/,
  })
})

test('Parquet inputs give their row count before reading', async () => {
  const dir = join(root, 'pq')
  await mkdir(dir)
  await copyFile(join(FIXTURES, 'duckdb-snappy.parquet'), join(dir, 'a.parquet'))
  await copyFile(join(FIXTURES, 'duckdb-types.parquet'), join(dir, 'b.parquet'))
  const opened = await openTables([dir])
  assert.equal(opened.rows, 5006)
  let count = 0
  for await (const job of opened) assert.equal(job.row, count++)
  assert.equal(count, 5006)
  // Iterating again reads again, from row 0.
  for await (const job of opened) {
    assert.equal(job.row, 0)
    break
  }
  assert.equal((await openTables([dir, join(root, 'good.csv')])).rows, undefined)
})

test('the example tables (CSV, and Parquet written from it by DuckDB) give the same rows', async () => {
  const examples = fileURLToPath(new URL('../examples/', import.meta.url))
  const options = { captionCol: 'caption', hashCol: 'sha256' }
  const fromCsv = await readAll([join(examples, 'photos.csv')], options)
  const fromParquet = await readAll([join(examples, 'photos.parquet')], options)
  assert.equal(fromCsv.length, 10)
  // CSV cells are text; the Parquet id column is a BIGINT.
  const textIds = fromParquet.map((j) => ({ ...j, meta: { ...j.meta, id: String(j.meta.id) } }))
  assert.deepEqual(fromCsv, textIds)
  assert.deepEqual(fromCsv[3], {
    url: 'https://images.example/photos/103-old-barn.jpg',
    row: 3,
    caption: 'An "old" barn in a field of wheat',
    expectedHash: {
      type: 'sha256',
      value: 'b488f6a2bac026a2c6d8c619e998604b2fa38e53520042981115d907bc255c50',
    },
    meta: {
      caption: 'An "old" barn in a field of wheat',
      license: 'cc-by-sa-4.0',
      id: '103',
      sha256: 'b488f6a2bac026a2c6d8c619e998604b2fa38e53520042981115d907bc255c50',
    },
  })
})

test('a Delta Lake, Iceberg or Hudi table folder is refused before any row: its files hold past versions too', async () => {
  // An overwrite leaves the old version's files beside the new one's until they are vacuumed:
  // read as a folder of tables, both versions' rows were fetched, part-0's twice here.
  const layouts: [string, string, string, RegExp][] = [
    [
      'delta',
      '_delta_log/00000000000000000001.json',
      '',
      /is a Delta Lake table \(it holds _delta_log\/\).*delta_scan\('/,
    ],
    [
      'iceberg',
      'metadata/v2.metadata.json',
      'data',
      /is an Apache Iceberg table \(it holds metadata\/\).*iceberg_scan\('/,
    ],
    ['hudi', '.hoodie/hoodie.properties', '', /is an Apache Hudi table \(it holds \.hoodie\/\)/],
  ]
  for (const [name, log, data, message] of layouts) {
    const dir = join(root, name)
    await mkdir(join(dir, log, '..'), { recursive: true })
    await writeFile(join(dir, log), '{}')
    await mkdir(join(dir, data), { recursive: true })
    await writeFile(join(dir, data, 'part-00000-old.csv'), csv(0, 2))
    await writeFile(join(dir, data, 'part-00000-new.csv'), csv(0, 2))
    await assert.rejects(readAll([dir]), (e: unknown) => {
      assert.match((e as Error).message, message)
      assert.ok((e as Error).message.startsWith(`'${dir}' is `), (e as Error).message)
      return true
    })
  }
  // A folder that merely has a subfolder named metadata (no *.metadata.json) is read as before.
  const plain = join(root, 'with-metadata')
  await mkdir(join(plain, 'metadata'), { recursive: true })
  await writeFile(join(plain, 'metadata', 'notes.txt'), 'x')
  await writeFile(join(plain, 'a.csv'), csv(0, 2))
  assert.equal((await readAll([plain])).length, 2)
})

test('a Parquet file in a folder under a name not read (.parq, .pq, none) is refused, not skipped with its rows', async () => {
  // fastparquet's README writes `outfile.parq`, Hive's warehouse files are `000000_0`; pyarrow's
  // `read_parquet(folder)` reads every file of a folder whatever its name. Skipped, their rows were
  // lost without a word beside the folder's .csv and .parquet files (the run said 0 failed).
  for (const name of ['part-1.parq', 'part-1.pq', '000000_0']) {
    const dir = join(root, `named-${name}`)
    await mkdir(dir)
    await writeFile(join(dir, 'a.csv'), csv(0, 2))
    await copyFile(join(FIXTURES, 'duckdb-snappy.parquet'), join(dir, name))
    await assert.rejects(openTables([dir]), {
      name: 'UsageError',
      message: new RegExp(
        `^folder '.*named-${name.replace('.', '\\.')}' holds '.*/${name.replace('.', '\\.')}', a Parquet file whose name does not end \\.parquet: its rows would be skipped; name it \\.parquet`,
      ),
    })
    // Given the format, every file of the folder is read as it: no refusal there.
    await assert.rejects(readAll([dir], { format: 'parquet' }), /a\.csv/)
  }
  // Hidden and `_` files are skipped whatever they hold (Spark's `_metadata` is Parquet's footer).
  const hidden = join(root, 'named-hidden')
  await mkdir(hidden)
  await writeFile(join(hidden, 'a.csv'), csv(0, 2))
  await copyFile(join(FIXTURES, 'duckdb-snappy.parquet'), join(hidden, '_metadata'))
  await copyFile(join(FIXTURES, 'duckdb-snappy.parquet'), join(hidden, '.old.parq'))
  assert.equal((await readAll([hidden])).length, 2)
})

test("JSON lines named .json beside a folder's tables are refused, not skipped with their rows; other .json stays skipped", async () => {
  // Spark's df.write.json and BigQuery's export name JSON lines `.json`; beside a folder's .csv and
  // .jsonl files, they were skipped with their rows, the run saying nothing.
  const dir = join(root, 'json-beside')
  await mkdir(dir)
  await writeFile(join(dir, 'a.csv'), csv(0, 2))
  await writeFile(join(dir, 'b.json'), '\ufeff{"url":"https://images.example/b.jpg","n":1}\n')
  await assert.rejects(openTables([dir]), {
    name: 'UsageError',
    message:
      /^folder '.*json-beside' holds '.*json-beside\/b\.json', JSON lines \(its first line an object with "url"\) named \.json, which a folder's tables are not read from: its rows would be skipped; name it \.jsonl$/,
  })
  // By the URL column given: a .json with `url` is no table of rows when --url-col names another.
  const other = join(root, 'json-other-col')
  await mkdir(other)
  await writeFile(join(other, 'a.csv'), 'image\nhttps://images.example/a.jpg\n')
  await writeFile(join(other, 'b.json'), '{"image":"https://images.example/b.jpg"}\n')
  await assert.rejects(
    openTables([other], { urlCol: 'image' }),
    /b\.json', JSON lines \(its first line an object with "image"\)/,
  )
  // Metadata beside the tables (a pretty-printed dataset_info.json, a stats object without the URL
  // key, an array, a hidden file) is read as before: skipped.
  const meta = join(root, 'json-meta')
  await mkdir(meta)
  await writeFile(join(meta, 'a.csv'), csv(0, 2))
  await writeFile(join(meta, 'dataset_info.json'), '{\n  "url": "https://huggingface.co/x"\n}\n')
  await writeFile(join(meta, 'stats.json'), '{"count":2,"successes":2}\n')
  await writeFile(join(meta, 'list.json'), '[{"url":"https://images.example/a.jpg"}]\n')
  await writeFile(join(meta, '.hidden.json'), '{"url":"https://images.example/h.jpg"}\n')
  assert.equal((await readAll([meta])).length, 2)
})

test("a table under a name a folder's tables are not read from (.txt, .dat) is refused, not skipped with its rows", async () => {
  // Excel's "Unicode Text" and "Text (Tab delimited)" save .txt, MySQL's INTO OUTFILE and many
  // exports .txt or .dat: beside the folder's .csv, their rows were skipped, the run saying nothing.
  const utf16 = Buffer.concat([
    Buffer.from([0xff, 0xfe]),
    Buffer.from('id\turl\r\n1\thttps://images.example/u.jpg\r\n', 'utf16le'),
  ])
  const rows: [string, string | Buffer, RegExp][] = [
    [
      'unicode.txt',
      utf16,
      /a table \(its first line a header with "url", tab-separated, UTF-16\) under a name a folder's tables are not read from: its rows would be skipped; name it \.tsv$/,
    ],
    [
      'tabs.txt',
      'id\turl\n1\thttps://images.example/t.jpg\n',
      /'.*tabs\.txt', a table \(its first line a header with "url", tab-separated\)/,
    ],
    [
      'export.dat',
      '"id","url"\n1,"https://images.example/d.jpg"\n',
      /a table \(its first line a header with "url", comma-separated\) .* name it \.csv$/,
    ],
    ['excel.txt', 'id;url\n1;https://images.example/e.jpg\n', /semicolon-separated\) .* name it \.csv$/],
  ]
  for (const [name, body, message] of rows) {
    const dir = join(root, `stray-${name}`)
    await mkdir(dir)
    await writeFile(join(dir, 'a.csv'), csv(0, 2))
    await writeFile(join(dir, name), body)
    await assert.rejects(openTables([dir]), (e: unknown) => {
      assert.equal((e as Error).name, 'UsageError')
      assert.match((e as Error).message, new RegExp(`^folder '.*stray-${name.replace('.', '\\.')}' holds `))
      assert.match((e as Error).message, message)
      return true
    })
  }
  // What holds no rows stays skipped: notes, a README with a URL further down, a header without the
  // URL column, an image, a file of one word, a URL list (lists are read by name).
  const notes = join(root, 'stray-notes')
  await mkdir(notes)
  await writeFile(join(notes, 'a.csv'), csv(0, 2))
  await writeFile(join(notes, 'README.txt'), 'Images from https://images.example/\n')
  await writeFile(join(notes, 'LICENSE'), 'MIT License\n\nurl,caption are the columns\n')
  await writeFile(join(notes, 'other.txt'), 'id\tlink\n1\thttps://images.example/x.jpg\n')
  await writeFile(join(notes, 'x.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46]))
  await writeFile(join(notes, 'word.dat'), 'url\n')
  await writeFile(join(notes, 'urls.txt'), 'https://images.example/l.jpg\n')
  assert.equal((await readAll([notes])).length, 2)
})
