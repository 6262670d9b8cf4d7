import { constants, openSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { rm, unlink, writeFile } from 'node:fs/promises'

/**
 * Opening imgpull's own work files (part files, shard spools, tars and rows being written) never
 * follows a link at their name: `O_NOFOLLOW` makes `open` fail with `ELOOP` instead. A symlink
 * planted there (a shared output folder, or one unpacked from an archive with its `.imgpull/`) had
 * bytes written into, or a file truncated at, whatever it pointed to outside the output folder.
 * On a system without the flag (Windows) it is 0: links there need rights a planter seldom has.
 */
export const NO_FOLLOW: number = constants.O_NOFOLLOW ?? 0

/**
 * `openSync(path, flags)` with `O_CREAT`, never through a link (see `NO_FOLLOW`): a link at the
 * name is removed and a file of its own made there. `flags`: the access mode and `O_TRUNC` or not.
 * Throws the file system's error otherwise.
 */
export function openOwnSync(path: string, flags: number, mode = 0o644): number {
  try {
    return openSync(path, flags | constants.O_CREAT | NO_FOLLOW, mode)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOOP') throw error
    unlinkSync(path)
    return openSync(path, flags | constants.O_CREAT | constants.O_EXCL | NO_FOLLOW, mode)
  }
}

/**
 * Write `data` to `path` as a file made anew (`wx`), whatever stood at the name (a file, or a link
 * planted there) removed first: a work file's temporary copy is never written through a link.
 */
export async function writeOwnFile(path: string, data: string | Uint8Array): Promise<void> {
  await rm(path, { force: true })
  await writeFile(path, data, { flag: 'wx' })
}

/** `writeOwnFile`, synchronously. */
export function writeOwnFileSync(path: string, data: string | Uint8Array): void {
  rmSync(path, { force: true })
  writeFileSync(path, data, { flag: 'wx' })
}

/** Whether `error` says a link stood at the name (`open` with `NO_FOLLOW`); if so, the link is removed. */
export async function removedLink(error: unknown, path: string): Promise<boolean> {
  if ((error as NodeJS.ErrnoException).code !== 'ELOOP') return false
  await unlink(path)
  return true
}
