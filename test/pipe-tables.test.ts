// A table given as a pipe (`imgpull <(zcat t.csv.gz) --input-format csv`, a named FIFO, `-` with
// --input-format) was refused ("a table must be a regular file or a folder"); CSV, TSV and JSON
// lines stream from it now, and Parquet, read from its end, is refused in one line saying to save
// it first. `enqueue` given a list or table that is a pipe stopped with 'ESPIPE: invalid seek'
// (exit 1), and a job pointing at /dev/fd/63 would send workers to a path of the enqueuing
// machine alone: its rows are read at enqueue and carried in the jobs.
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, constants, createWriteStream, openSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { gzipSync } from 'node:zlib'
import Database from 'better-sqlite3'
import { parquetWriteFile } from 'hyparquet-writer'
import { UsageError } from '../src/errors.js'
import { inputWord, PipeReadOnce, PipeTap, STDIN_PATH, shellPipe } from '../src/sources/pipe-list.js'
import { tableSource } from '../src/sources/tables/index.js'
import { streamHead } from '../src/sources/tables/input.js'
import { ownChild } from './support/children.js'
import {
  CLI,
  type CliResult,
  cleanup,
  listFiles,
  outputFiles,
  runCli,
  startCli,
  tempDir,
} from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { type RedisServer, startRedis } from './support/redis.js'
import { queueManifests, webdatasetOf } from './support/shards.js'
import { until } from './support/wait.js'

/** All of a stream's bytes, as text. */
async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString()
}

/** The CLI run with standard input the file at `path` (`imgpull - ... < path`), not a pipe. */
function runCliFrom(path: string, args: string[]): Promise<CliResult> {
  const fd = openSync(path, 'r')
  const child = ownChild(spawn(process.execPath, [CLI, ...args], { stdio: [fd, 'pipe', 'pipe'] }))
  closeSync(fd)
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (d) => {
    stdout += d
  })
  child.stderr!.setEncoding('utf8').on('data', (d) => {
    stderr += d
  })
  return new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  )
}

let server: ImageServer
let dir: string
let fifos = 0

/** A named FIFO that `content` is written to once a reader opens it; its path. */
function fifoOf(content: string | Buffer, name = `t${fifos++}.fifo`): string {
  const path = join(dir, name)
  execFileSync('mkfifo', [path])
  const out = createWriteStream(path)
  out.on('error', () => {}) // a reader that refuses it closes it unread
  out.end(content)
  return path
}

/** Open a FIFO no reader took (a refused one) and close it: its writer is waiting for one. */
function unblock(path: string): void {
  closeSync(openSync(path, constants.O_RDONLY | constants.O_NONBLOCK))
}

const csv = (prefix: string, n: number) =>
  `url,caption\n${Array.from({ length: n }, (_, i) => `${server.url(`/${prefix}/${i}.jpg`)},"cap, ${i}"`).join('\n')}\n`

before(async () => {
  server = await startImageServer()
  dir = await tempDir('imgpull-pipe-tables-')
})
after(async () => {
  await server?.close()
  await cleanup(dir)
})

