import { createHash, type Hash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { unlink } from 'node:fs/promises'
import { errorCode, type GatewayAnswer, HTTPError, ImgpullError, TimeoutError } from '../errors.js'
import type { ResolvedOptions } from '../options.js'
import { pastedTail } from '../plan/url-problem.js'
import { isFatalLocal } from '../sinks/local-faults.js'
import { pixelLimit } from '../transform/spec.js'
import type { Job, Validators } from '../types.js'
import { whenCancelled } from '../utils/cancel-hook.js'
import { isSecretHeader } from '../utils/command-line.js'
import { printable, quoted } from '../utils/printable.js'
import { redactUrl, requestTarget, shownUrl, withoutSigning } from '../utils/url.js'
import type { ReadBack } from '../verify/complete/types.js'
import { decodedSizeAtLeast } from '../verify/decoded-size.js'
import { FileCheck, HEAD_BYTES, RULE_OUT_BYTES } from '../verify/file-check.js'
import { looksLike } from '../verify/not-image.js'
import { readBackFile } from '../verify/read-back.js'
import { sharePageHint } from '../verify/share-page.js'
import { encodedDigests, type StatedDigest, statedDigests } from '../verify/stated-digest.js'
import { type AnswersOnce, connectionOrigin } from './answers-once.js'
import { boundaryOf, PartBody, partAnswer, WrappedBadly } from './byteranges.js'
import { cacheHit } from './cache-hit.js'
import { atDoor, atHop, bodyStalledAt, nothingResumed } from './classify.js'
import { markStage } from './connect-stage.js'
import { BodyDecoder, zstdUnavailable } from './content-encoding.js'
import { baseJar, ChainCookies } from './cookies.js'
import {
  type DigestChallenge,
  digestAuthorization,
  digestChallenge,
  digestUnanswered,
} from './digest-auth.js'
import { type Body, type Cancel, Exchange } from './exchange.js'
import { asksToSlowDown, http2Cut, isRefusedStream, neverSent } from './http2-errors.js'
import {
  appliedCodings,
  chunkedLast,
  codingsOf,
  type Decision,
  endMarked,
  etagShifted,
  ifRangeMisread,
  ifRangeValue,
  isMultipart,
  isRedirect,
  judge,
  LATER_OVERLAP,
  mismatch,
  namesNoRange,
  nextOverlap,
  RESUME_OVERLAP,
  resumesInRun,
  seenAfter,
  unknownCodings,
  validatorsFlap,
  validatorsOf,
  WRAPS_RANGES,
} from './judge.js'
import { BodySize } from './large-bodies.js'
import { redirectTarget } from './location.js'
import { mayBeNginxPage, nginxPageWords, smallBodyText } from './nginx-pages.js'
import { HEAD_OVERDUE_MS, headOverdue, servedBy } from './overdue-heads.js'
import { FLUSH_BYTES, PartFile, sizeOnDisk, truncatePart } from './part-file.js'
import { isSocks, proxyFor, proxyNote, proxyPlan, proxySaid, shownProxy } from './proxy.js'
import { quotaResetAfterServed, readRefusal } from './rate-limit-headers.js'
import { revisit } from './redirect-revisit.js'
import { parseRetryAfter } from './retry-delay.js'
import { closedOrReset, isTurnedAway } from './retry-policy.js'
import { robotsAgents, robotsRefusal } from './robots-tag.js'
import { unaskedStatus } from './unasked-status.js'
import {
  chunkLeftAtClose,
  type Dispatcher,
  headBegun,
  http2AllowsNoStream,
  http2PrefaceMissing,
  isHttp1,
  lastChunkAtClose,
} from './undici.js'
import { basicToken, type UrlCredentials, urlCredentials } from './url-credentials.js'

/** Starts over within one attempt (another version, an unusable range answer) before giving up. */
const MAX_RESTARTS = 3
/**
 * Parts of a file of unknown size (`206 bytes A-B/*`) one attempt asks for before giving up; so
 * too parts that each bring fewer new bytes than were asked again (see `nextOverlap`): a server
 * that doles out a byte per answer.
 */
const MAX_PARTS = 100
/**
 * Immediate replays of a request whose HTTP/2 stream the server refused unprocessed (see
 * `isRefusedStream`), or that never left imgpull (see `neverSent`).
 */
const MAX_REPLAYS = 4
/**
 * Immediate replays of a request that met the end of a reused keep-alive connection: closed or
 * reset before any byte of the answer, or a 408 (see `isStaleConnection`, `isStaleAnswer`). Each
 * takes out of the pool a connection that had carried an answer, so they cannot go on for ever;
 * but undici gives a replay any idle connection, and when the server's idle timeout has run out
 * for all of them, several replays in a row meet a stale one: with 4, one file in a run of 30
 * failed (1 run in 10) on a server answering 408 on every reused connection.
 */
const MAX_STALE_REPLAYS = 16

export interface Downloaded {
  bytes: number
  sha256?: string
  ext: string
  width?: number
  height?: number
  httpStatus: number
  /** The URL that answered, when redirects led away from the one asked for (see `Outcome.finalUrl`). */
  finalUrl?: string
  /** ms from sending the request to its headers (last hop). */
  ttfb: number
  /** The answer said the host's rate-limit quota is now spent: ms until it comes back (see `quotaResetAfterServed`). */
  quotaReset?: number
  /**
   * The verified file's bytes, when they were kept in memory rather than written to the part file
   * (see `DownloadContext.hold`): the part file then does not exist.
   */
  held?: Buffer[]
}

export interface DownloadContext {
  dispatcher: Dispatcher
  /**
   * The hosts `dispatcher`'s connections found answering once (see answers-once.ts): one a pool,
   * made with it, so that no run takes another's verdicts.
   */
  answersOnce: AnswersOnce
  options: ResolvedOptions
  /** Called when a response tells how to resume it (kept in the journal). */
  onValidators?: (validators: Validators) => void
  /** Called with each chunk's size, for live progress. */
  onBytes?: (bytes: number) => void
  /**
   * Called when a body is taken, with where in the file it begins: 0 for the whole file anew, more
   * for a continuation of the bytes on disk (what moves a file forward: see `progressFree`);
   * `unresumable`: why no range can continue this body, in words (it came encoded; the server
   * answered this attempt's resume in a form imgpull does not take); `length`: the bytes this
   * answer's body is to bring (encoded ones, for an encoded body), where it says (see pull.ts
   * `steadyAtDeadline`).
   */
  onBody?: (at: number, unresumable?: string, length?: number) => void
  /** The hash the body must have (a table's hash column): a mismatch is `hash-mismatch`, not kept. */
  expectedHash?: Job['expectedHash']
  /**
   * This run already compared the last bytes of this part with the server's (see
   * `RESUME_OVERLAP`): its resumes ask again for fewer of them (`LATER_OVERLAP`). The whole
   * check once per part per run is for a part kept from an earlier run, or a change between
   * attempts; the shorter one each time after, for an answer from another server that serves
   * another version under the same validators, while a server that cuts every answer short still
   * moves the file on.
   */
  tailChecked?: boolean
  /** Called when a resume's overlap was compared whole and found the same. */
  onTailChecked?: () => void
  /**
   * Ask for the whole file, without `Range`, though bytes on disk could be resumed: the server
   * refused the last resumes (see `refusesRange`). Those bytes stay until a body replaces them.
   */
  plain?: boolean
  /**
   * Ask caches on the way to fetch the file from its server again (`Cache-Control: no-cache`,
   * `Pragma: no-cache` for HTTP/1.0 ones, RFC 9111 §5.2.1.4, §5.4): the last attempt's body was
   * cut or damaged, and a proxy or CDN that stored it so serves the same bytes to every retry.
   */
  revalidate?: boolean
  /**
   * Keep a file that came whole in one body smaller than `FLUSH_BYTES` (most images) in memory
   * instead of writing its part file: `Downloaded.held`. For an output that copies the bytes
   * elsewhere anyway (the WebDataset spool), where the part file would be written, renamed and
   * removed for nothing. A file that stays for a resume is written as always.
   */
  hold?: boolean
  /**
   * Called before a request to another origin than the last one (a redirect): resolves when the
   * transfer may talk to it (the engine's per-host limit and pauses, see `Slot.move`).
   */
  onHop?: (origin: string) => Promise<void>
  /**
   * The URL as the input gave it, where its fragment (never sent) may name what a sharing site's
   * page shows (a media viewer's `#/media/File:X.jpg`): read for `sharePageHint` alone, never requested.
   */
  given?: string
}

type Head = Awaited<Exchange['response']>
type Receive = Extract<Decision, { do: 'receive' }>

/** One attempt's state, carried from step to step. */
class Transfer {
  readonly shown: string
  /**
   * Where the answer came from, when redirects led away from the URL asked for: ` (redirected to
   * URL)`, put after `shown` in messages about the answer (a login page, a CDN's error page).
   */
  via = ''
  /** The URL that gave the last answer, after redirects (see `Validators.from`). */
  answeredAt: string | undefined
  /** How the listed URL's user and password went with the last request, if they did. */
  sentCredentials: 'Basic' | 'Digest' | undefined
  /** The names of the last request's headers (see `unaskedStatus`). */
  sent: string[] = []
  /** The file as the server last described it (validators and full size). */
  known: Validators
  /** Bytes of the file in the part file, from byte 0, already fed to `check`. */
  offset = 0
  /**
   * The last bytes on disk before `offset` (up to `RESUME_OVERLAP`), read back when the attempt
   * began: its resume asks for them again, and the answer's must be the same (see `receive`).
   */
  tail: Buffer | undefined
  /** The checks over the file's bytes so far; created when its first bytes are taken. */
  check: FileCheck | undefined
  /** The answer's body: the exchange's, or the one part of a multipart 206 (see `takeApart`). */
  exchange: Body | undefined
  head: Head | undefined
  ttfb = 0
  restarts = 0
  /** Parts of a file of unknown size, or small ones, asked for in this attempt (see `MAX_PARTS`). */
  parts = 0
  replays = 0
  staleReplays = 0
  /** The body's gzip or deflate stream ended without its own end (see `BodyDecoder.unterminated`). */
  unterminated = false
  /**
   * Bytes came after the body's coded stream ended, not decoded (see `BodyDecoder.overrun`), said
   * as why its end is unmarked: neither that end nor the framing's marks where the image ends.
   */
  overrun: string | undefined
  /** The body was chunked, and the connection closed before its last chunk (see `endedByClose`). */
  closedEarly = false
  /**
   * The body's coded stream reached its own end (gzip's trailer, its size checked; the last block
   * of deflate or Brotli data); whether that marks where the body ends is `codingMarked`.
   */
  codingEnded = false
  /**
   * `codingEnded`, and the coded stream came as one piece (see `BodyDecoder.endsOnce`): its end
   * marks where the body ends, as a length would.
   */
  codingMarked = false
  /**
   * The body had a content coding and ended at its `Content-Length` before its coded stream did:
   * the length may be the decoded size, which gzip of an image already compressed runs past (see
   * `readPastLength`).
   */
  endedAtLength = false
  /**
   * This attempt asks again for a content-coded answer whose coded stream its `Content-Length`
   * cut (see `endedAtLength`), to be read past that length to the close (HTTP/1.1; see undici.ts
   * `readToClose`): once.
   */
  readPastLength = false
  /** The failure of the answer asked for again to be read past its length (see `readPastLength`). */
  pastLengthCut: ImgpullError | undefined
  /** The `Content-Length` that cut the coded stream (see `endedAtLength`): the decoded size it may be. */
  pastLength: number | undefined
  /**
   * The idle timeout that ended a body read to the close, on a connection the server kept open
   * (see `stalledUnframed`): the body is judged as if it had closed there, and this error is the
   * failure when the image is not whole.
   */
  stalled: unknown
  /**
   * The failure of a body that ended short of its `Content-Length` (closed, reset, or silent past
   * the idle timeout), with the whole of it an image so far: judged by its structure and an earlier
   * attempt's bytes (see `verify`), and thrown when they do not settle it.
   */
  cut: unknown
  /** Why this attempt's resume could not continue the bytes on disk, for `onBody` (see there). */
  unresumable: string | undefined
  /**
   * Why this attempt's resume gave the bytes on disk up for the whole file, in words, for
   * `onBody` (an answer not joined, a 200 of the whole file): what a file whose every attempt
   * started over says in its failure.
   */
  startedOver: string | undefined
  /** The last body taken: where in the file it began, and whether it had a content coding. */
  body: { at: number; encoded: boolean } | undefined
  /**
   * A checksum the answer states of its content-coded bytes (see `encodedDigests`), and their
   * hash as they come: compared once the body is in.
   */
  encodedDigest: { stated: StatedDigest; hash: Hash } | undefined
  /** This body is a 200 to a range request: taken as the whole file, not yet proven so. */
  wholeToRange = false
  /**
   * The answer's body was gzip or zstd data that no `Content-Encoding` named (see `Undeclared`):
   * this attempt asks again and decodes the next answer so, once.
   */
  undeclared: 'gzip' | 'zstd' | undefined
  /**
   * What is known of the file were this coded body from byte 0 found to be as it came (a coding
   * named, never applied: see `BodyDecoder.identity`): its bytes are then resumed as plain ones.
   */
  asCame: Validators | undefined
  /**
   * The file's bytes came in more than one body: bytes on disk from an earlier attempt or run, and
   * the rest: a verdict that holds a rerun back is then not final (see `isPartShown`).
   */
  joined = false
  /** Cookies of this attempt's redirect chain (over the run's cookies file). */
  cookies: ChainCookies | undefined
  /** Whether `known` is in the journal (it must be before a partial body is on disk). */
  recorded = false
  /** What was known before the last restart of this attempt, from an answer of this run. */
  dropped: Validators | undefined
  /** The file's bytes, whole, kept in memory instead of the part file (see `DownloadContext.hold`). */
  held: Buffer[] | undefined
  result: Downloaded | undefined

  constructor(
    readonly url: string,
    readonly part: string,
    validators: Validators,
    readonly ctx: DownloadContext,
    readonly cancel: Cancel,
  ) {
    this.shown = shownUrl(url)
    this.known = validators
    this.partMayExist = Object.values(validators).some((v) => v !== undefined)
    this.seen = validators.seen
    this.mismatched = validators.mismatched
  }

  /**
   * Something of this file was recorded before (a part file is written only once its validators
   * are): a part of an earlier attempt or run may be on disk, even where this one does not resume it.
   */
  readonly partMayExist: boolean

  /** An earlier attempt's unframed body (see `Validators.seen`): this attempt's answers do not change it. */
  readonly seen: Validators['seen']
  /** An earlier attempt's body that missed its stated checksum (see `Validators.mismatched`). */
  readonly mismatched: Validators['mismatched']

  get options(): ResolvedOptions {
    return this.ctx.options
  }

  record(): void {
    if (!this.recorded) this.ctx.onValidators?.(this.known)
    this.recorded = true
  }

  /** Forget the bytes on disk and what was known: the next request asks for the whole file. */
  async restart(why: string): Promise<void> {
    if (++this.restarts > MAX_RESTARTS) {
      throw new ImgpullError(
        'bad-range',
        `${this.shown}: the server's answers cannot be put together (${why})`,
        {
          retryable: true,
        },
      )
    }
    this.check?.discard()
    this.check = undefined
    this.offset = 0
    this.tail = undefined
    // Kept to be compared with the next whole answer (see `etagShifted`).
    if (this.known.thisRun) this.dropped = this.known
    this.known = {}
    this.recorded = false
    await this.dropPart()
  }

  /** The part is worthless: removed (or its held bytes let go). */
  async dropPart(): Promise<void> {
    if (this.held) this.held = undefined
    else await unlink(this.part).catch(() => {})
  }

  /** The part stays for a resume, or is continued: held bytes are written to the part file. */
  async keepPart(): Promise<void> {
    const held = this.held
    if (!held) return
    this.held = undefined
    const file = new PartFile(this.part, 0)
    for (const chunk of held) file.push(chunk)
    await file.flush(true)
  }

  /** The part's bytes, read back (for the checks that look at the file again). */
  partReader(): ReadBack & { close(): Promise<void> } {
    const held = this.held
    if (!held) return readBackFile(this.part)
    // Joined on the first read only: most formats never read back.
    let bytes: Buffer | undefined
    const read = async (offset: number, length: number) => {
      bytes ??= held.length === 1 ? held[0] : Buffer.concat(held)
      return bytes.subarray(offset, offset + length)
    }
    return Object.assign(read, { close: async () => {} })
  }
}

/**
 * A body that begins with gzip's magic (RFC 1952) where the answer names no coding: the file as it
 * is stored gzip'd (an .svgz, a static file compressed ahead, an S3 object uploaded gzip'd without
 * its `Content-Encoding` metadata); or with zstd's frame magic (RFC 8878 §3.1.1), where this Node
 * decodes zstd (see `zstdUnavailable`). No image begins with those bytes. Thrown to ask once more
 * and decode that answer so: what comes out is judged as any image, the coding's own checks made
 * (gzip's CRC-32 and size, zstd's checksum), and refused as `not-an-image` when it is not one.
 */
class Undeclared extends ImgpullError {
  constructor(
    shown: string,
    readonly coding: 'gzip' | 'zstd',
  ) {
    super('not-an-image', `${shown}: its body is ${coding} data no Content-Encoding names`, {
      retryable: true,
    })
  }
}

/**
 * A resume's answer that cannot be joined to the bytes on disk, as its bytes showed (`why`, in
 * words): the file is asked for again from byte 0 (see `download`).
 */
class NotJoined extends ImgpullError {
  constructor(
    shown: string,
    readonly why: string,
  ) {
    super('bad-range', `${shown}: ${why}`, { retryable: true })
  }
}

/** A resume's answer whose first bytes are not those on disk: the file starts over. */
class FileChanged extends NotJoined {
  constructor(shown: string, at: number) {
    super(
      shown,
      `the file changed under the same validators (the bytes before byte ${at} differ from those on disk)`,
    )
  }
}

/**
 * What a part passed off as the whole file fails with: not an image from its first byte. With
 * `joined`, what a file joined from a resume fails with where its bytes on disk may be at fault:
 * damaged, or not the hash the input gives.
 */
function isPartShown(error: unknown, joined = false): boolean {
  const code = (error as ImgpullError | undefined)?.code
  return joined
    ? code === 'corrupt' || code === 'hash-mismatch'
    : code === 'not-an-image' || code === 'corrupt'
}

/**
 * `error`'s words without the file they begin with (`shown: `), for a reason quoted inside another
 * message, which names the file once: a file whose restarts ran out was said as `URL: the
 * server's answers cannot be put together (URL: the file changed under the same validators ...)`.
 */
const reasonOf = (t: Transfer, error: unknown): string => {
  const message = (error as Error).message
  return message.startsWith(`${t.shown}: `) ? message.slice(t.shown.length + 2) : message
}

/** A step of a transfer: does one thing, then names the next (none: the file is verified). */
type Step = (t: Transfer) => Promise<Step | undefined>

/**
 * One attempt at one file, as a sequence of steps (`measureDisk → send → decide → receive →
 * verify`, with `send` again to continue a partial answer, and `restart` on an answer that does
 * not fit the bytes on disk). Leaves the verified file in `partPath`, or throws a typed error;
 * bytes already on disk stay for the next attempt when they can be resumed.
 */
export async function download(
  url: string,
  partPath: string,
  validators: Validators,
  ctx: DownloadContext,
  cancel: Cancel,
): Promise<Downloaded> {
  const t = new Transfer(url, partPath, validators, ctx, cancel)
  let step: Step | undefined = measureDisk
  for (;;) {
    try {
      while (step) step = await step(t)
      if (t.answeredAt !== undefined) servedBy(t.answeredAt)
      return t.result!
    } catch (error) {
      if (error instanceof NotJoined && !cancel.aborted) {
        t.exchange?.abort(error)
        await t.restart(reasonOf(t, error))
        t.startedOver = `the answer to its resume could not be joined (${error.why})`
        step = send
        continue
      }
      if (error instanceof WrappedBadly && !cancel.aborted) {
        // A multipart 206 its bytes showed not to be one part of the range asked for: refused as
        // one its head shows so (see `decide`), the whole file asked for again.
        t.exchange?.abort(error)
        await t.restart(reasonOf(t, error))
        t.unresumable = WRAPS_RANGES
        step = send
        continue
      }
      if (t.joined && isPartShown(error, true) && !cancel.aborted) {
        // Damaged, or not the input's hash, as joined from bytes kept and a resume: the bytes
        // kept may be what is wrong (a part a power cut left with a page of zeros, two versions
        // whose validators and last bytes agree). Those codes are not tried again by a rerun, so
        // the file's one verdict comes from the whole file, asked for once more without Range.
        t.joined = false
        t.exchange?.abort(error)
        await t.restart(`the file joined from a resume was ${reasonOf(t, error)}`)
        step = send
        continue
      }
      if (
        t.endedAtLength &&
        !t.readPastLength &&
        (error as ImgpullError | undefined)?.code === 'truncated' &&
        !cancel.aborted
      ) {
        // Cut by its length inside its coding: a length that is the decoded size (a server that
        // measured the file before compressing it; gzip of an image already compressed is the
        // longer), which cut the gzip trailer off and, with it, the image's end. Asked for once
        // more and read past that length to the close, where the coding's own end (its size and
        // CRC-32 checked) shows the body whole, as wget2 reads it (curl keeps the cut image).
        t.readPastLength = true
        t.pastLengthCut = error as ImgpullError
        t.exchange?.abort(error)
        await t.restart(`its encoded body ended at its length before its coding did (${reasonOf(t, error)})`)
        step = send
        continue
      }
      if (error instanceof Undeclared && !cancel.aborted) {
        t.undeclared = error.coding
        t.exchange?.abort(error)
        await t.restart(`${reasonOf(t, error)}: asked again to decode it`)
        step = send
        continue
      }
      if (t.wholeToRange && isPartShown(error) && !cancel.aborted) {
        // A 200 to a range request whose body is not a whole image was a part under the wrong
        // status (no length or range to tell): ask once more for the whole file, without Range.
        t.wholeToRange = false
        t.exchange?.abort(error)
        await t.restart(`a 200 to a range request was not the whole file (${reasonOf(t, error)})`)
        step = send
        continue
      }
      t.check?.discard()
      // Bytes held in memory that no step kept for a resume go with the attempt.
      t.held = undefined
      // Read past its length, the body was no more whole (a server that cut its coded body there
      // itself): the first answer's cut is the failure, and says it.
      const first = t.pastLengthCut
      const code = (error as ImgpullError | undefined)?.code
      if (first && !cancel.aborted && (code === 'truncated' || code === 'timeout')) {
        first.message += ': asked once more and read past its Content-Length, it was no more whole'
        throw first
      }
      throw error
    }
  }
}

/**
 * Resume only where a validator can prove the bytes on disk belong to the file the server has now,
 * or, in the run that fetched them, where the answer can prove it itself (see `resumesInRun`).
 * The bytes on disk are read back into the checks before the request goes out, not while its
 * answer waits unread: undici 7.30 asserts, and the process dies, when a close-delimited answer
 * ends while its body is paused (nodejs/undici#5360).
 */
const measureDisk: Step = async (t) => {
  t.offset = resumesInRun(t.known) && !t.ctx.plain ? await sizeOnDisk(t.part) : 0
  // More bytes than the file has: not a part of it.
  if (t.known.length !== undefined && t.offset > t.known.length)
    await t.restart(`the ${t.offset} bytes on disk are more than the file's ${t.known.length}`)
  if (t.offset > 0) {
    t.check = new FileCheck(t.options.hash, t.known.length ?? t.offset, t.ctx.expectedHash)
    if (!(await readBack(t, t.offset))) await t.restart('the bytes on disk are not an image')
  }
  return send
}

/**
 * Ask for the file (or the rest of it), following redirects hop by hop. Cookies a hop sets are
 * sent on the hops after it (see cookies.ts); a hop is a loop only when it would send the same
 * request again: the same URL with the same cookies (a server that sets a cookie and redirects to
 * the same URL is making progress).
 */
const send: Step = async (t) => {
  const base: Record<string, string> = {
    'user-agent': t.options.userAgent,
    // What curl, wget and requests send: ModSecurity's Core Rule Set answers 403 to a request
    // without Accept. No image types named, so a server that negotiates formats sends the bytes
    // the URL gives everyone else.
    accept: '*/*',
    // Images are compressed already, and only an unencoded body can be resumed (see judge.ts).
    'accept-encoding': 'identity',
    // Proxies that recompress images for a mobile carrier or an office must leave them as the
    // origin made them (RFC 9111 §5.2.1.6).
    'cache-control': 'no-transform',
    ...(t.ctx.revalidate ? { 'cache-control': 'no-cache, no-transform', pragma: 'no-cache' } : {}),
    ...lower(t.options.headers),
  }
  const listed = new URL(t.url)
  // Each escape as its byte (a Latin-1 `%E9`), as curl sends them, by Basic and Digest alike.
  const credentials = urlCredentials(listed)
  // An Authorization of the user's own (-H) goes in place of the URL's Basic credentials.
  const ownAuthorization = base.authorization !== undefined
  let url = splitCredentials(listed, credentials, base)
  const asked = url.href
  const origin = url.origin
  if (!t.cookies) {
    const jar = baseJar(t.options)
    t.cookies = new ChainCookies(jar ? await jar : undefined)
  }
  const cookies = t.cookies
  /** The `Cookie` header a request to `u` carries: the user's (own origin only), then the jar's. */
  const cookieFor = (u: URL) => {
    const own = u.origin === origin ? base.cookie : undefined
    const jar = cookies.header(u)
    return own && jar ? `${own}; ${jar}` : (own ?? jar)
  }
  // Times each request (URL and cookies) was sent in this chain, and the redirects followed.
  const visits = new Map([[`${url.href}\n${cookieFor(url) ?? ''}`, 1]])
  let hops = 0
  // The Digest challenge the listed URL's user and password answer, once one came: each request to
  // the origin after it answers it for its own URI (a hop to /snapshot.jpg after /snap.cgi was
  // answered with the URI of /snap.cgi, refused, and the file failed, where curl --digest gets it),
  // its nonce reused with the count one up (RFC 7616 §3.4). `answeredAt`: the URL whose 401 it
  // answered; a fresh challenge at another URL is answered too (a server that reuses no nonce).
  let digest: { challenge: DigestChallenge; cnonce: string; count: number; answeredAt: string } | undefined
  // The origin the transfer holds its slot on. (After a restart that began at the listed URL
  // again, the slot may still be on the redirect's target: moving there again is then free.)
  let talking = origin
  for (;;) {
    if (url.origin !== talking) {
      talking = url.origin
      await t.ctx.onHop?.(talking)
    }
    if (digest && url.origin === origin) {
      base.authorization = digestAuthorization(digest.challenge, {
        ...credentials!,
        method: 'GET',
        uri: requestTarget(url),
        cnonce: digest.cnonce,
        count: ++digest.count,
      })
    }
    const headers = { ...base }
    delete headers.cookie
    if (url.origin !== origin) {
      // Never hand our credentials to another origin: `Authorization` (curl drops it and `Cookie`),
      // nor any header whose name says secret (`X-Api-Key`, `X-Auth-Token`...), which the run's
      // command line hides too: an image API that redirects to storage or a CDN would hand them
      // the key (axios#10711, oryx-labs/oryxos#231).
      for (const name of Object.keys(headers)) if (isSecretHeader(name)) delete headers[name]
    }
    // A `Host` of one's own (`-H 'Host: site'`, to ask a server by its address for a site) names
    // the site of the host it was given with: kept on a redirect to another host, it asked that
    // host for the first one's site (a 404, or another site's file: psf/requests#4665, wpull#425).
    // Dropped there, as curl drops it; the new host is named by its URL.
    if (url.hostname !== listed.hostname) delete headers.host
    const cookie = cookieFor(url)
    if (cookie) headers.cookie = cookie
    t.sentCredentials =
      credentials && url.origin === origin
        ? digest !== undefined
          ? 'Digest'
          : ownAuthorization
            ? undefined
            : 'Basic'
        : undefined
    if (t.offset > 0 && resumesInRun(t.known)) {
      headers.range = `bytes=${t.offset - (t.tail?.length ?? 0)}-`
      // No If-Range without a strong validator (RFC 9110 §13.1.5): the answer proves itself (judge.ts).
      // Nor to a server that misread it (see `ifRangeMisread`): the 206's validators are compared.
      const validator = t.known.ifRangeMisread ? undefined : ifRangeValue(t.known)
      if (validator) headers['if-range'] = validator
    }
    t.sent = Object.keys(headers)
    await exchangeOnce(t, url, headers)
    const head = t.head!
    if (head.headers['set-cookie'] !== undefined) await cookies.store(head.headers['set-cookie'], url)
    // A server that takes the URL's user and password by Digest only (a camera): asked once more,
    // answering its challenge, as wget does; a second 401 is the answer (wrong credentials), unless
    // it says only that the nonce went stale.
    const challenge =
      head.statusCode === 401 && credentials && url.origin === origin
        ? digestChallenge(head.headers['www-authenticate'])
        : undefined
    if (
      challenge &&
      (digest === undefined ||
        digest.answeredAt !== url.href ||
        (challenge.stale && digest.challenge.nonce !== challenge.nonce))
    ) {
      await t.exchange!.discard()
      // Answered at the top of the loop, for this URL.
      digest = { challenge, cnonce: randomBytes(16).toString('hex'), count: 0, answeredAt: url.href }
      continue
    }
    if (!isRedirect({ status: head.statusCode, headers: head.headers })) {
      t.via = url.href === asked ? '' : ` (redirected to ${shownUrl(url.href)})`
      t.answeredAt = url.href
      return decide
    }
    await t.exchange!.discard()
    const location = header(head.headers, 'location')!
    // An empty Location names no target (as a relative reference it would be this URL again).
    const next = location.trim() === '' ? undefined : redirectTarget(location, url, head.http2)
    if (!next) {
      throw new ImgpullError(
        'bad-redirect',
        // Without the user and password it may hold: the message reaches the terminal, the manifest and the report.
        `redirect to no valid URL (${quoted(JSON.stringify(redactUrl(location)))}) for ${t.shown}`,
      )
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      // Named (a long `data:` URL shortened, an `ftp:` password left out): `redirect to file:` said
      // neither where nor why.
      throw new ImgpullError(
        'bad-redirect',
        `redirect to ${printable(shownUrl(next.href, 80))} refused (only http and https are followed) for ${t.shown}`,
      )
    }
    const request = `${next.href}\n${cookieFor(next) ?? ''}`
    const sent = visits.get(request) ?? 0
    let wait = 0
    if (sent > 0) {
      // Sent already: a server may mean "come again" (see redirect-revisit.ts).
      const retryAfter = parseRetryAfter(head.headers['retry-after'], Date.now(), head.headers.date)
      const again = revisit(sent, retryAfter, t.options.maxRetryAfter)
      // Still "come again after N s" at the last send the chain makes: a CDN's "not yet" (a
      // thumbnail being made, a cold object being fetched), no loop. Failed as a 503 with that
      // Retry-After is: the attempt retried after the wait (within --max-retry-after), a rerun
      // tries it again. It was a permanent redirect-loop, never retried nor rerun.
      if (again.do === 'loop' && retryAfter !== undefined) {
        const wait = header(head.headers, 'retry-after')!.trim()
        throw new HTTPError(503, t.shown, retryAfter, t.offset > 0, {
          sent: {
            status: head.statusCode,
            what: `a redirect back to ${shownUrl(next.href)}, sent ${sent} times, that still asks to come again later`,
            why: `Retry-After: ${wait}`,
          },
        })
      }
      if (again.do === 'loop') {
        throw new ImgpullError(
          'redirect-loop',
          `redirect loop at ${shownUrl(next.href)} for ${t.shown} (asked ${sent} times)`,
        )
      }
      wait = again.wait
    }
    if (++hops > t.options.maxRedirects) {
      throw new ImgpullError(
        'too-many-redirects',
        `more than ${t.options.maxRedirects} redirects for ${t.shown}, the last to ${shownUrl(next.href)}`,
      )
    }
    visits.set(request, sent + 1)
    await pause(t.cancel, wait)
    url = next
  }
}

/** `ms` of waiting, cut short by the attempt's cancel (the request after it then fails at once). */
async function pause(cancel: Cancel, ms: number): Promise<void> {
  if (ms <= 0 || cancel.aborted) return
  await new Promise<void>((resolve) => {
    const undo = whenCancelled(cancel, () => {
      clearTimeout(timer)
      resolve()
    })
    const timer = setTimeout(() => {
      undo()
      resolve()
    }, ms)
  })
}

/**
 * One request, up to its response head. A request whose connection dies before any byte of the
 * answer (a keep-alive connection the server closed as we reused it), or whose HTTP/2 stream the
 * server refused unprocessed (see `isRefusedStream`), or that never left (an HTTP/2 session ended
 * as it was written, see `neverSent`), or that a reused connection answered 408 (see
 * `isStaleAnswer`), is sent again at once, as browsers do: not a retry, no backoff.
 */
async function exchangeOnce(t: Transfer, url: URL, headers: Record<string, string>): Promise<void> {
  const connectedTo = connectionOrigin(url, proxyFor(url, proxyPlan(t.options.proxy)))
  for (;;) {
    const started = performance.now()
    const exchange = new Exchange(
      t.ctx.dispatcher,
      url,
      {
        method: 'GET',
        headers,
        headersTimeout: t.options.headersTimeout,
        bodyTimeout: t.options.idleTimeout,
        ...(t.readPastLength ? { readPastLength: true } : {}),
        ...(t.ctx.answersOnce.oneEach(connectedTo) ? { reset: true } : {}),
      },
      t.cancel,
    )
    t.exchange = exchange
    // undici restarts its headers timer on every 1xx: a server sending `102 Processing` forever
    // would hold the slot until the total timeout. This one runs from the request to the answer.
    const headersTimeout = t.options.headersTimeout
    const timedOut = () => {
      const error = Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' })
      // Never written (undici's onConnect not reached): its connection was still opening (through a
      // proxy, its CONNECT or the TLS in the tunnel: undici's connect timeout starts after these).
      if (exchange.reused === undefined) markStage(error, 'opening')
      else if (headBegun(exchange.socket)) markStage(error, 'head')
      else if (http2PrefaceMissing(exchange.socket)) markStage(error, 'preface')
      else if (http2AllowsNoStream(exchange.socket)) markStage(error, 'streams')
      else if (exchange.reused && isHttp1(exchange.socket)) {
        // Silent on a connection that answered before: see answers-once.ts.
        silentOnReuse = true
        t.ctx.answersOnce.found(connectedTo)
      } else if (exchange.reused === false) t.ctx.answersOnce.silentFresh(connectedTo)
      exchange.abort(error)
    }
    // A head long in coming on a connection that has answered nothing yet: the server may be
    // serving one connection at a time (see headOverdue). On a reused one it is a slow answer,
    // and the host's idle connections are better kept. One timer a request: it first fires at
    // the overdue mark, and only a request still waiting then arms the rest of the headers timeout.
    let overdue: (() => void) | undefined
    let silentOnReuse = false
    let timer = setTimeout(
      () => {
        if (headersTimeout <= HEAD_OVERDUE_MS) return timedOut()
        if (exchange.reused !== true) overdue = headOverdue(url.origin)
        timer = setTimeout(timedOut, headersTimeout - (performance.now() - started))
      },
      Math.min(HEAD_OVERDUE_MS, headersTimeout),
    )
    try {
      t.head = await exchange.response
      t.ttfb = performance.now() - started
      if (exchange.reused === false) t.ctx.answersOnce.answeredFresh(connectedTo)
      const stale = isStaleAnswer(t.head.statusCode, exchange.reused, t.head.http2)
      if (!stale || t.staleReplays >= MAX_STALE_REPLAYS) return
      // Its body thrown away as every other is: not waited for past 100 ms (see `discard`).
      await exchange.discard()
      t.staleReplays++
    } catch (error) {
      const stale = silentOnReuse || isStaleConnection(error, exchange.reused)
      const refused = !stale && (isRefusedStream(error) || neverSent(error, exchange.reused !== undefined))
      const spent = stale ? t.staleReplays >= MAX_STALE_REPLAYS : t.replays >= MAX_REPLAYS
      if (t.cancel.aborted || spent || !(stale || refused)) {
        if (!t.cancel.aborted && (isTurnedAway(error, exchange.reused) || asksToSlowDown(error)))
          atDoor(error)
        if (!t.cancel.aborted && headers.range !== undefined && noAnswer(error)) nothingResumed(error)
        // The origin, not the host: http://site/ sent to https://site/ fails in TLS on the hop.
        throw url.origin === new URL(t.url).origin ? error : atHop(error, url.href)
      }
      if (stale) t.staleReplays++
      else t.replays++
    } finally {
      clearTimeout(timer)
      overdue?.()
    }
  }
}

/** Where a body stopped for the idle timeout: `at` bytes were on disk, `beyond` came after them. */
export function stallWords(at: number, beyond: number, total: number | undefined): string {
  if (beyond === 0)
    return at === 0
      ? 'no byte of the body came after the head'
      : `no byte past the ${at} on disk came after the head`
  return `the body stopped after ${at + beyond}${total === undefined ? '' : ` of ${total}`} bytes`
}

/**
 * The server took the request and gave no answer that can be read: it closed or reset the
 * connection (over HTTP/2, reset the stream or ended the session with an error), kept silent past
 * `--headers-timeout`, or sent a head undici refuses. Not a connect, name or TLS failure: those
 * never reached the server, and say nothing of the request's `Range`.
 */
function noAnswer(error: unknown): boolean {
  const code = errorCode(error)
  return (
    closedOrReset(error) ||
    code === 'ERR_HTTP2_STREAM_ERROR' ||
    code === 'ERR_HTTP2_SESSION_ERROR' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' ||
    (error as Error | null)?.name === 'HTTPParserError'
  )
}

/**
 * The connection died before the answer began, in a way a reused keep-alive connection does: the
 * other side closed it or reset it. Only a connection that had carried an exchange to its answer
 * (`reused`, see `Exchange.reused`) can have been closed by the server as we sent: a new one that
 * fails so (or fails before the request went out at all: a connect or TLS handshake reset) is a
 * fault of the server, to retry with backoff; each replay would be one more request it never
 * asked for, as Chromium's rule also has it.
 */
export function isStaleConnection(error: unknown, reused?: boolean): boolean {
  return reused === true && closedOrReset(error)
}

/**
 * A `408 Request Timeout` on a reused HTTP/1.1 keep-alive connection: the server's idle timeout
 * ran out as we reused it, and it said so instead of closing without a word (Kestrel, RDFox; RFC
 * 9110 §15.5.9: the client may repeat the request on a new connection). Sent again at once, as a
 * close there is, and as Chromium does (okhttp#1693). On a new connection, or over HTTP/2, which
 * has no idle race of its kind, it is the server's answer.
 */
export function isStaleAnswer(status: number, reused: boolean | undefined, http2: boolean): boolean {
  return status === 408 && reused === true && !http2
}

/** Carry out what the judgement of the response head says. */
const decide: Step = async (t) => {
  const wrapped = await takeApart(t)
  const head = t.head!
  // Asked again for a body that was gzip or zstd data under no coding's name (see `Undeclared`): it
  // is decoded as a named one would be, and counts as one (its length the encoded bytes', no resume).
  if (t.undeclared && appliedCodings(head.headers).length === 0)
    head.headers['content-encoding'] = t.undeclared
  const exchange = t.exchange!
  const decision = judge(
    { from: t.offset, overlap: t.tail?.length, known: t.known, at: t.answeredAt },
    { status: head.statusCode, headers: head.headers },
  )
  // Compared once, by this answer: continuations within the attempt ask from `offset` itself.
  const tail = t.tail
  t.tail = undefined
  switch (decision.do) {
    case 'fail': {
      const page = await nginxPage(t, decision.status)
      const refusal = readRefusal(decision.status, head.headers)
      throw new HTTPError(
        refusal.status,
        t.shown +
          t.via +
          statusProxyNote(t, head.headers) +
          refusedCredentials(t, decision.status) +
          page +
          pastedAfter(t, decision.status),
        refusal.retryAfter,
        t.offset > 0,
        {
          ...refusal,
          unasked: unaskedStatus(decision.status, t.sent),
          gateway: statusGateway(t, decision.status, head.headers),
        },
      )
    }
    case 'refuse':
      await exchange.discard()
      throw new ImgpullError('bad-range', `${t.shown}: unusable partial answer: ${decision.why}`, {
        retryable: true,
      })
    case 'restart': {
      await exchange.discard()
      await t.restart(wrapped ? `${decision.why}: ${wrapped}` : decision.why)
      // A 206 that named the file otherwise (a server behind the same URL that ignored If-Range):
      // its naming is the one the next whole answer is compared with (see `validatorsFlap`).
      if (head.statusCode === 206) {
        const seen = seenAfter(
          t.dropped,
          validatorsOf({ status: head.statusCode, headers: head.headers }),
          t.answeredAt,
        )
        if (seen.other) t.dropped = seen
      }
      if (isMultipart({ status: head.statusCode, headers: head.headers })) t.unresumable = WRAPS_RANGES
      else t.startedOver = `the answer to its resume could not be joined (${decision.why})`
      return send
    }
    case 'complete':
      // The bytes on disk are the whole file: the checks hold them already (see `measureDisk`).
      await exchange.discard()
      t.body = undefined
      t.joined = true
      return verify
    case 'receive': {
      const refusal = t.options.ignoreRobotsTag
        ? undefined
        : robotsRefusal(head.headers['x-robots-tag'], robotsAgents(t.options.userAgent))
      if (refusal) {
        // Not a byte of the body: the server said the image is not for tools like this one.
        exchange.abort(new Error('refused by X-Robots-Tag'))
        throw new ImgpullError(
          'robots-tag',
          `${t.shown}: X-Robots-Tag says ${refusal}, so it is not downloaded (--ignore-robots-tag to take it anyway)`,
        )
      }
      return accept(t, decision, tail)
    }
  }
}

/**
 * A resume's 206 in multipart/byteranges, sent with `If-Range`: its first part's head is read,
 * and where the part is exactly the range asked for (see `partAnswer`), the answer is from then
 * on that part as a 206 (`t.head`, `t.exchange`), judged and taken as any. Else it stays the
 * multipart answer the judgement refuses, and this says why it was not taken apart.
 */
async function takeApart(t: Transfer): Promise<string | undefined> {
  const head = t.head!
  const answer = { status: head.statusCode, headers: head.headers }
  if (!isMultipart(answer) || t.offset === 0) return undefined
  const boundary = boundaryOf(header(head.headers, 'content-type'))
  if (!boundary) return 'its Content-Type names no boundary'
  const body = new PartBody(t.exchange!, boundary, t.shown + t.via)
  t.exchange = body
  const part = await body.head()
  if ('why' in part || 'more' in part) return 'why' in part ? part.why : undefined
  const taken = partAnswer(
    {
      first: t.offset - (t.tail?.length ?? 0),
      known: t.known,
      ifRange: ifRangeValue(t.known) !== undefined && t.sent.includes('if-range'),
    },
    answer,
    part.headers,
  )
  if ('why' in taken) return taken.why
  body.expect(taken.length)
  t.head = { ...head, headers: taken.answer.headers }
  return undefined
}

/** Take a body the judgement accepted: a whole file anew (byte 0) or the next part of the one on disk. */
async function accept(t: Transfer, decision: Receive, tail: Buffer | undefined): Promise<Step> {
  t.wholeToRange = decision.at === 0 && t.offset > 0
  t.joined = decision.at > 0
  if (decision.at === 0) {
    // The whole file again (a 200 to a range request, or the first answer): what was known is replaced.
    t.check?.discard()
    t.check = undefined
    t.offset = 0
    // An encoded body's validators describe its encoded bytes: nothing on disk can resume from them.
    const got = validatorsOf({ status: t.head!.statusCode, headers: t.head!.headers })
    if (t.wholeToRange) {
      const changed = mismatch(t.known, got)
      t.startedOver = changed
        ? `the answer to its resume was another version of the file (${changed})`
        : `the server answers a range with the whole file (a ${t.head!.statusCode})`
    }
    // With its length and no strong validator, the file is resumed in this run only (see `resumesInRun`).
    const unproven = ifRangeValue(got) === undefined && got.length !== undefined
    const offered = t.sent.includes('if-range') ? ifRangeValue(t.known) : undefined
    const misread = t.wholeToRange && !decision.decode && ifRangeMisread(offered, t.known, got)
    // An ETag that changed at this answer, nothing else with it, proves nothing: its date is
    // taken as weak too, and the file is resumed as one without a validator is.
    const before = t.known.thisRun ? t.known : t.dropped
    // Validators that went back to those of the answer before the last prove nothing either:
    // neither is kept, to be compared with the other server's (see `validatorsFlap`).
    const plain: Validators = validatorsFlap(before, got, t.answeredAt)
      ? { length: got.length, from: t.answeredAt, unproven: true, thisRun: true }
      : etagShifted(before, got, t.answeredAt)
        ? {
            lastModified: got.lastModified && `W/${got.lastModified.replace(/^W\//, '')}`,
            length: got.length,
            from: t.answeredAt,
            unproven: true,
            thisRun: true,
          }
        : {
            ...seenAfter(before, got, t.answeredAt),
            ...(unproven ? { unproven } : {}),
            ...(misread ? { ifRangeMisread: true as const } : {}),
          }
    t.known = decision.decode ? {} : plain
    t.asCame = decision.decode && !t.undeclared ? plain : undefined
    t.recorded = false
  } else {
    // A proven continuation: it may tell what the first answer did not (the full size, say). Not
    // so one that proved itself (see `unprovenSplice`): a validator it names says nothing of the
    // bytes before it, and taken, would have a later run resume them. Once one proved itself,
    // so must the later resumes of the run (each asks again for `RESUME_OVERLAP`), while the
    // If-Range still goes out.
    const got = validatorsOf({ status: t.head!.statusCode, headers: t.head!.headers })
    const known = t.known
    t.known = known.unproven
      ? known
      : decision.unproven
        ? { ...known, unproven: true }
        : {
            etag: known.etag ?? got.etag,
            lastModified: known.lastModified ?? got.lastModified,
            // The file's size by the range (a part under a 200 states its own as Content-Length).
            length: known.length ?? decision.total ?? got.length,
            from: known.from ?? t.answeredAt,
            stated: known.stated,
            ...(known.thisRun ? { thisRun: known.thisRun } : {}),
            ...(known.other ? { other: known.other } : {}),
            ...(known.ifRangeMisread ? { ifRangeMisread: known.ifRangeMisread } : {}),
          }
    // Told to the run (not the journal), for its later attempts.
    if (t.known.length !== known.length || t.known.unproven !== known.unproven) t.recorded = false
  }
  const total = decision.total
  if (total !== undefined && total > t.options.maxSize) {
    t.exchange!.abort(new Error('too large'))
    await unlink(t.part).catch(() => {})
    throw new ImgpullError('too-large', `${t.shown} is ${total} bytes, over --max-size ${t.options.maxSize}`)
  }
  // A resume's checks already hold the bytes on disk (`measureDisk` read them back, or they came
  // in this attempt): only a body from byte 0 needs new ones.
  t.check ??= new FileCheck(t.options.hash, total, t.ctx.expectedHash)
  // A checksum this answer states of the whole file: remembered for the file, however many answers
  // bring the rest (a resume's 206 need not say it again), and, when not sha-256, taken as the
  // bytes come rather than read back after.
  const head = t.head!
  const all = head.statusCode === 200 || (decision.total !== undefined && decision.length === decision.total)
  // A content coding: the digests are of its encoded bytes. Transfer codings alone are undone
  // before the content they cover (RFC 9112 §7): those are the file's.
  const contentCoded = codingsOf(head.headers['content-encoding']).length > 0
  t.encodedDigest = undefined
  if (decision.at === 0 && all) {
    const [stated] = statedDigests(head.headers, true, contentCoded, total)
    if (stated) {
      t.known = { ...t.known, stated }
      if (stated.algorithm !== 'sha256') t.check.alsoHash(stated.algorithm)
    }
    // Its bytes as they came are the encoded ones only without a transfer coding on top.
    const [encoded] =
      contentCoded && codingsOf(head.headers['transfer-encoding']).length === 0
        ? encodedDigests(head.headers, true)
        : []
    if (encoded) t.encodedDigest = { stated: encoded, hash: createHash(encoded.algorithm) }
  }
  return (u) => receive(u, decision, tail)
}

/**
 * Feed the first `size` bytes of the part file to the file's checks (a resume: the file is
 * judged whole, from byte 0), and keep their last `RESUME_OVERLAP` (`LATER_OVERLAP` once this
 * run compared them) in `t.tail`. False when they
 * are not the start of an image.
 */
async function readBack(t: Transfer, size: number): Promise<boolean> {
  const check = t.check!
  let before: Buffer | undefined
  let last: Buffer | undefined
  try {
    const stream = createReadStream(t.part, { end: size - 1, highWaterMark: 1024 * 1024 })
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      await check.update(chunk)
      if (!check.format && check.headBytes >= HEAD_BYTES && !(await check.identify())) return false
      before = last
      last = chunk
    }
    const tail = before && last!.length < RESUME_OVERLAP ? Buffer.concat([before, last!]) : last
    const overlap = t.ctx.tailChecked && !t.known.unproven ? LATER_OVERLAP : RESUME_OVERLAP
    t.tail = tail && Buffer.from(tail.subarray(Math.max(0, tail.length - overlap)))
  } catch (error) {
    // The body waits (paused) while the bytes on disk are read back: give its connection up.
    t.exchange?.abort(error)
    throw error
  }
  return check.bytes === size && (check.format !== undefined || (await check.identify()) !== undefined)
}

