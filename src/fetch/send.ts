/**
 * The request step of a transfer: its headers, the URL's credentials, cookies, redirects hop by
 * hop, and the immediate replays of a request a reused connection lost (not retries).
 */
import { randomBytes } from 'node:crypto'
import { errorCode, HTTPError, ImgpullError } from '../errors.js'
import type { ResolvedOptions } from '../options.js'
import { whenCancelled } from '../utils/cancel-hook.js'
import { isSecretHeader } from '../utils/command-line.js'
import { printable, quoted } from '../utils/printable.js'
import { hostKey, redactUrl, requestTarget, shownUrl } from '../utils/url.js'
import { connectionOrigin } from './answers-once.js'
import { atDoor, atHop, atProxy, nothingResumed } from './classify.js'
import { type ConnectStage, markStage, openingStage } from './connect-stage.js'
import { baseJar, ChainCookies } from './cookies.js'
import { decide } from './decide.js'
import { type DigestChallenge, digestAuthorization, digestChallenge } from './digest-auth.js'
import { type Cancel, Exchange, type SendSpacing } from './exchange.js'
import type { HostSends } from './host-sends.js'
import { asksToSlowDown, isRefusedStream, neverSent } from './http2-errors.js'
import { ifRangeValue, isRedirect, resumesInRun } from './judge.js'
import { redirectTarget, takeCredentials } from './location.js'
import { netrcCredentials, netrcOf, netrcPath } from './netrc.js'
import { HEAD_OVERDUE_MS, headOverdue } from './overdue-heads.js'
import { placeholderKind } from './placeholder-target.js'
import { type ProxyPlan, proxyFor, proxyPlan } from './proxy.js'
import { revisit, tooManyNote } from './redirect-revisit.js'
import { parseRetryAfter } from './retry-delay.js'
import { closedOrReset, isTurnedAway } from './retry-policy.js'
import { header, type Step, type Transfer } from './transfer.js'
import { retireConnection } from './undici.js'
import { cutMidHead, isHttp1 } from './undici-connection-notes.js'
import { headBegun, interimAnswer } from './undici-h1-parser.js'
import { http2AllowsNoStream, http2PrefaceMissing } from './undici-h2.js'
import { basicCarries, basicOf, listedCredentials, type UrlCredentials } from './url-credentials.js'

/**
 * Immediate replays of a request whose HTTP/2 stream the server refused unprocessed (see
 * `isRefusedStream`), or that never left imgpull (see `neverSent`).
 */
const MAX_REPLAYS = 4

/**
 * Immediate replays of a request that met the end of a reused keep-alive connection: closed or
 * reset before any byte of the answer, or a 408 (see `isStaleConnection`, `isStaleAnswer`). Each
 * takes out of the pool a connection that had carried an answer, so they cannot go on for ever;
 * but undici gives a replay any idle connection, and when the server's idle timeout has run out
 * for all of them, several replays in a row meet a stale one: with 4, one file in a run of 30
 * failed (1 run in 10) on a server answering 408 on every reused connection.
 */
const MAX_STALE_REPLAYS = 16

/**
 * `421 Misdirected Request`: the server cannot answer for the URL's origin on the connection the
 * request came on (RFC 9110 §15.5.20; a TLS front end whose certificate covers many names, sent a
 * name it routes elsewhere, nginx's and Apache's answer to a request whose SNI is another host's).
 * The client MAY send it again on another connection: once, at once, on a new one, the one that
 * answered 421 taking no new request, as Chrome and Firefox do (whatwg/fetch#1141; Go's transport
 * does not, golang/go#18341, okhttp did not, square/okhttp#5424). A second 421 is the answer.
 */
const MISDIRECTED = 421

/**
 * Ask for the file (or the rest of it), following redirects hop by hop. Cookies a hop sets are
 * sent on the hops after it (see cookies.ts); a hop is a loop only when it would send the same
 * request again: the same URL with the same cookies (a server that sets a cookie and redirects to
 * the same URL is making progress).
 */
