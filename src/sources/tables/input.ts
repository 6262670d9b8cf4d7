import { createReadStream } from 'node:fs'
import { pipeline, Readable, Transform } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { UsageError } from '../../errors.js'
import { fileFault } from '../../utils/near-file.js'
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
  // pipeline destroys the gunzip stream with the file's error, so one stream carries both.
  const gunzipped = file.gzip ? pipeline(raw, createGunzip(), () => {}) : raw
  const text = file.utf16 ? fromUtf16(gunzipped, file.utf16) : gunzipped
  return bytesBeforeError(start === 0 ? text : pipeline(text, skipping(start), () => {}))
}

/** The first `bytes` bytes `stream` gives (fewer when it ends before); the stream is destroyed. */
export async function streamHead(stream: Readable, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk)
      size += chunk.length
      if (size >= bytes) break
    }
  } finally {
    stream.destroy()
  }
  return Buffer.concat(chunks).subarray(0, bytes)
}

/**
 * The first `bytes` bytes of a file's text (fewer when it is shorter), gunzipped when it is gzip;
 * empty when they cannot be read (the reader names the error).
 */
export const textHead = (file: TableFile, bytes: number): Promise<Buffer> =>
  streamHead(openBytes(file), bytes).catch(() => Buffer.alloc(0))

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
