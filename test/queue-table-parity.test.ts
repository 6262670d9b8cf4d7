import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { parquetWriteFile } from 'hyparquet-writer'
import { runCli } from './support/cli.js'
import { queueFixture } from './support/queue-fixture.js'
import { duckdbRun, queueManifests, webdatasetOf } from './support/shards.js'

/**
 * A table read through the queue (`imgpull enqueue` cut into shards by byte ranges, then one
 * `imgpull worker`, real redis-server) gives what a plain run of the same table gives: the same
 * samples (keys, .json values and types, captions, image bytes), the same failures, the same
 * Parquet schema and rows; and a table a plain run refuses, `enqueue` refuses at once, alike.
 */

const fx = queueFixture({ server: { sizes: [600, 2_000] }, prefix: 'imgpull-queue-parity-' })
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

/** Run `input` plainly and through the queue with the same options; both outputs, for the caller to look into. */
async function bothWays(name: string, input: string, shardSize: number, args: string[] = []) {
  const options = ['--output-format', 'webdataset', '--shard-size', String(shardSize), ...args]
  const plainOut = join(fx.dir, name, 'plain')
  const queuedOut = join(fx.dir, name, 'queued')
  const viaQueue = async () => {
    const enqueued = await runCli(['enqueue', input, ...fx.q(name), ...options])
    assert.equal(enqueued.code, 0, `${name}: enqueue: ${enqueued.stderr}`)
    const worker = await runCli(['worker', ...fx.q(name), '-o', queuedOut, '--exit-when-done'])
    assert.equal(worker.code, 0, `${name}: worker: ${worker.stderr}`)
  }
  const [plain] = await Promise.all([runCli([input, '-o', plainOut, ...options]), viaQueue()])
  assert.ok(plain.code === 0 || plain.code === 1, `${name}: plain run: ${plain.stderr}`)
  const local = await webdatasetOf(plainOut, [join(plainOut, 'manifest.jsonl')])
  const queued = await webdatasetOf(queuedOut, await queueManifests(queuedOut))
  assert.deepEqual(queued, local, `${name}: the queue's output is the plain run's`)
  return local
}

/** A folder for one case's input files. */
async function folder(name: string): Promise<string> {
  const path = join(fx.dir, name, 'in')
  await mkdir(path, { recursive: true })
  return path
}

/** Write `data` to `file` in a case's input folder: its path. */
async function written(name: string, file: string, data: string | Buffer): Promise<string> {
  const path = join(await folder(name), file)
  await writeFile(path, data)
  return path
}

/** The URL of image `i` of a case, or one that fails as asked. */
const image = (name: string, i: number, query = '') => fx.server.url(`/${name}/${i}.jpg${query}`)

/**
 * LZ4 as the reference encoder writes a short input: literals only (its token, the length past 15,
 * the bytes); no input is the token 0x00 alone, as polars writes an all-null column's dictionary.
 */
function lz4Literals(bytes: Uint8Array): Uint8Array {
  const length = [Math.min(bytes.length, 15) << 4]
  for (let rest = bytes.length - 15; rest >= 0; rest -= 255) length.push(Math.min(rest, 255))
  return Uint8Array.from([...length, ...bytes])
}

/** One case: its name, the input it writes (a path), the shard size and the options of both runs. */
type Case = [string, (name: string) => Promise<string>, number, string[]]

