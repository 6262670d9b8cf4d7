/**
 * TLS failures, in words a person can act on. A certificate the client cannot trust, or a
 * handshake the two sides cannot complete, fails the same way on every attempt: these are not
 * passing faults, so they fail at once (code `tls`), and a rerun tries again (after the user has
 * trusted the CA, say). Pure, table-tested (test/tls.test.ts).
 */

import { isIP } from 'node:net'
import { utcTime } from '../report/format.js'
import { causes } from '../utils/causes.js'
import { quoted } from '../utils/printable.js'
import { unbracketed } from '../utils/url.js'
import { type PeerChain, peerChain } from './peer-chain.js'

/** How to trust a private CA, and the opt-out that exists: appended to certificate failures. */
export const TRUST_ADVICE =
  'to trust a private CA, pass --ca-cert ca.pem or set NODE_EXTRA_CA_CERTS=ca.pem; ' +
  '--insecure skips certificate checks altogether (unsafe)'

/**
 * What to do about a certificate no CA given can make good (expired, for another name, revoked...):
 * the server's to fix. `TRUST_ADVICE` there sent users to --ca-cert, which changes nothing.
 */
export const SERVER_ADVICE = 'the server must fix it; --insecure skips certificate checks altogether (unsafe)'

/**
 * What to do about a certificate not valid yet: on a client, a clock behind (a fresh VM, a dead
 * RTC battery) is the likelier cause, so it is checked first; only a right clock makes it the
 * server's (a certificate installed before its start). One verdict after the other, not two at once.
 */
export const CLOCK_ADVICE = `check this machine's clock (a clock behind makes a new certificate look so): if it is right, ${SERVER_ADVICE}`

/**
 * What to do about a certificate OpenSSL's security level refuses (a SHA-1 signature, a small key),
 * whoever signed it: curl and wget refuse it too, and no CA given changes that.
 */
export const WEAK_ADVICE =
  "OpenSSL's security level refuses it (curl too), whatever CA is trusted; the server needs a new certificate; " +
  "NODE_OPTIONS='--tls-cipher-list=DEFAULT@SECLEVEL=0' lowers the level, --insecure skips certificate checks altogether (both unsafe)"

/**
 * An issuer not found: a private CA, or a server that leaves out its intermediate certificate,
 * which browsers fetch (AIA), Node and curl do not, and imgpull only where it can (see aia.ts).
 */
const UNKNOWN_ISSUER =
  'its certificate was issued by an unknown authority (or the server leaves out its intermediate certificate, which imgpull fetches only on a direct connection, from where the certificate says it is, issued by a CA trusted here: --ca-cert takes that intermediate too)'

/** OpenSSL's verification codes (as Node names them), in words. */
const CERTIFICATE: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'its certificate chain ends in a self-signed root that is not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: UNKNOWN_ISSUER,
  UNABLE_TO_GET_ISSUER_CERT: 'its certificate was issued by an unknown authority',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: UNKNOWN_ISSUER,
  CERT_HAS_EXPIRED: 'its certificate has expired',
  CERT_NOT_YET_VALID: 'its certificate is not valid yet',
  CERT_REVOKED: 'its certificate has been revoked',
  CERT_SIGNATURE_FAILURE: "its certificate's signature does not verify",
  CERT_UNTRUSTED: 'its certificate is not trusted',
  CERT_REJECTED: 'its certificate is rejected',
  INVALID_CA: 'a certificate in its chain is not a valid CA',
  INVALID_PURPOSE: 'its certificate is not meant for a TLS server',
  PATH_LENGTH_EXCEEDED: 'its certificate chain is longer than its CA allows',
  CERT_CHAIN_TOO_LONG: 'its certificate chain is too long',
  ERROR_IN_CERT_NOT_BEFORE_FIELD: "its certificate's dates cannot be read",
  ERROR_IN_CERT_NOT_AFTER_FIELD: "its certificate's dates cannot be read",
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: "its certificate's signature cannot be read",
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: "its issuer's public key cannot be read",
  HOSTNAME_MISMATCH: 'its certificate is for another host name',
  CA_MD_TOO_WEAK: 'its certificate chain is signed with a digest too weak to trust (such as SHA-1)',
  EE_KEY_TOO_SMALL: "its certificate's key is too small to trust",
  CA_KEY_TOO_SMALL: "its CA's key is too small to trust",
}

