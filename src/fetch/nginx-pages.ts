import { type Body, DUMP_LIMIT, DUMP_MS } from './exchange.js'

/**
 * nginx's own 400 pages for what its TLS front saw (ngx_http_special_response.c: its internal
 * 495, 496 and 497, sent as 400), by their `<title>`. nginx's `ssl_verify_client on` takes the
 * handshake whatever client certificate comes, and answers each request so: a `400` alone, where
 * curl shows the page. A server that asks for a certificate by TLS says it in an alert instead
 * (see tls-errors.ts).
 */
const PAGES: Record<string, (https: boolean, sent: boolean, proxied: boolean) => string | undefined> = {
  // 496: `ssl_verify_client on` and no certificate came.
  'No required SSL certificate was sent': (https, sent) =>
    !https
      ? undefined
      : sent
        ? 'the server (nginx) asks for a client certificate and got none: the one of --cert is not of a kind it takes (its key type or signature)'
        : 'the server (nginx) asks for a client certificate: --cert gives one (a PKCS #12 file, or PEM with --key)',
  // 495: the certificate did not verify (an issuer not in its ssl_client_certificate, expired, revoked).
  'The SSL certificate error': (https, sent) =>
    !https
      ? undefined
      : sent
        ? "the server (nginx) refused the client certificate of --cert: it does not verify against the server's CAs (an issuer it does not trust, expired, or revoked)"
        : 'the server (nginx) refused a client certificate (none was given: --cert gives one)',
  // 497: plain HTTP to a port that speaks HTTPS. Through an HTTP proxy, the proxy's port may be
  // the one (an https:// proxy given as http://: see ProxySilence.refusal, which asks it).
  'The plain HTTP request was sent to HTTPS port': (https, _sent, proxied) =>
    https
      ? undefined
      : proxied
        ? "the port speaks HTTPS (nginx): the proxy's, or the image host's behind it"
        : 'the port speaks HTTPS (nginx): give the URL as https://',
}

/**
 * What nginx's 400 page `html` says of the request, in words (`the server (nginx) refused the
 * client certificate of --cert: ...`), for a URL over `https` or not, where a client certificate
 * was `sent`, its plain request `proxied` (sent to an HTTP proxy) or not; `undefined` for any
 * other page. Pure.
 */
export function nginxPageWords(
  html: string,
  https: boolean,
  sent: boolean,
  proxied = false,
): string | undefined {
  const title = /<title>\s*400 ([^<]*?)\s*<\/title>/i.exec(html)?.[1]
  return title === undefined ? undefined : PAGES[title]?.(https, sent, proxied)
}

/** Largest page read for its words: nginx's are about 250 bytes. */
const PAGE_LIMIT = 4096

/**
 * Whether an answer's head is one of nginx's small HTML error pages worth reading (a 400 in HTML
 * of a stated length up to `PAGE_LIMIT`), not any body.
 */
export function mayBeNginxPage(
  status: number,
  headers: Record<string, string | string[] | undefined>,
): boolean {
  const length = Number(headers['content-length'])
  return (
    status === 400 &&
    /^text\/html\b/i.test(String(headers['content-type'] ?? '')) &&
    Number.isInteger(length) &&
    length > 0 &&
    length <= PAGE_LIMIT
  )
}

/** Most of an error answer's body read for its words: a page's title, a store's `<Error>`, come first. */
const ERROR_HEAD = 16 * 1024

/** Types whose body may say why an answer failed (none named: looked at too). */
const WORDY_TYPE =
  /^(text\/|application\/(xml|json|problem\+json|problem\+xml|xhtml\+xml)\b|[^/]*\/[^;]*\+xml\b)/i

/**
 * Whether the body of a failing answer is worth reading for its words (see `errorBodyWords`): of a
 * type that holds text (or none named), and not stated longer than `ERROR_HEAD` by much (a large
 * body is some other thing: an image sent with a 404 is no message). Pure.
 */
export function errorBodyWorthReading(headers: Record<string, string | string[] | undefined>): boolean {
  const type = String(headers['content-type'] ?? '').trim()
  if (type !== '' && !WORDY_TYPE.test(type)) return false
  const length = headers['content-length']
  return length === undefined || Number(length) <= 4 * ERROR_HEAD
}

/**
 * A failing answer's body as latin1 text, for its words, waited for `ms` at most. `keep`:
 * - `whole`: a small body (one of a stated length up to `PAGE_LIMIT`, see `mayBeNginxPage`), all
 *   of it; '' when it is longer, or does not end within `ms` (then it is cut, as `Body.dump` cuts
 *   a slow one): an error page comes with its head, and a failure whose body never comes is held
 *   no longer than `Body.discard` holds it.
 * - `head`: its first bytes (up to `ERROR_HEAD`), what came within `ms`, or all of it if it ended
 *   sooner. The rest is thrown away as `Body.dump` throws it (read on while small, so the
 *   connection can serve the next request).
 */
export async function bodyText(body: Body, keep: 'whole' | 'head', ms = 100): Promise<string> {
  const whole = keep === 'whole'
  const most = whole ? PAGE_LIMIT : ERROR_HEAD
  const chunks: Buffer[] = []
  let size = 0
  let seen = 0
  let ended = false
  const late = whole
    ? setTimeout(() => body.abort(new Error('body too slow')), ms)
    : setTimeout(() => body.abort(new Error('body dumped')), DUMP_MS)
  const read = body
    .consume((chunk) => {
      seen += chunk.length
      if (whole && seen > most) throw new Error('body too long')
      if (seen > DUMP_LIMIT) throw new Error('body dumped')
      if (size < most) {
        const part = chunk.subarray(0, most - size)
        chunks.push(part)
        size += part.length
      }
    })
    .then(
      () => {
        ended = true
      },
      () => {},
    )
    .finally(() => clearTimeout(late))
  if (whole) await read
  else {
    let timer: NodeJS.Timeout | undefined
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms)
    })
    await Promise.race([read, waited])
    clearTimeout(timer)
  }
  return whole && !ended ? '' : Buffer.concat(chunks).toString('latin1')
}
