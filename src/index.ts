export type { ErrorCode, HttpErrorCode } from './error-codes.js'
export {
  type FatalCode,
  FatalError,
  FolderBusyError,
  HTTPError,
  type ImgpullCode,
  ImgpullError,
  NetworkError,
  TimeoutError,
  type TimeoutPhase,
  type UsageCode,
  UsageError,
} from './errors.js'
export { DEFAULT_USER_AGENT, defaults, type Options, resolveOptions } from './options.js'
export { type PullRun, pull } from './pull.js'
export {
  RateLimitError,
  StoppedError,
  type UnsplashCode,
  UnsplashError,
  type UnsplashHttpCode,
} from './sources/unsplash/errors.js'
export type {
  CollectionOptions,
  LikesOptions,
  RandomOptions,
  SearchOptions,
  TopicOptions,
  UnsplashOptions,
  UnsplashSource,
  UnsplashSummary,
  UserOptions,
} from './sources/unsplash/index.js'
export * as unsplash from './sources/unsplash/index.js'
export type {
  CarriedType,
  DoneResult,
  FailedResult,
  HostSample,
  Job,
  Outcome,
  Result,
  RunInfo,
  RunStats,
  Source,
  SourceContext,
  Status,
  Timings,
  UrlJob,
} from './types.js'
export { VERSION } from './version.js'
