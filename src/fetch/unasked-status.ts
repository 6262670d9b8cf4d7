/**
 * Statuses that only answer something a request asks (RFC 9110): a 304 a condition on the cached
 * copy (If-None-Match, If-Modified-Since: §15.4.5), a 412 a precondition (If-Match,
 * If-Unmodified-Since: §15.5.13), a 416 a range (§15.5.17). Sent to a request that asked none, they
 * are no verdict on the URL but a slip of the server or a cache in front of it: a cache revalidating
 * a stale entry answers 304 to unconditional requests (caddyserver/cache-handler#137,
 * darkweak/souin#794), a server answered 416 to plain GETs now and then (kiwix/libkiwix#855); a 226
 * answers `A-IM` (RFC 3229 §10.4.1) with a delta, not the file. Such
 * a failure is retried, and tried again by a rerun.
 */
const ASKED_BY: Readonly<Record<number, readonly string[]>> = {
  304: ['if-none-match', 'if-modified-since'],
  412: ['if-match', 'if-unmodified-since'],
  416: ['range'],
  // A delta against a copy the client holds (RFC 3229 §10.4.1): imgpull never asks for one.
  226: ['a-im'],
}

/**
 * What a request would have had to ask for `status` to answer it (`'a range'`...), when `sent`
 * (the names of the request's headers, any case) asked none of it; `undefined` when it did, or
 * for any other status.
 */
export function unaskedStatus(status: number, sent: Iterable<string>): string | undefined {
  const askedBy = ASKED_BY[status]
  if (!askedBy) return undefined
  const names = new Set([...sent].map((name) => name.toLowerCase()))
  if (askedBy.some((name) => names.has(name))) return undefined
  return status === 416
    ? 'no range'
    : status === 412
      ? 'no precondition'
      : status === 226
        ? 'no instance manipulation (A-IM)'
        : 'no condition'
}

/** The statuses `unaskedStatus` may find unasked: a rerun tries them again (see `httpRerun`). */
export const UNASKED_STATUSES: ReadonlySet<number> = new Set(Object.keys(ASKED_BY).map(Number))
