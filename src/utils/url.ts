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
