import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { ATTRIBUTION, type Layout, sqliteFiles } from '../../layout.js'
import { counted, grouped, plural } from '../../report/format.js'
import { workFileInTheWay } from '../../sinks/local-faults.js'
import { checkOwnOutputs } from '../../sinks/own-outputs.js'
import type { Job, Result, SourceContext } from '../../types.js'
import { abortReason } from '../../utils/abort-reason.js'
import { writeAttribution } from './attribution.js'
import { budgetLines } from './budget.js'
import { UnsplashClient } from './client.js'
import { RateLimitError, StoppedError, type UnsplashError } from './errors.js'
import { type Endpoint, Listing } from './listing.js'
import type { ResolvedUnsplashOptions } from './options.js'
import { DEFAULT_TEMPLATE, FIELDS, photoIdOf, photoJob, variantFlags } from './photo-job.js'
import type { UnsplashStore } from './state.js'
import { Tracker, type TrackerReport } from './tracker.js'
import type { Photo } from './types.js'

/** Where an Unsplash run stands: live while it runs, final once `pull()` has finished. */
export interface UnsplashSummary {
  /** What is listed, as messages name it: `search "mountain lake"`, `collection 1580860`. */
  readonly label: string
  /** Photos the listing holds, when the API says (search, collection, user, topic, photos). */
  readonly total: number | undefined
  /** Photos this run goes for (the limit applied), when known. */
  readonly wanted: number | undefined
  /** Photos an earlier run into the same folder listed: no API call needed for them. */
  readonly listedBefore: number
  /** The listing holds no photos (a search that matches nothing): nothing to download. */
  readonly empty: boolean
  /** Ids given to `unsplash.photos()` that the API does not know. */
  readonly missing: readonly string[]
  /** Entries the API listed that were not photos (no id): left out, and said so through `onMessage`. */
  readonly dropped: number
  /**
   * Entries the API gave again in this run's pass over the listing (the same photo on two pages):
   * each photo is fetched once; said through `onMessage`. Not counted while listing again after
   * the listing changed, where photos already listed are expected.
   */
  readonly repeated: number
  /** API calls the API answered in this run, by purpose (calls refused for the rate limit cost nothing). */
  readonly calls: { readonly listing: number; readonly tracking: number }
  /** The hourly budget as the API last reported it (`X-Ratelimit-Limit`, `X-Ratelimit-Remaining`). */
  readonly rate: { readonly limit?: number; readonly remaining?: number }
  /** Download tracking calls made and accepted in this run. */
  readonly tracked: number
  /** Tracking calls still owed (rate limit, stop, network): the next run into the folder sends them first. */
  readonly owed: number
  /** Photos downloaded that the API no longer knows (tracking answered 404): nothing to track. */
  readonly gone: number
  /**
   * Photos whose tracking call the API refused in this run with this key, for that photo alone
   * (401/403: an Unsplash+ photo without a subscription), with the API's words: not owed.
   */
  readonly refused: readonly { readonly photo: string; readonly why: string }[]
  /** Photos credited in ATTRIBUTION.md: every photo file of the folder still there (written when the run ends). */
  readonly credited: number
  /** ATTRIBUTION.md's path, once written. */
  readonly attribution: string | undefined
  /**
   * Why the listing ended before the limit: a `RateLimitError` (`onRateLimit: 'stop'`) or another
   * `UnsplashError` (the API failing after retries). A stop through a signal is not recorded here.
   */
  readonly listingEnded: UnsplashError | undefined
  /** What held tracking calls back, if anything did (rate limit, a stop, a rejected key, the API failing: no answer, 5xx). */
  readonly trackingError: UnsplashError | undefined
  /** The hourly budget ran out with `onRateLimit: 'stop'`: listing or tracking stopped; run again after the reset. */
  readonly rateLimited: boolean
}

/** How many photos a source lists. */
export interface Extent {
  /** Most photos; `Infinity` for all. */
  limit: number
  /** The limit is the source's default, not the caller's (the budget line says how to get more). */
  defaultLimit: boolean
}

