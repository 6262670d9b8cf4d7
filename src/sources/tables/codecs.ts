import type { Compressors } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'

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
