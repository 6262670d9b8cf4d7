import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { visibleShellWord } from '../src/utils/command-line.js'
import { printable, quoted } from '../src/utils/printable.js'
import { cleanup, listFiles, runCli, tempDir } from './support/cli.js'
import { makeImage } from './support/images.js'
import { image, type RouteServer, startRouteServer } from './support/route-server.js'

// Text from outside (list lines, servers' headers) on its way to what imgpull writes for people:
// the terminal, the manifest, `imgpull status`.

let dir: string
let web: RouteServer

/** What a terminal would act on or hide: C0 (but the line ends imgpull writes), DEL, C1, bidi marks. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const ACTS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/

before(async () => {
  dir = await tempDir()
  web = await startRouteServer({
    // C1 controls (CSI: clear the screen, colour; OSC 8: a link) in a header: bytes 0x80-0x9f
    // pass HTTP parsers as obs-text, and arrive as U+0080-U+009F (Latin-1).
    '/page.jpg': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html\x9b2J\x9b31m\x9d8;;http://evil.example/\x9cclick' })
      // Its title goes into the failure line too: an OSC title and a right-to-left override.
      res.end('<html><head><title>\x1b]0;owned\x07 \u202egnp.exe</title></head><body>a page</body></html>\n')
    },
    // Kilobytes of header (within the parser's limit) quoted by a message.
    '/long-type.jpg': (_req, res) => {
      res.writeHead(200, { 'content-type': `text/html; ${'x'.repeat(12_000)}` })
      res.end('<html><body>a page</body></html>\n')
    },
    '/long-location.jpg': (_req, res) => {
      res.writeHead(302, { location: `http://[${'y'.repeat(12_000)}`, 'content-length': 0 })
      res.end()
    },
    '/a.jpg': image(makeImage('hostile-a', 3_000)),
    '/b.jpg': image(makeImage('hostile-b', 3_000)),
  })
})

after(async () => {
  await web.close()
  await cleanup(dir)
})

test('printable writes control characters, invisible marks and lone surrogates as escapes', () => {
  assert.equal(printable('a\x1b]0;T\x07b'), 'a\\x1b]0;T\\x07b')
  assert.equal(printable('\r\b\n\t\x7f\x9b'), '\\x0d\\x08\\x0a\\x09\\x7f\\x9b')
  assert.equal(printable('\u202egnp.exe'), '\\u202egnp.exe')
  assert.equal(printable('x\ud800y\udc00'), 'x\\ud800y\\udc00')
  assert.equal(printable('café 日本 😀 \\x1b'), 'café 日本 😀 \\x1b', 'text, pairs and backslashes unchanged')
  assert.equal(quoted('abc', 3), 'abc')
  assert.equal(quoted('abcd', 3), 'ab…')
  assert.equal(quoted('a😀bc', 3), 'a…', 'never half an emoji')
  assert.equal(quoted('\x1bxyz', 3), '\\x1bx…')
})

test('a word shown in a command for people to copy: its hidden characters as escapes a shell reads back', () => {
  const table: [word: string, shown: string][] = [
    ['photos', 'photos'],
    ['my photos', "'my photos'"],
    ["it's", "'it'\\''s'"],
    ['שלום', "'שלום'"],
    ['photos\u202egpj.exe', "$'photos\\u202egpj.exe'"],
    ["a'b\\c\x1b[2J\u009b\u200b", "$'a\\'b\\\\c\\x1b[2J\\u009b\\u200b'"],
  ]
  for (const [word, shown] of table) {
    assert.equal(visibleShellWord(word), shown, JSON.stringify(word))
    assert.doesNotMatch(shown, ACTS, shown)
    // bash reads it back as the word itself (\xHH is a byte: a C1 control is written \u).
    const back = execFileSync('bash', ['-c', `printf %s ${shown}`], {
      env: { ...process.env, LC_ALL: 'C.UTF-8' },
    })
    assert.equal(back.toString('utf8'), word, shown)
  }
})

test('an output folder named with a right-to-left override: status and the report give commands that name it, seen as escapes', async () => {
  // Shown as it is, U+202E reversed the rest of the report's command after the folder's name
  // (`imgpull status 'rtl` then `txt.deliaf > deliaf-- 'gpj`); as printable's escape in plain
  // quotes, `imgpull status` named a folder that is not there.
  const out = join(dir, 'rtl\u202egpj')
  const r = await runCli([web.url('/page.jpg'), '-o', out, '--retries', '0'])
  assert.equal(r.code, 1, r.stderr)
  assert.doesNotMatch(r.stderr, ACTS, r.stderr)
  const status = await runCli(['status', out])
  assert.doesNotMatch(status.stdout, ACTS, status.stdout)
  const word = `$'${out}'`.replace('\u202e', '\\u202e')
  assert.ok(status.stdout.includes(`imgpull status ${word} --failed CODE`), `${word} in ${status.stdout}`)
  // The report's commands are run where the folder is: its name alone, quotes as HTML writes them.
  const page = await readFile(join(out, 'report.html'), 'utf8')
  assert.doesNotMatch(page, ACTS)
  const inPage = '$&#39;rtl\\u202egpj&#39;'
  assert.ok(
    page.includes(`imgpull status ${inPage} --failed &gt; failed.txt`),
    page.match(/imgpull status [^<]*/g)?.join(' | '),
  )
  assert.ok(page.includes(`imgpull status ${inPage} --failed not-an-image &gt; not-an-image.txt`))
})

