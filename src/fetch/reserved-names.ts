/**
 * Top-level names RFC 2606 reserves so that they never resolve: a URL under one is a placeholder
 * (documentation's `images.example`), never a host a lookup will find, whatever the network.
 * `.test` and `.localhost` are left out: a local resolver or `/etc/hosts` may name them.
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
