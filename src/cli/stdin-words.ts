import { fstatSync } from 'node:fs'

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

/**
 * No input, and standard input a pipe or a file (`cat urls.txt | imgpull -o photos`): what it
 * holds is read only when `-` says so, as curl's `-K -` and aria2c's `-i -` read it, so the words
 * say how; `''` otherwise (a terminal, /dev/null, a closed descriptor).
 */
export function pipedInputWords(fd = 0): string {
  const stat = (() => {
    try {
      return fstatSync(fd)
    } catch {
      return undefined
    }
  })()
  // A shell's pipe is a FIFO; Node's and others' child processes get a socket pair.
  const pipe = stat?.isFIFO() === true || stat?.isSocket() === true
  if (!pipe && !stat?.isFile()) return ''
  return pipe
    ? '; standard input is a pipe here, read when - is given: ... | imgpull - -o DIR'
    : '; standard input is a file here, read when - is given: imgpull - -o DIR < FILE'
}
