import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  lstatSync,
  openSync,
  readFileSync,
  readlinkSync,
  type Stats,
  statfsSync,
  statSync,
} from 'node:fs'
import { stat } from 'node:fs/promises'
import { devNull } from 'node:os'
import { dirname, resolve } from 'node:path'
import { errorCode as codeOf, FatalError } from '../errors.js'
import { visibleShellWord } from '../utils/command-line.js'
import { outOfDescriptors } from '../utils/descriptors.js'
import { unloadableCode, unloadableLine } from '../utils/own-code.js'
import { kindOf } from './own-outputs.js'

/**
 * Faults of the machine the run writes to (disk full, read-only, no permission, a journal that
 * cannot be written), as opposed to the network's: no retry fixes them, so the whole run stops
 * with exit 3 and one line that names the real cause and what to do.
 */
const FATAL = new Set([
  'ENOSPC',
  'EDQUOT',
  'EFBIG',
  'EIO',
  'EROFS',
  'EACCES',
  'EPERM',
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_READONLY',
  'SQLITE_CANTOPEN',
  'SQLITE_CORRUPT',
  'SQLITE_NOTADB',
  'FOLDER_GONE',
  'FOLDER_TAKEN',
  'PATH_TOO_LONG',
])

/** A disk out of inodes, in words (see `outOfInodes`). */
export const NO_INODES_WORDS =
  'no free inodes left on device (space is left, but no room for more files: see `df -i`)'

const WHY: Record<string, string> = {
  ENOTDIR: 'part of the path is a file, not a folder',
  EISDIR: 'it is a folder',
  ENOENT: 'no such folder',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large for this file system or for the limit on file sizes (ulimit -f)',
  EIO: 'input/output error',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  SQLITE_FULL: 'no space left on device',
  NO_INODES: NO_INODES_WORDS,
  SQLITE_READONLY: 'it is read-only',
  SQLITE_READONLY_DIRECTORY: 'its folder cannot be written to',
  SQLITE_CANTOPEN: 'it cannot be opened',
  SQLITE_CORRUPT: 'it is damaged',
  SQLITE_NOTADB: 'it is not an imgpull journal',
  FOLDER_GONE: 'it was removed or moved away while the run went on',
  FOLDER_TAKEN: 'a file stands where that folder must be',
}

/** The longest name in a path most file systems take (NAME_MAX: ext4, XFS, Btrfs, tmpfs), in bytes. */
const NAME_MAX = 255

/** The longest path Linux takes in one call (PATH_MAX, 4096 with its closing NUL), in bytes. */
const PATH_MAX = 4095

/**
 * Why `path` is too long (ENAMETOOLONG), in words naming the limit: a name in it longer than
 * `NAME_MAX` bytes, else the whole path longer than `PATH_MAX` bytes (lengths as given, in UTF-8
 * bytes, as the kernel counts them). Node said only `ENAMETOOLONG`.
 */
export function tooLongWords(path: string | undefined): string {
  if (path === undefined) return 'its path is too long'
  const name = path.split('/').find((part) => Buffer.byteLength(part) > NAME_MAX)
  if (name !== undefined) {
    const start = visibleShellWord(`${[...name].slice(0, 16).join('')}…`)
    return `the name ${start} in it is ${Buffer.byteLength(name)} bytes, longer than a file system takes (${NAME_MAX})`
  }
  const bytes = Buffer.byteLength(path)
  return bytes > PATH_MAX
    ? `its path is ${bytes} bytes, longer than the system takes (${PATH_MAX})`
    : 'its path is too long for this system'
}

/**
 * A part file that could not be opened because its path is too long (ENAMETOOLONG): part names
 * are a hash of fixed length, so the output folder's path leaves no room for them, and every file
 * would fail so, one by one, as `bad-name`. As a local fault (code `PATH_TOO_LONG`) it stops the
 * run; any other error is returned as it is.
 */
