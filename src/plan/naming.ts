import { hash } from 'node:crypto'
import { nameFold } from '../utils/name-fold.js'
import { INVISIBLE_MARKS, LONE_SURROGATE } from '../utils/printable.js'
import { decodeLeniently, hostName } from '../utils/url.js'

/**
 * File naming: a template rendered per job, made safe for any file system, and kept unique.
 * The extension is only known once the first bytes arrive, so names are planned with a
 * placeholder for it (`EXT`) that `withExt()` fills in later.
 */

/** Stands in for `{ext}` until the format is known. A control character: never survives sanitizing. */
export const EXT = '\u0001'

/**
 * What a template's own text asks for that names cannot do (they never leave the output folder,
 * never hide): `..` or `.` segments, a leading `/`, a leading dot. Undefined when nothing is
 * rewritten; else a sentence saying what happens instead (the CLI warns once).
 */
export function templateRewrites(template: string): string | undefined {
  const literal = template.replace(PLACEHOLDER, 'x')
  const segments = literal.split(/[/\\]/)
  const why: string[] = []
  if (/^[/\\]/.test(literal)) why.push('a leading / (names are relative to the output folder)')
  if (segments.some((s) => s === '..' || s === '.')) why.push("'..' and '.' segments (they become _)")
  if (segments.some((s) => s.length > 1 && s.startsWith('.') && s !== '..'))
    why.push('a leading dot (it becomes _)')
  if (segments.some((s) => s.startsWith('-')))
    why.push('a leading - (it becomes _: rm * would take it for an option)')
  // Placeholders as values would stand there: `{ext}` an extension, the rest a name.
  const names = template.replace(PLACEHOLDER, (_m, field) => (field === 'ext' ? '.x' : 'x')).split(/[/\\]/)
  if (names.some((s) => DEVICE.test(s))) why.push('a name Windows keeps for a device (it takes a _: con_)')
  if (names.some((s) => s !== '.' && s !== '..' && /[. ]$|^ /.test(s)))
    why.push('a dot or space at the end of a name, which Windows drops (a dot becomes _, a space goes)')
  if (/[<>:"|?*]/.test(literal))
    why.push('characters Windows and memory cards refuse in a name, < > : " | ? * (each becomes _)')
  return why.length
    ? `names cannot leave the output folder, hide, pass for options or hold what other disks refuse: --name '${template}' has ${why.join(', ')}`
    : undefined
}

/** Placeholders every job has; sources may add their own through `job.fields`. */
export const BUILTIN_FIELDS = ['name', 'ext', 'host', 'path', 'index', 'hash'] as const
const BUILT_IN: ReadonlySet<string> = new Set(BUILTIN_FIELDS)

/** Longest file name segment in UTF-8 bytes, leaving room for a suffix, an extension and `.part`. */
const MAX_SEGMENT_BYTES = 200

/**
 * `{field}`: any name without braces, as a table's columns are named (`alt-text`, `photo id`,
 * `caption.en`): a column offered as a placeholder can be asked for, never kept as literal text.
 */
const PLACEHOLDER = /\{([^{}]+)\}/g

export function templateFields(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1])
}

/**
 * Check a name template against the placeholders there are: the built-in ones and `extra` (what a
 * source's jobs fill in). Throws a `TypeError` naming the first unknown one and listing the rest.
 */
export function checkTemplate(template: string, extra: readonly string[] = []): void {
  const known = new Set<string>([...BUILTIN_FIELDS, ...extra])
  for (const field of templateFields(template)) {
    if (!known.has(field)) {
      throw new TypeError(
        `unknown placeholder {${field}} in the name template; use ${[...known].map((f) => `{${f}}`).join(' ')}`,
      )
    }
  }
}

/**
 * The first `length` hex digits of `key`'s sha256: names (`{hash}`) and part files. Node's one-shot
 * `hash` (20.12+), 0.34 µs a URL against 0.9-1.4 µs through a Hash object, on every job planned.
 */
export function hashKey(key: string, length = 16): string {
  return hash('sha256', key, 'hex').slice(0, length)
}

