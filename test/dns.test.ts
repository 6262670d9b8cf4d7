import assert from 'node:assert/strict'
import dns, { type LookupAddress, type LookupOptions } from 'node:dns'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import {
  AGAIN_MS,
  answeringLocalhost,
  askingDnsToo,
  DNS_TOO_AFTER_MS,
  isLocalhostName,
  type Lookup,
  loopback,
  NOT_FOUND_MS,
  sharedLookup,
  UNANSWERED,
  unansweredLookup,
} from '../src/fetch/shared-lookup.js'
import { type Options, pull, type Result } from '../src/index.js'
import { cleanup, tempDir } from './support/cli.js'
import { startForwardProxy } from './support/forward-proxy.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { startSocks5Proxy } from './support/socks5-proxy.js'

// Names of this test's own: `gone.test` does not exist, `images.test` is the image server,
// `images.example` the README's placeholder, which no resolver knows. The
// resolver is a stand-in (dns.lookup, which net.connect calls), answering after a moment as a
// real one does, and counting the lookups of each name.
const lookups = new Map<string, number>()
const systemLookup = dns.lookup
let server: ImageServer
let dir: string
let n = 0

type Callback = (e: NodeJS.ErrnoException | null, a: string | LookupAddress[], f?: number) => void
function standIn(name: string, options: LookupOptions, callback: Callback): void {
  if (!name.endsWith('.test') && !name.endsWith('.example') && !isLocalhostName(name)) {
    ;(systemLookup as Lookup)(name, options, callback)
    return
  }
  lookups.set(name, (lookups.get(name) ?? 0) + 1)
  // A resolver that never answers (a DNS server down, packets to it dropped): no callback at all.
  // So for names under localhost: glibc knows `localhost` alone, from /etc/hosts, and sends the
  // others to a DNS server, which dropped a burst of them.
  if (name === 'silent.test' || (isLocalhostName(name) && name !== 'elsewhere.localhost')) return
  // /etc/hosts (or DNS) naming one of them otherwise: an address nothing answers at.
  if (name === 'elsewhere.localhost') {
    if (options.all) callback(null, [{ address: '10.255.255.1', family: 4 }])
    else callback(null, '10.255.255.1', 4)
    return
  }
  setTimeout(() => {
    if (name !== 'images.test') {
      const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), {
        code: 'ENOTFOUND',
        hostname: name,
      })
      callback(error, '')
      return
    }
    if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }])
    else callback(null, '127.0.0.1', 4)
  }, 30)
}

before(async () => {
  server = await startImageServer({ ttfb: 20 })
  dir = await tempDir()
  ;(dns as { lookup: unknown }).lookup = standIn
})
after(async () => {
  ;(dns as { lookup: unknown }).lookup = systemLookup
  await server.close()
  await cleanup(dir)
})

async function get(urls: string[], options: Partial<Options> = {}) {
  const results: Result[] = []
  for await (const r of pull(urls, { out: join(dir, `run-${++n}`), journal: false, retries: 1, ...options }))
    results.push(r)
  return results
}

test('the files of a domain that does not exist fail as dns after one lookup of its name, not one each', async () => {
  lookups.clear()
  const port = new URL(server.origin).port
  const results = await get(Array.from({ length: 40 }, (_, i) => `http://gone.test:${port}/g${i}.jpg`))
  assert.equal(results.length, 40)
  assert.deepEqual(new Set(results.map((r) => r.error)), new Set(['dns']))
  assert.match(results[0].message!, /^host not found for http:\/\/gone\.test:\d+\/g\d+\.jpg$/)
  // Without sharing: one lookup per file (40), 16 of them at once in the host's first round.
  assert.equal(lookups.get('gone.test'), 1)
})

