/**
 * Reads `length` bytes of the whole body at `offset` (the body is on disk when a check ends). May return fewer
 * bytes where the body is shorter.
 */
export type ReadBack = (offset: number, length: number) => Promise<Uint8Array>

/**
 * What a completeness check found.
 * - complete: the body holds the whole structure of its format. `unchecked` says what could not be checked
 *   without decoding (a bare JPEG XL codestream), or that the structure could end where the body did
 *   (a GIF without its trailer): whole only if the transfer's framing says the body ended there; `width`/`height` are the stored dimensions the walk read on
 *   its way (JPEG's frame header, TIFF's first page, HEIF/AVIF's primary item): exact, and found wherever in
 *   the body they lie, where `dimensions()` reads only the head.
 * - not complete: `truncated` when the body ends before its structure does (a later transfer may get it
 *   whole), `corrupt` when the structure itself is broken (a length that cannot be, a block of no known kind,
 *   bytes after the end where the format's readers refuse them). `reason` is one short line.
 */
export type Verdict =
  | { complete: true; unchecked?: string; width?: number; height?: number }
  | { complete: false; kind: 'truncated' | 'corrupt'; reason: string }

/** Decides whether a body is a whole file of its format, from its bytes as they stream. */
export interface CompletenessCheck {
  /**
   * Feed the next bytes of the body, in order, from byte 0 (a resumed transfer feeds the prefix on disk
   * first). Cheap: payloads are skipped by their declared lengths, entropy-coded data is scanned with
   * `indexOf`; nothing is copied but headers. The chunk is not kept.
   */
  update(chunk: Uint8Array): void
  /**
   * After the last byte. `read` reads back bytes of the whole body, for formats whose structure is
   * random-access (TIFF's IFDs and strips); the others never call it. Never rejects on a malformed body
   * (that is a verdict); rejects only when `read` does.
   */
  end(read: ReadBack): Promise<Verdict>
}

export const truncated = (reason: string): Verdict => ({ complete: false, kind: 'truncated', reason })
export const corrupt = (reason: string): Verdict => ({ complete: false, kind: 'corrupt', reason })
export const COMPLETE = Object.freeze({ complete: true as const })
