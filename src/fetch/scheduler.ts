import type { ImgpullCode } from '../errors.js'
import { type Cancellable, whenCancelled } from '../utils/cancel-hook.js'
import { Fifo } from '../utils/fifo.js'
import { type GivenUp, OVERLONG_FILES, RESET_FILES, TLS_FILES, TRICKLE_FILES } from './given-up.js'
import { GATE_RETRY_MS, type HostGate } from './host-gate.js'
import {
  type HostLimit,
  limitOnPressure,
  limitOnSuccess,
  limitShared,
  limitStart,
  roomToGrow,
} from './host-limit.js'
import { lengthens, SILENT_SHARED_MS, type Silence } from './host-silence.js'
import { outOfReachWords } from './out-of-reach.js'
import { doubtSettled, resetReading } from './retry-policy.js'
import { take, untake } from './slot-line.js'

/** What a complaint did to a host's limit: see `Scheduler.pressure`. */
export type Pressure = 'first' | 'cut' | 'floor'

/** A host's tasks may wait at redirect targets up to this many times its limit (see `waitingAway`). */
const AWAY = 4

/**
 * Resets at the door in doubt a host holds (see `resetReading`): the oldest beyond are dropped,
 * never counted, on a host that resets some URLs every time and serves the rest on kept-alive
 * connections alone (no proof comes, nor other URLs turned away).
 */
const DOUBTS = 256

/** A reset at the door in doubt: its request's sending time, its URL's reset before, and its own (`performance.now()`). */
interface Doubt {
  sentAt: number
  resetBefore: number
  at: number
}

/** How long a gate's "full at your own limit" counts as the limit being in use, ms. */
const OWN_FULL_MS = 1000

/**
 * Wait before asking the gate again for a host another process gave up while this run's own
 * transfers there are in flight (see `#elsewhere`), ms.
 */
const ELSEWHERE_POLL_MS = 50

/** Idle hosts whose complaints are remembered (see `#forgetIdle`), the latest first kept. */
const REMEMBERED = 10_000

/** Ready hosts looked at for the one holding fewest transfers (see `#nextHost`): bounded, for lists of many hosts. */
const FAIR_SCAN = 64

/**
 * How long before a refused request another transfer of its host must have held its slot, still
 * held, for that one to count as taken by the host (see `Scheduler.crowding`), ms: a margin over
 * the event loop's lag on a loaded machine, under which a host down's refusals, each at once, may
 * be read a little out of order.
 */
export const ACCEPTED_MS = 100

interface Host<T> {
  /** Its origin: the key it is held under. */
  readonly name: string
  queue: Fifo<T>
  /** Tasks holding a slot here, those waiting for the gate's answer included. */
  active: number
  /** Tasks running here: their slot held and granted by the gate, if any. */
  running: number
  /** `performance.now()` when the gate last found the host full at this process's own limit. */
  ownFullAt?: number
  /** `performance.now()` when the gate last found the host full at the limit the processes learned. */
  learnedFullAt?: number
  aimd: HostLimit
  /** `performance.now()` when the pause ends; 0 when not paused (cleared by the wake-up timer only). */
  pausedUntil: number
  /** When the limit was last cut: complaints about requests sent before then are old news. */
  cutAt: number
  /** The host has complained before (429, 503, a timeout, a connection turned away). */
  complained: boolean
  /** The host has answered a request of this run (any status). */
  heard: boolean
  /** `performance.now()` when it last answered (see `unanswered`). */
  heardAt?: number
  /** The host has served a file in this run. */
  served: boolean
  /** `performance.now()` when it last served a file (see `stalled`). */
  servedAt?: number
  /** When the latest-sent request it served a file for was sent (`performance.now()`; see `pathSilence`). */
  servedSent: number
  /**
   * The first and the last of the slots held on it now, in the order they were taken (see
   * `crowding`): the first has held its slot longest.
   */
  oldest?: Held
  newest?: Held
  /** The same, of those served on a new connection (see `resetReading`). */
  freshSent: number
  /** Resets at the door in doubt (see `resetReading`), oldest first, at most `DOUBTS`. */
  doubts?: Doubt[]
  /** Requests in a row it never answered, each cut by the connect or headers timeout. */
  unheard: Silence
  /** Requests in a row whose body stopped for the idle timeout, none moving a file forward. */
  stalls: Silence
  /** Its files whose bodies trickled past the total timeout with no file served (see `trickled`). */
  trickles?: number
  /** `performance.now()` when it last named a wait longer than imgpull takes, with no file served since. */
  overlongAt?: number
  /** The files asked such a wait since the last file it served. */
  overlongFiles?: Set<string>
  /** Why the host is given up for the run, and the code its files fail with, without a request. */
  givenUp?: GivenUp
  /** It was given up as out of reach (see `outOfReach`): in these words. */
  unreached?: string
  /** Its files that failed `tls` with nothing heard from it (see `tlsRefused`). */
  tlsFiles?: number
  /** Its files that failed at the door (reset or closed before any answer), nothing heard from it (see `turnedAway`). */
  resetFiles?: number
  /** Running tasks redirected here, waiting for a slot: served before the queue. */
  hops: HopWaiter[]
  /**
   * This host's tasks waiting for a slot where a redirect led them: no more than `AWAY` times its
   * limit, so a full or paused target does not draw the host's whole list into its line (their
   * clocks running), while the host's other URLs, which may not redirect at all, still go.
   */
  waitingAway: number
  wake?: NodeJS.Timeout
  /** The least time to the next start here, ms, drawn at the last start (see `Options.wait`). */
  gap?: number
  /** `performance.now()` before which no request may go out here (see `turn`). */
  nextSend?: number
}

/** A running task waiting for a slot on the host a redirect led it to. */
interface HopWaiter {
  /**
   * `true`: the host slot and a global slot are its own (counted in the host's and the run's
   * active); `false`: the run stopped, or the transfer was cancelled.
   */
  grant: (granted: boolean) => void
}

/**
 * Where a running task holds its per-host slot: first its listed URL's origin, then each origin a
 * redirect leads it to. The limits, pauses and complaints of a host count the transfers talking to
 * it, not the ones listed under it: many short-link origins redirecting to one CDN hold that CDN to
 * its limit.
 */
export interface Slot {
  /** The origin whose slot the task holds (or last held). */
  readonly host: string
  /**
   * Move to `origin` (the next request goes there): the slots held (the host's, and the task's
   * place in the global limit, so a full or paused target never holds other hosts back) are freed
   * at once, and this resolves to `true` once the task holds both again, on `origin` (its limit
   * and pause, and the gate's, allow it); to `false`, holding none, when `cancel` fires or the run
   * stops: the transfer must then send nothing more. Never rejects.
   */
  move(origin: string, cancel?: Cancel): Promise<boolean>
}

