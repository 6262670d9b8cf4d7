import type { ConnectionOptions } from 'node:tls'
import { type ResolvedOptions, userAgentOf } from '../options.js'
import { type FetchIssuer, fetchThrough, IssuerFetcher } from './aia.js'
import { clientIdentityOf } from './client-cert.js'
import { abandonOpenings as abandonOwned, type Connector, stagedConnector } from './connect-stage.js'
import { hostIdentity } from './host-identity.js'
import { Http1Fallback } from './http1-fallback.js'
import { originFactory } from './origin-pool.js'
import { withPeerChain } from './peer-chain.js'
import { noProxyWarning, proxyPlan } from './proxy.js'
import { type ConnectionSettings, ProxyRouter, tlsWithTrust } from './proxy-router.js'
import { sharedLookup } from './shared-lookup.js'
import { trustedContext, trustedPems } from './trust.js'
import { Agent, buildConnector, type Dispatcher } from './undici.js'

/**
 * HTTP/2 flow-control windows imgpull announces (RFC 9113 §6.9), bytes: what a server may send
 * before imgpull acknowledges it. All of a host's transfers share one connection, so its window is
 * the ceiling of the host's throughput: one window per round trip. undici 7's defaults (512 KiB a
 * connection, 256 KiB a stream) held 1,500 small images over TLS with a 50 ms round trip to
 * 25.7 s (about 10 MB/s), where HTTP/1.1's many connections took 4.8 s and curl's HTTP/2 3.6 s;
 * with these, 4.5 s. Chrome announces 15 MB and 6 MB, curl 10 MB a stream. They bound what an
 * unread answer can hold in memory: bodies are read as they come, so only back-pressure fills them.
 */
export const HTTP2_CONNECTION_WINDOW = 16 * 1024 * 1024
/** ...and a stream's (SETTINGS_INITIAL_WINDOW_SIZE): one large file still fills a long path. */
export const HTTP2_STREAM_WINDOW = 4 * 1024 * 1024

/** The warning `insecure` emits, once per run. */
export const INSECURE_WARNING =
  'TLS certificate checks are off (--insecure): anyone on the network path can read and change what is downloaded'

/**
 * One keep-alive connection pool for the run. Connections per origin are not capped here: the
 * scheduler's per-host limit decides how many requests run, and the pool keeps that many warm
 * (over HTTP/2, as few connections as the server's stream limit allows). Requests go through a
 * proxy where `proxy` (or the environment) says so (see proxy.ts). With HTTP/2 allowed, an origin
 * that asks for HTTP/1.1 gets it, through a second pool made then (see http1-fallback.ts).
 */
export function createAgent(options: ResolvedOptions): Dispatcher {
  if (options.insecure) process.emitWarning(INSECURE_WARNING, { code: 'IMGPULL_INSECURE' })
  // Issuers a server left out are fetched through the run's own connections (see aia.ts): the
  // proxy the AIA URL goes through, its credentials and NO_PROXY, as an image's request would.
  let dispatcher: Dispatcher | undefined
  // A proxy's own certificate's issuer, direct: through the proxy, it met the same certificate.
  let straight: Dispatcher | undefined
  const settings = connectionSettings(options, (url, toProxy) =>
    fetchThrough((toProxy && straight) || dispatcher!, url, options.connectTimeout, userAgentOf(options)),
  )
  const plan = proxyPlan(options.proxy)
  const unmatched = noProxyWarning(plan)
  if (unmatched) process.emitWarning(unmatched, { code: 'IMGPULL_NO_PROXY' })
  const pool = (http2: boolean): Dispatcher => {
    const those = { ...settings, agent: { ...settings.agent, allowH2: http2 }, http2 }
    const direct = new Agent({
      ...those.agent,
      // undici's connector, telling a connect timeout's stage (lookup, TCP, TLS: connect-stage.ts)
      // and the chain a certificate failure is about (peer-chain.ts).
      connect: stagedConnector(withPeerChain(connectorOf(those)), settings.tls),
      // HTTPS origins multiplex over HTTP/2 where the server speaks it (see origin-pool.ts).
      factory: originFactory(http2, those.concurrency),
    } as ConstructorParameters<typeof Agent>[0])
    straight ??= direct
    return plan ? (new ProxyRouter(direct, plan, those) as unknown as Dispatcher) : direct
  }
  dispatcher = options.http2
    ? (new Http1Fallback(pool(true), () => pool(false)) as unknown as Dispatcher)
    : pool(false)
  // The owner of its connections, direct or to proxies: its settings' TLS part, the one object its
  // pools share (each pool's settings are copies of the run's).
  owners.set(dispatcher, settings.tls)
  return dispatcher
}

/** Each agent's connection settings: the owner of the connections it opens (see `abandonOpenings`). */
const owners = new WeakMap<Dispatcher, object>()

