import { rmSync } from 'node:fs'
import { unlink } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ErrorCode } from '../error-codes.js'
import { FatalError, HTTPError, type ImgpullError, UsageError } from '../errors.js'
import { AnswersOnce } from '../fetch/answers-once.js'
import { classify } from '../fetch/classify.js'
import { proxyTls } from '../fetch/client.js'
import { type Downloaded, download } from '../fetch/download.js'
import { Cancel } from '../fetch/exchange.js'
import { HostSends } from '../fetch/host-sends.js'
import { ifRangeValue, WRAPS_RANGES } from '../fetch/judge.js'
import { proxyPlan } from '../fetch/proxy.js'
import { ProxySilence } from '../fetch/proxy-silence.js'
import { honouredWait } from '../fetch/retry-delay.js'
import { keepsPart } from '../fetch/retry-policy.js'
import { Scheduler, type Slot } from '../fetch/scheduler.js'
import { SendPauses } from '../fetch/send-pauses.js'
import type { TransferThreads } from '../fetch/transfer-threads.js'
import type { Dispatcher } from '../fetch/undici.js'
import type { Journal } from '../journal/journal.js'
import type { Layout } from '../layout.js'
import { drawWait, type ResolvedOptions, userAgentOf } from '../options.js'
import { type Outcome, resultOf } from '../outcome.js'
import { judgedAgainst, type Limits } from '../plan/judged-against.js'
import { planJob, type Task, transformedPart } from '../plan/planner.js'
import { jobOf } from '../plan/source-item.js'
import { goneFolder, isFatalLocal } from '../sinks/local-faults.js'
import type { WebDatasetSink } from '../sinks/webdataset/sink.js'
import type { TransformPool } from '../transform/pool.js'
import { needsPool, pixelLimit } from '../transform/spec.js'
import type { Result, RunStats, Source, Validators } from '../types.js'
import { Channel } from '../utils/channel.js'
import { printable } from '../utils/printable.js'
import { steadyNow } from '../utils/steady-clock.js'
import { shownUrl } from '../utils/url.js'
import { isSharePageFailure } from '../verify/share-page.js'
import { AttemptDeadline } from './deadline.js'
import { HostBodies } from './host-bodies.js'
import { journalCutPart } from './keep-part.js'
import { Publishing } from './publish.js'
import { answered, BODY_FAULTS, Retries } from './retry.js'
import { HostSampler } from './sampler.js'
import { fault, stopFault } from './stop-fault.js'
import { OnceWarnings } from './warnings.js'

/** A body is weighed with its host's others this share of `--total-timeout` in (see `giveWay`). */
const WEIGH_AT = 1 / 4

/** Jobs read ahead of the transfers: enough to keep every host busy, bounded for memory. */
const READ_AHEAD = 2_000
/**
 * Jobs read ahead while every queued one waits on a host at its limit (or paused) and the run has
 * slots free (see `Scheduler.starved`): a list sorted by host reaches the next host's URLs while
 * the first's are queued, rather than once all but 2,000 of them are done. About 0.8 KB a job:
 * a list of one host is starved so while `--per-host auto` grows from 16, and 20,000 took the
 * peak RSS of 100,000 URLs of one host from 177 to 190 MB (`bench/memory.ts --input list --rows
 * 100000`); at 8,000 it was 178 MB against 179 in the same run.
 */
const READ_AHEAD_STARVED = 8_000

/**
 * Results the caller has not taken yet past which no more jobs are read: a caller slower than the
 * transfers (a database insert a result) would otherwise hold every result of the list at once
 * (24,000 results at 1 ms each: 27 MB more, about 700 bytes a URL). Jobs already queued still run.
 */
let resultsAhead = 2_000

/** Hold at most `count` results a caller has not taken (tests use a few; see `resultsAhead`). */
export function holdResults(count: number): void {
  resultsAhead = count
}

/** Longest wait, in ms, for transfers in flight to land after a stop (see `Engine.unread`). */
const UNREAD_WAIT_MS = 30_000

/** The name template of webdataset runs: names are the journal's only (samples are named by key). */
const DATASET_NAMES = '{hash}{ext}'
/**
 * One run's pipeline: reads the source, plans each job, schedules its transfers, retries them,
 * publishes their files and gives their results (see `pull`).
 */
