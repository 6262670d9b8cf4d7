import { visibleShellWord } from './command-line.js'

/**
 * What to say of a path that begins with a `~` a shell left as it is (`--cookies=~/c.txt`: shells
 * expand `~` at a word's start only) and was not found: no file is named so, where the home
 * folder's is; '' for any other path or error.
 */
export function tildeHint(path: string, code: string | undefined): string {
  return code === 'ENOENT' && /^~(?:[/\\]|$)/.test(path)
    ? ` (the shell left ~ as it is, as after --option=: give the option and the path as two words, or $HOME${visibleShellWord(path.slice(1))})`
    : ''
}
