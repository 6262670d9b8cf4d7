/**
 * Bodies past `LARGE_BODY` bytes being received on this thread (and, counted here too, on transfer
 * threads that said so: see `largeElsewhere`), and who is told when the first begins and the last
 * ends. The command turns V8's incremental marking off in between (see
 * cli/heap-growth.ts); the library itself tells no one, and leaves its host's process alone.
 */

/**
 * Bytes of one body from which it counts as large. Files under it (photos, most of a dataset) run as
 * before: marking off for 7.5–10 MB files cost 48 MB of peak RSS (see cli/heap-growth.ts).
 */
export const LARGE_BODY = 32 * 1024 * 1024

let told: ((large: boolean) => void) | undefined
let open = 0

/** Tell `tell` (true) when a large body begins with none under way, (false) when the last ends. */
export function onLargeBodies(tell: ((large: boolean) => void) | undefined): void {
  told = tell
}

function began(): void {
  if (open++ === 0) told?.(true)
}

function ended(): void {
  if (--open === 0) told?.(false)
}

/**
 * A transfer thread's large bodies, as it tells them (its first began: `true`; its last ended, or
 * the thread did: `false`): V8's flags are the process's, and a thread's bodies cost the same full
 * collections. One call of each per stretch; the thread's own `onLargeBodies` says when.
 */
export function largeElsewhere(large: boolean): void {
  if (large) began()
  else ended()
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
