import {
  duration,
  errorCode,
  handshakeCut,
  ImgpullError,
  NetworkError,
  retryableStatus,
  TimeoutError,
} from '../errors.js'
import type { ResolvedOptions } from '../options.js'
import { causes } from '../utils/causes.js'
import { outOfDescriptors } from '../utils/descriptors.js'
import { quoted } from '../utils/printable.js'
import { shownUrl } from '../utils/url.js'
import { afterHandshake, connectStageOf, connectStageWords } from './connect-stage.js'
import { notHttpAnswer, notHttpWords, PROXY_400, PROXY_501, PROXY_NOT_HTTP } from './not-a-proxy.js'
import {
  isSocks,
  PROXY_AUTH,
  PROXY_CLOSED,
  PROXY_LIMIT,
  PROXY_TLS,
  proxyFor,
  proxyPlan,
  SOCKS_CLOSED,
  shownProxy,
  TUNNEL_REFUSED,
  type TunnelRefused,
} from './proxy.js'
import { notFoundCode, reservedNameWords } from './reserved-names.js'
import { closedOrReset } from './retry-policy.js'
import { BLOCKED_ANSWER } from './shared-lookup.js'
import { answeredInTls, hostOf, NOT_TLS, tlsMessage, tlsProblem } from './tls-errors.js'

/** A file system refusing a name (a file-system call's error, with its path). */
const NAME_REFUSED = new Set(['ENAMETOOLONG', 'EISDIR', 'ENOTDIR', 'ELOOP', 'EINVAL', 'EILSEQ'])

/** What to add to a not-found message whose lookup found the unspecified address alone (see `blockedAnswer`). */
function blockedWords(error: unknown): string {
  let address: string | undefined
  for (const e of causes<{ [BLOCKED_ANSWER]?: string }>(error)) address ??= e[BLOCKED_ANSWER]
  return address === undefined
    ? ''
    : `: its name resolves to ${address} alone, a blocking resolver's or hosts file's answer for a name it blocks (connecting to it would reach this machine)`
}

/** Name lookups that fail for good; EAI_AGAIN (temporary) stays retryable. */
const DNS_PERMANENT = new Set(['ENOTFOUND'])

/**
 * Turn whatever a transfer threw into a typed, coded error. Local faults (disk, journal) are not
 * the transfer's: see `sinks/local-faults.ts`.
 */
export function classify(error: unknown, url: string, options: ResolvedOptions): ImgpullError {
  const e = classified(error, url, options)
  // A raw error (a refused connection at a redirect's target) keeps the URL last asked, as a typed one does.
  e.finalUrl ??= finalUrlOf(error)
  return e
}

