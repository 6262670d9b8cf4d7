import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { parquetWriteFile } from 'hyparquet-writer'
import { UsageError } from '../src/errors.js'
import { jobOf } from '../src/plan/source-item.js'
import { enqueue } from '../src/queue/enqueue.js'
import { planShards } from '../src/queue/plan-shards.js'
import { shardSource } from '../src/queue/read-shard.js'
import type { ShardJobData } from '../src/queue/shard-data.js'
import { lineSpans } from '../src/queue/spans.js'
import { argumentJobs, argumentSource } from '../src/sources/lines.js'
import { openTables, type TableOptions, tablesSource } from '../src/sources/tables/index.js'
import type { Job } from '../src/types.js'
import { runCli } from './support/cli.js'
import { tempFolder } from './support/tables.js'

const dir = await tempFolder('imgpull-queue-shards-')

/** Every job of every shard, in shard order, through the job data a worker gets (JSON and back). */
async function viaShards(inputs: string[], shardSize: number, table?: TableOptions, stdin?: Readable) {
  const plan = await planShards(inputs, { shardSize, table, stdin })
  const jobs: Job[] = []
  const shards: { shard: number; count: number; mode: string; bytes: number }[] = []
  for await (const s of plan) {
    const data: ShardJobData = JSON.parse(
      JSON.stringify({
        v: 1,
        inputId: 'x',
        shard: s.shard,
        shardSize,
        firstRow: s.firstRow,
        rows: s.rows,
        options: {},
      }),
    )
    const before = jobs.length
    for await (const job of shardSource(data)) jobs.push(jobOf(job, jobs.length + 1))
    assert.equal(jobs.length - before, s.rows.count, `shard ${s.shard} gives the rows it counts`)
    shards.push({
      shard: s.shard,
      count: s.rows.count,
      mode: s.rows.kind,
      bytes: JSON.stringify(data).length,
    })
  }
  assert.deepEqual(
    shards.map((s) => s.shard),
    shards.map((_, i) => i),
    'shards are numbered in order from 0',
  )
  return { plan, jobs, shards }
}

async function locally(inputs: string[], table?: TableOptions): Promise<Job[]> {
  const jobs: Job[] = []
  for await (const job of tablesSource(await openTables(inputs, table))) jobs.push(job as Job)
  return jobs
}

test('lines are split as readline splits them: LF, CRLF, a lone CR, blank lines and comments', async () => {
  const list = join(dir, 'urls.txt')
  const urls = Array.from({ length: 23 }, (_, i) => `https://img.example/${i}.jpg`)
  const text = `\ufeff# a comment\r\n${urls.slice(0, 5).join('\r\n')}\n\n   \n${urls.slice(5, 9).join('\r')}\r${urls.slice(9).join('\n')}`
  // A line saved as Windows-1252 (not UTF-8), and one with a spreadsheet's second column.
  const latin1 = Buffer.from(
    '\nhttps://img.example/caf\xe9 na\xefve.jpg\nhttps://img.example/tab.jpg\tcaption',
    'latin1',
  )
  await writeFile(list, Buffer.concat([Buffer.from(text), latin1]))
  const local: string[] = []
  for await (const url of argumentSource([list])) local.push(url)
  const where: (string | undefined)[] = []
  for await (const job of argumentJobs([list])) where.push(job.where)
  assert.deepEqual(local.slice(-2), ['https://img.example/caf%E9 na%EFve.jpg', 'https://img.example/tab.jpg'])
  for (const size of [1, 4, 7, 23, 100]) {
    const { jobs, shards } = await viaShards([list], size)
    assert.deepEqual(
      jobs.map((j) => j.url),
      local,
      `shard size ${size}`,
    )
    assert.deepEqual(
      jobs.map((j) => j.row),
      local.map((_, i) => i),
      'each URL keeps its position in the list as its row',
    )
    // A message about a URL names its line, as a local run's does (`'urls.txt' line 12`).
    assert.deepEqual(
      jobs.map((j) => j.where),
      where,
      `shard size ${size}: lines`,
    )
    assert.ok(shards.every((s) => s.mode === 'pointer'))
  }
})

