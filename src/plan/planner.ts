import { stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { type ErrorCode, INPUT_ERRORS, ROW_ERRORS } from '../error-codes.js'
import type { ImgpullError } from '../errors.js'
import { retriedOnRerun } from '../fetch/retry-policy.js'
import type { JobRecord, Journal } from '../journal/journal.js'
import { resultOf } from '../outcome.js'
import { placedMessage } from '../report/failure-place.js'
import { holds, publish, sha256Of } from '../sinks/files.js'
import { rowKey } from '../sources/tables/jobs.js'
import type { Job, Result, Validators } from '../types.js'
import { RecentMap } from '../utils/recent.js'
import { steadyNow } from '../utils/steady-clock.js'
import { hostKey, urlKey } from '../utils/url.js'
import { isSharePageFailure } from '../verify/share-page.js'
import { failureHolds, type Limits } from './judged-against.js'
import { checkTemplate, hashKey, isReserved, renderName, withSuffix } from './naming.js'
import { invalidUrlMessage, parseFetchUrl } from './url-problem.js'

/** A job that will be fetched, with everything the fetch and sink stages need. */
export interface Task {
  job: Job
  key: string
  url: string
  /** Origin (`scheme://host:port`): the unit of per-host limits. */
  host: string
  /** Planned relative name with the extension still open. */
  planned: string
  /**
   * The name the template gives, where the plan gave a variant of it (another job of the list took
   * it first): an earlier run of the list in another order may have saved the image there.
   */
  named?: string
  /** Where the bytes go until they are verified. */
  part: string
  validators: Validators
  attempts: number
  /**
   * Attempts cut after they moved a resumable file forward: not held against `--retries` (see
   * `progressFree`), up to `MAX_PROGRESS_ATTEMPTS`. Not one count with `crowdedFree`, though both
   * are attempts forgiven: each has its own bound (a file that both crept forward and was refused
   * at its host's limit would spend one's allowance on the other), and `crowdedFree` alone grows the
   * wait after a refusal (see `FailureFacts.crowdedCredits`).
   */
  freeAttempts?: number
  /** Attempts that found no file descriptor free: not held against `--retries` (see `outOfDescriptors`). */
  descriptorWaits?: number
  /** Its latest connection refused while other transfers of its host were in flight, when sent (see `crowdedCredit`). */
  crowdedAt?: number
  /**
   * Such refusals forgiven: not held against `--retries` (see `crowdedCredit`), up to
   * `MAX_CROWDED_REFUSALS`; each also lengthens the job's next wait after a refusal (see
   * `FailureFacts.crowdedCredits`). Kept apart from `freeAttempts` for those two reasons.
   */
  crowdedFree?: number
  /** It was tried once more, out of retries, after such a refusal (see `refusedInDoubt`). */
  doubtGrace?: boolean
  /** Attempts cut by their transfer thread's death: not held against `--retries`, up to `READY_DEATHS` (see transfer-threads.ts). */
  threadDeaths?: number
  /**
   * The current attempt's bodies (see `DownloadContext.onBody`): where in the file the first began,
   * and whether any began at byte 0 (the file anew, not a continuation); `count`, how many were
   * taken (the parts of a capped answer: see `progressFree`); `unresumable`, why no range could
   * continue the last, in words (see `DownloadContext.onBody`).
   */
  bodies?: { from: number; anew: boolean; count: number; unresumable?: string }
  /**
   * A body of an attempt in this run continued the bytes on disk, and the file did not start over
   * after it in that attempt: not every attempt started over.
   */
  continued?: boolean
  /** Bytes of a body came in the current attempt (see `bytesEarlier`). */
  gotBytes?: boolean
  /**
   * Bytes of a body came in an attempt of this run before the current one: a resume had something
   * to continue. When none did (every answer cut before its first byte), no attempt "started over".
   */
  bytesEarlier?: boolean
  /**
   * This run compared the last bytes of the part on disk with the server's, and they were the same
   * (see `DownloadContext.tailChecked`): later resumes in the run ask again for fewer of them.
   */
  tailChecked?: boolean
  /**
   * A timeout of this file's came after its host served a file for a request sent later (see
   * `Scheduler.pathSilence`): its timeouts are its path's, no complaint about the host.
   */
  pathSilent?: boolean
  /**
   * An attempt of its gave way to its host's other bodies on a slow link (see `giveWay`): sent
   * again from its bytes on disk, its `--total-timeout` counted anew from then. Once a file.
   */
  gaveWay?: boolean
  /** When a new connection of this file's was last reset before any answer (`performance.now()`, see `resetReading`). */
  resetAtDoor?: number
  /** A resume of this file was answered with multipart/byteranges (see `WRAPS_RANGES`): no later attempt asks a range. */
  wrapsRanges?: boolean
  /** Resumes in a row that met a 5xx or no answer at all (see `refusesRange`). */
  rangeFailures?: number
  /** The failure the job is being retried for: its outcome if its time runs out before the retry. */
  retriedFor?: ImgpullError
  started: number
  /** HTTP statuses of the attempts' answers, with counts (the report's 429/503 per host). */
  answers?: Record<string, number>
}

export type Plan = { kind: 'fetch'; task: Task } | { kind: 'done'; result: Result } | { kind: 'duplicate' }

export interface PlanContext {
  out: string
  /** The folder part files go to. */
  parts: string
  template: string
  /** Check the template's placeholders against each job's own fields (the source declared none). */
  checkFields: boolean
  journal: Journal
  retryFailed: boolean
  /** What tries a permanent failure again, in words (see `Options.rerun`). @default '`retryFailed: true`' */
  retryFailedWords?: string
  /** The run's limits, against which an earlier failure of one is judged again (see `failureHolds`). */
  limits: Limits
  /** Part files left by an earlier run (names only). */
  leftovers: Set<string>
  /** Whether the output of an earlier `ok` is still there. @default its file, at its size */
  kept?: (record: JobRecord) => Promise<boolean>
  /** A row now holds another URL than the journal has at its place (`was`): it is fetched as new. */
  onMoved?: (job: Job, was: string) => void
  /**
   * The file an earlier run kept at `path` (`was` bytes) is there at another size now: the image
   * is fetched again, and never written over it (see `publish`).
   */
  onChanged?: (path: string, was: number, now: number) => void
}

/** The line as written, its control characters shown as escapes: a list is often scraped, and it reaches terminals. */

/**
 * A job that fails before any request (an invalid URL, a malformed table row): journaled like any
 * other, so the manifest lists it in its place and a rerun knows it; the same job twice in one run
 * is a duplicate.
 */
function refused(job: Job, code: ErrorCode, message: string, ctx: PlanContext): Plan {
  const key = job.key ?? job.url.trim()
  const { journal } = ctx
  const earlier = journal.get(key)
  if (earlier?.run === journal.run) return { kind: 'duplicate' }
  const outcome = { attempts: 0, error: code, message, total: 0, finishedAt: steadyNow() }
  // Such a job has no file name; a NUL never survives sanitizing, so this one is no file's.
  journal.plan(
    { key, url: job.url, meta: job.meta, caption: job.caption },
    `\u0000${key}`,
    (n) => `\u0000${key}#${n}`,
  )
  journal.finish({ key, state: 'failed', ...outcome, place: job.where }).catch(() => {})
  return { kind: 'done', result: resultOf(job, 'failed', outcome) }
}

/** What an earlier run left: a result to report as it stands, from the journal. */
function fromRecord(job: Job, r: JobRecord, status: Result['status'], again = '`retryFailed: true`'): Result {
  // A sharing site's page would come again as it is: the link its message names is what helps.
  // The input's own (a placeholder host, `images.example`) fail again the same way, without a
  // request, whatever retries them: mending the line or row is what helps, as `status` says.
  const how = isSharePageFailure(r.error, r.message)
    ? `put that link in the input in its place; ${again} would fetch the same page again`
    : INPUT_ERRORS.has(r.error ?? '')
      ? 'every run fails it again until the input is mended'
      : `${again} tries again`
  // Where the input holds it before the note, as a failure of this run says it (`placedMessage`).
  const message =
    r.message === undefined ? undefined : `${placedMessage(r.message, job.where)} (earlier run; ${how})`
  return resultOf(job, status, { ...r, message }, true)
}

/** The size of the file an earlier `ok` kept, as it is now (`undefined`: gone, or no file). */
async function sizeNow(out: string, r: JobRecord): Promise<number | undefined> {
  if (!r.path) return undefined
  try {
    const found = await stat(join(out, r.path))
    return found.isFile() ? found.size : undefined
  } catch {
    return undefined
  }
}

/**
 * Whether the file an earlier `ok` kept is still there at its size; one at another size (edited,
 * optimised or replaced since, or cut by a power loss) is told to `onChanged`.
 */
async function stillThere(ctx: PlanContext, r: JobRecord): Promise<boolean> {
  const size = await sizeNow(ctx.out, r)
  if (size !== undefined && size !== r.bytes) ctx.onChanged?.(r.path!, r.bytes ?? 0, size)
  return size === r.bytes
}

const partName = (key: string) => `${hashKey(key, 32)}.part`

/** Where the transform stage writes the image it makes from the part `part` (a path or a name). */
export const transformedPart = (part: string) => `${part}.out`

/**
 * A run cut between the journal's `ok` and the file taking its name (a `kill -9` there) leaves the
 * verified file it was to publish: the part, or the transform stage's output beside it for an
 * image resized or re-encoded. When it holds exactly the recorded bytes (size, then sha256), it
 * takes its name now, with no request. Files only; never over a file already at the name (see
 * `publish`).
 */
async function adoptPart(key: string, earlier: JobRecord, ctx: PlanContext): Promise<boolean> {
  const part = earlier.transformed ? transformedPart(partName(key)) : partName(key)
  const { path, bytes, sha256 } = earlier
  if (ctx.kept || !ctx.leftovers.has(part) || !path || bytes === undefined || !sha256) return false
  const same = { bytes, sha256 }
  const file = join(ctx.parts, part)
  if (!(await holds(file, same))) return false
  if ((await publish(file, ctx.out, path, false, same).catch(() => false)) !== true) return false
  ctx.leftovers.delete(part)
  return true
}

/**
 * Remove what an earlier run left for `key`, if anything: the part, whose bytes are not to be
 * resumed, and the transform stage's output beside it (a run cut before or just after it took
 * its name).
 */
async function dropLeftover(key: string, ctx: PlanContext): Promise<void> {
  for (const part of [partName(key), transformedPart(partName(key))])
    if (ctx.leftovers.delete(part)) await unlink(join(ctx.parts, part)).catch(() => {})
}

/** Remove the transform stage's output an earlier run left for `key` (see `dropLeftover`), the part kept. */
async function dropTransformed(key: string, ctx: PlanContext): Promise<void> {
  const stale = transformedPart(partName(key))
  if (ctx.leftovers.delete(stale)) await unlink(join(ctx.parts, stale)).catch(() => {})
}

/**
 * Whether the job now names a sha256 its kept image does not have (a hash column given on a rerun,
 * or corrected): the image is fetched again and checked, never reported as done. md5 digests are
 * not journaled, nor the downloaded bytes' sha256 of a resized image: those are not checked again.
 * An image kept by a run with `--hash none` has no sha256 in the journal: its file, at the recorded
 * size, is read for it (`unhashed`), where it was skipped as done on its size, the column never
 * looked at (iwonbigbro/gsync#87); `undefined`: no such file, or the image not to be checked here.
 */
const hashDiffers = (job: Job, earlier: JobRecord, unhashed?: string) =>
  job.expectedHash?.type === 'sha256' &&
  !earlier.transformed && // its sha256 is the new image's, not the downloaded one's
  (earlier.sha256 ?? unhashed) !== undefined &&
  (earlier.sha256 ?? unhashed) !== job.expectedHash.value

/**
 * The sha256 of the file an `ok` kept without one (`--hash none`), where the job now names a
 * sha256 to check it against and the file is there at the recorded size (see `hashDiffers`).
 */
async function unhashedSha256(job: Job, earlier: JobRecord, ctx: PlanContext): Promise<string | undefined> {
  if (job.expectedHash?.type !== 'sha256' || earlier.sha256 !== undefined || earlier.transformed)
    return undefined
  if (ctx.kept || !earlier.path || earlier.bytes === undefined) return undefined
  if ((await sizeNow(ctx.out, earlier)) !== earlier.bytes) return undefined
  return sha256Of(join(ctx.out, earlier.path))
}

/**
 * Whether a job's key is its row's position (`row:N`: table rows, WebDataset samples), not an
 * identity of its own: such a key with another URL than the journal's is another job. A key a
 * source chose (a photo's id beside a signed URL that changes every run) stays the job's.
 */
const isPosition = (job: Job, key: string) => job.row !== undefined && key === rowKey(job.row)

/**
 * Sets of field names already checked against the template: most jobs of a run share one. The most
 * recent `FIELD_SETS_KEPT` a template: JSON lines whose rows each carry other keys would otherwise
 * add one a row; one forgotten is checked again.
 */
const checked = new Map<string, RecentMap<string, true>>()
const FIELD_SETS_KEPT = 1_000

function checkJobFields(template: string, fields: Record<string, string> | undefined): void {
  const names = fields ? Object.keys(fields).join('\u0000') : ''
  let seen = checked.get(template)
  if (!seen) {
    seen = new RecentMap(FIELD_SETS_KEPT)
    checked.set(template, seen)
  }
  if (seen.has(names)) return
  checkTemplate(template, fields ? Object.keys(fields) : [])
  seen.set(names, true)
}

/** The plan stage: validate, dedupe, skip finished work, and pick a unique name. */
export async function planJob(job: Job, index: number, ctx: PlanContext): Promise<Plan> {
  if (job.invalid) return refused(job, job.invalid.code, job.invalid.message, ctx)
  // A table's cells are checked as its rows are read (sources/tables/job.ts): a job here with a
  // place is a list's line, one without it a URL given alone.
  const parsed = parseFetchUrl(job.url, job.where === undefined ? 'url' : 'line')
  if ('why' in parsed)
    return refused(job, 'invalid-url', invalidUrlMessage(job.url, parsed.why, job.where), ctx)
  const { url } = parsed
  url.hash = ''
  const { journal } = ctx
  const canonical = urlKey(url.href)
  // A journal written before keys were so spelled has the URL as written: its record stays the job's.
  const key = job.key ?? (canonical !== url.href && journal.get(url.href) ? url.href : canonical)
  let earlier = journal.get(key)
  if (earlier && earlier.run !== journal.run && earlier.url !== url.href && isPosition(job, key)) {
    // A key that is the row's place in its input names no image: the row now holds another URL
    // (the table was edited, another part was run into the folder, a file that sorts first was
    // added). What the journal has of the old URL (its file, its outcome, its partial bytes) is
    // not this row's: it is fetched as new.
    // A row that failed for its own URL cell (empty, not a URL, a placeholder host) had no image:
    // given one now, it was mended, not moved, and says nothing.
    if (!(earlier.state === 'failed' && INPUT_ERRORS.has(earlier.error ?? '')))
      ctx.onMoved?.(job, earlier.url)
    earlier = undefined
    await dropLeftover(key, ctx)
  }
  if (earlier?.run === journal.run) return { kind: 'duplicate' }
  // The transform stage's output of a job not journaled `ok` (a run cut after the pool wrote it into
  // the renamed part, before the journal's commit) is no run's to publish: only `adoptPart` takes
  // one, of an `ok`. Left, it stayed for good where the rerun kept the image as it came (a new
  // version at the URL, small enough now) or never fetched it again.
  if (earlier?.state !== 'ok' && ctx.leftovers.size > 0) await dropTransformed(key, ctx)
  if (earlier) {
    const unhashed = earlier.state === 'ok' ? await unhashedSha256(job, earlier, ctx) : undefined
    const differs = earlier.state === 'ok' && hashDiffers(job, earlier, unhashed)
    if (differs && unhashed !== undefined) {
      // Read just now at the recorded size: the file the earlier run kept, not the image named.
      await unlink(join(ctx.out, earlier.path!)).catch(() => {})
    } else if (differs && !ctx.kept && earlier.path) {
      // The file an earlier run kept is not the image the table now names: it leaves the folder
      // (a body whose hash differs is never kept), whatever the new attempt gives; only while it
      // still holds the recorded bytes (one put in its place since is not the run's to remove).
      const file = join(ctx.out, earlier.path)
      if (
        earlier.bytes !== undefined &&
        (await holds(file, { bytes: earlier.bytes, sha256: earlier.sha256! }))
      )
        await unlink(file).catch(() => {})
    }
    if (
      earlier.state === 'ok' &&
      !differs &&
      ((await (ctx.kept ? ctx.kept(earlier) : stillThere(ctx, earlier))) ||
        (await adoptPart(key, earlier, ctx)))
    ) {
      // The row's other cells may have changed since (a caption corrected): the manifest says
      // what the table says now, as the shard's Parquet does.
      journal.touch(key, job.meta, job.caption)
      // A run cut between publishing and cleaning up leaves the part: it is not needed.
      await dropLeftover(key, ctx)
      return { kind: 'done', result: fromRecord(job, earlier, 'skipped') }
    }
    // A finished job's part is what it published, not bytes to resume: a run cut between `link`
    // and `unlink` leaves it as a second name of the file in the folder, and writing into it would
    // write over that file (edited since, which is why it is fetched again).
    if (earlier.state === 'ok') await dropLeftover(key, ctx)
    // A row failed for its own cells (`ROW_ERRORS`) that reads well now was mended: fetched. One
    // that still fails so was refused above, before the journal was asked. So is a body checked
    // against a hash cell the table no longer gives, or refused by a limit loosened since (`failureHolds`).
    if (
      earlier.state === 'failed' &&
      !ctx.retryFailed &&
      !retriedOnRerun(earlier.error) &&
      !ROW_ERRORS.has(earlier.error ?? '') &&
      failureHolds(job, earlier, ctx.limits)
    ) {
      // Where the input holds it now: the line to mend, moved if lines were added above it.
      journal.touch(key, job.meta, job.caption, job.where)
      return { kind: 'done', result: fromRecord(job, earlier, 'failed', ctx.retryFailedWords) }
    }
  }
  if (ctx.checkFields) checkJobFields(ctx.template, job.fields)
  const first = renderName(ctx.template, { url, index, key, fields: job.fields })
  const variant = (n: number) => withSuffix(first, n === 1 ? key : `${key}#${n}`)
  const planned = journal.plan(
    { key, url: url.href, meta: job.meta, caption: job.caption },
    // `-n '{name}'` on a URL ending in /report.html: the run's own report would replace the image.
    isReserved(first) ? variant(1) : first,
    variant,
  )
  return {
    kind: 'fetch',
    task: {
      job,
      key,
      url: url.href,
      host: hostKey(url),
      planned,
      // Not for a name imgpull keeps for its own files: no image is ever found there.
      named: planned === first || isReserved(first) ? undefined : first,
      part: join(ctx.parts, partName(key)),
      validators: earlier
        ? {
            etag: earlier.etag,
            lastModified: earlier.lastModified,
            length: earlier.length,
            from: earlier.validatorsFrom,
            stated: earlier.validatorsStated,
          }
        : {},
      attempts: 0,
      started: 0,
    },
  }
}
