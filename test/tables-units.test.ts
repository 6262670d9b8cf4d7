import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { UsageError } from '../src/errors.js'
import type { JobRecord } from '../src/journal/journal.js'
import { failureHolds, judgedAgainst, type Limits } from '../src/plan/judged-against.js'
import { fitted } from '../src/sinks/webdataset/parquet.js'
import {
  decimalType,
  decimalValue,
  KindTally,
  mergeType,
  runColumnTypes,
} from '../src/sources/tables/column-types.js'
import { planColumns } from '../src/sources/tables/columns.js'
import { backslashRecord, type CsvEscape, sniffCsvEscape } from '../src/sources/tables/csv-escape.js'
import { shownTableFormat, type TableFormat } from '../src/sources/tables/format.js'
import { detectTableFormat, jsonSafe, parseExpectedHash } from '../src/sources/tables/index.js'
import { nonFiniteAsNull, parseJsonlLine, writtenNumbers } from '../src/sources/tables/jsonl.js'
import { hashTypeAlone, resolveTableOptions } from '../src/sources/tables/options.js'
import { cellText, decimalText, PARSERS, wallClock } from '../src/sources/tables/values.js'
import type { CarriedType, Job } from '../src/types.js'

test('the format comes from the name: four tables, each optionally gzip-compressed', () => {
  const cases: [string, ReturnType<typeof detectTableFormat>][] = [
    ['a.csv', { format: 'csv', gzip: false }],
    ['dir.v2/A.CSV.GZ', { format: 'csv', gzip: true }],
    ['x.tsv', { format: 'tsv', gzip: false }],
    ['x.tsv.gz', { format: 'tsv', gzip: true }],
    ['x.jsonl', { format: 'jsonl', gzip: false }],
    ['x.ndjson.gz', { format: 'jsonl', gzip: true }],
    ['part-00000.snappy.parquet', { format: 'parquet', gzip: false }],
    ['x.parquet.gz', { format: 'parquet', gzip: true }],
    ['urls.txt', undefined],
    ['urls.txt.gz', undefined],
    ['x.json', undefined],
    ['csv', undefined],
    ['.csv', undefined],
    ['x.gz', undefined],
    ['x.constructor', undefined],
    ['C:\\data\\x.csv', { format: 'csv', gzip: false }],
  ]
  for (const [name, expected] of cases) assert.deepEqual(detectTableFormat(name), expected, name)
})

test('a table of another format than its name says is told by its first text', () => {
  // Read as what they were named, these were "first line holds binary data (a wrong
  // --input-format?)" and a JSON object's pieces listed as CSV columns, one offered for --url-col.
  const parquet = 'PAR1\x15\x04\x15\x10'
  const cases: [TableFormat, string, TableFormat | undefined][] = [
    ['csv', parquet, 'parquet'],
    ['tsv', parquet, 'parquet'],
    ['jsonl', parquet, 'parquet'],
    ['parquet', parquet, undefined],
    ['csv', '{"url":"https://a.example/1.jpg","caption":"a, b"}\n', 'jsonl'],
    ['tsv', '\ufeff\r\n  { "url": "https://a.example/1.jpg" }', 'jsonl'],
    ['csv', '\xef\xbb\xbf{"url":1}', 'jsonl'],
    ['csv', 'url,caption\n{"a":1}', undefined],
    // A header named so is no JSON: `{` without a key after it.
    ['csv', '{id},url\n', undefined],
    ['jsonl', 'url,caption,license\nhttps://a.example/1.jpg,a,b', 'csv'],
    ['jsonl', 'url;caption\n', 'csv'],
    ['jsonl', 'url\tcaption\n', 'tsv'],
    ['jsonl', '{"url": "https://a.example/1.jpg", "caption": "a, b"', undefined],
    ['jsonl', '[{"url": "x"}, {"url": "y"}]', undefined],
    ['jsonl', 'https://a.example/1.jpg\n', undefined],
    ['parquet', 'url,caption\n', 'csv'],
    ['parquet', 'url\tcaption\n', 'tsv'],
    ['parquet', '{"url":"https://a.example/1.jpg"}\n', 'jsonl'],
    ['parquet', 'https://a.example/1.jpg?w=1,2\n', undefined],
    ['jsonl', 'https://a.example/1.jpg?w=1,2\n', undefined],
    ['parquet', 'some words\n', undefined],
    ['csv', 'url,caption\n', undefined],
  ]
  for (const [format, head, shown] of cases)
    assert.equal(shownTableFormat(format, head), shown, `${format}: ${JSON.stringify(head)}`)
})

