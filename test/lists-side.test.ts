import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { parseFetchUrl, pastedTail } from '../src/plan/url-problem.js'
import { cleanup, outputFiles, runCli, tempDir } from './support/cli.js'
import { type WireServer, wireServer } from './support/wire-server.js'

// URL lists as users paste them, side by side with curl, wget2 and aria2c (bench/misbehave-lists.ts):
// the server records each request-target as it came on the wire and answers every `.png` path
// with an image of its own.
let seen: string[]
let origin: string
let dir: string
let site: WireServer
before(async () => {
  site = await wireServer()
  ;({ origin, seen } = site)
  dir = await tempDir('imgpull-lists-side-')
})
after(async () => {
  await site.close()
  await cleanup(dir)
})

const why = (text: string) => {
  const parsed = parseFetchUrl(text)
  return 'why' in parsed ? parsed.why : undefined
}

const NOT_IDNA =
  'its host name is no valid international domain name (IDNA: an xn-- label that is no Punycode, or a character no domain name holds)'
/** ASCII `xn--` labels that are no Punycode, or Punycode of a character no domain name holds. */
const ACE_LABELS = [
  'http://xn--a.example/a.jpg',
  'http://XN--A-ECP.example/a.jpg',
  'http://xn--.example/a.jpg',
]
/** Whether this Node's URL parser takes an all-ASCII host as written (ada 4: Node 24.x, 26.7+; see below). */
const ASCII_ACE_TAKEN = Number(process.versions.ada?.split('.')[0]) >= 4

test('a host name the URL parser refuses says what is wrong with it, where it said only "not a URL"', () => {
  const cases: [string, string][] = [
    // A list saved as Latin-1 (`café` as the byte E9, kept as its escape) or escapes of no text.
    [
      'http://caf%E9.example/a.jpg',
      'its host name holds %-escapes that are no UTF-8 text (a list saved in another encoding?): a host name is text',
    ],
    [
      'http://a%zz.example/x.jpg',
      'its host name holds a % that begins no escape (%XX): no host name holds one',
    ],
    // Characters no host name holds (the WHATWG forbidden domain code points), written or escaped.
    ['http://a<b.example/a.jpg', 'its host name holds a "<", which no host name can'],
    ['http://a|b.example/a.jpg', 'its host name holds a "|", which no host name can'],
    ['http://a^b.example/a.jpg', 'its host name holds a "^", which no host name can'],
    ['http://a.b%2Fc.example/a.jpg', 'its host name holds a "/" (as an escape), which no host name can'],
    [
      'http://ex%00ample.com/a.jpg',
      'its host name holds a control character (U+0000) (as an escape), which no host name can',
    ],
    ['http://a%20b.example/a.jpg', 'a space in its host name (as an escape)'],
    // A name ending in a number is read as an IPv4 address (curl/curl#5140's kind: one digit too many).
    [
      'http://256.1.1.1/a.jpg',
      'its host name ends in a number, but it is no IPv4 address (four numbers of at most 255, with dots between)',
    ],
    [
      'http://10.0.0.1.5/a.jpg',
      'its host name ends in a number, but it is no IPv4 address (four numbers of at most 255, with dots between)',
    ],
    // IDNA refuses it: a character no domain name holds (U+2024, U+2488), written or as Punycode
    // in a label with a non-ASCII character beside it.
    ['http://\u2024.example/a.jpg', NOT_IDNA],
    ['http://a\u2488.example/a.jpg', NOT_IDNA],
    ['http://xn--a.\u03b2.example/a.jpg', NOT_IDNA],
    // An ASCII `xn--` label that is no Punycode (`xn--a`, `xn--a-ecp` = a⒈): refused by ada 2-3
    // (Node 20, 22), taken as written by ada 4 (Node 24.x, 26.7+), which follows the URL Standard
    // since whatwg/url a8d5ca3716 (an all-ASCII domain is kept as it is, as Chrome and Firefox
    // keep it; WPT toascii.json maps `xn--a` to itself): fetched there, as any host.
    ...(ASCII_ACE_TAKEN ? [] : ACE_LABELS.map((text): [string, string] => [text, NOT_IDNA])),
    // No host before the port; a space pasted after the port (it said "its port is not a number").
    ['http://:8080/a.jpg', 'no host name after http(s)://'],
    ['http://127.0.0.1:8080 /a.jpg', 'a space in its port'],
  ]
  for (const [text, reason] of cases) assert.equal(why(text), reason, text)
  // Hosts the parser takes stay fetched: IDN, Punycode, hex IPv4, a trailing dot, an IPv6 literal.
  for (const text of [
    'http://bücher.example/a.jpg',
    'http://xn--bcher-kva.example/a.jpg',
    'http://0x7f.1/a.jpg',
    'http://example.com./a.jpg',
    'http://[::1]:8080/a.jpg',
    'HTTP://EXAMPLE.com:80/a.jpg',
    ...(ASCII_ACE_TAKEN ? ACE_LABELS : []),
  ])
    assert.equal(why(text), undefined, text)
  if (ASCII_ACE_TAKEN)
    for (const text of ACE_LABELS) {
      const parsed = parseFetchUrl(text)
      assert.ok('url' in parsed, text)
      assert.equal(parsed.url.hostname, new URL(text).hostname, text)
    }
})

