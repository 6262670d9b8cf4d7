import { closeSync, fstatSync, openSync, readSync } from 'node:fs'

/**
 * Bytes of an image at given offsets: all of them in memory, or a file read a window at a time.
 * The chunk walkers (`pngCarriesMetadata`, `webpFacts`) read a few bytes per chunk header; for a
 * file they need not hold it whole (a 16000x16000 PNG of 290 MB read whole took a worker from
 * 146 to 416 MB).
 */
export interface ByteSource {
  /** Bytes in all. */
  readonly length: number
  /** Up to `n` bytes from `at` (fewer at the end; `n` at most `WINDOW`). */
  bytes(at: number, n: number): Uint8Array
}

/** Bytes read from a file at a time: a window holds many small chunks' headers. */
export const WINDOW = 64 * 1024

/** A source over bytes in memory. */
export function inMemory(b: Uint8Array): ByteSource {
  return { length: b.length, bytes: (at, n) => b.subarray(at, at + n) }
}

/**
 * A file read in windows of `WINDOW` bytes, synchronously: used in a pool worker only, whose one
 * thread has nothing else to do meanwhile. `close()` when done.
 */
export class FileBytes implements ByteSource {
  readonly length: number
  readonly #fd: number
  readonly #window = Buffer.alloc(WINDOW)
  #start = 0
  #end = 0
  constructor(path: string) {
    this.#fd = openSync(path, 'r')
    try {
      this.length = fstatSync(this.#fd).size
    } catch (error) {
      closeSync(this.#fd)
      throw error
    }
  }
  bytes(at: number, n: number): Uint8Array {
    if (at < this.#start || at + Math.min(n, this.length - at) > this.#end) {
      const got = at < this.length ? readSync(this.#fd, this.#window, 0, WINDOW, at) : 0
      this.#start = at
      this.#end = at + got
    }
    const from = at - this.#start
    return this.#window.subarray(from, Math.min(from + n, this.#end - this.#start))
  }
  close(): void {
    closeSync(this.#fd)
  }
}
