/**
 * Bodies past `LARGE_BODY` bytes being received on this thread, and who is told when the first
 * begins and the last ends. The command turns V8's incremental marking off in between (see
 * cli/heap-growth.ts); the library itself tells no one, and leaves its host's process alone.
 *
 * V8's flags are the process's, and one switched while any heap of the process is marking can
 * crash it (see `collectThenMark`, which can finish marking on this thread only). So no switch is
 * told while another JavaScript thread of the process that makes memory lives (a transfer thread:
 * see `threadStarting`; not the hash worker, whose heap does not grow, see
 * verify/hasher.ts), and one that is on is told off before such a thread starts: large bodies then
 * cost the full collections V8 gives them.
 */

/**
 * Bytes of one body from which it counts as large. Files under it (photos, most of a dataset) run as
 * before: marking off for 7.5–10 MB files cost 48 MB of peak RSS (see cli/heap-growth.ts).
 */
export const LARGE_BODY = 32 * 1024 * 1024

let told: ((large: boolean) => void) | undefined
let open = 0
/** Other JavaScript threads of the process alive now (see `threadStarting`). */
let threads = 0
/** Whether `told` last heard `true`. */
let switched = false

/**
 * Tell `tell` (true) when a large body begins with none under way and this is the process's only
 * JavaScript thread, (false) when the last ends or another thread starts, after a true.
 */
export function onLargeBodies(tell: ((large: boolean) => void) | undefined): void {
  told = tell
  switched = false
}

function began(): void {
  if (open++ === 0 && threads === 0 && told) {
    switched = true
    told(true)
  }
}

function ended(): void {
  if (--open === 0) unswitch()
}

function unswitch(): void {
  if (!switched) return
  switched = false
  told?.(false)
}

/**
 * Another JavaScript thread of this process is about to start (call it just before `new
 * Worker`): a switch that is on is told off now, while this thread's is the only heap, and none
 * is told while it lives. Returns its end, to call when the thread exits (idempotent).
 */
export function threadStarting(): () => void {
  unswitch()
  threads++
  let ended = false
  return () => {
    if (ended) return
    ended = true
    threads--
  }
}

/** One body: `grew` as its bytes come (cheap), `end` once, when it is done (idempotent). */
export class BodySize {
  #large = false

  grew(received: number): void {
    if (this.#large || received < LARGE_BODY) return
    this.#large = true
    began()
  }

  end(): void {
    if (!this.#large) return
    this.#large = false
    ended()
  }
}
