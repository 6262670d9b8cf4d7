import { createReadStream } from 'node:fs'
import { pipeline, Readable, Transform } from 'node:stream'
import { UsageError } from '../../errors.js'
import { fileFault } from '../../utils/near-file.js'
import { gunzipFile } from '../gunzip.js'
import { cutAtBuffer, WRITER_BUFFER } from '../lines.js'
import { inputWord } from '../pipe-list.js'
import { fromUtf16 } from '../utf16.js'
import type { TableFile } from './format.js'

/** A stream that drops the first `n` bytes through it. */
function skipping(n: number): Transform {
  let left = n
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const skip = Math.min(left, chunk.length)
      left -= skip
      done(null, skip === chunk.length ? undefined : chunk.subarray(skip))
    },
  })
}

/**
 * `inner`'s bytes, every one it holds given before its error: a stream destroyed by an error drops
 * what it holds unread, and an async iterator throws the error at once. So a truncated `.csv.gz`
 * lost the lines gunzip had decoded but the reader had not yet taken (tens of rows, up to its
 * buffer), which `zcat` prints, and the message named the line before them. The bytes are handed on
 * one read at a time (`highWaterMark: 0`), so none wait here when the error is passed on.
 */
export function bytesBeforeError(inner: Readable): Readable {
  let failure: Error | undefined
  let wanted = false
  const pump = () => {
    wanted = true
    const chunk = inner.read() as Buffer | null
    if (chunk !== null) {
      wanted = false
      out.push(chunk)
    } else if (failure && out.readableLength === 0) out.destroy(failure)
  }
  const out: Readable = new Readable({
    highWaterMark: 0,
    read: pump,
    destroy(error, callback) {
      inner.destroy()
      callback(error)
    },
  })
  inner.on('readable', () => wanted && pump())
  inner.on('end', () => out.push(null))
  inner.on('error', (error) => {
    failure = error
    if (wanted) pump()
  })
  return out
}

/**
 * The text of a file as UTF-8 bytes: gunzipped when it is gzip, decoded when it is UTF-16
 * (`file.utf16`); read errors surface on the stream. `start`: the first byte to give, of the text
 * (for a gzip or UTF-16 file, of its decompressed and decoded bytes, read up to there), so every
 * offset a reader keeps is one in the same UTF-8 text.
 */
export function openBytes(file: TableFile, start = 0): Readable {
  const coded = file.gzip || file.utf16 !== undefined
  // A pipe's bytes from its start, whatever was read of them before (see `PipeTap`).
  const raw = file.pipe
    ? file.pipe.open()
    : createReadStream(file.path, { highWaterMark: 256 * 1024, start: coded ? 0 : start })
  if (!coded) return file.pipe && start > 0 ? pipeline(raw, skipping(start), () => {}) : raw
  const gunzipped = file.gzip ? gunzipFile(raw, inputWord(file.path)) : raw
  const text = file.utf16 ? fromUtf16(gunzipped, file.utf16) : gunzipped
  return bytesBeforeError(start === 0 ? text : pipeline(text, skipping(start), () => {}))
}

/**
 * How long, in ms, a pipe's head is waited for once some of it came: a check of a piped table takes
 * the bytes the pipe gave before it went this quiet, where it would wait for its whole head. A
 * crawler writing rows as it finds them gave the run nothing to fetch until 1 MiB had come (the
 * CSV escape's sniff, `ESCAPE_SNIFF_BYTES`) or it ended.
 */
export const PIPE_QUIET_MS = 500

/** A quiet pipe (see `streamHead`). */
const QUIET = Symbol('quiet')

/**
 * The first `bytes` bytes `stream` gives (fewer when it ends before, or, given `quietMs`, when no
 * byte came for that many ms after the first: see `PIPE_QUIET_MS`); the stream is destroyed.
 */
export async function streamHead(stream: Readable, bytes: number, quietMs?: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  const chunksOf = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
  try {
    while (size < bytes) {
      const next = chunksOf.next()
      let step: IteratorResult<Buffer> | typeof QUIET
      if (quietMs === undefined || size === 0) step = await next
      else {
        let timer: NodeJS.Timeout | undefined
        step = await Promise.race([
          next,
          new Promise<typeof QUIET>((resolve) => {
            timer = setTimeout(resolve, quietMs, QUIET)
          }),
        ]).finally(() => clearTimeout(timer))
        // Left pending: what it gives (a chunk, the end, the destroy's error) is not this head's.
        if (step === QUIET) next.catch(() => {})
      }
      if (step === QUIET || step.done) break
      chunks.push(step.value)
      size += step.value.length
    }
  } finally {
    stream.destroy()
  }
  return Buffer.concat(chunks).subarray(0, bytes)
}

/**
 * The first `bytes` bytes of a file's text (fewer when it is shorter), gunzipped when it is gzip;
 * empty when they cannot be read (the reader names the error). A pipe's: those it gave before it went quiet (`PIPE_QUIET_MS`).
 */
export const textHead = (file: TableFile, bytes: number): Promise<Buffer> =>
  streamHead(openBytes(file), bytes, file.pipe ? PIPE_QUIET_MS : undefined).catch(() => Buffer.alloc(0))

/** A read or decompression failure as a one-line `UsageError` naming the file and where it stopped. */
export function readFailure(file: TableFile, error: unknown, where: string): UsageError {
  if (error instanceof UsageError) return error
  const e = error as NodeJS.ErrnoException
  const zlib = typeof e?.code === 'string' && e.code.startsWith('Z_')
  const why = zlib ? `gzip data is corrupt or truncated (${e.message})` : fileFault(error)
  return new UsageError(`cannot read ${inputWord(file.path)}${where ? ` ${where}` : ''}: ${why}`, {
    cause: error,
  })
}

/**
 * A piped table whose last row has no line end and ends at `bytes` (of its text), where a writer's
 * buffer does (`cutAtBuffer`, as for a list): its writer most likely died mid-row (`gen | imgpull
 * - --input-format csv`, gen killed), and the row cut short was read as a row, its URL, cut, asking
 * for another file or none. The `UsageError` naming the row's `line`; `undefined` for any other end.
 * A pipe's alone: a file's rows a worker reads too, which would read it.
 */
export function cutRow(
  file: TableFile,
  line: number,
  bytes: number,
  lineEnded: boolean,
): UsageError | undefined {
  if (!file.pipe || lineEnded || !cutAtBuffer(bytes)) return undefined
  return new UsageError(
    `${inputWord(file.path)} line ${line} has no line end, and the table ends at byte ${bytes}, where a writer's buffer does (a multiple of ${WRITER_BUFFER}): its writer most likely stopped mid-row, and the row is not read; if the table is whole, end it with a newline`,
  )
}
