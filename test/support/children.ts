import type { ChildProcess } from 'node:child_process'

/**
 * Child processes this test file started that still run. The test runner ends a file that runs
 * past `--test-timeout` with SIGTERM, which ends it at once: its `finally` blocks and `after`
 * hooks never run, and the children they would have stopped ran on (a queue worker retrying a
 * Redis that was gone, and that `redis-server`, found 25 minutes later on a loaded machine). On
 * SIGTERM they are killed first, then the file exits as SIGTERM would have ended it.
 */
const live = new Set<ChildProcess>()
let listening = false

/** Count `child` among the file's children until it exits; returns it. */
export function ownChild<T extends ChildProcess>(child: T): T {
  if (!listening) {
    listening = true
    process.once('SIGTERM', () => {
      for (const c of live) c.kill('SIGKILL')
      process.exit(143)
    })
  }
  live.add(child)
  child.once('exit', () => live.delete(child))
  return child
}
