/**
 * V8's code cache for the command's bundle (dist/imgpull.cjs): what V8 compiled in one run, kept
 * on disk and handed to the next, which then starts without parsing the bundle nor compiling the
 * functions its start-up runs. Node 20 has no compile cache for ES modules; measured on Node 20.20
 * (Debian's), the child's CPU to its first request fell from 198 to 158 ms (bench/README.md,
 * Start-up). Node 22's own compile cache does not reach code compiled through `vm.Script`, which
 * this is, so every version uses this one.
 *
 * The cache lives in the user's cache folder (`$XDG_CACHE_HOME/imgpull`, else
 * `~/.cache/imgpull`), else in `os.tmpdir()/imgpull-UID`; only in a folder the user owns that no
 * one else may write to, as V8 runs what it reads there. It is a help, never a need: a folder that
 * cannot be made or written, a cache V8 refuses (another Node, other V8 flags), any error, and the
 * run goes on without it. `NODE_DISABLE_COMPILE_CACHE=1` (Node's own switch) turns it off.
 *
 * No import of imgpull's own here: bin.ts loads this module before the bundle.
 */
import {
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  type Stats,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { homedir, tmpdir } from 'node:os'
import { isAbsolute, join } from 'node:path'
import { StringDecoder } from 'node:string_decoder'
import { Script } from 'node:vm'

/** Bytes read at a time: under glibc's first threshold for giving a block its own mapping (128 KiB). */
const CHUNK = 64 * 1024

/**
 * The text of a UTF-8 file, read `CHUNK` bytes at a time. `readFileSync(file, 'utf8')` grows one
 * buffer by doubling (132 KB ... 2 MB for the 1.7 MB bundle), and each block glibc gave a mapping
 * of its own and took back raised its mapping threshold to that block's size (glibc's dynamic
 * `M_MMAP_THRESHOLD`, seen with `strace -k -e trace=munmap`): from the start every allocation
 * under 2 MB came from the arenas, whose freed blocks stay in the process. A 50,000-URL list
 * peaked at 180 MB so and at 172-174 MB read so (V8's own compiler zones still raise the
 * threshold to some 0.5 MB; a Parquet table's pages raise it further whatever this does).
 */
export function readTextInChunks(file: string): string {
  const fd = openSync(file, 'r')
  try {
    const chunk = Buffer.allocUnsafeSlow(CHUNK)
    const decoder = new StringDecoder('utf8')
    const parts: string[] = []
    for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk))
      parts.push(decoder.write(chunk.subarray(0, n)))
    parts.push(decoder.end())
    return parts.join('')
  } finally {
    closeSync(fd)
  }
}

/**
 * The code caches read, kept for the process's life: a cache is a block over glibc's mapping
 * threshold, and freeing it would raise the threshold as `readTextInChunks` says.
 */
const cachesHeld: Buffer[] = []

/**
 * Where the command's caches go (a folder, perhaps still to make): `$XDG_CACHE_HOME/imgpull`,
 * `HOME/.cache/imgpull`, else `TEMP/imgpull-UID`. Pure.
 */
export function cacheFolder(
  env: NodeJS.ProcessEnv,
  home: string,
  temp: string,
  uid: number | undefined,
): string {
  // XDG Base Directory: a relative path in the variable is invalid and is to be ignored.
  const xdg = env.XDG_CACHE_HOME
  if (xdg && isAbsolute(xdg)) return join(xdg, 'imgpull')
  if (home && isAbsolute(home)) return join(home, '.cache', 'imgpull')
  return join(temp, uid === undefined ? 'imgpull' : `imgpull-${uid}`)
}

/**
 * Whether a folder, by its `lstat`, is one whose files only this user (or root) can have written:
 * a real folder (not a link), owned by `uid`, with no write bit for group or others. `uid` is
 * `undefined` where the system has none (Windows): then any folder is taken. Pure.
 */
export function ownedFolder(
  stat: { isDirectory(): boolean; uid: number; mode: number },
  uid: number | undefined,
): boolean {
  if (!stat.isDirectory()) return false
  return uid === undefined || (stat.uid === uid && (stat.mode & 0o022) === 0)
}

/**
 * The cache's file name for one bundle under one Node: V8 itself refuses a cache made by another
 * V8 or with other flags, but checks the source only by its length, so the name carries the
 * bundle's content hash (`build`, set by the build) and its size and modification time (a bundle
 * edited by hand). Pure.
 */
export const cacheName = (
  build: string,
  size: number,
  mtimeMs: number,
  version: string,
  arch: string,
): string => `imgpull-${build}-${size}-${Math.trunc(mtimeMs)}-${version}-${arch}.v8cache`

