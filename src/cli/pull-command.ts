import { type Dirent, existsSync, readdirSync, statSync } from 'node:fs'
import { readdir, realpath, stat } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { INPUT_ERRORS } from '../error-codes.js'
import { errorCode, FatalError, UsageError } from '../errors.js'
import { layout, ownTableLike, WORK_DIR } from '../layout.js'
import { MAX_THREADS, type Options } from '../options.js'
import { resultLine } from '../outcome.js'
import { checkTemplate, templateRewrites } from '../plan/naming.js'
import { pull } from '../pull.js'
import { placedMessage } from '../report/failure-place.js'
import { formatBytes, grouped, plural } from '../report/format.js'
import { createProgressLine, type ProgressLine, ProgressLog } from '../report/progress.js'
import { sharePageWords } from '../report/rerun-words.js'
import { errorBreakdown, newTally, summaryLine } from '../report/summary.js'
import { NO_INODES_WORDS } from '../sinks/local-faults.js'
import {
  argumentJobs,
  checkInputs,
  firstNotAList,
  isUrlArgument,
  openList,
  readLines,
} from '../sources/lines.js'
import { inputWord, isPipe, refuseFolderStdin, STDIN_PATH } from '../sources/pipe-list.js'
import { type TableOptions, tableOptionOnLists } from '../sources/tables/options.js'
import type { Result, Source } from '../types.js'
import { visibleShellWord } from '../utils/command-line.js'
import { filePath } from '../utils/file-path.js'
import { printable } from '../utils/printable.js'
import { isSharePageFailure } from '../verify/share-page.js'
import { stderrColors, stderrLive } from './color.js'
import { drained } from './drained.js'
import { flagWords } from './flag-words.js'
import { progressLogSeconds } from './progress-interval.js'
import { readerGoneBy, stdoutFaultWords, stdoutIsStderr, stdStreams } from './std-streams.js'
import { pipedInputWords, terminalInputLine } from './stdin-words.js'
import { STOP_SIGNALS, stoppingLine } from './stop-words.js'
import { warnings } from './warnings.js'

export interface OutputFlags {
  json?: boolean
  quiet?: boolean
  /** Seconds in-flight transfers get to finish after the first Ctrl-C or SIGTERM. */
  grace: number
  /** `-o` was given on the command line: a last input that is no file is no forgotten output folder. */
  outGiven?: boolean
}

export interface RunHooks {
  /** Count of inputs, when the command knows it (URL lists, counted aside); else the source's `total()`. */
  total?: () => number | undefined
  /** The source says why it gave nothing (Unsplash: "No Unsplash photos match …"): a run that read no input prints no summary line. */
  emptyExplained?: boolean
  /** The inputs as given (`-` for stdin), named when none of them held a job. */
  inputs?: string[]
  /** Those inputs are tables (see `emptyInputLine`). */
  tables?: boolean
}

/**
 * What a run that read no job says, naming its inputs (a newcomer who gave the wrong file sees
 * which): `inputs` as given (`-`: standard input), `tables` when they were read as tables.
 */
export function emptyInputLine(inputs: readonly string[] | undefined, tables = false): string {
  const names = (inputs ?? []).map((input) => inputWord(input))
  const one = names.length === 1
  const where = names.length > 0 ? ` in ${names.join(', ')}` : ''
  const why = tables
    ? `the ${one ? 'table holds' : 'tables hold'} no row`
    : `the ${one ? 'list holds' : 'lists hold'} no URL (blank lines and # comments are skipped)`
  return `No input found${where}: ${why}.`
}

/**
 * Failure lines printed before the rest are left to the manifest: so many of this run's, and as
 * many of those an earlier run failed for good (a rerun's skips). One count for both let 20
 * earlier 404s, met first in the list, hide the failures of the rerun itself.
 */
const SHOWN_FAILURES = 20

export const EXIT = { ok: 0, failed: 1, usage: 2, fatal: 3, software: 70, interrupted: 130 } as const

