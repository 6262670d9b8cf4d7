import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, stat, symlink, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { parquetWriteBuffer } from 'hyparquet-writer'
import { pull } from '../src/index.js'
import { openTables, type TableOptions, tablesSource } from '../src/sources/tables/index.js'
import { CLI, cleanup, count, runCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { eachRequest, startRawServer } from './support/raw-server.js'
import {
  duckdbRead,
  gnuTarNames,
  hyparquetRows,
  memberHashes,
  pythonTar,
  readTar,
  shardFiles,
} from './support/shards.js'

// Tables through to WebDataset shards: every input format, the key and grouping rules, failed rows,
// hash mismatches, three readers for the tars and two for the Parquet, determinism, reruns.

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

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex')

interface Row {
  url: string
  caption: string
  license: string
  id: number
  sha256: string
}

/** 12 rows, 3 shards of 5: successes, a row without caption, a 404, a hash mismatch, a bad URL. */
function rows(prefix: string): Row[] {
  return Array.from({ length: 12 }, (_, i) => {
    const path = `/${prefix}-${i}`
    const url = i === 2 ? server.url(`${path}?status=404`) : i === 5 ? 'not a url' : server.url(path)
    const hash = i === 3 ? '0'.repeat(64) : i === 2 || i === 5 ? '' : sha256(server.bytes(path))
    return {
      url,
      caption: i === 1 ? '' : `caption ${i}, "quoted"`,
      license: `cc-${i % 2}`,
      id: 100 + i,
      sha256: hash,
    }
  })
}
const FAILED = new Map([
  [2, 'http-404'],
  [3, 'hash-mismatch'],
  [5, 'invalid-url'],
])
const COLUMNS = ['url', 'caption', 'license', 'id', 'sha256'] as const

const quoted = (v: string | number) => `"${String(v).replaceAll('"', '""')}"`
const textTable = (data: Row[], sep: string, quote: (v: string | number) => string) =>
  `${COLUMNS.join(sep)}\n${data.map((r) => COLUMNS.map((c) => quote(r[c])).join(sep)).join('\n')}\n`
const parquetTable = (data: Row[]) =>
  Buffer.from(
    parquetWriteBuffer({
      columnData: [
        { name: 'url', data: data.map((r) => r.url), type: 'STRING' },
        { name: 'caption', data: data.map((r) => r.caption || null), type: 'STRING' },
        { name: 'license', data: data.map((r) => r.license), type: 'STRING' },
        { name: 'id', data: data.map((r) => BigInt(r.id)), type: 'INT64' },
        { name: 'sha256', data: data.map((r) => r.sha256 || null), type: 'STRING' },
      ],
      rowGroupSize: 4,
    }),
  )

const FORMATS: Record<string, (data: Row[]) => Buffer> = {
  csv: (d) => Buffer.from(textTable(d, ',', quoted)),
  tsv: (d) => Buffer.from(textTable(d, '\t', (v) => String(v).replaceAll('"', "'"))),
  jsonl: (d) =>
    Buffer.from(`${d.map((r) => JSON.stringify({ ...r, caption: r.caption || null })).join('\n')}\n`),
  parquet: parquetTable,
  'csv.gz': (d) => gzipSync(textTable(d, ',', quoted)),
  'parquet.gz': (d) => gzipSync(parquetTable(d)),
}

const TABLE: TableOptions = { captionCol: 'caption', hashCol: 'sha256' }

/** A table of `rows(prefix)` in `format`, pulled into a fresh folder as shards of 5 through the library. */
async function pullTable(prefix: string, format: string, out: string, concurrency?: number) {
  const file = join(dir, `${prefix}.${format}`)
  await writeFile(file, FORMATS[format](rows(prefix)))
  const results = []
  const tables = await openTables([file], TABLE)
  for await (const r of pull(tablesSource(tables), {
    out,
    outputFormat: 'webdataset',
    shardSize: 5,
    concurrency,
  }))
    results.push(r)
  return results
}

const expectedKeys = ['000000', '000001', '000002', '000003', '000004', '000010', '000011', '000012'].concat([
  '000013',
  '000014',
  '000020',
  '000021',
])

/** Image members (name → sha256) of every shard in a folder. */
async function images(out: string) {
  const all = new Map<string, string>()
  for (const f of (await shardFiles(out)).filter((f) => f.endsWith('.tar')))
    for (const [name, hash] of memberHashes(await readTar(join(out, f))))
      if (name.endsWith('.jpg')) all.set(name, hash)
  return all
}

test('every input format gives the same samples: CSV, TSV, JSON lines, Parquet, gzip-compressed', async () => {
  const byFormat = new Map<string, Map<string, string>>()
  for (const format of Object.keys(FORMATS)) {
    const out = join(dir, `formats-${format.replace('.', '-')}`)
    const results = await pullTable('fmt', format, out)
    assert.equal(results.length, 12, format)
    assert.deepEqual(
      results
        .filter((r) => r.status === 'failed')
        .map((r) => [r.job.row, r.error])
        .sort(),
      [...FAILED].sort(),
      format,
    )
    assert.deepEqual(
      await shardFiles(out),
      ['00000', '00001', '00002'].flatMap((s) => [`${s}.parquet`, `${s}.tar`, `${s}_stats.json`]),
      format,
    )
    const keys = (
      await Promise.all(['00000', '00001', '00002'].map((s) => hyparquetRows(join(out, `${s}.parquet`))))
    )
      .flat()
      .map((r) => [r.key, r.status])
    assert.deepEqual(
      keys,
      expectedKeys.map((k, i) => [k, FAILED.has(i) ? 'failed' : 'success']),
      `${format}: one Parquet row per input row, failures included, in key order`,
    )
    byFormat.set(format, await images(out))
  }
  const csv = byFormat.get('csv')!
  assert.equal(csv.size, 9)
  for (const [i, key] of expectedKeys.entries()) {
    if (!FAILED.has(i)) assert.equal(csv.get(`${key}.jpg`), sha256(server.bytes(`/fmt-${i}`)), key)
  }
  for (const [format, members] of byFormat) assert.deepEqual(members, csv, format)
})

test('a shard through the CLI, read by tar-stream, Python tarfile, GNU tar, hyparquet and DuckDB', async () => {
  const file = join(dir, 'cli.csv')
  await writeFile(file, FORMATS.csv(rows('cli')))
  const out = join(dir, 'cli')
  const r = await runCli([
    file,
    '-o',
    out,
    '--output-format',
    'webdataset',
    '--shard-size',
    '5',
    '--caption-col',
    'caption',
    '--hash-col',
    'sha256',
  ])
  assert.equal(r.code, 1, r.stderr) // three rows failed
  const tarPath = join(out, '00000.tar')
  const members = await readTar(tarPath)
  // Rows 0-4: 0 and 1 ok (1 has an empty caption cell), 2 a 404, 3 a hash mismatch, 4 ok.
  assert.deepEqual(
    members.map((m) => m.name),
    [
      '000000.jpg',
      '000000.json',
      '000000.txt',
      '000001.jpg',
      '000001.json',
      '000001.txt',
      '000004.jpg',
      '000004.json',
    ].concat(['000004.txt']),
    "a sample's files are adjacent, in key order; a failed row puts nothing in the tar",
  )
  for (const m of members) {
    assert.deepEqual([m.mode, m.mtime, m.uid, m.gid], [0o644, 0, 0, 0], `${m.name}: fixed header fields`)
  }
  const byName = new Map(members.map((m) => [m.name, m]))
  assert.ok(byName.get('000000.jpg')!.data.equals(server.bytes('/cli-0')))
  assert.equal(byName.get('000000.txt')!.data.toString(), 'caption 0, "quoted"')
  // Every sample of a table with a caption column has its KEY.txt, as img2dataset writes them: a
  // reader's to_tuple('jpg', 'txt') stopped at a sample whose caption cell was empty.
  assert.equal(byName.get('000001.txt')!.data.length, 0, 'an empty caption cell: an empty KEY.txt')
  const json = JSON.parse(byName.get('000004.json')!.data.toString())
  assert.deepEqual(json, {
    key: '000004',
    url: server.url('/cli-4'),
    caption: 'caption 4, "quoted"',
    status: 'success',
    error_code: null,
    error_message: null,
    width: json.width,
    height: json.height,
    original_width: json.width,
    original_height: json.height,
    sha256: sha256(server.bytes('/cli-4')),
    license: 'cc-0',
    id: '104',
  })
  assert.ok(json.width > 0 && json.height > 0)

  // Python's tarfile: the same members, files with the fixed header, the same bytes.
  const python = pythonTar(tarPath)
  assert.deepEqual(
    python.map(([name, size, mode, mtime, uid, gid, uname, gname, isFile, hash]) => [
      name,
      size,
      mode,
      mtime,
      uid,
      gid,
      uname,
      gname,
      isFile,
      hash,
    ]),
    members.map((m) => [m.name, m.size, 0o644, 0, 0, 0, '', '', true, sha256(m.data)]),
  )
  assert.deepEqual(
    gnuTarNames(tarPath),
    members.map((m) => m.name),
    'GNU tar lists the same members',
  )

  // The Parquet: hyparquet and DuckDB agree, rows in key order, failures with code, message, status.
  const parquet = join(out, '00000.parquet')
  const hy = await hyparquetRows(parquet)
  const duck = await duckdbRead(parquet)
  assert.deepEqual(
    Object.entries(duck.types),
    [
      ['key', 'VARCHAR'],
      ['url', 'VARCHAR'],
      ['caption', 'VARCHAR'],
      ['status', 'VARCHAR'],
      ['error_code', 'VARCHAR'],
      ['error_message', 'VARCHAR'],
      ['http_status', 'INTEGER'],
      ['width', 'INTEGER'],
      ['height', 'INTEGER'],
      ['original_width', 'INTEGER'],
      ['original_height', 'INTEGER'],
      ['sha256', 'VARCHAR'],
      ['license', 'VARCHAR'],
      ['id', 'VARCHAR'],
    ],
    'CSV cells are carried as text; a carried column named like an own one (caption, sha256) is left out',
  )
  assert.equal(hy.length, 5)
  assert.deepEqual(
    duck.rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v ?? null]))),
    hy,
    'two readers, one content',
  )
  assert.deepEqual(
    hy.map((row) => [row.key, row.status, row.error_code, row.http_status]),
    [
      ['000000', 'success', null, 200],
      ['000001', 'success', null, 200],
      ['000002', 'failed', 'http-404', 404],
      ['000003', 'failed', 'hash-mismatch', null],
      ['000004', 'success', null, 200],
    ],
  )
  assert.match(String(hy[3].error_message), /sha256 is [0-9a-f]{64}, not 0{64}/)
  assert.equal(hy[1].caption, null, 'an empty caption cell is no caption')
  assert.equal(hy[3].sha256, null, 'a body not kept has no hash here')

  const stats = JSON.parse(await readFile(join(out, '00000_stats.json'), 'utf8'))
  assert.deepEqual(
    { ...stats, start_time: 0, end_time: 0, duration: 0 },
    {
      count: 5,
      successes: 3,
      failed: 2,
      failed_to_download: 2,
      failed_to_resize: 0,
      status_dict: { success: 3, failed: 2 },
      error_dict: { 'hash-mismatch': 1, 'http-404': 1 },
      bytes: [0, 1, 4].reduce((n, i) => n + server.bytes(`/cli-${i}`).length, 0),
      start_time: 0,
      end_time: 0,
      duration: 0,
    },
  )
  assert.ok(stats.end_time >= stats.start_time && stats.start_time > 1.7e9)
  const last = await hyparquetRows(join(out, '00002.parquet'))
  assert.deepEqual(
    last.map((row) => row.key),
    ['000020', '000021'],
    'the last shard holds what is left',
  )
  const manifest = (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  assert.equal(
    manifest.find((l) => l.meta.id === '100').path,
    '00000.tar/000000.jpg',
    'the manifest names the member',
  )
  // The report has no contact sheet of paths a browser cannot open: it says where the images are.
  const report = await readFile(join(out, 'report.html'), 'utf8')
  assert.match(report, /The images are inside the WebDataset shards/)
  assert.doesNotMatch(report, /00000\.tar\/000000\.jpg/)
})

