import { isUtf8 } from 'node:buffer'
import { UsageError } from '../../errors.js'
import { isTarHead } from '../../utils/file-head.js'
import { inputWord, shellPipe } from '../pipe-list.js'
import { detectTableFormat, isGzipName, isParquetHead, packedTableBytes, wrongTableFormat } from './format.js'

/** Control characters no text table holds (tab, LF and CR aside): a binary file read as text. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is looked for
const CONTROL = /[\u0000-\u0008\u000e-\u001f]/

/** Whether `text` holds control characters: read as a table, it is binary data (a Parquet file). */
export const holdsControl = (text: string) => CONTROL.test(text)

/** The error for a binary file read as text, `as` what it was read (`a text table`, `JSON lines`). */
export function binaryInput(path: string, as: string, sample = ''): UsageError {
  const packed = packedTableBytes(path, sample)
  if (packed) return packed
  // A Parquet file under a text table's name (renamed, or saved as `.csv` by a download).
  if (isParquetHead(sample)) return wrongTableFormat(path, as, 'parquet')
  const held = heldPacking(path, sample)
  if (held) return held
  return new UsageError(
    `${inputWord(path)} does not read as ${as}: its first line holds binary data (a wrong --input-format?)`,
  )
}

/**
 * A text table's first bytes (a gzip file's decompressed) that are an archive or gzip again, not
 * text: a tar archive (`tar -czf photos.csv.gz photos.csv`; POSIX and GNU tar write `ustar` at
 * byte 257 of a member's header, whose file name pandas and readr took for the first column's,
 * pandas-dev/pandas#12005, tidyverse/readr#780), or gzip inside gzip (a `.gz` compressed again,
 * as a server's `Content-Encoding: gzip` over a `.csv.gz` saved as it came). The `UsageError`
 * saying which and how to unpack it, or `undefined`: they were "binary data (a wrong
 * --input-format?)". `gzip`: whether `sample` was gunzipped (a pipe's tar needs `tar -xzO` then;
 * `tar -xf` tells a file's compression itself). @default by the name (`.gz`)
 */
export function heldPacking(path: string, sample: string, gzip = isGzipName(path)): UsageError | undefined {
  const pipe = shellPipe(path)
  if (isTarHead(sample))
    return new UsageError(
      `${inputWord(path)} is a tar archive, not a table: tables are read plain or gzip-compressed, not archived; ${pipe ? `unpack it in the pipe: ... | tar -x${gzip ? 'z' : ''}O` : `unpack it first: tar -xf ${inputWord(path)}`}`,
    )
  if (sample.startsWith('\x1f\x8b\x08'))
    return new UsageError(
      `${inputWord(path)} is gzip-compressed twice (its gzip data holds gzip data): tables are read plain or gzip-compressed once; ${pipe ? 'unpack it once more in the pipe: ... | gzip -dc' : `unpack it once: gzip -dc ${inputWord(path)} > unpacked.${detectTableFormat(path)?.format ?? 'csv'}.gz`}`,
    )
  return undefined
}

/**
 * Where UTF-8 goes wrong in `bytes`: the index of the first byte that cannot start or continue a
 * character (-1: none), and how many bytes at the end begin a character the next chunk finishes.
 * Overlong forms, surrogates and code points past U+10FFFF are wrong (RFC 3629 §4).
 */
export function utf8Scan(bytes: Uint8Array): { bad: number; incomplete: number } {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]
    if (b < 0x80) {
      i++
      continue
    }
    const n = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0
    if (n === 0) return { bad: i, incomplete: 0 }
    // The second byte's narrower range for these leads (RFC 3629's UTF8-3 and UTF8-4 rules).
    const [low, high] =
      b === 0xe0
        ? [0xa0, 0xbf]
        : b === 0xed
          ? [0x80, 0x9f]
          : b === 0xf0
            ? [0x90, 0xbf]
            : b === 0xf4
              ? [0x80, 0x8f]
              : [0x80, 0xbf]
    for (let k = 1; k < n; k++) {
      if (i + k >= bytes.length) return { bad: -1, incomplete: bytes.length - i }
      const c = bytes[i + k]
      if (k === 1 ? c < low || c > high : c < 0x80 || c > 0xbf) return { bad: i, incomplete: 0 }
    }
    i += n
  }
  return { bad: -1, incomplete: 0 }
}

