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

/**
 * A byte count as a person gives it (`--max-size 10MB`, `512MiB`): a whole number of binary or
 * decimal units where it is one (`512 MiB`, `10 MB`), else its bytes (`1234 bytes`). A message that
 * named the limit in bytes (`over --max-size 10000000`) read as another number than the one given.
 */
export function sizeText(bytes: number): string {
  for (const [unit, size] of SIZE_UNITS)
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`
  return `${bytes} ${plural(bytes, 'byte')}`
}

/** Units for `sizeText`, the largest first, binary before decimal (1 MiB is no whole number of kB). */
const SIZE_UNITS: [string, number][] = [
  ['TiB', 1024 ** 4],
  ['TB', 1000 ** 4],
  ['GiB', 1024 ** 3],
  ['GB', 1000 ** 3],
  ['MiB', 1024 ** 2],
  ['MB', 1000 ** 2],
  ['KiB', 1024],
  ['kB', 1000],
]

export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const s = Math.round(ms / 1000)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`
}

export function formatRate(count: number, ms: number, unit: string): string {
  const perSecond = ms > 0 ? (count * 1000) / ms : 0
  return `${perSecond >= 100 ? grouped(Math.round(perSecond)) : perSecond.toFixed(1)} ${unit}/s`
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
 * The noun for `count` of it: `one` for exactly 1, else `many` (default `one` + `s`): `1 byte`,
 * `0 bytes`, `2 bytes`. The count is the caller's to write (`counted` writes it grouped).
 */
export const plural = (count: number, one: string, many = `${one}s`): string => (count === 1 ? one : many)

/** `1 photo`, `2 photos`, `1,234 API calls` (`grouped`): a count and its noun, `many` its plural. */
export const counted = (count: number, one: string, many = `${one}s`): string =>
  `${grouped(count)} ${plural(count, one, many)}`

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
  // A scan without allocation: a host table sorts every host of a run (200,000 hosts of one file
  // each took 2.4 s to sort, cutting both names into runs at each of their 3.6 million comparisons).
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) {
    const digits = isDigit(a, i)
    const endA = runEnd(a, i, digits)
    const endB = runEnd(b, j, isDigit(b, j))
    if (digits && isDigit(b, j)) {
      // As numbers of any length: fewer digits once leading zeros are left out is smaller.
      let m = i
      let n = j
      while (m < endA && a.charCodeAt(m) === 48) m++
      while (n < endB && b.charCodeAt(n) === 48) n++
      if (endA - m !== endB - n) return endA - m - (endB - n)
      for (; m < endA; m++, n++)
        if (a.charCodeAt(m) !== b.charCodeAt(n)) return a.charCodeAt(m) < b.charCodeAt(n) ? -1 : 1
    } else {
      const order = compareRange(a, i, endA, b, j, endB)
      if (order !== 0) return order
    }
    i = endA
    j = endB
  }
  const left = runsFrom(a, i) - runsFrom(b, j)
  if (left !== 0) return left
  return a < b ? -1 : a > b ? 1 : 0
}

function isDigit(s: string, at: number): boolean {
  const c = s.charCodeAt(at)
  return c >= 48 && c <= 57
}

/** Where the run of digits (or of anything else) beginning at `at` ends. */
function runEnd(s: string, at: number, digits: boolean): number {
  let end = at + 1
  while (end < s.length && isDigit(s, end) === digits) end++
  return end
}

/** How many runs `s` has from `at` on. */
function runsFrom(s: string, at: number): number {
  let runs = 0
  for (let end = at; end < s.length; runs++) end = runEnd(s, end, isDigit(s, end))
  return runs
}

/** `a[i, endA)` against `b[j, endB)` by code unit, as `<` compares strings. */
function compareRange(a: string, i: number, endA: number, b: string, j: number, endB: number): number {
  for (; i < endA && j < endB; i++, j++) {
    const c = a.charCodeAt(i)
    const d = b.charCodeAt(j)
    if (c !== d) return c < d ? -1 : 1
  }
  return i < endA ? 1 : j < endB ? -1 : 0
}
