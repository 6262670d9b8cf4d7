import { FatalError, ImgpullError, NetworkError, TimeoutError } from '../errors.js'
import type { ResolvedOptions } from '../options.js'

/** Errors from the file system that no retry will fix: the whole run must stop. */
const FATAL_FS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM'])
/** Name lookups that fail for good; EAI_AGAIN (temporary) stays retryable. */
const DNS_PERMANENT = new Set(['ENOTFOUND'])

/** Turn whatever a transfer threw into a typed, coded error. */
export function classify(error: unknown, url: string, options: ResolvedOptions): ImgpullError {
  if (error instanceof ImgpullError) return error
  const code = (error as { code?: string } | undefined)?.code ?? ''
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new TimeoutError('connect', options.connectTimeout, url)
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new TimeoutError('headers', options.headersTimeout, url)
    case 'UND_ERR_BODY_TIMEOUT':
      return new TimeoutError('idle', options.idleTimeout, url)
  }
  if (FATAL_FS.has(code) && (error as { syscall?: string }).syscall) {
    const path = (error as { path?: string }).path
    return new FatalError('disk', `cannot write ${path ?? 'to the output folder'}: ${code}`, { cause: error })
  }
  if (DNS_PERMANENT.has(code)) {
    return new ImgpullError('dns', `host not found for ${url}`, { cause: error })
  }
  return new NetworkError(url, error)
}
