import { createReadStream } from 'node:fs'
import { pipeline, type Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { UsageError } from '../../errors.js'
import type { TableFile } from './format.js'

/** The bytes of a file, gunzipped when its name ends in `.gz`; read errors surface on the stream. */
export function openBytes(file: TableFile): Readable {
  const raw = createReadStream(file.path, { highWaterMark: 256 * 1024 })
  if (!file.gzip) return raw
  // pipeline destroys the gunzip stream with the file's error, so one stream carries both.
  return pipeline(raw, createGunzip(), () => {})
}

/** A read or decompression failure as a one-line `UsageError` naming the file and where it stopped. */
export function readFailure(file: TableFile, error: unknown, where: string): UsageError {
  if (error instanceof UsageError) return error
  const e = error as NodeJS.ErrnoException
  const zlib = typeof e?.code === 'string' && e.code.startsWith('Z_')
  const why = zlib
    ? `gzip data is corrupt or truncated (${e.message})`
    : e?.code === 'ENOENT'
      ? 'no such file'
      : e?.code === 'EACCES'
        ? 'permission denied'
        : (e?.message ?? String(error))
  return new UsageError(`cannot read ${file.path}${where ? ` ${where}` : ''}: ${why}`, { cause: error })
}