export function partPathTooLong(error: unknown): unknown {
  if (codeOf(error) !== 'ENAMETOOLONG') return error
  const path = (error as NodeJS.ErrnoException).path
  return Object.assign(new Error(tooLongWords(path), { cause: error }), { code: 'PATH_TOO_LONG', path })
}

/**
 * A part file that could not be opened because a folder stands at its path (EISDIR): not one
 * imgpull made (a script's `mkdir -p` of the wrong path, a copy of another output folder), said
 * so. It failed as `bad-name` with Node's `EISDIR: illegal operation on a directory`, as if the
 * file system refused the image's name. Any other error is returned as it is.
 */
export function partIsFolder(error: unknown): unknown {
  if (codeOf(error) !== 'EISDIR') return error
  const path = (error as NodeJS.ErrnoException).path
  return Object.assign(
    new Error(
      "a folder stands where imgpull keeps the file's partial download (not made by imgpull: move it away)",
      {
        cause: error,
      },
    ),
    { code: 'EISDIR', path },
  )
}

/** The longest path of a database file SQLite opens, in bytes (measured: 505 fails). */
const SQLITE_MAX_PATH = 504

/**
 * A file of the run's that could not be made or opened (ENOENT) because its folder is gone: the
 * output folder or its `.imgpull` removed while the run went on (an `rm -rf` in another terminal,
 * a clean-up script). As a local fault (code `FOLDER_GONE`, its `path` the highest folder gone) it
 * stops the run: taken for the host's fault, each file failed as a `network` error after its
 * retries, its body thrown away. So does one that could not be made (ENOTDIR) because a file now
 * stands where its folder was (`FOLDER_TAKEN`, its `path` that file): each failed as `bad-name`,
 * the run going on to fail every file left so (a name of the job's is never met here: `publish`
 * takes a file on its way as a name taken). Any other error is returned as it is.
 */
export async function goneFolder(error: unknown): Promise<unknown> {
  const path = (error as NodeJS.ErrnoException | null)?.path
  if (typeof path !== 'string') return error
  if (codeOf(error) === 'ENOTDIR') {
    const file = fileInTheWay(dirname(path))
    return file === undefined ? error : folderTaken(file, error)
  }
  if (codeOf(error) !== 'ENOENT') return error
  const there = (folder: string) =>
    stat(folder).then(
      (s) => s.isDirectory(),
      () => false,
    )
  let gone = dirname(path)
  if (await there(gone)) return error
  while (dirname(gone) !== gone && !(await there(dirname(gone)))) gone = dirname(gone)
  return folderGone(gone, error)
}

/** The `FOLDER_GONE` local fault of `folder` (see `goneFolder`). */
export function folderGone(folder: string, cause?: unknown): Error {
  return Object.assign(new Error(`the folder ${visibleShellWord(folder)} is gone`, { cause }), {
    code: 'FOLDER_GONE',
    path: folder,
  })
}

/** The `FOLDER_TAKEN` local fault of a `file` standing where a folder of the run's must be. */
export function folderTaken(file: string, cause?: unknown): Error {
  return Object.assign(new Error(`${visibleShellWord(file)} is a file, not a folder`, { cause }), {
    code: 'FOLDER_TAKEN',
    path: file,
  })
}

/**
 * What became of the work folder `work` of the output folder `out` that is no longer the run's:
 * a file in its place or on its way (`FOLDER_TAKEN`), or gone (`FOLDER_GONE`, naming `out` where
 * it went too).
 */
export function lostFolder(out: string, work: string): Error {
  const file = fileInTheWay(work)
  if (file !== undefined) return folderTaken(file)
  return folderGone(folderAt(out) ? work : out)
}

/** Which folder is at a path (its device and inode), `undefined` when none is. */
export function folderAt(path: string): string | undefined {
  try {
    const info = statSync(path, { throwIfNoEntry: false })
    return info?.isDirectory() ? `${info.dev}:${info.ino}` : undefined
  } catch {
    return undefined // a file on its way (ENOTDIR), or a folder that cannot be looked into
  }
}