test('expected hashes are normalised to lowercase hex from hex, base64, prefixes and raw bytes', () => {
  const digest = createHash('sha256').update('x').digest()
  const hex = digest.toString('hex')
  const b64 = digest.toString('base64')
  const md5 = createHash('md5').update('x').digest()
  const ok = (value: string) => ({ type: 'sha256' as const, value })
  const cases: [unknown, ReturnType<typeof parseExpectedHash>][] = [
    [hex, ok(hex)],
    [hex.toUpperCase(), ok(hex)],
    [`  ${hex}\n`, ok(hex)],
    [`sha256:${hex}`, ok(hex)],
    [`SHA256:${hex}`, ok(hex)],
    [b64, ok(hex)],
    [b64.replace(/=+$/, ''), ok(hex)],
    [digest.toString('base64url'), ok(hex)],
    [`sha256-${b64}`, ok(hex)],
    [new Uint8Array(digest), ok(hex)],
    [new Uint8Array(Buffer.from(hex)), ok(hex)], // hex text stored as binary
    [null, undefined],
    [undefined, undefined],
    ['', undefined],
    ['   ', undefined],
    // What exports write for a missing value: MySQL, PostgreSQL and Hive, R, pandas, spreadsheets.
    ['\\N', undefined],
    ['NA', undefined],
    ['NULL', undefined],
    ['nan', undefined],
    ['None', undefined],
    ['#N/A', undefined],
  ]
  for (const [cell, expected] of cases)
    assert.deepEqual(parseExpectedHash(cell, 'sha256'), expected, String(cell))
  assert.deepEqual(parseExpectedHash(md5.toString('hex'), 'md5'), { type: 'md5', value: md5.toString('hex') })
  assert.deepEqual(parseExpectedHash(md5.toString('base64'), 'md5'), {
    type: 'md5',
    value: md5.toString('hex'),
  })
  const problems: [unknown, string, RegExp][] = [
    ['nothex', 'sha256', /"nothex" is not a sha256 \(64 hex digits or base64 of 32 bytes\)/],
    [hex.slice(1), 'sha256', /is not a sha256/],
    [`${hex}00`, 'sha256', /is not a sha256/],
    // A digest of the other kind: the --hash-type is what to mend (it said only "is not a md5").
    [
      md5.toString('hex'),
      'sha256',
      /is not a sha256 \(64 hex digits or base64 of 32 bytes\): it is as long as an md5 \(give --hash-type md5\)$/,
    ],
    [
      hex,
      'md5',
      /is not an md5 \(32 hex digits or base64 of 16 bytes\): it is as long as a sha256 \(give --hash-type sha256\)$/,
    ],
    [b64, 'md5', /: it is as long as a sha256 \(give --hash-type sha256\)$/],
    [`md5:${md5.toString('hex')}`, 'sha256', /is an md5 hash, not sha256/],
    [`${'g'.repeat(64)}`, 'sha256', /is not a sha256/],
    [12345, 'sha256', /"12345" is not a sha256/],
    ['x'.repeat(500), 'sha256', /"x{77}\.\.\." is not/], // long cells are cut in the message
    // Bytes that are not text (a Parquet BINARY cell of a digest's bytes, of another length) are
    // shown in hex, as hardwood-hq/hardwood#1012 shows them: they were read as UTF-8, the message
    // "\u0000\u0007~,��)��|…" (U+FFFD and control characters).
    [
      new Uint8Array(Buffer.concat([Buffer.from([0]), digest])),
      'sha256',
      new RegExp(
        `^a binary cell of 33 bytes \\(hex 00${hex}\\) is neither text nor a sha256 \\(32 bytes\\)$`,
      ),
    ],
    [
      new Uint8Array(md5),
      'sha256',
      /^a binary cell of 16 bytes \(hex [0-9a-f]{32}\) .*: it is as long as an md5 \(give --hash-type md5\)$/,
    ],
    [
      new Uint8Array(255).fill(0xff),
      'md5',
      /^a binary cell of 255 bytes \(hex (ff){40}\.\.\.\) is neither text nor an md5 \(16 bytes\)$/,
    ],
  ]
  for (const [cell, type, message] of problems) {
    const got = parseExpectedHash(cell, type as 'sha256' | 'md5')
    assert.ok(got && 'problem' in got, String(cell))
    assert.match(got.problem, message)
  }
})

