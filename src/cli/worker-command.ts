import { availableParallelism } from 'node:os'
import { type Command, Option } from 'commander'
import { MAX_THREADS } from '../options.js'
import type { WorkerSummary } from '../queue/worker.js'
import { counted, formatBytes, grouped, plural } from '../report/format.js'
import { printable } from '../utils/printable.js'
import { flagWords } from './flag-words.js'
import { autoOrInteger, folder, integer, seconds } from './parse.js'
import { EXIT, handleEarlySignals, threadsWarning } from './pull-command.js'
import { CERT_PASSWORD_VARIABLE, certFlagWords, certPasswordOf } from './pull-options.js'
import { exitCodesHelp, type WorkerStop, workerEnding } from './queue-exits.js'
import { addQueueOptions, LEAVE_MS, redisFrom, redisNamed, redisSource } from './queue-options.js'
import { STOP_SIGNALS, stoppingLine } from './stop-words.js'

const n = grouped

/** `imgpull worker --redis URL --queue NAME -o DIR`: take shards from the queue until stopped. */
export function addWorkerCommand(program: Command): Command {
  const command = program
    .command('worker')
    .description(
      'take shards from a Redis queue and pull them into an output folder (any number, on any machine)',
    )
  addQueueOptions(command)
  command
    .option('-o, --out <dir>', 'output folder (may be shared by workers)', folder, '.')
    .option(
      '-c, --concurrency <n>',
      "transfers at once in a shard's run (default: the enqueued one)",
      integer(1),
    )
    // A machine's, as -c is: workers on machines of different sizes each take their own.
    .option(
      '--threads <n|auto>',
      "transfer threads beside the main thread in a shard's run, or auto: the worker's, shared by its running shards (see imgpull --help) (default: the enqueued one)",
      autoOrInteger(0, MAX_THREADS),
    )
    .option('--shards <n>', 'shards this worker runs at once', integer(1), 1)
    // The queue's shards carry --cert and --key (paths, as --ca-cert), never a password.
    .option(
      '--cert-password-file <file>',
      `the password of the enqueued --cert's key or PKCS #12 file, read from this file, or set ${CERT_PASSWORD_VARIABLE}: it is never put in Redis, nor taken on the command line (every user of the machine can read that)`,
    )
    .addOption(
      new Option(
        '--lock-duration <s>',
        "how long a shard stays this worker's without renewal: a dead worker's shard goes back after it",
      )
        .argParser(seconds)
        .default(30_000, '30'),
    )
    .option(
      '--exit-when-done',
      'stop once no shard is left waiting, retrying or running: exit 0 when every shard of the queue is done, 1 when shards failed for good (see Exit codes)',
    )
    .option(
      '--grace <s>',
      'seconds transfers get to finish after the first Ctrl-C or SIGTERM',
      (v) => seconds(v) / 1000,
      10,
    )
    .option('--json', 'one JSON line per event on stdout')
    .option('-q, --quiet', 'print errors only')
    .addHelpText('after', exitCodesHelp('worker'))
    .action(async (o: Record<string, unknown>) => {
      process.exitCode = await workerCommand(o)
    })
  return command
}

