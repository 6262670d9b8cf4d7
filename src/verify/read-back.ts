import { type FileHandle, open } from 'node:fs/promises'
import type { ReadBack } from './complete/types.js'

/**
 * A `ReadBack` over a file on disk (the body a check was fed), opened on the first read, for
 * `CompletenessCheck.end`. Reads go through libuv's pool, never blocking the thread that moves bytes.
 * `close()` once the check has ended (a no-op when nothing was read: most formats never read back).
 */
export function readBackFile(path: string): ReadBack & { close(): Promise<void> } {
  let handle: Promise<FileHandle> | undefined
  const read = async (offset: number, length: number): Promise<Uint8Array> => {
    handle ??= open(path, 'r')
    const fh = await handle
    const buffer = Buffer.allocUnsafe(length)
    const { bytesRead } = await fh.read(buffer, 0, length, offset)
    return buffer.subarray(0, bytesRead)
  }
  return Object.assign(read, {
    close: async () => {
      const opened = handle
      handle = undefined
      if (opened) await (await opened).close()
    },
  })
}
