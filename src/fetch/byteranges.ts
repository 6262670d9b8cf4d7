import { ImgpullError } from '../errors.js'
import type { Validators } from '../types.js'
import { Body, type Sink } from './exchange.js'
import { type Answer, codingsOf, parseContentRange } from './judge.js'

/**
 * A resume's 206 in `multipart/byteranges` holding one part (RFC 9110 §14.6): a server must not
 * wrap the one range asked for so, but some servers and CDNs do. Such a body is taken apart only
 * where it cannot be taken wrong: one part whose own `Content-Range` is exactly the range asked
 * for (from the byte asked to the file's last) of the file's known size, under `If-Range` with a
 * strong validator; the part's bytes are then judged and spliced as a plain 206's are. Anything
 * else (several parts, another range, no boundary, a part that ends before its range does) is
 * refused as before: the whole file is asked for again.
 */

/** Most bytes before a part's own bytes: a preamble, the delimiter and the part's headers. */
export const PART_HEAD_LIMIT = 8192
/** Bytes held back past a part's boundary (see `PartBody`): `CRLF--`, `--CRLF` and an epilogue's first. */
const HELD_BACK = 72
/** Most bytes after the close delimiter (its line end, an epilogue). */
const EPILOGUE_LIMIT = 1024

/** The `boundary` parameter of a `multipart/...` Content-Type (RFC 2046 §5.1.1: 1 to 70 characters). */
export function boundaryOf(contentType: string | undefined): string | undefined {
  const m = /;\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s;",]{1,70}))/i.exec(contentType ?? '')
  return m?.[1] ?? m?.[2]
}

/** The start of a multipart body, up to its first part's own bytes. */
export type PartHead =
  /** More bytes are needed to tell. */
  | { more: true }
  /** Not a part this client can read. */
  | { why: string }
  /** The first part's headers (names lower-cased), and where its bytes begin in the bytes read. */
  | { headers: Record<string, string>; body: number }

/**
 * Read the first part's head from the first bytes of a multipart body: a preamble (ignored), the
 * delimiter `--BOUNDARY` at the start of a line, its line end, the part's header fields and an
 * empty line. Pure.
 */
export function readPartHead(bytes: Buffer, boundary: string): PartHead {
  const dash = Buffer.from(`--${boundary}`)
  let at = bytes.indexOf(dash)
  while (at > 0 && bytes[at - 1] !== 0x0a) at = bytes.indexOf(dash, at + 1)
  if (at < 0) {
    return bytes.length > PART_HEAD_LIMIT
      ? { why: `no delimiter --${boundary} in its first ${PART_HEAD_LIMIT} bytes` }
      : { more: true }
  }
  const text = bytes.toString('latin1', at + dash.length, Math.min(bytes.length, PART_HEAD_LIMIT + 1))
  if (text.startsWith('--')) return { why: 'it closes before any part' }
  const blank = /\r?\n\r?\n/.exec(text)
  if (!blank) {
    return at + dash.length + text.length > PART_HEAD_LIMIT
      ? { why: `its first part's headers run past ${PART_HEAD_LIMIT} bytes` }
      : { more: true }
  }
  const [padding, ...lines] = text.slice(0, blank.index).split(/\r?\n/)
  // Only transport padding (spaces, tabs) may follow the delimiter on its line.
  if (/[^ \t]/.test(padding)) return { why: `its delimiter line goes on with ${JSON.stringify(padding)}` }
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):(.*)$/.exec(line)
    if (!m) return { why: `its part's header line ${JSON.stringify(line.slice(0, 80))} does not parse` }
    const name = m[1].toLowerCase()
    if (headers[name] !== undefined) return { why: `its part names ${name} twice` }
    headers[name] = m[2].trim()
  }
  return { headers, body: at + dash.length + blank.index + blank[0].length }
}

/**
 * What a resume's multipart 206 stands for, from its one part's headers: the 206 its part is
 * (the answer's own headers, the part's `Content-Range` and `Content-Type`, the part's length),
 * to be judged as any 206 (validators, overlap); or why it is not taken apart. `first`: the first
 * byte asked for; `ifRange`: the request carried `If-Range` (with a strong validator: see
 * `ifRangeValue`), without which the server may have answered with another version's bytes. Pure.
 */
