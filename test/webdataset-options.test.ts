import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { gunzipSync, gzipSync } from 'node:zlib'
import { pull, type Result } from '../src/index.js'
import { fixturePath, metadataOf } from './fixtures/transform/index.js'
import { cleanup, runCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { type LocalServer, listenLocal } from './support/raw-server.js'
import { hyparquetRows, readTar, shardFiles } from './support/shards.js'

// The WebDataset output beyond tables: URL lists, the transform stage, library jobs, and the rules
// that keep an output folder to one kind of output.

let server: ImageServer
let files: LocalServer
let origin: string
let dir: string
before(async () => {
  server = await startImageServer()
  // Real images (the fault server's are noise no decoder takes), for the transform stage.
  files = await listenLocal(
    createServer((req, res) => {
      const body = readFileSync(fixturePath(new URL(req.url ?? '/', 'http://x').pathname.slice(1)))
      res.writeHead(200, { 'content-length': body.length }).end(body)
    }),
  )
  origin = files.origin
  dir = await tempDir()
})
after(async () => {
  await server.close()
  await files.close()
  await cleanup(dir)
})

const dataset = ['--output-format', 'webdataset']

test('a URL list: each line a sample at its position, the same URL twice two samples', async () => {
  const list = join(dir, 'list.txt')
  await writeFile(list, [server.url('/l-0'), server.url('/l-1'), server.url('/l-0')].join('\n'))
  const out = join(dir, 'list')
  const r = await runCli([list, '-o', out, ...dataset])
  assert.equal(r.code, 0, r.stderr)
  const members = await readTar(join(out, '00000.tar'))
  assert.deepEqual(
    members.map((m) => m.name),
    ['000000000.jpg', '000000000.json', '000000001.jpg', '000000001.json', '000000002.jpg', '000000002.json'],
    'keys for the default 10,000 samples a shard; no caption, no .txt',
  )
  assert.ok(members[4].data.equals(server.bytes('/l-0')))
})

test('the transform stage: the shard holds what it made, and the size as downloaded', async () => {
  const list = join(dir, 'resize.txt')
  await writeFile(list, ['photo-orient6-gps.jpg', 'alpha.png'].map((n) => `${origin}/${n}`).join('\n'))
  const out = join(dir, 'resize')
  const r = await runCli([
    list,
    '-o',
    out,
    ...dataset,
    '--resize',
    'keep-ratio',
    '--size',
    '32',
    '--encode',
    'webp',
  ])
  assert.equal(r.code, 0, r.stderr)
  const members = await readTar(join(out, '00000.tar'))
  assert.deepEqual(
    members.map((m) => m.name),
    ['000000000.webp', '000000000.json', '000000001.webp', '000000001.json'],
  )
  for (const i of [0, 2]) {
    const meta = await metadataOf(members[i].data)
    const json = JSON.parse(members[i + 1].data.toString())
    assert.equal(meta.format, 'webp')
    assert.equal(Math.min(meta.width!, meta.height!), 32)
    assert.deepEqual([json.width, json.height], [meta.width, meta.height])
    assert.ok(
      json.original_width > json.width && json.original_height > json.height,
      'the size as downloaded',
    )
  }
  const jsons = members.filter((m) => m.name.endsWith('.json')).map((m) => JSON.parse(m.data.toString()))
  assert.deepEqual(
    (await hyparquetRows(join(out, '00000.parquet'))).map((row) => [row.width, row.original_width]),
    jsons.map((json) => [json.width, json.original_width]),
  )
})

test('library jobs: their own rows and keys; a key given twice is a failed row, a row given twice a UsageError', async () => {
  const out = join(dir, 'library')
  const jobs = [
    { url: server.url('/j-a'), row: 2, key: 'photo-a', meta: { id: 'a' } },
    { url: server.url('/j-b'), row: 0, key: 'photo-b', meta: { id: 'b' } },
    { url: server.url('/j-c'), row: 1, key: 'photo-a', meta: { id: 'c' } },
  ]
  const results: Result[] = []
  for await (const r of pull(jobs, { out, outputFormat: 'webdataset', shardSize: 2 })) results.push(r)
  const dup = results.find((r) => r.job.key === 'photo-a' && r.job.row === 1)!
  assert.deepEqual([dup.status, dup.error], ['failed', 'invalid-row'])
  assert.deepEqual(
    await shardFiles(out),
    ['00000.parquet', '00000.tar', '00000_stats.json', '00001.parquet'].concat([
      '00001.tar',
      '00001_stats.json',
    ]),
  )
  assert.deepEqual(
    (await hyparquetRows(join(out, '00000.parquet'))).map((row) => [row.key, row.id, row.status]),
    [
      ['000000', 'b', 'success'],
      ['000001', 'c', 'failed'],
    ],
  )
  const twice = pull(
    [
      { url: server.url('/t-0'), row: 0 },
      { url: server.url('/t-1'), row: 0 },
    ],
    { out: join(dir, 'twice'), outputFormat: 'webdataset' },
  )
  await assert.rejects(async () => {
    for await (const _ of twice);
  }, /^UsageError: the source gave row 0 twice/)
})

test('library jobs carrying the cells a Parquet reader gives (bigint, bytes, a Map) and text cut inside an emoji: the run ends whole, the manifest, .json, .txt and Parquet agreeing', async () => {
  // hyparquet's parquetReadObjects and DuckDB's Node client give INT64 cells as bigint: a job
  // carrying one failed the whole run with `TypeError: Do not know how to serialize a BigInt`
  // (JSON.stringify of its meta for the journal; databricks/appkit#270, nodejs/node#36377), naming
  // neither job nor column. A caption or value cut inside an emoji by a UTF-16 slice (`"\ud83d"`
  // alone) was U+FFFD in the .txt and Parquet, the escape in the .json (Python's json module reads
  // it into a string it cannot encode: ThomasKliszowski/json_reindent#12, web-platform-tests/wpt#13828)
  // and three U+FFFD in the manifest.
  const out = join(dir, 'bigint-meta')
  const meta = (i: number) => ({
    id: 2n ** 63n - BigInt(i + 1),
    n: BigInt(i),
    raw: Uint8Array.from([i, 255]),
    tags: new Map([['k', 1n]]),
    note: `cut ${i} \ud83d`,
  })
  const jobs = [0, 1].map((row) => ({
    url: server.url(`/big-${row}`),
    row,
    meta: meta(row),
    caption: `caption \ud83d${row}`,
  }))
  const results: Result[] = []
  for await (const r of pull(jobs, { out, outputFormat: 'webdataset', shardSize: 2 })) results.push(r)
  assert.deepEqual(
    results.map((r) => r.status),
    ['ok', 'ok'],
  )
  const expected = [0, 1].map((i) => ({
    id: String(2n ** 63n - BigInt(i + 1)),
    n: i,
    raw: Buffer.from([i, 255]).toString('base64'),
    tags: { k: 1 },
    note: `cut ${i} \uFFFD`,
  }))
  const captions = [0, 1].map((i) => `caption \uFFFD${i}`)
  const lines = (await readFile(join(out, 'manifest.jsonl'), 'utf8')).trim().split('\n')
  assert.deepEqual(
    lines.map((line) => {
      const { meta, caption } = JSON.parse(line)
      return { meta, caption }
    }),
    expected.map((meta, i) => ({ meta, caption: captions[i] })),
  )
  const members = await readTar(join(out, '00000.tar'))
  const json = members.filter((m) => m.name.endsWith('.json')).map((m) => JSON.parse(m.data.toString()))
  assert.deepEqual(
    json.map(({ id, n, raw, tags, note }) => ({ id, n, raw, tags, note })),
    expected,
  )
  assert.deepEqual(
    json.map((j) => j.caption),
    captions,
  )
  assert.deepEqual(
    members.filter((m) => m.name.endsWith('.txt')).map((m) => m.data.toString()),
    captions,
  )
  assert.deepEqual(
    (await hyparquetRows(join(out, '00000.parquet'))).map((r) => [r.id, r.n, r.raw, r.note, r.caption]),
    expected.map((e, i) => [e.id, BigInt(e.n), e.raw, e.note, captions[i]]),
  )
})

test('a sealed shard whose tar was compressed in its place (gzip 00000.tar): the rerun is refused before any fetch, with the command that unpacks it', async () => {
  // WebDataset reads `.tar.gz` shards (webdataset/webdataset#5, huggingface/datasets#6931), so a
  // finished dataset gets compressed to save room; a rerun
  // (to retry failures) read such a shard as never sealed: every sample fetched again, silently,
  // and a second 00000.tar written beside 00000.tar.gz.
  const out = join(dir, 'packed')
  const list = join(dir, 'packed.txt')
  await writeFile(list, `${server.url('/p-0')}\n${server.url('/p-1')}\n`)
  assert.equal((await runCli([list, '-o', out, ...dataset])).code, 0)
  const tar = join(out, '00000.tar')
  await writeFile(`${tar}.gz`, gzipSync(await readFile(tar)))
  await unlink(tar)
  const requests = server.stats.requests
  const refused = await runCli([list, '-o', out, ...dataset])
  assert.equal(refused.code, 2)
  assert.equal(
    refused.stderr.trim(),
    `imgpull: ${out} holds 00000.tar.gz but not 00000.tar: imgpull skips and seals again shards of plain tars only, so this run would fetch that shard's samples again and write 00000.tar beside it; unpack it first (gzip -dc ${tar}.gz > ${tar}), or move it away to fetch its samples anew (see imgpull --help)`,
  )
  assert.equal(server.stats.requests, requests, 'nothing fetched')
  assert.equal(existsSync(tar), false)
  await writeFile(tar, gunzipSync(await readFile(`${tar}.gz`)))
  const unpacked = await runCli([list, '-o', out, ...dataset])
  assert.equal(unpacked.code, 0, unpacked.stderr)
  assert.match(unpacked.stderr, /0 images, .*2 already done/)
  assert.equal(server.stats.requests, requests, 'nothing fetched')
})

test('one folder, one kind of output: another format or shard size is a usage error before any fetch', async () => {
  const list = join(dir, 'guard.txt')
  await writeFile(list, server.url('/g-0'))
  const files = join(dir, 'guard-files')
  assert.equal((await runCli([list, '-o', files])).code, 0)
  let requests = server.stats.requests
  const intoFiles = await runCli([list, '-o', files, ...dataset])
  assert.equal(intoFiles.code, 2)
  assert.match(intoFiles.stderr, /holds the files of an earlier run \(--output-format files\)/)
  // The refused run is no run of the folder's (it said "over 2 runs", the second never ended).
  assert.match(
    (await runCli(['status', files])).stdout,
    /: 1 ok \(.*\), 0 failed, 0 not finished, over 1 run$/m,
  )

  const shards = join(dir, 'guard-shards')
  assert.equal((await runCli([list, '-o', shards, ...dataset, '--shard-size', '100'])).code, 0)
  const asFiles = await runCli([list, '-o', shards])
  assert.equal(asFiles.code, 2)
  assert.match(
    asFiles.stderr,
    /holds WebDataset shards of 100 samples: run with --output-format webdataset --shard-size 100/,
  )
  const resized = await runCli([list, '-o', shards, ...dataset, '--shard-size', '50'])
  assert.equal(resized.code, 2)
  assert.match(resized.stderr, /shards of 100 samples, not 50: run with --shard-size 100/)
  // Samples already there are not made again: other transform options would mix two kinds of image.
  const cropped = await runCli([
    list,
    '-o',
    shards,
    ...dataset,
    '--shard-size',
    '100',
    '--resize',
    'center-crop',
    '--size',
    '64',
  ])
  assert.equal(cropped.code, 2)
  assert.match(
    cropped.stderr,
    /holds WebDataset shards of images as downloaded \(no --resize, --encode or --quality\), where this run asks for images made with --resize center-crop --size 64: samples already there are not made again/,
  )
  // A folder that kept no image yet (its one row failed) takes the new options.
  const gone = join(dir, 'guard-gone.txt')
  await writeFile(gone, server.url('/g-gone?status=404'))
  const empty = join(dir, 'guard-empty')
  assert.equal((await runCli([gone, '-o', empty, ...dataset])).code, 1)
  const later = await runCli([gone, '-o', empty, ...dataset, '--resize', 'border', '--size', '8'])
  assert.equal(later.code, 1, later.stderr)
  assert.match(
    await readFile(join(empty, '.imgpull', 'dataset.json'), 'utf8'),
    /"images":"--resize border --size 8"/,
  )
  requests += 1
  const photo = join(dir, 'guard-photo.txt')
  await writeFile(photo, `${origin}/alpha.png`)
  const small = join(dir, 'guard-small')
  const made = ['--resize', 'keep-ratio', '--size', '32', '--encode', 'png']
  const first = await runCli([photo, '-o', small, ...dataset, ...made])
  assert.equal(first.code, 0, first.stderr)
  assert.equal((await runCli([photo, '-o', small, ...dataset, ...made])).code, 0, 'the same options again')
  const plain = await runCli([photo, '-o', small, ...dataset])
  assert.equal(plain.code, 2)
  assert.match(
    plain.stderr,
    /images made with --resize keep-ratio --size 32 --encode png, where this run asks for images as downloaded/,
  )

  // Shards no imgpull run here wrote (another tool's; or ours, .imgpull/ removed): never written over.
  const foreign = join(dir, 'guard-foreign')
  await mkdir(foreign)
  await writeFile(join(foreign, '00000.tar'), 'not ours')
  const over = await runCli([list, '-o', foreign, ...dataset])
  assert.equal(over.code, 2)
  assert.match(over.stderr, /holds 00000\.tar, which no imgpull run here wrote: use another output folder/)
  assert.equal(await readFile(join(foreign, '00000.tar'), 'utf8'), 'not ours')
  // A Hugging Face input beside the outputs (0000.parquet: four digits) is no shard.
  const beside = join(dir, 'guard-hf')
  await mkdir(beside)
  await writeFile(join(beside, '0000.parquet'), 'an input table')
  const besideRun = await runCli([list, '-o', beside, ...dataset])
  assert.equal(besideRun.code, 0, besideRun.stderr)
  requests++
  // A queue's folder (its worker bound it).
  const queued = join(dir, 'guard-queue')
  await mkdir(join(queued, '.imgpull', 'queue'), { recursive: true })
  await writeFile(join(queued, '.imgpull', 'queue', 'input.json'), '{"inputId":"x","queue":"q"}\n')
  const intoQueue = await runCli([list, '-o', queued, ...dataset])
  assert.equal(intoQueue.code, 2)
  assert.match(intoQueue.stderr, /holds the shards of a queue \(imgpull worker\)/)
  assert.equal(server.stats.requests, requests + 1, 'only the webdataset run into a new folder fetched')

  // --shard-size without the WebDataset output would be dropped without a word: refused.
  const forgotten = await runCli([list, '-o', join(dir, 'forgotten'), '--shard-size', '5'])
  assert.equal(forgotten.code, 2)
  assert.match(
    forgotten.stderr,
    /^imgpull: --shard-size is for --output-format webdataset: add it, or leave --shard-size out/,
  )
  assert.equal(server.stats.requests, requests + 1, 'nothing fetched')

  const bad = await runCli([list, '-o', join(dir, 'bad'), '--output-format', 'zip'])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /--output-format.*zip/)
  assert.throws(
    () => pull([], { outputFormat: 'webdataset', shardSize: 0 }),
    /`shardSize` to be an integer from 1 to 1,000,000/,
  )
  // A size that would allocate gigabytes for a few rows is refused before the folder is made or
  // bound to it (it was bound first, and every later run told to use that size again).
  const huge = join(dir, 'huge')
  const tooBig = await runCli([list, '-o', huge, ...dataset, '--shard-size', '99999999999'])
  assert.equal(tooBig.code, 2, tooBig.stderr)
  assert.match(
    tooBig.stderr,
    /^imgpull: Expected --shard-size to be an integer from 1 to 1,000,000, got 99999999999/,
  )
  assert.ok(!existsSync(huge), 'no folder made')
})