/**
 * Stream the body into the part file at `decision.at`, checking every byte on the way. An encoded
 * body is decoded as it comes: its encoded bytes are counted against its length, its decoded
 * bytes are checked, hashed and written; it is never kept for a resume (see judge.ts), but a
 * resume's coded answer goes on from the bytes on disk once decoded (`decodedSplice`).
 */
async function receive(t: Transfer, decision: Receive, tail: Buffer | undefined): Promise<Step> {
  const size = new BodySize()
  try {
    return await receiveBody(t, decision, tail, size)
  } finally {
    size.end()
  }
}

/** `receive`, its bytes counted in `size` as they come. */
async function receiveBody(
  t: Transfer,
  decision: Receive,
  tail: Buffer | undefined,
  size: BodySize,
): Promise<Step> {
  const { options } = t
  const shown = t.shown + t.via
  const check = t.check!
  const exchange = t.exchange!
  const file = new PartFile(t.part, decision.at)
  t.unterminated = false
  t.overrun = undefined
  t.closedEarly = false
  t.codingEnded = false
  t.codingMarked = false
  t.endedAtLength = false
  t.stalled = undefined
  const body = { at: decision.at, encoded: codingsOf(t.head!.headers['content-encoding']).length > 0 }
  t.body = body
  /**
   * A resume's coded answer (see `judge`): its overlap is of the decoded bytes, compared as they
   * come out of the decoder; its bytes are never kept after it fails. It is said to continue the
   * file (`onBody`) only once it decoded past the overlap: one that does not decode to the bytes
   * on disk starts the file over, as a refused one does.
   */
  const decodedSplice = decision.decode !== undefined && decision.at > 0
  const announce = () =>
    t.ctx.onBody?.(
      decision.at,
      !decision.decode || decision.at > 0
        ? (t.unresumable ?? (decision.at === 0 ? t.startedOver : undefined))
        : t.undeclared
          ? `the server sent it as ${t.undeclared} data (no Content-Encoding named), which a range cannot continue (it counts encoded bytes)`
          : body.encoded
            ? `the server sent it ${decision.decode.join(', ')}-encoded, which a range cannot continue (it counts encoded bytes)`
            : // A transfer coding alone: a range would count the decoded bytes, but imgpull keeps none of a coded body.
              `the server sent it with Transfer-Encoding ${decision.decode.join(', ')}, and imgpull resumes no coded body`,
      decision.length,
    )
  if (!decodedSplice) announce()
  /** Bytes of the body as sent (encoded, when it is). */
  let received = 0
  /**
   * The body's first bytes, before `decision.at`: its last `tail.length` compared with `tail`, the
   * bytes on disk there; any before them (a 206 that starts earlier than asked) passed over.
   */
  const overlap = decision.overlap ?? 0
  /** Bytes of the overlap before those compared with `tail`. */
  const passed = overlap - (tail?.length ?? 0)
  /** Bytes the decoder gave of a decoded splice. */
  let decodedIn = 0
  /** Bytes of the body past the overlap: the file's next ones. */
  const beyond = () => Math.max(0, (decodedSplice ? decodedIn : received) - overlap)
  /**
   * `chunk`, the body's bytes from its byte `from` on, without those of the overlap, which must
   * equal the bytes on disk there; `undefined` when it is all overlap.
   */
  const pastOverlap = (chunk: Buffer, from: number): Buffer | undefined => {
    if (from >= overlap) return chunk
    const n = Math.min(chunk.length, overlap - from)
    const start = Math.max(from, passed)
    if (tail && start < from + n) {
      const onDisk = tail.subarray(start - passed, from + n - passed)
      if (!chunk.subarray(start - from, n).equals(onDisk)) throw new FileChanged(shown, decision.at)
      if (from + n === overlap) t.ctx.onTailChecked?.()
    }
    return n === chunk.length ? undefined : chunk.subarray(n)
  }
  /** `ended`: the body is all in. */
  const identify = async (ended = false) => {
    if (await check.identify()) return
    // Nothing marked the end (a close, a stream reset): the start of an image, cut, not another
    // thing; so is nothing at all out of a gzip stream that ended without its end.
    const cutShort = check.mayBeginImage() || (t.unterminated && check.bytes === 0)
    if (ended && !framed(t) && cutShort) {
      throw new ImgpullError(
        'truncated',
        `${shown}: the connection ended after ${received} bytes, before the image could be told`,
        { retryable: true },
      )
    }
    // The server's words, bounded and shown: a control character in them would act on the terminal.
    const type = quoted(header(t.head!.headers, 'content-type') ?? 'no content type')
    // Nothing at all, its end marked: no page or text said what went wrong, and an edge that served
    // an empty object for a moment serves the file to the next request (a passing fault, retried).
    if (ended && received === 0)
      throw new ImgpullError(
        'empty-body',
        `${shown} sent a ${t.head!.statusCode} with an empty body (${type})`,
        { retryable: true },
      )
    // So is a coded stream that reached its own end having decoded to nothing: a compressor that
    // encodes an empty answer too (netty's HttpContentCompressor sent 26 bytes of gzip for none,
    // netty#23; vapor#3364 8 of deflate). It was `not-an-image`, never retried.
    if (ended && t.codingEnded && check.bytes === 0 && decision.decode)
      throw new ImgpullError(
        'empty-body',
        `${shown} sent a ${t.head!.statusCode} with an empty body (${type}), ${decision.decode.join(', ')}-encoded in ${received} bytes`,
        { retryable: true },
      )
    const encoding = t.undeclared
      ? `, ${t.undeclared} data no Content-Encoding names (decoded)`
      : decision.decode && !decoder?.identity
        ? `, ${decision.decode.join(', ')}-encoded`
        : ''
    // gzip data that was not decoded: an .svgz, or a coding the server did not name (or misnamed).
    // Else what the body looks like: an HTML page's title often says why (a 404, a bot check).
    const te = t.head!.headers['transfer-encoding']
    const kind = looksLike(check.head, Array.isArray(te) ? te.join(', ') : te)
    // zstd's frame magic (28 B5 2F FD, RFC 8878 §3.1.1), gzip's sibling.
    const zstdFramed = !decision.decode && check.head.length >= 4 && check.head.readUInt32LE(0) === 0xfd2fb528
    const noZstd = zstdFramed ? zstdUnavailable() : undefined
    // Bytes no image begins with: decoded on a second request, when it names no coding (see
    // `Undeclared`); zstd where this Node decodes it, else named for what it is, and what to do.
    const undeclared = check.gzipped ? 'gzip' : zstdFramed && !noZstd ? 'zstd' : undefined
    if (undeclared && !decision.decode && decision.at === 0 && !t.undeclared)
      throw new Undeclared(shown, undeclared)
    // Bytes like nothing in particular, under a coding imgpull does not know (`xz`, `x-bzip2, gzip`):
    // that coding, never undone, is why (see `unknownCodings`).
    if (!kind && !check.gzipped && !zstdFramed)
      notUndone(t, `its body is no image${encoding && `, its ${decision.decode!.join(', ')} undone`}`)
    const what = check.gzipped
      ? ' (gzip data no Content-Encoding names: an .svgz, or a misconfigured server)'
      : zstdFramed
        ? ` (zstd-compressed data no Content-Encoding names: a file stored compressed, or a misconfigured server${noZstd ? `; zstd, ${noZstd}` : ''})`
        : kind
          ? `: ${quoted(kind, 120)}`
          : ''
    // A sharing site's page for the image (a link copied from the address bar): the link that gives the file.
    const share = kind && /^(?:an )?HTML\b/.test(kind) ? sharePage(t) : undefined
    // Through a proxy, a page in place of an image may be the proxy's (a filter's block page).
    throw new ImgpullError(
      'not-an-image',
      `not an image: ${shown} sent ${type}${encoding}, ${received} bytes${what}${share ? `; ${share}` : ''}${statusProxyNote(t, t.head!.headers)}`,
    )
  }
  /**
   * Whether this coded body from byte 0 turned out to be as it came (see `Transfer.asCame`). The
   * first time it is found so, its validators are made the file's and its bytes plain ones, kept
   * for a resume when cut: a query that also settles, hence its name.
   */
  let asCame = false
  const settleAsCame = (): boolean => {
    if (asCame || decision.at > 0 || !decoder?.identity || t.asCame === undefined) return asCame
    t.known = t.asCame
    t.asCame = undefined
    t.recorded = false
    body.encoded = false
    asCame = true
    return true
  }
  /** Whether the head's width and height were held to the run's pixel limit (`pixelLimit`). */
  let pixelsChecked = false
  // An image over --max-pixels is refused by its header: its head says so, and the rest of a body
  // of hundreds of MB need not come first. Only by a size libvips cannot read smaller (see
  // `decodedSizeAtLeast`), so nothing the pool would take is refused.
  const holdPixels = async () => {
    pixelsChecked = true
    const limit = pixelLimit(options.transform)
    if (limit === undefined) return
    const size = await decodedSizeAtLeast(check.head, check.format!.ext)
    if (size && size.width * size.height > limit) {
      const { width, height } = size
      throw new ImgpullError(
        'too-many-pixels',
        `${shown}: ${width}x${height} is more than ${limit} pixels (its header says so: not fetched further)`,
      )
    }
  }
  const settle = async (busy: void | Promise<void>) => {
    if (busy) await busy
    if (!check.format && check.headBytes >= HEAD_BYTES) await identify()
    if (check.format && !pixelsChecked) await holdPixels()
    if (check.format && file.pendingBytes >= FLUSH_BYTES) {
      if (!decision.decode || settleAsCame()) t.record()
      await file.flush(false)
    }
  }
  /** Whether the head was looked at once it held `RULE_OUT_BYTES`. */
  let lookedAt = check.format !== undefined
  /**
   * The chunks holding the last bytes of the file on disk (`RESUME_OVERLAP` of them, or all when
   * fewer): those before this body (`tail`), then its own. A continuation asks for them again.
   * Joined only then: joining them as each chunk came copied 4 KB a chunk, for every file.
   */
  const recent: Buffer[] = decision.at > 0 && tail ? [tail] : []
  let recentBytes = recent[0]?.length ?? 0
  /** Each byte of the file: checked, gathered; a promise only when the body must wait. */
  const keep = (chunk: Buffer): void | Promise<void> => {
    if (check.bytes + chunk.length > options.maxSize) {
      throw new ImgpullError('too-large', `${shown} is over --max-size ${options.maxSize} bytes`)
    }
    recent.push(chunk)
    recentBytes += chunk.length
    while (recentBytes - recent[0]!.length >= RESUME_OVERLAP) recentBytes -= recent.shift()!.length
    const busy = check.update(chunk)
    file.push(chunk)
    if (decoder) endAtOwnEnd()
    if (!lookedAt && check.headBytes >= RULE_OUT_BYTES) {
      lookedAt = true
      // Bytes no image begins with: said now, not after 64 KB (or never, from an endless stream).
      if (check.ruledOut()) return Promise.resolve(busy).then(() => identify())
    }
    if (busy || file.pendingBytes >= (check.format ? FLUSH_BYTES : HEAD_BYTES)) return settle(busy)
  }
  let decoder: BodyDecoder | undefined
  /**
   * The decoded size a coded body must reach at its coding's own end to be whole there, where its
   * transfer may go on past that end: the `Content-Length` it falls short of (the decoded size,
   * from a server that measured the file before compressing it), or the one it was asked again
   * to be read past (see `readPastLength`).
   */
  const decodedLength =
    decision.at === 0 ? (decision.length ?? (t.readPastLength ? t.pastLength : undefined)) : undefined
  /** The body was ended at its coding's own end (see `endAtOwnEnd`). */
  let endedAtOwnEnd: CodingEnded | undefined
  /**
   * End the body where its coded stream reached its own end (gzip's trailer, its size checked)
   * having decoded to exactly `decodedLength`: it is whole there, as at a close, and the server
   * keeping the connection open (or sending more) waited for the idle timeout before it was
   * judged, each such file; aria2c and wget2 stop there. The connection goes with the exchange:
   * what the server sends after it is not read as the next answer.
   */
  const endAtOwnEnd = (): void => {
    if (endedAtOwnEnd || !decoder?.atOwnEnd || decodedLength === undefined || check.bytes !== decodedLength)
      return
    if (decision.length !== undefined && received >= decision.length) return
    endedAtOwnEnd = new CodingEnded()
    exchange.abort(endedAtOwnEnd)
  }
  try {
    decoder = decision.decode
      ? t.undeclared
        ? new BodyDecoder(
            decision.decode,
            keep,
            shown,
            `the ${t.undeclared} its first bytes announce (no Content-Encoding names one)`,
          )
        : new BodyDecoder(
            decision.decode,
            decodedSplice
              ? (chunk) => {
                  const from = decodedIn
                  decodedIn += chunk.length
                  const rest = pastOverlap(chunk, from)
                  if (rest && from <= overlap) announce()
                  return rest && keep(rest)
                }
              : keep,
            shown,
          )
      : undefined
    if (decoder) {
      decoder.onOwnEnd = endAtOwnEnd
      decoder.ownEndAt = decodedLength
      // A resume's answer that begins with the bytes on disk came as it is, whatever it is labelled.
      if (decodedSplice && passed === 0) decoder.asCame = tail
    }
  } catch (error) {
    exchange.abort(error)
    await file.close()
    await unlink(t.part).catch(() => {})
    throw error
  }
  /** Each chunk of the body as it arrives: counted, then kept (or decoded first). */
  const take = (chunk: Buffer): void | Promise<void> => {
    const from = received
    received += chunk.length
    size.grew(received)
    t.ctx.onBytes?.(chunk.length)
    if (!decoder) {
      const rest = pastOverlap(chunk, from)
      return rest && keep(rest)
    }
    t.encodedDigest?.hash.update(chunk)
    // Encoded bytes that decode to little or nothing (bytes after the coding's end, empty blocks)
    // are held to --max-size too, with the room a coding adds to data it cannot compress.
    if (!decoder.identity && received > encodedLimit(options.maxSize)) {
      throw new ImgpullError(
        'too-large',
        `${shown}: its encoded body runs past ${encodedLimit(options.maxSize)} bytes, more than any coding of a file within --max-size ${options.maxSize} takes`,
      )
    }
    return decoder.write(chunk)
  }

  /**
   * The failure of a body cut (closed, reset) short of its length, or stalled past the idle
   * timeout, said so: where it stopped, of how many bytes.
   */
  const cutFailure = (error: unknown): unknown => {
    if (t.cancel.aborted) return error
    const networkCut =
      !(error instanceof ImgpullError) &&
      !isFatalLocal(error) &&
      (error as { code?: string } | null)?.code !== 'UND_ERR_BODY_TIMEOUT'
    // A resume whose answer ended or stalled before a byte past those on disk (see `nothingResumed`).
    const nothing = decision.at > 0 && beyond() === 0 && !isFatalLocal(error)
    if (networkCut && decision.length !== undefined && received < decision.length) {
      return new ImgpullError(
        'truncated',
        `${shown}${cutThrough(t)}: ${http2Cut(error) ?? 'connection closed'} after ${decision.at + beyond()} of ${decision.total ?? decision.length} bytes`,
        { retryable: true, cause: error, resumed: nothing },
      )
    }
    // Over HTTP/2 a body without a length ends at END_STREAM alone (RFC 9113 §8.1): one the
    // server's reset or GOAWAY cut is said so, and where, as one with a length is; Node's words
    // ("Stream closed with error code NGHTTP2_CANCEL") named neither, and a REFUSED_STREAM after
    // the head was called "refused unprocessed".
    const h2 = networkCut && t.head?.http2 === true ? http2Cut(error) : undefined
    if (h2) {
      return new ImgpullError(
        'truncated',
        `${shown}${cutThrough(t)}: ${h2} after ${decision.at + beyond()} bytes, its length not stated`,
        { retryable: true, cause: error, resumed: nothing },
      )
    }
    const left = chunkLeftAtClose(exchange.socket)
    if (networkCut && left !== undefined) {
      return new ImgpullError(
        'truncated',
        `${shown}${cutThrough(t)}: connection closed inside a chunk, ${left} bytes short of its end, after ${decision.at + beyond()} bytes`,
        { retryable: true, cause: error, resumed: nothing },
      )
    }
    if (errorCode(error) === 'UND_ERR_BODY_TIMEOUT') {
      if (nothing) nothingResumed(error)
      bodyStalledAt(error, stallWords(decision.at, beyond(), decision.total ?? decision.length))
    }
    return error
  }
  /** An encoded body that stopped short of its length: the length may be of the decoded body (see `lengthOfDecoded`). */
  let shortOfLength: unknown
  /** The decoder was ended (see below). */
  let ended = false
  /** An encoded body ended short of its length, and decoded to it (see `lengthOfDecoded`). */
  let decodedWhole = false
  /** What ended an encoded body without a length: the failure, unless its coding marked its end (see `endedUnframed`). */
  let endedBy: unknown
  try {
    try {
      await exchange.consume(take)
    } catch (error) {
      // Every byte its length promised came, then the connection closed before undici saw the
      // answer end (its parser paused by back-pressure at the last byte), or, over HTTP/2, the
      // stream was reset or never ended: the body is whole (see `endedAtLength`).
      const whole =
        decision.length !== undefined &&
        received === decision.length &&
        endedAtLength(errorCode(error), t.head!.http2 === true)
      if (error === endedAtOwnEnd && !t.cancel.aborted) {
        // Ended at its coding's own end, its decoded size the one it must have (see `endAtOwnEnd`).
        if (decision.length !== undefined) shortOfLength = error
      } else if ((!whole || t.cancel.aborted) && !afterLastChunk(t, error, exchange.socket)) {
        if (decoder && endedShort(t, error, decision, received)) shortOfLength = error
        else if (stalledUnframed(t, error, decision, received)) t.stalled = error
        else if (decoder && endedUnframed(t, error, decision, received)) endedBy = error
        else if (!endedByClose(t, error, decision, received)) throw error
        // Closed inside a chunk, its size line promising more: a cut, as one short of a length is.
        else if (chunkLeftAtClose(exchange.socket) !== undefined) throw error
        // A chunked body the connection closed before its last chunk is incomplete (RFC 9112
        // §7.1), as far as the protocol goes: a body whose end nothing marked, judged as one read
        // to the close is (browsers show it; curl refuses it). Refusing it would refuse whole
        // images from a server that cannot end a body otherwise, on every run.
        else t.closedEarly = true
      }
    }
    if (decoder) {
      // An encoded body that ended short of its length is truncated, whatever its decoded part
      // shows, unless the length is that of the decoded body (see `lengthOfDecoded`).
      // A 206's range, without a Content-Length, is its length, and may count the decoded bytes
      // (see `judge`): the coded body, framed by its chunks or a close, then ends short of it or
      // past it (an image gzip makes no smaller), and is whole when it decoded to it.
      const rangeLength = t.head!.statusCode === 206 && t.head!.headers['content-length'] === undefined
      if (
        decision.length !== undefined &&
        (received < decision.length || (rangeLength && received > decision.length))
      ) {
        const length = decision.length
        let codingEnded = false
        // Cut short of it (`shortOfLength`), or ended cleanly where a 206's range is its length,
        // or ended cleanly short of it: an HTTP/2 stream the server reset with NO_ERROR, which Node
        // ends as if END_STREAM had come (see undici.ts `failResetUnended`). A gzip'd image whose
        // length is its decoded size so reset failed as `truncated` on every attempt.
        ended = true
        const whole = await decoder.end().then(
          () => {
            // Or it was not coded at all (a coding named, not applied): plain bytes.
            codingEnded = !decoder!.unterminated
            return lengthOfDecoded(decoder!, check.bytes, length)
          },
          () => false,
        )
        decodedWhole = whole
        // Its coded stream ended (gzip's trailer, its CRC-32 and size checked; Brotli's last block),
        // or its bytes were never coded, short of the length: judged as plain bytes short of theirs
        // are (see `verify`), since the
        // length may count a byte or two more than the server sends (an off-by-one).
        if (!whole && codingEnded && shortOfLength !== undefined) t.cut = cutFailure(shortOfLength)
        // Cut or stalled as it was: the close or the timeout is the failure, as for any body.
        else if (!whole)
          throw (
            shortOfLength ??
            new ImgpullError('truncated', `${shown}: got ${received} of ${decision.length} bytes`, {
              retryable: true,
            })
          )
      }
      // Every byte of its length came, and its content coding had not ended there (no gzip
      // trailer, no last Brotli block): the length may be the decoded size (see `endedAtLength`).
      const atLength =
        t.body.encoded &&
        t.head!.http2 !== true &&
        decision.length !== undefined &&
        received === decision.length
      // No byte at all: nothing was encoded, so nothing was cut in the coding (the empty body is judged below).
      if (received > 0 && !ended)
        await decoder.end().catch((error: unknown) => {
          if (atLength && (error as ImgpullError).code === 'truncated') t.endedAtLength = true
          if (t.endedAtLength) t.pastLength = decision.length
          throw error
        })
      t.unterminated = decoder.unterminated
      t.overrun = overrunNote(decoder.overrun)
      if (atLength && t.unterminated) t.endedAtLength = true
      if (t.endedAtLength) t.pastLength = decision.length
      // A coded stream that reached its own end marks where the body ends, whatever the connection
      // did after it: a close, a last chunk that never came, a stall on a connection kept open, an
      // HTTP/2 stream without a length.
      t.codingEnded = received > 0 && !decoder.identity && !decoder.unterminated
      // Where gzip members or zstd frames followed one another, the last one's end is no more
      // the body's than the others' were: a cut between two of them ends as cleanly.
      t.codingMarked = t.codingEnded && decoder.endsOnce && t.overrun === undefined
      if (endedBy !== undefined && !t.codingMarked) throw endedBy
      settleAsCame()
      if (t.codingMarked) {
        t.closedEarly = false
        t.stalled = undefined
      }
      if (decoder.checksumMismatch !== undefined) crcMismatch(t, decoder.checksumMismatch)
      // A 206 of all of a coded file whose range counts the decoded bytes (see `decodedTotal`).
      const total = decision.decodedTotal
      if (
        decodedSplice &&
        total !== undefined &&
        (t.codingEnded ? check.bytes !== total : check.bytes > total)
      )
        throw new ImgpullError(
          'bad-range',
          `${shown}: unusable partial answer: ${codedAs(t)}, its Content-Range ending at byte ${total - 1}, and decodes to bytes up to ${check.bytes - 1}`,
          { retryable: true },
        )
      if (total !== undefined && t.codingEnded && check.bytes !== total)
        throw new ImgpullError(
          'bad-range',
          `${shown}: unusable partial answer: its Content-Range counts ${total} bytes, neither the ${received} sent (its Content-Length) nor the ${check.bytes} they decode to`,
          { retryable: true },
        )
    }
    // Short of its length, a body is cut, whatever its first bytes show (an HTTP/2 stream can end so).
    const short = !decoder && decision.length !== undefined && received < decision.length
    if (!check.format && !short) {
      // Stalled before its first bytes could be told apart: the stall is the failure.
      if (t.stalled !== undefined && !(await check.identify()) && check.mayBeginImage()) throw t.stalled
      await identify(true)
    }
    if (t.ctx.hold && decision.at === 0 && !decision.more) t.held = file.take()
    // Held, never written: an older part would stay behind (a written one truncates it).
    if (t.held && t.partMayExist) await unlink(t.part).catch(() => {})
    if (!t.held) await file.flush(true)
  } catch (caught) {
    // Bytes the codings imgpull knows do not decode, beside one it does not know: that one is why.
    const error =
      (caught as ImgpullError | undefined)?.code === 'corrupt' && decoder
        ? (tryNotUndone(t, (caught as Error).message.replace(`${shown}: `, '')) ?? caught)
        : caught
    exchange.abort(error)
    decoder?.destroy()
    const tooLarge = error instanceof ImgpullError && error.code === 'too-large'
    // Keep a prefix that is known to be an image on disk for a resume; anything else is worthless.
    // A body cut before its head was sniffed (under HEAD_BYTES) may still show what it is.
    // A decoded splice cut on its way (closed, reset, stalled), past its overlap and not past its
    // range: what it decoded to are the file's next bytes, as a plain body's are.
    const cutSplice =
      decodedSplice &&
      beyond() > 0 &&
      check.bytes <= (decision.decodedTotal ?? check.bytes) &&
      !(error instanceof ImgpullError) &&
      !isFatalLocal(error)
    const resumable =
      !tooLarge &&
      (!decoder || cutSplice || settleAsCame()) &&
      (check.format ?? (await check.identify().catch(() => undefined))) !== undefined
    if (resumable) {
      t.record()
      await file.flush(true).catch(() => {})
    }
    await file.close()
    // A decoded splice that failed otherwise (its coding or range wrong, its overlap not the
    // bytes on disk): none of its bytes are kept, those on disk before it are.
    if (!resumable && decodedSplice && !tooLarge) {
      await truncatePart(t.part, decision.at)
      t.record()
      // Bytes its coding's label does not fit: no retry can join them, the file starts over.
      const code = (error as ImgpullError | undefined)?.code
      if (code === 'corrupt' || code === 'unsupported-encoding')
        throw new NotJoined(
          shown,
          `${codedAs(t)}, and does not decode to bytes of the file (${(error as Error).message.replace(`${shown}: `, '')})`,
        )
    } else if (!resumable) await unlink(t.part).catch(() => {})
    // The connection ended (reset, closed) short of the length; a body that stalled until the idle
    // timeout was not cut, and is told as the timeout it is.
    const networkCut =
      !(error instanceof ImgpullError) &&
      !isFatalLocal(error) &&
      (error as { code?: string } | null)?.code !== 'UND_ERR_BODY_TIMEOUT'
    const short =
      ((decision.length !== undefined && received < decision.length) ||
        chunkLeftAtClose(exchange.socket) !== undefined) &&
      !t.cancel.aborted
    const failure = cutFailure(error)
    // Short of its length, but kept on disk as an image: its structure may show its end, a length
    // the server overstates (see `verify`).
    if (short && resumable && (networkCut || errorCode(error) === 'UND_ERR_BODY_TIMEOUT')) {
      t.cut = failure
      return verify
    }
    throw failure
  }
  await file.close()
  // A decoded body's check counts the file from byte 0, the bytes on disk before it too.
  t.offset = decoder ? check.bytes : decision.at + beyond()
  // An encoded body whose length is its decoded one (see `lengthOfDecoded`): whole.
  if (
    decision.length !== undefined &&
    received !== decision.length &&
    shortOfLength === undefined &&
    !decodedWhole
  ) {
    // A body that ended cleanly but not at its length. Short: keep it for a resume. Long: worthless.
    if (received < decision.length && (!decoder || asCame)) {
      await t.keepPart()
      t.record()
    } else await t.dropPart()
    throw new ImgpullError('truncated', `${shown}: got ${received} of ${decision.length} bytes`, {
      retryable: true,
      // Not a byte past those on disk (see `nothingResumed`).
      resumed: decision.at > 0 && beyond() === 0,
    })
  }
  // A partial answer (206): ask for the rest, proven to be of the same version, and its last bytes
  // again (see `LATER_OVERLAP`): the next answer may come from another edge with another version.
  // Without a validator, the bytes compared are all the proof there is: `RESUME_OVERLAP` of them.
  if (decision.total !== undefined && t.offset < decision.total) {
    await t.keepPart()
    t.record()
    const wanted = t.known.unproven ? RESUME_OVERLAP : LATER_OVERLAP
    // What this answer carried of the file, the bytes asked again included (a 206 may end
    // inside them).
    const carried = decodedSplice ? decodedIn : received
    // All of it asked again, ending at the last byte on disk: the server has no byte past them,
    // though its Content-Range states more (a total a byte off). A cap would have carried more
    // than the bytes asked again (at most half the last answer, see `nextOverlap`). Halving the
    // bytes asked again went on for 11 requests, each bringing nothing, until a 416 told the size.
    if (decision.at > 0 && overlap > 0 && carried === overlap) {
      await t.restart(
        `its answers end at byte ${t.offset - 1}, short of the ${decision.total} bytes they state`,
      )
      return send
    }
    // Counted: a part that moved the file on by fewer bytes than were asked again (a server that
    // doles out a few bytes an answer, one whose answers end short of the total they state).
    if (beyond() < wanted && ++t.parts > MAX_PARTS) {
      throw new ImgpullError(
        'truncated',
        `${shown}: the server sent ${MAX_PARTS} parts that each brought fewer than ${wanted} new bytes (${t.offset} of ${decision.total} bytes on disk)`,
        { retryable: true },
      )
    }
    const again = nextOverlap(wanted, carried, t.known.unproven ? RESUME_OVERLAP : 0)
    t.tail = recent.length > 0 && again > 0 ? Buffer.from(Buffer.concat(recent).subarray(-again)) : undefined
    return send
  }
  // A part of a file of unknown size (`bytes A-B/*`): where the file ends, only the next answer
  // says (a 416 with the size, more bytes, or the whole file again).
  if (decision.more) {
    // Each part brings at least a byte, but a server could dole out one byte per request.
    if (++t.parts > MAX_PARTS) {
      throw new ImgpullError(
        'truncated',
        `${shown}: the server sent ${MAX_PARTS} parts of a file of unknown size without its end`,
        { retryable: true },
      )
    }
    await t.keepPart()
    t.record()
    return send
  }
  return verify
}

