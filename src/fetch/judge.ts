import { REDIRECT_STATUS } from '../errors.js'
import type { Validators } from '../types.js'
import { fitsRequest } from './field-value.js'
import { httpDate, sameHttpDate } from './http-date.js'
import { successBody } from './success-status.js'
import { unaskedStatus } from './unasked-status.js'

/**
 * What to do with a response's head, decided from the status, the headers and what was asked:
 * the one place where "is this answer the file, part of it, or something else" is settled. Pure,
 * table-tested (test/judge.test.ts); `decide.ts` carries out what it says.
 *
 * Rules (RFC 9110 §14 range requests, §13.1.5 If-Range, §8.8 validators):
 * - A 200 is the whole file from byte 0, whatever was asked, unless it answers a range request
 *   and shows itself a part: a `Content-Range` past byte 0, or the same version (a strong
 *   validator equal) at another size. Then the whole file is asked for again, without `Range`,
 *   but for a part that says exactly what it is, judged as its 206 (`partUnder200`).
 *   Nor is a 200 whose `Content-Range` and `Content-Length` both say it is a part
 *   (`partLabelledWhole`): to a plain GET it is refused.
 * - A resume asks again for the last bytes it has (`overlap`, see `RESUME_OVERLAP`), and its 206
 *   must start there or before (a block-aligned cache): those bytes are compared with the ones
 *   on disk, those before them passed over (receive.ts), so a
 *   file that changed under validators that did not (an ETag made from a record id or a deploy
 *   version, or an mtime and size) is not spliced from two versions.
 * - A 206 is used only when its `Content-Range` starts exactly at the byte asked for; it is whole
 *   only when it also ends at the last byte of the total it states. A 206 to a plain GET that
 *   starts at 0 but stops short is kept and continued with `Range` for the rest. A resumed 206 of
 *   a file of unknown size (`bytes A-B/*`) is continued too, until a 416 states the size; to a
 *   plain GET, one from byte 0 (`bytes 0-B/*`) with a `Content-Length` of its B+1 bytes is a
 *   part all the same, the rest asked for with Range until a 416 states the size or an answer
 *   brings nothing past it (curl and wget2 keep it as the file), one without that length refused. A 206
 *   with no `Content-Range` at all, to a GET that asked for no range, is the whole file from byte 0
 *   (as curl and wget take it).
 * - Any answer to a resume but the file, a part of it, a 416, a 5xx, a 408 or a 429 restarts
 *   without Range: a 304 or 412 (If-Range never yields them: a server that misreads it as
 *   If-None-Match or If-Match), a 400, 403, 404, 405 or 501 (servers and CDNs that refuse Range)
 *   say nothing of the file a plain GET gave a moment before. A 5xx, 408 or 429 fails the attempt
 *   as it is (passing trouble: the bytes on disk stay for the next one).
 * - A resumed 206 or 416 must come from the URL the bytes on disk came from, after redirects (a
 *   redirect that now leads elsewhere leads to another resource), or show the same file by a strong
 *   ETag and full size (`sameFile`), else the file is asked for again.
 * - A resumed 206 must prove the file has not changed since the bytes on disk came: every
 *   validator known from the first answer (ETag, Last-Modified, full length) is compared with the
 *   answer's and any mismatch restarts from byte 0; and at least one strong validator (a strong
 *   ETag, or Last-Modified when there is no strong ETag or the answer names none) must be present
 *   and equal. A weak ETag
 *   alone proves nothing. But a part whose first answer, in this run, stated the file's length and
 *   no strong validator is resumed in this run on what the answer proves itself: the very byte
 *   asked for, the same total, the overlap compared (`unprovenSplice`). A later run starts it over.
 *   So too a part whose strong ETag changed alone between two answers of this run (`etagShifted`),
 *   one whose validators went back to those of the answer before the last (`validatorsFlap`: two
 *   servers behind one URL), and one of this run whose 206 repeats no strong validator, naming none other (RFC 9110
 *   §15.3.7 leaves Last-Modified out of a 206 to If-Range). A server that answered a resume with
 *   the whole file, naming the very validator its If-Range offered, is sent none for the rest of
 *   the run (`ifRangeMisread`): its 206's validators are compared instead.
 * - A 416 to a resume means the bytes on disk may already be the whole file: only when the total
 *   it states equals them and no validator contradicts.
 * - A 204 or 205 carries no body (RFC 9110 §15.3.5-6), a 202 an image not made yet (§15.3.3): a
 *   failure of its status, like a 4xx (a 202's passing: a later attempt may find the image).
 * - A body with a `Content-Encoding` (RFC 9110 §8.4) is decoded, whole, from byte 0: its length
 *   and any range count its encoded bytes, which cannot be spliced onto decoded ones. A range of
 *   an encoded body is used only when it is all of it, or, to a resume, when it decodes to the
 *   bytes on disk and on (a compression layer that codes the range a handler cut). Under a
 *   transfer coding (RFC 9112 §7: `Transfer-Encoding: gzip`), the range counts the bytes before
 *   it was applied: what is sent is not counted against it, and a resume's 206 under one goes on
 *   from the bytes on disk once decoded.
 */
export interface Asked {
  /** Where the bytes on disk end, the file's next byte: a resume; 0 for a plain GET. */
  from: number
  /**
   * Bytes before `from` asked for again, to be compared with those on disk (`Range: bytes=F-`, F
   * = `from - overlap`). 0 or absent: none (a continuation within one attempt).
   */
  overlap?: number
  /** What was known of the file when asking: validators and full length from an earlier answer. */
  known: Validators
  /** The URL that answered, after redirects (compared with `known.from`). */
  at?: string
  /**
   * `overlap` is half the part before, which ended at its length in this attempt: the server caps
   * its answers below the bytes a resume without a validator asks again (see `unprovenSplice`).
   */
  capped?: boolean
}

export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
}

export type Decision =
  /** Take this body: its first byte is byte `at` of the file; `total` is the file's full size if known. */
  | {
      do: 'receive'
      at: number
      /**
       * The body begins this many bytes before `at` (a resume's `overlap`, and any more a server
       * sent from before it): those of the overlap must equal the bytes on disk there, and none
       * is the file's again.
       */
      overlap?: number
      total?: number
      /** Bytes this body must carry, if known (encoded bytes, for an encoded body). */
      length?: number
      /**
       * The body's codings, in the order applied: it must be decoded. Under a content coding its
       * decoded size is not known (`total` undefined), and it starts at byte 0 of the file; only
       * the answer to a resume under a transfer coding alone goes on from `at` (its overlap, then,
       * decoded bytes).
       */
      decode?: string[]
      /**
       * Where the decoded bytes must end, counted from the file's byte 0: a 206 of all of a
       * content-coded file, to a plain GET, whose `Content-Length` (`length`, the encoded bytes
       * sent) is not its range's, the range counting the decoded bytes; or the end of the range
       * of a resume's 206 under a transfer coding (see `judge`).
       */
      decodedTotal?: number
      /** A part of a file of unknown size (`bytes A-B/*`): the rest is asked for after it. */
      more?: true
      /**
       * A 206 whose `Content-Length` is over its range's (`length`): its `Content-Range` frames
       * it, and the body is taken to the range's end, what follows left unread (as is a 206
       * without a Content-Length once a byte past its range comes: see receive.ts `inRange`).
       */
      rangeEnds?: true
      /**
       * A resume's 206 that no validator proved, joined on its own proofs (see `unprovenSplice`):
       * the file is resumed so from then on in this run (`Validators.unproven`).
       */
      unproven?: true
    }
  /** The bytes on disk are useless (another version, or an answer that cannot be appended): start over. */
  | { do: 'restart'; why: string }
  /** The bytes on disk are already the whole file (a 416 said so). */
  | { do: 'complete'; total: number }
  /** An HTTP error status. */
  | { do: 'fail'; status: number }
  /** A range answer that can never be used for this request, even after a restart. */
  | { do: 'refuse'; why: string }