/**
 * The primary code of a SQLite extended one (`SQLITE_READONLY_DIRECTORY` is a `SQLITE_READONLY`,
 * `SQLITE_CORRUPT_INDEX` a `SQLITE_CORRUPT`); any other code as it is. An extended code was not
 * taken for its family: a journal in a folder made read-only stopped the run with SQLite's bare
 * `attempt to write a readonly database`, exit 1.
 */
export function primaryCode(code: string): string {
  return /^SQLITE_[A-Z]+/.exec(code)?.[0] ?? code
}

/** True for a local disk or journal error (as opposed to a network one). */
export function isFatalLocal(error: unknown): boolean {
  return FATAL.has(primaryCode(codeOf(error)))
}

/**
 * SQLite's errors of the `-shm` file its WAL shares through `mmap`: a file system that cannot map
 * it (fusefat, some FUSE and network file systems) fails every journal there, however writable.
 */
const SHARED_MEMORY = new Set([
  'SQLITE_IOERR_SHMOPEN',
  'SQLITE_IOERR_SHMSIZE',
  'SQLITE_IOERR_SHMMAP',
  'SQLITE_IOERR_SHMLOCK',
])

/** A file system error code in words. */
export function describeFsError(error: unknown): string {
  const code = codeOf(error)
  if (SHARED_MEMORY.has(code))
    return 'its file system does not give the shared memory SQLite needs beside it (some FUSE and network file systems)'
  if (code.startsWith('SQLITE_IOERR')) return 'input/output error'
  if (code === 'ENAMETOOLONG' || code === 'PATH_TOO_LONG')
    return tooLongWords((error as { path?: string }).path)
  if (code === 'EFBIG') return tooLargeWords(fileSizeLimit())
  return WHY[code] ?? WHY[primaryCode(code)] ?? (code || String(error))
}

/** What `statfs` says of a disk's inodes (`df -i`) and blocks (`df`): how many it has, how many are free. */
export interface DiskCount {
  files: number
  ffree: number
  blocks: number
  bavail: number
}

/**
 * Whether a disk that refused a write for want of room (ENOSPC, SQLITE_FULL) is out of inodes, not
 * of space: next to none free (a few hundred at most, or a thousandth), and scarcer than its space.
 * A tmpfs mounted with `nr_inodes`, a disk of millions of small files: its `df -h` shows space
 * left, so `no space left on device` sent the user to free space that was never the want. Not a
 * count of none: by the time the stop is said, the run's temporaries are gone and a few inodes free
 * again; nor a share alone: a file too large for a small disk, removed, leaves both near whole. A
 * file system that counts no inodes (Btrfs: 0 of 0) is out of space.
 */
export function outOfInodes(disk: DiskCount | undefined): boolean {
  if (disk === undefined || disk.files <= 0 || disk.blocks <= 0) return false
  const left = disk.ffree / disk.files
  return (disk.ffree < FEW_INODES || left < 0.001) && left < disk.bavail / disk.blocks
}

/** Inodes a run's temporaries may have given back by the time its stop is said. */
const FEW_INODES = 256

/** The inodes of the disk that holds `path`, or of its nearest folder that exists; `undefined` when none can be read. */
function inodesAt(path: string): DiskCount | undefined {
  let at = resolve(path)
  for (;;) {
    try {
      return statfsSync(at)
    } catch {
      if (dirname(at) === at) return undefined
      at = dirname(at)
    }
  }
}

/** The code a want of room at `path` is said with: `NO_INODES` where the disk is out of inodes, else `code`. */
function roomCode(code: string, path: string | undefined): string {
  const full = code === 'ENOSPC' || primaryCode(code) === 'SQLITE_FULL'
  return full && path !== undefined && outOfInodes(inodesAt(path)) ? 'NO_INODES' : code
}

