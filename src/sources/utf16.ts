import { pipeline, type Readable, Transform } from 'node:stream'

/**
 * The byte order of UTF-16 text, as `TextDecoder` names it. Windows saves "Unicode" text so
 * (PowerShell 5's `>`, Notepad's "Unicode", Excel's "Unicode Text": UTF-16LE with a byte order
 * mark), and a person there has no `iconv` to convert it with.
 */
export type Utf16 = 'utf-16le' | 'utf-16be'

/**
 * Whether text read byte for byte (latin1, or UTF-8 that let NULs through) is UTF-16: its byte
 * order mark, or a NUL beside every other character, as ASCII in UTF-16 has (zeros ending the
 * sample left out).
 */
function looksUtf16(sample: string): boolean {
  if (sample.startsWith('\xff\xfe') || sample.startsWith('\xfe\xff') || sample.startsWith('\ufffd\ufffd'))
    return true
  // Zeros to the sample's end are no text's (a file zero-filled from a cut, `ZeroFilled`): UTF-16
  // holds two together only for U+0000.
  const head = sample.replace(/\0{2,}$/, '').slice(0, 200)
  let nuls = 0
  for (const c of head) if (c === '\0') nuls++
  return head.length >= 8 && nuls * 3 >= head.length
}

/**
 * The UTF-16 a file's first bytes (`head`) are in, `undefined` when they are not UTF-16
 * (`looksUtf16`): big-endian for `FE FF` first, or NULs before (not after) its ASCII characters.
 */
export function utf16Of(head: Buffer): Utf16 | undefined {
  if (!looksUtf16(head.toString('latin1'))) return undefined
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be'
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le'
  let even = 0
  let odd = 0
  for (let i = 0; i < head.length; i++) if (head[i] === 0) i % 2 === 0 ? even++ : odd++
  return even > odd ? 'utf-16be' : 'utf-16le'
}

/**
 * UTF-16 text (`raw`, in `encoding`) as UTF-8 bytes, streamed in constant memory: its byte order
 * mark dropped, a character cut by a chunk's end finished by the next, a lone surrogate U+FFFD (the
 * WHATWG Encoding Standard's decoder, `TextDecoder`). Errors of `raw` surface on the stream.
 */
export function fromUtf16(raw: Readable, encoding: Utf16): Readable {
  const decoder = new TextDecoder(encoding)
  const utf8 = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      done(null, Buffer.from(decoder.decode(chunk, { stream: true }), 'utf8'))
    },
    flush(done) {
      done(null, Buffer.from(decoder.decode(), 'utf8'))
    },
  })
  return pipeline(raw, utf8, () => {})
}

/** The first bytes of UTF-16 text (`head`) as UTF-8 bytes, a character cut at their end left out. */
export function utf16Head(head: Buffer, encoding: Utf16): Buffer {
  return Buffer.from(new TextDecoder(encoding).decode(head, { stream: true }), 'utf8')
}
