import type { CompletenessCheck, ReadBack, Verdict } from './types.js'

const EMPTY = new Uint8Array(0)

declare const decided: unique symbol
/** What `next` returns, made only by `expect` and `settle`: every path through a step says what comes next. */
export type Step = { readonly [decided]: true }
const STEP = {} as Step

/**
 * The skeleton of a check for a format made of length-prefixed records: it skips a payload by its declared
 * length, gathers the next record's fixed-size header, and hands it to `next`, which says what comes after
 * (another `expect`, or `settle`). Chunk boundaries fall anywhere: a header split over two chunks is
 * gathered from both. Once settled, or with nothing expected, later bytes are only counted.
 */
export abstract class Walk implements CompletenessCheck {
  /** Body bytes taken so far; inside `next`, the offset just past the bytes it is given. */
  protected position = 0
  /** The verdict, once the structure has ended (or broken) before the body did. */
  protected settled: Verdict | undefined
  #waiting = false
  #skip = 0
  #want = 0
  #have = 0
  #buffer = new Uint8Array(32)
  /** The gathered bytes as handed to `next`: a view of `#buffer`, remade only when the length changes. */
  #view = EMPTY

  /** Skip `skip` bytes, then gather `want` bytes (none: just the skip) and call `next` with them. */
  protected expect(want: number, skip = 0): Step {
    this.#waiting = true
    this.#skip = skip
    this.#want = want
    this.#have = 0
    return STEP
  }

  /** The structure is over: this verdict stands whatever follows. */
  protected settle(verdict: Verdict): Step {
    this.settled = verdict
    this.#waiting = false
    return STEP
  }

  /** Nothing more to walk (a box that runs to the end of the file): `finish` decides at the end. */
  protected rest(): Step {
    this.#waiting = false
    return STEP
  }

  /** Called with the bytes asked for by `expect`. */
  protected abstract next(header: Uint8Array): Step

  /**
   * Called with each run of payload bytes `expect` skips, when a format checks them (PNG's CRCs);
   * left undefined, skipping costs nothing but arithmetic.
   */
  protected skipped?(bytes: Uint8Array): void

  /**
   * The verdict when the body ended before anything settled it. `boundary`: the body ended between two
   * records (no payload left to skip, no byte of the next header gathered); otherwise it ended inside one.
   */
  protected abstract finish(boundary: boolean, read: ReadBack): Verdict | Promise<Verdict>

  update(chunk: Uint8Array): void {
    const n = chunk.length
    let i = 0
    while (this.#waiting) {
      if (this.#skip > 0) {
        if (i === n) break
        const step = Math.min(this.#skip, n - i)
        this.skipped?.(chunk.subarray(i, i + step))
        this.#skip -= step
        i += step
        continue
      }
      const want = this.#want
      if (this.#have < want) {
        if (i === n) break
        const step = Math.min(want - this.#have, n - i)
        // Grown as bytes arrive, not as declared: a box that claims 16 MB in a 1 KB body costs 1 KB.
        if (this.#have + step > this.#buffer.length)
          this.#grow(Math.min(want, Math.max(this.#have + step, this.#buffer.length * 2)))
        // Headers are a few bytes: a loop costs less than a subarray and a copy.
        if (step < 16) for (let k = 0; k < step; k++) this.#buffer[this.#have++] = chunk[i++]
        else {
          this.#buffer.set(chunk.subarray(i, i + step), this.#have)
          this.#have += step
          i += step
        }
        continue
      }
      this.#waiting = false
      if (this.#view.length !== want) this.#view = this.#buffer.subarray(0, want)
      this.position += i
      this.next(this.#view)
      this.position -= i
    }
    this.position += n
  }

  #grow(size: number): void {
    const buffer = new Uint8Array(size)
    buffer.set(this.#buffer.subarray(0, this.#have))
    this.#buffer = buffer
    this.#view = EMPTY
  }

  async end(read: ReadBack): Promise<Verdict> {
    if (this.settled) return this.settled
    return this.finish(!this.#waiting || (this.#skip === 0 && this.#have === 0 && this.#want > 0), read)
  }
}
