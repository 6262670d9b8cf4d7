/** URLs as they appear in messages: never with credentials, never kilobytes long. */

/** Credentials never appear in messages, logs or the manifest. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (!u.username && !u.password) return url
    u.username = ''
    u.password = ''
    return u.toString()
  } catch {
    return url
  }
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
 * the file name stay readable) when longer than `max` characters.
 */
export function shownUrl(url: string, max = SHOWN_URL_CHARS): string {
  const clean = redactUrl(url)
  if (clean.length <= max) return clean
  const tail = Math.floor((max - 1) / 3)
  return `${clean.slice(0, max - 1 - tail)}…${clean.slice(-tail)}`
}
