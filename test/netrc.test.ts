import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { chmod, mkdtemp, writeFile } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { createServer } from 'node:https'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { type NetrcEntry, netrcCredentials, parseNetrc } from '../src/fetch/netrc.js'
import { listedCredentials } from '../src/fetch/url-credentials.js'
import { pull, type Result } from '../src/index.js'
import type { Options } from '../src/options.js'
import { makeCerts, tlsPair } from './support/certs.js'
import { cleanup, runCli, tempDir } from './support/cli.js'
import { makeImage } from './support/images.js'
import { startRedis } from './support/redis.js'
import { image, type Route, type RouteServer, startRouteServer } from './support/route-server.js'

const dir = await tempDir('netrc-')
after(() => cleanup(dir))
let n = 0

test('parseNetrc: the words curl 7.84+ reads, across lines, quoted, with comments and macros', () => {
  const table: [string, NetrcEntry[]][] = [
    ['machine a.example login u password p', [{ machine: 'a.example', login: 'u', password: 'p' }]],
    // Words across lines, in any order; the machine lower-cased, a final dot dropped.
    [
      'machine\n  Gallery.Example.\n\tpassword p\nlogin u account acc\n',
      [{ machine: 'gallery.example', login: 'u', password: 'p', account: 'acc' }],
    ],
    // Quoted words (curl/curl#8908, curl 7.84 test679): spaces, and \" \n \r \t escapes; CRLF lines.
    [
      'machine h login "user one" password "with spaces and \\"\\n\\r\\t\\a"\r\n',
      [{ machine: 'h', login: 'user one', password: 'with spaces and "\n\r\ta' }],
    ],
    // A password that only starts with a quote mark is quoted; one with a quote inside is a word.
    ['machine h login u password ab"c', [{ machine: 'h', login: 'u', password: 'ab"c' }]],
    // Comments: a line whose first word starts with #; a # inside a password is part of it.
    [
      '# my hosts\n  #machine off login x password y\nmachine h login u password p#q\n',
      [{ machine: 'h', login: 'u', password: 'p#q' }],
    ],
    // A word starting with # where a keyword is due: a comment to the line's end, as wget reads it
    // (curl, wget2 and aria2c read such a file too; it stopped the run, `"#" where machine... was due`).
    [
      'machine h # the gallery\nlogin u password p  # was: password old\nmachine i login v password #q # a comment',
      [
        { machine: 'h', login: 'u', password: 'p' },
        { machine: 'i', login: 'v', password: '#q' },
      ],
    ],
    // An ftp macro is skipped to its blank line: the keywords in it are not read.
    [
      'machine h login u password p\nmacdef init\ncd /pub\nlogin evil password leaked\n\nmachine i login v password q',
      [
        { machine: 'h', login: 'u', password: 'p' },
        { machine: 'i', login: 'v', password: 'q' },
      ],
    ],
    // wget's and curl's `default`, for any host; a machine with a login and no password (curl#9248).
    [
      'machine h login only\ndefault login anon password guest',
      [
        { machine: 'h', login: 'only' },
        { machine: undefined, login: 'anon', password: 'guest' },
      ],
    ],
    ['', []],
    ['\n\n# nothing\n', []],
  ]
  for (const [text, entries] of table) assert.deepEqual(parseNetrc(text, 'f'), entries, JSON.stringify(text))
})

test('parseNetrc: a malformed file is a TypeError naming the file and the line', () => {
  const table: [string, RegExp][] = [
    ['machine h logon u', /^\/x\/netrc, line 1: "logon" where machine, default, login/],
    [
      'machine h\nlogin u\npassword',
      /^\/x\/netrc, line 3: password without its value at the end of the file$/,
    ],
    ['\nlogin u password p', /^\/x\/netrc, line 2: login before any machine or default$/],
    ['machine h\n password "abc\n"', /^\/x\/netrc, line 2: a quoted word that does not end on its line/],
  ]
  for (const [text, message] of table)
    assert.throws(() => parseNetrc(text, '/x/netrc'), { name: 'TypeError', message }, text)
})