export const send: Step = async (t) => {
  const given = lower(t.options.headers)
  const base: Record<string, string> = {
    'user-agent': t.options.userAgent,
    // What curl, wget and requests send: ModSecurity's Core Rule Set answers 403 to a request
    // without Accept. No image types named, so a server that negotiates formats sends the bytes
    // the URL gives everyone else.
    accept: '*/*',
    // Images are compressed already, and only an unencoded body can be resumed (see judge.ts).
    'accept-encoding': 'identity',
    // Proxies that recompress images for a mobile carrier or an office must leave them as the
    // origin made them (RFC 9111 §5.2.1.6).
    'cache-control': 'no-transform',
    ...(t.ctx.revalidate ? { 'cache-control': 'no-cache, no-transform', pragma: 'no-cache' } : {}),
    ...given,
  }
  // An empty value leaves the header out, imgpull's own too: curl's documented way to drop a
  // header it would send (`-H 'Accept:'`, libcurl's CURLOPT_HTTPHEADER alike). It was sent empty.
  for (const [name, value] of Object.entries(given)) if (value === '') delete base[name]
  const listed = new URL(t.url)
  // Each escape as its byte (a Latin-1 `%E9`), as curl sends them, by Basic and Digest alike; a
  // password the URL does not give, from the .netrc (`--netrc`), for its host.
  const netrc = netrcOf(t.options)
  const credentials = listedCredentials(listed, netrc)
  // An Authorization of the user's own (-H) goes in place of the URL's Basic credentials.
  // One given empty too: the header left out, the URL's credentials not sent in its place.
  const ownAuthorization = given.authorization !== undefined
  let url = withoutCredentials(listed)
  const asked = url.href
  const origin = url.origin
  if (!t.cookies) {
    const jar = baseJar(t.options)
    t.cookies = new ChainCookies(jar ? await jar : undefined)
  }
  const cookies = t.cookies
  /** The `Cookie` header a request to `u` carries: the user's (own origin only), then the jar's. */
  const cookieFor = (u: URL) => {
    const own = u.origin === origin ? base.cookie : undefined
    const jar = cookies.header(u)
    return own && jar ? `${own}; ${jar}` : (own ?? jar)
  }
  // Times each request (URL and cookies) was sent in this chain, and the redirects followed.
  const visits = new Map([[`${url.href}\n${cookieFor(url) ?? ''}`, 1]])
  let hops = 0
  // The chain's requests, in order: a URL that comes round with other cookies is a loop (see `tooManyNote`).
  const chain = [{ url: url.href, cookie: cookieFor(url) ?? '' }]
  // The Basic credentials redirect Locations named (`http://user:pw@host/`), by the origin named.
  const named = new Map<string, string>()
  // The Digest challenge the listed URL's user and password answer, once one came: each request to
  // the origin after it answers it for its own URI (a hop to /snapshot.jpg after /snap.cgi was
  // answered with the URI of /snap.cgi, refused, and the file failed, where curl --digest gets it),
  // its nonce reused with the count one up (RFC 7616 §3.4). `answeredAt`: the URL whose 401 it
  // answered; a fresh challenge at another URL is answered too (a server that reuses no nonce).
  // `origin`: the one whose credentials it answers with (the listed URL's, or a .netrc's for a
  // host a redirect led to).
  let digest:
    | { challenge: DigestChallenge; cnonce: string; count: number; answeredAt: string; origin: string }
    | undefined
  // The URLs whose stale nonce was renewed: once each (RFC 7616 §3.3). A server that called every
  // fresh nonce stale again was answered without end, 200 requests to one URL (a request loop, as in rack/rack#406).
  const renewedAt = new Set<string>()
  /**
   * The user and password a request to `u` carries: the listed URL's (or the .netrc's for it) at
   * its origin; elsewhere, only those the .netrc names for that host (never its `default`: a host a
   * server chose is not one the user listed), as curl does since CVE-2024-11053; and never in
   * the clear after an https:// URL (a redirect from https://host to http://host would put the
   * host's own password on the wire, where the user listed it for TLS).
   */
  const credentialsAt = (u: URL): UrlCredentials | undefined =>
    u.origin === origin
      ? credentials
      : netrc && !(listed.protocol === 'https:' && u.protocol === 'http:')
        ? netrcCredentials(netrc, u, undefined, false)
        : undefined
  // The origin the transfer holds its slot on. (After a restart that began at the listed URL
  // again, the slot may still be on the redirect's target: moving there again is then free.)
  // Held under the host's key (`hostKey`): `example.com.` and `example.com` are one host's slots.
  let talking = hostKey(url)
  for (;;) {
    if (hostKey(url) !== talking) {
      talking = hostKey(url)
      await t.ctx.onHop?.(talking)
    }
    const hop = credentialsAt(url)
    const headers = { ...base }
    delete headers.cookie
    if (url.origin !== origin) {
      // Never hand our credentials to another origin: `Authorization` (curl drops it and `Cookie`),
      // nor any header whose name says secret (`X-Api-Key`, `X-Auth-Token`...), which the run's
      // command line hides too: an image API that redirects to storage or a CDN would hand them
      // the key (axios#10711, oryx-labs/oryxos#231).
      for (const name of Object.keys(headers)) if (isSecretHeader(name)) delete headers[name]
    }
    // A `Host` of one's own (`-H 'Host: site'`, to ask a server by its address for a site) names
    // the site of the host it was given with: kept on a redirect to another host, it asked that
    // host for the first one's site (a 404, or another site's file: psf/requests#4665, wpull#425).
    // Dropped there, as curl drops it; the new host is named by its URL.
    if (url.hostname !== listed.hostname) delete headers.host
    const cookie = cookieFor(url)
    if (cookie) headers.cookie = cookie
    t.sentCredentials = undefined
    t.sentCredentialsFrom = hop?.netrc ? netrcPath(t.options.netrc) : undefined
    t.heldUserColon = undefined
    if (hop && digest?.origin === url.origin) {
      headers.authorization = digestAuthorization(digest.challenge, {
        ...hop,
        method: 'GET',
        uri: requestTarget(url),
        cnonce: digest.cnonce,
        count: ++digest.count,
      })
      t.sentCredentials = 'Digest'
    } else if (hop && !(url.origin === origin && ownAuthorization)) {
      // An Authorization of the user's own (-H) goes in place of the listed URL's Basic credentials.
      // Not a user with a colon, which Basic cannot carry (`basicCarries`): the server would read
      // another user and password. A Digest challenge is answered with it (below).
      if (basicCarries(hop)) {
        headers.authorization = basicOf(hop)
        t.sentCredentials = 'Basic'
      } else
        t.heldUserColon =
          hop.netrc && hop.line !== undefined
            ? `the login on line ${hop.line} of ${netrcPath(t.options.netrc)}`
            : "the URL's user"
    }
    // A Location's own credentials, for its origin; an Authorization of the user's own wins there.
    const fromLocation = named.get(url.origin)
    if (fromLocation && !(url.origin === origin && ownAuthorization)) {
      headers.authorization = fromLocation
      t.sentCredentials = 'Basic'
      t.sentCredentialsFrom = undefined
      t.heldUserColon = undefined
    }
    if (t.offset > 0 && resumesInRun(t.known)) {
      headers.range = `bytes=${t.offset - (t.tail?.length ?? 0)}-`
      // No If-Range without a strong validator (RFC 9110 §13.1.5): the answer proves itself (judge.ts).
      // Nor to a server that misread it (see `ifRangeMisread`): the 206's validators are compared.
      const validator = t.known.ifRangeMisread ? undefined : ifRangeValue(t.known)
      if (validator) headers['if-range'] = validator
    }
    t.sent = Object.keys(headers)
    t.redirectedTo = url.href === asked ? undefined : url.href
    await exchangeOnce(t, url, headers)
    const head = t.head!
    if (head.headers['set-cookie'] !== undefined)
      await cookies.store(head.headers['set-cookie'], url, header(head.headers, 'date'))
    // A server that takes the URL's user and password by Digest only (a camera): asked once more,
    // answering its challenge, as wget does; a second 401 is the answer (wrong credentials), unless
    // it says only that the nonce went stale.
    const challenge =
      head.statusCode === 401 && hop ? digestChallenge(head.headers['www-authenticate']) : undefined
    if (
      challenge &&
      (digest === undefined ||
        digest.answeredAt !== url.href ||
        digest.origin !== url.origin ||
        (challenge.stale && digest.challenge.nonce !== challenge.nonce && !renewedAt.has(url.href)))
    ) {
      await t.exchange!.discard()
      if (digest?.answeredAt === url.href && digest.origin === url.origin) renewedAt.add(url.href)
      // Answered at the top of the loop, for this URL.
      digest = {
        challenge,
        cnonce: randomBytes(16).toString('hex'),
        count: 0,
        answeredAt: url.href,
        origin: url.origin,
      }
      continue
    }
    if (!isRedirect({ status: head.statusCode, headers: head.headers })) {
      t.via = url.href === asked ? '' : ` (redirected to ${shownUrl(url.href)})`
      t.answeredAt = url.href
      return decide
    }
    await t.exchange!.discard()
    const location = header(head.headers, 'location')!
    // An empty Location names no target (as a relative reference it would be this URL again).
    const target = location.trim() === '' ? undefined : redirectTarget(location, url, head.http2)
    if (!target) {
      throw new ImgpullError(
        'bad-redirect',
        // Without the user and password it may hold: the message reaches the terminal, the manifest and the report.
        `redirect to no valid URL (${quoted(JSON.stringify(redactUrl(location)))}) for ${t.shown}`,
      )
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      // Named (a long `data:` URL shortened, an `ftp:` password left out): `redirect to file:` said
      // neither where nor why.
      throw new ImgpullError(
        'bad-redirect',
        `redirect to ${printable(shownUrl(target.href, 80))} refused (only http and https are followed) for ${t.shown}`,
      )
    }
    const { url: next, authorization } = takeCredentials(target)
    if (authorization) named.set(next.origin, authorization)
    const stand = placeholderKind(next, listed)
    if (stand) {
      // An image host's "removed" image (imgur's removed.png), or a hotlink protection's "no
      // hotlinking" one (hotlink.png): a valid image, so it was kept as the photo. The host's way
      // to say 404 (or 403); the placeholder is not fetched.
      throw new HTTPError(stand === 'hotlink' ? 403 : 404, t.shown, undefined, t.offset > 0, {
        sent: {
          status: head.statusCode,
          what: `a redirect to ${shownUrl(next.href)}`,
          why:
            stand === 'hotlink'
              ? "a hotlink protection's stand-in, by its name: the site serves the image to its own pages (-H 'Referer: <the page>' sends one)"
              : 'a stand-in for a removed or missing image, by its name',
        },
      })
    }
    const request = `${next.href}\n${cookieFor(next) ?? ''}`
    const sent = visits.get(request) ?? 0
    let wait = 0
    if (sent > 0) {
      // Sent already: a server may mean "come again" (see redirect-revisit.ts).
      const retryAfter = parseRetryAfter(head.headers['retry-after'], Date.now(), head.headers.date)
      const again = revisit(sent, retryAfter, t.options.maxRetryAfter)
      // Still "come again after N s" at the last send the chain makes: a CDN's "not yet" (a
      // thumbnail being made, a cold object being fetched), no loop. Failed as a 503 with that
      // Retry-After is: the attempt retried after the wait (within --max-retry-after), a rerun
      // tries it again. It was a permanent redirect-loop, never retried nor rerun.
      if (again.do === 'loop' && retryAfter !== undefined) {
        const wait = header(head.headers, 'retry-after')!.trim()
        throw new HTTPError(503, t.shown, retryAfter, t.offset > 0, {
          sent: {
            status: head.statusCode,
            what: `a redirect back to ${shownUrl(next.href)}, sent ${sent} times, that still asks to come again later`,
            why: `Retry-After: ${wait}`,
          },
        })
      }
      if (again.do === 'loop') {
        throw new ImgpullError(
          'redirect-loop',
          `redirect loop at ${shownUrl(next.href)} for ${t.shown} (asked ${sent} times)`,
        )
      }
      wait = again.wait
    }
    chain.push({ url: next.href, cookie: cookieFor(next) ?? '' })
    if (++hops > t.options.maxRedirects) {
      throw new ImgpullError(
        'too-many-redirects',
        `more than ${t.options.maxRedirects} redirects for ${t.shown}, the last to ${shownUrl(next.href)}${tooManyNote(chain)}`,
      )
    }
    visits.set(request, sent + 1)
    await pause(t.cancel, wait)
    url = next
  }
}

