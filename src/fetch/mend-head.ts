import { MAX_HEADER_BYTES } from './header-limits.js'

// The bytes of an HTTP/1.1 head that llhttp refuses, where curl and browsers read them, rewritten
// before undici's parser reads them (see undici-h1-parser.ts `readAsCurlDoes`). Pure: bytes and
// strings in, a copy out.

/** A `Content-Length` value that is a list of lengths, maybe with empty elements (`7416,`). */
const LENGTH_LIST = /^[ \t,]*\d+(?:[ \t]*,[ \t,]*\d+)*[ \t,]*$/
/** A `Content-Length` line: its name, its value (white space around it left out). */
const LENGTH_LINE = /\n(content-length)[ \t]*:[ \t]*([^\r\n]*?)[ \t]*(?=\r?\n)/gi
/** A header llhttp reads for an answer's framing, folded over more than one line. */
const FOLDED_FRAMING =
  /\n(?:content-length|transfer-encoding|connection|proxy-connection)[ \t]*:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)+(?=\r?\n)/gi
/** A fold: a line end, then the white space that begins the next line. */
const FOLD = /\r?\n[ \t]+/g
/** A line of a header llhttp reads for an answer's framing, a tab in its value (not folded). */
const FRAMING_LINE =
  /\n(?:content-length|transfer-encoding|connection|proxy-connection)[ \t]*:[^\r\n]*\t[^\r\n]*(?=\r?\n)/gi
/** A `Transfer-Encoding` line: its name and colon, its value (with the lines folded into it). */
const CODINGS_LINE = /\n(transfer-encoding[ \t]*:)((?:[^\r\n]|\r?\n[ \t])*)(?=\r?\n)/gi
/**
 * The comma after which a list's element is empty: another comma, or the end, after white space
 * (a folded line's end too: `gzip,` then ` chunked` on the next line lists two codings).
 */
