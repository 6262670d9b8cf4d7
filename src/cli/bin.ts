#!/usr/bin/env node
// The `imgpull` executable. Node 22.1+ keeps the code V8 compiles for imgpull's modules (and
// undici's) on disk, in os.tmpdir()/node-compile-cache, when asked to before they load: a run then
// starts without compiling them again (see README, Benchmark). Node 20 has no such cache, and
// NODE_DISABLE_COMPILE_CACHE=1 turns it off. The rest loads after this line, hence the dynamic import.
import module from 'node:module'

;(module as { enableCompileCache?: () => unknown }).enableCompileCache?.()
await import('./start.js')
