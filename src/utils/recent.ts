/**
 * A map that keeps at most `limit` entries, dropping the one used least recently: for caches a
 * run consults per file whose keys grow with the input (the folders of `{path}` names, one per
 * URL on some hosts), which must cost what a miss costs, never memory without end.
 */
export class RecentMap<K, V> {
  readonly #entries = new Map<K, V>()

  #limit = 1

  /** `limit`: entries kept, at least 1 (a RangeError otherwise). */
  constructor(limit: number) {
    this.limit = limit
  }

  get limit(): number {
    return this.#limit
  }

  /** A lower limit drops the least recently used entries at once. */
  set limit(limit: number) {
    if (!(limit >= 1)) throw new RangeError(`RecentMap limit must be at least 1, not ${limit}`)
    this.#limit = limit
    while (this.#entries.size > limit) this.#entries.delete(this.#entries.keys().next().value as K)
  }

  get size(): number {
    return this.#entries.size
  }

  /** The value, marked as just used; `undefined` when absent. */
  get(key: K): V | undefined {
    const value = this.#entries.get(key)
    if (value === undefined) return undefined
    this.#entries.delete(key)
    this.#entries.set(key, value)
    return value
  }

  has(key: K): boolean {
    return this.get(key) !== undefined
  }

  /** Set and mark as just used, dropping the least recently used entry past the limit. */
  set(key: K, value: V): this {
    this.#entries.delete(key)
    this.#entries.set(key, value)
    if (this.#entries.size > this.#limit) this.#entries.delete(this.#entries.keys().next().value as K)
    return this
  }

  delete(key: K): boolean {
    return this.#entries.delete(key)
  }

  keys(): IterableIterator<K> {
    return this.#entries.keys()
  }
}
