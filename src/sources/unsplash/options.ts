import { checkSignal } from '../../options.js'
import { DEFAULT_API_URL } from './client.js'
import { noKeyError, UnsplashError } from './errors.js'
import type { Imgix, SideSize, Variant } from './photo-job.js'
import { HOUR, type OnRateLimit } from './rate-limit.js'
import { SIZES, type Size } from './types.js'

/**
 * The options of the Unsplash sources (`unsplash.search(...)` and the others), their defaults,
 * and their validation: a bad value throws a `TypeError` naming the option, as `pull()` does.
 * The choices are the API's own (https://unsplash.com/documentation).
 */

export const ORIENTATIONS = ['landscape', 'portrait', 'squarish'] as const
export const COLORS = [
  'black_and_white',
  'black',
  'white',
  'yellow',
  'orange',
  'red',
  'purple',
  'magenta',
  'green',
  'teal',
  'blue',
] as const
export const CONTENT_FILTERS = ['low', 'high'] as const
/** imgix `fit` values (https://docs.imgix.com/apis/rendering/size/fit). */
export const FITS = ['clamp', 'clip', 'crop', 'facearea', 'fill', 'fillmax', 'max', 'min', 'scale'] as const
/** imgix `fm` values Unsplash serves. */
export const FORMATS = ['jpg', 'png', 'webp', 'avif', 'gif'] as const
export const SEARCH_ORDERS = ['relevant', 'latest'] as const
export const USER_ORDERS = ['latest', 'oldest', 'popular', 'views', 'downloads'] as const
export const TOPIC_ORDERS = ['latest', 'oldest', 'popular'] as const
export const LIKES_ORDERS = ['latest', 'oldest', 'popular'] as const

export type Orientation = (typeof ORIENTATIONS)[number]
export type Color = (typeof COLORS)[number]
export type ContentFilter = (typeof CONTENT_FILTERS)[number]

/** Options every Unsplash source takes. Every field is optional; the defaults are below each. */
export interface UnsplashOptions {
  /**
   * The application's Access Key (https://unsplash.com/developers), sent only to `apiUrl` as
   * `Authorization: Client-ID <key>`; never to the image host, a message, the manifest,
   * ATTRIBUTION.md or the state database. Without one the source throws an `UnsplashError`
   * (code `unsplash-no-key`) saying how to get one.
   * @default process.env.UNSPLASH_ACCESS_KEY
   */
  readonly accessKey?: string | undefined
  /** Where the API is: a proxy or a test server. @default process.env.UNSPLASH_API_URL, else 'https://api.unsplash.com' */
  readonly apiUrl?: string | undefined
  /** Which ready-made size to fetch: `raw`, `full`, `regular` (1080 px wide), `small` (400), `thumb` (200). @default 'regular' */
  readonly size?: Size | undefined
  /**
   * imgix parameters put on the photo's `raw` URL instead of a ready-made size
   * (https://unsplash.com/documentation#dynamically-resizable-images): `w`, `h` (px, integers
   * >= 1), `q` (1-100), `fm` (`jpg` `png` `webp` `avif` `gif`), `fit`, `dpr` (1-8). Not combined
   * with a `size` other than `raw`.
   */
  readonly imgix?: Imgix | undefined
  /**
   * The photo at `px` pixels on its `shortest` or `longest` side, asked of Unsplash's image CDN
   * (imgix's `w` or `h` on the `raw` URL, chosen per photo from the size the API lists; the
   * original where that side is not larger): what a local resize to that size would make, fetched
   * that size instead, so that `pull()`'s `transform` (keep-ratio and center-crop: `shortest`;
   * keep-ratio-largest and border: `longest`) has at most a crop or a border left to do. Not
   * combined with `imgix` or a `size` other than `raw`.
   */
  readonly resizeTo?: SideSize | undefined
  /**
   * When the hourly budget of API calls runs out: `wait` for the reset (downloads of photos
   * already listed go on meanwhile), or `stop` listing and leave the tracking calls not made as
   * owed (`summary.rateLimited`). Image files do not count against the limit.
   * @default 'wait'
   */
  readonly onRateLimit?: OnRateLimit | undefined
  /** How long a rate-limit wait lasts, in ms: the API's window (it sends no reset time). @default 3_600_000 */
  readonly rateLimitWindow?: number | undefined
  /** List afresh instead of continuing the listing an earlier run into the same folder stored. @default false */
  readonly refresh?: boolean | undefined
  /**
   * Lines a person should see, as they happen: the API calls the run will cost (before the
   * first download), a listing that matched nothing, rate-limit waits and their countdown.
   * @default none: nothing is said
   */
  readonly onMessage?: ((line: string) => void) | undefined
  /**
   * Ends rate-limit waits and API calls: the listing stops, tracking calls not made stay owed
   * for the next run. Downloads are stopped by `pull()`'s own `signal` and `drainSignal`, which
   * end the waits and calls too.
   */
  readonly signal?: AbortSignal | undefined
}