test('parseNetrc: long lines and long words (curl CVE-2022-35260) are read whole', () => {
  const long = 'x'.repeat(1 << 20)
  assert.deepEqual(parseNetrc(`machine h login u password ${long}\n${' '.repeat(100_000)}\n`, 'f'), [
    { machine: 'h', login: 'u', password: long },
  ])
})

test('netrcCredentials: the host (not the port) in any case, the user the URL names, default last', () => {
  const entries = parseNetrc(
    [
      'machine Gallery.Example login u password p',
      'machine gallery.example login other password o',
      // curl/curl#20950: a URL's user takes the entry without a login before another user's.
      'machine 127.0.0.1 password firstthis login unknown',
      'machine 127.0.0.1 password 5up3r53cr37',
      'machine 127.0.0.1 password d1ff3r3nt login anotherone',
      // curl/curl#9148: a password without a login is sent with an empty user.
      'machine nologin.example password foo',
      // curl#9248 / CVE-2024-11053: a login without a password gives an empty password, never another entry's.
      'machine loginonly.example login b',
      'machine [::1] login six password v6',
      // A host in Unicode, or as the URL sends it (its ASCII form, RFC 3492).
      'machine Bücher.Example login idn password umlaut',
      'machine xn--caf-dma.example login ace password puny',
      'default login anon password guest',
    ].join('\n'),
    'f',
  )
  const got = (url: string, user: string | undefined, useDefault = true) => {
    const c = netrcCredentials(entries, new URL(url), user, useDefault)
    return c && `${c.user}:${c.password}`
  }
  const table: [string, string | undefined, boolean, string | undefined][] = [
    ['http://gallery.example/a.jpg', undefined, true, 'u:p'],
    ['https://GALLERY.EXAMPLE.:8443/a.jpg', undefined, true, 'u:p'],
    ['http://gallery.example/a.jpg', 'other', true, 'other:o'],
    ['http://127.0.0.1/', 'user', true, 'user:5up3r53cr37'],
    ['http://127.0.0.1/', 'anotherone', true, 'anotherone:d1ff3r3nt'],
    ['http://nologin.example/', undefined, true, ':foo'],
    ['http://loginonly.example/', undefined, true, 'b:'],
    ['http://[::1]:8080/', undefined, true, 'six:v6'],
    // The URL's host is its ASCII form (xn--bcher-kva.example): the Unicode machine was passed
    // over, and the default entry's login went to a host the file names.
    ['http://bücher.example/a.jpg', undefined, true, 'idn:umlaut'],
    ['http://xn--bcher-kva.example/a.jpg', undefined, false, 'idn:umlaut'],
    ['http://café.example/a.jpg', undefined, true, 'ace:puny'],
    // An unnamed host: the default entry for a listed URL, nothing for a redirect's target.
    ['http://elsewhere.example/', undefined, true, 'anon:guest'],
    ['http://elsewhere.example/', undefined, false, undefined],
    ['http://gallery.example.evil/', undefined, false, undefined],
    // A host the file names, with no entry for the URL's user: not the default's password either.
    ['http://gallery.example/', 'stranger', true, undefined],
  ]
  for (const [url, user, useDefault, want] of table)
    assert.equal(got(url, user, useDefault), want, `${url} ${user}`)
  // A URL's own password wins over the file; its user alone takes the password from it.
  const listed = (url: string) => {
    const c = listedCredentials(new URL(url), entries)
    return c && `${c.user}:${c.password}`
  }
  assert.equal(listed('http://u:own@gallery.example/'), 'u:own')
  assert.equal(listed('http://other@gallery.example/'), 'other:o')
  assert.equal(listed('http://gallery.example/'), 'u:p')
})

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
const body = makeImage('netrc', 32)
/** An image behind Basic `user:password`; a 401 to anything else. */
const locked =
  (user: string, password: string): Route =>
  (req, res, url) => {
    if (req.headers.authorization === basic(user, password)) image(body)(req, res, url)
    else res.writeHead(401, { 'www-authenticate': 'Basic realm="x"', 'content-length': '0' }).end()
  }

async function netrcFile(text: string, mode = 0o600): Promise<string> {
  const file = join(dir, `netrc-${++n}`)
  await writeFile(file, text)
  await chmod(file, mode)
  return file
}

