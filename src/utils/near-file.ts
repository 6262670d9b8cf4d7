import { closeSync, constants, openSync, readdirSync, readSync, statSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { visibleShellWord } from './command-line.js'
import { nearWord } from './near-word.js'

/** Entries of a folder looked at for a near name: a huge folder is not read through for a hint. */
const MOST_ENTRIES = 10_000

/**
 * For an input that is no file (`url.txt`, `mine.cvs`, `Photos.csv`): the file or folder beside it
 * that was most likely meant, as given (`urls.txt`, `data/mine.csv`), as the end of a message
 * (`; did you mean 'urls.txt'?`); '' when there is none. Names that differ only in their digits
 * (`part-00003.parquet` for `part-00002.parquet`) are other files of a set, never meant.
 */
export async function nearFile(path: string): Promise<string> {
  let entries: string[]
  try {
    entries = basename(path) === '' ? [] : await readdir(dirname(path))
  } catch {
    return ''
  }
  return nearIn(path, entries)
}

/** The names `shown` at most in `unexpandedPattern`'s words. */
const SHOWN_MATCHES = 3

/**
 * For an input that is no file because it is a file name pattern no shell expanded (`'*.csv'`
 * quoted, a script's `"$pattern"`, or typed in Windows' cmd or PowerShell, which pass `*` and `?`
 * to the program as they are: sharkdp/bat#309, pamburus/hl#597, hpjansson/chafa#266), as the end
 * of a message: the files beside it that it matches (`; it is a file name pattern, which no shell
 * expanded …: 3 files here match it (a.csv, b.csv, c.csv): give it unquoted to a shell that
 * expands it, or their names`), or that none does (a shell passes such a pattern as it is too);
 * '' when it is no pattern (no `*`, `?` or `[…]` in its last part) or its folder cannot be read.
 * Said as a missing file, `'*.csv': no such file or folder`, it offered one near name, as if one
 * file had been mistyped.
 */
export async function unexpandedPattern(path: string): Promise<string> {
  const name = basename(path)
  if (!/[*?]|\[[^\]]+\]/.test(name) || /[*?[]/.test(dirname(path))) return ''
  const source = [...name]
    .map((c) =>
      c === '*' ? '.*' : c === '?' ? '.' : /[[\]]/.test(c) ? c : c.replace(/[\\^$.|+(){}-]/g, '\\$&'),
    )
    .join('')
  let pattern: RegExp
  let entries: string[]
  try {
    pattern = new RegExp(`^${source}$`)
    entries = (await readdir(dirname(path))).slice(0, MOST_ENTRIES)
  } catch {
    return ''
  }
  // A shell's * and ? match no name that begins with a dot.
  const matched = entries.filter((entry) => !entry.startsWith('.') && pattern.test(entry)).sort()
  if (matched.length === 0)
    return '; it is a file name pattern, and no file matches it (a shell passes such a pattern as it is)'
  const said =
    "; it is a file name pattern, which no shell expanded (it was quoted, or typed in Windows' cmd or PowerShell)"
  const shown = matched.slice(0, SHOWN_MATCHES).map((entry) => visibleShellWord(join(dirname(path), entry)))
  const more = matched.length > SHOWN_MATCHES ? ', …' : ''
  return `${said}: ${matched.length === 1 ? '1 file here matches' : `${matched.length} files here match`} it (${shown.join(', ')}${more}): give ${process.platform === 'win32' ? '' : 'it unquoted to a shell that expands it, or '}${matched.length === 1 ? 'its name' : 'their names'}`
}

/**
 * `nearFile` read synchronously (`--cookies`, `--ca-cert`), of the entries `fits` takes (`status`'s
 * folder: one that holds a journal), given their path as the user would type it.
 */
export function nearFileSync(path: string, fits: (path: string) => boolean = () => true): string {
  let entries: string[]
  try {
    entries = basename(path) === '' ? [] : readdirSync(dirname(path))
  } catch {
    return ''
  }
  return nearIn(path, entries, fits)
}

/**
 * A `fits` for `nearFileSync` of an option's file: a regular file that is empty or whose first
 * 4 KiB `kind` takes. `--cookies c.txt` missing offered the URL list `l.txt` beside it, a file no
 * cookies option can have meant; the near name of a file of another kind is now passed over.
 */
export function ofKind(kind: (head: Buffer) => boolean): (path: string) => boolean {
  return (path) => {
    try {
      if (!statSync(path).isFile()) return false
      const fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
      try {
        const head = Buffer.alloc(4096)
        const n = readSync(fd, head, 0, head.length, 0)
        return n === 0 || kind(head.subarray(0, n))
      } finally {
        closeSync(fd)
      }
    } catch {
      return false
    }
  }
}

/** A certificate's or key's file: PEM text, or DER (and PKCS #12) that begins with a SEQUENCE. */
export const certificateKind = (head: Buffer): boolean =>
  head[0] === 0x30 || head.toString('latin1').includes('-----BEGIN ')

function nearIn(
  path: string,
  entries: readonly string[],
  fits: (path: string) => boolean = () => true,
): string {
  const name = basename(path)
  if (name === '' || name === '.' || name === '..') return ''
  const names: string[] = []
  for (const entry of entries) {
    if (entry.startsWith('.') && !name.startsWith('.')) continue
    if (entry.replace(/\d/g, '0') === name.replace(/\d/g, '0')) continue
    names.push(entry)
    if (names.length >= MOST_ENTRIES) break
  }
  // As the user would type it: beside a path given with a folder, that folder.
  const shown = (entry: string) => (path.includes('/') ? join(dirname(path), entry) : entry)
  // The nearest that fits: the few near ones are looked at, not every entry.
  for (let tries = 0; tries < 5; tries++) {
    const meant = nearWord(name, names)
    if (meant === undefined) return ''
    if (fits(shown(meant))) return `; did you mean ${visibleShellWord(shown(meant), 'always')}?`
    names.splice(names.indexOf(meant), 1)
  }
  return ''
}

/**
 * Why a file could not be read, in words (`no such file`, `permission denied`, `it is a folder`),
 * where Node's message names the file again with a code (`ENOENT: no such file or directory, open
 * 'c.txt'`); other errors of the file system give Node's words without the code and path (`too
 * many symbolic links encountered`), any other error its message.
 */
export function fileFault(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code
  if (code === 'ENOENT') return 'no such file'
  if (code === 'EACCES') return 'permission denied'
  if (code === 'EISDIR') return 'it is a folder'
  const message = (error as Error)?.message ?? String(error)
  // `ELOOP: too many symbolic links encountered, open 'x'`: the words, without the code and path.
  return code && message.startsWith(`${code}: `)
    ? message.slice(code.length + 2).replace(/, \w+ '.*'$/, '')
    : message
}
