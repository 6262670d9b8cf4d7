import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { hostname } from 'node:os'
import { basename, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { processEnded } from '../../utils/processes.js'
import { gunzipFile } from '../gunzip.js'
import { inputWord } from '../pipe-list.js'
import type { TableFile } from './format.js'
import { readFailure } from './input.js'

/** A decompressed copy of a file, removed by `remove()`. */
export interface TempCopy {
  path: string
  remove(): Promise<void>
}

/**
 * Decompress a gzip file into a fresh folder under `tempDir` (named for this host and process: the
 * copies of a process that was killed are removed by the next one to decompress there), streamed (constant memory), for
 * readers that need random access (Parquet reads its footer first). The copy takes the disk space
 * of the decompressed file until `remove()`; a failure removes what was written and throws a
 * `UsageError` naming the file.
 */
export async function gunzipToTemp(file: TableFile, tempDir: string): Promise<TempCopy> {
  await removeStale(tempDir)
  const dir = await mkdtemp(join(tempDir, `imgpull-table-${hostname()}-${process.pid}-`))
  const path = join(dir, basename(file.path).replace(/\.gz$/i, ''))
  const remove = () => rm(dir, { recursive: true, force: true })
  try {
    await pipeline(gunzipFile(createReadStream(file.path), inputWord(file.path)), createWriteStream(path))
  } catch (error) {
    await remove()
    throw readFailure(file, error, '')
  }
  return { path, remove }
}

const COPY = /^imgpull-table-(.+)-(\d+)-[^-]+$/

/** Remove the copies of processes of this host that no longer run (a run killed with -9 leaves its copy). */
async function removeStale(tempDir: string): Promise<void> {
  const names = await readdir(tempDir).catch(() => [] as string[])
  for (const name of names) {
    const match = COPY.exec(name)
    if (match && processEnded(match[1], Number(match[2])))
      await rm(join(tempDir, name), { recursive: true, force: true }).catch(() => {})
  }
}