// A mistyped --proxy (`prxy`): its files were each retried for ~12 s on a name that does not
// resolve, where a host's fail at once; curl says "Could not resolve proxy" at once too.
test('a proxy whose name does not resolve fails its files at once, named, not after their retries', async () => {
  const results: Result[] = []
  for await (const r of pull([server.url('/p1.jpg'), server.url('/p2.jpg')], {
    out: join(dir, `run-${++n}`),
    journal: false,
    retries: 3,
    proxy: 'http://gone.test:3128',
  }))
    results.push(r)
  for (const r of results) {
    assert.equal(r.error, 'proxy', r.message)
    assert.equal(r.attempts, 1, 'not retried')
    assert.match(r.message!, /^cannot reach proxy http:\/\/gone\.test:3128 \(ENOTFOUND\) for /)
  }
})

// RFC 6761 §6.3: names under localhost are the loopback, answered without asking DNS, as curl,
// Chrome and Firefox do. They were asked of getaddrinfo first, which sends all but `localhost`
// to the DNS server: where it dropped a burst of them, 105 of the first 300 files of 20,000 on
// `hN.localhost` failed at the 10 s connect timeout (here: every file, the stand-in answering none).
test('names under localhost are the loopback without a lookup, whatever the resolver says of them (RFC 6761 §6.3)', async () => {
  lookups.clear()
  const port = new URL(server.origin).port
  const urls = ['a.localhost', 'b.c.localhost', 'LOCALHOST.', 'localhost', 'elsewhere.localhost'].map(
    (host) => `http://${host}:${port}/dev.jpg`,
  )
  const results = await get(urls, { retries: 0, connectTimeout: 2000 })
  // In the order they finished.
  assert.deepEqual(
    results.map((r) => [r.job.url, r.message ?? r.status]).sort(),
    urls.map((url) => [url, 'ok']).sort(),
  )
  assert.deepEqual([...lookups.keys()], [], 'no name under localhost was looked up')
})

// A proxy's own name is looked up by imgpull, as an image host's is: a SOCKS5 proxy's connection
// and the probe that tells a SOCKS5 server given as http:// used getaddrinfo, and the first failed
// at the connect timeout where the resolver dropped its query. The image host's name is left to
// an HTTP proxy and to socks5h:// (socks5:// looks it up here: see the next test).
test('a proxy named under localhost is the loopback without a lookup too: socks5://, http://, and the probe for a SOCKS5 server given as http://', async () => {
  lookups.clear()
  const socks = await startSocks5Proxy()
  const forward = await startForwardProxy({})
  try {
    const through = async (proxy: string, urls: string[]) =>
      (await get(urls, { retries: 0, connectTimeout: 2000, proxy })).map((r) => r.message ?? r.status)
    const socksPort = new URL(socks.url).port
    assert.deepEqual(await through(`socks5://proxy.localhost:${socksPort}`, [server.url('/s.jpg')]), ['ok'])
    const forwardPort = new URL(forward.url).port
    assert.deepEqual(await through(`http://Proxy.LOCALHOST.:${forwardPort}`, [server.url('/f.jpg')]), ['ok'])
    const [word] = await through(`http://proxy.localhost:${socksPort}`, [server.url('/h.jpg')])
    assert.match(word!, /\(it answers as a SOCKS5 proxy: give it as socks5:\/\/proxy\.localhost:\d+\)/)
    assert.deepEqual([...lookups.keys()], [], 'no proxy name under localhost was looked up')
  } finally {
    await Promise.all([socks.close(), forward.close()])
  }
})

