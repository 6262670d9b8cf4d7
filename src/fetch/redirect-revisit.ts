import { plural } from '../report/format.js'

/**
 * What to do with a redirect back to a request the chain has already sent (the same URL with the
 * same cookies). Pure, table-tested (test/policies.test.ts).
 *
 * Browsers, curl and Python's requests know no loops, only a count of redirects: a server that
 * sends a client back to the URL it asked for, to come again once a thumbnail is made or a token
 * is refreshed on its side (httpx dropped its loop check for such servers, encode/httpx#801; a 3xx
 * may carry a `Retry-After` for the wait, RFC 9110 §10.2.3, psf/requests#4555), gets its file from
 * them. A request is sent up to `MOST_VISITS` times, the 3xx's `Retry-After` waited first (within
 * `--max-retry-after` and `REVISIT_WAIT_CAP`: the transfer holds its slot meanwhile); one more is a
 * loop, found within a few requests rather than after `--max-redirects`.
 */

/** Times one request may be sent in one redirect chain. */
export const MOST_VISITS = 3

/** Longest wait before a request is sent again, in ms: the transfer keeps its slot while it waits. */
export const REVISIT_WAIT_CAP = 10_000

export type Revisit = { do: 'follow'; wait: number } | { do: 'loop' }

/**
 * `sent`: times the chain has sent the request the redirect leads to; `retryAfter`: the 3xx's
 * `Retry-After` in ms, if it named a wait; `maxRetryAfter`: `--max-retry-after` in ms.
 */
export function revisit(sent: number, retryAfter: number | undefined, maxRetryAfter: number): Revisit {
  if (sent >= MOST_VISITS) return { do: 'loop' }
  return { do: 'follow', wait: Math.min(retryAfter ?? 0, maxRetryAfter, REVISIT_WAIT_CAP) }
}

/**
 * What a `too-many-redirects` message adds to where the chain had got to. `chain`: its requests
 * in order, the one it would send next included, each as its URL and the `Cookie` it carries. A
 * URL that came round again with other cookies is a loop `revisit` cannot see, each turn carrying
 * a cookie the server set anew (a counter, a timestamp, a session it sets again and never takes):
 * raising the limit would not end it, and the message said only "more than 20 redirects", as
 * curl's `Maximum (50) redirects followed` does. So is a path asked more than `MOST_VISITS` times,
 * each time with another query: a server that puts a new timestamp, counter or token in the URL it
 * sends the client back to (`/a.jpg?t=1`, `?t=2`...), never the same request twice, which neither
 * `revisit` nor a URL's cookies catch (loop checks keyed on the whole URL miss it:
 * einaregilsson/Redirector#131, EFForg/https-everywhere#4432); the message told to raise
 * `--max-redirects`, which only makes it longer. A chain that counts down in its query on one path
 * (`?redirect=6`, `?redirect=5`...) ends, and looks the same: both are said. Any other chain is longer than the limit:
 * `--max-redirects` is what lets it through. Pure, table-tested.
 */
export function tooManyNote(chain: readonly { url: string; cookie: string }[]): string {
  const cookies = new Map<string, Set<string>>()
  for (const { url, cookie } of chain) cookies.set(url, (cookies.get(url) ?? new Set()).add(cookie))
  if ([...cookies.values()].some((seen) => seen.size > 1)) {
    const n = cookies.size
    return `: a loop over ${n} ${plural(n, 'URL')}, each asked again with the new cookies its last answer set (a server that sets a cookie and never takes it)`
  }
  const queries = new Map<string, Set<string>>()
  for (const { url } of chain) {
    const path = url.split(/[?#]/)[0]
    queries.set(path, (queries.get(path) ?? new Set()).add(url))
  }
  const n = [...queries.values()].filter((urls) => urls.size > MOST_VISITS).length
  if (n > 0)
    return `: a loop over ${n} ${plural(n, 'path')}, each asked again with another query (a server that puts a new timestamp, counter or token in the URL it sends back to), or a chain longer than --max-redirects allows`
  return ' (--max-redirects allows more)'
}
