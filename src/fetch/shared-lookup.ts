import dns, { type LookupAddress, type LookupOptions } from 'node:dns'
import { causes } from '../utils/causes.js'

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void

/** The `lookup` of `net.connect` (and so of undici's `connect` options). */
export type Lookup = (hostname: string, options: LookupOptions, callback: LookupCallback) => void

/**
 * How long a name the resolver said does not exist (ENOTFOUND) stays so for the run's other
 * connections: a list's dead domain is looked up about once a minute, not once a file. Resolvers
 * keep such an answer for the zone's negative TTL (RFC 2308 §5: commonly minutes to hours).
 */
export const NOT_FOUND_MS = 60_000

/** Names found not to exist remembered at once, at most (a list of millions of dead domains). */
const MAX_NOT_FOUND = 10_000

/**
 * How long a name whose lookup failed for now (EAI_AGAIN: its DNS server answered SERVFAIL, or
 * none answered) stays so for the run's other connections, ms: the host's files in flight each
 * asked again at their own retry (100 files of a SERVFAIL domain, 828 queries, where curl made
 * 400). Short, as a file's retry waits it out (see `LOOKUP_AGAIN_MS` in retry-policy.ts) and then
 * asks again: a SERVFAIL that passes is still got. RFC 2308 §7.1 allows up to 5 minutes.
 */
export const AGAIN_MS = 2_000

/**
 * Lookups of a name in a row that its resolver did not answer (see `UNANSWERED`) after which its
 * files are not retried (see `onFailure`): each such lookup is glibc's timeout, 5 s × 2 attempts,
 * and a file retried at `--retries 5` waited 6 of them (2 files of such a name, 68 s, where curl,
 * which does not retry, took 20 s). Two: a resolver silent once (a restart, packets lost) is
 * asked again, and its name's files are got.
 */
export const UNANSWERED_LOOKUPS = 2

/**
 * On a lookup's EAI_AGAIN: it took at least `DNS_TOO_AFTER_MS` (a SERVFAIL comes in
 * milliseconds), so the resolver did not answer: how long it was waited for, ms, and how many of
 * the name's lookups in a row went so (see `UNANSWERED_LOOKUPS`).
 */
export const UNANSWERED: unique symbol = Symbol('imgpull.unanswered')

export interface Unanswered {
  ms: number
  inARow: number
}

/** What the lookup that failed `error` (or a cause of it) said of its resolver's silence, if it was silent. */
export const unansweredLookup = (error: unknown): Unanswered | undefined => marked(error, UNANSWERED)

/**
 * On a slow lookup's EAI_AGAIN (see `askingDnsToo`): what DNS, asked directly, answered for the
 * name (`SERVFAIL`, `REFUSED`...), and how long getaddrinfo took, ms: the resolver answered, slowly
 * (a recursive resolver that tried its dead upstream servers first), and was not silent.
 */
export const DNS_ANSWERED: unique symbol = Symbol('imgpull.dnsAnswered')

export interface DnsAnswered {
  said: string
  ms: number
}

/** What DNS answered for the lookup that failed `error` (or a cause of it), where it was asked (see `DNS_ANSWERED`). */
export const dnsAnswered = (error: unknown): DnsAnswered | undefined => marked(error, DNS_ANSWERED)

function marked<T>(error: unknown, mark: symbol): T | undefined {
  for (const e of causes<Record<symbol, T | undefined>>(error, 5)) {
    const found = e[mark]
    if (found) return found
  }
  return undefined
}

/**
 * A `dns.lookup` for one run's connections. A name under `localhost` is answered here, never
 * looked up (see `answeringLocalhost`). Node resolves every new connection on its own and
 * caches nothing, on libuv's pool of 4 threads: a host's first round of 16 connections was 16
 * lookups of its name, and each file of a dead domain one more (100 files: 100 lookups, 20 s here
 * where the resolver takes 5 s to say no; aria2c and wget2 look a name up once). Concurrent
 * lookups of a name now share one answer, and a name not found is not found for `NOT_FOUND_MS`.
 * Addresses found are not kept: the next connection asks again, so DNS load balancing and a moved
 * host work as before. `lookup` is read at each call (`dns.lookup` by default), so a test's stand-in
 * is seen.
 */
