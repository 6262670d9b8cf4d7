import assert from 'node:assert/strict'
import dns, { type LookupAddress, type LookupOptions } from 'node:dns'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { Lookup } from '../src/fetch/shared-lookup.js'
import { type Options, pull, type Result } from '../src/index.js'
import { cleanup, tempDir } from './support/cli.js'
import { type DnsQuery, type DnsReply, type DnsServer, startDnsServer } from './support/dns-server.js'
import { type ImageServer, startImageServer } from './support/image-server.js'
import { closedPort } from './support/raw-server.js'

// Names answered by a real DNS server (test/support/dns-server.ts) as misbehaving ones answer
// (bench/misbehave-dns.ts runs the same against curl, wget2 and aria2c). getaddrinfo, which
// dns.lookup calls, asks the server /etc/resolv.conf names, on port 53: a test run unprivileged can
// neither bind that port nor point the machine's resolver elsewhere (other sessions share it). So
// dns.lookup, the seam imgpull's lookups go through (shared-lookup.ts reads it at each call), is
// a stand-in that asks the test's server over c-ares on a port of its own, and fails as
// getaddrinfo does: SERVFAIL, REFUSED or no answer as EAI_AGAIN, NXDOMAIN or no address as
// ENOTFOUND. c-ares's own resolvers (asked after a silent getaddrinfo) go there too. A
// server that does not answer is waited for 1.5 s (glibc waits 5 s × 2 attempts), longer than
// imgpull waits before asking DNS too, as a resolver's silence is.
const systemLookup = dns.lookup
const systemResolver = dns.promises.Resolver
const answers = new Map<string, (q: DnsQuery) => DnsReply>()
/** The stand-in's lookups of each name (getaddrinfo's, not DNS asked directly). */
const lookups = new Map<string, number>()
let resolver: dns.promises.Resolver
let dnsServer: DnsServer
let images: ImageServer
let dir: string
let n = 0

type Callback = (e: NodeJS.ErrnoException | null, a: string | LookupAddress[], f?: number) => void
function viaTestServer(name: string, given: LookupOptions | Callback, maybe?: Callback): void {
  // dns.lookup(name, callback) too, as Node's own callers use it.
  const [options, callback] = typeof given === 'function' ? [{}, given] : [given, maybe!]
  // The test's names are under .test; the rest (an address, localhost) as the system has them.
  if (!name.toLowerCase().replace(/\.$/, '').endsWith('.test')) {
    ;(systemLookup as Lookup)(name, options, callback)
    return
  }
  lookups.set(name.toLowerCase(), (lookups.get(name.toLowerCase()) ?? 0) + 1)
  const family = Number(String(options.family ?? 0).replace('IPv', ''))
  const asked = ([4, 6] as const).filter((f) => family === 0 || family === f)
  Promise.allSettled(asked.map((f) => (f === 4 ? resolver.resolve4(name) : resolver.resolve6(name)))).then(
    (settled) => {
      const found: LookupAddress[] = settled.flatMap((s, i) =>
        s.status === 'fulfilled' ? s.value.map((address) => ({ address, family: asked[i]! })) : [],
      )
      if (found.length === 0) {
        const codes = settled.map((s) =>
          s.status === 'rejected' ? (s.reason as { code?: string }).code : 'ENODATA',
        )
        const code = codes.every((c) => c === 'ENOTFOUND' || c === 'ENODATA') ? 'ENOTFOUND' : 'EAI_AGAIN'
        callback(Object.assign(new Error(`getaddrinfo ${code} ${name}`), { code, hostname: name }), '')
      } else if (options.all) callback(null, found)
      else callback(null, found[0]!.address, found[0]!.family)
    },
  )
}