// socks5:// looks the image host up here, through the run's own lookup (shared, under the connect
// timeout), and socks5h:// leaves it to the proxy, as curl does: a lookup that gets no answer is
// the host's, told as its name lookup, not as the proxy's.
test("socks5:// looks the image host's name up here, under the connect timeout; socks5h:// does not", async () => {
  const socks = await startSocks5Proxy()
  try {
    const port = new URL(server.origin).port
    const proxy = socks.url
    lookups.clear()
    const [ok] = await get([`http://images.test:${port}/s.jpg`], { retries: 0, proxy })
    assert.equal(ok!.status, 'ok', ok!.message)
    assert.equal(lookups.get('images.test'), 1, 'looked up here')
    assert.deepEqual(
      socks.log.map((l) => [l.host, l.addressType]),
      [['127.0.0.1', 'ipv4']],
    )
    const [silent] = await get(['http://silent.test/a.jpg'], { retries: 0, connectTimeout: 300, proxy })
    assert.equal(
      silent!.message,
      `connect timeout after 300 ms on http://silent.test/a.jpg (through the proxy ${proxy}): the name lookup of silent.test got no answer (DNS)`,
    )
    lookups.clear()
    const [remote] = await get([`http://images.test:${port}/s.jpg`], {
      retries: 0,
      proxy: proxy.replace('socks5:', 'socks5h:'),
    })
    assert.equal(remote!.error, 'proxy', 'the proxy knows no images.test')
    assert.deepEqual([...lookups.keys()], [], 'not looked up here')
  } finally {
    await socks.close()
  }
})

// A proxy whose name the resolver never answers: told as a TCP handshake unanswered (socks5://,
// "a firewall that drops it") or a TLS handshake with the proxy (http://), not as the lookup.
test("a proxy's name lookup that gets no answer: the connect timeout says so, for socks5:// and http:// proxies", async () => {
  for (const proxy of ['socks5://silent.test:1080', 'http://silent.test:3128']) {
    const [r] = await get(['http://127.0.0.1:9/a.jpg'], { retries: 0, connectTimeout: 300, proxy })
    assert.equal(
      r!.message,
      `connect timeout after 300 ms on http://127.0.0.1:9/a.jpg (through the proxy ${proxy}): the name lookup of the proxy silent.test got no answer (DNS)`,
    )
  }
})

test('answeringLocalhost: names under localhost answered as the loopback (::1 then 127.0.0.1, as curl), the rest asked', async () => {
  assert.deepEqual(
    [
      'localhost',
      'a.localhost',
      'A.LOCALHOST.',
      'localhost.',
      'localhost.example',
      'notlocalhost',
      'localhost.a',
    ].map(isLocalhostName),
    [true, true, true, true, false, false, false],
  )
  assert.deepEqual(loopback({ all: true }), [
    [
      { address: '::1', family: 6 },
      { address: '127.0.0.1', family: 4 },
    ],
    undefined,
  ])
  assert.deepEqual(loopback({}), ['127.0.0.1', 4])
  assert.deepEqual(loopback({ family: 6 }), ['::1', 6])
  assert.deepEqual(loopback({ family: 4, all: true }), [[{ address: '127.0.0.1', family: 4 }], undefined])
  const asked: string[] = []
  const lookup = answeringLocalhost((name, _options, callback) => {
    asked.push(name)
    callback(null, '192.0.2.1', 4)
  })
  const answer = (name: string, options: LookupOptions) =>
    new Promise<unknown[]>((resolve) => lookup(name, options, (...got) => resolve(got)))
  assert.deepEqual(await answer('img.localhost', {}), [null, '127.0.0.1', 4])
  assert.deepEqual(await answer('img.localhost', { all: true }), [
    null,
    [
      { address: '::1', family: 6 },
      { address: '127.0.0.1', family: 4 },
    ],
    undefined,
  ])
  assert.deepEqual(await answer('images.test', {}), [null, '192.0.2.1', 4])
  assert.deepEqual(asked, ['images.test'])
})