/** What a person can do about a local fault. */
function remedy(extended: string, what: 'journal' | 'output'): string {
  if (SHARED_MEMORY.has(extended))
    return 'choose an output folder on a local disk with `out`, or run with `journal: false`'
  if (extended === 'SQLITE_READONLY_DIRECTORY')
    return 'make its folder writable, or run with `journal: false`'
  const code = primaryCode(extended)
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') {
    return 'free some space, then run the same command again to continue'
  }
  if (code === 'NO_INODES')
    return 'remove some files from that disk (each file takes an inode, whatever its size), then run the same command again to continue'
  if (what === 'journal' && (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB')) {
    return 'move .imgpull/ away to start this folder afresh, or use another output folder'
  }
  // The process's own limit where it has one (another disk would meet it the same), else the
  // file system's (FAT32's 4 GiB), which another disk's may not have.
  if (code === 'EFBIG')
    return fileSizeLimit() === undefined
      ? "choose an output folder with `out` on another disk (this one's file system takes no file so large)"
      : 'raise the limit on file sizes (ulimit -f), then run the same command again to continue'
  // A folder moved away (`mv photos photos.old`) holds its journal and images still: moved back,
  // the rerun fetches nothing it held; a new folder fetches them all again.
  if (code === 'FOLDER_GONE')
    return 'if it was moved, move it back and run the same command again; else run it again as it is: it makes the folder again (and fetches what went with it)'
  if (code === 'ENAMETOOLONG' || code === 'PATH_TOO_LONG')
    return 'choose an output folder with a shorter path with `out`'
  if (code === 'EROFS') return 'choose an output folder on a writable disk with `out`'
  // Not a permission: a file stands where a folder must be.
  if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'FOLDER_TAKEN')
    return 'move that file away, or choose another output folder with `out`'
  if (what === 'journal') return 'make it writable, or run with `journal: false`'
  return 'make it writable, or choose another output folder with `out`'
}

/**
 * A local fault as a `FatalError`: `what` is the journal (SQLite) or the output folder's files,
 * `path` the file or folder concerned.
 */
export function localFault(error: unknown, what: 'journal' | 'output', path: string): FatalError {
  const code = codeOf(error)
  const bytes = Buffer.byteLength(resolve(path))
  if (what === 'journal' && primaryCode(code) === 'SQLITE_CANTOPEN' && bytes > SQLITE_MAX_PATH) {
    // Not a permission: SQLite opens no file whose whole path is longer (its unix VFS's
    // MAX_PATHNAME, 512, less room for the `-journal` beside it), whatever links lead there.
    return new FatalError(
      'journal',
      `cannot write the journal ${visibleShellWord(path)}: its path is ${bytes} bytes, longer than SQLite opens (${SQLITE_MAX_PATH})`,
      {
        cause: error,
        hint: 'choose an output folder with a shorter path with `out`, or run with `journal: false`',
      },
    )
  }
  // SQLite says only that it cannot open the file; a process out of descriptors is why, at times.
  if (primaryCode(code) === 'SQLITE_CANTOPEN') {
    const cause = noDescriptor()
    const fault = cause && descriptorFault(Object.assign(cause, { path }))
    if (fault) return fault
  }
  // SQLite says only "disk I/O error" of a write the limit on file sizes cut short: said as a
  // journal to make writable (`ulimit -f 150`, a journal's WAL past 150 KiB).
  if (
    what === 'journal' &&
    code.startsWith('SQLITE_IOERR') &&
    atSizeLimit([path, `${path}-wal`, `${path}-journal`])
  )
    return localFault(
      Object.assign(new Error('file too large', { cause: error }), { code: 'EFBIG' }),
      what,
      path,
    )
  const named = what === 'journal' ? { path, cause: error } : culprit(error, path)
  const where = what === 'journal' ? `the journal ${visibleShellWord(path)}` : visibleShellWord(named.path)
  // A damaged journal is not a write that failed: it cannot be used at all.
  const verb = ['SQLITE_CORRUPT', 'SQLITE_NOTADB'].includes(primaryCode(code)) ? 'use' : 'write'
  // A disk out of inodes is said so, not as one to free space on (see `outOfInodes`).
  const room = roomCode(codeOf(named.cause), named.path)
  return new FatalError(
    what === 'journal' ? 'journal' : 'disk',
    `cannot ${verb} ${where}: ${room === 'NO_INODES' ? WHY.NO_INODES : describeFsError(named.cause)}`,
    {
      cause: error,
      hint: remedy(room, what),
    },
  )
}

