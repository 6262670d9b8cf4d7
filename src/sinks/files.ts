import { linkSync, mkdirSync, renameSync, unlinkSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'

/** Part files present when a run starts (names in the folder `parts`): the leftovers of a run that was cut. */
export async function existingParts(parts: string): Promise<Set<string>> {
  try {
    return new Set(await readdir(parts))
  } catch {
    return new Set()
  }
}

const madeDirs = new Set<string>()

/**
 * Give a verified part file its final name. `link` fails rather than replace a file someone else
 * put there; `overwrite` is for our own earlier copy of the same job. Returns false if the name
 * is taken. Plain syscalls on this thread: a directory entry costs microseconds, less than a
 * round trip through libuv's pool, and one thread never contends with itself for the folder.
 */
export function publish(part: string, out: string, relative: string, overwrite: boolean): boolean {
  const target = join(out, relative)
  const dir = dirname(target)
  if (!madeDirs.has(dir)) {
    mkdirSync(dir, { recursive: true })
    madeDirs.add(dir)
  }
  if (overwrite) {
    renameSync(part, target)
    return true
  }
  try {
    linkSync(part, target)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
  unlinkSync(part)
  return true
}