async function get(url: string, options: Options = {}): Promise<Result> {
  const results: Result[] = []
  for await (const r of pull([url], { out: join(dir, `run-${++n}`), journal: false, retries: 0, ...options }))
    results.push(r)
  return results[0]!
}

test('a private gallery behind Basic: a 401 without --netrc, got with it; a URL of its own wins', async () => {
  const server = await startRouteServer({ '/a.jpg': locked('user', 'pass word') })
  try {
    const file = await netrcFile(`machine 127.0.0.1 login user password "pass word"\n`)
    const without = await get(server.url('/a.jpg'))
    assert.equal(without.error, 'http-401', without.message)
    const withIt = await get(server.url('/a.jpg'), { netrc: file })
    assert.equal(withIt.status, 'ok', withIt.message)
    assert.equal(server.log.at(-1)!.headers.authorization, basic('user', 'pass word'))
    // A URL's own password wins: the server refuses it, as it would without the file.
    const own = await get(server.url('/a.jpg').replace('//', '//user:wrong@'), { netrc: file })
    assert.equal(own.error, 'http-401', own.message)
    assert.equal(server.log.at(-1)!.headers.authorization, basic('user', 'wrong'))
    // A wrong password in the file: the 401 says where it came from (not "of the URL").
    const wrong = await netrcFile('machine 127.0.0.1 login user password nope\n')
    const refused = await get(server.url('/a.jpg'), { netrc: wrong })
    assert.equal(refused.error, 'http-401', refused.message)
    assert.ok(
      refused.message!.endsWith(
        `the server refused the user and password that ${wrong} gave (sent by Basic)`,
      ),
      refused.message,
    )
    // `netrc: true` reads $NETRC.
    const before = process.env.NETRC
    process.env.NETRC = file
    try {
      const fromEnv = await get(server.url('/a.jpg'), { netrc: true })
      assert.equal(fromEnv.status, 'ok', fromEnv.message)
    } finally {
      if (before === undefined) delete process.env.NETRC
      else process.env.NETRC = before
    }
  } finally {
    await server.close()
  }
})

