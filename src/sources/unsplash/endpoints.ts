import { UsageError } from '../../errors.js'
import { printable } from '../../utils/printable.js'
import { type Endpoint, LICENSES, type License } from './listing.js'
import { COLORS, ORIENTATIONS, SEARCH_ORDERS } from './options.js'

/**
 * The listings imgpull reads, as the API documents them (https://unsplash.com/documentation).
 * Arguments may be ids or the unsplash.com addresses people copy from a browser.
 */
export interface Filters {
  orderBy?: string
  color?: string
  orientation?: string
  contentFilter?: string
  collections?: string
  topics?: string
  username?: string
  query?: string
  /** Which license's photos to keep (`free`: no Unsplash+ photo): see `Endpoint.license`. */
  license?: License
}

/**
 * An unsplash.com address's path, decoded, without the language the site shows it in: the
 * address a browser shows outside English is `/de/fotos/…`, `/ja/写真/…`, `/pt-br/@ann`.
 */
function sitePath(u: URL): string {
  const segments = u.pathname.split('/').map((s) => decoded(s).text)
  if (segments.length > 2 && /^[a-z]{2}(?:-[a-z]{2,4})?$/i.test(segments[1])) segments.splice(1, 1)
  return segments.join('/')
}

/**
 * A path segment with its percent-escapes decoded as UTF-8. A `%` not before two hex digits is
 * itself (`100%-wool`), and a run of escapes that is not UTF-8 (`%E9`, Latin-1's é:
 * sindresorhus/get-urls#22) is left as it is and named in `bad`: `decodeURIComponent` threw
 * `URI malformed` over the whole segment.
 */
function decoded(segment: string): { text: string; bad?: string } {
  let bad: string | undefined
  const text = segment.replace(/(?:%[0-9a-f]{2})+/gi, (run) => {
    try {
      return decodeURIComponent(run)
    } catch {
      bad ??= run
      return run
    }
  })
  return { text, ...(bad ? { bad } : {}) }
}

/** "photos" in the site's languages: `/photos/` (en, fr), `/fotos/` (de, es), `/foto/` (it), `/fotografias/` (pt-br), `/写真/` (ja), `/사진/` (ko). */
const PHOTOS = '(?:photos|fotos|foto|fotografias|写真|사진)'

