import { isIP } from 'node:net'
import { checkServerIdentity, type PeerCertificate } from 'node:tls'

/**
 * Whether a certificate is for `host`: Node's check (`tls.checkServerIdentity`), refusing besides
 * what it takes of a partial wildcard (`img*.example.com`, `*img.example.com`, `f*o.example.com`).
 * RFC 9525 §6.3 (which replaced RFC 6125 in 2023) has the `*` be the whole leftmost label, as
 * curl, Go's crypto/x509, Chrome and Firefox read it, and takes a partial one for no wildcard:
 * Node still matches it as RFC 6125 §6.4.3 let a client do, `*img.example.com` even for
 * img.example.com (the `*` standing for nothing), so a certificate every other client refuses for
 * the name was trusted. `undefined` when the certificate is for the host, else Node's error
 * (`ERR_TLS_CERT_ALTNAME_INVALID`, with its `host`, `cert` and `reason`), as the TLS connection
 * takes it as its `checkServerIdentity`.
 */
export function hostIdentity(hostname: string, cert: PeerCertificate): Error | undefined {
  const refused = checkServerIdentity(hostname, cert)
  const host = hostname.toLowerCase().replace(/\.$/, '')
  if (refused || isIP(host)) return refused
  const dns = (cert.subjectaltname ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4))
  const cn = cert.subject?.CN as string | string[] | undefined
  const names = dns.length > 0 ? dns : [cn ?? []].flat()
  if (names.some((name) => wholeLabelMatch(host, name))) return undefined
  const reason = `Host: ${host}. is not in the cert's altnames: ${cert.subjectaltname} (a partial wildcard is none)`
  return Object.assign(new Error(`Hostname/IP does not match certificate's altnames: ${reason}`), {
    code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    reason,
    host,
    cert,
  })
}

/** Whether `name` (a certificate's DNS name) is `host`, or `*.` and the name of its parent (RFC 9525 §6.3). */
function wholeLabelMatch(host: string, name: string): boolean {
  const pattern = name.toLowerCase().replace(/\.$/, '')
  if (!pattern.includes('*')) return pattern === host
  const dot = host.indexOf('.')
  return pattern.startsWith('*.') && dot > 0 && pattern.slice(2) === host.slice(dot + 1)
}