test('carried values are JSON-safe: bigints, non-finite numbers, dates, bytes, nesting', () => {
  const cases: [unknown, unknown][] = [
    [null, null],
    [undefined, null],
    ['text', 'text'],
    [true, true],
    [1.5, 1.5],
    [Number.NaN, null],
    [Number.POSITIVE_INFINITY, null],
    [42n, 42],
    [-(2n ** 53n - 1n), -9007199254740991],
    [2n ** 53n, '9007199254740992'],
    [-(2n ** 63n), '-9223372036854775808'],
    [new Date('2024-01-02T03:04:05.006Z'), '2024-01-02T03:04:05.006Z'],
    [new Date(Number.NaN), null],
    [new Uint8Array([0, 255, 1]), 'AP8B'],
    [new Int32Array([1, 2]), [1, 2]],
    [new BigInt64Array([1n, 2n ** 60n]), [1, '1152921504606846976']],
    [
      [1n, [Number.NaN, 'a']],
      [1, [null, 'a']],
    ],
    [
      { a: 1n, b: { c: undefined } },
      { a: 1, b: { c: null } },
    ],
    [
      new Map<unknown, unknown>([
        ['k', 1n],
        [2, 'v'],
      ]),
      { k: 1, 2: 'v' },
    ],
  ]
  for (const [value, expected] of cases) {
    const safe = jsonSafe(value)
    assert.deepEqual(safe, expected, String(value))
    assert.deepEqual(JSON.parse(JSON.stringify(safe)), expected, 'survives JSON')
  }
})

test('URL and caption cells become text', () => {
  assert.equal(cellText(null), '')
  assert.equal(cellText(undefined), '')
  assert.equal(cellText('a'), 'a')
  assert.equal(cellText(12n), '12')
  assert.equal(cellText(new Uint8Array(Buffer.from('https://ü.example/'))), 'https://ü.example/')
  assert.equal(cellText({ a: [1] }), '{"a":[1]}')
})

test('Parquet dates and timestamps keep their full precision as ISO 8601 text', () => {
  assert.equal(PARSERS.timestampFromMilliseconds(1704164645123n), '2024-01-02T03:04:05.123Z')
  assert.equal(PARSERS.timestampFromMicroseconds(1704164645123456n), '2024-01-02T03:04:05.123456Z')
  assert.equal(PARSERS.timestampFromNanoseconds(1704164645123456789n), '2024-01-02T03:04:05.123456789Z')
  assert.equal(PARSERS.timestampFromMicroseconds(-1n), '1969-12-31T23:59:59.999999Z')
  assert.equal(PARSERS.timestampFromNanoseconds(-1n), '1969-12-31T23:59:59.999999999Z')
  assert.equal(PARSERS.dateFromDays(19782), '2024-02-29')
  assert.equal(PARSERS.dateFromDays(-1), '1969-12-31')
  // Beyond what a Date can show: the raw number, as text, rather than a wrong date.
  assert.equal(PARSERS.timestampFromMilliseconds(9_000_000_000_000_000n), '9000000000000000')
  assert.equal(PARSERS.dateFromDays(200_000_000), '200000000')
})

test('Parquet decimals are carried exactly: as whole numbers, doubles that hold them, or their text', () => {
  // [precision, scale, type]
  for (const [precision, scale, type] of [
    [9, 0, 'INT64'],
    [18, 0, 'INT64'],
    [19, 0, 'STRING'], // past INT64
    [20, 0, 'STRING'], // Spark's unsigned long
    [9, 2, 'DOUBLE'],
    [15, 4, 'DOUBLE'],
    [16, 2, 'STRING'],
    [18, 3, 'STRING'], // DuckDB's default
    [38, 9, 'STRING'], // BigQuery's NUMERIC
    [38, 18, 'STRING'], // Spark's sums
  ] as const)
    assert.equal(decimalType(precision, scale), type, `DECIMAL(${precision},${scale})`)
  // [raw unscaled value, scale, text]
  const big = Uint8Array.from([0xab, 0x54, 0xa9, 0x8c, 0xeb, 0x1f, 0x0a, 0xd2]) // 12345678901234567890
  for (const [raw, scale, text] of [
    [12345, 2, '123.45'],
    [-5, 3, '-0.005'],
    [0, 3, '0.000'],
    [1234567890123456789n, 9, '1234567890.123456789'],
    [-1n, 0, '-1'],
    [Uint8Array.from([0x00, ...big]), 0, '12345678901234567890'],
    [Uint8Array.from([0xff, 0xfe]), 1, '-0.2'], // two's complement
    [Uint8Array.from([]), 2, '0.00'],
    [7, -2, '700'],
    [null, 2, null],
    [undefined, 2, null],
  ] as const)
    assert.equal(decimalText(raw, scale), text, `${raw} at scale ${scale}`)
  assert.equal(decimalValue(123456789012345678n, 18, 0), '123456789012345678', 'past 2^53: INT64 digits')
  assert.equal(decimalValue(42n, 18, 0), 42)
  assert.equal(decimalValue(12345, 9, 2), 123.45)
  assert.equal(decimalValue(12345n, 18, 3), '12.345')
  assert.equal(decimalValue(null, 18, 3), null)
})

