import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { exitCodesHelp, QUEUE_EXITS } from '../src/cli/queue-exits.js'
import { ERROR_CODES } from '../src/error-codes.js'
import { OVERLONG_FILES } from '../src/fetch/given-up.js'
import { ABANDONED_HTTP2 } from '../src/fetch/http2-errors.js'
import { proxyFor, proxyPlan } from '../src/fetch/proxy.js'
import { retriedOnRerun } from '../src/fetch/retry-policy.js'
import { BUILTIN_FIELDS } from '../src/plan/naming.js'
import { formatBytes } from '../src/report/format.js'
import { VERSION } from '../src/version.js'
import { runCli } from './support/cli.js'

// The README, --help and the code agree.

const readme = readFile(new URL('../README.md', import.meta.url), 'utf8')

test("the README's table of failure codes is the code's: every code, and what a rerun does", async () => {
  const text = await readme
  const table = text.slice(text.indexOf('### Failure codes'), text.indexOf('### Stopping'))
  const rows = new Map(
    [...table.matchAll(/^\| `([a-z0-9-]+)` \| (yes|no) \|/gm)].map((m) => [m[1], m[2] === 'yes'] as const),
  )
  assert.deepEqual([...rows.keys()].sort(), Object.keys(ERROR_CODES).sort())
  for (const [code, rerun] of rows) assert.equal(rerun, retriedOnRerun(code), `${code}: rerun`)
})

test("the queue commands' exit codes: the README's table and each command's --help are the code's", async () => {
  const text = await readme
  const table = text.slice(text.indexOf('### Exit codes of the queue commands'), text.indexOf('## Unsplash'))
  const rows = [...table.matchAll(/^\| `([a-z]+)` \| (\d+) \| (.*) \|$/gm)].map((m) => [
    m[1],
    Number(m[2]),
    m[3],
  ])
  const code = Object.entries(QUEUE_EXITS).flatMap(([command, list]) =>
    list.map(([exit, meaning]) => [command, exit, meaning]),
  )
  assert.deepEqual(rows, code)
  for (const command of Object.keys(QUEUE_EXITS) as (keyof typeof QUEUE_EXITS)[]) {
    const { stdout } = await runCli([command, '--help'])
    assert.ok(stdout.includes(exitCodesHelp(command)), `${command} --help: ${stdout.slice(-600)}`)
  }
})

/** Every command and subcommand, as `imgpull ARGS --help` takes them. */
const COMMANDS = [
  [],
  ['status'],
  ['report'],
  ['enqueue'],
  ['worker'],
  ['bench'],
  ...['search', 'collection', 'user', 'likes', 'topic', 'random', 'photo'].map((c) => ['unsplash', c]),
]

/** `imgpull ARGS --help`'s options, each with its whole description (wrapped lines joined). */
async function helpOptions(args: string[], short = false): Promise<Map<string, string>> {
  const { stdout } = await runCli([...args, '--help'])
  const options = new Map<string, string>()
  let current: string | undefined
  for (const line of stdout.split('\n')) {
    const start = /^ {2}(?:(-\w), )?(--[a-z0-9-]+)(.*)$/.exec(line)
    if (start) {
      current = start[2]
      options.set(current, start[3].trim())
      // With `short`, also under its one-letter form (`-o`).
      if (short && start[1]) options.set(start[1], start[3].trim())
    } else if (current && /^ {4,}\S/.test(line))
      options.set(current, `${options.get(current)} ${line.trim()}`)
    else current = undefined
  }
  return options
}

test('every option of every command --help lists is in the README', async () => {
  const text = await readme
  for (const command of COMMANDS) {
    const args = [...command, '--help']
    const help = await runCli(args)
    const options = [...help.stdout.matchAll(/^\s+(?:-\w, )?(--[a-z0-9-]+)/gm)].map((m) => m[1])
    assert.ok(options.length > (command.length === 0 ? 20 : 0), args.join(' '))
    for (const option of options) {
      if (option === '--help' || option === '--version') continue
      assert.match(
        text,
        new RegExp(`${option}(?![a-z0-9-])`),
        `${option} (${args.join(' ')}) is not in the README`,
      )
    }
  }
})

test("--proxy: --help and the README's table say NO_PROXY still applies, as the code applies it", async () => {
  // Both said "send every request through this proxy", while a host NO_PROXY lists went direct.
  const plan = proxyPlan('http://proxy.test:3128', { NO_PROXY: 'img.test' })
  assert.equal(proxyFor(new URL('http://img.test/a.jpg'), plan), undefined)
  assert.ok(proxyFor(new URL('http://other.test/a.jpg'), plan))
  const help = (await helpOptions([])).get('--proxy') ?? ''
  assert.match(help, /but to the hosts NO_PROXY lists/, help)
  const row = (await readme).split('\n').find((line) => line.startsWith('| `--proxy <url>` |')) ?? ''
  assert.match(row, /but to the hosts `NO_PROXY` lists/, row)
})

