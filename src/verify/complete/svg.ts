import { TextDecoder } from 'node:util'
import { isSpace, svgMayBegin, utf16 } from '../svg.js'
import { COMPLETE, type CompletenessCheck, corrupt, truncated, type Verdict } from './types.js'

const At = {
  /** Between markup: before the root element, inside it, or after it (see `#depth`, `#closed`). */
  Text: 0,
  /** Just past `<`. */
  Open: 1,
  /** Past `<!`: gathering enough to tell a comment, CDATA or a doctype apart. */
  Bang: 2,
  Comment: 3,
  Cdata: 4,
  Pi: 5,
  Doctype: 6,
  StartTag: 7,
  EndTag: 8,
} as const
type At = (typeof At)[keyof typeof At]

const BOM = [0xef, 0xbb, 0xbf]
/** Depth up to which element names are kept to match end tags against (see `#names`). */
const NAMES = 4096
/** Bytes of a name kept: names that long are compared by them alone. */
const NAME_BYTES = 256
const AMP = 0x26
const SEMICOLON = 0x3b
/** The entities XML defines itself (XML 1.0 §4.6): any other must be declared in a doctype. */
const XML_ENTITIES = new Set(['lt', 'gt', 'amp', 'apos', 'quot'])
/** Longest reference between `&` and `;` read: longer is no reference any parser takes. */
const REF_BYTES = 64
const LT = 0x3c
const GT = 0x3e

/**
 * SVG as XML (XML 1.0 §2): a light tokenizer that tracks element depth through start, end and empty-element
 * tags, comments, CDATA sections, processing instructions and the doctype (with its internal subset),
 * honouring quoted attribute values, and scanning text with `indexOf`. Whole when the root element is closed
 * (`</svg>`, or `<svg .../>`) and only whitespace, comments and processing instructions follow; anything
 * else after the root is corrupt, as XML parsers (and so browsers) refuse it, and so is an end tag that
 * does not name the element it closes (`<g></h>`), a bare `&`, or an entity no doctype declares
 * (`&nbsp;`). It does not check attribute syntax: a sniffed SVG whose markup nests is taken as whole.
 * A UTF-16 SVG (a byte order mark, or a declaration in UTF-16: see `utf16`) is read in UTF-8, as its
 * decoder gives it (the byte offsets its verdicts name are then that text's); one that ends inside a
 * character is cut.
 */
export class SvgCheck implements CompletenessCheck {
  readonly #xml = new XmlCheck()
  /** The first bytes, until there are enough to tell UTF-16 (see `utf16`); undefined once told. */
  #head: Uint8Array | undefined = new Uint8Array(0)
  /** A UTF-16 body's decoder, whose UTF-8 the check reads; and the bytes it was given. */
  #decoder: TextDecoder | undefined
  #bytes = 0

