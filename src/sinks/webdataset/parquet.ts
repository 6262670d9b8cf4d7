import { parquetWriteBuffer } from 'hyparquet-writer'
import { type ValueKind as Kind, kindOf } from '../../sources/tables/values.js'
import type { CarriedType } from '../../types.js'
import { fitted } from './fitted.js'
import { foldedName, OWN_COLUMNS, type OwnColumn, type SampleRow } from './row.js'

/** The Parquet types a shard's columns take (hyparquet-writer's basic types). */
export type ColumnType = 'STRING' | 'INT32' | 'INT64' | 'DOUBLE' | 'BOOLEAN' | 'JSON'

const OWN_TYPES: Record<OwnColumn, ColumnType> = {
  key: 'STRING',
  url: 'STRING',
  caption: 'STRING',
  status: 'STRING',
  error_code: 'STRING',
  error_message: 'STRING',
  http_status: 'INT32',
  width: 'INT32',
  height: 'INT32',
  original_width: 'INT32',
  original_height: 'INT32',
  sha256: 'STRING',
}

const TYPE_OF_KIND: Record<Kind, ColumnType> = {
  string: 'STRING',
  boolean: 'BOOLEAN',
  int: 'INT64',
  double: 'DOUBLE',
  json: 'JSON',
  // Alone, digits past 2^53 are text still (a CSV column of long ids); beside whole numbers, an
  // INT64 column's large values (see `carriedType`).
  bigint: 'STRING',
}

/**
 * The type of a carried column, from its values (JSON-safe: tables carry them so). Strings are
 * STRING, booleans BOOLEAN, whole numbers INT64 (with the ones past 2^53 that tables carry as
 * text: a Parquet INT64 column such as LAION's `hash`, whose values mix both, stays INT64 and
 * exact), numbers with a fraction DOUBLE (a column of both: DOUBLE), a column of nulls STRING; lists, objects and columns of mixed kinds are JSON text
 * (Parquet's JSON type). Only for columns whose types the source does not declare
 * (`Source.columnTypes`): inferred per shard, one column may take two types in two shards.
 */
export function carriedType(values: Iterable<unknown>): ColumnType {
  let kind: Kind | undefined
  for (const value of values) {
    if (value === null || value === undefined) continue
    // A value not JSON-safe cannot come from a table; were one given, it is written as JSON text.
    const k = kindOf(value) ?? 'json'
    if (kind === undefined || kind === k) kind = k
    else if ((kind === 'int' && k === 'double') || (kind === 'double' && k === 'int')) kind = 'double'
    else if ((kind === 'int' && k === 'bigint') || (kind === 'bigint' && k === 'int')) kind = 'int'
    else if (kind === 'bigint' && k === 'string') kind = 'string'
    else if (kind === 'string' && k === 'bigint') continue
    else return 'JSON'
  }
  return kind === undefined ? 'STRING' : TYPE_OF_KIND[kind]
}

/**
 * Rows per row group. Encoding a row group takes memory in proportion to it: 2,000 rows of a
 * dataset's usual width take about 3 MB where 10,000 in one group take 20 (measured with
 * hyparquet-writer 0.17), and a shard's file is small enough that readers lose nothing by it.
 */
const ROW_GROUP = 2_000

/**
 * A shard's table, built row by row in sample order: one array per column, imgpull's own columns
 * (`OWN_COLUMNS`, types fixed), the `declared` ones (the source's: `Source.columnTypes`) in their
 * order and of their types whether or not a row of this shard has them, then other carried ones in
 * first-seen order, typed from their values (`carriedType`); null where a row lacks a column. A
 * carried one named like an own column but for case (LAION's `WIDTH`), or like an earlier carried
 * one but for case (`note` after `Note`), or named `""`, is left out, and so is one
 * not among `only` when it is given (`Source.parquetColumns`: a JSON lines key first seen past the
 * lines a run's columns were read from would be a column of some shards and not others). Only the
 * values are kept, not the rows (a shard's worth; the rows file holds the rest).
 */