test('lineSpans gives offsets where each line starts, across chunk boundaries', async () => {
  const text = 'a\r\nbb\rccc\n\ndd'
  for (const size of [1, 2, 3, 64]) {
    const chunks = Buffer.from(text).reduce<Buffer[]>((acc, _, i, all) => {
      if (i % size === 0) acc.push(Buffer.from(all.subarray(i, i + size)))
      return acc
    }, [])
    const spans: [number, string][] = []
    for await (const s of lineSpans(Readable.from(chunks), true)) spans.push([s.start, s.text])
    assert.deepEqual(
      spans.filter(([, t]) => t !== ''),
      [
        [0, 'a'],
        [3, 'bb'],
        [6, 'ccc'],
        [11, 'dd'],
      ],
      `chunks of ${size}`,
    )
  }
})

test('CSV: quoted line breaks, CRLF, a byte order mark, blank lines and malformed records, over two files', async () => {
  const folder = join(dir, 'csvs')
  await mkdir(folder)
  const rows = Array.from({ length: 11 }, (_, i) =>
    i === 3
      ? `https://img.example/${i}.jpg,"two\r\nlines, and a ""quote""",x`
      : i === 6
        ? `https://img.example/${i}.jpg,too,many,fields`
        : i === 8
          ? `https://img.example/${i}.jpg` // empty trailing fields dropped: read as empty cells
          : `https://img.example/${i}.jpg,caption ${i},${i}`,
  )
  await writeFile(join(folder, 'a.csv'), `\ufeffurl,caption,n\r\n${rows.slice(0, 7).join('\r\n')}\r\n\r\n`)
  // b.csv mixes line endings (a CRLF header over LF rows): every row is still a row.
  await writeFile(join(folder, 'b.csv'), `url,caption,n\r\n${rows.slice(7).join('\n')}`)
  const table = { captionCol: 'caption' }
  const local = await locally([folder], table)
  assert.equal(local.length, 11)
  assert.deepEqual(
    [local[6].invalid?.code, local[8].invalid, local[8].caption],
    ['invalid-row', undefined, ''],
  )
  for (const size of [1, 2, 3, 5, 11]) {
    const { jobs } = await viaShards([folder], size, table)
    assert.deepEqual(jobs, local, `shard size ${size}`)
  }
})

test('CSV: a ;-separated export and a header name twice are read by workers as a local run reads them', async () => {
  const csv = join(dir, 'excel.csv')
  const rows = Array.from(
    { length: 7 },
    (_, i) => `https://img.example/${i}.jpg;"caption, ${i}";${i},5;x${i}`,
  )
  await writeFile(csv, `url;caption;score;score\r\n${rows.join('\r\n')}\r\n`)
  const table = { captionCol: 'caption' }
  const local = await locally([csv], table)
  assert.deepEqual(local[1].meta, { caption: 'caption, 1', score: '1,5', 'score.1': 'x1' })
  for (const size of [1, 3, 7]) {
    const { jobs } = await viaShards([csv], size, table)
    assert.deepEqual(jobs, local, `shard size ${size}`)
  } // Excel's `sep=;` line before the header: neither the header nor a row, for workers too.
  const sep = join(dir, 'excel-sep.csv')
  await writeFile(sep, `sep=;\r\nurl;caption;score;score\r\n${rows.join('\r\n')}\r\n`)
  const withSep = await locally([sep], table)
  assert.deepEqual(withSep, local)
  for (const size of [1, 3, 7]) {
    const { jobs } = await viaShards([sep], size, table)
    assert.deepEqual(jobs, local, `sep= line, shard size ${size}`)
  }
})

