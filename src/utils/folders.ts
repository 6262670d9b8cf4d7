import { mkdir, stat } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * `mkdir -p path`, one level at a time. Node's own `mkdir(path, { recursive: true })` never
 * returns where a parent exists but refuses the child with ENOENT (procfs, `/proc/x`: it makes
 * the parent again, forever, on libuv's thread pool, and the run cannot even be stopped). Here
 * such a refusal rejects with that ENOENT. Resolves when `path` is a folder; rejects with the
 * file system's error otherwise (EEXIST when it is a file).
 */
export async function makeFolders(path: string): Promise<void> {
  try {
    await mkdir(path)
    return
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST' && (await isFolder(path))) return
    const parent = dirname(path)
    if (code !== 'ENOENT' || parent === path) throw error
    await makeFolders(parent)
  }
  try {
    await mkdir(path)
  } catch (error) {
    // Made meanwhile by someone else: as good.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST' && (await isFolder(path))) return
    throw error
  }
}

async function isFolder(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false
}
