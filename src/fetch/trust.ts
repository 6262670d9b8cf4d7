import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const PEM = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g

/**
 * The certificates of a PEM file (one or more, as `NODE_EXTRA_CA_CERTS` takes). Throws a
 * `TypeError` naming the option and the file when it cannot be read or holds no valid certificate.
 */
export function readCaFile(path: string, option = 'caCert'): string[] {
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
  for (const [i, pem] of pems.entries()) {
    try {
      new X509Certificate(pem)
    } catch (error) {
      throw new TypeError(`${path}: certificate ${i + 1} cannot be read: ${(error as Error).message}`)
    }
  }
  return pems
}

/**
 * What undici's connector needs to trust: `undefined` for Node's own store (the system's roots plus
 * `NODE_EXTRA_CA_CERTS`); with `caCert`, that store spelt out plus the file's certificates (giving
 * TLS a `ca` list replaces Node's store, extra certificates included, so they are added back).
 */
export function trustedCas(caCert: string | undefined): string[] | undefined {
  if (caCert === undefined) return undefined
  const extra = process.env.NODE_EXTRA_CA_CERTS
  let fromEnv: string[] = []
  if (extra) {
    try {
      fromEnv = readCaFile(extra, 'NODE_EXTRA_CA_CERTS')
    } catch {
      // Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS; so do we (by ignoring it).
    }
  }
  // node:tls is loaded here only with a CA file (undici loads it with the first https:// URL).
  const { rootCertificates } = createRequire(import.meta.url)('node:tls') as typeof import('node:tls')
  return [...rootCertificates, ...fromEnv, ...readCaFile(caCert)]
}
