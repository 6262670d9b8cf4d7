import { type EveryKey, refuseUnknownKeys } from '../../utils/known-keys.js'
import {
  collectionEndpoint,
  likesEndpoint,
  photoEndpoint,
  QUERY_WITH_POOL,
  randomEndpoint,
  searchEndpoint,
  topicEndpoint,
  userEndpoint,
} from './endpoints.js'
import {
  COLORS,
  CONTENT_FILTERS,
  type CollectionOptions,
  checkLimit,
  ids,
  LIKES_ORDERS,
  type LikesOptions,
  ORIENTATIONS,
  oneOf,
  optionalText,
  type RandomOptions,
  resolveUnsplashOptions,
  SEARCH_ORDERS,
  type SearchOptions,
  TOPIC_ORDERS,
  type TopicOptions,
  text,
  type UnsplashOptions,
  USER_ORDERS,
  type UserOptions,
} from './options.js'
import { UnsplashSource } from './source.js'

/** The options every source takes. */
const COMMON = [
  'accessKey',
  'apiUrl',
  'size',
  'imgix',
  'resizeTo',
  'onRateLimit',
  'rateLimitWindow',
  'refresh',
  'onMessage',
  'signal',
] as const satisfies readonly (keyof UnsplashOptions)[]
const SEARCH = [
  ...COMMON,
  'limit',
  'orderBy',
  'color',
  'orientation',
  'contentFilter',
  'collections',
] as const
const COLLECTION = [...COMMON, 'limit', 'orientation'] as const
const LISTING = [...COMMON, 'limit', 'orderBy', 'orientation'] as const
const RANDOM = [
  ...COMMON,
  'count',
  'query',
  'username',
  'collections',
  'topics',
  'orientation',
  'contentFilter',
] as const
// Each compiles only while its list names every option of its type.
const _every: [
  EveryKey<UnsplashOptions, typeof COMMON>,
  EveryKey<SearchOptions, typeof SEARCH>,
  EveryKey<CollectionOptions, typeof COLLECTION>,
  EveryKey<UserOptions & LikesOptions & TopicOptions, typeof LISTING>,
  EveryKey<RandomOptions, typeof RANDOM>,
] = [true, true, true, true, true]

/**
 * `options` checked and filled in, a key the source does not take refused: a misspelt `lmit`
 * listed the default 30 photos without a word, where `pull()`'s own options refuse a typo.
 */
function checked(options: UnsplashOptions, names: readonly string[]) {
  if (typeof options === 'object' && options !== null) refuseUnknownKeys(options, names, 'Unsplash option')
  return resolveUnsplashOptions(options)
}

/**
 * Unsplash sources for `pull()`: photos listed through the official API
 * (https://unsplash.com/documentation), downloaded from their own URLs, each download tracked
 * once, the photographers credited.
 *
 * ```ts
 * const photos = unsplash.search('mountain lake', { limit: 200, orientation: 'landscape' })
 * for await (const r of pull(photos, { out: 'lakes', name: '{stem}{ext}' })) console.log(r.status, r.path)
 * console.log(photos.summary)
 * ```
 *
 * Each function checks its options at once: a bad value, or an option it does not take, throws a
 * `TypeError` naming it, no access key an `UnsplashError` (code `unsplash-no-key`); an address
 * that names nothing to list (a `https://unsplash.com/...` link of the wrong kind) a `UsageError`.
 */

const PAGE = 30

/** The limit, and whether it is the default. */
function extent(limit: unknown, fallback: number) {
  const given = checkLimit('limit', limit)
  return { limit: given ?? fallback, defaultLimit: given === undefined }
}

/**
 * Photos matching `query` (`GET /search/photos`), most relevant first unless `orderBy: 'latest'`.
 * At most `limit` (30 by default: a search can match tens of thousands).
 */
export function search(query: string, options: SearchOptions = {}): UnsplashSource {
  const resolved = checked(options, SEARCH)
  const endpoint = searchEndpoint(text('query', query), {
    orderBy: oneOf('orderBy', options.orderBy, SEARCH_ORDERS),
    color: oneOf('color', options.color, COLORS),
    orientation: oneOf('orientation', options.orientation, ORIENTATIONS),
    contentFilter: oneOf('contentFilter', options.contentFilter, CONTENT_FILTERS),
    collections: ids('collections', options.collections),
  })
  return new UnsplashSource(endpoint, extent(options.limit, PAGE), resolved)
}