/**
 * The limit on the size of a file this process writes (`ulimit -f`, RLIMIT_FSIZE), in bytes, from
 * `/proc/self/limits`; `undefined` when there is none, or where it cannot be read (not Linux).
 */
export function fileSizeLimit(limits = readLimits()): number | undefined {
  const soft = /^Max file size\s+(\S+)/m.exec(limits)?.[1]
  return soft !== undefined && /^\d+$/.test(soft) ? Number(soft) : undefined
}

/**
 * A write refused as too large (EFBIG), in words naming the limit on file sizes where the process
 * has one (`limit`, bytes: see `fileSizeLimit`), in the units of `ulimit -f` too (KiB blocks);
 * where it has none, the file system's own limit is the one met (FAT32's 4 GiB).
 */
export function tooLargeWords(limit: number | undefined): string {
  if (limit === undefined) return WHY.EFBIG as string
  const blocks = limit % 1024 === 0 ? ` ${limit / 1024}` : ''
  return `file too large for the limit on file sizes, ${limit} bytes (ulimit -f${blocks})`
}

function readLimits(): string {
  try {
    return readFileSync('/proc/self/limits', 'utf8')
  } catch {
    return ''
  }
}

/**
 * Whether one of `files` has reached the limit on file sizes, within the 64 KiB that a write
 * which crossed it may have left unwritten.
 */
function atSizeLimit(files: string[]): boolean {
  const limit = fileSizeLimit()
  if (limit === undefined) return false
  return files.some((file) => {
    try {
      return (statSync(file, { throwIfNoEntry: false })?.size ?? 0) + 65_536 >= limit
    } catch {
      return false
    }
  })
}

/**
 * What to name for a failed write of the output's, `fallback` when the error names nothing. A file
 * that could not be made in a folder that refuses it (`chmod a-w photos`, `chattr +i`, a read-only
 * mount there) is that folder's fault, said with the reason its own check gives. A call on two
 * paths (`link`, `rename`, `copyFile`) makes its target (`dest`), yet Node's error names its source
 * as `path`: a file taking its final name in `photos` was said as the part file in
 * `.imgpull/parts` it came from, which a person would make writable in vain. Its source's folder
 * is named where that is the one refusing (a rename out of it); otherwise (a disk full as the name
 * is made) the target is named: on another disk (a mount point in the folder), that disk's.
 */
function culprit(error: unknown, fallback: string): { path: string; cause: unknown } {
  const { path, dest } = (error ?? {}) as { path?: string; dest?: string }
  if (typeof path !== 'string') return { path: fallback, cause: error }
  const made = typeof dest === 'string' ? dest : path
  const refused = (folder: string) => {
    try {
      accessSync(folder, constants.W_OK | constants.X_OK)
      return undefined
    } catch (denied) {
      return codeOf(denied) === 'ENOENT' ? undefined : denied
    }
  }
  for (const folder of new Set([dirname(made), dirname(path)])) {
    const denied = refused(folder)
    if (denied) return { path: folder, cause: denied }
  }
  return { path: made, cause: error }
}