/**
 * Checks that a table's bytes are UTF-8 as they stream by, chunk by chunk. A Latin-1 or
 * Windows-1252 export would otherwise be decoded with U+FFFD in place of its accented letters:
 * captions silently changed, and URLs that are not the file's (Python's csv module and pandas stop
 * there too). Throws a `UsageError` naming the file, the line and the byte.
 */
export class Utf8Check {
  /** Bytes of a character cut by the chunk's end. */
  #carry: Buffer = Buffer.alloc(0)
  /** Line feeds before the current chunk. */
  #lines: number

  /** `lines`: line feeds before the first byte checked (a check that starts inside the file). */
  constructor(
    readonly path: string,
    lines = 0,
  ) {
    this.#lines = lines
  }

  push(chunk: Buffer): void {
    const bytes = this.#carry.length > 0 ? Buffer.concat([this.#carry, chunk]) : chunk
    const carried = this.#carry.length
    this.#carry = Buffer.alloc(0)
    if (!isUtf8(bytes)) {
      const { bad, incomplete } = utf8Scan(bytes)
      if (bad >= 0) this.#fail(bytes, bad)
      this.#carry = Buffer.from(bytes.subarray(bytes.length - incomplete))
    }
    this.#lines += countLines(bytes, carried, bytes.length - this.#carry.length)
  }

  /** The end of the bytes: a character still cut is not UTF-8. */
  end(): void {
    if (this.#carry.length > 0) this.#fail(this.#carry, 0)
  }

  #fail(bytes: Buffer, at: number): never {
    const line = this.#lines + countLines(bytes, 0, at) + 1
    // Control bytes in the first line, or near the start with the first bad byte on that line: a
    // binary file (Parquet, an image) read as text. Not a NUL in a caption rows below the header
    // (kept, as pandas keeps it) before a Latin-1 byte, which was said to be binary data.
    const head = bytes.toString('latin1', 0, 1024)
    const newline = head.indexOf('\n')
    if (
      this.#lines === 0 &&
      (holdsControl(newline < 0 ? head : head.slice(0, newline)) || (line === 1 && holdsControl(head)))
    )
      throw binaryInput(this.path, 'a text table', head)
    const byte = bytes[at].toString(16).toUpperCase().padStart(2, '0')
    const windows = windows1252At(bytes, at)
    throw new UsageError(
      windows < 0
        ? `${inputWord(this.path)} is not UTF-8 text (byte 0x${byte} on line ${line}): convert it first, e.g. iconv -f latin1 -t utf-8`
        : `${inputWord(this.path)} is not UTF-8 text (byte 0x${byte} on line ${line}): convert it first, e.g. iconv -f cp1252 -t utf-8 (Windows-1252, as Excel saves CSV on Windows: its byte 0x${bytes[windows].toString(16).toUpperCase()} on line ${this.#lines + countLines(bytes, 0, windows) + 1} is ${WINDOWS_1252[bytes[windows] - 0x80]}, which -f latin1 would make a control character)`,
    )
  }
}

/** Windows-1252's characters for bytes 0x80–0x9F (` ` where it has none: 0x81, 0x8D, 0x8F, 0x90, 0x9D); Node's TextDecoder decodes them as Latin-1. */
const WINDOWS_1252 = '€ ‚ƒ„…†‡ˆ‰Š‹Œ Ž  ‘’“”•–—˜™š›œ žŸ'

/**
 * Where, from the first byte that is not UTF-8 (`at`) on, the bytes show Windows-1252 rather than
 * Latin-1: a byte 0x80–0x9F after an ASCII one (no UTF-8 character has it there), Windows-1252's
 * curly quotes, dashes and euro sign (`don’t`: 0x92), which Latin-1 has as control characters;
 * -1 for none. Converted with `iconv -f latin1`, as the message said for every such file, a caption
 * kept U+0092 in place of its apostrophe, silently.
 */
