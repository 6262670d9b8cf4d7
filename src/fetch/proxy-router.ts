import dns from 'node:dns'
import { EventEmitter } from 'node:events'
import { isIP, type Socket } from 'node:net'
import { errorCode } from '../errors.js'
import { unbracketed } from '../utils/url.js'
import type { IssuerFetcher } from './aia.js'
import { atProxy, coded, isAtProxy, lookedUpHere } from './classify.js'
import { markStage, stagedConnector } from './connect-stage.js'
import { serverName } from './exchange.js'
import { MAX_HEADER_BYTES } from './header-limits.js'
import { nameMismatchFailsAll } from './name-mismatch.js'
import { PROXY_NOT_HTTP } from './not-a-proxy.js'
import { originFactory } from './origin-pool.js'
import { withPeerChain } from './peer-chain.js'
import {
  authSchemes,
  isSocks,
  PROXY_CLOSED,
  type ProxyPlan,
  proxyFor,
  proxySaid,
  TunnelRefused,
} from './proxy.js'
import { readRefusal } from './rate-limit-headers.js'
import type { Lookup } from './shared-lookup.js'
import { TunnelLineEnds } from './tunnel-line-ends.js'
import { Agent, buildConnector, type Dispatcher, kDispatch, Pool } from './undici.js'
import { loadProxyAgents, type ProxyAgents } from './undici-proxy.js'
import { basicToken, urlCredentials } from './url-credentials.js'

/** What every connection needs, direct or through a proxy. */
export interface ConnectionSettings {
  /** undici `Agent` options shared by every pool (keep-alive, HTTP/2...). */
  agent: Record<string, unknown>
  /** TLS settings towards image hosts (and towards an https:// proxy), but whom to trust (`trust`). */
  tls: Record<string, unknown>
  /**
   * The TLS context of the certificates trusted beyond Node's own (see `trustedContext`), made on
   * first call (the first https:// connection, or proxy), or `undefined` for Node's own store.
   */
  trust: () => import('node:tls').SecureContext | undefined
  /**
   * The TLS context towards image hosts: `trust`'s, with the client certificate (`clientCert`)
   * where one is given. A proxy is never shown it: it is the image host's to ask for (curl's
   * `--cert`; `--proxy-cert` is another).
   */
  originTrust: () => import('node:tls').SecureContext | undefined
  /** Issuers a server left out, fetched from where its certificate says and trusted then (see aia.ts). */
  issuers: IssuerFetcher
  http2: boolean
  /** Transfers at once (`--concurrency`): sizes the idle connections kept (see `idleOriginsCap`). */
  concurrency: number
  /** The `User-Agent` requests carry (`-A`, or one given with `-H`), sent with each `CONNECT` too; '' none. */
  userAgent: string
}

/** `settings.tls` with whom to trust: what a connector needs for https:// to an image host, or to a proxy. */
export function tlsWithTrust(
  settings: ConnectionSettings,
  to: 'origin' | 'proxy' = 'origin',
): Record<string, unknown> {
  const context = to === 'origin' ? settings.originTrust() : settings.trust()
  return context ? { ...settings.tls, secureContext: context } : settings.tls
}

interface Waiting {
  opts: Dispatcher.DispatchOptions
  handler: Dispatcher.DispatchHandler
}

/**
 * Sends each request direct or through its proxy, as `proxy.ts` decides from its URL. Proxies
 * use undici's `ProxyAgent`. An HTTP(S) proxy gets http:// URLs as absolute-form requests (as curl
 * does; CONNECT to port 80 is refused by many proxies) and https:// URLs through a CONNECT tunnel,
 * with the proxy URL's credentials sent as `Proxy-Authorization`. A SOCKS5 proxy tunnels every
 * URL (RFC 1928 CONNECT with the host's address looked up here for `socks5://`, with its name for
 * `socks5h://`, as curl does; RFC 1929 user/password from the URL), TLS inside for https://, over HTTP/1.1 (undici's SOCKS5 pools do not offer HTTP/2). The proxy agent's modules load with the
 * first request that needs one; requests wait for them meanwhile.
 */
