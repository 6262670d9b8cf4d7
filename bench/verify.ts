import { createHash } from 'node:crypto'
import { type Dirent, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

/** What a scenario expects in an output folder, by file name (without extension or query). */
export interface Expected {
  /** Items in the list. */
  total: number
  /** Items the server can deliver (not the 404s and HTML pages). */
  retrievable: number
  /** Whether `name` is an item of the list. */
  has(name: string): boolean
  /** Whether `bytes` are exactly what the server sends for `name`. */
  matches(name: string, bytes: Buffer): boolean
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** An `Expected` from a table of names and the sha256 of their bytes. */
export function expectedFromTable(table: Map<string, { sha: string; retrievable: boolean }>): Expected {
  let retrievable = 0
  for (const v of table.values()) if (v.retrievable) retrievable++
  return {
    total: table.size,
    retrievable,
    has: (name) => table.has(name),
    matches: (name, bytes) => table.get(name)?.sha === sha256(bytes),
  }
}

export interface Verdict {
  /** Files whose bytes are the server's, one per item at most. */
  ok: number
  /** Files named after an item whose bytes differ from the server's (HTML pages, truncated bodies...). */
  corrupt: number
  /** Any other file: partial downloads, control files, second copies. */
  stray: number
  /** Bytes of the correct files. */
  bytes: number
  /** A few examples, for the notes. */
  corruptNames: string[]
  strayNames: string[]
  /** With `detail`: the items with a correct file, and those with a corrupt one. */
  okItems?: Set<string>
  corruptItems?: string[]
}

export const IMAGE_EXT = /\.(jpe?g|png|gif|webp|avif|svg)$/i

/** Files under `dir`, depth first, as paths and paths relative to `dir`; an unreadable folder is skipped. */
export function* filesUnder(dir: string, folder = dir): Generator<{ path: string; rel: string }> {
  let entries: Dirent[]
  try {
    entries = readdirSync(folder, { withFileTypes: true })
  } catch {
    return
  }
  for (const entry of entries) {
    const path = join(folder, entry.name)
    if (entry.isDirectory()) yield* filesUnder(dir, path)
    else yield { path, rel: relative(dir, path) }
  }
}

/**
 * A verdict being made: `stray(rel)` counts a file that is no item's; `check(name, rel, bytes)`
 * counts the file `rel` for the item `name` (stray when no such item, or a second copy; else
 * right or corrupt by its bytes).
 */
export function verdictOf(expected: Expected, detail: boolean) {
  const v: Verdict = { ok: 0, corrupt: 0, stray: 0, bytes: 0, corruptNames: [], strayNames: [] }
  if (detail) {
    v.okItems = new Set()
    v.corruptItems = []
  }
  const seen = new Set<string>()
  const stray = (rel: string) => {
    v.stray++
    if (v.strayNames.length < 5) v.strayNames.push(rel)
  }
  const check = (name: string, rel: string, bytes: () => Buffer) => {
    if (!expected.has(name) || seen.has(name)) return stray(rel)
    seen.add(name)
    const data = bytes()
    if (expected.matches(name, data)) {
      v.ok++
      v.bytes += data.length
      v.okItems?.add(name)
    } else {
      v.corrupt++
      v.corruptItems?.push(name)
      if (v.corruptNames.length < 5) v.corruptNames.push(rel)
    }
  }
  return { verdict: v, stray, check }
}

/**
 * Check every file under `dir` against the server's bytes. Tools name files differently: the
 * article's scripts keep the query string (`f0001?status=503`), imgpull adds the detected
 * extension (`f0001.jpg`); both map back to the item `f0001`. `ignore` skips a tool's own
 * bookkeeping (imgpull's journal and manifest).
 */
export function verifyDir(
  dir: string,
  expected: Expected,
  ignore: (rel: string) => boolean = () => false,
  detail = false,
) {
  const { verdict, check } = verdictOf(expected, detail)
  for (const { path, rel } of filesUnder(dir)) {
    if (ignore(rel)) continue
    let name = rel.split('?')[0]
    if (!expected.has(name)) name = name.replace(IMAGE_EXT, '')
    check(name, rel, () => readFileSync(path))
  }
  return verdict
}