function header(headers: Answer['headers'], name: string): string | undefined {
  const v = headers[name]
  return Array.isArray(v) ? v[0] : v
}

/**
 * `bytes A-B/T` → `{ start: A, end: B, total: T }`; a 416's form, with a star for the range, gives
 * `{ total: T }`; `T` may be a star too (unknown). `undefined` when unreadable or inconsistent.
 * `bytes=A-B/T` (the request's `Range` syntax, which some servers echo), `bytes: A-B/T` (Sun's
 * JavaWebServer) and `A-B/T` without its unit (old Netscape proxies) are read as the same, as curl
 * and wget read them: their numbers are checked against what was asked like any others. An open
 * end (`bytes 0-/7416`, Resin's answer to `Range: bytes=0-`, httpie#515) runs to the last byte
 * of the size it gives, as curl, wget2 and aria2c take it; without a size it is unreadable. Another
 * unit (`items 0-1/2`) is not bytes. A last byte one past the range, at the size itself
 * (`bytes 445-1000/1000`: a range handler that writes its first byte plus its count, pydio-core#400,
 * yiisoft/yii#2479), is read as the size's last byte where the answer's Content-Length (`length`)
 * counts the range so (555 bytes), as curl, which reads only the first byte, takes it; each
 * resume so answered started over, and behind a link that cuts every whole answer the file never
 * finished.
 */
export function parseContentRange(
  value: string | undefined,
  length?: string,
): { start?: number; end?: number; total?: number } | undefined {
  const m = value && /^\s*(?:bytes(?:\s+|\s*[=:]\s*))?(?:(\d+)-(\d*)|\*)\/(\d+|\*)\s*$/i.exec(value)
  if (!m) return undefined
  const total = m[3] === '*' ? undefined : Number(m[3])
  // `bytes 0-/N` (Resin, httpie#515): the range runs to the file's end, as the Range asked.
  if (m[2] === '' && total === undefined) return undefined
  const range = {
    start: m[1] === undefined ? undefined : Number(m[1]),
    end: m[2] === undefined ? undefined : m[2] === '' ? total! - 1 : Number(m[2]),
    total,
  }
  if (range.start !== undefined && range.end! < range.start) return undefined
  if (range.end !== undefined && range.end === total && length?.trim() === String(total - range.start!))
    range.end = total - 1
  if (range.total !== undefined && range.end !== undefined && range.end >= range.total) return undefined
  // A byte past 2^53 - 1 is no exact number (9007199254740993 reads as ...992): compared, a range
  // there is wrong by a byte, and said back, it names bytes the server never named. No file within
  // --max-size has one, so it is unreadable, its header quoted as it came. A total past it is
  // read (rounded): it is over any --max-size, and the error quotes its digits (see `statedSize`).
  if (!Number.isSafeInteger(range.end ?? 0)) return undefined
  return range
}

/**
 * Bytes a resume asks for again before the end of those on disk, to compare with them: 4 KiB of
 * compressed image data two versions of a file do not share by chance, and few enough that a
 * server which cuts every answer after more still moves the file on. Validators equal across a
 * change are common enough (an ETag from a record id or a deploy version; nginx's mtime and size
 * under reproducible builds) that a resume hours later trusts them no further.
 */
export const RESUME_OVERLAP = 4096

/**
 * Bytes a later resume of a part in the same run asks for again (see `DownloadContext.tailChecked`):
 * its first resume compared `RESUME_OVERLAP`, but the next answer may come from another server.
 * Two edges of a CDN, or two backends behind a load balancer, may serve two versions under one
 * ETag and Last-Modified (nginx's mtime and size, the same for every build from the Nix store,
 * NixOS/nixpkgs#25485): a resume that asked from the next byte joined one to the other. 1 KiB
 * of compressed data still tells two versions apart, and a server that cuts every answer after
 * more still moves the file on.
 */
export const LATER_OVERLAP = 1024

/**
 * Bytes the request for the rest of a file asks again after an answer that stopped short of its
 * end (see `LATER_OVERLAP`): `wanted`, but no more than half of what the answer carried
 * (`carried`, the bytes asked again included), so that an answer capped as this one was brings at
 * least as many new bytes as it repeats. A server that caps every answer at 1,000 bytes was asked
 * for the same 1,024 again and again: 116,779 requests in 40 s for one 100 KB file, until
 * `--total-timeout` (twice it, the repeated bytes taken for its pace); one that capped them at
 * 1,030 moved the file on by 6 bytes an answer: 390 requests for a 3.4 KB file. `least`: the
 * fewest a file resumed on the bytes compared alone asks again (`RESUME_OVERLAP`, see
 * `unprovenSplice`), kept while the answer carried more; fewer (an answer no longer than that) and
 * its next answer starts it over, the restarts bounded. Pure.
 */
export const nextOverlap = (wanted: number, carried: number, least = 0): number =>
  carried > wanted ? Math.max(least, Math.min(wanted, Math.floor(carried / 2))) : Math.floor(carried / 2)

/**
 * A strong ETag (not `W/"..."`): the only kind `If-Range` may carry (RFC 9110 §13.1.5). An
 * entity-tag is a quoted string (§8.8.3): a bare value (rustfs's S3 objects, rustfs/rustfs#611;
 * Azure Blob's older API versions, curl#5610; go-http-utils/etag#3; ESPAsyncWebServer) is none.
 * A server reads an `If-Range` that does not start with a quote as a date (Go's net/http, nginx,
 * Apache, Node's send), so a resume that offered the bare value got the whole file every time:
 * it is still compared with later answers' (see `mismatch`), but proves nothing, as a weak one.
 * Nor is one with a control character in it (§8.8.3's etagc has none; an embedded server's ETag of
 * raw hash bytes): no request can carry it back (see `fitsRequest`), and every resume that offered
 * it failed before it was sent, the file failing as a `network` error on every attempt and run.
 */
export const isStrong = (etag: string | undefined): etag is string =>
  !!etag && etag.length >= 2 && etag.startsWith('"') && etag.endsWith('"') && fitsRequest(etag)

/**
 * An ETag not marked weak, quoted or bare (see `isStrong`): a bare one goes in no `If-Range`, but
 * names the file as a quoted one does, where an answer is compared with one known.
 */
const named = (etag: string | undefined): etag is string => !!etag && !etag.startsWith('W/')

/** A `Last-Modified` validator not marked weak (see `lastModifiedValidator`). */
const strongDate = (lastModified: string | undefined): lastModified is string =>
  !!lastModified && !lastModified.startsWith('W/')

/**
 * How long before the answer's `Date` a `Last-Modified` must be to be strong. RFC 9110 §8.8.2.2
 * asks a client for a `Date` at least a second after it (a file changed twice within that second
 * shows one date for two versions) and a reason to believe both came from one clock, or enough
 * time between them that clocks out of step cannot matter: a client knows nothing of the clocks
 * (a file written on another host, an edge's `Date` over an origin's date), so a minute, RFC
 * 7232 §2.2.2's figure, and Chromium's for resuming downloads (`HasStrongValidators`).
 */
