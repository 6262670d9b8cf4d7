import { ERROR_CODES, httpStatusOf, INPUT_ERRORS } from '../../error-codes.js'
import { retriedOnRerun } from '../../fetch/retry-policy.js'
import { headOf, printable } from '../../utils/printable.js'
import { maskSigning, redactUrl, shownUrl, withoutUserInfo } from '../../utils/url.js'
import { isSharePageFailure } from '../../verify/share-page.js'
import { placedMessage } from '../failure-place.js'
import { grouped, naturalOrder } from '../format.js'
import type { ReportItem } from './types.js'

/**
 * Failure codes that are transient: another attempt may succeed. Mirrors the `retryable` flags the
 * engine's errors carry (`src/errors.ts`, `src/fetch/download.ts` and its steps): timeouts, network errors, a
 * body cut short, and HTTP 408, 425, 429, 500, 502, 503, 504 and Cloudflare's 520–524 (and a 304,
 * 412 or 416 to a request that asked no condition, precondition or range).
 */
/** Whether a failure with this code may succeed when tried again: what a plain rerun retries. */
export function isTransient(code: string | undefined): boolean {
  return code !== undefined && retriedOnRerun(code)
}

/** An item's own flag when it has one, else what its code says. */
export function itemTransient(item: ReportItem): boolean {
  return item.retryable ?? isTransient(item.error)
}

/**
 * The word a failure group is tagged with, in the words of the rerun advice above it, `imgpull
 * status` and the README: `passing` (a plain rerun tries it again), `permanent` (only with
 * `--retry-failed`), or `mend the input` for the input's own codes (`INPUT_ERRORS`: no request is
 * made, so `--retry-failed` cannot help), or `change the links` for a group of sharing sites' pages
 * alone (`sharePages`: each message names the link that gives the file; `--retry-failed` would fetch
 * the same pages again). A group of both kinds says how many pass, or how many are such pages.
 */
export function failureKind(g: {
  code: string
  count: number
  transient: number
  sharePages?: number
}): string {
  if (g.transient === g.count) return 'passing'
  if (g.transient > 0) return `${grouped(g.transient)} passing`
  if (g.sharePages === g.count) return 'change the links'
  if (g.sharePages) return `${grouped(g.sharePages)} change the links`
  return INPUT_ERRORS.has(g.code) ? 'mend the input' : 'permanent'
}

/** The code a failure without one is grouped under. */
export const UNKNOWN_CODE = 'unknown'

export interface FailureExample {
  /** Redacted: no user name or password, no signing parameter's value (`maskSigning`); `printable`. */
  url: string
  /**
   * Signing parameters' values masked and URLs' users and passwords taken out, as in `url`; where
   * the input holds the job after it (`placedMessage`).
   */
  message?: string
  /**
   * `url` is cut (longer than `EXAMPLE_CHARS`): shown as text, not linked, its address not the one
   * given (a link opened the cut one, its ellipsis as `%E2%80%A6`).
   */
  cut?: true
  /** What the failure viewer says of it beyond the table's line. */
  story: FailureStory
}

/**
 * A failure's whole story as the journal has it, for the failure viewer: the fields of its
 * {@link ReportItem} that exist, nothing made up. The journal keeps no list of the attempts one by
 * one: their count and the HTTP statuses they were answered with, counted (`answers`).
 */
export interface FailureStory {
  /** The status that failed it (`http-404`: 404); none for a failure that had no answer or a body refused. */
  httpStatus?: number
  /** Requests made for it, retries included (0: none could be, an invalid URL). */
  attempts: number
  /** The attempts' answers, `[[status, count], ...]`, by status; none where the journal has none. */
  answers?: [number, number][]
  /** Where redirects led, as `FailureExample.url` is shown (`sharedUrl`); none when they did not lead away. */
  finalUrl?: string
  /** Milliseconds to the last attempt's response headers, and from its first request to its outcome, rounded. */
  ttfb?: number
  total?: number
  /** When it failed, ms since the epoch. */
  finishedAt?: number
  /** What a rerun does with it, as its group is tagged (`failureKind`: `passing`, `permanent`, `mend the input`, `change the links`). */
  kind: string
  /** Failed in an earlier run and skipped by this one (`ReportItem.failedBefore`). */
  failedBefore?: true
  /** Left by another input run into the folder (`ReportItem.otherInput`): a rerun of this command does not read it. */
  otherInput?: true
}

