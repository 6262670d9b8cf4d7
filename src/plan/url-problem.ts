/**
 * Why a URL cell is not one URL to fetch, in words that say how to fix it: what `new URL` refuses
 * (`notUrl`), and cells it would take for one URL that are not (`severalUrls`).
 */

import { isIPv6 } from 'node:net'
import { domainToASCII } from 'node:url'
import { plural } from '../report/format.js'
import { printable } from '../utils/printable.js'
import {
  atInFileName,
  passwordAsFragment,
  passwordInPath,
  shownUrl,
  unencodedCredentials,
} from '../utils/url.js'

/**
 * What holds a URL: a table's cell, a list's line, or a URL given alone (an argument, a library
 * job's `url`; only a job's can be empty or wrapped in quotes: such an argument is read as a file).
 */
export type Entry = 'row' | 'line' | 'url'

/** An entry's words for itself, in what `notUrl` says (a job's `url: ''` was 'the URL cell is empty'). */
const HOLDER: Record<Entry, { empty: string; alone: string }> = {
  row: { empty: 'the URL cell is empty', alone: 'the cell must be the URL alone' },
  line: { empty: 'the line is empty', alone: 'the line must be the URL alone' },
  url: { empty: "the job's url is empty", alone: "the job's url must be the URL alone" },
}

/** Why quotes that wrap a URL are text, by where it came from (a CSV's `, "https://…"`, a string quoted twice). */
const QUOTED_TEXT: Record<Entry, string> = {
  row: 'which is text here (in a CSV file, a space before the opening quote, as in ", "https://…"", makes it so)',
  line: 'which are part of the line',
  url: 'which are part of the string (quoted twice, as JSON.stringify of a string gives it)',
}

/** How URLs joined in one entry are given apart, in the entry's own words. */
const ONE_EACH: Record<Entry, string> = {
  row: 'one image a row: split the cell into rows',
  line: 'one image a line: put each URL on a line of its own',
  url: 'one image a URL: give each URL apart',
}

/**
 * Text as one http(s) URL to fetch (`url`), or why it is not one (`why`): what `new URL` refuses,
 * several URLs in one cell, another scheme.
 */
export function parseFetchUrl(text: string, entry: Entry = 'row'): { url: URL } | { why: string } {
  // A `/`, `?`, `#` or `\` before the last `@`: a password not percent-encoded (`u:p#x@host`), or
  // a path or query with an `@` (`/a@2x.jpg`), which parses. After a `#` it is the password: the
  // URL parses with the user's name as its host and the rest as a fragment (never sent); so after
  // a `/` or `?` with a host after the `@` and a one-word host before (see `passwordInPath`). An `@`
  // before an image's file name (`http://h:bad/x@2x.jpg`) is the path's: the host or port is wrong.
  const cell = text.trim()
  // Zero bytes inside it: a hole in a list or table written out of order and never filled (a
  // download by pieces, its space allocated first: lingochamp/FileDownloader#543), which joined a
  // URL to the next line's (`a.jpg` + 3,000 NULs + `ttp://…/b.jpg`). The URL parser escapes them
  // (`a.jpg%00%00…`): a request of kilobytes no server has, said as its 404.
  const zeros = cell.includes('\0') ? cell.split('\0').length - 1 : 0
  if (zeros > 0)
    return {
      why: `holds ${zeros.toLocaleString('en-US')} zero ${plural(zeros, 'byte')} (NUL), which no URL does: a hole in the file where its bytes were never written (a download or copy cut short, its space allocated first); fetch or copy it again`,
    }
  const unencoded = atInFileName(cell) ? undefined : unencodedCredentials(cell)
  const credentials = unencoded && `its user and password need ${unencoded}`
  let url: URL
  try {
    url = new URL(cell)
  } catch {
    return { why: credentials ?? notUrl(text, entry) }
  }
  if (credentials && passwordAsFragment(cell, url)) return { why: credentials }
  // Told from a path by its shape alone: a path it was (`http://nas:80/ann@corp.com/`) gets its way out.
  if (credentials && passwordInPath(cell, url))
    return { why: `${credentials}; if the @ is the path's, write it as %40` }
  // A blob: URL holds a page's own URL after its scheme: it was said to hold several URLs.
  if (url.protocol === 'blob:') return { why: BLOB_URL }
  const twice = schemeTwice(cell, url)
  if (twice) return { why: twice }
  if (severalUrls(text)) return { why: `holds several URLs (${ONE_EACH[entry]})` }
  // `localhost:8080/a.jpg` parses with `localhost:` for its scheme: the scheme is missing, not another.
  if (HOST_PORT.test(cell)) return { why: NO_SCHEME }
  // A Windows path (`C:\img\a.jpg`, `D:/a.jpg`: a table made from a local folder) parses with its
  // drive letter for the scheme: it said "not c".
  if (WINDOWS_PATH.test(cell))
    return { why: 'a Windows file path, not a URL: only http and https are fetched' }
  if (url.protocol === 'data:') return { why: dataUrl(cell) }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { why: `only http and https are fetched, not ${url.protocol.replace(/:$/, '')}` }
  return { url }
}