export class ProxyRouter extends EventEmitter {
  readonly #agents = new Map<string, Dispatcher>()
  readonly #waiting: Waiting[] = []
  #agentsOf: ProxyAgents | undefined
  #loading: Promise<void> | undefined
  #destroyed = false

  constructor(
    readonly direct: Dispatcher,
    readonly plan: ProxyPlan,
    readonly settings: ConnectionSettings,
  ) {
    super()
  }

  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const proxy = proxyFor(new URL(String(opts.origin)), this.plan)
    if (!proxy) return this.direct.dispatch(opts, handler)
    if (!this.#agentsOf) {
      this.#waiting.push({ opts, handler })
      this.#load()
      return true
    }
    let agent: Dispatcher
    try {
      agent = this.#agentFor(proxy, serverName(new URL(String(opts.origin))).servername)
    } catch (error) {
      // Whom to trust could not be read for want of a descriptor (see `unlessShort`): the request
      // fails so, and the next one makes the agent again.
      handler.onError?.(error as Error)
      return true
    }
    return agent.dispatch(opts, handler)
  }

  async close(): Promise<void> {
    await this.#loading
    await Promise.all([this.direct.close(), ...[...this.#agents.values()].map((a) => a.close())])
  }

  async destroy(error?: Error): Promise<void> {
    this.#destroyed = true
    for (const { handler } of this.#waiting.splice(0)) handler.onError?.(error ?? new Error('destroyed'))
    await Promise.all([
      this.direct.destroy(error ?? null),
      ...[...this.#agents.values()].map((a) => a.destroy(error ?? null)),
    ])
  }

  #load(): void {
    this.#loading ??= loadProxyAgents().then(
      (agents) => {
        this.#agentsOf = agents
        for (const { opts, handler } of this.#waiting.splice(0)) {
          if (this.#destroyed) handler.onError?.(new Error('destroyed'))
          else this.dispatch(opts, handler)
        }
      },
      (error) => {
        for (const { handler } of this.#waiting.splice(0)) handler.onError?.(error)
      },
    )
  }

  /**
   * The agent for `proxy`; `servername`, a TLS server name the host's own would be wrong for (see
   * `serverName`: a host with a trailing dot), gets one of its own. Both of undici's proxy agents
   * take the tunnelled TLS server name from their static `requestTls`, never from the request, so
   * without it the dot went in the SNI, which Go's TLS servers refuse. Such hosts are
   * rare: an agent each costs little.
   */
  #agentFor(proxy: URL, servername?: string): Dispatcher {
    const key = servername === undefined ? proxy.href : `${proxy.href} ${servername}`
    let agent = this.#agents.get(key)
    if (!agent) {
      agent = isSocks(proxy) ? this.#socksAgent(proxy, servername) : this.#httpAgent(proxy, servername)
      this.#agents.set(key, agent)
    }
    return agent
  }

  #httpAgent(proxy: URL, servername: string | undefined): Dispatcher {
    const { http2, userAgent } = this.settings
    const tls = tlsWithTrust(this.settings)
    const proxyTls = tlsWithTrust(this.settings, 'proxy')
    const token = basicToken(proxy)
    const pools = originFactory(http2, this.settings.concurrency)
    // The connection to the proxy that carries http:// URLs' plain requests speaks HTTP/1.1 alone:
    // absolute-form requests are HTTP/1.1's (an https:// proxy offered HTTP/2 would take none).
    const proxyPools = originFactory(false, this.settings.concurrency)
    // undici makes the pool to the proxy for http:// URLs (absolute-form requests) with `connect`
    // alone: kept alive as every other pool, not by undici's defaults (a 2 s margin off the
    // Keep-Alive hint, not 500 ms: `timeout=2` meant a new connection to the proxy per file).
    const { keepAliveTimeout, keepAliveMaxTimeout, keepAliveTimeoutThreshold } = this.settings.agent
    const keepAlive = { keepAliveTimeout, keepAliveMaxTimeout, keepAliveTimeoutThreshold }
    const requestTls = { ...tls, allowH2: http2, ...(servername === undefined ? {} : { servername }) }
    return plainThroughTls(
      tunnelChained(
        this.settings.issuers,
        requestTls,
        new this.#agentsOf!.ProxyAgent({
          ...this.settings.agent,
          uri: proxy.href,
          ...(token ? { token } : {}),
          // The CONNECT says who asks, as curl's and wget's do: a proxy that allows traffic by client
          // answered 403 to one without (psf/requests#2708). A plain request's own header wins.
          ...(userAgent ? { headers: { 'user-agent': userAgent } } : {}),
          // http:// URLs as absolute-form requests; https:// ones always tunnel.
          proxyTunnel: false,
          // The tunnelled TLS connection offers HTTP/2 by ALPN only when its connector is told to.
          requestTls,
          proxyTls,
          factory: tunnelsFailOnce(proxy.origin, (origin, options) => {
            // The pool to the proxy itself carries http:// URLs' plain requests (see `withAuthSchemes`),
            // over TLS to an https:// proxy: its failures are the proxy's, as a tunnel's are.
            // A tunnel to a server that left out its intermediate: made again, once, with its
            // issuer fetched (through this proxy: see aia.ts).
            if (new URL(String(origin)).origin !== proxy.origin) {
              const { connect } = options as { connect?: Connect }
              return pools(origin, {
                ...keepAlive,
                ...options,
                ...(connect ? { connect: this.settings.issuers.retrying(connect, isAtProxy) } : {}),
              })
            }
            const { connect } = options as { connect?: Connect }
            return underProxyName(
              proxy,
              withAuthSchemes(
                proxyPools(origin, {
                  ...keepAlive,
                  ...options,
                  ...(connect
                    ? {
                        connect: markedAtProxy(
                          withoutIpServerName(
                            stagedConnector(
                              this.settings.issuers.retrying(
                                withPeerChain(this.#mended(connect, proxyTls)),
                                () => true,
                              ),
                              this.settings.tls,
                            ) as Connect,
                          ),
                        ),
                      }
                    : {}),
                }),
              ),
            )
          }),
          // The connection to the proxy itself: its failures are marked so (a TLS one is the proxy's).
          clientFactory: (origin: string | URL, options: { connect?: unknown }) =>
            connectsInTime(
              new Pool(origin, {
                ...options,
                // Its answers to CONNECTs read as every other answer (header-limits.ts), not to
                // Node's 16 KB: undici's proxy agent gives its pool no such option (earendil-works/pi#7791),
                // and a proxy's 20 KB head failed each https:// file as 'over 256 KB'.
                maxHeaderSize: MAX_HEADER_BYTES,
                // Its connect timeout's stage told too (lookup, TCP, TLS of the proxy: connect-stage.ts).
                connect: markedAtProxy(
                  withoutIpServerName(
                    nameMismatchFailsAll(
                      stagedConnector(
                        withPeerChain(this.#mended(options.connect as Connect, proxyTls) as never),
                        this.settings.tls,
                      ) as Connect,
                    ),
                  ),
                ),
              } as never),
              (tls as { timeout: number }).timeout,
            ),
        } as ConstructorParameters<typeof import('undici').ProxyAgent>[0]) as unknown as Dispatcher,
      ),
    )
  }

  /**
   * `made` (undici's connector to an https:// proxy, from `proxyTls`) made again with the issuers
   * fetched for a certificate that left its out (the proxy's own: see aia.ts), once some are. Not
   * where the run shows image hosts a client certificate: the context they were added to holds it,
   * and a proxy is never shown it.
   */
  #mended(made: Connect, proxyTls: Record<string, unknown>): Connect {
    if (this.settings.originTrust() !== this.settings.trust()) return made
    return this.settings.issuers.live((mended) =>
      mended ? (buildConnector({ ...proxyTls, secureContext: mended } as never) as Connect) : made,
    )
  }

  /**
   * A SOCKS5 proxy's pools: each connection a tunnel opened in time (`socksTunnel`), with TLS to
   * the origin inside it for https:// under the connect timeout too, as undici's connector times
   * it inside an HTTP proxy's tunnel. undici's SOCKS5 agent, used before, gave that handshake no
   * timer at all: a server that took the tunnel and never answered TLS held each file to the
   * headers timeout, told as a connection still opening, and its socket stayed open.
   */
  #socksAgent(proxy: URL, servername: string | undefined): Dispatcher {
    const { buildConnector, socks } = this.#agentsOf!
    const { timeout, ...tls } = tlsWithTrust(this.settings) as { timeout: number }
    // The proxy's own name looked up as an image host's is (`socks5://proxy.localhost` the loopback).
    const { lookup } = this.settings.tls
    // `socks5://` names are resolved here, `socks5h://` ones by the proxy (see `socksTunnel`).
    const here = proxy.protocol === 'socks5:' ? ((lookup as Lookup | undefined) ?? dns.lookup) : undefined
    const tunnel = socksTunnel(
      proxy,
      buildConnector({ timeout, lookup } as never) as Connect,
      timeout,
      socks,
      here,
    )
    const secure = this.settings.issuers.live((mended) =>
      withPeerChain(
        buildConnector({ ...tls, ...(mended ? { secureContext: mended } : {}), timeout }) as Connect,
      ),
    )
    // A server that left out its intermediate: the tunnel made again, once, with its issuer
    // fetched (through this proxy: see aia.ts).
    const connect: Connect = this.settings.issuers.retrying((opts, callback) => {
      const { hostname, port, protocol } = opts as { hostname: string; port: string; protocol: string }
      const https = protocol === 'https:'
      tunnel(hostname, Number(port) || (https ? 443 : 80)).then(
        (socket) => {
          if (!https) return callback(null, socket)
          secure(
            {
              ...opts,
              servername: servername ?? (opts as { servername?: string }).servername,
              httpSocket: socket,
            },
            (error, tlsSocket) => {
              // Its connect timeout is the origin's TLS, the tunnel being open (told so, not as the proxy's).
              if (errorCode(error) === 'UND_ERR_CONNECT_TIMEOUT') markStage(error, 'tls')
              if (error) socket.destroy()
              callback(error, tlsSocket)
            },
          )
        },
        (error: Error) => callback(error, null),
      )
    })
    // The pools every origin gets (HTTP/1.1 here): headers read up to 256 KB, not Node's 16 KB
    // (undici's SOCKS5 pools took no such option), idle connections bounded and let go as direct
    // ones, and kept alive as they are: with undici's defaults (a 2 s margin off the server's
    // Keep-Alive hint, not 500 ms), `timeout=2` meant a new connection and tunnel per file.
    const factory = originFactory(false, this.settings.concurrency)
    return new Agent({
      ...this.settings.agent,
      allowH2: false,
      factory: (origin: string | URL, options: object) => factory(origin, { ...options, connect }),
    }) as unknown as Dispatcher
  }
}

