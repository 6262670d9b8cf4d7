import { close, constants, open as openFile, unlink as unlinkFile, writev } from 'node:fs'
import { type FileHandle, lstat, open, unlink } from 'node:fs/promises'
import { goneFolder, partIsFolder, partPathTooLong } from '../sinks/local-faults.js'
import { OPEN_WAITS, openWaiting, outOfDescriptors, releaseDescriptors } from '../utils/descriptors.js'
import { NO_FOLLOW } from '../utils/own-file.js'

/** Body bytes gathered per write: small images take one write, large ones few. */
export const FLUSH_BYTES = 512 * 1024

/** Bytes of a part file already on disk (0 when there is none, or a link stands there: see `FRESH`). */
export function sizeOnDisk(path: string): Promise<number> {
  return lstat(path).then(
    (s) => (s.isFile() ? s.size : 0),
    () => 0,
  )
}

/**
 * Part files are opened without following a link at their name (`NO_FOLLOW`; part names are a
 * hash of the URL): the body went into the file a planted link pointed to, outside the output
 * folder, and the image's final name linked to it. Such a link is removed and a file made in its
 * place (`openPart`); bytes to go on from are only ever a regular file's (`sizeOnDisk`).
 */
const { O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC } = constants
const FRESH = O_WRONLY | O_CREAT | O_TRUNC | NO_FOLLOW
const GO_ON = O_RDWR | NO_FOLLOW

/**
 * Part files wait for a free file descriptor too (see `OPEN_WAITS`): the answer is in hand by then
 * (the part file is opened at the body's first write), and failing there threw away an answer the
 * host had served, and asked for it again.
 */

/** Open a part file (`fresh`: from byte 0, else to go on), never through a link (see `FRESH`). */
function openPart(
  path: string,
  fresh: boolean,
  done: (error: NodeJS.ErrnoException | null, fd: number) => void,
  tried = 0,
) {
  openFile(path, fresh ? FRESH : GO_ON, (error, fd) => {
    if (outOfDescriptors(error) && tried < OPEN_WAITS.length) {
      releaseDescriptors()
      return void setTimeout(() => openPart(path, fresh, done, tried + 1), OPEN_WAITS[tried])
    }
    // Its folder removed, or a file put in its place: the run's fault, not the name's.
    if (error?.code === 'ENOENT' || error?.code === 'ENOTDIR')
      return void goneFolder(error).then((e) => done(e as NodeJS.ErrnoException, -1))
    if (error?.code === 'ENAMETOOLONG') return done(partPathTooLong(error) as NodeJS.ErrnoException, -1)
    if (error?.code === 'EISDIR') return done(partIsFolder(error) as NodeJS.ErrnoException, -1)
    if (!fresh || error?.code !== 'ELOOP') return done(error, fd)
    unlinkFile(path, (gone) => (gone ? done(gone, -1) : openFile(path, FRESH | O_EXCL, done)))
  })
}

/** `openPart` as a FileHandle. */
async function openPartHandle(path: string, fresh: boolean): Promise<FileHandle> {
  try {
    return await openWaiting(() => open(path, fresh ? FRESH : GO_ON))
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') throw await goneFolder(error)
    if (code === 'ENAMETOOLONG') throw partPathTooLong(error)
    if (code === 'EISDIR') throw partIsFolder(error)
    if (!fresh || code !== 'ELOOP') throw error
    await unlink(path)
    return open(path, FRESH | O_EXCL)
  }
}

/**
 * Cut a part file back to its first `size` bytes (never through a link): the bytes an answer
 * added that cannot be kept, those before it kept as they were. Never throws (a part gone is
 * nothing to cut).
 */
export async function truncatePart(path: string, size: number): Promise<void> {
  const fh = await openPartHandle(path, false).catch(() => undefined)
  if (!fh) return
  await fh.truncate(size).catch(() => {})
  await fh.close().catch(() => {})
}

/**
 * Writes a body into its part file at the right offset, gathering chunks into few large writes;
 * the next chunks keep arriving while a write runs. Every write happens on libuv's pool, never on
 * the thread that moves bytes: a body that ends before its first write (a small image) is opened,
 * written and closed there in one go.
 */
