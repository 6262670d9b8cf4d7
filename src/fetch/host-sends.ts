/**
 * `--wait` where the host sees it: when each host may next be sent a request, read and taken at the
 * moment a request is written on its connection (see `Exchange`), not when its task got its turn.
 * A turn taken on the main thread is followed by work that may hold the request back (a new
 * connection's lookup, TCP, TLS or a proxy's CONNECT; a transfer thread busy; the event loop late),
 * while the next request, given its turn a wait later, goes out at once on a connection already
 * open: at `--wait 0.3` a host saw gaps of 0 ms. wget's `--wait`, Scrapy's `DOWNLOAD_DELAY` and
 * robots.txt's Crawl-delay are all about what the server sees.
 *
 * The times live in shared memory, one 64-bit slot a host (µs on the wall clock, so that every
 * thread reads them alike), so that the run's transfer threads space one host together and each
 * takes its send without a message: the main thread gives a host its slot and tells a thread the
 * slot with the transfer it hands it (see transfer-threads.ts).
 */

/** Slots made at first, and the most a run makes: 32 MiB reserved, taken 8 bytes a host as hosts come. */
const FIRST_SLOTS = 256
const MOST_SLOTS = 1 << 22

/**
 * A request written this close before its host's time (µs) still goes: Node's timers run on whole
 * milliseconds, so one set for the time may fire a fraction of one before it.
 */
const SLACK_US = 1000n

/** Now, µs on the wall clock at this thread's start plus its monotonic time since. */
const nowUs = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000))

const Growable = SharedArrayBuffer as unknown as new (
  bytes: number,
  options: { maxByteLength: number },
) => SharedArrayBuffer

export class HostSends {
  /** The shared times: give it to a thread's own `HostSends` (see `fromBuffer`). */
  readonly buffer: SharedArrayBuffer
  readonly #times: BigInt64Array
  readonly #slots = new Map<string, number>()
  /** Draws a gap, ms (see `Options.wait`): for a request whose task drew none with its turn. */
  readonly #draw: () => number
  /** The main thread's: it gives hosts their slots (a thread's is told them: `learn`). */
  readonly #owner: boolean

  /** `draw`: the gap after a request, ms, drawn for each (`--wait 2-4`). `buffer`: a thread's copy of the main thread's. */
  constructor(draw: () => number, buffer?: SharedArrayBuffer) {
    this.#draw = draw
    this.#owner = buffer === undefined
    // Growable (ES2024, in Node 20): a thread's view follows the main thread's growth.
    this.buffer = buffer ?? new Growable(FIRST_SLOTS * 8, { maxByteLength: MOST_SLOTS * 8 })
    // Tracks the buffer's length as the main thread grows it.
    this.#times = new BigInt64Array(this.buffer)
  }

  /**
   * The slot of `host` (a `hostKey`), made at its first ask: the main thread's alone, which tells
   * it to threads. Undefined past `MOST_SLOTS` hosts (their turns alone space them).
   */
  slotOf(host: string): number | undefined {
    let slot = this.#slots.get(host)
    if (slot !== undefined) return slot
    slot = this.#slots.size
    if (slot >= MOST_SLOTS) return undefined
    if (slot >= this.#times.length) {
      const grown = Math.min(MOST_SLOTS, this.#times.length * 2) * 8
      ;(this.buffer as unknown as { grow(n: number): void }).grow(grown)
    }
    this.#slots.set(host, slot)
    return slot
  }

  /** On a thread: the slot the main thread gave `host`. */
  learn(host: string, slot: number): void {
    this.#slots.set(host, slot)
  }

  /** The slot of `host`: on the main thread, made at its first request; on a thread, as told. */
  #slot(host: string): number | undefined {
    return this.#owner ? this.slotOf(host) : this.#slots.get(host)
  }

  /** Ms before a request to `host` may be written: 0 now (and for a host with no slot here). */
  due(host: string): number {
    const slot = this.#slot(host)
    if (slot === undefined) return 0
    const left = Atomics.load(this.#times, slot) - nowUs()
    return left <= SLACK_US ? 0 : Math.ceil(Number(left) / 1000)
  }

  /**
   * Take the send to `host` now, where its request is written: true, and its next request held
   * `gap` ms (drawn if not given) past now; false, taking nothing, when it is not yet time (another
   * request, on another connection or thread, went first). A host with no slot here: true.
   */
  claim(host: string, gap?: number): boolean {
    const slot = this.#slot(host)
    if (slot === undefined) return true
    const now = nowUs()
    for (;;) {
      const next = Atomics.load(this.#times, slot)
      if (next - now > SLACK_US) return false
      const then = now + BigInt(Math.round((gap ?? this.#draw()) * 1000))
      if (Atomics.compareExchange(this.#times, slot, next, then) === next) return true
    }
  }
}
