import { ImgpullError, NetworkError, TimeoutError } from '../errors.js'
import type { ResolvedOptions } from '../options.js'
import { tlsMessage, tlsProblem } from './tls-errors.js'

/** Name lookups that fail for good; EAI_AGAIN (temporary) stays retryable. */
const DNS_PERMANENT = new Set(['ENOTFOUND'])

/**
 * Turn whatever a transfer threw into a typed, coded error. Local faults (disk, journal) are not
 * the transfer's: see `sinks/local-faults.ts`.
 */
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
  if (DNS_PERMANENT.has(code)) {
    return new ImgpullError('dns', `host not found for ${url}`, { cause: error })
  }
  // The same certificate, or the same handshake, fails the same way on every attempt.
  const tls = tlsProblem(error)
  if (tls) return new ImgpullError('tls', tlsMessage(url, tls), { cause: error })
  return new NetworkError(url, error)
}
