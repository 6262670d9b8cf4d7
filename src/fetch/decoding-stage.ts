// What a stage of a `BodyDecoder` (content-encoding.ts) tells of the stream it decoded: a missing
// end, checksums that did not match, how many pieces, and the bytes after its end.

/** A decoding stage that notes checksums that did not match what it decoded (see `BodyDecoder.checksumMismatch`). */
export interface Checked {
  readonly mismatches: readonly string[]
}

/** A decoding stage that can tell a stream which ended without its own end (see `BodyDecoder.unterminated`). */
export interface Unterminated {
  unterminated: boolean
}

/** A decoding stage that can tell bytes which came after its stream's end, not decoded (see `BodyDecoder.overrun`). */
export interface Overrun {
  readonly after: Trailing | undefined
}

/**
 * Bytes that came after a coded stream's end: how many, and whether any is other than printable
 * ASCII and white space (`binary`). A cache's newline or HTML comment is text; a second stream
 * of any coding is binary (deflate and Brotli data is printable about one byte in three, see
 * `opensAsText`; gzip and zlib open with a byte above 0x7e).
 */
export class Trailing {
  bytes = 0
  binary = false
  /** Whether every byte was zero (a tape's or a block device's padding, which gzip -d passes over without a word). */
  zeros = true

  add(chunk: Uint8Array): void {
    this.bytes += chunk.length
    if (!this.binary) this.binary = !isText(chunk)
    if (this.zeros) this.zeros = chunk.every((c) => c === 0)
  }
}

/** Whether `bytes` are printable ASCII, tabs, line feeds and carriage returns only. */
export const isText = (bytes: Uint8Array): boolean =>
  bytes.every((c) => (c >= 0x20 && c <= 0x7e) || c === 0x09 || c === 0x0a || c === 0x0d)

/** A decoding stage whose stream comes in pieces that each end (see `BodyDecoder.endsOnce`): how many began. */
export interface Pieces {
  readonly pieces: number
}