test('CSV: a ;-separated export whose quoted cells hold line breaks is cut where a local run reads its records', async () => {
  // Enqueue found the records with `,`: a `;` file's quote is then inside a field, text, and the
  // line break in `"two⏎lines"` ended a record. 4 rows were 5, the phantom `lines"` an invalid-url
  // row shifting every key after it; quoted everywhere (as Python's csv.QUOTE_ALL writes), a quote
  // closing before `;` closed inside its field, and enqueue refused the file.
  const rows = Array.from({ length: 4 }, (_, i) =>
    i === 1
      ? `https://img.example/${i}.jpg;"two\r\nlines; ""quoted""";${i}`
      : `https://img.example/${i}.jpg;"caption ${i}";${i}`,
  )
  const quoted = rows.map((row) => row.replace(/^([^;]*);/, '"$1";').replace(/;(\d)$/, ';"$1"'))
  const files: [string, string][] = [
    ['excel-breaks.csv', `url;caption;n\r\n${rows.join('\r\n')}\r\n`],
    ['excel-breaks-sep.csv', `sep=;\r\nurl;caption;n\r\n${rows.join('\r\n')}\r\n`],
    ['excel-breaks-quoted.csv', `"url";"caption";"n"\r\n${quoted.join('\r\n')}\r\n`],
  ]
  const expected = rows.map((_, i) => [
    `https://img.example/${i}.jpg`,
    i === 1 ? 'two\r\nlines; "quoted"' : `caption ${i}`,
  ])
  await readAlikeBothWays(files, expected, [1, 2, 4])
})

/**
 * Each of `files` (name, CSV text), written to `dir`, read by a local run gives `expected` ([url,
 * caption] per row), and through enqueue and workers at each shard size of `sizes` the same jobs.
 */
async function readAlikeBothWays(files: [string, string][], expected: string[][], sizes: number[]) {
  const table = { captionCol: 'caption' }
  for (const [name, text] of files) {
    const csv = join(dir, name)
    await writeFile(csv, text)
    const local = await locally([csv], table)
    assert.deepEqual(
      local.map((job) => [job.url, job.caption]),
      expected,
      name,
    )
    for (const size of sizes) {
      const { jobs } = await viaShards([csv], size, table)
      assert.deepEqual(jobs, local, `${name}, shard size ${size}`)
    }
  }
}

test('CSV: Spark\'s \\" inside quoted fields is read by workers as a local run reads it, cut at its records', async () => {
  // Enqueue found the records as RFC 4180 does: a caption's \" closed its field, and a quoted
  // line break after it ended a record, a phantom row shifting every key after it.
  const caption = (i: number) =>
    [`"say \\"hi\\" ${i}"`, `"\\"a\\", b\r\nc ${i}"`, `"¯\\_(ツ)_/¯ ${i}"`, `plain ${i}`][i % 4]
  const read = (i: number) => [`say "hi" ${i}`, `"a", b\r\nc ${i}`, `¯\\_(ツ)_/¯ ${i}`, `plain ${i}`][i % 4]
  const rows = Array.from({ length: 9 }, (_, i) => `${i},${caption(i)},https://img.example/${i}.jpg`)
  const files: [string, string][] = [
    ['spark.csv', `id,caption,url\r\n${rows.join('\r\n')}\r\n`],
    [
      'spark-semi.csv',
      `sep=;\nid;caption;url\n${rows.map((row) => row.replace(/^(\d+),(.*),(https:.*)$/s, '$1;$2;$3')).join('\n')}\n`,
    ],
  ]
  const expected = rows.map((_, i) => [`https://img.example/${i}.jpg`, read(i)])
  await readAlikeBothWays(files, expected, [1, 2, 4, 9])
})

test('TSV and JSON lines (blank lines, a line that is not JSON, per-row keys)', async () => {
  const tsv = join(dir, 'rows.tsv')
  // Row 2's caption opens with a quote that is text (closed inside row 4's), and so does row 5's
  // (closed at the end of row 6's): each line is a row.
  const captions: Record<number, string> = { 2: '"c2', 4: 'c4 is 12" long', 5: '"c5', 6: 'c6 is 12"' }
  const caption = (i: number) => captions[i] ?? `c${i}`
  await writeFile(
    tsv,
    `url\tcaption\r\n${Array.from({ length: 7 }, (_, i) => `https://img.example/${i}.png\t${caption(i)}`).join('\r\n')}\r\n`,
  )
  const jsonl = join(dir, 'rows.jsonl')
  const lines = Array.from({ length: 9 }, (_, i) =>
    i === 4
      ? '{not json'
      : JSON.stringify({ url: `https://img.example/${i}.png`, k: i, [`only${i % 2}`]: true }),
  )
  await writeFile(jsonl, `\ufeff${lines.slice(0, 3).join('\n')}\n\n  \n${lines.slice(3).join('\r\n')}\n`)
  for (const [input, table] of [
    [tsv, { captionCol: 'caption' }],
    [jsonl, {}],
    [jsonl, { columns: ['k'] }],
  ] as const) {
    const local = await locally([input], table)
    if (input === tsv)
      assert.deepEqual(
        local.map((job) => job.url),
        Array.from({ length: 7 }, (_, i) => `https://img.example/${i}.png`),
      )
    for (const size of [1, 2, 4, 50])
      assert.deepEqual((await viaShards([input], size, table)).jobs, local, `${input} by ${size}`)
  }
})

