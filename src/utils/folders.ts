import { mkdir, stat } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * `mkdir -p path`, one level at a time, for every folder a run makes. Node's own
 * `mkdir(path, { recursive: true })` hides why a level could not be made: a disk out of space or
 * inodes (ENOSPC), a quota (EDQUOT) or a read-only file system (EROFS) all come out as ENOENT
 * (nodejs/node#42808, #47098), which no one can act on and the run took for a failure of its own;
 * and where a parent exists but refuses the child with ENOENT (procfs, `/proc/x`) it never
 * returns: it makes the parent again, forever, on libuv's thread pool, and the run cannot even
 * be stopped. Here each level's own error is the one thrown (a refusal as ENOENT stays ENOENT).
 * Resolves with the first folder made (as the recursive `mkdir` does), `undefined` when `path`
 * was a folder already; rejects with the file system's error otherwise (EEXIST when it is a file).
 */
export async function makeFolders(path: string): Promise<string | undefined> {
  let first: string | undefined
  try {
    await mkdir(path)
    return path
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST' && (await isFolder(path))) return undefined
    const parent = dirname(path)
    if (code !== 'ENOENT' || parent === path) throw error
    first = await makeFolders(parent)
  }
  try {
    await mkdir(path)
  } catch (error) {
    // Made meanwhile by someone else: as good.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST' && (await isFolder(path))) return first
    throw error
  }
  return first ?? path
}

async function isFolder(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false
}
