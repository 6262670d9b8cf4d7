// The command itself, once bin.ts has set up the compile cache: the one module with side effects
// (see program.ts for the command line).
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { onLargeBodies } from '../fetch/large-bodies.js'
import { printable } from '../utils/printable.js'
import { collectThenMark, heapGrowingFlag, MARKING_OFF, MARKING_ON, marksAtWill } from './heap-growth.js'
import { warnings } from './warnings.js'

// undici parses HTTP with llhttp compiled to WebAssembly. V8 first compiles it with its baseline
// compiler, then recompiles hot functions optimised in the background, and a process cannot exit
// until that is done: ~100 ms added to every short run, and CPU taken from transfers in long
// ones. The baseline code is fast enough for headers (measured: no loss on 5,000 small images,
// less CPU overall). The imports below still load before this line runs, but undici compiles
// llhttp only on its first connection, which comes later. The library leaves V8 alone.
setFlagsFromString('--liftoff-only')
// JSON.parse's source text for revivers (ES2025, on by default from Node 21): a JSON lines table's
// integers beyond 2^53 are then read exactly (see sources/tables/jsonl.ts). Only where it is off:
// a V8 that has shipped it no longer knows the flag, and says so on stderr (Node 24).
const withSource = JSON.parse('0', (_key, value, context?: { source?: string }) => context?.source ?? value)
if (withSource !== '0') setFlagsFromString('--harmony-json-parse-with-source')
// A long run's heap held near what it keeps alive (see heap-growth.ts), unless node was told otherwise.
const heapGrowing = heapGrowingFlag(process.execArgv)
if (heapGrowing) setFlagsFromString(heapGrowing)
// No full collection per 12 MB of a large file's body (see heap-growth.ts), unless node was told
// otherwise. Each switch follows a full collection of its own (`collectThenMark`): switched while
// V8 was marking, one run in 40 of four 200 MB files crashed.
if (marksAtWill(process.execArgv)) {
  const switchTo = collectThenMark(setFlagsFromString, runInNewContext)
  onLargeBodies((large) => switchTo(large ? MARKING_OFF : MARKING_ON))
}

// undici gives an IP address as the TLS server name when it talks TLS to an https:// proxy, or
// through a SOCKS5 one, to a host given by address; Node then warns (DEP0123, RFC 6066) in the
// middle of the run, which reads as a fault of it. Nothing is wrong: the name is not sent. Only
// that warning is dropped, and only by the command (the library leaves the process alone).
// The library's own warnings (IMGPULL_INSECURE, an unreadable SSL_CERT_FILE) are process warnings,
// which Node prints as `(node:6176) [IMGPULL_INSECURE] Warning: ...` and a line on
// --trace-warnings: the command says them as its other warnings, one line.
const emitWarning = process.emitWarning
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const code = typeof rest[0] === 'object' ? (rest[0] as { code?: string } | null)?.code : rest[1]
  if (typeof code === 'string' && code.startsWith('IMGPULL_'))
    // A warning may quote a table's cell: its control characters and bidi marks as escapes.
    warnings.say(`imgpull: warning: ${printable(typeof warning === 'string' ? warning : warning.message)}`)
  else if (code !== 'DEP0123') (emitWarning as (...a: unknown[]) => void).call(process, warning, ...rest)
}) as typeof process.emitWarning

import { main } from './program.js'

const code = await main()
// Let stdout drain before leaving: a pipe reader must get every line.
process.stdout.write('', () => process.exit(code))