test('--help and the README say as the scheduler does when a host that asks too long a wait is given up', async () => {
  // --help said "a host that asks twice": since then it takes a wait asked again of three
  // files in a row, and a user reading the help would expect the host given up after two.
  const help = (await runCli(['--help'])).stdout.replace(/\s+/g, ' ')
  const line = help.slice(help.indexOf('--max-retry-after'), help.indexOf('--connect-timeout'))
  assert.match(line, new RegExp(`of ${OVERLONG_FILES} files in a row`))
  assert.doesNotMatch(line, /twice/)
  const words = ['zero', 'one', 'two', 'three', 'four', 'five'][OVERLONG_FILES]
  assert.match((await readme).replace(/\s+/g, ' '), new RegExp(`of ${words} files in a row, is given up`))
})

test("--name in --help names the placeholders a table adds, as the README's File names does", async () => {
  // --help listed the URL's placeholders alone: a dataset user with a table looked there for
  // {row} and the columns, which the run takes, and found nothing of them.
  for (const command of [[], ['enqueue']]) {
    const help = (await helpOptions(command)).get('--name') ?? ''
    for (const field of BUILTIN_FIELDS) assert.match(help, new RegExp(`\\{${field}\\}`), help)
    assert.match(help, /tables: \{row\} and their columns \(\{caption\}\.\.\.\)/, help)
  }
  assert.match((await readme).replace(/\s+/g, ' '), /tables add `\{row\}` and their columns/)
})

