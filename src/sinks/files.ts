import { link, mkdir, readdir, rename, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'

/** Part files present when a run starts (names in the folder `parts`): the leftovers of a run that was cut. */
export async function existingParts(parts: string): Promise<Set<string>> {
  try {
    return new Set(await readdir(parts))
  } catch {
    return new Set()
  }
}

/** Folders made (or being made) in this process: each is made once. */
const madeDirs = new Map<string, Promise<unknown>>()

/**
 * Give a verified part file its final name. `link` fails rather than replace a file someone else
 * put there; `overwrite` is for our own earlier copy of the same job. Resolves `true` when
 * published, `'taken'` if the name is taken, `'folder-taken'` if a folder on its way is a file
 * (`a.png` saved, then `a.png/b` asked for). On libuv's pool, never on the thread that moves
 * bytes: a directory entry on a real disk can cost a millisecond of kernel time.
 */
export async function publish(
  part: string,
  out: string,
  relative: string,
  overwrite: boolean,
): Promise<true | 'taken' | 'folder-taken'> {
  const target = join(out, relative)
  const dir = dirname(target)
  let made = madeDirs.get(dir)
  if (!made) {
    made = mkdir(dir, { recursive: true })
    madeDirs.set(dir, made)
    made.catch(() => madeDirs.delete(dir))
  }
  try {
    await made
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST' || code === 'ENOTDIR') return 'folder-taken'
    throw error
  }
  if (overwrite) {
    await rename(part, target)
    return true
  }
  try {
    await link(part, target)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return 'taken'
    if (code === 'ENOTDIR') return 'folder-taken'
    throw error
  }
  await unlink(part)
  return true
}
