/**
 * Counts of whole milliseconds, for exact percentiles in bounded memory: a transfer's time to
 * first byte is bounded by the headers timeout, so a host holds at most that many distinct
 * values however many requests it served.
 */
export class MsHistogram {
  /**
   * The counts, once two distinct values came: most hosts of a scraped list answer once, and a
   * Map a host (some 1 KB) made a report of 500,000 hosts hold 690 MB where 210 MB does.
   */
  #counts: Map<number, number> | undefined
  /** The one value recorded while there is no Map (`#n` times), else unused. */
  #only = 0
  #n = 0

  /** Record one value, rounded to the millisecond; negative or non-finite values are ignored. */
  add(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return
    const key = Math.round(ms)
    if (this.#n === 0) this.#only = key
    else if (!this.#counts && key !== this.#only) this.#counts = new Map([[this.#only, this.#n]])
    if (this.#counts) this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1)
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
    if (!this.#counts) return this.#only
    const rank = Math.max(1, Math.ceil(p * this.#n))
    let seen = 0
    for (const value of [...this.#counts.keys()].sort((a, b) => a - b)) {
      seen += this.#counts.get(value)!
      if (seen >= rank) return value
    }
    return undefined
  }
}
