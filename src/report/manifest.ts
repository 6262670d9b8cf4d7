import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { rename, unlink } from 'node:fs/promises'
import type { JobRecord } from '../journal/journal.js'
import { type Layout, MANIFEST } from '../layout.js'
import { manifestLine } from '../outcome.js'

/**
 * Write `OUT/manifest.jsonl`: one line per job the journal knows, with its latest outcome (status
 * `ok`, `failed` or `pending`), in the order jobs were first planned. It is the folder's inventory,
 * whatever the last run was (one URL, an empty list, a stopped run), and agrees with
 * `imgpull status`. Written under a temporary name and renamed, so a reader never sees half of it.
 */
export async function writeManifest(paths: Layout, records: Iterable<JobRecord>): Promise<void> {
  const tmp = paths.tmp(MANIFEST)
  const stream = createWriteStream(tmp)
  const failed = once(stream, 'error').then(([error]) => {
    throw error
  })
  failed.catch(() => {})
  try {
    for (const r of records) {
      if (!stream.write(`${manifestLine(r.url, r.state, r, r.meta)}\n`)) {
        await Promise.race([once(stream, 'drain'), failed])
      }
    }
    stream.end()
    await Promise.race([once(stream, 'finish'), failed])
    await rename(tmp, paths.manifest)
  } catch (error) {
    stream.destroy()
    await unlink(tmp).catch(() => {})
    throw error
  }
}
