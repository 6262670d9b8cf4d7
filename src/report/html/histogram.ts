/**
 * Counts of whole milliseconds, for exact percentiles in bounded memory: a transfer's time to
 * first byte is bounded by the headers timeout, so a host holds at most that many distinct
 * values however many requests it served.
 */
export class MsHistogram {
  readonly #counts = new Map<number, number>()
  #n = 0

  /** Record one value, rounded to the millisecond; negative or non-finite values are ignored. */
  add(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return
    const key = Math.round(ms)
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1)
    this.#n++
  }

  get count(): number {
    return this.#n
  }

  /**
   * The `p`-th percentile (0 < p ≤ 1) by the nearest-rank method: the smallest recorded value with
   * at least `ceil(p·n)` values at or below it, so the answer is always a value that occurred.
   * `undefined` when nothing was recorded.
   */
  percentile(p: number): number | undefined {
    if (this.#n === 0) return undefined
    const rank = Math.max(1, Math.ceil(p * this.#n))
    let seen = 0
    for (const value of [...this.#counts.keys()].sort((a, b) => a - b)) {
      seen += this.#counts.get(value)!
      if (seen >= rank) return value
    }
    return undefined
  }
}
