/**
 * A photo's IPTC (IIM) fields as XMP, for formats that have no place for IIM: libvips writes IPTC
 * into JPEG and TIFF only, so `--keep-metadata` to PNG, WebP or AVIF lost a caption, a copyright
 * notice, a by-line and keywords without a word. The IPTC Photo Metadata Standard maps each IIM
 * dataset to an XMP property (IPTC Core), and the Metadata Working Group's guidelines say to write
 * XMP where IIM cannot go: exiftool's iptc2xmp.args does the same. And the XMP orientation of a
 * photo turned upright (`uprightXmp`). Pure functions of the bytes.
 */

type Shape = 'alt' | 'seq' | 'bag' | 'text'

/** Record 2 datasets and their IPTC Core properties. */
const PROPERTIES: ReadonlyMap<number, readonly [string, Shape]> = new Map([
  [5, ['dc:title', 'alt']],
  [120, ['dc:description', 'alt']],
  [116, ['dc:rights', 'alt']],
  [80, ['dc:creator', 'seq']],
  [25, ['dc:subject', 'bag']],
  [85, ['photoshop:AuthorsPosition', 'text']],
  [105, ['photoshop:Headline', 'text']],
  [110, ['photoshop:Credit', 'text']],
  [115, ['photoshop:Source', 'text']],
  [40, ['photoshop:Instructions', 'text']],
  [122, ['photoshop:CaptionWriter', 'text']],
  [103, ['photoshop:TransmissionReference', 'text']],
  [92, ['Iptc4xmpCore:Location', 'text']],
  [90, ['photoshop:City', 'text']],
  [95, ['photoshop:State', 'text']],
  [101, ['photoshop:Country', 'text']],
  [100, ['Iptc4xmpCore:CountryCode', 'text']],
])
const DATE_CREATED = 55
const TIME_CREATED = 60

const NAMESPACES =
  'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"'

/**
 * The IIM datasets in `iptc` as libvips reports it: a JPEG's APP13 (Photoshop's image resources,
 * the IPTC one 0x0404 among them) or a TIFF's IIM bytes. Each is `[record, dataset, bytes]`.
 */
export function iimDatasets(iptc: Uint8Array): [number, number, Uint8Array][] {
  const iim = iptc[0] === 0x1c ? iptc : photoshopIptc(iptc)
  const out: [number, number, Uint8Array][] = []
  for (let at = 0; iim && at + 5 <= iim.length && iim[at] === 0x1c; ) {
    let length = (iim[at + 3] << 8) | iim[at + 4]
    let start = at + 5
    if (length & 0x8000) {
      // An extended dataset: the low 15 bits count the bytes of its length.
      const n = length & 0x7fff
      if (n > 4 || start + n > iim.length) break
      length = 0
      for (let i = 0; i < n; i++) length = length * 256 + iim[start + i]
      start += n
    }
    if (start + length > iim.length) break
    out.push([iim[at + 1], iim[at + 2], iim.subarray(start, start + length)])
    at = start + length
  }
  return out
}

/** The IPTC resource (0x0404) of Photoshop's image resources ('Photoshop 3.0', then 8BIM blocks). */
function photoshopIptc(bytes: Uint8Array): Uint8Array | undefined {
  const ascii = (at: number, n: number) => String.fromCharCode(...bytes.subarray(at, at + n))
  let at = ascii(0, 14) === 'Photoshop 3.0\0' ? 14 : 0
  while (at + 12 <= bytes.length && ascii(at, 4) === '8BIM') {
    const id = (bytes[at + 4] << 8) | bytes[at + 5]
    const nameLength = bytes[at + 6]
    const sizeAt = at + 6 + ((nameLength + 2) & ~1) // a Pascal string padded to an even length
    if (sizeAt + 4 > bytes.length) return undefined
    const size =
      ((bytes[sizeAt] << 24) | (bytes[sizeAt + 1] << 16) | (bytes[sizeAt + 2] << 8) | bytes[sizeAt + 3]) >>> 0
    const data = sizeAt + 4
    if (id === 0x0404) return bytes.subarray(data, Math.min(bytes.length, data + size))
    at = data + size + (size & 1)
  }
  return undefined
}

/** Text in UTF-8 when 1:90 says so or the bytes are valid UTF-8; else Latin-1, IIM's old default. */
function decoder(datasets: [number, number, Uint8Array][]): (bytes: Uint8Array) => string {
  const utf8 = new TextDecoder('utf-8', { fatal: true })
  const said = datasets.some(
    ([record, dataset, b]) =>
      record === 1 && dataset === 90 && Buffer.from(b).includes('\x1b%G', 0, 'latin1'),
  )
  return (bytes) => {
    try {
      return utf8.decode(bytes)
    } catch {
      return said ? new TextDecoder('utf-8').decode(bytes) : Buffer.from(bytes).toString('latin1')
    }
  }
}

