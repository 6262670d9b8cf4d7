// Bad option values the sweeps left: an option of one value given twice with another value (taken
// silently as the last one: now taken with a warning naming both, as curl takes the last), a value
// holding a line break or other control character (taken trimmed: `-c $'5\n'` ran at 5), and a
// malformed or unreachable --redis (named without the flag, `redis://` tried as a host, `?db=x` a
// stack trace). Each refusal is one line naming the culprit as typed, exit 2, and leaves a finished
// run's folder as it was: its files, manifest and journal.
import assert from 'node:assert/strict'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import Database from 'better-sqlite3'
import { controlCharacter, givenTwiceWords } from '../src/cli/option-values.js'
import { decimal } from '../src/cli/parse.js'
import { redisNamed } from '../src/cli/queue-options.js'
import { redisAddress } from '../src/queue/redis.js'
import { cleanup, listFiles, runCli, tempDir } from './support/cli.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { freePort } from './support/ports.js'

describe('option values: pure rules', () => {
  test('controlCharacter names the first control character of a value', () => {
    const cases: [string, string | undefined][] = [
      ['5', undefined],
      [' 5 ', undefined],
      ['{name}{ext}', undefined],
      ['héllo wörld', undefined],
      ['5\n', 'a line break'],
      ['a\r\nb', 'a carriage return'],
      ['1\t2', 'a tab'],
      ['x\0', 'a NUL'],
      ['\u001b[31m', 'a control character (\\x1b)'],
      ['a\u007f', 'a control character (\\x7f)'],
      ['a\u0085', 'a control character (\\x85)'],
    ]
    for (const [value, want] of cases) assert.equal(controlCharacter(value), want, JSON.stringify(value))
  })

  test('decimal reads decimal digits only: no hex, binary or exponent', () => {
    const cases: [string, number | undefined][] = [
      ['2', 2],
      ['1.5', 1.5],
      ['.5', 0.5],
      [' 3 ', 3],
      ['0x2', undefined],
      ['0b11', undefined],
      ['1e1', undefined],
      ['Infinity', undefined],
      ['', undefined],
      ['2x', undefined],
      ['-1', undefined],
    ]
    for (const [value, want] of cases) assert.equal(decimal(value), want, value)
  })

  test('givenTwiceWords names both values as typed, a URL without its password, a secret not at all', () => {
    assert.equal(
      givenTwiceWords('--out', 'a', 'my photos'),
      "--out is given twice, as a and 'my photos': the last is taken, 'my photos'",
    )
    assert.match(givenTwiceWords('--failed', undefined, 'http-404'), /as --failed alone and http-404:/)
    const proxy = givenTwiceWords('--proxy', 'http://bob:secret@p:3128', 'http://p:3129')
    assert.doesNotMatch(proxy, /secret/)
    assert.match(proxy, /as http:\/\/p:3128 and http:\/\/p:3129/)
    assert.equal(
      givenTwiceWords('--access-key', 'k1', 'k2', true),
      '--access-key is given twice, with two different values: the last is taken',
    )
    assert.doesNotMatch(givenTwiceWords('--access-key', 'k1', 'k2', true), /k1|k2/)
  })

  test('redisAddress: no host, and a ?db= that is no number, are said as such', () => {
    const usage = 'give one like redis://host:6379, or a Unix socket as /run/redis/redis.sock'
    assert.equal(redisAddress('redis://'), `'redis://' names no host: ${usage}`)
    assert.equal(redisAddress('redis:127.0.0.1'), `'redis:127.0.0.1' names no host: ${usage}`)
    assert.equal(
      redisAddress('redis://127.0.0.1:6379?db=x'),
      "'redis://127.0.0.1:6379?db=x' names database 'x': a Redis database is a number (redis://host:6379/0)",
    )
    assert.deepEqual(redisAddress('redis://127.0.0.1:6379?db=2'), {
      kind: 'tcp',
      url: 'redis://127.0.0.1:6379?db=2',
      protocol: 'redis:',
      db: '2',
    })
  })

  test('redisNamed names the address by where it came from', () => {
    const bad = { code: 'redis-url', message: "'http://h' is not a Redis URL: give one" }
    assert.equal(redisNamed(bad, 'http://h', '--redis'), "--redis 'http://h' is not a Redis URL: give one")
    assert.equal(
      redisNamed(bad, 'http://h', 'IMGPULL_REDIS'),
      "IMGPULL_REDIS='http://h' is not a Redis URL: give one",
    )
    const down = { code: 'redis-unreachable', message: 'cannot reach Redis at redis://h:1 (ECONNREFUSED): x' }
    assert.equal(
      redisNamed(down, 'redis://h:1', '--redis'),
      'cannot reach Redis at --redis redis://h:1 (ECONNREFUSED): x',
    )
    // The default address is said as such by its own words; another queue error is left as it is.
    assert.equal(redisNamed(down, 'redis://h:1', undefined), down.message)
    const other = { code: 'queue-input', message: 'queue q holds another input' }
    assert.equal(redisNamed(other, 'redis://h:1', '--redis'), other.message)
  })
})

