import type { EventEmitter } from 'node:events'
import { isIP } from 'node:net'

/**
 * Where a connection was when its connect timeout ran out. undici's one `Connect Timeout Error`
 * covers the name lookup, the TCP handshake and the TLS handshake alike: a resolver that never
 * answers, a firewall that drops the SYN and a TLS front that takes the ClientHello and says nothing
 * were all told as `connect timeout`, and a user looked for a firewall where DNS was down. curl
 * tells them apart (`Resolving timed out`, `Connection timed out`, `SSL connection timeout`).
 */
export type ConnectStage = 'lookup' | 'tcp' | 'tls'

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
export function stagedConnector(connect: Connector): Connector {
  return (options, callback) => {
    const tls = options.protocol === 'https:'
    // A socket handed over (a proxy's tunnel) is connected already: only its TLS is left.
    let stage: ConnectStage = options.httpSocket
      ? 'tls'
      : isIP(options.hostname.replace(/^\[|\]$/g, ''))
        ? 'tcp'
        : 'lookup'
    const socket = connect(options, (error, connected) => {
      if (error && (error as { code?: string }).code === 'UND_ERR_CONNECT_TIMEOUT')
        Object.assign(error, { [STAGE]: stage })
      callback(error, connected)
    }) as EventEmitter | undefined
    socket?.once?.('lookup', (error: Error | null) => {
      if (!error && stage === 'lookup') stage = 'tcp'
    })
    socket?.once?.('connect', () => {
      if (tls) stage = 'tls'
    })
    return socket
  }
}

export function connectStageOf(error: unknown): ConnectStage | undefined {
  return (error as { [STAGE]?: ConnectStage } | undefined)?.[STAGE]
}

/** What stalled, in words, for the end of a connect timeout's message. */
export function connectStageWords(stage: ConnectStage | undefined, url: string): string | undefined {
  let name = url
  let host = url
  try {
    ;({ hostname: name, host } = new URL(url))
  } catch {}
  switch (stage) {
    case 'lookup':
      return `the name lookup of ${name} got no answer (DNS)`
    case 'tcp':
      return `${host} did not answer the TCP handshake (nothing accepts the connection: a firewall that drops it, a host down)`
    case 'tls':
      return `the TLS handshake got no answer (the TCP connection was accepted)`
    default:
      return undefined
  }
}
