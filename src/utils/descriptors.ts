import { setTimeout as sleep } from 'node:timers/promises'
import { errorCode } from '../errors.js'

/** A process (EMFILE, `ulimit -n`) or a system (ENFILE) with no file descriptor left. */
const NO_DESCRIPTORS = new Set(['EMFILE', 'ENFILE'])

/**
 * Whether `error` (a transfer's, or the typed error a transfer thread made of it) is a socket or a part file that could not be
 * opened for want of a file descriptor: a run over many hosts keeps an idle keep-alive connection
 * to each for seconds after its last file, and with `ulimit -n` at 1,024 a list of 4,000 hosts
 * met it. The machine's limit, not the host's fault nor the network's: the attempt is free and
 * tried again after a wait (see `onFailure`), as descriptors come free when transfers end and
 * idle connections close.
 */
export const outOfDescriptors = (error: unknown): boolean =>
  NO_DESCRIPTORS.has(errorCode(error)) ||
  NO_DESCRIPTORS.has(errorCode((error as { cause?: unknown } | null)?.cause))

/** What frees descriptors held without need (idle keep-alive connections), called when none is left. */
const releasers = new Set<() => void>()

/** Have `release` called whenever a file could not be opened for want of a descriptor. */
export function onShortOfDescriptors(release: () => void): void {
  releasers.add(release)
}

/** Free what the releasers can (see `onShortOfDescriptors`). */
export function releaseDescriptors(): void {
  for (const release of releasers) release()
}

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
      releaseDescriptors()
      await sleep(OPEN_WAITS[tried])
    }
  }
}
