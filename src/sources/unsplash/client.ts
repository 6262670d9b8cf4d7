import { setTimeout as sleep } from 'node:timers/promises'
import { parseRetryAfter, retryDelay } from '../../fetch/retry-delay.js'
import { Agent, type Dispatcher, request } from '../../fetch/undici.js'
import { badKeyError, RateLimitError, StoppedError, UnsplashError } from './errors.js'
import { HOUR, type OnRateLimit, type RateLimit, readRateHeaders, waitForReset } from './rate-limit.js'
import type { ErrorBody } from './types.js'

export const DEFAULT_API_URL = 'https://api.unsplash.com'

/** What a call is for, so a run can say where its API budget went. */
export type CallKind = 'listing' | 'tracking'

export interface ClientOptions {
  /** Access key, sent as `Authorization: Client-ID <key>` and nowhere else. */
  key: string
  /** @default 'https://api.unsplash.com' */
  apiUrl?: string
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
}

type Resolved = Required<Omit<ClientOptions, 'signal' | 'userAgent'>> &
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
  readonly #agent: Dispatcher
  #waiting: Promise<void> | undefined
  /** In `stop` mode, once the budget is gone every later call fails at once. */
  #stopped = false

  constructor(options: ClientOptions) {
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined))
    this.#o = {
      key: options.key,
      apiUrl: DEFAULT_API_URL,
      onRateLimit: 'wait',
      window: HOUR,
      retries: 3,
      retryBase: 500,
      timeout: 30_000,
      say: () => {},
      ...given,
    }
    if (!this.#o.key) throw new TypeError('Expected `key` to be a non-empty access key')
    this.#base = new URL(this.#o.apiUrl)
    if (this.#base.protocol !== 'https:' && this.#base.protocol !== 'http:') {
      throw new TypeError(`Expected \`apiUrl\` to be an http(s) URL, got ${this.#o.apiUrl}`)
    }
    const t = this.#o.timeout
    this.#agent = new Agent({ connect: { timeout: t }, headersTimeout: t, bodyTimeout: t })
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
  ): Promise<Answer<T>> {
    const url = this.url(path, query)
    const shown = url.pathname + url.search
    for (let attempt = 1; ; attempt++) {
      await this.#budget()
      let status: number
      let headers: Answer<T>['headers']
      let text: string
      try {
        const res = await request(url, {
          method: 'GET',
          dispatcher: this.#agent,
          signal: this.#o.signal,
          headers: {
            authorization: `Client-ID ${this.#o.key}`,
            'accept-version': 'v1',
            accept: 'application/json',
            ...(this.#o.userAgent ? { 'user-agent': this.#o.userAgent } : {}),
          },
        })
        status = res.statusCode
        headers = res.headers
        text = await res.body.text()
      } catch (error) {
        if (this.#o.signal?.aborted) throw new StoppedError()
        if (attempt <= this.#o.retries) {
          await this.#pause(retryDelay({ retry: attempt, maxRetryAfter: 60_000, base: this.#o.retryBase }))
          continue
        }
        const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message
        throw new UnsplashError(
          'unsplash-network',
          `cannot reach the Unsplash API at ${url.origin}: ${code}`,
          {
            cause: error,
          },
        )
      }
      readRateHeaders(this.rate, headers)
      if (status === 403 && /rate limit/i.test(text)) {
        // Refused calls cost nothing: wait (or stop) and try the same call again.
        this.rate.remaining = 0
        attempt--
        continue
      }
      this.calls[kind]++
      if (status >= 200 && status < 300) return { body: parse<T>(text, shown), headers }
      if (status === 401) throw badKeyError()
      const retryable = status === 429 || status >= 500
      if (retryable && attempt <= this.#o.retries) {
        const retryAfter = parseRetryAfter(headers['retry-after'])
        await this.#pause(
          retryDelay({ retry: attempt, retryAfter, maxRetryAfter: 60_000, base: this.#o.retryBase }),
        )
        continue
      }
      const detail = errorText(text)
      throw new UnsplashError(
        `unsplash-${status}`,
        `Unsplash API answered HTTP ${status} for ${shown}${detail ? `: ${detail}` : ''}`,
        { status, retryable },
      )
    }
  }

  /** Release connections. */
  async close(): Promise<void> {
    await this.#agent.close().catch(() => {})
  }

  /** Before a call: if the budget is spent, wait for the reset (shared by all callers) or stop. */
  async #budget(): Promise<void> {
    while (this.rate.remaining === 0 || this.#waiting) {
      if (this.#stopped) throw new RateLimitError(this.rate.limit)
      if (this.#waiting) {
        await this.#waiting
        continue
      }
      if (this.#o.onRateLimit === 'stop') {
        this.#stopped = true
        throw new RateLimitError(this.rate.limit)
      }
      this.#waiting = waitForReset(this.#o.window, this.#o.say, this.#o.signal).finally(() => {
        this.#waiting = undefined
        // Unknown until the next answer says; a 403 then sends us back here.
        this.rate.remaining = undefined
      })
      await this.#waiting
    }
  }

  async #pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.#o.signal })
    } catch {
      throw new StoppedError()
    }
  }
}

function parse<T>(text: string, shown: string): T {
  try {
    return JSON.parse(text) as T
  } catch (error) {
    throw new UnsplashError('unsplash-bad-json', `Unsplash API sent something other than JSON for ${shown}`, {
      cause: error,
    })
  }
}

/** The API's own words from an error answer, kept short. */
function errorText(text: string): string {
  try {
    const body = JSON.parse(text) as ErrorBody
    if (Array.isArray(body.errors)) return body.errors.join('; ').slice(0, 200)
  } catch {}
  return text.replace(/\s+/g, ' ').trim().slice(0, 200)
}