test('URLs joined on one line by a comma, a semicolon or a bar are several URLs, not one path', () => {
  const several = 'holds several URLs (one image a row: split the cell into rows)'
  for (const text of [
    'https://images.example/a.jpg,https://images.example/b.jpg',
    'https://images.example/a.jpg;https://images.example/b.jpg',
    'https://images.example/a.jpg|https://images.example/b.jpg',
    'https://images.example/a.jpg, https://images.example/b.jpg?w=2',
    'https://images.example/a.jpg,HTTP://other.example/b.jpg',
  ])
    assert.equal(why(text), several, text)
  // A URL in a query's value, and a path with commas (Cloudinary's `w_300,h_300/https://…`), are one URL.
  for (const text of [
    'https://proxy.example/?urls=https://a.example/1.jpg,https://a.example/2.jpg',
    'https://res.example/image/fetch/w_300,h_300/https://images.example/a.jpg',
    'https://images.example/a,b;c|d.jpg',
  ])
    assert.equal(why(text), undefined, text)
})

test('a list line of URLs joined by commas fails naming its file and line, and asks for no glued path', async () => {
  const list = join(dir, 'joined.txt')
  await writeFile(
    list,
    [
      `${origin}/j/fine.png`,
      `${origin}/j/a.png,${origin}/j/b.png`,
      `${origin}/j/c.png;${origin}/j/d.png`,
      `${origin}/j/q.png?also=${origin}/j/x.png,${origin}/j/y.png`,
      'http://256.1.1.1/j/ip.png',
    ].join('\n'),
  )
  seen.length = 0
  const out = join(dir, 'out-joined')
  const run = await runCli([list, '-o', out, '--no-report', '--retries', '0'])
  assert.equal(run.code, 1, run.stderr)
  for (const line of [2, 3])
    assert.ok(
      run.stderr.includes(`(${list} line ${line}): holds several URLs`) ||
        run.stderr.includes(`('${list}' line ${line}): holds several URLs`),
      `${line}: ${run.stderr}`,
    )
  // In a list's words: it said "(one image a row: split the cell into rows)", a table's, of a line.
  assert.match(
    run.stderr,
    /line 2\): holds several URLs \(one image a line: put each URL on a line of its own\)\n/,
  )
  assert.doesNotMatch(run.stderr, /a row|the cell/)
  // So for an argument, which is neither a line nor a cell.
  const joined = `${origin}/j/a.png,${origin}/j/b.png`
  const argument = await runCli([joined, '-o', join(dir, 'out-joined-arg'), '--no-report', '--retries', '0'])
  assert.equal(argument.code, 1, argument.stderr)
  assert.match(argument.stderr, /holds several URLs \(one image a URL: give each URL apart\)\n/)
  assert.match(run.stderr, /line 5\): its host name ends in a number, but it is no IPv4 address/)
  // Nothing asked for with a URL glued into its path; the query's URLs are the one URL's own.
  assert.deepEqual(
    seen.filter((target) => /[,;]http/.test(target.split('?')[0]!)),
    [],
  )
  assert.deepEqual((await outputFiles(out)).sort(), ['fine.png', 'q.png'])
})

