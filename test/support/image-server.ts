import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import {
  createSecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  constants as h2,
} from 'node:http2'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { type Format, makeImage, seeded, sizeOf } from './images.js'

/**
 * A fault-injecting image server for tests and benchmarks, on 127.0.0.1. Every behaviour is
 * chosen by the request's query string, so a URL list says exactly what each file will do:
 *
 * - `size=N`, `fmt=jpg|png|gif|webp`: the image (bytes fixed by the path's last segment)
 * - `status=N&times=K`: answer N for the first K requests (all, without `times`); `ra=S` adds
 *   `Retry-After: S` (any text, as given), `ra=date:S` the same as an HTTP date S seconds after the
 *   server's `Date` (`raform=rfc850|asctime`: in RFC 9110 §5.6.7's obsolete forms)
 * - the server's clock: `skew=S` its `Date` (and every date counted from it) S seconds off this
 *   machine's, `nodate=1` no `Date` at all; `lm=TEXT` the `Last-Modified` sent, as given
 * - `html=1`: a 200 HTML page instead of an image
 * - `reset=B`, `short=B`, `stall=B` (+`times=K`): after B body bytes reset the connection,
 *   end it early, or go silent; `every=B`: end every answer early after B bytes of its own body
 * - `drip=BPS`: send at BPS bytes per second
 * - `redirect=N`: N redirects before the image; `loop=1`: redirects forever; `to=URL`: one
 *   redirect to URL
 * - `norange=1`: ignore Range; `rotate=1`: a new version on every request (new bytes, ETag and
 *   Last-Modified); `etagrotate=1`: a new ETag on every request, the bytes and Last-Modified
 *   the same (a load-balanced origin or CDN whose every server names the file its own way);
 *   `nolength=1`: no Content-Length (chunked); `close=1`: no Content-Length and
 *   no chunks (the body ends with the connection)
 * - validators: `lmonly=1` no ETag; `nolm=1` no Last-Modified; `weaketag=1` a weak ETag;
 *   `lmfresh=1` a file written in the second of the answer: `Date` equals `Last-Modified`, the same
 *   for every version (a weak date, RFC 9110 §8.8.2.2);
 *   `ifrange=ignore` serve a Range whatever If-Range says, `ifrange=date` only when it names the
 *   Last-Modified (an ETag in it drops the Range: the whole file), `ifrange=304` answers 304 to
 *   one naming the file (read as If-None-Match), `ifrange=412` 412 to any other, a date included
 *   (read as If-Match); `bare206=1` no validators on 206s
 *   (`bare206=etag`: no ETag, the Last-Modified kept)
 * - `flap=1`: two backends behind one URL take the requests in turn (odd ones the first); their
 *   copies of the file differ in mtime (the second's Last-Modified a day later, and its ETag its
 *   own), and the second serves a Range whatever If-Range says; `flap=honor`: both honour it;
 *   `flap=versions`: as `flap=1`, the second holding another version of the file (new bytes of
 *   the same size: a rolling deploy half done); `rangeetag=1`: each 206 an ETag of its own range
 * - partial answers: `partial=B` at most B bytes per answer, as a 206 (even to a plain GET);
 *   `shift=N` a range answer starts N bytes off; `lietotal=1` a 206's total is one byte off;
 *   `tail200=1` a range request is answered 200 with only the tail (`tail200=cr`: with its
 *   Content-Range), as buggy range handlers in scripts do; `rangebody=0` a 206's body is the
 *   file's first bytes, whatever range it names
 * - `end=B` (+`times=K`): the body ends cleanly after byte B, with no length (chunked, or with
 *   `close=1` by closing); `cut=B`: the server's copy is truncated to B bytes, served as whole;
 *   `lead=N`: N newlines before the image, as a script with a blank line before `<?php` sends it
 * - `multipart=1`: a range answer wrapped in multipart/byteranges as one part (RFC 9110 §14.6), as
 *   some servers and CDNs wrap even one range; `multipart=two` in two parts, `=off` its part
 *   naming a range a byte off, `=short` its part 100 bytes short of the range it names,
 *   `=noboundary` its Content-Type naming no boundary; `crunit=none`: a 206's Content-Range
 *   without its unit (`100-199/200`), `crunit=colon` with `bytes:`; `crend=over`: its last byte
 *   one past the range (`100-200/200`)
 */