/**
 * Destroy the connections `dispatcher` (made by `createAgent`) still has opening, to origins and
 * to proxies: its `destroy()` leaves them to their connect timeout, and a socket whose SYN was
 * never answered kept the process alive that long after the run had ended (`pull()` on the main
 * thread: 20 s after its last result at --connect-timeout 20).
 */
export function abandonOpenings(dispatcher: Dispatcher): void {
  const owner = owners.get(dispatcher)
  if (owner) abandonOwned(owner)
}

/**
 * undici's connector for `settings`, the one for https:// made with the first https:// connection:
 * whom to trust (`trustedContext`: SSL_CERT_FILE, SSL_CERT_DIR, --ca-cert) is read then, so a run
 * of http:// URLs never reads a certificate (SSL_CERT_DIR's folder alone took ~13 ms of the start).
 */
function connectorOf(settings: ConnectionSettings): Connector {
  let plain: Connector | undefined
  let secure: Connector | undefined
  const allowH2 = settings.http2
  // A server that leaves out its intermediate: its issuer, fetched from where the leaf says it is
  // and verified (see aia.ts), is trusted from then on, and the connection made again, once.
  const connect = settings.issuers.retrying(
    (options: Parameters<Connector>[0], callback: Parameters<Connector>[1]) => secure!(options, callback),
  )
  return (options, callback) => {
    if (options.protocol !== 'https:') {
      plain ??= buildConnector({ ...settings.tls, allowH2 } as never) as never
      return plain(options, callback)
    }
    try {
      // Read here for the issuers fetched (see `connect`); the outer one reads it for the words.
      const tls = tlsWithTrust(settings)
      secure ??= settings.issuers.live((mended) =>
        withPeerChain(
          buildConnector({ ...tls, ...(mended ? { secureContext: mended } : {}), allowH2 } as never) as never,
        ),
      )
    } catch (error) {
      // No descriptor left to read whom to trust (see `unlessShort`): this connection fails so,
      // and the next one reads it again.
      return callback(error as Error, null)
    }
    return connect(options, callback)
  }
}

/**
 * TLS to an https:// proxy on a connection of imgpull's own, outside the run's agent (see
 * `answersItself`): trusted as the agent's connections are, by `caCert` (with Node's store and
 * SSL_CERT_FILE/SSL_CERT_DIR: `trustedContext`) and `insecure`.
 */
export function proxyTls(options: ResolvedOptions): ConnectionOptions {
  const secureContext = trustedContext(options.caCert)
  return {
    checkServerIdentity: hostIdentity,
    ...(options.insecure ? { rejectUnauthorized: false } : {}),
    ...(secureContext ? { secureContext } : {}),
  }
}

function connectionSettings(options: ResolvedOptions, fetchIssuer: FetchIssuer): ConnectionSettings {
  let context: ReturnType<typeof trustedContext> | null = null
  let originContext: ReturnType<typeof trustedContext> | null = null
  // Read (and checked) as the options were resolved: before any request.
  const identity = clientIdentityOf(options)
  const trust = () => {
    if (context === null) context = trustedContext(options.caCert)
    return context
  }
  const settings: ConnectionSettings = {
    agent: {
      keepAliveTimeout: 10_000,
      keepAliveMaxTimeout: 60_000,
      // The margin taken off a server's Keep-Alive hint: undici's 2 s left nothing of `timeout=1`
      // or `2`, a new connection (and TLS handshake) per file, where curl reuses the connection.
      // A request that meets a connection the server closed meanwhile is sent again at once.
      keepAliveTimeoutThreshold: 500,
      pipelining: 1,
      allowH2: options.http2,
      connectionWindowSize: HTTP2_CONNECTION_WINDOW,
      initialWindowSize: HTTP2_STREAM_WINDOW,
      // We follow redirects ourselves, hop by hop, under our own policies.
      maxRedirections: 0,
    },
    tls: {
      timeout: options.connectTimeout,
      // One lookup a name for concurrent connections, and a name not found remembered briefly.
      lookup: sharedLookup(),
      // Node's name check without partial wildcards (RFC 9525 §6.3, see host-identity.ts).
      checkServerIdentity: hostIdentity,
      ...(options.insecure ? { rejectUnauthorized: false } : {}),
    },
    // Each made once, when first asked (null: not yet; undefined: Node's own store).
    trust,
    // With a client certificate, a context of its own: an https:// proxy is not shown it.
    originTrust: () => {
      if (!identity) return trust()
      if (originContext === null) originContext = trustedContext(options.caCert, identity)
      return originContext
    },
    issuers: undefined as unknown as IssuerFetcher,
    http2: options.http2,
    concurrency: options.concurrency,
    userAgent: userAgentOf(options),
  }
  settings.issuers = new IssuerFetcher(() => trustedPems(options.caCert), settings.originTrust, fetchIssuer)
  return settings
}
