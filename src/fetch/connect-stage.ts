import type { EventEmitter } from 'node:events'
import { isIP } from 'node:net'
import { causes } from '../utils/causes.js'
import { unbracketed } from '../utils/url.js'

/**
 * Where a connection was when its connect timeout ran out. undici's one `Connect Timeout Error`
 * covers the name lookup, the TCP handshake and the TLS handshake alike: a resolver that never
 * answers, a firewall that drops the SYN and a TLS front that takes the ClientHello and says nothing
 * were all told as `connect timeout`, and a user looked for a firewall where DNS was down. curl
 * tells them apart (`Resolving timed out`, `Connection timed out`, `SSL connection timeout`).
 * `opening`: the headers timeout ran out before the request was written, its connection still
 * opening: through an HTTP proxy, the CONNECT unanswered or the TLS handshake inside the tunnel
 * (undici's connect timeout starts only once the proxy answered, and its timers run late).
 * `tunnel`: an HTTP proxy took the connection and did not answer the CONNECT (see `connectsInTime`);
 * `socks`: a SOCKS5 proxy took it and did not finish its handshake and CONNECT (see `socksTunnel`).
 * `head`: the headers timeout ran out with the answer's head begun and not whole (a server that
 * sends it slowly: `--headers-timeout` is a deadline for the whole head).
 * `preface`: the headers timeout ran out on an HTTP/2 connection whose server never sent its
 * SETTINGS (see `http2PrefaceMissing`): the connection never began, whatever the request.
 * `streams`: the headers timeout ran out on an HTTP/2 connection whose server's latest SETTINGS
 * allow no stream at once (SETTINGS_MAX_CONCURRENT_STREAMS 0, see `http2AllowsNoStream`): nghttp2
 * held the request unsent, and the server never raised the limit.
 * `interim-NNN`: the headers timeout ran out after an interim answer (`100 Continue`, `102
 * Processing`, `103 Early Hints`) with no final one after it.
 * `unanswered`: the total timeout cut a request that was sent, no byte of an answer's head come
 * (the headers timeout, which says it by its name, needs no stage for it).
 */
export type ConnectStage =
  | 'lookup'
  | 'tcp'
  | 'tls'
  | 'tunnel'
  | 'socks'
  | 'opening'
  | 'head'
  | 'preface'
  | 'streams'
  | `interim-${number}`
  | 'unanswered'

/** The stage a connect timeout ran out in, on the error (see `stagedConnector`). */
const STAGE: unique symbol = Symbol('imgpull.connectStage')

/** undici's connector: `(options, callback) => socket`. */
export type Connector = (
  options: { hostname: string; protocol: string; port: string; httpSocket?: unknown },
  callback: (error: Error | null, socket?: unknown) => void,
) => unknown

/**
 * `connect`, noting the stage each connection reaches from its socket's events (`lookup` once the
 * name is resolved, `connect` once TCP is up), and marking a connect timeout with it.
 */
export function stagedConnector(connect: Connector, owner?: object): Connector {
  return (options, callback) => {
    const tls = options.protocol === 'https:'
    // A socket handed over (a proxy's tunnel) is connected already: only its TLS is left.
    let stage: ConnectStage = options.httpSocket
      ? 'tls'
      : isIP(unbracketed(options.hostname))
        ? 'tcp'
        : 'lookup'
    // Known while it opens, for a total timeout that cuts a request waiting for it (see `openingStage`).
    const opening = { stage }
    const key = connectionKey(options.protocol, options.hostname, options.port)
    const pending = openings.get(key) ?? new Set()
    openings.set(key, pending)
    pending.add(opening)
    const mine = owner && (owned.get(owner) ?? owned.set(owner, new Set()).get(owner)!)
    let held: { destroy?(): void } | undefined
    let done = false
    const opened = () => {
      done = true
      pending.delete(opening)
      if (pending.size === 0 && openings.get(key) === pending) openings.delete(key)
      if (held) mine?.delete(held)
    }
    const socket = tryConnect(connect, opened)(options, (error, connected) => {
      opened()
      if (error && (error as { code?: string }).code === 'UND_ERR_CONNECT_TIMEOUT') markStage(error, stage)
      // Connected over TLS: its handshake is done, so a TLS error from here on is the connection's.
      if (!error && tls) {
        const socket = connected as (EventEmitter & { destroy?(): void }) | undefined
        socket?.prependListener?.('error', markEstablished)
        // ...and ends it (see `endOnError`).
        socket?.on?.('error', () => socket.destroy?.())
      }
      callback(error, connected)
    }) as EventEmitter | undefined
    socket?.once?.('lookup', (error: Error | null) => {
      if (!error && stage === 'lookup') opening.stage = stage = 'tcp'
    })
    socket?.once?.('connect', () => {
      if (tls) opening.stage = stage = 'tls'
    })
    // A socket closed before its callback: no longer opening.
    if (!socket) opened()
    else {
      socket.once?.('close', opened)
      held = socket as { destroy?(): void }
      if (!done) mine?.add(held)
    }
    return socket
  }
}