export interface SearchOptions extends UnsplashOptions {
  /** Most photos to fetch; `Infinity` for all the search matches. @default 30 (one page) */
  readonly limit?: number | undefined
  /** @default 'relevant' (the API's) */
  readonly orderBy?: (typeof SEARCH_ORDERS)[number] | undefined
  readonly color?: Color | undefined
  readonly orientation?: Orientation | undefined
  /** The API's safety filter. @default 'low' (the API's) */
  readonly contentFilter?: ContentFilter | undefined
  /** Only photos in these collections (ids). */
  readonly collections?: string | readonly string[] | undefined
}

export interface CollectionOptions extends UnsplashOptions {
  /** Most photos to fetch. @default Infinity (the whole collection) */
  readonly limit?: number | undefined
  readonly orientation?: Orientation | undefined
}

export interface UserOptions extends UnsplashOptions {
  /** Most photos to fetch; `Infinity` for all. @default 30 (one page) */
  readonly limit?: number | undefined
  /** @default 'latest' (the API's) */
  readonly orderBy?: (typeof USER_ORDERS)[number] | undefined
  readonly orientation?: Orientation | undefined
}

export interface LikesOptions extends UnsplashOptions {
  /** Most photos to fetch; `Infinity` for all. @default 30 (one page) */
  readonly limit?: number | undefined
  /** @default 'latest' (the API's) */
  readonly orderBy?: (typeof LIKES_ORDERS)[number] | undefined
  readonly orientation?: Orientation | undefined
}

export interface TopicOptions extends UnsplashOptions {
  /** Most photos to fetch; `Infinity` for all. @default 30 (one page) */
  readonly limit?: number | undefined
  /** @default 'latest' (the API's) */
  readonly orderBy?: (typeof TOPIC_ORDERS)[number] | undefined
  readonly orientation?: Orientation | undefined
}

export interface RandomOptions extends UnsplashOptions {
  /** How many random photos (asked for 30 a call). @default 1 */
  readonly count?: number | undefined
  /** Only photos matching these words. */
  readonly query?: string | undefined
  /** Only this photographer's photos. */
  readonly username?: string | undefined
  /** Only from these collections (ids). */
  readonly collections?: string | readonly string[] | undefined
  /** Only from these topics (ids). */
  readonly topics?: string | readonly string[] | undefined
  readonly orientation?: Orientation | undefined
  readonly contentFilter?: ContentFilter | undefined
}

/** What a source runs with, once checked. */
export interface ResolvedUnsplashOptions {
  key: string
  apiUrl: string
  /** Where `apiUrl` came from, as messages name it: '`apiUrl`', 'UNSPLASH_API_URL' or 'the default'. */
  apiFrom: string
  variant: Variant
  onRateLimit: OnRateLimit
  /** ms */
  window: number
  refresh: boolean
  say: (line: string) => void
  signal: AbortSignal | undefined
}

function got(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(value)
}

export function oneOf<T extends string>(name: string, value: unknown, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined
  if (!choices.includes(value as T)) {
    throw new TypeError(`Expected \`${name}\` to be one of ${choices.join(', ')}, got ${got(value)}`)
  }
  return value as T
}

