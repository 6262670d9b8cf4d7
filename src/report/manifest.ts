import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { unlink } from 'node:fs/promises'
import { type Layout, MANIFEST } from '../layout.js'
import { jsonLineForTerminal } from '../utils/printable.js'
import { renameInto } from '../utils/rename-into.js'

/**
 * Write `OUT/manifest.jsonl`: one line per job the journal knows, with its latest outcome (status
 * `ok`, `failed` or `pending`), in the order jobs were first planned. It is the folder's inventory,
 * whatever the last run was (one URL, an empty list, a stopped run), and agrees with
 * `imgpull status`. Written under a temporary name and renamed, so a reader never sees half of it.
 */
export async function writeManifest(paths: Layout, lines: Iterable<string>): Promise<void> {
  const tmp = paths.tmp(MANIFEST)
  // A file of its own ('wx'): never one a link left at the name points to.
  await unlink(tmp).catch(() => {})
  const stream = createWriteStream(tmp, { flags: 'wx' })
  const failed = once(stream, 'error').then(([error]) => {
    throw error
  })
  failed.catch(() => {})
  try {
    // Lines go out a thousand at a time: one write per line would cost more than making them.
    let batch: string[] = []
    const write = async () => {
      if (!stream.write(`${batch.join('\n')}\n`)) await Promise.race([once(stream, 'drain'), failed])
      batch = []
    }
    for (const line of lines) {
      // Lines come from SQLite's json_object as well as from manifestLine: both leave C1 controls.
      batch.push(jsonLineForTerminal(line))
      if (batch.length === 1000) await write()
    }
    if (batch.length > 0) await write()
    stream.end()
    await Promise.race([once(stream, 'finish'), failed])
    await renameInto(tmp, paths.manifest)
  } catch (error) {
    stream.destroy()
    await unlink(tmp).catch(() => {})
    throw error
  }
}
