import type { Sheet } from './sheet.js'
import type { Attribution } from './types.js'

/** The credits a page holds, of how many there are. */
export interface ShownCredits {
  shown: readonly Attribution[]
  total: number
}

/**
 * The credits the page embeds: all of them while there are at most `limit` (the contact sheet's);
 * past that, those of the images the sheet shows (its sample), or the first `limit` when it shows
 * none (WebDataset shards). Every photo shown keeps its credit, and the page stays bounded: with
 * all of them, a 100,000-photo Unsplash run's report was 23 MB. ATTRIBUTION.md credits every one.
 */
export function shownCredits(all: readonly Attribution[], sheet: Sheet, limit: number): ShownCredits {
  if (all.length <= limit) return { shown: all, total: all.length }
  const onSheet = new Set(sheet.entries.map((e) => e.path))
  const shown = onSheet.size ? all.filter((c) => onSheet.has(c.path)) : all.slice(0, limit)
  return { shown: shown.slice(0, limit), total: all.length }
}