const escaped = (text: string) =>
  text
    // biome-ignore lint/suspicious/noControlCharactersInRegex: XML 1.0 holds none of these
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')

/** IIM's CCYYMMDD and HHMMSS±HHMM as XMP's date (ISO 8601), or undefined when not one. */
function isoDate(date: string, time?: string): string | undefined {
  const d = /^(\d{4})(\d{2})(\d{2})$/.exec(date.trim())
  if (!d) return undefined
  const day = `${d[1]}-${d[2]}-${d[3]}`
  const t = time === undefined ? null : /^(\d{2})(\d{2})(\d{2})([+-]\d{2})(\d{2})$/.exec(time.trim())
  return t ? `${day}T${t[1]}:${t[2]}:${t[3]}${t[4]}:${t[5]}` : day
}

/**
 * XMP holding `iptc`'s fields, merged into `xmp` (the image's own, if any): a property the XMP
 * already has is left as it is (Photoshop writes both, kept alike). `undefined` when there is
 * nothing to add, or the XMP given has no `rdf:RDF` to add to.
 */
export function xmpWithIptc(iptc: Uint8Array, xmp?: string): string | undefined {
  const datasets = iimDatasets(iptc)
  const text = decoder(datasets)
  const values = new Map<string, { shape: Shape; items: string[] }>()
  let date: string | undefined
  let time: string | undefined
  for (const [record, dataset, bytes] of datasets) {
    if (record !== 2) continue
    if (dataset === DATE_CREATED) date = text(bytes)
    if (dataset === TIME_CREATED) time = text(bytes)
    const property = PROPERTIES.get(dataset)
    const value = text(bytes).trim()
    if (!property || value === '') continue
    const [name, shape] = property
    const entry = values.get(name) ?? { shape, items: [] }
    // Only keywords and by-lines repeat; another of a single field is a writer's duplicate.
    if (shape === 'seq' || shape === 'bag' || entry.items.length === 0) entry.items.push(value)
    values.set(name, entry)
  }
  const created = date === undefined ? undefined : isoDate(date, time)
  if (created) values.set('photoshop:DateCreated', { shape: 'text', items: [created] })
  const has = (name: string) => xmp !== undefined && (xmp.includes(`<${name}`) || xmp.includes(` ${name}=`))
  const properties = [...values]
    .filter(([name]) => !has(name))
    .map(([name, { shape, items }]) => {
      if (shape === 'text') return `<${name}>${escaped(items[0])}</${name}>`
      if (shape === 'alt')
        return `<${name}><rdf:Alt><rdf:li xml:lang="x-default">${escaped(items[0])}</rdf:li></rdf:Alt></${name}>`
      const list = shape === 'seq' ? 'rdf:Seq' : 'rdf:Bag'
      return `<${name}><${list}>${items.map((item) => `<rdf:li>${escaped(item)}</rdf:li>`).join('')}</${list}></${name}>`
    })
  if (properties.length === 0) return undefined
  const description = `<rdf:Description rdf:about="" ${NAMESPACES}>${properties.join('')}</rdf:Description>`
  if (xmp === undefined) {
    return `<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">${description}</rdf:RDF></x:xmpmeta><?xpacket end="w"?>`
  }
  const end = xmp.lastIndexOf('</rdf:RDF>')
  if (end >= 0) return xmp.slice(0, end) + description + xmp.slice(end)
  // An empty one, closed in its own tag: <rdf:RDF xmlns:rdf="..."/>.
  const empty = /<rdf:RDF(\s[^>]*?)?\/>/.exec(xmp)
  if (!empty) return undefined
  const open = `<rdf:RDF${empty[1] ?? ''}>${description}</rdf:RDF>`
  return xmp.slice(0, empty.index) + open + xmp.slice(empty.index + empty[0].length)
}

/**
 * `xmp` with its `tiff:Orientation` (an element or an attribute) set to 1: the pixels written are
 * upright, and libvips resets EXIF's orientation but leaves XMP's, so a photo turned upright and
 * kept with its metadata still said "Rotate 90 CW" there, and a reader that takes XMP's (exiftool
 * for an AVIF, which has no EXIF orientation) turned it again (lovell/sharp#4585).
 */
export function uprightXmp(xmp: string): string {
  return xmp
    .replace(/(<tiff:Orientation(?:\s[^>]*)?>)\s*\d+\s*(<\/tiff:Orientation>)/g, '$11$2')
    .replace(/(\stiff:Orientation\s*=\s*)(["'])\s*\d+\s*\2/g, '$1$21$2')
}