const EMPTY_ELEMENT = /,(?=(?:[ \t]|\r?\n[ \t])*(?:,|$))/g
/** A header line with white space between its name and its colon: the name, the white space. */
const SPACED_NAME = /\n([!#$%&'*+.^_`|~0-9A-Za-z-]+)([ \t]+):/g
/** A `Transfer-Encoding` line that lists `chunked` (its lengths are set aside: see `mendAllLines`). */
const CHUNKED_LINE = /\ntransfer-encoding[ \t]*:[^\r\n]*\bchunked\b/i
/** A whole header line (not the status line, not a folded one), without its line end. */
const HEADER_LINE = /\n(?![ \t])([^\r\n]{2,})(?=\r?\n)/g
/** A header line that starts with a field name and its colon. */
const FIELD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+:/
/** What ends a head (an empty line), and how many bytes on the next head starts. */
const HEAD_ENDS = [
  ['\n\r\n', 3],
  ['\n\n', 2],
  ['\n\r\r\n', 4],
] as const
/** A line with something on it ended by CR CR LF (a CGI script's CR LF through a text-mode stream). */
const CR_CR_LF = /(?<=[^\r\n])\r\r\n/g
/** A CR that ends no line (no LF after it), once CR CR LF line ends are mended. */
const BARE_CR = /\r(?!\n)/g
/** The line end before an empty line ended by CR CR LF, and that empty line. */
const BLANK_CR_CR_LF = /\r?\n\r\r\n/
/** An interim answer's status line (not `101`: what follows it is another protocol). */
const INTERIM = /^HTTP\/\d\.\d 1(?!01)\d\d\b/
/** A status line's version. */
const VERSION = /^HTTP\/\d\.\d/
/** A `Connection` line's name and colon (white space before it, as `mendLines` may leave it). */
const CONNECTION_NAME = /(?<=\n)Connection[ \t]*:/gi

/**
 * An interim head (see `INTERIM`) with nothing in it that would end the connection, the bytes
 * keeping their count: its version as `HTTP/1.1`, and a `Connection` line as one named `_` that
 * nobody reads. llhttp closed the parser after an interim `HTTP/1.0 100 Continue` (HTTP/1.0 keeps
 * no connection open unasked), `HTTP/2.0 103` (see `mendStatus`) or a `100 Continue` that says
 * `Connection: close` (a server that writes the final answer's headers into its 100 too,
 * igrigorik/em-http-request#74), and refused the answer after it (`Data after Connection: close`),
 * on every attempt; curl reads it. A 1xx has no body, and only the final answer's head governs
 * the connection (RFC 9110 §15.2: a client reads past an interim answer it did not expect).
 */
function mendInterim(head: string): string {
  return head
    .replace(VERSION, 'HTTP/1.1')
    .replace(CONNECTION_NAME, (name) => `_:${' '.repeat(name.length - 2)}`)
}

/**
 * `data` with what llhttp refuses in a head, where curl and browsers read it, rewritten as it
 * reads it; `data` itself is never changed: a copy is returned. The bytes keep their count but
 * in a status line (see `mendStatus`), and the body after a head is passed on as it came.
 * - `Content-Length: 42, 42` (a list of one length, as an upstream processor makes of agreeing
 *   lines: RFC 9110 §8.6, whose own example it is) as `Content-Length: 42` and spaces to the
 *   line's end; a list whose lengths differ is left to be refused, but beside a
 *   `Transfer-Encoding` that lists `chunked`, which overrides it (its first length given, set aside);
 * - `X-Powered-By : PHP` (white space between a name and its colon, as ing.dk's `Set-Cookie :`
 *   and nginx configs' `Access-Control-Allow-Credentials : true` send it) as `X-Powered-By:  PHP`:
 *   llhttp takes that space only in the names it knows (`Content-Length`...), and refused the
 *   whole answer; curl, wget2, browsers and hyper (seanmonstar/httparse#88) read past it. RFC 9112
 *   §5.1 has a proxy remove it from an answer: it names no other header;
 * - a header line that names no field (a space inside its name, `en-US Content-Type: text/xml`
 *   as IIS sent it, nodejs/http-parser#8; no name before its colon; no colon at all) as a line
 *   `_: ...` that names nothing anyone reads: llhttp refused the answer, where curl and wget2
 *   skip the line (curl, too, reads no `Content-Length` from a `Content Length:` line); one of a
 *   single character is left to be refused;
 * - a `Content-Length` that is no length (`-1`, which servers send for a length they do not
 *   know; empty; a word; past 2^64) as a line named `_` nobody reads: the body is read to the
 *   close and judged as one without a length, as browsers and wget2 read it (RFC 9112 §6.3 has a
 *   user agent discard such an answer: imgpull keeps only what its bytes show whole); `+42` as
 *   ` 42`, as curl and wget2 read it;
 * - a status line curl or wget2 reads (see `mendStatus`);
 * - an interim head that would end the connection (see `mendInterim`);
 * - lines ended by CR CR LF (a script's CR LF written through a Windows text-mode stream,
 *   facebook/flow#4779), as curl reads them: llhttp took the status line's CR CR LF for a line
 *   and an empty one, ended the head there and read the headers as the body (`not an image ...
 *   sent no content type`); each is read as a space and CR LF, the empty line's extra byte put
 *   before the line end above it.
 * - with `tunnel` (the answer is to a `CONNECT`), a 2xx's `Content-Length` and `Transfer-Encoding`
 *   lines as lines named `_` nobody reads: RFC 9110 §9.3.6 has a client ignore them there (the
 *   bytes after the head are the tunnel's), and lengths that differ failed every https:// file
 *   through the proxy as an answer whose body's end is in doubt (a body it never has).
 * Looked for only in a head up to its empty line (its end), and in the head after it when that
 * one was an interim `1xx` (a `103 Early Hints` and its answer come together). A head is given
 * to llhttp whole: one that has not ended yet is `held` (returned, its pieces in order) and
 * comes again before the next piece, so a line cut between two pieces (a TCP segment, a TLS
 * record) is mended as one: cut there, a quirk was refused, or a status line's CR CR LF ended the
 * head and its headers were read as the body. A body is never searched (an image's bytes may hold
 * anything). Past `HOLD_MAX`, what is held goes to llhttp as it came (its header limit then
 * speaks).
 */
export function mendHead(data: Buffer, held?: Buffer[], tunnel = false): { data: Buffer; held?: Buffer[] } {
  if (held) {
    // What is held has no head's end; one may straddle it and `data` (`...\r\n` | `\r\n`).
    const last = held.at(-1) as Buffer
    const seam = Buffer.concat([last.subarray(-3), data.subarray(0, 3)])
    if (!HEAD_ENDS.some(([blank]) => seam.includes(blank) || data.includes(blank))) {
      held.push(data)
      const size = held.reduce((sum, piece) => sum + piece.length, 0)
      return size > HOLD_MAX ? { data: Buffer.concat(held) } : { data: EMPTY, held }
    }
  }
  const whole = held ? Buffer.concat([...held, data]) : data
  // The heads mended (a status line may change its length), then what follows them as it came.
  const mendedHeads: Buffer[] = []
  let changed = false
  let start = 0
  // Line ends before a status line (a body one CRLF longer than its length) go to llhttp as they
  // came: it skips them between answers, and refuses them before the first.
  while (whole[start] === 0x0d || whole[start] === 0x0a) start++
  if (start > 0) mendedHeads.push(whole.subarray(0, start))
  while (start < whole.length) {
    let end = -1
    let next = 0
    for (const [blank, skip] of HEAD_ENDS) {
      // Each later form looked for only before an end found already: an image is not scanned.
      const at = (end < 0 ? whole : whole.subarray(0, end + blank.length - 1)).indexOf(blank, start)
      if (at >= 0) [end, next] = [at, at + skip]
    }
    if (end < 0) {
      // Bytes that begin no status line (a TLS alert, an SSH banner) go to llhttp at once: it
      // refuses them at their first byte, as the answer of something that is no HTTP server.
      if (!beginsStatusLine(whole, start)) return { data: whole }
      // A head not ended: held until its end comes. llhttp reads what came before it.
      const before = mendedHeads.length ? Buffer.concat(mendedHeads) : EMPTY
      return { data: before, held: [Buffer.from(whole.subarray(start))] }
    }
    const head = whole.toString('latin1', start, next)
    let mended = mendLines(tunnel && TUNNEL_OPENED.test(head) ? head.replace(FRAMING_NAME, unread) : head)
    const interim = INTERIM.test(mended)
    if (interim) mended = mendInterim(mended)
    changed ||= mended !== head
    mendedHeads.push(mended === head ? whole.subarray(start, next) : Buffer.from(mended, 'latin1'))
    start = next
    if (!interim) break
    // Line ends after an interim head (`103 Early Hints` then an empty line too many) go to llhttp
    // as they came, as before the first head: read as a header line of the answer after them, its
    // status line was refused (`_:TP/1.1 200 OK`) when both came in one read, and read as it is
    // when the network cut them apart.
    const ends = start
    while (whole[start] === 0x0d || whole[start] === 0x0a) start++
    if (start > ends) mendedHeads.push(whole.subarray(ends, start))
  }
  if (!changed) return { data: whole }
  return { data: Buffer.concat([...mendedHeads, whole.subarray(start)]) }
}

/**
 * A head with nothing for `mendAllLines` to mend, as nearly every server sends one: a well-formed
 * status line, then lines `name:value` (a token, its colon right after it, no tab, no CR but the
 * line end's) each ended by CR LF, then the empty line; no `Content-Length` other than one plain
 * number (`NOT_PLAIN_LENGTH`), no comma in a `Transfer-Encoding` (`LISTED_CODINGS`). Told apart in
 * one search where mending it took ten (each a regular expression over the whole head and a copy of
 * it), for every answer: 5,000 small images spent 9 MB of garbage on them.
 */
const PLAIN_HEAD =
  /^HTTP\/1\.[01] \d{3}(?: [^\r\n]*)?\r\n(?:[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\t\r\n]*\r\n)*\r\n$/
/** A `Content-Length` line whose value is not one number llhttp reads as it is (see `LENGTH_LINE`). */
const NOT_PLAIN_LENGTH = /\ncontent-length:(?! *\d{1,19} *\r\n)/i
/** A `Transfer-Encoding` line listing more than one element, or an empty one (see `CODINGS_LINE`). */
const LISTED_CODINGS = /\ntransfer-encoding:[^\r\n]*,/i

/**
 * One whole head (its empty line included) as llhttp can read it: see `mendHead`. The head itself
 * (the same string) when it needs nothing (see `PLAIN_HEAD`).
 */
export function mendLines(head: string): string {
  if (PLAIN_HEAD.test(head) && !NOT_PLAIN_LENGTH.test(head) && !LISTED_CODINGS.test(head)) return head
  return mendAllLines(head)
}

/** `mendLines` without its shortcut: every quirk looked for (exported for its table test). */
export function mendAllLines(head: string): string {
  let mended = WELL_FORMED_STATUS.test(head) ? head : mendStatus(head)
  mended = mended.replace(CR_CR_LF, ' \r\n').replace(BLANK_CR_CR_LF, (ends) => ` ${ends.slice(0, -2)}\n`)
  // A bare CR left (`X-Note: one\rtwo`) read as a space, as RFC 9112 §2.2 allows a recipient: llhttp
  // refused the answer ('Missing expected LF after header value'), where curl, wget2 and browsers read it.
  mended = mended.replace(BARE_CR, ' ')
  // A tab in a framing header's value (RFC 9110 §5.6.3's OWS, as a space is: `Transfer-Encoding:
  // chunked\t`, `Content-Length: 7416\t`, `gzip,\tchunked`) read as a space: llhttp refused the
  // length, and took `chunked\t` for another coding, reading the chunks' framing to the close as
  // the body (`not-an-image`), where curl, wget2 and aria2c read both. Those values are lists of
  // tokens or numbers: a tab in them is white space around one.
  // A framing header folded over lines (obs-fold, RFC 9112 §5.2: a recipient replaces each fold
  // by a space before it reads the value) unfolded: llhttp read no length from `Content-Length:`
  // then ` 7416` on the next line (the body read to the close, or the idle timeout), nor chunked
  // as the last of `identity,` then ` chunked` (the framing read as the body, `not-an-image`),
  // where wget2 and aria2c read the one, wget2 the other.
  mended = mended.replace(FOLDED_FRAMING, (line) => line.replace(FOLD, ' '))
  mended = mended.replace(FRAMING_LINE, (line) => line.replaceAll('\t', ' '))
  // An empty element in the list of transfer codings (`chunked,`, `gzip,,chunked`: RFC 9110
  // §5.6.1 has a recipient ignore it) left out: llhttp took `chunked,` for a last coding that is
  // not chunked, reading the chunks' framing to the close as the body (`not-an-image`), where curl
  // and wget2 read it. A leading one llhttp already passes over.
  mended = mended.replace(
    CODINGS_LINE,
    (_, name: string, value: string) => `\n${name}${value.replace(EMPTY_ELEMENT, ' ')}`,
  )
  const chunkedHead = CHUNKED_LINE.test(mended)
  mended = mended.replace(LENGTH_LINE, (line, name: string, value: string) => {
    if (/^\d+$/.test(value))
      return value.length < 20 || BigInt(value) < LLHTTP_MAX_LENGTH ? line : unread(line, name)
    if (/^\+\d+$/.test(value)) return line.replace('+', ' ')
    // Commas alone list no length: no length at all, as an empty value.
    if (!LENGTH_LIST.test(value))
      return value.includes(',') && !/^[ \t,]*$/.test(value) ? line : unread(line, name)
    // A list of one length, read as that length; one of several is left to be refused. Empty
    // elements (`7416,`) are no lengths (RFC 9110 §5.6.1: a recipient ignores them).
    const lengths = value
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n !== '')
      .map(Number)
    // Under chunked, which overrides every length (RFC 9112 §6.3), it is set aside as one length
    // beside it is (see undici-h1-parser.ts `readAsCurlDoes`): its first given, for llhttp to take and drop.
    if (lengths.some((n) => n !== lengths[0]) && !chunkedHead) return line
    const at = line.lastIndexOf(value)
    return line.slice(0, at) + String(lengths[0]).padEnd(value.length, ' ') + line.slice(at + value.length)
  })
  return mended
    .replace(SPACED_NAME, (_, name: string, space: string) => `\n${name}:${space}`)
    .replace(HEADER_LINE, (line, text: string) => (FIELD.test(text) ? line : `\n_:${text.slice(2)}`))
}

/** A 2xx status line: to a `CONNECT`, the tunnel is open after its head (RFC 9110 §9.3.6). */
const TUNNEL_OPENED = /^HTTP\/[\d.]+[ \t]+2\d\d\b/i
/** The name of a `Content-Length` or `Transfer-Encoding` line (the line end before it). */
const FRAMING_NAME = /\n(content-length|transfer-encoding)(?=[ \t]*:)/gi

/** A `Content-Length` line named so no one reads it: what a length that is no length becomes. */
const unread = (line: string, name: string) => `\n${'_'.repeat(name.length)}${line.slice(name.length + 1)}`
/** Past this, llhttp refuses a `Content-Length` ('Content-Length overflow': a 64-bit count). */
const LLHTTP_MAX_LENGTH = 2n ** 64n
/** A status line llhttp reads as it is (`HTTP/1.1 200 OK`, `HTTP/1.0 404`), most of them. */
const WELL_FORMED_STATUS = /^HTTP\/1\.[01] \d{3}[ \r\n]/
/** A status line's parts: its name, major, `.minor`, the white space before the status, the status. */
const STATUS_LINE = /^(HTTP)\/(\d)(\.\d)?([ \t]+)(\d{3})(?=[ \t\r\n])/i
/** A tab after a status line's status. */
const STATUS_TAB = /^(HTTP\/\d\.\d \d{3})\t/

/**
 * A status line as curl (or wget2, where curl refuses it) reads it, where llhttp refused it:
 * - `http/1.1` in any case, as `HTTP/1.1` (curl; RFC 9112 §2.3 spells it in capitals);
 * - `HTTP/1.2` to `HTTP/1.9` as `HTTP/1.1` (wget2), as RFC 9110 §2.5 has a recipient process
 *   a higher minor version of a major it implements;
 * - `HTTP/2 200` over an HTTP/1.1 connection (a gateway writing HTTP/2's status format) as
 *   `HTTP/2.0 200`, as curl reads it: llhttp then closes the connection after it, as after
 *   an HTTP/1.0 answer that does not ask to keep it;
 * - white space other than one space between the version and the status, or a tab after the
 *   status (curl, wget2), as one space, the rest moved after the status.
 * Anything else (`HTTP/1 200`, `HTTP/1.1 2000`, `ICY 200 OK`) is left to be refused.
 */
function mendStatus(head: string): string {
  const mended = head.replace(
    STATUS_LINE,
    (line, name: string, major: string, minor: string | undefined, space: string, status: string) => {
      const version =
        major === '1' && minor
          ? minor === '.0'
            ? '1.0'
            : '1.1'
          : major === '2' && (!minor || minor === '.0')
            ? '2.0'
            : minor && major + minor
      return version ? `${name.toUpperCase()}/${version} ${status}${' '.repeat(space.length - 1)}` : line
    },
  )
  return mended.replace(STATUS_TAB, '$1 ')
}

const EMPTY = Buffer.alloc(0)
const HTTP_NAME = Buffer.from('HTTP/')

/** Whether the bytes of `data` from `start` begin (or may, when there are fewer) with `HTTP/`, in any case. */
function beginsStatusLine(data: Buffer, start: number): boolean {
  const end = Math.min(data.length, start + HTTP_NAME.length)
  for (let i = start; i < end; i++) {
    const want = HTTP_NAME[i - start]
    if (want === 0x2f ? data[i] !== want : (data[i] & 0xdf) !== want) return false
  }
  return true
}

/**
 * Most bytes of a head held back until its end (see `mendHead`): twice what llhttp reads of its
 * names and values (`MAX_HEADER_BYTES`), room for the line ends and colons of a head it takes.
 */
const HOLD_MAX = 2 * MAX_HEADER_BYTES
