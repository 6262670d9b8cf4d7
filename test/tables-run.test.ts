import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { constants, gunzipSync, gzipSync } from 'node:zlib'
import { parquetWriteBuffer } from 'hyparquet-writer'
import { pull, type Result } from '../src/index.js'
import { openTables, tablesSource } from '../src/sources/tables/index.js'
import { cleanup, inPool, outputFiles, runCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { duckdbRun, hyparquetRows, readTar } from './support/shards.js'

// Tables as input, through a whole run: rows keep their place, hashes are checked, columns carried.

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

const digest = (type: 'sha256' | 'md5', path: string) =>
  createHash(type).update(server.bytes(path)).digest('hex')
const manifest = async (out: string) =>
  (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))

test('a CSV: every row gets its outcome, bad cells fail in place, hashes are checked, columns carried', async () => {
  const rows = [
    ['url', 'caption', 'license', 'sha256'],
    [server.url('/t-0'), 'a lake', 'cc0', digest('sha256', '/t-0')],
    ['', 'no url', 'cc0', ''],
    ['not a url', 'bad url', 'cc0', ''],
    [server.url('/t-3'), 'wrong hash', 'cc0', '0'.repeat(64)],
    [server.url('/t-0'), 'the first URL again', 'cc-by', ''],
    [server.url('/t-5'), 'a fox', 'cc-by', 'zz'],
  ]
  const csv = join(dir, 'photos.csv')
  await writeFile(csv, `${rows.map((r) => r.map((c) => `"${c}"`).join(',')).join('\n')}\n`)
  const out = join(dir, 'csv')
  const r = await runCli([csv, '-o', out, '--caption-col', 'caption', '--hash-col', 'sha256', '--json'])
  assert.equal(r.code, 1, r.stderr)
  const byRow = new Map((await manifest(out)).map((l) => [l.meta.caption, l]))
  assert.equal(byRow.size, 6, 'one line per row, the duplicate URL included')
  assert.equal(byRow.get('a lake').status, 'ok')
  assert.equal(byRow.get('a lake').meta.license, 'cc0')
  assert.equal(byRow.get('no url').error, 'invalid-url')
  assert.equal(byRow.get('bad url').error, 'invalid-url')
  assert.equal(byRow.get('wrong hash').error, 'hash-mismatch')
  assert.equal(
    byRow.get('the first URL again').status,
    'ok',
    'a row is a sample: the same URL twice is two jobs',
  )
  assert.equal(byRow.get('a fox').error, 'invalid-hash')
  assert.match(byRow.get('a fox').message, /photos\.csv line 7/)
  const files = await outputFiles(out)
  assert.equal(files.length, 2, `files: ${files}`)
  assert.ok(!files.some((f) => f.startsWith('t-3')), 'a body whose hash differs is not kept')
})

test('md5 hashes, and a Parquet table read by row groups through the library', async () => {
  const paths = Array.from({ length: 25 }, (_, i) => `/pq-${i}`)
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: 'url', data: paths.map((p) => server.url(p)), type: 'STRING' },
      {
        name: 'md5',
        data: paths.map((p, i) => (i === 7 ? 'f'.repeat(32) : digest('md5', p))),
        type: 'STRING',
      },
      { name: 'id', data: paths.map((_, i) => BigInt(1000 + i)), type: 'INT64' },
    ],
    rowGroupSize: 10,
  })
  const file = join(dir, 'photos.parquet')
  await writeFile(file, new Uint8Array(buffer))
  const tables = await openTables([file], { hashCol: 'md5', hashType: 'md5' })
  const results: Result[] = []
  for await (const r of pull(tablesSource(tables), { out: join(dir, 'parquet'), name: '{id}{ext}' }))
    results.push(r)
  assert.equal(results.length, 25)
  const failed = results.filter((r) => r.status === 'failed')
  assert.deepEqual(
    failed.map((r) => [r.job.row, r.error]),
    [[7, 'hash-mismatch']],
  )
  assert.equal((await outputFiles(join(dir, 'parquet'))).length, 24)
  assert.ok(
    (await outputFiles(join(dir, 'parquet'))).includes('1000.jpg'),
    'a column fills the name template',
  )
})

test('a rerun after the table was edited but for its URLs: the manifest carries the row as the table has it now', async () => {
  const csv = join(dir, 'edited.csv')
  const table = (tag: string) =>
    `url,caption,license\n${server.url('/e-0')},a lake ${tag},cc0-${tag}\n${server.url('/e-1?status=404')},gone ${tag},cc0-${tag}\n`
  await writeFile(csv, table('before'))
  const out = join(dir, 'edited')
  assert.equal((await runCli([csv, '-o', out, '--caption-col', 'caption'])).code, 1)
  await writeFile(csv, table('after'))
  const requests = server.stats.requests
  const rerun = await runCli([csv, '-o', out, '--caption-col', 'caption', '--json'])
  assert.equal(rerun.code, 1, rerun.stderr)
  assert.equal(server.stats.requests, requests, 'nothing is fetched again')
  const lines = await manifest(out)
  // The journal kept the first run's cells: the manifest said 'before' where the run said 'after'.
  assert.deepEqual(
    lines.map((l) => [l.status, l.meta]),
    [
      ['ok', { caption: 'a lake after', license: 'cc0-after' }],
      ['failed', { caption: 'gone after', license: 'cc0-after' }],
    ],
  )
})