/**
 * A URL path segment as a name shows it: each valid escape decoded, any other kept as written
 * (`decodeLeniently`). Decoded whole or not at all, one byte that is no UTF-8 (`caf%C3%A9%E9.png`,
 * a Latin-1 list's `%E9` after a UTF-8 name) left every escape of the name as it was.
 */
const decode = decodeLeniently

const UNSAFE = new RegExp(
  `[\\u0000-\\u001f\\u007f-\\u009f/\\\\<>:"|?*\\ufffd${INVISIBLE_MARKS}]|${LONE_SURROGATE}`,
  'g',
)

/**
 * Hints that show nothing and mean nothing in a name: the soft hyphen (U+00AD, a place a line may
 * break, an HTML `&shy;` copied with a URL or a caption) and the invisible operators U+2061-U+2064.
 * Kept, `soft\u00ADhy.png` showed as `softhy.png` (another URL's name, to the eye) and `\u00AD.png`
 * as a hidden `.png`. Dropped (a `_` would stand where nothing shows): two URLs that then meet
 * on one name are told apart as any (`withSuffix`).
 */
const SHOWS_NOTHING = /[\u00ad\u2061-\u2064]/g

/**
 * One value put into a name: separators, control and reserved characters become `_`, and so do
 * the invisible marks that reorder or hide text (bidirectional controls U+202A–U+202E,
 * U+2066–U+2069, U+200E, U+200F; zero-width U+200B–U+200D, U+2060, U+FEFF): a right-to-left
 * override would show `\u202Egnp.exe` as `exe.png` (Unicode TR #36, §2.1). So does a lone surrogate
 * (a JSON lines cell's `"\ud83d"`, an emoji cut in half): the file system would write it as U+FFFD
 * and the journal keep another name, so the file would never be found again. And so does U+FFFD,
 * the mark of a character lost (the tables reader makes a lone surrogate one): `_` as for a lone
 * surrogate a library job gives. Soft hyphens and invisible operators are dropped (`SHOWS_NOTHING`).
 */
export function sanitizeValue(value: string): string {
  return value.replace(SHOWS_NOTHING, '').replace(UNSAFE, '_')
}

function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text
  let out = ''
  let bytes = 0
  for (const ch of text) {
    const b = Buffer.byteLength(ch)
    if (bytes + b > maxBytes) break
    out += ch
    bytes += b
  }
  return out
}

/**
 * Names Windows keeps for devices, whatever extension follows (`nul.png` is the null device up to
 * Windows 10, and `CON` still is on 11): a file so named cannot be copied there. With the console's
 * input and output, `CONIN$` and `CONOUT$` (as Python's `ntpath.isreserved` has them): a file
 * moved to `CONOUT$` was written to the console, and lost (PowerShell/PowerShell#13046).
 */
const DEVICE =
  /^(con|prn|aux|nul|conin\$|conout\$|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3])(?= *(?:\.|$))/i

/**
 * A path segment that cannot escape, hide, pass for an option, or overflow: no `..`, no leading
 * dot, no leading `-` (`rm *` would read `-rf.jpg` as options; Unsplash ids may start with one),
 * bounded length; and one Windows and memory cards keep as it is: no device name (`con`, `nul.png`
 * take a `_`: `con_`, `nul_.png`), no trailing dot or space, which they drop (a folder `sunset.`
 * would be `sunset` there, joined with another, and Explorer can neither open nor delete it).
 */
export function safeSegment(segment: string): string {
  // The rules apply to the name before its extension: a name of nothing but `{ext}` (a URL's
  // ` .jpg`, an empty column) would otherwise be `.jpg`, hidden, and its variants `-abc.jpg`.
  const ext = segment.endsWith(EXT) ? EXT : ''
  let body = (ext ? segment.slice(0, -1) : segment).trim()
  if (body === '' || body === '.' || body === '..') body = '_'
  if (body.startsWith('.') || body.startsWith('-')) body = `_${body.slice(1)}`
  body = truncateUtf8(body.replace(DEVICE, '$1_'), MAX_SEGMENT_BYTES)
  // Before an extension a dot is no name's end (`sunset..jpg`); cut to length, a name may end anew.
  if (!ext) body = body.replace(/[. ]+$/, '_')
  return body + ext
}