/**
 * Whether the error whose code is `code` is the connection ending under an answer: closed
 * (`UND_ERR_SOCKET`, undici's "other side closed"), or reset (`ECONNRESET`, Node's own error,
 * which undici passes on as it came). Either way the bytes that came before it are all there is
 * to judge: a server that resets instead of closing (its close with bytes of ours still unread
 * makes the kernel send a reset; SO_LINGER 0) ends a body no differently. A chunked body reset at
 * a chunk's edge failed as `network` on every attempt and every rerun, where a close kept the
 * image and curl, wget2 and aria2c keep it either way.
 */
export const connectionEnded = (code: string): boolean => code === 'UND_ERR_SOCKET' || code === 'ECONNRESET'

/** A coded body ended by imgpull at its coding's own end (see `endAtOwnEnd` in `receive`). */
class CodingEnded extends Error {
  constructor() {
    super("the body was ended at its coding's own end")
  }
}

/**
 * Whether a body failed with the error whose code is `code`, once every byte of its
 * `Content-Length` came, is whole all the same: the length marks where it ends, whatever the
 * connection does after it. The connection closed or reset (see `connectionEnded`; also a GOAWAY
 * with an error). Over HTTP/2 (`http2`), where undici waits for END_STREAM past the length, also the
 * stream reset by the server with any code instead of END_STREAM (`ERR_HTTP2_STREAM_ERROR`:
 * INTERNAL_ERROR, CANCEL or REFUSED_STREAM from a server or proxy that resets a stream it has
 * sent), the session failed under it (`ERR_HTTP2_SESSION_ERROR`), or END_STREAM never coming
 * (`UND_ERR_BODY_TIMEOUT`). Each failed every attempt and every rerun, where curl and wget2 keep
 * the file. Bytes past the length never count: nghttp2 resets such a stream with PROTOCOL_ERROR
 * before it delivers them (RFC 9113 §8.1.1). Pure, table-tested (test/h2-goaway.test.ts).
 */
