import { createWriteStream, type WriteStream } from 'node:fs'
import { rename } from 'node:fs/promises'
import { join } from 'node:path'
import { redactUrl } from '../errors.js'
import { WORK_DIR } from '../sinks/files.js'
import type { Result } from '../types.js'

export const MANIFEST = 'manifest.jsonl'

/** One manifest line: what a machine needs to know about one input URL. */
export function manifestLine(r: Result): string {
  return JSON.stringify({
    url: redactUrl(r.job.url),
    path: r.path ?? null,
    status: r.status,
    httpStatus: r.httpStatus ?? null,
    bytes: r.bytes ?? null,
    sha256: r.sha256 ?? null,
    format: r.format ?? null,
    width: r.width ?? null,
    height: r.height ?? null,
    error: r.error ?? null,
    message: r.message ?? null,
    attempts: r.attempts,
    timings: r.timings,
    ...(r.job.meta ? { meta: r.job.meta } : {}),
  })
}

/**
 * Writes `manifest.jsonl` for this run, one line per input URL, as results arrive; it takes its
 * final name only when the run ends, so a cut run leaves the previous manifest in place.
 */
export class ManifestWriter {
  readonly #stream: WriteStream
  readonly #tmp: string
  readonly #final: string
  #error: Error | undefined

  constructor(out: string) {
    this.#tmp = join(out, WORK_DIR, `${MANIFEST}.tmp`)
    this.#final = join(out, MANIFEST)
    this.#stream = createWriteStream(this.#tmp)
    // A full disk must not crash the run from an event handler: it is reported at close.
    this.#stream.on('error', (e) => {
      this.#error ??= e
    })
  }

  write(result: Result): void {
    this.#stream.write(`${manifestLine(result)}\n`)
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.#stream.end((e?: Error | null) => (e ? reject(e) : resolve())),
    )
    await rename(this.#tmp, this.#final)
  }
}