test('TSV: a caption whose quote never closes is text on its line, for workers as for a local run', async () => {
  const tsv = join(dir, 'unclosed.tsv')
  const caption = (i: number) => (i === 3 ? '"c3' : i === 5 ? 'c5 ""x""' : `c${i}`)
  await writeFile(
    tsv,
    `url\tcaption\r\n${Array.from({ length: 8 }, (_, i) => `https://img.example/${i}.png\t${caption(i)}`).join('\r\n')}\r\n`,
  )
  const table = { captionCol: 'caption' }
  const local = await locally([tsv], table)
  assert.deepEqual(
    local.map((job) => job.url),
    Array.from({ length: 8 }, (_, i) => `https://img.example/${i}.png`),
  )
  for (const size of [1, 2, 3, 50])
    assert.deepEqual((await viaShards([tsv], size, table)).jobs, local, `by ${size}`)
})

test('Parquet: shards start inside row groups and span files, reading only their own rows', async () => {
  const folder = join(dir, 'parquet')
  await mkdir(folder)
  for (const [name, from, n] of [
    ['part-0.parquet', 0, 7],
    ['part-1.parquet', 7, 0],
    ['part-2.parquet', 7, 12],
  ] as const) {
    parquetWriteFile({
      filename: join(folder, name),
      rowGroupSize: 3,
      columnData: [
        {
          name: 'url',
          data: Array.from({ length: n }, (_, i) => `https://img.example/${from + i}.webp`),
          type: 'STRING',
        },
        {
          name: 'id',
          data: Array.from({ length: n }, (_, i) => BigInt(from + i) * 2n ** 40n),
          type: 'INT64',
        },
      ],
    })
  }
  const local = await locally([folder])
  assert.equal(local.length, 19)
  for (const size of [1, 2, 3, 4, 7, 19, 40]) {
    const { jobs, shards } = await viaShards([folder], size)
    assert.deepEqual(jobs, local, `shard size ${size}`)
    assert.ok(
      shards.every((s) => s.mode === 'pointer' && s.bytes < 1000),
      'a pointer is small',
    )
  }
})