describe('tables from a pipe', () => {
  test('a CSV table of 30,000 rows from a FIFO: every row once, in order, past the bytes its checks kept', async () => {
    const rows = 30_000
    const text = `url,caption\n${Array.from({ length: rows }, (_, i) => `https://h.example/${i}.jpg,"a caption, number ${i}"`).join('\n')}\n`
    const seen: string[] = []
    for await (const job of tableSource([fifoOf(text)], { format: 'csv' })) seen.push(job.url)
    assert.equal(seen.length, rows)
    for (let i = 0; i < rows; i += 997) assert.equal(seen[i], `https://h.example/${i}.jpg`)
    assert.equal(seen.at(-1), `https://h.example/${rows - 1}.jpg`)
  })

  test('JSON lines and gzip-compressed CSV from a FIFO', async () => {
    const jsonl = `${Array.from({ length: 1500 }, (_, i) => JSON.stringify({ url: `https://h.example/${i}.jpg`, n: i })).join('\n')}\n`
    const fromJsonl: string[] = []
    for await (const job of tableSource([fifoOf(jsonl)], { format: 'jsonl' })) fromJsonl.push(job.url)
    assert.equal(fromJsonl.length, 1500)
    assert.equal(fromJsonl[1499], 'https://h.example/1499.jpg')
    const gz = gzipSync('url\nhttps://h.example/a.jpg\nhttps://h.example/b.jpg\n')
    const fromGzip: string[] = []
    for await (const job of tableSource([fifoOf(gz)], { format: 'csv' })) fromGzip.push(job.url)
    assert.deepEqual(fromGzip, ['https://h.example/a.jpg', 'https://h.example/b.jpg'])
  })

  test('the command line: a FIFO named .csv, and - with --input-format, are read as tables', async () => {
    const out = join(dir, 'fifo-out')
    const named = await runCli([fifoOf(csv('fifo', 3), 'named.csv'), '-o', out, '-q'])
    assert.equal(named.code, 0, named.stderr)
    assert.equal((await outputFiles(out)).length, 3)
    const stdinOut = join(dir, 'stdin-out')
    const piped = await runCli(['-', '--input-format', 'tsv', '-o', stdinOut, '-q'], {
      input: `url\tcaption\n${server.url('/stdin/0.jpg')}\ta\n${server.url('/stdin/1.jpg')}\tb\n`,
    })
    assert.equal(piped.code, 0, piped.stderr)
    assert.deepEqual(await outputFiles(stdinOut), ['0.jpg', '1.jpg'])
  })

  test('Parquet from a pipe is refused in one line, exit 2, a finished run left as it was', async () => {
    const out = join(dir, 'finished')
    const first = await runCli([fifoOf(csv('finished', 2), 'first.csv'), '-o', out, '-q'])
    assert.equal(first.code, 0, first.stderr)
    const state = async () => {
      const files = Object.fromEntries(
        await Promise.all(
          (await listFiles(out))
            .filter((f) => !f.includes('journal.db'))
            .map(async (f) => [f, (await readFile(join(out, f))).toString('base64')] as const),
        ),
      )
      const db = new Database(join(out, '.imgpull', 'journal.db'), { readonly: true })
      const jobs = db.prepare('SELECT * FROM jobs').all()
      db.close()
      return { files, jobs }
    }
    const before = await state()
    const parquet = fifoOf('PAR1 not really')
    const r = await runCli([parquet, '--input-format', 'parquet', '-o', out])
    unblock(parquet)
    assert.equal(r.code, 2, r.stderr)
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr)
    assert.match(
      r.stderr,
      /^imgpull: cannot read '.*\.fifo' as Parquet: it is a pipe, .*save it to a file first/,
    )
    assert.deepEqual(await state(), before)
  })
})

