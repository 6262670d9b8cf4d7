import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/**
 * A stand-in for the Unsplash API on 127.0.0.1, built from the documented response shapes
 * (https://unsplash.com/documentation): photo objects with `urls`, `links` and `user`; search
 * answers `{ total, total_pages, results }`; list endpoints with `X-Total` and `Link`; the
 * `X-Ratelimit-*` headers, 403 "Rate Limit Exceeded" past the limit, 401 for a bad key, 404 for
 * unknown collections, users, topics and photos. Photo `urls` point at a separate image host
 * (test/support/image-server.ts), as images.unsplash.com is separate from api.unsplash.com.
 *
 * Photos are deterministic: the n-th photo of a listing is always the same.
 */
export interface UnsplashMockOptions {
  /** Origin of the image host the photos' `urls` point at. */
  imageOrigin: string
  /** The access key the mock accepts. @default 'test-access-key' */
  key?: string
  /** API calls allowed per window. @default 5000 */
  limit?: number
  /** Rate-limit window in ms, from the moment the window's calls ran out. @default 3_600_000 */
  window?: number
  /** Search words → number of matching photos; other words match nothing. */
  searches?: Record<string, number>
  /**
   * The last search page served: a later one answers `{ total: 0, total_pages: 0, results: [] }`,
   * as the API does past page 200 though `total_pages` said more (unsplash-js#216).
   */
  searchPageCap?: number
  collections?: Record<string, number>
  users?: Record<string, number>
  /** Username → number of photos they liked (`/users/:username/likes`); a user without an entry likes none. */
  likes?: Record<string, number>
  topics?: Record<string, number>
  /**
   * Photo ids `/photos/:id` answers though no listing holds them (`imgpull unsplash photo ID`, as
   * the README's example gives it); other ids answer once a listing has sent them.
   */
  photos?: string[]
  /** Photos `/photos/random` draws from. @default 500 */
  randomPool?: number
  /**
   * Whether a random draw (by its query) has nothing to draw from: answered 404 `{"errors":
   * ["Couldn't find Photo"]}`, as the API answers words no photo matches, or an unknown user.
   */
  randomNone?: (query: URLSearchParams) => boolean
  /** Photo ids whose image files answer 404 on the image host. */
  brokenImages?: Set<string>
  /** Photo ids whose image files answer 500 to their first request, then the image. */
  flakyImages?: Set<string>
  /**
   * Photo ids that are Unsplash+ (premium): their objects say `premium: true`, and tracking their
   * download answers 401 `{"errors":["Unauthorized"]}` to a key without a subscription, as the
   * API does (unsplash/unsplash-php#132), while the key is good for everything else.
   */
  plus?: Set<string>
  /**
   * How a call past the limit is refused. @default { status: 403, body: 'Rate Limit Exceeded', headers: true }
   * Real answers vary: 403 "Ratelimit exceeded" (joelshepherd/tabliss#602), 429 (unsplash-js#199);
   * `headers: false` leaves out `X-Ratelimit-*`.
   */
  refusal?: { status: number; body: string; headers?: boolean }
  /**
   * The most photos a page holds, whatever `per_page` asks (the API clamps it; `X-Per-Page` says
   * what it served). @default 30
   */
  perPageMax?: number
  /** Send `Link` headers on list endpoints. @default true */
  linkHeaders?: boolean
  /**
   * Answer a request for a path only once the promise this gives resolves (`undefined`: at once).
   * The request is taken as it arrives, as a server does: one the client gives up on meanwhile
   * is still answered, and a tracking call still counted.
   */
  hold?: (path: string) => Promise<void> | undefined
  /** Milliseconds before each answer. @default 0 */
  latency?: number
  /** The n-th photo as the API sends it: a hostile or broken API's fields. */
  photo?: (photo: MockPhoto, n: number) => MockPhoto
  /**
   * Whether a list or search page (by path and page number) is served empty, its counts, `Link`
   * and `total_pages` as for the full page: a page of photos hidden since they were counted.
   */
  emptyPage?: (path: string, page: number) => boolean
  /**
   * An answer in place of the mock's own for an authorised call within the limit (`undefined`:
   * the mock's): a redirect, a body with a BOM, an error page. `rate` holds the `X-Ratelimit-*`
   * headers the call would have had.
   */
  intercept?: (url: URL, rate: Record<string, string | number>) => MockAnswer | undefined
}