before(async () => {
  images = await startImageServer()
  dir = await tempDir()
  dnsServer = await startDnsServer((q) => answers.get(q.name.toLowerCase())?.(q) ?? { rcode: 3 })
  resolver = new dns.promises.Resolver({ timeout: 1500, tries: 1 })
  resolver.setServers([`127.0.0.1:${dnsServer.port}`])
  // DNS asked directly (shared-lookup.ts `askDns`) makes a resolver of its own for each ask: it asks the test's server.
  const port = dnsServer.port
  class TestResolver {
    constructor(options?: dns.ResolverOptions) {
      const own = new systemResolver({ ...options, timeout: 1500, tries: 1 })
      own.setServers([`127.0.0.1:${port}`])
      own.setServers = () => {}
      // biome-ignore lint/correctness/noConstructorReturn: it stands in for Node's Resolver, constructed with new
      return own
    }
  }
  dns.promises.Resolver = TestResolver as unknown as typeof systemResolver
  ;(dns as { lookup: unknown }).lookup = viaTestServer as Lookup
})
after(async () => {
  ;(dns as { lookup: unknown }).lookup = systemLookup
  dns.promises.Resolver = systemResolver
  // What the hook before started, where it failed partway (a port taken).
  resolver?.cancel()
  await dnsServer?.close()
  await images?.close()
  if (dir) await cleanup(dir)
})

async function get(urls: string[], options: Partial<Options> = {}) {
  const out = join(dir, `run-${++n}`)
  const results: Result[] = []
  for await (const r of pull(urls, { out, journal: false, retries: 2, ...options })) results.push(r)
  const files = (await readdir(out).catch(() => [] as string[])).filter(
    (f) => !f.startsWith('.') && f !== 'manifest.jsonl' && f !== 'report.html',
  )
  return { results, files }
}

const addresses = (q: DnsQuery, ...all: string[]): DnsReply => ({
  answers: all
    .filter((a) => (q.type === 'AAAA') === a.includes(':'))
    .map((data) => ({ name: q.name, type: data.includes(':') ? 'AAAA' : 'A', data })),
})

// RFC 2308 §7.1: a name whose DNS servers are all down or broken is SERVFAIL, which getaddrinfo
// gives as EAI_AGAIN, a passing failure. Each file was retried on its own, each retry a lookup of
// its own: 100 files of such a domain, 1,552 queries and 14 s (bench/misbehave-dns.ts,
// servfail-100). Now the host is given up once one file failed so for good, as a refused one is.
test('a domain whose DNS answers SERVFAIL: once a file failed for good, its other files are not tried, and the words say DNS', async () => {
  answers.set('broken.test', () => ({ rcode: 2 }))
  const before = dnsServer.queries.length
  const port = new URL(images.origin).port
  const { results, files } = await get(
    Array.from({ length: 60 }, (_, i) => `http://broken.test:${port}/sf${i}.jpg`),
  )
  assert.equal(results.length, 60)
  assert.deepEqual(files, [])
  for (const r of results) {
    assert.equal(r.error, 'network', r.message)
    assert.match(
      r.message!,
      /broken\.test.*the name lookup failed for now: its DNS server answered SERVFAIL, or none answered \(EAI_AGAIN\)/,
    )
  }
  // The first to fail for good says its other files are not tried; each of those, that no request reached it.
  const givenUp = results.filter((r) => r.message!.includes('no request this run reached'))
  assert.ok(givenUp.length >= 50, `${givenUp.length} of 60 say the host was given up`)
  const queries = dnsServer.queries
    .slice(before)
    .filter((q) => q.name === 'broken.test' && q.type === 'A').length
  assert.ok(queries < 60, `${queries} A queries for 60 files`)
  // Its failure is the name's for 2 s: the files in flight ask once a round of retries, not once each (10 lookups here before).
  assert.ok((lookups.get('broken.test') ?? 0) < 6, `${lookups.get('broken.test')} lookups for 60 files`)
})

