import { BlockList, isIP } from 'node:net'
import { domainToASCII } from 'node:url'
import { quoted } from '../utils/printable.js'
import { unbracketed, unencodedCredentials, withoutCredentials } from '../utils/url.js'
import { proxyCredentialsProblem } from './url-credentials.js'

/**
 * Which proxy a request goes through: the rules curl, wget and Python's requests follow. Pure,
 * table-tested (test/proxy.test.ts); `proxy-router.ts` carries them out.
 *
 * - `--proxy URL` (option `proxy`): every request, whatever its scheme.
 * - Otherwise the environment, per scheme: `http_proxy`/`HTTP_PROXY` for http:// URLs,
 *   `https_proxy`/`HTTPS_PROXY` for https:// ones, `all_proxy`/`ALL_PROXY` for either when its
 *   own is unset; the lower-case form wins, and an empty variable counts as unset. An https:// URL does not fall back to `HTTP_PROXY`
 *   (curl's and requests' rule; undici's `EnvHttpProxyAgent` would). `HTTP_PROXY` is ignored when
 *   `REQUEST_METHOD` is set: in a CGI program it comes from a request's `Proxy:` header
 *   ("httpoxy", CVE-2016-5385), as Go and curl ignore it too.
 * - `no_proxy`/`NO_PROXY` names hosts reached directly, with either: host names separated by commas or white space
 *   (each also covering its subdomains; a leading `.` or `*.` is the same), IP addresses, CIDR
 *   ranges (`10.0.0.0/8`; IPv6 with or without brackets, `fd00::/8:80`, `[::1]:80`, compared as
 *   addresses), each with an optional `:port`; `*` alone means every host (`*:8080`, every host on
 *   that port).
 * - `--no-proxy` (option `proxy: false`): no proxy at all.
 * A proxy value without a scheme (`proxy:3128`) is `http://proxy:3128`, as curl reads it. A proxy
 * is `http://`, `https://` or SOCKS5 (`socks5://`, `socks5h://`: RFC 1928, with RFC 1929
 * user/password; host names resolved here for `socks5://`, by the proxy for `socks5h://`, as
 * curl resolves them). SOCKS4 and a bare `socks://` (SOCKS4 to
 * curl) are refused.
 */
export interface ProxyPlan {
  /** Proxy for http:// URLs, if any. */
  http?: URL
  /** Proxy for https:// URLs, if any. */
  https?: URL
  /** The `NO_PROXY` list. */
  noProxy: string
  /** The variable it came from, as spelt (`no_proxy` or `NO_PROXY`), if any. */
  noProxyVariable?: string
}

type Env = Record<string, string | undefined>

/** The proxies a run uses, or `undefined` when every request goes direct. */
export function proxyPlan(option: string | false, env: Env = process.env): ProxyPlan | undefined {
  if (option === false) return undefined
  // The first variable set to something (an empty one counts as unset).
  const noProxyVariable = ['no_proxy', 'NO_PROXY'].find((name) => env[name])
  const noProxy = unquoted(noProxyVariable ? env[noProxyVariable]! : '')
  const list = { noProxy, ...(noProxyVariable ? { noProxyVariable } : {}) }
  if (option !== 'env') {
    const url = proxyUrl(option)
    return { http: url, https: url, ...list }
  }
  // The first variable set, read as a proxy URL; a bad one is named as it is spelt (`https_proxy`).
  const pick = (...names: string[]) => {
    const name = names.find((n) => env[n])
    return name === undefined ? undefined : proxyUrl(env[name]!, name)
  }
  const cgi = env.REQUEST_METHOD !== undefined
  const all = pick('all_proxy', 'ALL_PROXY')
  const http = (cgi ? pick('http_proxy') : pick('http_proxy', 'HTTP_PROXY')) ?? all
  const https = pick('https_proxy', 'HTTPS_PROXY') ?? all
  return http || https ? { http, https, ...list } : undefined
}

/** The proxy for `url` under `plan`, or `undefined` to go direct. */
export function proxyFor(url: URL, plan: ProxyPlan | undefined): URL | undefined {
  if (!plan) return undefined
  const proxy = url.protocol === 'https:' ? plan.https : plan.http
  if (!proxy || bypassed(url, plan.noProxy)) return undefined
  return proxy
}

