import { asUtf8 } from './svg.js'

/** The image an HTML page says it shows, and which of its marks said so. */
export interface PageImage {
  /** Absolute http(s) URL, resolved against the page's `<base href>` and address. */
  url: string
  /** The mark that named it, for the message: `og:image`, `a JSON-LD contentUrl`... */
  said: string
  /** Named by a `<meta http-equiv="refresh">`: where the page leads, not an image it names. */
  refresh?: true
}

/** Longest URL a message names: a longer one is no link a person copies into a list. */
const MAX_URL = 1000

/**
 * The image an HTML page in place of an image names, when it names one: a link copied from a
 * browser's address bar (a photo page, a gallery's, a file host's) gave the page, and every peer
 * (curl, wget2, aria2c) keeps that page as the file. Any site's page, not a list of hosts: the
 * page carries the answer, in the marks sites write for link previews and search engines, read in
 * this order:
 * 1. a JSON-LD `contentUrl` (schema.org's "actual bytes of the media object": the file itself);
 * 2. `<meta property="og:image">` (Open Graph, `og:image:url`, `og:image:secure_url`);
 * 3. `<meta name="twitter:image">` (`twitter:image:src`);
 * 4. `<link rel="image_src">`;
 * 5. the page's only `<img>` not marked small (an image viewer's page, a WordPress attachment's).
 * Before them all, a `<meta http-equiv="refresh" content="0; url=...">`: the page's only way on
 * (a redirect written as a page), which a browser follows for a page but never for an `<img>`,
 * nor do curl, wget2 and aria2c: it failed as an HTML page titled "Redirecting", where it leads
 * not said (jnunemaker/httparty#120, sparklemotion/mechanize#99).
 *
 * A page with a password field (a sign-in page, a login wall's) or titled as a soft 404 ("Page
 * not found" with a 200) names nothing: its marks are the site's, not the image's. Relative, protocol-relative and entity-escaped values are resolved as a browser would (`&amp;`
 * undone, against `<base href>`, else the page's address). A mark naming the page itself (or any
 * of `self`: the URL asked for and the one that answered) is passed over: that link is what failed.
 *
 * Named only, never fetched (see `receive.ts`): an og:image is often a preview the site made for
 * sharing (a crop, a smaller copy), not the file the user meant, and imgpull fetches only what it
 * is given. `head`: the page's first bytes as kept (up to 64 KB; UTF-8, or UTF-16 with a byte
 * order mark); `base`: the address that answered; `self`: addresses that are this page.
 */