function classified(error: unknown, url: string, options: ResolvedOptions): ImgpullError {
  if (error instanceof ImgpullError) return error
  const code = errorCode(error)
  // The name refused: a link's or a rename's is its destination, not the part file it starts from.
  const { path, dest } = (error ?? {}) as { path?: string; dest?: string }
  if (path !== undefined && NAME_REFUSED.has(code)) {
    // The file system, not the network: the same name fails the same way until it changes.
    return new ImgpullError(
      'bad-name',
      `cannot save ${url} as ${dest ?? path}: ${(error as Error).message}`,
      {
        cause: error,
      },
    )
  }
  // After a redirect, the certificate or the proxy that failed is the hop's, not the job URL's.
  const hop = hopOf(error)
  const at = hop ? shownUrl(hop) : url
  const route = routeOf(at, options)
  const via = route?.proxy && shownProxy(route.proxy)
  // The host that did not resolve, answer or connect is the hop's: a short link's own host works.
  const where = hop ? `${at} (redirected from ${url})` : url
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new TimeoutError('connect', options.connectTimeout, where, via, false, stalled(error, at, route))
    case 'UND_ERR_HEADERS_TIMEOUT':
      // A request never sent: its connection (through a proxy, its tunnel) was still opening.
      return new TimeoutError(
        'headers',
        options.headersTimeout,
        where,
        via,
        unanswered(error),
        stalled(error, at, route),
      )
    case 'UND_ERR_BODY_TIMEOUT':
      return new TimeoutError(
        'idle',
        options.idleTimeout,
        where,
        via,
        unanswered(error),
        (error as { [BODY_STALL]?: string })[BODY_STALL],
      )
  }
  // undici's SOCKS5 agent gives a proxy that does not answer its handshake 5 s: silence, as a
  // timeout is (a silent proxy is given up for the run, see ProxySilence), not a refusal in words.
  if (route?.proxy && isSocks(route.proxy) && SOCKS_SILENT.test((error as Error | undefined)?.message ?? ''))
    return new TimeoutError('connect', SOCKS_TIMEOUT_MS, where, via)
  const proxied =
    route?.proxy &&
    !flagged(error, HERE) &&
    proxyError(error, code, at, route.target, route.proxy, turnedAway(error) && !unanswered(error))
  if (proxied) return proxied
  if (outOfDescriptors(error)) {
    // Local, whatever the call: a socket or a part file (see `outOfDescriptors`).
    const message = `cannot open a connection or a file for ${where}: too many open files (${code}); raise \`ulimit -n\` or lower --concurrency`
    return new ImgpullError('network', message, { cause: error, retryable: true })
  }
  if (DNS_PERMANENT.has(code)) {
    // A placeholder name (the README's `images.example`) is said as one: no network will find it.
    // The host without its port: reservedNameWords reads the name's last label.
    // Such a name is no passing fault: a plain rerun leaves it (see `notFoundCode`).
    const host = hostOf(at).replace(/:\d+$/, '')
    return new ImgpullError(
      notFoundCode(host, hop !== undefined),
      `host not found for ${where}${reservedNameWords(host)}${blockedWords(error)}`,
      {
        cause: error,
      },
    )
  }
  // The same certificate, or the same handshake, fails the same way on every attempt. A TLS error
  // after the handshake that names no failure of it (a record that does not decrypt or parse: a
  // middlebox or a flaky link corrupting bytes) is the connection's, as a reset is; an alert about
  // the handshake stays one (a TLS 1.3 server asks for a client certificate only after it).
  // Through an https:// proxy, TLS is spoken to the proxy too: for an http:// URL to it alone;
  // for an https:// URL, the connection to the proxy says whether it failed there (see `atProxy`).
  const proxy = route?.proxy?.protocol === 'https:' ? route.proxy : undefined
  const proxyOnly = proxy && (route?.target.protocol === 'http:' || flagged(error, AT_PROXY))
  // A client certificate is shown image hosts alone, never a proxy.
  const sent = options.clientCert === undefined ? 'none' : proxyOnly ? 'proxy' : 'sent'
  const problem = tlsProblem(error, sent)
  const tls = problem?.unnamed && afterHandshake(error) ? undefined : problem
  if (tls) {
    // A certificate refused through an HTTP proxy's tunnel: most often a company proxy that
    // inspects TLS, showing certificates of its own CA (the one --ca-cert wants), not the server's;
    // not said of a certificate no CA makes good (expired, for another name, too weak).
    const inspected =
      tls.certificate &&
      !tls.advice &&
      route?.proxy?.protocol === 'http:' &&
      route.target.protocol === 'https:'
        ? route.proxy
        : undefined
    if (route?.proxy && route.target.protocol === 'https:' && tls.words === NOT_TLS && !proxy) {
      // The tunnel carried something else than the image host's TLS: the proxy answered itself.
      const message =
        `TLS: cannot talk to ${route.target.host} securely through the proxy ${shownProxy(route.proxy)}: ` +
        "what came back through the proxy's tunnel is not TLS (the proxy may answer by itself, with a block or login page)" +
        (hop ? ` (redirected from ${url})` : '')
      return new ImgpullError('tls', message, { cause: error })
    }
    // A handshake refused (an alert) through a proxy's tunnel: a proxy that filters TLS by the
    // name a client hello carries refuses so in the server's place, and the failure named the
    // server alone, as if the proxy were not there.
    const filtered =
      !tls.certificate && !proxyOnly && route?.proxy && route.target.protocol === 'https:' && peerAlert(error)
        ? route.proxy
        : undefined
    const message =
      (proxyOnly ? tlsMessage(shownProxy(proxy), tls, true) : tlsMessage(at, tls)) +
      (inspected
        ? ` (through the proxy ${shownProxy(inspected)}: one that inspects TLS signs with its own CA, the one to trust)`
        : '') +
      (filtered
        ? ` (through the proxy ${shownProxy(filtered)}: one that filters TLS may have refused it in the server's place)`
        : '') +
      (hop ? ` (redirected from ${url})` : '')
    // The proxy's own: every request through it meets the same (ProxySilence gives it up).
    return new ImgpullError('tls', message, { cause: proxyOnly ? coded(PROXY_TLS, error) : error })
  }
  if (answeredInTls(error)) {
    const message = `TLS: ${hostOf(at)} answered in TLS to a plain http:// request: is the URL meant to be https://? (${where})`
    return new ImgpullError('tls', message, { cause: error })
  }
  const network = new NetworkError(where, error, via, turnedAway(error), unanswered(error))
  // A server may refuse a client certificate by closing the connection, no alert said (Node's
  // https servers do, under TLS 1.2 in the handshake, under 1.3 after it): one closed so, with
  // one sent, says it may be that. Retried all the same: a loaded server closes so too.
  if (sent === 'sent' && route?.target.protocol === 'https:' && (turnedAway(error) || handshakeCut(error)))
    network.message += `; the server may have refused the client certificate of --cert (${MAY_REFUSE})`
  return network
}

