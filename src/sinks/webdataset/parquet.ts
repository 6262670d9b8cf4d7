import { parquetWriteBuffer } from 'hyparquet-writer'
import { OWN_COLUMNS, type OwnColumn, type SampleRow } from './row.js'

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

type Kind = 'string' | 'boolean' | 'int' | 'double' | 'json'

function kindOf(value: unknown): Kind {
  switch (typeof value) {
    case 'string':
      return 'string'
    case 'boolean':
      return 'boolean'
    case 'number':
      return Number.isSafeInteger(value) ? 'int' : 'double'
    default:
      return 'json'
  }
}

const TYPE_OF_KIND: Record<Kind, ColumnType> = {
  string: 'STRING',
  boolean: 'BOOLEAN',
  int: 'INT64',
  double: 'DOUBLE',
  json: 'JSON',
}

/**
 * The type of a carried column, from its values (JSON-safe: tables carry them so). Strings are
 * STRING, booleans BOOLEAN, whole numbers INT64, numbers with a fraction DOUBLE (a column of both:
 * DOUBLE), a column of nulls STRING; lists, objects and columns of mixed kinds are JSON text
 * (Parquet's JSON type). Inferred per shard, so one column may take two types in two shards (whole
 * numbers in one, fractions in another): readers that merge schemas (DuckDB's `union_by_name`,
 * pyarrow's `unify_schemas`) read them together.
 */
export function carriedType(values: Iterable<unknown>): ColumnType {
  let kind: Kind | undefined
  for (const value of values) {
    if (value === null || value === undefined) continue
    const k = kindOf(value)
    if (kind === undefined || kind === k) kind = k
    else if ((kind === 'int' && k === 'double') || (kind === 'double' && k === 'int')) kind = 'double'
    else return 'JSON'
  }
  return kind === undefined ? 'STRING' : TYPE_OF_KIND[kind]
}

/** The carried columns of a shard's rows: their names in first-seen order. */
function carriedNames(rows: readonly SampleRow[]): string[] {
  const own = new Set<string>(OWN_COLUMNS)
  const names = new Set<string>()
  for (const row of rows) for (const name of Object.keys(row.columns)) if (!own.has(name)) names.add(name)
  return [...names]
}

function cells(rows: readonly SampleRow[], name: string): unknown[] {
  return rows.map((row) => (Object.hasOwn(row.columns, name) ? row.columns[name] : null) ?? null)
}

/**
 * A shard's `.parquet`: one row per input row in sample order, failures included; imgpull's own
 * columns (`OWN_COLUMNS`, types fixed) then the carried ones (types from `carriedType`). One row
 * group, Snappy-compressed, no timestamps: the same rows give the same bytes.
 */
export function shardParquet(rows: readonly SampleRow[]): Uint8Array {
  const columnData = OWN_COLUMNS.map((name) => ({
    name,
    data: cells(rows, name),
    type: OWN_TYPES[name],
    nullable: name !== 'key',
  }))
  const carried = carriedNames(rows).map((name) => {
    const data = cells(rows, name)
    const type = carriedType(data)
    return {
      name,
      data: type === 'INT64' ? data.map((v) => (v === null ? null : BigInt(v as number))) : data,
      type,
    }
  })
  const buffer = parquetWriteBuffer({
    columnData: [...columnData, ...carried],
    rowGroupSize: Math.max(1, rows.length),
    createdBy: 'imgpull',
  })
  return new Uint8Array(buffer)
}
