import { plural } from '../../report/format.js'
import { isRecord } from '../../utils/is-record.js'
import { quoted } from '../../utils/printable.js'
import type { CallOptions, UnsplashClient } from './client.js'
import { StoppedError, UnsplashError } from './errors.js'
import { pageOf, parseLink } from './link-header.js'
import { isPhoto, type UnsplashStore } from './state.js'
import type { Photo, SearchResponse } from './types.js'

/** The largest page the API serves: fewest calls per photo. */
export const PER_PAGE = 30

export type Kind = 'search' | 'collection' | 'user' | 'likes' | 'topic' | 'random' | 'photo'

/** One thing to list: an endpoint and its filters. */
export interface Endpoint {
  kind: Kind
  /** API path, e.g. `/collections/1580860/photos`. */
  path: string
  /** Filters sent with every call (`query`, `orientation`...); empty ones are left out. */
  params: Record<string, string | undefined>
  /** How messages name it: `search "mountain lake"`, `collection 1580860`. */
  label: string
  /**
   * What a 404 names, when not `label`: `user anniespratt` for their likes; a collection, that it
   * may be private (the API answers 404 for those too).
   */
  unknown?: string
  /** For `photo`: the ids, one call each. */
  ids?: string[]
  /**
   * Which license's photos to keep, as a search page's `?license=free` (or `plus`) shows them:
   * the API takes no such filter and lists Unsplash+ photos among the others, so those are left
   * out here (`premium`/`plus` on the photo). All when unset.
   */
  license?: License
}

export const LICENSES = ['free', 'plus'] as const
export type License = (typeof LICENSES)[number]

/** Whether a photo is under `license`: Unsplash+ (`premium` or `plus`) for `plus`, the others for `free`. */
export function underLicense(photo: Photo, license: License | undefined): boolean {
  if (license === undefined) return true
  const plus = photo.premium === true || photo.plus === true
  return license === 'plus' ? plus : !plus
}

