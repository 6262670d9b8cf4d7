#!/usr/bin/env node
// The `imgpull` executable: sets V8's flags, then compiles and runs the command's bundle
// (dist/imgpull.cjs, from start.ts) with V8's code cache (code-cache.ts), so that a run starts
// without parsing it again. Node 22.1+ also keeps the code of the ES modules a thread loads (the
// transfer thread's) in its own compile cache, which bin.ts points at the same
// folder; NODE_DISABLE_COMPILE_CACHE=1 turns both off.
import module from 'node:module'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { unloadableCode, unloadableLine } from '../utils/own-code.js'
import { cacheFolder, type LoadedBundle, loadBundle, ownFolder, SAVE_CODE_CACHE } from './code-cache.js'
import { exitPastHungUpTerminal } from './std-streams.js'
import { commandFlags, jsonParseWithSource } from './v8-flags.js'

/** The bundle's content hash, set by the build (scripts/bundle.mjs); no code cache without it. */
declare const IMGPULL_BUNDLE_BUILD: string | undefined

// A SIGUSR1 (a supervisor's or logrotate's "reopen your logs", dd's "say how far you are") opened
// Node's debugger: `Debugger listening on ws://127.0.0.1:9229/…` in the log, and a port through
// which any process of the machine could run code as this user, never closed again
// (nodejs/node#42446). A listener of its own keeps it shut (nodejs/node#19619); imgpull has no
// log to reopen, so the signal does nothing. `node --inspect` still opens one.
process.on('SIGUSR1', () => {})
exitPastHungUpTerminal()
for (const flag of commandFlags(process.execArgv, jsonParseWithSource())) setFlagsFromString(flag)
// Node 22.1+: its own compile cache, in the same folder, only where the code cache may be (a
// folder of this user's that no one else may write to: V8 runs what it reads there), made as the
// code cache makes it (0700), not as Node would (0755).
const enableCompileCache = (module as { enableCompileCache?: (folder?: string) => unknown })
  .enableCompileCache
if (enableCompileCache && !process.env.NODE_DISABLE_COMPILE_CACHE)
  try {
    const folder = cacheFolder(process.env, homedir(), tmpdir(), process.getuid?.())
    if (ownFolder(folder)) enableCompileCache(join(folder, 'node'))
  } catch {}
try {
  const build = typeof IMGPULL_BUNDLE_BUILD === 'string' ? IMGPULL_BUNDLE_BUILD : undefined
  // Unbundled (dist/cli/bin.js from tsc, which `npm run bench -- --profile` runs so that a profile
  // names imgpull's modules): start.js as an ES module, without a code cache.
  const command: LoadedBundle =
    build === undefined
      ? { exports: await import('./start.js'), save: () => {} }
      : loadBundle(fileURLToPath(new URL('./imgpull.cjs', import.meta.url)), build)
  ;(globalThis as { [SAVE_CODE_CACHE]?: () => void })[SAVE_CODE_CACHE] = command.save
  process.once('exit', command.save)
  const code = await (command.exports.exitCode as Promise<number>)
  // Let stdout drain before leaving: a pipe reader must get every line.
  process.stdout.write('', () => process.exit(code))
} catch (error) {
  // Under a very low `ulimit -n` (about 50 here) imgpull's own code cannot load (the bundle, a
  // dependency it requires mid-run), and Node would print a stack trace of its loader. Only a file
  // of imgpull's package (dist/, its dependencies): any other error is the run's own.
  const code = unloadableCode(error)
  if (!code) throw error
  process.stderr.write(
    `imgpull: ${unloadableLine(code)}; raise the limit on open files (ulimit -n 4096) and run the same command again\n`,
  )
  // A local fault, as when a run meets it later (README: exit codes).
  process.exitCode = 3
}
