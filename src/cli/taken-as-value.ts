import { existsSync } from 'node:fs'
import type { Command } from 'commander'

/**
 * An option that needs a value takes the next word whatever it is (POSIX, and commander:
 * tj/commander.js#1484), so a forgotten value swallows the option after it: `-o --json` made a
 * folder named `--json` and printed text, `--proxy --no-proxy` failed every file on a proxy
 * `http://--no-proxy`. Such a word is refused when it is an option of the command or looks like
 * a long one; the `--out=--json` form still gives a value that begins with `-`, on purpose.
 * `args` are the words after the command's name (`imgpull unsplash search`); returns the message.
 */
export function optionTakenAsValue(command: Command, args: readonly string[]): string | undefined {
  const flags = new Set(['-h', '--help'])
  for (const option of command.options) {
    if (option.long) flags.add(option.long)
    if (option.short) flags.add(option.short)
  }
  for (let i = 0; i < args.length - 1; i++) {
    const word = args[i]
    if (word === '--') return undefined
    const option = command.options.find((o) => o.long === word || o.short === word)
    if (!option?.required) continue // an optional value never takes a word that begins with -
    const next = args[i + 1]
    if (flags.has(next.split('=')[0]) || /^--[a-zA-Z]/.test(next))
      return `option '${option.flags}' needs a value, but the word after it is the option '${next}' (a value that begins with - is given as ${option.long ?? option.short}=VALUE)`
    i++
  }
  return undefined
}

/**
 * A value people give a flag, as Python's and img2dataset's command lines (python-fire) take it,
 * and aria2c's and wget's (`--check-certificate=false`, `on`/`off`, `yes`/`no`).
 */
const TRUTH = /^(?:true|false|yes|no|on|off)$/i

/**
 * A flag (an option that takes no value: `--resize-only-if-bigger`, `--json`) given a truth value,
 * as img2dataset's command line takes `--resize_only_if_bigger True`: the word after it was read as
 * an input (`cannot read input 'True'`, or a URL list of that name read). Given any value after
 * `=` (`--insecure=yes`, `--insecure=1`, as aria2c's `--check-certificate=false` and Go's
 * `--flag=false` take one: kyma-project/cli#1367, akesterson/cmdarg#14), it was an unknown
 * option, `unknown option '--insecure=yes'`, or offered itself (`did you mean --insecure?`); a
 * value that names a file (`--netrc=~/.netrc`) is pointed at the option that takes one
 * (`--netrc-file`). A flag is given alone for true, and left out for false. A word that is a
 * file's name (`exists`) stays an input. `args` are the words after the command's name; returns
 * the message.
 */
export function valueGivenToFlag(
  command: Command,
  args: readonly string[],
  exists: (path: string) => boolean = existsSync,
): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const word = args[i]
    if (word === '--') return undefined
    const [name, value] = word.includes('=')
      ? [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)]
      : [word, undefined]
    const option = command.options.find((o) => o.long === name || o.short === name)
    if (option === undefined) continue
    if (option.required || option.optional) {
      if (value === undefined) i++ // its value, whatever it is
      continue
    }
    const flag = option.long ?? name
    if (value !== undefined && !TRUTH.test(value)) {
      // The option that takes a value beside it (`--netrc`: `--netrc-file FILE`), when one does.
      const taking = command.options.filter((o) => o.required && o.long?.startsWith(`${flag}-`))
      if (taking.length === 1 && value !== '' && !/^\d+$/.test(value))
        return `${flag} takes no value ('${word}'); did you mean ${taking[0]!.long} ${value}?`
    }
    const given = value ?? args[i + 1]
    if (given === undefined || (value === undefined && (!TRUTH.test(given) || exists(given)))) continue
    return `${flag} takes no value${value === undefined ? `, so '${given}' after it would be read as an input` : ` ('${word}')`}: give ${flag} alone for true, and leave it out for false`
  }
  return undefined
}

/**
 * A long option typed with one dash (`-out DIR`, `-retries 3`, `-concurrency=4`), as Go's flag
 * package, Java tools and ffmpeg take them: commander reads a short option and its attached value
 * (`-o ut`, a folder `ut`; `-c oncurrency`), as getopt does (rust-lang/getopts#101), so `-out
 * photos` said `cannot read input 'photos'`, never naming the word typed. A word after `--`, or
 * the value of the option before it, is left alone. `args` are the words after the command's
 * name; returns the message.
 */
export function oneDashLong(command: Command, args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const word = args[i]
    if (word === '--') return undefined
    const option = command.options.find((o) => o.long === `-${word.split('=')[0]}`)
    if (option?.long)
      return `'${word}': a long option takes two dashes, -${word}${readAsShort(command, word)}`
    const taken = command.options.find((o) => o.long === word || o.short === word)
    if (taken?.required || taken?.optional) i++ // its value, whatever it is
  }
  return undefined
}

/** How commander reads `-word`: `, not -o ut` (a short option and its value), `, not -q -u -i…` (flags), or ''. */
function readAsShort(command: Command, word: string): string {
  const short = command.options.find((o) => o.short === word.slice(0, 2))
  if (short === undefined) return ''
  if (short.required || short.optional) return `, not ${short.short} ${word.slice(2)}`
  return `, not ${[...word.slice(1).split('=')[0]].map((letter) => `-${letter}`).join(' ')}`
}
