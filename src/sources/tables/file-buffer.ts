import { open } from 'node:fs/promises'
import type { AsyncBuffer } from 'hyparquet'

/** A file read on demand, for hyparquet: only the byte ranges asked for are ever in memory. */
export interface FileBuffer extends AsyncBuffer {
  /** Drop the kept ranges: call when moving on to another part of the file (a row group). */
  forget(): void
  close(): Promise<void>
}

/** Bytes of repeated ranges kept (see `openFileBuffer`). */
const CACHE_BYTES = 32 * 1024 * 1024
/** Ranges remembered as asked for once, so a second request of one is recognised. */
const SEEN_MAX = 1024

interface Range {
  start: number
  end: number
  bytes: ArrayBuffer
}

/**
 * Open a file as an `AsyncBuffer`. A range asked for a second time is kept, up to 32 MiB in all,
 * and served again, whole or in part, until `forget()`: reading a large row group in bounded row
 * ranges asks for the same column chunks once per range when the file has no offset index to find
 * the pages by. The requests come round in the same order each time, so when the budget is spent
 * nothing is evicted (evicting the oldest would miss every time). Ranges asked for once (pages
 * found through an offset index) are not kept.
 */
export async function openFileBuffer(path: string): Promise<FileBuffer> {
  const handle = await open(path, 'r')
  const { size } = await handle.stat()
  const kept: Range[] = []
  let keptBytes = 0
  const seen = new Set<string>()
  const keep = (range: Range) => {
    const key = `${range.start}-${range.end}`
    if (!seen.has(key)) {
      if (seen.size >= SEEN_MAX) seen.clear()
      seen.add(key)
      return
    }
    if (keptBytes + range.bytes.byteLength > CACHE_BYTES) return
    kept.push(range)
    keptBytes += range.bytes.byteLength
  }
  return {
    byteLength: size,
    async slice(start: number, end = size): Promise<ArrayBuffer> {
      const hit = kept.find((r) => start >= r.start && end <= r.end)
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
    forget() {
      kept.length = 0
      keptBytes = 0
      seen.clear()
    },
    close: () => handle.close(),
  }
}