function number(
  name: string,
  value: unknown,
  min: number,
  max: number,
  integer: boolean,
): number | undefined {
  if (value === undefined) return undefined
  const n = value as number
  if (typeof n !== 'number' || !(n >= min && n <= max) || (integer && !Number.isInteger(n))) {
    const what = integer ? 'an integer' : 'a number'
    const range = max === Number.POSITIVE_INFINITY ? `>= ${min}` : `from ${min} to ${max}`
    throw new TypeError(`Expected \`${name}\` to be ${what} ${range}, got ${got(value)}`)
  }
  return n
}

/** `limit`: an integer >= 1, or `Infinity` for all. */
export function checkLimit(name: string, value: unknown): number | undefined {
  if (value === Number.POSITIVE_INFINITY) return value
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(`Expected \`${name}\` to be an integer >= 1 or Infinity, got ${got(value)}`)
  }
  return value
}

/** A non-empty string (search words, an id, an address). */
export function text(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TypeError(`Expected \`${name}\` to be a non-empty string, got ${got(value)}`)
  }
  return value
}

/** A non-empty string, or nothing. */
export function optionalText(name: string, value: unknown): string | undefined {
  return value === undefined ? undefined : text(name, value)
}

/** Ids as the API takes them: comma-separated. */
export function ids(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (Array.isArray(value)) return value.map((v, i) => text(`${name}[${i}]`, v).trim()).join(',')
  return text(name, value).trim()
}

const IMGIX_KEYS = ['w', 'h', 'q', 'fm', 'fit', 'dpr'] as const

/** The file to fetch: a ready-made size, the raw URL with imgix parameters, or at a size on one side. */
export function variantOf(size: unknown, imgix: unknown, resizeTo?: unknown): Variant {
  const s = oneOf('size', size, SIZES)
  if (resizeTo !== undefined) {
    const r = resizeTo as Partial<SideSize> | null
    const side = oneOf('resizeTo.side', r?.side, ['shortest', 'longest'] as const)
    const px = number('resizeTo.px', r?.px, 1, Number.POSITIVE_INFINITY, true)
    if (side === undefined || px === undefined)
      throw new TypeError(
        `Expected \`resizeTo\` to be an object such as { side: 'shortest', px: 256 }, got ${got(resizeTo)}`,
      )
    if (imgix !== undefined) throw new TypeError('Expected `imgix` or `resizeTo`, not both')
    if (s !== undefined && s !== 'raw')
      throw new TypeError(
        `Expected \`size\` to be 'raw' or left out when \`resizeTo\` is given (it applies to the raw image), got '${s}'`,
      )
    return { resizeTo: { side, px } }
  }
  if (imgix === undefined) return { size: s ?? 'regular' }
  if (typeof imgix !== 'object' || imgix === null) {
    throw new TypeError(
      `Expected \`imgix\` to be an object such as { w: 640, fm: 'webp' }, got ${got(imgix)}`,
    )
  }
  const given = imgix as Record<string, unknown>
  const unknown = Object.keys(given).filter((k) => !(IMGIX_KEYS as readonly string[]).includes(k))
  if (unknown.length) {
    throw new TypeError(`Expected \`imgix\` to hold only ${IMGIX_KEYS.join(', ')}, got ${unknown.join(', ')}`)
  }
  const checked: Imgix = {
    w: number('imgix.w', given.w, 1, Number.POSITIVE_INFINITY, true),
    h: number('imgix.h', given.h, 1, Number.POSITIVE_INFINITY, true),
    q: number('imgix.q', given.q, 1, 100, false),
    fm: oneOf('imgix.fm', given.fm, FORMATS),
    fit: oneOf('imgix.fit', given.fit, FITS),
    dpr: number('imgix.dpr', given.dpr, 1, 8, false),
  }
  if (Object.values(checked).every((v) => v === undefined)) return { size: s ?? 'regular' }
  if (s !== undefined && s !== 'raw') {
    throw new TypeError(
      `Expected \`size\` to be 'raw' or left out when \`imgix\` is given (imgix parameters apply to the raw image), got '${s}'`,
    )
  }
  return { imgix: checked }
}