export interface ImageServerOptions {
  /** Time to first byte, ms. */
  ttfb?: number
  /** Random extra time to first byte, up to this many ms (seeded). */
  jitter?: number
  /** Per-response bandwidth cap, bytes per second. */
  bandwidth?: number
  /** Answer 429 (Retry-After: 1) whenever more than this many requests are in flight. */
  limit?: number
  /** Size of images without `size=`: `[min, max]`, derived from the name. */
  sizes?: [number, number]
  /** Keep a log of requests (path and headers). @default true */
  record?: boolean
  seed?: number
  /**
   * Close a keep-alive connection, without a byte of answer, when a second request comes on it: a
   * server whose idle timeout closed the connection just as the client reused it.
   */
  dropReused?: boolean
  /**
   * Answer `408 Request Timeout` with `Connection: close` when a second request comes on a
   * keep-alive connection: a server that tells a client reusing a connection past its idle
   * timeout so, rather than closing it without a word (Kestrel, RDFox; okhttp#1693).
   */
  timeoutReused?: boolean
  /**
   * Take at most this many connections at once and reset the others as they come (counted in
   * `stats.dropped`): a host with a per-client connection limit (an iptables `connlimit` rule).
   */
  maxConnections?: number
  /**
   * The bytes of an image by name (the path's last segment), in place of made-up ones: real
   * images for a benchmark that decodes them. `undefined`: the made-up image.
   */
  body?: (name: string) => Buffer | undefined
  /** A counter shared by several servers, to see the maxima over all hosts. */
  shared?: { inFlight: number; maxInFlight: number }
  /**
   * Answer a request for a path (without its query) only once the promise this gives resolves;
   * `undefined`: at once. A test holds some files back until a moment it chooses, where a delay
   * would race the machine's load.
   */
  hold?: (path: string) => Promise<void> | undefined
  /**
   * Serve over TLS (`origin` is https://) with this certificate and key (test/support/certs.ts).
   * `http2`: offer HTTP/2 by ALPN, with HTTP/1.1 for clients that do not take it (`node:http2`'s
   * compatibility API), announcing 100 streams at once as most CDNs do. Over HTTPS/1.1 every
   * behaviour above holds, but `reset` closes the connection without a TCP reset (a TLS socket
   * has none to send). Over HTTP/2 a plain image, statuses, redirects, HTML, ranges, validators,
   * bandwidth and `stall` work as above; `reset` resets the file's stream alone (RST_STREAM) and
   * `short`/`every` end it early, the connection carrying on; `close`, `dropReused` and
   * `timeoutReused`, which are about a connection per request, do not apply.
   */
  tls?: { cert: Buffer; key: Buffer; http2?: boolean }
}

export interface RequestLog {
  url: string
  headers: IncomingMessage['headers']
  /** When the request arrived, `performance.now()`. */
  at: number
}

export interface ImageServer {
  origin: string
  url(path: string): string
  /** Bytes the server sends for a path (without faults). */
  bytes(path: string): Buffer
  /**
   * Every whole body the server has served (in whole or in part) for a path (`/name.jpg`, no
   * query), over every query and request seen so far: one, but for `rotate=1` one a request;
   * `cut` and `lead` applied. A file kept from that path must be one of them.
   */
  versions(pathname: string): Buffer[]
  stats: {
    requests: number
    inFlight: number
    maxInFlight: number
    status: Map<number, number>
    /** Connections reset at once, over `maxConnections`. */
    dropped: number
  }
  log: RequestLog[]
  /** Requests seen per path+query. */
  hits: Map<string, number>
  close(): Promise<void>
}

const LAST_MODIFIED = new Date('2024-01-01T00:00:00Z').toUTCString()
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const two = (n: number) => String(n).padStart(2, '0')

