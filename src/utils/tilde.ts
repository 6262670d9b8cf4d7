import { visibleShellWord } from './command-line.js'

/**
 * Whether `path` begins with a `~` no shell expanded (`~`, `~/photos`, `~\photos`): Node takes it
 * as a folder named `~` in the working folder, not the home folder.
 */
export const unexpandedTilde = (path: string): boolean => /^~(?:[/\\]|$)/.test(path)

/**
 * What to say of a path that begins with a `~` a shell left as it is (`--cookies=~/c.txt`: shells
 * expand `~` at a word's start only) and was not found: no file is named so, where the home
 * folder's is; '' for any other path or error.
 */
export function tildeHint(path: string, code: string | undefined): string {
  return code === 'ENOENT' && unexpandedTilde(path)
    ? ` (the shell left ~ as it is, as after --option=: give the option and the path as two words, or $HOME${visibleShellWord(path.slice(1))})`
    : ''
}
