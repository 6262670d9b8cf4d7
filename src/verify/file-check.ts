import { createHash, type Hash } from 'node:crypto'
import type { Job, Validators } from '../types.js'
import { type CompletenessCheck, completenessCheck, type ReadBack } from './complete/index.js'
import { createHasher, type Hasher } from './hasher.js'
import { mayBeginImage, sniffBinary } from './magic.js'
import { headOrientation, upright } from './orientation.js'
import { dimensions, type Sniffed, sniff, sniffCommon } from './sniff.js'
import { asUtf8, svgMayBegin } from './svg.js'

/** Bytes of a body's head kept for the format and its dimensions. */
export const HEAD_BYTES = 64 * 1024

/** Bytes of a head enough to tell every binary format's signature apart (see `FileCheck.ruledOut`). */
export const RULE_OUT_BYTES = 32

/**
 * Whether `head` may open an SVG: after a byte order mark and white space, `<` or nothing yet (in
 * UTF-16 too, see `utf16`).
 */
function mayOpenSvg(bytes: Uint8Array): boolean {
  const head = asUtf8(bytes)
  let at = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0
  while (
    at < head.length &&
    (head[at] === 0x20 || head[at] === 0x09 || head[at] === 0x0a || head[at] === 0x0d)
  )
    at++
  return at === head.length || head[at] === 0x3c
}

type ExpectedHash = NonNullable<Job['expectedHash']>

/** What is known of a file once all of it has been checked. */
export interface Checked {
  sha256?: string
  /** Detected format's extension, without the dot. */
  ext: string
  width?: number
  height?: number
}

/**
 * Everything checked about one file as its bytes pass, in order, from byte 0 (a resumed file's
 * prefix is read back from disk and fed first): its sha256, its format and dimensions from the
 * head, and its structural completeness. The checks see every byte once; none is read twice.
 */
/** A body that ran until its connection closed, whole as far as its format shows: its size and sha256. */
export type Unframed = NonNullable<Validators['seen']>

export class FileCheck {
  readonly #hash: Hasher | undefined
  /** md5, only when an expected md5 is to be checked (a table's hash column). */
  readonly #md5: Hash | undefined
  /** A checksum the server states, taken as the bytes come (see `alsoHash`). */
  #stated: { algorithm: string; hash: Hash; hex?: string } | undefined
  readonly #expected: ExpectedHash | undefined
  #head: Buffer[] = []
  #headBytes = 0
  #format: Sniffed | undefined
  #complete: CompletenessCheck | undefined
  /** Bytes fed so far: the file's size up to here. */
  bytes = 0

  /**
   * `hash`: whether to keep the file's sha256; `size`: its announced size, when known (large files
   * are hashed off the event loop); `expected`: a hash the file must have (sha256 or md5), checked
   * by `finish` (a mismatch is `hash-mismatch`).
   */
  constructor(hash: 'sha256' | 'none', size: number | undefined, expected?: ExpectedHash) {
    this.#expected = expected
    this.#hash = hash === 'sha256' || expected?.type === 'sha256' ? createHasher(size) : undefined
    this.#md5 = expected?.type === 'md5' ? createHash('md5') : undefined
  }

  get format(): Sniffed | undefined {
    return this.#format
  }

  /** Whether the head (gathered until the format is known) starts with gzip's magic (RFC 1952). */
  get gzipped(): boolean {
    const first = this.#head[0]
    return first !== undefined && first[0] === 0x1f && (first.length < 2 || first[1] === 0x8b)
  }

  /** The head gathered so far (all bytes, until the format is known): what a refused body began with. */
  get head(): Buffer {
    return this.#head.length === 1 ? this.#head[0]! : Buffer.concat(this.#head)
  }

  /** Bytes of the head gathered so far (all bytes, until the format is known). */
  get headBytes(): number {
    return this.#headBytes
  }

