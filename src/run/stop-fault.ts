import { FatalError } from '../errors.js'
import type { Layout } from '../layout.js'
import { descriptorFault, isFatalLocal, runFault } from '../sinks/local-faults.js'
import { nativeFaultParts } from '../utils/own-code.js'

/** A local fault (disk, journal) met while running: the run stops with exit 3. */
export function fault(error: unknown, paths: Layout) {
  return runFault(error, paths.out, paths.journal)
}

/**
 * What an error that stops the run is shown as: a local fault (see `fault`), SQLite's native code
 * that cannot be loaded (see `nativeFaultParts`), no file descriptor left for a run's own file or
 * thread (see `descriptorFault`), or itself.
 */
export function stopFault(error: unknown, paths: Layout): unknown {
  if (isFatalLocal(error)) return fault(error, paths)
  // SQLite's module (the lock's and the journal's) that Node cannot load: said as the command says it.
  const native = nativeFaultParts(error)
  if (native) return new FatalError('journal', native.line, { cause: error, hint: native.mend })
  return descriptorFault(error) ?? error
}
