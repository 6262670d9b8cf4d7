import { createHash } from 'node:crypto'
import { close, constants, createReadStream, open as openFd, writev } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { writeAll } from '../../fetch/part-file.js'
import { openWaiting } from '../../utils/descriptors.js'
import { NO_FOLLOW, removedLink } from '../../utils/own-file.js'
import { BLOCK, paddedSize, paddingOf, readHeader, tarHeader } from './tar.js'

/** Appends written together at most: their buffers stay well under what one writev takes (IOV_MAX, 1024). */
const MAX_BATCH = 64

/** The entries of a spool, up to the first that is not whole; `end`: where that one begins. */
async function readEntries(fh: FileHandle) {
  const entries = new Map<string, SpoolEntry>()
  const { size } = await fh.stat()
  const block = Buffer.alloc(BLOCK)
  let end = 0
  while (end + BLOCK <= size) {
    const { bytesRead } = await fh.read(block, 0, BLOCK, end)
    const header = bytesRead === BLOCK ? readHeader(block) : undefined
    const next = header && end + BLOCK + paddedSize(header.size)
    if (!header || next! > size) break
    entries.set(header.name, { at: end + BLOCK, size: header.size })
    end = next!
  }
  return { entries, end, size }
}

/** Where a sample's bytes are in a spool. */
export interface SpoolEntry {
  /** Offset of its first byte (after its header). */
  at: number
  size: number
}

/**
 * A shard's spool, `OUT/.imgpull/shards/STEM.spool`: the samples downloaded whole in memory (most
 * images, see `DownloadContext.hold`), appended as they are verified, until the shard is sealed
 * and the spool removed. One file for the shard's samples instead of one each: creating, renaming
 * and removing a file a sample costs the thread that moves bytes four trips to libuv's pool, and
 * the file system an inode (on ext4 without a journal, a removed inode slows every file created
 * in the next minutes). Each sample is a ustar entry (`KEY.ext`, see tar.ts), so the spool is a
 * tar without its end: `tar tf` lists it.
 *
 * Each append reserves its offset as it is called, and is written with the appends called while
 * the write before was under way, in one positional write (one trip to libuv's pool for many
 * samples: each trip costs the thread that moves bytes a wake-up of a pool thread, the largest
 * cost a sample had there); an append resolves once its bytes are written (the journal records
 * the sample after). A run that
 * was cut may leave a spool whose last entries are missing or torn, or a hole where a write never
 * ran: reopening keeps the entries before the first one that is not whole, and cuts the file
 * there (samples after it are fetched again: the journal's `ok` for them is not taken, see
 * `WebDatasetSink.kept`).
 */
export class Spool {
  /** Entries by member name: those of earlier runs (read when opened) and this run's appends. */
  readonly entries: Map<string, SpoolEntry>
  #end: number
  /** The file descriptor appends write through (plain callbacks: lighter than a FileHandle's promises). */
  #fd: Promise<number> | undefined
  #writes = new Set<Promise<unknown>>()
  /** Appends waiting for the write under way, in offset order from `#waitingAt`: the next write. */
  #waiting: { buffers: Buffer[]; done: () => void; fail: (error: unknown) => void }[] = []
  #waitingAt = 0
  #writing = false

  private constructor(
    readonly path: string,
    entries: Map<string, SpoolEntry>,
    end: number,
  ) {
    this.entries = entries
    this.#end = end
  }

  /** Open the spool at `path` for a run: its whole entries read, anything after them cut off. */
  static async open(path: string): Promise<Spool> {
    let fh: FileHandle
    try {
      fh = await openWaiting(() => open(path, constants.O_RDWR | NO_FOLLOW))
    } catch (error) {
      // No spool yet; or a link planted at its name, gone now: nothing of ours was there.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (await removedLink(error, path)))
        return new Spool(path, new Map(), 0)
      throw error
    }
    try {
      const { entries, end, size } = await readEntries(fh)
      if (end < size) await fh.truncate(end)
      return new Spool(path, entries, end)
    } finally {
      await fh.close()
    }
  }

  /** The whole entries of the spool at `path`, read only (none when there is no spool). */
  static async list(path: string): Promise<Map<string, SpoolEntry>> {
    const fh = await openWaiting(() => open(path, constants.O_RDONLY | NO_FOLLOW)).catch(() => undefined)
    if (!fh) return new Map()
    try {
      return (await readEntries(fh)).entries
    } finally {
      await fh.close()
    }
  }

  /**
   * Append `member` (`KEY.ext`) with the bytes `chunks`; resolves with its entry once written.
   * Rejects with the file system's error (ENOSPC...): the entry is then not listed.
   */
  async append(member: string, chunks: Buffer[]): Promise<SpoolEntry> {
    const size = chunks.reduce((n, chunk) => n + chunk.length, 0)
    const start = this.#end
    const entry = { at: start + BLOCK, size }
    this.#end = entry.at + paddedSize(size)
    // Created on the first append, never truncated: entries of earlier runs stay.
    this.#fd ??= openWaiting(
      () =>
        new Promise<number>((resolve, reject) =>
          openFd(this.path, constants.O_WRONLY | constants.O_CREAT | NO_FOLLOW, 0o644, (error, fd) =>
            error ? reject(error) : resolve(fd),
          ),
        ),
    )
    const write = new Promise<void>((done, fail) => {
      if (this.#waiting.length === 0) this.#waitingAt = start
      this.#waiting.push({ buffers: [tarHeader(member, size), ...chunks, paddingOf(size)], done, fail })
      this.#next()
    })
    this.#writes.add(write)
    try {
      await write
    } finally {
      this.#writes.delete(write)
    }
    this.entries.set(member, entry)
    return entry
  }

  /**
   * Write the appends waiting, unless a write is under way (it calls this when done). They are
   * contiguous: each reserved its offset after the one before. A failed write fails each of them:
   * none is listed, and a reopening cuts the spool at the first entry not whole.
   */
  #next(): void {
    if (this.#writing || this.#waiting.length === 0) return
    const batch = this.#waiting.splice(0, MAX_BATCH)
    const at = this.#waitingAt
    for (const { buffers } of batch) for (const b of buffers) this.#waitingAt += b.length
    this.#writing = true
    this.#fd!.then((fd) =>
      writeAll(
        (rest, position) =>
          new Promise((done, fail) => writev(fd, rest, position, (e, n) => (e ? fail(e) : done(n)))),
        batch.flatMap((append) => append.buffers),
        at,
      ),
    )
      .then(
        () => {
          for (const append of batch) append.done()
        },
        (error: unknown) => {
          for (const append of batch) append.fail(error)
        },
      )
      .finally(() => {
        this.#writing = false
        this.#next()
      })
  }

  /** The sha256 (hex) of `entry`'s bytes, read back. */
  async sha256(entry: SpoolEntry): Promise<string> {
    const hash = createHash('sha256')
    const end = entry.at + entry.size - 1
    for await (const chunk of createReadStream(this.path, { start: entry.at, end, highWaterMark: 1 << 20 }))
      hash.update(chunk as Buffer)
    return hash.digest('hex')
  }

  /** Wait for the appends under way, then release the file; never throws. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#writes])
    const fd = this.#fd
    this.#fd = undefined
    await fd?.then((n) => new Promise<void>((resolve) => close(n, () => resolve()))).catch(() => {})
  }
}