/**
 * The sockets still opening (their TCP or TLS handshake not done), by the pool that opened them
 * (its `owner`, see `abandonOpenings`).
 */
const owned = new WeakMap<object, Set<{ destroy?(): void }>>()

/**
 * Destroy the connections `owner`'s pool still has opening: undici's `destroy()` leaves one whose
 * handshake is not done to its connect timeout, and that socket kept the process (or a transfer
 * thread) alive after the run had ended, until --connect-timeout ran out.
 */
export function abandonOpenings(owner: object): void {
  const sockets = owned.get(owner)
  if (!sockets) return
  for (const socket of sockets) socket.destroy?.()
  sockets.clear()
}

/** `connect`, calling `opened` if it throws (the connection is not opening then). */
function tryConnect(connect: Connector, opened: () => void): Connector {
  return (options, callback) => {
    try {
      return connect(options, callback)
    } catch (error) {
      opened()
      throw error
    }
  }
}

/** The connections being opened, by where they go (see `connectionKey`), each with its stage. */
const openings = new Map<string, Set<{ stage: ConnectStage }>>()

function connectionKey(protocol: string, hostname: string, port: string): string {
  return `${protocol}//${unbracketed(hostname)}:${port || (protocol === 'https:' ? '443' : '80')}`
}

/**
 * The stage of the connections now opening to `url`'s origin (the least advanced, if several):
 * where a request still waiting for its connection stands when the total timeout cuts it.
 * Undefined where none is opening (the request queued behind the origin's other connections).
 */
export function openingStage(url: URL): ConnectStage | undefined {
  const pending = openings.get(connectionKey(url.protocol, url.hostname, url.port))
  if (!pending) return undefined
  const order: ConnectStage[] = ['lookup', 'tcp', 'tls']
  let least: ConnectStage | undefined
  for (const { stage } of pending)
    if (least === undefined || order.indexOf(stage) < order.indexOf(least)) least = stage
  return least
}

/*
 * endOnError: a TLS error once the handshake is done (a fatal alert from the server, a record that
 * does not decrypt or parse) leaves the connection dead: both ends MUST close it (RFC 8446 §6.2).
 * Node only emits the error there (its TLS socket destroys itself on one during the handshake
 * alone), and undici fails a request only when its socket closes, so a server that sent its fatal
 * alert and kept the TCP connection open held the request until the idle or headers timeout. The
 * socket is destroyed after undici's own listener has taken the error, which its close then gives.
 */

/** On an error a TLS connection met after its handshake was done (see `afterHandshake`). */
const ESTABLISHED: unique symbol = Symbol('imgpull.tlsEstablished')

function markEstablished(error: unknown): void {
  if (error && typeof error === 'object') Object.assign(error, { [ESTABLISHED]: true })
}

/**
 * Whether `error` (or its `cause`) came from a TLS connection whose handshake was done: a record
 * that does not decrypt or parse (`bad record mac`, `bad record type`: a middlebox or a flaky
 * link corrupting bytes) or an alert the server sent after the request. OpenSSL's codes for those
 * are the handshake's (`ERR_SSL_*`), but the next connection's handshake may well succeed.
 */
