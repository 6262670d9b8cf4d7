import type { RunStats } from '../types.js'
import { formatBytes, formatDuration, grouped } from './format.js'
import type { Tally } from './summary.js'

/** Redraws per second: enough to feel live, few enough to cost nothing. */
const FPS = 8

/**
 * The progress figures as one line: done/total, failed, in flight, bytes, rate (bytes per second),
 * ETA from the pace so far (`elapsedMs` since the run started, over the files this run fetched:
 * those a rerun skips as done before take no time), or, when longer, the wait of the
 * last file waiting to retry (`waitLeft`): with every file left waiting out a server's
 * `Retry-After`, the pace of those done said `ETA 0.0 s` for as long as the wait. A run told to
 * stop (`stopping`: a Ctrl-C, a SIGTERM) says `stopping` in the ETA's place: the files left are
 * for the next run, and the pace of those done said `ETA 9.2 s` under `Stopping: finishing
 * transfers in flight`.
 *
 * `width` (columns; default: no limit) fits it on one line of a terminal that narrow: the figures
 * are left out least useful first (in flight, bytes, rate, then the ETA), and what is still too
 * long is cut, ending in `…`. Wider than its terminal, the line was wrapped into two, a figure cut
 * in the middle (`540.` above `1 kB`), and a terminal that re-wraps its lines when made narrower
 * left a stale copy of it above the new one at each resize.
 */
export function progressText(
  t: Tally,
  stats: Pick<RunStats, 'active' | 'bytes' | 'duplicates'> & { waitLeft?: number; stopping?: boolean },
  total: number | undefined,
  rate: number,
  elapsedMs: number,
  width = Number.POSITIVE_INFINITY,
): string {
  const done = t.ok + t.skipped + t.failed + t.failedBefore
  // The total counts every line of the lists, a URL given twice included: its second line is
  // handled too (skipped as a duplicate), or a finished run would stand at 90/100 (90%).
  const handled = done + stats.duplicates
  // Without a total (a list on stdin, a table still being read), a bare `30` said nothing of what it counted.
  let count = `${grouped(done)} done`
  let eta = ''
  if (total !== undefined && total > 0) {
    const left = Math.max(0, total - handled)
    count = `${grouped(handled)}/${grouped(total)} (${Math.floor((100 * handled) / total)}%)`
    // The pace counts only what this run fetched: a rerun's files done before (skipped, or failed
    // for good) are passed over in an instant, and 990 of them made 10 files left look like 0.1 s.
    const fetched = t.ok + t.failed
    const pace = fetched > 0 ? (elapsedMs / fetched) * left : 0
    const wait = stats.waitLeft ?? 0
    if (stats.stopping) eta = 'stopping'
    else if (left > 0 && wait > pace) eta = `ETA ${formatDuration(wait)} (waiting to retry)`
    else if (fetched > 0 && left > 0) eta = `ETA ${formatDuration(pace)}`
  }
  // Each figure with the rank it is left out in when the line must be shorter (0: never).
  const figures: [string, number][] = [
    [count, 0],
    [t.failed ? `${grouped(t.failed)} failed` : '', 0],
    [`${grouped(stats.active)} active`, 1],
    [formatBytes(stats.bytes), 2],
    [`${formatBytes(rate)}/s`, 3],
    [eta, stats.stopping ? 0 : 4],
  ]
  const line = (drop: number) =>
    figures
      .filter(([text, rank]) => text !== '' && (rank === 0 || rank > drop))
      .map(([text]) => text)
      .join(' · ')
  let drop = 0
  while (line(drop).length > width && drop < 4) drop++
  const fitted = line(drop)
  return fitted.length > width ? `${fitted.slice(0, Math.max(0, width - 1))}…` : fitted
}

/** The run's figures the progress text reads, and whether the run was told to stop. */
function shownStats({ active, bytes, duplicates, waitLeft }: RunStats, stopping: boolean) {
  return { active, bytes, duplicates, waitLeft, stopping }
}

/** Seconds between two lines of a progress log, unless `IMGPULL_PROGRESS_INTERVAL` says otherwise. */
export const PROGRESS_LOG_SECONDS = 60

/**
 * Progress where there is no live terminal (a CI job, `2> log`): the same figures as a plain line
 * every `seconds`, no carriage return and no escape code. Silent until the run ends, a long run
 * was stopped by CI runners that end a job after 10 minutes without output (CircleCI, Travis:
 * chromatic-cli#675). `print` writes a line (as failures are written).
 */
export class ProgressLog {
  /** Set once the run is told to stop: its lines say so in the ETA's place. */
  stopping = false
  readonly #timer: NodeJS.Timeout
  readonly #started = performance.now()
  #lastBytes = 0
  #lastAt = performance.now()

  constructor(
    readonly print: (line: string) => void,
    readonly tally: Tally,
    readonly stats: RunStats,
    readonly total: () => number | undefined,
    seconds = PROGRESS_LOG_SECONDS,
  ) {
    this.#timer = setInterval(() => this.write(), seconds * 1000)
    this.#timer.unref()
  }

  write(): void {
    const now = performance.now()
    // The mean rate since the last line: a log line stands for its whole interval.
    const rate = now > this.#lastAt ? ((this.stats.bytes - this.#lastBytes) * 1000) / (now - this.#lastAt) : 0
    this.#lastBytes = this.stats.bytes
    this.#lastAt = now
    const stats = shownStats(this.stats, this.stopping)
    this.print(`imgpull: ${progressText(this.tally, stats, this.total(), rate, now - this.#started)}`)
  }

