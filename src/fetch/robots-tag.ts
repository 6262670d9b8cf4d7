/**
 * Whether an image's `X-Robots-Tag` response headers ask tools like imgpull not to take it. Pure,
 * table-tested (test/robots-tag.test.ts); `decide.ts` reads the headers before any body byte.
 *
 * The header's grammar is Google's (developers.google.com/search/docs/crawling-indexing/robots-meta-tag):
 * a comma-separated list of directives, case-insensitive, optionally scoped to one crawler by a
 * `name:` prefix (`X-Robots-Tag: googlebot: noindex, nofollow`); a scope lasts to the end of that
 * header value or to the next scope; unscoped directives apply to everyone, and several headers
 * add up. Directives that take a value (`max-image-preview: large`, `unavailable_after: …`) are
 * not scopes.
 *
 * Honoured: `noai` and `noimageai`, the directives that say "not for AI use" (DeviantArt's 2022
 * proposal, since sent by other sites and honoured by dataset tools). Not honoured: `noindex`, `none`, `noimageindex` and the others: they tell search engines what to
 * list, not whether a file may be downloaded, and a downloader that refused them would refuse
 * images any browser shows.
 */

/** Directives that refuse the download. */
const REFUSING = new Set(['noai', 'noimageai'])

/** Directives of the form `name: value`, which must not be read as a user-agent scope. */
const VALUED = new Set(['max-snippet', 'max-image-preview', 'max-video-preview', 'unavailable_after'])

/** The product token scoped rules are matched against: `imgpull`, whatever the User-Agent says. */
export const ROBOTS_TOKEN = 'imgpull'

/**
 * The directive that refuses the image (`noai` or `noimageai`), or `undefined` when nothing does.
 *
 * `values`: every `X-Robots-Tag` header of the response (one string, or several). `agents`: the
 * lower-case tokens this client answers to in scoped rules (`imgpull`, and the product token of a
 * custom User-Agent); `*` also scopes to everyone.
 */
export function robotsRefusal(
  values: string | readonly string[] | undefined,
  agents: readonly string[] = [ROBOTS_TOKEN],
): string | undefined {
  if (values === undefined) return undefined
  for (const value of typeof values === 'string' ? [values] : values) {
    let applies = true
    for (const part of value.split(',')) {
      let directive = part.trim().toLowerCase()
      const scoped = /^([^\s:]+)\s*:\s*(.*)$/.exec(directive)
      if (scoped && !VALUED.has(scoped[1])) {
        applies = scoped[1] === '*' || agents.includes(scoped[1])
        directive = scoped[2].trim()
      }
      if (applies && REFUSING.has(directive)) return directive
    }
  }
  return undefined
}

/** The tokens a User-Agent answers to: `imgpull`, and the product name of a custom User-Agent. */
export function robotsAgents(userAgent: string): string[] {
  const product = /^\s*([^\s/]+)/.exec(userAgent)?.[1]?.toLowerCase()
  return product && product !== ROBOTS_TOKEN ? [ROBOTS_TOKEN, product] : [ROBOTS_TOKEN]
}