export function afterHandshake(error: unknown): boolean {
  for (const e of causes(error)) if (ESTABLISHED in e) return true
  return false
}

/** Note on `error` the stage its connection stalled in, unless one is noted already. Returns `error`. */
export function markStage(error: unknown, stage: ConnectStage): unknown {
  if (error && typeof error === 'object' && !(STAGE in error)) Object.assign(error, { [STAGE]: stage })
  return error
}

export function connectStageOf(error: unknown): ConnectStage | undefined {
  return (error as { [STAGE]?: ConnectStage } | undefined)?.[STAGE]
}

/**
 * What stalled, in words, for the end of a timeout's message. `url`: the image's (or its hop's);
 * `proxy`: the proxy's, where the stalled connection was the one to the proxy itself. `total`: the
 * timeout is --total-timeout's, not --headers-timeout's (what that one bounds is not said of it).
 */
export function connectStageWords(
  stage: ConnectStage | undefined,
  url: string,
  proxy?: { url: string; itself: boolean },
  total = false,
): string | undefined {
  const at = proxy?.itself ? proxy.url : url
  const the = proxy?.itself ? 'the proxy ' : ''
  let name = at
  let host = at
  try {
    ;({ hostname: name, host } = new URL(at))
  } catch {}
  switch (stage) {
    case 'lookup':
      return `the name lookup of ${the}${name} got no answer (DNS)`
    case 'tcp':
      return `${the}${host} did not answer the TCP handshake (nothing accepts the connection: a firewall that drops it, a host down)`
    case 'tls':
      if (proxy?.itself)
        return `the TLS handshake with the proxy got no answer (the TCP connection was accepted)`
      if (proxy) return `the TLS handshake with ${host} got no answer (the proxy opened the tunnel to it)`
      return `the TLS handshake got no answer (the TCP connection was accepted)`
    case 'tunnel':
    case 'socks': {
      let target = url
      try {
        target = new URL(url).host
      } catch {}
      return stage === 'tunnel'
        ? `the proxy accepted the connection and did not answer the CONNECT to ${target}`
        : `the proxy accepted the connection and did not answer its SOCKS5 handshake or its CONNECT to ${target}`
    }
    case 'opening':
      // Through a SOCKS5 proxy every URL's connection is a tunnel, an http:// one's too: said as
      // one of the image host's own, the proxy was not named.
      if (proxy && /^socks5h?:/i.test(proxy.url))
        return `its connection through the proxy was still opening (the connection to the proxy, its SOCKS5 handshake or its answer to the CONNECT to ${host}${url.startsWith('https:') ? ', or the TLS handshake inside the tunnel' : ''})`
      if (proxy && url.startsWith('https:'))
        return `its connection through the proxy was still opening (the connection to the proxy, its answer to the CONNECT to ${host}, or the TLS handshake inside the tunnel)`
      if (proxy) return 'its connection to the proxy was still opening (the request was never sent)'
      return 'its connection was still opening (the request was never sent)'
    case 'head':
      // curl sets no deadline on a head (only --max-time), wget2 one on each read (--read-timeout).
      return `its head had begun to come and was not whole${total ? '' : ' (a server that sends it slowly: --headers-timeout is a deadline for the whole head)'}`
    case 'unanswered':
      return 'the request was sent and no answer came (not a byte of its head)'
    case 'preface':
      return `its HTTP/2 connection never began: the server sent no SETTINGS frame after the TLS handshake (RFC 9113 §3.4)`
    case 'streams':
      return "the request was never sent: the server's HTTP/2 SETTINGS allow no stream at once (SETTINGS_MAX_CONCURRENT_STREAMS 0, RFC 9113 §6.5.2) and it never raised them"
    default:
      // A server that answers `100 Continue` and never the final answer (ratpack/ratpack#852).
      if (stage?.startsWith('interim-'))
        return `an interim ${stage.slice(8)} answer came, then no final one${total ? '' : " (--headers-timeout runs from the request to the final answer's head)"}`
      return undefined
  }
}