/** `ms` of waiting, cut short by the attempt's cancel (the request after it then fails at once). */
async function pause(cancel: Cancel, ms: number): Promise<void> {
  if (ms <= 0 || cancel.aborted) return
  await new Promise<void>((resolve) => {
    const undo = whenCancelled(cancel, () => {
      clearTimeout(timer)
      resolve()
    })
    const timer = setTimeout(() => {
      undo()
      resolve()
    }, ms)
  })
}

/** Each run's proxy plan (see `runProxyPlan`). */
const proxyPlans = new WeakMap<ResolvedOptions, ProxyPlan | undefined>()

/**
 * The run's proxy plan, read from its options and the environment once: reading the nine proxy
 * variables took about 1.6 µs a request. The run's dispatcher (client.ts) reads them once too, at
 * its start, so an environment changed later routes no request otherwise.
 */
function runProxyPlan(options: ResolvedOptions): ProxyPlan | undefined {
  if (!proxyPlans.has(options)) proxyPlans.set(options, proxyPlan(options.proxy))
  return proxyPlans.get(options)
}

/**
 * One request, up to its response head. A request whose connection dies before any byte of the
 * answer (a keep-alive connection the server closed as we reused it), or whose HTTP/2 stream the
 * server refused unprocessed (see `isRefusedStream`), or that never left (an HTTP/2 session ended
 * as it was written, see `neverSent`), or that a reused connection answered 408 (see
 * `isStaleAnswer`), is sent again at once, as browsers do: not a retry, no backoff.
 */
