/**
 * A `.netrc` file (ftp(1)'s, read by curl `-n`, wget, aria2c and gallery-dl `--netrc`): the user and
 * password of each host, in one file of its own (0600) instead of on every line of a URL list.
 *
 * The format was never specified; this reads what curl 7.84+ reads: whitespace-separated words
 * across lines, `machine NAME`, `default`, `login`, `password`, `account` (read, unused) and
 * `macdef NAME` (an ftp macro, skipped to its blank line); a word in double quotes may hold spaces,
 * with `\"`, `\\`, `\n`, `\r`, `\t` as escapes, ending on its line (curl/curl#8908,
 * curl/curl#8937); a word starting with `#` where a keyword is due starts a comment to the line's
 * end, as wget reads it. Pure, table-tested (test/netrc.test.ts).
 */
import { statSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { domainToASCII } from 'node:url'
import { OptionFileError } from '../errors.js'
import { visibleShellWord } from '../utils/command-line.js'
import { fileFault, nearFileSync, ofKind } from '../utils/near-file.js'
import { readOptionFileSync } from '../utils/option-file.js'
import { tildeHint } from '../utils/tilde.js'
import type { UrlCredentials } from './url-credentials.js'

/** One `machine` (or `default`: `machine` undefined) entry, as written. */
export interface NetrcEntry {
  /** The host name, lower-cased; `undefined` for `default`. */
  machine: string | undefined
  login?: string
  password?: string
  account?: string
}

/** The line (from 1) each parsed entry's `login` was written on, for a message naming it (see `UrlCredentials.line`). */
const loginLines = new WeakMap<NetrcEntry, number>()

const KEYWORDS = new Set(['machine', 'default', 'login', 'password', 'account', 'macdef'])
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t' }

/**
 * The entries of a `.netrc`'s text. Throws a `TypeError` naming `source` and the line of a word
 * that is not a keyword where one was due, a keyword without its value, a `login`, `password` or
 * `account` before any `machine` or `default`, or a quoted word that does not end on its line.
 */
export function parseNetrc(text: string, source: string): NetrcEntry[] {
  const entries: NetrcEntry[] = []
  const lines = text.replace(/^\ufeff/, '').split('\n')
  let current: NetrcEntry | undefined
  // The keyword whose value the next word is, and the line it was on.
  let pending: { keyword: string; line: number } | undefined
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.replace(/\r$/, '')
    const fail = (why: string): never => {
      throw new TypeError(`${source}, line ${n + 1}: ${why}`)
    }
    let i = 0
    let macro = false
    while (i < line.length) {
      if (/\s/.test(line[i]!)) {
        i++
        continue
      }
      // A comment: the rest of the line from a word starting with # where a keyword is due (at a
      // line's start, or after a value: `password p  # the old one`), as wget reads it; a value
      // may start with one (`password #q`). Such a file stopped the run, where curl, wget2 and
      // aria2c read it.
      if (!pending && line[i] === '#') break
      let word = ''
      if (line[i] === '"') {
        i++
        for (;;) {
          if (i >= line.length) fail('a quoted word that does not end on its line (a " is missing)')
          const c = line[i]!
          if (c === '"') {
            i++
            break
          }
          if (c === '\\' && i + 1 < line.length) {
            word += ESCAPES[line[i + 1]!] ?? line[i + 1]
            i += 2
            continue
          }
          word += c
          i++
        }
      } else {
        const start = i
        while (i < line.length && !/\s/.test(line[i]!)) i++
        word = line.slice(start, i)
      }
      if (pending) {
        const { keyword, line: keywordLine } = pending
        pending = undefined
        if (keyword === 'macdef') {
          macro = true
          break
        }
        if (keyword === 'machine') {
          current = { machine: hostName(word) }
          entries.push(current)
        } else current![keyword as 'login' | 'password' | 'account'] = word
        if (keyword === 'login') loginLines.set(current!, keywordLine)
        continue
      }
      if (!KEYWORDS.has(word))
        fail(`${JSON.stringify(word)} where machine, default, login, password, account or macdef was due`)
      if (word === 'default') {
        current = { machine: undefined }
        entries.push(current)
        continue
      }
      if ((word === 'login' || word === 'password' || word === 'account') && !current)
        fail(`${word} before any machine or default`)
      pending = { keyword: word, line: n + 1 }
    }
    // An ftp macro's body: the lines up to the first blank one.
    if (macro) while (n + 1 < lines.length && lines[n + 1]!.trim() !== '') n++
  }
  if (pending)
    throw new TypeError(
      `${source}, line ${pending.line}: ${pending.keyword} without its value at the end of the file`,
    )
  return entries
}