const cases: Case[] = [
  [
    // PostgreSQL's COPY ... TO text format (gmr/pgdumplib#7): a worker reads its \n, \t and \\ as
    // a local run does, told from the file's first bytes.
    'tsv-copy',
    async (name) => {
      const rows = [0, 1, 2, 3].map(
        (i) => `${image(name, i)}\tline ${i}\\nnext\\tcell\t${i ? 'C:\\\\d' : '\\N'}`,
      )
      return written(name, 'copy.tsv', `url\tcaption\tpath\n${rows.join('\n')}\n`)
    },
    2,
    ['--caption-col', 'caption'],
  ],
  [
    // A BOM, CRLF, captions holding line breaks (CRLF and LF) across the shards' byte boundaries,
    // a record ending in a delimiter the header has not (no cell), an empty and a bad URL, a line of
    // spaces and a tab, a 404.
    'csv-quoted',
    async (name) => {
      const rows = [
        `${image(name, 0)},"two\r\nlines, ""quoted""",0`,
        `${image(name, 1)},"three\nshort\nlines",1,`,
        `,"no url",2`,
        `not a url,"bad, url",3`,
        ' \t ', // blank, as pandas reads it (pandas-dev/pandas#10728)
        `${image(name, 4, '?status=404')},"gone\r\n",4`,
        `${image(name, 5)},plain,5,,`,
        `${image(name, 6)},"",6`,
      ]
      return written(name, 'rows.csv', `\ufeffurl,caption,n\r\n${rows.join('\r\n')}\r\n`)
    },
    2,
    ['--caption-col', 'caption'],
  ],
  [
    // The URL column last, its URLs holding commas unquoted (rom1504/img2dataset#196): read whole.
    'csv-url-last',
    async (name) => {
      const rows = Array.from({ length: 4 }, (_, i) => `c${i},${fx.server.url(`/${name}/w_1,h_2/${i}.jpg`)}`)
      return written(name, 'last.csv', `caption,url\n${rows.join('\n')}\n`)
    },
    2,
    ['--caption-col', 'caption'],
  ],
  [
    // R's write.table: a row name first in each record, which the header has no column for
    // (pola-rs/polars#1999), read as pandas reads it; a worker decides it from the first record too.
    'csv-row-names',
    async (name) => {
      const rows = Array.from({ length: 4 }, (_, i) => `"r${i}","${image(name, i)}","c ${i}"`)
      return written(name, 'r.csv', `"url","caption"\n${rows.join('\n')}\n\x1a`) // and DOS's end mark
    },
    2,
    ['--caption-col', 'caption'],
  ],
  [
    // Excel's `sep=;` line, a decimal comma, a quoted caption with a line break.
    'csv-sep',
    async (name) => {
      const rows = Array.from(
        { length: 5 },
        (_, i) => `${image(name, i)};"caption; ${i}${i === 2 ? '\r\nmore' : ''}";${i},5`,
      )
      return written(name, 'excel.csv', `sep=;\r\nurl;caption;score\r\n${rows.join('\r\n')}\r\n`)
    },
    2,
    ['--caption-col', 'caption'],
  ],
  [
    // Ids past 2^53 written as numbers, a float, a line that is not JSON, a blank line.
    'jsonl',
    async (name) => {
      const lines = Array.from({ length: 5 }, (_, i) =>
        i === 3
          ? '{not json'
          : `{"url":${JSON.stringify(image(name, i))},"id":${9007199254740993n + BigInt(i)},"score":${i}.5,"caption":"c\\n${i}"}`,
      )
      return written(
        name,
        'rows.jsonl',
        // DOS's end-of-file mark last (Rdatatable/data.table#1612): no row.
        `\ufeff${lines.slice(0, 2).join('\n')}\n\n${lines.slice(2).join('\r\n')}\n\x1a`,
      )
    },
    2,
    ['--caption-col', 'caption'],
  ],
  [
    // Text past ASCII (bytes are not characters: a shard starts at a byte offset), a BOM before
    // Excel's `sep=;`, lines ended by CR alone (classic Mac), a last record with no line end.
    'csv-utf8',
    async (name) => {
      const captions = ['café ☕', '"naïve\r😀"', 'ß', '"日本語\r\rテキスト"', 'ñ;ñ', '"é"']
      const rows = captions.map((c, i) => `${image(name, i)};${c.replace('\\r', '\r')};${i}`)
      return written(name, 'mac.csv', `\ufeffsep=;\rurl;caption;n\r${rows.join('\r')}`)
    },
    2,
    ['--caption-col', 'caption'],
  ],
  [
    // DuckDB's Parquet: its types (timestamps, decimals, lists, structs, blobs, ids past 2^53).
    'duckdb-types',
    async (name) => {
      const path = join(await folder(name), 'duck.parquet')
      const url = (i: number) => `'${image(name, i)}'`
      await duckdbRun(`COPY (SELECT * FROM (VALUES
        (0, ${url(0)}, 'a', 9007199254740993::BIGINT, TIMESTAMP '2024-01-02 03:04:05.123456', DATE '2024-02-29', 12.345::DECIMAL(18,3), ['x', 'y'], {'w': 640, 'h': 480}, '\\x00\\xFF'::BLOB, true, 1.5::DOUBLE),
        (1, NULL, NULL, -1::BIGINT, NULL, NULL, NULL, [], NULL, NULL, NULL, 'NaN'::DOUBLE),
        (2, ${url(2)}, '', 0::BIGINT, TIMESTAMP '1969-12-31 23:59:59.999999', DATE '1970-01-01', -0.5::DECIMAL(18,3), NULL, {'w': NULL, 'h': 1}, ''::BLOB, false, NULL),
        (3, ${url(3)}, 'c, "q"', 42::BIGINT, NULL, NULL, 99.999::DECIMAL(18,3), ['z'], NULL, 'abc'::BLOB, NULL, 'Infinity'::DOUBLE),
        (4, ${url(4)}, 'ünï ✓', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, -0.25::DOUBLE)
      ) AS t(n, url, caption, big, ts, day, price, tags, size, raw, flag, score)) TO '${path}' (FORMAT parquet, COMPRESSION zstd)`)
      return path
    },
    2,
    ['--caption-col', 'caption'],
  ],
  [
    // Spark's output folder: tables of several formats and separators, a gzip'd one, one of no
    // rows, its _SUCCESS and checksum files beside them.
    'spark-folder',
    async (name) => {
      const dir = await folder(name)
      const row = (i: number, sep: string) => `${image(name, i)}${sep}"c ${i}\n${sep}"${sep}${i}`
      await writeFile(
        join(dir, 'part-00000.csv'),
        `url,caption,n\n${[0, 1, 2].map((i) => row(i, ',')).join('\n')}\n`,
      )
      await writeFile(join(dir, 'part-00001.csv'), 'url,caption,n\n')
      await writeFile(
        join(dir, 'part-00002.csv'),
        `url;caption;n\r\n${[3, 4].map((i) => row(i, ';')).join('\r\n')}\r\n`,
      )
      await writeFile(
        join(dir, 'part-00003.csv.gz'),
        gzipSync(`url,caption,n\n${[5, 6, 7].map((i) => row(i, ',')).join('\n')}\n`),
      )
      await writeFile(join(dir, 'part-00004.tsv'), `url\tcaption\tn\n${image(name, 8)}\tc 8\t8\n`)
      await writeFile(join(dir, '_SUCCESS'), '')
      await writeFile(join(dir, '.part-00000.csv.crc'), 'crc')
      return dir
    },
    2,
    ['--caption-col', 'caption'],
  ],
  [
    // A header ending in a delimiter too (its last column has no name).
    'trailing-header',
    async (name) => {
      const path = join(await folder(name), 'trailing.csv')
      const rows = [0, 1, 2, 3].map((i) => `${image(name, i)},c ${i},`)
      await writeFile(path, `url,caption,\n${rows.join('\n')}\n`)
      return path
    },
    2,
    ['--caption-col', 'caption'],
  ],
  [
    // Excel's "Unicode Text" and PowerShell's UTF-16 JSON lines: their rows carried in the jobs.
    'utf16',
    async (name) => {
      const rows = [0, 1, 2].map((i) => `${image(name, i)}\tcafé ${i}\t${i}`)
      const lines = [3, 4, 5].map((i) => JSON.stringify({ url: image(name, i), caption: `é ${i}`, id: i }))
      await written(
        name,
        'a.tsv',
        Buffer.from(`\ufeffurl\tcaption\tn\r\n${rows.join('\r\n')}\r\n`, 'utf16le'),
      )
      await written(name, 'b.jsonl', Buffer.from(`\ufeff${lines.join('\r\n')}\r\n`, 'utf16le'))
      return folder(name)
    },
    2,
    ['--caption-col', 'caption'],
  ],
  [
    // gzip'd JSON lines and Parquet: their rows carried in the jobs, INT64 cells past 2^53 among them.
    'gzip',
    async (name) => {
      const lines = [0, 1, 2].map(
        (i) =>
          `{"url":${JSON.stringify(image(name, i))},"n":${i},"id":${2n ** 60n + BigInt(i)},"caption":"c ${i}"}`,
      )
      await written(name, 'a.jsonl.gz', gzipSync(`${lines.join('\n')}\n{"url":"","n":9}\n`))
      const plain = join(fx.dir, name, 'b.parquet')
      parquetWriteFile({
        filename: plain,
        rowGroupSize: 2,
        columnData: [
          { name: 'url', data: [4, 5, 6, 7].map((i) => (i === 5 ? '' : image(name, i))), type: 'STRING' },
          { name: 'id', data: [4, 5, 6, 7].map((i) => 2n ** 60n + BigInt(i)), type: 'INT64' },
          { name: 'n', data: [4, 5, 6, 7].map((i) => BigInt(i)), type: 'INT64' },
        ],
      })
      await written(name, 'b.parquet.gz', gzipSync(await readFile(plain)))
      return folder(name)
    },
    2,
    [],
  ],
  [
    // A folder of tables of one layout, CSV and Parquet, some columns carried, a hash checked
    // (one cell wrong: a failure; one empty: not checked).
    'folder',
    async (name) => {
      const dir = await folder(name)
      const hash = (i: number) =>
        i === 1 ? 'd'.repeat(64) : i === 4 ? '' : sha256(fx.server.bytes(`/${name}/${i}.jpg`))
      const row = (i: number) => `${image(name, i)},"t ${i}\nx",${hash(i)},${i},drop ${i}`
      await writeFile(join(dir, 'a.csv'), `url,text,sha,n,other\n${[0, 1, 2].map(row).join('\n')}\n`)
      parquetWriteFile({
        filename: join(dir, 'b.parquet'),
        rowGroupSize: 2,
        columnData: [
          { name: 'url', data: [3, 4, 5].map((i) => image(name, i)), type: 'STRING' },
          { name: 'text', data: [3, 4, 5].map((i) => `t ${i}`), type: 'STRING' },
          { name: 'sha', data: [3, 4, 5].map(hash), type: 'STRING' },
          { name: 'n', data: [3, 4, 5].map((i) => String(i)), type: 'STRING' },
          { name: 'other', data: [3, 4, 5].map((i) => `drop ${i}`), type: 'STRING' },
        ],
      })
      return dir
    },
    2,
    ['--caption-col', 'text', '--hash-col', 'sha', '--columns', 'n'],
  ],
  [
    // LZ4 pages of no bytes: an all-null column's dictionary, as polars writes LZ4_RAW; shards
    // starting inside row groups, bad URLs there named by their row.
    'parquet-lz4-empty',
    async (name) => {
      const path = join(await folder(name), 'polars.parquet')
      const urls = [0, 1, 2, 3, 4, 5, 6].map((i) => image(name, i))
      parquetWriteFile({
        filename: path,
        codec: 'LZ4_RAW',
        compressors: { LZ4_RAW: lz4Literals },
        rowGroupSize: 2,
        columnData: [
          { name: 'url', data: urls.map((u, i) => [u, u, u, u, '', 'ftp://x/5.jpg', u][i]), type: 'STRING' },
          { name: 'caption', data: urls.map(() => null), type: 'STRING', encoding: 'RLE_DICTIONARY' },
          { name: 'id', data: urls.map((_, i) => 2n ** 60n + BigInt(i)), type: 'INT64' },
        ],
      })
      return path
    },
    3,
    ['--caption-col', 'caption'],
  ],
]