export const STRONG_DATE_MS = 60_000

/**
 * `Last-Modified` as a validator: as sent when it is strong (see `STRONG_DATE_MS`), else marked
 * `W/`; without a `Date`, or with either value no HTTP-date (`0`, `2026`, 31 February: see
 * `readHttpDate`), it is weak, and never sent as an `If-Range` (`If-Range: 0` went out).
 */
export function lastModifiedValidator(
  lastModified: string | undefined,
  date: string | undefined,
): string | undefined {
  return validatorAt(lastModified, answerTimes(lastModified, date))
}

/** An answer's `Last-Modified` and `Date` in ms (`NaN` where absent or no HTTP-date; asctime's form is GMT too: see `httpDate`). */
function answerTimes(lastModified: string | undefined, date: string | undefined) {
  return {
    modified: lastModified === undefined ? Number.NaN : httpDate(lastModified),
    sent: date === undefined ? Number.NaN : httpDate(date),
  }
}

type AnswerTimes = ReturnType<typeof answerTimes>

/** `lastModifiedValidator` of dates read already (`answerTimes`). */
function validatorAt(lastModified: string | undefined, { modified, sent }: AnswerTimes): string | undefined {
  if (lastModified === undefined || lastModified.startsWith('W/')) return lastModified
  return sent - modified >= STRONG_DATE_MS ? lastModified : `W/${lastModified}`
}

/**
 * How near its answer's `Date` a `Last-Modified` names the answer rather than the file: a script
 * or framework that stamps every answer `Last-Modified: now` (contao/core#8773) sends its `Date`
 * again, or a second off it (the two clocks read a moment apart).
 */
export const ANSWER_DATE_MS = 1000

/**
 * Whether an answer's `Last-Modified` is its own time (see `ANSWER_DATE_MS`): weak (see
 * `lastModifiedValidator`), and, new at each answer, no sign of another version where the answer
 * it is compared with was so stamped too (see `mismatch`). False without a `Date`.
 */
export function answerStamped(lastModified: string | undefined, date: string | undefined): boolean {
  return stampedAt(answerTimes(lastModified, date))
}

/** `answerStamped` of dates read already (`answerTimes`): `NaN`, a date absent, is never near. */
const stampedAt = ({ modified, sent }: AnswerTimes): boolean => Math.abs(sent - modified) <= ANSWER_DATE_MS

