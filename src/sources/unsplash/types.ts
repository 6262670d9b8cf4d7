/** The parts of the Unsplash API's response shapes that imgpull reads (https://unsplash.com/documentation). */

export const SIZES = ['raw', 'full', 'regular', 'small', 'thumb'] as const
export type Size = (typeof SIZES)[number]

export interface Photo {
  id: string
  slug?: string | null
  description?: string | null
  alt_description?: string | null
  width?: number
  height?: number
  color?: string | null
  blur_hash?: string | null
  /**
   * An Unsplash+ photo: under the Unsplash+ License, not the Unsplash License; its files come
   * watermarked to a key without a subscription, whose tracking call for it answers 401.
   */
  premium?: boolean
  /** Also an Unsplash+ photo, as some answers say it (`plus: true`). */
  plus?: boolean
  /** A size the API left out (or sent as something other than text) is missing here. */
  urls: Partial<Record<Size, string>>
  links: { html?: string; download?: string; download_location?: string }
  /** A photo whose photographer the API left out has no `username`. */
  user: { name?: string | null; username?: string; links?: { html?: string } }
}

/** `GET /search/photos` */
export interface SearchResponse {
  total: number
  total_pages: number
  results: Photo[]
}

/** The API's error body: `{ "errors": ["..."] }`. */
export interface ErrorBody {
  errors?: string[]
}