// as `dns` (a passing cause), every plain rerun looked it up again and `imgpull status`
// told to run again "to retry the failures with a passing cause": the input's own, and a
// redirect's to one is the server's (`bad-redirect`), each left by a plain rerun.
test("a placeholder name (the README's images.example) fails as the input's own, saying no resolver knows it", async () => {
  const port = new URL(server.origin).port
  const to = `http://nohost.example:${port}/b.jpg`
  const short = server.url(`/short?to=${encodeURIComponent(to)}`)
  const results = await get([`http://images.example:${port}/a.jpg`, short])
  const placeholder = results.find((r) => r.job.url !== short)!
  assert.equal(placeholder.error, 'invalid-url')
  assert.match(
    placeholder.message!,
    /^host not found for http:\/\/images\.example:\d+\/a\.jpg: \.example names are reserved for examples \(RFC 2606\) and exist nowhere$/,
  )
  const redirected = results.find((r) => r.job.url === short)!
  assert.equal(redirected.error, 'bad-redirect', redirected.message)
  assert.match(
    redirected.message!,
    /^host not found for http:\/\/nohost\.example:\d+\/b\.jpg \(redirected from .*\): \.example names/,
  )
})

test('connections opened together to a live name share its lookup, and every file comes', async () => {
  lookups.clear()
  const port = new URL(server.origin).port
  const results = await get(Array.from({ length: 16 }, (_, i) => `http://images.test:${port}/l${i}.jpg`))
  assert.deepEqual(
    results.map((r) => r.status),
    Array(16).fill('ok'),
  )
  // The host's first round opens 16 connections at once: one lookup for all (16 without sharing).
  assert.equal(lookups.get('images.test'), 1)
})

// a lookup that never answered was told as a bare "connect timeout" (curl: "Resolving
// timed out"), as a dropped SYN is: the user looked for a firewall where the resolver was down.
test('a name lookup that gets no answer: the connect timeout says the lookup stalled, naming the name', async () => {
  const results: Result[] = []
  const url = 'http://silent.test:8080/a.jpg'
  for await (const r of pull([url], {
    out: join(dir, 'silent'),
    journal: false,
    retries: 0,
    connectTimeout: 300,
  }))
    results.push(r)
  assert.equal(results[0].error, 'timeout', results[0].message)
  assert.equal(
    results[0].message,
    `connect timeout after 300 ms on ${url}: the name lookup of silent.test got no answer (DNS)`,
  )
})

// getaddrinfo runs on libuv's pool, and libuv gives such slow work 2 of its 4 threads
// (libuv#1845): two names whose resolver never answers held every other lookup of the process.
// A live host behind them had its 40 files cut by the connect timeout ("the name lookup of
// images.test got no answer") and was given up for the run. Once a lookup has waited
// DNS_TOO_AFTER_MS, DNS is asked directly too (c-ares, on the event loop).
test('two names whose resolver never answers do not hold the lookups of a live host: after a moment DNS is asked directly', async () => {
  // The pool modelled: 2 lookups at once, the rest queued; the silent names' hold their thread
  // until the test ends (glibc waits 5 s × 2 attempts a server), the live name's a moment.
  let running = 0
  const queued: (() => void)[] = []
  const releases: (() => void)[] = []
  const onPool = (work: (done: () => void) => void) => {
    const run = () => {
      running++
      work(() => {
        running--
        queued.shift()?.()
      })
    }
    if (running < 2) run()
    else queued.push(run)
  }
  const pooled = (name: string, options: LookupOptions, callback: Callback) =>
    onPool((done) => {
      if (name.startsWith('jammed')) {
        releases.push(() => {
          done()
          callback(Object.assign(new Error(`getaddrinfo EAI_AGAIN ${name}`), { code: 'EAI_AGAIN' }), '')
        })
        return
      }
      setTimeout(() => {
        done()
        if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }])
        else callback(null, '127.0.0.1', 4)
      }, 10)
    })
  const asked: string[] = []
  // DNS asked directly (shared-lookup.ts `askDns`): a resolver of its own for each ask.
  const { Resolver } = dns.promises
  ;(dns as { lookup: unknown }).lookup = pooled
  class StandIn {
    setServers(): void {}
    cancel(): void {}
    async resolve4(name: string): Promise<string[]> {
      asked.push(name)
      if (name === 'images.test') return ['127.0.0.1']
      return new Promise(() => {}) // the jammed names' servers answer no one
    }
    async resolve6(name: string): Promise<string[]> {
      throw Object.assign(new Error(`queryAaaa ENODATA ${name}`), { code: 'ENODATA' })
    }
  }
  dns.promises.Resolver = StandIn as unknown as typeof Resolver
  try {
    const port = new URL(server.origin).port
    const urls = [
      `http://jammed1.test:${port}/j.jpg`,
      `http://jammed2.test:${port}/j.jpg`,
      ...Array.from({ length: 40 }, (_, i) => `http://images.test:${port}/live${i}.jpg`),
    ]
    const results: Result[] = []
    for await (const r of pull(urls, {
      out: join(dir, 'jammed'),
      journal: false,
      retries: 0,
      connectTimeout: 3000,
    }))
      results.push(r)
    const live = results.filter((r) => r.job.url.includes('images.test'))
    assert.deepEqual(
      live.map((r) => r.message ?? r.status),
      live.map(() => 'ok'),
    )
    for (const r of results.filter((r) => r.job.url.includes('jammed')))
      assert.match(
        r.message ?? '',
        /^connect timeout after 3 s on .*: the name lookup of jammed\d\.test got no answer \(DNS\)$/,
      )
    assert.ok(asked.includes('images.test'))
  } finally {
    ;(dns as { lookup: unknown }).lookup = standIn
    dns.promises.Resolver = Resolver
    for (const release of releases) release()
  }
})