export class PartFile {
  #fh: FileHandle | undefined
  #position: number
  #pending: Buffer[] = []
  #pendingBytes = 0
  /** The write in progress: the next one waits for it. */
  #writing: Promise<void> | undefined

  /** `at`: the file offset of the first byte pushed (0 truncates what was there). */
  constructor(
    readonly path: string,
    readonly at: number,
  ) {
    this.#position = at
  }

  get pendingBytes(): number {
    return this.#pendingBytes
  }

  push(chunk: Buffer): void {
    this.#pending.push(chunk)
    this.#pendingBytes += chunk.length
  }

  /** Write what is gathered; `last` when the body has ended (or will not go on): waits for the disk. */
  async flush(last: boolean): Promise<void> {
    if (this.#writing) {
      const previous = this.#writing
      this.#writing = undefined
      await previous
    }
    if (this.#pendingBytes === 0) return
    const chunks = this.#pending
    const at = this.#position
    this.#position += this.#pendingBytes
    this.#pending = []
    this.#pendingBytes = 0
    const fresh = this.at === 0
    if (!this.#fh && last) return writeWhole(this.path, fresh, chunks, at)
    this.#fh ??= await openPartHandle(this.path, fresh)
    const fh = this.#fh
    const write = writeAll(
      (rest, position) => fh.writev(rest, position).then((r) => r.bytesWritten),
      chunks,
      at,
    )
    if (last) await write
    else {
      this.#writing = write
      write.catch(() => {}) // seen by the next flush
    }
  }

  /**
   * The whole body, when nothing of it was written yet (it began at byte 0 and ended before its
   * first write): taken from this file, which then writes nothing. `undefined` when some is on disk.
   */
  take(): Buffer[] | undefined {
    if (this.#fh || this.#writing || this.at > 0) return undefined
    const chunks = this.#pending
    this.#pending = []
    this.#pendingBytes = 0
    return chunks
  }

  /** Drop what was not written yet and release the file; never throws. */
  async close(): Promise<void> {
    this.#pending = []
    this.#pendingBytes = 0
    await this.#writing?.catch(() => {})
    this.#writing = undefined
    await this.#fh?.close().catch(() => {})
    this.#fh = undefined
  }
}

/** One `writev` at a position: resolves with the bytes written, which may be fewer than given. */
type WriteV = (chunks: Buffer[], position: number) => Promise<number>

/**
 * Write every byte of `chunks` from `at`. A write may take fewer bytes than it was given with no
 * error (POSIX): the disk filled up part-way, a file-size limit (`ulimit -f`, with SIGXFSZ
 * ignored as Node does) was reached. The rest is written again, and that write fails with the
 * cause (ENOSPC, EFBIG): a file cut short is never taken for a whole one.
 */
export async function writeAll(write: WriteV, chunks: Buffer[], at: number): Promise<void> {
  let rest = chunks
  let position = at
  let left = chunks.reduce((n, chunk) => n + chunk.length, 0)
  while (left > 0) {
    const written = await write(rest, position)
    if (written <= 0) throw Object.assign(new Error(`EIO: nothing written at ${position}`), { code: 'EIO' })
    left -= written
    position += written
    if (left > 0) rest = afterBytes(rest, written)
  }
}

/** `chunks` without their first `n` bytes (views, no copy). */
function afterBytes(chunks: Buffer[], n: number): Buffer[] {
  let i = 0
  while (n >= chunks[i].length) n -= chunks[i++].length
  return [chunks[i].subarray(n), ...chunks.slice(i + 1)]
}

/**
 * A whole body in one go, off this thread: open, write, close on libuv's pool, with callbacks
 * (lighter than FileHandle promises). Creating a file on a real disk takes a few hundred µs of
 * kernel time: on this thread it would stall every transfer.
 */
function writeWhole(path: string, fresh: boolean, chunks: Buffer[], at: number): Promise<void> {
  return new Promise((resolve, reject) => {
    openPart(path, fresh, (error, fd) => {
      if (error) return reject(error)
      const once: WriteV = (rest, position) =>
        new Promise((done, fail) => writev(fd, rest, position, (e, written) => (e ? fail(e) : done(written))))
      writeAll(once, chunks, at).then(
        () => close(fd, (closeError) => (closeError ? reject(closeError) : resolve())),
        (writeError) => close(fd, () => reject(writeError)),
      )
    })
  })
}
