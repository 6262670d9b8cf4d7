import { createRequire } from 'node:module'
import { isIP, type Socket, connect as tcpConnect } from 'node:net'
import type { ConnectionOptions } from 'node:tls'
import { causes } from '../utils/causes.js'
import { quoted } from '../utils/printable.js'
import { unbracketed } from '../utils/url.js'
import { answeringLocalhost, type Lookup } from './shared-lookup.js'
import { tlsRecord } from './tls-errors.js'
import { basicToken } from './url-credentials.js'

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
 * The code of a proxy's `400 Bad Request` to a CONNECT: the cause of its `proxy` failure (see
 * classify.ts). A TLS server given as an http:// proxy may answer a plain request so, in plain
 * (Go's `Client sent an HTTP request to an HTTPS server`, nginx's `The plain HTTP request was sent
 * to HTTPS port`), where others close it without a word.
 */
export const PROXY_400 = 'IMGPULL_PROXY_400'

/**
 * The first bytes of an answer that is no HTTP at all (llhttp stops at its first byte: `Expected
 * HTTP/`), as undici's parser error hands them, in `error` or its causes; `undefined` for any other
 * error, and for an answer that is HTTP and malformed further on (a proxy may pass such headers on).
 */
export function notHttpAnswer(error: unknown): string | undefined {
  for (const e of causes<{ name?: string; message?: string; data?: unknown }>(error))
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
  if (tlsRecord(data)) return tlsWords(proxy)
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
export function speaksSocks5(proxy: URL, ms = 2000, signal?: AbortSignal): Promise<boolean> {
  const socket = proxySocket(proxy)
  return question(socket, ms, signal, (done) => {
    socket.on('error', () => done(false))
    socket.on('connect', () => socket.write(Buffer.from([5, 1, 0])))
    socket.once('data', (bytes) => done(bytes[0] === 5))
  })
}

/**
 * One question to a proxy's address on `socket`: `listen` hears the answer and calls `done`
 * (once or more: the first counts). No answer within `ms`, the socket closed or `signal`
 * aborted is no; the socket is ended whatever the answer.
 */
function question(
  socket: Socket,
  ms: number,
  signal: AbortSignal | undefined,
  listen: (done: (answer: boolean) => void) => void,
): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (answer: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(answer)
    }
    const timer = setTimeout(() => done(false), ms)
    signal?.addEventListener('abort', () => done(false))
    socket.on('close', () => done(false))
    listen(done)
  })
}

/**
 * Whether the proxy at `proxy`'s address speaks TLS: a handshake with it is finished, or refused
 * by an alert of its own (it asks for a client certificate, an old version). An https:// proxy
 * given as http:// (Squid's `https_port`, one served by Node or OpenSSL: psf/requests#1622) reads
 * an HTTP request as no TLS and closes the connection without a word, which is all a client sees
 * of the mistake. Its certificate is not checked: only whether it answers in TLS at all.
 */
export function speaksTls(proxy: URL, ms = 2000, signal?: AbortSignal): Promise<boolean> {
  const { host, port, lookup } = proxyAddress(proxy)
  // node:tls loaded only when asked (see speakingSocket).
  const { connect } = createRequire(import.meta.url)('node:tls') as typeof import('node:tls')
  const socket = connect({
    host,
    port,
    lookup,
    rejectUnauthorized: false,
    ...(isIP(host) ? {} : { servername: host }),
    ALPNProtocols: ['http/1.1'],
  })
  return question(socket, ms, signal, (done) => {
    socket.on('secureConnect', () => done(true))
    socket.on('error', (e: NodeJS.ErrnoException) => done(/ALERT/.test(e.code ?? '')))
  })
}

/**
 * What speaks at the address of an HTTP proxy that closed a request without a word, asked once:
 * a SOCKS5 server or a TLS one (see `speaksSocks5`, `speaksTls`, asked at once), in words with
 * what to give instead; `undefined` when neither answers. The first to answer yes ends the other
 * (a TLS server waits out a SOCKS5 greeting, too short for a record, to the question's end).
 */
export function otherSpeech(proxy: URL, ms = 2000): Promise<string | undefined> {
  const asked = new AbortController()
  const questions: [Promise<boolean>, string][] = [
    [speaksSocks5(proxy, ms, asked.signal), socks5Words(proxy)],
    [speaksTls(proxy, ms, asked.signal), tlsWords(proxy)],
  ]
  return new Promise((resolve) => {
    let left = questions.length
    for (const [question, words] of questions)
      void question.then((yes) => {
        if (yes) {
          asked.abort()
          resolve(words)
        } else if (--left === 0) resolve(undefined)
      })
  })
}

/** What to say of an HTTP proxy address where a TLS server answers: what to give instead. */
export const tlsWords = (proxy: URL): string => `it answers in TLS: give it as https://${proxy.host}`

/**
 * The proxy's address to connect to: its host (an IPv6 one unbracketed), port (its scheme's
 * default), and how its name is looked up (a name under `localhost` is the loopback, as for
 * the run's own connections: see `answeringLocalhost`).
 */
function proxyAddress(proxy: URL): { host: string; port: number; lookup: Lookup } {
  const port = Number(proxy.port) || (proxy.protocol === 'https:' ? 443 : 80)
  return { host: unbracketed(proxy.hostname), port, lookup: answeringLocalhost() }
}

