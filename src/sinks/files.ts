import { link, mkdir, readdir, rename, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'

/** Work files live here, inside the output folder: same file system, so renames are atomic. */
export const WORK_DIR = '.imgpull'

export function partsDir(out: string): string {
  return join(out, WORK_DIR, 'parts')
}

/** Part files present when a run starts: the leftovers of a run that was cut. */
export async function existingParts(out: string): Promise<Set<string>> {
  try {
    return new Set(await readdir(partsDir(out)))
  } catch {
    return new Set()
  }
}

const madeDirs = new Set<string>()

async function ensureDir(dir: string): Promise<void> {
  if (madeDirs.has(dir)) return
  await mkdir(dir, { recursive: true })
  madeDirs.add(dir)
}

/**
 * Give a verified part file its final name. `link` fails rather than replace a file someone else
 * put there; `overwrite` is for our own earlier copy of the same job. Returns false if the name
 * is taken.
 */
export async function publish(
  part: string,
  out: string,
  relative: string,
  overwrite: boolean,
): Promise<boolean> {
  const target = join(out, relative)
  await ensureDir(dirname(target))
  if (overwrite) {
    await rename(part, target)
    return true
  }
  try {
    await link(part, target)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
  await unlink(part)
  return true
}
