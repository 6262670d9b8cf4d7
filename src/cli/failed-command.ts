import { existsSync } from 'node:fs'
import type { Writable } from 'node:stream'
import Database from 'better-sqlite3'
import { ERROR_CODES, httpStatusOf } from '../error-codes.js'
import { UsageError } from '../errors.js'
import { FolderLock } from '../journal/lock.js'
import { JournalReader } from '../journal/sqlite.js'
import { type Layout, layout, noJournal, queueShardJournals } from '../layout.js'
import { plural } from '../report/format.js'
import { UNKNOWN_CODE } from '../report/html/failures.js'
import { journalReadFault } from '../sinks/local-faults.js'
import { visibleShellWord } from '../utils/command-line.js'
import { nearWord } from '../utils/near-word.js'
import { printable } from '../utils/printable.js'
import { redactUrl } from '../utils/url.js'
import { drained } from './drained.js'

/** A failure code as the journal keeps it: `null` for a failure without one. */
type Code = string | null

/** `http-404 ×3, timeout ×1`: the codes present, commonest first (`unknown` for none). */
export function codesLine(codes: readonly { error: Code; n: number }[]): string {
  return codes.map((c) => `${c.error ?? UNKNOWN_CODE} ×${c.n}`).join(', ')
}

/** Whether `code` is one imgpull gives a failure: a named code, any `http-NNN`, or `unknown`. */
export function isFailureCode(code: string): boolean {
  const status = httpStatusOf(code)
  if (status !== undefined) return status >= 100 && status < 600
  return Object.hasOwn(ERROR_CODES, code) || code === UNKNOWN_CODE
}

/**
 * Which failures `imgpull status DIR --failed [CODE]` lists, decided from the code asked
 * (`undefined`: all) and the codes the journal holds. Pure.
 * - `{ code }`: list those of `code` (`null`: failures without one, asked as `unknown`), or all
 *   (`undefined`); a code imgpull gives that none failed with lists nothing, said on stderr (a
 *   script asking for its 404s after each run gets an empty list, not an error).
 * - `{ refused }`: a code imgpull never gives (`404`, `http_404`, a typo): the line that names it,
 *   the codes present and the one likely meant (a bare status, `404`, means `http-404`).
 */
export function failedChoice(
  asked: string | undefined,
  codes: readonly { error: Code; n: number }[],
): { code: Code | undefined } | { refused: string } {
  if (asked === undefined) return { code: undefined }
  if (asked === UNKNOWN_CODE) return { code: null }
  if (codes.some((c) => c.error === asked) || isFailureCode(asked)) return { code: asked }
  const present = codes.map((c) => c.error ?? UNKNOWN_CODE)
  const status = /^\d{3}$/.test(asked) ? `http-${asked}` : undefined
  const meant = status ?? nearWord(asked, present) ?? nearWord(asked, Object.keys(ERROR_CODES))
  const here = codes.length ? `the failures here are ${codesLine(codes)}` : 'nothing failed here'
  return {
    refused: `'${asked}' is no failure code (${here})${meant ? `; did you mean --failed ${meant}?` : ''}`,
  }
}

/** Lines written to stdout at once: one write a URL cost a system call each. */
const BATCH = 1000

/**
 * A URL as one line of the list: the manifest's (credentials out, as everywhere imgpull shows a
 * URL; signing parameters kept, so it can be fetched again). To a terminal its control characters
 * are escapes; to a file or pipe it is as given but for line breaks, which would make it two lines
 * and which the URL parser removes anyway (WHATWG URL: "remove all ASCII tab or newline").
 */
export function listLine(url: string, terminal: boolean): string {
  const shown = redactUrl(url)
  return terminal ? printable(shown) : shown.replace(/[\r\n]/g, '')
}

