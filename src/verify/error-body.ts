/**
 * What the body of an error status says, in a few words for its failure line. `HTTP 403 from URL`
 * alone says nothing of why, where the answer says it: an object store's XML error (S3's and
 * GCS's `<Error><Code>AccessDenied</Code><Message>Request has expired</Message>`, Azure's
 * `x-ms-error-code: AuthenticationFailed`), a CDN's bot check (Cloudflare's `cf-mitigated:
 * challenge`, "Just a moment..."), a CDN's own error page (CloudFront's "The request could not be
 * satisfied", Akamai's "Access Denied ... Reference #18...", Cloudflare's block pages), or a User-Agent
 * policy's line (Wikimedia's "Please comply with the User-Agent policy"). Other bodies are left
 * unsaid (a site's, a proxy's or a framework's page, most often a title that repeats the status).
 * Pure: the caller reads the body's first bytes
 * (see `bodyText`) and gives them with the answer's headers. The words come from the server:
 * they are cut, one line, and quoted.
 */
import { quoted } from '../utils/printable.js'

type Headers = Record<string, string | string[] | undefined>

const first = (v: string | string[] | undefined): string | undefined =>
  (Array.isArray(v) ? v[0] : v)?.trim() || undefined

/** `text` as one line of at most `max` characters. */
function line(text: string, max: number): string {
  const one = decode(text).replace(/\s+/g, ' ').trim()
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' }

/** Character references as text (`&#58;` as `:`, `&amp;` as `&`). */
function decode(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] !== '#') return ENTITIES[ref.toLowerCase()] ?? whole
    const code = ref[1] === 'x' || ref[1] === 'X' ? Number.parseInt(ref.slice(2), 16) : Number(ref.slice(1))
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole
  })
}

/** The text of an XML element `name` in `xml` (its first), tags inside it left out. */
const element = (xml: string, name: string): string | undefined => {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)
  return m ? m[1]!.replace(/<[^>]*>/g, ' ').trim() || undefined : undefined
}

/** Which object store answered, by its headers: the name the line gives it. */
function storeOf(headers: Headers): string {
  const server = first(headers.server) ?? ''
  if (headers['x-ms-error-code'] !== undefined || headers['x-ms-request-id'] !== undefined)
    return 'Azure Storage'
  if (headers['x-guploader-uploadid'] !== undefined || /^UploadServer$/i.test(server))
    return 'Google Cloud Storage'
  if (/^AmazonS3$/i.test(server) || headers['x-amz-request-id'] !== undefined) return 'S3'
  return 'the store'
}

/**
 * A store's error code and message as they say a signed link has run out: S3's `AccessDenied`
 * "Request has expired" (and R2's, MinIO's `ExpiredRequest`/`ExpiredToken`), Azure's
 * `AuthenticationFailed` for a SAS whose `se=` is past ("Signed expiry time ... must be after").
 */
const EXPIRED =
  /request has expired|expiredrequest|expiredtoken|token has expired|signed expiry time|sas.*expired/i

/** Codes that say the link's signature is not the one the store computes (a URL altered, or mis-signed). */
const BAD_SIGNATURE = /^(SignatureDoesNotMatch|AuthorizationQueryParametersError|InvalidAccessKeyId)$/

/**
 * An object store's error: `S3 says AccessDenied: "Request has expired" (the signed link has
 * expired: a new one is needed)`, or `undefined` when `text` is no `<Error><Code>` and no
 * `x-ms-error-code` names one.
 */
function storeError(headers: Headers, text: string): string | undefined {
  const body = text.replace(/^\ufeff|^\u00ef\u00bb\u00bf/, '')
  const xml = /^\s*(<\?xml[^>]*\?>\s*)?<Error>/.test(body) ? body : ''
  const code = (xml ? element(xml, 'Code') : undefined) ?? first(headers['x-ms-error-code'])
  if (!code) return undefined
  const message = xml ? element(xml, 'Message') : undefined
  const details = xml ? element(xml, 'Details') : undefined
  // Azure's message runs on with its RequestId and Time lines: its first line is the message.
  const said = [message?.split(/\r?\n/)[0], details].filter((s) => s).join(' ')
  const authDetail = xml ? element(xml, 'AuthenticationErrorDetail') : undefined
  const whole = `${code} ${message ?? ''} ${details ?? ''} ${authDetail ?? ''}`
  const hint = EXPIRED.test(whole)
    ? ' (the signed link has expired: a new one is needed)'
    : BAD_SIGNATURE.test(code)
      ? ' (the link is not signed as the store checks it: a link altered or cut, or signed with another key)'
      : ''
  return `${storeOf(headers)} says ${line(code, 60)}${said ? `: "${quoted(line(said, 120))}"` : ''}${hint}`
}

/**
 * What the body of a failing answer says, for the end of its failure line (without
 * the `: ` before it), or `undefined` where it is none of the kinds above. `text`: its first bytes
 * as latin1 or UTF-8 text, '' when it was not read.
 */