/**
 * Extensions an image URL may already end in: dropped from `{name}` so `{ext}` is not doubled. Every
 * format `sniff` tells (`.cur`, `.jp2`, `.jpx` too: `favicon.cur` was `favicon.cur.cur`) and the other
 * names in use for them (`.jfif`, as Windows saves a JPEG from a browser; `.jpe`, `.apng`, `.avifs`...),
 * with a compression's after it (`photo.jpg.gz`, `logo.svgz`): a file is kept only as the image its
 * Content-Encoding decoded to, so `photo.jpg.gz` was saved as `photo.jpg.gz.jpg`.
 */
const IMAGE_EXT =
  /\.(?:(?:jpe?g|jpe|jfif?|jif|png|apng|gif|webp|avifs?|svg|bmp|tiff?|hei[cf]s?|hif|ico|cur|jxl|jp2|jpx|jpf|j2[ck]|jpc)(?:\.(?:gz|gzip|br|zst))?|svgz)$/i

/**
 * Dots and spaces that end a URL path segment: no file name ends in them on Windows or a memory
 * card (they are dropped there), and they hid the extension before them (`dot.png.`, `a.jpg%20`
 * were saved as `dot.png..png` and `a.jpg.png`).
 */
const SEGMENT_END = /[. ]+$/

/**
 * A decoded URL path segment as a name's stem: without the dots and spaces it ends in
 * (`SEGMENT_END`), then without an image extension (the detected format's `{ext}` replaces it).
 * Empty for a segment of nothing but dots and spaces (`...`); the segment as it stands when it is
 * nothing but an extension (`.png`: `safeSegment` makes it visible).
 */
function stemOf(segment: string): string {
  const trimmed = segment.replace(SEGMENT_END, '')
  // Every image extension the name ends in: Instagram's `12345_n.webp.jpg`, a JPEG, was saved as
  // `12345_n.webp.jpg`, a name that says WebP too (mikf/gallery-dl#2041).
  let stem = trimmed.replace(TAGGED_EXT, '')
  for (let shorter = stem.replace(IMAGE_EXT, ''); shorter !== stem; shorter = stem.replace(IMAGE_EXT, ''))
    stem = shorter
  return stem || trimmed
}

/**
 * An image extension with a variant's tag after it, as no file name has one: Twitter's size after
 * a colon (`ABC.jpg:large`, `:orig`, `:small`) and a path segment's parameters after a semicolon
 * (RFC 3986 §3.3: a servlet's `photo.jpg;jsessionid=8F2A…`, new each session). Both are dropped
 * with the extension: `ABC.jpg:large` was saved as `ABC.jpg_large.jpg` (Tyrrrz/DiscordChatExporter#483,
 * Erisa/download-image#6), and `photo.jpg;jsessionid=8F2A` as `photo.jpg;jsessionid=8F2A.jpg`, a
 * name of its own each session.
 */
const TAGGED_EXT = new RegExp(`${IMAGE_EXT.source.slice(0, -1)}(?::[\\w-]*|;[^/]*)$`, 'i')

/**
 * The URL's last path segment that names something, decoded, as a stem (`stemOf`); the host when
 * there is none (`/`, or only segments of dots and spaces, which name nothing, as `..` does).
 */
export function urlName(url: URL): string {
  const stems = url.pathname.split('/').map((s) => stemOf(decode(s)))
  return stems.findLast(Boolean) ?? hostName(url)
}

export interface NameInput {
  url: URL
  index: number
  key: string
  fields?: Record<string, string>
}

/**
 * A template's own text (outside its placeholders) with what `sanitizeValue` takes out of a value,
 * but the separators its folders are made with: `--name 'day:1/{name}?{ext}'` made a folder
 * `day:1` and files `img?.jpg`, which Windows, exFAT and memory cards refuse, so the folder could
 * not be copied there (mikf/gallery-dl#2171: a Linux download moved to NTFS), where a value's `:`
 * became `_`. Each such character is a `_` (`templateRewrites` says so once).
 */
function safeLiteral(template: string): string {
  if (template === lastTemplate) return lastSafe
  lastSafe = template.replace(LITERAL_UNSAFE, (m) => (m.length > 1 && m.startsWith('{') ? m : '_'))
  lastTemplate = template
  return lastSafe
}