test('a timestamp with no zone is a wall-clock time: its Z goes', () => {
  assert.equal(wallClock('2024-01-02T03:04:05.123456Z'), '2024-01-02T03:04:05.123456')
  assert.equal(wallClock('1719000000000'), '1719000000000', 'a raw number out of range stays')
  assert.equal(wallClock(null), null)
})

test('options: defaults, and a bad option is a TypeError naming it', () => {
  const resolved = resolveTableOptions()
  assert.equal(resolved.urlCol, 'url')
  assert.equal(resolved.hashType, 'sha256')
  assert.equal(resolved.format, undefined)
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ format: 'xlsx' }, /`format` to be one of csv, tsv, jsonl, parquet/],
    [{ urlCol: '' }, /`urlCol`/],
    [{ captionCol: 3 }, /`captionCol`/],
    [{ hashCol: '' }, /`hashCol`/],
    [{ hashType: 'sha1' }, /`hashType`/],
    [{ columns: 'a,b' }, /`columns`/],
    [{ columns: ['a', ''] }, /`columns\[1\]`/],
    [{ tempDir: '' }, /`tempDir`/],
    // Taken before without a word: the caption left out, the hash never checked.
    [
      { captionColumn: 'caption' },
      /^Unknown table option `captionColumn`; the table options are: format, urlCol/,
    ],
    [{ hashcol: 'sha' }, /^Unknown table option `hashcol`/],
    [
      { hashType: 'md5' },
      /^`hashType` \("md5"\) says what `hashCol` holds: give `hashCol`, or leave `hashType` out$/,
    ],
  ]
  for (const [options, message] of bad)
    assert.throws(() => resolveTableOptions(options), { name: 'TypeError', message })
  // The default given again is no hash type asked for.
  assert.equal(resolveTableOptions({ hashType: 'sha256' }).hashType, 'sha256')
  assert.equal(resolveTableOptions({ hashCol: 'sha', hashType: 'md5' }).hashType, 'md5')
})

test('hashTypeAlone: a hash type given with no hash column to say it of', () => {
  const cases: [Parameters<typeof hashTypeAlone>[0], boolean][] = [
    [{}, false],
    [{ hashType: 'md5' }, true],
    [{ hashType: 'sha256' }, true],
    [{ hashType: 'md5', hashCol: 'h' }, false],
    [{ hashCol: 'h' }, false],
  ]
  for (const [given, want] of cases) assert.equal(hashTypeAlone(given), want, JSON.stringify(given))
})

