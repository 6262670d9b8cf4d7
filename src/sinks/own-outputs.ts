import { constants, type Stats } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { UsageError } from '../errors.js'
import { ATTRIBUTION, type Layout, MANIFEST, REPORT } from '../layout.js'
import { visibleShellWord } from '../utils/command-line.js'

/** The files imgpull replaces whole at the top of an output folder when a run ends. */
export type OwnOutput = typeof MANIFEST | typeof REPORT | typeof ATTRIBUTION

/**
 * Whether a file that starts with `head` is one imgpull wrote under `name`, so a run may replace it:
 * empty (nothing to lose), a manifest whose first line is an outcome (`{"url":...,"status"...`), a
 * report naming imgpull as its generator, credits under imgpull's heading. A project's own
 * `report.html`, `manifest.jsonl` or `ATTRIBUTION.md` in the folder a run is pointed at (`-o .`
 * is the default) is none of these.
 */
export function isOwnOutput(name: OwnOutput, head: string): boolean {
  if (head.trim() === '') return true
  switch (name) {
    case MANIFEST:
      return /^\{"url":/.test(head)
    case REPORT:
      return /<meta name="generator" content="imgpull |· imgpull report<\/title>/.test(head)
    case ATTRIBUTION:
      return head.startsWith('# Photo credits\n')
  }
}

/** How much of a file `isOwnOutput` looks at: a report's generator comes within its first lines. */
const HEAD_BYTES = 4096

/**
 * The first bytes of `path` as text; undefined when there is no file (or no reading it: the write
 * will say); what else stands there (`'a folder'`) when it is no regular file. Opened without
 * waiting: a FIFO at the name (`mkfifo report.html`) held the run before its first request,
 * forever, a Ctrl-C or SIGTERM included; a folder there failed the run at its end, as a raw
 * `EISDIR` (exit 1).
 */
async function headOf(path: string): Promise<string | { other: string } | undefined> {
  const file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined)
  if (!file) return undefined
  try {
    const info = await file.stat()
    if (!info.isFile()) return { other: kindOf(info) }
    const buffer = Buffer.alloc(HEAD_BYTES)
    const { bytesRead } = await file.read(buffer, 0, HEAD_BYTES, 0)
    return buffer.subarray(0, bytesRead).toString('utf8')
  } catch {
    return undefined
  } finally {
    await file.close()
  }
}

/** What a file that is not a regular one is, in words. */
export function kindOf(info: Stats): string {
  if (info.isDirectory()) return 'a folder'
  if (info.isFIFO()) return 'a FIFO'
  if (info.isSocket()) return 'a socket'
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device'
  return 'not a regular file'
}

/**
 * Refuse, before a run makes or fetches anything, an output folder where a file the run would
 * replace at its end (`names`) is not imgpull's: it would be lost without a word.
 */
export async function checkOwnOutputs(
  paths: Pick<Layout, 'out'>,
  names: readonly OwnOutput[],
  hint = 'move it, or give another output folder with `out`',
): Promise<void> {
  for (const name of names) {
    const path = join(paths.out, name)
    const head = await headOf(path)
    if (head === undefined || (typeof head === 'string' && isOwnOutput(name, head))) continue
    const what =
      typeof head === 'string' ? "is not imgpull's (a file of yours?)" : `is ${head.other}, not imgpull's`
    throw new UsageError(
      `${visibleShellWord(path)} ${what}: imgpull writes its own ${name} there and would replace it; ${hint}${name === 'report.html' ? ', or run without the report (`report: false`)' : ''}`,
    )
  }
}
