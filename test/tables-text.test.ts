import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { gzipSync } from 'node:zlib'
import { UsageError } from '../src/errors.js'
import { heldPacking, utf8Scan } from '../src/sources/tables/utf8.js'
import { readAll, readUntilError, tempFolder } from './support/tables.js'

const dir = await tempFolder()
const file = async (name: string, content: string | Buffer) => {
  const path = join(dir, name)
  await writeFile(path, content)
  return path
}

const SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

test('CSV: BOM, quoting, CRLF, embedded newlines, blank lines; cells are text as written', async () => {
  const csv = await file(
    'quoted.csv',
    '\ufeffurl,caption,id\r\n' +
      'https://images.example/1.jpg,"hello, ""world""",1\r\n' +
      '\r\n' +
      'https://images.example/2.jpg,"two\r\nlines",02\r\n' +
      'https://images.example/3.jpg,say "hi" here,3\r\n' +
      'https://images.example/4.jpg,,\r\n',
  )
  const jobs = await readAll([csv], { captionCol: 'caption' })
  assert.deepEqual(jobs, [
    {
      url: 'https://images.example/1.jpg',
      row: 0,
      caption: 'hello, "world"',
      meta: { caption: 'hello, "world"', id: '1' },
    },
    {
      url: 'https://images.example/2.jpg',
      row: 1,
      caption: 'two\r\nlines',
      meta: { caption: 'two\r\nlines', id: '02' },
    },
    {
      url: 'https://images.example/3.jpg',
      row: 2,
      caption: 'say "hi" here',
      meta: { caption: 'say "hi" here', id: '3' },
    },
    { url: 'https://images.example/4.jpg', row: 3, caption: '', meta: { caption: '', id: '' } },
  ])
})

test('CSV and TSV: line endings in any mix (a CRLF header over LF rows) are read as Python reads them', async () => {
  for (const [name, sep] of [
    ['mixed.csv', ','],
    ['mixed.tsv', '\t'],
  ]) {
    const path = await file(
      name,
      `url${sep}n\r\n` +
        `https://images.example/1.jpg${sep}1\n` +
        `https://images.example/2.jpg${sep}2\r\n` +
        `https://images.example/3.jpg${sep}"three\nlines"\r` +
        `https://images.example/4.jpg${sep}4\n`,
    )
    const jobs = await readAll([path])
    assert.deepEqual(
      jobs.map((j) => [j.url, j.row, j.meta?.n]),
      [
        ['https://images.example/1.jpg', 0, '1'],
        ['https://images.example/2.jpg', 1, '2'],
        ['https://images.example/3.jpg', 2, 'three\nlines'],
        ['https://images.example/4.jpg', 3, '4'],
      ],
      name,
    )
  }
})

test('TSV: tab-separated, quoted the way pandas writes it', async () => {
  const tsv = await file(
    't.tsv',
    'url\tcaption\tw\nhttps://images.example/a.jpg\ta, b\t640\nhttps://images.example/b.jpg\t"tab\there"\t480\n',
  )
  const jobs = await readAll([tsv], { captionCol: 'caption', columns: ['w'] })
  assert.deepEqual(jobs, [
    { url: 'https://images.example/a.jpg', row: 0, caption: 'a, b', meta: { w: '640' } },
    { url: 'https://images.example/b.jpg', row: 1, caption: 'tab\there', meta: { w: '480' } },
  ])
})

test('TSV: a caption opening with a quote that closes lines later inside a field is text, its lines rows of their own', async () => {
  // A TSV file written without quoting (IANA's TSV, Google Sheets): read as quoting, the first
  // caption took the next row into its cell, and 1.jpg was lost.
  const tsv = await file(
    'stray.tsv',
    'caption\turl\r\n' +
      '"Sunset" over the bay, then\thttps://images.example/0.jpg\r\n' +
      '"Best photo\thttps://images.example/1.jpg\r\n' +
      '\r\n' +
      'A 12" record\thttps://images.example/2.jpg\r\n' +
      '"two\nlines"\thttps://images.example/3.jpg\n' +
      '"""Hi"", he said\nthen left"\thttps://images.example/4.jpg\n' +
      'last\thttps://images.example/5.jpg',
  )
  const jobs = await readAll([tsv], { captionCol: 'caption', columns: [] })
  assert.deepEqual(
    jobs.map((job) => [job.row, job.url, job.caption]),
    [
      [0, 'https://images.example/0.jpg', '"Sunset" over the bay, then'],
      [1, 'https://images.example/1.jpg', '"Best photo'],
      [2, 'https://images.example/2.jpg', 'A 12" record'],
      [3, 'https://images.example/3.jpg', 'two\nlines'],
      [4, 'https://images.example/4.jpg', '"Hi", he said\nthen left'],
      [5, 'https://images.example/5.jpg', 'last'],
    ],
  )
  // Rows keep their lines in messages.
  const ragged = await file('stray-ragged.tsv', 'url\tcaption\nhttps://a.example/1.jpg\t"x\ny\tz\tw\n"q" r\n')
  const [, second] = await readAll([ragged], { captionCol: 'caption' })
  assert.equal(second.invalid?.message, `${ragged} line 3: 3 fields where the header has 2`)
})

test('TSV: a caption opening with a quote that closes at the end of a field lines later is text, its lines rows of their own', async () => {
  // Read as quoting, the quote opened on line 2 closed at the end of line 4's caption: one record
  // of three fields, 1.jpg and 2.jpg lost without a word, 3.jpg given line 2's caption.
  const tsv = await file(
    'stray-closed.tsv',
    'caption\turl\tid\n' +
      '"Best photo\thttps://images.example/1.jpg\t1\n' +
      'plain\thttps://images.example/2.jpg\t2\r\n' +
      '\n' +
      'A 12"\thttps://images.example/3.jpg\t3\n' +
      '"4"\thttps://images.example/4.jpg\t4\n',
  )
  const jobs = await readAll([tsv], { captionCol: 'caption', columns: ['id'] })
  assert.deepEqual(
    jobs.map((job) => [job.row, job.url, job.caption, job.meta?.id]),
    [
      [0, 'https://images.example/1.jpg', '"Best photo', '1'],
      [1, 'https://images.example/2.jpg', 'plain', '2'],
      [2, 'https://images.example/3.jpg', 'A 12"', '3'],
      [3, 'https://images.example/4.jpg', '4', '4'],
    ],
  )
  // Quoting as pandas writes it, a caption holding tabs and line breaks, stays one cell: its lines
  // read alone are not rows (a URL not in one place on each).
  const quoted = await file(
    'quoted-tabs.tsv',
    'caption\turl\n"a\tb\nc"\thttps://images.example/5.jpg\n"x\nhttps://images.example/y\tz"\thttps://images.example/6.jpg\n',
  )
  assert.deepEqual(
    (await readAll([quoted], { captionCol: 'caption' })).map((job) => [job.url, job.caption]),
    [
      ['https://images.example/5.jpg', 'a\tb\nc'],
      ['https://images.example/6.jpg', 'x\nhttps://images.example/y\tz'],
    ],
  )
})

test('TSV: a caption opening with a quote that never closes is text on its line, the rows after it read as usual', async () => {
  // Read as quoting, the quote ran to the end of the file (or 64 MiB on): the reading stopped
  // there, the rows after it never read, though the file was whole.
  const text =
    'caption\turl\n' +
    'a\thttps://images.example/0.jpg\n' +
    '"Untitled\thttps://images.example/1.jpg\r\n' +
    '\n' +
    'said ""hi""\thttps://images.example/2.jpg\n' +
    'x\thttps://images.example/3.jpg\textra\n' +
    'last\thttps://images.example/4.jpg'
  const expected = [
    [0, 'https://images.example/0.jpg', 'a'],
    [1, 'https://images.example/1.jpg', '"Untitled'],
    [2, 'https://images.example/2.jpg', 'said ""hi""'],
    [3, '', ''],
    [4, 'https://images.example/4.jpg', 'last'],
  ]
  for (const [name, content] of [
    ['unclosed.tsv', text],
    ['unclosed.tsv.gz', gzipSync(text)],
    // Read on from the next line in the decoded text, at its offset there.
    ['unclosed-utf16.tsv', Buffer.from(`\ufeff${text}`, 'utf16le')],
  ] as const) {
    const path = await file(name, content)
    const jobs = await readAll([path], { captionCol: 'caption' })
    assert.deepEqual(
      jobs.map((job) => [job.row, job.url, job.caption ?? '']),
      expected,
      name,
    )
    // Lines after it keep their numbers in messages.
    assert.equal(jobs[3].invalid?.message, `${path} line 6: 3 fields where the header has 2`)
  }
})

test('CSV: a quote that closes lines later inside a field stops the reading, naming the lines, not joining them', async () => {
  const csv = await file(
    'stray.csv',
    'url,caption\nhttps://images.example/1.jpg,"Best photo\nhttps://images.example/2.jpg,a 12" record\nhttps://images.example/3.jpg,x\n',
  )
  const { jobs, error } = await readUntilError([csv], { captionCol: 'caption' })
  assert.deepEqual(jobs, [])
  assert.ok(error instanceof UsageError)
  assert.match(
    error.message,
    /stray\.csv line 2: a quote opens field 2 and closes on line 3 inside the field/,
  )
})

test('JSON lines: blank lines skipped, values carried as they are, missing keys are empty cells', async () => {
  const jsonl = await file(
    'rows.jsonl',
    '\ufeff{"url":"https://images.example/a.jpg","caption":"a","n":1,"tags":["x"],"size":{"w":2}}\r\n' +
      '\n   \n' +
      '{"caption":"no url here","n":2}\n' +
      '{"url":null,"caption":null,"n":null}\n' +
      '{"url":42,"extra":true}',
  )
  const jobs = await readAll([jsonl], { captionCol: 'caption' })
  assert.deepEqual(jobs, [
    {
      url: 'https://images.example/a.jpg',
      row: 0,
      caption: 'a',
      meta: { caption: 'a', n: 1, tags: ['x'], size: { w: 2 } },
    },
    {
      url: '',
      row: 1,
      caption: 'no url here',
      meta: { caption: 'no url here', n: 2 },
      invalid: { code: 'invalid-url', message: `${jsonl} line 4: invalid URL "": the URL cell is empty` },
    },
    {
      url: '',
      row: 2,
      caption: '',
      meta: { caption: null, n: null },
      invalid: { code: 'invalid-url', message: `${jsonl} line 5: invalid URL "": the URL cell is empty` },
    },
    {
      url: '42',
      row: 3,
      caption: '',
      meta: { extra: true },
      invalid: { code: 'invalid-url', message: `${jsonl} line 6: invalid URL "42": a number, not a URL` },
    },
  ])
})