test('a list whose end is NUL bytes (a file cut short by a crash) is read as the list it is, each URL fetched; a last line the zeros run into is not', async () => {
  // Short (its NULs a third of the first bytes: taken for UTF-16) and long (NULs past 512 bytes),
  // each ended by a newline before its zeros: whole lists, padded.
  const short = Buffer.concat([Buffer.from(`${origin}/nul/a.png\n${origin}/nul/b.png\n`), Buffer.alloc(300)])
  const urls = Array.from({ length: 20 }, (_, i) => `${origin}/nul/l${i}.png\n`).join('')
  const long = Buffer.concat([Buffer.from(`${urls}${origin}/nul/last.png\r\n`), Buffer.alloc(70_000)])
  for (const [name, bytes, files] of [
    ['short', short, ['a.png', 'b.png']],
    ['long', long, [...Array.from({ length: 20 }, (_, i) => `l${i}.png`), 'last.png']],
  ] as const) {
    const list = join(dir, `${name}-nul.txt`)
    await writeFile(list, bytes)
    seen.length = 0
    const out = join(dir, `out-nul-${name}`)
    const run = await runCli([list, '-o', out, '--no-report', '--retries', '0'])
    assert.equal(run.code, 0, run.stderr)
    assert.deepEqual(
      seen.filter((target) => target.includes('%00')),
      [],
      name,
    )
    assert.deepEqual((await outputFiles(out)).sort(), [...files].sort(), name)
  }
  // A last line the zeros run into, no newline between (a file zeroed from inside its last line, a
  // download whose space was allocated first: lingochamp/FileDownloader#543), is cut: `?w=10` of
  // `?w=1080`, fetched as a whole URL once its NULs were dropped. The lines before it are fetched,
  // the run stops naming it (exit 2); a file, gzip'd text and standard input alike.
  const cut = Buffer.concat([Buffer.from(`${urls}${origin}/nul/cut.png?w=10`), Buffer.alloc(70_000)])
  for (const [name, args, input] of [
    ['file', [join(dir, 'cut-nul.txt')], undefined],
    ['gzip', [join(dir, 'cut-nul.txt.gz')], undefined],
    ['stdin', ['-'], cut],
  ] as const) {
    await writeFile(join(dir, 'cut-nul.txt'), cut)
    await writeFile(join(dir, 'cut-nul.txt.gz'), gzipSync(cut))
    seen.length = 0
    const out = join(dir, `out-nul-cut-${name}`)
    const run = await runCli([...args, '-o', out, '--no-report', '--retries', '0'], input ? { input } : {})
    assert.equal(run.code, 2, run.stderr)
    assert.match(
      run.stderr,
      /^imgpull: cannot read .+ after its 20 URLs: line 21 \('http:\/\/127\.0\.0\.1:\d+\/nul\/cut\.png\?w=10'\) runs into zero bytes with no newline before them \(70,000 of them, to the list's end\): .*the line most likely cut, and it is not fetched; fetch or copy the list again/m,
      name,
    )
    assert.ok(!seen.some((target) => target.includes('/cut.png')), `${name}: the cut line was asked for`)
    assert.equal((await outputFiles(out)).length, 20, name)
  }
  // A hole of zeros inside the list past its first bytes (a download by pieces, one never
  // written), joining a URL to the next line's: that line fails naming the zeros, where it was
  // asked for as `a.png%00%00…ttp://…` (kilobytes), a 404; the others are fetched.
  const hole = join(dir, 'hole-nul.txt')
  await writeFile(
    hole,
    Buffer.concat([
      Buffer.from(`${urls}${origin}/nul/a.png`),
      Buffer.alloc(3000),
      Buffer.from(`ttp://127.0.0.1/nul/b.png\n${origin}/nul/c.png\n`),
    ]),
  )
  seen.length = 0
  const holed = await runCli([hole, '-o', join(dir, 'out-hole'), '--no-report', '--retries', '0'])
  assert.equal(holed.code, 1, holed.stderr)
  assert.match(
    holed.stderr,
    /hole-nul\.txt' line 21\): holds 3,000 zero bytes \(NUL\), which no URL does: a hole in the file/,
  )
  assert.deepEqual(
    seen.filter((target) => target.includes('%00')),
    [],
  )
  assert.equal((await outputFiles(join(dir, 'out-hole'))).length, 21)
  // Binary data, its NULs among other bytes, is still refused in one line naming it.
  const binary = join(dir, 'binary.txt')
  await writeFile(
    binary,
    Buffer.concat([Buffer.from(`${origin}/nul/x.png\n`), Buffer.from([0, 0, 7, 0, 1, 2, 0])]),
  )
  const refused = await runCli([binary, '-o', join(dir, 'out-binary'), '--no-report'])
  assert.equal(refused.code, 2, refused.stderr)
  assert.match(refused.stderr, /binary\.txt' is binary data, not a list of URLs/)
})

test('an image URL with words after a space (a caption, a note): its 404 names the URL meant', async () => {
  const cases: [string, string | undefined][] = [
    ['https://c.test/cat.jpg%20A%20nice%20cat', 'https://c.test/cat.jpg'],
    ['https://c.test/a.jpg?w=2%20cover', 'https://c.test/a.jpg?w=2'],
    // A no-break space, as a web page's text gives it.
    ['https://c.test/a.jpg%C2%A0caption', 'https://c.test/a.jpg'],
    // A name with a space in it is the URL's own.
    ['https://c.test/my%20photo.jpg', undefined],
    ['https://c.test/a.jpg%20copy.jpg', undefined],
    ['https://c.test/a.jpg%20x/y.jpg', undefined],
  ]
  for (const [href, meant] of cases) assert.equal(pastedTail(href)?.replace(/^.*: /, ''), meant, href)
  const list = join(dir, 'captions.txt')
  await writeFile(list, `${origin}/cap/cat.png A nice cat\n${origin}/cap/dog.png\n`)
  seen.length = 0
  const run = await runCli([list, '-o', join(dir, 'out-captions'), '--no-report', '--retries', '0'])
  assert.equal(run.code, 1, run.stderr)
  // Asked for as written (a name may hold a space), as wget2 and aria2c ask for it.
  assert.ok(seen.includes('/cap/cat.png%20A%20nice%20cat'), seen.join(' '))
  assert.ok(
    run.stderr.includes(
      `: the words after its space ("A nice cat") are likely a caption or a note pasted with it, not the URL's: ${origin}/cap/cat.png`,
    ),
    run.stderr,
  )
})

test('a URL argument with one slash or backslashes after its scheme is fetched, as the same list line is', async () => {
  const port = new URL(origin).port
  await fetchesArguments(
    [`http:/127.0.0.1:${port}/arg/one.png`, `http:\\\\127.0.0.1:${port}\\arg\\back.png`],
    ['back.png', 'one.png'],
  )
})

/** The CLI given `urls` as arguments fetches `/arg/NAME` for each of `names` (sorted), and saves them. */
async function fetchesArguments(urls: string[], names: string[]) {
  seen.length = 0
  const out = await tempDir('imgpull-lists-side-arg-')
  const run = await runCli([...urls, '-o', out, '--no-report'])
  assert.equal(run.code, 0, run.stderr)
  assert.deepEqual(
    seen.sort(),
    names.map((name) => `/arg/${name}`),
  )
  assert.deepEqual((await outputFiles(out)).sort(), names)
  await cleanup(out)
}

test('a URL in typographic quotes is fetched; a scheme written twice or a blob: URL is refused saying what to write', async () => {
  const list = join(dir, 'typed.txt')
  await writeFile(
    list,
    [
      // A word processor's or a phone's smart quotes around a URL (jekyll/jekyll-seo-tag#4): each
      // was refused, "'“' before its http://: the URL must stand alone".
      `“${origin}/t/en.png”`,
      `‘${origin}/t/single.png’,`,
      `„${origin}/t/de.png“`,
      `«${origin}/t/fr.png»`,
      // A scheme written twice (coupergateway/couper#249, webhintio/scan-issues#35368): asked of a
      // host named "http", it failed "dns: host not found for http://http//127.0.0.1:…".
      `http://${origin}/t/twice.png`,
      `https://${origin.replace('://', '//')}/t/slashes.png`,
      // A browser's blob: URL: it was said to hold several URLs.
      `blob:${origin}/6f1c2d9e-0b7a-4c1e-9d2f-1a2b3c4d5e6f`,
      // An <img> tag copied from a page's source (what wget reads with --force-html): it was said
      // as "'img src="' before its http://", shown without its < and > as if they were brackets.
      `<img src="${origin}/t/tag.png" srcset="${origin}/t/tag2.png 2x">`,
    ].join('\n'),
  )
  seen.length = 0
  const out = join(dir, 'out-typed')
  const run = await runCli([list, '-o', out, '--no-report', '--retries', '0'])
  assert.equal(run.code, 1, run.stderr)
  assert.deepEqual((await outputFiles(out)).sort(), ['de.png', 'en.png', 'fr.png', 'single.png'])
  const said = (line: number) => run.stderr.split('\n').find((text) => text.includes(` line ${line}):`))
  assert.match(
    said(5) ?? '',
    new RegExp(`: its scheme is written twice, and "http" taken for its host: write ${origin}/t/twice.png$`),
  )
  assert.match(said(6) ?? '', new RegExp(`taken for its host: write ${origin}/t/slashes.png$`))
  assert.match(
    said(7) ?? '',
    /: only http and https are fetched: a blob: URL names an image held in one browser tab/,
  )
  assert.ok(
    said(8)?.endsWith(
      `invalid URL "<img src="${origin}/t/tag.png" srcset="${origin}/t/tag2.png 2x">" ('${list}' line 8): an HTML <img> tag, not a URL: give the URL alone (${origin}/t/tag.png)`,
    ),
    said(8),
  )
  assert.doesNotMatch(run.stderr, /\bdns\b|several URLs|before its http/)
  assert.deepEqual(seen.sort(), ['/t/de.png', '/t/en.png', '/t/fr.png', '/t/single.png'])
})

test("a URL argument in a chat's smart quotes is fetched; a blob: or data: one says what it is", async () => {
  // The shell strips "…", not “…” (jekyll/jekyll-seo-tag#4): it was `cannot read input '“http://…”': no such file`.
  await fetchesArguments(
    [`“${origin}/arg/smart.png”`, `‘${origin}/arg/single.png’`],
    ['single.png', 'smart.png'],
  )
  // A browser's image copied as its address: each was `no such file` alone.
  for (const [arg, why] of [
    [`blob:${origin}/6f1c2d9e`, 'a blob: URL names an image held in one browser tab, on no server'],
    ['data:image/png;base64,iVBORw0KGgo=', 'a data: URL holds the image itself (image/png)'],
  ]) {
    const refused = await runCli([arg!, '-o', join(dir, 'out-blob-arg'), '--no-report'])
    assert.equal(refused.code, 2, refused.stderr)
    assert.ok(refused.stderr.includes(`: no such file, nor an http(s) URL: ${why}`), refused.stderr)
    assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr)
  }
})
