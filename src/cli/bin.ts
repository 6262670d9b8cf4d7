#!/usr/bin/env node
// The `imgpull` executable: the one module with side effects (see program.ts for the command line).
import { setFlagsFromString } from 'node:v8'

// undici parses HTTP with llhttp compiled to WebAssembly. V8 first compiles it with its baseline
// compiler, then recompiles hot functions optimised in the background, and a process cannot exit
// until that is done: ~100 ms added to every short run, and CPU taken from transfers in long
// ones. The baseline code is fast enough for headers (measured: no loss on 5,000 small images,
// less CPU overall). The imports below still load before this line runs, but undici compiles
// llhttp only on its first connection, which comes later. The library leaves V8 alone.
setFlagsFromString('--liftoff-only')

import { main } from './program.js'

const code = await main()
// Let stdout drain before leaving: a pipe reader must get every line.
process.stdout.write('', () => process.exit(code))