test('gzip-compressed and UTF-16 tables and lists, and standard input, carry their rows in the job', async () => {
  const gz = join(dir, 'rows.csv.gz')
  await writeFile(
    gz,
    gzipSync(
      `url,n\n${Array.from({ length: 9 }, (_, i) => `https://img.example/${i}.gif,${i}`).join('\n')}\n`,
    ),
  )
  const local = await locally([gz])
  const { jobs, shards, plan } = await viaShards([gz], 4)
  assert.deepEqual(jobs, local)
  assert.deepEqual(
    shards.map((s) => [s.mode, s.count]),
    [
      ['inline', 4],
      ['inline', 4],
      ['inline', 1],
    ],
  )
  assert.match(plan.inlineReason ?? '', /gzip-compressed/)

  // A UTF-16 table (Excel's "Unicode Text"): a worker reading from a byte offset would find no row
  // there; its rows are carried decoded, a local run's rows.
  const excel = join(dir, 'excel.tsv')
  await writeFile(
    excel,
    Buffer.from(
      `\ufeffurl\tcaption\r\n${Array.from({ length: 9 }, (_, i) => `https://img.example/u${i}.gif\tcafé ${i}`).join('\r\n')}\r\n`,
      'utf16le',
    ),
  )
  const table = { captionCol: 'caption' }
  const decoded = await viaShards([excel], 4, table)
  assert.deepEqual(decoded.jobs, await locally([excel], table))
  assert.equal(decoded.jobs[8].caption, 'café 8')
  assert.deepEqual(
    decoded.shards.map((s) => [s.mode, s.count]),
    [
      ['inline', 4],
      ['inline', 4],
      ['inline', 1],
    ],
  )
  assert.match(decoded.plan.inlineReason ?? '', /excel\.tsv is UTF-16 text/)

  // A gzip'd URL list too: no worker could find its line by a byte offset; nor in a UTF-16 list
  // (Windows' "Unicode" text), read decoded.
  const listed = Array.from({ length: 5 }, (_, i) => `https://img.example/g${i}.jpg`)
  const coded: [string, Buffer, RegExp][] = [
    ['urls.txt.gz', gzipSync(`${listed.join('\n')}\n`), /urls\.txt\.gz is gzip-compressed/],
    [
      'board-utf16.txt',
      Buffer.from(`\ufeff${listed.join('\r\n')}\r\n`, 'utf16le'),
      /board-utf16\.txt is UTF-16 text/,
    ],
  ]
  for (const [name, bytes, reason] of coded) {
    await writeFile(join(dir, name), bytes)
    const { jobs, shards, plan: listPlan } = await viaShards([join(dir, name)], 2)
    assert.deepEqual(
      jobs.map((j) => j.url),
      listed,
      name,
    )
    assert.deepEqual(
      shards.map((s) => s.mode),
      ['inline', 'inline', 'inline'],
    )
    assert.match(listPlan.inlineReason ?? '', reason)
  }

  const urls = Array.from({ length: 5 }, (_, i) => `https://img.example/s${i}.jpg`)
  const piped = await viaShards(['-'], 2, undefined, Readable.from([`${urls.join('\n')}\n`]))
  assert.deepEqual(
    piped.jobs.map((j) => j.url),
    urls,
  )
  assert.equal(piped.plan.mode, 'inline')
  const again = await viaShards(['-'], 2, undefined, Readable.from([`${urls.join('\n')}\n`]))
  assert.equal(again.plan.inputId(), piped.plan.inputId(), 'the same stream has the same id')
})

test("rows carried in the job keep a row's NaN and infinities, as a local run reads them for the shards' Parquet", async () => {
  // Python's json.dumps writes float('inf') as Infinity (rilldata/rill#4601: pandas' np.inf); the
  // rows, JSON in the job, carried it as null, where a local run's Parquet holds the number.
  const gz = join(dir, 'scores.jsonl.gz')
  const lines = ['Infinity', '-Infinity', 'NaN', '0.5'].map(
    (v, i) => `{"url": "https://img.example/s${i}.gif", "score": ${v}}`,
  )
  await writeFile(gz, gzipSync(`${lines.join('\n')}\n`))
  const { jobs, shards } = await viaShards([gz], 3)
  assert.deepEqual(
    shards.map((s) => s.mode),
    ['inline', 'inline'],
  )
  assert.deepEqual(
    jobs.map((j) => j.meta?.score),
    [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, 0.5],
  )
  assert.deepEqual(jobs, await locally([gz]))
})

test('the input id follows the content, the reading options and the shard size, not the path', async () => {
  const a = join(dir, 'id-a.txt')
  const b = join(dir, 'id-b.txt')
  await writeFile(a, 'https://img.example/1.jpg\n')
  await writeFile(b, 'https://img.example/1.jpg\n')
  const id = async (p: string, size: number) => (await planShards([p], { shardSize: size })).inputId()
  assert.equal(await id(a, 10), await id(b, 10))
  assert.notEqual(await id(a, 10), await id(a, 11))
  await writeFile(b, 'https://img.example/2.jpg\n')
  assert.notEqual(await id(a, 10), await id(b, 10))
})

