import { closeSync, constants, fstatSync, openSync, readFileSync, readSync } from 'node:fs'

/** Most bytes read from a FIFO or device given as an option's file (`--cookies /dev/zero` read for ever). */
const MOST_STREAM_BYTES = 64 * 1024 * 1024
/** Longest wait for a FIFO's writer to write (`<(slow-command)`), in milliseconds. */
const MOST_FIFO_WAIT_MS = 10_000

/**
 * The bytes of a file an option names (`--cookies`, `--ca-cert`, `--cert`, `--key`, `--netrc-file`,
 * `--cert-password-file`), read at start-up without ever waiting for good. A FIFO is opened without
 * blocking: `readFileSync` of a FIFO no process writes to (`mkfifo c.txt`) waited in `open` for
 * ever, the event loop held, so that neither Ctrl-C nor SIGTERM stopped it (only SIGKILL did).
 * A process substitution (`--cookies <(decrypt cookies.gpg)`) is read to its end, waiting up to 10 s
 * for its next bytes; a FIFO nobody writes to, or one whose writer writes nothing for 10 s, throws
 * an error whose message says so; a FIFO or device giving more than 64 MiB (`/dev/zero`) too.
 * Other errors are the file system's (`ENOENT`, `EISDIR`...), for `fileFault` to word.
 */
export function readOptionFileSync(path: string): Buffer {
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
  try {
    const info = fstatSync(fd)
    if (info.isFile() || info.isDirectory()) return readFileSync(fd)
    return readStream(fd, info.isFIFO())
  } finally {
    closeSync(fd)
  }
}

function readStream(fd: number, fifo: boolean): Buffer {
  const chunks: Buffer[] = []
  let total = 0
  let waited = 0
  const pause = new Int32Array(new SharedArrayBuffer(4))
  for (;;) {
    const chunk = Buffer.allocUnsafe(64 * 1024)
    let n: number
    try {
      n = readSync(fd, chunk, 0, chunk.length, null)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error
      if (waited >= MOST_FIFO_WAIT_MS)
        throw new Error(`a FIFO whose writer wrote nothing for ${MOST_FIFO_WAIT_MS / 1000} s`)
      Atomics.wait(pause, 0, 0, 20)
      waited += 20
      continue
    }
    if (n === 0) break
    waited = 0
    chunks.push(chunk.subarray(0, n))
    total += n
    if (total > MOST_STREAM_BYTES)
      throw new Error(`a ${fifo ? 'FIFO' : 'device'} giving more than ${MOST_STREAM_BYTES / 1024 / 1024} MiB`)
  }
  if (total === 0 && fifo) throw new Error('a FIFO no process writes to')
  return Buffer.concat(chunks)
}
