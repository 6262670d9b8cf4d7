import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import type { TableFile } from './format.js'
import { readFailure } from './input.js'

/** A decompressed copy of a file, removed by `remove()`. */
export interface TempCopy {
  path: string
  remove(): Promise<void>
}

/**
 * Decompress a gzip file into a fresh folder under `tempDir`, streamed (constant memory), for
 * readers that need random access (Parquet reads its footer first). The copy takes the disk space
 * of the decompressed file until `remove()`; a failure removes what was written and throws a
 * `UsageError` naming the file.
 */
export async function gunzipToTemp(file: TableFile, tempDir: string): Promise<TempCopy> {
  const dir = await mkdtemp(join(tempDir, 'imgpull-table-'))
  const path = join(dir, basename(file.path).replace(/\.gz$/i, ''))
  const remove = () => rm(dir, { recursive: true, force: true })
  try {
    await pipeline(createReadStream(file.path), createGunzip(), createWriteStream(path))
  } catch (error) {
    await remove()
    throw readFailure(file, error, '')
  }
  return { path, remove }
}
