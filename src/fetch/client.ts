import type { ResolvedOptions } from '../options.js'
import { Agent, type Dispatcher } from './undici.js'

/**
 * One keep-alive connection pool for the run. Connections per origin are not capped here: the
 * scheduler's per-host limit decides how many requests run, and the pool keeps that many warm.
 */
export function createAgent(options: ResolvedOptions): Dispatcher {
  return new Agent({
    connect: { timeout: options.connectTimeout },
    keepAliveTimeout: 10_000,
    keepAliveMaxTimeout: 60_000,
    pipelining: 1,
    allowH2: options.http2,
    // We follow redirects ourselves, hop by hop, under our own policies.
    maxRedirections: 0,
  } as ConstructorParameters<typeof Agent>[0])
}