/** Words that differ between the library and the command line. */
export interface Wording {
  /** How to ask for more than the default limit. @default 'limit: N or Infinity for more' */
  limitHint?: string
  /** How to list afresh. @default 'refresh: true' */
  refresh?: string
}

/** One run's state, from `open()` to `close()`. */
interface Run {
  readonly paths: Layout
  readonly store: UnsplashStore
  /** This run made the state store: it goes again if nothing was stored. */
  readonly storeCreated: boolean
  readonly client: UnsplashClient
  readonly listing: Listing
  /** Stops the listing's calls when the run ends, while tracking calls go on. */
  readonly listingStop: AbortController
  tracker: Tracker | undefined
  /** Photos listed and not yet come back as a result, by id. */
  readonly photos: Map<string, Photo>
  closed: boolean
  tracked: TrackerReport | undefined
  credited: number
}

function emptyMessage(e: Endpoint): string {
  return e.kind === 'search'
    ? `No Unsplash photos match "${e.params.query}".`
    : `No photos in Unsplash ${e.label}.`
}

/** What listing afresh would bring, for a listing that can change: `photo` ids cannot. */
function refreshHint(e: Endpoint, refresh: string): string | undefined {
  if (e.kind === 'photo') return undefined
  return `${refresh} lists it again${e.kind === 'random' ? ' for a new draw' : ' for photos added since'}`
}

function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const given = signals.filter((s): s is AbortSignal => s !== undefined)
  return given.length > 1 ? AbortSignal.any(given) : given[0]
}

/**
 * Photos listed through the Unsplash API, as a source for `pull()` that takes part in the run
 * and keeps the API's rules itself:
 *
 * - `open` (the output folder is locked): opens the state store `OUT/.imgpull/unsplash.db`,
 *   lists the first page (or continues the stored listing), queues the tracking calls an earlier
 *   run owes, and says what the run will cost (`onMessage`). A rejected key (401), an unknown
 *   collection/user/topic/photo (404) or an unreachable API throw here, before anything is
 *   fetched; the store is removed again if this run made it.
 * - iterating gives one job per photo: the image from `photo.urls` (never `links.download`),
 *   key `unsplash:<id>:<variant>`, fields `id` `slug` `stem` `user`, attribution in `meta`.
 * - `onResult`: a photo downloaded now owes one authorised call to its `links.download_location`
 *   (https://help.unsplash.com/en/articles/2511258-guideline-triggering-a-download), sent in the
 *   background; never for a skip or a failure, never twice for a photo in the same folder.
 * - `close`: stops the listing, sends the tracking calls still queued (waiting for a rate-limit
 *   reset in `wait` mode), writes ATTRIBUTION.md, and fills in `summary`.
 *
 * A source can be run again (a new `pull()`), not by two runs at once.
 */
export class UnsplashSource implements AsyncIterable<Job> {
  /** The placeholders a photo fills in a name template, beyond the built-in ones. */
  readonly fields: readonly string[] = FIELDS
  /** Files are named `{id}-{slug}{ext}` (`{id}{ext}` for a photo with no description) unless the caller says. */
  readonly name: string = DEFAULT_TEMPLATE
  /** The size or imgix options asked for (`--size full`), `''` for the default: see `Source.imageFlags`. */
  readonly imageFlags: string
  readonly #endpoint: Endpoint
  readonly #extent: Extent
  readonly #o: ResolvedUnsplashOptions
  readonly #wording: Wording
  #run: Run | undefined

  constructor(endpoint: Endpoint, extent: Extent, options: ResolvedUnsplashOptions, wording: Wording = {}) {
    this.#endpoint = endpoint
    this.#extent = extent
    this.#o = options
    this.imageFlags = variantFlags(options.variant)
    this.#wording = wording
  }