/**
 * Whether `error` (or one it wraps) is a TLS alert the other side sent (`ERR_SSL_TLSV1_ALERT_…`,
 * `ERR_SSL_SSLV3_ALERT_…`, OpenSSL 3.2's `SSL/TLS alert …`), not a refusal of this side's own.
 */
function peerAlert(error: unknown): boolean {
  for (const e of causes<{ code?: string; message?: string }>(error)) {
    if (
      /_ALERT_|UNRECOGNIZED_NAME/.test(e.code ?? '') ||
      (e.code === 'EPROTO' && /alert/i.test(e.message ?? ''))
    )
      return true
  }
  return false
}

/** Who closes a connection over a client certificate refused without a word. */
const MAY_REFUSE = 'some servers, Node.js ones among them, close the connection so, without a TLS alert'

/** What a timeout's connection stalled at, in words (see connect-stage.ts), where it was noted. */
function stalled(
  error: unknown,
  at: string,
  route: ReturnType<typeof routeOf>,
  total = false,
): string | undefined {
  const proxy = route?.proxy && { url: route.proxy.href, itself: flagged(error, AT_PROXY) }
  return connectStageWords(connectStageOf(error), at, proxy, total)
}

/**
 * Where the total timeout cut a request before its head, in the words the connect and headers
 * timeouts use (the stage noted by send.ts): `url` is the job's, the stage may be a redirect's.
 */
export function totalCutWords(error: unknown, url: string, options: ResolvedOptions): string | undefined {
  const hop = hopOf(error)
  const at = hop ? shownUrl(hop) : url
  return stalled(error, at, routeOf(at, options), true)
}

const HOP = Symbol('hop')
const BODY_STALL = Symbol('body stall')

/**
 * Note on a body's idle timeout where the body stopped, in words (`the body stopped after 10000 of
 * 20000 bytes`, `no byte of the body came after the head`): curl says `with N out of M bytes
 * received`; a bare "idle timeout" left a head that came alone and a body cut at 99 % alike.
 */
export const bodyStalledAt = (error: unknown, words: string): unknown =>
  error && typeof error === 'object' ? Object.assign(error, { [BODY_STALL]: words }) : error
const AT_PROXY = Symbol('at proxy')

/**
 * Mark `error` as one of the connection to the proxy itself (its TCP or TLS handshake, before any
 * tunnel): through an https:// proxy, a TLS failure is then the proxy's, not the image host's.
 * Returns `error`.
 */
export const atProxy = (error: unknown): unknown => flag(error, AT_PROXY)

/** Whether `error` is marked as the proxy's own (see `atProxy`). */
export const isAtProxy = (error: unknown): boolean => flagged(error, AT_PROXY)
const HERE = Symbol('looked up here')

/**
 * Mark `error` as the lookup of the host's name in this process before a `socks5://` proxy was
 * asked for its address: the host's failure (`host not found`), not the proxy's. Returns `error`.
 */
export const lookedUpHere = (error: unknown): unknown => flag(error, HERE)
const DOOR = Symbol('door')
const RESUME = Symbol('resume')

/**
 * Mark `error` as a resume (a request with `Range`) that brought not a byte of the file: the
 * server took the request and gave no answer that can be read (the connection closed or reset,
 * silence past `--headers-timeout`, a head undici refuses: see `noAnswer` in send.ts), or a
 * head and then no byte past those on disk (closed, or silent past `--idle-timeout`). A firewall
 * or proxy that drops requests with Range, or a range handler that fails after its head, does that
 * to every resume, as a CDN that answers Range with 500 does: see `refusesRange`. Returns `error`.
 */
