import { jpegScansWhole } from './jpeg-scans.js'
import { COMPLETE, type CompletenessCheck, corrupt, type ReadBack, truncated, type Verdict } from './types.js'

const At = {
  Start: 0,
  Marker: 1,
  Length: 2,
  Skip: 3,
  Scan: 4,
} as const
type At = (typeof At)[keyof typeof At]

const SOS = 0xda
const EOI = 0xd9
const DRI = 0xdd
/** Nothing to match: a segment held whole (a frame header, a scan header, a restart interval). */
const WHOLE = Buffer.alloc(0)
const APP1 = 0xe1
const APP2 = 0xe2
/** `MPF\0`: an APP2 segment holding a Multi-Picture Format index (CIPA DC-007). */
const MPF = Buffer.from('MPF\0', 'latin1')
/** What an APP1 segment holding XMP begins with (XMP Specification Part 3, §1.1.3). */
const XMP = Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1')
/**
 * The largest body without an end-of-image marker whose scans are walked (read back whole, on the
 * thread that judges it, code by code); a larger one stays refused.
 */
const WALK_LIMIT = 8 * 1024 * 1024
/** What a JPEG that lacks only its end-of-image marker is whole but unchecked for. */
export const NO_EOI = 'JPEG has no end-of-image marker (its last scan is whole)'

/**
 * Where the last image an MPF index lists ends, as a byte offset in the file, or `undefined` when
 * the segment is not one it can read. `data`: the APP2 segment after its length; `at`: the file
 * offset of `data[0]`. CIPA DC-007 §5.2: after `MPF\0` comes a TIFF header (byte order, IFD offset);
 * the MP Index IFD's tag B002 (MPEntry) points at 16-byte entries: attributes, size, offset (from
 * that TIFF header; 0 for the first image, which is this one), two dependent-image numbers.
 */
export function mpfEnd(data: Uint8Array, at: number): number | undefined {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  if (b.length < 16 || !b.subarray(0, 4).equals(MPF)) return undefined
  const tiff = 4
  const order = b.toString('latin1', tiff, tiff + 2)
  if (order !== 'II' && order !== 'MM') return undefined
  const little = order === 'II'
  const u16 = (o: number) => (o + 2 <= b.length ? (little ? b.readUInt16LE(o) : b.readUInt16BE(o)) : -1)
  const u32 = (o: number) => (o + 4 <= b.length ? (little ? b.readUInt32LE(o) : b.readUInt32BE(o)) : -1)
  const ifd = tiff + u32(tiff + 4)
  const count = u16(ifd)
  if (count <= 0) return undefined
  for (let k = 0; k < count; k++) {
    const entry = ifd + 2 + 12 * k
    if (u16(entry) !== 0xb002) continue
    const length = u32(entry + 4)
    const first = tiff + u32(entry + 8)
    if (length < 16 || length % 16 !== 0 || first + length > b.length) return undefined
    let end = 0
    for (let e = first; e < first + length; e += 16) {
      const size = u32(e + 4)
      const offset = u32(e + 8)
      if (offset > 0) end = Math.max(end, at + tiff + offset + size)
    }
    return end > 0 ? end : undefined
  }
  return undefined
}

/**
 * How many bytes the XMP of a motion photo or an Ultra HDR JPEG (`data`: the APP1 segment after its
 * length) lists after the primary image's end-of-image marker, or `undefined` when it lists none it
 * can read. Google's Motion Photo format 1.0 and Ultra HDR: a `Container:Directory` whose first
 * `Container:Item` is the primary image and whose later items (a gain map, the video) follow it, each
 * `Item:Length` bytes and its `Item:Padding` after it, to the end of the file, where readers
 * (Android's media3) find them, counting back from that end.
 * Older motion photos (MicroVideo 1) say only `MicroVideoOffset`: the video's length, from the end of
 * the file. Attributes are read by the prefixes writers use (`Item:`, `GContainerItem:`), as media3
 * reads them; a directory written as elements, or an item without a length, is not read.
 */
