import { isBigInt64Text } from '../../sources/tables/values.js'
import type { CarriedType } from '../../types.js'

/**
 * `value` as a column of `type` holds it: any scalar as text in a STRING column (an object as its
 * JSON), whole numbers (and the digits past 2^53 tables carry as text) as INT64. A value that does
 * not fit (a fraction in an INT64 column, text in a DOUBLE one: a JSON lines row unlike the lines
 * its column's type was read from) is null there; the sample's `.json` keeps it as it is.
 */
export function fitted(value: unknown, type: CarriedType): unknown {
  if (value === null || value === undefined) return null
  switch (type) {
    case 'STRING':
      return typeof value === 'string'
        ? value
        : typeof value === 'object'
          ? JSON.stringify(value)
          : String(value)
    case 'JSON':
      return value
    case 'INT64':
      if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : null
      return typeof value === 'string' && isBigInt64Text(value) ? BigInt(value) : null
    case 'DOUBLE':
      return typeof value === 'number' ? value : null
    case 'BOOLEAN':
      return typeof value === 'boolean' ? value : null
  }
}
