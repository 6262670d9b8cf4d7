import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { type Photo, SIZES } from './types.js'

/**
 * What the Unsplash source remembers in an output folder, beside the engine's journal (which it
 * does not touch): listings fetched so far (so a stopped run continues without paying for the
 * same pages again), the photos they held, which files came from which photo (for
 * ATTRIBUTION.md), and the download-tracking call owed or made for each photo.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS photos (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS listings (
  key TEXT PRIMARY KEY,
  next_page INTEGER,            -- NULL: the API has no more pages
  total INTEGER,                -- what the API said the listing holds
  updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS listing_photos (
  listing TEXT NOT NULL, pos INTEGER NOT NULL, photo TEXT NOT NULL,
  PRIMARY KEY (listing, pos), UNIQUE (listing, photo)
);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, photo TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tracking (
  photo TEXT PRIMARY KEY,
  state TEXT NOT NULL,          -- owed | sending | done | gone | refused
  location TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);`

export interface ListingState {
  /** The next page to fetch; `undefined` when the listing is complete. */
  nextPage: number | undefined
  total: number | undefined
  /** Photos stored so far. */
  count: number
}

export type TrackingState = 'owed' | 'sending' | 'done' | 'gone' | 'refused'

/** `value` when it is text, else `undefined`: the API's fields are checked, not trusted. */
function textOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

function objectOf(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {}
}

/**
 * Only what imgpull reads is stored: the API's objects carry much more. A part the API left out
 * (no `user`, no `urls.raw`: a photo removed since it was listed) is left out here too, not a
 * crash further on: the photo's job then fails, or its credit names no one.
 */
export function slim(p: Photo): Photo {
  const urls = objectOf(p.urls)
  const links = objectOf(p.links)
  const user = objectOf(p.user)
  const number = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
  return {
    id: p.id,
    slug: textOf(p.slug) ?? null,
    description: textOf(p.description) ?? null,
    alt_description: textOf(p.alt_description) ?? null,
    width: number(p.width),
    height: number(p.height),
    color: textOf(p.color) ?? null,
    blur_hash: textOf(p.blur_hash) ?? null,
    ...(p.premium === true ? { premium: true } : {}),
    urls: Object.fromEntries(SIZES.flatMap((size) => (textOf(urls[size]) ? [[size, urls[size]]] : []))),
    links: { html: textOf(links.html), download_location: textOf(links.download_location) },
    user: {
      name: textOf(user.name) ?? null,
      username: textOf(user.username),
      links: { html: textOf(objectOf(user.links).html) },
    },
  }
}

/** An entry of a listing that is a photo: an object with an id. Others cannot be keyed or fetched. */
export function isPhoto(entry: unknown): entry is Photo {
  return textOf(objectOf(entry).id) !== undefined
}

