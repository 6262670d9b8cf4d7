/**
 * The V8 flags the command sets at its start, before its bundle is compiled: a code cache carries
 * the flags it was made under, and V8 refuses one made under others (see code-cache.ts). Only the
 * command sets them: the library leaves its host's process alone.
 *
 * No import of imgpull's own but heap-growth.ts here: bin.ts loads this module before the bundle.
 */
import { heapGrowingFlag } from './heap-growth.js'

/**
 * The flags, in order. `execArgv` is `process.execArgv`; `parsesWithSource` whether this V8's
 * `JSON.parse` already gives a reviver the source text (`jsonParseWithSource()`). Pure.
 *
 * - `--liftoff-only`: undici parses HTTP with llhttp compiled to WebAssembly. V8 first compiles
 *   it with its baseline compiler, then recompiles hot functions optimised in the background, and
 *   a process cannot exit until that is done: ~100 ms added to every short run, and CPU taken from
 *   transfers in long ones. The baseline code is fast enough for headers (measured: no loss on
 *   5,000 small images, less CPU overall).
 * - `--harmony-json-parse-with-source`: JSON.parse's source text for revivers (ES2025, on by
 *   default from Node 21): a JSON lines table's integers beyond 2^53 are then read exactly (see
 *   sources/tables/jsonl.ts). Only where it is off: a V8 that has shipped it no longer knows the
 *   flag, and says so on stderr (Node 24).
 * - `--heap-growing-percent=50`: a long run's heap held near what it keeps alive (see
 *   heap-growth.ts), unless node was told otherwise.
 */
export function commandFlags(execArgv: readonly string[], parsesWithSource: boolean): string[] {
  const heapGrowing = heapGrowingFlag(execArgv)
  return [
    '--liftoff-only',
    ...(parsesWithSource ? [] : ['--harmony-json-parse-with-source']),
    ...(heapGrowing ? [heapGrowing] : []),
  ]
}

/** Whether this V8's `JSON.parse` gives a reviver its value's source text (a third argument). */
export const jsonParseWithSource = (): boolean =>
  JSON.parse('0', (_key, value, context?: { source?: string }) => context?.source ?? value) === '0'
