import { setMaxListeners } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { ImgpullError } from '../../errors.js'
import { BodyDecoder, codingsOf } from '../../fetch/content-encoding.js'
import { redirectTarget } from '../../fetch/location.js'
import { parseRetryAfter, retryDelay } from '../../fetch/retry-delay.js'
import { sharedLookup } from '../../fetch/shared-lookup.js'
import { Agent, type Dispatcher, request } from '../../fetch/undici.js'
import { grouped } from '../../report/format.js'
import { definedFields } from '../../utils/defined-fields.js'
import { quoted } from '../../utils/printable.js'
import { steadyNow } from '../../utils/steady-clock.js'
import { looksLike } from '../../verify/not-image.js'
import { badKeyError, RateLimitError, StoppedError, UnsplashError } from './errors.js'
import {
  budgetRefused,
  HOUR,
  type OnRateLimit,
  type RateLimit,
  readRateHeaders,
  waitForReset,
} from './rate-limit.js'
import type { ErrorBody } from './types.js'

export const DEFAULT_API_URL = 'https://api.unsplash.com'

/** What a call is for, so a run can say where its API budget went. */
export type CallKind = 'listing' | 'tracking'

export interface ClientOptions {
  /** Access key, sent as `Authorization: Client-ID <key>` and nowhere else. */
  key: string
  /** @default 'https://api.unsplash.com' */
  apiUrl?: string
  /**
   * Where `apiUrl` came from, as messages name it (`--api-url`, `UNSPLASH_API_URL`): an answer
   * that is not the API's names the address and this. @default '`apiUrl`' when given, else 'the default'
   */
  apiFrom?: string
  /** What to do when the hourly budget runs out. @default 'wait' */
  onRateLimit?: OnRateLimit
  /** Length of the rate-limit window, in ms: how long a wait lasts. @default 3_600_000 */
  window?: number
  userAgent?: string
  /** Retries after a network error, 429 or 5xx. @default 3 */
  retries?: number
  /** First backoff step, in ms. @default 500 */
  retryBase?: number
  /** Connect, headers and body timeouts, in ms. @default 30_000 */
  timeout?: number
  /** Where rate-limit waits are announced. */
  say?: (line: string) => void
  /** Ends waits and calls in flight (Ctrl-C). */
  signal?: AbortSignal
  /**
   * The connection pool to call through: a run's own (with its proxies, trusted CAs, HTTP/2).
   * The client does not close it. Without one the client makes its own, direct.
   */
  dispatcher?: Dispatcher
}

/** One caller's way out: its calls stop, waits shared with other callers go on for them. */
export interface CallOptions {
  /** Ends this call and its wait for a reset (the client's own signal ends every call). */
  signal?: AbortSignal
}

type Resolved = Required<Omit<ClientOptions, 'signal' | 'userAgent' | 'dispatcher' | 'apiFrom'>> &
  Pick<ClientOptions, 'signal' | 'userAgent'>

export interface Answer<T> {
  body: T
  headers: Record<string, string | string[] | undefined>
}

/**
 * A small client for the Unsplash API: the two headers every call needs, retries for passing
 * trouble, and the hourly rate limit read from every answer. Concurrent callers share one wait.
 */
export class UnsplashClient {
  readonly rate: RateLimit = {}
  /** Answered calls by purpose (calls refused for the rate limit are not counted: they cost nothing). */
  readonly calls: Record<CallKind, number> = { listing: 0, tracking: 0 }
  readonly #o: Resolved
  readonly #base: URL
  /** Where `#base` came from, as messages name it. */
  readonly #from: string
  readonly #agent: Dispatcher
  /** Whether the pool is the client's own, to close with it. */
  readonly #ownAgent: boolean
  /** The caller's signal, or `close()`: ends every wait and call. */
  readonly #signal: AbortSignal
  readonly #closed = new AbortController()
  #waiting: Promise<void> | undefined
  /** When the wait for the reset ends (`steadyNow()`'s clock, which does not step), while one runs. */
  #waitUntil: number | undefined
  /** In `stop` mode, once the budget is gone every later call fails at once. */
  #stopped = false
  /** When the calls are back at the latest, once stopped: one window after the budget ran out. */
  #until: number | undefined

