import { existsSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { InvalidArgumentError } from 'commander'
import { WORK_DIR } from '../layout.js'
import { LONGEST_TIMER_MS } from '../options.js'
import { grouped } from '../report/format.js'
import { kindOf } from '../sinks/own-outputs.js'
import { visibleShellWord } from '../utils/command-line.js'
import { parseDuration } from '../utils/duration.js'
import { parseSize } from '../utils/size.js'
import { unexpandedTilde } from '../utils/tilde.js'
import { controlCharacter } from './option-values.js'

/** Option value parsers: each rejects bad input with a message naming what was expected. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value)
    if (!/^\d+$/.test(value.trim()) || n < min)
      throw new InvalidArgumentError(`expected an integer >= ${min}`)
    if (n > max) throw new InvalidArgumentError(`expected an integer <= ${max}`)
    return n
  }
}

/**
 * A number as people write one on a command line: decimal digits, a fraction allowed (`2`, `1.5`,
 * `.5`), spaces around; `undefined` for anything else. `Number` also took `0x10` (16), `0b11`,
 * `1e3` and `Infinity`'s kin, which `--max-aspect-ratio 0x2` read as 2. Pure.
 */
export function decimal(value: string): number | undefined {
  return /^\s*(?:\d+(?:\.\d*)?|\.\d+)\s*$/.test(value) ? Number(value) : undefined
}

/** Seconds (decimals allowed, or with a unit: `500ms`, `10s`, `2m`, `1h`) into milliseconds. */
export function seconds(value: string): number {
  const n = parseDuration(value)
  if (n === undefined || n <= 0)
    throw new InvalidArgumentError("expected seconds > 0, or a duration such as '500ms' or '2m'")
  return Math.max(1, Math.round(n * 1000))
}

/**
 * `--wait`: seconds (`2`, `0.5`, `0`), or a range of them (`2-4`, gallery-dl's `--sleep-request`
 * form) each wait drawn from; as ms.
 */
export function waitSeconds(value: string): number | [number, number] {
  const range = /^([^-]+)-([^-]+)$/.exec(value)
  if (!range) {
    const n = parseDuration(value)
    if (n === undefined) throw new InvalidArgumentError("expected seconds >= 0, or a range of them: '2-4'")
    return withinTimer(Math.round(n * 1000))
  }
  const [min, max] = [parseDuration(range[1] ?? ''), parseDuration(range[2] ?? '')]
  if (min === undefined || max === undefined || min > max)
    throw new InvalidArgumentError(
      `expected a range of seconds, the first no more than the second: '2-4', got '${value}'`,
    )
  return [Math.round(min * 1000), withinTimer(Math.round(max * 1000))]
}

/**
 * A wait Node's timers hold (sindresorhus/delay#57), in seconds as --wait is given, where one past
 * it was refused in the library's words: "whole ms", the seconds given shown times 1000.
 */
function withinTimer(ms: number): number {
  if (ms > LONGEST_TIMER_MS)
    throw new InvalidArgumentError(
      `expected seconds from 0 to ${grouped(Math.floor(LONGEST_TIMER_MS / 1000))} (Node's longest timer, 24.8 days), or a range of them: '2-4'`,
    )
  return ms
}

/** Seconds as `seconds` does, or 0. */
export function secondsOrZero(value: string): number {
  const n = parseDuration(value)
  if (n === undefined) throw new InvalidArgumentError('expected seconds >= 0')
  return n === 0 ? 0 : seconds(value)
}

/**
 * A folder: an empty one (`-o "$OUT"` with OUT unset) would be the current folder, unasked; a URL
 * (`imgpull -o https://host/a.jpg https://host/b.jpg`, the folder forgotten) made a folder
 * `https:/host/a.jpg` and that image was never fetched, without a word; a file there (`-o
 * urls.txt`, the list given for the folder), or on its way (`-o urls.txt/out`), stopped the run as a
 * disk fault (exit 3) saying "part of the path is a file".
 */
export function folder(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('expected a folder (. for the current one)')
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value.trim()))
    throw new InvalidArgumentError(
      'expected a folder, not a URL: give the folder right after -o (-o photos URL...)',
    )
  // `--out=~/photos`: shells expand ~ at a word's start only, so this made a folder named `~`
  // here, which a later `rm -rf ~` (meant for it) would take for the home folder.
  if (unexpandedTilde(value))
    throw new InvalidArgumentError(
      `expected a folder, but the shell left ~ as it is (as after --out=), which would make a folder named ~ here: give -o ${value} with a space, or $HOME${value.slice(1)}`,
    )
  const found = fileOnTheWay(value)
  if (found !== undefined) {
    const [file, kind] = found
    throw new InvalidArgumentError(
      file === value.replace(/(?<=.)[/\\]+$/, '')
        ? `expected a folder, but that is ${kind}: give another folder (a new one is made)`
        : `expected a folder, but ${visibleShellWord(file)} on its way is ${kind}: give another folder`,
    )
  }
  const work = workFolderOnTheWay(value)
  if (work !== undefined) {
    const outer = visibleShellWord(dirname(work))
    throw new InvalidArgumentError(
      `expected a folder, but ${work === value.replace(/(?<=.)[/\\]+$/, '') ? 'that' : `${visibleShellWord(work)} on its way`} is the work folder of the output folder ${outer} (its journal, lock and partial files, deleted to start that run over, this run's files with them): give -o ${outer} to go on with that run, or another folder`,
    )
  }
  // `-o 'photos '` (a name pasted with the space after it, a script's `-o "$DIR "`; an image
  // grabber's folder so typed, Bionus/imgbrd-grabber#2148, which Windows cannot even make): a new folder
  // named with the space was made and every file fetched again into it, the run in `photos` not
  // gone on with, without a word. A folder so named that is there is the user's.
  const trimmed = value.trim()
  if (trimmed !== value && !existsSync(value)) {
    const earlier = existsSync(join(trimmed, WORK_DIR)) ? ", an earlier run's output folder" : ''
    throw new InvalidArgumentError(
      `expected a folder's name, but this one ${value.startsWith(trimmed) ? 'ends' : 'begins'} with a space, and no folder so named is here: it would make one; give -o ${visibleShellWord(trimmed)}${earlier}`,
    )
  }
  // `-o "$(ls -d out*)"` of two folders made one named after both, a line break in its name: a
  // folder that exists is the user's (its name shown escaped), one to be made is refused.
  const control = controlCharacter(value)
  if (control !== undefined && !existsSync(value))
    throw new InvalidArgumentError(
      `expected a folder's name, one line: this one holds ${control}, and no such folder is here to go on with`,
    )
  return value
}