const bare = (lastModified: string) => lastModified.replace(/^W\//, '')

/** Whether two `Last-Modified` validators, weak or strong, name the same instant (see `sameHttpDate`). */
const sameDate = (a: string, b: string) => sameHttpDate(bare(a), bare(b))

/**
 * The `If-Range` value for a resume, or `undefined` when nothing known can prove the file unchanged
 * or a request cannot carry it (a control character in it: see `fitsRequest`).
 */
export function ifRangeValue(known: Validators): string | undefined {
  if (isStrong(known.etag)) return known.etag
  return strongDate(known.lastModified) && fitsRequest(known.lastModified) ? known.lastModified : undefined
}

/**
 * Whether the bytes on disk may be resumed in this run: a strong validator proves a later answer
 * the same file (`ifRangeValue`: then a later run resumes them too), or the part's first answer in
 * this run stated the file's full length without one (`Validators.unproven`): its resume is then
 * proven by the answer itself (see `unprovenSplice`).
 */
export function resumesInRun(known: Validators): boolean {
  return (
    ifRangeValue(known) !== undefined ||
    (known.unproven === true && (known.length !== undefined || known.unsized === true))
  )
}

/**
 * Whether a whole answer names another strong (or bare) ETag than an earlier answer in this run did, while
 * all else they state is the same: the length, the Last-Modified (or none, or each the time of its
 * own answer: see `Validators.stamped`), the URL. Edges of a
 * CDN, or backends behind a load balancer, that each name one file their own way (an ETag from a
 * server's inode, or made at each answer) never match an If-Range, nor their 206 the ETag
 * known: behind a link that cuts every answer the file never finished
 * (background_downloader#541). Such an ETag proves nothing either way: the file is then resumed
 * in this run as one without a validator is (`unproven`: no If-Range, the very byte asked for, the
 * same total, the bytes on disk compared, see `unprovenSplice`).
 */
export function etagShifted(
  before: Validators | undefined,
  got: Validators,
  at: string | undefined,
): boolean {
  if (!before?.thisRun || !named(before.etag) || !named(got.etag) || before.etag === got.etag) return false
  if (before.length === undefined || before.length !== got.length) return false
  // Two dates that are each their answer's own time (`stamped`) say nothing of the file either.
  const dated = before.lastModified !== undefined || got.lastModified !== undefined
  if (
    dated &&
    (!before.lastModified ||
      !got.lastModified ||
      (!(before.stamped && got.stamped) && !sameDate(before.lastModified, got.lastModified)))
  )
    return false
  return before.from === undefined || at === undefined || before.from === at
}

/**
 * Whether a whole answer to a resume that offered `offered` in If-Range shows the server misread
 * it: the answer names the very validator offered (its strong ETag, or its Last-Modified for a
 * date), and nothing else it states differs from what was known. If-Range is then to match and a
 * 206 come (RFC 9110 §13.1.5), yet the whole file came: a server or CDN that honours If-Range
 * with a date only and drops the Range for an ETag (aria2-next#43), or compares it some other
 * way. Each resume got the whole file again, and behind a link that cuts every answer a good
 * file never finished; so too where the answers state no length (sent in chunks: such an answer
 * was not taken for a misread one). The rest of the run asks its ranges without If-Range: a 206 is then joined
 * only where its validators are the ones known (or, naming none, where it proves itself, see
 * `unprovenSplice`), the bytes on disk compared; what If-Range would have caught, a changed ETag
 * or date, restarts the file there. Pure.
 */
export function ifRangeMisread(offered: string | undefined, known: Validators, got: Validators): boolean {
  // Its length, where both state one, is compared by `mismatch`: a length left out (an answer sent
  // in chunks, or read to its close) contradicts nothing, the validator offered is the proof.
  if (offered === undefined || mismatch(known, got)) return false
  return isStrong(offered)
    ? got.etag === offered
    : got.lastModified !== undefined && sameDate(offered, got.lastModified)
}

/**
 * Whether a resume's answer of `status` refuses the If-Range it sent (`sent`: the request's header
 * names, lower-case), the request asking no condition of the user's own (`-H If-None-Match`...): a
 * 304 or a 412, which RFC 9110 §13.1.5 says If-Range never yields. A server that reads it as
 * If-None-Match (a 304 to the very validator it names, as OnionShare answered a browser's
 * conditional resume, onionshare/onionshare#804) or If-Match (a 412 to a date, which no
 * ETag matches, as IIS 6 answered a conditional resume that the same Range alone had served,
 * lingochamp/FileDownloader#265). Or any 4xx but those `RANGE_NOT_BLAMED` (a 400 to an If-Range
 * the server cannot read). The same range is asked for again at once without If-Range, and so for
 * the rest of the run, by the host's other files too (see `ifRangeMisread`): its 206 is joined only
 * where its validators are those known, the bytes on disk compared. Each such resume asked for the
 * whole file instead, and behind a link that cuts every answer the file never finished. Pure.
 */
export const ifRangeRefused = (status: number, sent: readonly string[]): boolean =>
  sent.includes('if-range') &&
  (status === 304 || status === 412
    ? unaskedStatus(status, sent) !== undefined
    : status >= 400 && status < 500 && !RANGE_NOT_BLAMED.has(status))

/**
 * The 4xx statuses that a resume's `If-Range` is not blamed for: credentials asked (401, 407), a
 * request too slow or too many (408, 429: passing), the range past the file (416). Any other 4xx
 * to a request with Range and If-Range may refuse either: a server that rejects an If-Range it
 * cannot read (an ETag where it takes a date, a weak one: aria2-next#43) with a 400, a CDN that
 * refuses Range with a 403. The same range is asked for once more without If-Range (see
 * `ifRangeRefused`), which tells them apart: a 206 to it, and the host's resumes send no If-Range
 * for the rest of the run; a second refusal asks for the whole file, as before. Each such resume
 * asked for the whole file and offered If-Range again at the next, so behind a link that cuts every
 * answer the file never finished.
 */
const RANGE_NOT_BLAMED: ReadonlySet<number> = new Set([401, 407, 408, 416, 429])

/** The validators that name a version of a file: its ETag and its Last-Modified (see `validatorsFlap`). */
export type Naming = Pick<Validators, 'etag' | 'lastModified'>

/** `v`'s naming, or `undefined` when it names none. */
const namingOf = (v: Validators): Naming | undefined =>
  v.etag === undefined && v.lastModified === undefined
    ? undefined
    : { etag: v.etag, lastModified: v.lastModified }

/** Whether two namings are the same: the same ETag (or none) and the same instant (or none). */
const sameNaming = (a: Naming, b: Naming) =>
  a.etag === b.etag &&
  (a.lastModified === undefined
    ? b.lastModified === undefined
    : b.lastModified !== undefined && sameDate(a.lastModified, b.lastModified))

/**
 * What an answer of this run tells of the file, as later answers are to be compared with it: its
 * validators, and in `other` the naming of the answer before it (`before`, of this run), where
 * that named the file otherwise at the same full length from the same URL (see `validatorsFlap`).
 * Run-only (`thisRun`), like every field `other` is compared by.
 */
export function seenAfter(
  before: Validators | undefined,
  got: Validators,
  at: string | undefined,
): Validators {
  const earlier = before?.thisRun ? namingOf(before) : undefined
  const other =
    earlier &&
    got.length !== undefined &&
    before!.length === got.length &&
    (before!.from === undefined || at === undefined || before!.from === at) &&
    !sameNaming(earlier, namingOf(got) ?? {})
      ? earlier
      : undefined
  // Not `{ ...got, from, ... }`: Node 20's V8 gives each key added after a leading spread a new hidden class of its own (about 0.7 µs a key, and garbage).
  return Object.assign({}, got, { from: at, thisRun: true }, other ? { other } : undefined)
}

/**
 * Whether an answer names the file as the answer before the last one did (`before.other`), after
 * the last one (`before`) named it otherwise, at the same full length from the same URL: its
 * validators go back and forth between two namings. A new version comes once and stays; two
 * namings that come and go are the servers behind one URL (backends behind a load balancer, or
 * a CDN's edges, whose copies of one file differ in mtime or inode, so in Last-Modified and ETag),
 * one of which may ignore If-Range. Taken as versions, every resume met the other server's
 * naming and started over: behind a link that cuts every answer the file never finished (11
 * requests and a failure, one server in two ignoring If-Range). Such validators prove nothing
 * either way: the file is then resumed in this run as one without validators is (`unproven`:
 * no If-Range, the very byte asked for, the same total, the bytes on disk compared, see
 * `unprovenSplice`); two versions served in turn fail there.
 */
export function validatorsFlap(
  before: Validators | undefined,
  got: Validators,
  at: string | undefined,
): boolean {
  const now = namingOf(got)
  if (!before?.thisRun || !before.other || !now || got.length === undefined || before.length !== got.length)
    return false
  if (before.from !== undefined && at !== undefined && before.from !== at) return false
  return sameNaming(before.other, now) && !sameNaming(namingOf(before) ?? {}, now)
}

/**
 * Why `answer` shows a different file than `known` describes, or `undefined` when nothing
 * disagrees. Two dates that each name their answer's own time (`stamped`: a script that sends
 * `Last-Modified: now`, contao/core#8773) are not compared: new at every answer, they made every
 * resume "another version", however strong the ETag that proved the bytes, and behind a link that
 * cuts every answer the file never finished. A stamped date against a date of the file is.
 */
export function mismatch(known: Validators, answer: Validators): string | undefined {
  if (known.etag && answer.etag && known.etag !== answer.etag)
    return `ETag ${known.etag} became ${answer.etag}`
  if (
    known.lastModified &&
    answer.lastModified &&
    !(known.stamped && answer.stamped) &&
    !sameDate(known.lastModified, answer.lastModified)
  ) {
    return `Last-Modified ${bare(known.lastModified)} became ${bare(answer.lastModified)}`
  }
  if (known.length !== undefined && answer.length !== undefined && known.length !== answer.length) {
    return `the file's size ${known.length} became ${answer.length}`
  }
  return undefined
}

/**
 * Whether `answer` carries a strong validator equal to one known: proof the file is the same. A
 * known strong ETag is the proof, but for an answer that names no ETag at all (a 206 that leaves
 * out the one its 200 carried, though RFC 9110 §15.3.7 says it must repeat it): its strong
 * Last-Modified then, as for a file known by its date alone. Another ETag never passes (see `mismatch`).
 */
function proven(known: Validators, answer: Validators): boolean {
  if (isStrong(known.etag) && answer.etag !== undefined) return known.etag === answer.etag
  return (
    strongDate(known.lastModified) &&
    !!answer.lastModified &&
    sameDate(known.lastModified, answer.lastModified)
  )
}

/** True for a redirect this client follows (a 3xx with a `Location`: see `REDIRECT_STATUS`). */
export function isRedirect(answer: Answer): boolean {
  return REDIRECT_STATUS.has(answer.status) && header(answer.headers, 'location') !== undefined
}

/**
 * Whether an HTTP/1.1 answer's last transfer coding is exactly `chunked`: its body then ends with
 * its last chunk (RFC 9112 §6.3); any other list is read to the close. Several field lines are one
 * list (RFC 9110 §5.3), as llhttp reads them: `gzip` on one and `chunked` on the next was taken for
 * `gzip` alone, and a whole GIF without its trailer, its last chunk sent, failed as `truncated`
 * ('the connection gave no length') on every attempt and rerun.
 */
export function chunkedLast(headers: Answer['headers']): boolean {
  const codings = [headers['transfer-encoding'] ?? ''].flat().join(',').split(',')
  return codings[codings.length - 1].trim().toLowerCase() === 'chunked'
}

/**
 * A 206 that names no range at all (some caches and cameras): taken as the file from byte 0 when
 * no range was asked for, its `Content-Length` its length, but still a partial answer by its word.
 * So is one whose `Content-Range` has no number in it (empty, `none`, a star for both its range
 * and its size): curl, wget2 and aria2c, which read no Content-Range of an answer to a request
 * without Range, keep it; it was `bad-range` at every attempt. One with numbers that cannot be
 * read (`bytes 0-?/10`) or that are wrong (`bytes 9-0/5`) names something else, and is not.
 */
export function namesNoRange(answer: Answer): boolean {
  if (answer.status !== 206) return false
  const value = header(answer.headers, 'content-range')
  return value === undefined || !/\d/.test(value)
}

/**
 * A 206's `Content-Range` when it names a part of a file of unknown size (`bytes 0-399/*`): the
 * server says there may be more, and only the image's structure can show it whole.
 */
export function partOfUnknown(answer: Answer): string | undefined {
  if (answer.status !== 206) return undefined
  const value = header(answer.headers, 'content-range')?.trim()
  return value !== undefined && /^bytes \d+-\d+\/\*$/i.test(value) ? value : undefined
}

/** The validators an answer carries (`length`: the full size of the file, when it says). */
export function validatorsOf(answer: Answer): Validators {
  const declared = header(answer.headers, 'content-length')
  const range = parseContentRange(header(answer.headers, 'content-range'), declared)
  // A 200 of `bytes 0-B/*` is taken as that 206 (see `judge`): its length is the part's, not the file's.
  const ranged =
    answer.status === 416 ||
    (answer.status === 206 && !namesNoRange(answer)) ||
    (answer.status === 200 && partOfUnknown({ status: 206, headers: answer.headers }) !== undefined)
  const length = ranged
    ? range?.total
    : declared !== undefined && /^\d+$/.test(declared.trim())
      ? Number(declared)
      : undefined
  const lastModified = header(answer.headers, 'last-modified')
  const date = header(answer.headers, 'date')
  // Both dates read once, for the validator and the stamp alike.
  const times = answerTimes(lastModified, date)
  const got: Validators = {
    etag: header(answer.headers, 'etag'),
    lastModified: validatorAt(lastModified, times),
    length,
  }
  if (stampedAt(times)) got.stamped = true
  return got
}

/**
 * Whether the protocol marked where the file ends, so that a body which stopped there was not cut
 * (RFC 9112 §6.3; RFC 9113 §8.1): `fileTotal` is the file's size when known otherwise (an earlier
 * answer's length). Marked: a 416 (its total is compared with the bytes held); a 206 whose file
 * size is known (its range, then the rest, is checked against it), or one of no bytes that stands
 * for a 416 (see `emptyRangeTotal`); a valid `Content-Length`; an
 * HTTP/1.1 body whose last transfer coding is exactly `chunked` (its last chunk). Not marked: a
 * body that ran until the connection closed, also when its `Transfer-Encoding` names `chunked`
 * only among other codings or parameters (read to the close, as llhttp does), or a 200 carries a
 * `Content-Range` (nothing checks it); a 206 of a file of unknown size (`bytes A-B/*`: it marks
 * where the part ends, not the file) or that names no range at all; and an HTTP/2 body without a length, since undici reports a
 * stream reset with NO_ERROR or CANCEL in the middle of the body as its end.
 */
export function endMarked(answer: Answer, http2: boolean, fileTotal?: number): boolean {
  const { status, headers } = answer
  if (status === 416 || emptyRange(answer) !== undefined) return true
  if (status === 206) {
    if (namesNoRange(answer)) return false
    return (
      parseContentRange(header(headers, 'content-range'), header(headers, 'content-length'))?.total !==
        undefined || fileTotal !== undefined
    )
  }
  const declared = header(headers, 'content-length')
  if (declared !== undefined && /^\s*\d+\s*$/.test(declared)) return true
  return !http2 && chunkedLast(headers)
}

/**
 * Content codings with a meaning: the IANA registry's (compressions, their `x-` aliases, RFC 8188's
 * encryption `aes128gcm`, EXI, pack200, and the dictionary compressions `dcb` and `dcz` of RFC
 * 9842). A body under one imgpull does not decode fails as `unsupported-encoding`, naming it,
 * unless its bytes show it was never applied (see content-encoding.ts).
 */
const CODINGS = new Set([
  'gzip',
  'x-gzip',
  'deflate',
  'br',
  'zstd',
  'compress',
  'x-compress',
  'aes128gcm',
  'exi',
  'pack200-gzip',
  'dcb',
  'dcz',
])

/**
 * The codings a `Content-Encoding` header lists, in the order they were applied, lower-cased (an
 * empty list: nothing to decode). `identity`, and tokens that name no coding (`none`, `binary`,
 * `UTF-8`, as misconfigured servers send), are left out: the body is taken as it came, as
 * browsers and urllib3 take it, and its bytes are checked like any other.
 */
export function codingsOf(value: string | string[] | undefined): string[] {
  if (value === undefined) return []
  return (typeof value === 'string' ? [value] : value)
    .flatMap((v) => v.split(','))
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => CODINGS.has(coding))
}

