import { Help } from 'commander'
import type { WorkerSummary } from '../queue/worker.js'
import { counted, grouped as n } from '../report/format.js'
import { EXIT } from './pull-command.js'

/**
 * What each exit code of the queue commands says: the one table `--help` prints and the README's
 * "Exit codes of the queue commands" holds (test/docs.test.ts checks them against it). A
 * supervisor (systemd, a Kubernetes Job, a shell's `&&`) reads these alone: a worker exited 0 when
 * a shard it had lost its lock on then failed for good, and 130 when systemd stopped it as asked.
 */
export const QUEUE_EXITS = {
  worker: [
    [
      EXIT.ok,
      'with --exit-when-done, the queue is done: every shard of its input done (images failed in a done shard are in its manifest and in status, not a shard failure); without it, stopped as asked by SIGTERM or Ctrl-C (systemctl stop, docker stop, a Kubernetes pod ending), each shard it held published or given back to the queue',
    ],
    [
      EXIT.failed,
      "with --exit-when-done, the queue ended not done: shards failed for good, by this worker or another (one it lost its lock on included), now or in an earlier run (imgpull status says why; enqueuing the same input again tries them again); or its enqueue stopped before the input's end; or the queue went from Redis under it",
    ],
    [
      EXIT.usage,
      'usage error; Redis unreachable, refusing or evicting keys when it starts, or, with --exit-when-done, unreachable, hung (down, or its connection open with nothing answered) or refusing its commands (a password set or changed, an ACL user that lost its keys, a read-only replica, full) for 10 times --lock-duration while it runs (5 minutes by default: gone for good, what became of the queue not known); a queue name Redis cannot take',
    ],
    [
      EXIT.fatal,
      "a local fault stopped it (disk full, the output folder unwritable or holding another input, no password or a wrong one for the queue's --cert, a file the queue's options name, --cookies, --ca-cert, --cert, --key or --netrc-file, not at its path on this machine): its shard given back for another machine",
    ],
    [
      EXIT.interrupted,
      'stopped before the queue was done: SIGTERM or Ctrl-C with --exit-when-done (a batch job cut short, which a Kubernetes Job must not count as done); a second signal, stopping at once; or a stop that could not reach Redis to give its shards back (they go back when their locks lapse)',
    ],
  ],
  enqueue: [
    [EXIT.ok, 'every row of the input is in the queue (added now, or there already)'],
    [
      EXIT.usage,
      'usage error; Redis unreachable or refusing when it starts, or, while it runs, refusing or sending nothing for --redis-wait (5 minutes by default: down, hung): the shards it names are in the queue, and the same command run again adds the rest; the queue holds another input or other options; an input that breaks midway (a record a reader cannot take, a gzip file cut short): the shards read before the fault are in the queue, the rest is not, said by the line, status and the workers',
    ],
    [
      EXIT.interrupted,
      "stopped (Ctrl-C, SIGTERM) before the input's end: the shards added stay; run the same command again to add the rest",
    ],
  ],
  status: [
    [
      EXIT.ok,
      "the folder's or the queue's state was shown, whatever it is (--json: one object on stdout; --failed: the failed URLs, none if nothing failed with the code given)",
    ],
    [
      EXIT.usage,
      "usage error; no imgpull journal in the folder (nor a shard's, in a queue's output folder); --failed with a code imgpull never gives (the line names the codes present); with --queue, Redis unreachable or refusing, or no such queue on that Redis",
    ],
    [EXIT.fatal, "the folder's journal cannot be read (damaged, or its SQLite built for another Node.js)"],
  ],
} as const satisfies Record<string, readonly (readonly [number, string])[]>

/**
 * `--help`'s closing lines for a queue command: its exit codes, each laid out and wrapped to 80
 * columns by commander's own `Help.formatItem`, as its options are. Pure.
 */
export function exitCodesHelp(command: keyof typeof QUEUE_EXITS): string {
  const help = new Help()
  const rows = QUEUE_EXITS[command]
  const width = Math.max(...rows.map(([code]) => String(code).length))
  const lines = rows.map(([code, meaning]) => help.formatItem(String(code), width, meaning, help))
  return `\nExit codes:\n${lines.join('\n')}`
}

/** How a worker's stop was asked for (the CLI's signals), if it was. */
export type WorkerStop = 'graceful' | 'hard' | undefined

/**
 * A worker's exit code (see `QUEUE_EXITS.worker`) and, when it is not 0, the line that says why,
 * last (`undefined`: its summary line is the truth, or the fault was said). Pure.
 */
export function workerEnding(
  s: Pick<
    WorkerSummary,
    | 'fatal'
    | 'failedForGood'
    | 'queueFailed'
    | 'queueGone'
    | 'enqueueStopped'
    | 'redisGone'
    | 'redisSilence'
    | 'redisRefused'
  >,
  how: { queue: string; exitWhenDone: boolean; stop: WorkerStop },
): { code: number; line?: string } {
  if (s.fatal) return { code: EXIT.fatal }
  if (s.redisGone)
    return {
      code: EXIT.usage,
      line: `Redis ${s.redisSilence === 'open' ? 'hung (its connection open, nothing answered)' : 'unreachable'} for ${Math.round(s.redisGone / 1000)} s: what became of queue ${how.queue} is not known: exit ${EXIT.usage}`,
    }
  // Refused for good (a password changed, a replica): said with the refusal and its fix.
  if (s.redisRefused)
    return {
      code: EXIT.usage,
      line: `${s.redisRefused.words}: what became of queue ${how.queue} is not known: exit ${EXIT.usage}`,
    }
  if (how.stop === 'hard')
    return {
      code: EXIT.interrupted,
      line: `stopped at once on a second signal, its transfers cut: exit ${EXIT.interrupted}`,
    }
  if (how.stop === 'graceful')
    return how.exitWhenDone
      ? {
          code: EXIT.interrupted,
          line: `stopped before queue ${how.queue} was done (--exit-when-done): exit ${EXIT.interrupted}`,
        }
      : { code: EXIT.ok }
  if (!how.exitWhenDone) return { code: EXIT.ok }
  const failed = Math.max(s.queueFailed ?? 0, s.failedForGood)
  const why = s.queueGone
    ? 'it went from Redis'
    : failed > 0
      ? `${counted(failed, 'shard')} failed for good${s.failedForGood > 0 ? ` (${n(s.failedForGood)} by this worker)` : ''}: imgpull status --queue ${how.queue} says why; enqueuing the same input again tries ${failed === 1 ? 'it' : 'them'} again`
      : s.enqueueStopped
        ? "its enqueue stopped before the input's end"
        : undefined
  return why
    ? { code: EXIT.failed, line: `queue ${how.queue} is not done: ${why}: exit ${EXIT.failed}` }
    : { code: EXIT.ok }
}