/**
 * The nearest path of `path` and its parents that exists, when it is no folder, with what it is in
 * words (`kindOf`: `-o /dev/null`, given to download and keep nothing as other tools' users try it,
 * MeltwaterArchive/rabbitio#41, is a device; a FIFO or a socket no file, where each was said as one); `undefined` otherwise.
 */
function fileOnTheWay(path: string): [string, string] | undefined {
  // `urls.txt/` is `urls.txt`, whose parent is `.`.
  for (let at = path.replace(/(?<=.)[/\\]+$/, ''); ; at = dirname(at)) {
    let found: ReturnType<typeof statSync>
    try {
      found = statSync(at, { throwIfNoEntry: false })
    } catch {
      found = undefined // ENOTDIR, EACCES...: a parent says more, or the run's own check does
    }
    if (found !== undefined)
      return found.isDirectory() ? undefined : [at, found.isFile() ? 'a file' : kindOf(found)]
    if (dirname(at) === at) return undefined
  }
}

/**
 * The work folder (`OUT/.imgpull`, see layout.ts) that `path` is, or is inside, when there is one;
 * `undefined` otherwise. `-o photos/.imgpull` (tab completion's, or a path copied from a message)
 * made an output folder in another run's work folder, beside its journal, lock and partial files,
 * hidden from `ls photos` and deleted with that folder to start that run over (as the README says
 * to), or by the queue's clean-up of `.imgpull/queue/`.
 */