// ...but a SERVFAIL that passes (a resolver's upstream timing out once) is retried, every file got.
test('SERVFAIL once, then the address: every file comes', async () => {
  const asked = new Map<string, number>()
  answers.set('flaky.test', (q) => {
    asked.set(q.type, (asked.get(q.type) ?? 0) + 1)
    return asked.get(q.type) === 1 ? { rcode: 2 } : addresses(q, '127.0.0.1')
  })
  const port = new URL(images.origin).port
  const { results, files } = await get(
    Array.from({ length: 5 }, (_, i) => `http://flaky.test:${port}/f${i}.jpg`),
  )
  assert.deepEqual(
    results.map((r) => r.error),
    results.map(() => undefined),
    results.map((r) => r.message).join('\n'),
  )
  assert.equal(files.length, 5)
})

// A resolver that never answers a name: glibc waits 5 s × 2 attempts and says EAI_AGAIN, as for a
// SERVFAIL. Each retry of each file waited that again: 2 files, 68 s at --retries 5, where curl,
// which does not retry, took 20 s (bench/misbehave-dns.ts, dns-silent), and the words did not
// say the resolver was silent. Now its second silence in a row ends its files.
test('a name whose resolver never answers: its files end after two lookups, saying the resolver did not answer', async () => {
  answers.set('silent.test', () => ({ silent: true }))
  const port = new URL(images.origin).port
  const { results, files } = await get(
    Array.from({ length: 3 }, (_, i) => `http://silent.test:${port}/s${i}.jpg`),
    { retries: 5 },
  )
  assert.deepEqual(files, [])
  assert.equal(results.length, 3)
  for (const r of results) {
    assert.equal(r.error, 'network', r.message)
    assert.match(
      r.message!,
      /silent\.test.*the name lookup got no answer: the DNS resolver did not answer in \d+ s, 2 lookups in a row \(EAI_AGAIN\)/,
    )
  }
  assert.ok((lookups.get('silent.test') ?? 0) <= 2, `${lookups.get('silent.test')} lookups for 3 files`)
})

// ...but a resolver silent for one lookup (restarting, its packets lost) is asked again, and every file comes.
test('a resolver silent for one lookup, then answering: every file comes', async () => {
  let first: number | undefined
  answers.set('hiccup.test', (q) => {
    first ??= performance.now()
    return performance.now() - first < 1600 ? { silent: true } : addresses(q, '127.0.0.1')
  })
  const port = new URL(images.origin).port
  const { results, files } = await get(
    Array.from({ length: 3 }, (_, i) => `http://hiccup.test:${port}/h${i}.jpg`),
  )
  assert.deepEqual(
    results.map((r) => r.error),
    results.map(() => undefined),
    results.map((r) => r.message).join('\n'),
  )
  assert.equal(files.length, 3)
  assert.ok((lookups.get('hiccup.test') ?? 0) >= 2, 'the silent lookup was asked again')
})

// A blocking resolver (Pi-hole, AdGuard Home) or a hosts-file blocklist answers 0.0.0.0 for a
// name it blocks; connecting there reaches this machine, and here a local server that answers
// images: its image was saved as the blocked host's (as curl, wget2 and aria2c still do).
test('a name that resolves to 0.0.0.0 (or ::) alone fails as not found, saying so, and nothing of the local server is kept', async () => {
  answers.set('blocked.test', (q) => addresses(q, '0.0.0.0', '::'))
  answers.set('blocked4.test', (q) => addresses(q, '0.0.0.0'))
  const port = new URL(images.origin).port
  const before = images.stats.requests
  const { results, files } = await get([
    `http://blocked.test:${port}/b1.jpg`,
    `http://blocked4.test:${port}/b2.jpg`,
  ])
  assert.deepEqual(files, [])
  assert.equal(images.stats.requests, before, 'no request reached the local server')
  for (const r of results) {
    assert.equal(r.error, 'dns', r.message)
    assert.match(
      r.message!,
      /^host not found for http:\/\/blocked4?\.test:\d+\/b\d\.jpg: its name resolves to (0\.0\.0\.0|::) alone, a blocking resolver's or hosts file's answer/,
    )
  }
})