test('columns: every named one must be there; the URL column is not carried by default', () => {
  const options = (o: Record<string, unknown> = {}) => resolveTableOptions(o)
  const header = ['id', 'url', 'caption', 'sha']
  assert.deepEqual(planColumns('t.csv', header, options()), {
    url: 'url',
    caption: undefined,
    hash: undefined,
    carried: ['id', 'caption', 'sha'],
    needed: ['url', 'id', 'caption', 'sha'],
  })
  const picked = planColumns(
    't.csv',
    header,
    options({ columns: ['url', 'id'], captionCol: 'caption', hashCol: 'sha' }),
  )
  assert.deepEqual(picked.carried, ['url', 'id'])
  assert.deepEqual(picked.needed, ['url', 'caption', 'sha', 'id'])
  assert.equal(planColumns('t.jsonl', header, options(), true).carried, undefined)
  const missing: [Record<string, unknown>, string][] = [
    [
      { urlCol: 'URL' },
      't.csv has no column "URL" (the URL column); its columns: "id", "url", "caption", "sha"',
    ],
    [{ captionCol: 'text' }, 't.csv has no column "text" (the caption column); its columns:'],
    [{ hashCol: 'sha256' }, 't.csv has no column "sha256" (the hash column)'],
    [{ columns: ['id', 'license'] }, 't.csv has no column "license" (a carried column)'],
  ]
  for (const [o, message] of missing) {
    assert.throws(
      () => planColumns('t.csv', header, options(o)),
      (e: unknown) => e instanceof UsageError && e.message.startsWith(message),
    )
  }
  // A header of one column holding the other separator: a TSV file named .csv, a CSV named .tsv.
  assert.throws(
    () => planColumns('t.csv', ['url\tcaption'], options()),
    (e: unknown) =>
      e instanceof UsageError &&
      e.message ===
        't.csv has no column "url" (the URL column); its columns: "url\\tcaption": the file looks tab-separated (name it .tsv, or give --input-format tsv)',
  )
  assert.throws(
    () => planColumns('t.tsv', ['url,caption'], options()),
    /its columns: "url,caption": the file looks comma-separated \(name it \.csv, or give --input-format csv\)$/,
  )
  // A ;-separated header (Excel's CSV in a decimal comma's locale) in a file named .tsv, and a
  // |-separated one (Snowflake's, Oracle's and Teradata's exports), which no format here reads: it
  // was "did you mean --url-col "url|caption"?", whose cells would each be fetched as one URL.
  assert.throws(
    () => planColumns('t.tsv', ['url;caption'], options()),
    /its columns: "url;caption": the file looks ;-separated \(name it \.csv, or give --input-format csv\)$/,
  )
  for (const name of ['t.csv', 't.tsv'])
    assert.throws(
      () => planColumns(name, ['url|caption|license'], options()),
      (e: unknown) =>
        e instanceof UsageError &&
        e.message ===
          `${name} has no column "url" (the URL column); its columns: "url|caption|license": the file looks |-separated, which imgpull does not read (CSV: , or ;, TSV: tab): convert it, e.g. to Parquet with DuckDB: duckdb -c "COPY (FROM read_csv('in.csv', delim = '|')) TO 'out.parquet'"`,
    )
  // A name there but for case (LAION's URL, TEXT) is named, with the option that takes it.
  assert.throws(
    () => planColumns('laion.parquet', ['URL', 'TEXT'], options()),
    (e: unknown) =>
      e instanceof UsageError &&
      e.message ===
        'laion.parquet has no column "url" (the URL column); its columns: "URL", "TEXT": did you mean --url-col "URL"?',
  )
  // A name a letter or two off (a typo) is named too, as a command's name is: it said only the list.
  const typos: [Record<string, unknown>, string][] = [
    [
      { columns: ['id', 'captoin'] },
      '(a carried column); its columns: "id", "url", "caption", "sha": did you mean "caption"?',
    ],
    [
      { captionCol: 'captoin' },
      '(the caption column); its columns: "id", "url", "caption", "sha": did you mean --caption-col "caption"?',
    ],
    [
      { hashCol: 'shaa' },
      '(the hash column); its columns: "id", "url", "caption", "sha": did you mean --hash-col "sha"?',
    ],
    // Nothing near: the list alone.
    [{ captionCol: 'text' }, '(the caption column); its columns: "id", "url", "caption", "sha"'],
  ]
  for (const [o, message] of typos)
    assert.throws(
      () => planColumns('t.csv', header, options(o)),
      (e: unknown) => e instanceof UsageError && e.message.endsWith(message),
      JSON.stringify(o),
    )
  // A JSON lines key a letter off one of its first lines' is still a key to wait for, not refused.
  assert.deepEqual(planColumns('t.jsonl', ['url', 'width'], options({ columns: ['widht'] }), true).unseen, [
    'widht',
  ])
  assert.throws(
    () => planColumns('laion.parquet', ['URL', 'TEXT'], options({ urlCol: 'URL', columns: ['text'] })),
    /\(a carried column\); its columns: "URL", "TEXT": did you mean "TEXT"\?$/,
  )
  // A header written with a space after its commas (`url, caption`): the name holds the space.
  assert.throws(
    () => planColumns('t.csv', ['url', ' caption'], options({ captionCol: 'caption' })),
    /its columns: "url", " caption": did you mean --caption-col " caption"\? \(the header has a space around the name\)$/,
  )
  // A byte order mark kept in a name (Python's csv.DictReader over encoding='utf-8'): named so,
  // the name written as a shell reads it back, not as a space around "url".
  assert.throws(
    () => planColumns('t.jsonl', ['\ufeffurl', 'caption'], options()),
    /did you mean --url-col \$'\\ufeffurl'\? \(the name holds a byte order mark, U\+FEFF: .*'utf-8-sig' drops it; rename the column, or give it so\)$/,
  )
  // A first line of data (CC3M's TSV has no header line) is said to be one.
  assert.throws(
    () => planColumns('cc3m.tsv', ['A dog on the beach', 'https://example.com/a.jpg'], options()),
    /its columns: "A dog on the beach", "https:\/\/example\.com\/a\.jpg": its first line holds a URL, so it has no header line: add one naming the columns$/,
  )
  assert.throws(() => planColumns('t.csv', ['url', 'a', 'a'], options()), /t\.csv has the column "a" twice/)
  // Columns without a name (trailing commas of a spreadsheet export) are left out, not duplicates.
  const trailing = planColumns('t.csv', ['url', 'caption', '', ''], options({ captionCol: 'caption' }))
  assert.deepEqual([trailing.carried, trailing.needed], [['caption'], ['url', 'caption']])
  const wide = Array.from({ length: 100 }, (_, i) => `c${i}`)
  assert.throws(
    () => planColumns('w.csv', wide, options()),
    /"c39", \.\.\. \(100 in all\): name the column that holds the URLs with --url-col$/,
  )
})

