import { connect } from 'node:net'
import { quoted } from '../utils/printable.js'
import { tlsRecord } from './tls-errors.js'

/**
 * An HTTP proxy that is not one: the address of a SOCKS proxy, of a TLS-only proxy, or of
 * something else altogether (an SSH port, a typo), given as `http://`. Every request through it
 * fails the same way, so the first that shows it gives the proxy up for the run (see
 * `ProxySilence.refuse`) instead of retrying each file of the list 5 times.
 */

/** The code of an HTTP proxy whose answer is not HTTP: the cause of its `proxy` failure (see classify.ts). */
export const PROXY_NOT_HTTP = 'IMGPULL_PROXY_NOT_HTTP'

/**
 * The code of a proxy's `501 Not Implemented` to a CONNECT: the cause of its `proxy` failure (see
 * classify.ts). Tor's SOCKS port answers an HTTP request so ("501 Tor is not an HTTP Proxy").
 */
export const PROXY_501 = 'IMGPULL_PROXY_501'

/**
 * The first bytes of an answer that is no HTTP at all (llhttp stops at its first byte: `Expected
 * HTTP/`), as undici's parser error hands them, in `error` or its causes; `undefined` for any other
 * error, and for an answer that is HTTP and malformed further on (a proxy may pass such headers on).
 */
export function notHttpAnswer(error: unknown): string | undefined {
  for (
    let e = error as { name?: string; message?: string; data?: unknown; cause?: unknown } | undefined,
      depth = 0;
    e && depth < 4;
    e = e.cause as typeof e, depth++
  )
    if (e.name === 'HTTPParserError' && typeof e.data === 'string' && /Expected HTTP\//.test(e.message ?? ''))
      return e.data
  return undefined
}

/**
 * What an HTTP proxy's first bytes (`data`, as undici's parser hands them: UTF-8 decoded) are, when
 * they are no HTTP status line, in words, with what to give instead. Pure.
 */
export function notHttpWords(data: string, proxy: URL): string {
  const first = data.charCodeAt(0)
  // RFC 1928 §3: a SOCKS5 server's method selection reply begins with its version, 5; it reads
  // `GET ` or `CONNECT ` as a greeting of version 0x47 or 0x43, and refuses it so.
  if (first === 5) return socks5Words(proxy)
  // SOCKS4's reply: a null byte, then 90 to 93 (granted, refused, no identd, identd mismatch).
  if (first === 0 && data.charCodeAt(1) >= 0x5a && data.charCodeAt(1) <= 0x5d)
    return 'it answers as a SOCKS4 proxy, which imgpull does not speak'
  if (tlsRecord(data)) return `it answers in TLS: give it as https://${proxy.host}`
  // Its first line: a banner (`SSH-2.0-...`) says what listens there.
  const start = data.slice(0, 40).split(/\r?\n/)[0]
  return start ? `its answer begins ${quoted(start)}` : 'its answer is not HTTP'
}

/** What to say of an HTTP proxy address where a SOCKS5 proxy answers: what to give instead. */
export const socks5Words = (proxy: URL): string =>
  `it answers as a SOCKS5 proxy: give it as socks5://${proxy.host}`

/**
 * Whether the proxy at `proxy`'s address speaks SOCKS5: a greeting offering no authentication
 * (RFC 1928 §3) gets a reply of version 5. An HTTP proxy answers it with a 400 page or not at
 * all; a SOCKS5 server (ssh -D, Dante, microsocks) reads an HTTP request as a greeting of another
 * version and closes the connection without a word, which is all a client sees of the mistake.
 */
export function speaksSocks5(proxy: URL, ms = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const port = Number(proxy.port) || (proxy.protocol === 'https:' ? 443 : 80)
    const socket = connect({ host: proxy.hostname.replace(/^\[|\]$/g, ''), port })
    const done = (answer: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(answer)
    }
    const timer = setTimeout(() => done(false), ms)
    socket.on('error', () => done(false))
    socket.on('close', () => done(false))
    socket.on('connect', () => socket.write(Buffer.from([5, 1, 0])))
    socket.once('data', (bytes) => done(bytes[0] === 5))
  })
}