/**
 * A host as a `machine` names it and as a URL's host is compared: lower case, no final dot, no
 * brackets, a Unicode name in its ASCII form (`bücher.example` as `xn--bcher-kva.example`, as a
 * URL's host is: such a machine was passed over, and the `default` entry went to its host).
 */
function hostName(host: string): string {
  const name = host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
  // Only a name with non-ASCII letters: an IPv6 address or a name UTS #46 refuses stays as written.
  return /[^\p{ASCII}]/u.test(name) ? domainToASCII(name) || name : name
}

/**
 * The credentials the entries give a request to `url` whose own userinfo names `user` (or none),
 * or `undefined`. The host (never the port) is compared, in any case, as curl does. A URL's own
 * password wins (never asked here); a user it names takes the password of the first entry for the
 * host with that login or with none (curl/curl#9248, curl/curl#20950); without one, the first entry
 * for the host, else `default` (wget's, curl's) when `useDefault` (see `send`: a host a redirect
 * leads to gets only an entry naming it, never `default`). An entry with a password and no login
 * gives an empty user (curl/curl#9148); one with a login and no password, an empty password.
 */
export function netrcCredentials(
  entries: readonly NetrcEntry[],
  url: URL,
  user: string | undefined,
  useDefault: boolean,
): UrlCredentials | undefined {
  const host = hostName(url.hostname)
  // A user the URL names: the entry with that login, else one with none.
  const fits = (e: NetrcEntry) => user === undefined || e.login === undefined || e.login === user
  const entry =
    (user === undefined ? undefined : entries.find((e) => e.machine === host && e.login === user)) ??
    entries.find((e) => e.machine === host && fits(e)) ??
    (useDefault && !entries.some((e) => e.machine === host)
      ? entries.find((e) => e.machine === undefined && fits(e))
      : undefined)
  if (!entry) return undefined
  if (user !== undefined && entry.password === undefined) return undefined
  return {
    user: Buffer.from(user ?? entry.login ?? ''),
    password: Buffer.from(entry.password ?? ''),
    netrc: true,
    ...(user === undefined && loginLines.has(entry) ? { line: loginLines.get(entry)! } : {}),
  }
}

/** The file `netrc: true` reads: `$NETRC`, else `.netrc` in the home folder (curl's, wget's). */
export function defaultNetrcPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.NETRC || join(env.HOME || homedir(), '.netrc')
}

/** The file a `netrc` option names, or `undefined` for none. */
export function netrcPath(netrc: boolean | string | undefined): string | undefined {
  if (netrc === undefined || netrc === false) return undefined
  return netrc === true ? defaultNetrcPath() : netrc
}

const warned = new Set<string>()

/** A .netrc's kind: a `machine` or `default` entry (a near name of a URL list is not offered). */
const netrcKind = ofKind((head) => /(?:^|\s)(?:machine|default)(?:\s|$)/.test(head.toString('latin1')))

/**
 * The entries of the `.netrc` at `path`. Throws a `TypeError` naming the file when it cannot be
 * read or is malformed (with the line). A file that the group or others may read is used, with one
 * warning (`IMGPULL_NETRC`): ftp refuses it, curl says nothing.
 */
export function readNetrcFile(path: string): NetrcEntry[] {
  let text: string
  try {
    text = readOptionFileSync(path).toString('utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new OptionFileError(
      'netrc',
      path,
      `Expected \`netrc\` to be a readable .netrc file: ${visibleShellWord(path)}: ${fileFault(error)}${tildeHint(path, code)}${code === 'ENOENT' ? nearFileSync(path, netrcKind) : ''}`,
    )
  }
  const entries = parseNetrc(text, path)
  try {
    const mode = statSync(path).mode
    if (mode & 0o077 && !warned.has(path)) {
      warned.add(path)
      process.emitWarning(
        `${path} holds passwords and may be read by other users (mode ${(mode & 0o777).toString(8)}): chmod 600 ${visibleShellWord(path)}`,
        { code: 'IMGPULL_NETRC' },
      )
    }
  } catch {}
  return entries
}

/** The entries read as options were resolved, by those resolved options. */
const read = new WeakMap<object, readonly NetrcEntry[]>()

/** Remember `entries` for these resolved options (read when they are resolved). */
export function attachNetrc(options: object, entries: readonly NetrcEntry[]): void {
  read.set(options, entries)
}

/**
 * The `.netrc` entries of resolved options: those read when they were resolved, else read now
 * (options copied after resolving) and kept; `undefined` without `netrc`.
 */
export function netrcOf(options: {
  netrc?: boolean | string | undefined
}): readonly NetrcEntry[] | undefined {
  const held = read.get(options)
  if (held) return held
  const path = netrcPath(options.netrc)
  if (path === undefined) return undefined
  const entries = readNetrcFile(path)
  read.set(options, entries)
  return entries
}