/**
 * The error of opening three files now (SQLite opens a journal with its `-wal` and `-shm`), where
 * the process (EMFILE) or system (ENFILE) has too few descriptors left; `undefined` otherwise.
 */
function noDescriptor(): NodeJS.ErrnoException | undefined {
  const opened: number[] = []
  try {
    for (let i = 0; i < 3; i++) opened.push(openSync(devNull, 'r'))
  } catch (error) {
    if (outOfDescriptors(error)) return error as NodeJS.ErrnoException
  } finally {
    for (const fd of opened) closeSync(fd)
  }
  return undefined
}

/**
 * Why `mkdir -p folder` failed (`existed`: the folder was there, its work folder could not be made). Node reports ENOENT for a recursive mkdir that a read-only or
 * unwritable parent refused: the nearest folder that exists says what really happened.
 */
export function mkdirFault(error: unknown, folder: string, existed = false): FatalError {
  let cause = error
  // The nearest folder on the way that is there, and the first name after it that is not.
  let parent = resolve(folder)
  let missing: string | undefined
  while (!existsSync(parent) && dirname(parent) !== parent) {
    missing = parent
    parent = dirname(parent)
  }
  // A folder that is there (a mount point, one made beforehand) was not to be created: its work
  // folder was, inside it.
  const what = existed ? 'cannot write in output folder' : 'cannot create output folder'
  // Every errno these give (ENOENT in /proc, EPERM in /sys as root, EACCES otherwise) was told
  // 'make it writable', which no one can: they are the kernel's views, not disks.
  const virtual = virtualFileSystem(existed ? resolve(folder) : parent)
  if (virtual)
    return new FatalError(
      'output',
      `${what} ${visibleShellWord(folder)}: ${visibleShellWord(parent)} is ${virtual}, the kernel's view of itself, not a disk: nothing can be stored there`,
      { cause, hint: 'choose an output folder on a disk with `out`' },
    )
  // A link on the way to a folder that is not there (mkdir says EEXIST: the link's name is taken).
  const link = missing === undefined ? undefined : danglingLink(missing)
  // A link that leads back to itself, at once or through others (`ln -s a b; ln -s b a`; a
  // `/var/tmp` so linked, skiffos/SkiffOS#39): it is there, and was said as a link to something
  // that is not (its ELOOP hidden behind existsSync).
  if (link !== undefined && linkLoops(missing!))
    return new FatalError(
      'output',
      `${what} ${visibleShellWord(folder)}: ${visibleShellWord(missing!)} is a link to ${visibleShellWord(link)}, which leads back to it (a loop of links)`,
      { cause, hint: 'point the link at a folder, or choose another output folder with `out`' },
    )
  if (link !== undefined)
    return new FatalError(
      'output',
      `${what} ${visibleShellWord(folder)}: ${visibleShellWord(missing!)} is a link to ${visibleShellWord(link)}, which is not there`,
      { cause, hint: 'make the folder it links to, or choose another output folder with `out`' },
    )
  if (codeOf(error) === 'ENOENT') {
    try {
      accessSync(parent, constants.W_OK)
    } catch (denied) {
      cause = denied
    }
  }
  const denied = codeOf(cause) === 'EACCES' || codeOf(cause) === 'EPERM'
  if (denied || codeOf(cause) === 'ENOENT') {
    // 'make it writable' named no folder (the output folder is not there to be made writable);
    // and of a folder removed while it was made (ENOENT), writable was never the want.
    const at = existed ? resolve(folder) : parent
    return new FatalError('output', `${what} ${visibleShellWord(folder)}: ${describeFsError(cause)}`, {
      cause,
      hint: denied
        ? `make ${visibleShellWord(at)} writable for this user, or choose another output folder with \`out\``
        : `${visibleShellWord(at)} went away while it was made: run the same command again, or choose another output folder with \`out\``,
    })
  }
  // A file where a folder must be is named: `.imgpull` or `.imgpull/parts` a file was said as
  // `photos: part of the path is a file, not a folder`, or `photos: EEXIST`.
  const code = codeOf(error)
  const file =
    code === 'EEXIST' || code === 'ENOTDIR' ? fileInTheWay((error as { path?: string }).path) : undefined
  if (file)
    return new FatalError(
      'output',
      `${what} ${visibleShellWord(folder)}: ${visibleShellWord(file)} is a file, not a folder`,
      {
        cause,
        hint: remedy(code, 'output'),
      },
    )
  const room = roomCode(codeOf(cause), folder)
  return new FatalError(
    'output',
    `${what} ${visibleShellWord(folder)}: ${room === 'NO_INODES' ? WHY.NO_INODES : describeFsError(cause)}`,
    { cause, hint: remedy(room, 'output') },
  )
}

