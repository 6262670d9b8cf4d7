import type { ReportItem } from './types.js'

/** One image of the contact sheet. */
export interface SheetEntry {
  /** Position among the images, in input order (0-based). */
  index: number
  path: string
  thumb?: string
  bytes?: number
  width?: number
  height?: number
  format?: string
  /** Its row's caption, cut to `CAPTION_CHARS` (see `sheetCaption`); none without one. */
  caption?: string
  /** The address it came from, as given (the page shows it through `sharedUrl`). */
  url: string
  /** Already there from an earlier run (`skipped`), not downloaded by the run reported. */
  skipped?: true
  /** HTTP status of its last answer. */
  httpStatus?: number
  /** Milliseconds its last attempt took (see `ReportItem.total`). */
  total?: number
}

/**
 * Longest caption a tile keeps, in characters: the sample's 10,000 captions are the page's data,
 * and a web page's alt text can run to kilobytes. The manifest has each whole.
 */
export const CAPTION_CHARS = 1000

/**
 * A caption as a tile shows it: its spaces and line breaks one space (a caption over lines is
 * one line of the tile), cut to `CAPTION_CHARS` with an ellipsis; `undefined` for none or an
 * empty one. Its other characters as written, right-to-left ones too: the page sets them apart
 * (a bidi isolate) as text, never as markup.
 */
export function sheetCaption(caption: string | undefined): string | undefined {
  const text = caption?.replace(/\s+/gu, ' ').trim()
  if (!text) return undefined
  const chars = [...text]
  return chars.length <= CAPTION_CHARS ? text : `${chars.slice(0, CAPTION_CHARS - 1).join('')}…`
}

export interface Sheet {
  /** Images in the folder (`ok` and `skipped` items with a path). */
  total: number
  /** All of them when `total <= limit`, else a uniform random sample of `limit`; in input order. */
  entries: SheetEntry[]
}

/** A small deterministic generator (mulberry32): the same input gives the same sample. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Keeps the contact sheet's images in bounded memory: every one while there are at most `limit`,
 * then a uniform sample by reservoir sampling (Vitter's algorithm R), so the images of a
 * 100-million-line run are represented fairly without knowing the count in advance.
 */
export class SheetSampler {
  readonly #entries: SheetEntry[] = []
  readonly #random: () => number
  #total = 0

  constructor(
    readonly limit = 10_000,
    seed = 0x1f2e3d4c,
  ) {
    this.#random = random(seed)
  }

  add(item: ReportItem): void {
    if ((item.status !== 'ok' && item.status !== 'skipped') || !item.path) return
    const index = this.#total++
    let slot = this.#entries.length
    if (slot >= this.limit) {
      slot = Math.floor(this.#random() * this.#total)
      if (slot >= this.limit) return
    }
    const caption = sheetCaption(item.caption)
    this.#entries[slot] = {
      index,
      path: item.path,
      ...(item.thumb ? { thumb: item.thumb } : {}),
      ...(item.bytes === undefined ? {} : { bytes: item.bytes }),
      ...(item.width === undefined ? {} : { width: item.width }),
      ...(item.height === undefined ? {} : { height: item.height }),
      ...(item.format ? { format: item.format } : {}),
      ...(caption ? { caption } : {}),
      url: item.url,
      ...(item.status === 'skipped' ? { skipped: true as const } : {}),
      ...(item.httpStatus === undefined ? {} : { httpStatus: item.httpStatus }),
      ...(item.total === undefined ? {} : { total: item.total }),
    }
  }

  result(): Sheet {
    return { total: this.#total, entries: [...this.#entries].sort((a, b) => a.index - b.index) }
  }
}

/** The {@link Sheet} of a list of items. */
export function sampleSheet(items: Iterable<ReportItem>, limit = 10_000): Sheet {
  const sampler = new SheetSampler(limit)
  for (const item of items) sampler.add(item)
  return sampler.result()
}