/** What a slot needs of a transfer's cancel. */
type Cancel = Cancellable

interface Held {
  /** The task's own (listed) host. */
  readonly listed: string
  host: string
  /** The host's state while the task counts in its `active`; undefined when it holds no slot. */
  state: Host<unknown> | undefined
  /** The gate's slot on that host, when there is a gate. */
  release: (() => void) | undefined
  /** The task counts in the run's `active` (the global limit). */
  global: boolean
  /** The task counts in its host's `running`. */
  running?: boolean
  /** When it took its slot on that host (`performance.now()`; see `crowding`). */
  since?: number
  /** The slots taken on that host just before and just after it, still held (see `Host.oldest`). */
  prev?: Held
  next?: Held
}

/**
 * Runs tasks under a global limit and a per-host limit. Hosts take turns, so while one host's
 * slots are full (or it asked us to pause), work for the others keeps flowing.
 * A host's limit adapts: halved under pressure (429/503/timeouts), grown back one at a time.
 */
export class Scheduler<T> {
  readonly #hosts = new Map<string, Host<T>>()
  /** Hosts paused now (see `pause`): few, for `heldUntil`. */
  readonly #held = new Set<Host<T>>()
  /** What idle hosts that complained taught us, oldest first (see `#forgetIdle`). */
  readonly #learned = new Map<string, Host<T>>()
  /**
   * Idle hosts forgotten after they answered this run (`true`: and served a file), oldest first:
   * a host never given up for silence or refusals once it answered keeps that when its next file
   * comes after a pause (a restart in the middle of the run is waited out by the retries).
   */
  readonly #answered = new Map<string, boolean>()
  /** Hosts with queued work, a free slot and no pause, in turn order. */
  readonly #ready = new Set<string>()
  readonly #concurrency: number
  /**
   * Transfers the run starts at once: `concurrency`, or fewer since the machine ran out of file
   * descriptors (see `outOfDescriptors`), grown back by one a clean answer.
   */
  #limit: number
  /** When `#limit` was last cut (performance.now()): the failures of one shortage cut it once. */
  #cutAt = Number.NEGATIVE_INFINITY
  /** Per-host limit a host starts at, the most it may grow to, and whether it grows on its own. */
  readonly #start: number
  readonly #max: number
  readonly #adaptive: boolean
  readonly #run: (task: T, host: string, slot: Slot) => Promise<void>
  #active = 0
  #queued = 0
  #stopped = false
  #onChange: () => void
  readonly #gate: HostGate | undefined
  readonly #onDrop: (task: T) => void
  readonly #spacing: (() => number) | undefined
  readonly #totalTimeout: number
  readonly #onPause: ((host: string, ms: number) => void) | undefined

  constructor(options: {
    concurrency: number
    /** A fixed per-host limit, or `auto`: start at `autoStart`, grow to `autoMax` while healthy. */
    perHost: number | 'auto'
    autoStart?: number
    autoMax?: number
    /** Runs a task; `host` is its own (listed) host, `slot` where it holds its slot (see `Slot`). */
    run: (task: T, host: string, slot: Slot) => Promise<void>
    /** Called whenever a task ends or the backlog shrinks. */
    onChange?: () => void
    /** A limit shared with other processes, consulted before each task starts (see `HostGate`). */
    gate?: HostGate
    /** A task the gate answered for only after `stop()`: it never ran and `stop()` did not return it. */
    onDrop?: (task: T) => void
    /** The least time between two starts on one host, ms, drawn at each start (see `Options.wait`). */
    spacing?: () => number
    /** A file's `--total-timeout`, ms: a limit grows only while bodies end well within it (see `roomToGrow`). */
    totalTimeout?: number
    /**
     * Told of each pause of a host (`pause`, and each host `pauseAll` covers), `ms` from now: its
     * requests already given their turn are held at the send too (see send-pauses.ts).
     */
    onPause?: (host: string, ms: number) => void
  }) {
    this.#onPause = options.onPause
    this.#totalTimeout = options.totalTimeout ?? Number.POSITIVE_INFINITY
    this.#spacing = options.spacing
    this.#concurrency = options.concurrency
    this.#limit = options.concurrency
    this.#adaptive = options.perHost === 'auto'
    this.#start = options.perHost === 'auto' ? (options.autoStart ?? 16) : options.perHost
    this.#max = options.perHost === 'auto' ? (options.autoMax ?? 128) : options.perHost
    this.#run = options.run
    this.#onChange = options.onChange ?? (() => {})
    this.#gate = options.gate
    this.#onDrop = options.onDrop ?? (() => {})
  }

  get active(): number {
    return this.#active
  }

  get queued(): number {
    return this.#queued
  }

  /**
   * Whether transfers could start that none of the queued tasks can take: the run has slots free,
   * but every host with queued work is at its limit or paused. More of the list, read on, may name
   * other hosts (a list sorted by host: the first host's thousands of URLs ahead of the next's).
   */
  get starved(): boolean {
    return !this.#stopped && this.#queued > 0 && this.#active < this.#limit && this.#ready.size === 0
  }