/** Whether `NO_PROXY` sends `url` direct. */
export function bypassed(url: URL, noProxy: string): boolean {
  // A fully qualified name's trailing dot (`cdn.example.com.`) names the same host, as curl reads it.
  const host = unbracketed(url.hostname).toLowerCase().replace(/\.$/, '')
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80)
  for (const written of noProxy.split(/[\s,]+/)) {
    if (!written.trim()) continue
    const { entry, entryPort } = noProxyEntry(written)
    if (entryPort !== undefined && entryPort !== port) continue
    // `*:8080`: every host on that port (undici's EnvHttpProxyAgent, nodejs/undici#5777); it was
    // taken for a host named `*`, matching none, and not warned of either.
    if (entry === '*') return true
    if (entry.includes('/')) {
      if (inRange(host, entry)) return true
      continue
    }
    // An address however it is spelt (`0:0:0:0:0:0:0:1`, `FD00:0::1` for the URL's `[::1]`,
    // `[fd00::1]`): compared as addresses, not as text.
    const family = isIP(entry)
    if (family) {
      if (inRange(host, `${entry}/${family === 4 ? 32 : 128}`)) return true
      continue
    }
    const name = asciiName(entry.replace(/^\*?\./, '').replace(/\.$/, ''))
    if (host === name || (!isIP(host) && host.endsWith(`.${name}`))) return true
  }
  return false
}

/**
 * A `NO_PROXY` entry as written, lower-cased, its brackets and `:port` taken off: `[::1]:80`,
 * `[fd00::]/8:80` and `fd00::/8:80` (a range's port comes after its bits, curl/curl#19828 writes
 * IPv6 ranges bare) are `::1`, `fd00::/8`, port 80. A bare IPv6 address keeps its last group
 * (`::1:80` is an address, as curl reads it: "enter IPv6 addresses without brackets").
 */
function noProxyEntry(written: string): { entry: string; entryPort?: number } {
  let entry = written.trim().toLowerCase()
  let entryPort: number | undefined
  const withPort = /^(\[[^\]]+\](?:\/\d+)?|[^:]+|[^[\]]+\/\d+):(\d+)$/.exec(entry)
  if (withPort) {
    entry = withPort[1] as string
    entryPort = Number(withPort[2])
  }
  // `[::1]`, and a range written `[fd00::]/8`.
  entry = entry.replace(/^\[([^\]]*)\](\/\d+)?$/, '$1$2')
  return entryPort === undefined ? { entry } : { entry, entryPort }
}

/**
 * A `NO_PROXY` name as a URL's host is written: an internationalized name (`bücher.example`,
 * `пример.рф`) in its ASCII form (`xn--bcher-kva.example`, RFC 5891), as the URL parser writes
 * every host. Written in Unicode, it matched no host and its hosts went through the proxy
 * (SwitchyOmega#2149; curl asks for the ASCII form, curl#21228).
 */
function asciiName(name: string): string {
  return /[^ -~]/.test(name) ? domainToASCII(name) || name : name
}

/**
 * The entries of a `NO_PROXY` list that no host can match, as written: a scheme or a path
 * (`http://intranet`, `intranet/`), a `*` other than alone or before a name (`10.*`, `*.corp.*`:
 * Windows' proxy bypass list takes them, curl and Go do not), `;` (Windows' separator, where
 * commas go), `<local>`, a range that is no CIDR (`10.0.0.0/33`). curl, Go and requests pass them
 * over without a word, and the hosts they were meant for went through the proxy. Pure.
 */
export function unmatchable(noProxy: string): string[] {
  return noProxy.split(/[\s,]+/).filter((entry) => {
    const bare = noProxyEntry(entry).entry
    if (!bare || bare === '*') return false
    if (bare.includes('/')) {
      const [address, bits, more] = bare.split('/')
      const family = isIP(address)
      return more !== undefined || !family || !/^\d+$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128)
    }
    return !/^(\*?\.)?[^*;<>]+$/.test(bare)
  })
}

/** The warning for `plan`'s `NO_PROXY` entries that match no host (see `unmatchable`), or `undefined`. */
export function noProxyWarning(plan: ProxyPlan | undefined): string | undefined {
  const bad = plan ? unmatchable(plan.noProxy) : []
  if (!plan || bad.length === 0) return undefined
  const shown = bad.map((entry) => `"${quoted(entry)}"`).join(', ')
  return `${plan.noProxyVariable ?? 'NO_PROXY'}: ${bad.length === 1 ? 'the entry' : 'the entries'} ${shown} ${bad.length === 1 ? 'matches' : 'match'} no host, so the hosts meant go through the proxy: give host names (example.com, .example.com, *.example.com), IP addresses or CIDR ranges (10.0.0.0/8), each with an optional :port, separated by commas`
}

function inRange(host: string, cidr: string): boolean {
  const [address, bits] = cidr.split('/')
  const family = isIP(address)
  if (!family || isIP(host) !== family) return false
  const list = new BlockList()
  try {
    list.addSubnet(address, Number(bits), family === 4 ? 'ipv4' : 'ipv6')
  } catch {
    return false
  }
  return list.check(host, family === 4 ? 'ipv4' : 'ipv6')
}