export const nothingResumed = (error: unknown): unknown => flag(error, RESUME)

const unanswered = (error: unknown) => flagged(error, RESUME)

/**
 * Mark `error` as a connection the server turned away before any answer (see `isTurnedAway` in
 * send.ts): a complaint of the host, as a timeout is. Returns `error`.
 */
export const atDoor = (error: unknown): unknown => flag(error, DOOR)

const turnedAway = (error: unknown) => flagged(error, DOOR)

/** Set `key` on `error` (an object), hidden from its enumeration, once. Returns `error`. */
function flag(error: unknown, key: symbol): unknown {
  if (error && typeof error === 'object' && !(key in error))
    Object.defineProperty(error, key, { value: true, enumerable: false })
  return error
}

const flagged = (error: unknown, key: symbol) =>
  !!error && typeof error === 'object' && (error as Record<symbol, unknown>)[key] === true

/**
 * Mark `error` with the URL of the redirect hop it happened on (when that is not the job's own),
 * so that its message names the host whose certificate or proxy failed. Returns `error`.
 */
export function atHop(error: unknown, hop: string): unknown {
  if (error && typeof error === 'object' && !(HOP in error)) {
    Object.defineProperty(error, HOP, { value: hop, enumerable: false })
  }
  return error
}

const FINAL_URL = Symbol('final url')

/**
 * `error` with `url`, the URL last asked after redirects (a hop that failed), as the failure's
 * `finalUrl`: an `ImgpullError`'s own field, a raw error's hidden mark that `classify` carries
 * to the typed error it makes. Returns `error`.
 */
export function withFinalUrl(error: unknown, url: string): unknown {
  if (error instanceof ImgpullError) error.finalUrl ??= url
  // A frozen error (a library's shared one) takes no mark: the failure is said as it was.
  else if (error && typeof error === 'object' && !(FINAL_URL in error) && Object.isExtensible(error))
    Object.defineProperty(error, FINAL_URL, { value: url, enumerable: false })
  return error
}

/** The URL last asked after redirects that `error` carries (see `withFinalUrl`), if any. */
export const finalUrlOf = (error: unknown): string | undefined =>
  error instanceof ImgpullError
    ? error.finalUrl
    : error && typeof error === 'object'
      ? (error as { [FINAL_URL]?: string })[FINAL_URL]
      : undefined

function hopOf(error: unknown): string | undefined {
  return error && typeof error === 'object' ? (error as { [HOP]?: string })[HOP] : undefined
}

/** Connecting failed: with a proxy in the way, it is the proxy that could not be reached. */
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
])

/** The URL a request went to, and the proxy it went through (if any), under the run's proxy plan. */
function routeOf(url: string, options: ResolvedOptions): { target: URL; proxy: URL | undefined } | undefined {
  try {
    const target = new URL(url)
    return { target, proxy: proxyFor(target, proxyPlan(options.proxy)) }
  } catch {
    return undefined
  }
}