  #host(host: string): Host<T> {
    let state = this.#hosts.get(host)
    if (!state) {
      const learned = this.#learned.get(host)
      this.#learned.delete(host)
      // What it taught us comes back whole; only its pause, long over, does not.
      state = learned ?? {
        name: host,
        queue: new Fifo(),
        active: 0,
        running: 0,
        aimd: limitStart(this.#start),
        pausedUntil: 0,
        cutAt: 0,
        complained: false,
        heard: this.#answered.has(host),
        served: this.#answered.get(host) === true,
        servedSent: Number.NEGATIVE_INFINITY,
        freshSent: Number.NEGATIVE_INFINITY,
        unheard: { count: 0 },
        stalls: { count: 0 },
        hops: [],
        waitingAway: 0,
      }
      state.pausedUntil = 0
      this.#hosts.set(host, state)
      // A host first met (or met again) while a pause over many hosts lasts is held by it too.
      const now = performance.now()
      for (const hold of this.#holds)
        if (hold.until > now && hold.covers(host)) this.#hold(host, state, hold.until - now)
    }
    return state
  }

  add(host: string, task: T, front = false): void {
    const state = this.#host(host)
    if (front) state.queue.unshift(task)
    else state.queue.push(task)
    this.#queued++
    this.#refresh(host, state)
    this.#pump()
  }

  /**
   * A transfer found no file descriptor free (see `outOfDescriptors`): the run holds more sockets
   * and part files than `ulimit -n` allows. Halve what it starts at once, from what was running,
   * once a second at most (the transfers of one shortage fail together); each clean answer gives
   * one back. Hosts are not to blame: their limits stay.
   */
  shortOfDescriptors(): void {
    const now = performance.now()
    if (now - this.#cutAt < 1000) return
    this.#cutAt = now
    this.#limit = Math.max(1, Math.floor(Math.min(this.#limit, this.#active) / 2))
  }

  /**
   * The host answered cleanly (its time to first byte, ms): grow its limit towards the maximum,
   * when the limit was what held it: with fewer transfers running than it allows (too little work
   * left, the global limit, or other processes' share held by the gate), a clean answer shows
   * nothing about more (RFC 7661: a window is grown only while it is used). Called while the
   * answering task still runs; `sentAt`: when its request went out (`performance.now()`).
   */
  success(host: string, ttfb?: number, sentAt?: number, fresh = false): void {
    if (this.#limit < this.#concurrency) this.#limit++
    const state = this.#hosts.get(host)
    if (!state) return
    state.heard = true
    state.heardAt = state.servedAt = performance.now()
    // Every answer starts the count of silences again; new objects only where one began (a file's
    // success is the hot path).
    if (state.unheard.count > 0) state.unheard = { count: 0 }
    if (state.stalls.count > 0) state.stalls = { count: 0 }
    if (sentAt !== undefined) state.servedSent = Math.max(state.servedSent, sentAt)
    if (sentAt !== undefined && fresh) {
      state.freshSent = Math.max(state.freshSent, sentAt)
      // The host takes new connections: the resets in doubt from before this was sent were their URLs'.
      state.doubts = state.doubts?.filter((d) => doubtSettled(d, { served: sentAt }) === undefined)
    }
    state.served = true
    state.overlongAt = undefined
    state.overlongFiles = undefined
    const before = state.aimd.limit
    // Held by the limit all processes learned (its own too, or not): that one grows, as one run's.
    if (this.#learnedFull(state)) this.#gate?.grow?.(host, this.#max)
    if (state.running < before && !this.#ownFull(state)) return
    const a = state.aimd
    const slowStart = this.#adaptive && !a.cut && (a.ceiling === Number.POSITIVE_INFINITY || a.slowed)
    const room =
      sentAt === undefined || roomToGrow(performance.now() - sentAt, a.limit, this.#totalTimeout, slowStart)
    state.aimd = limitOnSuccess(a, this.#max, ttfb, this.#adaptive, room)
    // A gate that grows the learned limit itself (`grow`) is not told this process's own.
    if (state.complained && state.aimd.limit !== before && !this.#gate?.grow)
      this.#gate?.learn?.(host, state.aimd.limit)
  }

  /**
   * `host`'s bodies under way gave way to `keep` of them, what its link carries in the file's time
   * (see `giveWay`): its limit falls to that many, and those that gave way are sent again as the
   * others end. Not a complaint of the host's: no pause, nothing told to other processes.
   */
  sharedLink(host: string, keep: number): void {
    const state = this.#hosts.get(host)
    if (!state) return
    state.aimd = limitShared(state.aimd, keep)
    state.cutAt = performance.now()
    this.#refresh(host, state)
  }

  /**
   * A new connection to `host`, for a request sent at `sentAt` (`performance.now()`), was reset
   * or refused at the door while the host, which has answered nothing yet in this run, keeps open
   * another of its transfers sent before it (see `#awaited`): taken, its answer slow to come; or
   * (`answered`) was answered 503 or 429 so, the host having served no file yet. Such a host
   * turns connections away at its limit of them (nginx's `limit_conn`, a NAS behind a
   * router's cap, an Apache whose workers are all busy: ytdl-org/youtube-dl#14075,
   * rpm-software-management/librepo#100), so its limit falls to the transfers it holds
   * (`active`, this one's slot not counted; 1 at least) and its other files wait for one of those
   * slots instead of meeting the same door. Returns whether it did: the attempt is the host's
   * limit's, not the file's (see `Retries.failed`). A host down or a WAF turns each connection
   * away at once, the first sent first, so none is awaited then.
   */
  takenAtLimit(host: string, sentAt: number, answered: boolean): boolean {
    const state = this.#hosts.get(host)
    if (!state || (answered ? state.served : state.heard) || state.givenUp || !this.#awaited(state, sentAt))
      return false
    const taken = Math.max(1, state.active - 1)
    if (taken < state.aimd.limit) {
      state.aimd = limitShared(state.aimd, taken)
      this.#refresh(host, state)
    }
    return true
  }

  /**
   * As `takenAtLimit`, for the slots other processes sharing the gate hold (see `HostGate.crowded`):
   * `host`, silent yet to this run (or, `answered`, having served it nothing), turned away a
   * connection of a request sent at `sentAt` while another process holds a slot there taken
   * before it. Its limit here falls to the slots held over all of them, as does every process's.
   * Resolves to whether it did; false without such a gate, or once the run is stopped.
   */
  async takenElsewhere(host: string, sentAt: number, answered: boolean): Promise<boolean> {
    const state = this.#hosts.get(host)
    const gate = this.#gate
    if (!state || !gate?.crowded || (answered ? state.served : state.heard) || state.givenUp) return false
    const limit = await gate.crowded(host, sentAt, state.active - 1)
    if (!(limit > 0) || this.#stopped) return false
    if (limit < state.aimd.limit) {
      state.aimd = limitShared(state.aimd, limit)
      this.#refresh(host, state)
    }
    return true
  }

  /** The host answered, with an error status: it is no black hole (see `unanswered`). */
  heardFrom(host: string): void {
    const state = this.#hosts.get(host)
    if (!state) return
    state.heard = true
    state.heardAt = performance.now()
    if (state.unheard.count > 0) state.unheard = { count: 0 }
  }

  /**
   * Whether a request to `host` sent at `sentAt`, cut by the headers or idle timeout, met a silence
   * of its own path rather than of the host: the host served a file for a request sent after it.
   * A host whose load holds requests up holds them in turn; one that answers later requests while
   * an earlier one gets nothing has a handler that hangs on some paths (a backend behind one prefix
   * down, an image resized on the fly that never ends). Halving the limit for such timeouts queued
   * the host's other files, and the silent ones' own retries, one or two at a time.
   */
  pathSilence(host: string, sentAt: number): boolean {
    const state = this.#hosts.get(host)
    return state !== undefined && state.servedSent > sentAt
  }

  /**
   * What `host`'s other transfers say of a refusal (ECONNREFUSED) of one of its own, sent at
   * `sentAt`: how many others are in flight (`others`), whether it served a file in this run
   * (`served`: with others, a limit of connections, see `refusedAtLimit`), whether one of them has
   * held its slot since `ACCEPTED_MS` before that (`accepted`: a host down refuses each at once, in
   * the order they came, so one sent before still waiting was taken), and when the latest-sent
   * request it served a file for was sent (`servedSent`, see `crowdedCredit`).
   */
  crowding(
    host: string,
    sentAt: number,
  ): { others: number; served: boolean; accepted: boolean; servedSent: number } {
    const state = this.#hosts.get(host)
    // The slot held longest: if it was not taken in time, none was.
    const oldest = state?.oldest?.since
    return {
      others: state === undefined ? 0 : state.active - 1,
      served: state?.served ?? false,
      accepted: oldest !== undefined && oldest < sentAt - ACCEPTED_MS,
      servedSent: state?.servedSent ?? Number.NEGATIVE_INFINITY,
    }
  }

  /**
   * A new connection to `host`, for a request sent at `sentAt` (`performance.now()`), was reset or
   * closed before any answer (see `isTurnedAway`); `resetBefore`: when the same URL was last turned
   * away so in this run. Read by `resetReading`: the host's is a complaint (see `pressure`, whose
   * answer this returns); the URL's is none; one in doubt is held until `doubtSettled` says whose
   * it was, and counted then if the host's. Which came first, a retry's reset or the file served
   * on a new connection that proves the host takes them, is down to timing: on a loaded machine
   * the retries of 20 paths a WAF resets, at the head of 200 files, came before it, and the host's
   * limit was cut to 1 or 2 in 2 runs of 5.
   */
  resetAtDoor(host: string, sentAt: number, resetBefore: number | undefined): Pressure | undefined {
    const state = this.#hosts.get(host)
    if (!state) return undefined
    const reading = resetReading({ resetBefore, freshSent: state.freshSent })
    if (reading === 'url') return undefined
    if (reading === 'doubt') {
      state.doubts ??= []
      if (state.doubts.length >= DOUBTS) state.doubts.shift()
      state.doubts.push({ sentAt, resetBefore: resetBefore!, at: performance.now() })
      return undefined
    }
    // Another URL turned away at the door: the doubts from before it was sent were the host's.
    const settled = state.doubts?.filter((d) => doubtSettled(d, { turnedAway: sentAt }) === 'host') ?? []
    if (settled.length > 0) state.doubts = state.doubts?.filter((d) => !settled.includes(d))
    for (const d of settled) this.pressure(host, d.sentAt, true)
    return this.pressure(host, sentAt, true)
  }

  /**
   * A request to `host`, sent at `sentAt`, was cut by the connect or headers timeout, no answer at
   * all. Counted only when sent after the host's last answer (every answer starts the count
   * again): `SILENT_AFTER` in a row, one of them sent after the first was cut, and it is given up
   * (see `SILENT_AFTER`), a host that answered before as one that never did. A host that served
   * its first files and then went silent (a server hung behind a balancer that still accepts, a
   * ban that drops the packets) otherwise cost each of its other files its attempts times the
   * timeout, one at a time. `pathSilent`: the request's file met a silence of its own path before
   * (see `pathSilence`): its retries say nothing of the host.
   */
  unanswered(host: string, sentAt: number, pathSilent = false): void {
    const state = this.#hosts.get(host)
    if (!state || state.givenUp || pathSilent || sentAt < (state.heardAt ?? Number.NEGATIVE_INFINITY)) return
    if (!lengthens(state.unheard, sentAt, performance.now())) return
    const cut = '(each cut by the connect or headers timeout)'
    const since = state.heard ? ' since its last answer' : ''
    this.#silent(host, state, {
      code: 'timeout',
      why: `${host} answered none of the ${state.unheard.count} requests this run sent it${since} ${cut}`,
      shared: `${host} answered none of the ${state.unheard.count} requests a worker's run sent it${since} ${cut}`,
    })
  }

  /**
   * A request to `host`, sent at `sentAt`, had its body stop for the idle timeout without moving
   * its file forward. Counted only when sent after the last file the host served (each file
   * served starts the count again): `SILENT_AFTER` in a row, one of them sent after the first was
   * cut, and it is given up (see `SILENT_AFTER`), as `unanswered` gives up a host gone silent
   * (`pathSilent` as there).
   */
  stalled(host: string, sentAt: number, pathSilent = false): void {
    const state = this.#hosts.get(host)
    if (!state || state.givenUp || pathSilent || sentAt < (state.servedAt ?? Number.NEGATIVE_INFINITY)) return
    if (!lengthens(state.stalls, sentAt, performance.now())) return
    const stopped = `stopped for the idle timeout, none moving its file forward`
    const since = state.served ? 'since its last file' : 'this run'
    this.#silent(host, state, {
      code: 'timeout',
      why: `${host} served no file ${since}: the bodies of ${state.stalls.count} requests in a row ${stopped}`,
      shared: `${host} served no file ${state.served ? since : "to a worker's run"}: the bodies of ${state.stalls.count} requests in a row ${stopped}`,
    })
  }

  /**
   * A file failed for good on `host`, its last attempt out of reach (`code` and `cause`: its
   * error's and its cause's codes, see `outOfReachWords`). A host that has answered nothing in this run is then given
   * up, as an unreachable proxy is: that file's retries waited out a restart (at least half of
   * each backoff window, 7.75 s at the defaults: see `REFUSED_LEAST`), so each other file would
   * spend its own on the same refusal (1,000 files on a dead host took 22.6 s and 6,000
   * connections). Not while a transfer of the host sent before this file's last attempt (at
   * `sentAt`) is still in flight (see `#awaited`). Returns the words that say why, for that
   * file's message, also for a file whose last attempt was sent before another file gave the host
   * up so (they say the same); `undefined` when the host is not given up so (it answered once,
   * one of its transfers is awaited, the failure is another, or it was given up for another
   * reason).
   */
  outOfReach(host: string, code: ImgpullCode, cause: string, sentAt: number): string | undefined {
    const state = this.#hosts.get(host)
    const words = outOfReachWords(code, cause)
    if (!state || words === undefined) return undefined
    if (state.givenUp) return state.unreached
    if (state.heard || this.#awaited(state, sentAt)) return undefined
    state.unreached = words
    const why = `no request this run reached ${host} (${words})`
    // Through a proxy, it is out of reach from that proxy: not told to the processes sharing the
    // gate, which may reach it another way.
    if (code === 'proxy') state.givenUp = { code, why }
    else
      this.#silent(host, state, {
        code,
        why,
        shared: `no request a worker's run made reached ${host} (${words})`,
      })
    return words
  }

  /**
   * A file of `host` failed `tls` with its own certificate or handshake (`message`: its words): once
   * `TLS_FILES` have, and it has answered nothing this run, it is given up for this run alone (a
   * worker sharing the gate may trust another CA). The same certificate meets every file: each
   * opened its own connection and failed so, one line each (2,000 files took 35 s; a list of a
   * million, hours). More than one file, each on its own connection, as a load balancer may have
   * one node with a stale certificate. Returns the words that file's message adds then.
   */
  tlsRefused(host: string, message: string): string | undefined {
    return this.#tally(host, 'tlsFiles', TLS_FILES, 'heard', (state) => {
      state.givenUp = { code: 'tls', why: message }
      return `; ${TLS_FILES} of its files failed so, none served: its other files are not tried in this run`
    })
  }

  /**
   * A file of `host` failed for good, its last attempt a new connection the host reset or closed
   * before any answer (`cause`: the error's code, ECONNRESET...): once `RESET_FILES` have, and it
   * has answered nothing this run, it is given up, as a host that refuses every connection is
   * (see `outOfReach`). A WAF that resets every connection of a client it blocks (its TLS
   * fingerprint, its User-Agent: webperf_core#1470, Atlas#13) met each file's every attempt: 200
   * files took 1,200 connections. Not while a transfer of the host sent before this file's last
   * attempt (at `sentAt`) is still in flight (see `#awaited`): the file is counted, and a later
   * one, none sent before it awaited, gives the host up. Returns the words that file's message
   * adds then.
   */
  turnedAway(host: string, cause: string, sentAt: number): string | undefined {
    return this.#tally(host, 'resetFiles', RESET_FILES, 'heard', (state) => {
      if (this.#awaited(state, sentAt)) return undefined
      const what = `${RESET_FILES} of its files spent their retries on connections it reset or closed before any answer`
      this.#silent(host, state, {
        code: 'network',
        why: `${host} answered no request this run: ${what} (${cause})`,
        shared: `${host} answered no request a worker's run sent it: ${what} (${cause})`,
      })
      return `; ${what}, none answered: its other files are not tried in this run`
    })
  }

