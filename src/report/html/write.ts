import { randomBytes } from 'node:crypto'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { WORK_DIR } from '../../sinks/files.js'
import { renderReport } from './page.js'
import type { RenderOptions, ReportInput } from './types.js'

/** The report's name in the output folder. */
export const REPORT_FILE = 'report.html'

/**
 * Render the report and write it to `OUT/report.html` atomically: the page is written to a
 * temporary file in `OUT/.imgpull/` (same file system) and renamed over the old one, so a reader
 * sees the old report or the new one, never half of one. Returns the report's path.
 *
 * @throws TypeError for a bad option; the file system's error (`ENOSPC`, `EACCES`...) when the
 * page cannot be written (the temporary file is removed).
 */
export async function writeReport(
  outDir: string,
  input: ReportInput,
  options: RenderOptions = {},
): Promise<string> {
  const html = renderReport(input, options)
  const work = join(outDir, WORK_DIR)
  await mkdir(work, { recursive: true })
  const tmp = join(work, `${REPORT_FILE}.${randomBytes(6).toString('hex')}.tmp`)
  const target = join(outDir, REPORT_FILE)
  try {
    await writeFile(tmp, html)
    await rename(tmp, target)
  } catch (error) {
    await rm(tmp, { force: true })
    throw error
  }
  return target
}