function windows1252At(bytes: Buffer, at: number): number {
  const end = Math.min(bytes.length, at + 64 * 1024)
  const windows = (i: number) => bytes[i] >= 0x80 && bytes[i] <= 0x9f && WINDOWS_1252[bytes[i] - 0x80] !== ' '
  for (let i = at; i < end; i++) if (windows(i) && (i === 0 || bytes[i - 1] < 0x80)) return i
  return -1
}

function countLines(bytes: Buffer, from: number, to: number): number {
  let n = 0
  for (let i = bytes.indexOf(10, from); i >= 0 && i < to; i = bytes.indexOf(10, i + 1)) n++
  return n
}

/** Zeros held back at most this many at a time when they are given on (the run is counted, not kept). */
const ZERO_PIECE = 64 * 1024

/**
 * A text table whose bytes are zeros from `line` to its end (`zeros` of them): the space of a
 * download or copy allocated first and never filled (aria2's `--file-allocation`,
 * lingochamp/FileDownloader#543 fills a file with zeros to its length), or a file still being
 * written. No text table ends so; read as text, the row the zeros cut was fetched with its URL's
 * NULs dropped by the URL parser, its caption lost or thousands of NULs. `lineHeld`: the line the
 * zeros cut was held back whole (none of its bytes given).
 */
export class ZeroFilled extends UsageError {
  constructor(
    path: string,
    line: number,
    zeros: number,
    readonly lineHeld: boolean,
  ) {
    super(
      `${inputWord(path)} is zero-filled from line ${line.toLocaleString('en-US')} to its end (${zeros.toLocaleString('en-US')} zero bytes, where its rows belong): a download or copy cut short, its space allocated first; fetch or copy it again`,
    )
  }
}

/**
 * The chunks of a text table, each checked as UTF-8 (`Utf8Check`) before it is given, and the end
 * checked after the last: what every reader of a text table reads through. `lines`: lines before
 * the first chunk, for chunks read from inside the file. Zeros are held back until a byte that is
 * not one follows them, and so are the bytes of their line before them in the same chunk; zeros to
 * the end throw `ZeroFilled`, the row they cut never given whole (`lineHeld`: none of its bytes
 * were, so a reader may end its rows before it; else its first bytes are the reader's, unended).
 */
export async function* utf8Checked(
  chunks: AsyncIterable<Buffer>,
  path: string,
  lines = 0,
): AsyncGenerator<Buffer> {
  const utf8 = new Utf8Check(path, lines)
  let given = lines
  /** The bytes before held zeros, of their line, and the zeros' count. */
  let line = Buffer.alloc(0)
  let zeros = 0
  let lineHeld = true
  /** Whether the bytes given end inside a line. */
  let lineOpen = false
  for await (const chunk of chunks) {
    utf8.push(chunk)
    let end = chunk.length
    while (end > 0 && chunk[end - 1] === 0) end--
    if (end === 0) {
      zeros += chunk.length
      continue
    }
    if (zeros > 0) {
      if (line.length > 0) yield line
      for (; zeros > 0; zeros -= Math.min(zeros, ZERO_PIECE)) yield Buffer.alloc(Math.min(zeros, ZERO_PIECE))
      line = Buffer.alloc(0)
      lineOpen = true
    }
    // Zeros to the chunk's end: their line's bytes before them wait with them.
    let cut = chunk.length
    if (end < chunk.length) {
      cut = chunk.lastIndexOf(10, end - 1) + 1
      line = Buffer.from(chunk.subarray(cut, end))
      lineHeld = cut > 0 || !lineOpen
      zeros = chunk.length - end
    }
    if (cut > 0) {
      given += countLines(chunk, 0, cut)
      lineOpen = chunk[cut - 1] !== 10
      yield cut === chunk.length ? chunk : chunk.subarray(0, cut)
    }
  }
  utf8.end()
  if (zeros > 0) throw new ZeroFilled(path, given + 1, zeros, lineHeld)
}