/**
 * Why a `data:` URL (RFC 2397, as a browser's Copy image address gives an inline image) is not
 * fetched: it is the image itself, with no address to download it from. Its media type is said,
 * bounded; the bytes never are.
 */
function dataUrl(cell: string): string {
  const head = /^data:([^,]{0,60}),/i.exec(cell)?.[1] ?? ''
  const type = printable(head.replace(/;base64$/i, '').split(';')[0]) || 'text/plain'
  const save = /;base64$/i.test(head)
    ? 'decode what follows its comma into a file (base64 -d)'
    : 'save what follows its comma into a file'
  return `only http and https are fetched: a data: URL holds the image itself (${type}), not where to download it; ${save}`
}

/**
 * Why a `blob:` URL (a browser's Copy image address on an image a page made in its own memory,
 * `blob:https://site/1f0c…`) is not fetched: it names an object of one browser tab, on no server.
 */
const BLOB_URL =
  'only http and https are fetched: a blob: URL names an image held in one browser tab, on no server; save it from the browser, or copy the address of the image the page loaded'

/** A scheme written twice (`https://https://host/a.jpg`, `http://https//host/…`): the inner one is meant. */
const SCHEME_TWICE = /^https?:[/\\]*(https?)(?::[/\\]+|[/\\]{2,})([^/\\].*)$/is

/**
 * Why a URL whose scheme is written twice is not fetched, with the URL meant: pasted after a
 * form's or a template's own `https://` (coupergateway/couper#249, webhintio/scan-issues#35368), it
 * parses with `http` or `https` for its host, and was asked of a host of that name (`dns: host not
 * found for http://https//host/a.jpg`). `undefined` for any other URL.
 */
function schemeTwice(cell: string, url: URL): string | undefined {
  if (url.hostname !== 'http' && url.hostname !== 'https') return undefined
  const twice = SCHEME_TWICE.exec(cell)
  if (!twice) return undefined
  return `its scheme is written twice, and "${url.hostname}" taken for its host: write ${shownUrl(`${twice[1].toLowerCase()}://${twice[2]}`)}`
}

/** The `invalid-url` message for `text`, refused for `why`; `where`: the list and line it came from. */
export const invalidUrlMessage = (text: string, why: string, where?: string) =>
  `invalid URL "${printable(shownUrl(text))}"${where ? ` (${printable(where)})` : ''}: ${why}`

const NO_SCHEME = 'no http:// or https:// before it'

/** A Windows drive path: a letter, a colon, a separator. */
const WINDOWS_PATH = /^[a-z]:[\\/]/i

/**
 * A host and port without a scheme (`localhost:8080/a.jpg`, `example.com:8080`): the URL parser
 * takes the host for a scheme (a scheme may hold dots and digits), where curl and wget fetch it
 * over http. A scheme before digits alone is no scheme anyone registers; `tel:5551234` has no dot.
 */
