import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { resolve } from 'node:path'

const PEM = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g

/**
 * The certificates of a PEM file (one or more, as `NODE_EXTRA_CA_CERTS` takes). Throws a
 * `TypeError` naming the option and the file when it cannot be read or holds no valid certificate.
 */
export function readCaFile(path: string, option = 'caCert', check = true): string[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new TypeError(
      `Expected \`${option}\` to be a readable PEM file: ${path}: ${(error as Error).message}`,
    )
  }
  const pems = text.match(PEM) ?? []
  if (pems.length === 0)
    throw new TypeError(`Expected \`${option}\` to hold PEM certificates: ${path} has none`)
  // Each certificate parsed here (`check`) is named when it cannot be read; a system bundle of
  // ~150 is left to TLS to parse (checking them all costs ~50 ms of every run's start).
  for (const [i, pem] of check ? pems.entries() : []) {
    try {
      new X509Certificate(pem)
    } catch (error) {
      throw new TypeError(`${path}: certificate ${i + 1} cannot be read: ${(error as Error).message}`)
    }
  }
  return pems
}

/** `SSL_CERT_FILE` values already warned about (once a process). */
const warned = new Set<string>()

/**
 * Certificates added to Node's own store (its bundled Mozilla roots plus `NODE_EXTRA_CA_CERTS`):
 * those of `SSL_CERT_FILE`, the variable OpenSSL-based tools (curl, wget, git) read and Node does
 * not (often the system's bundle, with a company's CA in it), then those of `caCert`. Both add
 * trust, never take any away. Throws a `TypeError` naming `caCert` when its file cannot be read or
 * holds no certificate; an unusable `SSL_CERT_FILE` is warned about once (`IMGPULL_SSL_CERT_FILE`)
 * and left out, as Node does with `NODE_EXTRA_CA_CERTS`: other programs read it too.
 */
export function extraCas(caCert: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  let fromEnv: string[] = []
  const file = env.SSL_CERT_FILE
  // The same file as NODE_EXTRA_CA_CERTS (a common setup) is in Node's store already.
  if (file && resolve(file) !== resolve(env.NODE_EXTRA_CA_CERTS || '.')) {
    try {
      fromEnv = readCaFile(file, 'SSL_CERT_FILE', false)
    } catch (error) {
      if (!warned.has(file)) {
        warned.add(file)
        process.emitWarning(`${(error as Error).message}; its certificates are not trusted`, {
          code: 'IMGPULL_SSL_CERT_FILE',
        })
      }
    }
  }
  return [...fromEnv, ...(caCert === undefined ? [] : readCaFile(caCert))]
}

/**
 * What undici's connector trusts: `undefined` for Node's own store; with extra certificates (see
 * `extraCas`), one TLS context made once for the run, holding that store spelt out
 * (`NODE_EXTRA_CA_CERTS` included) plus them, each trusted on its own (a partial chain)
 * (giving TLS a `ca` list replaces Node's store, `NODE_EXTRA_CA_CERTS` included, so it is added
 * back; and a context built per connection would parse every root certificate each time).
 */
export function trustedContext(caCert: string | undefined): import('node:tls').SecureContext | undefined {
  const extra = extraCas(caCert)
  if (extra.length === 0) return undefined
  let fromEnv: string[] = []
  const env = process.env.NODE_EXTRA_CA_CERTS
  if (env) {
    try {
      fromEnv = readCaFile(env, 'NODE_EXTRA_CA_CERTS', false)
    } catch {
      // Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS; so do we (by ignoring it).
    }
  }
  // node:tls is loaded here only with extra certificates (undici loads it with the first https:// URL).
  const tls = createRequire(import.meta.url)('node:tls') as typeof import('node:tls')
  // A CA given is trusted even when it is an intermediate whose root is not (a company's issuing
  // CA, handed out without its offline root), as curl and wget trust it (OpenSSL's partial chains).
  return tls.createSecureContext({
    ca: [...tls.rootCertificates, ...fromEnv, ...extra],
    allowPartialTrustChain: true,
  } as import('node:tls').SecureContextOptions)
}