test('--caption-col with files output: every manifest line and --json line says its caption, whatever --columns carries, in memory too', async () => {
  // The README's laion example, `--caption-col TEXT --columns WIDTH,HEIGHT,similarity`, kept the
  // caption nowhere with files output: TEXT was not carried, and a file has no KEY.txt.
  const csv = join(dir, 'laion-captions.csv')
  const table = (tag: string) =>
    `URL,TEXT,WIDTH,HEIGHT,similarity\n${server.url('/cap-0')},a lake ${tag},640,480,0.31\n${server.url('/cap-1?status=404')},gone ${tag},10,10,0.2\n${server.url('/cap-2')},,8,8,0.3\n`
  await writeFile(csv, table('before'))
  const args = ['--url-col', 'URL', '--caption-col', 'TEXT', '--columns', 'WIDTH,HEIGHT,similarity']
  const captions = (lines: { status: string; caption?: unknown; meta: unknown }[]) =>
    lines.map((l) => [l.status, l.caption, l.meta])
  const meta = (w: string, h: string, s: string) => ({ WIDTH: w, HEIGHT: h, similarity: s })
  for (const journal of [[], ['--no-journal']]) {
    const out = join(dir, `laion-captions${journal.length}`)
    const run = await runCli([csv, '-o', out, ...args, ...journal, '--json'])
    assert.equal(run.code, 1, run.stderr)
    const expected = (tag: string) => [
      ['ok', `a lake ${tag}`, meta('640', '480', '0.31')],
      ['failed', `gone ${tag}`, meta('10', '10', '0.2')],
      // An empty cell is no caption: null, as the shards' Parquet says it.
      ['ok', null, meta('8', '8', '0.3')],
    ]
    assert.deepEqual(captions(await manifest(out)), expected('before'))
    const json = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((l) => !l.summary)
      .sort((a, b) => a.url.localeCompare(b.url))
    assert.deepEqual(captions(json), expected('before'), 'the --json lines say what the manifest says')
    if (journal.length) continue
    // A rerun reads the captions as the table has them now, as it does the carried columns.
    await writeFile(csv, table('after'))
    assert.equal((await runCli([csv, '-o', out, ...args])).code, 1)
    assert.deepEqual(captions(await manifest(out)), expected('after'))
    await writeFile(csv, table('before'))
  }
  // Without --caption-col, a line has no caption field at all (a list's, a table's).
  const plain = join(dir, 'laion-no-caption')
  assert.equal((await runCli([csv, '-o', plain, '--url-col', 'URL'])).code, 1)
  assert.ok((await manifest(plain)).every((l) => !('caption' in l)))
})

test('a table and a URL list in one run is a usage error; so is a missing column', async () => {
  const csv = join(dir, 'mixed.csv')
  await writeFile(csv, `url\n${server.url('/m-0')}\n`)
  const list = join(dir, 'mixed.txt')
  await writeFile(list, `${server.url('/m-1')}\n`)
  const mixed = await runCli([csv, list, '-o', join(dir, 'mixed')])
  assert.equal(mixed.code, 2)
  assert.match(mixed.stderr, /cannot mix tables and URL lists/)
  const missing = await runCli([csv, '--url-col', 'URL', '-o', join(dir, 'missing')])
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /mixed\.csv has no column "URL".*its columns: "url"/)
})

test('a zstd-compressed table (photos.csv.zst) is refused as a table, not read as a URL list to pipe into imgpull -', async () => {
  // `url\nhttps://images.example/a.jpg\n` as zstd 1.5 packs it (pandas' to_csv('photos.csv.zst')).
  const frame = Buffer.from(
    '28b52ffd202109010075726c0a68747470733a2f2f696d616765732e6578616d706c652f612e6a70670a',
    'hex',
  )
  const zst = join(dir, 'photos.csv.zst')
  await writeFile(zst, frame)
  const out = join(dir, 'zst-out')
  const run = await runCli([zst, '-o', out])
  assert.equal(run.code, 2, run.stderr)
  assert.match(
    run.stderr,
    /photos\.csv\.zst is a zstd-compressed CSV table: tables are read plain or gzip-compressed \(\.gz\); unpack it first: zstd -dc .*photos\.csv\.zst > .*photos\.csv/,
  )
})

// Excel's "Unicode Text" save (UTF-16LE, its byte order mark, CRLF, tabs), which it names .txt:
// refused before, pointing at an iconv that Windows does not have.
test('a table saved by Excel as "Unicode Text" is fetched with its captions; named .txt, it is told to be a TSV table', async () => {
  const text = `url\tcaption\r\n${server.url('/x16-0')}\tcafé 😀\r\n${server.url('/x16-1')}\t雪の朝\r\n`
  const bytes = Buffer.from(`\ufeff${text}`, 'utf16le')
  const tsv = join(dir, 'excel.tsv')
  await writeFile(tsv, bytes)
  const gz = join(dir, 'excel-be.tsv.gz')
  await writeFile(gz, gzipSync(Buffer.from(text, 'utf16le').swap16()))
  for (const input of [tsv, gz]) {
    const out = join(dir, `utf16-${input.endsWith('.gz') ? 'gz' : 'tsv'}`)
    const run = await runCli([input, '-o', out, '--caption-col', 'caption'])
    assert.equal(run.code, 0, run.stderr)
    assert.deepEqual(
      (await manifest(out)).map((line) => [line.status, line.meta.caption]),
      [
        ['ok', 'café 😀'],
        ['ok', '雪の朝'],
      ],
      input,
    )
  }
  const txt = join(dir, 'excel.txt')
  await writeFile(txt, bytes)
  const asList = await runCli([txt, '-o', join(dir, 'utf16-txt')])
  assert.equal(asList.code, 2, asList.stderr)
  assert.match(
    asList.stderr,
    /excel\.txt' is a TSV table \(its first line names the columns url, caption\), not a list of URLs: a table is read from a file named \.tsv \(or of any name, with --input-format tsv\)/,
  )
  const asTable = await runCli([txt, '-o', join(dir, 'utf16-txt'), '--input-format', 'tsv'])
  assert.equal(asTable.code, 0, asTable.stderr)
  assert.equal((await manifest(join(dir, 'utf16-txt'))).length, 2)
})

test('input that cannot be read past: the rows before it are fetched, then one line naming file and line (exit 2)', async () => {
  const csv = join(dir, 'unclosed.csv')
  await writeFile(
    csv,
    `url\n${server.url('/uc-0')}\n${server.url('/uc-1')}\n"${server.url('/uc-2')}\n${server.url('/uc-3')}\n`,
  )
  const out = join(dir, 'unclosed')
  const r = await runCli([csv, '-o', out])
  assert.equal(r.code, 2, r.stderr)
  assert.match(r.stderr, /^imgpull: .*unclosed\.csv line 4: a quote opened in this record is never closed/)
  assert.deepEqual(await outputFiles(out), ['uc-0.jpg', 'uc-1.jpg'])
  const lines = (await readFile(join(out, 'manifest.jsonl'), 'utf8')).trim().split('\n')
  assert.deepEqual(
    lines.map((l) => JSON.parse(l).status),
    ['ok', 'ok'],
  )
})

/** A run into WebDataset shards of 100 samples, each with its caption. */
const CAPTIONED_SHARDS = ['--caption-col', 'caption', '--output-format', 'webdataset', '--shard-size', '100']

