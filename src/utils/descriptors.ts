import { setTimeout as sleep } from 'node:timers/promises'
import { closeIdleConnections } from '../fetch/origin-pool.js'
import { outOfDescriptors } from '../fetch/retry-policy.js'

/**
 * Waits, in ms, before opening a file again when no file descriptor was free (EMFILE, ENFILE:
 * `ulimit -n` reached, most often by idle keep-alive connections to many hosts, which close within
 * seconds): 4.5 s in all, within the default `--idle-timeout`.
 */
export const OPEN_WAITS = [50, 100, 200, 400, 800, 1000, 1000, 1000]

/**
 * `open()`, tried again after each of `OPEN_WAITS` while it fails for want of a file descriptor:
 * a run's own files (a shard's spool) are the machine's limit to wait out, as sockets and part
 * files are, not a reason to stop the run. Any other error, or the last, is thrown.
 */
export async function openWaiting<T>(open: () => Promise<T>): Promise<T> {
  for (let tried = 0; ; tried++) {
    try {
      return await open()
    } catch (error) {
      if (!outOfDescriptors(error) || tried >= OPEN_WAITS.length) throw error
      closeIdleConnections()
      await sleep(OPEN_WAITS[tried])
    }
  }
}
