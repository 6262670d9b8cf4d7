import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { cleanup, outputFiles, runCli, tempDir } from './support/cli.js'
import { type WireServer, wireServer } from './support/wire-server.js'

// URLs as people copy them out of the source of a JSON document or a web page, and the names
// their files get: the server records each request-target as it came on the wire (`req.url`,
// never re-parsed), and answers every `.png` path with an image of its own.
let seen: string[]
let origin: string
let dir: string
let site: WireServer
before(async () => {
  site = await wireServer()
  ;({ origin, seen } = site)
  dir = await tempDir('imgpull-copied-')
})
after(async () => {
  await site.close()
  await cleanup(dir)
})

interface Line {
  url: string
  status: string
  path: string | null
}
const manifest = async (out: string): Promise<Line[]> =>
  (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Line)

test('URLs copied from JSON or HTML source, in a list, a table and an argument, ask for what they mean', async () => {
  const json = (path: string) => `${origin}${path}`.replaceAll('/', '\\/')
  await writeFile(
    join(dir, 'urls.txt'),
    [
      // PHP's json_encode and many APIs escape each `/`, and `&` as \u0026.
      json('/json/a.png?w=1\\u0026h=2'),
      `"${json('/json/quoted.png')}"`,
      // View-source's <img src>: each & written &amp;.
      `${origin}/html.png?w=400&amp;h=300&#38;fit=crop`,
      // One & written bare: the query is as it was meant, an &amp; in it is the URL's own.
      `${origin}/mixed.png?a=1&b=2&amp;c`,
    ].join('\n'),
  )
  await writeFile(
    join(dir, 'rows.csv'),
    `url,caption\n"${json('/cell.png')}",a\n${origin}/cell2.png?x=1&amp;y=2,b\n`,
  )
  const out = join(dir, 'out')
  const run = await runCli([join(dir, 'urls.txt'), json('/arg.png'), '-o', out, '--no-report'])
  assert.equal(run.code, 0, run.stderr)
  const table = await runCli([join(dir, 'rows.csv'), '-o', join(dir, 'out-table'), '--no-report'])
  assert.equal(table.code, 0, table.stderr)
  assert.deepEqual(seen.toSorted(), [
    '/arg.png',
    '/cell.png',
    '/cell2.png?x=1&y=2',
    '/html.png?w=400&h=300&fit=crop',
    '/json/a.png?w=1&h=2',
    '/json/quoted.png',
    '/mixed.png?a=1&b=2&amp;c',
  ])
  const byPath = new Map((await manifest(out)).map((line) => [line.path, line.url]))
  assert.equal(byPath.get('a.png'), `${origin}/json/a.png?w=1&h=2`)
  assert.equal(byPath.get('html.png'), `${origin}/html.png?w=400&h=300&fit=crop`)
})

test('an empty query is sent with its ?, as browsers and curl send it, not as the URL without one', async () => {
  seen.length = 0
  await writeFile(
    join(dir, 'empty.txt'),
    `${origin}/empty.png?\n${origin}/empty.png\n${origin}/frag.png?#top\n`,
  )
  const out = join(dir, 'out-empty')
  const run = await runCli([join(dir, 'empty.txt'), '-o', out, '--no-report'])
  assert.equal(run.code, 0, run.stderr)
  // Two jobs (their URLs differ), each asking for its own.
  assert.deepEqual(seen.toSorted(), ['/empty.png', '/empty.png?', '/frag.png?'])
})

test('names from percent-encoded paths are decoded where they are UTF-8, and show what they hold', async () => {
  seen.length = 0
  await writeFile(
    join(dir, 'names.txt'),
    [
      // A UTF-8 name with one Latin-1 byte: each UTF-8 escape is decoded, the other kept.
      `${origin}/caf%C3%A9-%E9.png`,
      // A soft hyphen, pasted from a page's &shy;, shows nothing: dropped from the name.
      `${origin}/soft%C2%ADhy.png`,
      `${origin}/softhy.png`,
      `${origin}/%C2%AD.png`,
    ].join('\n'),
  )
  const out = join(dir, 'out-names')
  const run = await runCli([join(dir, 'names.txt'), '-o', out, '--no-report'])
  assert.equal(run.code, 0, run.stderr)
  const files = await outputFiles(out)
  assert.equal(files.length, 4, files.join(' '))
  assert.ok(files.includes('café-%E9.png'), files.join(' '))
  assert.ok(files.includes('_.png'), files.join(' '))
  // Both spellings of softhy: one takes the name, the other its suffix; neither holds a mark.
  const soft = files.filter((f) => f.startsWith('softhy'))
  assert.equal(soft.length, 2, files.join(' '))
  assert.ok(
    files.every((f) => !f.includes('\u00ad')),
    files.join(' '),
  )
})

test("a table's URL cell that starts as a URL and does not parse fails naming its file and line", async () => {
  const csv = join(dir, 'bad.csv')
  const port = new URL(origin).port
  await writeFile(
    csv,
    `url,caption\n${origin}/fine.png,a\nhttp://[::1:${port}/v6.png,b\nhttp://127.0.0.1:99999/big.png,c\nhttp://ex ample.test/sp.png,d\n`,
  )
  const run = await runCli([csv, '-o', join(dir, 'out-bad'), '--no-report'])
  assert.equal(run.code, 1, run.stderr)
  for (const [line, why] of [
    [3, 'an IPv6 address without its closing ]'],
    [4, 'its port is out of range (at most 65535)'],
    [5, 'a space in its host name'],
  ] as const)
    assert.ok(
      run.stderr.includes(`${csv} line ${line}: invalid URL`) && run.stderr.includes(why),
      `${line}: ${run.stderr}`,
    )
})
