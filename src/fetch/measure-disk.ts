/** The first step of a transfer: the bytes on disk a resume continues, read back into the file's checks. */
import { createReadStream } from 'node:fs'
import { FileCheck, HEAD_BYTES } from '../verify/file-check.js'
import { LATER_OVERLAP, RESUME_OVERLAP, resumesInRun } from './judge.js'
import { sizeOnDisk } from './part-file.js'
import { send } from './send.js'
import type { Step, Transfer } from './transfer.js'

/**
 * Resume only where a validator can prove the bytes on disk belong to the file the server has now,
 * or, in the run that fetched them, where the answer can prove it itself (see `resumesInRun`).
 * The bytes on disk are read back into the checks before the request goes out, not while its
 * answer waits unread: undici 7.30 asserts, and the process dies, when a close-delimited answer
 * ends while its body is paused (nodejs/undici#5360).
 */
export const measureDisk: Step = async (t) => {
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
