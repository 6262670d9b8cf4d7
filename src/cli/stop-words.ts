/**
 * A first stop's acknowledgement, in the words of the signal that asked for it: a SIGTERM
 * (systemd's stop, `docker stop`, `kill`) came from no keyboard, where "press Ctrl-C again" is
 * no way to stop at once. A second signal of either kind stops at once. Pure.
 */
export function stoppingLine(signal: string | undefined, doing: string): string {
  return signal === 'SIGTERM'
    ? `Stopping on SIGTERM: ${doing}; a second SIGTERM or SIGINT stops now.`
    : `Stopping: ${doing}; press Ctrl-C again to stop now.`
}