  /** Where the run stands (see `UnsplashSummary`); final once `pull()` has finished. */
  get summary(): UnsplashSummary {
    const run = this.#run
    const listing = run?.listing
    // After close the store is shut: the report drain() gave stands.
    const report = run?.tracked ?? (run?.closed ? undefined : run?.tracker?.report())
    const listingEnded = listing?.ended
    const trackingError = report?.error
    return {
      label: this.#endpoint.label,
      total: listing?.total,
      wanted: listing?.wanted,
      listedBefore: listing?.stored ?? 0,
      empty: listing?.empty ?? false,
      missing: [...(listing?.missing ?? [])],
      dropped: listing?.dropped ?? 0,
      repeated: listing?.repeats ?? 0,
      calls: { ...(run?.client.calls ?? { listing: 0, tracking: 0 }) },
      rate: { ...run?.client.rate },
      tracked: report?.sent ?? 0,
      owed: report?.owed ?? 0,
      gone: report?.gone ?? 0,
      refused: report?.refused ?? [],
      credited: run?.credited ?? 0,
      attribution: run?.credited ? run.paths.attribution : undefined,
      listingEnded,
      trackingError,
      rateLimited: listingEnded instanceof RateLimitError || trackingError instanceof RateLimitError,
    }
  }

  /** Photos this run goes for, once known: the engine's total for progress and ETA. */
  total(): number | undefined {
    return this.#run?.listing.wanted
  }

  /** Milliseconds until the rate limit's reset, while the run waits for it: the engine's `waitLeft`. */
  waitLeft(): number {
    const run = this.#run
    return run && !run.closed ? run.client.waitLeft() : 0
  }