test('--help and the README say what an option given twice does, as a run does it', async () => {
  // --help's last lines said it was a usage error, left from before such an option took the last
  // value with a warning: a user reading it would not expect the run to go on, with 8.
  const dir = await mkdtemp(join(tmpdir(), 'imgpull-twice-'))
  try {
    await writeFile(join(dir, 'urls.txt'), '')
    const run = await runCli(['urls.txt', '-o', 'out', '-c', '4', '-c', '8'], { cwd: dir })
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stderr, /--concurrency is given twice, as 4 and 8: the last is taken, 8/)
    const help = (await runCli(['--help'])).stdout.replace(/\s+/g, ' ')
    const said = help.slice(help.indexOf('An option of one value'), help.indexOf('Exit codes:'))
    assert.match(said, /takes the last, with a warning naming both/, said)
    assert.doesNotMatch(said, /usage error/, said)
    assert.match(
      (await readme).replace(/\s+/g, ' '),
      /given again with another value \(`-o a -o b`, `-c 4 -c 8`\) takes the last/,
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('the README says what becomes of a header field over 64 KiB over HTTP/2, in the words imgpull fails with', async () => {
  // It said the file fails as a headers timeout: since nghttp2's silent end of the session is
  // noticed, the origin goes over HTTP/1.1 and the file is kept, or fails in these words.
  const text = (await readme).replace(/\s+/g, ' ')
  const limit = text.slice(
    text.indexOf('One limit stays lower.'),
    text.indexOf('A header block longer than 8'),
  )
  assert.ok(limit.includes(ABANDONED_HTTP2.replace(/\s+/g, ' ')), limit)
  assert.match(limit, /go again at once over HTTP\/1\.1/)
  assert.doesNotMatch(limit, /fails as a headers `timeout`/)
})

test('every link within the README leads to one of its headings, as GitHub names them', async () => {
  const text = await readme
  const slugs = new Set<string>()
  const seen = new Map<string, number>()
  for (const [, heading] of text.matchAll(/^#{1,6} (.+)$/gm)) {
    // GitHub's anchors: lower case, punctuation but - and _ dropped, spaces as -, a repeat -1, -2...
    const slug = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\- _]/gu, '')
      .replaceAll(' ', '-')
    const n = seen.get(slug) ?? 0
    slugs.add(n ? `${slug}-${n}` : slug)
    seen.set(slug, n + 1)
  }
  const prose = text.replace(/```[\s\S]*?```/g, '').replace(/\s+/g, ' ')
  const links = [...prose.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1])
  assert.ok(links.length > 20, `${links.length} links`)
  assert.deepEqual(
    links.filter((link) => !slugs.has(link)),
    [],
    'links to no heading',
  )
})

test("the README's Node version is package.json's engines, which npm ci enforces (engine-strict)", async () => {
  // It said 20.18: npm ci refuses 20.18.0 (EBADENGINE), as undici 7 needs 20.18.1.
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'))
  const version = /^>=(\d+\.\d+\.\d+)$/.exec(pkg.engines.node)?.[1]
  assert.ok(version, pkg.engines.node)
  assert.match(
    (await readme).replace(/\s+/g, ' '),
    new RegExp(`Needs Node\\.js ${version.replaceAll('.', '\\.')} or later`),
  )
})

test("the defaults of the README's option tables are --help's", async () => {
  // `imgpull enqueue --help` lost --shard-size's default (10000) and its limit when the
  // description was made the queue's; the README's table said 10000.
  const text = await readme
  const helps = new Map<string, Map<string, string>>()
  // Each table under its section's heading, and the command whose --help it documents.
  const commandOf: Record<string, string[]> = {
    '### Options': [],
    '## Resize, re-encode, filter': [],
    '### Tables in': [],
    '### WebDataset shards out': [],
    '### enqueue': ['enqueue'],
    '### worker': ['worker'],
    '### Options every Unsplash command takes': ['unsplash', 'search'],
  }
  const header = '| option | default | meaning |'
  let checked = 0
  for (let at = text.indexOf(header); at >= 0; at = text.indexOf(header, at + 1)) {
    const heading = [...text.slice(0, at).matchAll(/^#{2,3} .*$/gm)].at(-1)?.[0] ?? ''
    const command = commandOf[heading]
    assert.ok(command, `a table of options under "${heading}": say which command's --help it documents`)
    const key = command.join(' ')
    if (!helps.has(key)) helps.set(key, await helpOptions(command))
    const help = helps.get(key)!
    const rows = text.slice(at).split('\n').slice(2)
    for (const row of rows.slice(
      0,
      rows.findIndex((r) => !r.startsWith('|')),
    )) {
      const [, names, cell] = row.split(/(?<!\\)\|/).map((c) => c.trim())
      for (const option of names.match(/--[a-z0-9-]+/g) ?? []) {
        const description = help.get(option)
        assert.ok(description !== undefined, `${option} (README, ${heading}) is not in imgpull ${key} --help`)
        const readmeDefault = cell.replaceAll('`', '').replace('<version>', VERSION).trim()
        const helpDefault = [...description.matchAll(/\bdefault:? ([^)]+)\)/g)]
          .at(-1)?.[1]
          .replaceAll('"', '')
        if (readmeDefault === '' || readmeDefault === 'off') {
          assert.equal(
            helpDefault,
            undefined,
            `${option}: --help says default ${helpDefault}, the README none`,
          )
          continue
        }
        // An environment variable as the default: --help names it in the description.
        if (
          helpDefault === undefined &&
          /^[A-Z_]+$/.test(readmeDefault) &&
          description.includes(readmeDefault)
        )
          continue
        assert.ok(
          helpDefault,
          `${option}: the README says default ${readmeDefault}, imgpull ${key} --help none`,
        )
        const first = /^[^\s,;(]+/.exec(helpDefault)![0]
        assert.ok(
          readmeDefault.includes(first),
          `${option}: the README says default ${readmeDefault}, imgpull ${key} --help ${helpDefault}`,
        )
        checked++
      }
    }
  }
  assert.ok(checked > 30, `${checked} defaults checked`)
})

test("every library option and result field is in the README's Library section", async () => {
  // `threads`, `outputFormat`, `shardSize`, `command`, `rerun`, `hostGate`, and the results'
  // `finishedAt` and `answers`, were in the types (the package's .d.ts) and nowhere in the README.
  const text = await readme
  const library = text.slice(text.indexOf('\n## Library'), text.indexOf('\n## Development'))
  const source = await readFile(new URL('../src/options.ts', import.meta.url), 'utf8')
  const types = await readFile(new URL('../src/types.ts', import.meta.url), 'utf8')
  const keys = (body: string) =>
    [...body.matchAll(/^ {2}(?:readonly )?([a-zA-Z0-9]+)\??:/gm)].map((m) => m[1])
  const block = (file: string, head: string) =>
    file.slice(file.indexOf(head), file.indexOf('\n}\n', file.indexOf(head)))
  const options = keys(block(source, 'export interface Options {'))
  const fields = [
    ...keys(block(types, 'export interface Outcome {')).filter((k) => k !== 'ttfb' && k !== 'total'),
    ...keys(block(types, 'export interface Result ')),
  ]
  assert.ok(options.length > 30 && fields.length > 15, `${options.length} options, ${fields.length} fields`)
  for (const key of [...options, ...fields])
    assert.match(library, new RegExp(`\`${key}\\b`), `${key} is not in ## Library`)
})

test("every option a README example command gives is one its command's --help lists", async () => {
  const text = await readme
  // The lines inside code fences (any language: a fence's language is no matter here), and the
  // commands quoted inline.
  const fenced: string[] = []
  let inside = false
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) inside = !inside
    else if (inside) fenced.push(line)
  }
  const lines = [...fenced, ...[...text.matchAll(/`((?:npx )?imgpull [^`]+)`/g)].map((m) => m[1])]
  const commands = lines
    .flatMap((line) => line.replace(/^\$ /, '').split(/&&|\|/))
    .map((part) => part.split(' #')[0].trim().replace(/^npx /, ''))
    .filter((part) => part.startsWith('imgpull '))
  assert.ok(commands.length > 30, `${commands.length} example commands`)
  const helps = new Map<string, Map<string, string>>()
  for (const line of commands) {
    const words = line.split(/\s+/).slice(1)
    // `imgpull unsplash … --on-rate-limit stop`: an option every Unsplash command takes.
    const unsplash = /^[a-z]+$/.test(words[1] ?? '') ? words[1] : 'search'
    const command = ['status', 'report', 'enqueue', 'worker', 'bench'].includes(words[0])
      ? [words[0]]
      : words[0] === 'unsplash'
        ? ['unsplash', unsplash]
        : []
    const key = command.join(' ')
    if (!helps.has(key)) helps.set(key, await helpOptions(command, true))
    for (const word of words.filter((w) => /^--?[a-zA-Z]/.test(w))) {
      const option = word.split('=')[0]
      assert.ok(
        helps.get(key)!.has(option),
        `${option} in the README's "${line}" is not an option of imgpull ${key}`,
      )
    }
  }
})

