import { Fifo } from './fifo.js'

/** Many producers, one async consumer: results flow out of the engine in completion order. */
export class Channel<T> {
  #items = new Fifo<T>()
  #closed = false
  #error: unknown
  #wake: (() => void) | undefined
  readonly #onTake: () => void

  /** `onTake`: called each time the consumer takes an item (a producer waiting for room goes on). */
  constructor(onTake: () => void = () => {}) {
    this.#onTake = onTake
  }

  get size(): number {
    return this.#items.size
  }

  push(item: T): void {
    this.#items.push(item)
    this.#notify()
  }

  /** Take every item not consumed yet (the consumer left). */
  drain(): T[] {
    const items: T[] = []
    for (let item = this.#items.shift(); item !== undefined; item = this.#items.shift()) items.push(item)
    return items
  }

  /** No more items; `error`, if given, is thrown to the consumer after the last item. */
  close(error?: unknown): void {
    this.#closed = true
    this.#error ??= error
    this.#notify()
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      const item = this.#items.shift()
      if (item !== undefined) {
        this.#onTake()
        yield item
        continue
      }
      if (this.#closed) {
        if (this.#error) throw this.#error
        return
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve
      })
    }
  }

  #notify(): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }
}