/** Until a run installs its own handlers, Ctrl-C simply ends the process as interrupted. */
const early = () => process.exit(EXIT.interrupted)

export function handleEarlySignals(replacing?: () => void): void {
  swapSignalHandler(replacing, early)
}

/** `handler` takes the stop signals from the early handler (until `handleEarlySignals(handler)`). */
export function takeSignals(handler: () => void): void {
  swapSignalHandler(early, handler)
}

/**
 * `to` handles the stop signals (`STOP_SIGNALS`) instead of `from`: added before `from` is removed, since a signal
 * that came while neither was there would meet Node's default, ending the process by the signal
 * with no exit code (a second Ctrl-C as a run ended).
 */
export function swapSignalHandler(from: (() => void) | undefined, to: () => void): void {
  for (const signal of STOP_SIGNALS) {
    if (!process.listeners(signal).includes(to)) process.on(signal, to)
    if (from && from !== to) process.off(signal, from)
  }
}

/**
 * Whether a run shows its progress on stderr (a live line on a terminal, else a line a minute):
 * not with --quiet, nor where --json lines go into the same stream (`2>&1`, one terminal). --json
 * lines sent elsewhere (`--json > results.jsonl`, `| jq` in a CI job) leave stderr to it: a CI
 * log stayed silent for the whole run, and the runner ended the job after 10 minutes without
 * output (chromatic-cli#675), as curl shows its meter where its output is redirected.
 */
export function progressShown(flags: OutputFlags): boolean {
  return !flags.quiet && (!flags.json || !stdoutIsStderr())
}

/** Count the URLs in list files in the background, so progress can show a total and an ETA. */
function countInputs(args: string[]): { total: () => number | undefined } {
  if (args.includes('-')) return { total: () => undefined }
  let counted = args.filter(isUrlArgument).length
  let pending = 0
  for (const arg of args) {
    if (isUrlArgument(arg)) continue
    pending++
    ;(async () => {
      // A pipe is read once, by the run: its URLs are not counted ahead (no total, as for -).
      if (await isPipe(arg)) return
      for await (const _ of readLines(await openList(arg))) counted++
      pending--
    })().catch(() => {})
  }
  return { total: () => (pending === 0 ? counted : undefined) }
}

/**
 * Run a pull with terminal output: a progress line on a terminal, plain lines otherwise, JSON
 * lines with --json; Ctrl-C once stops cleanly, twice at once. Returns the exit code.
 */
