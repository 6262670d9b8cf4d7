import { isUtf8 } from 'node:buffer'
import { createReadStream } from 'node:fs'
import { access, constants, stat } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { UsageError } from '../errors.js'
import { fileHead } from '../utils/file-head.js'
import { looksUtf16, utf8Scan } from './tables/utf8.js'

/**
 * One line of a URL list, or `undefined` for blank lines and `#` comments. A tab ends the URL: no
 * URL holds one (the URL parser drops it, gluing `a.jpg<TAB>caption` into `a.jpgcaption`), and a
 * list copied from a spreadsheet has its other columns after one; aria2c's `-i` reads it so.
 */
export function parseLine(line: string): string | undefined {
  const whole = line.trim()
  const tab = whole.indexOf('\t')
  const text = tab < 0 ? whole : whole.slice(0, tab).trimEnd()
  return text === '' || text.startsWith('#') ? undefined : text
}

/**
 * A list line's bytes as text: UTF-8 where they are UTF-8, any other byte kept as its `%XX` escape,
 * so the request carries the list's own bytes, as curl, wget, wget2 and aria2c send them. Decoded
 * with U+FFFD in their place (a list saved as Windows-1252: `caf\xE9.jpg`), each such byte became
 * `%EF%BF%BD`, a URL no one wrote, and `café.jpg` and `cafè.jpg` one job.
 */
export function lineText(bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString('utf8')
  let text = ''
  for (let rest = bytes; ; ) {
    const { bad, incomplete } = utf8Scan(rest)
    const end = bad >= 0 ? bad : rest.length - incomplete
    text += rest.toString('utf8', 0, end)
    if (end >= rest.length) return text
    text += `%${rest[end].toString(16).toUpperCase().padStart(2, '0')}`
    rest = rest.subarray(end + 1)
  }
}

/** Bytes above ASCII: a line read as latin1 (byte for byte) that may not be UTF-8 as it stands. */
const NOT_ASCII = /[^\p{ASCII}]/u

/** The lines of a stream, one URL each, read as they arrive: constant memory whatever the size. */
export async function* readLines(stream: Readable): AsyncGenerator<string> {
  // Byte for byte, so that `lineText` sees each line's bytes (readline's own UTF-8 decoding would
  // have put U+FFFD in place of those that are not UTF-8).
  stream.setEncoding('latin1')
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })
  for await (const line of lines) {
    const url = parseLine(NOT_ASCII.test(line) ? lineText(Buffer.from(line, 'latin1')) : line)
    if (url !== undefined) yield url
  }
}

/** An argument is a URL when it parses as http(s); `-` is standard input; anything else a file. */
export function isUrlArgument(arg: string): boolean {
  return /^https?:\/\//i.test(arg) && URL.canParse(arg)
}

/** Fail early, with the culprit named, on a list file that cannot be read. */
export async function checkInputs(args: string[]): Promise<void> {
  for (const arg of args) {
    if (arg === '-' || isUrlArgument(arg)) continue
    try {
      await access(arg, constants.R_OK)
      if ((await stat(arg)).isDirectory())
        throw new UsageError(`cannot read input '${arg}': it is a folder, not a list file`)
      // Read as UTF-8, a UTF-16 list (PowerShell 5's `>`, Notepad's "Unicode") is every line an
      // invalid URL with NULs in it: said once, before anything is made.
      if (looksUtf16((await fileHead(arg, 200)).toString('latin1')))
        throw new UsageError(
          `'${arg}' is UTF-16 text (as PowerShell's > and Notepad's "Unicode" save it), not UTF-8: convert it first, e.g. iconv -f utf-16 -t utf-8`,
        )
    } catch (error) {
      if (error instanceof UsageError) throw error
      const code = (error as NodeJS.ErrnoException).code
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code
      // A bare word that is no file is most likely a mistyped command (`imgpull stauts DIR`).
      const command = code === 'ENOENT' && /^[a-z][a-z-]*$/.test(arg) ? ', nor a command' : ''
      // One that looks like an address is most likely a mistyped URL (`htp://`, `http//`, `http://[::1`).
      const url = code === 'ENOENT' ? notUrl(arg) : ''
      throw new UsageError(`cannot read input '${arg}': ${why}${command}${url}`)
    }
  }
}

/** Why an argument that looks like an address is no URL, as the end of a message; '' for others. */
function notUrl(arg: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(arg)?.[1]
  if (scheme) return /^https?$/i.test(scheme) ? ', nor a valid URL' : ', nor an http(s) URL'
  return /^https?:?\/\/?[^/]/i.test(arg) ? ', nor an http(s) URL' : ''
}

/** URLs from command-line arguments, list files and stdin, in order, streamed. */
export async function* argumentSource(
  args: string[],
  stdin: Readable = process.stdin,
): AsyncGenerator<string> {
  for (const arg of args) {
    if (arg === '-') yield* readLines(stdin)
    else if (isUrlArgument(arg)) yield arg
    else yield* readLines(createReadStream(arg))
  }
}