test('a Digest-only camera is answered with the .netrc credentials, as with a URL’s', async () => {
  const md5 = (s: string) => createHash('md5').update(s).digest('hex')
  const valid = (req: IncomingMessage) => {
    const auth = req.headers.authorization ?? ''
    const p = Object.fromEntries(
      [...auth.matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)].map((m) => [m[1], m[2] ?? m[3]]),
    )
    if (!auth.startsWith('Digest ') || p.username !== 'admin' || p.uri !== req.url) return false
    const ha1 = md5('admin:cam:12 34')
    return p.response === md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:auth:${md5(`GET:${p.uri}`)}`)
  }
  const server = await startRouteServer({
    '/snap.jpg': (req, res, url) => {
      if (valid(req)) return image(body)(req, res, url)
      res
        .writeHead(401, {
          'www-authenticate': 'Digest realm="cam", qop="auth", nonce="n1"',
          'content-length': '0',
        })
        .end()
    },
  })
  try {
    const file = await netrcFile('machine 127.0.0.1 login admin password "12 34"')
    const result = await get(server.url('/snap.jpg'), { netrc: file })
    assert.equal(result.status, 'ok', result.message)
    assert.match(server.log.at(-1)!.headers.authorization ?? '', /^Digest username="admin"/)
  } finally {
    await server.close()
  }
})

test('a redirect to another host never carries the first host’s .netrc password (curl CVE-2024-11053)', async () => {
  // Two host names for one machine: 127.0.0.1 and localhost.
  const other = await startRouteServer(
    { '/free.jpg': image(body), '/theirs.jpg': locked('them', 'theirs') },
    { host: 'localhost' },
  )
  const first: RouteServer = await startRouteServer({
    '/away.jpg': (req, res) => {
      if (req.headers.authorization !== basic('user', 'secret'))
        return void res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end()
      res.writeHead(302, { location: other.url('/free.jpg'), 'content-length': '0' }).end()
    },
    '/theirs.jpg': (_req, res) => {
      res.writeHead(302, { location: other.url('/theirs.jpg'), 'content-length': '0' }).end()
    },
  })
  try {
    const lastAuth = () => other.log.at(-1)!.headers.authorization
    // The file names only the first host, and a default: the second gets nothing.
    const only = await netrcFile(
      'machine 127.0.0.1 login user password secret\ndefault login anon password guest\n',
    )
    const one = await get(first.url('/away.jpg'), { netrc: only })
    assert.equal(one.status, 'ok', one.message)
    assert.equal(first.log.at(-1)!.headers.authorization, basic('user', 'secret'))
    assert.equal(lastAuth(), undefined)
    // The CVE's case: the second host named with a login and no password gets that login, never
    // the first host's password.
    const loginOnly = await netrcFile(
      'machine 127.0.0.1 login user password secret\nmachine localhost login user\n',
    )
    const two = await get(first.url('/away.jpg'), { netrc: loginOnly })
    assert.equal(two.status, 'ok', two.message)
    assert.equal(lastAuth(), basic('user', ''))
    // Named with credentials of its own: those, and its file is got.
    const both = await netrcFile(
      'machine 127.0.0.1 login user password secret\nmachine LOCALHOST login them password theirs\n',
    )
    const three = await get(first.url('/theirs.jpg'), { netrc: both })
    assert.equal(three.status, 'ok', three.message)
    assert.equal(lastAuth(), basic('them', 'theirs'))
    // A URL's own credentials stay with its origin, whatever the file says of the next host.
    const four = await get(first.url('/away.jpg').replace('//', '//user:secret@'), { netrc: only })
    assert.equal(four.status, 'ok', four.message)
    assert.equal(lastAuth(), undefined)
    for (const l of other.log)
      assert.ok(!String(l.headers.authorization).includes(basic('user', 'secret').slice(6)))
  } finally {
    await Promise.all([first.close(), other.close()])
  }
})

test('imgpull --netrc-file: a missing file or a malformed line is a usage error before any request; a readable one warns', async () => {
  const server = await startRouteServer({ '/a.jpg': locked('user', 'pw') })
  try {
    const missing = join(dir, 'no-such-netrc')
    const a = await runCli([server.url('/a.jpg'), '-o', join(dir, 'cli-1'), '--netrc-file', missing, '-q'])
    assert.equal(a.code, 2, a.stderr)
    assert.equal(a.stderr.trim().split('\n').length, 1, a.stderr)
    assert.match(
      a.stderr,
      new RegExp(`^imgpull: Expected --netrc-file to be a readable \\.netrc file: ${missing}: no such file`),
    )
    const bad = await netrcFile('machine 127.0.0.1\nlogin user pasword pw\n')
    const b = await runCli([server.url('/a.jpg'), '-o', join(dir, 'cli-2'), '--netrc-file', bad, '-q'])
    assert.equal(b.code, 2, b.stderr)
    assert.match(b.stderr, new RegExp(`^imgpull: ${bad}, line 2: "pasword" where machine`))
    assert.equal(server.log.length, 0, 'no request before the usage error')
    // Readable by others: used, with one warning line (curl says nothing; ftp refuses it).
    const open = await netrcFile('machine 127.0.0.1 login user password pw\n', 0o644)
    const c = await runCli([server.url('/a.jpg'), '-o', join(dir, 'cli-3'), '--netrc-file', open, '-q'])
    assert.equal(c.code, 0, c.stderr)
    assert.equal(c.stderr.match(/may be read by other users/g)?.length, 1, c.stderr)
    // --netrc reads $NETRC; without the flag the file is not read.
    const d = await runCli([server.url('/a.jpg'), '-o', join(dir, 'cli-4'), '--netrc', '-q'], {
      env: { NETRC: open },
    })
    assert.equal(d.code, 0, d.stderr)
    const missingNetrc = await runCli([server.url('/a.jpg'), '-o', join(dir, 'cli-6'), '--netrc', '-q'], {
      env: { NETRC: missing },
    })
    assert.equal(missingNetrc.code, 2, missingNetrc.stderr)
    assert.match(missingNetrc.stderr, /^imgpull: Expected --netrc to be a readable \.netrc file: /)
    const e = await runCli([server.url('/a.jpg'), '-o', join(dir, 'cli-5'), '-q'], { env: { NETRC: open } })
    assert.equal(e.code, 1, e.stderr)
    assert.match(e.stderr, /401/)
  } finally {
    await server.close()
  }
})

test('a queue: enqueue --netrc-file checks the file, and the worker sends its credentials', async () => {
  const redis = await startRedis()
  const server = await startRouteServer({ '/q.jpg': locked('user', 'pw') })
  try {
    const q = ['--redis', redis.url, '--queue', 'netrc']
    const list = join(dir, 'queue-list.txt')
    await writeFile(list, `${server.url('/q.jpg')}\n`)
    const missing = await runCli(['enqueue', list, ...q, '--netrc-file', join(dir, 'none')])
    assert.equal(missing.code, 2, missing.stderr)
    assert.match(missing.stderr, /readable \.netrc file/)
    const file = await netrcFile('machine 127.0.0.1 login user password pw\n')
    const enqueued = await runCli(['enqueue', list, ...q, '--netrc-file', file])
    assert.equal(enqueued.code, 0, enqueued.stderr)
    const out = join(dir, 'queue-out')
    const worker = await runCli(['worker', ...q, '-o', out, '--exit-when-done'])
    assert.equal(worker.code, 0, worker.stderr)
    assert.equal(server.log.at(-1)!.headers.authorization, basic('user', 'pw'))
  } finally {
    await Promise.all([server.close(), redis.stop()])
  }
})

test('a redirect from https:// to http:// on the same host drops the .netrc password; to another port it is sent', async () => {
  const certs = makeCerts(await mkdtemp(join(dir, 'certs-')))
  const plain = await startRouteServer({ '/a.jpg': image(body), '/locked.jpg': locked('user', 'pw') })
  const tls = await startRouteServer(
    {
      '/down.jpg': (_req, res) => {
        res.writeHead(302, { location: plain.url('/a.jpg'), 'content-length': '0' }).end()
      },
      '/down-locked.jpg': (_req, res) => {
        res.writeHead(302, { location: plain.url('/locked.jpg'), 'content-length': '0' }).end()
      },
    },
    { server: createServer(tlsPair(certs.good)), https: true },
  )
  const port = await startRouteServer({
    '/port.jpg': (_req, res) => {
      res.writeHead(302, { location: plain.url('/locked.jpg'), 'content-length': '0' }).end()
    },
  })
  try {
    const file = await netrcFile('machine 127.0.0.1 login user password pw\n')
    const down = await get(tls.url('/down.jpg'), { netrc: file, caCert: certs.ca })
    assert.equal(down.status, 'ok', down.message)
    assert.equal(tls.log.at(-1)!.headers.authorization, basic('user', 'pw'))
    assert.equal(plain.log.at(-1)!.headers.authorization, undefined, 'no password in the clear')
    // Where the plain server asks for it, its 401 says why it was not sent.
    const locked = await get(tls.url('/down-locked.jpg'), { netrc: file, caCert: certs.ca })
    assert.ok(
      locked.message!.endsWith(
        `the server asks for a user and password (Basic realm "x"); those ${file} gave go not in the clear after https://, to ${plain.origin}, where a redirect led`,
      ),
      locked.message,
    )
    // http:// to another port of the host the file names: the file names the host, not the port.
    const other = await get(port.url('/port.jpg'), { netrc: file })
    assert.equal(other.status, 'ok', other.message)
    assert.equal(plain.log.at(-1)!.headers.authorization, basic('user', 'pw'))
  } finally {
    await Promise.all([plain.close(), tls.close(), port.close()])
  }
})

