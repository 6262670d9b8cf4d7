import { duration, errorCode, FatalError, HTTPError, ImgpullError, TimeoutError } from '../errors.js'
import { classify, finalUrlOf, totalCutWords } from '../fetch/classify.js'
import type { GivenUp } from '../fetch/given-up.js'
import { resumesInRun, WRAPS_RANGES } from '../fetch/judge.js'
import { sizeOnDisk } from '../fetch/part-file.js'
import { PROXY_LIMIT, PROXY_TLS } from '../fetch/proxy.js'
import { fromHost, type ProxySilence } from '../fetch/proxy-silence.js'
import {
  closedOrReset,
  crowdedCredit,
  type FailureAction,
  type FailureFacts,
  isPressure,
  keepsPart,
  MIN_PROGRESS_BYTES,
  onFailure,
  outlasts,
  progressFree,
  proxyLimitWait,
  refusedAtLimit,
  refusesRange,
} from '../fetch/retry-policy.js'
import { RetrySleepers } from '../fetch/retry-sleepers.js'
import type { Scheduler } from '../fetch/scheduler.js'
import { unansweredLookup } from '../fetch/shared-lookup.js'
import { READY_DEATHS, THREAD_DIED } from '../fetch/transfer-threads.js'
import type { Layout } from '../layout.js'
import type { ResolvedOptions } from '../options.js'
import { withAnswer } from '../outcome.js'
import type { Task } from '../plan/planner.js'
import { isFatalLocal } from '../sinks/local-faults.js'
import { outOfDescriptors } from '../utils/descriptors.js'
import { steadyNow } from '../utils/steady-clock.js'
import { hostKey, shownUrl } from '../utils/url.js'
import { type CutWords, STILL_COMING } from './deadline.js'
import { fault } from './stop-fault.js'

/**
 * Failures of a body that came cut or damaged: a proxy or CDN cache may have stored it so, and the
 * retry asks caches to fetch it again (see `DownloadContext.revalidate`).
 */
export const BODY_FAULTS = new Set(['truncated', 'digest-mismatch', 'bad-range'])

/** Count an answer's HTTP status on the job (the report's 429 and 503 per host). */
export function answered(task: Task, status: number): void {
  task.answers = withAnswer(task.answers, status)
}

/** The URL `answeredBy` (an origin) answered for `url`: the same, or a redirect's target's root. */
export function answeredUrl(url: string, answeredBy: string): string {
  try {
    const u = new URL(url)
    return hostKey(u) === answeredBy ? u.href : `${answeredBy}/`
  } catch {
    return `${answeredBy}/`
  }
}

/** What the retry rounds need of their run (see `Engine`). */
export interface RetryRun {
  /** The run was stopped at once: transfers were cut, not failed. */
  aborted(): boolean
  /** The run takes no new work (a clean stop). */
  stopping(): boolean
  /** The job is left for the next run. */
  interrupted(): void
  /** The job's transfer was cut by a stop: left for the next run (see `Engine.interruptedCut`). */
  interruptedCut(task: Task): void
  /** The run stops with `error`. */
  fatal(error: unknown): void
  /** The job fails with `e`, for good in this run. */
  fail(task: Task, e: ImgpullError): void
}

/**
 * The retry rounds: what a failed attempt becomes (a retry after its backoff, a pause of its host,
 * a failure for good, with the words that say why), by the policies of fetch/retry-policy.ts and
 * what the scheduler and the proxies' silence know of its host; and the hosts given up for the
 * run, whose files fail unsent.
 */
export class Retries {
  /** Give-ups (of a host or a proxy) whose sleeping retries were woken (see #wakeGivenUp). */
  readonly #swept = new WeakSet<GivenUp>()
  /** Files that named a wait longer than imgpull takes (see `outlasts`): the next such ends them. */
  readonly #askedOverlong = new WeakSet<Task>()
  /** Retries sleeping out their backoff; those a host refused wake when it serves again. */
  readonly sleeping: RetrySleepers<{ task: Task; host: string }>
  readonly #scheduler: Scheduler<Task>
  /** The run's proxies that answered nothing (see `ProxySilence`). */
  readonly #proxySilence: ProxySilence
  readonly #options: ResolvedOptions
  readonly #paths: Layout
  readonly #run: RetryRun

