import { join } from 'node:path'
import type { Job } from '../types.js'
import { shownUrl } from '../utils/url.js'

/** The warnings a run says once, at the first case of each (`process.emitWarning`, with a code). */
export class OnceWarnings {
  /**
   * Said once a run, at the first row whose URL is not the one the journal has at its place (one
   * that failed there for its own URL cell, an empty one, had no image, and is not said): a row
   * inserted or removed near the top of a table shifts every row after it, and each is then fetched
   * again (and every shard after it sealed again), which the run's counts alone would not show.
   * The row is named by its place in the input too (`a.csv line 2`): its number alone counts from 0
   * over all inputs (the sample key's), and `row 0` sent one looking for a row the file does not
   * number so (wireservice/csvkit#1064).
   */
  rowMoved(job: Job, was: string, dataset: boolean): void {
    if (this.#movedSaid) return
    this.#movedSaid = true
    const what = dataset ? 'its shard sealed again' : "the earlier row's file stays in the folder"
    process.emitWarning(
      `row ${job.row}${job.where === undefined ? '' : ` (${job.where})`} holds ${shownUrl(job.url)} where an earlier run had ${shownUrl(was)}: fetched as a new image (${what}). A row inserted or removed above it shifts the rows after it, each then fetched again so (later ones are not said); to keep what the earlier run fetched, stop the run and give the table as it was`,
      { code: 'IMGPULL_ROW_MOVED' },
    )
  }

  #movedSaid = false

  /**
   * Said once a run, at the first file an earlier run kept that has another size now: its image is
   * fetched again and saved beside it under another name (a changed file is never written over),
   * so a folder run through an optimiser (`jpegoptim *.jpg`) would otherwise double, saying nothing.
   */
  fileChanged(out: string, path: string, was: number, now: number): void {
    if (this.#changedSaid) return
    this.#changedSaid = true
    process.emitWarning(
      `${join(out, path)} is ${now} bytes where the run that saved it kept ${was} (edited, replaced or cut short since?): its image is fetched again and saved under another name, the file left as it is (later such files are not said); to have the image back at its name, move the file away and run again`,
      { code: 'IMGPULL_FILE_CHANGED' },
    )
  }

  #changedSaid = false
}
