/**
 * The words a transfer's failure says beside its cause: the proxy the answer came through, the
 * credentials refused, the page a server or sharing site sent, how a coded answer came, where a
 * body stalled. Built only as a failure is thrown, never on the way of a body's bytes.
 */
import { type GatewayAnswer, ImgpullError } from '../errors.js'
import { pastedTail } from '../plan/url-problem.js'
import { plural } from '../report/format.js'
import { quoted } from '../utils/printable.js'
import { shownUrl } from '../utils/url.js'
import { errorBodyWords, isBotCheck } from '../verify/error-body.js'
import { pageImage, refreshUrl } from '../verify/page-image.js'
import { sharePageHint } from '../verify/share-page.js'
import { authChallenges, digestChallenge, digestUnanswered } from './digest-auth.js'
import { type Answer, appliedCodings, codingsOf, unknownCodings } from './judge.js'
import { redirectTarget } from './location.js'
import { netrcOf, netrcPath } from './netrc.js'
import { bodyText, errorBodyWorthReading, mayBeNginxPage, nginxPageWords } from './nginx-pages.js'
import { isSocks, proxyFor, proxyNote, proxyPlan, proxySaid, shownProxy } from './proxy.js'
import { header, type Transfer } from './transfer.js'
import { listedCredentials } from './url-credentials.js'

/** Where a body stopped for the idle timeout: `at` bytes were on disk, `beyond` came after them. */
export function stallWords(at: number, beyond: number, total: number | undefined): string {
  if (beyond === 0)
    return at === 0
      ? 'no byte of the body came after the head'
      : `no byte past the ${at} on disk came after the head`
  return `the body stopped after ${at + beyond}${total === undefined ? '' : ` of ${total}`} bytes`
}

/**
 * Why a decoded body's end is unmarked where bytes came after its coded stream's end (see
 * `BodyDecoder.overrun`), or `undefined` where none did.
 */
export const overrunNote = (overrun: { bytes: number; coding: string } | undefined): string | undefined =>
  overrun &&
  `${overrun.bytes} ${plural(overrun.bytes, 'byte')} came after the end of its ${overrun.coding} stream, not decoded (a second stream joined on, or binary bytes the server appended)`

/**
 * What the body of a failing answer says, as the end of the failure's message: for one of nginx's
 * 400 pages about TLS (a client certificate wanted or refused, plain HTTP to its HTTPS port), what
 * it means (`: the server (nginx) refused the client certificate of --cert: ...`); for any other
 * of a type that holds text, what it says (see `errorBodyWords`: an object store's error code, a
 * CDN's bot check or error page, a User-Agent policy's line); '' otherwise. Such a failure said
 * `HTTP 403` alone, its body thrown away unread. `botCheck`: the answer is a CDN's bot check (see
 * `isBotCheck`), which every try gets alike.
 */
export async function errorPage(t: Transfer, status: number): Promise<{ words: string; botCheck: boolean }> {
  const headers = t.head!.headers
  let text = ''
  let nginx: string | undefined
  if (mayBeNginxPage(status, headers)) {
    const https = (t.answeredAt ?? t.url).startsWith('https:')
    text = await bodyText(t.exchange!, 'whole')
    // A plain request through an HTTP proxy went to the proxy's port (see `answeredThrough`).
    const proxy = https ? undefined : proxyFor(new URL(t.answeredAt ?? t.url), proxyPlan(t.options.proxy))
    nginx = nginxPageWords(text, https, t.options.clientCert !== undefined, !!proxy && !isSocks(proxy))
  } else if (errorBodyWorthReading(headers)) text = await bodyText(t.exchange!, 'head')
  else await t.exchange!.discard()
  const words = nginx ?? errorBodyWords(headers, text)
  return { words: words ? `: ${words}` : '', botCheck: isBotCheck(headers, text) }
}

/**
 * A URL the server does not have as written (400, 403, 404, 410), asked for itself (no redirect),
 * that ends in punctuation pasted with it from a chat or a sentence: the URL meant (see `pastedTail`).
 */
export function pastedAfter(t: Transfer, status: number): string {
  if (![400, 403, 404, 410].includes(status) || t.via !== '') return ''
  const hint = pastedTail(t.url)
  return hint ? `: ${hint}` : ''
}

