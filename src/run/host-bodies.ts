import { type BodyPace, giveWay, paceOf } from '../fetch/steady-body.js'

/** What `HostBodies` reads of an attempt (an `AttemptDeadline`). */
export interface Listed {
  pace: BodyPace | undefined
  /** It gave way already (see `giveWay`): on its way out, no longer weighed. */
  readonly gaveWay: boolean
  /** `performance.now()` at its file's `--total-timeout`. */
  readonly endsAt: number
  movable(): boolean
}

/**
 * The attempts of each host under way, for the slow-shared-link weighing (see `giveWay`): those
 * sent whose body has not begun, by the host first asked (`enter`), and those whose body is
 * coming, by the host answering it (`begin`, again after a redirect): their paces added up are
 * what a host's link carries. An attempt is in one list at most, and `leave` takes it out of it
 * (once its attempt ends, whichever way: leaving again, or never listed, changes nothing). A
 * host's list is dropped once empty: a run meets hosts by the hundred thousand.
 */
export class HostBodies<T extends Listed> {
  /** The attempts whose bodies are under way, by the host answering them. */
  readonly #bodies = new Map<string, Set<T>>()
  /** The attempts of each host (the one first asked) sent and not yet in their body. */
  readonly #waiting = new Map<string, Set<T>>()
  /** Where each listed attempt is: which lists, under which host. */
  readonly #where = new Map<T, { lists: Map<string, Set<T>>; host: string }>()

  /** `attempt` is sent to `host`, its body not begun: it gives way too when the host's bodies do. */
  enter(host: string, attempt: T): void {
    this.#list(this.#waiting, host, attempt)
  }

  /** `attempt`'s body began, answered by `host`: under way there, no longer waiting. */
  begin(host: string, attempt: T): void {
    this.#list(this.#bodies, host, attempt)
  }

  /** `attempt` ended: out of every list. */
  leave(attempt: T): void {
    const at = this.#where.get(attempt)
    if (!at) return
    this.#where.delete(attempt)
    const listed = at.lists.get(at.host)
    listed?.delete(attempt)
    if (listed?.size === 0) at.lists.delete(at.host)
  }

  /** The host answering `attempt`'s body under way (undefined before it begins, or once it left). */
  bodyHost(attempt: T): string | undefined {
    const at = this.#where.get(attempt)
    return at?.lists === this.#bodies ? at.host : undefined
  }

  /**
   * The paces of the bodies under way at the host answering `attempt`'s (its own included) added
   * up, bytes a second (see `sharedAtDeadline`); 0 before its body begins. Those that gave way
   * count until they leave (their attempt is cut at once).
   */
  together(attempt: T, now: number): number {
    const host = this.bodyHost(attempt)
    let sum = 0
    if (host !== undefined)
      for (const d of this.#bodies.get(host) ?? []) if (d.pace) sum += paceOf(d.pace, now)
    return sum
  }

  /**
   * Weigh `host`'s bodies under way (see `giveWay`), those that gave way already left out: where
   * together they are more than its link carries before their files' deadlines (`totalMs` each),
   * those to withdraw (farthest from their end) and how many stay (`keep`, the host's new limit);
   * undefined where none need to give way.
   */
  weigh(host: string, now: number, totalMs: number): { withdraw: T[]; keep: number } | undefined {
    const bodies = [...(this.#bodies.get(host) ?? [])].filter((d) => !d.gaveWay)
    let together = 0
    for (const d of bodies) if (d.pace) together += paceOf(d.pace, now)
    const { withdraw, keep } = giveWay(
      bodies.map((d) => ({ pace: d.pace, leftMs: d.endsAt - now, movable: d.movable() })),
      now,
      totalMs,
      together,
    )
    if (withdraw.length === 0) return undefined
    return { withdraw: withdraw.map((i) => bodies[i]!), keep }
  }

  /** The attempts sent to `host` whose bodies have not begun, as they are now (a copy). */
  waitingAt(host: string): T[] {
    return [...(this.#waiting.get(host) ?? [])]
  }

  /** How many lists are held (a host's waiting attempts and its bodies each one): 0 once all left. */
  get size(): number {
    return this.#waiting.size + this.#bodies.size
  }

  #list(lists: Map<string, Set<T>>, host: string, attempt: T): void {
    this.leave(attempt)
    const listed = lists.get(host) ?? new Set<T>()
    lists.set(host, listed.add(attempt))
    this.#where.set(attempt, { lists, host })
  }
}
