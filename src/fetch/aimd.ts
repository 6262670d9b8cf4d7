/**
 * A host's concurrency under pressure: additive increase, multiplicative decrease (as TCP does).
 * On 429/503 or a timeout the limit halves; each run of `limit` clean answers adds one back,
 * up to `max`. A host that rate-limits us settles where it stops complaining.
 */
export interface Aimd {
  limit: number
  /** Clean answers since the last change. */
  credit: number
}

export function aimdStart(max: number): Aimd {
  return { limit: max, credit: 0 }
}

export function aimdOnSuccess(state: Aimd, max: number): Aimd {
  if (state.limit >= max) return { limit: max, credit: 0 }
  const credit = state.credit + 1
  return credit >= state.limit ? { limit: state.limit + 1, credit: 0 } : { limit: state.limit, credit }
}

export function aimdOnPressure(state: Aimd): Aimd {
  return { limit: Math.max(1, Math.floor(state.limit / 2)), credit: 0 }
}