export class ShardTable {
  readonly #columns = new Map<string, unknown[]>(OWN_COLUMNS.map((name) => [name, []]))
  /** The columns' names as readers that ignore case match them (`foldedName`). */
  readonly #folded = new Set<string>(OWN_COLUMNS)
  readonly #declared: Readonly<Record<string, CarriedType>>
  readonly #only: ReadonlySet<string> | undefined
  #rows = 0

  constructor(declared: Readonly<Record<string, CarriedType>> = {}, only?: readonly string[]) {
    this.#declared = declared
    this.#only = only && new Set(only)
    for (const name of Object.keys(declared)) if (!this.#twin(name)) this.#column(name, [])
  }

  get rows(): number {
    return this.#rows
  }

  add(row: SampleRow): void {
    const { columns, nonFinite } = row
    // NaN and ±Infinity, null in the row's JSON, are the numbers themselves here (a DOUBLE holds them).
    const value = (name: string) =>
      nonFinite && Object.hasOwn(nonFinite, name) ? Number(nonFinite[name]) : (columns[name] ?? null)
    for (const [name, values] of this.#columns) values.push(Object.hasOwn(columns, name) ? value(name) : null)
    for (const name of Object.keys(columns)) {
      if (this.#twin(name) || (this.#only && !this.#only.has(name))) continue
      const values: unknown[] = new Array(this.#rows).fill(null)
      values.push(value(name))
      this.#column(name, values)
    }
    this.#rows++
  }

  /**
   * Whether `name` is a column already, or one's but for case: DuckDB and Spark read column names
   * without case, so `WIDTH` beside `width` would be read as it, and `note` beside `Note` is
   * DuckDB's `note_1` (its 1.0 refused the file, duckdb/duckdb#13053) where hyparquet reads
   * `note`. Or it is no name (`""`, a JSON lines key), which DuckDB reads as `C12`.
   */
  #twin(name: string): boolean {
    return name === '' || this.#columns.has(name) || this.#folded.has(foldedName(name))
  }

  #column(name: string, values: unknown[]): void {
    this.#columns.set(name, values)
    this.#folded.add(foldedName(name))
  }

  /**
   * The table as a shard's `.parquet`: row groups of `ROW_GROUP` rows, Snappy-compressed, no
   * timestamps: the same rows give the same bytes.
   */
  parquet(): Uint8Array {
    const own = new Set<string>(OWN_COLUMNS)
    const columnData = [...this.#columns].map(([name, data]) => {
      if (own.has(name)) {
        const type = OWN_TYPES[name as OwnColumn]
        return { name, data: type === 'INT32' ? data.map(int32) : data, type, nullable: name !== 'key' }
      }
      if (Object.hasOwn(this.#declared, name)) {
        const type = this.#declared[name]
        return { name, data: data.map((value) => fitted(value, type)), type }
      }
      const type = carriedType(data)
      return {
        name,
        data: type === 'INT64' ? data.map((v) => (v === null ? null : BigInt(v as number | string))) : data,
        type,
      }
    })
    return new Uint8Array(parquetWriteBuffer({ columnData, rowGroupSize: ROW_GROUP, createdBy: 'imgpull' }))
  }
}

/**
 * `value` as an INT32 column holds it: null past int32's range. An own column's sizes are the
 * file's, and a TIFF's LONG width or an SVG's `width` can pass 2^31 - 1 (hyparquet-writer threw at
 * sealing, and the shard was never written); the sample's `.json` and the manifest keep the value.
 */
function int32(value: unknown): unknown {
  return typeof value === 'number' && !(Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31)
    ? null
    : value
}

/** A shard's `.parquet` from its rows, in sample order (see `ShardTable`). */
export function shardParquet(
  rows: Iterable<SampleRow>,
  declared?: Readonly<Record<string, CarriedType>>,
  only?: readonly string[],
): Uint8Array {
  const table = new ShardTable(declared, only)
  for (const row of rows) table.add(row)
  return table.parquet()
}

export { fitted }
