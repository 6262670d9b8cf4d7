export {
  FatalError,
  FolderBusyError,
  HTTPError,
  ImgpullError,
  NetworkError,
  TimeoutError,
  type TimeoutPhase,
  UsageError,
} from './errors.js'
export { DEFAULT_USER_AGENT, defaults, type Options, resolveOptions } from './options.js'
export { type PullRun, pull } from './pull.js'
export type { Job, Result, RunStats, Source, SourceContext, Status, Timings } from './types.js'
export { VERSION } from './version.js'
