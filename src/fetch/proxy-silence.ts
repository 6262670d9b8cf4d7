import type { ConnectionOptions } from 'node:tls'
import { errorCode, type GatewayAnswer, handshakeCut, type ImgpullError } from '../errors.js'
import type { GivenUp } from './given-up.js'
import { lengthens, type Silence } from './host-silence.js'
import {
  answersItself,
  otherSpeech,
  PROXY_400,
  PROXY_501,
  PROXY_NOT_HTTP,
  speaksTls,
  tlsWords,
} from './not-a-proxy.js'
import {
  isSocks,
  PROXY_AUTH,
  PROXY_CLOSED,
  PROXY_TLS,
  type ProxyPlan,
  proxyFor,
  shownProxy,
} from './proxy.js'

interface Proxy {
  /** Something came back through the proxy in this run: a status, a body, a refusal in words. */
  heard: boolean
  /** Requests through it in a row cut by the connect or headers timeout. */
  unheard: Silence
  givenUp?: GivenUp
  /** It is given up for refusing the run's credentials (see `refusal`). */
  login?: boolean
  /** What speaks at its address instead (SOCKS5, TLS), in words; asked once (see `refusal`). */
  other?: Promise<string | undefined>
  /** Whether it speaks TLS, in words, asked once on a 400 (see `refusal`). */
  tls?: Promise<string | undefined>
  /** The 4xx statuses to http:// URLs found to be its own (see `ownAnswer`), asked once each. */
  own: Map<number, Promise<string | undefined>>
  /** Hosts that answered through it in this run (two at most: enough for `gatewayGivesUp`). */
  answered: Set<string>
  /** Per host that has answered nothing through it: files failed for good on its 502/503/504 (see `gatewayRefused`). */
  refusedFiles: Map<string, number>
  /** Hosts given up for those (see `gatewayRefused`). */
  hostsGivenUp: Map<string, GivenUp>
  /** Files failed for good on connections to it reset or closed before any answer, none answered (see `unreachable`). */
  closedFiles?: number
}

/** Files of one host that fail for good on an HTTP proxy's 502/503/504 before the host is given up (see `gatewayGivesUp`). */
export const GATEWAY_FILES = 3

/**
 * Whether an HTTP proxy's 502/503/504 (to the CONNECTs for one host, or to its http:// URLs'
 * requests) say the host is out of reach. Ambiguous each (Squid answers 503 both for a refused
 * connection and for its own overload; an http:// URL's 502 may be the server's), so only once
 * `files` of the host's files have spent their retries on it, none answered, while the proxy
 * served `otherHosts` other hosts in the run (it is not the proxy that is down); `told`: the
 * proxy said it could not reach the host (see `toldOutOfReach`), as definite as a direct
 * refusal, so once a file has spent its retries, as a direct host is given up. Pure,
 * table-tested (test/policies.test.ts).
 */
export function gatewayGivesUp(files: number, otherHosts: number, told = false): boolean {
  return told ? files >= 1 : files >= GATEWAY_FILES && otherHosts > 0
}

/**
 * Whether an HTTP proxy may have written `gateway`'s status itself, for want of reaching the host:
 * one it says it wrote (`said`), a 502 or 504 (a gateway's words for a host it could not reach),
 * and a 503 to a CONNECT (Squid's for a refused connection). An http:// URL's bare 503 is taken
 * as the server's (overloaded, or asking for a wait): Squid says its own (`X-Squid-Error`).
 */
export const proxyMayHaveWritten = (gateway: GatewayAnswer): boolean =>
  gateway.said !== undefined ||
  gateway.status === 502 ||
  gateway.status === 504 ||
  (gateway.tunnel && gateway.status === 503)

/**
 * Whether an error status came from the host itself: through a tunnel (no `gateway`), or to an
 * http:// URL unless the proxy may have written it (see `proxyMayHaveWritten`): a proxy's own
 * answer says nothing of the host, and counted as the host's it made a dead host look alive.
 */
export const fromHost = (gateway: GatewayAnswer | undefined): boolean =>
  !gateway || !proxyMayHaveWritten(gateway)

