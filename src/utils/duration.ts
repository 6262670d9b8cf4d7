/** Durations as people write them, for options such as `--idle-timeout` and `--wait`. */

const SCALE: Record<string, number> = { ms: 1e-3, s: 1, sec: 1, m: 60, min: 60, h: 3600 }

/**
 * Parse `30`, `0.5`, `500ms`, `10s`, `2m`, `1h` into seconds: a bare number is seconds (as curl's
 * `--max-time`, wget's `--timeout` and aria2c's `--timeout` take it), a unit of `ms`, `s`/`sec`,
 * `m`/`min` or `h` (any case) scales it; `undefined` if unreadable or negative.
 */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*$/i.exec(text)
  if (!m) return undefined
  const scale = SCALE[(m[2] ?? '').toLowerCase() || 's']
  return scale === undefined ? undefined : Number(m[1]) * scale
}