  constructor(
    scheduler: Scheduler<Task>,
    proxySilence: ProxySilence,
    options: ResolvedOptions,
    paths: Layout,
    run: RetryRun,
  ) {
    this.#scheduler = scheduler
    this.#proxySilence = proxySilence
    this.#options = options
    this.#paths = paths
    this.#run = run
    this.sleeping = new RetrySleepers<{ task: Task; host: string }>(({ task, host }) =>
      scheduler.add(host, task, true),
    )
  }

  /** Why `host` is given up for the run, itself or its proxy (see Scheduler.givenUp, ProxySilence.givenUp). */
  #givenUp(host: string): GivenUp | undefined {
    return this.#scheduler.givenUp(host) ?? this.#proxySilence.givenUp(host)
  }

  /**
   * The error `task` fails with, no request sent, when `host` is given up for the run (see
   * Scheduler.givenUp): another request would only meet the same silence or refusal. `hop`: the
   * redirect's target that is. A retry keeps the error it was retried for.
   */
  notTried(task: Task, host: string, hop?: string): ImgpullError | undefined {
    const givenUp = this.#givenUp(host)
    if (givenUp === undefined) return undefined
    const why = `${givenUp.why}; ${this.#options.rerun.rerun} tries it again`
    const shown = hop === undefined ? shownUrl(task.url) : `${shownUrl(task.url)} (redirected to ${hop})`
    const e = task.retriedFor ?? new ImgpullError(givenUp.code, `not tried: ${shown}`, { retryable: true })
    e.message += task.retriedFor ? `: not tried again, ${why}` : `: ${why}`
    return e
  }

  /** `host`: the task's own; `answeredBy`: the origin that answered last (a redirect's target). */
  async failed(
    task: Task,
    host: string,
    answeredBy: string,
    error: unknown,
    pastDeadline: boolean,
    sentAt: number,
    cutWords?: CutWords,
    trickled = false,
    shared = false,
  ): Promise<void> {
    if (this.#run.aborted()) {
      // Stopped mid-transfer: the journal still says pending and the part file stays for resume.
      this.#run.interruptedCut(task)
      return
    }
    const shown = shownUrl(task.url)
    // A body that had begun and still came when the time ran out: a trickle, which the idle
    // timeout (silence only) lets through; said so, as curl's "with N out of M bytes received",
    // where the deadline did not say more of it (`cutWords`).
    // Cut before any body: where, as the connect and headers timeouts say it (connecting, the TLS
    // handshake, the request unanswered, an interim answer and no final one).
    const cut = cutWords ?? {
      ms: this.#options.totalTimeout,
      words: task.bodies ? STILL_COMING : totalCutWords(error, shown, this.#options),
    }
    let e: ImgpullError = pastDeadline
      ? new TimeoutError('total', cut.ms, shown, undefined, false, cut.words)
      : isFatalLocal(error)
        ? fault(error, this.#paths)
        : classify(error, shown, this.#options)
    // The total timeout's error is made here: it keeps where the redirects had led (see `withFinalUrl`).
    if (pastDeadline) e.finalUrl = finalUrlOf(error)
    if (e instanceof FatalError) {
      this.#run.interruptedCut(task)
      this.#run.fatal(e)
      return
    }
    const status = e instanceof HTTPError ? e.status : undefined
    if (status !== undefined) {
      answered(task, status)
      this.#scheduler.heardFrom(answeredBy)
      // An http:// URL's 502 may be the proxy's own; an https:// one's came through a tunnel.
      this.#proxySilence.heard(answeredBy, fromHost(e.gateway))
      this.sleeping.back(answeredBy, sentAt)
    } else if (e instanceof TimeoutError && (e.phase === 'connect' || e.phase === 'headers')) {
      this.#scheduler.unanswered(answeredBy, sentAt, task.pathSilent)
      this.#proxySilence.unanswered(answeredBy, sentAt)
    }
    e = await this.#asProxyFault(task, e, status, answeredBy)
    if (this.#run.aborted()) {
      this.#run.interrupted()
      return
    }
    // A second 5xx in a row to a resume, or a second resume that brought not a byte: the server
    // may be refusing Range (a CDN that answers it with 500, a firewall that drops it), so the next
    // attempt asks for the whole file (see `plain` in #attempt). The first one was the benefit of
    // the doubt; a 503 says to come back later.
    if (refusesRange({ code: e.code, status, resumed: e.resumed }))
      task.rangeFailures = (task.rangeFailures ?? 0) + 1
    else task.rangeFailures = 0
    // An attempt cut after it moved a resumable file forward is not held against the retries.
    const resumable = resumesInRun(task.validators)
    /** The attempt moved a resumable file forward (see `progressFree`). */
    const movedOn = await this.#movedOn(task, e.code, resumable)
    if (this.#run.aborted()) {
      this.#run.interrupted()
      return
    }
    if (e instanceof TimeoutError && e.phase === 'idle' && !movedOn)
      this.#scheduler.stalled(answeredBy, sentAt, task.pathSilent)
    // Silence on a path the host ignores while it serves later requests: no sign of load.
    const pathTimeout = e instanceof TimeoutError && (e.phase === 'headers' || e.phase === 'idle')
    if (pathTimeout && this.#scheduler.pathSilence(answeredBy, sentAt)) task.pathSilent = true
    // A new connection reset before any answer: a limit of connections, or this URL's own (a WAF).
    const doorReset = e.code === 'network' && e.pressure && closedOrReset(e.cause)
    const resetBefore = task.resetAtDoor
    if (doorReset) task.resetAtDoor = performance.now()
    // Refused while others of its host's transfers were in flight (see `Scheduler.crowding`).
    const crowding = this.#scheduler.crowding(answeredBy, sentAt)
    const crowdedNow = e.code === 'network' && e.refused && crowding.others > 0
    // And the host served a file in this run: a limit of connections, not the host down.
    const atLimit = crowdedNow && refusedAtLimit(crowding)
    // A body cut at the deadline for its share of a slow link (see `sharedAtDeadline`) is pressure:
    // fewer at once give each a share that brings it in time. Other deadline cuts are the file's.
    const hostPressure =
      !isPressure(e.code, e.pressure || atLimit) ||
      (pastDeadline && !shared) ||
      (pathTimeout && task.pathSilent)
        ? undefined
        : doorReset
          ? this.#scheduler.resetAtDoor(answeredBy, sentAt, resetBefore)
          : this.#scheduler.pressure(answeredBy, sentAt, status === 429 || e.pressure || atLimit)
    // A refusal while crowded: the host's limit of connections turned it away, not a fault of this
    // file, once the host serves a request sent after it (see `crowdedCredit`); the refusal before
    // this one is judged now, its answers come.
    if (
      crowdedCredit({
        pendingAt: task.crowdedAt,
        servedSent: crowding.servedSent,
        credited: task.crowdedFree ?? 0,
        retries: this.#options.retries,
      })
    )
      task.crowdedFree = (task.crowdedFree ?? 0) + 1
    // Reset or refused at the door (or answered 503 or 429, as nginx's `limit_conn` does) while
    // the host, silent yet (or, for an answer, having served nothing), holds an older transfer of
    // ours open (see `Scheduler.takenAtLimit`): its limit of connections turned it away, forgiven
    // now (no answer may come before the file's retries are spent: a host taking 4, its first
    // answer 6 s away, lost 20 of 24 files refusing the rest, 12 to 16 resetting them, 1 to 7
    // answering them 503), within the same bound; its host's other files wait for a slot of
    // those it holds.
    // So for slots other processes sharing the gate hold there (see `Scheduler.takenElsewhere`).
    const atDoor = e.code === 'network' ? doorReset || e.refused : status === 503 || status === 429
    const takenAtLimit =
      atDoor &&
      (this.#scheduler.takenAtLimit(answeredBy, sentAt, status !== undefined) ||
        (await this.#scheduler.takenElsewhere(answeredBy, sentAt, status !== undefined))) &&
      crowdedCredit({
        pendingAt: sentAt,
        servedSent: Number.POSITIVE_INFINITY,
        credited: task.crowdedFree ?? 0,
        retries: this.#options.retries,
      })
    if (this.#run.aborted()) {
      this.#run.interrupted()
      return
    }
    if (takenAtLimit) task.crowdedFree = (task.crowdedFree ?? 0) + 1
    task.crowdedAt = crowdedNow && !takenAtLimit ? sentAt : undefined
    const timeLeft = task.started + this.#options.totalTimeout - steadyNow()
    if (outOfDescriptors(error)) {
      task.descriptorWaits = (task.descriptorWaits ?? 0) + 1
      this.#scheduler.shortOfDescriptors()
    }
    // Not the file's doing, and bounded: threads that keep dying are given up for the main thread.
    if (errorCode(e.cause) === THREAD_DIED && (task.threadDeaths ?? 0) < READY_DEATHS)
      task.threadDeaths = (task.threadDeaths ?? 0) + 1
    // A wait longer than imgpull takes (see `outlasts`), which the file's next answer may name again.
    const overlong = e instanceof HTTPError && outlasts(e.retryAfter, this.#options.maxRetryAfter, timeLeft)
    const counted =
      task.attempts -
      (task.freeAttempts ?? 0) -
      (task.descriptorWaits ?? 0) -
      (task.threadDeaths ?? 0) -
      (task.crowdedFree ?? 0)
    // The server marked its answer whole at the very length it marked the last one, the retry
    // having asked for its own copy (no-cache: see `BODY_FAULTS`): that copy is cut (a failed
    // upload), and each further retry would fetch the same cut again.
    const cutAgain =
      e.code === 'truncated' &&
      e.markedWhole !== undefined &&
      e.markedByCache === undefined &&
      task.retriedFor?.code === 'truncated' &&
      task.retriedFor.markedWhole === e.markedWhole &&
      task.retriedFor.markedByCache === undefined
    const action = onFailure({
      code: e.code,
      retryable: e.retryable && !cutAgain,
      status,
      // A server's, or a proxy's to a CONNECT (see `ImgpullError.retryAfter`).
      retryAfter: e.retryAfter,
      outOfTime: pastDeadline,
      timeLeft,
      attempts: counted,
      retries: this.#options.retries,
      outOfDescriptors: outOfDescriptors(error) ? task.descriptorWaits : undefined,
      crowdedCredits: task.crowdedFree,
      refusedInDoubt: crowdedNow && crowding.accepted && !task.doubtGrace,
      stopping: this.#run.stopping(),
      hostPressure,
      refused: e.refused,
      lookupFailed: lookupFailedFor(e),
      maxRetryAfter: this.#options.maxRetryAfter,
      askedTooLongBefore: overlong && this.#scheduler.overlong(answeredBy, sentAt, task.url),
      fileAskedTooLongBefore: overlong && this.#askedOverlong.has(task),
    })
    if (overlong) this.#askedOverlong.add(task)
    if (crowdedNow && action.do === 'retry' && counted > this.#options.retries) task.doubtGrace = true
    // A proxy's own limit (its 429 to a CONNECT, or a 503 naming a wait: a rotating proxy past its
    // limit) is the proxy's, whatever the host: every file through it waits, not this one alone
    // (100 files through a proxy that asked for 2 s were each refused in those 2 s; one refusing
    // for 2 s with no wait named had 373 CONNECTs refused and 2 files failed for good).
    const proxyWait = proxyLimitWait({
      proxy: e.code === 'proxy',
      limit: errorCode(e.cause) === PROXY_LIMIT,
      retryAfter: e.retryAfter,
      maxRetryAfter: this.#options.maxRetryAfter,
      attempts: task.attempts,
    })
    const covers = proxyWait && this.#proxySilence.sameProxy(answeredBy)
    if (covers) this.#scheduler.pauseAll(covers, proxyWait)
    if (action.do === 'fail') {
      const held = { crowded: crowdedNow && crowding.accepted, accepted: crowding.accepted, sentAt }
      this.#explain(task, e, action, answeredBy, held, trickled, resumable)
      this.#run.fail(task, e)
      this.#wakeGivenUp(answeredBy)
      return
    }
    task.retriedFor = e
    if (action.pauseHost) {
      // A host that asks us to wait even at one transfer at a time: all of it waits the time it
      // named, other hosts go on.
      this.#scheduler.pause(answeredBy, action.delay)
      this.#scheduler.add(host, task, true)
      return
    }
    this.sleeping.add({ task, host }, action.delay, e.refused ? answeredBy : undefined)
    this.#wakeGivenUp(answeredBy)
  }

  /**
   * `e` as the proxy's fault where it is one: a proxy that is no HTTP proxy (its refusal of a
   * CONNECT, a 501, a TLS proxy spoken to in plain), or a 4xx to an http:// URL that the proxy
   * wrote itself (see `ProxySilence.refusal`, `ProxySilence.ownAnswer`); else `e` as it is.
   */
  async #asProxyFault(
    task: Task,
    error: ImgpullError,
    status: number | undefined,
    answeredBy: string,
  ): Promise<ImgpullError> {
    let e = error
    if (e.code === 'proxy' || status === 501 || status === 400 || errorCode(e.cause) === PROXY_TLS) {
      const words = await this.#proxySilence.refusal(answeredBy, e)
      // Not an HTTP proxy: every attempt would meet the same (see `ProxySilence.refusal`).
      if (words)
        e = new ImgpullError(e.code === 'tls' ? 'tls' : 'proxy', e.message + words, { cause: e.cause })
      if (this.#run.aborted()) return e
    }
    // A 4xx to an http:// URL that the proxy wrote itself is the proxy's fault, not the image's.
    if (
      e instanceof HTTPError &&
      e.status >= 400 &&
      e.status < 500 &&
      e.status !== 407 &&
      e.status !== 408 &&
      e.status !== 429
    ) {
      const words = await this.#proxySilence.ownAnswer(answeredUrl(task.url, answeredBy), e.status)
      if (words) e = new ImgpullError('proxy', e.message + words, { cause: e })
    }
    return e
  }

  /**
   * Whether the attempt that failed with `code` moved a resumable part file forward, by at least
   * `MIN_PROGRESS_BYTES`; such an attempt is not held against the retries (`task.freeAttempts`,
   * see `progressFree`). With --retries 0 one attempt is all the user allows, progress or not.
   */
  async #movedOn(task: Task, code: string, resumable: boolean): Promise<boolean> {
    if (this.#options.retries <= 0 || !keepsPart(code, resumable) || !task.bodies) return false
    const after = await sizeOnDisk(task.part)
    const { from: before, anew, count: bodies } = task.bodies
    const free = task.freeAttempts ?? 0
    if (progressFree({ code, resumable, continued: !anew, before, after, free, bodies }))
      task.freeAttempts = (task.freeAttempts ?? 0) + 1
    return !anew && after - before >= MIN_PROGRESS_BYTES
  }

  /**
   * Add to the message of `e`, the error `task` fails with, what the run knows of why: the host or
   * its proxy out of reach or given up, a trickle, a wait asked past the file's time, a file cut
   * that no resume could continue. `held.crowded`: refused while its host held another of its
   * transfers; `held.accepted`: another of its host's transfers held its slot, taken, when this
   * one's request went out (see `Scheduler.crowding`); `held.sentAt`: when it went out.
   */
  #explain(
    task: Task,
    e: ImgpullError,
    action: Extract<FailureAction, { do: 'fail' }>,
    answeredBy: string,
    held: { crowded: boolean; accepted: boolean; sentAt: number },
    trickled: boolean,
    resumable: boolean,
  ): void {
    const unreached = this.#proxySilence.unreachable(answeredBy, e)
    if (unreached) e.message += `: ${unreached}; the proxy's other files are not tried in this run`
    const refused = this.#proxySilence.gatewayRefused(answeredBy, e)
    if (refused) e.message += refused
    // The host's own certificate or handshake (not an https:// proxy's: ProxySilence's).
    if (e.code === 'tls' && errorCode(e.cause) !== PROXY_TLS)
      e.message += this.#scheduler.tlsRefused(answeredBy, e.message) ?? ''
    // A new connection of the host's own reset or closed before any answer (through a proxy, it
    // may be the proxy's doing: see ProxySilence), while none of its connections was taken (one
    // was, its answer slow to come: the resets are the host's limit of connections).
    if (e.code === 'network' && e.pressure && !held.accepted && !this.#proxySilence.sameProxy(answeredBy))
      e.message += this.#scheduler.turnedAway(answeredBy, errorCode(e.cause), held.sentAt) ?? ''
    if (trickled)
      e.message += this.#scheduler.trickled(answeredBy, duration(this.#options.totalTimeout)) ?? ''
    // Refused while the host held another of its transfers (see `Scheduler.crowding`): at its
    // limit, not out of reach; its other files go on.
    const outOfReach = held.crowded
      ? undefined
      : this.#scheduler.outOfReach(answeredBy, e.code, errorCode(e.cause), held.sentAt)
    if (outOfReach)
      e.message += `: ${outOfReach}, no request this run reached it; its other files are not tried in this run`
    if (action.pauseHost) this.#scheduler.pause(answeredBy, action.pauseHost)
    if (action.giveUpHost) {
      const asked = overlongWords(
        action.giveUpHost.ms,
        (e as HTTPError).waitFrom,
        this.#options.maxRetryAfter,
      )
      this.#scheduler.giveUp(
        answeredBy,
        { code: e.code, why: `${answeredBy} ${asked}` },
        action.giveUpHost.ms,
      )
      e.message += `: not retried, the server ${asked}; its other files are not tried in this run`
    }
    if (action.giveUpFile)
      e.message += `: not retried, the server ${overlongWords(action.giveUpFile.ms, (e as HTTPError).waitFrom, this.#options.maxRetryAfter)}`
    e.message += truncatedWords(e, task, resumable)
    if (action.tooLate) {
      const { ms, named } = action.tooLate
      const wait = named
        ? `the wait it asked for (${e.waitFrom}: ${duration(ms)})`
        : `the next wait (${duration(ms)})`
      e.message += `: not retried, ${wait} would run past --total-timeout`
    }
  }

  /**
   * When `answeredBy` (or its proxy) was just given up for the run, wake the retries sleeping out
   * a backoff there, so they fail now, unsent, rather than each when its timer fires (a list
   * through a dead proxy held its last files for their whole backoff). Once per give-up.
   */
  #wakeGivenUp(answeredBy: string): void {
    const givenUp = this.#givenUp(answeredBy)
    if (givenUp === undefined || this.#swept.has(givenUp)) return
    this.#swept.add(givenUp)
    this.sleeping.wakeIf(({ host }) => this.#givenUp(host) !== undefined)
  }
}

/** A `network` failure whose name lookup failed for now (EAI_AGAIN), as `FailureFacts.lookupFailed` has it. */
function lookupFailedFor(e: ImgpullError): FailureFacts['lookupFailed'] {
  if (e.code !== 'network' || errorCode(e.cause) !== 'EAI_AGAIN') return undefined
  return { unanswered: unansweredLookup(e)?.inARow }
}

/** Why a wait asked again is not taken: `ms` as the server named it (`from`: `Retry-After`...). */
function overlongWords(ms: number, from: string | undefined, maxRetryAfter: number): string {
  return `asked again for a wait of ${duration(ms)} (${from}), longer than --max-retry-after (${duration(maxRetryAfter)}) and the file's --total-timeout`
}

/**
 * Why the file `task` fails `truncated` with was not made whole by a later attempt, for its
 * message (`''`: no more to say): the server or a cache marked a cut copy whole, or every attempt
 * started over for want of proof that a later answer is the same file. Pure.
 */
function truncatedWords(e: ImgpullError, task: Task, resumable: boolean): string {
  // Every attempt started over: say why, or the cut alone reads as a host imgpull gave up on
  // too soon (aria2c and wget2 would have continued, joining bytes of answers nothing ties together).
  // An encoded body, or a resume answered in a form not taken: that is the reason, whatever the validators.
  const unresumable = task.bodies?.unresumable ?? (task.wrapsRanges ? WRAPS_RANGES : undefined)
  // An answer that ended where the server marked its end, the file cut all the same: its copy is
  // (a failed upload, a disk that filled as it was written). Validators are not the reason then.
  if (e.code === 'truncated' && e.markedWhole !== undefined && e.markedByCache !== undefined)
    // A cache's stored copy, cut: the server's may be whole (a Squid that stored a body cut
    // short of its unstated length serves it with a length of its own).
    return `: a cache on the way served it (${e.markedByCache}) and marked it whole at ${e.markedWhole} bytes, so the copy it stored is cut short${BODY_FAULTS.has(task.retriedFor?.code ?? '') ? ", served again to the retry that asked for the server's copy (no-cache)" : ''}: no resume could continue it`
  if (e.code === 'truncated' && e.markedWhole !== undefined)
    return `: the server marked its answer whole at ${e.markedWhole} bytes (its length met, its last chunk, its HTTP/2 stream's end or its gzip, deflate or Brotli stream's own end sent), so its copy of the file (or the length it states) is cut short: no resume could continue it`
  if (
    e.code === 'truncated' &&
    (unresumable || !resumable) &&
    task.attempts > 1 &&
    !task.continued &&
    task.bytesEarlier
  )
    return unresumable
      ? `: not resumed, ${unresumable}, so each of the ${task.attempts} attempts started over`
      : `: not resumed, the server sent neither a strong ETag or Last-Modified nor the file's size to prove a later answer is the same file, so each of the ${task.attempts} attempts started over`
  return ''
}
