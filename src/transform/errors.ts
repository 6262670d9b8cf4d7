import { ImgpullError } from '../errors.js'

/**
 * Why an image did not come out of the transform stage:
 * - `too-small`, `bad-aspect-ratio`, `too-many-pixels`: refused by a filter (`minSize`,
 *   `maxAspectRatio`, `maxPixels`). The image is fine; the job's rules exclude it.
 * - `undecodable`: the decoder (libvips) cannot read it: an unknown or unsupported format (HEIC,
 *   whose HEVC codec the prebuilt libvips leaves out), corrupt or truncated pixel data.
 * - `transform-failed`: its processing crashed the worker (a signal, an exit) or ran past the
 *   pool's `timeoutMs`; the worker was replaced.
 * - `transform-unavailable`: no worker could start (sharp's native binary missing or broken);
 *   every image would fail alike, so this one is fatal to a run.
 * - `transform-closed`: the pool was closed, or the call's signal aborted, before the work was done.
 */
export type TransformErrorCode =
  | 'too-small'
  | 'bad-aspect-ratio'
  | 'too-many-pixels'
  | 'undecodable'
  | 'transform-failed'
  | 'transform-unavailable'
  | 'transform-closed'

/** The codes a filter gives: permanent, whatever the rerun, and not a fault of the image. */
export const REFUSAL_CODES: ReadonlySet<TransformErrorCode> = new Set([
  'too-small',
  'bad-aspect-ratio',
  'too-many-pixels',
])

/**
 * None of the codes is retryable: the same bytes meet the same filter, the same decoder and, but
 * for rare memory pressure, the same crash; downloading them again changes nothing. A later run
 * with different options (or `--retry-failed`) may still try again.
 */
export class TransformError extends ImgpullError {
  override name = 'TransformError'
  declare readonly code: TransformErrorCode
  constructor(code: TransformErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { retryable: false, cause: options.cause })
  }
}
