import { ImgpullError } from '../../errors.js'

/**
 * The codes of an `UnsplashError`, each with what it means: a contract for callers
 * (`error.code`), listed in the README's Library section, which a test keeps in step with this one.
 * Besides them, `unsplash-NNN`: the API's answer with HTTP status NNN (`UnsplashHttpCode`).
 */
export const UNSPLASH_CODES = {
  'unsplash-no-key': 'no access key was given (`accessKey`, or `UNSPLASH_ACCESS_KEY`)',
  'unsplash-key-text':
    "the access key holds what no key does (quotes around it, the documentation's `Client-ID ` or `client_id=` before it, a space or a control character)",
  'unsplash-401': 'the API rejected the access key',
  'unsplash-404': 'no such photo, collection, user or topic',
  'unsplash-rate-limit':
    'out of API calls for this hour (a `RateLimitError`, its `until` saying when they are back)',
  'unsplash-network': 'the API could not be reached, after retries',
  'unsplash-bad-json': 'the API answered with something other than JSON',
  'unsplash-not-api':
    'the API address answered as the Unsplash API does not (a 404 or 401 without its `errors`, a listing of another shape): another server, or a typo',
  'unsplash-tracking':
    "a download's tracking call (Unsplash's guidelines ask for one per photo) failed otherwise",
  stopped: 'the wait for a rate-limit reset or a retry was cut short (a `StoppedError`)',
} as const

/** The code of the API's answer with an HTTP status it does not name otherwise (`unsplash-500`). */
export type UnsplashHttpCode = `unsplash-${number}`

/** What an `UnsplashError` is, as its `code` says it (see `UNSPLASH_CODES`). */
export type UnsplashCode = keyof typeof UNSPLASH_CODES | UnsplashHttpCode

/**
 * Failures talking to the Unsplash API. Messages never carry the access key: it travels only in
 * the Authorization header, and no message quotes request headers.
 */
export class UnsplashError extends ImgpullError {
  override name = 'UnsplashError'
  /** What failed (see `UNSPLASH_CODES`): `unsplash-no-key`, `unsplash-401`, `unsplash-rate-limit`... */
  declare readonly code: UnsplashCode
  /** HTTP status of the API's answer, 0 for network trouble. */
  readonly status: number
  /** The caller's input was wrong (no key, bad key, unknown id): exit code 2, not 1. */
  readonly usage: boolean
  /** The API's own words for an error answer (its `errors`), short and printable; `''` without. */
  readonly detail: string
  constructor(
    code: UnsplashCode,
    message: string,
    options: { status?: number; usage?: boolean; retryable?: boolean; cause?: unknown; detail?: string } = {},
  ) {
    super(code, message, { retryable: options.retryable, cause: options.cause })
    this.status = options.status ?? 0
    this.usage = options.usage ?? false
    this.detail = options.detail ?? ''
  }
}

/** Out of API calls for this window (`X-Ratelimit-Remaining: 0`, or 403 "Rate Limit Exceeded"). */
export class RateLimitError extends UnsplashError {
  override name = 'RateLimitError'
  /**
   * When the calls are back at the latest (ms since the epoch): one window after the budget ran
   * out, whenever the window began (the API does not say). `undefined` when not known.
   */
  readonly until: number | undefined
  constructor(limit: number | undefined, until?: number) {
    const of = limit === undefined ? '' : ` (${limit} calls an hour)`
    super('unsplash-rate-limit', `Unsplash API rate limit reached${of}`, { status: 403, retryable: true })
    this.until = until
  }
}

/**
 * What to do after a stop at the rate limit, and when: `Run the same command after the hourly
 * reset (by 15:02 at the latest) to continue.`, the time in the machine's own; with its day
 * (`by 15:02 on Tue, 8 Dec`) when that is not today's (`now`, ms since the epoch), as a long
 * `--rate-limit-window` or a stop near midnight puts it, where `by 15:02` read as today's (Codex's
 * limit message gives the date the same way: openai/codex#6000).
 */
export function comeBack(
  error: RateLimitError | undefined,
  to: 'continue' | 'start' = 'continue',
  now = Date.now(),
): string {
  const until = error?.until
  if (until === undefined) return `Run the same command after the hourly reset to ${to}.`
  const at = new Date(until)
  const time = at.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' })
  const day =
    at.toDateString() === new Date(now).toDateString()
      ? ''
      : ` on ${at.toLocaleDateString('en-GB', { weekday: 'short', day: 'numeric', month: 'short', ...(at.getFullYear() === new Date(now).getFullYear() ? {} : { year: 'numeric' }) })}`
  return `Run the same command after the hourly reset (by ${time}${day} at the latest) to ${to}.`
}

/** The wait for a rate-limit reset or a retry was cut short (Ctrl-C). */
export class StoppedError extends UnsplashError {
  override name = 'StoppedError'
  constructor() {
    super('stopped', 'stopped')
  }
}

/** Where a key goes, in the command line's terms. */
export const KEY_HELP =
  'set UNSPLASH_ACCESS_KEY or pass --access-key; get a free key by registering an application at https://unsplash.com/developers'

/** Where a key goes, in the library's terms. */
export const LIBRARY_KEY_HELP =
  'pass accessKey or set UNSPLASH_ACCESS_KEY; get a free key by registering an application at https://unsplash.com/developers'

/** No access key (code `unsplash-no-key`): `help` says where one goes, in the caller's terms. */
export function noKeyError(help = LIBRARY_KEY_HELP): UnsplashError {
  return new UnsplashError('unsplash-no-key', `no Unsplash access key: ${help}`, { usage: true })
}

export function badKeyError(): UnsplashError {
  return new UnsplashError(
    'unsplash-401',
    'Unsplash rejected the access key (HTTP 401): check UNSPLASH_ACCESS_KEY or `accessKey`',
    { status: 401, usage: true },
  )
}