/**
 * Whether `error` is a tunnel the proxy opened (its 2xx to the CONNECT, or a SOCKS5 success) that
 * closed before the server's first TLS byte: a proxy that answers before it has reached the host
 * (Apache Traffic Server's 200 once its SYN is sent: apache/trafficserver#7677), then closes the
 * tunnel the host refused. Counted as that proxy's 502 is (see `gatewayRefused`).
 */
const tunnelClosed = (error: ImgpullError): boolean => error.code === 'network' && handshakeCut(error.cause)

/** RFC 9209 §2.3 error types that say the proxy tried the host and could not reach it, in words. */
const STATUS_OUT_OF_REACH: Readonly<Record<string, string>> = {
  connection_refused: 'nothing listens on its port',
  dns_error: 'its name does not resolve',
  destination_ip_unroutable: 'no route to it',
  destination_unavailable: 'the proxy holds it down (recent attempts failed)',
  connection_timeout: 'it did not answer the TCP handshake',
}

/** Squid's `ERR_CONNECT_FAIL` errnos (Linux's) that say the same. */
const SQUID_ERRNO: Readonly<Record<string, string>> = {
  '111': 'nothing listens on its port',
  '113': 'no route to it',
  '101': 'no route to its network',
  '110': 'it did not answer the TCP handshake',
}

/**
 * What a proxy's own word on its error status (see `proxySaid`) says of the host, when it says
 * the proxy could not reach it: `Proxy-Status error=connection_refused` (RFC 9209),
 * `X-Squid-Error: ERR_CONNECT_FAIL 111`, `ERR_DNS_FAIL`. `undefined` for anything else (the
 * proxy's own trouble, its rules, a timeout reading an answer). Pure, table-tested.
 */
export function toldOutOfReach(said: string | undefined): string | undefined {
  const type = /^Proxy-Status error="?([\w-]+)"?$/.exec(said ?? '')?.[1]
  if (type) return STATUS_OUT_OF_REACH[type.toLowerCase()]
  const squid = /^X-Squid-Error: (ERR_\w+)(?: (\d+))?/.exec(said ?? '')
  if (squid?.[1] === 'ERR_DNS_FAIL') return 'its name does not resolve'
  if (squid?.[1] === 'ERR_CONNECT_FAIL') return SQUID_ERRNO[squid[2] ?? '']
  return undefined
}

/** SOCKS5 refusals of the run's credentials, or of its want of any (undici's codes). */
const SOCKS_LOGIN = new Set([
  'UND_ERR_SOCKS5_AUTH_METHOD',
  'UND_ERR_SOCKS5_AUTH_REJECTED',
  'UND_ERR_SOCKS5_AUTH_FAILED',
])

/** Whether a proxy failure is the proxy refusing the run's credentials, or asking for some (407). */
const refusesLogin = (cause: string, message: string) =>
  cause === PROXY_AUTH || SOCKS_LOGIN.has(cause) || /Username and password required/.test(message)

/** Connect failures that say the proxy is out of reach, in words. */
const OUT_OF_REACH: Record<string, string> = {
  ECONNREFUSED: 'nothing listens on its port: is it running?',
  ENOTFOUND: 'its host name does not resolve',
  EHOSTUNREACH: 'no route to its host',
  ENETUNREACH: 'no route to its network',
}

/**
 * The proxies of a run that answered nothing: one is given up, as a silent host is (see
 * `SILENT_AFTER` and `lengthens` in host-silence.ts), after that many requests through it in a row cut by the
 * connect or headers timeout, one of them sent after the first was cut: a black hole (the proxy's
 * host gone, a firewall dropping the packets, a proxy that accepts and never answers). Every
 * request goes through it, so without this each host of the list met the same silence and was
 * given up on its own, one after another: 200 URLs on 200 hosts through a dead proxy took 15
 * timeouts and 1,517 connections (31 s at --headers-timeout 2; at the default 30 s, 8 minutes,
 * and a list of 10,000 hosts hours). A proxy that answered once never is.
 */
