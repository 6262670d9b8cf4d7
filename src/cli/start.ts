// The command itself, loaded by bin.ts as the bundle dist/imgpull.cjs once bin.ts has set V8's
// flags (v8-flags.ts) and found the code cache (code-cache.ts): the one module with side effects
// (see program.ts for the command line). `exitCode` is the run's exit code, once it is over.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { onLargeBodies } from '../fetch/large-bodies.js'
import { printable } from '../utils/printable.js'
import { saveCodeCacheNow } from './code-cache.js'
import { collectThenMark, MARKING_OFF, MARKING_ON, marksAtWill } from './heap-growth.js'
import { warnings } from './warnings.js'

// No full collection per 12 MB of a large file's body (see heap-growth.ts), unless node was told
// otherwise. Each switch follows a full collection of its own (`collectThenMark`): switched while
// V8 was marking, one run in 40 of four 200 MB files crashed. The code cache is written before
// the first switch: made under other flags, the next run's V8 would refuse it.
if (marksAtWill(process.execArgv)) {
  const setFlags = (flags: string): void => {
    saveCodeCacheNow()
    setFlagsFromString(flags)
  }
  const switchTo = collectThenMark(setFlags, runInNewContext)
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
import {
  exitAfterStdout,
  guardStdStreams,
  STDOUT_FAULT_HINT,
  stdoutFaultWords,
  stdStreams,
} from './std-streams.js'

guardStdStreams()

/**
 * The run's exit code, once it is over and stdout has taken what it was sent (bin.ts then exits
 * with it): 3, said in one line, where stdout could not be written (see `stdStreams`).
 */
export const exitCode: Promise<number> = main().then(async (code) => {
  // A write's error comes after the write, as late as the process's last tick: waited for here.
  await new Promise<void>((resolve) => process.stdout.write('', () => setImmediate(resolve)))
  const fault = stdStreams.stdoutFault
  if (fault && !stdStreams.faultSaid) {
    process.stderr.write(`imgpull: ${stdoutFaultWords(fault)}; ${STDOUT_FAULT_HINT}\n`)
  }
  return exitAfterStdout(code, fault)
})
