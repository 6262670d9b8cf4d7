import { X509Certificate } from 'node:crypto'
import type { SecureContext } from 'node:tls'
import { redirectTarget } from './location.js'
import { type PeerChain, peerChain } from './peer-chain.js'
import { certificatesOf, trustedContext } from './trust.js'
import type { Dispatcher } from './undici.js'

/**
 * A server that leaves out its intermediate certificate (SSL Labs' "chain incomplete") sends its
 * leaf alone, whose issuer no store holds: browsers fetch that issuer's certificate from where the
 * leaf says it is (its Authority Information Access, `CA Issuers`, RFC 5280 §4.2.2.1: "AIA
 * fetching"), curl, wget2 and Node do not (curl#2793, request#3106), and every file of such a host
 * failed `tls`. imgpull fetches it too, through the run's own connections (the proxy a request
 * for the URL would go through, its credentials, NO_PROXY), each URL once a run, and follows the
 * fetched certificate's own AIA up to `MAX_ISSUER_FETCHES` levels (a chain missing two
 * intermediates), taking the certificates only when each issued the one below it and a trusted
 * certificate issued the last (see `issuerStep`): the connection is then made again with them
 * trusted, as OpenSSL checks the whole chain.
 */

/** The most bytes an issuer's certificate is read to (a PKCS #7 chain is a few KB). */
export const MAX_ISSUER_BYTES = 64 * 1024

/**
 * The most AIA URLs fetched for one chain: each level a server left out is one (leaf -> I2 -> I1
 * -> root, the leaf sent alone, is two). Chrome's path builder follows AIA a few levels too; more
 * than 3 intermediates under a public root are not issued.
 */
export const MAX_ISSUER_FETCHES = 3

/** The most redirects one AIA fetch follows (a CA's URL moved to a CDN: 301 to another host). */
export const MAX_ISSUER_REDIRECTS = 3

/** OpenSSL's verdicts for an issuer not found, which its certificate fetched may mend. */
const ISSUER_MISSING = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'])

/** Of a TLS failure: the certificate whose issuer was not found (DER) and where it says that issuer's is. */
export function missingIssuer(error: unknown): { url: string; cert: Buffer } | undefined {
  if (!ISSUER_MISSING.has((error as { code?: string } | null)?.code ?? '')) return undefined
  const last: PeerChain['chain'][number] | undefined = peerChain(error)?.chain.at(-1)
  return last?.issuerAt && last.raw ? { url: last.issuerAt, cert: last.raw } : undefined
}

/** Where `cert` says its issuer's certificate is (its first http:// or https:// `CA Issuers` URI). */
export function issuerUrlOf(cert: X509Certificate): string | undefined {
  return /^CA Issuers - URI:(https?:\/\/\S+)$/im.exec(cert.infoAccess ?? '')?.[1]
}

/** A certificate's name in words: its subject's CN (else the whole subject). */
const nameOf = (cert: X509Certificate): string => /^CN=(.*)$/m.exec(cert.subject)?.[1] ?? cert.subject

/**
 * Of `candidates`, the CA that issued `cert`: a CA (basicConstraints), its subject `cert`'s issuer,
 * its key the one that signed `cert`, in its dates at `now` (ms); `trusted` when one of `anchors`
 * (the certificates the run trusts) issued and signed it. Else `why` none is, in words. What an
 * untrusted server's certificate points to is taken on no other word. Pure, table-tested.
 */
export function issuerStep(
  cert: X509Certificate,
  candidates: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
  now = Date.now(),
): { issuer: X509Certificate; trusted: boolean } | { why: string } {
  let why = `none of what it served issued "${nameOf(cert)}"`
  let found: X509Certificate | undefined
  for (const issuer of candidates) {
    if (!issuer.ca || !cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) continue
    const from = Date.parse(issuer.validFrom)
    const to = Date.parse(issuer.validTo)
    if (now < from || now > to) {
      why = `"${nameOf(issuer)}" it served is out of its dates (${issuer.validFrom} to ${issuer.validTo})`
      continue
    }
    if (anchors.some((anchor) => issuer.checkIssued(anchor) && issuer.verify(anchor.publicKey)))
      return { issuer, trusted: true }
    found ??= issuer
  }
  return found ? { issuer: found, trusted: false } : { why }
}

/**
 * Of `bytes` (what the AIA URL of `cert` served: DER, PEM or PKCS #7), the certificate that issued
 * `cert` and that one of `anchors` issued, as PEM (see `issuerStep`); `undefined` for anything else.
 */
export function verifiedIssuer(
  cert: X509Certificate,
  bytes: Buffer,
  anchors: readonly X509Certificate[],
  now = Date.now(),
): string | undefined {
  const step = issuerStep(cert, parsed(certificatesOf(bytes)), anchors, now)
  return 'issuer' in step && step.trusted ? step.issuer.toString() : undefined
}

