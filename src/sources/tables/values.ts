/**
 * Cell values as imgpull carries them: JSON-safe, so a `meta` object goes into a manifest line, a
 * WebDataset `.json` or a Parquet row unchanged. Parquet is the source of the rich types; CSV cells
 * are strings and JSON lines are JSON already.
 */

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/** The 64-bit integers past 2^53 that tables carry as text (`"-5012345678901234567"`), exactly so written. */
const BIG_INT = /^-?[1-9]\d{15,18}$/
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/**
 * Whether `value` is the digits of an integer past INT64's range (-2^63 to 2^63-1), as tables
 * carry one: a uint64 hash a JSON line writes as a number (ultrajson/ultrajson#49's
 * 18446098363113800555), which a double would round. Such a value is an integer, not text.
 */
export function isIntegerPastInt64(value: unknown): value is string {
  if (typeof value !== 'string' || !/^-?[1-9]\d{18,}$/.test(value)) return false
  const n = BigInt(value)
  return n < INT64_MIN || n > INT64_MAX
}

/** Whether `value` is such digits: an integer INT64 holds that a double does not. */
export function isBigInt64Text(value: string): boolean {
  if (!BIG_INT.test(value)) return false
  const n = BigInt(value)
  return n >= INT64_MIN && n <= INT64_MAX && !Number.isSafeInteger(Number(value))
}

/** What Node 20's strings have (ES2024), beyond the ES2023 this project compiles against. */
type WellFormedText = { isWellFormed(): boolean; toWellFormed(): string }

/**
 * `text` with every half of a surrogate pair alone made U+FFFD, as UTF-8 writes it (a library
 * job's caption or meta cut inside an emoji by a UTF-16 slice): the shard's `.txt` and Parquet had
 * U+FFFD there, its `.json` the escape `"\ud83d"` (which Python's json module reads into a string
 * it cannot encode: "surrogates not allowed"), and the manifest three U+FFFD (the journal's SQLite
 * kept the surrogate's three bytes). `text` itself when it has none (checked natively).
 */
export function wellFormedText(text: string): string {
  const t = text as unknown as WellFormedText
  return t.isWellFormed() ? text : t.toWellFormed()
}

/** The text of a number JSON has not, which `Number(text)` makes that number again. */
export type NonFiniteText = 'NaN' | 'Infinity' | '-Infinity'

/**
 * `value`'s text when it is a number JSON has not (NaN, ±Infinity: a Parquet DOUBLE such as a
 * ratio over 0, which `jsonSafe` makes null), else undefined: what rides beside a row's JSON so
 * the number itself is not lost.
 */
export function nonFiniteText(value: unknown): NonFiniteText | undefined {
  return typeof value === 'number' && !Number.isFinite(value) ? (String(value) as NonFiniteText) : undefined
}

/**
 * One value made JSON-safe:
 * - `null`/`undefined` → `null`; strings (and keys) well-formed (`wellFormedText`), booleans as they are;
 * - numbers as they are, except NaN and ±Infinity (JSON has none) → `null`;
 * - bigint (Parquet INT64, UINT64) → a number when it is a safe integer (|n| ≤ 2^53 − 1), else its
 *   decimal digits as a string, so no digit is lost;
 * - `Date` → ISO 8601 text (Parquet dates and timestamps already arrive as text, see `PARSERS`);
 * - bytes (`Uint8Array`: Parquet binary without a text annotation) → base64 text;
 * - other typed arrays, arrays (lists) → arrays; `Map` and plain objects (structs, maps, JSON) → objects.
 */
export function jsonSafe(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
      return wellFormedText(value)
    case 'boolean':
      return value
    case 'number':
      return Number.isFinite(value) ? value : null
    case 'bigint':
      return value <= MAX_SAFE && value >= -MAX_SAFE ? Number(value) : value.toString()
    case 'undefined':
      return null
    case 'object':
      if (value === null) return null
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
      if (value instanceof Uint8Array)
        return Buffer.from(value.buffer, value.byteOffset, value.length).toString('base64')
      if (Array.isArray(value)) return value.map(jsonSafe)
      if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<unknown>, jsonSafe)
      if (value instanceof Map)
        return Object.fromEntries(Array.from(value, ([k, v]) => [wellFormedText(String(k)), jsonSafe(v)]))
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [wellFormedText(k), jsonSafe(v)]))
    default:
      return String(value)
  }
}

const utf8 = new TextDecoder()

/**
 * A cell as text, for the URL and caption: `''` for null/undefined, strings as they are, bytes
 * decoded as UTF-8, objects as JSON, anything else through `jsonSafe` and `String`.
 */
export function cellText(value: unknown): string {
  if (typeof value === 'string') return value
  if (value === null || value === undefined) return ''
  if (value instanceof Uint8Array) return utf8.decode(value)
  const safe = jsonSafe(value)
  return typeof safe === 'object' && safe !== null ? JSON.stringify(safe) : String(safe)
}

/**
 * A Parquet DECIMAL's unscaled value (INT32 or INT64, or big-endian two's complement bytes) as
 * exact decimal text with `scale` fraction digits, as pyarrow and DuckDB print it
 * (`-1234567890.123456789`, `12.300`); `null` for a null cell.
 */