export function errorBodyWords(headers: Headers, text: string): string | undefined {
  const server = first(headers.server) ?? ''
  const title = titleOf(text)
  // Cloudflare's bot check: a page with a script a browser runs to earn a cookie, which no
  // download tool runs (watzon/cursor-linux-installer#11); asked again, the same page comes.
  const wants =
    ": it wants a browser that runs its script, which imgpull is not; the site's owner can allow the tool, or the file can be saved from a browser"
  if (isCloudflareCheck(headers, text)) {
    const mitigated = first(headers['cf-mitigated'])
    return `Cloudflare's bot check${mitigated ? ` (cf-mitigated: ${quoted(line(mitigated, 20))})` : ''}${title ? `, a page titled "${quoted(line(title, 60))}"` : ''}${wants}`
  }
  const other = otherBotCheck(headers, text)
  if (other) return `${other}${wants}`
  const store = storeError(headers, text)
  if (store) return store
  if (text === '') return undefined
  // CloudFront's own page: its sentence says whether the origin failed or the request was refused.
  if (/Generated by cloudfront/i.test(text)) {
    const why = /<H2>[^<]*<\/H2>\s*(?:<HR[^>]*>\s*)?([^<]+)/i.exec(text)?.[1]
    return `CloudFront's error page${why?.trim() ? `: "${quoted(line(why, 120))}"` : ''}`
  }
  // Akamai's denial: its reference is what the site's owner asks for.
  if (/^AkamaiGHost$/i.test(server) && title) {
    const ref = /Reference\s*(?:&#32;|\s)*(?:&#35;|#)\s*([\w.&#;]+)/i.exec(text)?.[1]
    return `Akamai's page "${quoted(line(title, 60))}"${ref ? ` (Reference #${quoted(line(ref, 60))})` : ''}`
  }
  // Cloudflare's block pages ("Access denied | example.com used Cloudflare to restrict access"):
  // its error number says which rule (1011: hotlinking, 1020: a firewall rule).
  if (/^cloudflare/i.test(server) && title && /cloudflare/i.test(title)) {
    const number = /Error\s*(?:code\s*)?(1\d{3})\b/i.exec(text)?.[1]
    return `Cloudflare's page "${quoted(line(title, 80))}"${number ? ` (error ${number}${number === '1011' ? ': hotlinking refused' : ''})` : ''}`
  }
  // A User-Agent policy's refusal (Wikimedia's "Please comply with the User-Agent policy: URL",
  // to generic and empty User-Agents): its line, with the option that sets one.
  const said = line(
    Buffer.from(text.slice(0, 2048), 'latin1')
      .toString('utf8')
      .replace(/<[^>]*>/g, ' '),
    160,
  )
  if (/user[- ]agent policy/i.test(said)) return `the server says "${quoted(said)}" (-A sets the User-Agent)`
  // Any other body is left unsaid: a page's words are the site's, a proxy's or a framework's,
  // and a title most often repeats the status.
  return undefined
}

const titleOf = (text: string): string | undefined => /<title[^>]*>([^<]*)<\/title/i.exec(text)?.[1]?.trim()

/**
 * Whether an answer is a CDN's or WAF's bot check: Cloudflare's (`cf-mitigated: challenge`, or its
 * "Just a moment...", "Attention Required!" and "Checking your browser" pages from `Server:
 * cloudflare`), AWS WAF's, DataDome's or Imperva's (see `otherBotCheck`): the same page comes to
 * every request a tool sends, so another try within the run is no use, a 503 as a 403.
 */
export function isBotCheck(headers: Headers, text: string): boolean {
  return isCloudflareCheck(headers, text) || otherBotCheck(headers, text) !== undefined
}

/**
 * Another WAF's bot check, named by its own marks, or `undefined`: AWS WAF's challenge (a 202) and
 * CAPTCHA (a 405), said by `x-amzn-waf-action` (the rules germondai/trawl#82 detects them by: it
 * said `HTTP 202 from URL` alone), DataDome's page (its script from captcha-delivery.com; its
 * `X-DataDome` header comes with every answer of a site it guards, a 404 too) and Imperva's
 * (its `_Incapsula_Resource` script). Each answers every try alike, as Cloudflare's does.
 */
function otherBotCheck(headers: Headers, text: string): string | undefined {
  const aws = first(headers['x-amzn-waf-action'])?.toLowerCase()
  if (aws === 'challenge' || aws === 'captcha') return `AWS WAF's bot check (x-amzn-waf-action: ${aws})`
  if (/\bcaptcha-delivery\.com\b/i.test(text)) return "DataDome's bot check (a captcha-delivery.com page)"
  if (/\b_Incapsula_Resource\b/.test(text)) return "Imperva's bot check (an _Incapsula_Resource page)"
  return undefined
}

/** Cloudflare's bot check (see `isBotCheck`). */
function isCloudflareCheck(headers: Headers, text: string): boolean {
  if (first(headers['cf-mitigated'])?.toLowerCase() === 'challenge') return true
  return (
    /^cloudflare/i.test(first(headers.server) ?? '') &&
    /^(just a moment|attention required|checking your browser)/i.test(titleOf(text) ?? '')
  )
}