  constructor(options: ClientOptions) {
    const set = definedFields(options)
    this.#o = {
      key: options.key,
      apiUrl: DEFAULT_API_URL,
      onRateLimit: 'wait',
      window: HOUR,
      retries: 3,
      retryBase: 500,
      timeout: 30_000,
      say: () => {},
      ...set,
    }
    if (!this.#o.key) throw new TypeError('Expected `key` to be a non-empty access key')
    this.#base = new URL(this.#o.apiUrl)
    if (this.#base.protocol !== 'https:' && this.#base.protocol !== 'http:') {
      throw new TypeError(`Expected \`apiUrl\` to be an http(s) URL, got ${this.#o.apiUrl}`)
    }
    this.#from = options.apiFrom ?? (options.apiUrl === undefined ? 'the default' : '`apiUrl`')
    this.#signal = options.signal
      ? AbortSignal.any([options.signal, this.#closed.signal])
      : this.#closed.signal
    // Up to 8 tracking calls and a listing call listen at once, and undici lets go of a call's
    // listener only once its body closes. A tracking call is sent with `#closed`'s signal alone
    // (see get()), so it needs the room as much as the caller's (the CLI's) combined one.
    setMaxListeners(64, this.#signal, this.#closed.signal)
    const t = this.#o.timeout
    this.#ownAgent = !options.dispatcher
    // Its own connections look names up as the run's do (`http://api.localhost` is the loopback).
    this.#agent =
      options.dispatcher ??
      new Agent({ connect: { timeout: t, lookup: sharedLookup() }, headersTimeout: t, bodyTimeout: t })
  }

  /**
   * An answer for `shown` (`/search/photos`) that is not the Unsplash API's (`why`: `HTTP 404, an
   * HTML page titled "Not Found"`), code `unsplash-not-api`: named by the address in use and where
   * it came from, not blamed on the search or the collection (a static server 404s every path).
   */
  notApi(shown: string, why: string): UnsplashError {
    return new UnsplashError(
      'unsplash-not-api',
      `the answer for ${shown} is not the Unsplash API's (${why}): check the API address ${this.#where()}`,
      { usage: true },
    )
  }

  /** The API address in use, without any credentials in it, and where it came from. */
  #where(): string {
    const shown = quoted(this.#base.origin + this.#base.pathname.replace(/\/+$/, ''), 200)
    return `${shown}, from ${this.#from}`
  }

  /** Whether this run ran out of calls and, in `stop` mode, stopped. */
  get stopped(): boolean {
    return this.#stopped
  }

  /**
   * The API address for `path` (`/search/photos`), under the configured base. A path that comes
   * from the API itself (a `download_location`) is re-based too, with its query kept: the key
   * then only ever goes to the host the user chose.
   */
  url(path: string, query: Record<string, string | number | undefined> = {}): URL {
    const given = new URL(path, 'http://x')
    const prefix = this.#base.pathname.replace(/\/+$/, '')
    const u = new URL(prefix + given.pathname + given.search, this.#base.origin)
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== '') u.searchParams.set(name, String(value))
    }
    return u
  }

  async get<T>(
    path: string,
    query: Record<string, string | number | undefined> = {},
    kind: CallKind = 'listing',
    call: CallOptions = {},
  ): Promise<Answer<T>> {
    let url = this.url(path, query)
    const shown = url.pathname + url.search
    let hops = 0
    const signal = call.signal ? AbortSignal.any([this.#signal, call.signal]) : this.#signal
    // A tracking call, once sent, is let finish: the API may have counted one cut off, and sent
    // again by the next run it would count twice. A stop still ends its wait for the budget or a
    // retry (then it stays owed), and `close()` everything.
    const sending = kind === 'tracking' ? this.#closed.signal : signal
    for (let attempt = 1; ; attempt++) {
      await this.#budget(signal)
      let status: number
      let headers: Answer<T>['headers']
      let text: string
      try {
        const res = await request(url, {
          method: 'GET',
          dispatcher: this.#agent,
          // Per request: a run's shared pool has the download timeouts, not the API's.
          headersTimeout: this.#o.timeout,
          bodyTimeout: this.#o.timeout,
          signal: sending,
          headers: {
            authorization: `Client-ID ${this.#o.key}`,
            'accept-version': 'v1',
            accept: 'application/json',
            ...(this.#o.userAgent ? { 'user-agent': this.#o.userAgent } : {}),
          },
        })
        status = res.statusCode
        headers = res.headers
        text = await bodyText(res.body, headers, shown)
      } catch (error) {
        if (signal.aborted) throw new StoppedError()
        if (error instanceof UnsplashError) throw error
        if (attempt <= this.#o.retries) {
          await this.#pause(
            retryDelay({ retry: attempt, maxRetryAfter: 60_000, base: this.#o.retryBase }),
            signal,
          )
          continue
        }
        throw new UnsplashError(
          'unsplash-network',
          unreachable(url.origin, error, this.#o.timeout, attempt),
          {
            cause: error,
          },
        )
      }
      readRateHeaders(this.rate, headers)
      if (budgetRefused(status, text, headers)) {
        // Refused calls cost nothing: wait (or stop) and try the same call again.
        this.rate.remaining = 0
        attempt--
        continue
      }
      this.calls[kind]++
      if (status >= 200 && status < 300) {
        // A tracking call is made once the API accepts it: its body (`{"url": …}`) is read by no
        // one, and a proxy's 204 or empty 200 (JakeChampion/fetch#364) failed it as not JSON, so
        // it stayed owed and every later run sent it again, the photo's download counted twice.
        // A page in its place (a captive portal's 200) is still no answer of the API's.
        if (kind === 'tracking' && text.trim() === '') return { body: undefined as T, headers }
        return { body: parse<T>(text, shown, this.#where()), headers }
      }
      if (REDIRECTS.has(status)) {
        const to = apiRedirectTarget(url, headers.location)
        if (to && hops < MAX_HOPS) {
          hops++
          url = to
          attempt--
          continue
        }
        // A tracking call the API itself answers with a redirect elsewhere (its rate headers on
        // it: the call counted) sends the download on to the file, as unsplash.com's
        // `links.download` does (blaugold/unsplash_client#21, transloadit/uppy#6473): the call is
        // made; it stayed owed, sent again by every run and the download counted each time. Not followed: the key goes to the API's host only, and the file is not
        // wanted. Without those headers it is another server's (a portal's login page): owed.
        if (kind === 'tracking' && to === undefined && headers.location && fromApi(headers))
          return { body: undefined as T, headers }
        throw new UnsplashError(
          `unsplash-${status}`,
          notFollowed(url, status, shown, headers.location, hops),
          { status },
        )
      }
      // The API's 404s and 401s carry its `errors`: one without (a static server's 404 page, a
      // login wall's 401) is another server's, and blaming the search or the key misled.
      if ((status === 404 || (status === 401 && kind === 'listing')) && !apiErrorBody(text)) {
        const what = errorText(text)
        throw this.notApi(shown, `HTTP ${status}${what ? `, ${what}` : ', empty'}`)
      }
      if (status === 401 && keyRejected(kind, text)) throw badKeyError()
      const retryable = status === 429 || status >= 500
      if (retryable && attempt <= this.#o.retries) {
        // A date is on the API's clock, read against its Date (see `parseRetryAfter`).
        const retryAfter = parseRetryAfter(headers['retry-after'], Date.now(), headers.date)
        await this.#pause(
          retryDelay({ retry: attempt, retryAfter, maxRetryAfter: 60_000, base: this.#o.retryBase }),
          signal,
        )
        continue
      }
      const detail = errorText(text)
      // A tracking call's 401 or 403 without the API's `errors` is no refusal of that photo (the
      // API's for an Unsplash+ one is JSON): a firewall's or proxy's page (Cloudflare's "you have
      // been blocked", zimmerman-team/IATI.cloud#1644; nginx's "403 Forbidden",
      // standardnotes/syncing-server#191), which refuses every call. It was taken as the photo's
      // refusal, each call dropped for good and Unsplash+ blamed: it is owed, and holds the rest.
      const page = kind === 'tracking' && (status === 401 || status === 403) && !apiErrorBody(text)
      throw new UnsplashError(
        `unsplash-${status}`,
        `Unsplash API answered HTTP ${status} for ${shown}${detail ? `: ${detail}` : ''}${page ? ", not the API's own refusal (a firewall's or proxy's?)" : ''}`,
        { status, retryable: retryable || page, detail },
      )
    }
  }

  /** Milliseconds until the wait for the rate limit's reset ends; 0 when none runs. */
  waitLeft(): number {
    return this.#waitUntil === undefined ? 0 : Math.max(0, this.#waitUntil - steadyNow())
  }

  /** End every wait and call (they fail with `StoppedError`), and release connections. */
  async close(): Promise<void> {
    this.#closed.abort()
    if (this.#ownAgent) await this.#agent.close().catch(() => {})
  }

  /**
   * Before a call: if the budget is spent, wait for the reset or stop. The wait is shared by all
   * callers and ended only by the client's signal; `signal` lets one caller leave it early.
   */
  async #budget(signal: AbortSignal): Promise<void> {
    while (this.rate.remaining === 0 || this.#waiting) {
      if (this.#stopped) throw new RateLimitError(this.rate.limit, this.#until)
      if (signal.aborted) throw new StoppedError()
      if (this.#waiting) {
        await abortable(this.#waiting, signal)
        continue
      }
      if (this.#o.onRateLimit === 'stop') {
        this.#stopped = true
        this.#until = Date.now() + this.#o.window
        throw new RateLimitError(this.rate.limit, this.#until)
      }
      this.#waitUntil = steadyNow() + this.#o.window
      this.#waiting = waitForReset(this.#o.window, this.#o.say, this.#signal).finally(() => {
        this.#waiting = undefined
        this.#waitUntil = undefined
        // Unknown until the next answer says; a 403 then sends us back here.
        this.rate.remaining = undefined
      })
      // The caller that started the wait may leave it: its end must not go unhandled.
      this.#waiting.catch(() => {})
      await abortable(this.#waiting, signal)
    }
  }

  async #pause(ms: number, signal: AbortSignal): Promise<void> {
    try {
      await sleep(ms, undefined, { signal })
    } catch {
      throw new StoppedError()
    }
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])

/** Whether an answer carries the API's rate-limit headers, as every answer of the API's own does. */
function fromApi(headers: Record<string, string | string[] | undefined>): boolean {
  const rate: RateLimit = {}
  readRateHeaders(rate, headers)
  return rate.remaining !== undefined
}
const MAX_HOPS = 5

/**
 * Where an API redirect is followed to: the same host, on its own scheme or up from http to https
 * (`http://api.unsplash.com` answers 301 to https), its port as it was. A redirect elsewhere
 * (another host or port) is not followed: the access key goes to the API host the user chose and
 * nowhere else. The `Location` is read as a download's is (`redirectTarget`: its bytes, UTF-8 or
 * Latin-1), so the API and the images agree on where one leads. Pure; test/unsplash-units.test.ts.
 */
export function apiRedirectTarget(from: URL, location: string | string[] | undefined): URL | undefined {
  const text = Array.isArray(location) ? location[0] : location
  if (!text) return undefined
  const to = redirectTarget(text, from)
  if (!to) return undefined
  const scheme = to.protocol === from.protocol || (from.protocol === 'http:' && to.protocol === 'https:')
  return scheme && to.host === from.host ? to : undefined
}

/** Why a redirect was not followed, in one line naming where it pointed. */
function notFollowed(
  url: URL,
  status: number,
  shown: string,
  location: string | string[] | undefined,
  hops: number,
): string {
  const text = Array.isArray(location) ? location[0] : location
  const at = `Unsplash API answered HTTP ${status} for ${shown}`
  if (!text) return `${at}, a redirect without a Location`
  if (hops >= MAX_HOPS) return `${at}: more than ${MAX_HOPS} redirects, the last to ${quoted(text, 200)}`
  let where = text
  try {
    where = new URL(text, url).origin
  } catch {}
  return `${at}, a redirect to ${quoted(text, 200)}: not followed, the access key is sent to ${url.origin} only (if the API is at ${quoted(where, 100)} now, give that as \`apiUrl\`)`
}

const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])

/**
 * Why calls to the API failed, in words: an API that took the connection and then stayed silent
 * was reached, and "cannot reach … UND_ERR_HEADERS_TIMEOUT" sent people to check the address.
 */
export function unreachable(origin: string, error: unknown, timeout: number, tries: number): string {
  const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message
  const times = tries === 1 ? 'once' : `${tries} times`
  if (TIMEOUTS.has(code)) {
    // The connect timeout is the run's pool's when the client calls through it: not `timeout`.
    if (code === 'UND_ERR_CONNECT_TIMEOUT')
      return `the Unsplash API at ${origin} did not accept a connection in time (asked ${times})`
    return `the Unsplash API at ${origin} did not answer within ${timeout / 1000} s (asked ${times})`
  }
  return `cannot reach the Unsplash API at ${origin}: ${code}`
}

/** `promise`, or a `StoppedError` as soon as `signal` aborts, whichever comes first. */
function abortable(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new StoppedError())
  return new Promise((resolve, reject) => {
    const stop = () => reject(new StoppedError())
    signal.addEventListener('abort', stop, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop))
  })
}

/**
 * An answer's body as text, decoded as its `Content-Encoding` says: the client asks for none, yet
 * servers compress anyway (ArchiveTeam/wpull#14, steemit/condenser#1406), a proxy or CDN before
 * the API too, and the compressed bytes were quoted as "something other than JSON". The run's own
 * decoder (`BodyDecoder`) takes a body the label is wrong for (JSON under `gzip`) as it came.
 * Rejects with `unsplash-bad-json` for a body that does not decode.
 */
async function bodyText(
  body: Dispatcher.ResponseData['body'],
  headers: Answer<unknown>['headers'],
  shown: string,
): Promise<string> {
  const codings = codingsOf(headers['content-encoding'])
  if (codings.length === 0) return body.text()
  const chunks: Buffer[] = []
  const decoder = new BodyDecoder(codings, (chunk) => void chunks.push(chunk), shown)
  try {
    for await (const chunk of body) await decoder.write(chunk)
    await decoder.end()
  } catch (error) {
    if (!(error instanceof ImgpullError)) throw error
    const why = error.message.startsWith(`${shown}: `) ? error.message.slice(shown.length + 2) : error.message
    throw new UnsplashError(
      'unsplash-bad-json',
      `Unsplash API sent an answer for ${shown} encoded as ${codings.join(', ')}: ${why}`,
      { cause: error },
    )
  }
  return Buffer.concat(chunks).toString('utf8')
}

function parse<T>(text: string, shown: string, where: string): T {
  try {
    return JSON.parse(text) as T
  } catch (error) {
    const what = notJson(text)
    throw new UnsplashError(
      'unsplash-bad-json',
      `Unsplash API sent something other than JSON for ${shown}${what ? `: ${what}` : ''} (API address ${where})`,
      { cause: error },
    )
  }
}

/**
 * What an answer that does not parse is: JSON cut short (a connection or a proxy ending it early),
 * or a page (a proxy's, a captive portal's) named by its title; printable, bounded.
 */
function notJson(text: string): string {
  const start = text.trimStart()[0]
  if (start === '{' || start === '[')
    return `JSON cut short or malformed (${grouped(Buffer.byteLength(text))} bytes)`
  return markup(text) ?? quoted(text.replace(/\s+/g, ' ').trim(), 200)
}

/**
 * An HTML or XML body by what it is (`an HTML page titled "503 Service Unavailable"`), as an image
 * check names one: quoted as it came, an error page's markup filled the line and hid its title.
 */
function markup(text: string): string | undefined {
  if (text.trimStart()[0] !== '<') return undefined
  const what = looksLike(Buffer.from(text.slice(0, 64 * 1024)))
  return what === undefined ? undefined : quoted(what, 200)
}

/**
 * Whether a 401 says the access key is bad, rather than that this one call is not allowed with
 * it. A listing call is refused only for the key. A download-tracking call is also refused for
 * its photo alone: an Unsplash+ photo's `download_location` answers 401 "Unauthorized" to a key
 * without a subscription (unsplash/unsplash-php#132), while a rejected key gets OAuth's "The
 * access token is invalid" on every call.
 */
export function keyRejected(kind: CallKind, text: string): boolean {
  return kind === 'listing' || /access token|oauth|client.?id/i.test(text)
}

/** Whether an error answer is the API's: JSON with an `errors` array (https://unsplash.com/documentation#error-messages). */
function apiErrorBody(text: string): boolean {
  try {
    return Array.isArray((JSON.parse(text) as ErrorBody)?.errors)
  } catch {
    return false
  }
}

/** The API's own words from an error answer, kept short and printable (they reach the terminal). */
function errorText(text: string): string {
  try {
    const body = JSON.parse(text) as ErrorBody
    if (Array.isArray(body.errors)) return quoted(body.errors.join('; '), 200)
  } catch {}
  return markup(text) ?? quoted(text.replace(/\s+/g, ' ').trim(), 200)
}