/** A failure of `proxy`, on the way to `url` (refused, unreachable, or a tunnel it would not open). */
function proxyError(
  error: unknown,
  code: string,
  url: string,
  target: URL,
  proxy: URL,
  /** A new connection closed or reset before any answer, not to a resume (see `atDoor`). */
  atDoor: boolean,
): ImgpullError | undefined {
  const shown = shownProxy(proxy)
  const message = (error as Error | undefined)?.message ?? ''
  if (isSocks(proxy)) {
    const socks = socksError(code, message, `proxy ${shown}`, target, !!(proxy.username || proxy.password))
    if (socks) return new ImgpullError('proxy', socks.message, { retryable: socks.retryable, cause: error })
  } else {
    // An answer that is no HTTP at all is the proxy's: its answer to a CONNECT (tagged so by
    // proxy-router.ts; bytes inside the tunnel are the server's), or to a plain request, whose
    // status line a proxy always writes itself. A SOCKS or TLS-only proxy given as http://.
    const data = code === PROXY_NOT_HTTP || target.protocol === 'http:' ? notHttpAnswer(error) : undefined
    if (data !== undefined)
      return new ImgpullError(
        'proxy',
        `proxy ${shown} does not answer as an HTTP proxy (${notHttpWords(data, proxy)})`,
        { retryable: false, cause: coded(PROXY_NOT_HTTP, error) },
      )
    // A plain request's connection is the proxy's: closed before a word, it is the proxy that
    // closed it (its rules, its load, or a SOCKS proxy given as http://: see ProxySilence), as a
    // CONNECT closed unanswered is. A resume keeps its `network` (see `refusesRange`).
    if (target.protocol === 'http:' && atDoor && closedOrReset(error))
      return new ImgpullError(
        'proxy',
        `proxy ${shown} ${code === 'ECONNRESET' ? 'reset' : 'closed'} the connection without answering the request for ${url}`,
        {
          retryable: true,
          cause: coded(PROXY_CLOSED, error),
        },
      )
  }
  if (code === PROXY_CLOSED) {
    // Overloaded, restarting, or dropping what its rules forbid without a word: another try may pass.
    // A reset said as one (see `resetAtConnect`, proxy-router.ts): a clean close is no reset.
    const how = errorCode((error as Error).cause) === 'ECONNRESET' ? 'reset' : 'closed'
    return new ImgpullError(
      'proxy',
      `proxy ${shown} ${how} the connection without answering the CONNECT to ${target.host}`,
      { retryable: true, cause: error },
    )
  }
  // A CONNECT refused carries its status (see `TunnelRefused`); undici's own 407 to an http://
  // URL's request says it in words only.
  const refusal = code === TUNNEL_REFUSED ? (error as TunnelRefused) : undefined
  const n =
    refusal?.status ??
    (code === 'UND_ERR_INVALID_ARG' && /^Proxy Authentication Required \(407\)$/.test(message)
      ? 407
      : undefined)
  if (n !== undefined) {
    // A 401 to a CONNECT is the proxy's own ask for credentials, miswritten (RFC 9110 §15.5.8 has
    // a proxy answer 407): a CONNECT reaches no server that could ask. wstunnel answers a CONNECT
    // without credentials so (erebe/wstunnel#544), tinyproxy one with wrong ones (tinyproxy#532);
    // it was said as `would not open a tunnel to HOST (HTTP 401)`, no word of credentials.
    const login = n === 407 || (n === 401 && refusal !== undefined)
    const status = n === 401 ? 'HTTP 401, where a proxy answers 407' : 'HTTP 407'
    const basic = 'imgpull sends Basic credentials only, not Digest, NTLM or Negotiate'
    // A redirect's target (a captive portal's sign-in page) is what the user must open: its
    // words are the proxy's, shown without credentials or terminal controls.
    const pointed = refusal?.location ? `, pointing to ${quoted(shownUrl(refusal.location))}` : ''
    const said = `${pointed}${refusal?.said ? `, ${refusal.said}` : ''}`
    // A proxy that takes Windows sign-ins only (NTLM, Negotiate): no credentials in the URL help.
    // A plain request's 407 has them on undici's error (see `withAuthSchemes`).
    const schemes = refusal?.schemes ?? (error as { schemes?: string[] }).schemes ?? []
    // Squid's default rules refuse a CONNECT to any port but 443 (`http_access deny CONNECT
    // !SSL_ports`), and many company proxies copy them: an image host on :8443 met a bare 403.
    const port = Number(target.port) || 443
    const sslPorts =
      n === 403 && port !== 443
        ? `; many proxies open tunnels to port 443 alone (Squid's default rules: http_access deny CONNECT !SSL_ports), and this one is to port ${port}`
        : ''
    const retryable = n >= 500 || retryableStatus(n)
    // The wait a rotating proxy past its limit names (Retry-After, RFC 9110 §10.2.3): honoured as a
    // server's is, up to --max-retry-after; only the own backoff was waited, and its retries were
    // refused the same way, every file failing for good while the proxy had said when to come back.
    const wait = (retryable && refusal?.wait) || {}
    const asked =
      wait.retryAfter !== undefined
        ? `, asking for a wait of ${duration(wait.retryAfter)} (${wait.waitFrom})`
        : ''
    const words = !login
      ? `would not open a tunnel to ${target.host} (HTTP ${n}${said}${asked})${sslPorts}`
      : schemes.length > 0 && !schemes.some((s) => s.toLowerCase() === 'basic')
        ? `asks for ${schemes.join(' or ')} authentication (${status}), which imgpull cannot answer: it sends Basic credentials only (a local relay such as cntlm or px can sign in for it)`
        : proxy.username || proxy.password
          ? `refused the credentials of its URL (${status}): check them (${basic})`
          : `asks for credentials (${status}): give them in the proxy URL, http://user:password@host:port (${basic})`
    const gateway = n >= 502 && n <= 504
    return new ImgpullError('proxy', `proxy ${shown} ${words}`, {
      // A 408 or 429 is passing as it is from a server (RFC 9110 §15.5.9, RFC 6585 §4): a proxy's
      // own limit of requests or connections (a rotating proxy's, feeds.fun#387), not retried
      // before, so every file through it failed for good at its first refusal.
      retryable,
      ...wait,
      cause:
        n === 501
          ? coded(PROXY_501, error)
          : n === 400
            ? coded(PROXY_400, error)
            : login
              ? coded(PROXY_AUTH, error)
              : n === 429
                ? coded(PROXY_LIMIT, error)
                : error,
      ...(gateway ? { gateway: { status: n, tunnel: true, said: refusal?.said } } : {}),
    })
  }
  if (CONNECT_FAILURES.has(code)) {
    return new ImgpullError('proxy', `cannot reach proxy ${shown} (${code}) for ${url}`, {
      // A proxy's name that does not resolve (`--proxy prxy`) fails at once, as a host's does.
      retryable: !DNS_PERMANENT.has(code),
      cause: error,
      // A proxy restarting is waited out as a host is (see REFUSED_LEAST), before it is given up (see ProxySilence.unreachable).
      refused: code === 'ECONNREFUSED',
    })
  }
  return undefined
}