test('imgpull --help and enqueue --help name every kind of input the README does, a folder of tables too', async () => {
  // The README: "a file named like a table ... or a folder is a table"; imgpull --help named no folder.
  assert.match((await readme).replace(/\s+/g, ' '), /a file named like a table .* or a folder is a table/)
  for (const command of [[], ['enqueue']]) {
    const help = (await runCli([...command, '--help'])).stdout.replace(/\s+/g, ' ')
    const inputs = help.slice(help.indexOf('Arguments:'), help.indexOf('Options:'))
    for (const kind of ['URL', '- for stdin', 'CSV, TSV, JSON lines, Parquet', 'a folder of them'])
      assert.ok(inputs.includes(kind), `imgpull ${command.join(' ')} --help: its inputs name no "${kind}"`)
  }
})

test("the Quick start's figures for the fixtures are the fixture folder's: its count, its bytes, those npm's libvips cannot read", async () => {
  // It said 36 images, 143.4 kB, after progressive-restart.jpg made them 37: its commands gave 37.
  const folder = new URL('./fixtures/images/', import.meta.url)
  // As the README's `ls test/fixtures/images | grep -v json` lists them.
  const names = (await readdir(folder)).filter((name) => !name.includes('json'))
  let bytes = 0
  for (const name of names) bytes += (await stat(new URL(name, folder))).size
  const text = (await readme).replace(/\s+/g, ' ')
  const quick = text.slice(text.indexOf('## Quick start'), text.indexOf('## Usage'))
  assert.equal(/the test fixtures are (\d+) small images/.exec(quick)?.[1], String(names.length))
  assert.deepEqual(/# (\d+) images, ([\d.]+ [kM]?B) in /.exec(quick)?.slice(1), [
    String(names.length),
    formatBytes(bytes),
  ])
  const unread = names.filter((name) => /\.(heic|bmp|ico|cur|jxl|jp2|j2c)$/.test(name)).length
  // Each option that decodes an image fails them alike: it named --resize alone, and the Resize
  // section's own `--encode webp` and `--verify decode` examples failed 12 of 37.
  assert.equal(
    /With `--resize`, `--encode` or `--verify decode`, the (\d+) of them in formats the npm build of libvips/.exec(
      quick,
    )?.[1],
    String(unread),
  )
})