/**
 * What a 421 says beside its status: that the request was sent again on a new connection and
 * answered 421 there too (see send.ts `MISDIRECTED`). '' for another status.
 */
export function misdirectedAgain(t: Transfer, status: number): string {
  return status === 421 && t.misdirected
    ? ': Misdirected Request (a server that cannot answer for the URL on its connection, RFC 9110 §15.5.20), answered so again on a new connection'
    : ''
}

/**
 * What a 401 says beside its status: the user and password that were sent, and refused (see
 * `digest-auth.ts`; sent by Basic to a server that asks for Digest, why its challenge was not
 * answered); where none were sent, what the server asks for (`WWW-Authenticate`) and where they
 * go, or that the `.netrc` gives none for the host (no entry, or a host a redirect led to, which
 * gets no `default`), or why those given were not sent where a redirect led; a token (`Bearer`),
 * asked for where a user and password went, as no password refused. A 403 to a request that
 * carried them says they went (some servers refuse a wrong password so). Either says a user with
 * a colon was not sent, Basic cannot carry it (RFC 7617 §2: see `basicCarries`). A 401 that names
 * no challenge (RFC 9110 §11.6.1 asks for one; a site's sign-in or an API's token: Instagram's,
 * mikf/gallery-dl#9027, #3707) says where a login goes, or that the cookies sent gave none. '' for
 * another status, or an Authorization of the user's own refused.
 */
