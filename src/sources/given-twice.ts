import { resolve } from 'node:path'
import { UsageError } from '../errors.js'
import { printable } from '../utils/printable.js'

/** An input file, and how the command named it (`'a.csv'`, or `'tabs/a.csv' in folder 'tabs'`). */
export interface NamedFile {
  readonly path: string
  readonly named: string
}

/**
 * The first file among `files` named twice, by its absolute path (`./a.csv` and `a.csv`, a folder
 * of tables holding it; a link to it is another file, as a folder's links are read as files): how
 * it was named each time, or `undefined`. Pure.
 */
export function givenTwice(files: readonly NamedFile[]): [string, string] | undefined {
  const seen = new Map<string, string>()
  for (const { named, path } of files) {
    const absolute = resolve(path)
    const first = seen.get(absolute)
    if (first !== undefined) return [first, named]
    seen.set(absolute, named)
  }
  return undefined
}

/**
 * A `UsageError` for input files of which one is given twice (see `givenTwice`), or `undefined`.
 * `why`: what reading it twice does, as the end of a sentence. A mistyped glob (`data/*.csv
 * data/a.csv`) read a table's rows twice, each a sample fetched and kept twice; enqueued, any
 * input's shards were each fetched twice.
 */
export function inputGivenTwice(files: readonly NamedFile[], why: string): UsageError | undefined {
  const twice = givenTwice(files)
  if (!twice) return undefined
  const [first, second] = twice.map((named) => printable(named))
  const as =
    first === second ? `${first} is given twice` : `the same file is given twice, as ${first} and ${second}`
  return new UsageError(`${as}: ${why}; give it once`)
}
