import { readdir } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
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
  const name = basename(path)
  if (name === '' || name === '.' || name === '..') return ''
  const dir = dirname(path)
  const names: string[] = []
  try {
    for (const entry of await readdir(dir)) {
      if (entry.startsWith('.') && !name.startsWith('.')) continue
      if (entry.replace(/\d/g, '0') === name.replace(/\d/g, '0')) continue
      names.push(entry)
      if (names.length >= MOST_ENTRIES) break
    }
  } catch {
    return ''
  }
  const meant = nearWord(name, names)
  if (meant === undefined) return ''
  // As the user would type it: beside a path given with a folder, that folder.
  const shown = path.includes('/') ? join(dir, meant) : meant
  return `; did you mean '${shown}'?`
}
