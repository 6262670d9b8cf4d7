import { closeSync, constants, createReadStream, fstatSync, openSync, readSync } from 'node:fs'
import { lstat, stat } from 'node:fs/promises'
import { Socket } from 'node:net'
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { UsageError } from '../errors.js'
import { visibleShellWord } from '../utils/command-line.js'

/** The path standard input (`-`) is read at as a table (`--input-format`): see `inputWord`. */
export const STDIN_PATH = '/dev/stdin'

/**
 * Refuses a standard input that is a folder (`imgpull - < photos`), given as `-`: Node reads it as
 * empty, and the run said a list of no URL, exit 0; a table (`--input-format`) was read at
 * /dev/stdin as a folder of tables, the files in it. A read of a folder fails (EISDIR), as shells
 * and coreutils say (oils-for-unix/oils#1044, uutils/coreutils#11482).
 *
 * @throws UsageError saying so, and what to give.
 */
export function refuseFolderStdin(): void {
  let folder = false
  try {
    folder = fstatSync(0).isDirectory()
  } catch {}
  if (folder)
    throw new UsageError(
      'standard input (-) is a folder, not a list or a table: redirect a file into it (imgpull - -o DIR < urls.txt), or give a folder of tables as an input (imgpull FOLDER -o DIR)',
    )
}

/**
 * How a message names an input: `standard input` for `-` (read at `STDIN_PATH`, a path the user
 * never typed, which messages named), else the path as typed (`visibleShellWord`; `quoted` is its
 * own): a process substitution's `/dev/fd/63` is all the user has of it.
 */
export function inputWord(path: string, quoted: 'as-needed' | 'always' = 'as-needed'): string {
  return path === '-' || path === STDIN_PATH ? 'standard input' : visibleShellWord(path, quoted)
}

/**
 * Whether `path` is a pipe a shell made for this process (standard input, a process substitution's
 * `/dev/fd/63`): it has no name to give it and is gone once read, so a message's advice names no
 * file to rename or read again (`xz -dc /dev/fd/63 > unpacked.csv`), but what to do in the pipe.
 * Pure: by its name alone (a named FIFO is named as a file is).
 */
export function shellPipe(path: string): boolean {
  return path === '-' || path === STDIN_PATH || /^\/(dev|proc\/self)\/fd\/\d+$/.test(path)
}

/** How often a named FIFO with no writer yet is looked at again, ms. */
const WRITER_POLL_MS = 100

/**
 * Whether the list at `path` is a pipe or a device, not a file: a shell's process substitution
 * (`imgpull <(grep jpg urls.txt)`, read as `/dev/fd/63`), a named FIFO (`mkfifo`), `/dev/stdin`.
 * Such a list can be read once only, from its start, and never at an offset (`invalid seek`).
 */
export async function isPipe(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined)
  return info !== undefined && !info.isFile() && !info.isDirectory()
}

/**
 * The bytes of the pipe or device at `path` as a stream, opened without blocking. A blocking open
 * of a named FIFO waits in one of libuv's threads for a writer, and Node's exit joins those
 * threads: a FIFO no process wrote to held the run, Ctrl-C and SIGTERM unheard (only SIGKILL
 * ended it). A named FIFO with no writer yet is waited for here, the event loop free, until one
 * opens it; a pipe whose writer is gone (`<(true)`) and a device read as empty (`/dev/null`) end.
 */
export async function openPipe(path: string): Promise<Readable> {
  // A FIFO of the file system's: `lstat` of /dev/fd/63 sees a link, of `mkfifo`'s node a FIFO.
  const named = (await lstat(path)).isFIFO()
  const fifo = (await stat(path)).isFIFO()
  // A device (`/dev/null`, a terminal) is read as a file is: its open waits on no writer.
  if (!fifo) return createReadStream(path)
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  const first = Buffer.allocUnsafe(64 * 1024)
  for (;;) {
    let n: number
    try {
      n = readSync(fd, first, 0, first.length, null)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') {
        closeSync(fd)
        throw error
      }
      // A writer, nothing written yet.
      return new Socket({ fd, readable: true, writable: false })
    }
    if (n > 0) return prepended(first.subarray(0, n), new Socket({ fd, readable: true, writable: false }))
    // No writer: none yet for a named FIFO; gone for a process substitution's pipe.
    if (!named) {
      closeSync(fd)
      return Readable.from([])
    }
    await sleep(WRITER_POLL_MS)
  }
}

/** `head`, then the rest of `rest`. */
function prepended(head: Buffer, rest: Readable): Readable {
  async function* all() {
    yield head
    for await (const chunk of rest) yield chunk as Buffer
  }
  return Readable.from(all(), { objectMode: false })
}

/**
 * A table that is a pipe (`imgpull <(zcat t.csv.gz) --input-format csv`, a FIFO), read once from
 * its start, yet opened several times: its first bytes for its kind (gzip, UTF-16, a page saved in
 * its place), its header or first lines for its columns, then its rows. Each `open` gives the bytes
 * from the start: those read so far kept, then more as a reader asks; once `release`d (its rows'
 * reader started), no more are kept, and the rows stream through in constant memory. The readers
 * take turns (each check reads, then closes): two reading past the kept bytes at once would each
 * see half of them.
 */
export class PipeTap {
  private readonly kept: Buffer[] = []
  private keeping = true
  private ended = false
  /** Chunks read from the pipe once no more were kept: a reader that has not had them all is behind for good. */
  private unkept = 0
  private next: Promise<Buffer | undefined> | undefined
  private readonly source: AsyncIterator<Buffer>

  constructor(
    /** The path as given, for a message. */
    readonly path: string,
    stream: Readable,
  ) {
    this.source = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  }

  /**
   * The pipe's bytes from its start, as a stream. One that needs bytes no longer kept (read past by
   * the rows' reader: a second pass over its rows) fails with a `PipeReadOnce`.
   */
  open(): Readable {
    const tap = this
    async function* bytes(): AsyncGenerator<Buffer> {
      let at = 0
      let mine = 0
      for (;;) {
        if (at < tap.kept.length) {
          yield tap.kept[at++]!
          continue
        }
        if (mine !== tap.unkept) throw new PipeReadOnce(tap.path)
        if (tap.ended) return
        const value = await tap.pull()
        // Kept (the loop gives it), or the end: looked at again.
        if (value === undefined || at < tap.kept.length) continue
        // Not kept: this reader's, when it was at the head of the pipe; another's otherwise.
        if (mine + 1 !== tap.unkept) throw new PipeReadOnce(tap.path)
        mine++
        yield value
      }
    }
    return Readable.from(bytes(), { objectMode: false })
  }

  /**
   * The pipe's next chunk, read once for all the readers waiting (a check's stream reads ahead
   * while another check reads): kept while keeping, else counted; `undefined` at its end.
   */
  private pull(): Promise<Buffer | undefined> {
    this.next ??= this.source.next().then(({ value, done }) => {
      this.next = undefined
      if (done) {
        this.ended = true
        return undefined
      }
      if (this.keeping) this.kept.push(value)
      else this.unkept++
      return value
    })
    return this.next
  }

  /** Its rows' reader starts: the bytes past those kept are no longer kept, but streamed. */
  release(): void {
    this.keeping = false
  }
}

/** A pipe's table opened again after its rows were read (a second pass over them): it is read once. */
export class PipeReadOnce extends UsageError {
  constructor(path: string) {
    super(`${inputWord(path)} is a pipe, read once: its rows cannot be read again; save it to a file first`)
  }
}