/** The code of a CONNECT the proxy closed the connection on without answering (see `tunnelsFailOnce`). */
export const PROXY_CLOSED = 'IMGPULL_PROXY_CLOSED'

/** The code of an HTTP proxy's 407: it wants credentials, or refused those of its URL (see classify.ts). */
export const PROXY_AUTH = 'IMGPULL_PROXY_407'

/**
 * The code of an HTTP proxy's 429 to a CONNECT: its own limit of requests or connections (a
 * rotating proxy's), whatever the host, so every file through it waits (see run/retry.ts).
 */
export const PROXY_LIMIT = 'IMGPULL_PROXY_429'

/**
 * The code of a TLS failure with an https:// proxy itself (its certificate, or its handshake: a
 * plain HTTP proxy given as https://), not with a server behind it: every request meets it (see
 * proxy-silence.ts).
 */
export const PROXY_TLS = 'IMGPULL_PROXY_TLS'

/** The code of a SOCKS5 proxy that closed the connection before the tunnel was open (see undici-proxy.ts). */
export const SOCKS_CLOSED = 'UND_ERR_SOCKS5_CLOSED'

/** Proxy schemes imgpull speaks: HTTP(S) proxies and SOCKS5. */
const PROXY_SCHEMES = new Set(['http:', 'https:', 'socks5:', 'socks5h:'])

/** Whether `proxy` is a SOCKS5 proxy (it tunnels every URL, http:// ones too). */
export const isSocks = (proxy: URL): boolean => proxy.protocol.startsWith('socks')

/**
 * A proxy address as a URL (`http://` assumed without a scheme). Throws a `TypeError` naming
 * `option` (credentials never shown) when it is not a proxy URL imgpull speaks (see `ProxyPlan`).
 */
export function proxyUrl(value: string, option = 'proxy'): URL {
  value = unquoted(value)
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`
  // Before parsing: a `#` in the password would make a proxy of what precedes it.
  const unencoded = unencodedCredentials(text)
  if (unencoded)
    throw new TypeError(`Expected \`${option}\`'s user and password ${unencoded}, in ${shownProxy(value)}`)
  let url: URL
  try {
    // A scheme with one slash or a backslash (`http:/proxy:3128`) would read as a proxy named `http`.
    if (/^[a-z][a-z0-9+.-]*:[\\/]/i.test(value) && text !== value) throw new Error('no // after the scheme')
    url = new URL(text)
  } catch {
    // `http://::1:3128`: an IPv6 address is written in brackets in a URL.
    const ipv6 = /^(?:[a-z][a-z0-9+.-]*:\/\/)?(?:[^@/]*@)?[0-9a-f]*::?[0-9a-f:]*:\d+\/?$/i.test(value)
      ? ' (an IPv6 address goes in brackets: http://[::1]:3128)'
      : ''
    throw new TypeError(
      `Expected \`${option}\` to be a proxy URL such as http://proxy:3128, got ${shownProxy(value)}${ipv6}`,
    )
  }
  // A path, query or fragment means nothing to a proxy, as curl reads it: undici's agent threw on
  // one ('invalid url') in the first request, a stack trace for `--proxy http://proxy:3128/x`.
  url.pathname = '/'
  url.search = ''
  url.hash = ''
  if (!PROXY_SCHEMES.has(url.protocol)) {
    // Refused rather than ignored: going direct would bypass a proxy the user relies on.
    const way = option === 'proxy' ? '' : ' (unset it, or pass --no-proxy)'
    const socks4 = /^socks4?a?:$/.test(url.protocol) ? '; SOCKS4 is not supported, SOCKS5 is' : ''
    throw new TypeError(
      `Expected \`${option}\` to be an http://, https://, socks5:// or socks5h:// proxy, got ${url.protocol}//${socks4}${way}`,
    )
  }
  if (isSocks(url) && !url.hostname)
    throw new TypeError(`Expected \`${option}\` to name the SOCKS5 proxy's host, got ${shownProxy(value)}`)
  // Credentials that cannot be sent as written would fail mid-run, in every request.
  const problem = proxyCredentialsProblem(url)
  if (problem)
    throw new TypeError(`Expected \`${option}\`'s user and password ${problem}, in ${shownProxy(value)}`)
  return url
}