/**
 * Tokens that name no coding but misconfigured servers send for none (`none`, `binary`, a
 * charset such as `UTF-8`), `chunked`, and what is no token at all (`text/html`): none is a
 * coding imgpull does not know (see `unknownCodings`).
 */
const NO_CODING =
  /^(?:identity|chunked|none|binary|[78]bit|utf-?(?:8|16|32)(?:le|be)?|(?:us-)?ascii|iso-?8859-\d+|latin-?1|windows-\d+|.*[^-!#$%&'*+.^_`|~0-9a-z].*)?$/

/**
 * The tokens an answer's `Content-Encoding` and `Transfer-Encoding` list that name no coding
 * imgpull knows (`xz`, `x-bzip2`; see `NO_CODING`): left out of the codings decoded, as browsers
 * leave them (`codingsOf`), and named when the body then is no image, as its likely cause.
 */
export function unknownCodings(headers: Answer['headers']): string[] {
  return [headers['content-encoding'], headers['transfer-encoding']]
    .flatMap((v) => (v === undefined ? [] : typeof v === 'string' ? [v] : v))
    .flatMap((v) => v.split(','))
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => !CODINGS.has(coding) && !NO_CODING.test(coding))
}

/**
 * The codings to undo to get the representation, in the order they were applied: its content
 * codings, then its transfer codings other than `chunked` (RFC 9112 §7: `gzip`, `deflate` and
 * `compress` are transfer codings too; the message is the transfer-coded representation). A
 * server is to apply those only when the request's `TE` asks (§7.4), and imgpull's never does,
 * but some send them anyway (a hop-by-hop compressing proxy); curl decodes them, as imgpull does.
 */
export function appliedCodings(headers: Answer['headers']): string[] {
  return [...codingsOf(headers['content-encoding']), ...codingsOf(headers['transfer-encoding'])]
}

/** Whether an answer carries a transfer coding other than `chunked` (see `appliedCodings`). */
export const transferCoded = (headers: Answer['headers']): boolean =>
  codingsOf(headers['transfer-encoding']).length > 0

/**
 * The total of an empty 206 from the byte asked for (`bytes N-(N-1)/N`, no body), a range that
 * ends before it starts, or `undefined`. Fastly's answer to a `Range` from a file's end
 * (rust-lang/crates.io#13159) where RFC 9110 §15.5.17 has a 416 that names the size: read as
 * that 416, where, read as no Content-Range at all, it was refused at every attempt ('a 206 without a usable
 * Content-Range (bytes 20000-19999/20000)') and the whole file taken anew, its capped parts never
 * finishing. Only to a resume that asked no bytes again (`asked.overlap`), from its stated first
 * byte, a body of none (see `emptyRange`); the end it marks is the file's (see `endMarked`).
 */
function emptyRangeTotal(asked: Asked, answer: Answer): number | undefined {
  const empty = emptyRange(answer)
  return empty?.start === asked.from && !asked.overlap ? empty.total : undefined
}

/**
 * A 206 of no bytes whose `Content-Range` ends a byte before it starts and states the size
 * (`bytes N-(N-1)/N`, `Content-Length: 0`): its first byte and that size, or `undefined`.
 */
function emptyRange(answer: Answer): { start: number; total: number } | undefined {
  if (answer.status !== 206 || header(answer.headers, 'content-length')?.trim() !== '0') return undefined
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+)\s*$/i.exec(header(answer.headers, 'content-range') ?? '')
  if (!m || Number(m[2]) !== Number(m[1]) - 1) return undefined
  return { start: Number(m[1]), total: Number(m[3]) }
}

