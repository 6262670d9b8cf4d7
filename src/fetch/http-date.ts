const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)'
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)'
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)'
const TIME = '\\d{2}:\\d{2}:\\d{2}'
/** The three forms of an HTTP-date (RFC 9110 §5.6.7), case aside ("recipients ... be robust"). */
export const IMF_FIXDATE = new RegExp(`^${DAY}, \\d{1,2} ${MONTH} \\d{4} ${TIME} GMT$`, 'i')
export const RFC850_DATE = new RegExp(`^${LONG_DAY}, \\d{2}-${MONTH}-\\d{2} ${TIME} GMT$`, 'i')
export const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} [ \\d]\\d ${TIME} \\d{4}$`, 'i')

/**
 * A date header's value (`Date`, `Last-Modified`) as ms since the epoch, as `Date.parse` reads it
 * (NaN when it does not), but for asctime's form: it names no zone because it is GMT, where
 * `Date.parse` would take it for this machine's local time, hours off west or east of GMT.
 */
export function httpDate(value: string): number {
  const trimmed = value.trim()
  return Date.parse(ASCTIME_DATE.test(trimmed) ? `${trimmed} GMT` : trimmed)
}
