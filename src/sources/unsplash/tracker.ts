import type { UnsplashClient } from './client.js'
import { RateLimitError, StoppedError, UnsplashError } from './errors.js'
import type { UnsplashStore } from './state.js'

/**
 * Download tracking, as the API guidelines ask: for each photo actually downloaded, one
 * authorised request to its `links.download_location` (query kept: it carries the `ixid`).
 *
 * Each call is first written down as owed, then sent in the background so downloads never wait
 * on it. A call the rate limit or Ctrl-C prevents stays owed, and the next run sends it; one
 * already sent when Ctrl-C comes is let finish (the client does not cut it off). A call cut off in
 * flight by a crash stays `sending` and is not sent again: "never twice" wins over "at least once".
 */
export interface TrackerReport {
  /** Calls made and accepted in this run. */
  sent: number
  /** Calls still owed (the next run sends them). */
  owed: number
  /** Photos the API no longer knows (404): nothing to track. */
  gone: number
  /**
   * Photos whose tracking call the API refuses with this key (401/403 for that call alone: an
   * Unsplash+ photo without a subscription), with the API's words. Not owed: asking again gets
   * the same answer.
   */
  refused: { photo: string; why: string }[]
  /** The error that held calls back, if one did (rate limit, bad key, the API failing: see `holdsTheRest`). */
  error?: UnsplashError
}

/** A 401 or 403 that refuses this call only: not the key (usage), not the rate limit. */
export function refusedForPhoto(error: unknown): error is UnsplashError {
  return (
    error instanceof UnsplashError &&
    (error.status === 401 || error.status === 403) &&
    !error.usage &&
    !error.retryable &&
    !(error instanceof RateLimitError)
  )
}

export class Tracker {
  readonly #queue: { photo: string; location: string }[] = []
  #next = 0
  #active = 0
  #sent = 0
  #gone = 0
  readonly #refused: { photo: string; why: string }[] = []
  #error: UnsplashError | undefined
  /** Set once calls cannot go on this run (see `holdsTheRest`). */
  #hold: UnsplashError | undefined
  #idle: (() => void) | undefined

  constructor(
    readonly client: UnsplashClient,
    readonly store: UnsplashStore,
    /**
     * Calls in flight at once. Each is one small GET; at 4 a 200-photo run against an API 50 ms
     * away spent 2.5 s on tracking after its downloads were done, at 8 it keeps up with them.
     */
    readonly concurrency = 8,
  ) {}

  /** A photo was just downloaded: track it, unless it ever was (or is owed) in this folder. */
  downloaded(photo: string, location: string | undefined): void {
    if (!location) return
    if (this.store.owe(photo, location)) this.#push(photo, location)
  }

  /** Send the calls earlier runs owe. Returns how many. */
  resumeOwed(): number {
    const owed = this.store.owed()
    for (const o of owed) this.#push(o.photo, o.location)
    return owed.length
  }

  /** Wait for every queued call to be sent or left owed. */
  async drain(): Promise<TrackerReport> {
    if (this.#active > 0 || (this.#next < this.#queue.length && !this.#held())) {
      await new Promise<void>((resolve) => {
        this.#idle = resolve
      })
    }
    return this.report()
  }

  /** Where tracking stands now; after `drain()`, for good. */
  report(): TrackerReport {
    return {
      sent: this.#sent,
      owed: this.store.owed().length,
      gone: this.#gone,
      refused: [...this.#refused],
      error: this.#hold ?? this.#error,
    }
  }

  #push(photo: string, location: string): void {
    this.#queue.push({ photo, location })
    this.#pump()
  }

  #pump(): void {
    // Once a call is held back for good (stop mode, bad key), the rest stay owed without trying.
    while (this.#active < this.concurrency && this.#next < this.#queue.length && !this.#held()) {
      const item = this.#queue[this.#next++]
      this.#active++
      this.#send(item.photo, item.location).finally(() => {
        this.#active--
        this.#pump()
      })
    }
    if (this.#active === 0 && (this.#next >= this.#queue.length || this.#held())) {
      const idle = this.#idle
      this.#idle = undefined
      idle?.()
    }
  }

  #held(): boolean {
    return this.#hold !== undefined
  }

  async #send(photo: string, location: string): Promise<void> {
    this.store.setTracking(photo, 'sending')
    try {
      await this.client.get(location, {}, 'tracking')
      this.store.setTracking(photo, 'done')
      this.#sent++
    } catch (error) {
      if (error instanceof UnsplashError && error.status === 404) {
        this.store.setTracking(photo, 'gone')
        this.#gone++
        return
      }
      if (refusedForPhoto(error)) {
        this.store.setTracking(photo, 'refused')
        this.#refused.push({ photo, why: `HTTP ${error.status}${error.detail ? ` ${error.detail}` : ''}` })
        return
      }
      // Not sent: owe it to the next run.
      this.store.setTracking(photo, 'owed')
      const e =
        error instanceof UnsplashError
          ? error
          : new UnsplashError('unsplash-tracking', String(error), { cause: error })
      this.#error ??= e
      if (holdsTheRest(e)) this.#hold ??= e
    }
  }
}

/**
 * Whether a tracking call's failure holds back the calls not yet sent (they stay owed to the next
 * run): the budget is gone (stop mode), Ctrl-C, a rejected key, or the API failing now, after the
 * client's retries (no answer in time, unreachable, 5xx, a 429 that is not the hourly limit). Each
 * later call would fail the same way, and a silent API made every one wait out its timeout and
 * retries in turn: 40 photos' calls at 30 s took minutes after the downloads were done.
 */
export function holdsTheRest(error: UnsplashError): boolean {
  return (
    error instanceof RateLimitError ||
    error instanceof StoppedError ||
    error.usage ||
    error.retryable ||
    error.code === 'unsplash-network'
  )
}
