import { setMaxListeners } from 'node:events'
import { existsSync, rmdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { WORK_DIR } from '../layout.js'
import type { Options } from '../options.js'
import { ATTRIBUTION, writeAttribution } from '../sources/unsplash/attribution.js'
import { budgetLines } from '../sources/unsplash/budget.js'
import { UnsplashClient } from '../sources/unsplash/client.js'
import { noKeyError, RateLimitError, StoppedError, UnsplashError } from '../sources/unsplash/errors.js'
import { type Endpoint, Listing } from '../sources/unsplash/listing.js'
import { photoIdOf, photoJob, type Variant } from '../sources/unsplash/photo-job.js'
import type { OnRateLimit } from '../sources/unsplash/rate-limit.js'
import { UnsplashStore } from '../sources/unsplash/state.js'
import { Tracker } from '../sources/unsplash/tracker.js'
import type { Photo } from '../sources/unsplash/types.js'
import type { Job, Result } from '../types.js'
import { EXIT, type OutputFlags, runPull } from './pull-command.js'

/** Exit code when the rate limit stopped the run (`--on-rate-limit stop`): run again after the reset. */
export const EXIT_RATE_LIMITED = 75

export interface UnsplashRunOptions {
  endpoint: Endpoint
  /** Most photos; `Infinity` for all. */
  limit: number
  /** The limit is the command's default (said in the budget line). */
  defaultLimit: boolean
  variant: Variant
  key: string | undefined
  apiUrl: string
  onRateLimit: OnRateLimit
  /** Rate-limit window, ms. */
  window: number
  /** List afresh instead of continuing the stored listing. */
  refresh: boolean
  /** Engine options; they never carry the access key. */
  options: Options
  flags: OutputFlags
}

function emptyMessage(e: Endpoint): string {
  return e.kind === 'search'
    ? `No Unsplash photos match "${e.params.query}".`
    : `No photos in Unsplash ${e.label}.`
}

/** Remove an empty store this run made, then the folders it made, if nothing else went in them. */
function removeCreated(created: string[], storePath: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(storePath + suffix, { force: true })
  for (const dir of created.filter((p) => p !== storePath).reverse()) {
    try {
      rmdirSync(dir)
    } catch {
      return // not empty: something else lives there now
    }
  }
}

/**
 * One Unsplash command: list photos through the API, download them with the engine, send a
 * tracking call for each photo downloaded, and credit them in ATTRIBUTION.md. Returns the exit code.
 */
export async function runUnsplash(o: UnsplashRunOptions): Promise<number> {
  const { flags } = o
  const out = o.options.out ?? '.'
  const tty = process.stderr.isTTY && !flags.json && !flags.quiet
  // On a terminal, clear the progress line's row first, as runPull does for failure lines.
  const say = (line: string) => {
    if (!flags.quiet) process.stderr.write(`${tty ? '\r\x1b[K' : ''}${line}\n`)
  }
  const fail = (line: string) => process.stderr.write(`${tty ? '\r\x1b[K' : ''}imgpull: ${line}\n`)
  if (!o.key) {
    fail(noKeyError().message)
    return EXIT.usage
  }

  // Ctrl-C ends rate-limit waits and API calls; runPull handles the downloads on its own.
  const stop = new AbortController()
  // Every API call in flight (listing, up to 8 tracking calls) listens to this one signal.
  setMaxListeners(64, stop.signal)
  const onSignal = () => stop.abort()
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const storePath = join(out, WORK_DIR, 'unsplash.db')
  // What this run creates, so a run that stored nothing (a rejected key, say) leaves no folder behind.
  const created = [out, join(out, WORK_DIR), storePath].filter((p) => !existsSync(p))
  const store = new UnsplashStore(storePath)
  const client = new UnsplashClient({
    key: o.key,
    apiUrl: o.apiUrl,
    onRateLimit: o.onRateLimit,
    window: o.window,
    userAgent: o.options.userAgent,
    say,
    signal: stop.signal,
  })
  try {
    const listing = new Listing(client, store, o.endpoint, o.limit)
    // Without a journal a rerun starts over: the listing too.
    await listing.start(o.refresh || o.options.journal === false)
    const tracker = new Tracker(client, store)
    const owedBefore = tracker.resumeOwed()
    if (listing.empty) {
      say(emptyMessage(o.endpoint))
      await tracker.drain()
      return EXIT.ok
    }
    const wanted = listing.wanted
    for (const line of budgetLines({
      label: o.endpoint.label,
      wanted,
      total: listing.total,
      defaultLimit: o.defaultLimit,
      stored: listing.stored,
      listingCalls: listing.callsLeft(),
      trackingCalls: (wanted ?? 0) - store.trackedIn(listing.key, wanted ?? 0) + owedBefore,
      made: client.calls.listing + client.calls.tracking,
      rate: client.rate,
      onRateLimit: o.onRateLimit,
    })) {
      say(line)
    }

    const photos = new Map<string, Photo>()
    const variant = o.variant
    async function* jobs(): AsyncGenerator<Job> {
      for await (const photo of listing.photos()) {
        photos.set(photo.id, photo)
        yield photoJob(photo, variant)
      }
    }
    const onResult = (r: Result) => {
      const photo = photos.get(photoIdOf(r.job) ?? '')
      if (!photo) return
      if (r.path && (r.status === 'ok' || r.status === 'skipped')) store.addFile(r.path, photo)
      // Tracking follows a download made now: never a skip, never a failure.
      if (r.status === 'ok') tracker.downloaded(photo.id, photo.links.download_location)
    }
    let code: number = await runPull(jobs(), o.options, flags, { onResult, total: () => listing.wanted })
    const tracked = await tracker.drain()
    const credited = await writeAttribution(out, store.files())

    for (const id of listing.missing) fail(`no such Unsplash photo ${id}`)
    if (listing.missing.length && code === EXIT.ok) code = EXIT.failed
    const limited = listing.ended instanceof RateLimitError || tracked.error instanceof RateLimitError
    if (listing.ended && !(listing.ended instanceof RateLimitError)) {
      fail(`listing stopped early: ${listing.ended.message}; run the same command again to continue`)
      if (code === EXIT.ok) code = EXIT.failed
    }
    if (tracked.error?.usage) {
      fail(tracked.error.message)
      code = EXIT.usage
    }
    const calls = client.calls
    const rate = client.rate
    const n = (x: number) => x.toLocaleString('en-US')
    const left =
      rate.remaining === undefined
        ? ''
        : `, ${n(rate.remaining)}${rate.limit === undefined ? '' : ` of ${n(rate.limit)}`} left this hour`
    const credits = credited ? `; credits for ${n(credited)} photos in ${join(out, ATTRIBUTION)}` : ''
    say(
      `Unsplash: ${n(calls.listing + calls.tracking)} API calls in this run (${n(calls.listing)} listing, ${n(calls.tracking)} download tracking)${left}${credits}.`,
    )
    if (limited) {
      say(
        `Unsplash rate limit reached: stopped${listing.ended ? ' listing' : ''}${
          tracked.owed ? `, ${tracked.owed} download tracking calls owed` : ''
        }. Run the same command after the hourly reset to continue.`,
      )
    } else if (tracked.owed) {
      say(`${tracked.owed} download tracking calls owed: run the same command again to send them.`)
    }
    if (limited && (code === EXIT.ok || code === EXIT.failed)) code = EXIT_RATE_LIMITED
    return code
  } catch (error) {
    if (error instanceof StoppedError) return EXIT.interrupted
    if (error instanceof UnsplashError) {
      fail(error.message)
      if (error instanceof RateLimitError) {
        say('Run the same command after the hourly reset to continue.')
        return EXIT_RATE_LIMITED
      }
      return error.usage ? EXIT.usage : EXIT.failed
    }
    throw error
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    const empty = created.includes(storePath) && store.empty()
    store.close()
    if (empty) removeCreated(created, storePath)
    await client.close()
  }
}