/** The {@link FailureStory} of a failed item: `transient` and `sharePage` as its tally judged it. */
export function failureStory(item: ReportItem, transient: boolean, sharePage: boolean): FailureStory {
  const answers = Object.entries(item.answers ?? {})
    .map(([status, count]): [number, number] => [Number(status), count])
    .filter(([status, count]) => Number.isInteger(status) && Number.isInteger(count) && count > 0)
    .sort((a, b) => a[0] - b[0])
  const final = item.finalUrl && item.finalUrl !== item.url ? sharedUrl(item.finalUrl).url : undefined
  const round = (ms: number | undefined) =>
    ms === undefined || !Number.isFinite(ms) ? undefined : Math.round(ms)
  const ttfb = round(item.ttfb)
  const total = round(item.total)
  return {
    ...(item.httpStatus === undefined ? {} : { httpStatus: item.httpStatus }),
    attempts: item.attempts,
    ...(answers.length ? { answers } : {}),
    ...(final === undefined ? {} : { finalUrl: final }),
    ...(ttfb === undefined ? {} : { ttfb }),
    ...(total === undefined ? {} : { total }),
    ...(item.finishedAt === undefined ? {} : { finishedAt: item.finishedAt }),
    kind: failureKind({
      code: item.error || UNKNOWN_CODE,
      count: 1,
      transient: transient ? 1 : 0,
      sharePages: sharePage ? 1 : 0,
    }),
    ...(item.failedBefore ? { failedBefore: true as const } : {}),
    ...(item.otherInput ? { otherInput: true as const } : {}),
  }
}

export interface FailureHost {
  host: string
  count: number
  /**
   * A few failures of this code at this host, in input order: its first ones, for a host that was
   * among the code's first `EXAMPLE_HOSTS` all along; none for a host that is not among them.
   */
  examples: FailureExample[]
}

export interface FailureGroup {
  code: string
  count: number
  /** How many of them are transient (a `--retry-failed` rerun may fetch them). */
  transient: number
  /** How many of them are a sharing site's page in place of the image (see `isSharePageFailure`). */
  sharePages: number
  /** Hosts, most failures first (ties by name). */
  hosts: FailureHost[]
}

/** What a rerun of the same command would do with what this run left. */
export interface RerunPlan {
  /** Jobs of this run's input not finished: a plain rerun fetches them. */
  pending: number
  /** Failed jobs, of every input the folder was filled from. */
  failed: number
  /** Of this run's input's failed, how many are transient (timeouts, network, 429, 5xx): a plain rerun tries them again. */
  transient: number
  /** Of this run's input's failed, how many are permanent (404, not an image, ...): skipped until `--retry-failed`. */
  permanent: number
  /** Of this run's input's failed, how many are the input's own (`INPUT_ERRORS`): failed by every run until it is mended. */
  input: number
  /**
   * Of this run's input's failed, how many are a sharing site's page in place of the image (see
   * `isSharePageFailure`): not in `permanent`, as `--retry-failed` would fetch the same page again.
   */
  sharePages: number
  /**
   * Failed or unfinished jobs another input left in the folder ({@link ReportItem.otherInput}): a
   * rerun of this command does not read them. Not in `pending`, `transient` nor `permanent`.
   */
  otherInput: number
}

/** Longest URL or message an example keeps, in characters: the whole line is in manifest.jsonl. */
export const EXAMPLE_CHARS = 300

