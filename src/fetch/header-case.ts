/**
 * A header name as messages show it: each word capitalised (`x-cache-status` → `X-Cache-Status`).
 * Node gives names in lower case; callers fix the spellings words alone cannot (`RateLimit`, `CF-`).
 * Pure.
 */
export const headerCase = (name: string): string =>
  name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase())
