import type { Writable } from 'node:stream'

/**
 * Resolves once `stream` has room again ('drain'), or is gone (closed, failed), or `signal` stops
 * the run: what a loop that writes a line per result waits for after a `write` returned false. A
 * pipe to a slower reader (`imgpull --json ... | jq`) otherwise held every line not yet read
 * (Node buffers a pipe's writes without end): the run's memory grew with the list.
 */
export function drained(stream: Writable, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || stream.destroyed || !stream.writableNeedDrain) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done)
      stream.off('close', done)
      stream.off('error', done)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    stream.on('drain', done)
    stream.on('close', done)
    stream.on('error', done)
    signal?.addEventListener('abort', done, { once: true })
  })
}