export async function runPull(source: Source, options: Options, flags: OutputFlags, hooks: RunHooks = {}) {
  const out = filePath('out', options.out ?? '.')
  const drain = new AbortController()
  const hard = new AbortController()
  let progress: ProgressLine | undefined
  let progressLog: ProgressLog | undefined
  // Messages during a run stay visible: printed above the progress line, which is drawn again below.
  const print = (line: string) => (progress ? progress.print(line) : process.stderr.write(`${line}\n`))
  let interrupted = false
  const onSignal = (signal?: NodeJS.Signals) => {
    if (!interrupted) {
      interrupted = true
      drain.abort()
      // The files left are the next run's: the progress says `stopping`, not an ETA for them.
      if (progress) progress.stopping = true
      if (progressLog) progressLog.stopping = true
      if (!flags.json) print(stoppingLine(signal, `finishing transfers in flight (up to ${flags.grace} s)`))
      setTimeout(() => hard.abort(), flags.grace * 1000).unref()
    } else hard.abort()
  }
  swapSignalHandler(early, onSignal)
  // `imgpull --json | head -1`: once the reader is gone, stop as on a Ctrl-C (files in flight are
  // finished, the manifest written), printing nothing more. Stdout that cannot be written (`>
  // /dev/full`, a full disk) stops the run the same way, as the local fault it is (exit 3, said
  // in one line): it threw, ending the run with a stack trace.
  let reader = true
  let stdoutFault: FatalError | undefined
  const onStdoutError = (error: NodeJS.ErrnoException) => {
    if (!reader) return
    reader = false
    // Without --json nothing of the run goes there: a terminal hung up stops nothing.
    if (readerGoneBy(error)) return flags.json ? onSignal() : undefined
    stdoutFault = new FatalError('disk', stdoutFaultWords(error, 'the --json lines are'), {
      cause: error,
      hint: 'send them where they can be written and run the same command again to continue',
    })
    stdStreams.faultSaid = true
    drain.abort()
  }
  process.stdout.on('error', onStdoutError)

  const rewrites = options.name === undefined ? undefined : templateRewrites(options.name)
  if (rewrites && !flags.json) process.stderr.write(`imgpull: warning: ${rewrites}\n`)
  const threads = threadsWarning(options.threads ?? 0, availableParallelism())
  if (threads && !flags.json) process.stderr.write(`imgpull: warning: ${threads}\n`)
  const tiny = maxSizeWarning(options.maxSize)
  if (tiny && !flags.json) process.stderr.write(`imgpull: warning: ${tiny}\n`)
  const nested = typeof options.out === 'string' ? nestedRunWarning(options.out) : undefined
  if (nested && !flags.json) process.stderr.write(`imgpull: warning: ${nested}\n`)
  const shown = progressShown(flags)
  const tty = stderrLive && shown
  // Read before the run starts: a bad value is a usage error, not a failure midway.
  const logEvery = tty || !shown ? undefined : progressLogSeconds(process.env)
  const run = pull(source, { ...options, signal: hard.signal, drainSignal: drain.signal })
  const tally = newTally()
  const total = hooks.total ?? (() => source.total?.())
  // URLs typed at this terminal go on the row below the line: it keeps the cursor there.
  const typedHere = terminalInputLine(hooks.inputs ?? []) !== undefined
  progress = tty ? await createProgressLine(tally, run.stats, total, typedHere) : undefined
  progressLog = logEvery === undefined ? undefined : new ProgressLog(print, tally, run.stats, total, logEvery)
  if (progress) progress.stopping = interrupted
  if (progressLog) progressLog.stopping = interrupted
  // The library's warnings during the run (a column value its Parquet type cannot hold) too.
  const sayWarning = warnings.say
  warnings.say = print
  const started = performance.now()
  // Failures met, this run's and an earlier run's (skipped): each shown up to SHOWN_FAILURES.
  const met = { own: 0, before: 0 }
  const say = (line: string) => {
    if (progress) progress.stop()
    process.stderr.write(`${line}\n`)
  }
  let fatal: unknown
  try {
    for await (const r of run) {
      count(tally, r)
      if (flags.json && reader) {
        // Read no further than the reader: a slow pipe holds the run back (see `drained`).
        if (!process.stdout.write(`${resultLine(r)}\n`)) await drained(process.stdout, hard.signal)
      } else if (r.status === 'failed' && met[r.earlier ? 'before' : 'own']++ < SHOWN_FAILURES) {
        print(
          `${stderrColors.red('failed')} ${r.error}: ${printable(placedMessage(`${r.message}`, r.job.where))}`,
        )
      }
    }
  } catch (error) {
    // The second Ctrl-C stops the run through its signal, which the run rejects with: a stop, not a fault.
    if (!(hard.signal.aborted && error === hard.signal.reason)) fatal = error
  } finally {
    warnings.say = sayWarning
    progress?.stop()
    progressLog?.stop()
    // A Ctrl-C while the summary is written still ends as interrupted (130), never by the signal.
    handleEarlySignals(onSignal)
  }
  tally.duplicates = run.stats.duplicates
  tally.interrupted = run.stats.interrupted
  if (!run.stats.readToEnd) {
    const all = total()
    tally.notRead = all === undefined ? null : Math.max(0, all - run.stats.read)
  }
  // The run's own time, as the report says it; a run that never began has none.
  const ms = run.stats.wallMs || performance.now() - started
  // A Ctrl-C that came once every job had its outcome (the manifest and the report being
  // written, which takes seconds for millions of jobs) stopped nothing: no 130, no "continue";
  // nor a second one then. A hard stop before the run read its input to the end did stop it.
  const stopped = interrupted && (run.stats.stopped || (hard.signal.aborted && !run.stats.readToEnd))

  fatal ??= stdoutFault
  if (fatal && !(fatal instanceof FatalError)) throw fatal
  const code = fatal
    ? EXIT.fatal
    : stopped
      ? EXIT.interrupted
      : tally.failed + tally.failedBefore > 0
        ? EXIT.failed
        : EXIT.ok
  if (flags.json) {
    const summary = { ...tally, errors: Object.fromEntries(tally.errors), ms: Math.round(ms), exitCode: code }
    if (reader) process.stdout.write(`${JSON.stringify({ summary })}\n`)
  }
  const nothingStarted =
    tally.ok + tally.skipped + tally.failed + tally.failedBefore + tally.interrupted === 0
  if (fatal) {
    const { message, hint } = fatal as FatalError
    const stopped = nothingStarted ? '' : '; stopped, files already saved are complete'
    // An error's words may quote a file's or a server's text (see program.ts): never acted on.
    say(
      `imgpull: ${printable(message)}${stopped}${hint ? `; ${flagWords(hint)}` : ''}${partsHeld(fatal, layout(out).parts)}`,
    )
    if (nothingStarted) return code
  }
  if (!flags.json && !(flags.quiet && code === EXIT.ok)) {
    const empty = run.stats.read === 0 && !stopped
    // Right below the failures it is about, before the summary.
    const hidden = hiddenFailures(met.own - SHOWN_FAILURES, met.before - SHOWN_FAILURES)
    if (hidden) say(hidden)
    // An empty input is said in words, not as a line of zeros.
    if (!flags.quiet && !empty) say(summaryLine(tally, ms))
    if (!flags.quiet && empty && !hooks.emptyExplained) {
      say(emptyInputLine(hooks.inputs, hooks.tables))
    }
    if (tally.failed && !fatal)
      say(`Failures: ${errorBreakdown(tally)}. Details: ${whereDetails(out, options)}.`)
    // A rerun whose failures are all an earlier run's exits 1 too: where to read them, as above
    // (it said only that they were skipped, below 20 lines of them and 'N more not shown').
    else if (tally.failedBefore && !fatal)
      say(`Details of the ${grouped(tally.failedBefore)} failed before: ${whereDetails(out, options)}.`)
    if (tally.sharePages && !fatal) say(`${sharePageWords(tally.sharePages)}.`)
    if (stopped && !fatal) say('Run the same command again to continue where this run stopped.')
  }
  return code
}

