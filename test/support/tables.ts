import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'
import { type TableJob, type TableOptions, tableSource } from '../../src/sources/tables/index.js'

/** A fresh folder for one test file's tables, removed when the file's tests end. */
export async function tempFolder(prefix = 'imgpull-tables-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Every job of the inputs, read to the end. */
export async function readAll(inputs: string[], options?: TableOptions): Promise<TableJob[]> {
  const jobs: TableJob[] = []
  for await (const job of tableSource(inputs, options)) jobs.push(job)
  return jobs
}

/** The jobs read before the source threw, and what it threw. */
export async function readUntilError(
  inputs: string[],
  options?: TableOptions,
): Promise<{ jobs: TableJob[]; error: unknown }> {
  const jobs: TableJob[] = []
  try {
    for await (const job of tableSource(inputs, options)) jobs.push(job)
  } catch (error) {
    return { jobs, error }
  }
  throw new Error(`no error after ${jobs.length} rows`)
}