/** The one template a run renders, made safe once (`safeLiteral`). */
let lastTemplate = ''
let lastSafe = ''

/** A placeholder (kept), or a character no name may hold but a folder separator. */
const LITERAL_UNSAFE = new RegExp(
  `${PLACEHOLDER.source}|[\\u0000-\\u001f\\u007f-\\u009f<>:"|?*\\ufffd${INVISIBLE_MARKS}]|${LONE_SURROGATE}`,
  'g',
)

/**
 * Render `template` for one job into a relative path with `EXT` where the extension goes.
 * Template text may hold `/` for sub-folders; values never do.
 */
export function renderName(given: string, input: NameInput): string {
  const { url } = input
  const template = extOwnsDot(given)
  // Each value made when the template asks for it: no copy of every column, no hash unasked for.
  const value = (field: string): string => {
    switch (field) {
      case 'name':
        return urlName(url)
      case 'host':
        return hostName(url)
      case 'index':
        return String(input.index)
      case 'hash':
        return hashKey(input.key)
    }
    // Own values only: a row without its `constructor` or `toString` column names nothing there,
    // where `fields[field]` would be Object's.
    const fields = input.fields
    return fields && Object.hasOwn(fields, field) ? (fields[field] ?? '') : ''
  }
  const rendered = safeLiteral(template).replace(PLACEHOLDER, (match: string, field: string, at: number) => {
    if (field === 'ext') return EXT
    if (field === 'path') {
      // The URL path keeps its folders; each one is made safe below. Followed by `{ext}`, its last
      // segment is a stem as `{name}`'s (`a/cat.png`, not `a/cat.png.png`); one of dots alone, `_`.
      const segments = url.pathname.split('/').filter(Boolean).map(decode)
      const last = segments.length - 1
      if (last >= 0 && template.startsWith('{ext}', at + match.length))
        segments[last] = stemOf(segments[last]!) || '_'
      return segments.map(sanitizeValue).join('/')
    }
    // A column's value followed by `{ext}` is a stem as `{name}`'s: a table's file name column
    // (COCO's `file_name`, `000000397133.jpg`) gave `000000397133.jpg.jpg` (hvdwolf/jExifToolGUI#256).
    const own = value(field)
    const shown =
      input.fields && !BUILT_IN.has(field) && template.startsWith('{ext}', at + match.length)
        ? sanitizeValue(stemOf(own))
        : sanitizeValue(own)
    return shown || EMPTY
  })
  const segments = withoutDangling(rendered)
    .split(/[/\\]/)
    .filter((s) => s !== '')
  const safe = (segments.length ? segments : ['_']).map(safeSegment)
  // A folder at the top named as one of imgpull's own files (`{path}` of `/manifest.jsonl/a.jpg`)
  // takes a `_`: the run's manifest could not be written at its end (a bare EISDIR), and
  // `Report.HTML/` beside `report.html` is one name on a case-insensitive disk. A file so named
  // takes its suffix instead (`isReserved`).
  if (safe.length > 1 && RESERVED.has(nameFold(safe[0]!))) safe[0] += '_'
  return withinPathLimit(safe.join('/'))
}

/** Stands where a placeholder's value is empty, until `withoutDangling` takes it and its separator out. */
const EMPTY = '\u0002'

/**
 * A separator (`-`, `_`, `.`, space) written beside a placeholder left empty goes with it, the one
 * before it, else the one after: `{id}-{slug}{ext}` of a photo without a description is `ID.jpg`,
 * not `ID-.jpg`, as the same template as the source's default names it, and `{slug}-{id}` is `ID`,
 * not `-ID` (made `_ID`). A template's empty field left ` - Artist - Title` (J-M-PUNK/tideway#263)
 * and yt-dlp's blank placeholder a leading separator (yt-dlp/yt-dlp#7307); gallery-dl's
 * `{title:?/-/}` writes a separator only with its field.
 */
function withoutDangling(rendered: string): string {
  return rendered.includes(EMPTY) ? rendered.replace(DANGLING, '') : rendered
}