test('a rerun with another --caption-col or --columns is refused once a shard is sealed, naming what the folder was made with; the sealed shards are left as they are', async () => {
  const table = join(dir, 'captions.csv')
  await writeFile(
    table,
    `url,caption,license,id\n${[0, 1, 2, 3].map((i) => `${server.url(`/cap-${i}`)},photo ${i},cc0,${i}`).join('\n')}\n`,
  )
  const out = join(dir, 'captions')
  const args = [table, '-o', out, ...dataset, '--shard-size', '2']
  assert.equal((await runCli([...args, '--caption-col', 'caption'])).code, 0)
  const sealed = await readFile(join(out, '00000.tar'))
  const requests = server.stats.requests

  const forgotten = await runCli(args)
  assert.equal(forgotten.code, 2)
  assert.deepEqual(forgotten.stderr.trim().split('\n'), [
    // The table's `caption` column, carried without --caption-col, would be left out of the shards.
    "imgpull: warning: the table's column caption: the shards' .json and Parquet have imgpull's own column of that name (see README, Datasets), so the table's is left out there; the manifest's meta keeps it (--caption-col caption makes that column the samples' caption)",
    `imgpull: ${out} holds WebDataset shards whose rows were made with --caption-col caption, where this run gives none: sealed shards are not sealed again with other captions or columns, so run with the same options, or use another output folder (see imgpull --help)`,
  ])
  const fewer = await runCli([...args, '--caption-col', 'caption', '--columns', 'license'])
  assert.equal(fewer.code, 2)
  assert.match(
    fewer.stderr,
    /made with the columns caption,license,id carried \(--columns caption,license,id\), where this run carries license:/,
  )
  assert.equal(server.stats.requests, requests, 'nothing fetched')
  assert.ok((await readFile(join(out, '00000.tar'))).equals(sealed), 'the shard keeps its captions')
  assert.ok((await readTar(join(out, '00001.tar'))).some((m) => m.name.endsWith('.txt')))

  // The same rows, however named: --columns listing what the default carried.
  const same = await runCli([...args, '--caption-col', 'caption', '--columns', 'caption,license,id'])
  assert.equal(same.code, 0, same.stderr)
  assert.ok((await readFile(join(out, '00000.tar'))).equals(sealed))

  // A folder with no shard sealed yet takes the new ones: its first run stopped at a quote never
  // closed, its rows' images staged, its one shard not sealed.
  const cut = join(dir, 'captions-cut.csv')
  await writeFile(
    cut,
    `${(await readFile(table, 'utf8')).split('\n').slice(0, 3).join('\n')}\n"${server.url('/cap-x')},never closed\n`,
  )
  const half = join(dir, 'captions-half')
  const halfArgs = ['-o', half, ...dataset, '--shard-size', '10']
  const stopped = await runCli([cut, ...halfArgs, '--caption-col', 'caption'])
  assert.equal(stopped.code, 2, stopped.stderr)
  assert.equal(existsSync(join(half, '00000.tar')), false)
  const other = await runCli([table, ...halfArgs])
  assert.equal(other.code, 0, other.stderr)
  assert.equal((await readTar(join(half, '00000.tar'))).filter((m) => m.name.endsWith('.txt')).length, 0)
})