/** --wait for the requests to `host` of transfer `t`, taken as each is written (see host-sends.ts). */
function sendSpacing(
  t: Transfer,
  sends: HostSends,
  host: string,
  slots: Map<string, number> | undefined,
): SendSpacing {
  const slotOf = slots ? (h: string) => slots.get(h) : sends.own
  return {
    due: () => sends.due(host, slotOf),
    claim: () => {
      // The first request to its host leaves the gap drawn with the attempt's turn.
      const taken = sends.claim(host, t.ctx.gap, slotOf)
      if (taken) t.ctx.gap = undefined
      return taken
    },
  }
}

async function exchangeOnce(t: Transfer, url: URL, headers: Record<string, string>): Promise<void> {
  const proxy = proxyFor(url, runProxyPlan(t.options))
  const connectedTo = connectionOrigin(url, proxy)
  // --wait, taken as each request (a replay, a redirect's too) is written: see host-sends.ts.
  const { sends, slots } = t.ctx
  const spacing = sends && sendSpacing(t, sends, hostKey(url), slots)
  for (;;) {
    let started = performance.now()
    const exchange = new Exchange(
      t.ctx.dispatcher,
      url,
      {
        method: 'GET',
        headers,
        headersTimeout: t.options.headersTimeout,
        bodyTimeout: t.options.idleTimeout,
        ...(t.readPastLength ? { readPastLength: true } : {}),
        ...(t.ctx.answersOnce.oneEach(connectedTo) ? { reset: true } : {}),
      },
      t.cancel,
      spacing,
      t.ctx.pauses,
    )
    t.exchange = exchange
    // undici restarts its headers timer on every 1xx: a server sending `102 Processing` forever
    // would hold the slot until the total timeout. This one runs from the request to the answer.
    const headersTimeout = t.options.headersTimeout
    // Where the request stood when its headers timeout ran out, said on `error`; whether it was
    // silent on a connection that had answered before (see answers-once.ts).
    const heardSilence = (error: Error): boolean => {
      const stage = waitingAt(exchange)
      // Never written (undici's onConnect not reached): its connection was still opening (through a
      // proxy, its CONNECT or the TLS in the tunnel: undici's connect timeout starts after these).
      if (exchange.reused === undefined) markStage(error, 'opening')
      else if (stage !== undefined) markStage(error, stage)
      else if (exchange.reused && isHttp1(exchange.socket)) {
        t.ctx.answersOnce.found(connectedTo)
        return true
      } else if (exchange.reused === false) t.ctx.answersOnce.silentFresh(connectedTo)
      return false
    }
    const timedOut = () => {
      const error = Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' })
      silentOnReuse = heardSilence(error)
      ours = error
      exchange.abort(error)
    }
    // A head long in coming on a connection that has answered nothing yet: the server may be
    // serving one connection at a time (see headOverdue). On a reused one it is a slow answer,
    // and the host's idle connections are better kept. One timer a request: it first fires at
    // the overdue mark, and only a request still waiting then arms the rest of the headers timeout.
    let overdue: (() => void) | undefined
    let silentOnReuse = false
    let ours: Error | undefined
    const overdueMark = () => {
      // Still held for its host's --wait or pause (see `SendSpacing`, `SendPauses`): nothing sent yet, no time to count.
      if (exchange.held) {
        timer = setTimeout(overdueMark, Math.min(HEAD_OVERDUE_MS, headersTimeout))
        return
      }
      // Counted from when it was given to a connection, after a hold.
      if (exchange.givenAt - started > 1) {
        started = exchange.givenAt
        const left = Math.min(HEAD_OVERDUE_MS, headersTimeout) - (performance.now() - started)
        if (left > 0) {
          timer = setTimeout(overdueMark, left)
          return
        }
      }
      if (headersTimeout <= HEAD_OVERDUE_MS) return timedOut()
      if (exchange.reused !== true) overdue = headOverdue(url.origin)
      timer = setTimeout(timedOut, headersTimeout - (performance.now() - started))
    }
    let timer = setTimeout(overdueMark, Math.min(HEAD_OVERDUE_MS, headersTimeout))
    try {
      t.head = await exchange.response
      t.ttfb = performance.now() - Math.max(started, exchange.givenAt)
      t.fresh = exchange.reused === false
      if (exchange.reused === false) t.ctx.answersOnce.answeredFresh(connectedTo)
      const stale = isStaleAnswer(t.head.statusCode, exchange.reused, t.head.http2)
      // A 421 Misdirected Request: once, on a new connection (see `MISDIRECTED`).
      if (t.head.statusCode === MISDIRECTED && !t.misdirected) {
        if (t.head.http2) retireConnection(exchange, exchange.socket)
        await exchange.discard()
        if (!t.head.http2) retireConnection(exchange, exchange.socket)
        t.misdirected = true
        continue
      }
      if (!stale || t.staleReplays >= MAX_STALE_REPLAYS) return
      // Its body thrown away as every other is: not waited for past 100 ms (see `discard`).
      await exchange.discard()
      t.staleReplays++
    } catch (error) {
      // Cut by the total timeout (or a stop) before its head: where it was, for the message.
      if (t.cancel.aborted && error === t.cancel.reason) markStage(error, cutAt(exchange, url, proxy, error))
      // undici's own headers timer, had it run out before ours, is heard as ours is: its coarse
      // clock (a tick every 499 ms) can end a wait a few ms short of its length.
      else if (error !== ours && errorCode(error) === 'UND_ERR_HEADERS_TIMEOUT' && error instanceof Error)
        silentOnReuse = heardSilence(error)
      const stale = silentOnReuse || isStaleConnection(error, exchange.reused, cutMidHead(error))
      const refused = !stale && (isRefusedStream(error) || neverSent(error, exchange.reused !== undefined))
      const spent = stale ? t.staleReplays >= MAX_STALE_REPLAYS : t.replays >= MAX_REPLAYS
      if (t.cancel.aborted || spent || !(stale || refused)) {
        if (!t.cancel.aborted && (isTurnedAway(error, exchange.reused) || asksToSlowDown(error)))
          atDoor(error)
        if (!t.cancel.aborted && headers.range !== undefined && noAnswer(error)) nothingResumed(error)
        // The origin, not the host: http://site/ sent to https://site/ fails in TLS on the hop.
        throw url.origin === new URL(t.url).origin ? error : atHop(error, url.href)
      }
      if (stale) t.staleReplays++
      else t.replays++
    } finally {
      clearTimeout(timer)
      overdue?.()
    }
  }
}