describe('a piped table stopped, and read once', () => {
  test('Ctrl-C while the run waits on the pipe: exit 130, the journal holds what is on disk, and the same rows piped again fetch only the rest', async () => {
    const out = join(dir, 'stopped')
    const paths = Array.from({ length: 10 }, (_, i) => `/stopped/${i}.jpg`)
    // Row 5's long caption fills the first MiB the checks read before the rows (`ESCAPE_SNIFF_BYTES`).
    const row = (i: number) => `${server.url(paths[i]!)},"caption, ${i === 5 ? 'x'.repeat(1_100_000) : i}"\n`
    // The writer stays open after the first 7 rows: the run fetches 6 (the CSV reader holds the last
    // record until the next begins) and waits for more.
    const fifo = join(dir, 'stopped.csv')
    execFileSync('mkfifo', [fifo])
    const writer = createWriteStream(fifo)
    writer.on('error', () => {})
    writer.write(`url,caption\n${[0, 1, 2, 3, 4, 5, 6].map(row).join('')}`)
    const run = startCli([fifo, '-o', out, '-q'])
    await until(
      'the first 6 rows fetched',
      async () => (await outputFiles(out).catch(() => [])).length >= 6,
      20_000,
    ).finally(() => run.child.kill('SIGINT'))
    const stopped = await run.done
    writer.destroy()
    assert.equal(stopped.code, 130, stopped.stderr)
    // What the journal says is done is on disk, whole.
    const db = new Database(join(out, '.imgpull', 'journal.db'), { readonly: true })
    const done = db.prepare("SELECT url, path FROM jobs WHERE state = 'ok'").all() as {
      url: string
      path: string
    }[]
    db.close()
    assert.ok(done.length >= 6, `${done.length} done`)
    assert.equal((await outputFiles(out)).length, done.length)
    for (const { url, path } of done)
      assert.deepEqual(await readFile(join(out, path)), server.bytes(new URL(url).pathname), url)
    // The same rows, piped whole: those not reached are fetched, those done are not asked for again.
    const requested = (path: string) => server.log.filter((r) => r.url === path).length
    const again = await runCli([
      fifoOf(`url,caption\n${paths.map((_, i) => row(i)).join('')}`, 'again.csv'),
      '-o',
      out,
      '-q',
    ])
    assert.equal(again.code, 0, again.stderr)
    assert.equal((await outputFiles(out)).length, 10)
    assert.deepEqual(
      paths.map(requested),
      paths.map(() => 1),
    )
  })

  for (const [format, header, row] of [
    [
      'csv',
      'url,caption\n',
      (url: string, i: number) => `${url},"caption, ${i}${i === 1 ? '\nits second line' : ''}"\n`,
    ],
    ['tsv', 'url\tcaption\n', (url: string, i: number) => `${url}\tcaption ${i}\n`],
    ['jsonl', '', (url: string, i: number) => `${JSON.stringify({ url, caption: `caption ${i}` })}\n`],
  ] as const)
    test(`a piped ${format} table written row by row (a crawler) is fetched as its rows come, each row once it ends`, async () => {
      const out = join(dir, `trickle-${format}`)
      const paths = Array.from({ length: 6 }, (_, i) => `/trickle-${format}/${i}.jpg`)
      const line = (i: number) => row(server.url(paths[i]!), i)
      // The first rows, a few hundred bytes, then the writer waits: the checks read a pipe's head
      // (1 KiB for what it is, 1 MiB for its CSV escape) and waited for all of it, fetching nothing;
      // then the CSV reader held the last row written until the next began (csv-parse looks a few
      // bytes past a line's end before it ends the record), and the JSON lines one waited for its
      // first 1000 lines to learn the columns.
      const fifo = join(dir, `trickle.${format}`)
      execFileSync('mkfifo', [fifo])
      const writer = createWriteStream(fifo)
      writer.on('error', () => {})
      // Row 1's caption spans two lines (CSV): written apart, its first line is not a row of its own.
      const [first, second] = line(1).split('its second line')
      writer.write(`${header}${line(0)}${second === undefined ? line(1) : first}`)
      const run = startCli([fifo, '-o', out, '-q'])
      try {
        const asked = () => server.log.filter((r) => r.url.startsWith(`/trickle-${format}/`)).length
        if (second !== undefined) {
          await until('the first row fetched while the pipe is open', async () => asked() >= 1, 20_000)
          writer.write(`its second line${second}`)
          await until(
            'the row whose caption spans lines fetched once its last line came',
            async () => asked() >= 2,
            20_000,
          )
          writer.write(line(2))
        } else writer.write(line(2))
        await until(
          'every row written so far fetched while the pipe is open',
          async () => asked() >= 3,
          20_000,
        )
        assert.ok(!writer.closed)
        writer.end([3, 4, 5].map(line).join(''))
        const done = await run.done
        assert.equal(done.code, 0, done.stderr)
        assert.equal((await outputFiles(out)).length, 6)
        assert.equal(asked(), 6)
      } finally {
        run.child.kill('SIGKILL')
        writer.destroy()
      }
    })

  test('a Spark \\" past a pipe\'s sniff is said to be past what the pipe gave then, not past a first MiB it never gave', async () => {
    // The escape of a piped CSV is told from what it gave before it went quiet: a few hundred
    // bytes here, which the message called the file's first 1 MiB.
    for (const [name, late, expected] of [
      [
        'spark-row.csv',
        'https://h.example/late.jpg,"say \\"hi\\", now"\n',
        /^\S*spark-row\.csv line 3: 3 fields where the header has 2: a field holds \\", Spark's escape for a quote, but the first \d+ B of \S*spark-row\.csv \(all it gave before half a second without a byte\) show none, so it is read as RFC 4180$/,
      ],
      [
        'spark-lines.csv',
        'https://h.example/late.jpg,"A 12\\""\nhttps://h.example/next.jpg,"next"\n',
        /^\S*spark-lines\.csv line 3: a quote opens field 2 .*: the record holds \\", Spark's escape for a quote, but the first \d+ B of \S*spark-lines\.csv \(all it gave before half a second without a byte\) show none, so it is read as RFC 4180; /,
      ],
    ] as const) {
      const fifo = join(dir, name)
      execFileSync('mkfifo', [fifo])
      const writer = createWriteStream(fifo)
      writer.on('error', () => {})
      writer.write('url,caption\nhttps://h.example/0.jpg,a fox\n')
      const rows = tableSource([fifo], { captionCol: 'caption' })
      const messages: string[] = []
      try {
        const first = await rows.next()
        assert.equal(first.done, false)
        writer.end(late)
        for await (const job of rows) if (job.invalid) messages.push(job.invalid.message)
      } catch (error) {
        assert.ok(error instanceof UsageError, String(error))
        messages.push(error.message)
      } finally {
        writer.destroy()
      }
      assert.equal(messages.length, 1, messages.join('\n'))
      assert.match(messages[0]!, expected)
    }
  })

  test("a piped table cut mid-row where a writer's buffer ends stops naming the row, which is not read; one ending elsewhere without a newline is read whole", async () => {
    // A writer killed mid-table leaves whole buffers (4096, 8192 bytes: multiples of 512), its last
    // row cut anywhere: that row was read, its URL cut (`?id=12` of `?id=1234`) fetched.
    for (const [format, header, row] of [
      ['csv', 'url,caption\n', (i: number) => `https://h.example/${i}.jpg?id=1234,"cap, ${i}"\n`],
      ['jsonl', '', (i: number) => `${JSON.stringify({ url: `https://h.example/${i}.jpg?id=1234` })}\n`],
    ] as const) {
      // The first 1024 bytes, cut inside a row (none ends at byte 1023 or 1024: a pad row moves them).
      let text = ''
      for (let pad = 0; text === '' || text.endsWith('\n') || text[1022] === '\n'; pad++) {
        text = `${header}${row(pad)}`
        for (let i = 0; text.length < 1024; i++) text += row(i)
        text = text.slice(0, 1024)
      }
      // Rows in them: those whole, and the one cut.
      const rows = text.slice(header.length).split('\n').length
      for (const [cutAt, whole] of [
        [1024, false],
        [1023, true],
      ] as const) {
        const urls: string[] = []
        let error: unknown
        try {
          for await (const job of tableSource([fifoOf(text.slice(0, cutAt))], { format })) urls.push(job.url)
        } catch (e) {
          error = e
        }
        const lastLine = rows + (header ? 1 : 0)
        if (whole) {
          assert.equal(error, undefined, `${format} ${cutAt}: ${error}`)
          assert.equal(urls.length, rows, `${format} ${cutAt}`)
          continue
        }
        assert.ok(error instanceof UsageError, `${format}: ${error}`)
        assert.match(
          error.message,
          new RegExp(
            `^\\S+\\.fifo line ${lastLine} has no line end, and the table ends at byte 1024, where a writer's buffer does \\(a multiple of 512\\): its writer most likely stopped mid-row, and the row is not read; if the table is whole, end it with a newline$`,
          ),
        )
        assert.equal(urls.length, rows - 1, `${format}: the rows before it are read`)
      }
    }
  })

  test('a piped JSON lines table whose first lines lack a --columns key is said to lack it in the lines the pipe gave, not in a first 1,000 it never gave', async () => {
    const fifo = join(dir, 'unseen.jsonl')
    execFileSync('mkfifo', [fifo])
    const writer = createWriteStream(fifo)
    writer.on('error', () => {})
    writer.write(
      `${JSON.stringify({ url: 'https://h.example/0.jpg' })}\n${JSON.stringify({ url: 'https://h.example/1.jpg' })}\n`,
    )
    const warnings: string[] = []
    const heard = (warning: Error) => warnings.push(warning.message)
    process.on('warning', heard)
    try {
      const rows = tableSource([fifo], { columns: ['license'] })
      const first = await rows.next()
      assert.equal(first.done, false)
      writer.end(`${JSON.stringify({ url: 'https://h.example/2.jpg', license: 'cc-by' })}\n`)
      const rest: unknown[] = []
      for await (const job of rows) rest.push(job.meta)
      assert.deepEqual(rest.at(-1), { license: 'cc-by' })
      assert.equal(rest.length, 2)
      await new Promise((resolve) => setImmediate(resolve)) // warnings are emitted on the next tick
    } finally {
      process.off('warning', heard)
      writer.destroy()
    }
    assert.deepEqual(
      warnings.filter((w) => w.startsWith('--columns license')),
      [
        `--columns license: no line of the first 2 of ${fifo} (all it gave before half a second without a byte) has the key "license": carried (as text in the shards' Parquet) from the lines that have it, null in the others`,
      ],
    )
  })

  test('a pipe read past by its rows is not read again: a one-line PipeReadOnce naming it as typed', async () => {
    const chunks = ['url\n', 'https://h.example/1.jpg\n', 'https://h.example/2.jpg\n']
    for (const [path, shown] of [
      ['/dev/fd/63', '/dev/fd/63'],
      [STDIN_PATH, 'standard input'],
    ] as const) {
      const tap = new PipeTap(path, Readable.from(chunks.map((c) => Buffer.from(c))))
      // A check reads the start, kept; then the rows' reader takes the rest, no longer kept.
      const head = await streamHead(tap.open(), 4)
      assert.equal(head.toString(), 'url\n')
      tap.release()
      assert.equal(await text(tap.open()), chunks.join(''))
      // A second pass over the rows: refused in words, not a short or empty table.
      await assert.rejects(text(tap.open()), (error: Error) => {
        assert.ok(error instanceof PipeReadOnce)
        assert.ok(error instanceof UsageError)
        assert.equal(
          error.message,
          `${shown} is a pipe, read once: its rows cannot be read again; save it to a file first`,
        )
        return true
      })
    }
  })
})

describe('how a piped input is named', () => {
  test('standard input is "standard input", not /dev/stdin, and advice names no file it does not have', async () => {
    const out = join(dir, 'named-out')
    const xz = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x04])
    for (const [args, input, expected] of [
      [
        ['--input-format', 'csv'],
        xz,
        /^imgpull: standard input is xz-compressed: .*; unpack it in the pipe: \.\.\. \| xz -dc /,
      ],
      [
        ['--input-format', 'csv'],
        '{"url":"https://h.example/a.jpg"}\n',
        /^imgpull: standard input is a JSON lines table, not a CSV or TSV table: give --input-format jsonl /,
      ],
      [
        ['--input-format', 'csv'],
        'link\nhttps://h.example/a.jpg\n',
        /^imgpull: standard input has no column "url"/,
      ],
      [
        ['--input-format', 'csv'],
        'url\n"https://h.example/a.jpg\n',
        /^imgpull: standard input line 2: a quote opened/,
      ],
    ] as const) {
      const r = await runCli(['-', ...args, '-o', out], { input })
      assert.equal(r.code, 2, r.stderr)
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr)
      assert.match(r.stderr, expected)
    }
    const empty = await runCli(['-', '-o', out], { input: '' })
    assert.match(empty.stdout + empty.stderr, /No input found in standard input: the list holds no URL/)
    // A process substitution's path is all its user has: kept, with advice for the pipe, not the path.
    const word = (path: string) => [inputWord(path), shellPipe(path)]
    assert.deepEqual(
      ['-', STDIN_PATH, '/dev/fd/63', '/proc/self/fd/11', 'data/t.csv', '/dev/fd/x'].map(word),
      [
        ['standard input', true],
        ['standard input', true],
        ['/dev/fd/63', true],
        ['/proc/self/fd/11', true],
        ['data/t.csv', false],
        ['/dev/fd/x', false],
      ],
    )
  })
})

