import { headerCase } from './header-case.js'
import type { Answer } from './judge.js'

/** Headers caches and CDNs set to say whether they served a stored copy. */
const HIT_HEADERS = ['x-cache', 'x-cache-status', 'cf-cache-status', 'x-proxy-cache', 'x-cache-lookup']

/** `HIT`, `TCP_HIT`, `Hit from cloudfront`, `MISS, HIT`: a hit, as a word of its own. */
const HIT = /(^|[^a-z])hit([^a-z]|$)/i

/** RFC 9211's `Cache-Status` member that served from cache: `ExampleCache; hit`. */
const STATUS_HIT = /;\s*hit\s*(;|,|$)/i

const values = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v]

/**
 * How an answer says a cache on the way served it from a stored copy, for a message (`Age: 3600,
 * X-Cache: HIT from squid`), or `undefined` when it does not. An `Age` above 0 says it (RFC 9111
 * §5.1: the copy is that old; Varnish sends `Age: 0` on a miss), and so does a cache's hit header
 * (`X-Cache`, Cloudflare's `CF-Cache-Status`, nginx's `X-Cache-Status`, RFC 9211's `Cache-Status`).
 * Such a copy is the same to every request the cache answers from it, `no-cache` asked or not
 * (caches and CDNs set to ignore it): the same bytes twice from it prove nothing of the file.
 */
export function cacheHit(headers: Answer['headers']): string | undefined {
  const said: string[] = []
  const age = values(headers.age)[0]?.trim()
  if (age !== undefined && /^\d+$/.test(age) && Number(age) > 0) said.push(`Age: ${age}`)
  for (const name of HIT_HEADERS) {
    const hit = values(headers[name]).find((v) => HIT.test(v))
    if (hit !== undefined) said.push(`${canonical(name)}: ${hit.trim().slice(0, 60)}`)
  }
  const status = values(headers['cache-status']).find((v) => STATUS_HIT.test(v))
  if (status !== undefined) said.push(`Cache-Status: ${status.trim().slice(0, 60)}`)
  return said.length > 0 ? said.join(', ') : undefined
}

const canonical = (name: string): string =>
  name === 'cf-cache-status' ? 'CF-Cache-Status' : headerCase(name)