  /**
   * A file of `host` failed for good at its total timeout, its body trickling in (see
   * `trickledOut`): once `TRICKLE_FILES` have, and the host has served no file this run, it is
   * given up (a tarpit, a link too poor for its files: a longer --total-timeout is the remedy), as
   * a host whose bodies stop is for the idle timeout (see `stalled`). Its limit is never cut by
   * such files (no sign of load), so each file held its slot for the whole total timeout, 16 at a
   * time: 1,000 files on such a host took about 10 hours with the defaults. Returns the words that
   * file's message adds then.
   */
  trickled(host: string, total: string): string | undefined {
    return this.#tally(host, 'trickles', TRICKLE_FILES, 'served', (state) => {
      const past = `trickled in past the total timeout (${total}), none ending`
      this.#silent(host, state, {
        code: 'timeout',
        why: `${host} served no file this run: the bodies of ${TRICKLE_FILES} of its files ${past}`,
        shared: `${host} served no file to a worker's run: the bodies of ${TRICKLE_FILES} of its files ${past}`,
      })
      return `; ${TRICKLE_FILES} of its files trickled in so, none served: its other files are not tried in this run`
    })
  }

  /**
   * One more file of `host` failed for good the way `field` counts (see `tlsRefused`, `turnedAway`,
   * `trickled`): once `limit` have, `giveUp` gives the host up and returns the words that file's
   * message adds (`undefined`: not yet, the next file asks again). Nothing counted, and
   * undefined, for a host unknown, already given up, or that has `since` this run (answered
   * anything: `heard`; served a file: `served`).
   */
  #tally(
    host: string,
    field: 'tlsFiles' | 'resetFiles' | 'trickles',
    limit: number,
    since: 'heard' | 'served',
    giveUp: (state: Host<T>) => string | undefined,
  ): string | undefined {
    const state = this.#hosts.get(host)
    if (!state || state[since] || state.givenUp) return undefined
    const count = (state[field] ?? 0) + 1
    state[field] = count
    return count < limit ? undefined : giveUp(state)
  }

  /**
   * Another transfer of `state`'s holds a slot there taken no later than `sentAt`, when the
   * caller's failed attempt was sent (the caller's own slot, taken before that too, is the other
   * one counted): sent before it and still in flight, neither answered nor turned away, while the
   * host turned that attempt away. A host down, or a WAF that resets every connection, turns each
   * away within a moment, so the transfer sent first fails first; one that keeps it open has taken
   * it, its answer slow to come, and turns the others away at its limit of connections (nginx's
   * `limit_conn`, a NAS behind a router's cap). Such a host, 4 connections taken, the rest reset,
   * its answers 1.5 s away, was given up for the resets before its first answer came: its files
   * sent with the first taken (`--retries 0`), or retried soon after them (the 100 ms of
   * `crowding`'s `accepted` not yet past), were read as a WAF's, and its other files not tried.
   * Walks two slots at most: the slots are held in the order they were taken.
   */
  #awaited(state: Host<T>, sentAt: number): boolean {
    const first = state.oldest
    return (
      first?.since !== undefined &&
      first.since <= sentAt &&
      (first.next?.since ?? Number.POSITIVE_INFINITY) <= sentAt
    )
  }

  /** `host` is given up for its silence: for this run, and for `SILENT_SHARED_MS` by the processes sharing the gate. */
  #silent(host: string, state: Host<T>, givenUp: GivenUp): void {
    state.givenUp = givenUp
    this.#gate?.giveUp?.(host, givenUp, SILENT_SHARED_MS)
  }

  /**
   * `host` named a wait longer than imgpull takes (see `outlasts` in retry-policy.ts) to a
   * request for `file` sent at `sentAt`: whether it had done so before, to a request sent after
   * that (so after the shorter wait taken instead), with no file served between, and to
   * `OVERLONG_FILES` files. Notes this one.
   */
  overlong(host: string, sentAt: number, file: string): boolean {
    const state = this.#hosts.get(host)
    if (!state) return false
    const again = state.overlongAt !== undefined && sentAt > state.overlongAt
    state.overlongAt ??= performance.now()
    state.overlongFiles ??= new Set()
    if (state.overlongFiles.size < OVERLONG_FILES) state.overlongFiles.add(file)
    return again && state.overlongFiles.size >= OVERLONG_FILES
  }

  /**
   * Fail `host`'s files without a request for the rest of the run, saying why; the processes
   * sharing the gate, for `ms` (see `HostGate.giveUp`).
   */
  giveUp(host: string, givenUp: GivenUp, ms: number): void {
    const state = this.#hosts.get(host)
    if (!state || state.givenUp) return
    state.givenUp = givenUp
    this.#gate?.giveUp?.(host, givenUp, ms)
  }

  /**
   * Why `host` is given up for the run (`SILENT_AFTER` requests unanswered, or a wait it named
   * again that is longer than imgpull takes): its files then fail without a request, and a rerun
   * tries them again. `undefined` while it is not.
   */
  givenUp(host: string): GivenUp | undefined {
    return (this.#hosts.get(host) ?? this.#learned.get(host))?.givenUp
  }

  /**
   * The host is overloaded or rate-limiting: halve its limit, once per round trip (as TCP does):
   * a burst of 429s for requests `sentAt` before the last cut counts as one complaint. Returns
   * what this complaint did: `first` for the host's first complaint, or its first cut (we were
   * sending it far too much), a later `cut` (fewer transfers at once is the remedy), or found the
   * limit at its `floor` already (one at a time and still too much: only time helps), or nothing.
   */
  pressure(host: string, sentAt: number, rateLimited: boolean): Pressure | undefined {
    const state = this.#hosts.get(host)
    if (!state || sentAt < state.cutAt) return undefined
    const first = !state.complained
    state.complained = true
    const before = state.aimd
    state.aimd = limitOnPressure(state.aimd, rateLimited)
    // One at a time and still a complaint: each one is, with no share of a window to wait for.
    if (before.limit <= 1 && !first) {
      state.cutAt = performance.now()
      return 'floor'
    }
    // A cut clears the count of complaints; any other complaint leaves at least itself counted.
    if (state.aimd.strikes > 0) return first ? 'first' : undefined
    state.cutAt = performance.now()
    // Told to every process: half of what the host had over all of them (`cut`); a gate without it
    // is told no more than this one had running (a gate may have held it below its own limit, and
    // the halved limit would then be more than the host took).
    if (this.#gate?.cut) this.#gate.cut(host, performance.now() - sentAt, rateLimited)
    else {
      const ran = this.#ownFull(state) ? state.aimd.limit : Math.min(state.aimd.limit, state.running)
      this.#gate?.learn?.(host, Math.max(1, ran))
    }
    // Its first cut only: a 503 sets no ceiling, and each cut of a host at its limit of connections
    // paused it (half a second idle for every refusal's worth of overshoot).
    return first || (before.ceiling === Number.POSITIVE_INFINITY && !before.cut) ? 'first' : 'cut'
  }

  /**
   * `host` served a file and said its rate-limit quota is now spent, for `ms` more (see
   * `quotaResetAfterServed`): paused that long, as a refusal would have it, once the host has
   * complained in this run (it does refuse past its quota: a server whose headers say 0 left and
   * go on serving is not held to them, one file a reset).
   */
  quotaSpent(host: string, ms: number): void {
    if (this.#hosts.get(host)?.complained) this.pause(host, ms)
  }

  /**
   * Start nothing on `host` for `ms` (its `Retry-After`), and send nothing of what started before
   * (`onPause`); other hosts go on, and the gate (when there is one) pauses the host for every
   * process that shares it. The pause ends when its
   * timer fires, not when a clock says so: a Node timer may fire a little before `Date.now()` (or
   * even `performance.now()`) reaches the deadline it was set for, and a wake-up that re-checked a
   * clock and found it early, with nothing re-armed, would stall the host (and the run) for good.
   * `heard`: the gate told of it (another process's pause), so it is not told to the gate again;
   * one of a host this run holds nothing of is left to the gate's next answer (the pauses of all
   * hosts of all workers, kept and sent to each transfer thread, would only grow).
   */
  pause(host: string, ms: number, heard = false): void {
    if (ms <= 0 || (heard && !this.#hosts.has(host))) return
    if (!heard) this.#gate?.pause(host, ms)
    this.#onPause?.(host, ms)
    const state = this.#hosts.get(host)
    if (state) this.#hold(host, state, ms)
  }

  /** Pauses over every host `covers` says (see `pauseAll`), until `performance.now()` reaches `until`. */
  #holds: { covers: (host: string) => boolean; until: number }[] = []

  /**
   * Start nothing for `ms` on any host `covers` says, those first met before then too: what all
   * of them go through asked for a wait (an HTTP proxy's 429 to a CONNECT, or its 503 with
   * `Retry-After`: a rotating proxy past its limit; see `proxyLimitWait`). This process's alone: the gate is told of
   * no pause (other processes meet the proxy's refusal once each, and hold themselves).
   */
  pauseAll(covers: (host: string) => boolean, ms: number): void {
    if (ms <= 0) return
    const now = performance.now()
    this.#holds = this.#holds.filter((hold) => hold.until > now)
    this.#holds.push({ covers, until: now + ms })
    for (const [host, state] of this.#hosts)
      if (covers(host)) {
        this.#hold(host, state, ms)
        this.#onPause?.(host, ms)
      }
  }

  #hold(host: string, state: Host<T>, ms: number): void {
    const until = performance.now() + ms
    if (until <= state.pausedUntil) return
    state.pausedUntil = until
    this.#held.add(state)
    this.#ready.delete(host)
    clearTimeout(state.wake)
    state.wake = setTimeout(() => {
      state.wake = undefined
      state.pausedUntil = 0
      this.#held.delete(state)
      this.#serveHops(state)
      this.#refresh(host, state)
      this.#pump()
      // Held with nothing left (its last start's --wait): the host leaves the map as after its last task.
      if (this.#hosts.get(host) === state) this.#forgetIdle(host, state)
    }, ms)
  }

  /** Whether the scheduler holds anything of `host`: work queued, running or waiting, or a pause. */
  knows(host: string): boolean {
    return this.#hosts.has(host)
  }

  /**
   * When the last pause of a host with files waiting on it ends (`performance.now()`), 0 when none:
   * those files are not done before then (a progress ETA).
   */
  heldUntil(): number {
    let last = 0
    for (const state of this.#held)
      if (state.pausedUntil > 0 && state.queue.size > 0) last = Math.max(last, state.pausedUntil)
    return last
  }

  /**
   * How many hosts the scheduler holds state for: `hosts` with work queued, running or waiting;
   * `learned` and `answered`, idle ones remembered (each at most 10,000). For tests: a list of
   * one file per host must not grow these with the hosts seen.
   */
  held(): { hosts: number; learned: number; answered: number; ready: number; paused: number } {
    return {
      hosts: this.#hosts.size,
      learned: this.#learned.size,
      answered: this.#answered.size,
      ready: this.#ready.size,
      paused: this.#held.size,
    }
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
      for (const waiter of state.hops.splice(0)) waiter.grant(false)
    }
    this.#hopping.clear()
    this.#held.clear()
    for (const wake of [...this.#sleepers]) wake()
    this.#ready.clear()
    this.#queued = 0
    return dropped
  }

  /** Whether `state` may take one more transfer now. */
  #open(state: Host<T>): boolean {
    return !this.#stopped && state.active < state.aimd.limit && state.pausedUntil === 0
  }

  /** Hosts with redirected tasks waiting for a slot. */
  readonly #hopping = new Set<Host<T>>()

  /** Give free slots to the tasks redirected here first: they are under way already. */
  #serveHops(state: Host<T>): void {
    if (state.hops.length === 0) return
    while (state.hops.length > 0 && this.#open(state) && this.#active < this.#limit) {
      state.active++
      this.#active++
      this.#spaced(state)
      state.hops.shift()!.grant(true)
    }
    if (state.hops.length === 0) this.#hopping.delete(state)
  }

  #refresh(host: string, state: Host<T>): void {
    const ready =
      state.queue.size > 0 &&
      state.hops.length === 0 &&
      this.#open(state) &&
      state.waitingAway < AWAY * state.aimd.limit
    if (ready) this.#ready.add(host)
    else this.#ready.delete(host)
  }

  /**
   * The ready host whose turn it is: of the first `FAIR_SCAN` in turn order, the one with the
   * fewest transfers under way (the first of them at a tie). A slot a host's answer frees goes to
   * the host holding fewest, so a slow host cannot gather every slot of the run, one at a time, as
   * its transfers outlast the others' (turn order alone gave a freed slot to whichever host came
   * first: at `-c 8`, a host taking 1 s a file held all 8, and a fast host's 200 files took 8.6 s
   * beside it, 1.7 s since). A host with none under way is taken at once.
   */
  #nextHost(): string {
    let best: string | undefined
    let fewest = Number.POSITIVE_INFINITY
    let seen = 0
    for (const host of this.#ready) {
      const active = this.#hosts.get(host)!.active
      if (active < fewest) {
        best = host
        fewest = active
        if (active === 0) break
      }
      if (++seen >= FAIR_SCAN) break
    }
    return best as string
  }

  #pump(): void {
    for (const state of this.#hopping) this.#serveHops(state)
    while (this.#active < this.#limit && this.#ready.size > 0) {
      const host = this.#nextHost()
      const state = this.#hosts.get(host)!
      const task = state.queue.shift() as T
      this.#queued--
      state.active++
      this.#active++
      // Re-adding moves the host to the back of the line: hosts take turns.
      this.#ready.delete(host)
      this.#refresh(host, state)
      this.#spaced(state)
      // A host given up fails its files without a request: no slot to ask the gate for.
      if (this.#gate && !state.givenUp) this.#gated(task, host, state, this.#gate)
      else this.#launch(task, host, state)
    }
  }

  /**
   * A request starts on the host: with `--wait`, nothing more starts on it for the gap drawn now (a
   * host that answers 429 once, say, 30 requests a minute takes them spaced, not in bursts).
   */
  #spaced(state: Host<T>): void {
    // A host given up fails its files without a request: nothing to space.
    state.gap = state.givenUp ? undefined : this.#spacing?.()
    if (state.gap) this.#hold(state.name, state, state.gap)
  }

  /**
   * With `--wait`, the ms a task that holds a slot on `host` must still wait before its request
   * goes out, and its turn taken: the starts are spaced when slots are given, but a task may then
   * wait for its turn elsewhere (transfer threads starting, the transform stage full) and go out
   * together with those given after it; this keeps what the host sees spaced. 0 without a wait.
   * `drawn` is told the gap, ms, that follows this turn, for the send to leave after it too (see
   * host-sends.ts: what is sent late after its turn is held there).
   */
  turn(host: string, drawn?: (gap: number) => void): number {
    const state = this.#hosts.get(host)
    if (!this.#spacing || !state) return 0
    const now = performance.now()
    const at = Math.max(now, state.nextSend ?? 0)
    // The gap drawn when the slot was given: a second draw would space sends by the longer of two
    // (`--wait 2-4` near 3.3 s on average, not 3).
    const gap = state.gap ?? this.#spacing()
    state.nextSend = at + gap
    drawn?.(gap)
    return at - now
  }

  #launch(task: T, host: string, state: Host<T>, release?: () => void): void {
    const held: Held = {
      listed: host,
      host,
      state: state as Host<unknown>,
      release,
      global: true,
      running: true,
    }
    take(state as Host<unknown>, held)
    state.running++
    const slot: Slot = {
      get host() {
        return held.host
      },
      move: (origin, cancel) => this.#move(held, origin, cancel),
    }
    this.#run(task, host, slot).finally(() => this.#letGo(held))
  }

  /** The task gives up all it holds: its host slot, and its place in the global limit. */
  #letGo(held: Held): void {
    this.#leave(held)
    if (!held.global) return
    held.global = false
    this.#ended()
  }

  /** The task lets go of the host slot it holds (it ended, or a redirect took it elsewhere). */
  #leave(held: Held): void {
    held.release?.()
    held.release = undefined
    const state = held.state as Host<T> | undefined
    held.state = undefined
    if (!state) return
    untake(state as Host<unknown>, held)
    state.active--
    if (held.running) state.running--
    held.running = false
    this.#serveHops(state)
    this.#refresh(held.host, state)
    this.#forgetIdle(held.host, state)
  }

  /**
   * A host with nothing queued, running or waiting leaves the map (a list of millions of hosts
   * holds no state for those done). One that complained leaves what it taught us behind, in a
   * bounded map: its last jobs sleeping out a backoff or a `Retry-After` (the host is idle
   * meanwhile) would otherwise come back to a host at the starting limit, all at once, and draw
   * the same refusals again, round after round, until some failed for good.
   */
  #forgetIdle(host: string, state: Host<T>): void {
    if (
      state.queue.size === 0 &&
      state.active === 0 &&
      state.hops.length === 0 &&
      state.waitingAway === 0 &&
      !state.wake
    ) {
      this.#hosts.delete(host)
      if (state.heard && !state.complained) {
        this.#answered.delete(host)
        this.#answered.set(host, state.served)
        if (this.#answered.size > REMEMBERED)
          this.#answered.delete(this.#answered.keys().next().value as string)
      }
      // A host given up stays so for the run, whatever its next files' place in the list.
      if (!state.complained && !state.givenUp) return
      // Kept whole, but for its drained queue's arrays (a backlog's worth of empty slots).
      state.queue = new Fifo()
      state.hops = []
      this.#learned.set(host, state)
      if (this.#learned.size > REMEMBERED) this.#learned.delete(this.#learned.keys().next().value as string)
    }
  }

  /** One more (`+1`) or one fewer (`-1`) of `listed`'s tasks waits at a redirect's target. */
  #waitingAway(listed: string, change: 1 | -1): void {
    const state = change > 0 ? this.#host(listed) : this.#hosts.get(listed)
    if (!state) return
    state.waitingAway = Math.max(0, state.waitingAway + change)
    this.#refresh(listed, state)
    if (change > 0) return
    this.#forgetIdle(listed, state)
    // The host may start again: after what is under way now (this runs inside #serveHops).
    this.#pumpSoon()
  }

  #pumpQueued = false

  /** Pump once the current call stack is done. */
  #pumpSoon(): void {
    if (this.#pumpQueued) return
    this.#pumpQueued = true
    queueMicrotask(() => {
      this.#pumpQueued = false
      this.#pump()
    })
  }

  /** A task ended (or never started): its global slot is free. */
  #ended(): void {
    this.#active--
    this.#pump()
    this.#onChange()
  }

  async #move(held: Held, origin: string, cancel?: Cancel): Promise<boolean> {
    if (origin === held.host && held.state) return true
    for (;;) {
      // Nothing held while waiting: the slots go to other tasks meanwhile.
      this.#letGo(held)
      held.host = origin
      if (this.#stopped || cancel?.aborted) return false
      const state = this.#host(origin)
      const granted = await new Promise<boolean>((resolve) => {
        let undo = () => {}
        const waiter: HopWaiter = {
          grant: (ok) => {
            undo()
            this.#waitingAway(held.listed, -1)
            resolve(ok)
          },
        }
        this.#waitingAway(held.listed, 1)
        state.hops.push(waiter)
        this.#hopping.add(state)
        this.#serveHops(state)
        this.#refresh(origin, state)
        if (state.hops.indexOf(waiter) === -1) return
        // Cancelled while waiting: out of the line, holding nothing.
        undo = whenCancelled(cancel, () => {
          const at = state.hops.indexOf(waiter)
          if (at === -1) return
          state.hops.splice(at, 1)
          if (state.hops.length === 0) this.#hopping.delete(state)
          this.#waitingAway(held.listed, -1)
          this.#refresh(origin, state)
          this.#forgetIdle(origin, state)
          resolve(false)
          this.#pump()
        })
      })
      if (!granted) return false
      held.state = state as Host<unknown>
      take(state as Host<unknown>, held)
      held.global = true
      const run = () => {
        held.running = true
        state.running++
        return true
      }
      if (!this.#gate || state.givenUp) return run()
      const grant = this.#elsewhere(
        state,
        await this.#gate
          .acquire(origin, this.#gateLimit(state), state.gap, state.served)
          .catch(() => ({ retryIn: GATE_RETRY_MS })),
      )
      if ('givenUp' in grant) {
        // Given up by another process: the transfer holds the slot only to fail, no request sent.
        if (!this.#stopped) return run()
        continue
      }
      if ('release' in grant) {
        held.release = grant.release
        if (!this.#stopped) return run()
        continue // stopped meanwhile: let it all go, and say so
      }
      // The host is full or paused elsewhere: let the slots go, wait, and ask again.
      this.#letGo(held)
      if (cancel?.aborted || !(await this.#sleep(Math.max(1, grant.retryIn), cancel))) return false
    }
  }

  /**
   * The gate's answer as this run takes it: a host another process gave up (its view: a WAF that
   * bans its address, a route only it lacks) is given up here too, unless transfers of this run's
   * are in flight there, whose answers tell whether it reaches this one: then ask again shortly
   * (once one is answered, the gate is told so: see `HostGate.acquire`'s `reached`).
   */
  #elsewhere<G extends object>(
    state: Host<T>,
    grant: G | { givenUp: GivenUp },
  ): G | { givenUp: GivenUp } | { retryIn: number } {
    if (!('givenUp' in grant) || state.givenUp) return grant
    if (state.running > 0) return { retryIn: ELSEWHERE_POLL_MS }
    state.givenUp = grant.givenUp
    return grant
  }

  /** Wakes of the sleeps under way (see #sleep): a stop ends them all. */
  readonly #sleepers = new Set<() => void>()

  /** Wait `ms`: `true` when waited out, `false` at once when `cancel` fires or the run stops. */
  #sleep(ms: number, cancel?: Cancel): Promise<boolean> {
    return new Promise((resolve) => {
      const end = (waited: boolean) => {
        clearTimeout(timer)
        this.#sleepers.delete(stop)
        undo()
        resolve(waited)
      }
      const stop = () => end(false)
      const timer = setTimeout(() => end(true), ms)
      this.#sleepers.add(stop)
      const undo = whenCancelled(cancel, stop)
    })
  }

  /**
   * Whether the gate found the host full at this process's own limit within the last second: the
   * limit is in use over all processes, each running its share (see `success`).
   */
  #ownFull(state: Host<T>): boolean {
    return state.ownFullAt !== undefined && performance.now() - state.ownFullAt < OWN_FULL_MS
  }

  /** Whether the gate found the host full at the limit the processes learned, lately (see `grow`). */
  #learnedFull(state: Host<T>): boolean {
    return state.learnedFullAt !== undefined && performance.now() - state.learnedFullAt < OWN_FULL_MS
  }

  /**
   * What a host may take over all the processes sharing the gate: with `auto`, while the host has
   * never complained nor slowed down, the most one run would ever give it (`autoMax`), each process
   * keeping to its own limit within that; once it has, this process's adapted limit, so the host is
   * held to it over all of them. A fixed `perHost` is a total over all of them.
   */
  #gateLimit(state: Host<T>): number {
    return this.#adaptive && state.aimd.ceiling === Number.POSITIVE_INFINITY ? this.#max : state.aimd.limit
  }

  /**
   * The task holds its slots here while the gate answers. Refused (the host is full or paused
   * elsewhere): the task goes back to the front of its host's line and the host waits `retryIn`.
   * An answer that comes after `stop()` starts nothing: the task is dropped.
   */
  #gated(task: T, host: string, state: Host<T>, gate: HostGate): void {
    gate
      .acquire(host, this.#gateLimit(state), state.gap, state.served)
      .catch(() => ({ retryIn: GATE_RETRY_MS }))
      .then((told) => {
        const grant = this.#elsewhere(state, told)
        if (this.#stopped) {
          if ('release' in grant) grant.release()
          this.#onDrop(task)
          this.#leave({ listed: host, host, state: state as Host<unknown>, release: undefined, global: true })
          this.#ended()
          return
        }
        if ('release' in grant) {
          this.#launch(task, host, state, grant.release)
          return
        }
        if ('givenUp' in grant) {
          // Given up by another process: the task fails without a request (see `givenUp`).
          this.#launch(task, host, state)
          return
        }
        if ('ownLimit' in grant && grant.ownLimit) state.ownFullAt = performance.now()
        else if ('ownLimit' in grant && grant.ownLimit === false) state.learnedFullAt = performance.now()
        state.queue.unshift(task)
        this.#queued++
        this.#hold(host, state, Math.max(1, grant.retryIn))
        this.#leave({ listed: host, host, state: state as Host<unknown>, release: undefined, global: true })
        this.#ended()
      })
  }
}
