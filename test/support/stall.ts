import { existsSync } from 'node:fs'
import { until } from './wait.js'

/** A moment in a CLI's file system work at which it is held still, for the test to kill it there. */
export interface Stall {
  /** A `node:fs` function's name: `rename`, `link`, `writeFile`... (its Sync and promise forms alike). */
  op: string
  /** Matched against the call's path arguments (absolute), joined by a space. */
  path: RegExp
  /** Hold the thread once the call is done, not before it. */
  after?: boolean
  /** Created when the thread is held: the test waits for it (`held`), then kills the process. */
  mark: string
  /** The name os.hostname() gives: a worker of another machine sharing the output folder. */
  hostname?: string
  /** Held until this file exists (a worker cut off for a while), not until killed. */
  release?: string
}

/**
 * The environment that holds a CLI still at `stall`: a module preloaded in its threads (the main
 * one, where the WebDataset shard writer works too, and any other) wraps the `node:fs` function, and the first call that
 * matches, in whichever thread, creates the mark and blocks its thread (for good, or until the
 * release). The file system work is real; what the test then sees is exactly what a kill -9 at
 * that call leaves.
 */
export function stallEnv(stall: Stall): Record<string, string> {
  const source = `
import fs from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import os from 'node:os'
const spec = ${JSON.stringify({ ...stall, path: stall.path.source })}
const path = new RegExp(spec.path)
const { writeFileSync, existsSync } = fs
const hold = () => {
  try {
    writeFileSync(spec.mark, String(process.pid), { flag: 'wx' })
  } catch {
    return // another thread holds already
  }
  const cell = new Int32Array(new SharedArrayBuffer(4))
  for (const end = Date.now() + 120_000; Date.now() < end; Atomics.wait(cell, 0, 0, 20))
    if (spec.release && existsSync(spec.release)) return
  process.exit(99)
}
const matches = (args) => !existsSync(spec.mark) && path.test(args.filter((a) => (typeof a === 'string' && a.startsWith('/')) || a instanceof URL).map(String).join(' '))
const wrap = (target, name, promise) => {
  const real = target[name]
  if (typeof real !== 'function') return
  target[name] = function (...args) {
    const hit = matches(args)
    if (hit && !spec.after) hold()
    if (!hit) return real.apply(this, args)
    if (!promise) {
      const result = real.apply(this, args)
      hold()
      return result
    }
    return real.apply(this, args).then((result) => (hold(), result))
  }
}
if (spec.hostname) os.hostname = () => spec.hostname
wrap(fs, spec.op + 'Sync', false)
wrap(fs.promises, spec.op, true)
syncBuiltinESMExports()
`
  return { NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(source)}` }
}

/** Wait until the CLI is held at its stall. */
export function held(stall: Stall, ms = 20_000): Promise<void> {
  return until(`the CLI to reach ${stall.op} ${stall.path}`, () => existsSync(stall.mark), ms)
}