/**
 * Where a request sent and waiting for its answer's head stands, where it says more than "no
 * answer yet": its head begun, an interim answer and no final one, an HTTP/2 connection never
 * begun or allowing no stream. The headers timeout and the total timeout say it alike.
 */
function waitingAt(exchange: Exchange): ConnectStage | undefined {
  const interim = interimAnswer(exchange.socket)
  if (headBegun(exchange.socket)) return 'head'
  if (interim !== undefined) return `interim-${interim}`
  if (http2PrefaceMissing(exchange.socket)) return 'preface'
  if (http2AllowsNoStream(exchange.socket)) return 'streams'
  return undefined
}

/**
 * Where the total timeout cut a request waiting for its head: its connection still opening (at
 * which stage: to the origin, or through `proxy` to the proxy itself, `error` then marked so), or
 * sent and waiting (see `waitingAt`). A connection through a proxy that opened, its tunnel not yet,
 * is only said to be opening.
 */
function cutAt(exchange: Exchange, url: URL, proxy: URL | undefined, error: unknown): ConnectStage {
  if (exchange.reused !== undefined) return waitingAt(exchange) ?? 'unanswered'
  if (!proxy) return openingStage(url) ?? 'opening'
  // Its connection to the proxy still opening (a proxy whose SYN is dropped): the proxy's stage,
  // where it was said as a connection still opening, the proxy not named.
  const atTheProxy = openingStage(proxy)
  if (atTheProxy === undefined) return 'opening'
  atProxy(error)
  return atTheProxy
}

