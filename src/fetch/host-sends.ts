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
 * takes its send without a message: the main thread gives a host its slot and tells it with each
 * transfer it hands a thread, and with each redirect there (see transfer-threads.ts); a thread
 * knows a slot for that transfer alone. A slot whose time has passed and whose host the run holds
 * nothing of is given to another host (see `prune`): a list of one file a host keeps few.
 */

/** Slots made at first, and the most a run makes: 32 MiB reserved, taken 8 bytes a host as hosts come. */
const FIRST_SLOTS = 256
const MOST_SLOTS = 1 << 22

/** Hosts known past which those done with are forgotten (as the scheduler keeps 10,000). */
const PRUNE_AT = 10_000

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

/** Where a host's time is: its slot, or none (not spaced here). */
export type SlotOf = (host: string) => number | undefined

/**
 * The run's send times. The main thread's (made without a buffer) gives hosts their slots; a
 * thread's (made with the main thread's `buffer`) reads and takes them by the slots it is told.
 */
export class HostSends {
  /** The shared times: give it to a thread's own `HostSends`. */
  readonly buffer: SharedArrayBuffer
  readonly #times: BigInt64Array
  readonly #slots = new Map<string, number>()
  readonly #free: number[] = []
  #made = 0
  /** Draws a gap, ms (see `Options.wait`): for a request whose task drew none with its turn. */
  readonly #draw: () => number
  /** On the main thread: whether the run still holds something of a host (its slot stays). */
  busy: (host: string) => boolean = () => true

  /** `draw`: the gap after a request, ms, drawn for each (`--wait 2-4`). `buffer`: a thread's copy of the main thread's. */
  constructor(draw: () => number, buffer?: SharedArrayBuffer) {
    this.#draw = draw
    // Growable (ES2024, in Node 20): a thread's view follows the main thread's growth.
    this.buffer = buffer ?? new Growable(FIRST_SLOTS * 8, { maxByteLength: MOST_SLOTS * 8 })
    this.#times = new BigInt64Array(this.buffer)
  }

  /**
   * On the main thread: the slot of `host` (a `hostKey`), made at its first ask. Undefined past
   * `MOST_SLOTS` hosts at once (their turns alone space them).
   */
  slotOf(host: string): number | undefined {
    let slot = this.#slots.get(host)
    if (slot !== undefined) return slot
    if (this.#slots.size >= PRUNE_AT && this.#free.length === 0) this.prune()
    slot = this.#free.pop()
    if (slot === undefined) {
      if (this.#made >= MOST_SLOTS) return undefined
      slot = this.#made++
      if (slot >= this.#times.length) {
        const grown = Math.min(MOST_SLOTS, this.#times.length * 2) * 8
        ;(this.buffer as unknown as { grow(n: number): void }).grow(grown)
      }
    }
    this.#slots.set(host, slot)
    return slot
  }

  /**
   * Forget the hosts whose time has passed and that the run holds nothing of (`busy`): no
   * transfer can take their slot any more, which goes to the next new host. Returns how many.
   */
  prune(): number {
    const now = nowUs()
    let freed = 0
    for (const [host, slot] of this.#slots) {
      if (Atomics.load(this.#times, slot) > now || this.busy(host)) continue
      this.#slots.delete(host)
      this.#free.push(slot)
      freed++
    }
    return freed
  }

  /** Hosts with a slot (for tests: a list of one file a host must not grow it without end). */
  get size(): number {
    return this.#slots.size
  }

  /** The main thread's slots by host. */
  readonly own: SlotOf = (host) => this.slotOf(host)

  /** Ms before a request to `host` may be written: 0 now (and for a host with no slot). */
  due(host: string, slotOf: SlotOf = this.own): number {
    const slot = slotOf(host)
    if (slot === undefined) return 0
    const left = Atomics.load(this.#times, slot) - nowUs()
    return left <= SLACK_US ? 0 : Math.ceil(Number(left) / 1000)
  }

  /**
   * Take the send to `host` now, where its request is written: true, and its next request held
   * `gap` ms (drawn if not given) past now; false, taking nothing, when it is not yet time (another
   * request, on another connection or thread, went first). A host with no slot: true.
   */
  claim(host: string, gap?: number, slotOf: SlotOf = this.own): boolean {
    const slot = slotOf(host)
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