export function endedAtLength(code: string, http2: boolean): boolean {
  if (connectionEnded(code)) return true
  return (
    http2 &&
    (code === 'ERR_HTTP2_STREAM_ERROR' ||
      code === 'ERR_HTTP2_SESSION_ERROR' ||
      code === 'UND_ERR_BODY_TIMEOUT')
  )
}

/**
 * Whether `error`, over HTTP/2, ended an encoded body without a length after some bytes the way it
 * ends one at its length (see `endedAtLength`): the stream reset with any code (INTERNAL_ERROR,
 * CANCEL), the session failing under it, a GOAWAY with an error. Such a body is whole where its
 * coded stream reached its own end in one piece (`codingMarked`: gzip's trailer, its CRC-32 and
 * size checked), as over HTTP/1.1 a close or a reset after it ends it; else `error` stands.
 * A gzip'd image so reset failed as `network` on every attempt and every rerun.
 */
function endedUnframed(t: Transfer, error: unknown, decision: Receive, received: number): boolean {
  if (t.cancel.aborted || received === 0 || decision.length !== undefined || t.head!.http2 !== true)
    return false
  return endedAtLength(errorCode(error), true) && errorCode(error) !== 'UND_ERR_BODY_TIMEOUT'
}

/**
 * Whether `error` is an HTTP/1.1 chunked body's connection closing before the last chunk, with
 * bytes in: then the body is judged as one read to the close (see `receive`), or, encoded, by
 * whether its coding reached its own end. Not a stop of ours, and not a body of known length
 * (that one is `truncated`).
 */
