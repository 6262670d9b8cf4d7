import type { EventEmitter } from 'node:events'
import type { PeerCertificate } from 'node:tls'

/**
 * The dates of a certificate chain that failed for its dates (expired, not valid yet), kept for
 * the failure's words: OpenSSL's `certificate has expired` says neither which certificate nor when,
 * and a `not valid yet` sent the user to check the clock without the date to check it against.
 * Firefox says both (`The certificate expired on 1/2/2020. The current time is …`); curl, wget2 and
 * Node say neither. The socket is gone by the time the connector reports its error, so the chain
 * is read as the handshake ends (the TLS socket's `secure` event, before Node checks it), and only
 * when OpenSSL's verdict is one of those two: reading a chain costs about 0.7 ms, its verdict
 * next to nothing.
 */
export interface CertificateDates {
  /** This machine's clock when the chain was read (ms). */
  now: number
  /** The chain as the server sent it, leaf first: each one's name and validity (ms). */
  chain: { name: string; from: number; to: number }[]
}

/** Where a failure carries its chain's dates (see `datedCertificates`). */
export const CERTIFICATE_DATES: unique symbol = Symbol('imgpull.certificateDates')

/** OpenSSL's verdicts about a certificate's dates. */
const DATED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID'])

type Connect = (options: object, callback: (error: Error | null, socket?: unknown) => void) => unknown

interface TlsInternals extends EventEmitter {
  _handle?: { verifyError?: () => { code?: string } | null | undefined } | null
  getPeerCertificate?: (detailed: true) => PeerCertificate & { issuerCertificate?: PeerCertificate }
}

/**
 * `connect` (undici's connector, or one handed a proxy's tunnel) whose TLS failures for a
 * certificate's dates carry the chain's dates at `CERTIFICATE_DATES` (see `CertificateDates`).
 */
export function datedCertificates<C>(connect: C): C {
  return ((options: object, callback: (error: Error | null, socket?: unknown) => void) => {
    let dates: CertificateDates | undefined
    const socket = (connect as Connect)(options, (error, connected) => {
      if (error && dates && DATED.has((error as { code?: string }).code ?? ''))
        Object.assign(error, { [CERTIFICATE_DATES]: dates })
      callback(error, connected)
    }) as TlsInternals | undefined
    socket?.prependOnceListener?.('secure', () => {
      if (DATED.has(socket._handle?.verifyError?.()?.code ?? '')) dates = chainDates(socket)
    })
    return socket
  }) as C
}

/** The dates of the chain `socket`'s server sent, leaf first. */
function chainDates(socket: TlsInternals): CertificateDates | undefined {
  const chain: CertificateDates['chain'] = []
  const seen = new Set<PeerCertificate>()
  for (
    let c: (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined =
      socket.getPeerCertificate?.(true);
    c?.valid_to && !seen.has(c) && chain.length < 10;
    c = c.issuerCertificate
  ) {
    seen.add(c)
    chain.push({ name: nameOf(c), from: Date.parse(c.valid_from), to: Date.parse(c.valid_to) })
  }
  return chain.length > 0 ? { now: Date.now(), chain } : undefined
}

const nameOf = (c: PeerCertificate): string => [c.subject?.CN ?? c.subject?.O ?? ''].flat()[0] ?? ''

/** The dates a TLS failure carries (see `datedCertificates`), if any. */
export const certificateDates = (error: unknown): CertificateDates | undefined =>
  (error as { [CERTIFICATE_DATES]?: CertificateDates } | undefined)?.[CERTIFICATE_DATES]