/** The kernel's file systems of its own state, by `statfs` type (linux/magic.h): no folder of files goes there. */
const VIRTUAL: Record<number, string> = {
  40864: 'procfs',
  1650812274: 'sysfs',
  2613483: 'cgroupfs',
  1667723888: 'cgroup2fs',
  1684170528: 'debugfs',
  1953653091: 'tracefs',
  1935894131: 'securityfs',
  3405662737: 'bpffs',
  1650812272: 'configfs',
}

/** The name of the virtual file system that holds `path` (`procfs` for /proc), `undefined` for any other. */
export function virtualFileSystem(path: string): string | undefined {
  try {
    return VIRTUAL[statfsSync(path).type]
  } catch {
    return undefined
  }
}

/** Where `path` links to when it is a link to nothing, else `undefined`. */
/** Whether following the links at `path` loops (ELOOP), where `danglingLink` found one. */
function linkLoops(path: string): boolean {
  try {
    statSync(path)
    return false
  } catch (error) {
    return codeOf(error) === 'ELOOP'
  }
}

function danglingLink(path: string): string | undefined {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : undefined
  } catch {
    return undefined
  }
}

/**
 * A folder (or a FIFO, a socket...) where imgpull keeps one of its work files (`workFiles`), named
 * with what to do; `undefined` when there is none. A folder at `lock.db` was said as the journal
 * that cannot be opened (`make it writable`), at `journal.db-shm` as a read-only journal, at
 * `files.json` or `lock.json` as a raw `EISDIR` (exit 1).
 */
export function workFileInTheWay(files: { path: string; holds: string }[]): FatalError | undefined {
  for (const { path, holds } of files) {
    let info: Stats | undefined
    try {
      info = statSync(path, { throwIfNoEntry: false })
    } catch {} // not to be looked at: the write will say
    if (info && !info.isFile())
      return new FatalError(
        'output',
        `${visibleShellWord(path)} is ${kindOf(info)}, not a file: imgpull keeps ${holds} there`,
        {
          hint: 'move it away, then run the same command again',
        },
      )
  }
  return undefined
}

/** The file nearest `path` on its way (`path` itself, or a folder holding it), where a folder must be. */
function fileInTheWay(path: string | undefined): string | undefined {
  if (path === undefined) return undefined
  for (let at = path; ; at = dirname(at)) {
    let info: ReturnType<typeof statSync>
    try {
      info = statSync(at)
    } catch {} // not there, or a file on its way (ENOTDIR): higher up
    if (info) return info.isDirectory() ? undefined : at
    if (dirname(at) === at) return undefined
  }
}

/**
 * A journal that `imgpull status` or `imgpull report` cannot read, as one line naming it: damaged,
 * not a journal, or without a table yet (a run killed as it made it). SQLite's own words
 * (`database disk image is malformed`, `no such table: jobs`) name no file. Anything else is
 * returned as it is.
 */
