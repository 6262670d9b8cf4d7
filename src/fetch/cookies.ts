import { createRequire } from 'node:module'
import type { Cookie, CookieJar } from 'tough-cookie'
import { OptionFileError } from '../errors.js'
import { plural } from '../report/format.js'
import { visibleShellWord } from '../utils/command-line.js'
import { fileFault, nearFileSync, ofKind } from '../utils/near-file.js'
import { readOptionFileSync } from '../utils/option-file.js'
import { quoted } from '../utils/printable.js'
import { tildeHint } from '../utils/tilde.js'
import { fitsRequest } from './field-value.js'
import { httpDate } from './http-date.js'

/**
 * Cookies: those of a `--cookies` file (a Netscape cookies.txt, for sites that need a session),
 * and those a server sets during one job's redirect chain (a `302` back to the same URL with
 * `Set-Cookie`, expecting the cookie on the next request). Which cookie goes to which URL is
 * RFC 6265's rule (domain and host-only, path, secure, expiry), as browsers apply it, through
 * tough-cookie (rejecting cookies for public suffixes such as `co.uk`); a cookie never goes to a
 * host its domain does not match. Cookies set by a chain live as long as that chain (one attempt
 * at one file); imgpull keeps no cookies between jobs or runs and never writes the file.
 *
 * tough-cookie (and the public-suffix list it uses, ~45 ms to load) is loaded only when a run has
 * a cookies file, or when a server first sets a cookie.
 */

/** One line of a cookies.txt. */
export interface CookieLine {
  /** Host or domain, without a leading dot. */
  domain: string
  /** Sent to subdomains too (`TRUE`, or a domain with a leading dot); else to that host only. */
  subdomains: boolean
  path: string
  secure: boolean
  httpOnly: boolean
  /** Unix seconds; 0 for a session cookie. */
  expires: number
  name: string
  value: string
}

const BOOL: Record<string, boolean | undefined> = { TRUE: true, FALSE: false }

/**
 * The cookies of a Netscape cookies.txt (curl's `-c`, browser extensions' "cookies.txt", yt-dlp
 * and gallery-dl read and write it): one cookie per line, 7 tab-separated fields (domain,
 * subdomains, path, secure, expiry, name, value); `#` comments, except the `#HttpOnly_` prefix of
 * a domain; blank lines. Expired cookies are dropped, as curl does. `text` is the file's bytes, one
 * Latin-1 character each (see `readCookiesFile`). Throws a `TypeError` naming `source` and the line
 * when one cannot be read, or names or gives a cookie no request can carry (a control character).
 */
export function parseCookiesTxt(text: string, source: string, now = Date.now()): CookieLine[] {
  const shape = otherShape(text)
  if (shape) throw new TypeError(`${source}: ${shape}`)
  const cookies: CookieLine[] = []
  for (const [i, raw] of text.split('\n').entries()) {
    let line = raw.replace(/\r$/, '')
    if (line.trim() === '') continue
    let httpOnly = false
    if (line.startsWith('#HttpOnly_')) {
      httpOnly = true
      line = line.slice('#HttpOnly_'.length)
    } else if (line.startsWith('#')) continue
    const fail = (why: string) => {
      throw new TypeError(`${source}, line ${i + 1}: ${why} (${NETSCAPE_LINE})`)
    }
    const fields = line.split('\t')
    if (fields.length === 6) fields.push('')
    // Tabs turned into spaces (a copy from a web page, an editor's setting): said so, not as "1 field".
    if (fields.length === 1 && /^\S+(?:[ ]+\S+){5,6}[ ]*$/.test(line))
      fail(
        'its fields are separated by spaces, not tabs (a copy from a web page, or an editor that turns tabs into spaces)',
      )
    if (fields.length !== 7) fail(`${fields.length} tab-separated fields`)
    const [domain, subdomains, path, secure, expires, name, value] = fields
    if (!domain || /[\s/]/.test(domain)) fail(`no usable domain (${JSON.stringify(domain)})`)
    if (BOOL[subdomains] === undefined) fail(`subdomains is ${JSON.stringify(subdomains)}, not TRUE or FALSE`)
    if (BOOL[secure] === undefined) fail(`secure is ${JSON.stringify(secure)}, not TRUE or FALSE`)
    if (!path.startsWith('/')) fail(`path ${JSON.stringify(path)} does not start with /`)
    // Whole seconds, or with a fraction: Firefox 142+ gives expiries in ms, and extensions export
    // them as `1791464381.742` (Mozilla bug 1986688, hrdl-github/cookies-txt#31); curl and wget read
    // the whole seconds before the dot.
    if (!/^\d+(?:\.\d*)?$/.test(expires)) fail(`expiry ${JSON.stringify(expires)} is not a number of seconds`)
    if (!name) fail('no cookie name')
    // undici refuses to send such a Cookie header: every request to the cookie's host failed.
    if (!fitsRequest(name) || !fitsRequest(value))
      fail(
        `a control character in the ${fitsRequest(name) ? 'value' : 'name'} of cookie "${quoted(name, 40)}"`,
      )
    const seconds = Math.floor(Number(expires))
    if (seconds !== 0 && seconds * 1000 <= now) continue
    cookies.push({
      domain: domain.replace(/^\./, '').toLowerCase(),
      subdomains: BOOL[subdomains]! || domain.startsWith('.'),
      path,
      secure: BOOL[secure]!,
      httpOnly,
      expires: seconds,
      name,
      value,
    })
  }
  return cookies
}

