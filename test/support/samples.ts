import { join } from 'node:path'

/**
 * The least per-host limit among a run's scheduler samples (the report's concurrency charts) in
 * the journal of the output folder `out`, and how many samples there are.
 */
export async function leastSampledLimit(out: string): Promise<{ least: number; count: number }> {
  const { default: Database } = await import('better-sqlite3')
  const db = new Database(join(out, '.imgpull', 'journal.db'), { readonly: true })
  try {
    return db.prepare('SELECT min(lim) AS least, count(*) AS count FROM samples').get() as {
      least: number
      count: number
    }
  } finally {
    db.close()
  }
}