async function workerCommand(o: Record<string, unknown>): Promise<number> {
  const [{ runWorker }, { QueueError }, { shardStem }] = await Promise.all([
    import('../queue/worker.js'),
    import('../queue/errors.js'),
    import('../queue/keys.js'),
  ])
  const drain = new AbortController()
  const hard = new AbortController()
  const grace = o.grace as number
  const print = (line: string) => process.stderr.write(`${line}\n`)
  // The library's words for the enqueued certificate and this worker's password, as options.
  const certWords = (text: string) => certFlagWords(text, o.certPasswordFile as string | undefined)
  let interrupted = false
  let stop: WorkerStop
  // Giving shards back and closing need Redis: one that stays unreachable would hold the stop
  // for good. After a hard stop the worker gets this long, then leaves; the shards it held go
  // back when their locks lapse.
  const stopHard = () => {
    hard.abort(new Error('stopped'))
    setTimeout(() => {
      print(
        `imgpull: stopped without reaching Redis; the shards this worker held go back to the queue when their locks lapse (--lock-duration)`,
      )
      process.exit(EXIT.interrupted)
    }, LEAVE_MS).unref()
  }
  const onSignal = (signal?: NodeJS.Signals) => {
    if (!interrupted) {
      interrupted = true
      stop = 'graceful'
      if (!o.json && !o.quiet)
        print(
          stoppingLine(
            signal,
            `finishing transfers in flight (up to ${grace} s), then giving unfinished shards back`,
          ),
        )
      drain.abort()
      // Its grace over, the transfers are cut: still the stop asked for (systemd's SIGTERM, long
      // transfers), its shards given back. A second signal is someone's "now".
      setTimeout(stopHard, grace * 1000).unref()
    } else {
      stop = 'hard'
      stopHard()
    }
  }
  // The program's early handlers end the process at once: from here a stop gives shards back. The
  // handler is added before the others go (see swapSignalHandler).
  for (const signal of STOP_SIGNALS) {
    process.on(signal, onSignal)
    for (const other of process.listeners(signal)) if (other !== onSignal) process.off(signal, other)
  }
  const threads = threadsWarning((o.threads as number | 'auto' | undefined) ?? 0, availableParallelism())
  if (threads && !o.json) print(`imgpull: warning: ${threads}`)
  try {
    const summary = await runWorker({
      redis: redisFrom(o),
      queue: o.queue as string,
      out: o.out as string,
      concurrency: o.concurrency as number | undefined,
      threads: o.threads as number | 'auto' | undefined,
      shards: o.shards as number,
      // The variable too, whatever the shards: only those with a --cert are given it.
      clientCertPassword: certPasswordOf({ ...o, cert: true }),
      lockDuration: o.lockDuration as number,
      exitWhenDone: o.exitWhenDone === true,
      signal: hard.signal,
      drainSignal: drain.signal,
      onEvent: (e) => {
        if (o.json) {
          process.stdout.write(`${JSON.stringify(e)}\n`)
          return
        }
        if (e.type === 'failed')
          print(`imgpull: shard ${shardStem(e.shard)} failed: ${printable(certWords(e.message))}`)
        else if (
          e.type === 'redis' ||
          e.type === 'note' ||
          e.type === 'enqueue-stopped' ||
          e.type === 'paused' ||
          e.type === 'foreign'
        )
          print(`imgpull: ${e.message}`)
        else if (e.type === 'clock') print(`imgpull: warning: ${e.message}`)
        else if (o.quiet) return
        else if (e.type === 'empty') print(e.message)
        else if (e.type === 'started')
          print(`worker ${e.worker} on queue ${o.queue}: taking shards (Ctrl-C to stop)`)
        else if (e.type === 'shard')
          print(
            `shard ${shardStem(e.shard)}: ${counted(e.rows, 'row')}${e.round ? `, re-opened (round ${e.round}): its failed images again` : ''}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}`,
          )
        else if (e.type === 'done') {
          const c = e.counts
          print(
            c.alreadyPublished
              ? `shard ${shardStem(e.shard)}: already published`
              : `shard ${shardStem(e.shard)}: ${n(c.ok + c.skipped)} ok (${formatBytes(c.bytes)}), ${n(c.failed)} failed in ${(c.ms / 1000).toFixed(1)} s`,
          )
        } else if (e.type === 'released')
          print(`shard ${shardStem(e.shard)}: given back to the queue (${certWords(e.why)})`)
      },
    })
    const ending = workerEnding(summary, {
      queue: o.queue as string,
      exitWhenDone: o.exitWhenDone === true,
      stop,
    })
    if (o.json)
      process.stdout.write(`${JSON.stringify({ summary: { ...summary, exitCode: ending.code } })}\n`)
    else if (!o.quiet || summary.fatal)
      print(
        `worker ${summary.worker}: ${counted(summary.shards, 'shard')} done, ${summary.foundPublished > 0 ? `${n(summary.foundPublished)} found already published, ` : ''}${givenBackWords(summary)}, ${n(summary.failed)} failed ${plural(summary.failed, 'attempt')}${summary.failedForGood > 0 ? ` (${n(summary.failedForGood)} failed for good: see imgpull status)` : ''}; ${imagesWords(summary)}, ${n(summary.failedImages)} failed${summary.unfinished > 0 ? `; ${formatBytes(summary.received)} received in all` : ''}, in ${(summary.ms / 1000).toFixed(1)} s`,
      )
    if (summary.fatal)
      print(
        certWords(
          `imgpull: ${summary.fatal.message}${summary.fatal.hint ? `; ${flagWords(summary.fatal.hint)}` : ''}`,
        ),
      )
    // Last, what the exit code says: a script's `&&`, a Kubernetes Job, systemd read it alone.
    else if (ending.line && !o.json) print(`imgpull: ${ending.line}`)
    return ending.code
  } catch (error) {
    if (!(error instanceof QueueError)) throw error
    print(`imgpull: ${redisNamed(error, redisFrom(o), redisSource(o))}`)
    return EXIT.usage
  } finally {
    handleEarlySignals(onSignal)
  }
}

/**
 * "N images ok (size)" of a worker's last line, with those its shards' journals held: its own
 * earlier attempts' (already in N) apart from those done before it (not in N). Pure.
 */
export function imagesWords(s: WorkerSummary): string {
  const own = s.ownBefore
  const before = s.skipped - own
  return `${counted(s.ok, 'image')} ok (${formatBytes(s.bytes)}${own ? `; ${n(own)} of them fetched by an earlier attempt of its own` : ''})${before ? `, ${n(before)} done before` : ''}`
}

/**
 * "N given back" of a worker's last line, with the images of those shards it left unfinished
 * (its line then says the bytes it received in all, theirs included): a shard cut mid-way by a
 * lost lock said only "0 images ok", as if the worker had done nothing. Pure.
 */
export function givenBackWords(s: Pick<WorkerSummary, 'released' | 'unfinished'>): string {
  return `${n(s.released)} given back${s.unfinished > 0 ? ` with ${counted(s.unfinished, 'image')} unfinished` : ''}`
}