export function pageImage(
  head: Uint8Array,
  base: string,
  self: readonly string[] = [],
): PageImage | undefined {
  const html = Buffer.from(asUtf8(head)).toString('utf8')
  // Comments hide what they hold; a script's text is no markup (a template's `<img>`), JSON-LD apart.
  const jsonLd: string[] = []
  const markup = html
    .replace(/<!--[\s\S]*?(?:-->|$)/g, '')
    .replace(/<script\b([^<>]*)>([\s\S]*?)(?:<\/script\s*>|$)/gi, (_all, attrs: string, body: string) => {
      if (/application\/ld\+json/i.test(attrs)) jsonLd.push(body)
      return ''
    })
  // A sign-in page (a password field: a login wall the link was sent to) names the site's card,
  // not the image behind the wall: naming it would send the user after the wrong file.
  if (/<input\b[^<>]*\btype\s*=\s*["']?password\b/i.test(markup)) return undefined
  // So does a soft 404 (a catch-all route's 200 "Page not found"): its marks are the site's
  // default card, and the image asked for is not there to be named.
  const title = /<title\b[^<>]*>([^<]*)</i.exec(markup)?.[1] ?? ''
  if (NOT_FOUND.test(title)) return undefined
  let from = base
  const found: { value: string; said: string; rank: number }[] = []
  const smallImages: string[] = []
  const images: string[] = []
  // No part of a tag runs past the next `<`: a page of unclosed tags (`<img "` repeated) is read
  // in one pass, where a scan to the page's end from each would take seconds for 64 KB.
  for (const tag of markup.matchAll(/<(meta|link|img|base)\b((?:[^<>"']|"[^"<>]*"|'[^'<>]*')*)>/gi)) {
    const name = tag[1]!.toLowerCase()
    const attrs = attributes(tag[2]!)
    if (name === 'base' && attrs.href !== undefined && from === base) {
      from = resolved(attrs.href, base) ?? base
    } else if (name === 'meta' && attrs.content !== undefined && attrs['http-equiv'] !== undefined) {
      const to =
        attrs['http-equiv'].trim().toLowerCase() === 'refresh' ? refreshUrl(attrs.content) : undefined
      if (to !== undefined) found.push({ value: to, said: 'meta refresh', rank: -1 })
    } else if (name === 'meta' && attrs.content !== undefined) {
      const key = (attrs.property ?? attrs.name ?? '').trim().toLowerCase()
      const rank = META_RANKS[key]
      if (rank !== undefined)
        found.push({ value: attrs.content, said: key.split(':').slice(0, 2).join(':'), rank })
    } else if (name === 'link' && attrs.href !== undefined) {
      if ((attrs.rel ?? '').toLowerCase().split(/\s+/).includes('image_src'))
        found.push({ value: attrs.href, said: '<link rel="image_src">', rank: 3 })
    } else if (name === 'img' && attrs.src !== undefined && !/^\s*data:/i.test(attrs.src)) {
      // Marked small (an icon, a logo, a tracking pixel): under 100 px either way.
      const small = [attrs.width, attrs.height].some((v) => v !== undefined && Number.parseInt(v, 10) < 100)
      ;(small ? smallImages : images).push(attrs.src)
    }
  }
  for (const body of jsonLd) {
    const url = contentUrl(body)
    if (url !== undefined) found.push({ value: url, said: 'JSON-LD contentUrl', rank: 0 })
  }
  if (images.length === 1) found.push({ value: images[0]!, said: 'only large <img>', rank: 4 })
  const selves = new Set([base, ...self].map(withoutFragment))
  found.sort((a, b) => a.rank - b.rank)
  for (const { value, said, rank } of found) {
    const url = resolved(value, from)
    if (url === undefined || url.length > MAX_URL || selves.has(withoutFragment(url))) continue
    return rank < 0 ? { url, said, refresh: true } : { url, said }
  }
  return undefined
}

/**
 * The URL a refresh's value (a `Refresh` header's, a `<meta http-equiv="refresh">`'s content)
 * leads to, as written (to resolve against the page); `undefined` for one that only reloads the
 * page (`5`) or cannot be read. HTML's "shared declarative refresh steps": seconds (digits and
 * dots), then `;` or `,` or white space, then the URL after an optional `url=` (any case), maybe
 * in quotes (`0; URL='/a.jpg'`, a closing quote missing tolerated). Pure, table-tested.
 */
export function refreshUrl(value: string): string | undefined {
  const m =
    /^[\t\n\f\r ]*[\d.]+[\t\n\f\r ]*[;,]?[\t\n\f\r ]*(?:url[\t\n\f\r ]*=[\t\n\f\r ]*)?([\s\S]*)$/i.exec(value)
  if (!m) return undefined
  let url = m[1]!
  const quote = url[0]
  if (quote === '"' || quote === "'") {
    const end = url.indexOf(quote, 1)
    url = url.slice(1, end === -1 ? undefined : end)
  }
  url = url.trim()
  return url === '' ? undefined : url
}

/** A page title saying the thing asked for is not there (`404 | Site`, `Error 404`; not a photo's `Room 404`). */
const NOT_FOUND =
  /^\W*404\b|\berror 404\b|\b404 error\b|\bnot found\b|\bcan(?:'|’|no)t be found\b|\bdoes not exist\b|\bno longer available\b/i

/** Meta names (Open Graph's `property`, Twitter's `name`) and their order among the marks. */
const META_RANKS: Record<string, number> = {
  'og:image': 1,
  'og:image:url': 1,
  'og:image:secure_url': 1,
  'twitter:image': 2,
  'twitter:image:src': 2,
}

/** A tag's attributes by lower-case name, values with their character references undone. */
function attributes(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of text.matchAll(/([^\s=/"'>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    const key = m[1]!.toLowerCase()
    if (!(key in out)) out[key] = unescapeHtml(m[2] ?? m[3] ?? m[4] ?? '')
  }
  return out
}

const NAMED: Record<string, string> = {
  amp: '&',
  quot: '"',
  apos: "'",
  lt: '<',
  gt: '>',
  sol: '/',
  colon: ':',
}

/** HTML's character references in an attribute value: `&amp;`, `&#38;`, `&#x26;` and the few named ones a URL holds. */
function unescapeHtml(value: string): string {
  return value.replace(/&(?:#(\d{1,7})|#x([0-9a-f]{1,6})|([a-z]+));?/gi, (all, dec, hex, name) => {
    if (dec || hex) {
      const code = Number.parseInt(dec ?? hex, dec ? 10 : 16)
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : all
    }
    return NAMED[String(name).toLowerCase()] ?? all
  })
}

/** The first `contentUrl` of a JSON-LD block (an ImageObject, maybe in a `@graph` or an array). */
function contentUrl(body: string): string | undefined {
  let data: unknown
  try {
    data = JSON.parse(body)
  } catch {
    return undefined
  }
  const seen: unknown[] = [data]
  for (let i = 0; i < seen.length && i < 1000; i++) {
    const item = seen[i]
    if (item === null || typeof item !== 'object') continue
    const value = (item as Record<string, unknown>).contentUrl
    if (typeof value === 'string' && value.trim()) return value
    for (const child of Object.values(item)) if (child !== null && typeof child === 'object') seen.push(child)
  }
  return undefined
}

/** `value` resolved against `base`, when it is an http(s) URL then. */
function resolved(value: string, base: string): string | undefined {
  const text = value.trim()
  if (text === '' || !URL.canParse(text, base)) return undefined
  const url = new URL(text, base)
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined
}

const withoutFragment = (href: string): string =>
  URL.canParse(href) ? new URL(href).href.replace(/#.*$/, '') : href
