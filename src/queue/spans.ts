import { lineText } from '../sources/lines.js'

/** One line of a text file: where it starts, where the next one starts (bytes), and its text. */
export interface LineSpan {
  start: number
  end: number
  text: string
}

const LF = 0x0a
const CR = 0x0d

/**
 * The lines of a byte stream with their byte offsets, as readers split them: on `\n` only (the
 * JSON lines reader), or also on a lone `\r` with `\r\n` as one break (`crToo`: Node's readline,
 * which reads URL lists). `base` is the offset of the stream's first byte in its file. Text is
 * decoded as UTF-8 line by line (a line break is ASCII, so no character is split; see `lineText` for
 * bytes that are not UTF-8), break excluded.
 */
export async function* lineSpans(
  stream: AsyncIterable<Buffer>,
  crToo: boolean,
  base = 0,
): AsyncGenerator<LineSpan> {
  let pos = base
  let partial: Buffer[] = []
  let partialStart = base
  /** The previous chunk ended with `\r`: a `\n` opening this one belongs to that break. */
  let pendingCr = false
  for await (const chunk of stream) {
    let lineStart = 0
    if (pendingCr) {
      pendingCr = false
      if (chunk[0] === LF) {
        lineStart = 1
        partialStart = pos + 1
      }
    }
    for (let i = lineStart; i < chunk.length; i++) {
      const b = chunk[i]
      if (b !== LF && !(crToo && b === CR)) continue
      let next = i + 1
      if (b === CR) {
        if (next < chunk.length) {
          if (chunk[next] === LF) next++
        } else pendingCr = true
      }
      const bytes = chunk.subarray(lineStart, i)
      const text = lineText(partial.length === 0 ? bytes : Buffer.concat([...partial, bytes]))
      partial = []
      yield { start: partialStart, end: pos + next, text }
      lineStart = next
      partialStart = pos + next
      i = next - 1
    }
    if (lineStart < chunk.length) partial.push(chunk.subarray(lineStart))
    pos += chunk.length
  }
  if (partial.length > 0) yield { start: partialStart, end: pos, text: lineText(Buffer.concat(partial)) }
}