test('a table through enqueue and a worker gives the samples, failures and Parquet of a plain run', async () => {
  // Two cases at a time: each is a few processes started one after another.
  const next = cases.values()
  const one = async () => {
    for (const [name, write, shardSize, args] of next) {
      const local = await bothWays(name, await write(name), shardSize, args)
      assert.ok(Object.keys(local.shards).length >= 2, `${name}: more than one shard`)
    }
  }
  await Promise.all([one(), one()])
})

/** A ZIP's first local file header naming `name` (stored), as Excel begins an .xlsx. */
function zipEntry(name: string): Buffer {
  const head = Buffer.alloc(30)
  head.write('PK\x03\x04', 0, 'latin1')
  head.writeUInt16LE(Buffer.byteLength(name), 26)
  return Buffer.concat([head, Buffer.from(name), Buffer.alloc(64)])
}

/** A table a plain run refuses: its input (a path) and what the refusal says. */
type Refused = [string, (name: string) => Promise<string>, RegExp]

const refused: Refused[] = [
  [
    'pipe-separated',
    async (name) => {
      return written(name, 'export.csv', `url|caption\n${image(name, 0)}|x\n${image(name, 1)}|y\n`)
    },
    /looks \|-separated, which imgpull does not read/,
  ],
  [
    'semicolon-tsv',
    async (name) => {
      return written(name, 'export.tsv', `url;caption\n${image(name, 0)};x\n`)
    },
    /looks ;-separated \(name it \.csv/,
  ],
  [
    // Given with a table's options, it was told to give --input-format, and given that, to unzip it.
    'xlsx',
    async (name) => written(name, 'photos.xlsx', zipEntry('[Content_Types].xml')),
    /'.*photos\.xlsx' is an Excel workbook \(\.xlsx\), not a list of URLs: save it as CSV UTF-8/,
  ],
  [
    'xls-named-csv',
    async (name) => written(name, 'photos.csv', Buffer.from(`d0cf11e0a1b11ae1${'00'.repeat(56)}`, 'hex')),
    /photos\.csv is an Excel workbook in its old format \(\.xls\), not a CSV table: save it as CSV UTF-8/,
  ],
  [
    'lzo',
    async (name) => {
      const dir = await folder(name)
      parquetWriteFile({
        filename: join(dir, 'a.parquet'),
        columnData: [
          { name: 'url', data: [image(name, 0)], type: 'STRING' },
          { name: 'caption', data: ['x'], type: 'STRING' },
        ],
      })
      parquetWriteFile({
        filename: join(dir, 'b.parquet'),
        columnData: [
          { name: 'url', data: [image(name, 1)], type: 'STRING' },
          { name: 'caption', data: ['x'], type: 'STRING', codec: 'LZO' },
        ],
        compressors: { LZO: (bytes: Uint8Array) => bytes },
      })
      return dir
    },
    /b\.parquet column "caption" is compressed with LZO, which imgpull does not read/,
  ],
  [
    'delta',
    async (name) => {
      const dir = await folder(name)
      await mkdir(join(dir, '_delta_log'))
      await writeFile(join(dir, '_delta_log', '00000000000000000000.json'), '{}')
      await writeFile(join(dir, 'part-00000.csv'), `url\n${image(name, 0)}\n`)
      return dir
    },
    /is a Delta Lake table \(it holds _delta_log\/\)/,
  ],
]

test('a table a plain run refuses, enqueue refuses at once, alike: exit 2, one line naming the file, nothing queued', async () => {
  for (const [name, write, message] of refused) {
    const input = await write(name)
    const args = ['--caption-col', 'caption']
    const [plain, enqueued] = await Promise.all([
      runCli([input, '-o', join(fx.dir, name, 'plain'), ...args]),
      runCli(['enqueue', input, ...fx.q(name), ...args]),
    ])
    for (const [how, r] of [
      ['plain run', plain],
      ['enqueue', enqueued],
    ] as const) {
      assert.equal(r.code, 2, `${name}: ${how}: ${r.stderr}`)
      const lines = r.stderr.trim().split('\n')
      assert.equal(lines.length, 1, `${name}: ${how}: one line: ${r.stderr}`)
      assert.match(lines[0], message, `${name}: ${how}`)
      assert.ok(lines[0].includes(input), `${name}: ${how} names the file: ${lines[0]}`)
    }
    // Each names its own --help.
    const said = (stderr: string) => stderr.replace(/ \(see imgpull (enqueue )?--help\)/, '')
    assert.equal(said(enqueued.stderr), said(plain.stderr), `${name}: enqueue says what a plain run says`)
    assert.deepEqual(await fx.redis.client.keys(`*${name}*`), [], `${name}: nothing queued`)
  }
  // A fault a plain run finds as it reads (a quote never closed), enqueue finds before any shard is
  // added: one line naming the file and line, and that nothing is in the queue.
  const input = await written('unclosed', 'rows.csv', `url,caption\n${image('unclosed', 0)},"never\nclosed\n`)
  const enqueued = await runCli(['enqueue', input, ...fx.q('unclosed')])
  assert.equal(enqueued.code, 2, enqueued.stderr)
  assert.equal(
    enqueued.stderr,
    `imgpull: ${input} line 2: a quote opened in this record is never closed; stopped there: nothing of it is in queue unclosed\n`,
  )
  // So is the header again with its columns in another order (files joined with cat): read on,
  // each thumbnail was the image.
  const joined = await written(
    'reordered',
    'joined.csv',
    `url,caption\n${image('reordered', 0)},x\ncaption,url\ny,z\n`,
  )
  const refusal = await runCli(['enqueue', joined, ...fx.q('reordered')])
  assert.equal(refusal.code, 2, refusal.stderr)
  assert.match(
    refusal.stderr,
    /^imgpull: .*joined\.csv line 3 is its header again with the columns in another order \("caption", "url"\): .*; stopped there: nothing of it is in queue reordered\n$/,
  )
})

test('a carried column named as one of imgpull own: enqueue warns where the user is, in the plain run own words', async () => {
  const input = await written(
    'shadowed',
    'rows.csv',
    `url,caption,status\n${image('shadowed', 0)},a cat,draft\n`,
  )
  const args = ['--output-format', 'webdataset']
  const [plain, enqueued] = await Promise.all([
    runCli([input, '-o', join(fx.dir, 'shadowed', 'plain'), ...args]),
    runCli(['enqueue', input, ...fx.q('shadowed'), ...args]),
  ])
  assert.equal(plain.code, 0, plain.stderr)
  assert.equal(enqueued.code, 0, enqueued.stderr)
  const warning = (stderr: string) => stderr.split('\n').filter((line) => line.includes('left out there'))
  assert.deepEqual(warning(plain.stderr), [
    "imgpull: warning: the table's columns caption,status: the shards' .json and Parquet have imgpull's own columns of those names (see README, Datasets), so the table's are left out there; the manifest's meta keeps them (--caption-col caption makes that column the samples' caption)",
  ])
  assert.deepEqual(warning(enqueued.stderr), warning(plain.stderr))
})