export function xmpTail(data: Uint8Array): number | undefined {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  if (b.length < XMP.length || !b.subarray(0, XMP.length).equals(XMP)) return undefined
  const text = b.toString('latin1', XMP.length)
  const attribute = (element: string, name: string): number | undefined => {
    const found = new RegExp(`\\b(?:Item|GContainerItem):${name}\\s*=\\s*["']\\s*(\\d{1,15})\\s*["']`).exec(
      element,
    )
    return found ? Number(found[1]) : undefined
  }
  const directory = /<(?:G?Container):Directory\b[\s\S]*?<\/(?:G?Container):Directory\s*>/.exec(text)
  if (directory) {
    const items = directory[0].match(/<(?:G?Container):Item\b[^>]*>/g) ?? []
    if (items.length < 2) return undefined
    let tail = 0
    for (const [k, item] of items.entries()) {
      const length = attribute(item, 'Length')
      if (k > 0 && !length) return undefined
      tail += (k > 0 ? length! : 0) + (attribute(item, 'Padding') ?? 0)
    }
    return tail
  }
  const offset = /\bG?Camera:MicroVideoOffset\s*=\s*["']\s*(\d{1,15})\s*["']/.exec(text)
  return offset && Number(offset[1]) > 0 ? Number(offset[1]) : undefined
}

/**
 * An APPn segment held while its first bytes are `signature` (an MPF index, an XMP packet), and let
 * go as soon as they are not (an ICC profile, EXIF): only a segment that may be read is kept whole.
 */
class HeldSegment {
  readonly data: Uint8Array
  #have = 0
  /** `at`: the file offset of `data[0]`, the byte after the segment's length. */
  constructor(
    readonly marker: number,
    readonly signature: Buffer,
    size: number,
    readonly at: number,
  ) {
    this.data = new Uint8Array(size)
  }

  /** The segment's next bytes; false once its first bytes are not the signature. */
  take(bytes: Uint8Array): boolean {
    const have = this.#have
    this.data.set(bytes, have)
    this.#have += bytes.length
    if (have >= this.signature.length) return true
    const end = Math.min(this.#have, this.signature.length)
    return this.signature.subarray(have, end).equals(this.data.subarray(have, end))
  }
}

/** Progressive frames (Huffman, arithmetic): scans send bands of coefficients, bit by bit. */
export const PROGRESSIVE = new Set([0xc2, 0xca])
/** Sequential frames (baseline, extended, arithmetic): a scan sends its components whole. */
export const SEQUENTIAL = new Set([0xc0, 0xc1, 0xc9])

/**
 * Which component a JPEG's scans never send, said for a message (`a JPEG whose scans never send
 * component 2 of 3 ...`), or `undefined` when every component is sent. `sent`: per component id, in
 * frame order, whether a scan sent it (see `markSent`). A sequential scan sends its components
 * whole; a progressive one a band of coefficients to a bit, a component's DC first (ITU T.81
 * G.1.1.1.1), and a progressive file need not bring every coefficient to its last bit: a scan script
 * may stop short of it, or send only a component's DC (`cjpeg -scans`), which libjpeg's encoder
 * writes, asking of a progressive script only that each component's DC be sent (jcmaster.c's
 * validate_script: "the spec does not require that all bits of all coefficients be transmitted"),
 * and its decoder reads without a word. So only a component that no scan sends is short, as a file
 * cut between two scans and closed with an end marker leaves it (a sequential file whose components
 * come in scans of their own, a progressive one whose DC comes a component a scan): libjpeg decodes
 * it without a word, grey (libjpeg-turbo/libjpeg-turbo#343); its encoder refuses such a script
 * ("Scan script does not transmit all data").
 */
export function scansLeftShort(sent: Map<number, boolean>): string | undefined {
  let index = 0
  for (const whole of sent.values()) {
    index++
    if (whole) continue
    return `a JPEG whose scans never send component ${index} of ${sent.size} (a file cut between scans and closed with an end marker: a viewer shows it without that component's colour)`
  }
  return undefined
}

/**
 * Marks in `sent` the components a scan's header (`data`: Ns, then 2 bytes a component, T.81 B.2.3)
 * sends, those of the frame only; returns whether every component of the frame is now sent.
 */
export function markSent(sent: Map<number, boolean>, data: Uint8Array): boolean {
  for (let c = 0; c < (data[0] ?? 0); c++) if (sent.has(data[1 + 2 * c])) sent.set(data[1 + 2 * c], true)
  for (const whole of sent.values()) if (!whole) return false
  return true
}

/** Frame headers SOF0–SOF15, less DHT (C4), JPG (C8) and DAC (CC), which share the range. */
const isFrame = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc

/**
 * JPEG (ITU-T T.81 Annex B, with JFIF/EXIF application segments): SOI, marker segments walked by their
 * lengths (so an EXIF thumbnail's own FFD9 inside APP1 is skipped; bytes between a segment's end and the
 * next marker are passed over, as libjpeg passes them), a frame header, and after each SOS
 * the entropy-coded data, scanned for FF with `indexOf`: FF00 is a stuffed byte, FFD0–FFD7 a restart
 * marker, FFFF fill, any other FFxx the marker that ends the scan (DHT, DQT, DRI, the next SOS of a
 * progressive file, or EOI). Where a DRI segment sets a restart interval, a scan that ends with fewer
 * restart markers than its MCUs need (one after every interval but the last, T.81 §B.2.4.4) is
 * truncated: cut and closed with an EOI (brendan-duncan/image#230). Whole when EOI follows at least one scan, or, unchecked, when a body
 * without EOI ends where its last scan's MCUs do (`jpegScansWhole`: a writer that left EOI out). Bytes after EOI are allowed: cameras
 * and phones append a second image (MPF), a motion-photo video or padding there, and decoders stop at EOI.
 * Where an MPF index (APP2) says where the images after EOI end, a body that stops before that is
 * whole but `unchecked`: its primary image decodes, but the file is not all there unless the
 * transfer's framing says it ended there (an index can be stale after an edit). So is a body with
 * bytes after EOI (or after the images the index lists) that nothing accounts for: where a video
 * or trailer appended there ends, only the transfer's framing can say.
 * The verdict carries the frame header's width and height (stored, before any EXIF orientation).
 */
export class JpegCheck implements CompletenessCheck {
  #at: At = At.Start
  /** Bytes taken before the current chunk. */
  #base = 0
  /** Where the bytes after the primary image's end-of-image marker begin. */
  #eoiEnd = 0
  #verdict: Verdict | undefined
  /** The previous chunk ended on an FF (in a scan, or before a marker). */
  #ff = false
  #marker = 0
  #header = new Uint8Array(7)
  #have = 0
  #want = 0
  #skip = 0
  #scans = 0
  #width = 0
  #height = 0
  /** The segment being read, while it may be the primary image's MPF index (APP2) or XMP (APP1). */
  #held: HeldSegment | undefined
  /** Where the MPF index says the last image ends (0: no index read). */
  #mpfEnd = 0
  /** The bytes the XMP lists after the primary image's end-of-image marker (0: none read). */
  #xmpTail = 0
  /** The frame's components (id, horizontal and vertical sampling factors), from its header. */
  #components: { id: number; h: number; v: number }[] = []
  /** Frame headers (SOFn) read: the first gives the image's size and components; more, a hierarchical JPEG. */
  #frames = 0
  /** The restart interval in MCUs a DRI segment set (0: none). */
  #interval = 0
  /** In the scan's data: the restart markers it should hold, and those seen so far. */
  #restarts = { want: -1, seen: 0 }
  /**
   * Per component id, in frame order, whether a scan has sent it (see `scansLeftShort`); undefined
   * for a lossless or hierarchical frame, not looked at.
   */
  #sent: Map<number, boolean> | undefined

  update(bytes: Uint8Array): void {
    // Buffer's indexOf (memchr) is 2–3 times faster than Uint8Array's on scan data.
    const chunk = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const n = chunk.length
    let i = 0
    while (i < n && !this.#verdict) {
      switch (this.#at) {
        case At.Start:
          if (chunk[i] !== (this.#have === 0 ? 0xff : 0xd8)) {
            this.#verdict = corrupt('not a JPEG start-of-image marker')
            break
          }
          i++
          if (++this.#have === 2) this.#at = At.Marker
          break
        case At.Marker: {
          if (!this.#ff) {
            // Bytes where a marker belongs are skipped up to the next FF, as libjpeg's next_marker
            // skips them (a warning, "extraneous bytes before marker": browsers, Pillow and libvips
            // show the image); writers and webcams that get a segment's length wrong leave them.
            const j = chunk.indexOf(0xff, i)
            i = j === -1 ? n : j + 1
            this.#ff = j !== -1
            break
          }
          const b = chunk[i++]
          // FF 00 is a stuffed zero, no marker: skipped with the bytes above.
          if (b === 0) this.#ff = false
          else if (b !== 0xff) {
            this.#ff = false
            this.#onMarker(b, this.#base + i)
          }
          break
        }
        case At.Length: {
          const step = Math.min(this.#want - this.#have, n - i)
          this.#header.set(chunk.subarray(i, i + step), this.#have)
          this.#have += step
          i += step
          if (this.#have === this.#want) this.#onLength(this.#base + i)
          break
        }
        case At.Skip: {
          const step = Math.min(this.#skip, n - i)
          if (this.#held && !this.#held.take(chunk.subarray(i, i + step))) this.#held = undefined
          this.#skip -= step
          i += step
          if (this.#skip === 0) {
            this.#at = this.#marker === SOS ? At.Scan : At.Marker
            if (this.#held) this.#endHeld(this.#held)
          }
          break
        }
        case At.Scan:
          i = this.#scan(chunk, i)
          break
      }
    }
    this.#base += n
  }

  /** Entropy-coded data from `i`: returns where the scan stopped (the chunk's end, or past the marker that ends it). */
  #scan(chunk: Buffer, i: number): number {
    const n = chunk.length
    if (this.#ff) {
      const b = chunk[i]
      if (b === 0xff) return i + 1
      this.#ff = false
      if ((b & 0xf8) === 0xd0) this.#restarts.seen++
      else if (b !== 0) this.#onMarker(b, this.#base + i + 1)
      return i + 1
    }
    for (;;) {
      const j = chunk.indexOf(0xff, i)
      if (j === -1) return n
      if (j + 1 === n) {
        this.#ff = true
        return n
      }
      const b = chunk[j + 1]
      if (b === 0) i = j + 2
      else if ((b & 0xf8) === 0xd0) {
        this.#restarts.seen++
        i = j + 2
      } else if (b === 0xff) i = j + 1
      else {
        this.#onMarker(b, this.#base + j + 2)
        return j + 2
      }
    }
  }

  /** A marker whose code byte ends just before `at`. */
  #onMarker(m: number, at: number): void {
    if (this.#restarts.want >= 0) {
      const { want, seen } = this.#restarts
      this.#restarts = { want: -1, seen: 0 }
      // None at all: a writer that set an interval and wrote no markers (libjpeg resyncs), let go.
      if (seen > 0 && seen < want) {
        this.#verdict = truncated(
          `JPEG scan ${this.#scans} ends at byte ${at - 2} after ${seen + 1} of its ${want + 1} restart intervals`,
        )
        return
      }
    }
    if (m === EOI) {
      this.#eoiEnd = at
      const short = this.#sent && this.#frames === 1 ? scansLeftShort(this.#sent) : undefined
      this.#verdict =
        this.#scans === 0
          ? corrupt('JPEG ends before any image data')
          : short
            ? truncated(`${short}, its end-of-image marker at byte ${at - 2}`)
            : {
                ...COMPLETE,
                ...(this.#width && this.#height ? { width: this.#width, height: this.#height } : {}),
              }
      return
    }
    if (m === 0xd8) {
      this.#verdict = corrupt(
        `JPEG has a misplaced marker FF${m.toString(16).padStart(2, '0')} at byte ${at - 2}`,
      )
      return
    }
    // RSTn and TEM stand alone; every other marker opens a segment with a length.
    if ((m & 0xf8) === 0xd0 || m === 0x01) {
      this.#at = At.Marker
      return
    }
    if (m === SOS) {
      if (this.#frames === 0) {
        this.#verdict = corrupt('JPEG scan before its frame header')
        return
      }
      this.#scans++
    }
    this.#marker = m
    this.#at = At.Length
    this.#have = 0
    // A frame header's length is followed by precision, height and width.
    this.#want = isFrame(m) && this.#frames === 0 ? 7 : 2
  }

  /** `at`: the file offset just past the bytes read for the segment's length (and frame header). */
  #onLength(at: number): void {
    const length = (this.#header[0] << 8) | this.#header[1]
    if (length < this.#want) {
      this.#verdict = corrupt(`JPEG segment FF${this.#marker.toString(16)} declares ${length} bytes`)
      return
    }
    if (isFrame(this.#marker) && ++this.#frames === 1) {
      if (PROGRESSIVE.has(this.#marker) || SEQUENTIAL.has(this.#marker)) this.#sent = new Map()
      this.#height = (this.#header[3] << 8) | this.#header[4]
      this.#width = (this.#header[5] << 8) | this.#header[6]
    }
    this.#skip = length - this.#want
    // The first MPF index is the primary image's (later ones belong to the images after EOI).
    if (this.#marker === APP2 && this.#mpfEnd === 0 && this.#skip >= 16)
      this.#held = new HeldSegment(APP2, MPF, this.#skip, at)
    // So is the first XMP before the first scan: a motion photo's or an Ultra HDR JPEG's directory.
    if (this.#marker === APP1 && this.#xmpTail === 0 && this.#scans === 0 && this.#skip > XMP.length)
      this.#held = new HeldSegment(APP1, XMP, this.#skip, at)
    // The frame's components, the restart interval and each scan's components: how many restart
    // markers the scan holds.
    if ((isFrame(this.#marker) && this.#frames === 1) || this.#marker === SOS || this.#marker === DRI)
      this.#held = new HeldSegment(this.#marker, WHOLE, this.#skip, at)
    this.#at = this.#skip > 0 ? At.Skip : this.#marker === SOS ? At.Scan : At.Marker
  }

  /**
   * A held segment read whole: the MPF index's or the XMP's end, where it can be read; the restart
   * interval (DRI); a scan's restart markers due (SOS); the first frame header's components.
   */
  #endHeld({ marker, data, at }: HeldSegment): void {
    this.#held = undefined
    if (marker === APP2) this.#mpfEnd = mpfEnd(data, at) ?? 0
    else if (marker === APP1) this.#xmpTail = xmpTail(data) ?? 0
    else if (marker === DRI) this.#interval = data.length >= 2 ? (data[0] << 8) | data[1] : 0
    else if (marker === SOS) {
      this.#restarts = { want: this.#restartsDue(data), seen: 0 }
      this.#scanSends(data)
    } else {
      // The frame header after its height and width: Nf, then 3 bytes a component (id, H and V, table).
      const count = data[0] ?? 0
      for (let k = 0; k < count && 3 + 3 * k <= data.length; k++) {
        this.#components.push({ id: data[1 + 3 * k], h: data[2 + 3 * k] >> 4, v: data[2 + 3 * k] & 15 })
        this.#sent?.set(data[1 + 3 * k], false)
      }
    }
  }

  /**
   * The components a scan's header (`data`: Ns, then 2 bytes a component: T.81 B.2.3) sends, marked
   * in `#sent` (see `markSent`). A sequential scan sends its components whole, whatever its Ss, Se and Al say
   * (libjpeg reads them so). A progressive scan sends a band of coefficients to a bit, its DC first
   * (T.81 G.1.1.1.1), but a progressive file need not bring every coefficient to its last bit: an
   * encoder's scan script may stop short of it, or send only a component's DC (`cjpeg -scans`,
   * `jpegtran -scans`), which libjpeg's encoder writes and its decoder reads without a word
   * (jcmaster.c's validate_script asks of a progressive script only that each component's DC be
   * sent: "the spec does not require that all bits of all coefficients be transmitted"). So a file
   * cut between two progressive scans and closed with an end marker cannot be told from such a
   * file, and only a component that no scan sends is short.
   */
  #scanSends(data: Uint8Array): void {
    const n = data[0] ?? 0
    if (!this.#sent || data.length < 4 + 2 * n) return
    markSent(this.#sent, data)
  }

  /**
   * How many restart markers a scan's data holds (ITU-T T.81 §B.2.4.4, §E.1.4: one after every
   * `interval` MCUs but the last), from its header (`data`: Ns, then 2 bytes a component), or -1 where
   * that is not known: no restart interval, no height in the frame header (a DNL segment gives it),
   * more than one frame, a component or sampling factor that cannot be. An MCU of an interleaved scan
   * covers Hmax × Vmax blocks of 8 × 8 pixels; a scan of one component codes its blocks one by one.
   */
  #restartsDue(data: Uint8Array): number {
    const parts = this.#components
    if (this.#interval === 0 || this.#height === 0 || this.#frames !== 1 || parts.length === 0) return -1
    const hmax = Math.max(...parts.map((c) => c.h))
    const vmax = Math.max(...parts.map((c) => c.v))
    if (parts.some((c) => c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4)) return -1
    const count = data[0] ?? 0
    let mcus: number
    if (count === 1) {
      const c = parts.find((p) => p.id === data[1])
      if (!c) return -1
      const wide = Math.ceil(Math.ceil((this.#width * c.h) / hmax) / 8)
      const high = Math.ceil(Math.ceil((this.#height * c.v) / vmax) / 8)
      mcus = wide * high
    } else if (count > 1) {
      mcus = Math.ceil(this.#width / (8 * hmax)) * Math.ceil(this.#height / (8 * vmax))
    } else return -1
    return Math.ceil(mcus / this.#interval) - 1
  }

  async end(read: ReadBack): Promise<Verdict> {
    // A motion photo's XMP lists its video after the image (and an Ultra HDR JPEG its gain map),
    // as an MPF index lists images: a body that stops before their end (at the primary image's end
    // marker too) is not all there; the farther end is named.
    const xmpEnd = this.#xmpTail > 0 && this.#eoiEnd > 0 ? this.#eoiEnd + this.#xmpTail : 0
    if (this.#verdict?.complete && this.#base < Math.max(this.#mpfEnd, xmpEnd)) {
      const unchecked =
        xmpEnd > this.#mpfEnd
          ? `JPEG's XMP container directory lists items to byte ${xmpEnd}, past the body's ${this.#base}`
          : `JPEG's MPF index lists images to byte ${this.#mpfEnd}, past the body's ${this.#base}`
      return { ...this.#verdict, unchecked }
    }
    // Bytes after the end-of-image marker that no MPF index or XMP directory accounts for (a
    // motion-photo video, a trailer): where they end, nothing in the file says.
    const listed = Math.max(this.#eoiEnd, this.#mpfEnd, xmpEnd)
    if (this.#verdict?.complete && this.#base > listed) {
      const after =
        listed === this.#eoiEnd
          ? "the JPEG's end-of-image marker"
          : listed === this.#mpfEnd
            ? "the images the JPEG's MPF index lists"
            : "the items the JPEG's XMP container directory lists"
      return { ...this.#verdict, unchecked: `${this.#base - listed} bytes follow ${after}` }
    }
    if (this.#verdict) return this.#verdict
    if (this.#at === At.Start) return truncated('JPEG start-of-image marker cut short')
    // Ended in scan data: whole when that scan holds every MCU and the body ends with it (in a
    // progressive file, when its scans brought every coefficient to its last bit), as browsers
    // and libjpeg show such a file; but where that end is only a close, a cut there could have
    // taken the marker (`unchecked`).
    // An MPF index that lists images after this one, or an XMP directory that lists items after
    // it (a motion photo's video), says more was to come.
    const walk =
      this.#at === At.Scan && this.#base <= WALK_LIMIT && this.#base >= this.#mpfEnd && this.#xmpTail === 0
    if (walk && jpegScansWhole(await read(0, this.#base))) {
      const size = this.#width && this.#height ? { width: this.#width, height: this.#height } : {}
      return { ...COMPLETE, ...size, unchecked: NO_EOI }
    }
    return truncated(
      this.#scans > 0 ? 'JPEG has no end-of-image marker' : 'JPEG ends in its headers, before any image data',
    )
  }
}
