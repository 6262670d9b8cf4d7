import { closeSync, fstatSync, openSync } from 'node:fs'
import { isatty } from 'node:tty'
import { describeFsError } from '../sinks/local-faults.js'

/**
 * What the command met writing its standard streams. Node ends a process with a stack trace on a
 * write error of stdout or stderr that no listener takes: `2>/dev/full`, `2>&1 | head` or a
 * terminal hung up (EIO) ended a run midway with exit 1, as if files had failed; `--json >
 * /dev/full` with a stack trace; and `imgpull status --json > s.json` on a full disk, whose error
 * came as the process left, exited 0 over an empty file. curl says the same fault as its exit 23.
 */
export const stdStreams: {
  /** The first write error of stdout other than its reader going away (EPIPE): a local fault. */
  stdoutFault: NodeJS.ErrnoException | undefined
  /** Stdout's reader went away (`| head -1`): what it would be sent is wanted by no one. */
  readerGone: boolean
  /** The command said the fault itself (a run stopped on it): bin.ts says it no more. */
  faultSaid: boolean
} = { stdoutFault: undefined, readerGone: false, faultSaid: false }

/**
 * What says stdout could not be written (`error`, not EPIPE), `what` naming what was lost (and its verb):
 * `cannot write standard output (no space left on device): what this command printed there is
 * cut short`.
 */
export function stdoutFaultWords(error: unknown, what = 'what this command printed there is'): string {
  return `cannot write standard output (${describeFsError(error)}): ${what} cut short`
}

/** What to do about it (see `stdoutFaultWords`). */
export const STDOUT_FAULT_HINT = 'send it where it can be written and run the same command again'

/**
 * Takes the write errors of stdout and stderr (see `stdStreams`): stderr's are dropped, as the
 * run that cannot speak can still do its work (its manifest and journal say all); stdout's are
 * recorded for the command and bin.ts to say. Once, as the command starts.
 */
export function guardStdStreams(): void {
  process.stderr.on('error', () => {})
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (readerGoneBy(error)) stdStreams.readerGone = true
    else stdStreams.stdoutFault ??= error
  })
}

/** Whether stdout was a terminal as the command started (see `readerGoneBy`). */
const stdoutTerminal = isatty(1)

/**
 * Whether a write error of stdout says its reader went away: a pipe's reader gone (EPIPE), or a
 * terminal hung up (EIO there: closed, its ssh session lost), which was said as a local fault,
 * exit 3 (on a file or a disk, EIO is one).
 */
export function readerGoneBy(error: NodeJS.ErrnoException, terminal = stdoutTerminal): boolean {
  return error.code === 'EPIPE' || (terminal && error.code === 'EIO')
}

/**
 * The exit code of a command that ended with `code` once stdout met `fault` (see `stdStreams`):
 * a local fault (3) where the command would have said all was well (0) or some failed (1).
 */
export function exitAfterStdout(code: number, fault: unknown): number {
  return fault !== undefined && (code === 0 || code === 1) ? 3 : code
}

/**
 * Whether stdout and stderr are one file, pipe or terminal (`2>&1`, both on one terminal): what
 * is written to stderr is then mixed into stdout's lines. `true` too where either cannot be told.
 */
export function stdoutIsStderr(): boolean {
  try {
    const out = fstatSync(1)
    const err = fstatSync(2)
    return out.dev === err.dev && out.ino === err.ino
  } catch {
    return true
  }
}

/**
 * Lets the process end with its own exit code once its terminal hung up (closed, an ssh session
 * lost): Node sets each standard stream that was a terminal back to the mode it found it in as it
 * exits, and one hung up refuses (EIO), which Node 20 takes for a broken invariant: it aborted
 * (exit 134, not 130) with a native stack trace in the log (nodejs/node#51519, fixed in later
 * Node by nodejs/node#58200). A terminal hung up is no terminal to `isatty` any more; such a
 * descriptor is pointed at /dev/null as the process exits, and Node leaves a descriptor
 * reopened alone. One still a terminal is left to Node, whose reset it needs. Once, as the
 * command starts.
 */
export function exitPastHungUpTerminal(): void {
  const terminals = [0, 1, 2].filter((fd) => isatty(fd))
  if (terminals.length === 0) return
  process.once('exit', () => {
    for (const fd of terminals) {
      if (isatty(fd)) continue
      try {
        fstatSync(fd)
        closeSync(fd)
        const reopened = openSync('/dev/null', 'r+')
        if (reopened !== fd) closeSync(reopened)
      } catch {}
    }
  })
}