function endedByClose(t: Transfer, error: unknown, decision: Receive, received: number): boolean {
  if (!closedUnder(error) || t.cancel.aborted || received === 0) return false
  return decision.length === undefined && !t.head!.http2 && chunkedLast(t.head!.headers)
}

/**
 * Whether `error` is the connection's end: the close itself (or a reset: see `connectionEnded`),
 * or, on an answer that said `Connection: close`, llhttp's end of input where a chunk or the
 * trailer section was due (an HTTPParserError, "Invalid EOF state", without a code).
 */
const closedUnder = (error: unknown): boolean =>
  connectionEnded(errorCode(error)) ||
  ((error as Error | null)?.name === 'HTTPParserError' && /Invalid EOF state/.test((error as Error).message))

/**
 * Whether a chunked body's last chunk had come when its connection closed or fell silent past the
 * idle timeout, only the trailer section's empty line missing (see `lastChunkAtClose`): the body
 * ended where the server marked it, and is whole as far as the protocol goes. A whole GIF without
 * its trailer (or a bare JPEG XL codestream) so sent failed as `truncated` ("closed before the
 * last chunk"), or as the idle timeout, on every attempt and rerun.
 */
function afterLastChunk(t: Transfer, error: unknown, socket: object | undefined): boolean {
  if (t.cancel.aborted || t.head!.http2 || !chunkedLast(t.head!.headers)) return false
  return (closedUnder(error) || errorCode(error) === 'UND_ERR_BODY_TIMEOUT') && lastChunkAtClose(socket)
}

