import { type Command, InvalidArgumentError, Option } from 'commander'
import { defaults } from '../options.js'
import { ENQUEUE_RENEW_MS, REDIS_WAIT_MS } from '../queue/enqueue-lease.js'
import { counted, grouped as n, plural } from '../report/format.js'
import { printable } from '../utils/printable.js'
import { integer, seconds } from './parse.js'
import { EXIT, handleEarlySignals, takeSignals } from './pull-command.js'
import { addPullOptions, pullOptionsFrom } from './pull-options.js'
import { exitCodesHelp } from './queue-exits.js'
import { addQueueOptions, LEAVE_MS, redisFrom, redisNamed, redisSource } from './queue-options.js'
import { terminalInputLine } from './stdin-words.js'
import { addTableOptions, tableFrom } from './table-options.js'
import { addTransformOptions, transformAttributes, transformFrom } from './transform-options.js'

/** Pull options that are the worker's, not the queue's: refused on enqueue, with where they go. */
const WORKER_ONLY = ['out', 'grace', 'journal', 'report', 'quiet'] as const

/**
 * `imgpull enqueue INPUTS --redis URL --queue NAME`: one BullMQ job per shard of the input, with
 * the run's options (the pull, transform and table options of `imgpull`) for every shard.
 */
export function addEnqueueCommand(program: Command): Command {
  const command = program
    .command('enqueue')
    .description('add a URL list or table to a Redis queue, one job per shard, for `imgpull worker`s to pull')
    .argument(
      '<inputs...>',
      'URL list files, tables (CSV, TSV, JSON lines, Parquet) or a folder of them, or - for stdin',
    )
  addQueueOptions(command)
  addPullOptions(command)
  addTransformOptions(command)
  addTableOptions(command)
  // The WebDataset output's --shard-size is also the queue's: one job per shard, whatever the format.
  const shardSize = command.options.find((o) => o.long === '--shard-size')
  if (shardSize)
    shardSize.description = `rows a shard: one job, and one folder or one WebDataset tar of outputs, at most 1,000,000 (default: ${defaults.shardSize})`
  // Here --retry-failed re-opens done shards, as a local rerun with it (see `reopens`).
  const retry = command.options.find((o) => o.long === '--retry-failed')
  if (retry)
    retry.description =
      'also re-open done shards whose images failed for good (404, not an image...); enqueuing again re-opens those with passing failures (timeouts, 5xx)'
  const json = command.options.find((o) => o.long === '--json')
  if (json) json.description = 'print what was enqueued as one JSON object on stdout'
  command
    .option('--inline', "carry each shard's rows in its job (when workers cannot read the input where it is)")
    .option('--attempts <n>', 'attempts a shard gets before it is failed', integer(1), 5)
    .addOption(
      new Option('--backoff <s>', 'wait before a failed shard is tried again, doubled each time')
        .argParser(seconds)
        .default(30_000, '30'),
    )
    .addOption(
      new Option(
        '--redis-wait <s>',
        'stop (exit 2) once Redis has sent nothing this long (down, hung): the shards added stay, and the same command run again adds the rest; 5 minutes, as a worker with --exit-when-done gives it by default (10 times --lock-duration); at least 10',
      )
        .argParser(redisWait)
        .default(REDIS_WAIT_MS, '300'),
    )
  for (const option of command.options)
    if ((WORKER_ONLY as readonly string[]).includes(option.attributeName())) option.hideHelp()
  command.addHelpText('after', exitCodesHelp('enqueue'))
  command.action(async (inputs: string[], o: Record<string, unknown>) => {
    process.exitCode = await enqueueCommand(inputs, o, command)
  })
  return command
}

