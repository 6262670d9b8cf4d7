/**
 * Make a table of image URLs, as an ML team's would look: url, caption, license, id, sha256.
 *   node --import tsx bench/make-table.ts OUT ROWS [--base URL] [--row-group N] [--codec SNAPPY] [--no-offset-index]
 * The format follows OUT's name (.csv, .tsv, .jsonl, .parquet, each optionally .gz). Text formats
 * are written streamed; Parquet (hyparquet-writer) is built in memory first, about 0.5 GB per
 * million rows. Rows are deterministic: row i has URL `${base}${i}.jpg`.
 */
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { createGzip } from 'node:zlib'
import { parquetWriteFile } from 'hyparquet-writer'
import { detectTableFormat } from '../src/sources/tables/format.js'

export interface SampleRow {
  url: string
  caption: string
  license: string
  id: number
  sha256: string
}

const WORDS = [
  'red',
  'fox',
  'lake',
  'at dawn',
  'mountain',
  '"old" barn',
  'city, at night',
  'cat',
  'dog',
  'field',
]
const LICENSES = ['cc-by-4.0', 'cc0-1.0', 'cc-by-sa-4.0', 'unsplash']

/** What a row's URL starts with: one prefix, or one for row `i` (rows spread over many hosts). */
export type Base = string | ((i: number) => string)

/** Row `i`: a caption with commas and quotes in some rows, so CSV quoting is exercised. */
export function sampleRow(i: number, base: Base = 'https://images.example/'): SampleRow {
  const caption = `A photo of ${WORDS[i % WORDS.length]} and ${WORDS[(i * 7 + 3) % WORDS.length]} #${i}`
  return {
    url: `${typeof base === 'function' ? base(i) : base}${i}.jpg`,
    caption,
    license: LICENSES[i % LICENSES.length],
    id: 1_000_000_000 + i,
    sha256: createHash('sha256').update(String(i)).digest('hex'),
  }
}

const quoted = (text: string) => (/[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text)

function* lines(format: 'csv' | 'tsv' | 'jsonl', rows: number, base: Base): Generator<string> {
  const keys = ['url', 'caption', 'license', 'id', 'sha256'] as const
  const sep = format === 'tsv' ? '\t' : ','
  if (format !== 'jsonl') yield `${keys.join(sep)}\n`
  let batch = ''
  for (let i = 0; i < rows; i++) {
    const row = sampleRow(i, base)
    batch +=
      format === 'jsonl'
        ? `${JSON.stringify(row)}\n`
        : `${keys.map((k) => (format === 'csv' ? quoted(String(row[k])) : String(row[k]))).join(sep)}\n`
    if (batch.length > 65536) {
      yield batch
      batch = ''
    }
  }
  if (batch) yield batch
}

export interface MakeOptions {
  base?: Base
  /** Parquet rows per row group. @default 100_000 */
  rowGroup?: number
  /** Parquet codec. @default 'SNAPPY' */
  codec?: 'UNCOMPRESSED' | 'SNAPPY'
  /** Write Parquet offset indexes (as hyparquet-writer does by default; pyarrow and DuckDB do not). @default true */
  offsetIndex?: boolean
}

/** Write `rows` sample rows to `out`, in the format its name says. */
export async function makeTable(out: string, rows: number, options: MakeOptions = {}): Promise<void> {
  const detected = detectTableFormat(out)
  if (!detected) throw new Error(`cannot tell a table format from ${out}`)
  const { format, gzip } = detected
  const base = options.base ?? 'https://images.example/'
  if (format === 'parquet') {
    const plain = gzip ? out.slice(0, -3) : out
    const data = Array.from({ length: rows }, (_, i) => sampleRow(i, base))
    const offsetIndex = options.offsetIndex ?? true
    parquetWriteFile({
      filename: plain,
      codec: options.codec ?? 'SNAPPY',
      rowGroupSize: options.rowGroup ?? 100_000,
      columnData: [
        { name: 'url', data: data.map((r) => r.url), type: 'STRING', offsetIndex },
        { name: 'caption', data: data.map((r) => r.caption), type: 'STRING', offsetIndex },
        { name: 'license', data: data.map((r) => r.license), type: 'STRING', offsetIndex },
        { name: 'id', data: data.map((r) => BigInt(r.id)), type: 'INT64', offsetIndex },
        { name: 'sha256', data: data.map((r) => r.sha256), type: 'STRING', offsetIndex },
      ],
    })
    if (gzip) {
      await pipeline(createReadStream(plain), createGzip(), createWriteStream(out))
      await rm(plain)
    }
    return
  }
  const text = Readable.from(lines(format, rows, base))
  if (gzip) await pipeline(text, createGzip(), createWriteStream(out))
  else await pipeline(text, createWriteStream(out))
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [out, count, ...rest] = process.argv.slice(2)
  if (!out || !count) {
    console.error(
      'usage: make-table.ts OUT ROWS [--base URL] [--row-group N] [--codec SNAPPY|UNCOMPRESSED] [--no-offset-index]',
    )
    process.exit(2)
  }
  const flag = (name: string) => {
    const i = rest.indexOf(name)
    return i >= 0 ? rest[i + 1] : undefined
  }
  const rowGroup = flag('--row-group')
  await makeTable(out, Number(count), {
    base: flag('--base'),
    rowGroup: rowGroup === undefined ? undefined : Number(rowGroup),
    codec: flag('--codec') as MakeOptions['codec'],
    offsetIndex: !rest.includes('--no-offset-index'),
  })
}