/**
 * Most encoded bytes a file of `maxSize` bytes comes in: gzip and deflate add 5 bytes to each
 * 64 KB stored block of data they cannot compress, Brotli and zstd less; stacked codings and a
 * cache's trailing bytes fit in the rest.
 */
export function encodedLimit(maxSize: number): number {
  return maxSize + Math.ceil(maxSize / 1000) + 64 * 1024
}

/**
 * Whether an encoded body's transfer stopped short of its `Content-Length` (the connection closed,
 * kept silent past the idle timeout, or, over HTTP/2, the stream was reset: with PROTOCOL_ERROR,
 * nghttp2's answer to a stream that ends short of its length, RFC 9113 §8.1.1, or by the server
 * with any code, CANCEL or INTERNAL_ERROR, as over HTTP/1.1 a close ends it), after some bytes:
 * the length may be the decoded body's (see `lengthOfDecoded`). The close of an answer not kept
 * alive (`Connection: close`, or HTTP/1.0's: Python's http.server) comes in undici's other words:
 * it finishes the parser there and blames the length (client-h1.js `onHttpSocketEnd`).
 */
function endedShort(t: Transfer, error: unknown, decision: Receive, received: number): boolean {
  if (t.cancel.aborted || received === 0 || decision.length === undefined || received >= decision.length)
    return false
  const code = errorCode(error)
  if (code === 'ERR_HTTP2_STREAM_ERROR') return t.head!.http2 === true
  return (
    connectionEnded(code) || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH'
  )
}