export function judge(asked: Asked, given: Answer): Decision {
  // An empty 206 from the end of the bytes on disk is the 416 it stands for (see `emptyRangeTotal`).
  const emptyTotal = emptyRangeTotal(asked, given)
  const answer: Answer =
    emptyTotal === undefined
      ? given
      : { status: 416, headers: { ...given.headers, 'content-range': `bytes */${emptyTotal}` } }
  const { status } = answer
  const resuming = asked.from > 0
  const range = parseContentRange(
    header(answer.headers, 'content-range'),
    header(answer.headers, 'content-length'),
  )
  const got = validatorsOf(answer)
  const codings = appliedCodings(answer.headers)

  // The redirects now end at another URL than the one the bytes on disk came from: another
  // resource (RFC 9110 §13.1.5), unless it shows the very same representation (see `sameFile`).
  const moved = asked.known.from !== undefined && asked.at !== undefined && asked.known.from !== asked.at
  if (resuming && moved && (status === 206 || status === 416) && !sameFile(asked.known, got)) {
    return {
      do: 'restart',
      why: `the bytes on disk came from ${asked.known.from}, this answer from ${asked.at}`,
    }
  }
  if (status === 416 && resuming) {
    const differs = mismatch(asked.known, got)
    if (differs) return { do: 'restart', why: differs }
    // With an overlap asked for, a 416 says the file is now shorter than the bytes on disk.
    if (range?.total === asked.from && !asked.overlap) return { do: 'complete', total: asked.from }
    const first = asked.from - (asked.overlap ?? 0)
    return {
      do: 'restart',
      why: asked.overlap
        ? `a 416 (${range?.total ?? 'an unknown number of'} bytes) to a range from byte ${first}, within the ${asked.from} on disk`
        : `the server has ${range?.total ?? 'an unknown number of'} bytes, not ${asked.from}`,
    }
  }
  // Any other answer to a resume that is neither the file nor a part of it says nothing about the
  // file, which a plain GET gave a moment before: If-Range never yields 304 or 412 (RFC 9110
  // §13.1.5: a server that misreads it), and servers and CDNs that refuse Range answer 400, 403,
  // 404, 405 or 501. The same request without Range settles what the file is. A 5xx, a 408 or a
  // 429 may be passing: the next attempt asks with its Range again (and, after a second 5xx to a
  // resume, without it: see `HTTPError.resumed`).
  if (resuming && !mayBeFile(status) && !COME_BACK_LATER(status)) {
    return { do: 'restart', why: `a ${status} to a request with Range and If-Range` }
  }
  // A 204 or 205 has no body whatever its Content-Length says (RFC 9110 §15.3.5, §15.3.6; RFC 9112
  // §6.3): there is no image in it, and no cut to resume. A 202 says the image is not made yet
  // (§15.3.3: a thumbnail queued, say): its body is not the image either, nor a 207's, 208's or
  // 226's (see `successBody`).
  if (!mayBeFile(status)) return { do: 'fail', status }
  if (status !== 206 && resuming) {
    // A 200 to a range request is the whole file, unless it shows itself a mislabelled part
    // (buggy range handlers in PHP and CGI scripts): a Content-Range past byte 0, or the very
    // version on disk (a strong validator equal) at another size. Ask again for the whole file,
    // but for a part that says exactly what it is (see `partUnder200`): judged as its 206.
    if (range?.start !== undefined && range.start > 0) {
      const part = partUnder200(asked, answer, range)
      if (part) return part
      return { do: 'restart', why: `a ${status} carrying Content-Range bytes ${range.start}-${range.end}` }
    }
    const sizeDiffers =
      asked.known.length !== undefined && got.length !== undefined && asked.known.length !== got.length
    if (codings.length === 0 && sizeDiffers && proven(asked.known, got)) {
      return {
        do: 'restart',
        why: `a ${status} of ${got.length} bytes for the same version of a ${asked.known.length}-byte file`,
      }
    }
  }
  if (status !== 206) {
    // To a plain GET, a 200 of `bytes 0-B/*` whose Content-Length is its B+1 bytes: the part of a
    // file of unknown size it says it is, as that 206 is (below).
    if (!resuming && status === 200 && partOfUnknown({ status: 206, headers: answer.headers })) {
      const part = judge(asked, { status: 206, headers: answer.headers })
      if (part.do === 'receive') return part
    }
    const part = partLabelledWhole(answer, range)
    if (part) return resuming ? { do: 'restart', why: part } : { do: 'refuse', why: part }
    return whole(answer, codings)
  }

  // 206 Partial Content.
  if (isMultipart(answer)) {
    // Its range is inside the body, in each part's headers: never taken as the file's bytes.
    const why = MULTIPART
    return resuming ? { do: 'restart', why } : { do: 'refuse', why }
  }
  // No range asked for and none named: it can only start at byte 0.
  if (!resuming && namesNoRange(answer)) return whole(answer, codings)
  // No range asked for, and a 416's `bytes */N` named (a range handler that writes the header it
  // writes for a 416): the file, when its Content-Length is all N bytes, as curl and wget2 keep it.
  if (
    !resuming &&
    range?.start === undefined &&
    range?.total !== undefined &&
    codings.length === 0 &&
    header(answer.headers, 'content-length')?.trim() === String(range.total)
  )
    return whole(answer, codings)
  if (!range || range.start === undefined) {
    const why = `a 206 without a usable Content-Range (${header(answer.headers, 'content-range') ?? 'none'})`
    return resuming ? { do: 'restart', why } : { do: 'refuse', why }
  }
  const first = asked.from - (asked.overlap ?? 0)
  // The next part of a file of unknown size that starts before the bytes asked for and ends where
  // the bytes on disk end, as the part before did (a server that ignores Range and sends the same
  // `bytes 0-B/*` again): nothing is past them, the file ends there. Refused as starting elsewhere,
  // it was asked for again until the attempts ran out.
  if (
    resuming &&
    range?.total === undefined &&
    range?.start !== undefined &&
    range.start < first &&
    range.end === asked.from - 1 &&
    asked.known.length === undefined
  )
    return { do: 'complete', total: asked.from }
  // A resume's 206 may start before the byte asked for (RFC 9110 §14.2 lets a server send more
  // than asked: a cache that serves whole blocks): the bytes before the overlap are passed over.
  // One that starts after it never is, nor one that ends before a byte past those on disk (but
  // for a file all on disk): it brings nothing new, and its next resume would ask the same again
  // (a server that ignores Range and caps every answer, 206 `bytes 0-3043/10630`: 39,080 requests
  // in 10 s for one file, no attempt counted).
  const earlier =
    resuming &&
    range.start < first &&
    range.end !== undefined &&
    (range.end >= asked.from || (range.end === asked.from - 1 && range.total === asked.from))
  if (range.start !== first && !earlier) {
    const why = `asked for bytes from ${first}, got ${range.start}-${range.end}`
    return resuming ? { do: 'restart', why } : { do: 'refuse', why }
  }
  if (resuming && range.total !== undefined && range.total < asked.from) {
    return { do: 'restart', why: `the file has ${range.total} bytes, fewer than the ${asked.from} on disk` }
  }
  const length = range.end! - range.start + 1
  const declared = header(answer.headers, 'content-length')
  // All of a content-coded file, to a plain GET: its range may count the decoded bytes, its
  // Content-Length the encoded ones sent (see below).
  const allCoded =
    codings.length > 0 &&
    !transferCoded(answer.headers) &&
    !resuming &&
    range.start === 0 &&
    range.end! + 1 === range.total
  // A resume's coded 206: its Content-Length counts the coded bytes sent (see below).
  // A 206 without a coding whose Content-Length is over its range's: a range handler that states
  // the whole file's size (DaveRandom/Resume#3) or counts bytes it appends after the range. Its
  // range, checked as any other, frames it; to a resume, the bytes compared and the image's
  // structure prove the join. It restarted at every resume, and behind a link that cuts every
  // whole answer the file never finished, where aria2c joins the range; to a plain GET, it was
  // refused. One under (its bytes fewer than the range says) still restarts or is refused.
  const overstated = codings.length === 0 && Number(declared) > length
  if (
    declared !== undefined &&
    Number(declared) !== length &&
    !allCoded &&
    !(resuming && codings.length > 0) &&
    !overstated
  ) {
    const why = `Content-Length ${declared} disagrees with Content-Range ${range.start}-${range.end}`
    return resuming ? { do: 'restart', why } : { do: 'refuse', why }
  }
  if (resuming || asked.known.length !== undefined) {
    const differs = mismatch(asked.known, got)
    // A coded 206's: its size and ETag may be those of the coded bytes (nginx's gzip_static,
    // Apache's mod_deflate's ETag with `-gzip`), said so.
    const coded = codingsOf(answer.headers['content-encoding'])
    const under = resuming && coded.length > 0 ? `, under Content-Encoding: ${coded.join(', ')}` : ''
    if (differs) return { do: 'restart', why: differs + under }
  }
  // A resume's 206 that repeats no strong validator known (and contradicts none: see `mismatch`)
  // is joined only on what it proves itself; the first such of a part with a strong validator
  // says so (`unproven`).
  const selfProven = resuming && !proven(asked.known, got)
  if (selfProven) {
    const why = unprovenSplice(asked, range)
    if (why) return { do: 'restart', why }
  }
  const newlyUnproven = selfProven && !asked.known.unproven
  if (codings.length > 0) {
    // The range counts the bytes of the representation, content codings applied: only a range
    // that is all of them can be used. A transfer coding is applied over the range, for the hop
    // (RFC 9112 §7): the bytes sent are then not those the range counts, and their number is not
    // known (a Content-Length beside a Transfer-Encoding is dropped, see undici-h1-parser.ts).
    if (allCoded) {
      // A compression layer that codes a 206 a handler cut from the file (expressjs/compression#185,
      // honojs/hono#5010, bandit#677, fastify-compress#402, go.httpgzip#2) leaves its range
      // counting the decoded bytes: the body, framed by its Content-Length or its chunks, must
      // then decode to them. It was refused (`Content-Length 29927 disagrees with Content-Range
      // 0-29999`) or, without a length, cut (`got 29927 of 30000 bytes`) at every attempt, where
      // curl --compressed and wget2 keep it.
      // Without a Content-Length, the range's is the length, which such a body ends short of, its
      // coding at its end: it is whole when it decoded to that length (see `lengthOfDecoded`).
      if (declared === undefined || Number(declared) === length)
        return { do: 'receive', at: 0, length, decode: codings }
      return { do: 'receive', at: 0, length: Number(declared), decode: codings, decodedTotal: length }
    }
    if (!resuming && range.start === 0 && range.end! + 1 === range.total) {
      // Under a transfer coding, its range counts the bytes before it was applied.
      return { do: 'receive', at: 0, decode: codings }
    }
    if (resuming) {
      // A resume's 206 under a transfer coding (a hop-by-hop compressing proxy): its range counts
      // the file's own bytes, those the coding was applied over for the hop (RFC 9112 §6.1, §7).
      // Under a content coding, RFC 9110 §14.1.2 has it count the coded bytes (nginx's
      // gzip_static: a range of the stored .gz), but a compression layer that codes a 206 a range
      // handler cut from the file (expressjs/compression#185) leaves it counting the file's. Only
      // the file's bytes decode and go on from the bytes on disk, the overlap compared with them
      // once decoded: a range of coded bytes fails there (its size, its coding, its overlap) and
      // the file starts over, as it did at every such resume; curl --compressed appends whatever
      // it decodes to.
      return continued(asked, range, { decode: codings, decodedTotal: range.end! + 1 }, newlyUnproven)
    }
    const why = `bytes ${range.start}-${range.end} of a ${codings.join(', ')}-encoded body cannot be joined to decoded bytes`
    return resuming ? { do: 'restart', why } : { do: 'refuse', why }
  }
  if (!resuming && range.total === undefined) {
    // To a plain GET, bytes from 0 whose Content-Length says how many: a part all the same, as
    // its status says, of a file whose size the server does not say (a CDN or S3-compatible
    // store that caps every answer; ansible/ansible#68843: a 206 with only part of the file to a
    // request that asked no range). Taken as the file, as
    // curl and wget2 take it, a capped image failed `truncated` at every attempt and the rest
    // was never asked for: it is asked for with Range, until a 416 says the size or an answer
    // brings nothing past these bytes (see below: the file ends there).
    if (range.start === 0 && declared !== undefined)
      return {
        do: 'receive',
        at: 0,
        length,
        more: true,
        ...(overstated ? { rangeEnds: true as const } : {}),
      }
    return { do: 'refuse', why: `bytes ${range.start}-${range.end} of a file of unknown size` }
  }
  const part = continued(asked, range, { length }, newlyUnproven)
  return overstated && part.do === 'receive' ? { ...part, rangeEnds: true } : part
}