// The worker's side of CVE-2024-11053 (see the redirect test above): a queue's shard runs with the
// enqueued options in the worker's process, and on its transfer threads (`--threads 1`), where the
// file is read again. The first host's password goes to it alone; the host a redirect leads to gets
// nothing (the file names it not), or the login the file gives it with no password.
test('a queue worker sends the .netrc credentials to their host and never to another host after a redirect, on the main thread and on a transfer thread', async () => {
  const redis = await startRedis()
  const other = await startRouteServer({ '/free.jpg': image(body) }, { host: 'localhost' })
  const first = await startRouteServer({
    '/away.jpg': (req, res) => {
      if (req.headers.authorization !== basic('user', 'secret'))
        return void res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end()
      res.writeHead(302, { location: other.url('/free.jpg'), 'content-length': '0' }).end()
    },
  })
  try {
    const list = join(dir, 'queue-redirect.txt')
    await writeFile(list, `${first.url('/away.jpg')}\n`)
    const files: [string, string | undefined][] = [
      ['machine 127.0.0.1 login user password secret\ndefault login anon password guest\n', undefined],
      ['machine 127.0.0.1 login user password secret\nmachine localhost login user\n', basic('user', '')],
    ]
    for (const threads of ['0', '1'])
      for (const [i, [text, want]] of files.entries()) {
        const label = `--threads ${threads}, file ${i + 1}`
        const file = await netrcFile(text)
        const q = ['--redis', redis.url, '--queue', `netrc-redirect-${threads}-${i}`]
        // --netrc, not --netrc-file: the worker reads its own $NETRC (a secret is not carried in Redis).
        const enqueued = await runCli(['enqueue', list, ...q, '--netrc'], { env: { NETRC: file } })
        assert.equal(enqueued.code, 0, `${label}: ${enqueued.stderr}`)
        const firstSeen = first.log.length
        const otherSeen = other.log.length
        const worker = await runCli(
          [
            'worker',
            ...q,
            '-o',
            join(dir, `queue-redirect-${threads}-${i}`),
            '--exit-when-done',
            '--threads',
            threads,
          ],
          { env: { NETRC: file } },
        )
        assert.equal(worker.code, 0, `${label}: ${worker.stderr}`)
        assert.equal(first.log.at(-1)!.headers.authorization, basic('user', 'secret'), label)
        assert.ok(first.log.length > firstSeen, label)
        const theirs = other.log.slice(otherSeen)
        assert.equal(theirs.length, 1, label)
        assert.equal(theirs[0]!.headers.authorization, want, label)
      }
  } finally {
    await Promise.all([first.close(), other.close(), redis.stop()])
  }
})

