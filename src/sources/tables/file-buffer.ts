import { open } from 'node:fs/promises'
import type { AsyncBuffer } from 'hyparquet'

/** A file read on demand, for hyparquet: only the byte ranges asked for are ever in memory. */
export interface FileBuffer extends AsyncBuffer {
  close(): Promise<void>
}

/** Bytes of recent ranges kept for repeat requests (see `openFileBuffer`). */
const CACHE_BYTES = 64 * 1024 * 1024

interface Range {
  start: number
  end: number
  bytes: ArrayBuffer
}

/**
 * Open a file as an `AsyncBuffer`. Recent ranges (64 MiB in all, the oldest dropped first) are
 * kept and served again, whole or in part: reading a large row group in bounded row ranges asks
 * for the same column chunks once per range, and a file without an offset index offers no smaller
 * unit to read.
 */
export async function openFileBuffer(path: string): Promise<FileBuffer> {
  const handle = await open(path, 'r')
  const { size } = await handle.stat()
  const recent: Range[] = []
  let kept = 0
  const keep = (range: Range) => {
    if (range.bytes.byteLength > CACHE_BYTES) return
    recent.push(range)
    kept += range.bytes.byteLength
    while (kept > CACHE_BYTES) kept -= recent.shift()!.bytes.byteLength
  }
  return {
    byteLength: size,
    async slice(start: number, end = size): Promise<ArrayBuffer> {
      const hit = recent.find((r) => start >= r.start && end <= r.end)
      if (hit) {
        if (start === hit.start && end === hit.end) return hit.bytes
        return hit.bytes.slice(start - hit.start, end - hit.start)
      }
      const length = Math.max(0, Math.min(end, size) - start)
      const bytes = new ArrayBuffer(length)
      let done = 0
      while (done < length) {
        const { bytesRead } = await handle.read(new Uint8Array(bytes, done), 0, length - done, start + done)
        if (bytesRead === 0) throw new Error(`the file ended at byte ${start + done} of ${size}`)
        done += bytesRead
      }
      keep({ start, end, bytes })
      return bytes
    },
    close: () => handle.close(),
  }
}
