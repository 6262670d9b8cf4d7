import { X509Certificate } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { type PeerChain, peerChain } from './peer-chain.js'
import { certificatesOf } from './trust.js'

/**
 * A server that leaves out its intermediate certificate (SSL Labs' "chain incomplete") sends its
 * leaf alone, whose issuer no store holds: browsers fetch that issuer's certificate from where the
 * leaf says it is (its Authority Information Access, `CA Issuers`, RFC 5280 §4.2.2.1: "AIA
 * fetching"), curl, wget2 and Node do not (curl#2793, request#3106), and every file of such a host
 * failed `tls`. imgpull fetches it too, once a URL a run, and takes it only when it issued the
 * leaf and one of the run's trusted certificates issued it (see `verifiedIssuer`): the connection
 * is then made again with it trusted, as OpenSSL checks the whole chain.
 */

/** The most bytes an issuer's certificate is read to (a PKCS #7 chain is a few KB). */
export const MAX_ISSUER_BYTES = 64 * 1024

/** OpenSSL's verdicts for an issuer not found, which its certificate fetched may mend. */
const ISSUER_MISSING = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'])

/** Of a TLS failure: the certificate whose issuer was not found (DER) and where it says that issuer's is. */
export function missingIssuer(error: unknown): { url: string; cert: Buffer } | undefined {
  if (!ISSUER_MISSING.has((error as { code?: string } | null)?.code ?? '')) return undefined
  const last: PeerChain['chain'][number] | undefined = peerChain(error)?.chain.at(-1)
  return last?.issuerAt && last.raw ? { url: last.issuerAt, cert: last.raw } : undefined
}

/**
 * Of `bytes` (what the AIA URL of `cert` served: DER, PEM or PKCS #7), the certificate that issued
 * `cert`, as PEM: a CA (basicConstraints), its subject `cert`'s issuer, its key the one that signed
 * `cert`, in its dates at `now` (ms), and itself issued and signed by one of `anchors` (the
 * certificates the run trusts). `undefined` for anything else: what an untrusted server's
 * certificate points to is taken on no other word. Pure, table-tested (test/tls.test.ts).
 */
export function verifiedIssuer(
  cert: X509Certificate,
  bytes: Buffer,
  anchors: readonly X509Certificate[],
  now = Date.now(),
): string | undefined {
  for (const pem of certificatesOf(bytes)) {
    let issuer: X509Certificate
    try {
      issuer = new X509Certificate(pem)
    } catch {
      continue
    }
    if (!issuer.ca || !cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) continue
    if (now < Date.parse(issuer.validFrom) || now > Date.parse(issuer.validTo)) continue
    if (anchors.some((anchor) => issuer.checkIssued(anchor) && issuer.verify(anchor.publicKey)))
      return issuer.toString()
  }
  return undefined
}

/**
 * GET `url` (http:// or https://), at most `MAX_ISSUER_BYTES`, all of it within `timeout` ms (the
 * connections to the host wait meanwhile): its body on a 200, else `undefined`.
 */
async function fetchBytes(url: string, timeout: number): Promise<Buffer | undefined> {
  const { get } = url.startsWith('https:') ? await import('node:https') : await import('node:http')
  return new Promise((resolve) => {
    const deadline = setTimeout(() => request.destroy(), timeout)
    const done = (bytes: Buffer | undefined) => {
      clearTimeout(deadline)
      resolve(bytes)
    }
    const request = get(url, (response: IncomingMessage) => {
      if (response.statusCode !== 200) {
        response.resume()
        return done(undefined)
      }
      const chunks: Buffer[] = []
      let size = 0
      response.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > MAX_ISSUER_BYTES) {
          request.destroy()
          return done(undefined)
        }
        chunks.push(chunk)
      })
      response.on('end', () => done(Buffer.concat(chunks)))
      response.on('error', () => done(undefined))
    })
    request.on('error', () => done(undefined))
  })
}

/**
 * Issuers fetched for one connection pool, each AIA URL once (the files of a host fail together:
 * one fetch for all): `issuer` resolves to the verified issuer's PEM, or `undefined` (not served,
 * not the issuer, not trusted: the failure stands as it was). `anchors`: the run's trusted
 * certificates, read when first needed.
 */
export class IssuerFetcher {
  readonly #fetched = new Map<string, Promise<string | undefined>>()
  #anchors: X509Certificate[] | undefined

  constructor(
    readonly anchors: () => readonly string[],
    readonly timeout: number,
  ) {}

  issuer(missing: { url: string; cert: Buffer }): Promise<string | undefined> {
    let fetched = this.#fetched.get(missing.url)
    if (!fetched) {
      fetched = fetchBytes(missing.url, this.timeout).then((bytes) => {
        if (!bytes) return undefined
        this.#anchors ??= this.anchors().flatMap((pem) => {
          try {
            return [new X509Certificate(pem)]
          } catch {
            return []
          }
        })
        return verifiedIssuer(new X509Certificate(missing.cert), bytes, this.#anchors)
      })
      this.#fetched.set(missing.url, fetched)
    }
    return fetched.catch(() => undefined)
  }
}
