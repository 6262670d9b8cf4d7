import assert from 'node:assert/strict'
import { createReadStream, existsSync } from 'node:fs'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { createInterface as createLinesPromised } from 'node:readline/promises'
import { after, before, test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { pull, type Result, resolveOptions, UsageError, unsplash } from '../src/index.js'
import { openTables } from '../src/sources/tables/index.js'
import { cleanup, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { startUnsplashMock, type UnsplashMock } from './support/unsplash-mock.js'

// imgpull as a newcomer to the library uses it, from the README's Library section: the mistakes a
// first program makes, and what the README promises of them (a `TypeError` naming the option or
// the source when `pull()` or a source is made; a run's rejection with a `code`).

let server: ImageServer
let api: UnsplashMock
let dir: string
before(async () => {
  server = await startImageServer({ sizes: [2_000, 8_000] })
  api = await startUnsplashMock({ imageOrigin: server.origin, searches: { lake: 5 } })
  dir = await tempDir('imgpull-newcomer-')
})
after(async () => {
  await api.close()
  await server.close()
  await cleanup(dir)
})

test('one URL object, one job, a generator function not called, undefined: each refused as what it is, when the run is made', () => {
  // `pull({ url }, …)` said "got an object with url and no string `url`" of a job whose url was a
  // string; `pull(new URL(…))` "got an empty object"; `pull(jobs)` with `async function* jobs`
  // not called showed the function's whole source text; `pull(undefined)` "got undefined undefined".
  const out = join(dir, 'not-a-source')
  const url = server.url('/one.jpg')
  async function* jobs() {
    yield url
  }
  const cases: [unknown, string][] = [
    [{ url }, 'Expected the source to be an iterable of URLs or jobs, got one job: give it as [job]'],
    [
      new URL('https://user:secret@example.com/a.jpg'),
      'Expected the source to be an iterable of URLs or jobs, got one URL object: give it as [url]',
    ],
    [
      jobs,
      'Expected the source to be an iterable of URLs or jobs, got a function: call it (a generator function gives its generator when called)',
    ],
    [
      undefined,
      'Expected the source to be an iterable of URLs or jobs (an array, a generator, a stream), got undefined',
    ],
    [
      42,
      'Expected the source to be an iterable of URLs or jobs (an array, a generator, a stream), got number 42',
    ],
    // A list read whole without its encoding: each byte was an item, "item 1 of the source is number 104".
    [
      Buffer.from(`${url}\n`),
      'Expected the source to be an iterable of URLs or jobs, got bytes (a Buffer): give its text split into lines',
    ],
  ]
  for (const [source, message] of cases)
    assert.throws(
      () => pull(source as never, { out }),
      (error: Error) => error instanceof TypeError && error.message === message,
      message,
    )
  assert.equal(existsSync(out), false)
  assert.equal(server.hits.get('/one.jpg'), undefined)
})

test('an item that is undefined or a function is named as such, after the items before it are done', async () => {
  const out = join(dir, 'items')
  const statuses: string[] = []
  await assert.rejects(
    async () => {
      for await (const r of pull([server.url('/item-a.jpg'), undefined] as never, { out }))
        statuses.push(r.status)
    },
    (error: Error) =>
      error instanceof UsageError &&
      error.code === 'usage' &&
      error.message === 'item 2 of the source is undefined: give URL strings or jobs ({ url: string })',
  )
  assert.deepEqual(statuses, ['ok'])
  await assert.rejects(
    async () => {
      for await (const _ of pull([() => server.url('/item-b.jpg')] as never, { out }));
    },
    (error: Error) =>
      error instanceof UsageError &&
      error.message === 'item 1 of the source is a function: give URL strings or jobs ({ url: string })',
  )
})

test('a hostGate that is not one is a TypeError naming it when the run is made, not a crash at the first transfer', async () => {
  // `hostGate: 5` passed every check and the run rejected with "gate.acquire is not a function".
  const out = join(dir, 'gate')
  for (const hostGate of [5, {}, { acquire: async () => ({ retryIn: 1 }) }])
    assert.throws(
      () => pull([server.url('/gate.jpg')], { out, hostGate: hostGate as never }),
      (error: Error) =>
        error instanceof TypeError && /^Expected `hostGate` to be a HostGate/.test(error.message),
    )
  assert.equal(existsSync(out), false)
})

test("a bad transform option is named as it is given, `transform.size`, its value shown as the other options'", () => {
  // The checks named `size`, `resize`, `keepMetadata` alone (where the misfits said
  // `transform.size`), and showed a string as bare text: "got yes", "got fit".
  const cases: [object, string][] = [
    [
      { resize: 'fit', size: 64 },
      'Expected `transform.resize` to be one of no, keep-ratio, keep-ratio-largest, center-crop, border, got the string "fit"',
    ],
    [{ resize: 'border', size: 0 }, 'Expected `transform.size` to be an integer >= 1, got 0'],
    [{ resize: 'border', size: 70_000 }, 'Expected `transform.size` to be at most 65535, got 70000'],
    [
      { encode: 'bmp' },
      'Expected `transform.encode` to be one of jpg, png, webp, avif, got the string "bmp"',
    ],
    [{ encode: 'jpg', quality: 101 }, 'Expected `transform.quality` to be at most 100, got 101'],
    [{ minSize: -3 }, 'Expected `transform.minSize` to be an integer >= 1, got -3'],
    [{ maxAspectRatio: '2' }, 'Expected `transform.maxAspectRatio` to be a number >= 1, got the string "2"'],
    [{ maxPixels: 0 }, 'Expected `transform.maxPixels` to be an integer >= 1, got 0'],
    [
      { encode: 'jpg', keepMetadata: 'yes' },
      'Expected `transform.keepMetadata` to be a boolean, got the string "yes"',
    ],
    [{ verifyDecode: 1 }, 'Expected `transform.verifyDecode` to be a boolean, got 1'],
    [
      { resize: 'border', size: 8, background: 'nope' },
      'Expected `transform.background` to be a CSS colour, got the string "nope"',
    ],
    [
      { size: 64 },
      "`transform.size` (64) does nothing without a `resize` mode ('keep-ratio', 'keep-ratio-largest', 'center-crop' or 'border'), or leave `transform.size` out",
    ],
  ]
  for (const [transform, message] of cases)
    assert.throws(
      () => resolveOptions({ transform: transform as never }),
      (error: Error) => error instanceof TypeError && error.message === message,
      message,
    )
})

test("a string given where an option takes a word or a number is shown as a string, as every option's check shows it", () => {
  const cases: [object, string][] = [
    [{ perHost: '8' }, 'Expected `perHost` to be \'auto\' or an integer >= 1, got the string "8"'],
    [{ hash: 'md5' }, "Expected `hash` to be 'sha256' or 'none', got the string \"md5\""],
    [{ proxy: true }, "Expected `proxy` to be a URL, 'env' or false, got true"],
    [
      { outputFormat: 'tar' },
      "Expected `outputFormat` to be 'files' or 'webdataset', got the string \"tar\"",
    ],
    [{ name: '' }, 'Expected `name` to be a non-empty template string, got the string ""'],
    [{ name: 5 }, 'Expected `name` to be a non-empty template string, got 5'],
  ]
  for (const [options, message] of cases)
    assert.throws(
      () => resolveOptions(options as never),
      (error: Error) => error instanceof TypeError && error.message === message,
      message,
    )
})

test('an Unsplash source refuses an option it does not take, as pull() refuses `concurency`, before any call', () => {
  // `unsplash.search('lake', { lmit: 3 })` listed the default 30 photos without a word.
  const base = { accessKey: api.key, apiUrl: api.origin }
  const calls = api.log.length
  const cases: [() => unknown, RegExp][] = [
    [
      () => unsplash.search('lake', { ...base, lmit: 3 } as never),
      /^Unknown Unsplash option `lmit`; the Unsplash options are: accessKey, apiUrl, .*, limit, orderBy, color, orientation, contentFilter, collections$/,
    ],
    [
      () => unsplash.collection('1', { ...base, orderBy: 'latest' } as never),
      /^Unknown Unsplash option `orderBy`/,
    ],
    [() => unsplash.user('u', { ...base, color: 'red' } as never), /^Unknown Unsplash option `color`/],
    [() => unsplash.likes('u', { ...base, count: 3 } as never), /^Unknown Unsplash option `count`/],
    [() => unsplash.topic('t', { ...base, query: 'x' } as never), /^Unknown Unsplash option `query`/],
    [() => unsplash.random({ ...base, limit: 3 } as never), /^Unknown Unsplash option `limit`/],
    [() => unsplash.photos(['a'], { ...base, limit: 3 } as never), /^Unknown Unsplash option `limit`/],
    // pull()'s options given to the source: they belong to pull().
    [() => unsplash.search('lake', { ...base, out: 'lakes' } as never), /^Unknown Unsplash option `out`/],
    // A signal's controller given for it (remix-run/react-router#8780) is named as pull() names it,
    // where the source said only "Expected `signal` to be an AbortSignal".
    [
      () => unsplash.search('lake', { ...base, signal: new AbortController() as never }),
      /^Expected `signal` to be an AbortSignal, got its AbortController: give its signal \(`signal: controller.signal`\)$/,
    ],
  ]
  for (const [make, message] of cases)
    assert.throws(
      make,
      (error: Error) => error instanceof TypeError && message.test(error.message),
      String(message),
    )
  assert.equal(api.log.length, calls)
})

test('the options each Unsplash source documents are taken, and a run with them goes as the README shows', async () => {
  const said: string[] = []
  const photos = unsplash.search('lake', {
    accessKey: api.key,
    apiUrl: api.origin,
    limit: 3,
    orderBy: 'latest',
    orientation: 'landscape',
    contentFilter: 'high',
    onRateLimit: 'stop',
    rateLimitWindow: 60_000,
    refresh: false,
    onMessage: (line) => said.push(line),
    signal: new AbortController().signal,
  })
  const results: Result[] = []
  for await (const r of pull(photos, { out: join(dir, 'lakes') })) results.push(r)
  assert.deepEqual(
    results.map((r) => r.status),
    ['ok', 'ok', 'ok'],
  )
  assert.equal(photos.summary.tracked, 3)
  assert.ok(said.length > 0)
  for (const make of [
    () => unsplash.collection('1', { accessKey: api.key, limit: Infinity, orientation: 'portrait' }),
    () => unsplash.user('u', { accessKey: api.key, limit: 2, orderBy: 'popular', orientation: 'squarish' }),
    () => unsplash.likes('u', { accessKey: api.key, limit: 2, orderBy: 'oldest' }),
    () => unsplash.topic('t', { accessKey: api.key, limit: 2, orderBy: 'latest' }),
    () =>
      unsplash.random({
        accessKey: api.key,
        count: 2,
        username: 'u',
        orientation: 'portrait',
        contentFilter: 'low',
      }),
    () =>
      unsplash.photos(['a', 'b'], { accessKey: api.key, size: 'raw', resizeTo: { side: 'longest', px: 64 } }),
  ])
    make()
})

test('a row given twice, or one that is not a row, ends the run with a UsageError naming the item, after the items before it are done', async () => {
  // It was a TypeError, with no `code` to tell it by (the README: every error a run rejects with
  // has one), cutting the transfers in flight as a fault of the machine does.
  const results: Result[] = []
  await assert.rejects(
    async () => {
      for await (const r of pull(
        [
          { url: server.url('/row-a.jpg'), row: 0 },
          { url: server.url('/row-b.jpg'), row: 1 },
          { url: server.url('/row-c.jpg'), row: 0 },
        ],
        { out: join(dir, 'rows'), outputFormat: 'webdataset' },
      ))
        results.push(r)
    },
    (error: Error) =>
      error instanceof UsageError &&
      error.code === 'usage' &&
      error.message === 'the source gave row 0 twice, the second time as item 3: a row is one sample',
  )
  assert.deepEqual(results.map((r) => `${r.job.row} ${r.status}`).sort(), ['0 ok', '1 ok'])
  await assert.rejects(
    async () => {
      for await (const _ of pull([{ url: server.url('/row-d.jpg'), row: -1 }], {
        out: join(dir, 'rows-2'),
        outputFormat: 'webdataset',
      }));
    },
    (error: Error) =>
      error instanceof UsageError &&
      error.message === "item 1 of the source has the row -1: a job's `row` is an integer >= 0",
  )
})

test("everything the package and imgpull/tables export, and every field of a job and of the run's stats, is named in the README's Library section", async () => {
  // `VERSION` and `DEFAULT_USER_AGENT` were exported and nowhere in the README; a job's `where`
  // and `invalid` were in the `Job` type a caller builds, and not in the README's list of its fields.
  const text = await readFile(new URL('../README.md', import.meta.url), 'utf8')
  const library = text.slice(text.indexOf('\n## Library'), text.indexOf('\n## Development'))
  const types = await readFile(new URL('../src/types.ts', import.meta.url), 'utf8')
  const block = (head: string) =>
    types.slice(types.indexOf(head), types.indexOf('\n}\n', types.indexOf(head)))
  const keys = (body: string) =>
    [...body.matchAll(/^ {2}(?:readonly )?([a-zA-Z0-9]+)\??:/gm)].map((m) => m[1]!)
  const names = [
    ...Object.keys(await import('../src/index.js')),
    // imgpull/tables: `tableSource`, one letter from `tablesSource`, was in no word of the README.
    ...Object.keys(await import('../src/sources/tables/index.js')),
    ...keys(block('export interface Job {')),
    ...keys(block('export interface RunStats {')),
  ]
  assert.ok(names.length > 30, `${names.length} names`)
  // Named in code: its own span (`defaults`), or a list of fields in one (`{ url, key?, … }`).
  const fences = library.match(/```[\s\S]*?```/g) ?? []
  const prose = library.replace(/```[\s\S]*?```/g, '')
  const code = [...fences, ...(prose.match(/`[^`]+`/g) ?? [])].join(' ')
  const missing = names.filter((name) => !new RegExp(`\\b${name}\\b`).test(code))
  assert.deepEqual(missing, [])
})

test("a list read by lines with readline, the stream Node's docs show, gives every line to the run", async () => {
  // readline emits a file's lines as the file is read, and loses those emitted before its
  // iterator is taken (nodejs/node#33463, #42454): the run took it only after opening its folder
  // and journal, so every line was lost, and the loop never ended: a script exited with code 13
  // and nothing done, a service's request hung.
  const list = join(dir, 'urls.txt')
  const urls = Array.from({ length: 40 }, (_, i) => server.url(`/line-${i}.jpg`))
  await writeFile(list, `${urls.join('\n')}\n`)
  const ok: string[] = []
  const lines = createInterface({ input: createReadStream(list), crlfDelay: Number.POSITIVE_INFINITY })
  const run = pull(lines, { out: join(dir, 'lines') })
  // A caller's own await between making the run and looping over it (a folder made, a log line).
  await new Promise((resolve) => setTimeout(resolve, 50))
  for await (const r of run) if (r.status === 'ok') ok.push(r.job.url)
  assert.deepEqual(ok.sort(), [...urls].sort())
  assert.equal(run.stats.readToEnd, true)
})

test('a list read by lines with readline is read as the command reads a list file: blank lines, comments and option lines are no jobs', async () => {
  // Each was a job failed as invalid-url in the journal, manifest and report: 'invalid URL "": the
  // job's url is empty', 'invalid URL "# the covers": not a URL', where \`imgpull urls.txt\` skips them.
  const list = join(dir, 'commented.txt')
  const [a, b, c] = ['/listed-a.jpg', '/listed-b.jpg', '/listed-c.jpg'].map((p) => server.url(p))
  await writeFile(list, `# the covers\n${a}\n\n   \n${b}  # the back\n  out=b.jpg\n"${c}",\n`)
  // node:readline's interface, and node:readline/promises' (another class).
  for (const [k, make] of [createInterface, createLinesPromised].entries()) {
    const lines = make({ input: createReadStream(list), crlfDelay: Number.POSITIVE_INFINITY })
    const results = []
    for await (const r of pull(lines, { out: join(dir, `commented-${k}`) }))
      results.push(`${r.status} ${r.job.url}`)
    assert.deepEqual(results.sort(), [`ok ${a}`, `ok ${b}`, `ok ${c}`], `interface ${k}`)
  }
})

test('a file stream given as it is, its chunks bytes, ends the run saying so and how to read a list by lines', async () => {
  // "item 1 of the source is an object with 0, 1, 2, 3, 4 and no string `url`".
  const list = join(dir, 'raw.txt')
  await writeFile(list, `${server.url('/raw.jpg')}\n`)
  await assert.rejects(
    async () => {
      for await (const _ of pull(createReadStream(list) as never, { out: join(dir, 'raw') }));
    },
    (error: Error) =>
      error instanceof UsageError &&
      /^item 1 of the source is \d+ bytes \(a Buffer, as a file stream gives them: read a list by its lines, node:readline's createInterface\(\{ input \}\)\): give URL strings or jobs/.test(
        error.message,
      ),
  )
})

test("every field of an Unsplash source's summary is named in the README's Unsplash From code section", async () => {
  // `label`, `total`, `wanted`, `listedBefore`, `empty`, `gone`, `attribution`, `listingEnded` and
  // `trackingError` were in the UnsplashSummary type and nowhere in the README.
  const text = await readFile(new URL('../README.md', import.meta.url), 'utf8')
  const start = text.indexOf('\n### From code', text.indexOf('\n## Unsplash'))
  const section = text.slice(start, text.indexOf('\n### ', start + 1))
  const source = await readFile(new URL('../src/sources/unsplash/source.ts', import.meta.url), 'utf8')
  const head = source.indexOf('export interface UnsplashSummary {')
  const body = source.slice(head, source.indexOf('\n}\n', head))
  const fields = [...body.matchAll(/^ {2}readonly ([a-zA-Z]+)\??:/gm)].map((m) => m[1]!)
  assert.ok(fields.length > 15, `${fields.length} fields`)
  assert.deepEqual(
    fields.filter((field) => !section.includes(`\`${field}\``)),
    [],
  )
})

test('an abort mid-run: the loop has the result of every file saved, then rejects with the reason', async () => {
  // As the README's Library section says of `signal`: results of files done before the abort that
  // the loop had not taken yet still come, so a caller's record of saved files is whole.
  const out = join(dir, 'abort')
  const stop = new AbortController()
  const reason = new Error('enough')
  const ok: string[] = []
  await assert.rejects(
    async () => {
      for await (const r of pull(
        Array.from({ length: 30 }, (_, i) => server.url(`/abort-${i}.jpg`)),
        { out, signal: stop.signal },
      )) {
        if (r.status === 'ok') ok.push(r.path!)
        if (ok.length === 3) stop.abort(reason)
      }
    },
    (error: unknown) => error === reason,
  )
  const saved = (await readdir(out)).filter((name) => name.endsWith('.jpg'))
  assert.deepEqual(ok.sort(), saved.sort())
})

test("a job's url that is not one URL is said in a job's words, not a table cell's", async () => {
  // `url: ''` said 'the URL cell is empty', and a string quoted twice spoke of a CSV file's quotes.
  const results: Result[] = []
  const jobs = [
    { url: '' },
    { url: JSON.stringify(server.url('/quoted')) },
    { url: `<${server.url('/angled')}>` },
  ]
  for await (const r of pull(jobs, { out: join(dir, 'job-words') })) results.push(r)
  assert.deepEqual(
    results.map((r) => [r.status, r.error, r.message]),
    [
      ['failed', 'invalid-url', `invalid URL "": the job's url is empty`],
      [
        'failed',
        'invalid-url',
        `invalid URL "${JSON.stringify(server.url('/quoted'))}": wrapped in "…", which are part of the string (quoted twice, as JSON.stringify of a string gives it): the job's url must be the URL alone`,
      ],
      [
        'failed',
        'invalid-url',
        `invalid URL "<${server.url('/angled')}>": wrapped in <…>: the job's url must be the URL alone`,
      ],
    ],
  )
})

test("a folder or file given as a file: URL, the object or its href (ESM's import.meta.url idiom), is the path it names, as Node's fs takes it", async () => {
  // motdotla/dotenv#720: a path option takes a URL as fs.readFileSync does. An href
  // (`import.meta.resolve('./photos')`, `new URL(…).href`) was a path relative to the working
  // folder: the files went to `./file:/…/photos` without a word; a URL object was refused as "an object".
  for (const [i, given] of [
    (p: string) => pathToFileURL(p),
    (p: string) => pathToFileURL(p).href,
  ].entries()) {
    const out = join(dir, `file-url-${i}`)
    const results: Result[] = []
    for await (const r of pull([server.url(`/file-url-${i}.jpg`)], { out: given(out), report: false }))
      results.push(r)
    assert.deepEqual(
      results.map((r) => `${r.status} ${r.path}`),
      [`ok file-url-${i}.jpg`],
    )
    assert.ok(existsSync(join(out, `file-url-${i}.jpg`)))
  }
  assert.ok(!existsSync('file:'), 'nothing made under ./file:')
  const cookies = join(dir, 'cookies.txt')
  await writeFile(cookies, '# Netscape HTTP Cookie File\n')
  const resolved = resolveOptions({
    out: pathToFileURL(dir),
    cookies: pathToFileURL(cookies),
    netrc: pathToFileURL(cookies).href,
  })
  assert.deepEqual([resolved.out, resolved.cookies, resolved.netrc], [dir, cookies, cookies])
  assert.throws(
    () => pull([server.url('/x.jpg')], { out: new URL('https://example.test/photos/') }),
    (error: unknown) =>
      error instanceof TypeError &&
      /^Expected `out` to be a path or a file: URL of this machine, got the URL https:\/\/example\.test\/photos\/ \(/.test(
        error.message,
      ),
  )
})

test("every option's docstring, as an editor shows it from the package's types, says its default", async () => {
  // Standards: public docstrings give defaults. `signal` and `drainSignal` said neither their
  // default nor what the loop does when they abort (rejects with the reason; ends normally).
  const text = await readFile(new URL('../src/options.ts', import.meta.url), 'utf8')
  const body = text.slice(
    text.indexOf('export interface Options {'),
    text.indexOf('\n}\n', text.indexOf('export interface Options {')),
  )
  const members = [...body.matchAll(/(\/\*\*(?:(?!\*\/)[\s\S])*\*\/)?\s*\n {2}(\w+)\?:/g)]
  assert.ok(members.length > 30, `${members.length} options`)
  const undocumented = members.filter(([, doc]) => !/@default /.test(doc ?? '')).map(([, , name]) => name)
  assert.deepEqual(undocumented, [])
})

test("openTables takes a table as a file: URL, the object or its href, as pull()'s out does; one path not in an array is refused", async () => {
  // motdotla/dotenv#720, as for `out`: a URL object crashed as "path.lastIndexOf is not a function",
  // its href was "no such file or folder"; a string alone was read as one table per character.
  const file = join(dir, 'url-rows.csv')
  await writeFile(file, `url,caption\n${server.url('/url-rows.jpg')},one\n`)
  for (const given of [pathToFileURL(file), pathToFileURL(file).href]) {
    const rows = []
    for await (const job of await openTables([given], { captionCol: 'caption' })) rows.push(job.caption)
    assert.deepEqual(rows, ['one'], String(given))
  }
  await assert.rejects(openTables(file as never), {
    name: 'TypeError',
    message: `Expected the tables to be an array of paths, got the string ${JSON.stringify(file)}: give one as [path]`,
  })
})