/** Certificate failures no CA given makes good, with what to do instead of `TRUST_ADVICE`. */
const ADVICE: Record<string, string> = {
  CERT_HAS_EXPIRED: SERVER_ADVICE,
  CERT_NOT_YET_VALID: CLOCK_ADVICE,
  CERT_REVOKED: SERVER_ADVICE,
  CERT_SIGNATURE_FAILURE: SERVER_ADVICE,
  INVALID_PURPOSE: SERVER_ADVICE,
  PATH_LENGTH_EXCEEDED: SERVER_ADVICE,
  CERT_CHAIN_TOO_LONG: SERVER_ADVICE,
  ERROR_IN_CERT_NOT_BEFORE_FIELD: SERVER_ADVICE,
  ERROR_IN_CERT_NOT_AFTER_FIELD: SERVER_ADVICE,
  HOSTNAME_MISMATCH: SERVER_ADVICE,
  ERR_TLS_CERT_ALTNAME_INVALID: SERVER_ADVICE,
  CA_MD_TOO_WEAK: WEAK_ADVICE,
  EE_KEY_TOO_SMALL: WEAK_ADVICE,
  CA_KEY_TOO_SMALL: WEAK_ADVICE,
}

/**
 * OpenSSL verify failures Node gives no code of their own (`UNSPECIFIED`), by their message:
 * a weak digest or key in the chain.
 */
const UNSPECIFIED: [RegExp, string][] = [
  [/digest algorithm too weak|md too weak/i, 'CA_MD_TOO_WEAK'],
  [/key too small|key too weak/i, 'EE_KEY_TOO_SMALL'],
]

/**
 * Other verify failures Node names `UNSPECIFIED` (it codes only some of OpenSSL's), in words, by
 * OpenSSL's message. Each is the certificate's, whatever CA is trusted: a name outside what its
 * CA's name constraints permit (a company CA restricted to its own domains, RFC 5280 §4.2.1.10), a
 * critical extension OpenSSL does not know, a CA whose key usage does not allow signing
 * certificates, an extension or policy it finds malformed. They were read as no TLS failure at
 * all: `network`, retried for 14 s, `network error on URL: permitted subtree violation
 * (UNSPECIFIED)`, where curl fails at once (exit 60). A message none of these names is left so.
 */
const UNSPECIFIED_WORDS: [RegExp, (reason: string) => string][] = [
  [
    /subtree violation|name constraint/i,
    (reason) => `its certificate is for a name its CA may not certify (the CA's name constraints: ${reason})`,
  ],
  [
    /critical extension/i,
    (reason) => `its certificate has a critical extension OpenSSL does not know (${reason})`,
  ],
  [
    /key usage/i,
    (reason) => `a certificate in its chain is used for what its key usage does not allow (${reason})`,
  ],
  [
    /inconsistent certificate (policy )?extension|explicit policy|proxy certificates|non-CA certificate|Certificate Transparency/i,
    (reason) => `its certificate chain does not verify (${reason})`,
  ],
]

/** What came back is not TLS at all (plain HTTP on a TLS port, say). */
export const NOT_TLS = 'the server does not speak TLS on this port (is the URL meant to be http://?)'

/**
 * Whether what came back to a plain HTTP request begins with a TLS record (an alert, 0x15, or a
 * handshake, 0x16, then version 3.x): the port speaks TLS. An OpenSSL server answers a request
 * that is not a ClientHello with an alert; HTTP's parser then saw 'Expected HTTP/', a network
 * error retried five times, where the same mistake the other way round (plain HTTP on a TLS port)
 * is `NOT_TLS`, at once.
 */
export function answeredInTls(error: unknown): boolean {
  return parserRefused(error, tlsRecord)
}

/**
 * Whether `error`, or one of its causes (four deep at most), is llhttp's refusal of an answer
 * whose bytes (undici's `data`, read as latin1) `begins` knows: what the port speaks instead.
 */
