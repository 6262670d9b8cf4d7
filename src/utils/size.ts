/** Sizes as people write them, for options such as `--max-size`. */

/**
 * Parse `512MB`, `1.5GiB`, `2000` (bytes) into bytes: decimal units (k, M, G, T: powers of 1000)
 * and binary ones (Ki, Mi, Gi, Ti: powers of 1024), a trailing `B` optional, any case;
 * `undefined` if unreadable.
 */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$/i.exec(text)
  if (!m) return undefined
  const unit = (m[2] ?? '').toLowerCase().replace(/b$/, '')
  const powers: Record<string, number> = {
    '': 1,
    k: 1e3,
    m: 1e6,
    g: 1e9,
    t: 1e12,
    ki: 1024,
    mi: 1024 ** 2,
    gi: 1024 ** 3,
    ti: 1024 ** 4,
  }
  const scale = powers[unit]
  return scale === undefined ? undefined : Math.round(Number(m[1]) * scale)
}