export function partAnswer(
  asked: { first: number; known: Validators; ifRange: boolean },
  answer: Answer,
  part: Record<string, string>,
): { answer: Answer; length: number } | { why: string } {
  if (!asked.ifRange) return { why: 'asked without If-Range, so nothing but its range vouches for the part' }
  if (
    codingsOf(answer.headers['content-encoding']).length > 0 ||
    codingsOf(part['content-encoding']).length > 0
  )
    return { why: 'it is content-encoded' }
  const named = part['content-range']
  const range = parseContentRange(named)
  if (range?.start === undefined || range.total === undefined)
    return { why: `its part names no usable Content-Range (${named ?? 'none'})` }
  if (range.start !== asked.first || range.end !== range.total - 1)
    return {
      why: `its part holds bytes ${range.start}-${range.end}/${range.total}, not the range asked for (byte ${asked.first} to the end)`,
    }
  if (asked.known.length !== undefined && range.total !== asked.known.length)
    return { why: `its part is of a ${range.total}-byte file, not of the ${asked.known.length} bytes known` }
  const length = range.end! - range.start + 1
  const headers: Answer['headers'] = {
    ...answer.headers,
    'content-range': named,
    'content-length': String(length),
  }
  if (part['content-type'] !== undefined) headers['content-type'] = part['content-type']
  else delete headers['content-type']
  return { answer: { status: 206, headers }, length }
}

/**
 * What may follow a part's last byte: its close delimiter (`CRLF--BOUNDARY--`, RFC 2046 §5.1.1)
 * and then anything (padding, a line end, an epilogue); `more` when `after` is too short to tell.
 * Pure.
 */
export function afterPart(after: Buffer, boundary: string): 'more' | 'closed' | { why: string } {
  const close = Buffer.from(`\r\n--${boundary}--`)
  const n = Math.min(after.length, close.length)
  if (after.subarray(0, n).equals(close.subarray(0, n))) return n === close.length ? 'closed' : 'more'
  const next = Buffer.from(`\r\n--${boundary}`)
  return after.subarray(0, next.length).equals(next)
    ? { why: 'a second part follows the first' }
    : { why: "bytes follow its part's range other than the close delimiter" }
}

/**
 * A multipart body this client would not take apart after all, seen in its bytes: the attempt
 * asks for the whole file again, as for a multipart answer refused on its head (see `download`).
 */
export class WrappedBadly extends ImgpullError {
  constructor(
    shown: string,
    readonly why: string,
  ) {
    super('bad-range', `${shown}: a 206 in multipart/byteranges cannot be taken apart: ${why}`, {
      retryable: true,
    })
  }
}

/**
 * The body of a multipart 206 as its one part's bytes: its head read first (`head()`), then the
 * part's `length` bytes handed to the sink of `consume` as a plain 206's body would be, the close
 * delimiter checked after them. The last bytes of the part are held back until more come: a part
 * that ends before its range does shows its delimiter among them at the end of the body, and
 * they are not kept (a cut there costs them, asked for again by the next resume).
 */
export class PartBody extends Body {
  readonly #inner: Body
  get socket(): object | undefined {
    return this.#inner.socket
  }
  readonly #boundary: string
  readonly #shown: string
  /** The part's bytes, once known (see `expect`). */
  #length = 0
  #state: 'head' | 'wait' | 'part' | 'after' | 'drop' = 'head'
  /** Bytes read and not yet passed on: the head so far, then what follows it, then those held back. */
  #held: Buffer = Buffer.alloc(0)
  /** Part bytes passed to the sink. */
  #passed = 0
  #sink: Sink | undefined
  /** Lets the parser go on once the rest has a sink (`consume`, `dump`) or the body is cut. */
  #attach: ((passed: void | Promise<void>) => void) | undefined
  #head: Promise<PartHead>
  #settleHead!: (head: PartHead) => void
  readonly #done: Promise<void>