export function parserRefused(error: unknown, begins: (data: string) => boolean): boolean {
  for (const e of causes<{ name?: string; data?: unknown }>(error))
    if (e.name === 'HTTPParserError' && typeof e.data === 'string' && begins(e.data)) return true
  return false
}

/** A TLS record's first bytes (read as latin1): an alert or a handshake, version 3.0 to 3.4. */
export function tlsRecord(data: string): boolean {
  const type = data.charCodeAt(0)
  const minor = data.charCodeAt(2)
  return (type === 0x15 || type === 0x16) && data.charCodeAt(1) === 0x03 && minor >= 0 && minor <= 4
}

/** What a server offering only TLS 1.0 or 1.1 needs (Node 20+ refuses them by default; curl's OpenSSL 3 too). */
const OLD_TLS =
  "; Node refuses TLS 1.0 and 1.1: NODE_OPTIONS='--tls-min-v1.0 --tls-cipher-list=DEFAULT@SECLEVEL=0' allows them (unsafe)"

/**
 * A certificate failed for its dates, in words with them (see peer-chain.ts): which certificate
 * (the server's own, or one in its chain, an intermediate by its name), the date it ended or
 * begins, and this machine's clock, so a clock far off shows at once. `undefined` without the
 * dates, or when none of the chain sent is out of its dates (a CA of this machine's own store).
 */
export function datedWords(code: string, dates: PeerChain | undefined): string | undefined {
  if (!dates || (code !== 'CERT_HAS_EXPIRED' && code !== 'CERT_NOT_YET_VALID')) return undefined
  const expired = code === 'CERT_HAS_EXPIRED'
  const index = dates.chain.findIndex((c) => (expired ? c.to < dates.now : c.from > dates.now))
  const found = dates.chain[index]
  if (!found) return undefined
  const which = index === 0 ? 'its certificate' : `a certificate in its chain ("${quoted(found.name)}")`
  const clock = `this machine's clock says ${utcTime(dates.now, 'minute')}`
  return expired
    ? `${which} expired on ${utcTime(found.to, 'minute')} (${clock})`
    : `${which} is valid only from ${utcTime(found.from, 'minute')} (${clock})`
}

/**
 * An authority not trusted, in words that name it (see peer-chain.ts): the issuer of a chain's
 * last certificate, or the self-signed root it ends in. A private CA and a server leaving out its
 * intermediate look alike (a leaf alone, its issuer unknown), so both are said; a root sent and
 * not trusted is most often a company proxy's that inspects TLS (Zscaler, Fortinet...), whose
 * name then tells what is going on. `undefined` without the chain.
 */
export function authorityWords(code: string, sent: PeerChain | undefined): string | undefined {
  const last = sent?.chain.at(-1)
  if (!last) return undefined
  if (code === 'SELF_SIGNED_CERT_IN_CHAIN' && last.name === last.issuer)
    return `its certificate chain ends in "${quoted(last.name)}", a self-signed root not trusted here (a company proxy that inspects TLS shows a root of its own)`
  if (code !== 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' && code !== 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY')
    return undefined
  const issuer = `"${quoted(last.issuer)}"`
  // Where the certificate says its issuer's is (AIA, as browsers fetch it): the file --ca-cert
  // takes, as it downloads (DER or PEM), where the words named none to look for. imgpull fetches
  // it itself (see aia.ts): a failure that names it says why what was fetched was not taken.
  const at = last.issuerAt
    ? `the certificate says its issuer's is at ${quoted(last.issuerAt)}${sent!.fetched ? ` (fetched, not taken: ${quoted(sent!.fetched)})` : ''}`
    : ''
  return sent!.chain.length === 1
    ? `its certificate was issued by ${issuer}, an authority not trusted here that the server did not send (a private CA, or an intermediate the server leaves out${at ? '' : ' without saying where it is'}: --ca-cert takes either${at && `; ${at}`})`
    : `its certificate chain ends in one issued by ${issuer}, an authority not trusted here${at && ` (${at})`}`
}

