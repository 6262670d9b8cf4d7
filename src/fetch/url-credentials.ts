/**
 * A URL's user and password (a proxy's, or an image's), as the bytes sent: percent-decoded byte
 * for byte, as curl decodes them, so `%40` is `@`, `%3A` a colon, and `%E9` the one byte 0xE9 (a
 * Latin-1 password), which `decodeURIComponent` refused as not UTF-8: a proxy's stopped the run,
 * told to write `%` as `%25`, and an image's went as the three characters `%E9`. One reading for
 * the check of a proxy's before the run (`proxyCredentialsProblem`), Basic (`Authorization`,
 * `Proxy-Authorization`) and SOCKS5's RFC 1929 login, which each decoded them by hand: the SOCKS5
 * one sent no login at all for an empty password (`socks5://APIKEY:@host`), where the HTTP one sent
 * `APIKEY:`.
 */
import { type NetrcEntry, netrcCredentials } from './netrc.js'

export interface UrlCredentials {
  user: Buffer
  password: Buffer
  /** Given (the password at least) by a .netrc file, not by the URL. */
  netrc?: true
  /** The .netrc line that gave the user (its `login`), when it did. */
  line?: number
}

/** `%XX` escapes as their bytes, the rest as its UTF-8 (a URL's userinfo is ASCII already). */
const decoded = (text: string): Buffer => {
  const bytes: Buffer[] = []
  for (const piece of text.split(/(%[0-9a-f]{2})/i)) {
    if (/^%[0-9a-f]{2}$/i.test(piece)) bytes.push(Buffer.from([Number.parseInt(piece.slice(1), 16)]))
    else if (piece) bytes.push(Buffer.from(piece))
  }
  return Buffer.concat(bytes)
}

/** The credentials of `url`, or `undefined` when it names neither a user nor a password. */
export function urlCredentials(url: URL): UrlCredentials | undefined {
  if (!url.username && !url.password) return undefined
  return { user: decoded(url.username), password: decoded(url.password) }
}

/**
 * The credentials a listed URL's requests carry: its own user and password; a password it does not
 * give, from the `.netrc` entries (`--netrc`) for its host and the user it names (or, naming none,
 * the entry's login too). A URL's own password wins over the file, as in curl.
 */
export function listedCredentials(
  url: URL,
  netrc: readonly NetrcEntry[] | undefined,
): UrlCredentials | undefined {
  const own = urlCredentials(url)
  if (!netrc || url.password) return own
  if (!own) return netrcCredentials(netrc, url, undefined, true)
  const found = netrcCredentials(netrc, url, own.user.toString('utf8'), true)
  return found ? { user: own.user, password: found.password, netrc: true } : own
}

/** The Basic `Authorization` value of these credentials (RFC 7617 §2), their bytes as they are. */
export function basicOf(credentials: UrlCredentials): string {
  return `Basic ${Buffer.concat([credentials.user, Buffer.from(':'), credentials.password]).toString('base64')}`
}

/** RFC 1929 gives each of the user and the password one byte of length. */
const SOCKS_MAX = 255

/**
 * Why `proxy`'s credentials cannot be sent as they are written, in words for the end of a usage
 * error, or `undefined`: a `%` that starts no escape (it would have to be `%25`); a colon in the
 * user of an HTTP proxy (Basic joins user and password with one: RFC 7617 §2 forbids it there); a
 * user or password longer than SOCKS5 can carry.
 */
export function proxyCredentialsProblem(proxy: URL): string | undefined {
  if (/%(?![0-9a-f]{2})/i.test(proxy.username + proxy.password))
    return 'to be percent-encoded (write % as %25)'
  const credentials = urlCredentials(proxy)
  if (!credentials) return undefined
  if (proxy.protocol.startsWith('socks')) {
    if (credentials.user.length > SOCKS_MAX || credentials.password.length > SOCKS_MAX)
      return `to be at most ${SOCKS_MAX} bytes each, as SOCKS5 carries them (RFC 1929), once decoded`
  } else if (credentials.user.includes(':'))
    return 'to have no colon in the user (Basic joins user and password with one)'
  return undefined
}

/**
 * The Basic `Authorization` (or `Proxy-Authorization`) value for `url`'s credentials, whenever it
 * has a user or a password (`http://APIKEY:@proxy`, as curl sends them; undici sends them only
 * with both); none for a user with a colon (`basicCarries`).
 */
export function basicToken(url: URL): string | undefined {
  const credentials = urlCredentials(url)
  if (!credentials || !basicCarries(credentials)) return undefined
  return basicOf(credentials)
}

/**
 * Whether Basic can carry these credentials: not a user with a colon (`http://a%3Ab:pw@host/`, a
 * .netrc's `login a:b`), which RFC 7617 §2 forbids: Basic joins user and password with one, so
 * the server reads user `a` and password `b:pw`. curl and wget send them so; here they are not
 * sent by Basic (Digest carries them, see `send`), and a 401 says why (`refusedCredentials`).
 */
export const basicCarries = (credentials: UrlCredentials): boolean => !credentials.user.includes(0x3a)
