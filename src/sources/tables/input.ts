import { createReadStream } from 'node:fs'
import { pipeline, Readable, Transform } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { UsageError } from '../../errors.js'
import { fileFault } from '../../utils/near-file.js'
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
 * The bytes of a file, gunzipped when it is gzip; read errors surface on the stream. `start`: the
 * first byte to give, of the text (for a gzip file, of its decompressed bytes, read up to there).
 */
export function openBytes(file: TableFile, start = 0): Readable {
  const raw = createReadStream(file.path, { highWaterMark: 256 * 1024, start: file.gzip ? 0 : start })
  if (!file.gzip) return raw
  // pipeline destroys the gunzip stream with the file's error, so one stream carries both.
  const gunzip = pipeline(raw, createGunzip(), () => {})
  return bytesBeforeError(start === 0 ? gunzip : pipeline(gunzip, skipping(start), () => {}))
}

/** A read or decompression failure as a one-line `UsageError` naming the file and where it stopped. */
export function readFailure(file: TableFile, error: unknown, where: string): UsageError {
  if (error instanceof UsageError) return error
  const e = error as NodeJS.ErrnoException
  const zlib = typeof e?.code === 'string' && e.code.startsWith('Z_')
  const why = zlib ? `gzip data is corrupt or truncated (${e.message})` : fileFault(error)
  return new UsageError(`cannot read ${file.path}${where ? ` ${where}` : ''}: ${why}`, { cause: error })
}