  constructor(inner: Body, boundary: string, shown: string) {
    super()
    this.#inner = inner
    this.#boundary = boundary
    this.#shown = shown
    let failHead!: (error: unknown) => void
    this.#head = new Promise<PartHead>((resolve, reject) => {
      this.#settleHead = resolve
      failHead = reject
    })
    this.#done = inner.consume((chunk) => this.#take(chunk))
    // Ended or cut before the part's head: a cut is the failure; an end, a body with no part.
    this.#done.then(
      () => this.#settleHead({ why: 'it ends before its first part begins' }),
      (error) => failHead(error),
    )
  }

  /** The first part's head (see `readPartHead`); rejects when the body is cut before it. */
  head(): Promise<PartHead> {
    return this.#head
  }

  /** The part's length, from its `Content-Range`: bytes past it must be its close delimiter. */
  expect(length: number): void {
    this.#length = length
  }

  override consume(sink: Sink): Promise<void> {
    this.#sink = sink
    const attach = this.#attach
    this.#attach = undefined
    if (attach) {
      const rest = this.#held
      this.#held = Buffer.alloc(0)
      if (this.#state === 'wait') this.#state = 'part'
      try {
        attach(this.#state === 'part' ? this.#part(rest) : rest.length > 0 ? sink(rest) : undefined)
      } catch (error) {
        attach(Promise.reject(error))
      }
    }
    return this.#done.then(() => this.#ended())
  }

  override dump(): Promise<void> {
    // Thrown away: its bytes as they come, read no further.
    this.#state = 'drop'
    return super.dump()
  }

  override abort(reason: unknown): void {
    this.#inner.abort(reason)
    this.#state = 'drop'
    const attach = this.#attach
    this.#attach = undefined
    attach?.()
  }

  #take(chunk: Buffer): void | Promise<void> {
    switch (this.#state) {
      case 'drop':
        return this.#sink?.(chunk)
      case 'head': {
        this.#held = this.#held.length === 0 ? chunk : Buffer.concat([this.#held, chunk])
        const head = readPartHead(this.#held, this.#boundary)
        if ('more' in head) return
        if ('body' in head) this.#held = this.#held.subarray(head.body)
        this.#state = 'wait'
        this.#settleHead(head)
        // The rest waits (the parser paused) for `consume` or `discard`.
        return new Promise<void>((resolve) => {
          this.#attach = resolve
        })
      }
      case 'wait':
        // Not reached: the parser is paused while waiting.
        this.#held = Buffer.concat([this.#held, chunk])
        return
      case 'part':
        return this.#part(chunk)
      case 'after':
        this.#after(chunk)
        return
    }
  }

  /** Part bytes, and what follows them: the sink gets all but the last few until the part is whole. */
  #part(chunk: Buffer): void | Promise<void> {
    const want = this.#length - this.#passed - this.#held.length
    const mine = chunk.subarray(0, want)
    const rest = chunk.subarray(mine.length)
    const held = this.#held.length === 0 ? mine : Buffer.concat([this.#held, mine])
    const whole = this.#passed + held.length === this.#length
    // Held back: as many as the close delimiter that would end a short part takes, its line end
    // and a short epilogue.
    const keep = whole ? 0 : Math.min(held.length, this.#boundary.length + HELD_BACK)
    const pass = held.subarray(0, held.length - keep)
    this.#held = held.subarray(held.length - keep)
    this.#passed += pass.length
    if (whole) {
      this.#state = 'after'
      if (rest.length > 0) this.#after(rest)
    }
    return pass.length > 0 ? this.#sink!(pass) : undefined
  }

  #after(chunk: Buffer): void {
    this.#held = this.#held.length === 0 ? chunk : Buffer.concat([this.#held, chunk])
    const said = afterPart(this.#held, this.#boundary)
    if (typeof said === 'object') throw new WrappedBadly(this.#shown, said.why)
    if (said === 'closed' && this.#held.length > this.#boundary.length + 6 + EPILOGUE_LIMIT)
      throw new WrappedBadly(this.#shown, `more than ${EPILOGUE_LIMIT} bytes follow its close delimiter`)
  }

  /** The body ended: whole, with its close delimiter, or cut short of it. */
  #ended(): void {
    if (this.#state === 'drop') return
    if (this.#state === 'part') {
      // Ended before the part's last byte: its delimiter among the bytes held back shows a part
      // shorter than its range; else the bytes held back are not kept (a cut: resumed after).
      if (this.#held.includes(`\n--${this.#boundary}`))
        throw new WrappedBadly(this.#shown, 'its part ends before the range it names')
      return
    }
    if (this.#state === 'after' && afterPart(this.#held, this.#boundary) !== 'closed')
      throw new WrappedBadly(this.#shown, 'it ends without its close delimiter')
  }
}
