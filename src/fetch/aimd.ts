/**
 * A host's concurrency under pressure: additive increase, multiplicative decrease (as TCP does).
 * On 429/503 or a timeout the limit halves; each run of `limit` clean answers adds one back, up
 * to `max`. Near the level that last drew complaints (`ceiling`) growth is eight times slower, so
 * a host that rate-limits us settles just under its limit instead of being probed again and again.
 */
export interface Aimd {
  limit: number
  /** Clean answers since the last change. */
  credit: number
  /** The limit at which the host last complained. */
  ceiling: number
}

/** How much slower the limit grows once it is back near the level that drew a complaint. */
const CAREFUL = 8

export function aimdStart(max: number): Aimd {
  return { limit: max, credit: 0, ceiling: Number.POSITIVE_INFINITY }
}

export function aimdOnSuccess(state: Aimd, max: number): Aimd {
  if (state.limit >= max) return { ...state, limit: max, credit: 0 }
  const credit = state.credit + 1
  const needed = state.limit >= state.ceiling - 1 ? state.limit * CAREFUL : state.limit
  return credit >= needed ? { ...state, limit: state.limit + 1, credit: 0 } : { ...state, credit }
}

export function aimdOnPressure(state: Aimd): Aimd {
  return { limit: Math.max(1, Math.floor(state.limit / 2)), credit: 0, ceiling: state.limit }
}