/**
 * A 206 that goes on from the bytes on disk: `range` starts at or before them (see `judge`).
 * `unproven`: no validator proved it where one was known, the answer did (see `unprovenSplice`).
 */
function continued(
  asked: Asked,
  range: { start?: number; total?: number },
  body: { length: number } | { decode: string[]; decodedTotal: number },
  unproven: boolean,
): Decision {
  const total = range.total ?? asked.known.length
  const overlap = asked.from - range.start!
  return {
    do: 'receive',
    at: asked.from,
    total,
    ...body,
    ...(overlap > 0 ? { overlap } : {}),
    ...(total === undefined ? { more: true as const } : {}),
    ...(unproven ? { unproven: true as const } : {}),
  }
}

/**
 * A resume's 200 that carries the range asked for, under the wrong status: its `Content-Range`
 * names a range of a file of known size and its `Content-Length` is that range's (nginx in front
 * of ModelScope's file endpoint, modelscope_hub#50). Judged as the 206 it is, with every proof a
 * 206 gives (validators, the bytes on disk asked for again and compared), as curl, wget2 and
 * aria2 resume it; else `undefined`. Restarting instead never finished a file over a link that
 * cuts every answer.
 */
function partUnder200(
  asked: Asked,
  answer: Answer,
  range: { start?: number; end?: number; total?: number },
): Decision | undefined {
  if (answer.status !== 200 || range.end === undefined || range.total === undefined) return undefined
  const declared = header(answer.headers, 'content-length')
  if (declared === undefined || declared.trim() !== String(range.end - range.start! + 1)) return undefined
  const part = judge(asked, { status: 206, headers: answer.headers })
  return part.do === 'receive' ? part : undefined
}