export function journalReadFault(error: unknown, path: string): unknown {
  const code = codeOf(error)
  if (!code.startsWith('SQLITE_')) return error
  // A folder at the journal's name (or its -wal's) was said as an input/output error.
  for (const suffix of ['', '-wal', '-shm']) {
    const info = statSync(path + suffix, { throwIfNoEntry: false })
    if (info && !info.isFile())
      return new FatalError(
        'journal',
        `cannot read the journal ${visibleShellWord(path)}: ${suffix ? `${visibleShellWord(path + suffix)} is` : 'it is'} ${kindOf(info)}, not a file`,
        { cause: error, hint: 'move it away, then run the same command again' },
      )
  }
  const noTable = /^no such table/.test((error as Error).message)
  const why = noTable ? 'it holds no journal yet (a run stopped as it made it?)' : describeFsError(error)
  return new FatalError('journal', `cannot read the journal ${visibleShellWord(path)}: ${why}`, {
    cause: error,
    hint: noTable
      ? 'run the pull again: it makes the journal anew'
      : ['SQLITE_CORRUPT', 'SQLITE_NOTADB'].includes(primaryCode(code))
        ? remedy(code, 'journal')
        : undefined,
  })
}

/** A local fault met while running into `out`: the journal's (SQLite) or the output files'. */
export function runFault(error: unknown, out: string, journalPath: string): FatalError {
  return codeOf(error).startsWith('SQLITE_')
    ? localFault(error, 'journal', journalPath)
    : localFault(error, 'output', diskOf(error, out, dirname(journalPath)))
}

/** Errors of a disk without room, or of a file too large for it. */
const NO_ROOM = new Set(['ENOSPC', 'EDQUOT', 'EFBIG'])

/**
 * What to name for a write that found no room and names no file (a write to a file already open:
 * a part, a spool, a shard, a temporary, all in the work folder `work`): the work folder where it
 * is on another disk than `out` (`.imgpull` a link to a local disk beside an output folder on a
 * network share or a memory card), else `out`. The output folder was named, whose disk had room:
 * `cannot write photos: no space left on device` of a full disk that held `photos/.imgpull`.
 */
function diskOf(error: unknown, out: string, work: string): string {
  if ((error as { path?: unknown } | null)?.path !== undefined || !NO_ROOM.has(codeOf(error))) return out
  const device = (path: string) => statSync(path, { throwIfNoEntry: false })?.dev
  try {
    const at = device(work)
    return at !== undefined && at !== device(out) ? work : out
  } catch {
    return out // a folder on the way that cannot be looked at: the output folder, as before
  }
}

/**
 * A run's own file or thread (a shard's rows, a transfer thread) that could not be opened or
 * started for want of a file descriptor (EMFILE, ENFILE; `Worker initialization failure: EMFILE`)
 * once the waits for one are over, or imgpull's own code that could not be loaded so (see
 * `unloadableCode`), as a `FatalError` that says which limit and what to do;
 * `undefined` for any other error. Not in `isFatalLocal`: a transfer that meets it waits and is
 * tried again (see `outOfDescriptors`).
 */
export function descriptorFault(error: unknown): FatalError | undefined {
  const hint =
    'raise the limit on open files (ulimit -n 4096), or lower --concurrency, then run the same command again to continue'
  // Its own code, loaded mid-run (a chunk, a thread's modules): said as bin.ts says it at start.
  const code = unloadableCode(error)
  if (code) return new FatalError('descriptors', unloadableLine(code), { cause: error, hint })
  const message = error instanceof Error ? error.message : ''
  const system = codeOf(error) === 'ENFILE' || /\bENFILE\b/.test(message)
  if (!system && codeOf(error) !== 'EMFILE' && !/\bEMFILE\b/.test(message)) return undefined
  const path = (error as { path?: string }).path
  const what = path === undefined ? 'open a file or start a thread' : `open ${visibleShellWord(path)}`
  return new FatalError(
    'descriptors',
    `cannot ${what}: too many open files (${system ? 'the system’s limit' : 'the limit of ulimit -n'})`,
    { cause: error, hint },
  )
}
