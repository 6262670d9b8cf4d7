import { RecentMap } from '../utils/recent.js'

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)'
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)'
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)'
const TIME = '\\d{2}:\\d{2}:\\d{2}'
/**
 * The three forms of an HTTP-date (RFC 9110 §5.6.7), case aside ("recipients ... be robust"), as
 * read after runs of spaces are made one (see `httpDate`): asctime's day of one digit then comes
 * after one space, as it does in the form servers write ("Dec  1", "Dec 1").
 */
export const IMF_FIXDATE = new RegExp(`^${DAY}, \\d{1,2} ${MONTH} \\d{4} ${TIME} GMT$`, 'i')
export const RFC850_DATE = new RegExp(`^${LONG_DAY}, \\d{2}-${MONTH}-\\d{2} ${TIME} GMT$`, 'i')
export const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} +\\d{1,2} ${TIME} \\d{4}$`, 'i')

/** A header's value with its runs of white space made one space, trimmed. */
const spaced = (value: string) => value.trim().replace(/\s+/g, ' ')

/**
 * HTTP-dates read lately and the instant each names: every answer's `Date` and `Last-Modified` are
 * read twice (as it is judged, then as it is taken), and a server writes the same `Date` for a
 * second's answers. Reading one cost 2 µs (a copy, a search, `Date.parse`), 8 µs an image. Only
 * values in one of the three forms are kept: each names GMT, so what it reads as never depends on
 * the machine's zone (`TZ` may change in a process; another value `Date.parse` may read as local time).
 */
const READ = new RecentMap<string, number>(64)

/**
 * A date header's value (`Date`, `Last-Modified`) as ms since the epoch, as `Date.parse` reads it
 * (NaN when it does not), but for asctime's form: it names no zone because it is GMT, where
 * `Date.parse` would take it for this machine's local time, hours off west or east of GMT.
 */
export function httpDate(value: string): number {
  const read = READ.get(value)
  if (read !== undefined) return read
  const text = spaced(value)
  const asctime = ASCTIME_DATE.test(text)
  const ms = Date.parse(asctime ? `${text} GMT` : text)
  if (asctime || IMF_FIXDATE.test(text) || RFC850_DATE.test(text)) READ.set(value, ms)
  return ms
}

/**
 * The instant an HTTP-date names, in any of its three forms, its case and spacing aside (see
 * `IMF_FIXDATE`); `undefined` for anything else, which `Date.parse` may still read (`1`, `soon`).
 */
export function readHttpDate(value: string): number | undefined {
  const text = spaced(value)
  if (!IMF_FIXDATE.test(text) && !RFC850_DATE.test(text) && !ASCTIME_DATE.test(text)) return undefined
  const ms = httpDate(text)
  return Number.isNaN(ms) ? undefined : ms
}

/**
 * Whether two `Last-Modified` values name the same instant: one date may come in any of the three
 * forms (two backends behind one name, one writing RFC 850's), in another case or spacing. A value
 * that is no HTTP-date is compared as text.
 */
export function sameHttpDate(a: string, b: string): boolean {
  const x = readHttpDate(a)
  const y = readHttpDate(b)
  return x !== undefined && y !== undefined ? x === y : a.trim() === b.trim()
}