type Connect = (options: object, callback: (error: Error | null, socket: unknown) => void) => void

/** The part of a `Pool` (to an HTTP proxy) that sends a `CONNECT`. */
interface Connects {
  connect(opts: { signal?: AbortSignal; path?: string }, callback?: unknown): unknown
  readonly stats: { connected: number }
}

/**
 * `pool` (the connection to an HTTP proxy) whose `CONNECT`s end at `ms`, the connect timeout, as
 * curl counts the CONNECT phase under `--connect-timeout`: undici waits for the proxy's answer up
 * to its own 300 s default, so a proxy that took the connection and never answered (a Squid out
 * of file handles, jersey#1447) held each transfer until the headers timeout, 30 s by default,
 * and the message spoke of the image host's headers. The timeout is told as the connection's: the
 * CONNECT unanswered when a connection to the proxy is up, else its TCP handshake (undici's own
 * timer for that one runs up to half a second late).
 */
export function connectsInTime<P extends object>(proxyPool: P, ms: number): P {
  const pool = proxyPool as unknown as Connects
  const connect = pool.connect.bind(pool)
  // The line ends this proxy writes into its tunnels (see `TunnelLineEnds`).
  const lineEnds = new TunnelLineEnds()
  pool.connect = (opts, callback) => {
    if (callback !== undefined) return connect(opts, callback)
    const deadline = new AbortController()
    const timer = setTimeout(() => {
      deadline.abort(markStage(proxyConnectTimeout(), pool.stats.connected > 0 ? 'tunnel' : 'tcp'))
    }, ms)
    const signal = opts.signal ? AbortSignal.any([opts.signal, deadline.signal]) : deadline.signal
    return (connect({ ...opts, signal }) as Promise<ConnectAnswer>)
      .then(
        (answer) => tunnelOrRefusal(tunnelOpened(answer), opts.path ?? '', lineEnds),
        (error) => {
          throw resetAtConnect(error)
        },
      )
      .finally(() => clearTimeout(timer))
  }
  return proxyPool
}