/** `count` rows of `/NAME-k` URLs (k below `images`) with captions that do not compress away, as CSV and JSON lines text. */
function captionTables(count: number, images: number, name: string) {
  const letters = (i: number) => createHash('sha256').update(String(i)).digest('hex')
  const rows = Array.from({ length: count }, (_, i) => ({
    url: server.url(`/${name}-${i % images}`),
    caption: `${i} ${letters(i)}`,
  }))
  const texts = {
    csv: `url,caption\n${rows.map((r) => `${r.url},${r.caption}`).join('\n')}\n`,
    jsonl: `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`,
  }
  return { rows, texts, letters }
}

test('a truncated .csv.gz or .jsonl.gz: every whole line gunzip decodes is a row, as zcat prints them, then one line naming the last', async () => {
  // Node's gunzip stream, destroyed by its "unexpected end of file", dropped the text it had decoded
  // but not yet given, up to its buffer: the rows of those lines were never fetched, and the message
  // named a line before them (zcat prints them, and they are whole).
  // Captions that do not compress away: the cut lands in the middle of the text.
  const { rows, texts } = captionTables(2500, 20, 'gz')
  for (const [format, text] of Object.entries(texts)) {
    const whole = gzipSync(text)
    // Past the first 1,000 lines, which a JSON lines file's columns are read from before the run.
    const cut = whole.subarray(0, Math.floor(whole.length * 0.6))
    const path = join(dir, `cut.${format}.gz`)
    await writeFile(path, cut)
    // What zcat prints of it: the lines before the one the cut ends in are whole.
    const decoded = gunzipSync(cut, { finishFlush: constants.Z_SYNC_FLUSH }).toString()
    const wholeLines = decoded.slice(0, decoded.lastIndexOf('\n')).split('\n').length
    const out = join(dir, `cut-${format}`)
    // Shards read the table as their rows are fetched (a files run reads ahead of them).
    const r = await runCli([path, '-o', out, ...CAPTIONED_SHARDS])
    assert.equal(r.code, 2, r.stderr)
    assert.match(
      r.stderr,
      new RegExp(
        `^imgpull: cannot read .*cut\\.${format}\\.gz after line ${wholeLines}: gzip data is corrupt or truncated`,
      ),
    )
    const got = (await manifest(out)).map((l) => l.meta.caption)
    const expected = rows.slice(0, format === 'csv' ? wholeLines - 1 : wholeLines).map((r) => r.caption)
    assert.equal(got.length, expected.length, `${format}: every whole line a row`)
    assert.deepEqual(got.sort(), expected.sort(), format)
  }
})