test("a dataset.json damaged or gone: no run takes the shards for files or for no run's, and the message says how to write it again", async () => {
  const list = join(dir, 'record.txt')
  await writeFile(list, [server.url('/r-0'), server.url('/r-1')].join('\n'))
  const out = join(dir, 'record')
  const args = [list, '-o', out, ...dataset, '--shard-size', '2']
  assert.equal((await runCli(args)).code, 0)
  const record = join(out, '.imgpull', 'dataset.json')
  const tar = await readFile(join(out, '00000.tar'))
  const requests = server.stats.requests

  await writeFile(record, '{"format":"webd') // cut short
  const damaged = await runCli(args)
  assert.equal(damaged.code, 2)
  assert.match(
    damaged.stderr,
    /dataset\.json is damaged: .*write it again as \{"format":"webdataset","shardSize":N\}/,
  )
  assert.doesNotMatch(damaged.stderr, /remove it/)

  await unlink(record)
  for (const run of [args, [list, '-o', out]]) {
    const refused = await runCli(run)
    assert.equal(refused.code, 2, refused.stderr)
    assert.match(
      refused.stderr,
      /holds WebDataset shards whose record, .*dataset\.json, is gone: write it again/,
    )
  }
  assert.equal(server.stats.requests, requests, 'nothing fetched')
  assert.deepEqual(
    await shardFiles(out),
    ['00000.parquet', '00000.tar', '00000_stats.json'],
    'no file written beside the shards',
  )

  await writeFile(record, '{"format":"webdataset","shardSize":2}')
  const mended = await runCli(args)
  assert.equal(mended.code, 0, mended.stderr)
  assert.ok((await readFile(join(out, '00000.tar'))).equals(tar))
  assert.equal(server.stats.requests, requests, 'nothing fetched')
})