// A 401 said `HTTP 401 from URL` and nothing else where no user and password went (none in the URL,
// or a .netrc with no entry for the host), and `refused the user and password` to a server that
// asks for a token (Bearer) and never read them: the user was sent to check a password that was
// right (RFC 6750 §3: a Bearer realm asks for a token).
test('a 401 says what the server asks for: a user and password none was sent for, the .netrc with no entry, a token', async () => {
  const server = await startRouteServer({
    '/a.jpg': locked('user', 'pw'),
    '/api.jpg': (_req, res) =>
      void res
        .writeHead(401, {
          'www-authenticate': 'Bearer realm="api", error="invalid_token"',
          'content-length': '0',
        })
        .end(),
    '/bare.jpg': (_req, res) => void res.writeHead(401, { 'content-length': '0' }).end(),
  })
  try {
    const none = await get(server.url('/a.jpg'))
    assert.equal(none.error, 'http-401', none.message)
    assert.match(
      none.message!,
      /a\.jpg: the server asks for a user and password \(Basic realm "x"\): give them in the URL \(http:\/\/user:password@host\/\.\.\.\) or by --netrc$/,
    )
    const other = await netrcFile('machine elsewhere.example login user password pw\n')
    const noEntry = await get(server.url('/a.jpg'), { netrc: other })
    assert.ok(
      noEntry.message!.endsWith(
        `a.jpg: the server asks for a user and password (Basic realm "x"), and ${other} gives none for 127.0.0.1`,
      ),
      noEntry.message,
    )
    const token = await get(server.url('/api.jpg').replace('//', '//user:pw@'))
    assert.match(
      token.message!,
      /api\.jpg: the server asks for Bearer realm "api", not a user and password \(sent by Basic\): a token goes in -H 'Authorization: Bearer \.\.\.'$/,
    )
    const anonToken = await get(server.url('/api.jpg'))
    assert.match(
      anonToken.message!,
      /api\.jpg: the server asks for Bearer realm "api": a token goes in -H 'Authorization: Bearer \.\.\.'$/,
    )
    // No challenge at all: where a login goes (see cookies.test.ts), not a user and password.
    const bare = await get(server.url('/bare.jpg'))
    assert.match(bare.message!, /^HTTP 401 from \S+bare\.jpg: the server wants a login it does not name /)
  } finally {
    await server.close()
  }
})