export function sharedLookup(
  lookup: Lookup = askingDnsToo(
    (name, options, callback) => dns.lookup(name, options, callback as never),
    askDns,
    DNS_TOO_AFTER_MS,
  ),
  now: () => number = () => performance.now(),
): Lookup {
  const pending = new Map<string, LookupCallback[]>()
  const notFound = new Map<string, { error: NodeJS.ErrnoException; until: number }>()
  // Names whose lookup failed for now (see `AGAIN_MS`), and their lookups in a row the resolver did not answer.
  const failedForNow = new Map<string, { error: NodeJS.ErrnoException; until: number }>()
  const silentInARow = new Map<string, number>()
  return answeringLocalhost((hostname, options, callback) => {
    const key = lookupKey(hostname, options)
    const at = now()
    const gone = [notFound.get(key), failedForNow.get(key)].find((entry) => entry && entry.until > at)
    if (gone) {
      process.nextTick(callback, copyError(gone.error), '')
      return
    }
    const waiting = pending.get(key)
    if (waiting) {
      waiting.push(callback)
      return
    }
    pending.set(key, [callback])
    const asked = now()
    const settle: LookupCallback = (found, given, family) => {
      const error = found ?? blockedAnswer(hostname, given)
      const address = error ? given : usable(given)
      const callbacks = pending.get(key) ?? []
      pending.delete(key)
      const at = now()
      if (error?.code === 'ENOTFOUND') remember(notFound, key, error, at, NOT_FOUND_MS)
      if (error?.code === 'EAI_AGAIN') {
        if (at - asked >= DNS_TOO_AFTER_MS && !dnsAnswered(error)) {
          const inARow = (silentInARow.get(key) ?? 0) + 1
          keepCount(silentInARow, key, inARow)
          const silence: Unanswered = { ms: at - asked, inARow }
          Object.assign(error, { [UNANSWERED]: silence })
        } else silentInARow.delete(key)
        remember(failedForNow, key, error, at, AGAIN_MS)
      } else silentInARow.delete(key)
      for (const cb of callbacks) {
        // Each connection gets its own error and addresses: callers may change what they get.
        if (error) cb(copyError(error), '')
        else cb(null, Array.isArray(address) ? address.map((a) => ({ ...a })) : address, family)
      }
    }
    lookup(hostname, options, (found, address, family) => {
      // One address asked for, and it is the unspecified one: getaddrinfo's first, and the name may
      // have others (a blocklist's 0.0.0.0 beside a real answer): the first usable of them all.
      if (!found && !options.all && typeof address === 'string' && UNSPECIFIED.has(address)) {
        lookup(hostname, { ...options, all: true }, (again, all) => {
          const first = !again && Array.isArray(all) ? usable(all)[0] : undefined
          if (first) settle(null, first.address, first.family)
          else settle(found, address, family)
        })
      } else settle(found, address, family)
    })
  })
}

/**
 * How long a name's lookup (`getaddrinfo`) may go unanswered before DNS is asked too (see
 * `askingDnsToo`), ms: a resolver's answer takes milliseconds, a recursive one's first look-up of
 * a name some hundreds.
 */
export const DNS_TOO_AFTER_MS = 1000

/** A name's addresses of one family straight from DNS (c-ares, off libuv's pool), as `dns.promises.resolve4` gives them. */
export type AskDns = (hostname: string, family: 4 | 6) => Promise<string[]>

/**
 * How long DNS asked directly waits for its one try, ms: under glibc's 5 s × 2 attempts, so a
 * resolver that never answers is known silent before getaddrinfo gives up.
 */
export const DNS_ASK_TIMEOUT_MS = 5_000

/**
 * Node's resolver (c-ares), one try (c-ares's default, 4, asks a SERVFAIL again, so its verdict
 * came after getaddrinfo's), on the servers `dns.getServers()` names; `dns.promises.Resolver`
 * is read at each call (so a test's stand-in is seen).
 */
const askDns: AskDns = (name, family) => {
  const resolver = new dns.promises.Resolver({ tries: 1, timeout: DNS_ASK_TIMEOUT_MS })
  resolver.setServers(dns.getServers())
  return (family === 4 ? resolver.resolve4(name) : resolver.resolve6(name)).finally(() => resolver.cancel())
}

/** c-ares's codes for an answer DNS gave (not for none), as the rcode it stands for. */
const ANSWERED_CODES: Record<string, string> = {
  ESERVFAIL: 'SERVFAIL',
  EREFUSED: 'REFUSED',
  ENOTIMP: 'NOTIMP',
  EFORMERR: 'FORMERR',
  ENOTFOUND: 'NXDOMAIN',
  ENODATA: 'no address',
}