test('column types for shards: from a Parquet schema, from JSON lines values, merged over files', async () => {
  const { parquetInfo } = await import('../src/sources/tables/parquet.js')
  const file = fileURLToPath(new URL('./fixtures/tables/duckdb-types.parquet', import.meta.url))
  const { types } = await parquetInfo({ path: file, format: 'parquet', gzip: false })
  assert.deepEqual(types, {
    url: 'STRING',
    n: 'INT64',
    caption: 'STRING',
    big: 'INT64',
    ts: 'STRING',
    ts_ns: 'STRING',
    day: 'STRING',
    price: 'STRING',
    tags: 'JSON',
    size: 'JSON',
    raw: 'STRING',
    flag: 'BOOLEAN',
    score: 'DOUBLE',
    sha256: 'STRING',
  })
  const tally = new KindTally()
  for (const object of [
    { s: 'a', b: true, i: 1, d: 1, j: [1], x: 1, z: null, big: '9007199254740993', ids: '9007199254740993' },
    { s: null, b: false, i: 2, d: 0.5, j: { a: 1 }, x: 'a', z: null, big: 3 },
  ])
    tally.add(object)
  assert.deepEqual(tally.types(), {
    s: 'STRING',
    b: 'BOOLEAN',
    i: 'INT64',
    d: 'DOUBLE',
    j: 'JSON',
    x: 'STRING',
    z: 'STRING',
    big: 'INT64',
    ids: 'STRING',
  })
  const cases: [CarriedType, CarriedType, CarriedType][] = [
    ['INT64', 'INT64', 'INT64'],
    ['INT64', 'DOUBLE', 'DOUBLE'],
    ['DOUBLE', 'INT64', 'DOUBLE'],
    ['INT64', 'STRING', 'STRING'],
    ['BOOLEAN', 'INT64', 'STRING'],
    ['JSON', 'STRING', 'JSON'],
    ['DOUBLE', 'JSON', 'JSON'],
  ]
  for (const [a, b, merged] of cases) assert.equal(mergeType(a, b), merged, `${a} + ${b}`)
  assert.deepEqual(runColumnTypes([{ a: 'INT64' }, { a: 'DOUBLE', b: 'STRING' }]), {
    a: 'DOUBLE',
    b: 'STRING',
  })
  assert.equal(runColumnTypes([{ a: 'INT64' }, undefined]), undefined, 'a file whose types are unknown')
})

test('a value as a declared column holds it: text takes any scalar; a value that does not fit is null', () => {
  const cases: [unknown, CarriedType, unknown][] = [
    ['a', 'STRING', 'a'],
    [5, 'STRING', '5'],
    [true, 'STRING', 'true'],
    [{ a: [1] }, 'STRING', '{"a":[1]}'],
    [null, 'STRING', null],
    [5, 'INT64', 5n],
    ['9007199254740993', 'INT64', 9007199254740993n],
    [2.5, 'INT64', null],
    ['5', 'INT64', null],
    [5, 'DOUBLE', 5],
    ['x', 'DOUBLE', null],
    [false, 'BOOLEAN', false],
    [0, 'BOOLEAN', null],
    [[1, 2], 'JSON', [1, 2]],
    [undefined, 'JSON', null],
  ]
  for (const [value, type, expected] of cases)
    assert.deepEqual(fitted(value, type), expected, `${JSON.stringify(value)} as ${type}`)
})

test("Python's json.dumps NaN and infinities: null in the text, outside strings only; top-level ones numbers in the object", () => {
  for (const [text, fixed] of [
    ['{"a": NaN}', '{"a": null}'],
    ['{"a": Infinity, "b": -Infinity}', '{"a": null, "b": null}'],
    ['{"a": [NaN, 1.5, -Infinity]}', '{"a": [null, 1.5, null]}'],
    ['{"c": "NaN", "d": NaN}', '{"c": "NaN", "d": null}'],
    ['{"c": "say \\"Infinity\\" NaN", "d": 1}', undefined],
    ['{"a": 1}', undefined],
  ] as const)
    assert.equal(nonFiniteAsNull(text), fixed, text)
  assert.deepEqual(parseJsonlLine('{"url": "https://a/b.jpg", "score": NaN, "note": "NaN"}'), {
    object: { url: 'https://a/b.jpg', score: Number.NaN, note: 'NaN' },
    text: '{"url": "https://a/b.jpg", "score": null, "note": "NaN"}',
  })
  // A top-level one stays the number (a shard's Parquet DOUBLE holds it); one in a list is null.
  assert.deepEqual(parseJsonlLine('{"a": Infinity, "b": [-Infinity], "c": -Infinity, "d": null}'), {
    object: { a: Number.POSITIVE_INFINITY, b: [null], c: Number.NEGATIVE_INFINITY, d: null },
    text: '{"a": null, "b": [null], "c": null, "d": null}',
  })
  assert.match((parseJsonlLine('{"a": NaNa}') as { problem: string }).problem, /^not valid JSON/)
})

