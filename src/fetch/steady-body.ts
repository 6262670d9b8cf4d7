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

/** A body of a host's under way, as `giveWay` weighs it. */
export interface SharedBody {
  pace: BodyPace | undefined
  /** Ms left, at `now`, until its file's `--total-timeout`. */
  leftMs: number
  /** It may be withdrawn and sent again later from its bytes on disk (resumable, not withdrawn before). */
  movable: boolean
}

/**
 * Which of a host's bodies under way give way to the others (their indexes in `bodies`), when
 * together they are more than the link carries before their files' `--total-timeout`: a fair link
 * (a hotel Wi-Fi, a hotspot) shares its bandwidth evenly, so all of them end together, each past
 * its deadline, and each file fails with its bytes on disk. 16 bodies of 200 KB through 300 KB/s
 * with 2 s each: 0.5 s in, their paces add up to 300 KB/s, so 450 KB more cross before the
 * deadline: 2 bodies' rest (190 KB each), not 16. The bodies least far from their end stay, while
 * their rests added up come within the time left at `together` (bytes a second, the paces of all
 * the host's bodies under way added up); the others, `movable` ones only, give way, to be sent
 * again (resumed) once there is room, and `keep` is how many stay. Nothing gives way when every
 * body comes in time, or would at its own pace with the time once more a steady body is given
 * (`totalMs`, see `steadyAtDeadline`: a server that caps each connection, where fewer at once
 * would not make each faster), or when not even one would (a tarpit trickles each body whatever the others
 * do: 16 of 100 B/s are 1.6 kB/s together; a link too poor for one file): the deadline judges
 * those as before (see `sharedAtDeadline`). Bodies with no length, none of their bytes yet, or
 * stopped are not weighed (they stay). Pure, table-tested (test/policies.test.ts).
 */
export function giveWay(
  bodies: readonly SharedBody[],
  now: number,
  totalMs: number,
  together: number,
): { withdraw: number[]; keep: number } {
  const none = { withdraw: [], keep: bodies.length }
  if (!(together > 0)) return none
  const weighed: { i: number; rest: number; leftMs: number; movable: boolean }[] = []
  let lateAlone = false
  for (const [i, b] of bodies.entries()) {
    const p = b.pace
    if (!p || p.length === undefined || p.got <= 0 || stoppedAt(p, now) !== undefined) continue
    const rest = Math.max(0, p.length - p.got)
    weighed.push({ i, rest, leftMs: b.leftMs, movable: b.movable })
    // At its own pace, within the time left and the time once more a steady body is given at the
    // deadline (see `steadyAtDeadline`): a server that caps each connection, not a shared link.
    const pace = paceOf(p, now)
    if (!(pace > 0) || (rest * 1000) / pace > b.leftMs + totalMs) lateAlone = true
  }
  if (!lateAlone) return none
  // Those that cannot give way stay whatever: they come first; then the nearest their end.
  weighed.sort((a, b) => (a.movable === b.movable ? a.rest - b.rest : a.movable ? 1 : -1))
  type Weighed = (typeof weighed)[number]
  // When each of `kept` ends, the link shared evenly among those under way (processor sharing):
  // by rest, the i-th ends once it and those before it came, with the rest sharing meanwhile.
  const lateOnes = (kept: Weighed[]): Set<Weighed> => {
    const byRest = [...kept].sort((a, b) => a.rest - b.rest)
    const late = new Set<Weighed>()
    let before = 0
    for (const [i, w] of byRest.entries()) {
      if (((before + (byRest.length - i) * w.rest) * 1000) / together > w.leftMs) late.add(w)
      before += w.rest
    }
    return late
  }
  const kept: Weighed[] = []
  const withdraw: number[] = []
  for (const w of weighed) {
    if (!w.movable) {
      kept.push(w)
      continue
    }
    // It stays where it ends in time and makes none that did late.
    const lateBefore = lateOnes(kept)
    const lateAfter = lateOnes([...kept, w])
    const harms = [...lateAfter].some((x) => x === w || !lateBefore.has(x))
    if (harms) withdraw.push(w.i)
    else kept.push(w)
  }
  const fits = kept.length - lateOnes(kept).size
  if (fits === 0 || withdraw.length === 0) return none
  return { withdraw: withdraw.sort((a, b) => a - b), keep: bodies.length - withdraw.length }
}
