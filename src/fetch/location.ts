/**
 * Where a redirect's `Location` leads, from the header as it arrived. Pure, table-tested
 * (test/redirect-target.test.ts).
 *
 * A `Location` should be ASCII, with anything else percent-encoded (RFC 9110 §10.2.2, RFC 3986),
 * but servers send raw bytes: the UTF-8 of `/café.jpg`, or a Latin-1 `é`. undici hands header
 * values over as Latin-1 strings (one character per byte), so the bytes are recovered first, then:
 * - bytes that are valid UTF-8 are read as UTF-8, and the URL parser percent-encodes them as UTF-8
 *   (`/caf%C3%A9.jpg`), as browsers do;
 * - anything else is read as Latin-1, each byte kept as it is (`%E9`): the server meant that byte.
 * Either way the server gets back the bytes it sent. The rest is the WHATWG URL parser's, as in a
 * browser: relative and protocol-relative (`//host/path`) references resolve against the URL
 * asked for, spaces and other characters a browser would encode are percent-encoded, a backslash
 * is a slash, and a fragment is kept on the URL (never sent: requests carry path and query).
 */

import { basicToken } from './url-credentials.js'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * The URL a `Location` value leads to, resolved against `base`; `undefined` when it is no URL.
 * `value`: the header as undici gives it. `http2`: it came over HTTP/2, where undici re-encodes
 * the Latin-1 string Node's HTTP/2 client made of the bytes as UTF-8 before reading it as Latin-1
 * again (undici 7), so one more step back is needed to reach the bytes on the wire.
 */
export function redirectTarget(value: string, base: URL, http2 = false): URL | undefined {
  const text = locationText(wireBytes(value, http2))
  try {
    return new URL(text, base)
  } catch {
    return undefined
  }
}

/** The bytes of a header value as the server sent them. */
export function wireBytes(value: string, http2 = false): Buffer {
  const bytes = Buffer.from(value, 'latin1')
  return http2 ? Buffer.from(bytes.toString('utf8'), 'latin1') : bytes
}

/** Bytes of a `Location` as text the URL parser encodes back to the same bytes. */
function locationText(bytes: Buffer): string {
  if (!bytes.some((b) => b >= 0x80)) return bytes.toString('latin1')
  try {
    return utf8.decode(bytes)
  } catch {
    let text = ''
    for (const b of bytes) text += b >= 0x80 ? `%${b.toString(16).toUpperCase()}` : String.fromCharCode(b)
    return text
  }
}

/**
 * A redirect target without the user and password it names, and the Basic `Authorization` they
 * make (RFC 7617 §2; each `%XX` as its byte, as for a listed URL), or none. The server named them:
 * they go to the target's origin as curl and aria2c send them (dropped, its 401 failed a file those
 * tools get), and no further (see `send`), and never into a message, as the URL is kept without them.
 */
export function takeCredentials(target: URL): { url: URL; authorization: string | undefined } {
  // None for a user with a colon (`basicCarries`): those are dropped, not sent so.
  const authorization = basicToken(target)
  if (target.username === '' && target.password === '') return { url: target, authorization }
  const url = new URL(target)
  url.username = ''
  url.password = ''
  return { url, authorization }
}