/** The bundle's `module.exports`, and `save`: write the cache for the next run (see `loadBundle`). */
export interface LoadedBundle {
  exports: Record<string, unknown>
  save: () => void
}

/**
 * Compile and run the CommonJS bundle at `file` (a script, `require` relative to it), with V8's
 * code from the cache when there is one V8 takes. `save` writes what V8 has compiled by then, at
 * most once a process and only when the cache was missing or refused: call it before the process
 * changes a V8 flag (a cache carries the flags it was made under) and at exit. `build` is the
 * bundle's content hash, `undefined` for no cache. Throws what reading or running the bundle
 * throws; a cache's faults are never thrown.
 */
export function loadBundle(
  file: string,
  build: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): LoadedBundle {
  const source = readTextInChunks(file)
  const path = build === undefined || env.NODE_DISABLE_COMPILE_CACHE ? undefined : cachePath(file, build, env)
  let cachedData: Buffer | undefined
  if (path !== undefined)
    try {
      cachedData = readFileSync(path)
      cachesHeld.push(cachedData)
    } catch {}
  // The wrapper Node gives a CommonJS module, so the bundle sees what it would under `require`.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
  })
  let wanted = path !== undefined && (cachedData === undefined || script.cachedDataRejected === true)
  const save = (): void => {
    if (!wanted || path === undefined) return
    wanted = false
    try {
      // The folder first: where it cannot be made, the cache is not worth V8's work of making it.
      if (ownFolder(join(path, '..'))) writeCache(path, script.createCachedData())
    } catch {}
  }
  const module = { exports: {} as Record<string, unknown> }
  ;(script.runInThisContext() as (...args: unknown[]) => void)(
    module.exports,
    createRequire(file),
    module,
    file,
    join(file, '..'),
  )
  return { exports: module.exports, save }
}

/** The cache's path for the bundle at `file`, or `undefined` when its folder is not safe to read. */
function cachePath(file: string, build: string, env: NodeJS.ProcessEnv): string | undefined {
  try {
    const uid = process.getuid?.()
    const folder = cacheFolder(env, homedir(), tmpdir(), uid)
    // Not there yet: made (only this user may enter) when the cache is first written.
    let stat: Stats | undefined
    try {
      stat = lstatSync(folder)
    } catch {}
    if (stat !== undefined && !ownedFolder(stat, uid)) return undefined
    const { size, mtimeMs } = statSync(file)
    return join(folder, cacheName(build, size, mtimeMs, process.version, process.arch))
  } catch {
    return undefined
  }
}

/**
 * The folder made (only this user may enter it) if missing; whether it is one to write a cache in
 * (see `ownedFolder`). Throws what `mkdir` and `lstat` throw.
 */
export function ownFolder(folder: string): boolean {
  mkdirSync(folder, { recursive: true, mode: 0o700 })
  return ownedFolder(lstatSync(folder), process.getuid?.())
}

/** Written whole or not at all: a run reading it meanwhile, or another writing it, sees one or the other. */
function writeCache(path: string, data: Buffer): void {
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, data, { mode: 0o600 })
  renameSync(temporary, path)
  const folder = join(path, '..')
  const caches = readdirSync(folder)
    .filter((name) => CACHE_FILE.test(name))
    .map((name) => ({ name, mtimeMs: statSync(join(folder, name)).mtimeMs }))
  for (const name of staleCaches(caches, KEPT_CACHES)) unlinkSync(join(folder, name))
}

/** A cache's file name (see `cacheName`), and no other file of the folder. */
const CACHE_FILE = /^imgpull-[0-9a-f]+-\d+-\d+-v[\d.]+-\w+\.v8cache$/

/**
 * How many caches a folder keeps: one per version of imgpull and Node in use (a global install
 * and a project's, each Node of nvm's), not one per build or upgrade ever made (1.2 MB each). A
 * cache removed while its version is still in use is written again by its next run.
 */
export const KEPT_CACHES = 4

/** The caches to remove: all but the `keep` written last (by `mtimeMs`). Pure. */
export function staleCaches(caches: readonly { name: string; mtimeMs: number }[], keep: number): string[] {
  return [...caches]
    .sort((a, b) => b.mtimeMs - a.mtimeMs)
    .slice(keep)
    .map((cache) => cache.name)
}

/**
 * The key under which bin.ts leaves `save` for the bundle (start.ts calls it before it changes a
 * V8 flag): `globalThis[SAVE_CODE_CACHE]`.
 */
export const SAVE_CODE_CACHE: unique symbol = Symbol.for('imgpull.saveCodeCache') as never

/** Write the code cache now, if bin.ts loaded the bundle with one to write (see `loadBundle`). */
export function saveCodeCacheNow(): void {
  ;(globalThis as { [SAVE_CODE_CACHE]?: () => void })[SAVE_CODE_CACHE]?.()
}
