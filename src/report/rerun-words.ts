/**
 * What tries a folder's failures again, in words: a local run's folder is run again with the same
 * command; a queue's shard (its run's command is `imgpull worker --queue NAME (shard 00012)`, see
 * worker.ts) is tried again by enqueuing the same input again, which re-opens it. Pure.
 */
export interface RerunWords {
  /** The queue, for a shard a worker ran. */
  queue?: string
  /** How to try the passing failures (and finish the rest) again: a sentence's start. */
  rerun: string
  /**
   * How to try the permanent ones too: a sentence's start, which names the command whole (it may be
   * the only sentence: "Enqueue it" named nothing).
   */
  retryFailed: string
}

export function rerunWords(command: string | undefined): RerunWords {
  const queue = /^imgpull worker --queue (\S+) \(shard \d+\)$/.exec(command ?? '')?.[1]
  if (queue === undefined) return { rerun: 'Run the same command again', retryFailed: 'Add --retry-failed' }
  return queueRerunWords(queue)
}

/** What tries the failures of queue `queue`'s shards again: enqueuing its input again. */
export function queueRerunWords(queue: string): RerunWords {
  return {
    queue,
    rerun: `Enqueue the same input again (imgpull enqueue INPUTS --queue ${queue})`,
    retryFailed: `Enqueue the same input again with --retry-failed (imgpull enqueue INPUTS --queue ${queue} --retry-failed)`,
  }
}

/**
 * What to do about `n` failures that are a web page in place of the image (see
 * `isSharePageFailure`: a sharing site's page, or one naming its image), as a sentence without its
 * full stop: each message names the link that gives the file, or the image the page names (often a
 * preview the site made for sharing: hence "check its size"); `--retry-failed` would fetch the same
 * page again, so it comes after this, if at all.
 */
export function sharePageWords(n: number): string {
  return `${n} ${n === 1 ? 'failure is' : 'failures are'} a web page in place of the image (a Dropbox, Google Drive, Imgur... page's address, or a page naming its image): put the link ${n === 1 ? 'its message names' : 'each message names'} (the file's, or the image the page names: check its size) in the list or table in ${n === 1 ? 'its' : 'their'} place; --retry-failed would fetch the same ${n === 1 ? 'page' : 'pages'} again`
}

/** What becomes of `n` failures of the input's own (`INPUT_ERRORS`), as a sentence without its full stop. */
export function inputOwnWords(n: number): string {
  return `${n} ${n === 1 ? 'failure is' : 'failures are'} the input's own (a line or row that is no valid URL, row or hash, or a URL under a placeholder name such as images.example): every run fails ${n === 1 ? 'it' : 'them'} again until the input is mended`
}