export class Engine {
  readonly #channel = new Channel<Result>(() => {
    if (this.#channel.size < resultsAhead) this.#wakeReader()
  })
  readonly #scheduler: Scheduler<Task>
  /** Stops hearing of the pauses other processes were asked for (see `HostGate.onPaused`). */
  readonly #offPaused: (() => void) | undefined
  /** The run's proxies that answered nothing (see `ProxySilence`). */
  readonly #proxySilence: ProxySilence
  /** Stopped at once (not a clean stop): transfers were cut, not failed. */
  #aborted = false
  /** A stop ended the reading of the source before its end: its rows from there are left. */
  #sourceCut = false
  /** What each failed attempt becomes, and the hosts given up for the run. */
  readonly #retries: Retries
  /** Attempts in progress, to abort on a hard stop. */
  readonly #inFlight = new Set<Cancel>()
  /** The deadlines of the attempts under way, waiting for their bodies or in them, by host. */
  readonly #hostBodies = new HostBodies<AttemptDeadline>()

  /**
   * Weigh `host`'s bodies under way (see `giveWay`): where together they are more than its link
   * carries before their files' deadlines, those farthest from their end give way (cut, to be
   * resumed later, their time counted anew), and the host's limit falls to those that stay.
   */
  #weigh(host: string, now: number): void {
    const weighed = this.#hostBodies.weigh(host, now, this.options.totalTimeout)
    if (weighed === undefined) return
    this.#scheduler.sharedLink(host, weighed.keep)
    for (const d of weighed.withdraw) d.giveWay()
    // Those sent and not yet answered would only crowd the link more: they go back too.
    for (const d of this.#hostBodies.waitingAt(host)) if (d.movable()) d.giveWay()
  }
  /**
   * Hosts that answered a resume's one range with multipart/byteranges (see `WRAPS_RANGES`): their
   * files' later attempts ask for the whole file at once, where each spent a ranged request first.
   */
  readonly #wrapsRanges = new Set<string>()
  /**
   * Hosts that misread or refused a resume's If-Range (see `ifRangeMisread`, `ifRangeRefused`): their
   * files' resumes send none for the rest of the run, where each file offered it first (a 400 to
   * it, then the whole file, at every resume: behind a link that cuts every answer, never whole).
   */
  readonly #ifRangeMisread = new Set<string>()
  #outstanding = 0
  #sourceDone = false
  /** The reading of the source, once it began (see `readToEnd`). */
  #reading: Promise<void> | undefined
  /**
   * The source stopped with this error, its own (an API's page that failed, a stream's read error)
   * or an input error: what was read is finished, then the run ends with it.
   */
  #sourceError: { error: unknown } | undefined
  /** Whether the source's own iterator threw (see `#read`), as opposed to the run's reading of it. */
  #sourceThrew = false
  #stopping = false
  #failedFatally = false
  #space: (() => void) | undefined
  /** The files being published, which bound the transfers that may start. */
  readonly #publishing: Publishing
  /** Transfers in flight (see `unread`). */
  readonly #transfers = new Set<Promise<unknown>>()
  /** Takes per-host samples for the report while transfers run. */
  readonly #sampler: HostSampler
  /** The warnings said once a run. */
  readonly #warnings = new OnceWarnings()

  readonly journal: Journal
  readonly dispatcher: Dispatcher
  /** The hosts `dispatcher`'s connections found answering once: this run's (see answers-once.ts). */
  readonly #answersOnce = new AnswersOnce()
  readonly leftovers: Set<string>
  readonly paths: Layout
  readonly pool: TransformPool | undefined
  readonly threads: TransferThreads | undefined
  /** With `--wait`: when each host may next be sent a request, shared with the threads (see host-sends.ts). */
  readonly sends: HostSends | undefined
  /** The hosts paused now, held at the send on the main thread; the threads are told of each pause (see send-pauses.ts). */
  readonly pauses = new SendPauses()
  /** The WebDataset output, when asked for (else files). */
  readonly dataset: WebDatasetSink | undefined
  /** The source's items (see the constructor's `items`). */
  readonly #items: Iterable<unknown> | AsyncIterable<unknown>
  /** Cuts the transform stage's work on a hard stop. */
  readonly #hardStop = new AbortController()
  /** This run's limits, journaled with a failure of one (see `judgedAgainst`). */
  readonly #limits: Limits

  constructor(
    readonly source: Source,
    readonly options: ResolvedOptions,
    readonly stats: RunStats,
    parts: {
      /** What to read: the source's items, its iterator taken when `pull()` was called (see `pull`). */
      items?: Iterable<unknown> | AsyncIterable<unknown>
      journal: Journal
      dispatcher: Dispatcher
      /** Part files an earlier run left (names). */
      leftovers: Set<string>
      paths: Layout
      pool?: TransformPool
      threads?: TransferThreads
      /** See `sends`; made here when not given. */
      sends?: HostSends
      dataset?: WebDatasetSink
    },
  ) {
    this.journal = parts.journal
    this.dispatcher = parts.dispatcher
    const { minSize, maxAspectRatio } = options.transform
    this.#limits = {
      maxSize: options.maxSize,
      maxRedirects: options.maxRedirects,
      minSize,
      maxAspectRatio,
      maxPixels: pixelLimit(options.transform),
      decodes: needsPool(options.transform),
      ignoreRobotsTag: options.ignoreRobotsTag,
    }
    this.leftovers = parts.leftovers
    this.paths = parts.paths
    this.pool = parts.pool
    this.threads = parts.threads
    this.sends = parts.sends ?? (options.wait === 0 ? undefined : new HostSends(() => drawWait(options.wait)))
    this.dataset = parts.dataset
    this.#items = parts.items ?? source
    this.#publishing = new Publishing({
      journal: this.journal,
      options,
      stats,
      dataset: this.dataset,
      pool: this.pool,
      hardStop: this.#hardStop.signal,
      emit: (result) => this.#emit(result, true),
    })
    if (this.dataset) {
      this.dataset.onError = (failure) =>
        void goneFolder(failure).then((error) => this.#fatal(stopFault(error, this.paths)))
      this.dataset.onClosed = () => this.#wakeReader()
    }
    this.#proxySilence = new ProxySilence(proxyPlan(options.proxy), userAgentOf(options), () =>
      proxyTls(options),
    )
    this.#scheduler = new Scheduler<Task>({
      concurrency: options.concurrency,
      perHost: options.perHost,
      run: (task, host, slot) => this.#attempt(task, host, slot),
      onChange: () => this.#wakeReader(),
      gate: options.hostGate,
      spacing: options.wait === 0 ? undefined : () => drawWait(options.wait),
      totalTimeout: options.totalTimeout,
      // The gate answered after a stop: the task never started, and stays for the next run.
      onDrop: () => this.#interrupted(),
      onPause: (host, ms) => {
        this.pauses.pause(host, ms)
        this.threads?.pause(host, ms)
      },
    })
    // Another worker's pause holds this run's transfers already running too (their next requests).
    this.#offPaused = options.hostGate?.onPaused?.((host, ms) => this.#scheduler.pause(host, ms, true))
    // A host's send time is forgotten once the run holds nothing of it (see HostSends.prune).
    if (this.sends) this.sends.busy = (host) => this.#scheduler.knows(host)
    this.#sampler = new HostSampler(this.#scheduler, this.journal, (error) =>
      this.#fatal(fault(error, this.paths)),
    )
    this.#retries = new Retries(this.#scheduler, this.#proxySilence, options, this.paths, {
      aborted: () => this.#aborted,
      stopping: () => this.#stopping,
      interrupted: () => this.#interrupted(),
      interruptedCut: (task) => this.#interruptedCut(task),
      fatal: (error) => this.#fatal(error),
      fail: (task, e) => this.#fail(task, e),
    })
    // Live, for a progress ETA: the last retry's wait, by its own timer or its host's pause, or
    // the source's own (an API's rate-limit reset: the pace of the files done said 15 s for an hour).
    Object.defineProperty(stats, 'waitLeft', {
      get: () =>
        Math.max(
          0,
          Math.max(this.#retries.sleeping.lastWake(), this.#scheduler.heldUntil()) - performance.now(),
          source.waitLeft?.() ?? 0,
        ),
      configurable: true,
      enumerable: true,
    })
    const { signal, drainSignal } = options
    if (signal?.aborted) this.abort()
    else signal?.addEventListener('abort', this.#onAbort, { once: true })
    if (drainSignal?.aborted) this.drain()
    else drainSignal?.addEventListener('abort', this.#onDrain, { once: true })
  }

  readonly #onAbort = () => this.abort()
  readonly #onDrain = () => this.drain()

  /**
   * Take the run's listeners off the caller's signals. A server that passes one shutdown signal to
   * every pull would otherwise keep each ended run (its engine, journal and scheduler) alive through
   * it, and Node warns of a leak (MaxListenersExceededWarning) from the eleventh.
   */
  unlisten(): void {
    this.options.signal?.removeEventListener('abort', this.#onAbort)
    this.options.drainSignal?.removeEventListener('abort', this.#onDrain)
  }

  /**
   * The run stops before its end: a stop took work back, a fatal error cut it, or the caller left
   * early. A hard stop alone is not one: one that came once every job had its outcome (a second
   * Ctrl-C as the last transfer ended) left nothing, and the journal, the report and the exit code
   * said the run was interrupted; one that cut transfers left them outstanding or taken back.
   */
  get interrupted(): boolean {
    return (
      this.stats.interrupted > 0 ||
      this.#failedFatally ||
      this.#outstanding > 0 ||
      this.#sourceError !== undefined ||
      // A stop while the source was still read (a list on a slow pipe): its rest is left.
      this.#sourceCut ||
      (this.#stopping && !this.#sourceDone)
    )
  }

  results(): AsyncIterable<Result> {
    this.#sampler.start(performance.now())
    this.#reading = this.#read().catch((error) => {
      // Input that cannot be read past (a CSV quote never closed, a corrupt gzip file), or a source
      // that throws (a paginated API whose next page failed, a list stream's read error) but for a
      // fault of this machine: the rows read before it are fetched, then the run ends with the
      // error as it was thrown. A source's error cut the transfers in flight and left every item
      // read unfetched (denoland/std#7093: a source's error comes after the in-flight results).
      if (error instanceof UsageError || (this.#sourceThrew && stopFault(error, this.paths) === error)) {
        this.#sourceError = { error }
        this.#maybeDone()
      } else this.#fatal(stopFault(error, this.paths))
    })
    return this.#channel
  }

  /** Clean stop: take no new work, let transfers in flight finish. */
  drain(): void {
    if (this.#stopping) return
    this.#stopping = true
    const dropped = this.#scheduler.stop()
    for (const { task } of this.#retries.sleeping.clear()) dropped.push(task)
    this.stats.interrupted += dropped.length
    this.#outstanding -= dropped.length
    this.#wakeReader()
    this.#maybeDone()
  }

  /**
   * After a stop: wait for the files being published to land, then give the results the caller
   * never read (it left the loop early), so the source still hears of every file it got.
   */
  async unread(): Promise<Result[]> {
    // A transfer that ended just as the stop came publishes its file after it: wait for those too,
    // but not forever (the run's end must not hang on one that never settles).
    const until = performance.now() + UNREAD_WAIT_MS
    while ((this.#transfers.size > 0 || this.#publishing.size > 0) && performance.now() < until) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        Promise.allSettled([...this.#transfers, ...this.#publishing.pending()]),
        new Promise((resolve) => {
          timer = setTimeout(resolve, until - performance.now())
        }),
      ])
      clearTimeout(timer)
    }
    return this.#channel.drain()
  }

  stopSampling(): void {
    this.#sampler.stop()
  }

  /**
   * Whether the source was read to its end, once the reading stopped (a stop makes it stop at its
   * next item): waited for no longer than `until` (a list on a pipe that never ends is not).
   */
  async readToEnd(until: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      this.#reading,
      new Promise((resolve) => {
        timer = setTimeout(resolve, Math.max(0, until - performance.now()))
      }),
    ])
    clearTimeout(timer)
    return this.#sourceDone && !this.#sourceCut
  }

  /** Every job of the source has its outcome (the source was read to its end, and nothing stopped the run). */
  get completed(): boolean {
    return this.#sourceDone && this.#outstanding === 0 && !this.#stopping
  }

  /** Stop at once; partial files stay for the next run to resume. */
  abort(): void {
    if (this.#aborted) return
    this.drain()
    this.#aborted = true
    for (const cancel of this.#inFlight) cancel.abort()
    this.#hardStop.abort()
    this.#publishing.wakeAll()
  }

  async #read(): Promise<void> {
    let index = 0
    const source = this.#items
    const items = async function* (engine: Engine) {
      try {
        yield* source
      } catch (error) {
        engine.#sourceThrew = true
        throw error
      }
    }
    for await (const item of items(this)) {
      if (this.#stopping) {
        this.#sourceCut = true
        break
      }
      const given = jobOf(item, index + 1)
      // A row of a new shard waits while too many shards are in progress (see MAX_OPEN_SHARDS).
      while (this.dataset?.mustWait(given, index) && !this.#stopping) {
        await new Promise<void>((resolve) => {
          this.#space = resolve
        })
      }
      if (this.#stopping) {
        this.#sourceCut = true
        break
      }
      // A dataset's job is the sample at its row: it gets its row and key before it is planned.
      const job = this.dataset ? await this.dataset.admit(given, index) : given
      const plan = await planJob(job, ++index, {
        out: this.options.out,
        parts: this.paths.parts,
        template: this.dataset ? DATASET_NAMES : this.options.name,
        checkFields: !this.source.fields,
        journal: this.journal,
        retryFailed: this.options.retryFailed,
        retryFailedWords: this.options.rerun.retryFailed,
        limits: this.#limits,
        leftovers: this.leftovers,
        kept: this.dataset?.kept,
        onMoved: (job, was) => this.#warnings.rowMoved(job, was, this.dataset !== undefined),
        onChanged: (path, was, now) => this.#warnings.fileChanged(this.options.out, path, was, now),
      })
      // Read once planned: a plan the journal refused (a full disk) throws, and its row, never
      // journaled, is one the run did not reach; it was in no count at all (4,999 of 5,000).
      this.stats.read++
      if (plan.kind === 'duplicate') {
        // A row is a sample even when its key repeats another's: it gets a (failed) row of its own.
        if (this.dataset) this.#emit(this.dataset.duplicate(job), false)
        else this.stats.duplicates++
      } else if (plan.kind === 'done') this.#emit(plan.result, false)
      // Planned as a stop came (its plan awaited the disk): journaled, so left for the next run.
      else if (this.#stopping) this.stats.interrupted++
      else {
        this.#outstanding++
        this.#scheduler.add(plan.task.host, plan.task)
      }
      // Let sockets be served while a long list is read ahead: the first requests go out at once.
      if (index % 256 === 0) await new Promise(setImmediate)
      while (
        (this.#scheduler.queued >= READ_AHEAD || this.#channel.size >= resultsAhead) &&
        !this.#readOnStarved() &&
        !this.#stopping
      ) {
        await new Promise<void>((resolve) => {
          this.#space = resolve
        })
      }
    }
    this.#sourceDone = true
    this.#maybeDone()
  }

  /** Whether the reader goes on past `READ_AHEAD` for hosts to use the free slots (see `READ_AHEAD_STARVED`). */
  #readOnStarved(): boolean {
    return (
      this.#channel.size < resultsAhead &&
      this.#scheduler.queued < READ_AHEAD_STARVED &&
      this.#scheduler.starved
    )
  }

  #wakeReader(): void {
    const wake = this.#space
    this.#space = undefined
    wake?.()
  }

  /** One attempt at `task`, listed under `host`; `slot` follows its redirects to other origins. */
  async #attempt(task: Task, host: string, slot: Slot): Promise<void> {
    // Back-pressure: while the transform stage has all the work it can queue, no transfer starts.
    if (this.pool) {
      await this.pool.ready()
      if (this.#aborted) {
        this.#interrupted()
        return
      }
    }
    // Back-pressure: while publishing has all it may hold, no transfer starts either.
    while (this.#publishing.full) {
      await this.#publishing.room()
      if (this.#aborted) {
        this.#interrupted()
        return
      }
    }
    // Threads that start once the run is under way (`'auto'`) leave this transfer to the main thread until one is ready.
    const threads = this.threads?.carries(task.attempts === 0) ? this.threads : undefined
    if (threads) {
      try {
        await threads.ready()
      } catch (error) {
        // No thread could start (`--threads N`): the job stays for the next run, and the run stops.
        this.#interrupted()
        this.#fatal(error)
        return
      }
    }
    const late = task.retriedFor
    if (late && task.started > 0 && task.started + this.options.totalTimeout <= steadyNow()) {
      // A retry whose time ran out while it waited for its turn (its host paused for another
      // job's Retry-After, or one transfer at a time behind the others) sends nothing: an attempt
      // with no time left could only end as "total timeout", hiding the cause it was retried for.
      late.message += ': not retried, --total-timeout ran out while it waited for its turn'
      this.#fail(task, late)
      return
    }
    const givenUp = this.#retries.notTried(task, host)
    if (givenUp !== undefined) {
      this.#fail(task, givenUp)
      return
    }
    // --wait: what the host sees spaced, whatever the waits above held this task back for (a file
    // that fails without a request, above, takes no turn).
    let gap: number | undefined
    // The gap is wanted only where sends are spaced (a closure an attempt, else, for nothing).
    const turn = this.#scheduler.turn(
      host,
      this.sends &&
        ((drawn) => {
          gap = drawn
        }),
    )
    if (turn > 0) {
      await sleep(turn, undefined, { signal: this.#hardStop.signal }).catch(() => {})
      if (this.#aborted) {
        this.#interrupted()
        return
      }
    }
    task.attempts++
    task.started ||= steadyNow()
    // When the request now under way went out: a complaint about one sent before the host's last
    // cut is old news (see Scheduler.pressure). A redirect's wait moves it on.
    let sentAt = performance.now()
    const remaining = task.started + this.options.totalTimeout - steadyNow()
    // One Cancel and one timer per attempt: far cheaper than an AbortSignal per request.
    const cancel = new Cancel()
    // The attempt's --total-timeout, which gives a slow but steady body the time once more. Its
    // body shares a link with those of the host answering it (after redirects).
    const deadline: AttemptDeadline = new AttemptDeadline(remaining, this.options.totalTimeout, cancel, () =>
      this.#hostBodies.together(deadline, performance.now()),
    )
    // Withdrawn only where a resume can continue its bytes on disk (a body with a length, none
    // that a range cannot continue: see `resumesInRun`, `Validators.unproven`), and once a file.
    let resumes = false
    deadline.movable = () => !task.gaveWay && (resumes || deadline.pace === undefined)
    // Sent, its body not begun: it gives way too when its host's bodies do (see `#weigh`).
    this.#hostBodies.enter(slot.host, deadline)
    this.#inFlight.add(cancel)
    this.stats.active++
    const onValidators = (v: Validators) => {
      task.validators = v
      if (v.ifRangeMisread) this.#ifRangeMisread.add(host)
      this.journal.setValidators(task.key, v)
    }
    // What this attempt's bodies did to the file: where the first began, and whether any began anew.
    task.bodies = undefined
    if (task.gotBytes) task.bytesEarlier = true
    task.gotBytes = false
    let continuedNow = false
    const onBody = (at: number, unresumable?: string, length?: number) => {
      deadline.pace = { began: performance.now(), length, got: 0 }
      resumes = unresumable === undefined && length !== undefined
      this.#hostBodies.begin(slot.host, deadline)
      if (unresumable === WRAPS_RANGES) {
        task.wrapsRanges = true
        this.#wrapsRanges.add(host)
      }
      // A body that continued the bytes on disk: not every attempt started over. Unless the file
      // started over after it in this attempt: its bytes refused it once begun (the overlap not
      // those on disk, WPChill/download-monitor#816's 206 of the file's first bytes), and the
      // failure read as a cut no resume had been tried for.
      if (at > 0 && !task.continued) {
        task.continued = true
        continuedNow = true
      } else if (at === 0 && continuedNow) {
        task.continued = false
        continuedNow = false
      }
      task.bodies = {
        from: task.bodies?.from ?? at,
        anew: (task.bodies?.anew ?? false) || at === 0,
        count: (task.bodies?.count ?? 0) + 1,
        ...(unresumable ? { unresumable } : {}),
      }
      // A part anew: its first resume compares its tail again.
      if (at === 0) task.tailChecked = false
    }
    const expectedHash = task.job.expectedHash
    // The server refused the last two resumes (see #failed): this attempt asks without Range. The
    // bytes on disk stay until a body replaces them: a plain request met with no answer either
    // leaves them for the next attempt, which resumes again.
    // So too where the file's server, or its host's, wrapped a range in multipart/byteranges.
    const plain = (task.rangeFailures ?? 0) >= 2 || task.wrapsRanges === true || this.#wrapsRanges.has(host)
    // The last body was cut or damaged: a cache on the way may hold it so (see DownloadContext.revalidate).
    const revalidate = BODY_FAULTS.has(task.retriedFor?.code ?? '')
    const tailChecked = task.tailChecked
    const onTailChecked = () => {
      task.tailChecked = true
    }
    let done: Downloaded
    // A redirect to another origin takes a slot there (its limit, its pauses) and frees this one.
    // Stopped while it waited: nothing more is sent, and the job is left for the next run.
    let stoppedAtHop = false
    // A redirect to a host given up for the run (a black hole behind short links): the file fails
    // as one listed there would, with no request sent to it.
    let givenUpAtHop: ImgpullError | undefined
    const refuseGivenUp = (origin: string) => {
      givenUpAtHop = this.#retries.notTried(task, origin, origin)
      if (givenUpAtHop) throw givenUpAtHop
    }
    const onHop = async (origin: string) => {
      refuseGivenUp(origin)
      const moved = await slot.move(origin, cancel)
      // Given up while this transfer waited for its slot there.
      if (moved) refuseGivenUp(origin)
      sentAt = performance.now()
      if (moved || cancel.aborted) return
      stoppedAtHop = true
      throw new Error(`stopped before the request to ${origin}`)
    }
    // The fragment the planner took off (never sent) may name the file a page shows.
    const given = task.job.url.includes('#') ? task.job.url : undefined
    // What a transfer is told on either side: on a thread, its bytes are counted there.
    const told = {
      expectedHash,
      onValidators,
      onBody,
      onHop,
      tailChecked,
      onTailChecked,
      plain,
      revalidate,
      // A sample's bytes come back in memory, for its shard's spool: no part file to write, rename
      // and remove.
      hold: this.dataset !== undefined && !this.pool,
      given,
    }
    const gotBytes = (n: number) => {
      task.gotBytes = true
      const pace = deadline.pace
      if (pace) {
        const now = performance.now()
        pace.got += n
        if (pace.last !== undefined) pace.gap = Math.max(pace.gap ?? 0, now - pace.last)
        pace.last = now
        // A quarter of the file's time in, its pace measured: do its host's bodies come in time?
        if (!deadline.weighed && now - pace.began >= this.options.totalTimeout * WEIGH_AT) {
          deadline.weighed = true
          const bodyHost = this.#hostBodies.bodyHost(deadline)
          if (bodyHost !== undefined) this.#weigh(bodyHost, now)
        }
      }
    }
    // The host misread or refused another file's If-Range: this one's resumes send none either.
    const validators =
      task.validators && !task.validators.ifRangeMisread && this.#ifRangeMisread.has(host)
        ? { ...task.validators, ifRangeMisread: true as const }
        : task.validators
    const transfer = threads
      ? threads.download(
          { url: task.url, part: task.part, validators, ...told, gap, onBytes: gotBytes },
          cancel,
        )
      : download(
          task.url,
          task.part,
          validators,
          {
            dispatcher: this.dispatcher,
            answersOnce: this.#answersOnce,
            options: this.options,
            sends: this.sends,
            pauses: this.pauses,
            gap,
            ...told,
            onBytes: (n) => {
              this.stats.bytes += n
              gotBytes(n)
            },
          },
          cancel,
        )
    // This function's own await (below) comes before `unread`'s: its file is in `#publishing` by
    // the time `unread` sees the transfer settled.
    this.#transfers.add(transfer)
    try {
      done = await transfer
    } catch (error) {
      if (deadline.gaveWay && !this.#aborted) {
        // Gave way on a slow link (see `#weigh`): sent again once there is room, from its bytes
        // on disk, its time counted anew from then; not an attempt held against --retries.
        task.gaveWay = true
        task.attempts--
        task.started = 0
        this.#scheduler.add(host, task, true)
      } else if (stoppedAtHop) this.#interrupted()
      else if (givenUpAtHop) this.#fail(task, givenUpAtHop)
      else
        await this.#retries.failed(
          task,
          host,
          slot.host,
          error,
          deadline.pastDeadline,
          sentAt,
          deadline.cutWords,
          deadline.trickled,
          deadline.shared,
        )
      return
    } finally {
      deadline.clear()
      this.#hostBodies.leave(deadline)
      this.#inFlight.delete(cancel)
      this.#transfers.delete(transfer)
      // Nothing is left to cut. The publishing below keeps this function's scope (and `cancel`)
      // alive until the journal commits: the exchange, request and checks it would cut go now.
      cancel.onAbort = undefined
      this.stats.active--
    }
    this.#scheduler.success(slot.host, done.ttfb, sentAt, done.fresh)
    // The next request would be refused: none is sent before the quota comes back.
    const quotaWait = honouredWait(done.quotaReset, this.options.maxRetryAfter)
    if (quotaWait !== undefined) this.#scheduler.quotaSpent(slot.host, quotaWait)
    this.#proxySilence.heard(slot.host)
    this.#retries.sleeping.back(slot.host, sentAt, done.fresh)
    answered(task, done.httpStatus)
    // Publishing waits for the journal's next commit; the transfer slot is free meanwhile.
    const publishing = this.#publishing.publish(task, done)
    publishing.catch(async (failure) => {
      // A spool, staging folder or name whose folder was removed meanwhile: the folder's fault.
      const error = await goneFolder(failure)
      if (this.#aborted) {
        // A hard stop cut the transform stage: the job stays pending, its part file kept, and how
        // to resume it journaled, which a verified part's never was: the next run found no
        // validators and fetched the whole image again over it.
        try {
          if (done.validators) this.journal.setValidators(task.key, done.validators)
        } catch {
          // A journal that cannot take them (a full disk): the next run fetches the image again.
        }
        this.#interrupted()
        return
      }
      const e = isFatalLocal(error)
        ? fault(error, this.paths)
        : classify(error, shownUrl(task.url), this.options)
      if (e instanceof FatalError) {
        // Not the job's fault: it stays pending, and the next run picks it up.
        this.#interrupted()
        this.#fatal(e)
      } else this.#fail(task, e)
    })
  }

  #fail(task: Task, e: ImgpullError): void {
    const outcome: Outcome = {
      httpStatus: e instanceof HTTPError ? e.status : undefined,
      finalUrl: e.finalUrl,
      attempts: task.attempts,
      error: e.code as ErrorCode,
      message: placedPage(e, task.job.where),
      total: task.started ? steadyNow() - task.started : 0,
      finishedAt: steadyNow(),
      answers: task.answers,
    }
    try {
      this.journal
        .finish({
          key: task.key,
          state: 'failed',
          ...outcome,
          checked: judgedAgainst(task.job, e.code, this.#limits),
          place: task.job.where,
        })
        .catch((error) => this.#fatal(fault(error, this.paths)))
    } catch (error) {
      this.#fatal(fault(error, this.paths))
    }
    // A cut file that can be resumed stays for the next run, which goes on from its last byte (one
    // only this run could resume, without a validator, goes: see `resumesInRun`);
    // unless the server refused its last two resumes: the next run asks for the whole file (its
    // count is this run's alone: with --retries 1 it would meet the same two refusals again).
    const refused = (task.rangeFailures ?? 0) >= 2
    if (refused || !keepsPart(e.code, ifRangeValue(task.validators) !== undefined))
      unlink(task.part).catch(() => {})
    if (this.pool) unlink(transformedPart(task.part)).catch(() => {})
    this.#emit(resultOf(task.job, 'failed', outcome), true)
  }

  #emit(result: Result, planned: boolean): void {
    this.dataset?.settle(result)
    this.#channel.push(result)
    if (planned) this.#outstanding--
    this.#maybeDone()
  }

  /**
   * A transfer cut by a stop (Ctrl-C, a full disk): the job stays pending, and its part stays for
   * the next run only where that run can resume it (a strong validator, see `ifRangeValue`). One
   * only this run could resume (no validator) would be fetched from byte 0 all the same: it went
   * on holding the space of a full disk, counted by the stop's message as parts "a rerun resumes".
   * The validators are the journal's, what the rerun reads: those a commit the full disk refused
   * are journaled now where they can be (see `journalCutPart`), else the part goes.
   */
  #interruptedCut(task: Task): void {
    let kept: Validators | undefined
    try {
      kept = this.journal.get(task.key) ?? {}
    } catch {
      // A journal that cannot be read now says nothing of what the rerun will read: the part stays.
    }
    try {
      if (
        kept &&
        ifRangeValue(kept) === undefined &&
        !journalCutPart(this.journal, task.key, task.part, task.validators)
      )
        rmSync(task.part, { force: true })
    } catch {
      // Its folder replaced by a file, or made read-only: not to remove now, and no cause to crash
      // the run (ENOTDIR, EROFS and EACCES threw out of the stop, a stack trace and exit 1).
    }
    this.#interrupted()
  }

  /** A job left for the next run (stopped, or the run met a fatal error). */
  #interrupted(): void {
    this.stats.interrupted++
    this.#outstanding--
    this.#maybeDone()
  }

  #fatal(error: unknown): void {
    this.#failedFatally = true
    this.abort()
    this.#offPaused?.()
    this.#channel.close(error)
  }

  #maybeDone(): void {
    if (this.#outstanding === 0 && (this.#sourceDone || this.#stopping || this.#sourceError)) {
      this.stopSampling()
      this.#offPaused?.()
      this.#channel.close(this.#sourceError?.error)
    }
  }
}

/**
 * A page in place of the image, its message naming the link that gives the file, says where the
 * input holds the page's link (`; its link is 'urls.txt' line 3`): that line is what to change, and
 * in a list of thousands the URL alone does not say which it is.
 */
function placedPage(e: ImgpullError, where: string | undefined): string {
  return where && isSharePageFailure(e.code, e.message)
    ? `${e.message}; its link is ${printable(where)}`
    : e.message
}