// A site that sends every request on to another origin (http:// to https://, another port or
// host): the URL's user and password stay with their own origin, as curl, wget2 and aria2c keep
// them, and the 401 there said to give them in the URL, where they were.
test('a 401 where a redirect led says the URL’s user and password stay with their own origin, or that https’s go not in the clear', async () => {
  const target = await startRouteServer({ '/a.jpg': locked('user', 'pw') })
  const start = await startRouteServer({
    '/moved.jpg': (_req, res) =>
      void res.writeHead(302, { location: target.url('/a.jpg'), 'content-length': '0' }).end(),
  })
  try {
    const moved = await get(start.url('/moved.jpg').replace('//', '//user:pw@'))
    assert.equal(moved.error, 'http-401', moved.message)
    assert.ok(
      moved.message!.endsWith(
        `the server asks for a user and password (Basic realm "x"); those of the URL go to its own origin only, not to ${target.origin}, where a redirect led: list that URL with them`,
      ),
      moved.message,
    )
    assert.equal(target.log.at(-1)!.headers.authorization, undefined)
  } finally {
    await Promise.all([start.close(), target.close()])
  }
})

// Servers that answer a wrong password with 403, no challenge (Django's PermissionDenied, nginx
// `auth_request` setups): `HTTP 403 from URL` said nothing of the login sent.
test('a 403 to a request that carried a user and password says they went with it', async () => {
  const server = await startRouteServer({
    '/a.jpg': (req, res, url) =>
      req.headers.authorization === basic('user', 'pw')
        ? image(body)(req, res, url)
        : void res.writeHead(403, { 'content-length': '0' }).end(),
  })
  try {
    const wrong = await get(server.url('/a.jpg').replace('//', '//user:nope@'))
    assert.equal(wrong.error, 'http-403', wrong.message)
    assert.ok(
      wrong.message!.endsWith(
        'a.jpg: the user and password of the URL went with it (by Basic): a server may refuse a wrong one so',
      ),
      wrong.message,
    )
    // A user with a colon, which Basic cannot carry (RFC 7617 §2): not sent, and said so. It went
    // as `us:er:pw`, which the server read as user `us`, password `er:pw`.
    const colon = await get(server.url('/a.jpg').replace('//', '//us%3Aer:pw@'))
    assert.equal(colon.error, 'http-403', colon.message)
    assert.ok(
      colon.message!.endsWith(
        "a.jpg: the URL's user holds a colon, which Basic cannot carry (RFC 7617 §2: the server would read the user up to it), so the user and password were not sent",
      ),
      colon.message,
    )
    assert.equal(server.log.at(-1)!.headers.authorization, undefined)
    // Without any: nothing to say.
    const none = await get(server.url('/a.jpg'))
    assert.match(none.message!, /^HTTP 403 from \S+a\.jpg$/)
  } finally {
    await server.close()
  }
})

// A .netrc login with a colon (RFC 7617 §2 forbids one in Basic's user-id): sent as `a:b:pw`, the
// server read user `a`, password `b:pw`. Not sent by Basic; the 401 names the file's line, not the
// password; a Digest server is answered with it.
test('a .netrc login with a colon is never sent by Basic: the 401 names its line; Digest carries it', async () => {
  const server = await startRouteServer({ '/a.jpg': locked('ad:min', 'secret-pw') })
  try {
    const file = await netrcFile('# mine\nmachine 127.0.0.1\n  login ad:min\n  password secret-pw\n')
    const r = await get(server.url('/a.jpg'), { netrc: file })
    assert.equal(r.error, 'http-401', r.message)
    assert.match(
      r.message!,
      new RegExp(
        `^HTTP 401 from \\S+a\\.jpg: the login on line 3 of ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} holds a colon, which Basic cannot carry \\(RFC 7617 §2: the server would read the user up to it\\), so the user and password were not sent$`,
      ),
    )
    assert.ok(!r.message!.includes('secret-pw'))
    assert.equal(server.log.at(-1)!.headers.authorization, undefined)
  } finally {
    await server.close()
  }
})