/** The certificates of `pems` that parse. */
function parsed(pems: readonly string[]): X509Certificate[] {
  return pems.flatMap((pem) => {
    try {
      return [new X509Certificate(pem)]
    } catch {
      return []
    }
  })
}

/** What an AIA URL served: its body and type, or why none (in words). */
export type Fetched = { bytes: Buffer; type: string } | { why: string }

/**
 * Fetches an AIA URL (see `fetchThrough`): through the proxy it goes through, as an image's request
 * would, or `direct`, for the certificate of a proxy itself (through it, the request met the same
 * certificate and failed as the connection it was for had).
 */
export type FetchIssuer = (url: string, direct?: boolean) => Promise<Fetched>

/**
 * GET `url` through `dispatcher` (the run's: direct, or the proxy the URL goes through), following
 * `MAX_ISSUER_REDIRECTS` redirects (http:// and https:// only), at most `MAX_ISSUER_BYTES`, all of
 * it within `timeout` ms (the connections waiting for it wait meanwhile): its body on a 200, else
 * why not (`HTTP 404`, `no answer within 10 s (--connect-timeout)`...).
 */
export async function fetchThrough(
  dispatcher: Dispatcher,
  url: string,
  timeout: number,
  userAgent = '',
): Promise<Fetched> {
  const { request } = await import('./undici.js')
  const signal = AbortSignal.timeout(timeout)
  let at = new URL(url)
  try {
    for (let hops = 0; ; hops++) {
      const answer = await request(at, {
        dispatcher,
        method: 'GET',
        signal,
        ...(userAgent ? { headers: { 'user-agent': userAgent } } : {}),
      })
      const { statusCode, headers, body } = answer
      const location = headers.location
      if (statusCode >= 300 && statusCode < 400 && typeof location === 'string') {
        drop(body)
        if (hops === MAX_ISSUER_REDIRECTS)
          return { why: `it redirected more than ${MAX_ISSUER_REDIRECTS} times` }
        // Read as a transfer's redirect is (its bytes as the server sent them: location.ts).
        const target = redirectTarget(location, at)
        if (!target) return { why: 'it redirected to a Location that is no URL' }
        at = target
        if (at.protocol !== 'http:' && at.protocol !== 'https:')
          return { why: `it redirected to ${at.protocol} (http:// and https:// alone are followed)` }
        continue
      }
      if (statusCode !== 200) {
        drop(body)
        return { why: `HTTP ${statusCode}` }
      }
      const chunks: Buffer[] = []
      let size = 0
      for await (const chunk of body as AsyncIterable<Buffer>) {
        size += chunk.length
        if (size > MAX_ISSUER_BYTES) {
          drop(body)
          return { why: `it served more than ${MAX_ISSUER_BYTES / 1024} KB` }
        }
        chunks.push(chunk)
      }
      return { bytes: Buffer.concat(chunks), type: String(headers['content-type'] ?? '') }
    }
  } catch (error) {
    if (signal.aborted) return { why: `no answer within ${timeout / 1000} s (--connect-timeout)` }
    const e = error as { code?: string; message?: string }
    return { why: `the request failed (${e.code ?? e.message ?? 'unknown'})` }
  }
}

/** Lets go of an answer's body unread (undici's body, destroyed unread, emits an error of its own). */
function drop(body: { on(event: 'error', listener: () => void): unknown; destroy(): unknown }): void {
  body.on('error', () => {})
  body.destroy()
}

type Connect = (options: object, callback: (error: Error | null, socket: unknown) => void) => unknown

/**
 * Issuers fetched for the run's connections, each AIA URL once (the files of a host fail
 * together: one fetch for all), and the TLS context they were added to. `anchors`: the run's
 * trusted certificates, read when first needed; `context`: the context towards image hosts (the
 * run's own, or `undefined` for Node's store: one is made then to add to).
 */
export class IssuerFetcher {
  readonly #fetched = new Map<string, Promise<Fetched>>()
  /** The hosts (host:port) whose AIA URL is being fetched: a failure of theirs fetches none (it would wait on itself). */
  readonly #asking = new Map<string, number>()
  readonly #added = new Set<string>()
  #anchors: X509Certificate[] | undefined
  #context: SecureContext | undefined
  /** Bumped at each certificate added: connectors made before it are made again (see `live`). */
  #version = 0

  constructor(
    readonly anchors: () => readonly string[],
    readonly context: () => SecureContext | undefined,
    readonly fetch: FetchIssuer,
  ) {}