/**
 * What a failure's message adds about the proxy that carried an answer with an error status to
 * `url`. An http:// URL goes to an HTTP(S) proxy as a plain request, so the status may be the
 * proxy's own (it could not reach the host, its rules refuse the URL, it is overloaded) as well as
 * the server's: ` (through the proxy P)`; said to be the proxy's (` (answered by the proxy P
 * itself: …)`) when the answer says so, by RFC 9209's `Proxy-Status` with an `error` parameter
 * (Envoy, Fastly, HAProxy...) or squid's `X-Squid-Error`. '' direct, and through a tunnel (a
 * `CONNECT` or SOCKS5 one), whose answers are the server's.
 */
export function proxyNote(
  url: URL,
  proxy: URL | undefined,
  headers: Record<string, string | string[] | undefined>,
): string {
  if (!proxy || isSocks(proxy) || url.protocol !== 'http:') return ''
  const words = proxySaid(headers)
  return words
    ? ` (answered by the proxy ${shownProxy(proxy)} itself: ${words})`
    : ` (through the proxy ${shownProxy(proxy)})`
}

/**
 * A proxy's own word on an answer it wrote, as it gives it: RFC 9209's `Proxy-Status` with an
 * `error` parameter (Envoy, Fastly, HAProxy...: `Proxy-Status error=connection_refused`), or
 * squid's `X-Squid-Error` (`X-Squid-Error: ERR_CONNECT_FAIL 111`), printable; `undefined` when it says none.
 */
export function proxySaid(headers: Record<string, string | string[] | undefined>): string | undefined {
  const text = (name: string) => {
    const value = headers[name]
    return Array.isArray(value) ? value.join(', ') : value
  }
  const status = /(?:^|;)\s*error\s*=\s*("[^"]*"|[^;,\s]+)/i.exec(text('proxy-status') ?? '')?.[1]
  const squid = text('x-squid-error')
  // Written by whoever answers: shown as printable text, cut short.
  return status
    ? quoted(`Proxy-Status error=${status}`)
    : squid
      ? quoted(`X-Squid-Error: ${squid}`)
      : undefined
}

/** The code of `TunnelRefused`. */
export const TUNNEL_REFUSED = 'IMGPULL_TUNNEL_REFUSED'

/**
 * An HTTP proxy's answer to a CONNECT other than 2xx, its status, its own word (see `proxySaid`),
 * for a redirect (a captive portal's or a company's sign-in page) its `Location` as sent, and the
 * wait it names (`wait`: its `Retry-After` or rate limiter's reset, read as a server's are, see
 * `readRefusal`), carried as values: undici's own error for it has the status in its words only.
 */
export class TunnelRefused extends Error {
  readonly code = TUNNEL_REFUSED
  constructor(
    readonly status: number,
    readonly said: string | undefined,
    host: string,
    readonly location?: string,
    /** A 407's authentication schemes (`authSchemes`), as the proxy wrote them. */
    readonly schemes: string[] = [],
    /** The wait it names, ms, and the header that named it (see `Refusal`). */
    readonly wait: { retryAfter?: number; waitFrom?: string } = {},
  ) {
    super(`the proxy answered the CONNECT to ${host} with HTTP ${status}${said ? ` (${said})` : ''}`)
  }
}

/**
 * The authentication schemes of `Proxy-Authenticate` values (RFC 9110 §11.6.1, §11.7.1), each once,
 * as written: `Basic realm="a, b", NTLM` and a second header `Negotiate` give Basic, NTLM,
 * Negotiate. A challenge is a scheme token then a space or its end; the parts a comma splits off
 * a challenge's parameters (`charset=UTF-8`, the rest of a quoted realm) are none.
 */
export function authSchemes(values: string | string[] | undefined): string[] {
  const schemes = new Map<string, string>()
  for (const value of [values ?? []].flat())
    for (const part of value.split(',')) {
      const scheme = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:\s|$)/.exec(part)?.[1]
      if (scheme && !schemes.has(scheme.toLowerCase())) schemes.set(scheme.toLowerCase(), scheme)
    }
  return [...schemes.values()]
}

/**
 * A variable's value without the quotes around it: `.env` files, `docker run --env-file` and
 * systemd's `EnvironmentFile` keep `HTTPS_PROXY="http://proxy:3128"` with its quotes (consul-template#132), which read as
 * a proxy named `"http` (`cannot reach proxy http://"http (ENOTFOUND)`), and a quoted `NO_PROXY`
 * matched neither its first host nor its last, sending them through the proxy.
 */
export function unquoted(value: string): string {
  const text = value.trim()
  return /^(["']).*\1$/s.test(text) && text.length >= 2 ? text.slice(1, -1).trim() : text
}

/** A proxy address for messages: never its credentials. */
export function shownProxy(proxy: URL | string): string {
  return typeof proxy === 'string' ? withoutCredentials(proxy) : `${proxy.protocol}//${proxy.host}`
}
