import type { Job } from '../../types.js'
import type { Photo, Size } from './types.js'

/**
 * A photo becomes a Job: the image URL from `photo.urls` (the API's hotlinking rule; never
 * `links.download`), a stable key, name fields, and the attribution the manifest carries.
 */

/** imgix parameters Unsplash supports on a photo's `raw` URL. */
export interface Imgix {
  w?: number
  h?: number
  q?: number
  fm?: string
  fit?: string
  dpr?: number
}

/**
 * The photo at `px` pixels on its shortest or its longest side: the raw URL with imgix's `w` or
 * `h` (the other side follows the aspect ratio), chosen per photo from the width and height the
 * API lists. What a local `--resize` would make of the photo, fetched at that size instead.
 */
export interface SideSize {
  side: 'shortest' | 'longest'
  px: number
}

/**
 * Which file to fetch: one of the ready-made sizes, the raw URL with imgix parameters, or the raw
 * URL at a size on one side.
 */
export type Variant = { size: Size } | { imgix: Imgix } | { resizeTo: SideSize }

export const UTM = { utm_source: 'imgpull', utm_medium: 'referral' } as const

/** Placeholders this source fills in, besides the built-in ones. */
export const FIELDS = ['id', 'slug', 'stem', 'user'] as const

/** The default name: `{id}-{slug}`, or `{id}` alone for a photo without a description. */
export const DEFAULT_NAME = '{id}-{slug}{ext}'
export const DEFAULT_TEMPLATE = '{stem}{ext}'

const IMGIX_ORDER: (keyof Imgix)[] = ['w', 'h', 'q', 'fm', 'fit', 'dpr']

/** Short, stable text for a variant: part of the job key, so two sizes of a photo are two jobs. */
export function variantName(v: Variant): string {
  if ('size' in v) return v.size
  if ('resizeTo' in v) return `raw?${v.resizeTo.side}=${v.resizeTo.px}`
  const parts = IMGIX_ORDER.filter((k) => v.imgix[k] !== undefined).map((k) => `${k}=${v.imgix[k]}`)
  return parts.length ? `raw?${parts.join('&')}` : 'raw'
}

/** The command-line name of each imgix parameter (`imgpull unsplash --width`...). */
const IMGIX_FLAG: Record<keyof Imgix, string> = {
  w: '--width',
  h: '--height',
  q: '--quality',
  fm: '--format',
  fit: '--fit',
  dpr: '--dpr',
}

/**
 * A variant as the flags that ask for it (`--size full`, `--width 640 --format webp`), `''` for the
 * default `regular` size and for `resizeTo` (which the transform's `--resize`/`--size` say):
 * `Source.imageFlags`, recorded with a folder's images.
 */
export function variantFlags(v: Variant): string {
  if ('size' in v) return v.size === 'regular' ? '' : `--size ${v.size}`
  if ('resizeTo' in v) return ''
  const flags = IMGIX_ORDER.filter((k) => v.imgix[k] !== undefined).map(
    (k) => `${IMGIX_FLAG[k]} ${v.imgix[k]}`,
  )
  return flags.length ? `--size raw ${flags.join(' ')}` : '--size raw'
}

/** Which of the photo's `urls` a variant is made from. */
export function sourceSize(v: Variant): Size {
  return 'size' in v ? v.size : 'raw'
}

/**
 * The image address for a variant. imgix parameters go on top of the raw URL's own (ixid...).
 * `undefined` when the API gave no valid URL of the size it is made from.
 */
export function imageUrl(photo: Photo, v: Variant): string | undefined {
  const from = photo.urls[sourceSize(v)]
  if ('size' in v || from === undefined) return from
  const imgix = 'imgix' in v ? v.imgix : sideImgix(photo, v.resizeTo)
  let u: URL
  try {
    u = new URL(from)
  } catch {
    // Not a URL: the engine refuses it as `invalid-url`, naming it.
    return from
  }
  // A size asked for replaces the URL's own on both sides: a `w` left beside the `h` asked for
  // would clip the photo to it (imgix fits within both).
  if (imgix.w !== undefined || imgix.h !== undefined) {
    u.searchParams.delete('w')
    u.searchParams.delete('h')
  }
  for (const k of IMGIX_ORDER) {
    const value = imgix[k]
    if (value !== undefined) u.searchParams.set(k, String(value))
  }
  return u.href
}

/**
 * imgix's `w` or `h` that gives the photo `px` pixels on the side asked for, from the size the API
 * lists: none (the original) when that side is not larger than `px` (asked for more, imgix would
 * enlarge it: its default fit, `clip`, matches the size asked, and the local stage decides that,
 * `--resize-only-if-bigger`), or when the API listed no size.
 */
export function sideImgix(photo: Photo, { side, px }: SideSize): Imgix {
  const { width, height } = photo
  if (!width || !height) return {}
  const wide = width >= height
  // The side to set: the shortest is the height of a wide photo, the longest its width.
  const setWidth = side === 'longest' ? wide : !wide
  const current = setWidth ? width : height
  if (current <= px) return {}
  return setWidth ? { w: px } : { h: px }
}

/** `key: unsplash:<id>:<variant>`: photo URLs carry query strings that change between listings. */
export function jobKey(photo: Photo, v: Variant): string {
  return `unsplash:${photo.id}:${variantName(v)}`
}

