/** The transform stage: resize, re-encode and filter images on a pool of worker processes. */
export { REFUSAL_CODES, TransformError, type TransformErrorCode } from './errors.js'
export {
  type Fit,
  type ImageHeader,
  outputFormat,
  type Plan,
  plan,
  type Resize,
  resizeFor,
  WRITABLE_FORMATS,
} from './plan.js'
export { TransformPool, type TransformPoolOptions, type TransformPoolStats } from './pool.js'
export type { ImageInput, ThumbnailOptions, Transformed } from './resize.js'
export {
  DEFAULT_MAX_PIXELS,
  ENCODE_FORMATS,
  type EncodeFormat,
  needsPool,
  RESIZE_MODES,
  type ResizeMode,
  resolveTransformSpec,
  type TransformSpec,
} from './spec.js'