async function enqueueCommand(
  inputs: string[],
  o: Record<string, unknown>,
  command: Command,
): Promise<number> {
  const given = WORKER_ONLY.find((name) => command.getOptionValueSource(name) === 'cli')
  if (given) {
    const flag = command.options.find((x) => x.attributeName() === given)?.long
    process.stderr.write(`imgpull: ${flag} is a worker's option: give it to imgpull worker\n`)
    return EXIT.usage
  }
  // Here --shard-size is the queue's too (any output format): taken apart from the run's options.
  const { options } = pullOptionsFrom({ ...o, shardSize: undefined })
  // The password checks --cert here; it never goes into Redis (each worker is given its own).
  const { out: _o, journal: _j, report: _r, command: _c, rerun: _w, clientCertPassword, ...run } = options
  const [{ enqueue }, { QueueError, shownRedis }] = await Promise.all([
    import('../queue/enqueue.js'),
    import('../queue/errors.js'),
  ])
  // Ctrl-C: the shards added stay, the queue is left not complete (a worker with --exit-when-done
  // must not take it for ended); a second one ends the process at once.
  const stop = new AbortController()
  const onSignal = () => {
    if (stop.signal.aborted) process.exit(EXIT.interrupted)
    stop.abort()
    // The shards read are sent before it ends: a Redis that stopped answering held it, silent, for
    // as long as Redis did. Shard ids are the input's: run again, nothing is added twice.
    setTimeout(() => {
      process.stderr.write(
        `imgpull: stopped without reaching Redis at ${shownRedis(redisFrom(o))}: the shards being added when it stopped answering may not be in the queue; run the same command again once it answers (nothing is added twice)\n`,
      )
      process.exit(EXIT.interrupted)
    }, LEAVE_MS).unref()
  }
  takeSignals(onSignal)
  const typed = terminalInputLine(inputs)
  if (typed !== undefined) process.stderr.write(`${typed}\n`)
  try {
    const result = await enqueue(inputs, {
      signal: stop.signal,
      redis: redisFrom(o),
      queue: o.queue as string,
      // Not given: the queue's, when it holds this input already.
      shardSize: o.shardSize as number | undefined,
      table: tableFrom(o),
      inline: o.inline === true,
      retryFailed: o.retryFailed === true,
      attempts: o.attempts as number,
      backoff: o.backoff as number,
      redisWait: o.redisWait as number,
      options: { ...run, transform: transformFrom(o) },
      clientCertPassword,
      chosen: chosenOptions(command, Object.keys(run)),
    })
    if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`)
    else if (result.stopped)
      process.stderr.write(
        `${result.queue}: stopped before the input's end: ${counted(result.shards, 'shard')} of up to ${n(result.shardSize)} rows: ${n(result.added)} added, ${n(result.existing)} already queued or done; the rest is not in the queue: run the same command again to add it\n`,
      )
    else {
      const rate = result.ms > 0 ? ` (${n(Math.round((result.rows * 1000) / result.ms))} rows/s)` : ''
      process.stderr.write(
        `${result.queue}: ${counted(result.shards, 'shard')} of up to ${n(result.shardSize)} rows (${counted(result.rows, 'row')}): ${n(result.added)} added, ${n(result.existing)} already queued or done${againWords(result)}; ${(result.ms / 1000).toFixed(1)} s${rate}\n`,
      )
      process.stderr.write(
        result.mode === 'pointer'
          ? `Workers read the rows from ${result.files.join(', ')}: that path must reach them (a shared folder), or enqueue with --inline.\n`
          : `Rows are carried in the jobs (${result.inlineReason}).\n`,
      )
      // The options' files are never carried: each worker reads its own at the same path.
      if (result.optionFiles.length > 0)
        process.stderr.write(
          `Workers read ${result.optionFiles.join(', ')} on their own machines: ${result.optionFiles.length === 1 ? 'that path' : 'those paths'} must reach them.\n`,
        )
    }
    return result.stopped ? EXIT.interrupted : EXIT.ok
  } catch (error) {
    if (!(error instanceof QueueError)) throw error
    // A queue's words may quote what its jobs hold (file names, a table's columns).
    process.stderr.write(`imgpull: ${printable(redisNamed(error, redisFrom(o), redisSource(o)))}\n`)
    return EXIT.usage
  } finally {
    handleEarlySignals(onSignal)
  }
}

/** `--redis-wait`: seconds, at least twice the enqueue lease's renewal (which hears from a Redis that answers); as ms. */
function redisWait(value: string): number {
  const ms = seconds(value)
  if (ms < 2 * ENQUEUE_RENEW_MS)
    throw new InvalidArgumentError(
      `expected at least ${(2 * ENQUEUE_RENEW_MS) / 1000} seconds: a Redis that answers is heard from every ${ENQUEUE_RENEW_MS / 1000} s`,
    )
  return ms
}

/** Run options given by other command-line options than their own names (`-H` makes `headers`). */
const GIVEN_BY: Record<string, readonly string[]> = {
  headers: ['header'],
  proxy: ['proxy', 'proxyGiven', 'noProxyGiven'],
  transform: transformAttributes(),
}

/**
 * The run options (of `keys`, and `transform`) this command line gave: the others are the queue's
 * when it holds the input already. A default is no choice: enqueuing a list again without the
 * first enqueue's `-c 8` was refused as "other options (concurrency 8, not 128)".
 */
export function chosenOptions(command: Command, keys: readonly string[]): string[] {
  const given = (name: string) => {
    const source = command.getOptionValueSource(name)
    return source !== undefined && source !== 'default'
  }
  return [...keys, 'transform'].filter((key) => (GIVEN_BY[key] ?? [key]).some(given))
}

/** What an enqueue put back of the shards the queue held, in words (` (1 of them failed, ...)`). */
export function againWords(r: { retried: number; reopened: number; refetch: number }): string {
  const parts: string[] = []
  if (r.retried) parts.push(`${n(r.retried)} of them failed, put back to try again`)
  if (r.reopened)
    parts.push(
      `${n(r.reopened)} re-opened to fetch ${r.reopened === 1 ? 'its' : 'their'} ${n(r.refetch)} failed ${plural(r.refetch, 'image')} again`,
    )
  return parts.length ? ` (${parts.join('; ')})` : ''
}
