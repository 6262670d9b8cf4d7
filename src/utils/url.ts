import { headOf, tailOf } from './printable.js'

/** URLs as they appear in messages: never with credentials, never kilobytes long. */

/** The escape of each character that ends a URL's host (RFC 3986 §3.2: `/`, `?`, `#`; `\` as `/` in WHATWG's). */
const ENDS_HOST: Record<string, string> = { '/': '%2F', '?': '%3F', '#': '%23', '\\': '%5C' }

/**
 * `address` from its user, password or host on: without its scheme and the slashes after it. The
 * URL parser reads `http:/h`, `http:h` and `http:\h` as `http://h`: any slashes or none.
 */
const afterScheme = (address: string): string => address.replace(/^[a-z][a-z0-9+.-]*:[\\/]*/i, '')

/**
 * The `/`, `?`, `#` or `\` that ends the host of `address` (a URL, a proxy's address) before its
 * last `@`, or `undefined`: a user or password written without percent-encoding holds it
 * (`http://bob:pa#ss@host`), or, after a `/` or `?`, the path or query holds an `@` (`/a@2x.jpg`),
 * which only the URL's failing to parse tells apart.
 */
export function credentialsEnder(address: string): string | undefined {
  const authority = afterScheme(address)
  const at = authority.lastIndexOf('@')
  return /[/?#\\]/.exec(authority.slice(0, Math.max(at, 0)))?.[0]
}

/** An image file's extensions: no top-level domain is one of them (see `atInFileName`). */
const IMAGE_NAME = /^[^/\\?#]*\.(?:jpe?g|png|gif|webp|avif|bmp|tiff?|svg|heic|heif|ico|jxl)(?:[?#]|$)/i

/**
 * Whether the last `@` of `address` stands in a path's file name, not after a user and password:
 * what follows it is an image's file name (`http://h:bad/x@2x.jpg`, a retina name), which as the
 * host would leave no path to fetch. A URL that does not parse with one fails on its host or port
 * (`bad`), and its message names that, not credentials it does not hold.
 */
export const atInFileName = (address: string): boolean =>
  /[/\\]/.test(credentialsEnder(address) ?? '') &&
  IMAGE_NAME.test(address.slice(address.lastIndexOf('@') + 1))

/**
 * Whether `url`, parsed from `text`, took the rest of an unencoded password for its fragment:
 * `http://u:1234#x@host/a.jpg` parses as host `u`, port 1234 and fragment `x@host/a.jpg`.
 */
export const passwordAsFragment = (text: string, url: URL): boolean =>
  url.hash.includes('@') && credentialsEnder(text) === '#'

/**
 * What follows the `@` that ends a user and password: a host name with a dot (its last label a
 * name's, not a number's: `v1@2.0/` is a path), an IPv4 address, an `[IPv6]` one or `localhost`;
 * an optional port; then the path, the query, the fragment or the end.
 */
const HOST_AFTER_AT =
  /^(?:localhost|\[[0-9a-f:.]+\]|(?:\d{1,3}\.){3}\d{1,3}|(?:[a-z0-9-]+\.)+[a-z][a-z0-9-]*)(?::\d*)?(?:[/?#\\]|$)/i

/**
 * Whether `url`, parsed from `text`, took a password with an unencoded `/` or `?` for its port and
 * the start of its path or query: `http://bob:1234/x@127.0.0.1:9/a.jpg` parses as host `bob`, port
 * 1234 and path `/x@127.0.0.1:9/a.jpg`, printing the password in every message. Said so only when
 * nothing else reads it: the parsed host is one word (no dot, not `localhost`, no IP address), a
 * `:` follows it, one segment (`x`) stands between the `/` or `?` and the last `@`, and a host
 * follows that `@` (see `HOST_AFTER_AT`). So `http://h/users/@alice/a.jpg`, `http://h/a@2x.jpg`
 * (see `atInFileName`), `http://intranet:8080/@john.doe/pic.jpg` and
 * `http://minio:9000/avatars/ann@corp.com/a.jpg` stay paths.
 */
export function passwordInPath(text: string, url: URL): boolean {
  if (url.hostname.includes('.') || url.hostname.startsWith('[') || url.hostname === 'localhost') return false
  const authority = afterScheme(text)
  const end = authority.search(/[/?\\]/)
  const at = authority.lastIndexOf('@')
  if (end < 0 || at < end || /#/.test(authority.slice(0, at))) return false
  return (
    authority.slice(0, end).includes(':') &&
    /^[^/?#\\]+$/.test(authority.slice(end + 1, at)) &&
    HOST_AFTER_AT.test(authority.slice(at + 1)) &&
    !atInFileName(text)
  )
}

/** Whether `url`, parsed from `text`, holds an unencoded password where its port and the rest should be (see `passwordAsFragment`, `passwordInPath`). */
export const passwordMisread = (text: string, url: URL): boolean =>
  passwordAsFragment(text, url) || passwordInPath(text, url)

/**
 * Why the user and password of an address, as written (`http://bob:pa#ss@proxy:3128`), cannot
 * be read, in words for the end of a message (`…'s user and password ` + them), or `undefined`: a
 * `/`, `?`, `#` or `\` in them ends the host there (RFC 3986 §3.2), so an `@` after one means they
 * were not percent-encoded. Parsed as it is, `http://bob:1234#x@proxy:3128` named the proxy
 * `bob:1234` (part of the password printed in every failure) and `http://bo#b:pw@proxy` the proxy
 * `bo`; others stopped the run saying the proxy `http://proxy:3128` was no proxy URL (pip#3267,
 * requests#2846, vscode#7056). An image URL's likewise (see `parseFetchUrl`).
 */
export function unencodedCredentials(address: string): string | undefined {
  const ender = credentialsEnder(address)
  return ender && `to be percent-encoded (a ${ender} in them ends the host: write it as ${ENDS_HOST[ender]})`
}

/**
 * Credentials never appear in messages, logs or the manifest: also not those of a URL that does
 * not parse (a mistyped port, a quote or a space around it), which a list gives as often as any.
 */
export function redactUrl(url: string): string {
  // No `@`, no user nor password (the parser takes them only before one): nothing to take out.
  // Parsing to find none cost 1 µs a call, for each URL a run names in a message or the manifest.
  if (!url.includes('@')) return url
  // Up to the last `@`: a password that does not parse may hold a `/` (`http://user:pa/ss@host/`,
  // read as host `user` and port `pa`) or a space. The slashes after the scheme may be one, none
  // or backslashes: the URL parser reads `http:/u:p@h/`, `http:u:p@h/` and `http:\\u:p@h\` as
  // `http://u:p@h/`, so a list holds them (a mistyped port makes them fail all the same).
  const upToLastAt = () => url.replace(/\b([a-z][a-z0-9+.-]*:[\\/]*).*@/gi, '$1')
  try {
    const u = new URL(url)
    // A password all the same, read as a port and a fragment, path or query.
    if (passwordMisread(url, u)) return upToLastAt()
    if (!u.username && !u.password) return url
    u.username = ''
    u.password = ''
    return u.toString()
  } catch {
    // An `@` in a file name: a user and password, if any, end at the first `/` (`http://u:p@h:bad/x@2x.jpg`).
    return atInFileName(url) ? url.replace(/^([a-z][a-z0-9+.-]*:[\\/]*)[^/\\?#]*@/i, '$1') : upToLastAt()
  }
}

/**
 * Query parameters that carry a credential: signed storage URLs (AWS SigV2/V4 `X-Amz-*`,
 * `AWSAccessKeyId`, `Signature`; Google Cloud `X-Goog-*`, `GoogleAccessId`; CloudFront `Policy`,
 * `Key-Pair-Id`; Azure SAS `sig`), bearer tokens, and API keys and passwords given in the query
 * (Google's and Pixabay's `key`, `api_key`, `access_key`, Azure's `subscription-key`, Unsplash's and
 * Imgur's `client_id`, `client_secret`, `password`): names as `-H` headers' are judged
 * (`SECRET_HEADER`), a key being a word's end (`apiKey`, not `keyword`). Lower-cased.
 */
const SIGNING =
  /^(x-amz-|x-goog-)|^(signature|sig|policy|key-pair-id|awsaccesskeyid|googleaccessid|auth|jwt|client_?id|pwd|pass)$|token|secret|passw(or)?d|credential|session|key(?![a-z])/
/**
 * A URL a server redirected to, fit for a file users share (the manifest): without credentials,
 * nor the query parameters of a signed URL (see `SIGNING`), which would hand its access on.
 */
export function withoutSigning(url: string): string {
  try {
    const u = new URL(redactUrl(url))
    const signed = [...u.searchParams.keys()].filter((name) => SIGNING.test(name.toLowerCase()))
    if (signed.length === 0) return u.toString()
    for (const name of signed) u.searchParams.delete(name)
    return u.toString()
  } catch {
    return redactUrl(url)
  }
}

/**
 * `text` with the value of every signing parameter (see `SIGNING`) of the URLs in it written `***`:
 * for what people share (the report), where `?X-Amz-Signature=…` or `?access_token=…` would hand
 * the access on. The URL stays recognisable; the manifest keeps it whole, as it was given.
 */
export function maskSigning(text: string): string {
  return text.replace(/([?&])([^=&#\s'"]+)=([^&#\s'"]+)/g, (match, sep: string, name: string) =>
    SIGNING.test(decodeLeniently(name).toLowerCase()) ? `${sep}${name}=***` : match,
  )
}

/** Any URL in `text` without its user and password (up to the last `@` before the path: a password may hold `@`). */
export function withoutUserInfo(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/]*@/gi, '$1')
}

/**
 * An address (`user:pw@host:port`, with or without a scheme, not always a URL that parses) without
 * its user and password: up to the last `@`, since a password may hold `/` or `@`.
 */
export function withoutCredentials(address: string): string {
  const at = address.lastIndexOf('@')
  if (at < 0) return address
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(address)?.[0] ?? ''
  return scheme + address.slice(at + 1)
}

/** Longest URL shown in a one-line message; the manifest keeps URLs whole. */
export const SHOWN_URL_CHARS = 160

/**
 * A URL for a one-line message: credentials removed, and shortened in the middle (the host and
 * the file name stay readable) when longer than `max` characters. A URL that is shortened has its
 * signing values masked first (`maskSigning`): cut in the middle, a signature's tail would be left
 * without its `name=`, where no later masking (the report's) could tell it, and a cut URL is no
 * longer one to paste anyway. A URL short enough is shown whole (its manifest row has it too).
 */
export function shownUrl(url: string, max = SHOWN_URL_CHARS): string {
  const clean = redactUrl(url)
  if (clean.length <= max) return clean
  const masked = maskSigning(clean)
  if (masked.length <= max) return masked
  const tail = Math.floor((max - 1) / 3)
  return `${headOf(masked, max - 1 - tail)}…${tailOf(masked, tail)}`
}

/**
 * Percent-decode what is a valid escape (RFC 3986 §2.1) and keep the rest as written, as curl
 * does with a URL's user and password: `p%zz` stays `p%zz`, `a%40b` is `a@b`. `decodeURIComponent`
 * would throw on the first bad escape, refusing a URL a server accepts.
 */
export function decodeLeniently(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, decodeRun)
  }
}

/** A run of escapes: each UTF-8 character whole (1 to 4 escapes) decoded, any other byte kept as `%XX`. */
function decodeRun(run: string): string {
  let out = ''
  for (let i = 0; i < run.length; ) {
    let taken = 0
    for (let n = 4; n >= 1 && !taken; n--) {
      try {
        out += decodeURIComponent(run.slice(i, i + 3 * n))
        taken = 3 * n
      } catch {}
    }
    if (!taken) {
      out += run.slice(i, i + 3)
      taken = 3
    }
    i += taken
  }
  return out
}

/** A host without the brackets a URL writes an IPv6 address in (`[::1]` is `::1`; others as they are). */
export const unbracketed = (host: string): string => host.replace(/^\[|\]$/g, '')

/**
 * The host a URL names, as names and limits take it: its host name without the trailing dot of a
 * fully qualified name (`example.com.` is `example.com`, RFC 1034 §3.1), in the ASCII (Punycode)
 * form the URL parser gives, lower case. The parser already folds case and drops a default port.
 */
export const hostName = (url: URL): string => url.hostname.replace(/(?<=[^.])\.$/, '')

/**
 * The key a host's limit, pauses and slots are held under (`scheme://host[:port]`): its origin with
 * `hostName` (`https://EXAMPLE.com.:443` is `https://example.com`). Held under the origin as the URL
 * parser wrote it, `example.com.` and `example.com` were two hosts with a limit each, so a list
 * with both sent the one server twice the requests its limit allowed.
 */
export const hostKey = (url: URL): string =>
  url.hostname.endsWith('.')
    ? `${url.protocol}//${hostName(url)}${url.port ? `:${url.port}` : ''}`
    : url.origin

/** The characters RFC 3986 leaves unreserved: escaping one changes nothing (§2.3). */
const UNRESERVED = /^[A-Za-z0-9._~-]$/

/**
 * A URL's identity for dedupe, as RFC 3986 §6.2.2 compares them: escapes of unreserved characters
 * decoded (`%65` is `e`, `%7E` is `~`), the others' hex in upper case (`%c3%a9` is `%C3%A9`, as
 * the URL parser escapes a raw `é`). One image listed both ways was fetched and saved twice
 * (`café.jpg` and `café-1a2b3c4d.jpg`). The request still goes to the URL as written.
 */
export function urlKey(href: string): string {
  return href.replace(/%[0-9a-fA-F]{2}/g, (code) => {
    const char = String.fromCharCode(Number.parseInt(code.slice(1), 16))
    return UNRESERVED.test(char) ? char : code.toUpperCase()
  })
}

/**
 * The request-target of `url` (RFC 9112 §3.2.1): its path and query, each `%` that begins no
 * escape (`100%.jpg`, `?off=50%`) sent as `%25`, as wget and wget2 send it. The URL parser keeps
 * such a `%` as written (so do curl, aria2c and browsers), and nginx, Apache, IIS, Jetty and Go's
 * server refuse the request as malformed (`400`: gitlabhq#7157, spring-guides/gs-uploading-files#65),
 * where a file named with a `%` is served at `%25`; a server lenient enough to take the bare `%`
 * reads `%25` as the same `%`. Escapes that are escapes are left as they are.
 */
export const requestTarget = (url: URL): string =>
  (url.pathname + queryOf(url)).replace(/%(?![0-9A-Fa-f]{2})/g, '%25')

/**
 * The query of `url` with its `?`: also an empty one (`a.jpg?`), which `url.search` gives as `''`.
 * Browsers and curl send that `?`; the URL, a job of its own (its href keeps it), was asked for
 * without it, the same request as `a.jpg`'s, and a server that tells them apart was never asked.
 */
const queryOf = (url: URL): string => url.search || (url.href.split('#', 1)[0].endsWith('?') ? '?' : '')

/** A JSON string's escapes: `\/`, `\\`, `\"`, `\uXXXX` (RFC 8259 §7; `\b`, `\n`... no URL holds). */
const JSON_ESCAPE = /\\(?:u([0-9a-fA-F]{4})|([\\/"]))/g

/** The character references HTML source writes for `&` (`&amp;`, `&#38;`, `&#x26;`). */
const HTML_AMP = /&(?:amp|#0*38|#x0*26);/gi

/**
 * A URL as copied from the source text of a JSON document or a web page, unescaped: a JSON
 * string's (`https:\/\/host\/a.jpg?w=1\u0026h=2`, as PHP's `json_encode` and many APIs write them)
 * when it begins `http:\/\/` or `https:\/\/`, which no URL does; an HTML attribute's `&amp;` when
 * every `&` of it is so written (`?w=400&amp;h=300`, view-source's `<img src>`: youtube-dl#9279,
 * ruTorrent#858). Sent as written, the first asked for `//a.jpg` (the URL parser reads each `\/`
 * as `//`), the second for a parameter named `amp;h` (the image at another size, or a signed URL
 * refused). Anything else is returned as it is.
 */
export function unescapedUrl(text: string): string {
  let url = text
  if (/^https?:\\\//i.test(url))
    url = url.replace(JSON_ESCAPE, (_, code: string | undefined, char: string | undefined) =>
      code ? String.fromCharCode(Number.parseInt(code, 16)) : char!,
    )
  const amps = url.split('&').length - 1
  if (amps > 0 && (url.match(HTML_AMP)?.length ?? 0) === amps) url = url.replace(HTML_AMP, '&')
  return url
}
