/**
 * A first stop's acknowledgement, in the words of the signal that asked for it: a SIGTERM
 * (systemd's stop, `docker stop`, `kill`) came from no keyboard, where "press Ctrl-C again" is
 * no way to stop at once; nor did a SIGHUP (the terminal or the ssh session it ran in closed). A
 * second signal of any of these kinds stops at once. Pure.
 */
export function stoppingLine(signal: string | undefined, doing: string): string {
  if (signal === 'SIGTERM') return `Stopping on SIGTERM: ${doing}; a second SIGTERM or SIGINT stops now.`
  if (signal === 'SIGHUP')
    return `Stopping on SIGHUP (its terminal closed): ${doing}; a second SIGHUP, SIGTERM or SIGINT stops now.`
  return `Stopping: ${doing}; press Ctrl-C again to stop now.`
}

/**
 * The signals that stop a run as a Ctrl-C does: SIGHUP too, which a terminal or an ssh session
 * that closes sends. Node's own answer to it ended the run at once, by the signal (129 in a
 * shell, an exit code the README does not give), transfers in flight cut. (`nohup` does not
 * keep Node from it: Node sets every signal back to its default as it starts.)
 */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
