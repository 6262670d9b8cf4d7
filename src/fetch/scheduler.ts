import { Fifo } from '../utils/fifo.js'
import { type HostLimit, limitOnPressure, limitOnSuccess, limitStart } from './host-limit.js'

/** What a complaint did to a host's limit: see `Scheduler.pressure`. */
export type Pressure = 'first' | 'cut' | 'floor'

interface Host<T> {
  queue: Fifo<T>
  active: number
  aimd: HostLimit
  /** `performance.now()` when the pause ends; 0 when not paused (cleared by the wake-up timer only). */
  pausedUntil: number
  /** When the limit was last cut: complaints about requests sent before then are old news. */
  cutAt: number
  wake?: NodeJS.Timeout
}

/**
 * Runs tasks under a global limit and a per-host limit. Hosts take turns, so while one host's
 * slots are full (or it asked us to pause), work for the others keeps flowing.
 * A host's limit adapts: halved under pressure (429/503/timeouts), grown back one at a time.
 */
export class Scheduler<T> {
  readonly #hosts = new Map<string, Host<T>>()
  /** Hosts with queued work, a free slot and no pause, in turn order. */
  readonly #ready = new Set<string>()
  readonly #concurrency: number
  /** Per-host limit a host starts at, the most it may grow to, and whether it grows on its own. */
  readonly #start: number
  readonly #max: number
  readonly #adaptive: boolean
  readonly #run: (task: T, host: string) => Promise<void>
  #active = 0
  #queued = 0
  #stopped = false
  #onChange: () => void

  constructor(options: {
    concurrency: number
    /** A fixed per-host limit, or `auto`: start at `autoStart`, grow to `autoMax` while healthy. */
    perHost: number | 'auto'
    autoStart?: number
    autoMax?: number
    run: (task: T, host: string) => Promise<void>
    /** Called whenever a task ends or the backlog shrinks. */
    onChange?: () => void
  }) {
    this.#concurrency = options.concurrency
    this.#adaptive = options.perHost === 'auto'
    this.#start = options.perHost === 'auto' ? (options.autoStart ?? 16) : options.perHost
    this.#max = options.perHost === 'auto' ? (options.autoMax ?? 128) : options.perHost
    this.#run = options.run
    this.#onChange = options.onChange ?? (() => {})
  }

  get active(): number {
    return this.#active
  }

  get queued(): number {
    return this.#queued
  }

  add(host: string, task: T, front = false): void {
    let state = this.#hosts.get(host)
    if (!state) {
      state = { queue: new Fifo(), active: 0, aimd: limitStart(this.#start), pausedUntil: 0, cutAt: 0 }
      this.#hosts.set(host, state)
    }
    if (front) state.queue.unshift(task)
    else state.queue.push(task)
    this.#queued++
    this.#refresh(host, state)
    this.#pump()
  }

  /** The host answered cleanly (its time to first byte, ms): grow its limit towards the maximum. */
  success(host: string, ttfb?: number): void {
    const state = this.#hosts.get(host)
    if (state) state.aimd = limitOnSuccess(state.aimd, this.#max, ttfb, this.#adaptive)
  }

  /**
   * The host is overloaded or rate-limiting: halve its limit, once per round trip (as TCP does):
   * a burst of 429s for requests `sentAt` before the last cut counts as one complaint. Returns
   * what this complaint did: the `first` cut of a host that had never complained (we were
   * sending it far too much), a later `cut` (fewer transfers at once is the remedy), or found the
   * limit at its `floor` already (one at a time and still too much: only time helps), or nothing.
   */
  pressure(host: string, sentAt: number, rateLimited: boolean): Pressure | undefined {
    const state = this.#hosts.get(host)
    if (!state || sentAt < state.cutAt) return undefined
    const before = state.aimd
    state.aimd = limitOnPressure(state.aimd, rateLimited)
    // A cut clears the count of complaints; any other complaint leaves at least itself counted.
    if (state.aimd.strikes > 0) return undefined
    state.cutAt = performance.now()
    return before.limit <= 1 ? 'floor' : before.ceiling === Number.POSITIVE_INFINITY ? 'first' : 'cut'
  }

  /**
   * Start nothing on `host` for `ms` (its `Retry-After`); other hosts go on. The pause ends when its
   * timer fires, not when a clock says so: a Node timer may fire a little before `Date.now()` (or
   * even `performance.now()`) reaches the deadline it was set for, and a wake-up that re-checked a
   * clock and found it early, with nothing re-armed, would stall the host (and the run) for good.
   */
  pause(host: string, ms: number): void {
    const state = this.#hosts.get(host)
    if (!state || ms <= 0) return
    const until = performance.now() + ms
    if (until <= state.pausedUntil) return
    state.pausedUntil = until
    this.#ready.delete(host)
    clearTimeout(state.wake)
    state.wake = setTimeout(() => {
      state.wake = undefined
      state.pausedUntil = 0
      this.#refresh(host, state)
      this.#pump()
    }, ms)
  }

  /** Each host with transfers in flight: its limit now and how many are running. */
  snapshot(): { host: string; limit: number; active: number }[] {
    const hosts: { host: string; limit: number; active: number }[] = []
    for (const [host, state] of this.#hosts) {
      if (state.active > 0) hosts.push({ host, limit: state.aimd.limit, active: state.active })
    }
    return hosts
  }

  /** Start no more tasks; returns the ones that were waiting. */
  stop(): T[] {
    this.#stopped = true
    const dropped: T[] = []
    for (const state of this.#hosts.values()) {
      clearTimeout(state.wake)
      for (let t = state.queue.shift(); t !== undefined; t = state.queue.shift()) dropped.push(t)
    }
    this.#ready.clear()
    this.#queued = 0
    return dropped
  }

  #refresh(host: string, state: Host<T>): void {
    const ready =
      !this.#stopped && state.queue.size > 0 && state.active < state.aimd.limit && state.pausedUntil === 0
    if (ready) this.#ready.add(host)
    else this.#ready.delete(host)
  }

  #pump(): void {
    while (this.#active < this.#concurrency && this.#ready.size > 0) {
      const host = this.#ready.values().next().value as string
      const state = this.#hosts.get(host)!
      const task = state.queue.shift() as T
      this.#queued--
      state.active++
      this.#active++
      // Re-adding moves the host to the back of the line: hosts take turns.
      this.#ready.delete(host)
      this.#refresh(host, state)
      this.#run(task, host).finally(() => {
        state.active--
        this.#active--
        this.#refresh(host, state)
        if (state.queue.size === 0 && state.active === 0 && !state.wake) this.#hosts.delete(host)
        this.#pump()
        this.#onChange()
      })
    }
  }
}