/**
 * `error`, a CONNECT's failure, as `PROXY_CLOSED` when the proxy reset the connection before
 * answering it (squid's `deny_info TCP_RESET`, a firewall's reset on seeing the request:
 * chobits/ngx_http_proxy_connect_module#281): it was said as "the server reset the connection",
 * blaming the server the tunnel never reached, and not counted toward giving the proxy up (see
 * `ProxySilence.unreachable`). A clean close is `tunnelsFailOnce`'s.
 */
function resetAtConnect(error: unknown): unknown {
  const code = errorCode(error)
  if (code !== 'ECONNRESET' && code !== 'EPIPE') return error
  return Object.assign(
    new Error('the proxy reset the connection without answering the CONNECT', { cause: error }),
    {
      code: PROXY_CLOSED,
    },
  )
}

/**
 * A CONNECT's answer with any 2xx told as 200: RFC 9110 §9.3.6 says any 2xx opens the tunnel (curl
 * takes it), and a 2xx to CONNECT has no body, so the socket is the tunnel's from its first byte.
 * undici takes only 200: a gateway answering 201 failed every https:// file as one that would not
 * open a tunnel (HTTP 201).
 */
export function tunnelOpened<A extends { statusCode: number }>(answer: A): A {
  const { statusCode } = answer
  return statusCode > 200 && statusCode < 300 ? { ...answer, statusCode: 200 } : answer
}

