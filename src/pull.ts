import { availableParallelism } from 'node:os'
import { AUTO_THREADS_AFTER, autoThreadBudget } from './fetch/auto-threads.js'
import { HostSends } from './fetch/host-sends.js'
import { TransferThreads } from './fetch/transfer-threads.js'
import { drawWait, type Options, type ResolvedOptions, resolveOptions } from './options.js'
import { checkSource } from './plan/source-item.js'
import { closeRun } from './run/end.js'
import { Engine } from './run/engine.js'
import { openRun } from './run/start.js'
import { stopFault } from './run/stop-fault.js'
import { parseLine } from './sources/lines.js'
import { needsPool } from './transform/spec.js'
import type { Result, RunStats, Source } from './types.js'
import { abortReason } from './utils/abort-reason.js'
import { hiddenEntries } from './utils/known-keys.js'
import { steadyNow } from './utils/steady-clock.js'

export { holdResults } from './run/engine.js'
export { boundPublishing, type PublishBound } from './run/publish.js'

/**
 * A run in progress: iterate it for results; `stats` changes as it goes. It is iterated once, as a
 * generator is: a loop after the end gets nothing, two iterators share the results; call `pull()`
 * again for another run.
 */
export interface PullRun extends AsyncIterable<Result> {
  readonly stats: RunStats
}

/**
 * Download every image of `source` into `options.out`: concurrently, verified, atomically, and
 * journaled so a rerun does only what is left.
 *
 * `source`: an `Iterable` or `AsyncIterable` of URL strings, `URL` objects or `Job`s (see `Source`);
 * a list's lines through `node:readline`'s `createInterface({ input })` too, its iterator taken as
 * `pull()` is called, so that no line goes by unread before the loop starts.
 * Iterating the returned run yields one `Result` per job, in completion order; a job that fails
 * is a result with `status: 'failed'` and an `error` code, not a throw. Nothing is read, made or
 * fetched until the run is iterated.
 *
 * @throws {TypeError} at once, before anything is written: a bad option (named), or a source that
 *   is not an iterable (one URL or job where a list was meant, a `Buffer`, a generator function
 *   not called: each said so).
 * The iteration rejects with: the `signal`'s reason when it aborts (partial files kept for a rerun);
 * `FolderBusyError` (`code` `folder-busy`) when another run holds `out`; `FatalError` (`code`, a
 * `FatalCode`: `disk`, `output`, `journal`...; `hint`, naming options as given here: `out`,
 * `journal: false`) on a local fault (a full disk, an unwritable folder); `UsageError` (`code`
 * `usage`) for input it cannot read past (an item that is neither a URL nor a job, a `row` given
 * twice, a table cut mid-row), after the items before it are done; an Unsplash source's `UnsplashError` (`code`, an
 * `UnsplashCode`); whatever else the source throws, as thrown, after the items it gave before are done.
 *
 * ```ts
 * for await (const result of pull(['https://…'], { out: 'photos' })) console.log(result.status, result.path)
 * ```
 */
export function pull(source: Source, options: Options = {}): PullRun {
  checkSource(source)
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`Expected the options to be an object, got ${String(options)}`)
  // Before the spread below, which reads a Map's or a Headers' entries as none.
  const hidden = hiddenEntries(options)
  if (hidden !== undefined) throw new TypeError(`Expected the options to be a plain object, got ${hidden}`)
  // A source's own template names files: WebDataset samples are named by their keys.
  const sourceName = options.outputFormat === 'webdataset' ? undefined : source.name
  const resolved = resolveOptions({ ...options, name: options.name ?? sourceName })
  const stats: RunStats = {
    read: 0,
    duplicates: 0,
    active: 0,
    bytes: 0,
    interrupted: 0,
    stopped: false,
    readToEnd: false,
    wallMs: 0,
    waitLeft: 0,
  }
  // One run, however many loops ask for it (as a generator object is): a second iterator is the
  // first, so a loop after the end gets nothing and two at once share the results, where each
  // started a run of its own on these stats (a second folder lock: FolderBusyError).
  let iterator: AsyncGenerator<Result> | undefined
  // The source's own iterator, taken now, read once the run is: a readline interface emits its
  // lines as its file is read and loses those emitted before its iterator is taken
  // (nodejs/node#33463, #42454), so every line went while the run opened its folder and journal,
  // and the loop never ended (a script exited with code 13, nothing done). Taking a generator's,
  // an array's or a source's iterator starts nothing.
  const items = itemsOf(source)
  return {
    stats,
    [Symbol.asyncIterator]: () => {
      iterator ??= run(source, items, resolved, stats, options)
      return iterator
    },
  }
}

/**
 * `source`'s items, its async iterator taken (see `pull`); a sync iterable as it is. A readline
 * interface's lines are a list file's, read as the command reads one (`parseLine`): blank lines,
 * `#` comments and other tools' option lines are no jobs, a comment after a URL is cut off.
 */