test('what enqueue refuses', async () => {
  await assert.rejects(planShards(['https://img.example/a.jpg'], { shardSize: 2 }), /not URLs/)
  await assert.rejects(planShards(['-', join(dir, 'id-a.txt')], { shardSize: 2 }), /enqueue it alone/)
  await assert.rejects(planShards([join(dir, 'nope.txt')], { shardSize: 2 }), /no such file/)
  await assert.rejects(
    planShards([join(dir, 'id-a.txt'), join(dir, 'rows.tsv')], { shardSize: 2 }),
    /cannot mix/,
  )
  // Table options for URL lists: refused as a local run refuses them. Dropped, a
  // --hash-col was never checked, and standard input's header and cells were enqueued as URLs.
  const csv = 'url,sha\nhttps://img.example/1.jpg,abc\n'
  for (const [inputs, table, expected] of [
    [
      ['-'],
      { hashCol: 'sha' },
      /^--hash-col is for tables .*: standard input is read as a URL list \(give --input-format if it is a table\)$/,
    ],
    [
      [join(dir, 'id-a.txt')],
      { captionCol: 'c' },
      /^--caption-col is for tables .*id-a\.txt' is read as a URL list \(its name is no table's: give --input-format if it is one\)$/,
    ],
  ] as const)
    await assert.rejects(
      planShards(inputs, { shardSize: 2, table, stdin: Readable.from([csv]) }),
      (error: Error) => error instanceof UsageError && expected.test(error.message),
    )
  const cli = await runCli(
    ['enqueue', '-', '--hash-col', 'sha', '--queue', 'q', '--redis', 'redis://127.0.0.1:9'],
    {
      input: csv,
    },
  )
  assert.equal(cli.code, 2, cli.stderr)
  assert.match(cli.stderr, /^imgpull: --hash-col is for tables .*standard input is read as a URL list/)
  // With --input-format, standard input is a table, as `imgpull` reads it (it was refused: "tables
  // are read from files"): its rows carried in the jobs, its hash column with them.
  const piped = await planShards(['-'], {
    shardSize: 2,
    table: { format: 'csv', hashCol: 'sha' },
    stdin: Readable.from([csv]),
  })
  const shards = []
  for await (const shard of piped) shards.push(shard)
  assert.deepEqual(
    {
      mode: piped.mode,
      reason: piped.inlineReason,
      files: piped.files,
      rows: piped.rows(),
      count: shards.length,
    },
    { mode: 'inline', reason: 'standard input', files: [], rows: 1, count: 1 },
  )
  // Data that cannot be read past: a usage error naming file and line, as a local run says it.
  await writeFile(
    join(dir, 'open-quote.csv'),
    'url\nhttps://img.example/1.jpg\n"https://img.example/2.jpg\nx\n',
  )
  const plan = await planShards([join(dir, 'open-quote.csv')], { shardSize: 2 })
  await assert.rejects(
    (async () => {
      for await (const _ of plan);
    })(),
    (error: Error) =>
      error instanceof UsageError &&
      /open-quote\.csv line 3: a quote opened in this record is never closed$/.test(error.message),
  )
  // A table that is not UTF-8 past what opening it reads: refused by enqueue's pass over every
  // byte, as a local run refuses it (the workers read only their rows).
  const rows = Array.from({ length: 50_000 }, (_, i) => `https://img.example/${i}.jpg`)
  const latin1 = (text: string) => Buffer.from(text, 'latin1')
  await writeFile(join(dir, 'latin1.csv'), latin1(`url,caption\n${rows.join(',x\n')},caf\u00e9\n`))
  await writeFile(
    join(dir, 'latin1.jsonl'),
    latin1(
      `${rows.map((u, i) => JSON.stringify(i === 49_999 ? { url: u, c: 'caf\u00e9' } : { url: u })).join('\n')}\n`,
    ),
  )
  for (const [name, line] of [
    ['latin1.csv', 50_001],
    ['latin1.jsonl', 50_000],
  ] as const) {
    const latin = await planShards([join(dir, name)], { shardSize: 100 })
    await assert.rejects(
      (async () => {
        for await (const _ of latin);
      })(),
      (error: Error) =>
        error instanceof UsageError &&
        error.message ===
          `${join(dir, name)} is not UTF-8 text (byte 0xE9 on line ${line}): convert it first, e.g. iconv -f latin1 -t utf-8`,
    )
  }
  // Run options every worker would refuse, refused once, before Redis is asked anything.
  const list = join(dir, 'id-a.txt')
  const redis = 'redis://127.0.0.1:9'
  for (const [options, expected] of [
    [{ headers: { 'Proxy-Authorization': 'Basic x' } }, /Proxy-Authorization/],
    [{ proxy: 'http://u:100%@proxy:3128' }, /percent-encoded/],
  ] as const)
    await assert.rejects(enqueue([list], { redis, queue: 'refused', options }), expected)
})