/** A proxy's answer to a CONNECT, as undici's `Pool.connect` gives it. */
interface ConnectAnswer {
  statusCode: number
  headers?: Record<string, string | string[] | undefined>
  socket?: Socket
}

/**
 * `answer`, or a refusal (any status but 200, once `tunnelOpened`) thrown as `TunnelRefused`, its
 * status, the proxy's `Proxy-Status`, a redirect's `Location` and the wait it names carried as
 * values: undici's own error for it said the status in its words only, which classify.ts read back
 * with a pattern.
 */
function tunnelOrRefusal<A extends ConnectAnswer>(answer: A, host: string, lineEnds: TunnelLineEnds): A {
  if (answer.statusCode === 200)
    return answer.socket ? { ...answer, socket: lineEnds.tunnel(answer.socket) as Socket } : answer
  answer.socket?.on('error', () => {}).destroy()
  const headers = answer.headers ?? {}
  const location = headers.location
  // A rotating proxy past its limit names its wait as a server does (429 or 503 with Retry-After).
  const { retryAfter, waitFrom } = readRefusal(answer.statusCode, headers)
  throw new TunnelRefused(
    answer.statusCode,
    proxySaid(headers),
    host,
    answer.statusCode >= 300 && answer.statusCode < 400 ? [location].flat()[0] : undefined,
    // A 401 is a 407 miswritten (see classify.ts), its challenge in either header.
    answer.statusCode === 407 || answer.statusCode === 401
      ? authSchemes(headers['proxy-authenticate'] ?? headers['www-authenticate'])
      : [],
    { retryAfter, waitFrom },
  )
}

/**
 * `pool` (the one to an HTTP proxy that carries http:// URLs' plain requests) whose 407 fails its
 * request with the schemes of the proxy's `Proxy-Authenticate` (`authSchemes`) on the error, as
 * `schemes`, as a 407 to a CONNECT carries them (`TunnelRefused`): undici's own error for it
 * (`Proxy Authentication Required (407)`) drops the headers, so a Windows proxy offering only
 * Negotiate or NTLM was told to be given credentials in its URL for http:// URLs, which it would
 * refuse the same way, where https:// ones were told what can sign in for it. undici's wrapper
 * sets the handler's `onHeaders` before this pool sees it (by its `kDispatch`), and fails the
 * request with `onError`.
 */
