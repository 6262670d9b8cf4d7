import { existsSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { layout } from '../layout.js'
import { visibleShellWord } from '../utils/command-line.js'
import { printable } from '../utils/printable.js'
import { maskSigning, withoutUserInfo } from '../utils/url.js'
import { VERSION } from '../version.js'

/** Where imgpull's own faults are reported. */
export const ISSUES = 'https://github.com/imgpull/imgpull/issues'

/** The most of an unexpected error's message its line shows (the whole is in the stack's file). */
export const FAULT_CHARS = 200

/**
 * An error no part of imgpull expected (a bug of its own: `Cannot read properties of undefined`,
 * an assertion), said as one line that names it as imgpull's fault, not the input's nor a server's,
 * and how to report it; its stack goes to a file (`OUT/.imgpull/fault-….txt` where the run's work
 * folder is, the system's temporary folder otherwise), and to stderr too with `IMGPULL_DEBUG=1`.
 * The command then exits 70 (sysexits' EX_SOFTWARE), not 1, which says files failed: a script tells
 * a crash from failed downloads. URLs' users, passwords and signing parameters are left out of both.
 */
export function ownFaultLine(error: unknown, out: string | undefined, saved: boolean): string {
  const text = (s: string) => maskSigning(withoutUserInfo(s))
  const whole = error instanceof Error ? `${error.stack ?? error.message}` : String(error)
  const first = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  const line = first.split('\n', 1)[0]
  const chars = [...line]
  const cut = chars.length > FAULT_CHARS ? `${chars.slice(0, FAULT_CHARS - 1).join('')}…` : line
  const file = stackFile(text(whole), out)
  const where =
    file === undefined
      ? 'run it again with IMGPULL_DEBUG=1 for its stack'
      : `its stack is in ${visibleShellWord(file)}`
  if (process.env.IMGPULL_DEBUG) process.stderr.write(`${text(whole)}\n`)
  return [
    `internal error, a fault of imgpull's own, not of the input or the servers: ${printable(text(cut))}`,
    ...(saved ? ['files already saved are complete and a rerun continues'] : []),
    `${where}: please report it at ${ISSUES} with that and imgpull ${VERSION}`,
  ].join('; ')
}

/** The stack written to a file of its own; `undefined` where none can be written. */
function stackFile(stack: string, out: string | undefined): string | undefined {
  const name = `fault-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.txt`
  const body = `imgpull ${VERSION}, Node.js ${process.version}, ${process.platform} ${process.arch}\n${stack}\n`
  // The run's work folder where it made one: never a folder made for this alone.
  const work = out === undefined ? undefined : layout(out).work
  const folders = work !== undefined && existsSync(work) ? [work, tmpdir()] : [tmpdir()]
  for (const folder of folders)
    try {
      const path = join(folder, name)
      writeFileSync(path, body, { flag: 'wx', mode: 0o600 })
      return path
    } catch {}
  return undefined
}

/**
 * What V8 says when code uses a value as one it is not (`Cannot read properties of undefined`,
 * `x is not a function`): no option's fault, since every check of imgpull's own words its
 * `TypeError` itself. Node's own (`ERR_INVALID_URL`...) carry a code and are left to their callers.
 */
const ENGINE_TYPE_ERROR =
  /^(Cannot (read|set) properties of|Cannot (convert|destructure|mix BigInt|access|add property|assign to read only|create property|redefine property|use 'in' operator)|Assignment to constant variable|Reduce of empty array|Converting circular structure|Do not know how to serialize|Class constructor |Iterator result )|is not (a function|iterable|a constructor|async iterable|extensible)\b/

/** Whether `error` is a `TypeError` V8 threw at a bug, not one of imgpull's checks refusing a value. */
export function engineTypeError(error: unknown): boolean {
  return (
    error instanceof TypeError &&
    (error as { code?: unknown }).code === undefined &&
    ENGINE_TYPE_ERROR.test(error.message)
  )
}
