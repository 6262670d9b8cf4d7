import { backFromRefusal } from './retry-policy.js'

/**
 * Retries sleeping out their backoff, each woken by its timer or, for those sent away by a refused
 * connection, as soon as the host that refused them serves again (`back`). A host restarting (a
 * deploy, a container coming up) refuses every file at once; their waits are drawn apart (see
 * `retryDelay`), so the first retry to find it serving can come seconds before the others' (up to
 * 4 s at the defaults' fourth retry), and they would wait those out on a host that is up. Waking
 * them then hands them to the scheduler, whose per-host limit still decides how many go at once.
 * Only an answer that shows the host back (see `backFromRefusal`) wakes them.
 */
export class RetrySleepers<T> {
  /**
   * Each sleep's item, when it ends (`performance.now()`), and the origin that refused it, if
   * any, and when (`performance.now()`).
   */
  readonly #sleeps = new Map<
    NodeJS.Timeout,
    { item: T; until: number; refusedBy?: string; refusedAt: number }
  >()
  /** The sleeps each origin refused, to wake when it serves again. */
  readonly #refused = new Map<string, Set<NodeJS.Timeout>>()

  /** @param wake Called with each item when its sleep ends, by its timer or by `back`. */
  constructor(private readonly wake: (item: T) => void) {}

  /** Sleep `ms` milliseconds, then wake `item`; with `refusedBy` (an origin), earlier if `back(refusedBy)` comes first. */
  add(item: T, ms: number, refusedBy?: string): void {
    const timer = setTimeout(() => this.#end(timer), ms)
    const now = performance.now()
    this.#sleeps.set(timer, { item, until: now + ms, refusedBy, refusedAt: now })
    if (refusedBy === undefined) return
    let timers = this.#refused.get(refusedBy)
    if (!timers) {
      timers = new Set()
      this.#refused.set(refusedBy, timers)
    }
    timers.add(timer)
  }

  /**
   * When the last sleep ends by its timer (`performance.now()`), 0 when none sleeps: no file
   * sleeping now is done before then (a progress ETA). One pass over the sleeps, a few times a second.
   */
  lastWake(): number {
    let last = 0
    for (const { until } of this.#sleeps.values()) last = Math.max(last, until)
    return last
  }

  /**
   * `origin` answered a request sent at `sentAt` (`performance.now()`; `fresh`: on a new
   * connection, `undefined` when not known): wake now what it had refused before then.
   */
  back(origin: string, sentAt: number, fresh?: boolean): void {
    const timers = this.#refused.get(origin)
    if (!timers) return
    for (const timer of timers) {
      const refusedAt = this.#sleeps.get(timer)?.refusedAt ?? Number.POSITIVE_INFINITY
      if (!backFromRefusal({ refusedAt, sentAt, fresh })) continue
      clearTimeout(timer)
      this.#end(timer)
    }
  }

  /** Wake now every item `which` picks (their host or proxy given up: they fail at once, unsent). */
  wakeIf(which: (item: T) => boolean): void {
    for (const [timer, sleep] of this.#sleeps) {
      if (!which(sleep.item)) continue
      clearTimeout(timer)
      this.#end(timer)
    }
  }

  /** End every sleep without waking it: the items that were sleeping. */
  clear(): T[] {
    const items = [...this.#sleeps].map(([timer, sleep]) => {
      clearTimeout(timer)
      return sleep.item
    })
    this.#sleeps.clear()
    this.#refused.clear()
    return items
  }

  /** How many sleep. */
  get size(): number {
    return this.#sleeps.size
  }

  #end(timer: NodeJS.Timeout): void {
    const sleep = this.#sleeps.get(timer)
    if (!sleep) return
    this.#sleeps.delete(timer)
    if (sleep.refusedBy !== undefined) {
      const timers = this.#refused.get(sleep.refusedBy)
      timers?.delete(timer)
      if (timers?.size === 0) this.#refused.delete(sleep.refusedBy)
    }
    this.wake(sleep.item)
  }
}