describe('enqueue: a list or table that is a pipe', () => {
  let redis: RedisServer
  before(async () => {
    redis = await startRedis()
  })
  after(async () => {
    await redis?.stop()
  })

  for (const [kind, content, extra] of [
    ['list', () => `${[0, 1, 2].map((i) => server.url(`/q-list/${i}.jpg`)).join('\n')}\n`, []],
    ['table', () => csv('q-table', 3), ['--input-format', 'csv']],
  ] as const) {
    test(`a ${kind}: its rows are read at enqueue and carried, and a worker pulls them all`, async () => {
      const queue = `pipe-${kind}`
      const at = ['--redis', redis.url, '--queue', queue]
      const fifo = fifoOf(content())
      const enqueued = await runCli(['enqueue', fifo, ...at, ...extra])
      assert.equal(enqueued.code, 0, enqueued.stderr)
      assert.match(
        enqueued.stdout + enqueued.stderr,
        /Rows are carried in the jobs \(.*\.fifo is a pipe, read here once/,
      )
      // Nothing in Redis names the pipe's path: a worker elsewhere has none.
      for (const key of await redis.client.keys('imgpull:*'))
        if ((await redis.client.type(key)) === 'hash')
          assert.doesNotMatch(JSON.stringify(await redis.client.hgetall(key)), /\.fifo/, key)
      const out = join(dir, `${queue}-out`)
      const w = startCli(['worker', ...at, '-o', out, '--exit-when-done', '-q'])
      const end = await w.done
      assert.equal(end.code, 0, end.stderr)
      assert.equal((await outputFiles(out)).filter((f) => f.endsWith('.jpg')).length, 3)
    })
  }

  /**
   * Enqueue `queue` twice with `enqueue` (first `first`, then only `again`: its rows must be
   * carried, a pipe is read once), each said in its counts; then a worker drains it into a folder
   * of its own: the WebDataset outputs it wrote (see `webdatasetOf`).
   */
  async function enqueuedTwiceThenWorked(
    queue: string,
    enqueue: (args: string[]) => Promise<CliResult>,
    first: string[],
    again: string[],
  ): Promise<unknown> {
    const at = ['--redis', redis.url, '--queue', queue]
    const once = await enqueue([...at, ...first])
    assert.equal(once.code, 0, `${queue}: ${once.stderr}`)
    assert.match(once.stdout + once.stderr, /3 added, 0 already queued/, queue)
    const twice = await enqueue([...at, ...again])
    assert.equal(twice.code, 0, `${queue} again: ${twice.stderr}`)
    assert.match(twice.stdout + twice.stderr, /0 added, 3 already queued or done/, queue)
    const out = join(dir, `${queue}-out`)
    const w = await runCli(['worker', ...at, '-o', out, '--exit-when-done', '-q'])
    assert.equal(w.code, 0, `${queue} worker: ${w.stderr}`)
    return webdatasetOf(out, await queueManifests(out))
  }

  test('a table on standard input, and one from a FIFO, each enqueued twice: its caption, columns and hash column kept, a worker writes the shards and Parquet of the same table from a file', async () => {
    const sha256 = (path: string) => createHash('sha256').update(server.bytes(path)).digest('hex')
    // A hash that does not match, a 404, a caption with a comma and a line break.
    const rows = Array.from({ length: 5 }, (_, i) => {
      const path = `/q-same/${i}.jpg`
      const url = server.url(i === 3 ? `${path}?status=404` : path)
      return `${url},"cap, ${i}${i === 2 ? '\nmore' : ''}",${i},${i === 1 ? 'd'.repeat(64) : sha256(path)}`
    })
    const table = `url,caption,n,sha\n${rows.join('\n')}\n`
    const file = join(dir, 'same.csv')
    await writeFile(file, table)
    const options = [
      '--input-format',
      'csv',
      '--caption-col',
      'caption',
      '--columns',
      'n',
      '--hash-col',
      'sha',
    ]
    const run = ['--output-format', 'webdataset', '--shard-size', '2']
    const outputs: Record<string, unknown> = {}
    for (const [queue, input, given] of [
      ['same-file', () => file, undefined],
      ['same-stdin', () => '-', table],
      ['same-fifo', () => fifoOf(table), undefined],
    ] as const) {
      // Again, with the queue's options: planned a second time, a pipe was opened anew, what the
      // first plan read of it lost (`/dev/fd/63 is empty`, exit 2).
      outputs[queue] = await enqueuedTwiceThenWorked(
        queue,
        (args) => runCli(['enqueue', input(), ...args], { input: given }),
        [...options, ...run],
        ['--input-format', 'csv'],
      )
    }
    // Nothing in Redis names standard input's or a pipe's path: a worker elsewhere has neither.
    for (const key of await redis.client.keys('imgpull:*same-[sf]*'))
      if ((await redis.client.type(key)) === 'hash')
        assert.doesNotMatch(JSON.stringify(await redis.client.hgetall(key)), /\/dev\/|\.fifo/, key)
    // The hash that does not match and the 404, in each.
    assert.equal((outputs['same-file'] as { failures: string[] }).failures.length, 2)
    assert.deepEqual(outputs['same-stdin'], outputs['same-file'])
    assert.deepEqual(outputs['same-fifo'], outputs['same-file'])
  })

  test('a Parquet table on standard input that is a file (< t.parquet): enqueued twice, its rows carried, a worker writes what the same file by its path gives; a pull reads it too; cat t.parquet | is refused in one line', async () => {
    const sha256 = (path: string) => createHash('sha256').update(server.bytes(path)).digest('hex')
    const paths = Array.from({ length: 5 }, (_, i) => `/q-parquet/${i}.jpg`)
    const file = join(dir, 'same.parquet')
    parquetWriteFile({
      filename: file,
      columnData: [
        {
          name: 'url',
          data: paths.map((p, i) => server.url(i === 3 ? `${p}?status=404` : p)),
          type: 'STRING',
        },
        { name: 'caption', data: paths.map((_, i) => `cap, ${i}${i === 2 ? '\nmore' : ''}`), type: 'STRING' },
        { name: 'n', data: paths.map((_, i) => BigInt(i)), type: 'INT64' },
        { name: 'sha', data: paths.map((p, i) => (i === 1 ? 'd'.repeat(64) : sha256(p))), type: 'STRING' },
      ],
    })
    const options = ['--caption-col', 'caption', '--columns', 'n', '--hash-col', 'sha']
    const run = ['--output-format', 'webdataset', '--shard-size', '2']
    const outputs: Record<string, unknown> = {}
    for (const [queue, input] of [
      ['parquet-file', file],
      ['parquet-stdin', '-'],
    ] as const) {
      outputs[queue] = await enqueuedTwiceThenWorked(
        queue,
        (args) =>
          input === '-' ? runCliFrom(file, ['enqueue', '-', ...args]) : runCli(['enqueue', file, ...args]),
        ['--input-format', 'parquet', ...options, ...run],
        ['--input-format', 'parquet'],
      )
    }
    for (const key of await redis.client.keys('imgpull:*parquet-stdin*'))
      if ((await redis.client.type(key)) === 'hash')
        assert.doesNotMatch(JSON.stringify(await redis.client.hgetall(key)), /\/dev\//, key)
    assert.equal((outputs['parquet-file'] as { failures: string[] }).failures.length, 2)
    assert.deepEqual(outputs['parquet-stdin'], outputs['parquet-file'])
    // A local run from standard input that is the file.
    const local = join(dir, 'parquet-stdin-pull')
    const pulled = await runCliFrom(file, ['-', '--input-format', 'parquet', '-o', local, '-q', ...options])
    assert.equal(pulled.code, 1, pulled.stderr) // the 404 and the hash that does not match
    assert.equal((await outputFiles(local)).length, 3)
    // Standard input that is a pipe: read from its end, it cannot be; said in one line.
    for (const args of [
      ['-', '--input-format', 'parquet', '-o', local],
      ['enqueue', '-', '--input-format', 'parquet', ...['--redis', redis.url, '--queue', 'parquet-pipe']],
    ]) {
      const piped = await runCli(args, { input: await readFile(file) })
      assert.equal(piped.code, 2, piped.stderr)
      assert.equal(piped.stderr.trimEnd().split('\n').length, 1, piped.stderr)
      assert.match(
        piped.stderr,
        /^imgpull: cannot read standard input as Parquet: it is a pipe, .*save it to a file first/,
      )
    }
  })

  test('a Parquet table from a pipe is refused in one line, exit 2', async () => {
    const parquet = fifoOf('PAR1')
    const r = await runCli([
      'enqueue',
      parquet,
      '--input-format',
      'parquet',
      '--redis',
      redis.url,
      '--queue',
      'pipe-parquet',
    ])
    assert.equal(r.code, 2, r.stderr)
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr)
    unblock(parquet)
    assert.match(r.stderr, /as Parquet: it is a pipe, .*save it to a file first/)
  })
})
