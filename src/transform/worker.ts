/**
 * A pool worker: a child process (see `pool.ts` for why not a thread) that runs one image at a
 * time and answers over the IPC channel. Started by `TransformPool` only.
 */
import { createRequire } from 'node:module'
import type SharpModule from 'sharp'
import { TransformError, type TransformErrorCode } from './errors.js'
import type { ImageInput, ThumbnailOptions, Transformed } from './resize.js'
import type { TransformSpec } from './spec.js'

export type Request =
  | {
      id: number
      op: 'transform'
      input: ImageInput
      spec: TransformSpec
      output?: string
      replaceInput?: boolean
    }
  | { id: number; op: 'thumbnail'; input: ImageInput; options: ThumbnailOptions }

/** End now, between two steps of an image, never inside its write (see `TransformPool`'s abort). */
export type Stop = { op: 'stop' }

export type Reply =
  | { op: 'ready' }
  | { op: 'unavailable'; message: string }
  /** Sent last, before the worker ends on a `stop`: every reply before it has reached the pool. */
  | { op: 'stopped' }
  | { id: number; result: Transformed | Uint8Array }
  /** `errno`: a file system error's code (ENOSPC, EROFS...): the disk's fault, not the image's. */
  | { id: number; error: { code: TransformErrorCode; message: string; errno?: string } }

const send = (reply: Reply) => process.send?.(reply)

if (!process.send) {
  console.error('imgpull: the transform worker runs only under TransformPool')
  process.exit(1)
}
// The parent went away (closed the pool, or died): nothing is left to do.
process.on('disconnect', () => process.exit(0))
// The pool alone ends a worker. A Ctrl-C in a terminal reaches the whole process group, systemd's
// stop every process of the service, and a closed terminal its group: each killed the workers
// mid-image, so a run's clean stop failed the images in hand ("the image worker was killed by
// SIGINT", journaled as failed, their downloads deleted), and one killed inside `intoInput` left
// neither the download nor a whole new image. The parent hears these signals and decides.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {})
// A SIGUSR1 to the group (`pkill -USR1`) opened each worker's debugger, a port any local process
// could run code through (nodejs/node#42446): a listener keeps it shut, as the CLI's does (bin.ts).
process.on('SIGUSR1', () => {})

try {
  // Loaded here, not at the top, so a missing or broken native binary becomes one clear message;
  // by its CommonJS entry, as `resize.ts` loads it (see there why).
  const sharp: typeof SharpModule = createRequire(import.meta.url)('sharp')
  // Parallelism comes from the processes: one libvips thread per image keeps each worker to one
  // core, and a cache is useless for a stream of distinct images (it only holds memory).
  sharp.concurrency(1)
  sharp.cache(false)
  const { thumbnailImage, transformImage } = await import('./resize.js')
  process.on('message', async (request: Request | Stop) => {
    // Handled between two turns of the loop, so never inside `intoInput`'s synchronous rename and
    // write; exiting once `stopped` is written leaves no reply sent before it unread.
    if (request.op === 'stop') return void process.send?.({ op: 'stopped' }, () => process.exit(0))
    try {
      const result =
        request.op === 'transform'
          ? await transformImage(request.input, request.spec, request.output, request.replaceInput)
          : await thumbnailImage(request.input, request.options)
      send({ id: request.id, result })
    } catch (error) {
      // Anything but a TransformError (a missing input file, a bug) fails this image, not the worker.
      const code = error instanceof TransformError ? error.code : 'transform-failed'
      const errno = error instanceof TransformError ? undefined : (error as { code?: unknown } | null)?.code
      send({
        id: request.id,
        error: {
          code,
          message: error instanceof Error ? error.message : String(error),
          ...(typeof errno === 'string' ? { errno } : {}),
        },
      })
    }
  })
  send({ op: 'ready' })
} catch (error) {
  send({ op: 'unavailable', message: error instanceof Error ? error.message : String(error) })
  process.disconnect()
}