test('bytes after a gzip table or list (junk appended) are ignored with a warning, as gzip -d does: every row is fetched', async () => {
  // Node's gunzip took the junk for another member, failed ("incorrect header check"), and dropped
  // the text it had decoded and not given (a small file's every row, a large one's last ~128 KB), and the
  // file was "corrupt or truncated" (nodejs/node#7502). gzip -d keeps them ("decompression OK,
  // trailing garbage ignored"), as icsharpcode/SharpZipLib#116 asks of its reader.
  const { rows, texts, letters } = captionTables(40, 7, 'junk')
  for (const [format, text] of Object.entries(texts)) {
    const gz = gzipSync(text)
    const path = join(dir, `junk.${format}.gz`)
    await writeFile(path, Buffer.concat([gz, Buffer.from('<!-- cache 42 -->\n')]))
    const out = join(dir, `junk-${format}`)
    const r = await runCli([path, '-o', out, ...CAPTIONED_SHARDS])
    assert.equal(r.code, 0, r.stderr)
    assert.match(
      r.stderr,
      new RegExp(
        `imgpull: warning: .*junk\\.${format}\\.gz: 18 bytes after its gzip data, from byte ${gz.length.toLocaleString('en-US')}, are not gzip data: ignored`,
      ),
    )
    assert.equal(r.stderr.match(/after its gzip data/g)?.length, 1, `${format}: said once`)
    assert.equal((await manifest(out)).length, rows.length, `${format}: every row`)
  }
  // A URL list, by its bytes.
  const urls = Array.from({ length: 40 }, (_, i) => `${server.url(`/junk-${i % 7}`)}?n=${i}&h=${letters(i)}`)
  const list = join(dir, 'junk-list.txt.gz')
  await writeFile(list, Buffer.concat([gzipSync(`${urls.join('\n')}\n`), Buffer.from('junk')]))
  const l = await runCli([
    list,
    '-o',
    join(dir, 'junk-list'),
    '--output-format',
    'webdataset',
    '--shard-size',
    '1000',
  ])
  assert.equal(l.code, 0, l.stderr)
  assert.match(l.stderr, /junk-list\.txt\.gz'?: 4 bytes after its gzip data/)
  assert.equal((await manifest(join(dir, 'junk-list'))).length, urls.length, 'every URL of the list')
})

test('a file saved in place of a table (a Git LFS pointer, a web page, an S3 error, an image) is named so before anything is fetched', async () => {
  // Read as the table it is named, each was an error about its columns or footer: "has no column
  // url; its columns: version https://git-lfs...", "footer != PAR1" (pyarrow: "Parquet magic bytes
  // not found in footer", huggingface/datasets#4077), pandas' "Error tokenizing data" for a page.
  const lfs = `version https://git-lfs.github.com/spec/v1\noid sha256:${'4d7a'.repeat(16)}\nsize 123456789\n`
  const page = `\n\n<!DOCTYPE html>\n<html lang="en" data-color-mode="auto">\n<a href="${server.url('/saved-0')}">x</a>\n`
  const s3 =
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>'
  const cases: [string, string | Buffer, RegExp][] = [
    [
      'lfs/part-0.parquet',
      lfs,
      /part-0\.parquet is a Git LFS pointer, not a Parquet file: the file itself \(123,456,789 bytes\) is on the LFS server.*git lfs pull/,
    ],
    ['lfs.csv', lfs, /lfs\.csv is a Git LFS pointer, not a CSV table/],
    ['lfs.jsonl', lfs, /lfs\.jsonl is a Git LFS pointer, not a JSON lines table/],
    [
      'page.csv',
      page,
      /page\.csv is an HTML page, not a CSV table: a web page was saved in place of the file \(from a GitHub or Hugging Face blob\/ link/,
    ],
    ['page.parquet', page, /page\.parquet is an HTML page, not a Parquet file/],
    // A table typed in TextEdit, saved as rich text: read as CSV, its RTF header a column.
    [
      'typed.csv',
      `{\\rtf1\\ansi\\ansicpg1252\n\\f0 url\\\n${server.url('/saved-6')}\\\n}`,
      /typed\.csv is a rich text document \(RTF, as TextEdit and WordPad save one\), not a CSV table: save it as plain text/,
    ],
    // A page saved by IE (its comment first) was read as CSV, its tags as cells.
    [
      'saved.csv',
      `<!-- saved from url=(0030)https://a.example/board -->\r\n<html><img src="${server.url('/saved-5')}">\n`,
      /saved\.csv is an HTML page, not a CSV table/,
    ],
    ['page.tsv', page, /page\.tsv is an HTML page, not a TSV table/],
    ['expired.parquet', s3, /expired\.parquet is an XML error answer \(AccessDenied\), not a Parquet file/],
    ['photo.jsonl', server.bytes('/saved-1'), /photo\.jsonl is a JPG image, not a JSON lines table/],
    [
      'rows.parquet',
      `url,caption\n${server.url('/saved-2')},x\n`,
      /rows\.parquet is a CSV table \(its first line: "url,caption"\), not a Parquet file: name it \.csv, or give --input-format csv /,
    ],
    // A caption with pdftotext's page break (a form feed) is text, as the CSV reader takes it.
    [
      'pages.parquet',
      `url,caption\n${server.url('/saved-3')},page one\fpage two\n`,
      /pages\.parquet is a CSV table \(its first line: "url,caption"\), not a Parquet file/,
    ],
    // A list of URLs: no table's kind to name.
    [
      'list.parquet',
      `${server.url('/saved-4')}\n`,
      /list\.parquet is not a readable Parquet file: it is text \(its first line: "http:.*saved-4"\); a CSV, TSV or JSON lines table is read from a file named so/,
    ],
  ]
  await mkdir(join(dir, 'saved', 'lfs'), { recursive: true })
  const before = server.stats.requests
  // Each case a process of its own, with a file and an output folder of its own: four at a time.
  await inPool([...cases.entries()], 4, async ([i, [name, content, message]]) => {
    const path = join(dir, 'saved', name)
    await writeFile(path, content)
    // A folder of them too: a dataset repository cloned without git-lfs.
    const input = name.startsWith('lfs/') ? join(dir, 'saved', 'lfs') : path
    const r = await runCli([input, '-o', join(dir, `saved-out-${i}`), '--output-format', 'webdataset'])
    assert.equal(r.code, 2, r.stderr)
    const lines = r.stderr.trim().split('\n')
    assert.equal(lines.length, 1, r.stderr)
    assert.match(lines[0], new RegExp(`^imgpull: .*${message.source}`))
    assert.ok(!existsSync(join(dir, `saved-out-${i}`)), `${name}: nothing made`)
  })
  assert.equal(server.stats.requests, before, 'nothing fetched')
})

test("a table under another table format's name (Parquet or JSON lines as .csv, CSV as .jsonl) is named as what it is, nothing fetched", async () => {
  // Before: a Parquet file as .csv "does not read as a text table: its first line holds binary
  // data (a wrong --input-format?)"; JSON lines as .csv listed `{"url":"http://…"` among its
  // columns and offered it for --url-col; CSV as .jsonl "line 1: not valid JSON (Unexpected token".
  const rows = [0, 1].map((i) => ({ url: server.url(`/other-${i}`), caption: `a, "b" ${i}` }))
  const jsonl = `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`
  const csv = `url,caption\n${rows.map((r) => `${r.url},x`).join('\n')}\n`
  const parquet = Buffer.from(
    parquetWriteBuffer({
      columnData: [{ name: 'url', data: rows.map((r) => r.url), type: 'STRING' }],
    }),
  )
  const cases: [string, string | Buffer, string][] = [
    [
      'p.csv',
      parquet,
      'p.csv is a Parquet file, not a text table: name it .parquet, or give --input-format parquet',
    ],
    [
      'p.jsonl',
      parquet,
      'p.jsonl is a Parquet file, not a text table: name it .parquet, or give --input-format parquet',
    ],
    [
      'p.csv.gz',
      gzipSync(parquet),
      'p.csv.gz is a Parquet file, not a text table: name it .parquet.gz, or give --input-format parquet',
    ],
    [
      'j.csv',
      jsonl,
      'j.csv is a JSON lines table, not a CSV or TSV table: name it .jsonl, or give --input-format jsonl',
    ],
    [
      'j.tsv',
      jsonl,
      'j.tsv is a JSON lines table, not a CSV or TSV table: name it .jsonl, or give --input-format jsonl',
    ],
    [
      'j.csv.gz',
      gzipSync(jsonl),
      'j.csv.gz is a JSON lines table, not a CSV or TSV table: name it .jsonl.gz, or give --input-format jsonl',
    ],
    [
      'c.jsonl',
      csv,
      'c.jsonl is a CSV table (its first line: "url,caption", and no line a JSON object), not JSON lines: name it .csv, or give --input-format csv',
    ],
    [
      'c.ndjson.gz',
      gzipSync(csv.replaceAll(',', '\t')),
      'c.ndjson.gz is a TSV table (its first line: "url\\tcaption", and no line a JSON object), not JSON lines: name it .tsv.gz, or give --input-format tsv',
    ],
  ]
  await mkdir(join(dir, 'other'), { recursive: true })
  const before = server.stats.requests
  // Each case a process of its own, with a file and an output folder of its own: four at a time.
  await inPool([...cases.entries()], 4, async ([i, [name, content, message]]) => {
    const path = join(dir, 'other', name)
    await writeFile(path, content)
    const r = await runCli([path, '-o', join(dir, `other-out-${i}`), '--output-format', 'webdataset'])
    assert.equal(r.code, 2, r.stderr)
    assert.equal(r.stderr, `imgpull: ${path.slice(0, -name.length)}${message} (see imgpull --help)\n`)
    // Refused before anything is made (one shared folder took every refusal, then the run below).
    assert.ok(!existsSync(join(dir, `other-out-${i}`)), `${name}: nothing made`)
  })
  // Named so, each is read: the message's advice works.
  const r = await runCli([
    join(dir, 'other', 'j.csv'),
    '--input-format',
    'jsonl',
    '-o',
    join(dir, 'other-out'),
  ])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(server.stats.requests, before + 2)
})

test('a row failed for its own cells (invalid-hash, invalid-row) is fetched once mended, not skipped as failed before', async () => {
  // Before: --hash-col caption (a slip) failed every row as invalid-hash; the run with --hash-col
  // sha256 then skipped all of them as "permanently failed before", with the old message about the
  // caption ("photo 0" is not a sha256), and a corrected JSON line stayed an invalid-row.
  const paths = [0, 1, 2].map((i) => `/mended-${i}`)
  const csv = join(dir, 'mended.csv')
  await writeFile(
    csv,
    `url,caption,sha256\n${paths.map((p, i) => `${server.url(p)},photo ${i},${digest('sha256', p)}`).join('\n')}\n`,
  )
  const out = join(dir, 'mended-out')
  const shards = ['--output-format', 'webdataset', '--shard-size', '2']
  const before = server.stats.requests
  const slip = await runCli([csv, '-o', out, ...shards, '--hash-col', 'caption'])
  assert.equal(slip.code, 1, slip.stderr)
  assert.equal(server.stats.requests, before, 'nothing fetched')
  const fixed = await runCli([csv, '-o', out, ...shards, '--hash-col', 'sha256'])
  assert.equal(fixed.code, 0, fixed.stderr)
  assert.equal(server.stats.requests, before + 3)
  assert.deepEqual(
    (await manifest(out)).map((l) => l.status),
    ['ok', 'ok', 'ok'],
  )
  // The sealed shards were sealed again with the images.
  const rows = [
    ...(await hyparquetRows(join(out, '00000.parquet'))),
    ...(await hyparquetRows(join(out, '00001.parquet'))),
  ]
  assert.deepEqual(
    rows.map((r) => r.status),
    ['success', 'success', 'success'],
  )

  // A JSON line that did not parse, corrected; a line still broken stays failed, nothing fetched for it.
  const jsonl = join(dir, 'mended.jsonl')
  const line = (i: number) => JSON.stringify({ url: server.url(`/mended-j${i}`), caption: `c${i}` })
  await writeFile(jsonl, `${line(0)}\n${line(1).slice(0, -1)}\n${line(2).slice(0, -1)}\n`)
  const jout = join(dir, 'mended-jsonl-out')
  assert.equal((await runCli([jsonl, '-o', jout])).code, 1)
  await writeFile(jsonl, `${line(0)}\n${line(1)}\n${line(2).slice(0, -1)}\n`)
  const count = server.stats.requests
  const again = await runCli([jsonl, '-o', jout])
  assert.equal(again.code, 1, again.stderr)
  assert.deepEqual(
    (await manifest(jout)).map((l) => [l.status, l.error ?? null]),
    [
      ['ok', null],
      ['ok', null],
      ['failed', 'invalid-row'],
    ],
  )
  assert.equal(server.stats.requests, count + 1, 'the mended line only')

  // A URL cell mended (empty, then a URL): fetched without the warning of a row moved by an
  // insertion above it ("row 1 holds … where an earlier run had : fetched as a new image").
  const urls = join(dir, 'mended-urls.csv')
  await writeFile(urls, `url\n${server.url('/mended-u0')}\n""\nwww.example.com/a.jpg\n`)
  const uout = join(dir, 'mended-urls-out')
  assert.equal((await runCli([urls, '-o', uout])).code, 1)
  assert.deepEqual(
    (await manifest(uout)).map((l) => l.error),
    [null, 'invalid-url', 'invalid-url'],
  )
  await writeFile(
    urls,
    `url\n${server.url('/mended-u0')}\n${server.url('/mended-u1')}\n${server.url('/mended-u2')}\n`,
  )
  const mended = await runCli([urls, '-o', uout])
  assert.equal(mended.code, 0, mended.stderr)
  assert.doesNotMatch(mended.stderr, /warning/)
  assert.deepEqual(
    (await manifest(uout)).map((l) => l.status),
    ['ok', 'ok', 'ok'],
  )
  // A row moved by one inserted above it is still said, at the first that had an image.
  await writeFile(urls, `url\n${server.url('/mended-u3')}\n${server.url('/mended-u0')}\n`)
  const moved = await runCli([urls, '-o', uout])
  assert.match(
    moved.stderr,
    /warning: row 0 \(\S+\.csv line 2\) holds .*mended-u3 where an earlier run had .*mended-u0: fetched as a new image/,
  )
})

/** `table` run with its captions into `dir/name`, exit 0: each manifest line's status and caption. */
async function fetchedCaptions(table: string, name: string): Promise<[string, unknown][]> {
  const out = join(dir, name)
  const r = await runCli([table, '-o', out, '--caption-col', 'caption'])
  assert.equal(r.code, 0, r.stderr)
  return (await manifest(out)).map((l) => [l.status, l.meta.caption])
}

test("a .json array of records (pandas' to_json(orient='records')) is told to become JSON lines, which then read as a table", async () => {
  // Told "jq -r '.[]' FILE | imgpull -", which prints each object as JSON text: every line refused.
  const records = [
    { url: server.url('/records-0'), caption: 'a fox' },
    { url: server.url('/records-1'), caption: 'a lake' },
  ]
  const json = join(dir, 'records.json')
  await writeFile(json, JSON.stringify(records, null, 2))
  const r = await runCli([json, '-o', join(dir, 'records-out')])
  assert.equal(r.code, 2, r.stderr)
  assert.match(
    r.stderr,
    /^imgpull: '.*records\.json' is a JSON array of objects \(a table\), not a list of URLs: jq -c '\.\[\]' FILE > rows\.jsonl makes it JSON lines, which imgpull reads as a table/,
  )
  // What jq -c '.[]' makes of it.
  const jsonl = join(dir, 'rows.jsonl')
  await writeFile(jsonl, `${records.map((o) => JSON.stringify(o)).join('\n')}\n`)
  assert.deepEqual(await fetchedCaptions(jsonl, 'records-jsonl'), [
    ['ok', 'a fox'],
    ['ok', 'a lake'],
  ])
})

test('a Parquet file cut short (a download that stopped) is named so, before anything of its folder is fetched', async () => {
  const folder = join(dir, 'cut-parquet')
  await mkdir(folder, { recursive: true })
  const bytes = Buffer.from(
    parquetWriteBuffer({
      columnData: [{ name: 'url', data: [server.url('/pq-cut-0'), server.url('/pq-cut-1')], type: 'STRING' }],
    }),
  )
  await writeFile(join(folder, 'part-0.parquet'), bytes)
  // Cut inside its footer, and cut just before the closing magic.
  for (const cut of [bytes.length - 40, bytes.length - 2]) {
    await writeFile(join(folder, 'part-1.parquet'), bytes.subarray(0, cut))
    const before = server.stats.requests
    const r = await runCli([folder, '-o', join(dir, 'cut-parquet-out')])
    assert.equal(r.code, 2, r.stderr)
    assert.match(
      r.stderr,
      new RegExp(
        `^imgpull: .*part-1\\.parquet is a Parquet file cut short: it starts as one but ends before its footer \\(${cut} bytes\\), as a download or copy that stopped`,
      ),
    )
    assert.equal(server.stats.requests, before, 'nothing fetched')
  }
})

test('a URL nested in a struct column (image.url) is pointed to, with how to make it a column, where it was "name the column that holds the URLs"', async () => {
  // The missing url column's hint says --url-col image; that was refused with no column to name.
  const nested = join(dir, 'nested.parquet')
  const flat = join(dir, 'flat.parquet')
  await duckdbRun(
    `COPY (SELECT {'width': 10, 'url': '${server.url('/nested-')}' || i} AS image, 'c' || i AS caption FROM range(2) t(i)) TO '${nested}'`,
  )
  const before = server.stats.requests
  const r = await runCli([nested, '--url-col', 'image', '-o', join(dir, 'nested-out')])
  assert.equal(r.code, 2, r.stderr)
  const made =
    /e\.g\. duckdb -c "(COPY \(SELECT image\.url AS url, \* FROM 'in\.parquet'\) TO 'flat\.parquet')"/.exec(
      r.stderr,
    )
  assert.match(
    r.stderr,
    /^imgpull: .*nested\.parquet: the URL column "image" is a struct column, not text, so every row would fail as invalid-url: its field "url" holds text; make it a column of its own first/,
  )
  assert.ok(made, r.stderr)
  assert.equal(server.stats.requests, before, 'nothing fetched')
  // The statement it gives, run: the rows are fetched.
  await duckdbRun(made[1].replace("'in.parquet'", `'${nested}'`).replace("'flat.parquet'", `'${flat}'`))
  assert.deepEqual(await fetchedCaptions(flat, 'flat-out'), [
    ['ok', 'c0'],
    ['ok', 'c1'],
  ])
})

test('--name with a column: a null or missing cell names its file without it, and a column no table has is refused before anything is made', async () => {
  const jsonl = join(dir, 'named.jsonl')
  await writeFile(
    jsonl,
    [
      { url: server.url('/named-0'), caption: 'lake' },
      { url: server.url('/named-1'), caption: null },
      { url: server.url('/named-2') },
      { url: server.url('/named-3'), caption: { nested: true } },
    ]
      .map((o) => JSON.stringify(o))
      .join('\n'),
  )
  const parquet = join(dir, 'named.parquet')
  const urls = [0, 1].map((i) => server.url(`/named-pq-${i}`))
  await writeFile(
    parquet,
    new Uint8Array(
      parquetWriteBuffer({
        columnData: [
          { name: 'url', data: urls, type: 'STRING' },
          { name: 'caption', data: ['fox', null], type: 'STRING' },
        ],
      }),
    ),
  )
  for (const [table, expected] of [
    // An empty caption takes its separator with it (see naming.ts `withoutDangling`): `1.jpg`, not `1-.jpg`.
    [jsonl, ['0-lake.jpg', '1.jpg', '2.jpg', '3.jpg']],
    [parquet, ['0-fox.jpg', '1.jpg']],
  ] as const) {
    const out = join(dir, `named-${expected.length}`)
    const r = await runCli([table, '-o', out, '--name', '{row}-{caption}{ext}', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual((await outputFiles(out)).sort(), [...expected])
  }
  const csv = join(dir, 'named.csv')
  await writeFile(csv, `url,caption\n${server.url('/named-csv')},owl\n`)
  for (const table of [jsonl, parquet, csv]) {
    const out = join(dir, 'named-typo')
    const r = await runCli([table, '-o', out, '--name', '{row}-{captoin}{ext}'])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /unknown placeholder \{captoin\} in the name template; use .*\{row\} \{caption\}/)
    await assert.rejects(
      readFile(join(out, 'manifest.jsonl')),
      { code: 'ENOENT' },
      'no folder, journal or report',
    )
  }
})

test('a column named with a hyphen or a space (alt-text, photo id) is a placeholder, as the usage error offers it', async () => {
  const csv = join(dir, 'spaced.csv')
  await writeFile(
    csv,
    `url,photo id,alt-text\n${server.url('/spaced-0')},11,owl\n${server.url('/spaced-1')},22,fox\n`,
  )
  const out = join(dir, 'spaced')
  const r = await runCli([csv, '-o', out, '--name', '{alt-text}-{photo id}{ext}'])
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual((await outputFiles(out)).sort(), ['fox-22.jpg', 'owl-11.jpg'])
  const typo = await runCli([csv, '-o', join(dir, 'spaced-typo'), '--name', '{alt_text}{ext}'])
  assert.equal(typo.code, 2, typo.stderr)
  assert.match(
    typo.stderr,
    /unknown placeholder \{alt_text\} in the name template; use .*\{row\} \{photo id\} \{alt-text\}/,
  )
})

/** What a terminal acts on: ESC, BEL, C1's CSI, a right-to-left override. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is looked for
const ACTED_ON = /[\u001b\u0007\u009b\u202e]/

test("a table's column names and cells that reach the terminal (a usage error, a warning) show control characters and bidi marks as escapes", async () => {
  // A downloaded dataset is outside text: ESC ] 0 sets the window title, ESC [ 2J clears the screen,
  // U+009B is CSI alone, U+202E reverses what follows.
  const named = join(dir, 'hostile-columns.jsonl')
  await writeFile(
    named,
    `${JSON.stringify({ url: server.url('/hc-0'), '\u001b]0;PWNED\u0007t\u001b[2J': 1, '\u202eevil': 2 })}\n`,
  )
  const usage = await runCli([named, '-o', join(dir, 'hostile-columns'), '--name', '{captoin}{ext}'])
  assert.equal(usage.code, 2, usage.stderr)
  assert.doesNotMatch(usage.stderr, ACTED_ON)
  assert.match(
    usage.stderr,
    /unknown placeholder \{captoin\}.* \{\\x1b\]0;PWNED\\x07t\\x1b\[2J\} \{\\u202eevil\}/,
  )
  // A cell quoted by a warning (a value its Parquet column cannot hold, past the first 1,000 rows
  // that typed it). Rows with no URL are not fetched: failing in place, they are still rows.
  const cells = join(dir, 'hostile-cells.jsonl')
  const rows = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ url: `no-url-${i}`, n: i }))
  rows.push(JSON.stringify({ url: 'no-url', n: '\u009b2J\u202eevil' }))
  await writeFile(cells, `${rows.join('\n')}\n`)
  const warned = await runCli([
    cells,
    '-o',
    join(dir, 'hostile-cells'),
    '--columns',
    'n',
    '--output-format',
    'webdataset',
  ])
  assert.equal(warned.code, 1, warned.stderr)
  assert.doesNotMatch(warned.stderr, ACTED_ON)
  assert.match(
    warned.stderr,
    /^imgpull: warning: row 1000 .*column 'n' holds the string "\\x9b2J\\u202eevil"/m,
  )
})

test('a folder of tables is not its own output folder: a rerun would read the manifest and shards as rows', async () => {
  const tables = join(dir, 'own')
  await mkdir(tables)
  await writeFile(
    join(tables, 'part-0.csv'),
    `url\n${[0, 1, 2].map((i) => server.url(`/own-${i}`)).join('\n')}\n`,
  )
  const requests = server.stats.requests
  const shards = ['--output-format', 'webdataset', '--shard-size', '2']
  for (const format of [[], shards]) {
    const same = await runCli([tables, '-o', tables, ...format])
    assert.equal(same.code, 2, same.stderr)
    assert.match(
      same.stderr,
      /'.*own' is also the output folder: the next run would read the manifest and shards/,
    )
  }
  assert.equal(server.stats.requests, requests, 'refused before any request')
  assert.deepEqual(await readdir(tables), ['part-0.csv'])

  // A folder inside it is not read (subfolders are skipped): reruns fetch nothing and add no row.
  const out = join(tables, 'out')
  for (let run = 0; run < 2; run++) {
    const inside = await runCli([tables, '-o', out, ...shards])
    assert.equal(inside.code, 0, inside.stderr)
  }
  assert.equal(server.stats.requests, requests + 3)
  assert.equal((await manifest(out)).length, 3)
  // A shard's Parquet file or the manifest given as a table (a glob of the folder takes them in).
  for (const own of ['00000.parquet', 'manifest.jsonl']) {
    const taken = await runCli([join(tables, 'part-0.csv'), join(out, own), '-o', out, ...shards])
    assert.equal(taken.code, 2, taken.stderr)
    assert.match(
      taken.stderr,
      new RegExp(
        `${own.replace('.', '\\.')}' is (a WebDataset shard's Parquet file imgpull wrote there|the manifest of the folder this run writes to)`,
      ),
    )
  }
  assert.equal(server.stats.requests, requests + 3)
})

test('URL cells that are not one URL fail in their rows, saying what is wrong, and nothing is fetched for them', async () => {
  // Scraped tables hold protocol-relative src attributes, cells without a scheme, several URLs
  // joined by a space or a newline, and nulls (JSON lines): each said as such, not "not a URL",
  // and a joined cell is no longer fetched as one URL with its space escaped.
  const file = join(dir, 'cells.jsonl')
  const lines = [
    { url: null, caption: 'null' },
    { url: server.url('/cell-1').replace('http:', ''), caption: 'protocol-relative' },
    { url: 'www.example.com/a.jpg', caption: 'no scheme' },
    { url: `${server.url('/cell-3')} ${server.url('/cell-4')}`, caption: 'two' },
    { url: `${server.url('/cell-5')}\n${server.url('/cell-6')}`, caption: 'two lines' },
    { url: server.url('/cell-7'), caption: 'good' },
  ]
  await writeFile(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`)
  const out = join(dir, 'cells-out')
  const r = await runCli([file, '-o', out, '--caption-col', 'caption'])
  assert.equal(r.code, 1, r.stderr)
  const rows = await manifest(out)
  assert.deepEqual(
    rows.map((row) => [row.meta.caption, row.status, row.error ?? null]),
    [
      ['null', 'failed', 'invalid-url'],
      ['protocol-relative', 'failed', 'invalid-url'],
      ['no scheme', 'failed', 'invalid-url'],
      ['two', 'failed', 'invalid-url'],
      ['two lines', 'failed', 'invalid-url'],
      ['good', 'ok', null],
    ],
  )
  // Each names its file and line: in a table of millions of rows the URL alone says not which.
  assert.equal(rows[0].message, `${file} line 1: invalid URL "": the URL cell is empty`)
  assert.ok(rows[4].message.startsWith(`${file} line 5: invalid URL`), rows[4].message)
  assert.match(rows[1].message, /: protocol-relative, with no http: or https: before it$/)
  assert.match(rows[2].message, /: no http:\/\/ or https:\/\/ before it$/)
  assert.match(rows[3].message, /: holds several URLs \(one image a row: split the cell into rows\)$/)
  assert.match(rows[4].message, /: holds several URLs/)
  assert.match(r.stderr, /cells\.jsonl line 2: invalid URL "\/\/127\.0\.0\.1:\d+\/cell-1": protocol-relative/)
  const fetched = server.log.map((q) => q.url)
  for (const n of [1, 3, 4, 5, 6])
    assert.ok(!fetched.some((u) => u.includes(`/cell-${n}`)), `cell-${n} fetched`)
})

test('a hash-mismatch is judged against the table as it is now: a corrected hash cell is fetched, an unchanged one skipped', async () => {
  // Before: the rerun after correcting the cell skipped the row as "permanently failed before",
  // its message still saying the input gives the old hash; only --retry-failed fetched it.
  const paths = [0, 1, 2].map((i) => `/rehash-${i}`)
  const wrong = 'e'.repeat(64)
  const table = (cells: string[]) =>
    `url,sha256\n${paths.map((p, i) => `${server.url(p)},${cells[i]}`).join('\n')}\n`
  const right = paths.map((p) => digest('sha256', p))
  const csv = join(dir, 'rehash.csv')
  const out = join(dir, 'rehash-out')
  const run = () => runCli([csv, '-o', out, '--hash-col', 'sha256'])
  const statuses = async () => (await manifest(out)).map((l) => [l.status, l.error])

  await writeFile(csv, table([right[0], wrong, wrong]))
  assert.equal((await run()).code, 1)
  assert.deepEqual(await statuses(), [
    ['ok', null],
    ['failed', 'hash-mismatch'],
    ['failed', 'hash-mismatch'],
  ])
  // The table unchanged: the verdict stands, nothing fetched.
  let count = server.stats.requests
  const same = await run()
  assert.equal(same.code, 1, same.stderr)
  assert.equal(server.stats.requests, count, 'nothing fetched')
  assert.match(same.stderr, /2 skipped as permanently failed before/)
  // Row 1's cell corrected, row 2's emptied (no hash to check): both fetched, and kept.
  await writeFile(csv, table([right[0], right[1], '']))
  count = server.stats.requests
  const fixed = await run()
  assert.equal(fixed.code, 0, fixed.stderr)
  assert.equal(server.stats.requests, count + 2, 'the two mended rows only')
  assert.deepEqual(await statuses(), [
    ['ok', null],
    ['ok', null],
    ['ok', null],
  ])
  assert.equal((await outputFiles(out)).length, 3)

  // A journal written before failures recorded their expected hash: its message says it.
  const { default: Database } = await import('better-sqlite3')
  const old = join(dir, 'rehash-old-out')
  await writeFile(csv, table([wrong, wrong, right[2]]))
  assert.equal((await runCli([csv, '-o', old, '--hash-col', 'sha256'])).code, 1)
  const db = new Database(join(old, '.imgpull', 'journal.db'))
  db.exec('ALTER TABLE jobs DROP COLUMN checked')
  db.close()
  await writeFile(csv, table([right[0], wrong, right[2]]))
  count = server.stats.requests
  const oldRun = await runCli([csv, '-o', old, '--hash-col', 'sha256'])
  assert.equal(oldRun.code, 1, oldRun.stderr)
  assert.equal(server.stats.requests, count + 1, 'the corrected row only')
  assert.deepEqual(
    (await manifest(old)).map((l) => l.status),
    ['ok', 'failed', 'ok'],
  )
})

test('WebDataset: a row whose hash cell was corrected lands in its sealed shard, sealed again', async () => {
  const paths = [0, 1, 2].map((i) => `/rehash-w${i}`)
  const right = paths.map((p) => digest('sha256', p))
  const csv = join(dir, 'rehash-w.csv')
  const table = (cells: string[]) =>
    `url,sha256\n${paths.map((p, i) => `${server.url(p)},${cells[i]}`).join('\n')}\n`
  const out = join(dir, 'rehash-w-out')
  const args = [csv, '-o', out, '--output-format', 'webdataset', '--shard-size', '2', '--hash-col', 'sha256']
  await writeFile(csv, table([right[0], 'd'.repeat(64), right[2]]))
  assert.equal((await runCli(args)).code, 1)
  const firstTar = (await readTar(join(out, '00000.tar'))).map((m) => m.name)
  assert.equal(firstTar.filter((n) => n.startsWith('000001.')).length, 0, 'the mismatch is not in the shard')
  await writeFile(csv, table(right))
  const count = server.stats.requests
  const fixed = await runCli(args)
  assert.equal(fixed.code, 0, fixed.stderr)
  assert.equal(server.stats.requests, count + 1)
  const members = await readTar(join(out, '00000.tar'))
  const image = members.find((m) => m.name.startsWith('000001.') && !m.name.endsWith('.json'))
  assert.ok(image, `the mended sample is in its shard: ${members.map((m) => m.name)}`)
  assert.equal(createHash('sha256').update(image.data).digest('hex'), right[1])
  assert.deepEqual(
    (await hyparquetRows(join(out, '00000.parquet'))).map((r) => r.status),
    ['success', 'success'],
  )
})

test('a folder of files: a rerun with another --caption-col or other carried columns is refused once an image is kept, naming both; the same rows, however named, and a list are taken', async () => {
  const table = join(dir, 'caption-rerun.csv')
  const row = (i: number) => `${server.url(`/cr-${i}`)},title ${i},alt ${i},${server.url(`/cr-b${i}`)}`
  await writeFile(table, `url,title,alt,url2\n${row(0)}\n${row(1)}\n`)
  const out = join(dir, 'caption-rerun')
  assert.equal((await runCli([table, '-o', out, '--caption-col', 'title'])).code, 0)
  const first = await readFile(join(out, 'manifest.jsonl'), 'utf8')
  // The report's contact sheet has each image's caption, read from the journal (test/report-html-browser.test.ts shows it).
  assert.match(await readFile(join(out, 'report.html'), 'utf8'), /\["cr-0[^\]]*,"title 0"\]/)
  const requests = server.stats.requests
  const refusals: [string[], string][] = [
    [['--caption-col', 'alt'], '--caption-col title, where this run gives --caption-col alt'],
    // A forgotten --caption-col kept every old caption beside rows of the run that gave none.
    [[], '--caption-col title, where this run gives none'],
    [
      ['--caption-col', 'title', '--columns', 'title'],
      'the columns title,alt,url2 carried (--columns title,alt,url2), where this run carries title',
    ],
    // Another --url-col carries the first one's column: its rows' columns are others too.
    [
      ['--caption-col', 'title', '--url-col', 'url2'],
      'the columns title,alt,url2 carried (--columns title,alt,url2), where this run carries url,title,alt',
    ],
  ]
  for (const [flags, said] of refusals) {
    const r = await runCli([table, '-o', out, '--no-report', ...flags])
    assert.equal(r.code, 2, r.stderr)
    assert.equal(
      r.stderr.trim(),
      `imgpull: ${out} holds images whose rows were made with ${said}: the rows it reaches would get its captions and columns in the manifest and the others keep the earlier ones, so run with the same options, or use another output folder (see imgpull --help)`,
    )
  }
  assert.equal(server.stats.requests, requests, 'nothing fetched')
  assert.equal(await readFile(join(out, 'manifest.jsonl'), 'utf8'), first, 'the manifest as it was')
  // The same rows, --columns naming what the default carried; then a list into the folder, and
  // the table again.
  const same = await runCli([
    table,
    '-o',
    out,
    '--no-report',
    '--caption-col',
    'title',
    '--columns',
    'title,alt,url2',
  ])
  assert.equal(same.code, 0, same.stderr)
  const list = join(dir, 'caption-rerun.txt')
  await writeFile(list, `${server.url('/cr-0')}\n`)
  assert.equal((await runCli([list, '-o', out, '--no-report'])).code, 0)
  const again = await runCli([table, '-o', out, '--no-report', '--caption-col', 'alt'])
  assert.equal(again.code, 2, again.stderr)
  // The list's URL is a job of its own (a URL, not a row), without a caption.
  assert.deepEqual(
    (await manifest(out)).map((l) => l.caption),
    ['title 0', 'title 1', undefined],
  )
})