/** `text` cut to `EXAMPLE_CHARS`, with an ellipsis: signed URLs and `data:` URLs run to kilobytes. */
function cut(text: string): string {
  return text.length <= EXAMPLE_CHARS ? text : `${headOf(text, EXAMPLE_CHARS - 1)}…`
}

/**
 * A URL as the page shows it (a failure's example, an image's in the viewer): no user or
 * password, no signing parameter's value (`maskSigning`), cut to `EXAMPLE_CHARS` (`cut` then:
 * never linked, the cut address is not the file's), its invisible marks shown (`printable`: a
 * U+202E shows `gnp.exe` as `exe.png`).
 */
export function sharedUrl(given: string): { url: string; cut: boolean } {
  const url = maskSigning(redactUrl(given))
  return { url: printable(cut(url)), cut: url.length > EXAMPLE_CHARS }
}

/**
 * An example's message with its own URL, shown just above it, said as 'this URL': 'HTTP 404 from
 * this URL', 'network error on this URL: the server closed the connection'. Written out again, it
 * doubled every example (four lines of the same address on a phone). The URL as given, without its
 * credentials, or shortened in the middle as a one-line message quotes one longer than 160
 * characters (`shownUrl`): the URL shown above is cut at its end, so a 10 KB one was there twice,
 * and a signed one's shortened form kept the tail of its signature, its parameter's name cut off
 * (no mask knew it). Only where the URL ends (a space, a quote or bracket, a colon or full stop
 * before a space): a longer one it begins is another URL. Found by plain search: a regular
 * expression of the URL, a `data:` URL's or an export's of 40 KB, was too large for V8, and the
 * run ended on that error, its report not written.
 */
export function sayingThisUrl(message: string, url: string): string {
  if (!url) return message
  const forms = [...new Set([url, redactUrl(url), shownUrl(url)])].sort((a, b) => b.length - a.length)
  const endsAt = (at: number) => at === message.length || URL_ENDS.test(message.slice(at, at + 2))
  let said = ''
  let from = 0
  for (let at = 0; at < message.length; at++) {
    const form = forms.find((f) => message.startsWith(f, at) && endsAt(at + f.length))
    if (!form) continue
    said += `${message.slice(from, at)}this URL`
    from = at + form.length
    at = from - 1
  }
  return said + message.slice(from)
}

