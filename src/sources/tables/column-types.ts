import type { SchemaTree } from 'hyparquet'
import type { CarriedType } from '../../types.js'
import { decimalText, jsonSafe, type ValueKind as Kind, kindOf } from './values.js'

/**
 * The types carried columns take in a shard's Parquet, decided once for a run from what the tables
 * show before they are read (a Parquet schema, a CSV header, a JSON lines file's first lines), not
 * from each shard's values: a column null in all rows of one shard, or whole numbers in one shard
 * of a DOUBLE column, would otherwise be STRING or INT64 there and DOUBLE elsewhere, and pyarrow's
 * dataset reader, pandas, Spark and Hugging Face `datasets` refuse shards whose schemas differ.
 */
export type ColumnTypes = Record<string, CarriedType>

/**
 * A Parquet column's type as a shard carries it (see `jsonSafe`): dates, times, timestamps, binary
 * and UUIDs become text, decimals doubles, lists, maps and structs JSON, unsigned 64-bit integers
 * (pandas' `uint64`, DuckDB's `UBIGINT`) text, exact: INT64 holds half their range, and typed
 * from each shard's values they were INT64 in one shard, text in the next and JSON where both
 * met. `undefined` for one whose values say more than its schema (BSON, INTERVAL...): such a
 * column is typed from its values, as a library source's are.
 */
export function parquetColumnType(node: SchemaTree): CarriedType | undefined {
  const { element } = node
  if (node.children.length > 0 || element.repetition_type === 'REPEATED') return 'JSON'
  const logical = element.logical_type
  const converted = element.converted_type
  switch (logical?.type) {
    case 'STRING':
    case 'ENUM':
    case 'UUID':
    case 'DATE':
    case 'TIME':
    case 'TIMESTAMP':
      return 'STRING'
    case 'JSON':
      return 'JSON'
    // pyarrow's null type (pandas' all-None column): null in every row, text as a JSON lines
    // column of nulls only; typed from each shard's values, it was missing where no row had it.
    case 'NULL':
      return 'STRING'
    case 'DECIMAL':
      return decimalType(logical.precision, logical.scale)
    case 'FLOAT16':
      return 'DOUBLE'
    case 'INTEGER':
      return logical.bitWidth === 64 && !logical.isSigned ? 'STRING' : 'INT64'
    case undefined:
      break
    default:
      return undefined
  }
  switch (converted) {
    case 'UTF8':
    case 'ENUM':
    case 'DATE':
    case 'TIME_MILLIS':
    case 'TIME_MICROS':
    case 'TIMESTAMP_MILLIS':
    case 'TIMESTAMP_MICROS':
    case 'UINT_64':
      return 'STRING'
    case 'JSON':
      return 'JSON'
    case 'DECIMAL':
      return decimalType(element.precision ?? 0, element.scale ?? 0)
    case 'INT_8':
    case 'INT_16':
    case 'INT_32':
    case 'INT_64':
    case 'UINT_8':
    case 'UINT_16':
    case 'UINT_32':
      return 'INT64'
    case undefined:
      break
    default:
      return undefined
  }
  switch (element.type) {
    case 'BOOLEAN':
      return 'BOOLEAN'
    case 'INT32':
    case 'INT64':
      return 'INT64'
    case 'FLOAT':
    case 'DOUBLE':
      return 'DOUBLE'
    case 'INT96': // legacy timestamps
    case 'BYTE_ARRAY': // bytes without a text annotation: base64
    case 'FIXED_LEN_BYTE_ARRAY':
      return 'STRING'
    default:
      return undefined
  }
}

/**
 * How a Parquet DECIMAL(precision, scale) column is carried, so that no digit is lost: whole
 * numbers that INT64 holds (scale 0, at most 18 digits: ids Spark, BigQuery and Oracle exports
 * write as decimals) INT64; decimals of at most 15 digits, which a double gives back exactly,
 * DOUBLE; any other (Spark's `decimal(38,18)`, BigQuery's NUMERIC, `decimal(20,0)` ids past
 * INT64) STRING, its exact decimal text (`decimalText`).
 */