export class ProxySilence {
  readonly #proxies = new Map<string, Proxy>()
  /** `tls()`, once made. */
  #tls: ConnectionOptions | undefined

  constructor(
    readonly plan: ProxyPlan | undefined,
    /** The run's User-Agent, which its questions to a proxy carry too (see `answersItself`). */
    readonly userAgent = '',
    /** TLS to an https:// proxy for those questions: the run's trust (`--ca-cert`, `--insecure`), made when first asked. */
    readonly tls: () => ConnectionOptions = () => ({}),
  ) {}

  /**
   * Something came back from `origin` through its proxy (if it has one); `fromHost`: from the host
   * itself (a file served, or a status through a tunnel), not a status the proxy may have written.
   */
  heard(origin: string, fromHost = true): void {
    const state = this.#state(origin)
    if (!state) return
    state.heard = true
    if (fromHost) {
      if (state.answered.size < 2) state.answered.add(origin)
      state.refusedFiles.delete(origin)
    }
    if (state.login) {
      state.givenUp = undefined
      state.login = false
    }
  }

  /** A request to `origin`, sent at `sentAt` (performance.now()), was cut by the connect or headers timeout. */
  unanswered(origin: string, sentAt: number): void {
    const proxy = this.#proxy(origin)
    const state = proxy && this.#state(origin)
    if (!proxy || !state || state.heard || !lengthens(state.unheard, sentAt, performance.now())) return
    state.givenUp ??= {
      code: 'proxy',
      why: `the proxy ${shownProxy(proxy)} answered none of the ${state.unheard.count} requests this run sent through it (each cut by the connect or headers timeout)`,
    }
  }

  /**
   * A `proxy` failure through the proxy of `origin`: when it shows the proxy is no HTTP proxy, the
   * proxy is given up for the run (every request through it would fail so) and the words the
   * failure's message ends with are returned. An answer that is no HTTP says so at once; a request
   * closed unanswered, by a proxy never heard from, asks the proxy once whether it speaks SOCKS5
   * or TLS (a SOCKS5 server closes an HTTP request without a word: `ssh -D`, Dante, microsocks;
   * so does a TLS-only one, an https:// proxy given as http://: psf/requests#1622), and so
   * does a `501 Not Implemented` from the proxy (Tor's SOCKS port). A `tls` failure with an
   * https:// proxy itself (`PROXY_TLS`: its certificate refused, or a plain HTTP proxy given as
   * https://) gives up one never heard from too: each of 2,000 files opened a connection to it and
   * failed so, one line each (11 s; a list of a million, hours). Any other refusal is the proxy
   * heard from.
   */
  async refusal(origin: string, error: ImgpullError): Promise<string | undefined> {
    const proxy = this.#proxy(origin)
    const state = proxy && this.#state(origin)
    if (!proxy || !state) return undefined
    const cause = errorCode(error.cause)
    if (cause === PROXY_TLS) {
      if (state.heard || state.givenUp) return undefined
      state.givenUp = { code: error.code, why: error.message }
      return "; the proxy's other files are not sent to it in this run"
    }
    if (error.code === 'proxy' && refusesLogin(cause, error.message)) {
      // The run's credentials are the same in every request: each would be refused so, and a
      // company proxy counts the wrong ones against the account (a lockout). Not a proxy that
      // has let requests through (a rotating one's 407 now and then: nuclei#5189), and taken
      // back when one it let through comes back after all (see `heard`).
      if (state.heard || state.givenUp) return undefined
      state.givenUp = { code: 'proxy', why: `the ${error.message}` }
      state.login = true
      return "; the proxy's other files are not sent to it in this run"
    }
    if (isSocks(proxy)) return undefined
    if (cause === PROXY_NOT_HTTP) {
      state.givenUp ??= { code: 'proxy', why: `the ${error.message}` }
      return undefined
    }
    // A 501 written by the proxy: to a CONNECT, or to a plain request (an https:// URL's comes
    // from the server, through the tunnel). Tor's SOCKS port answers HTTP so. A 400 the same way:
    // a TLS server's to a plain request (Go's, nginx's), which others close without a word.
    const plain = origin.startsWith('http:')
    const notImplemented = cause === PROXY_501 || (error.code === 'http-501' && plain)
    const badRequest = cause === PROXY_400 || (error.code === 'http-400' && plain)
    if (!notImplemented && !badRequest && (cause !== PROXY_CLOSED || state.heard)) {
      // Out of reach is no word from it (see `unreachable`).
      if (error.code === 'proxy' && !OUT_OF_REACH[cause]) state.heard = true
      return undefined
    }
    // A 400 is HTTP: only a TLS server's, in plain, says it is no plain proxy (no SOCKS5 server
    // answers so, and a plain proxy holds a SOCKS5 greeting to the question's end, 2 s).
    if (badRequest) state.tls ??= speaksTls(proxy).then((yes) => (yes ? tlsWords(proxy) : undefined))
    else state.other ??= otherSpeech(proxy)
    const words = await (badRequest ? state.tls : state.other)
    if (!words) {
      // A proxy that speaks neither, its 400 said in HTTP, is heard from.
      if (cause === PROXY_400) state.heard = true
      return undefined
    }
    state.givenUp ??= {
      code: 'proxy',
      why: `the proxy ${shownProxy(proxy)} is no HTTP proxy (${words})`,
    }
    return ` (${words})`
  }

