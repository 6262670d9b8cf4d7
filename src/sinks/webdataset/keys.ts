/**
 * Where a sample goes: its shard and its key, from its row's position in the input. img2dataset's
 * layout, which WebDataset readers and dataset users expect: shards `00000.tar`, `00001.tar`...,
 * and sample keys `f"{shard:05d}{index:04d}"` for 10,000 samples a shard.
 */

/** Digits of a shard's number: `00000`. A run past 99,999 shards gets longer names, in order still. */
export const SHARD_DIGITS = 5

/** Digits of a sample's index within its shard: enough for `shardSize - 1` (4 for 10,000). */
export function indexDigits(shardSize: number): number {
  return String(Math.max(0, shardSize - 1)).length
}

/** A shard's name without extension: its number, zero-padded to `SHARD_DIGITS`. */
export function shardStem(shard: number): string {
  return String(shard).padStart(SHARD_DIGITS, '0')
}

/** The place of one sample. */
export interface SamplePlace {
  /** The shard's number, from 0. */
  shard: number
  /** The sample's position in its shard, from 0. */
  index: number
  /** The shard's name without extension, e.g. `00003`. */
  stem: string
  /**
   * The sample's key: the shard's stem then the index zero-padded to `indexDigits(shardSize)`, e.g.
   * `000030042`. Digits only, so no dot: WebDataset readers group `KEY.jpg`, `KEY.json`, `KEY.txt`
   * by the name up to the first dot. Unique over a dataset, since the index's width is fixed.
   */
  key: string
}

/** The place of the sample of input row `row` (0-based over all inputs), `shardSize` samples a shard. */
export function samplePlace(row: number, shardSize: number): SamplePlace {
  const shard = Math.floor(row / shardSize)
  const index = row - shard * shardSize
  const stem = shardStem(shard)
  return { shard, index, stem, key: stem + String(index).padStart(indexDigits(shardSize), '0') }
}

/** A sample's file in a tar: `KEY.ext`. */
export const memberName = (key: string, ext: string) => `${key}.${ext}`

/**
 * The `path` an outcome gives a sample: `SHARD.tar/KEY.ext`, the tar and the member in it (the
 * member is in the tar once the shard is sealed; until then it is staged in the work folder).
 */
export const samplePath = (stem: string, member: string) => `${stem}.tar/${member}`

/** The shard's stem and the member's name from a sample's `path`; `undefined` for any other path. */
export function parseSamplePath(path: string): { stem: string; member: string } | undefined {
  const m = /^(\d+)\.tar\/([^/]+)$/.exec(path)
  return m ? { stem: m[1], member: m[2] } : undefined
}