export class UnsplashStore {
  readonly #db: Database.Database

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
    this.#db = new Database(file)
    this.#db.pragma('journal_mode = WAL')
    this.#db.pragma('synchronous = NORMAL')
    // Two runs into one folder take turns rather than fail.
    this.#db.pragma('busy_timeout = 5000')
    this.#db.exec(SCHEMA)
  }

  listing(key: string): ListingState | undefined {
    const row = this.#db
      .prepare<[string], { next_page: number | null; total: number | null }>(
        'SELECT next_page, total FROM listings WHERE key = ?',
      )
      .get(key)
    if (!row) return undefined
    const { n } = this.#db
      .prepare<[string], { n: number }>('SELECT count(*) AS n FROM listing_photos WHERE listing = ?')
      .get(key)!
    return { nextPage: row.next_page ?? undefined, total: row.total ?? undefined, count: n }
  }

  /** The listing's photos, in the order the API gave them. */
  photos(key: string): Photo[] {
    return this.#db
      .prepare<[string], { data: string }>(
        'SELECT p.data FROM listing_photos l JOIN photos p ON p.id = l.photo WHERE l.listing = ? ORDER BY l.pos',
      )
      .all(key)
      .map((r) => JSON.parse(r.data) as Photo)
  }

  /**
   * Store one page, all at once: its new photos (ones the listing already holds are dropped and
   * not returned) and where the listing goes on.
   */
  addPage(key: string, photos: Photo[], nextPage: number | undefined, total: number | undefined): Photo[] {
    const added: Photo[] = []
    this.#db.transaction(() => {
      const { pos } = this.#db
        .prepare<[string], { pos: number }>(
          'SELECT coalesce(max(pos), 0) AS pos FROM listing_photos WHERE listing = ?',
        )
        .get(key)!
      let at = pos
      const putPhoto = this.#db.prepare('INSERT OR REPLACE INTO photos (id, data) VALUES (?, ?)')
      const place = this.#db.prepare(
        'INSERT OR IGNORE INTO listing_photos (listing, pos, photo) VALUES (?, ?, ?)',
      )
      for (const photo of photos) {
        const s = slim(photo)
        putPhoto.run(s.id, JSON.stringify(s))
        if (place.run(key, at + 1, s.id).changes === 1) {
          at++
          added.push(s)
        }
      }
      this.#db
        .prepare(
          `INSERT INTO listings (key, next_page, total, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET next_page = excluded.next_page,
             total = coalesce(excluded.total, listings.total), updated_at = excluded.updated_at`,
        )
        .run(key, nextPage ?? null, total ?? null, Date.now())
    })()
    return added
  }

  /** Forget a listing (not its photos, files or tracking): the next run lists afresh. */
  forget(key: string): void {
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM listing_photos WHERE listing = ?').run(key)
      this.#db.prepare('DELETE FROM listings WHERE key = ?').run(key)
    })()
  }

  /** Remember that `path` holds a copy of `photo`. */
  addFile(path: string, photo: Photo): void {
    const s = slim(photo)
    this.#db.prepare('INSERT OR IGNORE INTO photos (id, data) VALUES (?, ?)').run(s.id, JSON.stringify(s))
    this.#db.prepare('INSERT OR REPLACE INTO files (path, photo) VALUES (?, ?)').run(path, s.id)
  }

  /** Every file the source has put in the folder, with its photo, by path. */
  files(): { path: string; photo: Photo }[] {
    return this.#db
      .prepare<[], { path: string; data: string }>(
        'SELECT f.path, p.data FROM files f JOIN photos p ON p.id = f.photo ORDER BY f.path',
      )
      .all()
      .map((r) => ({ path: r.path, photo: JSON.parse(r.data) as Photo }))
  }

  /**
   * Owe a tracking call for a photo just downloaded. False when one was ever owed or made for
   * it: a photo is tracked at most once per folder, whatever the reruns.
   */
  owe(photo: string, location: string): boolean {
    return (
      this.#db
        .prepare(
          "INSERT OR IGNORE INTO tracking (photo, state, location, updated_at) VALUES (?, 'owed', ?, ?)",
        )
        .run(photo, location, Date.now()).changes === 1
    )
  }

  setTracking(photo: string, state: TrackingState): void {
    this.#db
      .prepare('UPDATE tracking SET state = ?, updated_at = ? WHERE photo = ?')
      .run(state, Date.now(), photo)
  }

  tracking(photo: string): TrackingState | undefined {
    return this.#db
      .prepare<[string], { state: TrackingState }>('SELECT state FROM tracking WHERE photo = ?')
      .get(photo)?.state
  }

  /** Calls owed by earlier runs that stopped before making them. */
  owed(): { photo: string; location: string }[] {
    return this.#db
      .prepare<[], { photo: string; location: string }>(
        "SELECT photo, location FROM tracking WHERE state = 'owed' ORDER BY updated_at",
      )
      .all()
  }

  /** How many of a listing's first `limit` photos have had their tracking call (or owe one). */
  trackedIn(key: string, limit: number): number {
    const { n } = this.#db
      .prepare<[string, number], { n: number }>(
        `SELECT count(*) AS n FROM (SELECT photo FROM listing_photos WHERE listing = ? ORDER BY pos LIMIT ?) l
         JOIN tracking t ON t.photo = l.photo`,
      )
      .get(key, limit)!
    return n
  }

  /** Nothing stored: no listing, photo, file or tracking call. */
  empty(): boolean {
    const tables = ['listings', 'photos', 'files', 'tracking']
    return tables.every((t) => this.#db.prepare(`SELECT 1 FROM ${t} LIMIT 1`).get() === undefined)
  }

  close(): void {
    this.#db.close()
  }
}
