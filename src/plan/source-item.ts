/**
 * What `pull()` takes as its source, and each thing it yields, checked before use: a caller's
 * mistake (a single URL string, whose characters would each be a job; a promise of an array; an
 * item that is neither a URL nor a job) is said in one line naming it, not met as a crash inside
 * the run or as a failure recorded per character.
 */

import { UsageError } from '../errors.js'
import type { Job, Source } from '../types.js'

/** A value as a message about the source shows it: its kind, and a short form of it. */
function shown(value: unknown): string {
  if (value === null || value === undefined) return String(value)
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)}`
  if (Array.isArray(value)) return 'an array'
  // A file stream's chunk (`createReadStream('urls.txt')`): said as bytes, with the way to lines.
  if (value instanceof Uint8Array)
    return `${value.length} bytes (a Buffer, as a file stream gives them: read a list by its lines, node:readline's createInterface({ input }))`
  if (typeof value === 'object') {
    const keys = Object.keys(value).slice(0, 5)
    return keys.length > 0 ? `an object with ${keys.join(', ')} and no string \`url\`` : 'an empty object'
  }
  // A function's text is its whole source: its kind says enough.
  if (typeof value === 'function') return 'a function'
  return `${typeof value} ${String(value)}`
}

/** Throws a `TypeError` unless `source` is something `pull()` can iterate: an iterable or an async iterable. */
export function checkSource(source: unknown): asserts source is Source {
  if (typeof source === 'string')
    throw new TypeError(
      'Expected the source to be an iterable of URLs or jobs, got a string (its characters would each be a URL): give one URL as [url]',
    )
  // A file read whole (`readFileSync('urls.txt')`): its items would be its bytes, each a number.
  if (source instanceof Uint8Array)
    throw new TypeError(
      'Expected the source to be an iterable of URLs or jobs, got bytes (a Buffer): give its text split into lines',
    )
  // A Map of URLs to their data: its items would be [key, value] pairs, each ending the run as "an
  // array" once the items before it were done (a-synchronous/rubico#283, a map over a Map's entries).
  if (source instanceof Map)
    throw new TypeError(
      'Expected the source to be an iterable of URLs or jobs, got a Map (its items would be [key, value] pairs): give map.keys() or map.values(), whichever holds them',
    )
  const object =
    typeof source === 'object' && source !== null ? (source as Record<symbol, unknown>) : undefined
  if (typeof object?.[Symbol.iterator] === 'function' || typeof object?.[Symbol.asyncIterator] === 'function')
    return
  const promise = typeof (object as { then?: unknown } | undefined)?.then === 'function'
  if (promise)
    throw new TypeError(
      'Expected the source to be an iterable of URLs or jobs, got a Promise: await it first',
    )
  // One URL object or one job where a list of them was meant, or a generator function not called:
  // said as one URL string is (the URL not shown: it may carry credentials).
  if (source instanceof URL)
    throw new TypeError(
      'Expected the source to be an iterable of URLs or jobs, got one URL object: give it as [url]',
    )
  const url = (object as { url?: unknown } | undefined)?.url
  if (typeof url === 'string' || url instanceof URL)
    throw new TypeError(
      'Expected the source to be an iterable of URLs or jobs, got one job: give it as [job]',
    )
  if (typeof source === 'function')
    throw new TypeError(
      'Expected the source to be an iterable of URLs or jobs, got a function: call it (a generator function gives its generator when called)',
    )
  throw new TypeError(
    `Expected the source to be an iterable of URLs or jobs (an array, a generator, a stream), got ${shown(source)}`,
  )
}

/**
 * The job an item of the source stands for: a URL string or `URL` object, or a job (`{ url }`, its
 * `url` a string or a `URL` object, taken as its href);
 * `index` counts from 1. Anything else is a `UsageError`: the run finishes what it read before it,
 * then ends with it, as it does for a table it cannot read past.
 */
export function jobOf(item: unknown, index: number): Job {
  if (typeof item === 'string') return { url: item }
  if (item instanceof URL) return { url: item.href }
  if (typeof item === 'object' && item !== null && typeof (item as Job).url === 'string') return item as Job
  // A job whose url is a `URL` object, as fetch(), got and ky take one: its href, as a `URL` item's
  // is. It ended the run, "an object with url and no string `url`" (rails/request.js#38).
  const url: unknown = (item as { url?: unknown } | null)?.url
  if (url instanceof URL) return { ...(item as Job), url: url.href }
  throw new UsageError(
    `item ${index} of the source is ${shown(item)}: give URL strings or jobs ({ url: string })`,
  )
}