test('writtenNumbers: the top-level keys whose number is written as a double, or as an integer past 2^53 that INT64 holds', () => {
  // As the CLI does: JSON.parse's source text is behind this flag on Node 20 (on from Node 21).
  setFlagsFromString('--harmony-json-parse-with-source')
  const cases: [string, [string, string][]][] = [
    [
      '{"a": 1.0, "b": 1, "c": 2e3, "d": 2.5, "e": "1.0"}',
      [
        ['a', 'double'],
        ['c', 'double'],
      ],
    ],
    ['{"a": {"x": 1.0}, "b": [1.0], "c": -0.0}', [['c', 'double']]],
    ['{"a": 1}', []],
    // Ids past 2^53 as numbers (DuckDB's and pandas' JSON of a BIGINT column), not as text
    // ("9007199254740993": BigQuery's JSON export writes INT64 so), nor past INT64.
    [
      '{"a": 9007199254740993, "b": "9007199254740993", "c": -9223372036854775808, "d": 18446744073709551615, "e": {"x": 9007199254740993}}',
      [
        ['a', 'int'],
        ['c', 'int'],
      ],
    ],
  ]
  for (const [text, keys] of cases) {
    const object = parseJsonlLine(text) as { object: Record<string, unknown> }
    assert.deepEqual([...writtenNumbers(text, object.object)].sort(), keys, text)
  }
  const tally = new KindTally()
  for (const text of [
    '{"s": 1.0, "n": 1, "id": 9007199254740993, "t": "9007199254740993", "u": 18446744073709551615}',
  ]) {
    const { object } = parseJsonlLine(text) as { object: Record<string, unknown> }
    tally.add(object, writtenNumbers(text, object))
  }
  assert.deepEqual(tally.types(), { s: 'DOUBLE', n: 'INT64', id: 'INT64', t: 'STRING', u: 'STRING' })
})

test('a CSV file\'s escape: \\" only on positive evidence (Spark, Hive, MySQL), RFC 4180 otherwise', () => {
  const header = 'id,caption,url\n'
  const cases: [string, string, CsvEscape, (',' | ';')?][] = [
    ['Spark: a quote inside a caption', '1,"say \\"hi\\" now",https://x/a.jpg\n', 'backslash'],
    ['Spark: a caption ending in a quote', '1,"He said \\"hello\\"",x\n', 'backslash'],
    ['Spark: a caption that is a quote', '1,"\\"",x\n2,"a \\"b\\" c",y\n', 'backslash'],
    ['Spark, ;-separated', '1;"say \\"hi\\"; now";x\n', 'backslash', ';'],
    ['RFC: a cell ending in a backslash', '1,"C:\\dir\\",next\n', 'rfc'],
    ['RFC: a backslash before a doubled quote', '1,"a\\""b",x\n', 'rfc'],
    ['RFC: JSON in a cell', '1,"{""a"":1}",x\n', 'rfc'],
    ['RFC: a quoted quote', '1,"""x""",x\n', 'rfc'],
    ['RFC: empty quoted cells', '1,"",""\n', 'rfc'],
    ['RFC: a quote inside an unquoted cell', '1,say \\"hi\\" now,x\n', 'rfc'],
    ['both: a doubled quote is no backslash file', '1,"say \\"hi\\" now",x\n2,"{""a"":1}",y\n', 'rfc'],
    ['a stray quote, no backslash', '1,"a" b,x\n', 'rfc'],
    ['the evidence past the sample end is none', '1,"a \\"', 'rfc'],
    ['a byte order mark, then a quoted header', '\ufeff"id","c"\n1,"a \\"b\\" c"\n', 'backslash'],
  ]
  for (const [name, rows, want, sep] of cases) {
    const text = rows.startsWith('\ufeff') ? rows : header.replaceAll(',', sep ?? ',') + rows
    assert.equal(sniffCsvEscape(Buffer.from(text), sep), want, name)
  }
  // csv-parse read `\_` as `_`: the record is read again, its unquoted fields as they were.
  const raw = '\n1,"¯\\_(ツ)_/¯, \\"x\\"",a\\b,"C:\\dir"\r'
  assert.deepEqual(backslashRecord(['1', '¯_(ツ)_/¯, "x"', 'a\\b', 'C:dir'], raw, ','), [
    '1',
    '¯\\_(ツ)_/¯, "x"',
    'a\\b',
    'C:\\dir',
  ])
  // A backslash before a backslash is one, at a field's end too; one csv-parse read otherwise stands.
  assert.deepEqual(backslashRecord(['C:dir\\', 'x'], '"C:\\dir\\\\",x', ','), ['C:\\dir\\', 'x'])
  assert.deepEqual(backslashRecord(['"a"b \\c'], '"a"b \\c\n', ','), ['"a"b \\c'])
  const same = ['1', 'say "hi"']
  assert.equal(backslashRecord(same, '1,"say \\"hi\\""\n', ','), same, 'no backslash dropped: not read again')
})