test('the same input gives byte-identical shards, whatever order the downloads finish in', async () => {
  const a = join(dir, 'same-a')
  const b = join(dir, 'same-b')
  await pullTable('same', 'csv', a)
  await pullTable('same', 'csv', b, 1) // one at a time: rows finish in order
  for (const f of await shardFiles(a)) {
    if (f.endsWith('_stats.json')) continue // start and end times
    assert.ok((await readFile(join(a, f))).equals(await readFile(join(b, f))), `${f} differs`)
  }
})

test('reruns: sealed shards untouched, a passing failure tried again, its shard resealed as a clean run makes it', async () => {
  // Row 6 answers 503 twice, then the image: with --retries 0, two runs fail it, the third gets it.
  const file = join(dir, 'rerun.csv')
  const data = rows('rerun')
  data[6].url = server.url('/rerun-6?status=503&times=2')
  data[6].sha256 = ''
  await writeFile(file, FORMATS.csv(data))
  const out = join(dir, 'rerun')
  const args = [file, '--output-format', 'webdataset', '--shard-size', '5', '--caption-col', 'caption']
  const run = () => runCli([...args, '-o', out, '--retries', '0', '--hash-col', 'sha256'])
  const first = await run()
  assert.equal(first.code, 1, first.stderr)
  const shard1 = (await hyparquetRows(join(out, '00001.parquet'))).map((row) => [row.key, row.error_code])
  assert.deepEqual(shard1[1], ['000011', 'http-503'])
  const before = new Map<string, { ino: number; mtimeMs: number }>()
  for (const f of await shardFiles(out)) before.set(f, await stat(join(out, f)))
  const requests = server.stats.requests

  // The same failure again: nothing else is fetched, and no shard is written again.
  const second = await run()
  assert.equal(second.code, 1, second.stderr)
  assert.equal(server.stats.requests, requests + 1, 'only the passing failure is tried again')
  for (const [f, s] of before) {
    const now = await stat(join(out, f))
    assert.deepEqual([now.ino, now.mtimeMs], [s.ino, s.mtimeMs], `${f} was written again`)
  }

  // Now it comes: its shard (and only it) is sealed again, with the new sample in its place.
  const third = await run()
  assert.equal(third.code, 1, 'the permanent failures stand')
  assert.equal(server.stats.requests, requests + 2)
  for (const [f, s] of before) {
    const now = await stat(join(out, f))
    if (f.startsWith('00001')) assert.notEqual(now.ino, s.ino, `${f} was not resealed`)
    else assert.deepEqual([now.ino, now.mtimeMs], [s.ino, s.mtimeMs], `${f} was written again`)
  }
  const members = (await readTar(join(out, '00001.tar'))).map((m) => m.name)
  assert.deepEqual(members.slice(0, 3), ['000011.jpg', '000011.json', '000011.txt'])

  // A clean run of the same table (the URL answers at once now) gives the same bytes.
  const clean = join(dir, 'rerun-clean')
  const fresh = await runCli([...args, '-o', clean, '--retries', '0', '--hash-col', 'sha256'])
  assert.equal(fresh.code, 1, fresh.stderr)
  for (const f of await shardFiles(out)) {
    if (f.endsWith('_stats.json')) continue
    assert.ok(
      (await readFile(join(out, f))).equals(await readFile(join(clean, f))),
      `${f} differs from a clean run's`,
    )
  }
})

