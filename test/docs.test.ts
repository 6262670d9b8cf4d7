import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { ERROR_CODES } from '../src/error-codes.js'
import { retriedOnRerun } from '../src/fetch/retry-policy.js'
import { OVERLONG_FILES } from '../src/fetch/scheduler.js'
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

test('every option --help lists is in the README', async () => {
  const text = await readme
  for (const args of [['--help'], ['unsplash', 'search', '--help']]) {
    const help = await runCli(args)
    const options = [...help.stdout.matchAll(/^\s+(?:-\w, )?(--[a-z0-9-]+)/gm)].map((m) => m[1])
    assert.ok(options.length > 20, args.join(' '))
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

test('--help and the README say as the scheduler does when a host that asks too long a wait is given up (hunt49)', async () => {
  // --help said "a host that asks twice": since hunt44 D2 it takes a wait asked again of three
  // files in a row, and a user reading the help would expect the host given up after two.
  const help = (await runCli(['--help'])).stdout.replace(/\s+/g, ' ')
  const line = help.slice(help.indexOf('--max-retry-after'), help.indexOf('--connect-timeout'))
  assert.match(line, new RegExp(`of ${OVERLONG_FILES} files in a row`))
  assert.doesNotMatch(line, /twice/)
  const words = ['zero', 'one', 'two', 'three', 'four', 'five'][OVERLONG_FILES]
  assert.match((await readme).replace(/\s+/g, ' '), new RegExp(`of ${words} files in a row, is given up`))
})

test("the README's Node version is package.json's engines, which npm ci enforces (engine-strict) (hunt49)", async () => {
  // It said 20.18: npm ci refuses 20.18.0 (EBADENGINE), as undici 7 needs 20.18.1.
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'))
  const version = /^>=(\d+\.\d+\.\d+)$/.exec(pkg.engines.node)?.[1]
  assert.ok(version, pkg.engines.node)
  assert.match(
    (await readme).replace(/\s+/g, ' '),
    new RegExp(`Needs Node\\.js ${version.replaceAll('.', '\\.')} or later`),
  )
})
