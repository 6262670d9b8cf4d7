import { type Command, Option } from 'commander'
import { UsageError } from '../errors.js'
import { hashTypeAlone, type TableOptions } from '../sources/tables/options.js'

/** Options for tables as input (CSV, TSV, JSON lines, Parquet): the columns img2dataset users name. */
export function addTableOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--input-format <format>',
        'read every input as this kind of table (default: from the file name); gzip and UTF-16 are told by the bytes: Excel\'s "Unicode Text" .txt is tsv',
      ).choices(['csv', 'tsv', 'jsonl', 'parquet']),
    )
    .option(
      '--url-col <name>',
      "tables: the column holding the image's URL (default: url); column options name top-level columns (meta.url is not looked up inside meta)",
    )
    .option('--caption-col <name>', 'tables: the column holding a caption')
    .option(
      '--columns <names>',
      "tables: the columns carried to the outputs, comma-separated (default: all but the URL column and pandas' __index_level_N__)",
    )
    .option(
      '--hash-col <name>',
      "tables: a column holding each image's expected hash (a mismatch is not kept)",
    )
    .addOption(
      new Option('--hash-type <type>', 'what --hash-col holds (default: sha256)').choices(['sha256', 'md5']),
    )
}

/** The table options from parsed command-line options. */
export function tableFrom(o: Record<string, unknown>): TableOptions {
  if (
    hashTypeAlone({
      hashType: o.hashType as TableOptions['hashType'],
      hashCol: o.hashCol as string | undefined,
    })
  )
    throw new UsageError('--hash-type says what --hash-col holds: give --hash-col, or leave --hash-type out')
  const columns = o.columns === undefined ? undefined : columnList(o.columns as string)
  return {
    format: o.inputFormat as TableOptions['format'],
    urlCol: o.urlCol as string | undefined,
    captionCol: o.captionCol as string | undefined,
    columns,
    hashCol: o.hashCol as string | undefined,
    hashType: o.hashType as TableOptions['hashType'],
  }
}

/** A name in quotes, as Python and JSON write a string: `'a'`, `"a"`. */
const QUOTED = /^(['"]).*\1$/s

/**
 * `--columns a,b` as names. img2dataset's `--save_additional_columns` takes a Python list,
 * `'[a,b]'` or `"['a','b']"`, which read as names were `[a` and `b]`, or `'a'` with its quotes:
 * a column no table has, refused as such with the table's columns listed, not as the spelling
 * it is. Refused here, with imgpull's spelling.
 */
export function columnList(value: string): string[] {
  const names = value
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean)
  const listed = /^[[(].*[\])]$/s.test(value.trim())
  if (!listed && !names.some((name) => QUOTED.test(name))) return names
  const bare = (listed ? value.trim().slice(1, -1) : value)
    .split(',')
    .map((c) => c.trim().replace(QUOTED, (quoted) => quoted.slice(1, -1)))
    .filter(Boolean)
  const given = value.includes("'") ? `"${value}"` : `'${value}'`
  throw new UsageError(
    `--columns ${given} is ${listed ? 'a Python list' : 'names in quotes'}, as img2dataset's --save_additional_columns takes them; imgpull's is --columns ${bare.length ? bare.join(',') : "''"} (comma-separated names, without brackets or quotes)`,
  )
}