test('a webdataset run that read no row leaves no layout behind: the next run may choose its shard size or files', async () => {
  const header = join(dir, 'header-only.csv')
  await writeFile(header, 'url,caption\n')
  const table = join(dir, 'one-row.csv')
  await writeFile(table, `url\n${server.url('/no-row-0')}\n`)
  const out = join(dir, 'no-row')
  assert.equal((await runCli([header, '-o', out, ...dataset, '--shard-size', '4'])).code, 0)
  // It holds no shard: "holds WebDataset shards of 4 samples" was untrue, and refused a good run.
  const sized = await runCli([table, '-o', out, ...dataset, '--shard-size', '5'])
  assert.equal(sized.code, 0, sized.stderr)
  assert.match(await readFile(join(out, '.imgpull', 'dataset.json'), 'utf8'), /"shardSize":5/)
  // Once a row is in the journal, the layout holds.
  const again = await runCli([table, '-o', out, ...dataset, '--shard-size', '6'])
  assert.equal(again.code, 2)
  assert.match(again.stderr, /holds WebDataset shards of 5 samples, not 6/)
  const files = join(dir, 'no-row-files')
  assert.equal((await runCli([header, '-o', files, ...dataset])).code, 0)
  const asFiles = await runCli([table, '-o', files])
  assert.equal(asFiles.code, 0, asFiles.stderr)
  assert.equal(existsSync(join(files, '.imgpull', 'dataset.json')), false)
})

