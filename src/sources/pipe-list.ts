import { closeSync, constants, createReadStream, openSync, readSync } from 'node:fs'
import { lstat, stat } from 'node:fs/promises'
import { Socket } from 'node:net'
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'

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