/** `[{ error, n }]` summed by code, as `failureCodes` orders them: commonest first, then by code. */
function sumCodes(lists: Iterable<readonly { error: Code; n: number }[]>): { error: Code; n: number }[] {
  const sums = new Map<Code, number>()
  for (const list of lists) for (const { error, n } of list) sums.set(error, (sums.get(error) ?? 0) + n)
  return [...sums]
    .map(([error, n]) => ({ error, n }))
    .sort((a, b) => b.n - a.n || String(a.error).localeCompare(String(b.error)))
}

/**
 * `imgpull status DIR --failed [CODE]`: every failed job's URL (of `CODE` alone when given), one a
 * line, in input order, on `out`; how many and of which codes on `err`. Every failure the folder's
 * journal holds, those of another list run into the folder too (as the manifest and `imgpull
 * status` count them); read from the journal, so also while a run goes on or after one was killed.
 * A queue's output folder (workers' `-o`), which has no journal of its own, lists its shards'
 * failures, shard after shard (see `queueShardJournals`): a shard being run, as its journal holds
 * them so far. Resolves to the exit code: 0 (a code none failed with lists nothing). A reader that
 * goes away (`| head`) ends the list quietly.
 * @throws UsageError for no journal in `dir` (nor a queue's shards) or a code imgpull never gives;
 * a FatalError for a journal it cannot read.
 */
export async function failedCommand(
  dir: string,
  asked: string | undefined,
  out: Writable & { isTTY?: boolean } = process.stdout,
  err: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<number> {
  const paths = layout(dir)
  const queue = existsSync(paths.journal) ? undefined : queueShardJournals(dir)
  const sources = queue ?? [paths]
  if (!queue?.length && !existsSync(paths.journal)) throw noJournal(dir, paths)
  const journals: { paths: Layout; reader: JournalReader }[] = []
  let reading = paths.journal
  let gone = false
  const onError = () => {
    gone = true
  }
  out.on('error', onError)
  try {
    for (const source of sources) {
      reading = source.journal
      journals.push({ paths: source, reader: new JournalReader(source.journal) })
    }
    const codes = sumCodes(
      journals.map((j) => {
        reading = j.paths.journal
        return j.reader.failureCodes()
      }),
    )
    const choice = failedChoice(asked, codes)
    if ('refused' in choice) throw new UsageError(choice.refused)
    const terminal = out.isTTY === true
    const counts = new Map<Code, number>()
    let lines: string[] = []
    const flush = async () => {
      if (lines.length && !gone && !out.write(`${lines.join('\n')}\n`)) await drained(out)
      lines = []
    }
    for (const journal of journals) {
      reading = journal.paths.journal
      for (const { url, error } of journal.reader.failed(choice.code)) {
        if (gone) break
        counts.set(error, (counts.get(error) ?? 0) + 1)
        lines.push(listLine(url, terminal))
        if (lines.length >= BATCH) await flush()
      }
    }
    await flush()
    if (gone) return 0
    const listed = sumCodes([[...counts].map(([error, n]) => ({ error, n }))])
    const total = listed.reduce((sum, c) => sum + c.n, 0)
    const running = journals.some((j) => FolderLock.holder(j.paths, Database))
    const going = !running
      ? ''
      : queue
        ? '; workers are running shards in this folder: these are what failed so far'
        : '; a run is going on in this folder: these are what failed so far'
    const where = queue
      ? `the ${journals.length} ${plural(journals.length, 'shard')} of queue folder ${visibleShellWord(dir)}`
      : visibleShellWord(dir)
    if (total)
      err(
        `imgpull: ${total} failed ${plural(total, 'URL')} listed (${codesLine(listed)})${queue ? ` from ${where}` : ''}${going}`,
      )
    else
      err(
        asked === undefined || codes.length === 0
          ? `imgpull: nothing failed in ${where}${going}`
          : `imgpull: no failure with code ${asked} in ${where} (its failures: ${codesLine(codes)})${going}`,
      )
    return 0
  } catch (error) {
    if (error instanceof UsageError) throw error
    throw journalReadFault(error, reading)
  } finally {
    out.off('error', onError)
    for (const journal of journals) journal.reader.close()
  }
}