/** What a cookies.txt line holds, for messages. */
const NETSCAPE_LINE =
  'a Netscape cookies.txt line has 7 tab-separated fields: domain, subdomains, path, secure, expiry, name, value'

/**
 * What a file given for cookies is, and what to do, when it is plainly no cookies.txt; `undefined`
 * otherwise: JSON (the export of Cookie-Editor, EditThisCookie and the like: `[{"domain": ...}]`),
 * or a `Cookie` header's value (`name=value; name=value`, copied from a browser's network panel).
 * Read as cookies.txt, each was "line 1: 1 tab-separated fields", which named neither. Pure.
 */
export function otherShape(text: string): string | undefined {
  const start = text.replace(/^\ufeff/, '').trimStart()
  const not = 'not a Netscape cookies.txt'
  if (/^[[{]/.test(start)) {
    let parsed: unknown
    try {
      parsed = JSON.parse(start)
    } catch {
      return /^\[\s*\{|^\{\s*"/.test(start) ? `JSON, cut short or malformed, ${not}` : undefined
    }
    const list = Array.isArray(parsed) ? parsed : (parsed as { cookies?: unknown } | null)?.cookies
    const count = Array.isArray(list) ? `, ${list.length} ${plural(list.length, 'cookie')}` : ''
    return `JSON${count} (a browser extension's export, such as Cookie-Editor's), ${not}: export the cookies in the Netscape format (cookies.txt)`
  }
  const first = start.split(/\r?\n/, 1)[0]!
  if (/^(?:cookie:\s*)?[^\s=;\t]+=[^;\t]*(?:;\s*[^\s=;\t]+=[^;\t]*)+;?\s*$/i.test(first))
    return `a Cookie header's value (name=value; name=value), ${not}: give it as -H 'Cookie: ...'`
  return undefined
}

/** A cookies.txt's start: its header line (`# Netscape HTTP Cookie File`), or a line of 7 fields. */
const cookiesKind = ofKind((head) =>
  /^#\s*(?:Netscape )?HTTP Cookie File|^(?:#HttpOnly_)?[^\t\n#]*(?:\t[^\t\n]*){6}$/im.test(
    head.toString('latin1'),
  ),
)

/**
 * Read and parse a cookies file; a `TypeError` naming it when it cannot be read. Read as its bytes,
 * one Latin-1 character each, as a header carries them: a cookie's UTF-8 (what a browser stores
 * and exports) goes back as those bytes, as curl sends it. Read as UTF-8 text, an `é` went as the
 * one byte 0xE9, and a character past U+00FF (`名前`) made undici refuse every request to its host
 * (`invalid cookie header`), each failing as a `network` error. A UTF-8 byte order mark is skipped.
 */
export function readCookiesFile(path: string): CookieLine[] {
  let text: string
  try {
    text = readOptionFileSync(path)
      .toString('latin1')
      .replace(/^\xef\xbb\xbf/, '')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new OptionFileError(
      'cookies',
      path,
      `Expected \`cookies\` to be a readable cookies.txt: ${visibleShellWord(path)}: ${fileFault(error)}${tildeHint(path, code)}${code === 'ENOENT' ? nearFileSync(path, cookiesKind) : ''}`,
    )
  }
  return parseCookiesTxt(text, path)
}

type ToughCookie = typeof import('tough-cookie')
let tough: Promise<ToughCookie> | undefined
/**
 * Loaded through `require`, which the CLI bundle leaves to run time (an `import()` would put it
 * and its public-suffix list in the bundle: ~6 ms more start-up for every run, cookies or not).
 */
const loadTough = () =>
  (tough ??= Promise.resolve().then(() => createRequire(import.meta.url)('tough-cookie') as ToughCookie))

/** A jar holding these cookies, for `cookieHeader`. */
export async function jarOf(lines: readonly CookieLine[]): Promise<CookieJar> {
  const { Cookie, CookieJar } = await loadTough()
  const jar = new CookieJar()
  for (const line of lines) {
    await jar.store.putCookie(
      new Cookie({
        key: line.name,
        value: line.value,
        domain: line.domain,
        hostOnly: !line.subdomains,
        path: line.path,
        secure: line.secure,
        httpOnly: line.httpOnly,
        expires: line.expires === 0 ? 'Infinity' : new Date(line.expires * 1000),
      }),
    )
  }
  return jar
}

/**
 * The cookies of one redirect chain, over the run's base jar (from the cookies file, if any):
 * `header(url)` for each request, `store(setCookie, url)` for each answer. The chain's jar starts
 * as a copy of the base one when a server first sets a cookie, so that a `Set-Cookie` replaces a
 * file's cookie of the same name, domain and path, or deletes it (`Max-Age=0`, an `Expires` past:
 * RFC 6265 §5.3, the way a site logs a session out), as a browser's jar would. Kept beside it, the
 * file's cookie went on being sent after the server had deleted it.
 */
export class ChainCookies {
  #jar: CookieJar | undefined
  /**
   * The base jar's cookies copied into the chain's (`name`, domain, path): the chain's from then on,
   * replaced or deleted there, no longer read from the base.
   */
  readonly #owned = new Set<string>()
  #compare: ToughCookie['cookieCompare'] | undefined

  constructor(readonly base: CookieJar | undefined) {}

  /**
   * Keep the cookies an answer from `url` sets (invalid ones, or ones for other domains, are
   * ignored). A `Set-Cookie` with a control character but a tab anywhere in it is ignored whole
   * (RFC 6265bis §5.6, as Chromium does; curl since CVE-2022-35252): tough-cookie kept a DEL in a
   * name, and undici refused every request that carried it (`invalid cookie header`), the file
   * failing as a `network` error on every attempt.
   *
   * An `Expires` is read on the clock of the server that wrote it: moved by how far that answer's
   * `Date` (`date`, its value) is from this machine's clock, as Chromium reads it (the MDN page on
   * Set-Cookie says so since mdn/content#37745). A server whose clock is behind set a cookie for
   * the next hop, expiring an hour later on its clock, that was dropped here as expired days ago:
   * its redirect came round without it, a `redirect-loop` (cloudfoundry/stratos#3390; curl loops
   * too). A `Max-Age`, which wins over it, counts from now anyway; without a readable `Date`,
   * nothing moves.
   */
  async store(setCookie: string | string[] | undefined, url: URL, date?: string): Promise<void> {
    if (setCookie === undefined) return
    const tough = await loadTough()
    if (!this.#jar) {
      const { CookieJar, cookieCompare } = tough
      this.#jar = new CookieJar()
      this.#compare = cookieCompare
    }
    // The file's cookies this answer may replace or delete (those of its host and the domains above
    // it, any path) become the chain's, each copied once. Not the whole jar: a browser's export
    // holds thousands, and copying 3,000 took 18 ms for every file a server set a cookie on.
    if (this.base) {
      for (const c of await this.base.store.findCookies(url.hostname, null, true)) {
        const k = cookieKey(c)
        if (this.#owned.has(k)) continue
        this.#owned.add(k)
        await this.#jar.store.putCookie(c.clone()!)
      }
    }
    const served = date === undefined ? Number.NaN : httpDate(date)
    const skew = Number.isNaN(served) ? 0 : Date.now() - served
    for (const value of typeof setCookie === 'string' ? [setCookie] : setCookie) {
      if (!fitsRequest(value)) continue
      const cookie = skew === 0 ? value : tough.Cookie.parse(value)
      if (cookie === undefined) continue
      if (typeof cookie !== 'string' && cookie.expires instanceof Date && cookie.maxAge == null)
        cookie.expires = new Date(cookie.expires.getTime() + skew)
      this.#jar.setCookieSync(cookie, url, { ignoreError: true })
    }
  }

  /** The `Cookie` header for `url`, or `undefined` when no cookie goes there. */
  header(url: URL): string | undefined {
    const base = this.base?.getCookiesSync(url) ?? []
    const all = this.#jar
      ? [...base.filter((c) => !this.#owned.has(cookieKey(c))), ...this.#jar.getCookiesSync(url)]
      : base
    // As one jar orders them (RFC 6265 §5.4: longer paths first, then the earlier made).
    if (this.#jar && this.#compare) all.sort(this.#compare)
    return all.length > 0 ? all.map((c) => c.cookieString()).join('; ') : undefined
  }
}

/** A cookie's identity in a jar (RFC 6265 §5.3 step 11: name, domain, path). */
const cookieKey = (c: Cookie): string => `${c.key}\n${c.domain}\n${c.path}`

/** The base jar of a run's resolved options, built once from the file read when they were resolved. */
const jars = new WeakMap<object, { lines: CookieLine[]; jar?: Promise<CookieJar> }>()

/** Remember the cookies file's lines for these resolved options (read when they are resolved). */
export function attachCookies(options: object, lines: CookieLine[]): void {
  jars.set(options, { lines })
}

/** The base jar for these resolved options, or `undefined` without a cookies file. */
export function baseJar(options: object): Promise<CookieJar> | undefined {
  const entry = jars.get(options)
  if (!entry) return undefined
  entry.jar ??= jarOf(entry.lines)
  return entry.jar
}