// Node tries each address of a name (autoSelectFamily, RFC 8305) and, all failing, gives one
// AggregateError with no message and the first failure's code: the file read "the connection was
// refused", as if one address had, where every address of the name had (node-fetch/node-fetch#1841).
test('a name whose every address refuses: the words say each of its addresses was tried', async () => {
  answers.set('refused.test', (q) => addresses(q, '127.0.0.2', '127.0.0.4'))
  const port = await closedPort()
  const { results, files } = await get([`http://refused.test:${port}/r1.jpg`], { retries: 0 })
  assert.deepEqual(files, [])
  assert.equal(results[0]!.error, 'network', results[0]!.message)
  assert.match(
    results[0]!.message!,
    /the connection was refused at each of its 2 addresses \(127\.0\.0\.2, 127\.0\.0\.4\) \(ECONNREFUSED\)/,
  )
})

// A blocklist's answer beside a real one (a hosts-file entry and DNS both answering, a filtering
// resolver that adds 0.0.0.0 to what upstream gave): 0.0.0.0 is no address to connect to (it reaches
// this machine), curl and browsers skip it; the others are the name's. Node tried 0.0.0.0 first,
// and a local web server on the port answered for the host.
test('a name answering 0.0.0.0 (or ::) beside a real address: the real one is used, this machine never asked', async () => {
  const { createServer } = await import('node:http')
  const { makeImage } = await import('./support/images.js')
  const jpg = makeImage('mixed-real', 9_000, 'jpg')
  const real = createServer((_req, res) =>
    res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': jpg.length }).end(jpg),
  )
  await new Promise<void>((resolve) => real.listen(0, '127.0.0.2', resolve))
  const port = (real.address() as { port: number }).port
  let localAsked = 0
  const local = createServer((_req, res) => {
    localAsked++
    const page = '<html><title>a local page</title></html>'
    res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': page.length }).end(page)
  })
  await new Promise<void>((resolve) => local.listen(port, '127.0.0.1', resolve))
  try {
    answers.set('mixed.test', (q) => addresses(q, '0.0.0.0', '127.0.0.2', '::'))
    answers.set('mixed6.test', (q) => addresses(q, '::', '127.0.0.2'))
    const { results, files } = await get(
      [`http://mixed.test:${port}/m1.jpg`, `http://mixed6.test:${port}/m2.jpg`],
      {
        retries: 0,
      },
    )
    assert.deepEqual(
      results.map((r) => r.error),
      [undefined, undefined],
      results.map((r) => r.message).join('\n'),
    )
    assert.equal(localAsked, 0, "no request reached this machine's own server")
    assert.deepEqual(files.sort(), ['m1.jpg', 'm2.jpg'])
  } finally {
    await new Promise((resolve) => real.close(resolve))
    await new Promise((resolve) => local.close(resolve))
  }
})

// A recursive resolver whose upstream servers are dead answers SERVFAIL, but only after trying
// them (a second or more). Its EAI_AGAIN took as long as a silence, and was said as one (`the DNS
// resolver did not answer in 1 s`) and counted toward ending the name's files, where the resolver
// had answered. DNS asked directly (c-ares) says which it was.
test('a SERVFAIL that comes after a second or more is said as a SERVFAIL, not as a resolver that did not answer', async () => {
  answers.set('slowfail.test', () => ({ rcode: 2, delayMs: 1200 }))
  const port = new URL(images.origin).port
  const { results, files } = await get(
    Array.from({ length: 2 }, (_, i) => `http://slowfail.test:${port}/sf${i}.jpg`),
    { retries: 1 },
  )
  assert.deepEqual(files, [])
  assert.equal(results.length, 2)
  for (const r of results) {
    assert.equal(r.error, 'network', r.message)
    assert.doesNotMatch(r.message!, /did not answer/)
    assert.match(
      r.message!,
      /slowfail\.test.*its DNS server answered SERVFAIL \(after \d+(\.\d)? s\) \(EAI_AGAIN\)/,
    )
  }
})
