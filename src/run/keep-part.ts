import { statSync, truncateSync } from 'node:fs'
import { errorCode } from '../errors.js'
import { ifRangeValue } from '../fetch/judge.js'
import type { Journal } from '../journal/journal.js'
import { primaryCode } from '../sinks/local-faults.js'
import type { Validators } from '../types.js'

/**
 * The bytes of a cut part given up, at a stop on a full disk, for the journal to take its
 * validators: a commit of one row is a few WAL frames of 4 KiB pages.
 */
export const JOURNAL_ROOM = 64 * 1024

/**
 * Journal, at a stop, the validators a cut part was written under where the journal lacks them, so
 * that the next run resumes it; false when it cannot (the part then goes: a rerun would fetch the
 * file from byte 0, and the part held the disk's space meanwhile). A full disk can meet the
 * journal's commit first: a transfer thread writes the body on while the main thread commits its
 * validators, and that commit found the disk the part had filled (`SQLITE_FULL`), its batch rolled
 * back. The stop then said only `cannot write photos: no space left on device`, the part removed,
 * where a part's own write meeting it first kept the part, said "a rerun resumes them". When that
 * commit finds no room either, the part's last `JOURNAL_ROOM` bytes make it (the rerun asks for
 * them again).
 */
export function journalCutPart(
  journal: Journal,
  key: string,
  part: string,
  validators: Validators | undefined,
): boolean {
  if (!validators || ifRangeValue(validators) === undefined) return false
  const size = statSync(part, { throwIfNoEntry: false })?.size ?? 0
  if (size === 0) return false
  try {
    return journal.keepValidators(key, validators)
  } catch (error) {
    if (primaryCode(errorCode(error)) !== 'SQLITE_FULL' || size <= JOURNAL_ROOM) return false
  }
  truncateSync(part, size - JOURNAL_ROOM)
  try {
    return journal.keepValidators(key, validators)
  } catch {
    return false
  }
}
