import { closeSync, constants, copyFileSync, fsyncSync, openSync, renameSync, unlinkSync } from 'node:fs'
import { copyFile, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/**
 * A file of the work folder (`OUT/.imgpull/`) given its name in the output folder by a rename, or,
 * where the two are on different disks (EXDEV: `.imgpull` a link to, or a mount of, a local disk
 * beside an output folder on a network one; a folder of names that is a mount point), by a copy:
 * made beside the target under a hidden name (`.manifest.jsonl.imgpull-copy`), then renamed to
 * it, so that a copy cut by a crash never bears the final name, and the work file removed. A file
 * or link left at the hidden name is removed first, never written through.
 */
export async function renameInto(from: string, to: string): Promise<void> {
  try {
    await rename(from, to)
    return
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error
  }
  const copy = hiddenCopy(to)
  try {
    await unlink(copy).catch(() => {})
    await copyFile(from, copy, constants.COPYFILE_EXCL)
    await rename(copy, to)
  } catch (failure) {
    await unlink(copy).catch(() => {})
    throw asTarget(failure, copy, to)
  }
  await unlink(from)
}

/**
 * `renameInto`, synchronously; `durable`: the copy is flushed to the disk before it takes its
 * name, as its source was (a shard's outputs).
 */
export function renameIntoSync(from: string, to: string, durable = false): void {
  try {
    renameSync(from, to)
    return
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error
  }
  const copy = hiddenCopy(to)
  try {
    try {
      unlinkSync(copy)
    } catch {}
    copyFileSync(from, copy, constants.COPYFILE_EXCL)
    if (durable) {
      const fd = openSync(copy, constants.O_RDONLY)
      try {
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
    }
    renameSync(copy, to)
  } catch (failure) {
    try {
      unlinkSync(copy)
    } catch {}
    throw asTarget(failure, copy, to)
  }
  unlinkSync(from)
}

/** The hidden name beside `to` a copy is made under before it takes `to`. */
const hiddenCopy = (to: string) => join(dirname(to), `.${basename(to)}.imgpull-copy`)

/** Errors of a disk without room: the copy's hidden name is nothing a user looks for. */
const NO_ROOM = new Set(['ENOSPC', 'EDQUOT', 'EFBIG'])

/**
 * A copy that found no room, named as the file it was making (`to`), not its hidden name: the
 * stop said `cannot write photos/.big.jpg.imgpull-copy: no space left on device`. Any other
 * failure (a folder at the hidden name) keeps the name it is about.
 */
function asTarget(failure: unknown, copy: string, to: string): unknown {
  const error = failure as { code?: unknown; path?: unknown; dest?: unknown } | null
  if (!error || typeof error !== 'object' || !NO_ROOM.has(String(error.code))) return failure
  if (error.dest === copy) error.dest = to
  if (error.path === copy) error.path = to
  return failure
}