/**
 * Lowercase words of any script joined by `-`, at most ~60 characters (UTF-16 code units), cut
 * between words, or within a word too long alone between its letters (grapheme clusters, UAX #29).
 * The diacritics of Latin and Greek letters are dropped (`café` → `cafe`), and Arabic's and
 * Hebrew's vowel points, which words are mostly written without (`مَدْرَسَة` → `مدرسة`); the marks of other
 * scripts are part of their words and kept, in composed form (NFC): dropping every mark made
 * Hindi `नमस्ते` `नमसत` and Thai `ภูเขา` `ภเขา` (codebuddies/backend#123), Japanese `ガラス` (glass)
 * `カラス` (crow) (org-roam/org-roam#1460, grosjo/fts-xapian#199), and left Korean in decomposed
 * jamo, a name that typing `서울` does not find.
 */
export function slugify(text: string | null | undefined, max = 60): string {
  if (!text) return ''
  const words = text
    .normalize('NFKD')
    .replace(/([\p{Script=Latin}\p{Script=Greek}\p{Script=Arabic}\p{Script=Hebrew}])\p{M}+/gu, '$1')
    .normalize('NFC')
    .toLowerCase()
    .split(/[^\p{L}\p{M}\p{N}]+/u)
    .filter(Boolean)
  let slug = ''
  for (const word of words) {
    const next = slug ? `${slug}-${word}` : word
    if (next.length > max) return slug || cut(word, max)
    slug = next
  }
  return slug
}

/** `word`'s first grapheme clusters that fit in `max` code units: no letter split from its marks or surrogate. */
function cut(word: string, max: number): string {
  let kept = ''
  graphemes ??= new Intl.Segmenter('und', { granularity: 'grapheme' })
  for (const { segment } of graphemes.segment(word)) {
    if (kept.length + segment.length > max) break
    kept += segment
  }
  return kept
}

/** Made when a word is first cut: ICU's segmenter takes some 30 ms to make, and every command loads this module. */
let graphemes: Intl.Segmenter | undefined

/** The photo's words: its description, else its alt text. */
export function photoSlug(photo: Photo): string {
  return slugify(photo.description) || slugify(photo.alt_description)
}

/** `url` with the API guidelines' UTM tags; `undefined` for what is not an http(s) address (`javascript:`, `data:`). */
export function withUtm(url: string | undefined): string | undefined {
  if (!url) return undefined
  try {
    const u = new URL(url)
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined
    for (const [k, v] of Object.entries(UTM)) u.searchParams.set(k, v)
    return u.href
  } catch {
    return undefined
  }
}

/** The API's link when it is a web page's, else the one Unsplash's pages have: a credit links somewhere. */
export function profileUrl(photo: Photo): string | undefined {
  const { username } = photo.user
  return (
    withUtm(photo.user.links?.html) ??
    (username ? withUtm(`https://unsplash.com/@${encodeURIComponent(username)}`) : undefined)
  )
}

/** Who took the photo, as a credit names them: their name, else their username; none when the API left the photographer out. */
export function photographer(photo: Photo): string | undefined {
  return photo.user.name || photo.user.username || undefined
}

/** "Photo by NAME on Unsplash"; "Photo on Unsplash" when the API names no photographer. */
export function attributionText(photo: Photo): string {
  const name = photographer(photo)
  return name ? `Photo by ${name} on Unsplash` : 'Photo on Unsplash'
}

export function photoPageUrl(photo: Photo): string | undefined {
  return withUtm(photo.links.html) ?? withUtm(`https://unsplash.com/photos/${encodeURIComponent(photo.id)}`)
}

/** What the manifest's `meta` carries per photo: enough to credit it and show it well. */
export function attributionMeta(photo: Photo): Record<string, unknown> {
  return {
    source: 'unsplash',
    id: photo.id,
    description: photo.description ?? null,
    altDescription: photo.alt_description ?? null,
    width: photo.width ?? null,
    height: photo.height ?? null,
    color: photo.color ?? null,
    blurHash: photo.blur_hash ?? null,
    premium: photo.premium === true,
    photographer: photographer(photo) ?? null,
    username: photo.user.username ?? null,
    photoUrl: photoPageUrl(photo) ?? null,
    profileUrl: profileUrl(photo) ?? null,
    attribution: attributionText(photo),
  }
}

/**
 * The photo's job. A photo the API sent without the URL this variant is made from (an Unsplash
 * listing can hold a photo removed since) fails on its own, naming it, while the others go on.
 */
export function photoJob(photo: Photo, v: Variant): Job {
  const slug = photoSlug(photo)
  const url = imageUrl(photo, v)
  const where = `Unsplash photo ${photo.id}`
  return {
    url: url ?? '',
    key: jobKey(photo, v),
    fields: {
      id: photo.id,
      slug,
      stem: slug ? `${photo.id}-${slug}` : photo.id,
      user: photo.user.username ?? '',
    },
    meta: attributionMeta(photo),
    where,
    ...(url === undefined
      ? {
          invalid: {
            code: 'invalid-url' as const,
            message: `${where}: the Unsplash API gave no "${sourceSize(v)}" image URL for it`,
          },
        }
      : {}),
  }
}

/** The photo id a job was made from (`unsplash:<id>:<variant>`). */
export function photoIdOf(job: Job): string | undefined {
  const m = /^unsplash:([^:]+):/.exec(job.key ?? '')
  return m?.[1]
}
