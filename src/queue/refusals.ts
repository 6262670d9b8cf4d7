/**
 * A spell of Redis refusing a worker's commands (out of memory under `noeviction`, a read-only
 * replica after a failover, a password changed, an ACL user that lost its keys): since when, when
 * last, and Redis's words then. BullMQ emits each refusal and asks again at once; the worker says
 * the spell once as it begins and once as it ends, and stops with `--exit-when-done` when it has
 * lasted as long as a Redis gone is waited for. Times are `performance.now()` ms.
 */
export class Refusals {
  #on = false
  #since = 0
  #at = 0
  #words = ''

  /** Whether Redis refuses the worker's commands now (a spell begun, not yet ended). */
  get on(): boolean {
    return this.#on
  }

  /** Redis's words at its last refusal (`''` before any). */
  get words(): string {
    return this.#words
  }

  /** A refusal heard at `now`, in Redis's `words`: true when it begins a spell (to be said once). */
  heard(words: string, now: number): boolean {
    this.#at = now
    this.#words = words
    if (this.#on) return false
    this.#on = true
    this.#since = now
    return true
  }

  /** A command Redis took: true when that ends a spell (to be said once). */
  taken(): boolean {
    if (!this.#on) return false
    this.#on = false
    return true
  }

  /**
   * How long the spell has lasted at `now`, ms, while it is on and a refusal was heard within the
   * last `lateMs` (a spell whose refusals stopped coming, unsaid, is not counted on); else
   * `undefined`.
   */
  lasting(now: number, lateMs: number): number | undefined {
    return this.#on && now - this.#at < lateMs ? now - this.#since : undefined
  }
}
