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
 * second's answers. Only values in one of the three forms are kept, by the year they were read in
 * (an RFC 850 date's century depends on it).
 */
const READ = new RecentMap<string, number | undefined>(64)

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']
/** Each form's day, month, year and time, as they are placed in it (after `spaced`). */
const IMF_PARTS = /^\w+, (\d{1,2}) (\w{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/i
const RFC850_PARTS = /^\w+, (\d{2})-(\w{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/i
const ASCTIME_PARTS = /^\w+ (\w{3}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/i

/**
 * The instant an HTTP-date names, in ms since the epoch, in any of its three forms (RFC 9110
 * §5.6.7), its case and spacing aside (see `IMF_FIXDATE`); `undefined` for anything else. Read by
 * the grammar and the calendar, not by `Date.parse`, which reads `0` as 2000, `2026` as its first
 * of January, `31 Feb` as 2 March and the year `0001` as 2001, and asctime's GMT as local time: an
 * hour of 00-23, a minute of 00-59, a second of 00-60 (60: a leap second, the instant after the
 * minute's last), a day the month has. RFC 850's two-digit year is this century's, but one more
 * than 50 years after `now` (ms since the epoch) is the last century's, as RFC 9110 asks. The day's
 * name is not checked ("recipients ... be robust"). Pure but for its cache.
 */
export function readHttpDate(value: string, now = Date.now()): number | undefined {
  const thisYear = new Date(now).getUTCFullYear()
  const key = `${thisYear} ${value}`
  if (READ.has(key)) return READ.get(key)
  const text = spaced(value)
  if (!RFC850_DATE.test(text) && !IMF_FIXDATE.test(text) && !ASCTIME_DATE.test(text)) return undefined
  const [day, month, written, h, m, sec] = fieldsOf(text)
  let year = Number(written)
  if (written.length === 2) {
    year += thisYear - (thisYear % 100)
    if (year > thisYear + 50) year -= 100
  }
  const ms = instant(
    year,
    MONTHS.indexOf(month.toLowerCase()),
    Number(day),
    Number(h),
    Number(m),
    Number(sec),
  )
  READ.set(key, ms)
  return ms
}

/** The day, month's name, year as written, hour, minute and second of a date in one of the three forms. */
function fieldsOf(text: string): string[] {
  const parts = IMF_PARTS.exec(text) ?? RFC850_PARTS.exec(text)
  if (parts) return parts.slice(1, 7)
  const asctime = ASCTIME_PARTS.exec(text) ?? []
  return [asctime[2], asctime[1], asctime[6], asctime[3], asctime[4], asctime[5]].map(String)
}

/** The instant of a date and time of day in UTC (`month` from 0), or `undefined` when no calendar has it. */
function instant(
  year: number,
  month: number,
  day: number,
  h: number,
  m: number,
  s: number,
): number | undefined {
  if (month < 0 || h > 23 || m > 59 || s > 60 || day < 1) return undefined
  const date = new Date(0)
  // setUTCFullYear, not Date.UTC: that reads the years 0-99 as 1900-1999.
  date.setUTCFullYear(year, month, day)
  if (date.getUTCMonth() !== month) return undefined // 31 Feb rolled over into March
  return date.getTime() + ((h * 60 + m) * 60 + s) * 1000
}

/**
 * A date header's value (`Date`, `Last-Modified`) as ms since the epoch (see `readHttpDate`), NaN
 * when it is no HTTP-date.
 */
export function httpDate(value: string): number {
  return readHttpDate(value) ?? Number.NaN
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
