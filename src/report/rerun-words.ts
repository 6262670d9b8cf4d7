import { plural } from './format.js'

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

/** The failed and unfinished jobs one run last planned or touched (see `JournalReader.openByRun`). */
export interface OpenRun {
  run: number
  /** Its command line; `null` for a library run. */
  command: string | null
  failed: number
  pending: number
}

/** What tries a folder's failures again when several inputs were run into it (see `rerunByCommand`). */
export interface RerunByCommand {
  words: RerunWords
  /**
   * The line that names, for each command, the failed and unfinished jobs its rerun takes up,
   * when any is another command's than the latest run's; `undefined` when the latest's are all.
   */
  by?: string
}

/**
 * Whose rerun takes up a folder's failed and unfinished jobs (`open`, by the run that last planned
 * or touched each: a run sees every job of its input), said in words. The latest run's command
 * (`last`), when it holds them all, is "the same command" (a queue's shard: enqueuing again, see
 * `rerunWords`). Jobs another input left (`imgpull a.txt -o out`, then `imgpull b.txt -o out`)
 * are not read by a rerun of the latest command: their command is named, where "Run the same
 * command again to retry" sent the user to a rerun that left them. Runs of one command line are
 * one command; a library run's (no command line) is named by its number. Pure.
 */
export function rerunByCommand(
  open: readonly OpenRun[],
  last: { id: number; command?: string } | undefined,
): RerunByCommand {
  const same = rerunWords(last?.command)
  if (same.queue !== undefined || !last) return { words: same }
  const label = (o: OpenRun) =>
    o.command ?? `the library run ${o.run} (pull() from code, no command line recorded)`
  const isLast = (o: OpenRun) => o.run === last.id || (o.command !== null && o.command === last.command)
  if (open.every(isLast)) return { words: same }
  const groups = new Map<string, { failed: number; pending: number; last: boolean }>()
  for (const o of open) {
    if (o.failed + o.pending === 0) continue
    const key = label(o)
    const g = groups.get(key) ?? { failed: 0, pending: 0, last: isLast(o) }
    g.failed += o.failed
    g.pending += o.pending
    groups.set(key, g)
  }
  const counts = (g: { failed: number; pending: number }) =>
    [g.failed ? `${g.failed} failed` : '', g.pending ? `${g.pending} not finished` : '']
      .filter(Boolean)
      .join(', ')
  const by = `Failed or not finished, by the command that last read them (each command's rerun takes up its own input's alone): ${[
    ...groups,
  ]
    .map(([command, g]) => `${command}${g.last ? ' (the latest run)' : ''}: ${counts(g)}`)
    .join('; ')}.`
  if (groups.size === 1) {
    const [command] = groups.keys()
    return {
      words: { rerun: `Run ${command} again`, retryFailed: `Run ${command} again with --retry-failed` },
      by,
    }
  }
  return {
    words: {
      rerun: 'Run each of those commands again',
      retryFailed: 'Run each of them again with --retry-failed',
    },
    by,
  }
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
  return `${n} ${n === 1 ? 'failure is' : 'failures are'} a web page in place of the image (a Dropbox, Google Drive, Imgur... page's address, or a page naming its image): put the link ${n === 1 ? 'its message names' : 'each message names'} (the file's, or the image the page names: check its size) in the list or table in ${n === 1 ? 'its' : 'their'} place; --retry-failed would fetch the same ${plural(n, 'page')} again`
}

/** What becomes of `n` failures of the input's own (`INPUT_ERRORS`), as a sentence without its full stop. */
export function inputOwnWords(n: number): string {
  return `${n} ${n === 1 ? 'failure is' : 'failures are'} the input's own (a line or row that is no valid URL, row or hash, or a URL under a placeholder name such as images.example): every run fails ${n === 1 ? 'it' : 'them'} again until the input is mended`
}
