import { type Command, InvalidArgumentError, type Option } from 'commander'
import { visibleShellWord } from '../utils/command-line.js'
import { withoutUserInfo } from '../utils/url.js'

/** Options given again to add a value, each kept: `-H` (another header), `--ca-cert` (another file). */
const REPEATABLE: ReadonlySet<string> = new Set(['--header', '--ca-cert'])

/**
 * Options that name a file or folder: a name may hold a control character (the messages show it
 * escaped), and a file that exists is one the user has. `-o` refuses one for a folder it would
 * make (see `folder`).
 */
const PATHS: ReadonlySet<string> = new Set([
  '--out',
  '--cookies',
  '--ca-cert',
  '--cert',
  '--key',
  '--netrc-file',
  '--cert-password-file',
])

/** Options whose values are secrets: a message says they differ, never what they are. */
const SECRET: ReadonlySet<string> = new Set(['--access-key'])

/** Control characters by name; others are said by their code. */
const CONTROL_NAMES: Record<string, string> = {
  '\n': 'a line break',
  '\r': 'a carriage return',
  '\t': 'a tab',
  '\0': 'a NUL',
}

/**
 * The first control character (C0, DEL or C1) of an option's value, in words (`a line break`), or
 * `undefined`. No option takes one: a number, a duration, a size, a name, a folder, a URL or a
 * column is one line of visible text. `-c $'5\n'` (a value read with its line break, or pasted
 * from two lines) was taken as 5, `--wait $'1\n-2'` as the range 1-2, `-o "$(ls -d out*)"` made one
 * folder named after two, and `-n $'{name}\n{ext}'` put line breaks in file names. Pure.
 */
export function controlCharacter(value: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
  const found = /[\u0000-\u001f\u007f-\u009f]/.exec(value)?.[0]
  if (found === undefined) return undefined
  return (
    CONTROL_NAMES[found] ?? `a control character (\\x${found.charCodeAt(0).toString(16).padStart(2, '0')})`
  )
}

/** An option's value as a message shows it: as a shell reads it back, any URL's credentials out. */
const shown = (value: string) => withoutUserInfo(visibleShellWord(value))

/**
 * The warning for an option of one value given twice with different values (`undefined`: given
 * without its optional value), naming both as typed, and that the last is taken; `secret`: the
 * values not shown. Pure.
 */
export function givenTwiceWords(
  flag: string,
  first: string | undefined,
  second: string | undefined,
  secret = false,
): string {
  const as = (value: string | undefined) => (value === undefined ? `${flag} alone` : shown(value))
  const values = secret ? 'with two different values' : `as ${as(first)} and ${as(second)}`
  return `${flag} is given twice, ${values}: the last is taken${secret ? '' : `, ${as(second)}`}`
}

/**
 * Hold every option of `command` and its subcommands to one line: a value holding a control
 * character is refused as a usage error, before any command runs (see `controlCharacter`; a
 * path's, see `PATHS`). An option of one value given again with another (`-o a -o b`, `-c 4 -c
 * 8`) takes the last, as curl, wget, aria2c and git do (a shell alias or a script's defaults
 * overridden on the command line), but not without a word: `warn` is told it
 * (`givenTwiceWords`), where commander took it silently. The same value again is one value;
 * `REPEATABLE` options add theirs.
 */
export function strictOptions(
  command: Command,
  warn: (line: string) => void = (line) => process.stderr.write(`imgpull: warning: ${line}\n`),
): Command {
  const seen = new Map<string, { raw: string | undefined; parsed: string }>()
  for (const option of command.options) {
    if (!option.required && !option.optional) continue
    if (!PATHS.has(option.long ?? '')) guardValue(option)
    if (REPEATABLE.has(option.long ?? '')) continue
    const flag = option.long ?? option.short ?? option.flags
    command.on(`option:${option.name()}`, (given: string | null | undefined) => {
      // An optional value left out comes as null.
      const raw = given ?? undefined
      // After commander's own listener: the value as parsed, to compare (`-c 8 -c 08` is one value).
      const parsed = JSON.stringify(command.getOptionValue(option.attributeName())) ?? 'undefined'
      const first = seen.get(flag)
      if (first === undefined) seen.set(flag, { raw, parsed })
      else if (first.parsed !== parsed) {
        warn(givenTwiceWords(flag, first.raw, raw, SECRET.has(flag)))
        seen.set(flag, { raw, parsed })
      }
    })
  }
  for (const sub of command.commands) strictOptions(sub, warn)
  return command
}

/** Refuse a value holding a control character, before the option's own parser sees it. */
function guardValue(option: Option): void {
  const inner = option.parseArg
  option.parseArg = <T>(value: string, previous: T): T => {
    const control = controlCharacter(value)
    if (control !== undefined)
      throw new InvalidArgumentError(
        `a value is one line of text, and this one holds ${control}: give the value alone`,
      )
    return inner ? inner(value, previous) : (value as T)
  }
}