test('JSON lines: half a surrogate pair alone (a caption cut inside an emoji) is U+FFFD in every output, a whole pair kept', async () => {
  // Python's json.dumps writes a string cut by a UTF-16 slice so: "\ud83d". UTF-8 cannot hold it,
  // so the Parquet and .txt had U+FFFD while the .json and the manifest kept the escape.
  const jsonl = await file(
    'surrogates.jsonl',
    '{"url":"https://images.example/a.jpg","caption":"cut \\ud83d","tags":["x\\udc00"],"\\ud800k":1}\n' +
      '{"url":"https://images.example/b.jpg","caption":"whole \\ud83d\\ude00 \\\\ud800"}\n',
  )
  const jobs = await readAll([jsonl], { captionCol: 'caption' })
  assert.deepEqual(
    jobs.map((j) => [j.caption, j.meta]),
    [
      ['cut \ufffd', { caption: 'cut \ufffd', tags: ['x\ufffd'], '\ufffdk': 1 }],
      ['whole \u{1f600} \\ud800', { caption: 'whole \u{1f600} \\ud800' }],
    ],
  )
})

test('a JSON array given as JSON lines (one line or pretty-printed), or lines without an object, is a usage error before any row', async () => {
  const rows = [{ url: 'https://images.example/1.jpg' }, { url: 'https://images.example/2.jpg' }]
  for (const [name, text] of [
    ['one-line.jsonl', JSON.stringify(rows)],
    ['pretty.jsonl', JSON.stringify(rows, null, 2)],
    // The last object, without its comma, parsed on its own: one row of three fetched.
    ['per-line.jsonl', `[\n${rows.map((r) => JSON.stringify(r)).join(',\n')}\n]\n`],
  ]) {
    const path = await file(name, text)
    await assert.rejects(
      readAll([path], { format: 'jsonl' }),
      (error: unknown) =>
        error instanceof UsageError &&
        error.message ===
          `${path} is one JSON array (its line 1 opens it), not JSON lines, one object a line: jq -c '.[]' converts it`,
      name,
    )
  }
  const strings = await file(
    'strings.jsonl',
    '\n"https://images.example/1.jpg"\n"https://images.example/2.jpg"\n',
  )
  await assert.rejects(readAll([strings]), {
    name: 'UsageError',
    message: `${strings} holds no JSON object on a line of its own (line 2: a JSON string, not an object)`,
  })
  assert.deepEqual(await readAll([await file('blank.jsonl', '\n\n')]), [])
  // A list of URLs named .jsonl (or given --input-format jsonl): "Unexpected token 'h'" before.
  const list = await file(
    'list.jsonl',
    '\nhttps://user:pw@images.example/1.jpg\nhttps://images.example/2.jpg\n',
  )
  await assert.rejects(readAll([list]), {
    name: 'UsageError',
    message: `${list} is a list of URLs (its line 2: "https://images.example/1.jpg"), not JSON lines: a list is read as it is, without --input-format, from a file not named as a table (.txt)`,
  })
})

// pandas' DataFrame.to_json() without orient='records', lines=True writes the whole frame as one
// object (orient='columns' by default: posit-dev/chatlas#180, pandas-dev/pandas#10244): read as
// JSON lines, its one row failed as invalid-url with a jq command taking the first URL alone.
test("a whole pandas frame as one JSON object (to_json()'s 'columns', 'index', 'split' or 'table' orient) is a usage error before any row", async () => {
  const url = { 0: 'https://images.example/1.jpg', 1: 'https://images.example/2.jpg' }
  for (const [orient, frame] of [
    ['columns', { url, caption: { 0: 'a', 1: 'b' } }],
    ['index', { 0: { url: url[0], caption: 'a' }, 1: { url: url[1], caption: 'b' } }],
    [
      'split',
      {
        columns: ['url', 'caption'],
        index: [0, 1],
        data: [
          [url[0], 'a'],
          [url[1], 'b'],
        ],
      },
    ],
    ['table', { schema: { fields: [] }, data: [{ index: 0, url: url[0], caption: 'a' }] }],
  ] as const) {
    const path = await file(`${orient}.jsonl`, JSON.stringify(frame))
    await assert.rejects(readAll([path], { captionCol: 'caption' }), {
      name: 'UsageError',
      message: `${path} is one JSON object holding a whole table, as pandas' DataFrame.to_json() writes it (orient='${orient}'), not JSON lines, one object a row: write it with df.to_json(path, orient='records', lines=True)`,
    })
  }
  // A row whose every value is an object keyed alike is a row, not a frame: its keys are no
  // row numbers.
  const nested = await file(
    'nested.jsonl',
    `${JSON.stringify({ url: { href: url[0] }, thumb: { href: url[1] } })}\n`,
  )
  assert.equal((await readAll([nested]))[0].invalid?.code, 'invalid-url')
})

test('JSON lines with a comma after each object, ended by CR alone, or two objects on a line are told so, not "Unexpected non-whitespace character"', async () => {
  // The items of a JSON array without its brackets (EducationalTestingService/rsmtool#271), lines
  // ended by CR alone (the whole file one line), a line end left out (nianeyna/ao3downloader#166):
  // V8 said "Unexpected non-whitespace character after JSON at position 34".
  const a = '{"url":"https://images.example/1.jpg","caption":"a } { b, \\"c\\""}'
  const b = '{"url":"https://images.example/2.jpg","score":NaN}'
  const commas = await file('commas.jsonl', `${a},\n${b},\n`)
  await assert.rejects(readAll([commas]), {
    name: 'UsageError',
    message: `${commas} holds no JSON object on a line of its own (line 1: a JSON object and then a comma: JSON lines hold one object a line, no comma after it (a JSON array's items without its brackets?); sed 's/,$//' removes the commas)`,
  })
  const cr = await file('cr.jsonl', `${a}\r${b}\r`)
  await assert.rejects(readAll([cr]), {
    name: 'UsageError',
    message: `${cr} holds no JSON object on a line of its own (line 1: JSON objects on lines ended by CR alone (classic Mac OS line ends), which JSON lines does not end lines with: tr '\\r' '\\n' makes them LF)`,
  })
  // Among good lines, such a line is its own invalid-row, saying the same.
  const mixed = await file('mixed.jsonl', `${a}\n${a}${b}\n${b},\n${b}\n`)
  const jobs = await readAll([mixed])
  assert.deepEqual(
    jobs.map((j) => j.invalid?.message),
    [
      undefined,
      `${mixed} line 2: two JSON objects on one line: JSON lines hold one object a line (a line end left out between them)`,
      `${mixed} line 3: a JSON object and then a comma: JSON lines hold one object a line, no comma after it (a JSON array's items without its brackets?); sed 's/,$//' removes the commas`,
      undefined,
    ],
  )
})

test('JSON lines written as Python dicts, with curly quotes, or with a trailing comma are told so, not "Expected property name or \'}\'"', async () => {
  // facebookresearch/dynabench#740: JSON lines examples written as Python dicts ({'uid': '1', ...})
  // and with curly quotes. V8 said "Expected property name or '}' in JSON at position 1" of both,
  // and "Expected double-quoted property name" of a comma before the closing brace.
  const good = '{"url":"https://images.example/1.jpg","caption":"it\'s \\"ok\\", True"}'
  const python = `{'url': 'https://images.example/2.jpg', 'caption': "don't", 'ok': True}`
  const quoted = '{"url": "https://images.example/3.jpg", "caption": None}'
  const curly = '{“url”: “https://images.example/4.jpg”}'
  const comma = '{"url":"https://images.example/5.jpg","tags":["a",],}'
  const mixed = await file('slips.jsonl', [good, python, quoted, curly, comma, ''].join('\n'))
  const py =
    "a Python dict as print() or str() writes it (quotes ', True, None), not JSON: write each row with json.dumps(row)"
  assert.deepEqual(
    (await readAll([mixed])).map((j) => j.invalid?.message),
    [
      undefined,
      `${mixed} line 2: ${py}`,
      `${mixed} line 3: ${py}`,
      `${mixed} line 4: curly quotes (“ ”, as a word processor or chat window writes them), which JSON has not: its keys and strings need straight quotes (")`,
      `${mixed} line 5: a comma before its closing ], which JSON has not (JavaScript and JSON5 allow it): remove it`,
    ],
  )
  // A file of them alone is refused before anything is fetched, saying the same.
  const dicts = await file('dicts.jsonl', `${python}\n`)
  await assert.rejects(readAll([dicts]), {
    name: 'UsageError',
    message: `${dicts} holds no JSON object on a line of its own (line 1: ${py})`,
  })
})