test('failureHolds: a hash-mismatch holds while the row names the digest it was checked against, a limit while it is as strict', () => {
  const e = 'e'.repeat(64)
  const f = 'f'.repeat(64)
  const md5 = 'a'.repeat(32)
  const job = (hash?: Job['expectedHash']): Job => ({ url: 'http://h/x', expectedHash: hash })
  const failed = (fields: Partial<JobRecord>) =>
    ({
      key: 'row:0',
      url: 'http://h/x',
      planned: 'x.EXT',
      state: 'failed',
      run: 1,
      attempts: 1,
      ...fields,
    }) as JobRecord
  const said = (type: string, hex: string) =>
    `http://h/x: ${type} is ${'0'.repeat(hex.length)}, not ${hex} as the input says`
  const sha = (value: string) => job({ type: 'sha256', value })
  const md = job({ type: 'md5', value: md5 })
  const mismatch = (fields: Partial<JobRecord>): Partial<JobRecord> => ({ error: 'hash-mismatch', ...fields })
  const checkedE = mismatch({ checked: `sha256:${e}` })
  const cases: [string, Job, Partial<JobRecord>, boolean][] = [
    ['the same cell', sha(e), checkedE, true],
    ['corrected', sha(f), checkedE, false],
    ['emptied', job(), checkedE, false],
    ['another --hash-type', md, checkedE, false],
    ['old journal, same', md, mismatch({ message: said('md5', md5) }), true],
    ['old journal, corrected', sha(f), mismatch({ message: said('sha256', e) }), false],
    ['old journal, no message', sha(f), mismatch({}), true],
    ['http-404', sha(f), { error: 'http-404' }, true],
    ['not-an-image', sha(f), { error: 'not-an-image', checked: `sha256:${e}` }, true],
  ]
  const limits: Limits = { maxSize: 1000, maxRedirects: 20, decodes: false, ignoreRobotsTag: false }
  for (const [name, j, record, holds] of cases)
    assert.equal(failureHolds(j, failed(record), limits), holds, name)
  // Limits: [code, what it was judged against, the limits now, holds]
  const limitCases: [string, string | undefined, Partial<Limits>, boolean][] = [
    ['too-large', 'max-size:1000', {}, true],
    ['too-large', 'max-size:2000', {}, true],
    ['too-large', 'max-size:500', {}, false],
    ['too-large', undefined, {}, true],
    ['too-large', 'sha256:00', {}, true],
    ['too-many-redirects', 'max-redirects:5', {}, false],
    ['too-many-redirects', 'max-redirects:20', {}, true],
    ['too-small', 'min-size:64', { minSize: 64 }, true],
    ['too-small', 'min-size:64', { minSize: 128 }, true],
    ['too-small', 'min-size:64', { minSize: 32 }, false],
    ['too-small', 'min-size:64', {}, false],
    ['bad-aspect-ratio', 'max-aspect-ratio:2', { maxAspectRatio: 3 }, false],
    ['bad-aspect-ratio', 'max-aspect-ratio:2', { maxAspectRatio: 1.5 }, true],
    ['too-many-pixels', 'max-pixels:1000000', { maxPixels: 1000000 }, true],
    ['too-many-pixels', 'max-pixels:1000000', {}, false],
    ['undecodable', undefined, { decodes: true }, true],
    ['undecodable', undefined, {}, false],
    ['robots-tag', undefined, {}, true],
    ['robots-tag', undefined, { ignoreRobotsTag: true }, false],
  ]
  for (const [code, checked, now, holds] of limitCases)
    assert.equal(
      failureHolds(job(), failed({ error: code as JobRecord['error'], checked }), { ...limits, ...now }),
      holds,
      `${code} ${checked} ${JSON.stringify(now)}`,
    )
  assert.equal(judgedAgainst(md, 'hash-mismatch', limits), `md5:${md5}`)
  assert.equal(judgedAgainst(md, 'http-404', limits), undefined)
  assert.equal(judgedAgainst(job(), 'hash-mismatch', limits), undefined)
  assert.equal(judgedAgainst(md, 'too-large', limits), 'max-size:1000')
  assert.equal(judgedAgainst(md, 'too-small', { ...limits, minSize: 64 }), 'min-size:64')
  assert.equal(judgedAgainst(md, 'too-small', limits), undefined)
})