/** An answer `intercept` gives: a string body is sent as it is, anything else as JSON. */
export interface MockAnswer {
  status: number
  body?: unknown
  headers?: Record<string, string | number>
}

export interface MockPhoto {
  id: string
  slug: string
  description: string | null
  alt_description: string | null
  width: number
  height: number
  color: string
  blur_hash: string
  created_at: string
  likes: number
  urls: { raw: string; full: string; regular: string; small: string; thumb: string }
  links: { self: string; html: string; download: string; download_location: string }
  user: {
    id: string
    username: string
    name: string
    links: { self: string; html: string; photos: string }
  }
}

export interface LoggedCall {
  path: string
  query: URLSearchParams
  headers: IncomingMessage['headers']
  status: number
}

export interface UnsplashMock {
  origin: string
  key: string
  /** Every API request, answered or refused. */
  log: LoggedCall[]
  /** Tracking calls per photo id: the `ixid` each one carried. */
  tracked: Map<string, string[]>
  /** The n-th photo (0-based) of a listing such as `search:mountain lake` or `collection:42`. */
  photoAt(listing: string, n: number): MockPhoto
  /** Answered calls whose path starts with `prefix` (all answered calls without one). */
  count(prefix?: string): number
  /** Use up the rest of this window's calls. */
  exhaust(): void
  /** Start a new rate-limit window now, as if the hour had passed. */
  reset(): void
  /** Change the calls allowed per window. */
  setLimit(calls: number): void
  /** Accept another key from now on, as when the one in use is revoked: calls with it answer 401. */
  setKey(key: string): void
  /** Answer the next `times` calls to `path` with `status`. */
  fault(path: string, status: number, times: number): void
  /**
   * Change a listing (`collection:77`, `user:anniespratt`, `search:lake`...) as its owner would:
   * `add` new photos at its front (newest first, as a photographer's latest uploads and a topic's
   * new photos come first), `remove` the n-th photos (0-based, of the listing as first made). Its
   * pages and its total (`X-Total`, `total`) follow; `photoAt(listing, -k)` is the k-th added.
   */
  edit(listing: string, change: { add?: number; remove?: number[] }): void
  close(): Promise<void>
}

const PER_PAGE_MAX = 30
const DESCRIPTIONS = [
  'Mountain lake at sunrise',
  'Café & croissant: a morning in Paris / France',
  null,
  'Über den Wolken — Alpen',
  null,
]

/** A listing's changes since it was made: photos added at its front, photos removed. */
interface Edit {
  added: number
  removed: Set<number>
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('base64url')
}