  /**
   * A 4xx (`status`) to the http:// URL `url` through an HTTP(S) proxy: when the proxy wrote it itself
   * (see `answersItself`: a web server or a CONNECT-only proxy given as the proxy), the words the
   * failure's message ends with. Such a 404 or 405 says nothing of the image, and recorded as the
   * server's it is permanent: a rerun once the proxy is fixed would skip it. Asked once a status.
   */
  async ownAnswer(url: string, status: number): Promise<string | undefined> {
    const target = new URL(url)
    const proxy = this.#proxy(target.origin)
    const state = proxy && this.#state(target.origin)
    if (!proxy || !state || target.protocol !== 'http:' || isSocks(proxy)) return undefined
    let own = state.own.get(status)
    if (!own) {
      own = answersItself(proxy, target, status, this.userAgent, () => (this.#tls ??= this.tls()))
      state.own.set(status, own)
    }
    // Its TLS to an https:// proxy could not be made for want of a descriptor: nothing to add now.
    const line = await own.catch(() => {
      state.own.delete(status)
      return undefined
    })
    return line
      ? `: the proxy wrote it itself, as it does for a host that does not exist (a web server, or a proxy that only tunnels https:// URLs with CONNECT, not one that forwards http:// requests); check --proxy or HTTP_PROXY`
      : undefined
  }

  /**
   * A file through the proxy of `origin` failed for good (its retries spent) with `error`: when
   * that is the proxy out of reach (nothing listening on its port, its name unknown, no route to
   * it) and the proxy has answered nothing this run, it is given up for the run. A proxy that is
   * not running (cntlm, an `ssh -L` tunnel, a VPN's proxy left in `HTTPS_PROXY`) refuses every
   * connection: each file spent its own retries on it, 2,000 URLs took 29 s and printed the same
   * line for each, a list of a million hours. The file's retries outlast a proxy's restart first.
   * Returns what the file's own message adds when it gives the proxy up.
   */
  unreachable(origin: string, error: ImgpullError): string | undefined {
    const proxy = this.#proxy(origin)
    const state = proxy && this.#state(origin)
    const code = errorCode(error.cause)
    if (!proxy || !state || state.heard || state.givenUp || error.code !== 'proxy') return undefined
    // A proxy that resets or closes every connection before any answer (a firewall in front of
    // it that blocks this machine, a proxy that takes no client of its address: squid's
    // `http_access deny` with `deny_info TCP_RESET`): each file spent its retries on it, 100
    // files took 600 connections. Once `GATEWAY_FILES` have, as a host is (see `turnedAway`).
    if (code === PROXY_CLOSED) {
      state.closedFiles = (state.closedFiles ?? 0) + 1
      if (state.closedFiles < GATEWAY_FILES) return undefined
      const words = `it closed or reset every connection before any answer, ${GATEWAY_FILES} files' retries included`
      state.givenUp = {
        code: 'proxy',
        why: `no request this run was answered by the proxy ${shownProxy(proxy)}: ${words}`,
      }
      return words
    }
    if (!OUT_OF_REACH[code]) return undefined
    const words = OUT_OF_REACH[code]
    state.givenUp = {
      code: 'proxy',
      why: `no request this run reached the proxy ${shownProxy(proxy)} (${words})`,
    }
    return words
  }

  /**
   * A file to `origin` through an HTTP proxy failed for good (its retries spent) with `error`:
   * when that is the proxy's 502/503/504 (to its CONNECT, or to an http:// URL's request), or a
   * tunnel it opened and closed before any TLS answer (see `tunnelClosed`), and `gatewayGivesUp`
   * says so, `origin` is given up for the run, through this proxy only. Returns
   * what the file's own message adds then.
   */
  gatewayRefused(origin: string, error: ImgpullError): string | undefined {
    const proxy = this.#proxy(origin)
    const state = proxy && this.#state(origin)
    const answer = error.gateway
    const closed = tunnelClosed(error)
    if (
      !proxy ||
      !state ||
      !(closed || (answer && answer.status >= 502 && answer.status <= 504 && proxyMayHaveWritten(answer)))
    )
      return undefined
    if (state.answered.has(origin) || state.hostsGivenUp.has(origin)) return undefined
    const files = (state.refusedFiles.get(origin) ?? 0) + 1
    state.refusedFiles.set(origin, files)
    const told = answer && toldOutOfReach(answer.said)
    if (!gatewayGivesUp(files, state.answered.size, told !== undefined)) return undefined
    const host = new URL(origin).host
    const [why, words] = told
      ? [`could not reach ${host}: ${told} (${answer?.said})`, `could not reach ${host} (${told})`]
      : closed || !answer
        ? Array(2).fill(
            `opened tunnels to ${host} that closed before any TLS answer, for ${files} files, while it carried answers from other hosts`,
          )
        : answer.tunnel
          ? [
              `would not open a tunnel to ${host} for ${files} files (HTTP ${answer.status}) while it opened tunnels to other hosts`,
              `would not open a tunnel to ${host} for ${files} files while it opened tunnels to other hosts`,
            ]
          : [
              `answered ${files} files of ${host} with HTTP ${answer.status} while it served other hosts`,
              `answered ${files} files of ${host} with HTTP ${answer.status} while it served other hosts`,
            ]
    state.hostsGivenUp.set(origin, { code: error.code, why: `the proxy ${shownProxy(proxy)} ${why}` })
    return `: the proxy ${words}; its other files are not tried in this run`
  }

  /** Whether a host (an origin) goes through the proxy `origin` goes through; `undefined` when that is none. */
  sameProxy(origin: string): ((host: string) => boolean) | undefined {
    const proxy = this.#proxy(origin)
    return proxy && ((host) => this.#proxy(host)?.href === proxy.href)
  }

  /** Why requests to `origin` are not sent (its proxy, or the host through it, given up for the run), or `undefined`. */
  givenUp(origin: string): GivenUp | undefined {
    if (!this.plan) return undefined
    const state = this.#proxies.get(this.#proxy(origin)?.href ?? '')
    return state?.givenUp ?? state?.hostsGivenUp.get(origin)
  }

  #proxy(origin: string): URL | undefined {
    if (!this.plan) return undefined
    try {
      return proxyFor(new URL(origin), this.plan)
    } catch {
      return undefined
    }
  }

  #state(origin: string): Proxy | undefined {
    const proxy = this.#proxy(origin)
    if (!proxy) return undefined
    let state = this.#proxies.get(proxy.href)
    if (!state) {
      state = {
        heard: false,
        unheard: { count: 0 },
        own: new Map(),
        answered: new Set(),
        refusedFiles: new Map(),
        hostsGivenUp: new Map(),
      }
      this.#proxies.set(proxy.href, state)
    }
    return state
  }
}