test('sharedLookup: a name not found stays so for NOT_FOUND_MS, then is asked again; found addresses are not kept', () => {
  let clock = 0
  const calls: string[] = []
  const answers: Callback[] = []
  const fake: Lookup = (name, _o, cb) => {
    calls.push(name)
    answers.push(cb)
  }
  const lookup = sharedLookup(fake, () => clock)
  const got: string[] = []
  const record: Callback = (e, a) => got.push(e ? (e.code ?? '?') : JSON.stringify(a))
  lookup('Dead.example', {}, record)
  lookup('dead.example', {}, record)
  assert.deepEqual(calls, ['Dead.example'])
  answers[0](Object.assign(new Error('nf'), { code: 'ENOTFOUND' }), '')
  assert.deepEqual(got, ['ENOTFOUND', 'ENOTFOUND'])
  clock = NOT_FOUND_MS - 1
  lookup('dead.example', {}, record)
  assert.equal(calls.length, 1)
  clock = NOT_FOUND_MS + 1
  lookup('dead.example', {}, record)
  assert.equal(calls.length, 2)
  // A passing failure (EAI_AGAIN) is remembered for AGAIN_MS alone; addresses found are not remembered.
  answers[1](Object.assign(new Error('again'), { code: 'EAI_AGAIN' }), '')
  lookup('dead.example', {}, record)
  assert.equal(calls.length, 2)
  clock += AGAIN_MS + 1
  lookup('dead.example', {}, record)
  assert.equal(calls.length, 3)
  answers[2](null, '192.0.2.1', 4)
  lookup('dead.example', {}, record)
  assert.equal(calls.length, 4)
  // Other options (a family, all addresses) are another question.
  lookup('dead.example', { family: 6 }, record)
  assert.equal(calls.length, 5)
})