  /**
   * The certificates (PEM, the leaf's issuer first) that mend `missing`, each fetched from where
   * the one below it says (`MAX_ISSUER_FETCHES` at most, none twice) and checked (`issuerStep`),
   * the last issued by a trusted certificate; or `why` not, naming the URL.
   */
  async issuers(
    missing: { url: string; cert: Buffer },
    now = Date.now(),
    direct = false,
  ): Promise<{ pems: string[] } | { why: string }> {
    this.#anchors ??= parsed(this.anchors())
    const pool: X509Certificate[] = []
    const seen = new Set<string>()
    const found: X509Certificate[] = []
    let top = new X509Certificate(missing.cert)
    let url: string | undefined = missing.url
    for (;;) {
      // A PKCS #7 bundle may hold the next level too: looked for there before fetching.
      let step = issuerStep(top, pool, this.#anchors, now)
      if (!('issuer' in step)) {
        if (!url)
          return {
            why: `"${nameOf(top)}", fetched, is issued by no CA trusted here and says no more where its issuer's is`,
          }
        if (seen.has(url))
          return { why: `${url} was asked for again, a loop (each certificate fetched names the other)` }
        if (seen.size === MAX_ISSUER_FETCHES)
          return {
            why: `"${nameOf(top)}", fetched, is issued by no CA trusted here, and more than ${MAX_ISSUER_FETCHES} levels are not fetched`,
          }
        seen.add(url)
        const got = await this.#fetch(url, direct)
        if ('why' in got) return { why: `${url}: ${got.why}` }
        const certs = parsed(certificatesOf(got.bytes))
        if (certs.length === 0)
          return {
            why: `${url} served no certificate (${got.type || 'no Content-Type'}, ${got.bytes.length} bytes)`,
          }
        pool.push(...certs)
        step = issuerStep(top, certs, this.#anchors, now)
        if (!('issuer' in step)) return { why: `${url}: ${step.why}` }
      }
      found.push(step.issuer)
      if (step.trusted) return { pems: found.map((c) => c.toString()) }
      top = step.issuer
      url = issuerUrlOf(top)
    }
  }

  #fetch(url: string, direct: boolean): Promise<Fetched> {
    const key = direct ? `direct ${url}` : url
    let fetched = this.#fetched.get(key)
    if (!fetched) {
      const host = hostKey(url)
      this.#asking.set(host, (this.#asking.get(host) ?? 0) + 1)
      fetched = this.fetch(url, direct)
        .catch((error: Error) => ({ why: `the request failed (${error.message})` }))
        .finally(() => {
          const left = (this.#asking.get(host) ?? 1) - 1
          if (left > 0) this.#asking.set(host, left)
          else this.#asking.delete(host)
        })
      this.#fetched.set(key, fetched)
    }
    return fetched
  }

  /** Trusts `pems` from now on: true when it could. */
  #trust(pems: readonly string[]): boolean {
    try {
      this.#context ??= this.context() ?? trustedContext(undefined, undefined, true)!
      for (const pem of pems) {
        if (this.#added.has(pem)) continue
        this.#added.add(pem)
        this.#context.context.addCACert(pem)
        this.#version++
      }
      return true
    } catch {
      return false
    }
  }

  /**
   * `build` (a TLS connector for a context: `undefined`, the one it was made for) made again with
   * the context issuers were added to, once some are: connections made after see them.
   */
  live<C>(build: (context: SecureContext | undefined) => C): C {
    let built: Connect | undefined
    let at = -1
    return ((options: object, callback: (error: Error | null, socket: unknown) => void) => {
      if (!built || at !== this.#version) {
        built = build(this.#context) as Connect
        at = this.#version
      }
      return built(options, callback)
    }) as C
  }

  /**
   * `connect` (a whole connection: TCP or a proxy's tunnel, then TLS) that, failing for an issuer
   * not found whose certificate says where it is, fetches it (`issuers`), trusts it and connects
   * again, once; where it could not, the failure's chain says why (`PeerChain.fetched`). The issuer
   * is fetched direct where `direct` says the failure is a proxy's own certificate's.
   */
  retrying<C>(given: C, direct: (error: Error) => boolean = () => false): C {
    const connect = given as Connect
    return ((options: object, callback: (error: Error | null, socket: unknown) => void) =>
      connect(options, (error, socket) => {
        const missing = missingIssuer(error)
        const { hostname, port } = options as { hostname?: string; port?: string | number }
        if (!missing || this.#asking.has(`${hostname}:${port || 443}`)) return callback(error, socket)
        this.issuers(missing, undefined, direct(error!)).then(
          (got) => {
            if ('pems' in got && this.#trust(got.pems)) return connect(options, callback)
            const chain = peerChain(error)
            if (chain)
              chain.fetched = 'why' in got ? got.why : 'it could not be added to the certificates trusted'
            callback(error, null)
          },
          () => callback(error, null),
        )
      })) as C
  }
}

/** `url`'s host:port, its scheme's port when it gives none (as undici's connect options give it). */
function hostKey(url: string): string {
  const at = new URL(url)
  return `${at.hostname}:${at.port || (at.protocol === 'https:' ? 443 : 80)}`
}
