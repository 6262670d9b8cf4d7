/** Human-readable figures for progress lines and summaries. */
const UNITS = ['B', 'kB', 'MB', 'GB', 'TB']

/**
 * `12.3 MB`; a count under 1 kB in whole bytes. Rates too (`formatBytes(rate)/s`): a smoothed
 * rate is a fraction, which was printed whole (`0.0019043486392550765 B/s` on a stall).
 */
export function formatBytes(bytes: number): string {
  let value = Math.round(bytes)
  let unit = 0
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${UNITS[unit]}`
}

export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const s = Math.round(ms / 1000)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`
}

export function formatRate(count: number, ms: number, unit: string): string {
  const perSecond = ms > 0 ? (count * 1000) / ms : 0
  return `${perSecond >= 100 ? Math.round(perSecond) : perSecond.toFixed(1)} ${unit}/s`
}

/**
 * `1234567` → `1,234,567`: en-US digit grouping, as `toLocaleString('en-US')` writes it (up to
 * three decimals, rounded half away from zero), without its first call's ICU set-up, which costs
 * ~14 ms of every short run that prints or reports a count.
 */
export function grouped(value: number): string {
  if (!Number.isFinite(value) || Math.abs(value) >= 1e21) return value.toLocaleString('en-US')
  const sign = value < 0 || Object.is(value, -0) ? '-' : ''
  const abs = Math.abs(value)
  const [int, frac] = (Number.isInteger(abs) ? abs : Math.round(abs * 1000) / 1000).toString().split('.')
  return `${sign}${int.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${frac ? `.${frac}` : ''}`
}

/**
 * A moment as `2020-01-02 00:00:00 UTC`, or to the minute (`2020-01-02 00:00 UTC`): the report's
 * start, a certificate's dates.
 */
export function utcTime(ms: number, to: 'second' | 'minute' = 'second'): string {
  return `${new Date(ms)
    .toISOString()
    .slice(0, to === 'second' ? 19 : 16)
    .replace('T', ' ')} UTC`
}

/**
 * Names in the order a person reads them (natural order): runs of digits compare as numbers, so
 * `10.0.0.9` comes before `10.0.0.10` and `img9` before `img10`, which code-unit order put after
 * them; the rest by code unit, and names equal so (`img09`, `img9`) by code unit too.
 * Not `Intl.Collator(…, { numeric: true })`: it follows the machine's locale (Danish puts `aa.example`
 * after `z.example`), calls `img09` and `img9` equal, and its first use costs the ICU set-up grouped() avoids.
 */
export function naturalOrder(a: string, b: string): number {
  const runs = /\d+|\D+/g
  const x = a.match(runs) ?? []
  const y = b.match(runs) ?? []
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i]
    const q = y[i]
    if (p === q) continue
    if (/^\d/.test(p) && /^\d/.test(q)) {
      // As numbers of any length: fewer digits once leading zeros are left out is smaller.
      const m = p.replace(/^0+/, '')
      const n = q.replace(/^0+/, '')
      if (m.length !== n.length) return m.length - n.length
      if (m !== n) return m < n ? -1 : 1
      continue
    }
    return p < q ? -1 : 1
  }
  if (x.length !== y.length) return x.length - y.length
  return a < b ? -1 : a > b ? 1 : 0
}
