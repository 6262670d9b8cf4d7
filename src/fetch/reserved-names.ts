/**
 * Top-level names RFC 2606 reserves so that they never resolve: a URL under one is a placeholder
 * (documentation's `images.example`), never a host a lookup will find, whatever the network.
 * `.test` is left out: a local resolver or `/etc/hosts` may name it (RFC 6761 §6.2: resolvers
 * treat `.test` as any name), and `.localhost`, the loopback, is never looked up (§6.3: see
 * `answeringLocalhost`); so are `.local`
 * (mDNS, RFC 6762), `.onion` (Tor, RFC 7686) and `.alt` (RFC 9476), which other resolvers answer.
 */
const NEVER_RESOLVED: Record<string, string> = {
  example: 'reserved for examples',
  invalid: 'reserved to be invalid',
}

/** What to add to a failed lookup's message for `host`: `''` unless its top-level name is one of those. */
export function reservedNameWords(host: string): string {
  const top = host.toLowerCase().replace(/\.$/, '').split('.').at(-1) ?? ''
  const why = Object.hasOwn(NEVER_RESOLVED, top) ? NEVER_RESOLVED[top] : undefined
  return why ? `: .${top} names are ${why} (RFC 2606) and exist nowhere` : ''
}

/**
 * The failure code of a lookup that found no `host` (ENOTFOUND): `dns`, a passing cause (a run
 * made offline, a name not published yet), so a plain rerun tries it again; but for a name under
 * a top-level name that exists nowhere (see `NEVER_RESOLVED`), which every run fails alike: the
 * input's own (`invalid-url`: a placeholder to replace, as the example tables' `images.example`),
 * or, reached by a redirect (`redirected`), the server's (`bad-redirect`). Both are left by a
 * plain rerun; `--retry-failed` looks the name up again (an `/etc/hosts` line may name it).
 */
export function notFoundCode(host: string, redirected: boolean): 'dns' | 'invalid-url' | 'bad-redirect' {
  if (reservedNameWords(host) === '') return 'dns'
  return redirected ? 'bad-redirect' : 'invalid-url'
}