/**
 * The failures left unshown, this run's (`own`) and the earlier runs' (`before`; 0 or less: none):
 * `(3 more failures not shown, and 5 more failed before)`.
 */
function hiddenFailures(own: number, before: number): string | undefined {
  const failures = (n: number) => `${grouped(n)} more ${plural(n, 'failure')}`
  if (own > 0 && before > 0) return `(${failures(own)} not shown, and ${grouped(before)} more failed before)`
  if (own > 0) return `(${failures(own)} not shown)`
  if (before > 0) return `(${grouped(before)} more failed before not shown)`
  return undefined
}

function count(t: ReturnType<typeof newTally>, r: Result) {
  if (r.status === 'ok') {
    t.ok++
    t.bytes += r.bytes ?? 0
    return
  }
  if (r.status === 'skipped') {
    t.skipped++
    return
  }
  if (isSharePageFailure(r.error, r.message)) {
    t.sharePages++
    if (r.earlier) t.sharePagesBefore++
  }
  if (r.earlier) {
    t.failedBefore++
    if (INPUT_ERRORS.has(r.error ?? '')) t.inputOwnBefore++
  } else {
    t.failed++
    if (r.error) t.errors.set(r.error, (t.errors.get(r.error) ?? 0) + 1)
  }
}

/** Where a table's rows come from, and what of them to carry (`--url-col`...). */
export type TableFlags = TableOptions

/**
 * Which inputs are tables: a table's file name (`.csv`, `.parquet.gz`...), a folder, or any file
 * with `--input-format`. The rest are URLs and URL lists.
 */