export function withAuthSchemes<P extends object>(pool: P): P {
  type Handler = {
    onHeaders?: (status: number, raw: Buffer[], ...rest: unknown[]) => unknown
    onError?: (error: Error) => void
  }
  // undici's wrapper calls the pool's `kDispatch`, past `dispatch`.
  const target = pool as unknown as Record<typeof kDispatch, (opts: object, handler: Handler) => boolean>
  const dispatch = target[kDispatch].bind(target)
  target[kDispatch] = (opts, handler) => {
    const { onHeaders, onError } = handler
    let schemes: string[] | undefined
    if (onHeaders && onError) {
      handler.onHeaders = function (this: unknown, status, raw, ...rest) {
        if (status === 407) schemes = authSchemes(proxyAuthenticate(raw))
        return onHeaders.call(this, status, raw, ...rest)
      }
      handler.onError = function (this: unknown, error) {
        onError.call(this, schemes && error ? Object.assign(error, { schemes }) : error)
      }
    }
    return dispatch(opts, handler)
  }
  return pool
}

/**
 * `pool` (the one to an HTTP(S) proxy that carries http:// URLs' plain requests) whose requests
 * name the proxy as the TLS server (SNI, and the name its certificate is checked for), an IP
 * address none (see `withoutIpServerName`). undici's plain-request wrapper names the image host in
 * `Host`, and its client takes a request's server name from that: through an https:// proxy every
 * http:// file failed, the proxy's certificate checked for the image host (`its certificate is for
 * proxy.corp, not cdn.example.com`) and the image host's name sent to the proxy as SNI. Requests
 * carry the proxy's name before the pool sees them (by its `kDispatch`).
 */
export function underProxyName<P extends object>(proxy: URL, pool: P): P {
  const target = pool as unknown as Record<typeof kDispatch, (opts: object, handler: unknown) => boolean>
  const dispatch = target[kDispatch].bind(target)
  const servername = unbracketed(proxy.hostname)
  target[kDispatch] = (opts, handler) => dispatch({ ...opts, servername }, handler)
  return pool
}

/** The `Proxy-Authenticate` values of raw headers (undici's name, value, name, value...). */
function proxyAuthenticate(raw: (Buffer | string)[] | undefined): string[] {
  const values: string[] = []
  for (let i = 0; raw && i + 1 < raw.length; i += 2)
    if (String(raw[i]).toLowerCase() === 'proxy-authenticate') values.push(String(raw[i + 1]))
  return values
}

/**
 * `agent` (undici's `ProxyAgent`, `proxyTunnel: false`) sending http:// URLs to an https:// proxy
 * as plain absolute-form requests over its TLS connection, as it does to an http:// one and as
 * curl does (`-x https://proxy`; undici 8 too, nodejs/undici#5116): undici 7 tunnels them when the
 * proxy is https://, with a CONNECT to port 80 that Squid's default rules refuse (`http_access
 * deny CONNECT !SSL_ports`), and every http:// image failed (`would not open a tunnel to HOST:80
 * (HTTP 403)`). undici picks the plain form by the proxy's scheme, kept under a symbol of its own
 * (`proxy agent options`); its connection to the proxy is made from the proxy's URL, so over TLS.
 */
function plainThroughTls(agent: Dispatcher): Dispatcher {
  const internals = agent as unknown as Record<symbol, { protocol?: string } | undefined>
  const key = Object.getOwnPropertySymbols(agent).find((s) => s.description === 'proxy agent options')
  const options = key && internals[key]
  if (options?.protocol === 'https:') options.protocol = 'http:'
  return agent
}

/**
 * `agent` (undici's `ProxyAgent`) whose TLS connections inside its tunnels tell the chain a
 * certificate failure is about (`withPeerChain`), as direct ones do, and trust the issuers fetched
 * for a server that left its out (`issuers`, see aia.ts): undici makes that connector itself,
 * under a symbol of its own (`connect endpoint function`), from `requestTls`; made again here,
 * from the same options.
 */