/** The path segment after `marker` in an unsplash.com address, or the argument itself. */
function fromUrl(arg: string, marker: RegExp): string {
  if (!/^https?:\/\//i.test(arg)) return arg.trim()
  let u: URL
  try {
    u = new URL(arg)
  } catch {
    throw new UsageError(`not a valid address: ${arg}`)
  }
  const host = u.hostname.toLowerCase()
  if (host !== 'unsplash.com' && host !== 'www.unsplash.com') throw new UsageError(notSitePage(u))
  const m = marker.exec(sitePath(u))
  if (!m) throw new UsageError(`cannot find what to list in ${u.origin}${u.pathname}`)
  return m[1]
}

/**
 * Why an address of another host names nothing to list: an image file's (`images.unsplash.com`,
 * as a browser's Copy image address gives it), which no API call looks up, or another site's
 * (it was `cannot find what to list in …`, which said neither).
 */
function notSitePage(u: URL): string {
  const shown = printable(`${u.origin}${u.pathname}`)
  if (/(?:^|\.)unsplash\.com$/i.test(u.hostname))
    return `${shown} is an image file's address, not an unsplash.com page: fetch it as it is (imgpull '${shown}' -o DIR), or give the photo's page address (https://unsplash.com/photos/…) or its id`
  return `${shown} is not an unsplash.com address: give a page's address from unsplash.com, or an id or name`
}

function need(value: string, what: string): string {
  if (!value) throw new UsageError(`expected ${what}`)
  return value
}

export function collectionId(arg: string): string {
  return need(fromUrl(arg, /^\/(?:collections|kollektionen)\/([^/]+)/), 'a collection id')
}

/**
 * A profile address's username and the tab it shows: `https://unsplash.com/@ann/likes` is
 * `{ name: 'ann', tab: 'likes' }`; the profile itself (its photos) has no tab.
 */
export function profile(arg: string): { name: string; tab: string | undefined } {
  if (!/^https?:\/\//i.test(arg))
    return { name: need(arg.trim().replace(/^@/, ''), 'a username'), tab: undefined }
  const name = need(fromUrl(arg, /\/@([^/]+)/), 'a username')
  const tab = /\/@[^/]+\/([^/]+)/.exec(new URL(arg).pathname)?.[1]
  return { name, tab: tab ? decoded(tab).text : undefined }
}

export function username(arg: string): string {
  return profile(arg).name
}

/**
 * The username of a profile address for the listing `want` (`undefined`: the photos, `likes`):
 * an address of another tab (`/@ann/likes` given to `user`, `/@ann/collections`) is refused,
 * naming the command that lists it, rather than listing other photos than the page shows.
 */
function profileFor(arg: string, want: 'likes' | undefined): string {
  const { name, tab } = profile(arg)
  // The profile's own address names the user: `likes` takes it too.
  if (tab === want || tab === undefined) return name
  const use = tab === 'likes' ? `: use imgpull unsplash likes ${name}` : ''
  const wanted = want === 'likes' ? 'the photos they liked' : 'their photos'
  throw new UsageError(`${arg} is ${name}'s ${tab}, not ${wanted}${use}`)
}

export function topicSlug(arg: string): string {
  return need(fromUrl(arg, /^\/(?:t|topics)\/([^/]+)/), 'a topic slug or id')
}

/** Photo ids are 11 characters; page addresses end in `<words>-<id>`. */
export function photoId(arg: string): string {
  const segment = fromUrl(arg, new RegExp(`^/${PHOTOS}/([^/]+)`))
  return need(segment.length > 11 && segment.includes('-') ? segment.slice(-11) : segment, 'a photo id')
}

/**
 * A search page's address, as copied from a browser (`https://unsplash.com/s/photos/mountain-lake?orientation=landscape`):
 * its words (the page joins them with `-`) and the filters the page shows, for those not given.
 * Sent as they were, the address's own words were searched for (`https`, `unsplash`, `photos`...).
 */
export function searchPage(arg: string, f: Filters): { words: string; filters: Filters } {
  if (!/^https?:\/\//i.test(arg.trim())) return { words: arg, filters: f }
  const words = fromUrl(arg.trim(), new RegExp(`^/s/${PHOTOS}/([^/]+)`)).replace(/-/g, ' ')
  // Words with bytes that are not UTF-8 were searched for as they are (`caf%E9`), matching nothing.
  const bad = decoded(new URL(arg.trim()).pathname).bad
  if (bad)
    throw new UsageError(
      `${printable(arg.trim())} has ${bad} in its words, which is not UTF-8 (a Latin-1 address?): give the words as they are`,
    )
  const q = new URL(arg.trim()).searchParams
  const known = <T extends string>(name: string, values: readonly T[]) => {
    const v = q.get(name)
    return v !== null && (values as readonly string[]).includes(v) ? (v as T) : undefined
  }
  return {
    words,
    filters: {
      ...f,
      orientation: f.orientation ?? known('orientation', ORIENTATIONS),
      color: f.color ?? known('color', COLORS),
      orderBy: f.orderBy ?? known('order_by', SEARCH_ORDERS),
      license: f.license ?? known('license', LICENSES),
    },
  }
}

export function searchEndpoint(arg: string, given: Filters): Endpoint {
  const { words: query, filters: f } = searchPage(arg, given)
  return {
    kind: 'search',
    path: '/search/photos',
    params: {
      query: need(query.trim(), 'search words'),
      order_by: f.orderBy,
      color: f.color,
      orientation: f.orientation,
      content_filter: f.contentFilter,
      collections: f.collections,
    },
    label: `search "${query.trim()}"`,
    ...(f.license ? { license: f.license } : {}),
  }
}

export function collectionEndpoint(arg: string, f: Filters): Endpoint {
  const id = collectionId(arg)
  return {
    kind: 'collection',
    path: `/collections/${encodeURIComponent(id)}/photos`,
    params: { orientation: f.orientation },
    label: `collection ${id}`,
    // Private collections are the owner's alone: to any other key the API answers 404 as for none.
    unknown: `collection ${id}, or it is private (the API shows public collections only)`,
  }
}

export function userEndpoint(arg: string, f: Filters): Endpoint {
  const name = profileFor(arg, undefined)
  return {
    kind: 'user',
    path: `/users/${encodeURIComponent(name)}/photos`,
    params: { order_by: f.orderBy, orientation: f.orientation },
    label: `user ${name}`,
  }
}

/** The photos a user liked (`GET /users/:username/likes`). */
export function likesEndpoint(arg: string, f: Filters): Endpoint {
  const name = profileFor(arg, 'likes')
  return {
    kind: 'likes',
    path: `/users/${encodeURIComponent(name)}/likes`,
    params: { order_by: f.orderBy, orientation: f.orientation },
    label: `likes of ${name}`,
    unknown: `user ${name}`,
  }
}

export function topicEndpoint(arg: string, f: Filters): Endpoint {
  const slug = topicSlug(arg)
  return {
    kind: 'topic',
    path: `/topics/${encodeURIComponent(slug)}/photos`,
    params: { order_by: f.orderBy, orientation: f.orientation },
    label: `topic ${slug}`,
  }
}

/**
 * Why `GET /photos/random` is not asked for words and collections or topics at once: the API
 * documents that they cannot be combined, and draws from the collections or topics alone, the
 * words ignored (Unsplash's own unsplash_rb warns "'query' will be ignored"): photos of anything
 * in those collections, kept as if they matched the words.
 */
export const QUERY_WITH_POOL = (query: string, pool: string) =>
  `Expected ${query}, or ${pool}, not both: the Unsplash API draws random photos from the collections or topics alone and ignores the words (https://unsplash.com/documentation#get-a-random-photo)`

export function randomEndpoint(f: Filters): Endpoint {
  if (f.query && (f.collections || f.topics)) {
    throw new UsageError(
      '--query cannot be combined with --collections or --topics: the Unsplash API draws random photos from the collections or topics alone and ignores the words; for the photos of collections that match words, use imgpull unsplash search <words> --collections <ids>',
    )
  }
  const about = [f.query && `"${f.query}"`, f.username && `by ${f.username}`].filter(Boolean).join(' ')
  return {
    kind: 'random',
    path: '/photos/random',
    params: {
      query: f.query,
      orientation: f.orientation,
      content_filter: f.contentFilter,
      collections: f.collections,
      topics: f.topics,
      username: f.username,
    },
    label: `random photos${about ? ` ${about}` : ''}`,
  }
}

export function photoEndpoint(args: string[]): Endpoint {
  const ids = [...new Set(args.map(photoId))]
  return {
    kind: 'photo',
    path: '/photos',
    params: {},
    label: ids.length === 1 ? `photo ${ids[0]}` : `${ids.length} photos`,
    ids,
  }
}