/**
 * A 206 whose body is `multipart/byteranges` (RFC 9110 §14.6): its ranges are inside the body,
 * each part with its own headers. A server must not send one to a request for one range, but some
 * do; imgpull asks for one range at most, and judges such a body by its head only where it was not
 * taken apart first (a resume's one part: see byteranges.ts).
 */
export const isMultipart = (answer: Answer): boolean =>
  answer.status === 206 && /multipart\/byteranges/i.test(header(answer.headers, 'content-type') ?? '')

/**
 * Why no range continues a file whose server wrapped a range in multipart/byteranges, in words
 * (see `DownloadContext.onBody`): its later attempts, and its host's other files, ask no range.
 */
export const WRAPS_RANGES =
  'the server answers a range with multipart/byteranges (the range inside the body) in a form imgpull does not take apart (one part, exactly the range asked for, under If-Range)'

const MULTIPART =
  'a 206 in multipart/byteranges (the range inside the body) to a request for one range or none'

/**
 * Why a resume's 206 that proves nothing by its validators cannot be joined to the bytes on disk,
 * or `undefined` when the answer proves the splice itself. Only for a part whose first answer was
 * in this run and stated the file's length: one without a strong validator (`Validators.unproven`:
 * a server without validators behind a proxy or link that cuts long transfers, where aria2c -c
 * resumes with no check at all), or one with a strong validator that the 206 does not repeat,
 * naming none other (`Validators.thisRun`). RFC 9110 §15.3.7 has a 206 to a request with
 * If-Range leave out Last-Modified (only its ETag must be repeated), and range handlers that send
 * validators on their 200 alone leave out the ETag too: each such resume started over, and behind
 * a link that cuts every answer the file never finished. Such a 206 is taken as the server's
 * answer to the If-Range sent, but on the proofs a part without validators gets, since a server
 * that ignores If-Range sends the same. A later run starts such a part over on a 206 that says
 * nothing (time has passed). The 206 starts at the very byte asked for (not before it: the bytes compared
 * are then exactly those asked for again), states the total the first answer did, and asked again
 * for at least `RESUME_OVERLAP` of the bytes on disk (all of them, when fewer), which receive.ts
 * compares; the image's structure is checked at the end. Validators only the 206 names prove
 * nothing of the bytes before it, and are not taken (see `accept` in decide.ts).
 */
function unprovenSplice(asked: Asked, range: { start?: number; total?: number }): string | undefined {
  const { known } = asked
  const first = asked.from - (asked.overlap ?? 0)
  if (!(known.unproven || known.thisRun) || (known.length === undefined && !known.unsized))
    return 'the answer carries no validator that proves the file unchanged'
  if (range.start !== first) return `asked for bytes from ${first}, got a range from ${range.start}`
  // A part of a file of unknown size may state the size once the server knows it (`bytes X-Y/N`).
  if (range.total !== known.length && !(known.unsized && known.length === undefined))
    return `the file's size ${known.length} became ${range.total ?? 'unknown'}, and no validator proves it the same`
  // A part of a file of unknown size, or a later part of one of known size (`asked.capped`), from a
  // server that caps its answers below that: as many as its answers leave room for (half the part
  // before, see `nextOverlap`), one at least. A front that caps every answer at 3,000 bytes of a
  // file whose size it states (`bytes 0-2999/20000`) was refused at its second part ('only 1500
  // bytes on disk asked for again'), where one stating no size (`bytes 0-2999/*`) was joined.
  if ((asked.overlap ?? 0) < (known.unsized || asked.capped ? 1 : Math.min(RESUME_OVERLAP, asked.from)))
    return `only ${asked.overlap ?? 0} bytes on disk asked for again, and no validator proves the file unchanged`
  return undefined
}

/**
 * Why a 2xx other than 206 is a part of the file under the wrong status, or `undefined`: its
 * `Content-Range` names part of a file of known size, and its `Content-Length` is that part's
 * (a front that caps every answer and labels it 200). Its length marks where its body ends, so
 * a format whose bytes cannot show their own end (a bare JPEG XL, a GIF without its trailer)
 * would be kept cut. RFC 9110 §14.4 gives a 200's Content-Range no meaning: one whose length is
 * the whole file's (a cache that kept a 206's header over the whole body) is let be.
 */
function partLabelledWhole(answer: Answer, range: ReturnType<typeof parseContentRange>): string | undefined {
  if (range?.start === undefined || range.total === undefined) return undefined
  const length = range.end! - range.start + 1
  const declared = header(answer.headers, 'content-length')
  if (declared === undefined || Number(declared) !== length || length === range.total) return undefined
  return `a ${answer.status} of bytes ${range.start}-${range.end} of ${statedSize(range.total, answer.headers)} (its Content-Range), not the whole file`
}

/**
 * A file's size as its answer states it: past 2^53 - 1 a number is rounded (a `Content-Length` of
 * 9007199254740993 reads as ...992, 2^64 as 18446744073709552000), so the header's own digits are
 * quoted where they are what `total` was read from, and else only what is sure of it.
 */
export function statedSize(total: number, headers: Record<string, string | string[] | undefined>): string {
  if (Number.isSafeInteger(total)) return String(total)
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)
  const said = [
    /\/\s*0*(\d+)\s*$/.exec(one(headers['content-range']) ?? '')?.[1],
    /^\s*0*(\d+)\s*$/.exec(one(headers['content-length']) ?? '')?.[1],
  ].find((digits) => digits !== undefined && Number(digits) === total)
  return said ?? `more than ${Number.MAX_SAFE_INTEGER}`
}

/** The body as the whole file from byte 0, its length (encoded bytes, for an encoded body) as declared. */
function whole(answer: Answer, codings: string[]): Decision {
  const declared = validatorsOf(answer).length
  // An encoded body's length is that of its encoded bytes: the file's size is known once decoded.
  if (codings.length > 0) return { do: 'receive', at: 0, length: declared, decode: codings }
  return { do: 'receive', at: 0, total: declared, length: declared }
}

/**
 * Whether an answer from another URL than the bytes on disk came from shows the same file: a
 * strong ETag equal (quoted or bare: see `named`), and the full size equal where both answers
 * state it. So a redirect to signed storage URLs (S3, GCS, rustfs: a new
 * signature each time) or to another edge host of one CDN still resumes, while two files of one
 * deploy behind a redirector are not joined on a shared Last-Modified: a date alone proves nothing
 * across URLs. (Two files of the very same size and date under an ETag made of the two, as nginx
 * makes it, would still pass: the one case this accepts.)
 */
export function sameFile(known: Validators, got: Validators): boolean {
  // The size, where both answers said it, must agree too (a first answer without a length gives none).
  return (
    named(known.etag) &&
    known.etag === got.etag &&
    (known.length === undefined || got.length === undefined || known.length === got.length)
  )
}

/** Answers to a resume that may be passing trouble: tried again with the same Range (a 501 is not). */
const COME_BACK_LATER = (status: number) =>
  (status >= 500 && status !== 501) || status === 408 || status === 429

/** Whether the body of an answer of this status may be the file or a part of it (a 416 is judged before). */
const mayBeFile = (status: number) => {
  const body = successBody(status)
  return body === 'file' || body === 'part'
}
