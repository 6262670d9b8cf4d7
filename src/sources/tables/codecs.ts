import type { Compressors, FileMetaData } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import { UsageError } from '../../errors.js'
import { inputWord } from '../pipe-list.js'

type Decompress = (input: Uint8Array, outputLength: number) => Uint8Array

/**
 * A decompressor that gives a page of no bytes without decoding its block. The reference LZ4
 * encoder writes an empty input as the token 0x00 alone (no literals, and no match: the block
 * ends), which hyparquet-compressors (1.1.2) reads on into a match of offset 0 and throws
 * "lz4 offset out of range 0". Polars and Rust's parquet crate (arrow-rs: delta-rs, DataFusion,
 * parquet-wasm) write such a page for the dictionary of a column null in a whole row group, under
 * LZ4_RAW and under LZ4 (Hadoop's framing): the row group could not be read. A page of no bytes
 * has nothing to decode, whatever its block holds.
 */
function emptyPageSafe(decompress: Decompress | undefined): Decompress | undefined {
  return (
    decompress &&
    ((input, outputLength) => (outputLength === 0 ? new Uint8Array(0) : decompress(input, outputLength)))
  )
}

/** The Parquet codecs tables are read with: hyparquet-compressors', LZ4's mended (`emptyPageSafe`). */
export const CODECS: Compressors = {
  ...compressors,
  LZ4: emptyPageSafe(compressors.LZ4),
  LZ4_RAW: emptyPageSafe(compressors.LZ4_RAW),
}

/** Codecs hyparquet decodes itself, beside `CODECS`. */
const BUILT_IN = new Set(['UNCOMPRESSED', 'SNAPPY'])

/**
 * Refuse, from the footer, a file whose `needed` columns are compressed with a codec no decoder
 * here reads (LZO, which Spark can write through hadoop-lzo, and which DuckDB and pyarrow do not
 * read either): found at the first row group instead, it stopped a run midway through a folder of
 * tables, the rows of those before it fetched, saying only "unsupported compression codec: LZO".
 * Throws a `UsageError` naming the file, the column and what to do.
 */
export function checkCodecs(path: string, metadata: FileMetaData, needed: readonly string[]): void {
  for (const group of metadata.row_groups)
    for (const chunk of group.columns) {
      const meta = chunk.meta_data
      if (!meta || !needed.includes(meta.path_in_schema[0])) continue
      if (BUILT_IN.has(meta.codec) || CODECS[meta.codec] !== undefined) continue
      throw new UsageError(
        `${inputWord(path)} column ${JSON.stringify(meta.path_in_schema[0])} is compressed with ${meta.codec}, which imgpull does not read (nor do DuckDB and pyarrow): write the file again with another codec where it was made (Spark: .option("compression", "zstd"))`,
      )
    }
}