  stop(): void {
    clearInterval(this.#timer)
  }
}

/** What draws the live line: log-update's `createLogUpdate` result, or {@link anchoredDraw}'s. */
export interface Draw {
  (text: string): void
  clear(): void
  done(): void
}

/** Keep writes of one frame together: a terminal that knows it draws them at once (mode 2026). */
const SYNC_ON = '\x1b[?2026h'
const SYNC_OFF = '\x1b[?2026l'
const HIDE_CURSOR = '\x1b[?25l'
const SHOW_CURSOR = '\x1b[?25h'

/**
 * A one-row line drawn with the cursor left at its start, not on the row below it (log-update's
 * way): each frame is `CR`, erase to the end of the screen (`ESC[J`), the text, `CR`. A terminal
 * made narrower that re-wraps its rows (VTE's GNOME Terminal, Konsole, kitty, iTerm2, Windows
 * Terminal, tmux) splits the line into two or three and keeps the cursor at the text it stood on,
 * the line's start: the erase takes every row of it, where log-update, moving up the one row it
 * had drawn, left the others above the new line, one stale copy a resize (tqdm/tqdm#783). A
 * terminal that cuts its rows instead (xterm) has the line on one row still: the same erase.
 * `text` must fit in one row (`progressText`'s `width`).
 */
function anchoredDraw(stream: Pick<NodeJS.WriteStream, 'write'>): Draw {
  let shown = ''
  let hidden = false
  const show = () => {
    if (hidden) stream.write(SHOW_CURSOR)
    hidden = false
  }
  const draw = (text: string) => {
    if (text === shown) return
    // The cursor is hidden while the line is there, shown again when the process exits whatever the way.
    if (!hidden) process.once('exit', show)
    stream.write(`${SYNC_ON}${hidden ? '' : HIDE_CURSOR}\r\x1b[J${text}\r${SYNC_OFF}`)
    hidden = true
    shown = text
  }
  draw.clear = () => {
    if (shown !== '') stream.write('\r\x1b[J')
    shown = ''
  }
  draw.done = () => {
    process.removeListener('exit', show)
    show()
  }
  return draw
}

/** One live line on a terminal: done/total, failed, bytes, rate, ETA. */
export class ProgressLine {
  /** Set once the run is told to stop: the line says so in the ETA's place. */
  stopping = false
  readonly #draw: Draw
  readonly #timer: NodeJS.Timeout
  readonly #started = performance.now()
  #lastBytes = 0
  #lastAt = performance.now()
  #rate = 0

  constructor(
    draw: Draw | undefined,
    readonly tally: Tally,
    readonly stats: RunStats,
    /** Total inputs, once known (counted in the background for list files). */
    readonly total: () => number | undefined,
    /** The terminal: stderr. */
    readonly stream: Pick<NodeJS.WriteStream, 'write' | 'columns'> = process.stderr,
  ) {
    this.#draw = draw ?? anchoredDraw(stream)
    this.#timer = setInterval(() => this.render(), 1000 / FPS)
    this.#timer.unref()
  }

  render(): void {
    const now = performance.now()
    const dt = now - this.#lastAt
    if (dt > 0) {
      // Smoothed rate, so the figure does not jump with every file. With nothing in flight and
      // nothing moved, it is 0 at once: it fell by a fifth a frame, redrawn for seconds, and each
      // redraw erased the line typed under it (`imgpull -` waiting for the next URL on a terminal).
      const instant = ((this.stats.bytes - this.#lastBytes) * 1000) / dt
      const idle = this.stats.active === 0 && instant === 0
      this.#rate = idle ? 0 : this.#rate === 0 ? instant : 0.8 * this.#rate + 0.2 * instant
    }
    this.#lastBytes = this.stats.bytes
    this.#lastAt = now
    // One column is left free: a line that fills its row leaves the cursor past its end, and a
    // terminal that re-wraps on a resize moves that to a row of its own.
    const width = Math.max(1, (this.stream.columns || 80) - 1)
    const stats = shownStats(this.stats, this.stopping)
    this.#draw(progressText(this.tally, stats, this.total(), this.#rate, now - this.#started, width))
  }

  /** Print a message above the line: it stays on screen, and the line is drawn again below it. */
  print(message: string): void {
    this.#draw.clear()
    this.stream.write(`${message}\n`)
    this.render()
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#draw.clear()
    this.#draw.done()
  }
}

/**
 * A terminal as log-update sees it: one that reports no size (a pty of 0×0, as `script` with no
 * terminal above it or `docker exec -t` before its first resize make) is 80×24, not room for
 * nothing, where log-update would draw an empty line on every frame.
 */
function sized(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  return new Proxy(stream, {
    get(target, key) {
      if (key === 'columns') return target.columns || 80
      if (key === 'rows') return target.rows || 24
      const value = Reflect.get(target, key, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/**
 * A progress line. Where URLs are typed at the same terminal (`imgpull -`), it is log-update's,
 * the cursor on the row below it, where what is typed goes (at the line's start, it would be
 * typed over the figures); log-update is loaded only then (it costs 50 ms of start-up).
 */
export async function createProgressLine(
  tally: Tally,
  stats: RunStats,
  total: () => number | undefined,
  typedHere = false,
) {
  if (!typedHere) return new ProgressLine(undefined, tally, stats, total)
  const { createLogUpdate } = await import('log-update')
  return new ProgressLine(createLogUpdate(sized(process.stderr)), tally, stats, total)
}