/**
 * What is wrong with the text of an access key that no key has, said without the key: quotes
 * around it (`docker run --env-file` keeps them, docker/cli#3630), or a space or control
 * character inside (a header cannot carry the latter: the calls failed as "cannot reach the
 * Unsplash API … UND_ERR_INVALID_ARG"). Sent as it was, the API answered 401 for the quotes.
 */
export function keyFault(key: string): string | undefined {
  if (/^(["'`]).*\1$/s.test(key) || /^["'`]|["'`]$/.test(key))
    return 'is wrapped in quotes, which are not part of it (docker --env-file keeps them): remove them'
  // The key as the documentation's examples frame it, copied with its frame: the header's
  // `Authorization: Client-ID KEY` (unsplash-js#129 set the header so), the address's
  // `?client_id=KEY` (ifl0w/RandomWallpaperGnome3#94). "Copy it again" gave the same text.
  const framed = /^(?:authorization\s*:\s*)?(client-id\s+|bearer\s+|client_id\s*=\s*)(?=\S)/i.exec(key)
  if (framed) {
    const word = framed[0].trim()
    if (/^client_id/i.test(framed[1]))
      return `starts with "${word}", the name of the address's parameter (?client_id=KEY), which is not part of it: give the key alone`
    if (/^bearer/i.test(framed[1]))
      return `starts with "${word}", the word before a user's OAuth token: imgpull sends an application's Access Key (Authorization: Client-ID KEY), give that alone`
    return `starts with "${word}", the word the Authorization header puts before it (Authorization: Client-ID KEY), which is not part of it: give the key alone`
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the characters looked for
  if (/[\s\x00-\x1f\x7f]/.test(key))
    return 'holds a space or a control character, which no key has: copy it again'
  return undefined
}

/**
 * Fill in the defaults of the options every source takes and check them. `env` stands in for
 * `process.env` (the key and the API address may come from there).
 */
export function resolveUnsplashOptions(
  o: UnsplashOptions,
  env: Record<string, string | undefined> = process.env,
  keyHelp?: string,
): ResolvedUnsplashOptions {
  if (typeof o !== 'object' || o === null)
    throw new TypeError(`Expected options to be an object, got ${got(o)}`)
  if (o.accessKey !== undefined && typeof o.accessKey !== 'string') {
    throw new TypeError('Expected `accessKey` to be a string')
  }
  const key = (o.accessKey ?? env.UNSPLASH_ACCESS_KEY ?? '').trim()
  if (!key) throw noKeyError(keyHelp)
  const fault = keyFault(key)
  if (fault) throw new UnsplashError('unsplash-key-text', `the Unsplash access key ${fault}`, { usage: true })
  const apiUrl = o.apiUrl ?? env.UNSPLASH_API_URL ?? DEFAULT_API_URL
  if (typeof apiUrl !== 'string' || !URL.canParse(apiUrl) || !/^https?:$/i.test(new URL(apiUrl).protocol)) {
    // The address only: a URL may carry credentials.
    throw new TypeError('Expected `apiUrl` to be an http(s) URL')
  }
  if (o.refresh !== undefined && typeof o.refresh !== 'boolean') {
    throw new TypeError(`Expected \`refresh\` to be a boolean, got ${got(o.refresh)}`)
  }
  if (o.onMessage !== undefined && typeof o.onMessage !== 'function') {
    throw new TypeError('Expected `onMessage` to be a function')
  }
  // As pull()'s: named with what it got, its controller for its signal said so.
  checkSignal('signal', o.signal)
  return {
    key,
    apiUrl,
    apiFrom:
      o.apiUrl !== undefined
        ? '`apiUrl`'
        : env.UNSPLASH_API_URL !== undefined
          ? 'UNSPLASH_API_URL'
          : 'the default',
    variant: variantOf(o.size, o.imgix, o.resizeTo),
    onRateLimit: oneOf('onRateLimit', o.onRateLimit, ['wait', 'stop'] as const) ?? 'wait',
    window: number('rateLimitWindow', o.rateLimitWindow, 1, Number.POSITIVE_INFINITY, true) ?? HOUR,
    refresh: o.refresh ?? false,
    say: o.onMessage ?? (() => {}),
    signal: o.signal,
  }
}