/**
 * `lookup` (getaddrinfo: /etc/hosts, nsswitch, search domains), and, when it has not answered in
 * `afterMs`, DNS asked directly too (`ask`): the first answer with an address wins; DNS's failures
 * are not taken (the name may be in /etc/hosts or found under a search domain), getaddrinfo's
 * answer still counts. getaddrinfo blocks a thread of libuv's pool, and libuv gives such slow work
 * half of the pool, 2 threads by default (libuv#1845, after nodejs/node#8436): two names whose
 * resolver never answers (a lame delegation, a dead domain's servers: glibc waits 5 s × 2
 * attempts a server) held every other lookup of the process behind them, so a live host's
 * connections were cut by --connect-timeout as if its own name got no answer, and the host was
 * given up for the run (40 files, all failed). c-ares runs on the event loop and is not held so;
 * curl's threaded resolver and aria2c's c-ares are not held either.
 */
export function askingDnsToo(lookup: Lookup, ask: AskDns, afterMs: number): Lookup {
  return (hostname, options, callback) => {
    let answered = false
    const began = performance.now()
    // What DNS answered when asked (`ANSWERED_CODES`), undefined for no answer.
    let verdict: Promise<string | undefined> | undefined
    const answer: LookupCallback = (error, address, family) => {
      if (answered) return
      answered = true
      clearTimeout(timer)
      callback(error, address, family)
    }
    const timer = setTimeout(() => {
      const asked = fromDns(ask, hostname, options)
      verdict = asked.then((r) => r.said)
      asked.then((r) => r.found && answer(null, ...r.found))
    }, afterMs)
    timer.unref?.()
    lookup(hostname, options, (error, address, family) => {
      // A slow EAI_AGAIN is a silence or a slow SERVFAIL, which getaddrinfo does not tell apart:
      // DNS's own answer does, waited for `afterMs` × 2 at most (its one try began `afterMs` in).
      if (error?.code !== 'EAI_AGAIN' || !verdict || answered) return answer(error, address, family)
      const ms = performance.now() - began
      let grace: ReturnType<typeof setTimeout> | undefined
      const waited = new Promise<undefined>((resolve) => {
        grace = setTimeout(() => resolve(undefined), afterMs * 2)
      })
      void Promise.race([verdict, waited]).then((said) => {
        clearTimeout(grace)
        if (said) Object.assign(error, { [DNS_ANSWERED]: { said, ms } satisfies DnsAnswered })
        answer(error, address, family)
      })
    })
  }
}

/**
 * What DNS has for `hostname`, in a lookup's shape for `options` (IPv4 first), or undefined for
 * none; and, having none, what DNS answered (`said`: `SERVFAIL` before the others, as the one
 * that fails the lookup for now), undefined where it did not answer.
 */
async function fromDns(
  ask: AskDns,
  hostname: string,
  options: LookupOptions,
): Promise<{ found?: [string | LookupAddress[], number | undefined]; said?: string }> {
  const family = String(options.family ?? 0).replace('IPv', '')
  const families = ([4, 6] as const).filter((f) => family === '0' || family === String(f))
  const codes: string[] = []
  const found = await Promise.all(
    families.map((f) =>
      ask(hostname, f).then(
        (addresses) => addresses.map((address) => ({ address, family: f })),
        (e: { code?: string }) => {
          codes.push(e?.code ?? '')
          return []
        },
      ),
    ),
  )
  const all: LookupAddress[] = found.flat()
  if (all.length === 0) {
    const said = Object.keys(ANSWERED_CODES).find((code) => codes.includes(code))
    return { said: said && ANSWERED_CODES[said] }
  }
  if (options.all) return { found: [all, undefined] }
  return { found: [all[0]!.address, all[0]!.family] }
}

/** `localhost` and the names under it (`img.localhost`, `localhost.`), RFC 6761 §6.3. */
export const isLocalhostName = (hostname: string): boolean => /(?:^|\.)localhost\.?$/i.test(hostname)

/**
 * `lookup` (`dns.lookup` by default, read at each call) with the names under `localhost` answered
 * at once as the loopback (see `loopback`), never asked of it. RFC 6761 §6.3: resolvers and clients
 * should answer them so, and should not send them to DNS. getaddrinfo did send them: glibc knows
 * `localhost` alone (from /etc/hosts), so `h1.localhost` went to the DNS server, and 20,000 URLs on
 * such names lost 105 of their first 300 files to the 10 s connect timeout where the server
 * dropped the burst of queries. curl (since 7.78 for `localhost`, 7.85 for the names under it,
 * and their forms with a final dot since curl/curl#15676), Chrome and Firefox answer them so too.
 */
export function answeringLocalhost(
  lookup: Lookup = (name, options, callback) => dns.lookup(name, options, callback as never),
): Lookup {
  return (hostname, options, callback) => {
    if (isLocalhostName(hostname)) process.nextTick(callback, null, ...loopback(options))
    else lookup(hostname, options, callback)
  }
}