/**
 * Why a decoded body's end is unmarked where bytes came after its coded stream's end (see
 * `BodyDecoder.overrun`), or `undefined` where none did.
 */
export const overrunNote = (overrun: { bytes: number; coding: string } | undefined): string | undefined =>
  overrun &&
  `${overrun.bytes} ${overrun.bytes === 1 ? 'byte' : 'bytes'} came after the end of its ${overrun.coding} stream, not decoded (a second stream joined on, or binary bytes the server appended)`

/**
 * Whether an encoded body that stopped short of its `Content-Length` `length` (the connection
 * closed, or kept silent) is whole all the same: its coded stream reached its own end (gzip's
 * trailer, its CRC and size checked) and decoded to exactly that many bytes (`decoded`). The server measured the
 * length before it encoded the body (a script that sets `Content-Length` from the file's size
 * under a compressing layer: GzipSimpleHTTPServer, PHP's zlib.output_compression), so the rest of
 * the length never comes; browsers show such an image, at the close or after a wait.
 */
export function lengthOfDecoded(
  decoder: Pick<BodyDecoder, 'identity' | 'unterminated'>,
  decoded: number,
  length: number,
): boolean {
  return !decoder.identity && !decoder.unterminated && decoded === length
}

/**
 * Whether `error` is the idle timeout of a body without a `Content-Length` that the server left
 * open: one that only a close could end (HTTP/1.x, not chunked: RFC 9112 §6.3; an HTTP/1.0 server
 * answering `Connection: keep-alive` without a length, as old wget met it), a chunked one whose
 * last chunk never came (a server that never writes it: cpp-httplib#2563 ended the loop without
 * it, netty#1861 left it out; h2o#2097's `0\r\n` is the last chunk, see `afterLastChunk`), or an
 * HTTP/2 stream never ended. Such a body is judged as one read to a close there, as a chunked body cut by a close is:
 * kept when the image's structure shows its end, else the timeout stands. A whole image behind a
 * missing last chunk failed every attempt and every rerun, where the same bytes and a close kept it.
 */
function stalledUnframed(t: Transfer, error: unknown, decision: Receive, received: number): boolean {
  if (errorCode(error) !== 'UND_ERR_BODY_TIMEOUT' || t.cancel.aborted || received === 0) return false
  return decision.length === undefined
}

/**
 * Whether the protocol marked where the file ends (see `endMarked`), or the body's coded stream
 * reached its own end in one piece: a gzip or deflate stream without its end, or gzip members
 * (zstd frames) one after another, leave only the image to show it.
 */
const framed = (t: Transfer): boolean =>
  !t.unterminated &&
  t.overrun === undefined &&
  !t.closedEarly &&
  // A chunked body stalled before its last chunk: its end was not marked (see `stalledUnframed`).
  t.stalled === undefined &&
  (t.codingMarked ||
    endMarked({ status: t.head!.statusCode, headers: t.head!.headers }, t.head!.http2, t.known.length))