/** Identity of a listing in the state store: the path and its filters, not the limit. */
export function endpointKey(e: Endpoint): string {
  if (e.kind === 'photo') return `/photos/${(e.ids ?? []).join(',')}`
  const params = Object.entries(e.params)
    .filter(([, v]) => v !== undefined && v !== '')
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${encodeURIComponent(v!)}`)
  if (e.license) params.push(`license=${e.license}`)
  return params.length ? `${e.path}?${params.join('&')}` : e.path
}

export interface Page {
  photos: Photo[]
  /** The page after this one; `undefined` at the end. */
  next: number | undefined
  /** How many photos the listing holds, when the API says. */
  total: number | undefined
  /** For `photo`: an id the API does not know. */
  missing?: string
  /** Entries of the answer that were not photos (no id): left out. */
  dropped: number
  /** Photos a page holds as the API serves them (it clamps `per_page`), when the answer shows it. */
  size?: number
}

/** The entries that are photos, and how many were not. */
function photosOf(entries: unknown): { photos: Photo[]; dropped: number } {
  const list: unknown[] = Array.isArray(entries) ? entries : []
  const photos = list.filter(isPhoto)
  return { photos, dropped: list.length - photos.length }
}

/** What a JSON answer of the wrong shape is, in a word or two: `a JSON object`, `a JSON string`. */
export function shapeOf(value: unknown): string {
  if (Array.isArray(value)) return 'a JSON array'
  if (value === null) return 'JSON null'
  // The API's error object under a 200 (a proxy's or gateway's rewrite, unsplash-js#71): its own
  // words say what went wrong, where "a JSON object" sent the reader to check the address alone.
  const errors = isRecord(value) ? value.errors : undefined
  if (Array.isArray(errors) && errors.length > 0)
    return `an error object under HTTP 200 saying "${quoted(errors.map(String).join('; '), 200)}"`
  return `a JSON ${typeof value === 'object' ? 'object' : typeof value}`
}

/** `collection 12 is`, `collections 12,34 are`. */
function several(what: string, ids: string): string {
  return ids.includes(',') ? `${what}s ${ids} are` : `${what} ${ids} is`
}

function notFound(e: Endpoint, error: unknown): unknown {
  if (error instanceof UnsplashError && error.status === 404 && e.kind === 'random') {
    // The API draws from nothing (words no photo matches, a user, collection or topic unknown or
    // empty: modo-studio/UnsplashKit#11) and answers 404: "no such Unsplash random photos" named
    // nothing that could be missing.
    const { query, username, collections, topics } = e.params
    const why = [
      query && `no photo matches "${query}"`,
      username && `user ${username} is unknown or has no photos`,
      collections && `${several('collection', collections)} unknown, private or empty`,
      topics && `${several('topic', topics)} unknown or empty`,
    ].filter(Boolean)
    const from = why.length ? why.join(', or ') : 'no photo matches the filters given'
    return new UnsplashError(
      'unsplash-404',
      `Unsplash found no photos to draw at random (HTTP 404): ${from}`,
      {
        status: 404,
        usage: true,
      },
    )
  }
  if (error instanceof UnsplashError && error.status === 404) {
    const ids = e.ids ?? []
    const what = e.kind === 'photo' && ids.length > 1 ? `photos: ${ids.join(', ')}` : (e.unknown ?? e.label)
    return new UnsplashError('unsplash-404', `no such Unsplash ${what}`, { status: 404, usage: true })
  }
  return error
}

function headerNumber(value: string | string[] | undefined): number | undefined {
  const n = Number(Array.isArray(value) ? value[0] : value)
  return value !== undefined && Number.isInteger(n) && n >= 0 ? n : undefined
}

/**
 * Fetch page `page` of a listing. Search pages end at `total_pages`; list endpoints (collection,
 * user, topic) by their `Link` header, or by a short page where there is none; `random` never
 * ends and asks for just the photos still `wanted`.
 */
export async function fetchPage(
  client: UnsplashClient,
  e: Endpoint,
  page: number,
  wanted: number,
  call: CallOptions = {},
): Promise<Page> {
  try {
    if (e.kind === 'photo') {
      const ids = e.ids ?? []
      const id = ids[page - 1]
      const next = page < ids.length ? page + 1 : undefined
      try {
        const path = `/photos/${encodeURIComponent(id)}`
        const { body } = await client.get<Photo>(path, {}, 'listing', call)
        if (!isRecord(body)) throw client.notApi(path, `${shapeOf(body)}, not a photo`)
        const { photos, dropped } = photosOf([body])
        return { photos, next, total: ids.length, dropped, ...(dropped ? { missing: id } : {}) }
      } catch (error) {
        if (error instanceof UnsplashError && error.status === 404) {
          return { photos: [], next, total: ids.length, missing: id, dropped: 0 }
        }
        throw error
      }
    }
    if (e.kind === 'random') {
      const count = Math.max(1, Math.min(PER_PAGE, wanted))
      const { body } = await client.get<Photo[] | Photo>(e.path, { ...e.params, count }, 'listing', call)
      if (!Array.isArray(body) && !isPhoto(body))
        throw client.notApi(e.path, `${shapeOf(body)}, not a list of photos`)
      return { ...photosOf(Array.isArray(body) ? body : [body]), next: page + 1, total: undefined }
    }
    const { body, headers } = await client.get<SearchResponse | Photo[]>(
      e.path,
      { ...e.params, page, per_page: PER_PAGE },
      'listing',
      call,
    )
    const links = headers.link === undefined ? undefined : parseLink(headers.link)
    // The API's next page is always a later one: a `Link` back to this page or an earlier one
    // (another server's, a proxy's rewrite) asked for the same pages again until two came barren.
    const linked = pageOf(links?.next)
    if (linked !== undefined && linked <= page)
      throw client.notApi(e.path, `a \`Link\` header whose next page is ${linked}, not after page ${page}`)
    if (e.kind === 'search') {
      const s = body as SearchResponse
      // A search answers an object with its `results`, a page past the last too (empty).
      if (!isRecord(s) || !Array.isArray(s.results))
        throw client.notApi(e.path, `${shapeOf(body)} without \`results\``)
      const { photos, dropped } = photosOf(s?.results)
      // On to the last page the answer counts, an empty one before it too (Listing ends at two in
      // a row); a page past the last the API serves counts none (unsplash-js#216). Without a
      // count, on while pages come full.
      const pages = s?.total_pages
      const more =
        typeof pages === 'number' && Number.isInteger(pages) && pages >= 0
          ? page < pages
          : photos.length + dropped >= PER_PAGE
      // A page before the last holds as many as the API serves a page.
      const served = photos.length + dropped
      return {
        photos,
        dropped,
        ...(typeof pages === 'number' && page < pages && served > 0 ? { size: served } : {}),
        next: links?.next ? pageOf(links.next) : more ? page + 1 : undefined,
        // A page past the last one the API serves says `total: 0` (unsplash-js#216): only the
        // first page, or one with results, speaks for the search's size.
        total:
          (page === 1 || photos.length > 0) &&
          typeof s?.total === 'number' &&
          Number.isInteger(s.total) &&
          s.total >= 0
            ? s.total
            : undefined,
      }
    }
    // A list endpoint answers an array, empty past its end: anything else is another server's.
    if (!Array.isArray(body)) throw client.notApi(e.path, `${shapeOf(body)}, not a list of photos`)
    const { photos, dropped } = photosOf(body)
    const total = headerNumber(headers['x-total'])
    // Without a Link header: on while the count says more, by the page size the API served
    // (X-Per-Page: it clamps per_page); without a count, while pages come full. A page shorter
    // than asked for ended a listing X-Total said went on (10 of 35 served 10 a page), and so did
    // an empty page before the count's end (Listing ends at two empty pages in a row).
    // Without X-Per-Page either, a page shorter than asked for is taken as the size served: 10 a
    // page read as 30 ended a 50-photo listing at page 2 (2 × 30 ≥ 50), 20 photos kept. A last
    // page that is short costs one call more, answered empty.
    const got = photos.length + dropped
    const size = headerNumber(headers['x-per-page']) || (got > 0 && got < PER_PAGE ? got : PER_PAGE)
    // A count the pages have passed, full (X-Total 50 with two full pages of 30), is wrong, low:
    // read on while pages come full, as without a count, where it ended the listing at its count,
    // the photos after unasked. A full last page exactly at the count is the end, as counted.
    const more = total === undefined || page * size > total ? got >= size : page * size < total
    return { photos, dropped, size, next: links ? pageOf(links.next) : more ? page + 1 : undefined, total }
  } catch (error) {
    throw notFound(e, error)
  }
}

