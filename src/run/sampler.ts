import type { Scheduler } from '../fetch/scheduler.js'
import type { Journal } from '../journal/journal.js'
import { steadyNow } from '../utils/steady-clock.js'

/**
 * How often the busy hosts' limits and transfers in flight are sampled for the report, ms: often
 * at first (a short run still gets a chart), then once a second (a long one stays small).
 */
const sampleEvery = (elapsedMs: number) => (elapsedMs < 10_000 ? 250 : 1000)

/**
 * Takes per-host samples for the report while transfers run: each busy host's limit and transfers
 * in flight, into the journal (the report's concurrency charts). A journal that refuses them
 * (a full disk) goes to `onError`, which stops the run.
 */
export class HostSampler {
  #timer: NodeJS.Timeout | undefined
  readonly #scheduler: Pick<Scheduler<unknown>, 'snapshot'>
  readonly #journal: Journal
  readonly #onError: (error: unknown) => void

  constructor(
    scheduler: Pick<Scheduler<unknown>, 'snapshot'>,
    journal: Journal,
    onError: (error: unknown) => void,
  ) {
    this.#scheduler = scheduler
    this.#journal = journal
    this.#onError = onError
  }

  /** Sample from now until `stop`; `started`: the run's start (`performance.now()`). */
  start(started: number): void {
    this.#timer = setTimeout(
      () => {
        this.#sample()
        if (this.#timer) this.start(started)
      },
      sampleEvery(performance.now() - started),
    )
    this.#timer.unref()
  }

  stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** What each busy host's limit and transfers in flight are now (the report's concurrency charts). */
  #sample(): void {
    const t = steadyNow()
    const hosts = this.#scheduler.snapshot()
    try {
      this.#journal.addSamples(hosts.map((h) => ({ t, host: h.host, limit: h.limit, inFlight: h.active })))
    } catch (error) {
      this.#onError(error)
    }
  }
}
