#!/usr/bin/env node
// The `imgpull` executable. Node 22.1+ keeps the code V8 compiles for imgpull's modules (and
// undici's) on disk, in os.tmpdir()/node-compile-cache, when asked to before they load: a run then
// starts without compiling them again (see README, Benchmark). Node 20 has no such cache, and
// NODE_DISABLE_COMPILE_CACHE=1 turns it off. The rest loads after this line, hence the dynamic import.
import module from 'node:module'
import { unloadableCode, unloadableLine } from '../utils/own-code.js'

;(module as { enableCompileCache?: () => unknown }).enableCompileCache?.()
try {
  await import('./start.js')
} catch (error) {
  // Node's module loader reads a module's imports in parallel: under a very low `ulimit -n` (about
  // 50 here) imgpull's own code cannot load, and Node would print a stack trace of its loader.
  // Only a file of imgpull's package (dist/, its dependencies): any other error is the run's own.
  const code = unloadableCode(error)
  if (!code) throw error
  process.stderr.write(
    `imgpull: ${unloadableLine(code)}; raise the limit on open files (ulimit -n 4096) and run the same command again\n`,
  )
  // A local fault, as when a run meets it later (README: exit codes).
  process.exitCode = 3
}