test('a row whose URL changed between runs is another image: fetched, never the old one under the new URL', async () => {
  // img2dataset users run a table's parts one after another into one folder; tables get edited.
  const table = (urls: string[]) => `url,caption\n${urls.map((u, i) => `${u},cap ${i}`).join('\n')}\n`
  const one = join(dir, 'part-1.csv')
  const two = join(dir, 'part-2.csv')
  await writeFile(one, table(['/p1-a', '/p1-b', '/p1-c'].map((p) => server.url(p))))
  await writeFile(two, table(['/p2-a', '/p2-b?status=404', '/p2-c'].map((p) => server.url(p))))
  for (const format of ['webdataset', 'files']) {
    const out = join(dir, `parts-${format}`)
    const args = ['-o', out, '--output-format', format, '--caption-col', 'caption']
    assert.equal((await runCli([one, ...args])).code, 0)
    const second = await runCli([two, ...args])
    assert.equal(second.code, 1, second.stderr) // p2-b's 404, not part 1's success
    assert.doesNotMatch(second.stderr, /already done/)
    // Said once, at the first row: a row inserted near the top of a table moves every row after it.
    const said = format === 'files' ? "the earlier row's file stays in the folder" : 'its shard sealed again'
    assert.match(
      second.stderr,
      new RegExp(
        `warning: row 0 \\(\\S*part-2\\.csv line 2\\) holds \\S+/p2-a where an earlier run had \\S+/p1-a: fetched as a new image \\(${said}\\)\\. A row inserted or removed above it shifts the rows after it`,
      ),
    )
    assert.equal(second.stderr.match(/warning: row/g)?.length, 1, 'said once')
    const manifest = (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    assert.deepEqual(
      manifest.map((m) => [new URL(m.url).pathname, m.status]),
      [
        ['/p2-a', 'ok'],
        ['/p2-b', 'failed'],
        ['/p2-c', 'ok'],
      ],
    )
    if (format === 'files') {
      for (const m of manifest.filter((m) => m.status === 'ok'))
        assert.ok((await readFile(join(out, m.path))).equals(server.bytes(new URL(m.url).pathname)), m.path)
      continue
    }
    const tar = await readTar(join(out, '00000.tar'))
    const image = (key: string) => tar.find((m) => m.name === `${key}.jpg`)?.data
    assert.ok(image('000000000')?.equals(server.bytes('/p2-a')), 'sample 0 is p2-a')
    assert.equal(image('000000001'), undefined, 'the failed row has no image, not p1-b')
    assert.ok(image('000000002')?.equals(server.bytes('/p2-c')), 'sample 2 is p2-c')
    const json = JSON.parse(tar.find((m) => m.name === '000000000.json')!.data.toString())
    assert.equal(json.caption, 'cap 0')
    assert.equal(json.sha256, sha256(server.bytes('/p2-a')))
  }
  // An unchanged table on rerun is still all "already done": nothing fetched again.
  const out = join(dir, 'parts-webdataset')
  const requests = server.stats.requests
  const again = await runCli([two, '-o', out, '--output-format', 'webdataset', '--caption-col', 'caption'])
  assert.match(again.stderr, /2 already done/)
  assert.doesNotMatch(again.stderr, /warning/)
  assert.equal(server.stats.requests, requests, 'nothing fetched again (the 404 is permanent)')
})

test('a hash column given on a rerun is checked against the images kept before: a mismatch is no longer ok', async () => {
  const good = server.url('/late-hash-good')
  const bad = server.url('/late-hash-bad')
  const file = join(dir, 'late-hash.csv')
  await writeFile(
    file,
    `url,sha256\n${good},${sha256(server.bytes('/late-hash-good'))}\n${bad},${'0'.repeat(64)}\n`,
  )
  for (const format of ['files', 'webdataset']) {
    const out = join(dir, `late-hash-${format}`)
    const args = [file, '-o', out, '--output-format', format]
    assert.equal((await runCli(args)).code, 0, 'without --hash-col both are kept')
    const requests = server.stats.requests
    const checked = await runCli([...args, '--hash-col', 'sha256'])
    assert.equal(checked.code, 1, checked.stderr)
    assert.match(checked.stderr, /hash-mismatch/)
    assert.match(checked.stderr, /1 already done/)
    assert.equal(server.stats.requests, requests + 1, 'only the image whose hash differs is fetched again')
    const manifest = (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    assert.deepEqual(
      manifest.map((m) => [m.status, m.error ?? null]),
      [
        ['ok', null],
        ['failed', 'hash-mismatch'],
      ],
    )
    if (format === 'files') {
      const kept = (await readdir(out)).filter((f) => !f.startsWith('.') && f.endsWith('.jpg'))
      assert.deepEqual(kept, ['late-hash-good.jpg'], 'the file whose hash differs left the folder')
    }
  }
  // Kept by a run with --hash none, whose journal has no sha256: the file is read for it. Both were
  // skipped as done on their size, the column never looked at (iwonbigbro/gsync#87).
  const unhashed = join(dir, 'late-hash-unhashed')
  assert.equal((await runCli([file, '-o', unhashed, '--hash', 'none'])).code, 0)
  const late = await runCli([file, '-o', unhashed, '--hash-col', 'sha256'])
  assert.equal(late.code, 1, late.stderr)
  assert.match(late.stderr, /hash-mismatch.*\n.*1 already done/s)
  assert.deepEqual(
    (await readdir(unhashed)).filter((f) => f.endsWith('.jpg')),
    ['late-hash-good.jpg'],
    'the file whose hash differs left the folder',
  )
  // A file the user put in its place since is theirs: it stays.
  const out = join(dir, 'late-hash-user')
  assert.equal((await runCli([file, '-o', out])).code, 0)
  await writeFile(join(out, 'late-hash-bad.jpg'), 'MY OWN FILE\n')
  assert.equal((await runCli([file, '-o', out, '--hash-col', 'sha256'])).code, 1)
  assert.equal(await readFile(join(out, 'late-hash-bad.jpg'), 'utf8'), 'MY OWN FILE\n')
})

test('a table that shrank between runs: its resealed shard and the manifest list the same rows', async () => {
  const file = join(dir, 'shrink.csv')
  const table = (n: number) =>
    `url\n${Array.from({ length: n }, (_, i) => server.url(`/shrink-${i}`)).join('\n')}\n`
  const out = join(dir, 'shrink')
  const args = [file, '-o', out, '--output-format', 'webdataset', '--shard-size', '4']
  await writeFile(file, table(7))
  assert.equal((await runCli(args)).code, 0)
  await writeFile(file, table(5))
  const again = await runCli(args)
  assert.equal(again.code, 0, again.stderr)
  const manifest = (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  assert.deepEqual(
    manifest.map((m) => m.path),
    ['000000', '000001', '000002', '000003', '000010'].map(
      (k) => `${k.startsWith('00001') ? '00001' : '00000'}.tar/${k}.jpg`,
    ),
  )
  const members = (await readTar(join(out, '00001.tar'))).map((m) => m.name)
  assert.deepEqual(members, ['000010.jpg', '000010.json'])
  const status = await runCli(['status', out])
  assert.match(status.stdout, /\b5 ok\b/)
})

test('a table that shrank past whole shards: the run stops before sealing, naming them; moved away, the folder follows the table', async () => {
  const file = join(dir, 'shrunk.csv')
  const table = (n: number) =>
    `url\n${Array.from({ length: n }, (_, i) => server.url(`/shrunk-${i}`)).join('\n')}\n`
  const out = join(dir, 'shrunk')
  const args = [file, '-o', out, '--output-format', 'webdataset', '--shard-size', '2']
  await writeFile(file, table(10))
  assert.equal((await runCli(args)).code, 0)
  const before = new Map<string, Buffer>()
  for (const f of await shardFiles(out))
    if (!f.endsWith('_stats.json')) before.set(f, await readFile(join(out, f)))

  // Cut to 5 rows (a `head` of it, say): shards 00003 and 00004 hold rows it no longer has.
  await writeFile(file, table(5))
  const cut = await runCli(args)
  assert.equal(cut.code, 2)
  assert.equal(
    cut.stderr.trim(),
    `imgpull: the input has 5 rows (its last in shard 00002), but ${out} holds 00003.tar to 00004.tar, shards of rows past its end that an earlier run made from a longer input: to keep them, run with the whole input; to drop them, move their .tar, .parquet and _stats.json files out of ${out}, and run again (see imgpull --help)`,
  )
  for (const [f, bytes] of before) assert.ok((await readFile(join(out, f))).equals(bytes), `${f} changed`)
  const status = await runCli(['status', out])
  assert.match(status.stdout, /\b10 ok\b/)

  // Moved away: the last shard is sealed without the rows past the end, and the journal,
  // manifest and status hold the table's 5 rows.
  for (const f of await shardFiles(out)) if (/^0000[34]/.test(f)) await unlink(join(out, f))
  const again = await runCli(args)
  assert.equal(again.code, 0, again.stderr)
  assert.deepEqual(
    (await readTar(join(out, '00002.tar'))).map((m) => m.name),
    ['000020.jpg', '000020.json'],
  )
  const manifest = (await readFile(join(out, 'manifest.jsonl'), 'utf8')).trim().split('\n')
  assert.equal(manifest.length, 5)
  assert.match((await runCli(['status', out])).stdout, /\b5 ok\b/)

  // The whole table again: the rows past the end are fetched anew, into shards of their own.
  await writeFile(file, table(10))
  assert.equal((await runCli(args)).code, 0)
  assert.ok((await readFile(join(out, '00004.tar'))).equals(before.get('00004.tar')!))
})

test('imgpull status on a WebDataset folder names the shard size, how many shards are sealed and which are not yet', async () => {
  // It gave the counts of rows alone: whether the dataset was whole, shard by shard, was for ls.
  const file = join(dir, 'status.csv')
  await writeFile(
    file,
    `url\n${Array.from({ length: 12 }, (_, i) => server.url(`/status-${i}`)).join('\n')}\n`,
  )
  const out = join(dir, 'status')
  // Stopped after 3 rows, one at a time: the run ends with the rows under way (its grace), some
  // shards sealed, the last not.
  const stop = new AbortController()
  let n = 0
  await assert.rejects(async () => {
    for await (const _ of pull(tablesSource(await openTables([file])), {
      out,
      outputFormat: 'webdataset',
      shardSize: 5,
      concurrency: 1,
      signal: stop.signal,
    }))
      if (++n === 3) stop.abort()
  }, /aborted/)
  const tars = (await readdir(out)).filter((f) => f.endsWith('.tar'))
  const cut = await runCli(['status', out])
  assert.equal(cut.code, 0, cut.stderr)
  const line = /^WebDataset shards of 5 samples: (\d) of ([123]) sealed; not sealed yet: ([\d, ]+)$/m.exec(
    cut.stdout,
  )
  assert.ok(line, cut.stdout)
  const [, sealed, shards, unsealed] = line
  assert.equal(Number(sealed), tars.length, cut.stdout)
  const stems = Array.from({ length: Number(shards) }, (_, i) => `0000${i}`)
  assert.deepEqual(
    unsealed.split(', '),
    stems.filter((stem) => !tars.includes(`${stem}.tar`)),
  )
  const json = JSON.parse((await runCli(['status', out, '--json'])).stdout)
  assert.deepEqual(json.shards, { shardSize: 5, shards: Number(shards), sealed: tars.length })
  const whole = await runCli([file, '-o', out, '--output-format', 'webdataset', '--shard-size', '5'])
  assert.equal(whole.code, 0, whole.stderr)
  assert.match(
    (await runCli(['status', out])).stdout,
    /^WebDataset shards of 5 samples: 3 of 3 sealed \(00000\.tar to 00002\.tar\)$/m,
  )
  assert.deepEqual(JSON.parse((await runCli(['status', out, '--json'])).stdout).shards, {
    shardSize: 5,
    shards: 3,
    sealed: 3,
  })
  // One shard sealed is named alone: it read '1 of 1 sealed (00000.tar to 00000.tar)'.
  const one = join(dir, 'status-one')
  const oneRun = await runCli([file, '-o', one, '--output-format', 'webdataset', '--shard-size', '20'])
  assert.equal(oneRun.code, 0, oneRun.stderr)
  assert.match(
    (await runCli(['status', one])).stdout,
    /^WebDataset shards of 20 samples: 1 of 1 sealed \(00000\.tar\)$/m,
  )
  // A folder of files has no shards.
  const files = join(dir, 'status-files')
  assert.equal((await runCli([file, '-o', files])).code, 0)
  assert.doesNotMatch((await runCli(['status', files])).stdout, /shards/)
  assert.equal(JSON.parse((await runCli(['status', files, '--json'])).stdout).shards, null)
})

test('samples held in memory (the spool) and large ones staged as files make the same shards, in key order', async () => {
  // Bodies under 512 KB come whole in memory and go to their shard's spool; larger ones are written
  // to a part file as they come, and staged. One shard holds both kinds.
  const paths = ['/mix-0', '/mix-1?size=700000', '/mix-2', '/mix-3', '/mix-4?size=600000', '/mix-5']
  const out = join(dir, 'mixed')
  const results = []
  for await (const r of pull(
    paths.map((p) => server.url(p)),
    { out, outputFormat: 'webdataset', shardSize: 3 },
  ))
    results.push(r)
  assert.deepEqual(
    results.map((r) => r.status),
    paths.map(() => 'ok'),
  )
  const members = [
    ...(await readTar(join(out, '00000.tar'))),
    ...(await readTar(join(out, '00001.tar'))),
  ].filter((m) => m.name.endsWith('.jpg'))
  assert.deepEqual(
    members.map((m) => m.name),
    ['000000.jpg', '000001.jpg', '000002.jpg', '000010.jpg', '000011.jpg', '000012.jpg'],
  )
  for (const [i, m] of members.entries())
    assert.ok(m.data.equals(server.bytes(paths[i])), `${m.name} differs`)
  assert.deepEqual(
    (await readdir(join(out, '.imgpull', 'shards'))).sort(),
    ['00000.seal.json', '00001.seal.json'],
    'no spool or staged sample is left once the shards are sealed',
  )
})

test("links planted at a shard's work files (spool, rows, tar being written) are never written through: nothing outside the folder changes", async () => {
  // A shared folder, or one unpacked from an archive with its .imgpull/: the spool was opened
  // through the link, read as a cut spool and truncated, the victim's bytes gone.
  const out = join(dir, 'planted')
  const victim = join(dir, 'planted-victim.txt')
  await writeFile(victim, 'precious '.repeat(200))
  const shards = join(out, '.imgpull', 'shards')
  await mkdir(shards, { recursive: true })
  for (const name of ['00000.spool', '00000.rows', '00000.tar.tmp', '00000.parquet.tmp'])
    await symlink(victim, join(shards, name))
  const urls = [0, 1, 2].map((i) => server.url(`/planted-wds/${i}.jpg`))
  const list = join(dir, 'planted.txt')
  await writeFile(list, `${urls.join('\n')}\n`)
  const r = await runCli([list, '-o', out, '--output-format', 'webdataset'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(await readFile(victim, 'utf8'), 'precious '.repeat(200))
  const tar = await readTar(join(out, '00000.tar'))
  const images = tar.filter((m) => m.name.endsWith('.jpg'))
  assert.deepEqual(
    images.map((m) => sha256(m.data)).sort(),
    urls.map((u) => sha256(server.bytes(new URL(u).pathname))).sort(),
  )
})

test('a slow host with a row in every shard: the shards in progress stay few, and a low `ulimit -n` is no EMFILE', async () => {
  // Each shard of 2 rows has one row on a host that takes a second to answer: its other row lands
  // at once, and reading went on opening shard after shard, each holding its files open (spool,
  // rows, tar): 600 shards, 2,400 descriptors, EMFILE.
  const slow = await startImageServer({ ttfb: 1000 })
  try {
    const shards = 600
    const rows = Array.from({ length: shards * 2 }, (_, i) =>
      i % 2 ? slow.url(`/open-${i}`) : server.url(`/open-${i}`),
    )
    const table = join(dir, 'open.csv')
    await writeFile(table, `url\n${rows.join('\n')}\n`)
    const out = join(dir, 'open')
    // Both limits: Node raises the soft one to the hard one (RHEL 7 and many clusters: 4,096).
    const args = [CLI, table, '-o', out, '--output-format', 'webdataset', '--shard-size', '2']
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn('sh', ['-c', 'ulimit -n 1024 && exec "$0" "$@"', process.execPath, ...args])
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (d) => {
        stderr += d
      })
      child.on('close', (code) => resolve({ code, stderr }))
    })
    assert.equal(run.code, 0, run.stderr)
    assert.equal((await readdir(out)).filter((f) => f.endsWith('.tar')).length, shards)
    assert.equal(slow.stats.requests, shards)
  } finally {
    await slow.close()
  }
})

test('`ulimit -n 64` with the default concurrency: a clear line (exit 3) or a whole run, never a bare EMFILE; the rerun fetches only what is left', async () => {
  // The transfers took every descriptor and a shard's spool, rows file or writer thread could not
  // be opened: the run ended with exit 1 and `imgpull: EMFILE: too many open files, open
  // '…/00012.spool'` (or `Worker initialization failure: EMFILE`), naming neither limit nor remedy.
  const rows = Array.from({ length: 300 }, (_, i) => server.url(`/few-fds-${i}?size=30000`))
  const table = join(dir, 'few-fds.csv')
  await writeFile(table, `url\n${rows.join('\n')}\n`)
  const out = join(dir, 'few-fds')
  const args = [table, '-o', out, '--output-format', 'webdataset', '--shard-size', '10']
  const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn('sh', ['-c', 'ulimit -n 64 && exec "$0" "$@"', process.execPath, CLI, ...args])
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d
    })
    child.on('close', (code) => resolve({ code, stderr }))
  })
  assert.ok(run.code === 0 || run.code === 3, run.stderr)
  assert.doesNotMatch(run.stderr, /^imgpull: (EMFILE|Worker initialization)/m)
  // Which open ran out varies with the Node version and the moment (a spool: its path; a writer
  // thread's start, on Node 24: no path): either way the limit and the remedy are named.
  if (run.code === 3)
    assert.match(
      run.stderr,
      /^imgpull: cannot (?:open \S+|open a file or start a thread|load its own code(?: \(\S+\))?): too many open files \(the limit of ulimit -n\); .*raise the limit on open files \(ulimit -n 4096\)/m,
    )
  const done = count(/^([\d,]+) images?,/m.exec(run.stderr)?.[1])
  const before = server.stats.requests
  const rerun = await runCli(args)
  assert.equal(rerun.code, 0, rerun.stderr)
  assert.ok(server.stats.requests - before <= rows.length - done, 'nothing saved is fetched again')
  assert.equal((await readdir(out)).filter((f) => f.endsWith('.tar')).length, 30)
})