/** Extended key usages by OID (RFC 5280 §4.2.1.12), as `openssl x509 -text` names them. */
const PURPOSES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
}

/** Whether an extended key usage allows a TLS server: serverAuth, or any purpose. */
const servesTls = (purposes: string[] | undefined) =>
  !purposes || purposes.includes('1.3.6.1.5.5.7.3.1') || purposes.includes('2.5.29.37.0')

/**
 * Which certificate of the chain the server sent OpenSSL's `unsuitable certificate purpose` or
 * `invalid CA certificate` is about, and why: said of the server's own it sent the user to the
 * wrong one when an intermediate's extended key usage lacks serverAuth (openssl/openssl#8328,
 * error 26 at depth 1) or the issuer is no CA, and of the server's own it gave no reason (a client
 * certificate installed on a server: ssllabs/ssllabs-scan#761, where no tool said so).
 * `undefined` when the chain shows neither.
 */
function purposeWords(code: string, sent: PeerChain | undefined): string | undefined {
  if (code !== 'INVALID_PURPOSE' && code !== 'INVALID_CA') return undefined
  const [leaf, ...above] = sent?.chain ?? []
  const named = (purposes: string[]) => purposes.map((oid) => PURPOSES[oid] ?? oid).join(', ')
  if (leaf && !servesTls(leaf.purposes))
    return `its certificate is not meant for a TLS server (its extended key usage allows ${named(leaf.purposes!)}, not serverAuth)`
  const notCa = above.find((c) => c.ca === false)
  if (notCa)
    return `its chain has "${quoted(notCa.name)}" as an issuing CA, which is not one (basicConstraints CA:FALSE) and may issue no certificate`
  const narrow = above.find((c) => !servesTls(c.purposes))
  return narrow
    ? `"${quoted(narrow.name)}", a CA in its chain, may not issue for TLS servers (its extended key usage allows ${named(narrow.purposes!)}, not serverAuth)`
    : undefined
}

/**
 * A TLS 1.2 server whose hello lacks RFC 5746's renegotiation_info: OpenSSL 3 (Node 17+, curl)
 * refuses it, where OpenSSL 1.1 (Node 16), browsers and wget2 (GnuTLS) take it. A Citrix
 * NetScaler told to deny renegotiation (`denySSLReneg ALL`) drops the extension (Kong/insomnia#4543,
 * node-fetch#1356, nodejs/node#45378); Node said only OpenSSL's `unsafe legacy renegotiation
 * disabled`. The cure is the server's, or an OpenSSL configuration of Node's: no option of Node's
 * own sets `SSL_OP_LEGACY_SERVER_CONNECT`, and imgpull does not set it for every server (a server
 * that also renegotiates unsafely lets a man in the middle put a request of his own before ours).
 */
const LEGACY_RENEGOTIATION =
  'the server does not offer secure renegotiation (RFC 5746), which OpenSSL 3 requires (curl refuses it too; browsers take it): ' +
  'the server must fix it, or OPENSSL_CONF naming a file that sets Options = UnsafeLegacyServerConnect allows it (unsafe; see README, TLS)'

/** How to send a client certificate, for a server that asks for one. */
const GIVE_CERT = '--cert gives one (a PKCS #12 file, or PEM with --key)'

/**
 * Whether imgpull sent a client certificate on the connection that failed: `sent` (`clientCert`
 * given, the connection an image host's), `none`, or `proxy` (given, but the connection was an
 * https:// proxy's, which is never shown it).
 */
export type ClientCertSent = 'sent' | 'none' | 'proxy'

/**
 * The alerts a server sends about the client's certificate (RFC 8446 §6.2, RFC 5246 §7.2.2: each
 * names the certificate the client sent, or its want of one), by Node's code: what the server
 * found wrong with it. These were `the TLS handshake failed (tlsv1 alert unknown ca)`, and under
 * TLS 1.3, where a server refuses the certificate after the client's handshake is done, a
 * `network` error retried 5 times (`a corrupt record?`), where curl fails at once (exit 56).
 */