describe('bad option values against a finished run', () => {
  let server: ImageServer
  let dir: string
  let out: string
  let list: string

  /** The folder as a rerun would find it: every file's bytes (the journal's as its rows). */
  async function state(): Promise<Record<string, string>> {
    const all: Record<string, string> = {}
    for (const file of await listFiles(out)) {
      if (/journal\.db/.test(file)) continue
      all[file] = (await readFile(join(out, file))).toString('base64')
    }
    const db = new Database(join(out, '.imgpull', 'journal.db'), { readonly: true, fileMustExist: true })
    try {
      for (const table of ['jobs', 'runs', 'samples'])
        all[`journal:${table}`] = JSON.stringify(db.prepare(`SELECT * FROM ${table}`).all())
    } finally {
      db.close()
    }
    return all
  }

  /** Run `args` (`OUT` standing for the folder) and check: exit 2, one line matching `want`, the folder unchanged. */
  async function refused(args: string[], want: RegExp, env: Record<string, string> = {}) {
    const before = await state()
    const run = await runCli(
      args.map((a) => (a === 'OUT' ? out : a === 'LIST' ? list : a)),
      { env },
    )
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`)
    const lines = run.stderr.trimEnd().split('\n')
    assert.equal(lines.length, 1, run.stderr)
    assert.match(lines[0] ?? '', want)
    assert.deepEqual(await state(), before, `${args.join(' ')} changed the folder`)
  }

  before(async () => {
    server = await startImageServer()
    dir = await tempDir('imgpull-bad-values-')
    out = join(dir, 'out')
    list = join(dir, 'urls.txt')
    await writeFile(list, `${[1, 2, 3].map((i) => server.url(`/bad-values/${i}.jpg`)).join('\n')}\n`)
    const first = await runCli([list, '-o', out, '-q'])
    assert.equal(first.code, 0, first.stderr)
  })
  after(async () => {
    await server?.close()
    await cleanup(dir)
  })

  test('an option of one value given twice with two values takes the last, as curl does, with a warning naming both', async () => {
    // Each: the arguments, the warning's line, and what shows the last value was the one taken.
    const other = join(dir, 'other')
    const twice = await runCli([list, '-o', out, '-o', other, '-q'])
    assert.equal(twice.code, 0, twice.stderr)
    assert.match(
      twice.stderr,
      /^imgpull: warning: --out is given twice, as .*out and .*other: the last is taken, .*other$/m,
    )
    assert.equal(
      (await readdir(other)).filter((n) => n.endsWith('.jpg')).length,
      3,
      'the run went into the last --out',
    )
    const pace = await runCli([list, '-o', out, '--concurrency', '4', '-c', '8', '--retry-failed', '-q'])
    assert.equal(pace.code, 0, pace.stderr)
    assert.match(
      pace.stderr,
      /^imgpull: warning: --concurrency is given twice, as 4 and 8: the last is taken, 8$/m,
    )
    assert.equal(pace.stderr.trimEnd().split('\n').length, 1, pace.stderr)
    // The queue commands' too, before Redis is asked anything; the proxy's password never shown.
    const worker = await runCli([
      'worker',
      '--queue',
      'a',
      '--queue',
      'b',
      '-o',
      out,
      '--redis',
      'redis://127.0.0.1:1',
    ])
    assert.match(
      worker.stderr,
      /^imgpull: warning: --queue is given twice, as a and b: the last is taken, b$/m,
    )
    const proxy = await runCli([
      list,
      '-o',
      join(dir, 'proxied'),
      '--proxy',
      'http://bob:secret@127.0.0.1:1',
      '--proxy',
      'http://127.0.0.1:2',
      '--retries',
      '0',
      '-q',
    ])
    assert.match(
      proxy.stderr,
      /warning: --proxy is given twice, as http:\/\/127\.0\.0\.1:1 and http:\/\/127\.0\.0\.1:2/,
    )
    assert.doesNotMatch(proxy.stderr, /secret/)
  })

  test('the same value again is one value, and repeatable options add theirs', async () => {
    const same = await runCli([list, '-o', out, '-c', '8', '--concurrency', '08', '-o', out, '-q'])
    assert.equal(same.code, 0, same.stderr)
    const headers = await runCli([list, '-o', out, '-H', 'X-A: 1', '-H', 'X-B: 2', '--retry-failed', '-q'])
    assert.equal(headers.code, 0, headers.stderr)
  })

  test('a value holding a line break, a tab or another control character is refused, shown as typed', async () => {
    await refused(
      ['LIST', '-o', 'OUT', '-c', '5\n'],
      /option '-c, --concurrency <n>' argument \$'5\\x0a' is invalid\. .*holds a line break/,
    )
    await refused(['LIST', '-o', 'OUT', '--retries', '2\n'], /--retries .*holds a line break/)
    await refused(['LIST', '-o', 'OUT', '--idle-timeout', '10\n'], /--idle-timeout .*holds a line break/)
    await refused(['LIST', '-o', 'OUT', '--max-size', '5MB\n'], /--max-size .*holds a line break/)
    await refused(['LIST', '-o', 'OUT', '--wait', '1\n-2'], /--wait .*holds a line break/)
    await refused(['LIST', '-o', 'OUT', '--per-host', 'auto\n'], /--per-host .*holds a line break/)
    await refused(['LIST', '-o', 'OUT', '--threads', '1\t'], /--threads .*holds a tab/)
    await refused(['LIST', '-o', 'OUT', '-n', '{name}\n{ext}'], /--name .*holds a line break/)
    await refused(
      ['LIST', '-o', 'OUT', '-A', 'ua\r\nX-Injected: 1'],
      /--user-agent .*holds a carriage return/,
    )
    await refused(['LIST', '-o', `${out}\n${out}`], /--out .*holds a line break/)
    await refused(
      ['LIST', '-o', 'OUT', '--max-aspect-ratio', '2\n'],
      /--max-aspect-ratio .*holds a line break/,
    )
    await refused(['LIST', '-o', 'OUT', '--grace', '5\n'], /--grace .*holds a line break/)
    await refused(['worker', '--queue', 'q\n', '-o', 'OUT'], /--queue .*holds a line break/)
  })

  test('a number in another notation than decimal digits is refused', async () => {
    await refused(
      ['LIST', '-o', 'OUT', '--max-aspect-ratio', '0x2'],
      /--max-aspect-ratio .*'?0x2'? is invalid\. expected a number >= 1/,
    )
    await refused(['LIST', '-o', 'OUT', '--max-aspect-ratio', '1e1'], /--max-aspect-ratio .*1e1'? is invalid/)
  })

  test('a malformed --redis is named with the flag and the value as typed, exit 2', async () => {
    for (const command of [
      ['status', '--queue', 'q'],
      ['worker', '--queue', 'q', '-o', 'OUT', '--exit-when-done'],
      ['enqueue', 'LIST', '--queue', 'q'],
    ]) {
      await refused(
        [...command, '--redis', 'http://127.0.0.1:6379'],
        /^imgpull: --redis 'http:\/\/127\.0\.0\.1:6379' is not a Redis URL/,
      )
      await refused([...command, '--redis', 'redis://'], /^imgpull: --redis 'redis:\/\/' names no host/)
      await refused(
        [...command, '--redis', 'redis://127.0.0.1:99999'],
        /--redis 'redis:\/\/127\.0\.0\.1:99999' is not a Redis URL/,
      )
      await refused(
        [...command, '--redis', 'redis://127.0.0.1:6379/jobs'],
        /--redis 'redis:\/\/127\.0\.0\.1:6379\/jobs' names database 'jobs'/,
      )
      await refused(
        [...command, '--redis', 'redis://127.0.0.1:6379?db=x'],
        /--redis 'redis:\/\/127\.0\.0\.1:6379\?db=x' names database 'x'/,
      )
    }
    await refused(['status', '--queue', 'q'], /^imgpull: IMGPULL_REDIS='redis:\/\/' names no host/, {
      IMGPULL_REDIS: 'redis://',
    })
  })

  test('an unreachable --redis is named with the flag and the value, exit 2 (README: Exit codes of the queue commands)', async () => {
    const port = await freePort()
    const url = `redis://127.0.0.1:${port}`
    const named = new RegExp(`cannot reach Redis at --redis ${url.replaceAll('.', '\\.')} \\(ECONNREFUSED\\)`)
    await refused(['status', '--queue', 'q', '--redis', url], named)
    await refused(['worker', '--queue', 'q', '-o', 'OUT', '--exit-when-done', '--redis', url], named)
    await refused(['enqueue', 'LIST', '--queue', 'q', '--redis', url], named)
    await refused(['status', '--queue', 'q'], new RegExp(`at IMGPULL_REDIS=${url.replaceAll('.', '\\.')} `), {
      IMGPULL_REDIS: url,
    })
  })
})