  async open(context: SourceContext): Promise<void> {
    if (this.#run && !this.#run.closed) throw new Error('This Unsplash source is already in a run')
    const o = this.#o
    const paths = context.paths
    // ATTRIBUTION.md is replaced at the run's end: never a project's own credits file.
    await checkOwnOutputs(paths, [ATTRIBUTION])
    const inTheWay = workFileInTheWay(
      sqliteFiles(paths.unsplash, 'the Unsplash listing and download tracking'),
    )
    if (inTheWay) throw inTheWay
    // SQLite (a native addon) loads when an Unsplash run opens, not when `imgpull` is imported.
    const { UnsplashStore } = await import('./state.js')
    const storeCreated = !existsSync(paths.unsplash)
    const store = new UnsplashStore(paths.unsplash)
    const client = new UnsplashClient({
      key: o.key,
      apiUrl: o.apiUrl,
      apiFrom: o.apiFrom,
      onRateLimit: o.onRateLimit,
      window: o.window,
      userAgent: context.userAgent,
      say: o.say,
      signal: anySignal(o.signal, context.signal),
      // The run's connections: its proxies, trusted CAs and HTTP/2 reach the API calls too.
      dispatcher: context.dispatcher,
    })
    const listingStop = new AbortController()
    const run: Run = {
      paths,
      store,
      storeCreated,
      client,
      listing: new Listing(client, store, this.#endpoint, this.#extent.limit, listingStop.signal, o.say),
      listingStop,
      tracker: undefined,
      photos: new Map(),
      closed: false,
      tracked: undefined,
      credited: 0,
    }
    this.#run = run
    try {
      // Without a journal a rerun starts over: the listing too.
      await run.listing.start(o.refresh || !context.journal)
    } catch (error) {
      // The run ends before it began: `close` is not called, so let go of everything here.
      run.closed = true
      await release(run)
      // Stopped through the run's own signal: reject with its reason, as pull() and fetch() do.
      if (error instanceof StoppedError && context.signal?.aborted) throw abortReason(context.signal)
      throw error
    }
    run.tracker = new Tracker(client, store)
    const owedBefore = run.tracker.resumeOwed()
    if (run.listing.empty) {
      o.say(emptyMessage(this.#endpoint))
      return
    }
    const { listing } = run
    const wanted = listing.wanted
    const lines = budgetLines({
      label: this.#endpoint.label,
      wanted,
      total: listing.total,
      defaultLimit: this.#extent.defaultLimit,
      limitHint: this.#wording.limitHint ?? 'limit: N or Infinity for more',
      refreshHint: refreshHint(this.#endpoint, this.#wording.refresh ?? 'refresh: true'),
      stored: listing.stored,
      listingCalls: listing.callsLeft(),
      trackingCalls: (wanted ?? 0) - store.trackedIn(listing.key, wanted ?? 0) + owedBefore,
      made: client.calls.listing + client.calls.tracking,
      rate: client.rate,
      onRateLimit: o.onRateLimit,
      window: o.window,
    })
    for (const line of lines) o.say(line)
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Job> {
    const run = this.#run
    if (!run || run.closed) {
      throw new Error('An Unsplash source is read by pull(): pass it to pull(source, options)')
    }
    for await (const photo of run.listing.photos()) {
      run.photos.set(photo.id, photo)
      yield photoJob(photo, this.#o.variant)
    }
  }

  onResult(result: Result): void {
    const run = this.#run
    const id = run && photoIdOf(result.job)
    const photo = id === undefined ? undefined : run?.photos.get(id)
    if (!run || !photo) return
    // Every job leaves the engine once: its photo is needed no longer.
    run.photos.delete(photo.id)
    if (result.path && (result.status === 'ok' || result.status === 'skipped')) {
      run.store.addFile(result.path, photo)
    }
    // Tracking follows a download made now: never a skip, never a failure.
    // A photo the API sent without its `download_location` is tracked at the documented endpoint
    // (`GET /photos/:id/download`, https://unsplash.com/documentation#track-a-photo-download).
    const location = photo.links.download_location ?? `/photos/${encodeURIComponent(photo.id)}/download`
    if (result.status === 'ok') run.tracker?.downloaded(photo.id, location)
  }

  async close(): Promise<void> {
    const run = this.#run
    if (!run || run.closed) return
    run.closed = true
    try {
      // A page being fetched is dropped, not stored: the listing leaves the store alone from here.
      run.listingStop.abort()
      await run.listing.settled()
      const { dropped, unreached, total, listed, repeats } = run.listing
      if (repeats > 0) {
        this.#o.say(
          `Unsplash ${this.#endpoint.label}: the API listed ${repeats} ${plural(repeats, 'photo')} twice; each was fetched once.`,
        )
      }
      // Random draws with repeats (unsplash-js#56): a count larger than what matches ended with
      // fewer photos than asked for, and not a word why.
      if (run.listing.ranDry && this.#endpoint.kind === 'random') {
        this.#o.say(
          `Unsplash ${this.#endpoint.label}: ${grouped(listed)} different ${plural(listed, 'photo')} of the ${grouped(run.listing.limit)} asked for; the API then drew only photos it had given already (fewer match, or it repeats itself).`,
        )
      }
      if (unreached > 0 && total !== undefined) {
        const why =
          this.#endpoint.kind === 'search'
            ? ': the API serves a search up to a page, so narrow it down (orientation, colour, order) to reach others'
            : ' (hidden or removed since it counted them)'
        this.#o.say(
          `Unsplash ${this.#endpoint.label}: the API listed ${grouped(listed)} of the ${grouped(total)} photos it counts and no more${why}.`,
        )
      }
      const { unlicensed } = run.listing
      if (unlicensed > 0) {
        const which = this.#endpoint.license === 'plus' ? 'not Unsplash+' : 'Unsplash+ (premium)'
        this.#o.say(
          `Unsplash ${this.#endpoint.label}: ${counted(unlicensed, 'photo')} the API listed ${unlicensed === 1 ? 'was' : 'were'} ${which} and left out, as the address's license=${this.#endpoint.license} asks.`,
        )
      }
      if (dropped > 0) {
        this.#o.say(
          `Unsplash ${this.#endpoint.label}: ${dropped} ${dropped === 1 ? 'entry' : 'entries'} of the API's listing had no photo id and ${dropped === 1 ? 'was' : 'were'} left out`,
        )
      }
      run.tracked = await run.tracker?.drain()
      run.credited = await writeAttribution(run.paths, run.store.files())
    } finally {
      await release(run)
    }
  }
}

/** Close the store and the client; remove the store if this run made it and stored nothing. */
async function release(run: Run): Promise<void> {
  let empty = false
  try {
    empty = run.storeCreated && run.store.empty()
    run.store.close()
  } finally {
    await run.client.close()
  }
  if (empty) {
    for (const suffix of ['', '-wal', '-shm']) await rm(run.paths.unsplash + suffix, { force: true })
  }
}