const CLIENT_CERT_ALERTS: Record<string, string> = {
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'certificate required',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'bad certificate',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'certificate unknown',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'unknown ca',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'certificate expired',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED: 'certificate revoked',
  ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE: 'unsupported certificate',
  ERR_SSL_TLSV1_ALERT_ACCESS_DENIED: 'access denied',
}

/** A handshake failure alert on a connection that sent a client certificate. */
const HANDSHAKE_REFUSED_CERT =
  'the server refused the TLS handshake (no cipher in common, or it refused the client certificate of --cert)'

/** What the server found wrong with a client certificate sent, by alert (see `CLIENT_CERT_ALERTS`). */
const REFUSED_CERT: Record<string, string> = {
  'certificate required':
    'the server asks for a client certificate and got none: the one of --cert is not of a kind it takes (its key type or signature)',
  'unknown ca': 'it was issued by an authority the server does not trust',
  'certificate expired': "it is out of its dates by the server's clock",
  'certificate revoked': 'it has been revoked',
  'unsupported certificate':
    'the server does not take a certificate of its kind (a key usage without TLS client authentication?)',
  'access denied': 'the server knows it, and does not let it in',
}

/**
 * A server's alert about the client certificate, in words, as `sent` makes it (see
 * `ClientCertSent`), or `undefined` for another code. Pure.
 */