test('sharedLookup: an EAI_AGAIN that took DNS_TOO_AFTER_MS is the resolver silent, counted in a row until the name is answered', async () => {
  let clock = 0
  const answers: Callback[] = []
  const lookup = sharedLookup(
    (_name, _o, cb) => answers.push(cb),
    () => clock,
  )
  const errors: (NodeJS.ErrnoException | null)[] = []
  const ask = () =>
    new Promise<void>((resolve) =>
      lookup('quiet.example', {}, (e) => {
        errors.push(e)
        resolve()
      }),
    )
  const again = () => Object.assign(new Error('again'), { code: 'EAI_AGAIN' })
  const answer = async (i: number, at: number, ...args: Parameters<Callback>) => {
    const asked = ask()
    clock = at
    answers[i]!(...args)
    await asked
  }
  // A SERVFAIL, at once: not silence.
  await answer(0, 10, again(), '')
  assert.equal(unansweredLookup(errors[0]), undefined)
  clock += AGAIN_MS
  await answer(1, clock + DNS_TOO_AFTER_MS, again(), '')
  assert.deepEqual(unansweredLookup(errors[1]), { ms: DNS_TOO_AFTER_MS, inARow: 1 })
  // Remembered for AGAIN_MS: the same words, no lookup.
  await ask()
  assert.equal(answers.length, 2)
  assert.deepEqual(unansweredLookup(errors[2]), { ms: DNS_TOO_AFTER_MS, inARow: 1 })
  clock += AGAIN_MS
  await answer(2, clock + 10_000, again(), '')
  assert.deepEqual(unansweredLookup(errors[3]), { ms: 10_000, inARow: 2 })
  // Answered: the count starts again.
  clock += AGAIN_MS
  await answer(3, clock, null, '192.0.2.1', 4)
  clock += 1
  await answer(4, clock + 10_000, again(), '')
  assert.deepEqual(unansweredLookup(errors[5]), { ms: 10_000, inARow: 1 })
})

// an IPv6 literal (`http://[::1]:PORT/`), no name to look up, against a server on the
// IPv6 loopback: fetched as any host, its Host header bracketed (RFC 9110 §7.2). Skipped where the
// machine has no IPv6 loopback.
test('askingDnsToo: getaddrinfo answers unless it is silent past the wait; then the first address DNS has, its failures not taken', async () => {
  const ask = (answers: Record<string, string[]>) => async (name: string, family: 4 | 6) => {
    const found = answers[`${name}/${family}`]
    if (!found) throw Object.assign(new Error('ENODATA'), { code: 'ENODATA' })
    return found
  }
  const dnsHas = ask({ 'a.test/4': ['192.0.2.1'], 'a.test/6': ['2001:db8::1'] })
  const call = (lookup: Lookup, options: LookupOptions) =>
    new Promise<unknown[]>((resolve) => lookup('a.test', options, (...args) => resolve(args)))
  // getaddrinfo in time: its answer, whatever DNS has.
  const prompt: Lookup = (_n, _o, cb) => setImmediate(cb, null, '10.0.0.1', 4)
  assert.deepEqual(await call(askingDnsToo(prompt, dnsHas, 50), {}), [null, '10.0.0.1', 4])
  // Silent: DNS's, IPv4 first; all of them when asked for all, those of the family asked.
  let late: Callback | undefined
  const silent: Lookup = (_n, _o, cb) => {
    late = cb
  }
  assert.deepEqual(await call(askingDnsToo(silent, dnsHas, 1), {}), [null, '192.0.2.1', 4])
  late?.(null, '10.0.0.1', 4) // too late: ignored (the promise took the first answer)
  assert.deepEqual(await call(askingDnsToo(silent, dnsHas, 1), { all: true }), [
    null,
    [
      { address: '192.0.2.1', family: 4 },
      { address: '2001:db8::1', family: 6 },
    ],
    undefined,
  ])
  assert.deepEqual(await call(askingDnsToo(silent, dnsHas, 1), { family: 6 }), [null, '2001:db8::1', 6])
  // DNS has nothing (a name of /etc/hosts, or under a search domain): getaddrinfo's answer is waited for.
  const slow: Lookup = (_n, _o, cb) => setTimeout(cb, 30, null, '10.0.0.2', 4)
  assert.deepEqual(await call(askingDnsToo(slow, ask({}), 1), {}), [null, '10.0.0.2', 4])
})

