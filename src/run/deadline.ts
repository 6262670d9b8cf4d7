import type { Cancel } from '../fetch/exchange.js'
import {
  type BodyPace,
  paceWords,
  sharedAtDeadline,
  steadyAtDeadline,
  stoppedAt,
  trickledOut,
} from '../fetch/steady-body.js'
import { formatDuration } from '../report/format.js'

/**
 * Said of a total timeout that cut an attempt in its body: a body that trickles in (a byte a
 * second) is never silent for --idle-timeout, so only this ends it; the user sees a slow server,
 * not an unexplained "total timeout" (curl: "Operation timed out ... with 5000 out of 20000 bytes").
 */
export const STILL_COMING =
  'its body was under way and had not ended (a body that trickles in is cut by this, --idle-timeout cuts only silence)'
/**
 * Said of a total timeout that cut a body given the time once more at the deadline, its pace
 * then being one that would have ended it in that time (see `steadyAtDeadline`).
 */
const overran = (pace: string) =>
  `its body was under way and had not ended in twice --total-timeout, the time a body is given when its pace at --total-timeout (${pace} then) would end it within as long again`
/**
 * Said of a total timeout that cut a body with no length (chunked, or read to the close): it may
 * have been steady, so not said to trickle; with no length, the rest could not be measured.
 */
const unmeasured = (pace: string) =>
  `its body was under way at ${pace}, with no Content-Length to tell how much was left (a body so is not given more time), and had not ended`

/**
 * Said of a total timeout that cut a body silent at the deadline (see `stoppedAt`): it had
 * stopped, where it stopped, and for how long; not a trickle (the idle timeout, set longer, had not
 * yet cut the silence).
 */
const stopped = (pace: BodyPace, silentMs: number) =>
  pace.got <= 0
    ? `its head came and no byte of its body after it (silent ${formatDuration(silentMs)}; --idle-timeout, longer, had not yet cut it)`
    : `its body had stopped after ${pace.got}${pace.length === undefined ? '' : ` of ${pace.length}`} bytes, nothing coming for its last ${formatDuration(silentMs)} (--idle-timeout, longer, had not yet cut it)`

/** What a total timeout says of the body it cut: the time the body was given (ms), and how it was cut. */
export interface CutWords {
  ms: number
  words: string
}

/**
 * What the total timeout (`totalMs`) that cuts an attempt at `now` says of its body, where
 * `STILL_COMING` would not be true: one given the time once more at the deadline (its pace then in
 * words, `overtime`) overran twice `totalMs`; one with no length that had brought bytes was cut at
 * its pace, the rest unmeasured. Otherwise undefined. Pure, table-tested (test/policies.test.ts).
 */
export function deadlineWords(
  pace: BodyPace | undefined,
  now: number,
  totalMs: number,
  overtime: string | undefined,
): CutWords | undefined {
  const silent = stoppedAt(pace, now)
  if (pace && silent !== undefined)
    return { ms: overtime === undefined ? totalMs : 2 * totalMs, words: stopped(pace, silent) }
  if (overtime !== undefined) return { ms: 2 * totalMs, words: overran(overtime) }
  if (pace && pace.length === undefined && pace.got > 0)
    return { ms: totalMs, words: unmeasured(paceWords(pace, now)) }
  return undefined
}

/**
 * One attempt's `--total-timeout`: at `remaining` ms it cuts the attempt (`cancel`), unless its body
 * is slow but steady (see `steadyAtDeadline`), which is given `totalMs` once more. What it found
 * when it cut is kept for the failure's words. `clear` once the attempt ends.
 */
export class AttemptDeadline {
  /** This attempt's body under way, measured (see `steadyAtDeadline`). */
  pace: BodyPace | undefined
  /** The deadline cut the attempt. */
  pastDeadline = false
  /** What the total timeout says of the body it cut, where STILL_COMING would not be true. */
  cutWords: CutWords | undefined
  /** The deadline cut a body that had the file's time (see `trickledOut`), not one that shared a link. */
  trickled = false
  /**
   * The deadline cut a body slow for sharing a link with its host's other bodies (see
   * `sharedAtDeadline`): the host took more at once than the link carries in the file's time.
   */
  shared = false
  /** `performance.now()` at its file's `--total-timeout` (the first deadline, before any time once more). */
  readonly endsAt: number
  /** Its body was weighed with its host's others (see `giveWay`): once an attempt. */
  weighed = false
  /** It gave way to its host's other bodies (see `giveWay`), and is to be sent again. */
  gaveWay = false
  /** Whether it may give way (see `SharedBody.movable`). */
  movable: () => boolean = () => false
  /** Its pace in words when, at the deadline, it was given the time once more. */
  #overtime: string | undefined
  #timer: NodeJS.Timeout
  readonly #totalMs: number
  readonly #cancel: Cancel
  readonly #together: () => number

  /** `together`: the paces of the host's bodies under way added up, bytes a second (see `sharedAtDeadline`). */
  constructor(remaining: number, totalMs: number, cancel: Cancel, together: () => number = () => 0) {
    this.#totalMs = totalMs
    this.#cancel = cancel
    this.#together = together
    this.endsAt = performance.now() + remaining
    this.#timer = setTimeout(this.#atDeadline, Math.max(1, remaining))
  }

  /** Withdraw the attempt, giving way to its host's other bodies (see `giveWay`): no deadline cut. */
  giveWay(): void {
    if (this.pastDeadline) return
    this.gaveWay = true
    clearTimeout(this.#timer)
    this.#cancel.abort()
  }

  readonly #atDeadline = (): void => {
    if (this.gaveWay) return
    const now = performance.now()
    if (this.#overtime === undefined && steadyAtDeadline(this.pace, now, this.#totalMs)) {
      // Slow but steady: a poor link's 50 kB/s for a 40 MB image is not a trickle's 100 B/s.
      this.#overtime = paceWords(this.pace!, now)
      this.#timer = setTimeout(this.#atDeadline, this.#totalMs)
      return
    }
    this.cutWords = deadlineWords(this.pace, now, this.#totalMs, this.#overtime)
    this.shared = sharedAtDeadline(this.pace, now, this.#totalMs, this.#together())
    // A body slow for its share of a link says nothing of the host trickling it.
    this.trickled = !this.shared && trickledOut(this.pace, now, this.#totalMs)
    this.pastDeadline = true
    this.#cancel.abort()
  }

  clear(): void {
    clearTimeout(this.#timer)
  }
}