export function clientCertWords(code: string, sent: ClientCertSent): string | undefined {
  if (code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' && sent === 'sent') return HANDSHAKE_REFUSED_CERT
  const alert = CLIENT_CERT_ALERTS[code]
  if (alert === undefined) return undefined
  if (sent === 'proxy')
    return `the proxy asks for a client certificate (${alert}), which imgpull shows image hosts alone (--cert), never a proxy`
  if (sent === 'none') return `the server asks for a client certificate (${alert}): ${GIVE_CERT}`
  const why = REFUSED_CERT[alert]
  if (alert === 'certificate required') return `${why} (${alert})`
  return `the server refused the client certificate of --cert${why ? `: ${why}` : ''} (${alert})`
}

/**
 * Failures `HANDSHAKE` words as the handshake's that, once it is done, are the connection's: an
 * internal_error alert (the server failed mid-answer: `tlsv1 alert internal error`, curl's exit
 * 56), a record whose header is not TLS (bytes corrupted on the way). Such a file failed `tls` at
 * once (`the TLS handshake failed on the server side`), not retried, and 3 of them gave up the
 * host for the run; the next connection may well fetch it.
 */
const MID_CONNECTION = new Set([
  'ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
])

/** Handshake alerts and failures (`ERR_SSL_*`) worth their own words. */
const HANDSHAKE: Record<string, string> = {
  // OpenSSL's `bad extension`: the server's hello answered what imgpull did not ask, or spelt an
  // answer wrong; most often ALPN answered with a protocol not offered (RFC 7301 §3.2: a server
  // that speaks none of those offered must refuse with an alert), which curl and wget2 refuse too.
  ERR_SSL_BAD_EXTENSION:
    "the server's TLS hello has an extension imgpull did not offer or cannot read (bad extension: most often an ALPN protocol imgpull did not offer): the server must fix it",
  ERR_SSL_WRONG_VERSION_NUMBER: NOT_TLS,
  ERR_SSL_PACKET_LENGTH_TOO_LONG: NOT_TLS,
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: `the server and imgpull share no TLS version (the server may offer only old ones${OLD_TLS})`,
  ERR_SSL_UNSUPPORTED_PROTOCOL: `the server offers only a TLS version too old to be safe${OLD_TLS}`,
  ERR_SSL_NO_PROTOCOLS_AVAILABLE: 'the server and imgpull share no TLS version',
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: `the server refused the TLS handshake (no cipher in common, or it wants a client certificate: ${GIVE_CERT})`,
  ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR: 'the TLS handshake failed on the server side (internal error alert)',
  ERR_SSL_TLSV1_UNRECOGNIZED_NAME: 'the server does not serve this host name over TLS',
  ERR_SSL_TLSV1_ALERT_UNRECOGNIZED_NAME: 'the server does not serve this host name over TLS',
  ERR_SSL_UNSAFE_LEGACY_RENEGOTIATION_DISABLED: LEGACY_RENEGOTIATION,
}

/**
 * The `ERR_SSL_*` code Node gives an OpenSSL reason, from an error's message where it has only
 * `EPROTO` (`write EPROTO C0..:error:0A000152:SSL routines:final_renegotiate:unsafe legacy
 * renegotiation disabled:../deps/openssl/...`: a failure met as the ClientHello was written), as
 * Node makes it (upper case, `_` for spaces); `undefined` when the message names none.
 */
export function reasonCode(message: string | undefined): string | undefined {
  const reason = /SSL routines:[^:]*:([^:]+):/.exec(message ?? '')?.[1]
  return reason ? `ERR_SSL_${reason.trim().toUpperCase().replaceAll(' ', '_')}` : undefined
}

interface TlsLike {
  code?: string
  message?: string
  reason?: string
  host?: string
  cert?: { subjectaltname?: string; subject?: { CN?: string } }
  cause?: unknown
}

/** A TLS failure in words (see `tlsProblem`). */
export interface TlsProblem {
  /** What is wrong, about the server (`its certificate is self-signed`). */
  words: string
  /** It is about the certificate. */
  certificate: boolean
  /** What to do, for a certificate no CA given makes good; `TRUST_ADVICE` applies when unset. */
  advice?: string
  /** The host names a certificate for another host is for (its DNS names, no wildcard). */
  names?: string[]
  /**
   * Only OpenSSL's reason, no failure named here (`bad record type`, `decryption failed or bad
   * record mac`), or a failure named here that after the handshake is no longer the handshake's
   * (`MID_CONNECTION`): after the handshake, the connection's, as a reset is (see classify.ts).
   */
  unnamed?: boolean
}

/**
 * What went wrong with TLS, as one phrase about the server (`its certificate is self-signed`), and
 * whether it is about the certificate (then `TRUST_ADVICE` applies). `undefined` when the error is
 * not a TLS failure. Looks through undici's wrappers (a proxy's `cause`).
 */
export function tlsProblem(error: unknown, sent: ClientCertSent = 'none'): TlsProblem | undefined {
  for (const e of causes<TlsLike>(error)) {
    // OpenSSL 3.2 renamed "sslv3 alert …" reasons "SSL/TLS alert …" (Node 22's and 24's codes).
    // An `EPROTO` says its OpenSSL reason in its message alone: read as the code Node gives it.
    const given = e.code === 'EPROTO' ? (reasonCode(e.message) ?? e.code) : (e.code ?? '')
    const code = given.replace('ERR_SSL_SSL/TLS_ALERT_', 'ERR_SSL_SSLV3_ALERT_')
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      const asName = addressAsName(e)
      if (asName) return { words: asName, certificate: true, advice: SERVER_ADVICE }
      const names = e.cert?.subjectaltname?.replace(/\b(DNS|IP Address):/g, '') ?? e.cert?.subject?.CN
      const words = names
        ? `its certificate is for ${names}, not ${e.host ?? 'this host'}${wildcardWords(e)}`
        : `its certificate is for another host name than ${e.host ?? 'this one'}`
      const dns = [...(e.cert?.subjectaltname ?? '').matchAll(/\bDNS:([^,\s*]+)(?=,|$)/g)].map((m) => m[1])
      return { words, certificate: true, advice: ADVICE[code], names: dns }
    }
    if (CERTIFICATE[code]) {
      const chain = peerChain(e)
      const words =
        datedWords(code, chain) ??
        authorityWords(code, chain) ??
        purposeWords(code, chain) ??
        CERTIFICATE[code]
      return { words, certificate: true, advice: ADVICE[code] }
    }
    if (code === 'UNSPECIFIED') {
      const reason = quoted((e.message ?? '').trim())
      const weak = UNSPECIFIED.find(([pattern]) => pattern.test(reason))?.[1]
      if (weak) return { words: CERTIFICATE[weak], certificate: true, advice: ADVICE[weak] }
      const words = UNSPECIFIED_WORDS.find(([pattern]) => pattern.test(reason))?.[1]
      if (words) return { words: words(reason), certificate: true, advice: SERVER_ADVICE }
    }
    const refused = clientCertWords(code, sent)
    if (refused) return { words: refused, certificate: false }
    if (HANDSHAKE[code])
      return {
        words: HANDSHAKE[code],
        certificate: false,
        ...(MID_CONNECTION.has(code) && { unnamed: true }),
      }
    if (code.startsWith('ERR_SSL_')) {
      return {
        words: `the TLS handshake failed (${code.slice(8).toLowerCase().replaceAll('_', ' ')})`,
        certificate: false,
        unnamed: true,
      }
    }
    if (code === 'EPROTO' && /SSL|TLS/i.test(e.message ?? '')) {
      return { words: `the TLS handshake failed (${e.message})`, certificate: false, unnamed: true }
    }
  }
  return undefined
}

