// When a host's silence (requests cut by a timeout, no answer; bodies stopped, no file served) is
// long enough to give it up: counted by the scheduler for a host, by `ProxySilence` for a proxy.

/**
 * A host that has answered nothing in this run is given up after this many requests in a row cut
 * by the connect or headers timeout (see `Scheduler.unanswered`): a black hole (a firewall that
 * drops the packets, a server that accepts and never answers). Its limit falls to one at a time
 * under those timeouts, so each of its files would otherwise cost its attempts times the timeout
 * in turn: about 4 hours for 100 files with the defaults, the run's end waiting for it. One that
 * has answered is counted from its last answer (one that served its first files and went
 * silent cost the same), and the silence must outlast its first timeout: at least one of the
 * requests counted was sent after another was cut. The starting per-host limit's first round is
 * 16 at once, all cut together by a cold start longer than the timeout (a server waking up, a
 * thumbnailer filling its cache), which the retries after it find warm. A host that answers
 * every request's head and stops every body (a path-MTU black hole: small packets pass, full
 * ones are dropped; a broken edge) costs the same, counted by the idle timeout (see
 * `Scheduler.stalled`) from the last file it served.
 */
export const SILENT_AFTER = 16

/** Requests to a host (or through a proxy) in a row that came to nothing (see `SILENT_AFTER`). */
export interface Silence {
  count: number
  /** `performance.now()` when the first of them was cut. */
  since?: number
  /** One of them was sent after the first was cut: the silence outlasted a timeout. */
  outlasted?: boolean
}

/**
 * `silence` grows by one request, sent at `sentAt` and cut at `now`: whether it is now long
 * enough to give the host up, `SILENT_AFTER` in a row, one sent after the first was cut.
 */
export function lengthens(silence: Silence, sentAt: number, now: number): boolean {
  silence.count++
  silence.since ??= now
  if (sentAt > silence.since) silence.outlasted = true
  return silence.count >= SILENT_AFTER && silence.outlasted === true
}

/**
 * How long the processes sharing a gate hold a silent host given up once one of them gave it up
 * (see `SILENT_AFTER`), ms: the next run of a shard to meet it after that probes it again, a
 * round of 16 at once. A host that asked for a wait longer than imgpull takes is held for that wait.
 */
export const SILENT_SHARED_MS = 10 * 60_000