/** What may follow a URL a message quotes: a space, a quote or bracket, a colon or full stop ending it. */
const URL_ENDS = /^(?:[\s,;)"'\]>]|[:.](?:\s|$))/

/**
 * Hosts of one failure code that keep examples: the page shows the first 10. The others are
 * counted only, so a run failing at a million hosts (dead domains of a scraped list) holds counts,
 * not three URLs and messages for each (2 KB a host: 2 GB, past Node's heap, at the run's end).
 */
export const EXAMPLE_HOSTS = 32

interface Group {
  count: number
  transient: number
  sharePages: number
  hosts: Map<string, FailureHost>
  /** The hosts keeping examples: at every moment the first `EXAMPLE_HOSTS` in the groups' order. */
  kept: Set<FailureHost>
  /** The last of `kept` in that order, once looked for (undefined: look again). */
  weakest?: FailureHost
}

/**
 * Whether `a` comes before `b` in a group's hosts, as `groups()` orders them: more failures, then
 * by name in natural order. Text order kept the examples of h10, h100... where h2 is shown.
 */
const before = (a: FailureHost, b: FailureHost) =>
  a.count > b.count || (a.count === b.count && naturalOrder(a.host, b.host) < 0)

/**
 * Groups failures by code, then host, keeping up to `examples` examples for each of the
 * `EXAMPLE_HOSTS` first hosts of a code (the others none). One pass, bounded examples.
 */
export class FailureTally {
  readonly #groups = new Map<string, Group>()
  #pending = 0
  #failed = 0
  #transient = 0
  #input = 0
  #sharePages = 0
  /** Failed and unfinished jobs another input left (see `RerunPlan.otherInput`). */
  #otherFailed = 0
  #otherPending = 0

  constructor(readonly examples = 3) {}

  add(item: ReportItem): void {
    const other = item.otherInput === true
    if (item.status === 'pending') {
      if (other) this.#otherPending++
      else this.#pending++
    }
    if (item.status !== 'failed') return
    this.#failed++
    if (other) this.#otherFailed++
    const transient = itemTransient(item)
    if (transient && !other) this.#transient++
    if (!other && INPUT_ERRORS.has(item.error ?? '')) this.#input++
    const page = !transient && isSharePageFailure(item.error, item.message)
    if (page && !other) this.#sharePages++
    const code = item.error || UNKNOWN_CODE
    let group = this.#groups.get(code)
    if (!group) {
      group = { count: 0, transient: 0, sharePages: 0, hosts: new Map(), kept: new Set() }
      this.#groups.set(code, group)
    }
    group.count++
    if (transient) group.transient++
    if (page) group.sharePages++
    let host = group.hosts.get(item.host)
    if (!host) {
      host = { host: item.host, count: 0, examples: [] }
      group.hosts.set(item.host, host)
    }
    host.count++
    if (this.examples > 0 && this.#keeps(group, host) && host.examples.length < this.examples) {
      // Shared with the report: no credentials, no signatures (the manifest has the URL whole);
      // a list's line as written, its invisible marks shown (a U+202E shows `gnp.exe` as `exe.png`).
      const { url: shown, cut: isCut } = sharedUrl(item.url)
      const said = item.message ? maskSigning(withoutUserInfo(sayingThisUrl(item.message, item.url))) : ''
      // Where the input holds it, after the message cut to its length, so a long one keeps it.
      const message =
        placedMessage(said, item.place) === said ? cut(said) : placedMessage(cut(said), item.place)
      host.examples.push({
        url: shown,
        ...(isCut ? { cut: true as const } : {}),
        ...(message ? { message: printable(message) } : {}),
        story: failureStory(item, transient, page),
      })
    }
  }

  /**
   * Whether `host`, whose count just grew, keeps examples: it is among the first `EXAMPLE_HOSTS`
   * of its group, taking the place (and dropping the examples) of the last one if it now comes
   * before it. Counts only grow, so the kept ones stay the first: a host that comes in late keeps
   * examples from then on (at least this failure).
   */
  #keeps(group: Group, host: FailureHost): boolean {
    const { kept } = group
    if (kept.has(host)) {
      if (host === group.weakest) group.weakest = undefined
      return true
    }
    if (kept.size < EXAMPLE_HOSTS) {
      kept.add(host)
      group.weakest = undefined
      return true
    }
    let weakest = group.weakest
    if (!weakest) {
      for (const h of kept) if (!weakest || before(weakest, h)) weakest = h
      group.weakest = weakest
    }
    if (!weakest || !before(host, weakest)) return false
    kept.delete(weakest)
    weakest.examples = []
    kept.add(host)
    group.weakest = undefined
    return true
  }

  /** Groups, most failures first (ties by code). */
  groups(): FailureGroup[] {
    return [...this.#groups.entries()]
      .map(([code, g]) => ({
        code,
        count: g.count,
        transient: g.transient,
        sharePages: g.sharePages,
        hosts: [...g.hosts.values()].sort(byCountThen((h) => h.host)),
      }))
      .sort(byCountThen((g) => g.code))
  }

  rerun(): RerunPlan {
    return {
      pending: this.#pending,
      failed: this.#failed,
      transient: this.#transient,
      permanent: this.#failed - this.#otherFailed - this.#transient - this.#input - this.#sharePages,
      input: this.#input,
      sharePages: this.#sharePages,
      otherInput: this.#otherFailed + this.#otherPending,
    }
  }
}

function byCountThen<T extends { count: number }>(name: (x: T) => string) {
  return (a: T, b: T) => b.count - a.count || naturalOrder(name(a), name(b))
}

/** A host's failures, with their codes (see {@link failuresByHost}). */
export interface HostFailures {
  host: string
  count: number
  /** Its codes, `[code, count, group]`: most first, then by code in natural order; `group` the code's index in the groups. */
  codes: [string, number, number][]
}

/**
 * The failures by host, the other way round from the groups (by code, then host): the `limit`
 * hosts with the most failures (then by name, in natural order), each with its codes. Read from
 * the groups, which count every host (`FailureGroup.hosts`); `failed` is each host's count of
 * failures (the host table's), so only the hosts shown are looked for: a run failing at 500,000
 * dead domains builds `limit` rows, not one a host. `rest` sums the other hosts' failures, and
 * `restCodes` their codes, `[code, count, group]` as a row's (each group's count less the hosts'
 * shown): the line of 39 more hosts said their 39 failures, not what they were.
 */
export function failuresByHost(
  groups: readonly FailureGroup[],
  failed: readonly { host: string; failed: number }[],
  limit = 20,
): { rows: HostFailures[]; restHosts: number; restCount: number; restCodes: [string, number, number][] } {
  const all = failed.filter((h) => h.failed > 0)
  const top = [...all].sort((a, b) => b.failed - a.failed || naturalOrder(a.host, b.host)).slice(0, limit)
  const rows = new Map(
    top.map((h): [string, HostFailures] => [h.host, { host: h.host, count: 0, codes: [] }]),
  )
  const byCount = (a: [string, number, number], b: [string, number, number]) =>
    b[1] - a[1] || naturalOrder(a[0], b[0])
  const restCodes: [string, number, number][] = []
  groups.forEach((g, index) => {
    let rest = g.count
    for (const h of g.hosts) {
      const row = rows.get(h.host)
      if (!row) continue
      row.count += h.count
      row.codes.push([g.code, h.count, index])
      rest -= h.count
    }
    if (rest > 0) restCodes.push([g.code, rest, index])
  })
  for (const row of rows.values()) row.codes.sort(byCount)
  const shown = [...rows.values()]
  const restCount = all.reduce((sum, h) => sum + h.failed, 0) - shown.reduce((sum, r) => sum + r.count, 0)
  return { rows: shown, restHosts: all.length - shown.length, restCount, restCodes: restCodes.sort(byCount) }
}

/** {@link FailureGroup}s of a list of items. */
export function groupFailures(items: Iterable<ReportItem>, examples = 3): FailureGroup[] {
  const tally = new FailureTally(examples)
  for (const item of items) tally.add(item)
  return tally.groups()
}

/** {@link RerunPlan} of a list of items. */
export function rerunPlan(items: Iterable<ReportItem>): RerunPlan {
  const tally = new FailureTally(0)
  for (const item of items) tally.add(item)
  return tally.rerun()
}

const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1)

/** What a failure code means, in a sentence (from the table of codes); `undefined` for codes without one. */
export function describeError(code: string): string | undefined {
  const fixed: Record<string, string> = {
    ...Object.fromEntries(
      Object.entries(ERROR_CODES).map(([c, { meaning }]) => [c, `${sentence(meaning)}.`]),
    ),
    'unsplash-rate-limit': "The Unsplash API's hourly budget ran out.",
    unknown: 'The journal holds no code for these failures.',
  }
  if (fixed[code]) return fixed[code]
  const n = httpStatusOf(code)
  if (n === undefined) return undefined
  const http: Record<number, string> = {
    400: 'Bad request: the server rejected the address.',
    401: 'Unauthorised: the server wants credentials.',
    403: 'Forbidden: the server refuses to serve it (hotlink protection, an expired signed link).',
    404: 'Not found: the server has no file at this address.',
    410: 'Gone: the server says the file was removed for good.',
    429: 'Too many requests: the server asked to slow down, and still did after every retry.',
  }
  if (http[n]) return http[n]
  if (n >= 500) return `Server error ${n}, on every attempt.`
  if (n >= 400) return `The server refused the request (HTTP ${n}).`
  return undefined
}
