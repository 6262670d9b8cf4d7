import type { SchemaTree } from 'hyparquet'
import { UsageError } from '../../errors.js'
import { inputWord } from '../pipe-list.js'
import { DIGEST_BYTES } from './hash.js'
import type { HashType } from './options.js'

/**
 * What a Parquet column is, where it cannot hold URLs: `list`, `map`, `struct`, or its type
 * (`INT32`, `INT64`, `TIMESTAMP`, `DATE`, `DOUBLE`, `BOOLEAN`, `DECIMAL`, `UUID`...); `undefined`
 * for text, and for what is read as text: BINARY without an annotation (Hive's and Impala's
 * strings), ENUM and JSON (whose string values are URLs like any).
 */
export function notTextColumn(node: SchemaTree): string | undefined {
  const { element } = node
  const logical = element.logical_type?.type
  const converted = element.converted_type
  if (node.children.length > 0 || element.repetition_type === 'REPEATED') {
    if (logical === 'LIST' || converted === 'LIST' || element.repetition_type === 'REPEATED') return 'list'
    if (logical === 'MAP' || converted === 'MAP' || converted === 'MAP_KEY_VALUE') return 'map'
    return 'struct'
  }
  if (element.type === 'BYTE_ARRAY')
    return logical === 'DECIMAL' || converted === 'DECIMAL' ? 'DECIMAL' : undefined
  // An integer's annotation (INTEGER, INT_32, UINT_8...) says less than its physical type.
  const integer = logical === 'INTEGER' || /^U?INT_/.test(converted ?? '')
  return integer ? element.type : (logical ?? converted ?? element.type)
}

/**
 * A `UsageError` when the URL column of a Parquet file, found in its schema's top-level
 * `children`, cannot hold URLs (`notTextColumn`): every row would fail as `invalid-url`, and
 * nothing be fetched, for a column named by mistake (`--url-col id`) or a row of several URLs (a
 * list: one row per URL is what a job is). A column not in the schema is `planColumns`' to name.
 */
export function checkUrlColumn(path: string, children: readonly SchemaTree[], url: string): void {
  const node = children.find((child) => child.element.name === url)
  // No such column, or that one: images held in the file, not linked (Hugging Face's Image).
  const embedded = node ? (isEmbeddedImage(node) ? node : undefined) : children.find(isEmbeddedImage)
  if (embedded) throw embeddedImages(path, embedded.element.name, node ? undefined : url)
  const type = node && notTextColumn(node)
  if (type === undefined) return
  const what = type === 'list' || type === 'map' || type === 'struct' ? `a ${type} column` : `of type ${type}`
  const field = type === 'struct' && node ? urlField(node) : undefined
  const fix =
    type === 'list'
      ? `: a row of several URLs needs one row per URL (pandas: df.explode(${JSON.stringify(url)}); DuckDB: unnest)`
      : field !== undefined
        ? // --url-col names top-level columns: the field is reached by making it one.
          `: its field ${JSON.stringify(field)} holds text; make it a column of its own first, e.g. duckdb -c "COPY (SELECT ${sqlName(url)}.${sqlName(field)} AS url, * FROM 'in.parquet') TO 'flat.parquet'"`
        : ': name the column that holds the URLs with --url-col'
  throw new UsageError(
    `${inputWord(path)}: the URL column ${JSON.stringify(url)} is ${what}, not text, so every row would fail as invalid-url${fix}`,
  )
}

/**
 * Whether a column is Hugging Face datasets' `Image` (or `Audio`) feature as Parquet stores it: a
 * struct of `bytes` (the file itself, BINARY) and `path` (the name of the file it came from, text),
 * the shape `datasets` writes (huggingface/datasets#4987 embeds the bytes) and the Hub's viewer
 * reads (mlcommons/croissant#689).
 */
function isEmbeddedImage(node: SchemaTree): boolean {
  if (node.children.length !== 2 || notTextColumn(node) !== 'struct') return false
  const bytes = node.children.find((c) => c.element.name === 'bytes')
  const path = node.children.find((c) => c.element.name === 'path')
  return bytes?.element.type === 'BYTE_ARRAY' && path !== undefined && notTextColumn(path) === undefined
}

/**
 * The error for a table whose images are in its `column` (`isEmbeddedImage`), named by
 * `--url-col`, or found where the URL column (`missing`) is not: it was "a struct column, not text ... name
 * the column that holds the URLs", or "did you mean --url-col" that column, which no column is.
 */
function embeddedImages(path: string, column: string, missing: string | undefined): UsageError {
  const flat = `duckdb -c "COPY (SELECT ${sqlName(column)}.path AS url, * EXCLUDE (${sqlName(column)}) FROM 'in.parquet') TO 'flat.parquet'"`
  return new UsageError(
    `${inputWord(path)}${missing === undefined ? ': the URL column' : ` has no column ${JSON.stringify(missing)} (the URL column); its column`} ${JSON.stringify(column)} is Hugging Face datasets' Image struct {bytes, path}: the images are in the file itself (its bytes), not links to fetch; where its path field holds URLs, make it a column of its own first, e.g. ${flat}`,
  )
}

/**
 * The text field of a struct column most likely to hold its URLs (`image.url`, `photo.src`: a
 * record nested as an API or a crawler gives it); `undefined` for none. `--url-col image` was
 * refused with "name the column that holds the URLs", which no column of the file is.
 */
function urlField(node: SchemaTree): string | undefined {
  const text = node.children.filter((child) => notTextColumn(child) === undefined).map((c) => c.element.name)
  return (
    text.find((name) => /^(url|uri|href|src|link)$/i.test(name)) ??
    text.find((name) => /url|uri|href|src|link/i.test(name))
  )
}

/** A name as DuckDB's SQL takes it: bare when it is a plain word, else in double quotes. */
export const sqlName = (name: string) =>
  /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`

/**
 * A `UsageError` when the `--hash-col` column of a Parquet file cannot hold a digest: one of
 * numbers (LAION's `hash`, an INT64 of its own, not a digest of the image), dates, lists... made
 * every row fail as `invalid-hash` after the whole table was read, nothing fetched. Text and bytes
 * are judged cell by cell (`parseExpectedHash`); fixed-length bytes hold a raw digest, so their
 * length must be the digest's.
 */
export function checkHashColumn(
  path: string,
  children: readonly SchemaTree[],
  hash: string,
  type: HashType,
): void {
  const node = children.find((child) => child.element.name === hash)
  if (node === undefined) return
  const kind = notTextColumn(node)
  const { element } = node
  const fixed = element.type === 'FIXED_LEN_BYTE_ARRAY' && node.children.length === 0 && kind !== 'DECIMAL'
  if (kind === undefined || (fixed && element.type_length === DIGEST_BYTES[type])) return
  const what = fixed
    ? `of ${element.type_length}-byte values, not the ${DIGEST_BYTES[type]} bytes of ${type === 'md5' ? 'an' : 'a'} ${type}`
    : kind === 'list' || kind === 'map' || kind === 'struct'
      ? `a ${kind} column, not text or bytes`
      : `of type ${kind}, not text or bytes`
  const number = /^(INT|UINT|DOUBLE|FLOAT|DECIMAL)/.test(kind ?? '')
    ? ': a number is no digest of an image'
    : ''
  throw new UsageError(
    `${inputWord(path)}: the hash column ${JSON.stringify(hash)} is ${what}, so every row would fail as invalid-hash${number}; --hash-col names a column of ${type} digests (hex, base64 or the digest's bytes), or leave it out`,
  )
}