test('a run’s own file waits for a free descriptor; one that never comes is said as the limit, with what to do', async () => {
  const { openWaiting } = await import('../src/utils/descriptors.js')
  const { descriptorFault } = await import('../src/sinks/local-faults.js')
  const emfile = (path?: string) =>
    Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE', ...(path ? { path } : {}) })
  let tries = 0
  const opened = await openWaiting(async () => {
    if (++tries < 3) throw emfile()
    return 'fd'
  })
  assert.deepEqual([opened, tries], ['fd', 3])
  await assert.rejects(
    openWaiting(async () => {
      throw Object.assign(new Error('EACCES'), { code: 'EACCES' })
    }),
    { code: 'EACCES' },
  )
  assert.match(
    descriptorFault(emfile('/o/.imgpull/shards/00012.spool'))?.message ?? '',
    /^cannot open \/o\/\.imgpull\/shards\/00012\.spool: too many open files \(the limit of ulimit -n\)$/,
  )
  assert.match(
    descriptorFault(new Error('Worker initialization failure: EMFILE'))?.hint ?? '',
    /ulimit -n 4096.*--concurrency/,
  )
  assert.equal(descriptorFault(Object.assign(new Error('x'), { code: 'ENOENT' })), undefined)
  // A shard's writer thread loading its modules mid-run: the loader says "Cannot find package"
  // for a file it could not open (a CI run under ulimit -n 64 ended with exit 1 and those words).
  const installed = join(import.meta.dirname, '..', 'node_modules', 'hyparquet')
  const notFound = (path: string) =>
    Object.assign(new Error(`Cannot find package '${path}' imported from /x/schema.js`), {
      code: 'ERR_MODULE_NOT_FOUND',
    })
  assert.match(
    descriptorFault(notFound(join(installed, 'index.js')))?.message ?? '',
    /^cannot load its own code \(\S+hyparquet\/index\.js\): too many open files \(the limit of ulimit -n\)$/,
  )
  assert.equal(descriptorFault(notFound(join(dir, 'no-such-package', 'index.js'))), undefined)
})