/**
 * Why a wildcard entry of a certificate for another name does not cover the host it nearly names:
 * a wildcard stands for one label, the leftmost, never for more or for none (RFC 6125 §6.4.3; Node,
 * curl and browsers check so). `*.example.com` covers b.example.com, not a.b.example.com
 * (home-assistant/core#69480) nor example.com itself (chromium/badssl.com#411); the message said
 * `its certificate is for *.example.com, not a.b.example.com`, which reads as a match to whoever
 * takes `*` for any depth. One with a single label after it (`*.test`, `*.com`) stands for no name
 * (Node, curl and OpenSSL want two), said so where it said `*.test covers example.test, not
 * example.test`; and a `*` that is not its whole label (`img*.example.com`: RFC 9525 §6.3, see
 * host-identity.ts) is none, said so where nothing told why. In words after the mismatch
 * (` (a wildcard stands for one label: ...)`), or `''` where no wildcard entry ends the host's name.
 */
function wildcardWords(e: TlsLike): string {
  const host = (e.host ?? '').toLowerCase().replace(/\.$/, '')
  const entries = [...(e.cert?.subjectaltname ?? '').matchAll(/\bDNS:([^,\s]*\*[^,\s]*)/g)].map((m) =>
    m[1]!.toLowerCase().replace(/\.$/, ''),
  )
  const parent = host.slice(host.indexOf('.') + 1)
  const partials = entries.filter((e) => !e.startsWith('*.') && e.slice(e.indexOf('.') + 1) === parent)
  // The one Node took for the host, where more than one ends as it does.
  const label = host.slice(0, host.indexOf('.'))
  const took = (entry: string) => {
    const [before = '', after = ''] = entry.slice(0, entry.indexOf('.')).split('*')
    return label.length >= before.length + after.length && label.startsWith(before) && label.endsWith(after)
  }
  const partial = partials.find(took) ?? partials[0]
  if (partial && host.includes('.'))
    return ` (a * that is not the whole leftmost label is no wildcard, as curl, Go and browsers read it: ${partial} names no host; *.${parent} would cover ${host}; RFC 9525 §6.3)`
  const base = entries
    .filter((entry) => entry.startsWith('*.'))
    .map((entry) => entry.slice(2))
    .filter((b) => host === b || host.endsWith(`.${b}`))
    .sort((a, b) => b.length - a.length)[0]
  if (base === undefined) return ''
  if (!base.includes('.'))
    return ` (a wildcard needs two labels after it, as Node, curl and browsers check it: *.${base} would stand for every name under .${base}, and covers none)`
  const covers =
    host === base
      ? `names below ${base}, not ${base} itself`
      : `${host
          .slice(0, -base.length - 1)
          .split('.')
          .pop()}.${base}, not ${host}`
  return ` (a wildcard stands for one label: *.${base} covers ${covers}; RFC 6125 §6.4.3)`
}

/**
 * A certificate that writes the very IP address a URL gives as a host name: a DNS entry
 * (`DNS:192.168.1.10`, as Windows' `New-SelfSignedCertificate -DnsName` and many appliances write
 * it) or its subject's common name with no subjectAltName at all (MQTT-Explorer#598,
 * rabbitmq/tls-gen#52). An address is checked against the certificate's `IP` entries alone
 * (RFC 5280 §4.2.1.6; RFC 6125 §1.7.2 leaves it out of name checks), as Node, curl and browsers
 * check it, and the message said `its certificate is for 127.0.0.1, not 127.0.0.1`, sending the
 * user to give the URL by a host name. In words, or `undefined` for any other mismatch.
 */