export function decimalText(raw: unknown, scale: number): string | null {
  let unscaled: bigint
  if (typeof raw === 'number' || typeof raw === 'bigint') unscaled = BigInt(raw)
  else if (raw instanceof Uint8Array) {
    unscaled = 0n
    for (const byte of raw) unscaled = unscaled * 256n + BigInt(byte)
    if (raw.length > 0 && raw[0] >= 0x80) unscaled -= 1n << BigInt(raw.length * 8)
  } else return null
  const sign = unscaled < 0n ? '-' : ''
  const digits = (unscaled < 0n ? -unscaled : unscaled).toString()
  if (scale <= 0) return `${sign}${digits}${'0'.repeat(-scale)}`
  const padded = digits.padStart(scale + 1, '0')
  return `${sign}${padded.slice(0, -scale)}.${padded.slice(-scale)}`
}

const DAY_MS = 86_400_000

function isoFromMillis(ms: bigint, fraction = ''): string {
  const date = new Date(Number(ms))
  if (Number.isNaN(date.getTime())) return ms.toString()
  const iso = date.toISOString()
  return fraction ? `${iso.slice(0, -1)}${fraction}Z` : iso
}

/**
 * A timestamp of a column not adjusted to UTC, as `PARSERS` wrote it (`…05.123456Z`), without its
 * `Z`: `2024-01-02T03:04:05.123456` is a wall-clock time, as pyarrow and DuckDB show it, not UTC.
 */
export function wallClock(value: unknown): unknown {
  return typeof value === 'string' && value.endsWith('Z') ? value.slice(0, -1) : value
}

/** Floor division and its non-negative remainder, for timestamps before 1970. */
function split(value: bigint, unit: bigint): [bigint, bigint] {
  const rest = ((value % unit) + unit) % unit
  return [(value - rest) / unit, rest]
}

/** UTF-8 that refuses bad bytes: a cell is never changed into U+FFFD replacements (a URL fetched that is not the table's). */
export const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** A cell's first 40 bytes in hex, `...` after when there are more: how a message shows bytes that are not text. */
export function hexHead(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes.subarray(0, 40)).toString('hex')
  return bytes.length > 40 ? `${hex}...` : hex
}

function text(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes)
  } catch {
    throw new Error(`a text cell is not UTF-8 (bytes ${hexHead(bytes)}): convert the file's text to UTF-8`)
  }
}

/**
 * hyparquet's parsers, replaced so dates and timestamps keep all their precision and arrive as
 * text: a DATE is `YYYY-MM-DD`; a TIMESTAMP (and legacy INT96) is ISO 8601 in UTC with as many
 * fraction digits as its unit (`…05.123Z`, `…05.123456Z`, `…05.123456789Z`). A value outside the
 * range a JavaScript Date can show (±273,790 years) is kept as its raw number, as text.
 */
export const PARSERS = {
  stringFromBytes: (bytes: Uint8Array | undefined): string | undefined => bytes && text(bytes),
  jsonFromBytes: (bytes: Uint8Array | undefined): unknown => bytes && JSON.parse(text(bytes)),
  timestampFromMilliseconds: (ms: bigint | number): string => isoFromMillis(BigInt(ms)),
  timestampFromMicroseconds(us: bigint | number): string {
    const [ms, rest] = split(BigInt(us), 1000n)
    return isoFromMillis(ms, rest.toString().padStart(3, '0'))
  },
  timestampFromNanoseconds(ns: bigint | number): string {
    const [ms, rest] = split(BigInt(ns), 1_000_000n)
    return isoFromMillis(ms, rest.toString().padStart(6, '0'))
  },
  dateFromDays(days: number): string {
    const date = new Date(days * DAY_MS)
    return Number.isNaN(date.getTime()) ? String(days) : date.toISOString().slice(0, 10)
  },
}

/** Units per second of a Parquet TIME column, by its unit. */
const TIME_UNITS = { MILLIS: 1_000n, MICROS: 1_000_000n, NANOS: 1_000_000_000n } as const
export type TimeUnit = keyof typeof TIME_UNITS

/**
 * A Parquet TIME value (units since midnight: hyparquet gives the raw number) as `HH:MM:SS` with
 * as many fraction digits as its unit (`12:34:56.123456`), as pyarrow and DuckDB show it; a value
 * that is not a time of day (negative, or a day or more) is kept as its raw number, as text.
 */
export function timeOfDay(value: unknown, unit: TimeUnit): unknown {
  if (typeof value !== 'number' && typeof value !== 'bigint') return value
  if (typeof value === 'number' && !Number.isSafeInteger(value)) return value
  const perSecond = TIME_UNITS[unit]
  const units = BigInt(value)
  if (units < 0n || units >= 86_400n * perSecond) return units.toString()
  const seconds = units / perSecond
  const two = (n: bigint) => n.toString().padStart(2, '0')
  const digits = perSecond.toString().length - 1
  const fraction = (units % perSecond).toString().padStart(digits, '0')
  return `${two(seconds / 3600n)}:${two((seconds / 60n) % 60n)}:${two(seconds % 60n)}.${fraction}`
}

/** What a carried value is, for its column's type (see `carriedType` and `ColumnTypes`). */
export type ValueKind = 'string' | 'boolean' | 'int' | 'double' | 'json' | 'bigint'

/**
 * The kind of a JSON-safe value: text, a boolean, a whole number (`int`; digits past 2^53, which
 * tables carry as text, `bigint`: beside whole numbers, one of them), a number with a fraction,
 * or a list or object (`json`); `undefined` for null and anything not JSON-safe.
 */
export function kindOf(value: unknown): ValueKind | undefined {
  switch (typeof value) {
    case 'string':
      return isBigInt64Text(value) ? 'bigint' : 'string'
    case 'boolean':
      return 'boolean'
    case 'number':
      return Number.isSafeInteger(value) ? 'int' : 'double'
    case 'object':
      return value === null ? undefined : 'json'
    default:
      return undefined
  }
}