/** A connection of its own to the proxy's address (see `proxyAddress`). */
function proxySocket(proxy: URL): Socket {
  return tcpConnect(proxyAddress(proxy))
}

/**
 * A connection of its own to `proxy` that speaks HTTP: TLS to an https:// proxy, checked with
 * `tls` (the run's trust: `--ca-cert`, `--insecure`), naming the proxy (SNI) unless it is an
 * address (RFC 6066 §3, as its requests' connections do); plain TCP to an http:// one. `ready`:
 * the event after which a request may be written.
 */
function speakingSocket(proxy: URL, tls: () => ConnectionOptions): { socket: Socket; ready: string } {
  if (proxy.protocol !== 'https:') return { socket: proxySocket(proxy), ready: 'connect' }
  const { host, port, lookup } = proxyAddress(proxy)
  // node:tls loaded only when an https:// proxy is asked (see trustedContext).
  const { connect } = createRequire(import.meta.url)('node:tls') as typeof import('node:tls')
  const socket = connect({
    ...tls(),
    host,
    port,
    lookup,
    ...(isIP(host) ? {} : { servername: host }),
    ALPNProtocols: ['http/1.1'],
  })
  return { socket, ready: 'secureConnect' }
}

/** A host no proxy can reach (RFC 2606 §2): what a proxy answers for it, it answers itself. */
export const NO_SUCH_HOST = 'imgpull-probe.invalid'

/**
 * Whether the HTTP proxy at `proxy` answers a plain request for `url` (an http:// URL) itself,
 * without reaching its host: it answers one for the same path on a host that does not exist
 * (`NO_SUCH_HOST`) with the same status line and body. A web server given as a proxy (nginx,
 * Apache, Caddy: they serve absolute-form requests from their own files) does, and so does a
 * proxy that only tunnels (CONNECT) and refuses the plain form (405, 403); a forwarding proxy
 * answers the unknown host with a 502, 503 or 504, or a page of its own that differs from the
 * image host's. An https:// proxy is asked inside TLS, trusted as the run's requests to it are
 * (`tls`: its `--ca-cert` and `--insecure`; made when first needed). `undefined` when it does
 * not, or cannot tell (no answer, a handshake refused, an answer to the file other than its
 * `status`).
 */
export async function answersItself(
  proxy: URL,
  url: URL,
  status: number,
  userAgent: string,
  tls: () => ConnectionOptions = () => ({}),
  ms = 3000,
): Promise<string | undefined> {
  if (!HTTP_PROXY.has(proxy.protocol) || url.protocol !== 'http:') return undefined
  const path = `${url.pathname}${url.search}`
  const ask = (target: string, host: string) => rawGet(proxy, target, host, userAgent, tls, ms)
  const [asked, probe] = await Promise.all([
    ask(url.href, url.host),
    ask(`http://${NO_SUCH_HOST}${path}`, NO_SUCH_HOST),
  ])
  if (!asked || !probe || asked.line !== probe.line || !asked.body.equals(probe.body)) return undefined
  // The same answer as the file's, or it tells nothing of it.
  const again = Number(/^HTTP\/\d(?:\.\d)? (\d{3})/.exec(asked.line)?.[1])
  return again === status && status >= 400 && status < 500 && status !== 407 ? asked.line : undefined
}

/** The schemes of proxies that take plain requests (absolute-form) for http:// URLs. */
const HTTP_PROXY = new Set(['http:', 'https:'])

/** Most of an answer's body compared (a proxy's or server's error page is small). */
const BODY_BYTES = 65_536

/**
 * One `GET target` (absolute-form) to the proxy on its own connection (see `speakingSocket`): its status line and body
 * bytes. It carries the User-Agent and Accept of the file's requests: a proxy that allows traffic
 * by client refused both questions without them alike, and the image host's own 404 was blamed
 * on the proxy (`the proxy wrote it itself`).
 */
function rawGet(
  proxy: URL,
  target: string,
  host: string,
  userAgent: string,
  tls: () => ConnectionOptions,
  ms: number,
): Promise<{ line: string; body: Buffer } | undefined> {
  return new Promise((resolve) => {
    const { socket, ready } = speakingSocket(proxy, tls)
    const chunks: Buffer[] = []
    let size = 0
    const done = () => {
      clearTimeout(timer)
      socket.destroy()
      const all = Buffer.concat(chunks)
      const end = all.indexOf('\r\n\r\n')
      if (end < 0) return resolve(undefined)
      resolve({ line: all.subarray(0, all.indexOf('\r\n')).toString('latin1'), body: all.subarray(end + 4) })
    }
    const timer = setTimeout(done, ms)
    const token = basicToken(proxy)
    const auth = token ? `Proxy-Authorization: ${token}\r\n` : ''
    const agent = userAgent ? `User-Agent: ${userAgent}\r\n` : ''
    socket.on('error', done)
    socket.on('close', done)
    socket.on(ready, () =>
      socket.write(
        `GET ${target} HTTP/1.1\r\nHost: ${host}\r\n${agent}Accept: */*\r\n${auth}Connection: close\r\n\r\n`,
      ),
    )
    socket.on('data', (bytes: Buffer) => {
      chunks.push(bytes)
      size += bytes.length
      if (size > BODY_BYTES) done()
    })
  })
}