/** `error` under a code of imgpull's (kept when a transfer thread sends the failure over: see `serializeError`). */
export const coded = (code: string, error: unknown): Error =>
  Object.assign(new Error((error as Error | undefined)?.message ?? String(error), { cause: error }), { code })

/** undici's words for a SOCKS5 proxy silent past its fixed timer (socks5-proxy-agent.js), and that timer. */
const SOCKS_SILENT = /^SOCKS5 (authentication|connection) timeout$/
const SOCKS_TIMEOUT_MS = 5000

/** SOCKS5 replies (RFC 1928 §6) after which the same request may work later. */
const SOCKS_TRANSIENT = new Set([1, 3, 4, 5, 6])

/**
 * What a SOCKS5 proxy's failure means (undici's `UND_ERR_SOCKS5_*` codes and messages): the proxy
 * refused the credentials or wants some, could not reach the host (its reply code, RFC 1928 §6),
 * does not speak SOCKS5, or did not answer in time. Pure; `undefined` for anything else.
 */
export function socksError(
  code: string,
  message: string,
  proxy: string,
  target: URL,
  /** Whether the proxy URL carries credentials. */
  withCredentials = false,
): { message: string; retryable: boolean } | undefined {
  const credentials = 'give them in the proxy URL, socks5://user:password@host:port'
  if (code === 'UND_ERR_SOCKS5_AUTH_METHOD')
    return {
      message: `${proxy} wants a way to log in imgpull does not speak (${message}; only none and user/password are)`,
      retryable: false,
    }
  if (code === 'UND_ERR_SOCKS5_AUTH_REJECTED' && withCredentials)
    return {
      message: `${proxy} accepts none of the ways to log in imgpull offers (none, user/password)`,
      retryable: false,
    }
  if (code === 'UND_ERR_SOCKS5_AUTH_FAILED')
    return {
      message: `${proxy} refused the credentials (RFC 1929): check those in the proxy URL`,
      retryable: false,
    }
  if (code === 'UND_ERR_SOCKS5_AUTH_REJECTED' || /Username and password required/.test(message))
    return { message: `${proxy} asks for credentials: ${credentials}`, retryable: false }
  if (code === SOCKS_CLOSED)
    // Some proxies close so when they cannot reach the host, as one restarting does: try again.
    return {
      message: `${proxy} closed the connection before the SOCKS5 tunnel to ${target.host} was open`,
      retryable: true,
    }
  const reply = /^UND_ERR_SOCKS5_REPLY_(\d+)$/.exec(code)
  if (reply) {
    const n = Number(reply[1])
    const why = message.replace(/^SOCKS5 connection failed: /, '')
    return {
      message: `${proxy} could not connect to ${target.host} (SOCKS5 reply ${n}: ${why})`,
      retryable: SOCKS_TRANSIENT.has(n),
    }
  }
  if (code.startsWith('UND_ERR_SOCKS5'))
    return { message: `${proxy} does not answer as a SOCKS5 proxy (${message})`, retryable: false }
  if (/^SOCKS5 (authentication|connection) timeout$/.test(message))
    return { message: `${proxy} did not answer in time (${message})`, retryable: true }
  return undefined
}