/**
 * The server took the request and gave no answer that can be read: it closed or reset the
 * connection (over HTTP/2, reset the stream or ended the session with an error), kept silent past
 * `--headers-timeout`, or sent a head undici refuses. Not a connect, name or TLS failure: those
 * never reached the server, and say nothing of the request's `Range`.
 */
function noAnswer(error: unknown): boolean {
  const code = errorCode(error)
  return (
    closedOrReset(error) ||
    code === 'ERR_HTTP2_STREAM_ERROR' ||
    code === 'ERR_HTTP2_SESSION_ERROR' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' ||
    (error as Error | null)?.name === 'HTTPParserError'
  )
}

/**
 * The connection died before the answer began, in a way a reused keep-alive connection does: the
 * other side closed it or reset it, or sent bytes that begin no answer where the next one should
 * begin (see `beginsNoAnswer`). Only a connection that had carried an exchange to its answer
 * (`reused`, see `Exchange.reused`) can have been closed by the server as we sent: a new one that
 * fails so (or fails before the request went out at all: a connect or TLS handshake reset) is a
 * fault of the server, to retry with backoff; each replay would be one more request it never
 * asked for, as Chromium's rule also has it. So is a reused one that died with part of the
 * answer's head come (`midHead`): the server began to answer (curl retries a reused connection
 * only when it read nothing, RFC 9112 §9.3.1).
 */