/** A collection's photos (`GET /collections/:id/photos`), all of them unless `limit`. `id` may be its unsplash.com address. */
export function collection(id: string, options: CollectionOptions = {}): UnsplashSource {
  const resolved = checked(options, COLLECTION)
  const endpoint = collectionEndpoint(text('id', id), {
    orientation: oneOf('orientation', options.orientation, ORIENTATIONS),
  })
  return new UnsplashSource(endpoint, extent(options.limit, Number.POSITIVE_INFINITY), resolved)
}

/** A photographer's photos (`GET /users/:username/photos`), at most `limit` (30 by default). `username` may be `@name` or the profile's address. */
export function user(username: string, options: UserOptions = {}): UnsplashSource {
  const resolved = checked(options, LISTING)
  const endpoint = userEndpoint(text('username', username), {
    orderBy: oneOf('orderBy', options.orderBy, USER_ORDERS),
    orientation: oneOf('orientation', options.orientation, ORIENTATIONS),
  })
  return new UnsplashSource(endpoint, extent(options.limit, PAGE), resolved)
}

/**
 * The photos a user liked (`GET /users/:username/likes`), at most `limit` (30 by default).
 * `username` may be `@name` or the profile's address (`https://unsplash.com/@name/likes`).
 */
export function likes(username: string, options: LikesOptions = {}): UnsplashSource {
  const resolved = checked(options, LISTING)
  const endpoint = likesEndpoint(text('username', username), {
    orderBy: oneOf('orderBy', options.orderBy, LIKES_ORDERS),
    orientation: oneOf('orientation', options.orientation, ORIENTATIONS),
  })
  return new UnsplashSource(endpoint, extent(options.limit, PAGE), resolved)
}

/** A topic's photos (`GET /topics/:slug/photos`), at most `limit` (30 by default). `slug` may also be an id or the address. */
export function topic(slug: string, options: TopicOptions = {}): UnsplashSource {
  const resolved = checked(options, LISTING)
  const endpoint = topicEndpoint(text('slug', slug), {
    orderBy: oneOf('orderBy', options.orderBy, TOPIC_ORDERS),
    orientation: oneOf('orientation', options.orientation, ORIENTATIONS),
  })
  return new UnsplashSource(endpoint, extent(options.limit, PAGE), resolved)
}

/** `count` random photos (`GET /photos/random`, 30 a call), optionally narrowed down. */
export function random(options: RandomOptions = {}): UnsplashSource {
  const resolved = checked(options, RANDOM)
  const count = checkLimit('count', options.count) ?? 1
  if (!Number.isFinite(count)) throw new TypeError('Expected `count` to be an integer >= 1, got Infinity')
  if (options.query !== undefined && (options.collections !== undefined || options.topics !== undefined))
    throw new TypeError(QUERY_WITH_POOL('`query`', '`collections` or `topics`'))
  const endpoint = randomEndpoint({
    query: optionalText('query', options.query),
    username: optionalText('username', options.username),
    collections: ids('collections', options.collections),
    topics: ids('topics', options.topics),
    orientation: oneOf('orientation', options.orientation, ORIENTATIONS),
    contentFilter: oneOf('contentFilter', options.contentFilter, CONTENT_FILTERS),
  })
  return new UnsplashSource(endpoint, { limit: count, defaultLimit: false }, resolved)
}

/**
 * Single photos by id (`GET /photos/:id`, one call each), or by their unsplash.com addresses.
 * Ids the API does not know are listed in `summary.missing`; when it knows none, the run throws
 * an `UnsplashError` (404) before anything is fetched.
 */
export function photos(
  idsOrAddresses: string | readonly string[],
  options: UnsplashOptions = {},
): UnsplashSource {
  const resolved = checked(options, COMMON)
  const list = typeof idsOrAddresses === 'string' ? [idsOrAddresses] : idsOrAddresses
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError('Expected `ids` to be a photo id or a non-empty array of them')
  }
  const endpoint = photoEndpoint(list.map((id, i) => text(`ids[${i}]`, id)))
  return new UnsplashSource(endpoint, { limit: Number.POSITIVE_INFINITY, defaultLimit: false }, resolved)
}

export type {
  CollectionOptions,
  Color,
  ContentFilter,
  LikesOptions,
  Orientation,
  RandomOptions,
  SearchOptions,
  TopicOptions,
  UnsplashOptions,
  UserOptions,
} from './options.js'
export type { Imgix } from './photo-job.js'
export type { UnsplashSource, UnsplashSummary } from './source.js'
export type { Size } from './types.js'