async function tableInputs(inputs: string[], format: string | undefined): Promise<boolean[]> {
  const { detectTableFormat, packedTableName } = await import('../sources/tables/format.js')
  return Promise.all(
    inputs.map(async (arg) => {
      if (arg === '-' || isUrlArgument(arg)) return false
      // A compressed table imgpull does not read (`x.csv.zst`) is a table its reader refuses, not a list.
      if (format !== undefined || detectTableFormat(arg) || packedTableName(arg)) return true
      return (await stat(arg).catch(() => undefined))?.isDirectory() === true
    }),
  )
}

/** The main command: `imgpull [inputs...]`, URLs and URL lists, or tables. */
export async function pullCommand(
  inputs: string[],
  options: Options,
  flags: OutputFlags,
  tables: TableFlags = {},
): Promise<number> {
  if (inputs.length === 0)
    throw new UsageError(
      `no input: give image URLs, a file with one URL per line, a table, or - for stdin${pipedInputWords()}`,
    )
  const typed = terminalInputLine(inputs)
  if (typed !== undefined && !flags.quiet) process.stderr.write(`${typed}\n`)
  // The folder's own manifest as the input (`imgpull photos/manifest.jsonl -o photos`, to go on with
  // it): its URLs were fetched again beside the images there, each saved a second time.
  const manifest = resolve(layout(filePath('out', options.out ?? '.')).manifest)
  const own = inputs.find((input) => input !== '-' && !isUrlArgument(input) && resolve(input) === manifest)
  if (own) {
    throw new UsageError(
      `'${own}' is the manifest of the folder this run writes to, not a list to fetch into it: to go on with the run that made it, run that command again; to fetch its URLs anew, give another -o`,
    )
  }
  // Without -o, the last of several inputs may be the output folder meant (`imgpull urls.txt
  // photos`, cp's order): said so where it is no file, or a folder.
  const maybeOut = flags.outGiven || inputs.length < 2 ? undefined : inputs.at(-1)
  // The rerun of a run typed so: its folder is there, and was read as a folder of tables.
  if (maybeOut !== undefined && existsSync(layout(maybeOut).work)) {
    throw new UsageError(
      `${visibleShellWord(maybeOut, 'always')} is an imgpull output folder, given as the last input: to run into it, give it with -o: -o ${visibleShellWord(maybeOut)}`,
    )
  }
  // `-` with --input-format: a table on standard input, read as the pipe it is (see `PipeTap`).
  if (inputs.includes('-')) refuseFolderStdin()
  if (tables.format !== undefined) inputs = inputs.map((input) => (input === '-' ? STDIN_PATH : input))
  const areTables = await tableInputs(inputs, tables.format)
  if (areTables.some(Boolean)) {
    const lists = inputs.filter((_, i) => !areTables[i])
    // A list that cannot be read says so first: a mistyped command is no URL list.
    await checkInputs(lists, undefined, maybeOut)
    if (lists.length > 0) {
      const folder =
        maybeOut !== undefined && statSync(maybeOut, { throwIfNoEntry: false })?.isDirectory() === true
          ? `, ${visibleShellWord(maybeOut, 'always')} a folder of tables; if it is the output folder, give it with -o: -o ${visibleShellWord(maybeOut)}`
          : ''
      throw new UsageError(
        `cannot mix tables and URL lists in one run (${inputWord(lists[0]!, 'always')} is a URL list${folder}): run them one after the other`,
      )
    }
    await checkNotOutputs(inputs, filePath('out', options.out ?? '.'))
    // Loaded only for tables: their readers (csv-parse, hyparquet) cost start-up URL lists need not pay.
    const { openTables, tablesSource } = await import('../sources/tables/index.js')
    const opened = await openTables(inputs, tables)
    const carried = tables.columns ?? opened.columns
    if (options.outputFormat === 'webdataset' && carried) {
      const { shadowedWarning } = await import('../sinks/webdataset/row.js')
      const words = shadowedWarning(carried, tables)
      if (words !== undefined) process.emitWarning(words, { code: 'IMGPULL_COLUMN_SHADOWED' })
    }
    return runPull(tablesSource(opened, tables.columns), options, flags, { inputs, tables: true })
  }
  // Table options given for URL lists would be dropped without a word (a hash never checked).
  // A file that is no list (a spreadsheet, an archive) is said as what it is first: told to give
  // --input-format, a spreadsheet's user was then told to unzip it.
  const onLists = tableOptionOnLists(tables, inputs)
  if (onLists) throw (await firstNotAList(inputs)) ?? new UsageError(onLists)
  checkTemplate(options.name ?? '{name}{ext}')
  await checkInputs(inputs, undefined, maybeOut)
  // Counting reads the lists a second time: only worth it when progress (a live line, or the lines
  // of a log) shows the total.
  const total = progressShown(flags) ? countInputs(inputs).total : undefined
  return runPull(argumentJobs(inputs), options, flags, { total, inputs })
}

