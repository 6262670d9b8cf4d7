import type { Dirent } from 'node:fs'
import { access, constants, readdir, readFile, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import type { Readable } from 'node:stream'
import { gunzipSync } from 'node:zlib'
import { UsageError } from '../../errors.js'
import { layout, WORK_DIR } from '../../layout.js'
import { grouped, plural } from '../../report/format.js'
import type { CarriedType, RowColumns } from '../../types.js'
import { visibleShellWord } from '../../utils/command-line.js'
import { fileHead } from '../../utils/file-head.js'
import { filePath } from '../../utils/file-path.js'
import { fileFault, nearFile, unexpandedPattern } from '../../utils/near-file.js'
import { shownValue } from '../../utils/shown-value.js'
import { inputGivenTwice } from '../given-twice.js'
import { inputWord, openPipe, PipeTap, STDIN_PATH } from '../pipe-list.js'
import { compoundHead } from '../spreadsheet.js'
import { utf16Head, utf16Of } from '../utf16.js'
import { type ColumnTypes, KindTally, runColumnTypes, setType } from './column-types.js'
import { planColumns } from './columns.js'
import { csvHeader, csvRows } from './csv.js'
import {
  detectTableFormat,
  isGzipName,
  isParquetHead,
  packedTableBytes,
  packedTableName,
  type TableFile,
  type TableFormat,
} from './format.js'
import { PIPE_QUIET_MS, streamHead, textHead } from './input.js'
import type { TableJob } from './job.js'
import { jsonlKeys, jsonlRows, KEY_LINES } from './jsonl.js'
import { NOT_A_TABLE_HEAD_BYTES, notATable } from './not-a-table.js'
import { type ResolvedTableOptions, resolveTableOptions, type TableOptions } from './options.js'
import { gzipParquetSchema, parquetInfo, parquetRows } from './parquet.js'
import { strayRows } from './stray-rows.js'
import { heldPacking } from './utf8.js'

/** Tables opened and checked, ready to stream: iterate it (more than once if need be) for the rows. */
export interface OpenedTables extends AsyncIterable<TableJob> {
  /** The files that are read, in order. */
  readonly files: readonly TableFile[]
  /** Entries of the given folders that are not read: hidden (`.`), `_`-prefixed, not tables, not files. */
  readonly skipped: readonly string[]
  /** Rows in all when known before reading (every file a Parquet file not gzip-compressed). */
  readonly rows: number | undefined
  /**
   * The columns rows carry (`TableJob.meta`), all files' together, when every file shows them
   * before it is read: a header, a Parquet schema, the keys of a JSON lines file's first 1,000
   * lines. `undefined` when one does not (a gzip-compressed Parquet file, a JSON lines file of no
   * object). What `--name` may use besides the built-in placeholders and `{row}`.
   */
  readonly columns: readonly string[] | undefined
  /**
   * The carried columns' types in WebDataset shards (see `Source.columnTypes`), all files' merged,
   * when every file shows its columns before it is read: a Parquet schema's types, text for CSV and
   * TSV, for JSON lines those of the values of its first 1,000 lines; a gzip-compressed Parquet
   * file's from its footer (`gzipParquetSchema`; `undefined` for one whose footer is not read so).
   */
  readonly columnTypes: Readonly<ColumnTypes> | undefined
  /** The caption column and the carried columns (see `Source.rowColumns`). */
  readonly rowColumns: RowColumns
}

const EXTENSIONS = '.csv, .tsv, .jsonl, .ndjson or .parquet, optionally followed by .gz'

/** A readable file, folder, or pipe (see `PipeTap`). */
async function statInput(path: string): Promise<Awaited<ReturnType<typeof stat>>> {
  let info: Awaited<ReturnType<typeof stat>>
  try {
    info = await stat(path)
    if (info.isFile()) await access(path, constants.R_OK)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    // A table may be a folder of them: both named.
    const why = code === 'ENOENT' ? 'no such file or folder' : fileFault(error)
    const pattern = code === 'ENOENT' ? await unexpandedPattern(path) : ''
    const near = code === 'ENOENT' && pattern === '' ? await nearFile(path) : pattern
    throw new UsageError(`cannot read input ${inputWord(path, 'always')}: ${why}${near}`)
  }
  return info
}

/**
 * A table format's folder given as a folder of tables: Delta Lake's (`_delta_log/`), Apache
 * Hudi's (`.hoodie/`) and Apache Iceberg's (`metadata/` of `*.metadata.json`, its Parquet under
 * `data/`) keep the data files of past versions until they are vacuumed: an overwrite or a delete
 * leaves the old files beside the new ones, and only the log says which are the table now. Read
 * as files, every row of every version was fetched, some twice. The `UsageError` to throw, or
 * `undefined` for any other folder.
 */
async function lakeTable(dir: string, entries: readonly Dirent[]): Promise<UsageError | undefined> {
  const folder = (name: string) => entries.some((e) => e.isDirectory() && e.name === name)
  const iceberg =
    folder('metadata') &&
    (await readdir(join(dir, 'metadata')).then(
      (names) => names.some((name) => name.endsWith('.metadata.json')),
      () => false,
    ))
  const [kind, log, scan] = folder('_delta_log')
    ? ['a Delta Lake', '_delta_log', 'delta_scan']
    : iceberg
      ? ['an Apache Iceberg', 'metadata', 'iceberg_scan']
      : folder('.hoodie')
        ? ['an Apache Hudi', '.hoodie', undefined]
        : []
  if (kind === undefined) return undefined
  const how = scan
    ? `duckdb -c "COPY (FROM ${scan}('${dir.replaceAll("'", "''")}')) TO 'table.parquet'"`
    : `spark.read.format("hudi").load(...).write.parquet(...)`
  return new UsageError(
    `${visibleShellWord(dir, 'always')} is ${kind} table (it holds ${log}/), not a folder of tables: its files include those of its past versions, whose rows it no longer has; export the table as it is now and give that file: ${how}`,
  )
}

/**
 * Folder entries in name order (UTF-16 code units, so `part-00002` comes before `part-00010` and
 * the order is the same on every machine), without hidden and `_`-prefixed names (`.DS_Store`,
 * Spark's `_SUCCESS` and `.crc` files, `_metadata`) and without subfolders.
 */
async function folderFiles(
  dir: string,
  format: TableFormat | undefined,
  skipped: string[],
  urlCol: string,
): Promise<TableFile[]> {
  const ownSkipped = skipped.length
  // An output folder given as an input (`imgpull photos`, `imgpull photos -o photos`, to go on
  // with it) read its manifest.jsonl (and a WebDataset run's shard Parquets) as tables: every URL
  // fetched again, into the current folder or beside the images already there.
  const paths = layout(dir)
  if (
    await stat(paths.work).then(
      (s) => s.isDirectory(),
      () => false,
    )
  ) {
    const shown = (await stat(paths.report).catch(() => undefined))
      ? ` (the top of ${visibleShellWord(paths.report)} shows it)`
      : ''
    throw new UsageError(
      `${visibleShellWord(dir, 'always')} is an imgpull output folder (it holds ${visibleShellWord(paths.work)}), not a folder of tables: to go on with its run, run the command that made it again${shown}; to read a table in it, name the file (${visibleShellWord(paths.manifest)})`,
    )
  }
  let entries: Dirent[]
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch (error) {
    throw new UsageError(
      `cannot read folder ${visibleShellWord(dir, 'always')}: ${(error as NodeJS.ErrnoException).code}`,
    )
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const lake = await lakeTable(dir, entries)
  if (lake) throw lake
  const files: TableFile[] = []
  for (const entry of entries) {
    const path = join(dir, entry.name)
    if (entry.name.startsWith('.') || entry.name.startsWith('_')) {
      skipped.push(path)
      continue
    }
    const info =
      entry.isFile() || entry.isSymbolicLink() ? await stat(path).catch(() => undefined) : undefined
    const detected = format ? { format, gzip: isGzipName(entry.name) } : detectTableFormat(entry.name)
    // A table compressed so that it is not read (`part-0.csv.zst`) would be skipped with its rows.
    const packed = !format && info?.isFile() && info.size > 0 ? packedTableName(path) : undefined
    if (packed) throw packed
    // A Parquet file under a name not read (fastparquet's `outfile.parq`, `.pq`, Hive's `000000_0`)
    // was skipped with its rows, the run saying nothing: pyarrow reads every file of a folder.
    if (!detected && !format && info?.isFile() && info.size >= 4) {
      const head = await fileHead(path, 4).then(
        (b) => b.toString('latin1'),
        () => '',
      )
      if (isParquetHead(head))
        throw new UsageError(
          `folder ${visibleShellWord(dir, 'always')} holds ${inputWord(path, 'always')}, a Parquet file whose name does not end .parquet: its rows would be skipped; name it .parquet (or move it out of the folder)`,
        )
    }
    // An empty file among others is a partition with no rows (Spark and Hive write them): it has
    // no header to check, and stopped the run as 'is empty'. Named alone, it still says so. So is
    // one that is gzip of nothing (20 bytes: Hadoop's and Hive's compressed output of an empty
    // task, `gzip -k` of an empty file), which stopped the run as `c.csv.gz is empty` or `is not a
    // readable Parquet file` where the plain empty file beside it was skipped.
    if (!info?.isFile() || info.size === 0 || !detected || (await emptyGzip(path, info.size)))
      skipped.push(path)
    else files.push({ path, ...detected })
  }
  // Rows under a name a folder's tables are not read from (`.json` JSON lines, a `.txt` table, a
  // URL list) were skipped, the run saying "0 failed": see `strayRows`.
  if (files.length > 0)
    for (const path of skipped.slice(ownSkipped)) {
      if (basename(path).startsWith('.') || basename(path).startsWith('_')) continue
      const info = await stat(path).catch(() => undefined)
      if (!info?.isFile() || info.size === 0) continue
      const stray = await strayRows(dir, path, urlCol)
      if (stray) throw stray
    }
  if (files.length === 0) {
    // Spark's `df.write.json` and BigQuery's newline-delimited JSON export name their JSON lines
    // part files `.json`: say how to read them, not only what was not found.
    const json = entries.filter((e) => /^[^._].*\.json(\.gz)?$/i.test(e.name)).length
    // A folder of URL lists (a .txt whose first bytes hold a URL; gzip ones by name): lists are
    // read by name, never from a folder.
    let lists = 0
    for (const e of entries) {
      if (!/^[^._].*\.txt(\.gz)?$/i.test(e.name)) continue
      const head = /\.gz$/i.test(e.name)
        ? 'http://'
        : await fileHead(join(dir, e.name), 512).then(String, () => '')
      if (/https?:\/\//i.test(head)) lists++
    }
    const hint = json
      ? `; its ${json} .json ${plural(json, 'file')} (Spark's df.write.json and BigQuery's JSON export write JSON lines so) ${json === 1 ? 'is' : 'are'} read as JSON lines with --input-format jsonl`
      : lists
        ? `; URL lists (its ${lists} .txt ${plural(lists, 'file')}) are given by name, not as a folder: imgpull ${visibleShellWord(join(dir, '.'))}/*.txt`
        : await subfolderHint(dir, entries, format)
    throw new UsageError(
      `folder ${visibleShellWord(dir, 'always')} holds no table files (${EXTENSIONS})${hint}`,
    )
  }
  return files
}

/** The largest gzip file that is checked for holding nothing: an empty member with a long name, a comment. */
const EMPTY_GZIP_MAX_BYTES = 1024

/**
 * Whether the file is gzip whose members hold no byte at all (RFC 1952; `printf '' | gzip` is 20
 * bytes), as readr and cuDF met them from tools that compress empty output (tidyverse/readr#1160,
 * NVIDIA/cudf#3335). Only a file of at most 1 KiB is looked at; a corrupt one is not empty.
 */
async function emptyGzip(path: string, size: number): Promise<boolean> {
  if (size > EMPTY_GZIP_MAX_BYTES) return false
  const bytes = await readFile(path).catch(() => Buffer.alloc(0))
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return false
  try {
    return gunzipSync(bytes).length === 0
  } catch {
    return false
  }
}

/**
 * Where the tables of a folder that holds none directly are: its subfolders, one or two levels
 * down, that hold table files (Spark's and Hive's partitions, `lang=en/`, `year=2024/month=01/`;
 * a dataset's `data/`), said as a hint for the folder's error (`''`: none). Subfolders are not
 * read: a partition's value is in its folder's name, not in its rows.
 */
async function subfolderHint(
  dir: string,
  entries: Dirent[],
  format: TableFormat | undefined,
): Promise<string> {
  const holding: string[] = []
  let depth = 1
  const visible = (e: Dirent) => e.isDirectory() && !e.name.startsWith('.') && !e.name.startsWith('_')
  const hasTables = (list: Dirent[]) =>
    list.some(
      (e) =>
        e.isFile() &&
        !e.name.startsWith('.') &&
        !e.name.startsWith('_') &&
        (format || detectTableFormat(e.name)),
    )
  const list = (path: string) => readdir(path, { withFileTypes: true }).catch(() => [] as Dirent[])
  // An imgpull output folder (its manifest.jsonl, its shards' Parquet) is refused as an input: it
  // was offered here as a folder of tables.
  const output = (list: Dirent[]) => list.some((e) => e.name === WORK_DIR)
  for (const sub of entries.filter(visible).slice(0, 1000)) {
    const path = join(dir, sub.name)
    const inner = await list(path)
    if (output(inner)) continue
    if (hasTables(inner)) holding.push(path)
    else
      for (const deeper of inner.filter(visible).slice(0, 1000)) {
        const innermost = await list(join(path, deeper.name))
        if (!output(innermost) && hasTables(innermost)) {
          holding.push(join(path, deeper.name))
          depth = 2
        }
      }
  }
  if (holding.length === 0) return ''
  const partitions = holding.some((path) => path.slice(dir.length).includes('='))
    ? ` (Spark's and Hive's partitions; the values in their names, ${holding[0].slice(dir.length + 1)}, are not carried into the rows)`
    : ''
  if (holding.length === 1)
    return `; the folder ${holding[0]} in it holds tables${partitions}: give it, imgpull ${holding[0]}`
  const shown = holding.length === 2 ? holding.join(' and ') : `${holding.slice(0, 2).join(', ')}, …`
  return `; ${holding.length} folders in it hold tables, ${shown}${partitions}: give them, imgpull ${join(dir, ...Array(depth).fill('*'))}/`
}

/** The files the inputs name: files as given, folders expanded; unreadable or unknown ones throw. */
async function resolveFiles(
  inputs: readonly string[],
  format: TableFormat | undefined,
  skipped: string[],
  urlCol = 'url',
  pipes: OpenedPipes = {},
) {
  const files: TableFile[] = []
  /** How each file was named, for a file given twice. */
  const named: string[] = []
  for (const input of inputs) {
    const info = await statInput(input)
    if (info.isDirectory()) {
      const inFolder = await folderFiles(input, format, skipped, urlCol)
      files.push(...inFolder)
      named.push(
        ...inFolder.map(
          (f) => `${visibleShellWord(f.path, 'always')} in folder ${inputWord(input, 'always')}`,
        ),
      )
      continue
    }
    const detected = format ? { format, gzip: isGzipName(input) } : detectTableFormat(input)
    if (!info.isFile()) {
      files.push(await pipeTable(input, detected, pipes))
      named.push(inputWord(input, 'always'))
      continue
    }
    if (!detected && packedTableName(input)) throw packedTableName(input)
    if (!detected)
      throw new UsageError(
        `cannot tell the table format of ${inputWord(input, 'always')} from its name: name it ${EXTENSIONS}`,
      )
    files.push({ path: input, ...detected })
    named.push(inputWord(input, 'always'))
  }
  const twice = inputGivenTwice(
    files.map((f, i) => ({ path: f.path, named: named[i] })),
    'its rows would be read twice, each a sample of its own fetched and kept twice',
  )
  if (twice) throw twice
  return files
}

/**
 * A table that is a pipe or a device (`<(zcat t.csv.gz)`, a FIFO, `/dev/stdin`), streamed: read
 * once, its first bytes kept for the checks (see `PipeTap`). CSV, TSV and JSON lines are read from
 * their start to their end, as a pipe gives them; Parquet is read from its end (the footer) and at
 * the offsets it names, which a pipe cannot give: refused, to be saved to a file first. Such tables
 * were all refused ("a table must be a regular file").
 */
async function pipeTable(
  input: string,
  detected: { format: TableFormat; gzip: boolean } | undefined,
  pipes: OpenedPipes,
): Promise<TableFile> {
  const shown = inputWord(input, 'always')
  if (!detected)
    throw new UsageError(
      `cannot tell the table format of ${shown} (a pipe or device) from its name: give --input-format csv, tsv or jsonl`,
    )
  if (detected.format === 'parquet')
    throw new UsageError(
      `cannot read ${shown} as Parquet: it is a pipe, and a Parquet file is read from its end and at offsets, which a pipe cannot give; save it to a file first (... > table.parquet) and give that`,
    )
  // Opened before (a plan made again with the queue's options): its bytes read then are kept, and
  // read again from its start. Opened anew, what the first opening read of it was lost (an enqueue
  // of the same piped table again said `/dev/fd/63 is empty`).
  const opened = pipes.taps?.get(input)
  if (opened) return { path: input, ...detected, pipe: opened }
  // Standard input (`-` with --input-format) is read from the process's own: a socket there (a
  // program's child, as Node and Python spawn one) cannot be opened by its path.
  const stream = input === STDIN_PATH ? (pipes.stdin ?? process.stdin) : await openPipe(input)
  const tap = new PipeTap(input, stream)
  pipes.taps?.set(input, tap)
  return { path: input, ...detected, pipe: tap }
}

/**
 * How `openTables` opens the tables that are pipes. `taps`: those opened before, by path, read again
 * from their start while their rows are not yet read (and those opened now, added): `enqueue` plans
 * an input twice when the queue holds its options. `stdin`: what `/dev/stdin` (`-`) reads.
 * @default each pipe opened anew; standard input from `process.stdin`
 */
export interface OpenedPipes {
  taps?: Map<string, PipeTap>
  stdin?: Readable
}

/** A file's rows when known before reading, and the columns its rows carry and their types when known. */
interface Checked {
  rows?: number
  carried?: readonly string[]
  types?: ColumnTypes
}

/** The types of the `carried` columns that `types` gives (a column it has none for takes them from its values). */
function typesOf(
  carried: readonly string[],
  types: ColumnTypes | ((name: string) => CarriedType),
): ColumnTypes {
  const of: ColumnTypes = {}
  for (const name of carried) {
    const type =
      typeof types === 'function' ? types(name) : Object.hasOwn(types, name) ? types[name] : undefined
    if (type) setType(of, name, type)
  }
  return of
}

/**
 * Check one file's columns against the options before any row is read; gives its row count when
 * the footer tells it, and the columns its rows carry. A gzip-compressed Parquet file is checked
 * when it is reached instead, since its footer is at the end of the decompressed bytes.
 */
async function checkFile(file: TableFile, options: ResolvedTableOptions): Promise<Checked> {
  const head = file.pipe
    ? await streamHead(file.pipe.open(), NOT_A_TABLE_HEAD_BYTES, PIPE_QUIET_MS).catch(() => undefined)
    : await headOf(file.path)
  if (head) {
    file.gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b
    const instead = file.gzip ? undefined : notATable(file.path, file.format, head)
    if (instead) throw instead
    // UTF-16 text (Excel's "Unicode Text"), gzip'd or not, is read decoded; a gzip'd Parquet file
    // is no text.
    const text = file.gzip && file.format !== 'parquet' ? await textHead(file, NOT_A_TABLE_HEAD_BYTES) : head
    // A tar archive or gzip in gzip: its NULs read as UTF-16 text, a table of garbled rows.
    const held =
      file.format === 'parquet'
        ? undefined
        : heldPacking(file.path, text.toString('latin1', 0, 512), file.gzip)
    if (held) throw held
    const start = text.toString('latin1', 0, 8)
    // Compressed and Parquet bytes hold NULs as UTF-16 does: the reader names them (`binaryInput`).
    if (
      !packedTableBytes(file.path, start) &&
      !isParquetHead(start) &&
      !(file.gzip && file.format === 'parquet')
    )
      file.utf16 = utf16Of(text)
    // What it is, told by its text: a UTF-16 page saved in place of a table, or a UTF-16 CSV under a Parquet name.
    const decoded = file.utf16 && !file.gzip && notATable(file.path, file.format, utf16Head(head, file.utf16))
    if (decoded) throw decoded
  }
  if (file.format === 'parquet') {
    if (file.gzip) {
      // Its columns are checked when it is reached; its types are known now, from its footer.
      const schema = await gzipParquetSchema(file.path)
      if (!schema) return {}
      let carried: readonly string[] | undefined
      try {
        carried = planColumns(file.path, schema.columns, options).carried
      } catch {
        return {}
      }
      return { types: carried && typesOf(carried, schema.types) }
    }
    const { columns, rows, types } = await parquetInfo(file, options)
    const carried = planColumns(file.path, columns, options).carried
    return { rows, carried, types: carried && typesOf(carried, types) }
  }
  if (file.format === 'jsonl') {
    const tally = new KindTally()
    const read = { lines: 0 }
    const keys = await jsonlKeys(file, tally, read)
    if (!keys) return {}
    // Each row carries its own keys: those of the first lines are what the rows may have.
    const plan = planColumns(file.path, keys, options, true)
    const carried = plan.carried ?? keys.filter((key) => key !== plan.url)
    const types = tally.types()
    for (const name of plan.unseen ?? []) {
      // Text holds whatever the later lines hold; a slip of the name is said, not silent.
      setType(types, name, 'STRING')
      process.emitWarning(
        `--columns ${name}: no line of the first ${file.pipe && read.lines < KEY_LINES ? `${grouped(read.lines)} of ${inputWord(file.path)} (all it gave before half a second without a byte)` : `${grouped(KEY_LINES)} of ${inputWord(file.path)}`} has the key ${JSON.stringify(name)}: carried (as text in the shards' Parquet) from the lines that have it, null in the others`,
        { code: 'IMGPULL_COLUMN_UNSEEN' },
      )
    }
    return { carried, types: typesOf(carried, types) }
  }
  // CSV cells are text.
  const header = await csvHeader(file)
  const carried = planColumns(
    file.path,
    header,
    options,
    false,
    file.format === 'csv' ? (file.delimiter ?? ',') : undefined,
  ).carried
  return { carried, types: carried && typesOf(carried, () => 'STRING') }
}

/**
 * A file's first bytes: whether they are gzip (RFC 1952's magic, 1F 8B), whatever its name says (a
 * `.csv` a download left compressed, or a `.csv.gz` a browser decompressed and kept the name of, is
 * read as what it is), and whether they are something saved in place of a table (`notATable`).
 * `undefined` when it cannot be read (the reader names the error).
 */
async function headOf(path: string): Promise<Buffer | undefined> {
  try {
    return await compoundHead(path, await fileHead(path, NOT_A_TABLE_HEAD_BYTES))
  } catch {
    return undefined
  }
}

/**
 * The paths of the tables given: a `file:` URL, object or href, is the path it names, as `pull()`'s
 * `out` takes one (see `filePath`), where a URL object crashed as "path.lastIndexOf is not a function"
 * and an href was 'no such file or folder'. One path given alone, not in an array, is a `TypeError`:
 * its characters were each read as a table.
 */
function tablePaths(given: unknown): string[] {
  if (!Array.isArray(given))
    throw new TypeError(
      `Expected the tables to be an array of paths, got ${shownValue(given)}${typeof given === 'string' || given instanceof URL ? ': give one as [path]' : ''}`,
    )
  return given.map((input) => filePath('tables', input as string | URL))
}

/** Files checked at once: a folder of many small files opens in a fraction of the time. */
const CHECKS_AT_ONCE = 8

const readers = { csv: csvRows, tsv: csvRows, jsonl: jsonlRows, parquet: parquetRows }

/**
 * Open tables (files and folders of CSV, TSV, JSON lines and Parquet, each optionally gzip'd) and
 * check them before any row is read: every input readable, every format known, every column the
 * options name present in every file (a gzip'd Parquet file excepted: checked when reached).
 * Throws `UsageError` naming the file (and listing its columns, for a missing one), or `TypeError`
 * for a bad option.
 *
 * Iterating the result streams the rows of every file in order, in constant memory, as fast as
 * the consumer pulls them. Data that cannot be read past (a CSV quote never closed, corrupt gzip,
 * a Parquet row group that does not decode) throws a `UsageError` naming file and line or row
 * group, after every row before it was given; a single malformed record (a JSON line that is not
 * an object, a CSV record with more fields than its header) and a malformed hash cell are given as
 * jobs with `invalid` set, keeping their row.
 */
export async function openTables(
  given: readonly (string | URL)[],
  options: TableOptions = {},
  pipes: OpenedPipes = {},
): Promise<OpenedTables> {
  const inputs = tablePaths(given)
  const resolved = resolveTableOptions(options)
  if (inputs.length === 0) throw new UsageError('no table to read')
  const skipped: string[] = []
  const files = await resolveFiles(inputs, resolved.format, skipped, resolved.urlCol, pipes)
  const checked: Checked[] = []
  for (let i = 0; i < files.length; i += CHECKS_AT_ONCE)
    checked.push(
      ...(await Promise.all(files.slice(i, i + CHECKS_AT_ONCE).map((f) => checkFile(f, resolved)))),
    )
  const rows = checked.every((c) => c.rows !== undefined)
    ? checked.reduce<number>((a, c) => a + (c.rows ?? 0), 0)
    : undefined
  const columns = checked.every((c) => c.carried !== undefined)
    ? [...new Set(checked.flatMap((c) => c.carried ?? []))]
    : undefined
  return {
    files,
    skipped,
    rows,
    columns,
    columnTypes: runColumnTypes(checked.map((c) => c.types)),
    rowColumns: { caption: resolved.captionCol ?? null, columns: resolved.columns ?? columns ?? null },
    async *[Symbol.asyncIterator]() {
      const counter = { next: 0 }
      for (const file of files) {
        // Its rows are its last read: what streams past the checks' bytes is not kept.
        file.pipe?.release()
        yield* readers[file.format](file, resolved, counter)
      }
    },
  }
}

/**
 * Rows of every input (files or folders), in order, streamed: `openTables` and its rows in one
 * call. Its errors (see `openTables`) come from the first `next()`, before the first row.
 */
export async function* tableSource(
  inputs: readonly (string | URL)[],
  options: TableOptions = {},
): AsyncGenerator<TableJob> {
  yield* await openTables(inputs, options)
}