export function isStaleConnection(error: unknown, reused?: boolean, midHead = false): boolean {
  return reused === true && !midHead && (closedOrReset(error) || beginsNoAnswer(error))
}

/**
 * llhttp refused the first bytes where an answer should begin (`Expected HTTP/`): on a reused
 * connection, bytes the server wrote after its last answer's end (a body longer than its length,
 * a stray line) that crossed the next request as it went out, so undici took them for its answer:
 * no byte of an answer to it came. (Come while the connection is idle, undici ends it itself as
 * `bad response`, a socket error, and gives the requests waiting for it another connection.) On a
 * new connection they are the server's only answer (one that is no HTTP server: see
 * tls-errors.ts), a failure.
 */
function beginsNoAnswer(error: unknown): boolean {
  const e = error as { name?: unknown; message?: unknown } | null
  return (
    e?.name === 'HTTPParserError' && typeof e.message === 'string' && e.message.includes('(Expected HTTP/')
  )
}

/**
 * A `408 Request Timeout` on a reused HTTP/1.1 keep-alive connection: the server's idle timeout
 * ran out as we reused it, and it said so instead of closing without a word (Kestrel, RDFox; RFC
 * 9110 §15.5.9: the client may repeat the request on a new connection). Sent again at once, as a
 * close there is, and as Chromium does (okhttp#1693). On a new connection, or over HTTP/2, which
 * has no idle race of its kind, it is the server's answer.
 */
export function isStaleAnswer(status: number, reused: boolean | undefined, http2: boolean): boolean {
  return status === 408 && reused === true && !http2
}

/**
 * The URL without its credentials: they go in an `Authorization` header each hop to their origin
 * makes (see `credentialsAt`), so they can be dropped when a redirect leaves the origin and never
 * show up in a message. An `Authorization` given with `-H` wins, as in curl (a header of one's own
 * replaces the one it would make): a list of URLs with credentials in them, fetched with a token,
 * sends the token.
 */
function withoutCredentials(url: URL): URL {
  if (!url.username && !url.password) return url
  const clean = new URL(url)
  clean.username = ''
  clean.password = ''
  return clean
}

function lower(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))
}
