import { HIDDEN_CHARS } from './printable.js'
import { withoutCredentials, withoutUserInfo } from './url.js'

/**
 * The command line as the report and the journal keep it: `imgpull ...`, each word quoted as a
 * POSIX shell would read it back, with secrets taken out first. The report is meant to be shared
 * and the journal outlives the run, so neither may hold a key.
 */
export function commandLine(argv: readonly string[] = process.argv): string {
  return ['imgpull', ...redactArgs(argv.slice(2))].map(shellWord).join(' ')
}

/**
 * Header names whose values are secrets: credentials, cookies, keys and tokens of any kind. `auth`
 * takes `Authorization` and the headers named after it (`Authentication: Bearer …`, which some
 * APIs take, `X-Sentry-Auth`, `X-Auth-User`); `pass` passwords, passcodes and bypasses
 * (`X-Vercel-Protection-Bypass`); `jwt` a JSON Web Token under its own name (`X-JWT-Assertion`).
 */
const SECRET_HEADER = /auth|cookie|token|secret|key|session|pass|jwt|credential|signature/i

/** Whether a header's name says its value is a secret (see `SECRET_HEADER`): never shown, never sent to another origin. */
export const isSecretHeader = (name: string): boolean => SECRET_HEADER.test(name)

/** Options whose value is a secret as a whole. */
const SECRET_OPTIONS = new Set(['--access-key'])
/** Options whose value is an address that may carry a user and password, with or without a scheme. */
const ADDRESS_OPTIONS = new Set(['--proxy', '--redis'])
const HEADER_OPTIONS = new Set(['-H', '--header'])

/**
 * Arguments with their secrets as `***`: the value of `--access-key`; the value of a `-H`/`--header`
 * whose name says it is a secret (`Authorization`, `Cookie`, `X-Api-Key`, ...); the user and
 * password of any URL (`https://user:pw@host`, `socks5://u:p@proxy`, `redis://:pw@host`).
 */
export function redactArgs(args: readonly string[]): string[] {
  const out: string[] = []
  let next: 'secret' | 'header' | 'address' | undefined
  for (const arg of args) {
    if (next === 'secret') out.push('***')
    else if (next === 'header') out.push(redactHeader(arg))
    else if (next === 'address') out.push(withoutCredentials(arg))
    else out.push(redactOption(arg))
    next = SECRET_OPTIONS.has(arg)
      ? 'secret'
      : HEADER_OPTIONS.has(arg)
        ? 'header'
        : ADDRESS_OPTIONS.has(arg)
          ? 'address'
          : undefined
  }
  return out
}

function redactOption(arg: string): string {
  const eq = arg.indexOf('=')
  if (arg.startsWith('--') && eq > 0) {
    const name = arg.slice(0, eq)
    const value = arg.slice(eq + 1)
    if (SECRET_OPTIONS.has(name)) return `${name}=***`
    if (HEADER_OPTIONS.has(name)) return `${name}=${redactHeader(value)}`
    if (ADDRESS_OPTIONS.has(name)) return `${name}=${withoutCredentials(value)}`
  }
  // `-HAuthorization: ...`, as getopt reads it.
  if (arg.startsWith('-H') && arg.length > 2 && !arg.startsWith('--'))
    return `-H${redactHeader(arg.slice(2))}`
  return withoutUserInfo(arg)
}

/** `Name: value` with the value as `***` when the name says it is a secret. */
export function redactHeader(header: string): string {
  const colon = header.indexOf(':')
  if (colon < 0) return withoutUserInfo(header)
  return SECRET_HEADER.test(header.slice(0, colon))
    ? `${header.slice(0, colon)}: ***`
    : withoutUserInfo(header)
}

/** A word as a POSIX shell would read it back: quoted when it holds anything but safe characters. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : singleQuoted(word)
}

/** `word` in single quotes, each quote in it written `'\\''`: what a shell reads back as `word`. */
const singleQuoted = (word: string): string => `'${word.replaceAll("'", `'\\''`)}'`

/** A character `printable` escapes (see `visibleShellWord`), and what ANSI-C quoting escapes. */
const HIDDEN = new RegExp(HIDDEN_CHARS)
const ANSI_C_ESCAPED = new RegExp(`[\\\\']|${HIDDEN_CHARS}`, 'g')

/**
 * A word to show in a command for people to copy (a page, a terminal), that a shell reads back as
 * the word itself: `shellWord`'s, but a word holding control characters or invisible marks is
 * ANSI-C quoted with them as escapes (`$'photos\u202egpj'`: bash, zsh, ksh, and sh as POSIX.1-2024
 * has it). Shown raw, a U+202E reversed the rest of the command (`imgpull status 'photos` then the
 * rest backwards); `printable`'s escape inside plain quotes named another folder.
 *
 * Also how a message names a user's file or folder (an input list, a table, `-o`, a `--cookies`
 * or `--cert` file, the journal): a newline in the name split the one-line error in two, an ESC
 * recoloured the terminal. `quoted: 'always'` keeps the quotes a message puts around even a plain
 * name (`cannot read input 'urls.txt'`).
 */
export function visibleShellWord(word: string, quoted: 'as-needed' | 'always' = 'as-needed'): string {
  if (!HIDDEN.test(word)) return quoted === 'always' ? singleQuoted(word) : shellWord(word)
  const escaped = word.replace(ANSI_C_ESCAPED, (c) => {
    if (c === '\\' || c === "'") return `\\${c}`
    const code = c.charCodeAt(0)
    // \xHH is a byte: above U+007F a character is \u, UTF-8 as the folder's name is.
    return code < 0x80
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`
  })
  return `$'${escaped}'`
}