/**
 * The loopback addresses, as a lookup with `options` answers them: what every name under
 * `localhost` is. All of them (`options.all`, as Node's connect asks for them to try one family
 * and then the other, RFC 8305): `::1`, then `127.0.0.1`, curl's order (hostip.c `get_localhost`)
 * and the Fetch standard's; one: `127.0.0.1`, which a server that listens on one family is likelier
 * to. `options.family` keeps that family's alone. Whatever `/etc/hosts` or DNS says of such a name
 * is not asked (a k3d cluster's `*.k3d.localhost` at 127.0.0.6 is the loopback too: curl does the
 * same, curl/curl#15628, closed as not curl's bug).
 */
export function loopback(options: LookupOptions): [string | LookupAddress[], number | undefined] {
  const all: LookupAddress[] = [
    { address: '::1', family: 6 },
    { address: '127.0.0.1', family: 4 },
  ].filter(
    (a) => !options.family || a.family === options.family || String(options.family) === `IPv${a.family}`,
  )
  if (options.all) return [all, undefined]
  const one = all.find((a) => a.family === 4) ?? all[0]!
  return [one.address, one.family]
}

/** On a lookup's error: the name's answer was the unspecified address alone (see `blockedAnswer`). */
export const BLOCKED_ANSWER: unique symbol = Symbol('imgpull.blockedAnswer')

const UNSPECIFIED = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0'])

/**
 * A not-found error (ENOTFOUND, marked `BLOCKED_ANSWER`) where every address a lookup of `hostname`
 * gave is the unspecified one (`0.0.0.0`, `::`): a blocking resolver's "no" (Pi-hole, AdGuard
 * Home, a hosts-file blocklist answer so for a name they block). Connecting to it connects to this
 * machine (Linux and macOS take it as the loopback): a blocked image host's files were asked of
 * whatever local web server listens on its port, and its page taken for the image host's answer
 * (curl, wget2 and aria2c saved it as the image). Chrome refuses such connections too (Private
 * Network Access, the "0.0.0.0 day" report). Undefined for any other answer.
 */
export function blockedAnswer(
  hostname: string,
  address: string | LookupAddress[] | undefined,
): NodeJS.ErrnoException | undefined {
  const all = Array.isArray(address) ? address.map((a) => a.address) : address ? [address] : []
  if (all.length === 0 || !all.every((a) => UNSPECIFIED.has(a))) return undefined
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
    code: 'ENOTFOUND',
    hostname,
    [BLOCKED_ANSWER]: all[0],
  })
}

/**
 * `address` without the unspecified addresses (`0.0.0.0`, `::`) among others: a blocklist's "no"
 * beside a real answer (a hosts-file entry and DNS both answering, a filtering resolver adding
 * its sinkhole to upstream's answer) is no address of the host, and connecting to it reaches this
 * machine (Node tried it first, and a local web server on the port answered for the host).
 * Browsers refuse connections to it (Private Network Access) and go on to the name's next
 * address; here it is never tried. All of them unspecified is `blockedAnswer`'s.
 */
function usable<T extends string | LookupAddress[]>(address: T): T {
  if (!Array.isArray(address)) return address
  const kept = address.filter((a) => !UNSPECIFIED.has(a.address))
  return (kept.length > 0 ? kept : address) as T
}

/** Lookups that would give the same answer: the name and the options that change it. */
function lookupKey(hostname: string, o: LookupOptions): string {
  const order = (o as { order?: string }).order ?? o.verbatim
  return [hostname.toLowerCase(), o.family ?? 0, o.all ? 1 : 0, o.hints ?? 0, order ?? ''].join('\0')
}

function remember(
  notFound: Map<string, { error: NodeJS.ErrnoException; until: number }>,
  key: string,
  error: NodeJS.ErrnoException,
  at: number,
  forMs: number,
): void {
  notFound.delete(key)
  notFound.set(key, { error, until: at + forMs })
  // Oldest first (insertion order): the expired ones, then any beyond the cap.
  for (const [name, entry] of notFound) {
    if (entry.until > at && notFound.size <= MAX_NOT_FOUND) break
    notFound.delete(name)
  }
}

/** `count` for `key`, the oldest dropped beyond `MAX_NOT_FOUND` names. */
function keepCount(counts: Map<string, number>, key: string, count: number): void {
  counts.delete(key)
  counts.set(key, count)
  for (const name of counts.keys()) {
    if (counts.size <= MAX_NOT_FOUND) break
    counts.delete(name)
  }
}

function copyError(error: NodeJS.ErrnoException): NodeJS.ErrnoException {
  return Object.assign(new Error(error.message), error, { stack: error.stack })
}