function addressAsName(e: TlsLike): string | undefined {
  const host = unbracketed(e.host ?? '')
  if (!isIP(host)) return undefined
  const alt = e.cert?.subjectaltname
  const entries = alt?.split(/,\s*/) ?? []
  const written = alt
    ? entries.includes(`DNS:${host}`) && `as a host name (DNS:${host})`
    : e.cert?.subject?.CN === host && `only as its common name (CN=${host}), with no subjectAltName`
  return written
    ? `its certificate gives ${host} ${written}, where an IP address is checked against its IP entries alone (RFC 5280 §4.2.1.6: subjectAltName IP:${host})`
    : undefined
}

/** The one-line message of a TLS failure on `url`. */
export function tlsMessage(
  url: string,
  problem: TlsProblem,
  /** The certificate is a proxy's (`url` is the proxy's then). */
  proxy = false,
): string {
  const host = proxy ? `the proxy ${hostOf(url)}` : hostOf(url)
  // An https:// proxy given by an address (or a name) its certificate is not for: the fix is in
  // how it is given (`--proxy https://10.0.0.5:3128` for a proxy whose certificate names
  // proxy.corp), not the server's, as `SERVER_ADVICE` said.
  const name = proxy ? problem.names?.[0] : undefined
  if (name !== undefined) {
    const named = new URL(url)
    named.hostname = name
    return `TLS: cannot verify ${host}: ${problem.words}; give the proxy by a name its certificate is for (${named.origin}); --insecure skips certificate checks altogether (unsafe)`
  }
  // A plain HTTP proxy given as https:// (httpx#951, requests#5843): what to give instead.
  if (proxy && problem.words === NOT_TLS)
    return `TLS: cannot talk to ${host} securely: it does not speak TLS on this port (give it as http://${hostOf(url)}: https:// URLs go through an http:// proxy in a tunnel all the same)`
  // A certificate for another name where the URL gives the host by IP address: no server name
  // went with the hello (SNI, RFC 6066 §3), and a server of many names (a shared host, nginx's
  // first server block) shows its default certificate then, for a name of its own; curl and wget2
  // say only that the name does not match. The cure is most often the URL by its host name.
  const advice =
    problem.names !== undefined && !proxy && byIpAddress(url)
      ? `a URL with an IP address sends no host name (SNI), and a server of many names shows a default certificate without one: give the URL by the host name it is meant for; else ${SERVER_ADVICE}`
      : (problem.advice ?? TRUST_ADVICE)
  return problem.certificate
    ? `TLS: cannot verify ${host}: ${problem.words}; ${advice}`
    : `TLS: cannot talk to ${host} securely: ${problem.words}${byAddress(url, problem)}`
}

/**
 * A handshake refused where the URL gives the host by its IP address: no server name went with it
 * (SNI; RFC 6066 §3 sends none for an address), and a server that serves many names by it (a CDN,
 * a shared host, nginx or Caddy without a default certificate) refuses such a handshake with a
 * handshake failure, as it does curl and wget2. Said, with the cure: the URL by a host name.
 */
function byAddress(url: string, problem: TlsProblem): string {
  const refused =
    problem.words === HANDSHAKE.ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE ||
    problem.words === HANDSHAKE_REFUSED_CERT ||
    problem.words === HANDSHAKE.ERR_SSL_TLSV1_ALERT_UNRECOGNIZED_NAME
  return refused && byIpAddress(url)
    ? '; or it needs a host name (SNI), which a URL with an IP address does not send: give the URL by a name the server serves'
    : ''
}

/** Whether `url` gives its host by an IP address (no server name goes in its TLS hello). */
function byIpAddress(url: string): boolean {
  try {
    return isIP(unbracketed(new URL(url).hostname)) !== 0
  } catch {
    return false
  }
}

/** The host (and port) of `url`, or `url` itself when it does not parse. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}