test('control characters from a list line or a server header never reach the terminal as they are', async () => {
  const out = join(dir, 'out')
  const list = join(dir, 'urls.txt')
  await writeFile(
    list,
    `not a url \x1b]0;TITLE\x07\x1b[2J\x1b[31mred\n\u202egnp.exe\n${web.url('/page.jpg')}\n`,
  )
  const r = await runCli([list, '-o', out, '--retries', '0'])
  assert.equal(r.code, 1, r.stderr)
  assert.doesNotMatch(r.stderr, ACTS, JSON.stringify(r.stderr))
  assert.match(
    r.stderr,
    /invalid URL "not a url \\x1b\]0;TITLE\\x07\\x1b\[2J\\x1b\[31mred" \('.*urls\.txt' line 1\): not a URL/,
  )
  assert.match(r.stderr, /invalid URL "\\u202egnp\.exe"/)
  assert.match(
    r.stderr,
    /sent text\/html\\x9b2J\\x9b31m\\x9d8;;http:\/\/evil\.example\/\\x9cclick, \d+ bytes: an HTML page titled "\\x1b\]0;owned\\x07 \\u202egnp\.exe"/,
  )

  // The manifest keeps each line as it was given, and the same messages as the terminal.
  const lines = (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  assert.equal(lines.length, 3)
  assert.ok(lines.some((l) => l.url === '\u202egnp.exe'))
  for (const l of lines) assert.doesNotMatch(l.message, ACTS, l.message)

  const status = await runCli(['status', out])
  assert.doesNotMatch(status.stdout, ACTS, status.stdout)
  assert.match(status.stdout, /invalid-url ×2 {2}e\.g\. invalid URL "/)
})

test('a header of kilobytes quoted in a message is cut: one line stays one line', async () => {
  const out = join(dir, 'long')
  const r = await runCli([
    web.url('/long-type.jpg'),
    web.url('/long-location.jpg'),
    '-o',
    out,
    '--retries',
    '0',
  ])
  assert.equal(r.code, 1, r.stderr)
  const failed = r.stderr.split('\n').filter((l) => l.startsWith('failed'))
  assert.equal(failed.length, 2, r.stderr)
  for (const line of failed) assert.ok(line.length < 400, `${line.length} characters: ${line.slice(0, 300)}`)
  assert.match(r.stderr, /not-an-image: not an image: .* sent text\/html; x+…, \d+ bytes/)
  assert.match(r.stderr, /bad-redirect: redirect to no valid URL \("http:\/\/\[y+…\) for /)
  const lines = (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  for (const l of lines) assert.ok(l.message.length < 400, l.message.slice(0, 300))
})

test('a lone surrogate in a column (JSON lines\' "\\ud83d", an emoji cut in half) names a file the journal finds again', async () => {
  const out = join(dir, 'surrogates')
  const table = join(dir, 'captions.jsonl')
  // Escapes as JSON.stringify writes a string sliced through an emoji: no UTF-8 encodes them.
  await writeFile(
    table,
    `{"url": "${web.url('/a.jpg')}", "caption": "sunset \\ud83d"}\n{"url": "${web.url('/b.jpg')}", "caption": "\\ude00 dawn"}\n`,
  )
  const args = [table, '-o', out, '--name', '{caption}{ext}', '--json']
  const first = await runCli(args)
  assert.equal(first.code, 0, first.stderr)
  const files = (await listFiles(out)).filter((f) => f.endsWith('.jpg'))
  assert.deepEqual(files, ['_ dawn.jpg', 'sunset _.jpg'])
  const lines = (await readFile(join(out, 'manifest.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  assert.deepEqual(lines.map((l) => l.path).sort(), files, 'the manifest names the files on disk')

  // The journal's names are the files': a rerun has nothing left to do.
  const again = await runCli(args)
  assert.equal(again.code, 0, again.stderr)
  const summary = JSON.parse(again.stdout.trim().split('\n').at(-1)!).summary
  assert.equal(summary.skipped, 2, again.stdout)
  assert.equal(summary.ok, 0, 'nothing fetched again')
})

test('names a Windows disk or a memory card would not keep: device names take a _, folders no trailing dot', async () => {
  const out = join(dir, 'devices')
  const table = join(dir, 'labels.jsonl')
  const rows = [
    ['/a.jpg', 'con', 'nul'],
    ['/b.jpg', 'sunset...', 'Aux'],
    ['/a.jpg?2', 'sunset', 'com1.draft'],
  ]
  await writeFile(
    table,
    rows.map(([path, label, caption]) => JSON.stringify({ url: web.url(path), label, caption })).join('\n'),
  )
  const r = await runCli([table, '-o', out, '--name', '{label}/{caption}{ext}'])
  assert.equal(r.code, 0, r.stderr)
  const files = (await listFiles(out)).filter((f) => f.endsWith('.jpg'))
  // Copied onto Windows (or exFAT), `sunset.` and `sunset` would be one folder, and `nul.jpg` no file.
  assert.deepEqual(files, ['con_/nul_.jpg', 'sunset/com1_.draft.jpg', 'sunset_/Aux_.jpg'])
})

test('columns named __proto__ or constructor name files like any other, also on a row without them', async () => {
  for (const [format, content] of [
    ['csv', `url,__proto__,constructor\n${web.url('/a.jpg')},evil,ferrari\n${web.url('/b.jpg')},,\n`],
    [
      'jsonl',
      // Written out: in an object literal, `__proto__:` would set the prototype, not a key.
      `{"url": "${web.url('/a.jpg')}", "__proto__": "evil", "constructor": "ferrari"}\n{"url": "${web.url('/b.jpg')}"}\n`,
    ],
  ]) {
    const out = join(dir, `proto-${format}`)
    const table = join(dir, `proto.${format}`)
    await writeFile(table, content)
    // Was: "imgpull: value.replace is not a function", exit 2, nothing fetched.
    const r = await runCli([table, '-o', out, '--name', '{__proto__}-{constructor}{ext}'])
    assert.equal(r.code, 0, `${format}: ${r.stderr}`)
    assert.deepEqual(
      (await listFiles(out)).filter((f) => f.endsWith('.jpg')),
      ['_.jpg', 'evil-ferrari.jpg'],
      format,
    )
  }
})

test("JSON lines (the manifest, --json, status --json) show a caption's C1 controls and bidi marks as escapes, same values parsed", async () => {
  const out = join(dir, 'captions')
  const table = join(dir, 'web-captions.jsonl')
  // Scraped captions carry anything: CSI (U+009B), OSC, DEL, a right-to-left override, a line separator.
  const caption = 'a cat\u009b2J\u009d0;TITLE\u009c\u007f \u202egnp.exe\u2028end'
  await writeFile(
    table,
    `${JSON.stringify({ url: web.url('/a.jpg'), caption })}\n${JSON.stringify({ url: `x\u009b31m`, caption })}\n`,
  )
  const r = await runCli([table, '-o', out, '--caption-col', 'caption', '--json'])
  assert.equal(r.code, 1, r.stderr)
  const manifest = await readFile(join(out, 'manifest.jsonl'), 'utf8')
  const status = await runCli(['status', out, '--json'])
  for (const [what, text] of [
    ['manifest', manifest],
    ['--json', r.stdout],
    ['status --json', status.stdout],
  ]) {
    assert.doesNotMatch(text, /[\u007f-\u009f\u202a-\u202e\u2028]/, what)
  }
  assert.match(manifest, /a cat\\u009b2J\\u009d0;TITLE\\u009c\\u007f \\u202egnp\.exe\\u2028end/)
  const lines = manifest
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  assert.deepEqual(
    lines.map((l) => [l.url, l.meta.caption]),
    [
      [web.url('/a.jpg'), caption],
      ['x\u009b31m', caption],
    ],
    'the same values, parsed',
  )
  assert.deepEqual(JSON.parse(r.stdout.trim().split('\n')[0]).meta.caption, caption)
})