/**
 * Refuse a table input that is the output folder, or a file imgpull writes there that reads as a
 * table (`ownTableLike`): each rerun would read the last run's manifest or shards' Parquet files as
 * rows of its own, fetch them again and write them into its outputs, the dataset growing by its own
 * rows every time (img2dataset stops on it: rom1504/img2dataset#207). The tables reader refuses a
 * folder that holds `.imgpull/` already; this refuses the first run too (whose rerun the reader
 * would refuse, its folder of tables then an output folder), a glob's shard Parquet files, and
 * paths through symbolic links. A folder inside the output folder is fine: subfolders of an input
 * folder are not read.
 */
async function checkNotOutputs(inputs: readonly string[], out: string): Promise<void> {
  const real = (path: string) => realpath(path).catch(() => resolve(path))
  const outReal = await real(out)
  let entries: Set<string> | undefined
  for (const input of inputs) {
    const at = await real(input)
    // An output folder already (it holds `.imgpull/`): the tables reader says how to go on with it.
    if (at === outReal && !existsSync(layout(at).work))
      throw new UsageError(
        `${visibleShellWord(input, 'always')} is also the output folder: the next run would read the manifest and shards written there as tables and fetch their rows again; give another -o (a folder inside it is fine: subfolders of an input folder are not read)`,
      )
    if (dirname(at) !== outReal) continue
    entries ??= new Set(await readdir(outReal).catch(() => []))
    const what = ownTableLike(basename(at), entries)
    if (what)
      throw new UsageError(
        `${visibleShellWord(input, 'always')} is ${what}, not an input table: leave it out`,
      )
  }
}

/** Where the failures of a run are told in full: a run without a journal has no `status`. */
function whereDetails(out: string, options: Options): string {
  const paths = layout(out)
  // The report first: the page a newcomer opens (it was named nowhere in the run's lines).
  // The folder's name, in the command too, as a shell reads it back.
  const report = options.report !== false ? `${visibleShellWord(paths.report)} (open it in a browser), ` : ''
  if (options.journal !== false)
    return `${report}${visibleShellWord(paths.manifest)} or \`imgpull status ${visibleShellWord(out)}\``
  // Such a run leaves the manifest of a folder that has a journal to it (see pull()).
  if (existsSync(paths.journal)) return 'the lines above, or every result with --json'
  return visibleShellWord(paths.manifest)
}

/**
 * Why `--threads` is more than this machine can use, or `undefined`: each thread is an isolate of its
 * own (some 15 MB, and its start-up) that only pays on a free core; past the cores they take turns
 * with the main thread (`--threads 64` on 2 cores: 16 tiny images in 28 s and 1 GB).
 */
export function threadsWarning(threads: number | 'auto', cores: number): string | undefined {
  // Past MAX_THREADS the options refuse it: one line, the error's. `auto` stays within the cores.
  if (threads === 'auto' || threads <= cores || threads > MAX_THREADS) return undefined
  return `--threads ${threads} is more than this machine's ${cores} ${plural(cores, 'core')}: threads beyond them only take turns, each with memory of its own; use at most ${cores}`
}

