import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { lstat, readdir, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { makeFolders } from '../utils/folders.js'
import { nameFold } from '../utils/name-fold.js'
import { RecentMap } from '../utils/recent.js'
import { renameInto } from '../utils/rename-into.js'
import { linkThenUnlink } from './linker.js'

/** Part files present when a run starts (names in the folder `parts`): the leftovers of a run that was cut. */
export async function existingParts(parts: string): Promise<Set<string>> {
  try {
    return new Set(await readdir(parts))
  } catch {
    return new Set()
  }
}

/**
 * Folders kept in `madeDirs` and in `freshSubdirs`, each (the least recently used go first).
 * `{path}` names can make a folder per URL: unbounded, 60,000 of them held 27 MB, and a list of
 * 100 million would have held tens of GB. A folder dropped costs one `mkdir` that finds it there
 * (and, if it was fresh, an `lstat` per file put in it later), never a wrong answer.
 */
export const FOLDERS_KEPT = 10_000

/** Folders made (or being made) in this process: each is made once (while kept, see `FOLDERS_KEPT`). */
const madeDirs = new RecentMap<string, Promise<unknown>>(FOLDERS_KEPT)

/**
 * Folders a run made or found empty and holds (its lock keeps other runs out), and the ones made
 * in them: no name in them is taken but by this run's own jobs, which the
 * journal keeps apart. `nameState` needs no look at the disk there: on two busy cores that
 * `lstat` cost a sixth of a run's main thread (1,000,000 tiny images), in handing it to libuv's
 * pool more than in the call itself.
 */
const freshRoots = new Set<string>()
/** The folders made in a fresh one (see `freshRoots`), the most recently used `FOLDERS_KEPT`. */
const freshSubdirs = new RecentMap<string, true>(FOLDERS_KEPT)
const isFresh = (dir: string) => freshRoots.has(dir) || freshSubdirs.has(dir)

/**
 * The names a folder that is not fresh held when this run first looked for a name in it, as
 * hashes of their `nameFold` (a number each: a folder of a million files costs some megabytes,
 * not its names' strings), or, once a hash is met there, the folds themselves; the most recently
 * used `FOLDERS_KEPT` folders.
 */
const foldsFound = new RecentMap<string, Promise<{ hashes: Set<number>; folds?: Set<string> }>>(FOLDERS_KEPT)

/** Keep `count` folders of each kind instead of `FOLDERS_KEPT` (tests use a few, to drop some). */
export function keepFolders(count: number): void {
  madeDirs.limit = count
  freshSubdirs.limit = count
  foldsFound.limit = count
}

/**
 * At a run's start: whether it made `out` (or found it empty) and holds it (see `freshRoots`). A
 * folder that held anything is not fresh, whatever an earlier run in this process made of it; and no folder in it is
 * taken as made, since an earlier run made it.
 */
export function markFresh(out: string, fresh: boolean): void {
  const root = join(out)
  const under = (dir: string) => dir === root || dir.startsWith(join(root, '/'))
  // What an earlier run in this process made there may be gone (the folder deleted since).
  for (const dir of [...madeDirs.keys()]) if (under(dir)) madeDirs.delete(dir)
  for (const dir of [...foldsFound.keys()]) if (under(dir)) foldsFound.delete(dir)
  if (fresh) freshRoots.add(root)
  else {
    for (const dir of [...freshRoots]) if (under(dir)) freshRoots.delete(dir)
    for (const dir of [...freshSubdirs.keys()]) if (under(dir)) freshSubdirs.delete(dir)
  }
}

/**
 * Give a verified part file its final name. `link` fails rather than replace a file someone else
 * put there; `overwrite` is for our own earlier copy of the same job. A name taken by a file with
 * exactly the bytes of `same` (its size, then its sha256) is the job's already (an earlier run
 * put it there and was stopped before its journal said so, or ran without one): the part goes,
 * the name is kept, nothing is duplicated. Resolves `true` when published, `'taken'` if the name
 * is taken, `'folder-taken'` if a folder on its way is a file (`a.png` saved, then `a.png/b` asked
 * for). On libuv's pool, never on the thread that moves bytes: a directory entry on a real disk
 * can cost a millisecond of kernel time.
 */
export async function publish(
  part: string,
  out: string,
  relative: string,
  overwrite: boolean,
  same?: Same,
): Promise<true | 'taken' | 'folder-taken' | 'too-long'> {
  try {
    return await publishOnce(part, out, relative, overwrite, same)
  } catch (error) {
    // A folder of names this run made and someone removed meanwhile (finished images moved away
    // mid-run): it is made again, once. A part that is gone too fails again, as the folder's fault.
    const dir = dirname(join(out, relative))
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !(await forgetGone(dir))) throw error
    return publishOnce(part, out, relative, overwrite, same)
  }
}