function tunnelChained(
  issuers: IssuerFetcher,
  requestTls: Record<string, unknown>,
  agent: Dispatcher,
): Dispatcher {
  const internals = agent as unknown as Record<symbol, unknown>
  const key = Object.getOwnPropertySymbols(agent).find((s) => s.description === 'connect endpoint function')
  if (key && typeof internals[key] === 'function') {
    const made = internals[key] as Connect
    internals[key] = issuers.live((mended) =>
      withPeerChain(
        mended ? (buildConnector({ ...requestTls, secureContext: mended } as never) as Connect) : made,
      ),
    )
  }
  return agent
}

/** A connect timeout of the proxy's, as undici words its own (see `atProxy`). */
/** A connect timeout as undici's connector reports one (see `markStage`, classify.ts). */
const connectTimeout = () =>
  Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' })
const proxyConnectTimeout = () => atProxy(connectTimeout())

/**
 * `connect` (to an https:// proxy) naming no server (SNI) when the proxy is an IP address, as RFC
 * 6066 §3 says and curl does: undici's proxy agent names the proxy's host whatever it is, and Node
 * then printed its two-line DEP0123 warning on stderr for `--proxy https://10.0.0.1:3128`
 * (proxy-agents#127). The certificate is still checked for the address.
 */
const withoutIpServerName =
  (connect: Connect): Connect =>
  (options, callback) => {
    const { servername } = options as { servername?: string }
    connect(servername && isIP(servername) ? { ...options, servername: undefined } : options, callback)
  }

/** `connect` (to a proxy) with its failures marked as the proxy's (see `atProxy`). */
const markedAtProxy =
  (connect: Connect): Connect =>
  (options, callback) =>
    connect(options, (error, socket) => callback(error && (atProxy(error) as Error), socket))

/**
 * Opens tunnels through a SOCKS5 proxy (`connect` reaches the proxy) under one deadline, `ms`, the
 * connect timeout: the connection to the proxy, its handshake and its CONNECT, as curl counts them
 * under `--connect-timeout`. undici's SOCKS5 agent gave the handshake 5 s and the CONNECT 5 s more
 * whatever the connect timeout said (as OpenVPN did, OpenVPN/openvpn#267): too short over Tor,
 * whose circuits often take longer, and a silent proxy held each file 5 s at `--connect-timeout
 * 1`; and it left the connection open when its timer ran out. This closes it when it runs out.
 */
export function socksTunnel(
  proxy: URL,
  connect: Connect,
  ms: number,
  { Socks5Client, STATES }: ProxyAgents['socks'],
  /**
   * Resolves a host name before the proxy is asked for it, which then gets its address: curl's
   * `socks5://` (and Python's requests', Node's socks-proxy-agent's), where `socks5h://` leaves the
   * name to the proxy. Undefined: the name goes to the proxy.
   */
  lookup?: Lookup,
): (host: string, port: number) => Promise<Socket> {
  // As bytes (the client copies them as given): an empty password is a login too, as curl sends it.
  const credentials = urlCredentials(proxy)
  const auth = credentials
    ? { username: credentials.user, password: credentials.password }
    : { username: null, password: null }
  const open = async (
    host: string,
    port: number,
    opened: (socket: Socket) => void,
    reached: (stage: 'tcp' | 'proxy') => void,
  ): Promise<Socket> => {
    const address = lookup ? await resolvedHere(host, lookup) : host
    reached('proxy')
    const socket = await new Promise<Socket>((resolve, reject) => {
      const opening = connect(
        { hostname: proxy.hostname, host: proxy.hostname, port: proxy.port || '1080', protocol: 'socks5:' },
        (error, socket) => (error ? reject(error) : resolve(socket as Socket)),
      ) as unknown as EventEmitter | undefined
      opening?.once?.('lookup', (error: Error | null) => error || reached('tcp'))
    })
    opened(socket)
    const client = new Socks5Client(socket, auth)
    client.on('error', () => socket.destroy())
    /** `event` from the client, or its error. */
    const heard = (event: string) =>
      new Promise<void>((resolve, reject) => {
        const onError = (error: Error) => {
          client.off(event, onEvent)
          reject(error)
        }
        const onEvent = () => {
          client.off('error', onError)
          resolve()
        }
        client.once(event, onEvent)
        client.once('error', onError)
      })
    client.handshake()
    if (client.state !== STATES.AUTHENTICATED) await heard('authenticated')
    const connected = heard('connected')
    await client.connect(address, port)
    await connected
    return socket
  }
  return (host: string, port: number) => {
    let socket: Socket | undefined
    let timer: NodeJS.Timeout | undefined
    // Until its name is found, the proxy's connection is at its lookup: told so, not as a TCP
    // handshake unanswered (a firewall) where the resolver dropped the query.
    const proxyStage: 'lookup' | 'tcp' = isIP(unbracketed(proxy.hostname)) ? 'tcp' : 'lookup'
    // The host's own name is looked up first, if here (not the proxy's: told as the host's).
    let stage: 'lookup' | 'tcp' | 'host' = lookup && !isIP(unbracketed(host)) ? 'host' : proxyStage
    const opening = open(
      host,
      port,
      (s) => {
        socket = s
      },
      (reached) => {
        stage = reached === 'proxy' ? proxyStage : reached
      },
    )
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          stage === 'host'
            ? markStage(connectTimeout(), 'lookup')
            : markStage(proxyConnectTimeout(), socket ? 'socks' : stage),
        )
        // Its tunnel, should it open now, is no one's.
        socket?.destroy()
        opening.then(
          (s) => s.destroy(),
          () => {},
        )
      }, ms)
    })
    return Promise.race([opening, deadline]).finally(() => clearTimeout(timer))
  }
}