/**
 * Why the output folder `out` is a poor place, or `undefined`: it is inside an earlier run's output
 * folder (a folder above it holds that run's work folder, `.imgpull`), as `-o photos/cats` after a
 * run into `photos` makes it. The two runs' journals then nest: the outer one lists none of the
 * inner run's files (`imgpull status` and the report of `photos` count none of them, a rerun there
 * fetches its own again beside them), and a removal or copy of the outer folder takes them along. Said, not refused: the folder is the user's to choose.
 */
export function nestedRunWarning(out: string): string | undefined {
  const given = resolve(out)
  for (let at = dirname(given); ; at = dirname(at)) {
    if (statSync(join(at, WORK_DIR), { throwIfNoEntry: false })?.isDirectory()) {
      const outer = visibleShellWord(relativeOr(at))
      return `-o ${visibleShellWord(out)} is inside ${outer}, an earlier run's output folder (it holds ${visibleShellWord(join(relativeOr(at), WORK_DIR))}): that run's journal does not list this run's files (imgpull status ${outer} and its report count none of them), and a removal or copy of ${outer} takes them along; give a folder outside it, or -o ${outer} to go on with that run`
    }
    if (dirname(at) === at) return undefined
  }
}

/** `path` relative to the working folder when it is inside it, else as it is. */
function relativeOr(path: string): string {
  const here = relative(process.cwd(), path)
  return here === '' ? '.' : here.startsWith('..') || isAbsolute(here) ? path : here
}

/**
 * Why `--max-size` (`maxSize`, bytes) is too small for the images meant, or `undefined`: a bare
 * number counts bytes, as curl's `--max-filesize` does, so `--max-size 100` meant for megabytes
 * refused every image as `too-large`, each failure saying so but nothing before the run. Under
 * 1 KiB: a few images are so small (a 1x1 GIF is 35 bytes), hardly a list of them.
 */
export function maxSizeWarning(maxSize: number | undefined): string | undefined {
  if (maxSize === undefined || maxSize >= 1024) return undefined
  return `--max-size ${maxSize} is ${maxSize} ${plural(maxSize, 'byte')} (a bare number counts bytes, as curl's --max-filesize does): few images are so small, and larger ones fail as too-large; give ${maxSize}MB for megabytes`
}

/**
 * For a full disk, what imgpull's own part files hold, when they hold anything: the space a user
 * may not know is imgpull's (a rerun without the large image still meets the full disk). For a
 * file over the limit on file sizes (EFBIG, `ulimit -f`), the part it cut short is kept as well:
 * a rerun under a raised limit resumes it, so it is said too (its space is not the remedy there).
 */
function partsHeld(fatal: unknown, parts: string): string {
  const code = errorCode((fatal as FatalError).cause)
  const full = code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL'
  if (!full && code !== 'EFBIG') return ''
  let entries: Dirent[]
  try {
    entries = readdirSync(parts, { recursive: true, withFileTypes: true })
  } catch {
    return ''
  }
  const bytes = partsBytes(entries)
  if (bytes === 0) return ''
  const held = `partial downloads in ${visibleShellWord(parts)} hold ${formatBytes(bytes)}: a rerun resumes them`
  const inodes = fatal instanceof Error && fatal.message.includes(NO_INODES_WORDS)
  return full ? ` (${held}, deleting them frees ${inodes ? 'their inodes' : 'that space'})` : ` (${held})`
}

/**
 * The bytes of the files among `entries` (a listing of the parts folder): a part that cannot be
 * looked at (removed since it was listed, ENOENT) counts for nothing, the others still count.
 */
export function partsBytes(entries: readonly Dirent[]): number {
  let bytes = 0
  for (const entry of entries) {
    if (!entry.isFile()) continue
    try {
      bytes += statSync(join(entry.parentPath, entry.name), { throwIfNoEntry: false })?.size ?? 0
    } catch {
      // Not to be looked at (EACCES on the way): the others are counted still.
    }
  }
  return bytes
}
