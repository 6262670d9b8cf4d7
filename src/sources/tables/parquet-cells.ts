import type { FileMetaData, SchemaElement, SchemaTree } from 'hyparquet'
import { decimalValue } from './column-types.js'
import { jsonSafe, wallClock } from './values.js'

const PROTO = '__proto__'
/** The name a nested field `__proto__` is read under (no Parquet writer names a field so). */
const HELD = '\u0000__proto__'

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
    // Read as the list of key-value structs it is stored as (`exactCells` takes its annotation off):
    // hyparquet's map is an object whose keys are JS property names, a struct key '[object Object]'
    // (every entry but the last lost), a list key '1,2', a bytes key '1,255', a '__proto__' key the
    // object's prototype, a decimal or naive timestamp key unconverted.
    const entries = node.children[0]
    const [keyNode, valueNode] = entries.children
    const keyFix = nodeFix(keyNode)
    const valueFix = nodeFix(valueNode)
    return (value) => {
      const list =
        typeof value === 'object' && value !== null
          ? (value as Record<string, unknown>)[entries.element.name]
          : undefined
      if (!Array.isArray(list)) return value
      const out: Record<string, unknown> = {}
      for (const entry of list as Record<string, unknown>[]) {
        const k = entry[keyNode.element.name]
        const v = entry[valueNode.element.name]
        Object.defineProperty(out, mapKey(keyFix && k != null ? keyFix(k) : k), {
          value: v == null ? null : valueFix ? valueFix(v) : v,
          enumerable: true,
          writable: true,
          configurable: true,
        })
      }
      return out
    }
  }
  const fields = node.children.flatMap((child) => {
    const fix = nodeFix(child)
    return fix ? [[child.element.name, fix] as const] : []
  })
  const proto = node.children.some((child) => child.element.name === PROTO)
  if (fields.length === 0 && !proto) return undefined
  return (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value
    let out: Record<string, unknown> = { ...value }
    if (proto) {
      // A field `__proto__`, read under the name `exactCells` gave it, takes its own name back.
      out = {}
      for (const [name, v] of Object.entries(value)) {
        const own = name === HELD ? PROTO : name
        Object.defineProperty(out, own, { value: v, enumerable: true, writable: true, configurable: true })
      }
    }
    for (const [name, fix] of fields) {
      const v = out[name]
      if (v !== null && v !== undefined) out[name] = fix(v)
    }
    return out
  }
}

/**
 * A map key as a JSON object's key: text as it is; a number, integer or boolean as its digits or
 * word; any other (a struct, a list, bytes) as its carried value's JSON (bytes base64), as DuckDB's
 * `to_json` and Spark's write a key that is not text, so no two keys become one.
 */
function mapKey(key: unknown): string {
  const safe = jsonSafe(key)
  if (typeof safe === 'string') return safe
  return typeof safe === 'object' && safe !== null ? JSON.stringify(safe) : String(safe)
}

/** The map groups (`MAP`, `MAP_KEY_VALUE`) among `nodes` and their descendants. */
function mapElements(nodes: readonly SchemaTree[], into = new Set<SchemaElement>()): Set<SchemaElement> {
  for (const node of nodes) {
    if (isMap(node)) into.add(node.element)
    mapElements(node.children, into)
  }
  return into
}

/**
 * What a Parquet file's columns need beyond hyparquet's decoding, and the metadata to decode them
 * with: hyparquet turns a DECIMAL into a double (`12345678901234567890` into
 * `12345678901234567000`), so every decimal, nested ones included, is read raw (its annotation
 * taken off) and carried exactly (`decimalValue`); a timestamp without a zone loses its `Z`; a map
 * is read as its key-value entries (its annotation taken off too) and made an object here, each key
 * its own (`mapKey`). `fixes` has a converter for each top-level column that needs one.
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
  const maps = mapElements(children)
  const protos = protoElements(children.flatMap((child) => child.children))
  const raw = (element: SchemaElement) => decimalOf(element) !== undefined || maps.has(element)
  if (!metadata.schema.some((element) => raw(element) || protos.has(element))) return { metadata, fixes }
  const schema = metadata.schema.map((element) => {
    const bare = raw(element) ? { ...element, converted_type: undefined, logical_type: undefined } : element
    return protos.has(element) ? { ...bare, name: HELD } : bare
  })
  if (protos.size === 0) return { metadata: { ...metadata, schema }, fixes }
  // The chunks' paths name the field as the schema now does.
  const row_groups = metadata.row_groups.map((group) => ({
    ...group,
    columns: group.columns.map((chunk) =>
      chunk.meta_data
        ? {
            ...chunk,
            meta_data: {
              ...chunk.meta_data,
              path_in_schema: chunk.meta_data.path_in_schema.map((part, i) =>
                i > 0 && part === PROTO ? HELD : part,
              ),
            },
          }
        : chunk,
    ),
  }))
  return { metadata: { ...metadata, schema, row_groups }, fixes }
}

/**
 * Fields named `__proto__` among `nodes` (below the top level) and their descendants: hyparquet
 * builds a struct as an object by assignment, which makes such a field the object's prototype,
 * its values lost; `exactCells` gives them another name to be read under.
 */
function protoElements(nodes: readonly SchemaTree[], into = new Set<SchemaElement>()): Set<SchemaElement> {
  for (const node of nodes) {
    if (node.element.name === PROTO) into.add(node.element)
    protoElements(node.children, into)
  }
  return into
}