/**
 * A listing that survives reruns: pages go to the state store as they arrive, and a rerun starts
 * from what is stored, fetching only pages it has not seen. `--limit` stops it early, without a
 * call for a page it does not need.
 */
export class Listing {
  readonly key: string
  /** Why the listing ended before the limit: the rate limit in `stop` mode, or an API error. */
  ended: UnsplashError | undefined
  /** `photo` ids the API does not know. */
  readonly missing: string[] = []
  /** Entries the API listed that were not photos (no id), left out in this run. */
  dropped = 0
  /**
   * Entries this run was given again on a later page of the same pass (or twice on one page), not
   * while listing again after a change: each photo is fetched once, yet the API's total counts both.
   */
  repeats = 0
  /** Photos this run's pages held under another license than the endpoint's (`license`): left out. */
  unlicensed = 0
  /**
   * The listing ended on two pages in a row that held only photos listed already: `random` drawing
   * from a pool smaller than the count (unsplash-js#56), with photos still wanted.
   */
  ranDry = false
  #queue: Photo[] = []
  #nextPage: number | undefined = 1
  /** Photos a page holds as served: the budget's listing calls are counted in pages of this size. */
  #pageSize = PER_PAGE
  #total: number | undefined
  #stored = 0
  /** The page being fetched and stored, if one is. */
  #pending: Promise<void> | undefined
  /** Pages fetched by this run: before the first, the total known is an earlier run's. */
  #fetched = 0
  /** This run listed it again once already: a listing that keeps changing is not listed over and over. */
  #relistedOnce = false
  /** Listing again from the first page after the listing changed: up to page `until`, then on at `resume`. */
  #relist: { until: number; resume: number | undefined } | undefined
  /** The page just fetched was one of the listing again (or the one that showed the change): no new photos is no end. */
  #relisted = false
  /** The page before held no entry: a second empty page in a row ends the listing. */
  #emptyBefore = false

