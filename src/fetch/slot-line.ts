// The slots held on one host, in the order they were taken: a linked list through the slots
// themselves, so that the one held longest is known at once (see `Scheduler.crowding`).

/**
 * A slot held on a host: when it was taken (`performance.now()`), and the slots taken there just
 * before and just after it, still held.
 */
export interface InLine<S> {
  since?: number
  prev?: S
  next?: S
}

/** The first and the last of the slots held on a host now, in the order they were taken. */
export interface SlotLine<S> {
  oldest?: S
  newest?: S
}

/**
 * `held` takes its slot on `state` now: the newest of the slots held there. A list, not a set: the
 * slots are taken in time order, so the first held is the one held longest (`Scheduler.crowding` asks no
 * more), and each transfer's start and end cost a few links, no hashing.
 */
export function take<S extends InLine<S>>(state: SlotLine<S>, held: S): void {
  held.since = performance.now()
  held.prev = state.newest
  held.next = undefined
  if (state.newest) state.newest.next = held
  else state.oldest = held
  state.newest = held
}

/** `held` lets go of its slot on `state` (see `take`); nothing when it holds none there. */
export function untake<S extends InLine<S>>(state: SlotLine<S>, held: S): void {
  if (held.prev === undefined && state.oldest !== held) return
  if (held.prev) held.prev.next = held.next
  else state.oldest = held.next
  if (held.next) held.next.prev = held.prev
  else state.newest = held.prev
  held.prev = undefined
  held.next = undefined
}