test('an image wider than int32 holds (an SVG of 3,000,000,000 px, a TIFF LONG can be): its shard is sealed, the Parquet cell null', async () => {
  // hyparquet-writer threw `parquet expected int32 value, got 3000000000` at sealing: the shard,
  // its other samples with it, was never written and the run failed.
  const svg = (width: string) =>
    Buffer.from(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="2"><rect width="1" height="1"/></svg>`,
    )
  const raw = await startRawServer((socket) =>
    eachRequest(socket, (head) => {
      const body = svg(head.includes('/wide') ? '3000000000' : '2147483647')
      socket.end(
        Buffer.concat([
          Buffer.from(
            `HTTP/1.1 200 OK\r\nContent-Type: image/svg+xml\r\nContent-Length: ${body.length}\r\n\r\n`,
          ),
          body,
        ]),
      )
    }),
  )
  try {
    const file = join(dir, 'wide.csv')
    await writeFile(file, `url\n${raw.url('/wide.svg')}\n${raw.url('/max.svg')}\n`)
    const out = join(dir, 'wide')
    const results = []
    for await (const r of pull(tablesSource(await openTables([file], {})), {
      out,
      outputFormat: 'webdataset',
    }))
      results.push(r)
    assert.deepEqual(
      results.map((r) => [r.status, r.width]),
      [
        ['ok', 3_000_000_000],
        ['ok', 2_147_483_647],
      ],
    )
    const rows = await hyparquetRows(join(out, '00000.parquet'))
    assert.deepEqual(
      rows.map((r) => [r.key, r.width, r.original_width, r.height]),
      [
        ['000000000', null, null, 2],
        ['000000001', 2_147_483_647, 2_147_483_647, 2],
      ],
    )
    // The sample's .json and the manifest keep the width the file has.
    const json = (await readTar(join(out, '00000.tar'))).find((m) => m.name === '000000000.json')
    assert.equal(JSON.parse(json!.data.toString()).width, 3_000_000_000)
  } finally {
    await raw.close()
  }
})
