/**
 * The step after an answer's head: what its judgement (judge.ts) says carried out: fail, refuse,
 * restart, done with the bytes on disk, or take the body (`accept`, then receive.ts).
 */
import { createHash } from 'node:crypto'
import { unlink } from 'node:fs/promises'
import { HTTPError, ImgpullError } from '../errors.js'
import { formatBytes, sizeText } from '../report/format.js'
import type { Validators } from '../types.js'
import { FileCheck } from '../verify/file-check.js'
import { encodedDigests, statedDigests, trailerAlgorithms } from '../verify/stated-digest.js'
import { boundaryOf, PartBody, partAnswer } from './byteranges.js'
import {
  errorPage,
  misdirectedAgain,
  pastedAfter,
  refusedCredentials,
  statusGateway,
  statusProxyNote,
} from './failure-words.js'
import {
  codingsOf,
  etagShifted,
  ifRangeMisread,
  ifRangeRefused,
  ifRangeValue,
  isMultipart,
  judge,
  mismatch,
  seenAfter,
  statedSize,
  validatorsFlap,
  validatorsOf,
  WRAPS_RANGES,
} from './judge.js'
import { readRefusal } from './rate-limit-headers.js'
import { receive } from './receive.js'
import { robotsAgents, robotsRefusal } from './robots-tag.js'
import { send } from './send.js'
import { header, type Receive, type Step, type Transfer } from './transfer.js'
import { unaskedStatus } from './unasked-status.js'
import { verify } from './verify-step.js'

/** Carry out what the judgement of the response head says. */
export const decide: Step = async (t) => {
  const wrapped = await takeApart(t)
  const head = t.head!
  // Asked again for a body that was gzip or zstd data under no coding's name (see `Undeclared`): it
  // is decoded as a named one would be, and counts as one (its length the encoded bytes', no resume);
  // under the codings the answer lists, where those decoded to it (a body compressed twice, labelled
  // once), applied first (RFC 9110 §8.4: listed in the order applied).
  if (t.undeclared) {
    const listed = head.headers['content-encoding']
    head.headers['content-encoding'] = [t.undeclared, ...(listed === undefined ? [] : [listed].flat())].join(
      ', ',
    )
  }
  const exchange = t.exchange!
  const decision = judge(
    { from: t.offset, overlap: t.tail?.length, known: t.known, at: t.answeredAt, capped: t.cappedTail },
    { status: head.statusCode, headers: head.headers },
  )
  // Compared once, by this answer: continuations within the attempt ask from `offset` itself.
  const tail = t.tail
  t.tail = undefined
  t.cappedTail = false
  switch (decision.do) {
    case 'fail': {
      const { words: page, botCheck } = await errorPage(t, decision.status)
      const refusal = readRefusal(decision.status, head.headers)
      throw new HTTPError(
        refusal.status,
        t.shown +
          t.via +
          statusProxyNote(t, head.headers) +
          refusedCredentials(t, decision.status) +
          misdirectedAgain(t, decision.status) +
          page +
          pastedAfter(t, decision.status),
        refusal.retryAfter,
        t.offset > 0,
        {
          ...refusal,
          unasked: unaskedStatus(decision.status, t.sent),
          gateway: statusGateway(t, decision.status, head.headers),
          // A bot check answers every try alike: a 503 of it is not retried within the run.
          final: botCheck,
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
      // A 304 or 412 to its If-Range: the same range asked for again without it (see `ifRangeRefused`).
      if (t.offset > 0 && ifRangeRefused(head.statusCode, t.sent)) {
        t.known = { ...t.known, ifRangeMisread: true }
        // Told to the run now, for its later attempts and the host's other files (not journaled: a
        // later run offers If-Range again).
        t.recorded = false
        t.record()
        t.tail = tail
        return send
      }
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
export async function accept(t: Transfer, decision: Receive, tail: Buffer | undefined): Promise<Step> {
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
    // So is a part of a file of unknown size (`bytes 0-B/*`) without one: its rest is asked for
    // in this run, each part proving itself (`Validators.unsized`); it never finished without.
    const unsized = ifRangeValue(got) === undefined && got.length === undefined && decision.more === true
    const unproven = ifRangeValue(got) === undefined && (got.length !== undefined || unsized)
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
            ...(got.stamped ? { stamped: true as const } : {}),
            length: got.length,
            from: t.answeredAt,
            unproven: true,
            thisRun: true,
          }
        : // Added to seenAfter's new object (see there why not spread).
          Object.assign(
            seenAfter(before, got, t.answeredAt),
            unproven ? { unproven } : undefined,
            unsized ? { unsized } : undefined,
            misread ? { ifRangeMisread: true as const } : undefined,
          )
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
      ? // The size of a file of unknown size, stated at last: the later parts must state it too.
        known.unsized && known.length === undefined && decision.total !== undefined
        ? { ...known, length: decision.total }
        : known
      : decision.unproven
        ? { ...known, unproven: true }
        : {
            etag: known.etag ?? got.etag,
            lastModified: known.lastModified ?? got.lastModified,
            ...((known.lastModified ? known.stamped : got.stamped) ? { stamped: true as const } : {}),
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
    throw new ImgpullError(
      'too-large',
      `${t.shown} is ${statedSize(total, t.head!.headers)} bytes${Number.isSafeInteger(total) ? ` (${formatBytes(total)})` : ''}, over --max-size ${sizeText(t.options.maxSize)}`,
    )
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
    // Its bytes as they came are the encoded ones only without a transfer coding on top. Hashed
    // for the head's digest of them and for those a trailer section may state (a chunked gzip'd
    // answer's Repr-Digest trailer was not compared: a body changed on the way was kept).
    if (contentCoded && codingsOf(head.headers['transfer-encoding']).length === 0) {
      const [encoded] = encodedDigests(head.headers, true)
      const algorithms = new Set(trailerAlgorithms(head.headers))
      if (encoded) algorithms.add(encoded.algorithm)
      const hashes = new Map([...algorithms].map((algorithm) => [algorithm, createHash(algorithm)]))
      t.encodedDigest = { stated: encoded, hashes }
    }
  }
  return (u) => receive(u, decision, tail)
}
