/**
 * One attempt at one file, as its steps share it: the state carried from step to step
 * (`Transfer`), what a caller gives (`DownloadContext`) and gets (`Downloaded`), and the failures
 * on which `download` starts the file over (`NotJoined`, `Undeclared`).
 */
import type { Hash } from 'node:crypto'
import { unlink } from 'node:fs/promises'
import { ImgpullError } from '../errors.js'
import type { ResolvedOptions } from '../options.js'
import type { Job, Validators } from '../types.js'
import { shownUrl } from '../utils/url.js'
import type { ReadBack } from '../verify/complete/types.js'
import type { FileCheck } from '../verify/file-check.js'
import { readBackFile } from '../verify/read-back.js'
import type { DigestAlgorithm, StatedDigest } from '../verify/stated-digest.js'
import type { AnswersOnce } from './answers-once.js'
import type { ChainCookies } from './cookies.js'
import type { Body, Cancel, Exchange } from './exchange.js'
import type { HostSends } from './host-sends.js'
import type { Decision } from './judge.js'
import { PartFile } from './part-file.js'
import type { SendPauses } from './send-pauses.js'
import type { Dispatcher } from './undici.js'

/** Starts over within one attempt (another version, an unusable range answer) before giving up. */
const MAX_RESTARTS = 3

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
  /** The last answer came on a new connection: the host was taking new ones (see `resetReading`). */
  fresh?: boolean
  /** The answer said the host's rate-limit quota is now spent: ms until it comes back (see `quotaResetAfterServed`). */
  quotaReset?: number
  /**
   * The verified file's bytes, when they were kept in memory rather than written to the part file
   * (see `DownloadContext.hold`): the part file then does not exist.
   */
  held?: Buffer[]
  /**
   * How to resume the part file (absent when `held`): not journaled as it verified (a commit an
   * image), only where its publishing is cut and the part stays for the next run (see `Engine`).
   */
  validators?: Validators
}