test('a malformed JSON line, or a CSV record with more fields than its header, keeps its row as an invalid-row job naming file and line; a record with fewer has its last cells empty', async () => {
  const jsonl = await file(
    'bad.jsonl',
    '{"url":"https://images.example/1.jpg"}\n\n{"url": "https://images.example/2.jpg"\n[1,2]\n"text"\nnull\n{"url":"https://images.example/3.jpg"}\n',
  )
  const jobs = await readAll([jsonl])
  assert.deepEqual(
    jobs.map((j) => [j.row, j.url, j.invalid?.code]),
    [
      [0, 'https://images.example/1.jpg', undefined],
      [1, '', 'invalid-row'],
      [2, '', 'invalid-row'],
      [3, '', 'invalid-row'],
      [4, '', 'invalid-row'],
      [5, 'https://images.example/3.jpg', undefined],
    ],
  )
  assert.match(jobs[1].invalid!.message, /bad\.jsonl line 3: not valid JSON \(/)
  assert.match(jobs[2].invalid!.message, /bad\.jsonl line 4: a JSON array, not an object$/)
  assert.match(jobs[3].invalid!.message, /line 5: a JSON string, not an object$/)
  assert.match(jobs[4].invalid!.message, /line 6: a JSON null, not an object$/)

  const csv = await file(
    'bad.csv',
    'url,caption,license\n"https://images.example/1.jpg","a\nb",cc0\nhttps://images.example/2.jpg,x,cc0,extra\nhttps://images.example/4.jpg\nhttps://images.example/5.jpg,no licence\nhttps://images.example/3.jpg,ok,cc0\n',
  )
  const rows = await readAll([csv], { captionCol: 'caption' })
  assert.deepEqual(
    rows.map((j) => [j.row, j.url, j.caption, j.meta.license, j.invalid?.message]),
    [
      [0, 'https://images.example/1.jpg', 'a\nb', 'cc0', undefined],
      [1, '', undefined, undefined, `${csv} line 4: 4 fields where the header has 3`],
      // Writers that drop empty trailing fields: read as pandas and csv.DictReader read them.
      [2, 'https://images.example/4.jpg', '', '', undefined],
      [3, 'https://images.example/5.jpg', 'no licence', '', undefined],
      [4, 'https://images.example/3.jpg', 'ok', 'cc0', undefined],
    ],
  )
})

test('empty and invalid URL cells are rows like any other, failed naming the file and line', async () => {
  const csv = await file(
    'urls.csv',
    'url,n\n,1\n   ,2\nnot a url,3\nftp://x/y.jpg,4\n  https://images.example/ok.jpg ,5\n',
  )
  const jobs = await readAll([csv])
  assert.deepEqual(
    jobs.map((j) => [j.row, j.url, j.meta.n]),
    [
      [0, '', '1'],
      // Spaces around a URL are not part of it (it is fetched trimmed).
      [1, '', '2'],
      [2, 'not a url', '3'],
      [3, 'ftp://x/y.jpg', '4'],
      [4, 'https://images.example/ok.jpg', '5'],
    ],
  )
  // A table of millions of rows: "the URL cell is empty" alone does not say which.
  assert.deepEqual(
    jobs.map((j) => j.invalid),
    [
      { code: 'invalid-url', message: `${csv} line 2: invalid URL "": the URL cell is empty` },
      { code: 'invalid-url', message: `${csv} line 3: invalid URL "": the URL cell is empty` },
      { code: 'invalid-url', message: `${csv} line 4: invalid URL "not a url": not a URL` },
      {
        code: 'invalid-url',
        message: `${csv} line 5: invalid URL "ftp://x/y.jpg": only http and https are fetched, not ftp`,
      },
      undefined,
    ],
  )
  // Marks that show nothing around a URL (a zero-width space, a direction mark) go with its spaces.
  const marked = await file('marked.csv', 'url,n\n\u200bhttps://images.example/z.jpg\u200e ,1\n')
  assert.deepEqual(
    (await readAll([marked])).map((j) => [j.url, j.invalid]),
    [['https://images.example/z.jpg', undefined]],
  )
  // `cat part-*.csv`: each part's header line again, as a row.
  const joined = await file(
    'joined.csv',
    'url,n\nhttps://images.example/a.jpg,1\nurl,n\nhttps://images.example/b.jpg,2\n',
  )
  assert.deepEqual(
    (await readAll([joined])).map((j) => j.invalid?.message),
    [
      undefined,
      `${joined} line 3: invalid URL "url": the header line again (files joined with cat keep each one's header: join them without it, or give the folder of parts)`,
      undefined,
    ],
  )
  // A JSON lines URL that is a list (several images a row), an object (its key holding the URL
  // named), a number or a boolean says so, not "not a URL".
  const shapes = await file(
    'shapes.jsonl',
    [
      '{"image":["https://images.example/a.jpg","https://images.example/b.jpg"]}',
      '{"image":{"w":64,"src":"https://images.example/c.jpg"}}',
      '{"image":{"w":64}}',
      '{"image":12}',
      '{"image":false}',
      '{"image":{"the url":" https://images.example/d.jpg"}}',
      '',
    ].join('\n'),
  )
  assert.deepEqual(
    (await readAll([shapes], { urlCol: 'image' })).map((j) => j.invalid?.message),
    [
      `${shapes} line 1: invalid URL "["https://images.example/a.jpg","https://images.example/b.jpg"]": a list of 2 values, not one URL (one image a row: a row of several URLs needs one row per URL, as pandas' df.explode("image") makes them)`,
      `${shapes} line 2: invalid URL "{"w":64,"src":"https://images.example/c.jpg"}": an object, not a URL: its key "src" holds one, and --url-col names top-level keys (make it one first: jq -c '.image = .image.src' in.jsonl > flat.jsonl)`,
      `${shapes} line 3: invalid URL "{"w":64}": an object, not a URL`,
      `${shapes} line 4: invalid URL "12": a number, not a URL`,
      `${shapes} line 5: invalid URL "false": false, a boolean, not a URL`,
      `${shapes} line 6: invalid URL "{"the url":" https://images.example/d.jpg"}": an object, not a URL: its key "the url" holds one, and --url-col names top-level keys (make it one first: jq -c '.image = .image["the url"]' in.jsonl > flat.jsonl)`,
    ],
  )
})

test("a URL cell holding a list of URLs written as text (pandas' to_csv of a list cell) says so, not 'text before its https://'", async () => {
  // pandas-dev/pandas#58906: a shop's image URLs as a list, to_csv wrote "['https://…', …]"; each
  // row was said as `'['' before its https://: the URL must stand alone`.
  const lists = await file(
    'lists.csv',
    `url\n"['https://images.example/a.jpg', 'https://images.example/b.jpg']"\n"[""https://images.example/c.jpg""]"\n"['https://images.example/d.jpg' and more]"\n`,
  )
  const told = (n: number) =>
    `a list of ${n} URL${n === 1 ? '' : 's'} written as text (as pandas' to_csv writes a list), not one URL (one image a row: take the list's items out, one row per URL, as pandas' df.explode("url") makes them before writing)`
  assert.deepEqual(
    (await readAll([lists])).map((j) => j.invalid?.message.replace(/^.*?": /, '')),
    [told(2), told(1), "'['' before its https://: the URL must stand alone"],
  )
})

test('a dotted name whose first part is a column (--url-col meta.url: a key inside a JSON object or a Parquet struct) is refused with how to make it a column, not taken for a later key carried null', async () => {
  const nested = await file(
    'nested.jsonl',
    '{"meta":{"url":"https://images.example/a.jpg","license":"cc0"},"caption":"a"}\n',
  )
  await assert.rejects(readAll([nested], { urlCol: 'meta.url' }), {
    name: 'UsageError',
    message: `${nested} has no column "meta.url" (the URL column); its columns: "meta", "caption": "meta.url" is "url" inside the column "meta", and --url-col names top-level columns: make it one first, e.g. jq -c '.url = .meta.url' in.jsonl > flat.jsonl, then --url-col url`,
  })
  const flat = await file(
    'flat.jsonl',
    '{"url":"https://images.example/a.jpg","meta":{"license":"cc0","x y":{"z":1}}}\n',
  )
  // A --columns name of a key a JSON lines file's first lines lack is waited for in later lines,
  // but not one inside a column they have: it was carried null in every row, with a warning.
  await assert.rejects(readAll([flat], { columns: ['meta.license'] }), {
    name: 'UsageError',
    message:
      /has no column "meta\.license" \(a carried column\); .*: make it one first, e\.g\. jq -c '\.license = \.meta\.license' in\.jsonl > flat\.jsonl, then --columns license$/,
  })
  await assert.rejects(readAll([flat], { captionCol: 'meta.x y.z' }), {
    message: /"meta\.x y\.z" is "x y\.z" inside the column "meta".*jq -c '\.z = \.meta\["x y"\]\.z'/,
  })
  // A key with a dot that is a column is a column (pandas' json_normalize writes them so).
  const dotted = await file('dotted.csv', 'meta.url,meta\nhttps://images.example/a.jpg,x\n')
  assert.equal((await readAll([dotted], { urlCol: 'meta.url' }))[0].url, 'https://images.example/a.jpg')
  // A CSV column is text: no command to make a key of it a column.
  const csv = await file('nested.csv', 'meta,url\nx,https://images.example/a.jpg\n')
  await assert.rejects(readAll([csv], { captionCol: 'meta.text' }), {
    message: /"meta\.text" is "text" inside the column "meta", and --caption-col names top-level columns$/,
  })
})

test('urlCol, captionCol, hashCol with hashType, and columns pick what each row gives', async () => {
  const md5 = 'd41d8cd98f00b204e9800998ecf8427e'
  const csv = await file(
    'cols.csv',
    `image,text,license,checksum,width\nhttps://images.example/a.jpg,A,cc0,${md5.toUpperCase()},10\nhttps://images.example/b.jpg,,cc-by,,20\nhttps://images.example/c.jpg,C,cc0,${SHA},30\n`,
  )
  const jobs = await readAll([csv], {
    urlCol: 'image',
    captionCol: 'text',
    hashCol: 'checksum',
    hashType: 'md5',
    columns: ['license', 'width'],
  })
  assert.deepEqual(jobs.slice(0, 2), [
    {
      url: 'https://images.example/a.jpg',
      row: 0,
      caption: 'A',
      expectedHash: { type: 'md5', value: md5 },
      meta: { license: 'cc0', width: '10' },
    },
    { url: 'https://images.example/b.jpg', row: 1, caption: '', meta: { license: 'cc-by', width: '20' } },
  ])
  // A sha256 in an md5 column is not a digest of the right kind: the row fails, it is not dropped.
  assert.equal(jobs[2].invalid?.code, 'invalid-hash')
  assert.match(
    jobs[2].invalid!.message,
    /cols\.csv line 4: "e3b0.*" is not an md5 \(32 hex digits.*\(give --hash-type sha256\)$/,
  )
  assert.equal(jobs[2].expectedHash, undefined)

  const all = await readAll([csv], { urlCol: 'image' })
  assert.deepEqual(all[0].meta, { text: 'A', license: 'cc0', checksum: md5.toUpperCase(), width: '10' })
})

test('JSON lines: the columns are the keys of its first lines, not of its first line alone (Spark drops null fields)', async () => {
  const sparse = await file(
    'sparse.jsonl',
    '{"caption":"no url yet"}\n' +
      '{"url":"https://images.example/a.jpg"}\n' +
      '{"url":"https://images.example/b.jpg","caption":"two","lic":"cc"}\n',
  )
  const jobs = await readAll([sparse], { captionCol: 'caption', columns: ['lic'] })
  assert.deepEqual(jobs, [
    {
      url: '',
      row: 0,
      caption: 'no url yet',
      meta: { lic: undefined },
      invalid: { code: 'invalid-url', message: `${sparse} line 1: invalid URL "": the URL cell is empty` },
    },
    { url: 'https://images.example/a.jpg', row: 1, caption: '', meta: { lic: undefined } },
    { url: 'https://images.example/b.jpg', row: 2, caption: 'two', meta: { lic: 'cc' } },
  ])
  // A column no line has is still a mistyped option, named with the columns there are.
  await assert.rejects(
    readAll([sparse], { captionCol: 'captoin' }),
    /sparse\.jsonl has no column "captoin" \(the caption column\); its columns: "caption", "url", "lic"/,
  )
})

test('a table that is not UTF-8 (a Latin-1 export) stops with the file, line and byte, not U+FFFD in its captions and URLs', async () => {
  const latin1 = await file(
    'latin1.csv',
    Buffer.from(
      'url,caption\nhttps://images.example/a.jpg,ok\nhttps://images.example/b.jpg,caf\xe9 cr\xe8me\n',
      'latin1',
    ),
  )
  await assert.rejects(readAll([latin1]), {
    name: 'UsageError',
    message:
      /latin1\.csv is not UTF-8 text \(byte 0xE9 on line 3\): convert it first, e\.g\. iconv -f latin1 -t utf-8$/,
  })
  const jsonl = await file(
    'latin1.jsonl',
    Buffer.concat([
      Buffer.from('{"url":"https://images.example/a.jpg","c":"'),
      Buffer.from([0xe9]),
      Buffer.from('"}\n'),
    ]),
  )
  await assert.rejects(readAll([jsonl]), {
    message: /latin1\.jsonl is not UTF-8 text \(byte 0xE9 on line 1\)/,
  })
  // A NUL in a caption (read as text, as pandas' C parser reads it) before the Latin-1 byte: the
  // file was said to be binary data on its "first line", a wrong --input-format, the byte unnamed.
  const nul = await file(
    'nul-latin1.csv',
    Buffer.from(
      'url,caption\nhttps://images.example/a.jpg,a\0b\nhttps://images.example/b.jpg,caf\xe9\n',
      'latin1',
    ),
  )
  await assert.rejects(readAll([nul]), {
    message: /nul-latin1\.csv is not UTF-8 text \(byte 0xE9 on line 3\): convert it first/,
  })
  // Characters cut across read chunks, and the whole range of valid ones, pass.
  const wide = await file(
    'wide.csv',
    `url,caption\n${Array.from({ length: 40_000 }, (_, i) => `https://images.example/${i}.jpg,é€😀 ${i}`).join('\n')}\n`,
  )
  assert.equal((await readAll([wide])).length, 40_000)
})

// Excel's "Unicode Text" save is UTF-16LE with a byte order mark, CRLF, tab-separated (PowerShell
// 5's `>` writes UTF-16LE too): refused before, pointing at an iconv Windows does not have.
test('a table in UTF-16 (Excel\'s "Unicode Text"), either byte order, with or without its mark, gzip\'d, reads as its text', async () => {
  const rows = Array.from({ length: 20_000 }, (_, i) => [
    `https://images.example/${i}.jpg`,
    i === 1 ? '"two\nlines, ""quoted"""' : `café 😀 雪 ${i}`,
  ])
  const text = `url\tcaption\r\n${rows.map((r) => r.join('\t')).join('\r\n')}\r\n`
  const expected = rows.map(([url, caption], i) => [url, i === 1 ? 'two\nlines, "quoted"' : caption])
  const le = Buffer.from(`\ufeff${text}`, 'utf16le')
  for (const [name, bytes] of [
    ['excel.tsv', le],
    ['bare-le.tsv', Buffer.from(text, 'utf16le')],
    ['bom-be.tsv', Buffer.from(`\ufeff${text}`, 'utf16le').swap16()],
    ['bare-be.tsv', Buffer.from(text, 'utf16le').swap16()],
    ['excel.tsv.gz', gzipSync(le)],
    ['excel.csv', Buffer.from(`\ufeff${text.replaceAll('\t', ',')}`, 'utf16le')],
  ] as const) {
    const jobs = await readAll([await file(name, bytes)], { captionCol: 'caption' })
    assert.deepEqual(
      jobs.map((job) => [job.url, job.caption]),
      expected,
      name,
    )
  }
  // Lines keep their numbers in messages, counted in the text.
  const extra = await file(
    'extra.tsv',
    Buffer.from('\ufeffurl\tc\r\nhttps://images.example/a.jpg\tx\ty\r\n', 'utf16le'),
  )
  assert.equal(
    (await readAll([extra]))[0].invalid?.message,
    `${extra} line 2: 3 fields where the header has 2`,
  )
  // JSON lines as PowerShell 5 writes them (ConvertTo-Json -Compress > rows.jsonl), read as
  // Python's json.loads reads UTF-16 bytes.
  const jsonl = await file(
    'ps.jsonl',
    Buffer.from('\ufeff{"url":"https://images.example/a.jpg","caption":"café"}\r\n', 'utf16le'),
  )
  assert.deepEqual(
    (await readAll([jsonl], { captionCol: 'caption' })).map((job) => [job.url, job.caption]),
    [['https://images.example/a.jpg', 'café']],
  )
  // Under another format's name, named as what its text is.
  await assert.rejects(readAll([await file('excel.parquet', le.subarray(0, 4096))]), {
    message: /excel\.parquet is a TSV table .*, not a Parquet file: name it \.tsv/,
  })
})

test("a Windows-1252 table (Excel's CSV on Windows: don\u2019t as 0x92) is told to convert from cp1252, where latin1 would make its quotes control characters", async () => {
  // pandas: "UnicodeDecodeError: 'utf-8' codec can't decode byte 0x92". `iconv -f latin1`, which the
  // message said for every such file, turns 0x92 into U+0092, a control character, in the caption.
  const cases: [string, number[], RegExp][] = [
    [
      'excel.csv',
      [...Buffer.from('url,caption\nhttps://images.example/a.jpg,don'), 0x92, ...Buffer.from('t\n')],
      /excel\.csv is not UTF-8 text \(byte 0x92 on line 2\): convert it first, e\.g\. iconv -f cp1252 -t utf-8 \(Windows-1252, as Excel saves CSV on Windows: its byte 0x92 on line 2 is \u2019, which -f latin1 would make a control character\)$/,
    ],
    // The first bad byte a Latin-1 letter, a curly quote later: still Windows-1252.
    [
      'quotes.jsonl',
      [
        ...Buffer.from('{"url":"https://images.example/a.jpg","c":"caf'),
        0xe9,
        ...Buffer.from('"}\n{"c":" '),
        0x93,
        0x78,
        0x94,
        ...Buffer.from('"}\n'),
      ],
      /quotes\.jsonl is not UTF-8 text \(byte 0xE9 on line 1\): convert it first, e\.g\. iconv -f cp1252 -t utf-8 \(.*its byte 0x93 on line 2 is \u201c, which/,
    ],
    // Bytes 0x80-0x9F after a UTF-8 lead, or Windows-1252's five unassigned ones: no sign of it.
    [
      'latin.csv',
      [
        ...Buffer.from('url,caption\nhttps://images.example/a.jpg,'),
        0xe9,
        0x80,
        0x20,
        0x81,
        ...Buffer.from('\n'),
      ],
      /latin\.csv is not UTF-8 text \(byte 0xE9 on line 2\): convert it first, e\.g\. iconv -f latin1 -t utf-8$/,
    ],
  ]
  for (const [name, bytes, message] of cases)
    await assert.rejects(
      readAll([await file(name, Buffer.from(bytes))]),
      { name: 'UsageError', message },
      name,
    )
})

test('utf8Scan: the first byte that is not UTF-8 (RFC 3629), and a character cut at the end', () => {
  const cases: [number[], { bad: number; incomplete: number }][] = [
    [[0x61, 0x62], { bad: -1, incomplete: 0 }],
    [[0xc3, 0xa9], { bad: -1, incomplete: 0 }],
    [[0x61, 0xc3], { bad: -1, incomplete: 1 }],
    [[0xe2, 0x82], { bad: -1, incomplete: 2 }],
    [[0xf0, 0x9f, 0x98], { bad: -1, incomplete: 3 }],
    [[0x61, 0xe9, 0x20], { bad: 1, incomplete: 0 }],
    [[0xc0, 0xaf], { bad: 0, incomplete: 0 }], // overlong
    [[0xe0, 0x80, 0xaf], { bad: 0, incomplete: 0 }], // overlong
    [[0xed, 0xa0, 0x80], { bad: 0, incomplete: 0 }], // a surrogate
    [[0xf4, 0x90, 0x80, 0x80], { bad: 0, incomplete: 0 }], // past U+10FFFF
    [[0x80], { bad: 0, incomplete: 0 }],
  ]
  for (const [bytes, expected] of cases)
    assert.deepEqual(utf8Scan(Uint8Array.from(bytes)), expected, `${bytes}`)
})

test('gzip: .csv.gz, .tsv.gz and .jsonl.gz read as their plain twins', async () => {
  const csv = 'url,caption\nhttps://images.example/a.jpg,"x\ny"\nhttps://images.example/b.jpg,z\n'
  const tsv = 'url\tcaption\nhttps://images.example/a.jpg\t"x\ny"\nhttps://images.example/b.jpg\tz\n'
  const jsonl =
    '{"url":"https://images.example/a.jpg","caption":"x\\ny"}\n{"url":"https://images.example/b.jpg","caption":"z"}\n'
  const expected = [
    { url: 'https://images.example/a.jpg', row: 0, caption: 'x\ny', meta: { caption: 'x\ny' } },
    { url: 'https://images.example/b.jpg', row: 1, caption: 'z', meta: { caption: 'z' } },
  ]
  for (const [name, text] of [
    ['g.csv', csv],
    ['g.tsv', tsv],
    ['g.jsonl', jsonl],
  ]) {
    const plain = await file(name, text)
    const gz = await file(`${name}.gz`, gzipSync(text))
    assert.deepEqual(await readAll([plain], { captionCol: 'caption' }), expected, name)
    assert.deepEqual(await readAll([gz], { captionCol: 'caption' }), expected, `${name}.gz`)
    // The bytes decide, not the name: a download left compressed under the plain name, and a
    // .gz a browser decompressed but kept the name of.
    const packed = await file(`packed-${name}`, gzipSync(text))
    const unpacked = await file(`unpacked-${name}.gz`, text)
    assert.deepEqual(await readAll([packed], { captionCol: 'caption' }), expected, `gzip in ${name}`)
    assert.deepEqual(await readAll([unpacked], { captionCol: 'caption' }), expected, `plain in ${name}.gz`)
  }
  // Concatenated gzip members (what `cat a.gz b.gz` and pigz give) are one stream.
  const parts = await file(
    'parts.jsonl.gz',
    Buffer.concat([gzipSync(`${jsonl.split('\n')[0]}\n`), gzipSync(`${jsonl.split('\n')[1]}\n`)]),
  )
  assert.deepEqual(await readAll([parts], { captionCol: 'caption' }), expected)
})

test('a table compressed with zstd, bzip2, xz or ZIP is named so, with how to unpack it, by its name or its bytes', async () => {
  // pandas' to_csv('x.csv.zst') and DuckDB's COPY ... TO 'x.jsonl.zst' compress from the name; a
  // download may keep the compressed bytes under the plain name. Named so, the file was taken for a
  // URL list and told to be piped into `imgpull -` (which reads its rows as URLs); in a folder it
  // was skipped with its rows; named .csv, it "held binary data (a wrong --input-format?)".
  // `url\nhttps://images.example/a.jpg\n`, packed by zstd 1.5, bzip2 1.0, xz 5.4 and zip 3.0.
  const packed: [string, string, string][] = [
    ['zst', 'zstd', '28b52ffd202109010075726c0a68747470733a2f2f696d616765732e6578616d706c652f612e6a70670a'],
    [
      'bz2',
      'bzip2',
      '425a6839314159265359ea32bf2000000fd98000100001801022f65e402000314d323131310a0d1e534d3268a1c0252cd24abaf0a465f51cf4c0c4b27c5dc914e14243a8cafc80',
    ],
    [
      'xz',
      'xz',
      'fd377a585a000004e6d6b4460200210116000000742fe5a301002075726c0a68747470733a2f2f696d616765732e6578616d706c652f612e6a70670a000000009f726cb39c7456a300013921cf286b621fb6f37d010000000004595a',
    ],
    [
      'zip',
      'ZIP',
      '504b03040a0000000000297f835ddedf1369210000002100000005001c00732e63737655540900035e91116b5e91116b75780b00010400000000040000000075726c0a68747470733a2f2f696d616765732e6578616d706c652f612e6a70670a504b01021e030a0000000000297f835ddedf13692100000021000000050018000000000001000000a48100000000732e63737655540500035e91116b75780b000104000000000400000000504b050600000000010001004b000000600000000000',
    ],
  ]
  const cat = { zstd: 'zstd -dc', bzip2: 'bzip2 -dc', xz: 'xz -dc', ZIP: 'unzip -p' } as Record<
    string,
    string
  >
  for (const [ext, what, hex] of packed) {
    const bytes = Buffer.from(hex, 'hex')
    for (const format of ['csv', 'tsv', 'jsonl']) {
      const named = await file(`named-${ext}.${format}.${ext}`, bytes)
      await assert.rejects(readAll([named]), {
        name: 'UsageError',
        message: `${named} is ${what === 'xz' ? 'an' : 'a'} ${what}-compressed ${format.toUpperCase()} table: tables are read plain or gzip-compressed (.gz); unpack it first: ${cat[what]} ${named} > ${named.slice(0, -ext.length - 1)}`,
      })
      const plain = await file(`plain-${ext}.${format}`, bytes)
      await assert.rejects(readAll([plain]), {
        name: 'UsageError',
        message: `${plain} is ${what}-compressed, whatever its name says: tables are read plain or gzip-compressed; unpack it first: ${cat[what]} ${plain} > unpacked.${format}`,
      })
    }
  }
  // In a folder beside plain tables, it stops the run rather than be skipped with its rows.
  const folder = join(dir, 'parts-zst')
  await mkdir(folder)
  await writeFile(join(folder, 'part-0.csv'), 'url\nhttps://images.example/b.jpg\n')
  await writeFile(join(folder, 'part-1.csv.zst'), Buffer.from(packed[0][2], 'hex'))
  await assert.rejects(readAll([folder]), {
    name: 'UsageError',
    message:
      /part-1\.csv\.zst is a zstd-compressed CSV table: .*unpack it first: zstd -dc .*part-1\.csv\.zst > .*part-1\.csv$/,
  })
})

// R's write.table (row.names = TRUE, the default) writes a row name first in each record, which
// its header has no column for: `"url","caption"` over `"1","https://…","a"` (pola-rs/polars#1999,
// Rdatatable/data.table#763). pandas' read_csv and R's read.table take it for the index; each row
// was an invalid-row ("3 fields where the header has 2"), nothing fetched.
test("a table whose records start with row names its header has no column for (R's write.table) is read as pandas reads it", async () => {
  const rows = '"1","https://images.example/a.jpg","a, fox"\n"r2","https://images.example/b.jpg","b"\n'
  for (const [name, text] of [
    ['r.csv', `"url","caption"\n${rows}`],
    ['r.tsv', `"url"\t"caption"\n${rows.replaceAll('","', '"\t"')}`],
  ]) {
    const jobs = await readAll([await file(name, text)], { captionCol: 'caption' })
    assert.deepEqual(
      jobs.map((j) => [j.url, j.caption, j.meta, j.invalid]),
      [
        ['https://images.example/a.jpg', 'a, fox', { caption: 'a, fox' }, undefined],
        ['https://images.example/b.jpg', 'b', { caption: 'b' }, undefined],
      ],
      name,
    )
  }
  // Not so when the extra field is a delimiter ending the record, or a URL holding the separator
  // in the last column (read whole), or the URL is in its place.
  const ended = await readAll([await file('ended.csv', 'url,caption\nhttps://images.example/a.jpg,a,\n')])
  assert.deepEqual(ended[0].meta, { caption: 'a' })
  const last = await readAll([await file('last.csv', 'id,url\n7,https://images.example/w_3,h_2/a.jpg\n')])
  assert.equal(last[0].url, 'https://images.example/w_3,h_2/a.jpg')
  const more = await readAll([await file('more.csv', 'url,caption\nhttps://images.example/a.jpg,a,b\n')])
  assert.equal(more[0].invalid?.message.endsWith('3 fields where the header has 2'), true)
})

test("a Spark or Hadoop folder of tables compressed by Hadoop's codecs (.csv.snappy, .deflate, .lz4) or brotli is named so, not said to hold no table", async () => {
  // Spark's CSV and JSON `compression` option writes part-00000-….csv.snappy (.deflate, .lz4),
  // Hadoop's own framing, which the snappy and lz4 tools do not read (ray-project/ray#35497,
  // intake/python-snappy#35): the folder was said to hold no table files, and beside a plain table
  // such a part was skipped with its rows.
  const spark = join(dir, 'spark-snappy')
  await mkdir(spark)
  await writeFile(join(spark, '_SUCCESS'), '')
  await writeFile(join(spark, '._SUCCESS.crc'), 'crc\0\0\0\0')
  const part = join(spark, 'part-00000-5f1c-c000.csv.snappy')
  await writeFile(part, Buffer.from('00000022120000227572', 'hex'))
  await writeFile(join(spark, '.part-00000-5f1c-c000.csv.snappy.crc'), 'crc\0\0\0\0')
  const also = `; or write it again with Spark's .option("compression", "gzip")`
  await assert.rejects(readAll([spark]), {
    name: 'UsageError',
    message: `${part} is a Hadoop snappy-compressed CSV table: tables are read plain or gzip-compressed (.gz); unpack it first: hadoop fs -text ${part} > ${part.slice(0, -'.snappy'.length)}${also}`,
  })
  for (const [ext, what, cat, more] of [
    ['deflate', 'a Hadoop deflate', 'hadoop fs -text', also],
    ['lz4', 'a Hadoop LZ4', 'hadoop fs -text', also],
    ['br', 'a brotli', 'brotli -dc', ''],
  ]) {
    const named = await file(`rows.jsonl.${ext}`, Buffer.from('78da0b', 'hex'))
    await assert.rejects(readAll([named]), {
      name: 'UsageError',
      message: `${named} is ${what}-compressed JSONL table: tables are read plain or gzip-compressed (.gz); unpack it first: ${cat} ${named} > ${named.slice(0, -ext.length - 1)}${more}`,
    })
  }
})

test("a tar archive, gzip'd or not, and gzip inside gzip are named so, with how to unpack them, not read as UTF-16 rows", async () => {
  // `tar -czf photos.csv.gz photos.csv` (pandas-dev/pandas#12005, tidyverse/readr#780: pandas and
  // readr took the member's name for the first column's); its header's NULs read as UTF-16, it
  // was "binary data (a wrong --input-format?)". A .csv.gz gzip'd again (a server's
  // Content-Encoding: gzip over it, saved as it came) said the same.
  const folder = join(dir, 'tarred')
  await mkdir(folder)
  await writeFile(join(folder, 'photos.jsonl'), '{"url":"https://images.example/a.jpg"}\n')
  for (const [name, flags] of [
    ['photos.jsonl.gz', '-czf'],
    ['photos.csv', '-cf'],
  ]) {
    const path = join(folder, name)
    execFileSync('tar', [flags, path, '-C', folder, 'photos.jsonl'])
    await assert.rejects(readAll([path]), {
      name: 'UsageError',
      message: `${path} is a tar archive, not a table: tables are read plain or gzip-compressed, not archived; unpack it first: tar -xf ${path}`,
    })
  }
  // A shell's pipe has no file for tar -xf: unpacked in the pipe, with -z where it was gzip'd.
  const header = `${'photos.csv'.padEnd(257, '\0')}ustar\x0000`
  assert.match(
    heldPacking('/dev/fd/63', header, true)?.message ?? '',
    /unpack it in the pipe: \.\.\. \| tar -xzO$/,
  )
  assert.match(
    heldPacking('/dev/fd/63', header, false)?.message ?? '',
    /unpack it in the pipe: \.\.\. \| tar -xO$/,
  )
  const twice = await file('twice.tsv.gz', gzipSync(gzipSync('url\nhttps://images.example/a.jpg\n')))
  await assert.rejects(readAll([twice]), {
    name: 'UsageError',
    message: `${twice} is gzip-compressed twice (its gzip data holds gzip data): tables are read plain or gzip-compressed once; unpack it once: gzip -dc ${twice} > unpacked.tsv.gz`,
  })
})

test('bytes after a gzip table: junk is said once and every row read; zeros (a padded copy) pass without a word, as gzip -d passes them', async () => {
  // Node's gunzip failed on both ("incorrect header check"; zeros it read as no member, but other
  // bytes lost the rows of the last write: nodejs/node#7502).
  const lines = ['url,n', ...Array.from({ length: 30 }, (_, i) => `https://images.example/${i}.jpg,${i}`)]
  const gz = gzipSync(`${lines.join('\n')}\n`)
  const said: string[] = []
  const hear = (w: Error & { code?: string }) => w.code === 'IMGPULL_GZIP_TRAILING' && said.push(w.message)
  process.on('warning', hear)
  try {
    const padded = await file('padded.csv.gz', Buffer.concat([gz, Buffer.alloc(512)]))
    assert.equal((await readAll([padded])).length, 30)
    const junk = await file('junk.csv.gz', Buffer.concat([gz, Buffer.from('\n<!-- end -->\n')]))
    assert.equal((await readAll([junk])).length, 30)
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(said, [
      `${junk}: 14 bytes after its gzip data, from byte ${gz.length}, are not gzip data: ignored, as gzip -d ignores them; all before them is read`,
    ])
  } finally {
    process.off('warning', hear)
  }
})

test('rows stream: those before corrupt gzip data are given, then a UsageError names the file', async () => {
  const lines = ['url,n']
  for (let i = 0; i < 60_000; i++) lines.push(`https://images.example/${i}.jpg,${(i * 7919) % 100_003}`)
  const whole = gzipSync(`${lines.join('\n')}\n`)
  const cut = await file('cut.csv.gz', whole.subarray(0, whole.length - 2000))
  const { jobs, error } = await readUntilError([cut])
  // The first rows came out of a file that is broken near its end: it is read as it goes.
  assert.ok(jobs.length > 1000 && jobs.length < 60_000, `${jobs.length} rows`)
  assert.deepEqual(
    jobs.map((j) => j.row),
    jobs.map((_, i) => i),
  )
  assert.ok(error instanceof UsageError)
  assert.match(
    error.message,
    /^cannot read .*cut\.csv\.gz after line \d+: gzip data is corrupt or truncated \(unexpected end of file\)$/,
  )

  // No gzip magic: read as the plain text it is (a browser's decompressed download), and judged so.
  const garbage = await file('garbage.jsonl.gz', Buffer.from('this is not gzip at all'))
  await assert.rejects(
    readAll([garbage]),
    /garbage\.jsonl\.gz holds no JSON object on a line of its own \(line 1:/,
  )
})

test('a CSV record past 64 MiB stops the reading: a quote that closes only at the end of the file does not take it into one cell', async () => {
  const row = 'https://images.example/x.jpg,an ordinary caption\n'
  const csv = await file(
    'runaway.csv',
    Buffer.concat([
      Buffer.from('url,caption\nhttps://images.example/1.jpg,fine\nhttps://images.example/2.jpg,"runs on\n'),
      Buffer.from(row.repeat(Math.ceil((65 * 1024 * 1024) / row.length))),
      Buffer.from('https://images.example/3.jpg,"closed"\n'),
    ]),
  )
  const { jobs, error } = await readUntilError([csv])
  assert.deepEqual(
    jobs.map((job) => job.url),
    ['https://images.example/1.jpg'],
  )
  assert.ok(error instanceof UsageError)
  assert.match(
    error.message,
    /runaway\.csv line 3: a record runs past 64 MiB: a quote opened in it is not closed/,
  )
})

test('a CSV quote never closed stops the run after the rows before it, naming file and line', async () => {
  const csv = await file(
    'open-quote.csv',
    'url,caption\nhttps://images.example/1.jpg,fine\nhttps://images.example/2.jpg,"never closed\nhttps://images.example/3.jpg,x\n',
  )
  const { jobs, error } = await readUntilError([csv])
  assert.deepEqual(
    jobs.map((j) => j.url),
    ['https://images.example/1.jpg'],
  )
  assert.ok(error instanceof UsageError)
  // The quote opened on line 3 (csv-parse would name line 4, where the file ends).
  assert.match(error.message, /open-quote\.csv line 3: a quote opened in this record is never closed$/)
})

test('a CSV with no header line is a usage error; a header alone is a table of no rows', async () => {
  await assert.rejects(readAll([await file('empty.csv', '')]), {
    name: 'UsageError',
    message: /empty\.csv is empty: a CSV table needs a header line/,
  })
  assert.deepEqual(await readAll([await file('header.csv', 'url,caption\r\n')]), [])
  assert.deepEqual(await readAll([await file('empty.jsonl', '\n\n')]), [])
})

test('JSON lines: integers beyond 2^53 keep every digit (as text, as a Parquet INT64 that large)', async () => {
  // As the CLI does: JSON.parse's source text is behind this flag on Node 20 (on from Node 21).
  setFlagsFromString('--harmony-json-parse-with-source')
  const ids = await file(
    'ids.jsonl',
    '{"url":"https://images.example/a.jpg","id":1234567890123456789,"n":12,"f":1.5e300,"neg":-9007199254740993}\n' +
      '{"url":"https://images.example/b.jpg","id":42}\n',
  )
  const jobs = await readAll([ids])
  assert.deepEqual(
    jobs.map((j) => j.meta),
    [{ id: '1234567890123456789', n: 12, f: 1.5e300, neg: '-9007199254740993' }, { id: 42 }],
  )
})

test('CSV and TSV: a header name twice is read as pandas reads it, the later ones named note.1, note.2', async () => {
  const csv = await file('dup.csv', 'url,note,note,note.1,note\nhttps://images.example/a.jpg,x,y,z,w\n')
  const [job] = await readAll([csv])
  assert.deepEqual(job.meta, { note: 'x', 'note.2': 'y', 'note.1': 'z', 'note.3': 'w' })
  const tsv = await file('dup.tsv', 'url\tcaption\tcaption\nhttps://images.example/b.jpg\tA\tB\n')
  const [row] = await readAll([tsv], { captionCol: 'caption', columns: ['caption.1'] })
  assert.deepEqual([row.caption, row.meta], ['A', { 'caption.1': 'B' }])
})

test('CSV and TSV: empty fields after the last column (a delimiter ending each record, not the header) are no cells: the rows read', async () => {
  // Scripts writing `url,caption,` per record, and exports padding every row: DuckDB's sniffer
  // and csv.DictReader read the named columns; each row was an invalid-row ("3 fields where the
  // header has 2"), nothing fetched.
  const csv = await file(
    'trailing.csv',
    'url,caption\nhttps://images.example/a.jpg,a,\r\nhttps://images.example/b.jpg,"b, c",,""\nhttps://images.example/d.jpg,d,x\n',
  )
  const jobs = await readAll([csv], { captionCol: 'caption' })
  assert.deepEqual(
    jobs.map((j) => [j.url, j.caption, j.meta, j.invalid?.message]),
    [
      ['https://images.example/a.jpg', 'a', { caption: 'a' }, undefined],
      ['https://images.example/b.jpg', 'b, c', { caption: 'b, c' }, undefined],
      // A field past the header holding text: which cell is which is unknown.
      ['', undefined, {}, `${csv} line 4: 3 fields where the header has 2`],
    ],
  )
  const tsv = await file('trailing.tsv', 'url\tcaption\nhttps://images.example/e.jpg\te\t\n')
  assert.deepEqual(
    (await readAll([tsv], { captionCol: 'caption' })).map((j) => [j.url, j.caption, j.invalid]),
    [['https://images.example/e.jpg', 'e', undefined]],
  )
})

test("CSV: a header with ; and no , is Excel's ;-separated export (a decimal comma's locale), its rows read so", async () => {
  const csv = await file(
    'excel.csv',
    'url;caption;score\r\nhttps://images.example/a.jpg;"un, deux";0,5\r\nhttps://images.example/b.jpg;trois;1,25\r\n',
  )
  const jobs = await readAll([csv], { captionCol: 'caption' })
  assert.deepEqual(
    jobs.map((j) => [j.url, j.caption, j.meta]),
    [
      ['https://images.example/a.jpg', 'un, deux', { caption: 'un, deux', score: '0,5' }],
      ['https://images.example/b.jpg', 'trois', { caption: 'trois', score: '1,25' }],
    ],
  )
  // A header that holds a , somewhere stays ,-separated: its ; are text.
  const plain = await file('plain.csv', 'url,note\nhttps://images.example/c.jpg,a;b\n')
  assert.deepEqual(
    (await readAll([plain])).map((j) => j.meta),
    [{ note: 'a;b' }],
  )
})

test("CSV: Excel's first line sep=; (or sep=,) names the separator, and the header is the line after it", async () => {
  // Exports meant for Excel start so; it was read as the header (`no column "url"; its columns: "sep="`).
  const semi = await file(
    'sep-semi.csv',
    'sep=;\r\nurl;caption;score\r\nhttps://images.example/a.jpg;"un, deux";0,5\r\nnot a url;x;1\r\nhttps://images.example/c.jpg;a;b;c\r\n',
  )
  const jobs = await readAll([semi], { captionCol: 'caption' })
  assert.deepEqual(
    jobs.map((j) => [j.row, j.url, j.meta]),
    [
      [0, 'https://images.example/a.jpg', { caption: 'un, deux', score: '0,5' }],
      [1, 'not a url', { caption: 'x', score: '1' }],
      [2, '', {}],
    ],
  )
  assert.match(jobs[2].invalid!.message, /sep-semi\.csv line 5: 4 fields where the header has 3/)
  const comma = await file('sep-comma.csv', 'sep=,\nurl,caption\nhttps://images.example/d.jpg,"a; b"\n')
  assert.deepEqual(
    (await readAll([comma])).map((j) => [j.url, j.meta]),
    [['https://images.example/d.jpg', { caption: 'a; b' }]],
  )
  const pipe = await file('sep-pipe.csv', 'sep=|\nurl|caption\n')
  await assert.rejects(readAll([pipe]), {
    name: 'UsageError',
    message: /sep-pipe\.csv line 1 is "sep=\|", Excel's line naming the separator: .* not "\|"/,
  })
})

test("JSON lines from Python's json.dumps: NaN and Infinity scores read as those numbers (null in JSON out), the rows kept", async () => {
  // json.dumps writes float('nan') as NaN (allow_nan=True is its default) and json.loads and pandas
  // read it: every such row was an invalid-row, its image never fetched.
  const jsonl = await file(
    'python.jsonl',
    '{"url": "https://images.example/1.jpg", "caption": "NaN", "score": NaN}\n' +
      '{"url": "https://images.example/2.jpg", "caption": "inf", "score": Infinity, "low": -Infinity}\n' +
      '{"url": "https://images.example/3.jpg", "caption": "ok", "score": 0.5}\n',
  )
  const jobs = await readAll([jsonl], { captionCol: 'caption' })
  assert.deepEqual(
    jobs.map((j) => [j.url, j.caption, j.meta.score, j.meta.low, j.invalid]),
    [
      ['https://images.example/1.jpg', 'NaN', Number.NaN, undefined, undefined],
      ['https://images.example/2.jpg', 'inf', Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, undefined],
      ['https://images.example/3.jpg', 'ok', 0.5, undefined, undefined],
    ],
  )
})

test('a hash cell holding a null marker (\\N from PostgreSQL and MySQL, R’s NA, NULL) is no hash, not a row refused', async () => {
  // `COPY t TO 'x.tsv'` (PostgreSQL's text format) and MySQL's INTO OUTFILE write \N for null; R's
  // write.csv NA. Every such row failed as invalid-hash, its image never fetched.
  const tsv = await file(
    'copy.tsv',
    `url\tsha256\nhttps://images.example/1.jpg\t\\N\nhttps://images.example/2.jpg\tNA\nhttps://images.example/3.jpg\tNULL\nhttps://images.example/4.jpg\t${SHA}\n`,
  )
  const jobs = await readAll([tsv], { hashCol: 'sha256' })
  assert.deepEqual(
    jobs.map((j) => [j.invalid, j.expectedHash?.value]),
    [
      [undefined, undefined],
      [undefined, undefined],
      [undefined, undefined],
      [undefined, SHA.toLowerCase()],
    ],
  )
})

test('a \\N cell (PostgreSQL COPY, MySQL INTO OUTFILE, Hive) is null: no caption text "\\N", null carried', async () => {
  const tsv = await file(
    'nulls.tsv',
    'url\tcaption\tlicense\nhttps://images.example/1.jpg\t\\N\t\\N\nhttps://images.example/2.jpg\ta \\N b\tcc0\nhttps://images.example/3.jpg\t\\\\N\t\n',
  )
  const jobs = await readAll([tsv], { captionCol: 'caption' })
  assert.deepEqual(
    jobs.map((j) => [j.caption, j.meta.caption, j.meta.license]),
    [
      ['', null, null],
      ['a \\N b', 'a \\N b', 'cc0'],
      ['\\\\N', '\\\\N', ''], // text \N as PostgreSQL escapes it: kept as written
    ],
  )
})

test('a CSV file whose lines are each wrapped in quotes whole is told so, not told to be named .csv', async () => {
  // Each line one quoted field ("url,caption", as a script that quoted whole lines writes it): read
  // as RFC 4180 reads it, its header is one column, and the message said "the file looks
  // comma-separated (name it .csv, or give --input-format csv)" of a file named .csv.
  const hint = (sep: string) =>
    `: its header is one quoted field holding its separator (${sep}), so each of its lines is wrapped in quotes whole, each row one cell (as a spreadsheet or a script that quoted whole lines writes it): remove those quotes, e.g. sed 's/^"\\(.*\\)"$/\\1/; s/""/"/g' in.csv > out.csv`
  for (const sep of [',', ';']) {
    const path = await file(
      `wrapped${sep === ',' ? '' : '-semicolon'}.csv`,
      `"url${sep}caption"\r\n"https://images.example/1.jpg${sep}say ""hi"""\r\n`,
    )
    await assert.rejects(readAll([path]), {
      name: 'UsageError',
      message: `${path} has no column "url" (the URL column); its columns: "url${sep}caption"${hint(sep)}`,
    })
  }
})

test('a TSV file in PostgreSQL COPY text format has its escapes read: \\n a line break, \\t a tab, \\\\ a backslash; a TSV whose backslashes are text reads as written', async () => {
  // PostgreSQL's COPY ... TO (text format) escapes a caption's line breaks, tabs and backslashes
  // (\n, \t, \\) beside its \N for null (apache/commons-csv#265 shows such a file). Read as
  // gmr/pgdumplib#7 read it, \N was null but the caption's "\n" and "\\" were kept as written.
  // A backslash COPY never writes (C:\dir, a regex's \d) shows the file is not COPY's: every cell as written.
  const cases: [string, string, string, string][] = [
    ['copy.tsv', 'line one\\nline two\\ttab\tC:\\\\dir\\\\new', 'line one\nline two\ttab', '\\N'],
    ['plain.tsv', 'line one\\nline two\tC:\\dir\\new', 'line one\\nline two', '\\\\N'],
  ]
  for (const [name, cells, caption, text] of cases) {
    const rows = `https://images.example/1.jpg\t${cells}\nhttps://images.example/2.jpg\t\\N\t\\\\N\n`
    const path = await file(name, `url\tcaption\tpath\n${rows}`)
    assert.deepEqual(
      (await readAll([path], { captionCol: 'caption' })).map((j) => [j.caption, j.meta.path]),
      [
        [caption, 'C:\\dir\\new'],
        ['', text],
      ],
    )
  }
})

test('CSV: Spark\'s \\" inside quoted fields is a quote, its captions read to the right cells; RFC 4180 files read as before', async () => {
  // Spark's CSV writer (its default escape), Hive and MySQL's INTO OUTFILE write a quote in a quoted
  // field as \" (databricks/spark-csv#466): the caption kept its quotes and backslashes, and a row
  // whose quoted caption held a comma too was an invalid-row, its image never fetched.
  const spark = await file(
    'spark.csv',
    'id,caption,url\r\n' +
      '1,"say \\"hi\\" now",https://images.example/1.jpg\r\n' +
      '2,"\\"quoted\\", with a comma",https://images.example/2.jpg\r\n' +
      '3,"two\r\nlines, \\"and\\" more",https://images.example/3.jpg\r\n' +
      '4,"¯\\_(ツ)_/¯, C:\\dir",https://images.example/4.jpg\r\n' +
      '5,"ends in a quote \\"",https://images.example/5.jpg\r\n' +
      '6,plain,https://images.example/6.jpg\r\n' +
      '7,"",https://images.example/7.jpg\r\n',
  )
  const jobs = await readAll([spark], { captionCol: 'caption' })
  assert.deepEqual(
    jobs.map((j) => [j.url, j.caption, j.meta?.id, j.invalid]),
    [
      ['https://images.example/1.jpg', 'say "hi" now', '1', undefined],
      ['https://images.example/2.jpg', '"quoted", with a comma', '2', undefined],
      ['https://images.example/3.jpg', 'two\r\nlines, "and" more', '3', undefined],
      ['https://images.example/4.jpg', '¯\\_(ツ)_/¯, C:\\dir', '4', undefined],
      ['https://images.example/5.jpg', 'ends in a quote "', '5', undefined],
      ['https://images.example/6.jpg', 'plain', '6', undefined],
      ['https://images.example/7.jpg', '', '7', undefined],
    ],
  )
  // pandas with escapechar='\\' and doublequote=False, ;-separated (a decimal comma's locale), with
  // its backslashes doubled.
  const pandas = await file(
    'pandas-escape.csv',
    'url;caption\nhttps://images.example/a.jpg;"a \\"b\\"; c \\\\"\nhttps://images.example/b.jpg;"x\ny"\n',
  )
  assert.deepEqual(
    (await readAll([pandas], { captionCol: 'caption' })).map((j) => [j.url, j.caption]),
    [
      ['https://images.example/a.jpg', 'a "b"; c \\'],
      ['https://images.example/b.jpg', 'x\ny'],
    ],
  )
  // Valid RFC 4180 files read as they did: a cell ending in a backslash, JSON, a quoted quote, an
  // empty quoted cell, a backslash before a doubled quote.
  const rfc = await file(
    'rfc-backslashes.csv',
    'url,caption,note\n' +
      'https://images.example/a.jpg,"C:\\dir\\",next\n' +
      'https://images.example/b.jpg,"{""a"":1}",""\n' +
      'https://images.example/c.jpg,"""x""","a\\""b"\n',
  )
  assert.deepEqual(
    (await readAll([rfc], { captionCol: 'caption' })).map((j) => [j.url, j.caption, j.meta?.note]),
    [
      ['https://images.example/a.jpg', 'C:\\dir\\', 'next'],
      ['https://images.example/b.jpg', '{"a":1}', ''],
      ['https://images.example/c.jpg', '"x"', 'a\\"b'],
    ],
  )
})

/**
 * A CSV `url,caption` of 25,000 plain rows (past the first MiB, where a file's escape is decided),
 * then `tail`, from line 25002.
 */
function pastFirstMiB(name: string, tail: string): Promise<string> {
  const plain = Array.from(
    { length: 25000 },
    (_, i) => `https://images.example/${i}.jpg,caption number ${i} of many`,
  )
  return file(name, `url,caption\n${plain.join('\n')}\n${tail}`)
}

test('CSV: a Spark \\" past the first MiB, read as RFC 4180, is an invalid-row that says so', async () => {
  const csv = await pastFirstMiB('spark-late.csv', 'https://images.example/late.jpg,"say \\"hi\\", now"\n')
  const jobs = await readAll([csv], { captionCol: 'caption' })
  assert.equal(jobs.length, 25001)
  assert.match(
    jobs[25000].invalid!.message,
    /spark-late\.csv line 25002: 3 fields where the header has 2: a field holds \\", Spark's escape for a quote, but the file's first 1 MiB show none, so it is read as RFC 4180$/,
  )
})

test('CSV: a Spark \\" past the first MiB that runs a quoted field over lines stops the reading naming that escape, not a stray quote', async () => {
  // `"A 12\""` read as RFC 4180 is `A 12\"` and the field goes on over the next line, to a quote
  // inside its next field: the stop said to double the quote or remove it, a stray quote, where
  // the file is Spark's and every quote in it is written as Spark writes it.
  const csv = await pastFirstMiB(
    'spark-late-lines.csv',
    'https://images.example/late.jpg,"A 12\\""\nhttps://images.example/next.jpg,"next"\n',
  )
  const { jobs, error } = await readUntilError([csv], { captionCol: 'caption' })
  assert.equal(jobs.length, 25000, 'the rows before it are read')
  assert.ok(error instanceof UsageError, String(error))
  assert.match(
    error.message,
    /spark-late-lines\.csv line 25002: a quote opens field 2 and closes on line 25003 inside the field, not at its end, which would read lines 25002 to 25003 as one record: the record holds \\", Spark's escape for a quote, but the file's first 1 MiB show none, so it is read as RFC 4180; write the file with "" for a quote inside a field, as RFC 4180 does \(Spark: \.option\("escape", "\\""\)\)$/,
  )
})

test('CSV and TSV: spaces or tabs after a closing quote are dropped, the quotes undone, as DuckDB reads them', async () => {
  const csv = await file(
    'spaced-close.csv',
    '"url" ,"caption" ,id\r\n' +
      '"https://images.example/1.jpg" ,"say ""hi""" ,1\r\n' +
      '"https://images.example/2.jpg"\t,"two\r\nlines"  ,2\r\n' +
      'https://images.example/3.jpg,"a, b" ,"3" \r\n' +
      'https://images.example/4.jpg,"x" y,4\r\n',
  )
  const jobs = await readAll([csv], { captionCol: 'caption' })
  assert.deepEqual(
    jobs.map((job) => [job.url, job.caption, job.meta.id, job.invalid?.code]),
    [
      ['https://images.example/1.jpg', 'say "hi"', '1', undefined],
      ['https://images.example/2.jpg', 'two\r\nlines', '2', undefined],
      ['https://images.example/3.jpg', 'a, b', '3', undefined],
      // Text after the closing quote that is not space: read as before, as written.
      ['https://images.example/4.jpg', '"x" y', '4', undefined],
    ],
  )
  const tabs = await file(
    'spaced-close.tsv',
    'url\tcaption\n"https://images.example/1.jpg" \t"say ""hi""" \n',
  )
  assert.deepEqual(
    (await readAll([tabs], { captionCol: 'caption' })).map((job) => [job.url, job.caption]),
    [['https://images.example/1.jpg', 'say "hi"']],
  )
  const semicolons = await file(
    'spaced-close-semicolon.csv',
    'url;caption\n"https://images.example/1.jpg" ;"a; b" \n',
  )
  assert.deepEqual(
    (await readAll([semicolons], { captionCol: 'caption' })).map((job) => [job.url, job.caption]),
    [['https://images.example/1.jpg', 'a; b']],
  )
})

test('CSV: a file written with \\" whose quoted fields are followed by spaces is still read with \\" (its first MiB decides)', async () => {
  const spark = await file(
    'spaced-close-backslash.csv',
    'url,caption\nhttps://images.example/1.jpg,"say \\"hi\\", now" \nhttps://images.example/2.jpg,"\\"q\\"" \n',
  )
  assert.deepEqual(
    (await readAll([spark], { captionCol: 'caption' })).map((job) => [job.caption, job.invalid?.code]),
    [
      ['say "hi", now', undefined],
      ['"q"', undefined],
    ],
  )
})

test('a header name holding a byte order mark (a CSV saved with its mark twice, JSON lines from csv.DictReader) is named so', async () => {
  const twice = await file('bom-twice.csv', '\ufeff\ufeffurl,caption\nhttps://images.example/1.jpg,x\n')
  const dictReader = await file(
    'bom-key.jsonl',
    '{"\\ufeffurl": "https://images.example/1.jpg", "caption": "x"}\n',
  )
  for (const path of [twice, dictReader]) {
    const { error } = await readUntilError([path])
    assert.ok(error instanceof UsageError)
    assert.match(
      error.message,
      /has no column "url" \(the URL column\); .*: did you mean --url-col \$'\\ufeffurl'\? \(the name holds a byte order mark, U\+FEFF: /,
    )
  }
  // Given so, the column is read.
  const jobs = await readAll([dictReader], { urlCol: '\ufeffurl' })
  assert.deepEqual(
    jobs.map((job) => job.url),
    ['https://images.example/1.jpg'],
  )
})

test("a ;-separated CSV whose header holds a comma too is told to start with Excel's sep=; line, which reads it", async () => {
  const rows = 'url;caption, short\nhttps://images.example/1.jpg;3,5 cm, red\n'
  const { error } = await readUntilError([await file('semicolon-comma.csv', rows)])
  assert.ok(error instanceof UsageError)
  assert.match(
    error.message,
    /its columns: "url;caption", " short": the file looks ;-separated, its header holding a comma too, so it was read as ,-separated: start it with the line sep=; \(as Excel reads it\) to read it so$/,
  )
  const jobs = await readAll([await file('semicolon-comma-sep.csv', `sep=;\n${rows}`)], {
    captionCol: 'caption, short',
  })
  assert.deepEqual(
    jobs.map((job) => [job.url, job.caption]),
    [['https://images.example/1.jpg', '3,5 cm, red']],
  )
})

test('a CSV or TSV table whose first line is a # comment is refused saying so, not asked for --url-col', async () => {
  for (const [name, text] of [
    ['comment.csv', '# exported 2024-05-01\nurl,caption\nhttps://images.example/1.jpg,x\n'],
    ['comment-commas.csv', '## photos, v2\nurl,caption\nhttps://images.example/1.jpg,x\n'],
    ['comment.tsv', '# exported\nurl\tcaption\nhttps://images.example/1.jpg\tx\n'],
  ]) {
    const { error } = await readUntilError([await file(name, text)])
    assert.ok(error instanceof UsageError, name)
    assert.match(
      error.message,
      /: its first line is a comment \(#…\), which a CSV or TSV table does not hold: remove the comment lines first, e\.g\. grep -v '\^#' in\.csv > out\.csv$/,
      name,
    )
  }
})

test('a URL cell that is a Windows file path is said to be one, not a URL of scheme "c"', async () => {
  const csv = await file(
    'windows-paths.csv',
    'url\nC:\\img\\a.jpg\nd:/photos/b.jpg\nhttps://images.example/c.jpg\n',
  )
  const jobs = await readAll([csv])
  assert.deepEqual(
    jobs.map((job) => job.invalid?.message),
    [
      `${csv} line 2: invalid URL "C:\\img\\a.jpg": a Windows file path, not a URL: only http and https are fetched`,
      `${csv} line 3: invalid URL "d:/photos/b.jpg": a Windows file path, not a URL: only http and https are fetched`,
      undefined,
    ],
  )
})

test('a text table zero-filled from a cut to its end (a download preallocated, lingochamp/FileDownloader#543) stops the run naming the line, after the whole rows before it', async () => {
  // aria2's --file-allocation and FileDownloader fill a file with zeros to its length first: cut,
  // its tail stays zeros. The row the zeros cut was fetched (the URL parser drops a URL's trailing
  // NULs) with its caption lost or thousands of NULs, and zeros after a line end were a row
  // `the URL cell is empty`; a small file's zeros read as UTF-16, "its first line holds binary data".
  const rows = (n: number) =>
    Array.from({ length: n }, (_, i) => `https://a.example/${i}.jpg,caption ${i}\n`).join('')
  const zeros = '\0'.repeat(8192)
  for (const [name, text, read] of [
    ['cut-row.csv', `url,caption\n${rows(300)}https://a.example/x.jpg,capt${zeros}`, 300],
    ['cut-url.csv', `url,caption\n${rows(300)}https://a.example/x.jpg${zeros}`, 300],
    ['cut-line.csv', `url,caption\n${rows(300)}${zeros}`, 300],
    ['small.csv', `url,caption\n${rows(1)}https://a.example/x.jpg${zeros}`, 1],
    ['small.csv.gz', gzipSync(`url,caption\n${rows(1)}https://a.example/x.jpg${zeros}`), 1],
  ] as const) {
    const path = await file(name, text)
    const { jobs, error } = await readUntilError([path], { captionCol: 'caption' })
    assert.deepEqual(
      jobs.map((job) => [job.url, job.caption]),
      Array.from({ length: read }, (_, i) => [`https://a.example/${i}.jpg`, `caption ${i}`]),
      name,
    )
    assert.ok(error instanceof UsageError)
    assert.equal(
      error.message,
      `${path} is zero-filled from line ${read + 2} to its end (8,192 zero bytes, where its rows belong): a download or copy cut short, its space allocated first; fetch or copy it again`,
    )
  }
  const jsonl = await file('cut.jsonl', `{"url":"https://a.example/0.jpg"}\n{"url":"https://a.ex${zeros}`)
  await assert.rejects(readAll([jsonl]), {
    message: `${jsonl} is zero-filled from line 2 to its end (8,192 zero bytes, where its rows belong): a download or copy cut short, its space allocated first; fetch or copy it again`,
  })
  // A NUL inside a caption, text after it, is the caption's, as pandas keeps it.
  const inside = await file(
    'nul-caption.csv',
    'url,caption\nhttps://a.example/1.jpg,one\0\0\nhttps://a.example/2.jpg,two\n',
  )
  assert.deepEqual(
    (await readAll([inside], { captionCol: 'caption' })).map((job) => job.caption),
    ['one\0\0', 'two'],
  )
})

test('a URL cell holding a missing value written as text (nan, None, NULL, NA) fails its row saying so, not "not a URL"', async () => {
  // pandas writes a NaN cast to str as `nan` (m-bain/webvid#2: NaN cells in a dataset's CSV).
  const csv = await file(
    'nan-urls.csv',
    'url,caption\nnan,a\nhttps://a.example/1.jpg,b\nNone,c\nNA,d\nnand,e\n',
  )
  const jobs = await readAll([csv], { captionCol: 'caption' })
  const missing =
    "a missing value written as text (pandas' nan for a NaN cast to str, Python's None, SQL's NULL, R's NA): the row has no URL"
  assert.deepEqual(
    jobs.map((job) => [job.caption, job.invalid?.message]),
    [
      ['a', `${csv} line 2: invalid URL "nan": ${missing}`],
      ['b', undefined],
      ['c', `${csv} line 4: invalid URL "None": ${missing}`],
      ['d', `${csv} line 5: invalid URL "NA": ${missing}`],
      ['e', `${csv} line 6: invalid URL "nand": not a URL`],
    ],
  )
})

test('CSV and TSV: a line of spaces or tabs alone is blank, skipped as pandas skips it; one with a separator or quotes is a record', async () => {
  // pandas-dev/pandas#10728, JoshClose/CsvHelper#1604: an editor's indented last line. Each was a
  // row failing as "the URL cell is empty".
  const rows = async (name: string, text: string) =>
    (await readAll([await file(name, text)])).map(
      (job) => `${job.row} ${job.url} ${job.invalid?.message ?? 'ok'}`,
    )
  const csv = 'url,caption\nhttps://a.example/1.jpg,a\n   \n\t\r\nhttps://a.example/2.jpg,b\n" ",c\n  \n'
  assert.deepEqual(await rows('blank-lines.csv', csv), [
    '0 https://a.example/1.jpg ok',
    '1 https://a.example/2.jpg ok',
    `2  ${dir}/blank-lines.csv line 6: invalid URL "": the URL cell is empty`,
  ])
  const tsv = 'url\tcaption\nhttps://a.example/1.jpg\ta\n   \nhttps://a.example/2.jpg\tb\n'
  assert.deepEqual(await rows('blank-lines.tsv', tsv), [
    '0 https://a.example/1.jpg ok',
    '1 https://a.example/2.jpg ok',
  ])
})

test('CSV, TSV and JSON lines: a DOS end-of-file mark (Ctrl-Z) on a line of its own is no row', async () => {
  // Rdatatable/data.table#1612: files written on DOS and Windows end with ^Z (0x1A), as OFAC's
  // sdn.csv does. Read as a row, it was one failing as `invalid URL "\x1a": not a URL`, or, in
  // JSON lines, as V8's `Unexpected token`.
  const rows = async (name: string, text: string) =>
    (await readAll([await file(name, text)])).map((job) => `${job.url} ${job.invalid?.message ?? 'ok'}`)
  const ok = ['https://a.example/1.jpg ok', 'https://a.example/2.jpg ok']
  assert.deepEqual(
    await rows('dos.csv', 'url,caption\r\nhttps://a.example/1.jpg,a\r\nhttps://a.example/2.jpg,b\r\n\x1a'),
    ok,
  )
  assert.deepEqual(
    await rows(
      'dos.tsv',
      'url\tcaption\r\nhttps://a.example/1.jpg\ta\r\nhttps://a.example/2.jpg\tb\r\n\x1a\r\n',
    ),
    ok,
  )
  assert.deepEqual(
    await rows('dos.jsonl', '{"url":"https://a.example/1.jpg"}\r\n{"url":"https://a.example/2.jpg"}\r\n\x1a'),
    ok,
  )
})

test('CSV: a URL in the last column holding commas unquoted is read whole; where another column follows it, the row stays invalid', async () => {
  // rom1504/img2dataset#196: Baidu's `u=1798831392,1750834138` written unquoted, "Expected 1
  // columns, got 2"; Cloudinary's `w_300,h_200`. Each was "3 fields where the header has 2".
  const cloudinary = 'https://res.cloudinary.com/demo/image/upload/w_300,h_200,c_crop/sample.jpg'
  const baidu = 'https://img1.baidu.com/it/u=1798831392,1750834138&fm=15'
  const last = await file(
    'url-last.csv',
    `caption,url\na fox,${cloudinary}\n"b, c",${baidu}\nd,https://a.example/1.jpg,\ne,f,https://a.example/2.jpg\n`,
  )
  assert.deepEqual(
    (await readAll([last], { captionCol: 'caption' })).map(
      (job) => `${job.caption}|${job.url}|${job.invalid?.message ?? ''}`,
    ),
    [
      `a fox|${cloudinary}|`,
      `b, c|${baidu}|`,
      'd|https://a.example/1.jpg|', // a separator ending the record: no cell
      `undefined||${last} line 5: 3 fields where the header has 2`, // "f,https://…" is no URL
    ],
  )
  const only = await file('url-only.csv', `url\n${baidu}\n`)
  assert.deepEqual(
    (await readAll([only])).map((job) => job.url),
    [baidu],
  )
  const semicolons = await file('url-semi.csv', `caption;url\nx;https://a.example/a;b.jpg\n`)
  assert.deepEqual(
    (await readAll([semicolons])).map((job) => job.url),
    ['https://a.example/a;b.jpg'],
  )
  // The URL column first: which field the comma split is unknown.
  const first = await file('url-first.csv', `url,caption\n${baidu},a fox\n`)
  assert.equal(
    (await readAll([first]))[0].invalid?.message,
    `${first} line 2: 3 fields where the header has 2`,
  )
})

test('CSV and TSV: the header again with its columns in another order (files joined with cat) stops the run there, after the rows before it', async () => {
  // `cat a.csv b.csv` where b's columns come in another order: read on, each row under it had its
  // cells under other columns' names, each thumbnail fetched and kept as the image.
  const rows = [
    'url,thumb',
    'https://a.example/1.jpg,https://a.example/1t.jpg',
    'thumb , url',
    '2t.jpg,2.jpg',
  ]
  const path = await file('reordered.csv', `${rows.join('\n')}\n`)
  const { jobs, error } = await readUntilError([path])
  assert.equal(jobs.map((job) => job.url).join(' '), 'https://a.example/1.jpg')
  assert.equal(
    (error as Error).message,
    `${path} line 3 is its header again with the columns in another order ("thumb ", " url"): files joined with cat whose columns differ in order, the rows under it each cell under another column's name; give the files apart, each with its header, or join them with the columns in one order`,
  )
  // In its own order it is a row failing as the header line again; a row of other names is a row.
  const same = await file('same-order.tsv', 'url\tthumb\nurl\tthumb\nhttps://a.example/1.jpg\tx\n')
  assert.deepEqual(
    (await readAll([same])).map((job) => job.invalid?.code ?? 'ok'),
    ['invalid-url', 'ok'],
  )
})
