/**
 * A host's pause (a 429's or 503's `Retry-After`, a rate limit's reset, a proxy's limit: see
 * `Scheduler.pause`) held where each request is written, as `--wait` is (see host-sends.ts), not
 * only when a file gets its turn. A request given its turn before the 429 came, then held by its
 * connection (a slow TLS handshake, a proxy's CONNECT, a busy transfer thread), reached the server
 * 1.5 s into a wait of 3 s that the host had asked for: RFC 6585 §4 and RFC 9110 §10.2.3 ask for no
 * new request within it, which is what the host sees.
 *
 * One a thread: the main thread's is told of each pause by the scheduler, each transfer thread's by
 * a message (see transfer-threads.ts `pause`), which comes within a turn of the main thread's
 * event loop. Each thread keeps its pauses' ends on its own monotonic clock (`performance.now()`),
 * told how long from now: a wall clock stepped back an hour (NTP, a VM resumed) held a thread's
 * host an hour more, its start and the main thread's read from the wall clock at different
 * times. A run that meets no pause pays one check of `any` a request.
 */
import { hostKey } from '../utils/url.js'

export class SendPauses {
  /** Paused hosts (`hostKey`) and when their pause ends (`performance.now()`); ended ones go as they are met. */
  readonly #until = new Map<string, number>()

  /** Whether a pause may be on: false in a run that met none (the only cost then). */
  get any(): boolean {
    return this.#until.size > 0
  }

  /** Hold the sends to `host` (a `hostKey`) for `ms` from now: a later end already set is kept. */
  pause(host: string, ms: number): void {
    const now = performance.now()
    const until = now + ms
    if (until <= (this.#until.get(host) ?? 0)) return
    // Pauses over, of hosts no request asked about since: gone (once a second at most: a proxy's
    // pause comes host by host), so that `any` falls back.
    if (now - this.#swept >= 1000) {
      this.#swept = now
      for (const [other, end] of this.#until) if (end <= now) this.#until.delete(other)
    }
    this.#until.set(host, until)
  }

  /** When ended pauses were last let go (`performance.now()`). */
  #swept = Number.NEGATIVE_INFINITY

  /** Ms before a request to `url`'s host may be written: 0 now, and for a host never paused. */
  due(url: URL): number {
    const host = hostKey(url)
    const until = this.#until.get(host)
    if (until === undefined) return 0
    const left = until - performance.now()
    // A Node timer may fire a fraction of a millisecond early (see host-sends.ts `SLACK_US`).
    if (left >= 1) return Math.ceil(left)
    this.#until.delete(host)
    return 0
  }
}