const DANGLING = new RegExp(`[-_. ]+${EMPTY}|${EMPTY}[-_. ]*`, 'g')

/**
 * `{ext}` brings its own dot (`.jpg`), so a dot written before it is that one: gallery-dl's and
 * yt-dlp's `{filename}.{extension}` habit, `--name '{name}.{ext}'`, made `cat..jpg` (and `cat.`,
 * a trailing dot Windows drops, when the format was unknown). Now `cat.jpg`, as `{name}{ext}`.
 */
function extOwnsDot(template: string): string {
  return template.includes('.{ext}') ? template.replace(/\.+(?=\{ext\})/g, '') : template
}

/**
 * Most bytes of a relative name: well under Linux's PATH_MAX (4,096) with the output folder in
 * front, and Windows' long-path limit. Each segment is also bounded (`MAX_SEGMENT_BYTES`).
 */
export const MAX_NAME_BYTES = 1024

/**
 * A name too long for a file system (a URL path of dozens of long folders) keeps its last
 * segment, at the top of the folder, after a hash of the whole name: still unique, still telling.
 */
function withinPathLimit(name: string): string {
  if (Buffer.byteLength(name) <= MAX_NAME_BYTES) return name
  return `${hashKey(name)}-${name.slice(name.lastIndexOf('/') + 1)}`
}

/**
 * Names imgpull itself writes at the top of an output folder (the manifest, the report, the
 * Unsplash credits), compared as a case-insensitive file system would (`nameFold`): an image never
 * takes one, or the run's own file would replace it; nor does a folder (`renderName`).
 */
const RESERVED = new Set(['manifest.jsonl', 'report.html', 'attribution.md'])

/** Whether the planned name (extension not yet known) could be one of imgpull's own files. */
export function isReserved(planned: string): boolean {
  return RESERVED.has(nameFold(planned.replaceAll(EXT, '')))
}

/**
 * The variant a job takes when a folder on its name's way is a file (`a.png` saved, then
 * `a.png/b` asked for): the folders joined into the file name, with the job's suffix. Joined, the
 * segments are one, cut to a segment's length as any (their 200 bytes each made a name no file
 * system takes).
 */
export function flatVariant(planned: string, key: string): string {
  return withSuffix(safeSegment(planned.replaceAll('/', '_')), key)
}

/**
 * Bytes of a shortened name's stem (`shortVariant`): with the job's suffix, another's for a taken
 * name, and the longest extension (`.jpeg`), at most 142 bytes, under the 143 that eCryptfs (an
 * encrypted home folder) and a Synology NAS's encrypted shared folders take.
 */
const SHORT_STEM_BYTES = 118

/**
 * The name a job takes where the file system refused its planned one as too long (ENAMETOOLONG):
 * a name over 143 bytes on eCryptfs, a path over PATH_MAX (4,096 bytes) under a deep output
 * folder. `step` 1 keeps the folders and cuts the last segment's stem (`SHORT_STEM_BYTES`), with
 * the job's suffix; `step` 2, where the folders are what is too long, is the hash of the job's key
 * at the top of the folder. Both deterministic: a rerun without journal finds the file there.
 */
export function shortVariant(planned: string, key: string, step: 1 | 2): string {
  const ext = planned.endsWith(EXT) ? EXT : ''
  if (step === 2) return hashKey(key) + ext
  const at = planned.lastIndexOf('/') + 1
  const stem = (ext ? planned.slice(at, -1) : planned.slice(at)).replace(/-[0-9a-f]{8}$/, '')
  return withSuffix(planned.slice(0, at) + safeSegment(truncateUtf8(stem, SHORT_STEM_BYTES) + ext), key)
}

/** Deterministic variant for a name another job already holds: `-<hash>` before the extension. */
export function withSuffix(planned: string, key: string): string {
  const suffix = `-${hashKey(key, 8)}`
  const at = planned.lastIndexOf(EXT)
  return at === -1 ? planned + suffix : planned.slice(0, at) + suffix + planned.slice(at)
}

/** Fill in the detected extension (`jpg` → `.jpg`; none → empty). */
export function withExt(planned: string, ext: string | undefined): string {
  return planned.replaceAll(EXT, ext ? `.${ext}` : '')
}