export function refusedCredentials(t: Transfer, status: number): string {
  // Held back (see `basicCarries`): Basic joins them, `a:b:pw`, and the server reads user `a`.
  const colon = t.heldUserColon
    ? `${t.heldUserColon} holds a colon, which Basic cannot carry (RFC 7617 §2: the server would read the user up to it), so the user and password were not sent`
    : undefined
  // A wrong password answered 403, no challenge (Django, nginx auth_request): the login went.
  if (status === 403 && t.sentCredentials) {
    const from = t.sentCredentialsFrom === undefined ? 'of the URL' : `that ${t.sentCredentialsFrom} gave`
    return `: the user and password ${from} went with it (by ${t.sentCredentials}): a server may refuse a wrong one so`
  }
  if ((status === 401 || status === 403) && colon && !t.sentCredentials) return `: ${colon}`
  if (status !== 401) return ''
  const value = t.head!.headers['www-authenticate']
  const offered = authChallenges(value)
  const asks = offered
    .map((c) => `${c.scheme}${c.realm === undefined ? '' : ` realm "${quoted(c.realm, 60)}"`}`)
    .join(', ')
  // A server that offers no scheme a user and password are sent by: a token, or a sign-in.
  const token =
    offered.length > 0 && !offered.some((c) => /^(basic|digest)$/i.test(c.scheme))
      ? `a token goes in -H 'Authorization: ${offered[0]!.scheme} ...'`
      : undefined
  if (!t.sentCredentials) {
    // An Authorization of the user's own (-H) was sent, and refused: it is theirs to check.
    if (t.sent?.includes('authorization')) return ''
    if (offered.length === 0)
      return `: the server wants a login it does not name (no WWW-Authenticate challenge)${
        t.sent?.includes('cookie')
          ? ', and the cookies that went with the request gave none (a session that ended, or of another account)'
          : ": a site's sign-in goes in --cookies FILE (a cookies.txt exported from a browser signed in there), an API's token in -H 'Authorization: ...'"
      }`
    if (token) return `: the server asks for ${asks}: ${token}`
    const netrc = netrcPath(t.options.netrc)
    const listed = new URL(t.url)
    const at = new URL(t.answeredAt ?? t.url)
    // Given for the listed URL, and kept from where a redirect led (see `credentialsAt`, send.ts).
    const given = at.origin === listed.origin ? undefined : listedCredentials(listed, netrcOf(t.options))
    const from = given?.netrc ? `those ${netrc} gave` : 'those of the URL'
    return `: the server asks for a user and password (${asks})${
      given && listed.protocol === 'https:' && at.protocol === 'http:'
        ? `; ${from} go not in the clear after https://, to ${at.origin}, where a redirect led`
        : given && !given.netrc
          ? `; ${from} go to its own origin only, not to ${at.origin}, where a redirect led: list that URL with them`
          : netrc === undefined
            ? ': give them in the URL (http://user:password@host/...) or by --netrc'
            : `, and ${netrc} gives none for ${at.hostname}`
    }`
  }
  if (token)
    return `: the server asks for ${asks}, not a user and password (sent by ${t.sentCredentials}): ${token}`
  const digest = t.sentCredentials === 'Basic' ? digestUnanswered(value) : undefined
  const from = t.sentCredentialsFrom === undefined ? 'of the URL' : `that ${t.sentCredentialsFrom} gave`
  // Renewed once already (see send.ts): not the password refused, maybe, but the nonce again.
  const stale =
    t.sentCredentials === 'Digest' && digestChallenge(t.head!.headers['www-authenticate'])?.stale
      ? 'it called a fresh nonce stale again'
      : undefined
  const why = digest ?? stale
  return `: the server refused the user and password ${from} (sent by ${t.sentCredentials}${why ? `; ${why}` : ''})`
}

/** How a coded answer came, in words: `it came gzip-encoded (Content-Encoding: gzip on a 206)`. */
export function codedAs(t: Transfer): string {
  const { statusCode, headers } = t.head!
  const named = (['content-encoding', 'transfer-encoding'] as const)
    .map((name) => [name, codingsOf(headers[name])] as const)
    .filter(([, codings]) => codings.length > 0)
    .map(
      ([name, codings]) =>
        `${name === 'content-encoding' ? 'Content' : 'Transfer'}-Encoding: ${codings.join(', ')}`,
    )
  return `it came ${appliedCodings(headers).join(', ')}-encoded (${named.join(', ')} on a ${statusCode})`
}

/**
 * What names the codings of a body that does not decode as they say, for its failure line:
 * `its Content-Encoding says`, `its Transfer-Encoding says` (a transfer coding alone: RFC 9112 §7),
 * `its Content-Encoding and Transfer-Encoding say`. Where the transfer codings list `chunked`
 * before another (`chunked, gzip`, or `chunked` then `gzip` on a second line), that list is named
 * as the likely cause: `chunked` not last, the body is read to the close (RFC 9112 §6.3) and its
 * chunks' framing is decoded with the rest; such a server most likely sent chunks of gzip, not
 * gzip of chunks. curl refuses the answer ("Reject response due to 'chunked' not being the last
 * Transfer-Encoding"); imgpull keeps nothing of it either.
 */
export function codingsSay(headers: Answer['headers']): string {
  const content = codingsOf(headers['content-encoding']).length > 0
  const te = [headers['transfer-encoding'] ?? []].flat()
  const transfer = codingsOf(te).length > 0
  if (!transfer) return 'its Content-Encoding says'
  const says = content ? 'its Content-Encoding and Transfer-Encoding say' : 'its Transfer-Encoding says'
  const listed = te.flatMap((v) => v.split(',')).map((c) => c.trim().toLowerCase())
  const after = listed.slice(listed.indexOf('chunked') + 1).filter((c) => codingsOf(c).length > 0)
  if (!listed.includes('chunked') || after.length === 0) return says
  return `${says}, which lists chunked before ${after.join(', ')} (\`${quoted(te.join(', '))}\`): RFC 9112 §6.3 reads such a body to the close, its chunk framing in it; the server most likely sent ${after.join(', ')} in chunks and named them in the wrong order, an answer curl refuses`
}

/**
 * The failure of a body that is no image, or does not decode (`why`), where its `Content-Encoding`
 * or `Transfer-Encoding` lists a coding imgpull does not know (see `unknownCodings`), or
 * `undefined` where none is listed.
 */
export function tryNotUndone(t: Transfer, why: string): ImgpullError | undefined {
  const unknown = unknownCodings(t.head!.headers)
  if (unknown.length === 0) return undefined
  return new ImgpullError(
    'unsupported-encoding',
    `${t.shown}${t.via}: the server encoded the image with ${unknown.join(', ')}, ${unknown.length > 1 ? 'codings' : 'a coding'} imgpull does not know (${why})`,
  )
}

/** `tryNotUndone`, thrown where it names a coding. */
export function notUndone(t: Transfer, why: string): void {
  const failure = tryNotUndone(t, why)
  if (failure) throw failure
}

/**
 * ` (through the proxy P)` for a body cut on its way through a proxy, as a network error or a
 * timeout through one says it: the proxy (an idle timeout of its own, a restart) may be what cut
 * it, as well as the server. '' direct.
 */
export function cutThrough(t: Transfer): string {
  const proxy = answeredThrough(t)
  return proxy ? ` (through the proxy ${proxy})` : ''
}

/** The proxy `t`'s answer came through, as shown (never its credentials); `undefined` direct. */
export function answeredThrough(t: Transfer): string | undefined {
  const proxy = proxyFor(new URL(t.answeredAt ?? t.url), proxyPlan(t.options.proxy))
  return proxy && shownProxy(proxy)
}

/** The link form that gives the file, when the page that answered (or the URL asked for) is a sharing site's page for it. */
export function sharePage(t: Transfer): string | undefined {
  for (const href of [t.answeredAt, t.url, t.ctx.given]) {
    if (href === undefined || !URL.canParse(href)) continue
    const hint = sharePageHint(new URL(href))
    if (hint) return hint
  }
  return undefined
}

/**
 * The image the HTML page that answered names (see `pageImage`), as a failure's message says it:
 * `an HTML page, not the file: its og:image names URL (not fetched)`, read as `sharePage`'s hints
 * are (`isSharePageFailure`: a rerun fetches the same page; that link in the list's place helps).
 * Named, never fetched, and never followed behind a flag either: what a page names for link
 * previews is often a crop or a smaller copy the site made, not the file the user meant, and a
 * page can name another page or itself; the user, who sees it, decides.
 */
export function namedImage(t: Transfer, head: Uint8Array): string | undefined {
  const base = t.answeredAt ?? t.url
  const self = [t.url, ...(t.ctx.given ? [t.ctx.given] : [])]
  // A `Refresh` header first: the answer's own way on, as a 3xx's Location is, read as one is.
  const refresh = t.head && header(t.head.headers, 'refresh')
  const to = refresh === undefined ? undefined : refreshUrl(refresh)
  const target = to === undefined ? undefined : redirectTarget(to, new URL(base), t.head?.http2)
  if (
    target &&
    (target.protocol === 'http:' || target.protocol === 'https:') &&
    ![base, ...self].some((href) => URL.canParse(href) && sameDocument(new URL(href), target))
  )
    return `an HTML page, not the file: its Refresh header leads to ${shownUrl(target.href)} (${NOT_FOLLOWED})`
  const found = pageImage(head, base, self)
  if (found?.refresh)
    return `an HTML page, not the file: its meta refresh leads to ${shownUrl(found.url)} (${NOT_FOLLOWED})`
  return found && `an HTML page, not the file: its ${found.said} names ${found.url} (not fetched)`
}

/**
 * Why a page's refresh is said and not followed: a browser follows one for a page, never for an
 * `<img>`, and imgpull fetches what it is given; the link in the list is what to change.
 */
const NOT_FOLLOWED = "not followed, as a browser's <img> follows none"

/** Two URLs of one document: the same but for their fragments. */
const sameDocument = (a: URL, b: URL): boolean => a.href.replace(/#.*$/, '') === b.href.replace(/#.*$/, '')

/** The proxy that may have given an error status, or a page, in place of the server (see `proxyNote`). */
export function statusProxyNote(t: Transfer, headers: Record<string, string | string[] | undefined>): string {
  const url = new URL(t.answeredAt ?? t.url)
  return proxyNote(url, proxyFor(url, proxyPlan(t.options.proxy)), headers)
}

/** An error status to an http:// URL through an HTTP proxy, which may be the proxy's own (see `GatewayAnswer`). */
export function statusGateway(
  t: Transfer,
  status: number,
  headers: Record<string, string | string[] | undefined>,
): GatewayAnswer | undefined {
  const url = new URL(t.answeredAt ?? t.url)
  const proxy = proxyFor(url, proxyPlan(t.options.proxy))
  if (!proxy || isSocks(proxy) || url.protocol !== 'http:') return undefined
  return { status, tunnel: false, said: proxySaid(headers) }
}