test('--columns naming imgpull own columns warns, in one line, that the shards leave them out; the caption and hash columns named so are not', async () => {
  const table = join(dir, 'shadowed.csv')
  await writeFile(
    table,
    `url,status,key,caption,sha256,note\n${server.url('/shadow-0')},kept,k-0,a cat,${'0'.repeat(64)},n\n`,
  )
  const out = join(dir, 'shadowed')
  const r = await runCli([
    table,
    '-o',
    out,
    ...dataset,
    '--caption-col',
    'caption',
    '--columns',
    'status,key,caption,note',
  ])
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(
    r.stderr.split('\n').filter((line) => line.includes('warning')),
    [
      "imgpull: warning: --columns status,key: the shards' .json and Parquet have imgpull's own columns of those names (see README, Datasets), so the table's are left out there; the manifest's meta keeps them",
    ],
  )
  const sample = JSON.parse(
    (await readTar(join(out, '00000.tar'))).find((m) => m.name.endsWith('.json'))?.data.toString() ?? '{}',
  )
  assert.equal(sample.status, 'success')
  assert.equal(sample.note, 'n')
  // A caption column named caption is the caption; none of it is left out: no warning.
  const quiet = await runCli([
    table,
    '-o',
    join(dir, 'shadowed-2'),
    ...dataset,
    '--caption-col',
    'caption',
    '--columns',
    'caption,note',
  ])
  assert.equal(quiet.code, 0, quiet.stderr)
  assert.doesNotMatch(quiet.stderr, /warning/)
})

