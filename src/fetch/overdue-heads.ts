import { closeIdleOf } from './origin-pool.js'

/**
 * How long a request waits for its head before its origin's idle keep-alive connections are
 * closed, ms. A server with one thread that serves one connection at a time (an IP camera or an
 * ESP32's web server, Python's `http.server` speaking HTTP/1.1) waits on our idle keep-alive
 * connection for its next request, while our other requests sit in its accept backlog: 20 files
 * took 51 s there, each stall lasting until a keep-alive or headers timeout, where wget2, opening
 * a connection per file, took under a second.
 */
export const HEAD_OVERDUE_MS = 1_000

/** While heads are overdue on an origin, its idle connections are closed this often, ms. */
const SWEEP_MS = 250

/** Requests to each origin whose head is overdue, and the sweep that runs meanwhile. */
const overdue = new Map<string, { count: number; sweep: NodeJS.Timeout }>()

/**
 * A request to `origin` has waited `HEAD_OVERDUE_MS` for its head on a connection that answered
 * nothing before (one reused is a slow answer: a server slow to make its images keeps its
 * connections, idle ones included, whose next request would otherwise open one anew): its idle connections are
 * closed now, after each file it serves meanwhile (see `servedBy`: that connection would hold the
 * one-thread server again), and every `SWEEP_MS` until no head there is overdue. On a server that serves
 * many connections at once this costs only a new connection for the next request, if that. Returns
 * the call that ends this request's part (its head came, or it failed); calling it twice is harmless.
 */
export function headOverdue(origin: string): () => void {
  let entry = overdue.get(origin)
  if (!entry) {
    const sweep = setInterval(() => closeIdleOf(origin), SWEEP_MS)
    sweep.unref()
    entry = { count: 0, sweep }
    overdue.set(origin, entry)
  }
  entry.count++
  closeIdleOf(origin)
  let ended = false
  return () => {
    if (ended) return
    ended = true
    const now = overdue.get(origin)
    if (!now || --now.count > 0) return
    clearInterval(now.sweep)
    overdue.delete(origin)
  }
}

/**
 * A transfer from `url` ended with its file: while a head on its origin is overdue, its
 * connection (idle once this turn ends) is closed rather than kept, so that a one-thread server
 * takes the next connection at once, not a sweep later. Called for every file: the URL is parsed
 * only while some head is overdue.
 */
export function servedBy(url: string): void {
  if (overdue.size === 0) return
  const { origin } = new URL(url)
  if (overdue.has(origin)) setImmediate(() => closeIdleOf(origin))
}