  update(chunk: Uint8Array): void {
    let bytes = chunk
    if (this.#head) {
      if (this.#head.length > 0) bytes = Buffer.concat([this.#head, chunk])
      if (bytes.length < 4) {
        this.#head = bytes
        return
      }
      this.#head = undefined
      const encoding = utf16(bytes)
      if (encoding) this.#decoder = new TextDecoder(encoding)
    }
    if (!this.#decoder) {
      this.#xml.update(bytes)
      return
    }
    this.#bytes += bytes.length
    const text = this.#decoder.decode(bytes, { stream: true })
    if (text.length > 0) this.#xml.update(Buffer.from(text, 'utf8'))
  }

  async end(): Promise<Verdict> {
    if (this.#head && this.#head.length > 0) {
      // Fewer bytes than tell the encoding: a byte order mark or a UTF-16 `<?` begun is cut.
      if (svgMayBegin(this.#head)) return truncated('SVG ends before its root element')
      this.#xml.update(this.#head)
    }
    if (this.#decoder) {
      if (this.#bytes % 2 === 1) return truncated('SVG in UTF-16 ends inside a character')
      const text = this.#decoder.decode()
      if (text.length > 0) this.#xml.update(Buffer.from(text, 'utf8'))
    }
    return this.#xml.end()
  }
}

/** `SvgCheck` on UTF-8 (or ASCII) bytes. */
class XmlCheck implements CompletenessCheck {
  #at: At = At.Text
  #base = 0
  #verdict: Verdict | undefined
  #depth = 0
  #closed = false
  #started = false
  /** Bytes after `<!` seen so far (Bang). */
  #bang = ''
  /** Consecutive `-`, `]` or `?` just before the current position, for `-->`, `]]>` and `?>` across chunks. */
  #run = 0
  /** In a tag or the doctype: the quote being inside of (0: none); the byte before the current one. */
  #quote = 0
  #last = 0
  /** Doctype: inside its internal subset; inside a comment there (then `#run` counts dashes). */
  #subset = false
  #subsetComment = false
  #subsetOpen = ''
  /** Bytes of a byte order mark seen at the start. */
  #bom = 0
  /** A processing instruction's target while it is read (its first 4 bytes at most); undefined once read. */
  #target: string | undefined
  /** Where the processing instruction being read starts (its `<`). */
  #piAt = 0
  /**
   * The names of the elements open, outermost first (up to `NAMES` deep; deeper ones are counted by
   * `#depth` alone), each end tag checked against the last: XML parsers stop at a mismatched end tag
   * (`<g></h>`), and browsers show no image.
   */
  readonly #names: string[] = []
  /** The name of the tag being read (its first `NAME_BYTES` bytes), while it is read. */
  #name = ''
  #naming = false
  /** Where the end tag being read starts (its `<`). */
  #tagAt = 0
  /** The reference being read, after its `&` (undefined: none), and where its `&` is. */
  #ref: string | undefined
  #refAt = 0
  /** A doctype was seen: entities may be declared there (or in its external subset), so any name goes. */
  #doctyped = false

  update(chunk: Uint8Array): void {
    const n = chunk.length
    let i = 0
    while (i < n && !this.#verdict) {
      switch (this.#at) {
        case At.Text:
          i = this.#text(chunk, i)
          break
        case At.Open:
          i = this.#open(chunk[i], i)
          break
        case At.Bang:
          i = this.#bangByte(chunk[i], i)
          break
        case At.Comment:
          i = this.#until(chunk, i, 0x2d, 2)
          break
        case At.Cdata:
          i = this.#until(chunk, i, 0x5d, 2)
          break
        case At.Pi:
          i = this.#target === undefined ? this.#until(chunk, i, 0x3f, 1) : this.#piTarget(chunk, i)
          break
        case At.Doctype:
          i = this.#doctype(chunk, i)
          break
        case At.StartTag:
          i = this.#startTag(chunk, i)
          break
        case At.EndTag: {
          const j = chunk.indexOf(GT, i)
          if (this.#name.length < NAME_BYTES) this.#name += latin1(chunk, i, j === -1 ? n : j)
          if (j === -1) i = n
          else {
            i = j + 1
            this.#at = At.Text
            this.#endTag()
            if (--this.#depth === 0) this.#closed = true
          }
          break
        }
      }
    }
    this.#base += n
  }

  /** Text from `i`: inside the root anything up to `<`; outside it only whitespace. */
  #text(chunk: Uint8Array, i: number): number {
    if (this.#depth > 0) {
      const j = chunk.indexOf(LT, i)
      this.#refs(chunk, i, j === -1 ? chunk.length : j, j !== -1)
      if (j === -1) return chunk.length
      this.#at = At.Open
      return j + 1
    }
    for (; i < chunk.length; i++) {
      const c = chunk[i]
      // A UTF-8 byte order mark may open the document.
      if (this.#base + i < 3 && c === BOM[this.#base + i] && this.#bom === this.#base + i) {
        this.#bom++
        continue
      }
      if (c === LT) {
        this.#at = At.Open
        return i + 1
      }
      if (!isSpace(c)) {
        this.#verdict = this.#closed
          ? corrupt(`SVG has content after its root element, at byte ${this.#base + i}`)
          : corrupt(`SVG has text before its root element, at byte ${this.#base + i}`)
        return i
      }
    }
    return i
  }

  /** The byte after `<`. */
  #open(c: number, i: number): number {
    if (c === 0x21) {
      this.#at = At.Bang
      this.#bang = ''
    } else if (c === 0x3f) {
      this.#enter(At.Pi)
      this.#target = ''
      this.#piAt = this.#base + i - 1
    } else if (c === 0x2f) {
      if (this.#depth === 0)
        this.#verdict = corrupt(`SVG has an end tag outside its root, at byte ${this.#base + i}`)
      this.#at = At.EndTag
      this.#name = ''
      this.#tagAt = this.#base + i - 1
    } else {
      if (this.#closed) {
        this.#verdict = corrupt(`SVG has content after its root element, at byte ${this.#base + i}`)
        return i
      }
      this.#at = At.StartTag
      this.#quote = 0
      this.#last = c
      this.#name = String.fromCharCode(c)
      this.#naming = true
    }
    return i + 1
  }

  /**
   * Entity and character references in text or an attribute value, bytes `from` to `to` (XML 1.0
   * §4.1): `&name;`, `&#n;`, `&#xh;`. A bare `&`, a reference cut by markup or the value's quote
   * (`ended`), or, with no doctype, a name XML does not define (`&nbsp;`, HTML's) is corrupt: XML
   * parsers stop there, and browsers show no image.
   */
  #refs(chunk: Uint8Array, from: number, to: number, ended: boolean): void {
    for (let k = from; k < to && !this.#verdict; ) {
      if (this.#ref === undefined) {
        const a = chunk.indexOf(AMP, k)
        if (a === -1 || a >= to) break
        this.#ref = ''
        this.#refAt = this.#base + a
        k = a + 1
        continue
      }
      const c = chunk[k++]
      if (c === SEMICOLON) this.#reference()
      else if (this.#ref.length >= REF_BYTES || !isNameByte(c)) this.#badRef()
      else this.#ref += String.fromCharCode(c)
    }
    if (ended && this.#ref !== undefined && !this.#verdict) this.#badRef()
  }

  /** A reference read to its `;`. */
  #reference(): void {
    const ref = this.#ref!
    this.#ref = undefined
    if (ref.startsWith('#')) {
      if (!/^#(?:[0-9]+|x[0-9a-fA-F]+)$/.test(ref)) this.#badRef(ref)
    } else if (!/^[^0-9.\-#][^#]*$/.test(ref)) this.#badRef(ref)
    else if (!this.#doctyped && !XML_ENTITIES.has(ref))
      this.#verdict = corrupt(
        `SVG uses the entity &${ref}; at byte ${this.#refAt}, which XML does not define and no doctype declares`,
      )
  }

  #badRef(ref = this.#ref): void {
    this.#verdict = corrupt(`SVG has a bare & at byte ${this.#refAt}${ref ? ` (&${ref.slice(0, 16)})` : ''}`)
  }

  /** An end tag's name (read into `#name`) against the element it closes. */
  #endTag(): void {
    const name = this.#name.slice(0, NAME_BYTES).trimEnd()
    this.#name = ''
    if (this.#depth > this.#names.length) return
    const open = this.#names.pop()
    if (open !== undefined && open !== name)
      this.#verdict = corrupt(
        `SVG has the end tag </${name}> at byte ${this.#tagAt} where </${open}> belongs`,
      )
  }

  #bangByte(c: number, i: number): number {
    this.#bang += String.fromCharCode(c)
    const b = this.#bang
    if (b === '--') this.#enter(At.Comment)
    else if (b === '[CDATA[' && this.#depth > 0) this.#enter(At.Cdata)
    else if (b === 'DOCTYPE' && !this.#started && this.#depth === 0) {
      this.#at = At.Doctype
      this.#doctyped = true
      this.#quote = 0
      this.#subset = false
      this.#subsetComment = false
    } else if (!'--'.startsWith(b) && !'[CDATA['.startsWith(b) && !'DOCTYPE'.startsWith(b)) {
      this.#verdict = corrupt(`SVG has a stray <!${b} at byte ${this.#base + i - b.length - 1}`)
    }
    return i + 1
  }

  #enter(at: At): void {
    this.#at = at
    this.#run = 0
  }

  /**
   * Inside a comment, CDATA section or processing instruction: past the `>` that follows `count` bytes of
   * `mark` (`-->`, `]]>`, `?>`), or the chunk's end.
   */
  #until(chunk: Uint8Array, i: number, mark: number, count: number): number {
    const from = i
    for (let j = chunk.indexOf(GT, i); j !== -1; j = chunk.indexOf(GT, j + 1)) {
      let marks = 0
      for (let k = j - 1; k >= from && chunk[k] === mark && marks < count; k--) marks++
      if (marks === j - from) marks = Math.min(count, marks + this.#run)
      if (marks >= count) {
        this.#at = At.Text
        return j + 1
      }
    }
    // Keep how many marks end this chunk, for a `>` at the start of the next.
    let trailing = 0
    for (let k = chunk.length - 1; k >= from && chunk[k] === mark && trailing < count; k--) trailing++
    this.#run = trailing === chunk.length - from ? Math.min(count, trailing + this.#run) : trailing
    return chunk.length
  }

  /**
   * A processing instruction's target, up to the white space or `?` after it (left for `#until`). The
   * target `xml`, in any case, is the XML declaration, allowed only as the document's first bytes
   * (XML 1.0 §2.8, after a byte order mark): elsewhere, white space or a comment before it, XML
   * parsers stop ("XML declaration allowed only at the start of the document") and browsers show
   * no image.
   */
  #piTarget(chunk: Uint8Array, i: number): number {
    for (; i < chunk.length; i++) {
      const c = chunk[i]
      if (isSpace(c) || c === 0x3f || this.#target!.length > 3) {
        const target = this.#target!
        this.#target = undefined
        if (target !== 'xml' && target.toLowerCase() === 'xml')
          this.#verdict = corrupt(`SVG has a processing instruction named ${target} at byte ${this.#piAt}`)
        else if (target === 'xml' && this.#piAt !== this.#bom)
          this.#verdict = corrupt(
            `SVG has an XML declaration at byte ${this.#piAt}: XML allows one only as the first bytes`,
          )
        return i
      }
      this.#target += String.fromCharCode(c)
    }
    return i
  }

  /** A start tag: quoted values may hold `>`; `/>` closes an empty element. */
  #startTag(chunk: Uint8Array, i: number): number {
    for (; i < chunk.length; i++) {
      const c = chunk[i]
      if (this.#naming) {
        if (isSpace(c) || c === 0x2f || c === GT) this.#naming = false
        else if (this.#name.length < NAME_BYTES) this.#name += String.fromCharCode(c)
      }
      if (this.#quote) {
        const j = chunk.indexOf(this.#quote, i)
        this.#refs(chunk, i, j === -1 ? chunk.length : j, j !== -1)
        if (j === -1) return chunk.length
        i = j
        this.#last = this.#quote
        this.#quote = 0
        continue
      }
      if (c === 0x22 || c === 0x27) this.#quote = c
      else if (c === GT) {
        const empty = this.#last === 0x2f
        this.#at = At.Text
        this.#started = true
        if (!empty) {
          if (this.#depth === this.#names.length && this.#depth < NAMES) this.#names.push(this.#name)
          this.#depth++
        } else if (this.#depth === 0) this.#closed = true
        return i + 1
      }
      this.#last = c
    }
    return i
  }

  /** The doctype up to its `>`, past quoted strings and the internal subset (with its comments). */
  #doctype(chunk: Uint8Array, i: number): number {
    for (; i < chunk.length; i++) {
      const c = chunk[i]
      if (this.#subsetComment) {
        if (c === GT && this.#run >= 2) this.#subsetComment = false
        this.#run = c === 0x2d ? this.#run + 1 : 0
      } else if (this.#quote) {
        if (c === this.#quote) this.#quote = 0
      } else if (c === 0x22 || c === 0x27) this.#quote = c
      else if (this.#subset) {
        this.#subsetOpen = (this.#subsetOpen + String.fromCharCode(c)).slice(-4)
        if (this.#subsetOpen === '<!--') {
          this.#subsetComment = true
          this.#run = 0
          this.#subsetOpen = ''
        } else if (c === 0x5d) this.#subset = false
      } else if (c === 0x5b) this.#subset = true
      else if (c === GT) {
        this.#at = At.Text
        return i + 1
      }
    }
    return i
  }

  async end(): Promise<Verdict> {
    if (this.#verdict) return this.#verdict
    if (this.#closed && this.#at === At.Text) return COMPLETE
    if (!this.#started) return truncated('SVG ends before its root element')
    return truncated(
      this.#closed ? 'SVG ends inside markup after its root' : 'SVG ends before its root element is closed',
    )
  }
}

/** Bytes `from` to `to` of a chunk as one character each (names compare byte for byte). */
function latin1(chunk: Uint8Array, from: number, to: number): string {
  return Buffer.from(chunk.buffer, chunk.byteOffset + from, Math.min(to - from, NAME_BYTES)).toString(
    'latin1',
  )
}

/** A byte of a name (XML 1.0 §2.3; any byte of a multi-byte UTF-8 character) or of a character reference. */
function isNameByte(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x5f ||
    c === 0x3a ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x23 ||
    c >= 0x80
  )
}
