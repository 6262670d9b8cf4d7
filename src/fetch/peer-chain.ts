import type { EventEmitter } from 'node:events'
import type { PeerCertificate } from 'node:tls'

/**
 * The certificate chain a server sent, kept for the words of a failure about it: OpenSSL's
 * `certificate has expired` says neither which certificate nor when, a `not valid yet` sent the
 * user to check the clock without the date to check it against, and `unable to verify the first
 * certificate` or `self-signed certificate in certificate chain` name no authority, where the
 * name of the one to trust (a company's TLS-inspecting proxy's root: Zscaler, Fortinet...) tells
 * what is going on and what to ask for. Firefox says the dates; curl, wget2 and Node say none of
 * it. The socket is gone by the time the connector reports its error, so the chain is read as the
 * handshake ends (the TLS socket's `secure` event, before Node checks it), and only when OpenSSL's
 * verdict is one of those (`CHAINED`): reading a chain costs about 0.7 ms, its verdict next to nothing.
 */
export interface PeerChain {
  /** This machine's clock when the chain was read (ms). */
  now: number
  /**
   * The chain as the server sent it, leaf first: each one's name, its issuer's, its validity (ms),
   * and where its issuer's certificate is to be had (`issuerAt`: its Authority Information Access
   * `CA Issuers` http:// or https:// URL, RFC 5280 §4.2.2.1, as the CA wrote it), when it says,
   * with the certificate itself then (`raw`, DER: see aia.ts).
   */
  chain: {
    name: string
    issuer: string
    from: number
    to: number
    issuerAt?: string
    raw?: Buffer
    /** Whether it is a CA (basicConstraints CA:TRUE). */
    ca?: boolean
    /** The purposes its extended key usage allows (OIDs), when it has one. */
    purposes?: string[]
  }[]
  /** Why the issuer fetched from the last one's `issuerAt` was not taken (see aia.ts), when it was fetched. */
  fetched?: string
}

/** Where a failure carries the chain (see `withPeerChain`). */
export const PEER_CHAIN: unique symbol = Symbol('imgpull.peerChain')

/** OpenSSL's verdicts whose words use the chain: its dates, or the authority not trusted. */
const CHAINED = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'INVALID_PURPOSE',
  'INVALID_CA',
])

type Connect = (options: object, callback: (error: Error | null, socket?: unknown) => void) => unknown

interface TlsInternals extends EventEmitter {
  _handle?: { verifyError?: () => { code?: string } | null | undefined } | null
  getPeerCertificate?: (detailed: true) => PeerCertificate & { issuerCertificate?: PeerCertificate }
}

/**
 * `connect` (undici's connector, or one handed a proxy's tunnel) whose TLS failures that `CHAINED`
 * names carry the chain the server sent at `PEER_CHAIN` (see `PeerChain`).
 */
export function withPeerChain<C>(connect: C): C {
  return ((options: object, callback: (error: Error | null, socket?: unknown) => void) => {
    let chain: PeerChain | undefined
    const socket = (connect as Connect)(options, (error, connected) => {
      // An inner connector's chain kept (with what was fetched for it: aia.ts), not read again.
      if (error && chain && CHAINED.has((error as { code?: string }).code ?? '') && !peerChain(error))
        Object.assign(error, { [PEER_CHAIN]: chain })
      callback(error, connected)
    }) as TlsInternals | undefined
    socket?.prependOnceListener?.('secure', () => {
      if (CHAINED.has(socket._handle?.verifyError?.()?.code ?? '')) chain = chainOf(socket)
    })
    return socket
  }) as C
}

/** The chain `socket`'s server sent, leaf first. */
function chainOf(socket: TlsInternals): PeerChain | undefined {
  const chain: PeerChain['chain'] = []
  const seen = new Set<PeerCertificate>()
  for (
    let c: (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined =
      socket.getPeerCertificate?.(true);
    c?.valid_to && !seen.has(c) && chain.length < 10;
    c = c.issuerCertificate
  ) {
    seen.add(c)
    const issuerAt = c.infoAccess?.['CA Issuers - URI']?.find((uri) => /^https?:\/\//i.test(uri))
    chain.push({
      name: nameOf(c.subject),
      issuer: nameOf(c.issuer),
      from: Date.parse(c.valid_from),
      to: Date.parse(c.valid_to),
      ca: c.ca,
      ...(c.ext_key_usage ? { purposes: c.ext_key_usage } : {}),
      ...(issuerAt ? { issuerAt, raw: c.raw } : {}),
    })
  }
  return chain.length > 0 ? { now: Date.now(), chain } : undefined
}

/** A certificate's subject or issuer by its common name (else its organisation). */
const nameOf = (name: PeerCertificate['subject'] | undefined): string =>
  [name?.CN ?? name?.O ?? ''].flat()[0] ?? ''

/** The chain a TLS failure carries (see `withPeerChain`), if any. */
export const peerChain = (error: unknown): PeerChain | undefined =>
  (error as { [PEER_CHAIN]?: PeerChain } | undefined)?.[PEER_CHAIN]
