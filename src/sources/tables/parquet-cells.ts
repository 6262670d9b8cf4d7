import type { FileMetaData, SchemaElement, SchemaTree } from 'hyparquet'
import { decimalValue } from './column-types.js'
import { wallClock } from './values.js'

/** A converter of one column's decoded values, leaves and nested ones alike. */
type Fix = (value: unknown) => unknown

function decimalOf(element: SchemaElement): { precision: number; scale: number } | undefined {
  const logical = element.logical_type
  if (logical?.type === 'DECIMAL') return { precision: logical.precision, scale: logical.scale }
  if (element.converted_type === 'DECIMAL')
    return { precision: element.precision ?? 0, scale: element.scale ?? 0 }
  return undefined
}

/** The converter of a leaf, or `undefined` when its value is carried as hyparquet gives it. */
function leafFix(element: SchemaElement): Fix | undefined {
  const decimal = decimalOf(element)
  if (decimal) return (value) => decimalValue(value, decimal.precision, decimal.scale)
  // A TIMESTAMP not adjusted to UTC (pandas' and Spark's naive datetimes, DuckDB's TIMESTAMP) is a
  // wall-clock time in no zone: carried without the `Z` that would say it is UTC.
  const logical = element.logical_type
  if (logical?.type === 'TIMESTAMP' && !logical.isAdjustedToUTC) return wallClock
  return undefined
}

const isList = (node: SchemaTree) =>
  node.element.converted_type === 'LIST' &&
  node.children.length === 1 &&
  node.children[0].element.repetition_type === 'REPEATED'

const isMap = (node: SchemaTree) =>
  (node.element.converted_type === 'MAP' || node.element.converted_type === 'MAP_KEY_VALUE') &&
  node.children.length === 1 &&
  node.children[0].children.length === 2

/**
 * The converter of a column's values as hyparquet assembles them (a list an array, a map an object
 * or `Map`, a struct an object), reaching the leaves that `leafFix` converts; `undefined` when the
 * column has none, so the common column costs nothing.
 */
function nodeFix(node: SchemaTree): Fix | undefined {
  const repeated = node.element.repetition_type === 'REPEATED'
  const one = node.children.length === 0 ? leafFix(node.element) : groupFix(node)
  if (!one || !repeated) return one
  return (value) => (Array.isArray(value) ? value.map(one) : one(value))
}

function groupFix(node: SchemaTree): Fix | undefined {
  if (isList(node)) {
    const items = node.children[0]
    const element =
      items.children.length === 1
        ? items.children[0]
        : { ...items, element: { ...items.element, repetition_type: 'REQUIRED' as const } }
    const fix = nodeFix(element)
    return fix && ((value) => (Array.isArray(value) ? value.map((v) => (v == null ? v : fix(v))) : value))
  }
  if (isMap(node)) {
    const fix = nodeFix(node.children[0].children[1])
    if (!fix) return undefined
    return (value) => {
      if (value instanceof Map) return new Map(Array.from(value, ([k, v]) => [k, v == null ? v : fix(v)]))
      if (typeof value !== 'object' || value === null) return value
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, v == null ? v : fix(v)]))
    }
  }
  const fields = node.children.flatMap((child) => {
    const fix = nodeFix(child)
    return fix ? [[child.element.name, fix] as const] : []
  })
  if (fields.length === 0) return undefined
  return (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value
    const out: Record<string, unknown> = { ...value }
    for (const [name, fix] of fields) {
      const v = out[name]
      if (v !== null && v !== undefined) out[name] = fix(v)
    }
    return out
  }
}

/**
 * What a Parquet file's columns need beyond hyparquet's decoding, and the metadata to decode them
 * with: hyparquet turns a DECIMAL into a double (`12345678901234567890` into
 * `12345678901234567000`), so every decimal, nested ones included, is read raw (its annotation
 * taken off) and carried exactly (`decimalValue`); a timestamp without a zone loses its `Z`.
 * `fixes` has a converter for each top-level column that needs one.
 */
export function exactCells(
  metadata: FileMetaData,
  children: readonly SchemaTree[],
): { metadata: FileMetaData; fixes: Map<string, Fix> } {
  const fixes = new Map<string, Fix>()
  for (const child of children) {
    const fix = nodeFix(child)
    if (fix)
      fixes.set(child.element.name, (value) => (value === null || value === undefined ? null : fix(value)))
  }
  if (!metadata.schema.some((element) => decimalOf(element))) return { metadata, fixes }
  const schema = metadata.schema.map((element) =>
    decimalOf(element) ? { ...element, converted_type: undefined, logical_type: undefined } : element,
  )
  return { metadata: { ...metadata, schema }, fixes }
}
