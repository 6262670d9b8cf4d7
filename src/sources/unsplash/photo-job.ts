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

/** The image address for a variant. imgix parameters go on top of the raw URL's own (ixid...). */
export function imageUrl(photo: Photo, v: Variant): string {
  if ('size' in v) return photo.urls[v.size]
  const imgix = 'imgix' in v ? v.imgix : sideImgix(photo, v.resizeTo)
  const u = new URL(photo.urls.raw)
  for (const k of IMGIX_ORDER) {
    const value = imgix[k]
    if (value !== undefined) u.searchParams.set(k, String(value))
  }
  return u.href
}

/**
 * imgix's `w` or `h` that gives the photo `px` pixels on the side asked for, from the size the API
 * lists: none (the original) when that side is not larger than `px`, as imgix never enlarges a
 * photo anyway, or when the API listed no size.
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

/** Lowercase words of any script joined by `-`, at most ~60 characters, cut between words. */
export function slugify(text: string | null | undefined, max = 60): string {
  if (!text) return ''
  const words = text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
  let slug = ''
  for (const word of words) {
    const next = slug ? `${slug}-${word}` : word
    if (next.length > max) return slug || word.slice(0, max)
    slug = next
  }
  return slug
}

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
  return (
    withUtm(photo.user.links?.html) ??
    withUtm(`https://unsplash.com/@${encodeURIComponent(photo.user.username)}`)
  )
}

export function photoPageUrl(photo: Photo): string | undefined {
  return withUtm(photo.links.html) ?? withUtm(`https://unsplash.com/photos/${encodeURIComponent(photo.id)}`)
}

/** What the manifest's `meta` carries per photo: enough to credit it and show it well. */
export function attributionMeta(photo: Photo): Record<string, unknown> {
  const name = photo.user.name || photo.user.username
  return {
    source: 'unsplash',
    id: photo.id,
    description: photo.description ?? null,
    altDescription: photo.alt_description ?? null,
    width: photo.width ?? null,
    height: photo.height ?? null,
    color: photo.color ?? null,
    blurHash: photo.blur_hash ?? null,
    photographer: name,
    username: photo.user.username,
    photoUrl: photoPageUrl(photo) ?? null,
    profileUrl: profileUrl(photo) ?? null,
    attribution: `Photo by ${name} on Unsplash`,
  }
}

export function photoJob(photo: Photo, v: Variant): Job {
  const slug = photoSlug(photo)
  return {
    url: imageUrl(photo, v),
    key: jobKey(photo, v),
    fields: { id: photo.id, slug, stem: slug ? `${photo.id}-${slug}` : photo.id, user: photo.user.username },
    meta: attributionMeta(photo),
  }
}

/** The photo id a job was made from (`unsplash:<id>:<variant>`). */
export function photoIdOf(job: Job): string | undefined {
  const m = /^unsplash:([^:]+):/.exec(job.key ?? '')
  return m?.[1]
}