export async function startUnsplashMock(options: UnsplashMockOptions): Promise<UnsplashMock> {
  let limit = options.limit ?? 5000
  let key = options.key ?? 'test-access-key'
  const {
    imageOrigin,
    window = 3_600_000,
    searches = {},
    searchPageCap = Number.POSITIVE_INFINITY,
    collections = {},
    users = {},
    likes = {},
    topics = {},
    randomPool = 500,
    brokenImages = new Set<string>(),
    flakyImages = new Set<string>(),
    plus = new Set<string>(),
    refusal = { status: 403, body: 'Rate Limit Exceeded', headers: true },
    linkHeaders = true,
    perPageMax = PER_PAGE_MAX,
    latency = 0,
  } = options
  const log: LoggedCall[] = []
  const tracked = new Map<string, string[]>()
  const byId = new Map<string, MockPhoto>()
  const faults = new Map<string, { status: number; times: number }>()
  let windowStart = 0
  let used = 0
  let randomSeed = 0
  let origin = ''

  function photoAt(listing: string, n: number): MockPhoto {
    return photoOf(hash(`${listing}#${n}`).slice(0, 11), listing, n)
  }

  /** The photo of this id, made as the `n`-th of `listing` the first time it is asked for. */
  function photoOf(id: string, listing: string, n: number): MockPhoto {
    const known = byId.get(id)
    if (known) return premium(known)
    const i = Number.parseInt(hash(id).slice(0, 6), 36) || n
    const description = DESCRIPTIONS[Math.abs(n) % DESCRIPTIONS.length]
    const alt = n % 5 === 4 ? null : `a photo numbered ${n} of ${listing.replace(/^[^:]*:/, '')}`
    const ixid = hash(`ixid:${id}`).slice(0, 24)
    const fault = brokenImages.has(id) ? '&status=404' : flakyImages.has(id) ? '&status=500&times=1' : ''
    const raw = `${imageOrigin}/photo-${id}?ixid=${ixid}&ixlib=rb-4.0.3${fault}`
    const base = `${raw}&crop=entropy&cs=tinysrgb&fm=jpg`
    const username = `shooter${i % 7}`
    const photo: MockPhoto = {
      id,
      slug: `${(alt ?? 'photo').replace(/\W+/g, '-').toLowerCase()}-${id}`,
      description,
      alt_description: alt,
      width: 4000 + (i % 1000),
      height: 3000 - (i % 1000),
      color: `#${hash(`c${id}`)
        .replace(/[^0-9a-f]/gi, '0')
        .slice(0, 6)}`,
      blur_hash: `L${hash(`b${id}`).slice(0, 27)}`,
      created_at: '2024-05-01T10:00:00Z',
      likes: i % 500,
      urls: {
        raw,
        full: `${base}&q=85`,
        regular: `${base}&q=80&w=1080`,
        small: `${base}&q=80&w=400`,
        thumb: `${base}&q=80&w=200`,
      },
      links: {
        self: `${origin}/photos/${id}`,
        html: `https://unsplash.com/photos/${id}`,
        download: `https://unsplash.com/photos/${id}/download`,
        download_location: `${origin}/photos/${id}/download?ixid=${ixid}`,
      },
      user: {
        id: hash(username).slice(0, 11),
        username,
        name: i % 7 === 3 ? 'Ann [the] *Lens*' : `Photographer ${i % 7}`,
        links: {
          self: `${origin}/users/${username}`,
          html: `https://unsplash.com/@${username}`,
          photos: `${origin}/users/${username}/photos`,
        },
      },
    }
    const sent = options.photo ? options.photo(photo, n) : photo
    byId.set(id, sent)
    return premium(sent)
  }

  /** The photo as sent now: an Unsplash+ one (in `plus` when asked for, added before or after) says so. */
  function premium(photo: MockPhoto): MockPhoto {
    return plus.has(photo.id) ? ({ ...photo, premium: true, plus: true } as MockPhoto) : photo
  }

  function send(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string | number> = {},
  ): number {
    const text = typeof body === 'string' ? body : JSON.stringify(body)
    res.writeHead(status, {
      'content-type': typeof body === 'string' ? 'text/plain' : 'application/json',
      ...headers,
    })
    res.end(text)
    return status
  }

  /** `Link` as the API sends it: first, prev, last, next. */
  function link(req: URL, page: number, pages: number): string {
    const at = (p: number) => {
      const u = new URL(req.pathname + req.search, origin)
      u.searchParams.set('page', String(p))
      return `<${u.href}>`
    }
    const parts = [`${at(1)}; rel="first"`]
    if (page > 1) parts.push(`${at(page - 1)}; rel="prev"`)
    parts.push(`${at(Math.max(1, pages))}; rel="last"`)
    if (page < pages) parts.push(`${at(page + 1)}; rel="next"`)
    return parts.join(', ')
  }

  function paging(u: URL): { page: number; perPage: number } {
    const page = Math.max(1, Number(u.searchParams.get('page') ?? 1) || 1)
    const perPage = Math.min(perPageMax, Math.max(1, Number(u.searchParams.get('per_page') ?? 10) || 10))
    return { page, perPage }
  }

  const edits = new Map<string, Edit>()

  /** The photos (their n) a listing of `made` photos holds now: those added first, then the rest. */
  function members(listing: string, made: number): number[] {
    const edit = edits.get(listing)
    if (!edit) return Array.from({ length: made }, (_, n) => n)
    const added = Array.from({ length: edit.added }, (_, k) => -(edit.added - k))
    const kept = Array.from({ length: made }, (_, n) => n).filter((n) => !edit.removed.has(n))
    return [...added, ...kept]
  }

  /** How many photos a listing of `made` photos holds now. */
  function sizeOf(listing: string, made: number): number {
    return edits.has(listing) ? members(listing, made).length : made
  }

  function slice(listing: string, made: number, page: number, perPage: number): MockPhoto[] {
    if (options.emptyPage?.(currentPath, page)) return []
    return members(listing, made)
      .slice((page - 1) * perPage, page * perPage)
      .map((n) => photoAt(listing, n))
  }

  /** The path being answered, for `emptyPage`. */
  let currentPath = ''

  function route(u: URL, res: ServerResponse, rate: Record<string, string | number>): number {
    const path = u.pathname
    currentPath = path
    const instead = options.intercept?.(u, rate)
    if (instead) {
      const body = instead.body ?? ''
      const text = Buffer.isBuffer(body) ? body : typeof body === 'string' ? body : JSON.stringify(body)
      res.writeHead(instead.status, {
        'content-type': typeof body === 'string' || Buffer.isBuffer(body) ? 'text/plain' : 'application/json',
        ...instead.headers,
      })
      res.end(text)
      return instead.status
    }
    const q = u.searchParams
    if (path === '/search/photos') {
      const query = q.get('query') ?? ''
      if (!query) return send(res, 400, { errors: ['query is missing'] }, rate)
      const { page, perPage } = paging(u)
      if (page > searchPageCap) return send(res, 200, { total: 0, total_pages: 0, results: [] }, rate)
      const made = searches[query] ?? 0
      const total = sizeOf(`search:${query}`, made)
      const pages = Math.ceil(total / perPage)
      return send(
        res,
        200,
        { total, total_pages: pages, results: slice(`search:${query}`, made, page, perPage) },
        { ...rate, ...(linkHeaders ? { link: link(u, page, pages) } : {}) },
      )
    }
    const list = /^\/(collections|users|topics)\/([^/]+)\/photos$/.exec(path)
    if (list) {
      const [, kind, name] = list
      const table = kind === 'collections' ? collections : kind === 'users' ? users : topics
      const made = table[decodeURIComponent(name)]
      if (made === undefined) {
        const what = kind === 'collections' ? 'Collection' : kind === 'users' ? 'User' : 'Topic'
        return send(res, 404, { errors: [`Couldn't find ${what}`] }, rate)
      }
      const listing = `${kind.slice(0, -1)}:${decodeURIComponent(name)}`
      const total = sizeOf(listing, made)
      const { page, perPage } = paging(u)
      const pages = Math.ceil(total / perPage)
      return send(res, 200, slice(listing, made, page, perPage), {
        ...rate,
        'x-total': total,
        'x-per-page': perPage,
        ...(linkHeaders ? { link: link(u, page, pages) } : {}),
      })
    }
    const liked = /^\/users\/([^/]+)\/likes$/.exec(path)
    if (liked) {
      const name = decodeURIComponent(liked[1])
      if (users[name] === undefined) return send(res, 404, { errors: ["Couldn't find User"] }, rate)
      const made = likes[name] ?? 0
      const total = sizeOf(`likes:${name}`, made)
      const { page, perPage } = paging(u)
      const pages = Math.ceil(total / perPage)
      return send(res, 200, slice(`likes:${name}`, made, page, perPage), {
        ...rate,
        'x-total': total,
        'x-per-page': perPage,
        ...(linkHeaders ? { link: link(u, page, pages) } : {}),
      })
    }
    if (path === '/photos/random') {
      if (options.randomNone?.(q)) return send(res, 404, { errors: ["Couldn't find Photo"] }, rate)
      const count = q.has('count') ? Number(q.get('count')) : undefined
      if (count !== undefined && (!Number.isInteger(count) || count < 1 || count > PER_PAGE_MAX)) {
        return send(res, 400, { errors: ['count must be between 1 and 30'] }, rate)
      }
      // With collections or topics the words are ignored, as the API documents (they cannot be
      // combined) and does: the draw is from the collections or topics alone.
      const pool = q.get('collections') ?? q.get('topics')
      const from = pool ? `random:in ${pool}` : `random:${q.get('query') ?? ''}`
      const pick = () => photoAt(from, randomSeed++ % randomPool)
      if (count === undefined) return send(res, 200, pick(), rate)
      return send(
        res,
        200,
        Array.from({ length: count }, () => pick()),
        rate,
      )
    }
    const download = /^\/photos\/([^/]+)\/download$/.exec(path)
    if (download) {
      const photo = byId.get(download[1])
      if (!photo) return send(res, 404, { errors: ["Couldn't find Photo"] }, rate)
      if (plus.has(photo.id)) return send(res, 401, { errors: ['Unauthorized'] }, rate)
      const calls = tracked.get(photo.id) ?? []
      calls.push(q.get('ixid') ?? '')
      tracked.set(photo.id, calls)
      return send(res, 200, { url: photo.urls.full }, rate)
    }
    const single = /^\/photos\/([^/]+)$/.exec(path)
    if (single) {
      const photo = byId.get(single[1])
      if (!photo) return send(res, 404, { errors: ["Couldn't find Photo"] }, rate)
      return send(res, 200, premium(photo), rate)
    }
    return send(res, 404, { errors: ['Not found'] }, rate)
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<number> {
    if (latency) await new Promise((r) => setTimeout(r, latency))
    const u = new URL(req.url ?? '/', 'http://x')
    await options.hold?.(u.pathname)
    if (req.headers.authorization !== `Client-ID ${key}`) {
      return send(res, 401, { errors: ['OAuth error: The access token is invalid'] })
    }
    const now = Date.now()
    // The window is timed from the moment the calls ran out, so a slow client still meets the limit.
    if (used >= limit && now - windowStart >= window) used = 0
    if (used >= limit) {
      const rateHeaders = { 'x-ratelimit-limit': limit, 'x-ratelimit-remaining': 0 }
      return send(res, refusal.status, refusal.body, refusal.headers === false ? {} : rateHeaders)
    }
    used++
    if (used >= limit) windowStart = now
    const rate = { 'x-ratelimit-limit': limit, 'x-ratelimit-remaining': limit - used }
    const fault = faults.get(u.pathname)
    if (fault && fault.times > 0) {
      fault.times--
      return send(res, fault.status, { errors: [`injected ${fault.status}`] }, rate)
    }
    return route(u, res, rate)
  }

  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x')
    const entry: LoggedCall = { path: u.pathname, query: u.searchParams, headers: req.headers, status: 0 }
    log.push(entry)
    handle(req, res).then(
      (status) => {
        entry.status = status
      },
      () => res.destroy(),
    )
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  for (const id of options.photos ?? []) photoOf(id, `photo:${id}`, 0)

  return {
    origin,
    get key() {
      return key
    },
    log,
    tracked,
    photoAt,
    count: (prefix = '/') => log.filter((c) => c.status === 200 && c.path.startsWith(prefix)).length,
    exhaust: () => {
      windowStart = Date.now()
      used = limit
    },
    setLimit: (calls) => {
      limit = calls
    },
    setKey: (next) => {
      key = next
    },
    reset: () => {
      windowStart = Date.now()
      used = 0
    },
    fault: (path, status, times) => faults.set(path, { status, times }),
    edit: (listing, { add = 0, remove = [] }) => {
      const edit = edits.get(listing) ?? { added: 0, removed: new Set<number>() }
      edit.added += add
      for (const n of remove) edit.removed.add(n)
      edits.set(listing, edit)
    },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