function itemsOf(source: Source): Iterable<unknown> | AsyncIterable<unknown> {
  if (!(Symbol.asyncIterator in source)) return source
  const items = source[Symbol.asyncIterator]()
  if (isLineReader(source)) return { [Symbol.asyncIterator]: () => listLines(items as AsyncIterator<string>) }
  return { [Symbol.asyncIterator]: () => items }
}

/**
 * Whether `source` is a `node:readline` interface (either module's). readline is looked up only
 * for an object that has an interface's `line` and `terminal`: importing it at the top cost every
 * command's start-up its load, where only a library caller's list read by lines needs it.
 */
function isLineReader(source: object): boolean {
  if (!('line' in source && 'terminal' in source)) return false
  const { Interface } = process.getBuiltinModule('node:readline')
  const { Interface: Promised } = process.getBuiltinModule('node:readline/promises')
  return source instanceof Interface || source instanceof Promised
}

/** The URLs of a list's lines (see `itemsOf`); the lines' iterator is ended with the run's reading. */
async function* listLines(lines: AsyncIterator<string>): AsyncGenerator<string> {
  try {
    for (let next = await lines.next(); !next.done; next = await lines.next()) {
      const url = parseLine(next.value)
      if (url !== undefined) yield url
    }
  } finally {
    await lines.return?.()
  }
}

async function* run(
  source: Source,
  /** What the run reads: `source`'s items (see `itemsOf`). */
  items: Iterable<unknown> | AsyncIterable<unknown>,
  options: ResolvedOptions,
  stats: RunStats,
  /** The options as given: what transfer threads resolve again on their side. */
  given: Options,
): AsyncGenerator<Result> {
  // Stopped before it began (a request whose client left before the pull started): as fetch()
  // does, reject with the signal's reason, and make no folder, journal, manifest or report.
  if (options.signal?.aborted) throw abortReason(options.signal)
  // So with a drainSignal aborted already (a service's shutdown signal, shared by every request's
  // run): nothing is started, so nothing is made, and the loop ends with nothing, the source left
  // (`stopped`). It made the folder, its journal, an empty manifest and report.html, and status
  // said of a folder no file went into that its last run was stopped before its end
  // (nodejs/undici#475: a signal aborted already is read as the run begins).
  if (options.drainSignal?.aborted) {
    stats.stopped = true
    return
  }
  // The run's start, as the terminal's summary counts it: not when the journal opens.
  const startedAt = steadyNow()
  const started = await openRun(source, options, startedAt)
  const { paths, journal, dispatcher, leftovers, dataset } = started
  // The transform stage's worker processes, only when a transform is asked for.
  const pool = needsPool(options.transform)
    ? new (await import('./transform/pool.js')).TransformPool()
    : undefined
  // `'auto'`: the process's threads, shared with its other runs (a worker's --shards N).
  // --wait, taken where each request is sent, on whichever thread (see host-sends.ts).
  const sends = options.wait === 0 ? undefined : new HostSends(() => drawWait(options.wait))
  const threadCount = options.threads === 'auto' ? autoThreadBudget(availableParallelism) : options.threads
  const threads =
    (typeof threadCount === 'number' ? threadCount : threadCount.total) > 0
      ? new TransferThreads(
          threadCount,
          given,
          (n) => {
            stats.bytes += n
          },
          options.threads === 'auto' ? AUTO_THREADS_AFTER : 0,
          sends,
        )
      : undefined
  const engine = new Engine(source, options, stats, {
    items,
    journal,
    dispatcher,
    leftovers,
    paths,
    pool,
    threads,
    sends,
    dataset,
  })
  let closeError: unknown
  /** The run's own failure (a full disk), as opposed to the caller leaving the loop early. */
  let failed: unknown
  try {
    for await (const result of engine.results()) {
      await source.onResult?.(result)
      yield result
    }
  } catch (error) {
    failed = error
    throw error
  } finally {
    /** Results that came after the loop ended: transfers that finished while the run stopped. */
    let late: Result[]
    ;({ late, closeError } = await closeRun({
      source,
      options,
      stats,
      startedAt,
      started,
      engine,
      pool,
      threads,
    }))
    // A run that fails still tells its caller of every file it saved before the error is thrown:
    // the files are in the folder and the journal, and a count that leaves them out is wrong.
    if (failed !== undefined) {
      // What the end could not write besides (the manifest on a disk out of inodes) is said
      // too: the run's own fault alone is thrown, and the folder was left without its inventory
      // with no word of it.
      const also = closeError === undefined ? undefined : stopFault(closeError, paths)
      const line = also instanceof Error ? also.message : undefined
      if (line !== undefined && line !== (failed as Error | undefined)?.message)
        process.emitWarning(`${line}; the next run writes it`, { code: 'IMGPULL_NOT_WRITTEN' })
      yield* late
    }
  }
  if (closeError) throw stopFault(closeError, paths)
  // As fetch() does: a run stopped through its signal rejects with the signal's reason.
  if (options.signal?.aborted) throw abortReason(options.signal)
}
