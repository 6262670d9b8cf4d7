import { tmpdir } from 'node:os'
import { type EveryKey, refuseUnknownKeys } from '../../utils/known-keys.js'
import { TABLE_FORMATS, type TableFormat } from './format.js'

export type HashType = 'sha256' | 'md5'

/** How to read a table. Every field is optional; the defaults are below each. */
export interface TableOptions {
  /** Read every input as this format, whatever its name says (`.gz` still means gzip). @default from the name */
  readonly format?: TableFormat | undefined
  /** Column holding the image URL. @default 'url' */
  readonly urlCol?: string | undefined
  /** Column holding a caption, given as `caption` (an empty or null cell gives none). */
  readonly captionCol?: string | undefined
  /**
   * Columns carried to the outputs in `meta`, in this order. By default every column of the row
   * except the URL column (which `url` holds), in the file's order; the caption and hash columns
   * are carried too. A column named here is carried even if it is the URL column.
   */
  readonly columns?: readonly string[] | undefined
  /** Column holding the expected hash of each image (hex or base64); see `hashType`. */
  readonly hashCol?: string | undefined
  /** What `hashCol` holds. @default 'sha256' */
  readonly hashType?: HashType | undefined
  /** Where a gzip-compressed Parquet file is decompressed for reading (it needs random access). @default os.tmpdir() */
  readonly tempDir?: string | undefined
}

export interface ResolvedTableOptions {
  format: TableFormat | undefined
  urlCol: string
  captionCol: string | undefined
  columns: readonly string[] | undefined
  hashCol: string | undefined
  hashType: HashType
  tempDir: string
}

/** Every key of `TableOptions`: another is a typo (`captionColumn`), refused, not ignored. */
const TABLE_OPTION_NAMES = [
  'format',
  'urlCol',
  'captionCol',
  'columns',
  'hashCol',
  'hashType',
  'tempDir',
] as const satisfies readonly (keyof TableOptions)[]
const _everyTableOption: EveryKey<TableOptions, typeof TABLE_OPTION_NAMES> = true

/**
 * Whether `hashType` is given without `hashCol`, where it says what no column holds: no hash is
 * checked. Given is not `undefined` here; `openTables` takes the default (`'sha256'`) as not given.
 * The command line refuses `--hash-type` without `--hash-col` through this rule. Pure.
 */
export const hashTypeAlone = (given: Pick<TableOptions, 'hashType' | 'hashCol'>): boolean =>
  given.hashType !== undefined && given.hashCol === undefined

function columnName(name: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'string' || value === ''))
    throw new TypeError(`Expected \`${name}\` to be a non-empty column name, got ${JSON.stringify(value)}`)
}

/** Defaults filled in and every option checked: a bad one throws a `TypeError` naming it. */
export function resolveTableOptions(options: TableOptions = {}): ResolvedTableOptions {
  // A misspelt key (`captionColumn`, `hashcol`) left the caption out or the hash unchecked.
  refuseUnknownKeys(options, TABLE_OPTION_NAMES, 'table option')
  const { format, urlCol = 'url', captionCol, columns, hashCol, hashType = 'sha256' } = options
  if (format !== undefined && !TABLE_FORMATS.includes(format))
    throw new TypeError(
      `Expected \`format\` to be one of ${TABLE_FORMATS.join(', ')}, got ${JSON.stringify(format)}`,
    )
  columnName('urlCol', urlCol)
  columnName('captionCol', captionCol)
  columnName('hashCol', hashCol)
  if (columns !== undefined) {
    if (!Array.isArray(columns)) throw new TypeError('Expected `columns` to be an array of column names')
    for (const [i, c] of columns.entries()) columnName(`columns[${i}]`, c)
  }
  if (hashType !== 'sha256' && hashType !== 'md5')
    throw new TypeError(`Expected \`hashType\` to be 'sha256' or 'md5', got ${JSON.stringify(hashType)}`)
  if (hashTypeAlone({ hashType: hashType === 'sha256' ? undefined : hashType, hashCol }))
    throw new TypeError(
      `\`hashType\` (${JSON.stringify(hashType)}) says what \`hashCol\` holds: give \`hashCol\`, or leave \`hashType\` out`,
    )
  const tempDir = options.tempDir ?? tmpdir()
  if (typeof tempDir !== 'string' || tempDir === '')
    throw new TypeError('Expected `tempDir` to be a folder path')
  return { format, urlCol, captionCol, columns, hashCol, hashType, tempDir }
}

/**
 * Table options given for URL lists, which would be dropped without a word (a hash never checked):
 * the words of the usage error naming the first, or `undefined` when none is given. `inputs` are
 * the lists as given (`-` for standard input, a table there read with `--input-format`, by
 * `imgpull` and `imgpull enqueue` alike). Pure; both commands refuse it.
 */
export function tableOptionOnLists(
  table: TableOptions | undefined,
  inputs: readonly string[],
): string | undefined {
  const given = (
    [
      ['--input-format', table?.format],
      ['--url-col', table?.urlCol],
      ['--caption-col', table?.captionCol],
      ['--hash-col', table?.hashCol],
      ['--columns', table?.columns],
    ] as const
  ).find(([, value]) => value !== undefined)
  if (!given) return undefined
  const what = inputs.includes('-')
    ? 'standard input is read as a URL list (give --input-format if it is a table)'
    : `'${inputs[0]}' is read as a URL list (its name is no table's: give --input-format if it is one)`
  return `${given[0]} is for tables (CSV, TSV, JSON lines, Parquet): ${what}`
}
