/**
 * `-` read from a terminal waits for what is typed or pasted there: `imgpull - -o photos` without
 * the pipe meant sat silent before its first request, as if it hung. The line that says so
 * (as gpg says "Go ahead and type your message"); `undefined` when `-` is not read from a terminal.
 */
export function terminalInputLine(
  inputs: readonly string[],
  stdin: { isTTY?: boolean } = process.stdin,
): string | undefined {
  if (!inputs.includes('-') || stdin.isTTY !== true) return undefined
  const end = process.platform === 'win32' ? 'Ctrl-Z then Enter' : 'Ctrl-D'
  return `imgpull: reading URLs from the terminal (standard input, -), one a line; ${end} ends the list`
}
