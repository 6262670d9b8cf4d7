/**
 * A first-in first-out queue with O(1) push and shift. `Array.prototype.shift` copies the array
 * and turns a 200k-long backlog quadratic.
 */
export class Fifo<T> {
  #head: (T | undefined)[] = []
  #headIndex = 0
  #tail: T[] = []

  get size(): number {
    return this.#head.length - this.#headIndex + this.#tail.length
  }

  push(item: T): void {
    this.#tail.push(item)
  }

  /** Put an item back in front (a retry goes before new work). */
  unshift(item: T): void {
    if (this.#headIndex > 0) this.#head[--this.#headIndex] = item
    else this.#head.unshift(item)
  }

  shift(): T | undefined {
    if (this.#headIndex === this.#head.length) {
      if (this.#tail.length === 0) return undefined
      this.#head = this.#tail
      this.#headIndex = 0
      this.#tail = []
    }
    const item = this.#head[this.#headIndex]
    this.#head[this.#headIndex++] = undefined
    return item
  }
}