export function decimalType(precision: number, scale: number): CarriedType {
  if (scale === 0 && precision <= 18) return 'INT64'
  return precision <= 15 ? 'DOUBLE' : 'STRING'
}

/** A DECIMAL cell as its column carries it (`decimalType`): a whole number, a double, or its exact text. */
export function decimalValue(raw: unknown, precision: number, scale: number): unknown {
  const text = decimalText(raw, scale)
  if (text === null) return null
  const type = decimalType(precision, scale)
  return type === 'INT64' ? jsonSafe(BigInt(text)) : type === 'DOUBLE' ? Number(text) : text
}

/** How a top-level number of a JSON line is written, where its value alone does not say it (`writtenNumbers`). */
export type WrittenNumber = 'double' | 'int'

/**
 * Tallies the kinds of a JSON lines file's values by column over its first lines, for the type of
 * each (`types`): only strings STRING, only booleans BOOLEAN, only whole numbers INT64, numbers
 * with a fraction among them DOUBLE, lists and objects JSON; a column of several kinds, or of
 * nulls only, STRING (any value later rows hold can be written as text).
 */
export class KindTally {
  readonly #kinds = new Map<string, Set<Kind>>()

  /**
   * `written`: keys whose number is written as a double (`1.0`) or as an integer past 2^53, whose
   * value is its digits (see `writtenNumbers`).
   */
  add(object: Record<string, unknown>, written?: ReadonlyMap<string, WrittenNumber>): void {
    for (const [key, value] of Object.entries(object)) {
      const kinds = this.#kinds.get(key) ?? new Set<Kind>()
      this.#kinds.set(key, kinds)
      const kind = written?.get(key) ?? kindOf(value)
      if (kind) kinds.add(kind)
    }
  }

  types(): ColumnTypes {
    const types: ColumnTypes = {}
    for (const [key, kinds] of this.#kinds) setType(types, key, typeOfKinds(kinds))
    return types
  }
}

function typeOfKinds(found: ReadonlySet<Kind>): CarriedType {
  const kinds = new Set(found)
  // Digits past 2^53 as text (a JSON string; a number is `int`, see `writtenNumbers`) are a whole
  // number beside whole numbers, else text (a column of long ids written as strings).
  if (kinds.delete('bigint')) kinds.add(kinds.has('int') ? 'int' : 'string')
  if (kinds.size === 1) {
    const [kind] = kinds
    return kind === 'boolean'
      ? 'BOOLEAN'
      : kind === 'int'
        ? 'INT64'
        : kind === 'double'
          ? 'DOUBLE'
          : kind === 'json'
            ? 'JSON'
            : 'STRING'
  }
  if (kinds.size === 2 && kinds.has('int') && kinds.has('double')) return 'DOUBLE'
  return kinds.has('json') ? 'JSON' : 'STRING'
}

/**
 * The type of a column that files of one run give two types (a folder of tables): whole numbers
 * and doubles are DOUBLE; JSON beside anything, JSON; other pairs, STRING (each value as text).
 */
export function mergeType(a: CarriedType, b: CarriedType): CarriedType {
  if (a === b) return a
  if ((a === 'INT64' && b === 'DOUBLE') || (a === 'DOUBLE' && b === 'INT64')) return 'DOUBLE'
  return a === 'JSON' || b === 'JSON' ? 'JSON' : 'STRING'
}

/** Set `types[name]` (a column named `__proto__` is a column, not the object's prototype). */
export function setType(types: ColumnTypes, name: string, type: CarriedType): void {
  Object.defineProperty(types, name, { value: type, enumerable: true, writable: true, configurable: true })
}

/**
 * The types of the columns of every file, merged (`mergeType`) in first-seen order; `undefined`
 * when a file's are unknown before it is read (a gzip-compressed Parquet file): its columns might
 * take other types, and a shard's then come from its values.
 */
export function runColumnTypes(files: readonly (ColumnTypes | undefined)[]): ColumnTypes | undefined {
  const types: ColumnTypes = {}
  for (const file of files) {
    if (file === undefined) return undefined
    for (const [name, type] of Object.entries(file))
      setType(types, name, Object.hasOwn(types, name) ? mergeType(types[name], type) : type)
  }
  return types
}