test('an IPv6 literal URL is fetched from a server on ::1', async (t) => {
  const { createServer } = await import('node:http')
  const { makeImage } = await import('./support/images.js')
  const jpg = makeImage('ipv6', 12_000, 'jpg')
  const hosts: (string | undefined)[] = []
  const v6 = createServer((req, res) => {
    hosts.push(req.headers.host)
    res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': jpg.length }).end(jpg)
  })
  const listening = await new Promise<boolean>((resolve) => {
    v6.once('error', () => resolve(false))
    v6.listen(0, '::1', () => resolve(true))
  })
  if (!listening) {
    t.skip('no IPv6 loopback on this machine')
    return
  }
  try {
    const port = (v6.address() as { port: number }).port
    const results: Result[] = []
    for await (const r of pull([`http://[::1]:${port}/a.jpg`], { out: join(dir, 'ipv6'), journal: false }))
      results.push(r)
    assert.equal(results[0].status, 'ok', results[0].message ?? '')
    assert.equal(results[0].bytes, jpg.length)
    assert.deepEqual(hosts, [`[::1]:${port}`])
  } finally {
    v6.closeAllConnections()
    await new Promise<void>((resolve) => v6.close(() => resolve()))
  }
})

test('sharedLookup: the unspecified address beside others is dropped; asked for one, the first usable of all; alone, not found', async () => {
  const answers: Record<string, LookupAddress[]> = {
    'mixed.test': [
      { address: '0.0.0.0', family: 4 },
      { address: '::', family: 6 },
      { address: '192.0.2.7', family: 4 },
    ],
    'zero.test': [
      { address: '0.0.0.0', family: 4 },
      { address: '::', family: 6 },
    ],
  }
  const lookup = sharedLookup((name, o, cb) => {
    const all = answers[name]!
    setImmediate(() => (o.all ? cb(null, all) : cb(null, all[0]!.address, all[0]!.family)))
  })
  const call = (name: string, options: LookupOptions) =>
    new Promise<unknown[]>((resolve) => lookup(name, options, (...args) => resolve(args)))
  assert.deepEqual(await call('mixed.test', { all: true }), [
    null,
    [{ address: '192.0.2.7', family: 4 }],
    undefined,
  ])
  assert.deepEqual(await call('mixed.test', {}), [null, '192.0.2.7', 4])
  const [error] = await call('zero.test', {})
  assert.equal((error as NodeJS.ErrnoException).code, 'ENOTFOUND')
  const [errorAll] = await call('zero.test', { all: true })
  assert.equal((errorAll as NodeJS.ErrnoException).code, 'ENOTFOUND')
})

// A transfer thread's failure crosses to the main thread as plain data (structured clone keeps no
// symbol): the lookup's silence, which the retry policy reads to end a name's files after its
// second unanswered lookup (`UNANSWERED_LOOKUPS`), was lost on the way, and under `--threads N`
// each file waited the resolver's silence out at every retry.
test("a lookup's silence crosses from a transfer thread: the retry policy sees it as on the main thread", async () => {
  const { ImgpullError } = await import('../src/errors.js')
  const { serializeError, deserializeError } = await import('../src/fetch/transfer-messages.js')
  const cause = Object.assign(new Error('getaddrinfo EAI_AGAIN quiet.test'), {
    code: 'EAI_AGAIN',
    [UNANSWERED]: { ms: 10_000, inARow: 2 },
  })
  const error = new ImgpullError('network', 'network error on http://quiet.test/x.jpg: ...', {
    retryable: true,
    cause,
  })
  const crossed = deserializeError(structuredClone(serializeError(error)))
  assert.deepEqual(unansweredLookup(crossed), { ms: 10_000, inARow: 2 })
  assert.equal((crossed.cause as NodeJS.ErrnoException).code, 'EAI_AGAIN')
  // A SERVFAIL's (answered at once) crosses with none.
  const answered = new ImgpullError('network', 'x', {
    retryable: true,
    cause: Object.assign(new Error('getaddrinfo EAI_AGAIN x.test'), { code: 'EAI_AGAIN' }),
  })
  assert.equal(unansweredLookup(deserializeError(structuredClone(serializeError(answered)))), undefined)
})