/**
 * `host`'s address as `lookup` finds it (an IP address as it is). A name not found fails as the
 * host's (`resolvedHere`), never as the proxy's: it never reached the proxy.
 */
function resolvedHere(host: string, lookup: Lookup): Promise<string> {
  if (isIP(unbracketed(host))) return Promise.resolve(unbracketed(host))
  return new Promise((resolve, reject) =>
    lookup(host, {}, (error, address) => (error ? reject(lookedUpHere(error)) : resolve(address as string))),
  )
}

/**
 * `factory` (a `ProxyAgent`'s, making a pool per origin) with the tunnel's connector reporting a
 * proxy that closed the connection before answering the CONNECT as `PROXY_CLOSED`, not as undici's
 * `UND_ERR_SOCKET`: a connector failing with that code is taken for a passing socket fault, the
 * requests waiting for it kept and a new connection opened at once (undici 7 client.js `onError`),
 * so such a proxy was sent thousands of CONNECTs a second until the headers timeout (37,669 in
 * 14 s). Any other code fails the waiting requests, as curl fails at once ('Proxy CONNECT aborted').
 */
export function tunnelsFailOnce<T>(
  proxyOrigin: string,
  factory: (origin: string | URL, options: object) => T,
) {
  return (origin: string | URL, options: object): T => {
    const connect = (options as { connect?: unknown }).connect
    if (typeof connect !== 'function') return factory(origin, options)
    // The pool to the proxy itself (http:// URLs' plain requests): its connect timeout is the
    // proxy's lookup, TCP or TLS, marked by its own connector; it was told as a TLS handshake with
    // the proxy where the lookup of the proxy's name got no answer.
    const toProxy = new URL(String(origin)).origin === proxyOrigin
    const tunnel: Connect = (opts, callback) =>
      (connect as Connect)(opts, (error, socket) => {
        // A tunnel's connect timeout is the TLS in it: the CONNECT's stall is marked where it is sent.
        if (!toProxy && errorCode(error) === 'UND_ERR_CONNECT_TIMEOUT') markStage(error, 'tls')
        // An answer to the CONNECT that is no HTTP: the proxy's, whatever the server says later.
        if ((error as Error | null)?.name === 'HTTPParserError')
          return callback(coded(PROXY_NOT_HTTP, error), socket)
        if (errorCode(error) !== 'UND_ERR_SOCKET') return callback(error, socket)
        const closed = new Error('the proxy closed the connection without answering the CONNECT', {
          cause: error,
        })
        callback(Object.assign(closed, { code: PROXY_CLOSED }), socket)
      })
    return factory(origin, { ...options, connect: tunnel })
  }
}
