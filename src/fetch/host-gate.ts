import type { GivenUp } from './given-up.js'

/**
 * A per-host limit shared with other processes (the workers of one queue, on any machine): the
 * scheduler asks it before starting a task on a host, and tells it of pauses a host asked for.
 * Without one (a single-machine run) the limits are this process's alone.
 */
export interface HostGate {
  /**
   * Take a slot on `host` (an origin) if fewer than `limit` transfers to it are in flight over all
   * processes and no process was told to pause it. Resolves to `release` (call it once the task
   * ends), or to `retryIn`: ms after which to ask again (the rest of a shared pause, or a short
   * wait while the host is full). A rejection counts as `retryIn` of `GATE_RETRY_MS`. `ownLimit`:
   * the host is full at `limit` itself (over all processes), not at a smaller limit others learned.
   * `spacing`: a slot taken pauses the host for every process this many ms (see `Options.wait`), in
   * the same step, so two processes never start within it. `reached`: the host has served this
   * process's run a file; then, and for `SILENT_SHARED_MS` after (this process's later runs
   * included), a host another process gave up (see `giveUp`) does not answer `givenUp`: that
   * process's view of it (a WAF or a rate limit banning its address, a firewall or a route only it
   * has) is not this one's. A process it has served nothing is held by it, so a host dead is not
   * tried by each.
   */
  acquire(
    host: string,
    limit: number,
    spacing?: number,
    reached?: boolean,
  ): Promise<{ release: () => void } | { retryIn: number; ownLimit?: boolean } | { givenUp: GivenUp }>
  /** `host` asked us to wait `ms` (429/503 with `Retry-After`): no process starts a task on it until then. */
  pause(host: string, ms: number): void
  /**
   * This process gave `host` up (see `Scheduler.givenUp`): for `ms`, `acquire` answers `givenUp`
   * to every process, whose files of it then fail without a request. Each shard of a queue is a
   * run of its own: without this, each one found the black hole (or the day-long `Retry-After`)
   * again, at the limit the others had cut it to, one timeout after another.
   */
  giveUp?(host: string, givenUp: GivenUp, ms: number): void
  /**
   * This process's limit for `host` changed after the host complained (cut, or regrown since): every
   * process holds the host to it, a new run (the next shard) included, which has learnt nothing.
   * Not used with a gate that has `cut` and `grow`, which keep that limit themselves.
   */
  learn?(host: string, limit: number): void
  /**
   * `host` complained to this process, enough to cut its limit, `age` ms after the complaint's
   * request went out: halve what the host had in flight over all processes, once per round trip
   * over all of them, as one run halves its limit (a process held to a share of the host by the
   * others told its own few transfers as the host's limit: 3 workers at 4 fell to 1, and stayed).
   */
  cut?(host: string, age: number, rateLimited: boolean): void
  /**
   * A connection of this process's to `host` was turned away at the door (reset, refused, or
   * answered 503 or 429 before the host served a file), its request sent at `sentAt`
   * (`performance.now()`), while this
   * process has `others` more transfers there: when another process holds a slot there taken
   * before that request went out, its transfer awaited, the host turns connections away at its
   * limit of them (nginx's `limit_conn`), and every process is held to the slots held over all of
   * them. Resolves to that limit, or 0 when no other process holds such a slot (a rejection: 0).
   * Without it, a process that held none of the host's slots spent its files' retries at its door,
   * and gave the host up for every process as one where nothing listens.
   */
  crowded?(host: string, sentAt: number, others: number): Promise<number>
  /**
   * `host` answered this process cleanly while every slot of the limit the processes learned was
   * taken: that limit grows by one a window of such answers, as one run's does (it never grew: no
   * process was held by its own limit, and the host stayed at the cut for a minute after its last
   * complaint).
   */
  grow?(host: string, max: number): void
  /**
   * Hear of each pause of a host as it is asked for (`pause`, by any process, this one's other runs
   * included): `listener` gets the host and how long from now, ms, so the requests of transfers
   * already running (a redirect's next hop, a resume) are held too, as within one process (a
   * worker learned of another's pause only at its next slot, and its transfers' next requests
   * reached the host in the middle of the wait). Returns what stops it.
   */
  onPaused?(listener: (host: string, ms: number) => void): () => void
}

/** Wait before asking a gate again after it failed (its store unreachable), ms. */
export const GATE_RETRY_MS = 1000