export interface DownloadContext {
  dispatcher: Dispatcher
  /**
   * The hosts `dispatcher`'s connections found answering once (see answers-once.ts): one a pool,
   * made with it, so that no run takes another's verdicts.
   */
  answersOnce: AnswersOnce
  options: ResolvedOptions
  /**
   * With `--wait`: when each host may next be sent a request, taken as each request is written
   * (see host-sends.ts, `SendSpacing`); `gap`, ms, the wait drawn with this attempt's turn, the one
   * its first request to its host leaves after it (the others draw their own).
   */
  sends?: HostSends
  gap?: number
  /** On a thread: the slots of `sends` told for this transfer's hosts (the main thread's own: absent). */
  slots?: Map<string, number>
  /**
   * The hosts paused now (a 429's `Retry-After`...), held as each request is written, not only at
   * a file's turn (see send-pauses.ts): the run's on the main thread, the thread's on a thread.
   */
  pauses?: SendPauses
  /** Called when a response tells how to resume it (kept in the journal). */
  onValidators?: (validators: Validators) => void
  /** Called with each chunk's size, for live progress. */
  onBytes?: (bytes: number) => void
  /**
   * Called when a body is taken, with where in the file it begins: 0 for the whole file anew, more
   * for a continuation of the bytes on disk (what moves a file forward: see `progressFree`);
   * `unresumable`: why no range can continue this body, in words (it came encoded; the server
   * answered this attempt's resume in a form imgpull does not take); `length`: the bytes this
   * answer's body is to bring (encoded ones, for an encoded body), where it says (see run/deadline.ts
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
export type Receive = Extract<Decision, { do: 'receive' }>

/** One attempt's state, carried from step to step. */
export class Transfer {
  readonly shown: string
  /**
   * Where the answer came from, when redirects led away from the URL asked for: ` (redirected to
   * URL)`, put after `shown` in messages about the answer (a login page, a CDN's error page).
   */
  via = ''
  /** The URL that gave the last answer, after redirects (see `Validators.from`). */
  answeredAt: string | undefined
  /**
   * The URL the last request went to, answered or not (a redirect's target that failed to
   * connect), when redirects led away from the one listed: a failure's `finalUrl` (see `download`).
   */
  redirectedTo: string | undefined
  /** How the listed URL's user and password went with the last request, if they did. */
  sentCredentials: 'Basic' | 'Digest' | undefined
  /** The .netrc file they came from (`--netrc`), or `undefined`: the URL's. */
  sentCredentialsFrom: string | undefined
  /**
   * The listed URL's user (or the .netrc's) holds a colon (`http://a%3Ab:pw@host/`, a .netrc's
   * `login a:b`), which Basic cannot carry (RFC 7617 §2), and the last request went without it
   * (see `basicCarries`): whose it is, in words (`the URL's user`, `the login on line 3 of
   * ~/.netrc`); a Digest challenge is answered with it.
   */
  heldUserColon: string | undefined
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
  /**
   * `tail` is half the part before, fewer bytes than a resume without a validator asks again: the
   * server caps its answers below that (see `nextOverlap`, `Asked.capped`).
   */
  cappedTail = false
  /** The checks over the file's bytes so far; created when its first bytes are taken. */
  check: FileCheck | undefined
  /** The answer's body: the exchange's, or the one part of a multipart 206 (see `takeApart`). */
  exchange: Body | undefined
  head: Head | undefined
  ttfb = 0
  /** The last head came on a new connection. */
  fresh = false
  restarts = 0
  /** Parts of a file of unknown size, or small ones, asked for in this attempt (see `MAX_PARTS`). */
  parts = 0
  replays = 0
  staleReplays = 0
  /** A 421 Misdirected Request was answered, and the request sent again on a new connection (see send.ts). */
  misdirected = false
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
   * cut (see `endedAtLength`), to be read past that length to the close (HTTP/1.1; see undici-h1-parser.ts
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
   * A content-coded body's bytes as they come, hashed for the checksum its head states of them
   * (`stated`, see `encodedDigests`) and for those its trailer section may state (see
   * `trailerAlgorithms`): compared once the body is in.
   */
  encodedDigest: { stated: StatedDigest | undefined; hashes: Map<DigestAlgorithm, Hash> } | undefined
  /** This body is a 200 to a range request: taken as the whole file, not yet proven so. */
  wholeToRange = false
  /**
   * The answer's body was gzip, zlib or zstd data that no `Content-Encoding` named (see
   * `Undeclared`): this attempt asks again and decodes the next answer so, once.
   */
  undeclared: UndeclaredCoding | undefined
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

/** The codings a body's own first bytes name where no `Content-Encoding` does (see `Undeclared`). */
export type UndeclaredCoding = 'gzip' | 'deflate' | 'zstd'

/**
 * A body that begins with gzip's magic (RFC 1952) where the answer names no coding: the file as it
 * is stored gzip'd (an .svgz, a static file compressed ahead, an S3 object uploaded gzip'd without
 * its `Content-Encoding` metadata); or with zlib's header (RFC 1950 §2.2: `78 01`, `78 9C`,
 * `78 DA`), as `deflate` is sent, its label dropped by a proxy that passed the body on (h3js/h3#891);
 * or with zstd's frame magic (RFC 8878 §3.1.1), where this Node decodes zstd (see
 * `zstdUnavailable`). No image begins with those bytes. Thrown to ask once more and decode that
 * answer so: what comes out is judged as any image, the coding's own checks made (gzip's CRC-32
 * and size, zlib's Adler-32, zstd's checksum), and refused as `not-an-image` when it is not one.
 */
export class Undeclared extends ImgpullError {
  constructor(
    shown: string,
    readonly coding: UndeclaredCoding,
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
export class NotJoined extends ImgpullError {
  constructor(
    shown: string,
    readonly why: string,
  ) {
    super('bad-range', `${shown}: ${why}`, { retryable: true })
  }
}

/**
 * A resume's answer whose first bytes are not those on disk: the file starts over. `unknown`: the
 * codings its head lists that imgpull does not know (see `unknownCodings`), never undone, and so
 * likelier the cause than a file changed (a range of a stored `.bz2` served under `x-bzip2`).
 * `unproven`: the part has no validator (see `Validators.unproven`), and the words name none: a
 * capped part without one that did not repeat the bytes on disk was said to have changed 'under
 * the same validators', where the server sent none.
 */
export class FileChanged extends NotJoined {
  constructor(shown: string, at: number, unknown: readonly string[] = [], unproven = false) {
    super(
      shown,
      unknown.length > 0
        ? `it came ${unknown.join(', ')}-encoded, ${unknown.length > 1 ? 'codings' : 'a coding'} imgpull does not know, and the bytes before byte ${at} are not those on disk`
        : unproven
          ? `the bytes before byte ${at} differ from those on disk (the file changed, or the server's range is not the one it names; no validator proves the file unchanged)`
          : `the file changed under the same validators (the bytes before byte ${at} differ from those on disk)`,
    )
  }
}

/** A coded body ended by imgpull at its coding's own end (see `endAtOwnEnd` in `receive`). */
export class CodingEnded extends Error {
  constructor() {
    super("the body was ended at its coding's own end")
  }
}

/** A step of a transfer: does one thing, then names the next (none: the file is verified). */
export type Step = (t: Transfer) => Promise<Step | undefined>

export function header(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const v = headers[name]
  return Array.isArray(v) ? v[0] : v
}