test('a table whose columns are named as imgpull own ones (caption, width, sha256) warns without --columns too, saying the option that keeps a caption or a hash', async () => {
  // A `caption` column without --caption-col: every sample's .json said `"caption": null` and the
  // Parquet's caption was null, the table's captions nowhere in the shards, and nothing said.
  const table = join(dir, 'own-named.csv')
  await writeFile(
    table,
    `url,caption,width,sha256,note\n${server.url('/own-named-0')},a fox,640,${'0'.repeat(64)},n\n`,
  )
  const r = await runCli([table, '-o', join(dir, 'own-named'), ...dataset])
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(
    r.stderr.split('\n').filter((line) => line.includes('warning')),
    [
      "imgpull: warning: the table's columns caption,width,sha256: the shards' .json and Parquet have imgpull's own columns of those names (see README, Datasets), so the table's are left out there; the manifest's meta keeps them (--caption-col caption makes that column the samples' caption, --hash-col sha256 checks each image against that column)",
    ],
  )
  // Given the roles, the caption and the hash are the table's: only `width` is left out.
  const roles = await runCli([table, '-o', join(dir, 'own-named-2'), ...dataset, '--caption-col', 'caption'])
  assert.deepEqual(
    roles.stderr.split('\n').filter((line) => line.includes('warning')),
    [
      "imgpull: warning: the table's columns width,sha256: the shards' .json and Parquet have imgpull's own columns of those names (see README, Datasets), so the table's are left out there; the manifest's meta keeps them (--hash-col sha256 checks each image against that column)",
    ],
  )
})
