import { counted, grouped } from '../../report/format.js'
import { HOUR, type OnRateLimit, type RateLimit } from './rate-limit.js'

/**
 * The API calls a run needs, said up front: listing pages plus one download-tracking call per
 * photo downloaded. Image files do not count against the limit.
 */
export interface Budget {
  label: string
  /** Photos this run will list, when known. */
  wanted: number | undefined
  /** Photos the API says the listing holds. */
  total: number | undefined
  /** The limit came from the default, not the user. */
  defaultLimit: boolean
  /** How to ask for more than the default limit. @default '--limit N or --limit all for more' */
  limitHint?: string
  /** Photos an earlier run listed (no calls needed for those). */
  stored: number
  /**
   * How to list again, said when the whole listing comes from an earlier run (a plain rerun does
   * not see photos added since): `--refresh lists it again for photos added since`.
   */
  refreshHint?: string
  /** Listing calls still to make; `undefined` when unknown. */
  listingCalls: number | undefined
  /** Tracking calls at most: one per photo not yet tracked, plus those owed by earlier runs. */
  trackingCalls: number
  /** Calls made so far in this run. */
  made: number
  rate: RateLimit
  onRateLimit: OnRateLimit
  /** How long a rate-limit wait lasts, in ms. @default 3_600_000 */
  window?: number
}

const n = grouped

/** `4 hours`, `1 hour`, `10 minutes`, `30 s`: a length of time at a glance. */
function span(ms: number): string {
  if (ms >= HOUR && ms % (HOUR / 2) === 0) return counted(ms / HOUR, 'hour')
  if (ms >= 60_000) return counted(Math.round(ms / 60_000), 'minute')
  return `${Math.round(ms / 1000)} s`
}

export function callsNeeded(b: Budget): number | undefined {
  return b.listingCalls === undefined ? undefined : b.listingCalls + b.trackingCalls
}

export function budgetLines(b: Budget): string[] {
  let photos: string
  if (b.wanted === undefined) photos = 'photos'
  else if (b.total !== undefined && b.wanted < b.total) {
    photos = `${n(b.wanted)} of ${counted(b.total, 'photo')}`
    if (b.defaultLimit) photos += ` (${b.limitHint ?? '--limit N or --limit all for more'})`
  } else
    photos = b.total !== undefined && b.total > 1 ? `all ${n(b.wanted)} photos` : counted(b.wanted, 'photo')
  if (b.stored > 0) {
    photos +=
      b.wanted !== undefined && b.stored >= b.wanted
        ? ` (listed by an earlier run${b.refreshHint && b.listingCalls === 0 ? `; ${b.refreshHint}` : ''})`
        : `, ${n(b.stored)} listed by an earlier run`
  }

  const left = callsNeeded(b)
  const parts = [
    b.listingCalls === undefined ? 'listing pages as needed' : counted(b.listingCalls, 'listing page'),
    `up to ${counted(b.trackingCalls, 'download tracking call')}`,
  ]
  const calls = left === undefined ? 'API calls still needed' : `${counted(left, 'API call')} still needed`
  const made = b.made > 0 ? `, ${n(b.made)} made` : ''
  const rate =
    b.rate.remaining === undefined
      ? ''
      : `; ${n(b.rate.remaining)}${b.rate.limit === undefined ? '' : ` of ${n(b.rate.limit)}`} left this hour`
  // A photo already in the folder is still looked up (`photo ID`): none more to make, but one made,
  // which the run's last line counts (it said "No API calls needed", then "1 API call in this run").
  const needs =
    left !== 0
      ? `${calls} (${parts.join(', ')})${made}`
      : made
        ? `No more API calls needed${made}`
        : 'No API calls needed'
  const lines = [`Unsplash ${b.label}: ${photos}. ${needs}${rate}.`]
  if (left !== undefined && b.rate.remaining !== undefined && left > b.rate.remaining) {
    // How many windows the rest takes, where the API says its limit: 206 calls on a demo key (49
    // left of 50) are four more hours, where "will wait for the hourly reset" read as one.
    const windows =
      b.rate.limit !== undefined && b.rate.limit > 0
        ? Math.ceil((left - b.rate.remaining) / b.rate.limit)
        : undefined
    const window = b.window ?? HOUR
    const long =
      windows === undefined
        ? ''
        : ` (${windows === 1 ? 'once' : `${windows} times`}: about ${span(windows * window)} at ${counted(b.rate.limit!, 'call')} an hour)`
    const runs =
      windows === undefined
        ? ''
        : ` (${windows === 1 ? 'one more run' : `${windows} more runs`}, ${span(window)} apart, at ${counted(b.rate.limit!, 'call')} an hour)`
    lines.push(
      b.onRateLimit === 'wait'
        ? `That is more than is left this hour: the run will wait for the hourly reset when they run out${long}.`
        : `That is more than is left this hour: the run will stop when they run out; run the same command after the reset to continue${runs}.`,
    )
  }
  return lines
}