  constructor(
    readonly client: UnsplashClient,
    readonly store: UnsplashStore,
    readonly endpoint: Endpoint,
    /** Most photos to list; `Infinity` for all. */
    readonly limit: number,
    /** Ends the listing's calls (a page fetch then ends with `StoppedError`), not the client's others. */
    readonly signal?: AbortSignal,
    /** Where a line a person should see goes: a listing listed again because it changed. */
    readonly say: (line: string) => void = () => {},
  ) {
    this.key = endpointKey(endpoint)
  }

  /**
   * Load what an earlier run stored, or fetch the first page. Errors here (bad key, unknown
   * collection) come out before any download starts. `fresh` forgets the stored listing.
   */
  async start(fresh = false): Promise<void> {
    if (fresh) this.store.forget(this.key)
    const state = this.store.listing(this.key)
    if (state) {
      this.#queue = this.store.photos(this.key)
      this.#stored = this.#queue.length
      this.#nextPage = state.nextPage
      this.#total = state.total
    } else {
      await this.#fetch()
      // Photo ids: on to the first that exists (each is one call, made anyway), so that none
      // existing is known before anything is fetched.
      while (this.endpoint.kind === 'photo' && this.#queue.length === 0 && this.#nextPage !== undefined)
        await this.#fetch()
    }
    // Missing single photos are reported, but a call for nothing that exists is a usage error.
    if (this.endpoint.kind === 'photo' && this.#nextPage === undefined && this.#queue.length === 0) {
      throw notFound(this.endpoint, new UnsplashError('unsplash-404', '', { status: 404 }))
    }
  }

  /** Photos listed so far, stored ones included. */
  get listed(): number {
    return this.#queue.length
  }

  /** Photos an earlier run listed. */
  get stored(): number {
    return this.#stored
  }

  /** What the API says the listing holds (search, collection, user, topic, photo). */
  get total(): number | undefined {
    return this.#total
  }

  /** Photos this run will yield, when known. */
  get wanted(): number | undefined {
    if (this.#nextPage === undefined) return Math.min(this.limit, this.#queue.length)
    if (this.#total !== undefined) return Math.min(this.limit, this.#total)
    return Number.isFinite(this.limit) ? this.limit : undefined
  }

  /**
   * Photos the API counted (its total, up to the limit) that the listing, now at its end, never
   * gave: a search served only up to a page, photos hidden or removed from a collection. 0 while
   * pages remain, after an error, and where the API counts nothing (random) or each call is one id.
   */
  get unreached(): number {
    if (this.#nextPage !== undefined || this.ended || this.#total === undefined) return 0
    if (this.endpoint.kind === 'photo' || this.endpoint.kind === 'random') return 0
    return Math.max(
      0,
      Math.min(this.limit, this.#total) - this.#queue.length - this.repeats - this.unlicensed,
    )
  }

  get empty(): boolean {
    return this.#queue.length === 0 && this.#nextPage === undefined
  }

  /** Listing calls still to make for `wanted` photos; `undefined` when that is unknown. */
  callsLeft(): number | undefined {
    if (this.#nextPage === undefined) return 0
    const want = this.wanted
    if (want === undefined) return undefined
    const short = Math.max(0, want - this.#queue.length)
    if (short === 0) return 0
    if (this.endpoint.kind === 'photo') return (this.endpoint.ids?.length ?? 0) - (this.#nextPage - 1)
    if (this.endpoint.kind === 'random') return Math.ceil(short / PER_PAGE)
    // In pages of the size served: at 10 a page (a `per_page` clamped below 30), 35 photos are
    // 4 calls, counted as 2, and the budget's warning left out where the calls would not last.
    return Math.max(0, Math.ceil(want / this.#pageSize) - (this.#nextPage - 1))
  }

  /** The photos, stored ones first, fetching further pages as they are needed. */
  async *photos(): AsyncGenerator<Photo> {
    let barren = 0
    for (let given = 0; given < this.limit; given++) {
      while (given >= this.#queue.length) {
        if (this.#nextPage === undefined) return
        if (barren >= 2) {
          this.ranDry = true
          return
        }
        const before = this.#queue.length
        try {
          await this.#fetch(this.limit - given)
        } catch (error) {
          if (error instanceof StoppedError) return
          if (error instanceof UnsplashError) {
            this.ended = error
            return
          }
          throw error
        }
        // Pages of photos already listed (a small random pool, a shifting search): give up after two.
        // Not while listing again from the first page: those pages hold the photos listed before.
        barren = this.#queue.length === before && !this.#relisted ? barren + 1 : 0
      }
      yield this.#queue[given]
    }
  }

  /** Resolves once no page is being fetched or stored: after it, the listing leaves the store alone. */
  async settled(): Promise<void> {
    await this.#pending?.catch(() => {})
  }

  #fetch(wanted = this.limit): Promise<void> {
    this.#pending = this.#fetchPage(wanted)
    return this.#pending
  }

  async #fetchPage(wanted: number): Promise<void> {
    const page = this.#nextPage ?? 1
    const got = await fetchPage(this.client, this.endpoint, page, wanted, { signal: this.signal })
    const license = this.endpoint.license
    if (license) {
      const kept = got.photos.filter((p) => underLicense(p, license))
      if (!this.#relisted) this.unlicensed += got.photos.length - kept.length
      got.photos = kept
    }
    if (got.missing) this.missing.push(got.missing)
    this.dropped += got.dropped
    // An empty page where the API counts more (a page of photos hidden since, a search's passing
    // gap) is passed over: the listing ended there and the photos after it were never asked for.
    // Two in a row end it, stored as ended, so that a count that is wrong costs two calls once.
    const empty = got.photos.length + got.dropped === 0 && this.endpoint.kind !== 'photo'
    const next = empty && this.#emptyBefore ? undefined : this.#after(page, got)
    this.#emptyBefore = empty
    const added = this.store.addPage(this.key, got.photos, next, got.total)
    this.#queue.push(...added)
    if (!this.#relisted && this.endpoint.kind !== 'random') this.repeats += got.photos.length - added.length
    this.#nextPage = next
    if (got.total !== undefined) this.#total = got.total
    if (got.size && got.size > 0 && got.next !== undefined) this.#pageSize = got.size
  }

  /**
   * The page to fetch after `page`. A listing is read page by page, by this run or continued from
   * where an earlier one left it, and the API counts its photos on every page: if it counts
   * another number at page P than before, photos were added or removed meanwhile (during an
   * hour's rate-limit wait, or between runs), and every later one moved. Photos added at the front
   * (a photographer's latest uploads, newest first) pushed photos already listed onto page P and
   * the new ones were never looked for; photos removed before it pulled onto earlier pages photos
   * never listed. So pages 1 to P-1 are listed again (the photos already listed are dropped as
   * they come), then the listing goes on after P; once a run.
   */
  #after(page: number, got: Page): number | undefined {
    const before = this.#total
    const earlier = this.#fetched++ === 0
    this.#relisted = false
    if (
      page > 1 &&
      !this.#relist &&
      !this.#relistedOnce &&
      SHIFTS.has(this.endpoint.kind) &&
      got.total !== undefined &&
      before !== undefined &&
      got.total !== before
    ) {
      this.#relist = { until: page - 1, resume: got.next }
      this.#relisted = true
      this.#relistedOnce = true
      const calls = page - 1
      const when = earlier
        ? `since an earlier run listed it (${before} photos then`
        : `while it was listed (${before} photos at first`
      this.say(
        `Unsplash ${this.endpoint.label} changed ${when}, ${got.total} now): listing it again from its first page, so that no photo is missed (${calls} more API ${plural(calls, 'call')}; photos already here are not fetched again).`,
      )
      return 1
    }
    const relist = this.#relist
    if (!relist) return got.next
    this.#relisted = true
    if (got.next === undefined || page >= relist.until) this.#relist = undefined
    return got.next === undefined ? undefined : page >= relist.until ? relist.resume : got.next
  }
}

/** Listings whose later photos move when photos are added or removed: those read page by page. */
const SHIFTS = new Set<Kind>(['search', 'collection', 'user', 'likes', 'topic'])
