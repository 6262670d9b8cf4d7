import { once } from 'node:events'
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import tar, { type Extract } from 'tar-stream'

/** An entry read from a tar: its header, and a stream of its bytes. */
type Entry = Extract extends AsyncIterable<infer E> ? E : never

/**
 * Every entry's header but its name and size, fixed so the same samples give byte-identical tars:
 * a plain file (ustar), mode 0644, owner 0:0 with no user or group names, modified at the epoch
 * (time 0: no clock, no build date). Readers (Python's `tarfile`, GNU tar, WebDataset) need nothing
 * else; an extracted file gets the mode a downloaded image should have.
 */
export const ENTRY_HEADER = {
  type: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  uname: '',
  gname: '',
  mtime: new Date(0),
} as const

/** A tar file written entry by entry, streamed (an image is never held whole), then made durable. */
export class TarWriter {
  readonly #pack = tar.pack()
  readonly #out: WriteStream
  /** Settles when everything packed is written, flushed to the disk and closed; rejects on a write error (a full disk). */
  readonly #written: Promise<void>

  private constructor(path: string) {
    // fs.WriteStream gathers the many small pieces (headers, padding, JSON) into writev calls;
    // `flush`: fsync before it closes, so a tar renamed into place after it is whole on the disk.
    this.#out = createWriteStream(path, { flush: true, highWaterMark: 1 << 20 })
    this.#written = new Promise<void>((resolve, reject) => {
      this.#out.once('close', resolve)
      this.#out.once('error', reject)
      this.#pack.once('error', reject)
    })
    this.#written.catch(() => {}) // observed by whoever waits next
    this.#pack.pipe(this.#out)
  }

  /** Create (or truncate) the tar at `path`. */
  static async create(path: string): Promise<TarWriter> {
    const writer = new TarWriter(path)
    await Promise.race([once(writer.#out, 'open'), writer.#written])
    return writer
  }

  /** Add a file whose bytes are in memory. */
  add(name: string, data: Buffer): Promise<void> {
    return this.#settle(
      new Promise<void>((resolve, reject) => {
        this.#pack.entry({ ...ENTRY_HEADER, name, size: data.length }, data, (e) =>
          e ? reject(e) : resolve(),
        )
      }),
    )
  }

  /** Add a file of `size` bytes read from `source` (it must give exactly that many). */
  async addStream(name: string, size: number, source: AsyncIterable<unknown>): Promise<void> {
    let resolve!: () => void
    let reject!: (error: unknown) => void
    const done = new Promise<void>((res, rej) => {
      resolve = res
      reject = rej
    })
    done.catch(() => {}) // awaited below, unless the source fails first
    const sink = this.#pack.entry({ ...ENTRY_HEADER, name, size }, (e) => (e ? reject(e) : resolve()))
    for await (const chunk of source) {
      if (!sink.write(chunk)) await this.#settle(once(sink, 'drain'))
    }
    sink.end(undefined) // streamx's types want an argument; `undefined` writes nothing
    await this.#settle(done)
  }

  /** Add the file at `path`, expected to be `size` bytes long when a size is given. */
  async addFile(name: string, path: string, size?: number): Promise<void> {
    const { size: actual } = await stat(path)
    if (size !== undefined && actual !== size)
      throw new Error(`${path} is ${actual} bytes, not ${size} as recorded`)
    await this.addStream(name, actual, createReadStream(path, { highWaterMark: 256 * 1024 }))
  }

  /** End the archive (two zero blocks), write it out and flush it to the disk, then close it. */
  async finish(): Promise<void> {
    this.#pack.finalize()
    await this.#written
  }

  /** Stop writing and close the file (the caller removes it). */
  async discard(): Promise<void> {
    this.#pack.destroy()
    this.#out.destroy()
    await this.#written.catch(() => {})
  }

  /** `step`, or the write error that would leave it waiting forever (a full disk stops the pipe). */
  #settle<T>(step: Promise<T>): Promise<T> {
    return Promise.race([step, this.#written.then(() => step)])
  }
}

/** A tar read front to back, for taking some of its entries by name (entries must come in name order). */
export class TarReader {
  readonly #entries: AsyncIterator<Entry>
  readonly #file: Readable

  constructor(path: string) {
    const extract = tar.extract()
    this.#file = createReadStream(path, { highWaterMark: 256 * 1024 })
    this.#file.on('error', (error) => extract.destroy(error))
    this.#file.pipe(extract)
    this.#entries = extract[Symbol.asyncIterator]()
  }

  /**
   * The entry named `name`, skipping (and draining) those before it; `undefined` if the tar ends
   * first. Read the entry whole before asking for the next.
   */
  async find(name: string): Promise<Entry | undefined> {
    for (;;) {
      const { value: entry, done } = await this.#entries.next()
      if (done || !entry) return undefined
      if (entry.header.name === name) return entry
      entry.resume()
      await once(entry, 'end').catch(() => {})
    }
  }

  async close(): Promise<void> {
    await this.#entries.return?.()
    this.#file.destroy()
  }
}