/** Forget that `dir` and the folders holding it were made, where `dir` is gone: whether it is. */
async function forgetGone(dir: string): Promise<boolean> {
  if (
    await lstat(dir).then(
      () => true,
      () => false,
    )
  )
    return false
  for (let d = dir; dirname(d) !== d; d = dirname(d)) madeDirs.delete(d)
  return true
}

async function publishOnce(
  part: string,
  out: string,
  relative: string,
  overwrite: boolean,
  same?: Same,
): Promise<true | 'taken' | 'folder-taken' | 'too-long'> {
  const target = join(out, relative)
  const dir = dirname(target)
  let made = madeDirs.get(dir)
  if (!made) {
    made = makeFolders(dir).then((first) => {
      // The folders made, from the first down to `dir`, are fresh when what holds them is.
      if (first === undefined || !isFresh(dirname(first))) return
      for (let d = dir; d.length >= first.length; d = dirname(d)) freshSubdirs.set(d, true)
    })
    madeDirs.set(dir, made)
    made.catch(() => madeDirs.delete(dir))
  }
  try {
    await made
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST' || code === 'ENOTDIR') return 'folder-taken'
    if (code === 'ENAMETOOLONG') return 'too-long'
    throw error
  }
  if (overwrite) {
    await renameInto(part, target)
    return true
  }
  try {
    // The part's second name, then its first removed: many files at a time on a thread (see linker.ts).
    await linkThenUnlink(part, target)
    return true
  } catch (error) {
    // The part's removal failed after its link: as the removal's own failure was.
    if ((error as { linkStep?: string }).linkStep !== 'link') throw error
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOTDIR') return 'folder-taken'
    if (code === 'ENAMETOOLONG') return 'too-long'
    if (NO_LINK.has(code ?? '')) return moveTo(part, out, relative, same)
    // A disk out of inodes where a second name takes one (tmpfs counts links as inodes): a
    // rename takes none. A disk out of space fails the rename too, as the fault it is.
    if (code === 'ENOSPC') return moveTo(part, out, relative, same)
    if (code !== 'EEXIST') throw error
    if (!same || !(await holds(target, same))) return 'taken'
  }
  await unlink(part)
  return true
}

/**
 * What `link` says where it cannot make a hard link: a file system without them (FAT and exFAT
 * give EPERM; FUSE and some network mounts EOPNOTSUPP or ENOSYS), or a name on another device
 * than the part (EXDEV: a folder in the output folder that is a mount point, or a link to another disk).
 */
const NO_LINK = new Set(['EPERM', 'EOPNOTSUPP', 'ENOTSUP', 'ENOSYS', 'EXDEV'])

/** Whether `error` (from `link`) says no hard link can be made there (see `NO_LINK`). */
export const cannotLink = (error: unknown): boolean =>
  NO_LINK.has((error as NodeJS.ErrnoException | null)?.code ?? '')

/**
 * `publish` where no hard link can be made: the name is looked at (`nameState`), then taken by a rename, atomic
 * but not exclusive (the output folder's lock keeps other imgpull runs out, not other programs).
 * A rename that fails as EPERM again is the permission fault it says.
 */
async function moveTo(
  part: string,
  out: string,
  relative: string,
  same?: Same,
): Promise<true | 'taken' | 'folder-taken' | 'too-long'> {
  const state = await nameState(out, relative, same)
  if (state === 'same') {
    await unlink(part)
    return true
  }
  if (state !== 'free') return state
  const target = join(out, relative)
  await renameInto(part, target)
  return true
}