/** `ms` as an HTTP-date in `form`: IMF-fixdate, or RFC 9110 §5.6.7's obsolete RFC 850 or asctime. */
export function httpDateAs(ms: number, form: 'imf' | 'rfc850' | 'asctime' = 'imf'): string {
  const d = new Date(ms)
  const imf = d.toUTCString() // "Sun, 06 Nov 1994 08:49:37 GMT"
  const [, , day, month, year, time] = /^(\w+), (\d+) (\w+) (\d+) (\S+) GMT$/.exec(imf) ?? []
  if (form === 'rfc850')
    return `${DAYS[d.getUTCDay()]}, ${day}-${month}-${two(d.getUTCFullYear() % 100)} ${time} GMT`
  if (form === 'asctime')
    return `${imf.slice(0, 3)} ${month} ${String(Number(day)).padStart(2)} ${time} ${year}`
  return imf
}

export async function startImageServer(options: ImageServerOptions = {}): Promise<ImageServer> {
  const { ttfb = 0, jitter = 0, bandwidth, limit, sizes = [2_000, 60_000], record = true } = options
  // Deterministic jitter per server.
  const random = seeded(options.seed ?? 1)
  const cache = new Map<string, Buffer>()
  const hits = new Map<string, number>()
  const log: RequestLog[] = []
  const stats = { requests: 0, inFlight: 0, maxInFlight: 0, status: new Map<number, number>(), dropped: 0 }
  const sockets = new Set<Socket>()

  const imageFor = (u: URL, variant = ''): Buffer => {
    const name = u.pathname.split('/').filter(Boolean).at(-1) ?? 'index'
    const size = Number(u.searchParams.get('size') ?? sizeOf(name, sizes[0], sizes[1]))
    const fmt = (u.searchParams.get('fmt') ?? 'jpg') as Format
    const given = variant ? undefined : options.body?.(name)
    if (given) return given
    const id = `${name}|${size}|${fmt}|${variant}`
    let body = cache.get(id)
    if (!body) {
      body = makeImage(name + variant, size, fmt)
      if (cache.size < 20_000) cache.set(id, body)
    }
    return body
  }

  /** The whole body the `attempt`th request for `u` is a part of (see `versions`). */
  const versionOf = (u: URL, attempt: number): Buffer => {
    const q = u.searchParams
    const deployed = q.get('flap') === 'versions' && attempt % 2 === 0
    const whole = imageFor(u, q.has('rotate') ? `#${attempt}` : deployed ? '#deployed' : '')
    // `cut=B`: the server holds a truncated copy of the image (its first B bytes) and serves it whole.
    const stored = q.has('cut') ? whole.subarray(0, Number(q.get('cut'))) : whole
    // `lead=N`: a script printed N newlines before the image (a blank line before its `<?php`).
    return q.has('lead') ? Buffer.concat([Buffer.alloc(Number(q.get('lead')), 0x0a), stored]) : stored
  }

  const count = (status: number) => stats.status.set(status, (stats.status.get(status) ?? 0) + 1)

  /** Cut an answer off abruptly: see `tls` for what this is over TLS and HTTP/2. */
  const reset = (req: IncomingMessage, res: ServerResponse) => {
    const stream = (res as unknown as Partial<Http2ServerResponse>).stream
    if (stream) stream.close(h2.NGHTTP2_INTERNAL_ERROR)
    else if (options.tls) req.socket.destroy()
    else req.socket.resetAndDestroy()
  }

  // Over HTTP/2, `req`/`res` are the compatibility API's, which answer to what is used here, and
  // `req.socket.end()` ends the stream (Node routes it there), not the connection.
  async function send(req: IncomingMessage, res: ServerResponse, u: URL, attempt: number): Promise<void> {
    const q = u.searchParams
    const times = q.has('times') ? Number(q.get('times')) : Number.POSITIVE_INFINITY
    const faulty = attempt <= times
    // The server's clock: `skew` seconds off this machine's, or no `Date` sent at all.
    const clock = Date.now() + Number(q.get('skew') ?? 0) * 1000
    if (q.has('nodate')) res.sendDate = false
    else if (q.has('skew')) res.setHeader('date', httpDateAs(clock))
    if (ttfb || jitter) await sleep(ttfb + Math.floor(random() * jitter))

    if (limit !== undefined && stats.inFlight > limit) {
      count(429)
      res.writeHead(429, { 'retry-after': '1', 'content-type': 'text/plain' }).end('slow down')
      return
    }
    if (q.has('status') && faulty) {
      const status = Number(q.get('status'))
      const headers: Record<string, string> = { 'content-type': 'text/html' }
      const ra = q.get('ra')
      if (ra) {
        headers['retry-after'] = ra.startsWith('date:')
          ? httpDateAs(clock + Number(ra.slice(5)) * 1000, (q.get('raform') ?? 'imf') as 'imf')
          : ra
      }
      count(status)
      res.writeHead(status, headers).end(`<html><body>error ${status}</body></html>`)
      return
    }
    const redirects = Number(q.get('redirect') ?? 0)
    if (redirects > 0 || q.has('loop') || q.has('to')) {
      const next = new URL(u)
      if (q.has('to')) {
        count(302)
        res.writeHead(302, { location: q.get('to')! }).end()
        return
      }
      if (q.has('loop')) next.searchParams.set('loop', String(Number(q.get('loop')) === 1 ? 2 : 1))
      else next.searchParams.set('redirect', String(redirects - 1))
      count(302)
      res.writeHead(302, { location: next.pathname + next.search }).end()
      return
    }
    if (q.has('html')) {
      count(200)
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end(
        '<!doctype html><html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>',
      )
      return
    }

    const rotate = q.has('rotate')
    // Each request to a rotating file sees a new version: new bytes, ETag and Last-Modified.
    const version = rotate ? attempt : 1
    const body = versionOf(u, attempt)
    const named = q.has('weaketag')
      ? `W/"${version}-${body.length}"`
      : `"${rotate || q.has('etagrotate') ? attempt : 'v1'}-${body.length}"`
    // `flap`: the second of two backends, whose copy of the file is a day younger.
    const second = q.has('flap') && attempt % 2 === 0
    const etag = second ? `"b2-${body.length}"` : named
    const lastModified = q.has('lmfresh')
      ? new Date(LAST_MODIFIED).toUTCString()
      : new Date(Date.parse(LAST_MODIFIED) + (version - 1) * 1000 + (second ? 86_400_000 : 0)).toUTCString()
    const headers: Record<string, string | number> = {
      'content-type': `image/${q.get('fmt') === 'png' ? 'png' : 'jpeg'}`,
      'accept-ranges': q.has('norange') ? 'none' : 'bytes',
    }
    if (!q.has('lmonly')) headers.etag = etag
    if (!q.has('nolm')) headers['last-modified'] = q.get('lm') ?? lastModified
    if (q.has('lmfresh')) headers.date = lastModified
    let start = 0
    let status = 200
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '')
    const ifRange = req.headers['if-range']
    // If-Range matches a strong ETag or the date (RFC 9110 §13.1.5); `ifrange=ignore` serves the range anyway.
    const current =
      !ifRange ||
      q.get('ifrange') === 'ignore' ||
      (second && q.get('flap') !== 'honor') ||
      (ifRange === etag && !etag.startsWith('W/') && q.get('ifrange') !== 'date') ||
      ifRange === (q.get('lm') ?? lastModified)
    // `ifrange=304|412`: If-Range read as If-None-Match (304 when it names the file) or If-Match
    // (412 unless it is the ETag), as servers that do not know it read it.
    const misread = ifRange && range ? q.get('ifrange') : undefined
    const namesFile = ifRange === etag || ifRange === (q.get('lm') ?? lastModified)
    if ((misread === '304' && namesFile) || (misread === '412' && ifRange !== etag)) {
      count(Number(misread))
      res.writeHead(Number(misread), { etag }).end()
      return
    }
    if (range && !q.has('norange') && current) {
      start = Number(range[1])
      if (start >= body.length) {
        count(416)
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end()
        return
      }
      status = 206
    }
    // `shift=N`: a range answer starts N bytes away from the byte asked for (a broken cache).
    if (status === 206 && q.has('shift'))
      start = Math.min(body.length - 1, Math.max(0, start + Number(q.get('shift'))))
    // `partial=B`: every answer carries at most B bytes, as a 206, even to a plain GET.
    let stopAt = body.length
    if (q.has('partial')) {
      if (status === 200 && q.has('shift')) {
        // A plain GET answered with a range that does not start at byte 0.
        status = 206
        start = Math.min(body.length - 1, Math.max(0, Number(q.get('shift'))))
      }
      stopAt = Math.min(body.length, start + Number(q.get('partial')))
      if (stopAt < body.length) status = 206
    }
    // `tail200`: the tail a range asks for, under a 200 (with its Content-Range for `tail200=cr`).
    const tail200 = status === 206 && q.has('tail200')
    if (tail200) {
      status = 200
      if (q.get('tail200') === 'cr') headers['content-range'] = `bytes ${start}-${stopAt - 1}/${body.length}`
    }
    if (status === 206) {
      // `lietotal=1`: the Content-Range of a partial answer states a total one byte off.
      const total = body.length + (q.has('lietotal') ? 1 : 0)
      // `crunit=none`: no unit (old Netscape proxies); `crunit=colon`: `bytes:` (JavaWebServer).
      const unit =
        ({ none: '', colon: 'bytes: ' } as Record<string, string>)[q.get('crunit') ?? ''] ?? 'bytes '
      // `crend=over`: its last byte one past the range, a handler's first byte plus its count (pydio-core#400).
      headers['content-range'] = `${unit}${start}-${stopAt - (q.get('crend') === 'over' ? 0 : 1)}/${total}`
      // `rangeetag=1`: a 206 named by an ETag of its own bytes (a middleware that hashes the body
      // it sends, sibidharan/zealphp#236), another at each range.
      if (q.has('rangeetag')) headers.etag = `"r${start}-${stopAt}"`
      if (q.has('bare206')) {
        delete headers.etag
        if (q.get('bare206') !== 'etag') delete headers['last-modified']
      }
    }
    // `rangebody=0`: a 206's body is the file's first bytes, whatever range it names (a handler
    // that writes the range's header and serves the file from its start, WPChill/download-monitor#816).
    let payload =
      status === 206 && q.get('rangebody') === '0'
        ? body.subarray(0, stopAt - start)
        : body.subarray(start, stopAt)
    const wrap = q.get('multipart')
    if (status === 206 && wrap) {
      const boundary = 'IMGPULL-PARTS'
      const part = (from: number, to: number, named = `${from}-${to - 1}`) =>
        Buffer.concat([
          Buffer.from(
            `\r\n--${boundary}\r\ncontent-type: ${headers['content-type']}\r\ncontent-range: bytes ${named}/${body.length}\r\n\r\n`,
          ),
          body.subarray(from, to),
        ])
      const middle = Math.floor((start + stopAt) / 2)
      const parts: Buffer[] = (
        {
          two: () => [part(start, middle), part(middle, stopAt)],
          off: () => [part(start, stopAt, `${start + 1}-${stopAt - 1}`)],
          short: () => [part(start, stopAt - 100, `${start}-${stopAt - 1}`)],
        } as Record<string, () => Buffer[]>
      )[wrap]?.() ?? [part(start, stopAt)]
      payload = Buffer.concat([...parts, Buffer.from(`\r\n--${boundary}--\r\n`)])
      headers['content-type'] = `multipart/byteranges${wrap === 'noboundary' ? '' : `; boundary=${boundary}`}`
      delete headers['content-range']
    }
    // `end=B`: the body ends cleanly after byte B of the file, with no length to tell it from the whole.
    const ends = q.has('end')
    if (!q.has('nolength') && !ends && !q.has('close')) headers['content-length'] = payload.length
    if (q.has('close')) {
      // No length and no chunks: the body ends when the connection closes (HTTP/1.0 framing).
      res.useChunkedEncodingByDefault = false
      res.shouldKeepAlive = false
      headers.connection = 'close'
    }
    count(status)
    res.writeHead(status, headers)

    // Faults cut the body at a byte count of the whole file.
    const cut = (name: string) =>
      faulty && q.has(name) ? Math.max(0, Number(q.get(name)) - start) : undefined
    const resetAt = cut('reset')
    // `every=B`: every answer ends early after B bytes of its own body (each resume moves on by B).
    // Ended, not reset: a reset may drop bytes the client had not read yet, and the test would count them.
    const short = faulty && q.has('every') ? Number(q.get('every')) : cut('short')
    const stall = cut('stall')
    const clean = cut('end')
    const stop = Math.min(
      resetAt ?? Number.POSITIVE_INFINITY,
      short ?? Number.POSITIVE_INFINITY,
      stall ?? Number.POSITIVE_INFINITY,
      clean ?? Number.POSITIVE_INFINITY,
    )
    const rate = q.has('drip') ? Number(q.get('drip')) : bandwidth
    const chunk = rate ? Math.max(1024, Math.min(65_536, Math.floor(rate / 20))) : 256 * 1024
    const began = performance.now()
    let sent = 0
    const end = Math.min(stop, payload.length)
    while (sent < end) {
      const piece = payload.subarray(sent, Math.min(end, sent + chunk))
      sent += piece.length
      if (!res.write(piece)) await new Promise((r) => res.once('drain', r))
      if (res.destroyed) return
      if (rate) {
        const due = (sent / rate) * 1000 - (performance.now() - began)
        if (due > 0) await sleep(due)
      }
    }
    if (sent >= payload.length || (clean !== undefined && stop === clean)) {
      res.end()
      return
    }
    // Let the bytes written go out first: Node 24's server still holds a chunked answer's first
    // chunks (its head too) when the socket is ended in the same turn, and the cut came before them.
    if (stop === resetAt || stop === short) await new Promise((r) => setImmediate(r))
    if (resetAt !== undefined && stop === resetAt) reset(req, res)
    else if (short !== undefined && stop === short) req.socket.end()
    // stall: keep the connection open and silent until the client gives up
  }

  const served = new WeakMap<Socket, number>()
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x')
    const key = u.pathname + u.search
    const attempt = (hits.get(key) ?? 0) + 1
    hits.set(key, attempt)
    stats.requests++
    stats.inFlight++
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight)
    if (options.shared) {
      options.shared.inFlight++
      options.shared.maxInFlight = Math.max(options.shared.maxInFlight, options.shared.inFlight)
    }
    if (record) log.push({ url: key, headers: req.headers, at: performance.now() })
    let done = false
    const finish = () => {
      if (!done) {
        done = true
        stats.inFlight--
        if (options.shared) options.shared.inFlight--
      }
    }
    res.on('close', finish)
    if (options.dropReused || options.timeoutReused) {
      const n = (served.get(req.socket) ?? 0) + 1
      served.set(req.socket, n)
      if (n > 1) {
        if (options.dropReused) req.socket.destroy()
        else res.writeHead(408, { connection: 'close', 'content-length': 0 }).end()
        return
      }
    }
    const held = options.hold?.(u.pathname)
    ;(held ? held.then(() => send(req, res, u, attempt)) : send(req, res, u, attempt)).catch(() =>
      res.destroy(),
    )
  }
  const { tls } = options
  const server: Server = !tls
    ? createServer({ keepAliveTimeout: 30_000 }, handle)
    : !tls.http2
      ? createHttpsServer({ cert: tls.cert, key: tls.key, keepAliveTimeout: 30_000 }, handle)
      : (createSecureServer(
          {
            cert: tls.cert,
            key: tls.key,
            allowHTTP1: true,
            settings: { maxConcurrentStreams: 100 },
          },
          // The compatibility API's request and response stand in for HTTP/1.1's.
          handle as unknown as (req: Http2ServerRequest, res: Http2ServerResponse) => void,
        ) as unknown as Server)
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  if (options.maxConnections !== undefined) {
    // Node destroys a connection over the limit as soon as it is accepted.
    server.maxConnections = options.maxConnections
    server.on('drop', () => stats.dropped++)
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const origin = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`
  return {
    origin,
    url: (path) => origin + (path.startsWith('/') ? path : `/${path}`),
    bytes: (path) => imageFor(new URL(path, origin)),
    versions: (pathname) => {
      const out: Buffer[] = []
      for (const [key, n] of hits) {
        const u = new URL(key, origin)
        if (u.pathname !== pathname) continue
        const each = u.searchParams.has('rotate') ? n : u.searchParams.get('flap') === 'versions' ? 2 : 1
        for (let attempt = 1; attempt <= each; attempt++)
          if (!out.some((b) => b.equals(versionOf(u, attempt)))) out.push(versionOf(u, attempt))
      }
      return out
    },
    stats,
    log,
    hits,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