/** The whole file is on disk: is it a complete image? */
const verify: Step = async (t) => {
  const check = t.check!
  const read = t.partReader()
  // A 206 naming no range says it is partial: the same bytes twice prove nothing then.
  const partial = namesNoRange({ status: t.head!.statusCode, headers: t.head!.headers })
  // Where the protocol or the coding said the body is incomplete, the same bytes twice prove nothing
  // either: only the image's structure can show its end.
  const incomplete = partial
    ? 'the server called its answer partial (a 206 naming no range)'
    : t.closedEarly
      ? 'the connection closed before the last chunk of the body'
      : t.unterminated
        ? 'its encoded body ends without its own end'
        : t.overrun !== undefined
          ? t.overrun
          : t.stalled !== undefined
            ? 'the server stopped sending it without ending it'
            : undefined
  // A cache's stored copy is the same to every request it answers from it, `no-cache` asked or
  // not: the same bytes again from it are no second sighting of the file (see `cacheHit`).
  const cached = cacheHit(t.head!.headers)
  const seen = cached === undefined ? t.seen : undefined
  // Short of its length: the length promised more, so only the same bytes twice (and a
  // structure that shows its end) prove the rest never comes.
  const outcome = await (t.cut !== undefined
    ? check.finish(
        read,
        false,
        seen,
        chunkLeftAtClose(t.exchange?.socket) === undefined
          ? 'the body ended short of its Content-Length'
          : 'the connection closed inside a chunk',
        true,
      )
    : check.finish(read, framed(t), incomplete ? undefined : seen, incomplete)
  ).finally(() => read.close())
  // Said where the same bytes again would have settled it: the cache's are no proof.
  if (!outcome.ok && cached !== undefined && outcome.unframed)
    outcome.reason += `; a cache on the way served it (${cached}), and the same copy again proves nothing`
  if (!outcome.ok && t.cut !== undefined) {
    // Cut as it was: the part stays for a resume, and the cut is the failure. A whole image is
    // remembered: the very same bytes again are what the server sends for its length.
    if (outcome.unframed) t.known = { ...t.known, seen: outcome.unframed }
    t.recorded = false
    t.record()
    // Decoded bytes from byte 0: no range continues them (ranges count the encoded ones). Others
    // held in memory (a WebDataset sample) are written for the resume.
    if (t.body?.encoded && t.body.at === 0) await t.dropPart()
    else await t.keepPart()
    throw t.cut
  }
  if (!outcome.ok) {
    if (outcome.unframed) {
      // Seen whole once: the next attempt that brings the very same bytes settles it.
      t.known = { ...t.known, seen: outcome.unframed }
      t.recorded = false
    }
    // A body that ended before its structure did (truncated), or contradicts itself (corrupt).
    // When the server had said how long the file is, it sent all it has: resuming is pointless.
    if (outcome.kind !== 'truncated' || t.known.length !== undefined) await t.dropPart()
    else {
      await t.keepPart()
      t.record()
    }
    // A body the server stopped sending without ending it: the stall is the failure, said as one.
    if (t.stalled !== undefined && outcome.kind === 'truncated') {
      const stalled = new TimeoutError('idle', t.options.idleTimeout, t.shown + t.via, answeredThrough(t))
      stalled.message += `, after ${check.bytes} bytes: ${outcome.reason}`
      throw stalled
    }
    // A coding that lacked its end too: say so, it is likely where the cut is.
    const coding =
      incomplete !== undefined && outcome.reason.includes(incomplete)
        ? ''
        : t.unterminated
          ? '; its encoded body ends early too'
          : t.overrun !== undefined
            ? `; ${t.overrun}`
            : ''
    // Where the answer marked its own end, the cut is in the server's copy (see `markedWhole`);
    // one read to the close may have been cut on the way: by the proxy it came through, if any
    // (see `cutThrough`), as one short of its length.
    const marked = outcome.kind === 'truncated' && !incomplete && framed(t)
    const through = outcome.kind === 'truncated' && !marked ? cutThrough(t) : ''
    throw new ImgpullError(outcome.kind, `${t.shown}${t.via}${through}: ${outcome.reason}${coding}`, {
      retryable: outcome.kind === 'truncated',
      ...(marked
        ? { markedWhole: check.bytes, ...(cached !== undefined ? { markedByCache: cached } : {}) }
        : {}),
    })
  }
  const { checked } = outcome
  const head = t.head!
  // Only an answer that carried the file states its checksum (a 416's digests are of its own body);
  // it carried all of it when its body began at byte 0 (a continued one begins later).
  const carried = head.statusCode === 200 || head.statusCode === 206
  const whole = carried && t.body?.at === 0
  const said = carried
    ? statedDigests(head.headers, whole, t.body?.encoded ?? false, check.bytes)[0]
    : undefined
  // A file this answer only completed: a checksum an earlier answer of this version stated of it.
  const stated = whole ? said : (said ?? t.known.stated)
  if (stated)
    await compareStated(
      t,
      stated,
      stated.algorithm === 'sha256' ? checked.sha256 : check.statedHex(stated.algorithm),
    )
  // The encoded bytes as they came, against the checksum stated of them.
  const encoded = t.encodedDigest
  t.encodedDigest = undefined
  if (encoded) await compareStated(t, encoded.stated, encoded.hash.digest('hex'), 'encoded body')
  t.result = {
    bytes: check.bytes,
    sha256: checked.sha256,
    ext: checked.ext,
    width: checked.width,
    height: checked.height,
    // A file verified whole from partial answers (206, or a 416 saying every byte was here) is the
    // file a whole answer gives: its status is 200, whether one answer or a cut one and its
    // resumes brought it, so a dataset's rows do not depend on where a run was cut.
    httpStatus: t.head!.statusCode === 416 || t.head!.statusCode === 206 ? 200 : t.head!.statusCode,
    ...(t.via !== '' && t.answeredAt !== undefined ? { finalUrl: withoutSigning(t.answeredAt) } : {}),
    ttfb: t.ttfb,
    ...(t.held ? { held: t.held } : {}),
    ...quotaOf(t.head!.headers),
  }
  return undefined
}

function quotaOf(headers: Record<string, string | string[] | undefined>): { quotaReset?: number } {
  const quotaReset = quotaResetAfterServed(headers)
  return quotaReset === undefined ? {} : { quotaReset }
}

/**
 * The file against a checksum its server states (see stated-digest.ts): `known` when the checks
 * took it as the bytes came (sha-256, or the one `alsoHash` was given), else the part read back;
 * `what`, when the checksum is of other bytes than the file's (an `encoded body`'s). A mismatch is `digest-mismatch` (bytes changed on
 * the way: a proxy, a bad link), retried, and the part is dropped; unless an earlier attempt had
 * the very same bytes (`Validators.mismatched`): then they are what the URL serves, and kept.
 */
async function compareStated(
  t: Transfer,
  stated: StatedDigest,
  known: string | undefined,
  what?: string,
): Promise<void> {
  let got = known
  if (got === undefined) {
    const hash = createHash(stated.algorithm)
    for await (const chunk of t.held ?? createReadStream(t.part, { highWaterMark: 1024 * 1024 }))
      hash.update(chunk as Buffer)
    got = hash.digest('hex')
  }
  if (got === stated.hex || got === t.mismatched) return
  await t.dropPart()
  t.known = { ...t.known, mismatched: got }
  t.recorded = false
  t.record()
  throw new ImgpullError(
    'digest-mismatch',
    `${t.shown}${t.via}: its ${what ? `${what}'s ` : ''}${stated.algorithm} is ${got}, not the ${stated.hex} its ${stated.header} states`,
    { retryable: true },
  )
}

/**
 * The body of a failing answer thrown away, or, for one of nginx's 400 pages about TLS (a client
 * certificate wanted or refused, plain HTTP to its HTTPS port), read: what it says, as the end of
 * the failure's message (`: the server (nginx) refused the client certificate of --cert: ...`);
 * '' otherwise. Such a failure said `HTTP 400` alone.
 */
async function nginxPage(t: Transfer, status: number): Promise<string> {
  if (!mayBeNginxPage(status, t.head!.headers)) {
    await t.exchange!.discard()
    return ''
  }
  const https = (t.answeredAt ?? t.url).startsWith('https:')
  const words = nginxPageWords(await smallBodyText(t.exchange!), https, t.options.clientCert !== undefined)
  return words ? `: ${words}` : ''
}

/**
 * A URL the server does not have as written (400, 403, 404, 410), asked for itself (no redirect),
 * that ends in punctuation pasted with it from a chat or a sentence: the URL meant (see `pastedTail`).
 */
function pastedAfter(t: Transfer, status: number): string {
  if (![400, 403, 404, 410].includes(status) || t.via !== '') return ''
  const hint = pastedTail(t.url)
  return hint ? `: ${hint}` : ''
}

/**
 * A 401 to the user and password of the URL: they were sent, and refused (see `digest-auth.ts`);
 * sent by Basic to a server that asks for Digest, why its challenge was not answered.
 */
function refusedCredentials(t: Transfer, status: number): string {
  if (status !== 401 || !t.sentCredentials) return ''
  const digest =
    t.sentCredentials === 'Basic' ? digestUnanswered(t.head!.headers['www-authenticate']) : undefined
  return `: the server refused the user and password of the URL (sent by ${t.sentCredentials}${digest ? `; ${digest}` : ''})`
}

/** How a coded answer came, in words: `it came gzip-encoded (Content-Encoding: gzip on a 206)`. */
function codedAs(t: Transfer): string {
  const { statusCode, headers } = t.head!
  const named = (['content-encoding', 'transfer-encoding'] as const)
    .map((name) => [name, codingsOf(headers[name])] as const)
    .filter(([, codings]) => codings.length > 0)
    .map(
      ([name, codings]) =>
        `${name === 'content-encoding' ? 'Content' : 'Transfer'}-Encoding: ${codings.join(', ')}`,
    )
  return `it came ${appliedCodings(headers).join(', ')}-encoded (${named.join(', ')} on a ${statusCode})`
}

/**
 * The failure of a body that is no image, or does not decode (`why`), where its `Content-Encoding`
 * or `Transfer-Encoding` lists a coding imgpull does not know (see `unknownCodings`), or
 * `undefined` where none is listed.
 */
function tryNotUndone(t: Transfer, why: string): ImgpullError | undefined {
  const unknown = unknownCodings(t.head!.headers)
  if (unknown.length === 0) return undefined
  return new ImgpullError(
    'unsupported-encoding',
    `${t.shown}${t.via}: the server encoded the image with ${unknown.join(', ')}, ${unknown.length > 1 ? 'codings' : 'a coding'} imgpull does not know (${why})`,
  )
}

/** `tryNotUndone`, thrown where it names a coding. */
function notUndone(t: Transfer, why: string): void {
  const failure = tryNotUndone(t, why)
  if (failure) throw failure
}

/**
 * A gzip body that decoded to bytes its trailer's CRC-32 does not match (`mismatch`: computed,
 * not the stated), judged as a stated checksum is (see `compareStated`): `digest-mismatch`,
 * retried, the part dropped; unless an earlier attempt had the very same mismatch: then the bytes
 * are what the URL serves (a server whose gzip writes a wrong CRC every time, as browsers, which
 * ignore the trailer, show: okhttp#4850), and kept.
 */
function crcMismatch(t: Transfer, mismatch: string): void {
  const seen = `gzip-crc32:${mismatch}`
  if (seen === t.mismatched) return
  t.known = { ...t.known, mismatched: seen }
  t.recorded = false
  t.record()
  const which = mismatch.includes(';') ? "its gzip members' CRC-32s are" : "a gzip member's CRC-32 is"
  throw new ImgpullError(
    'digest-mismatch',
    `${t.shown}${t.via}: the encoded body decodes to bytes its own checksum does not match (${which} ${mismatch} its trailer says): changed on the way`,
    { retryable: true },
  )
}

/**
 * ` (through the proxy P)` for a body cut on its way through a proxy, as a network error or a
 * timeout through one says it: the proxy (an idle timeout of its own, a restart) may be what cut
 * it, as well as the server. '' direct.
 */
function cutThrough(t: Transfer): string {
  const proxy = answeredThrough(t)
  return proxy ? ` (through the proxy ${proxy})` : ''
}

/** The proxy `t`'s answer came through, as shown (never its credentials); `undefined` direct. */
function answeredThrough(t: Transfer): string | undefined {
  const proxy = proxyFor(new URL(t.answeredAt ?? t.url), proxyPlan(t.options.proxy))
  return proxy && shownProxy(proxy)
}

/** The link form that gives the file, when the page that answered (or the URL asked for) is a sharing site's page for it. */
function sharePage(t: Transfer): string | undefined {
  for (const href of [t.answeredAt, t.url, t.ctx.given]) {
    if (href === undefined || !URL.canParse(href)) continue
    const hint = sharePageHint(new URL(href))
    if (hint) return hint
  }
  return undefined
}

/** The proxy that may have given an error status, or a page, in place of the server (see `proxyNote`). */
function statusProxyNote(t: Transfer, headers: Record<string, string | string[] | undefined>): string {
  const url = new URL(t.answeredAt ?? t.url)
  return proxyNote(url, proxyFor(url, proxyPlan(t.options.proxy)), headers)
}

/** An error status to an http:// URL through an HTTP proxy, which may be the proxy's own (see `GatewayAnswer`). */
function statusGateway(
  t: Transfer,
  status: number,
  headers: Record<string, string | string[] | undefined>,
): GatewayAnswer | undefined {
  const url = new URL(t.answeredAt ?? t.url)
  const proxy = proxyFor(url, proxyPlan(t.options.proxy))
  if (!proxy || isSocks(proxy) || url.protocol !== 'http:') return undefined
  return { status, tunnel: false, said: proxySaid(headers) }
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name]
  return Array.isArray(v) ? v[0] : v
}

/**
 * Move credentials out of the URL into an `Authorization` header, so they can be dropped when a
 * redirect leaves the origin and never show up in a message. An `Authorization` given with `-H`
 * wins, as in curl (a header of one's own replaces the one it would make): a list of URLs with
 * credentials in them, fetched with a token, sends the token.
 */
function splitCredentials(
  url: URL,
  credentials: UrlCredentials | undefined,
  headers: Record<string, string>,
): URL {
  if (!credentials) return url
  // Each escape as its byte (a Latin-1 `%E9`), as curl sends it.
  headers.authorization ??= basicToken(url)!
  const clean = new URL(url)
  clean.username = ''
  clean.password = ''
  return clean
}

function lower(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))
}