function workFolderOnTheWay(path: string): string | undefined {
  const parts = path.split(/[/\\]/)
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] !== WORK_DIR) continue
    const at = parts.slice(0, i + 1).join('/')
    if (statSync(at, { throwIfNoEntry: false })?.isDirectory()) return at
  }
  return undefined
}

export function size(value: string): number {
  const n = parseSize(value)
  if (n === undefined || n < 1) throw new InvalidArgumentError('expected a size such as 500MB or 2GiB')
  // Past 2^53 - 1 a byte count is no longer exact in a number (9007199254740993 reads as ...992):
  // said as the limit it is, not as the rounded number it became.
  if (n > Number.MAX_SAFE_INTEGER)
    throw new InvalidArgumentError(`expected a size of at most ${Number.MAX_SAFE_INTEGER} bytes (8 PiB)`)
  return n
}

/**
 * Fields of one value (RFC 9110 §5.3: not a list): given again with `-H`, the last one given is sent.
 */
const ONE_VALUE = new Set([
  'authorization',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'user-agent',
])

/**
 * `Name: value`, repeatable; `Name:` (an empty value) leaves the header out, imgpull's own
 * (`Accept`, `User-Agent`...) too, as curl's `-H 'Accept:'` does. A name given again (in any case) adds its value to the first one's, as
 * the server would read two lines of it (RFC 9110 §5.3): `Cookie` values joined by `; ` (RFC 6265
 * §5.4), list fields (`Accept`, `X-…`) by `, `; a field of one value (`User-Agent`, `Referer`,
 * `Host`, `Authorization`...) is the last one given. `-H 'Cookie: a=1' -H 'Cookie: b=2'` sent `b=2`
 * alone, where curl sends both.
 */
export function header(value: string, previous: Record<string, string> = {}): Record<string, string> {
  // curl's `-H 'Name;'` sends the header with an empty value; imgpull sends none (`Name:` leaves
  // one out, as in curl): refused, naming both, rather than "expected 'Name: value'" alone.
  const semicolon = /^\s*([^\s:;]+)\s*;\s*$/.exec(value)
  if (semicolon)
    throw new InvalidArgumentError(
      `'${value}' is curl's way to send a header with an empty value, and imgpull sends no header with an empty value: -H '${semicolon[1]}:' leaves it out`,
    )
  const at = value.indexOf(':')
  if (at <= 0) throw new InvalidArgumentError("expected 'Name: value'")
  const name = value.slice(0, at).trim()
  const given = value.slice(at + 1).trim()
  const same = Object.keys(previous).find((k) => k.toLowerCase() === name.toLowerCase())
  if (same === undefined) return { ...previous, [name]: given }
  const lower = name.toLowerCase()
  // An empty value (`-H 'Accept:'`: the header left out, see `send`) takes the other's place, either way round.
  if (previous[same] === '' || given === '' || ONE_VALUE.has(lower)) {
    const { [same]: _, ...rest } = previous
    return { ...rest, [name]: given }
  }
  const joiner = lower === 'cookie' ? '; ' : ', '
  return { ...previous, [same]: `${previous[same]}${joiner}${given}` }
}

/** `auto` (in any case: `AUTO`), or an integer from `min` to `max` (`--per-host`, `--threads`). */
export function autoOrInteger(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number | 'auto' => {
    if (value.trim().toLowerCase() === 'auto') return 'auto'
    const n = Number(value)
    if (!/^\d+$/.test(value.trim()) || n < min)
      throw new InvalidArgumentError(`expected 'auto' or an integer >= ${min}`)
    if (n > max) throw new InvalidArgumentError(`expected 'auto' or an integer <= ${max}`)
    return n
  }
}

/** `--per-host`: `auto`, or an integer >= 1. */
export const perHost = autoOrInteger(1)