  /**
   * The next bytes of the file. Until the format is known they are kept as the head (call
   * `identify` once `headBytes` reaches `HEAD_BYTES`, or at the end); then they go through the
   * completeness check. A promise when hashing makes the body wait.
   */
  update(chunk: Buffer): void | Promise<void> {
    this.bytes += chunk.length
    if (this.#format) this.#complete!.update(chunk)
    else {
      this.#head.push(chunk)
      this.#headBytes += chunk.length
    }
    this.#md5?.update(chunk)
    this.#stated?.hash.update(chunk)
    return this.#hash?.update(chunk)
  }

  /**
   * Judge the format from the head; `undefined` when the bytes are not an image. The four common
   * formats are told from the first chunk's magic numbers; the others may need the whole head (an
   * SVG's root element can follow kilobytes of declarations and comments).
   */
  /**
   * Also hash the file with `algorithm` (a checksum its server states: md5, sha512...), from its
   * first byte: only before any byte came, else the caller reads the file back (see `statedHex`).
   */
  alsoHash(algorithm: string): void {
    if (this.bytes === 0 && this.#stated === undefined)
      this.#stated = { algorithm, hash: createHash(algorithm) }
  }

  /** The file's `algorithm` checksum, lowercase hex, if `alsoHash` took it from the first byte. */
  statedHex(algorithm: string): string | undefined {
    const stated = this.#stated
    if (stated?.algorithm !== algorithm) return undefined
    stated.hex ??= stated.hash.digest('hex')
    return stated.hex
  }

  /** Whether the bytes so far, not identified, may be the start of an image cut short (see `mayBeginImage`). */
  mayBeginImage(): boolean {
    if (this.#format) return false
    const head = Buffer.concat(this.#head)
    return mayBeginImage(head) || svgMayBegin(head)
  }

  /**
   * Whether the head so far (`RULE_OUT_BYTES` or more, not identified) can begin no image: no
   * binary format's signature agrees with it, and it cannot open an SVG (only a byte order mark
   * and white space come before an SVG's first `<`). Waiting for `HEAD_BYTES` would tell nothing
   * more, and an answer that never ends (an MJPEG camera stream, a video) would hold its transfer
   * until the total timeout.
   */
  ruledOut(): boolean {
    if (this.#format || this.#headBytes < RULE_OUT_BYTES) return false
    const head = this.#head.length === 1 ? this.#head[0] : Buffer.concat(this.#head)
    return !mayBeginImage(head) && !sniffCommon(head) && !sniffBinary(head) && !mayOpenSvg(head)
  }

  async identify(): Promise<Sniffed | undefined> {
    if (this.#format) return this.#format
    const first = this.#head[0] ?? Buffer.alloc(0)
    const format =
      sniffCommon(first) ?? (await sniff(this.#head.length === 1 ? first : Buffer.concat(this.#head)))
    if (!format) return undefined
    this.#format = format
    // The head went by before the format was known: the completeness check starts with it.
    this.#complete = completenessCheck(format.ext)
    for (const part of this.#head) this.#complete.update(part)
    return format
  }

  /**
   * All bytes are in: the file's checksum, format and dimensions, or why it is not whole
   * (`truncated`: its structure ends early; `corrupt`: it contradicts itself). `read(offset,
   * length)` reads bytes of the whole file back (from disk) for formats that need it (TIFF).
   */
  async finish(
    read: ReadBack,
    /**
     * Whether the protocol marked the body's end (a length met, a chunked body's last chunk,
     * HTTP/2's end of stream). When it did not (the body ran until the connection closed), a
     * format whose end cannot be checked (a verdict's `unchecked`) is not taken as whole: a cut
     * there looks like an end. Unless the input's hash proves the bytes, or `seen` (an earlier
     * attempt's whole unframed body) holds the same size and sha256: the same cut twice, to the
     * same bytes, is no cut. @default true
     */
    framed = true,
    seen?: Unframed,
    /** Why nothing marked the end, for the message. @default 'the connection gave no length' */
    unmarked = 'the connection gave no length',
    /**
     * The body ended short of the length its answer stated: whole only when its structure shows
     * its end (not `unchecked`) and the input's hash or `seen` proves the bytes; a server whose
     * `Content-Length` counts more than the file it sends (an off-by-one) sends them so every
     * time, where a cut lands elsewhere. @default false
     */
    short = false,
  ): Promise<
    | { ok: true; checked: Checked }
    | { ok: false; kind: 'truncated' | 'corrupt' | 'hash-mismatch'; reason: string; unframed?: Unframed }
  > {
    const format = this.#format!
    const verdict = await this.#complete!.end(read)
    if (!verdict.complete) {
      this.discard()
      return { ok: false, kind: verdict.kind, reason: verdict.reason }
    }
    const sha256 = await this.#hash?.digest()
    const expected = this.#expected
    const got = expected && (expected.type === 'md5' ? this.#md5!.digest('hex') : sha256)
    if ((verdict.unchecked || short) && !framed) {
      const proven =
        (expected !== undefined && got === expected.value) ||
        (!(short && verdict.unchecked) &&
          seen !== undefined &&
          seen.bytes === this.bytes &&
          seen.sha256 === sha256)
      if (!proven) {
        const reason = `${verdict.unchecked ?? 'the image is whole'}, and ${unmarked}: a cut cannot be told from the end`
        // What settles it next time; nothing does for a possible trailer short of its length.
        const settles = sha256 !== undefined && !(short && verdict.unchecked)
        const unframed = settles ? { bytes: this.bytes, sha256 } : undefined
        return { ok: false, kind: 'truncated', reason, unframed }
      }
    }
    if (expected && got !== expected.value) {
      return {
        ok: false,
        kind: 'hash-mismatch',
        reason: hashMismatchReason(expected.type, got, expected.value),
      }
    }
    // The completeness walk may have met the size where the head could not show it (a JPEG's
    // frame header after a large EXIF block, a HEIF's primary item).
    const stored =
      verdict.width !== undefined && verdict.height !== undefined
        ? { width: verdict.width, height: verdict.height }
        : await headDimensions(this.#head, format.ext)
    // As shown, as the transform stage reports it: a portrait photo stored landscape (EXIF
    // orientation 6) is portrait in the manifest whether or not a transform option is given.
    const parts = this.#head
    const first = (parts[0] ?? Buffer.alloc(0)).subarray(0, HEAD_BYTES)
    const whole =
      parts.length > 1 && first.length < HEAD_BYTES ? () => this.head.subarray(0, HEAD_BYTES) : undefined
    const size = upright(stored, headOrientation(first, whole, format.ext))
    return { ok: true, checked: { sha256, ext: format.ext, ...size } }
  }

  /** The file was abandoned: free what the hash holds. */
  discard(): void {
    this.#hash?.discard()
  }
}

/**
 * A first chunk this long holds every size field that sits at a fixed place near a file's start (the
 * furthest, a VP8X WebP's canvas, ends at byte 30); sizes further in are read by readers that check
 * their bounds, and give nothing when the chunk stops short of them.
 */
const FIRST_CHUNK_ENOUGH = 4096

/**
 * Width and height from the head's first chunk, or from the whole head when they lie beyond it. A
 * shorter first chunk (a server that flushes the first bytes alone) is not read alone: image-size's
 * readers take the fields past its end for zeros, or read on into whatever shares its memory.
 */
async function headDimensions(parts: Buffer[], ext: string): Promise<{ width?: number; height?: number }> {
  const whole = parts.length === 1
  if (whole || parts[0].length >= FIRST_CHUNK_ENOUGH) {
    const first = await dimensions(parts[0], ext)
    if (first.width !== undefined || whole) return first
  }
  return dimensions(Buffer.concat(parts).subarray(0, HEAD_BYTES), ext)
}

/** A `hash-mismatch`'s reason: `sha256 is <got>, not <expected> as the input says` (read back by `HASH_MISMATCH_REASON`). */
export const hashMismatchReason = (type: string, got: string | undefined, expected: string): string =>
  `${type} is ${got}, not ${expected} as the input says`

/**
 * `hashMismatchReason`'s words at the end of a failure's message (after its URL): the hash type and
 * the expected digest, for a journal written before it recorded what a failure was checked against.
 */
export const HASH_MISMATCH_REASON = /(?:^|: )(sha256|md5) is [0-9a-f]+, not ([0-9a-f]+) as the input says$/