/**
 * What holds the name `relative` in `out` before a job takes it: nothing (`'free'`), a file of
 * exactly the bytes of `same` (`'same'`: the job's already), another file (`'taken'`), or a file
 * where a folder on its way must be (`'folder-taken'`). Read before the journal names the file,
 * so that it never names one that is not the job's.
 */
export async function nameState(
  out: string,
  relative: string,
  same?: Same,
): Promise<'free' | 'same' | 'taken' | 'folder-taken' | 'too-long'> {
  const target = join(out, relative)
  if (isFresh(dirname(target))) return 'free'
  try {
    await lstat(target)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return (await foldTwin(dirname(target), basename(target))) ? 'taken' : 'free'
    if (code === 'ENOTDIR') return 'folder-taken'
    if (code === 'ENAMETOOLONG') return 'too-long'
    throw error
  }
  return same && (await holds(target, same)) ? 'same' : 'taken'
}

/** FNV-1a over a name's UTF-16 code units: a hash to find a fold by, checked against the names themselves. */
function foldHash(fold: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < fold.length; i++) h = Math.imul(h ^ fold.charCodeAt(i), 0x01000193)
  // 30 bits: a small integer V8 keeps in the set itself, where a larger one is a boxed number.
  return h & 0x3fffffff
}

const namesIn = (dir: string) => readdir(dir).catch((): string[] => [])

/**
 * Whether `dir` holds a name other than `name` that is one with it on macOS, Windows and memory
 * cards (`nameFold`: `Cat.jpg` for `cat.jpg`, `café` composed for `café` decomposed), where a
 * case-sensitive disk (Linux) holds both: a file not of this run's journal (the user's own, a run
 * without journal's) took no suffix there, and the folder copied to such a disk kept one of the
 * two. This run's names and its journal's are kept apart as they are planned; a fresh folder holds
 * no other.
 */
async function foldTwin(dir: string, name: string): Promise<boolean> {
  if (isFresh(dir)) return false
  let found = foldsFound.get(dir)
  if (!found) {
    found = namesIn(dir).then((names) => ({ hashes: new Set(names.map((n) => foldHash(nameFold(n)))) }))
    foldsFound.set(dir, found)
  }
  const fold = nameFold(name)
  const known = await found
  if (known.folds) return known.folds.has(fold)
  if (!known.hashes.has(foldHash(fold))) return false
  // A hash met: the names themselves, read again once, kept for the folder's next names (a
  // folder of IMG_0001.JPG... and a list of img_0001.jpg... meets one a file).
  const folds = new Set((await namesIn(dir)).map(nameFold))
  foldsFound.set(dir, Promise.resolve({ hashes: known.hashes, folds }))
  return folds.has(fold)
}

/**
 * The bytes a job's file is: its size, and its sha256 or, where none was made (`--hash none`),
 * the file that holds them (`file`, hashed only when a file at the name has that size); with
 * `before` (ms since the epoch), a file at the name counts only if last written before then.
 */
export interface Same {
  bytes: number
  sha256?: string
  file?: string
  before?: number
}

/** The sha256 of the file at `path` (hex), `undefined` where it cannot be read. */
export async function sha256Of(path: string): Promise<string | undefined> {
  const hash = createHash('sha256')
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  } catch {
    return undefined
  }
  return hash.digest('hex')
}

/**
 * Whether `path` is a regular file of exactly these bytes (size first: hashing only on a match),
 * and, with `before`, one last written before then. Without a sha256 (`--hash none`) the bytes
 * are `same.file`'s, hashed then: a rerun without journal made a second copy of every image
 * (wget without -nc: deepchem/deepchem#341).
 */
export async function holds(path: string, same: Same): Promise<boolean> {
  const info = await lstat(path).catch(() => undefined)
  if (!info?.isFile() || info.size !== same.bytes) return false
  if (same.before !== undefined && info.mtimeMs >= same.before) return false
  const want = same.sha256 ?? (same.file === undefined ? undefined : await sha256Of(same.file))
  return want !== undefined && (await sha256Of(path)) === want
}
