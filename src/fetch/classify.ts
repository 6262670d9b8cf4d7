import { FatalError, ImgpullError, NetworkError, TimeoutError } from '../errors.js'
import type { ResolvedOptions } from '../options.js'

/** Errors from the file system that no retry will fix: the whole run must stop. */
const FATAL_FS = new Set([
  'ENOSPC',
  'EDQUOT',
  'EROFS',
  'EACCES',
  'EPERM',
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_READONLY',
])
const WHY: Record<string, string> = {
  ENOTDIR: 'part of the path is a file, not a folder',
  EISDIR: 'is a folder',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  SQLITE_FULL: 'no space left on device (journal)',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
}

/** A file system error code in words. */
export function describeFsError(error: unknown): string {
  const code = (error as { code?: string } | undefined)?.code ?? ''
  return WHY[code] ?? (code || String(error))
}

/** True for a local disk or journal error (as opposed to a network one). */
export function isFatalLocal(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code ?? ''
  return FATAL_FS.has(code) || code.startsWith('SQLITE_IOERR')
}
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
  if (isFatalLocal(error)) {
    const path = (error as { path?: string }).path
    return new FatalError(
      'disk',
      `cannot write ${path ?? 'to the output folder'}: ${describeFsError(error)}`,
      {
        cause: error,
      },
    )
  }
  if (DNS_PERMANENT.has(code)) {
    return new ImgpullError('dns', `host not found for ${url}`, { cause: error })
  }
  return new NetworkError(url, error)
}