export const HOST_PORT = /^(?:localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+):\d{1,5}(?:[/?#]|$)/i

/**
 * The marks that close each mark opening a quote: ASCII quotes, angle brackets, and the
 * typographic quotes a word processor, a chat or a phone's keyboard make of `"` and `'` (smart
 * quotes: English `“…”` `‘…’`, German `„…“` `‚…‘`, French `«…»`, Swedish `”…”`), which a URL
 * copied from a document or a message keeps around it (jekyll/jekyll-seo-tag#4). Such a line was
 * refused: `'“' before its https://: the URL must stand alone`.
 */
export const QUOTE_CLOSES: Readonly<Record<string, string>> = {
  '"': '"',
  "'": "'",
  '<': '>',
  '“': '”',
  '‘': '’',
  '„': '“”',
  '‚': '‘’',
  '«': '»',
  '»': '«',
  '”': '”',
  '’': '’',
}

/** Every mark that opens a quote in `QUOTE_CLOSES`, and every mark that closes one (regular expression class text). */
export const QUOTE_OPENS = Object.keys(QUOTE_CLOSES).join('')
export const QUOTE_ENDS = [...new Set(Object.values(QUOTE_CLOSES).join(''))].join('')

/**
 * Marks around a URL that are not part of it: quotes (a word processor's typographic ones too,
 * `QUOTE_CLOSES`), a code span's backticks, and the angle brackets of mail and Markdown.
 */
const WRAPPED = new RegExp(`^([\`${QUOTE_OPENS}])\\s*https?:\\/\\/\\S*\\s*([\`${QUOTE_ENDS}])$`, 'iu')

/**
 * Why text that `new URL` refuses is not a URL: an empty cell (a JSON `null`, an empty CSV field),
 * a protocol-relative URL (`//host/a.jpg`, as HTML `src` attributes and scraped tables hold them),
 * a host and path without a scheme (`www.example.com/a.jpg`, `localhost:8080/a.jpg`), or a URL wrapped in quotes or angle
 * brackets (`"https://…"` after a CSV's `, `, where the quote is text, not quoting); else `not a URL`.
 */
export function notUrl(text: string, entry: Entry = 'row'): string {
  const cell = text.trim()
  const holder = HOLDER[entry]
  if (cell === '') return holder.empty
  const wrapped = WRAPPED.exec(cell)
  if (wrapped) {
    const marks = `${wrapped[1]}…${wrapped[2]}`
    return wrapped[1] === '"'
      ? `wrapped in ${marks}, ${QUOTED_TEXT[entry]}: ${holder.alone}`
      : `wrapped in ${marks}: ${holder.alone}`
  }
  if (cell.startsWith('//')) return 'protocol-relative, with no http: or https: before it'
  if ((!/^[a-z][a-z0-9+.-]*:/i.test(cell) && /^[^\s/]+\.[^\s/]+(\/|$)/.test(cell)) || HOST_PORT.test(cell))
    return NO_SCHEME
  return schemeTypo(cell) ?? hostProblem(cell) ?? htmlTag(cell) ?? textBefore(cell) ?? 'not a URL'
}

/** A scheme mistyped before its `//`: no colon (`http//`), a `;` for it, or two (`http:://`). */
const SCHEME_TYPO = /^(https?)(\/\/|;\/\/|:{2,}\/\/)(?=[^/\\\s])(.*)$/is

/**
 * Why a URL whose scheme is mistyped is none, with the URL meant: it was `not a URL` (`http//`,
 * `http;//`) or `no host name after http(s)://` (`http:://`), which did not say where. The URL
 * parser reads `http:/host` and `http:///host` as `http://host`, and so does imgpull (see
 * `isUrlArgument`); these it refuses.
 */
function schemeTypo(cell: string): string | undefined {
  const typo = SCHEME_TYPO.exec(cell)
  if (!typo) return undefined
  return `its scheme is mistyped ("${typo[1]}${typo[2]}"): write ${shownUrl(`${typo[1].toLowerCase()}://${typo[3]}`)}`
}

/**
 * An HTML `<img>` or `<source>` tag copied from a page's source in the URL's place (`<img
 * src="https://…/a.jpg" srcset="…">`), said with the URL its `src` names: it was said as the
 * text before its URL, `'img src="' before its https://`, its `<` and `>` dropped as a URL's
 * angle brackets. `undefined` for other text.
 */
function htmlTag(cell: string): string | undefined {
  const tag = /^<(img|source|a|link)\b[^>]*?\b(?:src|href|srcset)\s*=\s*["']?(https?:\/\/[^"'\s>]+)/i.exec(
    cell,
  )
  if (!tag) return undefined
  return `an HTML <${tag[1].toLowerCase()}> tag, not a URL: give the URL alone (${shownUrl(tag[2])})`
}

/**
 * Text pasted with a URL before it (a Markdown list's `- `, a numbered one's `1. `, a link's
 * `![alt](`, a sentence's `see `), said and quoted (at most 24 characters): it was `not a URL`,
 * which did not say what to take out. No password is before a URL's scheme.
 */
function textBefore(cell: string): string | undefined {
  const at = cell.search(/https?:\/\//i)
  if (at <= 0) return undefined
  const before = cell.slice(0, at)
  const shown = printable(before.length > 24 ? `${before.slice(0, 23)}…` : before)
  return `'${shown}' before its ${cell.slice(at, cell.indexOf(':', at)).toLowerCase()}://: the URL must stand alone`
}

/**
 * What is wrong with the host or port of an http(s) URL the parser refused (`:99999`, `:80a`, a
 * space in the host, `[::1` unclosed, no host at all), in words; `undefined` when it is not there.
 * Never quotes the text: in `http://user:pa/ss@host` the "port" is part of a password.
 */
function hostProblem(cell: string): string | undefined {
  const authority = /^https?:[/\\]*([^/\\?#]*)/i.exec(cell)?.[1]
  if (authority === undefined) return undefined
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1)
  if (hostPort === '') return 'no host name after http(s)://'
  const ipv6 = hostPort.startsWith('[')
  if (ipv6 && !hostPort.includes(']')) return 'an IPv6 address without its closing ]'
  const literal = ipv6 ? hostPort.slice(1, hostPort.indexOf(']')) : ''
  // A zone id (`[fe80::1%25eth0]`, RFC 6874: the interface a link-local address is reached by),
  // which curl reads; URLs as browsers and Node read them (WHATWG URL) hold none (whatwg/url#392).
  const zone = literal.indexOf('%')
  if (ipv6 && zone !== -1 && isIPv6(literal.slice(0, zone))) {
    const id = printable(decodeURIComponentSafe(literal.slice(zone + 1).replace(/^25/, '')))
    return `an IPv6 address with a zone id (%${id.length > 16 ? `${id.slice(0, 15)}…` : id}), which URLs as browsers read them cannot hold (whatwg/url#392; curl takes it): reach the host by a global address or a name`
  }
  if (ipv6 && !isIPv6(literal)) return 'not an IPv6 address between its [ and ]'
  const colon = hostPort.indexOf(':', ipv6 ? hostPort.indexOf(']') : 0)
  const host = colon < 0 ? hostPort : hostPort.slice(0, colon)
  const port = colon < 0 ? '' : hostPort.slice(colon + 1)
  // `http://host:8080 /a.jpg`: a space pasted in, not a port that is no number.
  if (/\s/.test(port)) return 'a space in its port'
  if (port !== '' && !/^\d+$/.test(port)) return 'its port is not a number'
  if (port !== '' && Number(port) > 65535) return 'its port is out of range (at most 65535)'
  if (host === '') return 'no host name after http(s)://'
  if (/\s/.test(host)) return 'a space in its host name'
  return ipv6 ? undefined : domainProblem(host)
}

/**
 * Characters no host name holds (the WHATWG URL Standard's forbidden domain code points besides
 * the space, said apart): its parser refuses a host with one, and the message said only "not a URL".
 */
const FORBIDDEN_IN_HOST = /[\p{Cc}#%/:<>?@[\\\]^|]/u

/**
 * What is wrong with a host name (not an IPv6 literal) that the URL parser refused, in words, as
 * the parser finds it (WHATWG host parsing): an escape that is none or decodes to no character a
 * name may hold (`caf%E9`, `a%2Fb`), a character no name holds (`a<b`, `a|b`), a name ending in a
 * number that is no IPv4 address (`256.1.1.1`, `1.2.3.4.5`), a name IDNA refuses (a character no
 * domain name may hold, `a⒈`; a bad Punycode label, `xn--a`, where ada before 4 refuses it: Node 20
 * and 22, not 24, which keeps an ASCII host as written, whatwg/url a8d5ca3716). Each was `not a
 * URL`. Like the port's, never quotes the text: before a password's unencoded `/` the "host" is
 * the user's name.
 */
function domainProblem(host: string): string | undefined {
  const bad = /%(?![0-9A-Fa-f]{2})/.test(host)
  if (bad) return 'its host name holds a % that begins no escape (%XX): no host name holds one'
  const escaped = host.includes('%')
  const decoded = escaped ? decodeHostEscapes(host) : host
  if (decoded === undefined)
    return 'its host name holds %-escapes that are no UTF-8 text (a list saved in another encoding?): a host name is text'
  const forbidden = FORBIDDEN_IN_HOST.exec(decoded)?.[0]
  if (forbidden !== undefined) {
    const shown = /\p{Cc}/u.test(forbidden)
      ? `a control character (U+${forbidden.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')})`
      : `a "${forbidden}"`
    return `its host name holds ${shown}${host.includes(forbidden) ? '' : ' (as an escape)'}, which no host name can`
  }
  if (/\s/.test(decoded)) return 'a space in its host name (as an escape)'
  const last = decoded.replace(/\.$/, '').split('.').at(-1) ?? ''
  if (/^(?:\d+|0x[0-9a-f]*)$/i.test(last))
    return 'its host name ends in a number, but it is no IPv4 address (four numbers of at most 255, with dots between)'
  if (domainToASCII(decoded) === '')
    return 'its host name is no valid international domain name (IDNA: an xn-- label that is no Punycode, or a character no domain name holds)'
  return undefined
}

/** `host` with its %XX escapes decoded as UTF-8 bytes; `undefined` where they are not UTF-8. */
function decodeHostEscapes(host: string): string | undefined {
  try {
    return decodeURIComponent(host)
  } catch {
    return undefined
  }
}

/**
 * Whether a cell holds more than one URL (`https://a/1.jpg https://a/2.jpg`, or one a line): the
 * URL parser takes it for one, its spaces escaped, and the request fetches neither image. A URL
 * never holds whitespace before a scheme; one inside its query (`?u=https://…`) is left alone.
 * Nor a `,`, `;` or `|` right before one in its path: URLs a spreadsheet row or a chat joined so
 * (`…/a.jpg,https://…/b.jpg`, a CSV row without a header, a cell of several), each asked for as
 * one path `/a.jpg,https://…`, a 404, as curl, wget2 and aria2c ask for it. In a query the same
 * is a parameter's value (`?urls=https://a,https://b`), left alone. So for URLs glued with nothing
 * between them (`…/a.jpghttps://…/b.jpg`), as a script or an export that writes each URL without
 * its newline leaves them (asadahimeka/yandere-masonry#77), or with a NEL (U+0085, a line end to
 * Unicode that is no whitespace to JavaScript): a scheme in a path comes after a `/` (an archive's
 * or an image CDN's fetch URL, `/web/2020/https://…`), never after a name.
 */
export const severalUrls = (text: string): boolean => {
  const cell = text.trim()
  return /[\s\u0085]https?:\/\//i.test(cell) || /[^/]https?:\/\//i.test(cell.split(/[?#]/, 1)[0])
}

/** `text` with its percent-escapes decoded, or as it is where they are not valid UTF-8. */
function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/**
 * Punctuation pasted after a URL from a chat or a sentence (`see https://x/a.jpg).`, `…/b.jpg,`),
 * which the link a chat app or Markdown makes of it leaves out (GFM's extended autolinks: trailing
 * `? ! . , : * _ ~`, and a `)` the URL does not open; Slack's and Teams' links too, quotes
 * besides), or an ellipsis where a page or chat showed a long URL shortened, or soft hyphens (a
 * page's hyphenation, anywhere in the URL), which show nothing. In words, for the
 * failure of a request the server refused as written (a 404), with the URL meant; `undefined` for
 * a URL that ends otherwise. `href`: the URL as parsed (a `"` is `%22` there, a `…` `%E2%80%A6`).
 */
export function pastedTail(href: string): string | undefined {
  // A soft hyphen (U+00AD) shows nothing: a page that hyphenates its text (`&shy;`) puts them in
  // a URL copied from it, and the link asks for `Aan%C2%ADvraag.docx` (craftcms/redactor#480).
  if (SOFT_HYPHEN.test(href))
    return `its soft hyphens (U+00AD, which show nothing: a page's hyphenation, copied with it) are likely not the URL's: ${shownUrl(href.replace(SOFT_HYPHENS, ''))}`
  // So for a mark that shows nothing, escaped at the URL's end (`a.jpg%E2%80%8B`, as an address
  // bar or an encoder copies a zero-width space pasted after it; crossorigin.me#18): a list line's
  // own marks are trimmed, escaped ones were a bare `HTTP 404`.
  const unseen = UNSEEN_TAIL.exec(href)?.[0]
  if (unseen && href.length > unseen.length)
    return `${printable(unseen.toUpperCase())} at its end is an escaped mark that shows nothing (a zero-width space, a joiner, a direction mark or a byte order mark), likely not the URL's: ${shownUrl(href.slice(0, -unseen.length))}`
  const caption = CAPTION.exec(href)
  const words =
    caption &&
    decodeURIComponentSafe(caption[2])
      .replace(/\u00A0/g, ' ')
      .trim()
  // Words that end as an image's name are a name with a space in it (`a.jpg copy.jpg`).
  if (caption && words && !IMAGE_END.test(words)) {
    const shown = printable(words.length > 40 ? `${words.slice(0, 39)}…` : words)
    return `the words after its space ("${shown}") are likely a caption or a note pasted with it, not the URL's: ${shownUrl(caption[1])}`
  }
  // Closing marks too: a `>` or `}` (`%3E`, `%7D` in a path) whose opening was not pasted, a
  // typographic quote (`’ ” »`, a word processor's smart quotes: jekyll/jekyll-seo-tag#4).
  const tail = /(?:[.,:;!?*_~'\])}]|%22|%3E|%7D|%E2%80%9[9D]|%C2%BB|%E2%80%A6)+$/i.exec(href)?.[0]
  if (!tail) return undefined
  if (decodeURIComponentSafe(tail).includes('…'))
    return 'its "…" is where a page or a chat shortened the URL it showed: copy the link itself, not its text'
  // A `)` the URL opens is its own (`/wiki/Chair_(furniture)`): the tail begins after it.
  let cut = tail
  for (
    let open = count(href, '(') - count(href.slice(0, -tail.length), ')');
    open > 0 && cut.includes(')');
    open--
  )
    cut = cut.slice(cut.indexOf(')') + 1)
  const meant = href.slice(0, href.length - cut.length)
  if (cut === '' || /^[a-z]+:\/\/[^/]*\/?$/i.test(meant)) return undefined
  const shown = decodeURIComponentSafe(cut)
  const q = shown.includes('"') ? "'" : '"'
  return `${q}${shown}${q} at its end is likely punctuation pasted with it, which a chat's link leaves out: ${shownUrl(meant)}`
}

/**
 * An image's URL, then a space (or a no-break space) and words: a list line with its caption or a
 * note after the URL, copied from a spreadsheet without its tab or from a chat (`…/cat.jpg A nice
 * cat`). A name may hold a space, so the request goes as written (wget2 and aria2c ask for it so,
 * a 404; curl, given the words as arguments, asks for each); its failure names the URL meant.
 * Group 1: the URL up to the space; 2: the words.
 */
const CAPTION =
  /^([^?#]*\.(?:jpe?g|png|gif|webp|avif|bmp|tiff?|svg|heic|heif|ico|jxl)(?:\?[^#%]*)?)(?:%20|%C2%A0)([^/?#]+)$/i

const IMAGE_END = /\.(?:jpe?g|png|gif|webp|avif|bmp|tiff?|svg|heic|heif|ico|jxl)$/i

/** Escapes of the marks that show nothing (U+200B-U+200F, U+2060-U+2064, U+FEFF) at a URL's end. */
const UNSEEN_TAIL = /(?:%E2%80%8[B-F]|%E2%81%A[0-4]|%EF%BB%BF)+$/i

/** A soft hyphen as the URL parser escapes it. */
const SOFT_HYPHEN = /%C2%AD/i
const SOFT_HYPHENS = /%C2%AD/gi

const count = (text: string, char: string): number => text.split(char).length - 1