test("the README's TypeScript examples type-check as a consumer's strict project checks them, skipLibCheck off, exactOptionalPropertyTypes on and off", async () => {
  // With exactOptionalPropertyTypes, the Unsplash example's `accessKey: process.env.UNSPLASH_ACCESS_KEY`
  // failed (TS2379: string | undefined is not assignable to string), as did any option, job field
  // or table option given a value that may be undefined.
  // dist/fetch/undici.d.ts, which the package's index reaches, named the type of undici's internal
  // SOCKS5 module, which only src/undici-internals.d.ts (not in the package) declares: a project's
  // `tsc` without skipLibCheck (its default) failed on `import { pull } from 'imgpull'` (TS7016).
  const root = fileURLToPath(new URL('..', import.meta.url))
  const dir = await mkdtemp(join(tmpdir(), 'imgpull-consumer-'))
  try {
    await mkdir(join(dir, 'node_modules', '@types'), { recursive: true })
    await symlink(root, join(dir, 'node_modules', 'imgpull'))
    await symlink(join(root, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'))
    await writeFile(join(dir, 'package.json'), '{ "type": "module" }')
    const compilerOptions = {
      module: 'NodeNext',
      target: 'ES2022',
      strict: true,
      noEmit: true,
      types: ['node'],
    }
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['*.ts'] }))
    const blocks = [...(await readme).matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((m) => m[1])
    assert.ok(blocks.length >= 3, `${blocks.length} TypeScript examples`)
    for (const [i, block] of blocks.entries()) {
      // The Datasets example maps the caller's own rows.
      const given = /\brows\.map\b/.test(block)
        ? 'declare const rows: { url: string; text: string; license: string }[]\n'
        : ''
      await writeFile(join(dir, `example-${i}.ts`), given + block)
    }
    // Values a caller may not have, given as they are: what exactOptionalPropertyTypes (which
    // @tsconfig/strictest turns on) refuses for an optional property that does not say `| undefined`.
    await writeFile(
      join(dir, 'maybe.ts'),
      `import { join } from 'node:path'
import { pull, unsplash, type DoneResult, type ErrorCode, type Job } from 'imgpull'
import { openTables, tablesSource } from 'imgpull/tables'
declare const maybe: { n?: number; s?: string; signal?: AbortSignal; yes?: boolean }
const job: Job = { url: 'https://images.example/a.jpg', key: maybe.s, row: maybe.n, caption: maybe.s }
const run = pull([job], {
  out: maybe.s, concurrency: maybe.n, retries: maybe.n, signal: maybe.signal, journal: maybe.yes,
  transform: { size: maybe.n, quality: maybe.n, verifyDecode: maybe.yes },
})
const photos = unsplash.search('lake', { accessKey: maybe.s, limit: maybe.n, signal: maybe.signal })
const tables = await openTables(['rows.csv'], { captionCol: maybe.s, urlCol: maybe.s })
// A check of \`status\` narrows a result, as the README says each status's fields (a discriminated
// union: farcasterxyz/auth-monorepo#161): each of these was \`| undefined\` to tsc after it (TS2322).
const kept: DoneResult[] = []
for await (const result of run) {
  if (result.status === 'failed') {
    const why: ErrorCode = result.error
    const line: string = result.message
    console.error(why, line)
  } else {
    const file: string = join('out', result.path)
    const size: number = result.bytes
    console.log(file, size)
    kept.push(result)
  }
}
export { kept, photos, run, tables, tablesSource }
`,
    )
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
    for (const exact of [false, true]) {
      const options = { ...compilerOptions, exactOptionalPropertyTypes: exact }
      await writeFile(
        join(dir, 'tsconfig.json'),
        JSON.stringify({ compilerOptions: options, include: ['*.ts'] }),
      )
      const result = await promisify(execFile)(process.execPath, [tsc, '-p', dir]).catch((error) => error)
      assert.equal(
        result.code ?? 0,
        0,
        `exactOptionalPropertyTypes ${exact}: ${result.stdout}${result.stderr}`,
      )
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test("the Quick start's local server and list, run as written: no connection's SYN is dropped", async () => {
  // `python3 -m http.server` listens with socketserver's backlog of 5: of the 16 connections
  // imgpull opens to a host at once (up to 128 as its limit adapts), those past it had their SYN
  // dropped and sent again a second later, so the 37 fixtures took 1.3 s (0.1 s one by one, and
  // `imgpull bench` said 0.1x). Told by the kernel's count of those drops, not by how long the
  // files took alone: on a loaded machine a first byte may come a second late for want of a core.
  const text = await readme
  const quick = text.slice(text.indexOf('## Quick start'), text.indexOf('## Usage'))
  const block = /```sh\n(python3[\s\S]*?)```/.exec(quick)?.[1] ?? ''
  const serve = block.slice(0, block.search(/ &\n/))
  const list = block.slice(block.search(/ &\n/) + 3).split('\n')[0]
  assert.match(serve, /^python3 .*8080/s)
  const backlog = Number(/request_queue_size = (\d+)/.exec(serve)?.[1])
  assert.ok(
    backlog >= 128,
    `the server's listen backlog (${backlog}) holds the 128 connections imgpull may open to it`,
  )
  assert.match(list, /^ls test\/fixtures\/images .*> local\.txt$/)
  const probe = createServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => probe.once('listening', resolve))
  const port = String((probe.address() as { port: number }).port)
  const root = fileURLToPath(new URL('..', import.meta.url))
  // Its port held by another server, it says so: its stderr sent to /dev/null, it ended without a
  // word, and imgpull asked the other server for the files. (Had it started, `timeout` ends it.)
  const taken = await promisify(execFile)('bash', ['-c', `timeout 20 ${serve.replaceAll('8080', port)}`], {
    cwd: root,
  }).then(
    () => '',
    (error: { stderr: string }) => error.stderr,
  )
  await new Promise((resolve) => probe.close(resolve))
  assert.match(taken, /Address already in use/)
  const dir = await mkdtemp(join(tmpdir(), 'imgpull-quick-'))
  const server = spawn('bash', ['-c', `exec ${serve.replaceAll('8080', port)}`], {
    cwd: root,
    stdio: 'ignore',
  })
  try {
    await promisify(execFile)(
      'bash',
      ['-c', list.replaceAll('8080', port).replace('local.txt', join(dir, 'local.txt'))],
      { cwd: root },
    )
    for (let i = 0; i < 200; i++) {
      const up = await fetch(`http://127.0.0.1:${port}/rgba.png`).then(
        (r) => r.ok,
        () => false,
      )
      if (up) break
      await sleep(25)
    }
    const dropsBefore = await listenDrops()
    const r = await runCli([join(dir, 'local.txt'), '-o', join(dir, 'photos')])
    const dropped = (await listenDrops()) - dropsBefore
    assert.equal(r.code, 0, r.stderr)
    const rows = (await readFile(join(dir, 'photos', 'manifest.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    // Every fixture the list names (as the README's `grep -v json` leaves them).
    const fixtures = (await readdir(new URL('./fixtures/images/', import.meta.url))).filter(
      (n) => !n.includes('json'),
    )
    assert.equal(rows.length, fixtures.length)
    // The count is the whole machine's: a drop elsewhere meanwhile (another test's server out of
    // descriptors) is this server's only if files here waited the second a SYN sent again waits.
    const waited = rows
      .filter((row) => row.timings.ttfb >= 1000)
      .map((row) => `${row.url} ${row.timings.ttfb} ms`)
    assert.deepEqual(
      dropped > 0 ? waited : [],
      [],
      `files whose first byte came a second late while ${dropped} SYNs were dropped by a full listen queue (TcpExt ListenDrops)`,
    )
  } finally {
    server.kill()
    await rm(dir, { recursive: true, force: true })
  }
})

// The Unsplash section told a newcomer of `--api-url`, "a proxy or a test server", but not how to
// start one: without a key, `imgpull unsplash` could not be tried at all.
test("the Unsplash section's mock API, started as written: the line it prints points imgpull at it, the README's search and single photo fetch their photos", async () => {
  const text = await readme
  const section = text.slice(text.indexOf('## Unsplash'), text.indexOf('### What to list'))
  const start = /^(node --import tsx scripts\/unsplash-mock\.ts)\s+#/m.exec(section)?.[1]
  assert.ok(start, 'the command that starts the mock')
  const search = /`(imgpull unsplash search "mountain lake" --limit (\d+) -o lakes)`/.exec(section)
  assert.ok(search, 'the search to run against it')
  const root = fileURLToPath(new URL('..', import.meta.url))
  const dir = await mkdtemp(join(tmpdir(), 'imgpull-mock-'))
  // The mock as the README starts it (`more`: its options), and the variables its first line sets.
  const started: ReturnType<typeof spawn>[] = []
  async function startMock(more = '') {
    const mock = spawn('bash', ['-c', `exec ${start} ${more}`], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    started.push(mock)
    const exited = new Promise<number | null>((resolve) => mock.once('exit', (code) => resolve(code)))
    let out = ''
    for await (const chunk of mock.stdout!) {
      out += chunk
      if (out.includes('\n')) break
    }
    const line = out.split('\n')[0]
    const env =
      /^export UNSPLASH_API_URL=(http:\/\/127\.0\.0\.1:\d+) UNSPLASH_ACCESS_KEY=test-access-key$/.exec(line)
    assert.ok(env, `the line to paste: ${line}`)
    return { mock, exited, env: { UNSPLASH_API_URL: env[1], UNSPLASH_ACCESS_KEY: 'test-access-key' } }
  }
  try {
    const { mock, exited, env } = await startMock()
    assert.ok(
      section.includes('`export UNSPLASH_API_URL=http://127.0.0.1:PORT UNSPLASH_ACCESS_KEY=test-access-key`'),
    )
    const out1 = join(dir, 'lakes')
    const r = await runCli(['unsplash', 'search', 'mountain lake', '--limit', search[2], '-o', out1], { env })
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /Unsplash search "mountain lake": 5 of 40 photos/)
    const files = (await readdir(out1)).filter((f) => f.endsWith('.jpg'))
    assert.equal(files.length, Number(search[2]))
    assert.match(await readFile(join(out1, 'ATTRIBUTION.md'), 'utf8'), /Photo by .* on \[Unsplash\]/)
    // Every listing the README says it knows has that many photos.
    for (const [args, total] of [
      [['search', 'forest'], 'search "forest": 1 of 12'],
      [['collection', '1580860'], 'collection 1580860: 1 of 35'],
      [['user', 'anniespratt'], 'user anniespratt: 1 of 45'],
      [['likes', 'anniespratt'], 'likes of anniespratt: 1 of 10'],
      [['topic', 'nature'], 'topic nature: 1 of 40'],
    ] as const) {
      const one = await runCli(['unsplash', ...args, '--limit', '1', '-o', join(dir, args.join('-'))], {
        env,
      })
      assert.equal(one.code, 0, one.stderr)
      assert.ok(one.stderr.includes(`Unsplash ${total} photos`), one.stderr)
    }
    // The README's single photo, by the id its examples give (it was `no such Unsplash photo`, exit 2).
    const photo = /^imgpull unsplash photo (\S+) -o one$/m.exec(text)?.[1]
    assert.ok(
      photo && section.includes(`photo ${photo} (`),
      `the mock names the examples' photo id: ${photo}`,
    )
    const single = await runCli(['unsplash', 'photo', photo, '-o', join(dir, 'one')], { env })
    assert.equal(single.code, 0, single.stderr)
    assert.match(single.stderr, /^1 image, /m)
    // The README's resize example: photos that decode, resized here (they failed as undecodable).
    const resize = /^imgpull unsplash (collection \S+ --resize .*) -o \S+$/m.exec(text)?.[1]
    assert.ok(resize, "the Unsplash section's resize example")
    const crops = join(dir, 'crops')
    const resized = await runCli(['unsplash', ...resize.split(' '), '--limit', '3', '-o', crops], { env })
    assert.equal(resized.code, 0, resized.stderr)
    assert.match(resized.stderr, /^3 images, .* 0 failed$/m)
    assert.equal((await readdir(crops)).filter((f) => f.endsWith('.webp')).length, 3)
    // Ctrl-C stops it, and its image host, cleanly.
    mock.kill('SIGINT')
    assert.equal(await exited, 0)
    // A demo key's few calls and a short window, as the README starts it: a rate-limit wait seen through.
    assert.match(section, /Started with `--limit 50`[\s\S]*`--window 10`[\s\S]*`--rate-limit-window 10`/)
    const demo = await startMock('--limit 3 --window 1')
    const waited = await runCli(
      ['unsplash', 'search', 'forest', '--limit', '4', '--rate-limit-window', '1', '-o', join(dir, 'demo')],
      { env: demo.env },
    )
    assert.equal(waited.code, 0, waited.stderr)
    assert.match(waited.stderr, /Unsplash rate limit reached: waiting 0:01 for the hourly reset/)
    assert.match(waited.stderr, /^4 images, /m)
    demo.mock.kill('SIGINT')
    assert.equal(await demo.exited, 0)
  } finally {
    for (const mock of started) mock.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
})

test("the README's quoted refusals of a mistyped input are what imgpull prints for them", async () => {
  // `imgpull urls.txt photos` was quoted as `cannot read input 'photos': no such file; if it is
  // the output folder...` where imgpull said `no such file, nor a command; if it is...`.
  const text = (await readme).replace(/\s+/g, ' ')
  // A command, then within a few words the message quoted (`imgpull url.txt`: `cannot read input...`).
  const pairs = [...text.matchAll(/`imgpull ([^`]+)`[^`]{0,40}: `([^`]+: [^`]+)`/g)].map((m) => [m[1], m[2]])
  assert.ok(pairs.length >= 3, `${pairs.length} quoted refusals`)
  for (const [args, said] of pairs) {
    // Beside a list named urls.txt, as the README's examples are; nothing else there.
    const dir = await mkdtemp(join(tmpdir(), 'imgpull-docs-'))
    try {
      await writeFile(join(dir, 'urls.txt'), 'http://127.0.0.1:9/a.jpg\n')
      const run = await runCli(args.split(' '), { cwd: dir })
      assert.equal(run.code, 2, `imgpull ${args}: ${run.stderr}`)
      assert.ok(
        run.stderr.includes(`imgpull: ${said}`),
        `imgpull ${args}: the README quotes "${said}", imgpull prints ${run.stderr}`,
      )
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
})

test("status --failed: --help, the README and the report give one command, from the journal, in input order, another list's failures included", async () => {
  const { renderReport } = await import('../src/report/html/page.js')
  const help = (await runCli(['status', '--help'])).stdout.replace(/\s+/g, ' ')
  const option = help.slice(help.indexOf('--failed [code]'), help.indexOf('-h, --help'))
  const text = (await readme).replace(/\s+/g, ' ')
  const readmeOption = text.slice(
    text.indexOf('`imgpull status OUT --failed [CODE]`'),
    text.indexOf('`OUT/report.html`: see'),
  )
  for (const [where, words] of [
    ['--help', option],
    ['README', readmeOption],
  ])
    for (const said of [
      'input order',
      'signing parameters kept',
      'during a run',
      'after a',
      'another list',
      'stderr',
    ])
      assert.ok(words.includes(said), `${where} on --failed says no "${said}": ${words}`)
  // The report's command is the one the README shows, for a folder named photos.
  const page = renderReport({
    title: 'photos',
    folder: 'photos',
    startedAt: 0,
    endedAt: 1,
    interrupted: true,
    items: [
      {
        url: 'https://a.example/x.jpg',
        host: 'https://a.example',
        status: 'failed',
        error: 'http-404',
        attempts: 1,
      },
    ],
    samples: [],
  })
  const shown = /data-failed-list="http-404">([^<]*)</.exec(page)?.[1].replaceAll('&gt;', '>')
  assert.equal(shown, 'imgpull status photos --failed http-404 > 404.txt')
  assert.ok(text.includes(`\`${shown}\``), "the README shows the report's command")
  assert.ok(option.includes(shown.replace('photos', 'OUT')), '--help shows it')
})

test("the README's Library example, run as written from a consumer's folder, lets through a failure that is not its own abort", async () => {
  // Its `catch` kept only a comment about `controller.abort()`: copied as it stands, a run that
  // could not start (its folder a file, another run in it, a full disk) ended silently, exit 0.
  const text = await readme
  const library = text.slice(text.indexOf('\n## Library'), text.indexOf('\n## Development'))
  const block = /^```ts\n([\s\S]*?)^```/m.exec(library)?.[1] ?? ''
  assert.match(block, /pull\(\['https:\/\/…', 'https:\/\/…'\], \{ out: 'photos'/)
  const root = fileURLToPath(new URL('..', import.meta.url))
  const dir = await mkdtemp(join(tmpdir(), 'imgpull-library-example-'))
  try {
    await mkdir(join(dir, 'node_modules'))
    await symlink(root, join(dir, 'node_modules', 'imgpull'))
    await writeFile(join(dir, 'package.json'), '{ "type": "module" }')
    await writeFile(join(dir, 'example.mjs'), block)
    // The output folder cannot be made: a file has its name.
    await writeFile(join(dir, 'photos'), 'not a folder')
    const result = await promisify(execFile)(process.execPath, ['example.mjs'], { cwd: dir }).then(
      () => ({ code: 0, stderr: '' }),
      (error) => error,
    )
    assert.notEqual(result.code, 0, 'the example ended as if all went well')
    assert.match(result.stderr, /FatalError: cannot create output folder photos: .*a file, not a folder/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test("the README's Library section names every FatalError code a rejected run may carry, and no other", async () => {
  // `FatalError.code` was a string listed nowhere: a caller could tell a full disk from a journal
  // it cannot open only by reading the message.
  const { FATAL_CODES } = await import('../src/errors.js')
  const text = (await readme).replace(/\s+/g, ' ')
  const library = text.slice(text.indexOf(' ## Library'), text.indexOf(' ## Development'))
  const from = library.indexOf('or a `FatalError`')
  const said = library.slice(from, library.indexOf('. ', from))
  assert.ok(from > 0, 'the Library section says nothing of a FatalError')
  const named = [...said.matchAll(/`([a-z-]+)`/g)]
    .map((m) => m[1])
    .filter((word) => !['hint', 'code', 'cause'].includes(word))
  assert.deepEqual(named.sort(), Object.keys(FATAL_CODES).sort())
})

test("the README's Library section names every UsageError and UnsplashError code, and no other", async () => {
  // A `UsageError` (a `FolderBusyError` too) had no `code`, and an `UnsplashError`'s was a string
  // listed nowhere: a caller could tell a busy folder from input it cannot read only by
  // `instanceof`, which fails between two copies of imgpull, or by reading the message.
  const { USAGE_CODES } = await import('../src/errors.js')
  const { UNSPLASH_CODES } = await import('../src/sources/unsplash/errors.js')
  const text = (await readme).replace(/\s+/g, ' ')
  const library = text.slice(text.indexOf(' ## Library'), text.indexOf(' ## Development'))
  const between = (from: string, to: string) => {
    const start = library.indexOf(from)
    assert.ok(start > 0, `the Library section does not say "${from}"`)
    const said = library.slice(start + from.length, library.indexOf(to, start))
    return [...said.matchAll(/`([a-z][a-zA-Z0-9-]*)`/g)].map((m) => m[1])
  }
  assert.deepEqual(between("a `UsageError`'s is", ';').sort(), Object.keys(USAGE_CODES).sort())
  assert.deepEqual(
    between("an `UnsplashError`'s an `UnsplashCode`,", ' for another HTTP status')
      .filter((word) => word !== 'until')
      .sort(),
    [...Object.keys(UNSPLASH_CODES), 'unsplash-NNN'].sort(),
  )
})

/**
 * The kernel's count of connections a listen queue had no room for (`TcpExt: ListenDrops` in
 * /proc/net/netstat, this network namespace's: a full accept queue drops the SYN, and the client
 * sends it again after its 1 s retransmission timeout).
 */
async function listenDrops(): Promise<number> {
  const lines = (await readFile('/proc/net/netstat', 'utf8'))
    .split('\n')
    .filter((l) => l.startsWith('TcpExt:'))
  const names = lines[0]!.split(/\s+/)
  const at = names.indexOf('ListenDrops')
  assert.ok(at > 0, 'TcpExt ListenDrops in /proc/net/netstat')
  return Number(lines[1]!.split(/\s+/)[at])
}

test("the WebDataset worked example, run as written after the Datasets section's files example, is taken, and its quoted refusal is imgpull's", async () => {
  // Its -o photos was the Quick start's folder and the files examples' above it: run in that order,
  // as a newcomer runs them, it was refused (exit 2) and the shards listed below it never came.
  const text = await readme
  const files = /^ {4}imgpull (examples\/photos\.csv .*-o (\S+))$/m.exec(text)
  const worked =
    /^ {4}imgpull (examples\/photos\.csv [^\n]*\\\n[^\n]*--output-format webdataset[^\n]*)$/m.exec(text)
  assert.ok(files && worked, 'the two examples')
  const dir = await mkdtemp(join(tmpdir(), 'imgpull-worked-'))
  try {
    await symlink(fileURLToPath(new URL('../examples', import.meta.url)), join(dir, 'examples'))
    const words = (line: string) => line.replace(/\\\n/g, ' ').trim().split(/\s+/)
    // The example rows' images.example URLs fail at once, unlooked-up: exit 1, the folder made.
    assert.equal((await runCli(words(files[1]), { cwd: dir })).code, 1)
    const shards = await runCli(words(worked[1]), { cwd: dir })
    assert.equal(shards.code, 1, shards.stderr)
    const out = /-o (\S+)$/.exec(worked[1].trim())?.[1] ?? ''
    assert.ok((await readdir(join(dir, out))).includes('00002.tar'))
    const refused = await runCli([...words(worked[1]).slice(0, -2), '-o', files[2]], { cwd: dir })
    assert.equal(refused.code, 2)
    const quoted = /is refused, exit 2: `([^`]+)`/.exec(text.replace(/\s*\n\s*/g, ' '))?.[1] ?? ''
    assert.ok(quoted && refused.stderr.includes(quoted), `${quoted}\n${refused.stderr}`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
