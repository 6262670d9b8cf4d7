/**
 * One attempt at one file: the steps, each in its own module, run in turn (measure-disk.ts →
 * send.ts → decide.ts → receive.ts → verify-step.ts), and the failures that start the file over
 * within the attempt. The public face of fetch/ for the engine (run/engine.ts, transfer-worker.ts).
 */
import type { ImgpullError } from '../errors.js'
import type { Validators } from '../types.js'
import { withoutSigning } from '../utils/url.js'
import { lengthCutImage } from './body-end.js'
import { WrappedBadly } from './byteranges.js'
import { withFinalUrl } from './classify.js'
import type { Cancel } from './exchange.js'
import { WRAPS_RANGES } from './judge.js'
import { measureDisk } from './measure-disk.js'
import { servedBy } from './overdue-heads.js'
import { send } from './send.js'
import {
  type DownloadContext,
  type Downloaded,
  NotJoined,
  type Step,
  Transfer,
  Undeclared,
} from './transfer.js'

export type { DownloadContext, Downloaded } from './transfer.js'

/** Whether `error` is a plain image its `Content-Length` cut, over HTTP/1.x (see `lengthCutImage`). */
function imageCutAtLength(t: Transfer, error: unknown): boolean {
  const e = error as ImgpullError | undefined
  const head = t.head
  if (!head || !t.body) return false
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(', ') : v)
  return lengthCutImage({
    code: e?.code ?? '',
    markedWhole: e?.markedWhole,
    byCache: e?.markedByCache !== undefined,
    status: head.statusCode,
    http2: head.http2 === true,
    contentLength: one(head.headers['content-length']),
    transferEncoding: one(head.headers['transfer-encoding']),
    encoded: t.body.encoded,
    at: t.body.at,
  })
}

/**
 * What a part passed off as the whole file fails with: not an image from its first byte. With
 * `joined`, what a file joined from a resume fails with where its bytes on disk may be at fault:
 * damaged, not the hash the input gives, or not the checksum the server states of the whole file
 * (`Repr-Digest`, `Digest`, `x-goog-hash` on the 206, or the first 200's `Content-MD5` kept).
 */
function isPartShown(error: unknown, joined = false): boolean {
  const code = (error as ImgpullError | undefined)?.code
  return joined
    ? code === 'corrupt' || code === 'hash-mismatch' || code === 'digest-mismatch'
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
        // Damaged, or not the input's or the server's checksum, as joined from bytes kept and a
        // resume: the bytes kept may be what is wrong (a part a power cut left with a page of
        // zeros, two versions whose validators and last bytes agree, a part edited on disk). The
        // first two codes are not tried again by a rerun, and a digest-mismatch refused a good
        // file at the last retry (or spent one), so the file's one verdict comes from the whole
        // file, asked for once more without Range.
        t.joined = false
        t.exchange?.abort(error)
        await t.restart(`the file joined from a resume was ${reasonOf(t, error)}`)
        step = send
        continue
      }
      const cutImage = !t.readPastLength && !cancel.aborted && imageCutAtLength(t, error)
      if (
        (cutImage || (t.endedAtLength && !t.readPastLength)) &&
        (error as ImgpullError | undefined)?.code === 'truncated' &&
        !cancel.aborted
      ) {
        // Cut by its length inside its coding: a length that is the decoded size (a server that
        // measured the file before compressing it; gzip of an image already compressed is the
        // longer), which cut the gzip trailer off and, with it, the image's end. Or a plain image
        // its length cut (see `lengthCutImage`). Asked for once more and read past that length to
        // the close, where the coding's own end (its size and CRC-32 checked), or the image's
        // structure, shows the body whole, as wget2 reads it (curl keeps the cut image).
        t.readPastLength = true
        t.pastLengthCut = error as ImgpullError
        if (cutImage) t.pastLength = (error as ImgpullError).markedWhole
        t.exchange?.abort(error)
        await t.restart(
          cutImage
            ? `its Content-Length cut the image (${reasonOf(t, error)})`
            : `its encoded body ended at its length before its coding did (${reasonOf(t, error)})`,
        )
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
        // A plain image's cut already says the server marked it whole at its length (see `lengthCutImage`).
        if (first.markedWhole === undefined)
          first.message += ': asked once more and read past its Content-Length, it was no more whole'
        throw redirected(t, first)
      }
      throw redirected(t, error)
    }
  }
}

/**
 * `error` with the URL last asked as its `finalUrl`, when redirects led there: a user filtering
 * failures by the host that failed them finds it in the manifest, as an ok row's (it was null).
 */
function redirected(t: Transfer, error: unknown): unknown {
  return t.redirectedTo === undefined ? error : withFinalUrl(error, withoutSigning(t.redirectedTo))
}
