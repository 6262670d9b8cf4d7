import { formatBytes } from '../report/format.js'

/**
 * What the engine knows of an attempt's body under way, to judge it at `--total-timeout`: when it
 * began (`performance.now()`), the bytes its answer is to bring (`length`; undefined without a
 * `Content-Length`), and those that came.
 */
export interface BodyPace {
  began: number
  length: number | undefined
  got: number
  /** `performance.now()` when its latest bytes came (undefined: none came). */
  last?: number
  /** The longest silence between two of its reads so far, ms. */
  gap?: number
}

/** The least silence at the deadline that makes a body one that stopped (see `stoppedAt`), ms. */
const STOPPED_MS = 100

/**
 * How long (ms) the body under way had been silent at `now`, when it had stopped: nothing came
 * after its head, or nothing for a tenth of the time it has been coming, twice its longest silence before (a
 * trickle's 1 kB every half second is no stop) and at least 100 ms;
 * undefined while it still came. Such a body is no trickle and no slow but steady one (a half that
 * came in a burst, then silence, measured as a pace of its own): cut at the deadline, said to have
 * stopped. Pure, table-tested (test/policies.test.ts).
 */
export function stoppedAt(pace: BodyPace | undefined, now: number): number | undefined {
  if (!pace) return undefined
  if (pace.got <= 0) return now - pace.began
  // Bytes whose time was not kept: taken as still coming.
  if (pace.last === undefined) return undefined
  const since = now - pace.last
  return since >= Math.max(STOPPED_MS, (now - pace.began) / 10, 2 * (pace.gap ?? 0)) ? since : undefined
}

/**
 * Whether a body under way when the file's `--total-timeout` (`totalMs`) ran out is a slow but
 * steady one, given that time once more: at the pace it came at since it began, the rest of its
 * length would come within `totalMs`. A body that trickles in (100 B/s of 5 MB, a byte a second)
 * would take far longer, and is cut there; so is one whose length is not known (nothing to
 * measure the rest by), and one of which nothing came. curl (`--speed-limit`), aria2c
 * (`--lowest-speed-limit`) and wget2 set no such bound by default, and cut no slow body at all.
 * Pure, table-tested (test/policies.test.ts).
 */
export function steadyAtDeadline(pace: BodyPace | undefined, now: number, totalMs: number): boolean {
  if (!pace || pace.length === undefined || pace.got <= 0 || stoppedAt(pace, now) !== undefined) return false
  const elapsed = now - pace.began
  if (!(elapsed > 0)) return false
  const left = Math.max(0, pace.length - pace.got)
  return (left * elapsed) / pace.got <= totalMs
}

/**
 * Whether a body cut by the file's `--total-timeout` (`totalMs`) at `now` had the file's time: it
 * had been coming, bytes and all, for at least half of it. Such a cut says the host trickled the
 * body (see `Scheduler.trickled`); one begun late, after waits and retries spent the time, or one
 * of which nothing came (a silence, the idle timeout's to judge), says nothing of that. Pure,
 * table-tested (test/policies.test.ts).
 */
export function trickledOut(pace: BodyPace | undefined, now: number, totalMs: number): boolean {
  return (
    pace !== undefined &&
    pace.got > 0 &&
    now - pace.began >= totalMs / 2 &&
    stoppedAt(pace, now) === undefined
  )
}

/** A body's pace since it began, bytes a second (0 when nothing came, or it has not begun). */
export function paceOf(pace: BodyPace, now: number): number {
  const elapsed = now - pace.began
  return elapsed > 0 && pace.got > 0 ? (pace.got * 1000) / elapsed : 0
}

/**
 * Whether a body under way at its file's `--total-timeout` (`totalMs`) was slow because it shared
 * a slow link with its host's other bodies under way (a hotel Wi-Fi, a hotspot: one bandwidth for
 * every transfer), not because the host trickled it: at `together` (bytes a second, the paces of
 * the host's bodies under way added up, this one's included), the rest of its length would come
 * within `totalMs`. 16 bodies of 200 KB through 300 KB/s each come at 19 KB/s, a pace that brings
 * none in 2 s, while one alone comes in 0.7 s. A tarpit trickles each body whatever the others do
 * (16 of 1 B/s are 16 B/s together), and a body that stopped or has no length is judged as before.
 * Pure, table-tested (test/policies.test.ts).
 */
export function sharedAtDeadline(
  pace: BodyPace | undefined,
  now: number,
  totalMs: number,
  together: number,
): boolean {
  if (!pace || pace.length === undefined || pace.got <= 0 || stoppedAt(pace, now) !== undefined) return false
  if (!(together > 0)) return false
  const left = Math.max(0, pace.length - pace.got)
  return (left * 1000) / together <= totalMs
}

/** The pace of a body, in words (`48.0 kB/s`, `100 B/s`), for a message. */
export const paceWords = (pace: BodyPace, now: number): string =>
  `${formatBytes((pace.got * 1000) / Math.max(1, now - pace.began))}/s`
