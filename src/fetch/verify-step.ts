/** The last step of a transfer: is the file on disk a whole image, and its stated checksums right? */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { ImgpullError, TimeoutError } from '../errors.js'
import { withoutSigning } from '../utils/url.js'
import { encodedDigests, type StatedDigest, statedDigests, trailerDigests } from '../verify/stated-digest.js'
import { cacheHit } from './cache-hit.js'
import { answeredThrough, cutThrough } from './failure-words.js'
import { endMarked, namesNoRange, partOfUnknown } from './judge.js'
import { quotaResetAfterServed } from './rate-limit-headers.js'
import type { Step, Transfer } from './transfer.js'
import { chunkLeftAtClose, strayAfterAnswer } from './undici-h1-parser.js'

/**
 * Whether the protocol marked where the file ends (see `endMarked`), or the body's coded stream
 * reached its own end in one piece: a gzip or deflate stream without its end, or gzip members
 * (zstd frames) one after another, leave only the image to show it.
 */
export const framed = (t: Transfer): boolean =>
  !t.unterminated &&
  t.overrun === undefined &&
  !t.closedEarly &&
  // A chunked body stalled before its last chunk: its end was not marked (see `stalledUnframed`).
  t.stalled === undefined &&
  (t.codingMarked ||
    endMarked({ status: t.head!.statusCode, headers: t.head!.headers }, t.head!.http2, t.known.length))

/** Why a body followed by bytes no request asked for is not marked at its end (see `strayAfterAnswer`). */
const STRAY =
  'bytes came on its connection right after the end its framing marked (a zero-length chunk sent mid-body, or a Content-Length short of the body), so the body went on past that end'

/** The whole file is on disk: is it a complete image? */
export const verify: Step = async (t) => {
  const check = t.check!
  const read = t.partReader()
  const stray = strayAfterAnswer(t.exchange?.socket) ? STRAY : undefined
  // A 206 naming no range says it is partial: the same bytes twice prove nothing then.
  const answer = { status: t.head!.statusCode, headers: t.head!.headers }
  const partial = namesNoRange(answer)
  const unsized = partOfUnknown(answer)
  // Where the protocol or the coding said the body is incomplete, the same bytes twice prove nothing
  // either: only the image's structure can show its end.
  const incomplete = partial
    ? 'the server called its answer partial (a 206 naming no range)'
    : unsized !== undefined
      ? `the server called its answer a part of a file of unknown size (${unsized})`
      : t.closedEarly
        ? 'the connection closed before the last chunk of the body'
        : t.unterminated
          ? 'its encoded body ends without its own end'
          : t.overrun !== undefined
            ? t.overrun
            : t.stalled !== undefined
              ? 'the server stopped sending it without ending it'
              : stray
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
    : check.finish(read, framed(t) && !stray, incomplete ? undefined : seen, incomplete)
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
    // A body its `Content-Length` cut, the rest come right after it (see `STRAY`), is marked whole
    // at that length all the same: a plain image so cut is asked for once more and read past it
    // (see download.ts `imageCutAtLength`), and its failure says the length is short.
    const byLength =
      stray !== undefined && incomplete === stray && t.head!.headers['transfer-encoding'] === undefined
    // A coding that lacked its end too: say so, it is likely where the cut is.
    const coding =
      incomplete !== undefined && outcome.reason.includes(incomplete)
        ? ''
        : t.unterminated
          ? '; its encoded body ends early too'
          : t.overrun !== undefined
            ? `; ${t.overrun}`
            : stray !== undefined && !byLength
              ? `; ${stray}`
              : ''
    // Where the answer marked its own end, the cut is in the server's copy (see `markedWhole`);
    // one read to the close may have been cut on the way: by the proxy it came through, if any
    // (see `cutThrough`), as one short of its length.
    const marked = outcome.kind === 'truncated' && (!incomplete || byLength) && framed(t)
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
  // A checksum the trailer section states, as the head's would be (see `trailerDigests`): it was
  // never read, and a file whose chunked body's Content-MD5 trailer named other bytes was kept.
  const inTrailer = trailerDigests(head.headers, t.exchange?.trailers)
  const trailed =
    carried && inTrailer
      ? statedDigests(inTrailer, whole, t.body?.encoded ?? false, check.bytes)[0]
      : undefined
  if (trailed && (trailed.algorithm !== stated?.algorithm || trailed.hex !== stated.hex))
    await compareStated(
      t,
      { ...trailed, header: `${trailed.header} trailer` },
      trailed.algorithm === 'sha256' ? checked.sha256 : check.statedHex(trailed.algorithm),
    )
  // The encoded bytes as they came, against the checksums the head and the trailer section state
  // of them (RFC 9530 §2-3: a message's content and a representation both include its content
  // coding; RFC 1864's Content-MD5 too).
  const encoded = t.encodedDigest
  t.encodedDigest = undefined
  if (encoded) {
    const hex = new Map([...encoded.hashes].map(([algorithm, hash]) => [algorithm, hash.digest('hex')]))
    if (encoded.stated)
      await compareStated(t, encoded.stated, hex.get(encoded.stated.algorithm)!, 'encoded body')
    const [coded] =
      carried && inTrailer ? encodedDigests(inTrailer, whole).filter((d) => hex.has(d.algorithm)) : []
    if (coded && (coded.algorithm !== encoded.stated?.algorithm || coded.hex !== encoded.stated.hex))
      await compareStated(
        t,
        { ...coded, header: `${coded.header} trailer` },
        hex.get(coded.algorithm)!,
        'encoded body',
      )
  }
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
    ...(t.fresh ? { fresh: true } : {}),
    ...(t.held ? { held: t.held } : { validators: t.known }),
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
 * A gzip body that decoded to bytes its trailer's CRC-32 does not match (`mismatch`: computed,
 * not the stated), judged as a stated checksum is (see `compareStated`): `digest-mismatch`,
 * retried, the part dropped; unless an earlier attempt had the very same mismatch: then the bytes
 * are what the URL serves (a server whose gzip writes a wrong CRC every time, as browsers, which
 * ignore the trailer, show: okhttp#4850), and kept.
 */
export function crcMismatch(t: Transfer, mismatch: string): void {
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
