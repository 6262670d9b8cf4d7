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
