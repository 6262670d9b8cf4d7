import { existsSync } from 'node:fs'
import { dirname, join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

// No import of imgpull's own here: bin.ts loads this module before anything else, to say why
// the rest could not load.

/** What stops a module from loading: the file, when Node names it, and which limit ran out. */
export type UnloadableCode = { path?: string; system: boolean }

/**
 * Whether `error` is Node's module loader failing to read one of imgpull's files (or its
 * dependencies') for want of a file descriptor (`ulimit -n`, EMFILE; the system's table, ENFILE):
 * at start under a very low limit, or mid-run, when a chunk, a report's renderer or a thread's
 * modules load while transfers hold every descriptor. Node words it three ways:
 * - Node 20 and 22: the `open` error itself (`EMFILE`, with the file's path);
 * - Node 24: `ERR_INVALID_PACKAGE_CONFIG`, "Cannot read package config /…/package.json: too many
 *   open files." (the package.json it looked up for the module's type, not the module; "file
 *   table overflow" for ENFILE: uv_strerror's words);
 * - a worker thread (a shard's writer): "Cannot find package '…/index.js' imported from …", for a
 *   file that is there.
 * `undefined` for any other error, an EMFILE of a file outside imgpull's package included (a
 * run's own part or shard file: the run waits for a descriptor, see `openWaiting`).
 */
export function unloadableCode(error: unknown): UnloadableCode | undefined {
  const { code, path } = (error ?? {}) as { code?: unknown; path?: unknown }
  const message = error instanceof Error ? error.message : ''
  if (code === 'EMFILE' || code === 'ENFILE')
    return typeof path === 'string' && isOwn(path) ? { path, system: code === 'ENFILE' } : undefined
  // By its words alone: an error from a worker thread may come without its code.
  const config = /^Cannot read package config .*: (too many open files|file table overflow)/i.exec(message)
  if (config) return { system: config[1].toLowerCase() === 'file table overflow' }
  const unread = unreadModule(message)
  return unread === undefined ? undefined : { path: unread, system: false }
}

/** The one line for `unloadableCode`'s answer (the remedy is the caller's). */
export const unloadableLine = ({ path, system }: UnloadableCode): string =>
  `cannot load its own code${path === undefined ? '' : ` (${path})`}: too many open files (${system ? 'the system’s limit' : 'the limit of ulimit -n'})`

/** imgpull's package folder: the nearest with a package.json above this module (dist/ has none). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir)
  return dir
}

/**
 * A module of imgpull's package or of an installed dependency (hoisted beside it, say), by its
 * name too: an output folder may be inside the package's (a clone's).
 */
const isOwn = (path: string): boolean =>
  /\.(?:[cm]?[jt]s|json|node)$/.test(path) &&
  (path.startsWith(packageRoot() + sep) || path.includes(`${sep}node_modules${sep}`))

/**
 * The module Node's loader says it cannot find (`Cannot find package '…/index.js' imported from
 * …`), where it is there: a thread started mid-run (a shard's writer) loads its modules then, and
 * a file the loader could not open for want of a descriptor reads as not found. `undefined` for
 * any other message, and for a module that is truly missing.
 */
function unreadModule(message: string): string | undefined {
  const named = /^Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1]
  if (named === undefined) return undefined
  const path = named.startsWith('file:') ? fileURLToPath(named) : named
  // A package's main file that could not be read: its folder and package.json are there.
  return existsSync(path) || existsSync(join(dirname(path), 'package.json')) ? path : undefined
}

/**
 * What is wrong with a native module (`*.node`) that Node cannot load, and what mends it (see
 * `nativeFault`); `undefined` for any other error. better-sqlite3 (the journal) is compiled for one
 * Node.js ABI at install: after `nvm use` or a Node upgrade, Node refuses it with
 * NODE_MODULE_VERSION N (its words span five lines); a node_modules copied from another system
 * (macOS into a Linux container) gives `invalid ELF header`, an older C library `GLIBC_2.xx not
 * found`. One whose install script never ran has no file at all, which the `bindings` package says
 * in 14 lines (`Could not locate the bindings file. Tried: → …`): pnpm runs no dependency's build
 * script until `pnpm approve-builds`, nor npm with `--ignore-scripts`, or under `allowScripts`
 * where they are enforced. Each is mended by rebuilding that package where imgpull is installed.
 */
export function nativeFaultParts(error: unknown): { line: string; mend: string } | undefined {
  const { code } = (error ?? {}) as { code?: unknown }
  const message = error instanceof Error ? error.message : ''
  if (code !== 'ERR_DLOPEN_FAILED' && !/\.node\b/.test(message)) return undefined
  const path = /'([^']+\.node)'/.exec(message)?.[1] ?? /(\/[^\s:']+\.node)\b/.exec(message)?.[1]
  if (path === undefined) return undefined
  const name = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(path)?.[1] ?? path
  const abi = /NODE_MODULE_VERSION (\d+)\.[\s\S]*NODE_MODULE_VERSION (\d+)/.exec(message)
  const unbuilt = message.startsWith('Could not locate the bindings file')
  const why = abi
    ? `it was built for another Node.js (NODE_MODULE_VERSION ${abi[1]}; Node ${process.versions.node} needs ${abi[2]})`
    : unbuilt
      ? "it was never built (its install script did not run: npm install --ignore-scripts, pnpm before pnpm approve-builds, npm's allowScripts)"
      : (message.split('\n')[0] ?? '').replace(`${path}: `, '').replace(/^The module '[^']*'\s*/, '')
  const rebuild = name === path ? 'reinstall imgpull' : `run npm rebuild ${name} where imgpull is installed`
  const allowed = unbuilt
    ? `, its install script allowed (npm install-scripts approve ${name}; pnpm approve-builds, then pnpm rebuild ${name})`
    : ''
  return { line: `cannot load ${name}'s native code: ${why}`, mend: rebuild + allowed }
}

/** The one line for a native module Node cannot load (see `nativeFaultParts`), `undefined` for any other error. */
export function nativeFault(error: unknown): string | undefined {
  const fault = nativeFaultParts(error)
  return fault && `${fault.line}; ${fault.mend}`
}
